# analysis_env.sh: sourced by the integration tests of single analyses
# (faces_common.sh, pose_common.sh, test_objects.sh). Checks what every one
# of them needs (VIDAN and VD_SRC set), sets $testdata and VIDAN_MODELS,
# and gives the checks that differ as functions; each missing piece skips
# with exit 77 and a message naming it.
skip() {
  echo "SKIP: $*"
  exit 77
}
: "${VIDAN:?VIDAN must name the vidan binary}"
: "${VD_SRC:?VD_SRC must name the source tree}"
testdata=${VD_TESTDATA:-$VD_SRC/../shared/testdata}
export VIDAN_MODELS=${VIDAN_MODELS:-$VD_SRC/models}

# need_analyses NAME...: each is registered in this vidan.
need_analyses() {
  local a
  for a in "$@"; do
    "$VIDAN" analyze --help 2>&1 | grep 'Available:' | grep -qw "$a" ||
      skip "this vidan has no $a analysis registered (src/analyze/registry.c)"
  done
}

# need_models NAME...: models/NAME.json is installed for each.
need_models() {
  local m
  (($#)) || { echo "FAIL: need_models names no model"; exit 1; }
  for m in "$@"; do
    [[ -f $VIDAN_MODELS/$m.json ]] || skip "$m is not installed in $VIDAN_MODELS (scripts/models)"
  done
}

# need_tools CMD...: each is on the PATH.
need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || skip "$t is not installed (scripts/deps test installs it)"
  done
}
