// page.test.mjs: the whole page with every analysis on it, as a user meets
// it (driven by tests/integration/test_browser_page.sh, which made the
// files and ran the analyses). At a desktop width (1280 px) and a phone's
// (390 px), on the library, the analysis page with all its panels and a
// search:
//   - no console error, uncaught exception or HTTP error answer (the
//     library asks for a thumbnail of a file that has none: the stand-in
//     picture, not a 404);
//   - at 390 px nothing is wider than the screen (the page never scrolls
//     sideways; wide tables scroll inside their own box);
//   - every control reachable by Tab has an accessible name and a visible
//     focus style, and no tabindex above 0 reorders the Tab order;
//   - the analysis page shows each analysis once, in its own panel with a
//     heading (no second raw copy), and the library says which file the
//     duplicate check found to be a copy.
// Env: VD_BASE, VD_JOB (the analysis with everything), VD_DUP (1 when the
// copy was checked), VD_BROWSER_OUT (screenshots).

import { check, launchOrSkip, ok } from './lib.mjs';

const base = process.env.VD_BASE;
const job = process.env.VD_JOB;
const out = process.env.VD_BROWSER_OUT || '/tmp';
if (!base || !job) throw new Error('VD_BASE and VD_JOB must be set (run tests/integration/test_browser_page.sh)');

const ROUTES = [['library', '#/'], ['analysis', `#/analyses/${job}`], ['search', '#/search?q=page']];

// What a screen reader would call the focused element: a simplified
// accessible-name computation (aria-labelledby, aria-label, <label>,
// content, alt, title, placeholder), enough for the controls this page makes.
function focusedControl() {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const text = (n) => (n ? n.textContent.replace(/\s+/g, ' ').trim() : '');
  let name = '';
  const by = e.getAttribute('aria-labelledby');
  if (by) name = by.split(/\s+/).map((id) => text(document.getElementById(id))).join(' ').trim();
  if (!name) name = (e.getAttribute('aria-label') || '').trim();
  if (!name && e.labels && e.labels.length) name = [...e.labels].map(text).join(' ').trim();
  if (!name && !['INPUT', 'SELECT', 'TEXTAREA', 'VIDEO'].includes(e.tagName)) name = text(e);
  if (!name) name = [...e.querySelectorAll('img[alt]')].map((i) => i.alt).join(' ').trim();
  if (!name) name = (e.getAttribute('title') || '').trim();
  const cs = getComputedStyle(e);
  const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1 &&
    !/rgba\(.*, 0\)$/.test(cs.outlineColor) && cs.outlineColor !== 'transparent';
  const ring = cs.boxShadow && cs.boxShadow !== 'none';
  const r = e.getBoundingClientRect();
  const path = [];
  for (let n = e; n && n !== document.body && path.length < 4; n = n.parentElement)
    path.unshift(n.tagName.toLowerCase() + (n.id ? `#${n.id}` : '') + (n.classList.length ? `.${[...n.classList].join('.')}` : ''));
  return { key: path.join(' > ') + `@${Math.round(r.left)},${Math.round(r.top + scrollY)}`, name,
    focusVisible: outline || ring, size: r.width > 0 && r.height > 0 };
}

// Presses Tab from the top of the page until focus comes back round (or
// leaves the page), and checks each control it reaches.
async function tabWalk(page, where) {
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  const seen = new Set();
  let first = null, n = 0;
  const bad = [];
  for (let i = 0; i < 600; i++) {
    await page.keyboard.press('Tab');
    const c = await page.evaluate(focusedControl);
    if (!c) continue;
    if (c.key === first) break;
    if (!first) first = c.key;
    if (seen.has(c.key)) continue;
    seen.add(c.key);
    n++;
    if (!c.name) bad.push(`no accessible name: ${c.key}`);
    if (!c.focusVisible) bad.push(`no visible focus: ${c.key}`);
    if (!c.size) bad.push(`focused but not shown: ${c.key}`);
  }
  check(n > 3 && bad.length === 0, `${where}: ${n} controls reachable by Tab, each named and showing focus`,
    bad.slice(0, 10).join('; '));
}

const browser = await launchOrSkip();
const problems = [];
try {
  for (const width of [1280, 390]) {
    const ctx = await browser.newContext({ viewport: { width, height: 900 } });
    const page = await ctx.newPage();
    let where = '';
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`${where}: console error: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`${where}: uncaught: ${e.message}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${where}: HTTP ${r.status()} ${r.url()}`); });
    for (const [name, route] of ROUTES) {
      where = `${name} at ${width} px`;
      await page.goto(`${base}/${route}`);
      await page.waitForSelector('main[data-ready]', { timeout: 30000 });
      if (name === 'analysis') await page.waitForSelector('#downloads', { timeout: 30000 });
      // Charts, crops and thumbnails arrive after the view is ready.
      await page.waitForLoadState('networkidle');
      await page.waitForTimeout(300);
      await page.screenshot({ path: `${out}/page-${name}-${width}.png`, fullPage: true });

      if (width === 390) {
        const [sw, iw] = await page.evaluate(() => [document.scrollingElement.scrollWidth, innerWidth]);
        check(sw <= iw, `${where}: nothing wider than the screen`, `scrollWidth ${sw} > ${iw}`);
      }

      check(await page.locator('[tabindex]:not([tabindex="0"]):not([tabindex^="-"])').count() === 0,
        `${where}: no positive tabindex reorders the Tab order`);
      // Focus styles and names do not change with the width: once, at 1280.
      if (width === 1280) await tabWalk(page, where);

      if (name === 'library') {
        // Thumbnails load lazily: bring each into view, then wait for them.
        await page.locator('#library-list img.thumb').evaluateAll((l) => l.forEach((i) => i.scrollIntoView()));
        await page.waitForFunction(() => [...document.querySelectorAll('#library-list img.thumb')].every((i) => i.complete),
          null, { timeout: 10000 }).catch(() => {});
        const imgs = await page.locator('#library-list .file-card').evaluateAll((l) => l.map((c) => {
          const i = c.querySelector('img.thumb');
          return i && i.complete ? i.naturalWidth : `${c.querySelector('h3').textContent}: ${i ? 'not loaded' : 'none'}`;
        }));
        check(imgs.length >= 3 && imgs.every((w) => w > 0),
          `${where}: every file has a thumbnail or its stand-in picture`, JSON.stringify(imgs));
        if (process.env.VD_DUP === '1') {
          const card = (f) => page.locator(`#library-list .file-card:has(h3:text-is("${f}")) .dup-flag`);
          const copyFlag = (await card('copy.mp4').innerText()).trim();
          check(/^Same video as page\.mp4/.test(copyFlag), `${where}: the copy's card names the original`, copyFlag);
          check(/copy\.mp4/.test(await card('page.mp4').innerText()), `${where}: the original's card names the copy`);
          check(await card('nopicture.mp4').isHidden(), `${where}: a file without a duplicate check says nothing`);
        }
      }
      if (name === 'analysis') {
        const heads = await page.locator('#results section.panel').evaluateAll((l) =>
          l.map((s) => (s.querySelector('h2') ? s.querySelector('h2').textContent.trim() : '')));
        check(heads.every(Boolean), `${where}: every panel has a heading`, JSON.stringify(heads));
        check(new Set(heads).size === heads.length, `${where}: no panel twice`, JSON.stringify(heads));
        check(!heads.some((t) => /^[a-z]+$/.test(t)), `${where}: no raw panel under an analysis's bare name`,
          JSON.stringify(heads));
        const order = ['Video and scenes', 'People', 'Emotions over time', 'Transcript', 'Duplicate check',
          'Media facts', 'Downloads'].filter((t) => heads.includes(t));
        check(order.every((t, i) => !i || heads.indexOf(order[i - 1]) < heads.indexOf(t)),
          `${where}: panels in order (${order.join(', ')})`, JSON.stringify(heads));
        check(heads[heads.length - 1] === 'Downloads', `${where}: downloads come last`);
        if (width === 1280) {
          // Storylines (run with every other analysis) has a view of its
          // own: each scene of a storyline plays it.
          check(heads.includes('Storylines') && (!heads.includes('Other results') ||
            await page.locator('#other-results [data-analysis="storylines"]').count() === 0),
          `${where}: storylines is drawn, not listed as data`, JSON.stringify(heads));
          const b = page.locator('#storylines .storyline-scenes button').first();
          const label = await b.getAttribute('aria-label');
          const t = Number((/from (\d+):(\d+(?:\.\d+)?)/.exec(label) || []).slice(1).reduce((m, x) => m * 60 + Number(x), 0));
          await page.$eval('#player', (v) => { v.pause(); v.currentTime = 1.5; });
          await b.click();
          await page.waitForFunction((w) => Math.abs(document.getElementById('player').currentTime - w) < 0.3, t,
            { timeout: 10000 });
          ok(`${where}: a storyline's scene button plays that scene (${label})`);
        }
      }
    }
    await ctx.close();
  }
  check(problems.length === 0, 'no console errors, exceptions or HTTP errors on any page', problems.slice(0, 10).join('\n'));
} finally {
  await browser.close();
}
ok('done');
