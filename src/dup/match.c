/*
 * match.c: comparing two fingerprints (vd_dup_compare).
 *
 * DESIGN
 * - Both series are compared the same way: find the alignment "reference
 *   time = s * query time + offset" under which the most samples agree,
 *   then measure agreement over the part where both videos exist.
 *   s covers small speed changes (0.9 .. 1.1); the offset covers trims,
 *   fragments and intros.
 * - Finding it: a sparse set of query samples (at most ALIGN_Q) is compared
 *   with every informative reference sample; each pair within VOTE bits
 *   votes for the offset it implies, for each speed. The best bins are then
 *   evaluated over every sample, refined by half a bin and by finer speeds.
 *   The pairs are found once; only the voting repeats per speed.
 * - Picture: a query sample agrees when a reference sample within one step
 *   of its aligned place is within PIC_AGREE bits (the neighbours absorb
 *   sampling phase and speed rounding). The query is tried as is and
 *   mirrored (one XOR, see phash.c); the better counts.
 * - Sound: AcoustID-style bit error rate of aligned Chromaprint words.
 *   When the picture agrees, the sound is looked for only near the
 *   picture's alignment (a duplicate's sound runs with its picture);
 *   otherwise it gets its own search. Similarity is 1 - 2 * BER, so
 *   unrelated sound scores about 0 and identical sound 1. Where both are
 *   silent nothing is counted; where one is, the word counts as chance.
 * - Thresholds are the measured ones documented in docs/dup.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "dup/dup_int.h"

#define ALIGN_Q 256     /* query samples that vote */
#define ALIGN_PER_Q 16  /* votes one query sample may cast */
#define PIC_VOTE 8      /* bits (of 64) for a picture pair to vote */
#define PIC_AGREE 10    /* bits (of 64) for an aligned picture sample to agree */
#define SND_VOTE 4      /* bits (of 32) for a sound pair to vote */
#define SND_GOOD 10     /* bits (of 32) for an aligned word to count as covered */
#define PIC_SIM_MIN 0.5 /* share of aligned samples that must agree */
#define SND_SIM_MIN 0.35 /* 1 - 2 BER: BER <= 0.325 */
#define COVER_MIN 0.5   /* share of the shorter video that must line up */
#define MIN_SECONDS 2.0 /* matched seconds: less is a coincidence of a few frames */
#define SND_NEAR 1.5    /* seconds around the picture's alignment the sound may sit */

struct series {
  const uint64_t *p; /* picture hashes, or NULL */
  const uint64_t *z; /* picture zoom hashes (with p) */
  const uint32_t *w; /* sound words, or NULL */
  const uint8_t *flags;
  size_t n, info;
  double start, period;
};

struct align {
  double s, off;
  size_t overlap;     /* aligned samples counted */
  size_t agree;       /* picture: agreeing; sound: words within SND_GOOD */
  size_t exact;       /* picture: agreeing at the aligned sample itself */
  double bits;        /* sound: summed bit errors */
  double score;
  int found;
};

struct cfg {
  int sound;
  int window;         /* reference neighbours tried on each side */
  int vote;
  uint64_t qmask;     /* XOR applied to query picture hashes (mirror) */
};

/* Bit count without a library call: the build targets plain x86-64, whose
 * __builtin_popcountll is a call into libgcc, most of a query's time. */
static inline int pop64(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return (int)((x * 0x0101010101010101ull) >> 56);
}

/*
 * Bits that differ between query sample i and reference sample j. For the
 * picture, the least of whole vs whole, whole vs zoom and zoom vs whole:
 * one of the two is a crop of the other (phash.c).
 */
static inline int dist(const struct series *q, const struct cfg *c, size_t i,
                       const struct series *r, size_t j) {
  if (!q->p)
    return pop64(q->w[i] ^ r->w[j]);
  uint64_t qf = q->p[i] ^ c->qmask, qz = q->z[i] ^ c->qmask;
  int a = pop64(qf ^ r->p[j]), b = pop64(qf ^ r->z[j]),
      d = pop64(qz ^ r->p[j]);
  return a < b ? (a < d ? a : d) : (b < d ? b : d);
}
static inline double qt(const struct series *q, size_t i) { return q->start + (double)i * q->period; }

/* Agreement of the whole query under one alignment. */
static void evaluate(const struct series *q, const struct series *r, const struct cfg *c,
                     double s, double off, struct align *a) {
  memset(a, 0, sizeof(*a));
  a->s = s;
  a->off = off;
  for (size_t i = 0; i < q->n; i++) {
    int qflag = q->flags[i] != 0;
    if (qflag && !c->sound)
      continue;
    double jf = (s * qt(q, i) + off - r->start) / r->period;
    long j = lround(jf);
    if (j < 0 || j >= (long)r->n)
      continue;
    int best = 99, any = 0, rflag = 1, at = 99;
    for (long k = j - c->window; k <= j + c->window; k++) {
      if (k < 0 || k >= (long)r->n)
        continue;
      if (r->flags[k]) {
        continue;
      }
      rflag = 0;
      any = 1;
      int d = dist(q, c, i, r, (size_t)k);
      if (d < best)
        best = d;
      if (k == j)
        at = d;
    }
    if (c->sound) {
      if (qflag && r->flags[j])
        continue;                /* both silent: says nothing */
      double bits = (qflag || rflag || !any) ? 16 : best;
      a->overlap++;
      a->bits += bits;
      a->agree += bits <= SND_GOOD;
    } else {
      if (!any)
        continue;
      a->overlap++;
      a->agree += best <= PIC_AGREE;
      a->exact += at <= PIC_AGREE;
    }
  }
  if (c->sound)
    a->score = a->overlap ? ((double)a->overlap * 16 - a->bits) : 0; /* bits better than chance */
  else
    /* the window hides a misalignment by one sample: exact agreement
     * breaks the tie, so the offset is as fine as the sampling */
    a->score = (double)a->agree +
               (a->overlap ? (double)(a->agree + a->exact) / (2.0 * (double)a->overlap) : 0);
  a->found = a->overlap > 0;
}

static void keep_better(struct align *best, const struct align *a) {
  if (a->found && (!best->found || a->score > best->score))
    *best = *a;
}

/* Evaluates at `off` and half a bin on each side. */
static void evaluate3(const struct series *q, const struct series *r, const struct cfg *c, double s,
                      double off, double w, struct align *best) {
  struct align a;
  for (int k = -1; k <= 1; k++) {
    evaluate(q, r, c, s, off + k * w / 2, &a);
    keep_better(best, &a);
  }
}

struct pair {
  float tq, tr;
};

struct cand {
  double s, off;
  int votes;
};

static int cand_cmp(const void *a, const void *b) {
  const struct cand *x = a, *y = b;
  return (y->votes > x->votes) - (y->votes < x->votes);
}

static const double speeds[] = {1.0, 0.975, 1.025, 0.95, 1.05, 0.925, 1.075, 0.9, 1.1};
#define NSPEED (sizeof(speeds) / sizeof(speeds[0]))

/* Query time in the middle of the part that `s`, `off` maps onto the
 * reference: where a speed change pivots, and where the offset is told. */
static double overlap_mid(const struct series *q, const struct series *r, double s, double off) {
  double qlo = q->start, qhi = q->start + (double)q->n * q->period;
  double a = (r->start - off) / s, b = (r->start + (double)r->n * r->period - off) / s;
  if (a < qlo)
    a = qlo;
  if (b > qhi)
    b = qhi;
  return a < b ? (a + b) / 2 : (qlo + qhi) / 2;
}

/*
 * The best alignment over all speeds and offsets (see DESIGN). The shorter
 * series votes: a 30 s reference inside a 2 h query would otherwise meet
 * only the one or two of the query's spread-out voting samples that fall in
 * it. Its alignment is turned round for the evaluation, which always runs
 * query to reference.
 */
static void search(const struct series *q, const struct series *r, const struct cfg *c,
                   struct align *best) {
  memset(best, 0, sizeof(*best));
  int swap = (double)q->n * q->period > (double)r->n * r->period;
  const struct series *vq = swap ? r : q, *vr = swap ? q : r;
  size_t *qi = vd_xmalloc((vq->info ? vq->info : 1) * sizeof(*qi)), nq = 0;
  for (size_t i = 0; i < vq->n; i++)
    if (!vq->flags[i])
      qi[nq++] = i;
  size_t step = nq > ALIGN_Q ? nq / ALIGN_Q : 1;
  size_t *hits = vd_xmalloc((vr->n ? vr->n : 1) * sizeof(*hits));
  struct pair *pairs = NULL;
  size_t np = 0, capp = 0;
  for (size_t a = 0; a < nq; a += step) {
    size_t i = qi[a], nh = 0;
    /* the mirror mask goes with whichever side votes: XOR is symmetric */
    for (size_t j = 0; j < vr->n; j++)
      if (!vr->flags[j] && dist(vq, c, i, vr, j) <= c->vote)
        hits[nh++] = j;
    size_t hs = nh > ALIGN_PER_Q ? nh / ALIGN_PER_Q : 1;
    for (size_t h = 0; h < nh; h += hs) {
      if (np == capp) {
        capp = capp ? capp * 2 : 1024;
        pairs = vd_xrealloc(pairs, capp * sizeof(*pairs));
      }
      pairs[np].tq = (float)qt(vq, i);
      pairs[np++].tr = (float)(vr->start + (double)hits[h] * vr->period);
    }
  }
  free(hits);
  free(qi);
  if (!np) {
    free(pairs);
    return;
  }
  double w = q->period > r->period ? q->period : r->period;
  double qlo = vq->start, qhi = vq->start + (double)vq->n * vq->period;
  double rlo = vr->start, rhi = vr->start + (double)vr->n * vr->period;
  struct cand cands[NSPEED];
  for (size_t k = 0; k < NSPEED; k++) {
    double s = speeds[k];
    double omin = rlo - s * qhi - 2 * w, omax = rhi - s * qlo + 2 * w;
    size_t nb = (size_t)((omax - omin) / w) + 3;
    int *bins = vd_xcalloc(nb, sizeof(*bins));
    for (size_t p = 0; p < np; p++) {
      double o = pairs[p].tr - s * pairs[p].tq;
      long b = lround((o - omin) / w);
      if (b >= 0 && (size_t)b < nb)
        bins[b]++;
    }
    int bv = -1;
    size_t bb = 0;
    for (size_t b = 1; b + 1 < nb; b++) {
      int v = bins[b - 1] + bins[b] + bins[b + 1];
      if (v > bv) {
        bv = v;
        bb = b;
      }
    }
    /* the mean offset of the votes in the winning bins: as fine as the
     * samples' times, not the bins' */
    double centre = omin + (double)bb * w, sum = 0;
    int cnt = 0;
    for (size_t p = 0; p < np; p++) {
      double o = pairs[p].tr - s * pairs[p].tq;
      if (fabs(o - centre) <= 1.5 * w) {
        sum += o;
        cnt++;
      }
    }
    cands[k] = (struct cand){s, cnt ? sum / cnt : centre, bv};
    free(bins);
  }
  free(pairs);
  qsort(cands, NSPEED, sizeof(cands[0]), cand_cmp);
  for (size_t k = 0; k < 4 && k < NSPEED; k++) {
    if (cands[k].votes <= 0)
      continue;
    double sk = cands[k].s, ok = cands[k].off;
    if (swap) { /* r = s q + o  <=>  q = r / s - o / s */
      ok = -ok / sk;
      sk = 1 / sk;
    }
    evaluate3(q, r, c, sk, ok, w, best);
  }
  if (!best->found)
    return;
  /* finer speeds around the best, pivoting on the middle of the overlap */
  double s0 = best->s, o0 = best->off, mid = overlap_mid(q, r, s0, o0);
  static const double fine[] = {-0.01, -0.005, 0.005, 0.01};
  for (size_t k = 0; k < 4; k++) {
    double s = s0 + fine[k];
    evaluate3(q, r, c, s, o0 + (s0 - s) * mid, w, best);
  }
}

static void series_picture(const struct vd_fp *fp, struct series *s) {
  *s = (struct series){.p = fp->pic, .z = fp->zoom, .flags = fp->pic_flags, .n = fp->n_pic, .info = fp->pic_info,
                       .start = fp->pic_start, .period = fp->pic_period};
}
static void series_sound(const struct vd_fp *fp, struct series *s) {
  *s = (struct series){.w = fp->snd, .flags = fp->snd_flags, .n = fp->n_snd, .info = fp->snd_info,
                       .start = fp->snd_start, .period = fp->snd_period};
}

/* Share of the shorter video that `a` matched, and the matched seconds. */
static double coverage(const struct series *q, const struct series *r, const struct align *a,
                       double *seconds) {
  double mq = (double)a->agree * q->period; /* query seconds that agree */
  double qd = (double)q->info * q->period, rd = (double)r->info * r->period;
  *seconds = mq;
  double cov;
  if (qd * a->s <= rd)
    cov = qd > 0 ? mq / qd : 0;
  else
    cov = rd > 0 ? mq * a->s / rd : 0;
  return cov > 1 ? 1 : cov;
}

const char *vd_dup_verdict_name(enum vd_dup_verdict v) {
  switch (v) {
  case VD_DUP_VERDICT_DUPLICATE:
    return "duplicate";
  case VD_DUP_VERDICT_SAME_PICTURE:
    return "same_picture";
  case VD_DUP_VERDICT_SAME_SOUND:
    return "same_sound";
  default:
    return "none";
  }
}

void vd_dup_compare(const struct vd_fp *query, const struct vd_fp *ref, struct vd_dup_match *out) {
  struct series qp, rp, qs, rs;
  series_picture(query, &qp);
  series_picture(ref, &rp);
  series_sound(query, &qs);
  series_sound(ref, &rs);
  int has_p = qp.info >= VD_FP_MIN_PICTURE && rp.info >= VD_FP_MIN_PICTURE;
  int has_s = qs.info >= VD_FP_MIN_SOUND && rs.info >= VD_FP_MIN_SOUND;
  /* one side without picture at all, the other with: not the same video */
  int p_missing_one = !has_p && (qp.info >= VD_FP_MIN_PICTURE || rp.info >= VD_FP_MIN_PICTURE);
  memset(out, 0, sizeof(*out));
  out->picture = out->sound = -1;
  struct align pa = {0}, sa = {0};
  int p_ok = 0, s_ok = 0;
  double p_cov = 0, s_cov = 0, secs;
  if (has_p) {
    struct cfg c = {.window = 1, .vote = PIC_VOTE};
    struct align mirrored;
    search(&qp, &rp, &c, &pa);
    c.qmask = vd_fp_mirror(0);
    search(&qp, &rp, &c, &mirrored);
    if (mirrored.found && (!pa.found || mirrored.score > pa.score))
      pa = mirrored;
    out->picture = pa.overlap ? (double)pa.agree / (double)pa.overlap : 0;
    p_cov = pa.found ? coverage(&qp, &rp, &pa, &secs) : 0;
    p_ok = pa.found && out->picture >= PIC_SIM_MIN && p_cov >= COVER_MIN && secs >= MIN_SECONDS;
  }
  if (has_s) {
    struct cfg c = {.sound = 1, .window = 0, .vote = SND_VOTE};
    if (p_ok) {
      /* near the picture's alignment: its speed +-0.02 (the picture's
       * speed is only as fine as its sampling), offsets in half words */
      memset(&sa, 0, sizeof(sa));
      double step = rs.period / 2, mid = overlap_mid(&qp, &rp, pa.s, pa.off);
      for (int k = -4; k <= 4; k++) {
        double sp = pa.s + 0.005 * k, o = pa.off + (pa.s - sp) * mid;
        for (double d = -SND_NEAR; d <= SND_NEAR + 1e-9; d += step) {
          struct align a;
          evaluate(&qs, &rs, &c, sp, o + d, &a);
          keep_better(&sa, &a);
        }
      }
    } else {
      search(&qs, &rs, &c, &sa);
    }
    double ber = sa.overlap ? sa.bits / (32.0 * (double)sa.overlap) : 0.5;
    out->sound = 1 - 2 * ber < 0 ? 0 : 1 - 2 * ber;
    s_cov = sa.found ? coverage(&qs, &rs, &sa, &secs) : 0;
    s_ok = sa.found && out->sound >= SND_SIM_MIN && s_cov >= COVER_MIN && secs >= MIN_SECONDS;
  }
  /* the offset from the sound when it agrees (words every 0.124 s, and a
   * slow zoom or a still picture leaves the picture's alignment loose),
   * told where the videos overlap, since with a speed change it drifts */
  const struct align *lead = s_ok ? &sa : &pa;
  const struct series *lq = lead == &pa ? &qp : &qs;
  if (lead->found) {
    double mid = overlap_mid(lq, lead == &pa ? &rp : &rs, lead->s, lead->off);
    out->offset = (lead->s - 1) * mid + lead->off;
  }
  out->coverage = p_ok || !s_ok ? p_cov : s_cov;
  if (p_ok)
    out->verdict = (s_ok || !has_s) ? VD_DUP_VERDICT_DUPLICATE : VD_DUP_VERDICT_SAME_PICTURE;
  else if (s_ok)
    out->verdict = (has_p || p_missing_one) ? VD_DUP_VERDICT_SAME_SOUND : VD_DUP_VERDICT_DUPLICATE;
  else
    out->verdict = VD_DUP_VERDICT_NONE;
}
