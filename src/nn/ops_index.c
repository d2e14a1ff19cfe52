/*
 * ops_index: ops that pick, stack, convert or resample values rather than
 * compute them, mostly the post-processing that models such as MoveNet keep
 * inside the graph: Cast, Pack / Unpack / ConcatV2 (stacking along an axis),
 * ArgMax, GatherNd, and ResizeBilinear (feature-pyramid upsampling).
 *
 * Pack, Unpack, ConcatV2 and GatherNd move 4-byte elements and do not care
 * whether they are float32 or int32 (they are TYPED: the output takes input
 * 0's dtype). Every index that comes from data (GatherNd) is range-checked
 * at run time: an index outside the tensor yields zeros where TF would fail,
 * since run() cannot fail.
 */
#include <math.h>
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

/* A dtype attribute ({"type": "DT_FLOAT"}): enum vd__nn_dtype, 0 if absent, -1 if other. */
static int attr_dtype(json_t *attr, const char *key) {
  const char *t = json_string_value(json_object_get(vd__nn_attr_get(attr, key), "type"));
  if (!t)
    return 0;
  if (strcmp(t, "DT_FLOAT") == 0)
    return VD__NN_F32;
  if (strcmp(t, "DT_INT32") == 0)
    return VD__NN_I32;
  return -1;
}

/* ---- Cast ---------------------------------------------------------------------- */

static int cast_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  int d = attr_dtype(attr, "DstT");
  if (d <= 0)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "casts to float32 and int32 only");
  n->a.dst = d;
  return 0;
}

static int same_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                      struct vd_nn_shape *out, struct vd_err *e) {
  *out = in[0].s;
  return 0;
}

/* float32 → int32 truncates towards zero like TF; NaN gives 0 and values
 * beyond int32 saturate (C leaves that undefined; TF's result is platform's). */
static int32_t f2i(float x) {
  if (!(x == x))
    return 0;
  if (x >= 2147483647.0f)
    return INT32_MAX;
  if (x <= -2147483648.0f)
    return INT32_MIN;
  return (int32_t)x;
}

static void cast_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                     struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  int64_t cnt = vd__nn_count(&out->s);
  if (in[0].dtype == out->dtype) {
    memcpy(out->data, in[0].data, (size_t)cnt * 4);
  } else if (out->dtype == VD__NN_F32) {
    const int32_t *a = in[0].data;
    float *o = out->data;
    for (int64_t i = 0; i < cnt; i++)
      o[i] = (float)a[i];
  } else {
    const float *a = in[0].data;
    int32_t *o = out->data;
    for (int64_t i = 0; i < cnt; i++)
      o[i] = f2i(a[i]);
  }
}

/* ---- Pack / Unpack / ConcatV2 ------------------------------------------------------ */

static int axis_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  int64_t ax = 0;
  (void)vd__nn_attr_int(attr, "axis", &ax);
  if (ax < -VD_NN_MAX_RANK || ax > VD_NN_MAX_RANK)
    return vd_err_set(e, VD_ERR_INVALID, "axis %lld", (long long)ax);
  n->a.axis = (int)ax;
  return 0;
}

static int pack_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                      struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd_nn_shape *s = &in[0].s;
  int ax = n->a.axis < 0 ? n->a.axis + s->rank + 1 : n->a.axis;
  if (s->rank >= VD_NN_MAX_RANK || ax < 0 || ax > s->rank)
    return vd_err_set(e, VD_ERR_INVALID, "axis %d for %d-d inputs", n->a.axis, s->rank);
  for (int k = 1; k < n->n_in; k++) {
    if (in[k].dtype != in[0].dtype)
      return vd_err_set(e, VD_ERR_INVALID, "inputs mix int32 and float32");
    if (in[k].s.rank != s->rank || memcmp(in[k].s.dim, s->dim, sizeof(int64_t) * (size_t)s->rank))
      return vd_err_set(e, VD_ERR_INVALID, "input %d's shape differs from input 0's", k);
  }
  out->rank = s->rank + 1;
  for (int i = 0, j = 0; i < out->rank; i++)
    out->dim[i] = i == ax ? n->n_in : s->dim[j++];
  return 0;
}

static void pack_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                     struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  const struct vd_nn_shape *s = &in[0].s;
  int ax = n->a.axis < 0 ? n->a.axis + s->rank + 1 : n->a.axis;
  int64_t outer = span(s, 0, ax), inner = span(s, ax, s->rank);
  uint32_t *o = out->data;
  for (int64_t i = 0; i < outer; i++)
    for (int k = 0; k < n->n_in; k++, o += inner)
      memcpy(o, (const uint32_t *)in[k].data + i * inner, (size_t)inner * 4);
}

static int unpack_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                        struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd_nn_shape *s = &in[0].s;
  int ax = n->a.axis < 0 ? n->a.axis + s->rank : n->a.axis;
  if (ax < 0 || ax >= s->rank)
    return vd_err_set(e, VD_ERR_INVALID, "axis %d for a %d-d input", n->a.axis, s->rank);
  if (n->a.index >= s->dim[ax])
    return vd_err_set(e, VD_ERR_INVALID, "output %d of %lld", n->a.index, (long long)s->dim[ax]);
  out->rank = 0;
  for (int i = 0; i < s->rank; i++)
    if (i != ax)
      out->dim[out->rank++] = s->dim[i];
  return 0;
}

static void unpack_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                       struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  const struct vd_nn_shape *s = &in[0].s;
  int ax = n->a.axis < 0 ? n->a.axis + s->rank : n->a.axis;
  int64_t outer = span(s, 0, ax), num = s->dim[ax], inner = span(s, ax + 1, s->rank);
  const uint32_t *a = (const uint32_t *)in[0].data + n->a.index * inner;
  uint32_t *o = out->data;
  for (int64_t i = 0; i < outer; i++)
    memcpy(o + i * inner, a + i * num * inner, (size_t)inner * 4);
}

int vd__nn_const_axis(const struct vd__nn_tensor *t, int rank, int *ax, struct vd_err *e) {
  *ax = 0;
  if (!t->data || t->dtype != VD__NN_I32 || vd__nn_count(&t->s) != 1)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "the axis must be a constant int32 scalar");
  int64_t a = ival(t, 0);
  if (a < 0)
    a += rank;
  if (a < 0 || a >= rank)
    return vd_err_set(e, VD_ERR_INVALID, "axis %lld for %d-d inputs", (long long)ival(t, 0), rank);
  *ax = (int)a;
  return 0;
}

/* ConcatV2: N values, then the axis (a constant int32 scalar) as the last input. */
static int concat_axis(const struct vd__nn_node *n, const struct vd__nn_tensor *in, int *ax,
                       struct vd_err *e) {
  return vd__nn_const_axis(&in[n->n_in - 1], in[0].s.rank, ax, e);
}

static int concat_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                        struct vd_nn_shape *out, struct vd_err *e) {
  int ax;
  int rc = concat_axis(n, in, &ax, e);
  if (rc != 0)
    return rc;
  *out = in[0].s;
  for (int k = 1; k < n->n_in - 1; k++) {
    const struct vd_nn_shape *s = &in[k].s;
    if (in[k].dtype != in[0].dtype)
      return vd_err_set(e, VD_ERR_INVALID, "inputs mix int32 and float32");
    if (s->rank != out->rank)
      return vd_err_set(e, VD_ERR_INVALID, "input %d has rank %d, not %d", k, s->rank, out->rank);
    for (int i = 0; i < s->rank; i++)
      if (i != ax && s->dim[i] != out->dim[i])
        return vd_err_set(e, VD_ERR_INVALID, "input %d differs from input 0 in dim %d", k, i);
    out->dim[ax] += s->dim[ax];
  }
  return 0;
}

static void concat_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                       struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  int ax;
  (void)concat_axis(n, in, &ax, NULL);
  int64_t outer = span(&out->s, 0, ax), orow = span(&out->s, ax, out->s.rank);
  uint32_t *o = out->data;
  for (int64_t i = 0; i < outer; i++) {
    int64_t off = 0;
    for (int k = 0; k < n->n_in - 1; k++) {
      int64_t row = span(&in[k].s, ax, in[k].s.rank);
      memcpy(o + i * orow + off, (const uint32_t *)in[k].data + i * row, (size_t)row * 4);
      off += row;
    }
  }
}

/* ---- ArgMax ---------------------------------------------------------------------- */

static int argmax_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  const char *t = json_string_value(json_object_get(vd__nn_attr_get(attr, "output_type"), "type"));
  /* int64 indices are computed as int32 (as TF.js does): tensors here are far smaller. */
  if (t && strcmp(t, "DT_INT32") != 0 && strcmp(t, "DT_INT64") != 0)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "output_type %s", t);
  n->a.dst = VD__NN_I32;
  return 0;
}

static int argmax_axis(const struct vd__nn_tensor *in, int *ax, struct vd_err *e) {
  int rc = vd__nn_const_axis(&in[1], in[0].s.rank, ax, e);
  if (rc != 0)
    return rc;
  if (in[0].s.dim[*ax] == 0)
    return vd_err_set(e, VD_ERR_INVALID, "ArgMax over an empty dimension");
  return 0;
}

static int argmax_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                        struct vd_nn_shape *out, struct vd_err *e) {
  int ax;
  int rc = argmax_axis(in, &ax, e);
  if (rc != 0)
    return rc;
  out->rank = 0;
  for (int i = 0; i < in[0].s.rank; i++)
    if (i != ax)
      out->dim[out->rank++] = in[0].s.dim[i];
  return 0;
}

/* The first index of the largest value (ties go to the lower index, as in TF). */
static void argmax_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                       struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  int ax;
  (void)argmax_axis(in, &ax, NULL);
  const struct vd_nn_shape *s = &in[0].s;
  int64_t outer = span(s, 0, ax), len = s->dim[ax], inner = span(s, ax + 1, s->rank);
  const float *a = in[0].data;
  int32_t *o = out->data;
  for (int64_t i = 0; i < outer; i++)
    for (int64_t j = 0; j < inner; j++) {
      const float *p = a + i * len * inner + j;
      float best = p[0];
      int32_t arg = 0;
      for (int64_t k = 1; k < len; k++)
        if (p[k * inner] > best) {
          best = p[k * inner];
          arg = (int32_t)k;
        }
      o[i * inner + j] = arg;
    }
}

/* ---- GatherNd -------------------------------------------------------------------- */

static int gathernd_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                          struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd_nn_shape *p = &in[0].s, *ix = &in[1].s;
  if (in[1].dtype != VD__NN_I32)
    return vd_err_set(e, VD_ERR_INVALID, "indices must be int32");
  if (ix->rank < 1)
    return vd_err_set(e, VD_ERR_INVALID, "indices must have rank 1 or more");
  int64_t k = ix->dim[ix->rank - 1];
  if (k < 1 || k > p->rank)
    return vd_err_set(e, VD_ERR_INVALID, "index depth %lld for %d-d params", (long long)k, p->rank);
  if (ix->rank - 1 + p->rank - k > VD_NN_MAX_RANK)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "output rank above %d", VD_NN_MAX_RANK);
  out->rank = 0;
  for (int i = 0; i < ix->rank - 1; i++)
    out->dim[out->rank++] = ix->dim[i];
  for (int i = (int)k; i < p->rank; i++)
    out->dim[out->rank++] = p->dim[i];
  return 0;
}

static void gathernd_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                         struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  const struct vd_nn_shape *p = &in[0].s, *ix = &in[1].s;
  int k = (int)ix->dim[ix->rank - 1];
  int64_t slice = span(p, k, p->rank), tuples = span(ix, 0, ix->rank - 1);
  const int32_t *idx = in[1].data;
  const uint32_t *a = in[0].data;
  uint32_t *o = out->data;
  for (int64_t t = 0; t < tuples; t++, idx += k, o += slice) {
    int64_t off = 0;
    int ok = 1;
    for (int d = 0; d < k; d++) {
      ok &= idx[d] >= 0 && idx[d] < p->dim[d];
      off = off * p->dim[d] + idx[d];
    }
    if (ok)
      memcpy(o, a + off * slice, (size_t)slice * 4);
    else
      memset(o, 0, (size_t)slice * 4);
  }
}

/* ---- ResizeBilinear ---------------------------------------------------------------- */

static int resize_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  (void)vd__nn_attr_bool(attr, "align_corners", &n->a.align_corners);
  (void)vd__nn_attr_bool(attr, "half_pixel_centers", &n->a.half_pixel);
  return 0;
}

static int resize_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                        struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd_nn_shape *s = &in[0].s;
  if (s->rank != 4)
    return vd_err_set(e, VD_ERR_INVALID, "needs a 4-d input");
  if (vd__nn_count(&in[1].s) != 2)
    return vd_err_set(e, VD_ERR_INVALID, "size must hold 2 values");
  int64_t h = ival(&in[1], 0), w = ival(&in[1], 1);
  if (h < 1 || w < 1 || h > 65536 || w > 65536)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "size %lldx%lld (1..65536 only)", (long long)h,
                      (long long)w);
  if (s->dim[1] < 1 || s->dim[2] < 1)
    return vd_err_set(e, VD_ERR_INVALID, "empty input");
  *out = (struct vd_nn_shape){4, {s->dim[0], h, w, s->dim[3]}};
  return 0;
}

/* Source position of output coordinate `o` along one axis, as TF.js's CPU
 * kernel computes it (in double; at the edges the fraction may fall outside
 * [0, 1], which extrapolates slightly, as there). */
struct src_pos {
  int64_t lo, hi;
  double frac;
};

static struct src_pos src_of(const struct vd__nn_attr *a, int64_t o, int64_t in, int64_t out) {
  int ac = a->align_corners && out > 1;
  double ratio = (double)(ac ? in - 1 : in) / (double)(ac ? out - 1 : out);
  double f = a->half_pixel ? ratio * ((double)o + 0.5) - 0.5 : ratio * (double)o;
  double fl = floor(f);
  struct src_pos p;
  p.lo = fl > 0 ? (int64_t)fl : 0;
  p.frac = f - (double)p.lo;
  double ce = ceil(f);
  p.hi = ce < (double)(in - 1) ? (int64_t)ce : in - 1;
  if (p.hi < 0)
    p.hi = 0;
  if (p.lo > in - 1)
    p.lo = in - 1;
  return p;
}

struct resize_job {
  const struct vd__nn_node *n;
  const struct vd__nn_tensor *in;
  struct vd__nn_tensor *out;
};

static void resize_task(void *arg, int64_t b, int64_t e, int thread) {
  const struct resize_job *j = arg;
  const struct vd_nn_shape *s = &j->in[0].s, *os = &j->out->s;
  int64_t H = s->dim[1], W = s->dim[2], C = s->dim[3], OH = os->dim[1], OW = os->dim[2];
  for (int64_t t = b; t < e; t++) {
    int64_t img = t / OH, oy = t % OH;
    struct src_pos py = src_of(&j->n->a, oy, H, OH);
    const float *top = (const float *)j->in[0].data + (img * H + py.lo) * W * C;
    const float *bot = (const float *)j->in[0].data + (img * H + py.hi) * W * C;
    float *o = (float *)j->out->data + (img * OH + oy) * OW * C;
    for (int64_t ox = 0; ox < OW; ox++, o += C) {
      struct src_pos px = src_of(&j->n->a, ox, W, OW);
      const float *tl = top + px.lo * C, *tr = top + px.hi * C;
      const float *bl = bot + px.lo * C, *br = bot + px.hi * C;
      for (int64_t c = 0; c < C; c++) {
        double tv = tl[c] + ((double)tr[c] - tl[c]) * px.frac;
        double bv = bl[c] + ((double)br[c] - bl[c]) * px.frac;
        o[c] = (float)(tv + (bv - tv) * py.frac);
      }
    }
  }
}

static void resize_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                       struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  struct resize_job j = {n, in, out};
  vd__nn_parallel(x->pool, out->s.dim[0] * out->s.dim[1], 4, resize_task, &j);
}

const struct vd__nn_op vd__nn_ops_index[] = {
    {"Cast", 1, 1, cast_parse, same_infer, NULL, cast_run, 0, 0, VD__NN_OP_TYPED},
    {"Pack", 1, 64, axis_parse, pack_infer, NULL, pack_run, 0, 0, VD__NN_OP_TYPED},
    {"Unpack", 1, 1, axis_parse, unpack_infer, NULL, unpack_run, 0, 0,
     VD__NN_OP_TYPED | VD__NN_OP_MULTI},
    {"ConcatV2", 2, 65, NULL, concat_infer, NULL, concat_run, 0, 0, VD__NN_OP_TYPED},
    {"ArgMax", 2, 2, argmax_parse, argmax_infer, NULL, argmax_run, 0, 1u << 1, 0},
    {"GatherNd", 2, 2, NULL, gathernd_infer, NULL, gathernd_run, 0, 0, VD__NN_OP_TYPED},
    {"ResizeBilinear", 2, 2, resize_parse, resize_infer, NULL, resize_run, 0, 1u << 1, 0},
    {NULL, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
};
