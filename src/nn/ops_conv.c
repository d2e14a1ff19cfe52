/*
 * ops_conv: the heavy ops. Conv2D (plain and with fused BiasAdd + Relu /
 * Relu6 / LeakyRelu), depthwise Conv2D (plain and fused), MatMul (plain and
 * fused).
 *
 * Convolution is im2col + SGEMM (OpenBLAS when built with it): output pixels
 * are rows, (ky, kx, cin) the inner dimension, so TF's HWIO filter is already
 * the right-hand [K, cout] matrix. A 1x1 stride-1 unpadded convolution skips
 * im2col and multiplies the input itself. Work is split over output rows on
 * the context's pool; each thread builds its rows' columns in its own slice
 * of scratch. The depthwise kernel walks channels in 4- or 8-wide vectors (GCC
 * vector extensions, so it stays portable C): NHWC puts channels innermost,
 * which is what makes it vectorize.
 */
#include <stdint.h>
#include <string.h>

#include "nn/nn_int.h"

/* GCC's -O2 vectorizes loops only when no scalar epilogue is needed, which
 * leaves these element loops scalar; the dynamic cost model vectorizes them
 * (clang does so at -O2 already). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("-fvect-cost-model=dynamic")
#endif

#ifdef VD_HAVE_OPENBLAS
#include <cblas.h>
#endif

/* 16 bytes is the width every x86-64 (SSE2) and arm64 (NEON) CPU has; x86-64
 * CPUs with AVX2 get a 32-byte copy of the depthwise kernel, picked at run time. */
typedef float vf4 __attribute__((vector_size(16)));
#if defined(__x86_64__)
typedef float vf8 __attribute__((vector_size(32)));
#endif

/* ---- shared helpers ---------------------------------------------------------- */

void vd__nn_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                 int64_t ldb, int trans_b, int accumulate, float *C, int64_t ldc) {
  if (M <= 0 || N <= 0)
    return;
#ifdef VD_HAVE_OPENBLAS
  cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N,
              (int)K, 1.0f, A, (int)lda, B, (int)ldb, accumulate ? 1.0f : 0.0f, C, (int)ldc);
#else
  for (int64_t i = 0; i < M; i++) {
    float *c = C + i * ldc;
    if (!accumulate)
      memset(c, 0, (size_t)N * sizeof(float));
    for (int64_t k = 0; k < K; k++) {
      float a = A[i * lda + k];
      if (trans_b)
        for (int64_t j = 0; j < N; j++)
          c[j] += a * B[j * ldb + k];
      else
        for (int64_t j = 0; j < N; j++)
          c[j] += a * B[k * ldb + j];
    }
  }
#endif
}

static inline __attribute__((always_inline)) void activate_body(float *restrict x, int64_t n,
                                                                const struct vd__nn_attr *a) {
  switch (a->act) {
  case VD__NN_ACT_RELU:
    for (int64_t i = 0; i < n; i++)
      x[i] = x[i] > 0 ? x[i] : 0;
    break;
  case VD__NN_ACT_RELU6:
    for (int64_t i = 0; i < n; i++)
      x[i] = x[i] > 0 ? (x[i] < 6 ? x[i] : 6) : 0;
    break;
  case VD__NN_ACT_LEAKY:
    for (int64_t i = 0; i < n; i++)
      x[i] = x[i] > 0 ? x[i] : x[i] * a->alpha;
    break;
  case VD__NN_ACT_HSWISH: {
    /* The same float operations in the same order as the graph's Mul, Add,
     * Relu6 and Mul, so the fused result is bit for bit the unfused one. */
    float k = a->alpha, c = a->beta;
    for (int64_t i = 0; i < n; i++) {
      float s = x[i] * k, r = x[i] + c;
      r = r > 0 ? (r < 6 ? r : 6) : 0;
      x[i] = s * r;
    }
    break;
  }
  default:
    break;
  }
}

#if defined(__x86_64__)
/* The same loops 8 wide. No FMA: the hard-swish must round as the graph's
 * separate Mul and Add do. */
__attribute__((target("avx2"))) static void activate_avx2(float *restrict x, int64_t n,
                                                          const struct vd__nn_attr *a) {
  activate_body(x, n, a);
}
#endif

static atomic_int portable_only;

void vd__nn_portable_only(int on) { atomic_store(&portable_only, on); }

void vd__nn_activate(float *restrict x, int64_t n, const struct vd__nn_attr *a) {
  if (a->act == VD__NN_ACT_NONE)
    return;
#if defined(__x86_64__)
  if (!atomic_load_explicit(&portable_only, memory_order_relaxed) && __builtin_cpu_supports("avx2")) {
    activate_avx2(x, n, a);
    return;
  }
#endif
  activate_body(x, n, a);
}

/* Adds bias[c] to each of `rows` rows of `cols`, then the activation. */
static void bias_act(float *o, int64_t rows, int64_t cols, const float *bias,
                     const struct vd__nn_attr *a) {
  if (bias)
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < cols; j++)
        o[r * cols + j] += bias[j];
  vd__nn_activate(o, rows * cols, a);
}

/*
 * O[M,N] = act(A[M,K] * W[K,N] + bias), a convolution's rows. In blocks of
 * about 64 KiB of output: the activation then runs on a block still in
 * cache, and the bias is written first so the GEMM adds onto it (beta = 1)
 * instead of zeroing the output (OpenBLAS memsets C for beta = 0) and adding
 * the bias in a pass of its own.
 */
static void gemm_bias_act(int64_t M, int64_t N, int64_t K, const float *A, const float *W,
                          const float *bias, const struct vd__nn_attr *a, float *O) {
  int64_t blk = 16384 / N;
  if (blk < 16)
    blk = 16;
  for (int64_t r0 = 0; r0 < M; r0 += blk) {
    int64_t m = M - r0 < blk ? M - r0 : blk;
    float *o = O + r0 * N;
    if (bias) { /* one row, then doubling copies: few calls when rows are short */
      memcpy(o, bias, (size_t)N * sizeof(float));
      for (int64_t r = 1; r < m;) {
        int64_t c = r < m - r ? r : m - r;
        memcpy(o + r * N, o, (size_t)(c * N) * sizeof(float));
        r += c;
      }
    }
    vd__nn_gemm(m, N, K, A + r0 * K, K, W, N, 0, bias != NULL, o, N);
    vd__nn_activate(o, m * N, a);
  }
}

int vd__nn_parse_window(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  char buf[32];
  int64_t v[8];
  if (vd__nn_attr_str(attr, "data_format", buf, sizeof(buf)) == 0 && strcmp(buf, "NHWC") != 0)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "data_format %s (NHWC only)", buf);
  int k = vd__nn_attr_ints(attr, "strides", v, 4);
  if (k == 4) {
    if (v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 || v[1] > 64 || v[2] > 64)
      return vd_err_set(e, VD_ERR_UNSUPPORTED, "strides must be [1,h,w,1] with 1 <= h,w <= 64");
    n->a.stride[0] = (int)v[1];
    n->a.stride[1] = (int)v[2];
  } else if (k != 0 && k != -1) {
    return vd_err_set(e, VD_ERR_CORRUPT, "strides has %d entries", k);
  }
  k = vd__nn_attr_ints(attr, "dilations", v, 4);
  if (k == 4) {
    if (v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 || v[1] > 64 || v[2] > 64)
      return vd_err_set(e, VD_ERR_UNSUPPORTED, "dilations must be [1,h,w,1] with 1 <= h,w <= 64");
    n->a.dil[0] = (int)v[1];
    n->a.dil[1] = (int)v[2];
  }
  if (vd__nn_attr_str(attr, "padding", buf, sizeof(buf)) != 0)
    return vd_err_set(e, VD_ERR_CORRUPT, "padding attribute missing");
  if (strcmp(buf, "SAME") == 0) {
    n->a.pad = VD__NN_PAD_SAME;
  } else if (strcmp(buf, "VALID") == 0) {
    n->a.pad = VD__NN_PAD_VALID;
  } else if (strcmp(buf, "EXPLICIT") == 0) {
    n->a.pad = VD__NN_PAD_EXPLICIT;
    if (vd__nn_attr_ints(attr, "explicit_paddings", v, 8) != 8)
      return vd_err_set(e, VD_ERR_CORRUPT, "EXPLICIT padding needs 8 explicit_paddings");
    for (int i = 0; i < 4; i++) {
      if (v[2 + i] < 0 || v[2 + i] > 1024)
        return vd_err_set(e, VD_ERR_UNSUPPORTED, "explicit padding out of range");
      n->a.epad[i] = v[2 + i];
    }
  } else {
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "padding '%s'", buf);
  }
  return 0;
}

int vd__nn_window(const struct vd__nn_attr *a, int64_t h, int64_t w, int64_t kh, int64_t kw,
                  struct vd__nn_geom *g, struct vd_err *e) {
  int64_t in[2] = {h, w}, k[2] = {kh, kw}, o[2], p[2];
  for (int d = 0; d < 2; d++) {
    int64_t eff = (k[d] - 1) * a->dil[d] + 1, s = a->stride[d];
    if (k[d] < 1)
      return vd_err_set(e, VD_ERR_INVALID, "window size %lld", (long long)k[d]);
    if (a->pad == VD__NN_PAD_SAME) {
      o[d] = (in[d] + s - 1) / s;
      int64_t total = (o[d] - 1) * s + eff - in[d];
      p[d] = total > 0 ? total / 2 : 0;
    } else {
      int64_t pb = a->pad == VD__NN_PAD_EXPLICIT ? a->epad[2 * d] : 0;
      int64_t pa = a->pad == VD__NN_PAD_EXPLICIT ? a->epad[2 * d + 1] : 0;
      int64_t span = in[d] + pb + pa - eff;
      if (span < 0)
        return vd_err_set(e, VD_ERR_INVALID, "window %lldx%lld does not fit the %lldx%lld input",
                          (long long)kh, (long long)kw, (long long)h, (long long)w);
      o[d] = span / s + 1;
      p[d] = pb;
    }
  }
  g->oh = o[0];
  g->ow = o[1];
  g->pt = p[0];
  g->pl = p[1];
  return 0;
}

/* fused_ops: [BiasAdd, (Relu|Relu6|LeakyRelu)?]; num_args extra inputs. */
static int parse_fused(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  char ops[4][32];
  int k = vd__nn_attr_strs(attr, "fused_ops", ops, 4);
  if (k < 0)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "fused_ops is not a list of at most 4 names");
  int i = 0;
  if (i < k && strcmp(ops[i], "BiasAdd") == 0) {
    n->a.bias = 1;
    i++;
  }
  if (i < k) {
    if (strcmp(ops[i], "Relu") == 0) {
      n->a.act = VD__NN_ACT_RELU;
    } else if (strcmp(ops[i], "Relu6") == 0) {
      n->a.act = VD__NN_ACT_RELU6;
    } else if (strcmp(ops[i], "LeakyRelu") == 0) {
      n->a.act = VD__NN_ACT_LEAKY;
      n->a.alpha = 0.2f;
      (void)vd__nn_attr_float(attr, "leakyrelu_alpha", &n->a.alpha);
    } else {
      return vd_err_set(e, VD_ERR_UNSUPPORTED, "fused op %s", ops[i]);
    }
    i++;
  }
  if (i < k)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "fused op %s after %s", ops[i], ops[i - 1]);
  if (n->n_in != 2 + n->a.bias)
    return vd_err_set(e, VD_ERR_CORRUPT, "%d inputs for fused ops that need %d", n->n_in,
                      2 + n->a.bias);
  return 0;
}

static int parse_conv(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  int rc = vd__nn_parse_window(n, attr, e);
  if (rc == 0 && n->opname[0] != '_' && strncmp(n->opname, "Fused", 5) != 0) {
    if (n->n_in != 2)
      return vd_err_set(e, VD_ERR_CORRUPT, "%d inputs (expected 2)", n->n_in);
    return 0;
  }
  return rc ? rc : parse_fused(n, attr, e);
}

/* Checks a bias input against `co` output channels. */
static int check_bias(const struct vd__nn_node *n, const struct vd__nn_tensor *in, int64_t co,
                      struct vd_err *e) {
  if (!n->a.bias)
    return 0;
  const struct vd_nn_shape *b = &in[2].s;
  if (b->rank != 1 || b->dim[0] != co)
    return vd_err_set(e, VD_ERR_INVALID, "bias has %d dims / %lld values, expected [%lld]", b->rank,
                      (long long)(b->rank ? b->dim[0] : 0), (long long)co);
  return 0;
}

/* ---- Conv2D -------------------------------------------------------------------- */

/* Conv2D and depthwise: output channels are cout, or cin * multiplier. */
static int filter_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                        struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd_nn_shape *x = &in[0].s, *f = &in[1].s;
  if (x->rank != 4 || f->rank != 4)
    return vd_err_set(e, VD_ERR_INVALID, "needs a 4-d input and a 4-d filter");
  if (f->dim[2] != x->dim[3])
    return vd_err_set(e, VD_ERR_INVALID, "input has %lld channels, the filter expects %lld",
                      (long long)x->dim[3], (long long)f->dim[2]);
  int64_t co = strstr(n->opname, "Depthwise") ? f->dim[2] * f->dim[3] : f->dim[3];
  struct vd__nn_geom g;
  int rc = vd__nn_window(&n->a, x->dim[1], x->dim[2], f->dim[0], f->dim[1], &g, e);
  if (rc == 0)
    rc = check_bias(n, in, co, e);
  *out = (struct vd_nn_shape){4, {x->dim[0], g.oh, g.ow, co}};
  return rc;
}

static int conv_is_1x1(const struct vd__nn_node *n, const struct vd__nn_tensor *in) {
  const struct vd_nn_shape *f = &in[1].s;
  return f->dim[0] == 1 && f->dim[1] == 1 && n->a.stride[0] == 1 && n->a.stride[1] == 1 &&
         (n->a.pad != VD__NN_PAD_EXPLICIT ||
          !(n->a.epad[0] | n->a.epad[1] | n->a.epad[2] | n->a.epad[3]));
}

/* Output rows per im2col task: enough pixels that each GEMM is worth calling. */
static int64_t conv_rows_per_task(int64_t ow) {
  int64_t r = (256 + ow - 1) / (ow ? ow : 1);
  return r < 1 ? 1 : r;
}

static size_t conv_scratch(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                           const struct vd__nn_tensor *out, int threads) {
  if (conv_is_1x1(n, in))
    return 0;
  const struct vd_nn_shape *f = &in[1].s;
  int64_t k = f->dim[0] * f->dim[1] * f->dim[2], ow = out->s.dim[2];
  int64_t rows = conv_rows_per_task(ow), oh = out->s.dim[1];
  if (rows > oh)
    rows = oh;
  /* Shapes come from files: saturate instead of overflowing; the plan's cap
   * then rejects the model. */
  uint64_t r;
  if (__builtin_mul_overflow((uint64_t)rows, (uint64_t)ow, &r) ||
      __builtin_mul_overflow(r, (uint64_t)k, &r) || __builtin_mul_overflow(r, (uint64_t)threads, &r) ||
      r > SIZE_MAX / 8)
    return SIZE_MAX / 8;
  return (size_t)r;
}

struct conv_job {
  const struct vd__nn_node *n;
  const struct vd__nn_tensor *in;
  struct vd__nn_tensor *out;
  struct vd__nn_geom g;
  float *scratch;
  int64_t rows, groups_per_img, kdim;
};

static void conv_1x1_task(void *arg, int64_t b, int64_t e, int thread) {
  struct conv_job *j = arg;
  int64_t ci = j->in[0].s.dim[3], co = j->out->s.dim[3];
  const float *x = (const float *)j->in[0].data + b * ci;
  float *o = (float *)j->out->data + b * co;
  gemm_bias_act(e - b, co, ci, x, j->in[1].data, j->n->a.bias ? j->in[2].data : NULL, &j->n->a, o);
}

static void conv_im2col_task(void *arg, int64_t b, int64_t e, int thread) {
  struct conv_job *j = arg;
  const struct vd_nn_shape *xs = &j->in[0].s, *fs = &j->in[1].s;
  int64_t H = xs->dim[1], W = xs->dim[2], C = xs->dim[3], kh = fs->dim[0], kw = fs->dim[1];
  int64_t co = fs->dim[3], oh = j->g.oh, ow = j->g.ow, K = j->kdim;
  int sh = j->n->a.stride[0], sw = j->n->a.stride[1], dh = j->n->a.dil[0], dw = j->n->a.dil[1];
  float *col = j->scratch + (int64_t)thread * j->rows * ow * K;
  for (int64_t t = b; t < e; t++) {
    int64_t img = t / j->groups_per_img, y0 = (t % j->groups_per_img) * j->rows;
    int64_t y1 = y0 + j->rows < oh ? y0 + j->rows : oh;
    const float *x = (const float *)j->in[0].data + img * H * W * C;
    float *c = col;
    for (int64_t oy = y0; oy < y1; oy++)
      for (int64_t ox = 0; ox < ow; ox++) {
        for (int64_t ky = 0; ky < kh; ky++) {
          int64_t iy = oy * sh - j->g.pt + ky * dh;
          for (int64_t kx = 0; kx < kw; kx++) {
            int64_t ix = ox * sw - j->g.pl + kx * dw;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W)
              memset(c, 0, (size_t)C * sizeof(float));
            else
              memcpy(c, x + (iy * W + ix) * C, (size_t)C * sizeof(float));
            c += C;
          }
        }
      }
    int64_t m = (y1 - y0) * ow;
    float *o = (float *)j->out->data + ((img * oh + y0) * ow) * co;
    gemm_bias_act(m, co, K, col, j->in[1].data, j->n->a.bias ? j->in[2].data : NULL, &j->n->a, o);
  }
}

static void conv_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                     struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  struct conv_job j = {.n = n, .in = in, .out = out, .scratch = x->scratch};
  const struct vd_nn_shape *xs = &in[0].s, *fs = &in[1].s;
  (void)vd__nn_window(&n->a, xs->dim[1], xs->dim[2], fs->dim[0], fs->dim[1], &j.g, NULL);
  if (conv_is_1x1(n, in)) {
    int64_t rows = xs->dim[0] * xs->dim[1] * xs->dim[2];
    vd__nn_parallel(x->pool, rows, 64, conv_1x1_task, &j);
    return;
  }
  j.kdim = fs->dim[0] * fs->dim[1] * fs->dim[2];
  if (j.kdim == 0 || j.g.oh == 0 || j.g.ow == 0) {
    /* Degenerate shapes (only a hostile model file has them): there are no
     * products to sum and no scratch was planned, so the output is the bias
     * through the activation. */
    int64_t rows = xs->dim[0] * j.g.oh * j.g.ow, co = fs->dim[3];
    if (rows > 0 && co > 0) {
      memset(out->data, 0, (size_t)(rows * co) * sizeof(float));
      bias_act((float *)out->data, rows, co, n->a.bias ? in[2].data : NULL, &n->a);
    }
    return;
  }
  j.rows = conv_rows_per_task(j.g.ow);
  if (j.rows > j.g.oh)
    j.rows = j.g.oh;
  j.groups_per_img = (j.g.oh + j.rows - 1) / j.rows;
  vd__nn_parallel(x->pool, xs->dim[0] * j.groups_per_img, 1, conv_im2col_task, &j);
}

/* ---- depthwise ----------------------------------------------------------------- */


struct dw_job {
  const struct vd__nn_node *n;
  const struct vd__nn_tensor *in;
  struct vd__nn_tensor *out;
  struct vd__nn_geom g;
  int avx2; /* the CPU has AVX2 and FMA */
};

/*
 * One output row, channel multiplier 1 (the common case), VT = a vector of
 * VWID floats: for each pixel, each block of channels accumulates its taps
 * in a register. The window is clipped once per row and per pixel, so the
 * inner loops carry no bounds checks. A macro, because the same body is
 * compiled for two vector widths.
 */
#define DW_ROW_M1(VT, VWID)                                                                   \
  const struct vd_nn_shape *xs = &j->in[0].s, *fs = &j->in[1].s;                              \
  int64_t H = xs->dim[1], W = xs->dim[2], C = xs->dim[3], kh = fs->dim[0], kw = fs->dim[1];   \
  int sh = j->n->a.stride[0], sw = j->n->a.stride[1], dh = j->n->a.dil[0], dw = j->n->a.dil[1]; \
  const float *x = (const float *)j->in[0].data + img * H * W * C;                            \
  const float *w = j->in[1].data, *bias = j->n->a.bias ? j->in[2].data : NULL;                \
  float *const row = (float *)j->out->data + ((img * j->g.oh + oy) * j->g.ow) * C, *o = row;  \
  int64_t iy0 = oy * sh - j->g.pt, ky0 = 0, ky1 = kh;                                         \
  while (ky0 < kh && iy0 + ky0 * dh < 0)                                                      \
    ky0++;                                                                                    \
  while (ky1 > ky0 && iy0 + (ky1 - 1) * dh >= H)                                              \
    ky1--;                                                                                    \
  for (int64_t ox = 0; ox < j->g.ow; ox++, o += C) {                                          \
    int64_t ix0 = ox * sw - j->g.pl, kx0 = 0, kx1 = kw, c = 0;                                \
    while (kx0 < kw && ix0 + kx0 * dw < 0)                                                    \
      kx0++;                                                                                  \
    while (kx1 > kx0 && ix0 + (kx1 - 1) * dw >= W)                                            \
      kx1--;                                                                                  \
    for (; c + (VWID) <= C; c += (VWID)) {                                                    \
      VT acc = {0}, xv, wv;                                                                   \
      if (bias)                                                                               \
        memcpy(&acc, bias + c, sizeof(acc));                                                  \
      for (int64_t ky = ky0; ky < ky1; ky++) {                                                \
        const float *xr = x + ((iy0 + ky * dh) * W) * C + c, *wr = w + ky * kw * C + c;       \
        for (int64_t kx = kx0; kx < kx1; kx++) {                                              \
          memcpy(&xv, xr + (ix0 + kx * dw) * C, sizeof(xv));                                  \
          memcpy(&wv, wr + kx * C, sizeof(wv));                                               \
          acc += xv * wv;                                                                     \
        }                                                                                     \
      }                                                                                       \
      memcpy(o + c, &acc, sizeof(acc));                                                       \
    }                                                                                         \
    for (; c < C; c++) {                                                                      \
      float acc = bias ? bias[c] : 0;                                                         \
      for (int64_t ky = ky0; ky < ky1; ky++)                                                  \
        for (int64_t kx = kx0; kx < kx1; kx++)                                                \
          acc += x[((iy0 + ky * dh) * W + ix0 + kx * dw) * C + c] * w[(ky * kw + kx) * C + c]; \
      o[c] = acc;                                                                             \
    }                                                                                         \
  }                                                                                           \
  vd__nn_activate(row, j->g.ow * C, &j->n->a); /* the row is in cache: one call, not one per pixel */

static void dw_row_m1(const struct dw_job *j, int64_t img, int64_t oy) { DW_ROW_M1(vf4, 4) }

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void dw_row_m1_avx2(const struct dw_job *j,
                                                               int64_t img, int64_t oy) {
  DW_ROW_M1(vf8, 8)
}
#endif

/* Any channel multiplier, scalar. */
static void dw_row_any(const struct dw_job *j, int64_t img, int64_t oy) {
  const struct vd_nn_shape *xs = &j->in[0].s, *fs = &j->in[1].s;
  int64_t H = xs->dim[1], W = xs->dim[2], C = xs->dim[3], kh = fs->dim[0], kw = fs->dim[1];
  int64_t M = fs->dim[3];
  int sh = j->n->a.stride[0], sw = j->n->a.stride[1], dh = j->n->a.dil[0], dw = j->n->a.dil[1];
  const float *x = (const float *)j->in[0].data + img * H * W * C;
  const float *w = j->in[1].data, *bias = j->n->a.bias ? j->in[2].data : NULL;
  float *o = (float *)j->out->data + ((img * j->g.oh + oy) * j->g.ow) * C * M;
  for (int64_t ox = 0; ox < j->g.ow; ox++, o += C * M) {
    for (int64_t c = 0; c < C; c++)
      for (int64_t m = 0; m < M; m++) {
        float acc = bias ? bias[c * M + m] : 0;
        for (int64_t ky = 0; ky < kh; ky++) {
          int64_t iy = oy * sh - j->g.pt + ky * dh;
          if (iy < 0 || iy >= H)
            continue;
          for (int64_t kx = 0; kx < kw; kx++) {
            int64_t ix = ox * sw - j->g.pl + kx * dw;
            if (ix >= 0 && ix < W)
              acc += x[(iy * W + ix) * C + c] * w[((ky * kw + kx) * C + c) * M + m];
          }
        }
        o[c * M + m] = acc;
      }
    vd__nn_activate(o, C * M, &j->n->a);
  }
}

static void dw_task(void *arg, int64_t b, int64_t e, int thread) {
  const struct dw_job *j = arg;
  int m1 = j->in[1].s.dim[3] == 1;
  for (int64_t t = b; t < e; t++) {
#if defined(__x86_64__)
    if (m1 && j->avx2) {
      dw_row_m1_avx2(j, t / j->g.oh, t % j->g.oh);
      continue;
    }
#endif
    if (m1)
      dw_row_m1(j, t / j->g.oh, t % j->g.oh);
    else
      dw_row_any(j, t / j->g.oh, t % j->g.oh);
  }
}

static void dw_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                   struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  struct dw_job j = {.n = n, .in = in, .out = out};
#if defined(__x86_64__)
  j.avx2 = !atomic_load(&portable_only) && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
#endif
  const struct vd_nn_shape *xs = &in[0].s, *fs = &in[1].s;
  (void)vd__nn_window(&n->a, xs->dim[1], xs->dim[2], fs->dim[0], fs->dim[1], &j.g, NULL);
  vd__nn_parallel(x->pool, xs->dim[0] * j.g.oh, 2, dw_task, &j);
}

/* ---- MatMul ------------------------------------------------------------------- */

static int mm_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  (void)vd__nn_attr_bool(attr, "transpose_a", &n->a.trans_a);
  (void)vd__nn_attr_bool(attr, "transpose_b", &n->a.trans_b);
  if (n->a.trans_a)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "transpose_a");
  if (n->opname[0] == '_')
    return parse_fused(n, attr, e);
  if (n->n_in != 2)
    return vd_err_set(e, VD_ERR_CORRUPT, "%d inputs (expected 2)", n->n_in);
  return 0;
}

static int mm_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                    struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd_nn_shape *a = &in[0].s, *b = &in[1].s;
  if (a->rank != 2 || b->rank != 2)
    return vd_err_set(e, VD_ERR_INVALID, "needs 2-d operands");
  int64_t k = n->a.trans_b ? b->dim[1] : b->dim[0], nn = n->a.trans_b ? b->dim[0] : b->dim[1];
  if (a->dim[1] != k)
    return vd_err_set(e, VD_ERR_INVALID, "inner dimensions differ: %lld vs %lld",
                      (long long)a->dim[1], (long long)k);
  *out = (struct vd_nn_shape){2, {a->dim[0], nn}};
  return check_bias(n, in, nn, e);
}

static void mm_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                   struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  int64_t M = in[0].s.dim[0], K = in[0].s.dim[1], N = out->s.dim[1];
  vd__nn_gemm(M, N, K, in[0].data, K, in[1].data, in[1].s.dim[1], n->a.trans_b, 0, out->data, N);
  bias_act(out->data, M, N, n->a.bias ? in[2].data : NULL, &n->a);
}

const struct vd__nn_op vd__nn_ops_conv[] = {
    {"Conv2D", 2, 2, parse_conv, filter_infer, conv_scratch, conv_run, 0, 0, 0},
    {"_FusedConv2D", 2, 4, parse_conv, filter_infer, conv_scratch, conv_run, 0, 0, 0},
    {"DepthwiseConv2dNative", 2, 2, parse_conv, filter_infer, NULL, dw_run, 0, 0, 0},
    {"DepthwiseConv2D", 2, 2, parse_conv, filter_infer, NULL, dw_run, 0, 0, 0},
    {"FusedDepthwiseConv2dNative", 2, 4, parse_conv, filter_infer, NULL, dw_run, 0, 0, 0},
    {"MatMul", 2, 2, mm_parse, mm_infer, NULL, mm_run, 0, 0, 0},
    {"_FusedMatMul", 2, 4, mm_parse, mm_infer, NULL, mm_run, 0, 0, 0},
    {NULL, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
};
