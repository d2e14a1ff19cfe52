#!/usr/bin/env bash
# Memory of scene detection on a long video: peak RSS of `vidan scenes V`
# (GNU time's maximum resident set size) on a one-hour 1080p30 H.264 file.
# Target: under 150 MB. Memory must not grow with the video's length, so
# the script also prints the wall time and the frames per second.
#
# The hour is made cheaply: one 60 s segment with 8 cuts (lavfi sources,
# x264 ultrafast at about 2 Mbit/s), then the concat demuxer joins MINUTES
# copies of it by stream copy. Cached in $BENCH_DIR (about 1 GB).
#
# Env: VIDAN, BENCH_DIR (see common.sh); MINUTES (default 60);
# COMPARE_DECODE=1 also measures `ffmpeg -f null` on the same file.
RUNS=1
source "$(dirname "$0")/common.sh"

MINUTES=${MINUTES:-60}
seg=$BENCH_DIR/memory_segment_60s.mp4
V=$BENCH_DIR/memory_1080p_${MINUTES}min.mp4

if [[ ! -s "$seg" ]]; then
  echo "bench: generating $seg" >&2
  ffmpeg -v error -y -f lavfi -i "testsrc2=s=1920x1080:r=30:d=60" \
    -f lavfi -i "sine=f=300:d=60:sample_rate=48000" \
    -vf "hue=H='2*PI*floor(t/7.5)/8':s='1+mod(floor(t/7.5),2)'" \
    -c:v libx264 -preset ultrafast -b:v 2M -maxrate 3M -bufsize 6M -g 300 \
    -c:a aac -b:a 96k "$seg.tmp.mp4" && mv "$seg.tmp.mp4" "$seg" ||
    { echo "bench: generating $seg failed" >&2; exit 1; }
fi
if [[ ! -s "$V" ]]; then
  echo "bench: joining $MINUTES copies into $V" >&2
  list=$BENCH_DIR/memory_concat.txt
  for ((i = 0; i < MINUTES; i++)); do echo "file '$seg'"; done >"$list"
  ffmpeg -v error -y -f concat -safe 0 -i "$list" -c copy "$V.tmp.mp4" && mv "$V.tmp.mp4" "$V" ||
    { echo "bench: joining failed" >&2; exit 1; }
fi

dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$V")
echo "file: $V (${dur%.*} s, $(du -h "$V" | cut -f1)); $(nproc) cores"
measure vid "$VIDAN" scenes "$V"
nscenes=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["scenes"]))' \
  "$BENCH_DIR/last.out" 2>/dev/null || echo "?")
mb=$(awk -v k="$(field "$vid" 3)" 'BEGIN{printf "%.1f", k / 1024}')
fps=$(awk -v d="$dur" -v w="$(field "$vid" 1)" 'BEGIN{printf "%.0f", d * 30 / w}')
echo "vidan scenes: peak RSS $mb MB, wall $(field "$vid" 1) s, cpu $(field "$vid" 2) s, $fps frames/s, $nscenes scenes"
verdict=$(awk -v m="$mb" 'BEGIN{print (m < 150 ? "meets" : "MISSES")}')
echo "peak RSS $mb MB $verdict the target < 150 MB"
if [[ -n "${COMPARE_DECODE:-}" ]]; then
  measure dec ffmpeg -v error -threads 0 -i "$V" -f null -
  echo "ffmpeg decode: peak RSS $(awk -v k="$(field "$dec" 3)" 'BEGIN{printf "%.1f", k / 1024}') MB, wall $(field "$dec" 1) s"
fi
