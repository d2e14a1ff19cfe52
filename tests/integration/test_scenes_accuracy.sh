#!/usr/bin/env bash
# Scene-detection accuracy on the real test videos in ../shared/testdata/scenes
# (never committed): precision/recall/F1 within +-1 frame for the content,
# adaptive and threshold detectors against PySceneDetect 0.7.1's goldens and
# its README's extra expectations, and for content/adaptive against the human
# cuts of tos_clip01 (whose VFX flicker is no cut). The bars, and the one known
# miss, are in scenes_accuracy.py (CHECKS); the measured table is in
# docs/scenes.md.
set -uo pipefail

: "${VIDAN:?VIDAN must point at the vidan binary}"
: "${VD_SRC:?VD_SRC must point at the source tree}"
data="${VD_TESTDATA:-$VD_SRC/../shared/testdata}/scenes"
[ -d "$data" ] || { echo "SKIP: no shared test data at $data (docs/scenes.md says what it holds)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
grep -q '"name": "scenes"' <<<"$("$VIDAN" analyses 2>/dev/null)" ||
  { echo "SKIP: the scenes analysis is not in the registry (src/analyze/registry.c)"; exit 77; }

exec python3 "$VD_SRC/tests/integration/scenes_accuracy.py" --vidan "$VIDAN" --data "$data" --check
