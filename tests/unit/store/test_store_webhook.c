/*
 * test_store_webhook.c: durable webhook deliveries in the store (SQLite, or
 * PostgreSQL with --pg: store_test.h).
 * Every way a job with a webhook ends (finish, cancel while queued, a lost
 * worker out of attempts) records one delivery in the same transaction, and
 * nothing when that transaction fails; claims under a lease, retry, delete;
 * deliveries survive reopening the database; a version-1 database is
 * migrated; concurrent claimers never get the same delivery.
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
#include <pthread.h>
#include <sqlite3.h>

#include "store_test.h"
#include "store/store_int.h" /* the newest schema version */

#define FID "4444444444444444444444444444444444444444444444444444444444444444"

/* A hooked job claimed by "w" at `when` - 1 and succeeded at `when`. */
static void succeeded_job(struct vd_store *s, const char *id, const char *hook, double when) {
  new_hooked_job(s, id, FID, 3, hook);
  claim_as(s, "w", when - 1, 10, id);
  assert_int_equal(
      vd_store_job_finish(s, id, "w", VD_JOB_SUCCEEDED, "{}", NULL, NULL, 0, when, NULL), 0);
}

/* Claims, asserting that `id` is the job the delivery is for. */
static void claim_one(struct vd_store *s, double now, const char *id, struct vd_webhook_rec *h) {
  double next = -1;
  assert_int_equal(vd_store_webhook_claim(s, now, 30, h, &next, NULL), 1);
  assert_string_equal(h->job_id, id);
}

static int64_t pending(struct vd_store *s) {
  int64_t n = -1;
  assert_int_equal(vd_store_webhook_count(s, &n, NULL), 0);
  return n;
}

/* Checks the payload: id, status, file id, error (NULL = JSON null), time. */
static void check_body(const char *body, const char *id, const char *status, const char *error,
                       double finished) {
  json_error_t je;
  json_t *j = json_loads(body, 0, &je);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "id")), id);
  assert_string_equal(json_string_value(json_object_get(j, "status")), status);
  assert_string_equal(json_string_value(json_object_get(j, "file_id")), FID);
  if (error)
    assert_string_equal(json_string_value(json_object_get(j, "error")), error);
  else
    assert_true(json_is_null(json_object_get(j, "error")));
  assert_true(json_number_value(json_object_get(j, "finished_at")) == finished);
  json_decref(j);
}

static void test_finish_records_delivery(void **state) {
  (void)state;
  struct vd_store *s = open_db("finish.db");
  struct vd_job_rec j;
  struct vd_webhook_rec h;
  double next = -1;
  put_file(s, FID, NULL);
  new_hooked_job(s, "hooked", FID, 3, "http://127.0.0.1:9/done");
  new_hooked_job(s, "quiet", FID, 3, NULL);
  claim_as(s, "w1", 100, 10, "hooked");
  claim_as(s, "w2", 100, 10, "quiet");
  assert_int_equal(vd_store_webhook_claim(s, 1000, 30, &h, &next, NULL), 0);
  assert_true(next == 0); /* nothing pending at all */

  /* A finish that fails part-way (an artifact without a name) writes
   * nothing: the job still runs and no delivery exists. */
  struct vd_artifact_rec bad = {"probe", NULL, "", 1};
  assert_int_equal(
      vd_store_job_finish(s, "hooked", "w1", VD_JOB_SUCCEEDED, "{}", NULL, &bad, 1, 103, NULL),
      VD_ERR_INVALID);
  assert_int_equal(vd_store_job_get(s, "hooked", &j, NULL), 0);
  assert_int_equal(j.state, VD_JOB_RUNNING);
  vd_job_rec_fini(&j);
  assert_int_equal(pending(s), 0);
  /* Nor does a finish by a worker that does not own the job. */
  assert_int_equal(
      vd_store_job_finish(s, "hooked", "w2", VD_JOB_SUCCEEDED, "{}", NULL, NULL, 0, 104, NULL),
      VD_ERR_NOT_FOUND);
  assert_int_equal(pending(s), 0);

  assert_int_equal(
      vd_store_job_finish(s, "hooked", "w1", VD_JOB_SUCCEEDED, "{}", NULL, NULL, 0, 105, NULL), 0);
  assert_int_equal(
      vd_store_job_finish(s, "quiet", "w2", VD_JOB_FAILED, NULL, "bad input", NULL, 0, 105, NULL),
      0);
  assert_int_equal(pending(s), 1); /* the job without a webhook has none */

  /* Due at the finish time, not before. */
  assert_int_equal(vd_store_webhook_claim(s, 104.5, 30, &h, &next, NULL), 0);
  assert_true(next == 105);
  claim_one(s, 105, "hooked", &h);
  assert_string_equal(h.url, "http://127.0.0.1:9/done");
  assert_int_equal(h.attempts, 1);
  assert_true(h.next_at == 135); /* leased while in flight */
  check_body(h.body, "hooked", "succeeded", NULL, 105);
  int64_t id = h.id;
  vd_webhook_rec_fini(&h);
  /* In flight: nobody else gets it until the lease runs out. */
  assert_int_equal(vd_store_webhook_claim(s, 110, 30, &h, &next, NULL), 0);
  assert_true(next == 135);

  /* A failed try is rescheduled; the attempt count carries on. */
  assert_int_equal(vd_store_webhook_retry(s, id, 112, "HTTP 500", NULL), 0);
  assert_int_equal(vd_store_webhook_claim(s, 111, 30, &h, &next, NULL), 0);
  assert_true(next == 112);
  claim_one(s, 112, "hooked", &h);
  assert_int_equal(h.attempts, 2);
  vd_webhook_rec_fini(&h);
  /* A claimer that died mid-POST: the lease expires and it comes back. */
  claim_one(s, 142.5, "hooked", &h);
  assert_int_equal(h.attempts, 3);
  vd_webhook_rec_fini(&h);

  /* Sent: gone, and gone only once. */
  assert_int_equal(vd_store_webhook_delete(s, id, NULL), 0);
  assert_int_equal(vd_store_webhook_delete(s, id, NULL), VD_ERR_NOT_FOUND);
  assert_int_equal(vd_store_webhook_retry(s, id, 1, NULL, NULL), VD_ERR_NOT_FOUND);
  assert_int_equal(pending(s), 0);

  /* Deleting the job does not take back a pending notification. */
  succeeded_job(s, "short-lived", "http://127.0.0.1:9/x", 201);
  struct vd_idlist orphans;
  assert_int_equal(vd_store_job_delete(s, "short-lived", &orphans, NULL), 0);
  vd_idlist_fini(&orphans);
  claim_one(s, 201, "short-lived", &h);
  vd_webhook_rec_fini(&h);
  vd_store_free(s);
}

static void test_other_endings(void **state) {
  (void)state;
  struct vd_store *s = open_db("endings.db");
  struct vd_job_rec j;
  struct vd_webhook_rec h;
  int st;
  put_file(s, FID, NULL);
  /* Canceled while queued: the job ends in the cancel call. */
  new_hooked_job(s, "queued", FID, 3, "http://127.0.0.1:9/q");
  assert_int_equal(vd_store_job_cancel(s, "queued", 50, &st, NULL), 0);
  assert_int_equal(st, VD_JOB_CANCELED);
  claim_one(s, 50, "queued", &h);
  check_body(h.body, "queued", "canceled", "canceled", 50);
  assert_int_equal(vd_store_webhook_delete(s, h.id, NULL), 0);
  vd_webhook_rec_fini(&h);
  /* Canceling it again ends nothing new. */
  assert_int_equal(vd_store_job_cancel(s, "queued", 51, &st, NULL), 0);
  assert_int_equal(st, VD_JOB_CANCELED);
  assert_int_equal(pending(s), 0);
  assert_int_equal(vd_store_job_cancel(s, "nope", 51, &st, NULL), VD_ERR_NOT_FOUND);

  /* Canceling a running job only flags it: the delivery comes with the
   * worker's finish. */
  new_hooked_job(s, "running", FID, 3, "http://127.0.0.1:9/r");
  claim_as(s, "w1", 60, 10, "running");
  assert_int_equal(vd_store_job_cancel(s, "running", 61, &st, NULL), 0);
  assert_int_equal(st, VD_JOB_RUNNING);
  assert_int_equal(pending(s), 0);
  assert_int_equal(
      vd_store_job_finish(s, "running", "w1", VD_JOB_CANCELED, NULL, "canceled", NULL, 0, 62, NULL),
      0);
  claim_one(s, 62, "running", &h);
  check_body(h.body, "running", "canceled", "canceled", 62);
  assert_int_equal(vd_store_webhook_delete(s, h.id, NULL), 0);
  vd_webhook_rec_fini(&h);

  /* Workers that die: re-queued first (no delivery), then out of attempts
   * the next claim fails the job and records its delivery. */
  new_hooked_job(s, "doomed", FID, 1, "http://127.0.0.1:9/d");
  claim_as(s, "dead", 70, 5, "doomed");
  assert_int_equal(pending(s), 0);
  assert_int_equal(vd_store_job_claim(s, "w2", 80, 5, &j, NULL), 0);
  claim_one(s, 80, "doomed", &h);
  check_body(h.body, "doomed", "failed", "worker lost (lease expired) on attempt 1 of 1", 80);
  vd_webhook_rec_fini(&h);
  vd_store_free(s);
}

static void test_survives_reopen_and_migrates(void **state) {
  (void)state;
  struct vd_store *s = open_db("reopen.db");
  struct vd_job_rec j;
  struct vd_webhook_rec h;
  put_file(s, FID, NULL);
  succeeded_job(s, "a", "http://127.0.0.1:9/a", 11);
  vd_store_free(s); /* the process "restarts" */
  s = open_db("reopen.db");
  assert_int_equal(pending(s), 1);
  claim_one(s, 11, "a", &h);
  check_body(h.body, "a", "succeeded", NULL, 11);
  vd_webhook_rec_fini(&h);
  vd_store_free(s);

  /* A database from before webhook deliveries were stored (version 1)
   * gains the table and keeps its rows. */
  db_exec("reopen.db", "DROP TABLE webhooks; DROP TABLE fingerprints; PRAGMA user_version = 1;",
          "DROP TABLE webhooks; DROP TABLE fingerprints; UPDATE vidan_schema SET version = 1;");
  assert_int_equal(db_version("reopen.db"), 1);
  s = open_db("reopen.db");
  assert_int_equal(pending(s), 0);
  assert_int_equal(vd_store_job_get(s, "a", &j, NULL), 0);
  assert_int_equal(j.state, VD_JOB_SUCCEEDED);
  vd_job_rec_fini(&j);
  vd_store_free(s);
  assert_int_equal(db_version("reopen.db"), vd__sqlite_nmigrations);
}

/* ---- concurrent claimers ------------------------------------------------------ */

#define NHOOKS 40
#define NCLAIMERS 4

struct claimer {
  struct vd_store *s;
  int got[NHOOKS]; /* claims per job index */
};

static void *claimer_main(void *arg) {
  struct claimer *c = arg;
  for (;;) {
    struct vd_webhook_rec h;
    double next;
    int r = vd_store_webhook_claim(c->s, 1000, 30, &h, &next, NULL);
    if (r < 0)
      continue; /* busy: try again */
    if (r == 0) {
      if (next == 0) /* nothing pending any more */
        break;
      continue; /* raced another claimer */
    }
    int k = (int)strtol(h.job_id + 1, NULL, 10);
    if (k >= 0 && k < NHOOKS)
      c->got[k]++;
    if (vd_store_webhook_delete(c->s, h.id, NULL) < 0)
      c->got[0] += 100; /* someone else deleted our claim: fail below */
    vd_webhook_rec_fini(&h);
  }
  return NULL;
}

static void test_concurrent_claims(void **state) {
  (void)state;
  struct vd_store *s = open_db("many.db");
  char id[16];
  put_file(s, FID, NULL);
  for (int i = 0; i < NHOOKS; i++) {
    snprintf(id, sizeof(id), "j%d", i);
    succeeded_job(s, id, "http://127.0.0.1:9/m", 2 + i);
  }
  struct claimer cs[NCLAIMERS];
  pthread_t th[NCLAIMERS];
  for (int i = 0; i < NCLAIMERS; i++) {
    memset(&cs[i], 0, sizeof(cs[i]));
    cs[i].s = s;
    assert_int_equal(pthread_create(&th[i], NULL, claimer_main, &cs[i]), 0);
  }
  for (int i = 0; i < NCLAIMERS; i++)
    pthread_join(th[i], NULL);
  for (int k = 0; k < NHOOKS; k++) {
    int total = 0;
    for (int i = 0; i < NCLAIMERS; i++)
      total += cs[i].got[k];
    assert_int_equal(total, 1); /* each delivery claimed exactly once */
  }
  assert_int_equal(pending(s), 0);
  vd_store_free(s);
}

int main(int argc, char **argv) {
  store_test_init(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_finish_records_delivery),
      cmocka_unit_test(test_other_endings),
      cmocka_unit_test(test_survives_reopen_and_migrates),
      cmocka_unit_test(test_concurrent_claims),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
