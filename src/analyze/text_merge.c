/*
 * text_merge.c: noise words, text distance and the merging of per-sample OCR
 * results into segments (see text_merge.h for the rules).
 */
#include "analyze/text_merge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define CONFIRM_REACH 2 /* samples either side that may confirm a line */

struct vd_text_merger;
static void window_clear(struct vd_text_merger *m);

struct vd_text_merger {
  double interval, max_dist;
  json_t *segments;
  long long words;
  /* the open segment */
  int open;
  double start, last;       /* first and last sample alike, seconds */
  int gap;                  /* samples without text since `last` */
  struct vd_text_sample best; /* deep copy of the most confident sample */
  char *best_text;
  double best_conf;
  /* confirmation: raw readings around the one next to be confirmed */
  int confirm;
  struct vd_text_sample win[2 * CONFIRM_REACH + 1];
  int nwin, pos; /* readings held; index of the next to confirm */
};

int vd_text_word_ok(const char *w) {
  int alnum = 0, other = 0;
  for (const unsigned char *p = (const unsigned char *)w; *p; p++) {
    if (*p >= 0x80) { /* a UTF-8 sequence: counted once, by its lead byte */
      if (*p == 0xC2 && p[1] >= 0xA0)
        other++; /* Latin-1 signs: ¡ « ° ± · » ... */
      else if (*p == 0xE2)
        other++; /* U+2000-2FFF: dashes, quotes, bullets, arrows, box drawing */
      else if (*p >= 0xC0)
        alnum++;
    } else if ((*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')) {
      alnum++;
    } else {
      other++;
    }
  }
  return alnum > 0 && alnum >= other;
}

int vd_text_boxes_overlap(const float *a, const float *b) {
  float iw = fminf(a[0] + a[2], b[0] + b[2]) - fmaxf(a[0], b[0]);
  float ih = fminf(a[1] + a[3], b[1] + b[3]) - fmaxf(a[1], b[1]);
  return iw > 0 && ih > 0 && iw * ih >= 0.3f * fminf(a[2] * a[3], b[2] * b[3]);
}

double vd_text_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  la = la > VD_TEXT_MAX_CHARS ? VD_TEXT_MAX_CHARS : la;
  lb = lb > VD_TEXT_MAX_CHARS ? VD_TEXT_MAX_CHARS : lb;
  if (la == 0 && lb == 0)
    return 0;
  if (la == 0 || lb == 0)
    return 1;
  /* two rows of the DP table: O(lb) memory, O(la*lb) time (bounded above) */
  size_t *prev = vd_xmalloc((lb + 1) * sizeof(size_t));
  size_t *cur = vd_xmalloc((lb + 1) * sizeof(size_t));
  for (size_t j = 0; j <= lb; j++)
    prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
      size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
      size_t m = sub < del ? sub : del;
      cur[j] = m < ins ? m : ins;
    }
    size_t *t = prev;
    prev = cur;
    cur = t;
  }
  double d = (double)prev[lb] / (double)(la > lb ? la : lb);
  free(prev);
  free(cur);
  return d;
}

char *vd_text_sample_text(const struct vd_text_sample *s) {
  size_t len = 1;
  for (int i = 0; i < s->n; i++)
    len += strlen(s->lines[i].text) + 1;
  char *out = vd_xmalloc(len), *p = out;
  for (int i = 0; i < s->n; i++) {
    size_t k = strlen(s->lines[i].text);
    if (i)
      *p++ = '\n';
    memcpy(p, s->lines[i].text, k);
    p += k;
  }
  *p = '\0';
  return out;
}

void vd_text_line_fini(struct vd_text_line *l) {
  free(l->text);
  l->text = NULL;
}

void vd_text_sample_clear(struct vd_text_sample *s) {
  for (int i = 0; i < s->n; i++)
    vd_text_line_fini(&s->lines[i]);
  free(s->lines);
  s->lines = NULL;
  s->n = 0;
}

static void sample_copy(struct vd_text_sample *dst, const struct vd_text_sample *src) {
  dst->time = src->time;
  dst->n = src->n;
  dst->lines = vd_xcalloc((size_t)(src->n ? src->n : 1), sizeof(*dst->lines));
  for (int i = 0; i < src->n; i++) {
    dst->lines[i] = src->lines[i];
    dst->lines[i].text = vd_xstrdup(src->lines[i].text);
  }
}

/* Mean word confidence of a sample. */
static double sample_conf(const struct vd_text_sample *s) {
  double sum = 0;
  int n = 0;
  for (int i = 0; i < s->n; i++) {
    sum += s->lines[i].confidence * s->lines[i].words;
    n += s->lines[i].words;
  }
  return n ? sum / n : 0;
}

struct vd_text_merger *vd_text_merger_new(double interval, double max_dist, int confirm) {
  struct vd_text_merger *m = vd_xcalloc(1, sizeof(*m));
  m->confirm = confirm;
  m->interval = interval > 0 ? interval : 1;
  m->max_dist = max_dist;
  m->segments = json_array();
  return m;
}

void vd_text_merger_free(struct vd_text_merger *m) {
  if (!m)
    return;
  vd_text_sample_clear(&m->best);
  window_clear(m);
  free(m->best_text);
  json_decref(m->segments);
  free(m);
}

static double round_to(double v, double q) { return round(v * q) / q; }

static void close_open(struct vd_text_merger *m) {
  if (!m->open)
    return;
  json_t *lines = json_array();
  int words = 0;
  for (int i = 0; i < m->best.n; i++) {
    const struct vd_text_line *l = &m->best.lines[i];
    json_t *box = json_array();
    for (int k = 0; k < 4; k++)
      json_array_append_new(box, json_real(round_to(l->box[k], 1e4)));
    json_array_append_new(lines, json_pack("{s:s, s:o, s:f}", "text", l->text, "box", box,
                                           "confidence", round_to(l->confidence, 1e3)));
    words += l->words;
  }
  json_array_append_new(m->segments,
                        json_pack("{s:f, s:f, s:s, s:o, s:i}", "start", round_to(m->start, 1e3),
                                  "end", round_to(m->last + m->interval, 1e3), "text",
                                  m->best_text, "lines", lines, "words", words));
  m->words += words;
  vd_text_sample_clear(&m->best);
  free(m->best_text);
  m->best_text = NULL;
  m->open = 0;
}

/* The digits of the words of `t` that have no letters ("42", "3:10", "$5";
 * "W0RLD" is a misread O, not a number), in order. Caller frees. */
static char *numbers(const char *t) {
  char *out = vd_xmalloc(strlen(t) + 1), *o = out;
  while (*t) {
    size_t n = strcspn(t, " \n");
    int letters = 0;
    for (size_t i = 0; i < n; i++)
      letters |= ((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z');
    for (size_t i = 0; !letters && i < n; i++)
      if (t[i] >= '0' && t[i] <= '9')
        *o++ = t[i];
    t += n;
    t += *t != '\0';
  }
  *o = '\0';
  return out;
}

/* 1 if a and b hold the same numbers: "Caption 3" and "Caption 4" are two
 * captions however alike, since numbers on screen (scores, prices,
 * counters) are what changes and matters. */
static int same_digits(const char *a, const char *b) {
  char *x = numbers(a), *y = numbers(b);
  int same = !strcmp(x, y);
  free(x);
  free(y);
  return same;
}

static void segment_add(struct vd_text_merger *m, const struct vd_text_sample *s) {
  if (s->n == 0) {
    if (m->open && ++m->gap > 1)
      close_open(m);
    return;
  }
  char *text = vd_text_sample_text(s);
  double conf = sample_conf(s);
  if (m->open && vd_text_distance(text, m->best_text) <= m->max_dist &&
      same_digits(text, m->best_text)) {
    m->last = s->time;
    m->gap = 0;
    if (conf > m->best_conf) { /* a clearer reading of the same text */
      vd_text_sample_clear(&m->best);
      sample_copy(&m->best, s);
      free(m->best_text);
      m->best_text = text;
      m->best_conf = conf;
    } else {
      free(text);
    }
    return;
  }
  close_open(m);
  m->open = 1;
  m->start = m->last = s->time;
  m->gap = 0;
  sample_copy(&m->best, s);
  m->best_text = text;
  m->best_conf = conf;
}

/* 1 if sample `o` has a line like `l`: alike text in an overlapping box. */
static int line_seen(const struct vd_text_merger *m, const struct vd_text_line *l,
                     const struct vd_text_sample *o) {
  for (int i = 0; o && i < o->n; i++) {
    if (vd_text_boxes_overlap(l->box, o->lines[i].box) &&
        vd_text_distance(l->text, o->lines[i].text) <= m->max_dist)
      return 1;
  }
  return 0;
}

/* Feeds window sample `k` to the segments with only the lines that another
 * reading in the window (up to CONFIRM_REACH samples either side) confirms. */
static void confirm_one(struct vd_text_merger *m, int k) {
  const struct vd_text_sample *c = &m->win[k];
  struct vd_text_sample kept = {.time = c->time};
  kept.lines = vd_xcalloc((size_t)(c->n ? c->n : 1), sizeof(*kept.lines));
  for (int i = 0; i < c->n; i++) {
    int seen = 0;
    for (int o = 0; o < m->nwin && !seen; o++)
      seen = o != k && abs(o - k) <= CONFIRM_REACH && line_seen(m, &c->lines[i], &m->win[o]);
    if (seen) {
      kept.lines[kept.n] = c->lines[i];
      kept.lines[kept.n++].text = vd_xstrdup(c->lines[i].text);
    }
  }
  segment_add(m, &kept);
  vd_text_sample_clear(&kept);
}

void vd_text_merger_add(struct vd_text_merger *m, const struct vd_text_sample *s) {
  if (!m->confirm) {
    segment_add(m, s);
    return;
  }
  sample_copy(&m->win[m->nwin++], s);
  if (m->nwin - 1 - m->pos >= CONFIRM_REACH) /* all its successors are in */
    confirm_one(m, m->pos++);
  if (m->pos > CONFIRM_REACH) { /* the oldest is out of everyone's reach */
    vd_text_sample_clear(&m->win[0]);
    memmove(m->win, m->win + 1, (size_t)(m->nwin - 1) * sizeof(m->win[0]));
    memset(&m->win[--m->nwin], 0, sizeof(m->win[0]));
    m->pos--;
  }
}

static void window_clear(struct vd_text_merger *m) {
  for (int k = 0; k < m->nwin; k++)
    vd_text_sample_clear(&m->win[k]);
  m->nwin = m->pos = 0;
}

json_t *vd_text_merger_finish(struct vd_text_merger *m, double end_time, long long *words) {
  while (m->pos < m->nwin)
    confirm_one(m, m->pos++);
  window_clear(m);
  close_open(m);
  json_t *out = m->segments;
  m->segments = json_array();
  if (end_time > 0) {
    size_t i;
    json_t *seg;
    json_array_foreach(out, i, seg) {
      double e = json_real_value(json_object_get(seg, "end"));
      double st = json_real_value(json_object_get(seg, "start"));
      if (e > end_time)
        json_object_set_new(seg, "end", json_real(round_to(end_time > st ? end_time : st, 1e3)));
    }
  }
  *words = m->words;
  m->words = 0;
  return out;
}
