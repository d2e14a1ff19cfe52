/*
 * fingerprint.c: the `fingerprint` analysis. Makes the video's near-
 * duplicate fingerprint (src/dup/dup.h): a perceptual hash of the picture
 * a few times a second, and Chromaprint's raw fingerprint of the sound.
 * The result holds a summary and "data", the base64 serialized form that
 * the `duplicates` analysis, `vidan dup` and the service's library read.
 *
 * DESIGN
 * - Two subscriptions, both optional (a silent video has no sound, a song
 *   no picture; a file with neither is skipped): grey frames at `fps`
 *   with the longer side at VIEW_SIDE px in display geometry (rotation
 *   metadata must not make a copy look different), and mono audio at
 *   11025 Hz, the rate Chromaprint works at, so it resamples nothing.
 * - Threaded: the shrink to VIEW_SIDE, the hash and Chromaprint's FFTs run
 *   on the analysis's own thread, beside decoding.
 * - Silence: Chromaprint turns silence into words like any others, and two
 *   unrelated videos with quiet passages would agree there. Each block of
 *   1365 samples (one Chromaprint step) is marked quiet under QUIET_RMS;
 *   a word is silent when every block it was computed from is quiet.
 * - Memory: the picture series is capped by vd_fp_add_picture (2 h at 4/s,
 *   then subsampled), Chromaprint keeps 4 bytes per 0.124 s, the quiet
 *   marks 1 byte per step: about 130 KB per hour in all.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef VD_HAVE_CHROMAPRINT
#include <chromaprint.h>
#endif

#include "analyze/analyze.h"
#include "core/util.h"
#include "dup/dup.h"

#define VIEW_SIDE 160
#define SND_RATE 11025
#define BLOCK 1365          /* samples: Chromaprint's step, 4096 / 3 */
#define QUIET_RMS 0.0018    /* -55 dBFS: below it a block is quiet */
#define PCM_CHUNK 4096

struct fpa {
  struct vd_fp *fp;
#ifdef VD_HAVE_CHROMAPRINT
  ChromaprintContext *cp;
#endif
  int has_audio, has_video;
  double audio_start;       /* time of the first audio sample, NAN before */
  int64_t fed;              /* samples given to Chromaprint */
  double block_sq;          /* running sum of squares of the current block */
  int block_n;
  uint8_t *loud;            /* per block: 1 = not quiet */
  size_t nblocks, capblocks;
  int16_t pcm[PCM_CHUNK];
};

static const struct vd_param_def fp_params[] = {
    {"fps", VD_PARAM_NUM, "4", 1, 10, NULL,
     "picture samples per second (the matcher needs about 4: see docs/dup.md)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int fp_init(struct vd_actx *c) {
  struct fpa *a = vd_actx_priv(c);
  struct vd_err *err = vd_actx_err(c);
#ifndef VD_HAVE_CHROMAPRINT
  return vd_err_set(err, VD_ERR_UNSUPPORTED,
                    "fingerprint: vidan was built without Chromaprint: install libchromaprint-dev "
                    "(scripts/deps) and rebuild");
#else
  double fps = vd_actx_num(c, "fps");
  a->fp = vd_fp_new(1.0 / fps);
  a->audio_start = NAN;
  int rv = vd_actx_want_video(c, &(struct vd_video_want){.fps = fps, .max_side = VIEW_SIDE,
                                                         .fmt = VD_PIX_GRAY8});
  if (rv < 0 && rv != VD_ERR_NO_STREAM)
    return rv;
  a->has_video = rv == 0;
  int ra = vd_actx_want_audio(c, &(struct vd_audio_want){.sample_rate = SND_RATE, .mono = 1});
  if (ra < 0 && ra != VD_ERR_NO_STREAM)
    return ra;
  a->has_audio = ra == 0;
  if (!a->has_video && !a->has_audio)
    return VD_ERR_NO_STREAM; /* the message of the first refusal stays */
  vd_err_clear(err);         /* one missing stream is fine */
  if (a->has_audio) {
    a->cp = chromaprint_new(CHROMAPRINT_ALGORITHM_DEFAULT);
    if (!a->cp || !chromaprint_start(a->cp, SND_RATE, 1))
      return vd_err_set(err, VD_ERR_INTERNAL, "cannot start Chromaprint");
  }
  return 0;
#endif
}

static int fp_video(struct vd_actx *c, const struct vd_frame *f) {
  struct fpa *a = vd_actx_priv(c);
  int flat;
  uint64_t zoom, h = vd_fp_hash_picture(f->data[0], f->width, f->height, f->linesize[0], &zoom,
                                        &flat);
  vd_fp_add_picture(a->fp, f->time, h, zoom, flat);
  return 0;
}

static void block_end(struct fpa *a) {
  if (a->nblocks == a->capblocks) {
    a->capblocks = a->capblocks ? a->capblocks * 2 : 1024;
    a->loud = vd_xrealloc(a->loud, a->capblocks);
  }
  a->loud[a->nblocks++] = sqrt(a->block_sq / (a->block_n ? a->block_n : 1)) >= QUIET_RMS;
  a->block_sq = 0;
  a->block_n = 0;
}

static int fp_audio(struct vd_actx *c, const struct vd_audio_chunk *ch) {
  struct fpa *a = vd_actx_priv(c);
#ifdef VD_HAVE_CHROMAPRINT
  if (isnan(a->audio_start))
    a->audio_start = ch->time;
  for (int off = 0; off < ch->nb_samples;) {
    int n = ch->nb_samples - off < PCM_CHUNK ? ch->nb_samples - off : PCM_CHUNK;
    for (int i = 0; i < n; i++) {
      float x = ch->samples[(size_t)(off + i) * (size_t)ch->channels];
      a->block_sq += (double)x * x;
      if (++a->block_n == BLOCK)
        block_end(a);
      x = x > 1 ? 1 : x < -1 ? -1 : x;
      a->pcm[i] = (int16_t)lrintf(x * 32767);
    }
    if (!chromaprint_feed(a->cp, a->pcm, n))
      return vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL, "Chromaprint refused audio");
    a->fed += n;
    off += n;
  }
#else
  (void)a;
  (void)ch;
#endif
  return 0;
}

/* Chromaprint's words, with silent ones marked, into the fingerprint. */
static int sound_finish(struct vd_actx *c, struct fpa *a) {
#ifdef VD_HAVE_CHROMAPRINT
  if (!a->cp || !a->fed)
    return 0;
  if (a->block_n)
    block_end(a);
  uint32_t *raw = NULL;
  int n = 0;
  if (!chromaprint_finish(a->cp) || !chromaprint_get_raw_fingerprint(a->cp, &raw, &n))
    return vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL, "Chromaprint failed");
  int delay = chromaprint_get_delay(a->cp);            /* samples to word 0's centre */
  double step = chromaprint_get_item_duration(a->cp); /* samples between words */
  size_t span = (size_t)lround(2.0 * delay / BLOCK);  /* blocks one word reads */
  if (span < 1)
    span = 1;
  uint8_t *silent = vd_xmalloc(n > 0 ? (size_t)n : 1);
  for (int i = 0; i < n; i++) {
    size_t b0 = (size_t)((double)i * step / BLOCK), loud = 0;
    for (size_t b = b0; b < b0 + span && b < a->nblocks; b++)
      loud |= a->loud[b];
    silent[i] = !loud;
  }
  vd_fp_set_sound(a->fp, a->audio_start + (double)delay / SND_RATE, step / SND_RATE, raw,
                  silent, n > 0 ? (size_t)n : 0);
  free(silent);
  chromaprint_dealloc(raw);
#else
  (void)c;
  (void)a;
#endif
  return 0;
}

static json_t *rounded(double v) { return json_real(round(v * 1000) / 1000); }

static int fp_finish(struct vd_actx *c, json_t **result) {
  struct fpa *a = vd_actx_priv(c);
  int ret = sound_finish(c, a);
  if (ret < 0)
    return ret;
  char *data = vd_fp_save_base64(a->fp);
  double ps = vd_fp_picture_seconds(a->fp), ss = vd_fp_sound_seconds(a->fp);
  size_t np = vd_fp_picture_samples(a->fp), nw = vd_fp_sound_words(a->fp), ip, is;
  vd_fp_informative(a->fp, &ip, &is);
  /* "detailed": picture samples that are not flat (black, one colour);
   * "audible": words not computed from near-silence */
  *result = json_pack("{s:i, s:{s:b, s:I, s:I, s:o, s:o}, s:{s:b, s:I, s:I, s:o, s:o}, s:s}",
                      "version", 1, "picture", "present", a->has_video, "samples",
                      (json_int_t)np, "detailed", (json_int_t)ip, "seconds", rounded(ps), "rate",
                      rounded(np && ps > 0 ? (double)np / ps : 0), "sound", "present",
                      a->has_audio, "words", (json_int_t)nw, "audible", (json_int_t)is, "seconds",
                      rounded(ss), "rate", rounded(nw && ss > 0 ? (double)nw / ss : 0), "data",
                      data);
  free(data);
  return *result ? 0 : VD_ERR_INTERNAL;
}

static void fp_uninit(struct vd_actx *c) {
  struct fpa *a = vd_actx_priv(c);
  if (!a)
    return;
#ifdef VD_HAVE_CHROMAPRINT
  if (a->cp)
    chromaprint_free(a->cp);
#endif
  vd_fp_free(a->fp);
  free(a->loud);
}

const struct vd_analysis_def vd_analysis_fingerprint = {
    .name = "fingerprint",
    .summary = "Near-duplicate fingerprint: a perceptual hash of the picture (borders removed, "
               "mirror-aware) 4 times a second and Chromaprint's fingerprint of the sound, "
               "serialized in \"data\" (base64) for the duplicates analysis and the library.",
    .params = fp_params,
    .priv_size = sizeof(struct fpa),
    .threaded = 1,
    .init = fp_init,
    .video = fp_video,
    .audio = fp_audio,
    .finish = fp_finish,
    .uninit = fp_uninit,
};
