/*
 * store_pg_db.c: the PostgreSQL plumbing under store_pg.c: a pool of
 * connections to one database, prepared statements, argument binding, the
 * transaction helper, reconnects, and the LISTEN connection. No table is
 * named here except in migrate.
 *
 * DESIGN
 * - A pool of at most POOL_MAX connections per process; each call takes
 *   one for its length, so HTTP threads and workers run in parallel and a
 *   connection is only ever used by one thread at a time (libpq's rule).
 * - Each connection prepares a statement the first time it runs it and
 *   keeps it by its SQL text: the hot paths (claim, heartbeat, get) are then
 *   one round trip without parsing or planning. Parameter types come from
 *   the caller's `types` letters, so "$2 IS NULL OR x = $2" needs no casts.
 * - Reconnects: a pooled connection is checked when it is taken: if the
 *   server closed it (restart, failover, pg_terminate_backend) libpq has
 *   data or EOF waiting, and the connection is re-established (PQreset) and
 *   its statement cache emptied before anything is sent. A connection lost
 *   in the middle of a statement fails that call with -ECONNRESET and is
 *   reset at its next use: a statement is never sent twice, since it may
 *   have committed. A server that cannot be reached gives -ECONNREFUSED with
 *   libpq's reason and where it tried.
 * - Transactions are READ COMMITTED. The operations make that enough: rows
 *   are claimed with FOR UPDATE SKIP LOCKED, and every UPDATE re-checks its
 *   WHERE against the newest row version. A deadlock or serialization
 *   failure (not expected, but legal) rolls back and runs the function
 *   again.
 * - Schema: a one-row table vidan_schema(version); vd__pg_migrations run
 *   under pg_advisory_xact_lock in one transaction (DDL is transactional),
 *   so of several nodes starting at once one migrates and the others then
 *   see the new version.
 * - LISTEN: one more connection, opened on the first vd__pg_wait. NOTIFY is
 *   delivered at the sender's COMMIT, so a woken worker always finds the
 *   queued row. A lost listener reconnects and reports a wake-up, since
 *   notifications sent meanwhile are gone.
 * - libpq and SQLSTATE codes become vd error codes here and go no further.
 */
#ifdef VD_HAVE_LIBPQ

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "store/store_int.h"

#define POOL_MAX 8
#define MAX_STMTS 64
#define MAX_PARAMS 16
#define TX_TRIES 3
#define SCHEMA_LOCK 0x7669646eLL /* "vidn": the advisory lock of migrations */

struct vd__pg_conn {
  PGconn *pg;
  const char *stmts[MAX_STMTS]; /* SQL of prepared statement "vd<i>" (static strings) */
  int nstmts;
};

struct vd__pg_pool {
  char *conninfo;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct vd__pg_conn *free_conns[POOL_MAX];
  int nfree, nopen;
  int down; /* a reconnect failed and none succeeded since: warn once */
  pthread_mutex_t listen_mu; /* one waiter at a time owns `listener` */
  PGconn *listener;
  int listen_failed; /* the last attempt to listen failed */
};

/* ---- errors ------------------------------------------------------------------ */

/* libpq messages end with a newline; keep the first line. */
static const char *first_line(const char *msg, char *buf, size_t len) {
  snprintf(buf, len, "%s", msg && *msg ? msg : "unknown error");
  buf[strcspn(buf, "\n")] = '\0';
  return buf;
}

/* Where a connection goes, for messages; never the password. */
static void where(PGconn *pg, char *buf, size_t len) {
  const char *h = pg ? PQhost(pg) : NULL, *p = pg ? PQport(pg) : NULL, *d = pg ? PQdb(pg) : NULL;
  snprintf(buf, len, "%s%s%s/%s", h && *h ? h : "localhost", p && *p ? ":" : "", p ? p : "",
           d ? d : "");
}

static int conn_err(PGconn *pg, int code, struct vd_err *err, const char *what) {
  char line[256], at[160];
  where(pg, at, sizeof(at));
  return vd_err_set(err, code, "store: %s PostgreSQL at %s: %s", what, at,
                    first_line(pg ? PQerrorMessage(pg) : NULL, line, sizeof(line)));
}

/* A failed result as a vd code: constraint violations are the caller's
 * fault, deadlocks and serialization failures may be retried, a lost
 * connection says so. */
static int res_err(PGconn *pg, PGresult *r, struct vd_err *err, const char *what) {
  const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  char line[256];
  if (PQstatus(pg) == CONNECTION_BAD || (state && (!strncmp(state, "08", 2) ||
                                                   !strncmp(state, "57P", 3))))
    return conn_err(pg, -ECONNRESET, err, "lost the connection to");
  int code = state && !strncmp(state, "23", 2)                             ? VD_ERR_INVALID
             : state && (!strcmp(state, "40001") || !strcmp(state, "40P01")) ? -EBUSY
                                                                            : VD_ERR_INTERNAL;
  return vd_err_set(err, code, "store: %s: %s", what,
                    first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(pg), line,
                               sizeof(line)));
}

/* ---- connections -------------------------------------------------------------- */

static void quiet_notice(void *arg, const char *msg) {
  (void)arg;
  (void)msg; /* "relation already exists, skipping" and the like */
}

/* Opens a connection. A connect_timeout applies unless `conninfo` sets one:
 * the keywords before "dbname" are defaults that the string overrides. */
static int connect_pg(const char *conninfo, PGconn **out, struct vd_err *err) {
  const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
  const char *const vals[] = {"10", "vidan", conninfo, NULL};
  PGconn *pg = PQconnectdbParams(keys, vals, 1);
  if (!pg)
    return vd_err_set(err, -ENOMEM, "store: out of memory connecting to PostgreSQL");
  if (PQstatus(pg) != CONNECTION_OK) {
    int ret = conn_err(pg, -ECONNREFUSED, err, "cannot connect to");
    PQfinish(pg);
    return ret;
  }
  PQsetNoticeProcessor(pg, quiet_notice, NULL);
  *out = pg;
  return 0;
}

/* 1 when an idle pooled connection still works. The server sends nothing
 * to an idle connection that does not LISTEN except to end it (a FATAL
 * "terminating connection", then EOF), so anything readable means it is
 * gone or going. */
static int healthy(PGconn *pg) {
  struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN};
  return PQstatus(pg) == CONNECTION_OK && poll(&pfd, 1, 0) == 0;
}

static int get_conn(struct vd__pg_pool *q, struct vd__pg_conn **out, struct vd_err *err) {
  struct vd__pg_conn *c = NULL;
  pthread_mutex_lock(&q->mu);
  while (!q->nfree && q->nopen >= POOL_MAX)
    pthread_cond_wait(&q->cv, &q->mu);
  if (q->nfree)
    c = q->free_conns[--q->nfree];
  else
    q->nopen++;
  pthread_mutex_unlock(&q->mu);
  int ret = 0;
  if (!c) {
    c = vd_xcalloc(1, sizeof(*c));
    ret = connect_pg(q->conninfo, &c->pg, err);
  } else if (!healthy(c->pg)) {
    c->nstmts = 0; /* prepared statements die with the session */
    PQreset(c->pg);
    int ok = PQstatus(c->pg) == CONNECTION_OK;
    if (!ok)
      ret = conn_err(c->pg, -ECONNREFUSED, err, "lost the connection and cannot reconnect to");
    pthread_mutex_lock(&q->mu);
    int was_down = q->down;
    q->down = !ok;
    pthread_mutex_unlock(&q->mu);
    if (!ok && !was_down)
      VD_WARN("%s; calls fail until it is back", err ? err->msg : "store: PostgreSQL is gone");
    else if (ok && was_down)
      VD_INFO("store: reconnected to PostgreSQL");
  }
  if (ret < 0) {
    pthread_mutex_lock(&q->mu);
    if (c->pg) { /* a broken connection goes back: reset at its next use */
      q->free_conns[q->nfree++] = c;
    } else {
      free(c);
      q->nopen--;
    }
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return ret;
  }
  *out = c;
  return 0;
}

static void put_conn(struct vd__pg_pool *q, struct vd__pg_conn *c) {
  if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
    PQclear(PQexec(c->pg, "ROLLBACK")); /* only a bug leaves a transaction open */
  pthread_mutex_lock(&q->mu);
  q->free_conns[q->nfree++] = c;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
}

static void close_conn(struct vd__pg_conn *c) {
  PQfinish(c->pg);
  free(c);
}

/* ---- statements ----------------------------------------------------------------- */

/* Runs `sql` (no parameters, possibly several statements) on `pg`. */
static int exec(PGconn *pg, const char *sql, struct vd_err *err) {
  PGresult *r = PQexec(pg, sql);
  ExecStatusType st = PQresultStatus(r);
  int ret = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : res_err(pg, r, err, sql);
  PQclear(r);
  return ret;
}

char *vd__pg_text(PGresult *r, int row, int col) {
  return PQgetisnull(r, row, col) ? NULL : vd_xstrdup(PQgetvalue(r, row, col));
}

void vd__pg_copy(PGresult *r, int row, int col, char *buf, size_t len) {
  snprintf(buf, len, "%s", PQgetvalue(r, row, col));
}

int64_t vd__pg_int(PGresult *r, int row, int col) {
  return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double vd__pg_double(PGresult *r, int row, int col) {
  return strtod(PQgetvalue(r, row, col), NULL);
}

/* Parameter values as text, with their types (OIDs from pg_type.h). */
struct params {
  int n;
  Oid types[MAX_PARAMS];
  const char *vals[MAX_PARAMS];
  char num[MAX_PARAMS][32];
};

static void bindv(struct params *p, const char *types, va_list ap) {
  p->n = (int)strlen(types);
  VD_ASSERT(p->n <= MAX_PARAMS);
  for (int i = 0; i < p->n; i++) {
    p->vals[i] = p->num[i];
    switch (types[i]) {
    case 't':
      p->types[i] = 25; /* text */
      p->vals[i] = va_arg(ap, const char *);
      break;
    case 'd': /* %.17g round-trips every double exactly */
      p->types[i] = 701; /* float8 */
      snprintf(p->num[i], sizeof(p->num[i]), "%.17g", va_arg(ap, double));
      break;
    case 'i':
      p->types[i] = 23; /* int4 */
      snprintf(p->num[i], sizeof(p->num[i]), "%d", va_arg(ap, int));
      break;
    case 'l':
      p->types[i] = 20; /* int8 */
      snprintf(p->num[i], sizeof(p->num[i]), "%lld", (long long)va_arg(ap, int64_t));
      break;
    default:
      VD_ASSERT(!"bind type is one of t, d, i, l");
    }
  }
}

/* Runs `sql` as the connection's prepared statement for it (preparing it
 * the first time; unnamed once the cache is full). */
static PGresult *exec_prepared(struct vd__pg_conn *c, const char *sql, const struct params *p) {
  char name[16];
  int i = 0;
  while (i < c->nstmts && strcmp(c->stmts[i], sql))
    i++;
  if (i == MAX_STMTS)
    return PQexecParams(c->pg, sql, p->n, p->types, p->vals, NULL, NULL, 0);
  snprintf(name, sizeof(name), "vd%d", i);
  if (i == c->nstmts) {
    PGresult *r = PQprepare(c->pg, name, sql, p->n, p->types);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
      return r;
    PQclear(r);
    c->stmts[c->nstmts++] = sql;
  }
  return PQexecPrepared(c->pg, name, p->n, p->vals, NULL, NULL, 0);
}

/*
 * Runs `sql` on `c` with the arguments bound (bindv), calling `row` (may be
 * NULL) for each result row. Returns the number of rows, or with `changes`
 * the number the statement changed; or a negative code. Every statement of
 * store_pg.c runs here.
 */
static int eachv(struct vd__pg_conn *c, vd__pg_row_fn row, void *u, int changes,
                 struct vd_err *err, const char *sql, const char *types, va_list ap) {
  struct params p;
  bindv(&p, types, ap);
  PGresult *r = exec_prepared(c, sql, &p);
  ExecStatusType st = PQresultStatus(r);
  int ret;
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
    ret = PQntuples(r);
    for (int i = 0; row && i < ret; i++)
      row(r, i, u);
    if (changes)
      ret = (int)strtol(PQcmdTuples(r), NULL, 10);
  } else {
    ret = res_err(c->pg, r, err, sql);
  }
  PQclear(r);
  return ret;
}

int vd__pg_each(struct vd__pg_conn *c, vd__pg_row_fn row, void *u, struct vd_err *err,
                const char *sql, const char *types, ...) {
  va_list ap;
  va_start(ap, types);
  int ret = eachv(c, row, u, 0, err, sql, types, ap);
  va_end(ap);
  return ret;
}

int vd__pg_run(struct vd__pg_conn *c, struct vd_err *err, const char *sql, const char *types,
               ...) {
  va_list ap;
  va_start(ap, types);
  int ret = eachv(c, NULL, NULL, 1, err, sql, types, ap);
  va_end(ap);
  return ret;
}

int vd__pg_query(struct vd__pg_pool *q, vd__pg_row_fn row, void *u, struct vd_err *err,
                 const char *sql, const char *types, ...) {
  struct vd__pg_conn *c;
  int ret = get_conn(q, &c, err);
  if (ret < 0)
    return ret;
  va_list ap;
  va_start(ap, types);
  ret = eachv(c, row, u, 0, err, sql, types, ap);
  va_end(ap);
  put_conn(q, c);
  return ret;
}

/* BEGIN, fn, then COMMIT when fn returned >= 0, else ROLLBACK. Returns fn's
 * value, or the code of a failed BEGIN/COMMIT. */
static int tx_on(struct vd__pg_conn *c, vd__pg_tx_fn fn, void *arg, struct vd_err *err) {
  int ret = exec(c->pg, "BEGIN", err);
  if (ret < 0)
    return ret;
  ret = fn(c, arg, err);
  if (ret >= 0) {
    int k = exec(c->pg, "COMMIT", err);
    ret = k < 0 ? k : ret;
  }
  if (ret < 0 && PQstatus(c->pg) == CONNECTION_OK &&
      PQtransactionStatus(c->pg) != PQTRANS_IDLE)
    PQclear(PQexec(c->pg, "ROLLBACK"));
  return ret;
}

int vd__pg_with_tx(struct vd__pg_pool *q, vd__pg_tx_fn fn, void *arg, struct vd_err *err) {
  struct vd__pg_conn *c;
  int ret = get_conn(q, &c, err);
  if (ret < 0)
    return ret;
  for (int t = 0; t < TX_TRIES; t++) {
    struct vd_err e = {0};
    ret = tx_on(c, fn, arg, &e);
    if (ret != -EBUSY || t == TX_TRIES - 1) {
      if (ret < 0)
        vd_err_set(err, ret, "%s", e.msg);
      break;
    }
  }
  put_conn(q, c);
  return ret;
}

/* ---- LISTEN -------------------------------------------------------------------------- */

static int drain_notifies(PGconn *pg) {
  int n = 0;
  PGnotify *m;
  while ((m = PQnotifies(pg))) {
    n++;
    PQfreemem(m);
  }
  return n;
}

int vd__pg_wait(struct vd__pg_pool *q, int timeout_ms, struct vd_err *err) {
  int ret = 0;
  pthread_mutex_lock(&q->listen_mu);
  if (!q->listener) {
    PGconn *pg = NULL;
    if ((ret = connect_pg(q->conninfo, &pg, err)) < 0 ||
        (ret = exec(pg, "LISTEN " VD__PG_CHANNEL, err)) < 0) {
      PQfinish(pg);
      q->listen_failed = 1;
      goto out;
    }
    q->listener = pg;
    /* Jobs queued while nobody listened sent notices nobody got. */
    ret = q->listen_failed;
    q->listen_failed = 0;
    if (ret)
      goto out;
  }
  if (!(ret = drain_notifies(q->listener) > 0) && timeout_ms > 0) {
    struct pollfd pfd = {.fd = PQsocket(q->listener), .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) > 0) {
      if (!PQconsumeInput(q->listener) || PQstatus(q->listener) != CONNECTION_OK) {
        ret = conn_err(q->listener, -ECONNRESET, err, "lost the LISTEN connection to");
        PQfinish(q->listener);
        q->listener = NULL;
        q->listen_failed = 1;
        goto out;
      }
      ret = drain_notifies(q->listener) > 0;
    }
  }
out:
  pthread_mutex_unlock(&q->listen_mu);
  return ret;
}

/* ---- open / migrate ---------------------------------------------------------------- */

static void row_version(PGresult *r, int row, void *u) { *(int64_t *)u = vd__pg_int(r, row, 0); }

static int migrate_tx(struct vd__pg_conn *c, void *arg, struct vd_err *err) {
  (void)arg;
  int64_t version = 0;
  int ret;
  if ((ret = vd__pg_run(c, err, "SELECT pg_advisory_xact_lock($1)", "l",
                        (int64_t)SCHEMA_LOCK)) < 0 ||
      (ret = exec(c->pg, "CREATE TABLE IF NOT EXISTS vidan_schema(version INTEGER NOT NULL)",
                  err)) < 0 ||
      (ret = vd__pg_each(c, row_version, &version, err, "SELECT version FROM vidan_schema",
                         "")) < 0)
    return ret;
  if (ret == 0 &&
      (ret = exec(c->pg, "INSERT INTO vidan_schema(version) VALUES(0)", err)) < 0)
    return ret;
  if (version > vd__pg_nmigrations)
    return vd_err_set(err, VD_ERR_UNSUPPORTED,
                      "store: database schema version %d is newer than this vidan (%d)",
                      (int)version, vd__pg_nmigrations);
  for (int v = (int)version; v < vd__pg_nmigrations; v++) {
    if ((ret = exec(c->pg, vd__pg_migrations[v], err)) < 0 ||
        (ret = vd__pg_run(c, err, "UPDATE vidan_schema SET version = $1", "i", v + 1)) < 0)
      return ret;
    VD_INFO("store: migrated schema to version %d", v + 1);
  }
  return 0;
}

void vd__pg_pool_free(struct vd__pg_pool *q) {
  if (!q)
    return;
  for (int i = 0; i < q->nfree; i++)
    close_conn(q->free_conns[i]);
  PQfinish(q->listener);
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->cv);
  pthread_mutex_destroy(&q->listen_mu);
  free(q->conninfo);
  free(q);
}

int vd__pg_pool_open(struct vd__pg_pool **out, const char *conninfo, struct vd_err *err) {
  struct vd__pg_pool *q = vd_xcalloc(1, sizeof(*q));
  q->conninfo = vd_xstrdup(conninfo);
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cv, NULL);
  pthread_mutex_init(&q->listen_mu, NULL);
  *out = NULL;
  int ret = vd__pg_with_tx(q, migrate_tx, NULL, err);
  if (ret < 0) {
    vd__pg_pool_free(q);
    return ret;
  }
  *out = q;
  return 0;
}

#endif /* VD_HAVE_LIBPQ */
