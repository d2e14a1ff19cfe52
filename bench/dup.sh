#!/usr/bin/env bash
# Duplicate detection speed:
#   1. fingerprinting, side by side with pure decoding, on one file:
#        ffmpeg -v error -i V -f null -          (decode only, every frame)
#        vidan analyze V --analyses fingerprint (decode once, picture hashes
#                                                 at 4/s, Chromaprint)
#      V is a generated 30 s 1280x720 H.264 + AAC clip (cached in $BENCH_DIR).
#      Prints wall and CPU seconds, x real time, peak RSS, and the ratio.
#   2. the library: bench/dup_query.c, compiled here against the build's
#      libvidan_lib.a, fills an index with N synthetic videos (1-5 min) and
#      times queries: 20 s noisy fragments of indexed videos (each must be
#      found) and unrelated videos (none may match). Prints build rate,
#      mean and worst query time, and peak RSS.
# Env: VIDAN, BENCH_DIR, RUNS (see common.sh); N (index size, 10000),
# QUERIES (each kind, 50), BUILD (the build folder, <repo>/build).
source "$(dirname "$0")/common.sh"

N=${N:-10000}
QUERIES=${QUERIES:-50}
BUILD=${BUILD:-$bench_root/build}
V=$BENCH_DIR/dup_720p_30s.mp4

if [[ ! -s "$V" ]]; then
  echo "bench: generating $V (once)" >&2
  ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=s=1280x720:r=30:d=30" \
    -f lavfi -i "sine=f=330:d=30" -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p \
    -c:a aac -b:a 128k -shortest "$V" || { echo "bench: cannot generate $V" >&2; exit 1; }
fi

best dec "$RUNS" ffmpeg -nostdin -v error -i "$V" -f null -
best fp "$RUNS" "$VIDAN" analyze "$V" --analyses fingerprint

row() {
  local name=$1 r=$2
  printf '%-36s wall %6.2f s  cpu %6.2f s  %6.1fx real time  peak RSS %4d MB\n' "$name" \
    "$(field "$r" 1)" "$(field "$r" 2)" \
    "$(awk -v w="$(field "$r" 1)" 'BEGIN{print (w > 0 ? 30 / w : 0)}')" $(($(field "$r" 3) / 1024))
}
echo "fingerprint, 30 s of 1280x720 H.264 + AAC (best of $RUNS):"
row "ffmpeg decode (-f null)" "$dec"
row "vidan analyze --analyses fingerprint" "$fp"
awk -v a="$(field "$fp" 1)" -v b="$(field "$dec" 1)" \
  'BEGIN{printf "fingerprint / decode wall time: %.2f\n", (b > 0 ? a / b : 0)}'

lib=$BUILD/libvidan_lib.a
[[ -f "$lib" ]] || { echo "bench: no $lib (make build)" >&2; exit 2; }
q=$BENCH_DIR/dup_query
# shellcheck disable=SC2046
cc -O2 -std=c11 -D_GNU_SOURCE -I"$bench_root/src" "$bench_root/bench/dup_query.c" -o "$q" "$lib" \
  $(pkg-config --libs jansson libavutil libchromaprint) -lm -lpthread ||
  { echo "bench: cannot build dup_query" >&2; exit 1; }
echo
echo "library index, $N synthetic videos:"
measure r "$q" "$N" "$QUERIES"
cat "$BENCH_DIR/last.out"
echo "peak RSS $(($(field "$r" 3) / 1024)) MB, $(field "$r" 1) s in all"
