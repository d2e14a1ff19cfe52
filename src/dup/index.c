/*
 * index.c: the library of fingerprints and its inverted index.
 *
 * DESIGN
 * - Each video lives in a slot (freed slots are reused). An id → slot map
 *   (open addressing) finds it for replace and remove.
 * - Picture postings: each 64-bit hash (whole and zoom) is cut into 4 bands of 16 bits; the
 *   key (band, value) indexes a direct table of 4 x 65536 posting lists of
 *   slots. A copy differs from its original in a few bits, so most of its
 *   samples share at least one band with an aligned original sample (LSH).
 *   Sound postings: each Chromaprint word's two 16-bit halves, the same way.
 * - Only every INDEX_STEP-th sample is posted (the neighbours of a sample
 *   look alike), and a video posts a key once however often it repeats, so
 *   memory is a few bytes per second of video. Queries look up every
 *   sample (at most QUERY_MAX, evenly spread), the picture also mirrored.
 * - A query counts, per slot, the query samples that hit it; keys whose
 *   list is longer than STOP_MIN or an eighth of the library are skipped
 *   (they say nothing: flat pictures, common words). A slot is a candidate
 *   when its votes are at least MIN_SHARE of those it could get (see
 *   top()); the best (at most CAND_MAX by picture and CAND_MAX by sound)
 *   are verified with vd_dup_compare(); unrelated ones are dropped.
 * - Locking: a rwlock. Queries share it (each keeps its vote arrays on its
 *   own heap), add and remove hold it alone. Fingerprints are immutable.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "dup/dup_int.h"

#define PBANDS 4
#define SBANDS 2
#define KEYS 65536
#define INDEX_STEP 2
#define QUERY_MAX 512
#define CAND_MAX 24
#define MIN_SHARE 0.25 /* votes / possible votes a candidate needs: copies in
                         test_dup.sh score 0.48-1.0, chance about 0.08 */
#define STOP_MIN 4096
#define MIN_VOTES 2

struct plist {
  uint32_t *v;
  uint32_t n, cap;
};

struct slot {
  char *id;          /* NULL = free */
  struct vd_fp *fp;
};

struct vd_dup_index {
  pthread_rwlock_t lock;
  struct slot *slots;
  size_t nslots, capslots;
  uint32_t *free_slots;
  size_t nfree;
  uint32_t *map;     /* id hash table of slot+1, 0 = empty; capmap is a power of 2 */
  size_t capmap, live;
  struct plist pic[PBANDS * KEYS];
  struct plist snd[SBANDS * KEYS];
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

struct vd_dup_index *vd_dup_index_new(void) {
  struct vd_dup_index *ix = vd_xcalloc(1, sizeof(*ix));
  pthread_rwlock_init(&ix->lock, NULL);
  ix->capmap = 64;
  ix->map = vd_xcalloc(ix->capmap, sizeof(*ix->map));
  return ix;
}

void vd_dup_index_free(struct vd_dup_index *ix) {
  if (!ix)
    return;
  for (size_t i = 0; i < ix->nslots; i++) {
    free(ix->slots[i].id);
    vd_fp_free(ix->slots[i].fp);
  }
  for (size_t k = 0; k < PBANDS * KEYS; k++)
    free(ix->pic[k].v);
  for (size_t k = 0; k < SBANDS * KEYS; k++)
    free(ix->snd[k].v);
  free(ix->slots);
  free(ix->free_slots);
  free(ix->map);
  pthread_rwlock_destroy(&ix->lock);
  free(ix);
}

size_t vd_dup_index_size(const struct vd_dup_index *ix) {
  struct vd_dup_index *m = (struct vd_dup_index *)ix; /* the lock is not part of the value */
  pthread_rwlock_rdlock(&m->lock);
  size_t n = m->live;
  pthread_rwlock_unlock(&m->lock);
  return n;
}

/* ---- id map (caller holds the lock) --------------------------------------- */

/* Position of `id` in the map, or of the empty cell where it would go. */
static size_t map_find(const struct vd_dup_index *ix, const char *id) {
  size_t mask = ix->capmap - 1, i = (size_t)hash_str(id) & mask;
  while (ix->map[i] && strcmp(ix->slots[ix->map[i] - 1].id, id))
    i = (i + 1) & mask;
  return i;
}

static void map_grow(struct vd_dup_index *ix) {
  uint32_t *old = ix->map;
  size_t oldcap = ix->capmap;
  ix->capmap *= 2;
  ix->map = vd_xcalloc(ix->capmap, sizeof(*ix->map));
  for (size_t i = 0; i < oldcap; i++)
    if (old[i])
      ix->map[map_find(ix, ix->slots[old[i] - 1].id)] = old[i];
  free(old);
}

/* Removes the cell at `i`, re-placing the cluster after it (linear probing). */
static void map_delete(struct vd_dup_index *ix, size_t i) {
  size_t mask = ix->capmap - 1;
  ix->map[i] = 0;
  for (size_t k = (i + 1) & mask; ix->map[k]; k = (k + 1) & mask) {
    uint32_t v = ix->map[k];
    ix->map[k] = 0;
    ix->map[map_find(ix, ix->slots[v - 1].id)] = v;
  }
}

/* ---- postings ------------------------------------------------------------------ */

static void post(struct plist *l, uint32_t slot) {
  if (l->n && l->v[l->n - 1] == slot)
    return; /* this video already posted this key */
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 4;
    l->v = vd_xrealloc(l->v, l->cap * sizeof(*l->v));
  }
  l->v[l->n++] = slot;
}

static void unpost(struct plist *l, uint32_t slot) {
  for (uint32_t i = 0; i < l->n; i++)
    if (l->v[i] == slot) {
      l->v[i] = l->v[--l->n];
      return;
    }
}

static void postings(struct vd_dup_index *ix, const struct vd_fp *fp, uint32_t slot, int add) {
  for (size_t i = 0; i < fp->n_pic; i += INDEX_STEP) {
    if (fp->pic_flags[i])
      continue;
    uint64_t h[2] = {fp->pic[i], fp->zoom[i]};
    for (int z = 0; z < 2; z++)
      for (int b = 0; b < PBANDS; b++) {
        struct plist *l = &ix->pic[b * KEYS + ((h[z] >> (16 * b)) & 0xffff)];
        add ? post(l, slot) : unpost(l, slot);
      }
  }
  for (size_t i = 0; i < fp->n_snd; i += INDEX_STEP) {
    if (fp->snd_flags[i])
      continue;
    for (int b = 0; b < SBANDS; b++) {
      struct plist *l = &ix->snd[b * KEYS + ((fp->snd[i] >> (16 * b)) & 0xffff)];
      add ? post(l, slot) : unpost(l, slot);
    }
  }
}

static void drop_slot(struct vd_dup_index *ix, uint32_t slot) {
  struct slot *s = &ix->slots[slot];
  postings(ix, s->fp, slot, 0);
  free(s->id);
  vd_fp_free(s->fp);
  s->id = NULL;
  s->fp = NULL;
  ix->free_slots = vd_xrealloc(ix->free_slots, (ix->nfree + 1) * sizeof(*ix->free_slots));
  ix->free_slots[ix->nfree++] = slot;
  ix->live--;
}

int vd_dup_index_add(struct vd_dup_index *ix, const char *id, struct vd_fp *fp, struct vd_err *err) {
  if (!id || !*id || !fp) {
    vd_fp_free(fp);
    return vd_err_set(err, VD_ERR_INVALID, "a fingerprint needs an id");
  }
  pthread_rwlock_wrlock(&ix->lock);
  size_t at = map_find(ix, id);
  if (ix->map[at]) {
    uint32_t old = ix->map[at] - 1;
    map_delete(ix, at);
    drop_slot(ix, old);
  }
  if ((ix->live + 1) * 2 > ix->capmap)
    map_grow(ix);
  uint32_t slot;
  if (ix->nfree) {
    slot = ix->free_slots[--ix->nfree];
  } else {
    if (ix->nslots == ix->capslots) {
      ix->capslots = ix->capslots ? ix->capslots * 2 : 64;
      ix->slots = vd_xrealloc(ix->slots, ix->capslots * sizeof(*ix->slots));
    }
    slot = (uint32_t)ix->nslots++;
  }
  ix->slots[slot] = (struct slot){vd_xstrdup(id), fp};
  ix->map[map_find(ix, id)] = slot + 1;
  ix->live++;
  postings(ix, fp, slot, 1);
  pthread_rwlock_unlock(&ix->lock);
  return 0;
}

int vd_dup_index_remove(struct vd_dup_index *ix, const char *id) {
  if (!id)
    return VD_ERR_NOT_FOUND;
  pthread_rwlock_wrlock(&ix->lock);
  size_t at = map_find(ix, id);
  int ret = VD_ERR_NOT_FOUND;
  if (ix->map[at]) {
    uint32_t slot = ix->map[at] - 1;
    map_delete(ix, at);
    drop_slot(ix, slot);
    ret = 0;
  }
  pthread_rwlock_unlock(&ix->lock);
  return ret;
}

/* ---- query ------------------------------------------------------------------------ */

struct votes {
  uint32_t *n;    /* per slot: query samples that hit it */
  uint32_t *last; /* per slot: the last query sample counted (+1) */
};

static void vote(const struct plist *l, size_t stop, uint32_t sample, struct votes *v) {
  if (l->n > stop)
    return;
  for (uint32_t k = 0; k < l->n; k++) {
    uint32_t s = l->v[k];
    if (v->last[s] != sample + 1) {
      v->last[s] = sample + 1;
      v->n[s]++;
    }
  }
}

struct cand {
  uint32_t slot;
  double share;
};

static int cand_cmp(const void *a, const void *b) {
  const struct cand *x = a, *y = b;
  return (y->share > x->share) - (y->share < x->share);
}

/*
 * Adds to `set` the slots whose votes are a fair share of what they could
 * be: a reference shorter than the query can only be hit by the query
 * samples that fall in its length. Background hits (a key shared by
 * chance) give every video a few votes whatever the library's size; a
 * copy hits with most samples. At most CAND_MAX, the best shares first.
 */
static void top(const struct vd_dup_index *ix, const struct votes *v, uint32_t nvoted,
                double qsecs, int sound, struct cand *tmp, uint8_t *set) {
  size_t n = 0;
  for (size_t s = 0; s < ix->nslots; s++) {
    if (v->n[s] < MIN_VOTES || !ix->slots[s].fp)
      continue;
    const struct vd_fp *fp = ix->slots[s].fp;
    double rsecs = sound ? vd_fp_sound_seconds(fp) : vd_fp_picture_seconds(fp);
    double possible = nvoted;
    if (qsecs > 0 && rsecs < qsecs)
      possible = nvoted * rsecs / qsecs;
    if (possible < MIN_VOTES)
      possible = MIN_VOTES;
    double share = v->n[s] / possible;
    if (share >= MIN_SHARE)
      tmp[n++] = (struct cand){(uint32_t)s, share};
  }
  qsort(tmp, n, sizeof(*tmp), cand_cmp);
  for (size_t i = 0; i < n && i < CAND_MAX; i++)
    set[tmp[i].slot] = 1;
}

static double rank(const struct vd_dup_hit *h) {
  const struct vd_dup_match *m = &h->match;
  double p = m->picture < 0 ? 0 : m->picture, s = m->sound < 0 ? 0 : m->sound;
  int tier = m->verdict == VD_DUP_VERDICT_DUPLICATE ? 2 : 1;
  double sim = m->verdict == VD_DUP_VERDICT_SAME_SOUND ? s
               : m->verdict == VD_DUP_VERDICT_SAME_PICTURE ? p
                                                            : (p + s) / 2;
  return tier * 10 + sim + m->coverage / 100;
}

static int hit_cmp(const void *a, const void *b) {
  double x = rank(a), y = rank(b);
  return (y > x) - (y < x);
}

int vd_dup_index_query(struct vd_dup_index *ix, const struct vd_fp *q, const char *exclude_id,
                       size_t max, struct vd_dup_hit **hits, size_t *n, struct vd_err *err) {
  *hits = NULL;
  *n = 0;
  if (!q)
    return vd_err_set(err, VD_ERR_INVALID, "no fingerprint to look for");
  pthread_rwlock_rdlock(&ix->lock);
  size_t ns = ix->nslots, stop = ix->live / 8 > STOP_MIN ? ix->live / 8 : STOP_MIN;
  struct votes pv = {vd_xcalloc(ns + 1, 4), vd_xcalloc(ns + 1, 4)};
  struct votes sv = {vd_xcalloc(ns + 1, 4), vd_xcalloc(ns + 1, 4)};
  size_t step = q->pic_info > QUERY_MAX ? q->pic_info / QUERY_MAX : 1, k = 0;
  uint32_t sample = 0;
  for (size_t i = 0; i < q->n_pic; i++) {
    if (q->pic_flags[i] || k++ % step)
      continue;
    /* whole and zoom, as is and mirrored, as one sample: any may hit */
    uint64_t h[4] = {q->pic[i], vd_fp_mirror(q->pic[i]), q->zoom[i], vd_fp_mirror(q->zoom[i])};
    for (int m = 0; m < 4; m++)
      for (int b = 0; b < PBANDS; b++)
        vote(&ix->pic[b * KEYS + ((h[m] >> (16 * b)) & 0xffff)], stop, sample, &pv);
    sample++;
  }
  uint32_t npv = sample;
  step = q->snd_info > QUERY_MAX ? q->snd_info / QUERY_MAX : 1;
  k = 0;
  sample = 0;
  for (size_t i = 0; i < q->n_snd; i++) {
    if (q->snd_flags[i] || k++ % step)
      continue;
    for (int b = 0; b < SBANDS; b++)
      vote(&ix->snd[b * KEYS + ((q->snd[i] >> (16 * b)) & 0xffff)], stop, sample, &sv);
    sample++;
  }
  uint32_t nsv = sample;
  uint8_t *set = vd_xcalloc(ns + 1, 1);
  struct cand *tmp = vd_xmalloc((ns + 1) * sizeof(*tmp));
  top(ix, &pv, npv, vd_fp_picture_seconds(q), 0, tmp, set);
  top(ix, &sv, nsv, vd_fp_sound_seconds(q), 1, tmp, set);
  free(tmp);
  free(pv.n);
  free(pv.last);
  free(sv.n);
  free(sv.last);
  struct vd_dup_hit *out = NULL;
  size_t nout = 0;
  for (size_t s = 0; s < ns; s++) {
    if (!set[s] || !ix->slots[s].id || (exclude_id && !strcmp(ix->slots[s].id, exclude_id)))
      continue;
    struct vd_dup_match m;
    vd_dup_compare(q, ix->slots[s].fp, &m);
    if (m.verdict == VD_DUP_VERDICT_NONE)
      continue;
    out = vd_xrealloc(out, (nout + 1) * sizeof(*out));
    out[nout].id = vd_xstrdup(ix->slots[s].id);
    out[nout++].match = m;
  }
  free(set);
  pthread_rwlock_unlock(&ix->lock);
  if (nout)
    qsort(out, nout, sizeof(*out), hit_cmp);
  while (nout > max)
    free(out[--nout].id);
  if (!nout) {
    free(out);
    out = NULL;
  }
  *hits = out;
  *n = nout;
  return 0;
}

void vd_dup_hits_free(struct vd_dup_hit *hits, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(hits[i].id);
  free(hits);
}

int vd_dup_index_contains(struct vd_dup_index *ix, const char *id) {
  if (!id)
    return 0;
  pthread_rwlock_rdlock(&ix->lock);
  int has = ix->map[map_find(ix, id)] != 0;
  pthread_rwlock_unlock(&ix->lock);
  return has;
}
