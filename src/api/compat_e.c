/*
 * compat_e.c: compat E (shared/compat.md E), the duplicate check of the
 * video service vidan replaces, and the native view of a file's matches.
 *
 *   POST /check-video-duplicate  {"link": "https://host/path/<uuid>.mp4"}
 *   → 200 {"is_duplicate": bool, "duplicate_for": "<earlier uuid>" or "",
 *          "hard_case": "same_picture" | "same_sound" | null, "matches": [...]}
 *   GET /api/v1/files/{id}/duplicates → what the library knows of a file
 *
 * A video's id in that API is the link's file name without its extension;
 * "url" is accepted for "link" (one client sent it). A bad link, one that
 * cannot be fetched, or one that is not a video answers 400 with
 * {"error": ...}.
 *
 * DESIGN
 * - The client sends one request and waits for its one answer, as with the
 *   seed service. The connection's own thread (libmicrohttpd runs one per
 *   connection, http.h) waits for the answer the way an SSE stream waits
 *   for progress; it neither downloads nor decodes. Checker threads (at
 *   most NCHECKERS, started on the first check) download the link with
 *   libcurl (http/https only, redirects capped, the upload size limit, a
 *   timeout) into the blob store, probe it, record the file, and queue a
 *   `duplicates` job (its dependency `fingerprint` comes along) that any
 *   worker of any node may run. When the job ends, the worker has put the
 *   fingerprint into the library (jobs.c); the checker asks the library for
 *   the file's matches and builds the answer.
 * - "Checked against everything before it": a match counts only when its
 *   file was recorded before this one. Identical bytes under a second link
 *   are one file: the answer is a duplicate of the id the file was first
 *   checked under (the stored file name), without running anything again.
 * - Bounded: the queue holds at most QUEUE_MAX waiting checks (503 beyond);
 *   a check that takes longer than WAIT_MAX answers 504 (its job goes on,
 *   and the video is in the library once it ends).
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "analyze/analyze.h"
#include "analyze/registry.h"
#include "api/api_int.h"
#include "core/log.h"
#include "core/util.h"
#include "library/library.h"

#define NCHECKERS 2
#define QUEUE_MAX 64
#define WAIT_MAX 900.0       /* seconds a client waits for its answer */
#define MAX_LINK 2048        /* bytes */
#define MAX_MATCHES 16
#define FETCH_TIMEOUT 300L   /* seconds for the whole download */

struct check {
  char link[MAX_LINK + 1];
  char vid[129];  /* the video id: the link's file name without extension */
  char name[200]; /* the link's file name, kept as the file's name */
  int status;     /* HTTP status of the answer, 0 while running */
  json_t *body;   /* the answer */
  int refs;       /* the waiting handler and the queue/checker; guarded by e->mu */
  struct check *next;
};

struct vd__api_e {
  struct vd_api *a;
  pthread_mutex_t mu;
  pthread_cond_t work; /* a check was queued, or stop */
  pthread_cond_t done; /* a check got its answer */
  struct check *head, *tail;
  int queued, stop, nthreads;
  pthread_t threads[NCHECKERS];
};

static pthread_mutex_t start_mu = PTHREAD_MUTEX_INITIALIZER;

static void check_unref(struct vd__api_e *e, struct check *c) {
  pthread_mutex_lock(&e->mu);
  int last = --c->refs == 0;
  pthread_mutex_unlock(&e->mu);
  if (last) {
    json_decref(c->body);
    free(c);
  }
}

/* ---- the link --------------------------------------------------------------- */

int vd__api_e_parse_link(const char *link, char *name, size_t name_len, char *vid, size_t vid_len,
                         struct vd_err *err) {
  size_t n = strlen(link);
  if (n == 0 || n > MAX_LINK)
    return vd_err_set(err, VD_ERR_INVALID, "the link must be 1 to %d bytes", MAX_LINK);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)link[i] <= ' ' || link[i] == 0x7f)
      return vd_err_set(err, VD_ERR_INVALID, "the link contains spaces or control characters");
  const char *rest;
  if (!strncasecmp(link, "http://", 7))
    rest = link + 7;
  else if (!strncasecmp(link, "https://", 8))
    rest = link + 8;
  else
    return vd_err_set(err, VD_ERR_INVALID, "the link must be an http:// or https:// URL");
  size_t path_at = strcspn(rest, "/?#");
  if (path_at == 0)
    return vd_err_set(err, VD_ERR_INVALID, "the link has no host");
  if (rest[path_at] != '/')
    return vd_err_set(err, VD_ERR_INVALID, "the link names no file");
  const char *path = rest + path_at;
  size_t plen = strcspn(path, "?#");
  const char *seg = path + plen;
  while (seg > path && seg[-1] != '/')
    seg--;
  size_t slen = (size_t)(path + plen - seg);
  if (slen == 0)
    return vd_err_set(err, VD_ERR_INVALID, "the link names no file");
  if (slen >= name_len)
    return vd_err_set(err, VD_ERR_INVALID, "the link's file name is too long");
  memcpy(name, seg, slen);
  name[slen] = '\0';
  const char *dot = strrchr(name, '.');
  size_t vlen = dot && dot != name ? (size_t)(dot - name) : slen;
  if (vlen >= vid_len)
    return vd_err_set(err, VD_ERR_INVALID, "the link's file name is too long");
  memcpy(vid, name, vlen);
  vid[vlen] = '\0';
  return 0;
}

/* The video id a stored file stands for: its name without the extension. */
static void video_id(const char *name, char *out, size_t len) {
  snprintf(out, len, "%s", name ? name : "");
  char *dot = strrchr(out, '.');
  if (dot && dot != out)
    *dot = '\0';
}

/* ---- fetching ----------------------------------------------------------------- */

struct sink {
  struct vd_blob_writer *w;
  struct vd_err err;
  int failed;
};

/* Ends a download when the server stops. */
static int on_progress(void *u, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
  (void)dt, (void)dn, (void)ut, (void)un;
  const struct vd__api_e *e = u;
  return __atomic_load_n(&e->stop, __ATOMIC_RELAXED) != 0;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *u) {
  struct sink *s = u;
  size_t n = size * nmemb;
  if (vd_blob_write(s->w, p, n, &s->err) < 0) {
    s->failed = 1;
    return 0; /* aborts the transfer */
  }
  return n;
}

/* Downloads the link into a blob writer (*w, to commit or abort). */
static int fetch(struct vd__api_e *e, const struct check *c, struct vd_blob_writer **w,
                 struct vd_err *err) {
  struct vd_api *a = e->a;
  struct sink s = {0};
  int ret = vd_blob_writer_new(a->o.blobs, a->o.max_upload, &s.w, err);
  if (ret < 0)
    return ret;
  CURL *h = curl_easy_init();
  if (!h) {
    vd_blob_abort(s.w);
    return vd_err_set(err, VD_ERR_INTERNAL, "cannot start a download");
  }
  char cerr[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, c->link);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, FETCH_TIMEOUT);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L); /* a stalled server ends in 30 s */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "vidan/" VD_VERSION);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, e);
  CURLcode cc = curl_easy_perform(h);
  curl_easy_cleanup(h);
  if (s.failed) {
    vd_blob_abort(s.w);
    if (s.err.code == VD_ERR_LIMIT)
      return vd_err_set(err, VD_ERR_LIMIT,
                        "the video at the link is larger than the %lld-byte limit",
                        (long long)a->o.max_upload);
    return vd_err_set(err, s.err.code ? s.err.code : VD_ERR_INTERNAL, "%s",
                      vd_err_msg(&s.err, s.err.code));
  }
  if (cc != CURLE_OK) {
    vd_blob_abort(s.w);
    return vd_err_set(err, VD_ERR_NOT_FOUND, "cannot fetch the link: %s",
                      cerr[0] ? cerr : curl_easy_strerror(cc));
  }
  if (vd_blob_writer_size(s.w) == 0) {
    vd_blob_abort(s.w);
    return vd_err_set(err, VD_ERR_EMPTY, "the link gave an empty file");
  }
  *w = s.w;
  return 0;
}

/* Probes the download (headers only) and records it as a file; *existed =
 * the same bytes were recorded before. */
static int record_file(struct vd_api *a, struct check *c, struct vd_blob_writer *w,
                       struct vd_file_rec *f, int *existed, struct vd_err *err) {
  struct vd_media *m = NULL;
  const char *tmp = vd_blob_writer_tmp_path(w, err);
  int ret;
  if (!tmp) {
    vd_blob_abort(w);
    return err->code ? err->code : VD_ERR_INTERNAL;
  }
  if ((ret = vd_media_open(&m, tmp, &a->lim, NULL)) < 0) {
    vd_blob_abort(w);
    return vd_err_set(err, VD_ERR_NOT_MEDIA,
                      "the link is not a video or audio file vidan can read");
  }
  json_t *pj = vd_probe_json(vd_media_info(m));
  vd_media_free(m);
  memset(f, 0, sizeof(*f));
  f->size = vd_blob_writer_size(w);
  if ((ret = vd_blob_commit(w, f->id, NULL, err)) < 0) {
    json_decref(pj);
    return ret;
  }
  f->probe = json_dumps(pj, JSON_COMPACT);
  json_decref(pj);
  f->name = vd_xstrdup(c->name);
  if ((ret = vd_store_file_put(a->o.store, f, existed, err)) < 0)
    return ret;
  if (*existed) { /* the first record's name and time are the ones that count */
    char id[65];
    memcpy(id, f->id, sizeof(id));
    vd_file_rec_fini(f);
    ret = vd_store_file_get(a->o.store, id, f, err);
  }
  return ret;
}

/* ---- the analysis ---------------------------------------------------------------- */

/* Queues the `duplicates` analysis of the file and waits until it ends. */
static int analyse(struct vd__api_e *e, struct check *c, const char *file_id, char job_id[40],
                   struct vd_err *err) {
  struct vd_api *a = e->a;
  json_t *extra = json_pack("{s:s, s:s}", "link", c->link, "video_id", c->vid);
  char *extra_txt = json_dumps(extra, JSON_COMPACT);
  json_decref(extra);
  const char *names = vd_analysis_find("duplicates") ? "[\"duplicates\"]" : "[\"fingerprint\"]";
  struct vd_job_rec j = {0};
  j.file_id = (char *)file_id;
  j.analyses = (char *)names;
  j.params = "{}";
  j.kind = "e";
  j.extra = extra_txt;
  int ret = vd__api_job_create(a, &j, err);
  free(extra_txt);
  if (ret < 0)
    return ret;
  memcpy(job_id, j.id, 40);
  uint64_t gen = 0;
  double t0 = vd_now();
  for (;;) {
    struct vd_job_rec r;
    if ((ret = vd_store_job_get(a->o.store, job_id, &r, err)) < 0)
      return ret;
    enum vd_job_state st = r.state;
    if (st == VD_JOB_FAILED || st == VD_JOB_CANCELED)
      ret = vd_err_set(err, st == VD_JOB_FAILED ? VD_ERR_NOT_MEDIA : VD_ERR_CANCELED,
                       "the video could not be analysed: %s", r.error ? r.error : "canceled");
    vd_job_rec_fini(&r);
    if (st >= VD_JOB_SUCCEEDED)
      return ret;
    if (__atomic_load_n(&e->stop, __ATOMIC_RELAXED) || vd_now() - t0 > WAIT_MAX)
      return vd_err_set(err, VD_ERR_CANCELED, "the analysis did not end in time");
    vd_jobs_wait(a->o.jobs, &gen, 0.5); /* other nodes' jobs: polled */
  }
}

static json_t *hit_json(const struct vd_dup_hit *h, const struct vd_file_rec *f) {
  char vid[200];
  video_id(f->name, vid, sizeof(vid));
  json_t *m = json_pack("{s:s, s:s, s:s, s:s}", "video_id", vid, "file_id", h->id, "name",
                        f->name ? f->name : "", "verdict", vd_dup_verdict_name(h->match.verdict));
  json_object_set_new(m, "picture",
                      h->match.picture < 0 ? json_null() : json_real(h->match.picture));
  json_object_set_new(m, "sound", h->match.sound < 0 ? json_null() : json_real(h->match.sound));
  json_object_set_new(m, "offset", json_real(h->match.offset));
  json_object_set_new(m, "coverage", json_real(h->match.coverage));
  return m;
}

/* The answer for a file of the library: its matches among files recorded
 * before `self` (NULL = all of them). */
static int answer(struct vd_api *a, const struct vd_file_rec *self, const char *same_bytes_of,
                  json_t **out, struct vd_err *err) {
  struct vd_dup_hit *hits = NULL;
  size_t n = 0;
  int ret = vd_library_matches(a->o.library, self->id, MAX_MATCHES, &hits, &n, err);
  if (ret < 0)
    return ret;
  json_t *matches = json_array();
  const char *dup_for = NULL, *hard = NULL;
  double dup_created = 0;
  char dup_vid[200] = "";
  if (same_bytes_of) {
    json_array_append_new(matches, json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:b}", "video_id",
                                             same_bytes_of, "file_id", self->id, "name",
                                             self->name, "verdict", "duplicate", "picture", 1.0,
                                             "sound", 1.0, "identical", 1));
    dup_for = same_bytes_of;
  }
  for (size_t i = 0; i < n; i++) {
    struct vd_file_rec f = {0};
    if (vd_store_file_get(a->o.store, hits[i].id, &f, NULL) < 0 ||
        (self->created && f.created > self->created)) { /* checked after this one */
      vd_file_rec_fini(&f);
      continue;
    }
    json_array_append_new(matches, hit_json(&hits[i], &f));
    enum vd_dup_verdict v = hits[i].match.verdict;
    if (v == VD_DUP_VERDICT_DUPLICATE && !same_bytes_of && (!dup_for || f.created < dup_created)) {
      video_id(f.name, dup_vid, sizeof(dup_vid)); /* the earliest original */
      dup_for = dup_vid;
      dup_created = f.created;
    } else if (!hard && v == VD_DUP_VERDICT_SAME_PICTURE) {
      hard = "same_picture";
    } else if (!hard && v == VD_DUP_VERDICT_SAME_SOUND) {
      hard = "same_sound";
    }
    vd_file_rec_fini(&f);
  }
  vd_dup_hits_free(hits, n);
  *out = json_pack("{s:b, s:s, s:o, s:o}", "is_duplicate", dup_for != NULL, "duplicate_for",
                   dup_for ? dup_for : "", "hard_case",
                   dup_for || !hard ? json_null() : json_string(hard), "matches", matches);
  return 0;
}

/* One check, on a checker thread: returns the HTTP status, the body in *out. */
static int run_check(struct vd__api_e *e, struct check *c, json_t **out) {
  struct vd_api *a = e->a;
  struct vd_err err = {0};
  struct vd_blob_writer *w = NULL;
  struct vd_file_rec f = {0};
  char job_id[40] = "";
  int existed = 0, ret;
  json_t *body = NULL;
  if ((ret = fetch(e, c, &w, &err)) < 0 || (ret = record_file(a, c, w, &f, &existed, &err)) < 0)
    goto out;
  /* The same bytes already checked under another id: that id is the original. */
  char first[200];
  video_id(f.name, first, sizeof(first));
  struct vd_fingerprint_rec fr = {0};
  int known = existed && vd_store_fingerprint_get(a->o.store, f.id, &fr, NULL) == 0;
  vd_fingerprint_rec_fini(&fr);
  if (!known && (ret = analyse(e, c, f.id, job_id, &err)) < 0)
    goto out;
  ret = answer(a, &f, known && strcmp(first, c->vid) ? first : NULL, &body, &err);
  if (ret == 0) {
    json_object_set_new(body, "video_id", json_string(c->vid));
    json_object_set_new(body, "file_id", json_string(f.id));
    if (job_id[0])
      json_object_set_new(body, "analysis_id", json_string(job_id));
  }
out:
  vd_file_rec_fini(&f);
  if (ret == 0) {
    *out = body;
    return 200;
  }
  VD_INFO("compat E: %s: %s", c->link, vd_err_msg(&err, ret));
  *out = json_pack("{s:s, s:s}", "error", vd_err_msg(&err, ret), "link", c->link);
  /* Bad links, unreachable ones and non-videos are the client's (400);
   * a stop or a wait past WAIT_MAX is not; nor is a failing disk or store. */
  if (ret == VD_ERR_CANCELED)
    return __atomic_load_n(&e->stop, __ATOMIC_RELAXED) ? 503 : 504;
  return ret >= VD_ERR_FIRST && ret < VD_ERR_INTERNAL ? 400 : 500;
}

static void *checker_main(void *arg) {
  struct vd__api_e *e = arg;
  pthread_mutex_lock(&e->mu);
  while (!e->stop) {
    struct check *c = e->head;
    if (!c) {
      pthread_cond_wait(&e->work, &e->mu);
      continue;
    }
    e->head = c->next;
    if (!e->head)
      e->tail = NULL;
    e->queued--;
    pthread_mutex_unlock(&e->mu);
    json_t *body = NULL;
    int status = run_check(e, c, &body);
    pthread_mutex_lock(&e->mu);
    c->status = status;
    c->body = body;
    pthread_cond_broadcast(&e->done);
    pthread_mutex_unlock(&e->mu);
    check_unref(e, c);
    pthread_mutex_lock(&e->mu);
  }
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

static struct vd__api_e *e_new(struct vd_api *a) {
  struct vd__api_e *e = vd_xcalloc(1, sizeof(*e));
  e->a = a;
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->work, NULL);
  pthread_cond_init(&e->done, NULL);
  return e;
}

/* The checkers, started on the first check. */
static struct vd__api_e *checkers(struct vd_api *a) {
  pthread_mutex_lock(&start_mu);
  if (!a->e) {
    struct vd__api_e *e = e_new(a);
    for (int i = 0; i < NCHECKERS; i++)
      if (!pthread_create(&e->threads[e->nthreads], NULL, checker_main, e))
        e->nthreads++;
    a->e = e;
  }
  pthread_mutex_unlock(&start_mu);
  return a->e->nthreads ? a->e : NULL;
}


void vd_api_stop(struct vd_api *a) {
  pthread_mutex_lock(&start_mu);
  if (!a->e)
    a->e = e_new(a); /* stopped before the first check: none will start */
  struct vd__api_e *e = a->e;
  pthread_mutex_unlock(&start_mu);
  pthread_mutex_lock(&e->mu);
  int joined = e->stop == 2;
  __atomic_store_n(&e->stop, 1, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&e->work);
  pthread_cond_broadcast(&e->done);
  pthread_mutex_unlock(&e->mu);
  if (joined)
    return;
  for (int i = 0; i < e->nthreads; i++)
    pthread_join(e->threads[i], NULL);
  pthread_mutex_lock(&e->mu);
  __atomic_store_n(&e->stop, 2, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&e->mu);
}

void vd__api_e_free(struct vd__api_e *e) {
  if (!e)
    return;
  vd_api_stop(e->a);
  while (e->head) { /* never started: nobody waits any more (the server stopped) */
    struct check *c = e->head;
    e->head = c->next;
    json_decref(c->body);
    free(c);
  }
  pthread_cond_destroy(&e->work);
  pthread_cond_destroy(&e->done);
  pthread_mutex_destroy(&e->mu);
  free(e);
}

/* ---- handlers ----------------------------------------------------------------- */

void vd__api_e_check(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  struct vd_err err = {0};
  size_t len;
  const char *body = vd_http_body(r, &len);
  json_t *req = json_loadb(body, len, 0, NULL);
  const char *link = json_string_value(json_object_get(req, "link"));
  if (!link)
    link = json_string_value(json_object_get(req, "url"));
  if (!json_is_object(req) || !link) {
    json_decref(req);
    vd_http_error(r, 400, NULL, "send a JSON object {\"link\": \"https://.../<id>.mp4\"}");
    return;
  }
  struct check *c = vd_xcalloc(1, sizeof(*c));
  int ret = vd__api_e_parse_link(link, c->name, sizeof(c->name), c->vid, sizeof(c->vid), &err);
  if (ret == 0)
    snprintf(c->link, sizeof(c->link), "%s", link);
  json_decref(req);
  if (ret < 0) {
    free(c);
    vd_http_error(r, 400, NULL, "%s", vd_err_msg(&err, ret));
    return;
  }
  struct vd__api_e *e = a->o.library ? checkers(a) : NULL;
  if (!e) {
    free(c);
    vd_http_error(r, 503, NULL, "the duplicate check is not available on this server");
    return;
  }
  pthread_mutex_lock(&e->mu);
  if (e->queued >= QUEUE_MAX || e->stop) {
    pthread_mutex_unlock(&e->mu);
    free(c);
    vd_http_add_header(r, "Retry-After", "10");
    vd_http_error(r, 503, NULL, "too many duplicate checks waiting; try again later");
    return;
  }
  c->refs = 2;
  if (e->tail)
    e->tail->next = c;
  else
    e->head = c;
  e->tail = c;
  e->queued++;
  pthread_cond_signal(&e->work);
  /* This connection's own thread waits, as an SSE stream does (see top). */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += (time_t)WAIT_MAX + 60;
  while (!c->status && !e->stop)
    if (pthread_cond_timedwait(&e->done, &e->mu, &ts))
      break;
  int status = c->status;
  json_t *ans = c->body; /* taken, not shared: jansson's counts are not for threads */
  c->body = NULL;
  int stopping = e->stop;
  pthread_mutex_unlock(&e->mu);
  check_unref(e, c);
  if (status)
    vd_http_json(r, status, ans);
  else if (stopping)
    vd_http_error(r, 503, NULL, "the server is shutting down; check again later");
  else
    vd_http_error(r, 504, NULL, "the duplicate check did not end in time");
}

void vd__api_files_duplicates(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  char id[65];
  if (vd__api_resolve(a, r, vd_http_param(r, 0), 0, 0, id) < 0)
    return;
  if (!a->o.library) {
    vd_http_error(r, 503, NULL, "the duplicate check is not available on this server");
    return;
  }
  struct vd_file_rec self = {0};
  struct vd_err err = {0};
  json_t *body = NULL;
  int ret = vd_store_file_get(a->o.store, id, &self, &err);
  if (ret == 0) {
    self.created = 0; /* every match, earlier or later */
    ret = answer(a, &self, NULL, &body, &err);
  }
  vd_file_rec_fini(&self);
  if (ret == VD_ERR_NOT_FOUND)
    vd_http_error(r, 404, NULL, "%s (run the `fingerprint` or `duplicates` analysis first)",
                  vd_err_msg(&err, ret));
  else if (ret < 0)
    vd_http_error(r, 500, NULL, "%s", vd_err_msg(&err, ret));
  else {
    json_object_set_new(body, "file_id", json_string(id));
    vd_http_json(r, 200, body);
  }
}
