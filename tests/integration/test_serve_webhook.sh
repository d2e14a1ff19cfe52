#!/usr/bin/env bash
# test_serve_webhook.sh: when a job ends, vidan POSTs its final status to the
# job's webhook, retrying with backoff: the receiver here fails the first
# delivery with HTTP 500 and records the second.
source "$(dirname "$0")/serve_lib.sh"

make_video a.mp4 1
SHA=$(sha256sum "$TMP/a.mp4" | cut -c1-64)
"$PY" - "$TMP" <<'PYEOF' &
import http.server, sys, os
tmp = sys.argv[1]
calls = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        calls[0] += 1
        with open(os.path.join(tmp, "hook.log"), "ab") as f:
            f.write(b"%d %s\n" % (calls[0], body))
        self.send_response(500 if calls[0] == 1 else 200)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(os.path.join(tmp, "hook.port.tmp"), "w").write(str(s.server_address[1]))
os.rename(os.path.join(tmp, "hook.port.tmp"), os.path.join(tmp, "hook.port"))
s.timeout = 0.2
for _ in range(300):
    s.handle_request()
    if calls[0] >= 2:
        break
PYEOF
HPID=$!
for _ in $(seq 1 50); do [[ -s "$TMP/hook.port" ]] && break; sleep 0.1; done
[[ -s "$TMP/hook.port" ]] || fail "webhook receiver did not start"
HOOK="http://127.0.0.1:$(cat "$TMP/hook.port")/done"

start_server --workers 1
expect_status 201 "upload" POST /api/v1/files -F "file=@$TMP/a.mp4"
expect_status 202 "analysis with a webhook" POST /api/v1/analyses \
  -d "{\"file_id\":\"$SHA\",\"analyses\":[\"probe\"],\"webhook\":\"$HOOK\"}"
JOB=$(json "$TMP/body" 'j["id"]')
wait_job "$JOB" succeeded 20
for _ in $(seq 1 100); do
  [[ $(wc -l <"$TMP/hook.log" 2>/dev/null || echo 0) -ge 2 ]] && break
  sleep 0.1
done
[[ $(wc -l <"$TMP/hook.log") -ge 2 ]] || fail "webhook not retried: $(cat "$TMP/hook.log" 2>/dev/null)"
sed -n 2p "$TMP/hook.log" | grep -q "\"id\":\"$JOB\"" || fail "webhook body: $(cat "$TMP/hook.log")"
sed -n 2p "$TMP/hook.log" | grep -q '"status":"succeeded"' || fail "webhook status: $(cat "$TMP/hook.log")"
pass "final status delivered, after one failed try"
expect_status 200 "metrics" GET /metrics
grep -q 'vidan_webhooks_total{outcome="delivered"} 1' "$TMP/body" || fail "webhook metrics"
wait "$HPID" 2>/dev/null
stop_server
echo "all passed"
