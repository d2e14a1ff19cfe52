/*
 * test_transcript_nops.c: a vidan built without pocketsphinx. This test
 * compiles the stub half of transcript_ps.c into itself (the library's copy
 * is then never linked in), so the transcript analysis runs as it would in
 * such a build: it must refuse to start, naming the packages to install,
 * and not crash; with another analysis beside it, the run fails the same
 * way (a missing library is not a property of the file to skip over).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../helpers/testutil.h"
#include "analyze/analyze.h"

#undef VD_HAVE_POCKETSPHINX
#include "../../../src/analyze/transcript_ps.c"

static void run_expect_refusal(const char *const *names, size_t n) {
  const char *wav = vd_test_path("tone.wav");
  struct vd_run_opts o = {.input = wav, .analyses = names, .n_analyses = n};
  struct vd_run *r = NULL;
  struct vd_err err;
  vd_err_clear(&err);
  assert_int_equal(vd_run_new(&r, &o, &err), 0);
  json_t *res = NULL;
  int ret = vd_run_exec(r, &res, &err);
  assert_int_equal(ret, VD_ERR_UNSUPPORTED);
  assert_null(res);
  const char *msg = vd_err_msg(&err, ret);
  assert_non_null(strstr(msg, "built without pocketsphinx"));
  assert_non_null(strstr(msg, "libpocketsphinx-dev"));
  assert_non_null(strstr(msg, "pocketsphinx-en-us"));
  vd_run_free(r);
}

static void test_refuses(void **state) {
  (void)state;
  assert_int_equal(vd_ps_available(), 0);
  assert_int_equal(vd_test_ffmpeg("-f lavfi -i sine=d=1:sample_rate=16000 '%s'",
                                  vd_test_path("tone.wav")),
                   0);
  const char *alone[] = {"transcript"};
  run_expect_refusal(alone, 1);
  const char *with_probe[] = {"probe", "transcript"};
  run_expect_refusal(with_probe, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_refuses)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
