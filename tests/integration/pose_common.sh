# pose_common.sh: sourced by the pose integration tests (test_pose.sh,
# test_pose_nobody.sh). Checks the environment: the binary, a registered
# pose analysis, python3, ffmpeg/ffprobe and the MoveNet model; each missing
# piece skips with exit 77 and a message. Sets $testdata and VIDAN_MODELS.
. "$(dirname "${BASH_SOURCE[0]}")/analysis_env.sh"
need_analyses pose
need_tools python3 ffmpeg ffprobe
need_models movenet-lightning movenet-thunder
