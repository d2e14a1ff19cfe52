/*
 * test_search_docs.c: the documents a job's result gives the search index
 * (search.c), from literal result JSON: transcript and on-screen text
 * segments with their times, object labels with their ranges; other
 * analyses give nothing; segments with
 * missing, negative or reversed times, or without text, are skipped; long
 * texts are cut at a UTF-8 boundary; a damaged result is an error; and
 * vd_search_backfill indexes exactly the jobs that are not indexed yet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../helpers/testutil.h"
#include "search/search.h"

static void test_transcript_and_text(void **state) {
  (void)state;
  const char *json =
      "{\"input\": \"x\", \"results\": {"
      " \"probe\": {\"duration\": 10},"
      " \"transcript\": {\"text\": \"go forward ten meters then stop\", \"segments\": ["
      "  {\"start\": 0.46, \"end\": 2.12, \"text\": \"go forward ten meters\", \"words\": []},"
      "  {\"start\": 3, \"end\": 3.5, \"text\": \"then stop\"}]},"
      " \"text\": {\"segments\": ["
      "  {\"start\": 1.0, \"end\": 4.0, \"text\": \"HELLO WORLD\\nSecond line\", \"words\": 4}]},"
      " \"faces\": {\"segments\": [{\"start\": 1, \"end\": 2, \"text\": \"not searchable\"}]}"
      "}}";
  struct vd_search_docs d;
  assert_int_equal(vd_search_docs_from_result(json, &d, NULL), 0);
  assert_int_equal(d.n, 3);
  assert_string_equal(d.v[0].analysis, "transcript");
  assert_true(d.v[0].start == 0.46 && d.v[0].end == 2.12);
  assert_string_equal(d.v[0].text, "go forward ten meters");
  assert_string_equal(d.v[1].text, "then stop");
  assert_true(d.v[1].start == 3 && d.v[1].end == 3.5);
  assert_string_equal(d.v[2].analysis, "text");
  assert_string_equal(d.v[2].text, "HELLO WORLD\nSecond line");
  assert_true(d.v[2].start == 1 && d.v[2].end == 4);
  vd_search_docs_fini(&d);
}

static void test_object_labels(void **state) {
  (void)state;
  const char *json = "{\"results\": {\"objects\": {\"labels\": ["
                     " {\"label\": \"person\", \"samples\": 8, \"ranges\": ["
                     "  {\"start\": 0, \"end\": 3, \"max_count\": 1},"
                     "  {\"start\": 6, \"end\": 9, \"max_count\": 2}]},"
                     " {\"label\": \"dog\", \"ranges\": [{\"start\": 4, \"end\": 2}]},"
                     " {\"label\": 3, \"ranges\": [{\"start\": 1, \"end\": 2}]},"
                     " {\"ranges\": [{\"start\": 1, \"end\": 2}]}]}}}";
  struct vd_search_docs d;
  assert_int_equal(vd_search_docs_from_result(json, &d, NULL), 0);
  assert_int_equal(d.n, 2); /* the dog's range is reversed; the others have no label */
  for (size_t i = 0; i < 2; i++) {
    assert_string_equal(d.v[i].analysis, "objects");
    assert_string_equal(d.v[i].text, "person");
  }
  assert_true(d.v[0].start == 0 && d.v[0].end == 3 && d.v[1].start == 6 && d.v[1].end == 9);
  vd_search_docs_fini(&d);
}

static void test_bad_segments_skipped(void **state) {
  (void)state;
  const char *json = "{\"results\": {\"transcript\": {\"segments\": ["
                     " {\"start\": 1, \"end\": 2},"
                     " {\"start\": 1, \"text\": \"no end\"},"
                     " {\"start\": \"1\", \"end\": 2, \"text\": \"a string time\"},"
                     " {\"start\": -1, \"end\": 2, \"text\": \"negative\"},"
                     " {\"start\": 3, \"end\": 2, \"text\": \"reversed\"},"
                     " {\"start\": 1, \"end\": 2, \"text\": \"\"},"
                     " {\"start\": 1, \"end\": 2, \"text\": 7},"
                     " 5, null,"
                     " {\"start\": 2, \"end\": 2, \"text\": \"kept\"}]},"
                     " \"text\": {\"segments\": {\"not\": \"an array\"}}}}";
  struct vd_search_docs d;
  assert_int_equal(vd_search_docs_from_result(json, &d, NULL), 0);
  assert_int_equal(d.n, 1);
  assert_string_equal(d.v[0].text, "kept");
  vd_search_docs_fini(&d);

  /* No results, or results that are not objects: nothing, no error. */
  const char *empty[] = {"{}", "{\"results\": []}", "{\"results\": {\"transcript\": 3}}"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(vd_search_docs_from_result(empty[i], &d, NULL), 0);
    assert_int_equal(d.n, 0);
    vd_search_docs_fini(&d);
  }
}

static void test_damaged_result(void **state) {
  (void)state;
  const char *bad[] = {NULL, "", "not json", "[1, 2]", "\"text\"", "{\"results\": "};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct vd_search_docs d;
    struct vd_err err = {0};
    assert_int_equal(vd_search_docs_from_result(bad[i], &d, &err), VD_ERR_CORRUPT);
    assert_int_equal(d.n, 0);
    vd_search_docs_fini(&d);
  }
}

static void test_long_text_cut_at_utf8_boundary(void **state) {
  (void)state;
  /* "é" is two bytes; an odd prefix puts the cap inside one of them. */
  size_t n = VD_SEARCH_MAX_TEXT + 100;
  char *text = malloc(n + 1);
  text[0] = 'x';
  for (size_t i = 1; i + 1 < n; i += 2)
    memcpy(text + i, "\xc3\xa9", 2);
  text[n - (n % 2 == 0 ? 1 : 0)] = '\0';
  char *json = malloc(n + 200);
  snprintf(
      json, n + 200,
      "{\"results\": {\"text\": {\"segments\": [{\"start\": 0, \"end\": 1, \"text\": \"%s\"}]}}}",
      text);
  struct vd_search_docs d;
  assert_int_equal(vd_search_docs_from_result(json, &d, NULL), 0);
  assert_int_equal(d.n, 1);
  size_t len = strlen(d.v[0].text);
  assert_true(len <= VD_SEARCH_MAX_TEXT && len >= VD_SEARCH_MAX_TEXT - 1);
  assert_true(len % 2 == 1); /* "x" then whole "é"s */
  assert_int_equal(memcmp(d.v[0].text, text, len), 0);
  vd_search_docs_fini(&d);
  free(json);
  free(text);
}

/* A store with `n` files, each with a succeeded transcript job (on its own
 * file, so that no job's words hide another's: only a file's newest
 * transcript answers). */
static struct vd_store *store_with_jobs(int n) {
  struct vd_store *s = NULL;
  assert_int_equal(vd_store_open(&s, vd_test_path("backfill.db"), NULL), 0);
  for (int i = 0; i < n; i++) {
    struct vd_file_rec f = {0};
    snprintf(f.id, sizeof(f.id), "%064d", i);
    f.name = "film.mp4";
    f.size = 1;
    assert_int_equal(vd_store_file_put(s, &f, NULL, NULL), 0);
    struct vd_job_rec j = {0};
    snprintf(j.id, sizeof(j.id), "00000000-0000-4000-8000-%012d", i);
    j.file_id = f.id;
    j.analyses = "[\"transcript\"]";
    j.max_attempts = 1;
    assert_int_equal(vd_store_job_create(s, &j, NULL), 0);
    struct vd_job_rec c;
    assert_int_equal(vd_store_job_claim(s, "w", 10, 30, &c, NULL), 1);
    vd_job_rec_fini(&c);
    char res[256];
    snprintf(res, sizeof(res),
             "{\"results\": {\"transcript\": {\"segments\": [{\"start\": %d, \"end\": %d,"
             " \"text\": \"word%d common\"}]}}}",
             i, i + 1, i);
    /* The third job's result is damaged: indexed with no words. */
    assert_int_equal(vd_store_job_finish(s, j.id, "w", VD_JOB_SUCCEEDED, i == 2 ? "{" : res, NULL,
                                         NULL, 0, 11, NULL),
                     0);
  }
  return s;
}

static size_t hits(struct vd_store *s, const char *q) {
  struct vd_search_hit *h;
  size_t n;
  assert_int_equal(vd_store_search_query(s, q, 0, 100, &h, &n, NULL), 0);
  for (size_t i = 0; i < n; i++)
    vd_search_hit_fini(&h[i]);
  free(h);
  return n;
}

static void test_backfill(void **state) {
  (void)state;
  struct vd_store *s = store_with_jobs(70); /* more than one page of pending jobs */
  /* One job was indexed when it finished (as the worker does). */
  assert_int_equal(vd_search_index_job(
                       s, "00000000-0000-4000-8000-000000000000",
                       "{\"results\": {\"transcript\": {\"segments\": [{\"start\": 0, \"end\": 1,"
                       " \"text\": \"word0 common\"}]}}}",
                       NULL),
                   0);
  assert_int_equal(hits(s, "common"), 1);
  int done = -1;
  assert_int_equal(vd_search_backfill(s, NULL, &done, NULL), 0);
  assert_int_equal(done, 69);
  assert_int_equal(hits(s, "common"), 69); /* 70 less the damaged one */
  assert_int_equal(hits(s, "word69"), 1);
  assert_int_equal(hits(s, "word2 common"), 0); /* "word2" exact: not word20 */
  /* Again: nothing left to do, nothing doubled. */
  assert_int_equal(vd_search_backfill(s, NULL, &done, NULL), 0);
  assert_int_equal(done, 0);
  assert_int_equal(hits(s, "common"), 69);
  /* A stop request ends it before any work. */
  atomic_int stop = 1;
  assert_int_equal(vd_search_backfill(s, &stop, &done, NULL), 0);
  assert_int_equal(done, 0);
  vd_store_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_transcript_and_text),
      cmocka_unit_test(test_object_labels),
      cmocka_unit_test(test_bad_segments_skipped),
      cmocka_unit_test(test_damaged_result),
      cmocka_unit_test(test_long_text_cut_at_utf8_boundary),
      cmocka_unit_test(test_backfill),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
