/*
 * webhook.c: delivers job-end notifications over HTTP from one thread.
 *
 * DESIGN
 * - The queue is the store's webhooks table: a delivery is recorded in the
 *   transaction that ends its job, so nothing pending is lost when the
 *   process dies or restarts. This thread claims the delivery due longest
 *   (vd_store_webhook_claim), POSTs it, and deletes it on a 2xx answer.
 * - A failed try (transport error or a non-2xx status) is rescheduled after
 *   backoff, 2*backoff, 4*backoff ... seconds, counted from the try, up to
 *   max_tries, then deleted with a warning. Attempts live in the row, so a
 *   restart continues the schedule instead of starting it again.
 * - A claim moves the row's next_at DELIVERY_LEASE seconds ahead: if the
 *   process dies mid-POST, the delivery is tried again after that, and no
 *   other thread or node sends it meanwhile. A POST that reached the
 *   receiver just before a crash is sent again: delivery is at least once.
 * - vd_webhooks_wake() only signals; the thread otherwise sleeps until the
 *   earliest due time, at most POLL seconds (deliveries another node or an
 *   expired lease recorded do not wake it). Workers never wait on it.
 * - Only http and https are allowed (no file://, no redirects to other
 *   schemes), with short timeouts.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "jobs/jobs.h"

#define POLL 1.0            /* seconds between looks at the store when idle */
#define DELIVERY_LEASE 30.0 /* seconds a claimed delivery is ours: > the 10 s timeout */

struct vd_webhooks {
  struct vd_store *store;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop, woken, max_tries;
  double backoff;
  uint64_t ok, failed;
};

static double now_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int vd_webhook_url_valid(const char *url) {
  if (!url || strlen(url) > 2048)
    return 0;
  if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
    return 0;
  for (const char *p = url; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f)
      return 0;
  return 1;
}

static size_t discard(char *p, size_t size, size_t n, void *u) {
  (void)p;
  (void)u;
  return size * n;
}

/* POSTs the payload once; on failure `why` receives the reason. */
static int deliver(const struct vd_webhook_rec *it, char *why, size_t len) {
  CURL *c = curl_easy_init();
  if (!c)
    return -1;
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, it->url);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, it->body);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "vidan/" VD_VERSION);
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK)
    snprintf(why, len, "%s", curl_easy_strerror(rc));
  else if (status < 200 || status > 299)
    snprintf(why, len, "HTTP %ld", status);
  else
    return 0;
  VD_WARN("webhook %s: %s", it->url, why);
  return -1;
}

/* One try of a claimed delivery, then its row is deleted or rescheduled. */
static void attempt(struct vd_webhooks *w, const struct vd_webhook_rec *h) {
  struct vd_err err = {0};
  char why[160] = "not an http(s) URL";
  int ret, ok = vd_webhook_url_valid(h->url) && deliver(h, why, sizeof(why)) == 0;
  int give_up = !ok && h->attempts >= w->max_tries;
  /* Counted before the row goes, so whoever sees it gone sees the count. */
  pthread_mutex_lock(&w->mu);
  w->ok += ok;
  w->failed += give_up;
  pthread_mutex_unlock(&w->mu);
  if (give_up)
    VD_WARN("webhook %s for %s: giving up after %d tries", h->url, h->job_id, h->attempts);
  if (ok || give_up) {
    ret = vd_store_webhook_delete(w->store, h->id, &err);
  } else {
    double delay = w->backoff;
    for (int i = 1; i < h->attempts && delay < 86400; i++)
      delay *= 2;
    ret = vd_store_webhook_retry(w->store, h->id, now_wall() + delay, why, &err);
  }
  if (ret < 0) /* the row stays claimed; its lease brings it back */
    VD_WARN("webhook %s: %s", h->url, vd_err_msg(&err, ret));
}

static void *thread_main(void *arg) {
  struct vd_webhooks *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->stop) {
    w->woken = 0; /* a wake from here on is seen by the wait below */
    pthread_mutex_unlock(&w->mu);
    struct vd_webhook_rec h;
    struct vd_err err = {0};
    double next = 0, now = now_wall();
    int got = vd_store_webhook_claim(w->store, now, DELIVERY_LEASE, &h, &next, &err);
    if (got == 1) {
      attempt(w, &h);
      vd_webhook_rec_fini(&h);
      pthread_mutex_lock(&w->mu);
      continue;
    }
    if (got < 0)
      VD_WARN("webhooks: cannot read pending deliveries: %s", vd_err_msg(&err, got));
    double wait = got == 0 && next > 0 && next - now < POLL ? next - now : POLL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long ns = ts.tv_nsec + (long)((wait > 0 ? wait : 0) * 1e9);
    ts.tv_sec += ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    pthread_mutex_lock(&w->mu);
    if (!w->stop && !w->woken)
      pthread_cond_timedwait(&w->cv, &w->mu, &ts);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int vd_webhooks_start(struct vd_webhooks **out, struct vd_store *store, int max_tries,
                      double backoff, struct vd_err *err) {
  struct vd_webhooks *w = vd_xcalloc(1, sizeof(*w));
  *out = NULL;
  w->store = store;
  w->max_tries = max_tries > 0 ? max_tries : 5;
  w->backoff = backoff > 0 ? backoff : 1.0;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  if (pthread_create(&w->thread, NULL, thread_main, w)) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    return vd_err_set(err, VD_ERR_INTERNAL, "cannot start webhook thread");
  }
  *out = w;
  return 0;
}

void vd_webhooks_stop(struct vd_webhooks *w) {
  if (!w)
    return;
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
}

void vd_webhooks_wake(struct vd_webhooks *w) {
  pthread_mutex_lock(&w->mu);
  w->woken = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

void vd_webhooks_counts(struct vd_webhooks *w, uint64_t *ok, uint64_t *failed) {
  pthread_mutex_lock(&w->mu);
  *ok = w->ok;
  *failed = w->failed;
  pthread_mutex_unlock(&w->mu);
}
