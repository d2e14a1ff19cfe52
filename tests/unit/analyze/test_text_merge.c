/*
 * test_text_merge.c: the pure half of the `text` analysis on made-up OCR
 * readings: which words are noise, the normalised edit distance, merging
 * consecutive alike readings into segments (best reading kept, one missed
 * sample bridged, two not, end clamped to the video), and the `lang` checks
 * of the OCR wrapper (bad names and missing languages are clear errors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/text_merge.h"
#include "analyze/text_ocr.h"
#include "core/err.h"

static void test_word_ok(void **state) {
  (void)state;
  static const struct {
    const char *w;
    int ok;
  } cases[] = {
      {"HELLO", 1}, {"42", 1},    {"HELLO,", 1}, {"C++", 0},     {"a", 1},    {"x.", 1},
      {"|", 0},     {"._", 0},    {"%;:", 0},    {"", 0},        {"—", 0},    {"-a-", 0},
      {"é", 1},     {"Straße", 1}, {"(c)", 0},   {"'s", 1},      {"\"\"", 0}, {"«»", 0}, {"•", 0}, {"it's", 1}, {"Ωmega", 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    if (vd_text_word_ok(cases[i].w) != cases[i].ok)
      fail_msg("word \"%s\": expected %d", cases[i].w, cases[i].ok);
  }
}

static void test_distance(void **state) {
  (void)state;
  assert_true(vd_text_distance("", "") == 0);
  assert_true(vd_text_distance("abc", "") == 1);
  assert_true(vd_text_distance("", "abc") == 1);
  assert_true(vd_text_distance("HELLO WORLD", "HELLO WORLD") == 0);
  assert_true(fabs(vd_text_distance("HELLO WORLD", "HELLO W0RLD") - 1.0 / 11) < 1e-9);
  assert_true(fabs(vd_text_distance("HELLO WORLD", "HELLO WORLD.") - 1.0 / 12) < 1e-9);
  assert_true(fabs(vd_text_distance("kitten", "sitting") - 3.0 / 7) < 1e-9);
  assert_true(vd_text_distance("HELLO WORLD", "Second caption 42") > 0.5);
  /* "the same place" */
  const float big[4] = {0.1f, 0.1f, 0.5f, 0.1f}, inside[4] = {0.2f, 0.12f, 0.1f, 0.05f};
  const float edge[4] = {0.55f, 0.1f, 0.2f, 0.1f}, apart[4] = {0.1f, 0.5f, 0.5f, 0.1f};
  assert_true(vd_text_boxes_overlap(big, inside) && vd_text_boxes_overlap(inside, big));
  assert_false(vd_text_boxes_overlap(big, edge)); /* 0.05 of 0.2 wide: 25% */
  assert_false(vd_text_boxes_overlap(big, apart));
  /* symmetric */
  assert_true(vd_text_distance("abcd", "xbcdy") == vd_text_distance("xbcdy", "abcd"));
  /* long texts are cut, not refused */
  char *a = malloc(10001), *b = malloc(10001);
  memset(a, 'a', 10000);
  memset(b, 'a', 10000);
  a[10000] = b[10000] = '\0';
  b[9999] = 'b'; /* beyond the compared part */
  assert_true(vd_text_distance(a, b) == 0);
  free(a);
  free(b);
}

/* A reading at `time` of up to 3 lines; NULL lines end the list. */
static struct vd_text_sample reading(double time, float conf, const char *l0, const char *l1) {
  struct vd_text_sample s = {.time = time};
  const char *src[2] = {l0, l1};
  s.lines = calloc(2, sizeof(*s.lines));
  for (int i = 0; i < 2 && src[i]; i++) {
    struct vd_text_line *L = &s.lines[s.n++];
    L->text = strdup(src[i]);
    L->box[0] = 0.1f, L->box[1] = 0.2f + 0.3f * (float)i, L->box[2] = 0.5f, L->box[3] = 0.1f;
    L->confidence = conf;
    L->words = 1;
    for (const char *p = src[i]; *p; p++)
      L->words += *p == ' ';
  }
  return s;
}

static void add(struct vd_text_merger *m, double time, float conf, const char *l0,
                const char *l1) {
  struct vd_text_sample s = reading(time, conf, l0, l1);
  vd_text_merger_add(m, &s);
  vd_text_sample_clear(&s);
  assert_null(s.lines);
}

static void expect_seg(json_t *segs, size_t i, double start, double end, const char *text) {
  json_t *s = json_array_get(segs, i);
  assert_non_null(s);
  double st = json_real_value(json_object_get(s, "start"));
  double en = json_real_value(json_object_get(s, "end"));
  const char *tx = json_string_value(json_object_get(s, "text"));
  if (fabs(st - start) > 1e-6 || fabs(en - end) > 1e-6 || !tx || strcmp(tx, text))
    fail_msg("segment %zu: got [%g, %g) \"%s\", want [%g, %g) \"%s\"", i, st, en, tx ? tx : "",
             start, end, text);
}

static void test_merge_captions(void **state) {
  (void)state;
  struct vd_text_merger *m = vd_text_merger_new(1.0, 0.25, 0);
  add(m, 0, 0, NULL, NULL);
  add(m, 1, 0.80f, "HELLO W0RLD", NULL);
  add(m, 2, 0.95f, "HELLO WORLD", NULL); /* the clearest reading wins */
  add(m, 3, 0.70f, "HELLO WORLD.", NULL);
  add(m, 4, 0, NULL, NULL);
  add(m, 5, 0.90f, "Second caption 42", NULL);
  add(m, 6, 0.90f, "Second caption 42", NULL);
  add(m, 7, 0, NULL, NULL);
  add(m, 8, 0, NULL, NULL); /* two misses end the segment */
  add(m, 9, 0.90f, "Second caption 42", NULL);
  long long words = -1;
  json_t *segs = vd_text_merger_finish(m, 9.5, &words);
  assert_int_equal(json_array_size(segs), 3);
  expect_seg(segs, 0, 1, 4, "HELLO WORLD");
  expect_seg(segs, 1, 5, 7, "Second caption 42");
  expect_seg(segs, 2, 9, 9.5, "Second caption 42"); /* clamped to the video's end */
  assert_int_equal(words, 2 + 3 + 3);
  json_t *s0 = json_array_get(segs, 0);
  assert_int_equal(json_integer_value(json_object_get(s0, "words")), 2);
  json_t *l0 = json_array_get(json_object_get(s0, "lines"), 0);
  assert_string_equal(json_string_value(json_object_get(l0, "text")), "HELLO WORLD");
  assert_true(fabs(json_real_value(json_object_get(l0, "confidence")) - 0.95) < 1e-3);
  json_t *box = json_object_get(l0, "box");
  assert_int_equal(json_array_size(box), 4);
  assert_true(fabs(json_real_value(json_array_get(box, 0)) - 0.1) < 1e-4);
  assert_true(fabs(json_real_value(json_array_get(box, 2)) - 0.5) < 1e-4);
  json_decref(segs);
  /* finish empties the merger: a second finish has nothing */
  segs = vd_text_merger_finish(m, 0, &words);
  assert_int_equal(json_array_size(segs), 0);
  assert_int_equal(words, 0);
  json_decref(segs);
  vd_text_merger_free(m);
}

static void test_merge_bridge_and_switch(void **state) {
  (void)state;
  struct vd_text_merger *m = vd_text_merger_new(0.5, 0.25, 0);
  add(m, 0.0, 0.9f, "Title", "Subtitle line");
  add(m, 0.5, 0, NULL, NULL); /* one miss is bridged */
  add(m, 1.0, 0.9f, "Title", "Subtitle line");
  add(m, 1.5, 0.9f, "Another slide", "with two lines"); /* different: a new segment at once */
  add(m, 2.0, 0.9f, "Another slide", "with two lines");
  long long words = 0;
  json_t *segs = vd_text_merger_finish(m, 0, &words);
  assert_int_equal(json_array_size(segs), 2);
  expect_seg(segs, 0, 0, 1.5, "Title\nSubtitle line");
  expect_seg(segs, 1, 1.5, 2.5, "Another slide\nwith two lines");
  assert_int_equal(json_array_size(json_object_get(json_array_get(segs, 1), "lines")), 2);
  assert_int_equal(words, 3 + 5);
  json_decref(segs);
  vd_text_merger_free(m);
}

/* Numbers that change are new text, however alike the rest. */
static void test_merge_digits(void **state) {
  (void)state;
  struct vd_text_merger *m = vd_text_merger_new(1.0, 0.25, 0);
  add(m, 0, 0.9f, "Caption number 3", NULL);
  add(m, 1, 0.8f, "Caption numbr 3", NULL); /* a misread letter: same caption */
  add(m, 2, 0.9f, "Caption number 4", NULL);
  add(m, 3, 0.9f, "Caption number 14", NULL);
  long long words = 0;
  json_t *segs = vd_text_merger_finish(m, 0, &words);
  assert_int_equal(json_array_size(segs), 3);
  expect_seg(segs, 0, 0, 2, "Caption number 3");
  expect_seg(segs, 1, 2, 3, "Caption number 4");
  expect_seg(segs, 2, 3, 4, "Caption number 14");
  json_decref(segs);
  vd_text_merger_free(m);
}

static void test_merge_nothing(void **state) {
  (void)state;
  struct vd_text_merger *m = vd_text_merger_new(1.0, 0.25, 0);
  for (int i = 0; i < 5; i++)
    add(m, i, 0, NULL, NULL);
  long long words = -1;
  json_t *segs = vd_text_merger_finish(m, 5, &words);
  assert_int_equal(json_array_size(segs), 0);
  assert_int_equal(words, 0);
  json_decref(segs);
  vd_text_merger_free(m);
  vd_text_merger_free(NULL);
}

/* max_dist 0: any change starts a segment. */
static void test_merge_strict(void **state) {
  (void)state;
  struct vd_text_merger *m = vd_text_merger_new(1.0, 0, 0);
  add(m, 0, 0.9f, "HELLO WORLD", NULL);
  add(m, 1, 0.9f, "HELLO WORLD.", NULL);
  add(m, 2, 0.9f, "HELLO WORLD.", NULL);
  long long words = 0;
  json_t *segs = vd_text_merger_finish(m, 0, &words);
  assert_int_equal(json_array_size(segs), 2);
  expect_seg(segs, 0, 0, 1, "HELLO WORLD");
  expect_seg(segs, 1, 1, 3, "HELLO WORLD.");
  json_decref(segs);
  vd_text_merger_free(m);
}

/* confirm: lines must be read again, alike and in the same place, by a
 * neighbouring sample. */
static void test_merge_confirm(void **state) {
  (void)state;
  struct vd_text_merger *m = vd_text_merger_new(1.0, 0.25, 1);
  struct vd_text_sample s = reading(0, 0.9f, "HELLO WORLD", "ae"); /* "ae": texture */
  vd_text_merger_add(m, &s);
  vd_text_sample_clear(&s);
  s = reading(1, 0.8f, "HELLO W0RLD", "Pe"); /* same place, other letters */
  vd_text_merger_add(m, &s);
  vd_text_sample_clear(&s);
  s = reading(2, 0.9f, "HELLO WORLD", "ae");
  s.lines[1].box[0] = 0.7f; /* "ae" again, but elsewhere */
  vd_text_merger_add(m, &s);
  vd_text_sample_clear(&s);
  add(m, 3, 0, NULL, NULL);
  add(m, 4, 0, NULL, NULL);
  add(m, 5, 0.9f, "Flash", NULL); /* one sample only */
  add(m, 6, 0, NULL, NULL);
  add(m, 7, 0, NULL, NULL);
  add(m, 8, 0.9f, "Caption", NULL); /* OCR misses the middle one */
  add(m, 9, 0, NULL, NULL);
  add(m, 10, 0.9f, "Caption", NULL);
  add(m, 11, 0, NULL, NULL);
  add(m, 12, 0, NULL, NULL);
  add(m, 13, 0.9f, "Last words", NULL); /* confirmed by the one after */
  add(m, 14, 0.9f, "Last words", NULL); /* the last: by the one before */
  long long words = 0;
  json_t *segs = vd_text_merger_finish(m, 0, &words);
  assert_int_equal(json_array_size(segs), 3);
  expect_seg(segs, 0, 0, 3, "HELLO WORLD");
  expect_seg(segs, 1, 8, 11, "Caption");
  expect_seg(segs, 2, 13, 15, "Last words");
  assert_int_equal(words, 5);
  json_decref(segs);
  /* a merger freed while it holds readings leaks nothing (ASan checks) */
  for (int i = 15; i < 19; i++)
    add(m, i, 0.9f, "held", NULL);
  vd_text_merger_free(m);
}

static void test_sample_text(void **state) {
  (void)state;
  struct vd_text_sample s = reading(0, 0.9f, "one", "two three");
  char *t = vd_text_sample_text(&s);
  assert_string_equal(t, "one\ntwo three");
  free(t);
  vd_text_sample_clear(&s);
  t = vd_text_sample_text(&s);
  assert_string_equal(t, "");
  free(t);
}

static void test_ocr_lang(void **state) {
  (void)state;
  static const char *bad[] = {"../../etc/passwd", "eng+", "+eng", "eng++deu", "", "en g"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct vd_err err = {0};
    struct vd_textocr *o = (struct vd_textocr *)1;
    int rc = vd_textocr_new(&o, &(struct vd_textocr_opts){.lang = bad[i], .psm = 11}, &err);
    assert_null(o);
#ifdef VD_HAVE_TESSERACT
    assert_int_equal(rc, VD_ERR_INVALID);
    assert_non_null(strstr(vd_err_msg(&err, rc), "not a Tesseract language list"));
#else
    assert_int_equal(rc, VD_ERR_UNSUPPORTED);
#endif
  }
  struct vd_err err = {0};
  struct vd_textocr *o = NULL;
  int rc = vd_textocr_new(&o, &(struct vd_textocr_opts){.lang = "eng+xqz", .psm = 11}, &err);
  assert_null(o);
#ifdef VD_HAVE_TESSERACT
  assert_int_equal(rc, VD_ERR_INVALID);
  const char *msg = vd_err_msg(&err, rc);
  if (!strstr(msg, "\"xqz\" is not installed") || !strstr(msg, "tesseract-ocr-xqz"))
    fail_msg("unclear message: %s", msg);
#else
  assert_int_equal(rc, VD_ERR_UNSUPPORTED);
  assert_non_null(strstr(vd_err_msg(&err, rc), "libtesseract-dev"));
#endif
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_word_ok),
      cmocka_unit_test(test_distance),
      cmocka_unit_test(test_merge_captions),
      cmocka_unit_test(test_merge_bridge_and_switch),
      cmocka_unit_test(test_merge_digits),
      cmocka_unit_test(test_merge_nothing),
      cmocka_unit_test(test_merge_strict),
      cmocka_unit_test(test_merge_confirm),
      cmocka_unit_test(test_sample_text),
      cmocka_unit_test(test_ocr_lang),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
