/*
 * storylines.c: the `storylines` analysis, a post-pass that groups scenes
 * into storylines by what they share, so that cross-cut scenes (A-B-A-B
 * between two places) land in the same storyline even though they are not
 * adjacent.
 *
 * DESIGN
 * - Each scene gets a feature set: its colour signature (always), the people
 *   seen in it (when `people` ran), its words (when `transcript` ran) and its
 *   audio features (when `audio` ran with scenes). The last three are
 *   optional dependencies (`after`): they are used when the run has them.
 * - Colour: frames sampled at 2 fps, 64 px on the longer side, HSV. Each
 *   frame adds its normalised 28-bin histogram (12 hues x 2 brightness for
 *   saturated pixels, 4 grey levels for the rest) to the bucket of its time
 *   (0.5 s). Memory is one small histogram per half second of video, never
 *   frames. finish() sums each scene's buckets (a bucket belongs to the
 *   scene holding its middle).
 * - Similarity of two scenes = weighted mean of the terms both can speak
 *   to: colour (histogram intersection, weight 1), people (Jaccard of the
 *   person sets, weight 1, when either scene has people), words (cosine of
 *   the word counts, stop words removed, weight 0.5, when both have words),
 *   audio (weight 0.5, when both were measured: mean of 1 - |dB gap|/30 for
 *   rms, 1 - relative gap for spectral centroid and zero-crossing rate).
 * - Grouping: average-linkage agglomerative clustering on that matrix, to
 *   `num_storylines` groups, or with 0 until no pair of groups is on
 *   average at least `threshold` alike. Average linkage, so one transitional
 *   scene cannot chain two looks together. A best-neighbour cache per row
 *   makes a merge O(n) in the usual case; the matrix is O(n^2) memory, so
 *   the scene count is capped (STORY_MAX_SCENES) with a clear error.
 * - Descriptions state facts only: the scene numbers, people seen in more
 *   than half of the storyline's scenes, the dominant colour of its summed
 *   histogram, and words said in at least two of its scenes (any of its
 *   words when it has one scene), most frequent first.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/cluster.h"
#include "core/util.h"

#define STORY_BINS 28
#define STORY_HUES 12
#define STORY_BUCKET 0.5               /* seconds of video per histogram */
#define STORY_MAX_BUCKETS (1u << 20)   /* 145 hours; later frames join the last */
#define STORY_MAX_SCENES 2500          /* similarity matrix: 50 MB */
#define STORY_MAX_WORDS 2000           /* distinct words kept per scene */
#define W_COLOUR 1.0
#define W_PEOPLE 1.0
#define W_WORDS 0.5
#define W_AUDIO 0.5

struct word {
  char *w;
  int n;
};

struct scene {
  int index;                  /* 1-based, as scenes numbered it */
  double t0, t1;
  double hist[STORY_BINS], hsum;
  int *people;                /* person ids, distinct */
  size_t npeople;
  struct word *words;
  size_t nwords;
  double wnorm;               /* Euclidean norm of the word counts */
  double rms, centroid, zcr;  /* NAN when not measured */
};

struct story {
  float *hist;                /* nb * STORY_BINS, summed normalised frames */
  size_t nb, cap;
};

static const struct vd_param_def story_params[] = {
    {"num_storylines", VD_PARAM_INT, "3", 0, 100, NULL,
     "storylines to group the scenes into (capped at the scene count); 0 = as many as the "
     "similarity threshold gives"},
    {"threshold", VD_PARAM_NUM, "0.5", 0, 1, NULL,
     "with num_storylines 0: groups whose scenes are on average at least this alike (0..1) are "
     "merged"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static const char *const story_deps[] = {"scenes", NULL};
static const char *const story_after[] = {"people", "transcript", "audio", NULL};

static const char *const hue_names[STORY_HUES] = {
    "red", "orange", "yellow", "yellow-green", "green", "spring green",
    "cyan", "azure", "blue", "violet", "magenta", "rose"};
static const char *const grey_names[4] = {"black", "dark grey", "light grey", "white"};

/* ---- decode pass ------------------------------------------------------------- */

static int story_init(struct vd_actx *c) {
  return vd_actx_want_video(c, &(struct vd_video_want){.fps = 2, .max_side = 64,
                                                       .fmt = VD_PIX_HSV24, .no_rotate = 1});
}

static int hsv_bin(const uint8_t *p) {
  if (p[1] >= 64 && p[2] >= 48)
    return ((p[0] * 2 + 15) / 30 % STORY_HUES) * 2 + (p[2] >= 128);
  return STORY_HUES * 2 + p[2] / 64;
}

static int story_video(struct vd_actx *c, const struct vd_frame *f) {
  struct story *s = vd_actx_priv(c);
  if (f->width <= 0 || f->height <= 0)
    return 0;
  double t = f->time > 0 ? f->time / STORY_BUCKET : 0;
  size_t b = t < STORY_MAX_BUCKETS - 1 ? (size_t)t : STORY_MAX_BUCKETS - 1;
  if (b >= s->cap) {
    size_t cap = s->cap ? s->cap : 64;
    while (cap <= b)
      cap *= 2;
    s->hist = vd_xrealloc(s->hist, cap * STORY_BINS * sizeof(float));
    memset(s->hist + s->cap * STORY_BINS, 0, (cap - s->cap) * STORY_BINS * sizeof(float));
    s->cap = cap;
  }
  if (b >= s->nb)
    s->nb = b + 1;
  unsigned cnt[STORY_BINS] = {0};
  for (int y = 0; y < f->height; y++) {
    const uint8_t *row = f->data[0] + (size_t)y * (size_t)f->linesize[0];
    for (int x = 0; x < f->width; x++)
      cnt[hsv_bin(row + 3 * x)]++;
  }
  double px = (double)f->width * f->height;
  for (int k = 0; k < STORY_BINS; k++)
    s->hist[b * STORY_BINS + (size_t)k] += (float)(cnt[k] / px);
  return 0;
}

/* ---- features ------------------------------------------------------------------ */

/* Scene holding time t: the last one starting at or before t (the first if none). */
static size_t scene_at(const struct scene *sc, size_t n, double t) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (sc[mid].t0 <= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo ? lo - 1 : 0;
}

static double jnum(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static int is_stop(const char *w) {
  static const char *const stop[] = {
      "the", "and", "for", "are", "but", "not", "you", "all", "any", "can", "had", "her", "was",
      "one", "our", "out", "has", "him", "his", "how", "its", "may", "new", "now", "old", "see",
      "two", "way", "who", "did", "get", "let", "say", "she", "too", "use", "this", "that", "with",
      "have", "from", "they", "will", "would", "there", "their", "what", "about", "which", "when",
      "your", "said", "each", "then", "them", "these", "some", "into", "than", "been", "were",
      "just", "also", "very", "like", "well", "here", "where", "because", "could", "should", "does",
      "dont", "it's", "i'm", "don't", "we're", "you're", "that's", "yes", "yeah", "okay", "oh",
      "off", "over", "only", "more", "most", "such", "own", "same", "why", "both", "few", "other",
      "being", "those", "while", "after", "before", "again", "once", "under", "until", "upon"};
  for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
    if (!strcmp(w, stop[i]))
      return 1;
  return 0;
}

static void add_word(struct scene *s, const char *w) {
  for (size_t i = 0; i < s->nwords; i++)
    if (!strcmp(s->words[i].w, w)) {
      s->words[i].n++;
      return;
    }
  if (s->nwords >= STORY_MAX_WORDS)
    return;
  s->words = vd_xrealloc(s->words, (s->nwords + 1) * sizeof(*s->words));
  s->words[s->nwords++] = (struct word){vd_xstrdup(w), 1};
}

/* Lower-case words of three letters or more (apostrophes kept), stop words out. */
static void add_text(struct scene *s, const char *t) {
  char w[48];
  size_t n = 0;
  for (const char *p = t;; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch && (isalpha(ch) || (ch == '\'' && n))) {
      if (n < sizeof(w) - 1)
        w[n++] = (char)tolower(ch);
      continue;
    }
    while (n && w[n - 1] == '\'')
      n--;
    w[n] = '\0';
    if (n >= 3 && !is_stop(w))
      add_word(s, w);
    n = 0;
    if (!ch)
      break;
  }
}

static void add_person(struct scene *s, int id) {
  for (size_t i = 0; i < s->npeople; i++)
    if (s->people[i] == id)
      return;
  s->people = vd_xrealloc(s->people, (s->npeople + 1) * sizeof(int));
  s->people[s->npeople++] = id;
}

static void load_features(struct vd_actx *c, struct story *st, struct scene *sc, size_t n,
                          int *has) {
  for (size_t b = 0; b < st->nb; b++) {
    const float *h = st->hist + b * STORY_BINS;
    struct scene *s = &sc[scene_at(sc, n, (b + 0.5) * STORY_BUCKET)];
    for (int k = 0; k < STORY_BINS; k++) {
      s->hist[k] += h[k];
      s->hsum += h[k];
    }
  }
  /* A scene shorter than a bucket may hold no bucket's middle: it takes the
   * bucket its own middle falls in. */
  for (size_t i = 0; i < n; i++) {
    size_t b = (size_t)fmax(0, (sc[i].t0 + sc[i].t1) / 2 / STORY_BUCKET);
    if (sc[i].hsum > 0 || b >= st->nb)
      continue;
    for (int k = 0; k < STORY_BINS; k++) {
      sc[i].hist[k] += st->hist[b * STORY_BINS + (size_t)k];
      sc[i].hsum += st->hist[b * STORY_BINS + (size_t)k];
    }
  }
  has[0] = st->nb > 0;
  size_t i;
  json_t *x;
  json_t *people = vd_actx_dep_result(c, "people");
  has[1] = people != NULL;
  json_array_foreach(json_object_get(people, "people"), i, x) {
    json_t *id = json_object_get(x, "id"), *si;
    size_t k;
    json_array_foreach(json_object_get(x, "scenes"), k, si) {
      json_int_t idx = json_integer_value(si);
      if (json_is_integer(id) && idx >= 1 && (size_t)idx <= n)
        add_person(&sc[idx - 1], (int)json_integer_value(id));
    }
  }
  json_t *tr = vd_actx_dep_result(c, "transcript");
  has[2] = tr != NULL;
  json_array_foreach(json_object_get(tr, "segments"), i, x) {
    double a = jnum(x, "start"), b = jnum(x, "end");
    const char *t = json_string_value(json_object_get(x, "text"));
    if (isfinite(a) && isfinite(b) && t)
      add_text(&sc[scene_at(sc, n, (a + b) / 2)], t);
  }
  for (size_t k = 0; k < n; k++) {
    double q = 0;
    for (size_t w = 0; w < sc[k].nwords; w++)
      q += (double)sc[k].words[w].n * sc[k].words[w].n;
    sc[k].wnorm = sqrt(q);
  }
  json_t *au = vd_actx_dep_result(c, "audio");
  has[3] = 0;
  json_array_foreach(json_object_get(au, "segments"), i, x) {
    json_int_t idx = json_integer_value(json_object_get(x, "scene"));
    if (idx < 1 || (size_t)idx > n)
      continue;
    sc[idx - 1].rms = jnum(x, "rms_energy");
    sc[idx - 1].centroid = jnum(x, "spectral_centroid_mean");
    sc[idx - 1].zcr = jnum(x, "zero_crossing_rate");
    has[3] = 1;
  }
}

/* 1 - relative gap, in [0,1]; both non-negative. */
static double rel_sim(double a, double b) {
  double m = fmax(a, b);
  return m > 0 ? 1 - fabs(a - b) / m : 1;
}

static double scene_sim(const struct scene *a, const struct scene *b) {
  double num = 0, den = 0;
  if (a->hsum > 0 && b->hsum > 0) {
    double v = 0;
    for (int k = 0; k < STORY_BINS; k++)
      v += fmin(a->hist[k] / a->hsum, b->hist[k] / b->hsum);
    num += W_COLOUR * v;
    den += W_COLOUR;
  }
  if (a->npeople || b->npeople) {
    size_t common = 0;
    for (size_t i = 0; i < a->npeople; i++)
      for (size_t j = 0; j < b->npeople; j++)
        common += a->people[i] == b->people[j];
    num += W_PEOPLE * (double)common / (double)(a->npeople + b->npeople - common);
    den += W_PEOPLE;
  }
  if (a->nwords && b->nwords) {
    double dot = 0;
    for (size_t i = 0; i < a->nwords; i++)
      for (size_t j = 0; j < b->nwords; j++)
        if (!strcmp(a->words[i].w, b->words[j].w))
          dot += (double)a->words[i].n * b->words[j].n;
    num += W_WORDS * dot / (a->wnorm * b->wnorm);
    den += W_WORDS;
  }
  if (isfinite(a->rms) && isfinite(b->rms) && isfinite(a->centroid) && isfinite(b->centroid) &&
      isfinite(a->zcr) && isfinite(b->zcr)) {
    double da = 20 * log10(fmax(a->rms, 1e-6)), db = 20 * log10(fmax(b->rms, 1e-6));
    double v = fmax(0, 1 - fabs(da - db) / 30) + rel_sim(a->centroid, b->centroid) +
               rel_sim(a->zcr, b->zcr);
    num += W_AUDIO * v / 3;
    den += W_AUDIO;
  }
  return den > 0 ? num / den : 0;
}

/* ---- description ------------------------------------------------------------------ */

/* "mostly blue", "mostly red and white", or NULL without pixels. Static text
 * joined into buf. */
static const char *colour_of(const double *h, char *buf, size_t len) {
  double tot = 0, sat = 0, hue[STORY_HUES] = {0};
  for (int k = 0; k < STORY_BINS; k++)
    tot += h[k];
  if (!(tot > 0))
    return NULL;
  for (int k = 0; k < STORY_HUES * 2; k++) {
    hue[k / 2] += h[k];
    sat += h[k];
  }
  const char *n1, *n2 = NULL;
  if (sat / tot >= 0.3) {
    int a = 0, b = -1;
    for (int k = 1; k < STORY_HUES; k++)
      if (hue[k] > hue[a])
        a = k;
    for (int k = 0; k < STORY_HUES; k++)
      if (k != a && (b < 0 || hue[k] > hue[b]))
        b = k;
    n1 = hue_names[a];
    if (hue[a] / sat < 0.5 && b >= 0 && hue[b] / sat >= 0.2)
      n2 = hue_names[b];
  } else {
    int a = 0;
    for (int k = 1; k < 4; k++)
      if (h[STORY_HUES * 2 + k] > h[STORY_HUES * 2 + a])
        a = k;
    n1 = grey_names[a];
  }
  snprintf(buf, len, n2 ? "mostly %s and %s" : "mostly %s", n1, n2 ? n2 : "");
  return buf;
}

struct wcount {
  const char *w;
  int scenes, n;
};

static int cmp_wcount(const void *x, const void *y) {
  const struct wcount *a = x, *b = y;
  if (a->scenes != b->scenes)
    return b->scenes - a->scenes;
  if (a->n != b->n)
    return b->n - a->n;
  return strcmp(a->w, b->w);
}

/* Up to 3 words of the group's scenes: said in two of them or more (any, for
 * one scene), most scenes then most often first. */
static json_t *shared_words(const struct scene *sc, const int *member, size_t nm) {
  struct wcount *wc = NULL;
  size_t nw = 0;
  for (size_t m = 0; m < nm; m++) {
    const struct scene *s = &sc[member[m]];
    for (size_t i = 0; i < s->nwords; i++) {
      size_t k = 0;
      while (k < nw && strcmp(wc[k].w, s->words[i].w))
        k++;
      if (k == nw) {
        wc = vd_xrealloc(wc, (nw + 1) * sizeof(*wc));
        wc[nw++] = (struct wcount){s->words[i].w, 0, 0};
      }
      wc[k].scenes++;
      wc[k].n += s->words[i].n;
    }
  }
  if (nw)
    qsort(wc, nw, sizeof(*wc), cmp_wcount);
  json_t *out = json_array();
  for (size_t k = 0; k < nw && json_array_size(out) < 3; k++)
    if (nm == 1 || wc[k].scenes >= 2)
      json_array_append_new(out, json_string(wc[k].w));
  free(wc);
  return out;
}

/* People seen in more than half of the group's scenes, ascending ids. */
static json_t *shared_people(const struct scene *sc, const int *member, size_t nm) {
  json_t *out = json_array();
  int last = -1;
  for (;;) { /* next smallest id above `last` */
    int next = -1;
    for (size_t m = 0; m < nm; m++)
      for (size_t i = 0; i < sc[member[m]].npeople; i++) {
        int id = sc[member[m]].people[i];
        if (id > last && (next < 0 || id < next))
          next = id;
      }
    if (next < 0)
      break;
    size_t in = 0;
    for (size_t m = 0; m < nm; m++)
      for (size_t i = 0; i < sc[member[m]].npeople; i++)
        in += sc[member[m]].people[i] == next;
    if (2 * in > nm)
      json_array_append_new(out, json_integer(next));
    last = next;
  }
  return out;
}

static char *describe(const struct scene *sc, const int *member, size_t nm, json_t *people,
                      const char *colour, json_t *words) {
  char *d = vd_xstrdup(nm == 1 ? "Scene" : "Scenes");
  for (size_t m = 0; m < nm && m < 20; m++) {
    char *t = vd_xasprintf("%s%s %d", d, m ? "," : "", sc[member[m]].index);
    free(d);
    d = t;
  }
  if (nm > 20) {
    char *t = vd_xasprintf("%s and %zu more", d, nm - 20);
    free(d);
    d = t;
  }
  char *t = vd_xasprintf("%s:", d);
  free(d);
  d = t;
  int first = 1;
  size_t k;
  json_t *x;
  if (json_array_size(people)) {
    t = vd_xasprintf("%s %s", d, json_array_size(people) == 1 ? "person" : "people");
    free(d);
    d = t;
    /* Counted from 1, as the page names them ("Person 1"); the people
     * field keeps the people result's ids. */
    json_array_foreach(people, k, x) {
      t = vd_xasprintf("%s%s %lld", d, k ? "," : "", (long long)json_integer_value(x) + 1);
      free(d);
      d = t;
    }
    first = 0;
  }
  if (colour) {
    t = vd_xasprintf("%s%s %s", d, first ? "" : ",", colour);
    free(d);
    d = t;
    first = 0;
  }
  if (json_array_size(words)) {
    t = vd_xasprintf("%s%s words:", d, first ? "" : ",");
    free(d);
    d = t;
    json_array_foreach(words, k, x) {
      t = vd_xasprintf("%s%s %s", d, k ? "," : "", json_string_value(x));
      free(d);
      d = t;
    }
    first = 0;
  }
  if (first) {
    t = vd_xasprintf("%s nothing measured in common", d);
    free(d);
    d = t;
  }
  return d;
}

static double r3(double v) { return round(v * 1000) / 1000; }

static int story_finish(struct vd_actx *c, json_t **result) {
  struct story *st = vd_actx_priv(c);
  json_t *list = json_object_get(vd_actx_dep_result(c, "scenes"), "scenes");
  if (!json_is_array(list))
    return vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL, "storylines: the scenes result has no scene list");
  size_t n = json_array_size(list);
  if (n > STORY_MAX_SCENES)
    return vd_err_set(vd_actx_err(c), VD_ERR_INVALID,
                      "storylines: %zu scenes, more than the %d it groups; raise the scenes "
                      "threshold or min_scene_len for fewer",
                      n, STORY_MAX_SCENES);
  long long want = vd_actx_int(c, "num_storylines");
  double thr = vd_actx_num(c, "threshold");
  struct scene *sc = vd_xcalloc(n ? n : 1, sizeof(*sc));
  size_t i;
  json_t *x;
  json_array_foreach(list, i, x) {
    json_t *idx = json_object_get(x, "index");
    sc[i].index = json_is_integer(idx) ? (int)json_integer_value(idx) : (int)i + 1;
    sc[i].t0 = jnum(x, "start_time");
    sc[i].t1 = jnum(x, "end_time");
    sc[i].rms = sc[i].centroid = sc[i].zcr = NAN;
  }
  int has[4];
  load_features(c, st, sc, n, has);
  double *sim = vd_xmalloc((n ? n * n : 1) * sizeof(double));
  for (size_t a = 0; a < n; a++) {
    if (vd_actx_canceled(c))
      break;
    vd_actx_progress(c, (double)a / (double)(n ? n : 1), "comparing scenes");
    sim[a * n + a] = 1;
    for (size_t b = a + 1; b < n; b++)
      sim[a * n + b] = sim[b * n + a] = scene_sim(&sc[a], &sc[b]);
  }
  int ret = 0;
  int *label = vd_xmalloc((n ? n : 1) * sizeof(int)), *member = vd_xmalloc((n ? n : 1) * sizeof(int));
  if (vd_actx_canceled(c)) {
    ret = vd_err_set(vd_actx_err(c), VD_ERR_CANCELED, "canceled");
    goto out;
  }
  int nc = vd_cluster_avg_sim(sim, (int)n, (int)want, thr, label);
  json_t *stories = json_array();
  for (int g = 0; g < nc; g++) {
    size_t nm = 0;
    double dur = 0, h[STORY_BINS] = {0};
    for (size_t k = 0; k < n; k++)
      if (label[k] == g) {
        member[nm++] = (int)k;
        dur += sc[k].t1 - sc[k].t0;
        for (int q = 0; q < STORY_BINS; q++)
          h[q] += sc[k].hist[q];
      }
    json_t *scn = json_array();
    for (size_t m = 0; m < nm; m++)
      json_array_append_new(scn, json_integer(sc[member[m]].index));
    char cbuf[64];
    const char *colour = colour_of(h, cbuf, sizeof(cbuf));
    json_t *people = shared_people(sc, member, nm), *words = shared_words(sc, member, nm);
    char *desc = describe(sc, member, nm, people, colour, words);
    json_array_append_new(
        stories, json_pack("{s:i, s:o, s:s, s:o, s:I, s:f, s:f, s:f, s:o, s:o, s:o}", "id", g + 1,
                           "name", json_sprintf("Storyline %d", g + 1), "description", desc,
                           "scenes", scn, "scene_count", (json_int_t)nm, "duration", r3(dur),
                           "start_time", r3(sc[member[0]].t0), "end_time",
                           r3(sc[member[nm - 1]].t1), "colour",
                           colour ? json_string(colour) : json_null(), "people", people, "words",
                           words));
    free(desc);
  }
  *result = json_pack("{s:I, s:f, s:i, s:{s:b, s:b, s:b, s:b}, s:o}", "num_storylines",
                      (json_int_t)want, "threshold", thr, "count", nc, "features", "colour",
                      has[0], "people", has[1], "words", has[2], "audio", has[3], "storylines",
                      stories);
out:
  for (size_t k = 0; k < n; k++) {
    for (size_t w = 0; w < sc[k].nwords; w++)
      free(sc[k].words[w].w);
    free(sc[k].words);
    free(sc[k].people);
  }
  free(sc);
  free(sim);
  free(label);
  free(member);
  return ret;
}

static void story_uninit(struct vd_actx *c) {
  struct story *s = vd_actx_priv(c);
  free(s->hist);
}

const struct vd_analysis_def vd_analysis_storylines = {
    .name = "storylines",
    .summary = "Groups scenes into storylines by shared colour, people, words and sound, so "
               "cross-cut scenes that are not adjacent land together.",
    .params = story_params,
    .deps = story_deps,
    .after = story_after,
    .priv_size = sizeof(struct story),
    .init = story_init,
    .video = story_video,
    .finish = story_finish,
    .uninit = story_uninit,
};
