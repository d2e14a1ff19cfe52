/*
 * faces_annotate.c: the annotated video the `faces` analysis writes
 * (artifact faces.mp4): every frame of the input with each face circled by
 * an ellipse around its box and labelled with its track id and emotion,
 * H.264 (libx264 through src/media/encode.c), the audio stream copied
 * unchanged.
 *
 * DESIGN
 * - Part of `faces` (param annotate, on whenever the run has an output
 *   folder) rather than a separate analysis, so that `--analyses faces` (or
 *   faces,emotions,people) with an output folder yields the video the issue
 *   asks of faces, without the caller knowing about another name.
 * - Between two samples of a track the box is interpolated linearly, so circles glide rather than
 *   jump five times a second; a box is drawn from its sample until the next
 *   one (or one sampling interval past the last).
 * - The label's emotion is the track's smoothed dominant emotion from the
 *   emotions post-pass (vd_emotions_build over this very result), not the
 *   raw per-frame top class, which flickers.
 * - Drawing (an ellipse ring in a per-track colour, text on a dark plate,
 *   scaled with the picture height) and the writing itself (second pass,
 *   H.264, audio copied) are annotate.c's, shared with pose.
 * - Memory: the boxes are already in the faces result.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/annotate.h"
#include "analyze/faces_detect.h"
#include "analyze/faces_post.h"
#include "core/util.h"

/* ---- boxes over time ---------------------------------------------------------------- */

struct sample {
  double t;
  float x, y, w, h;
  int emo; /* smoothed dominant emotion, -1 = unknown */
};

struct atrack {
  int id;
  struct sample *s;
  size_t n, cur; /* cur: last sample at or before the current frame */
};

struct annot {
  struct atrack *t;
  size_t nt;
  double step; /* sampling interval, seconds */
};

static int label_index(const char *s) {
  for (int k = 0; s && k < VD_EMOTIONS; k++)
    if (!strcmp(s, vd_emotion_labels[k]))
      return k;
  return -1;
}

/* Tracks and their samples from the faces result; emotion labels from the
 * emotions post-pass over it (when the boxes carry probabilities). */
static void load_tracks(struct annot *a, json_t *faces, double duration) {
  json_t *tracks = json_object_get(faces, "tracks"), *emo = NULL;
  struct vd_emotions_opts eo = {.duration = duration, .bucket = 1, .window = 1};
  struct vd_err e = {0};
  if (vd_emotions_build(faces, &eo, &emo, &e) < 0)
    emo = NULL; /* faces ran without emotions: label by track only */
  a->nt = json_array_size(tracks);
  a->t = vd_xcalloc(a->nt + 1, sizeof(*a->t));
  for (size_t i = 0; i < a->nt; i++) {
    json_t *tj = json_array_get(tracks, i), *boxes = json_object_get(tj, "boxes");
    json_t *series = json_object_get(json_object_get(json_array_get(json_object_get(emo, "tracks"), i),
                                                     "series"),
                                     "dominant");
    struct atrack *t = &a->t[i];
    t->id = (int)json_integer_value(json_object_get(tj, "id"));
    t->n = json_array_size(boxes);
    t->s = vd_xcalloc(t->n + 1, sizeof(*t->s));
    for (size_t k = 0; k < t->n; k++) {
      json_t *b = json_array_get(boxes, k);
      t->s[k] = (struct sample){.t = json_number_value(json_object_get(b, "time")),
                                .x = (float)json_number_value(json_object_get(b, "x")),
                                .y = (float)json_number_value(json_object_get(b, "y")),
                                .w = (float)json_number_value(json_object_get(b, "w")),
                                .h = (float)json_number_value(json_object_get(b, "h")),
                                .emo = label_index(json_string_value(json_array_get(series, k)))};
    }
  }
  json_decref(emo);
}

/* Box of track `t` at time `tm` (interpolated), or 0 when it is not on screen. */
static int box_at(struct atrack *t, double tm, double step, struct sample *out) {
  if (!t->n || tm < t->s[0].t - step / 2)
    return 0;
  while (t->cur + 1 < t->n && t->s[t->cur + 1].t <= tm)
    t->cur++;
  const struct sample *p = &t->s[t->cur];
  if (tm < p->t) { /* just before the first sample: show it */
    *out = *p;
    return 1;
  }
  if (t->cur + 1 < t->n && t->s[t->cur + 1].t - p->t <= 1.5 * step) {
    const struct sample *q = &t->s[t->cur + 1];
    float f = (float)((tm - p->t) / (q->t - p->t));
    *out = (struct sample){tm, p->x + f * (q->x - p->x), p->y + f * (q->y - p->y),
                           p->w + f * (q->w - p->w), p->h + f * (q->h - p->h), p->emo};
    return 1;
  }
  if (tm - p->t < step) {
    *out = *p;
    return 1;
  }
  return 0;
}

static void draw_faces(void *opaque, struct vd_canvas *cv, double tm) {
  struct annot *a = opaque;
  int s = cv->h / 240 > 1 ? cv->h / 240 : 1;
  double th = cv->h / 180.0 > 2 ? cv->h / 180.0 : 2;
  for (size_t i = 0; i < a->nt; i++) {
    struct sample b;
    if (!box_at(&a->t[i], tm, a->step, &b))
      continue;
    struct vd_yuv col = vd_palette[(size_t)a->t[i].id % VD_PALETTE_N];
    double cx = (b.x + b.w / 2) * cv->w, cy = (b.y + b.h / 2) * cv->h;
    /* Semi-axes 0.65 of the box: the ellipse passes outside the box's
     * edges' midpoints, circling the face rather than cutting through it. */
    double ea = 0.65 * b.w * cv->w, eb = 0.65 * b.h * cv->h;
    vd_canvas_ellipse(cv, cx, cy, ea, eb, th, col);
    char label[48];
    snprintf(label, sizeof(label), "#%d %s", a->t[i].id, b.emo >= 0 ? vd_emotion_labels[b.emo] : "");
    int tw = 6 * s * (int)strlen(label), tx = (int)(cx - tw / 2.0);
    int ty = (int)(cy - eb) - 9 * s;
    if (ty < s) /* no room above: below the ellipse */
      ty = (int)(cy + eb) + 2 * s;
    tx = tx < s ? s : tx + tw + s > cv->w ? cv->w - tw - s : tx;
    vd_canvas_text(cv, tx, ty, s, label, col);
  }
}

/* ---- entry --------------------------------------------------------------------------- */

int vd_faces_annotate(struct vd_actx *c, json_t *faces, const char *path, json_t **info,
                      struct vd_err *err) {
  struct annot a = {0};
  const struct vd_media_info *in = vd_actx_media_info(c);
  double fps = json_number_value(json_object_get(faces, "fps"));
  a.step = fps > 0 ? 1.0 / fps : 0.2;
  load_tracks(&a, faces, in ? in->duration : 0);
  struct vd_annot_opts o = {.what = "faces",
                            .file = "faces.mp4",
                            .stage = "writing the annotated video",
                            .draw = draw_faces,
                            .opaque = &a};
  int ret = vd_annot_video(c, path, &o, info, err);
  for (size_t i = 0; i < a.nt; i++)
    free(a.t[i].s);
  free(a.t);
  return ret;
}
