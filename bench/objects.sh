#!/usr/bin/env bash
# Objects speed, side by side in one run on one file:
#   1. pure decoding, the floor:  ffmpeg -v error -threads 0 -i V -f null -
#   2. vidan analyze V --analyses objects                 (2 fps, the default)
#   3. the same at 5 fps (--param objects.fps=5)
# V is 30 s of 1280x720 H.264 (x264 default preset, yuv420p, 25 fps, AAC)
# with a person in every frame: the shared clip faces/azavatar_delivering_
# sell_link.mp4 looped and scaled to 720 lines. Generated once into
# $BENCH_DIR. The model's own speed (ms per inference beside TF.js) is
# bench/nn/run's.
#
# Every vidan run's JSON is checked: "person" must be found in most samples
# at the asked rate, or the bench fails (a build that finds nothing must not
# print a fast number).
#
# Env: VIDAN, BENCH_DIR, RUNS (see common.sh); VD_TESTDATA (default
# ../shared/testdata next to the repo).
source "$(dirname "$0")/common.sh"
need python3

data=${VD_TESTDATA:-$bench_root/../shared/testdata}
src=$data/faces/azavatar_delivering_sell_link.mp4
if [[ ! -f "$src" ]]; then
  # Exit 0 so that bench/run-all does not count a missing data set as a failure.
  echo "bench/objects.sh: skipped: $src is missing (shared test data, not in the repo; set VD_TESTDATA)"
  exit 0
fi
v=$BENCH_DIR/objects_720p_30s.mp4
if [[ ! -s "$v" ]]; then
  echo "bench: generating $v (once)" >&2
  ffmpeg -v error -y -stream_loop -1 -i "$src" -t 30 -vf "scale=-2:720,setsar=1,fps=25,format=yuv420p" \
    -c:v libx264 -c:a aac -b:a 128k -movflags +faststart "$v.tmp.mp4" &&
    mv "$v.tmp.mp4" "$v" || { echo "bench: generating $v failed" >&2; exit 1; }
fi

# check_result JSON DURATION FPS: prints "person in P/S samples" or fails.
check_result() {
  python3 - "$@" <<'EOF' || exit 1
import json, sys
path, dur, fps = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def fail(msg):
    print(f"bench: ERROR: {msg} ({path}); the numbers of this run mean nothing", file=sys.stderr)
    sys.exit(1)
try:
    o = json.load(open(path))["results"]["objects"]
except Exception as e:
    fail(f"no objects result in the JSON: {e!r}")
n = o.get("sampled_frames", 0)
if o.get("fps") != fps or n < 0.9 * dur * fps:
    fail(f"sampled {n} frames at {o.get('fps')} fps, expected about {dur * fps:.0f}")
person = next((l for l in o.get("labels", []) if l["label"] == "person"), None)
if not person or person["samples"] < 0.9 * n:
    fail(f"person found in {person and person['samples']} of {n} samples (every frame shows one)")
print(f"person in {person['samples']}/{n} samples")
EOF
}

row() { # NAME MEASURED DURATION NOTE
  printf '%-40s %7s s %7s s %8sx %7s MB  %s\n' "$1" "$(field "$2" 1)" "$(field "$2" 2)" \
    "$(ratio "$3" "$(field "$2" 1)")" "$(awk -v k="$(field "$2" 3)" 'BEGIN{printf "%.0f", k / 1024}')" "$4"
}

dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$v")
echo "file: $v (1280x720, $(awk -v d="$dur" 'BEGIN{printf "%.2f", d}') s); $(nproc) cores; best of $RUNS"
echo "load before: $(uptime | sed 's/.*load average/load average/')"
best dec "$RUNS" ffmpeg -v error -threads 0 -i "$v" -f null -
best o2 "$RUNS" "$VIDAN" analyze "$v" --analyses objects
n2=$(check_result "$BENCH_DIR/last.out" "$dur" 2) || exit 1
best o5 "$RUNS" "$VIDAN" analyze "$v" --analyses objects --param objects.fps=5
n5=$(check_result "$BENCH_DIR/last.out" "$dur" 5) || exit 1
printf '%-40s %9s %9s %9s %10s\n' "command" "wall" "cpu" "x real" "peak RSS"
row "ffmpeg decode (-f null)" "$dec" "$dur" ""
row "vidan analyze --analyses objects (2 fps)" "$o2" "$dur" "$n2"
row "  --param objects.fps=5" "$o5" "$dur" "$n5"
echo "load after: $(uptime | sed 's/.*load average/load average/')"
echo "objects at 720p: $(ratio "$dur" "$(field "$o2" 1)")x real time at 2 fps, $(ratio "$dur" "$(field "$o5" 1)")x at 5 fps"
