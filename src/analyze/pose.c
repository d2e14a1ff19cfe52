/*
 * pose.c: the `pose` analysis. Human pose (17 COCO body keypoints: nose,
 * eyes, ears, shoulders, elbows, wrists, hips, knees, ankles) for the most
 * prominent person, with MoveNet Lightning (or Thunder, `model`) on vidan's
 * nn runtime, at a sampling rate (5 fps by default), on videos and still
 * images.
 *
 * The old file-and-analysis service's `video`, `label`, `image` and
 * `label-image` (shared/compat.md section A) map here: the keypoints are the
 * result; the labelled video (pose.mp4) or image (pose.jpg) is the artifact.
 *
 * DESIGN
 * - Threaded: MoveNet runs on the analysis's own worker beside decoding. The
 *   pipeline scales each sampled frame so that its longer side is the
 *   model's input side (192, Thunder 256; aspect kept, display geometry); pose.c centres it
 *   in the square input with black bars (letterbox), as MoveNet was trained
 *   on, and maps the keypoints back to display coordinates normalised to
 *   [0, 1] (x right, y down), clamped to the picture.
 * - The model's input is int32 pixels in [0, 255]; the runtime takes them as
 *   whole floats (see nn.md, int32 inputs). One context, planned once; a
 *   run allocates nothing.
 * - A frame's `score` is the mean of its 17 keypoint scores (as the human
 *   library reports a body's score); a frame counts as showing a person
 *   when it reaches `min_score`. MoveNet always answers with 17 points, so
 *   for an empty frame the scores, not the points, say that nobody is
 *   there: on generated pictures without people (testsrc, SMPTE bars,
 *   Mandelbrot, flat grey) the mean stays at 0.05-0.22, while the
 *   azavatar clips (a woman seen to the thighs) score 0.5-0.6.
 * - The labelled output is a second decode pass (annotate.c, shared with
 *   faces): the skeleton (left limbs, right limbs, and the centre line in
 *   three colours) joins keypoints above `min_score`, interpolated linearly
 *   between samples so limbs glide; a sample is shown until the next (at
 *   most one interval past it). A still image gives pose.jpg instead.
 * - Memory: the per-frame results (about 1 KB of JSON per sample) and 220
 *   bytes per sample for the drawing pass: an hour at 5 fps is ~20 MB.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/annotate.h"
#include "analyze/picture.h"
#include "core/util.h"
#include "nn/nn.h"

#define POSE_MODEL "movenet-lightning"
#define KP 17

static const char *const kp_names[KP] = {
    "nose",          "left_eye",       "right_eye",  "left_ear",    "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist",   "left_hip",       "right_hip",  "left_knee",   "right_knee",
    "left_ankle",    "right_ankle"};

/* Skeleton edges and their side: 0 centre, 1 left, 2 right. */
static const struct {
  int a, b, side;
} edges[] = {{0, 1, 1},   {0, 2, 2},   {1, 3, 1},   {2, 4, 2},   {5, 6, 0},   {5, 7, 1},
             {7, 9, 1},   {6, 8, 2},   {8, 10, 2},  {5, 11, 1},  {6, 12, 2},  {11, 12, 0},
             {11, 13, 1}, {13, 15, 1}, {12, 14, 2}, {14, 16, 2}};
#define N_EDGES (sizeof(edges) / sizeof(edges[0]))

/* One sample, for the drawing pass. */
struct psample {
  double t;
  float x[KP], y[KP], s[KP];
};

struct pose {
  struct vd_nn_model *m;
  struct vd_nn_ctx *ctx;
  int side;          /* model input side (192) */
  double fps;
  float min_score;
  int still;         /* the input is a still image */
  json_t *frames;
  int64_t sampled, with_person;
  double score_sum, kp_sum[KP];
  struct psample *s; /* every sample, for the labelled output */
  size_t n, cap;
};

static const struct vd_param_def pose_params[] = {
    {"fps", VD_PARAM_NUM, "5", 0.1, 60, NULL, "frames per second to estimate the pose on"},
    {"model", VD_PARAM_ENUM, POSE_MODEL, 0, -1, POSE_MODEL "|movenet-thunder",
     "pose model, both one person and 17 keypoints: movenet-lightning (192x192, fast) or "
     "movenet-thunder (256x256, more accurate, about twice the time)"},
    {"min_score", VD_PARAM_NUM, "0.3", 0, 1, NULL,
     "keypoint score (0..1) from which a keypoint is drawn, and mean score from which a frame "
     "counts as showing a person"},
    {"label", VD_PARAM_BOOL, "true", 1, 0, NULL,
     "write the labelled input with the skeleton drawn (when the run has an output folder): "
     "pose.mp4 for a video (H.264, audio copied), pose.jpg for a still image"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static double round4(double v) { return round(v * 10000.0) / 10000.0; }

static int pose_init(struct vd_actx *c) {
  struct pose *s = vd_actx_priv(c);
  struct vd_err *err = vd_actx_err(c);
  const struct vd_media_info *mi = vd_actx_media_info(c);
  if (!mi || mi->video < 0 || mi->display_width <= 0 || mi->display_height <= 0)
    return vd_err_set(err, VD_ERR_NO_STREAM, "pose: the input has no video or picture");
  struct vd_err e = {0};
  int rc = vd_nn_model_get(&s->m, vd_actx_str(c, "model"), &e);
  if (rc < 0)
    return vd_err_set(err, rc, "pose: %s (scripts/models installs the models)", vd_err_msg(&e, rc));
  struct vd_nn_shape in;
  vd_nn_model_input_shape(s->m, 0, &in);
  if (in.rank != 4 || in.dim[1] <= 0 || in.dim[1] != in.dim[2] || in.dim[3] != 3 ||
      vd_nn_model_n_outputs(s->m) != 1)
    return vd_err_set(err, VD_ERR_UNSUPPORTED, "pose: model %s is not a MoveNet single-pose model",
                      vd_nn_model_name(s->m));
  if ((rc = vd_nn_ctx_new(&s->ctx, s->m, &(struct vd_nn_ctx_opts){.threads = 1}, &e)) < 0)
    return vd_err_set(err, rc, "pose: %s", vd_err_msg(&e, rc));
  struct vd_nn_shape os;
  (void)vd_nn_ctx_output(s->ctx, 0, &os);
  if (vd_nn_shape_count(&os) != KP * 3)
    return vd_err_set(err, VD_ERR_UNSUPPORTED, "pose: model %s gives %lld values, not 17 x 3",
                      vd_nn_model_name(s->m), (long long)vd_nn_shape_count(&os));
  s->side = (int)in.dim[1];
  s->fps = vd_actx_num(c, "fps");
  s->min_score = (float)vd_actx_num(c, "min_score");
  s->still = vd_picture_is_still(mi);
  s->frames = json_array();
  /* The longer side becomes the model's; enlarging small inputs too. */
  struct vd_video_want vw = {.fps = s->fps, .fmt = VD_PIX_RGB24};
  vd_picture_fit(&vw, mi->display_width, mi->display_height, s->side);
  return vd_actx_want_video(c, &vw);
}

static int pose_video(struct vd_actx *c, const struct vd_frame *f) {
  struct pose *s = vd_actx_priv(c);
  int side = s->side, w = f->width < side ? f->width : side, h = f->height < side ? f->height : side;
  int px, py;
  vd_picture_letterbox(vd_nn_ctx_input(s->ctx, 0, NULL), side, f, &px, &py);
  if (vd_nn_ctx_run(s->ctx) < 0)
    return vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL, "pose: the model did not run");
  const float *out = vd_nn_ctx_output(s->ctx, 0, NULL);
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 64;
    s->s = vd_xrealloc(s->s, s->cap * sizeof(*s->s));
  }
  struct psample *p = &s->s[s->n++];
  p->t = f->time;
  json_t *kps = json_array();
  double sum = 0;
  for (int k = 0; k < KP; k++) {
    /* (y, x, score) in the square input → display coordinates in [0, 1]. */
    double yy = ((double)out[3 * k] * side - py) / h, xx = ((double)out[3 * k + 1] * side - px) / w;
    float sc = out[3 * k + 2];
    p->x[k] = (float)(xx < 0 ? 0 : xx > 1 ? 1 : xx);
    p->y[k] = (float)(yy < 0 ? 0 : yy > 1 ? 1 : yy);
    p->s[k] = isfinite(sc) ? sc : 0;
    sum += p->s[k];
    s->kp_sum[k] += p->s[k];
    json_array_append_new(kps, json_pack("{s:s,s:f,s:f,s:f}", "name", kp_names[k], "x",
                                         round4(p->x[k]), "y", round4(p->y[k]), "score",
                                         round4(p->s[k])));
  }
  double score = sum / KP;
  s->sampled++;
  s->with_person += score >= s->min_score;
  s->score_sum += score;
  json_array_append_new(s->frames, json_pack("{s:f,s:f,s:o}", "time", round4(f->time), "score",
                                             round4(score), "keypoints", kps));
  return 0;
}

/* ---- the labelled output ---------------------------------------------------------- */

struct draw {
  const struct pose *s;
  size_t cur; /* last sample at or before the current frame */
  double step;
};

/* The pose at time `tm`, interpolated between neighbouring samples; 0 when
 * no sample is near enough. */
static int pose_at(struct draw *d, double tm, struct psample *out) {
  const struct pose *s = d->s;
  if (!s->n || tm < s->s[0].t - d->step / 2)
    return 0;
  while (d->cur + 1 < s->n && s->s[d->cur + 1].t <= tm)
    d->cur++;
  const struct psample *p = &s->s[d->cur];
  *out = *p;
  if (tm <= p->t || s->still)
    return 1;
  if (d->cur + 1 < s->n && s->s[d->cur + 1].t - p->t <= 1.5 * d->step) {
    const struct psample *q = &s->s[d->cur + 1];
    float f = (float)((tm - p->t) / (q->t - p->t));
    for (int k = 0; k < KP; k++) {
      out->x[k] = p->x[k] + f * (q->x[k] - p->x[k]);
      out->y[k] = p->y[k] + f * (q->y[k] - p->y[k]);
      out->s[k] = p->s[k] + f * (q->s[k] - p->s[k]);
    }
    return 1;
  }
  return tm - p->t < d->step;
}

static void draw_pose(void *opaque, struct vd_canvas *cv, double tm) {
  struct draw *d = opaque;
  struct psample p;
  if (!pose_at(d, tm, &p))
    return;
  float min = d->s->min_score;
  double th = cv->h / 120.0 > 2 ? cv->h / 120.0 : 2;
  /* centre: white, left: yellow, right: cyan */
  const struct vd_yuv col[3] = {vd_palette[5], vd_palette[0], vd_palette[1]};
  for (size_t e = 0; e < N_EDGES; e++) {
    int a = edges[e].a, b = edges[e].b;
    if (p.s[a] >= min && p.s[b] >= min)
      vd_canvas_line(cv, p.x[a] * cv->w, p.y[a] * cv->h, p.x[b] * cv->w, p.y[b] * cv->h, th,
                     col[edges[e].side]);
  }
  for (int k = 0; k < KP; k++)
    if (p.s[k] >= min)
      vd_canvas_disc(cv, p.x[k] * cv->w, p.y[k] * cv->h, th * 1.2, vd_palette[3]);
}

static int write_label(struct vd_actx *c, struct pose *s, json_t *result) {
  const char *name = s->still ? "pose.jpg" : "pose.mp4";
  char *path = vd_actx_bool(c, "label") ? vd_actx_artifact_path(c, name) : NULL;
  if (!path)
    return 0;
  struct draw d = {.s = s, .step = 1.0 / s->fps};
  struct vd_annot_opts o = {.what = "pose",
                            .file = name,
                            .stage = s->still ? "drawing the skeleton" : "writing the labelled video",
                            .draw = draw_pose,
                            .opaque = &d};
  json_t *info = NULL;
  int ret = s->still ? vd_annot_image(c, path, &o, &info, vd_actx_err(c))
                     : vd_annot_video(c, path, &o, &info, vd_actx_err(c));
  free(path);
  if (ret < 0)
    return ret;
  json_object_set_new(result, "labelled", info);
  return 0;
}

static int pose_finish(struct vd_actx *c, json_t **result) {
  struct pose *s = vd_actx_priv(c);
  json_t *names = json_array(), *skel = json_array(), *means = json_object();
  for (int k = 0; k < KP; k++) {
    json_array_append_new(names, json_string(kp_names[k]));
    json_object_set_new(means, kp_names[k],
                        json_real(s->sampled ? round4(s->kp_sum[k] / (double)s->sampled) : 0));
  }
  for (size_t e = 0; e < N_EDGES; e++)
    json_array_append_new(skel, json_pack("[s,s]", kp_names[edges[e].a], kp_names[edges[e].b]));
  *result = json_pack("{s:s,s:f,s:b,s:i,s:f,s:I,s:I,s:f,s:o,s:o,s:o,s:O}", "model",
                      vd_nn_model_name(s->m), "fps", s->fps, "still", s->still, "input_size",
                      s->side, "min_score", round4(s->min_score), "sampled_frames",
                      (json_int_t)s->sampled, "frames_with_person", (json_int_t)s->with_person,
                      "mean_score", s->sampled ? round4(s->score_sum / (double)s->sampled) : 0.0,
                      "keypoint_names", names, "skeleton", skel, "keypoint_mean_scores", means,
                      "frames", s->frames);
  if (!*result)
    return vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL, "pose: cannot build the result");
  int ret = write_label(c, s, *result);
  if (ret < 0) {
    json_decref(*result);
    *result = NULL;
  }
  return ret;
}

static void pose_uninit(struct vd_actx *c) {
  struct pose *s = vd_actx_priv(c);
  vd_nn_ctx_free(s->ctx);
  vd_nn_model_free(s->m);
  json_decref(s->frames);
  free(s->s);
}

const struct vd_analysis_def vd_analysis_pose = {
    .name = "pose",
    .summary = "Human pose: 17 body keypoints (COCO) of the most prominent person per sampled "
               "frame or image, MoveNet Lightning or Thunder on vidan's nn runtime; the labelled video "
               "(pose.mp4) or image (pose.jpg) with the skeleton drawn.",
    .params = pose_params,
    .deps = NULL,
    .priv_size = sizeof(struct pose),
    .init = pose_init,
    .video = pose_video,
    .audio = NULL,
    .finish = pose_finish,
    .uninit = pose_uninit,
    .threaded = 1, /* MoveNet runs beside decoding */
};
