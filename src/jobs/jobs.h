/*
 * jobs: the worker pool inside `vidan serve` that runs analysis jobs from the
 * durable queue in the store, plus webhook delivery.
 *
 * DESIGN
 * - The queue is the store: an API handler inserts a queued job and calls
 *   vd_jobs_wake(); a worker thread claims it under a lease
 *   (vd_store_job_claim), runs it with the analysis runner, and writes the
 *   final state, result and artifact rows in one transaction. Idle workers
 *   also poll every 0.5 s, which picks up jobs whose lease expired because
 *   their process died (another node, or this one before a restart).
 *   A store shared by several nodes (PostgreSQL) also says when a job was
 *   queued elsewhere (vd_store_job_wait, LISTEN/NOTIFY): a listener thread
 *   then wakes the idle workers, so they do not wait for their next poll.
 * - One keeper thread writes each running job's latest progress and stage
 *   every 0.25 s (lease renewal rides on those writes), reads the store's
 *   cancel flag, and cancels the local run when it is set or the job is
 *   gone. Cancellation from this process takes the fast path: vd_jobs_cancel
 *   calls vd_run_cancel() directly, and analyses poll that flag, so a job
 *   stops within a second.
 * - Artifacts are written into var/work/<job>-<attempt>/, then moved into
 *   the blob store (content-addressed) before the final transaction; a
 *   retry starts from an empty folder. The same result written twice
 *   changes nothing (artifacts are keyed by job and name).
 * - Analysis errors fail the job at once (running it again would fail the
 *   same way); only lost workers (expired leases) lead to another attempt,
 *   up to max_attempts.
 * - Webhooks: the store records a job's delivery in the same transaction
 *   that ends the job (store.h), so it survives a crash or restart. One
 *   thread per process takes due deliveries from the store, POSTs them with
 *   libcurl and reschedules failures with exponential backoff; workers only
 *   wake it and never wait on the network. Delivery is at least once.
 *
 * Ownership: arguments are borrowed; the store and blobs must outlive the
 * vd_jobs. Threading: every function may be called from any thread.
 */
#ifndef VD_JOBS_JOBS_H
#define VD_JOBS_JOBS_H

#include <stdint.h>

#include "blob/blob.h"
#include "core/err.h"
#include "media/media.h"
#include "store/store.h"

struct vd_jobs;
struct vd_webhooks;
struct vd_library;

struct vd_jobs_opts {
  struct vd_store *store;
  struct vd_blobs *blobs;
  const char *work_dir;       /* scratch for artifacts, e.g. var/work */
  const char *samples_dir;    /* where jobs with a `source` find it; may be NULL */
  int workers;                /* threads; <= 0 = number of cores */
  double lease;               /* seconds; <= 0 = 30 */
  const struct vd_media_limits *limits; /* NULL = defaults */
  struct vd_webhooks *webhooks; /* where final statuses go; NULL = none */
  struct vd_library *library; /* duplicate check (library.h): runs query it, and
                                 fingerprints go into it; NULL = none */
};

int vd_jobs_start(struct vd_jobs **out, const struct vd_jobs_opts *o, struct vd_err *err) VD_WUR;
/* Stops the workers: running jobs are canceled locally and their leases
 * released, so the next start (or another node) takes them again. */
void vd_jobs_stop(struct vd_jobs *j);

/* Tells idle workers that a job was queued. */
void vd_jobs_wake(struct vd_jobs *j);

/* Requests cancellation (store flag, plus the local run if it is here).
 * *state receives the job's state afterwards. */
int vd_jobs_cancel(struct vd_jobs *j, const char *id, int *state, struct vd_err *err) VD_WUR;

/*
 * Blocks until some job's progress or state changed after *gen, or until
 * `timeout` seconds passed; updates *gen. Used by SSE streams to avoid
 * polling the store in a tight loop. Returns 1 on change, 0 on timeout.
 */
int vd_jobs_wait(struct vd_jobs *j, uint64_t *gen, double timeout);

/* Prometheus text for queue wait and processing seconds. Caller frees. */
char *vd_jobs_metrics(struct vd_jobs *j);

/* ---- webhooks ---------------------------------------------------------------- */

struct vd_webhooks;

/*
 * Starts the delivery thread for the deliveries pending in `store`,
 * including those left by an earlier process. Each is tried up to
 * `max_tries` times, waiting `backoff`, 2*backoff, ... seconds between
 * tries. `store` must outlive the vd_webhooks.
 */
int vd_webhooks_start(struct vd_webhooks **out, struct vd_store *store, int max_tries,
                      double backoff, struct vd_err *err) VD_WUR;
/* Lets a delivery in flight finish (at most the 10 s request timeout), then
 * stops; what is still pending stays in the store for the next start. */
void vd_webhooks_stop(struct vd_webhooks *w);
/* Says that a delivery may have become due (a job just ended), so it goes
 * out now rather than at the next poll. Never blocks on the network. */
void vd_webhooks_wake(struct vd_webhooks *w);
/* Deliveries this process sent and gave up, for metrics. */
void vd_webhooks_counts(struct vd_webhooks *w, uint64_t *ok, uint64_t *failed);

/* 1 when `url` is an http:// or https:// URL a webhook may go to. */
int vd_webhook_url_valid(const char *url);

#endif
