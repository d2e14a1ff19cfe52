#!/usr/bin/env bash
# Near-duplicate detection end to end through `vidan dup --json`, on media
# generated here (and on ../shared/testdata when it is there):
# - a 10 s base clip (a Mandelbrot zoom over a stepping two-voice melody),
#   then derived copies, each checked against everything before it:
#   re-encoded small at a low bitrate, cropped 10%, letterboxed, pillarboxed,
#   mirrored, a 5 s fragment from the middle, a logo and text overlay,
#   brightness/contrast/saturation changed, 5% faster (picture and sound),
#   and the picture without sound (which, lacking sound, also duplicates the
#   same-picture hard case): each must be a duplicate of the family;
# - hard cases: the same picture with another melody (same_picture), another
#   picture (Game of Life) with the base's sound (same_sound): neither is a
#   duplicate, and each names its hard case;
# - unrelated clips (testsrc2 with a third melody, a cellular automaton with
#   pink noise, two test patterns over digital silence): no match at all;
# - every match's similarities are printed, so the margins are visible;
# - Tears of Steel from testdata: a cropped, mirrored, brightened copy and a
#   fragment are duplicates; another film is not;
# - bad input: a missing file and a text file exit 3 naming the file, no
#   file exits 2.
set -uo pipefail

: "${VIDAN:?VIDAN must point at the vidan binary}"
command -v ffmpeg >/dev/null || { echo "SKIP: ffmpeg not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
"$VIDAN" dup --help >/dev/null 2>&1 || { echo "SKIP: this vidan has no dup command"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ff() { ffmpeg -nostdin -v error -y "$@" || { echo "FAIL: ffmpeg $*"; exit 1; }; }
mel() { # a melody: note steps 3 and 2 per second, pattern by $1
  echo "aevalsrc=exprs='0.3*sin(2*PI*t*220*pow(2,mod(floor(t*3)*$1,12)/12))+0.2*sin(2*PI*t*330*pow(2,mod(floor(t*2)*($1+2),7)/12))*lt(mod(t*3,1),0.7)':s=22050:d=10"
}
V=(-c:v libx264 -preset ultrafast -crf 23 -pix_fmt yuv420p)
A=(-c:a aac -b:a 64k)
cd "$tmp" || exit 1
ff -f lavfi -i "mandelbrot=s=320x180:r=25,trim=duration=10" -f lavfi -i "$(mel 5)" "${V[@]}" "${A[@]}" -shortest base.mp4
ff -i base.mp4 -vf scale=192:108 -c:v libx264 -preset ultrafast -b:v 80k -c:a aac -b:a 32k reenc.mp4
ff -i base.mp4 -vf "crop=iw*0.9:ih*0.9" "${V[@]}" -c:a copy crop.mp4
ff -i base.mp4 -vf "scale=240:134,pad=320:180:(ow-iw)/2:(oh-ih)/2" "${V[@]}" -c:a copy letterbox.mp4
ff -i base.mp4 -vf "scale=-2:180,pad=426:180:(ow-iw)/2:0" "${V[@]}" -c:a copy pillarbox.mp4
ff -i base.mp4 -vf hflip "${V[@]}" -c:a copy mirror.mp4
ff -ss 3 -t 5 -i base.mp4 "${V[@]}" "${A[@]}" fragment.mp4
ff -i base.mp4 -vf "drawbox=x=8:y=8:w=60:h=30:color=red@0.8:t=fill,drawtext=text='COPY':x=220:y=150:fontsize=20:fontcolor=white" "${V[@]}" -c:a copy logo.mp4
ff -i base.mp4 -vf "eq=brightness=0.15:contrast=1.3:saturation=0.5" "${V[@]}" -c:a copy colour.mp4
ff -i base.mp4 -filter_complex "[0:v]setpts=PTS/1.05[v];[0:a]atempo=1.05[a]" -map "[v]" -map "[a]" "${V[@]}" "${A[@]}" speed.mp4
ff -i base.mp4 -an "${V[@]}" silent.mp4
ff -i base.mp4 -f lavfi -i "$(mel 7)" -map 0:v -map 1:a "${V[@]}" "${A[@]}" -shortest samepicture.mp4
ff -f lavfi -i "life=s=320x180:r=25:mold=10:ratio=0.3:seed=3,trim=duration=10" -i base.mp4 -map 0:v -map 1:a "${V[@]}" -c:a copy samesound.mp4
ff -f lavfi -i "testsrc2=s=320x180:r=25:d=10" -f lavfi -i "$(mel 3)" "${V[@]}" "${A[@]}" -shortest other1.mp4
ff -f lavfi -i "cellauto=s=320x180:r=25:rule=110,trim=duration=10" -f lavfi -i "anoisesrc=d=10:c=pink:a=0.3" "${V[@]}" "${A[@]}" -shortest other2.mp4
# two unrelated pictures over digital silence: Chromaprint's words for
# silence agree with each other, so unmarked they would be "same sound"
ff -f lavfi -i "rgbtestsrc=s=320x180:r=25:d=10" -f lavfi -i "anullsrc=r=22050:cl=mono" "${V[@]}" "${A[@]}" -t 10 quiet1.mp4
ff -f lavfi -i "smptehdbars=s=320x180:r=25:d=10" -f lavfi -i "anullsrc=r=22050:cl=mono" "${V[@]}" "${A[@]}" -t 10 quiet2.mp4

# the copy without sound comes after the hard cases: without sound it
# cannot tell the base's talk from the other one, and is a duplicate of both
family="base reenc crop letterbox pillarbox mirror fragment logo colour speed silent"
files=()
for f in base reenc crop letterbox pillarbox mirror fragment logo colour speed samepicture \
  samesound silent other1 other2 quiet1 quiet2; do files+=("$f.mp4"); done
t0=$(date +%s.%N)
"$VIDAN" dup --json "${files[@]}" >out.json 2>err.txt
rc=$?
t1=$(date +%s.%N)
[[ $rc -eq 0 ]] || { echo "FAIL: vidan dup exit $rc"; cat err.txt; exit 1; }
echo "fingerprinted and checked ${#files[@]} clips in $(python3 -c "print(round($t1-$t0,1))") s"

python3 - "$family" out.json <<'PY' || fails=$((fails + 1))
import json, sys
family = {f + ".mp4" for f in sys.argv[1].split()}
res = {r["file"]: r for r in json.load(open(sys.argv[2]))["files"]}
bad = 0
def fail(msg):
    global bad
    bad += 1
    print("FAIL:", msg)
for name, r in res.items():
    for m in r["matches"]:
        print(f"  {name:16} ~ {m['id']:16} {m['verdict']:12} picture {m['picture']!s:6} "
              f"sound {m['sound']!s:6} offset {m['offset']:6} coverage {m['coverage']}")
for name in sorted(family - {"base.mp4"}):
    r = res[name]
    ok_for = family | ({"samepicture.mp4"} if name == "silent.mp4" else set())
    if not r["is_duplicate"] or r["duplicate_for"] not in ok_for:
        fail(f"{name}: not a duplicate of the family: {r}")
    if r["hard_cases"]:
        fail(f"{name}: hard cases among its own family: {r['hard_cases']}")
if res["base.mp4"]["matches"] or res["base.mp4"]["compared_with"] != 0:
    fail("the first file matched something")
frag = [m for m in res["fragment.mp4"]["matches"] if m["id"] == "base.mp4"]
if not frag or not (2.6 <= frag[0]["offset"] <= 3.4) or frag[0]["coverage"] < 0.8:
    fail(f"fragment from 3 s: offset/coverage against base wrong: {frag}")
for name, kind in (("samepicture.mp4", "same_picture"), ("samesound.mp4", "same_sound")):
    r = res[name]
    kinds = {h["verdict"] for h in r["hard_cases"]}
    if r["is_duplicate"] or kinds != {kind}:
        fail(f"{name}: want hard case {kind} and no duplicate, got {r}")
for name in ("other1.mp4", "other2.mp4", "quiet1.mp4", "quiet2.mp4"):
    if res[name]["matches"]:
        fail(f"{name}: unrelated, but matched {res[name]['matches']}")
if res["quiet2.mp4"]["compared_with"] != len(res) - 1:
    fail("compared_with does not count every earlier file")
print("verdicts:", {n: ("duplicate" if r["is_duplicate"] else
                       ",".join(h["verdict"] for h in r["hard_cases"]) or "none")
                    for n, r in res.items()})
sys.exit(1 if bad else 0)
PY

# the table form names the verdicts too
"$VIDAN" dup base.mp4 mirror.mp4 other1.mp4 >table.txt 2>/dev/null
grep -q "^mirror.mp4 .*duplicate .*base.mp4" table.txt || { echo "FAIL: table"; cat table.txt; fails=$((fails + 1)); }
grep -q "^other1.mp4 .*none" table.txt || { echo "FAIL: table (unrelated)"; cat table.txt; fails=$((fails + 1)); }

# bad input
echo "not a video" >notes.txt
"$VIDAN" dup base.mp4 notes.txt missing.mp4 >bad.json 2>bad.txt
rc=$?
[[ $rc -eq 3 ]] || { echo "FAIL: bad files: exit $rc, want 3"; fails=$((fails + 1)); }
grep -q "notes.txt" bad.txt && grep -q "missing.mp4" bad.txt ||
  { echo "FAIL: bad files not named"; cat bad.txt; fails=$((fails + 1)); }
"$VIDAN" dup >/dev/null 2>&1
[[ $? -eq 2 ]] || { echo "FAIL: no files: want exit 2"; fails=$((fails + 1)); }

# real footage, when the shared test data is there
td=${VD_TESTDATA:-}
if [[ -n "$td" && -f "$td/scenes/tos_clip01_640x360.mp4" && -f "$td/scenes/testvideo.mp4" ]]; then
  tos=$td/scenes/tos_clip01_640x360.mp4
  ff -i "$tos" -vf "crop=iw*0.9:ih*0.9,hflip,eq=brightness=0.1" "${V[@]}" tos_edit.mp4
  ff -ss 3 -t 5 -i "$tos" "${V[@]}" tos_fragment.mp4
  "$VIDAN" dup --json "$tos" tos_edit.mp4 tos_fragment.mp4 "$td/scenes/testvideo.mp4" >real.json 2>/dev/null ||
    { echo "FAIL: vidan dup on testdata"; fails=$((fails + 1)); }
  python3 - real.json <<'PY' || fails=$((fails + 1))
import json, sys
r = json.load(open(sys.argv[1]))["files"]
for x in r:
    for m in x["matches"]:
        print(f"  {x['file'].split('/')[-1]:22} ~ {m['id'].split('/')[-1]:22} {m['verdict']} "
              f"picture {m['picture']} offset {m['offset']} coverage {m['coverage']}")
ok = r[1]["is_duplicate"] and r[2]["is_duplicate"] and not r[3]["matches"]
print("testdata:", "ok" if ok else "FAIL", [(x["file"].split("/")[-1], x["is_duplicate"]) for x in r])
sys.exit(0 if ok else 1)
PY
else
  echo "note: ../shared/testdata absent: the real-footage part is skipped"
fi

if ((fails)); then
  echo "test_dup: $fails failure(s)"
  exit 1
fi
echo "test_dup: ok"
