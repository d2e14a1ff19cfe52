#!/usr/bin/env bash
# Scene detection speed, side by side in one run on one file:
#   1. pure decoding:  ffmpeg -v error -threads 0 -i V -f null -
#   2. vidan:          vidan scenes V
#   3. PySceneDetect:  python3 -m scenedetect -i V -b pyav detect-content list-scenes -n
#      (only when its source and Debian's python3-opencv are present; see README.md)
# V is a generated 60 s 1080p30 H.264 video (x264 preset fast) with 8 hard
# cuts between different lavfi sources, cached in $BENCH_DIR. The same three
# commands then run on two real clips of ../shared/testdata/scenes when it is
# there (720p testvideo.mp4, 576p issue-195-aspect-ratio.mp4).
# Targets: vidan / decode <= 1.3; PySceneDetect / vidan >= 10.
#
# Env: VIDAN, BENCH_DIR, RUNS (see common.sh); PSD_SRC (folder holding the
# `scenedetect` package, default /tmp/psd), PSD_PYTHON (default
# /usr/bin/python3), PSD_BACKEND (pyav|opencv, default pyav), PSD_RUNS (1).
source "$(dirname "$0")/common.sh"

PSD_SRC=${PSD_SRC:-/tmp/psd}
PSD_PYTHON=${PSD_PYTHON:-/usr/bin/python3}
PSD_BACKEND=${PSD_BACKEND:-pyav}
PSD_RUNS=${PSD_RUNS:-1}
V=$BENCH_DIR/scenes_1080p_60s.mp4

if [[ ! -s "$V" ]]; then
  echo "bench: generating $V (once; about a minute on 2 cores)" >&2
  seg=7.5
  norm="scale=1920:1080:flags=neighbor,setsar=1,fps=30,format=yuv420p"
  srcs=(
    "testsrc2=s=1920x1080:r=30:d=$seg"
    "mandelbrot=s=640x360:r=30,trim=duration=$seg"
    "life=s=480x270:mold=10:r=30:ratio=0.1:death_color=#C83232:life_color=#00ff00,trim=duration=$seg"
    "gradients=s=1920x1080:r=30:speed=0.03:d=$seg"
    "cellauto=s=480x270:r=30:rule=110,trim=duration=$seg"
    "smptehdbars=s=1920x1080:r=30:d=$seg,rotate=a=0.3*t:fillcolor=black"
    "rgbtestsrc=s=1920x1080:r=30:d=$seg,hue=H=2*PI*t/4"
    "testsrc=s=1920x1080:r=30:d=$seg"
  )
  inputs=()
  filt=""
  for i in "${!srcs[@]}"; do
    inputs+=(-f lavfi -i "${srcs[$i]}")
    filt+="[$i:v]$norm[v$i];"
  done
  for i in "${!srcs[@]}"; do filt+="[v$i]"; done
  filt+="concat=n=${#srcs[@]}:v=1:a=0[v]"
  ffmpeg -v error -y "${inputs[@]}" -f lavfi -i "sine=f=300:d=60:sample_rate=48000" \
    -filter_complex "$filt" -map "[v]" -map "${#srcs[@]}:a" \
    -c:v libx264 -preset fast -crf 23 -c:a aac -b:a 128k -movflags +faststart "$V.tmp.mp4" &&
    mv "$V.tmp.mp4" "$V" || { echo "bench: generating $V failed" >&2; exit 1; }
fi

row() { printf '%-34s %8s s %8s s %9s MB  %s\n' "$1" "$(field "$2" 1)" "$(field "$2" 2)" \
  "$(awk -v k="$(field "$2" 3)" 'BEGIN{printf "%.0f", k / 1024}')" "$3"; }
have_psd=0
if [[ -f "$PSD_SRC/scenedetect/__main__.py" ]] &&
  "$PSD_PYTHON" -c 'import cv2, numpy, click, platformdirs, tqdm' 2>/dev/null; then
  have_psd=1
  [[ "$PSD_BACKEND" == pyav ]] && ! "$PSD_PYTHON" -c 'import av' 2>/dev/null && PSD_BACKEND=opencv
fi

# bench_file FILE TARGETS: the three commands side by side on FILE; with
# TARGETS=1 the verdicts against the targets are printed.
bench_file() {
  local v=$1 targets=$2 frames size dec vid psd nscenes psd_n r s
  frames=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
    -of csv=p=0 "$v")
  size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$v")
  echo "file: $v ($size, $frames frames, $(du -h "$v" | cut -f1)); $(nproc) cores; best of $RUNS"
  best dec "$RUNS" ffmpeg -v error -threads 0 -i "$v" -f null -
  best vid "$RUNS" "$VIDAN" scenes "$v"
  nscenes=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["scenes"]))' \
    "$BENCH_DIR/last.out" 2>/dev/null || echo "?")
  printf '%-34s %10s %10s %12s\n' "command" "wall" "cpu" "peak RSS"
  row "ffmpeg decode (-f null)" "$dec" ""
  row "vidan scenes" "$vid" "$nscenes scenes"
  r=$(ratio "$(field "$vid" 1)" "$(field "$dec" 1)")
  if ((targets)); then
    echo "vidan scenes / decode = $r ($(awk -v r="$r" 'BEGIN{print (r <= 1.3 ? "meets" : "MISSES")}') the target <= 1.3)"
  else
    echo "vidan scenes / decode = $r"
  fi
  if ((have_psd)); then
    best psd "$PSD_RUNS" env PYTHONPATH="$PSD_SRC" "$PSD_PYTHON" -m scenedetect -i "$v" \
      -b "$PSD_BACKEND" detect-content list-scenes -n
    # Its scene table rows look like " |      1  |  ...".
    psd_n=$(grep -cE '^ *\| +[0-9]+ +\|' "$BENCH_DIR/last.out")
    row "PySceneDetect ($PSD_BACKEND, best of $PSD_RUNS)" "$psd" "$psd_n scenes"
    s=$(ratio "$(field "$psd" 1)" "$(field "$vid" 1)")
    echo "PySceneDetect / vidan scenes = ${s}x$( ((targets)) && awk -v r="$s" 'BEGIN{print (r >= 10 ? " (meets the target >= 10x)" : " (MISSES the target >= 10x)")}')"
    echo "PySceneDetect / decode = $(ratio "$(field "$psd" 1)" "$(field "$dec" 1)") (the most any detector that decodes every frame can gain over PySceneDetect)"
  else
    echo "PySceneDetect: not available (see bench/README.md to run it from source)"
  fi
  echo
}

bench_file "$V" 1
# Real footage, when the shared test data is there (not committed).
data=${VD_TESTDATA:-$bench_root/../shared/testdata}
for f in scenes/testvideo.mp4 scenes/issue-195-aspect-ratio.mp4; do
  [[ -f "$data/$f" ]] && bench_file "$data/$f" 0
done
