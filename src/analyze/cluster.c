/*
 * cluster.c: average-linkage agglomerative clustering, shared by people
 * (face tracks by embedding) and storylines (scenes by what they share).
 *
 * Each row keeps its most similar live neighbour, so a merge usually
 * updates rows in O(n) instead of rescanning the whole matrix: n merges
 * cost O(n^2) for typical inputs.
 */
#include <stdlib.h>
#include <string.h>

#include "analyze/cluster.h"
#include "core/util.h"

/* Most similar live neighbour of i, or -1. */
static int row_best(const double *s, const int *size, int n, int i) {
  int b = -1;
  for (int j = 0; j < n; j++)
    if (j != i && size[j] && (b < 0 || s[(size_t)i * (size_t)n + (size_t)j] > s[(size_t)i * (size_t)n + (size_t)b]))
      b = j;
  return b;
}

int vd_cluster_avg_sim(const double *sim, int n, int k, double threshold, int *label) {
  if (n <= 0)
    return 0;
  size_t N = (size_t)n;
  double *s = vd_xmalloc(N * N * sizeof(double));
  memcpy(s, sim, N * N * sizeof(double));
  int *size = vd_xmalloc(N * sizeof(int)), *root = vd_xmalloc(N * sizeof(int));
  int *best = vd_xmalloc(N * sizeof(int));
  for (int i = 0; i < n; i++) {
    size[i] = 1;
    root[i] = i;
  }
  for (int i = 0; i < n; i++)
    best[i] = row_best(s, size, n, i);
  int clusters = n, target = k > 0 ? (k < n ? k : n) : 1;
  while (clusters > target) {
    int a = -1;
    for (int i = 0; i < n; i++)
      if (size[i] && best[i] >= 0 &&
          (a < 0 || s[(size_t)i * N + (size_t)best[i]] > s[(size_t)a * N + (size_t)best[a]]))
        a = i;
    if (a < 0 || (k == 0 && s[(size_t)a * N + (size_t)best[a]] < threshold))
      break;
    int b = best[a];
    if (b < a) { /* the survivor is the lower index: deterministic */
      int t = a;
      a = b;
      b = t;
    }
    for (int x = 0; x < n; x++) {
      if (!size[x] || x == a || x == b)
        continue;
      double v = (size[a] * s[(size_t)a * N + (size_t)x] + size[b] * s[(size_t)b * N + (size_t)x]) /
                 (size[a] + size[b]);
      s[(size_t)a * N + (size_t)x] = s[(size_t)x * N + (size_t)a] = v;
    }
    size[a] += size[b];
    size[b] = 0;
    clusters--;
    for (int x = 0; x < n; x++)
      if (root[x] == b)
        root[x] = a;
    for (int x = 0; x < n; x++) {
      if (!size[x])
        continue;
      if (x == a || best[x] == a || best[x] == b)
        best[x] = row_best(s, size, n, x);
      else if (s[(size_t)x * N + (size_t)a] > s[(size_t)x * N + (size_t)best[x]])
        best[x] = a;
    }
  }
  int nc = 0;
  for (int i = 0; i < n; i++)
    label[i] = -1;
  for (int i = 0; i < n; i++) {
    if (label[i] >= 0)
      continue;
    for (int x = i; x < n; x++)
      if (root[x] == root[i])
        label[x] = nc;
    nc++;
  }
  free(s);
  free(size);
  free(root);
  free(best);
  return nc;
}
