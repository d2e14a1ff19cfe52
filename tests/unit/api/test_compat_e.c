/*
 * test_compat_e.c: table-driven cases for compat E's link parsing
 * (vd__api_e_parse_link): which links are refused, and which file name and
 * video id an accepted one yields (the id is what `duplicate_for` answers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api_int.h"

struct link_case {
  const char *link;
  const char *name; /* NULL: refused with VD_ERR_INVALID */
  const char *vid;
  const char *why;  /* a word the refusal must contain */
};

static const struct link_case cases[] = {
    {"https://s3.example.com/yappy/9b8b3f4e-a337-7883-aaaa-000000000001.mp4",
     "9b8b3f4e-a337-7883-aaaa-000000000001.mp4", "9b8b3f4e-a337-7883-aaaa-000000000001", NULL},
    {"http://127.0.0.1:8000/a/b/clip.final.mov?sig=1/2#t=3", "clip.final.mov", "clip.final", NULL},
    {"HTTPS://host/video", "video", "video", NULL},
    {"http://host/.hidden", ".hidden", ".hidden", NULL},
    {"ftp://host/a.mp4", NULL, NULL, "http"},
    {"file:///etc/passwd", NULL, NULL, "http"},
    {"https://host/", NULL, NULL, "no file"},
    {"https://host", NULL, NULL, "no file"},
    {"https://host?x=/a.mp4", NULL, NULL, "no file"},
    {"https:///a.mp4", NULL, NULL, "no host"},
    {"https://host/a b.mp4", NULL, NULL, "spaces"},
    {"https://host/a\n.mp4", NULL, NULL, "control"},
    {"", NULL, NULL, "bytes"},
};

static void test_links(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const struct link_case *c = &cases[i];
    char name[200] = "x", vid[129] = "x";
    struct vd_err err = {0};
    int ret = vd__api_e_parse_link(c->link, name, sizeof(name), vid, sizeof(vid), &err);
    if (c->name) {
      if (ret)
        fprintf(stderr, "case %zu (%s): %s\n", i, c->link, err.msg);
      assert_int_equal(ret, 0);
      assert_string_equal(name, c->name);
      assert_string_equal(vid, c->vid);
    } else {
      assert_int_equal(ret, VD_ERR_INVALID);
      if (!strstr(err.msg, c->why))
        fprintf(stderr, "case %zu (%s): %s\n", i, c->link, err.msg);
      assert_non_null(strstr(err.msg, c->why));
    }
  }
}

/* Lengths: the whole link, and names that do not fit the caller's buffers. */
static void test_limits(void **state) {
  (void)state;
  char link[3000], name[200], vid[16];
  struct vd_err err = {0};
  int n = snprintf(link, sizeof(link), "https://host/");
  memset(link + n, 'a', 2048 - (size_t)n - 4);
  memcpy(link + 2048 - 4, ".mp4", 5);
  assert_int_equal(strlen(link), 2048);
  assert_int_equal(vd__api_e_parse_link(link, name, sizeof(name), vid, sizeof(vid), &err),
                   VD_ERR_INVALID); /* the name is longer than `name` */
  memcpy(link + 2048, "x", 2);
  vd_err_clear(&err);
  assert_int_equal(vd__api_e_parse_link(link, name, sizeof(name), vid, sizeof(vid), &err),
                   VD_ERR_INVALID);
  assert_non_null(strstr(err.msg, "2048"));
  vd_err_clear(&err);
  assert_int_equal(vd__api_e_parse_link("http://h/0123456789abcdef.mp4", name, sizeof(name), vid,
                                        sizeof(vid), &err),
                   VD_ERR_INVALID); /* a 16-character id does not fit vid[16] */
  assert_int_equal(vd__api_e_parse_link("http://h/0123456789abcde.mp4", name, sizeof(name), vid,
                                        sizeof(vid), NULL),
                   0);
  assert_string_equal(vid, "0123456789abcde");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_links),
      cmocka_unit_test(test_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
