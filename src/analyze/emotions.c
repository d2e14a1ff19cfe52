/*
 * emotions.c: the `emotions` analysis, a post-pass over the `faces` result
 * (compat.md D: per face per sampled frame the emotion probabilities, and
 * how each emotion varies over the whole video as a chart-ready series).
 *
 * DESIGN
 * - faces already runs the emotion model on every detected face (it has the
 *   pixels during the decode pass); this analysis only restructures those
 *   probabilities, so the model runs once per face whichever analyses ask.
 * - Per face per frame: "frames" [{time, faces: [{track, box, emotion,
 *   probabilities}]}], in time order.
 * - Per track: the probabilities smoothed by a centred moving average of
 *   `window` seconds, whose top class is the dominant emotion at that
 *   instant. That gives a label series ("series") and the same collapsed
 *   into segments ("timeline") — a single odd frame does not flip the label.
 * - Whole video: one point per `bucket` seconds, the mean probability of
 *   each emotion over the faces seen in that bucket (null where no face
 *   was: a chart draws a gap, not a fake zero), in the shape uPlot and
 *   most chart libraries take: {times: [...], series: {label: [...]}}.
 * - Memory and time are linear in the number of face detections.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/faces_detect.h"
#include "analyze/faces_post.h"
#include "core/util.h"

/* Whole-video points at most; a longer video gets wider buckets. */
#define EMO_MAX_BUCKETS 100000

static double r4(double v) { return round(v * 10000.0) / 10000.0; }

static int argmax(const double *p) {
  int top = 0;
  for (int k = 1; k < VD_EMOTIONS; k++)
    top = p[k] > p[top] ? k : top;
  return top;
}

static json_t *prob_obj(const double *p) {
  json_t *o = json_object();
  for (int k = 0; k < VD_EMOTIONS; k++)
    json_object_set_new(o, vd_emotion_labels[k], json_real(r4(p[k])));
  return o;
}

/* One classified face: where it is in the faces result. */
struct sample {
  double time;
  int track;
  json_t *box; /* borrowed from the faces result */
  double p[VD_EMOTIONS];
};

static int cmp_sample(const void *a, const void *b) {
  const struct sample *x = a, *y = b;
  if (x->time != y->time)
    return x->time < y->time ? -1 : 1;
  return (x->track > y->track) - (x->track < y->track);
}

/* Reads the 7 probabilities of a box; -1 when it has none. */
static int box_probs(json_t *box, double *p) {
  json_t *e = json_object_get(box, "emotions");
  if (!json_is_array(e) || json_array_size(e) != VD_EMOTIONS)
    return -1;
  for (int k = 0; k < VD_EMOTIONS; k++)
    p[k] = json_number_value(json_array_get(e, (size_t)k));
  return 0;
}

/* Per-track analysis over the samples s[0..n) of one track, in time order. */
static json_t *track_json(int id, const struct sample *s, size_t n, const struct vd_emotions_opts *o,
                          double step, double end_cap) {
  double mean[VD_EMOTIONS] = {0};
  int64_t top_n[VD_EMOTIONS] = {0};
  json_t *times = json_array(), *labels = json_array(), *segs = json_array();
  int prev = -1;
  double seg_start = 0;
  size_t lo = 0, hi = 0; /* window [lo, hi) around sample i */
  double win[VD_EMOTIONS] = {0};
  for (size_t i = 0; i < n; i++) {
    for (int k = 0; k < VD_EMOTIONS; k++)
      mean[k] += s[i].p[k];
    top_n[argmax(s[i].p)]++;
    /* Slide the window: add samples up to t + w/2, drop those before t - w/2. */
    while (hi < n && s[hi].time <= s[i].time + o->window / 2 + 1e-9) {
      for (int k = 0; k < VD_EMOTIONS; k++)
        win[k] += s[hi].p[k];
      hi++;
    }
    while (s[lo].time < s[i].time - o->window / 2 - 1e-9) {
      for (int k = 0; k < VD_EMOTIONS; k++)
        win[k] -= s[lo].p[k];
      lo++;
    }
    int dom = argmax(win);
    json_array_append_new(times, json_real(r4(s[i].time)));
    json_array_append_new(labels, json_string(vd_emotion_labels[dom]));
    if (dom != prev) {
      if (prev >= 0)
        json_array_append_new(segs, json_pack("{s:f,s:f,s:s}", "start", r4(seg_start), "end",
                                              r4(s[i].time), "emotion", vd_emotion_labels[prev]));
      prev = dom;
      seg_start = s[i].time;
    }
  }
  double end = s[n - 1].time + step < end_cap ? s[n - 1].time + step : end_cap;
  json_array_append_new(segs, json_pack("{s:f,s:f,s:s}", "start", r4(seg_start), "end", r4(end),
                                        "emotion", vd_emotion_labels[prev]));
  for (int k = 0; k < VD_EMOTIONS; k++)
    mean[k] /= (double)n;
  int dom = argmax(mean);
  return json_pack("{s:i,s:s,s:f,s:I,s:o,s:o,s:{s:o,s:o}}", "track", id, "dominant",
                   vd_emotion_labels[dom], "consistency", r4((double)top_n[dom] / (double)n),
                   "samples", (json_int_t)n, "share", prob_obj(mean), "timeline", segs, "series",
                   "times", times, "dominant", labels);
}

/* The per-frame listing: samples grouped by time. */
static json_t *frames_json(const struct sample *s, size_t n) {
  json_t *frames = json_array(), *cur = NULL;
  for (size_t i = 0; i < n; i++) {
    if (!cur || s[i].time != s[i - 1].time) {
      cur = json_array();
      json_array_append_new(frames, json_pack("{s:f,s:o}", "time", r4(s[i].time), "faces", cur));
    }
    json_t *b = s[i].box;
    json_array_append_new(
        cur, json_pack("{s:i,s:[O,O,O,O],s:s,s:o}", "track", s[i].track, "box",
                       json_object_get(b, "x"), json_object_get(b, "y"), json_object_get(b, "w"),
                       json_object_get(b, "h"), "emotion", vd_emotion_labels[argmax(s[i].p)],
                       "probabilities", prob_obj(s[i].p)));
  }
  return frames;
}

/* The whole-video series and the summary. */
static void video_json(const struct sample *s, size_t n, const struct vd_emotions_opts *o,
                       json_t *res) {
  double dur = o->duration > 0 ? o->duration : (n ? s[n - 1].time + 1e-6 : 0);
  double bucket = o->bucket;
  if (dur / bucket > EMO_MAX_BUCKETS)
    bucket = dur / EMO_MAX_BUCKETS;
  size_t nb = (size_t)ceil(dur / bucket - 1e-9);
  double *sum = vd_xcalloc(nb * VD_EMOTIONS + 1, sizeof(double));
  int64_t *cnt = vd_xcalloc(nb + 1, sizeof(int64_t));
  double all[VD_EMOTIONS] = {0};
  int64_t top_n[VD_EMOTIONS] = {0};
  for (size_t i = 0; i < n; i++) {
    size_t b = (size_t)(s[i].time / bucket);
    b = b < nb ? b : (nb ? nb - 1 : 0);
    for (int k = 0; k < VD_EMOTIONS; k++) {
      sum[b * VD_EMOTIONS + (size_t)k] += s[i].p[k];
      all[k] += s[i].p[k];
    }
    cnt[b]++;
    top_n[argmax(s[i].p)]++;
  }
  json_t *times = json_array(), *faces = json_array(), *series = json_object();
  json_t *col[VD_EMOTIONS];
  for (int k = 0; k < VD_EMOTIONS; k++) {
    col[k] = json_array();
    json_object_set_new(series, vd_emotion_labels[k], col[k]);
  }
  json_t *peaks = json_object();
  for (size_t b = 0; b < nb; b++) {
    json_array_append_new(times, json_real(r4((double)b * bucket)));
    json_array_append_new(faces, json_integer(cnt[b]));
    for (int k = 0; k < VD_EMOTIONS; k++) {
      double v = cnt[b] ? sum[b * VD_EMOTIONS + (size_t)k] / (double)cnt[b] : 0;
      json_array_append_new(col[k], cnt[b] ? json_real(r4(v)) : json_null());
      json_t *pk = json_object_get(peaks, vd_emotion_labels[k]);
      if (cnt[b] && (!pk || v > json_real_value(json_object_get(pk, "value"))))
        json_object_set_new(peaks, vd_emotion_labels[k],
                            json_pack("{s:f,s:f}", "time", r4((double)b * bucket), "value", r4(v)));
    }
  }
  json_t *top = json_object();
  for (int k = 0; k < VD_EMOTIONS; k++) {
    all[k] = n ? all[k] / (double)n : 0;
    json_object_set_new(top, vd_emotion_labels[k],
                        json_real(n ? r4((double)top_n[k] / (double)n) : 0));
  }
  json_object_set_new(res, "timeline",
                      json_pack("{s:f,s:o,s:o,s:o}", "bucket", r4(bucket), "times", times, "faces",
                                faces, "series", series));
  json_object_set_new(res, "summary",
                      json_pack("{s:I,s:s?,s:o,s:o,s:o}", "faces", (json_int_t)n, "dominant",
                                n ? vd_emotion_labels[argmax(all)] : NULL, "share", prob_obj(all),
                                "top_share", top, "peaks", peaks));
  free(sum);
  free(cnt);
}

int vd_emotions_build(json_t *faces, const struct vd_emotions_opts *o, json_t **out,
                      struct vd_err *err) {
  *out = NULL;
  json_t *tracks = json_object_get(faces, "tracks");
  if (!json_is_array(tracks) || o->bucket <= 0 || o->window < 0)
    return vd_err_set(err, VD_ERR_INVALID, "emotions: the faces result has no tracks");
  double fps = json_number_value(json_object_get(faces, "fps"));
  double step = fps > 0 ? 1.0 / fps : 0;
  double end_cap = o->duration > 0 ? o->duration : INFINITY;
  size_t n = 0, cap = 0;
  struct sample *s = NULL;
  size_t i, j;
  json_t *t, *b;
  json_array_foreach(tracks, i, t) {
    int id = (int)json_integer_value(json_object_get(t, "id"));
    json_array_foreach(json_object_get(t, "boxes"), j, b) {
      struct sample x = {.time = json_number_value(json_object_get(b, "time")), .track = id, .box = b};
      if (box_probs(b, x.p) < 0) {
        free(s);
        return vd_err_set(err, VD_ERR_INVALID,
                          "emotions: the faces result has no expression probabilities (run faces "
                          "with emotions=true)");
      }
      if (n == cap) {
        cap = cap ? 2 * cap : 256;
        s = vd_xrealloc(s, cap * sizeof(*s));
      }
      s[n++] = x;
    }
  }
  /* Tracks first (boxes already in time order within a track), then by time. */
  json_t *tj = json_array();
  for (size_t a = 0; a < n;) {
    size_t z = a;
    while (z < n && s[z].track == s[a].track)
      z++;
    json_array_append_new(tj, track_json(s[a].track, s + a, z - a, o, step, end_cap));
    a = z;
  }
  if (n)
    qsort(s, n, sizeof(*s), cmp_sample);
  json_t *labels = json_array();
  for (int k = 0; k < VD_EMOTIONS; k++)
    json_array_append_new(labels, json_string(vd_emotion_labels[k]));
  *out = json_pack("{s:o,s:f,s:f,s:o,s:o}", "labels", labels, "window", r4(o->window), "fps", fps,
                   "frames", frames_json(s, n), "tracks", tj);
  video_json(s, n, o, *out);
  free(s);
  return 0;
}

/* ---- the analysis -------------------------------------------------------------- */

static const struct vd_param_def emotions_params[] = {
    {"bucket", VD_PARAM_NUM, "1", 0.1, 3600, NULL,
     "seconds per point of the whole-video emotion series"},
    {"window", VD_PARAM_NUM, "1", 0, 60, NULL,
     "seconds of the moving average that smooths each track's dominant emotion; 0 = none"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static const char *const emotions_deps[] = {"faces", NULL};

static int emotions_init(struct vd_actx *c) {
  (void)c;
  return 0; /* no frames: everything comes from the faces result */
}

static int emotions_finish(struct vd_actx *c, json_t **result) {
  json_t *faces = vd_actx_dep_result(c, "faces");
  if (!faces)
    return vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL, "emotions: no faces result");
  struct vd_emotions_opts o = {.duration = vd_actx_media_info(c)->duration,
                               .bucket = vd_actx_num(c, "bucket"),
                               .window = vd_actx_num(c, "window")};
  return vd_emotions_build(faces, &o, result, vd_actx_err(c));
}

const struct vd_analysis_def vd_analysis_emotions = {
    .name = "emotions",
    .summary = "Emotion probabilities of every face in every sampled frame, each track's dominant "
               "emotion over time, and each emotion's share of the video over time (from faces).",
    .params = emotions_params,
    .deps = emotions_deps,
    .priv_size = 0,
    .init = emotions_init,
    .video = NULL,
    .audio = NULL,
    .finish = emotions_finish,
    .uninit = NULL,
};
