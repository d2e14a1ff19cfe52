#!/usr/bin/env bash
# The audio analysis end to end through `vidan analyze`, on generated media:
# - a video with stereo AAC audio whose level steps every few seconds:
#   integrated loudness, loudness range and true peak agree with FFmpeg's
#   own EBU R128 meter (`-af ebur128=peak=true`) within 0.5 LU / 1 LU /
#   0.5 dB; the timeline has one point per second in every series;
# - a 5.1 audio-only file (surround channels weigh +1.5 dB, LFE nothing):
#   the same agreement with FFmpeg;
# - a 120 BPM click track: tempo 120 +-2; a 1 kHz tone: centroid ~1 kHz,
#   zero-crossing rate 2000/22050, tempo 0;
# - a video without audio: alone, exit 3 (bad input) and a message naming
#   the missing stream; beside probe, exit 0 and a warning;
# - a bad bucket: exit 2 and a message naming the parameter;
# - speed: the analysis runs well faster than real time (bench/audio.sh
#   measures it).
set -uo pipefail

: "${VIDAN:?VIDAN must point at the vidan binary}"
command -v ffmpeg >/dev/null || { echo "SKIP: ffmpeg not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
grep -q '"name": "audio"' <<<"$("$VIDAN" analyses 2>/dev/null)" ||
  { echo "SKIP: the audio analysis is not in the registry"; exit 77; }
tmp=$(mktemp -d)
ffmpeg -nostdin -v error -y -f lavfi -i "sine=d=0.5" "$tmp/probe.wav" &&
  "$VIDAN" analyze "$tmp/probe.wav" --analyses audio 2>&1 >/dev/null | grep -q "lacks libebur128" &&
  { echo "SKIP: vidan was built without libebur128"; rm -rf "$tmp"; exit 77; }
trap 'rm -rf "$tmp"' EXIT
fails=0
ff() { ffmpeg -nostdin -v error -y "$@" || { echo "FAIL: ffmpeg $*"; exit 1; }; }

# level steps of 6 dB every 4 s over a chord with a little noise, 24 s
ff -f lavfi -i "testsrc=s=160x120:r=10:d=24" -f lavfi -i \
  "aevalsrc='(0.2*sin(2*PI*220*t)+0.1*sin(2*PI*1330*t)+0.02*(random(0)*2-1))*pow(2,-mod(floor(t/4),3))|(0.2*sin(2*PI*330*t)+0.1*sin(2*PI*2500*t))*pow(2,-mod(floor(t/4),3))':s=48000:d=24" \
  -c:v libx264 -preset ultrafast -c:a aac -b:a 160k -shortest "$tmp/steps.mp4"
ff -f lavfi -i \
  "aevalsrc='0.2*sin(2*PI*440*t)|0.2*sin(2*PI*550*t)|0.2*sin(2*PI*660*t)|0.3*sin(2*PI*50*t)|0.1*sin(2*PI*880*t)|0.1*sin(2*PI*990*t):s=48000:d=12:c=5.1'" \
  -c:a pcm_s16le "$tmp/surround.wav"
ff -f lavfi -i \
  "aevalsrc='if(lt(mod(t\,0.5)\,0.02)\,0.8*sin(2*PI*2000*t)*exp(-mod(t\,0.5)*200)\,0)+0.005*(random(0)*2-1)':s=44100:d=20" \
  "$tmp/clicks.wav"
ff -f lavfi -i "sine=frequency=1000:sample_rate=44100:d=8" "$tmp/tone.m4a"
ff -f lavfi -i "testsrc=s=160x120:r=10:d=2" -c:v libx264 -preset ultrafast "$tmp/mute.mp4"

an() { timeout 60 "$VIDAN" analyze "$@"; }
ref() { ffmpeg -nostdin -hide_banner -i "$1" -map 0:a:0 -af ebur128=peak=true -f null - 2>&1 |
  sed -n '/Summary:/,$p' >"$2"; }
for f in steps.mp4 surround.wav clicks.wav tone.m4a; do
  an "$tmp/$f" --analyses audio >"$tmp/$f.json" || { echo "FAIL: audio run on $f"; fails=1; }
  ref "$tmp/$f" "$tmp/$f.ref"
done

# scenes is an optional dependency: asked for too, it finishes first and
# audio adds one segment per scene; audio alone does not pull it in.
an "$tmp/steps.mp4" --analyses audio,scenes >"$tmp/steps-scenes.json" || { echo "FAIL: audio,scenes run"; fails=1; }
# ... also when scenes comes in later, as another analysis's dependency
an "$tmp/steps.mp4" --analyses audio,storylines >"$tmp/steps-story.json" || { echo "FAIL: audio,storylines run"; fails=1; }

an "$tmp/mute.mp4" --analyses audio >/dev/null 2>"$tmp/mute.err"
rc=$?
if [[ $rc -ne 3 ]] || ! grep -q "audio stream" "$tmp/mute.err"; then
  echo "FAIL: audio alone on a file without audio: exit $rc, $(cat "$tmp/mute.err")"; fails=1
else
  echo "ok   no audio stream: exit 3, $(tail -1 "$tmp/mute.err")"
fi
an "$tmp/mute.mp4" --analyses probe,audio >"$tmp/mute.json" 2>/dev/null
rc=$?
if [[ $rc -ne 0 ]] || ! grep -q "audio: skipped" "$tmp/mute.json"; then
  echo "FAIL: probe,audio on a file without audio: exit $rc"; fails=1
else
  echo "ok   no audio stream beside probe: skipped with a warning"
fi
an "$tmp/tone.m4a" --analyses audio --param audio.bucket=0 >/dev/null 2>"$tmp/bad.err"
rc=$?
if [[ $rc -ne 2 ]] || ! grep -q "bucket" "$tmp/bad.err"; then
  echo "FAIL: bucket=0: exit $rc, $(cat "$tmp/bad.err")"; fails=1
else
  echo "ok   bucket=0 refused: exit 2"
fi

python3 - "$tmp" <<'EOF' || fails=1
import json, re, sys
d = sys.argv[1]
fails = 0
def check(ok, what, got=""):
    global fails
    print(("ok   " if ok else "FAIL ") + what + (f" (got {got})" if got != "" else ""))
    fails += not ok
def res(f):
    return json.load(open(f"{d}/{f}.json"))
def ref(f):
    t = open(f"{d}/{f}.ref").read()
    get = lambda k: float(re.search(k + r":\s+(-?[\d.]+)", t).group(1))
    return get("I"), get("LRA"), get("Peak")

for f in ("steps.mp4", "surround.wav"):
    r = res(f)
    a = r["results"]["audio"]
    i, lra, peak = ref(f)
    l = a["loudness"]
    check(abs(l["integrated_lufs"] - i) <= 0.5, f"{f}: integrated {l['integrated_lufs']} LUFS vs ffmpeg {i}")
    check(abs(l["range_lu"] - lra) <= 1.0, f"{f}: range {l['range_lu']} LU vs ffmpeg {lra}")
    check(abs(l["true_peak_dbtp"] - peak) <= 0.5, f"{f}: true peak {l['true_peak_dbtp']} dBTP vs ffmpeg {peak}")
    tl = a["timeline"]
    n = len(tl["times"])
    check(n == int(-(-a["duration"] // 1)) and all(len(v) == n for v in tl["series"].values()),
          f"{f}: timeline of {n} points in every series", n)
    # 20x real time or better on a quiet machine; /3 leaves room for
    # sanitizer builds and busy CI cores
    check(r["timings"]["audio"] < a["duration"] / 3,
          f"{f}: analysis time {r['timings']['audio']:.2f} s for {a['duration']} s of audio")

r = res("steps.mp4")["results"]
check(list(r) == ["audio"] and "segments" not in r["audio"], "audio alone: no scenes, no segments", list(r))
r = json.load(open(f"{d}/steps-scenes.json"))["results"]
n = len(r["scenes"]["scenes"])
check(n >= 1 and len(r["audio"].get("segments") or []) == n,
      f"audio,scenes: one audio segment per scene ({n})", len(r["audio"].get("segments") or []))
r = json.load(open(f"{d}/steps-story.json"))["results"]
check(list(r)[:2] == ["scenes", "audio"] and len(r["audio"].get("segments") or []) == len(r["scenes"]["scenes"]),
      "audio,storylines: scenes (storylines' dependency) finishes before audio, which gets its segments", list(r))
a = res("steps.mp4")["results"]["audio"]
check(a["loudness"]["range_lu"] > 3, "steps.mp4: level steps give a loudness range", a["loudness"]["range_lu"])

a = res("clicks.wav")["results"]["audio"]
check(abs(a["tempo"] - 120) <= 2, "clicks.wav: tempo 120 BPM", a["tempo"])

a = res("tone.m4a")["results"]["audio"]
check(abs(a["spectral_centroid_mean"] - 1000) < 50, "tone.m4a: centroid ~1000 Hz", a["spectral_centroid_mean"])
check(abs(a["zero_crossing_rate"] - 2000 / 22050) < 0.003, "tone.m4a: zcr 2000/22050", a["zero_crossing_rate"])
check(abs(a["rms_energy"] - 0.125 / 2 ** 0.5) < 0.005, "tone.m4a: rms of lavfi sine (amplitude 1/8)", a["rms_energy"])
check(a["tempo"] == 0, "tone.m4a: no tempo", a["tempo"])
for k in ("rms_energy", "spectral_centroid_mean", "zero_crossing_rate", "tempo"):
    check(isinstance(a[k], (int, float)), f"compat B field {k} is a number")
sys.exit(1 if fails else 0)
EOF
exit $fails
