#!/usr/bin/env bash
# The duplicate check in the page, in a real browser
# (tests/browser/dup.test.mjs), against a real `vidan serve`: this script
# uploads an original, its re-encoded copy and the same picture with other
# sound (dup_lib.sh), runs `duplicates` on each in that order, checks the
# verdicts through the API, and hands the analyses to the browser test:
# the verdict in words, the match linked to the original's analysis, the
# picture and sound bars, and the hard case explained.
# Skips (77) without Chromium, node, playwright-core (browser_lib.sh
# installs the locked one) or a `duplicates` analysis.
# Env (from CTest): VIDAN, VD_SRC, VD_BUILD.
source "$(dirname "$0")/serve_lib.sh"
source "$(dirname "$0")/browser_lib.sh"
source "$(dirname "$0")/dup_lib.sh"
browser_ready

start_server --web "$VD_SRC/web"
has_analysis duplicates || skip "this vidan has no duplicates analysis registered"
make_clips "$TMP" || fail "ffmpeg could not make the clips"

# analyse NAME: uploads NAME.mp4 as NAME.mp4, runs duplicates, waits; sets JOB.
analyse() {
  expect_status 201 "upload $1" POST /api/v1/files -F "file=@$TMP/$2.mp4;filename=$1.mp4"
  local fid
  fid=$(json "$TMP/body" 'j["id"]')
  expect_status 202 "duplicates on $1" POST /api/v1/analyses -d "{\"file_id\": \"$fid\", \"analyses\": [\"duplicates\"]}"
  JOB=$(json "$TMP/body" 'j["id"]')
  wait_job "$JOB" succeeded 60
}
analyse original "$ORIG"
J_ORIG=$JOB
analyse copy "$COPY"
J_COPY=$JOB
[[ $(json "$TMP/body" 'j["result"]["results"]["duplicates"]["is_duplicate"]') == True ]] ||
  fail "the API does not call the copy a duplicate: $(head -c 600 "$TMP/body")"
analyse talk "$SAMEPIC"
J_TALK=$JOB
[[ $(json "$TMP/body" '[m["verdict"] for m in j["result"]["results"]["duplicates"]["matches"]]') == *same_picture* ]] ||
  fail "the API does not see the hard case: $(head -c 600 "$TMP/body")"
pass "the API: the copy is a duplicate, the other talk a hard case"

browser_run dup.test.mjs 120 VD_JOB_ORIG="$J_ORIG" VD_JOB_COPY="$J_COPY" VD_JOB_TALK="$J_TALK"
