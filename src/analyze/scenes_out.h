/*
 * scenes_out: the `scenes` result as JSON (schema in docs/scenes.md), and
 * the CSV and EDL renderings of it. The writers take the stored JSON result,
 * not detector state, so the CLI, and later the HTTP API from a stored
 * result, render the same bytes.
 *
 * CSV is column-compatible with PySceneDetect's `list-scenes`: a first line
 * "Timecode List:,<cut timecodes>", then a header row and one row per scene,
 * with 1-based frame numbers (Start Frame = start_frame + 1, End Frame =
 * end_frame + 1, as PySceneDetect prints its exclusive end).
 * EDL is CMX 3600: TITLE, FCM: NON-DROP FRAME, one cut event per scene with
 * SMPTE HH:MM:SS:FF source/record in and out points at the nominal rate;
 * frames there are counted on the nominal timeline (time x fps), which is
 * what an editor's timeline uses even for variable-frame-rate sources.
 *
 * Ownership: arguments are borrowed; vd_scenes_result_json() returns a new
 * reference the caller owns. Threading: reentrant.
 */
#ifndef VD_ANALYZE_SCENES_OUT_H
#define VD_ANALYZE_SCENES_OUT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "analyze/scenes_detect.h"
#include "core/err.h"

struct vd_scenes_summary {
  const char *detector;      /* "content", "adaptive", "threshold" */
  double threshold;          /* as used */
  int min_scene_len;         /* frames */
  int flash_filter;          /* 1 if on */
  double fps;                /* nominal frame rate */
  int64_t frames;            /* decoded frames */
  double start_time;         /* first frame's time, seconds */
  double end_time;           /* end of the last frame, seconds */
  const struct vd_scenes_cut *cuts;
  size_t ncuts;
  const struct vd_scenes_flash *flashes;
  size_t nflashes;
  /* Thumbnail file name per scene (ncuts + 1 entries, NULL = none), or NULL. */
  char *const *thumbs;
};

/* Builds the result object: settings, cuts, scenes (at least one when any
 * frame was decoded) and flashes. */
json_t *vd_scenes_result_json(const struct vd_scenes_summary *s);

/*
 * Writes `result` (as vd_scenes_result_json made it) as PySceneDetect-style
 * CSV to `f`. Returns 0, VD_ERR_INVALID when `result` lacks the scene list,
 * or -EIO when writing fails.
 */
int vd_scenes_write_csv(json_t *result, FILE *f) VD_WUR;

/* Same for a CMX 3600 EDL titled `title` (NULL = "vidan"). */
int vd_scenes_write_edl(json_t *result, const char *title, FILE *f) VD_WUR;

#endif
