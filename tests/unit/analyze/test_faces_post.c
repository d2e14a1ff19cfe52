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

/* Unit vector pointing mostly along axis `a`, nudged along axis `b`. */
static void vec(float *v, int dim, int a, int b, float nudge) {
  memset(v, 0, (size_t)dim * sizeof(float));
  v[a] = 1;
  v[b] += nudge;
  float n = sqrtf(1 + nudge * nudge);
  v[a] /= n;
  v[b] /= n;
}

static void test_cluster(void **state) {
  (void)state;
  enum { DIM = 8 };
  float v[5 * DIM];
  int label[5];
  /* Two groups: 0,2,4 near axis 0 (cos ~0.9+), 1,3 near axis 1; across ~0. */
  vec(v + 0 * DIM, DIM, 0, 2, 0.3f);
  vec(v + 1 * DIM, DIM, 1, 3, 0.2f);
  vec(v + 2 * DIM, DIM, 0, 4, 0.4f);
  vec(v + 3 * DIM, DIM, 1, 5, 0.3f);
  vec(v + 4 * DIM, DIM, 0, 6, 0.2f);
  assert_int_equal(vd_cluster_avg(v, 5, DIM, 0.7, label), 2);
  assert_int_equal(label[0], 0);
  assert_int_equal(label[1], 1);
  assert_int_equal(label[2], 0);
  assert_int_equal(label[3], 1);
  assert_int_equal(label[4], 0);
  /* A threshold above every similarity keeps each vector alone. */
  assert_int_equal(vd_cluster_avg(v, 5, DIM, 0.999, label), 5);
  assert_int_equal(label[4], 4);
  /* A threshold below every similarity makes one group. */
  assert_int_equal(vd_cluster_avg(v, 5, DIM, -0.5, label), 1);
  assert_int_equal(vd_cluster_avg(v, 0, DIM, 0.7, label), 0);
}

/*
 * Average linkage, not single: A and B are far apart (cos 0), C lies between
 * (cos ~0.71 to each). Single linkage at 0.7 would chain all three; average
 * linkage joins C to one of them and then stops (mean of 0.71 and 0 < 0.7).
 */
static void test_cluster_no_chaining(void **state) {
  (void)state;
  float v[3 * 2] = {1, 0, 0, 1, 0.7071f, 0.7071f};
  int label[3];
  assert_int_equal(vd_cluster_avg(v, 3, 2, 0.7, label), 2);
  assert_int_not_equal(label[0], label[1]);
}

static json_t *track(int id, float *e, int dim, double t0, double t1, int frames) {
  json_t *ej = json_array();
  for (int k = 0; k < dim; k++)
    json_array_append_new(ej, json_real(e[k]));
  return json_pack("{s:i,s:i,s:[{s:f,s:f}],s:[{s:f,s:f,s:f,s:f,s:f,s:f}],s:o}", "id", id, "frames",
                   frames, "ranges", "start", t0, "end", t1, "boxes", "time", t0, "x", 0.1, "y",
                   0.2, "w", 0.3, "h", 0.4, "score", 0.9, "embedding", ej);
}

static void test_people(void **state) {
  (void)state;
  enum { DIM = 4 };
  float a1[DIM] = {0.9f, 0.3f, 0.3f, 0.1f}, a2[DIM] = {0.95f, 0.2f, 0.2f, 0.1f};
  float b[DIM] = {0.1f, 0.9f, 0.1f, 0.4f};
  /* Person A at 0-3 s and 6-9 s (plus a short track at 9.5 s, joined by
   * the 1 s gap), person B at 3-6 s; one track without an embedding. */
  json_t *tracks = json_array();
  json_array_append_new(tracks, track(0, a1, DIM, 0, 3, 15));
  json_array_append_new(tracks, track(1, b, DIM, 3, 6, 15));
  json_array_append_new(tracks, track(2, a2, DIM, 6, 9, 16));
  json_array_append_new(tracks, track(3, a1, DIM, 9.5, 10, 2));
  json_array_append_new(tracks, json_pack("{s:i,s:i,s:[]}", "id", 4, "frames", 1, "ranges"));
  json_t *faces = json_pack("{s:o}", "tracks", tracks);
  json_t *scenes = json_pack("{s:[{s:i,s:f,s:f},{s:i,s:f,s:f},{s:i,s:f,s:f}]}", "scenes", "index",
                             1, "start_time", 0.0, "end_time", 3.0, "index", 2, "start_time", 3.0,
                             "end_time", 6.0, "index", 3, "start_time", 6.0, "end_time", 10.0);
  struct vd_people_opts o = {.threshold = 0.7, .gap = 1.0};
  json_t *r = NULL;
  struct vd_err err = {0};
  assert_int_equal(vd_people_build(faces, scenes, &o, &r, &err), 0);
  assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
  json_t *p0 = json_array_get(json_object_get(r, "people"), 0);
  json_t *p1 = json_array_get(json_object_get(r, "people"), 1);
  assert_int_equal(json_integer_value(json_object_get(p0, "appearance_count")), 2);
  assert_int_equal(json_integer_value(json_object_get(p0, "track_count")), 3);
  assert_int_equal(json_integer_value(json_object_get(p0, "representative_track")), 2);
  json_t *ap = json_array_get(json_object_get(p0, "appearances"), 1);
  assert_true(fabs(json_real_value(json_object_get(ap, "start")) - 6) < 1e-9);
  assert_true(fabs(json_real_value(json_object_get(ap, "end")) - 10) < 1e-9);
  /* The range ending at the cut does not claim scene 2. */
  json_t *sc0 = json_object_get(json_array_get(json_object_get(p0, "appearances"), 0), "scenes");
  assert_int_equal(json_array_size(sc0), 1);
  assert_int_equal(json_integer_value(json_array_get(sc0, 0)), 1);
  assert_int_equal(json_array_size(json_object_get(p0, "scenes")), 2);
  assert_int_equal(json_integer_value(json_object_get(p1, "appearance_count")), 1);
  assert_int_equal(json_integer_value(json_array_get(json_object_get(p1, "scenes"), 0)), 2);
  assert_int_equal(json_array_size(json_object_get(r, "unassigned")), 1);
  json_decref(r);
  /* Without scenes: appearances still, with empty scene lists. */
  assert_int_equal(vd_people_build(faces, NULL, &o, &r, &err), 0);
  assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
  json_decref(r);
  json_decref(faces);
  json_decref(scenes);

  /* Tracks but no embeddings at all: a clear error. */
  faces = json_pack("{s:[{s:i,s:i,s:[]}]}", "tracks", "id", 0, "frames", 1, "ranges");
  assert_true(vd_people_build(faces, NULL, &o, &r, &err) < 0);
  assert_non_null(strstr(err.msg, "embeddings=true"));
  json_decref(faces);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_emotions_shape),
      cmocka_unit_test(test_emotions_missing),
      cmocka_unit_test(test_cluster),
      cmocka_unit_test(test_cluster_no_chaining),
      cmocka_unit_test(test_people),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
