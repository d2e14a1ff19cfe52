/*
 * audio_feat.c: frame features, tempo and loudness for the `audio` analysis
 * (definitions in audio_feat.h).
 *
 * DESIGN
 * - Mono path: samples go into a 2048-sample window that starts with 1024
 *   zeros (librosa's centring); every 512 new samples a frame is measured
 *   and the window slides. The spectrum is FFmpeg's real FFT (av_tx, already
 *   linked). A frame's values are added to the fine bucket holding its
 *   centre; its onset strength (spectral rise, 40 mel-spaced bands) goes to
 *   a per-frame envelope, from which any range's tempo is estimated later.
 * - Tempo is hand-written rather than aubio's: aubio's beat tracker reports
 *   a beat at its prior period (~126 BPM) on a steady tone or on noise, and
 *   missed most clicks of a plain 120 BPM click track in trials; the
 *   earlier system's librosa estimates tempo from the autocorrelation of
 *   the onset envelope, which is what tempo_of() does.
 * - Native path: chunks are cut at fine-bucket boundaries and fed to
 *   libebur128 (histogram mode: fixed memory however long the file); at each
 *   boundary the momentary and short-term loudness are read into that bucket.
 *   True peak is audio_peak.c's rather than libebur128's, which cost as
 *   much as everything else together.
 * - Nothing here keeps samples beyond one window, so memory is the bucket
 *   array (28 bytes per 0.1 s) plus the onset envelope (4 bytes per 23 ms).
 */
#include "analyze/audio_feat.h"
#include "analyze/audio_peak.h"

#include <libavutil/mem.h>
#include <libavutil/tx.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#ifdef VD_HAVE_EBUR128
#include <ebur128.h>
#endif

#define WIN 2048
#define HOP 512
#define BANDS 40        /* mel-spaced bands of the onset envelope */
#define BPM_MIN 30
#define BPM_MAX 300
#define BPM_PRIOR 120   /* librosa's start_bpm */
#define MIN_PERIODICITY 0.1 /* autocorrelation peak below this: no tempo */
#define TOP_DB 80
#define MIN_ONSET_DB 0.01   /* onset envelope spread under this: no events */
#define SILENCE_RMS 0.001

struct fine {
  float rms_sum, cent_sum, zcr_sum; /* sums over the frames centred here */
  float momentary, shortterm;       /* LUFS read at the bucket's end; NaN = none */
  uint32_t frames, silent;
};

struct vd_audio_feat {
  /* mono frames */
  float win[WIN];
  int fill;                 /* samples in win, starts at WIN/2 (the zero padding) */
  int64_t mono_n;           /* real samples seen */
  int64_t nframes;          /* frames measured */
  double t0;                /* time of the first mono sample */
  int started;
  float hann[WIN];
  float *fft_in;
  AVComplexFloat *fft_out;
  AVTXContext *tx;
  av_tx_fn tx_fn;
  /* buckets */
  struct fine *fine;
  size_t nfine, capfine, maxfine;
  int truncated;
  /* onset envelope, one value per frame */
  unsigned char band_of[WIN / 2 + 1]; /* band of each spectrum bin */
  int band_bins[BANDS];               /* bins per band (0 = empty band) */
  float prev_db[BANDS];
  float db_max;                       /* loudest band so far, dB (librosa's top_db ref) */
  float *onset;
  size_t nonset, caponset, maxonset;
  /* loudness */
#ifdef VD_HAVE_EBUR128
  ebur128_state *r128;
#endif
  int lch, lrate;           /* the meter's current layout */
  int64_t ln;               /* native samples seen (per channel) at lrate */
  double lt0, lt;           /* start of the current layout's run, and now */
  int lstarted;
  struct vd_audio_peak tp;  /* true peak (libebur128's own costs as much as the rest) */
};

/* Grows the bucket array to hold index i; 0 when i is past the cap. */
static struct fine *bucket(struct vd_audio_feat *f, size_t i) {
  if (i >= f->maxfine) {
    f->truncated = 1;
    return NULL;
  }
  if (i >= f->capfine) {
    size_t cap = f->capfine ? f->capfine : 1024;
    while (cap <= i)
      cap *= 2;
    if (cap > f->maxfine)
      cap = f->maxfine;
    f->fine = vd_xrealloc(f->fine, cap * sizeof(*f->fine));
    for (size_t k = f->capfine; k < cap; k++)
      f->fine[k] = (struct fine){.momentary = NAN, .shortterm = NAN};
    f->capfine = cap;
  }
  if (i >= f->nfine)
    f->nfine = i + 1;
  return &f->fine[i];
}

static size_t fine_index(double t) { return t <= 0 ? 0 : (size_t)(t / VD_AUDIO_FINE + 1e-9); }

int vd_audio_feat_new(struct vd_audio_feat **out, double max_seconds, struct vd_err *err) {
  *out = NULL;
#ifndef VD_HAVE_EBUR128
  (void)max_seconds;
  return vd_err_set(err, VD_ERR_UNSUPPORTED,
                    "audio: this build of vidan lacks libebur128 (install the Debian package "
                    "libebur128-dev, then rebuild)");
#else
  struct vd_audio_feat *f = vd_xcalloc(1, sizeof(*f));
  f->fill = WIN / 2;
  for (int i = 0; i < WIN; i++)
    f->hann[i] = (float)(0.5 - 0.5 * cos(2 * M_PI * i / WIN)); /* periodic, as scipy's */
  /* mel-spaced bands (HTK formula) over 0..fs/2, as a coarse mel spectrogram */
  double mel_top = 2595 * log10(1 + (VD_AUDIO_RATE / 2.0) / 700);
  for (int k = 0; k <= WIN / 2; k++) {
    double hz = (double)k * VD_AUDIO_RATE / WIN;
    int b = (int)(2595 * log10(1 + hz / 700) / mel_top * BANDS);
    f->band_of[k] = (unsigned char)(b < BANDS ? b : BANDS - 1);
    f->band_bins[f->band_of[k]]++;
  }
  f->maxfine = (size_t)(max_seconds / VD_AUDIO_FINE) + 2;
  f->maxonset = (size_t)(max_seconds * VD_AUDIO_RATE / HOP) + 2;
  f->fft_in = av_malloc(WIN * sizeof(float));
  f->fft_out = av_malloc((WIN / 2 + 1) * sizeof(AVComplexFloat));
  float scale = 1.0f;
  if (!f->fft_in || !f->fft_out ||
      av_tx_init(&f->tx, &f->tx_fn, AV_TX_FLOAT_RDFT, 0, WIN, &scale, 0) < 0) {
    vd_audio_feat_free(f);
    return vd_err_set(err, VD_ERR_INTERNAL, "audio: cannot set up the FFT");
  }
  vd_audio_peak_init(&f->tp);
  f->db_max = -100;
  *out = f;
  return 0;
#endif
}

void vd_audio_feat_free(struct vd_audio_feat *f) {
  if (!f)
    return;
  av_tx_uninit(&f->tx);
  av_free(f->fft_in);
  av_free(f->fft_out);
#ifdef VD_HAVE_EBUR128
  if (f->r128)
    ebur128_destroy(&f->r128);
#endif
  vd_audio_peak_fini(&f->tp);
  free(f->fine);
  free(f->onset);
  free(f);
}

/* ---- mono frames ------------------------------------------------------------- */

static void measure_frame(struct vd_audio_feat *f) {
  const float *x = f->win;
  double sq = 0;
  int zc = 0, prev_neg = 0;
  for (int i = 0; i < WIN; i++) {
    float v = x[i];
    sq += (double)v * v;
    int neg = v < -1e-10f; /* |x| <= 1e-10 is +0, as librosa's zero_pos */
    if (i && neg != prev_neg)
      zc++;
    prev_neg = neg;
    f->fft_in[i] = v * f->hann[i];
  }
  f->tx_fn(f->tx, f->fft_out, f->fft_in, sizeof(float));
  /* DC and Nyquist are real; FFmpeg 5.1 leaves their imaginary slots unwritten */
  f->fft_out[0].im = f->fft_out[WIN / 2].im = 0;
  double num = 0, den = 0, band[BANDS] = {0};
  for (int k = 0; k <= WIN / 2; k++) {
    double p = (double)f->fft_out[k].re * f->fft_out[k].re +
               (double)f->fft_out[k].im * f->fft_out[k].im;
    double m = sqrt(p);
    num += m * ((double)k * VD_AUDIO_RATE / WIN);
    den += m;
    band[f->band_of[k]] += p;
  }
  /* onset strength (librosa's): mean over bands of the rise in dB since the
   * previous frame; the first frame has no previous one */
  double rise = 0;
  int nb = 0;
  for (int b = 0; b < BANDS; b++) {
    if (!f->band_bins[b])
      continue;
    float db = (float)(10 * log10(band[b] / f->band_bins[b] + 1e-10));
    /* librosa clips at 80 dB under the loudest value (top_db); the loudest
     * so far stands in for the whole file's. Without it the rounding noise
     * of empty bands makes a steady tone look eventful. */
    if (db > f->db_max)
      f->db_max = db;
    if (db < f->db_max - TOP_DB)
      db = f->db_max - TOP_DB;
    if (f->nframes && db > f->prev_db[b])
      rise += db - f->prev_db[b];
    f->prev_db[b] = db;
    nb++;
  }
  if (f->nonset < f->maxonset) {
    if (f->nonset == f->caponset) {
      f->caponset = f->caponset ? f->caponset * 2 : 4096;
      f->onset = vd_xrealloc(f->onset, f->caponset * sizeof(*f->onset));
    }
    f->onset[f->nonset++] = nb ? (float)(rise / nb) : 0;
  }
  double rms = sqrt(sq / WIN);
  /* librosa normalises each spectrum column; an all-zero one stays zero */
  double cent = den > 1e-30 ? num / den : 0;
  double t = f->t0 + (double)f->nframes * HOP / VD_AUDIO_RATE; /* the frame's centre */
  f->nframes++;
  struct fine *b = bucket(f, fine_index(t));
  if (!b)
    return;
  b->rms_sum += (float)rms;
  b->cent_sum += (float)cent;
  b->zcr_sum += (float)zc / WIN;
  b->frames++;
  b->silent += rms < SILENCE_RMS;
}

static void push_frames(struct vd_audio_feat *f, const float *x, size_t n) {
  while (n) {
    size_t take = (size_t)(WIN - f->fill);
    if (take > n)
      take = n;
    memcpy(f->win + f->fill, x, take * sizeof(float));
    f->fill += (int)take;
    x += take;
    n -= take;
    if (f->fill == WIN) {
      measure_frame(f);
      memmove(f->win, f->win + HOP, (WIN - HOP) * sizeof(float));
      f->fill = WIN - HOP;
    }
  }
}

void vd_audio_feat_mono(struct vd_audio_feat *f, const float *x, size_t n, int channels,
                        double time) {
  if (!f->started) {
    f->t0 = isfinite(time) && time > 0 ? time : 0;
    f->started = 1;
  }
  if (f->truncated || channels <= 0)
    return;
  f->mono_n += (int64_t)n;
  if (channels == 1) {
    push_frames(f, x, n);
    return;
  }
  /* librosa's to_mono: the mean of the channels (libswresample's downmix
   * would weigh stereo by 1/sqrt(2) and change every RMS) */
  float mono[256];
  while (n) {
    size_t take = n < 256 ? n : 256;
    for (size_t i = 0; i < take; i++) {
      float sum = 0;
      for (int ch = 0; ch < channels; ch++)
        sum += x[i * (size_t)channels + (size_t)ch];
      mono[i] = sum / (float)channels;
    }
    push_frames(f, mono, take);
    x += take * (size_t)channels;
    n -= take;
  }
}

/* ---- loudness ----------------------------------------------------------------- */

#ifdef VD_HAVE_EBUR128
static double lufs_or_nan(double v) { return isfinite(v) && v > -200 ? v : NAN; }

#endif

int vd_audio_feat_native(struct vd_audio_feat *f, const float *x, size_t n, int channels,
                         int rate, double time, struct vd_err *err) {
#ifndef VD_HAVE_EBUR128
  (void)f, (void)x, (void)n, (void)channels, (void)rate, (void)time;
  return vd_err_set(err, VD_ERR_UNSUPPORTED, "audio: built without libebur128");
#else
  if (channels <= 0 || rate <= 0)
    return 0;
  if (!f->lstarted) {
    f->lt0 = f->lt = isfinite(time) && time > 0 ? time : 0;
    f->lstarted = 1;
  }
  if (channels != f->lch || rate != f->lrate) {
    int mode = EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_S | EBUR128_MODE_M |
               EBUR128_MODE_HISTOGRAM;
    int r = f->r128 ? ebur128_change_parameters(f->r128, (unsigned)channels, (unsigned long)rate)
                    : ((f->r128 = ebur128_init((unsigned)channels, (unsigned long)rate, mode))
                           ? EBUR128_SUCCESS
                           : EBUR128_ERROR_NOMEM);
    if (r != EBUR128_SUCCESS && r != EBUR128_ERROR_NO_CHANGE)
      return vd_err_set(err, VD_ERR_UNSUPPORTED, "audio: loudness meter refuses %d channels at %d Hz",
                        channels, rate);
    f->lch = channels;
    f->lrate = rate;
    f->lt0 = f->lt;
    f->ln = 0;
  }
  vd_audio_peak_add(&f->tp, x, n, channels);
  while (n) {
    /* cut at the next fine boundary so the meter is read there */
    size_t next = fine_index(f->lt) + 1;
    if (next >= f->maxfine) {
      f->truncated = 1;
      return 0;
    }
    double until = (double)next * VD_AUDIO_FINE;
    int64_t end = (int64_t)ceil((until - f->lt0) * rate - 1e-6);
    size_t take = end > f->ln ? (size_t)(end - f->ln) : 1;
    if (take > n)
      take = n;
    if (ebur128_add_frames_float(f->r128, x, take) != EBUR128_SUCCESS)
      return vd_err_set(err, VD_ERR_INTERNAL, "audio: loudness meter failed");
    x += take * (size_t)channels;
    n -= take;
    f->ln += (int64_t)take;
    f->lt = f->lt0 + (double)f->ln / rate;
    if (f->ln >= end) {
      struct fine *b = bucket(f, next - 1);
      double m, s;
      if (b && ebur128_loudness_momentary(f->r128, &m) == EBUR128_SUCCESS &&
          ebur128_loudness_shortterm(f->r128, &s) == EBUR128_SUCCESS) {
        b->momentary = (float)lufs_or_nan(m);
        b->shortterm = (float)lufs_or_nan(s);
      }
    }
  }
  return 0;
#endif
}

void vd_audio_feat_end(struct vd_audio_feat *f) {
  /* librosa's frame count with centring: 1 + n/HOP; the trailing zeros of
   * the padding bring the last frames in */
  int64_t want = 1 + f->mono_n / HOP;
  static const float zeros[HOP];
  while (f->started && f->nframes < want && !f->truncated)
    push_frames(f, zeros, HOP);
}

/* ---- summaries -------------------------------------------------------------- */

/*
 * Tempo of onset-envelope frames [i0, i1): the autocorrelation of the
 * envelope (mean removed, normalised by its energy) weighted by librosa's
 * log-normal prior around 120 BPM (one octave wide); the best lag is refined
 * by a parabola through its neighbours, so 120 BPM does not snap to the
 * 21- or 22-frame lags (123.0 or 117.5 BPM). *strength gets the peak's
 * normalised autocorrelation. 0 when nothing repeats: the envelope is
 * flat, or its peak is under MIN_PERIODICITY or within 4 standard
 * deviations of what random values would give (white noise).
 */
static double tempo_of(const struct vd_audio_feat *f, size_t i0, size_t i1, double *strength) {
  const double fr = (double)VD_AUDIO_RATE / HOP;
  *strength = 0;
  if (i1 > f->nonset)
    i1 = f->nonset;
  size_t n = i1 > i0 ? i1 - i0 : 0;
  int lo = (int)floor(60 * fr / BPM_MAX), hi = (int)ceil(60 * fr / BPM_MIN);
  if ((size_t)hi > n / 2)
    hi = (int)(n / 2);
  if (hi < lo + 2)
    return 0;
  const float *o = f->onset + i0;
  double mean = 0, r0 = 0;
  for (size_t i = 0; i < n; i++)
    mean += o[i];
  mean /= (double)n;
  for (size_t i = 0; i < n; i++)
    r0 += (o[i] - mean) * (o[i] - mean);
  /* an envelope that hardly moves (a steady tone: its leakage wobbles by
   * 1e-5 dB with the phase, perfectly periodically) has no beat */
  if (!(sqrt(r0 / (double)n) > MIN_ONSET_DB))
    return 0;
  double score[(int)(60 * VD_AUDIO_RATE / HOP / BPM_MIN) + 3], r[sizeof(score) / sizeof(double)];
  int best = -1;
  for (int L = lo; L <= hi; L++) {
    double acc = 0;
    for (size_t i = 0; i + (size_t)L < n; i++)
      acc += (o[i] - mean) * (o[i + (size_t)L] - mean);
    r[L] = acc / r0;
    double lb = log2(60 * fr / L / BPM_PRIOR);
    score[L] = r[L] * exp(-0.5 * lb * lb);
    if (L > lo && L < hi && (best < 0 || score[L] > score[best]))
      best = L;
  }
  /* the autocorrelation of n random values spreads as 1/sqrt(n): a peak
   * must stand well above that to be a beat */
  if (best < 0 || r[best] < MIN_PERIODICITY || r[best] < 4 / sqrt((double)n))
    return 0;
  double a = score[best - 1], b = score[best], c = score[best + 1];
  double den = a - 2 * b + c, lag = best;
  if (den < 0)
    lag += 0.5 * (a - c) / den;
  *strength = r[best];
  return 60 * fr / lag;
}

void vd_audio_feat_range(const struct vd_audio_feat *f, double t0, double t1,
                         struct vd_audio_stats *out) {
  /* a bucket belongs to the range that holds its centre */
  double a = ceil(t0 / VD_AUDIO_FINE - 0.5 - 1e-9), b = ceil(t1 / VD_AUDIO_FINE - 0.5 - 1e-9);
  size_t j0 = a > 0 ? (size_t)a : 0, j1 = b > 0 ? (size_t)b : 0;
  if (j1 > f->nfine)
    j1 = f->nfine;
  double rms = 0, cent = 0, zcr = 0, st = NAN, mmax = NAN;
  size_t frames = 0, silent = 0;
  for (size_t j = j0; j < j1; j++) {
    const struct fine *x = &f->fine[j];
    rms += x->rms_sum;
    cent += x->cent_sum;
    zcr += x->zcr_sum;
    frames += x->frames;
    silent += x->silent;
    if (!isnan(x->shortterm))
      st = x->shortterm;
    if (!isnan(x->momentary) && (isnan(mmax) || x->momentary > mmax))
      mmax = x->momentary;
  }
  /* onset frames whose centre lies in the range */
  const double fr = (double)VD_AUDIO_RATE / HOP;
  double o0 = ceil((t0 - f->t0) * fr - 1e-9), o1 = ceil((t1 - f->t0) * fr - 1e-9);
  double strength;
  double tempo = tempo_of(f, o0 > 0 ? (size_t)o0 : 0, o1 > 0 ? (size_t)o1 : 0, &strength);
  *out = (struct vd_audio_stats){
      .rms = frames ? rms / (double)frames : NAN,
      .centroid = frames ? cent / (double)frames : NAN,
      .zcr = frames ? zcr / (double)frames : NAN,
      .silence = frames ? (double)silent / (double)frames : NAN,
      .tempo = frames ? tempo : NAN,
      .tempo_strength = strength,
      .shortterm = st,
      .momentary_max = mmax,
      .frames = frames,
  };
}

void vd_audio_feat_loudness(const struct vd_audio_feat *f, struct vd_audio_loudness *out) {
  *out = (struct vd_audio_loudness){NAN, NAN, NAN};
#ifdef VD_HAVE_EBUR128
  if (!f->r128)
    return;
  double v;
  if (ebur128_loudness_global(f->r128, &v) == EBUR128_SUCCESS)
    out->integrated = lufs_or_nan(v);
  if (ebur128_loudness_range(f->r128, &v) == EBUR128_SUCCESS && isfinite(v))
    out->range = v;
  double peak = f->tp.peak;
  out->true_peak = peak > 0 ? 20 * log10(peak) : -HUGE_VAL;
#else
  (void)f;
#endif
}

double vd_audio_feat_end_time(const struct vd_audio_feat *f) {
  double a = f->started ? f->t0 + (double)f->mono_n / VD_AUDIO_RATE : 0;
  double b = f->lstarted ? f->lt : 0;
  return a > b ? a : b;
}


int vd_audio_feat_truncated(const struct vd_audio_feat *f) { return f->truncated; }
