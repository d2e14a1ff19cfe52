# browser_lib.sh: what the browser tests' wrappers share (sourced, not a
# test): Chromium and node are there and run, and tests/browser has the
# pinned playwright-core. npm ci runs only when the installed
# playwright-core is not the locked one, under a lock, so two test runs
# (release and sanitizer builds) do not race. Each missing piece is a skip
# (77) that names it.
# Needs: VD_SRC; sets CHROMIUM and BROWSER_DIR.

browser_skip() {
  echo "SKIP: $*"
  exit 77
}

# browser_ready: checks, and installs playwright-core when needed.
browser_ready() {
  : "${VD_SRC:?VD_SRC must name the source tree}"
  CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
  BROWSER_DIR=$VD_SRC/tests/browser
  export CHROMIUM
  [[ -x $CHROMIUM ]] ||
    browser_skip "Chromium is not installed at $CHROMIUM (scripts/deps test installs Debian's chromium)"
  command -v node >/dev/null || browser_skip "node is not installed (scripts/deps test installs it)"
  "$CHROMIUM" --version >/dev/null 2>&1 ||
    browser_skip "$CHROMIUM does not run: $("$CHROMIUM" --version 2>&1 | head -n 1)"
  local want
  want=$(node -e "process.stdout.write(require('$BROWSER_DIR/package-lock.json').packages['node_modules/playwright-core'].version)") ||
    { echo "tests/browser/package-lock.json is unreadable"; exit 1; }
  browser_installed() {
    node -e "process.stdout.write(require('$BROWSER_DIR/node_modules/playwright-core/package.json').version)" 2>/dev/null
  }
  if [[ "$(browser_installed)" != "$want" ]]; then
    (
      flock 9
      [[ "$(browser_installed)" == "$want" ]] && exit 0
      cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error
    ) 9>"${TMPDIR:-/tmp}/vidan-browser-npm.lock" ||
      browser_skip "npm ci in tests/browser failed: playwright-core $want could not be installed from the npm registry"
  fi
}

# browser_need_drawtext: sets $font to the bold DejaVu font that ffmpeg's
# drawtext draws captions with; skips when either is missing.
browser_need_drawtext() {
  font=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
  [[ -r $font ]] || browser_skip "$font missing (fonts-dejavu-core)"
  local filters
  filters=$(ffmpeg -hide_banner -filters 2>/dev/null) # not piped: grep -q would cut ffmpeg short
  grep -q ' drawtext ' <<<"$filters" || browser_skip "this ffmpeg has no drawtext"
}

# browser_run SCRIPT SECONDS [NAME=VALUE ...]: runs tests/browser/SCRIPT
# against the server at $B (serve_lib.sh) with the given variables and the
# screenshot folder, and ends the wrapper with its exit status.
browser_run() {
  local script=$1 limit=$2 out=${VD_BROWSER_OUT:-${VD_BUILD:-$TMP}/browser-shots}
  shift 2
  mkdir -p "$out"
  cd "$BROWSER_DIR" && env VD_BASE="$B" VD_BROWSER_OUT="$out" "$@" timeout "$limit" node "$script"
  local rc=$?
  ((rc == 0)) && echo "PASS"
  exit $rc
}
