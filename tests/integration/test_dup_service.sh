#!/usr/bin/env bash
# test_dup_service.sh: compat E, the duplicate check (POST
# /check-video-duplicate), against the real `vidan serve`, with videos
# served by a local python http.server:
#  - an original is not a duplicate; its re-encoded copy is a duplicate of
#    the original's id; the same picture with other sound is not, and says
#    hard_case same_picture; an unrelated clip is not; the original's bytes
#    under a second link are a duplicate of the first link's id;
#  - a malformed body, a bad link, a link that answers 404 and a link to a
#    text file answer 400 with a JSON error, and leave no file behind;
#  - GET /api/v1/files/{id}/duplicates lists what the library knows;
#  - kill -9 and restart: the library is in the store, so two copies
#    checked at once after the restart still match, even with the
#    original's fingerprint row lost (as if the process had died between
#    its job's end and the put: the backfill puts it again); deleting the
#    original's file takes it out of the library;
#  - with PostgreSQL (pg_virtualenv), two nodes sharing the database and
#    the blob folder: a video checked on node A is the duplicate source of
#    its copy checked on node B.
# Skips (77) without ffmpeg, curl or python3, or when this build has no
# `duplicates` analysis; the PostgreSQL part is skipped on its own (the
# SQLite part still counts) when pg_virtualenv or libpq is missing.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
declare -A NPID NURL

source "$HERE/dup_lib.sh"

[[ "${1:-}" != --pg-inside ]] && source "$HERE/serve_lib.sh"

# serve_clips DIR: a python http.server on 127.0.0.1; sets CLIPS (base URL).
serve_clips() {
  "$PY" -u -m http.server 0 --bind 127.0.0.1 --directory "$1" >"$TMP/http.log" 2>&1 &
  HPID=$!
  trap 'kill "$HPID" 2>/dev/null; [[ -n ${NPID[*]:-} ]] && kill -9 "${NPID[@]}" 2>/dev/null; cleanup' EXIT
  for _ in $(seq 1 100); do
    grep -q "port [0-9]" "$TMP/http.log" && break
    sleep 0.05
  done
  CLIPS="http://127.0.0.1:$(grep -o 'port [0-9]*' "$TMP/http.log" | head -1 | cut -d' ' -f2)"
  [[ $CLIPS =~ :[0-9]+$ ]] || fail "python http.server did not start: $(cat "$TMP/http.log")"
}

# check WANT_STATUS BODY: POST /check-video-duplicate; the answer is in $TMP/body.
check() {
  local got
  got=$(curl -s -m 120 -o "$TMP/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "$2" "$B/check-video-duplicate")
  [[ $got == "$1" ]] || fail "check $2: wanted HTTP $1, got $got: $(head -c 400 "$TMP/body")"
}
# check_link ID IS_DUP DUP_FOR HARD: checks $CLIPS/ID.mp4 and the answer.
check_link() {
  check 200 "{\"link\": \"$CLIPS/$1.mp4\"}"
  local ans
  ans=$(json "$TMP/body" '"%s %s %s" % (str(j["is_duplicate"]).lower(), j["duplicate_for"] or "-", j["hard_case"] or "-")')
  [[ $ans == "$2 ${3:--} ${4:--}" ]] ||
    fail "$1: wanted '$2 ${3:--} ${4:--}', got '$ans': $(head -c 600 "$TMP/body")"
  pass "$1: is_duplicate $2, duplicate_for ${3:-\"\"}, hard_case ${4:-null}"
}

if [[ "${1:-}" != --pg-inside ]]; then
  start_server --workers 2
  has_analysis duplicates || skip "this build has no duplicates analysis"
  mkdir -p "$TMP/clips"
  make_clips "$TMP/clips" || fail "ffmpeg could not make the clips"
  serve_clips "$TMP/clips"
  T0=$(date +%s)

  check_link $ORIG false "" ""
  ORIG_FILE=$(json "$TMP/body" 'j["file_id"]')
  [[ $(json "$TMP/body" 'j["video_id"]') == "$ORIG" ]] || fail "video_id is not the link's file name"
  check_link $COPY true $ORIG ""
  json "$TMP/body" '[m["verdict"] for m in j["matches"] if m["video_id"] == "'$ORIG'"][0]' |
    grep -qx duplicate || fail "the copy's matches do not list the original: $(cat "$TMP/body")"
  check_link $SAMEPIC false "" same_picture
  check_link $OTHER false "" ""
  # "url" is accepted for "link"; the same bytes under a new id.
  check 200 "{\"url\": \"$CLIPS/$SAMEBYTES.mp4\"}"
  [[ $(json "$TMP/body" '(j["is_duplicate"], j["duplicate_for"])') == "(True, '$ORIG')" ]] ||
    fail "identical bytes: $(cat "$TMP/body")"
  pass "the original's bytes under a second link: a duplicate of $ORIG ($(($(date +%s) - T0)) s so far)"

  files_before=$(curl -s "$B/api/v1/files" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["files"]))')
  check 400 'not json'
  check 400 '{"link": 42}'
  check 400 '{"link": "ftp://127.0.0.1/a.mp4"}'
  check 400 '{"link": "http://127.0.0.1:1/"}'
  check 400 "{\"link\": \"$CLIPS/missing-video.mp4\"}"
  grep -q "404" "$TMP/body" || fail "a 404 link does not say so: $(cat "$TMP/body")"
  check 400 "{\"link\": \"http://127.0.0.1:1/x.mp4\"}"
  check 400 "{\"link\": \"$CLIPS/notes.mp4\"}"
  json "$TMP/body" 'j["error"]' | grep -qi "not a video" || fail "text file: $(cat "$TMP/body")"
  files_after=$(curl -s "$B/api/v1/files" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["files"]))')
  [[ $files_before == "$files_after" ]] || fail "refused links left files ($files_before → $files_after)"
  pass "malformed body, bad links, a 404, an unreachable host and a text file: 400 with a JSON error"
  # Four videos: the second link to the original's bytes is the same file.
  curl -s "$B/metrics" | grep -qx "vidan_library_videos 4" ||
    fail "metrics: $(curl -s "$B/metrics" | grep library)"
  pass "/metrics: 4 videos in the library"

  expect_status 200 "the original's matches" GET "/api/v1/files/$ORIG_FILE/duplicates"
  json "$TMP/body" 'sorted(m["verdict"] for m in j["matches"])' |
    grep -q "'duplicate', 'same_picture'" || fail "library view: $(cat "$TMP/body")"

  # kill -9: nothing is lost, the library is in the store.
  kill -9 "$SPID"
  wait "$SPID" 2>/dev/null
  SPID=""
  # As if the process had died between the original's job end and its
  # fingerprint put: the row is gone, the succeeded job is there. The next
  # start's first load puts it again (backfill).
  "$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("DELETE FROM fingerprints WHERE file_id=?", (sys.argv[2],)); c.commit()' \
    "$DATA/vidan.db" "$ORIG_FILE" || fail "cannot remove the original's fingerprint row"
  start_server --workers 2
  # Two checks at once (two checker threads, two workers).
  curl -s -m 120 -o "$TMP/body3" -X POST -d "{\"link\": \"$CLIPS/$COPY3.mp4\"}" "$B/check-video-duplicate" &
  CPID=$!
  check_link $COPY2 true $ORIG ""
  wait $CPID
  [[ $(json "$TMP/body3" '(j["is_duplicate"], j["duplicate_for"])') == "(True, '$ORIG')" ]] ||
    fail "the concurrent check: $(cat "$TMP/body3")"
  pass "after kill -9 and a restart, two new copies checked at once still match the original"
  expect_status 200 "delete the original" DELETE "/api/v1/files/$ORIG_FILE?force=1"
  expect_status 404 "its matches are gone" GET "/api/v1/files/$ORIG_FILE/duplicates"
  COPY_FILE=$(curl -s "$B/api/v1/files" | "$PY" -c '
import json,sys
print([f["id"] for f in json.load(sys.stdin)["files"] if f["filename"] == "'$COPY'.mp4"][0])')
  expect_status 200 "the copy's matches" GET "/api/v1/files/$COPY_FILE/duplicates"
  json "$TMP/body" '[m["video_id"] for m in j["matches"]]' | grep -q "$ORIG" &&
    fail "the deleted original is still in the library: $(cat "$TMP/body")"
  pass "a deleted file leaves the library"
  stop_server # graceful: the idle checker threads end with the server
  kill "$HPID" 2>/dev/null

  # ---- PostgreSQL: two nodes ----
  "$VIDAN" serve --db "postgresql://u@127.0.0.1:1/x" --data "$TMP/pgprobe" --listen 127.0.0.1:0 2>&1 |
    grep -q "without PostgreSQL" && { echo "SKIP (PostgreSQL part): built without libpq"; exit 0; }
  command -v pg_virtualenv >/dev/null ||
    { echo "SKIP (PostgreSQL part): pg_virtualenv is not installed"; exit 0; }
  export PGPORT=$((20000 + RANDOM % 20000))
  pg_virtualenv -t -o fsync=off -o max_connections=60 bash "$0" --pg-inside "$TMP/pg-started"
  rc=$?
  if [[ $rc -ne 0 && ! -e "$TMP/pg-started" ]]; then
    echo "SKIP (PostgreSQL part): PostgreSQL could not be started (pg_virtualenv exit $rc)"
    exit 0
  fi
  exit $rc
fi

# ---- inside pg_virtualenv: PGHOST, PGPORT, PGUSER, PGPASSWORD ----
touch "$2"
export PGDATABASE=postgres
source "$HERE/serve_lib.sh"
mkdir -p "$TMP/clips"
make_clips "$TMP/clips" || fail "ffmpeg could not make the clips"
serve_clips "$TMP/clips"
createdb vidan || fail "createdb"
URI="postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/vidan"
start_node() {
  rm -f "$TMP/port.$1"
  "$VIDAN" serve --db "$URI" --data "$DATA" --listen 127.0.0.1:0 --port-file "$TMP/port.$1" \
    --workers 1 >>"$DATA/$1.log" 2>&1 &
  NPID[$1]=$!
  for _ in $(seq 1 200); do
    [[ -s "$TMP/port.$1" ]] && break
    kill -0 "${NPID[$1]}" 2>/dev/null || { cat "$DATA/$1.log"; fail "node $1 exited at start"; }
    sleep 0.05
  done
  NURL[$1]="http://127.0.0.1:$(cat "$TMP/port.$1")"
}
start_node a
start_node b
B=${NURL[a]}
check_link $ORIG false "" ""
B=${NURL[b]}
check_link $COPY true $ORIG ""
check_link $SAMEPIC false "" same_picture
B=${NURL[a]}
check_link $COPY2 true $ORIG ""
pass "PostgreSQL, two nodes: checks on either node see the videos checked on the other"
