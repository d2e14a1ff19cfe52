#!/usr/bin/env bash
# The scenes analysis end to end through `vidan analyze`, on generated video:
# - three 2 s shots at 25 fps joined by hard cuts (frames 50 and 100): the
#   content and adaptive detectors find exactly those; scenes, frames, times
#   and timecodes follow the documented schema (end_frame inclusive,
#   end_time = next start_time);
# - with -o, one JPEG per scene (valid JPEG, named in the result and in the
#   artifacts, with scenes.csv and scenes.edl); without -o none, and with
#   thumbnails=false only the CSV and EDL;
# - a fade to black and back: the threshold detector cuts once, in the black;
# - bad parameters and a file without video fail with a message, no crash.
set -uo pipefail

. "$(dirname "$0")/scenes_common.sh"
fails=0
ff() { ffmpeg -nostdin -v error -y "$@" || { echo "FAIL: ffmpeg $*"; exit 1; }; }

ff -f lavfi -i "testsrc2=s=640x360:r=25:d=2" -f lavfi -i "smptebars=s=640x360:r=25:d=2" \
  -f lavfi -i "mandelbrot=s=640x360:r=25" -filter_complex \
  "[2]trim=end_frame=50,setpts=PTS-STARTPTS[m];[0][1][m]concat=n=3:v=1:a=0" \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$tmp/shots.mp4"
ff -f lavfi -i "testsrc2=s=320x180:r=25:d=2" -f lavfi -i "color=black:s=320x180:r=25:d=1" \
  -f lavfi -i "smptebars=s=320x180:r=25:d=2" -filter_complex \
  "[0]fade=out:st=1.5:d=0.5[a];[2]fade=in:st=0:d=0.5[c];[a][1][c]concat=n=3:v=1:a=0" \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$tmp/fade.mp4"
ff -f lavfi -i "sine=d=1" "$tmp/audio.m4a"

an() { timeout 60 "$VIDAN" analyze "$@"; }
an "$tmp/shots.mp4" --analyses scenes -o "$tmp/out" >"$tmp/content.json" || { echo "FAIL: content run"; fails=1; }
an "$tmp/shots.mp4" --analyses scenes --param scenes.detector=adaptive >"$tmp/adaptive.json" || { echo "FAIL: adaptive run"; fails=1; }
an "$tmp/shots.mp4" --analyses scenes -o "$tmp/nothumbs" --param scenes.thumbnails=false >"$tmp/nothumbs.json" || { echo "FAIL: thumbnails=false run"; fails=1; }
an "$tmp/fade.mp4" --analyses scenes --param scenes.detector=threshold >"$tmp/threshold.json" || { echo "FAIL: threshold run"; fails=1; }

python3 - "$tmp" <<'EOF' || fails=1
import json, os, sys
d = sys.argv[1]
fails = 0
def check(ok, what, got=""):
    global fails
    print(("ok   " if ok else "FAIL ") + what + (f" (got {got})" if got != "" else ""))
    fails += not ok

doc = json.load(open(f"{d}/content.json"))
r = doc["results"]["scenes"]
check([c["frame"] for c in r["cuts"]] == [50, 100], "content: cuts at 50 and 100", [c["frame"] for c in r["cuts"]])
check(r["detector"] == "content" and r["threshold"] == 27 and r["min_scene_len"] == 15, "content: defaults reported",
      (r["detector"], r["threshold"], r["min_scene_len"]))
check(r["frames"] == 150 and abs(r["fps"] - 25) < 1e-9 and abs(r["duration"] - 6.0) < 1e-6, "frames, fps, duration",
      (r["frames"], r["fps"], r["duration"]))
want = [(1, 0, 49, 0.0, 2.0, "00:00:00.000", "00:00:02.000"),
        (2, 50, 99, 2.0, 4.0, "00:00:02.000", "00:00:04.000"),
        (3, 100, 149, 4.0, 6.0, "00:00:04.000", "00:00:06.000")]
got = [(s["index"], s["start_frame"], s["end_frame"], s["start_time"], s["end_time"], s["start_timecode"],
        s["end_timecode"]) for s in r["scenes"]]
check(got == want, "scenes: frames inclusive, times, timecodes", got)
check(all(s["frames"] == 50 and abs(s["duration"] - 2.0) < 1e-9 for s in r["scenes"]), "scene lengths")
c0 = r["cuts"][0]
check(c0["timecode"] == "00:00:02.000" and abs(c0["time"] - 2.0) < 1e-9 and c0["score"] > 27, "cut fields", c0)
names = [s["thumbnail"] for s in r["scenes"]]
check(names == ["scene-001.jpg", "scene-002.jpg", "scene-003.jpg"], "thumbnail names in the scenes", names)
check(doc["artifacts"].get("scenes") == names + ["scenes.csv", "scenes.edl"],
      "thumbnails, CSV and EDL listed as artifacts", doc["artifacts"])
for name in ("scenes.csv", "scenes.edl"):
    check(os.path.getsize(f"{d}/out/{name}") > 0, f"{name} written")
for n in names:
    p = f"{d}/out/{n}"
    data = open(p, "rb").read() if os.path.exists(p) else b""
    check(data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9" and len(data) > 1000, f"{n} is a JPEG", len(data))

r = json.load(open(f"{d}/adaptive.json"))["results"]["scenes"]
check([c["frame"] for c in r["cuts"]] == [50, 100], "adaptive: cuts at 50 and 100", [c["frame"] for c in r["cuts"]])
check(all(s["thumbnail"] is None for s in r["scenes"]), "no output folder: thumbnails are null")

doc = json.load(open(f"{d}/nothumbs.json"))
jpgs = [f for f in os.listdir(f"{d}/nothumbs") if f.endswith(".jpg")] if os.path.isdir(f"{d}/nothumbs") else []
check(not jpgs and doc["artifacts"].get("scenes") == ["scenes.csv", "scenes.edl"],
      "thumbnails=false writes no JPEG (CSV and EDL still)", (jpgs, doc["artifacts"]))

r = json.load(open(f"{d}/threshold.json"))["results"]["scenes"]
cuts = [c["frame"] for c in r["cuts"]]
check(len(cuts) == 1 and 55 <= cuts[0] <= 72 and r["threshold"] == 12, "threshold: one cut inside the black (frames 50-74)", cuts)
sys.exit(1 if fails else 0)
EOF

# Bad parameters and a file without video: clear message, exit 1-127.
bad() { # expected-substring args...
  local want=$1
  shift
  timeout 20 "$VIDAN" analyze "$@" >/dev/null 2>"$tmp/err"
  local rc=$?
  if [ $rc -ge 1 ] && [ $rc -lt 128 ] && grep -qi -- "$want" "$tmp/err"; then
    echo "ok   refused: $* -> $(head -c 120 "$tmp/err")"
  else
    echo "FAIL refused: $* (exit $rc): $(cat "$tmp/err")"
    fails=1
  fi
}
bad "detector" "$tmp/shots.mp4" --analyses scenes --param scenes.detector=histogram
bad "threshold" "$tmp/shots.mp4" --analyses scenes --param scenes.threshold=300
bad "min_scene_len" "$tmp/shots.mp4" --analyses scenes --param scenes.min_scene_len=-1
bad "weights" "$tmp/shots.mp4" --analyses scenes --param scenes.weights=1,2
bad "fade_bias" "$tmp/shots.mp4" --analyses scenes --param scenes.fade_bias=2
bad "video" "$tmp/audio.m4a" --analyses scenes
exit $fails
