# pose_common.sh: sourced by the pose integration tests (test_pose.sh,
# test_pose_nobody.sh). Checks the environment: the binary, a registered
# pose analysis, python3, ffmpeg/ffprobe and the MoveNet model; each missing
# piece skips with exit 77 and a message. Sets $testdata and VIDAN_MODELS.
skip() {
  echo "SKIP: $*"
  exit 77
}
: "${VIDAN:?VIDAN must name the vidan binary}"
: "${VD_SRC:?VD_SRC must name the source tree}"
testdata=${VD_TESTDATA:-$VD_SRC/../shared/testdata}
export VIDAN_MODELS=${VIDAN_MODELS:-$VD_SRC/models}
"$VIDAN" analyze --help 2>&1 | grep 'Available:' | grep -qw pose ||
  skip "this vidan has no pose analysis registered (src/analyze/registry.c)"
command -v python3 >/dev/null || skip "python3 is not installed"
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || skip "ffmpeg/ffprobe not installed"
[[ -f $VIDAN_MODELS/movenet-lightning.json && -f $VIDAN_MODELS/movenet-thunder.json ]] ||
  skip "models not installed in $VIDAN_MODELS (scripts/models)"
