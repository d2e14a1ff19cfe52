#!/usr/bin/env bash
# The page as a user meets it, every analysis at once, in a real browser
# (tests/browser/page.test.mjs), against a real `vidan serve`: this script
# makes a 2 s clip with a caption drawn on it (a talking face from the GRID
# clip in the test data when it is there, a lavfi test picture with a tone
# otherwise), runs every analysis the server offers on it, uploads a
# re-encoded copy and runs `duplicates` on that, and uploads a third file
# that gets no analysis with pictures (so it has no thumbnail). The browser
# test then looks at the library, the analysis page with all its panels and
# a search, at 1280 and 390 px: no console errors or failed requests,
# nothing wider than a phone's screen, every control reachable by Tab
# named and showing focus, and the library saying which file is a copy.
# Skips (77) without Chromium, node, playwright-core (browser_lib.sh
# installs the locked one) or ffmpeg's drawtext.
# Env (from CTest): VIDAN, VD_SRC, VD_BUILD, VD_TESTDATA (optional).
source "$(dirname "$0")/serve_lib.sh"
source "$(dirname "$0")/browser_lib.sh"
browser_ready
browser_need_drawtext

caption="drawtext=fontfile=$font:text='HELLO PAGE':fontsize=36:fontcolor=white:box=1:boxcolor=black:x=(w-tw)/2:y=h-th-20"
grid=${VD_TESTDATA:-/nonexistent}/faces/grid_bbaf2n.mpg
if [[ -r $grid ]]; then
  ffmpeg -nostdin -v error -y -i "$grid" -t 2 -vf "scale=640:512,$caption" -c:v libx264 -preset ultrafast \
    -pix_fmt yuv420p -c:a aac "$TMP/page.mp4" || fail "ffmpeg could not caption $grid"
else
  echo "note: $grid absent: a test picture instead of a face"
  ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=640x360:rate=25" -f lavfi -i "sine=frequency=300" \
    -t 2 -vf "$caption" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest "$TMP/page.mp4" ||
    fail "ffmpeg could not make the clip"
fi
ffmpeg -nostdin -v error -y -i "$TMP/page.mp4" -vf scale=320:256 -c:v libx264 -preset ultrafast -crf 30 \
  -c:a aac -b:a 64k "$TMP/copy.mp4" || fail "ffmpeg could not re-encode the clip"

start_server --web "$VD_SRC/web"
names=$(curl -s "$B/api/v1/analysis-types" | "$PY" -c "import json,sys
print(json.dumps([a['name'] for a in json.load(sys.stdin)['analyses'] if not a.get('x-internal')]))") ||
  fail "no analysis list"

# upload FILE NAME: sets FID.
upload() {
  expect_status 201 "upload $2" POST /api/v1/files -F "file=@$1;filename=$2"
  FID=$(json "$TMP/body" 'j["id"]')
}
# start FID ANALYSES-JSON: sets JOB.
start() {
  expect_status 202 "start $2" POST /api/v1/analyses -d "{\"file_id\": \"$1\", \"analyses\": $2}"
  JOB=$(json "$TMP/body" 'j["id"]')
}
upload "$TMP/page.mp4" page.mp4
F_PAGE=$FID
start "$F_PAGE" "$names"
J_ALL=$JOB
wait_job "$J_ALL" succeeded 240
dup=0
if [[ $names == *'"duplicates"'* ]]; then
  upload "$TMP/copy.mp4" copy.mp4
  F_COPY=$FID
  start "$F_COPY" '["duplicates"]'
  wait_job "$JOB" succeeded 60
  [[ $(json "$TMP/body" 'j["result"]["results"]["duplicates"]["is_duplicate"]') == True ]] ||
    fail "the API does not call the copy a duplicate: $(head -c 600 "$TMP/body")"
  dup=1
fi
# A file whose only analysis makes no picture: no thumbnail to show. (Other
# bytes than the copy's: the same bytes would be the same file.)
ffmpeg -nostdin -v error -y -i "$TMP/copy.mp4" -c:v libx264 -preset ultrafast -crf 40 -an "$TMP/nopicture.mp4" ||
  fail "ffmpeg could not make nopicture.mp4"
upload "$TMP/nopicture.mp4" nopicture.mp4
start "$FID" '["probe"]'
wait_job "$JOB" succeeded 30
expect_status 404 "no thumbnail for nopicture.mp4 (the API's answer)" GET "/api/v1/files/$FID/thumbnail"
ctype=$(curl -s -o "$TMP/body" -w '%{http_code} %{content_type}' "$B/api/v1/files/$FID/thumbnail?placeholder=1")
[[ $ctype == "200 image/svg+xml" ]] && grep -q '<svg' "$TMP/body" ||
  fail "?placeholder=1 should answer a stand-in picture, got $ctype: $(head -c 200 "$TMP/body")"
pass "?placeholder=1: the stand-in picture"

browser_run page.test.mjs 180 VD_JOB="$J_ALL" VD_DUP="$dup"
