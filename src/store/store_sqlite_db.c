/*
 * store_sqlite_db.c: the SQLite plumbing under store_sqlite.c: a pool of
 * connections to one database, statement caching, argument binding, and
 * the one transaction helper. No table is named here except in migrate.
 *
 * DESIGN
 * - One database file in WAL mode: readers never block the writer and the
 *   writer never blocks readers. Each thread takes a connection from the
 *   pool (at most POOL_MAX) for the length of one call, so HTTP threads
 *   read in parallel.
 * - Every multi-statement write runs through vd__sq_with_tx(): BEGIN
 *   IMMEDIATE, the operation's statements, then COMMIT, or ROLLBACK when
 *   any of them failed. The write lock is taken up front, so two writers
 *   never deadlock upgrading a read lock; the busy timeout (15 s) queues
 *   them instead, and is the only retry: in WAL mode a begun IMMEDIATE
 *   transaction cannot hit SQLITE_BUSY again before its COMMIT.
 * - synchronous=NORMAL in WAL mode loses nothing when the process is killed
 *   (only a power cut can drop the last commits), which is the failure the
 *   job queue is built to survive.
 * - Schema versions: PRAGMA user_version, moved by vd__sqlite_migrations
 *   (store_schema.c) one step at a time, all in one transaction.
 * - SQLite result codes become vd error codes here and go no further.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "store/store_int.h"

#define POOL_MAX 16

struct vd__sq_pool {
  char *path;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  sqlite3 *free_conns[POOL_MAX];
  int nfree, nopen;
};

/* ---- connections -------------------------------------------------------- */

static int sqerr(sqlite3 *db, int rc, struct vd_err *err, const char *what) {
  int code = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED      ? -16 /* -EBUSY */
             : (rc & 0xff) == SQLITE_CONSTRAINT                              ? VD_ERR_INVALID
             : (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB ? VD_ERR_CORRUPT
                                                                             : VD_ERR_INTERNAL;
  return vd_err_set(err, code, "store: %s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static void global_config(void) {
  /* Memory statistics take a global mutex on every allocation. */
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int open_conn(struct vd__sq_pool *q, sqlite3 **out, struct vd_err *err) {
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

static int get_conn(struct vd__sq_pool *q, sqlite3 **out, struct vd_err *err) {
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

static void put_conn(struct vd__sq_pool *q, sqlite3 *db) {
  /* A statement left mid-step would hold a read snapshot: reset them all. */
  for (sqlite3_stmt *c = sqlite3_next_stmt(db, NULL); c; c = sqlite3_next_stmt(db, c))
    if (sqlite3_stmt_busy(c))
      sqlite3_reset(c);
  if (!sqlite3_get_autocommit(db)) /* only a bug leaves a transaction open here */
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  pthread_mutex_lock(&q->mu);
  q->free_conns[q->nfree++] = db;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
}

/* 1 for the statements a virtual table (the FTS5 search index) prepared
 * on the connection for its own shadow tables: they always name the schema
 * in quotes ("'main'."), which vidan's SQL never does. */
static int vtab_stmt(sqlite3_stmt *st) {
  const char *sql = sqlite3_sql(st);
  return sql && strstr(sql, "'main'.");
}

/* Finalizes our statements only: FTS5 finalizes its own when the
 * connection closes (xDisconnect), and finalizing one of them first would
 * free it twice. Anything still open after the close goes then. */
static void close_conn(sqlite3 *db) {
  sqlite3_stmt *st = sqlite3_next_stmt(db, NULL);
  while (st) {
    if (vtab_stmt(st)) {
      st = sqlite3_next_stmt(db, st);
      continue;
    }
    sqlite3_finalize(st);
    st = sqlite3_next_stmt(db, NULL);
  }
  if (sqlite3_close(db) == SQLITE_OK)
    return;
  while ((st = sqlite3_next_stmt(db, NULL)))
    sqlite3_finalize(st);
  sqlite3_close(db);
}

/* ---- statements ------------------------------------------------------------ */

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

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
  if (s)
    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, i);
}

char *vd__sq_text(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? vd_xstrdup((const char *)t) : NULL;
}

void vd__sq_copy(sqlite3_stmt *st, int i, char *buf, size_t len) {
  const unsigned char *t = sqlite3_column_text(st, i);
  snprintf(buf, len, "%s", t ? (const char *)t : "");
}

/*
 * Binds the arguments to ?1, ?2, ... as `types` says, one letter each:
 * 't' text (const char *; NULL binds NULL), 'd' double, 'i' int,
 * 'l' int64_t.
 */
static void bindv(sqlite3_stmt *st, const char *types, va_list ap) {
  for (int i = 0; types[i]; i++) {
    switch (types[i]) {
    case 't':
      bind_text(st, i + 1, va_arg(ap, const char *));
      break;
    case 'd':
      sqlite3_bind_double(st, i + 1, va_arg(ap, double));
      break;
    case 'i':
      sqlite3_bind_int(st, i + 1, va_arg(ap, int));
      break;
    case 'l':
      sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
      break;
    default:
      VD_ASSERT(!"bind type is one of t, d, i, l");
    }
  }
}

/*
 * Runs `sql` on `db` with the arguments bound (bindv), calling `row` (may be
 * NULL) for each result row. Returns the number of rows, or a negative code.
 * Every statement in this file is stepped here.
 */
static int eachv(sqlite3 *db, vd__sq_row_fn row, void *u, struct vd_err *err, const char *sql,
                 const char *types, va_list ap) {
  sqlite3_stmt *st = NULL;
  int ret = prep(db, sql, &st, err), rc, n = 0;
  if (ret < 0)
    return ret;
  bindv(st, types, ap);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (row)
      row(st, u);
    n++;
  }
  ret = rc == SQLITE_DONE ? n : sqerr(db, rc, err, "step");
  sqlite3_reset(st);
  return ret;
}

int vd__sq_each(sqlite3 *db, vd__sq_row_fn row, void *u, struct vd_err *err, const char *sql,
                const char *types, ...) {
  va_list ap;
  va_start(ap, types);
  int ret = eachv(db, row, u, err, sql, types, ap);
  va_end(ap);
  return ret;
}

int vd__sq_run(sqlite3 *db, struct vd_err *err, const char *sql, const char *types, ...) {
  va_list ap;
  va_start(ap, types);
  int ret = eachv(db, NULL, NULL, err, sql, types, ap);
  va_end(ap);
  return ret < 0 ? ret : sqlite3_changes(db);
}

int vd__sq_query(struct vd__sq_pool *q, vd__sq_row_fn row, void *u, struct vd_err *err,
                 const char *sql, const char *types, ...) {
  sqlite3 *db;
  int ret = get_conn(q, &db, err);
  if (ret < 0)
    return ret;
  va_list ap;
  va_start(ap, types);
  ret = eachv(db, row, u, err, sql, types, ap);
  va_end(ap);
  put_conn(q, db);
  return ret;
}

/* BEGIN IMMEDIATE, fn, then COMMIT when fn returned >= 0, else ROLLBACK.
 * Returns fn's value, or the code of a failed BEGIN/COMMIT. */
static int tx_on(sqlite3 *db, vd__sq_tx_fn fn, void *arg, struct vd_err *err) {
  int ret = exec(db, "BEGIN IMMEDIATE", err);
  if (ret < 0)
    return ret;
  ret = fn(db, arg, err);
  if (ret >= 0) {
    int c = exec(db, "COMMIT", err);
    ret = c < 0 ? c : ret;
  }
  if (ret < 0 && !sqlite3_get_autocommit(db))
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return ret;
}

int vd__sq_with_tx(struct vd__sq_pool *q, vd__sq_tx_fn fn, void *arg, struct vd_err *err) {
  sqlite3 *db;
  int ret = get_conn(q, &db, err);
  if (ret < 0)
    return ret;
  ret = tx_on(db, fn, arg, err);
  put_conn(q, db);
  return ret;
}

/* ---- open / migrate ---------------------------------------------------------- */

static void row_int(sqlite3_stmt *st, void *u) { *(int64_t *)u = sqlite3_column_int64(st, 0); }

static int migrate_tx(sqlite3 *db, void *arg, struct vd_err *err) {
  (void)arg;
  int64_t version = 0;
  int ret = vd__sq_each(db, row_int, &version, err, "PRAGMA user_version", "");
  if (ret < 0)
    return ret;
  if (version > vd__sqlite_nmigrations)
    return vd_err_set(err, VD_ERR_UNSUPPORTED,
                      "store: database schema version %d is newer than this vidan (%d)",
                      (int)version, vd__sqlite_nmigrations);
  for (int v = (int)version; v < vd__sqlite_nmigrations; v++) {
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
    if ((ret = exec(db, vd__sqlite_migrations[v], err)) < 0 || (ret = exec(db, sql, err)) < 0)
      return ret;
    VD_INFO("store: migrated schema to version %d", v + 1);
  }
  return 0;
}

void vd__sq_pool_free(struct vd__sq_pool *q) {
  if (!q)
    return;
  for (int i = 0; i < q->nfree; i++)
    close_conn(q->free_conns[i]);
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->cv);
  free(q->path);
  free(q);
}

int vd__sq_pool_open(struct vd__sq_pool **out, const char *path, struct vd_err *err) {
  struct vd__sq_pool *q = vd_xcalloc(1, sizeof(*q));
  sqlite3 *db = NULL;
  q->path = vd_xstrdup(path);
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cv, NULL);
  *out = NULL;
  int ret = open_conn(q, &db, err);
  if (ret < 0)
    goto fail;
  if ((ret = tx_on(db, migrate_tx, NULL, err)) < 0) {
    close_conn(db);
    goto fail;
  }
  q->nopen = 1;
  q->free_conns[q->nfree++] = db;
  *out = q;
  return 0;
fail:
  vd__sq_pool_free(q);
  return ret;
}
