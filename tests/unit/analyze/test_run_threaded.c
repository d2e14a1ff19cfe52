/*
 * test_run_threaded: the runner's threaded analyses (def->threaded). Two
 * test analyses with the same subscription, one on the decode thread and
 * one on a worker, over one generated video: the worker must see exactly
 * the same frames (index, time, size, pixels, and a second view asked for
 * inside the callback) in the same order, even when it is slow enough to
 * fill its queue. The same for audio: a threaded and a plain analysis get
 * the same chunks (times, sizes, samples). A worker's error fails the run with its own message and
 * frame; a warning from the worker reaches the result; a cancel from
 * another thread stops a run whose worker is slow, promptly.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "../helpers/testutil.h"
#include "analyze/analyze.h"
#include "core/util.h"

#define MAXF 256

struct seen {
  int n;
  int64_t index[MAXF];
  double time[MAXF];
  uint32_t sum[MAXF], sum2[MAXF]; /* subscribed view, and a second view */
  int w[MAXF], h[MAXF];
};

/* FNV-1a over the visible pixels of one plane. */
static uint32_t plane_hash(const struct vd_frame *f, int bpp) {
  uint32_t h = 2166136261u;
  for (int y = 0; y < f->height; y++)
    for (int x = 0; x < f->width * bpp; x++) {
      h ^= f->data[0][(size_t)y * (size_t)f->linesize[0] + (size_t)x];
      h *= 16777619u;
    }
  return h;
}

static const struct vd_param_def t_params[] = {
    {"fps", VD_PARAM_NUM, "0", 0, 100, NULL, "sampling rate, 0 = every frame"},
    {"delay_ms", VD_PARAM_NUM, "0", 0, 1000, NULL, "work per frame"},
    {"fail_at", VD_PARAM_INT, "-1", -1, 100000, NULL, "frame index that fails"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

struct priv {
  struct seen *out;
  double delay;
  long long fail_at;
};

static struct seen seen_sync, seen_thr;

static int t_init(struct vd_actx *c) {
  struct priv *p = vd_actx_priv(c);
  p->delay = vd_actx_num(c, "delay_ms") / 1000.0;
  p->fail_at = vd_actx_int(c, "fail_at");
  return vd_actx_want_video(c, &(struct vd_video_want){.fps = vd_actx_num(c, "fps"),
                                                       .max_side = 96, .fmt = VD_PIX_GRAY8});
}

static int t_video(struct vd_actx *c, const struct vd_frame *f) {
  struct priv *p = vd_actx_priv(c);
  struct seen *s = p->out;
  if (f->index == p->fail_at)
    return vd_err_set(vd_actx_err(c), VD_ERR_CORRUPT, "boom at frame %lld", (long long)f->index);
  if (f->index == 3)
    vd_actx_warn(c, "frame 3 seen");
  if (p->delay > 0) {
    struct timespec ts = {0, (long)(p->delay * 1e9)};
    nanosleep(&ts, NULL);
  }
  struct vd_frame rgb;
  if (vd_frame_view(f, &(struct vd_video_want){.width = 40, .height = 30, .fmt = VD_PIX_RGB24},
                    &rgb) != 0)
    return vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL, "no second view");
  if (s->n < MAXF) {
    s->index[s->n] = f->index;
    s->time[s->n] = f->time;
    s->w[s->n] = f->width;
    s->h[s->n] = f->height;
    s->sum[s->n] = plane_hash(f, 1);
    s->sum2[s->n] = plane_hash(&rgb, 3);
    s->n++;
  }
  return 0;
}

static int t_finish(struct vd_actx *c, json_t **result) {
  struct priv *p = vd_actx_priv(c);
  *result = json_pack("{s:i}", "frames", p->out->n);
  return 0;
}

static int sync_init(struct vd_actx *c) {
  ((struct priv *)vd_actx_priv(c))->out = &seen_sync;
  return t_init(c);
}

static int thr_init(struct vd_actx *c) {
  ((struct priv *)vd_actx_priv(c))->out = &seen_thr;
  return t_init(c);
}

static const struct vd_analysis_def def_sync = {
    .name = "t_sync", .summary = "test", .params = t_params, .priv_size = sizeof(struct priv),
    .init = sync_init, .video = t_video, .finish = t_finish};
static const struct vd_analysis_def def_thr = {
    .name = "t_thr", .summary = "test", .params = t_params, .priv_size = sizeof(struct priv),
    .init = thr_init, .video = t_video, .finish = t_finish, .threaded = 1};

/* ---- audio twins ---- */

struct aseen {
  int n;
  double first_time, last_time;
  int64_t samples;
  uint64_t hash;
};
static struct aseen aseen_sync, aseen_thr;

static int a_init_common(struct vd_actx *c, struct aseen *s) {
  *(struct aseen **)vd_actx_priv(c) = s;
  return vd_actx_want_audio(c, &(struct vd_audio_want){.sample_rate = 16000, .mono = 1});
}
static int a_sync_init(struct vd_actx *c) { return a_init_common(c, &aseen_sync); }
static int a_thr_init(struct vd_actx *c) { return a_init_common(c, &aseen_thr); }

static int a_audio(struct vd_actx *c, const struct vd_audio_chunk *a) {
  struct aseen *s = *(struct aseen **)vd_actx_priv(c);
  if (s->n++ == 0)
    s->first_time = a->time;
  s->last_time = a->time;
  s->samples += a->nb_samples;
  for (int i = 0; i < a->nb_samples * a->channels; i++) {
    uint32_t bits;
    memcpy(&bits, &a->samples[i], 4);
    s->hash = (s->hash ^ bits) * 1099511628211ull;
  }
  return 0;
}

static int a_finish(struct vd_actx *c, json_t **result) {
  *result = json_true();
  return 0;
}

static const struct vd_analysis_def def_async = {
    .name = "a_sync", .summary = "test", .priv_size = sizeof(void *), .init = a_sync_init,
    .audio = a_audio, .finish = a_finish};
static const struct vd_analysis_def def_athr = {
    .name = "a_thr", .summary = "test", .priv_size = sizeof(void *), .init = a_thr_init,
    .audio = a_audio, .finish = a_finish, .threaded = 1};
static const struct vd_analysis_def *const extra[] = {&def_sync, &def_thr, &def_async, &def_athr,
                                                      NULL};

static const char *video(void) {
  static const char *p;
  if (!p) {
    p = vd_test_path("v.mp4");
    assert_int_equal(vd_test_ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25:duration=4 "
                                    "-f lavfi -i sine=frequency=440:sample_rate=44100:duration=4 "
                                    "-c:v libx264 -bf 3 -pix_fmt yuv420p -c:a aac %s", p), 0);
  }
  return p;
}

/* The same video rotated 90 degrees for display and with non-square pixels
 * (SAR 4:3): a held frame must carry that geometry to its worker. */
static const char *video_rotated(void) {
  static const char *p;
  if (!p) {
    const char *anamorphic = vd_test_path("ana.mp4");
    assert_int_equal(vd_test_ffmpeg("-i %s -c copy -aspect 16:9 %s", video(), anamorphic), 0);
    p = vd_test_path("rot.mp4");
    assert_int_equal(vd_test_ffmpeg("-i %s -c copy -metadata:s:v:0 rotate=90 %s", anamorphic, p), 0);
  }
  return p;
}

static const char *input_path;

static int run(const char *const *names, size_t n, json_t *params, json_t **result,
               struct vd_err *err, struct vd_run **keep) {
  struct vd_run_opts o = {.input = input_path ? input_path : video(), .analyses = names, .n_analyses = n,
                          .params = params, .extra = extra};
  struct vd_run *r = NULL;
  int ret = vd_run_new(&r, &o, err);
  if (ret == 0) {
    if (keep)
      *keep = r;
    ret = vd_run_exec(r, result, err);
    if (keep)
      *keep = NULL;
  }
  vd_run_free(r);
  return ret;
}

static void compare(void) {
  assert_true(seen_sync.n > 0);
  assert_int_equal(seen_thr.n, seen_sync.n);
  for (int i = 0; i < seen_sync.n; i++) {
    assert_int_equal(seen_thr.index[i], seen_sync.index[i]);
    assert_true(seen_thr.time[i] == seen_sync.time[i]);
    assert_int_equal(seen_thr.w[i], seen_sync.w[i]);
    assert_int_equal(seen_thr.h[i], seen_sync.h[i]);
    assert_int_equal(seen_thr.sum[i], seen_sync.sum[i]);
    assert_int_equal(seen_thr.sum2[i], seen_sync.sum2[i]);
  }
}

/* Every frame, and a slow worker that fills its queue: same frames, same pixels. */
static void test_same_frames(void **state) {
  const char *names[] = {"t_sync", "t_thr"};
  for (int slow = 0; slow < 2; slow++) {
    memset(&seen_sync, 0, sizeof(seen_sync));
    memset(&seen_thr, 0, sizeof(seen_thr));
    json_t *params = json_pack("{s:{s:f}}", "t_thr", "delay_ms", slow ? 3.0 : 0.0);
    json_t *res = NULL;
    struct vd_err err = {0};
    assert_int_equal(run(names, 2, params, &res, &err, NULL), 0);
    assert_int_equal(seen_sync.n, 100); /* 4 s at 25 fps */
    compare();
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(res, "results"), "t_thr"), "frames")),
                     100);
    /* the worker's warning made it into the result, exactly once */
    json_t *warn = json_object_get(res, "warnings");
    int found = 0;
    for (size_t i = 0; i < json_array_size(warn); i++)
      found += !strcmp(json_string_value(json_array_get(warn, i)), "t_thr: frame 3 seen");
    assert_int_equal(found, 1);
    json_decref(res);
    json_decref(params);
  }
  /* rotated, anamorphic: same frames, and they are upright (taller than wide) */
  input_path = video_rotated();
  memset(&seen_sync, 0, sizeof(seen_sync));
  memset(&seen_thr, 0, sizeof(seen_thr));
  json_t *res = NULL;
  struct vd_err err = {0};
  assert_int_equal(run(names, 2, NULL, &res, &err, NULL), 0);
  input_path = NULL;
  compare();
  assert_true(seen_thr.h[0] > seen_thr.w[0]);
  json_decref(res);
}

/* Sampling (5 fps, where the decoder may skip unreferenced frames): both
 * still see the same frames, about 5 per second, in time order. */
static void test_sampled(void **state) {
  const char *names[] = {"t_sync", "t_thr"};
  memset(&seen_sync, 0, sizeof(seen_sync));
  memset(&seen_thr, 0, sizeof(seen_thr));
  json_t *params = json_pack("{s:{s:f},s:{s:f}}", "t_sync", "fps", 5.0, "t_thr", "fps", 5.0);
  json_t *res = NULL;
  struct vd_err err = {0};
  assert_int_equal(run(names, 2, params, &res, &err, NULL), 0);
  compare();
  assert_in_range(seen_sync.n, 19, 21);
  for (int i = 1; i < seen_sync.n; i++) {
    double gap = seen_sync.time[i] - seen_sync.time[i - 1];
    assert_true(gap > 0.1 && gap < 0.3);
  }
  json_decref(res);
  json_decref(params);
}

/* Audio beside video: the threaded audio analysis gets the same chunks,
 * in the same order, as the plain one, while a threaded video analysis
 * shares the pass. */
static void test_audio(void **state) {
  const char *names[] = {"a_sync", "a_thr", "t_thr"};
  memset(&aseen_sync, 0, sizeof(aseen_sync));
  memset(&aseen_thr, 0, sizeof(aseen_thr));
  memset(&seen_thr, 0, sizeof(seen_thr));
  json_t *res = NULL;
  struct vd_err err = {0};
  assert_int_equal(run(names, 3, NULL, &res, &err, NULL), 0);
  assert_true(aseen_sync.n > 10);
  assert_int_equal(aseen_thr.n, aseen_sync.n);
  assert_int_equal(aseen_thr.samples, aseen_sync.samples);
  assert_true(aseen_sync.samples > 16000 * 3.9 && aseen_sync.samples < 16000 * 4.1);
  assert_true(aseen_thr.first_time == aseen_sync.first_time);
  assert_true(aseen_thr.last_time == aseen_sync.last_time);
  assert_true(aseen_thr.hash == aseen_sync.hash);
  assert_int_equal(seen_thr.n, 100);
  json_decref(res);
}

/* A worker's failure is the run's, with the analysis's own message. */
static void test_worker_error(void **state) {
  const char *names[] = {"t_thr"};
  for (int at = 0; at < 2; at++) {
    memset(&seen_thr, 0, sizeof(seen_thr));
    /* early (the decode thread must stop) and on the very last frame (the
     * pass is over when the worker fails) */
    json_t *params = json_pack("{s:{s:i}}", "t_thr", "fail_at", at ? 99 : 10);
    json_t *res = NULL;
    struct vd_err err = {0};
    int ret = run(names, 1, params, &res, &err, NULL);
    assert_int_equal(ret, VD_ERR_CORRUPT);
    assert_null(res);
    char want[64];
    snprintf(want, sizeof(want), "t_thr: boom at frame %d", at ? 99 : 10);
    if (!strstr(err.msg, want))
      fail_msg("error '%s' lacks '%s'", err.msg, want);
    json_decref(params);
  }
}

struct canceler {
  struct vd_run *volatile *r;
  double after;
};

static void *cancel_later(void *opaque) {
  struct canceler *c = opaque;
  double t0 = vd_now();
  while (vd_now() - t0 < c->after || !*c->r) {
    struct timespec ts = {0, 5000000L};
    nanosleep(&ts, NULL);
  }
  vd_run_cancel(*c->r);
  return NULL;
}

/* Cancel while a slow worker holds the decode thread back: the run ends
 * soon, canceled, and no thread is left behind. */
static void test_cancel(void **state) {
  const char *names[] = {"t_thr"};
  json_t *params = json_pack("{s:{s:f}}", "t_thr", "delay_ms", 200.0); /* 20 s of work */
  struct vd_run *volatile r = NULL;
  struct vd_run_opts o = {.input = video(), .analyses = names, .n_analyses = 1,
                          .params = params, .extra = extra};
  struct vd_err err = {0};
  struct vd_run *rr;
  assert_int_equal(vd_run_new(&rr, &o, &err), 0);
  r = rr;
  struct canceler cc = {&r, 0.3};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, cancel_later, &cc), 0);
  json_t *res = NULL;
  double t0 = vd_now();
  int ret = vd_run_exec(rr, &res, &err);
  double took = vd_now() - t0;
  pthread_join(th, NULL);
  assert_int_equal(ret, VD_ERR_CANCELED);
  assert_null(res);
  assert_true(took < 2.0);
  vd_run_free(rr);
  json_decref(params);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_frames),
      cmocka_unit_test(test_sampled),
      cmocka_unit_test(test_audio),
      cmocka_unit_test(test_worker_error),
      cmocka_unit_test(test_cancel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
