#!/usr/bin/env bash
# emotions and people through the real CLI (issue 4): a video made of GRID
# speaker A (3 s), speaker B (3 s), speaker A again (3 s), cut hard, framed
# alike. faces must split its IoU track at each cut (identity check), people
# must find exactly 2 people, A with 2 appearances in scenes 1 and 3, B with
# one in scene 2; emotions must give 7 probabilities per face per sampled
# frame and a 1 s chart series over the 9 s. With -o, faces writes
# face-<track id>.jpg per track (a decodable JPEG of at most 160 px) and
# each person's thumbnail names its representative track's file.
# Env (from CTest): VIDAN, VD_SRC, VD_TESTDATA. Exit 77 = skipped.
set -uo pipefail

need_analyses="faces emotions people"
. "$(dirname "$0")/faces_common.sh"
command -v ffmpeg >/dev/null || skip "ffmpeg is not installed"
face_models
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vidan-people.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

a=$data/grid_bbaf2n.mpg b=$data/grid_lwbsza.mpg
ffmpeg -v error -nostdin -i "$a" -i "$b" -i "$a" -filter_complex \
  '[0:v][0:a][1:v][1:a][2:v][2:a]concat=n=3:v=1:a=1[v][a]' -map '[v]' -map '[a]' \
  -c:v mpeg4 -q:v 3 -c:a mp2 "$tmp/aba.mkv" || { echo "FAIL: ffmpeg concat"; exit 1; }

timeout 300 "$VIDAN" analyze "$tmp/aba.mkv" --analyses emotions,people -o "$tmp/out" \
  --param faces.annotate=false >"$tmp/r.json" ||
  { echo "FAIL: vidan analyze exited $?"; exit 1; }

python3 - "$tmp/r.json" "$tmp/out" <<'EOF' || exit 1
import json, os, subprocess, sys

r = json.load(open(sys.argv[1]))["results"]
faces, emo, ppl = r["faces"], r["emotions"], r["people"]
tracks = faces["tracks"]
assert len(tracks) == 3, f"faces: {len(tracks)} tracks, want 3 (split at both cuts): " + \
    str([(t["id"], t["ranges"]) for t in tracks])
assert faces["identity_splits"] == 2, faces["identity_splits"]
print(f"ok: faces split the IoU track at both cuts ({faces['identity_checks']} identity checks)")

assert ppl["count"] == 2, f"people: {ppl['count']} people, want 2"
p0, p1 = ppl["people"]
assert p0["appearance_count"] == 2, p0["appearances"]
assert p0["scenes"] == [1, 3] and p1["scenes"] == [2], (p0["scenes"], p1["scenes"])
assert sorted(p0["tracks"]) == [0, 2] and p1["tracks"] == [1], (p0["tracks"], p1["tracks"])
a0, a1 = p0["appearances"]
assert a0["start"] < 0.1 and abs(a0["end"] - 3.0) < 0.1, a0
assert abs(a1["start"] - 6.0) < 0.1 and abs(a1["end"] - 9.0) < 0.1, a1
assert p1["appearances"][0]["scenes"] == [2]
print(f"ok: people: 2, A {[(x['start'], x['end']) for x in p0['appearances']]}, "
      f"B {[(x['start'], x['end']) for x in p1['appearances']]}")

labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
assert emo["labels"] == labels
n = sum(len(fr["faces"]) for fr in emo["frames"])
assert n == faces["detections"] and len(emo["frames"]) == faces["sampled_frames"], n
for fr in emo["frames"]:
    for f in fr["faces"]:
        p = f["probabilities"]
        assert sorted(p) == sorted(labels) and abs(sum(p.values()) - 1) < 0.01, p
        assert f["emotion"] == max(p, key=p.get)
tl = emo["timeline"]
assert tl["times"] == [float(i) for i in range(9)] or len(tl["times"]) == 10, tl["times"]
assert all(len(v) == len(tl["times"]) for v in tl["series"].values())
assert all(c == 5 for c in tl["faces"][:9]), tl["faces"]
assert len(emo["tracks"]) == 3 and all(t["timeline"] for t in emo["tracks"])
s = emo["summary"]
assert s["faces"] == n and s["dominant"] in labels
print(f"ok: emotions: {n} faces, dominant {s['dominant']}, {len(tl['times'])} points")

out = sys.argv[2]
for t in tracks:
    name = t["thumbnail"]
    assert name == f"face-{t['id']}.jpg", name
    assert name in json.load(open(sys.argv[1]))["artifacts"]["faces"], name
    wh = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                         "stream=codec_name,width,height", "-of", "csv=p=0",
                         os.path.join(out, name)], capture_output=True, text=True, check=True)
    codec, w, h = wh.stdout.strip().split(",")
    assert codec == "mjpeg" and 0 < int(w) <= 160 and 0 < int(h) <= 160, (name, wh.stdout)
    # The face is the crop's subject: about the box's size grown by 30%, in
    # display pixels, shrunk to 160 px at most.
    bw = max(b["w"] for b in t["boxes"]) * faces["width"] * 1.3
    assert int(w) >= min(bw, 160) * 0.5, (name, w, bw)
print(f"ok: {len(tracks)} face thumbnails, e.g. {tracks[0]['thumbnail']} {w}x{h}")
for p in ppl["people"]:
    rep = next(t for t in tracks if t["id"] == p["representative_track"])
    assert p["thumbnail"] == rep["thumbnail"] and os.path.isfile(os.path.join(out, p["thumbnail"])), p
print(f"ok: people thumbnails {[p['thumbnail'] for p in ppl['people']]}")
EOF
echo "PASS"
