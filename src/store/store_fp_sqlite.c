/*
 * store_fp_sqlite.c: the fingerprint operations of the SQLite backend (see
 * store.h, "fingerprints"). Kept apart from store_sqlite.c, which holds the
 * file and job operations; both share the connection pool.
 *
 * A put is a transaction of three statements: the file must exist, an
 * older, different fingerprint goes, and the new one is inserted unless an
 * identical one is there. Deleting and re-inserting (rather than updating)
 * gives a replaced fingerprint a new seq, so a node that catches up by seq
 * (src/library) sees the replacement.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define ROW(st) (&(struct vd__row){vd__sq_cols, (st), 0})

struct put {
  const char *file_id, *data;
  double now;
};

static int put_tx(struct sqlite3 *db, void *arg, struct vd_err *err) {
  struct put *p = arg;
  int n = vd__sq_each(db, NULL, NULL, err, "SELECT 1 FROM files WHERE id = ?", "t", p->file_id);
  if ((n = vd__store_one_row(n, err, "no file %s", p->file_id)) < 0)
    return n;
  if ((n = vd__sq_run(db, err, "DELETE FROM fingerprints WHERE file_id = ? AND data <> ?", "tt",
                      p->file_id, p->data)) < 0)
    return n;
  n = vd__sq_run(db, err,
                 "INSERT INTO fingerprints(file_id, data, created) VALUES(?,?,?)"
                 " ON CONFLICT(file_id) DO NOTHING",
                 "ttd", p->file_id, p->data, p->now);
  return n < 0 ? n : 0;
}

int vd__sq_fingerprint_put(struct vd_store *s, const char *file_id, const char *data,
                           struct vd_err *err) {
  struct put p = {file_id, data, vd__store_now()};
  return vd__sq_with_tx(vd__sq_pool_of(s), put_tx, &p, err);
}

static void row_fp(sqlite3_stmt *st, void *u) { vd__read_fingerprint(ROW(st), u); }

int vd__sq_fingerprint_get(struct vd_store *s, const char *file_id,
                           struct vd_fingerprint_rec *out, struct vd_err *err) {
  int n = vd__sq_query(vd__sq_pool_of(s), row_fp, out, err,
                       "SELECT " VD__FP_COLS " FROM fingerprints WHERE file_id = ?", "t", file_id);
  return vd__store_one_row(n, err, "file %s has no fingerprint", file_id);
}

static void row_fp_page(sqlite3_stmt *st, void *u) {
  struct vd_fingerprint_rec *f = vd__page_next(u);
  if (f)
    vd__read_fingerprint(ROW(st), f);
}

int vd__sq_fingerprint_since(struct vd_store *s, int64_t seq, int limit,
                             struct vd_fingerprint_rec **out, size_t *n, struct vd_err *err) {
  struct vd__page p;
  vd__page_init(&p, sizeof(**out), limit);
  int ret = vd__sq_query(vd__sq_pool_of(s), row_fp_page, &p, err,
                         "SELECT " VD__FP_COLS " FROM fingerprints WHERE seq > ?"
                         " ORDER BY seq LIMIT ?",
                         "li", seq, limit);
  *out = p.recs;
  *n = p.n;
  return ret < 0 ? ret : 0;
}

int vd__sq_fingerprint_delete(struct vd_store *s, const char *file_id, struct vd_err *err) {
  int n = vd__sq_query(vd__sq_pool_of(s), NULL, NULL, err,
                       "DELETE FROM fingerprints WHERE file_id = ? RETURNING seq", "t", file_id);
  return vd__store_one_row(n, err, "file %s has no fingerprint", file_id);
}

static void row_job_page(sqlite3_stmt *st, void *u) {
  struct vd_job_rec *j = vd__page_next(u);
  if (j)
    vd__read_job(ROW(st), j, 1);
}

int vd__sq_fingerprint_missing(struct vd_store *s, int64_t seq, int limit,
                               struct vd_job_rec **out, size_t *n, struct vd_err *err) {
  struct vd__page p;
  vd__page_init(&p, sizeof(**out), limit);
  int ret = vd__sq_query(vd__sq_pool_of(s), row_job_page, &p, err,
                         "SELECT " VD__JOB_COLS " FROM jobs j WHERE j.seq > ?"
                         " AND j.state = 'succeeded' AND j.file_id IS NOT NULL"
                         " AND j.result LIKE '%\"fingerprint\":{%'"
                         " AND NOT EXISTS (SELECT 1 FROM fingerprints f"
                         "                 WHERE f.file_id = j.file_id)"
                         " ORDER BY j.seq LIMIT ?",
                         "li", seq, limit);
  *out = p.recs;
  *n = p.n;
  return ret < 0 ? ret : 0;
}
