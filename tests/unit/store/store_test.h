/*
 * store_test.h: helpers the store unit tests share: a fresh database in the
 * test's temp folder, and files and jobs with the fields the tests vary.
 * Header-only on purpose: each test is one translation unit.
 */
#ifndef VD_STORE_TEST_H
#define VD_STORE_TEST_H

#include <stdio.h>

#include "../helpers/testutil.h"
#include "store/store.h"

static struct vd_store *open_db(const char *name) {
  struct vd_store *s = NULL;
  struct vd_err err = {0};
  int ret = vd_store_open(&s, vd_test_path(name), &err);
  if (ret)
    fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(ret, 0);
  return s;
}

static void put_file(struct vd_store *s, const char *id, int *existed) {
  struct vd_file_rec f = {0};
  snprintf(f.id, sizeof(f.id), "%s", id);
  f.name = "a.mp4";
  f.size = 42;
  assert_int_equal(vd_store_file_put(s, &f, existed, NULL), 0);
}

/* A queued job on `file` with webhook URL `hook` (may be NULL). */
static void new_hooked_job(struct vd_store *s, const char *id, const char *file, int max_attempts,
                           const char *hook) {
  struct vd_job_rec j = {0};
  snprintf(j.id, sizeof(j.id), "%s", id);
  j.file_id = (char *)file;
  j.analyses = "[\"probe\"]";
  j.max_attempts = max_attempts;
  j.webhook = (char *)hook;
  assert_int_equal(vd_store_job_create(s, &j, NULL), 0);
}

__attribute__((unused)) static void new_job(struct vd_store *s, const char *id, const char *file,
                                            int max_attempts) {
  new_hooked_job(s, id, file, max_attempts, NULL);
}

/* `worker` claims at `now`, and must get job `id`. */
__attribute__((unused)) static void claim_as(struct vd_store *s, const char *worker, double now,
                                             double lease, const char *id) {
  struct vd_job_rec j;
  assert_int_equal(vd_store_job_claim(s, worker, now, lease, &j, NULL), 1);
  assert_string_equal(j.id, id);
  vd_job_rec_fini(&j);
}

#endif
