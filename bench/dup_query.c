/*
 * dup_query.c: query time of the duplicate index (bench/dup.sh builds and
 * runs it). Fills an index with N synthetic videos, 1 to 5 minutes each,
 * shaped like real fingerprints: picture hashes drift a few bits per sample
 * and jump at a "cut" every ~5 s, sound words likewise. Then times queries:
 * noisy 20 s fragments of indexed videos (each must be found as a
 * duplicate) and unrelated videos (nothing may be found).
 * Usage: dup_query N [QUERIES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dup/dup.h"

#define PP 0.25
#define SP (4096.0 / 3 / 11025)

/* splitmix64: consecutive outputs are independent (xorshift's are not
 * enough: its neighbouring outputs share high bits, which made unrelated
 * synthetic videos look alike) */
static uint64_t st = 0x9e3779b97f4a7c15ull;
static uint64_t mix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static uint64_t rnd(void) { return mix(&st); }
static uint64_t st2 = 0x2545f4914f6cdd1dull; /* noise: apart from the videos' own */
static uint64_t noise(void) { return mix(&st2); }
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

struct video {
  uint64_t seed;
  int secs;
};

/* The fingerprint of video `v` from t0 for `secs`, `flips` bits flipped. */
static struct vd_fp *make(const struct video *v, double t0, double secs, int flips) {
  uint64_t keep = st;
  st = v->seed;
  struct vd_fp *fp = vd_fp_new(PP);
  uint64_t h = rnd(), z = rnd();
  for (int i = 0; i * PP < v->secs; i++) {
    if (rnd() % 20 == 0) {
      h = rnd();
      z = rnd();
    }
    h ^= 1ull << (rnd() % 64);
    z ^= 1ull << (rnd() % 64);
    double t = i * PP;
    if (t >= t0 && t < t0 + secs) {
      uint64_t a = h, b = z;
      for (int k = 0; k < flips; k++) {
        a ^= 1ull << (noise() % 64);
        b ^= 1ull << (noise() % 64);
      }
      vd_fp_add_picture(fp, t - t0, a, b, 0);
    }
  }
  int nw = (int)(v->secs / SP), from = (int)(t0 / SP), to = (int)((t0 + secs) / SP);
  uint32_t *w = malloc(sizeof(*w) * (size_t)nw), x = (uint32_t)rnd();
  int n = 0;
  for (int i = 0; i < nw; i++) {
    x ^= 1u << (rnd() % 32);
    if (rnd() % 40 == 0)
      x = (uint32_t)rnd();
    if (i >= from && i < to) {
      uint32_t y = x;
      for (int k = 0; k < flips / 2; k++)
        y ^= 1u << (noise() % 32);
      w[n++] = y;
    }
  }
  vd_fp_set_sound(fp, 0, SP, w, NULL, (size_t)n);
  free(w);
  st = keep;
  return fp;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 10000, nq = argc > 2 ? atoi(argv[2]) : 50;
  if (n < 1 || nq < 1) {
    fprintf(stderr, "usage: dup_query N [QUERIES]\n");
    return 2;
  }
  struct video *vids = calloc((size_t)n, sizeof(*vids));
  struct vd_dup_index *ix = vd_dup_index_new();
  double t0 = now(), total_secs = 0;
  for (int i = 0; i < n; i++) {
    vids[i] = (struct video){rnd() | 1, 60 + (int)(rnd() % 241)};
    total_secs += vids[i].secs;
    char id[32];
    snprintf(id, sizeof(id), "v%d", i);
    if (vd_dup_index_add(ix, id, make(&vids[i], 0, vids[i].secs, 0), NULL) < 0)
      return 1;
  }
  double built = now() - t0;
  printf("index: %d videos, %.1f h of video, built in %.2f s (%.0f videos/s)\n", n,
         total_secs / 3600, built, n / built);
  double worst = 0, sum = 0;
  int found = 0, false_hits = 0;
  for (int q = 0; q < 2 * nq; q++) {
    int dup = q < nq;
    struct video other = {rnd() | 1, 120};
    int k = (int)(rnd() % (uint64_t)n);
    const struct video *v = dup ? &vids[k] : &other;
    double from = dup ? (double)(rnd() % (uint64_t)(v->secs - 20)) : 0;
    struct vd_fp *fp = make(v, from, dup ? 20 : 120, 4);
    struct vd_dup_hit *hits;
    size_t nh;
    double a = now();
    if (vd_dup_index_query(ix, fp, NULL, 5, &hits, &nh, NULL) < 0)
      return 1;
    double d = now() - a;
    sum += d;
    worst = d > worst ? d : worst;
    char id[32];
    snprintf(id, sizeof(id), "v%d", k);
    int ok = dup ? nh && !strcmp(hits[0].id, id) && hits[0].match.verdict == VD_DUP_VERDICT_DUPLICATE
                 : nh == 0;
    found += dup && ok;
    false_hits += !dup && !ok;
    if (!ok)
      printf("  query %d (%s%s): %zu hits%s%s %s picture %.2f sound %.2f\n", q,
             dup ? "fragment of " : "unrelated", dup ? id : "", nh, nh ? ", first " : "",
             nh ? hits[0].id : "", nh ? vd_dup_verdict_name(hits[0].match.verdict) : "",
             nh ? hits[0].match.picture : 0, nh ? hits[0].match.sound : 0);
    vd_dup_hits_free(hits, nh);
    vd_fp_free(fp);
  }
  printf("queries: %d fragments (20 s) found %d; %d unrelated (2 min) matched %d\n", nq, found,
         nq, false_hits);
  printf("query time: mean %.2f ms, worst %.2f ms\n", sum / (2 * nq) * 1000, worst * 1000);
  vd_dup_index_free(ix);
  free(vids);
  return found == nq && !false_hits ? 0 : 1;
}
