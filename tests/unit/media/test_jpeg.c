/*
 * test_jpeg.c: thumbnails as pictures and JPEG files: a crop of a generated
 * RGB frame shrunk and converted to YUV, written as JPEG and decoded back
 * through vd_media (size and colours), a copied odd-sized YUVJ420P view,
 * the atomic write (no temp file left, no file on failure), bad arguments.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../helpers/testutil.h"
#include "media/jpeg.h"
#include "media/media.h"

struct decoded {
  int n, w, h;
  uint8_t *rgb; /* first frame, packed RGB */
};

static int grab(void *opaque, const struct vd_frame *f) {
  struct decoded *d = opaque;
  if (d->n++ == 0) {
    d->w = f->width;
    d->h = f->height;
    d->rgb = malloc((size_t)f->width * (size_t)f->height * 3);
    for (int y = 0; y < f->height; y++)
      memcpy(d->rgb + (size_t)y * (size_t)f->width * 3, f->data[0] + (size_t)y * (size_t)f->linesize[0],
             (size_t)f->width * 3);
  }
  return 0;
}

/* Decodes `path` with the pipeline into d (native size, RGB). */
static void decode(const char *path, struct decoded *d) {
  struct vd_media *m = NULL;
  struct vd_err e;
  vd_err_clear(&e);
  memset(d, 0, sizeof(*d));
  assert_int_equal(vd_media_open(&m, path, NULL, &e), 0);
  assert_int_equal(vd_media_want_video(m, &(struct vd_video_want){.fmt = VD_PIX_RGB24}, grab, d), 0);
  assert_int_equal(vd_media_run(m, NULL, NULL, &e), 0);
  vd_media_free(m);
  assert_int_equal(d->n, 1);
}

static void assert_near(const uint8_t *px, int r, int g, int b, int tol) {
  if (abs(px[0] - r) > tol || abs(px[1] - g) > tol || abs(px[2] - b) > tol)
    fail_msg("pixel %d,%d,%d, want %d,%d,%d (+-%d)", px[0], px[1], px[2], r, g, b, tol);
}

static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    n += de->d_name[0] != '.';
  closedir(d);
  return n;
}

/* A 400x200 RGB frame: left half red, right half blue, a green square at
 * (300..340, 20..60); cropping (200..400, 0..200) and shrinking to 80 px
 * gives a blue picture with the green square at (40..56, 8..24). */
static void test_crop_roundtrip(void **state) {
  (void)state;
  int W = 400, H = 200;
  uint8_t *px = malloc((size_t)W * H * 3);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      uint8_t *p = px + ((size_t)y * W + x) * 3;
      int green = x >= 300 && x < 340 && y >= 20 && y < 60;
      p[0] = !green && x < 200 ? 255 : 0;
      p[1] = green ? 255 : 0;
      p[2] = !green && x >= 200 ? 255 : 0;
    }
  struct vd_frame f = {.width = W, .height = H, .fmt = VD_PIX_RGB24, .data = {px}, .linesize = {W * 3}};
  struct vd_picture pic = {0};
  /* Asked past the frame's right edge: clamped to 200x200. */
  assert_int_equal(vd_picture_crop_rgb(&pic, &f, 200, 0, 300, 200, 80), 0);
  assert_int_equal(pic.width, 80);
  assert_int_equal(pic.height, 80);
  struct vd_frame v;
  vd_picture_view(&pic, &v);
  struct vd_err e;
  vd_err_clear(&e);
  const char *path = vd_test_path("crop.jpg");
  assert_int_equal(vd_jpeg_write(path, &v, 0, &e), 0);
  assert_int_equal(count_files(vd_test_tmpdir()), 1); /* no temp file left */
  struct decoded d;
  decode(path, &d);
  assert_int_equal(d.w, 80);
  assert_int_equal(d.h, 80);
  assert_near(d.rgb + ((size_t)70 * 80 + 10) * 3, 0, 0, 255, 40);  /* blue corner */
  assert_near(d.rgb + ((size_t)16 * 80 + 48) * 3, 0, 255, 0, 60);  /* green square */
  free(d.rgb);
  /* The crop never enlarges: a 30x20 crop stays 30x20. */
  assert_int_equal(vd_picture_crop_rgb(&pic, &f, 0, 0, 30, 20, 160), 0);
  assert_int_equal(pic.width, 30);
  assert_int_equal(pic.height, 20);
  vd_picture_view(&pic, &v);
  assert_int_equal(vd_jpeg_write(path, &v, 2, &e), 0); /* replaces the file */
  decode(path, &d);
  assert_int_equal(d.w, 30);
  assert_near(d.rgb + ((size_t)10 * 30 + 15) * 3, 255, 0, 0, 40);
  free(d.rgb);
  vd_picture_fini(&pic);
  vd_picture_fini(&pic); /* twice is fine */
  free(px);
}

/* An odd-sized YUVJ420P frame with padded rows, copied and written. */
static void test_copy_odd_size(void **state) {
  (void)state;
  int W = 33, H = 17, ls = 48, ch = 9;
  uint8_t *y = malloc((size_t)ls * H), *u = malloc((size_t)ls * ch), *vv = malloc((size_t)ls * ch);
  memset(y, 200, (size_t)ls * H);
  memset(u, 128, (size_t)ls * ch);
  memset(vv, 128, (size_t)ls * ch);
  struct vd_frame f = {.width = W, .height = H, .fmt = VD_PIX_YUVJ420P, .data = {y, u, vv},
                       .linesize = {ls, ls, ls}};
  struct vd_picture pic = {0};
  assert_int_equal(vd_picture_copy(&pic, &f), 0);
  free(y);
  free(u);
  free(vv);
  struct vd_frame v;
  vd_picture_view(&pic, &v);
  assert_int_equal(v.linesize[0], 33);
  assert_int_equal(v.linesize[1], 17);
  struct vd_err e;
  vd_err_clear(&e);
  const char *path = vd_test_path("odd.jpg");
  assert_int_equal(vd_jpeg_write(path, &v, 0, &e), 0);
  struct decoded d;
  decode(path, &d);
  assert_int_equal(d.w, 33);
  assert_int_equal(d.h, 17);
  assert_near(d.rgb + ((size_t)8 * 33 + 16) * 3, 200, 200, 200, 8);
  free(d.rgb);
  vd_picture_fini(&pic);
}

static void test_bad_arguments(void **state) {
  (void)state;
  uint8_t px[12 * 12 * 3] = {0};
  struct vd_frame rgb = {.width = 12, .height = 12, .fmt = VD_PIX_RGB24, .data = {px}, .linesize = {36}};
  struct vd_picture pic = {0};
  struct vd_err e;
  vd_err_clear(&e);
  /* Wrong formats, a rectangle outside the frame, no size. */
  assert_int_equal(vd_picture_copy(&pic, &rgb), VD_ERR_INVALID);
  assert_int_equal(vd_jpeg_write(vd_test_path("x.jpg"), &rgb, 0, &e), VD_ERR_INVALID);
  assert_int_equal(vd_picture_crop_rgb(&pic, &rgb, 20, 0, 5, 5, 160), VD_ERR_INVALID);
  assert_int_equal(vd_picture_crop_rgb(&pic, &rgb, 0, 0, 5, 5, 0), VD_ERR_INVALID);
  assert_null(pic.buf);
  /* An unwritable path: an error naming it, no file. */
  assert_int_equal(vd_picture_crop_rgb(&pic, &rgb, 0, 0, 12, 12, 160), 0);
  struct vd_frame v;
  vd_picture_view(&pic, &v);
  assert_int_equal(vd_jpeg_write(vd_test_path("x.jpg"), &v, 32, &e), VD_ERR_INVALID);
  const char *bad = vd_test_path("no/such/dir/x.jpg");
  vd_err_clear(&e);
  assert_int_equal(vd_jpeg_write(bad, &v, 0, &e), VD_ERR_ENCODE);
  assert_non_null(strstr(vd_err_msg(&e, e.code), "no/such/dir/x.jpg"));
  assert_int_equal(access(bad, F_OK), -1);
  vd_picture_fini(&pic);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crop_roundtrip),
      cmocka_unit_test(test_copy_odd_size),
      cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
