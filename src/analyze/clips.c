/*
 * clips.c: the `clips` analysis. Splits the video into one file per scene,
 * after the decode pass, from the `scenes` result.
 *
 * Two modes:
 * - default, stream copy (src/media/remux.c): fast, lossless, no decoding.
 *   A copied clip must begin on a keyframe, so each clip starts at the last
 *   video keyframe AT OR BEFORE its scene's start and may show a short
 *   pre-roll from the previous scene; "preroll" in the result says how long.
 *   All audio and video streams are copied; timestamps start at 0; the
 *   container is mp4 for mp4/mov input, Matroska otherwise.
 * - `accurate`: re-encodes (H.264 + AAC, src/media/encode.c) so every clip
 *   holds exactly its scene's frames, start_frame..end_frame as the scenes
 *   analysis numbered them. This is a second decode pass over the file, the
 *   one exception the architecture allows: it writes an output video. Frames
 *   are routed by decoded index, the same numbering scenes used, and audio
 *   by time, so a clip ends only when both its last frame and its last
 *   audio sample have gone by.
 *
 * Clips need an output folder; without one the analysis fails with a message
 * saying how to give one, rather than pretending to have written files.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "core/util.h"
#include "media/encode.h"
#include "media/remux.h"

/* Encoders open at once in accurate mode. Audio runs at most a second or so
 * ahead of or behind video in a file, so only scenes shorter than that keep
 * more than two open; past the cap the oldest is closed, its audio cut short. */
#define VD_CLIPS_MAX_OPEN 8

struct clip {
  int64_t scene;          /* scene index (1-based) */
  int64_t f0, f1;         /* first and last frame, inclusive */
  double t0, t1;          /* start and end, seconds from container start */
  char *name;             /* artifact name, "clip-001.mp4" */
  char *path;
  /* accurate mode */
  struct vd_encoder *enc;
  int64_t frames;
  int video_done, audio_done, closed;
  /* result */
  int written;
  double out_t0, out_t1;
};

struct clips {
  struct vd_actx *c;
  struct clip *v;
  size_t n;
  /* accurate mode */
  struct vd_encoder_opts eo;
  size_t vcur, acur;      /* first clip video / audio may still go to */
  int nopen;
  int has_audio;
  struct vd_err *err;
};

static const struct vd_param_def clips_params[] = {
    {"accurate", VD_PARAM_BOOL, "false", 1, 0, NULL,
     "re-encode (H.264 + AAC) so each clip holds exactly its scene's frames; the default stream "
     "copy is lossless and fast but starts each clip at the keyframe at or before its scene"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static const char *const clips_deps[] = {"scenes", NULL};

static double num(json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

/* Reads the scenes result into clips. */
static int load_scenes(struct clips *s, struct vd_err *err) {
  json_t *scenes = json_object_get(vd_actx_dep_result(s->c, "scenes"), "scenes");
  if (!json_is_array(scenes))
    return vd_err_set(err, VD_ERR_INTERNAL, "clips: the scenes result has no scene list");
  s->n = json_array_size(scenes);
  s->v = vd_xcalloc(s->n ? s->n : 1, sizeof(*s->v));
  json_t *sc;
  size_t i;
  json_array_foreach(scenes, i, sc) {
    struct clip *k = &s->v[i];
    k->scene = (int64_t)num(sc, "index");
    k->f0 = (int64_t)num(sc, "start_frame");
    k->f1 = (int64_t)num(sc, "end_frame");
    k->t0 = num(sc, "start_time");
    k->t1 = num(sc, "end_time");
    if (k->f1 < k->f0 || !(k->t1 > k->t0) || (i && k->f0 <= s->v[i - 1].f1))
      return vd_err_set(err, VD_ERR_INTERNAL, "clips: scene %zu is malformed or out of order", i + 1);
  }
  return 0;
}

/* Names every clip's file; fails when the run has no output folder. */
static int name_clips(struct clips *s, const char *ext, struct vd_err *err) {
  for (size_t i = 0; i < s->n; i++) {
    s->v[i].name = vd_xasprintf("clip-%03zu.%s", i + 1, ext);
    s->v[i].path = vd_actx_artifact_path(s->c, s->v[i].name);
    if (!s->v[i].path)
      return vd_err_set(err, VD_ERR_INVALID,
                        "clips need an output folder (vidan analyze -o DIR, vidan scenes --split DIR)");
  }
  return 0;
}

/* ---- stream copy -------------------------------------------------------- */

struct copy_progress {
  struct clips *s;
  size_t i;
};

static int copy_progress(void *opaque, double frac) {
  struct copy_progress *p = opaque;
  vd_actx_progress(p->s->c, ((double)p->i + frac) / (double)p->s->n, "copying clips");
  return vd_actx_canceled(p->s->c);
}

static int run_copy(struct clips *s, struct vd_err *err) {
  struct vd_remux *rx = NULL;
  int ret = vd_remux_open(&rx, vd_actx_input_path(s->c), err);
  if (ret < 0)
    return ret;
  if ((ret = name_clips(s, vd_remux_ext(rx), err)) < 0)
    goto out;
  for (size_t i = 0; i < s->n; i++) {
    struct clip *k = &s->v[i];
    struct vd_remux_clip rc;
    struct copy_progress p = {s, i};
    struct vd_err cut_err;
    vd_err_clear(&cut_err);
    ret = vd_remux_cut(rx, k->t0, k->t1, k->path, &rc, copy_progress, &p, &cut_err);
    if (ret == VD_ERR_CORRUPT) {
      /* A damaged stretch costs its clip, not the others. */
      vd_actx_warn(s->c, "scene %lld: %s", (long long)k->scene, vd_err_msg(&cut_err, ret));
      ret = 0;
      continue;
    }
    if (ret < 0) {
      vd_err_set(err, ret, "%s", vd_err_msg(&cut_err, ret));
      goto out;
    }
    k->written = 1;
    k->frames = rc.video_packets;
    k->out_t0 = rc.start;
    k->out_t1 = rc.end;
  }
out:
  vd_remux_free(rx);
  return ret;
}

/* ---- accurate: re-encode ----------------------------------------------------- */

static int close_clip(struct clips *s, struct clip *k) {
  if (k->closed)
    return 0;
  k->closed = 1;
  if (!k->enc)
    return 0;
  int ret = vd_encoder_finish(k->enc, s->err);
  k->frames = vd_encoder_frames(k->enc);
  vd_encoder_free(k->enc);
  k->enc = NULL;
  s->nopen--;
  if (ret < 0)
    return ret;
  k->written = 1;
  k->out_t0 = k->t0;
  k->out_t1 = k->t1;
  return 0;
}

static int maybe_close(struct clips *s, struct clip *k) {
  if (k->video_done && (k->audio_done || !s->has_audio))
    return close_clip(s, k);
  return 0;
}

/* The encoder of clip k, opened on first use; NULL once the clip is closed. */
static int clip_encoder(struct clips *s, struct clip *k, struct vd_encoder **out) {
  *out = NULL;
  if (k->closed)
    return 0;
  if (!k->enc) {
    if (s->nopen >= VD_CLIPS_MAX_OPEN) {
      for (size_t i = 0; i < s->n; i++)
        if (s->v[i].enc) {
          vd_actx_warn(s->c, "clip %zu closed early: its audio may be cut short", i + 1);
          int ret = close_clip(s, &s->v[i]);
          if (ret < 0)
            return ret;
          break;
        }
    }
    int ret = vd_encoder_new(&k->enc, k->path, &s->eo, s->err);
    if (ret < 0)
      return ret;
    s->nopen++;
  }
  *out = k->enc;
  return 0;
}

static int acc_video(void *opaque, const struct vd_frame *f) {
  struct clips *s = opaque;
  int ret;
  while (s->vcur < s->n && f->index > s->v[s->vcur].f1) {
    s->v[s->vcur].video_done = 1;
    if ((ret = maybe_close(s, &s->v[s->vcur])) < 0)
      return ret;
    s->vcur++;
  }
  if (s->vcur == s->n || f->index < s->v[s->vcur].f0)
    return 0;
  struct clip *k = &s->v[s->vcur];
  struct vd_encoder *enc;
  if ((ret = clip_encoder(s, k, &enc)) < 0 || !enc)
    return ret;
  return vd_encoder_video(enc, f, f->time - k->t0, s->err);
}

static int acc_audio(void *opaque, const struct vd_audio_chunk *a) {
  struct clips *s = opaque;
  if (!s->has_audio)
    return 0;
  if (a->channels != s->eo.channels || a->sample_rate != s->eo.sample_rate) {
    /* The stream changed layout mid-file: the clips keep their video and
     * what audio they had, rather than the run failing. */
    vd_actx_warn(s->c, "audio changed to %d ch %d Hz at %.3f s; later clips have no audio",
                 a->channels, a->sample_rate, a->time);
    s->has_audio = 0;
    return 0;
  }
  double rate = a->sample_rate, ta = a->time, te = ta + a->nb_samples / rate;
  int ret;
  while (s->acur < s->n && ta >= s->v[s->acur].t1) {
    s->v[s->acur].audio_done = 1;
    if ((ret = maybe_close(s, &s->v[s->acur])) < 0)
      return ret;
    s->acur++;
  }
  for (size_t j = s->acur; j < s->n && s->v[j].t0 < te; j++) {
    struct clip *k = &s->v[j];
    double s0 = ceil((k->t0 - ta) * rate - 1e-6), s1 = ceil((k->t1 - ta) * rate - 1e-6);
    int i0 = s0 < 0 ? 0 : (int)s0, i1 = s1 > a->nb_samples ? a->nb_samples : (int)s1;
    if (i1 > i0) {
      struct vd_encoder *enc;
      if ((ret = clip_encoder(s, k, &enc)) < 0)
        return ret;
      if (enc && (ret = vd_encoder_audio(enc, a->samples + (size_t)i0 * (size_t)a->channels,
                                         i1 - i0, ta + i0 / rate - k->t0, s->err)) < 0)
        return ret;
    }
    if (te >= k->t1) {
      k->audio_done = 1;
      if ((ret = maybe_close(s, k)) < 0)
        return ret;
    }
  }
  return 0;
}

static int acc_progress(void *opaque, double frac) {
  struct clips *s = opaque;
  vd_actx_progress(s->c, frac, "re-encoding clips");
  return vd_actx_canceled(s->c);
}

static int aac_rate_ok(int rate) {
  static const int rates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                              22050, 16000, 12000, 11025, 8000,  7350};
  for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
    if (rates[i] == rate)
      return 1;
  return 0;
}

static int run_accurate(struct clips *s, struct vd_err *err) {
  struct vd_media *m = NULL;
  int ret = name_clips(s, "mp4", err);
  if (ret < 0)
    return ret;
  s->err = err;
  if ((ret = vd_media_open(&m, vd_actx_input_path(s->c), vd_actx_limits(s->c), err)) < 0)
    goto out;
  const struct vd_media_info *in = vd_media_info(m);
  if (in->video < 0) {
    ret = vd_err_set(err, VD_ERR_NO_STREAM, "clips: the input has no video stream");
    goto out;
  }
  const struct vd_stream_info *vs = &in->streams[in->video];
  /* Upright, square pixels, even sides: what H.264 in yuv420p can hold. */
  struct vd_video_want vw = {.fmt = VD_PIX_YUV420P};
  vw.width = in->display_width > 2 ? in->display_width & ~1 : 2;
  vw.height = in->display_height > 2 ? in->display_height & ~1 : 2;
  s->eo.width = vw.width;
  s->eo.height = vw.height;
  s->eo.fps = vs->avg_fps > 0 && vs->avg_fps <= 1000 ? vs->avg_fps
              : vs->r_fps > 0 && vs->r_fps <= 1000   ? vs->r_fps
                                                     : 25;
  if ((ret = vd_media_want_video(m, &vw, acc_video, s)) < 0)
    goto out;
  if (in->audio >= 0) {
    const struct vd_stream_info *as = &in->streams[in->audio];
    struct vd_audio_want aw = {.sample_rate = aac_rate_ok(as->sample_rate) ? 0 : 48000,
                               .mono = as->channels < 1 || as->channels > 8};
    s->eo.sample_rate = aw.sample_rate ? aw.sample_rate : as->sample_rate;
    s->eo.channels = aw.mono ? 1 : as->channels;
    s->has_audio = 1;
    if ((ret = vd_media_want_audio(m, &aw, acc_audio, s)) < 0)
      goto out;
  }
  if ((ret = vd_media_run(m, acc_progress, s, err)) < 0)
    goto out;
  for (size_t i = 0; i < s->n; i++)
    if ((ret = close_clip(s, &s->v[i])) < 0)
      goto out;
out:
  vd_media_free(m);
  return ret;
}

/* ---- the analysis -------------------------------------------------------------- */

static void free_clips(struct clips *s, int failed) {
  for (size_t i = 0; i < s->n; i++) {
    vd_encoder_free(s->v[i].enc);
    if (failed && s->v[i].path)
      unlink(s->v[i].path); /* no half-written clip is left behind */
    free(s->v[i].name);
    free(s->v[i].path);
  }
  free(s->v);
}

static int clips_finish(struct vd_actx *c, json_t **result) {
  struct clips s = {.c = c};
  struct vd_err *err = vd_actx_err(c);
  int accurate = vd_actx_bool(c, "accurate");
  int ret = load_scenes(&s, err);
  if (ret < 0)
    goto out;
  if (s.n)
    ret = accurate ? run_accurate(&s, err) : run_copy(&s, err);
  if (ret < 0)
    goto out;
  json_t *list = json_array();
  for (size_t i = 0; i < s.n; i++) {
    struct clip *k = &s.v[i];
    if (!k->written || k->frames == 0) {
      vd_actx_warn(c, "scene %lld produced no clip (nothing decoded in %.3f..%.3f s)",
                   (long long)k->scene, k->t0, k->t1);
      if (k->path)
        unlink(k->path);
      continue;
    }
    json_array_append_new(
        list, json_pack("{s:I, s:I, s:s, s:f, s:f, s:f, s:I}", "index", (json_int_t)(i + 1),
                        "scene", (json_int_t)k->scene, "file", k->name, "start_time",
                        round(k->out_t0 * 1e6) / 1e6, "end_time", round(k->out_t1 * 1e6) / 1e6,
                        "preroll", round((k->t0 - k->out_t0) * 1e6) / 1e6, "frames",
                        (json_int_t)k->frames));
  }
  *result = json_pack("{s:b, s:o}", "accurate", accurate, "clips", list);
  vd_actx_progress(c, 1.0, "clips written");
out:
  free_clips(&s, ret < 0);
  return ret;
}

const struct vd_analysis_def vd_analysis_clips = {
    .name = "clips",
    .summary = "one video file per scene: stream copy (fast, starts on the keyframe at or before "
               "the scene) or, with accurate, re-encoded frame-exact",
    .params = clips_params,
    .deps = clips_deps,
    .finish = clips_finish,
};
