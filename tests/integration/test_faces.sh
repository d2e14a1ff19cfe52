#!/usr/bin/env bash
# The faces analysis through the real CLI (issue 4, "faces"): on the GRID
# clips (one frontal face in every frame) every sampled frame has exactly one
# face, all in one track, with time ranges covering the clip, an expression
# per box and a 1024-d unit embedding; two different speakers' embeddings
# are far apart. Without an output folder no thumbnails are written and
# each track's thumbnail is null; thumbnail_tracks caps the tracks that keep
# one. Without the models the run must fail with a message that
# says how to install them, and exit non-zero.
# Env (from CTest): VIDAN, VD_SRC, VD_TESTDATA. Exit 77 = skipped.
set -uo pipefail

. "$(dirname "$0")/faces_common.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vidan-faces.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Missing models: a clear error, not a crash.
mkdir -p "$tmp/empty"
VIDAN_MODELS=$tmp/empty timeout 60 "$VIDAN" analyze "$data/grid_bbaf2n.mpg" --analyses faces \
  >"$tmp/none.json" 2>"$tmp/none.err"
rc=$?
if ((rc == 0 || rc >= 128)); then
  echo "FAIL: without models vidan exited $rc"; cat "$tmp/none.err"; exit 1
fi
grep -q 'blazeface' "$tmp/none.err" && grep -q 'scripts/models' "$tmp/none.err" ||
  { echo "FAIL: the error does not name the model and the fix:"; cat "$tmp/none.err"; exit 1; }
echo "ok: without models: $(head -n 1 "$tmp/none.err")"

face_models

for clip in grid_bbaf2n grid_lwbsza; do
  (cd "$tmp" && timeout 300 "$VIDAN" analyze "$data/$clip.mpg" --analyses faces >"$tmp/$clip.json") ||
    { echo "FAIL: vidan analyze $clip exited $?"; exit 1; }
done
if ls "$tmp"/*.jpg "$data"/*.jpg 2>/dev/null | grep -q face-; then
  echo "FAIL: face thumbnails written without -o"; exit 1
fi

python3 - "$tmp/grid_bbaf2n.json" "$tmp/grid_lwbsza.json" <<'EOF' || exit 1
import json, math, sys

embs = []
for path in sys.argv[1:]:
    r = json.load(open(path))["results"]["faces"]
    name = path.rsplit("/", 1)[-1]
    n, hit = r["sampled_frames"], r["frames_with_faces"]
    assert n >= 14, f"{name}: only {n} frames sampled at 5 fps from 3 s"
    counts = [c for _, c in r["frames"]]
    assert all(c == 1 for c in counts), f"{name}: faces per frame {counts}"
    assert len(r["tracks"]) == 1, f"{name}: {len(r['tracks'])} tracks for one face"
    t = r["tracks"][0]
    assert t["frames"] == n and len(t["boxes"]) == n
    assert "thumbnail" in t and t["thumbnail"] is None, t.get("thumbnail")
    assert len(t["ranges"]) == 1 and t["ranges"][0]["start"] < 0.3 and t["ranges"][0]["end"] > 2.7, t["ranges"]
    for b in t["boxes"]:
        assert 0.15 < b["x"] < 0.45 and 0.25 < b["y"] < 0.6 and 0.2 < b["w"] < 0.5, b
        assert b["emotion"] in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
        assert abs(sum(b["emotions"]) - 1) < 0.01
    e = t["embedding"]
    assert len(e) == 1024 and abs(math.sqrt(sum(v * v for v in e)) - 1) < 0.01
    embs.append(e)
    print(f"ok: {name}: {n}/{n} frames with one face, one track {t['start']}-{t['end']} s, "
          f"emotion {t['emotion']} (consistency {t['emotion_consistency']})")
cos = sum(a * b for a, b in zip(*embs))
assert cos < 0.6, f"two different speakers have embedding cosine {cos:.3f}"
print(f"ok: the two speakers' embeddings: cosine {cos:.3f}")
EOF

# The thumbnail cap: 6 s of a film clip (5 tracks, 17, 9 and 1+1+1 samples)
# with thumbnail_tracks=1 keeps a picture for the longest track only, says
# so in a warning, and writes no file for the others.
tos=$data/tos_clip01_640x360.mp4
if [[ -f $tos ]] && command -v ffmpeg >/dev/null; then
  ffmpeg -v error -nostdin -i "$tos" -t 6 -c copy "$tmp/tos6.mp4" || { echo "FAIL: ffmpeg cut"; exit 1; }
  cap_limit=120 # 6 s of film; ThreadSanitizer (VD_SANITIZED) runs it several times slower
  [[ -n "${VD_SANITIZED:-}" ]] && cap_limit=480
  timeout "$cap_limit" "$VIDAN" analyze "$tmp/tos6.mp4" --analyses faces -o "$tmp/cap" --param faces.annotate=false \
    --param faces.emotions=false --param faces.thumbnail_tracks=1 >"$tmp/cap.json" 2>/dev/null ||
    { echo "FAIL: vidan analyze (cap) exited $?"; exit 1; }
  python3 - "$tmp/cap.json" "$tmp/cap" <<'EOF' || exit 1
import json, os, sys
r = json.load(open(sys.argv[1]))
tracks = r["results"]["faces"]["tracks"]
kept = [t for t in tracks if t["thumbnail"]]
lost = [t for t in tracks if not t["thumbnail"]]
assert len(tracks) > 1 and len(kept) == 1, [(t["id"], t["frames"], t["thumbnail"]) for t in tracks]
assert min(t["frames"] for t in kept) >= max(t["frames"] for t in lost), tracks
files = sorted(f for f in os.listdir(sys.argv[2]) if f.startswith("face-"))
assert files == sorted(t["thumbnail"] for t in kept), files
assert any("no thumbnail" in w and "1 longest" in w for w in r["warnings"]), r["warnings"]
print(f"ok: cap 1 of {len(tracks)} tracks: {files}, warned")
EOF
else
  echo "note: $tos absent, thumbnail cap not checked"
fi
echo "PASS"
