/*
 * test_scenes_detect.c: the pure shot detectors on synthetic frames: a hard
 * cut, a gradual change, min_scene_len merging and suppressing, camera
 * flashes (filtered and not), adaptive vs camera motion, fades with the
 * threshold detector (fade_bias and Python's round-half-to-even), variable
 * frame rate, and bad options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "analyze/scenes_detect.h"

#define W 32
#define H 18

/* One frame of constant pixels (a,b,c): HSV or BGR depending on the detector. */
struct px {
  int a, b, c;
};

static void fill(uint8_t *buf, struct px p) {
  for (int i = 0; i < W * H; i++) {
    buf[3 * i] = (uint8_t)p.a;
    buf[3 * i + 1] = (uint8_t)p.b;
    buf[3 * i + 2] = (uint8_t)p.c;
  }
}

static struct vd_scenes_det *det_new(const struct vd_scenes_opts *o) {
  struct vd_scenes_det *d = NULL;
  struct vd_err e;
  vd_err_clear(&e);
  assert_int_equal(vd_scenes_det_new(&d, o, &e), 0);
  return d;
}

/* Pushes `n` frames from `*idx`, 1/fps apart, each made by `gen(i)`. */
static void push_n(struct vd_scenes_det *d, int64_t *idx, int n, double fps,
                   struct px (*gen)(int64_t, void *), void *arg) {
  uint8_t buf[W * H * 3];
  for (int k = 0; k < n; k++, (*idx)++) {
    fill(buf, gen(*idx, arg));
    assert_int_equal(vd_scenes_det_push(d, *idx, (double)*idx / fps, buf, W * 3, W, H), 0);
  }
}

static struct px constant(int64_t i, void *arg) {
  (void)i;
  return *(struct px *)arg;
}

/* Pushes `n` frames of one constant picture. */
static void push_const(struct vd_scenes_det *d, int64_t *idx, int n, struct px p) {
  push_n(d, idx, n, 30.0, constant, &p);
}

static void expect_cuts(struct vd_scenes_det *d, const int64_t *want, size_t nwant) {
  size_t n;
  const struct vd_scenes_cut *c = vd_scenes_det_cuts(d, &n);
  for (size_t i = 0; i < n && i < nwant; i++)
    if (c[i].frame != want[i])
      fail_msg("cut %zu is at frame %lld, expected %lld", i, (long long)c[i].frame,
               (long long)want[i]);
  if (n != nwant)
    fail_msg("%zu cuts, expected %zu (first at %lld)", n, nwant, n ? (long long)c[0].frame : -1LL);
}

static const struct px A = {10, 100, 100}, B = {100, 200, 50}, C = {40, 20, 160}, DD = {150, 60, 90};

static void test_pyround(void **state) {
  (void)state;
  assert_int_equal(vd_scenes_pyround(0.5), 0);
  assert_int_equal(vd_scenes_pyround(1.5), 2);
  assert_int_equal(vd_scenes_pyround(2.5), 2);
  assert_int_equal(vd_scenes_pyround(6.5), 6);
  assert_int_equal(vd_scenes_pyround(2.6), 3);
  assert_int_equal(vd_scenes_pyround(-0.5), 0);
}

static void test_content_cut(void **state) {
  (void)state;
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_CONTENT, 30);
  struct vd_scenes_det *d = det_new(&o);
  int64_t i = 0;
  push_const(d, &i, 40, A);
  push_const(d, &i, 40, B);
  vd_scenes_det_finish(d);
  expect_cuts(d, (int64_t[]){40}, 1);
  size_t n;
  const struct vd_scenes_cut *c = vd_scenes_det_cuts(d, &n);
  /* (|10-100| + |100-200| + |100-50|) / 3 */
  assert_float_equal(c[0].score, 80.0, 1e-9);
  assert_float_equal(c[0].time, 40.0 / 30, 1e-9);
  vd_scenes_det_free(d);
}

static struct px ramp(int64_t i, void *arg) {
  (void)arg;
  return (struct px){10, 100, (int)(20 + 2 * i)};
}

static void test_content_gradual_no_cut(void **state) {
  (void)state;
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_CONTENT, 30);
  struct vd_scenes_det *d = det_new(&o);
  int64_t i = 0;
  push_n(d, &i, 110, 30, ramp, NULL); /* V from 20 to 238: a fade, no cut */
  vd_scenes_det_finish(d);
  expect_cuts(d, NULL, 0);
  assert_float_equal(vd_scenes_det_last_score(d), 2.0 / 3, 1e-9);
  vd_scenes_det_free(d);
}

/* Cuts at 20, 30, 40 and 50: MERGE keeps the first and the last of the
 * close run; SUPPRESS keeps those at least min_scene_len apart. */
static void run_close_cuts(enum vd_scenes_filter mode, const int64_t *want, size_t nwant) {
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_CONTENT, 30);
  o.filter = mode;
  struct vd_scenes_det *d = det_new(&o);
  int64_t i = 0;
  push_const(d, &i, 20, A);
  push_const(d, &i, 10, B);
  push_const(d, &i, 10, C);
  push_const(d, &i, 10, DD);
  push_const(d, &i, 40, A);
  vd_scenes_det_finish(d);
  expect_cuts(d, want, nwant);
  vd_scenes_det_free(d);
}

static void test_min_scene_len_merge(void **state) {
  (void)state;
  run_close_cuts(VD_SCENES_FILTER_MERGE, (int64_t[]){20, 50}, 2);
}

static void test_min_scene_len_suppress(void **state) {
  (void)state;
  run_close_cuts(VD_SCENES_FILTER_SUPPRESS, (int64_t[]){20, 40}, 2);
}

static void test_min_scene_len_zero(void **state) {
  (void)state;
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_CONTENT, 30);
  o.min_scene_len = 0;
  struct vd_scenes_det *d = det_new(&o);
  int64_t i = 0;
  push_const(d, &i, 3, A);
  push_const(d, &i, 2, B);
  push_const(d, &i, 2, A);
  vd_scenes_det_finish(d);
  expect_cuts(d, (int64_t[]){3, 5}, 2);
  vd_scenes_det_free(d);
}

/* A continuous shot with a `len`-frame white flash at frame 50, then
 * optionally a real cut `cut_after` frames after the flash ends. */
static struct vd_scenes_det *flash_run(int flash_filter, int len, struct px flash, int cut_after) {
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_CONTENT, 30);
  o.flash_filter = flash_filter;
  struct vd_scenes_det *d = det_new(&o);
  int64_t i = 0;
  push_const(d, &i, 50, A);
  push_const(d, &i, len, flash);
  if (cut_after > 0) {
    push_const(d, &i, cut_after, A);
    push_const(d, &i, 40, B);
  } else if (cut_after == 0) {
    push_const(d, &i, 40, B); /* the shot changes right after the flash */
  } else {
    push_const(d, &i, 40, A);
  }
  vd_scenes_det_finish(d);
  return d;
}

static const struct px WHITE = {0, 0, 255}, BLACK = {0, 0, 0};

static void test_flash_unfiltered_cuts(void **state) {
  (void)state;
  /* What PySceneDetect does: the flash cuts the shot. */
  struct vd_scenes_det *d = flash_run(0, 1, WHITE, -1);
  expect_cuts(d, (int64_t[]){50}, 1);
  vd_scenes_det_free(d);
}

static void test_flash_filtered(void **state) {
  (void)state;
  for (int len = 1; len <= 3; len++) {
    struct vd_scenes_det *d = flash_run(1, len, WHITE, -1);
    expect_cuts(d, NULL, 0);
    size_t n;
    const struct vd_scenes_flash *f = vd_scenes_det_flashes(d, &n);
    assert_int_equal(n, 1);
    assert_int_equal(f[0].frame, 50);
    assert_int_equal(f[0].frames, len);
    assert_true(f[0].score >= 27);
    vd_scenes_det_free(d);
  }
}

static void test_flash_then_real_cut(void **state) {
  (void)state;
  /* A real cut 3 frames after a flash is still a cut (min_scene_len counts
   * from the previous cut, not from the flash). */
  struct vd_scenes_det *d = flash_run(1, 1, WHITE, 3);
  expect_cuts(d, (int64_t[]){54}, 1);
  size_t n;
  vd_scenes_det_flashes(d, &n);
  assert_int_equal(n, 1);
  vd_scenes_det_free(d);
  /* A white frame between two different shots is a cut, not a flash. */
  d = flash_run(1, 1, WHITE, 0);
  expect_cuts(d, (int64_t[]){50}, 1);
  vd_scenes_det_flashes(d, &n);
  assert_int_equal(n, 0);
  vd_scenes_det_free(d);
}

static void test_flash_too_long_or_dark(void **state) {
  (void)state;
  /* Five bright frames are a shot of their own, not a flash. */
  struct vd_scenes_det *d = flash_run(1, 5, WHITE, -1);
  expect_cuts(d, (int64_t[]){50}, 1);
  vd_scenes_det_free(d);
  /* A black frame is no flash: flashes brighten. */
  d = flash_run(1, 1, BLACK, -1);
  expect_cuts(d, (int64_t[]){50}, 1);
  vd_scenes_det_free(d);
}

/* VFX flicker: from frame 40 the picture alternates between the shot and a
 * brighter rendering of it, two frames each, and settles on the bright one
 * at 56; a real cut follows at 80. */
static struct px flicker(int64_t i, void *arg) {
  (void)arg;
  struct px dark = {20, 120, 90}, bright = {30, 40, 170};
  if (i >= 80)
    return B;
  if (i >= 56)
    return bright;
  return i >= 40 && ((i - 40) / 2) % 2 == 0 ? bright : dark;
}

static void test_flicker(void **state) {
  (void)state;
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_CONTENT, 24);
  struct vd_scenes_det *d = det_new(&o);
  int64_t i = 0;
  push_n(d, &i, 120, 24, flicker, NULL);
  vd_scenes_det_finish(d);
  expect_cuts(d, (int64_t[]){80}, 1);
  size_t n, nflicker = 0;
  const struct vd_scenes_flash *f = vd_scenes_det_flashes(d, &n);
  for (size_t k = 0; k < n; k++)
    nflicker += f[k].kind == VD_SCENES_FLICKER;
  assert_true(n >= 3);
  assert_true(nflicker >= 1);
  vd_scenes_det_free(d);

  /* Without the filter the flicker cuts (PySceneDetect merges the rest). */
  o.flash_filter = 0;
  d = det_new(&o);
  i = 0;
  push_n(d, &i, 120, 24, flicker, NULL);
  vd_scenes_det_finish(d);
  const struct vd_scenes_cut *c = vd_scenes_det_cuts(d, &n);
  assert_true(n >= 1);
  assert_int_equal(c[0].frame, 40);
  vd_scenes_det_free(d);
}

/* Camera motion: V alternates 100/190 every frame (content score 30), H and
 * S jump at frame 40. */
static struct px shaky(int64_t i, void *arg) {
  (void)arg;
  int v = (i & 1) ? 190 : 100;
  return i < 40 ? (struct px){10, 50, v} : (struct px){170, 250, v};
}

static void test_adaptive_vs_motion(void **state) {
  (void)state;
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_ADAPTIVE, 30);
  o.flash_filter = 0;
  struct vd_scenes_det *d = det_new(&o);
  int64_t i = 0;
  push_n(d, &i, 90, 30, shaky, NULL);
  vd_scenes_det_finish(d);
  expect_cuts(d, (int64_t[]){40}, 1);
  size_t n;
  const struct vd_scenes_cut *c = vd_scenes_det_cuts(d, &n);
  assert_float_equal(c[0].score, 5.0, 1e-9); /* (160+200+90)/3 / 30 */
  vd_scenes_det_free(d);

  /* The content detector (suppress mode) cuts the motion every
   * min_scene_len frames. */
  vd_scenes_opts_default(&o, VD_SCENES_CONTENT, 30);
  o.flash_filter = 0;
  o.filter = VD_SCENES_FILTER_SUPPRESS;
  d = det_new(&o);
  i = 0;
  push_n(d, &i, 90, 30, shaky, NULL);
  vd_scenes_det_finish(d);
  vd_scenes_det_cuts(d, &n);
  assert_true(n >= 4);
  vd_scenes_det_free(d);
}

static void test_adaptive_static_cut(void **state) {
  (void)state;
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_ADAPTIVE, 30);
  struct vd_scenes_det *d = det_new(&o);
  int64_t i = 0;
  push_const(d, &i, 30, A);
  push_const(d, &i, 30, B);
  vd_scenes_det_finish(d);
  expect_cuts(d, (int64_t[]){30}, 1);
  size_t n;
  assert_float_equal(vd_scenes_det_cuts(d, &n)[0].score, 255.0, 1e-9); /* neighbours are still */
  vd_scenes_det_free(d);
}

/* Level per frame for a fade: 100 until 29, down 10 per frame from 30
 * (first below 12 is frame 38), black, up 10 per frame from 50 (first at
 * or above 12 is frame 51), 100 from 60. */
static struct px fade(int64_t i, void *arg) {
  (void)arg;
  int v = 100;
  if (i >= 30 && i < 40)
    v = 100 - 10 * (int)(i - 29);
  else if (i >= 40 && i < 50)
    v = 0;
  else if (i >= 50 && i < 60)
    v = 10 * (int)(i - 49);
  if (v < 0)
    v = 0;
  return (struct px){v, v, v};
}

static int64_t fade_cut(double bias, enum vd_scenes_method m, double thr) {
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_THRESHOLD, 25);
  o.fade_bias = bias;
  o.method = m;
  o.threshold = thr;
  struct vd_scenes_det *d = det_new(&o);
  int64_t i = 0;
  push_n(d, &i, 90, 25, fade, NULL);
  vd_scenes_det_finish(d);
  size_t n;
  const struct vd_scenes_cut *c = vd_scenes_det_cuts(d, &n);
  int64_t r = n == 1 ? c[0].frame : -100 - (int64_t)n;
  if (n == 1)
    assert_float_equal(c[0].time, (double)c[0].frame / 25, 1e-9);
  vd_scenes_det_free(d);
  return r;
}

static void test_threshold_fade_bias(void **state) {
  (void)state;
  /* fade out at 38, in at 51: 13 frames; 38 + round(6.5) = 38 + 6 (half to even) */
  assert_int_equal(fade_cut(0.0, VD_SCENES_FLOOR, 12), 44);
  assert_int_equal(fade_cut(-1.0, VD_SCENES_FLOOR, 12), 38);
  assert_int_equal(fade_cut(1.0, VD_SCENES_FLOOR, 12), 51);
  assert_int_equal(fade_cut(0.5, VD_SCENES_FLOOR, 12), 48); /* 13 * 1.5 / 2 = 9.75 */
  /* The level is truncated to an integer, as PySceneDetect does: 12.9 -> 12. */
  assert_int_equal(fade_cut(0.0, VD_SCENES_FLOOR, 12.9), 44);
  /* A level above everything with floor: every frame is "faded out". */
  assert_int_equal(fade_cut(0.0, VD_SCENES_FLOOR, 200), -100);
}

static void test_threshold_ceiling_and_final(void **state) {
  (void)state;
  /* A video that ends in black: a last cut at the fade out only when asked. */
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_THRESHOLD, 25);
  o.add_final_scene = 1;
  struct vd_scenes_det *d = det_new(&o);
  int64_t i = 0;
  push_const(d, &i, 40, (struct px){80, 80, 80});
  push_const(d, &i, 30, (struct px){0, 0, 0}); /* ends faded out at 40 */
  vd_scenes_det_finish(d);
  expect_cuts(d, (int64_t[]){40}, 1);
  vd_scenes_det_free(d);

  o.add_final_scene = 0;
  d = det_new(&o);
  i = 0;
  push_const(d, &i, 40, (struct px){80, 80, 80});
  push_const(d, &i, 30, (struct px){0, 0, 0});
  vd_scenes_det_finish(d);
  expect_cuts(d, NULL, 0);
  vd_scenes_det_free(d);

  /* Ceiling: bright flash-to-white transition at 40..49, cut in its middle. */
  o.method = VD_SCENES_CEILING;
  o.threshold = 200;
  d = det_new(&o);
  i = 0;
  push_const(d, &i, 40, (struct px){80, 80, 80});
  push_const(d, &i, 10, (struct px){250, 250, 250});
  push_const(d, &i, 40, (struct px){80, 80, 80});
  vd_scenes_det_finish(d);
  expect_cuts(d, (int64_t[]){45}, 1);
  vd_scenes_det_free(d);
}

static void test_threshold_starts_black(void **state) {
  (void)state;
  /* Fading in from black at frame 10 is within min_scene_len of the start. */
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_THRESHOLD, 25);
  struct vd_scenes_det *d = det_new(&o);
  int64_t i = 0;
  push_const(d, &i, 10, (struct px){0, 0, 0});
  push_const(d, &i, 40, (struct px){80, 80, 80});
  vd_scenes_det_finish(d);
  expect_cuts(d, NULL, 0);
  vd_scenes_det_free(d);
  /* ... but not at frame 20. */
  d = det_new(&o);
  i = 0;
  push_const(d, &i, 20, (struct px){0, 0, 0});
  push_const(d, &i, 40, (struct px){80, 80, 80});
  vd_scenes_det_finish(d);
  expect_cuts(d, (int64_t[]){10}, 1);
  vd_scenes_det_free(d);
}

/* Nominal 24 fps, but only every other frame is there (12 frames per
 * second decoded): the minimum of 15 frames is 0.625 s, i.e. 8 decoded
 * frames. */
static void test_vfr_min_len_by_time(void **state) {
  (void)state;
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_CONTENT, 24);
  struct vd_scenes_det *d = det_new(&o);
  int64_t i = 0;
  push_n(d, &i, 10, 12, constant, (void *)&A);
  push_n(d, &i, 10, 12, constant, (void *)&B);
  vd_scenes_det_finish(d);
  expect_cuts(d, (int64_t[]){10}, 1);
  vd_scenes_det_free(d);
}

static void test_size_change_and_bad_input(void **state) {
  (void)state;
  struct vd_scenes_opts o;
  vd_scenes_opts_default(&o, VD_SCENES_CONTENT, 30);
  struct vd_scenes_det *d = det_new(&o);
  uint8_t buf[W * H * 3];
  fill(buf, A);
  assert_int_equal(vd_scenes_det_push(d, 0, 0, buf, W * 3, W, H), 0);
  fill(buf, B);
  assert_int_equal(vd_scenes_det_push(d, 1, 0.1, buf, 16 * 3, 16, 9), 0);
  assert_float_equal(vd_scenes_det_last_score(d), 0, 0);
  assert_true(vd_scenes_det_push(d, 1, 0.2, buf, W * 3, W, H) < 0);  /* index repeats */
  assert_true(vd_scenes_det_push(d, 2, 0.2, buf, 10, W, H) < 0);     /* linesize too small */
  assert_true(vd_scenes_det_push(d, 2, 0.2, buf, W * 3, 0, H) < 0);  /* empty */
  assert_true(vd_scenes_det_push(d, 2, 0.2, NULL, W * 3, W, H) < 0); /* no pixels */
  vd_scenes_det_free(d);

  struct vd_scenes_det *x = NULL;
  struct vd_err e;
  struct vd_scenes_opts bad = o;
  bad.threshold = 0;
  vd_err_clear(&e);
  assert_int_equal(vd_scenes_det_new(&x, &bad, &e), VD_ERR_INVALID);
  assert_non_null(strstr(e.msg, "threshold"));
  bad = o;
  bad.threshold = 300;
  assert_int_equal(vd_scenes_det_new(&x, &bad, NULL), VD_ERR_INVALID);
  bad = o;
  bad.fps = 0;
  assert_int_equal(vd_scenes_det_new(&x, &bad, NULL), VD_ERR_INVALID);
  bad = o;
  bad.weights[0] = bad.weights[1] = bad.weights[2] = 0;
  assert_int_equal(vd_scenes_det_new(&x, &bad, NULL), VD_ERR_INVALID);
  vd_scenes_opts_default(&bad, VD_SCENES_ADAPTIVE, 30);
  bad.window_width = 0;
  assert_int_equal(vd_scenes_det_new(&x, &bad, NULL), VD_ERR_INVALID);
  vd_scenes_opts_default(&bad, VD_SCENES_THRESHOLD, 30);
  bad.fade_bias = 1.5;
  assert_int_equal(vd_scenes_det_new(&x, &bad, NULL), VD_ERR_INVALID);
  assert_null(x);
  vd_scenes_det_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pyround),
      cmocka_unit_test(test_content_cut),
      cmocka_unit_test(test_content_gradual_no_cut),
      cmocka_unit_test(test_min_scene_len_merge),
      cmocka_unit_test(test_min_scene_len_suppress),
      cmocka_unit_test(test_min_scene_len_zero),
      cmocka_unit_test(test_flash_unfiltered_cuts),
      cmocka_unit_test(test_flash_filtered),
      cmocka_unit_test(test_flash_then_real_cut),
      cmocka_unit_test(test_flash_too_long_or_dark),
      cmocka_unit_test(test_flicker),
      cmocka_unit_test(test_adaptive_vs_motion),
      cmocka_unit_test(test_adaptive_static_cut),
      cmocka_unit_test(test_threshold_fade_bias),
      cmocka_unit_test(test_threshold_ceiling_and_final),
      cmocka_unit_test(test_threshold_starts_black),
      cmocka_unit_test(test_vfr_min_len_by_time),
      cmocka_unit_test(test_size_change_and_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
