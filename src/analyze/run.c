/*
 * run.c: executes a set of analyses over one decode pass.
 *
 * DESIGN
 * - vd_run_new() validates everything a user can get wrong (names, params)
 *   before any file is touched, so the API can answer 400 synchronously.
 * - The requested names are closed over their dependencies and ordered
 *   depth-first, so each analysis runs after what it depends on.
 * - vd_run_exec(): open media → init() each (they subscribe) → one
 *   vd_media_run() → finish() each in order → assemble the result. If one
 *   analysis fails the run fails with its name in the message: a partial
 *   result set would be mistaken for a complete one.
 * - Cancellation: a flag checked by every frame trampoline, by the media
 *   progress hook, and by long finish() steps through vd_actx_canceled().
 * - Threaded analyses (def->threaded): see struct worker. A worker is
 *   started after every init() and stopped (its queue drained) before any
 *   finish(), so finish() sees all frames and no thread outlives the pass.
 *   Its first error is kept with its own message and becomes the run's.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "core/log.h"
#include "core/util.h"

#define VD_MAX_ANALYSES 64
#define VD_RUN_QUEUE 4   /* frames queued per threaded analysis: enough to ride
                            out uneven per-frame costs, few enough that memory
                            stays a handful of decoded pictures */
#define VD_RUN_QITEMS 64 /* items of any kind: audio chunks are small copies */

/* One queued item: a held frame, or a copy of an audio chunk. */
struct qitem {
  struct vd_held *frame;     /* NULL for audio */
  struct vd_audio_chunk a;   /* a.samples points at pcm */
  float *pcm;
};

/* The worker of a threaded analysis and its queue. The decode thread
 * pushes in decode order (waiting for `room` when full); the worker pops
 * (waiting for `more`). After an error or a cancel the worker keeps
 * popping and dropping, so the decode thread never waits forever. */
struct worker {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t more, room;
  struct qitem q[VD_RUN_QITEMS];
  int head, count;
  int frames;                /* how many of the queued items are frames */
  int eos;                   /* no more frames will come */
  int ret;                   /* first failure of video(), 0 while fine */
  struct vd_err err;         /* its message (vd_actx_err while running) */
  struct vd_video_want want; /* what the analysis subscribed to (video) */
  struct vd_viewer *viewer;
  int has_video;
  int running;
};

struct vd_actx {
  struct vd_run *run;
  const struct vd_analysis_def *def;
  void *priv;
  json_t *params;    /* resolved */
  json_t *result;    /* after finish */
  json_t *artifacts; /* array of file names */
  double seconds;    /* time spent in callbacks and finish */
  int inited;
  int skipped;       /* not applicable to this file (e.g. no video stream) */
  int slot;          /* index among finish-progress slots */
  struct worker *w;  /* threaded analyses: set when they subscribe */
};

struct vd_run {
  char *input;
  char *display;   /* NULL: messages keep the path */
  char *outdir;
  struct vd_media_limits lim;
  vd_run_progress_fn progress;
  void *progress_opaque;
  const struct vd_analysis_def *const *extra; /* the opts', during vd_run_new only */
  struct vd_dup_index *library;  /* borrowed from the opts */
  char *library_exclude;
  struct vd_actx ctx[VD_MAX_ANALYSES];
  size_t n;
  struct vd_media *media;
  atomic_int cancel;
  pthread_mutex_t warn_mu; /* warnings may come from workers */
  json_t *warnings;
  struct vd_err *err;
  int has_pass;
  double last_frac;
};

/* ---- planning ----------------------------------------------------------- */

static const struct vd_analysis_def *find_def(const struct vd_run *r, const char *name) {
  for (const struct vd_analysis_def *const *e = r->extra; e && *e; e++)
    if (!strcmp((*e)->name, name))
      return *e;
  return vd_analysis_find(name);
}

static int add_with_deps(struct vd_run *r, const char *name, int depth, const char *wanted_by,
                         struct vd_err *err) {
  const struct vd_analysis_def *def = find_def(r, name);
  if (!def) {
    char *names = vd_analysis_names();
    int ret = wanted_by ? vd_err_set(err, VD_ERR_INTERNAL, "analysis %s depends on unknown %s",
                                     wanted_by, name)
                        : vd_err_set(err, VD_ERR_INVALID, "unknown analysis '%s' (valid: %s)",
                                     name, names);
    free(names);
    return ret;
  }
  for (size_t i = 0; i < r->n; i++)
    if (r->ctx[i].def == def)
      return 0;
  VD_ASSERT(depth < 16); /* a dependency cycle in the table is a bug */
  for (const char *const *d = def->deps; d && *d; d++) {
    int ret = add_with_deps(r, *d, depth + 1, def->name, err);
    if (ret < 0)
      return ret;
  }
  if (r->n >= VD_MAX_ANALYSES)
    return vd_err_set(err, VD_ERR_INVALID, "too many analyses");
  struct vd_actx *c = &r->ctx[r->n++];
  c->run = r;
  c->def = def;
  return 0;
}

static int listed(const char *const *names, const char *name);

/*
 * Puts each analysis after the optional dependencies (`after`) the run
 * has, however they got in: asked for, or pulled in as someone's
 * dependency later in the list (audio before the scenes that storylines
 * brings). A stable sort: each round takes the first analysis whose
 * dependencies, required and optional, are already placed. The table has
 * no cycles; if it ever did, the rest keeps its order.
 */
static void order_after(struct vd_run *r) {
  struct vd_actx sorted[VD_MAX_ANALYSES];
  int placed[VD_MAX_ANALYSES] = {0};
  size_t n = 0;
  while (n < r->n) {
    size_t pick = r->n;
    for (size_t i = 0; i < r->n && pick == r->n; i++) {
      if (placed[i])
        continue;
      int ready = 1;
      for (size_t k = 0; k < r->n && ready; k++) {
        const char *name = r->ctx[k].def->name;
        if (!placed[k] && k != i &&
            (listed(r->ctx[i].def->deps, name) || listed(r->ctx[i].def->after, name)))
          ready = 0;
      }
      if (ready)
        pick = i;
    }
    if (pick == r->n) /* a cycle: keep the rest as it is */
      for (pick = 0; placed[pick]; pick++)
        ;
    placed[pick] = 1;
    sorted[n++] = r->ctx[pick];
  }
  memcpy(r->ctx, sorted, r->n * sizeof(sorted[0]));
}

int vd_run_new(struct vd_run **out, const struct vd_run_opts *o, struct vd_err *err) {
  struct vd_run *r = vd_xcalloc(1, sizeof(*r));
  int ret = 0;
  pthread_mutex_init(&r->warn_mu, NULL);
  *out = NULL;
  if (!o->input || !o->n_analyses) {
    ret = vd_err_set(err, VD_ERR_INVALID, "no input or no analyses given");
    goto out;
  }
  r->input = vd_xstrdup(o->input);
  r->display = o->display_name ? vd_xstrdup(o->display_name) : NULL;
  r->outdir = o->outdir ? vd_xstrdup(o->outdir) : NULL;
  if (o->limits)
    r->lim = *o->limits;
  else
    vd_media_limits_default(&r->lim);
  r->progress = o->progress;
  r->progress_opaque = o->progress_opaque;
  r->extra = o->extra;
  r->library = o->library;
  r->library_exclude = o->library_exclude ? vd_xstrdup(o->library_exclude) : NULL;
  r->warnings = json_array();
  if (o->params && !json_is_object(o->params)) {
    ret = vd_err_set(err, VD_ERR_INVALID, "params must be an object of analysis name -> object");
    goto out;
  }
  for (size_t i = 0; i < o->n_analyses; i++)
    if ((ret = add_with_deps(r, o->analyses[i], 0, NULL, err)) < 0)
      goto out;
  order_after(r);
  /* Params for analyses that are not part of this run are a user mistake. */
  const char *key;
  json_t *val;
  json_object_foreach(o->params, key, val) {
    size_t i = 0;
    while (i < r->n && strcmp(r->ctx[i].def->name, key))
      i++;
    if (i == r->n) {
      ret = vd_err_set(err, VD_ERR_INVALID, "params given for '%s', which is not in this run", key);
      goto out;
    }
  }
  for (size_t i = 0; i < r->n; i++) {
    struct vd_actx *c = &r->ctx[i];
    json_t *given = json_object_get(o->params, c->def->name);
    for (const char *const *p = c->def->local_params; o->untrusted && p && *p; p++)
      if (json_object_get(given, *p)) {
        ret = vd_err_set(err, VD_ERR_INVALID,
                         "parameter %s.%s names a file on the server: it can be set on the "
                         "command line only", c->def->name, *p);
        goto out;
      }
    if ((ret = vd_params_resolve(c->def, given, &c->params, err)) < 0)
      goto out;
    c->artifacts = json_array();
    c->slot = (int)i;
  }
  r->extra = NULL; /* the caller's arrays: not needed past planning */
  *out = r;
  r = NULL;
out:
  vd_run_free(r);
  return ret;
}

static void workers_stop(struct vd_run *r);

void vd_run_free(struct vd_run *r) {
  if (!r)
    return;
  workers_stop(r);
  for (size_t i = 0; i < r->n; i++) {
    struct vd_actx *c = &r->ctx[i];
    free(c->w);
    if (c->def->uninit && c->inited)
      c->def->uninit(c);
    free(c->priv);
    json_decref(c->params);
    json_decref(c->result);
    json_decref(c->artifacts);
  }
  vd_media_free(r->media);
  json_decref(r->warnings);
  pthread_mutex_destroy(&r->warn_mu);
  free(r->input);
  free(r->display);
  free(r->outdir);
  free(r->library_exclude);
  free(r);
}

void vd_run_cancel(struct vd_run *r) { atomic_store(&r->cancel, 1); }

/* ---- progress ----------------------------------------------------------- */

/* The decode pass covers [0, 0.9] of the run when there is one; each
 * analysis's finish() owns an equal share of the rest. */
static void emit(struct vd_run *r, double frac, const char *stage) {
  if (!r->progress)
    return;
  if (frac < r->last_frac)
    frac = r->last_frac; /* never go backwards */
  r->last_frac = frac;
  r->progress(r->progress_opaque, frac, stage);
}

static int pass_progress(void *opaque, double frac) {
  struct vd_run *r = opaque;
  emit(r, frac * (r->has_pass ? 0.9 : 0.0), "decoding");
  return atomic_load(&r->cancel);
}

void vd_actx_progress(struct vd_actx *c, double fraction, const char *stage) {
  struct vd_run *r = c->run;
  double base = r->has_pass ? 0.9 : 0.0, share = (1.0 - base) / (double)r->n;
  fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
  char buf[160];
  snprintf(buf, sizeof(buf), "%s: %s", c->def->name, stage ? stage : "");
  emit(r, base + share * (c->slot + fraction), buf);
}

int vd_actx_canceled(struct vd_actx *c) { return atomic_load(&c->run->cancel); }

/* ---- context accessors -------------------------------------------------- */

void *vd_actx_priv(struct vd_actx *c) { return c->priv; }
const struct vd_media_info *vd_actx_media_info(struct vd_actx *c) {
  return c->run->media ? vd_media_info(c->run->media) : NULL;
}
const char *vd_actx_input_path(struct vd_actx *c) { return c->run->input; }
struct vd_err *vd_actx_err(struct vd_actx *c) {
  return c->w && c->w->running ? &c->w->err : c->run->err;
}
const struct vd_media_limits *vd_actx_limits(struct vd_actx *c) { return &c->run->lim; }
struct vd_dup_index *vd_actx_library(struct vd_actx *c) { return c->run->library; }
const char *vd_actx_library_exclude(struct vd_actx *c) { return c->run->library_exclude; }

static json_t *param(struct vd_actx *c, const char *name) {
  json_t *v = json_object_get(c->params, name);
  VD_ASSERT(v); /* asking for an undeclared parameter is a bug */
  return v;
}
long long vd_actx_int(struct vd_actx *c, const char *name) {
  return (long long)json_number_value(param(c, name));
}
double vd_actx_num(struct vd_actx *c, const char *name) { return json_number_value(param(c, name)); }
int vd_actx_bool(struct vd_actx *c, const char *name) { return json_is_true(param(c, name)); }
const char *vd_actx_str(struct vd_actx *c, const char *name) {
  return json_string_value(param(c, name));
}

static int listed(const char *const *names, const char *name) {
  for (; names && *names; names++)
    if (!strcmp(*names, name))
      return 1;
  return 0;
}

json_t *vd_actx_dep_result(struct vd_actx *c, const char *name) {
  if (!listed(c->def->deps, name) && !listed(c->def->after, name))
    return NULL;
  for (size_t i = 0; i < c->run->n; i++)
    if (!strcmp(c->run->ctx[i].def->name, name))
      return c->run->ctx[i].result;
  return NULL;
}

char *vd_actx_artifact_path(struct vd_actx *c, const char *name) {
  if (!c->run->outdir)
    return NULL;
  VD_ASSERT(!strchr(name, '/') && name[0] != '.'); /* names come from code, not users */
  json_array_append_new(c->artifacts, json_string(name));
  return vd_xasprintf("%s/%s", c->run->outdir, name);
}

void vd_actx_warn(struct vd_actx *c, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&c->run->warn_mu);
  if (json_array_size(c->run->warnings) < 256)
    json_array_append_new(c->run->warnings, json_sprintf("%s: %s", c->def->name, buf));
  pthread_mutex_unlock(&c->run->warn_mu);
}

static int dep_skipped(struct vd_actx *c) {
  for (const char *const *d = c->def->deps; d && *d; d++)
    for (size_t i = 0; i < c->run->n; i++)
      if (!strcmp(c->run->ctx[i].def->name, *d) && c->run->ctx[i].skipped)
        return 1;
  return 0;
}

static int exec(struct vd_run *r, json_t **result, struct vd_err *err);

/* ---- the pass ------------------------------------------------------------- */

static int on_video(void *opaque, const struct vd_frame *f) {
  struct vd_actx *c = opaque;
  if (atomic_load(&c->run->cancel))
    return VD_ERR_CANCELED;
  double t0 = vd_now();
  int ret = c->def->video(c, f);
  c->seconds += vd_now() - t0;
  return ret;
}

static int on_audio(void *opaque, const struct vd_audio_chunk *a) {
  struct vd_actx *c = opaque;
  if (atomic_load(&c->run->cancel))
    return VD_ERR_CANCELED;
  double t0 = vd_now();
  int ret = c->def->audio(c, a);
  c->seconds += vd_now() - t0;
  return ret;
}

/* ---- threaded analyses -------------------------------------------------- */

static void qitem_free(struct qitem *it) {
  vd_held_free(it->frame);
  free(it->pcm);
  memset(it, 0, sizeof(*it));
}

/* Decode thread: queues `it` for the worker (which then owns it), waiting
 * while the queue is full. Returns the worker's error if it failed, and
 * then frees the item itself. */
static int push(struct worker *w, struct qitem *it) {
  int frame = it->frame != NULL;
  pthread_mutex_lock(&w->mu);
  while ((w->count == VD_RUN_QITEMS || (frame && w->frames == VD_RUN_QUEUE)) && !w->ret)
    pthread_cond_wait(&w->room, &w->mu);
  int ret = w->ret;
  if (!ret) {
    w->q[(w->head + w->count) % VD_RUN_QITEMS] = *it;
    w->count++;
    w->frames += frame;
    memset(it, 0, sizeof(*it));
    pthread_cond_signal(&w->more);
  }
  pthread_mutex_unlock(&w->mu);
  qitem_free(it);
  return ret; /* the worker failed: stop the pass (its message comes at the end) */
}

/* Decode thread: keep the frame and queue it for the worker. */
static int on_video_held(void *opaque, const struct vd_frame *f) {
  struct vd_actx *c = opaque;
  if (atomic_load(&c->run->cancel))
    return VD_ERR_CANCELED;
  struct qitem it = {0};
  int ret = vd_frame_hold(f, &it.frame);
  if (ret < 0)
    return vd_err_set(c->run->err, ret, "%s: cannot keep frame %lld", c->def->name,
                      (long long)f->index);
  return push(c->w, &it);
}

/* Decode thread: copy the chunk (the pass reuses its buffer) and queue it. */
static int on_audio_held(void *opaque, const struct vd_audio_chunk *a) {
  struct vd_actx *c = opaque;
  if (atomic_load(&c->run->cancel))
    return VD_ERR_CANCELED;
  size_t n = (size_t)a->nb_samples * (size_t)a->channels;
  struct qitem it = {.a = *a, .pcm = vd_xmalloc((n ? n : 1) * sizeof(float))};
  memcpy(it.pcm, a->samples, n * sizeof(float));
  it.a.samples = it.pcm;
  return push(c->w, &it);
}

static void *worker_main(void *opaque) {
  struct vd_actx *c = opaque;
  struct worker *w = c->w;
  for (;;) {
    pthread_mutex_lock(&w->mu);
    while (!w->count && !w->eos)
      pthread_cond_wait(&w->more, &w->mu);
    if (!w->count) {
      pthread_mutex_unlock(&w->mu);
      break;
    }
    struct qitem it = w->q[w->head];
    w->head = (w->head + 1) % VD_RUN_QITEMS;
    w->count--;
    w->frames -= it.frame != NULL;
    int failed = w->ret;
    pthread_cond_signal(&w->room);
    pthread_mutex_unlock(&w->mu);
    if (!failed && !atomic_load(&c->run->cancel)) {
      double t0 = vd_now();
      int ret;
      if (it.frame) {
        struct vd_frame f;
        ret = vd_viewer_frame(w->viewer, it.frame, &w->want, &f);
        if (ret < 0)
          vd_err_set(&w->err, ret, "cannot convert a frame to %s", vd_pix_name(w->want.fmt));
        else
          ret = c->def->video(c, &f);
      } else {
        ret = c->def->audio(c, &it.a);
      }
      c->seconds += vd_now() - t0;
      if (ret < 0) {
        pthread_mutex_lock(&w->mu);
        w->ret = ret;
        pthread_cond_broadcast(&w->room);
        pthread_mutex_unlock(&w->mu);
      }
    }
    qitem_free(&it);
  }
  return NULL;
}

static int workers_start(struct vd_run *r) {
  for (size_t i = 0; i < r->n; i++) {
    struct vd_actx *c = &r->ctx[i];
    struct worker *w = c->w;
    if (!w || c->skipped)
      continue;
    w->viewer = vd_viewer_new();
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->more, NULL);
    pthread_cond_init(&w->room, NULL);
    w->running = 1;
    if (pthread_create(&w->th, NULL, worker_main, c) != 0) {
      w->running = 0;
      vd_viewer_free(w->viewer);
      w->viewer = NULL;
      return vd_err_set(r->err, VD_ERR_INTERNAL, "%s: cannot start a thread", c->def->name);
    }
  }
  return 0;
}

/* Lets each worker finish what is queued, then joins it. Idempotent. */
static void workers_stop(struct vd_run *r) {
  for (size_t i = 0; i < r->n; i++) {
    struct worker *w = r->ctx[i].w;
    if (!w || !w->running)
      continue;
    pthread_mutex_lock(&w->mu);
    w->eos = 1;
    pthread_cond_signal(&w->more);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    w->running = 0;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->more);
    pthread_cond_destroy(&w->room);
    vd_viewer_free(w->viewer);
    w->viewer = NULL;
  }
}

/* The first worker failure, as the run's error; 0 when none failed. */
static int workers_error(struct vd_run *r, struct vd_err *err) {
  for (size_t i = 0; i < r->n; i++) {
    struct vd_actx *c = &r->ctx[i];
    if (c->w && c->w->ret < 0)
      return vd_err_set(err, c->w->ret, "%s: %s", c->def->name,
                        c->w->err.code ? c->w->err.msg : vd_strerror(c->w->ret));
  }
  return 0;
}

int vd_actx_want_video(struct vd_actx *c, const struct vd_video_want *w) {
  VD_ASSERT(c->def->video);
  int ret;
  if (c->def->threaded) {
    VD_ASSERT(!c->w || !c->w->has_video); /* one video subscription per threaded analysis */
    struct vd_video_want lazy = *w;
    lazy.no_convert = 1;
    ret = vd_media_want_video(c->run->media, &lazy, on_video_held, c);
    if (ret == 0) {
      if (!c->w)
        c->w = vd_xcalloc(1, sizeof(*c->w));
      c->w->want = *w;
      c->w->has_video = 1;
    }
  } else {
    ret = vd_media_want_video(c->run->media, w, on_video, c);
  }
  if (ret == VD_ERR_NO_STREAM)
    return vd_err_set(c->run->err, ret, "%s needs a video stream, and %s has none", c->def->name,
                      c->run->input);
  c->run->has_pass = 1;
  return ret;
}

int vd_actx_want_audio(struct vd_actx *c, const struct vd_audio_want *w) {
  VD_ASSERT(c->def->audio);
  int ret = vd_media_want_audio(c->run->media, w, c->def->threaded ? on_audio_held : on_audio, c);
  if (ret == 0 && c->def->threaded && !c->w)
    c->w = vd_xcalloc(1, sizeof(*c->w));
  if (ret == VD_ERR_NO_STREAM)
    return vd_err_set(c->run->err, ret, "%s needs an audio stream, and %s has none", c->def->name,
                      c->run->input);
  c->run->has_pass = 1;
  return ret;
}

/* Every occurrence of the input path in `s` replaced by the display name.
 * Storage paths are an implementation detail; the user named the file. */
static char *humanize(struct vd_run *r, const char *s) {
  size_t pl = strlen(r->input), dl = strlen(r->display), n = 0;
  for (const char *p = strstr(s, r->input); p; p = strstr(p + pl, r->input))
    n++;
  char *out = vd_xmalloc(strlen(s) + n * dl + 1), *o = out;
  for (const char *p = s, *q; (q = strstr(p, r->input)) != NULL; p = q + pl) {
    memcpy(o, p, (size_t)(q - p));
    o += q - p;
    memcpy(o, r->display, dl);
    o += dl;
    s = q + pl;
  }
  memcpy(o, s, strlen(s) + 1);
  return out;
}

static void humanize_messages(struct vd_run *r, struct vd_err *err) {
  if (!r->display)
    return;
  if (err && err->code) {
    char *m = humanize(r, err->msg);
    snprintf(err->msg, sizeof(err->msg), "%s", m);
    free(m);
  }
  for (size_t i = 0; i < json_array_size(r->warnings); i++) {
    char *m = humanize(r, json_string_value(json_array_get(r->warnings, i)));
    json_array_set_new(r->warnings, i, json_string(m));
    free(m);
  }
}

int vd_run_exec(struct vd_run *r, json_t **result, struct vd_err *err) {
  int ret = exec(r, result, err);
  humanize_messages(r, err);
  if (*result && r->display)
    json_object_set_new(*result, "input", json_string(r->display));
  return ret;
}

static int exec(struct vd_run *r, json_t **result, struct vd_err *err) {
  int ret = 0;
  size_t nskipped = 0;
  char first_skip[512] = "";
  *result = NULL;
  r->err = err;
  if (r->outdir && (ret = vd_mkdirs(r->outdir)) < 0) {
    ret = vd_err_set(err, ret, "cannot create output folder %s: %s", r->outdir, vd_strerror(ret));
    goto out;
  }
  int need_media = 0;
  for (size_t i = 0; i < r->n; i++)
    need_media |= !r->ctx[i].def->no_media;
  emit(r, 0, "opening");
  if (need_media && (ret = vd_media_open(&r->media, r->input, &r->lim, err)) < 0)
    goto out;
  for (size_t i = 0; i < r->n; i++) {
    struct vd_actx *c = &r->ctx[i];
    c->priv = c->def->priv_size ? vd_xcalloc(1, c->def->priv_size) : NULL;
    c->inited = 1;
    if (dep_skipped(c)) {
      c->skipped = 1;
      nskipped++;
      vd_actx_warn(c, "skipped: a dependency does not apply to this file");
      continue;
    }
    if (c->def->init && (ret = c->def->init(c)) < 0) {
      /* "needs video, file has none" is not a failure of the run when other
       * analyses apply (an audio file under `analyze`), unless it is all
       * that was asked: then there is nothing to report but the error. */
      if (ret == VD_ERR_NO_STREAM) {
        c->skipped = 1;
        nskipped++;
        if (!first_skip[0])
          snprintf(first_skip, sizeof(first_skip), "%s", vd_err_msg(err, ret));
        vd_actx_warn(c, "skipped: %s", vd_err_msg(err, ret));
        vd_err_clear(err);
        ret = 0;
        continue;
      }
      vd_err_set(err, ret, "%s: %s", c->def->name, vd_strerror(ret));
      goto out;
    }
  }
  if (nskipped == r->n) {
    ret = vd_err_set(err, VD_ERR_NO_STREAM, "%s", first_skip);
    goto out;
  }
  if ((ret = workers_start(r)) < 0)
    goto out;
  if (r->media)
    ret = vd_media_run(r->media, pass_progress, r, err);
  workers_stop(r);
  if (ret != VD_ERR_CANCELED && workers_error(r, err) < 0) {
    ret = err->code;
    goto out;
  }
  if (ret < 0)
    goto out;
  if (atomic_load(&r->cancel)) {
    ret = vd_err_set(err, VD_ERR_CANCELED, "canceled");
    goto out;
  }
  for (int i = 0; r->media && i < vd_media_warning_count(r->media); i++)
    json_array_append_new(r->warnings, json_string(vd_media_warning(r->media, i)));
  for (size_t i = 0; i < r->n; i++) {
    struct vd_actx *c = &r->ctx[i];
    double t0 = vd_now();
    if (c->skipped)
      continue;
    vd_actx_progress(c, 0, "finishing");
    if (c->def->finish && (ret = c->def->finish(c, &c->result)) < 0) {
      vd_err_set(err, ret, "%s: %s", c->def->name, vd_strerror(ret));
      goto out;
    }
    if (!c->result)
      c->result = json_null();
    c->seconds += vd_now() - t0;
    if (atomic_load(&r->cancel)) {
      ret = vd_err_set(err, VD_ERR_CANCELED, "canceled");
      goto out;
    }
  }
  json_t *results = json_object(), *arts = json_object(), *timings = json_object();
  for (size_t i = 0; i < r->n; i++) {
    struct vd_actx *c = &r->ctx[i];
    json_object_set_new(results, c->def->name, c->result ? json_incref(c->result) : json_null());
    if (json_array_size(c->artifacts))
      json_object_set(arts, c->def->name, c->artifacts);
    json_object_set_new(timings, c->def->name, json_real(round(c->seconds * 1000) / 1000));
  }
  *result = json_pack("{s:s, s:o, s:o, s:O, s:o, s:b, s:I}", "input", r->input, "results", results,
                      "artifacts", arts, "warnings", r->warnings, "timings", timings, "incomplete",
                      r->media && vd_media_incomplete(r->media), "decoded_frames",
                      (json_int_t)(r->media ? vd_media_decoded_frames(r->media) : 0));
  emit(r, 1.0, "done");
out:
  workers_stop(r);
  r->err = NULL;
  return ret;
}
