/*
 * test_media.c: the decode-once pipeline: frame counts and timestamps,
 * rate sampling, shared conversions, pixel formats (HSV against OpenCV's
 * definition), scaling, rotation, audio resampling, limits, bad input and
 * cancellation. Media is generated with ffmpeg's lavfi sources.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../helpers/testutil.h"
#include "media/media.h"

struct collect {
  int n;
  double times[512];
  int64_t index[512];
  uint8_t *data0[512];
  int w, h;
  uint8_t px[3]; /* first pixel of the first frame */
  double mean0;  /* mean of plane 0 bytes of the last frame */
};

static int collect_cb(void *opaque, const struct vd_frame *f) {
  struct collect *c = opaque;
  if (c->n < 512) {
    c->times[c->n] = f->time;
    c->index[c->n] = f->index;
    c->data0[c->n] = f->data[0];
  }
  if (c->n == 0)
    memcpy(c->px, f->data[0], (size_t)(vd_pix_bpp(f->fmt) ? vd_pix_bpp(f->fmt) : 1));
  c->n++;
  c->w = f->width;
  c->h = f->height;
  return 0;
}

static const char *clip(void) {
  static int made;
  const char *p = vd_test_path("clip.mp4");
  if (!made) {
    /* 2 s, 25 fps, B-frames (x264 default), 48 kHz stereo audio. */
    assert_int_equal(vd_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25:duration=2 "
                                    "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=2 "
                                    "-ac 2 -c:v libx264 -preset ultrafast -bf 2 -c:a aac -shortest %s",
                                    p),
                     0);
    made = 1;
  }
  return p;
}

static void open_ok(struct vd_media **m, const char *path) {
  struct vd_err e;
  vd_err_clear(&e);
  int r = vd_media_open(m, path, NULL, &e);
  if (r < 0)
    fail_msg("open %s: %s", path, vd_err_msg(&e, r));
}

/* Opens `path` and collects, in one pass, every frame `w` delivers; returns
 * the handle, since the collected views live until vd_media_free(). */
static struct vd_media *collect_run(const char *path, const struct vd_video_want *w,
                                    struct collect *c) {
  struct vd_media *m;
  open_ok(&m, path);
  assert_int_equal(vd_media_want_video(m, w, collect_cb, c), 0);
  assert_int_equal(vd_media_run(m, NULL, NULL, NULL), 0);
  return m;
}

static void test_every_frame_in_order(void **state) {
  (void)state;
  struct vd_media *m;
  open_ok(&m, clip());
  const struct vd_media_info *in = vd_media_info(m);
  assert_true(in->video >= 0);
  assert_true(in->audio >= 0);
  assert_int_equal(in->streams[in->video].width, 320);
  struct collect c = {0};
  struct vd_video_want w = {.fmt = VD_PIX_GRAY8};
  assert_int_equal(vd_media_want_video(m, &w, collect_cb, &c), 0);
  assert_int_equal(vd_media_run(m, NULL, NULL, NULL), 0);
  assert_int_equal(c.n, 50);
  assert_int_equal(c.w, 320);
  assert_int_equal(c.h, 240);
  for (int i = 0; i < c.n; i++) {
    assert_int_equal(c.index[i], i);
    assert_true(fabs(c.times[i] - i / 25.0) < 1e-3);
  }
  assert_int_equal(vd_media_decoded_frames(m), 50);
  assert_false(vd_media_incomplete(m));
  vd_media_free(m);
}

static void test_rate_sampling_and_shared_views(void **state) {
  (void)state;
  struct vd_media *m;
  open_ok(&m, clip());
  struct collect a = {0}, b = {0}, k = {0};
  struct vd_video_want w5 = {.fps = 5, .max_side = 160, .fmt = VD_PIX_RGB24};
  struct vd_video_want wall = {.max_side = 160, .fmt = VD_PIX_RGB24};
  struct vd_video_want wkey = {.keyframes_only = 1, .fmt = VD_PIX_GRAY8};
  assert_int_equal(vd_media_want_video(m, &w5, collect_cb, &a), 0);
  assert_int_equal(vd_media_want_video(m, &wall, collect_cb, &b), 0);
  assert_int_equal(vd_media_want_video(m, &wkey, collect_cb, &k), 0);
  assert_int_equal(vd_media_run(m, NULL, NULL, NULL), 0);
  assert_int_equal(a.n, 10);
  for (int i = 0; i < a.n; i++)
    assert_true(fabs(a.times[i] - i * 0.2) < 0.021);
  assert_int_equal(b.n, 50);
  assert_int_equal(a.w, 160);
  assert_int_equal(a.h, 120);
  /* Same (size, format): one conversion, so the same buffer. */
  assert_ptr_equal(a.data0[1], b.data0[5]);
  assert_true(k.n >= 1 && k.n < 50);
  vd_media_free(m);
}

static void test_hsv_matches_opencv(void **state) {
  (void)state;
  /* Lossless BGR video so the pixel values are exact. */
  static const struct {
    const char *color;
    uint8_t h, s, v;
  } cases[] = {
      {"0xFF0000", 0, 255, 255},   /* red */
      {"0x00FF00", 60, 255, 255},  /* green */
      {"0x0000FF", 120, 255, 255}, /* blue */
      {"0x808080", 0, 0, 128},     /* grey */
      {"0xFF8000", 15, 255, 255},  /* orange: 30 deg / 2 */
      {"0x336699", 105, 170, 153}, /* OpenCV cvtColor gives (105, 170, 153) */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *p = vd_test_path("color.nut");
    assert_int_equal(vd_test_ffmpeg("-f lavfi -i color=c=%s:size=64x48:rate=5:duration=0.4,format=bgr24 "
                                    "-c:v rawvideo -pix_fmt bgr24 %s",
                                    cases[i].color, p),
                     0);
    struct collect c = {0};
    struct vd_video_want w = {.fmt = VD_PIX_HSV24};
    struct vd_media *m = collect_run(p, &w, &c);
    assert_true(c.n >= 1);
    if (c.px[0] != cases[i].h || c.px[1] != cases[i].s || c.px[2] != cases[i].v)
      fail_msg("%s: got HSV (%d,%d,%d), want (%d,%d,%d)", cases[i].color, c.px[0], c.px[1],
               c.px[2], cases[i].h, cases[i].s, cases[i].v);
    vd_media_free(m);
  }
}

static void test_cv_resize_samples_like_opencv(void **state) {
  (void)state;
  /* A 4x2 grey frame whose rows are 0,100,200,250. OpenCV INTER_LINEAR to
   * 2x1 samples x = 0.5 and 2.5: (0+100)/2 = 50 and (200+250)/2 = 225. */
  const char *raw = vd_test_path("g.raw"), *p = vd_test_path("g.nut");
  FILE *f = fopen(raw, "wb");
  static const uint8_t px[8] = {0, 100, 200, 250, 0, 100, 200, 250};
  fwrite(px, 1, sizeof(px), f);
  fclose(f);
  assert_int_equal(vd_test_ffmpeg("-f rawvideo -pix_fmt gray -s 4x2 -r 1 -i %s -c:v rawvideo "
                                  "-pix_fmt gray %s",
                                  raw, p),
                   0);
  struct collect c = {0};
  struct vd_video_want w = {.width = 2, .height = 1, .fmt = VD_PIX_GRAY8, .cv_resize = 1};
  struct vd_media *m = collect_run(p, &w, &c);
  assert_int_equal(c.n, 1);
  assert_int_equal(c.data0[0][0], 50);
  assert_int_equal(c.data0[0][1], 225);
  vd_media_free(m);
  /* Planar formats have no OpenCV counterpart: refused. */
  open_ok(&m, p);
  struct vd_video_want bad = {.fmt = VD_PIX_YUV420P, .cv_resize = 1};
  struct collect d = {0};
  assert_int_equal(vd_media_want_video(m, &bad, collect_cb, &d), VD_ERR_INVALID);
  vd_media_free(m);
}

/* Grey at the source size comes straight from the luma plane: a ramp
 * 0..255 stored limited-range (Y = 16 + 219 v / 255) and full-range
 * (Y = v, tagged so) reads back as the ramp. */
static void test_gray_from_luma(void **state) {
  (void)state;
  const char *raw = vd_test_path("ramp.raw");
  FILE *f = fopen(raw, "wb");
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 256; x++)
      fputc(x, f);
  fclose(f);
  /* ffv1 is lossless; the second file is tagged full range (color_range pc) */
  const char *how[2] = {"-pix_fmt yuv420p", "-vf scale=out_range=full,format=yuv420p -color_range pc"};
  for (int k = 0; k < 2; k++) {
    const char *p = vd_test_path(k ? "ramp-full.mkv" : "ramp.mkv");
    assert_int_equal(vd_test_ffmpeg("-f rawvideo -pix_fmt gray -s 256x4 -r 1 -i %s %s -c:v ffv1 %s",
                                    raw, how[k], p), 0);
    struct collect c = {0};
    struct vd_video_want w = {.fmt = VD_PIX_GRAY8};
    struct vd_media *m = collect_run(p, &w, &c);
    assert_int_equal(c.n, 1);
    for (int x = 0; x < 256; x++)
      if (abs(c.data0[0][x] - x) > (k ? 0 : 1))
        fail_msg("%s range: grey %d reads back as %d", k ? "full" : "limited", x, c.data0[0][x]);
    vd_media_free(m);
  }
}

static void test_rotation(void **state) {
  (void)state;
  const char *src = vd_test_path("unrot.mp4"), *p = vd_test_path("rot.mp4");
  assert_int_equal(vd_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=10:duration=0.5 "
                                  "-c:v libx264 -preset ultrafast %s",
                                  src),
                   0);
  /* The rotate tag becomes a display matrix when remuxed into MP4. */
  assert_int_equal(vd_test_ffmpeg("-i %s -c copy -metadata:s:v:0 rotate=90 %s", src, p), 0);
  struct vd_media *m;
  open_ok(&m, p);
  const struct vd_media_info *in = vd_media_info(m);
  int rot = in->streams[in->video].rotation;
  assert_true(rot == 90 || rot == 270);
  assert_int_equal(in->display_width, 240);
  assert_int_equal(in->display_height, 320);
  struct collect up = {0}, coded = {0};
  struct vd_video_want w = {.fmt = VD_PIX_RGB24};
  struct vd_video_want wc = {.fmt = VD_PIX_RGB24, .no_rotate = 1};
  assert_int_equal(vd_media_want_video(m, &w, collect_cb, &up), 0);
  assert_int_equal(vd_media_want_video(m, &wc, collect_cb, &coded), 0);
  assert_int_equal(vd_media_run(m, NULL, NULL, NULL), 0);
  assert_int_equal(up.w, 240);
  assert_int_equal(up.h, 320);
  assert_int_equal(coded.w, 320);
  assert_int_equal(coded.h, 240);
  vd_media_free(m);
}

struct acollect {
  int64_t samples;
  int channels, rate;
  double first_time;
  int n;
};

static int audio_cb(void *opaque, const struct vd_audio_chunk *a) {
  struct acollect *c = opaque;
  if (c->n++ == 0)
    c->first_time = a->time;
  c->samples += a->nb_samples;
  c->channels = a->channels;
  c->rate = a->sample_rate;
  return 0;
}

static void test_audio_resample(void **state) {
  (void)state;
  struct vd_media *m;
  open_ok(&m, clip());
  struct acollect mono = {0}, native = {0};
  struct vd_audio_want w16 = {.sample_rate = 16000, .mono = 1}, wn = {0};
  assert_int_equal(vd_media_want_audio(m, &w16, audio_cb, &mono), 0);
  assert_int_equal(vd_media_want_audio(m, &wn, audio_cb, &native), 0);
  assert_int_equal(vd_media_run(m, NULL, NULL, NULL), 0);
  assert_int_equal(mono.channels, 1);
  assert_int_equal(mono.rate, 16000);
  assert_true(llabs(mono.samples - 32000) < 1600); /* ~2 s, AAC priming aside */
  assert_int_equal(native.channels, 2);
  assert_int_equal(native.rate, 48000);
  assert_true(fabs(mono.first_time) < 0.05);
  vd_media_free(m);
}

static void test_late_video_start(void **state) {
  (void)state;
  const char *p = vd_test_path("late.mkv");
  /* Audio from 0 s, video from 1 s. */
  assert_int_equal(vd_test_ffmpeg("-f lavfi -i sine=sample_rate=16000:duration=3 -itsoffset 1 "
                                  "-f lavfi -i testsrc2=size=160x120:rate=10:duration=2 "
                                  "-map 0:a -map 1:v -c:v libx264 -preset ultrafast -c:a flac %s",
                                  p),
                   0);
  struct collect c = {0};
  struct vd_video_want w = {.fmt = VD_PIX_GRAY8};
  struct vd_media *m = collect_run(p, &w, &c);
  assert_int_equal(c.n, 20);
  assert_true(fabs(c.times[0] - 1.0) < 0.02);
  vd_media_free(m);
}

static void test_bad_inputs(void **state) {
  (void)state;
  struct vd_media *m = NULL;
  struct vd_err e;
  const char *empty = vd_test_path("empty.mp4");
  FILE *f = fopen(empty, "w");
  fclose(f);
  vd_err_clear(&e);
  assert_int_equal(vd_media_open(&m, empty, NULL, &e), VD_ERR_EMPTY);
  assert_null(m);
  assert_non_null(strstr(e.msg, "empty"));

  const char *txt = vd_test_path("notes.txt");
  f = fopen(txt, "w");
  fputs("this is plain text, not a video\n", f);
  fclose(f);
  vd_err_clear(&e);
  assert_int_equal(vd_media_open(&m, txt, NULL, &e), VD_ERR_NOT_MEDIA);

  vd_err_clear(&e);
  assert_int_equal(vd_media_open(&m, vd_test_path("missing.mp4"), NULL, &e), -ENOENT);

  vd_err_clear(&e);
  assert_int_equal(vd_media_open(&m, vd_test_tmpdir(), NULL, &e), VD_ERR_NOT_MEDIA);

  struct vd_media_limits lim;
  vd_media_limits_default(&lim);
  lim.max_width = 100;
  vd_err_clear(&e);
  assert_int_equal(vd_media_open(&m, clip(), &lim, &e), VD_ERR_LIMIT);
  assert_non_null(strstr(e.msg, "320x240"));
  /* A WAV header declaring 1.76 GHz: refused before any resampler exists. */
  const char *wav = vd_test_path("fast.wav");
  assert_int_equal(vd_test_ffmpeg("-f lavfi -i sine=duration=0.1 %s", wav), 0);
  f = fopen(wav, "r+b");
  fseek(f, 24, SEEK_SET);
  static const uint8_t rate[4] = {0x40, 0x00, 0x00, 0x69}; /* 0x69000040 Hz */
  fwrite(rate, 1, 4, f);
  fclose(f);
  vd_err_clear(&e);
  assert_int_equal(vd_media_open(&m, wav, NULL, &e), VD_ERR_LIMIT);
  assert_non_null(strstr(e.msg, "Hz"));

  vd_media_limits_default(&lim);
  lim.max_duration = 1;
  vd_err_clear(&e);
  assert_int_equal(vd_media_open(&m, clip(), &lim, &e), VD_ERR_LIMIT);
}

static int cancel_at_half(void *opaque, double frac) {
  (void)opaque;
  return frac > 0.5;
}

static void test_cancel(void **state) {
  (void)state;
  struct vd_media *m;
  open_ok(&m, clip());
  struct collect c = {0};
  struct vd_video_want w = {.fmt = VD_PIX_GRAY8};
  assert_int_equal(vd_media_want_video(m, &w, collect_cb, &c), 0);
  assert_int_equal(vd_media_run(m, cancel_at_half, NULL, NULL), VD_ERR_CANCELED);
  assert_true(c.n < 50);
  vd_media_free(m);
}

static void test_truncated_keeps_decoded(void **state) {
  (void)state;
  const char *full = vd_test_path("long.mkv"), *cut = vd_test_path("cut.mkv");
  assert_int_equal(vd_test_ffmpeg("-f lavfi -i testsrc2=size=160x120:rate=25:duration=8 "
                                  "-c:v libx264 -preset ultrafast %s",
                                  full),
                   0);
  char cmd[1200];
  snprintf(cmd, sizeof(cmd), "head -c $(( $(stat -c %%s %s) / 2 )) %s > %s", full, full, cut);
  assert_int_equal(system(cmd), 0);
  struct collect c = {0};
  struct vd_video_want w = {.fmt = VD_PIX_GRAY8};
  struct vd_media *m = collect_run(cut, &w, &c);
  assert_true(c.n > 20 && c.n < 200);
  assert_true(vd_media_incomplete(m));
  assert_true(vd_media_warning_count(m) >= 1);
  vd_media_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_frame_in_order),
      cmocka_unit_test(test_rate_sampling_and_shared_views),
      cmocka_unit_test(test_hsv_matches_opencv),
      cmocka_unit_test(test_cv_resize_samples_like_opencv),
      cmocka_unit_test(test_gray_from_luma),
      cmocka_unit_test(test_rotation),
      cmocka_unit_test(test_audio_resample),
      cmocka_unit_test(test_late_video_start),
      cmocka_unit_test(test_bad_inputs),
      cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_truncated_keeps_decoded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
