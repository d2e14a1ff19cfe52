/*
 * test_webhook.c: the webhook delivery thread against a real store and a
 * small HTTP receiver in this process: a delivery recorded by a job's finish
 * is POSTed and removed; a failing receiver gets retries with backoff, and
 * the attempt count carries over from a previous process; a dead receiver
 * is given up after max_tries; stopping leaves pending deliveries stored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../helpers/testutil.h"
#include "core/util.h"
#include "jobs/jobs.h"

#define FID "5555555555555555555555555555555555555555555555555555555555555555"

/* ---- receiver: answers `fail_first` requests with 500, then 200 ------------- */

struct receiver {
  int fd, port, fail_first;
  atomic_int stop, calls;
  char last_body[1024];
  pthread_mutex_t mu;
  pthread_t thread;
};

static void serve_one(struct receiver *r, int c) {
  char buf[8192];
  size_t len = 0;
  char *end = NULL;
  while (len < sizeof(buf) - 1) { /* headers, then Content-Length bytes */
    struct pollfd p = {c, POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0)
      break;
    ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
    buf[len] = '\0';
    if ((end = strstr(buf, "\r\n\r\n"))) {
      const char *cl = strstr(buf, "Content-Length: ");
      size_t want = cl ? (size_t)strtol(cl + 16, NULL, 10) : 0;
      if (len >= (size_t)(end + 4 - buf) + want)
        break;
    }
  }
  int k = atomic_fetch_add(&r->calls, 1) + 1;
  if (end) {
    pthread_mutex_lock(&r->mu);
    snprintf(r->last_body, sizeof(r->last_body), "%s", end + 4);
    pthread_mutex_unlock(&r->mu);
  }
  const char *resp = k <= r->fail_first
                         ? "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                         : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  if (write(c, resp, strlen(resp)) < 0)
    perror("write");
  close(c);
}

static void *receiver_main(void *arg) {
  struct receiver *r = arg;
  while (!atomic_load(&r->stop)) {
    struct pollfd p = {r->fd, POLLIN, 0};
    if (poll(&p, 1, 50) == 1) {
      int c = accept(r->fd, NULL, NULL);
      if (c >= 0)
        serve_one(r, c);
    }
  }
  return NULL;
}

static void receiver_start(struct receiver *r, int fail_first) {
  memset(r, 0, sizeof(*r));
  r->fail_first = fail_first;
  pthread_mutex_init(&r->mu, NULL);
  r->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(r->fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(r->fd, 8), 0);
  assert_int_equal(getsockname(r->fd, (struct sockaddr *)&a, &al), 0);
  r->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&r->thread, NULL, receiver_main, r), 0);
}

static void receiver_stop(struct receiver *r) {
  atomic_store(&r->stop, 1);
  pthread_join(r->thread, NULL);
  close(r->fd);
  pthread_mutex_destroy(&r->mu);
}

/* A port nothing listens on: bound, then closed. */
static int dead_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  close(fd);
  return ntohs(a.sin_port);
}

/* ---- store helpers ------------------------------------------------------------ */

static struct vd_store *open_db(const char *name) {
  struct vd_store *s = NULL;
  assert_int_equal(vd_store_open(&s, vd_test_path(name), NULL), 0);
  struct vd_file_rec f = {0};
  snprintf(f.id, sizeof(f.id), "%s", FID);
  f.size = 1;
  assert_int_equal(vd_store_file_put(s, &f, NULL, NULL), 0);
  return s;
}

static double wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs job `id` to success at `when`, which records its delivery to `url`. */
static void finished_job(struct vd_store *s, const char *id, const char *url, double when) {
  struct vd_job_rec j = {0};
  snprintf(j.id, sizeof(j.id), "%s", id);
  j.file_id = FID;
  j.webhook = (char *)url;
  assert_int_equal(vd_store_job_create(s, &j, NULL), 0);
  assert_int_equal(vd_store_job_claim(s, "w", wall(), 30, &j, NULL), 1);
  assert_string_equal(j.id, id);
  vd_job_rec_fini(&j);
  assert_int_equal(
      vd_store_job_finish(s, id, "w", VD_JOB_SUCCEEDED, "{}", NULL, NULL, 0, when, NULL), 0);
}

static int64_t pending(struct vd_store *s) {
  int64_t n = -1;
  assert_int_equal(vd_store_webhook_count(s, &n, NULL), 0);
  return n;
}

/* Waits up to `secs` for no delivery to be pending. */
static int drained(struct vd_store *s, double secs) {
  for (double t = 0; t < secs; t += 0.01) {
    if (pending(s) == 0)
      return 1;
    usleep(10000);
  }
  return 0;
}

static char *url_for(int port) { return vd_xasprintf("http://127.0.0.1:%d/hook", port); }

/* ---- tests -------------------------------------------------------------------- */

static void test_delivers_after_retry(void **state) {
  (void)state;
  struct vd_store *s = open_db("retry.db");
  struct receiver r;
  struct vd_webhooks *w;
  uint64_t ok, failed;
  receiver_start(&r, 1);
  char *url = url_for(r.port);
  finished_job(s, "job-ok", url, wall());
  double t0 = vd_now();
  assert_int_equal(vd_webhooks_start(&w, s, 5, 0.2, NULL), 0);
  assert_true(drained(s, 5));
  double took = vd_now() - t0;
  assert_int_equal(atomic_load(&r.calls), 2); /* one 500, then the 200 */
  assert_true(took >= 0.2);                   /* the backoff was waited */
  pthread_mutex_lock(&r.mu);
  assert_non_null(strstr(r.last_body, "\"id\":\"job-ok\""));
  assert_non_null(strstr(r.last_body, "\"status\":\"succeeded\""));
  pthread_mutex_unlock(&r.mu);
  vd_webhooks_counts(w, &ok, &failed);
  assert_int_equal(ok, 1);
  assert_int_equal(failed, 0);

  /* A job that ends while the thread runs goes out when it is woken, well
   * before the 1 s poll. */
  usleep(50000);
  finished_job(s, "job-woken", url, wall());
  t0 = vd_now();
  vd_webhooks_wake(w);
  assert_true(drained(s, 5));
  assert_true(vd_now() - t0 < 0.9);
  assert_int_equal(atomic_load(&r.calls), 3);
  vd_webhooks_stop(w);
  receiver_stop(&r);
  free(url);
  vd_store_free(s);
}

static void test_attempts_carry_over_and_give_up(void **state) {
  (void)state;
  struct vd_store *s = open_db("giveup.db");
  struct receiver r;
  struct vd_webhooks *w;
  struct vd_webhook_rec h;
  double next;
  uint64_t ok, failed;
  receiver_start(&r, 1000); /* always 500 */
  char *url = url_for(r.port);
  /* Two tries were made by an earlier process before it stopped. */
  finished_job(s, "job-tired", url, 10);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(vd_store_webhook_claim(s, 20 + i, 30, &h, &next, NULL), 1);
    assert_int_equal(vd_store_webhook_retry(s, h.id, 20 + i + 0.5, "HTTP 500", NULL), 0);
    vd_webhook_rec_fini(&h);
  }
  assert_int_equal(vd_webhooks_start(&w, s, 3, 0.05, NULL), 0);
  assert_true(drained(s, 5));
  assert_int_equal(atomic_load(&r.calls), 1); /* only the third and last try */
  vd_webhooks_counts(w, &ok, &failed);
  assert_int_equal(ok, 0);
  assert_int_equal(failed, 1);
  vd_webhooks_stop(w);
  receiver_stop(&r);
  free(url);

  /* Nobody listening: 3 tries with backoff, then given up. */
  url = url_for(dead_port());
  finished_job(s, "job-dead", url, wall());
  double t0 = vd_now();
  assert_int_equal(vd_webhooks_start(&w, s, 3, 0.05, NULL), 0);
  assert_true(drained(s, 5));
  assert_true(vd_now() - t0 >= 0.05 + 0.1);
  vd_webhooks_counts(w, &ok, &failed);
  assert_int_equal(failed, 1);
  vd_webhooks_stop(w);
  free(url);
  vd_store_free(s);
}

static void test_stop_keeps_pending(void **state) {
  (void)state;
  struct vd_store *s = open_db("stop.db");
  struct vd_webhooks *w;
  char *url = url_for(dead_port());
  finished_job(s, "job-later", url, wall() + 3600); /* due in an hour */
  assert_int_equal(vd_webhooks_start(&w, s, 5, 1, NULL), 0);
  usleep(100000);
  vd_webhooks_stop(w);
  assert_int_equal(pending(s), 1);
  free(url);
  vd_store_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_delivers_after_retry),
      cmocka_unit_test(test_attempts_carry_over_and_give_up),
      cmocka_unit_test(test_stop_keeps_pending),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
