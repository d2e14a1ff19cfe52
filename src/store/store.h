/*
 * store: durable metadata for files, analysis jobs and their artifacts.
 * Every SQL statement in vidan lives behind this interface, so a second
 * backend (PostgreSQL, for several machines) implements the same vtable
 * (store_int.h) without touching callers.
 *
 * DESIGN
 * - Records are plain structs with heap strings; JSON travels as text so the
 *   store never interprets results. vd_*_rec_fini() releases a record.
 * - A job moves queued → running → succeeded | failed | canceled. Every
 *   transition is one transaction. A worker owns a running job through
 *   (worker, lease_until): heartbeats extend the lease, and finish only
 *   applies while the caller still owns the job, so a worker that lost its
 *   lease (and whose job another worker took) cannot overwrite anything.
 * - Claiming first re-queues running jobs whose lease expired (the worker
 *   died), or fails them once attempts reached max_attempts, keeping the
 *   last error. A job runs at least once; finishing twice changes nothing.
 * - Results and their artifact rows are written in the same transaction as
 *   the final state: a reader sees all of them or none.
 * - Deletes report the blobs that no row references any more, so the caller
 *   can remove them from the blob folder after the commit.
 * - Webhook deliveries are rows too. Every transition of a job that has a
 *   webhook URL into a final state (finish, cancel of a queued job, a lost
 *   worker out of attempts) records a delivery in the same transaction, so
 *   a job never ends without its notification being durable. The payload is
 *   the JSON object {"id", "status", "file_id", "error", "finished_at"}.
 *   Deliveries are claimed under a short lease like jobs: one in flight when
 *   the process died is tried again once its lease runs out. Delivery is
 *   therefore at least once; receivers dedupe by "id".
 * - SQLite backend: WAL, foreign keys, busy timeout, a schema_version table
 *   with ordered migrations, and a small pool of connections so readers on
 *   many HTTP threads run in parallel.
 * - PostgreSQL backend (several nodes share one database): the same
 *   schema history, migrated under an advisory lock; jobs and deliveries
 *   claimed with FOR UPDATE SKIP LOCKED; a queued job NOTIFYs the other
 *   nodes, whose vd_store_job_wait() returns at once (docs/internals/serve.md).
 *
 * Ownership: arguments are borrowed. Records and arrays returned through out
 * parameters belong to the caller (vd_*_rec_fini, vd_store_recs_free).
 * Threading: a vd_store may be used from any number of threads at once.
 */
#ifndef VD_STORE_STORE_H
#define VD_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct vd_store;

struct vd_file_rec {
  int64_t seq;       /* insertion order; the listing cursor */
  char id[65];       /* SHA-256 hex of the content (= blob id) */
  char *name;        /* file name as uploaded (sanitised), may be "" */
  int64_t size;      /* bytes */
  double created;    /* Unix seconds */
  char *probe;       /* JSON text of the probe summary, NULL when not media */
};

enum vd_job_state {
  VD_JOB_QUEUED,
  VD_JOB_RUNNING,
  VD_JOB_SUCCEEDED,
  VD_JOB_FAILED,
  VD_JOB_CANCELED,
  VD_JOB_NSTATES
};

struct vd_job_rec {
  int64_t seq;            /* creation order; the listing cursor */
  char id[40];            /* UUID text */
  char *file_id;          /* input file; NULL when `source` names the input */
  char *source;           /* input named outside the blob store (sample video), or NULL */
  char *analyses;         /* JSON array text of analysis names */
  char *params;           /* JSON object text: {analysis: {param: value}} */
  char *webhook;          /* URL or NULL */
  char *kind;             /* API that created it: "v1", "a" or "b" */
  char *extra;            /* JSON text the creating API keeps (compat details), or NULL */
  enum vd_job_state state;
  int attempts;           /* claims so far */
  int max_attempts;
  double lease_until;     /* Unix seconds; meaningful while running */
  char *worker;           /* owner while running, else NULL */
  double progress;        /* 0..1 */
  char *stage;            /* what the job is doing, or NULL */
  double created, started, finished, updated; /* Unix seconds, 0 = not yet */
  char *error;            /* last error text or NULL */
  char *result;           /* JSON text when succeeded, else NULL */
  int cancel;             /* 1 once cancellation was requested */
};

struct vd_artifact_rec {
  char *analysis;    /* analysis that wrote it */
  char *name;        /* file name, unique within the job */
  char blob[65];     /* blob id of the content */
  int64_t size;      /* bytes */
};

/* One pending webhook delivery. */
struct vd_webhook_rec {
  int64_t id;        /* delivery id, assigned by the store */
  char job_id[40];   /* the job whose end it announces */
  char *url;         /* where it is POSTed */
  char *body;        /* JSON text of the payload */
  int attempts;      /* tries started so far, this one included once claimed */
  double next_at;    /* Unix seconds: when it may be tried (again) */
};

/* The fingerprint of a file, for the duplicate check (dup.h). */
struct vd_fingerprint_rec {
  int64_t seq;       /* order of the last put; the catch-up cursor */
  char file_id[65];  /* the file it belongs to (deleted with it) */
  char *data;        /* base64 of vd_fp_save's serialized form */
  double created;    /* Unix seconds of the last put */
};

/* Blob ids that nothing references any more after a delete. */
struct vd_idlist {
  size_t n;
  char (*ids)[65];
};

const char *vd_job_state_name(enum vd_job_state s);
/* The state for a name, or -1. */
int vd_job_state_parse(const char *name);

void vd_file_rec_fini(struct vd_file_rec *f);
void vd_job_rec_fini(struct vd_job_rec *j);
void vd_artifact_rec_fini(struct vd_artifact_rec *a);
void vd_webhook_rec_fini(struct vd_webhook_rec *h);
void vd_idlist_fini(struct vd_idlist *l);
void vd_fingerprint_rec_fini(struct vd_fingerprint_rec *f);

/*
 * Opens a store. `url` is "sqlite:PATH" or a plain path (SQLite), or a
 * PostgreSQL location: a "postgres://" / "postgresql://" URI or a libpq
 * "key=value ..." string (VD_ERR_UNSUPPORTED when built without libpq).
 * Creates and migrates the schema as needed.
 */
int vd_store_open(struct vd_store **out, const char *url, struct vd_err *err) VD_WUR;
void vd_store_free(struct vd_store *s);

/* ---- files ---------------------------------------------------------------- */

/* Inserts `f` (seq and created are assigned when 0). When a file with the
 * same id exists, nothing changes and *existed is 1. */
int vd_store_file_put(struct vd_store *s, struct vd_file_rec *f, int *existed,
                      struct vd_err *err) VD_WUR;
/* VD_ERR_NOT_FOUND when there is no such file. */
int vd_store_file_get(struct vd_store *s, const char *id, struct vd_file_rec *out,
                      struct vd_err *err) VD_WUR;
/* Newest first; `cursor` 0 starts, else only seq < cursor. *out is an array
 * of *n records (free each with vd_file_rec_fini, then free()). */
int vd_store_file_list(struct vd_store *s, int64_t cursor, int limit, struct vd_file_rec **out,
                       size_t *n, struct vd_err *err) VD_WUR;
/* Deletes the file, its jobs and their artifacts. VD_ERR_NOT_FOUND if absent. */
int vd_store_file_delete(struct vd_store *s, const char *id, struct vd_idlist *orphans,
                         struct vd_err *err) VD_WUR;

/* ---- jobs ----------------------------------------------------------------- */

/* Inserts a queued job; `j->id` must be set, seq/created are assigned. */
int vd_store_job_create(struct vd_store *s, struct vd_job_rec *j, struct vd_err *err) VD_WUR;
int vd_store_job_get(struct vd_store *s, const char *id, struct vd_job_rec *out,
                     struct vd_err *err) VD_WUR;
/* Newest first, optionally filtered by file (NULL = any), state (-1 = any)
 * and kind (NULL = any). Results are omitted from listed records. */
int vd_store_job_list(struct vd_store *s, const char *file_id, int state, const char *kind,
                      int64_t cursor, int limit, struct vd_job_rec **out, size_t *n,
                      struct vd_err *err) VD_WUR;
/* Number of queued or running jobs of a file. */
int vd_store_file_active_jobs(struct vd_store *s, const char *file_id, int *n,
                              struct vd_err *err) VD_WUR;
/*
 * Recovers expired leases (recording the webhook deliveries of jobs that
 * this ends), then claims the oldest queued job for `worker` until
 * now + lease. Returns 1 and fills *out when a job was claimed, 0 when the
 * queue is empty.
 */
int vd_store_job_claim(struct vd_store *s, const char *worker, double now, double lease,
                       struct vd_job_rec *out, struct vd_err *err) VD_WUR;
/* Records progress and extends the lease of a job `worker` owns. *cancel is
 * set when cancellation was requested. VD_ERR_NOT_FOUND when the job is gone
 * or no longer owned by `worker`. */
int vd_store_job_heartbeat(struct vd_store *s, const char *id, const char *worker,
                           double progress, const char *stage, double now, double lease_until,
                           int *cancel, struct vd_err *err) VD_WUR;
/* Final state, result and artifacts, atomically, if `worker` still owns the
 * job; VD_ERR_NOT_FOUND otherwise (then nothing is written). A job with a
 * webhook gets its delivery, due at `now`, in the same transaction. */
int vd_store_job_finish(struct vd_store *s, const char *id, const char *worker,
                        enum vd_job_state state, const char *result, const char *error,
                        const struct vd_artifact_rec *arts, size_t n_arts, double now,
                        struct vd_err *err) VD_WUR;
/* Requests cancellation: a queued job becomes canceled at once (recording
 * its webhook delivery), a running one gets its cancel flag. *state
 * receives the state after the call. */
int vd_store_job_cancel(struct vd_store *s, const char *id, double now, int *state,
                        struct vd_err *err) VD_WUR;
/* Deletes a job and its artifact rows. */
int vd_store_job_delete(struct vd_store *s, const char *id, struct vd_idlist *orphans,
                        struct vd_err *err) VD_WUR;
int vd_store_job_artifacts(struct vd_store *s, const char *id, struct vd_artifact_rec **out,
                           size_t *n, struct vd_err *err) VD_WUR;
/*
 * Blocks until a job may have become claimable because of another process
 * (queued on another node, or a lease given back), or `timeout_ms` passed;
 * 0 only checks. Returns 1 when woken, 0 on timeout, or a negative code;
 * VD_ERR_UNSUPPORTED when the backend has no such notice (SQLite: one
 * process, where vd_jobs_wake() already tells the workers). Wake-ups may be
 * spurious. Meant for one thread per process: concurrent callers take turns.
 */
int vd_store_job_wait(struct vd_store *s, int timeout_ms, struct vd_err *err) VD_WUR;
/* Jobs per state, for metrics. */
int vd_store_job_counts(struct vd_store *s, int64_t counts[VD_JOB_NSTATES],
                        struct vd_err *err) VD_WUR;
/* 1 when some file or artifact row references `blob`. */
int vd_store_blob_referenced(struct vd_store *s, const char *blob, struct vd_err *err) VD_WUR;

/* ---- webhook deliveries ------------------------------------------------------ */

/*
 * Claims the delivery that has been due longest (next_at <= now): counts
 * the attempt and moves next_at to now + lease, so no other thread or node
 * takes it while it is in flight. Returns 1 and fills *out (free with
 * vd_webhook_rec_fini) when one was claimed. Returns 0 when none is due;
 * then *next receives the earliest next_at of the pending deliveries, or 0
 * when there are none. Idle calls only read.
 */
int vd_store_webhook_claim(struct vd_store *s, double now, double lease,
                           struct vd_webhook_rec *out, double *next, struct vd_err *err) VD_WUR;
/* After a failed try: the delivery becomes due again at `next_at`; `error`
 * (may be NULL) is kept for operators. VD_ERR_NOT_FOUND when it is gone. */
int vd_store_webhook_retry(struct vd_store *s, int64_t id, double next_at, const char *error,
                           struct vd_err *err) VD_WUR;
/* Removes a delivery: sent, or given up. VD_ERR_NOT_FOUND when it is gone. */
int vd_store_webhook_delete(struct vd_store *s, int64_t id, struct vd_err *err) VD_WUR;
/* Number of pending deliveries. */
int vd_store_webhook_count(struct vd_store *s, int64_t *n, struct vd_err *err) VD_WUR;

/* ---- fingerprints (duplicate check) ------------------------------------------ */

/* Stores `data` (base64 text) as the fingerprint of file `file_id`,
 * replacing an older one. Putting the same data again changes nothing;
 * different data gets a new seq, so vd_store_fingerprint_since() readers
 * see the replacement. VD_ERR_NOT_FOUND when there is no such file. */
int vd_store_fingerprint_put(struct vd_store *s, const char *file_id, const char *data,
                             struct vd_err *err) VD_WUR;
/* VD_ERR_NOT_FOUND when the file has none. */
int vd_store_fingerprint_get(struct vd_store *s, const char *file_id,
                             struct vd_fingerprint_rec *out, struct vd_err *err) VD_WUR;
/* Fingerprints put after `seq` (0 = all), oldest first, at most `limit`.
 * *out is an array of *n records (vd_fingerprint_rec_fini each, then free). */
int vd_store_fingerprint_since(struct vd_store *s, int64_t seq, int limit,
                               struct vd_fingerprint_rec **out, size_t *n,
                               struct vd_err *err) VD_WUR;
/* Removes a file's fingerprint (deleting the file does it too).
 * VD_ERR_NOT_FOUND when it had none. */
int vd_store_fingerprint_delete(struct vd_store *s, const char *file_id, struct vd_err *err) VD_WUR;
/* Succeeded jobs after `seq` (job seq, 0 = all) whose result holds a
 * `fingerprint` while their file has no stored fingerprint: what a crash
 * between a job's end and its fingerprint put left behind. Oldest first, at
 * most `limit`, with results (vd_job_rec_fini each, then free). */
int vd_store_fingerprint_missing(struct vd_store *s, int64_t seq, int limit,
                                 struct vd_job_rec **out, size_t *n, struct vd_err *err) VD_WUR;

/* ---- search (store_search.c) --------------------------------------------------
 * A full-text index over what was said, shown or named in each file. Rows
 * are documents: a stretch of time in a file with its text. A file's name
 * is a document of its own (analysis "file", no job), kept by the database
 * itself when the file row is inserted. An analysis job's documents are put
 * by vd_store_search_put() once it succeeded; they are removed with the job
 * or its file. Words match without regard to case or accents ("cafe" finds
 * "Café"); the last word of a query also matches as a prefix. SQLite uses
 * FTS5 (bm25 ranking), PostgreSQL a tsvector column with a GIN index
 * (ts_rank). A user's query is never handed to either as syntax: it is cut
 * into words, and every word must match.
 */

/* One document of a job, as vd_store_search_put() takes it. */
struct vd_search_doc {
  const char *analysis; /* the analysis the text comes from, e.g. "transcript" */
  double start, end;    /* seconds in the file; 0, 0 for the whole file */
  const char *text;     /* UTF-8 */
};

/* One hit of a query. */
struct vd_search_hit {
  char file_id[65];  /* the file the moment is in */
  char *filename;    /* its name as uploaded, may be "" */
  char job_id[40];   /* the analysis to open: the document's job; for a file
                        name hit the file's newest succeeded job; "" if none */
  char *analysis;    /* "transcript", "text", ..., or "file" (the name) */
  double start, end; /* seconds */
  char *text;        /* the whole document */
  char *snippet;     /* an excerpt with each matched word between « and » */
  double score;      /* relevance, higher is better; only comparable within one query */
};

void vd_search_hit_fini(struct vd_search_hit *h);

/* Longest query, in bytes, and most words in one query. */
#define VD_SEARCH_MAX_QUERY 200
#define VD_SEARCH_MAX_WORDS 16

/* Replaces the documents of job `id` with `docs` (n may be 0) and marks the
 * job indexed, in one transaction. Jobs without a file (a sample video) are
 * marked only. VD_ERR_NOT_FOUND when the job is gone. */
int vd_store_search_put(struct vd_store *s, const char *id, const struct vd_search_doc *docs,
                        size_t n, struct vd_err *err) VD_WUR;
/* The documents matching every word of `query`, best first, skipping the
 * first `offset`, at most `limit` (*out: *n hits, vd_search_hit_fini each,
 * then free). VD_ERR_INVALID when the query has no word, VD_ERR_LIMIT when
 * it is longer than VD_SEARCH_MAX_QUERY. */
int vd_store_search_query(struct vd_store *s, const char *query, int offset, int limit,
                          struct vd_search_hit **out, size_t *n, struct vd_err *err) VD_WUR;
/* Up to `limit` succeeded jobs with a file that are not indexed yet, oldest
 * first (their ids in *ids). */
int vd_store_search_pending(struct vd_store *s, int limit, struct vd_idlist *ids,
                            struct vd_err *err) VD_WUR;

#endif
