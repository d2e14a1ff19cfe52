/*
 * test_storylines.c: the storylines clustering on made-up similarity
 * matrices: average linkage to a fixed count, cross-cut items (A-B-A-B)
 * grouped by similarity rather than adjacency, k capped at n, the
 * automatic threshold rule, average (not single) linkage resisting a chain,
 * cluster numbering by first item, and the input left untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "analyze/storylines.h"

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
  assert_int_equal(vd_storylines_cluster(s, 6, 2, 0.5, label), 2);
  const int want[6] = {0, 1, 0, 1, 0, 1};
  assert_memory_equal(label, want, sizeof(want));
  assert_memory_equal(s, copy, sizeof(s));
  assert_int_equal(vd_storylines_cluster(s, 6, 0, 0.5, label), 2);
  assert_memory_equal(label, want, sizeof(want));
  assert_int_equal(vd_storylines_cluster(s, 6, 1, 0.5, label), 1);
  for (int i = 0; i < 6; i++)
    assert_int_equal(label[i], 0);
}

static void test_cap_and_single(void **state) {
  (void)state;
  const int g[3] = {0, 1, 2};
  double s[9];
  int label[3];
  two_level(s, g, 3, 1, 0.2);
  assert_int_equal(vd_storylines_cluster(s, 3, 50, 0.5, label), 3);
  for (int i = 0; i < 3; i++)
    assert_int_equal(label[i], i);
  double one = 1;
  int l1 = 7;
  assert_int_equal(vd_storylines_cluster(&one, 1, 3, 0.5, &l1), 1);
  assert_int_equal(l1, 0);
  assert_int_equal(vd_storylines_cluster(&one, 1, 0, 0.5, &l1), 1);
  assert_int_equal(vd_storylines_cluster(NULL, 0, 3, 0.5, NULL), 0);
}

/* Automatic: everything alike gives one group; nothing alike keeps all. */
static void test_threshold(void **state) {
  (void)state;
  const int g[4] = {0, 0, 0, 0};
  double s[16];
  int label[4];
  two_level(s, g, 4, 0.7, 0.7);
  assert_int_equal(vd_storylines_cluster(s, 4, 0, 0.5, label), 1);
  assert_int_equal(vd_storylines_cluster(s, 4, 0, 0.75, label), 4);
  /* three groups of sizes 1, 2, 1 in the order c a b a */
  const int h[4] = {2, 0, 1, 0};
  two_level(s, h, 4, 0.9, 0.3);
  assert_int_equal(vd_storylines_cluster(s, 4, 0, 0.5, label), 3);
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
  int nc = vd_storylines_cluster(s, 4, 0, 0.5, label);
  assert_int_equal(nc, 2);
  const int want[4] = {0, 0, 1, 1};
  assert_memory_equal(label, want, sizeof(want));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cross_cut),
      cmocka_unit_test(test_cap_and_single),
      cmocka_unit_test(test_threshold),
      cmocka_unit_test(test_average_not_single),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
