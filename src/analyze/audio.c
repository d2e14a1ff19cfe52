/*
 * audio.c: the `audio` analysis. Loudness (EBU R128: integrated, range, true
 * peak), librosa-style features (RMS, spectral centroid, zero-crossing
 * rate), tempo, a timeline for charts and, when the run has scene
 * boundaries, the same features per scene (what compat B's
 * audio_analysis.audio_features holds). The signal work is audio_feat.c.
 *
 * DESIGN
 * - Two subscriptions: the native layout and rate (R128 weights each
 *   channel, and true peak needs the real rate), and the native layout at
 *   22050 Hz (librosa's rate, so the numbers match the earlier system's),
 *   averaged to mono here as librosa does (libswresample's own downmix
 *   weighs stereo by 1/sqrt(2)). The callback tells their chunks apart:
 *   22050 Hz chunks that continue the feature stream are features, the
 *   rest loudness. The only ambiguous case is a native stream at 22050 Hz;
 *   then both chunks of a decoded frame hold the same samples, so whichever
 *   is taken for which gives the same result.
 * - Scenes are an optional dependency (`after`), not a required one:
 *   asking for `audio` must not cost a video decode, and an audio-only file
 *   must not skip it. When the run has `scenes` too, it finishes first and
 *   finish() adds `segments`, one per scene, computed from the 0.1 s
 *   buckets. See docs/audio.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/audio_feat.h"
#include "core/util.h"

#define MAX_POINTS 100000 /* timeline points; a finer bucket is widened */

struct audio {
  struct vd_audio_feat *f;
  double feat_next;  /* time the next feature chunk starts at; NAN before the first */
  double bucket;     /* timeline seconds per point */
};

static const struct vd_param_def audio_params[] = {
    {"bucket", VD_PARAM_NUM, "1", 0.1, 3600, NULL,
     "timeline resolution in seconds (one point per bucket)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int audio_init(struct vd_actx *c) {
  struct audio *a = vd_actx_priv(c);
  struct vd_err *err = vd_actx_err(c);
  const struct vd_media_info *mi = vd_actx_media_info(c);
  const struct vd_media_limits *lim = vd_actx_limits(c);
  a->feat_next = NAN;
  a->bucket = vd_actx_num(c, "bucket");
  /* the native stream first: a file without audio is skipped, not failed */
  int ret = vd_actx_want_audio(c, &(struct vd_audio_want){.sample_rate = 0, .mono = 0});
  if (ret < 0)
    return ret;
  ret = vd_actx_want_audio(c, &(struct vd_audio_want){.sample_rate = VD_AUDIO_RATE, .mono = 0});
  if (ret < 0)
    return ret;
  double cap = lim && lim->max_duration > 0 ? lim->max_duration : 48 * 3600.0;
  if (mi && mi->duration > cap)
    cap = mi->duration;
  return vd_audio_feat_new(&a->f, cap + 60, err);
}

static int audio_audio(struct vd_actx *c, const struct vd_audio_chunk *ch) {
  struct audio *a = vd_actx_priv(c);
  struct vd_err *err = vd_actx_err(c);
  size_t n = (size_t)ch->nb_samples;
  int feat = ch->sample_rate == VD_AUDIO_RATE &&
             (isnan(a->feat_next) || ch->time >= a->feat_next - 0.5 / VD_AUDIO_RATE);
  if (feat) {
    a->feat_next = ch->time + (double)n / VD_AUDIO_RATE;
    vd_audio_feat_mono(a->f, ch->samples, n, ch->channels, ch->time);
    return 0;
  }
  return vd_audio_feat_native(a->f, ch->samples, n, ch->channels, ch->sample_rate, ch->time, err);
}

/* ---- result ------------------------------------------------------------------ */

/* A rounded number, or null for NaN/inf (JSON has no NaN). */
static json_t *num(double v, double scale) {
  return isfinite(v) ? json_real(round(v * scale) / scale) : json_null();
}

static void put_features(json_t *o, const struct vd_audio_stats *s) {
  json_object_set_new(o, "rms_energy", num(s->rms, 1e6));
  json_object_set_new(o, "spectral_centroid_mean", num(s->centroid, 10));
  json_object_set_new(o, "zero_crossing_rate", num(s->zcr, 1e5));
  json_object_set_new(o, "tempo", num(s->tempo, 100));
  json_object_set_new(o, "silence_ratio", num(s->silence, 1e4));
}

static json_t *timeline_json(struct vd_actx *c, const struct audio *a, double end) {
  double b = a->bucket;
  if (end / b > MAX_POINTS) {
    b = ceil(end / MAX_POINTS / VD_AUDIO_FINE) * VD_AUDIO_FINE;
    vd_actx_warn(c, "timeline bucket widened from %g s to %g s (at most %d points)", a->bucket, b,
                 MAX_POINTS);
  }
  size_t n = end > 0 ? (size_t)ceil(end / b - 1e-9) : 0;
  json_t *times = json_array(), *rms = json_array(), *st = json_array(), *cent = json_array(),
         *zcr = json_array();
  for (size_t i = 0; i < n; i++) {
    struct vd_audio_stats s;
    double t0 = (double)i * b;
    vd_audio_feat_range(a->f, t0, t0 + b, &s);
    json_array_append_new(times, num(t0, 1e3));
    json_array_append_new(rms, num(s.rms, 1e6));
    json_array_append_new(st, num(s.shortterm, 100));
    json_array_append_new(cent, num(s.centroid, 10));
    json_array_append_new(zcr, num(s.zcr, 1e5));
  }
  return json_pack("{s:f, s:o, s:{s:o, s:o, s:o, s:o}}", "bucket", b, "times", times, "series",
                   "rms", rms, "loudness_shortterm", st, "spectral_centroid", cent,
                   "zero_crossing_rate", zcr);
}

/* One entry per scene of a `scenes` result, or NULL if it has none. */
static json_t *segments_json(const struct audio *a, json_t *scenes) {
  json_t *list = json_object_get(scenes, "scenes");
  if (!json_is_array(list))
    return NULL;
  json_t *out = json_array();
  size_t i;
  json_t *sc;
  json_array_foreach(list, i, sc) {
    double t0 = json_number_value(json_object_get(sc, "start_time"));
    double t1 = json_number_value(json_object_get(sc, "end_time"));
    json_t *idx = json_object_get(sc, "index");
    struct vd_audio_stats s;
    vd_audio_feat_range(a->f, t0, t1, &s);
    json_t *o = json_pack("{s:I, s:o, s:o}", "scene",
                          (json_int_t)(json_is_integer(idx) ? json_integer_value(idx) : (long)i + 1),
                          "start_time", num(t0, 1e3), "end_time", num(t1, 1e3));
    put_features(o, &s);
    json_object_set_new(o, "loudness_momentary_max", num(s.momentary_max, 100));
    json_array_append_new(out, o);
  }
  return out;
}

static int audio_finish(struct vd_actx *c, json_t **result) {
  struct audio *a = vd_actx_priv(c);
  vd_audio_feat_end(a->f);
  if (vd_audio_feat_truncated(a->f))
    vd_actx_warn(c, "audio past the duration limit was not analysed");
  double end = vd_audio_feat_end_time(a->f);
  struct vd_audio_stats s;
  struct vd_audio_loudness l;
  vd_audio_feat_range(a->f, 0, end + 1, &s);
  vd_audio_feat_loudness(a->f, &l);
  json_t *o = json_pack("{s:o, s:i, s:{s:o, s:o, s:o, s:o}}", "duration", num(end, 1e3),
                        "sample_rate", VD_AUDIO_RATE, "loudness", "integrated_lufs",
                        num(l.integrated, 100), "range_lu", num(l.range, 100), "true_peak_dbtp",
                        num(l.true_peak, 100), "momentary_max_lufs", num(s.momentary_max, 100));
  put_features(o, &s);
  json_object_set_new(o, "tempo_strength", num(s.tempo_strength, 1e3));
  json_object_set_new(o, "timeline", timeline_json(c, a, end));
  json_t *scenes = vd_actx_dep_result(c, "scenes");
  json_t *seg = scenes ? segments_json(a, scenes) : NULL;
  if (seg)
    json_object_set_new(o, "segments", seg);
  *result = o;
  return 0;
}

static void audio_uninit(struct vd_actx *c) {
  struct audio *a = vd_actx_priv(c);
  if (a)
    vd_audio_feat_free(a->f);
}

static const char *const audio_after[] = {"scenes", NULL};

const struct vd_analysis_def vd_analysis_audio = {
    .name = "audio",
    .summary = "Loudness (EBU R128 integrated, range, true peak), RMS, spectral centroid, "
               "zero-crossing rate and tempo, for the whole file, over time, and per scene "
               "when scenes are known.",
    .params = audio_params,
    .after = audio_after,
    .priv_size = sizeof(struct audio),
    /* the R128 meter (true peak is 4x oversampled) costs about twice the
     * AAC decoding: on a worker of its own it overlaps the decode */
    .threaded = 1,
    .init = audio_init,
    .audio = audio_audio,
    .finish = audio_finish,
    .uninit = audio_uninit,
};
