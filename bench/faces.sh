#!/usr/bin/env bash
# Faces + emotions speed (issue 4: "faces + emotions at 5 fps on a 720p video
# must run at least 10x faster than real time on 2 cores"), side by side in
# one run on one file:
#   1. pure decoding, the floor:  ffmpeg -v error -threads 0 -i V -f null -
#   2. vidan analyze V --analyses faces,emotions          (the target's row)
#   3. the same with --param faces.embeddings=false --param faces.thumbnails=false
#   4. the same as 2 with -o DIR, which also writes the annotated faces.mp4
#      (its own row: encoding a video is extra work the target does not ask for)
# V is 30 s of 1280x720 H.264 (x264 default preset, yuv420p, 25 fps, AAC)
# with a real face in every frame: the shared GRID clip faces/grid_bbaf2n.mpg
# looped, scaled to 720 lines and padded. A 1920x1080 file made the same way
# gives a second table. Both are generated once into $BENCH_DIR.
#
# Every vidan run's JSON is checked: faces must be found in most of the
# frames sampled at 5 fps, and emotions must have classified them, or the
# bench fails (a build that finds nothing must not print a fast number).
#
# Env: VIDAN, BENCH_DIR, RUNS (see common.sh); VD_TESTDATA (default
# ../shared/testdata next to the repo); FACES_HEIGHTS (default "720 1080");
# FACES_ANNOTATE=0 leaves out the -o row.
source "$(dirname "$0")/common.sh"
need python3

data=${VD_TESTDATA:-$bench_root/../shared/testdata}
src=$data/faces/grid_bbaf2n.mpg
if [[ ! -f "$src" ]]; then
  # Exit 0 so that bench/run-all does not count a missing data set as a failure.
  echo "bench/faces.sh: skipped: $src is missing (shared test data, not in the repo; set VD_TESTDATA)"
  exit 0
fi
FACES_HEIGHTS=${FACES_HEIGHTS:-720 1080}
FACES_ANNOTATE=${FACES_ANNOTATE:-1}
SECONDS_LONG=30

# make_video HEIGHT: prints the path of the cached test video HEIGHT lines
# high (16:9), generating it first when needed.
make_video() {
  local h=$1 w=$(($1 * 16 / 9)) v
  v=$BENCH_DIR/faces_${h}p_${SECONDS_LONG}s.mp4
  if [[ ! -s "$v" ]]; then
    echo "bench: generating $v (once)" >&2
    ffmpeg -v error -y -stream_loop -1 -i "$src" -t "$SECONDS_LONG" \
      -vf "scale=-2:$h,setsar=1,pad=$w:$h:(ow-iw)/2:(oh-ih)/2,fps=25,format=yuv420p" \
      -c:v libx264 -c:a aac -b:a 128k -movflags +faststart "$v.tmp.mp4" &&
      mv "$v.tmp.mp4" "$v" || { echo "bench: generating $v failed" >&2; exit 1; }
  fi
  echo "$v"
}

# check_result JSON DURATION: prints "F/S frames with faces, E emotion frames"
# or fails the bench when faces are missing from most sampled frames, when
# fewer frames than 5 fps over the video were sampled, or when emotions did
# not classify the faces.
check_result() {
  python3 - "$1" "$2" <<'EOF' || exit 1
import json, sys
path, dur = sys.argv[1], float(sys.argv[2])
def fail(msg):
    print(f"bench: ERROR: {msg} ({path}); the numbers of this run mean nothing", file=sys.stderr)
    sys.exit(1)
try:
    doc = json.load(open(path))
    faces = doc["results"]["faces"]
    emo = doc["results"]["emotions"]
except Exception as e:
    fail(f"no faces/emotions result in the JSON: {e!r}")
if doc.get("incomplete"):
    fail("the result is marked incomplete")
sampled, found = faces.get("sampled_frames", 0), faces.get("frames_with_faces", 0)
want = dur * faces.get("fps", 0)
if faces.get("fps") != 5 or sampled < 0.9 * want:
    fail(f"faces sampled {sampled} frames at {faces.get('fps')} fps, expected about {want:.0f} at 5 fps")
if found < 0.9 * sampled:
    fail(f"faces found in only {found} of {sampled} sampled frames (every frame holds a face)")
n_emo = len(emo.get("frames") or [])
if n_emo < 0.9 * found or (emo.get("summary") or {}).get("faces", 0) < found:
    fail(f"emotions classified {n_emo} frames, faces found {found}")
print(f"faces in {found}/{sampled} sampled frames, {len(faces.get('tracks') or [])} tracks")
EOF
}

row() { # NAME MEASURED DURATION DECODE_WALL NOTE
  local w c m
  w=$(field "$2" 1)
  c=$(field "$2" 2)
  m=$(awk -v k="$(field "$2" 3)" 'BEGIN{printf "%.0f", k / 1024}')
  printf '%-44s %7s s %7s s %8sx %8s %7s MB  %s\n' "$1" "$w" "$c" "$(ratio "$3" "$w")" \
    "$(ratio "$w" "$4")" "$m" "$5"
}

verdict() { # LABEL X_REAL_TIME
  echo "$1: $2x real time, $(awk -v r="$2" 'BEGIN{print (r >= 10 ? "meets" : "MISSES")}') the target >= 10x"
}

bench_file() {
  local v=$1 h=$2 dur frames size dec vid lite ann note xr xl out
  dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$v")
  frames=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
    -of csv=p=0 "$v")
  size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$v")
  echo "file: $v ($size, $frames frames, $(awk -v d="$dur" 'BEGIN{printf "%.2f", d}') s, $(du -h "$v" | cut -f1)); $(nproc) cores; best of $RUNS"
  echo "load before: $(uptime | sed 's/.*load average/load average/')"
  best dec "$RUNS" ffmpeg -v error -threads 0 -i "$v" -f null -
  best vid "$RUNS" "$VIDAN" analyze "$v" --analyses faces,emotions
  note=$(check_result "$BENCH_DIR/last.out" "$dur") || exit 1
  best lite "$RUNS" "$VIDAN" analyze "$v" --analyses faces,emotions \
    --param faces.embeddings=false --param faces.thumbnails=false
  local lite_note
  lite_note=$(check_result "$BENCH_DIR/last.out" "$dur") || exit 1
  printf '%-44s %9s %9s %9s %8s %10s\n' "command" "wall" "cpu" "x real" "/ decode" "peak RSS"
  row "ffmpeg decode (-f null)" "$dec" "$dur" "$(field "$dec" 1)" ""
  row "vidan analyze --analyses faces,emotions" "$vid" "$dur" "$(field "$dec" 1)" "$note"
  row "  + embeddings=false thumbnails=false" "$lite" "$dur" "$(field "$dec" 1)" "$lite_note"
  if [[ "$FACES_ANNOTATE" != 0 ]]; then
    out=$BENCH_DIR/faces_${h}p_out
    # A fresh folder each run, so that every run writes everything.
    best ann "$RUNS" sh -c 'rm -rf "$1" && exec "$2" analyze "$3" --analyses faces,emotions -o "$1"' \
      sh "$out" "$VIDAN" "$v"
    local ann_note
    ann_note=$(check_result "$out/result.json" "$dur") || exit 1
    if [[ ! -s "$out/faces.mp4" ]]; then
      echo "bench: ERROR: vidan analyze -o $out wrote no faces.mp4" >&2
      exit 1
    fi
    row "  -o DIR (+ annotated faces.mp4, thumbnails)" "$ann" "$dur" "$(field "$dec" 1)" "$ann_note"
  fi
  echo "load after: $(uptime | sed 's/.*load average/load average/')"
  xr=$(ratio "$dur" "$(field "$vid" 1)")
  xl=$(ratio "$dur" "$(field "$lite" 1)")
  if [[ "$h" == 720 ]]; then
    verdict "faces,emotions at 720p" "$xr"
    verdict "faces,emotions at 720p without embeddings and thumbnails" "$xl"
  else
    echo "faces,emotions at ${h}p: ${xr}x real time (${xl}x without embeddings and thumbnails)"
  fi
  echo
}

for h in $FACES_HEIGHTS; do
  [[ "$h" =~ ^[0-9]+$ ]] && ((h >= 144 && h <= 2160 && h % 18 == 0)) ||
    { echo "bench: FACES_HEIGHTS: $h is not a 16:9 height such as 720 or 1080" >&2; exit 2; }
  v=$(make_video "$h") || exit 1
  bench_file "$v" "$h"
done
