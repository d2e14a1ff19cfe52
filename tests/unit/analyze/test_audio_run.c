/*
 * test_audio_run: the `audio` analysis through the runner, on media made by
 * ffmpeg: a video with a stereo 1 kHz tone at -20 dBFS (loudness -20 LUFS,
 * RMS of the mono mean 0.1/sqrt(2), centroid ~1 kHz, a timeline point per
 * bucket); a file without audio (skipped with a warning beside another
 * analysis, an error alone); a bad bucket; and per-scene segments for a
 * definition that declares `scenes` as a dependency, on a video whose cut
 * at 3 s coincides with a change from a 440 Hz tone to noise.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../helpers/testutil.h"
#include "analyze/analyze.h"
#include "analyze/registry.h"

static const char *tone_mp4, *mute_mp4, *cut_mkv;

static int setup(void **state) {
  (void)state;
  tone_mp4 = strdup(vd_test_path("tone.mp4"));
  mute_mp4 = strdup(vd_test_path("mute.mp4"));
  cut_mkv = strdup(vd_test_path("cut.mkv"));
  if (vd_test_ffmpeg("-f lavfi -i testsrc=s=160x120:r=10:d=6 -f lavfi -i "
                     "\"aevalsrc=0.1*sin(2*PI*1000*t)|0.1*sin(2*PI*1000*t):s=48000:d=6\" "
                     "-c:v libx264 -preset ultrafast -c:a aac -b:a 192k -shortest %s",
                     tone_mp4) ||
      vd_test_ffmpeg("-f lavfi -i testsrc=s=160x120:r=10:d=2 -c:v libx264 -preset ultrafast %s",
                     mute_mp4) ||
      vd_test_ffmpeg("-f lavfi -i color=c=red:s=160x120:r=10:d=3 -f lavfi -i "
                     "color=c=blue:s=160x120:r=10:d=3 -f lavfi -i "
                     "\"aevalsrc='if(lt(t,3),0.5*sin(2*PI*440*t),0.3*(random(0)*2-1))':s=44100:d=6\" "
                     "-filter_complex \"[0:v][1:v]concat=n=2:v=1:a=0[v]\" -map \"[v]\" -map 2:a "
                     "-c:v ffv1 -c:a pcm_s16le %s",
                     cut_mkv))
    return -1;
  return 0;
}

/* Runs `names` on `input`; returns the run's result or NULL (ret, err set). */
static json_t *run(const char *input, const char **names, size_t n, json_t *params,
                   const struct vd_analysis_def *const *extra, int *ret, struct vd_err *err) {
  struct vd_run *r = NULL;
  json_t *res = NULL;
  struct vd_run_opts o = {.input = input, .analyses = names, .n_analyses = n, .params = params,
                          .extra = extra};
  *ret = vd_run_new(&r, &o, err);
  if (*ret == 0)
    *ret = vd_run_exec(r, &res, err);
  vd_run_free(r);
  return res;
}

/* The number at "a.b" in `o`. */
static double getnum(json_t *o, const char *path) {
  const char *dot = strchr(path, '.');
  if (dot) {
    char key[64];
    snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
    o = json_object_get(json_object_get(o, key), dot + 1);
  } else {
    o = json_object_get(o, path);
  }
  if (!json_is_number(o))
    fail_msg("%s is not a number", path);
  return json_number_value(o);
}

static void test_tone(void **state) {
  (void)state;
  struct vd_err err = {0};
  int ret;
  const char *names[] = {"audio"};
  json_t *res = run(tone_mp4, names, 1, NULL, NULL, &ret, &err);
  if (ret)
    fail_msg("run: %s", err.msg);
  json_t *a = json_object_get(json_object_get(res, "results"), "audio");
  double lufs = getnum(a, "loudness.integrated_lufs");
  if (fabs(lufs - -20) > 0.3)
    fail_msg("integrated %g LUFS, want -20", lufs);
  assert_true(fabs(getnum(a, "loudness.true_peak_dbtp") - -20) < 0.5);
  assert_true(fabs(getnum(a, "rms_energy") - 0.1 / sqrt(2)) < 0.003);
  assert_true(fabs(getnum(a, "spectral_centroid_mean") - 1000) < 50);
  assert_true(fabs(getnum(a, "zero_crossing_rate") - 2000.0 / 22050) < 0.003);
  assert_true(getnum(a, "tempo") == 0);
  assert_true(fabs(getnum(a, "duration") - 6) < 0.1);
  /* one point per started second (AAC's padding makes the audio 6.0x s) */
  size_t npts = (size_t)ceil(getnum(a, "duration"));
  json_t *tl = json_object_get(a, "timeline");
  json_t *times = json_object_get(tl, "times");
  assert_int_equal(json_array_size(times), npts);
  assert_true(json_number_value(json_array_get(times, 1)) == 1.0);
  json_t *series = json_object_get(tl, "series");
  const char *keys[] = {"rms", "loudness_shortterm", "spectral_centroid", "zero_crossing_rate"};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(json_array_size(json_object_get(series, keys[i])), npts);
  /* the short-term window is full from 3 s on */
  json_t *st = json_object_get(series, "loudness_shortterm");
  assert_true(fabs(json_number_value(json_array_get(st, 4)) - -20) < 0.3);
  assert_null(json_object_get(a, "segments")); /* scenes are not a dependency */
  json_decref(res);

  /* a finer timeline */
  json_t *params = json_pack("{s:{s:f}}", "audio", "bucket", 0.5);
  res = run(tone_mp4, names, 1, params, NULL, &ret, &err);
  assert_int_equal(ret, 0);
  a = json_object_get(json_object_get(res, "results"), "audio");
  assert_int_equal(json_array_size(json_object_get(json_object_get(a, "timeline"), "times")),
                   (size_t)ceil(getnum(a, "duration") / 0.5));
  json_decref(res);
  json_decref(params);
  /* out of range */
  params = json_pack("{s:{s:f}}", "audio", "bucket", 0.0);
  res = run(tone_mp4, names, 1, params, NULL, &ret, &err);
  assert_int_equal(ret, VD_ERR_INVALID);
  assert_non_null(strstr(err.msg, "bucket"));
  json_decref(params);
}

static void test_no_audio(void **state) {
  (void)state;
  struct vd_err err = {0};
  int ret;
  const char *alone[] = {"audio"};
  json_t *res = run(mute_mp4, alone, 1, NULL, NULL, &ret, &err);
  assert_int_equal(ret, VD_ERR_NO_STREAM);
  assert_non_null(strstr(err.msg, "audio stream"));
  assert_null(res);
  /* beside an analysis that applies: skipped with a warning */
  const char *both[] = {"probe", "audio"};
  err = (struct vd_err){0};
  res = run(mute_mp4, both, 2, NULL, NULL, &ret, &err);
  if (ret)
    fail_msg("run: %s", err.msg);
  assert_true(json_is_null(json_object_get(json_object_get(res, "results"), "audio")));
  json_t *w = json_object_get(res, "warnings");
  int found = 0;
  for (size_t i = 0; i < json_array_size(w); i++)
    found |= strstr(json_string_value(json_array_get(w, i)), "audio: skipped") != NULL;
  assert_true(found);
  json_decref(res);
}

static void test_segments(void **state) {
  (void)state;
  static const char *const deps[] = {"scenes", NULL};
  static struct vd_analysis_def def;
  def = vd_analysis_audio;
  def.name = "audio_scenes";
  def.deps = deps;
  const struct vd_analysis_def *const extra[] = {&def, NULL};
  struct vd_err err = {0};
  int ret;
  const char *names[] = {"audio_scenes"};
  json_t *params = json_pack("{s:{s:b}}", "scenes", "thumbnails", 0);
  json_t *res = run(cut_mkv, names, 1, params, extra, &ret, &err);
  json_decref(params);
  if (ret)
    fail_msg("run: %s", err.msg);
  json_t *results = json_object_get(res, "results");
  assert_int_equal(json_array_size(json_object_get(json_object_get(results, "scenes"), "scenes")),
                   2);
  json_t *seg = json_object_get(json_object_get(results, "audio_scenes"), "segments");
  assert_int_equal(json_array_size(seg), 2);
  json_t *s1 = json_array_get(seg, 0), *s2 = json_array_get(seg, 1);
  assert_int_equal(json_integer_value(json_object_get(s1, "scene")), 1);
  assert_int_equal(json_integer_value(json_object_get(s2, "scene")), 2);
  assert_true(fabs(getnum(s1, "end_time") - 3) < 0.15);
  /* a 440 Hz tone, then white noise (centroid near 11025/2) */
  assert_true(fabs(getnum(s1, "spectral_centroid_mean") - 440) < 60);
  assert_true(getnum(s2, "spectral_centroid_mean") > 4000);
  assert_true(fabs(getnum(s1, "rms_energy") - 0.5 / sqrt(2)) < 0.02);
  assert_true(getnum(s2, "zero_crossing_rate") > 0.4);
  assert_true(getnum(s1, "tempo") == 0);
  json_decref(res);
}

int main(void) {
#ifndef VD_HAVE_EBUR128
  puts("SKIP: built without libebur128 (test_audio_feat checks the refusal)");
  return 0;
#endif
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tone),
      cmocka_unit_test(test_no_audio),
      cmocka_unit_test(test_segments),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
