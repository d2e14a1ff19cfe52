/*
 * store_fp_pg.c: the fingerprint operations of the PostgreSQL backend, the
 * same statements as store_fp_sqlite.c (see there for why a put deletes and
 * inserts) with $n placeholders. Several nodes put at once safely: two puts
 * of one file both delete the older row, and the second insert finds the
 * first one's row and does nothing (ON CONFLICT).
 */
#ifdef VD_HAVE_LIBPQ

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define ROW(r, i) (&(struct vd__row){vd__pg_cols, (r), (i)})

struct put {
  const char *file_id, *data;
  double now;
};

static int put_tx(struct vd__pg_conn *c, void *arg, struct vd_err *err) {
  struct put *p = arg;
  int n = vd__pg_each(c, NULL, NULL, err, "SELECT 1 FROM files WHERE id = $1", "t", p->file_id);
  if ((n = vd__store_one_row(n, err, "no file %s", p->file_id)) < 0)
    return n;
  if ((n = vd__pg_run(c, err, "DELETE FROM fingerprints WHERE file_id = $1 AND data <> $2", "tt",
                      p->file_id, p->data)) < 0)
    return n;
  n = vd__pg_run(c, err,
                 "INSERT INTO fingerprints(file_id, data, created) VALUES($1,$2,$3)"
                 " ON CONFLICT(file_id) DO NOTHING",
                 "ttd", p->file_id, p->data, p->now);
  return n < 0 ? n : 0;
}

int vd__pg_fingerprint_put(struct vd_store *s, const char *file_id, const char *data,
                           struct vd_err *err) {
  struct put p = {file_id, data, vd__store_now()};
  return vd__pg_with_tx(vd__pg_pool_of(s), put_tx, &p, err);
}

static void row_fp(PGresult *r, int i, void *u) { vd__read_fingerprint(ROW(r, i), u); }

int vd__pg_fingerprint_get(struct vd_store *s, const char *file_id,
                           struct vd_fingerprint_rec *out, struct vd_err *err) {
  int n = vd__pg_query(vd__pg_pool_of(s), row_fp, out, err,
                       "SELECT " VD__FP_COLS " FROM fingerprints WHERE file_id = $1", "t",
                       file_id);
  return vd__store_one_row(n, err, "file %s has no fingerprint", file_id);
}

static void row_fp_page(PGresult *r, int i, void *u) {
  struct vd_fingerprint_rec *f = vd__page_next(u);
  if (f)
    vd__read_fingerprint(ROW(r, i), f);
}

int vd__pg_fingerprint_since(struct vd_store *s, int64_t seq, int limit,
                             struct vd_fingerprint_rec **out, size_t *n, struct vd_err *err) {
  struct vd__page p;
  vd__page_init(&p, sizeof(**out), limit);
  int ret = vd__pg_query(vd__pg_pool_of(s), row_fp_page, &p, err,
                         "SELECT " VD__FP_COLS " FROM fingerprints WHERE seq > $1"
                         " ORDER BY seq LIMIT $2",
                         "li", seq, limit > 0 ? limit : 0);
  *out = p.recs;
  *n = p.n;
  return ret < 0 ? ret : 0;
}

int vd__pg_fingerprint_delete(struct vd_store *s, const char *file_id, struct vd_err *err) {
  int n = vd__pg_query(vd__pg_pool_of(s), NULL, NULL, err,
                       "DELETE FROM fingerprints WHERE file_id = $1 RETURNING seq", "t", file_id);
  return vd__store_one_row(n, err, "file %s has no fingerprint", file_id);
}

static void row_job_page(PGresult *r, int i, void *u) {
  struct vd_job_rec *j = vd__page_next(u);
  if (j)
    vd__read_job(ROW(r, i), j, 1);
}

int vd__pg_fingerprint_missing(struct vd_store *s, int64_t seq, int limit,
                               struct vd_job_rec **out, size_t *n, struct vd_err *err) {
  struct vd__page p;
  vd__page_init(&p, sizeof(**out), limit);
  int ret = vd__pg_query(vd__pg_pool_of(s), row_job_page, &p, err,
                         "SELECT " VD__JOB_COLS " FROM jobs j WHERE j.seq > $1"
                         " AND j.state = 'succeeded' AND j.file_id IS NOT NULL"
                         " AND j.result LIKE '%\"fingerprint\":{%'"
                         " AND NOT EXISTS (SELECT 1 FROM fingerprints f"
                         "                 WHERE f.file_id = j.file_id)"
                         " ORDER BY j.seq LIMIT $2",
                         "li", seq, limit > 0 ? limit : 0);
  *out = p.recs;
  *n = p.n;
  return ret < 0 ? ret : 0;
}

#endif
