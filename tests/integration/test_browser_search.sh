#!/usr/bin/env bash
# Search in the page, in a real browser (tests/browser/search.test.mjs),
# against a real `vidan serve`: this script draws "HELLO WORLD" on a clip
# from 1 s to 3 s (ffmpeg drawtext), uploads it as captions.mp4, runs
# `text`, checks through the API that "hello" finds it, and hands the
# analysis and the hit's start to the browser test: the search box, the
# result with HELLO marked, markup that stays text, and the hit opening its
# analysis with the player at the hit's time.
# Skips (77) without Chromium, node, playwright-core (browser_lib.sh
# installs the locked one), drawtext or the DejaVu font, or a vidan built
# without Tesseract.
# Env (from CTest): VIDAN, VD_SRC, VD_BUILD.
source "$(dirname "$0")/serve_lib.sh"
source "$(dirname "$0")/browser_lib.sh"
browser_ready
browser_need_drawtext

start_server --web "$VD_SRC/web"
has_analysis text || skip "this vidan has no text analysis registered"
ffmpeg -nostdin -v error -y -f lavfi -i "color=0x303848:s=640x360:r=25:d=5" -vf \
  "drawtext=fontfile=$font:text='HELLO WORLD':fontsize=40:fontcolor=white:x=(w-tw)/2:y=h-th-40:enable='between(t,1,3)'" \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p -movflags +faststart "$TMP/captions.mp4" ||
  fail "ffmpeg could not draw the caption"
expect_status 201 "upload captions.mp4" POST /api/v1/files -F "file=@$TMP/captions.mp4"
fid=$(json "$TMP/body" 'j["id"]')
expect_status 202 "start text" POST /api/v1/analyses -d "{\"file_id\": \"$fid\", \"analyses\": [\"text\"]}"
job=$(json "$TMP/body" 'j["id"]')
for _ in $(seq 1 600); do
  req GET "/api/v1/analyses/$job" >/dev/null
  st=$(json "$TMP/body" 'j["status"]')
  [[ $st == failed ]] && grep -q "without Tesseract" "$TMP/body" && skip "$(json "$TMP/body" 'j["error"]')"
  [[ $st == succeeded || $st == failed ]] && break
  sleep 0.1
done
[[ $st == succeeded ]] || fail "text is '$st': $(head -c 300 "$TMP/body")"
expect_status 200 "search hello" GET "/api/v1/search?q=hello"
start=$(json "$TMP/body" '[h["start"] for h in j["hits"] if h["analysis"] == "text" and h["job_id"] == "'"$job"'"][0]') ||
  fail "the API does not find the caption: $(head -c 300 "$TMP/body")"
pass "the API finds HELLO at $start s"

browser_run search.test.mjs 120 VD_JOB="$job" VD_HIT_START="$start"
