/*
 * nn_int.h: what the nn files share: the graph as loaded, the op table, the
 * execution helpers. Not for use outside src/nn (and its unit tests).
 *
 * A value is the output of a node; values are numbered like nodes (a
 * multi-output op is one node per output read, see VD__NN_OP_MULTI).
 * Const nodes (weights, and nodes folded at load) carry their data; every
 * other value gets a buffer from the context's plan.
 */
#ifndef VD_NN_NN_INT_H
#define VD_NN_NN_INT_H

#include <jansson.h>
#include <stdatomic.h>

#include "nn/nn.h"

enum vd__nn_dtype { VD__NN_F32 = 1, VD__NN_I32 };

/* A dense row-major view: shape, dtype and data (float or int32_t). */
struct vd__nn_tensor {
  struct vd_nn_shape s;
  int dtype;
  void *data; /* NULL while only the shape is known */
};

enum vd__nn_pad { VD__NN_PAD_VALID, VD__NN_PAD_SAME, VD__NN_PAD_EXPLICIT };
/* HSWISH: (x * alpha) * relu6(x + beta), hard-swish as centernet writes it
 * (alpha = 1/6, beta = 3), fused by the loader (model.c fuse_hswish). */
enum vd__nn_act { VD__NN_ACT_NONE, VD__NN_ACT_RELU, VD__NN_ACT_RELU6, VD__NN_ACT_LEAKY, VD__NN_ACT_HSWISH };

/* Parsed attributes; each op reads the fields it needs. */
struct vd__nn_attr {
  int stride[2];        /* H, W */
  int dil[2];           /* H, W */
  int ksize[2];         /* pooling window H, W */
  int pad;              /* enum vd__nn_pad */
  int64_t epad[4];      /* EXPLICIT: top, bottom, left, right */
  int act;              /* fused activation, enum vd__nn_act */
  int code;             /* element-wise ops: which one (ops_elem.c) */
  float alpha;          /* LeakyRelu slope; HSWISH scale */
  float beta;           /* HSWISH offset */
  int bias;             /* fused BiasAdd present */
  int keep_dims;        /* reductions */
  int trans_a, trans_b; /* MatMul */
  int n_squeeze;        /* Squeeze: count of squeeze_dims (0 = all size-1 dims) */
  int squeeze[VD_NN_MAX_RANK];
  int axis;             /* Pack, Unpack: the stacked axis */
  int index;            /* multi-output ops (Unpack): which output this node stands for */
  int dst;              /* Cast, ArgMax: output dtype (enum vd__nn_dtype); 0 = the rule below */
  int align_corners, half_pixel; /* ResizeBilinear */
  int begin_mask, end_mask, shrink_mask; /* StridedSlice: bit i applies to dim i */
};

struct vd__nn_exec;

/*
 * infer: output shape from input shapes. Inputs that are constant have data
 * (ops that need a shape, paddings or axes require it). Sets an error naming
 * nothing but the problem; the caller prefixes model, node and op.
 * scratch: floats of scratch memory run() needs (may be NULL).
 * run: computes `out` from `in`. Never fails: everything was checked by infer.
 */
struct vd__nn_node;
struct vd__nn_op {
  const char *name;
  int min_in, max_in;
  int (*parse)(struct vd__nn_node *n, json_t *attr, struct vd_err *e);
  int (*infer)(const struct vd__nn_node *n, const struct vd__nn_tensor *in, struct vd_nn_shape *out,
               struct vd_err *e);
  size_t (*scratch)(const struct vd__nn_node *n, const struct vd__nn_tensor *in,
                    const struct vd__nn_tensor *out, int threads);
  void (*run)(const struct vd__nn_node *n, const struct vd__nn_tensor *in, struct vd__nn_tensor *out,
              struct vd__nn_exec *x);
  int alias;         /* output is input 0 reinterpreted (no copy): Identity, Reshape */
  unsigned int_args; /* bit k: input k must be an int32 constant (shape, axes, paddings) */
  unsigned flags;    /* VD__NN_OP_* */
};

/*
 * Dtypes: every value is float32 or int32 (both 4 bytes, so buffers are
 * planned alike). An op computes in float32 unless it is TYPED: then it
 * accepts int32 inputs too (and checks in infer() that they agree), and its
 * output takes input 0's dtype, unless parse() set attr.dst (Cast, ArgMax).
 * Views (alias) always take input 0's dtype.
 * MULTI: the op has several outputs; the loader makes one node per output a
 * graph reads ("name:k"), each with attr.index = k.
 */
#define VD__NN_OP_TYPED 1u
#define VD__NN_OP_MULTI 2u
/* A node's output dtype from its op, attributes and input 0's dtype. */
int vd__nn_out_dtype(const struct vd__nn_node *n, const struct vd__nn_tensor *in);

struct vd__nn_node {
  char *name;
  char *opname;                /* as in the file, for messages */
  const struct vd__nn_op *op;  /* NULL for Const and Placeholder */
  int is_const, is_input;
  int *in;                     /* value ids */
  int n_in;
  struct vd__nn_attr a;
};

struct vd_nn_model {
  atomic_int refs;
  char *name;
  struct vd__nn_node *nodes;   /* topological order, pruned to the outputs */
  size_t n_nodes;
  struct vd__nn_tensor *val;   /* per node: const data (owned) or shape unset */
  struct vd_nn_shape *in_decl; /* declared shapes of inputs */
  int *inputs, *outputs;       /* node ids */
  size_t n_inputs, n_outputs;
  struct vd_nn_limits lim;
};

/* ---- thread pool and execution ------------------------------------------------ */

struct vd__nn_pool;
typedef void (*vd__nn_task_fn)(void *arg, int64_t begin, int64_t end, int thread);

/* A pool of `threads` - 1 workers plus the caller. */
struct vd__nn_pool *vd__nn_pool_new(int threads);
void vd__nn_pool_free(struct vd__nn_pool *p);
int vd__nn_pool_threads(const struct vd__nn_pool *p);
/* Splits [0, n) into chunks of at least `grain` and runs them; returns when all are done. */
void vd__nn_parallel(struct vd__nn_pool *p, int64_t n, int64_t grain, vd__nn_task_fn fn, void *arg);

struct vd__nn_exec {
  struct vd__nn_pool *pool;
  float *scratch;        /* scratch(...) floats, shared by the whole op */
};

/* ---- helpers shared by the files ------------------------------------------ */

const struct vd__nn_op *vd__nn_op_find(const char *name);
/* Element count, or -1 on overflow past 2^40. */
int64_t vd__nn_count(const struct vd_nn_shape *s);
/* "[1,256,256,3]" into buf. */
const char *vd__nn_shape_str(const struct vd_nn_shape *s, char *buf, size_t len);

/* Runs node `n` of a model on constant inputs at load time. */
int vd__nn_fold(struct vd_nn_model *m, size_t id, struct vd_err *e);

/* Plain sgemm: C[M,N] = A[M,K] * B[K,N] (ldb = N, or B^T when trans_b), row-major;
 * accumulate: C += A * B instead. */
void vd__nn_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                 int64_t ldb, int trans_b, int accumulate, float *C, int64_t ldc);

/* Parses strides, dilations, padding, explicit_paddings, data_format (NHWC only). */
int vd__nn_parse_window(struct vd__nn_node *n, json_t *attr, struct vd_err *e);

/* Output size and leading padding of a sliding window over an H x W input. */
struct vd__nn_geom {
  int64_t oh, ow, pt, pl; /* output size; padding before (top, left) */
};
int vd__nn_window(const struct vd__nn_attr *a, int64_t h, int64_t w, int64_t kh, int64_t kw,
                  struct vd__nn_geom *g, struct vd_err *e);

/* An axis given as a constant int32 scalar tensor `t` (ConcatV2, ArgMax,
 * GatherV2): negative counts from the end; 0 or an error naming the axis. */
int vd__nn_const_axis(const struct vd__nn_tensor *t, int rank, int *ax, struct vd_err *e);

/* Applies a node's fused activation (a->act, with a->alpha, a->beta) in place to n floats. */
void vd__nn_activate(float *restrict x, int64_t n, const struct vd__nn_attr *a);

/* Tests: 0 makes models load without fusing activations into their
 * producers, so a test can compare the fused graph with the plain one. */
void vd__nn_fuse(int on);

/* Tests: 1 makes the kernels use their portable versions only (no AVX2). */
void vd__nn_portable_only(int on);

/* Op tables, one per ops file. */
extern const struct vd__nn_op vd__nn_ops_conv[];
extern const struct vd__nn_op vd__nn_ops_elem[];
extern const struct vd__nn_op vd__nn_ops_shape[];
extern const struct vd__nn_op vd__nn_ops_index[];
extern const struct vd__nn_op vd__nn_ops_detect[];

/* Attribute helpers (attr.c). */
/* An int64 written as a JSON integer or a decimal string; 0 or -1. */
int vd__nn_json_int64(json_t *v, int64_t *out);
json_t *vd__nn_attr_get(json_t *attr, const char *key);
/* Decodes a base64 "s" attribute into buf; returns 0 or -1. */
int vd__nn_attr_str(json_t *attr, const char *key, char *buf, size_t len);
/* Reads a "list": {"i": [...]} attribute into v (at most n); returns count or -1. */
int vd__nn_attr_ints(json_t *attr, const char *key, int64_t *v, int n);
int vd__nn_attr_int(json_t *attr, const char *key, int64_t *v);
int vd__nn_attr_bool(json_t *attr, const char *key, int *v);
int vd__nn_attr_float(json_t *attr, const char *key, float *v);
/* Reads a "list": {"s": [...]} attribute (base64 strings) into out[n][32]; count or -1. */
int vd__nn_attr_strs(json_t *attr, const char *key, char (*out)[32], int n);

#endif
