/*
 * store_int.h: the vtable a store backend implements. Each backend embeds
 * `struct vd_store` as the first member of its own struct and fills `ops`;
 * store.c forwards every public call through it. The ops have exactly the
 * semantics documented for the vd_store_* function of the same name.
 */
#ifndef VD_STORE_STORE_INT_H
#define VD_STORE_STORE_INT_H

#include "store/store.h"

struct vd_store_ops {
  const char *name;
  void (*free)(struct vd_store *s);
  int (*file_put)(struct vd_store *s, struct vd_file_rec *f, int *existed, struct vd_err *err);
  int (*file_get)(struct vd_store *s, const char *id, struct vd_file_rec *out, struct vd_err *err);
  int (*file_list)(struct vd_store *s, int64_t cursor, int limit, struct vd_file_rec **out,
                   size_t *n, struct vd_err *err);
  int (*file_delete)(struct vd_store *s, const char *id, struct vd_idlist *orphans,
                     struct vd_err *err);
  int (*file_active_jobs)(struct vd_store *s, const char *file_id, int *n, struct vd_err *err);
  int (*job_create)(struct vd_store *s, struct vd_job_rec *j, struct vd_err *err);
  int (*job_get)(struct vd_store *s, const char *id, struct vd_job_rec *out, struct vd_err *err);
  int (*job_list)(struct vd_store *s, const char *file_id, int state, const char *kind,
                  int64_t cursor, int limit, struct vd_job_rec **out, size_t *n,
                  struct vd_err *err);
  int (*job_claim)(struct vd_store *s, const char *worker, double now, double lease,
                   struct vd_job_rec *out, struct vd_err *err);
  int (*job_heartbeat)(struct vd_store *s, const char *id, const char *worker, double progress,
                       const char *stage, double now, double lease_until, int *cancel,
                       struct vd_err *err);
  int (*job_finish)(struct vd_store *s, const char *id, const char *worker,
                    enum vd_job_state state, const char *result, const char *error,
                    const struct vd_artifact_rec *arts, size_t n_arts, double now,
                    struct vd_err *err);
  int (*job_cancel)(struct vd_store *s, const char *id, double now, int *state,
                    struct vd_err *err);
  int (*job_delete)(struct vd_store *s, const char *id, struct vd_idlist *orphans,
                    struct vd_err *err);
  int (*job_artifacts)(struct vd_store *s, const char *id, struct vd_artifact_rec **out,
                       size_t *n, struct vd_err *err);
  int (*job_counts)(struct vd_store *s, int64_t counts[VD_JOB_NSTATES], struct vd_err *err);
  int (*blob_referenced)(struct vd_store *s, const char *blob, struct vd_err *err);
  int (*webhook_claim)(struct vd_store *s, double now, double lease, struct vd_webhook_rec *out,
                       double *next, struct vd_err *err);
  int (*webhook_retry)(struct vd_store *s, int64_t id, double next_at, const char *error,
                       struct vd_err *err);
  int (*webhook_delete)(struct vd_store *s, int64_t id, struct vd_err *err);
  int (*webhook_count)(struct vd_store *s, int64_t *n, struct vd_err *err);
};

struct vd_store {
  const struct vd_store_ops *ops;
};

int vd__store_sqlite_open(struct vd_store **out, const char *path, struct vd_err *err);

/* The SQLite schema history (store_sqlite_schema.c): vd__sqlite_migrations[i]
 * moves a database from user_version i to i + 1. */
extern const char *const vd__sqlite_migrations[];
extern const int vd__sqlite_nmigrations;

#endif
