#!/usr/bin/env bash
# test_serve_compat.sh: the compatibility routes of shared/compat.md,
# sections A (/file, /analysis) and B (/api/sample-videos, /api/analyze,
# /api/analysis/{id}), with the paths, fields and status codes it fixes.
source "$(dirname "$0")/serve_lib.sh"

make_video a.mp4 2
mkdir -p "$TMP/samples"
cp "$TMP/a.mp4" "$TMP/samples/clip1.mp4"
# clip2: two shots (test pattern, then red) with one hard cut at 2 s.
ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc=size=160x120:rate=10:duration=2" \
  -f lavfi -i "color=c=red:size=160x120:rate=10:duration=2" -filter_complex "[0:v][1:v]concat=n=2:v=1[v]" \
  -map "[v]" -c:v libx264 -pix_fmt yuv420p "$TMP/samples/clip2.mp4" || fail "ffmpeg clip2"
# clip4: cross-cutting, three shots: test pattern 0-2 s, red, test pattern 2-4 s.
ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc=size=160x120:rate=10:duration=4" \
  -f lavfi -i "color=c=red:size=160x120:rate=10:duration=2" -filter_complex \
  "[0:v]split[p][q];[p]trim=0:2,setpts=PTS-STARTPTS[a];[q]trim=2:4,setpts=PTS-STARTPTS[c];[a][1:v][c]concat=n=3:v=1[v]" \
  -map "[v]" -c:v libx264 -pix_fmt yuv420p "$TMP/samples/clip4.mp4" || fail "ffmpeg clip4"
# clip3: two shots (cut at 4 s), a spoken sentence in each (espeak-ng).
SPEECH=0
if command -v espeak-ng >/dev/null; then
  espeak-ng -s 140 -w "$TMP/s1.wav" "go forward ten meters and then turn left" &&
    espeak-ng -s 140 -w "$TMP/s2.wav" "the weather today is sunny and warm" &&
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc=size=160x120:rate=10:duration=4" \
      -f lavfi -i "color=c=blue:size=160x120:rate=10:duration=4" -i "$TMP/s1.wav" -i "$TMP/s2.wav" \
      -filter_complex "[0:v][1:v]concat=n=2:v=1[v];[2:a]adelay=300[a1];[3:a]adelay=4300[a2];[a1][a2]amix=inputs=2:normalize=0,apad=whole_dur=8,aresample=16000[a]" \
      -map "[v]" -map "[a]" -t 8 -c:v libx264 -pix_fmt yuv420p -c:a aac "$TMP/samples/clip3.mp4" && SPEECH=1
fi
echo "hello" >"$TMP/hello.txt"
SHA=$(sha256sum "$TMP/a.mp4" | cut -c1-64)
start_server --workers 2 --samples "$TMP/samples"

# ---- A ----
expect_status 200 "A: POST /file" POST /file -F "file=@$TMP/a.mp4"
[[ $(json "$TMP/body" 'j["file_id"]') == "$SHA" ]] || fail "A: file_id is not the SHA-256"
expect_status 200 "A: POST /file takes any non-empty file, as the seed did" POST /file -F "file=@$TMP/hello.txt"
HID=$(json "$TMP/body" 'j["file_id"]')
expect_status 400 "A: empty upload" POST /file -F "file=@/dev/null;filename=e.txt"
expect_status 200 "A: GET /file" GET /file
[[ $(json "$TMP/body" 'sorted(f["id"] for f in j) == sorted(["'"$SHA"'", "'"$HID"'"]) and all(set(f) >= {"id","name","size","upload_time"} for f in j)') == True ]] ||
  fail "A: listing: $(cat "$TMP/body")"
expect_status 200 "A: GET /file/<prefix>" GET "/file/${SHA:0:7}"
cmp -s "$TMP/body" "$TMP/a.mp4" || fail "A: bytes differ"
expect_status 404 "A: unknown id" GET /file/abcdef12345
expect_status 404 "A: malformed id" GET /file/xyz

expect_status 400 "A: unknown analysis lists the valid ones" POST /analysis -d "file_id=$SHA" -d analysis=nope
[[ $(json "$TMP/body" '"probe" in j["valid_analyses"]') == True ]] || fail "A: valid names"
expect_status 400 "A: unknown model" POST /analysis -d "file_id=$SHA" -d analysis=probe -d model=wassu-cam0
expect_status 400 "A: missing file_id" POST /analysis -d analysis=probe
expect_status 404 "A: unknown file" POST /analysis -d file_id=abcdef99 -d analysis=probe
expect_status 200 "A: POST /analysis (form)" POST /analysis -d "file_id=${SHA:0:8}" -d analysis=probe
AID=$(json "$TMP/body" 'j["analysis_id"]')
for _ in $(seq 1 100); do
  code=$(req GET "/analysis/$AID")
  [[ "$code" == 202 ]] && { [[ ! -s "$TMP/body" ]] || fail "A: 202 with a body"; sleep 0.1; continue; }
  break
done
[[ "$code" == 200 ]] || fail "A: GET /analysis/<id> answered $code"
[[ $(json "$TMP/body" 'j["result"]["streams"][0]["type"]') == video ]] || fail "A: result: $(head -c 300 "$TMP/body")"
pass "A: 202 while running, then 200 {result}"
expect_status 404 "A: unknown analysis id" GET /analysis/00000000-0000-4000-8000-000000000000

if has_analysis sleep; then
  expect_status 200 "A: sleep with time=N (multipart form)" POST /analysis -F "file_id=$SHA" -F analysis=sleep -F time=1
  SID=$(json "$TMP/body" 'j["analysis_id"]')
  expect_status 202 "A: sleeping analysis is not finished" GET "/analysis/$SID"
  expect_status 200 "A: GET /analysis lists states" GET /analysis
  [[ $(json "$TMP/body" '[a["state"] for a in j if a["id"] == "'"$SID"'"][0] in ("PENDING", "STARTED")') == True ]] ||
    fail "A: state of a running analysis: $(cat "$TMP/body")"
  for _ in $(seq 1 100); do # 1 s of sleep, plus scheduling on a loaded machine
    [[ $(req GET "/analysis/$SID") == 202 ]] || break
    sleep 0.1
  done
  expect_status 200 "A: sleep finished" GET "/analysis/$SID"
  [[ $(json "$TMP/body" 'j["result"]["slept"] >= 1') == True ]] || fail "A: sleep result"
  expect_status 200 "A: GET /analysis" GET /analysis
  [[ $(json "$TMP/body" '[a["state"] for a in j if a["id"] == "'"$SID"'"][0]') == SUCCESS ]] || fail "A: SUCCESS state"
fi
expect_status 200 "A: DELETE /file/<id>" DELETE "/file/$HID"
expect_status 404 "A: deleted" GET "/file/$HID"

# ---- B ----
expect_status 200 "B: GET / is a JSON status" GET /
[[ $(json "$TMP/body" 'j["service"]') == vidan && -n $(json "$TMP/body" 'j["version"]') ]] || fail "B: status"
expect_status 200 "B: sample videos" GET /api/sample-videos
[[ $(json "$TMP/body" 'j["videos"][:2]') == "['clip1.mp4', 'clip2.mp4']" ]] || fail "B: videos: $(cat "$TMP/body")"
expect_status 404 "B: unknown sample" POST /api/analyze -d '{"filename":"nope.mp4","num_storylines":2}'
expect_status 404 "B: traversal in filename" POST /api/analyze -d '{"filename":"../samples/clip1.mp4"}'
expect_status 400 "B: invalid JSON" POST /api/analyze -d '{"filename":'
expect_status 400 "B: bad num_storylines" POST /api/analyze -d '{"filename":"clip1.mp4","num_storylines":"x"}'
expect_status 404 "B: unknown task" GET /api/analysis/00000000-0000-4000-8000-000000000000
# Starts a compat B task on sample $1 and waits (up to 30 s) until it is no
# longer processing; its last answer is left in $TMP/body.
b_task() {
  expect_status 200 "B: analyze $1" POST /api/analyze -d "{\"filename\":\"$1\",\"num_storylines\":2}"
  local tid
  tid=$(json "$TMP/body" 'j["task_id"]')
  for _ in $(seq 1 300); do
    req GET "/api/analysis/$tid" >/dev/null
    [[ $(json "$TMP/body" 'j["status"]') == processing ]] || break
    sleep 0.1
  done
}
if has_analysis scenes; then
  # clip2, num_storylines 2: the storylines analysis (when registered)
  # groups by what scenes share; the test pattern and the red shot share
  # nothing, so the two scenes are two storylines, as the equal runs of
  # consecutive scenes that came before also gave. Its description names
  # the scene and its colour ("Scene 2: mostly red").
  b_task clip2.mp4 # one cut
  "$PY" - "$TMP/body" "$(has_analysis storylines && echo 1)" <<'PYEOF' || fail "B: scenes of clip2: $(head -c 600 "$TMP/body")"
import json, sys
r = json.load(open(sys.argv[1]))["result"]
assert r["total_scenes"] == 2, r["total_scenes"]
st = r["storylines"]
assert [len(s["scenes"]) for s in st] == [1, 1]
a, b = st[0]["scenes"][0], st[1]["scenes"][0]
assert (a["id"], a["start_frame"], a["end_frame"]) == ("scene_1", 0, 19), a
assert (b["id"], b["start_frame"]) == ("scene_2", 20), b
assert abs(a["end_time"] - 2.0) < 0.11 and abs(b["start_time"] - 2.0) < 0.11
assert abs(st[0]["duration"] - 2.0) < 0.11 and st[1]["end_time"] == b["end_time"]
if sys.argv[2] == "1":
    assert st[1]["description"].startswith("Scene 2: mostly red"), st[1]["description"]
PYEOF
  pass "B: scenes grouped into storylines"
fi
if has_analysis storylines; then
  b_task clip4.mp4 # A-B-A: the storylines analysis puts both test-pattern shots in one storyline
  "$PY" - "$TMP/body" <<'PYEOF' || fail "B: storylines of clip4: $(head -c 900 "$TMP/body")"
import json, sys
r = json.load(open(sys.argv[1]))["result"]
assert r["total_scenes"] == 3, r["total_scenes"]
st = r["storylines"]
assert [[sc["id"] for sc in s["scenes"]] for s in st] == [["scene_1", "scene_3"], ["scene_2"]], st
a = st[0]
assert a["start_time"] == a["scenes"][0]["start_time"] and a["end_time"] == a["scenes"][1]["end_time"]
assert abs(a["duration"] - 4.0) < 0.21, a["duration"]   # the scenes' total, not end - start
assert a["description"].startswith("Scenes 1, 3: "), a["description"]
PYEOF
  pass "B: cross-cut scenes share a storyline"
fi
if ((SPEECH)) && has_analysis transcript && has_analysis scenes; then
  b_task clip3.mp4 # speech in two scenes
  "$PY" - "$TMP/body" <<'PYEOF' || fail "B: transcript of clip3: $(head -c 900 "$TMP/body")"
import json, sys
r = json.load(open(sys.argv[1]))["result"]
assert r["total_scenes"] == 2, r["total_scenes"]
scenes = [sc for st in r["storylines"] for sc in st["scenes"]]
segs = r["segments"]
assert segs, "no transcript segments"
for g in segs:
    assert set(g) == {"scene_id", "start_time", "end_time", "text", "start_in_scene", "end_in_scene"}, g
    sc = next(s for s in scenes if s["id"] == g["scene_id"])
    mid = (g["start_time"] + g["end_time"]) / 2
    assert sc["start_time"] - 0.01 <= mid <= sc["end_time"] + 0.01, (g, sc)
    assert abs(g["start_in_scene"] - (g["start_time"] - sc["start_time"])) < 1e-6 and g["text"]
for sc in scenes:
    aa = sc["audio_analysis"]
    assert aa["language"] == "en" and aa["transcript"], sc   # a sentence is spoken in each shot
    assert aa["transcript"] == " ".join(g["text"] for g in segs if g["scene_id"] == sc["id"])
print("scene transcripts:", [sc["audio_analysis"]["transcript"] for sc in scenes])
PYEOF
  pass "B: transcript segments placed in their scenes"
else
  echo "skip: B transcript part (needs espeak-ng and the transcript analysis)"
fi
for src in clip1.mp4 "${SHA:0:12}"; do
  expect_status 200 "B: analyze $src" POST /api/analyze -d "{\"filename\":\"$src\",\"num_storylines\":2}"
  [[ $(json "$TMP/body" 'j["status"]') == processing && -n $(json "$TMP/body" 'j["message"]') ]] || fail "B: start answer"
  TID=$(json "$TMP/body" 'j["task_id"]')
  for _ in $(seq 1 200); do
    req GET "/api/analysis/$TID" >/dev/null
    st=$(json "$TMP/body" 'j["status"]')
    if [[ "$st" == processing ]]; then
      [[ $(json "$TMP/body" 'set(j) == {"status","message","progress","last_updated"}') == True ]] ||
        fail "B: processing shape: $(cat "$TMP/body")"
      sleep 0.1
      continue
    fi
    break
  done
  [[ "$st" == completed ]] || fail "B: task ended '$st': $(head -c 400 "$TMP/body")"
  "$PY" - "$TMP/body" "$src" <<'PYEOF' || fail "B: result shape: $(head -c 600 "$TMP/body")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["task_id"] and j["status"] == "completed"
r = j["result"]
assert set(r) == {"video_filename", "duration", "total_scenes", "storylines", "segments", "timestamp", "metadata"}, set(r)
assert r["video_filename"] == sys.argv[2]
assert abs(r["duration"] - 2.0) < 0.2, r["duration"]
assert r["metadata"]["size"] == [160, 120] and abs(r["metadata"]["fps"] - 10) < 0.01
assert isinstance(r["metadata"]["analysis_time_seconds"], float)
assert r["segments"] == []          # a tone, no speech: nothing invented
assert len(r["storylines"]) <= 2 and r["total_scenes"] == sum(len(s["scenes"]) for s in r["storylines"])
for s in r["storylines"]:
    assert set(s) == {"id", "name", "description", "scenes", "duration", "start_time", "end_time"}
    for sc in s["scenes"]:
        assert set(sc) == {"id", "start_time", "end_time", "duration", "start_frame", "end_frame", "audio_analysis"}
        aa = sc["audio_analysis"]
        assert aa["speakers"] is None and aa["emotions"] is None
        assert aa["transcript"] in ("", None) and aa["language"] in ("en", None), aa
        f = aa["audio_features"]
        assert set(f) == {"rms_energy", "spectral_centroid_mean", "zero_crossing_rate", "tempo"}
        # the clip's sound is a 440 Hz sine: measured per scene by the audio analysis
        assert all(isinstance(f[k], (int, float)) for k in f), f
        assert abs(f["spectral_centroid_mean"] - 440) < 60 and f["rms_energy"] > 0.01 and f["tempo"] == 0, f
PYEOF
  pass "B: completed result has the seed's shape ($src)"
done
stop_server
echo "all passed"
