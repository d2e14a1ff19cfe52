/*
 * test_store_search.c: the full-text index in the store (SQLite, or
 * PostgreSQL with --pg: store_test.h).
 * Documents put for a job are found by their words, case and accents
 * aside, with the last word as a prefix, and every word required; a file's
 * name is found without any put; putting again replaces; of two runs of one
 * analysis on a file only the newer answers; deleting a job or a file takes
 * its documents away; pending lists what is not indexed;
 * shorter documents that say the word more often rank first; paging;
 * hostile query syntax is only ever words (never a store error); limits on
 * the query; a database from before search is migrated with its file names.
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

#include "store_test.h"

#define FA "aaaa000000000000000000000000000000000000000000000000000000000000"
#define FB "bbbb000000000000000000000000000000000000000000000000000000000000"
#define J1 "00000000-0000-4000-8000-000000000001"
#define J2 "00000000-0000-4000-8000-000000000002"
#define J3 "00000000-0000-4000-8000-000000000003"

static void put_named_file(struct vd_store *s, const char *id, const char *name) {
  struct vd_file_rec f = {0};
  snprintf(f.id, sizeof(f.id), "%s", id);
  f.name = (char *)name;
  f.size = 42;
  assert_int_equal(vd_store_file_put(s, &f, NULL, NULL), 0);
}

/* A job on `file` that succeeded. */
static void succeeded(struct vd_store *s, const char *id, const char *file) {
  new_job(s, id, file, 3);
  claim_as(s, "w", 100, 30, id);
  assert_int_equal(
      vd_store_job_finish(s, id, "w", VD_JOB_SUCCEEDED, "{}", NULL, NULL, 0, 101, NULL), 0);
}

struct res {
  struct vd_search_hit *h;
  size_t n;
  int ret;
};

static struct res query(struct vd_store *s, const char *q, int offset, int limit) {
  struct res r = {0};
  struct vd_err err = {0};
  r.ret = vd_store_search_query(s, q, offset, limit, &r.h, &r.n, &err);
  if (r.ret < 0 && r.ret != VD_ERR_INVALID && r.ret != VD_ERR_LIMIT)
    fprintf(stderr, "query [%s]: %s\n", q, err.msg);
  return r;
}

static void res_free(struct res *r) {
  for (size_t i = 0; i < r->n; i++)
    vd_search_hit_fini(&r->h[i]);
  free(r->h);
}

/* Number of hits for `q`, asserting the query itself was fine. */
static size_t count(struct vd_store *s, const char *q) {
  struct res r = query(s, q, 0, 100);
  assert_int_equal(r.ret, 0);
  size_t n = r.n;
  res_free(&r);
  return n;
}

static const struct vd_search_doc docs1[] = {
    {"transcript", 1.0, 2.5, "Go forward ten meters"},
    {"transcript", 3.0, 4.0, "then turn left"},
    {"text", 5.0, 8.0, "HELLO WORLD\nÉcole Française"},
};

static struct vd_store *library(const char *db) {
  struct vd_store *s = open_db(db);
  put_named_file(s, FA, "Café au lait_2024.final.mp4");
  put_named_file(s, FB, "other.mkv");
  succeeded(s, J1, FA);
  assert_int_equal(vd_store_search_put(s, J1, docs1, 3, NULL), 0);
  return s;
}

static void test_put_and_query(void **state) {
  (void)state;
  struct vd_store *s = library("put.db");
  struct res r = query(s, "forward", 0, 10);
  assert_int_equal(r.ret, 0);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.h[0].file_id, FA);
  assert_string_equal(r.h[0].filename, "Café au lait_2024.final.mp4");
  assert_string_equal(r.h[0].job_id, J1);
  assert_string_equal(r.h[0].analysis, "transcript");
  assert_true(r.h[0].start == 1.0 && r.h[0].end == 2.5);
  assert_string_equal(r.h[0].text, "Go forward ten meters");
  assert_non_null(strstr(r.h[0].snippet, "«forward»"));
  res_free(&r);

  /* Case, accents, the last word as a prefix, words from one document. */
  assert_int_equal(count(s, "FORWARD Ten"), 1);
  assert_int_equal(count(s, "forw"), 1);
  assert_int_equal(count(s, "ten forw"), 1);
  assert_int_equal(count(s, "forw ten"), 0); /* only the last word is a prefix */
  assert_int_equal(count(s, "ecole francaise"), 1);
  assert_int_equal(count(s, "hello world"), 1);
  assert_int_equal(count(s, "forward hello"), 0); /* two documents: no single match */
  assert_int_equal(count(s, "nowhere"), 0);

  /* The file name, without any put; it opens the file's job. */
  r = query(s, "cafe", 0, 10);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.h[0].analysis, "file");
  assert_string_equal(r.h[0].job_id, J1);
  res_free(&r);
  assert_int_equal(count(s, "lait 2024"), 1);
  assert_int_equal(count(s, "final"), 1);
  r = query(s, "other", 0, 10); /* a file with no analysis yet */
  assert_int_equal(r.n, 1);
  assert_string_equal(r.h[0].file_id, FB);
  assert_string_equal(r.h[0].job_id, "");
  res_free(&r);
  vd_store_free(s);
}

static void test_replace_and_delete(void **state) {
  (void)state;
  struct vd_store *s = library("replace.db");
  /* The same put again: nothing doubles. */
  assert_int_equal(vd_store_search_put(s, J1, docs1, 3, NULL), 0);
  assert_int_equal(count(s, "forward"), 1);
  /* Other documents replace the first ones. */
  const struct vd_search_doc d2[] = {{"transcript", 0, 1, "backward"}};
  assert_int_equal(vd_store_search_put(s, J1, d2, 1, NULL), 0);
  assert_int_equal(count(s, "forward"), 0);
  assert_int_equal(count(s, "backward"), 1);
  /* A job that is not there. */
  assert_int_equal(vd_store_search_put(s, J3, d2, 1, NULL), VD_ERR_NOT_FOUND);

  /* A newer transcript of the same file answers instead of the older one
   * (not both); deleting it takes its documents, not the file's name, and
   * the older transcript answers again. */
  succeeded(s, J2, FA);
  assert_int_equal(vd_store_search_put(s, J2, docs1, 3, NULL), 0);
  assert_int_equal(count(s, "forward"), 1);
  assert_int_equal(count(s, "backward"), 0);
  struct vd_idlist orphans = {0};
  assert_int_equal(vd_store_job_delete(s, J2, &orphans, NULL), 0);
  vd_idlist_fini(&orphans);
  assert_int_equal(count(s, "forward"), 0);
  assert_int_equal(count(s, "backward"), 1);
  assert_int_equal(count(s, "cafe"), 1);
  /* Deleting the file takes everything of it. */
  assert_int_equal(vd_store_file_delete(s, FA, &orphans, NULL), 0);
  vd_idlist_fini(&orphans);
  assert_int_equal(count(s, "backward"), 0);
  assert_int_equal(count(s, "cafe"), 0);
  assert_int_equal(count(s, "other"), 1);
  vd_store_free(s);
}

static void test_pending(void **state) {
  (void)state;
  struct vd_store *s = open_db("pending.db");
  put_file(s, FA, NULL);
  succeeded(s, J1, FA);
  succeeded(s, J2, FA);
  new_job(s, J3, FA, 3); /* queued: not pending */
  struct vd_idlist ids;
  assert_int_equal(vd_store_search_pending(s, 10, &ids, NULL), 0);
  assert_int_equal(ids.n, 2);
  assert_string_equal(ids.ids[0], J1);
  assert_string_equal(ids.ids[1], J2);
  vd_idlist_fini(&ids);
  /* Indexed with no documents still counts as indexed. */
  assert_int_equal(vd_store_search_put(s, J1, NULL, 0, NULL), 0);
  assert_int_equal(vd_store_search_pending(s, 10, &ids, NULL), 0);
  assert_int_equal(ids.n, 1);
  assert_string_equal(ids.ids[0], J2);
  vd_idlist_fini(&ids);
  vd_store_free(s);
}

static void test_ranking_and_paging(void **state) {
  (void)state;
  struct vd_store *s = open_db("rank.db");
  put_named_file(s, FA, "a.mp4");
  succeeded(s, J1, FA);
  const struct vd_search_doc d[] = {
      {"transcript", 0, 1,
       "a long sentence that talks about many things and mentions a robot once"},
      {"transcript", 1, 2, "robot robot"},
      {"transcript", 2, 3, "the robot"},
      {"text", 3, 4, "another line about the robot and other matters entirely"},
      {"text", 4, 5, "robot"},
  };
  assert_int_equal(vd_store_search_put(s, J1, d, 5, NULL), 0);
  struct res r = query(s, "robot", 0, 10);
  assert_int_equal(r.n, 5);
  for (size_t i = 1; i < r.n; i++)
    assert_true(r.h[i - 1].score >= r.h[i].score);
  /* The long sentence, saying it once, comes last. */
  assert_true(r.h[4].start == 0);
  assert_true(r.h[0].start == 1 || r.h[0].start == 4);
  /* Pages cover the same hits in the same order, each once. */
  double seen[5];
  size_t k = 0;
  for (int off = 0; off < 6; off += 2) {
    struct res p = query(s, "robot", off, 2);
    assert_int_equal(p.ret, 0);
    assert_int_equal(p.n, off < 4 ? 2 : 1);
    for (size_t i = 0; i < p.n; i++) {
      assert_true(p.h[i].start == r.h[k].start);
      seen[k++] = p.h[i].start;
    }
    res_free(&p);
  }
  assert_int_equal(k, 5);
  for (size_t i = 0; i < 5; i++)
    for (size_t j = i + 1; j < 5; j++)
      assert_true(seen[i] != seen[j]);
  res_free(&r);
  vd_store_free(s);
}

static void test_hostile_queries(void **state) {
  (void)state;
  struct vd_store *s = library("hostile.db");
  /* FTS5 and tsquery syntax, SQL, odd bytes: words or nothing, never a
   * store error. */
  static const char *const qs[] = {"\"",
                                   "\"forward",
                                   "forward\"",
                                   "NEAR(forward ten)",
                                   "NEAR(forward ten, 2)",
                                   "text:forward",
                                   "{text}: forward",
                                   "*",
                                   "forw*",
                                   "-forward",
                                   "forward NOT ten",
                                   "forward OR",
                                   "AND",
                                   "OR",
                                   "NOT",
                                   "(",
                                   ")",
                                   "((forward)",
                                   "^forward",
                                   "'",
                                   "''",
                                   "\\",
                                   "' OR 1=1 --",
                                   "%",
                                   "_",
                                   ":*",
                                   "forward & ten",
                                   "!forward",
                                   "forward <-> ten",
                                   "forward | nothing",
                                   "forward:*",
                                   "forward:A",
                                   "$1",
                                   "?",
                                   "\"\"\"\"",
                                   ";DROP TABLE files;",
                                   "—",
                                   "forward —",
                                   "«forward»",
                                   "l’homme",
                                   "日本語",
                                   "😀",
                                   "\t\n",
                                   "x",
                                   "0"};
  for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
    struct res r = query(s, qs[i], 0, 10);
    if (r.ret != 0 && r.ret != VD_ERR_INVALID)
      fail_msg("query [%s]: %d", qs[i], r.ret);
    res_free(&r);
  }
  /* Syntax becomes words: these find what their words find. */
  assert_int_equal(count(s, "\"forward"), 1);
  assert_int_equal(count(s, "NEAR(forward ten)"), 0); /* "near" is a word too */
  assert_int_equal(count(s, "text:forward"), 0);      /* so is "text" */
  assert_int_equal(count(s, "(forward) ten*"), 1);
  assert_int_equal(count(s, "forward & ten"), 1);
  assert_int_equal(count(s, "«forward»"), 1);
  assert_int_equal(count(s, "-forward"), 1); /* not a negation */
  vd_store_free(s);
}

static void test_query_limits(void **state) {
  (void)state;
  struct vd_store *s = library("limits.db");
  assert_int_equal(query(s, "", 0, 10).ret, VD_ERR_INVALID);
  assert_int_equal(query(s, " \"*() ", 0, 10).ret, VD_ERR_INVALID);
  assert_int_equal(query(s, "caf\xc3", 0, 10).ret, VD_ERR_INVALID);  /* cut UTF-8 */
  assert_int_equal(query(s, "\xc0\xaf", 0, 10).ret, VD_ERR_INVALID); /* overlong */
  char q[VD_SEARCH_MAX_QUERY + 2];
  memset(q, 'a', sizeof(q) - 1);
  q[sizeof(q) - 1] = '\0';
  assert_int_equal(query(s, q, 0, 10).ret, VD_ERR_LIMIT);
  q[VD_SEARCH_MAX_QUERY] = '\0'; /* exactly the limit: one long word */
  assert_int_equal(count(s, q), 0);
  char many[2 * VD_SEARCH_MAX_WORDS + 3] = "";
  for (int i = 0; i <= VD_SEARCH_MAX_WORDS; i++)
    memcpy(many + 2 * i, "w ", 3);
  assert_int_equal(query(s, many, 0, 10).ret, VD_ERR_LIMIT);
  vd_store_free(s);
}

static void test_migrates_old_library(void **state) {
  (void)state;
  struct vd_store *s = open_db("old.db");
  put_named_file(s, FA, "Holiday Déjà vu.mp4");
  succeeded(s, J1, FA);
  vd_store_free(s);
  /* Back to before search: its tables, triggers and functions gone. */
  db_exec("old.db",
          "DROP TRIGGER files_search; DROP TABLE search_fts; DROP TABLE search_jobs;"
          " DROP TABLE search_runs;"
          " DROP TABLE search_docs; PRAGMA user_version = 3;",
          "DROP TRIGGER files_search ON files; DROP FUNCTION vidan_search_file();"
          " DROP TABLE search_jobs; DROP TABLE search_runs; DROP TABLE search_docs;"
          " DROP FUNCTION vidan_fold(TEXT);"
          " UPDATE vidan_schema SET version = 3;");
  assert_int_equal(db_version("old.db"), 3);
  s = open_db("old.db");
  assert_true(db_version("old.db") >= 4);
  /* The name is found at once; the job waits for the backfill. */
  assert_int_equal(count(s, "deja vu"), 1);
  struct vd_idlist ids;
  assert_int_equal(vd_store_search_pending(s, 10, &ids, NULL), 0);
  assert_int_equal(ids.n, 1);
  vd_idlist_fini(&ids);
  vd_store_free(s);
}

int main(int argc, char **argv) {
  store_test_init(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_and_query),
      cmocka_unit_test(test_replace_and_delete),
      cmocka_unit_test(test_pending),
      cmocka_unit_test(test_ranking_and_paging),
      cmocka_unit_test(test_hostile_queries),
      cmocka_unit_test(test_query_limits),
      cmocka_unit_test(test_migrates_old_library),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
