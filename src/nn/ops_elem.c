/*
 * ops_elem: element-wise ops. Binary ops broadcast like NumPy (shapes
 * right-aligned; a dimension of 1 stretches); unary ops and Softmax (over the
 * last axis). Binary ops other than RealDiv also compute on int32 (index
 * arithmetic after ArgMax), with integer semantics: FloorDiv rounds towards
 * minus infinity, as TensorFlow's does, and FloorMod takes the divisor's
 * sign. Equal gives 1 or 0 in its operands' dtype: the runtime has no bool,
 * and the Cast that follows a comparison in TF graphs then reads it as is.
 *
 * Broadcasting first merges neighbouring dimensions that broadcast the same
 * way, so the common cases (same shape; per-channel vector against NHWC; a
 * scalar) become one or two flat loops instead of an index walk per element.
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

enum binop { B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_SQDIFF, B_FLOORDIV, B_FLOORMOD, B_EQUAL };
enum unop { U_RELU, U_RELU6, U_ABS, U_SQUARE, U_RSQRT, U_SQRT, U_SIGMOID, U_EXP, U_NEG, U_TANH,
            U_LEAKY, U_ELU };

static const struct {
  const char *name;
  int code;
} codes[] = {
    {"Add", B_ADD},     {"AddV2", B_ADD},      {"BiasAdd", B_ADD},   {"Sub", B_SUB},
    {"Mul", B_MUL},     {"RealDiv", B_DIV},    {"Div", B_DIV},       {"Maximum", B_MAX},
    {"Minimum", B_MIN}, {"SquaredDifference", B_SQDIFF}, {"FloorDiv", B_FLOORDIV},
    {"FloorMod", B_FLOORMOD}, {"Equal", B_EQUAL},
    {"Relu", U_RELU},   {"Relu6", U_RELU6},    {"Abs", U_ABS},       {"Square", U_SQUARE},
    {"Rsqrt", U_RSQRT}, {"Sqrt", U_SQRT},      {"Sigmoid", U_SIGMOID}, {"Exp", U_EXP},
    {"Neg", U_NEG},     {"Tanh", U_TANH},      {"LeakyRelu", U_LEAKY}, {"Elu", U_ELU},
};

static int code_of(const struct vd__nn_node *n) {
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    if (strcmp(codes[i].name, n->opname) == 0)
      return codes[i].code;
  return -1;
}

/* ---- binary ------------------------------------------------------------------ */

static int bin_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  char buf[32];
  n->a.code = code_of(n);
  if (strcmp(n->opname, "BiasAdd") == 0 && vd__nn_attr_str(attr, "data_format", buf, sizeof(buf)) == 0 &&
      strcmp(buf, "NHWC") != 0)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "data_format %s (NHWC only)", buf);
  return 0;
}

static int bin_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                     struct vd_nn_shape *out, struct vd_err *e) {
  const struct vd_nn_shape *a = &in[0].s, *b = &in[1].s;
  if (in[0].dtype != in[1].dtype)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "one operand is int32, the other float32");
  if (in[0].dtype == VD__NN_I32 && n->a.code == B_DIV)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "%s of int32 values", n->opname);
  int r = a->rank > b->rank ? a->rank : b->rank;
  out->rank = r;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    int64_t da = ia >= 0 ? a->dim[ia] : 1, db = ib >= 0 ? b->dim[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      char sa[96], sb[96];
      return vd_err_set(e, VD_ERR_INVALID, "shapes %s and %s do not broadcast",
                        vd__nn_shape_str(a, sa, sizeof(sa)), vd__nn_shape_str(b, sb, sizeof(sb)));
    }
    out->dim[i] = da == 1 ? db : da;
  }
  return 0;
}

/* Broadcast plan: up to VD_NN_MAX_RANK merged dims with element strides. */
struct bcast {
  int rank;
  int64_t dim[VD_NN_MAX_RANK], sa[VD_NN_MAX_RANK], sb[VD_NN_MAX_RANK];
};

static void bcast_plan(const struct vd_nn_shape *a, const struct vd_nn_shape *b,
                       const struct vd_nn_shape *o, struct bcast *p) {
  int r = o->rank;
  int64_t da[VD_NN_MAX_RANK], db[VD_NN_MAX_RANK];
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    da[i] = ia >= 0 ? a->dim[ia] : 1;
    db[i] = ib >= 0 ? b->dim[ib] : 1;
  }
  /* Merge dims (outermost first) whose broadcast pattern matches. */
  p->rank = 0;
  int prev_a = -1, prev_b = -1;
  for (int i = 0; i < r; i++) {
    if (o->dim[i] == 1)
      continue;
    int ba = da[i] == 1, bb = db[i] == 1;
    if (p->rank > 0 && ba == prev_a && bb == prev_b) {
      p->dim[p->rank - 1] *= o->dim[i];
    } else {
      p->dim[p->rank++] = o->dim[i];
      prev_a = ba;
      prev_b = bb;
    }
    p->sa[p->rank - 1] = ba;
    p->sb[p->rank - 1] = bb; /* flags for now; strides below */
  }
  if (p->rank == 0) {
    p->rank = 1;
    p->dim[0] = 1;
    p->sa[0] = p->sb[0] = 0;
  }
  int64_t ea = 1, eb = 1;
  for (int i = p->rank - 1; i >= 0; i--) {
    int ba = (int)p->sa[i], bb = (int)p->sb[i];
    p->sa[i] = ba ? 0 : ea;
    p->sb[i] = bb ? 0 : eb;
    if (!ba)
      ea *= p->dim[i];
    if (!bb)
      eb *= p->dim[i];
  }
}

struct bin_job {
  int op;
  const struct vd__nn_attr *attr; /* attr->act: a Relu fused in by the loader */
  int is_int;  /* int32 operands and output */
  struct bcast p;
  const void *a, *b;
  void *o;
  int64_t inner; /* elements per outer index: product of all dims but the first */
};

/* The three stride patterns that matter (same shape, scalar right, scalar
 * left) get their own loops so the compiler can vectorize them; `restrict`
 * holds because the plan never gives an op an output that is one of its inputs. */
#define BIN_LOOPS(EXPR)                                                                       \
  do {                                                                                        \
    if (sa == 1 && sb == 1) {                                                                 \
      for (int64_t i = 0; i < n; i++) {                                                       \
        float x = a[i], y = b[i];                                                             \
        o[i] = (EXPR);                                                                        \
      }                                                                                       \
    } else if (sa == 1 && sb == 0) {                                                          \
      const float y = b[0];                                                                   \
      for (int64_t i = 0; i < n; i++) {                                                       \
        float x = a[i];                                                                       \
        o[i] = (EXPR);                                                                        \
      }                                                                                       \
    } else if (sa == 0 && sb == 1) {                                                          \
      const float x = a[0];                                                                   \
      for (int64_t i = 0; i < n; i++) {                                                       \
        float y = b[i];                                                                       \
        o[i] = (EXPR);                                                                        \
      }                                                                                       \
    } else {                                                                                  \
      for (int64_t i = 0; i < n; i++) {                                                       \
        float x = a[i * sa], y = b[i * sb];                                                   \
        o[i] = (EXPR);                                                                        \
      }                                                                                       \
    }                                                                                         \
  } while (0)

/* The remainder with the divisor's sign, as TF.js computes it (in double). */
static float floormod_f32(float x, float y) {
  double r = fmod((double)x, (double)y);
  if (r != 0 && ((r < 0) != (y < 0)))
    r += y;
  return (float)r;
}

static void bin_inner(int op, int64_t n, const float *restrict a, int64_t sa,
                      const float *restrict b, int64_t sb, float *restrict o) {
  switch (op) {
  case B_ADD:
    BIN_LOOPS(x + y);
    break;
  case B_SUB:
    BIN_LOOPS(x - y);
    break;
  case B_MUL:
    BIN_LOOPS(x * y);
    break;
  case B_DIV:
    BIN_LOOPS(x / y);
    break;
  case B_MAX:
    BIN_LOOPS(x > y ? x : y);
    break;
  case B_MIN:
    BIN_LOOPS(x < y ? x : y);
    break;
  case B_FLOORDIV:
    BIN_LOOPS((float)floor((double)x / y)); /* as TF.js: in double */
    break;
  case B_FLOORMOD:
    BIN_LOOPS(floormod_f32(x, y));
    break;
  case B_EQUAL:
    BIN_LOOPS(x == y ? 1.0f : 0.0f);
    break;
  default:
    BIN_LOOPS((x - y) * (x - y));
    break;
  }
}

/* Integer division rounding towards minus infinity; x / 0 gives 0 (TF
 * fails there, and run() cannot), INT32_MIN / -1 wraps. */
static int32_t floordiv_i32(int32_t x, int32_t y) {
  if (y == 0)
    return 0;
  if (y == -1)
    return (int32_t)(0u - (uint32_t)x);
  int32_t q = x / y;
  return (q * y != x && ((x < 0) != (y < 0))) ? q - 1 : q;
}

/* x - floordiv(x, y) * y: the divisor's sign; x mod 0 gives 0 like x / 0. */
static int32_t floormod_i32(int32_t x, int32_t y) {
  if (y == 0 || y == -1)
    return 0;
  int32_t r = x % y;
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}

/* int32 arithmetic wraps like TF's (computed unsigned: no UB on overflow). */
static void bin_inner_i32(int op, int64_t n, const int32_t *restrict a, int64_t sa,
                          const int32_t *restrict b, int64_t sb, int32_t *restrict o) {
  for (int64_t i = 0; i < n; i++) {
    int32_t x = a[i * sa], y = b[i * sb];
    uint32_t ux = (uint32_t)x, uy = (uint32_t)y;
    switch (op) {
    case B_ADD:
      o[i] = (int32_t)(ux + uy);
      break;
    case B_SUB:
      o[i] = (int32_t)(ux - uy);
      break;
    case B_MUL:
      o[i] = (int32_t)(ux * uy);
      break;
    case B_MAX:
      o[i] = x > y ? x : y;
      break;
    case B_MIN:
      o[i] = x < y ? x : y;
      break;
    case B_FLOORDIV:
      o[i] = floordiv_i32(x, y);
      break;
    case B_FLOORMOD:
      o[i] = floormod_i32(x, y);
      break;
    case B_EQUAL:
      o[i] = x == y;
      break;
    default: /* B_SQDIFF; B_DIV is refused by infer */
      o[i] = (int32_t)((ux - uy) * (ux - uy));
      break;
    }
  }
}

/* One row of the output: float or int32. */
static void bin_row(const struct bin_job *j, int64_t n, int64_t oa, int64_t sa, int64_t ob,
                    int64_t sb, int64_t oo) {
  if (j->is_int) {
    bin_inner_i32(j->op, n, (const int32_t *)j->a + oa, sa, (const int32_t *)j->b + ob, sb,
                  (int32_t *)j->o + oo);
    return;
  }
  bin_inner(j->op, n, (const float *)j->a + oa, sa, (const float *)j->b + ob, sb,
            (float *)j->o + oo);
  vd__nn_activate((float *)j->o + oo, n, j->attr);
}

static void bin_task(void *arg, int64_t beg, int64_t end, int thread) {
  const struct bin_job *j = arg;
  const struct bcast *p = &j->p;
  int r = p->rank;
  int64_t inner = p->dim[r - 1], rows = j->inner / inner;
  for (int64_t t = beg; t < end; t++) {
    /* t indexes the first merged dim; walk the middle ones with an odometer. */
    int64_t idx[VD_NN_MAX_RANK] = {0};
    idx[0] = t;
    int64_t o = t * j->inner;
    for (int64_t row = 0; row < rows; row++) {
      int64_t oa = 0, ob = 0;
      for (int d = 0; d < r - 1; d++) {
        oa += idx[d] * p->sa[d];
        ob += idx[d] * p->sb[d];
      }
      bin_row(j, inner, oa, p->sa[r - 1], ob, p->sb[r - 1], o + row * inner);
      for (int d = r - 2; d >= 1; d--) {
        if (++idx[d] < p->dim[d])
          break;
        idx[d] = 0;
      }
    }
  }
}

/* One merged dimension: split the flat range itself. */
static void flat_task(void *arg, int64_t beg, int64_t end, int thread) {
  const struct bin_job *j = arg;
  int64_t sa = j->p.sa[0], sb = j->p.sb[0];
  bin_row(j, end - beg, beg * sa, sa, beg * sb, sb, beg);
}

static void bin_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                    struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  struct bin_job j = {.op = n->a.code,
                      .attr = &n->a,
                      .is_int = in[0].dtype == VD__NN_I32,
                      .a = in[0].data,
                      .b = in[1].data,
                      .o = out->data};
  if (vd__nn_count(&out->s) == 0)
    return;
  bcast_plan(&in[0].s, &in[1].s, &out->s, &j.p);
  if (j.p.rank == 1) {
    vd__nn_parallel(x->pool, j.p.dim[0], 1 << 14, flat_task, &j);
    return;
  }
  j.inner = 1;
  for (int d = 1; d < j.p.rank; d++)
    j.inner *= j.p.dim[d];
  vd__nn_parallel(x->pool, j.p.dim[0], (1 << 14) / (j.inner ? j.inner : 1) + 1, bin_task, &j);
}

/* ---- unary ------------------------------------------------------------------- */

static int un_parse(struct vd__nn_node *n, json_t *attr, struct vd_err *e) {
  n->a.code = code_of(n);
  n->a.alpha = 0.2f;
  if (strcmp(n->opname, "LeakyRelu") == 0)
    (void)vd__nn_attr_float(attr, "alpha", &n->a.alpha);
  return 0;
}

static int same_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                      struct vd_nn_shape *out, struct vd_err *e) {
  *out = in[0].s;
  return 0;
}

struct un_job {
  int op;
  float alpha;
  const float *a;
  float *o;
};

static void un_task(void *arg, int64_t b, int64_t e, int thread) {
  const struct un_job *j = arg;
  const float *restrict a = j->a;
  float *restrict o = j->o;
  switch (j->op) {
  case U_RELU:
    for (int64_t i = b; i < e; i++)
      o[i] = a[i] > 0 ? a[i] : 0;
    break;
  case U_RELU6:
    for (int64_t i = b; i < e; i++)
      o[i] = a[i] > 0 ? (a[i] < 6 ? a[i] : 6) : 0;
    break;
  case U_ABS:
    for (int64_t i = b; i < e; i++)
      o[i] = fabsf(a[i]);
    break;
  case U_SQUARE:
    for (int64_t i = b; i < e; i++)
      o[i] = a[i] * a[i];
    break;
  case U_RSQRT:
    for (int64_t i = b; i < e; i++)
      o[i] = 1.0f / sqrtf(a[i]);
    break;
  case U_SQRT:
    for (int64_t i = b; i < e; i++)
      o[i] = sqrtf(a[i]);
    break;
  case U_SIGMOID:
    for (int64_t i = b; i < e; i++)
      o[i] = 1.0f / (1.0f + expf(-a[i]));
    break;
  case U_EXP:
    for (int64_t i = b; i < e; i++)
      o[i] = expf(a[i]);
    break;
  case U_NEG:
    for (int64_t i = b; i < e; i++)
      o[i] = -a[i];
    break;
  case U_TANH:
    for (int64_t i = b; i < e; i++)
      o[i] = tanhf(a[i]);
    break;
  case U_LEAKY:
    for (int64_t i = b; i < e; i++)
      o[i] = a[i] > 0 ? a[i] : a[i] * j->alpha;
    break;
  case U_ELU:
    for (int64_t i = b; i < e; i++)
      o[i] = a[i] > 0 ? a[i] : expm1f(a[i]);
    break;
  default:
    break;
  }
}

static void un_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                   struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  struct un_job j = {n->a.code, n->a.alpha, in[0].data, out->data};
  vd__nn_parallel(x->pool, vd__nn_count(&out->s), 1 << 15, un_task, &j);
}

/* ---- Softmax (last axis) ------------------------------------------------------- */

static int softmax_infer(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                         struct vd_nn_shape *out, struct vd_err *e) {
  if (in[0].s.rank < 1)
    return vd_err_set(e, VD_ERR_INVALID, "Softmax of a scalar");
  *out = in[0].s;
  return 0;
}

static void softmax_run(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                        struct vd__nn_tensor *out, struct vd__nn_exec *x) {
  int64_t c = in[0].s.dim[in[0].s.rank - 1], rows = c ? vd__nn_count(&in[0].s) / c : 0;
  const float *a = in[0].data;
  float *o = out->data;
  for (int64_t r = 0; r < rows; r++, a += c, o += c) {
    float mx = a[0], sum = 0;
    for (int64_t i = 1; i < c; i++)
      mx = a[i] > mx ? a[i] : mx;
    for (int64_t i = 0; i < c; i++)
      sum += (o[i] = expf(a[i] - mx));
    for (int64_t i = 0; i < c; i++)
      o[i] /= sum;
  }
}

#define BIN(name) {name, 2, 2, bin_parse, bin_infer, NULL, bin_run, 0, 0, VD__NN_OP_TYPED}
#define UN(name) {name, 1, 1, un_parse, same_infer, NULL, un_run, 0, 0, 0}

const struct vd__nn_op vd__nn_ops_elem[] = {
    BIN("Add"),     BIN("AddV2"),   BIN("BiasAdd"), BIN("Sub"),   BIN("Mul"),
    BIN("RealDiv"), BIN("Div"),     BIN("Maximum"), BIN("Minimum"), BIN("SquaredDifference"),
    BIN("FloorDiv"), BIN("FloorMod"), BIN("Equal"),
    UN("Relu"),     UN("Relu6"),    UN("Abs"),      UN("Square"), UN("Rsqrt"),
    UN("Sqrt"),     UN("Sigmoid"),  UN("Exp"),      UN("Neg"),    UN("Tanh"),
    UN("LeakyRelu"), UN("Elu"),
    {"Softmax", 1, 1, NULL, softmax_infer, NULL, softmax_run, 0, 0, 0},
    {NULL, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0},
};
