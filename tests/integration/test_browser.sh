#!/usr/bin/env bash
# Browser test (issue 3, "Web page"): Debian's Chromium, driven by
# playwright-core from npm, uploads a generated video to a real `vidan serve`
# and checks progress, results, seeking and downloads. The work is in
# tests/browser/upload.test.mjs; this wrapper installs the pinned npm package
# (once, from package-lock.json) and turns a missing browser into a skip.
# Env (from CTest): VIDAN, VD_SRC, VD_BUILD. Exit 77 = skipped.
set -uo pipefail

skip() {
  echo "SKIP: $*"
  exit 77
}
: "${VIDAN:?VIDAN must name the vidan binary}"
: "${VD_SRC:?VD_SRC must name the source tree}"
chrome=${CHROMIUM:-/usr/bin/chromium}
dir=$VD_SRC/tests/browser

[[ -x $chrome ]] || skip "Chromium is not installed at $chrome (scripts/deps test installs Debian's chromium)"
command -v node >/dev/null || skip "node is not installed (scripts/deps test installs it)"
command -v ffmpeg >/dev/null || skip "ffmpeg is not installed (scripts/deps test installs it)"
"$VIDAN" serve --help >/dev/null 2>&1 || skip "this vidan binary has no working 'serve' command"
"$chrome" --version >/dev/null 2>&1 || skip "$chrome does not run: $("$chrome" --version 2>&1 | head -n 1)"

# npm ci only when the installed playwright-core is not the locked one; the
# lock keeps two test runs (release and sanitizer builds) from racing.
locked() { node -e "process.stdout.write(require('$dir/package-lock.json').packages['node_modules/playwright-core'].version)"; }
installed() { node -e "process.stdout.write(require('$dir/node_modules/playwright-core/package.json').version)" 2>/dev/null; }
want=$(locked) || { echo "tests/browser/package-lock.json is unreadable"; exit 1; }
if [[ "$(installed)" != "$want" ]]; then
  (
    flock 9
    [[ "$(installed)" == "$want" ]] && exit 0
    cd "$dir" && npm ci --no-audit --no-fund --loglevel=error
  ) 9>"${TMPDIR:-/tmp}/vidan-browser-npm.lock" ||
    skip "npm ci in tests/browser failed: playwright-core $want could not be installed from the npm registry"
fi

# The emotion chart needs web/vendor/ (uPlot); without it the page shows a
# note, and the test checks that note instead.
"$VD_SRC/scripts/web-deps" || echo "browser: web/vendor/ not installed; the chart part checks the page's note instead"

export VD_BROWSER_OUT=${VD_BROWSER_OUT:-${VD_BUILD:-${TMPDIR:-/tmp}}/browser-shots}
cd "$dir" && exec timeout 300 node upload.test.mjs
