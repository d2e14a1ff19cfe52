/*
 * ops_shape: ops that move or reduce data rather than compute it. Identity,
 * Reshape, Squeeze and ExpandDims are views (the plan gives them their
 * input's buffer); Pad/PadV2 (constant), MaxPool/AvgPool over NHWC windows,
 * and the reductions Mean/Sum/Max/Min over constant axes.
 */
#include <math.h>
#include <string.h>

#include "nn/nn_int.h"

/* GCC's -O2 vectorizes loops only when no scalar epilogue is needed, which
 * leaves these element loops scalar; the dynamic cost model vectorizes them
 * (clang does so at -O2 already). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("-fvect-cost-model=dynamic")
#endif

static int64_t ival(const struct vd__nn_tensor *t, int64_t i) { return ((const int32_t *)t->data)[i]; }

/* ---- views ------------------------------------------------------------------- */

static int identity_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                          struct vd_nn_shape *out, struct vd_err *e) {
  *out = in[0].s;
  return 0;
}

static int reshape_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                         struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd__nn_tensor *sh = &in[1];
  int64_t k = vd__nn_count(&sh->s), have = vd__nn_count(&in[0].s), prod = 1;
  if (sh->s.rank > 1 || k > VD_NN_MAX_RANK)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "target shape must be a vector of at most %d dims",
                      VD_NN_MAX_RANK);
  int free_dim = -1;
  out->rank = (int)k;
  for (int i = 0; i < (int)k; i++) {
    int64_t d = ival(sh, i);
    if (d == -1 && free_dim < 0) {
      free_dim = i;
      continue;
    }
    if (d < 0)
      return vd_err_set(e, VD_ERR_INVALID, "target dimension %lld", (long long)d);
    out->dim[i] = d;
    prod *= d;
    if (prod > ((int64_t)1 << 40))
      return vd_err_set(e, VD_ERR_LIMIT, "target shape too large");
  }
  if (free_dim >= 0) {
    if (prod == 0 || have % prod != 0)
      return vd_err_set(e, VD_ERR_INVALID, "%lld elements do not fill the target shape",
                        (long long)have);
    out->dim[free_dim] = have / prod;
    prod = have;
  }
  if (prod != have) {
    char sb[96];
    return vd_err_set(e, VD_ERR_INVALID, "%lld elements cannot become %s", (long long)have,
                      vd__nn_shape_str(out, sb, sizeof(sb)));
  }
  return 0;
}

static int squeeze_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  int64_t v[VD_NN_MAX_RANK];
  int k = vd__nn_attr_ints(attr, "squeeze_dims", v, VD_NN_MAX_RANK);
  if (k < 0)
    k = vd__nn_attr_ints(attr, "axis", v, VD_NN_MAX_RANK);
  if (k < 0)
    k = 0;
  for (int i = 0; i < k; i++) {
    if (v[i] < -VD_NN_MAX_RANK || v[i] >= VD_NN_MAX_RANK)
      return vd_err_set(e, VD_ERR_INVALID, "squeeze dimension %lld", (long long)v[i]);
    n->a.squeeze[i] = (int)v[i];
  }
  n->a.n_squeeze = k;
  return 0;
}

static int squeeze_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                         struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd_nn_shape *s = &in[0].s;
  int drop[VD_NN_MAX_RANK] = {0};
  for (int i = 0; i < n->a.n_squeeze; i++) {
    int d = n->a.squeeze[i] < 0 ? n->a.squeeze[i] + s->rank : n->a.squeeze[i];
    if (d < 0 || d >= s->rank || s->dim[d] != 1)
      return vd_err_set(e, VD_ERR_INVALID, "cannot squeeze dimension %d", n->a.squeeze[i]);
    drop[d] = 1;
  }
  out->rank = 0;
  for (int i = 0; i < s->rank; i++)
    if (!(n->a.n_squeeze ? drop[i] : s->dim[i] == 1))
      out->dim[out->rank++] = s->dim[i];
  return 0;
}

static int expand_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                        struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd_nn_shape *s = &in[0].s;
  if (vd__nn_count(&in[1].s) != 1 || s->rank >= VD_NN_MAX_RANK)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "needs one axis and rank below %d", VD_NN_MAX_RANK);
  int64_t ax = ival(&in[1], 0);
  if (ax < 0)
    ax += s->rank + 1;
  if (ax < 0 || ax > s->rank)
    return vd_err_set(e, VD_ERR_INVALID, "axis %lld", (long long)ival(&in[1], 0));
  out->rank = s->rank + 1;
  for (int i = 0, j = 0; i < out->rank; i++)
    out->dim[i] = i == ax ? 1 : s->dim[j++];
  return 0;
}

static void view_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                     struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  /* Never called: the plan aliases the buffer. */
}

/* ---- Pad ------------------------------------------------------------------------ */

static int pad_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                     struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd_nn_shape *s = &in[0].s, *p = &in[1].s;
  if (p->rank != 2 || p->dim[0] != s->rank || p->dim[1] != 2)
    return vd_err_set(e, VD_ERR_INVALID, "paddings must be [%d,2]", s->rank);
  if (n->n_in == 3 && (in[2].dtype != VD__NN_F32 || !in[2].data || vd__nn_count(&in[2].s) != 1))
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "the pad value must be a constant float scalar");
  *out = *s;
  for (int i = 0; i < s->rank; i++) {
    int64_t b = ival(&in[1], 2 * i), a = ival(&in[1], 2 * i + 1);
    if (b < 0 || a < 0 || b > 65536 || a > 65536)
      return vd_err_set(e, VD_ERR_UNSUPPORTED, "padding %lld,%lld (0..65536 only)", (long long)b,
                        (long long)a);
    out->dim[i] += b + a;
  }
  return 0;
}

static void pad_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                    struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  const struct vd_nn_shape *s = &in[0].s, *os = &out->s;
  float v = n->n_in == 3 ? *(const float *)in[2].data : 0.0f;
  float *o = out->data;
  const float *a = in[0].data;
  int64_t total = vd__nn_count(os), cnt = vd__nn_count(s);
  for (int64_t i = 0; i < total; i++)
    o[i] = v;
  if (cnt == 0)
    return;
  int r = s->rank;
  if (r == 0) {
    o[0] = a[0];
    return;
  }
  int64_t ostride[VD_NN_MAX_RANK], before[VD_NN_MAX_RANK], idx[VD_NN_MAX_RANK] = {0};
  int64_t st = 1;
  for (int d = r - 1; d >= 0; d--) {
    ostride[d] = st;
    st *= os->dim[d];
    before[d] = ival(&in[1], 2 * d);
  }
  int64_t inner = s->dim[r - 1], rows = cnt / inner;
  for (int64_t row = 0; row < rows; row++) {
    int64_t off = before[r - 1];
    for (int d = 0; d < r - 1; d++)
      off += (idx[d] + before[d]) * ostride[d];
    memcpy(o + off, a + row * inner, (size_t)inner * sizeof(float));
    for (int d = r - 2; d >= 0; d--) {
      if (++idx[d] < s->dim[d])
        break;
      idx[d] = 0;
    }
  }
}

/* ---- pooling -------------------------------------------------------------------- */

static int pool_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  int rc = vd__nn_parse_window(n, attr, e);
  if (rc != 0)
    return rc;
  if (n->a.pad == VD__NN_PAD_EXPLICIT)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "EXPLICIT padding in pooling");
  int64_t k[4];
  if (vd__nn_attr_ints(attr, "ksize", k, 4) != 4 || k[0] != 1 || k[3] != 1 || k[1] < 1 ||
      k[2] < 1 || k[1] > 1024 || k[2] > 1024)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "ksize must be [1,h,w,1] with 1 <= h,w <= 1024");
  n->a.ksize[0] = (int)k[1];
  n->a.ksize[1] = (int)k[2];
  return 0;
}

static int pool_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                      struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd_nn_shape *s = &in[0].s;
  if (s->rank != 4)
    return vd_err_set(e, VD_ERR_INVALID, "needs a 4-d input");
  struct vd__nn_geom g;
  int rc = vd__nn_window(&n->a, s->dim[1], s->dim[2], n->a.ksize[0], n->a.ksize[1], &g, e);
  *out = (struct vd_nn_shape){4, {s->dim[0], g.oh, g.ow, s->dim[3]}};
  return rc;
}

struct pool_job {
  const struct vd__nn_node *n;
  const struct vd__nn_tensor *in;
  struct vd__nn_tensor *out;
  struct vd__nn_geom g;
  int avg;
};

static void pool_task(void *arg, int64_t b, int64_t e, int thread) {
  const struct pool_job *j = arg;
  const struct vd_nn_shape *s = &j->in[0].s;
  int64_t H = s->dim[1], W = s->dim[2], C = s->dim[3];
  int64_t kh = j->n->a.ksize[0], kw = j->n->a.ksize[1];
  for (int64_t t = b; t < e; t++) {
    int64_t img = t / j->g.oh, oy = t % j->g.oh;
    const float *x = (const float *)j->in[0].data + img * H * W * C;
    float *o = (float *)j->out->data + (img * j->g.oh + oy) * j->g.ow * C;
    int64_t iy0 = oy * j->n->a.stride[0] - j->g.pt;
    for (int64_t ox = 0; ox < j->g.ow; ox++, o += C) {
      int64_t ix0 = ox * j->n->a.stride[1] - j->g.pl, cnt = 0;
      for (int64_t c = 0; c < C; c++)
        o[c] = j->avg ? 0.0f : -INFINITY;
      for (int64_t ky = 0; ky < kh; ky++) {
        int64_t iy = iy0 + ky;
        if (iy < 0 || iy >= H)
          continue;
        for (int64_t kx = 0; kx < kw; kx++) {
          int64_t ix = ix0 + kx;
          if (ix < 0 || ix >= W)
            continue;
          const float *p = x + (iy * W + ix) * C;
          cnt++;
          if (j->avg)
            for (int64_t c = 0; c < C; c++)
              o[c] += p[c];
          else
            for (int64_t c = 0; c < C; c++)
              o[c] = p[c] > o[c] ? p[c] : o[c];
        }
      }
      if (j->avg && cnt > 0)
        for (int64_t c = 0; c < C; c++)
          o[c] /= (float)cnt;
    }
  }
}

static void pool_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                     struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  struct pool_job j = {n, in, out, {0}, n->opname[0] == 'A'};
  const struct vd_nn_shape *s = &in[0].s;
  (void)vd__nn_window(&n->a, s->dim[1], s->dim[2], n->a.ksize[0], n->a.ksize[1], &j.g, NULL);
  vd__nn_parallel(x->pool, s->dim[0] * j.g.oh, 2, pool_task, &j);
}

/* ---- reductions ------------------------------------------------------------------ */

enum { R_MEAN, R_SUM, R_MAX, R_MIN };

static int reduce_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  (void)vd__nn_attr_bool(attr, "keep_dims", &n->a.keep_dims);
  const char *o = n->opname;
  n->a.code = strcmp(o, "Mean") == 0 ? R_MEAN : strcmp(o, "Sum") == 0 ? R_SUM
              : strcmp(o, "Max") == 0 ? R_MAX : R_MIN;
  return 0;
}

/* Marks reduced dims in red[]; returns 0 or an error. */
static int reduce_axes(const struct vd__nn_tensor *in, int red[VD_NN_MAX_RANK], struct vd_err *e) {
  int r = in[0].s.rank;
  int64_t k = vd__nn_count(&in[1].s);
  memset(red, 0, sizeof(int) * VD_NN_MAX_RANK);
  if (in[1].s.rank > 1 || k > VD_NN_MAX_RANK)
    return vd_err_set(e, VD_ERR_INVALID, "axes must be a scalar or a short vector");
  for (int64_t i = 0; i < k; i++) {
    int64_t ax = ival(&in[1], i);
    if (ax < 0)
      ax += r;
    if (ax < 0 || ax >= r)
      return vd_err_set(e, VD_ERR_INVALID, "axis %lld for rank %d", (long long)ival(&in[1], i), r);
    red[ax] = 1;
  }
  return 0;
}

static int reduce_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                        struct vd_nn_shape *out, struct vd_err *e) {
  int red[VD_NN_MAX_RANK];
  int rc = reduce_axes(in, red, e);
  if (rc != 0)
    return rc;
  out->rank = 0;
  for (int i = 0; i < in[0].s.rank; i++) {
    if (red[i] && in[0].s.dim[i] == 0 && n->a.code >= R_MAX)
      return vd_err_set(e, VD_ERR_INVALID, "max/min over an empty dimension");
    if (!red[i])
      out->dim[out->rank++] = in[0].s.dim[i];
    else if (n->a.keep_dims)
      out->dim[out->rank++] = 1;
  }
  return 0;
}

static void reduce_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                       struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  int red[VD_NN_MAX_RANK];
  (void)reduce_axes(in, red, NULL);
  const struct vd_nn_shape *s = &in[0].s;
  int r = s->rank, op = n->a.code;
  float *o = out->data;
  const float *a = in[0].data;
  int64_t ocnt = vd__nn_count(&out->s), cnt = vd__nn_count(s), reduced = ocnt ? cnt / ocnt : 0;
  float init = op == R_MAX ? -INFINITY : op == R_MIN ? INFINITY : 0.0f;
  for (int64_t i = 0; i < ocnt; i++)
    o[i] = init;
  if (cnt == 0 || r == 0) {
    if (r == 0 && cnt == 1)
      o[0] = a[0];
    return;
  }
  /* Output stride of each input dim: 0 where reduced. */
  int64_t ost[VD_NN_MAX_RANK], st = 1, idx[VD_NN_MAX_RANK] = {0};
  for (int d = r - 1; d >= 0; d--) {
    ost[d] = red[d] ? 0 : st;
    if (!red[d])
      st *= s->dim[d];
  }
  int64_t inner = s->dim[r - 1], rows = cnt / inner, is = ost[r - 1];
  for (int64_t row = 0; row < rows; row++) {
    int64_t off = 0;
    for (int d = 0; d < r - 1; d++)
      off += idx[d] * ost[d];
    const float *p = a + row * inner;
    float *q = o + off;
    switch (op) {
    case R_MAX:
      for (int64_t i = 0; i < inner; i++)
        q[i * is] = p[i] > q[i * is] ? p[i] : q[i * is];
      break;
    case R_MIN:
      for (int64_t i = 0; i < inner; i++)
        q[i * is] = p[i] < q[i * is] ? p[i] : q[i * is];
      break;
    default:
      if (is == 1) /* the innermost dim kept (a Mean over H and W): a loop GCC vectorizes */
        for (int64_t i = 0; i < inner; i++)
          q[i] += p[i];
      else
        for (int64_t i = 0; i < inner; i++)
          q[i * is] += p[i];
      break;
    }
    for (int d = r - 2; d >= 0; d--) {
      if (++idx[d] < s->dim[d])
        break;
      idx[d] = 0;
    }
  }
  if (op == R_MEAN && reduced > 0)
    for (int64_t i = 0; i < ocnt; i++)
      o[i] /= (float)reduced;
}

const struct vd__nn_op vd__nn_ops_shape[] = {
    {"Identity", 1, 1, NULL, identity_infer, NULL, view_run, 1, 0, 0},
    {"Snapshot", 1, 1, NULL, identity_infer, NULL, view_run, 1, 0, 0},
    {"StopGradient", 1, 1, NULL, identity_infer, NULL, view_run, 1, 0, 0},
    {"Reshape", 2, 2, NULL, reshape_infer, NULL, view_run, 1, 1u << 1, 0},
    {"Squeeze", 1, 1, squeeze_parse, squeeze_infer, NULL, view_run, 1, 0, 0},
    {"ExpandDims", 2, 2, NULL, expand_infer, NULL, view_run, 1, 1u << 1, 0},
    {"Pad", 2, 2, NULL, pad_infer, NULL, pad_run, 0, 1u << 1, 0},
    {"PadV2", 3, 3, NULL, pad_infer, NULL, pad_run, 0, 1u << 1, 0},
    {"MaxPool", 1, 1, pool_parse, pool_infer, NULL, pool_run, 0, 0, 0},
    {"AvgPool", 1, 1, pool_parse, pool_infer, NULL, pool_run, 0, 0, 0},
    {"Mean", 2, 2, reduce_parse, reduce_infer, NULL, reduce_run, 0, 1u << 1, 0},
    {"Sum", 2, 2, reduce_parse, reduce_infer, NULL, reduce_run, 0, 1u << 1, 0},
    {"Max", 2, 2, reduce_parse, reduce_infer, NULL, reduce_run, 0, 1u << 1, 0},
    {"Min", 2, 2, reduce_parse, reduce_infer, NULL, reduce_run, 0, 1u << 1, 0},
    {NULL, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
};
