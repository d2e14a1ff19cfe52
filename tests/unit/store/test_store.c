/*
 * test_store.c: the store through the public interface: files (dedupe,
 * paging), the job life cycle (claim under lease, heartbeat, finish only by
 * the owner, atomic artifacts), lease expiry and max attempts, cancel,
 * deletes that report orphaned blobs, schema versions, claims from two
 * handles on one database (two nodes), and cross-process wake-ups. SQLite
 * by default; with --pg the same tests run against PostgreSQL, plus
 * reconnecting after the server dropped the connections (store_test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

#include "store_test.h"
#include "store/store_int.h" /* the newest schema version */

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
  assert_int_equal(db_version("schema.db"), vd__sqlite_nmigrations);
  /* A database from a newer vidan is refused, not damaged. */
  db_exec("schema.db", "PRAGMA user_version = 99", "UPDATE vidan_schema SET version = 99");
  struct vd_err err = {0};
  assert_int_equal(vd_store_open(&s, db_location("schema.db"), &err), VD_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "newer"));
  assert_null(s);
  assert_int_equal(db_version("schema.db"), 99);
  /* Unknown backends are named. */
  vd_err_clear(&err);
  assert_int_equal(vd_store_open(&s, "mysql://x/y", &err), VD_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "mysql://"));
  /* PostgreSQL: a server that is not there is a clear error, and the
   * password in the location is not repeated. */
  vd_err_clear(&err);
  int ret = vd_store_open(&s, "postgresql://u:secret@127.0.0.1:1/x", &err);
  assert_null(s);
  fprintf(stderr, "open without a server: %s\n", err.msg);
  assert_null(strstr(err.msg, "secret"));
#ifdef VD_HAVE_LIBPQ
  assert_int_equal(ret, -ECONNREFUSED);
  assert_non_null(strstr(err.msg, "cannot connect to PostgreSQL at 127.0.0.1:1/x"));
#else
  assert_int_equal(ret, VD_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "without PostgreSQL"));
#endif
}

/* ---- two nodes on one database ------------------------------------------------ */

#define NJOBS 40
#define NCLAIMERS 4

struct worker {
  struct vd_store *s;
  char name[16];
  int got[NJOBS]; /* claims per job index */
  int errors;
};

static double now_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct vd_job_rec j;
  int r;
  while ((r = vd_store_job_claim(w->s, w->name, now_wall(), 60, &j, NULL)) != 0) {
    if (r < 0) { /* SQLite: busy; PostgreSQL never */
      w->errors += use_pg;
      continue;
    }
    int k = (int)strtol(j.id + 1, NULL, 10);
    if (k >= 0 && k < NJOBS)
      w->got[k]++;
    int cancel;
    if (vd_store_job_heartbeat(w->s, j.id, w->name, 0.5, "working", now_wall(), now_wall() + 60,
                               &cancel, NULL) ||
        vd_store_job_finish(w->s, j.id, w->name, VD_JOB_SUCCEEDED, "{}", NULL, NULL, 0,
                            now_wall(), NULL))
      w->errors++;
    vd_job_rec_fini(&j);
  }
  return NULL;
}

static void test_two_nodes(void **state) {
  (void)state;
  struct vd_store *node[2] = {open_db("nodes.db"), open_db("nodes.db")};
  const char *fid = "5555555555555555555555555555555555555555555555555555555555555555";
  char id[16];
  put_file(node[0], fid, NULL);
  for (int i = 0; i < NJOBS; i++) {
    snprintf(id, sizeof(id), "j%d", i);
    new_job(node[i % 2], id, fid, 3);
  }
  struct worker ws[NCLAIMERS];
  pthread_t th[NCLAIMERS];
  for (int i = 0; i < NCLAIMERS; i++) {
    memset(&ws[i], 0, sizeof(ws[i]));
    ws[i].s = node[i % 2];
    snprintf(ws[i].name, sizeof(ws[i].name), "w%d", i);
    assert_int_equal(pthread_create(&th[i], NULL, worker_main, &ws[i]), 0);
  }
  for (int i = 0; i < NCLAIMERS; i++)
    pthread_join(th[i], NULL);
  int per_node[2] = {0, 0};
  for (int k = 0; k < NJOBS; k++) {
    int total = 0;
    for (int i = 0; i < NCLAIMERS; i++) {
      total += ws[i].got[k];
      per_node[i % 2] += ws[i].got[k];
    }
    assert_int_equal(total, 1); /* each job claimed exactly once */
  }
  for (int i = 0; i < NCLAIMERS; i++)
    assert_int_equal(ws[i].errors, 0);
  fprintf(stderr, "jobs per node: %d + %d\n", per_node[0], per_node[1]);
  int64_t counts[VD_JOB_NSTATES];
  assert_int_equal(vd_store_job_counts(node[1], counts, NULL), 0);
  assert_int_equal(counts[VD_JOB_SUCCEEDED], NJOBS);
  vd_store_free(node[0]);
  vd_store_free(node[1]);
}

/* ---- wake-ups across processes, reconnects --------------------------------------- */

/* How long a vd_store_job_wait(`ms`) took, in ms; its value in *ret. */
static double timed_wait(struct vd_store *s, int ms, int *ret) {
  double t0 = now_wall();
  struct vd_err err = {0};
  *ret = vd_store_job_wait(s, ms, &err);
  if (*ret < 0)
    fprintf(stderr, "wait: %s\n", err.msg);
  return (now_wall() - t0) * 1000;
}

static void test_wake(void **state) {
  (void)state;
  struct vd_store *a = open_db("wake.db"), *b = open_db("wake.db");
  const char *fid = "6666666666666666666666666666666666666666666666666666666666666666";
  int ret;
  if (!use_pg) { /* one process: vd_jobs_wake does it */
    assert_int_equal(vd_store_job_wait(a, 10, NULL), VD_ERR_UNSUPPORTED);
    vd_store_free(a);
    vd_store_free(b);
    return;
  }
  assert_int_equal(vd_store_job_wait(a, 0, NULL), 0); /* starts listening */
  /* Nothing queued: the wait runs its time out. */
  double ms = timed_wait(a, 200, &ret);
  assert_int_equal(ret, 0);
  assert_true(ms >= 150);
  /* A job queued through the other handle ("node") wakes this one at once. */
  put_file(b, fid, NULL);
  new_job(b, "wake-1", fid, 3);
  ms = timed_wait(a, 5000, &ret);
  assert_int_equal(ret, 1);
  assert_true(ms < 1000);
  claim_as(a, "w1", now_wall(), 30, "wake-1");
  assert_int_equal(vd_store_job_wait(a, 0, NULL), 0); /* consumed */
  /* A lease given back (a node shutting down) wakes too. */
  int cancel;
  assert_int_equal(vd_store_job_heartbeat(a, "wake-1", "w1", 0, "interrupted", now_wall(), 0,
                                          &cancel, NULL), 0);
  assert_int_equal(timed_wait(a, 5000, &ret) < 1000, 1);
  assert_int_equal(ret, 1);
  claim_as(b, "w2", now_wall(), 30, "wake-1");

#ifdef VD_HAVE_LIBPQ
  /* The server drops every connection (a restart, a failover): pooled
   * connections reconnect before their next statement, and the listener
   * reconnects and reports a (possibly missed) wake-up. */
  PGconn *pg = pg_raw(pg_name("wake.db"));
  pg_exec(pg, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
              " WHERE datname = current_database() AND pid <> pg_backend_pid()");
  PQfinish(pg);
  usleep(100000);
  struct vd_job_rec j;
  assert_int_equal(vd_store_job_get(a, "wake-1", &j, NULL), 0);
  assert_string_equal(j.worker, "w2");
  vd_job_rec_fini(&j);
  new_job(b, "wake-2", fid, 3);
  int woke = 0;
  for (int i = 0; i < 3 && !woke; i++) { /* an error, then the reconnect's wake-up */
    timed_wait(a, 1000, &ret);
    woke = ret == 1;
  }
  assert_true(woke);
  claim_as(a, "w1", now_wall(), 30, "wake-2");
#endif
  vd_store_free(a);
  vd_store_free(b);
}

int main(int argc, char **argv) {
  store_test_init(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_files),
      cmocka_unit_test(test_job_lifecycle),
      cmocka_unit_test(test_lease_expiry),
      cmocka_unit_test(test_schema_version),
      cmocka_unit_test(test_two_nodes),
      cmocka_unit_test(test_wake),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
