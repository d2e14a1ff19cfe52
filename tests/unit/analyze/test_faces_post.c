/*
 * test_faces_post.c: the post-pass analyses on hand-made faces results.
 * emotions: per-frame grouping, smoothing that removes a one-frame flip,
 * whole-video buckets (mean over the faces in a bucket, null where none),
 * and a clear error when faces ran without expressions. people: average
 * linkage clustering against a threshold, and appearances/scenes per person.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/faces_detect.h"
#include "analyze/faces_post.h"
#include "core/err.h"

/* labels: angry disgust fear happy sad surprise neutral */
enum { HAPPY = 3, SAD = 4, NEUTRAL = 6 };

static json_t *box(double t, int top) {
  json_t *e = json_array();
  for (int k = 0; k < VD_EMOTIONS; k++)
    json_array_append_new(e, json_real(k == top ? 0.7 : 0.05));
  return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:o}", "time", t, "x", 0.1, "y", 0.2, "w", 0.3, "h",
                   0.4, "score", 0.9, "emotions", e);
}

/* Track 0: happy at 0..1.8 every 0.2 s except sad at 1.0; track 1: neutral 0.0..0.4. */
static json_t *two_tracks(void) {
  json_t *b0 = json_array(), *b1 = json_array();
  for (int i = 0; i < 10; i++)
    json_array_append_new(b0, box(i * 0.2, i == 5 ? SAD : HAPPY));
  for (int i = 0; i < 3; i++)
    json_array_append_new(b1, box(i * 0.2, NEUTRAL));
  return json_pack("{s:f,s:[{s:i,s:o},{s:i,s:o}]}", "fps", 5.0, "tracks", "id", 0, "boxes", b0,
                   "id", 1, "boxes", b1);
}

static const char *seg_emotion(json_t *track, size_t i) {
  return json_string_value(json_object_get(json_array_get(json_object_get(track, "timeline"), i), "emotion"));
}

static void test_emotions_shape(void **state) {
  (void)state;
  json_t *f = two_tracks(), *r = NULL;
  struct vd_err err = {0};
  struct vd_emotions_opts o = {.duration = 3.0, .bucket = 1.0, .window = 1.0};
  assert_int_equal(vd_emotions_build(f, &o, &r, &err), 0);
  /* Per frame: 10 distinct times, the first three with both faces. */
  json_t *frames = json_object_get(r, "frames");
  assert_int_equal(json_array_size(frames), 10);
  assert_int_equal(json_array_size(json_object_get(json_array_get(frames, 0), "faces")), 2);
  assert_int_equal(json_array_size(json_object_get(json_array_get(frames, 5), "faces")), 1);
  json_t *f5 = json_array_get(json_object_get(json_array_get(frames, 5), "faces"), 0);
  assert_string_equal(json_string_value(json_object_get(f5, "emotion")), "sad");
  assert_true(fabs(json_real_value(json_object_get(json_object_get(f5, "probabilities"), "sad")) - 0.7) < 1e-9);
  /* Smoothed over 1 s the single sad frame does not flip track 0. */
  json_t *t0 = json_array_get(json_object_get(r, "tracks"), 0);
  assert_string_equal(json_string_value(json_object_get(t0, "dominant")), "happy");
  assert_int_equal(json_array_size(json_object_get(t0, "timeline")), 1);
  assert_string_equal(seg_emotion(t0, 0), "happy");
  assert_int_equal(json_array_size(json_object_get(json_object_get(t0, "series"), "dominant")), 10);
  /* Whole video: 3 buckets; bucket 0 holds 5 + 3 faces, bucket 2 none. */
  json_t *tl = json_object_get(r, "timeline");
  assert_int_equal(json_array_size(json_object_get(tl, "times")), 3);
  json_t *happy = json_object_get(json_object_get(tl, "series"), "happy");
  json_t *neutral = json_object_get(json_object_get(tl, "series"), "neutral");
  assert_int_equal(json_integer_value(json_array_get(json_object_get(tl, "faces"), 0)), 8);
  assert_true(fabs(json_real_value(json_array_get(happy, 0)) - (5 * 0.7 + 3 * 0.05) / 8) < 1e-4);
  assert_true(fabs(json_real_value(json_array_get(neutral, 0)) - (5 * 0.05 + 3 * 0.7) / 8) < 1e-4);
  assert_true(json_is_null(json_array_get(happy, 2)));
  json_t *sum = json_object_get(r, "summary");
  assert_int_equal(json_integer_value(json_object_get(sum, "faces")), 13);
  assert_string_equal(json_string_value(json_object_get(sum, "dominant")), "happy");
  json_decref(r);

  /* Without smoothing the flip shows: happy, sad, happy. */
  o.window = 0;
  assert_int_equal(vd_emotions_build(f, &o, &r, &err), 0);
  t0 = json_array_get(json_object_get(r, "tracks"), 0);
  assert_int_equal(json_array_size(json_object_get(t0, "timeline")), 3);
  assert_string_equal(seg_emotion(t0, 1), "sad");
  json_decref(r);
  json_decref(f);
}

static void test_emotions_missing(void **state) {
  (void)state;
  json_t *f = json_pack("{s:f,s:[{s:i,s:[{s:f,s:f,s:f,s:f,s:f}]}]}", "fps", 5.0, "tracks", "id", 0,
                        "boxes", "time", 0.0, "x", 0.1, "y", 0.1, "w", 0.1, "h", 0.1);
  json_t *r = NULL;
  struct vd_err err = {0};
  struct vd_emotions_opts o = {.bucket = 1.0, .window = 1.0};
  assert_true(vd_emotions_build(f, &o, &r, &err) < 0);
  assert_null(r);
  assert_non_null(strstr(err.msg, "emotions=true"));
  json_decref(f);
  /* No faces at all is a valid, empty result. */
  f = json_pack("{s:f,s:[]}", "fps", 5.0, "tracks");
  o.duration = 2;
  assert_int_equal(vd_emotions_build(f, &o, &r, &err), 0);
  assert_int_equal(json_array_size(json_object_get(r, "frames")), 0);
  assert_int_equal(json_array_size(json_object_get(json_object_get(r, "timeline"), "times")), 2);
  json_decref(r);
  json_decref(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_emotions_shape),
      cmocka_unit_test(test_emotions_missing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
