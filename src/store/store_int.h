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
  /* Optional (NULL: VD_ERR_UNSUPPORTED). */
  int (*job_wait)(struct vd_store *s, int timeout_ms, struct vd_err *err);
  /* fingerprints (store_fp_sqlite.c, store_fp_pg.c; VD__STORE_FP_OPS) */
  int (*fingerprint_put)(struct vd_store *s, const char *file_id, const char *data,
                         struct vd_err *err);
  int (*fingerprint_get)(struct vd_store *s, const char *file_id, struct vd_fingerprint_rec *out,
                         struct vd_err *err);
  int (*fingerprint_since)(struct vd_store *s, int64_t seq, int limit,
                           struct vd_fingerprint_rec **out, size_t *n, struct vd_err *err);
  int (*fingerprint_delete)(struct vd_store *s, const char *file_id, struct vd_err *err);
  int (*fingerprint_missing)(struct vd_store *s, int64_t seq, int limit, struct vd_job_rec **out,
                             size_t *n, struct vd_err *err);
  /* search (store_search_sqlite.c, store_search_pg.c; VD__STORE_SEARCH_OPS) */
  int (*search_put)(struct vd_store *s, const char *id, const struct vd_search_doc *docs,
                    size_t n, struct vd_err *err);
  int (*search_query)(struct vd_store *s, const char *query, int offset, int limit,
                      struct vd_search_hit **out, size_t *n, struct vd_err *err);
  int (*search_pending)(struct vd_store *s, int limit, struct vd_idlist *ids, struct vd_err *err);
};

struct vd_store {
  const struct vd_store_ops *ops;
};

/* The ops of a backend whose functions are named <p>_file_put, ...: the
 * 22 calls every backend has (job_wait is set on its own). */
#define VD__STORE_OPS(p)                                                                           \
  .free = p##_free, .file_put = p##_file_put, .file_get = p##_file_get,                            \
  .file_list = p##_file_list, .file_delete = p##_file_delete,                                      \
  .file_active_jobs = p##_file_active_jobs, .job_create = p##_job_create, .job_get = p##_job_get,  \
  .job_list = p##_job_list, .job_claim = p##_job_claim, .job_heartbeat = p##_job_heartbeat,        \
  .job_finish = p##_job_finish, .job_cancel = p##_job_cancel, .job_delete = p##_job_delete,        \
  .job_artifacts = p##_job_artifacts, .job_counts = p##_job_counts,                                \
  .blob_referenced = p##_blob_referenced, .webhook_claim = p##_webhook_claim,                      \
  .webhook_retry = p##_webhook_retry, .webhook_delete = p##_webhook_delete,                        \
  .webhook_count = p##_webhook_count

/* The fingerprint ops of a backend, which live in their own file
 * (store_fp_<backend>.c) and reach the backend's pool through
 * vd__sq_pool_of / vd__pg_pool_of. */
#define VD__STORE_FP_OPS(p)                                                                        \
  .fingerprint_put = vd__##p##_fingerprint_put, .fingerprint_get = vd__##p##_fingerprint_get,      \
  .fingerprint_since = vd__##p##_fingerprint_since,                                                \
  .fingerprint_delete = vd__##p##_fingerprint_delete,                                              \
  .fingerprint_missing = vd__##p##_fingerprint_missing
#define VD__STORE_FP_DECLS(p)                                                                      \
  int vd__##p##_fingerprint_put(struct vd_store *s, const char *file_id, const char *data,         \
                                struct vd_err *err);                                               \
  int vd__##p##_fingerprint_get(struct vd_store *s, const char *file_id,                           \
                                struct vd_fingerprint_rec *out, struct vd_err *err);               \
  int vd__##p##_fingerprint_since(struct vd_store *s, int64_t seq, int limit,                      \
                                  struct vd_fingerprint_rec **out, size_t *n, struct vd_err *err); \
  int vd__##p##_fingerprint_delete(struct vd_store *s, const char *file_id, struct vd_err *err);   \
  int vd__##p##_fingerprint_missing(struct vd_store *s, int64_t seq, int limit,                    \
                                    struct vd_job_rec **out, size_t *n, struct vd_err *err)
VD__STORE_FP_DECLS(sq);
VD__STORE_FP_DECLS(pg);

/* The search ops of a backend (store_search_<backend>.c), which reach its
 * pool through vd__sq_pool_of / vd__pg_pool_of like the fingerprint ops. */
#define VD__STORE_SEARCH_OPS(p)                                                                    \
  .search_put = vd__##p##_search_put, .search_query = vd__##p##_search_query,                      \
  .search_pending = vd__##p##_search_pending
#define VD__STORE_SEARCH_DECLS(p)                                                                  \
  int vd__##p##_search_put(struct vd_store *s, const char *id, const struct vd_search_doc *docs,   \
                           size_t n, struct vd_err *err);                                          \
  int vd__##p##_search_query(struct vd_store *s, const char *query, int offset, int limit,         \
                             struct vd_search_hit **out, size_t *n, struct vd_err *err);           \
  int vd__##p##_search_pending(struct vd_store *s, int limit, struct vd_idlist *ids,               \
                               struct vd_err *err)
VD__STORE_SEARCH_DECLS(sq);
VD__STORE_SEARCH_DECLS(pg);
struct vd__row;
/* The condition both backends add to a query over search_docs d: of the
 * jobs of one file that ran the same analysis (a transcript run again with
 * other parameters), only the newest indexed one answers, so a moment is
 * not listed once per run; deleting that job brings the older one back.
 * search_runs (one row per indexed job and analysis) makes it one index
 * lookup per matching document. */
#define VD__SEARCH_NEWEST_ONLY                                                                     \
  " AND (d.job_id IS NULL OR d.job_id = (SELECT r.job_id FROM search_runs r"                       \
  "  WHERE r.file_id = d.file_id AND r.analysis = d.analysis ORDER BY r.seq DESC LIMIT 1))"
/* Fills a hit from a row of the columns every backend's search query
 * selects, in this order: file_id, filename, job_id, analysis, start_s,
 * end_s, text, snippet, score. */
void vd__read_search_hit(const struct vd__row *r, struct vd_search_hit *h);
/* The words of a user's query as the backend's query text: FTS5 ("w1" "w2"*)
 * when `pg` is 0, else to_tsquery text ('w1' & 'w2':*). *out is malloc'd.
 * VD_ERR_INVALID when there is no word, VD_ERR_LIMIT when too long. */
int vd__search_query_text(const char *query, int pg, char **out, struct vd_err *err);
/* Hands the hits a query read into `p` to *out / *n when `ret` (the query's
 * result) is not an error, else frees them; returns ret, or 0. */
struct vd__page;
int vd__search_hits_take(struct vd__page *p, int ret, struct vd_search_hit **out, size_t *n);

/* ---- shared by the backends (store.c) ------------------------------------------
 * Both backends select the same columns in the same order (FILE_COLS,
 * JOB_COLS, ... below) and read them through vd__row, so a record is
 * filled the same way whatever produced it.
 */

/* One result row: `res` and `i` are the backend's (sqlite3_stmt, 0 or
 * PGresult, row number); `cols` reads column `col` of it. */
struct vd__row {
  const struct vd__cols *cols;
  void *res;
  int i;
};
struct vd__cols {
  char *(*text)(void *res, int i, int col); /* heap copy, NULL for NULL */
  void (*copy)(void *res, int i, int col, char *buf, size_t len); /* "" for NULL */
  int64_t (*i64)(void *res, int i, int col);
  double (*dbl)(void *res, int i, int col);
};

#define VD__FILE_COLS "seq, id, name, size, created, probe"
#define VD__JOB_COLS                                                                               \
  "seq, id, file_id, source, analyses, params, webhook, kind, extra, state, attempts,"             \
  " max_attempts, lease_until, worker, progress, stage, created, started, finished, updated,"      \
  " error, cancel, result"
#define VD__ARTIFACT_COLS "analysis, name, blob, size"
#define VD__WEBHOOK_COLS "id, job_id, url, body, attempts, next_at"

void vd__read_file(const struct vd__row *r, struct vd_file_rec *f);
/* Without `with_result` the result column is not read (listings). */
void vd__read_job(const struct vd__row *r, struct vd_job_rec *j, int with_result);
void vd__read_artifact(const struct vd__row *r, struct vd_artifact_rec *a);
void vd__read_webhook(const struct vd__row *r, struct vd_webhook_rec *h);
/* Column `col` appended to `l`. */
void vd__read_id(const struct vd__row *r, int col, struct vd_idlist *l);
/* Columns (state name, count) added to counts[state]. */
void vd__read_count(const struct vd__row *r, int64_t counts[VD_JOB_NSTATES]);
#define VD__FP_COLS "seq, file_id, data, created"
void vd__read_fingerprint(const struct vd__row *r, struct vd_fingerprint_rec *f);

/* Up to `cap` records of `size` bytes, for listings. */
struct vd__page {
  void *recs;
  size_t size, n, cap;
};
void vd__page_init(struct vd__page *p, size_t size, int limit);
/* The next record to fill, or NULL once `cap` are filled. */
void *vd__page_next(struct vd__page *p);

/* Wall clock, Unix seconds. */
double vd__store_now(void);
/* The result of an operation on one named row: n < 0 is an error, n == 0
 * means the row is not there (VD_ERR_NOT_FOUND with `fmt`), else 0. */
int vd__store_one_row(int n, struct vd_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int vd__store_sqlite_open(struct vd_store **out, const char *path, struct vd_err *err);
/* Only in builds with libpq (VD_HAVE_LIBPQ). */
int vd__store_pg_open(struct vd_store **out, const char *conninfo, struct vd_err *err);

/* ---- SQLite backend internals ----------------------------------------------
 * store_schema.c: the schema history of both backends; vd__sqlite_migrations[i]
 * moves a database from user_version i to i + 1.
 * store_sqlite_db.c: a pool of connections to one database, and the only
 * code that steps statements; store_sqlite.c: the operations, as SQL.
 */
extern const char *const vd__sqlite_migrations[];
extern const int vd__sqlite_nmigrations;

struct sqlite3;
struct sqlite3_stmt;
struct vd__sq_pool;

/* Called for each result row; reads columns with sqlite3_column_*(). */
typedef void (*vd__sq_row_fn)(struct sqlite3_stmt *st, void *u);
/* One transaction's statements; >= 0 commits, < 0 rolls back. */
typedef int (*vd__sq_tx_fn)(struct sqlite3 *db, void *arg, struct vd_err *err);

/* Opens the database at `path` (WAL, foreign keys, busy timeout) and
 * migrates its schema to the newest version. */
int vd__sq_pool_open(struct vd__sq_pool **out, const char *path, struct vd_err *err) VD_WUR;
void vd__sq_pool_free(struct vd__sq_pool *p);

/*
 * Runs one statement: `sql` with the arguments bound to ?1, ?2, ... as
 * `types` says, one letter each: 't' text (const char *; NULL binds NULL),
 * 'd' double, 'i' int, 'l' int64_t. Calls `row` (may be NULL) for each
 * result row. Returns the number of rows, or a negative code.
 * vd__sq_query takes a pooled connection and runs outside any transaction;
 * vd__sq_each runs on `db`, inside the caller's transaction.
 */
int vd__sq_query(struct vd__sq_pool *p, vd__sq_row_fn row, void *u, struct vd_err *err,
                 const char *sql, const char *types, ...) VD_WUR;
int vd__sq_each(struct sqlite3 *db, vd__sq_row_fn row, void *u, struct vd_err *err, const char *sql,
                const char *types, ...) VD_WUR;
/* vd__sq_each for a write: returns the rows it changed, or a negative code. */
int vd__sq_run(struct sqlite3 *db, struct vd_err *err, const char *sql, const char *types,
               ...) VD_WUR;
/*
 * Runs fn in one write transaction on a pooled connection: BEGIN IMMEDIATE
 * (the busy timeout queues writers), fn, then COMMIT when fn returned >= 0,
 * else ROLLBACK. Returns fn's value, or the code of a failed BEGIN/COMMIT.
 */
int vd__sq_with_tx(struct vd__sq_pool *p, vd__sq_tx_fn fn, void *arg, struct vd_err *err) VD_WUR;

/* Text column i: a heap copy (NULL for NULL), or copied into buf ("" for NULL). */
char *vd__sq_text(struct sqlite3_stmt *st, int i);
void vd__sq_copy(struct sqlite3_stmt *st, int i, char *buf, size_t len);
/* The pool and column readers of a SQLite store (store_sqlite.c), for
 * store_fp_sqlite.c. */
struct vd__sq_pool *vd__sq_pool_of(struct vd_store *s);
extern const struct vd__cols *const vd__sq_cols;

/* ---- PostgreSQL backend internals ------------------------------------------
 * store_schema.c: vd__pg_migrations[i] moves a database from version i to
 * i + 1 (the same history as SQLite's); store_pg_db.c: the connection
 * pool, prepared statements, reconnects and LISTEN; store_pg.c: the
 * operations, as SQL with $1, $2, ... placeholders.
 */
extern const char *const vd__pg_migrations[];
extern const int vd__pg_nmigrations;

struct pg_result; /* libpq's PGresult */
struct vd__pg_pool;
struct vd__pg_conn; /* one pooled connection and its prepared statements */

/* Called for each result row `row`; reads columns with vd__pg_*(). */
typedef void (*vd__pg_row_fn)(struct pg_result *r, int row, void *u);
/* One transaction's statements; >= 0 commits, < 0 rolls back. */
typedef int (*vd__pg_tx_fn)(struct vd__pg_conn *c, void *arg, struct vd_err *err);

/* Connects to `conninfo` (URI or key=value) and migrates the schema under
 * an advisory lock, so nodes starting together migrate once. */
int vd__pg_pool_open(struct vd__pg_pool **out, const char *conninfo, struct vd_err *err) VD_WUR;
void vd__pg_pool_free(struct vd__pg_pool *p);

/*
 * As vd__sq_query / vd__sq_each / vd__sq_run (same `types` letters), with
 * arguments bound to $1, $2, ... . Statements are prepared once per
 * connection. vd__pg_run returns the rows the statement changed.
 */
int vd__pg_query(struct vd__pg_pool *p, vd__pg_row_fn row, void *u, struct vd_err *err,
                 const char *sql, const char *types, ...) VD_WUR;
int vd__pg_each(struct vd__pg_conn *c, vd__pg_row_fn row, void *u, struct vd_err *err,
                const char *sql, const char *types, ...) VD_WUR;
int vd__pg_run(struct vd__pg_conn *c, struct vd_err *err, const char *sql, const char *types,
               ...) VD_WUR;
/* BEGIN, fn, COMMIT when fn returned >= 0, else ROLLBACK; a deadlock or
 * serialization failure runs fn again (at most 3 times in all). */
int vd__pg_with_tx(struct vd__pg_pool *p, vd__pg_tx_fn fn, void *arg, struct vd_err *err) VD_WUR;
/* vd_store_job_wait: waits for a NOTIFY on VD__PG_CHANNEL. */
int vd__pg_wait(struct vd__pg_pool *p, int timeout_ms, struct vd_err *err) VD_WUR;
#define VD__PG_CHANNEL "vidan_jobs"

/* Column `col` of `row`: a heap copy (NULL for NULL), copied into buf ("" for
 * NULL), or a number (0 for NULL). */
char *vd__pg_text(struct pg_result *r, int row, int col);
void vd__pg_copy(struct pg_result *r, int row, int col, char *buf, size_t len);
int64_t vd__pg_int(struct pg_result *r, int row, int col);
double vd__pg_double(struct pg_result *r, int row, int col);
/* The pool and column readers of a PostgreSQL store (store_pg.c), for
 * store_fp_pg.c. */
struct vd__pg_pool *vd__pg_pool_of(struct vd_store *s);
extern const struct vd__cols *const vd__pg_cols;

#endif
