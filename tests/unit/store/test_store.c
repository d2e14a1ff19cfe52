/*
 * test_store.c: the SQLite store through the public interface: files
 * (dedupe, paging), the job life cycle (claim under lease, heartbeat,
 * finish only by the owner, atomic artifacts), lease expiry and max
 * attempts, cancel, deletes that report orphaned blobs, and schema versions.
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

static void test_files(void **state) {
  (void)state;
  struct vd_store *s = open_db("files.db");
  int existed = -1;
  char id[65];
  for (int i = 0; i < 5; i++) {
    snprintf(id, sizeof(id), "%064d", i);
    put_file(s, id, &existed);
    assert_int_equal(existed, 0);
  }
  put_file(s, id, &existed);
  assert_int_equal(existed, 1);
  struct vd_file_rec f;
  assert_int_equal(vd_store_file_get(s, id, &f, NULL), 0);
  assert_string_equal(f.name, "a.mp4");
  assert_int_equal(f.size, 42);
  vd_file_rec_fini(&f);
  assert_int_equal(vd_store_file_get(s, "nope", &f, NULL), VD_ERR_NOT_FOUND);
  /* Paging: newest first, 2 per page, 5 in all, no repeats. */
  int64_t cursor = 0;
  size_t total = 0;
  char last[65] = "zzz";
  for (int page = 0; page < 4; page++) {
    struct vd_file_rec *recs;
    size_t n;
    assert_int_equal(vd_store_file_list(s, cursor, 2, &recs, &n, NULL), 0);
    for (size_t i = 0; i < n; i++) {
      assert_true(strcmp(recs[i].id, last) < 0);
      snprintf(last, sizeof(last), "%s", recs[i].id);
      cursor = recs[i].seq;
      vd_file_rec_fini(&recs[i]);
    }
    free(recs);
    total += n;
  }
  assert_int_equal(total, 5);
  vd_store_free(s);
}

static void test_job_lifecycle(void **state) {
  (void)state;
  struct vd_store *s = open_db("jobs.db");
  const char *fid = "1111111111111111111111111111111111111111111111111111111111111111";
  put_file(s, fid, NULL);
  new_job(s, "job-1", fid, 3);
  new_job(s, "job-2", fid, 3);
  struct vd_job_rec j;
  int cancel = -1, st;
  /* Claims go oldest first, each job once. */
  assert_int_equal(vd_store_job_claim(s, "w1", 100, 10, &j, NULL), 1);
  assert_string_equal(j.id, "job-1");
  assert_int_equal(j.state, VD_JOB_RUNNING);
  assert_int_equal(j.attempts, 1);
  vd_job_rec_fini(&j);
  assert_int_equal(vd_store_job_claim(s, "w2", 101, 10, &j, NULL), 1);
  assert_string_equal(j.id, "job-2");
  vd_job_rec_fini(&j);
  assert_int_equal(vd_store_job_claim(s, "w3", 102, 10, &j, NULL), 0);
  int active;
  assert_int_equal(vd_store_file_active_jobs(s, fid, &active, NULL), 0);
  assert_int_equal(active, 2);

  /* Heartbeats only from the owner. */
  assert_int_equal(vd_store_job_heartbeat(s, "job-1", "w1", 0.5, "decoding", 103, 113, &cancel, NULL), 0);
  assert_int_equal(cancel, 0);
  assert_int_equal(vd_store_job_heartbeat(s, "job-1", "w2", 0.6, "x", 103, 113, &cancel, NULL),
                   VD_ERR_NOT_FOUND);
  assert_int_equal(vd_store_job_get(s, "job-1", &j, NULL), 0);
  assert_true(j.progress == 0.5);
  assert_string_equal(j.stage, "decoding");
  vd_job_rec_fini(&j);

  /* Finish: result and artifacts together, only by the owner, only once. */
  struct vd_artifact_rec arts[2] = {{"scenes", "scenes.csv", "aa", 10}, {"scenes", "s1.jpg", "bb", 20}};
  snprintf(arts[0].blob, 65, "%064x", 0xaa);
  snprintf(arts[1].blob, 65, "%064x", 0xbb);
  assert_int_equal(vd_store_job_finish(s, "job-1", "w2", VD_JOB_SUCCEEDED, "{}", NULL, arts, 2, 104, NULL),
                   VD_ERR_NOT_FOUND);
  assert_int_equal(vd_store_job_finish(s, "job-1", "w1", VD_JOB_SUCCEEDED, "{\"x\":1}", NULL, arts, 2, 104, NULL), 0);
  assert_int_equal(vd_store_job_finish(s, "job-1", "w1", VD_JOB_FAILED, NULL, "late", NULL, 0, 105, NULL),
                   VD_ERR_NOT_FOUND);
  assert_int_equal(vd_store_job_get(s, "job-1", &j, NULL), 0);
  assert_int_equal(j.state, VD_JOB_SUCCEEDED);
  assert_string_equal(j.result, "{\"x\":1}");
  assert_true(j.progress == 1.0);
  vd_job_rec_fini(&j);
  struct vd_artifact_rec *got;
  size_t n;
  assert_int_equal(vd_store_job_artifacts(s, "job-1", &got, &n, NULL), 0);
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++)
    vd_artifact_rec_fini(&got[i]);
  free(got);
  assert_int_equal(vd_store_blob_referenced(s, arts[0].blob, NULL), 1);

  /* Cancel of a running job sets the flag the heartbeat reports. */
  assert_int_equal(vd_store_job_cancel(s, "job-2", 106, &st, NULL), 0);
  assert_int_equal(st, VD_JOB_RUNNING);
  assert_int_equal(vd_store_job_heartbeat(s, "job-2", "w2", 0.1, NULL, 107, 117, &cancel, NULL), 0);
  assert_int_equal(cancel, 1);
  assert_int_equal(vd_store_job_finish(s, "job-2", "w2", VD_JOB_CANCELED, NULL, "canceled", NULL, 0, 108, NULL), 0);
  /* Cancel of a queued job ends it at once. */
  new_job(s, "job-3", fid, 3);
  assert_int_equal(vd_store_job_cancel(s, "job-3", 109, &st, NULL), 0);
  assert_int_equal(st, VD_JOB_CANCELED);
  assert_int_equal(vd_store_job_claim(s, "w1", 110, 10, &j, NULL), 0);

  int64_t counts[VD_JOB_NSTATES];
  assert_int_equal(vd_store_job_counts(s, counts, NULL), 0);
  assert_int_equal(counts[VD_JOB_SUCCEEDED], 1);
  assert_int_equal(counts[VD_JOB_CANCELED], 2);

  /* Deleting the file takes its jobs and reports the now-unused blobs. */
  struct vd_idlist orphans;
  assert_int_equal(vd_store_file_delete(s, fid, &orphans, NULL), 0);
  assert_int_equal(orphans.n, 3); /* two artifacts + the file's own blob */
  vd_idlist_fini(&orphans);
  assert_int_equal(vd_store_job_get(s, "job-1", &j, NULL), VD_ERR_NOT_FOUND);
  assert_int_equal(vd_store_job_artifacts(s, "job-1", &got, &n, NULL), 0);
  assert_int_equal(n, 0);
  free(got);
  assert_int_equal(vd_store_file_delete(s, fid, &orphans, NULL), VD_ERR_NOT_FOUND);
  vd_store_free(s);
}

static void test_lease_expiry(void **state) {
  (void)state;
  struct vd_store *s = open_db("lease.db");
  const char *fid = "2222222222222222222222222222222222222222222222222222222222222222";
  put_file(s, fid, NULL);
  new_job(s, "j", fid, 2);
  struct vd_job_rec j;
  int cancel;
  assert_int_equal(vd_store_job_claim(s, "dead", 100, 5, &j, NULL), 1);
  vd_job_rec_fini(&j);
  /* Before expiry nobody else gets it. */
  assert_int_equal(vd_store_job_claim(s, "w2", 104, 5, &j, NULL), 0);
  /* After expiry it is queued again and taken, attempt 2. */
  assert_int_equal(vd_store_job_claim(s, "w2", 106, 5, &j, NULL), 1);
  assert_int_equal(j.attempts, 2);
  vd_job_rec_fini(&j);
  /* The dead worker's late result is refused. */
  assert_int_equal(vd_store_job_finish(s, "j", "dead", VD_JOB_SUCCEEDED, "{}", NULL, NULL, 0, 107, NULL),
                   VD_ERR_NOT_FOUND);
  assert_int_equal(vd_store_job_heartbeat(s, "j", "dead", 0.9, NULL, 107, 200, &cancel, NULL),
                   VD_ERR_NOT_FOUND);
  /* Second worker dies too: out of attempts, the job fails with the reason. */
  assert_int_equal(vd_store_job_claim(s, "w3", 120, 5, &j, NULL), 0);
  assert_int_equal(vd_store_job_get(s, "j", &j, NULL), 0);
  assert_int_equal(j.state, VD_JOB_FAILED);
  assert_non_null(strstr(j.error, "lease expired"));
  assert_non_null(strstr(j.error, "2 of 2"));
  vd_job_rec_fini(&j);
  vd_store_free(s);
}

static void test_schema_version(void **state) {
  (void)state;
  struct vd_store *s = open_db("schema.db");
  put_file(s, "3333333333333333333333333333333333333333333333333333333333333333", NULL);
  vd_store_free(s);
  /* Reopening keeps the data and does not migrate twice. */
  s = open_db("schema.db");
  struct vd_file_rec f;
  assert_int_equal(vd_store_file_get(s, "3333333333333333333333333333333333333333333333333333333333333333", &f, NULL), 0);
  vd_file_rec_fini(&f);
  vd_store_free(s);
  /* A database from a newer vidan is refused, not damaged. */
  sqlite3 *db;
  assert_int_equal(sqlite3_open(vd_test_path("schema.db"), &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  struct vd_err err = {0};
  assert_int_equal(vd_store_open(&s, vd_test_path("schema.db"), &err), VD_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "newer"));
  assert_null(s);
  /* Unknown backends are named. */
  assert_int_equal(vd_store_open(&s, "postgres://x", &err), VD_ERR_UNSUPPORTED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_files),
      cmocka_unit_test(test_job_lifecycle),
      cmocka_unit_test(test_lease_expiry),
      cmocka_unit_test(test_schema_version),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
