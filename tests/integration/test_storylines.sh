#!/usr/bin/env bash
# The storylines analysis on generated videos with known looks.
#
# The main video: six 2 s shots with hard cuts, alternating between two
# looks: testsrc2 (colour bars, moving) and a red-tinted mandelbrot zoom,
# each shot a different stretch of its source (0-2, 2-4, 4-6 s), so the
# shots of one look are alike but not identical.
#
# Checked:
# - num_storylines=2 groups scenes {1,3,5} and {2,4,6}: non-adjacent scenes
#   of one look together (the cross-cutting case equal runs get wrong);
#   duration = sum of the scenes (6 s each), start/end = first start, last
#   end; names and descriptions listing the scenes and their colour.
# - num_storylines=0 (automatic, threshold rule) finds the same 2.
# - num_storylines=1 gives one storyline of all six scenes.
# - num_storylines=10 is capped at the 6 scenes, one scene each.
# - a one-shot video gives one storyline, whatever is asked.
# - an out-of-range num_storylines is refused with a clear message.
set -uo pipefail

: "${VIDAN:?VIDAN must point at the vidan binary}"
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
[[ $(ffmpeg -hide_banner -encoders 2>/dev/null) == *libx264* ]] || { echo "SKIP: no libx264"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

cut() { echo "[$1]trim=$2:$3,setpts=PTS-STARTPTS[$4]"; }
ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=160x120:rate=10:duration=6" \
  -f lavfi -i "mandelbrot=size=160x120:rate=10,trim=duration=6,colorchannelmixer=rr=1:rg=0.5:gg=0.3:bb=0.2" \
  -filter_complex "[0:v]split=3[a1][a2][a3];[1:v]split=3[b1][b2][b3];$(cut a1 0 2 x1);$(cut a2 2 4 x3);$(cut a3 4 6 x5);$(cut b1 0 2 x2);$(cut b2 2 4 x4);$(cut b3 4 6 x6);[x1][x2][x3][x4][x5][x6]concat=n=6:v=1[v]" \
  -map "[v]" -c:v libx264 -pix_fmt yuv420p six.mp4 || fail "ffmpeg six.mp4"
ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=160x120:rate=10:duration=3" \
  -c:v libx264 -pix_fmt yuv420p one.mp4 || fail "ffmpeg one.mp4"

# run FILE N CHECK: analyze with num_storylines=N; CHECK is Python on r (the
# storylines result) and sc (the scene list).
run() {
  "$VIDAN" analyze "$1" -a storylines --param "storylines.num_storylines=$2" >out.json 2>err.txt ||
    fail "$1 n=$2: exit $?: $(cat err.txt)"
  python3 - out.json "$3" <<'PYEOF' || fail "$1 n=$2: $(head -c 1500 out.json)"
import json, sys
res = json.load(open(sys.argv[1]))["results"]
r, sc = res["storylines"], res["scenes"]["scenes"]
exec(sys.argv[2])
PYEOF
  echo "ok: $1 num_storylines=$2"
}

run six.mp4 2 '
assert len(sc) == 6, len(sc)
assert r["count"] == 2 and [s["scenes"] for s in r["storylines"]] == [[1, 3, 5], [2, 4, 6]], r
for k, s in enumerate(r["storylines"]):
    m = [sc[i - 1] for i in s["scenes"]]
    assert s["id"] == k + 1 and s["name"] == "Storyline %d" % (k + 1)
    assert abs(s["duration"] - sum(x["duration"] for x in m)) < 1e-3 and abs(s["duration"] - 6) < 0.11
    assert s["start_time"] == m[0]["start_time"] and s["end_time"] == m[-1]["end_time"]
    assert s["description"].startswith("Scenes %d, %d, %d: mostly " % tuple(s["scenes"])), s
    assert s["people"] == [] and s["words"] == []   # nothing ran that could say otherwise
assert "red" in r["storylines"][1]["colour"], r["storylines"][1]
assert r["features"] == {"colour": True, "people": False, "words": False, "audio": False}
'
run six.mp4 0 'assert [s["scenes"] for s in r["storylines"]] == [[1, 3, 5], [2, 4, 6]], r'
run six.mp4 1 'assert r["count"] == 1 and r["storylines"][0]["scenes"] == [1, 2, 3, 4, 5, 6], r'
run six.mp4 10 'assert r["count"] == 6 and [s["scenes"] for s in r["storylines"]] == [[i] for i in range(1, 7)], r'
for n in 0 1 3; do
  run one.mp4 "$n" '
assert len(sc) == 1 and r["count"] == 1 and r["storylines"][0]["scenes"] == [1], r
assert r["storylines"][0]["description"].startswith("Scene 1: mostly ")'
done

"$VIDAN" analyze six.mp4 -a storylines --param storylines.num_storylines=101 >out.json 2>err.txt &&
  fail "num_storylines=101 accepted"
grep -q num_storylines err.txt || fail "no clear message for num_storylines=101: $(cat err.txt)"
echo "ok: num_storylines=101 refused"
echo PASS
