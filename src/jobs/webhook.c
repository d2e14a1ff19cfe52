/*
 * webhook.c: delivers job-end notifications over HTTP from one thread.
 *
 * DESIGN
 * - vd_webhooks_post() only appends to an in-memory queue and signals; the
 *   delivery thread does the network I/O, so a slow or dead receiver never
 *   holds up a worker.
 * - A failed delivery (transport error or a non-2xx status) is retried after
 *   backoff, 2*backoff, 4*backoff ... seconds, up to max_tries, then dropped
 *   with a warning. Due times are kept per item; the thread sleeps until the
 *   earliest one.
 * - Only http and https are allowed (no file://, no redirects to other
 *   schemes), with short timeouts, and the queue is capped.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "jobs/jobs.h"

#define QUEUE_MAX 1024

struct item {
  struct item *next;
  char *url, *body;
  int tries;
  double due; /* monotonic seconds */
};

struct vd_webhooks {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct item *head;
  int n, stop, max_tries;
  double backoff;
  uint64_t ok, failed;
};

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

static int deliver(const struct item *it) {
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
  if (rc != CURLE_OK) {
    VD_WARN("webhook %s: %s", it->url, curl_easy_strerror(rc));
    return -1;
  }
  if (status < 200 || status > 299) {
    VD_WARN("webhook %s: HTTP %ld", it->url, status);
    return -1;
  }
  return 0;
}

static void *thread_main(void *arg) {
  struct vd_webhooks *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->stop) {
    /* The earliest due item. */
    struct item **pp = NULL;
    for (struct item **p = &w->head; *p; p = &(*p)->next)
      if (!pp || (*p)->due < (*pp)->due)
        pp = p;
    double now = vd_now();
    if (!pp || (*pp)->due > now) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      double wait = pp ? (*pp)->due - now : 1.0;
      if (wait > 1.0)
        wait = 1.0;
      long ns = ts.tv_nsec + (long)(wait * 1e9);
      ts.tv_sec += ns / 1000000000L;
      ts.tv_nsec = ns % 1000000000L;
      pthread_cond_timedwait(&w->cv, &w->mu, &ts);
      continue;
    }
    struct item *it = *pp;
    *pp = it->next;
    w->n--;
    pthread_mutex_unlock(&w->mu);
    int ok = deliver(it) == 0;
    pthread_mutex_lock(&w->mu);
    it->tries++;
    if (ok || it->tries >= w->max_tries) {
      if (ok)
        w->ok++;
      else {
        w->failed++;
        VD_WARN("webhook %s: giving up after %d tries", it->url, it->tries);
      }
      free(it->url);
      free(it->body);
      free(it);
      continue;
    }
    double delay = w->backoff;
    for (int i = 1; i < it->tries; i++)
      delay *= 2;
    it->due = vd_now() + delay;
    it->next = w->head;
    w->head = it;
    w->n++;
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int vd_webhooks_start(struct vd_webhooks **out, int max_tries, double backoff,
                      struct vd_err *err) {
  struct vd_webhooks *w = vd_xcalloc(1, sizeof(*w));
  *out = NULL;
  w->max_tries = max_tries > 0 ? max_tries : 5;
  w->backoff = backoff > 0 ? backoff : 1.0;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  if (pthread_create(&w->thread, NULL, thread_main, w)) {
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
  while (w->head) {
    struct item *it = w->head;
    w->head = it->next;
    free(it->url);
    free(it->body);
    free(it);
  }
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
}

void vd_webhooks_post(struct vd_webhooks *w, const char *url, const char *body) {
  if (!vd_webhook_url_valid(url))
    return;
  pthread_mutex_lock(&w->mu);
  if (w->n >= QUEUE_MAX) {
    w->failed++;
    pthread_mutex_unlock(&w->mu);
    VD_WARN("webhook queue full: dropping delivery to %s", url);
    return;
  }
  struct item *it = vd_xcalloc(1, sizeof(*it));
  it->url = vd_xstrdup(url);
  it->body = vd_xstrdup(body);
  it->due = vd_now();
  it->next = w->head;
  w->head = it;
  w->n++;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

void vd_webhooks_counts(struct vd_webhooks *w, uint64_t *ok, uint64_t *failed) {
  pthread_mutex_lock(&w->mu);
  *ok = w->ok;
  *failed = w->failed;
  pthread_mutex_unlock(&w->mu);
}
