/*
 * ops_detect: the ops detection models keep at the end of their graphs to
 * turn score maps into a fixed-size list of boxes (CenterNet: a 3x3 MaxPool
 * keeps local peaks, then TopKV2 picks the best cells, and GatherV2 plus
 * StridedSlice read each cell's box):
 *
 *   TopKV2        the k largest values of the last axis, best first, and
 *                 their int32 indices (two outputs, "name:0" and "name:1")
 *   GatherV2      rows of `params` along a constant axis, at int32 indices
 *   StridedSlice  a strided window with TF's begin/end/shrink masks
 *
 * GatherV2 and StridedSlice move 4-byte elements and take input 0's dtype.
 * Indices that come from data (GatherV2) are range-checked at run time: one
 * outside the tensor yields zeros where TF would fail, since run() cannot.
 */
#include <string.h>

#include "nn/nn_int.h"

static int64_t ival(const struct vd__nn_tensor *t, int64_t i) { return ((const int32_t *)t->data)[i]; }

/* Product of dims [from, to). */
static int64_t span(const struct vd_nn_shape *s, int from, int to) {
  int64_t n = 1;
  for (int i = from; i < to; i++)
    n *= s->dim[i];
  return n;
}

/* ---- TopKV2 ------------------------------------------------------------------------ */

static int topk_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  if (n->a.index > 1)
    return vd_err_set(e, VD_ERR_INVALID, "has 2 outputs, not %d", n->a.index + 1);
  n->a.dst = n->a.index == 1 ? VD__NN_I32 : VD__NN_F32;
  return 0;
}

static int topk_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                      struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd_nn_shape *s = &in[0].s;
  if (s->rank < 1)
    return vd_err_set(e, VD_ERR_INVALID, "needs an input of rank 1 or more");
  if (vd__nn_count(&in[1].s) != 1)
    return vd_err_set(e, VD_ERR_INVALID, "k must be a scalar");
  int64_t k = ival(&in[1], 0), len = s->dim[s->rank - 1];
  if (k < 0 || k > len)
    return vd_err_set(e, VD_ERR_INVALID, "k = %lld for a last dimension of %lld", (long long)k,
                      (long long)len);
  *out = *s;
  out->dim[s->rank - 1] = k;
  return 0;
}

/* Candidates are (value, index) pairs; scratch holds k of them as a heap. */
struct cand {
  float v;
  int32_t i;
};

static size_t topk_scratch(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                           const struct vd__nn_tensor *out, int threads) {
  return (size_t)out->s.dim[out->s.rank - 1] * (sizeof(struct cand) / sizeof(float));
}

/* The order of the result: larger first, and among equal values the lower
 * index first (TF.js's CPU kernel sorts that way). NaN ranks below all. */
static int better(struct cand a, struct cand b) {
  int an = a.v != a.v, bn = b.v != b.v;
  if (an != bn)
    return bn;
  if (!an && a.v != b.v)
    return a.v > b.v;
  return a.i < b.i;
}

/* Min-heap on better(): the root is the worst of the k kept so far. */
static void sift_down(struct cand *h, int64_t n, int64_t i) {
  for (;;) {
    int64_t l = 2 * i + 1, r = l + 1, w = i;
    if (l < n && better(h[w], h[l]))
      w = l;
    if (r < n && better(h[w], h[r]))
      w = r;
    if (w == i)
      return;
    struct cand t = h[i];
    h[i] = h[w];
    h[w] = t;
    i = w;
  }
}

static void topk_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                     struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  const struct vd_nn_shape *s = &in[0].s;
  int64_t len = s->dim[s->rank - 1], k = out->s.dim[out->s.rank - 1];
  int64_t rows = len ? vd__nn_count(s) / len : 0;
  struct cand *h = (struct cand *)(void *)x->scratch;
  for (int64_t r = 0; r < rows; r++) {
    const float *a = (const float *)in[0].data + r * len;
    int64_t m = 0;
    for (int64_t j = 0; j < len; j++) {
      struct cand c = {a[j], (int32_t)j};
      if (m < k) {
        /* sift up */
        int64_t i = m++;
        h[i] = c;
        while (i > 0 && better(h[(i - 1) / 2], h[i])) {
          struct cand t = h[i];
          h[i] = h[(i - 1) / 2];
          h[(i - 1) / 2] = t;
          i = (i - 1) / 2;
        }
      } else if (k > 0 && better(c, h[0])) {
        h[0] = c;
        sift_down(h, k, 0);
      }
    }
    /* Pop the worst to the back: the heap ends sorted best first. */
    for (int64_t e = m - 1; e > 0; e--) {
      struct cand t = h[0];
      h[0] = h[e];
      h[e] = t;
      sift_down(h, e, 0);
    }
    for (int64_t j = 0; j < k; j++) {
      if (n->a.index == 1)
        ((int32_t *)out->data)[r * k + j] = h[j].i;
      else
        ((float *)out->data)[r * k + j] = h[j].v;
    }
  }
}

/* ---- GatherV2 ---------------------------------------------------------------------- */

static int gather_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  int64_t bd = 0;
  if (vd__nn_attr_int(attr, "batch_dims", &bd) == 0 && bd != 0)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "batch_dims %lld (0 only)", (long long)bd);
  return 0;
}

static int gather_axis(const struct vd__nn_tensor *in, int *ax, struct vd_err *e) {
  return vd__nn_const_axis(&in[2], in[0].s.rank, ax, e);
}

static int gather_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                        struct vd_nn_shape *out, struct vd_err *e) {
  int ax;
  int rc = gather_axis(in, &ax, e);
  if (rc != 0)
    return rc;
  if (in[1].dtype != VD__NN_I32)
    return vd_err_set(e, VD_ERR_INVALID, "indices must be int32");
  const struct vd_nn_shape *p = &in[0].s, *ix = &in[1].s;
  if (p->rank - 1 + ix->rank > VD_NN_MAX_RANK)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "output rank above %d", VD_NN_MAX_RANK);
  out->rank = 0;
  for (int i = 0; i < ax; i++)
    out->dim[out->rank++] = p->dim[i];
  for (int i = 0; i < ix->rank; i++)
    out->dim[out->rank++] = ix->dim[i];
  for (int i = ax + 1; i < p->rank; i++)
    out->dim[out->rank++] = p->dim[i];
  return 0;
}

static void gather_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                       struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  int ax;
  (void)gather_axis(in, &ax, NULL);
  const struct vd_nn_shape *p = &in[0].s;
  int64_t outer = span(p, 0, ax), len = p->dim[ax], inner = span(p, ax + 1, p->rank);
  int64_t ni = vd__nn_count(&in[1].s);
  const int32_t *idx = in[1].data;
  const uint32_t *a = in[0].data;
  uint32_t *o = out->data;
  for (int64_t i = 0; i < outer; i++)
    for (int64_t j = 0; j < ni; j++, o += inner) {
      if (idx[j] >= 0 && idx[j] < len)
        memcpy(o, a + (i * len + idx[j]) * inner, (size_t)inner * 4);
      else
        memset(o, 0, (size_t)inner * 4);
    }
}

/* ---- StridedSlice ------------------------------------------------------------------ */

static int slice_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  int64_t v[5] = {0};
  const char *keys[5] = {"begin_mask", "end_mask", "shrink_axis_mask", "ellipsis_mask",
                         "new_axis_mask"};
  for (int i = 0; i < 5; i++)
    (void)vd__nn_attr_int(attr, keys[i], &v[i]);
  if (v[3] || v[4])
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "ellipsis_mask and new_axis_mask (0 only)");
  n->a.begin_mask = (int)v[0];
  n->a.end_mask = (int)v[1];
  n->a.shrink_mask = (int)v[2];
  return 0;
}

/* Where the slice starts in each input dim, its step, and how many it takes. */
struct slice_geom {
  int64_t start[VD_NN_MAX_RANK], step[VD_NN_MAX_RANK], len[VD_NN_MAX_RANK];
};

static int slice_geom(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                      struct slice_geom *g, struct vd_err *e) {
  const struct vd_nn_shape *s = &in[0].s;
  int64_t nb = vd__nn_count(&in[1].s);
  if (in[1].s.rank != 1 || vd__nn_count(&in[2].s) != nb || vd__nn_count(&in[3].s) != nb)
    return vd_err_set(e, VD_ERR_INVALID, "begin, end and strides must be vectors of one length");
  if (nb > s->rank)
    return vd_err_set(e, VD_ERR_INVALID, "%lld slice dims for a %d-d input", (long long)nb,
                      s->rank);
  for (int i = 0; i < s->rank; i++) {
    int64_t dim = s->dim[i];
    if (i >= nb) {
      g->start[i] = 0, g->step[i] = 1, g->len[i] = dim;
      continue;
    }
    int64_t b = ival(&in[1], i), en = ival(&in[2], i), st = ival(&in[3], i);
    if (st == 0)
      return vd_err_set(e, VD_ERR_INVALID, "stride 0 in dim %d", i);
    if (n->a.shrink_mask >> i & 1) {
      if (b < 0)
        b += dim;
      if (b < 0 || b >= dim)
        return vd_err_set(e, VD_ERR_INVALID, "index %lld out of dim %d of size %lld",
                          (long long)ival(&in[1], i), i, (long long)dim);
      g->start[i] = b, g->step[i] = 1, g->len[i] = 1;
      continue;
    }
    /* Clamp like Python slicing: [0, dim] forwards, [-1, dim - 1] backwards. */
    int64_t lo = st > 0 ? 0 : -1, hi = st > 0 ? dim : dim - 1;
    if (n->a.begin_mask >> i & 1)
      b = st > 0 ? lo : hi;
    else {
      b = b < 0 ? b + dim : b;
      b = b < lo ? lo : b > hi ? hi : b;
    }
    if (n->a.end_mask >> i & 1)
      en = st > 0 ? hi : lo;
    else {
      en = en < 0 ? en + dim : en;
      en = en < lo ? lo : en > hi ? hi : en;
    }
    int64_t len = st > 0 ? (en - b + st - 1) / st : (b - en - st - 1) / -st;
    g->start[i] = b, g->step[i] = st, g->len[i] = len > 0 ? len : 0;
  }
  return 0;
}

static int slice_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                       struct vd_nn_shape *out, struct vd_err *e) {
  struct slice_geom g;
  int rc = slice_geom(n, in, &g, e);
  if (rc != 0)
    return rc;
  out->rank = 0;
  for (int i = 0; i < in[0].s.rank; i++)
    if (!(n->a.shrink_mask >> i & 1))
      out->dim[out->rank++] = g.len[i];
  return 0;
}

static void slice_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                      struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  struct slice_geom g;
  (void)slice_geom(n, in, &g, NULL);
  const struct vd_nn_shape *s = &in[0].s;
  int r = s->rank;
  int64_t total = 1, stride[VD_NN_MAX_RANK], idx[VD_NN_MAX_RANK] = {0};
  for (int i = r - 1; i >= 0; i--) {
    stride[i] = total;
    total *= s->dim[i];
  }
  int64_t cnt = vd__nn_count(&out->s);
  const uint32_t *a = in[0].data;
  uint32_t *o = out->data;
  /* An odometer over the output, in input coordinates. */
  for (int64_t k = 0; k < cnt; k++) {
    int64_t off = 0;
    for (int i = 0; i < r; i++)
      off += (g.start[i] + idx[i] * g.step[i]) * stride[i];
    o[k] = a[off];
    for (int i = r - 1; i >= 0; i--) {
      if (++idx[i] < g.len[i])
        break;
      idx[i] = 0;
    }
  }
}

const struct vd__nn_op vd__nn_ops_detect[] = {
    {"TopKV2", 2, 2, topk_parse, topk_infer, topk_scratch, topk_run, 0, 1u << 1, VD__NN_OP_MULTI},
    {"GatherV2", 3, 3, gather_parse, gather_infer, NULL, gather_run, 0, 1u << 2, VD__NN_OP_TYPED},
    {"StridedSlice", 4, 4, slice_parse, slice_infer, NULL, slice_run, 0, 0xeu, VD__NN_OP_TYPED},
    {NULL, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
};
