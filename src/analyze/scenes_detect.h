/*
 * scenes_detect: the three shot detectors of the `scenes` analysis, as pure
 * functions of the frames they are fed. No FFmpeg here: the caller hands over
 * packed 8-bit pictures (HSV for content/adaptive, BGR for threshold) with
 * their decoded index and time, and reads back cuts and flashes. That keeps
 * the detectors unit-testable with synthetic frames.
 *
 * DESIGN
 * - Semantics follow PySceneDetect 0.7.1, so its users get the same cuts with
 *   the same parameter names and defaults:
 *   - content: score = weighted mean of |dH|, |dS|, |dV| between consecutive
 *     frames (plain absolute difference, hue does not wrap); a frame whose
 *     score is >= threshold starts a new shot. Minimum scene length is
 *     enforced by a MERGE (default) or SUPPRESS filter, measured in seconds
 *     as min_scene_len / fps, so variable-frame-rate input is judged by real
 *     time, like PySceneDetect with its PyAV backend.
 *   - adaptive: the content score divided by the mean score of the
 *     window_width frames on each side; a cut needs ratio >= threshold and
 *     score >= min_content_val, and round(elapsed * fps) >= min_scene_len.
 *   - threshold: frame value = mean of all BGR bytes. Falling below the level
 *     (floor) is a fade out, rising back a fade in; the cut is placed between
 *     them by fade_bias, with Python's round-half-to-even on frame numbers.
 * - Flash filter (content and adaptive, on by default): PySceneDetect cuts a
 *   shot at a camera flash (one cut into the bright frame; the cut out of it
 *   is usually merged away by min_scene_len). Two rules, both judged with
 *   the bar a cut has to clear (threshold for content, min_content_val for
 *   adaptive) and both acting on scores, so the min-length and window logic
 *   downstream stay PySceneDetect's:
 *   - flash: a frame that would cut while getting brighter opens a short
 *     watch. If within VD_SCENES_FLASH_FRAMES frames and VD_SCENES_FLASH_SECS
 *     seconds a frame comes back that differs from the frame before the
 *     flash by less than the bar, the bright frames were a flash: they and
 *     the returning frame score as that across-flash difference (no cut).
 *   - flicker: a frame that would cut to a picture that was already on
 *     screen 2 or more frames and at most min_scene_len frames and
 *     VD_SCENES_FLICKER_SECS ago (VFX
 *     flicker, strobing, a flash that lasts a few frames) scores as its
 *     difference to that picture instead.
 *   A real cut next to a flash still cuts: the new shot neither comes back
 *   to the old picture nor was on screen before.
 * - Latency: content may report a cut up to min_scene_len frames after it
 *   (MERGE), adaptive window_width frames, the flash filter a few frames,
 *   threshold after the whole fade. Cuts are always reported in order.
 * - Memory: up to 16 small pictures (the flash and flicker history; one
 *   without the filter) plus O(window) entries and
 *   the growing list of cuts and flashes; the threshold detector keeps the
 *   times of the frames inside one fade (capped; beyond the cap it
 *   interpolates).
 *
 * Ownership: arguments are borrowed; vd_scenes_det_new() hands the caller a
 * handle to release with vd_scenes_det_free() (NULL is fine). Arrays returned
 * by the getters stay owned by the handle and valid until the next push.
 * Threading: one handle is used by one thread at a time.
 */
#ifndef VD_ANALYZE_SCENES_DETECT_H
#define VD_ANALYZE_SCENES_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* A flash lasts at most this many frames and this long (first flash frame to
 * the first frame back). */
#define VD_SCENES_FLASH_FRAMES 3
#define VD_SCENES_FLASH_SECS 0.15
/* ... and raises the mean lightness (HSL L = V*(1-S/2), 0..255) by at least this much. */
#define VD_SCENES_FLASH_DV 10.0
/* How far back a flicker may return to a picture, seconds (and at most
 * min_scene_len and 15 frames). */
#define VD_SCENES_FLICKER_SECS 0.5

enum vd_scenes_kind { VD_SCENES_CONTENT, VD_SCENES_ADAPTIVE, VD_SCENES_THRESHOLD };
enum vd_scenes_filter { VD_SCENES_FILTER_MERGE, VD_SCENES_FILTER_SUPPRESS };
enum vd_scenes_method { VD_SCENES_FLOOR, VD_SCENES_CEILING };

struct vd_scenes_opts {
  enum vd_scenes_kind kind;
  double threshold;        /* content score, adaptive ratio, or 8-bit level */
  int min_scene_len;       /* frames; 0 disables */
  double fps;              /* nominal rate, turns min_scene_len into seconds (> 0) */
  /* content and adaptive */
  double weights[3];       /* hue, saturation, value; all >= 0, not all 0 */
  enum vd_scenes_filter filter; /* content only */
  int flash_filter;        /* 1 = a brief bright spike that comes back is no cut */
  /* adaptive */
  int window_width;        /* frames on each side, >= 1 */
  double min_content_val;  /* content score a cut needs too */
  /* threshold */
  double fade_bias;        /* -1 (cut at the fade out) .. +1 (at the fade in) */
  enum vd_scenes_method method;
  int add_final_scene;     /* a video that ends faded out gets a last cut there */
};

/* Sets PySceneDetect's defaults for `kind` (threshold 27, 3.0 or 12, ...). */
void vd_scenes_opts_default(struct vd_scenes_opts *o, enum vd_scenes_kind kind, double fps);

struct vd_scenes_cut {
  int64_t frame;   /* first frame of the new scene (decoded index) */
  double time;     /* its time in seconds */
  double score;    /* content score, adaptive ratio, or the fade-in frame's level */
};

enum vd_scenes_flash_kind { VD_SCENES_FLASH, VD_SCENES_FLICKER };

struct vd_scenes_flash {
  int64_t frame;   /* first bright frame (flash) or the returning frame (flicker) */
  double time;     /* seconds */
  int frames;      /* flash: how many frames it lasted; flicker: frames back
                      to the picture it returned to */
  double score;    /* content score of `frame` (what would have cut) */
  enum vd_scenes_flash_kind kind;
};

struct vd_scenes_det;

/* VD_ERR_INVALID (with a message) for options out of range. */
int vd_scenes_det_new(struct vd_scenes_det **out, const struct vd_scenes_opts *o,
                      struct vd_err *err) VD_WUR;
void vd_scenes_det_free(struct vd_scenes_det *d);

/*
 * Feeds one frame: `w`x`h` packed 3-byte pixels (HSV for content/adaptive as
 * OpenCV stores it, BGR for threshold), `linesize` bytes per row. `index`
 * must increase and `time` not decrease. A frame whose size differs from the
 * previous one restarts the comparison (score 0) instead of failing.
 */
int vd_scenes_det_push(struct vd_scenes_det *d, int64_t index, double time, const uint8_t *pix,
                       int linesize, int w, int h) VD_WUR;

/* End of input: resolves a pending flash watch and the threshold detector's
 * final scene. Pushing after this is a bug. */
void vd_scenes_det_finish(struct vd_scenes_det *d);

/* Cuts so far, in frame order. */
const struct vd_scenes_cut *vd_scenes_det_cuts(const struct vd_scenes_det *d, size_t *n);
/* Flashes that were filtered out, in frame order. */
const struct vd_scenes_flash *vd_scenes_det_flashes(const struct vd_scenes_det *d, size_t *n);

/* Content score of the last pushed frame (0 for the first); for tests and stats. */
double vd_scenes_det_last_score(const struct vd_scenes_det *d);

/* Python's round(): halves go to the even neighbour. */
int64_t vd_scenes_pyround(double x);

#endif
