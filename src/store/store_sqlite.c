/*
 * store_sqlite.c: the SQLite backend of the store (see store.h): every
 * operation as its SQL. The plumbing (connection pool, binding, the
 * transaction helper) is in store_sqlite_db.c, the schema in
 * store_schema.c.
 *
 * DESIGN
 * - An operation that is one statement runs on its own (autocommit) with
 *   vd__sq_query(); one that is several runs them in a *_tx function under
 *   vd__sq_with_tx(), which commits them together or not at all.
 * - Webhook deliveries are written by the transaction that ends their job
 *   (record_webhook), so the payload is built from the row just written.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "store/store_int.h"

struct sq {
  struct vd_store base;
  struct vd__sq_pool *pool;
};

static struct vd__sq_pool *pool_of(struct vd_store *s) { return ((struct sq *)s)->pool; }

/* Columns of the current row of a statement, for the shared readers. */
static char *col_text(void *st, int i, int col) {
  (void)i;
  return vd__sq_text(st, col);
}
static void col_copy(void *st, int i, int col, char *buf, size_t len) {
  (void)i;
  vd__sq_copy(st, col, buf, len);
}
static int64_t col_i64(void *st, int i, int col) {
  (void)i;
  return sqlite3_column_int64(st, col);
}
static double col_dbl(void *st, int i, int col) {
  (void)i;
  return sqlite3_column_double(st, col);
}
static const struct vd__cols sq_cols = {col_text, col_copy, col_i64, col_dbl};
#define ROW(st) (&(struct vd__row){&sq_cols, (st), 0})

/* For the operations in store_fp_sqlite.c. */
struct vd__sq_pool *vd__sq_pool_of(struct vd_store *s) { return pool_of(s); }
const struct vd__cols *const vd__sq_cols = &sq_cols;

static void row_int(sqlite3_stmt *st, void *u) { *(int64_t *)u = sqlite3_column_int64(st, 0); }

static void row_id(sqlite3_stmt *st, void *u) { vd__sq_copy(st, 0, u, 65); }

/* Appends column 0 to a vd_idlist. */
static void row_idlist(sqlite3_stmt *st, void *u) { vd__read_id(ROW(st), 0, u); }

/* ---- files ---------------------------------------------------------------- */

#define FILE_COLS VD__FILE_COLS

static void row_file(sqlite3_stmt *st, void *u) { vd__read_file(ROW(st), u); }

static int sq_file_put(struct vd_store *s, struct vd_file_rec *f, int *existed,
                       struct vd_err *err) {
  if (!f->created)
    f->created = vd__store_now();
  int64_t seq = 0;
  int n =
      vd__sq_query(pool_of(s), row_int, &seq, err,
                   "INSERT INTO files(id, name, size, created, probe) VALUES(?,?,?,?,?)"
                   " ON CONFLICT(id) DO NOTHING RETURNING seq",
                   "ttldt", f->id, f->name ? f->name : "", (int64_t)f->size, f->created, f->probe);
  if (n < 0)
    return n;
  if (existed)
    *existed = n == 0;
  if (n)
    f->seq = seq;
  return 0;
}

static int sq_file_get(struct vd_store *s, const char *id, struct vd_file_rec *out,
                       struct vd_err *err) {
  int n = vd__sq_query(pool_of(s), row_file, out, err,
                       "SELECT " FILE_COLS " FROM files WHERE id = ?", "t", id);
  return vd__store_one_row(n, err, "no file %s", id);
}

/* A listing: records read by `read` into `page`. */
struct page {
  struct vd__page page;
  vd__sq_row_fn read;
};

static void row_page(sqlite3_stmt *st, void *u) {
  struct page *p = u;
  void *rec = vd__page_next(&p->page);
  if (rec)
    p->read(st, rec);
}

static void page_init(struct page *p, size_t size, int limit, vd__sq_row_fn read) {
  vd__page_init(&p->page, size, limit);
  p->read = read;
}

static int sq_file_list(struct vd_store *s, int64_t cursor, int limit, struct vd_file_rec **out,
                        size_t *n, struct vd_err *err) {
  struct page p;
  page_init(&p, sizeof(**out), limit, row_file);
  int ret = vd__sq_query(pool_of(s), row_page, &p, err,
                         "SELECT " FILE_COLS " FROM files WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                         "li", cursor > 0 ? cursor : INT64_MAX, limit);
  *out = p.page.recs;
  *n = p.page.n;
  return ret < 0 ? ret : 0;
}

struct del {
  const char *id, *blobs_sql, *del_sql, *what;
  int id_is_blob;
  struct vd_idlist *orphans;
};

/* Adds `id` to `l` when no row references it and it is not there yet. */
static int add_if_orphan(sqlite3 *db, struct vd_idlist *l, const char *id, struct vd_err *err) {
  for (size_t k = 0; k < l->n; k++)
    if (!strcmp(l->ids[k], id))
      return 0;
  int64_t used = 1;
  int ret = vd__sq_each(db, row_int, &used, err,
                        "SELECT EXISTS(SELECT 1 FROM files WHERE id = ?1)"
                        " OR EXISTS(SELECT 1 FROM artifacts WHERE blob = ?1)",
                        "t", id);
  if (ret >= 0 && !used) {
    l->ids = vd_xrealloc(l->ids, (l->n + 1) * sizeof(*l->ids));
    snprintf(l->ids[l->n++], 65, "%s", id);
  }
  return ret < 0 ? ret : 0;
}

static int delete_tx(sqlite3 *db, void *arg, struct vd_err *err) {
  struct del *d = arg;
  struct vd_idlist cands = {0, NULL};
  int ret = vd__sq_each(db, row_idlist, &cands, err, d->blobs_sql, "t", d->id);
  if (ret >= 0)
    ret = vd__store_one_row(vd__sq_run(db, err, d->del_sql, "t", d->id), err, "no %s %s", d->what,
                            d->id);
  for (size_t i = 0; i < cands.n && ret >= 0; i++)
    ret = add_if_orphan(db, d->orphans, cands.ids[i], err);
  if (ret >= 0 && d->id_is_blob)
    ret = add_if_orphan(db, d->orphans, d->id, err);
  vd_idlist_fini(&cands);
  return ret;
}

/*
 * Deletes the row `id` with `del_sql`, first collecting the artifact blobs
 * `blobs_sql` selects (plus `id` itself when it names a blob), and reports
 * those that nothing references afterwards. One transaction.
 */
static int delete_reporting_orphans(struct vd_store *s, struct del *d, struct vd_err *err) {
  memset(d->orphans, 0, sizeof(*d->orphans));
  int ret = vd__sq_with_tx(pool_of(s), delete_tx, d, err);
  if (ret < 0)
    vd_idlist_fini(d->orphans);
  return ret < 0 ? ret : 0;
}

static int sq_file_delete(struct vd_store *s, const char *id, struct vd_idlist *orphans,
                          struct vd_err *err) {
  struct del d = {id,
                  "SELECT a.blob FROM artifacts a JOIN jobs j ON a.job_id = j.id"
                  " WHERE j.file_id = ?",
                  "DELETE FROM files WHERE id = ?",
                  "file",
                  1,
                  orphans};
  return delete_reporting_orphans(s, &d, err);
}

static int sq_file_active_jobs(struct vd_store *s, const char *file_id, int *n,
                               struct vd_err *err) {
  int64_t v = 0;
  int ret =
      vd__sq_query(pool_of(s), row_int, &v, err,
                   "SELECT COUNT(*) FROM jobs WHERE file_id = ? AND state IN ('queued','running')",
                   "t", file_id);
  *n = (int)v;
  return ret < 0 ? ret : 0;
}

/* ---- jobs ----------------------------------------------------------------- */

#define JOB_COLS VD__JOB_COLS

static void row_job(sqlite3_stmt *st, void *u) { vd__read_job(ROW(st), u, 1); }
static void row_job_brief(sqlite3_stmt *st, void *u) { vd__read_job(ROW(st), u, 0); }

static int sq_job_create(struct vd_store *s, struct vd_job_rec *j, struct vd_err *err) {
  if (!j->created)
    j->created = vd__store_now();
  j->updated = j->created;
  j->state = VD_JOB_QUEUED;
  if (j->max_attempts < 1)
    j->max_attempts = 3;
  int ret =
      vd__sq_query(pool_of(s), row_int, &j->seq, err,
                   "INSERT INTO jobs(id, file_id, source, analyses, params, webhook, kind, extra,"
                   " state, max_attempts, created, updated, stage)"
                   " VALUES(?,?,?,?,?,?,?,?,'queued',?,?,?,'queued') RETURNING seq",
                   "ttttttttidd", j->id, j->file_id, j->source, j->analyses ? j->analyses : "[]",
                   j->params ? j->params : "{}", j->webhook, j->kind ? j->kind : "v1", j->extra,
                   j->max_attempts, j->created, j->updated);
  return ret < 0 ? ret : 0;
}

static int get_job_on(sqlite3 *db, const char *id, struct vd_job_rec *out, struct vd_err *err) {
  int n = vd__sq_each(db, row_job, out, err, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", "t", id);
  return vd__store_one_row(n, err, "no analysis %s", id);
}

static int sq_job_get(struct vd_store *s, const char *id, struct vd_job_rec *out,
                      struct vd_err *err) {
  int n = vd__sq_query(pool_of(s), row_job, out, err, "SELECT " JOB_COLS " FROM jobs WHERE id = ?",
                       "t", id);
  return vd__store_one_row(n, err, "no analysis %s", id);
}

static int sq_job_list(struct vd_store *s, const char *file_id, int state, const char *kind,
                       int64_t cursor, int limit, struct vd_job_rec **out, size_t *n,
                       struct vd_err *err) {
  struct page p;
  page_init(&p, sizeof(**out), limit, row_job_brief);
  int ret =
      vd__sq_query(pool_of(s), row_page, &p, err,
                   "SELECT " JOB_COLS " FROM jobs WHERE seq < ?1 AND (?2 IS NULL OR file_id = ?2)"
                   " AND (?3 IS NULL OR state = ?3) AND (?4 IS NULL OR kind = ?4)"
                   " ORDER BY seq DESC LIMIT ?5",
                   "lttti", cursor > 0 ? cursor : INT64_MAX, file_id,
                   state >= 0 ? vd_job_state_name((enum vd_job_state)state) : NULL, kind, limit);
  *out = p.page.recs;
  *n = p.page.n;
  return ret < 0 ? ret : 0;
}

/*
 * Records the webhook delivery of job `id`, which has just reached its final
 * state in the current transaction, due at `now`. Jobs without a webhook
 * record nothing. The payload is built from the row the transaction wrote,
 * so it always says what the store says.
 */
static int record_webhook(sqlite3 *db, const char *id, double now, struct vd_err *err) {
  int ret =
      vd__sq_run(db, err,
                 "INSERT INTO webhooks(job_id, url, body, next_at, created)"
                 " SELECT id, webhook, json_object('id', id, 'status', state, 'file_id', file_id,"
                 "  'error', error, 'finished_at', finished), ?2, ?2"
                 " FROM jobs WHERE id = ?1 AND webhook IS NOT NULL AND webhook <> ''"
                 "  AND state IN ('succeeded', 'failed', 'canceled')",
                 "td", id, now);
  return ret < 0 ? ret : 0;
}

struct claim {
  const char *worker;
  double now, lease;
  struct vd_job_rec *out;
};

/* Collects the ids of rows whose new state (column 1) is final. */
static void row_ended(sqlite3_stmt *st, void *u) {
  if (strcmp((const char *)sqlite3_column_text(st, 1), "queued"))
    row_idlist(st, u);
}

static int claim_tx(sqlite3 *db, void *arg, struct vd_err *err) {
  struct claim *c = arg;
  struct vd_idlist ended = {0, NULL};
  char id[65] = "";
  /* Leases that ran out belong to workers that died: cancel what was being
   * canceled, give up on jobs out of attempts, and queue the rest again. */
  int ret =
      vd__sq_each(db, row_ended, &ended, err,
                  "UPDATE jobs SET state = CASE WHEN cancel THEN 'canceled'"
                  "  WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,"
                  " finished = CASE WHEN cancel OR attempts >= max_attempts THEN ?1 ELSE 0 END,"
                  " error = CASE WHEN cancel THEN 'canceled'"
                  "  ELSE 'worker lost (lease expired) on attempt ' || attempts || ' of '"
                  "   || max_attempts END,"
                  " stage = CASE WHEN cancel OR attempts >= max_attempts THEN stage"
                  "  ELSE 'queued again' END,"
                  " worker = NULL, updated = ?1"
                  " WHERE state = 'running' AND lease_until < ?1 RETURNING id, state",
                  "d", c->now);
  if (ret > 0)
    VD_WARN("store: %d job(s) with expired leases recovered", ret);
  for (size_t i = 0; ret >= 0 && i < ended.n; i++)
    ret = record_webhook(db, ended.ids[i], c->now, err);
  vd_idlist_fini(&ended);
  if (ret < 0)
    return ret;
  ret = vd__sq_each(db, row_id, id, err,
                    "SELECT id FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1", "");
  if (ret <= 0) /* an error, or nothing queued */
    return ret;
  ret = vd__sq_run(db, err,
                   "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = ?,"
                   " lease_until = ?, started = ?, updated = ?, stage = 'starting' WHERE id = ?",
                   "tdddt", c->worker, c->now + c->lease, c->now, c->now, id);
  if (ret >= 0)
    ret = get_job_on(db, id, c->out, err);
  return ret < 0 ? ret : 1;
}

static int sq_job_claim(struct vd_store *s, const char *worker, double now, double lease,
                        struct vd_job_rec *out, struct vd_err *err) {
  struct claim c = {worker, now, lease, out};
  memset(out, 0, sizeof(*out));
  int ret = vd__sq_with_tx(pool_of(s), claim_tx, &c, err);
  if (ret < 0) /* the COMMIT failed after the row was read */
    vd_job_rec_fini(out);
  return ret;
}

static void row_cancel(sqlite3_stmt *st, void *u) { *(int *)u = sqlite3_column_int(st, 0); }

static int sq_job_heartbeat(struct vd_store *s, const char *id, const char *worker, double progress,
                            const char *stage, double now, double lease_until, int *cancel,
                            struct vd_err *err) {
  *cancel = 0;
  int n = vd__sq_query(pool_of(s), row_cancel, cancel, err,
                       "UPDATE jobs SET progress = ?, stage = COALESCE(?, stage), updated = ?,"
                       " lease_until = ? WHERE id = ? AND worker = ? AND state = 'running'"
                       " RETURNING cancel",
                       "dtddtt", progress, stage, now, lease_until, id, worker);
  return vd__store_one_row(n, err, "analysis %s is no longer owned by %s", id, worker);
}

struct finish {
  const char *id, *worker, *result, *error;
  enum vd_job_state state;
  const struct vd_artifact_rec *arts;
  size_t n_arts;
  double now;
};

static int finish_tx(sqlite3 *db, void *arg, struct vd_err *err) {
  struct finish *f = arg;
  const char *state = vd_job_state_name(f->state);
  int ret =
      vd__sq_run(db, err,
                 "UPDATE jobs SET state = ?1, result = ?2, error = ?3, finished = ?4, updated = ?4,"
                 " progress = CASE WHEN ?1 = 'succeeded' THEN 1 ELSE progress END,"
                 " stage = ?1, worker = NULL"
                 " WHERE id = ?5 AND worker = ?6 AND state = 'running'",
                 "tttdtt", state, f->result, f->error, f->now, f->id, f->worker);
  ret = vd__store_one_row(ret, err, "analysis %s is no longer owned by %s", f->id, f->worker);
  for (size_t i = 0; ret >= 0 && i < f->n_arts; i++)
    ret = vd__sq_run(db, err,
                     "INSERT OR REPLACE INTO artifacts(job_id, analysis, name, blob, size)"
                     " VALUES(?,?,?,?,?)",
                     "ttttl", f->id, f->arts[i].analysis, f->arts[i].name, f->arts[i].blob,
                     (int64_t)f->arts[i].size);
  return ret < 0 ? ret : record_webhook(db, f->id, f->now, err);
}

static int sq_job_finish(struct vd_store *s, const char *id, const char *worker,
                         enum vd_job_state state, const char *result, const char *error,
                         const struct vd_artifact_rec *arts, size_t n_arts, double now,
                         struct vd_err *err) {
  struct finish f = {id, worker, result, error, state, arts, n_arts, now};
  return vd__sq_with_tx(pool_of(s), finish_tx, &f, err);
}

struct cancel {
  const char *id;
  double now;
  int *state;
};

static int cancel_tx(sqlite3 *db, void *arg, struct vd_err *err) {
  struct cancel *c = arg;
  char before[65] = "";
  int ret = vd__sq_each(db, row_id, before, err, "SELECT state FROM jobs WHERE id = ?", "t", c->id);
  if ((ret = vd__store_one_row(ret, err, "no analysis %s", c->id)) < 0 ||
      (ret = vd__sq_run(db, err,
                        "UPDATE jobs SET cancel = 1, updated = ?1,"
                        " state = CASE WHEN state = 'queued' THEN 'canceled' ELSE state END,"
                        " finished = CASE WHEN state = 'queued' THEN ?1 ELSE finished END,"
                        " error = CASE WHEN state = 'queued' THEN 'canceled' ELSE error END"
                        " WHERE id = ?2",
                        "dt", c->now, c->id)) < 0)
    return ret;
  int queued = !strcmp(before, "queued");
  *c->state = queued ? VD_JOB_CANCELED : vd_job_state_parse(before);
  return queued ? record_webhook(db, c->id, c->now, err) : 0;
}

static int sq_job_cancel(struct vd_store *s, const char *id, double now, int *state,
                         struct vd_err *err) {
  struct cancel c = {id, now, state};
  return vd__sq_with_tx(pool_of(s), cancel_tx, &c, err);
}

static int sq_job_delete(struct vd_store *s, const char *id, struct vd_idlist *orphans,
                         struct vd_err *err) {
  struct del d = {id,
                  "SELECT blob FROM artifacts WHERE job_id = ?",
                  "DELETE FROM jobs WHERE id = ?",
                  "analysis",
                  0,
                  orphans};
  return delete_reporting_orphans(s, &d, err);
}

struct arts {
  struct vd_artifact_rec *v;
  size_t n;
};

static void row_artifact(sqlite3_stmt *st, void *u) {
  struct arts *l = u;
  l->v = vd_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
  vd__read_artifact(ROW(st), &l->v[l->n++]);
}

static int sq_job_artifacts(struct vd_store *s, const char *id, struct vd_artifact_rec **out,
                            size_t *n, struct vd_err *err) {
  struct arts l = {NULL, 0};
  int ret = vd__sq_query(pool_of(s), row_artifact, &l, err,
                         "SELECT " VD__ARTIFACT_COLS " FROM artifacts WHERE job_id = ?"
                         " ORDER BY analysis, name",
                         "t", id);
  *out = l.v;
  *n = l.n;
  return ret < 0 ? ret : 0;
}

static void row_count(sqlite3_stmt *st, void *u) { vd__read_count(ROW(st), u); }

static int sq_job_counts(struct vd_store *s, int64_t counts[VD_JOB_NSTATES], struct vd_err *err) {
  memset(counts, 0, sizeof(int64_t) * VD_JOB_NSTATES);
  int ret = vd__sq_query(pool_of(s), row_count, counts, err,
                         "SELECT state, COUNT(*) FROM jobs GROUP BY state", "");
  return ret < 0 ? ret : 0;
}

static int sq_blob_referenced(struct vd_store *s, const char *blob, struct vd_err *err) {
  int64_t v = 0;
  int ret = vd__sq_query(pool_of(s), row_int, &v, err,
                         "SELECT EXISTS(SELECT 1 FROM files WHERE id = ?1)"
                         " OR EXISTS(SELECT 1 FROM artifacts WHERE blob = ?1)",
                         "t", blob);
  return ret < 0 ? ret : (int)v;
}

/* ---- webhook deliveries ------------------------------------------------------ */

static void row_webhook(sqlite3_stmt *st, void *u) { vd__read_webhook(ROW(st), u); }

static void row_double(sqlite3_stmt *st, void *u) { *(double *)u = sqlite3_column_double(st, 0); }

static int sq_webhook_claim(struct vd_store *s, double now, double lease,
                            struct vd_webhook_rec *out, double *next, struct vd_err *err) {
  double first = 0;
  memset(out, 0, sizeof(*out));
  *next = 0;
  /* A read first, so an idle poller never takes the write lock. */
  int n = vd__sq_query(pool_of(s), row_double, &first, err,
                       "SELECT next_at FROM webhooks ORDER BY next_at LIMIT 1", "");
  if (n <= 0 || first > now) {
    *next = first;
    return n < 0 ? n : 0;
  }
  /* One statement, so it is atomic without a transaction of its own; if
   * someone else took the row in between, this claims nothing. */
  n = vd__sq_query(
      pool_of(s), row_webhook, out, err,
      "UPDATE webhooks SET attempts = attempts + 1, next_at = ?2"
      " WHERE id = (SELECT id FROM webhooks WHERE next_at <= ?1 ORDER BY next_at, id LIMIT 1)"
      " RETURNING " VD__WEBHOOK_COLS,
      "dd", now, now + lease);
  if (n == 0)
    *next = now;
  return n < 0 ? n : n > 0;
}

static int sq_webhook_retry(struct vd_store *s, int64_t id, double next_at, const char *error,
                            struct vd_err *err) {
  int n = vd__sq_query(pool_of(s), NULL, NULL, err,
                       "UPDATE webhooks SET next_at = ?2, error = ?3 WHERE id = ?1 RETURNING id",
                       "ldt", id, next_at, error);
  return vd__store_one_row(n, err, "no webhook delivery %lld", (long long)id);
}

static int sq_webhook_delete(struct vd_store *s, int64_t id, struct vd_err *err) {
  int n = vd__sq_query(pool_of(s), NULL, NULL, err,
                       "DELETE FROM webhooks WHERE id = ? RETURNING id", "l", id);
  return vd__store_one_row(n, err, "no webhook delivery %lld", (long long)id);
}

static int sq_webhook_count(struct vd_store *s, int64_t *n, struct vd_err *err) {
  *n = 0;
  int ret = vd__sq_query(pool_of(s), row_int, n, err, "SELECT COUNT(*) FROM webhooks", "");
  return ret < 0 ? ret : 0;
}

static void sq_free(struct vd_store *s) {
  struct sq *q = (struct sq *)s;
  vd__sq_pool_free(q->pool);
  free(q);
}

static const struct vd_store_ops sqlite_ops = {.name = "sqlite", VD__STORE_OPS(sq),
                                               VD__STORE_FP_OPS(sq),
                                               VD__STORE_SEARCH_OPS(sq)};

int vd__store_sqlite_open(struct vd_store **out, const char *path, struct vd_err *err) {
  struct sq *q = vd_xcalloc(1, sizeof(*q));
  q->base.ops = &sqlite_ops;
  *out = NULL;
  int ret = vd__sq_pool_open(&q->pool, path, err);
  if (ret < 0) {
    free(q);
    return ret;
  }
  *out = &q->base;
  return 0;
}
