#!/usr/bin/env bash
# test_store_pg.sh: the PostgreSQL store, against a throwaway server that
# pg_virtualenv (postgresql-common) creates and removes.
#  1. The store unit suites (test_store, test_store_webhook, test_store_fp,
#     test_store_search, and test_library: two duplicate libraries on one
#     database) run again with --pg: the same assertions as for
#     SQLite.
#  2. Two nodes: two `vidan serve --db URI --data SHARED` processes, started
#     together (one migrates, under the advisory lock). Analyses queued on
#     node A are taken by workers of both nodes, each exactly once, and
#     their results are visible from node B; a job queued on a node whose
#     only worker is busy is taken by the other node within a fraction of
#     the 0.5 s poll (LISTEN/NOTIFY); a job deleted on one node stops on
#     the other; kill -9 of the node running a job makes the other node run
#     it again once its lease expires; the server stopped and started again
#     gives clear errors meanwhile, and the node carries on afterwards.
# A server that is not there is a clear error at start. Skips (77) when
# PostgreSQL or a libpq build is missing.
set -uo pipefail

if [[ "${1:-}" != --inside ]]; then
  skip() { echo "SKIP: $*"; exit 77; }
  : "${VIDAN:?VIDAN must name the vidan binary}" "${VD_BUILD:?VD_BUILD must name the build folder}"
  for t in test_store test_store_webhook test_store_fp test_store_search test_library; do
    [[ -x "$VD_BUILD/$t" ]] || skip "$VD_BUILD/$t is not built"
  done
  tmp=$(mktemp -d /tmp/vd-pg.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  # The URI carries a password that the message must not repeat.
  out=$(timeout 20 "$VIDAN" serve --db "postgresql://u:hush@127.0.0.1:1/x" --data "$tmp/var" \
    --listen 127.0.0.1:0 2>&1)
  rc=$?
  grep -q "without PostgreSQL" <<<"$out" && skip "this vidan was built without libpq (libpq-dev)"
  if [[ $rc -eq 0 ]] || ! grep -q "cannot connect to PostgreSQL at 127.0.0.1:1/x" <<<"$out" ||
    grep -q hush <<<"$out"; then
    echo "FAIL: serve with an unreachable server (exit $rc): $out"
    exit 1
  fi
  echo "ok - an unreachable server is a clear error: $out"
  command -v pg_virtualenv >/dev/null ||
    skip "pg_virtualenv is not installed (Debian postgresql + postgresql-common: scripts/deps test)"
  # A port of our own, so parallel runs (another build folder) do not meet.
  export PGPORT=$((20000 + RANDOM % 20000))
  echo "starting a throwaway PostgreSQL on port $PGPORT" >&2
  pg_virtualenv -t -o fsync=off -o max_connections=60 bash "$0" --inside "$tmp/started"
  rc=$?
  [[ $rc -ne 0 && ! -e "$tmp/started" ]] && skip "PostgreSQL could not be started (pg_virtualenv exit $rc)"
  exit $rc
fi

# ---- inside the virtual environment: PGHOST, PGPORT, PGUSER, PGPASSWORD ----
touch "$2"
export PGDATABASE=postgres
source "$(dirname "$0")/serve_lib.sh"
fail() {
  echo "FAIL: $*"
  for f in "$DATA"/*.log; do [[ -f $f ]] && { echo "== $f"; tail -n 20 "$f"; }; done
  exit 1
}
T0=$(date +%s.%N)
elapsed() { "$PY" -c "import time; print(f'{time.time() - $T0:.1f}')"; }

for t in test_store test_store_webhook test_store_fp test_store_search test_library; do
  "$VD_BUILD/$t" --pg >"$TMP/$t.log" 2>&1 || { tail -n 40 "$TMP/$t.log"; fail "$t --pg"; }
  pass "$t --pg: $(grep -o 'PASSED.*' "$TMP/$t.log")"
done

createdb vidan || fail "createdb"
URI="postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/vidan"
sql() { psql -X -At -d vidan -c "$1"; }

# start_node NAME [serve options...]: node NAME logs to $DATA/NAME.log.
declare -A NPID NURL
start_node() {
  local n=$1
  shift
  rm -f "$TMP/port.$n"
  VIDAN_LOG=info "$VIDAN" serve --db "$URI" --data "$DATA" --listen 127.0.0.1:0 --port-file "$TMP/port.$n" \
    --workers 1 --lease 1 "$@" >>"$DATA/$n.log" 2>&1 &
  NPID[$n]=$!
}
wait_node() {
  local n=$1
  for _ in $(seq 1 200); do
    [[ -s "$TMP/port.$n" ]] && break
    kill -0 "${NPID[$n]}" 2>/dev/null || { cat "$DATA/$n.log"; fail "node $n exited at start"; }
    sleep 0.05
  done
  [[ -s "$TMP/port.$n" ]] || fail "node $n did not start listening"
  NURL[$n]="http://127.0.0.1:$(cat "$TMP/port.$n")"
}
on() { B=${NURL[$1]}; }
node_cleanup() {
  for p in "${NPID[@]}"; do kill -9 "$p" 2>/dev/null; done
  cleanup
}
trap node_cleanup EXIT
# Jobs this node's workers finished, from its /metrics.
finished_on() {
  curl -s "${NURL[$1]}/metrics" |
    awk '/^vidan_jobs_finished_total\{state="succeeded"\}/ {print $2}'
}

# Both at once: one of them migrates the empty database, the other waits on
# the advisory lock and finds it done.
start_node a
start_node b
wait_node a
wait_node b
# The newest version: every migration ran (3 = fingerprints is the least).
V=$(sql "SELECT version FROM vidan_schema")
[[ $V =~ ^[0-9]+$ && $V -ge 3 ]] || fail "schema version '$V'"
[[ $(grep -h "migrated schema to version $V\b" "$DATA/a.log" "$DATA/b.log" | wc -l) == 1 ]] ||
  fail "the schema was not migrated exactly once: $(cat "$DATA/a.log" "$DATA/b.log")"
pass "two nodes started together; the schema was migrated once ($(elapsed) s)"
on a
has_analysis sleep || skip "the sleep analysis is not registered in this build"

make_video a.mp4 2
SHA=$(sha256sum "$TMP/a.mp4" | cut -c1-64)
expect_status 201 "upload on node A" POST /api/v1/files -F "file=@$TMP/a.mp4"

# queue ANALYSES_JSON PARAMS_JSON: queues on the current node, prints the id.
queue() {
  local code
  code=$(req POST /api/v1/analyses -d "{\"file_id\":\"$SHA\",\"analyses\":$1,\"params\":$2}")
  [[ $code == 202 ]] || fail "queue: HTTP $code: $(head -c 300 "$TMP/body")"
  json "$TMP/body" 'j["id"]'
}

# Six jobs queued on A; one worker per node: both nodes must work.
IDS=()
for _ in 1 2 3 4 5 6; do IDS+=("$(queue '["probe","sleep"]' '{"sleep":{"time":0.4}}')"); done
on b
for id in "${IDS[@]}"; do wait_job "$id" succeeded 30; done
for id in "${IDS[@]}"; do
  req GET "/api/v1/analyses/$id" >/dev/null
  [[ $(json "$TMP/body" 'j["attempts"]') == 1 ]] || fail "job $id ran more than once"
  [[ $(json "$TMP/body" 'j["result"]["results"]["probe"]["streams"][0]["type"]') == video ]] ||
    fail "result of $id as seen from node B: $(head -c 300 "$TMP/body")"
done
fa=$(finished_on a)
fb=$(finished_on b)
[[ $((fa + fb)) == 6 && $fa -gt 0 && $fb -gt 0 ]] || fail "jobs per node: a=$fa b=$fb"
pass "6 jobs queued on A ran once each, $fa on node A and $fb on node B; results read on B"
expect_status 200 "the upload, from node B (shared --data)" GET "/api/v1/files/$SHA/content"
[[ $(sha256sum "$TMP/body" | cut -c1-64) == "$SHA" ]] || fail "content from node B"

# runner_of ID: the node whose worker runs job ID (the row names it).
runner_of() {
  local w pid
  w=$(sql "SELECT worker FROM jobs WHERE id = '$1'")
  pid=$(cut -d: -f2 <<<"$w")
  for n in "${!NPID[@]}"; do [[ ${NPID[$n]} == "$pid" ]] && { echo "$n"; return; }; done
  fail "worker '$w' of $1 is on no running node"
}
other() { [[ $1 == a ]] && echo b || echo a; }

# A job that keeps one node's only worker busy.
on a
BLOCK=$(queue '["sleep"]' '{"sleep":{"time":60}}')
wait_job "$BLOCK" running 10
BUSY=$(runner_of "$BLOCK")
IDLE=$(other "$BUSY")

# Jobs queued on the busy node are taken by the idle one at once: woken by
# NOTIFY, not by its 0.5 s poll.
on $BUSY
waits=()
for _ in 1 2 3; do
  id=$(queue '["probe"]' '{}')
  wait_job "$id" succeeded 10
  waits+=("$(json "$TMP/body" 'round(j["queue_seconds"], 3)')")
done
worst=$(printf '%s\n' "${waits[@]}" | sort -g | tail -1)
[[ $("$PY" -c "print($worst < 0.25)") == True ]] ||
  fail "jobs queued on node $BUSY waited ${waits[*]} s for node $IDLE (no NOTIFY?)"
pass "jobs queued on busy node $BUSY were taken by node $IDLE after ${waits[*]} s ($(elapsed) s)"

# Deleting the blocker on the other node stops it where it runs.
on $IDLE
expect_status 200 "delete the running job from node $IDLE" DELETE "/api/v1/analyses/$BLOCK"
for _ in $(seq 1 40); do
  busy=$(curl -s "${NURL[$BUSY]}/metrics" | sed -n 's/^vidan_workers{state="busy"} //p')
  [[ "$busy" == 0 ]] && break
  sleep 0.1
done
[[ "$busy" == 0 ]] || fail "node $BUSY still runs the deleted job"
pass "node $BUSY stopped the job deleted on node $IDLE"

# kill -9 the node running a job: the other runs it again after the lease.
on a
LONG=$(queue '["sleep"]' '{"sleep":{"time":3}}')
wait_job "$LONG" running 10
DEAD=$(runner_of "$LONG")
LIVE=$(other "$DEAD")
kill -9 "${NPID[$DEAD]}"
wait "${NPID[$DEAD]}" 2>/dev/null
unset "NPID[$DEAD]"
pass "node $DEAD killed with SIGKILL mid-job"
on $LIVE
wait_job "$LONG" succeeded 20
[[ $(json "$TMP/body" 'j["attempts"]') == 2 ]] || fail "expected a second attempt: $(head -c 300 "$TMP/body")"
[[ $(json "$TMP/body" 'j["result"]["results"]["sleep"]["slept"] >= 2.9') == True ]] || fail "result"
pass "node $LIVE ran the job again after its lease expired"

expect_status 200 "list analyses on node $LIVE" GET "/api/v1/analyses?limit=50"
[[ $(json "$TMP/body" 'len(j["analyses"])') == 10 ]] || fail "jobs lost or duplicated"
[[ $(json "$TMP/body" 'all(a["status"] == "succeeded" for a in j["analyses"])') == True ]] ||
  fail "not all succeeded"
[[ $(sql "SELECT COUNT(*) FROM files") == 1 && $(blob_count) == 1 ]] || fail "files duplicated"
pass "10 jobs, all succeeded, nothing duplicated ($(elapsed) s)"
# Search on PostgreSQL: the file's name, written by the trigger, and the
# jobs indexed by whichever node finished them, without a warning.
expect_status 200 "search on node $LIVE" GET "/api/v1/search?q=a%20mp4"
[[ $(json "$TMP/body" '[h["analysis"] for h in j["hits"]]') == "['file']" ]] ||
  fail "search for the file's name: $(head -c 300 "$TMP/body")"
[[ $(sql "SELECT COUNT(*) FROM search_jobs") == 10 ]] || fail "jobs indexed: $(sql "SELECT COUNT(*) FROM search_jobs")"
grep -q "not searchable\|search backfill stopped" "$DATA"/*.log && fail "indexing warnings in the node logs"
pass "search: the file's name found on PostgreSQL; all 10 jobs indexed"

# The server goes away and comes back: meanwhile requests fail with a clear
# error; afterwards the node carries on without a restart (its pooled
# connections and its listener reconnect).
pg_ctlcluster "$PGVERSION" regress stop -m fast || fail "cannot stop the server"
code=$(req GET "/api/v1/analyses/$LONG")
[[ $code == 500 ]] && grep -q "PostgreSQL at" "$TMP/body" ||
  fail "with the server down: HTTP $code: $(head -c 300 "$TMP/body")"
pass "server down: HTTP 500, $(json "$TMP/body" 'j["error"]["message"] if isinstance(j.get("error"), dict) else j')"
pg_ctlcluster "$PGVERSION" regress start || fail "cannot start the server again"
expect_status 200 "the same request once the server is back" GET "/api/v1/analyses/$LONG"
id=$(queue '["probe"]' '{}')
wait_job "$id" succeeded 15
pass "a job queued after the outage ran"

# A clean stop: workers and the listener end, the store closes (under ASan
# this is where leaks would show).
kill -TERM "${NPID[$LIVE]}"
wait "${NPID[$LIVE]}"
rc=$?
unset "NPID[$LIVE]"
[[ $rc == 0 ]] || fail "node $LIVE exited $rc on SIGTERM"
grep -qE "Sanitizer|runtime error" "$DATA"/*.log && fail "sanitizer reports in the node logs"
pass "node $LIVE stopped cleanly ($(elapsed) s)"
echo "all passed"
