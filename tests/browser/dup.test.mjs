// The duplicate check in the page, in a real browser: Debian's Chromium
// driven by playwright-core. tests/integration/test_browser_dup.sh starts
// `vidan serve`, uploads original.mp4, copy.mp4 (a re-encode) and talk.mp4
// (the same picture with other sound), runs `duplicates` on each in that
// order and hands over the server (VD_BASE) and the three analyses
// (VD_JOB_ORIG, VD_JOB_COPY, VD_JOB_TALK). Here, as a person would:
//   1. the original's analysis says it is not a duplicate, compared with 0;
//   2. the copy's says it is a duplicate; its match names original.mp4 with
//      picture and sound bars near 100%, and the name opens the original's
//      analysis;
//   3. the other talk's says "not a duplicate, but a hard case", its
//      matches (the original and the copy) are "same picture, other sound"
//      with a high picture and a low sound bar, and the page explains the
//      hard case.
// Screenshot: $VD_BROWSER_OUT/dup.png. Exit: 0 pass, 1 fail, 77 skipped.

import path from 'node:path';

import { check, launchOrSkip, ok } from './lib.mjs';

const { VD_BASE, VD_JOB_ORIG, VD_JOB_COPY, VD_JOB_TALK } = process.env;
const OUT = process.env.VD_BROWSER_OUT || '/tmp';

const browser = await launchOrSkip();
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.setDefaultTimeout(30_000);
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));

// Opens an analysis and waits for its duplicate panel; returns the verdict.
async function open(job) {
  await page.goto(`${VD_BASE}/#/analyses/${encodeURIComponent(job)}`);
  await page.waitForSelector('#duplicates #dup-verdict');
  return page.locator('#dup-verdict').textContent();
}
// The value of a match's picture or sound bar.
const sim = (m, kind) => m.locator(`.dup-sim[data-kind="${kind}"] meter`).evaluate((e) => e.value);

let failed = false;
try {
  let v = await open(VD_JOB_ORIG);
  check(/^Not a duplicate: no earlier video matches \(compared with 0 earlier videos\)/.test(v),
    'the original is not a duplicate, compared with nothing', v);

  v = await open(VD_JOB_COPY);
  check(/is a duplicate of an earlier one \(compared with 1 earlier video\)/.test(v), 'the copy is a duplicate', v);
  const m = page.locator('#dup-matches li.dup-match[data-verdict="duplicate"]');
  check(await m.count() === 1, 'one duplicate match');
  await page.waitForFunction(() => /original\.mp4/.test(document.querySelector('#dup-matches .dup-link').textContent));
  ok('the match names original.mp4');
  const [pic, snd] = [await sim(m, 'picture'), await sim(m, 'sound')];
  check(pic > 0.9 && snd > 0.8, 'its picture and sound bars are near full', `picture ${pic}, sound ${snd}`);
  await page.waitForFunction((j) => document.querySelector('#dup-matches .dup-link').getAttribute('href') ===
    `#/analyses/${encodeURIComponent(j)}`, VD_JOB_ORIG);
  await page.screenshot({ path: path.join(OUT, 'dup.png'), fullPage: true });
  await m.locator('.dup-link').click();
  await page.waitForFunction((j) => document.getElementById('main').dataset.ready === `analyses/${j}`, VD_JOB_ORIG);
  ok('the match opens the original\'s analysis');

  v = await open(VD_JOB_TALK);
  check(/^Not a duplicate, but a hard case/.test(v), 'the other talk is a hard case, not a duplicate', v);
  // It matches the original and its copy, both with the same picture.
  const t = page.locator('#dup-matches li.dup-match[data-verdict="same_picture"]').first();
  check(await page.locator('#dup-matches li.dup-match[data-verdict="same_picture"]').count() === 2 &&
    /same picture, other sound/.test(await t.textContent()),
  'its two matches (the original and the copy) read "same picture, other sound"');
  const [tp, ts] = [await sim(t, 'picture'), await sim(t, 'sound')];
  check(tp > 0.9 && ts < 0.5, 'a full picture bar and a low sound bar', `picture ${tp}, sound ${ts}`);
  const why = await page.locator('.dup-hard[data-verdict="same_picture"]').textContent();
  check(/one presenter/.test(why) && /not a duplicate/.test(why), 'the page explains the hard case', why);
  check(errors.length === 0, 'no script errors on the page', errors.join('; '));
} catch (e) {
  failed = true;
  console.log(`FAIL: ${e.message}`);
  await page.screenshot({ path: path.join(OUT, 'dup-failure.png'), fullPage: true }).catch(() => {});
}
await browser.close();
process.exit(failed ? 1 : 0);
