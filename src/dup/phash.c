/*
 * phash.c: the perceptual hash of one picture (see vd_fp_hash_picture).
 *
 * DESIGN
 * - Black borders first: rows and columns at the edges that are dark and
 *   even (letterbox, pillarbox, padding) are cut off, so a copy with bars
 *   hashes like the original. Only dark borders are cut: cutting any even
 *   edge (a blue sky) would cut the original and not the copy whose bar
 *   joins the sky, and the two would differ.
 * - The rest is shrunk to 32x32 by exact area averaging (mirror-symmetric,
 *   so the mirror property below holds bit for bit), then a 2-D DCT-II is
 *   taken of its lowest 9x8 frequencies.
 * - Bit = sign of a coefficient, for the 8x8 lowest frequencies but (0,0),
 *   plus (8,0): 64 bits. Signs, not comparisons with a median: a change of
 *   brightness moves only the mean (0,0), a change of contrast scales every
 *   coefficient, and neither changes a sign. A horizontal mirror multiplies
 *   coefficient (u,v) by (-1)^u, so the mirror's hash is the hash XOR the
 *   bits of odd u: mirroring costs the matcher one XOR, not a second hash.
 * - Low frequencies only: re-encoding, shrinking, logos and text touch the
 *   high ones; a mild crop (10%) stretches the picture by ~11%, which moves
 *   the lowest frequencies least.
 * - Crops: a copy cropped by 10% (a common re-upload edit) is the
 *   original stretched by 11%, which moves the higher of these
 *   frequencies enough to flip a fifth of the bits (measured on Tears of
 *   Steel: 6-19 bits, against 21+ between unrelated pictures). So each
 *   sample also keeps a "zoom" hash of its central 90%: a cropped copy's
 *   hash meets the original's zoom hash, and the other way round.
 * - Flat: when the shrunk picture's standard deviation is under 2 grey
 *   levels, or borders leave less than a quarter of either side, the
 *   sample is marked flat and never matches anything.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#include "dup/dup_int.h"

#define N 32
#define NU 9 /* horizontal frequencies used: 0..8 */
#define NV 8 /* vertical: 0..7 */
#define ZOOM_EDGE 0.05 /* the zoom hash leaves out 5% at each edge */

static float cos_tab[NU][N];
static pthread_once_t cos_once = PTHREAD_ONCE_INIT;

static void cos_init(void) {
  for (int u = 0; u < NU; u++)
    for (int x = 0; x < N; x++)
      cos_tab[u][x] = (float)cos(M_PI / N * (x + 0.5) * u);
}

/* Bit index of coefficient (u, v): row-major over 8x8, with (8,0) in the
 * slot (0,0) leaves free. */
static int bit_of(int u, int v) { return u == 8 ? 0 : v * 8 + u; }

uint64_t vd_fp_mirror(uint64_t hash) {
  /* odd u in each row of 8: bits 1,3,5,7 of every byte */
  return hash ^ 0xAAAAAAAAAAAAAAAAull;
}

static int dark_row(const uint8_t *p, int n, int step) {
  long sum = 0, sq = 0;
  for (int i = 0; i < n; i++) {
    int v = p[(long)i * step];
    sum += v;
    sq += (long)v * v;
  }
  double mean = (double)sum / n, var = (double)sq / n - mean * mean;
  return mean <= 40 && var <= 100;
}

/* Area-averages the region (x0, y0, rw, rh) of `src` (fractional edges
 * weigh partly) into N x N floats. */
static void shrink(const uint8_t *src, int stride, double x0, double y0, double rw, double rh,
                   float *dst) {
  int ya = (int)y0, yb = (int)ceil(y0 + rh), xa = (int)x0, xb = (int)ceil(x0 + rw);
  float *tmp = vd_xmalloc((size_t)(yb - ya) * N * sizeof(float)); /* N columns per row */
  double sx = rw / N, sy = rh / N;
  for (int y = ya; y < yb; y++) {
    const uint8_t *row = src + (long)y * stride;
    for (int o = 0; o < N; o++) {
      double a = x0 + o * sx, b = a + sx, acc = 0;
      for (int x = (int)a; x < xb && x < b; x++) {
        double lo = x > a ? x : a, hi = x + 1 < b ? x + 1 : b;
        acc += row[x] * (hi - lo);
      }
      tmp[(y - ya) * N + o] = (float)(acc / sx);
    }
  }
  (void)xa;
  for (int o = 0; o < N; o++) {
    double a = y0 + o * sy, b = a + sy;
    for (int x = 0; x < N; x++) {
      double acc = 0;
      for (int y = (int)a; y < yb && y < b; y++) {
        double lo = y > a ? y : a, hi = y + 1 < b ? y + 1 : b;
        acc += tmp[(y - ya) * N + x] * (hi - lo);
      }
      dst[o * N + x] = (float)(acc / sy);
    }
  }
  free(tmp);
}

/* The 64 sign bits of px's low DCT coefficients; 0 with *flat = 1 when px
 * has no detail. */
static uint64_t dct_bits(const float *px, int *flat) {
  double sum = 0, sq = 0;
  for (int i = 0; i < N * N; i++) {
    sum += px[i];
    sq += (double)px[i] * px[i];
  }
  double mean = sum / (N * N), var = sq / (N * N) - mean * mean;
  *flat = var < 4.0;
  if (*flat)
    return 0;
  /* rows first: r[y][u] = sum_x px[y][x] cos_u(x) */
  float r[N][NU];
  for (int y = 0; y < N; y++)
    for (int u = 0; u < NU; u++) {
      float acc = 0;
      for (int x = 0; x < N; x++)
        acc += px[y * N + x] * cos_tab[u][x];
      r[y][u] = acc;
    }
  uint64_t hash = 0;
  for (int v = 0; v < NV; v++)
    for (int u = 0; u < NU; u++) {
      if ((u == 0 && v == 0) || (u == 8 && v != 0))
        continue;
      float acc = 0;
      for (int y = 0; y < N; y++)
        acc += r[y][u] * cos_tab[v][y];
      if (acc > 0)
        hash |= 1ull << bit_of(u, v);
    }
  return hash;
}

uint64_t vd_fp_hash_picture(const uint8_t *grey, int w, int h, int stride, uint64_t *zoom,
                            int *flat) {
  pthread_once(&cos_once, cos_init);
  *flat = 1;
  *zoom = 0;
  if (!grey || w < 8 || h < 8 || h > 4096 || w > 4096)
    return 0;
  int top = 0, bottom = h, left = 0, right = w;
  while (top < h * 45 / 100 && dark_row(grey + (long)top * stride, w, 1))
    top++;
  while (bottom > h * 55 / 100 && dark_row(grey + (long)(bottom - 1) * stride, w, 1))
    bottom--;
  int rows = bottom - top;
  while (left < w * 45 / 100 && dark_row(grey + (long)top * stride + left, rows, stride))
    left++;
  while (right > w * 55 / 100 && dark_row(grey + (long)top * stride + right - 1, rows, stride))
    right--;
  int cw = right - left, ch = bottom - top;
  if (cw * 4 < w || ch * 4 < h || cw < 8 || ch < 8)
    return 0;
  float px[N * N];
  shrink(grey, stride, left, top, cw, ch, px);
  uint64_t hash = dct_bits(px, flat);
  if (*flat)
    return 0;
  int zflat;
  shrink(grey, stride, left + cw * ZOOM_EDGE, top + ch * ZOOM_EDGE, cw * (1 - 2 * ZOOM_EDGE),
         ch * (1 - 2 * ZOOM_EDGE), px);
  *zoom = dct_bits(px, &zflat);
  return hash;
}
