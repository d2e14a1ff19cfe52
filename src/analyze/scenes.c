/*
 * scenes.c: the `scenes` analysis. Shot detection with PySceneDetect's three
 * detectors (content, adaptive, threshold; scenes_detect.c), a flash filter,
 * and one JPEG thumbnail per scene, all in the single decode pass.
 *
 * DESIGN
 * - Frames come downscaled so the longer side is at most 256 px, as
 *   PySceneDetect's automatic downscale does, in coded geometry (rotation
 *   does not change a difference score): HSV for content/adaptive, BGR for
 *   threshold.
 * - Min scene length is in frames at the nominal rate (the rate FFmpeg
 *   guesses, like PyAV's guessed_rate); detectors measure it in time, so a
 *   variable-frame-rate file is judged by its real timestamps. Frame numbers
 *   in the result are decoded-frame indices.
 * - Thumbnails, decode-once, bounded memory: while a scene runs, small
 *   full-range YUV copies (longer side 320) are kept of the frames at offsets
 *   0, 1, 2, 4, 8, ... from its start, at most THUMB_SNAPS of them. Cuts are
 *   reported a little late (min-length merging, adaptive window, flash
 *   watch), so when a cut at frame c arrives the snapshots before c belong to
 *   the closed scene: the one nearest its middle is encoded with the
 *   MJPEG writer of media/jpeg.c and the rest dropped. The nearest is never further than a
 *   third of the scene from the middle, except after very long threshold
 *   fades, where a scene can end up with no thumbnail (null).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "analyze/scenes_detect.h"
#include "analyze/scenes_out.h"
#include "core/log.h"
#include "core/util.h"
#include "media/jpeg.h"

#define SCENES_MAX_SIDE 256
#define THUMB_MAX_SIDE 320
#define THUMB_SNAPS 6

struct snap {
  int64_t index;
  struct vd_picture pic;
};

struct scenes {
  struct vd_scenes_det *det;
  struct vd_scenes_opts opts;
  const char *detector;
  int thumbs_on;           /* thumbnails requested and an output folder exists */
  int64_t frames;
  double start_time, end_time;
  /* thumbnails */
  struct snap snaps[THUMB_SNAPS];
  int nsnaps;
  int64_t scene_start;     /* first frame of the scene still open */
  size_t cuts_seen;        /* cuts whose scenes have been closed */
  char **thumbs;           /* per closed scene, NULL = none */
  size_t nthumbs, capthumbs;
};

static const struct vd_param_def scenes_params[] = {
    {"detector", VD_PARAM_ENUM, "content", 0, -1, "content|adaptive|threshold",
     "content: HSV frame difference; adaptive: content score against its neighbours; threshold: "
     "fades to and from black"},
    {"threshold", VD_PARAM_NUM, NULL, 0, 255, NULL,
     "cut threshold; default and meaning per detector: content 27 (score), adaptive 3.0 (ratio), "
     "threshold 12 (8-bit level); 0 = the detector's default"},
    {"min_scene_len", VD_PARAM_INT, "15", 0, 1000000, NULL,
     "minimum scene length in frames at the nominal frame rate"},
    {"thumbnails", VD_PARAM_BOOL, "true", 1, 0, NULL,
     "write one JPEG per scene (scene-001.jpg, ...) when the run has an output folder"},
    {"flash_filter", VD_PARAM_BOOL, "true", 1, 0, NULL,
     "content/adaptive: a brief bright flash that returns to the same picture is not a cut"},
    {"luma_only", VD_PARAM_BOOL, "false", 1, 0, NULL,
     "content/adaptive: compare brightness only (weights 0,0,1)"},
    {"weights", VD_PARAM_STR, "1,1,1", 0, -1, NULL,
     "content/adaptive: weights of the hue, saturation and value differences"},
    {"filter_mode", VD_PARAM_ENUM, "merge", 0, -1, "merge|suppress",
     "content: cuts closer than min_scene_len merge into the last one, or later ones are dropped"},
    {"window_width", VD_PARAM_INT, "2", 1, 1000, NULL, "adaptive: frames on each side to average"},
    {"min_content_val", VD_PARAM_NUM, "15", 0, 255, NULL,
     "adaptive: content score a cut needs as well"},
    {"fade_bias", VD_PARAM_NUM, "0", -1, 1, NULL,
     "threshold: where the cut goes between fade out (-1) and fade in (+1)"},
    {"method", VD_PARAM_ENUM, "floor", 0, -1, "floor|ceiling",
     "threshold: a fade is falling below (floor) or rising above (ceiling) the level"},
    {"add_final_scene", VD_PARAM_BOOL, "false", 1, 0, NULL,
     "threshold: a video that ends faded out gets a cut at the fade"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* The rate FFmpeg guesses (av_guess_frame_rate's rule): the real base rate,
 * unless it is a timestamp tick rather than a frame rate. */
static double nominal_fps(const struct vd_stream_info *s) {
  if (s->r_fps > 0 && s->r_fps <= 1000 && !(s->avg_fps > 0 && s->avg_fps < 70 && s->r_fps > 210))
    return s->r_fps;
  return s->avg_fps > 0 ? s->avg_fps : 0;
}

static int parse_weights(const char *s, double w[3]) {
  char *end;
  for (int i = 0; i < 3; i++) {
    w[i] = strtod(s, &end);
    if (end == s)
      return -1;
    s = end;
    while (*s == ' ')
      s++;
    if (i < 2 && *s++ != ',')
      return -1;
  }
  return *s ? -1 : 0;
}

static int scenes_init(struct vd_actx *c) {
  struct scenes *s = vd_actx_priv(c);
  struct vd_err *err = vd_actx_err(c);
  const struct vd_media_info *mi = vd_actx_media_info(c);
  const char *det = vd_actx_str(c, "detector");
  enum vd_scenes_kind kind = !strcmp(det, "adaptive")    ? VD_SCENES_ADAPTIVE
                             : !strcmp(det, "threshold") ? VD_SCENES_THRESHOLD
                                                         : VD_SCENES_CONTENT;
  double fps = mi->video >= 0 ? nominal_fps(&mi->streams[mi->video]) : 0;
  if (!(fps > 0)) {
    vd_actx_warn(c, "scenes: the frame rate is unknown; min_scene_len assumes 25 fps");
    fps = 25;
  }
  struct vd_scenes_opts *o = &s->opts;
  vd_scenes_opts_default(o, kind, fps);
  double thr = vd_actx_num(c, "threshold");
  if (thr > 0)
    o->threshold = thr;
  o->min_scene_len = (int)vd_actx_int(c, "min_scene_len");
  o->flash_filter = vd_actx_bool(c, "flash_filter");
  if (parse_weights(vd_actx_str(c, "weights"), o->weights) < 0)
    return vd_err_set(err, VD_ERR_INVALID,
                      "scenes: parameter 'weights' must be three numbers, e.g. \"1,1,1\"");
  if (vd_actx_bool(c, "luma_only")) {
    o->weights[0] = o->weights[1] = 0;
    o->weights[2] = 1;
  }
  o->filter = strcmp(vd_actx_str(c, "filter_mode"), "suppress") ? VD_SCENES_FILTER_MERGE
                                                                 : VD_SCENES_FILTER_SUPPRESS;
  o->window_width = (int)vd_actx_int(c, "window_width");
  o->min_content_val = vd_actx_num(c, "min_content_val");
  o->fade_bias = vd_actx_num(c, "fade_bias");
  o->method = strcmp(vd_actx_str(c, "method"), "ceiling") ? VD_SCENES_FLOOR : VD_SCENES_CEILING;
  o->add_final_scene = vd_actx_bool(c, "add_final_scene");
  s->detector = kind == VD_SCENES_ADAPTIVE    ? "adaptive"
                : kind == VD_SCENES_THRESHOLD ? "threshold"
                                              : "content";
  int ret = vd_scenes_det_new(&s->det, o, err);
  if (ret < 0)
    return ret;
  /* Whether the run has an output folder shows when the first scene closes
   * (asking earlier would list a file before it exists). */
  s->thumbs_on = vd_actx_bool(c, "thumbnails");
  s->start_time = NAN;
  return vd_actx_want_video(
      c, &(struct vd_video_want){.max_side = SCENES_MAX_SIDE,
                                 .fmt = kind == VD_SCENES_THRESHOLD ? VD_PIX_BGR24 : VD_PIX_HSV24,
                                 /* PySceneDetect's exact pixels: its thresholds
                                  * sit right at the noise of dark frames */
                                 .cv_resize = 1,
                                 .no_rotate = 1});
}

/* ---- thumbnails ----------------------------------------------------------- */

static void snap_drop(struct scenes *s, int i) {
  vd_picture_fini(&s->snaps[i].pic);
  memmove(&s->snaps[i], &s->snaps[i + 1], (size_t)(s->nsnaps - i - 1) * sizeof(s->snaps[0]));
  s->nsnaps--;
}

static void snap_take(struct scenes *s, struct vd_actx *c, const struct vd_frame *f) {
  struct vd_frame v;
  struct vd_video_want w = {.max_side = THUMB_MAX_SIDE, .fmt = VD_PIX_YUVJ420P};
  if (vd_frame_view(f, &w, &v) < 0)
    return; /* a missing thumbnail is not worth failing the run */
  if (s->nsnaps == THUMB_SNAPS)
    snap_drop(s, 0);
  struct snap *p = &s->snaps[s->nsnaps];
  *p = (struct snap){.index = f->index};
  if (vd_picture_copy(&p->pic, &v) == 0)
    s->nsnaps++;
}

/* Closes the open scene at `end` (exclusive): writes its thumbnail. */
static void close_scene(struct scenes *s, struct vd_actx *c, int64_t end) {
  int64_t first = s->scene_start;
  double mid = (double)first + (double)(end - 1 - first) / 2.0;
  int best = -1;
  for (int i = 0; i < s->nsnaps; i++) {
    int64_t k = s->snaps[i].index;
    if (k < first || k >= end)
      continue;
    if (best < 0 || fabs((double)k - mid) < fabs((double)s->snaps[best].index - mid))
      best = i;
  }
  char *name = NULL;
  if (best >= 0) {
    name = vd_xasprintf("scene-%03zu.jpg", s->nthumbs + 1);
    char *path = vd_actx_artifact_path(c, name);
    if (!path) { /* no output folder: no thumbnails at all */
      free(name);
      s->thumbs_on = 0;
      while (s->nsnaps)
        snap_drop(s, s->nsnaps - 1);
      return;
    }
    struct vd_err e;
    vd_err_clear(&e);
    struct vd_frame v;
    vd_picture_view(&s->snaps[best].pic, &v);
    if (vd_jpeg_write(path, &v, 0, &e) < 0) {
      vd_actx_warn(c, "%s", vd_err_msg(&e, e.code));
      free(name);
      name = NULL;
    }
    free(path);
  }
  if (s->nthumbs == s->capthumbs) {
    s->capthumbs = s->capthumbs ? 2 * s->capthumbs : 16;
    s->thumbs = vd_xrealloc(s->thumbs, s->capthumbs * sizeof(*s->thumbs));
  }
  s->thumbs[s->nthumbs++] = name;
  while (s->nsnaps && s->snaps[0].index < end)
    snap_drop(s, 0);
  s->scene_start = end;
}

/* ---- pass ------------------------------------------------------------------- */

static int scenes_video(struct vd_actx *c, const struct vd_frame *f) {
  struct scenes *s = vd_actx_priv(c);
  int ret = vd_scenes_det_push(s->det, f->index, f->time, f->data[0], f->linesize[0], f->width,
                               f->height);
  if (ret < 0)
    return vd_err_set(vd_actx_err(c), ret, "scenes: frame %lld (%dx%d) was refused",
                      (long long)f->index, f->width, f->height);
  if (isnan(s->start_time))
    s->start_time = f->time;
  double dur = f->duration > 0 ? f->duration : 1.0 / s->opts.fps;
  s->end_time = fmax(s->end_time, f->time + dur);
  s->frames++;
  if (!s->thumbs_on)
    return 0;
  size_t n;
  const struct vd_scenes_cut *cuts = vd_scenes_det_cuts(s->det, &n);
  for (; s->thumbs_on && s->cuts_seen < n; s->cuts_seen++)
    close_scene(s, c, cuts[s->cuts_seen].frame);
  if (!s->thumbs_on)
    return 0;
  int64_t off = f->index - s->scene_start;
  if (off >= 0 && (off & (off - 1)) == 0) /* 0, 1, 2, 4, 8, ... */
    snap_take(s, c, f);
  return 0;
}

/* scenes.csv and scenes.edl beside the thumbnails, so the API and the page
 * can offer them as downloads without re-rendering stored results. */
static int write_lists(struct vd_actx *c, json_t *result) {
  static const char *const names[] = {"scenes.csv", "scenes.edl"};
  for (int k = 0; k < 2; k++) {
    char *path = vd_actx_artifact_path(c, names[k]);
    if (!path)
      return 0; /* no output folder: nothing to write */
    char *tmp = vd_xasprintf("%s.part", path);
    FILE *f = fopen(tmp, "w");
    int ret = f ? 0 : VD_ERR_INTERNAL;
    if (f) {
      const char *base = strrchr(vd_actx_input_path(c), '/');
      base = base ? base + 1 : vd_actx_input_path(c);
      ret = k == 0 ? vd_scenes_write_csv(result, f) : vd_scenes_write_edl(result, base, f);
      if (fclose(f) != 0 && ret == 0)
        ret = VD_ERR_INTERNAL;
    }
    if (ret == 0 && rename(tmp, path) != 0)
      ret = VD_ERR_INTERNAL;
    if (ret < 0) {
      unlink(tmp);
      vd_err_set(vd_actx_err(c), ret, "cannot write %s", path);
    }
    free(tmp);
    free(path);
    if (ret < 0)
      return ret;
  }
  return 0;
}

static int scenes_finish(struct vd_actx *c, json_t **result) {
  struct scenes *s = vd_actx_priv(c);
  vd_scenes_det_finish(s->det);
  size_t ncuts, nflashes;
  const struct vd_scenes_cut *cuts = vd_scenes_det_cuts(s->det, &ncuts);
  const struct vd_scenes_flash *fl = vd_scenes_det_flashes(s->det, &nflashes);
  if (s->thumbs_on && s->frames > 0) {
    for (; s->thumbs_on && s->cuts_seen < ncuts; s->cuts_seen++)
      close_scene(s, c, cuts[s->cuts_seen].frame);
    if (s->thumbs_on)
      close_scene(s, c, s->frames);
  }
  struct vd_scenes_summary sum = {
      .detector = s->detector,
      .threshold = s->opts.kind == VD_SCENES_THRESHOLD ? floor(s->opts.threshold)
                                                       : s->opts.threshold,
      .min_scene_len = s->opts.min_scene_len,
      .flash_filter = s->opts.flash_filter && s->opts.kind != VD_SCENES_THRESHOLD,
      .fps = s->opts.fps,
      .frames = s->frames,
      .start_time = isnan(s->start_time) ? 0 : s->start_time,
      .end_time = s->end_time,
      .cuts = cuts,
      .ncuts = ncuts,
      .flashes = fl,
      .nflashes = nflashes,
      .thumbs = s->thumbs_on && s->nthumbs == ncuts + 1 ? s->thumbs : NULL,
  };
  *result = vd_scenes_result_json(&sum);
  return write_lists(c, *result);
}

static void scenes_uninit(struct vd_actx *c) {
  struct scenes *s = vd_actx_priv(c);
  vd_scenes_det_free(s->det);
  while (s->nsnaps)
    snap_drop(s, s->nsnaps - 1);
  for (size_t i = 0; i < s->nthumbs; i++)
    free(s->thumbs[i]);
  free(s->thumbs);
}

const struct vd_analysis_def vd_analysis_scenes = {
    .name = "scenes",
    .summary = "Shot/scene detection (PySceneDetect's content, adaptive and threshold detectors) "
               "with a flash filter; cuts, scenes with timecodes, one JPEG per scene.",
    .params = scenes_params,
    .deps = NULL,
    .priv_size = sizeof(struct scenes),
    .init = scenes_init,
    .video = scenes_video,
    .audio = NULL,
    .finish = scenes_finish,
    .uninit = scenes_uninit,
};
