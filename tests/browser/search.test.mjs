// Search across the library in a real browser: Debian's Chromium driven by
// playwright-core. tests/integration/test_browser_search.sh starts `vidan
// serve`, uploads a clip that shows "HELLO WORLD" from 1 s to 3 s, runs
// `text`, and hands over the server (VD_BASE), the analysis (VD_JOB) and
// the hit's start (VD_HIT_START). Here, as a person would:
//   1. the library page has a search box; searching "hello" lists the
//      moment: the file, "shown", its time and HELLO marked;
//   2. words that look like markup come back as text, never as elements;
//   3. choosing the hit opens its analysis with the player at the hit's time;
//   4. a search with no match says so.
// Screenshot: $VD_BROWSER_OUT/search.png. Exit: 0 pass, 1 fail, 77 skipped.

import path from 'node:path';

import { check, launchOrSkip, ok } from './lib.mjs';

const { VD_BASE, VD_JOB } = process.env;
const START = Number(process.env.VD_HIT_START);
const OUT = process.env.VD_BROWSER_OUT || '/tmp';

const browser = await launchOrSkip();
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.setDefaultTimeout(30_000);
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
const search = async (words) => {
  await page.fill('#search-q', words);
  await page.press('#search-q', 'Enter');
  await page.waitForFunction((w) => {
    const m = document.getElementById('main');
    return m && m.dataset.ready === `search?q=${encodeURIComponent(w)}`;
  }, words);
};
let failed = false;
try {
  await page.goto(`${VD_BASE}/#/`);
  await page.waitForSelector('main[data-ready="home"] #search-q');
  ok('the library page has a search box');
  await search('hello');
  const hit = page.locator('#search-hits li.hit[data-analysis="text"]');
  await hit.first().waitFor();
  check(await hit.count() === 1, 'one moment for "hello"');
  const text = await hit.textContent();
  check(/captions\.mp4/.test(text) && /shown/.test(text), 'the hit names the file and says the words were shown', text);
  check(await hit.locator('.snippet mark').textContent() === 'HELLO', 'HELLO is marked in the snippet');
  check(await hit.locator('img.thumb, .thumb.none').count() === 1, 'the hit has the file\'s thumbnail (or its stand-in)');

  await search('<img src=x onerror=alert(1)> hello');
  check(await page.locator('#search-status img, #search-hits img:not(.thumb)').count() === 0,
    'words that look like markup stay text', await page.locator('#search-status').textContent());
  check(/Nothing found for “<img src=x/.test(await page.locator('#search-status').textContent()),
    'and the page says nothing was found for them, as typed');

  await search('hello');
  await page.locator('#search-hits li.hit[data-analysis="text"] a').click();
  await page.waitForFunction((w) => {
    const v = document.getElementById('player');
    return v && v.readyState >= 1 && Math.abs(v.currentTime - w) < 0.05;
  }, START, { timeout: 20_000 });
  check(page.url().endsWith(`#/analyses/${encodeURIComponent(VD_JOB)}?t=${START}`),
    `choosing the hit opens its analysis at ${START} s`, page.url());
  ok('the player starts at the hit\'s time');

  await page.goto(`${VD_BASE}/#/search?q=${encodeURIComponent('zebra crossing')}`);
  await page.waitForSelector('main[data-ready^="search"] #search-status p');
  check(/Nothing found/.test(await page.locator('#search-status').textContent()), 'a search with no match says so');
  check(errors.length === 0, 'no script errors on the page', errors.join('; '));
  await page.goto(`${VD_BASE}/#/search?q=hello`);
  await page.locator('#search-hits li.hit').first().waitFor();
  await page.screenshot({ path: path.join(OUT, 'search.png'), fullPage: true });
} catch (e) {
  failed = true;
  console.log(`FAIL: ${e.message}`);
  await page.screenshot({ path: path.join(OUT, 'search-failure.png'), fullPage: true }).catch(() => {});
}
await browser.close();
process.exit(failed ? 1 : 0);
