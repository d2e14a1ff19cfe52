/*
 * scenes_detect.c: the content, adaptive and threshold shot detectors and the
 * flash filter. See scenes_detect.h for the semantics and the DESIGN notes.
 *
 * Data flow for content/adaptive, per pushed frame:
 *   picture -> score vs previous picture -> flash filter (may hold up to
 *   VD_SCENES_FLASH_FRAMES frames) -> min-length filter (content) or sliding
 *   window (adaptive) -> cuts.
 * The threshold detector is a separate state machine over frame brightness.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/scenes_detect.h"
#include "core/log.h"
#include "core/util.h"

/* Elapsed times within this are treated as equal, so 15 frames at 29.97 fps
 * measured from timestamps meets a 15-frame minimum despite rounding. */
#define TIME_EPS 1e-9
/* Largest picture side the detector accepts: it is fed downscaled frames,
 * and per-row sums below stay in 32 bits up to this width. */
#define MAX_SIDE 8192
/* Frames of one fade whose times are remembered exactly. */
#define FADE_LOG_MAX 65536

struct item {
  int64_t index;
  double time;
  double score;
};

/* Pictures kept for the flash and flicker filters. */
#define RING 16

struct pic {
  int64_t index;
  double time;
  double v;       /* mean lightness */
  uint8_t *buf;   /* w*h*3 */
};

struct vd_scenes_det {
  struct vd_scenes_opts o;
  double min_secs;        /* min_scene_len / fps */
  double wsum;            /* sum of |weights| */
  int finished;
  int64_t last_index;
  double last_time;
  int pushed;
  double last_score;

  /* Recent pictures, packed at w*3 bytes per row, newest at
   * (ring_head + ring_n - 1) % RING: the previous frame, the frame before a
   * flash, and the pictures a flicker returns to. */
  struct pic ring[RING];
  int ring_head, ring_n, ring_len; /* ring_len: how many slots are in use (1 without the filter) */
  int pw, ph;

  /* flash filter */
  int watching;
  struct item held[VD_SCENES_FLASH_FRAMES + 1];
  int nheld;

  /* content: PySceneDetect's FlashFilter (the min-length filter) */
  int started;
  struct item last_above;
  int merge_enabled, merge_triggered;
  double merge_start;

  /* adaptive */
  struct item *win;       /* 2*window_width+1 entries, oldest first */
  int nwin;
  int have_last_cut;
  double last_cut_t;

  /* threshold */
  int processed;
  int faded_in;           /* last fade was a fade in */
  int64_t fade_idx;
  double fade_t;
  double *fade_log;       /* times of frames fade_idx.. while faded out */
  size_t nfade_log;

  struct vd_scenes_cut *cuts;
  size_t ncuts, capcuts;
  struct vd_scenes_flash *flashes;
  size_t nflashes, capflashes;
};

int64_t vd_scenes_pyround(double x) {
  double r = nearbyint(x); /* default rounding mode: half to even */
  return (int64_t)r;
}

void vd_scenes_opts_default(struct vd_scenes_opts *o, enum vd_scenes_kind kind, double fps) {
  memset(o, 0, sizeof(*o));
  o->kind = kind;
  o->threshold = kind == VD_SCENES_CONTENT ? 27.0 : kind == VD_SCENES_ADAPTIVE ? 3.0 : 12.0;
  o->min_scene_len = 15;
  o->fps = fps;
  o->weights[0] = o->weights[1] = o->weights[2] = 1.0;
  o->filter = VD_SCENES_FILTER_MERGE;
  o->flash_filter = 1;
  o->window_width = 2;
  o->min_content_val = 15.0;
  o->fade_bias = 0.0;
  o->method = VD_SCENES_FLOOR;
}

int vd_scenes_det_new(struct vd_scenes_det **out, const struct vd_scenes_opts *o,
                      struct vd_err *err) {
  *out = NULL;
  if (!(o->fps > 0) || !isfinite(o->fps))
    return vd_err_set(err, VD_ERR_INVALID, "scenes: frame rate must be positive");
  if (!(o->threshold > 0) || o->threshold > 255)
    return vd_err_set(err, VD_ERR_INVALID, "scenes: threshold %g is out of range (0, 255]",
                      o->threshold);
  if (o->min_scene_len < 0)
    return vd_err_set(err, VD_ERR_INVALID, "scenes: min_scene_len must be >= 0");
  double wsum = 0;
  for (int i = 0; i < 3; i++) {
    if (!(o->weights[i] >= 0) || !isfinite(o->weights[i]))
      return vd_err_set(err, VD_ERR_INVALID, "scenes: weights must be finite and >= 0");
    wsum += o->weights[i];
  }
  if (o->kind != VD_SCENES_THRESHOLD && !(wsum > 0))
    return vd_err_set(err, VD_ERR_INVALID, "scenes: at least one weight must be positive");
  if (o->kind == VD_SCENES_ADAPTIVE && (o->window_width < 1 || o->window_width > 1000))
    return vd_err_set(err, VD_ERR_INVALID, "scenes: window_width must be in [1, 1000]");
  if (o->kind == VD_SCENES_THRESHOLD && !(o->fade_bias >= -1.0 && o->fade_bias <= 1.0))
    return vd_err_set(err, VD_ERR_INVALID, "scenes: fade_bias must be in [-1, 1]");

  struct vd_scenes_det *d = vd_xcalloc(1, sizeof(*d));
  d->o = *o;
  /* PySceneDetect casts the threshold detector's level to int. */
  if (o->kind == VD_SCENES_THRESHOLD)
    d->o.threshold = floor(o->threshold);
  d->min_secs = o->min_scene_len / o->fps;
  d->wsum = wsum;
  d->last_index = -1;
  d->ring_len = o->flash_filter ? RING : 1;
  if (o->kind == VD_SCENES_ADAPTIVE)
    d->win = vd_xcalloc((size_t)(2 * o->window_width + 1), sizeof(*d->win));
  *out = d;
  return 0;
}

void vd_scenes_det_free(struct vd_scenes_det *d) {
  if (!d)
    return;
  for (int i = 0; i < RING; i++)
    free(d->ring[i].buf);
  free(d->win);
  free(d->fade_log);
  free(d->cuts);
  free(d->flashes);
  free(d);
}

const struct vd_scenes_cut *vd_scenes_det_cuts(const struct vd_scenes_det *d, size_t *n) {
  *n = d->ncuts;
  return d->cuts;
}

const struct vd_scenes_flash *vd_scenes_det_flashes(const struct vd_scenes_det *d, size_t *n) {
  *n = d->nflashes;
  return d->flashes;
}

double vd_scenes_det_last_score(const struct vd_scenes_det *d) { return d->last_score; }

/* Frames elapsed as PySceneDetect counts them between two timestamps. */
static int64_t elapsed_frames(const struct vd_scenes_det *d, double t1, double t0) {
  return vd_scenes_pyround((t1 - t0) * d->o.fps);
}

static void add_cut(struct vd_scenes_det *d, int64_t frame, double time, double score) {
  /* Cuts arrive in order; a repeat (PySceneDetect dedups with a set) is dropped. */
  if (d->ncuts && frame <= d->cuts[d->ncuts - 1].frame)
    return;
  if (d->ncuts == d->capcuts) {
    d->capcuts = d->capcuts ? d->capcuts * 2 : 16;
    d->cuts = vd_xrealloc(d->cuts, d->capcuts * sizeof(*d->cuts));
  }
  d->cuts[d->ncuts++] = (struct vd_scenes_cut){frame, time, score};
}

static void add_flash(struct vd_scenes_det *d, const struct item *first, int frames, int kind) {
  if (d->nflashes == d->capflashes) {
    d->capflashes = d->capflashes ? d->capflashes * 2 : 8;
    d->flashes = vd_xrealloc(d->flashes, d->capflashes * sizeof(*d->flashes));
  }
  d->flashes[d->nflashes++] =
      (struct vd_scenes_flash){first->index, first->time, frames, first->score, kind};
}

/* ---- pictures ------------------------------------------------------------ */

/* Weighted mean absolute HSV difference, PySceneDetect's content_val. */
static double hsv_score(const struct vd_scenes_det *d, const uint8_t *a, int als, const uint8_t *b,
                        int bls, int w, int h) {
  uint64_t s[3] = {0, 0, 0};
  for (int y = 0; y < h; y++) {
    const uint8_t *p = a + (size_t)y * als, *q = b + (size_t)y * bls;
    uint32_t r0 = 0, r1 = 0, r2 = 0; /* a row of <= MAX_SIDE pixels fits in 32 bits */
    for (int x = 0; x < w; x++, p += 3, q += 3) {
      r0 += (uint32_t)abs(p[0] - q[0]);
      r1 += (uint32_t)abs(p[1] - q[1]);
      r2 += (uint32_t)abs(p[2] - q[2]);
    }
    s[0] += r0;
    s[1] += r1;
    s[2] += r2;
  }
  double n = (double)w * h, sc = 0;
  for (int c = 0; c < 3; c++)
    sc += d->o.weights[c] * ((double)s[c] / n);
  return sc / d->wsum;
}

/* Mean of all bytes: the threshold detector's frame value. */
static double mean_bytes(const uint8_t *a, int ls, int w, int h) {
  uint64_t s = 0;
  for (int y = 0; y < h; y++) {
    const uint8_t *p = a + (size_t)y * ls;
    uint32_t r = 0;
    for (int x = 0; x < 3 * w; x++)
      r += p[x];
    s += r;
  }
  return (double)s / ((double)w * h * 3);
}

/* Mean lightness of an HSV picture, HSL's L = V * (1 - S/2) on 0..255. V
 * alone misses a white flash over saturated colours (their V is already
 * 255); lightness rises with any flash. */
static double mean_lightness(const uint8_t *a, int ls, int w, int h) {
  uint64_t s = 0;
  for (int y = 0; y < h; y++) {
    const uint8_t *p = a + (size_t)y * ls;
    uint32_t r = 0; /* <= MAX_SIDE * 255 * 510 fits in 32 bits */
    for (int x = 0; x < w; x++, p += 3)
      r += (uint32_t)p[2] * (uint32_t)(510 - p[1]);
    s += r;
  }
  return (double)s / (510.0 * w * h);
}

static void copy_pic(uint8_t *dst, const uint8_t *src, int ls, int w, int h) {
  for (int y = 0; y < h; y++)
    memcpy(dst + (size_t)y * w * 3, src + (size_t)y * ls, (size_t)w * 3);
}

/* ---- content: min-length filter (PySceneDetect's FlashFilter) -------------- */

static void content_feed(struct vd_scenes_det *d, const struct item *it) {
  int above = it->score >= d->o.threshold;
  if (d->o.min_scene_len <= 0) {
    if (above)
      add_cut(d, it->index, it->time, it->score);
    return;
  }
  if (!d->started) {
    d->last_above = *it;
    d->started = 1;
  }
  int met = it->time - d->last_above.time >= d->min_secs - TIME_EPS;
  if (d->o.filter == VD_SCENES_FILTER_SUPPRESS) {
    if (above && met) {
      d->last_above = *it;
      add_cut(d, it->index, it->time, it->score);
    }
    return;
  }
  /* MERGE: cuts closer than the minimum collapse into the last of them, which
   * is emitted once the minimum has passed below the threshold. */
  if (above)
    d->last_above = *it;
  if (d->merge_triggered) {
    if (met && !above && d->last_above.time - d->merge_start >= d->min_secs - TIME_EPS) {
      d->merge_triggered = 0;
      add_cut(d, d->last_above.index, d->last_above.time, d->last_above.score);
    }
    return;
  }
  if (!above)
    return;
  if (met) {
    d->merge_enabled = 1; /* merging starts only after the first cut */
    add_cut(d, it->index, it->time, it->score);
    return;
  }
  if (d->merge_enabled) {
    d->merge_triggered = 1;
    d->merge_start = it->time;
  }
}

/* ---- adaptive: score against its neighbours' mean --------------------------- */

static void adaptive_feed(struct vd_scenes_det *d, const struct item *it) {
  int ww = d->o.window_width, need = 2 * ww + 1;
  if (!d->have_last_cut) {
    d->last_cut_t = it->time;
    d->have_last_cut = 1;
  }
  if (d->nwin == need) {
    memmove(d->win, d->win + 1, (size_t)(need - 1) * sizeof(*d->win));
    d->nwin--;
  }
  d->win[d->nwin++] = *it;
  if (d->nwin < need)
    return;
  const struct item *target = &d->win[ww];
  double sum = 0;
  for (int i = 0; i < need; i++)
    if (i != ww)
      sum += d->win[i].score;
  double avg = sum / (2.0 * ww), ratio = 0;
  if (fabs(avg) >= 0.00001)
    ratio = fmin(target->score / avg, 255.0);
  else if (target->score >= d->o.min_content_val)
    ratio = 255.0;
  int thr = ratio >= d->o.threshold && target->score >= d->o.min_content_val;
  int len = elapsed_frames(d, it->time, d->last_cut_t) >= d->o.min_scene_len;
  if (thr && len) {
    d->last_cut_t = target->time;
    add_cut(d, target->index, target->time, ratio);
  }
}

static void feed(struct vd_scenes_det *d, const struct item *it) {
  if (d->o.kind == VD_SCENES_CONTENT)
    content_feed(d, it);
  else
    adaptive_feed(d, it);
}

static void release_held(struct vd_scenes_det *d) {
  for (int i = 0; i < d->nheld; i++)
    feed(d, &d->held[i]);
  d->nheld = 0;
  d->watching = 0;
}

static struct pic *ring_at(struct vd_scenes_det *d, int k) { /* k = 0: newest */
  return &d->ring[(d->ring_head + d->ring_n - 1 - k) % RING];
}

static struct pic *ring_find(struct vd_scenes_det *d, int64_t index) {
  for (int k = 0; k < d->ring_n; k++)
    if (ring_at(d, k)->index == index)
      return ring_at(d, k);
  return NULL;
}

/* Stores the picture as the newest, dropping the oldest when full. */
static void ring_push(struct vd_scenes_det *d, int64_t index, double time, double v,
                      const uint8_t *pix, int ls, int w, int h) {
  if (d->pw != w || d->ph != h) {
    for (int i = 0; i < RING; i++) {
      free(d->ring[i].buf);
      d->ring[i].buf = NULL;
    }
    d->ring_n = d->ring_head = 0;
    d->pw = w;
    d->ph = h;
  }
  if (d->ring_n == d->ring_len) {
    d->ring_head = (d->ring_head + 1) % RING;
    d->ring_n--;
  }
  struct pic *p = &d->ring[(d->ring_head + d->ring_n) % RING];
  if (!p->buf)
    p->buf = vd_xmalloc((size_t)w * h * 3);
  copy_pic(p->buf, pix, ls, w, h);
  p->index = index;
  p->time = time;
  p->v = v;
  d->ring_n++;
}

/* Smallest difference between `pix` and a picture from 2 frames up to
 * min_scene_len frames and VD_SCENES_FLICKER_SECS back (a cut back within
 * min_scene_len would not stand anyway); *back receives how many frames. */
static double flicker_match(struct vd_scenes_det *d, const struct item *it, const uint8_t *pix,
                            int ls, int64_t *back) {
  double best = INFINITY;
  for (int k = 1; k < d->ring_n; k++) {
    struct pic *p = ring_at(d, k);
    if (it->time - p->time > VD_SCENES_FLICKER_SECS + TIME_EPS ||
        it->index - p->index > d->o.min_scene_len)
      break;
    double sc = hsv_score(d, pix, ls, p->buf, d->pw * 3, d->pw, d->ph);
    if (sc < best) {
      best = sc;
      *back = it->index - p->index;
    }
  }
  return best;
}

/* Score a content/adaptive frame, run the flash filter, feed the rest. */
static void push_hsv(struct vd_scenes_det *d, int64_t index, double time, const uint8_t *pix,
                     int ls, int w, int h) {
  int same = d->ring_n > 0 && d->pw == w && d->ph == h;
  struct pic *prev = same ? ring_at(d, 0) : NULL;
  double v = mean_lightness(pix, ls, w, h);
  struct item it = {index, time, same ? hsv_score(d, pix, ls, prev->buf, w * 3, w, h) : 0.0};
  d->last_score = it.score;
  /* The filters compare pictures with the same bar a cut has to clear. */
  double bar = d->o.kind == VD_SCENES_CONTENT ? d->o.threshold : d->o.min_content_val;

  if (d->watching && !same) {
    release_held(d);
  } else if (d->watching) {
    const struct item *first = &d->held[0];
    int64_t nf = index - first->index;
    double dt = time - first->time;
    struct pic *pre = ring_find(d, first->index - 1);
    double back = pre ? hsv_score(d, pix, ls, pre->buf, w * 3, w, h) : INFINITY;
    if (back < bar && nf <= VD_SCENES_FLASH_FRAMES && dt <= VD_SCENES_FLASH_SECS + TIME_EPS) {
      /* It came back: the bright frames were a flash. They and this frame
       * now score as the change across the flash. */
      add_flash(d, first, (int)nf, VD_SCENES_FLASH);
      for (int i = 0; i < d->nheld; i++)
        d->held[i].score = back;
      it.score = back;
      release_held(d);
      feed(d, &it);
      goto keep;
    }
    if (nf < VD_SCENES_FLASH_FRAMES && dt < VD_SCENES_FLASH_SECS) {
      d->held[d->nheld++] = it;
      goto keep;
    }
    release_held(d); /* too long for a flash: the cut stands */
  }

  if (d->o.flash_filter && same && it.score >= bar) {
    int64_t nback = 0;
    double m = flicker_match(d, &it, pix, ls, &nback);
    if (m < bar) {
      /* The "new" picture was on screen moments ago: flicker, not a cut. */
      add_flash(d, &it, (int)nback, VD_SCENES_FLICKER);
      it.score = m;
      feed(d, &it);
      goto keep;
    }
    if (v >= prev->v + VD_SCENES_FLASH_DV) {
      d->watching = 1;
      d->held[0] = it;
      d->nheld = 1;
      goto keep;
    }
  }
  feed(d, &it);

keep:
  ring_push(d, index, time, v, pix, ls, w, h);
}

/* ---- threshold: fades to and from a level ---------------------------------- */

static void fade_log_reset(struct vd_scenes_det *d, double t) {
  if (!d->fade_log)
    d->fade_log = vd_xmalloc(FADE_LOG_MAX * sizeof(*d->fade_log));
  d->fade_log[0] = t;
  d->nfade_log = 1;
}

/* Time of frame k of the current fade (fade_idx <= k <= index). */
static double fade_time(const struct vd_scenes_det *d, int64_t k, int64_t index, double t) {
  int64_t off = k - d->fade_idx;
  if (off >= 0 && (size_t)off < d->nfade_log)
    return d->fade_log[off];
  if (k >= index || index == d->fade_idx)
    return t;
  /* Past the log cap: interpolate between the ends of the fade. */
  return d->fade_t + (t - d->fade_t) * (double)(k - d->fade_idx) / (double)(index - d->fade_idx);
}

static void push_level(struct vd_scenes_det *d, int64_t index, double time, const uint8_t *pix,
                       int ls, int w, int h) {
  double avg = mean_bytes(pix, ls, w, h), thr = d->o.threshold;
  int floor_m = d->o.method == VD_SCENES_FLOOR;
  d->last_score = avg;
  if (!d->have_last_cut) {
    d->last_cut_t = time;
    d->have_last_cut = 1;
  }
  if (!d->processed) {
    /* PySceneDetect judges the first frame by "below the level" whatever the method. */
    d->faded_in = !(avg < thr);
    d->fade_idx = index;
    d->fade_t = time;
    if (!d->faded_in)
      fade_log_reset(d, time);
    d->processed = 1;
    return;
  }
  if (d->faded_in && (floor_m ? avg < thr : avg >= thr)) {
    d->faded_in = 0;
    d->fade_idx = index;
    d->fade_t = time;
    fade_log_reset(d, time);
  } else if (!d->faded_in && (floor_m ? avg >= thr : avg < thr)) {
    if (elapsed_frames(d, time, d->last_cut_t) >= d->o.min_scene_len) {
      int64_t dur = index - d->fade_idx;
      int64_t k = d->fade_idx + vd_scenes_pyround((double)dur * (1.0 + d->o.fade_bias) / 2.0);
      add_cut(d, k, fade_time(d, k, index, time), avg);
      d->last_cut_t = time;
    }
    d->faded_in = 1;
    d->fade_idx = index;
    d->fade_t = time;
  } else if (!d->faded_in && d->nfade_log < FADE_LOG_MAX) {
    d->fade_log[d->nfade_log++] = time;
  }
}

int vd_scenes_det_push(struct vd_scenes_det *d, int64_t index, double time, const uint8_t *pix,
                       int linesize, int w, int h) {
  VD_ASSERT(!d->finished);
  if (w <= 0 || h <= 0 || w > MAX_SIDE || h > MAX_SIDE || linesize < 3 * w || !pix)
    return VD_ERR_INVALID;
  if (index <= d->last_index || !isfinite(time))
    return VD_ERR_INVALID;
  if (d->pushed && time < d->last_time)
    time = d->last_time; /* keep time monotonic for the length rules */
  d->last_index = index;
  d->last_time = time;
  d->pushed = 1;
  if (d->o.kind == VD_SCENES_THRESHOLD)
    push_level(d, index, time, pix, linesize, w, h);
  else
    push_hsv(d, index, time, pix, linesize, w, h);
  return 0;
}

void vd_scenes_det_finish(struct vd_scenes_det *d) {
  if (d->finished)
    return;
  d->finished = 1;
  if (d->watching)
    release_held(d); /* never came back: not a flash */
  if (d->o.kind == VD_SCENES_THRESHOLD && d->processed && !d->faded_in && d->o.add_final_scene &&
      elapsed_frames(d, d->last_time, d->last_cut_t) >= d->o.min_scene_len)
    add_cut(d, d->fade_idx, d->fade_t, d->last_score);
}
