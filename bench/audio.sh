#!/usr/bin/env bash
# Audio analysis speed, side by side in one run on one file:
#   1. pure decoding:      ffmpeg -v error -i A -f null -
#   2. FFmpeg's R128 meter: ffmpeg -i A -af ebur128=peak=true -f null -
#      (the baseline: decode plus loudness with true peak, one core)
#   3. vidan:              vidan analyze A --analyses audio
#      (the same loudness plus RMS, centroid, ZCR, tempo, timeline)
# A is a generated 10 min stereo 48 kHz AAC file (two tones and noise under
# a slowly swinging level), cached in $BENCH_DIR. Prints wall and CPU
# seconds, x real time, peak RSS, and vidan / ebur128.
# Target: vidan at least 50x real time and no slower than 1.5x the ebur128
# filter.
#
# Env: VIDAN, BENCH_DIR, RUNS (see common.sh); MINUTES (file length, 10).
source "$(dirname "$0")/common.sh"

MINUTES=${MINUTES:-10}
A=$BENCH_DIR/audio_${MINUTES}min.m4a
D=$((MINUTES * 60))

if [[ ! -s "$A" ]]; then
  echo "bench: generating $A (once)" >&2
  ffmpeg -nostdin -v error -y -f lavfi -i "sine=f=220:r=48000:d=$D" \
    -f lavfi -i "sine=f=1330:r=48000:d=$D" -f lavfi -i "anoisesrc=r=48000:a=0.05:d=$D" \
    -filter_complex "[0][2]amix=inputs=2[l];[1][2]amix=inputs=2[r];[l][r]join=inputs=2:channel_layout=stereo,volume='0.5+0.4*sin(2*PI*t/7)':eval=frame[a]" \
    -map "[a]" -c:a aac -b:a 160k "$A" || { echo "bench: cannot generate $A" >&2; exit 1; }
fi

best dec "$RUNS" ffmpeg -nostdin -v error -i "$A" -f null -
best r128 "$RUNS" ffmpeg -nostdin -hide_banner -nostats -i "$A" -af ebur128=peak=true -f null -
best vid "$RUNS" "$VIDAN" analyze "$A" --analyses audio

row() {
  local name=$1 r=$2
  local w c m
  w=$(field "$r" 1)
  c=$(field "$r" 2)
  m=$(field "$r" 3)
  printf '%-28s wall %6.2f s  cpu %6.2f s  %7.1fx real time  peak RSS %4d MB\n' "$name" "$w" "$c" \
    "$(awk -v d="$D" -v w="$w" 'BEGIN{print (w > 0 ? d / w : 0)}')" $((m / 1024))
}
echo "audio: $MINUTES min stereo 48 kHz AAC, best of $RUNS"
row "decode (ffmpeg -f null)" "$dec"
row "ffmpeg -af ebur128" "$r128"
row "vidan analyze --analyses audio" "$vid"
awk -v v="$(field "$vid" 1)" -v e="$(field "$r128" 1)" \
  'BEGIN{printf "vidan / ebur128 filter: %.2f (target <= 1.5)\n", v / e}'
