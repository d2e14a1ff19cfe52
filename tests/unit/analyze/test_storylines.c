/*
 * test_storylines.c: the storylines clustering on made-up similarity
 * matrices: average linkage to a fixed count, cross-cut items (A-B-A-B)
 * grouped by similarity rather than adjacency, k capped at n, the
 * automatic threshold rule, average (not single) linkage resisting a chain,
 * cluster numbering by first item, and the input left untouched. Then the
 * whole analysis over a one-colour video with stand-in scenes, people and
 * transcript results: people and words decide the grouping when colour
 * cannot, and the description states what each storyline shares.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/cluster.h"
#include "core/err.h"
#include "../helpers/testutil.h"

/* Similarity of items of groups g[i], g[j]: `in` within a group, `out` across. */
static void two_level(double *s, const int *g, int n, double in, double out) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      s[i * n + j] = i == j ? 1 : g[i] == g[j] ? in : out;
}

static void test_cross_cut(void **state) {
  (void)state;
  const int g[6] = {0, 1, 0, 1, 0, 1};
  double s[36], copy[36];
  int label[6];
  two_level(s, g, 6, 0.9, 0.1);
  s[0 * 6 + 2] = s[2 * 6 + 0] = 0.8; /* not all equal, to exercise the order */
  memcpy(copy, s, sizeof(s));
  assert_int_equal(vd_cluster_avg_sim(s, 6, 2, 0.5, label), 2);
  const int want[6] = {0, 1, 0, 1, 0, 1};
  assert_memory_equal(label, want, sizeof(want));
  assert_memory_equal(s, copy, sizeof(s));
  assert_int_equal(vd_cluster_avg_sim(s, 6, 0, 0.5, label), 2);
  assert_memory_equal(label, want, sizeof(want));
  assert_int_equal(vd_cluster_avg_sim(s, 6, 1, 0.5, label), 1);
  for (int i = 0; i < 6; i++)
    assert_int_equal(label[i], 0);
}

static void test_cap_and_single(void **state) {
  (void)state;
  const int g[3] = {0, 1, 2};
  double s[9];
  int label[3];
  two_level(s, g, 3, 1, 0.2);
  assert_int_equal(vd_cluster_avg_sim(s, 3, 50, 0.5, label), 3);
  for (int i = 0; i < 3; i++)
    assert_int_equal(label[i], i);
  double one = 1;
  int l1 = 7;
  assert_int_equal(vd_cluster_avg_sim(&one, 1, 3, 0.5, &l1), 1);
  assert_int_equal(l1, 0);
  assert_int_equal(vd_cluster_avg_sim(&one, 1, 0, 0.5, &l1), 1);
  assert_int_equal(vd_cluster_avg_sim(NULL, 0, 3, 0.5, NULL), 0);
}

/* Automatic: everything alike gives one group; nothing alike keeps all. */
static void test_threshold(void **state) {
  (void)state;
  const int g[4] = {0, 0, 0, 0};
  double s[16];
  int label[4];
  two_level(s, g, 4, 0.7, 0.7);
  assert_int_equal(vd_cluster_avg_sim(s, 4, 0, 0.5, label), 1);
  assert_int_equal(vd_cluster_avg_sim(s, 4, 0, 0.75, label), 4);
  /* three groups of sizes 1, 2, 1 in the order c a b a */
  const int h[4] = {2, 0, 1, 0};
  two_level(s, h, 4, 0.9, 0.3);
  assert_int_equal(vd_cluster_avg_sim(s, 4, 0, 0.5, label), 3);
  const int want[4] = {0, 1, 2, 1}; /* numbered by first item */
  assert_memory_equal(label, want, sizeof(want));
}

/* A chain 0-1-2-3 where each neighbour is alike (0.8) but the ends are not
 * (0.0): single linkage would join all at 0.8; average linkage stops. */
static void test_average_not_single(void **state) {
  (void)state;
  double s[16] = {0};
  int label[4];
  for (int i = 0; i < 4; i++) {
    s[i * 4 + i] = 1;
    if (i < 3)
      s[i * 4 + i + 1] = s[(i + 1) * 4 + i] = 0.8;
  }
  int nc = vd_cluster_avg_sim(s, 4, 0, 0.5, label);
  assert_int_equal(nc, 2);
  const int want[4] = {0, 0, 1, 1};
  assert_memory_equal(label, want, sizeof(want));
}

/* ---- the analysis, with stand-in dependencies ------------------------------- */

/* Four 2 s scenes; person 0 in scenes 1 and 3, person 1 in 2 and 4 (and
 * person 5 once, in scene 4: not more than half of its storyline, so not
 * named). */
static int fake_scenes(struct vd_actx *c, json_t **out) {
  (void)c;
  json_t *l = json_array();
  for (int i = 0; i < 4; i++)
    json_array_append_new(l, json_pack("{s:i, s:f, s:f}", "index", i + 1, "start_time", 2.0 * i,
                                       "end_time", 2.0 * i + 2));
  *out = json_pack("{s:o}", "scenes", l);
  return 0;
}
static int fake_people(struct vd_actx *c, json_t **out) {
  (void)c;
  *out = json_pack("{s:[{s:i, s:[i,i]}, {s:i, s:[i,i]}, {s:i, s:[i]}]}", "people", "id", 0,
                   "scenes", 1, 3, "id", 1, "scenes", 2, 4, "id", 5, "scenes", 4);
  return 0;
}
static int fake_transcript(struct vd_actx *c, json_t **out) {
  (void)c;
  *out = json_pack("{s:[{s:f, s:f, s:s}, {s:f, s:f, s:s}, {s:f, s:f, s:s}, {s:f, s:f, s:s}]}",
                   "segments", "start", 0.2, "end", 1.5, "text", "The harbour boats, the harbour!",
                   "start", 2.5, "end", 3.5, "text", "Forward ten meters.", "start", 4.1, "end",
                   5.0, "text", "Boats in the harbour", "start", 6.2, "end", 7.0, "text",
                   "and then forward");
  return 0;
}
static const struct vd_analysis_def def_scenes = {.name = "scenes", .no_media = 1,
                                                  .finish = fake_scenes};
static const struct vd_analysis_def def_people = {.name = "people", .no_media = 1,
                                                  .finish = fake_people};
static const struct vd_analysis_def def_tr = {.name = "transcript", .no_media = 1,
                                              .finish = fake_transcript};
static const struct vd_analysis_def *const extra[] = {&def_scenes, &def_people, &def_tr, NULL};

static json_t *run_storylines(const char *const *names, size_t n, int k) {
  static const char *video;
  if (!video) {
    video = vd_test_path("red.mp4");
    assert_int_equal(vd_test_ffmpeg("-f lavfi -i color=c=red:size=64x48:rate=10:duration=8 "
                                    "-c:v libx264 -pix_fmt yuv420p %s", video), 0);
  }
  json_t *params = json_pack("{s:{s:i}}", "storylines", "num_storylines", k), *res = NULL;
  struct vd_run_opts o = {.input = video, .analyses = names, .n_analyses = n, .params = params,
                          .extra = extra};
  struct vd_run *r = NULL;
  struct vd_err err;
  vd_err_clear(&err);
  int ret = vd_run_new(&r, &o, &err);
  if (ret == 0)
    ret = vd_run_exec(r, &res, &err);
  if (ret < 0)
    fail_msg("run: %s", vd_err_msg(&err, ret));
  vd_run_free(r);
  json_decref(params);
  json_t *st = json_incref(json_object_get(json_object_get(res, "results"), "storylines"));
  json_decref(res);
  assert_non_null(st);
  return st;
}

static void assert_scenes(json_t *story, const char *want) {
  char *got = json_dumps(json_object_get(story, "scenes"), JSON_COMPACT);
  assert_string_equal(got, want);
  free(got);
}

static void test_people_and_words(void **state) {
  (void)state;
  const char *names[] = {"people", "transcript", "storylines"};
  json_t *st = run_storylines(names, 3, 2);
  json_t *l = json_object_get(st, "storylines");
  assert_int_equal(json_array_size(l), 2);
  assert_scenes(json_array_get(l, 0), "[1,3]");
  assert_scenes(json_array_get(l, 1), "[2,4]");
  assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "description")),
                      "Scenes 1, 3: person 1, mostly red, words: harbour, boats");
  assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "description")),
                      "Scenes 2, 4: person 2, mostly red, words: forward");
  assert_true(json_is_true(json_object_get(json_object_get(st, "features"), "people")));
  assert_true(json_is_true(json_object_get(json_object_get(st, "features"), "words")));
  json_decref(st);
  /* automatic: within a storyline people, words and colour all agree (1.0);
   * across, only colour does (1/2.5 = 0.4 < 0.5): the same two */
  st = run_storylines(names, 3, 0);
  assert_int_equal(json_integer_value(json_object_get(st, "count")), 2);
  json_decref(st);
  /* without people and words, all four scenes look the same: one storyline */
  const char *alone[] = {"storylines"};
  st = run_storylines(alone, 1, 0);
  l = json_object_get(st, "storylines");
  assert_int_equal(json_array_size(l), 1);
  assert_scenes(json_array_get(l, 0), "[1,2,3,4]");
  assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "description")),
                      "Scenes 1, 2, 3, 4: mostly red");
  assert_true(fabs(json_number_value(json_object_get(json_array_get(l, 0), "duration")) - 8) < 1e-9);
  json_decref(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cross_cut),
      cmocka_unit_test(test_cap_and_single),
      cmocka_unit_test(test_threshold),
      cmocka_unit_test(test_average_not_single),
      cmocka_unit_test(test_people_and_words),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
