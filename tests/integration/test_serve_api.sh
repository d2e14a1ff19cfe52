#!/usr/bin/env bash
# test_serve_api.sh: the /api/v1 happy paths against a real `vidan serve`:
# upload → analyze → result, dedupe, prefixes, Range, listing, SSE, cancel
# within a second, delete rules, GET / negotiation, OpenAPI, /docs, metrics.
source "$(dirname "$0")/serve_lib.sh"

make_video a.mp4 2
start_server --workers 2
SHA=$(sha256sum "$TMP/a.mp4" | cut -c1-64)

expect_status 201 "upload a video" POST /api/v1/files -F "file=@$TMP/a.mp4"
[[ $(json "$TMP/body" 'j["id"]') == "$SHA" ]] || fail "file id is not the SHA-256 of the bytes"
[[ $(json "$TMP/body" 'j["filename"]') == "a.mp4" ]] || fail "filename not kept"
[[ $(json "$TMP/body" 'j["probe"]["duration"] > 1.5') == True ]] || fail "probe summary missing"
pass "upload answer has id = sha256, filename and probe"

expect_status 201 "same bytes again, raw body with ?filename=" POST "/api/v1/files?filename=b.mp4" \
  --data-binary "@$TMP/a.mp4" -H "Content-Type: application/octet-stream"
[[ $(json "$TMP/body" 'j["id"]') == "$SHA" ]] || fail "dedupe: different id"
[[ $(blob_count) == 1 ]] || fail "dedupe: more than one blob"
pass "identical content stored once"

expect_status 200 "metadata by 6-hex prefix" GET "/api/v1/files/${SHA:0:6}"
[[ $(json "$TMP/body" 'j["size"]') == $(stat -c %s "$TMP/a.mp4") ]] || fail "size"
expect_status 400 "a 5-hex prefix is not an id" GET "/api/v1/files/${SHA:0:5}"
expect_status 404 "unknown id" GET "/api/v1/files/000000ffffff"
expect_status 200 "list files" GET "/api/v1/files?limit=1"
[[ $(json "$TMP/body" 'len(j["files"])') == 1 ]] || fail "listing"

expect_status 200 "download" GET "/api/v1/files/$SHA/content"
cmp -s "$TMP/body" "$TMP/a.mp4" || fail "downloaded bytes differ"
expect_status 206 "Range request" GET "/api/v1/files/$SHA/content" -H "Range: bytes=10-19"
[[ $(stat -c %s "$TMP/body") == 10 ]] || fail "range length"
cmp -s "$TMP/body" <(tail -c +11 "$TMP/a.mp4" | head -c 10) || fail "range bytes"
expect_status 416 "unsatisfiable range" GET "/api/v1/files/$SHA/content" -H "Range: bytes=99999999-"

expect_status 202 "start probe" POST /api/v1/analyses -d "{\"file_id\":\"${SHA:0:8}\",\"analyses\":[\"probe\"]}"
JOB=$(json "$TMP/body" 'j["id"]')
wait_job "$JOB" succeeded 20
[[ $(json "$TMP/body" 'j["result"]["results"]["probe"]["streams"][0]["type"]') == video ]] || fail "probe result"
[[ $(json "$TMP/body" 'j["result"]["input"]') == "$SHA" ]] || fail "result leaks the server path"
pass "probe result stored and served"
expect_status 200 "SSE of a finished job ends with its final state" GET "/api/v1/analyses/$JOB/events" --max-time 5
grep -q '^event: end' "$TMP/body" && grep -q '"succeeded"' "$TMP/body" || fail "SSE body: $(cat "$TMP/body")"
expect_status 200 "list analyses of the file" GET "/api/v1/analyses?file_id=${SHA:0:10}&status=succeeded"
[[ $(json "$TMP/body" 'len(j["analyses"])') == 1 ]] || fail "filtered listing"
expect_status 404 "unknown artifact" GET "/api/v1/analyses/$JOB/artifacts/nope.json"

if has_analysis scenes; then
  expect_status 404 "no thumbnail before an analysis made one" GET "/api/v1/files/$SHA/thumbnail"
  expect_status 202 "start scenes" POST /api/v1/analyses -d "{\"file_id\":\"$SHA\",\"analyses\":[\"scenes\"]}"
  SCJ=$(json "$TMP/body" 'j["id"]')
  wait_job "$SCJ" succeeded 30
  ART=$(json "$TMP/body" '[a["name"] for a in j["artifacts"] if a["name"].endswith(".jpg")][0]')
  expect_status 200 "artifact download" GET "/api/v1/analyses/$SCJ/artifacts/$ART"
  [[ $(head -c 3 "$TMP/body" | od -An -tx1 | tr -d ' ') == ffd8ff ]] || fail "artifact is not a JPEG"
  expect_status 200 "thumbnail from the scene pictures" GET "/api/v1/files/$SHA/thumbnail"
fi

if has_analysis sleep; then
  expect_status 202 "start a long sleep" POST /api/v1/analyses \
    -d "{\"file_id\":\"$SHA\",\"analyses\":[\"sleep\"],\"params\":{\"sleep\":{\"time\":30}}}"
  SJ=$(json "$TMP/body" 'j["id"]')
  wait_job "$SJ" running 10
  # SSE while it runs: progress events arrive live.
  curl -s -N --max-time 1.5 "$B/api/v1/analyses/$SJ/events" >"$TMP/sse" || true
  grep -q '^event: progress' "$TMP/sse" || fail "no live progress events: $(head -c 300 "$TMP/sse")"
  pass "SSE streams progress while running"
  expect_status 409 "delete a file with a running job" DELETE "/api/v1/files/$SHA"
  t0=$(date +%s.%N)
  expect_status 200 "cancel+delete the running job" DELETE "/api/v1/analyses/$SJ"
  for _ in $(seq 1 20); do
    busy=$(curl -s "$B/metrics" | sed -n 's/^vidan_workers{state="busy"} //p')
    [[ "$busy" == 0 ]] && break
    sleep 0.05
  done
  el=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
  [[ "$busy" == 0 ]] || fail "worker still busy after cancel"
  awk -v e="$el" 'BEGIN { exit !(e < 1.0) }' || fail "cancel took ${el}s"
  pass "running job stopped within a second (${el}s)"
  expect_status 404 "deleted job is gone" GET "/api/v1/analyses/$SJ"

  expect_status 202 "another sleep" POST /api/v1/analyses \
    -d "{\"file_id\":\"$SHA\",\"analyses\":[\"sleep\"],\"params\":{\"sleep\":{\"time\":30}}}"
  SJ=$(json "$TMP/body" 'j["id"]')
  wait_job "$SJ" running 10
  expect_status 200 "force-delete the file while its job runs" DELETE "/api/v1/files/$SHA?force=1"
  expect_status 404 "its analyses went with it" GET "/api/v1/analyses/$SJ"
  [[ $(blob_count) == 0 ]] || fail "blob left after delete"
  pass "file blob deleted"
else
  echo "# sleep analysis not registered: cancel/delete-while-running checks skipped"
fi

expect_status 200 "GET / for scripts is JSON" GET / -H "Accept: */*"
[[ $(json "$TMP/body" 'j["service"]') == vidan ]] || fail "status JSON"
code=$(req GET / -H "Accept: text/html,application/xhtml+xml")
if [[ -f "${VD_SRC:-/nonexistent}/web/index.html" ]]; then
  [[ "$code" == 200 ]] && grep -qi '<html' "$TMP/body" || fail "browser did not get the page"
  pass "GET / for browsers is the page"
fi
expect_status 200 "OpenAPI" GET /api/openapi.json
[[ $(json "$TMP/body" '"probe" in j["components"]["schemas"]["AnalysisRequest"]["properties"]["analyses"]["items"]["enum"]') == True ]] ||
  fail "OpenAPI enum lacks probe"
expect_status 200 "docs page" GET /docs
expect_status 200 "metrics" GET /metrics
grep -q 'vidan_http_requests_total{route="/api/v1/files",status="201"} 2' "$TMP/body" || fail "request metrics"
grep -q 'vidan_jobs{state="succeeded"}' "$TMP/body" || fail "job metrics"
pass "metrics count requests by route and status"
expect_status 200 "healthz" GET /healthz

stop_server
echo "all passed"
