/*
 * test_scenes_out.c: the scenes JSON result (schema fields, inclusive end
 * frames, end_time = next start), and its CSV (PySceneDetect list-scenes
 * columns) and CMX 3600 EDL renderings, byte for byte; malformed results
 * are refused without writing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/scenes_out.h"

static const struct vd_scenes_cut cuts[] = {{30, 1.2, 45.2}, {70, 2.8, 80.0}};
static const struct vd_scenes_flash flashes[] = {{50, 2.0, 1, 88.333, VD_SCENES_FLASH}};
static char *thumbs[] = {"scene-001.jpg", NULL, "scene-003.jpg"};

static json_t *sample(int with_thumbs) {
  struct vd_scenes_summary s = {
      .detector = "content", .threshold = 27, .min_scene_len = 15, .flash_filter = 1,
      .fps = 25, .frames = 100, .start_time = 0, .end_time = 4.0,
      .cuts = cuts, .ncuts = 2, .flashes = flashes, .nflashes = 1,
      .thumbs = with_thumbs ? thumbs : NULL,
  };
  return vd_scenes_result_json(&s);
}

/* Renders with `fn` into a heap string. */
static char *render(json_t *r, int edl, int *ret) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  *ret = edl ? vd_scenes_write_edl(r, "test", f) : vd_scenes_write_csv(r, f);
  fclose(f);
  return buf;
}

static double num(json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

static void test_json_schema(void **state) {
  (void)state;
  json_t *r = sample(1);
  assert_string_equal(json_string_value(json_object_get(r, "detector")), "content");
  assert_float_equal(num(r, "threshold"), 27, 0);
  assert_int_equal((int)num(r, "min_scene_len"), 15);
  assert_int_equal((int)num(r, "frames"), 100);
  assert_float_equal(num(r, "fps"), 25, 0);
  assert_float_equal(num(r, "duration"), 4.0, 1e-9);
  json_t *c = json_object_get(r, "cuts");
  assert_int_equal(json_array_size(c), 2);
  assert_int_equal((int)num(json_array_get(c, 0), "frame"), 30);
  assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "timecode")),
                      "00:00:01.200");
  assert_float_equal(num(json_array_get(c, 0), "score"), 45.2, 1e-9);
  json_t *sc = json_object_get(r, "scenes");
  assert_int_equal(json_array_size(sc), 3);
  struct {
    int index, f0, f1, n;
    double t0, t1;
    const char *tc0, *tc1, *thumb;
  } want[] = {
      {1, 0, 29, 30, 0.0, 1.2, "00:00:00.000", "00:00:01.200", "scene-001.jpg"},
      {2, 30, 69, 40, 1.2, 2.8, "00:00:01.200", "00:00:02.800", NULL},
      {3, 70, 99, 30, 2.8, 4.0, "00:00:02.800", "00:00:04.000", "scene-003.jpg"},
  };
  for (size_t i = 0; i < 3; i++) {
    json_t *s = json_array_get(sc, i);
    assert_int_equal((int)num(s, "index"), want[i].index);
    assert_int_equal((int)num(s, "start_frame"), want[i].f0);
    assert_int_equal((int)num(s, "end_frame"), want[i].f1);
    assert_int_equal((int)num(s, "frames"), want[i].n);
    assert_float_equal(num(s, "start_time"), want[i].t0, 1e-9);
    assert_float_equal(num(s, "end_time"), want[i].t1, 1e-9);
    assert_float_equal(num(s, "duration"), want[i].t1 - want[i].t0, 1e-9);
    assert_string_equal(json_string_value(json_object_get(s, "start_timecode")), want[i].tc0);
    assert_string_equal(json_string_value(json_object_get(s, "end_timecode")), want[i].tc1);
    json_t *th = json_object_get(s, "thumbnail");
    if (want[i].thumb)
      assert_string_equal(json_string_value(th), want[i].thumb);
    else
      assert_true(json_is_null(th));
  }
  json_t *fl = json_object_get(r, "flashes");
  assert_int_equal(json_array_size(fl), 1);
  assert_int_equal((int)num(json_array_get(fl, 0), "frame"), 50);
  assert_int_equal((int)num(json_array_get(fl, 0), "frames"), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(fl, 0), "kind")), "flash");
  json_decref(r);

  /* Without thumbnails every scene says null; with no frames there are no scenes. */
  r = sample(0);
  assert_true(json_is_null(json_object_get(json_array_get(json_object_get(r, "scenes"), 0), "thumbnail")));
  json_decref(r);
  struct vd_scenes_summary empty = {.detector = "threshold", .threshold = 12, .fps = 25};
  r = vd_scenes_result_json(&empty);
  assert_int_equal(json_array_size(json_object_get(r, "scenes")), 0);
  assert_int_equal(json_array_size(json_object_get(r, "cuts")), 0);
  json_decref(r);
}

static void test_csv(void **state) {
  (void)state;
  json_t *r = sample(1);
  int ret;
  char *s = render(r, 0, &ret);
  assert_int_equal(ret, 0);
  assert_string_equal(
      s,
      "Timecode List:,00:00:01.200,00:00:02.800\n"
      "Scene Number,Start Frame,Start Timecode,Start Time (seconds),End Frame,End Timecode,"
      "End Time (seconds),Length (frames),Length (timecode),Length (seconds)\n"
      "1,1,00:00:00.000,0.000,30,00:00:01.200,1.200,30,00:00:01.200,1.200\n"
      "2,31,00:00:01.200,1.200,70,00:00:02.800,2.800,40,00:00:01.600,1.600\n"
      "3,71,00:00:02.800,2.800,100,00:00:04.000,4.000,30,00:00:01.200,1.200\n");
  free(s);
  json_decref(r);
}

static void test_edl(void **state) {
  (void)state;
  json_t *r = sample(0);
  int ret;
  char *s = render(r, 1, &ret);
  assert_int_equal(ret, 0);
  assert_string_equal(s,
                      "TITLE: test\n"
                      "FCM: NON-DROP FRAME\n"
                      "\n"
                      "001  AX       V     C        00:00:00:00 00:00:01:05 00:00:00:00 00:00:01:05\n"
                      "002  AX       V     C        00:00:01:05 00:00:02:20 00:00:01:05 00:00:02:20\n"
                      "003  AX       V     C        00:00:02:20 00:00:04:00 00:00:02:20 00:00:04:00\n");
  free(s);
  json_decref(r);
}

static void test_malformed(void **state) {
  (void)state;
  int ret;
  json_t *r = json_pack("{s:f}", "fps", 25.0);
  char *s = render(r, 0, &ret);
  assert_int_equal(ret, VD_ERR_INVALID);
  assert_string_equal(s, "");
  free(s);
  s = render(r, 1, &ret);
  assert_int_equal(ret, VD_ERR_INVALID);
  free(s);
  json_decref(r);
  /* A scene without its times: nothing is written. */
  r = json_loads("{\"fps\": 25, \"scenes\": [{\"index\": 1, \"start_frame\": 0, \"end_frame\": 3}]}",
                 0, NULL);
  s = render(r, 0, &ret);
  assert_int_equal(ret, VD_ERR_INVALID);
  assert_string_equal(s, "");
  free(s);
  s = render(r, 1, &ret);
  assert_int_equal(ret, VD_ERR_INVALID);
  assert_string_equal(s, "");
  free(s);
  json_decref(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_schema),
      cmocka_unit_test(test_csv),
      cmocka_unit_test(test_edl),
      cmocka_unit_test(test_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
