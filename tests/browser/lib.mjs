// lib.mjs: what a browser test needs before its first step: numbered "ok"
// lines, a check that throws with the detail, and Debian's Chromium launched
// through playwright-core, or exit 77 (skip) naming what is missing.

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let n = 0;
export const ok = (what) => console.log(`ok ${++n} - ${what}`);
export function check(cond, what, detail) {
  if (!cond) throw new Error(`${what}${detail ? `: ${detail}` : ''}`);
  ok(what);
}

// A headless browser, or the process ends with 77.
export async function launchOrSkip() {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    console.log(`SKIP: playwright-core is not installed in tests/browser: ${e.message}`);
    process.exit(77);
  }
  try {
    return await chromium.launch({ executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  } catch (e) {
    console.log(`SKIP: Chromium at ${CHROMIUM} could not be started: ${e.message.split('\n')[0]}`);
    process.exit(77);
  }
}
