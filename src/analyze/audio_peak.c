/*
 * audio_peak.c: 4x oversampled true peak with exact block skipping (see
 * audio_peak.h).
 *
 * Each input sample n yields four values: itself and the signal
 * interpolated at n + 1/4, n + 2/4, n + 3/4 from its 12 neighbours
 * n-5 .. n+6. Interpolating at n needs n+6, so each call handles the
 * samples up to 6 before its end and keeps the last 11 as history.
 */
#include "analyze/audio_peak.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define HIST (VD_PEAK_TAPS - 1)
#define BEFORE 5 /* neighbours before the centre; VD_PEAK_TAPS - 1 - BEFORE after */
#define BLOCK 64

static float coef[3][VD_PEAK_TAPS]; /* phases 1/4, 2/4, 3/4 */
static double gain;                 /* max over phases of sum |coef| */
static pthread_once_t coef_once = PTHREAD_ONCE_INIT;

/* Hann-windowed sinc at offsets j - p/4; each phase sums to 1 (DC gain 1). */
static void make_coef(void) {
  double g = 1;
  for (int p = 1; p <= 3; p++) {
    double sum = 0, abs_sum = 0, h[VD_PEAK_TAPS];
    for (int k = 0; k < VD_PEAK_TAPS; k++) {
      double t = (double)(k - BEFORE) - p / 4.0; /* distance from the point wanted */
      double s = fabs(t) < 1e-12 ? 1 : sin(M_PI * t) / (M_PI * t);
      double w = 0.5 + 0.5 * cos(M_PI * t / (VD_PEAK_TAPS / 2.0 + 0.5));
      h[k] = s * w;
      sum += h[k];
    }
    for (int k = 0; k < VD_PEAK_TAPS; k++) {
      coef[p - 1][k] = (float)(h[k] / sum);
      abs_sum += fabs(h[k] / sum);
    }
    if (abs_sum > g)
      g = abs_sum;
  }
  gain = g * 1.0001; /* float rounding in the dot products */
}

void vd_audio_peak_init(struct vd_audio_peak *p) {
  memset(p, 0, sizeof(*p));
  pthread_once(&coef_once, make_coef);
}

void vd_audio_peak_fini(struct vd_audio_peak *p) {
  free(p->buf);
  p->buf = NULL;
}

/* Centres [i0, i1) of b: their samples and interpolated values. */
static double scan(const float *b, size_t i0, size_t i1, double peak) {
  for (size_t i = i0; i < i1; i++) {
    const float *x = b + i - BEFORE;
    for (int ph = 0; ph < 3; ph++) {
      float y = 0;
      for (int k = 0; k < VD_PEAK_TAPS; k++)
        y += coef[ph][k] * x[k];
      if (fabsf(y) > peak)
        peak = fabsf(y);
    }
  }
  return peak;
}

void vd_audio_peak_add(struct vd_audio_peak *p, const float *x, size_t n, int channels) {
  if (channels <= 0 || !n)
    return;
  if (channels != p->channels) {
    memset(p->hist, 0, sizeof(p->hist));
    p->channels = channels;
  }
  int nch = channels < VD_PEAK_MAX_CH ? channels : VD_PEAK_MAX_CH;
  if (HIST + n > p->cap) {
    p->cap = HIST + n;
    p->buf = vd_xrealloc(p->buf, p->cap * sizeof(float));
  }
  float *b = p->buf;
  size_t len = HIST + n;
  for (int ch = 0; ch < nch; ch++) {
    memcpy(b, p->hist[ch], sizeof(p->hist[ch]));
    for (size_t i = 0; i < n; i++)
      b[HIST + i] = x[i * (size_t)channels + (size_t)ch];
    /* every sample is a candidate itself */
    for (size_t i = HIST; i < len; i++)
      if (fabsf(b[i]) > p->peak)
        p->peak = fabsf(b[i]);
    /* centres BEFORE .. len-7 have all their neighbours */
    for (size_t i0 = BEFORE; i0 + (VD_PEAK_TAPS - BEFORE) <= len; i0 += BLOCK) {
      size_t i1 = i0 + BLOCK;
      if (i1 + (VD_PEAK_TAPS - 1 - BEFORE) > len)
        i1 = len - (VD_PEAK_TAPS - 1 - BEFORE);
      float m = 0;
      for (size_t i = i0 - BEFORE; i < i1 + (VD_PEAK_TAPS - 1 - BEFORE); i++)
        if (fabsf(b[i]) > m)
          m = fabsf(b[i]);
      if (m * gain > p->peak)
        p->peak = scan(b, i0, i1, p->peak);
    }
    memcpy(p->hist[ch], b + len - HIST, sizeof(p->hist[ch]));
  }
}
