/*
 * test_subtitles.c: the SRT, WebVTT and text writers byte for byte on
 * made-up cues (times past an hour and past 100 hours, rounding, "-->" and
 * markup in text, blank and empty cues skipped without a number, line
 * wrapping at the limit), and the cutting of words into cues (two lines at
 * most, even pieces, the 7 s limit), also from a transcript result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/subtitles.h"

static char *render(enum vd_subs_format fmt, const struct vd_cue *c, size_t n, int width) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  assert_int_equal(vd_subs_write(f, fmt, c, n, width), 0);
  fclose(f);
  return buf;
}

static const struct vd_cue cues[] = {
    {0.0, 1.5, "hello world"},
    {2.0, 2.5, "   "},                    /* blank: skipped, takes no number */
    {3661.0004, 3662.9996, "an hour --> later & <b>bold</b>"},
    {5.0, 4.0, "end before start"},        /* end raised to start */
    {7.25, 9.0, ""},                       /* empty: skipped */
    {360000.5, 360001.0, "one\nhundred\n\nhours"}, /* line breaks: one line */
};

static void test_srt(void **state) {
  (void)state;
  char *s = render(VD_SUBS_SRT, cues, 6, 42);
  assert_string_equal(s, "1\n00:00:00,000 --> 00:00:01,500\nhello world\n\n"
                         "2\n01:01:01,000 --> 01:01:03,000\nan hour -> later & <b>bold</b>\n\n"
                         "3\n00:00:05,000 --> 00:00:05,000\nend before start\n\n"
                         "4\n100:00:00,500 --> 100:00:01,000\none hundred hours\n\n");
  free(s);
}

static void test_vtt(void **state) {
  (void)state;
  char *s = render(VD_SUBS_VTT, cues, 6, 42);
  assert_string_equal(s, "WEBVTT\n\n"
                         "1\n00:00:00.000 --> 00:00:01.500\nhello world\n\n"
                         "2\n01:01:01.000 --> 01:01:03.000\n"
                         "an hour --&gt; later &amp; &lt;b&gt;bold&lt;/b&gt;\n\n"
                         "3\n00:00:05.000 --> 00:00:05.000\nend before start\n\n"
                         "4\n100:00:00.500 --> 100:00:01.000\none hundred hours\n\n");
  free(s);
}

static void test_txt_and_empty(void **state) {
  (void)state;
  char *s = render(VD_SUBS_TXT, cues, 6, 42);
  assert_string_equal(s, "hello world\nan hour --> later & <b>bold</b>\nend before start\n"
                         "one hundred hours\n");
  free(s);
  s = render(VD_SUBS_SRT, NULL, 0, 42);
  assert_string_equal(s, "");
  free(s);
  s = render(VD_SUBS_VTT, NULL, 0, 42);
  assert_string_equal(s, "WEBVTT\n\n");
  free(s);
}

static void test_srt_arrows(void **state) {
  (void)state;
  struct vd_cue c[] = {{1, 2, "a ---> b --> c -->"}, {2, 3, "-->"}};
  char *s = render(VD_SUBS_SRT, c, 2, 42);
  assert_string_equal(s, "1\n00:00:01,000 --> 00:00:02,000\na -> b -> c ->\n\n"
                         "2\n00:00:02,000 --> 00:00:03,000\n->\n\n");
  free(s);
}

static void test_wrap(void **state) {
  (void)state;
  /* 53 characters: two lines split where most even (25 | 27), both <= 42 */
  struct vd_cue c[] = {
      {0, 1, "the quick brown fox jumps over the lazy dog again and"},
      {1, 2, "exactly forty-two characters long, no wrap"},
      {2, 3, "a supercalifragilisticexpialidocious-like-word-that-is-long b"},
      {3, 4, "one two three four five six seven eight nine ten eleven twelve thirteen "
             "fourteen fifteen sixteen seventeen eighteen"},
  };
  char *s = render(VD_SUBS_SRT, c, 4, 42);
  assert_string_equal(s, "1\n00:00:00,000 --> 00:00:01,000\n"
                         "the quick brown fox jumps\nover the lazy dog again and\n\n"
                         "2\n00:00:01,000 --> 00:00:02,000\n"
                         "exactly forty-two characters long, no wrap\n\n"
                         "3\n00:00:02,000 --> 00:00:03,000\n"
                         "a\nsupercalifragilisticexpialidocious-like-word-that-is-long\nb\n\n"
                         "4\n00:00:03,000 --> 00:00:04,000\n"
                         "one two three four five six seven eight\n"
                         "nine ten eleven twelve thirteen fourteen\n"
                         "fifteen sixteen seventeen eighteen\n\n");
  free(s);
}

static void test_timestamp(void **state) {
  (void)state;
  char b[32];
  vd_subs_timestamp(59.9995, ',', b, sizeof(b));
  assert_string_equal(b, "00:01:00,000");
  vd_subs_timestamp(-3, '.', b, sizeof(b));
  assert_string_equal(b, "00:00:00.000");
  vd_subs_timestamp(3599.001, '.', b, sizeof(b));
  assert_string_equal(b, "00:59:59.001");
}

/* n words "w00".."wNN" of 3 characters, each 0.3 s long. */
static struct vd_sub_word *words(size_t n, char names[][16]) {
  struct vd_sub_word *w = calloc(n, sizeof(*w));
  for (size_t i = 0; i < n; i++) {
    snprintf(names[i], sizeof(names[i]), "w%02u", (unsigned)(i % 100));
    w[i] = (struct vd_sub_word){0.3 * (double)i, 0.3 * (double)i + 0.3, names[i]};
  }
  return w;
}

static void test_cues_split(void **state) {
  (void)state;
  char names[40][16];
  struct vd_sub_word *w = words(40, names);
  struct vd_cue *c = NULL;
  size_t n = 0;
  /* 10 words = 39 characters: one cue */
  vd_subs_cues(w, 10, 42, &c, &n);
  assert_int_equal(n, 1);
  assert_float_equal(c[0].start, 0, 1e-9);
  assert_float_equal(c[0].end, 3.0, 1e-9);
  vd_subs_cues_free(c, n);
  c = NULL;
  n = 0;
  /* 23 words = 91 characters > 84: two even cues (12 + 11 words), and
   * each is at most 84 characters and 7 s */
  vd_subs_cues(w, 23, 42, &c, &n);
  assert_int_equal(n, 2);
  assert_int_equal(strlen(c[0].text), 12 * 4 - 1);
  assert_int_equal(strlen(c[1].text), 11 * 4 - 1);
  assert_float_equal(c[1].start, 3.6, 1e-9);
  assert_float_equal(c[1].end, 6.9, 1e-9);
  size_t before = n;
  /* appending: 40 words of 0.3 s = 12 s, which the 7 s rule cuts */
  vd_subs_cues(w, 40, 42, &c, &n);
  assert_true(n - before >= 2);
  for (size_t i = before; i < n; i++) {
    assert_true(c[i].end - c[i].start <= VD_SUBS_MAX_CUE + 1e-9);
    assert_true(strlen(c[i].text) <= 84);
    if (i > before)
      assert_true(c[i].start >= c[i - 1].end - 1e-9);
  }
  vd_subs_cues_free(c, n);
  /* 12 short words of 1 s each fit in one cue by length, not by time */
  for (size_t i = 0; i < 12; i++)
    w[i] = (struct vd_sub_word){(double)i, (double)i + 1, names[i]};
  c = NULL;
  n = 0;
  vd_subs_cues(w, 12, 42, &c, &n);
  assert_int_equal(n, 2);
  assert_float_equal(c[0].end, 7.0, 1e-9);
  assert_float_equal(c[1].start, 7.0, 1e-9);
  assert_float_equal(c[1].end, 12.0, 1e-9);
  vd_subs_cues_free(c, n);
  free(w);
}

static void test_cues_from_transcript(void **state) {
  (void)state;
  json_t *r = json_loads("{\"segments\": ["
                         "{\"start\": 1, \"end\": 2, \"text\": \"go forward\", \"words\": ["
                         "{\"word\": \"go\", \"start\": 1.0, \"end\": 1.2},"
                         "{\"word\": \"forward\", \"start\": 1.2, \"end\": 2.0}]},"
                         "{\"start\": 3, \"end\": 4, \"text\": \"no words here\"}]}",
                         0, NULL);
  assert_non_null(r);
  struct vd_cue *c = NULL;
  size_t n = 0;
  assert_int_equal(vd_subs_cues_from_transcript(r, 42, &c, &n), 0);
  assert_int_equal(n, 2);
  char *s = render(VD_SUBS_VTT, c, n, 42);
  assert_string_equal(s, "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\ngo forward\n\n"
                         "2\n00:00:03.000 --> 00:00:04.000\nno words here\n\n");
  free(s);
  vd_subs_cues_free(c, n);
  json_decref(r);
  /* not a transcript */
  c = NULL;
  n = 0;
  r = json_loads("{\"segments\": [{\"start\": \"x\"}]}", 0, NULL);
  assert_int_equal(vd_subs_cues_from_transcript(r, 42, &c, &n), VD_ERR_INVALID);
  vd_subs_cues_free(c, n);
  json_decref(r);
  r = json_loads("[]", 0, NULL);
  c = NULL;
  n = 0;
  assert_int_equal(vd_subs_cues_from_transcript(r, 42, &c, &n), VD_ERR_INVALID);
  json_decref(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_srt),         cmocka_unit_test(test_vtt),
      cmocka_unit_test(test_txt_and_empty), cmocka_unit_test(test_srt_arrows),
      cmocka_unit_test(test_wrap),        cmocka_unit_test(test_timestamp),
      cmocka_unit_test(test_cues_split),  cmocka_unit_test(test_cues_from_transcript),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
