/* jobs.c: worker threads and the lease keeper; see jobs.h for the design. */
#include "jobs/jobs.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "core/log.h"
#include "core/util.h"
#include "library/library.h"
#include "search/search.h"

#define MAX_WORKERS 256
#define MAX_METRIC_ANALYSES 64

struct slot {
  struct vd_jobs *jobs;
  pthread_t thread;
  char name[64];         /* worker id stored in the job row */
  char id[40];           /* running job, "" when idle */
  struct vd_run *run;    /* while vd_run_exec runs; guarded by jobs->mu */
  double progress;
  char stage[160];
  int dirty;             /* progress changed since the last heartbeat */
  double last_beat;
};

struct amet {
  char name[48];
  double seconds;
  uint64_t count;
};

struct vd_jobs {
  struct vd_jobs_opts o;
  struct vd_media_limits lim;
  char *work_dir, *samples_dir;
  pthread_mutex_t mu;
  pthread_cond_t wake;   /* a job was queued, or stop */
  pthread_cond_t change; /* progress/state changed (SSE) */
  uint64_t gen;
  int nwake;
  atomic_int stop;
  int nslots;
  struct slot *slots;
  pthread_t keeper;
  pthread_t listener;    /* forwards the store's cross-node wake-ups */
  int listening;         /* listener started */
  /* metrics, guarded by mu */
  double wait_sum;
  uint64_t wait_count;
  uint64_t finished[VD_JOB_NSTATES];
  struct amet am[MAX_METRIC_ANALYSES];
  int nam;
};

static double now_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bump(struct vd_jobs *j) {
  pthread_mutex_lock(&j->mu);
  j->gen++;
  pthread_cond_broadcast(&j->change);
  pthread_mutex_unlock(&j->mu);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static void rm_rf(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* ---- progress from the running analysis (worker thread) --------------------- */

static void on_progress(void *opaque, double fraction, const char *stage) {
  struct slot *s = opaque;
  pthread_mutex_lock(&s->jobs->mu);
  s->progress = fraction;
  snprintf(s->stage, sizeof(s->stage), "%s", stage ? stage : "");
  s->dirty = 1;
  pthread_mutex_unlock(&s->jobs->mu);
}

/* ---- running one job ------------------------------------------------------- */

static void record_timings(struct vd_jobs *j, json_t *timings) {
  const char *name;
  json_t *v;
  pthread_mutex_lock(&j->mu);
  json_object_foreach(timings, name, v) {
    int k = 0;
    while (k < j->nam && strcmp(j->am[k].name, name))
      k++;
    if (k == j->nam) {
      if (j->nam == MAX_METRIC_ANALYSES)
        continue;
      snprintf(j->am[j->nam++].name, sizeof(j->am[0].name), "%s", name);
    }
    j->am[k].seconds += json_number_value(v);
    j->am[k].count++;
  }
  pthread_mutex_unlock(&j->mu);
}

/* Moves the artifacts a run wrote into the blob store. */
static int adopt_artifacts(struct vd_jobs *j, const char *outdir, json_t *arts,
                           struct vd_artifact_rec **out, size_t *n, struct vd_err *err) {
  const char *an;
  json_t *list;
  *out = NULL;
  *n = 0;
  json_object_foreach(arts, an, list) {
    size_t i;
    json_t *name;
    json_array_foreach(list, i, name) {
      const char *nm = json_string_value(name);
      if (!nm)
        continue;
      char *path = vd_xasprintf("%s/%s", outdir, nm);
      struct vd_artifact_rec a = {0};
      int ret = vd_blob_adopt(j->o.blobs, path, a.blob, &a.size, err);
      free(path);
      if (ret < 0)
        return ret;
      a.analysis = vd_xstrdup(an);
      a.name = vd_xstrdup(nm);
      *out = vd_xrealloc(*out, (*n + 1) * sizeof(**out));
      (*out)[(*n)++] = a;
    }
  }
  return 0;
}

/* Input path of a job: its blob, or a sample video by name. */
static char *input_path(struct vd_jobs *j, const struct vd_job_rec *r, struct vd_err *err) {
  if (r->file_id)
    return vd_blob_path(j->o.blobs, r->file_id);
  if (r->source && j->samples_dir && !strchr(r->source, '/') && r->source[0] != '.')
    return vd_xasprintf("%s/%s", j->samples_dir, r->source);
  vd_err_set(err, VD_ERR_NOT_FOUND, "the analysis has no input file");
  return NULL;
}

/* A succeeded job's fingerprint joins the library. If this fails, or the
 * process dies first, the library's first load in the next process puts it
 * (library.h: backfill). */
static void keep_fingerprint(struct vd_jobs *j, const struct vd_job_rec *r, json_t *result) {
  json_t *fpr = json_object_get(json_object_get(result, "results"), "fingerprint");
  struct vd_err err = {0};
  int ret = fpr && r->file_id ? vd_library_add(j->o.library, r->file_id, fpr, &err) : 0;
  if (ret < 0)
    VD_WARN("jobs: the fingerprint of %s is not in the library yet: %s", r->id,
            vd_err_msg(&err, ret));
}

static void run_job(struct slot *s, struct vd_job_rec *r) {
  struct vd_jobs *j = s->jobs;
  struct vd_err err = {0};
  struct vd_run *run = NULL;
  json_t *analyses = NULL, *params = NULL, *result = NULL;
  struct vd_artifact_rec *arts = NULL;
  size_t n_arts = 0;
  const char **names = NULL;
  char *outdir = vd_xasprintf("%s/%s-%d", j->work_dir, r->id, r->attempts);
  char *input = NULL, *result_txt = NULL;
  enum vd_job_state final = VD_JOB_FAILED;
  int ret;

  pthread_mutex_lock(&j->mu);
  snprintf(s->id, sizeof(s->id), "%s", r->id);
  s->progress = 0;
  snprintf(s->stage, sizeof(s->stage), "starting");
  s->dirty = 1;
  s->last_beat = 0;
  j->wait_sum += r->started - r->created > 0 ? r->started - r->created : 0;
  j->wait_count++;
  pthread_mutex_unlock(&j->mu);
  bump(j);

  rm_rf(outdir);
  for (int k = 1; k < r->attempts; k++) { /* what a killed earlier attempt left */
    char *old = vd_xasprintf("%s/%s-%d", j->work_dir, r->id, k);
    rm_rf(old);
    free(old);
  }
  analyses = json_loads(r->analyses ? r->analyses : "[]", 0, NULL);
  params = json_loads(r->params ? r->params : "{}", 0, NULL);
  if (!json_is_array(analyses) || !json_is_object(params)) {
    ret = vd_err_set(&err, VD_ERR_CORRUPT, "stored job description is damaged");
    goto done;
  }
  if (!(input = input_path(j, r, &err))) {
    ret = err.code;
    goto done;
  }
  size_t n = json_array_size(analyses);
  names = vd_xcalloc(n + 1, sizeof(*names));
  for (size_t i = 0; i < n; i++)
    names[i] = json_string_value(json_array_get(analyses, i));
  /* Messages name the upload as the user named it, not its blob path. */
  struct vd_file_rec fr_name = {0};
  struct vd_err name_err;
  vd_err_clear(&name_err);
  const char *display = r->source;
  if (r->file_id && vd_store_file_get(j->o.store, r->file_id, &fr_name, &name_err) == 0 &&
      fr_name.name && fr_name.name[0])
    display = fr_name.name;
  /* The library as it is now: the video is checked against all before it. */
  struct vd_dup_index *lib = NULL;
  struct vd_err lerr = {0};
  if (j->o.library && vd_library_index(j->o.library, &lib, &lerr) < 0)
    VD_WARN("jobs: the duplicate library is not up to date: %s", vd_err_msg(&lerr, lerr.code));
  struct vd_run_opts ro = {.input = input,
                           .display_name = display,
                           .analyses = names,
                           .n_analyses = n,
                           .params = params,
                           .outdir = outdir,
                           .limits = &j->lim,
                           .progress = on_progress,
                           .progress_opaque = s,
                           .untrusted = 1, /* jobs come from API clients */
                           .library = lib,
                           .library_exclude = r->file_id};
  ret = vd_run_new(&run, &ro, &err);
  vd_file_rec_fini(&fr_name); /* the run copied the name */
  if (ret < 0)
    goto done;
  pthread_mutex_lock(&j->mu);
  s->run = run;
  if (r->cancel)
    vd_run_cancel(run);
  pthread_mutex_unlock(&j->mu);
  ret = vd_run_exec(run, &result, &err);
  pthread_mutex_lock(&j->mu);
  s->run = NULL;
  pthread_mutex_unlock(&j->mu);
  if (ret < 0)
    goto done;
  if ((ret = adopt_artifacts(j, outdir, json_object_get(result, "artifacts"), &arts, &n_arts,
                             &err)) < 0)
    goto done;
  record_timings(j, json_object_get(result, "timings"));
  /* The server's own path to the blob means nothing to a client. */
  json_object_set_new(result, "input", r->file_id ? json_string(r->file_id) : json_string(r->source));
  result_txt = json_dumps(result, JSON_COMPACT);
  final = VD_JOB_SUCCEEDED;
done:
  if (ret == VD_ERR_CANCELED)
    final = VD_JOB_CANCELED;
  const char *msg = final == VD_JOB_SUCCEEDED ? NULL
                    : final == VD_JOB_CANCELED ? "canceled"
                                               : vd_err_msg(&err, ret);
  struct vd_err ferr = {0};
  int fr;
  if (final == VD_JOB_CANCELED && atomic_load(&j->stop) && !r->cancel) {
    /* Shutting down, not canceled by anyone: give the lease back so the
     * next start (or another node) takes the job again. */
    int dummy;
    fr = vd_store_job_heartbeat(j->o.store, r->id, s->name, 0, "interrupted", now_wall(), 0,
                                &dummy, &ferr);
    n_arts = 0;
    goto cleanup;
  }
  /* The fingerprint and the search words go in before the row says
   * succeeded: a client that sees "succeeded" (compat E's checker, a
   * search right after) must find them. Both are keyed by what they
   * describe, so a finish that then fails leaves nothing wrong: the same
   * file has the same fingerprint, and a retaken job puts its words again.
   * If this fails, or the process dies first, the next start's backfills
   * do it. */
  if (final == VD_JOB_SUCCEEDED) {
    if (j->o.library)
      keep_fingerprint(j, r, result);
    struct vd_err serr = {0};
    int sr = vd_search_index_job(j->o.store, r->id, result_txt, &serr);
    if (sr < 0)
      VD_WARN("jobs: %s is not searchable yet: %s", r->id, vd_err_msg(&serr, sr));
  }
  fr = vd_store_job_finish(j->o.store, r->id, s->name, final, result_txt, msg, arts, n_arts,
                               now_wall(), &ferr);
  if (fr < 0) {
    /* Deleted while running, or our lease was lost and the job retaken: what
     * we produced is not wanted. Drop blobs that nothing references. */
    VD_INFO("jobs: result of %s dropped: %s", r->id, vd_err_msg(&ferr, fr));
    for (size_t i = 0; i < n_arts; i++)
      if (vd_store_blob_referenced(j->o.store, arts[i].blob, NULL) == 0)
        vd_blob_delete(j->o.blobs, arts[i].blob);
  } else {
    pthread_mutex_lock(&j->mu);
    j->finished[final]++;
    pthread_mutex_unlock(&j->mu);
    if (r->webhook && j->o.webhooks) /* the finish recorded its delivery */
      vd_webhooks_wake(j->o.webhooks);
  }
cleanup:
  pthread_mutex_lock(&j->mu);
  s->id[0] = '\0';
  pthread_mutex_unlock(&j->mu);
  bump(j);
  rm_rf(outdir);
  for (size_t i = 0; i < n_arts; i++)
    vd_artifact_rec_fini(&arts[i]);
  free(arts);
  vd_run_free(run);
  json_decref(result);
  json_decref(analyses);
  json_decref(params);
  free(names);
  free(input);
  free(outdir);
  free(result_txt);
}

/* Succeeded jobs that were never indexed (a crash between finish and
 * index, or a library older than search) become searchable; the first
 * worker does it once at start, while the others take jobs. */
static void search_backfill(struct vd_jobs *j) {
  struct vd_err err = {0};
  int n = 0, ret = vd_search_backfill(j->o.store, &j->stop, &n, &err);
  if (ret < 0)
    VD_WARN("jobs: search backfill stopped: %s", vd_err_msg(&err, ret));
  if (n)
    VD_INFO("jobs: %d earlier analyses indexed for search", n);
}

static void *worker_main(void *arg) {
  struct slot *s = arg;
  struct vd_jobs *j = s->jobs;
  int failing = 0; /* the store is failing: said once, until it recovers */
  if (s == &j->slots[0])
    search_backfill(j);
  while (!atomic_load(&j->stop)) {
    struct vd_job_rec r;
    struct vd_err err = {0};
    int got = vd_store_job_claim(j->o.store, s->name, now_wall(), j->o.lease, &r, &err);
    if (got >= 0 && failing) {
      VD_INFO("jobs: %s: the store answers again", s->name);
      failing = 0;
    }
    if (got == 1) {
      run_job(s, &r);
      vd_job_rec_fini(&r);
      continue;
    }
    /* A database outage would otherwise log twice a second per worker. */
    if (got < 0 && !failing++)
      VD_WARN("jobs: %s: claim failed: %s (retrying quietly)", s->name, vd_err_msg(&err, got));
    /* Nothing to do: sleep until woken, or poll again for expired leases. */
    pthread_mutex_lock(&j->mu);
    if (!j->nwake && !atomic_load(&j->stop)) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 500000000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&j->wake, &j->mu, &ts);
    }
    if (j->nwake)
      j->nwake--;
    pthread_mutex_unlock(&j->mu);
  }
  return NULL;
}

/* ---- keeper: progress writes, lease renewal, remote cancel ------------------- */

static void *keeper_main(void *arg) {
  struct vd_jobs *j = arg;
  while (!atomic_load(&j->stop)) {
    usleep(250000);
    for (int i = 0; i < j->nslots; i++) {
      struct slot *s = &j->slots[i];
      char id[40], stage[160];
      double prog, now = now_wall();
      pthread_mutex_lock(&j->mu);
      int due = s->id[0] && (s->dirty || now - s->last_beat >= j->o.lease / 3);
      snprintf(id, sizeof(id), "%s", s->id);
      snprintf(stage, sizeof(stage), "%s", s->stage);
      prog = s->progress;
      s->dirty = 0;
      pthread_mutex_unlock(&j->mu);
      if (!due)
        continue;
      int cancel = 0;
      struct vd_err err = {0};
      int ret = vd_store_job_heartbeat(j->o.store, id, s->name, prog, stage, now,
                                       now + j->o.lease, &cancel, &err);
      if (ret == VD_ERR_NOT_FOUND)
        cancel = 1; /* deleted, or no longer ours */
      else if (ret < 0)
        VD_WARN("jobs: heartbeat for %s failed: %s", id, vd_err_msg(&err, ret));
      pthread_mutex_lock(&j->mu);
      if (ret == 0)
        s->last_beat = now;
      if (cancel && s->run && !strcmp(s->id, id))
        vd_run_cancel(s->run);
      pthread_mutex_unlock(&j->mu);
      bump(j);
    }
  }
  return NULL;
}

/* ---- listener: jobs queued on other nodes ------------------------------------ */

/* Wakes every idle worker. */
static void wake_all(struct vd_jobs *j) {
  pthread_mutex_lock(&j->mu);
  j->nwake = j->nslots;
  pthread_cond_broadcast(&j->wake);
  pthread_mutex_unlock(&j->mu);
}

/* Only for stores shared by several processes (vd_store_job_wait): a job
 * queued by another node, or a lease given back there, wakes this node's
 * idle workers within milliseconds instead of at their next poll. */
static void *listener_main(void *arg) {
  struct vd_jobs *j = arg;
  int down = 0;
  while (!atomic_load(&j->stop)) {
    struct vd_err err = {0};
    int ret = vd_store_job_wait(j->o.store, 250, &err);
    if (ret > 0)
      wake_all(j);
    if (ret >= 0 && down) {
      VD_INFO("jobs: listening for queued jobs again");
      down = 0;
    } else if (ret < 0) {
      if (!down)
        VD_WARN("jobs: cannot listen for jobs queued elsewhere (polling meanwhile): %s",
                vd_err_msg(&err, ret));
      down = 1;
      for (int i = 0; i < 10 && !atomic_load(&j->stop); i++)
        usleep(100000);
    }
  }
  return NULL;
}

/* ---- public ---------------------------------------------------------------- */

int vd_jobs_start(struct vd_jobs **out, const struct vd_jobs_opts *o, struct vd_err *err) {
  struct vd_jobs *j = vd_xcalloc(1, sizeof(*j));
  int ret;
  *out = NULL;
  j->o = *o;
  if (j->o.workers <= 0)
    j->o.workers = vd_ncpu();
  if (j->o.workers > MAX_WORKERS)
    j->o.workers = MAX_WORKERS;
  if (j->o.lease <= 0)
    j->o.lease = 30;
  if (o->limits)
    j->lim = *o->limits;
  else
    vd_media_limits_default(&j->lim);
  j->work_dir = vd_xstrdup(o->work_dir);
  j->samples_dir = o->samples_dir ? vd_xstrdup(o->samples_dir) : NULL;
  j->o.work_dir = j->work_dir;
  j->o.samples_dir = j->samples_dir;
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->wake, NULL);
  pthread_cond_init(&j->change, NULL);
  if ((ret = vd_mkdirs(j->work_dir)) < 0) {
    vd_err_set(err, ret, "cannot create %s: %s", j->work_dir, vd_strerror(ret));
    goto fail;
  }
  char host[64] = "host";
  gethostname(host, sizeof(host) - 1);
  j->slots = vd_xcalloc((size_t)j->o.workers, sizeof(*j->slots));
  for (int i = 0; i < j->o.workers; i++) {
    struct slot *s = &j->slots[i];
    s->jobs = j;
    snprintf(s->name, sizeof(s->name), "%.30s:%ld:%d", host, (long)getpid(), i);
    if (pthread_create(&s->thread, NULL, worker_main, s)) {
      ret = vd_err_set(err, VD_ERR_INTERNAL, "cannot start worker thread");
      goto fail;
    }
    j->nslots++;
  }
  if (pthread_create(&j->keeper, NULL, keeper_main, j)) {
    ret = vd_err_set(err, VD_ERR_INTERNAL, "cannot start keeper thread");
    goto fail;
  }
  if (vd_store_job_wait(j->o.store, 0, NULL) != VD_ERR_UNSUPPORTED) {
    if (pthread_create(&j->listener, NULL, listener_main, j))
      VD_WARN("jobs: cannot start the listener thread; idle workers poll");
    else
      j->listening = 1;
  }
  *out = j;
  return 0;
fail:
  atomic_store(&j->stop, 1);
  pthread_mutex_lock(&j->mu);
  pthread_cond_broadcast(&j->wake);
  pthread_mutex_unlock(&j->mu);
  for (int i = 0; i < j->nslots; i++)
    pthread_join(j->slots[i].thread, NULL);
  free(j->slots);
  free(j->work_dir);
  free(j->samples_dir);
  free(j);
  return ret;
}

void vd_jobs_stop(struct vd_jobs *j) {
  if (!j)
    return;
  atomic_store(&j->stop, 1);
  pthread_mutex_lock(&j->mu);
  for (int i = 0; i < j->nslots; i++)
    if (j->slots[i].run)
      vd_run_cancel(j->slots[i].run);
  pthread_cond_broadcast(&j->wake);
  pthread_mutex_unlock(&j->mu);
  pthread_join(j->keeper, NULL);
  if (j->listening)
    pthread_join(j->listener, NULL);
  for (int i = 0; i < j->nslots; i++)
    pthread_join(j->slots[i].thread, NULL);
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->wake);
  pthread_cond_destroy(&j->change);
  free(j->slots);
  free(j->work_dir);
  free(j->samples_dir);
  free(j);
}

void vd_jobs_wake(struct vd_jobs *j) {
  pthread_mutex_lock(&j->mu);
  j->nwake++;
  pthread_cond_signal(&j->wake);
  j->gen++;
  pthread_cond_broadcast(&j->change);
  pthread_mutex_unlock(&j->mu);
}

int vd_jobs_cancel(struct vd_jobs *j, const char *id, int *state, struct vd_err *err) {
  int ret = vd_store_job_cancel(j->o.store, id, now_wall(), state, err);
  if (ret < 0)
    return ret;
  pthread_mutex_lock(&j->mu);
  for (int i = 0; i < j->nslots; i++)
    if (j->slots[i].run && !strcmp(j->slots[i].id, id))
      vd_run_cancel(j->slots[i].run);
  pthread_mutex_unlock(&j->mu);
  if (*state == VD_JOB_CANCELED && j->o.webhooks) /* a queued job ended here */
    vd_webhooks_wake(j->o.webhooks);
  bump(j);
  return 0;
}

int vd_jobs_wait(struct vd_jobs *j, uint64_t *gen, double timeout) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double whole = floor(timeout);
  ts.tv_sec += (time_t)whole;
  ts.tv_nsec += (long)((timeout - whole) * 1e9);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&j->mu);
  while (j->gen == *gen && !atomic_load(&j->stop))
    if (pthread_cond_timedwait(&j->change, &j->mu, &ts) == ETIMEDOUT)
      break;
  int changed = j->gen != *gen;
  *gen = j->gen;
  pthread_mutex_unlock(&j->mu);
  return changed;
}

char *vd_jobs_metrics(struct vd_jobs *j) {
  size_t cap = 4096, len = 0;
  char *s = vd_xmalloc(cap);
#define OUT(...)                                                                                 \
  do {                                                                                           \
    int n_ = snprintf(s + len, cap - len, __VA_ARGS__);                                          \
    if ((size_t)n_ >= cap - len) {                                                               \
      cap = (cap + (size_t)n_) * 2;                                                              \
      s = vd_xrealloc(s, cap);                                                                   \
      n_ = snprintf(s + len, cap - len, __VA_ARGS__);                                            \
    }                                                                                            \
    len += (size_t)n_;                                                                           \
  } while (0)
  pthread_mutex_lock(&j->mu);
  OUT("# HELP vidan_queue_wait_seconds Time jobs spent queued before a worker took them.\n"
      "# TYPE vidan_queue_wait_seconds summary\n"
      "vidan_queue_wait_seconds_sum %.6f\nvidan_queue_wait_seconds_count %llu\n",
      j->wait_sum, (unsigned long long)j->wait_count);
  OUT("# HELP vidan_analysis_seconds Processing time per analysis.\n"
      "# TYPE vidan_analysis_seconds summary\n");
  for (int i = 0; i < j->nam; i++)
    OUT("vidan_analysis_seconds_sum{analysis=\"%s\"} %.6f\n"
        "vidan_analysis_seconds_count{analysis=\"%s\"} %llu\n",
        j->am[i].name, j->am[i].seconds, j->am[i].name, (unsigned long long)j->am[i].count);
  OUT("# HELP vidan_jobs_finished_total Jobs this process finished, by final state.\n"
      "# TYPE vidan_jobs_finished_total counter\n");
  for (int st = VD_JOB_SUCCEEDED; st < VD_JOB_NSTATES; st++)
    OUT("vidan_jobs_finished_total{state=\"%s\"} %llu\n", vd_job_state_name((enum vd_job_state)st),
        (unsigned long long)j->finished[st]);
  int busy = 0;
  for (int i = 0; i < j->nslots; i++)
    busy += j->slots[i].id[0] != '\0';
  OUT("# HELP vidan_workers Worker threads, and how many run a job now.\n"
      "# TYPE vidan_workers gauge\nvidan_workers{state=\"busy\"} %d\nvidan_workers{state=\"idle\"} %d\n",
      busy, j->nslots - busy);
  pthread_mutex_unlock(&j->mu);
#undef OUT
  return s;
}
