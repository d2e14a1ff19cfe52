/*
 * test_nn_ops: every nn op against a plain C reference (double accumulation,
 * no tricks), through the real loader: each case builds a one-op TF.js graph
 * model in memory (model.json text + weight blob), loads it, runs it, and
 * compares. Also the loader's and planner's errors: each must name the
 * model, node and op, and none may crash.
 *
 * To add an op case: build the graph with mb_* (input, consts, the node),
 * compute the expected output in plain C, call run_and_compare().
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/util.h"
#include "nn/nn.h"
#include "nn/nn_int.h" /* vd__nn_portable_only */

/* ---- in-memory model builder --------------------------------------------------- */

struct mb {
  json_t *nodes, *weights;
  unsigned char *blob;
  size_t len;
};

static void mb_init(struct mb *b) {
  b->nodes = json_array();
  b->weights = json_array();
  b->blob = NULL;
  b->len = 0;
}

static void mb_fini(struct mb *b) {
  json_decref(b->nodes);
  json_decref(b->weights);
  free(b->blob);
}

static json_t *shape_json(int rank, const int64_t *d) {
  json_t *a = json_array();
  for (int i = 0; i < rank; i++)
    json_array_append_new(a, json_integer(d[i]));
  return a;
}

static void mb_input_dt(struct mb *b, const char *name, int rank, const int64_t *d,
                        const char *dtype) {
  json_t *dims = json_array();
  for (int i = 0; i < rank; i++)
    json_array_append_new(dims, json_pack("{s:o}", "size", json_sprintf("%lld", (long long)d[i])));
  json_array_append_new(b->nodes,
                        json_pack("{s:s,s:s,s:{s:{s:{s:o}},s:{s:s}}}", "name", name, "op",
                                  "Placeholder", "attr", "shape", "shape", "dim", dims, "dtype",
                                  "type", dtype));
}

static void mb_input(struct mb *b, const char *name, int rank, const int64_t *d) {
  mb_input_dt(b, name, rank, d, "DT_FLOAT");
}

static void mb_blob(struct mb *b, const void *p, size_t n) {
  b->blob = vd_xrealloc(b->blob, b->len + n + 1);
  memcpy(b->blob + b->len, p, n);
  b->len += n;
}

static void mb_const(struct mb *b, const char *name, int rank, const int64_t *d, const void *data,
                     int is_int) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= d[i];
  json_array_append_new(b->nodes, json_pack("{s:s,s:s}", "name", name, "op", "Const"));
  json_array_append_new(b->weights, json_pack("{s:s,s:o,s:s}", "name", name, "shape",
                                              shape_json(rank, d), "dtype",
                                              is_int ? "int32" : "float32"));
  mb_blob(b, data, (size_t)n * 4);
}

static void mb_constf(struct mb *b, const char *name, int rank, const int64_t *d, const float *v) {
  mb_const(b, name, rank, d, v, 0);
}

static void mb_consti(struct mb *b, const char *name, int rank, const int64_t *d, const int32_t *v) {
  mb_const(b, name, rank, d, v, 1);
}

/* Adds a node; `inputs` is NULL-terminated; takes ownership of `attr` (may be NULL). */
static void mb_node(struct mb *b, const char *name, const char *op, const char *const *inputs,
                    json_t *attr) {
  json_t *in = json_array();
  for (; inputs && *inputs; inputs++)
    json_array_append_new(in, json_string(*inputs));
  json_t *n = json_pack("{s:s,s:s,s:o}", "name", name, "op", op, "input", in);
  if (attr)
    json_object_set_new(n, "attr", attr);
  json_array_append_new(b->nodes, n);
}

static char *b64(const char *s) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = strlen(s), o = 0;
  char *r = vd_xmalloc(n * 4 / 3 + 8);
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned char)s[i] << 16 | (i + 1 < n ? (unsigned char)s[i + 1] << 8 : 0) |
                 (i + 2 < n ? (unsigned char)s[i + 2] : 0);
    r[o++] = t[v >> 18 & 63];
    r[o++] = t[v >> 12 & 63];
    r[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
    r[o++] = i + 2 < n ? t[v & 63] : '=';
  }
  r[o] = '\0';
  return r;
}

static void a_str(json_t *attr, const char *k, const char *v) {
  char *e = b64(v);
  json_object_set_new(attr, k, json_pack("{s:s}", "s", e));
  free(e);
}

static void a_ints(json_t *attr, const char *k, int n, const int64_t *v) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++)
    json_array_append_new(a, json_sprintf("%lld", (long long)v[i]));
  json_object_set_new(attr, k, json_pack("{s:{s:o}}", "list", "i", a));
}

static void a_strs(json_t *attr, const char *k, int n, const char *const *v) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++) {
    char *e = b64(v[i]);
    json_array_append_new(a, json_string(e));
    free(e);
  }
  json_object_set_new(attr, k, json_pack("{s:{s:o}}", "list", "s", a));
}

static char *mb_json(struct mb *b, const char *extra_key, json_t *extra) {
  json_t *root = json_pack("{s:s,s:{s:O},s:[{s:[s],s:O}]}", "format", "graph-model",
                           "modelTopology", "node", b->nodes, "weightsManifest", "paths",
                           "w.bin", "weights", b->weights);
  if (extra_key)
    json_object_set_new(root, extra_key, extra);
  char *s = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  return s;
}

static int mb_load(struct mb *b, struct vd_nn_model **m, struct vd_err *err) {
  char *js = mb_json(b, NULL, NULL);
  int rc = vd_nn_model_load_mem(m, "t", js, strlen(js), b->blob, b->len, NULL, err);
  free(js);
  return rc;
}

/* ---- data and comparison --------------------------------------------------------- */

static unsigned rng = 1;
static float frand(void) {
  rng = rng * 1103515245u + 12345u;
  return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *rand_vec(int64_t n) {
  float *v = vd_xmalloc((size_t)(n ? n : 1) * sizeof(float));
  for (int64_t i = 0; i < n; i++)
    v[i] = frand();
  return v;
}

static int64_t count(int rank, const int64_t *d) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= d[i];
  return n;
}

/* Loads the graph, feeds `x` to input "x", runs with `threads`, compares the
 * single output with `want` (shape and values, tolerance relative to scale). */
static void run_and_compare(struct mb *b, const float *x, int rank, const int64_t *want_dims,
                            const float *want, int threads) {
  struct vd_nn_model *m = NULL;
  struct vd_nn_ctx *c = NULL;
  struct vd_err err = {0};
  int rc = mb_load(b, &m, &err);
  if (rc != 0)
    fail_msg("load: %s", vd_err_msg(&err, rc));
  struct vd_nn_ctx_opts o = {.threads = threads};
  rc = vd_nn_ctx_new(&c, m, &o, &err);
  if (rc != 0)
    fail_msg("plan: %s", vd_err_msg(&err, rc));
  struct vd_nn_shape is;
  float *in = vd_nn_ctx_input(c, 0, &is);
  memcpy(in, x, (size_t)vd_nn_shape_count(&is) * sizeof(float));
  assert_int_equal(vd_nn_ctx_run(c), 0);
  struct vd_nn_shape os;
  const float *y = vd_nn_ctx_output(c, 0, &os);
  assert_int_equal(os.rank, rank);
  for (int i = 0; i < rank; i++)
    assert_int_equal(os.dim[i], want_dims[i]);
  int64_t n = count(rank, want_dims);
  double scale = 1e-6;
  for (int64_t i = 0; i < n; i++)
    scale = fmax(scale, fabs(want[i]));
  for (int64_t i = 0; i < n; i++)
    if (!(fabs(y[i] - want[i]) <= 1e-5 * scale + 1e-6))
      fail_msg("element %lld: got %.7g, want %.7g", (long long)i, y[i], want[i]);
  vd_nn_ctx_free(c);
  vd_nn_model_free(m);
}

/* ---- convolution ------------------------------------------------------------------ */

/* TF's padding rule, written out independently of the runtime. */
static void pads(const char *mode, int64_t in, int64_t k, int64_t s, int64_t d, int64_t *out,
                 int64_t *before) {
  int64_t eff = (k - 1) * d + 1;
  if (strcmp(mode, "SAME") == 0) {
    *out = (in + s - 1) / s;
    int64_t t = (*out - 1) * s + eff - in;
    *before = t > 0 ? t / 2 : 0;
  } else {
    *out = (in - eff) / s + 1;
    *before = 0;
  }
}

struct convcase {
  int64_t n, h, w, ci, kh, kw, co; /* co = channel multiplier for depthwise */
  int s, d;
  const char *pad;
  const char *fused[2];
  int n_fused;
  int depthwise;
};

static void conv_case(const struct convcase *t, int threads) {
  int64_t oh, ow, pt, pl;
  pads(t->pad, t->h, t->kh, t->s, t->d, &oh, &pt);
  pads(t->pad, t->w, t->kw, t->s, t->d, &ow, &pl);
  int64_t cout = t->depthwise ? t->ci * t->co : t->co;
  int64_t xd[4] = {t->n, t->h, t->w, t->ci}, fd[4] = {t->kh, t->kw, t->ci, t->co}, bd[1] = {cout};
  int64_t od[4] = {t->n, oh, ow, cout};
  float *x = rand_vec(count(4, xd)), *f = rand_vec(count(4, fd)), *bias = rand_vec(cout);
  float *want = vd_xcalloc((size_t)count(4, od), sizeof(float));
  int has_bias = t->n_fused > 0, relu = t->n_fused > 1 && strcmp(t->fused[1], "Relu") == 0,
      relu6 = t->n_fused > 1 && strcmp(t->fused[1], "Relu6") == 0;
  for (int64_t b = 0; b < t->n; b++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++)
        for (int64_t oc = 0; oc < cout; oc++) {
          double acc = has_bias ? bias[oc] : 0;
          for (int64_t ky = 0; ky < t->kh; ky++)
            for (int64_t kx = 0; kx < t->kw; kx++) {
              int64_t iy = oy * t->s - pt + ky * t->d, ix = ox * t->s - pl + kx * t->d;
              if (iy < 0 || iy >= t->h || ix < 0 || ix >= t->w)
                continue;
              const float *px = x + ((b * t->h + iy) * t->w + ix) * t->ci;
              if (t->depthwise) {
                int64_t ci = oc / t->co, m = oc % t->co;
                acc += (double)px[ci] * f[((ky * t->kw + kx) * t->ci + ci) * t->co + m];
              } else {
                for (int64_t ci = 0; ci < t->ci; ci++)
                  acc += (double)px[ci] * f[((ky * t->kw + kx) * t->ci + ci) * t->co + oc];
              }
            }
          if (relu || relu6)
            acc = acc > 0 ? acc : 0;
          if (relu6)
            acc = acc < 6 ? acc : 6;
          want[((b * oh + oy) * ow + ox) * cout + oc] = (float)acc;
        }
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 4, xd);
  mb_constf(&mb, "f", 4, fd, f);
  if (has_bias)
    mb_constf(&mb, "b", 1, bd, bias);
  json_t *attr = json_object();
  int64_t st[4] = {1, t->s, t->s, 1}, dl[4] = {1, t->d, t->d, 1};
  a_ints(attr, "strides", 4, st);
  a_ints(attr, "dilations", 4, dl);
  a_str(attr, "padding", t->pad);
  a_str(attr, "data_format", "NHWC");
  const char *op = t->depthwise ? (has_bias ? "FusedDepthwiseConv2dNative" : "DepthwiseConv2dNative")
                                : (has_bias ? "_FusedConv2D" : "Conv2D");
  if (has_bias)
    a_strs(attr, "fused_ops", t->n_fused, t->fused);
  const char *in3[] = {"x", "f", has_bias ? "b" : NULL, NULL};
  mb_node(&mb, "y", op, in3, attr);
  run_and_compare(&mb, x, 4, od, want, threads);
  mb_fini(&mb);
  free(x);
  free(f);
  free(bias);
  free(want);
}

static void test_conv2d(void **state) {
  const struct convcase cases[] = {
      {1, 9, 7, 3, 3, 3, 5, 1, 1, "SAME", {0}, 0, 0},
      {2, 16, 16, 3, 5, 5, 8, 2, 1, "SAME", {"BiasAdd", "Relu"}, 2, 0},
      {1, 12, 11, 4, 3, 3, 6, 1, 2, "VALID", {"BiasAdd"}, 1, 0},
      {1, 8, 8, 16, 1, 1, 24, 1, 1, "VALID", {"BiasAdd", "Relu6"}, 2, 0},  /* 1x1: no im2col */
      {1, 7, 9, 5, 1, 1, 3, 2, 1, "SAME", {"BiasAdd"}, 1, 0},              /* strided 1x1 */
      {1, 64, 64, 3, 3, 3, 16, 2, 1, "SAME", {"BiasAdd", "Relu"}, 2, 0},   /* several tasks */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    conv_case(&cases[i], 1);
    conv_case(&cases[i], 3);
  }
}

static void test_depthwise(void **state) {
  const struct convcase cases[] = {
      {1, 9, 9, 8, 3, 3, 1, 1, 1, "SAME", {0}, 0, 1},
      {2, 10, 13, 6, 3, 3, 1, 2, 1, "SAME", {"BiasAdd", "Relu"}, 2, 1},   /* vector + tail */
      {1, 11, 11, 5, 5, 5, 1, 1, 1, "SAME", {"BiasAdd", "Relu6"}, 2, 1},
      {1, 12, 12, 4, 3, 3, 1, 1, 2, "VALID", {"BiasAdd"}, 1, 1},
      {1, 7, 7, 3, 3, 3, 2, 1, 1, "SAME", {"BiasAdd"}, 1, 1},             /* multiplier 2 */
      {1, 3, 3, 9, 5, 5, 1, 1, 1, "SAME", {0}, 0, 1},                      /* kernel > input */
  };
  /* Both kernels: the portable one and, where the CPU has it, AVX2. */
  for (int portable = 0; portable < 2; portable++) {
    vd__nn_portable_only(portable);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      conv_case(&cases[i], 1);
      conv_case(&cases[i], 2);
    }
  }
  vd__nn_portable_only(0);
}

static void test_matmul(void **state) {
  for (int tb = 0; tb < 2; tb++) {
    int64_t M = 3, K = 17, N = 5, xd[2] = {M, K}, wd[2] = {tb ? N : K, tb ? K : N}, bd[1] = {N};
    int64_t od[2] = {M, N};
    float *x = rand_vec(M * K), *w = rand_vec(K * N), *bias = rand_vec(N), want[15];
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double acc = bias[j];
        for (int64_t k = 0; k < K; k++)
          acc += (double)x[i * K + k] * (tb ? w[j * K + k] : w[k * N + j]);
        want[i * N + j] = (float)(acc > 0 ? acc : 0);
      }
    struct mb mb;
    mb_init(&mb);
    mb_input(&mb, "x", 2, xd);
    mb_constf(&mb, "w", 2, wd, w);
    mb_constf(&mb, "b", 1, bd, bias);
    json_t *attr = json_object();
    const char *fused[] = {"BiasAdd", "Relu"};
    a_strs(attr, "fused_ops", 2, fused);
    json_object_set_new(attr, "transpose_b", json_pack("{s:b}", "b", tb));
    const char *in[] = {"x", "w", "b", NULL};
    mb_node(&mb, "y", "_FusedMatMul", in, attr);
    run_and_compare(&mb, x, 2, od, want, 1);
    mb_fini(&mb);
    free(x);
    free(w);
    free(bias);
  }
}

/* ---- element-wise ------------------------------------------------------------------ */

static double ref_bin(const char *op, double a, double b) {
  if (!strcmp(op, "AddV2") || !strcmp(op, "Add") || !strcmp(op, "BiasAdd"))
    return a + b;
  if (!strcmp(op, "Sub"))
    return a - b;
  if (!strcmp(op, "Mul"))
    return a * b;
  if (!strcmp(op, "RealDiv"))
    return a / b;
  if (!strcmp(op, "Maximum"))
    return a > b ? a : b;
  if (!strcmp(op, "Minimum"))
    return a < b ? a : b;
  if (!strcmp(op, "FloorDiv"))
    return floor((double)(float)a / (float)b);
  if (!strcmp(op, "FloorMod"))
    return a - floor(a / b) * b;
  return (a - b) * (a - b); /* SquaredDifference */
}

/* y = op(x, c) with x of shape xd and the constant c of shape cd, broadcast. */
static void bin_case(const char *op, int xr, const int64_t *xd, int cr, const int64_t *cd,
                     int threads) {
  int r = xr > cr ? xr : cr;
  int64_t od[6];
  for (int i = 0; i < r; i++) {
    int ia = i - (r - xr), ib = i - (r - cr);
    int64_t a = ia >= 0 ? xd[ia] : 1, b = ib >= 0 ? cd[ib] : 1;
    od[i] = a > b ? a : b;
  }
  int64_t n = count(r, od);
  float *x = rand_vec(count(xr, xd)), *cv = rand_vec(count(cr, cd));
  if (!strcmp(op, "RealDiv") || !strcmp(op, "FloorDiv") || !strcmp(op, "FloorMod"))
    for (int64_t i = 0; i < count(cr, cd); i++)
      cv[i] = cv[i] >= 0 ? cv[i] + 0.5f : cv[i] - 0.5f;
  float *want = vd_xmalloc((size_t)n * sizeof(float));
  for (int64_t i = 0; i < n; i++) {
    int64_t rem = i, ia = 0, ib = 0, sa = 1, sb = 1;
    for (int d = r - 1; d >= 0; d--) {
      int64_t idx = rem % od[d];
      rem /= od[d];
      int da = d - (r - xr), db = d - (r - cr);
      if (da >= 0) {
        ia += (xd[da] == 1 ? 0 : idx) * sa;
        sa *= xd[da];
      }
      if (db >= 0) {
        ib += (cd[db] == 1 ? 0 : idx) * sb;
        sb *= cd[db];
      }
    }
    want[i] = (float)ref_bin(op, x[ia], cv[ib]);
  }
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", xr, xd);
  mb_constf(&mb, "c", cr, cd, cv);
  const char *in[] = {"x", "c", NULL};
  mb_node(&mb, "y", op, in, NULL);
  run_and_compare(&mb, x, r, od, want, threads);
  mb_fini(&mb);
  free(x);
  free(cv);
  free(want);
}

static void test_binary(void **state) {
  const char *ops[] = {"AddV2", "Add", "Sub", "Mul", "RealDiv", "Maximum", "Minimum",
                       "SquaredDifference", "FloorDiv", "FloorMod", "BiasAdd"};
  int64_t x4[4] = {2, 3, 4, 5}, c1[1] = {5}, c3[3] = {3, 1, 5}, c4[4] = {2, 3, 4, 5},
          c0[1] = {1}, cb[4] = {2, 1, 4, 1};
  int64_t big[4] = {1, 64, 64, 24}, bigc[1] = {24};
  for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
    bin_case(ops[i], 4, x4, 1, c1, 1);
    if (!strcmp(ops[i], "BiasAdd"))
      continue; /* BiasAdd takes a channel vector only */
    bin_case(ops[i], 4, x4, 3, c3, 2);
    bin_case(ops[i], 4, x4, 4, c4, 2);
    bin_case(ops[i], 4, x4, 0, c0, 1);
    bin_case(ops[i], 4, x4, 4, cb, 1);
    bin_case(ops[i], 1, c1, 4, c4, 1); /* the constant is the bigger side */
  }
  bin_case("AddV2", 4, big, 4, big, 3); /* parallel flat path */
  bin_case("Mul", 4, big, 1, bigc, 3);
}

static double ref_un(const char *op, double a) {
  if (!strcmp(op, "Relu"))
    return a > 0 ? a : 0;
  if (!strcmp(op, "Relu6"))
    return a > 0 ? (a < 6 ? a : 6) : 0;
  if (!strcmp(op, "Abs"))
    return fabs(a);
  if (!strcmp(op, "Square"))
    return a * a;
  if (!strcmp(op, "Rsqrt"))
    return 1 / sqrt(fabs(a) + 0.1);
  if (!strcmp(op, "Sqrt"))
    return sqrt(fabs(a) + 0.1);
  if (!strcmp(op, "Sigmoid"))
    return 1 / (1 + exp(-a));
  if (!strcmp(op, "Exp"))
    return exp(a);
  if (!strcmp(op, "Neg"))
    return -a;
  if (!strcmp(op, "Tanh"))
    return tanh(a);
  if (!strcmp(op, "LeakyRelu"))
    return a > 0 ? a : 0.2 * a;
  return a > 0 ? a : expm1(a); /* Elu */
}

static void test_unary(void **state) {
  const char *ops[] = {"Relu", "Relu6", "Abs", "Square", "Rsqrt", "Sqrt", "Sigmoid",
                       "Exp",  "Neg",   "Tanh", "LeakyRelu", "Elu"};
  int64_t d[3] = {3, 7, 11};
  int64_t n = count(3, d);
  for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
    float *x = rand_vec(n), *want = vd_xmalloc((size_t)n * sizeof(float));
    int root = !strcmp(ops[i], "Rsqrt") || !strcmp(ops[i], "Sqrt");
    for (int64_t k = 0; k < n; k++) {
      x[k] *= 8; /* reach Relu6's cap */
      if (root)
        x[k] = fabsf(x[k]) + 0.1f;
      want[k] = (float)ref_un(ops[i], root ? x[k] - 0.1 : x[k]);
    }
    struct mb mb;
    mb_init(&mb);
    mb_input(&mb, "x", 3, d);
    const char *in[] = {"x", NULL};
    mb_node(&mb, "y", ops[i], in, NULL);
    run_and_compare(&mb, x, 3, d, want, 2);
    mb_fini(&mb);
    free(x);
    free(want);
  }
}

static void test_softmax(void **state) {
  int64_t d[2] = {4, 7};
  float *x = rand_vec(28), want[28];
  for (int r = 0; r < 4; r++) {
    double mx = -1e30, s = 0;
    for (int i = 0; i < 7; i++)
      mx = fmax(mx, x[r * 7 + i] * 10.0);
    for (int i = 0; i < 7; i++)
      s += exp(x[r * 7 + i] * 10.0 - mx);
    for (int i = 0; i < 7; i++)
      want[r * 7 + i] = (float)(exp(x[r * 7 + i] * 10.0 - mx) / s);
  }
  for (int i = 0; i < 28; i++)
    x[i] *= 10;
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 2, d);
  const char *in[] = {"x", NULL};
  mb_node(&mb, "y", "Softmax", in, NULL);
  run_and_compare(&mb, x, 2, d, want, 1);
  mb_fini(&mb);
  free(x);
}

/* ---- pooling, reductions, shapes ------------------------------------------------ */

static void pool_case(const char *op, const char *pad, int64_t k, int64_t s) {
  int64_t xd[4] = {2, 9, 8, 5}, oh, ow, pt, pl;
  pads(pad, xd[1], k, s, 1, &oh, &pt);
  pads(pad, xd[2], k, s, 1, &ow, &pl);
  int64_t od[4] = {2, oh, ow, 5};
  float *x = rand_vec(count(4, xd)), *want = vd_xmalloc((size_t)count(4, od) * sizeof(float));
  for (int64_t b = 0; b < 2; b++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++)
        for (int64_t c = 0; c < 5; c++) {
          double acc = op[0] == 'M' ? -INFINITY : 0;
          int cnt = 0;
          for (int64_t ky = 0; ky < k; ky++)
            for (int64_t kx = 0; kx < k; kx++) {
              int64_t iy = oy * s - pt + ky, ix = ox * s - pl + kx;
              if (iy < 0 || iy >= 9 || ix < 0 || ix >= 8)
                continue;
              double v = x[((b * 9 + iy) * 8 + ix) * 5 + c];
              acc = op[0] == 'M' ? fmax(acc, v) : acc + v;
              cnt++;
            }
          want[((b * oh + oy) * ow + ox) * 5 + c] = (float)(op[0] == 'M' ? acc : acc / cnt);
        }
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 4, xd);
  json_t *attr = json_object();
  int64_t ks[4] = {1, k, k, 1}, st[4] = {1, s, s, 1};
  a_ints(attr, "ksize", 4, ks);
  a_ints(attr, "strides", 4, st);
  a_str(attr, "padding", pad);
  const char *in[] = {"x", NULL};
  mb_node(&mb, "y", op, in, attr);
  run_and_compare(&mb, x, 4, od, want, 2);
  mb_fini(&mb);
  free(x);
  free(want);
}

static void test_pool(void **state) {
  pool_case("MaxPool", "SAME", 2, 2);
  pool_case("MaxPool", "SAME", 3, 2);
  pool_case("MaxPool", "VALID", 3, 1);
  pool_case("AvgPool", "SAME", 3, 2);
  pool_case("AvgPool", "VALID", 2, 2);
}

static void reduce_case(const char *op, int n_ax, const int32_t *axes, int keep) {
  int64_t xd[4] = {2, 3, 4, 5};
  float *x = rand_vec(120);
  int red[4] = {0};
  for (int i = 0; i < n_ax; i++)
    red[axes[i] < 0 ? axes[i] + 4 : axes[i]] = 1;
  int64_t od[4];
  int orank = 0;
  for (int d = 0; d < 4; d++)
    if (!red[d])
      od[orank++] = xd[d];
    else if (keep)
      od[orank++] = 1;
  float want[120];
  int64_t on = count(orank, od);
  for (int64_t o = 0; o < on; o++) {
    double acc = op[1] == 'a' ? -INFINITY : 0; /* "Max" */
    int cnt = 0;
    for (int64_t i = 0; i < 120; i++) {
      int64_t idx[4], rem = i, oi = 0;
      for (int d = 3; d >= 0; d--) {
        idx[d] = rem % xd[d];
        rem /= xd[d];
      }
      for (int d = 0; d < 4; d++)
        if (!red[d])
          oi = oi * xd[d] + idx[d];
      if (oi != o)
        continue;
      acc = op[1] == 'a' ? fmax(acc, x[i]) : acc + x[i];
      cnt++;
    }
    want[o] = (float)(op[0] == 'M' && op[1] == 'e' ? acc / cnt : acc);
  }
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 4, xd);
  int64_t ad[1] = {n_ax};
  mb_consti(&mb, "axes", 1, ad, axes);
  json_t *attr = json_object();
  json_object_set_new(attr, "keep_dims", json_pack("{s:b}", "b", keep));
  const char *in[] = {"x", "axes", NULL};
  mb_node(&mb, "y", op, in, attr);
  run_and_compare(&mb, x, orank, od, want, 1);
  mb_fini(&mb);
  free(x);
}

static void test_reduce(void **state) {
  const int32_t hw[2] = {1, 2}, last[1] = {-1}, first[1] = {0}, mixed[2] = {0, 3};
  reduce_case("Mean", 2, hw, 0);
  reduce_case("Mean", 2, hw, 1);
  reduce_case("Sum", 1, last, 1);
  reduce_case("Sum", 2, mixed, 0);
  reduce_case("Max", 1, first, 0);
}

static void test_pad(void **state) {
  for (int v2 = 0; v2 < 2; v2++) {
    int64_t xd[4] = {1, 3, 4, 2}, od[4] = {1, 6, 5, 4}, pd[2] = {4, 2}, sd[1] = {1};
    const int32_t p[8] = {0, 0, 1, 2, 0, 1, 1, 1};
    float *x = rand_vec(24), want[120], padv = v2 ? -3.5f : 0.0f;
    for (int i = 0; i < 120; i++)
      want[i] = padv;
    for (int y = 0; y < 3; y++)
      for (int xx = 0; xx < 4; xx++)
        for (int c = 0; c < 2; c++)
          want[((y + 1) * 5 + xx) * 4 + c + 1] = x[(y * 4 + xx) * 2 + c];
    struct mb mb;
    mb_init(&mb);
    mb_input(&mb, "x", 4, xd);
    mb_consti(&mb, "p", 2, pd, p);
    if (v2)
      mb_constf(&mb, "v", 0, sd, &padv);
    const char *in[] = {"x", "p", v2 ? "v" : NULL, NULL};
    mb_node(&mb, "y", v2 ? "PadV2" : "Pad", in, NULL);
    run_and_compare(&mb, x, 4, od, want, 1);
    mb_fini(&mb);
    free(x);
  }
}

/* Reshape(-1) → Squeeze → ExpandDims → Identity → Relu: views keep the data. */
static void test_views(void **state) {
  int64_t xd[4] = {1, 2, 3, 4}, sd[1] = {3}, ad[1] = {1}, od[3] = {6, 1, 4};
  const int32_t shape[3] = {-1, 1, 4}, axis[1] = {1};
  float *x = rand_vec(24), want[24];
  for (int i = 0; i < 24; i++)
    want[i] = x[i] > 0 ? x[i] : 0;
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 4, xd);
  mb_consti(&mb, "shape", 1, sd, shape);
  mb_consti(&mb, "axis", 1, ad, axis);
  const char *i1[] = {"x", "shape", NULL}, *i2[] = {"r", NULL}, *i3[] = {"s", "axis", NULL},
             *i4[] = {"e", NULL}, *i5[] = {"i", NULL};
  mb_node(&mb, "r", "Reshape", i1, NULL);
  json_t *attr = json_object();
  int64_t sq[1] = {1};
  a_ints(attr, "squeeze_dims", 1, sq);
  mb_node(&mb, "s", "Squeeze", i2, attr);
  mb_node(&mb, "e", "ExpandDims", i3, NULL);
  mb_node(&mb, "i", "Identity", i4, NULL);
  mb_node(&mb, "y", "Relu", i5, NULL);
  run_and_compare(&mb, x, 3, od, want, 1);
  mb_fini(&mb);
  free(x);
}

/* opts.resize: a model declared at 4x4 planned at 6x4. Its head's Reshape to
 * a constant [1, 32, 1] then infers [1, 48, 1]; without `resize` the fixed
 * declared size is an error, and a target that cannot take the new count
 * (its last dimension does not divide it) still fails, naming the node. */
static void test_resize(void **state) {
  int64_t xd[4] = {1, 4, 4, 2}, sd[1] = {3};
  const int32_t head[3] = {1, 32, 1}, odd[3] = {1, 1, 32};
  for (int variant = 0; variant < 2; variant++) {
    struct mb mb;
    mb_init(&mb);
    mb_input(&mb, "x", 4, xd);
    mb_consti(&mb, "shape", 1, sd, variant ? odd : head);
    const char *ir[] = {"x", NULL}, *ih[] = {"r", "shape", NULL};
    mb_node(&mb, "r", "Relu", ir, NULL);
    mb_node(&mb, "head", "Reshape", ih, NULL);
    struct vd_nn_model *m = NULL;
    struct vd_nn_ctx *c = NULL;
    struct vd_err err = {0};
    assert_int_equal(mb_load(&mb, &m, &err), 0);
    struct vd_nn_shape big = {4, {1, 6, 4, 2}}, os;
    struct vd_nn_ctx_opts o = {.input_shape = &big};
    assert_true(vd_nn_ctx_new(&c, m, &o, &err) < 0); /* fixed dims, no resize */
    o.resize = 1;
    vd_err_clear(&err);
    if (variant) { /* [1, -1, 32] cannot hold 48 */
      assert_true(vd_nn_ctx_new(&c, m, &o, &err) < 0);
      assert_non_null(strstr(err.msg, "'head' (Reshape)"));
    } else {
      assert_int_equal(vd_nn_ctx_new(&c, m, &o, &err), 0);
      float *x = vd_nn_ctx_input(c, 0, NULL);
      for (int i = 0; i < 48; i++)
        x[i] = (float)(i % 5) - 2.0f;
      assert_int_equal(vd_nn_ctx_run(c), 0);
      const float *y = vd_nn_ctx_output(c, 0, &os);
      assert_int_equal(os.rank, 3);
      assert_int_equal(os.dim[1], 48);
      assert_int_equal(os.dim[2], 1);
      for (int i = 0; i < 48; i++)
        assert_float_equal(y[i], x[i] > 0 ? x[i] : 0, 0);
      vd_nn_ctx_free(c);
      /* the declared size still plans as before */
      struct vd_nn_shape same = {4, {1, 4, 4, 2}};
      o.input_shape = &same;
      assert_int_equal(vd_nn_ctx_new(&c, m, &o, &err), 0);
      (void)vd_nn_ctx_output(c, 0, &os);
      assert_int_equal(os.dim[1], 32);
      /* a batch dimension is not the model's to resize */
      vd_nn_ctx_free(c);
      c = NULL;
      struct vd_nn_shape batch = {4, {2, 4, 4, 2}};
      o.input_shape = &batch;
      assert_true(vd_nn_ctx_new(&c, m, &o, &err) < 0);
    }
    vd_nn_ctx_free(c);
    vd_nn_model_free(m);
    mb_fini(&mb);
  }
}

/* A residual chain: buffers are reused, so a wrong lifetime corrupts a value
 * that is still needed. Also a constant subgraph (c1 * c2) that is folded. */
static void test_plan_reuse_and_folding(void **state) {
  int64_t xd[2] = {4, 8}, cd[1] = {8};
  float *x = rand_vec(32), *c1 = rand_vec(8), *c2 = rand_vec(8), want[32];
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 2, xd);
  mb_constf(&mb, "c1", 1, cd, c1);
  mb_constf(&mb, "c2", 1, cd, c2);
  const char *k[] = {"c1", "c2", NULL};
  mb_node(&mb, "k", "Mul", k, NULL);
  /* a = relu(x); b = a + k; c = relu(b); d = c * a; y = d + x */
  const char *ia[] = {"x", NULL}, *ib[] = {"a", "k", NULL}, *ic[] = {"b", NULL},
             *id[] = {"c", "a", NULL}, *iy[] = {"d", "x", NULL};
  mb_node(&mb, "a", "Relu", ia, NULL);
  mb_node(&mb, "b", "AddV2", ib, NULL);
  mb_node(&mb, "c", "Relu", ic, NULL);
  mb_node(&mb, "d", "Mul", id, NULL);
  mb_node(&mb, "y", "AddV2", iy, NULL);
  for (int i = 0; i < 32; i++) {
    double a = x[i] > 0 ? x[i] : 0, b = a + (double)c1[i % 8] * c2[i % 8], c = b > 0 ? b : 0;
    want[i] = (float)(c * a + x[i]);
  }
  run_and_compare(&mb, x, 2, xd, want, 1);
  struct vd_nn_model *m = NULL;
  struct vd_err err = {0};
  assert_int_equal(mb_load(&mb, &m, &err), 0);
  assert_int_equal(vd_nn_model_n_outputs(m), 1);
  assert_string_equal(vd_nn_model_output_name(m, 0), "y");
  vd_nn_model_free(m);
  mb_fini(&mb);
  free(x);
  free(c1);
  free(c2);
}

/* float16 weights are expanded on load. */
static void test_float16_weights(void **state) {
  /* 1.0, -2.0, 0.5, 65504 (max half), a subnormal (2^-24) */
  const uint16_t h[5] = {0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001};
  const float want_c[5] = {1.0f, -2.0f, 0.5f, 65504.0f, 5.9604645e-08f};
  char *js = vd_xasprintf(
      "{\"format\":\"graph-model\",\"modelTopology\":{\"node\":["
      "{\"name\":\"x\",\"op\":\"Placeholder\",\"attr\":{\"shape\":{\"shape\":{\"dim\":[{\"size\":\"5\"}]}}}},"
      "{\"name\":\"c\",\"op\":\"Const\"},"
      "{\"name\":\"y\",\"op\":\"Mul\",\"input\":[\"x\",\"c\"]}]},"
      "\"weightsManifest\":[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"c\",\"shape\":[5],"
      "\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"float16\",\"original_dtype\":\"float32\"}}]}]}");
  struct vd_nn_model *m = NULL;
  struct vd_nn_ctx *c = NULL;
  struct vd_err err = {0};
  unsigned char blob[10];
  for (int i = 0; i < 5; i++) {
    blob[2 * i] = (unsigned char)(h[i] & 0xff);
    blob[2 * i + 1] = (unsigned char)(h[i] >> 8);
  }
  assert_int_equal(vd_nn_model_load_mem(&m, "f16", js, strlen(js), blob, 10, NULL, &err), 0);
  assert_int_equal(vd_nn_ctx_new(&c, m, NULL, &err), 0);
  float *x = vd_nn_ctx_input(c, 0, NULL);
  for (int i = 0; i < 5; i++)
    x[i] = 1.0f;
  assert_int_equal(vd_nn_ctx_run(c), 0);
  const float *y = vd_nn_ctx_output(c, 0, NULL);
  for (int i = 0; i < 5; i++)
    assert_float_equal(y[i], want_c[i], 1e-12);
  /* truncated: 10 bytes needed */
  vd_err_clear(&err);
  struct vd_nn_model *m2 = NULL;
  assert_int_not_equal(vd_nn_model_load_mem(&m2, "f16", js, strlen(js), blob, 9, NULL, &err), 0);
  assert_non_null(strstr(err.msg, "truncated"));
  assert_null(m2);
  vd_nn_ctx_free(c);
  vd_nn_model_free(m);
  free(js);
}

/* ---- errors ------------------------------------------------------------------------- */

static void expect_load_error(const char *js, const void *w, size_t wlen, const char *needle1,
                              const char *needle2) {
  struct vd_nn_model *m = NULL;
  struct vd_err err = {0};
  int rc = vd_nn_model_load_mem(&m, "bad", js, strlen(js), w, wlen, NULL, &err);
  assert_true(rc < 0);
  assert_null(m);
  printf("  error: %s\n", err.msg);
  assert_non_null(strstr(err.msg, "bad:"));
  if (needle1 && !strstr(err.msg, needle1))
    fail_msg("'%s' lacks '%s'", err.msg, needle1);
  if (needle2 && !strstr(err.msg, needle2))
    fail_msg("'%s' lacks '%s'", err.msg, needle2);
}

#define PH "{\"name\":\"x\",\"op\":\"Placeholder\",\"attr\":{\"shape\":{\"shape\":{\"dim\":[{\"size\":\"1\"},{\"size\":\"4\"},{\"size\":\"4\"},{\"size\":\"3\"}]}}}}"
#define WRAP(nodes, weights)                                                                  \
  "{\"format\":\"graph-model\",\"modelTopology\":{\"node\":[" PH nodes "]},"                  \
  "\"weightsManifest\":[{\"paths\":[\"w.bin\"],\"weights\":[" weights "]}]}"

/* A constant 'c' added to the input: the manifest entry for 'c' varies. */
#define CONST_ADD                                                                             \
  ",{\"name\":\"c\",\"op\":\"Const\"},{\"name\":\"y\",\"op\":\"AddV2\",\"input\":[\"x\",\"c\"]}"

static void test_load_errors(void **state) {
  static const float w[64];
  /* Table-driven: the model text, weight bytes, and words the message must hold. */
  static const struct {
    const char *json;
    size_t wlen;
    const char *needle1, *needle2;
  } cases[] = {
      {"{not json", 0, "not valid JSON", NULL},
      {"[1,2]", 0, "not a JSON object", NULL},
      {"{\"format\":\"layers-model\"}", 0, "layers-model", NULL},
      {"{\"modelTopology\":{\"node\":[]}}", 0, "missing or empty", NULL},
      {WRAP(",{\"name\":\"y\",\"op\":\"FancyOp\",\"input\":[\"x\"]}", ""), 0, "'y'", "FancyOp"},
      {WRAP(",{\"name\":\"y\",\"op\":\"Relu\",\"input\":[\"nope\"]}", ""), 0, "'y' (Relu)", "nope"},
      {WRAP(",{\"name\":\"y\",\"op\":\"Relu\",\"input\":[\"x:1\"]}", ""), 0, "'y' (Relu)", "x:1"},
      {WRAP(",{\"name\":\"a\",\"op\":\"Relu\",\"input\":[\"b\"]},"
            "{\"name\":\"b\",\"op\":\"Relu\",\"input\":[\"a\"]},"
            "{\"name\":\"y\",\"op\":\"AddV2\",\"input\":[\"x\",\"b\"]}",
            ""),
       0, "cycle", NULL},
      {WRAP(CONST_ADD, ""), 0, "'c' (Const)", "no entry"},
      {WRAP(CONST_ADD, "{\"name\":\"c\",\"shape\":[3],\"dtype\":\"complex64\"}"), 24, "complex64",
       NULL},
      {WRAP(CONST_ADD, "{\"name\":\"c\",\"shape\":[300000000,300000000],\"dtype\":\"float32\"}"), 24,
       "'c'", NULL},
      {WRAP(CONST_ADD, "{\"name\":\"c\",\"shape\":[3],\"dtype\":\"float32\"}"), 8, "truncated",
       NULL},
      {WRAP(",{\"name\":\"y\",\"op\":\"_FusedConv2D\",\"input\":[\"x\",\"x\"],"
            "\"attr\":{\"padding\":{\"s\":\"U0FNRQ==\"},\"fused_ops\":{\"list\":{\"s\":["
            "\"Qmlhc0FkZA==\",\"RnVzZWRCYXRjaE5vcm0=\"]}}}}",
            ""),
       0, "'y' (_FusedConv2D)", "FusedBatchNorm"},
      {WRAP(",{\"name\":\"y\",\"op\":\"MaxPool\",\"input\":[\"x\"],"
            "\"attr\":{\"padding\":{\"s\":\"U0FNRQ==\"},\"ksize\":{\"list\":{\"i\":[\"1\",\"0\",\"2\",\"1\"]}}}}",
            ""),
       0, "'y' (MaxPool)", "ksize"},
      {WRAP(",{\"name\":\"x\",\"op\":\"Relu\",\"input\":[\"x\"]}", ""), 0, "two nodes", NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    expect_load_error(cases[i].json, w, cases[i].wlen, cases[i].needle1, cases[i].needle2);
}

/* Shape errors surface when planning, naming model, node and op. */
static void test_plan_errors(void **state) {
  float w[3 * 3 * 5 * 2] = {0};
  const char *js = WRAP(",{\"name\":\"f\",\"op\":\"Const\"},"
                        "{\"name\":\"conv\",\"op\":\"Conv2D\",\"input\":[\"x\",\"f\"],"
                        "\"attr\":{\"padding\":{\"s\":\"U0FNRQ==\"}}}",
                        "{\"name\":\"f\",\"shape\":[3,3,5,2],\"dtype\":\"float32\"}");
  struct vd_nn_model *m = NULL;
  struct vd_nn_ctx *c = NULL;
  struct vd_err err = {0};
  assert_int_equal(vd_nn_model_load_mem(&m, "bad", js, strlen(js), w, sizeof(w), NULL, &err), 0);
  int rc = vd_nn_ctx_new(&c, m, NULL, &err);
  assert_true(rc < 0);
  assert_null(c);
  printf("  error: %s\n", err.msg);
  assert_non_null(strstr(err.msg, "bad: node 'conv' (Conv2D)"));
  assert_non_null(strstr(err.msg, "3 channels"));
  /* a given input shape that contradicts the declared one */
  struct vd_nn_shape s = {4, {1, 5, 4, 3}};
  struct vd_nn_ctx_opts o = {.input_shape = &s};
  vd_err_clear(&err);
  assert_true(vd_nn_ctx_new(&c, m, &o, &err) < 0);
  assert_non_null(strstr(err.msg, "input 'x'"));
  /* the context cap */
  struct vd_nn_limits lim = {.max_ctx_bytes = 64};
  o = (struct vd_nn_ctx_opts){.limits = &lim};
  vd_err_clear(&err);
  assert_true(vd_nn_ctx_new(&c, m, &o, &err) < 0);
  vd_nn_model_free(m);
}

/* Writes `json` as <dir>/evil.json and expects loading it to fail with `needle`. */
static void expect_file_error(const char *dir, const char *json, const char *needle) {
  char *p = vd_xasprintf("%s/evil.json", dir);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(json, f);
  fclose(f);
  struct vd_nn_model *m = NULL;
  struct vd_err err = {0};
  assert_true(vd_nn_model_load(&m, p, NULL, &err) < 0);
  assert_null(m);
  if (!strstr(err.msg, needle))
    fail_msg("'%s' lacks '%s'", err.msg, needle);
  unlink(p);
  free(p);
}

/* Missing files, and shard names that try to leave the model's folder. */
static void test_file_errors(void **state) {
  struct vd_nn_model *m = NULL;
  struct vd_err err = {0};
  assert_true(vd_nn_model_load(&m, "/nonexistent/nope.json", NULL, &err) < 0);
  assert_non_null(strstr(err.msg, "nope: cannot open /nonexistent/nope.json"));
  char dir[] = "/tmp/vdnn.XXXXXX";
  assert_non_null(mkdtemp(dir));
  expect_file_error(dir,
                    "{\"modelTopology\":{\"node\":[" PH "]},\"weightsManifest\":[{\"paths\":"
                    "[\"../etc/passwd\"],\"weights\":[]}]}",
                    "not a plain file name");
  expect_file_error(dir,
                    "{\"modelTopology\":{\"node\":[" PH "]},\"weightsManifest\":[{\"paths\":"
                    "[\"gone.bin\"],\"weights\":[]}]}",
                    "gone.bin");
  rmdir(dir);
}

/* ---- int32 values, stacking, gathering, resampling ---------------------------------- */

static json_t *a_type(json_t *attr, const char *k, const char *t) {
  json_object_set_new(attr, k, json_pack("{s:s}", "type", t));
  return attr;
}

static json_t *a_int(json_t *attr, const char *k, long long v) {
  json_object_set_new(attr, k, json_pack("{s:o}", "i", json_sprintf("%lld", v)));
  return attr;
}

static json_t *a_bool(json_t *attr, const char *k, int v) {
  json_object_set_new(attr, k, json_pack("{s:b}", "b", v));
  return attr;
}

/* MoveNet's index arithmetic: ArgMax (ties: the first index), then int32
 * Sub, FloorDiv (towards minus infinity, on negatives too), Mul, Cast back. */
static void test_int_ops(void **state) {
  int64_t xd[3] = {2, 3, 5}, sd[1] = {0};
  const int32_t three = 3, two = 2, seven = 7, axis = -1;
  float *x = rand_vec(30);
  for (int i = 0; i < 30; i++)
    x[i] = roundf(x[i] * 2.0f) / 2.0f; /* few levels: ties are common */
  float want[6];
  for (int r = 0; r < 6; r++) {
    int arg = 0;
    for (int k = 1; k < 5; k++)
      if (x[r * 5 + k] > x[r * 5 + arg])
        arg = k;
    want[r] = (float)(floor((arg - 3) / 2.0) * 7);
  }
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 3, xd);
  mb_consti(&mb, "axis", 0, sd, &axis);
  mb_consti(&mb, "three", 0, sd, &three);
  mb_consti(&mb, "two", 0, sd, &two);
  mb_consti(&mb, "seven", 0, sd, &seven);
  const char *i1[] = {"x", "axis", NULL}, *i2[] = {"am", "three", NULL},
             *i3[] = {"s", "two", NULL}, *i4[] = {"fd", "seven", NULL}, *i5[] = {"m", NULL};
  mb_node(&mb, "am", "ArgMax", i1, a_type(json_object(), "output_type", "DT_INT32"));
  mb_node(&mb, "s", "Sub", i2, NULL);
  mb_node(&mb, "fd", "FloorDiv", i3, NULL);
  mb_node(&mb, "m", "Mul", i4, NULL);
  mb_node(&mb, "y", "Cast", i5, a_type(json_object(), "DstT", "DT_FLOAT"));
  int64_t od[2] = {2, 3};
  run_and_compare(&mb, x, 2, od, want, 1);
  mb_fini(&mb);
  free(x);
}

/* Cast float -> int32 truncates towards zero; an int32 input (MoveNet's
 * image) is filled as floats through its Cast; other uses are refused. */
static void test_cast_and_int_input(void **state) {
  int64_t xd[2] = {4, 6}, sd[1] = {0};
  const float ten = 10.0f;
  float *x = rand_vec(24), want[24];
  for (int i = 0; i < 24; i++)
    want[i] = truncf(x[i] * 10.0f);
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 2, xd);
  mb_constf(&mb, "ten", 0, sd, &ten);
  const char *i1[] = {"x", "ten", NULL}, *i2[] = {"m", NULL}, *i3[] = {"ci", NULL};
  mb_node(&mb, "m", "Mul", i1, NULL);
  mb_node(&mb, "ci", "Cast", i2, a_type(json_object(), "DstT", "DT_INT32"));
  mb_node(&mb, "y", "Cast", i3, a_type(json_object(), "DstT", "DT_FLOAT"));
  run_and_compare(&mb, x, 2, xd, want, 1);
  mb_fini(&mb);

  float pix[24];
  for (int i = 0; i < 24; i++) {
    pix[i] = (float)((i * 37) % 256);
    want[i] = pix[i] * 10.0f;
  }
  mb_init(&mb);
  mb_input_dt(&mb, "x", 2, xd, "DT_INT32");
  mb_constf(&mb, "ten", 0, sd, &ten);
  const char *j1[] = {"x", NULL}, *j2[] = {"c", "ten", NULL};
  mb_node(&mb, "c", "Cast", j1, a_type(json_object(), "DstT", "DT_FLOAT"));
  mb_node(&mb, "y", "Mul", j2, NULL);
  run_and_compare(&mb, pix, 2, xd, want, 1);
  mb_fini(&mb);

  mb_init(&mb);
  mb_input_dt(&mb, "x", 2, xd, "DT_INT32");
  const char *k1[] = {"x", NULL};
  mb_node(&mb, "y", "Relu", k1, NULL);
  struct vd_nn_model *m = NULL;
  struct vd_err err = {0};
  assert_true(mb_load(&mb, &m, &err) < 0);
  assert_non_null(strstr(err.msg, "int32 input 'x' is read by node 'y' (Relu)"));
  mb_fini(&mb);
  free(x);
}

/* Unpack's second and third outputs ("u:1", "u:2") are nodes of their own;
 * Pack and ConcatV2 put the rows back in another order. */
static void test_pack_unpack_concat(void **state) {
  int64_t xd[3] = {2, 3, 4}, sd[1] = {0};
  const int32_t zero = 0;
  float *x = rand_vec(24), want[24];
  /* y[0] = x[:,2,:], y[1] = x[:,0,:], y[2] = x[:,1,:] */
  const int order[3] = {2, 0, 1};
  for (int k = 0; k < 3; k++)
    for (int b = 0; b < 2; b++)
      for (int c = 0; c < 4; c++)
        want[(k * 2 + b) * 4 + c] = x[(b * 3 + order[k]) * 4 + c];
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 3, xd);
  mb_consti(&mb, "zero", 0, sd, &zero);
  const char *i1[] = {"x", NULL}, *i2[] = {"u:2", "u", NULL}, *i3[] = {"u:1", "zero", NULL},
             *i4[] = {"p", "e", "zero", NULL};
  mb_node(&mb, "u", "Unpack", i1, a_int(a_int(json_object(), "axis", 1), "num", 3));
  mb_node(&mb, "p", "Pack", i2, a_int(json_object(), "axis", 0));
  mb_node(&mb, "e", "ExpandDims", i3, NULL);
  mb_node(&mb, "y", "ConcatV2", i4, NULL);
  int64_t od[3] = {3, 2, 4};
  run_and_compare(&mb, x, 3, od, want, 1);
  mb_fini(&mb);

  /* Pack on the last axis: [2,4] x 2 -> [2,4,2] */
  for (int b = 0; b < 2; b++)
    for (int c = 0; c < 4; c++) {
      want[(b * 4 + c) * 2 + 0] = x[(b * 3 + 1) * 4 + c];
      want[(b * 4 + c) * 2 + 1] = x[(b * 3 + 0) * 4 + c];
    }
  mb_init(&mb);
  mb_input(&mb, "x", 3, xd);
  const char *j2[] = {"u:1", "u:0", NULL};
  mb_node(&mb, "u", "Unpack", i1, a_int(a_int(json_object(), "axis", -2), "num", 3));
  mb_node(&mb, "y", "Pack", j2, a_int(json_object(), "axis", -1));
  int64_t pd[3] = {2, 4, 2};
  run_and_compare(&mb, x, 3, pd, want, 1);
  mb_fini(&mb);

  /* ":1" of a single-output op, and an output past Unpack's count */
  const char *bad[][2] = {{"r:1", "not a node's first output"}, {"u:5", "output 5 of 3"}};
  for (int t = 0; t < 2; t++) {
    mb_init(&mb);
    mb_input(&mb, "x", 3, xd);
    const char *k1[] = {"x", NULL}, *k2[] = {bad[t][0], NULL};
    mb_node(&mb, "r", "Relu", k1, NULL);
    mb_node(&mb, "u", "Unpack", k1, a_int(json_object(), "axis", 1));
    mb_node(&mb, "y", "Relu", k2, NULL);
    struct vd_nn_model *m = NULL;
    struct vd_nn_ctx *c = NULL;
    struct vd_err err = {0};
    int rc = mb_load(&mb, &m, &err);
    if (rc == 0)
      rc = vd_nn_ctx_new(&c, m, NULL, &err);
    assert_true(rc < 0);
    if (!strstr(err.msg, bad[t][1]))
      fail_msg("%s: %s", bad[t][0], err.msg);
    vd_nn_model_free(m);
    mb_fini(&mb);
  }
  free(x);
}

/* GatherNd picks [row, col] slices; an index outside the params gives zeros. */
static void test_gathernd(void **state) {
  int64_t xd[3] = {3, 4, 2}, id[2] = {5, 2};
  const int32_t idx[10] = {0, 0, 2, 3, 1, 2, 3, 0, 2, -1};
  float *x = rand_vec(24), want[10];
  for (int t = 0; t < 5; t++) {
    int r = idx[2 * t], c = idx[2 * t + 1], ok = r >= 0 && r < 3 && c >= 0 && c < 4;
    for (int k = 0; k < 2; k++)
      want[t * 2 + k] = ok ? x[(r * 4 + c) * 2 + k] : 0.0f;
  }
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 3, xd);
  mb_consti(&mb, "idx", 2, id, idx);
  const char *i1[] = {"x", "idx", NULL};
  mb_node(&mb, "y", "GatherNd", i1, NULL);
  int64_t od[2] = {5, 2};
  run_and_compare(&mb, x, 2, od, want, 1);
  mb_fini(&mb);
  free(x);
}

/* Bilinear resampling, TF.js's CPU formula: source = ratio * (o + 0.5) - 0.5
 * with half-pixel centres (ratio * o otherwise; align_corners uses
 * (in-1)/(out-1)); floor clamped at 0, ceil at in-1, the fraction taken from
 * the clamped floor. */
static double ref_src(int64_t o, int64_t in, int64_t out, int ac, int hp, int64_t *lo, int64_t *hi) {
  double ratio = ac && out > 1 ? (double)(in - 1) / (double)(out - 1) : (double)in / (double)out;
  double f = hp ? ratio * ((double)o + 0.5) - 0.5 : ratio * (double)o;
  *lo = (int64_t)fmax(0.0, floor(f));
  *hi = (int64_t)fmin((double)(in - 1), ceil(f));
  return f - (double)*lo;
}

static void test_resize_bilinear(void **state) {
  int64_t xd[4] = {2, 3, 4, 2}, sd[1] = {2};
  const int32_t sizes[3][2] = {{5, 7}, {6, 8}, {2, 3}};
  const int modes[3][2] = {{0, 1}, {0, 0}, {1, 0}}; /* align_corners, half_pixel_centers */
  float *x = rand_vec(48);
  for (int t = 0; t < 3; t++) {
    int64_t OH = sizes[t][0], OW = sizes[t][1];
    float *want = vd_xmalloc((size_t)(2 * OH * OW * 2) * sizeof(float));
    for (int64_t b = 0; b < 2; b++)
      for (int64_t oy = 0; oy < OH; oy++)
        for (int64_t ox = 0; ox < OW; ox++)
          for (int64_t c = 0; c < 2; c++) {
            int64_t y0, y1, x0, x1;
            double fy = ref_src(oy, 3, OH, modes[t][0], modes[t][1], &y0, &y1);
            double fx = ref_src(ox, 4, OW, modes[t][0], modes[t][1], &x0, &x1);
#define PX(yy, xx) ((double)x[((b * 3 + (yy)) * 4 + (xx)) * 2 + c])
            double top = PX(y0, x0) + (PX(y0, x1) - PX(y0, x0)) * fx;
            double bot = PX(y1, x0) + (PX(y1, x1) - PX(y1, x0)) * fx;
#undef PX
            want[((b * OH + oy) * OW + ox) * 2 + c] = (float)(top + (bot - top) * fy);
          }
    struct mb mb;
    mb_init(&mb);
    mb_input(&mb, "x", 4, xd);
    mb_consti(&mb, "size", 1, sd, sizes[t]);
    const char *i1[] = {"x", "size", NULL};
    mb_node(&mb, "y", "ResizeBilinear", i1,
            a_bool(a_bool(json_object(), "align_corners", modes[t][0]), "half_pixel_centers",
                   modes[t][1]));
    int64_t od[4] = {2, OH, OW, 2};
    run_and_compare(&mb, x, 4, od, want, t == 0 ? 2 : 1);
    mb_fini(&mb);
    free(want);
  }
  free(x);
}

/* ---- detection heads: FloorMod and Equal on int32, TopKV2, GatherV2, StridedSlice ---- */

/* Runs a graph whose output is a single value of `rank`/`od` and compares. */
static void detect_case(struct mb *mb, const float *x, int rank, const int64_t *od,
                        const float *want) {
  run_and_compare(mb, x, rank, od, want, 1);
  mb_fini(mb);
}

/* CenterNet's index arithmetic: class = index mod 80 in int32 (the
 * divisor's sign, negatives too), and a peak test x == maxpool(x) as 1/0. */
static void test_floormod_equal(void **state) {
  int64_t xd[2] = {3, 8}, sd[1] = {0};
  const int32_t m3 = -3, five = 5, one = 1;
  float x[24], want[24];
  for (int i = 0; i < 24; i++) {
    x[i] = (float)(i * 7 % 23 - 11);
    int r = (int)x[i] % 5;
    if (r != 0 && r < 0)
      r += 5; /* Python's x % 5 */
    int q = (int)x[i] - (int)floor(x[i] / -3.0) * -3;
    want[i] = (float)(q + (r == 1));
  }
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 2, xd);
  mb_consti(&mb, "m3", 0, sd, &m3);
  mb_consti(&mb, "five", 0, sd, &five);
  mb_consti(&mb, "one", 0, sd, &one);
  const char *i1[] = {"x", NULL}, *i2[] = {"xi", "m3", NULL}, *i3[] = {"xi", "five", NULL},
             *i4[] = {"r5", "one", NULL}, *i5[] = {"q", "eq", NULL}, *i6[] = {"s", NULL};
  mb_node(&mb, "xi", "Cast", i1, a_type(json_object(), "DstT", "DT_INT32"));
  mb_node(&mb, "q", "FloorMod", i2, NULL);
  mb_node(&mb, "r5", "FloorMod", i3, NULL);
  mb_node(&mb, "eq", "Equal", i4, NULL);
  mb_node(&mb, "s", "Add", i5, NULL);
  mb_node(&mb, "y", "Cast", i6, a_type(json_object(), "DstT", "DT_FLOAT"));
  detect_case(&mb, x, 2, xd, want);

  /* float Equal against a 3x3 max: 1 at local peaks, else 0 */
  int64_t pd[4] = {1, 5, 6, 2};
  float *p = rand_vec(60), pw[60];
  for (int i = 0; i < 60; i++)
    p[i] = roundf(p[i] * 3.0f); /* plateaus: several cells share a peak */
  for (int y = 0; y < 5; y++)
    for (int xx = 0; xx < 6; xx++)
      for (int c = 0; c < 2; c++) {
        float mx = -INFINITY;
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++)
            if (y + dy >= 0 && y + dy < 5 && xx + dx >= 0 && xx + dx < 6)
              mx = fmaxf(mx, p[((y + dy) * 6 + xx + dx) * 2 + c]);
        pw[(y * 6 + xx) * 2 + c] = p[(y * 6 + xx) * 2 + c] == mx ? 1.0f : 0.0f;
      }
  mb_init(&mb);
  mb_input(&mb, "x", 4, pd);
  const char *j1[] = {"x", NULL}, *j2[] = {"x", "mp", NULL}, *j3[] = {"eq", NULL};
  json_t *pa = json_object();
  int64_t k3[4] = {1, 3, 3, 1}, s1[4] = {1, 1, 1, 1};
  a_ints(pa, "ksize", 4, k3);
  a_ints(pa, "strides", 4, s1);
  a_str(pa, "padding", "SAME");
  mb_node(&mb, "mp", "MaxPool", j1, pa);
  mb_node(&mb, "eq", "Equal", j2, NULL);
  mb_node(&mb, "y", "Cast", j3, a_type(json_object(), "DstT", "DT_FLOAT"));
  detect_case(&mb, p, 4, pd, pw);
  free(p);
}

/* TopKV2 against a selection sort: the largest first, ties to the lower
 * index; output 0 the values, output 1 the int32 indices; k past the last
 * dimension is refused. */
static void test_topk(void **state) {
  enum { R = 3, L = 40, K = 9 };
  int64_t xd[2] = {R, L}, sd[1] = {0}, od[2] = {R, K};
  const int32_t k = K;
  float *x = rand_vec(R * L), wv[R * K], wi[R * K];
  for (int i = 0; i < R * L; i++)
    x[i] = roundf(x[i] * 4.0f); /* 9 levels over 40 values: many ties */
  for (int r = 0; r < R; r++) {
    char taken[L] = {0};
    for (int j = 0; j < K; j++) {
      int best = -1;
      for (int i = 0; i < L; i++)
        if (!taken[i] && (best < 0 || x[r * L + i] > x[r * L + best]))
          best = i;
      taken[best] = 1;
      wv[r * K + j] = x[r * L + best];
      wi[r * K + j] = (float)best;
    }
  }
  for (int out = 0; out < 2; out++) {
    struct mb mb;
    mb_init(&mb);
    mb_input(&mb, "x", 2, xd);
    mb_consti(&mb, "k", 0, sd, &k);
    const char *i1[] = {"x", "k", NULL}, *i2[] = {out ? "t:1" : "t", NULL};
    /* Unread outputs are graph outputs in file order: "y" goes first so the
     * comparison reads it even when "t:0" is left unread. */
    mb_node(&mb, "y", "Cast", i2, a_type(json_object(), "DstT", "DT_FLOAT"));
    mb_node(&mb, "t", "TopKV2", i1, a_bool(json_object(), "sorted", 1));
    detect_case(&mb, x, 2, od, out ? wi : wv);
  }
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 2, xd);
  const int32_t big = L + 1;
  mb_consti(&mb, "k", 0, sd, &big);
  const char *i1[] = {"x", "k", NULL};
  mb_node(&mb, "y", "TopKV2", i1, NULL);
  struct vd_nn_model *m = NULL;
  struct vd_nn_ctx *c = NULL;
  struct vd_err err = {0};
  assert_int_equal(mb_load(&mb, &m, &err), 0);
  assert_true(vd_nn_ctx_new(&c, m, NULL, &err) < 0);
  assert_non_null(strstr(err.msg, "k = 41 for a last dimension of 40"));
  vd_nn_model_free(m);
  mb_fini(&mb);
  free(x);
}

/* GatherV2 along axis 1 at indices from data (TopK's output in CenterNet);
 * an index outside the axis gives zeros. */
static void test_gatherv2(void **state) {
  int64_t xd[3] = {3, 4, 2}, id[1] = {5}, sd[1] = {0}, od[3] = {3, 5, 2};
  const int32_t idx[5] = {2, 0, 3, -1, 4}, axis = 1;
  float *x = rand_vec(24), want[30];
  for (int a = 0; a < 3; a++)
    for (int t = 0; t < 5; t++)
      for (int c = 0; c < 2; c++)
        want[(a * 5 + t) * 2 + c] =
            idx[t] >= 0 && idx[t] < 4 ? x[(a * 4 + idx[t]) * 2 + c] : 0.0f;
  struct mb mb;
  mb_init(&mb);
  mb_input(&mb, "x", 3, xd);
  mb_consti(&mb, "idx", 1, id, idx);
  mb_consti(&mb, "axis", 0, sd, &axis);
  const char *i1[] = {"x", "idx", "axis", NULL};
  mb_node(&mb, "y", "GatherV2", i1, a_int(json_object(), "batch_dims", 0));
  detect_case(&mb, x, 3, od, want);
  free(x);
}

/* The indices Python's x[b:e:s] visits along one dim of size n (None = a
 * masked end); the plain definition, not the closed form ops_detect uses. */
static int py_slice(int n, int b, int e, int s, int bmask, int emask, int *out) {
  if (bmask)
    b = s > 0 ? 0 : n - 1;
  else if (b < 0)
    b += n;
  if (emask)
    e = s > 0 ? n : -1;
  else if (e < 0)
    e += n;
  int k = 0;
  for (int i = b; s > 0 ? i < e : i > e; i += s)
    if (i >= 0 && i < n)
      out[k++] = i;
  return k;
}

/* StridedSlice: forward and backward strides, negative bounds, begin/end
 * masks, and shrink_axis_mask dropping a dim. */
static void test_strided_slice(void **state) {
  int64_t xd[3] = {2, 5, 6}, vd[1] = {3};
  float *x = rand_vec(60);
  const struct {
    int32_t b[3], e[3], s[3];
    int bm, em, sm;
  } cases[] = {
      {{0, 1, -1}, {0, 4, 0}, {1, 2, -2}, 1, 1, 0},
      {{1, 0, 2}, {2, 0, 5}, {1, 1, 1}, 0, 2, 1},
      {{0, -2, 0}, {2, 100, 6}, {1, 1, 3}, 0, 0, 0},
      {{0, 4, 0}, {2, 0, 6}, {1, -1, 1}, 0, 0, 4},
  };
  for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
    int ix[3][8], n[3];
    for (int d = 0; d < 3; d++) {
      if (cases[t].sm >> d & 1) {
        n[d] = 1;
        ix[d][0] = cases[t].b[d] < 0 ? cases[t].b[d] + (int)xd[d] : cases[t].b[d];
      } else {
        n[d] = py_slice((int)xd[d], cases[t].b[d], cases[t].e[d], cases[t].s[d],
                        cases[t].bm >> d & 1, cases[t].em >> d & 1, ix[d]);
      }
    }
    float want[60];
    int64_t od[3];
    int rank = 0, w = 0;
    for (int d = 0; d < 3; d++)
      if (!(cases[t].sm >> d & 1))
        od[rank++] = n[d];
    for (int a = 0; a < n[0]; a++)
      for (int b = 0; b < n[1]; b++)
        for (int c = 0; c < n[2]; c++)
          want[w++] = x[(ix[0][a] * 5 + ix[1][b]) * 6 + ix[2][c]];
    struct mb mb;
    mb_init(&mb);
    mb_input(&mb, "x", 3, xd);
    mb_consti(&mb, "b", 1, vd, cases[t].b);
    mb_consti(&mb, "e", 1, vd, cases[t].e);
    mb_consti(&mb, "s", 1, vd, cases[t].s);
    const char *i1[] = {"x", "b", "e", "s", NULL};
    json_t *at = a_int(a_int(a_int(json_object(), "begin_mask", cases[t].bm), "end_mask",
                             cases[t].em),
                       "shrink_axis_mask", cases[t].sm);
    mb_node(&mb, "y", "StridedSlice", i1, at);
    detect_case(&mb, x, rank, od, want);
  }
  free(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv2d),       cmocka_unit_test(test_depthwise),
      cmocka_unit_test(test_matmul),       cmocka_unit_test(test_binary),
      cmocka_unit_test(test_unary),        cmocka_unit_test(test_softmax),
      cmocka_unit_test(test_pool),         cmocka_unit_test(test_reduce),
      cmocka_unit_test(test_pad),          cmocka_unit_test(test_views),
      cmocka_unit_test(test_resize),
      cmocka_unit_test(test_int_ops),      cmocka_unit_test(test_cast_and_int_input),
      cmocka_unit_test(test_pack_unpack_concat), cmocka_unit_test(test_gathernd),
      cmocka_unit_test(test_resize_bilinear),
      cmocka_unit_test(test_floormod_equal), cmocka_unit_test(test_topk),
      cmocka_unit_test(test_gatherv2),     cmocka_unit_test(test_strided_slice),
      cmocka_unit_test(test_plan_reuse_and_folding),
      cmocka_unit_test(test_float16_weights),
      cmocka_unit_test(test_load_errors),  cmocka_unit_test(test_plan_errors),
      cmocka_unit_test(test_file_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
