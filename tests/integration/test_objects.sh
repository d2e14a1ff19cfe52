#!/usr/bin/env bash
# The objects analysis (CenterNet, 80 COCO labels).
#
# Without test data (always): generated pictures hold no objects, so at the
# default min_score (0.35) FFmpeg's SMPTE bars (a 3 s clip with a tone) and
# a Mandelbrot still find nothing, yet the result has its full shape; the
# annotated outputs are written when asked (objects.mp4 with the tone kept,
# objects.jpg for the still). At min_score 0.05 the detector's weak guesses
# do come through, which exercises the bookkeeping: boxes inside the
# picture, per-label sample counts, ranges and chart counts that agree with
# the per-sample objects. Bad input is refused clearly: an out-of-range fps
# (usage, exit 2) and an audio-only file ("no video").
#
# With ../shared/testdata/faces (skipped with a message when absent): people
# on camera. "person" must be found in every sample of the GRID clip (2 fps)
# and the azavatar clip (1 fps) (one person in every frame; boxes in source
# pixels around the picture's centre, a 1080p clip's boxes in 1080p
# pixels), in most of Tears of Steel's, and nothing else above min_score on
# those two. A clip built as GRID (3 s), 3 s of black, GRID again gives two
# person ranges with the gap where the black is.
#
# The detector costs ~0.1 s per sample in a release build and ~2 s under
# ASan at -O0, so the test keeps to about 40 samples in all (1 fps where
# the rate does not matter).
# Env (from CTest): VIDAN, VD_SRC, VD_TESTDATA. Exit 77 = skipped.
set -uo pipefail

. "$(dirname "$0")/analysis_env.sh"
need_analyses objects
need_tools python3 ffmpeg ffprobe
need_models centernet

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vidan-objects.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ff() { ffmpeg -v error -nostdin -y "$@" || { echo "FAIL: ffmpeg $*"; exit 1; }; }
run() { # NAME FILE ARGS...: analyze FILE with objects into $tmp/NAME.json
  local name=$1 file=$2
  shift 2
  "$VIDAN" analyze "$file" --analyses objects "$@" >"$tmp/$name.json" 2>"$tmp/$name.err" ||
    { echo "FAIL: analyze $file $* exited $?: $(tail -c 300 "$tmp/$name.err")"; exit 1; }
}

ff -f lavfi -i smptebars=size=640x360:rate=25 -f lavfi -i sine=frequency=440 -t 3 -c:v libx264 \
  -pix_fmt yuv420p -c:a aac -shortest "$tmp/bars.mp4"
ff -f lavfi -i mandelbrot=size=400x300 -frames:v 1 "$tmp/m.png"
ff -f lavfi -i sine -t 1 "$tmp/tone.wav"
run bars "$tmp/bars.mp4" -o "$tmp/bars" --param objects.annotate=true
run still "$tmp/m.png" -o "$tmp/still" --param objects.annotate=true
run low "$tmp/bars.mp4" --param objects.min_score=0.05 --param objects.fps=1
ffprobe -v error -count_frames -show_entries stream=codec_type,nb_read_frames -of json \
  "$tmp/bars/objects.mp4" >"$tmp/probe.json" || { echo "FAIL: ffprobe objects.mp4"; exit 1; }

cat >"$tmp/check.py" <<'PY'
import json


def check_shape(p, w, h, n):
    """The result's invariants: every box inside the picture, the summary,
    ranges and chart counts agreeing with the per-sample objects."""
    assert p["model"] == "centernet" and p["width"] == w and p["height"] == h, p
    assert p["sampled_frames"] == len(p["frames"]) == len(p["timeline"]["times"]) == n, \
        (p["sampled_frames"], n)
    step = 1 / p["fps"]
    per = {}
    for i, f in enumerate(p["frames"]):
        assert f["time"] == p["timeline"]["times"][i]
        assert f["objects"] == sorted(f["objects"], key=lambda o: -o["score"])
        assert len(f["objects"]) <= 50
        for o in f["objects"]:
            b = o["box"]
            assert p["min_score"] <= o["score"] <= 1, o
            assert 0 <= b["x"] and 0 <= b["y"] and b["w"] > 0 and b["h"] > 0, o
            assert b["x"] + b["w"] <= w + 1 and b["y"] + b["h"] <= h + 1, (o, w, h)
            per.setdefault(o["label"], [0] * n)[i] += 1
    assert p["frames_with_objects"] == sum(1 for f in p["frames"] if f["objects"])
    samples = [l["samples"] for l in p["labels"]]
    assert samples == sorted(samples, reverse=True), "labels: most-seen first"
    assert sorted(l["label"] for l in p["labels"]) == sorted(per), (p["labels"], per)
    assert set(p["timeline"]["counts"]) == set(per)
    for l in p["labels"]:
        counts = per[l["label"]]
        assert p["timeline"]["counts"][l["label"]] == counts, l["label"]
        assert l["samples"] == sum(1 for c in counts if c) and l["max_count"] == max(counts), l
        # ranges: one per run of consecutive samples, each ending one interval after its last
        runs, i = [], 0
        while i < n:
            if counts[i]:
                j = i
                while j + 1 < n and counts[j + 1]:
                    j += 1
                runs.append((i, j))
                i = j + 1
            else:
                i += 1
        assert len(l["ranges"]) == len(runs), (l["label"], l["ranges"], runs)
        for r, (a, b) in zip(l["ranges"], runs):
            t0, t1 = p["timeline"]["times"][a], p["timeline"]["times"][b]
            assert abs(r["start"] - t0) < 1e-3 and r["end"] >= t1 and r["end"] <= t1 + step + 1e-3, (r, t0, t1)
            assert r["max_count"] == max(counts[a:b + 1])
    return per
PY

python3 - "$tmp" <<'PY' || exit 1
import json, sys
d = sys.argv[1]
sys.path.insert(0, d)
from check import check_shape

r = json.load(open(f"{d}/bars.json"))
p = r["results"]["objects"]
check_shape(p, 640, 360, 6)
assert p["labels"] == [] and p["frames_with_objects"] == 0, p["labels"]
assert r["artifacts"]["objects"] == ["objects.mp4"], r["artifacts"]
st = {s["codec_type"]: s for s in json.load(open(f"{d}/probe.json"))["streams"]}
assert st["video"]["nb_read_frames"] == "75" and "audio" in st, st
assert p["annotated"] == {"file": "objects.mp4", "frames": 75, "audio": "copied"}, p["annotated"]
print("ok: SMPTE bars 3 s: 6 samples, no objects at min_score 0.35; objects.mp4 written (75 frames, tone copied)")

r = json.load(open(f"{d}/still.json"))
p = r["results"]["objects"]
check_shape(p, 400, 300, 1)
assert p["still"] and p["labels"] == [], p["labels"]
assert r["artifacts"]["objects"] == ["objects.jpg"]
assert open(f"{d}/still/objects.jpg", "rb").read(3) == b"\xff\xd8\xff"
print("ok: Mandelbrot still: no objects; objects.jpg written")

p = json.load(open(f"{d}/low.json"))["results"]["objects"]
per = check_shape(p, 640, 360, 3)
assert p["labels"], "at min_score 0.05 the detector's weak guesses should come through"
best = max(o["score"] for f in p["frames"] for o in f["objects"])
assert best < 0.35, best
print(f"ok: SMPTE bars at min_score 0.05: {len(per)} weak labels "
      f"({', '.join(l['label'] for l in p['labels'][:4])}...), best score {best}; bookkeeping consistent")
PY

"$VIDAN" analyze "$tmp/bars.mp4" --analyses objects --param objects.fps=0 >/dev/null 2>"$tmp/e1"
rc=$?
[[ $rc -eq 2 ]] && grep -q "fps" "$tmp/e1" || { echo "FAIL: fps=0 gave exit $rc: $(cat "$tmp/e1")"; exit 1; }
"$VIDAN" analyze "$tmp/tone.wav" --analyses objects >/dev/null 2>"$tmp/e2"
rc=$?
[[ $rc -ne 0 ]] && grep -q "no video" "$tmp/e2" || { echo "FAIL: audio-only input gave exit $rc: $(cat "$tmp/e2")"; exit 1; }
echo "ok: fps=0 refused (exit 2); audio-only input refused (exit $rc)"

faces=$testdata/faces
if [[ ! -f $faces/grid_bbaf2n.mpg || ! -f $faces/azavatar_delivering_sell_link.mp4 || ! -f $faces/tos_clip01_640x360.mp4 ]]; then
  echo "the people part is skipped: $faces (shared test data) is missing"
  echo "PASS"
  exit 0
fi
ff -i "$faces/grid_bbaf2n.mpg" -f lavfi -i color=black:size=360x288:rate=25 -filter_complex \
  "[0:v]trim=0:3,setpts=PTS-STARTPTS,format=yuv420p[a];[1:v]trim=0:3,setpts=PTS-STARTPTS,format=yuv420p[b];[0:v]trim=0:3,setpts=PTS-STARTPTS,format=yuv420p[c];[a][b][c]concat=n=3:v=1:a=0" \
  -c:v libx264 -an "$tmp/gap.mp4"
run grid "$faces/grid_bbaf2n.mpg"
run az "$faces/azavatar_delivering_sell_link.mp4" --param objects.fps=1
run tos "$faces/tos_clip01_640x360.mp4" --param objects.fps=1
run gap "$tmp/gap.mp4" --param objects.fps=1

python3 - "$tmp" <<'PY' || exit 1
import json, sys
d = sys.argv[1]
sys.path.insert(0, d)
from check import check_shape


def person(name, w, h, n, at_least, only_person):
    p = json.load(open(f"{d}/{name}.json"))["results"]["objects"]
    per = check_shape(p, w, h, n)
    seen = sum(1 for c in per.get("person", []) if c)
    assert seen >= at_least, f"{name}: person in {seen}/{n} samples, want >= {at_least}"
    assert p["labels"][0]["label"] == "person", p["labels"]
    if only_person:
        assert set(per) == {"person"}, f"{name}: also {set(per) - {'person'}}"
        for f in p["frames"]:
            b = f["objects"][0]["box"]
            cx, cy = b["x"] + b["w"] / 2, b["y"] + b["h"] / 2
            assert abs(cx - w / 2) < w / 4 and b["h"] > h / 3, (name, f)
    print(f"ok: {name}: person in {seen}/{n} samples (best {p['labels'][0]['max_score']}), "
          f"labels {[l['label'] for l in p['labels']]}")
    return p


person("grid", 360, 288, 6, 6, True)
p = person("az", 1920, 1080, 5, 5, True)
r = p["labels"][0]["ranges"]
assert len(r) == 1 and r[0]["start"] == 0 and abs(r[0]["end"] - 4.08) < 0.1, r
person("tos", 640, 360, 10, 6, False)

p = person("gap", 360, 288, 9, 6, False)
r = [x for x in p["labels"] if x["label"] == "person"][0]["ranges"]
assert len(r) == 2, r
assert r[0]["start"] == 0 and 2.9 <= r[0]["end"] <= 3.1, r
assert 5.9 <= r[1]["start"] <= 6.1 and r[1]["end"] >= 8.9, r
print(f"ok: GRID + 3 s black + GRID: person ranges {[(x['start'], x['end']) for x in r]}")
PY
echo "PASS"
