/*
 * store_pg.c: the PostgreSQL backend of the store (see store.h), for
 * several `vidan serve` nodes sharing one database: every operation as its
 * SQL. The plumbing (pool, prepared statements, reconnects, LISTEN, the
 * transaction helper) is in store_pg_db.c, the schema in store_schema.c.
 *
 * DESIGN
 * - Same contract as store_sqlite.c, which serialises writers; here many
 *   nodes write at once under READ COMMITTED, so each operation says how it
 *   stays correct:
 *   - A claim takes its row with UPDATE ... WHERE id = (SELECT ... FOR
 *     UPDATE SKIP LOCKED LIMIT 1): claimers on any node never wait on each
 *     other and never get the same row. The same holds for the expired
 *     leases a claim recovers and for webhook deliveries.
 *   - Heartbeat and finish are one UPDATE whose WHERE names the owner; the
 *     row lock makes it re-check against the newest version, so a worker
 *     whose lease was recovered elsewhere matches nothing.
 *   - Cancel reads the state FOR UPDATE, so what it reports is what it
 *     changed.
 * - Statements that must be atomic with their side effects are one
 *   statement where possible (data-modifying WITH): lease recovery writes
 *   its webhook deliveries in the same statement, and a new job NOTIFYs in
 *   the statement that inserts it (delivered when it commits).
 * - Webhook payloads are built with json_build_object from the row the
 *   transaction wrote, as SQLite's json_object does.
 */
#ifdef VD_HAVE_LIBPQ

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "store/store_int.h"

struct pg {
  struct vd_store base;
  struct vd__pg_pool *pool;
};

static struct vd__pg_pool *pool_of(struct vd_store *s) { return ((struct pg *)s)->pool; }

/* Columns of row i of a result, for the shared readers. */
static char *col_text(void *r, int i, int col) { return vd__pg_text(r, i, col); }
static void col_copy(void *r, int i, int col, char *buf, size_t len) {
  vd__pg_copy(r, i, col, buf, len);
}
static int64_t col_i64(void *r, int i, int col) { return vd__pg_int(r, i, col); }
static double col_dbl(void *r, int i, int col) { return vd__pg_double(r, i, col); }
static const struct vd__cols pg_cols = {col_text, col_copy, col_i64, col_dbl};
#define ROW(r, i) (&(struct vd__row){&pg_cols, (r), (i)})

/* For the operations in store_fp_pg.c. */
struct vd__pg_pool *vd__pg_pool_of(struct vd_store *s) { return pool_of(s); }
const struct vd__cols *const vd__pg_cols = &pg_cols;

static void row_int(PGresult *r, int i, void *u) { *(int64_t *)u = vd__pg_int(r, i, 0); }

static void row_id(PGresult *r, int i, void *u) { vd__pg_copy(r, i, 0, u, 65); }

/* Appends column 0 to a vd_idlist. */
static void row_idlist(PGresult *r, int i, void *u) { vd__read_id(ROW(r, i), 0, u); }

/* LIMIT must not be negative in PostgreSQL; SQLite reads it as "none". */
static int limit_of(int limit) { return limit > 0 ? limit : 0; }

/* ---- files ------------------------------------------------------------------- */

#define FILE_COLS VD__FILE_COLS

static void row_file(PGresult *r, int i, void *u) { vd__read_file(ROW(r, i), u); }

static int pg_file_put(struct vd_store *s, struct vd_file_rec *f, int *existed,
                       struct vd_err *err) {
  if (!f->created)
    f->created = vd__store_now();
  int64_t seq = 0;
  int n = vd__pg_query(pool_of(s), row_int, &seq, err,
                       "INSERT INTO files(id, name, size, created, probe) VALUES($1,$2,$3,$4,$5)"
                       " ON CONFLICT(id) DO NOTHING RETURNING seq",
                       "ttldt", f->id, f->name ? f->name : "", (int64_t)f->size, f->created,
                       f->probe);
  if (n < 0)
    return n;
  if (existed)
    *existed = n == 0;
  if (n)
    f->seq = seq;
  return 0;
}

static int pg_file_get(struct vd_store *s, const char *id, struct vd_file_rec *out,
                       struct vd_err *err) {
  int n = vd__pg_query(pool_of(s), row_file, out, err,
                       "SELECT " FILE_COLS " FROM files WHERE id = $1", "t", id);
  return vd__store_one_row(n, err, "no file %s", id);
}

/* A listing: records read by `read` into `page`. */
struct page {
  struct vd__page page;
  vd__pg_row_fn read;
};

static void row_page(PGresult *r, int i, void *u) {
  struct page *p = u;
  void *rec = vd__page_next(&p->page);
  if (rec)
    p->read(r, i, rec);
}

static void page_init(struct page *p, size_t size, int limit, vd__pg_row_fn read) {
  vd__page_init(&p->page, size, limit);
  p->read = read;
}

static int pg_file_list(struct vd_store *s, int64_t cursor, int limit, struct vd_file_rec **out,
                        size_t *n, struct vd_err *err) {
  struct page p;
  page_init(&p, sizeof(**out), limit, row_file);
  int ret =
      vd__pg_query(pool_of(s), row_page, &p, err,
                   "SELECT " FILE_COLS " FROM files WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
                   "li", cursor > 0 ? cursor : INT64_MAX, limit_of(limit));
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
static int add_if_orphan(struct vd__pg_conn *c, struct vd_idlist *l, const char *id,
                         struct vd_err *err) {
  for (size_t k = 0; k < l->n; k++)
    if (!strcmp(l->ids[k], id))
      return 0;
  int64_t used = 1;
  int ret = vd__pg_each(c, row_int, &used, err,
                        "SELECT (EXISTS(SELECT 1 FROM files WHERE id = $1)"
                        " OR EXISTS(SELECT 1 FROM artifacts WHERE blob = $1))::int",
                        "t", id);
  if (ret >= 0 && !used) {
    l->ids = vd_xrealloc(l->ids, (l->n + 1) * sizeof(*l->ids));
    snprintf(l->ids[l->n++], 65, "%s", id);
  }
  return ret < 0 ? ret : 0;
}

static int delete_tx(struct vd__pg_conn *c, void *arg, struct vd_err *err) {
  struct del *d = arg;
  struct vd_idlist cands = {0, NULL};
  vd_idlist_fini(d->orphans); /* a retried transaction starts afresh */
  int ret = vd__pg_each(c, row_idlist, &cands, err, d->blobs_sql, "t", d->id);
  if (ret >= 0)
    ret = vd__store_one_row(vd__pg_run(c, err, d->del_sql, "t", d->id), err, "no %s %s", d->what,
                            d->id);
  for (size_t i = 0; i < cands.n && ret >= 0; i++)
    ret = add_if_orphan(c, d->orphans, cands.ids[i], err);
  if (ret >= 0 && d->id_is_blob)
    ret = add_if_orphan(c, d->orphans, d->id, err);
  vd_idlist_fini(&cands);
  return ret;
}

/* Deletes the row `id` and reports the blobs nothing references afterwards
 * (see store_sqlite.c). One transaction; a retried one starts afresh. */
static int delete_reporting_orphans(struct vd_store *s, struct del *d, struct vd_err *err) {
  memset(d->orphans, 0, sizeof(*d->orphans));
  int ret = vd__pg_with_tx(pool_of(s), delete_tx, d, err);
  if (ret < 0)
    vd_idlist_fini(d->orphans);
  return ret < 0 ? ret : 0;
}

static int pg_file_delete(struct vd_store *s, const char *id, struct vd_idlist *orphans,
                          struct vd_err *err) {
  struct del d = {id,
                  "SELECT a.blob FROM artifacts a JOIN jobs j ON a.job_id = j.id"
                  " WHERE j.file_id = $1",
                  "DELETE FROM files WHERE id = $1",
                  "file",
                  1,
                  orphans};
  return delete_reporting_orphans(s, &d, err);
}

static int pg_file_active_jobs(struct vd_store *s, const char *file_id, int *n,
                               struct vd_err *err) {
  int64_t v = 0;
  int ret = vd__pg_query(
      pool_of(s), row_int, &v, err,
      "SELECT COUNT(*) FROM jobs WHERE file_id = $1 AND state IN ('queued','running')", "t",
      file_id);
  *n = (int)v;
  return ret < 0 ? ret : 0;
}

/* ---- jobs --------------------------------------------------------------------- */

#define JOB_COLS VD__JOB_COLS

static void row_job(PGresult *r, int i, void *u) { vd__read_job(ROW(r, i), u, 1); }
static void row_job_brief(PGresult *r, int i, void *u) { vd__read_job(ROW(r, i), u, 0); }

static int pg_job_create(struct vd_store *s, struct vd_job_rec *j, struct vd_err *err) {
  if (!j->created)
    j->created = vd__store_now();
  j->updated = j->created;
  j->state = VD_JOB_QUEUED;
  if (j->max_attempts < 1)
    j->max_attempts = 3;
  /* The NOTIFY goes out when the insert commits: idle workers on every
   * node (vd_store_job_wait) claim at once instead of at their next poll. */
  int ret = vd__pg_query(
      pool_of(s), row_int, &j->seq, err,
      "WITH ins AS (INSERT INTO jobs(id, file_id, source, analyses, params, webhook, kind, extra,"
      " state, max_attempts, created, updated, stage)"
      " VALUES($1,$2,$3,$4,$5,$6,$7,$8,'queued',$9,$10,$11,'queued') RETURNING seq)"
      " SELECT seq, pg_notify('" VD__PG_CHANNEL "', '') FROM ins",
      "ttttttttidd", j->id, j->file_id, j->source, j->analyses ? j->analyses : "[]",
      j->params ? j->params : "{}", j->webhook, j->kind ? j->kind : "v1", j->extra,
      j->max_attempts, j->created, j->updated);
  return ret < 0 ? ret : 0;
}

static int pg_job_get(struct vd_store *s, const char *id, struct vd_job_rec *out,
                      struct vd_err *err) {
  int n = vd__pg_query(pool_of(s), row_job, out, err,
                       "SELECT " JOB_COLS " FROM jobs WHERE id = $1", "t", id);
  return vd__store_one_row(n, err, "no analysis %s", id);
}

static int pg_job_list(struct vd_store *s, const char *file_id, int state, const char *kind,
                       int64_t cursor, int limit, struct vd_job_rec **out, size_t *n,
                       struct vd_err *err) {
  struct page p;
  page_init(&p, sizeof(**out), limit, row_job_brief);
  int ret = vd__pg_query(
      pool_of(s), row_page, &p, err,
      "SELECT " JOB_COLS " FROM jobs WHERE seq < $1 AND ($2 IS NULL OR file_id = $2)"
      " AND ($3 IS NULL OR state = $3) AND ($4 IS NULL OR kind = $4)"
      " ORDER BY seq DESC LIMIT $5",
      "lttti", cursor > 0 ? cursor : INT64_MAX, file_id,
      state >= 0 ? vd_job_state_name((enum vd_job_state)state) : NULL, kind, limit_of(limit));
  *out = p.page.recs;
  *n = p.page.n;
  return ret < 0 ? ret : 0;
}

/* The webhook delivery of a job that has just reached its final state, as
 * the SELECT list of an INSERT INTO webhooks(job_id, url, body, next_at,
 * created) over that job's row; `$2` is the time it is due. */
#define WEBHOOK_ROW                                                                                \
  "id, webhook, json_build_object('id', id, 'status', state, 'file_id', file_id,"                  \
  " 'error', error, 'finished_at', finished)::text, $2, $2"
#define WEBHOOK_WANTED                                                                             \
  "webhook IS NOT NULL AND webhook <> '' AND state IN ('succeeded', 'failed', 'canceled')"

/* Records the delivery of job `id`, which has just ended in the current
 * transaction, due at `now`; nothing for jobs without a webhook. */
static int record_webhook(struct vd__pg_conn *c, const char *id, double now, struct vd_err *err) {
  int ret = vd__pg_run(c, err,
                       "INSERT INTO webhooks(job_id, url, body, next_at, created)"
                       " SELECT " WEBHOOK_ROW " FROM jobs WHERE id = $1 AND " WEBHOOK_WANTED,
                       "td", id, now);
  return ret < 0 ? ret : 0;
}

/*
 * Leases that ran out belong to workers that died: cancel what was being
 * canceled, give up on jobs out of attempts, and queue the rest again (and
 * say so to the other nodes). One statement, so the deliveries of the jobs
 * this ends are written with them. Rows another claimer is recovering are
 * skipped, not waited for. Returns the number of jobs recovered.
 */
static int recover_leases(struct vd_store *s, double now, struct vd_err *err) {
  int64_t n = 0;
  int ret = vd__pg_query(
      pool_of(s), row_int, &n, err,
      "WITH ended AS (UPDATE jobs SET state = CASE WHEN cancel <> 0 THEN 'canceled'"
      "  WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,"
      " finished = CASE WHEN cancel <> 0 OR attempts >= max_attempts THEN $1 ELSE 0 END,"
      " error = CASE WHEN cancel <> 0 THEN 'canceled'"
      "  ELSE 'worker lost (lease expired) on attempt ' || attempts || ' of '"
      "   || max_attempts END,"
      " stage = CASE WHEN cancel <> 0 OR attempts >= max_attempts THEN stage"
      "  ELSE 'queued again' END,"
      " worker = NULL, updated = $1"
      " WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND lease_until < $1"
      "  FOR UPDATE SKIP LOCKED)"
      " RETURNING id, webhook, state, file_id, error, finished),"
      " hooks AS (INSERT INTO webhooks(job_id, url, body, next_at, created)"
      "  SELECT " WEBHOOK_ROW " FROM ended WHERE " WEBHOOK_WANTED "),"
      " notes AS (SELECT pg_notify('" VD__PG_CHANNEL "', '') FROM ended"
      "  WHERE state = 'queued' LIMIT 1)"
      " SELECT (SELECT COUNT(*) FROM ended), (SELECT COUNT(*) FROM notes)",
      "dd", now, now);
  if (n > 0)
    VD_WARN("store: %d job(s) with expired leases recovered", (int)n);
  return ret < 0 ? ret : (int)n;
}

static int pg_job_claim(struct vd_store *s, const char *worker, double now, double lease,
                        struct vd_job_rec *out, struct vd_err *err) {
  memset(out, 0, sizeof(*out));
  int ret = recover_leases(s, now, err);
  if (ret < 0)
    return ret;
  ret = vd__pg_query(pool_of(s), row_job, out, err,
                     "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = $1,"
                     " lease_until = $2, started = $3, updated = $3, stage = 'starting'"
                     " WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY seq"
                     "  LIMIT 1 FOR UPDATE SKIP LOCKED)"
                     " RETURNING " JOB_COLS,
                     "tdd", worker, now + lease, now);
  return ret < 0 ? ret : ret > 0;
}

static void row_cancel(PGresult *r, int i, void *u) { *(int *)u = (int)vd__pg_int(r, i, 0); }

static int pg_job_heartbeat(struct vd_store *s, const char *id, const char *worker,
                            double progress, const char *stage, double now, double lease_until,
                            int *cancel, struct vd_err *err) {
  *cancel = 0;
  /* A lease given back (lease_until <= now: the worker is shutting down)
   * tells the other nodes, so one of them takes the job at once. */
  int n = vd__pg_query(pool_of(s), row_cancel, cancel, err,
                       "UPDATE jobs SET progress = $1, stage = COALESCE($2, stage), updated = $3,"
                       " lease_until = $4 WHERE id = $5 AND worker = $6 AND state = 'running'"
                       " RETURNING cancel, CASE WHEN $4 <= $3 THEN pg_notify('" VD__PG_CHANNEL
                       "', '') END",
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

static int finish_tx(struct vd__pg_conn *c, void *arg, struct vd_err *err) {
  struct finish *f = arg;
  const char *state = vd_job_state_name(f->state);
  int ret = vd__pg_run(
      c, err,
      "UPDATE jobs SET state = $1, result = $2, error = $3, finished = $4, updated = $4,"
      " progress = CASE WHEN $1 = 'succeeded' THEN 1 ELSE progress END,"
      " stage = $1, worker = NULL"
      " WHERE id = $5 AND worker = $6 AND state = 'running'",
      "tttdtt", state, f->result, f->error, f->now, f->id, f->worker);
  ret = vd__store_one_row(ret, err, "analysis %s is no longer owned by %s", f->id, f->worker);
  for (size_t i = 0; ret >= 0 && i < f->n_arts; i++)
    ret = vd__pg_run(c, err,
                     "INSERT INTO artifacts(job_id, analysis, name, blob, size)"
                     " VALUES($1,$2,$3,$4,$5) ON CONFLICT(job_id, name) DO UPDATE SET"
                     " analysis = EXCLUDED.analysis, blob = EXCLUDED.blob, size = EXCLUDED.size",
                     "ttttl", f->id, f->arts[i].analysis, f->arts[i].name, f->arts[i].blob,
                     (int64_t)f->arts[i].size);
  return ret < 0 ? ret : record_webhook(c, f->id, f->now, err);
}

static int pg_job_finish(struct vd_store *s, const char *id, const char *worker,
                         enum vd_job_state state, const char *result, const char *error,
                         const struct vd_artifact_rec *arts, size_t n_arts, double now,
                         struct vd_err *err) {
  struct finish f = {id, worker, result, error, state, arts, n_arts, now};
  return vd__pg_with_tx(pool_of(s), finish_tx, &f, err);
}

struct cancel {
  const char *id;
  double now;
  int *state;
};

static int cancel_tx(struct vd__pg_conn *c, void *arg, struct vd_err *err) {
  struct cancel *k = arg;
  char before[65] = "";
  int ret = vd__pg_each(c, row_id, before, err, "SELECT state FROM jobs WHERE id = $1 FOR UPDATE",
                        "t", k->id);
  if ((ret = vd__store_one_row(ret, err, "no analysis %s", k->id)) < 0 ||
      (ret = vd__pg_run(c, err,
                        "UPDATE jobs SET cancel = 1, updated = $1,"
                        " state = CASE WHEN state = 'queued' THEN 'canceled' ELSE state END,"
                        " finished = CASE WHEN state = 'queued' THEN $1 ELSE finished END,"
                        " error = CASE WHEN state = 'queued' THEN 'canceled' ELSE error END"
                        " WHERE id = $2",
                        "dt", k->now, k->id)) < 0)
    return ret;
  int queued = !strcmp(before, "queued");
  *k->state = queued ? VD_JOB_CANCELED : vd_job_state_parse(before);
  return queued ? record_webhook(c, k->id, k->now, err) : 0;
}

static int pg_job_cancel(struct vd_store *s, const char *id, double now, int *state,
                         struct vd_err *err) {
  struct cancel k = {id, now, state};
  return vd__pg_with_tx(pool_of(s), cancel_tx, &k, err);
}

static int pg_job_delete(struct vd_store *s, const char *id, struct vd_idlist *orphans,
                         struct vd_err *err) {
  struct del d = {id,
                  "SELECT blob FROM artifacts WHERE job_id = $1",
                  "DELETE FROM jobs WHERE id = $1",
                  "analysis",
                  0,
                  orphans};
  return delete_reporting_orphans(s, &d, err);
}

struct arts {
  struct vd_artifact_rec *v;
  size_t n;
};

static void row_artifact(PGresult *r, int i, void *u) {
  struct arts *l = u;
  l->v = vd_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
  vd__read_artifact(ROW(r, i), &l->v[l->n++]);
}

static int pg_job_artifacts(struct vd_store *s, const char *id, struct vd_artifact_rec **out,
                            size_t *n, struct vd_err *err) {
  struct arts l = {NULL, 0};
  /* COLLATE "C": the byte order SQLite sorts by, whatever the database's
   * locale. */
  int ret = vd__pg_query(pool_of(s), row_artifact, &l, err,
                         "SELECT " VD__ARTIFACT_COLS " FROM artifacts WHERE job_id = $1"
                         " ORDER BY analysis COLLATE \"C\", name COLLATE \"C\"",
                         "t", id);
  *out = l.v;
  *n = l.n;
  return ret < 0 ? ret : 0;
}

static void row_count(PGresult *r, int i, void *u) { vd__read_count(ROW(r, i), u); }

static int pg_job_counts(struct vd_store *s, int64_t counts[VD_JOB_NSTATES], struct vd_err *err) {
  memset(counts, 0, sizeof(int64_t) * VD_JOB_NSTATES);
  int ret = vd__pg_query(pool_of(s), row_count, counts, err,
                         "SELECT state, COUNT(*) FROM jobs GROUP BY state", "");
  return ret < 0 ? ret : 0;
}

static int pg_blob_referenced(struct vd_store *s, const char *blob, struct vd_err *err) {
  int64_t v = 0;
  int ret = vd__pg_query(pool_of(s), row_int, &v, err,
                         "SELECT (EXISTS(SELECT 1 FROM files WHERE id = $1)"
                         " OR EXISTS(SELECT 1 FROM artifacts WHERE blob = $1))::int",
                         "t", blob);
  return ret < 0 ? ret : (int)v;
}

static int pg_job_wait(struct vd_store *s, int timeout_ms, struct vd_err *err) {
  return vd__pg_wait(pool_of(s), timeout_ms, err);
}

/* ---- webhook deliveries ---------------------------------------------------------- */

static void row_webhook(PGresult *r, int i, void *u) { vd__read_webhook(ROW(r, i), u); }

static void row_double(PGresult *r, int i, void *u) { *(double *)u = vd__pg_double(r, i, 0); }

static int pg_webhook_claim(struct vd_store *s, double now, double lease,
                            struct vd_webhook_rec *out, double *next, struct vd_err *err) {
  double first = 0;
  memset(out, 0, sizeof(*out));
  *next = 0;
  /* A read first, so an idle poller writes nothing. */
  int n = vd__pg_query(pool_of(s), row_double, &first, err,
                       "SELECT next_at FROM webhooks ORDER BY next_at LIMIT 1", "");
  if (n <= 0 || first > now) {
    *next = first;
    return n < 0 ? n : 0;
  }
  /* If every due row is being claimed elsewhere, this claims nothing. */
  n = vd__pg_query(pool_of(s), row_webhook, out, err,
                   "UPDATE webhooks SET attempts = attempts + 1, next_at = $2"
                   " WHERE id = (SELECT id FROM webhooks WHERE next_at <= $1"
                   "  ORDER BY next_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                   " RETURNING " VD__WEBHOOK_COLS,
                   "dd", now, now + lease);
  if (n == 0)
    *next = now;
  return n < 0 ? n : n > 0;
}

static int pg_webhook_retry(struct vd_store *s, int64_t id, double next_at, const char *error,
                            struct vd_err *err) {
  int n = vd__pg_query(pool_of(s), NULL, NULL, err,
                       "UPDATE webhooks SET next_at = $2, error = $3 WHERE id = $1 RETURNING id",
                       "ldt", id, next_at, error);
  return vd__store_one_row(n, err, "no webhook delivery %lld", (long long)id);
}

static int pg_webhook_delete(struct vd_store *s, int64_t id, struct vd_err *err) {
  int n = vd__pg_query(pool_of(s), NULL, NULL, err,
                       "DELETE FROM webhooks WHERE id = $1 RETURNING id", "l", id);
  return vd__store_one_row(n, err, "no webhook delivery %lld", (long long)id);
}

static int pg_webhook_count(struct vd_store *s, int64_t *n, struct vd_err *err) {
  *n = 0;
  int ret = vd__pg_query(pool_of(s), row_int, n, err, "SELECT COUNT(*) FROM webhooks", "");
  return ret < 0 ? ret : 0;
}

static void pg_free(struct vd_store *s) {
  struct pg *q = (struct pg *)s;
  vd__pg_pool_free(q->pool);
  free(q);
}

static const struct vd_store_ops pg_ops = {
    .name = "postgresql", VD__STORE_OPS(pg), .job_wait = pg_job_wait,
    VD__STORE_FP_OPS(pg), VD__STORE_SEARCH_OPS(pg)};

int vd__store_pg_open(struct vd_store **out, const char *conninfo, struct vd_err *err) {
  struct pg *q = vd_xcalloc(1, sizeof(*q));
  q->base.ops = &pg_ops;
  *out = NULL;
  int ret = vd__pg_pool_open(&q->pool, conninfo, err);
  if (ret < 0) {
    free(q);
    return ret;
  }
  *out = &q->base;
  return 0;
}

#endif /* VD_HAVE_LIBPQ */
