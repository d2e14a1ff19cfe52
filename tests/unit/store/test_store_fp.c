/*
 * test_store_fp.c: the fingerprints table (SQLite, or PostgreSQL with
 * --pg: store_test.h). A put needs the file, replaces a different
 * fingerprint under a new seq and leaves an identical one alone; listing
 * since a seq returns what was put after it, oldest first, in pages;
 * deleting the file deletes its fingerprint; the backfill query finds
 * succeeded jobs whose fingerprint result never reached the table, and
 * only those; a version-2 database gains the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store_int.h"
#include "store_test.h"

#define FA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define FC "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

/* Everything put after `seq`, in pages of 2; returns how many and fills
 * ids[] / seqs[]. */
static size_t since(struct vd_store *s, int64_t seq, char ids[][65], int64_t *seqs,
                    char datas[][16]) {
  size_t total = 0;
  for (;;) {
    struct vd_fingerprint_rec *v = NULL;
    size_t n = 0;
    assert_int_equal(vd_store_fingerprint_since(s, seq, 2, &v, &n, NULL), 0);
    assert_true(n <= 2);
    for (size_t i = 0; i < n; i++) {
      assert_true(v[i].seq > seq); /* oldest first, strictly after */
      seq = v[i].seq;
      memcpy(ids[total], v[i].file_id, 65);
      seqs[total] = v[i].seq;
      snprintf(datas[total], 16, "%s", v[i].data);
      assert_true(v[i].created > 0);
      total++;
      vd_fingerprint_rec_fini(&v[i]);
    }
    free(v);
    if (n < 2)
      return total;
  }
}

static void test_put_replace_since_delete(void **state) {
  (void)state;
  struct vd_store *s = open_db("fp.db");
  struct vd_err err = {0};
  /* No file, no fingerprint. */
  assert_int_equal(vd_store_fingerprint_put(s, FA, "AAAA", &err), VD_ERR_NOT_FOUND);
  put_file(s, FA, NULL);
  put_file(s, FB, NULL);
  put_file(s, FC, NULL);
  assert_int_equal(vd_store_fingerprint_put(s, FA, "AAAA", NULL), 0);
  assert_int_equal(vd_store_fingerprint_put(s, FB, "BBBB", NULL), 0);
  assert_int_equal(vd_store_fingerprint_put(s, FC, "CCCC", NULL), 0);
  char ids[8][65], datas[8][16];
  int64_t seqs[8];
  assert_int_equal(since(s, 0, ids, seqs, datas), 3);
  assert_string_equal(ids[0], FA);
  assert_string_equal(ids[2], FC);
  int64_t after_a = seqs[0], last = seqs[2];

  /* The same data again: idempotent, nothing new to catch up on. */
  assert_int_equal(vd_store_fingerprint_put(s, FB, "BBBB", NULL), 0);
  assert_int_equal(since(s, last, ids, seqs, datas), 0);
  /* Different data replaces under a new seq. */
  assert_int_equal(vd_store_fingerprint_put(s, FA, "AAA2", NULL), 0);
  assert_int_equal(since(s, last, ids, seqs, datas), 1);
  assert_string_equal(ids[0], FA);
  assert_string_equal(datas[0], "AAA2");
  assert_int_equal(since(s, after_a, ids, seqs, datas), 3); /* B, C, then A again */
  assert_string_equal(ids[0], FB);
  assert_string_equal(ids[2], FA);

  struct vd_fingerprint_rec r;
  assert_int_equal(vd_store_fingerprint_get(s, FA, &r, NULL), 0);
  assert_string_equal(r.file_id, FA);
  assert_string_equal(r.data, "AAA2");
  vd_fingerprint_rec_fini(&r);

  /* Deleting the file takes its fingerprint along. */
  struct vd_idlist orphans = {0};
  assert_int_equal(vd_store_file_delete(s, FB, &orphans, NULL), 0);
  vd_idlist_fini(&orphans);
  assert_int_equal(vd_store_fingerprint_get(s, FB, &r, NULL), VD_ERR_NOT_FOUND);
  assert_int_equal(since(s, 0, ids, seqs, datas), 2);
  /* An explicit delete; a second one finds nothing. */
  assert_int_equal(vd_store_fingerprint_delete(s, FC, NULL), 0);
  assert_int_equal(vd_store_fingerprint_delete(s, FC, &err), VD_ERR_NOT_FOUND);
  assert_int_equal(since(s, 0, ids, seqs, datas), 1);
  vd_store_free(s);
}

/* A job on `file` that succeeded with `result`. */
static void finished_job(struct vd_store *s, const char *id, const char *file, const char *result) {
  new_job(s, id, file, 3);
  claim_as(s, "w", 10, 30, id);
  assert_int_equal(
      vd_store_job_finish(s, id, "w", VD_JOB_SUCCEEDED, result, NULL, NULL, 0, 11, NULL), 0);
}

static void test_missing(void **state) {
  (void)state;
  struct vd_store *s = open_db("missing.db");
  put_file(s, FA, NULL);
  put_file(s, FB, NULL);
  put_file(s, FC, NULL);
  const char *with_fp = "{\"results\":{\"fingerprint\":{\"data\":\"QQ==\"}}}";
  finished_job(s, "j1", FA, with_fp);
  finished_job(s, "j2", FB, "{\"results\":{\"probe\":{}}}"); /* no fingerprint */
  finished_job(s, "j3", FC, with_fp);
  new_job(s, "j4", FB, 3); /* queued: not a candidate */
  assert_int_equal(vd_store_fingerprint_put(s, FA, "QQ==", NULL), 0);
  struct vd_job_rec *v = NULL;
  size_t n = 0;
  assert_int_equal(vd_store_fingerprint_missing(s, 0, 10, &v, &n, NULL), 0);
  assert_int_equal(n, 1); /* j1's file has its fingerprint, j2 has none to give */
  assert_string_equal(v[0].id, "j3");
  assert_non_null(strstr(v[0].result, "fingerprint"));
  int64_t seq = v[0].seq;
  vd_job_rec_fini(&v[0]);
  free(v);
  /* The cursor moves past it, so a result that cannot be indexed is not
   * read forever. */
  assert_int_equal(vd_store_fingerprint_missing(s, seq, 10, &v, &n, NULL), 0);
  assert_int_equal(n, 0);
  free(v);
  assert_int_equal(vd_store_fingerprint_put(s, FC, "QQ==", NULL), 0);
  assert_int_equal(vd_store_fingerprint_missing(s, 0, 10, &v, &n, NULL), 0);
  assert_int_equal(n, 0);
  free(v);
  vd_store_free(s);
}

static void test_migrates_version_2(void **state) {
  (void)state;
  struct vd_store *s = open_db("old.db");
  put_file(s, FA, NULL);
  vd_store_free(s);
  db_exec("old.db", "DROP TABLE fingerprints; PRAGMA user_version = 2;",
          "DROP TABLE fingerprints; UPDATE vidan_schema SET version = 2;");
  s = open_db("old.db");
  assert_int_equal(vd_store_fingerprint_put(s, FA, "AAAA", NULL), 0);
  vd_store_free(s);
  assert_int_equal(db_version("old.db"), vd__sqlite_nmigrations);
}

int main(int argc, char **argv) {
  store_test_init(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_replace_since_delete),
      cmocka_unit_test(test_missing),
      cmocka_unit_test(test_migrates_version_2),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
