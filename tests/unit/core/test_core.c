/* test_core.c: error strings, timecodes, atomic file writes, mkdirs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "../helpers/testutil.h"
#include "core/err.h"
#include "core/util.h"

static void test_strerror_covers_all(void **state) {
  (void)state;
  for (int c = VD_ERR_FIRST; c <= VD_ERR_LAST; c++) {
    assert_non_null(vd_strerror(c));
    assert_string_not_equal(vd_strerror(c), "unknown error");
  }
  assert_string_equal(vd_strerror(-ENOENT), strerror(ENOENT));
  assert_string_equal(vd_strerror(0), "success");
}

static void test_err_first_wins(void **state) {
  (void)state;
  struct vd_err e;
  vd_err_clear(&e);
  assert_int_equal(vd_err_set(&e, VD_ERR_LIMIT, "first %d", 1), VD_ERR_LIMIT);
  assert_int_equal(vd_err_set(&e, VD_ERR_DECODE, "second"), VD_ERR_DECODE);
  assert_string_equal(e.msg, "first 1");
  assert_int_equal(e.code, VD_ERR_LIMIT);
  assert_string_equal(vd_err_msg(NULL, VD_ERR_EMPTY), "empty input");
  assert_int_equal(vd_err_set(NULL, VD_ERR_EMPTY, "x"), VD_ERR_EMPTY);
}

static void test_timecodes(void **state) {
  (void)state;
  static const struct {
    double s;
    const char *want;
  } tc[] = {{0, "00:00:00.000"},          {1.001, "00:00:01.001"}, {59.9996, "00:01:00.000"},
            {3661.5, "01:01:01.500"},     {-3, "00:00:00.000"},    {0.0005, "00:00:00.001"},
            {360000.25, "100:00:00.250"}};
  char buf[32];
  for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
    vd_timecode(tc[i].s, buf, sizeof(buf));
    assert_string_equal(buf, tc[i].want);
  }
  vd_timecode_smpte(0, 25, buf, sizeof(buf));
  assert_string_equal(buf, "00:00:00:00");
  vd_timecode_smpte(30, 30000.0 / 1001, buf, sizeof(buf));
  assert_string_equal(buf, "00:00:01:00");
  vd_timecode_smpte(25 * 3661 + 7, 25, buf, sizeof(buf));
  assert_string_equal(buf, "01:01:01:07");
}

static void test_files(void **state) {
  (void)state;
  const char *dir = vd_test_path("a/b/c");
  assert_int_equal(vd_mkdirs(dir), 0);
  assert_int_equal(vd_mkdirs(dir), 0); /* idempotent */
  const char *f = vd_test_path("a/b/c/x.json");
  assert_int_equal(vd_write_file_atomic(f, "{}", 2), 0);
  struct stat sb;
  assert_int_equal(stat(f, &sb), 0);
  assert_int_equal(sb.st_size, 2);
  assert_true(vd_write_file_atomic(vd_test_path("missing/x"), "a", 1) < 0);
  assert_true(vd_ncpu() >= 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strerror_covers_all),
      cmocka_unit_test(test_err_first_wins),
      cmocka_unit_test(test_timecodes),
      cmocka_unit_test(test_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
