#!/usr/bin/env bash
# Browser test (issue 3, "Web page"): Debian's Chromium, driven by
# playwright-core from npm, uploads a generated video to a real `vidan serve`
# and checks progress, results, seeking and downloads. The work is in
# tests/browser/upload.test.mjs; this wrapper installs the pinned npm package
# (once, from package-lock.json) and turns a missing browser into a skip.
# Env (from CTest): VIDAN, VD_SRC, VD_BUILD. Exit 77 = skipped.
set -uo pipefail

: "${VIDAN:?VIDAN must name the vidan binary}"
# Chromium, node and the locked playwright-core (shared with the other
# browser tests).
source "$(dirname "$0")/browser_lib.sh"
browser_ready
skip() { browser_skip "$@"; }
chrome=$CHROMIUM
dir=$BROWSER_DIR
command -v ffmpeg >/dev/null || skip "ffmpeg is not installed (scripts/deps test installs it)"
"$VIDAN" serve --help >/dev/null 2>&1 || skip "this vidan binary has no working 'serve' command"

# The emotion chart needs web/vendor/ (uPlot); without it the page shows a
# note, and the test checks that note instead.
"$VD_SRC/scripts/web-deps" || echo "browser: web/vendor/ not installed; the chart part checks the page's note instead"

export VD_BROWSER_OUT=${VD_BROWSER_OUT:-${VD_BUILD:-${TMPDIR:-/tmp}}/browser-shots}
cd "$dir" && exec timeout 300 node upload.test.mjs
