#!/usr/bin/env bash
# test_search.sh: search across the whole library, end to end, on `vidan
# serve` (SQLite) and `vidan search`:
#  - a clip with speech made by espeak-ng (transcript) and a clip with a
#    caption drawn by ffmpeg (text) are uploaded and analysed; a spoken word
#    and a shown word are each found in the right file and analysis, with a
#    time range that contains when the word was said or shown; a file is
#    found by a word of its name;
#  - hostile queries (FTS5 / tsquery syntax, quotes, SQL, odd bytes) never
#    get a 5xx; an empty or too long query gets a 400 that says why;
#  - paging with next_cursor; `vidan search --json` gives the same hits;
#  - after a restart the library is still searchable; an index lost between
#    a job's end and its indexing (a crash) is rebuilt by the backfill at
#    start; deleting a file removes all its hits.
# Skips (77) without espeak-ng, drawtext, the DejaVu font, or a vidan built
# with pocketsphinx and Tesseract.
source "$(dirname "$0")/serve_lib.sh"

command -v espeak-ng >/dev/null || skip "espeak-ng is not installed (scripts/deps test)"
font=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
[[ -r $font ]] || skip "$font missing (fonts-dejavu-core)"
filters=$(ffmpeg -hide_banner -filters 2>/dev/null) # not piped: grep -q would cut ffmpeg short
grep -q ' drawtext ' <<<"$filters" || skip "this ffmpeg has no drawtext"
ff() { ffmpeg -nostdin -v error -y "$@" || fail "ffmpeg $*"; }

# Speech from 1 s on (the sentence test_transcript.sh finds best), over 1 s
# of silence before and after.
said="the weather today is sunny and warm"
espeak-ng -v en-us+f5 -s 140 -w "$TMP/s.wav" "$said" || fail "espeak-ng"
sdur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$TMP/s.wav")
ff -f lavfi -i "testsrc2=s=320x240:r=10:d=$("$PY" -c "print($sdur + 2)")" -itsoffset 1 \
  -i "$TMP/s.wav" -map 0:v -map 1:a -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac \
  "$TMP/weather_talk.mp4"
# "HELLO WORLD" shown from 1 s to 3 s over a moving background.
bg="nullsrc=s=640x360:r=25,geq=r='128+100*sin((X+T*40)/60)':g='60+40*sin(Y/50+T)':b='160+60*cos((X+Y)/90-T)'"
ff -f lavfi -i "$bg" -t 5 -vf \
  "format=yuv420p,drawtext=fontfile=$font:text='HELLO WORLD':fontsize=40:fontcolor=white:box=1:boxcolor=black@0.8:boxborderw=8:x=(w-tw)/2:y=h-th-40:enable='between(t,1,3)'" \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$TMP/captions.mp4"

start_server --workers 2
has_analysis transcript && has_analysis text || skip "transcript or text is not in the registry"

# upload NAME: prints the file id.
upload() {
  expect_status 201 "upload $1" POST /api/v1/files -F "file=@$TMP/$1" >&2
  json "$TMP/body" 'j["id"]'
}
# Under a sanitizer (VD_SANITIZED) OCR runs several times slower than the
# default per-frame budget, max_ocr_seconds = 1, allows.
params='{}'
[[ -n "${VD_SANITIZED:-}" ]] && params='{"text":{"max_ocr_seconds":30}}'
# analyse FILE ANALYSIS: prints the job id once it succeeded.
analyse() {
  local code id p='{}'
  [[ $2 == text ]] && p=$params
  code=$(req POST /api/v1/analyses -d "{\"file_id\":\"$1\",\"analyses\":[\"$2\"],\"params\":$p}")
  [[ $code == 202 ]] || fail "queue $2: HTTP $code: $(head -c 300 "$TMP/body")"
  id=$(json "$TMP/body" 'j["id"]')
  for _ in $(seq 1 600); do
    req GET "/api/v1/analyses/$id" >/dev/null
    case $(json "$TMP/body" 'j["status"]') in
    succeeded) echo "$id"; return ;;
    failed)
      grep -qE "without (pocketsphinx|Tesseract)" "$TMP/body" && skip "$(json "$TMP/body" 'j["error"]')"
      fail "$2 failed: $(head -c 300 "$TMP/body")" ;;
    esac
    sleep 0.1
  done
  fail "$2 did not finish"
}
# search QUERY [curl args]: GET /api/v1/search?q=QUERY, prints the status.
search() {
  local q=$1
  shift
  curl -s -o "$TMP/body" -w '%{http_code}' -G --data-urlencode "q=$q" "$@" "$B/api/v1/search"
}

SPEECH=$(upload weather_talk.mp4)
CAPS=$(upload captions.mp4)
JT=$(analyse "$SPEECH" transcript)
JX=$(analyse "$CAPS" text)
pass "transcript ($JT) and text ($JX) succeeded"
heard=$(curl -s "$B/api/v1/analyses/$JT" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["result"]["results"]["transcript"]["text"])')
echo "# heard: $heard"

# A spoken word: the first of the sentence's longer words the recogniser got.
word=$("$PY" -c 'import sys; h=sys.argv[2].split(); print(next((w for w in sys.argv[1].split() if len(w) > 3 and w in h), ""))' "$said" "$heard")
[[ -n $word ]] || fail "the transcript has none of the words said: '$heard'"
[[ $(search "$word") == 200 ]] || fail "search $word: $(head -c 300 "$TMP/body")"
"$PY" - "$TMP/body" "$SPEECH" "$JT" "$word" "$sdur" <<'EOF' || fail "spoken word: $(head -c 600 "$TMP/body")"
import json, sys
j = json.load(open(sys.argv[1]))
fid, job, word, sdur = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
hits = [h for h in j["hits"] if h["analysis"] == "transcript"]
assert hits, "no transcript hit"
h = hits[0]
assert h["file_id"] == fid and h["job_id"] == job and h["filename"] == "weather_talk.mp4", h
assert "«" + word + "»" in h["snippet"].lower(), h["snippet"]
# The speech runs from 1 s to 1 + sdur; the segment holding the word must
# lie on it (a little slack for the recogniser's edges).
assert 0.5 <= h["start"] <= h["end"] <= 1 + sdur + 0.5, h
assert j["query"] == word and j["next_cursor"] is None
print(f"ok - said '{word}': {h['filename']} {h['start']:.2f}-{h['end']:.2f} s, {h['snippet']}")
EOF

# A shown word, in capitals on screen, typed in lower case.
[[ $(search "hello") == 200 ]] || fail "search hello"
"$PY" - "$TMP/body" "$CAPS" "$JX" <<'EOF' || fail "shown word: $(head -c 600 "$TMP/body")"
import json, sys
j = json.load(open(sys.argv[1]))
hits = [h for h in j["hits"] if h["analysis"] == "text"]
assert hits, "no text hit"
h = hits[0]
assert h["file_id"] == sys.argv[2] and h["job_id"] == sys.argv[3], h
# Shown from 1 to 3 s, read at 1 sample a second: the range holds 2 s and
# stays within a sample of the truth.
assert 0 <= h["start"] <= 2 <= h["end"] <= 4, h
assert "«HELLO»" in h["snippet"], h["snippet"]
print(f"ok - shown 'hello': {h['filename']} {h['start']:.2f}-{h['end']:.2f} s, {h['snippet']!r}")
EOF

# A word of a file name; it opens the file's analysis.
[[ $(search "captions") == 200 ]] || fail "search captions"
[[ $(json "$TMP/body" '[(h["analysis"], h["file_id"], h["job_id"]) for h in j["hits"]]') == "[('file', '$CAPS', '$JX')]" ]] ||
  fail "file name hit: $(head -c 400 "$TMP/body")"
pass "a file found by its name"
[[ $(search "hello $word") == 200 && $(json "$TMP/body" 'len(j["hits"])') == 0 ]] ||
  fail "words from two files matched one moment: $(head -c 300 "$TMP/body")"
pass "every word must match in one moment"

# Hostile queries: words or nothing, never a server error.
hostile=('"' '"hello' 'NEAR(hello world)' 'text:hello' '{text}: hello' '*' 'hel*' '-hello'
  'hello NOT world' 'hello OR' 'AND' '(' ')' '^hello' "'" "' OR 1=1 --" '%' '_' ':*' 'hello & world'
  '!hello' 'hello <-> world' 'hello:*' '\' ';DROP TABLE files;' '«hello»' '日本語' '😀'
  "$(printf 'a%.0s' {1..200})")
for q in "${hostile[@]}"; do
  code=$(search "$q")
  [[ $code == 200 || $code == 400 ]] || fail "query [$q]: HTTP $code: $(head -c 300 "$TMP/body")"
done
code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$B/api/v1/search?q=%C3%28")
[[ $code == 400 ]] || fail "a query that is not UTF-8: HTTP $code"
pass "${#hostile[@]} hostile queries and bad UTF-8: no 5xx"
[[ $(search 'NEAR(hello)') == 200 && $(json "$TMP/body" 'len(j["hits"])') == 0 ]] ||
  fail "NEAR(...) was read as syntax"
[[ $(search '(hello) wor*') == 200 && $(json "$TMP/body" 'len(j["hits"])') == 1 ]] ||
  fail "(hello) wor*: $(head -c 300 "$TMP/body")"
expect_status 400 "no query" GET /api/v1/search
expect_status 400 "an empty query" GET "/api/v1/search?q="
[[ $(search '"*()') == 400 ]] && grep -q "no word" "$TMP/body" || fail "a query with no word"
[[ $(search "$(printf 'a%.0s' {1..201})") == 400 ]] && grep -q "longer than" "$TMP/body" ||
  fail "a query that is too long: $(head -c 200 "$TMP/body")"
pass "no word, or too long: 400 with the reason"

# Paging: both files' names hold "mp4".
[[ $(search mp4 --data-urlencode limit=1) == 200 ]] || fail "page 1"
p1=$(json "$TMP/body" 'j["hits"][0]["file_id"]')
cur=$(json "$TMP/body" 'j["next_cursor"]')
[[ $cur == 1 ]] || fail "next_cursor: $cur"
[[ $(search mp4 --data-urlencode limit=1 --data-urlencode "cursor=$cur") == 200 ]] || fail "page 2"
p2=$(json "$TMP/body" 'j["hits"][0]["file_id"]')
[[ $p1 != "$p2" && $(json "$TMP/body" 'j["next_cursor"]') == None ]] || fail "page 2: $(head -c 300 "$TMP/body")"
pass "two pages of one hit each"

# The CLI, on the same data folder while the server runs: the same hits.
api_hits() { json "$TMP/body" '[(h["file_id"], h["job_id"], h["analysis"], h["start"], h["end"]) for h in j["hits"]]'; }
for q in "$word" hello captions; do
  search "$q" >/dev/null
  want=$(api_hits)
  "$VIDAN" search --data "$DATA" --json "$q" >"$TMP/body" 2>"$TMP/cli.err" || fail "vidan search $q: $(cat "$TMP/cli.err")"
  [[ $(api_hits) == "$want" ]] || fail "vidan search $q: $(api_hits), the API: $want"
done
line=$("$VIDAN" search --data "$DATA" hello) || fail "vidan search hello (text)"
[[ $line == captions.mp4$'\t'*$'\t'text$'\t'*«HELLO»*$'\t'"$JX" ]] || fail "vidan search line: $line"
"$VIDAN" search --data "$DATA" '"*()' >/dev/null 2>"$TMP/cli.err"
[[ $? == 2 ]] && grep -q "no word" "$TMP/cli.err" || fail "vidan search with no word: $(cat "$TMP/cli.err")"
"$VIDAN" search --data "$TMP/nowhere" hello >/dev/null 2>"$TMP/cli.err"
[[ $? == 3 && ! -e $TMP/nowhere ]] || fail "vidan search without a library: $(cat "$TMP/cli.err")"
pass "vidan search: the API's hits; a line per hit; exit 2 for no word, 3 for no library"

# Restart: still searchable. Then a crash between a job's end and its
# indexing, faked by emptying the index of jobs: the backfill at start
# indexes those jobs again.
stop_server
start_server --workers 1
[[ $(search "$word") == 200 && $(json "$TMP/body" 'len(j["hits"])') -ge 1 ]] || fail "after a restart"
pass "searchable after a restart"
if command -v sqlite3 >/dev/null; then
  stop_server
  sqlite3 "$DATA/vidan.db" "DELETE FROM search_docs WHERE job_id IS NOT NULL; DELETE FROM search_jobs;" ||
    fail "sqlite3"
  VIDAN_LOG=info start_server --workers 1
  for _ in $(seq 1 50); do
    search hello >/dev/null
    [[ $(json "$TMP/body" 'len(j["hits"])') == 1 ]] && break
    sleep 0.1
  done
  [[ $(json "$TMP/body" 'len(j["hits"])') == 1 ]] || fail "the backfill did not index the text job"
  search "$word" >/dev/null
  [[ $(json "$TMP/body" 'len([h for h in j["hits"] if h["analysis"] == "transcript"])') -ge 1 ]] ||
    fail "the backfill did not index the transcript job"
  grep -q "2 earlier analyses indexed for search" "$DATA/server.log" || fail "the backfill did not say so"
  pass "jobs left unindexed (a crash) are indexed at start"
fi

# Deleting a file removes its hits, name included.
expect_status 200 "delete the speech file" DELETE "/api/v1/files/$SPEECH"
search "$word" >/dev/null
[[ $(json "$TMP/body" 'len(j["hits"])') == 0 ]] || fail "hits of a deleted file: $(head -c 300 "$TMP/body")"
search weather >/dev/null
[[ $(json "$TMP/body" 'len(j["hits"])') == 0 ]] || fail "the name of a deleted file"
search hello >/dev/null
[[ $(json "$TMP/body" 'len(j["hits"])') == 1 ]] || fail "the other file's hit went too"
pass "a deleted file has no hits left; the other file keeps its"
expect_status 200 "OpenAPI" GET /api/openapi.json
json "$TMP/body" '"q" in [p["name"] for p in j["paths"]["/api/v1/search"]["get"]["parameters"]]' | grep -q True ||
  fail "OpenAPI does not describe /api/v1/search"
pass "OpenAPI describes /api/v1/search"
stop_server
grep -qE "Sanitizer|runtime error" "$DATA/server.log" && fail "sanitizer reports in the server log"
echo "all passed"
