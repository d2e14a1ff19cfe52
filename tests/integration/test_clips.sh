#!/usr/bin/env bash
# The clips analysis on a generated video with known cuts.
#
# The video: three scenes of noisy solid colour, red 2.0 s | green 2.0 s |
# blue 2.4 s at 25 fps (frames 0-49, 50-99, 100-159), with a sine tone, in
# H.264 with keyframes every 40 frames and no scene-cut keyframes, so the
# cuts at frames 50 and 100 fall between keyframes (at 40 and 80).
#
# Checked:
# - stream copy (default): 3 clips, each an mp4 (mkv for mkv input) holding
#   video and audio; each starts at the keyframe at or before its scene (0,
#   1.6, 3.2 s) as the result says; each clip's video duration (ffprobe)
#   matches the result within 0.1 s; its frame count matches the result; the
#   clip holds every frame of its scene and none of the next one.
# - accurate: exactly 50, 50 and 60 frames, durations 2.0/2.0/2.4 s, and
#   every frame of each clip is its scene's colour (frame-exact cuts).
# - `vidan scenes --split DIR [--accurate]` writes the same clips.
# - without an output folder, clips fails with a message saying so.
set -uo pipefail

: "${VIDAN:?VIDAN must point at the vidan binary}"
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
[[ $(ffmpeg -hide_banner -encoders 2>/dev/null) == *libx264* ]] || { echo "SKIP: no libx264"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

src() { echo "color=c=$1:s=320x240:r=25:d=$2,noise=alls=12:allf=t"; }
ffmpeg -v error -f lavfi -i "$(src red 2)" -f lavfi -i "$(src green 2)" -f lavfi -i "$(src blue 2.4)" \
  -f lavfi -i "sine=f=440:d=6.4:sample_rate=48000" \
  -filter_complex "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]" -map "[v]" -map 3:a \
  -c:v libx264 -preset ultrafast -x264-params keyint=40:min-keyint=40:scenecut=0 -bf 2 \
  -c:a aac -b:a 64k video.mp4 || exit 1
ffmpeg -v error -i video.mp4 -c copy video.mkv || exit 1

run() { # run NAME CMD...: stdout to NAME.json, fail the test on a bad exit
  local name=$1
  shift
  if ! timeout -k 5 300 "$@" >"$name.json" 2>"$name.err"; then
    echo "FAIL $name: exit $? from: $*"
    cat "$name.err"
    exit 1
  fi
}

run copy "$VIDAN" analyze video.mp4 --analyses clips -o copy
run copymkv "$VIDAN" analyze video.mkv --analyses clips -o copymkv
run acc "$VIDAN" analyze video.mp4 --analyses clips --param clips.accurate=true -o acc
run split "$VIDAN" scenes video.mp4 --split split
run splitacc "$VIDAN" scenes video.mp4 --split splitacc --accurate

python3 - <<'EOF' || exit 1
import json, os, subprocess, sys

FPS = 25
SCENES = [(0, 49, 'R'), (50, 99, 'G'), (100, 159, 'B')]
KEYS = [0.0, 1.6, 3.2]  # keyframes at or before each scene start
fails = []

def check(cond, what):
    print(('ok   ' if cond else 'FAIL ') + what)
    if not cond:
        fails.append(what)

def probe(path):
    out = subprocess.run(['ffprobe', '-v', 'error', '-count_frames', '-show_entries',
                          'stream=codec_type,nb_read_frames,duration:format=format_name',
                          '-of', 'json', path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)

def colours(path):
    """Dominant channel of every frame, as a string like 'RRRGGG'."""
    raw = subprocess.run(['ffmpeg', '-v', 'error', '-i', path, '-map', '0:v:0', '-vf', 'scale=1:1',
                          '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-'],
                         capture_output=True, check=True).stdout
    return ''.join('RGB'[max(range(3), key=lambda c: raw[i + c])] for i in range(0, len(raw), 3))

def load(name):
    # `analyze` prints the whole run; `scenes --split` prints the scenes
    # result with the clips result beside it.
    doc = json.load(open(name + '.json'))
    return doc['results']['clips'] if 'results' in doc else doc['clips']

def clips_of(name, outdir, ext, accurate):
    res = load(name)
    check(res['accurate'] is accurate, f'{name}: accurate is {accurate}')
    clips = res['clips']
    check(len(clips) == 3, f'{name}: 3 clips (got {len(clips)})')
    for i, c in enumerate(clips[:3]):
        path = os.path.join(outdir, c['file'])
        check(c['file'] == f'clip-{i + 1:03d}.{ext}', f'{name}: clip {i + 1} is named {c["file"]}')
        check(os.path.isfile(path), f'{name}: {path} exists')
        if not os.path.isfile(path):
            continue
        p = probe(path)
        types = [s['codec_type'] for s in p['streams']]
        check(types.count('video') == 1 and types.count('audio') == 1,
              f'{name}: clip {i + 1} has video and audio ({types})')
        v = next(s for s in p['streams'] if s['codec_type'] == 'video')
        frames = int(v['nb_read_frames'])
        vdur = float(v.get('duration') or 0) or frames / FPS
        want = c['end_time'] - c['start_time']
        check(abs(vdur - want) <= 0.1,
              f'{name}: clip {i + 1} video lasts {vdur:.3f} s, result says {want:.3f} s')
        check(frames == c['frames'], f'{name}: clip {i + 1} has {frames} frames, result says {c["frames"]}')
        yield i, c, path, frames, vdur

# Stream copy: starts on the keyframe before the scene, ends with the scene.
for name, outdir, ext in (('copy', 'copy', 'mp4'), ('copymkv', 'copymkv', 'mkv'), ('split', 'split', 'mp4')):
    for i, c, path, frames, vdur in clips_of(name, outdir, ext, False):
        f0, f1, col = SCENES[i]
        check(abs(c['start_time'] - KEYS[i]) < 0.05,
              f'{name}: clip {i + 1} starts at {c["start_time"]} s, the keyframe at {KEYS[i]} s')
        check(abs(c['preroll'] - (f0 / FPS - KEYS[i])) < 0.05,
              f'{name}: clip {i + 1} pre-roll {c["preroll"]} s')
        cols = colours(path)
        pre = round((f0 / FPS - KEYS[i]) * FPS)
        check(cols[pre:] == col * (f1 - f0 + 1),
              f'{name}: clip {i + 1} holds all {f1 - f0 + 1} {col} frames after a {pre}-frame pre-roll, '
              f'and nothing of the next scene ({cols})')

# Accurate: exactly the scene's frames.
for name, outdir in (('acc', 'acc'), ('splitacc', 'splitacc')):
    for i, c, path, frames, vdur in clips_of(name, outdir, 'mp4', True):
        f0, f1, col = SCENES[i]
        check(frames == f1 - f0 + 1, f'{name}: clip {i + 1} has exactly {f1 - f0 + 1} frames ({frames})')
        check(abs(vdur - (f1 - f0 + 1) / FPS) < 0.05, f'{name}: clip {i + 1} lasts {vdur:.3f} s')
        cols = colours(path)
        check(cols == col * (f1 - f0 + 1), f'{name}: every frame of clip {i + 1} is {col} ({cols})')

if fails:
    print(f'{len(fails)} clips check(s) failed')
    sys.exit(1)
EOF

# Without an output folder there is nowhere to write clips: a clear error.
if "$VIDAN" analyze video.mp4 --analyses clips >noout.json 2>noout.err; then
  echo "FAIL clips without an output folder exited 0"
  exit 1
fi
grep -qi 'output folder' noout.err || { echo "FAIL no-output-folder message: $(cat noout.err)"; exit 1; }
echo "ok   clips without an output folder: $(head -n1 noout.err)"
echo "all clips checks passed"
