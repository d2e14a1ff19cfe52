#!/usr/bin/env bash
# test_webhook_restart.sh: a webhook delivery that is still pending when the
# server is killed is sent after the restart, exactly once, with the job's
# final status. The receiver is down while the job ends (the first try is
# refused), the server is killed with SIGKILL before the retry, the delivery
# is checked to be in the database, then the receiver comes up and the
# server starts again.
source "$(dirname "$0")/serve_lib.sh"
"$PY" -c "import sqlite3" 2>/dev/null || skip "python3 has no sqlite3 module"

make_video a.mp4 1
SHA=$(sha256sum "$TMP/a.mp4" | cut -c1-64)
# A free port, with nothing listening on it yet.
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HOOK="http://127.0.0.1:$PORT/done"
T0=$(date +%s)

start_server --workers 1
expect_status 201 "upload" POST /api/v1/files -F "file=@$TMP/a.mp4"
expect_status 202 "analysis with a webhook whose receiver is down" POST /api/v1/analyses \
  -d "{\"file_id\":\"$SHA\",\"analyses\":[\"probe\"],\"webhook\":\"$HOOK\"}"
JOB=$(json "$TMP/body" 'j["id"]')
wait_job "$JOB" succeeded 20
# The first try is refused at once; the retry is a second later.
for _ in $(seq 1 100); do
  grep -q "webhook $HOOK" "$DATA/server.log" && break
  sleep 0.02
done
grep -q "webhook $HOOK" "$DATA/server.log" || fail "no failed delivery logged"
kill -9 "$SPID"
wait "$SPID" 2>/dev/null
SPID=""
pass "server killed with SIGKILL while the delivery was pending"

# pending_rows: job_id, attempts, body of each stored delivery, one per line.
pending_rows() {
  "$PY" - "$DATA/vidan.db" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
for row in db.execute("SELECT job_id, attempts, body FROM webhooks"):
    print("%s %d %s" % row)
PYEOF
}
ROWS=$(pending_rows) || fail "cannot read the database"
[[ $(printf '%s\n' "$ROWS" | grep -c .) == 1 ]] || fail "pending deliveries: '$ROWS'"
# One try was refused before the kill (two or more on a slow machine; five
# would have used them all up).
[[ $ROWS =~ ^$JOB\ [1-4]\ \{ ]] || fail "stored delivery: $ROWS"
pass "the delivery is stored, with its tries so far ($(cut -d' ' -f2 <<<"$ROWS"))"

# The receiver comes up on the webhook's port and records every POST.
"$PY" - "$TMP" "$PORT" <<'PYEOF' &
import http.server, sys, os
tmp, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(os.path.join(tmp, "hook.log"), "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", port), H)
open(os.path.join(tmp, "hook.up"), "w").close()
s.timeout = 0.2
for _ in range(150):
    s.handle_request()
PYEOF
HPID=$!
for _ in $(seq 1 50); do [[ -e "$TMP/hook.up" ]] && break; sleep 0.1; done
[[ -e "$TMP/hook.up" ]] || fail "webhook receiver did not start"

start_server --workers 1
for _ in $(seq 1 100); do
  [[ -s "$TMP/hook.log" ]] && break
  sleep 0.1
done
[[ -s "$TMP/hook.log" ]] || fail "the pending webhook was not sent after the restart"
pass "delivered after the restart"

# Exactly once: nothing is left to send, and nothing more arrives.
for _ in $(seq 1 50); do
  [[ -z "$(pending_rows)" ]] && break
  sleep 0.1
done
[[ -z "$(pending_rows)" ]] || fail "delivery still pending after it was sent: $(pending_rows)"
sleep 1.5
[[ $(wc -l <"$TMP/hook.log") == 1 ]] || fail "webhook arrived more than once: $(cat "$TMP/hook.log")"
"$PY" - "$TMP/hook.log" "$JOB" "$SHA" "$T0" <<'PYEOF' || fail "payload: $(cat "$TMP/hook.log")"
import json, sys, time
body = json.loads(open(sys.argv[1]).read())
assert body["id"] == sys.argv[2], body
assert body["status"] == "succeeded", body
assert body["file_id"] == sys.argv[3], body
assert body["error"] is None, body
assert int(sys.argv[4]) - 1 <= body["finished_at"] <= time.time(), body
PYEOF
pass "exactly one POST, with the job's id, status, file and finish time"

expect_status 200 "metrics" GET /metrics
grep -q 'vidan_webhooks_total{outcome="delivered"} 1' "$TMP/body" || fail "webhook metrics"
kill "$HPID" 2>/dev/null
stop_server
echo "all passed"
