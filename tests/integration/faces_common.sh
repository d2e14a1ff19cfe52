# faces_common.sh: sourced by the face integration tests (test_faces.sh,
# test_people.sh, test_annotate.sh). Checks the environment, that each
# analysis named in $need_analyses is registered, and that python3 and the
# GRID clips are there (each missing piece skips with exit 77 and a message).
# Sets $data (the faces test data folder) and VIDAN_MODELS.
. "$(dirname "${BASH_SOURCE[0]}")/analysis_env.sh"
data=$testdata/faces
# shellcheck disable=SC2086 # a list of names
need_analyses ${need_analyses:-faces}
need_tools python3
[[ -f $data/grid_bbaf2n.mpg && -f $data/grid_lwbsza.mpg ]] || skip "test data absent: $data"

# Skips unless every model the face analyses use is installed.
face_models() { need_models blazeface emotion faceres; }
