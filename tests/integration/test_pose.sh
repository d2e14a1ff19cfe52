#!/usr/bin/env bash
# The pose analysis on real people (shared testdata, faces/README.md): the
# two azavatar clips show one woman facing the camera, seen to the thighs.
# Every sampled frame must find her (mean keypoint score >= 0.3) with a
# plausible body: nose above the shoulders above the hips, shoulders inside
# the picture and confident, her left shoulder on the image's right; at
# 1.0 s of status0 her nose and shoulders are where they are by eye. A
# still frame of that clip (PNG) gives pose.jpg and the same keypoints as
# the video's sample at that time, and MoveNet Thunder agrees with
# Lightning on it. The labelled video of the other clip
# (pose.mp4, 1080p: cheaper than the 4K one) keeps the input's frame count
# and audio and has the shoulder line drawn where the result puts it.
# Env (from CTest): VIDAN, VD_SRC, VD_TESTDATA. Exit 77 = skipped.
set -uo pipefail

. "$(dirname "$0")/pose_common.sh"
in=$testdata/faces/azavatar_status0_speaking.mp4
in2=$testdata/faces/azavatar_delivering_sell_link.mp4
[[ -f $in && -f $in2 ]] || skip "test data absent: $in, $in2"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vidan-pose.XXXXXX")
trap '[[ -n ${KEEP:-} ]] || rm -rf "$tmp"' EXIT

timeout 300 "$VIDAN" analyze "$in" --analyses pose >"$tmp/v.json" ||
  { echo "FAIL: vidan analyze $in exited $?"; exit 1; }
timeout 300 "$VIDAN" analyze "$in2" --analyses pose -o "$tmp/l" >"$tmp/l.json" ||
  { echo "FAIL: vidan analyze $in2 exited $?"; exit 1; }
[[ -s $tmp/l/pose.mp4 ]] || { echo "FAIL: no pose.mp4"; ls -l "$tmp/l"; exit 1; }
# Frame n of a file, scaled.
grab() { ffmpeg -v error -nostdin -i "$1" -vf "select=eq(n\,$2),scale=$3" -frames:v 1 "${@:4}"; }
# status0 is 50 fps, the other 25: frame 50 / 25 is t = 1.0 s, a pose sample.
grab "$in" 50 960:540 "$tmp/still.png" &&
  grab "$in2" 25 1280:720 -pix_fmt gray -f rawvideo "$tmp/in.gray" &&
  grab "$tmp/l/pose.mp4" 25 1280:720 -pix_fmt gray -f rawvideo "$tmp/out.gray" ||
  { echo "FAIL: frame extraction"; exit 1; }
timeout 60 "$VIDAN" analyze "$tmp/still.png" --analyses pose -o "$tmp/i" >"$tmp/i.json" ||
  { echo "FAIL: vidan analyze (image) exited $?"; exit 1; }
timeout 60 "$VIDAN" analyze "$tmp/still.png" --analyses pose --param pose.model=movenet-thunder >"$tmp/t.json" ||
  { echo "FAIL: vidan analyze (image, thunder) exited $?"; exit 1; }
probe() { ffprobe -v error -count_frames -show_entries stream=codec_type,codec_name,nb_read_frames -of json "$1"; }
probe "$in2" >"$tmp/pin.json" && probe "$tmp/l/pose.mp4" >"$tmp/pout.json" || { echo "FAIL: ffprobe"; exit 1; }

python3 - "$tmp" <<'PY' || exit 1
import json, sys

d = sys.argv[1]


def kp(f):
    return {k["name"]: k for k in f["keypoints"]}


def plausible(p, n, what):
    assert p["model"] == "movenet-lightning" and not p["still"], p
    assert p["sampled_frames"] == len(p["frames"]) == n, (what, p["sampled_frames"])
    assert p["frames_with_person"] == n, f"{what}: a person in {p['frames_with_person']}/{n} samples"
    assert p["mean_score"] >= 0.45, (what, p["mean_score"])
    for f in p["frames"]:
        k = kp(f)
        assert len(k) == 17 and all(0 <= v["x"] <= 1 and 0 <= v["y"] <= 1 for v in k.values()), f
        ls, rs, lh, rh, nose = (k[x] for x in ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "nose"))
        assert ls["score"] >= 0.5 and rs["score"] >= 0.5, (what, f["time"], ls, rs)
        for s in (ls, rs):
            assert 0.05 < s["x"] < 0.95 and 0.05 < s["y"] < 0.95, (what, f["time"], s)
        assert ls["x"] > rs["x"], f"{what}: her left shoulder is on the image's right: {ls} {rs}"
        sh_y, hip_y = (ls["y"] + rs["y"]) / 2, (lh["y"] + rh["y"]) / 2
        assert nose["y"] < sh_y < hip_y, (what, f["time"], nose, sh_y, hip_y)
        # a body, not a point: shoulders apart, a torso below them
        assert 0.1 < ls["x"] - rs["x"] < 0.4 and hip_y - sh_y > 0.2, (what, f["time"], ls, rs, sh_y, hip_y)
    print(f"ok: {what}: {n} samples, all with her; mean score {p['mean_score']}; "
          f"keypoint means {p['keypoint_mean_scores']}")


p = json.load(open(f"{d}/v.json"))["results"]["pose"]
plausible(p, 20, "status0")  # 3.98 s at 5 fps
k = kp([f for f in p["frames"] if abs(f["time"] - 1.0) < 1e-3][0])
ls, rs = k["left_shoulder"], k["right_shoulder"]
# By eye, at 1.0 s (640x360): nose near (318, 82), shoulders near (265, 133) and (375, 133).
assert abs(k["nose"]["x"] - 0.497) < 0.04 and abs(k["nose"]["y"] - 0.228) < 0.05, k["nose"]
assert abs(rs["x"] - 0.414) < 0.04 and abs(ls["x"] - 0.586) < 0.04, (rs, ls)
assert abs(rs["y"] - 0.37) < 0.05 and abs(ls["y"] - 0.37) < 0.05, (rs, ls)
print("ok: status0 at 1.0 s: nose and shoulders where they are by eye")

# the still image: pose.jpg and the same pose as the video's sample at 1.0 s
ri = json.load(open(f"{d}/i.json"))
pi = ri["results"]["pose"]
assert pi["still"] and pi["sampled_frames"] == 1 and pi["labelled"] == {"file": "pose.jpg", "frames": 1}, pi
assert ri["artifacts"]["pose"] == ["pose.jpg"], ri["artifacts"]
assert open(f"{d}/i/pose.jpg", "rb").read(3) == b"\xff\xd8\xff"
ki = kp(pi["frames"][0])
for name in ("nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip"):
    dx, dy = ki[name]["x"] - k[name]["x"], ki[name]["y"] - k[name]["y"]
    assert (dx * dx + dy * dy) ** 0.5 < 0.03, (name, ki[name], k[name])
print(f"ok: still image: pose.jpg; keypoints within 0.03 of the video's (score {pi['frames'][0]['score']})")

# MoveNet Thunder (256x256) on the same picture: a person, the torso where Lightning puts it
pt = json.load(open(f"{d}/t.json"))["results"]["pose"]
assert pt["model"] == "movenet-thunder" and pt["input_size"] == 256 and pt["frames_with_person"] == 1, pt
kt = kp(pt["frames"][0])
for name in ("nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip"):
    dx, dy = kt[name]["x"] - ki[name]["x"], kt[name]["y"] - ki[name]["y"]
    assert (dx * dx + dy * dy) ** 0.5 < 0.05 and kt[name]["score"] >= 0.3, (name, kt[name], ki[name])
print(f"ok: thunder agrees on the torso within 0.05 (score {pt['frames'][0]['score']})")

# pose.mp4 of the other clip: same frames as the input, H.264, audio kept
r = json.load(open(f"{d}/l.json"))
p = r["results"]["pose"]
plausible(p, 21, "delivering_sell_link")  # 4.08 s at 5 fps
assert r["artifacts"]["pose"] == ["pose.mp4"], r["artifacts"]
si = {s["codec_type"]: s for s in json.load(open(f"{d}/pin.json"))["streams"]}
so = {s["codec_type"]: s for s in json.load(open(f"{d}/pout.json"))["streams"]}
assert so["video"]["codec_name"] == "h264" and so["video"]["nb_read_frames"] == si["video"]["nb_read_frames"], (so, si)
assert "audio" in so and p["labelled"] == {"file": "pose.mp4", "frames": int(si["video"]["nb_read_frames"]),
                                            "audio": "copied"}, (so, p["labelled"])
# The shoulder line (white, 6 px at 720p) is drawn where the result puts it:
# wherever it crosses her (the backdrop is as white as the line), the
# pixels change; far from her they do not.
W, H = 1280, 720
a, b = open(f"{d}/in.gray", "rb").read(), open(f"{d}/out.gray", "rb").read()
k = kp([f for f in p["frames"] if abs(f["time"] - 1.0) < 1e-3][0])
ls, rs = k["left_shoulder"], k["right_shoulder"]
pts = [(int((rs["x"] + (ls["x"] - rs["x"]) * t / 20) * W), int((rs["y"] + (ls["y"] - rs["y"]) * t / 20) * H))
       for t in range(3, 18)]
on_her = [(x, y) for x, y in pts if a[y * W + x] < 200]
changed = sum(abs(a[y * W + x] - b[y * W + x]) > 25 for x, y in on_her)
assert len(on_her) >= 6 and changed >= 0.8 * len(on_her), f"only {changed}/{len(on_her)} shoulder-line pixels drawn"
far = [abs(a[y * W + x] - b[y * W + x]) for y in range(20, 80) for x in range(20, 200)]
assert sum(far) / len(far) < 4, "pixels far from her changed"
print(f"ok: pose.mp4: {so['video']['nb_read_frames']} frames, audio copied, shoulder line drawn "
      f"({changed}/{len(on_her)})")
PY
echo "PASS"
