#!/usr/bin/env bash
# Bad input through the CLI: every command must refuse each file below with a
# non-zero exit, a message on stderr that says what is wrong, no crash (exit
# status < 128, so no signal) and no hang (under 10 s).
#
# Inputs: a text file, an empty file, an mp4 cut in half (index at the end,
# so the header itself is missing), an mp4 cut in half with its index first
# (the header is fine, the frames are gone), a nonexistent path, a folder,
# a Matroska file and a PNG that declare 60000x60000 pixels, and a normal file checked
# against small limits from VIDAN_MAX_PIXELS / VIDAN_MAX_DURATION.
set -uo pipefail

: "${VIDAN:?VIDAN must point at the vidan binary}"
command -v ffmpeg >/dev/null || { echo "SKIP: ffmpeg not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# --- inputs ---------------------------------------------------------------
printf 'This is a plain text file, not a video.\n%.0s' {1..50} >"$tmp/notmedia.mp4"
: >"$tmp/empty.mp4"
mkdir "$tmp/folder.mp4"
ffmpeg -v error -f lavfi -i "testsrc2=s=320x240:r=25:d=4" -f lavfi -i "sine=d=4" \
  -c:v libx264 -preset ultrafast -c:a aac -shortest "$tmp/good.mp4" || exit 1
ffmpeg -v error -i "$tmp/good.mp4" -c copy -movflags +faststart "$tmp/good_fs.mp4" || exit 1
half() { head -c $(($(stat -c %s "$1") / 2)) "$1" >"$2"; }
half "$tmp/good.mp4" "$tmp/truncated.mp4"
half "$tmp/good_fs.mp4" "$tmp/truncated_faststart.mp4"
# A Matroska file whose track header declares 60000x60000: the 2-byte
# PixelWidth/PixelHeight values of a 320x288 file, rewritten in place.
ffmpeg -v error -f lavfi -i "testsrc2=s=320x288:r=25:d=1" -c:v libx264 -preset ultrafast \
  "$tmp/small.mkv" || exit 1
python3 - "$tmp/small.mkv" "$tmp/huge.mkv" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
w, h = d.find(b'\xb0\x82\x01\x40'), d.find(b'\xba\x82\x01\x20')
assert w > 0 and h > 0, 'PixelWidth/PixelHeight not found'
d[w + 2:w + 4] = d[h + 2:h + 4] = b'\xea\x60'
open(sys.argv[2], 'wb').write(d)
EOF
# A real PNG whose IHDR is rewritten to 60000x60000 (with a correct CRC).
ffmpeg -v error -f lavfi -i "testsrc2=s=16x16:d=0.04" -frames:v 1 "$tmp/small.png" || exit 1
python3 - "$tmp/small.png" "$tmp/huge.png" <<'EOF'
import struct, sys, zlib
d = bytearray(open(sys.argv[1], 'rb').read())
assert d[12:16] == b'IHDR'
d[16:24] = struct.pack('>II', 60000, 60000)
d[29:33] = struct.pack('>I', zlib.crc32(bytes(d[12:29])) & 0xffffffff)
open(sys.argv[2], 'wb').write(d)
EOF

# --- the check ----------------------------------------------------------------
# expect NAME REGEX CMD...: non-zero, < 128, < 10 s, stderr matches REGEX.
expect() {
  local name=$1 re=$2
  shift 2
  local t0 t1 rc ms
  t0=$(date +%s%N)
  timeout -k 2 10 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  t1=$(date +%s%N)
  ms=$(((t1 - t0) / 1000000))
  local why=""
  if ((rc == 0)); then
    why="exit 0"
  elif ((rc == 124 || rc == 137)); then
    why="hung (killed after 10 s)"
  elif ((rc >= 128)); then
    why="crashed (exit $rc = signal $((rc - 128)))"
  elif ! grep -Eiq -- "$re" "$tmp/err"; then
    why="stderr does not say /$re/: $(head -c 300 "$tmp/err")"
  elif grep -Eq 'AddressSanitizer|runtime error|Assertion' "$tmp/err"; then
    why="sanitizer or assertion report on stderr"
  fi
  if [[ -n "$why" ]]; then
    echo "FAIL $name: $why ($*)"
    fails=$((fails + 1))
  else
    echo "ok   $name: exit $rc in ${ms} ms: $(head -n1 "$tmp/err")"
  fi
}

cmds=("probe" "scenes" "analyze --analyses probe,scenes")
for c in "${cmds[@]}"; do
  read -ra argv <<<"$c"
  tag=${argv[0]}
  expect "$tag not-media" 'not.*media|invalid data' "$VIDAN" "${argv[@]}" "$tmp/notmedia.mp4"
  expect "$tag empty" 'empty' "$VIDAN" "${argv[@]}" "$tmp/empty.mp4"
  expect "$tag truncated" 'truncat|corrupt|incomplete|not a readable|invalid data|moov' \
    "$VIDAN" "${argv[@]}" "$tmp/truncated.mp4"
  expect "$tag truncated-faststart" 'truncat|corrupt|incomplete|cut short|missing' \
    "$VIDAN" "${argv[@]}" "$tmp/truncated_faststart.mp4"
  expect "$tag nonexistent" 'no such file|not found|does not exist' \
    "$VIDAN" "${argv[@]}" "$tmp/does-not-exist.mp4"
  expect "$tag folder" 'director|folder' "$VIDAN" "${argv[@]}" "$tmp/folder.mp4"
  expect "$tag huge-mkv" 'limit|too large|dimension' "$VIDAN" "${argv[@]}" "$tmp/huge.mkv"
  expect "$tag huge-png" 'limit|too large|dimension|pixels' "$VIDAN" "${argv[@]}" "$tmp/huge.png"
  expect "$tag max-pixels" 'limit' env VIDAN_MAX_PIXELS=1000 "$VIDAN" "${argv[@]}" "$tmp/good.mp4"
  expect "$tag max-width" 'limit' env VIDAN_MAX_WIDTH=100 "$VIDAN" "${argv[@]}" "$tmp/good.mp4"
  expect "$tag max-duration" 'limit|duration' env VIDAN_MAX_DURATION=1 \
    "$VIDAN" "${argv[@]}" "$tmp/good.mp4"
done

# The same files are fine without the limits: the refusals above are not
# a CLI that refuses everything.
if ! "$VIDAN" probe "$tmp/good.mp4" >/dev/null 2>"$tmp/err"; then
  echo "FAIL control: probe of a good file failed: $(cat "$tmp/err")"
  fails=$((fails + 1))
fi

if ((fails)); then
  echo "$fails bad-input check(s) failed"
  exit 1
fi
echo "all bad-input checks passed"
