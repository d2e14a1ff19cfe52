#!/usr/bin/env bash
# The objects view of the page in a real browser (tests/browser/
# objects.test.mjs), against a real `vidan serve`: this script builds a
# clip from the shared GRID clip (3 s of a person, 3 s of black, the person
# again), uploads it over the API, runs `objects` (1 fps) with the annotated video,
# checks the result through the API (person in two ranges, the second from
# 6 s; objects.mp4 among the artifacts), then the browser checks the panel,
# that the second range's button and strip seek the player there, and the
# boxes switch.
# Skips (77) without Chromium, node, playwright-core (browser_lib.sh installs
# the locked one), the model, or ../shared/testdata.
# Env (from CTest): VIDAN, VD_SRC, VD_TESTDATA, VD_BUILD.
. "$(dirname "$0")/serve_lib.sh"
. "$(dirname "$0")/browser_lib.sh"
browser_ready
clip=${VD_TESTDATA:-$VD_SRC/../shared/testdata}/faces/grid_bbaf2n.mpg
export VIDAN_MODELS=${VIDAN_MODELS:-$VD_SRC/models}
[[ -f $clip ]] || skip "$clip is missing (shared test data)"
[[ -f $VIDAN_MODELS/centernet.json ]] || skip "centernet is not installed in $VIDAN_MODELS (scripts/models)"

start_server --web "$VD_SRC/web"
has_analysis objects || skip "this vidan has no objects analysis registered"
ffmpeg -nostdin -v error -y -i "$clip" -f lavfi -i color=black:size=360x288:rate=25 -filter_complex \
  "[0:v]trim=0:3,setpts=PTS-STARTPTS,format=yuv420p[a];[1:v]trim=0:3,setpts=PTS-STARTPTS,format=yuv420p[b];[0:v]trim=0:3,setpts=PTS-STARTPTS,format=yuv420p[c];[a][b][c]concat=n=3:v=1:a=0" \
  -c:v libx264 -an -movflags +faststart "$TMP/gap.mp4" || fail "ffmpeg could not build the clip"
expect_status 201 "upload person, black, person" POST /api/v1/files -F "file=@$TMP/gap.mp4"
fid=$(json "$TMP/body" 'j["id"]')
expect_status 202 "start objects with the annotated video" POST /api/v1/analyses -H 'Content-Type: application/json' \
  -d "{\"file_id\": \"$fid\", \"analyses\": [\"objects\"], \"params\": {\"objects\": {\"annotate\": true, \"fps\": 1}}}"
job=$(json "$TMP/body" 'j["id"]')
wait_job "$job" succeeded 120
req GET "/api/v1/analyses/$job" >/dev/null
start=$("$PY" - "$TMP/body" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
res = j["result"]["results"]["objects"]
person = [l for l in res["labels"] if l["label"] == "person"]
assert person and len(person[0]["ranges"]) == 2, res["labels"]
start = person[0]["ranges"][1]["start"]
assert 5.9 <= start <= 6.1, person[0]["ranges"]
names = json.dumps(j.get("artifacts") or j["result"].get("artifacts"))
assert "objects.mp4" in names, names
print(start)
PY
) || fail "the objects result through the API: $(head -c 400 "$TMP/body")"
pass "the API gives person in two ranges, the second from $start s, and objects.mp4"

browser_run objects.test.mjs 120 VD_JOB="$job" VD_RANGE_START="$start"
