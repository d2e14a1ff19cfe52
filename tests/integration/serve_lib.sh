# serve_lib.sh: helpers the test_serve_*.sh tests source. Starts the real
# `vidan serve` on an ephemeral port in a fresh data folder, talks to it with
# curl, reads JSON with python3, and cleans up. Not a test itself (the CTest
# glob only takes test_*.sh).
# Env (from CTest): VIDAN (the binary). Exit code 77 = skipped.

set -uo pipefail

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [[ -n "${DATA:-}" && -f "$DATA/server.log" ]] && tail -n 30 "$DATA/server.log"; exit 1; }
pass() { echo "ok - $*"; }

: "${VIDAN:?VIDAN must name the vidan binary}"
command -v curl >/dev/null || skip "curl is not installed"
# Debian's python3 first: a version-manager shim can take half a second to start.
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3) || skip "python3 is not installed"
command -v ffmpeg >/dev/null || skip "ffmpeg is not installed"
"$VIDAN" serve --help >/dev/null 2>&1 || skip "this vidan binary has no 'serve' command yet"

TMP=$(mktemp -d /tmp/vd-serve.XXXXXX)
SPID=""
cleanup() {
  [[ -n "$SPID" ]] && kill -9 "$SPID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

DATA=$TMP/var
mkdir -p "$DATA"

# start_server [extra serve options...]: sets B (base URL) and SPID.
start_server() {
  rm -f "$TMP/port"
  "$VIDAN" serve --listen 127.0.0.1:0 --data "$DATA" --port-file "$TMP/port" "$@" \
    >>"$DATA/server.log" 2>&1 &
  SPID=$!
  for _ in $(seq 1 100); do
    [[ -s "$TMP/port" ]] && break
    kill -0 "$SPID" 2>/dev/null || fail "vidan serve exited at start"
    sleep 0.05
  done
  [[ -s "$TMP/port" ]] || fail "vidan serve did not start listening"
  B="http://127.0.0.1:$(cat "$TMP/port")"
}

stop_server() {
  [[ -n "$SPID" ]] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
  SPID=""
}

# json FILE EXPR: prints a Python expression over the parsed JSON `j`.
json() { "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# req METHOD URL [curl args...]: body in $TMP/body, prints the status code.
req() {
  local m=$1 u=$2
  shift 2
  curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" "$@" "$B$u"
}

# expect_status WANT DESCRIPTION METHOD URL [curl args...]
expect_status() {
  local want=$1 what=$2
  shift 2
  local got
  got=$(req "$@")
  [[ "$got" == "$want" ]] || fail "$what: wanted HTTP $want, got $got: $(head -c 300 "$TMP/body")"
  pass "$what ($got)"
}

# wait_job ID STATE [seconds]: polls /api/v1/analyses/ID until status == STATE.
wait_job() {
  local id=$1 want=$2 secs=${3:-20} st=""
  for _ in $(seq 1 $((secs * 10))); do
    req GET "/api/v1/analyses/$id" >/dev/null
    st=$(json "$TMP/body" 'j.get("status")')
    [[ "$st" == "$want" ]] && return 0
    case "$st" in succeeded | failed | canceled) [[ "$st" != "$want" ]] && break ;; esac
    sleep 0.1
  done
  fail "analysis $id is '$st', wanted '$want': $(head -c 400 "$TMP/body")"
}

has_analysis() {
  curl -s "$B/api/v1/analysis-types" | "$PY" -c "import json,sys; sys.exit(0 if '$1' in [a['name'] for a in json.load(sys.stdin)['analyses']] else 1)"
}

# make_video NAME [seconds]: a small H.264 file from lavfi.
make_video() {
  ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc=size=160x120:rate=10" \
    -f lavfi -i "sine=frequency=440:sample_rate=16000" -t "${2:-2}" -pix_fmt yuv420p \
    -c:v libx264 -c:a aac -shortest "$TMP/$1" || fail "ffmpeg could not make $1"
}

# Stored blobs (not temp files), and leftover upload temp files.
blob_count() { find "$DATA/blobs" -mindepth 2 -maxdepth 2 -type f -path "$DATA/blobs/??/*" | wc -l; }
tmp_count() { find "$DATA/blobs/tmp" -type f 2>/dev/null | wc -l; }
