#!/usr/bin/env bash
# Speech-to-text speed, side by side in one run on the same audio:
#   1. pocketsphinx_continuous -infile V.wav   (Debian's pocketsphinx, the
#      baseline: same library, same en-us model, same settings)
#   2. vidan analyze V.wav --analyses transcript
#   3. vidan analyze V.mp4 --analyses transcript   (the same audio as AAC in
#      an MP4 with a 640x360 H.264 video track: decoding and resampling
#      included)
# V.wav has the plain 44-byte header (-bitexact: no LIST chunk), which is all
# pocketsphinx_continuous skips; any more would be decoded as samples.
# V: the 11 clips of ../shared/testdata/speech joined with 1.5 s pauses and
# repeated LOOPS times (default 4: about 3.6 minutes); without that data,
# espeak-ng reading a paragraph LOOPS times. Cached in $BENCH_DIR.
# Prints wall and CPU seconds, x real time (audio seconds / wall seconds),
# peak RSS, and how many words vidan's text shares with the baseline's.
#
# Env: VIDAN, BENCH_DIR, RUNS (see common.sh); LOOPS (default 4).
source "$(dirname "$0")/common.sh"
need pocketsphinx_continuous python3

LOOPS=${LOOPS:-4}
speech=${VD_TESTDATA:-$bench_root/../shared/testdata}/speech
V=$BENCH_DIR/transcript_x$LOOPS
if [[ ! -s "$V.mp4" ]]; then
  echo "bench: generating $V.wav and $V.mp4 (once)" >&2
  if [[ -f "$speech/refs.tsv" ]]; then
    args=()
    filt=""
    n=0
    for ((l = 0; l < LOOPS; l++)); do
      while IFS=$'\t' read -r clip _; do
        args+=(-i "$speech/$clip")
        filt+="[$n:a]aresample=16000,apad=pad_dur=1.5[a$n];"
        n=$((n + 1))
      done <"$speech/refs.tsv"
    done
    for ((i = 0; i < n; i++)); do filt+="[a$i]"; done
    ffmpeg -v error -y "${args[@]}" -filter_complex "${filt}concat=n=$n:v=0:a=1[out]" \
      -map "[out]" -ar 16000 -ac 1 -c:a pcm_s16le -bitexact "$V.wav" || exit 1
  else
    need espeak-ng
    echo "bench: no shared speech clips at $speech: espeak-ng speech instead" >&2
    text="the weather today is sunny and warm. we will go to the park in the afternoon.
my brother likes to play football with his friends. please call me when you get home.
the train leaves the station at seven in the morning and arrives before noon."
    for ((l = 0; l < LOOPS; l++)); do printf '%s\n' "$text"; done >"$BENCH_DIR/transcript.txt"
    espeak-ng -v en-us+f5 -s 140 -w "$BENCH_DIR/espeak.wav" -f "$BENCH_DIR/transcript.txt" &&
      ffmpeg -v error -y -i "$BENCH_DIR/espeak.wav" -ar 16000 -ac 1 -c:a pcm_s16le -bitexact "$V.wav" || exit 1
  fi
  d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$V.wav")
  ffmpeg -v error -y -f lavfi -i "testsrc2=s=640x360:r=25:d=$d" -i "$V.wav" \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 96k "$V.tmp.mp4" &&
    mv "$V.tmp.mp4" "$V.mp4" || exit 1
fi
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$V.wav")

echo "transcript speed on $(basename "$V").wav / .mp4: $(printf '%.1f' "$dur") s of speech, best of $RUNS"
printf '%-52s %8s %8s %10s %9s\n' "command" "wall s" "cpu s" "x realtime" "RSS MB"
row() { # label, result
  printf '%-52s %8s %8s %10s %9s\n' "$1" "$(field "$2" 1)" "$(field "$2" 2)" \
    "$(ratio "$dur" "$(field "$2" 1)")" "$(awk -v k="$(field "$2" 3)" 'BEGIN{printf "%.0f", k / 1024}')"
}
best ps "$RUNS" pocketsphinx_continuous -infile "$V.wav" -logfn /dev/null
tr '\n' ' ' <"$BENCH_DIR/last.out" >"$BENCH_DIR/transcript_ps.txt"
row "pocketsphinx_continuous -infile V.wav" "$ps"
best vw "$RUNS" "$VIDAN" analyze "$V.wav" --analyses transcript
cp "$BENCH_DIR/last.out" "$BENCH_DIR/transcript_wav.json"
row "vidan analyze V.wav --analyses transcript" "$vw"
best vm "$RUNS" "$VIDAN" analyze "$V.mp4" --analyses transcript
cp "$BENCH_DIR/last.out" "$BENCH_DIR/transcript_mp4.json"
row "vidan analyze V.mp4 --analyses transcript" "$vm"
echo "vidan.wav / pocketsphinx wall time: $(ratio "$(field "$vw" 1)" "$(field "$ps" 1)")"

python3 - "$BENCH_DIR" "$bench_root/tests/integration" <<'EOF'
import json, sys
d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from wer import edits
base = open(f"{d}/transcript_ps.txt").read().split()
for kind in ("wav", "mp4"):
    hyp = json.load(open(f"{d}/transcript_{kind}.json"))["results"]["transcript"]["text"].split()
    print(f"vidan {kind} vs pocketsphinx_continuous text: {edits(base, hyp)} word edits over "
          f"{len(base)} words")
EOF
