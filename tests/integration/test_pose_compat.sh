#!/usr/bin/env bash
# test_pose_compat.sh: the old file-and-analysis service's pose names
# (shared/compat.md section A) through the real server: `label-image` on an
# uploaded picture and `video` / `label` on an uploaded clip run `pose`;
# GET /analysis/<id> answers {"result": <pose result>, "pose_file": <id>}
# and that file (pose.jpg / pose.mp4) downloads. `model` takes the
# installed model and refuses another with 400 naming the valid one. With
# the shared test data, a frame of the azavatar clip shows a person.
# Env (from CTest): VIDAN, VD_SRC, VD_TESTDATA. Exit 77 = skipped.
source "$(dirname "$0")/serve_lib.sh"
: "${VD_SRC:?VD_SRC must name the source tree}"
export VIDAN_MODELS=${VIDAN_MODELS:-$VD_SRC/models}
[[ -f $VIDAN_MODELS/movenet-lightning.json ]] || skip "models not installed in $VIDAN_MODELS (scripts/models)"
az=${VD_TESTDATA:-$VD_SRC/../shared/testdata}/faces/azavatar_status0_speaking.mp4

make_video clip.mp4 2
ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc=size=320x240" -frames:v 1 "$TMP/still.png" ||
  fail "ffmpeg still.png"
have_az=0
if [[ -f $az ]]; then
  ffmpeg -nostdin -loglevel error -y -ss 1 -i "$az" -frames:v 1 -vf scale=640:-2 "$TMP/az.jpg" || fail "ffmpeg az.jpg"
  have_az=1
fi
start_server --workers 1
has_analysis pose || skip "this vidan has no pose analysis registered"

upload() { # file -> prints its id
  [[ $(req POST /file -F "file=@$TMP/$1") == 200 ]] || fail "upload $1: $(cat "$TMP/body")"
  json "$TMP/body" 'j["file_id"]'
}
# run_seed NAME FILE_ID [form args...]: POSTs, waits, leaves the 200 answer in $TMP/res.
run_seed() {
  local name=$1 fid=$2 code
  shift 2
  expect_status 200 "A: POST /analysis analysis=$name" POST /analysis -d "file_id=$fid" -d "analysis=$name" "$@"
  local aid
  aid=$(json "$TMP/body" 'j["analysis_id"]')
  for _ in $(seq 1 600); do
    code=$(req GET "/analysis/$aid")
    [[ $code == 202 ]] || break
    sleep 0.1
  done
  [[ $code == 200 ]] || fail "A: $name: GET /analysis answered $code"
  cp "$TMP/body" "$TMP/res"
}

IMG=$(upload still.png)
run_seed label-image "$IMG"
[[ $(json "$TMP/res" 'j["result"]["still"] and j["result"]["sampled_frames"] == 1 and j["result"]["frames_with_person"] == 0 and len(j["result"]["frames"][0]["keypoints"]) == 17') == True ]] ||
  fail "A: label-image result: $(head -c 400 "$TMP/res")"
PF=$(json "$TMP/res" 'j["pose_file"]')
[[ $(json "$TMP/res" 'j["image_file"]') == "$PF" ]] || fail "A: image_file is not the labelled picture"
expect_status 200 "A: the labelled image downloads" GET "/file/$PF"
[[ $(head -c 3 "$TMP/body" | od -An -tx1 | tr -d ' ') == ffd8ff ]] || fail "A: pose_file is not a JPEG"
pass "A: label-image gives the pose result and pose_file (a JPEG)"

VID=$(upload clip.mp4)
run_seed video "$VID" -d model=movenet-lightning -d fps=4
[[ $(json "$TMP/res" 'j["result"]["model"] == "movenet-lightning" and j["result"]["fps"] == 4 and j["result"]["sampled_frames"] == 8 and not j["result"]["still"]') == True ]] ||
  fail "A: video result: $(head -c 400 "$TMP/res")"
PF=$(json "$TMP/res" 'j["pose_file"]')
expect_status 200 "A: the labelled video downloads" GET "/file/$PF"
[[ $(head -c 8 "$TMP/body" | tail -c 4) == ftyp ]] || fail "A: pose_file is not an MP4"
[[ $(json "$TMP/res" 'j["video_file"]') == "$PF" ]] || fail "A: video_file (the seed's name) is not the labelled video"
pass "A: video with model=movenet-lightning and fps=4 (8 samples), pose_file an MP4 (also as video_file)"

expect_status 400 "A: an unknown pose model" POST /analysis -d "file_id=$VID" -d analysis=label -d model=wassu-cam0
grep -q "movenet-lightning" "$TMP/body" || fail "A: the 400 does not name the valid model: $(cat "$TMP/body")"

if ((have_az)); then
  AZ=$(upload az.jpg)
  run_seed image "$AZ"
  [[ $(json "$TMP/res" 'j["result"]["frames_with_person"] == 1 and j["result"]["frames"][0]["score"] >= 0.4') == True ]] ||
    fail "A: image of a person: $(head -c 400 "$TMP/res")"
  pass "A: image: the azavatar frame shows a person"
else
  echo "note: shared test data absent; the real-person image case was skipped"
fi
echo "PASS"
