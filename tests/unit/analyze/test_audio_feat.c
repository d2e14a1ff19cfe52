/*
 * test_audio_feat: the audio analysis's signal code on buffers built in
 * memory, against answers known in closed form:
 * - a 1 kHz sine of amplitude A: RMS A/sqrt(2), centroid ~1000 Hz, zero
 *   crossings 2000/s = 2000/22050 per sample, no tempo;
 * - silence: zeros everywhere, all frames silent;
 * - white noise: centroid near fs/4, a crossing every other sample, RMS of
 *   a uniform variable, no tempo;
 * - click tracks at 120 and 90 BPM: their tempo within 2 BPM;
 * - EBU Tech 3341 test 1 (stereo 1 kHz at -23 dBFS per channel reads -23.0
 *   LUFS +-0.1), the same at -20 dBFS, a mono channel 3 dB lower (one
 *   channel instead of two), true peak of a sine at its amplitude, and
 *   EBU Tech 3342 test 1 (20 s at -20 dBFS then 20 s at -30 dBFS: LRA 10
 *   LU +-1); true peak of a sine whose samples all miss its crests;
 * - ranges: a sine then noise are told apart per range (what scenes get);
 * - downmix is the channels' mean (L = -R cancels out), and input past the
 *   duration cap is dropped with the flag set;
 * - built without libebur128 (VD_HAVE_EBUR128 unset), only this is checked:
 *   the analysis refuses to start with a message naming the package.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analyze/audio_feat.h"

#define FS VD_AUDIO_RATE

static uint32_t rng = 12345;
static float noise(void) { /* uniform in [-1, 1) */
  rng = rng * 1664525u + 1013904223u;
  return (float)((double)(rng >> 8) / (1 << 23) - 1.0);
}

/* Feeds `x` (n frames of `ch` channels) in uneven chunks, as a decoder would. */
static void feed_mono(struct vd_audio_feat *f, const float *x, size_t n, int ch) {
  size_t off = 0, k = 0;
  while (off < n) {
    size_t take = 300 + (k++ % 7) * 97;
    if (take > n - off)
      take = n - off;
    vd_audio_feat_mono(f, x + off * (size_t)ch, take, ch, (double)off / FS);
    off += take;
  }
}

static void feed_native(struct vd_audio_feat *f, const float *x, size_t n, int ch, int rate) {
  struct vd_err err = {0};
  size_t off = 0;
  while (off < n) {
    size_t take = n - off < 1024 ? n - off : 1024;
    assert_int_equal(
        vd_audio_feat_native(f, x + off * (size_t)ch, take, ch, rate, (double)off / rate, &err), 0);
    off += take;
  }
}

static struct vd_audio_feat *run_mono(const float *x, size_t n, int ch) {
  struct vd_err err = {0};
  struct vd_audio_feat *f;
  assert_int_equal(vd_audio_feat_new(&f, 3600, &err), 0);
  feed_mono(f, x, n, ch);
  vd_audio_feat_end(f);
  return f;
}

static float *sine(size_t n, int ch, int rate, double hz, double amp) {
  float *x = malloc(n * (size_t)ch * sizeof(float));
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < ch; c++)
      x[i * (size_t)ch + (size_t)c] = (float)(amp * sin(2 * M_PI * hz * (double)i / rate));
  return x;
}

static void test_sine(void **state) {
  (void)state;
  size_t n = 5 * FS;
  float *x = sine(n, 1, FS, 1000, 0.5);
  struct vd_audio_feat *f = run_mono(x, n, 1);
  struct vd_audio_stats s;
  vd_audio_feat_range(f, 0.5, 4.5, &s); /* away from the zero-padded ends */
  assert_true(fabs(s.rms - 0.5 / sqrt(2)) < 1e-3);
  assert_true(fabs(s.centroid - 1000) < 15);
  assert_true(fabs(s.zcr - 2000.0 / FS) < 0.001);
  if (s.tempo != 0)
    fail_msg("sine: tempo %g (strength %g)", s.tempo, s.tempo_strength);
  assert_true(s.silence == 0);
  assert_int_equal(s.frames, 172); /* 4 s of 512-sample hops */
  /* the whole file: 1 + n/512 frames, the padded ends pull the mean down a little */
  vd_audio_feat_range(f, 0, 10, &s);
  assert_int_equal(s.frames, 1 + n / 512);
  assert_true(s.rms < 0.5 / sqrt(2) && s.rms > 0.5 / sqrt(2) - 0.01);
  assert_true(fabs(vd_audio_feat_end_time(f) - 5.0) < 1e-9);
  vd_audio_feat_free(f);
  free(x);
}

static void test_silence(void **state) {
  (void)state;
  size_t n = 3 * FS;
  float *x = calloc(n, sizeof(float));
  struct vd_audio_feat *f = run_mono(x, n, 1);
  struct vd_audio_stats s;
  vd_audio_feat_range(f, 0, 3, &s);
  assert_true(s.frames > 100);
  assert_true(s.rms == 0 && s.centroid == 0 && s.zcr == 0 && s.tempo == 0);
  assert_true(s.silence == 1);
  vd_audio_feat_free(f);
  free(x);
}

static void test_noise(void **state) {
  (void)state;
  size_t n = 5 * FS;
  float *x = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++)
    x[i] = 0.5f * noise();
  struct vd_audio_feat *f = run_mono(x, n, 1);
  struct vd_audio_stats s;
  vd_audio_feat_range(f, 0.5, 4.5, &s);
  assert_true(fabs(s.centroid - FS / 4.0) < 150);
  assert_true(fabs(s.zcr - 0.5) < 0.02);
  assert_true(fabs(s.rms - 0.5 / sqrt(3)) < 0.005);
  if (s.tempo != 0)
    fail_msg("noise: tempo %g (strength %g)", s.tempo, s.tempo_strength);
  vd_audio_feat_free(f);
  free(x);
}

/* Short 2 kHz blips every 60/bpm seconds, over faint noise. */
static float *clicks(size_t n, double bpm) {
  float *x = malloc(n * sizeof(float));
  double period = 60.0 / bpm * FS;
  for (size_t i = 0; i < n; i++) {
    double ph = fmod((double)i, period);
    x[i] = 0.01f * noise() + (float)(ph < 400 ? 0.8 * sin(2 * M_PI * 2000 * ph / FS) *
                                                    exp(-ph / 80.0)
                                              : 0);
  }
  return x;
}

static void test_tempo(void **state) {
  (void)state;
  const double bpms[] = {120, 90, 140};
  for (size_t k = 0; k < 3; k++) {
    size_t n = 20 * FS;
    float *x = clicks(n, bpms[k]);
    struct vd_audio_feat *f = run_mono(x, n, 1);
    struct vd_audio_stats s;
    vd_audio_feat_range(f, 0, 20, &s);
    if (fabs(s.tempo - bpms[k]) > 2)
      fail_msg("%g BPM clicks: tempo %g", bpms[k], s.tempo);
    assert_true(s.tempo_strength > 0.3);
    /* a 6 s excerpt, as a scene would be */
    vd_audio_feat_range(f, 7, 13, &s);
    assert_true(fabs(s.tempo - bpms[k]) < 2);
    /* too short for two periods of these tempos: none */
    vd_audio_feat_range(f, 7, 7.6, &s);
    assert_true(s.tempo == 0);
    vd_audio_feat_free(f);
    free(x);
  }
}

static double integrated(int ch, int rate, const float *x, size_t n, struct vd_audio_loudness *l) {
  struct vd_err err = {0};
  struct vd_audio_feat *f;
  assert_int_equal(vd_audio_feat_new(&f, 3600, &err), 0);
  feed_native(f, x, n, ch, rate);
  vd_audio_feat_end(f);
  vd_audio_feat_loudness(f, l);
  vd_audio_feat_free(f);
  return l->integrated;
}

static void test_loudness(void **state) {
  (void)state;
  struct vd_audio_loudness l;
  size_t n = 20 * 48000;
  /* EBU Tech 3341 test 1: -23 dBFS per channel, stereo */
  float *x = sine(n, 2, 48000, 1000, pow(10, -23 / 20.0));
  assert_true(fabs(integrated(2, 48000, x, n, &l) - -23.0) <= 0.1);
  assert_true(fabs(l.true_peak - -23.0) < 0.2);
  free(x);
  x = sine(n / 2, 2, 48000, 1000, 0.1); /* -20 dBFS */
  assert_true(fabs(integrated(2, 48000, x, n / 2, &l) - -20.0) <= 0.1);
  assert_true(l.range < 0.5);
  free(x);
  /* one channel carries half the power of two */
  x = sine(n / 2, 1, 44100, 1000, 0.1);
  assert_true(fabs(integrated(1, 44100, x, n / 2, &l) - (-20.0 - 10 * log10(2))) <= 0.1);
  free(x);
  /* EBU Tech 3342 test 1: 20 s at -20 dBFS then 20 s at -30 dBFS: LRA 10 LU */
  x = sine(2 * n, 2, 48000, 1000, 0.1);
  for (size_t i = n * 2; i < 4 * n; i++)
    x[i] *= (float)pow(10, -10 / 20.0);
  integrated(2, 48000, x, 2 * n, &l);
  assert_true(fabs(l.range - 10) <= 1);
  free(x);
  /* silence: no loudness at all (below the absolute gate) */
  x = calloc(48000 * 2, sizeof(float));
  integrated(2, 48000, x, 48000, &l);
  assert_true(isnan(l.integrated));
  free(x);
}

/* True peak: between the samples, not just at them. */
static void test_true_peak(void **state) {
  (void)state;
  struct vd_audio_loudness l;
  size_t n = 2 * 48000;
  /* a sine at fs/4 sampled 45 degrees off its crests: every sample is at
   * 0.707 of the amplitude, the wave itself reaches 0.5 (-6.02 dBTP) */
  float *x = malloc(n * 2 * sizeof(float));
  for (size_t i = 0; i < n; i++)
    x[2 * i] = x[2 * i + 1] = (float)(0.5 * sin(M_PI * (double)i / 2 + M_PI / 4));
  integrated(2, 48000, x, n, &l);
  if (fabs(l.true_peak - 20 * log10(0.5)) > 0.2)
    fail_msg("fs/4 sine: true peak %g dBTP, want -6.02 (sample peak -9.03)", l.true_peak);
  /* a 997 Hz sine: its crests fall anywhere between samples */
  for (size_t i = 0; i < n; i++)
    x[2 * i] = x[2 * i + 1] = (float)(0.25 * sin(2 * M_PI * 997 * (double)i / 48000 + 0.3));
  integrated(2, 48000, x, n, &l);
  assert_true(fabs(l.true_peak - 20 * log10(0.25)) < 0.05);
  /* one loud sample late in a quiet programme: the skipping must not miss it */
  for (size_t i = 0; i < 2 * n; i++)
    x[i] = 0.01f * noise();
  x[2 * (n - 100) + 1] = -0.9f;
  integrated(2, 48000, x, n, &l);
  assert_true(l.true_peak >= 20 * log10(0.9) - 1e-6 && l.true_peak < 20 * log10(0.9) + 1.5);
  free(x);
}

/* Short-term loudness per bucket, and the layout changing mid-way. */
static void test_shortterm(void **state) {
  (void)state;
  struct vd_err err = {0};
  struct vd_audio_feat *f;
  assert_int_equal(vd_audio_feat_new(&f, 3600, &err), 0);
  size_t n = 6 * 48000;
  float *x = sine(n, 2, 48000, 1000, 0.1);
  feed_native(f, x, n, 2, 48000);
  vd_audio_feat_end(f);
  struct vd_audio_stats s;
  vd_audio_feat_range(f, 4, 5, &s); /* the 3 s window ending at 5 s is all tone */
  assert_true(fabs(s.shortterm - -20.0) < 0.1);
  assert_true(fabs(s.momentary_max - -20.0) < 0.1);
  vd_audio_feat_range(f, 0, 0.5, &s); /* the window is mostly empty yet */
  assert_true(s.shortterm < -25);
  vd_audio_feat_free(f);
  free(x);
}

/* A 1 kHz sine for 5 s, then noise for 5 s: each range sees its own. */
static void test_ranges(void **state) {
  (void)state;
  size_t n = 10 * FS;
  float *x = sine(n, 1, FS, 1000, 0.5);
  for (size_t i = n / 2; i < n; i++)
    x[i] = 0.3f * noise();
  struct vd_audio_feat *f = run_mono(x, n, 1);
  struct vd_audio_stats a, b;
  vd_audio_feat_range(f, 0, 5, &a);
  vd_audio_feat_range(f, 5, 10, &b);
  assert_true(fabs(a.centroid - 1000) < 100);
  assert_true(b.centroid > 4500);
  assert_true(a.zcr < 0.1 && b.zcr > 0.4);
  assert_true(a.frames + b.frames == 1 + n / 512);
  /* a range beyond the audio has nothing in it */
  vd_audio_feat_range(f, 20, 30, &a);
  assert_int_equal(a.frames, 0);
  assert_true(isnan(a.rms));
  vd_audio_feat_free(f);
  free(x);
}

static void test_downmix_and_cap(void **state) {
  (void)state;
  size_t n = 3 * FS;
  float *x = sine(n, 2, FS, 440, 0.5);
  for (size_t i = 0; i < n; i++)
    x[2 * i + 1] = -x[2 * i]; /* R = -L: the mean is silence */
  struct vd_audio_feat *f = run_mono(x, n, 2);
  struct vd_audio_stats s;
  vd_audio_feat_range(f, 0, 3, &s);
  assert_true(s.rms < 1e-6 && s.silence == 1);
  vd_audio_feat_free(f);
  free(x);
  /* 5 s into an object capped at 2 s */
  struct vd_err err = {0};
  assert_int_equal(vd_audio_feat_new(&f, 2, &err), 0);
  n = 5 * FS;
  x = sine(n, 1, FS, 440, 0.5);
  feed_mono(f, x, n, 1);
  vd_audio_feat_end(f);
  assert_true(vd_audio_feat_truncated(f));
  vd_audio_feat_range(f, 0, 10, &s);
  assert_true(s.frames > 0 && s.frames < (1 + n / 512));
  vd_audio_feat_free(f);
  free(x);
}

/* Built without libebur128, the analysis must refuse to start, naming the
 * package, rather than the build failing. */
static void test_library(void **state) {
  (void)state;
  struct vd_err err = {0};
  struct vd_audio_feat *f = NULL;
#ifdef VD_HAVE_EBUR128
  assert_int_equal(vd_audio_feat_new(&f, 10, &err), 0);
  vd_audio_feat_free(f);
#else
  assert_int_equal(vd_audio_feat_new(&f, 10, &err), VD_ERR_UNSUPPORTED);
  assert_null(f);
  assert_non_null(strstr(err.msg, "libebur128-dev"));
#endif
}

int main(void) {
#ifndef VD_HAVE_EBUR128
  const struct CMUnitTest missing[] = {cmocka_unit_test(test_library)};
  return cmocka_run_group_tests(missing, NULL, NULL);
#endif
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_library),
      cmocka_unit_test(test_sine),      cmocka_unit_test(test_silence),
      cmocka_unit_test(test_noise),     cmocka_unit_test(test_tempo),
      cmocka_unit_test(test_loudness),  cmocka_unit_test(test_true_peak),
      cmocka_unit_test(test_shortterm),
      cmocka_unit_test(test_ranges),    cmocka_unit_test(test_downmix_and_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
