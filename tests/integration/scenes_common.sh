# scenes_common.sh: sourced by the test_scenes_*.sh integration tests. Checks
# the tools they need and that the scenes analysis is registered (each skips
# with exit 77 and a message otherwise), and makes $tmp, removed at exit.
: "${VIDAN:?VIDAN must point at the vidan binary}"
command -v ffmpeg >/dev/null || { echo "SKIP: ffmpeg not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
grep -q '"name": "scenes"' <<<"$("$VIDAN" analyses 2>/dev/null)" ||
  { echo "SKIP: the scenes analysis is not in the registry (src/analyze/registry.c)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
