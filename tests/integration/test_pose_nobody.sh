#!/usr/bin/env bash
# The pose analysis on generated pictures without people (no test data
# needed): FFmpeg's testsrc (a 3 s clip with a tone) and a Mandelbrot still
# must find nobody: every sample's mean keypoint score stays under
# min_score (0.3), so no frame counts as showing a person, yet the result
# has its full shape (17 named keypoints in [0,1] per sample) and the
# labelled outputs are written (pose.mp4 with the tone kept, pose.jpg for
# the still). A portrait video keeps its keypoints inside the picture too.
# Bad input is refused clearly: an out-of-range fps (usage, exit 2) and an
# audio-only file (exit 1, "no video").
# Env (from CTest): VIDAN, VD_SRC. Exit 77 = skipped.
set -uo pipefail

. "$(dirname "$0")/pose_common.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vidan-pose0.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

ff() { ffmpeg -v error -nostdin -y "$@" || { echo "FAIL: ffmpeg $*"; exit 1; }; }
ff -f lavfi -i testsrc=size=320x240:rate=25 -f lavfi -i sine=frequency=440 -t 3 -c:v libx264 \
  -pix_fmt yuv420p -c:a aac -shortest "$tmp/ts.mp4"
ff -f lavfi -i mandelbrot=size=400x300 -frames:v 1 "$tmp/m.png"
ff -f lavfi -i testsrc=size=180x320:rate=10 -t 1 -c:v libx264 -pix_fmt yuv420p "$tmp/tall.mp4"
ff -f lavfi -i sine -t 1 "$tmp/tone.wav"

"$VIDAN" analyze "$tmp/ts.mp4" --analyses pose -o "$tmp/v" >"$tmp/v.json" || { echo "FAIL: analyze ts.mp4 exited $?"; exit 1; }
"$VIDAN" analyze "$tmp/m.png" --analyses pose -o "$tmp/i" >"$tmp/i.json" || { echo "FAIL: analyze m.png exited $?"; exit 1; }
"$VIDAN" analyze "$tmp/tall.mp4" --analyses pose --param pose.fps=10 >"$tmp/t.json" ||
  { echo "FAIL: analyze tall.mp4 exited $?"; exit 1; }
ffprobe -v error -count_frames -show_entries stream=codec_type,nb_read_frames -of json "$tmp/v/pose.mp4" >"$tmp/probe.json" ||
  { echo "FAIL: ffprobe pose.mp4"; exit 1; }

python3 - "$tmp" <<'PY' || exit 1
import json, sys

d = sys.argv[1]
names = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
         "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
         "right_knee", "left_ankle", "right_ankle"]


def check(p, n, what):
    assert p["sampled_frames"] == len(p["frames"]) == n, (what, p["sampled_frames"], n)
    assert p["keypoint_names"] == names, p["keypoint_names"]
    for f in p["frames"]:
        assert [k["name"] for k in f["keypoints"]] == names, f
        for k in f["keypoints"]:
            assert 0 <= k["x"] <= 1 and 0 <= k["y"] <= 1 and 0 <= k["score"] <= 1, (what, f["time"], k)
        mean = sum(k["score"] for k in f["keypoints"]) / 17
        assert abs(mean - f["score"]) < 1e-3, (what, f)
        assert f["score"] < 0.3, f"{what}: a person at {f['time']} s? score {f['score']}"
    assert p["frames_with_person"] == 0 and p["mean_score"] < 0.25, (what, p["mean_score"])
    print(f"ok: {what}: {n} samples, nobody (mean score {p['mean_score']}, "
          f"highest {max(f['score'] for f in p['frames'])})")


r = json.load(open(f"{d}/v.json"))
p = r["results"]["pose"]
check(p, 15, "testsrc 3 s")
assert not p["still"] and r["artifacts"]["pose"] == ["pose.mp4"], r["artifacts"]
st = {s["codec_type"]: s for s in json.load(open(f"{d}/probe.json"))["streams"]}
assert st["video"]["nb_read_frames"] == "75" and "audio" in st, st
assert p["labelled"] == {"file": "pose.mp4", "frames": 75, "audio": "copied"}, p["labelled"]

r = json.load(open(f"{d}/i.json"))
p = r["results"]["pose"]
check(p, 1, "mandelbrot still")
assert p["still"] and r["artifacts"]["pose"] == ["pose.jpg"], r["artifacts"]
assert open(f"{d}/i/pose.jpg", "rb").read(3) == b"\xff\xd8\xff"

check(json.load(open(f"{d}/t.json"))["results"]["pose"], 10, "portrait testsrc")
PY

"$VIDAN" analyze "$tmp/ts.mp4" --analyses pose --param pose.fps=0 >/dev/null 2>"$tmp/e1"
rc=$?
[[ $rc -eq 2 ]] && grep -q "fps" "$tmp/e1" || { echo "FAIL: fps=0 gave exit $rc: $(cat "$tmp/e1")"; exit 1; }
"$VIDAN" analyze "$tmp/tone.wav" --analyses pose >/dev/null 2>"$tmp/e2"
rc=$?
[[ $rc -ne 0 ]] && grep -q "no video" "$tmp/e2" || { echo "FAIL: audio-only input gave exit $rc: $(cat "$tmp/e2")"; exit 1; }
echo "ok: fps=0 refused (exit 2); audio-only input refused (exit $rc): $(head -c 200 "$tmp/e2")"
echo "PASS"
