/* store.c: backend selection, record helpers, what the backends share
 * (reading records from rows, pages, errors), and vtable forwarding. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "store/store_int.h"

static const char *const state_names[VD_JOB_NSTATES] = {"queued", "running", "succeeded", "failed",
                                                        "canceled"};

const char *vd_job_state_name(enum vd_job_state s) {
  return (unsigned)s < VD_JOB_NSTATES ? state_names[s] : "unknown";
}

int vd_job_state_parse(const char *name) {
  for (int i = 0; name && i < VD_JOB_NSTATES; i++)
    if (!strcmp(name, state_names[i]))
      return i;
  return -1;
}

void vd_file_rec_fini(struct vd_file_rec *f) {
  if (!f)
    return;
  free(f->name);
  free(f->probe);
  memset(f, 0, sizeof(*f));
}

void vd_job_rec_fini(struct vd_job_rec *j) {
  if (!j)
    return;
  char **strs[] = {&j->file_id, &j->source, &j->analyses, &j->params, &j->webhook, &j->kind,
                   &j->extra,   &j->worker, &j->stage,    &j->error,  &j->result};
  for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
    free(*strs[i]);
  memset(j, 0, sizeof(*j));
}

void vd_artifact_rec_fini(struct vd_artifact_rec *a) {
  if (!a)
    return;
  free(a->analysis);
  free(a->name);
  memset(a, 0, sizeof(*a));
}

void vd_webhook_rec_fini(struct vd_webhook_rec *h) {
  if (!h)
    return;
  free(h->url);
  free(h->body);
  memset(h, 0, sizeof(*h));
}

void vd_fingerprint_rec_fini(struct vd_fingerprint_rec *f) {
  if (!f)
    return;
  free(f->data);
  memset(f, 0, sizeof(*f));
}

void vd_idlist_fini(struct vd_idlist *l) {
  if (!l)
    return;
  free(l->ids);
  l->ids = NULL;
  l->n = 0;
}

/* ---- shared by the backends ---------------------------------------------------- */

#define TEXT(r, c) (r)->cols->text((r)->res, (r)->i, (c))
#define COPY(r, c, buf) (r)->cols->copy((r)->res, (r)->i, (c), (buf), sizeof(buf))
#define I64(r, c) (r)->cols->i64((r)->res, (r)->i, (c))
#define DBL(r, c) (r)->cols->dbl((r)->res, (r)->i, (c))

void vd__read_file(const struct vd__row *r, struct vd_file_rec *f) {
  memset(f, 0, sizeof(*f));
  f->seq = I64(r, 0);
  COPY(r, 1, f->id);
  f->name = TEXT(r, 2);
  if (!f->name)
    f->name = vd_xstrdup("");
  f->size = I64(r, 3);
  f->created = DBL(r, 4);
  f->probe = TEXT(r, 5);
}

void vd__read_job(const struct vd__row *r, struct vd_job_rec *j, int with_result) {
  char state[16];
  memset(j, 0, sizeof(*j));
  j->seq = I64(r, 0);
  COPY(r, 1, j->id);
  j->file_id = TEXT(r, 2);
  j->source = TEXT(r, 3);
  j->analyses = TEXT(r, 4);
  j->params = TEXT(r, 5);
  j->webhook = TEXT(r, 6);
  j->kind = TEXT(r, 7);
  j->extra = TEXT(r, 8);
  COPY(r, 9, state);
  int sv = vd_job_state_parse(state);
  j->state = sv < 0 ? VD_JOB_FAILED : (enum vd_job_state)sv;
  j->attempts = (int)I64(r, 10);
  j->max_attempts = (int)I64(r, 11);
  j->lease_until = DBL(r, 12);
  j->worker = TEXT(r, 13);
  j->progress = DBL(r, 14);
  j->stage = TEXT(r, 15);
  j->created = DBL(r, 16);
  j->started = DBL(r, 17);
  j->finished = DBL(r, 18);
  j->updated = DBL(r, 19);
  j->error = TEXT(r, 20);
  j->cancel = (int)I64(r, 21);
  j->result = with_result ? TEXT(r, 22) : NULL;
}

void vd__read_artifact(const struct vd__row *r, struct vd_artifact_rec *a) {
  a->analysis = TEXT(r, 0);
  a->name = TEXT(r, 1);
  COPY(r, 2, a->blob);
  a->size = I64(r, 3);
}

void vd__read_webhook(const struct vd__row *r, struct vd_webhook_rec *h) {
  h->id = I64(r, 0);
  COPY(r, 1, h->job_id);
  h->url = TEXT(r, 2);
  h->body = TEXT(r, 3);
  h->attempts = (int)I64(r, 4);
  h->next_at = DBL(r, 5);
}

void vd__read_id(const struct vd__row *r, int col, struct vd_idlist *l) {
  l->ids = vd_xrealloc(l->ids, (l->n + 1) * sizeof(*l->ids));
  COPY(r, col, l->ids[l->n]);
  l->n++;
}

void vd__read_fingerprint(const struct vd__row *r, struct vd_fingerprint_rec *f) {
  memset(f, 0, sizeof(*f));
  f->seq = I64(r, 0);
  COPY(r, 1, f->file_id);
  f->data = TEXT(r, 2);
  f->created = DBL(r, 3);
}

void vd__read_count(const struct vd__row *r, int64_t counts[VD_JOB_NSTATES]) {
  char state[16];
  COPY(r, 0, state);
  int sv = vd_job_state_parse(state);
  if (sv >= 0)
    counts[sv] = I64(r, 1);
}

void vd__page_init(struct vd__page *p, size_t size, int limit) {
  p->cap = limit > 0 ? (size_t)limit : 0;
  p->recs = vd_xcalloc(p->cap ? p->cap : 1, size);
  p->size = size;
  p->n = 0;
}

void *vd__page_next(struct vd__page *p) {
  return p->n < p->cap ? (char *)p->recs + p->size * p->n++ : NULL;
}

double vd__store_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int vd__store_one_row(int n, struct vd_err *err, const char *fmt, ...) {
  char msg[256];
  if (n != 0)
    return n < 0 ? n : 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return vd_err_set(err, VD_ERR_NOT_FOUND, "%s", msg);
}

/* ---- opening ------------------------------------------------------------------ */

/* A libpq "key=value ..." string: it starts with a keyword and '='. A path
 * with '=' in its first name still reads as a path when it has a '/'. */
static int is_conninfo(const char *s) {
  size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz_");
  return n > 0 && s[n + strspn(s + n, " ")] == '=' && !strchr(s, '/');
}

/* The scheme of a URI, for messages (a URI may carry a password). */
static int scheme_len(const char *url) {
  const char *p = strstr(url, "://");
  return p ? (int)(p - url) : 0;
}

int vd_store_open(struct vd_store **out, const char *url, struct vd_err *err) {
  *out = NULL;
  if (!strncmp(url, "sqlite:", 7))
    return vd__store_sqlite_open(out, url + 7, err);
  if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13) ||
      is_conninfo(url)) {
#ifdef VD_HAVE_LIBPQ
    return vd__store_pg_open(out, url, err);
#else
    return vd_err_set(err, VD_ERR_UNSUPPORTED,
                      "store: this vidan was built without PostgreSQL support (libpq); "
                      "install libpq-dev (scripts/deps) and rebuild, or use SQLite");
#endif
  }
  if (strstr(url, "://"))
    return vd_err_set(err, VD_ERR_UNSUPPORTED,
                      "store: unknown kind '%.*s://'; use a SQLite path or postgres://",
                      scheme_len(url), url);
  return vd__store_sqlite_open(out, url, err);
}

void vd_store_free(struct vd_store *s) {
  if (s)
    s->ops->free(s);
}

int vd_store_file_put(struct vd_store *s, struct vd_file_rec *f, int *existed, struct vd_err *err) {
  return s->ops->file_put(s, f, existed, err);
}
int vd_store_file_get(struct vd_store *s, const char *id, struct vd_file_rec *out,
                      struct vd_err *err) {
  return s->ops->file_get(s, id, out, err);
}
int vd_store_file_list(struct vd_store *s, int64_t cursor, int limit, struct vd_file_rec **out,
                       size_t *n, struct vd_err *err) {
  return s->ops->file_list(s, cursor, limit, out, n, err);
}
int vd_store_file_delete(struct vd_store *s, const char *id, struct vd_idlist *orphans,
                         struct vd_err *err) {
  return s->ops->file_delete(s, id, orphans, err);
}
int vd_store_file_active_jobs(struct vd_store *s, const char *file_id, int *n, struct vd_err *err) {
  return s->ops->file_active_jobs(s, file_id, n, err);
}
int vd_store_job_create(struct vd_store *s, struct vd_job_rec *j, struct vd_err *err) {
  return s->ops->job_create(s, j, err);
}
int vd_store_job_get(struct vd_store *s, const char *id, struct vd_job_rec *out,
                     struct vd_err *err) {
  return s->ops->job_get(s, id, out, err);
}
int vd_store_job_list(struct vd_store *s, const char *file_id, int state, const char *kind,
                      int64_t cursor, int limit, struct vd_job_rec **out, size_t *n,
                      struct vd_err *err) {
  return s->ops->job_list(s, file_id, state, kind, cursor, limit, out, n, err);
}
int vd_store_job_claim(struct vd_store *s, const char *worker, double now, double lease,
                       struct vd_job_rec *out, struct vd_err *err) {
  return s->ops->job_claim(s, worker, now, lease, out, err);
}
int vd_store_job_heartbeat(struct vd_store *s, const char *id, const char *worker,
                           double progress, const char *stage, double now, double lease_until,
                           int *cancel, struct vd_err *err) {
  return s->ops->job_heartbeat(s, id, worker, progress, stage, now, lease_until, cancel, err);
}
int vd_store_job_finish(struct vd_store *s, const char *id, const char *worker,
                        enum vd_job_state state, const char *result, const char *error,
                        const struct vd_artifact_rec *arts, size_t n_arts, double now,
                        struct vd_err *err) {
  return s->ops->job_finish(s, id, worker, state, result, error, arts, n_arts, now, err);
}
int vd_store_job_cancel(struct vd_store *s, const char *id, double now, int *state,
                        struct vd_err *err) {
  return s->ops->job_cancel(s, id, now, state, err);
}
int vd_store_job_delete(struct vd_store *s, const char *id, struct vd_idlist *orphans,
                        struct vd_err *err) {
  return s->ops->job_delete(s, id, orphans, err);
}
int vd_store_job_artifacts(struct vd_store *s, const char *id, struct vd_artifact_rec **out,
                           size_t *n, struct vd_err *err) {
  return s->ops->job_artifacts(s, id, out, n, err);
}
int vd_store_job_wait(struct vd_store *s, int timeout_ms, struct vd_err *err) {
  if (!s->ops->job_wait)
    return vd_err_set(err, VD_ERR_UNSUPPORTED, "store: %s has no cross-process wake-ups",
                      s->ops->name);
  return s->ops->job_wait(s, timeout_ms, err);
}
int vd_store_job_counts(struct vd_store *s, int64_t counts[VD_JOB_NSTATES], struct vd_err *err) {
  return s->ops->job_counts(s, counts, err);
}
int vd_store_blob_referenced(struct vd_store *s, const char *blob, struct vd_err *err) {
  return s->ops->blob_referenced(s, blob, err);
}
int vd_store_webhook_claim(struct vd_store *s, double now, double lease,
                           struct vd_webhook_rec *out, double *next, struct vd_err *err) {
  return s->ops->webhook_claim(s, now, lease, out, next, err);
}
int vd_store_webhook_retry(struct vd_store *s, int64_t id, double next_at, const char *error,
                           struct vd_err *err) {
  return s->ops->webhook_retry(s, id, next_at, error, err);
}
int vd_store_webhook_delete(struct vd_store *s, int64_t id, struct vd_err *err) {
  return s->ops->webhook_delete(s, id, err);
}
int vd_store_webhook_count(struct vd_store *s, int64_t *n, struct vd_err *err) {
  return s->ops->webhook_count(s, n, err);
}
int vd_store_fingerprint_put(struct vd_store *s, const char *file_id, const char *data,
                             struct vd_err *err) {
  return s->ops->fingerprint_put(s, file_id, data, err);
}
int vd_store_fingerprint_get(struct vd_store *s, const char *file_id,
                             struct vd_fingerprint_rec *out, struct vd_err *err) {
  return s->ops->fingerprint_get(s, file_id, out, err);
}
int vd_store_fingerprint_since(struct vd_store *s, int64_t seq, int limit,
                               struct vd_fingerprint_rec **out, size_t *n, struct vd_err *err) {
  return s->ops->fingerprint_since(s, seq, limit, out, n, err);
}
int vd_store_fingerprint_delete(struct vd_store *s, const char *file_id, struct vd_err *err) {
  return s->ops->fingerprint_delete(s, file_id, err);
}
int vd_store_fingerprint_missing(struct vd_store *s, int64_t seq, int limit,
                                 struct vd_job_rec **out, size_t *n, struct vd_err *err) {
  return s->ops->fingerprint_missing(s, seq, limit, out, n, err);
}
