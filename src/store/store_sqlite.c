/*
 * store_sqlite.c: the SQLite backend of the store (see store.h).
 *
 * DESIGN
 * - One database file in WAL mode: readers never block the writer and the
 *   writer never blocks readers. Each thread takes a connection from a small
 *   pool for the length of one call, so HTTP threads read in parallel.
 * - Every write is BEGIN IMMEDIATE ... COMMIT: the write lock is taken up
 *   front, so two writers never deadlock upgrading a read lock; the busy
 *   timeout queues them instead.
 * - synchronous=NORMAL in WAL mode loses nothing when the process is killed
 *   (only a power cut can drop the last commits), which is the failure the
 *   job queue is built to survive.
 * - Schema versions: PRAGMA user_version, and `migrations[i]` moves the
 *   schema from version i to i+1 inside one transaction.
 * - SQLite result codes become vd error codes here and go no further.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "store/store_int.h"

#define POOL_MAX 16

static const char *const migrations[] = {
    /* 0 → 1 */
    "CREATE TABLE files("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL DEFAULT '',"
    " size INTEGER NOT NULL,"
    " created REAL NOT NULL,"
    " probe TEXT);"
    "CREATE TABLE jobs("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " file_id TEXT REFERENCES files(id) ON DELETE CASCADE,"
    " source TEXT,"
    " analyses TEXT NOT NULL,"
    " params TEXT NOT NULL,"
    " webhook TEXT,"
    " kind TEXT NOT NULL,"
    " extra TEXT,"
    " state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " max_attempts INTEGER NOT NULL DEFAULT 3,"
    " lease_until REAL NOT NULL DEFAULT 0,"
    " worker TEXT,"
    " progress REAL NOT NULL DEFAULT 0,"
    " stage TEXT,"
    " created REAL NOT NULL,"
    " started REAL NOT NULL DEFAULT 0,"
    " finished REAL NOT NULL DEFAULT 0,"
    " updated REAL NOT NULL,"
    " error TEXT,"
    " result TEXT,"
    " cancel INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_state ON jobs(state, seq);"
    "CREATE INDEX jobs_file ON jobs(file_id, seq);"
    "CREATE TABLE artifacts("
    " job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " analysis TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " blob TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " PRIMARY KEY(job_id, name));"
    "CREATE INDEX artifacts_blob ON artifacts(blob);",
};

struct sq {
  struct vd_store base;
  char *path;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  sqlite3 *free_conns[POOL_MAX];
  int nfree, nopen;
};

/* ---- connections -------------------------------------------------------- */

static int sqerr(sqlite3 *db, int rc, struct vd_err *err, const char *what) {
  int code = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? -16 /* -EBUSY */
             : (rc & 0xff) == SQLITE_CONSTRAINT                         ? VD_ERR_INVALID
             : (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB ? VD_ERR_CORRUPT
                                                                          : VD_ERR_INTERNAL;
  return vd_err_set(err, code, "store: %s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static void global_config(void) {
  /* Memory statistics take a global mutex on every allocation. */
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int open_conn(struct sq *q, sqlite3 **out, struct vd_err *err) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  sqlite3 *db = NULL;
  pthread_once(&once, global_config);
  int rc = sqlite3_open_v2(q->path, &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    int ret = sqerr(db, rc, err, q->path);
    sqlite3_close(db);
    return ret;
  }
  sqlite3_busy_timeout(db, 15000);
  rc = sqlite3_exec(db,
                    "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;",
                    NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    int ret = sqerr(db, rc, err, "configuring connection");
    sqlite3_close(db);
    return ret;
  }
  *out = db;
  return 0;
}

static int get_conn(struct sq *q, sqlite3 **out, struct vd_err *err) {
  pthread_mutex_lock(&q->mu);
  while (!q->nfree && q->nopen >= POOL_MAX)
    pthread_cond_wait(&q->cv, &q->mu);
  if (q->nfree) {
    *out = q->free_conns[--q->nfree];
    pthread_mutex_unlock(&q->mu);
    return 0;
  }
  q->nopen++;
  pthread_mutex_unlock(&q->mu);
  int ret = open_conn(q, out, err);
  if (ret < 0) {
    pthread_mutex_lock(&q->mu);
    q->nopen--;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
  }
  return ret;
}

static void put_conn(struct sq *q, sqlite3 *db) {
  /* A statement left mid-step would hold a read snapshot: reset them all. */
  for (sqlite3_stmt *c = sqlite3_next_stmt(db, NULL); c; c = sqlite3_next_stmt(db, c))
    if (sqlite3_stmt_busy(c))
      sqlite3_reset(c);
  if (!sqlite3_get_autocommit(db)) /* a failed call left a transaction open */
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  pthread_mutex_lock(&q->mu);
  q->free_conns[q->nfree++] = db;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
}

static int exec(sqlite3 *db, const char *sql, struct vd_err *err) {
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : sqerr(db, rc, err, sql);
}

/*
 * Statements are compiled once per connection and reused: compiling SQL
 * cost more than running it on the hot GET paths. A statement is "done"
 * with sqlite3_reset (never finalized while the connection lives), so the
 * connection's own list (sqlite3_next_stmt) is the cache.
 */
static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct vd_err *err) {
  for (sqlite3_stmt *c = sqlite3_next_stmt(db, NULL); c; c = sqlite3_next_stmt(db, c)) {
    if (!sqlite3_stmt_busy(c) && !strcmp(sqlite3_sql(c), sql)) {
      sqlite3_clear_bindings(c);
      *st = c;
      return 0;
    }
  }
  int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
  return rc == SQLITE_OK ? 0 : sqerr(db, rc, err, "prepare");
}

static void close_conn(sqlite3 *db) {
  sqlite3_stmt *st;
  while ((st = sqlite3_next_stmt(db, NULL)))
    sqlite3_finalize(st);
  sqlite3_close(db);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
  if (s)
    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, i);
}

static char *col_text(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? vd_xstrdup((const char *)t) : NULL;
}

/* Steps a statement that returns no rows (or ignores them) and finalizes it. */
static int run(sqlite3 *db, sqlite3_stmt *st, struct vd_err *err) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sqerr(db, rc, err, "step");
}

static double now_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Runs a read on a pooled connection: `sql` with `arg` bound to ?1 (when
 * not NULL), calling `row` for each result row. Returns the row count or a
 * negative code. Most reads in this file are this shape.
 */
typedef void (*row_fn)(sqlite3_stmt *st, void *u);

static int query(struct sq *q, const char *sql, const char *arg, row_fn row, void *u,
                 struct vd_err *err) {
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  int ret = get_conn(q, &db, err), rc, n = 0;
  if (ret < 0)
    return ret;
  if ((ret = prep(db, sql, &st, err)) < 0)
    goto out;
  if (arg)
    bind_text(st, 1, arg);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    row(st, u);
    n++;
  }
  ret = rc == SQLITE_DONE ? n : sqerr(db, rc, err, "query");
  sqlite3_reset(st);
out:
  put_conn(q, db);
  return ret;
}

static void row_int(sqlite3_stmt *st, void *u) { *(int64_t *)u = sqlite3_column_int64(st, 0); }

/* ---- files ---------------------------------------------------------------- */

#define FILE_COLS "seq, id, name, size, created, probe"

static void read_file_row(sqlite3_stmt *st, struct vd_file_rec *f) {
  memset(f, 0, sizeof(*f));
  f->seq = sqlite3_column_int64(st, 0);
  const unsigned char *id = sqlite3_column_text(st, 1);
  snprintf(f->id, sizeof(f->id), "%s", id ? (const char *)id : "");
  f->name = col_text(st, 2);
  if (!f->name)
    f->name = vd_xstrdup("");
  f->size = sqlite3_column_int64(st, 3);
  f->created = sqlite3_column_double(st, 4);
  f->probe = col_text(st, 5);
}

static int sq_file_put(struct vd_store *s, struct vd_file_rec *f, int *existed, struct vd_err *err) {
  struct sq *q = (struct sq *)s;
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  int ret = get_conn(q, &db, err);
  if (ret < 0)
    return ret;
  if (!f->created)
    f->created = now_wall();
  if ((ret = prep(db,
                  "INSERT INTO files(id, name, size, created, probe) VALUES(?,?,?,?,?)"
                  " ON CONFLICT(id) DO NOTHING",
                  &st, err)) < 0)
    goto out;
  bind_text(st, 1, f->id);
  bind_text(st, 2, f->name ? f->name : "");
  sqlite3_bind_int64(st, 3, f->size);
  sqlite3_bind_double(st, 4, f->created);
  bind_text(st, 5, f->probe);
  if ((ret = run(db, st, err)) < 0)
    goto out;
  if (existed)
    *existed = sqlite3_changes(db) == 0;
  f->seq = sqlite3_last_insert_rowid(db);
out:
  put_conn(q, db);
  return ret;
}

static void row_file(sqlite3_stmt *st, void *u) { read_file_row(st, u); }

static int sq_file_get(struct vd_store *s, const char *id, struct vd_file_rec *out,
                       struct vd_err *err) {
  int n = query((struct sq *)s, "SELECT " FILE_COLS " FROM files WHERE id = ?", id, row_file, out,
                err);
  return n < 0 ? n : n == 0 ? vd_err_set(err, VD_ERR_NOT_FOUND, "no file %s", id) : 0;
}

static int sq_file_list(struct vd_store *s, int64_t cursor, int limit, struct vd_file_rec **out,
                        size_t *n, struct vd_err *err) {
  struct sq *q = (struct sq *)s;
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  *out = NULL;
  *n = 0;
  int ret = get_conn(q, &db, err);
  if (ret < 0)
    return ret;
  if ((ret = prep(db, "SELECT " FILE_COLS " FROM files WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                  &st, err)) < 0)
    goto out;
  sqlite3_bind_int64(st, 1, cursor > 0 ? cursor : INT64_MAX);
  sqlite3_bind_int(st, 2, limit);
  struct vd_file_rec *recs = vd_xcalloc((size_t)(limit > 0 ? limit : 1), sizeof(*recs));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && (int)*n < limit)
    read_file_row(st, &recs[(*n)++]);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    ret = sqerr(db, rc, err, "file_list");
  sqlite3_reset(st);
  *out = recs;
out:
  put_conn(q, db);
  return ret;
}

/* Adds to `l` those of `cands` that no row references any more. */
static int collect_orphans(sqlite3 *db, char (*cands)[65], size_t nc, struct vd_idlist *l,
                           struct vd_err *err) {
  sqlite3_stmt *st = NULL;
  int ret = prep(db,
                 "SELECT EXISTS(SELECT 1 FROM files WHERE id = ?1)"
                 " OR EXISTS(SELECT 1 FROM artifacts WHERE blob = ?1)",
                 &st, err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < nc; i++) {
    int dup = 0;
    for (size_t k = 0; k < l->n; k++)
      dup |= !strcmp(l->ids[k], cands[i]);
    if (dup)
      continue;
    sqlite3_reset(st);
    bind_text(st, 1, cands[i]);
    if (sqlite3_step(st) == SQLITE_ROW && !sqlite3_column_int(st, 0)) {
      l->ids = vd_xrealloc(l->ids, (l->n + 1) * sizeof(*l->ids));
      memcpy(l->ids[l->n++], cands[i], 65);
    }
  }
  sqlite3_reset(st);
  return 0;
}

/* Blob ids of the artifacts selected by `where` (bound to `arg`). */
static int artifact_blobs(sqlite3 *db, const char *sql, const char *arg, char (**out)[65],
                          size_t *n, struct vd_err *err) {
  sqlite3_stmt *st = NULL;
  int ret = prep(db, sql, &st, err);
  if (ret < 0)
    return ret;
  bind_text(st, 1, arg);
  while (sqlite3_step(st) == SQLITE_ROW) {
    *out = vd_xrealloc(*out, (*n + 1) * sizeof(**out));
    const unsigned char *b = sqlite3_column_text(st, 0);
    snprintf((*out)[(*n)++], 65, "%s", b ? (const char *)b : "");
  }
  sqlite3_reset(st);
  return 0;
}

/*
 * Deletes the row `id` with `del_sql`, first collecting the artifact blobs
 * `blobs_sql` selects (plus `id` itself when it names a blob), and reports
 * those that nothing references afterwards. One transaction.
 */
static int delete_reporting_orphans(struct sq *q, const char *id, const char *blobs_sql,
                                    const char *del_sql, int id_is_blob, const char *what,
                                    struct vd_idlist *orphans, struct vd_err *err) {
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  char(*cands)[65] = NULL;
  size_t nc = 0;
  memset(orphans, 0, sizeof(*orphans));
  int ret = get_conn(q, &db, err);
  if (ret < 0)
    return ret;
  if ((ret = exec(db, "BEGIN IMMEDIATE", err)) < 0 ||
      (ret = artifact_blobs(db, blobs_sql, id, &cands, &nc, err)) < 0 ||
      (ret = prep(db, del_sql, &st, err)) < 0)
    goto out;
  bind_text(st, 1, id);
  if ((ret = run(db, st, err)) < 0)
    goto out;
  if (sqlite3_changes(db) == 0) {
    ret = vd_err_set(err, VD_ERR_NOT_FOUND, "no %s %s", what, id);
    goto out;
  }
  if (id_is_blob) {
    cands = vd_xrealloc(cands, (nc + 1) * sizeof(*cands));
    snprintf(cands[nc++], 65, "%s", id);
  }
  if ((ret = collect_orphans(db, cands, nc, orphans, err)) < 0)
    goto out;
  ret = exec(db, "COMMIT", err);
out:
  if (ret < 0)
    vd_idlist_fini(orphans);
  free(cands);
  put_conn(q, db);
  return ret;
}

static int sq_file_delete(struct vd_store *s, const char *id, struct vd_idlist *orphans,
                          struct vd_err *err) {
  return delete_reporting_orphans((struct sq *)s, id,
                                  "SELECT a.blob FROM artifacts a JOIN jobs j ON a.job_id = j.id"
                                  " WHERE j.file_id = ?",
                                  "DELETE FROM files WHERE id = ?", 1, "file", orphans, err);
}

static int sq_file_active_jobs(struct vd_store *s, const char *file_id, int *n,
                               struct vd_err *err) {
  int64_t v = 0;
  int ret = query((struct sq *)s,
                  "SELECT COUNT(*) FROM jobs WHERE file_id = ? AND state IN ('queued','running')",
                  file_id, row_int, &v, err);
  *n = (int)v;
  return ret < 0 ? ret : 0;
}

/* ---- jobs ----------------------------------------------------------------- */

#define JOB_COLS                                                                                  \
  "seq, id, file_id, source, analyses, params, webhook, kind, extra, state, attempts,"            \
  " max_attempts, lease_until, worker, progress, stage, created, started, finished, updated,"     \
  " error, cancel, result"

static void read_job_row(sqlite3_stmt *st, struct vd_job_rec *j, int with_result) {
  memset(j, 0, sizeof(*j));
  j->seq = sqlite3_column_int64(st, 0);
  const unsigned char *id = sqlite3_column_text(st, 1);
  snprintf(j->id, sizeof(j->id), "%s", id ? (const char *)id : "");
  j->file_id = col_text(st, 2);
  j->source = col_text(st, 3);
  j->analyses = col_text(st, 4);
  j->params = col_text(st, 5);
  j->webhook = col_text(st, 6);
  j->kind = col_text(st, 7);
  j->extra = col_text(st, 8);
  const unsigned char *state = sqlite3_column_text(st, 9);
  int sv = vd_job_state_parse((const char *)state);
  j->state = sv < 0 ? VD_JOB_FAILED : (enum vd_job_state)sv;
  j->attempts = sqlite3_column_int(st, 10);
  j->max_attempts = sqlite3_column_int(st, 11);
  j->lease_until = sqlite3_column_double(st, 12);
  j->worker = col_text(st, 13);
  j->progress = sqlite3_column_double(st, 14);
  j->stage = col_text(st, 15);
  j->created = sqlite3_column_double(st, 16);
  j->started = sqlite3_column_double(st, 17);
  j->finished = sqlite3_column_double(st, 18);
  j->updated = sqlite3_column_double(st, 19);
  j->error = col_text(st, 20);
  j->cancel = sqlite3_column_int(st, 21);
  j->result = with_result ? col_text(st, 22) : NULL;
}

static int sq_job_create(struct vd_store *s, struct vd_job_rec *j, struct vd_err *err) {
  struct sq *q = (struct sq *)s;
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  int ret = get_conn(q, &db, err);
  if (ret < 0)
    return ret;
  if (!j->created)
    j->created = now_wall();
  j->updated = j->created;
  j->state = VD_JOB_QUEUED;
  if (j->max_attempts < 1)
    j->max_attempts = 3;
  if ((ret = prep(db,
                  "INSERT INTO jobs(id, file_id, source, analyses, params, webhook, kind, extra,"
                  " state, max_attempts, created, updated, stage)"
                  " VALUES(?,?,?,?,?,?,?,?,'queued',?,?,?,'queued')",
                  &st, err)) < 0)
    goto out;
  bind_text(st, 1, j->id);
  bind_text(st, 2, j->file_id);
  bind_text(st, 3, j->source);
  bind_text(st, 4, j->analyses ? j->analyses : "[]");
  bind_text(st, 5, j->params ? j->params : "{}");
  bind_text(st, 6, j->webhook);
  bind_text(st, 7, j->kind ? j->kind : "v1");
  bind_text(st, 8, j->extra);
  sqlite3_bind_int(st, 9, j->max_attempts);
  sqlite3_bind_double(st, 10, j->created);
  sqlite3_bind_double(st, 11, j->updated);
  if ((ret = run(db, st, err)) < 0)
    goto out;
  j->seq = sqlite3_last_insert_rowid(db);
out:
  put_conn(q, db);
  return ret;
}

static int get_job_on(sqlite3 *db, const char *id, struct vd_job_rec *out, struct vd_err *err) {
  sqlite3_stmt *st = NULL;
  int ret = prep(db, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", &st, err);
  if (ret < 0)
    return ret;
  bind_text(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    read_job_row(st, out, 1);
  else if (rc == SQLITE_DONE)
    ret = vd_err_set(err, VD_ERR_NOT_FOUND, "no analysis %s", id);
  else
    ret = sqerr(db, rc, err, "job_get");
  sqlite3_reset(st);
  return ret;
}

static void row_job(sqlite3_stmt *st, void *u) { read_job_row(st, u, 1); }

static int sq_job_get(struct vd_store *s, const char *id, struct vd_job_rec *out,
                      struct vd_err *err) {
  int n = query((struct sq *)s, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", id, row_job, out, err);
  return n < 0 ? n : n == 0 ? vd_err_set(err, VD_ERR_NOT_FOUND, "no analysis %s", id) : 0;
}

static int sq_job_list(struct vd_store *s, const char *file_id, int state, const char *kind,
                       int64_t cursor, int limit, struct vd_job_rec **out, size_t *n,
                       struct vd_err *err) {
  struct sq *q = (struct sq *)s;
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  *out = NULL;
  *n = 0;
  int ret = get_conn(q, &db, err);
  if (ret < 0)
    return ret;
  if ((ret = prep(db,
                  "SELECT " JOB_COLS " FROM jobs WHERE seq < ?1 AND (?2 IS NULL OR file_id = ?2)"
                  " AND (?3 IS NULL OR state = ?3) AND (?4 IS NULL OR kind = ?4)"
                  " ORDER BY seq DESC LIMIT ?5",
                  &st, err)) < 0)
    goto out;
  sqlite3_bind_int64(st, 1, cursor > 0 ? cursor : INT64_MAX);
  bind_text(st, 2, file_id);
  bind_text(st, 3, state >= 0 ? vd_job_state_name((enum vd_job_state)state) : NULL);
  bind_text(st, 4, kind);
  sqlite3_bind_int(st, 5, limit);
  struct vd_job_rec *recs = vd_xcalloc((size_t)(limit > 0 ? limit : 1), sizeof(*recs));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && (int)*n < limit)
    read_job_row(st, &recs[(*n)++], 0);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    ret = sqerr(db, rc, err, "job_list");
  sqlite3_reset(st);
  *out = recs;
out:
  put_conn(q, db);
  return ret;
}

static int sq_job_claim(struct vd_store *s, const char *worker, double now, double lease,
                        struct vd_job_rec *out, struct vd_err *err) {
  struct sq *q = (struct sq *)s;
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  char id[40] = "";
  int ret = get_conn(q, &db, err);
  if (ret < 0)
    return ret;
  if ((ret = exec(db, "BEGIN IMMEDIATE", err)) < 0)
    goto out;
  /* Leases that ran out belong to workers that died: cancel what was being
   * canceled, give up on jobs out of attempts, and queue the rest again. */
  if ((ret = prep(db,
                  "UPDATE jobs SET state = CASE WHEN cancel THEN 'canceled'"
                  "  WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,"
                  " finished = CASE WHEN cancel OR attempts >= max_attempts THEN ?1 ELSE 0 END,"
                  " error = CASE WHEN cancel THEN 'canceled'"
                  "  ELSE 'worker lost (lease expired) on attempt ' || attempts || ' of '"
                  "   || max_attempts END,"
                  " stage = CASE WHEN cancel OR attempts >= max_attempts THEN stage"
                  "  ELSE 'queued again' END,"
                  " worker = NULL, updated = ?1"
                  " WHERE state = 'running' AND lease_until < ?1",
                  &st, err)) < 0)
    goto out;
  sqlite3_bind_double(st, 1, now);
  if ((ret = run(db, st, err)) < 0)
    goto out;
  if (sqlite3_changes(db) > 0)
    VD_WARN("store: %d job(s) with expired leases recovered", sqlite3_changes(db));
  if ((ret = prep(db, "SELECT id FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1", &st,
                  err)) < 0)
    goto out;
  if (sqlite3_step(st) == SQLITE_ROW)
    snprintf(id, sizeof(id), "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_reset(st);
  if (!id[0]) {
    ret = exec(db, "COMMIT", err);
    goto out;
  }
  if ((ret = prep(db,
                  "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = ?,"
                  " lease_until = ?, started = ?, updated = ?, stage = 'starting' WHERE id = ?",
                  &st, err)) < 0)
    goto out;
  bind_text(st, 1, worker);
  sqlite3_bind_double(st, 2, now + lease);
  sqlite3_bind_double(st, 3, now);
  sqlite3_bind_double(st, 4, now);
  bind_text(st, 5, id);
  if ((ret = run(db, st, err)) < 0 || (ret = get_job_on(db, id, out, err)) < 0)
    goto out;
  if ((ret = exec(db, "COMMIT", err)) < 0) {
    vd_job_rec_fini(out);
    goto out;
  }
  ret = 1;
out:
  put_conn(q, db);
  return ret;
}

static int sq_job_heartbeat(struct vd_store *s, const char *id, const char *worker,
                            double progress, const char *stage, double now, double lease_until,
                            int *cancel, struct vd_err *err) {
  struct sq *q = (struct sq *)s;
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  *cancel = 0;
  int ret = get_conn(q, &db, err);
  if (ret < 0)
    return ret;
  if ((ret = prep(db,
                  "UPDATE jobs SET progress = ?, stage = COALESCE(?, stage), updated = ?,"
                  " lease_until = ? WHERE id = ? AND worker = ? AND state = 'running'"
                  " RETURNING cancel",
                  &st, err)) < 0)
    goto out;
  sqlite3_bind_double(st, 1, progress);
  bind_text(st, 2, stage);
  sqlite3_bind_double(st, 3, now);
  sqlite3_bind_double(st, 4, lease_until);
  bind_text(st, 5, id);
  bind_text(st, 6, worker);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *cancel = sqlite3_column_int(st, 0);
  else if (rc == SQLITE_DONE)
    ret = vd_err_set(err, VD_ERR_NOT_FOUND, "analysis %s is no longer owned by %s", id, worker);
  else
    ret = sqerr(db, rc, err, "heartbeat");
  sqlite3_reset(st);
out:
  put_conn(q, db);
  return ret;
}

static int sq_job_finish(struct vd_store *s, const char *id, const char *worker,
                         enum vd_job_state state, const char *result, const char *error,
                         const struct vd_artifact_rec *arts, size_t n_arts, double now,
                         struct vd_err *err) {
  struct sq *q = (struct sq *)s;
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  int ret = get_conn(q, &db, err);
  if (ret < 0)
    return ret;
  if ((ret = exec(db, "BEGIN IMMEDIATE", err)) < 0)
    goto out;
  if ((ret = prep(db,
                  "UPDATE jobs SET state = ?, result = ?, error = ?, finished = ?, updated = ?,"
                  " progress = CASE WHEN ? = 'succeeded' THEN 1 ELSE progress END,"
                  " stage = ?, worker = NULL"
                  " WHERE id = ? AND worker = ? AND state = 'running'",
                  &st, err)) < 0)
    goto out;
  bind_text(st, 1, vd_job_state_name(state));
  bind_text(st, 2, result);
  bind_text(st, 3, error);
  sqlite3_bind_double(st, 4, now);
  sqlite3_bind_double(st, 5, now);
  bind_text(st, 6, vd_job_state_name(state));
  bind_text(st, 7, vd_job_state_name(state));
  bind_text(st, 8, id);
  bind_text(st, 9, worker);
  if ((ret = run(db, st, err)) < 0)
    goto out;
  if (sqlite3_changes(db) == 0) {
    ret = vd_err_set(err, VD_ERR_NOT_FOUND, "analysis %s is no longer owned by %s", id, worker);
    goto out;
  }
  if ((ret = prep(db,
                  "INSERT OR REPLACE INTO artifacts(job_id, analysis, name, blob, size)"
                  " VALUES(?,?,?,?,?)",
                  &st, err)) < 0)
    goto out;
  for (size_t i = 0; i < n_arts; i++) {
    sqlite3_reset(st);
    bind_text(st, 1, id);
    bind_text(st, 2, arts[i].analysis);
    bind_text(st, 3, arts[i].name);
    bind_text(st, 4, arts[i].blob);
    sqlite3_bind_int64(st, 5, arts[i].size);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
      ret = sqerr(db, rc, err, "artifact");
      sqlite3_reset(st);
      goto out;
    }
  }
  sqlite3_reset(st);
  ret = exec(db, "COMMIT", err);
out:
  put_conn(q, db);
  return ret;
}

static int sq_job_cancel(struct vd_store *s, const char *id, double now, int *state,
                         struct vd_err *err) {
  struct sq *q = (struct sq *)s;
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  struct vd_job_rec j;
  int ret = get_conn(q, &db, err);
  if (ret < 0)
    return ret;
  if ((ret = exec(db, "BEGIN IMMEDIATE", err)) < 0)
    goto out;
  if ((ret = prep(db,
                  "UPDATE jobs SET cancel = 1, updated = ?1,"
                  " state = CASE WHEN state = 'queued' THEN 'canceled' ELSE state END,"
                  " finished = CASE WHEN state = 'queued' THEN ?1 ELSE finished END,"
                  " error = CASE WHEN state = 'queued' THEN 'canceled' ELSE error END"
                  " WHERE id = ?2",
                  &st, err)) < 0)
    goto out;
  sqlite3_bind_double(st, 1, now);
  bind_text(st, 2, id);
  if ((ret = run(db, st, err)) < 0 || (ret = get_job_on(db, id, &j, err)) < 0)
    goto out;
  *state = (int)j.state;
  vd_job_rec_fini(&j);
  ret = exec(db, "COMMIT", err);
out:
  put_conn(q, db);
  return ret;
}

static int sq_job_delete(struct vd_store *s, const char *id, struct vd_idlist *orphans,
                         struct vd_err *err) {
  return delete_reporting_orphans((struct sq *)s, id, "SELECT blob FROM artifacts WHERE job_id = ?",
                                  "DELETE FROM jobs WHERE id = ?", 0, "analysis", orphans, err);
}

struct arts {
  struct vd_artifact_rec *v;
  size_t n;
};

static void row_artifact(sqlite3_stmt *st, void *u) {
  struct arts *l = u;
  l->v = vd_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
  struct vd_artifact_rec *a = &l->v[l->n++];
  a->analysis = col_text(st, 0);
  a->name = col_text(st, 1);
  const unsigned char *b = sqlite3_column_text(st, 2);
  snprintf(a->blob, sizeof(a->blob), "%s", b ? (const char *)b : "");
  a->size = sqlite3_column_int64(st, 3);
}

static int sq_job_artifacts(struct vd_store *s, const char *id, struct vd_artifact_rec **out,
                            size_t *n, struct vd_err *err) {
  struct arts l = {NULL, 0};
  int ret = query((struct sq *)s,
                  "SELECT analysis, name, blob, size FROM artifacts WHERE job_id = ?"
                  " ORDER BY analysis, name",
                  id, row_artifact, &l, err);
  *out = l.v;
  *n = l.n;
  return ret < 0 ? ret : 0;
}

static void row_count(sqlite3_stmt *st, void *u) {
  int sv = vd_job_state_parse((const char *)sqlite3_column_text(st, 0));
  if (sv >= 0)
    ((int64_t *)u)[sv] = sqlite3_column_int64(st, 1);
}

static int sq_job_counts(struct vd_store *s, int64_t counts[VD_JOB_NSTATES], struct vd_err *err) {
  memset(counts, 0, sizeof(int64_t) * VD_JOB_NSTATES);
  int ret = query((struct sq *)s, "SELECT state, COUNT(*) FROM jobs GROUP BY state", NULL,
                  row_count, counts, err);
  return ret < 0 ? ret : 0;
}

static int sq_blob_referenced(struct vd_store *s, const char *blob, struct vd_err *err) {
  int64_t v = 0;
  int ret = query((struct sq *)s,
                  "SELECT EXISTS(SELECT 1 FROM files WHERE id = ?1)"
                  " OR EXISTS(SELECT 1 FROM artifacts WHERE blob = ?1)",
                  blob, row_int, &v, err);
  return ret < 0 ? ret : (int)v;
}

/* ---- open / migrate ---------------------------------------------------------- */

static int migrate(sqlite3 *db, struct vd_err *err) {
  sqlite3_stmt *st = NULL;
  int ret = exec(db, "BEGIN IMMEDIATE", err);
  if (ret < 0)
    return ret;
  if ((ret = prep(db, "PRAGMA user_version", &st, err)) < 0)
    goto fail;
  int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  sqlite3_reset(st);
  int target = (int)(sizeof(migrations) / sizeof(migrations[0]));
  if (version > target) {
    ret = vd_err_set(err, VD_ERR_UNSUPPORTED,
                     "store: database schema version %d is newer than this vidan (%d)", version,
                     target);
    goto fail;
  }
  for (int v = version; v < target; v++) {
    if ((ret = exec(db, migrations[v], err)) < 0)
      goto fail;
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
    if ((ret = exec(db, sql, err)) < 0)
      goto fail;
    VD_INFO("store: migrated schema to version %d", v + 1);
  }
  return exec(db, "COMMIT", err);
fail:
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return ret;
}

static void sq_free(struct vd_store *s) {
  struct sq *q = (struct sq *)s;
  for (int i = 0; i < q->nfree; i++)
    close_conn(q->free_conns[i]);
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->cv);
  free(q->path);
  free(q);
}

static const struct vd_store_ops sqlite_ops = {
    .name = "sqlite",
    .free = sq_free,
    .file_put = sq_file_put,
    .file_get = sq_file_get,
    .file_list = sq_file_list,
    .file_delete = sq_file_delete,
    .file_active_jobs = sq_file_active_jobs,
    .job_create = sq_job_create,
    .job_get = sq_job_get,
    .job_list = sq_job_list,
    .job_claim = sq_job_claim,
    .job_heartbeat = sq_job_heartbeat,
    .job_finish = sq_job_finish,
    .job_cancel = sq_job_cancel,
    .job_delete = sq_job_delete,
    .job_artifacts = sq_job_artifacts,
    .job_counts = sq_job_counts,
    .blob_referenced = sq_blob_referenced,
};

int vd__store_sqlite_open(struct vd_store **out, const char *path, struct vd_err *err) {
  struct sq *q = vd_xcalloc(1, sizeof(*q));
  sqlite3 *db = NULL;
  q->base.ops = &sqlite_ops;
  q->path = vd_xstrdup(path);
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cv, NULL);
  *out = NULL;
  int ret = open_conn(q, &db, err);
  if (ret < 0)
    goto fail;
  if ((ret = migrate(db, err)) < 0) {
    close_conn(db);
    goto fail;
  }
  q->nopen = 1;
  q->free_conns[q->nfree++] = db;
  *out = &q->base;
  return 0;
fail:
  sq_free(&q->base);
  return ret;
}
