/*
 * faces.c: the `faces` analysis. Detects faces at a sampling rate (5 fps by
 * default) with BlazeFace (faces_detect.c, on the nn runtime), and links the
 * detections into face tracks by IoU. Optionally classifies each face's
 * expression with the emotion model (7 classes) on a grey crop taken from a
 * higher-resolution view of the same frame, and gives each track an
 * identity embedding (faceres), sampled every embed_interval seconds and
 * averaged, for the people analysis to cluster.
 *
 * DESIGN
 * - One subscription: RGB frames at the sampling rate, the longer side at
 *   the detector's input size (256), display geometry, so boxes are in the
 *   picture people see. Boxes are normalised to [0,1]; the result carries
 *   the display size for turning them into pixels.
 * - A track is a run of detections linked frame to frame (IoU >= track_iou,
 *   gaps up to track_gap seconds). Its time ranges split where the face was
 *   missing for more than one and a half sampling intervals; a range ends one
 *   interval after its last sighting, since the face was there until the next
 *   sample showed otherwise.
- IoU alone would carry a track across a cut to whoever stands in the same
  place next. When a face's 16x16 grey look changes by more than
  check_diff (measured on GRID: 1-8 within a talking face, ~31 at a cut to
  another speaker) or its track resumes after a gap, one embedding checks
  the identity, and a different person (similarity < split_similarity)
  starts a new track. That costs one faceres run per suspicious sample.
 * - Thumbnails, decode-once: each track keeps one small picture, the crop
 *   (box grown by 30%, at most THUMB_SIDE px) of the sample where its score
 *   x box area was best so far, cut from a 1280 px RGB view (the one
 *   embeddings use, so often already converted). At most thumbnail_tracks
 *   (200) tracks hold one at a time (~40 KB each): when the pool is full a track
 *   takes the place of the holder with the fewest samples, if it has more,
 *   so the longest tracks end up with pictures and the rest get null (and
 *   a warning). finish() writes face-<id>.jpg when the run has an output
 *   folder.
 * - Memory grows with the number of detections (one small JSON object each),
 *   about 100 bytes per face per sample: an hour at 5 fps with two faces is
 *   a few MB.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/faces_detect.h"
#include "analyze/faces_post.h"
#include "core/util.h"
#include "media/jpeg.h"

#define FACES_MAX 100
#define THUMB_SIDE 160    /* longest side of a track's thumbnail, px */
#define THUMB_GROW 1.3f   /* the crop around a face box, so hair and chin show */
#define PATCH 16 /* side of the grey thumbnail compared between samples */

struct ftrack {
  json_t *boxes;     /* [{"time", "x", "y", "w", "h", "score", "emotion"?, "emotions"?}] */
  double first, last;
  double score_sum;
  int64_t n;
  double emo_sum[VD_EMOTIONS]; /* summed probabilities */
  int64_t emo_top[VD_EMOTIONS]; /* samples whose top class is each */
  float *emb;        /* summed unit embeddings, NULL until the first */
  int emb_n;
  double emb_last;   /* time of the last embedding */
  uint8_t patch[PATCH * PATCH]; /* grey look of the last box, for identity checks */
  int has_patch;
  struct vd_picture thumb; /* best crop so far; empty when none */
  double thumb_rank;       /* its score x box area (normalised) */
};

struct faces {
  struct vd_facedet *det;
  struct vd_faceemo *emo;  /* NULL when emotions are off */
  double emo_sum[VD_EMOTIONS];
  int64_t emo_n;           /* faces classified */
  struct vd_faceemb *embm; /* NULL when embeddings are off */
  double emb_every;        /* seconds between a track's embeddings */
  float *emb_tmp;
  double check_diff;       /* patch change that triggers an identity check */
  double split_sim;        /* similarity under which a checked track splits */
  int64_t checks, splits;
  struct vd_facetracker *trk;
  double fps;
  int64_t sampled, with_faces, detections;
  json_t *frames;    /* [[time, count], ...] */
  struct ftrack *t;
  size_t nt, capt;
  int thumbs;              /* thumbnails wanted */
  int *thumb_ids;          /* tracks holding a picture, at most max_thumbs */
  int nthumb, max_thumbs;
};

static const struct vd_param_def faces_params[] = {
    {"fps", VD_PARAM_NUM, "5", 0.1, 60, NULL, "frames per second to run detection on"},
    /* 0.65: on film footage (tests/integration/test_faces_tos.sh) true faces
     * scored 0.80-0.97 and false ones on machinery 0.50-0.63. */
    {"min_score", VD_PARAM_NUM, "0.65", 0.01, 1, NULL,
     "detector confidence a face needs (0..1); lower finds smaller and turned faces, and more "
     "false ones"},
    {"nms_iou", VD_PARAM_NUM, "0.3", 0.01, 1, NULL,
     "overlap above which the weaker of two boxes is dropped (non-maximum suppression)"},
    {"max_faces", VD_PARAM_INT, "20", 1, FACES_MAX, NULL, "most faces kept per frame"},
    {"track_iou", VD_PARAM_NUM, "0.3", 0.01, 1, NULL,
     "overlap with a track's last box that continues the track"},
    {"track_gap", VD_PARAM_NUM, "1", 0, 60, NULL,
     "seconds a face may go unseen before its track ends"},
    {"emotions", VD_PARAM_BOOL, "true", 1, 0, NULL,
     "classify each face's expression (angry, disgust, fear, happy, sad, surprise, neutral)"},
    {"embeddings", VD_PARAM_BOOL, "true", 1, 0, NULL,
     "give each track an identity embedding (faceres, 1024-d, unit length) for clustering "
     "tracks into people"},
    {"embed_interval", VD_PARAM_NUM, "2", 0, 3600, NULL,
     "seconds between a track's embedding samples (averaged); 0 = every detection"},
    {"thumbnails", VD_PARAM_BOOL, "true", 1, 0, NULL,
     "write face-<track id>.jpg per track (when the run has an output folder): the face at its "
     "best-scored, largest sighting, at most 160 px"},
    {"thumbnail_tracks", VD_PARAM_INT, "200", 1, 10000, NULL,
     "most tracks that keep a thumbnail (~40 KB of memory each during the run); when more "
     "appear, the longest keep theirs and the others get null"},
    {"annotate", VD_PARAM_BOOL, "true", 1, 0, NULL,
     "write faces.mp4 (when the run has an output folder): the video with every face circled and "
     "labelled with its track and emotion, H.264, audio copied"},
    {"check_diff", VD_PARAM_NUM, "12", 0, 255, NULL,
     "mean grey change (0..255) of a track's face between samples that makes faces check the "
     "identity with an embedding (a cut between two people framed alike keeps the box)"},
    {"split_similarity", VD_PARAM_NUM, "0.6", -1, 1, NULL,
     "embedding similarity to the track under which a checked face starts a new track"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static double round4(double v) { return round(v * 10000.0) / 10000.0; }

static int faces_init(struct vd_actx *c) {
  struct faces *s = vd_actx_priv(c);
  struct vd_err *err = vd_actx_err(c);
  struct vd_facedet_opts o = {
      .min_score = (float)vd_actx_num(c, "min_score"),
      .nms_iou = (float)vd_actx_num(c, "nms_iou"),
      .max_faces = (int)vd_actx_int(c, "max_faces"),
      .threads = vd_ncpu() < 4 ? vd_ncpu() : 4,
  };
  struct vd_err derr = {0};
  int rc = vd_facedet_new(&s->det, &o, &derr);
  if (rc < 0) /* say what failed, and how to fix the common case */
    return vd_err_set(err, rc, "faces: %s (scripts/models installs the models)",
                      vd_err_msg(&derr, rc));
  if (vd_actx_bool(c, "emotions") && (rc = vd_faceemo_new(&s->emo, 1, &derr)) < 0)
    return vd_err_set(err, rc, "faces: %s (scripts/models installs the models)",
                      vd_err_msg(&derr, rc));
  if (vd_actx_bool(c, "embeddings")) {
    if ((rc = vd_faceemb_new(&s->embm, 1, &derr)) < 0)
      return vd_err_set(err, rc, "faces: %s (scripts/models installs the models)",
                        vd_err_msg(&derr, rc));
    s->emb_every = vd_actx_num(c, "embed_interval");
    s->check_diff = vd_actx_num(c, "check_diff");
    s->split_sim = vd_actx_num(c, "split_similarity");
    s->emb_tmp = vd_xmalloc((size_t)vd_faceemb_dim(s->embm) * sizeof(float));
  }
  s->trk = vd_facetracker_new((float)vd_actx_num(c, "track_iou"), vd_actx_num(c, "track_gap"));
  s->fps = vd_actx_num(c, "fps");
  s->thumbs = vd_actx_bool(c, "thumbnails");
  s->max_thumbs = (int)vd_actx_int(c, "thumbnail_tracks");
  s->thumb_ids = vd_xcalloc((size_t)s->max_thumbs, sizeof(int));
  s->frames = json_array();
  return vd_actx_want_video(c, &(struct vd_video_want){.fps = s->fps,
                                                       .max_side = vd_facedet_input_size(s->det),
                                                       .fmt = VD_PIX_RGB24});
}

/* Expression classes for one face; the JSON fields go on its box. */
static void add_emotion(struct faces *s, struct ftrack *t, const struct vd_frame *gray,
                        const struct vd_face *b, json_t *box) {
  float p[VD_EMOTIONS];
  vd_faceemo_run(s->emo, gray->data[0], gray->width, gray->height, gray->linesize[0], b, p);
  int top = 0;
  json_t *arr = json_array();
  for (int k = 0; k < VD_EMOTIONS; k++) {
    top = p[k] > p[top] ? k : top;
    t->emo_sum[k] += p[k];
    s->emo_sum[k] += p[k];
    json_array_append_new(arr, json_real(round(p[k] * 1000.0) / 1000.0));
  }
  t->emo_top[top]++;
  s->emo_n++;
  json_object_set_new(box, "emotion", json_string(vd_emotion_labels[top]));
  json_object_set_new(box, "emotions", arr);
}

static void add_embedding_vec(struct faces *s, struct ftrack *t, double time);
static int rgb_view(const struct vd_frame *f, struct vd_frame *rgb, int *have_rgb);

/* Adds an embedding sample to track `t` when one is due. `rgb` is fetched
 * once per frame, on first need. */
static void add_embedding(struct faces *s, struct ftrack *t, const struct vd_frame *f,
                          struct vd_frame *rgb, int *have_rgb, const struct vd_face *b) {
  if (t->emb_n > 0 && f->time - t->emb_last < s->emb_every)
    return;
  if (rgb_view(f, rgb, have_rgb) < 0)
    return;
  vd_faceemb_run(s->embm, rgb->data[0], rgb->width, rgb->height, rgb->linesize[0], b, s->emb_tmp);
  add_embedding_vec(s, t, f->time);
}

/* Adds s->emb_tmp, computed at `time`, to track `t`'s embedding sum. */
static void add_embedding_vec(struct faces *s, struct ftrack *t, double time) {
  int dim = vd_faceemb_dim(s->embm);
  if (!t->emb)
    t->emb = vd_xcalloc((size_t)dim, sizeof(float));
  for (int k = 0; k < dim; k++)
    t->emb[k] += s->emb_tmp[k];
  t->emb_n++;
  t->emb_last = time;
}

/* The RGB view embeddings are computed on, fetched once per frame on first need. */
static int rgb_view(const struct vd_frame *f, struct vd_frame *rgb, int *have_rgb) {
  if (!*have_rgb) {
    struct vd_video_want w = {.max_side = 1280, .fmt = VD_PIX_RGB24};
    *have_rgb = vd_frame_view(f, &w, rgb) == 0 ? 1 : -1;
  }
  return *have_rgb > 0 ? 0 : -1;
}

/* A PATCH x PATCH grey thumbnail of box `b` in the RGB frame: cell means. */
static void face_patch(const struct vd_frame *f, const struct vd_face *b, uint8_t *out) {
  int x0 = (int)(b->x0 * (float)f->width), y0 = (int)(b->y0 * (float)f->height);
  int x1 = (int)ceilf(b->x1 * (float)f->width), y1 = (int)ceilf(b->y1 * (float)f->height);
  x0 = x0 < 0 ? 0 : x0 >= f->width ? f->width - 1 : x0;
  y0 = y0 < 0 ? 0 : y0 >= f->height ? f->height - 1 : y0;
  x1 = x1 > f->width ? f->width : x1 <= x0 ? x0 + 1 : x1;
  y1 = y1 > f->height ? f->height : y1 <= y0 ? y0 + 1 : y1;
  for (int cy = 0; cy < PATCH; cy++)
    for (int cx = 0; cx < PATCH; cx++) {
      int ya = y0 + (y1 - y0) * cy / PATCH, yb = y0 + (y1 - y0) * (cy + 1) / PATCH;
      int xa = x0 + (x1 - x0) * cx / PATCH, xb = x0 + (x1 - x0) * (cx + 1) / PATCH;
      yb = yb > ya ? yb : ya + 1;
      xb = xb > xa ? xb : xa + 1;
      unsigned sum = 0, n = 0;
      for (int y = ya; y < yb; y++)
        for (int x = xa; x < xb; x++) {
          const uint8_t *p = f->data[0] + (size_t)y * (size_t)f->linesize[0] + 3 * (size_t)x;
          sum += (unsigned)(p[0] + 2 * p[1] + p[2]);
          n += 4;
        }
      out[cy * PATCH + cx] = (uint8_t)(sum / n);
    }
}

static double patch_diff(const uint8_t *a, const uint8_t *b) {
  int64_t d = 0;
  for (int i = 0; i < PATCH * PATCH; i++)
    d += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
  return (double)d / (PATCH * PATCH);
}

/*
 * IoU alone links a face to whoever stands in the same place next: a cut
 * between two people framed alike (interviews, news) would give one track.
 * So when the face looks clearly different from the track's last sample,
 * or the track resumes after a gap, its identity is checked with an
 * embedding (one faceres run, only then), and a different person starts a
 * new track. Leaves the fresh embedding in s->emb_tmp and returns 1 when it
 * computed one; returns the (possibly new) id in *id.
 */
static int check_identity(struct faces *s, const struct vd_frame *f, struct vd_frame *rgb,
                          int *have_rgb, const struct vd_face *b, const uint8_t *patch, int *id) {
  if (!s->embm || (size_t)*id >= s->nt)
    return 0;
  struct ftrack *t = &s->t[*id];
  if (!t->has_patch || !t->emb)
    return 0;
  if (patch_diff(patch, t->patch) <= s->check_diff && f->time - t->last <= 1.5 / s->fps)
    return 0;
  if (rgb_view(f, rgb, have_rgb) < 0)
    return 0;
  vd_faceemb_run(s->embm, rgb->data[0], rgb->width, rgb->height, rgb->linesize[0], b, s->emb_tmp);
  int dim = vd_faceemb_dim(s->embm);
  double dot = 0, n2 = 0;
  for (int k = 0; k < dim; k++) {
    dot += (double)t->emb[k] * s->emb_tmp[k];
    n2 += (double)t->emb[k] * t->emb[k];
  }
  s->checks++;
  if (n2 > 0 && dot / sqrt(n2) < s->split_sim) {
    *id = vd_facetracker_split(s->trk, *id);
    s->splits++;
  }
  return 1;
}

/*
 * A slot in the thumbnail pool for track `id`: its own, a free one, or the
 * one of the holder with the fewest samples when that is fewer than this
 * track's (which then loses its picture). -1 when none.
 */
static int thumb_slot(struct faces *s, int id) {
  int weakest = -1;
  for (int k = 0; k < s->nthumb; k++) {
    if (s->thumb_ids[k] == id)
      return k;
    if (weakest < 0 || s->t[s->thumb_ids[k]].n < s->t[s->thumb_ids[weakest]].n)
      weakest = k;
  }
  if (s->nthumb < s->max_thumbs) {
    s->thumb_ids[s->nthumb] = id;
    return s->nthumb++;
  }
  struct ftrack *w = &s->t[s->thumb_ids[weakest]];
  if (w->n >= s->t[id].n)
    return -1;
  vd_picture_fini(&w->thumb);
  w->thumb_rank = 0;
  s->thumb_ids[weakest] = id;
  return weakest;
}

/* Keeps the crop of box `b` as track `id`'s thumbnail when it beats the one
 * kept (higher score x area). */
static void thumb_offer(struct faces *s, int id, const struct vd_frame *f, struct vd_frame *rgb,
                        int *have_rgb, const struct vd_face *b) {
  struct ftrack *t = &s->t[id];
  double rank = (double)b->score * (double)(b->x1 - b->x0) * (double)(b->y1 - b->y0);
  if (!s->thumbs || rank <= t->thumb_rank)
    return;
  if ((!t->thumb.buf && thumb_slot(s, id) < 0) || rgb_view(f, rgb, have_rgb) < 0)
    return;
  float cx = (b->x0 + b->x1) / 2 * (float)rgb->width, cy = (b->y0 + b->y1) / 2 * (float)rgb->height;
  float hw = (b->x1 - b->x0) * THUMB_GROW / 2 * (float)rgb->width;
  float hh = (b->y1 - b->y0) * THUMB_GROW / 2 * (float)rgb->height;
  int x0 = (int)floorf(cx - hw), y0 = (int)floorf(cy - hh);
  if (vd_picture_crop_rgb(&t->thumb, rgb, x0, y0, (int)ceilf(cx + hw) - x0,
                          (int)ceilf(cy + hh) - y0, THUMB_SIDE) == 0)
    t->thumb_rank = rank;
}

static int faces_video(struct vd_actx *c, const struct vd_frame *f) {
  struct faces *s = vd_actx_priv(c);
  struct vd_face faces[FACES_MAX];
  int ids[FACES_MAX];
  int n = vd_facedet_run(s->det, f->data[0], f->width, f->height, f->linesize[0], faces, FACES_MAX);
  /* Expressions need more pixels than detection: a grey view, up to 720p. */
  struct vd_frame gray;
  int have_gray = s->emo && n > 0 &&
                  vd_frame_view(f, &(struct vd_video_want){.max_side = 1280, .fmt = VD_PIX_GRAY8},
                                &gray) == 0;
  struct vd_frame rgb;
  int have_rgb = 0;
  vd_facetracker_update(s->trk, f->time, faces, n, ids);
  s->sampled++;
  s->with_faces += n > 0;
  s->detections += n;
  json_array_append_new(s->frames, json_pack("[f,i]", round4(f->time), n));
  for (int i = 0; i < n; i++) {
    uint8_t patch[PATCH * PATCH];
    face_patch(f, &faces[i], patch);
    int checked = check_identity(s, f, &rgb, &have_rgb, &faces[i], patch, &ids[i]);
    size_t id = (size_t)ids[i];
    while (id >= s->nt) {
      if (s->nt == s->capt) {
        s->capt = s->capt ? 2 * s->capt : 16;
        s->t = vd_xrealloc(s->t, s->capt * sizeof(*s->t));
      }
      s->t[s->nt++] = (struct ftrack){.boxes = json_array(), .first = f->time};
    }
    struct ftrack *t = &s->t[id];
    const struct vd_face *b = &faces[i];
    json_t *box = json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "time", round4(f->time), "x",
                            round4(b->x0), "y", round4(b->y0), "w", round4(b->x1 - b->x0), "h",
                            round4(b->y1 - b->y0), "score", round4(b->score));
    if (have_gray)
      add_emotion(s, t, &gray, b, box);
    if (checked)
      add_embedding_vec(s, t, f->time);
    else if (s->embm)
      add_embedding(s, t, f, &rgb, &have_rgb, b);
    memcpy(t->patch, patch, sizeof(patch));
    t->has_patch = 1;
    json_array_append_new(t->boxes, box);
    t->last = f->time;
    t->score_sum += b->score;
    t->n++;
    thumb_offer(s, (int)id, f, &rgb, &have_rgb, b);
  }
  return 0;
}

/* Time ranges of one track: split where it was unseen for > 1.5 intervals. */
static json_t *track_ranges(const struct ftrack *t, double step, double end_cap) {
  json_t *r = json_array();
  double start = NAN, prev = NAN;
  for (size_t i = 0; i <= json_array_size(t->boxes); i++) {
    double tm = i < json_array_size(t->boxes)
                    ? json_real_value(json_object_get(json_array_get(t->boxes, i), "time"))
                    : INFINITY;
    if (!isnan(prev) && tm - prev > 1.5 * step) {
      double end = prev + step < end_cap ? prev + step : end_cap;
      json_array_append_new(r, json_pack("{s:f,s:f}", "start", round4(start), "end", round4(end)));
      start = NAN;
    }
    if (isnan(start))
      start = tm;
    prev = tm;
  }
  return r;
}

/* Writes track `id`'s picture as face-<id>.jpg; its name, or NULL when the
 * run has no output folder or the write failed (warned). Frees the picture. */
static char *thumb_write(struct vd_actx *c, struct ftrack *t, int id) {
  if (!t->thumb.buf)
    return NULL;
  char *name = vd_xasprintf("face-%d.jpg", id);
  char *path = vd_actx_artifact_path(c, name);
  if (path) {
    struct vd_frame v;
    struct vd_err e;
    vd_err_clear(&e);
    vd_picture_view(&t->thumb, &v);
    if (vd_jpeg_write(path, &v, 0, &e) < 0) {
      vd_actx_warn(c, "%s", vd_err_msg(&e, e.code));
      free(path);
      path = NULL;
    }
  }
  vd_picture_fini(&t->thumb);
  if (!path) {
    free(name);
    return NULL;
  }
  free(path);
  return name;
}

static int faces_finish(struct vd_actx *c, json_t **result) {
  struct faces *s = vd_actx_priv(c);
  const struct vd_media_info *mi = vd_actx_media_info(c);
  double step = 1.0 / s->fps, dur = mi->duration > 0 ? mi->duration : INFINITY;
  json_t *tracks = json_array();
  size_t unthumbed = 0;
  for (size_t i = 0; i < s->nt; i++) {
    struct ftrack *t = &s->t[i];
    unthumbed += s->thumbs && !t->thumb.buf;
    char *thumb = thumb_write(c, t, (int)i);
    json_t *tj = json_pack("{s:i,s:f,s:f,s:I,s:f,s:o,s:O}", "id", (int)i, "start", round4(t->first),
                           "end", round4(t->last + step < dur ? t->last + step : dur), "frames",
                           (json_int_t)t->n, "score_mean", round4(t->score_sum / (double)t->n),
                           "ranges", track_ranges(t, step, dur), "boxes", t->boxes);
    json_object_set_new(tj, "thumbnail", thumb ? json_string(thumb) : json_null());
    free(thumb);
    if (s->emo) {
      /* Dominant: highest mean probability; consistency: how often it was on top. */
      int dom = 0;
      int64_t classified = t->emo_top[0];
      for (int k = 1; k < VD_EMOTIONS; k++) {
        dom = t->emo_sum[k] > t->emo_sum[dom] ? k : dom;
        classified += t->emo_top[k];
      }
      json_object_set_new(tj, "emotion", json_string(vd_emotion_labels[dom]));
      json_object_set_new(tj, "emotion_consistency",
                          json_real(classified ? round4((double)t->emo_top[dom] / (double)classified) : 0));
    }
    if (t->emb) {
      /* The mean of unit vectors, renormalised: the track's direction. */
      int dim = vd_faceemb_dim(s->embm);
      double n2 = 0;
      for (int k = 0; k < dim; k++)
        n2 += (double)t->emb[k] * t->emb[k];
      json_t *ej = json_array();
      for (int k = 0; k < dim; k++)
        json_array_append_new(ej, json_real(n2 > 0 ? round4(t->emb[k] / sqrt(n2)) : 0));
      json_object_set_new(tj, "embedding", ej);
      json_object_set_new(tj, "embedding_samples", json_integer(t->emb_n));
    }
    json_array_append_new(tracks, tj);
  }
  if (unthumbed && s->nt > (size_t)s->max_thumbs)
    vd_actx_warn(c, "%zu of %zu tracks have no thumbnail (pictures are kept for the %d "
                 "longest tracks at most, thumbnail_tracks)", unthumbed, s->nt, s->max_thumbs);
  *result = json_pack("{s:s,s:f,s:i,s:i,s:I,s:I,s:I,s:o,s:O}", "model", "blazeface", "fps", s->fps,
                      "width", mi->display_width, "height", mi->display_height, "sampled_frames",
                      (json_int_t)s->sampled, "frames_with_faces", (json_int_t)s->with_faces,
                      "detections", (json_int_t)s->detections, "tracks", tracks, "frames",
                      s->frames);
  if (*result && s->embm) {
    json_object_set_new(*result, "identity_checks", json_integer(s->checks));
    json_object_set_new(*result, "identity_splits", json_integer(s->splits));
  }
  if (*result && s->emo) {
    /* Share of each expression over every detection of the video. */
    json_t *share = json_object();
    for (int k = 0; k < VD_EMOTIONS; k++)
      json_object_set_new(share, vd_emotion_labels[k],
                          json_real(s->emo_n ? round4(s->emo_sum[k] / (double)s->emo_n) : 0));
    json_object_set_new(*result, "emotions", share);
  }
  if (!*result)
    return vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL, "faces: cannot build the result");
  char *path = vd_actx_bool(c, "annotate") ? vd_actx_artifact_path(c, "faces.mp4") : NULL;
  if (path) {
    json_t *info = NULL;
    int ret = vd_faces_annotate(c, *result, path, &info, vd_actx_err(c));
    free(path);
    if (ret < 0) {
      json_decref(*result);
      *result = NULL;
      return ret;
    }
    json_object_set_new(*result, "annotated", info);
  }
  return 0;
}

static void faces_uninit(struct vd_actx *c) {
  struct faces *s = vd_actx_priv(c);
  vd_facedet_free(s->det);
  vd_faceemo_free(s->emo);
  vd_facetracker_free(s->trk);
  for (size_t i = 0; i < s->nt; i++) {
    json_decref(s->t[i].boxes);
    free(s->t[i].emb);
    vd_picture_fini(&s->t[i].thumb);
  }
  vd_faceemb_free(s->embm);
  free(s->emb_tmp);
  free(s->t);
  free(s->thumb_ids);
  json_decref(s->frames);
}

const struct vd_analysis_def vd_analysis_faces = {
    .name = "faces",
    .summary = "Face detection (BlazeFace on vidan's nn runtime) at a sampling rate, with "
               "non-maximum suppression, linked into face tracks with time ranges and boxes.",
    .params = faces_params,
    .deps = NULL,
    .priv_size = sizeof(struct faces),
    .init = faces_init,
    .video = faces_video,
    .audio = NULL,
    .finish = faces_finish,
    .uninit = faces_uninit,
    .threaded = 1, /* BlazeFace, emotions and embeddings run beside decoding */
};
