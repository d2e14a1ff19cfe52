# faces_common.sh: sourced by the face integration tests (test_faces.sh,
# test_people.sh, test_annotate.sh). Checks the environment, that each
# analysis named in $need_analyses is registered, and that python3 and the
# GRID clips are there (each missing piece skips with exit 77 and a message).
# Sets $data (the faces test data folder) and VIDAN_MODELS.
skip() {
  echo "SKIP: $*"
  exit 77
}
: "${VIDAN:?VIDAN must name the vidan binary}"
: "${VD_SRC:?VD_SRC must name the source tree}"
data=${VD_TESTDATA:-$VD_SRC/../shared/testdata}/faces
export VIDAN_MODELS=${VIDAN_MODELS:-$VD_SRC/models}
for a in ${need_analyses:-faces}; do
  "$VIDAN" analyze --help 2>&1 | grep 'Available:' | grep -qw "$a" ||
    skip "this vidan has no $a analysis registered (src/analyze/registry.c)"
done
command -v python3 >/dev/null || skip "python3 is not installed"
[[ -f $data/grid_bbaf2n.mpg && -f $data/grid_lwbsza.mpg ]] || skip "test data absent: $data"

# Skips unless every model the face analyses use is installed.
need_models() {
  [[ -f $VIDAN_MODELS/blazeface.json && -f $VIDAN_MODELS/emotion.json && -f $VIDAN_MODELS/faceres.json ]] ||
    skip "models not installed in $VIDAN_MODELS (scripts/models)"
}
