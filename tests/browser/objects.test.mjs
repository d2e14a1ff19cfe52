// The objects view in a real browser: Debian's Chromium driven by
// playwright-core. tests/integration/test_browser_objects.sh starts `vidan
// serve`, uploads a clip with a person, then black, then the person again,
// runs `objects` with the annotated video and hands over the server
// (VD_BASE), the analysis (VD_JOB) and the start of the person's second
// range (VD_RANGE_START). Here, as a person would, on the analysis page:
//   1. the Objects panel lists "person" with its sample count, two ranges;
//   2. the second range's button plays it: the player jumps to its start;
//   3. the second range on the strip does the same;
//   4. the boxes switch plays objects.mp4 in the same player.
// Screenshot: $VD_BROWSER_OUT/objects.png. Exit: 0 pass, 1 fail, 77 skipped.

import path from 'node:path';

import { check, launchOrSkip, ok } from './lib.mjs';

const { VD_BASE, VD_JOB } = process.env;
const START = Number(process.env.VD_RANGE_START);
const OUT = process.env.VD_BROWSER_OUT || '/tmp';

const browser = await launchOrSkip();
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.setDefaultTimeout(30_000);
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
// The player's time, once it has settled near `want` (seeks are async).
const seekedTo = (want) => page.waitForFunction((w) => {
  const v = document.getElementById('player');
  return v && Math.abs(v.currentTime - w) < 0.05;
}, want, { timeout: 10_000 });
let failed = false;
try {
  await page.goto(`${VD_BASE}/#/analyses/${encodeURIComponent(VD_JOB)}`);
  const row = page.locator('#objects-labels li[data-label="person"]');
  await row.waitFor();
  const text = await row.textContent();
  check(/person/.test(text) && /in \d+ samples/.test(text), 'the Objects panel lists person with its samples', text);
  check(/labels? in \d+ of \d+ sampled frames/.test(await page.locator('#objects-facts').textContent()),
    'the panel says how many samples show objects');
  check(await row.locator('.ranges .time').count() === 2 && await row.locator('.objects-range').count() === 2,
    'person has two ranges, as buttons and on the strip');

  await page.$eval('#player', (v) => { v.currentTime = 1; });
  await seekedTo(1);
  await row.locator('.ranges .time').last().click();
  await seekedTo(START);
  ok(`the second range's button plays it from its start (${START} s)`);

  await page.$eval('#player', (v) => { v.currentTime = 1; });
  await seekedTo(1);
  await row.locator('.objects-range').last().click();
  await seekedTo(START);
  ok('the second range on the strip plays it too');

  await page.click('#objects-toggle');
  await page.waitForFunction(() => {
    const v = document.getElementById('player');
    return /objects\.mp4$/.test(v.currentSrc) && v.readyState >= 1;
  }, null, { timeout: 30_000 });
  ok('the boxes switch plays objects.mp4 in the same player');
  check(errors.length === 0, 'no script errors on the page', errors.join('; '));
  await page.screenshot({ path: path.join(OUT, 'objects.png'), fullPage: true });
} catch (e) {
  failed = true;
  console.log(`FAIL: ${e.message}`);
  await page.screenshot({ path: path.join(OUT, 'objects-failure.png'), fullPage: true }).catch(() => {});
}
await browser.close();
process.exit(failed ? 1 : 0);
