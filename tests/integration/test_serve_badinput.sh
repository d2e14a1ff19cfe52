#!/usr/bin/env bash
# test_serve_badinput.sh: bad requests get a clear 4xx, never a crash, a hang
# or a temp file left behind: malformed multipart, missing fields, invalid
# JSON, unknown ids and analyses, path traversal, huge headers, a trickling
# upload, empty / oversized / non-media files, and concurrent uploads of the
# same bytes.
source "$(dirname "$0")/serve_lib.sh"

make_video a.mp4 2
make_video b.mp4 1
head -c 3000000 /dev/urandom >"$TMP/big.bin"
: >"$TMP/empty.mp4"
echo "hello, not a video" >"$TMP/hello.txt"
SHA=$(sha256sum "$TMP/a.mp4" | cut -c1-64)
start_server --workers 1 --max-upload 2M --timeout 3 --upload-grace 1 --min-upload-rate 20000

alive() { curl -sf -o /dev/null "$B/healthz" || fail "server died after: $1"; }
no_tmp() { [[ $(tmp_count) == 0 ]] || fail "temp file left after: $1"; }

# ---- uploads refused ----
expect_status 400 "empty file" POST /api/v1/files -F "file=@$TMP/empty.mp4"
no_tmp "empty file"
expect_status 415 "non-media file" POST /api/v1/files -F "file=@$TMP/hello.txt"
json "$TMP/body" 'j["error"]' | grep -q "hello.txt" || fail "415 message does not name the file"
no_tmp "non-media"
expect_status 413 "over the 2 MiB limit (multipart)" POST /api/v1/files -F "file=@$TMP/big.bin"
no_tmp "413 multipart"
expect_status 413 "over the limit (raw body)" POST "/api/v1/files?filename=x.bin" \
  --data-binary "@$TMP/big.bin" -H "Content-Type: application/octet-stream"
no_tmp "413 raw"
expect_status 413 "over the limit (chunked, no Content-Length)" POST "/api/v1/files?filename=x.bin" \
  -H "Transfer-Encoding: chunked" -H "Content-Type: application/octet-stream" --data-binary "@$TMP/big.bin"
no_tmp "413 chunked"
expect_status 400 "multipart without field 'file'" POST /api/v1/files -F "other=@$TMP/a.mp4"
no_tmp "missing field"

# ---- malformed multipart ----
printf -- '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nabcdef' >"$TMP/trunc"
expect_status 400 "multipart without its closing boundary" POST /api/v1/files \
  -H "Content-Type: multipart/form-data; boundary=XYZ" --data-binary "@$TMP/trunc"
no_tmp "truncated multipart"
printf -- '--XYZ\r\nno colon here\r\n\r\nx\r\n--XYZ--\r\n' >"$TMP/badhdr"
expect_status 400 "multipart part header without a colon" POST /api/v1/files \
  -H "Content-Type: multipart/form-data; boundary=XYZ" --data-binary "@$TMP/badhdr"
expect_status 400 "multipart with no boundary parameter" POST /api/v1/files \
  -H "Content-Type: multipart/form-data" --data-binary "@$TMP/trunc"
expect_status 400 "multipart boundary with forbidden characters" POST /api/v1/files \
  -H 'Content-Type: multipart/form-data; boundary="a\rb"' --data-binary "@$TMP/trunc"
no_tmp "malformed multipart"
alive "malformed multipart"

# ---- path traversal ----
cp "$TMP/a.mp4" "$TMP/evil.mp4"
expect_status 201 "upload named ../../../etc/passwd.mp4" POST /api/v1/files \
  -F "file=@$TMP/evil.mp4;filename=../../../etc/passwd.mp4"
[[ $(json "$TMP/body" 'j["filename"]') == "passwd.mp4" ]] || fail "name not sanitised: $(cat "$TMP/body")"
expect_status 201 "raw upload with ?filename=..%2F..%2Fx.mp4" POST "/api/v1/files?filename=..%2F..%2Fx.mp4" \
  --data-binary "@$TMP/b.mp4" -H "Content-Type: video/mp4"
[[ $(json "$TMP/body" 'j["filename"]') == "x.mp4" ]] || fail "raw name not sanitised"
[[ ! -e "$DATA/../etc" && ! -e "$TMP/etc" && ! -e "$DATA/x.mp4" ]] || fail "a file escaped the data folder"
code=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$B/../../../etc/passwd")
[[ "$code" == 404 || "$code" == 400 ]] || fail "static path traversal answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$B/%2e%2e/%2e%2e/etc/passwd")
[[ "$code" == 404 || "$code" == 400 ]] || fail "encoded static traversal answered $code"
expect_status 404 "compat A traversal id" GET "/file/..%2F..%2Fetc%2Fpasswd"
pass "path traversal refused"

# ---- JSON bodies and ids ----
expect_status 400 "invalid JSON" POST /api/v1/analyses -d '{"file_id": "abc",'
expect_status 400 "JSON that is not an object" POST /api/v1/analyses -d '[1,2]'
expect_status 400 "missing file_id" POST /api/v1/analyses -d '{"analyses":["probe"]}'
expect_status 400 "missing analyses" POST /api/v1/analyses -d "{\"file_id\":\"$SHA\"}"
expect_status 400 "unknown analysis" POST /api/v1/analyses -d "{\"file_id\":\"$SHA\",\"analyses\":[\"nope\"]}"
[[ $(json "$TMP/body" '"probe" in j["valid_analyses"]') == True ]] || fail "400 does not list valid analyses"
expect_status 400 "unknown parameter" POST /api/v1/analyses \
  -d "{\"file_id\":\"$SHA\",\"analyses\":[\"probe\"],\"params\":{\"probe\":{\"bogus\":1}}}"
# Parameters that name files on the server (a speech model) are the command
# line's, never a remote client's.
expect_status 400 "a model path from a client" POST /api/v1/analyses \
  -d "{\"file_id\":\"$SHA\",\"analyses\":[\"transcript\"],\"params\":{\"transcript\":{\"dict\":\"/etc/passwd\"}}}"
grep -q "command line only" "$TMP/body" || fail "the refusal does not say why: $(cat "$TMP/body")"
expect_status 400 "unknown top-level field" POST /api/v1/analyses -d "{\"file_id\":\"$SHA\",\"analyses\":[\"probe\"],\"x\":1}"
expect_status 400 "webhook that is not http(s)" POST /api/v1/analyses \
  -d "{\"file_id\":\"$SHA\",\"analyses\":[\"probe\"],\"webhook\":\"file:///etc/passwd\"}"
expect_status 404 "analysis for an unknown file" POST /api/v1/analyses -d '{"file_id":"abcdef0123","analyses":["probe"]}'
expect_status 400 "file_id that is not hex" POST /api/v1/analyses -d '{"file_id":"../../x","analyses":["probe"]}'
expect_status 404 "unknown analysis id" GET /api/v1/analyses/not-a-uuid
expect_status 404 "well-formed unknown analysis id" GET /api/v1/analyses/00000000-0000-4000-8000-000000000000
expect_status 404 "unknown file id" GET /api/v1/files/0123456789abcdef
expect_status 400 "bad status filter" GET "/api/v1/analyses?status=bogus"
expect_status 404 "unknown route" GET /api/v1/nothing-here
expect_status 405 "wrong method" PUT /api/v1/files
dd if=/dev/zero bs=1M count=2 2>/dev/null | tr '\0' ' ' >"$TMP/bigjson"
expect_status 413 "JSON body over 1 MiB" POST /api/v1/analyses --data-binary "@$TMP/bigjson"
alive "bad JSON and ids"

# ---- huge headers ----
HUGE=$(head -c 100000 /dev/zero | tr '\0' 'a')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Huge: $HUGE" "$B/healthz")
[[ "$code" =~ ^4[0-9][0-9]$ || "$code" == 000 ]] || fail "100 kB header answered $code"
alive "huge header"
pass "huge header refused ($code)"

# ---- a trickling upload is cut off ----
"$PY" - "$(cat "$TMP/port")" <<'PYEOF' || fail "trickling upload was not cut off"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /api/v1/files?filename=slow.mp4 HTTP/1.1\r\nHost: x\r\n"
          b"Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n")
t0 = time.time()
s.settimeout(0.3)
while time.time() - t0 < 8:
    try:
        s.sendall(b"x" * 10)
    except OSError:
        sys.exit(0)                      # closed on us: good
    try:
        if s.recv(4096) is not None:     # a response (408) or EOF
            sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
PYEOF
sleep 0.3
no_tmp "trickling upload"
alive "trickling upload"
pass "trickling upload timed out and its temp file is gone"

# ---- concurrent uploads of the same file ----
before=$(blob_count)
pids=()
for i in 1 2 3 4 5 6; do
  curl -s -o "$TMP/c$i" -w '%{http_code}' -F "file=@$TMP/a.mp4;filename=c$i.mp4" "$B/api/v1/files" >"$TMP/s$i" &
  pids+=($!)
done
wait "${pids[@]}" # not a bare wait: the server is a child too
for i in 1 2 3 4 5 6; do
  [[ $(cat "$TMP/s$i") == 201 ]] || fail "concurrent upload $i: $(cat "$TMP/s$i") $(cat "$TMP/c$i")"
  [[ $(json "$TMP/c$i" 'j["id"]') == "$SHA" ]] || fail "concurrent upload $i: id"
done
[[ $(blob_count) == "$before" ]] || fail "concurrent uploads stored duplicates"
no_tmp "concurrent uploads"
expect_status 200 "file list" GET /api/v1/files
[[ $(json "$TMP/body" 'len([f for f in j["files"] if f["id"] == "'"$SHA"'"])') == 1 ]] || fail "duplicate file rows"
pass "6 concurrent uploads of the same bytes: one blob, one row"
stop_server
echo "all passed"
