#!/usr/bin/env bash
# Camera flashes must not cut a shot, and a real cut right next to one must.
#
# One continuous testsrc2 shot (25 fps) with white flashes at frame 40 (one
# frame) and 60-61 (two frames), a brightness burst at 80 (eq filter, like a
# camera flash lighting the scene), a white flash at 97, then a hard cut to
# SMPTE bars at frame 100, three frames after that last flash.
# - default (flash_filter on): the only cut is 100; the four flashes are
#   reported with their first frame and length;
# - flash_filter=false: PySceneDetect's behaviour, the flash at 40 cuts;
# - the adaptive detector gets the same filter.
set -uo pipefail

. "$(dirname "$0")/scenes_common.sh"

ffmpeg -nostdin -v error -f lavfi -i "testsrc2=s=640x360:r=25:d=4" \
  -f lavfi -i "smptebars=s=640x360:r=25:d=2" -filter_complex \
  "[0]drawbox=c=white:t=fill:enable='eq(n,40)+between(n,60,61)+eq(n,97)',eq=brightness=0.5:enable='eq(n,80)'[a];[a][1]concat=n=2:v=1:a=0" \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$tmp/flash.mp4" || exit 1

run() { # detector flash_filter -> JSON result of scenes
  timeout 60 "$VIDAN" analyze "$tmp/flash.mp4" --analyses scenes \
    --param scenes.detector="$1" --param scenes.flash_filter="$2" >"$tmp/$1-$2.json" ||
    { echo "FAIL: vidan analyze ($1, flash_filter=$2) exited $?"; exit 1; }
}
run content true
run content false
run adaptive true

python3 - "$tmp" <<'EOF'
import json, sys
d = sys.argv[1]
def res(name):
    return json.load(open(f"{d}/{name}.json"))["results"]["scenes"]
fails = 0
def check(ok, what, got):
    global fails
    print(("ok   " if ok else "FAIL ") + what + f" (got {got})")
    fails += not ok

for name in ("content-true", "adaptive-true"):
    r = res(name)
    cuts = [c["frame"] for c in r["cuts"]]
    fl = [(f["frame"], f["frames"], f["kind"]) for f in r["flashes"]]
    check(cuts == [100], f"{name}: the only cut is the real one at frame 100", cuts)
    check(fl == [(40, 1, "flash"), (60, 2, "flash"), (80, 1, "flash"), (97, 1, "flash")],
          f"{name}: the four flashes are reported", fl)
    check(len(r["scenes"]) == 2 and r["scenes"][1]["start_frame"] == 100,
          f"{name}: two scenes, the second from frame 100", [(s["start_frame"], s["end_frame"]) for s in r["scenes"]])

r = res("content-false")
cuts = [c["frame"] for c in r["cuts"]]
check(40 in cuts and 100 in cuts and not r["flashes"] and r["flash_filter"] is False,
      "flash_filter=false: the flash at 40 cuts, as in PySceneDetect", cuts)
sys.exit(1 if fails else 0)
EOF
