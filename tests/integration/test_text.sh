#!/usr/bin/env bash
# The text analysis (on-screen text, Tesseract OCR) end to end through
# `vidan analyze`, on video drawn with ffmpeg's drawtext:
# - captions on a moving background: "HELLO WORLD" 1-3 s (white on a dark
#   box, bottom centre) and "Second caption 42" 4-6 s (white with an
#   outline, top left) come back as two segments with that text, time
#   ranges within one sample (1 s) of the truth, and boxes where drawtext
#   put them; with -o, also as text.srt (two cues);
# - a still slide of three lines, then the same slide with its last line
#   changed: both read line for line, and the frames that did not change
#   reuse the reading (2 OCR runs for 8 samples);
# - a moving, textured picture without text (mandelbrot) gives no segments;
# - a `lang` that is not installed, or is no language name, fails with a
#   clear message and a non-zero exit.
# Env (from CTest): VIDAN. Exit 77 = skipped.
set -uo pipefail

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vidan-text.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
font=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
filters=$(ffmpeg -hide_banner -filters 2>/dev/null)
if ! grep -q ' drawtext ' <<<"$filters"; then
  echo "SKIP: this ffmpeg has no drawtext filter"; exit 77
fi
[[ -r $font ]] || { echo "SKIP: $font missing (fonts-dejavu-core)"; exit 77; }
ff() { ffmpeg -nostdin -v error -y "$@" || { echo "FAIL: ffmpeg $*"; exit 1; }; }

# Built without Tesseract: the analysis must say so; nothing else to test.
ff -f lavfi -i "color=white:s=160x90:r=5:d=1" -c:v libx264 -preset ultrafast -pix_fmt yuv420p \
  "$tmp/tiny.mp4"
if ! "$VIDAN" analyze "$tmp/tiny.mp4" --analyses text >"$tmp/tiny.json" 2>"$tmp/tiny.err"; then
  if grep -q 'without Tesseract' "$tmp/tiny.err"; then
    grep -q 'libtesseract-dev' "$tmp/tiny.err" || { echo "FAIL: no package named"; exit 1; }
    echo "SKIP: vidan built without Tesseract: $(cat "$tmp/tiny.err")"; exit 77
  fi
  echo "FAIL: text on a blank video:"; cat "$tmp/tiny.err"; exit 1
fi

dt="drawtext=fontfile=$font"
# A moving colour field (geq: deterministic, unlike `gradients`, whose
# geometry is random on every run), mid-dark, so white text stands out.
bg="nullsrc=s=640x360:r=25,geq=r='128+100*sin((X+T*40)/60)':g='60+40*sin(Y/50+T)':b='160+60*cos((X+Y)/90-T)'"
ff -f lavfi -i "$bg" -t 6 -vf \
  "format=yuv420p,$dt:text='HELLO WORLD':fontsize=40:fontcolor=white:box=1:boxcolor=black@0.8:boxborderw=8:x=(w-tw)/2:y=h-th-40:enable='between(t,1,3)',$dt:text='Second caption 42':fontsize=32:fontcolor=white:borderw=3:bordercolor=black:x=40:y=40:enable='between(t,4,6)'" \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$tmp/caps.mp4"
printf 'Quarterly results\nRevenue up 12 percent\nQuestions welcome\n' >"$tmp/slide1.txt"
printf 'Quarterly results\nRevenue up 12 percent\nThank you all\n' >"$tmp/slide2.txt"
ff -f lavfi -i "color=0xf0f0f0:s=1280x720:r=25:d=8" -vf \
  "$dt:textfile=$tmp/slide1.txt:fontsize=48:line_spacing=24:fontcolor=0x202020:x=120:y=160:enable='lt(t,4)',$dt:textfile=$tmp/slide2.txt:fontsize=48:line_spacing=24:fontcolor=0x202020:x=120:y=160:enable='gte(t,4)'" \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$tmp/slide.mp4"
ff -f lavfi -i "mandelbrot=s=640x360:r=25" -t 6 -c:v libx264 -preset ultrafast -pix_fmt yuv420p \
  "$tmp/notext.mp4"

fails=0
# captions also as text.srt, with an output folder
timeout 60 "$VIDAN" analyze "$tmp/caps.mp4" --analyses text --param text.max_ocr_seconds=5 \
  -o "$tmp/out" >"$tmp/caps_o.json" 2>"$tmp/caps_o.err" ||
  { echo "FAIL: vidan analyze -o exited $?"; cat "$tmp/caps_o.err"; exit 1; }
grep -q 'text.srt' "$tmp/caps_o.json" || { echo "FAIL: text.srt not in the artifacts"; exit 1; }
if [[ $(grep -c -- '-->' "$tmp/out/text.srt") != 2 ]] || ! grep -q '^HELLO WORLD' "$tmp/out/text.srt" ||
  ! grep -q '^00:00:0[0-2],[0-9]* --> 00:00:0[3-5],' "$tmp/out/text.srt"; then
  echo "FAIL: text.srt:"; cat "$tmp/out/text.srt"; exit 1
fi
echo "ok: text.srt: $(tr '\n' ' ' <"$tmp/out/text.srt")"
for v in caps slide notext; do
  start=$(date +%s%N)
  # a generous OCR deadline: a loaded machine (sanitizers, parallel tests) must
  # not cut a caption frame short
  timeout 60 "$VIDAN" analyze "$tmp/$v.mp4" --analyses text --param text.max_ocr_seconds=5 \
    >"$tmp/$v.json" 2>"$tmp/$v.err" ||
    { echo "FAIL: vidan analyze $v.mp4 exited $?"; cat "$tmp/$v.err"; fails=1; continue; }
  echo "$v: $((($(date +%s%N) - start) / 1000000)) ms wall"
done
((fails)) && exit 1

python3 - "$tmp" <<'EOF' || exit 1
import json, sys

tmp = sys.argv[1]

def lev(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]

def near(got, want, tol=1):
    return lev(got, want) <= tol

def load(name):
    r = json.load(open(f"{tmp}/{name}.json"))["results"]["text"]
    for k in ("lang", "fps", "segments", "words", "sampled_frames", "ocr_frames"):
        assert k in r, f"{name}: no {k}"
    print(f"{name}: sampled {r['sampled_frames']}, OCR {r['ocr_frames']}, "
          f"{r['ocr_seconds']} s OCR, segments", [(s["start"], s["end"], s["text"]) for s in r["segments"]])
    return r

# captions on a moving background
r = load("caps")
assert r["lang"] == "eng" and r["fps"] == 1, r
segs = r["segments"]
assert len(segs) == 2, f"want 2 segments, got {[s['text'] for s in segs]}"
a, b = segs
assert near(a["text"], "HELLO WORLD"), a["text"]
assert near(b["text"], "Second caption 42"), b["text"]
assert abs(a["start"] - 1) <= 1 and abs(a["end"] - 3) <= 1.01, (a["start"], a["end"])
assert abs(b["start"] - 4) <= 1 and b["end"] >= 5 and b["end"] <= 6.01, (b["start"], b["end"])
for seg in segs:
    assert len(seg["lines"]) == 1, seg["lines"]
    ln = seg["lines"][0]
    assert len(ln["box"]) == 4 and all(0 <= v <= 1 for v in ln["box"]), ln["box"]
    assert 0.6 <= ln["confidence"] <= 1, ln
x, y, w, h = a["lines"][0]["box"]
assert abs(x + w / 2 - 0.5) < 0.05, ("HELLO WORLD not centred", a["lines"][0]["box"])
assert abs(y + h - (360 - 40) / 360) < 0.06 and h < 0.2, ("HELLO WORLD not at the bottom", a["lines"][0]["box"])
x, y, w, h = b["lines"][0]["box"]
assert abs(x - 40 / 640) < 0.03 and abs(y - 40 / 360) < 0.04, ("caption not top left", b["lines"][0]["box"])
assert r["words"] == 5, r["words"]

# slides: read line for line, unchanged frames reuse the reading
r = load("slide")
segs = r["segments"]
assert len(segs) == 2, [s["text"] for s in segs]
want = [["Quarterly results", "Revenue up 12 percent", "Questions welcome"],
        ["Quarterly results", "Revenue up 12 percent", "Thank you all"]]
for seg, lines, t0, t1 in zip(segs, want, (0, 4), (4, 8)):
    got = [ln["text"] for ln in seg["lines"]]
    assert len(got) == 3 and all(near(g, w_) for g, w_ in zip(got, lines)), got
    assert abs(seg["start"] - t0) <= 1 and abs(seg["end"] - t1) <= 1.01, (seg["start"], seg["end"])
    ys = [ln["box"][1] for ln in seg["lines"]]
    assert ys == sorted(ys) and abs(seg["lines"][0]["box"][0] - 120 / 1280) < 0.02, seg["lines"]
assert r["sampled_frames"] >= 7 and r["ocr_frames"] == 2, (r["sampled_frames"], r["ocr_frames"])

# no text: no segments
r = load("notext")
assert r["segments"] == [] and r["words"] == 0, r["segments"]
print("ok: captions, slides and a picture without text")
EOF

# bad languages: clear errors, non-zero exit, no crash
for lang in xqz 'eng+../x'; do
  timeout 30 "$VIDAN" analyze "$tmp/tiny.mp4" --analyses text --param "text.lang=$lang" \
    >"$tmp/bad.json" 2>"$tmp/bad.err"
  rc=$?
  if ((rc == 0 || rc >= 124)); then echo "FAIL: lang=$lang exited $rc"; exit 1; fi
  case $lang in
    xqz) grep -q 'tesseract-ocr-xqz' "$tmp/bad.err" && grep -q 'not installed' "$tmp/bad.err" ;;
    *) grep -q 'not a Tesseract language' "$tmp/bad.err" ;;
  esac || { echo "FAIL: unclear error for lang=$lang:"; cat "$tmp/bad.err"; exit 1; }
  echo "ok: lang=$lang: $(head -n 1 "$tmp/bad.err")"
done
echo "PASS"
