/*
 * test_remux.c: the two output paths of src/media used by clips.
 * - encode: frames and audio written with vd_encoder come back through the
 *   decode pipeline with the same count, colours, times and audio length.
 * - remux: a stream-copy cut starts on the keyframe at or before the asked
 *   start (known here: GOP of 20 frames), holds every frame up to the end
 *   and none after, and rebases timestamps to 0.
 * - bad arguments are refused with VD_ERR_INVALID / VD_ERR_NOT_MEDIA.
 * The input is made with vd_encoder itself: 100 frames at 25 fps, red for
 * frames 0-49 and blue for 50-99, with 4 s of a 48 kHz mono tone.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../helpers/testutil.h"
#include "media/encode.h"
#include "media/media.h"
#include "media/remux.h"

#define W 64
#define H 48
#define FPS 25
#define NFRAMES 100
#define RATE 48000

/* A solid YUV420P frame: red or blue. */
static void fill(struct vd_frame *f, uint8_t *buf, int blue) {
  memset(f, 0, sizeof(*f));
  f->width = W;
  f->height = H;
  f->fmt = VD_PIX_YUV420P;
  f->data[0] = buf;
  f->data[1] = buf + W * H;
  f->data[2] = buf + W * H + W * H / 4;
  f->linesize[0] = W;
  f->linesize[1] = f->linesize[2] = W / 2;
  memset(f->data[0], blue ? 41 : 81, W * H);
  memset(f->data[1], blue ? 240 : 90, W * H / 4);
  memset(f->data[2], blue ? 110 : 240, W * H / 4);
}

static const char *make_input(void) {
  static char path[512];
  if (path[0])
    return path;
  snprintf(path, sizeof(path), "%s", vd_test_path("in.mp4"));
  struct vd_encoder_opts o = {.width = W, .height = H, .fps = FPS, .sample_rate = RATE,
                              .channels = 1, .gop = 20, .preset = "ultrafast"};
  struct vd_encoder *e = NULL;
  struct vd_err err;
  vd_err_clear(&err);
  assert_int_equal(vd_encoder_new(&e, path, &o, &err), 0);
  static uint8_t buf[W * H * 3 / 2];
  static float tone[RATE / FPS];
  for (int i = 0; i < NFRAMES; i++) {
    struct vd_frame f;
    fill(&f, buf, i >= 50);
    assert_int_equal(vd_encoder_video(e, &f, i / (double)FPS, &err), 0);
    for (int k = 0; k < RATE / FPS; k++)
      tone[k] = 0.25f * (float)sin(2 * M_PI * 440.0 * (i * (RATE / FPS) + k) / RATE);
    assert_int_equal(vd_encoder_audio(e, tone, RATE / FPS, i / (double)FPS, &err), 0);
  }
  assert_int_equal(vd_encoder_frames(e), NFRAMES);
  assert_int_equal(vd_encoder_finish(e, &err), 0);
  vd_encoder_free(e);
  return path;
}

struct seen {
  int n;
  char colour[NFRAMES + 8];  /* 'R' or 'B' per frame */
  double first_t, last_t;
  int first_key;
  int64_t samples;
};

static int on_video(void *opaque, const struct vd_frame *f) {
  struct seen *s = opaque;
  const uint8_t *p = f->data[0] + (size_t)(f->height / 2) * (size_t)f->linesize[0] + 3 * (f->width / 2);
  if (s->n == 0) {
    s->first_t = f->time;
    s->first_key = f->key;
  }
  s->last_t = f->time;
  if (s->n < NFRAMES + 7)
    s->colour[s->n] = p[0] > p[2] ? 'R' : 'B';
  s->n++;
  return 0;
}

static int on_audio(void *opaque, const struct vd_audio_chunk *a) {
  ((struct seen *)opaque)->samples += a->nb_samples;
  return 0;
}

static void decode(const char *path, struct seen *s) {
  struct vd_media *m = NULL;
  struct vd_err err;
  vd_err_clear(&err);
  memset(s, 0, sizeof(*s));
  assert_int_equal(vd_media_open(&m, path, NULL, &err), 0);
  struct vd_video_want vw = {.fmt = VD_PIX_RGB24};
  struct vd_audio_want aw = {0};
  assert_int_equal(vd_media_want_video(m, &vw, on_video, s), 0);
  assert_int_equal(vd_media_want_audio(m, &aw, on_audio, s), 0);
  assert_int_equal(vd_media_run(m, NULL, NULL, &err), 0);
  vd_media_free(m);
}

static void test_encode_roundtrip(void **state) {
  (void)state;
  struct seen s;
  decode(make_input(), &s);
  assert_int_equal(s.n, NFRAMES);
  for (int i = 0; i < NFRAMES; i++)
    assert_int_equal(s.colour[i], i < 50 ? 'R' : 'B');
  assert_true(fabs(s.first_t) < 1e-3);
  assert_true(fabs(s.last_t - (NFRAMES - 1) / (double)FPS) < 1e-3);
  /* 4 s of audio, give or take the AAC priming and the padded last frame. */
  assert_true(llabs(s.samples - 4 * RATE) <= 2048);
}

static void cut(double t0, double t1, const char *name, struct vd_remux_clip *rc) {
  struct vd_remux *rx = NULL;
  struct vd_err err;
  vd_err_clear(&err);
  assert_int_equal(vd_remux_open(&rx, make_input(), &err), 0);
  assert_string_equal(vd_remux_ext(rx), "mp4");
  assert_int_equal(vd_remux_cut(rx, t0, t1, vd_test_path(name), rc, NULL, NULL, &err), 0);
  vd_remux_free(rx);
}

static void test_cut_on_keyframe(void **state) {
  (void)state;
  /* Frames 25..74 asked; the GOP puts the last keyframe before 25 at 20. */
  struct vd_remux_clip rc;
  cut(1.0, 3.0, "mid.mp4", &rc);
  assert_true(fabs(rc.start - 0.8) < 1e-3);
  assert_true(fabs(rc.end - 3.0) < 1e-3);
  assert_int_equal(rc.video_packets, 55);
  struct seen s;
  decode(vd_test_path("mid.mp4"), &s);
  assert_int_equal(s.n, 55); /* frames 20..74: 30 red, 25 blue */
  assert_true(s.first_key);
  assert_true(fabs(s.first_t) < 1e-3);
  for (int i = 0; i < 55; i++)
    assert_int_equal(s.colour[i], i < 30 ? 'R' : 'B');
  /* The audio follows the video: about 2.2 s of it. */
  assert_true(llabs(s.samples - (int64_t)(2.2 * RATE)) <= 2048);
}

static void test_cut_whole_and_tail(void **state) {
  (void)state;
  struct vd_remux_clip rc;
  cut(0.0, NFRAMES / (double)FPS, "all.mp4", &rc);
  assert_true(fabs(rc.start) < 1e-3);
  assert_int_equal(rc.video_packets, NFRAMES);
  /* A tail that ends past the end of the file stops at the end. */
  cut(3.5, 100.0, "tail.mp4", &rc);
  assert_true(rc.start <= 3.5 + 1e-3 && rc.start >= 3.5 - 20.0 / FPS - 1e-3);
  struct seen s;
  decode(vd_test_path("tail.mp4"), &s);
  assert_int_equal(s.n, (int)rc.video_packets);
  assert_int_equal(s.n, NFRAMES - (int)lround(rc.start * FPS));
  assert_int_equal(s.colour[s.n - 1], 'B');
}

static void test_bad_arguments(void **state) {
  (void)state;
  struct vd_err err;
  vd_err_clear(&err);
  struct vd_encoder *e = NULL;
  struct vd_encoder_opts odd = {.width = 63, .height = 48, .fps = 25};
  assert_int_equal(vd_encoder_new(&e, vd_test_path("odd.mp4"), &odd, &err), VD_ERR_INVALID);
  assert_null(e);
  struct vd_encoder_opts nofps = {.width = 64, .height = 48, .fps = 0};
  assert_int_equal(vd_encoder_new(&e, vd_test_path("nofps.mp4"), &nofps, &err), VD_ERR_INVALID);

  struct vd_remux *rx = NULL;
  const char *txt = vd_test_path("text.mp4");
  FILE *f = fopen(txt, "w");
  assert_non_null(f);
  fputs("not a video at all\n", f);
  fclose(f);
  vd_err_clear(&err);
  assert_int_equal(vd_remux_open(&rx, txt, &err), VD_ERR_NOT_MEDIA);
  assert_null(rx);
  assert_non_null(strstr(err.msg, "text.mp4"));

  struct vd_remux_clip rc;
  vd_err_clear(&err);
  assert_int_equal(vd_remux_open(&rx, make_input(), &err), 0);
  assert_int_equal(vd_remux_cut(rx, 2.0, 1.0, vd_test_path("bad.mp4"), &rc, NULL, NULL, &err),
                   VD_ERR_INVALID);
  assert_int_equal(access(vd_test_path("bad.mp4"), F_OK), -1);
  vd_remux_free(rx);
  vd_remux_free(NULL);
  vd_encoder_free(NULL);
}

static int cancel_at_once(void *opaque, double frac) {
  (void)opaque;
  (void)frac;
  return 1;
}

static void test_cut_cancel_removes_file(void **state) {
  (void)state;
  struct vd_remux *rx = NULL;
  struct vd_remux_clip rc;
  struct vd_err err;
  vd_err_clear(&err);
  assert_int_equal(vd_remux_open(&rx, make_input(), &err), 0);
  assert_int_equal(vd_remux_cut(rx, 0.0, 4.0, vd_test_path("cancel.mp4"), &rc, cancel_at_once,
                                NULL, &err),
                   VD_ERR_CANCELED);
  assert_int_equal(access(vd_test_path("cancel.mp4"), F_OK), -1);
  vd_remux_free(rx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encode_roundtrip),
      cmocka_unit_test(test_cut_on_keyframe),
      cmocka_unit_test(test_cut_whole_and_tail),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_cut_cancel_removes_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
