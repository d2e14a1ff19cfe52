#!/usr/bin/env bash
# test_serve_crash.sh: kill -9 the server mid-job, start it again: the job
# is taken again once its lease expires and completes; the upload is intact
# (its SHA-256 re-checked); nothing is duplicated (one file row, one job,
# one blob, no temp files).
source "$(dirname "$0")/serve_lib.sh"

make_video a.mp4 2
SHA=$(sha256sum "$TMP/a.mp4" | cut -c1-64)
start_server --workers 1 --lease 1
has_analysis sleep || skip "the sleep analysis is not registered in this build"
# Long enough that the kill below lands mid-job; sanitized builds on a
# loaded machine can take seconds between seeing "running" and the kill.
SLEEP=3
[[ -n "${VD_SANITIZED:-}" ]] && SLEEP=8

expect_status 201 "upload" POST /api/v1/files -F "file=@$TMP/a.mp4"
expect_status 202 "start a $SLEEP s job" POST /api/v1/analyses \
  -d "{\"file_id\":\"$SHA\",\"analyses\":[\"probe\",\"sleep\"],\"params\":{\"sleep\":{\"time\":$SLEEP}}}"
JOB=$(json "$TMP/body" 'j["id"]')
wait_job "$JOB" running 10
sleep 0.5
req GET "/api/v1/analyses/$JOB" >/dev/null
[[ $(json "$TMP/body" 'j["progress"] > 0') == True ]] || fail "no progress recorded before the crash"
kill -9 "$SPID"
wait "$SPID" 2>/dev/null
SPID=""
pass "server killed with SIGKILL mid-job"

start_server --workers 1 --lease 1
wait_job "$JOB" succeeded $((SLEEP + 17))
[[ $(json "$TMP/body" 'j["attempts"]') == 2 ]] || fail "expected a second attempt: $(head -c 300 "$TMP/body")"
[[ $(json "$TMP/body" 'j["result"]["results"]["sleep"]["slept"] >= '$SLEEP' - 0.1') == True ]] || fail "result"
pass "the job was taken again after its lease expired and completed"

expect_status 200 "download the upload" GET "/api/v1/files/$SHA/content"
[[ $(sha256sum "$TMP/body" | cut -c1-64) == "$SHA" ]] || fail "upload damaged"
[[ $(sha256sum "$DATA/blobs/${SHA:0:2}/$SHA" | cut -c1-64) == "$SHA" ]] || fail "blob damaged"
pass "upload intact, hash verified"

expect_status 200 "list files" GET /api/v1/files
[[ $(json "$TMP/body" 'len(j["files"])') == 1 ]] || fail "files duplicated"
expect_status 200 "list analyses" GET /api/v1/analyses
[[ $(json "$TMP/body" 'len(j["analyses"])') == 1 ]] || fail "jobs duplicated"
[[ $(blob_count) == 1 ]] || fail "blobs duplicated: $(blob_count)"
[[ $(tmp_count) == 0 ]] || fail "temp files left"
[[ -z "$(ls -A "$DATA/work" 2>/dev/null)" ]] || fail "work folder left: $(ls "$DATA/work")"
pass "nothing duplicated, nothing left over"

# A job whose worker keeps dying fails after --max-attempts, keeping the error.
stop_server
start_server --workers 1 --lease 1 --max-attempts 2
expect_status 202 "start a job that will be killed twice" POST /api/v1/analyses \
  -d "{\"file_id\":\"$SHA\",\"analyses\":[\"sleep\"],\"params\":{\"sleep\":{\"time\":30}}}"
J2=$(json "$TMP/body" 'j["id"]')
for attempt in 1 2; do
  for _ in $(seq 1 100); do # the row says running until the lease is retaken
    req GET "/api/v1/analyses/$J2" >/dev/null
    [[ $(json "$TMP/body" 'j["attempts"]') == "$attempt" ]] && break
    sleep 0.1
  done
  wait_job "$J2" running 10
  kill -9 "$SPID"
  wait "$SPID" 2>/dev/null
  start_server --workers 1 --lease 1 --max-attempts 2
done
wait_job "$J2" failed 10
json "$TMP/body" 'j["error"]' | grep -q "lease expired" || fail "error text: $(head -c 300 "$TMP/body")"
pass "after max attempts the job fails with the last error"
stop_server
echo "all passed"
