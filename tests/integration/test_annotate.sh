#!/usr/bin/env bash
# The annotated video of the faces analysis (artifact faces.mp4, issue 4):
# on a GRID clip (one face, MP2 audio) the artifact is H.264 with the same
# frame count and duration as the input, its audio stream copied (the same
# packets, byte for byte); on a sampled frame the pixels on the ellipse around the
# detected box differ from the original while the middle of the face does
# not. A silent input gives a silent artifact; annotate=false writes none.
# Env (from CTest): VIDAN, VD_SRC, VD_TESTDATA. Exit 77 = skipped.
set -uo pipefail

. "$(dirname "$0")/faces_common.sh"
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || skip "ffmpeg/ffprobe not installed"
face_models
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vidan-annotate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

in=$data/grid_bbaf2n.mpg
timeout 300 "$VIDAN" analyze "$in" --analyses faces -o "$tmp/out" >"$tmp/r.json" ||
  { echo "FAIL: vidan analyze exited $?"; exit 1; }
out=$tmp/out/faces.mp4
[[ -s $out ]] || { echo "FAIL: no faces.mp4 in $tmp/out"; ls -l "$tmp/out"; exit 1; }

probe() { # file -> JSON with counted frames/packets
  ffprobe -v error -count_frames -count_packets -show_entries \
    stream=codec_type,codec_name,nb_read_frames,nb_read_packets:format=duration -of json "$1"
}
probe "$in" >"$tmp/in.json" && probe "$out" >"$tmp/out.json" || { echo "FAIL: ffprobe"; exit 1; }

# The audio packets' bytes, hashed (MP4 labels MPEG layer 2 as "mp3", so
# codec names differ while the data is the same).
ahash() { ffmpeg -v error -nostdin -i "$1" -map 0:a:0 -c copy -f hash -hash md5 - >"$2"; }
ahash "$in" "$tmp/in.ahash" && ahash "$out" "$tmp/out.ahash" || { echo "FAIL: audio hash"; exit 1; }

# One sampled frame (the 6th sample, t = 1.0 s) from both files, as grey.
grab() { ffmpeg -v error -nostdin -i "$1" -vf "select=eq(n\,25)" -frames:v 1 -pix_fmt gray -f rawvideo "$2"; }
grab "$in" "$tmp/in.gray" && grab "$out" "$tmp/out.gray" || { echo "FAIL: frame extraction"; exit 1; }

python3 - "$tmp" <<'EOF' || exit 1
import json, math, sys

d = sys.argv[1]
r = json.load(open(f"{d}/r.json"))
faces = r["results"]["faces"]
# faces.mp4 beside the per-track face-<id>.jpg thumbnails
assert sorted(r["artifacts"].get("faces")) == sorted(
    ["faces.mp4"] + [t["thumbnail"] for t in faces["tracks"]]), r["artifacts"]
assert faces["annotated"] == {"file": "faces.mp4", "frames": 75, "audio": "copied"}, faces["annotated"]

def streams(p):
    j = json.load(open(p))
    return {s["codec_type"]: s for s in j["streams"]}, float(j["format"]["duration"])
si, di = streams(f"{d}/in.json")
so, do = streams(f"{d}/out.json")
assert so["video"]["codec_name"] == "h264", so["video"]
assert so["video"]["nb_read_frames"] == si["video"]["nb_read_frames"] == "75", (so, si)
assert abs(do - di) < 0.1, f"duration {do} vs input {di}"
assert "audio" in so, "no audio stream in the artifact"
assert so["audio"]["nb_read_packets"] == si["audio"]["nb_read_packets"], (so["audio"], si["audio"])
ha, hb = open(f"{d}/in.ahash").read(), open(f"{d}/out.ahash").read()
assert ha == hb and ha.startswith("MD5="), f"audio packets differ: {ha} vs {hb}"
print(f"ok: faces.mp4: h264, {so['video']['nb_read_frames']} frames, {do:.3f} s (input {di:.3f} s), "
      f"audio copied ({so['audio']['nb_read_packets']} packets, identical bytes: {ha.strip()})")

W, H = faces["width"], faces["height"]
a, b = open(f"{d}/in.gray", "rb").read(), open(f"{d}/out.gray", "rb").read()
assert len(a) == len(b) == W * H, (len(a), len(b), W, H)
box = [x for x in faces["tracks"][0]["boxes"] if abs(x["time"] - 1.0) < 0.05][0]
cx, cy = (box["x"] + box["w"] / 2) * W, (box["y"] + box["h"] / 2) * H
ea, eb = 0.65 * box["w"] * W, 0.65 * box["h"] * H
th = max(2, H / 180)
ring = changed = 0
for k in range(72):  # points on the middle of the ring
    ang = 2 * math.pi * k / 72
    x, y = int(cx + (ea - th / 2) * math.cos(ang)), int(cy + (eb - th / 2) * math.sin(ang))
    if 0 <= x < W and 0 <= y < H:
        ring += 1
        changed += abs(a[y * W + x] - b[y * W + x]) > 25
assert ring > 50 and changed >= 0.8 * ring, f"only {changed}/{ring} ring pixels changed"
inner = [abs(a[y * W + x] - b[y * W + x]) for y in range(int(cy - eb / 3), int(cy + eb / 3))
         for x in range(int(cx - ea / 3), int(cx + ea / 3))]
mean = sum(inner) / len(inner)
assert mean < 8, f"the middle of the face changed by {mean:.1f} on average"
print(f"ok: {changed}/{ring} pixels on the ellipse ring changed; face middle differs by {mean:.1f}")
EOF

# Silent input without faces: an artifact all the same, without audio.
ffmpeg -v error -nostdin -f lavfi -i testsrc=size=160x120:rate=10 -t 1 -pix_fmt yuv420p \
  "$tmp/silent.mp4" || { echo "FAIL: ffmpeg testsrc"; exit 1; }
timeout 120 "$VIDAN" analyze "$tmp/silent.mp4" --analyses faces -o "$tmp/s" >"$tmp/s.json" ||
  { echo "FAIL: vidan on a silent clip exited $?"; exit 1; }
n=$(ffprobe -v error -count_frames -select_streams v -show_entries stream=nb_read_frames -of csv=p=0 "$tmp/s/faces.mp4")
na=$(ffprobe -v error -select_streams a -show_entries stream=index -of csv=p=0 "$tmp/s/faces.mp4" | wc -l)
[[ $n == 10 && $na == 0 ]] || { echo "FAIL: silent clip: $n frames, $na audio streams"; exit 1; }
grep -q '"audio": "none"' "$tmp/s.json" || { echo "FAIL: silent clip result"; exit 1; }
echo "ok: silent clip: 10 frames, no audio stream"

timeout 120 "$VIDAN" analyze "$tmp/silent.mp4" --analyses faces --param faces.annotate=false \
  -o "$tmp/n" >/dev/null || { echo "FAIL: annotate=false exited $?"; exit 1; }
[[ ! -e $tmp/n/faces.mp4 ]] || { echo "FAIL: annotate=false wrote faces.mp4"; exit 1; }
echo "ok: annotate=false writes no video"
echo "PASS"
