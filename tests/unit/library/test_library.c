/*
 * test_library.c: the service's duplicate library (src/library) over a
 * real store (SQLite, or PostgreSQL with --pg: tests/unit/store/store_test.h).
 * Two libraries on two handles of one database stand for two nodes: what
 * one adds, the other finds before its next query; a fingerprint replaced
 * on one node is replaced on the other; a succeeded job whose fingerprint
 * never reached the table is put by the first load, and a damaged one is
 * skipped, not fatal; a file deleted on one node stops matching on the
 * other; bad input to vd_library_add is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "../store/store_test.h"
#include "dup/dup.h"
#include "library/library.h"

#define FA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define FC "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* A 20 s "video" from `seed`: picture hashes 4 per second, sound words at
 * Chromaprint's rate. The same seed gives the same video. */
static json_t *video(uint64_t seed) {
  rng = seed;
  struct vd_fp *fp = vd_fp_new(0.25);
  for (int i = 0; i < 80; i++) {
    uint64_t p = rnd();
    vd_fp_add_picture(fp, i * 0.25, p, rnd(), 0);
  }
  uint32_t w[160];
  for (int i = 0; i < 160; i++)
    w[i] = (uint32_t)rnd();
  vd_fp_set_sound(fp, 0, 4096.0 / 3 / 11025, w, NULL, 160);
  char *b64 = vd_fp_save_base64(fp);
  vd_fp_free(fp);
  json_t *r = json_pack("{s:s}", "data", b64);
  free(b64);
  return r;
}

static void add(struct vd_library *l, const char *id, uint64_t seed) {
  json_t *r = video(seed);
  struct vd_err err = {0};
  int ret = vd_library_add(l, id, r, &err);
  if (ret)
    fprintf(stderr, "add %s: %s\n", id, err.msg);
  assert_int_equal(ret, 0);
  json_decref(r);
}

static int by_char(const void *a, const void *b) { return *(const char *)a - *(const char *)b; }

/* The first letters of the ids `id` matches as duplicates, sorted (equal
 * matches come in any order), joined by spaces. */
static void dups_of(struct vd_library *l, const char *id, char *out, size_t len) {
  struct vd_dup_hit *hits;
  size_t n, k = 0;
  char first[16];
  assert_int_equal(vd_library_matches(l, id, 10, &hits, &n, NULL), 0);
  for (size_t i = 0; i < n && k < sizeof(first); i++)
    if (hits[i].match.verdict == VD_DUP_VERDICT_DUPLICATE)
      first[k++] = hits[i].id[0];
  vd_dup_hits_free(hits, n);
  qsort(first, k, 1, by_char);
  out[0] = '\0';
  for (size_t i = 0; i < k; i++)
    snprintf(out + strlen(out), len - strlen(out), "%s%c", i ? " " : "", first[i]);
}

static void test_two_nodes(void **state) {
  (void)state;
  struct vd_store *s1 = open_db("nodes.db"), *s2 = open_db("nodes.db");
  struct vd_library *l1 = vd_library_new(s1), *l2 = vd_library_new(s2);
  char d[64];
  put_file(s1, FA, NULL);
  put_file(s1, FB, NULL);
  put_file(s1, FC, NULL);
  struct vd_err err = {0};
  struct vd_dup_hit *hits;
  size_t n;
  assert_int_equal(vd_library_matches(l2, FA, 10, &hits, &n, &err), VD_ERR_NOT_FOUND);
  add(l1, FA, 1);
  add(l2, FB, 1); /* the same video on the other node */
  add(l1, FC, 2); /* another one */
  dups_of(l1, FB, d, sizeof(d));
  assert_string_equal(d, "a"); /* node 1 sees what node 2 added */
  dups_of(l2, FA, d, sizeof(d));
  assert_string_equal(d, "b");
  dups_of(l2, FC, d, sizeof(d));
  assert_string_equal(d, "");
  assert_int_equal(vd_library_size(l1), 3);
  assert_int_equal(vd_library_size(l2), 3);

  /* C's fingerprint replaced on node 2 (a new analysis): node 1 follows. */
  add(l2, FC, 1);
  dups_of(l1, FA, d, sizeof(d));
  assert_string_equal(d, "b c");

  /* A file deleted through node 2 stops matching on node 1 too. */
  struct vd_idlist orphans = {0};
  assert_int_equal(vd_store_file_delete(s2, FB, &orphans, NULL), 0);
  vd_idlist_fini(&orphans);
  vd_library_remove(l2, FB);
  dups_of(l1, FA, d, sizeof(d));
  assert_string_equal(d, "c");
  assert_int_equal(vd_library_size(l1), 2); /* and node 1 forgot it */
  dups_of(l2, FA, d, sizeof(d));
  assert_string_equal(d, "c");

  vd_library_free(l1);
  vd_library_free(l2);
  vd_store_free(s1);
  vd_store_free(s2);
}

/* A job on `file` that succeeded with `result`. */
static void finished_job(struct vd_store *s, const char *id, const char *file, const char *result) {
  new_job(s, id, file, 3);
  claim_as(s, "w", 10, 30, id);
  assert_int_equal(
      vd_store_job_finish(s, id, "w", VD_JOB_SUCCEEDED, result, NULL, NULL, 0, 11, NULL), 0);
}

static void test_backfill(void **state) {
  (void)state;
  struct vd_store *s = open_db("backfill.db");
  put_file(s, FA, NULL);
  put_file(s, FB, NULL);
  put_file(s, FC, NULL);
  /* Jobs that ended before their fingerprint was put (a crash between). */
  json_t *fp = video(7);
  json_t *res = json_pack("{s:{s:O}}", "results", "fingerprint", fp);
  char *txt = json_dumps(res, JSON_COMPACT);
  finished_job(s, "j1", FA, txt);
  finished_job(s, "j2", FB, txt);
  finished_job(s, "j3", FC, "{\"results\":{\"fingerprint\":{\"data\":\"not base64!\"}}}");
  free(txt);
  json_decref(res);
  json_decref(fp);

  struct vd_library *l = vd_library_new(s);
  struct vd_dup_index *ix;
  assert_int_equal(vd_library_index(l, &ix, NULL), 0); /* the damaged one is skipped */
  assert_int_equal(vd_dup_index_size(ix), 2);
  struct vd_fingerprint_rec r;
  assert_int_equal(vd_store_fingerprint_get(s, FA, &r, NULL), 0);
  vd_fingerprint_rec_fini(&r);
  assert_int_equal(vd_store_fingerprint_get(s, FC, &r, NULL), VD_ERR_NOT_FOUND);
  char d[64];
  dups_of(l, FA, d, sizeof(d));
  assert_string_equal(d, "b");
  vd_library_free(l);
  vd_store_free(s);
}

static void test_bad_input(void **state) {
  (void)state;
  struct vd_store *s = open_db("bad.db");
  struct vd_library *l = vd_library_new(s);
  put_file(s, FA, NULL);
  struct vd_err err = {0};
  json_t *bad = json_pack("{s:s}", "data", "AAAA");
  assert_int_equal(vd_library_add(l, FA, bad, &err), VD_ERR_CORRUPT);
  json_decref(bad);
  vd_err_clear(&err);
  bad = json_pack("{s:i}", "data", 3);
  assert_int_equal(vd_library_add(l, FA, bad, &err), VD_ERR_CORRUPT);
  json_decref(bad);
  json_t *good = video(3);
  vd_err_clear(&err);
  assert_int_equal(vd_library_add(l, FB, good, &err), VD_ERR_NOT_FOUND); /* no such file */
  json_decref(good);
  assert_int_equal(vd_library_size(l), 0);
  vd_library_free(l);
  vd_store_free(s);
}

int main(int argc, char **argv) {
  store_test_init(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_nodes),
      cmocka_unit_test(test_backfill),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
