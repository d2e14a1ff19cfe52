#!/usr/bin/env bash
# Real-world files: `vidan analyze --analyses probe,scenes` on every media
# file under ../shared/testdata (VFR, rotation, late-starting streams, odd
# aspect ratios, audio-only WAVs, MPEG-PS) must finish with exit 0, valid
# JSON on stdout, no crash, no sanitizer report, within a time limit.
# Skips (77) when the shared test data is absent.
set -uo pipefail

: "${VIDAN:?VIDAN must point at the vidan binary}"
data=${VD_TESTDATA:-$(dirname "$0")/../../../shared/testdata}
if [[ ! -d "$data" ]]; then
  echo "SKIP: no shared test data at $data"
  exit 77
fi
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

# Sanitizer builds run several times slower.
limit=120
[[ -n "${VD_SANITIZED:-}" ]] && limit=600

mapfile -t files < <(find "$data" -type f \( -iname '*.mp4' -o -iname '*.mkv' -o -iname '*.mov' \
  -o -iname '*.webm' -o -iname '*.avi' -o -iname '*.mpg' -o -iname '*.ts' -o -iname '*.wav' \
  -o -iname '*.mp3' -o -iname '*.m4a' -o -iname '*.flac' -o -iname '*.ogg' \) | sort)
if ((${#files[@]} == 0)); then
  echo "SKIP: no media files under $data"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
for f in "${files[@]}"; do
  t0=$(date +%s)
  timeout -k 5 "$limit" "$VIDAN" analyze "$f" --analyses probe,scenes >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  secs=$(($(date +%s) - t0))
  why=""
  if ((rc == 124 || rc == 137)); then
    why="timed out after ${limit} s"
  elif ((rc >= 128)); then
    why="crashed (signal $((rc - 128)))"
  elif ((rc != 0)); then
    why="exit $rc: $(tail -n 3 "$tmp/err")"
  elif grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' "$tmp/err"; then
    why="sanitizer report: $(grep -Em1 'AddressSanitizer|runtime error|LeakSanitizer' "$tmp/err")"
  elif ! python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; assert "probe" in r' \
      "$tmp/out" 2>"$tmp/pyerr"; then
    why="stdout is not a result with probe: $(tail -n1 "$tmp/pyerr")"
  fi
  rel=${f#"$data"/}
  if [[ -n "$why" ]]; then
    echo "FAIL $rel: $why"
    fails=$((fails + 1))
  else
    scenes=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["results"].get("scenes"); print(len(s["scenes"]) if isinstance(s, dict) and "scenes" in s else "-")' "$tmp/out" 2>/dev/null)
    echo "ok   $rel: ${secs} s, scenes: $scenes"
  fi
done

if ((fails)); then
  echo "$fails of ${#files[@]} file(s) failed"
  exit 1
fi
echo "all ${#files[@]} files analyzed"
