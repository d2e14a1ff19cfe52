#!/usr/bin/env bash
# Face detection on real film footage with cuts, VFX and a morph: the Tears of
# Steel excerpt (shared testdata, tos_clip01_640x360.mp4, 24 fps, cuts at
# frames 21, 65, 185).
#
# Ground truth, counted by eye once (frames 10, 25, 40, 60, 80, 120, 160, 180,
# 200, 230 looked at):
#   shot 1, frames 0-20    (0.000-0.875 s): a robot, no human face   -> 0
#   shot 2, frames 21-64   (0.875-2.708 s): a man in profile, small  -> 1
#   shot 3, frames 65-184  (2.708-7.708 s): a man with glasses; a second
#                           person only seen from behind (no face)   -> 1
#   shot 4, frames 185-239 (7.708-10.00 s): a robot that morphs into a
#                           woman; her face is clear from ~9.4 s     -> 0, then 1
#   The morph itself (8.8-9.4 s) is not scored either way.
# Checks per sampled frame (5 fps): precision and recall of "a face is here"
# against that truth, at most one face per frame where the truth is 1, and
# no track that spans a cut.
need_analyses="faces"
source "$(dirname "$0")/faces_common.sh"
face_models
clip=$data/tos_clip01_640x360.mp4
[[ -f $clip ]] || skip "test data absent: $clip"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
timeout 300 "$VIDAN" analyze "$clip" --analyses faces --param faces.annotate=false >"$tmp/r.json" ||
  { echo "FAIL: vidan analyze exited $?"; exit 1; }
python3 - "$tmp/r.json" <<'PY'
import json, sys
faces = json.load(open(sys.argv[1]))["results"]["faces"]
cuts = [0.875, 2.7083, 7.7083]
def truth(t):
    if t < 0.875: return 0
    if t < 7.7083: return 1
    if t < 8.8: return 0
    if t < 9.4: return None          # the morph: not scored
    return 1
tp = fp = fn = 0
for t, n in faces["frames"]:
    want = truth(t)
    if want is None:
        continue
    tp += min(n, want)
    fp += max(0, n - want)
    fn += max(0, want - n)
p = tp / (tp + fp) if tp + fp else 1.0
r = tp / (tp + fn) if tp + fn else 1.0
print(f"tos_clip01: precision {p:.3f} recall {r:.3f} (tp {tp}, fp {fp}, fn {fn}) over {len(faces['frames'])} sampled frames")
fails = 0
if p < 0.95:
    print("FAIL: precision below 0.95"); fails += 1
if r < 0.90:
    print("FAIL: recall below 0.90"); fails += 1
for tr in faces["tracks"]:
    for c in cuts:
        if tr["start"] < c - 0.05 and tr["end"] > c + 0.25:
            print(f"FAIL: track {tr['id']} ({tr['start']}-{tr['end']} s) spans the cut at {c} s"); fails += 1
print("PASS" if not fails else f"{fails} failure(s)")
sys.exit(1 if fails else 0)
PY
