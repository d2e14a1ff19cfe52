/*
 * test_params.c: parameter validation, table-driven, and the runner's
 * refusal of unknown analyses and misplaced parameters before any I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "../helpers/testutil.h"
#include "analyze/analyze.h"

static const struct vd_param_def params[] = {
    {"threshold", VD_PARAM_NUM, "27", 0, 255, NULL, "cut threshold"},
    {"min_len", VD_PARAM_INT, "15", 0, 100000, NULL, "frames"},
    {"flash", VD_PARAM_BOOL, "true", 0, -1, NULL, "flash filter"},
    {"detector", VD_PARAM_ENUM, "content", 0, -1, "content|adaptive|threshold", "which"},
    {"title", VD_PARAM_STR, NULL, 0, -1, NULL, "free text"},
    {NULL},
};
static const struct vd_analysis_def def = {.name = "t", .params = params};

static const struct {
  const char *json; /* given params */
  int ok;
  const char *key; /* checked key */
  const char *want; /* expected JSON of that key, or expected error substring */
} cases[] = {
    {"{}", 1, "threshold", "27.0"},
    {"{}", 1, "min_len", "15"},
    {"{}", 1, "flash", "true"},
    {"{}", 1, "detector", "\"content\""},
    {"{}", 1, "title", "null"},
    {"{\"threshold\": 30}", 1, "threshold", "30.0"},
    {"{\"threshold\": \"12.5\"}", 1, "threshold", "12.5"},
    {"{\"min_len\": \"20\"}", 1, "min_len", "20"},
    {"{\"flash\": \"no\"}", 1, "flash", "false"},
    {"{\"flash\": 0}", 1, "flash", "false"},
    {"{\"detector\": \"adaptive\"}", 1, "detector", "\"adaptive\""},
    {"{\"threshold\": 300}", 0, NULL, "out of range"},
    {"{\"threshold\": \"abc\"}", 0, NULL, "must be a number"},
    {"{\"threshold\": \"nan\"}", 0, NULL, "must be a number"},
    {"{\"min_len\": 1.5}", 0, NULL, "must be an integer"},
    {"{\"flash\": \"maybe\"}", 0, NULL, "true or false"},
    {"{\"detector\": \"magic\"}", 0, NULL, "content|adaptive|threshold"},
    {"{\"bogus\": 1}", 0, NULL, "valid: threshold, min_len, flash, detector, title"},
    {"{\"title\": 5}", 0, NULL, "must be a string"},
};

static void test_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *given = json_loads(cases[i].json, 0, NULL), *out = NULL;
    struct vd_err e;
    vd_err_clear(&e);
    int r = vd_params_resolve(&def, given, &out, &e);
    if (cases[i].ok) {
      if (r != 0)
        fail_msg("case %zu: %s", i, e.msg);
      char *got = json_dumps(json_object_get(out, cases[i].key), JSON_ENCODE_ANY);
      if (strcmp(got, cases[i].want))
        fail_msg("case %zu: %s = %s, want %s", i, cases[i].key, got, cases[i].want);
      free(got);
      json_decref(out);
    } else {
      assert_int_equal(r, VD_ERR_INVALID);
      assert_null(out);
      if (!strstr(e.msg, cases[i].want))
        fail_msg("case %zu: error '%s' lacks '%s'", i, e.msg, cases[i].want);
    }
    json_decref(given);
  }
}

static void test_describe(void **state) {
  (void)state;
  json_t *d = vd_params_describe(&def);
  json_t *props = json_object_get(d, "properties");
  assert_int_equal(json_object_size(props), 5);
  json_t *det = json_object_get(props, "detector");
  assert_int_equal(json_array_size(json_object_get(det, "enum")), 3);
  assert_true(json_real_value(json_object_get(json_object_get(props, "threshold"), "default")) == 27);
  json_decref(d);
}

static void test_runner_validates_before_io(void **state) {
  (void)state;
  struct vd_run *r = NULL;
  struct vd_err e;
  const char *bad[] = {"probe", "nonsense"};
  struct vd_run_opts o = {.input = "/nonexistent.mp4", .analyses = bad, .n_analyses = 2};
  vd_err_clear(&e);
  assert_int_equal(vd_run_new(&r, &o, &e), VD_ERR_INVALID);
  assert_non_null(strstr(e.msg, "unknown analysis 'nonsense'"));
  assert_non_null(strstr(e.msg, "probe"));
  assert_null(r);

  const char *good[] = {"probe"};
  json_t *p = json_loads("{\"scenes_x\": {}}", 0, NULL);
  struct vd_run_opts o2 = {.input = "/nonexistent.mp4", .analyses = good, .n_analyses = 1, .params = p};
  vd_err_clear(&e);
  assert_int_equal(vd_run_new(&r, &o2, &e), VD_ERR_INVALID);
  assert_non_null(strstr(e.msg, "not in this run"));
  json_decref(p);

  /* Valid request, missing file: fails at exec with the file's name. */
  struct vd_run_opts o3 = {.input = "/nonexistent.mp4", .analyses = good, .n_analyses = 1};
  assert_int_equal(vd_run_new(&r, &o3, &e), 0);
  json_t *res = NULL;
  vd_err_clear(&e);
  assert_true(vd_run_exec(r, &res, &e) < 0);
  assert_non_null(strstr(e.msg, "/nonexistent.mp4"));
  assert_null(res);
  vd_run_free(r);

  /* With a display name, messages name the file as the user knows it. */
  struct vd_run_opts o4 = {.input = "/nonexistent.mp4", .display_name = "holiday.mp4",
                           .analyses = good, .n_analyses = 1};
  assert_int_equal(vd_run_new(&r, &o4, &e), 0);
  vd_err_clear(&e);
  assert_true(vd_run_exec(r, &res, &e) < 0);
  assert_non_null(strstr(e.msg, "holiday.mp4"));
  assert_null(strstr(e.msg, "/nonexistent"));
  vd_run_free(r);
}

static void progress_cb(void *opaque, double frac, const char *stage) {
  double *last = opaque;
  assert_true(frac >= *last); /* monotonic */
  assert_non_null(stage);
  *last = frac;
}

static void test_probe_run(void **state) {
  (void)state;
  const char *clip = vd_test_path("p.mkv");
  assert_int_equal(vd_test_ffmpeg("-f lavfi -i testsrc2=size=192x108:rate=24:duration=1 "
                                  "-c:v libx264 -preset ultrafast %s",
                                  clip),
                   0);
  const char *names[] = {"probe"};
  double last = 0;
  struct vd_run_opts o = {.input = clip, .analyses = names, .n_analyses = 1,
                          .progress = progress_cb, .progress_opaque = &last};
  struct vd_run *r;
  struct vd_err e;
  vd_err_clear(&e);
  assert_int_equal(vd_run_new(&r, &o, &e), 0);
  json_t *res = NULL;
  assert_int_equal(vd_run_exec(r, &res, &e), 0);
  json_t *probe = json_object_get(json_object_get(res, "results"), "probe");
  json_t *v = json_object_get(probe, "video");
  assert_int_equal(json_integer_value(json_object_get(v, "width")), 192);
  assert_int_equal(json_integer_value(json_object_get(v, "frames")), 24);
  assert_true(fabs(json_real_value(json_object_get(v, "avg_frame_rate")) - 24) < 1e-6);
  assert_string_equal(json_string_value(json_object_get(v, "display_aspect_ratio")), "16:9");
  assert_true(json_is_null(json_object_get(probe, "audio")));
  assert_true(last == 1.0);
  json_decref(res);
  vd_run_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_describe),
      cmocka_unit_test(test_runner_validates_before_io),
      cmocka_unit_test(test_probe_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
