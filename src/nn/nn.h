/*
 * nn: a small inference runtime for TensorFlow.js graph models, float32 NHWC
 * on the CPU.
 *
 * A TF.js graph model is a `model.json` (a TensorFlow GraphDef as JSON plus a
 * weights manifest) and one or more `.bin` shards next to it:
 *
 *   model.json  {"format": "graph-model",
 *                "modelTopology": {"node": [{"name", "op", "input": [...],
 *                                            "attr": {...}}, ...]},
 *                "weightsManifest": [{"paths": ["x.bin", ...],
 *                                     "weights": [{"name", "shape", "dtype",
 *                                                  "quantization"?}, ...]}],
 *                "signature"?: {"inputs": {...}, "outputs": {...}}}
 *   *.bin       the weights of one manifest group, back to back in manifest
 *               order, little-endian, shards concatenated in `paths` order.
 *               float32, int32, or quantized float16 / uint8 / uint16.
 *
 * DESIGN
 * - Models are data: the runtime knows no model by name. Pre- and
 *   post-processing (anchors, NMS, labels) belong to the analyses.
 * - A model (struct vd_nn_model) is immutable once loaded: the graph is
 *   pruned to what the outputs need, sorted topologically, its constant
 *   subgraphs are folded, and weights are float32 in memory (float16 and
 *   affine-quantized weights are expanded on load). It is reference counted,
 *   so several contexts on several threads share one copy of the weights.
 * - A context (struct vd_nn_ctx) is the per-thread part: the static plan for
 *   one input shape (shapes inferred once, at creation), the activation
 *   buffers (reused between nodes whose lifetimes do not overlap), scratch
 *   memory and a small thread pool for intra-op parallelism. Running does no
 *   allocation and cannot fail.
 * - Every failure at load or plan time is an error value whose message names
 *   the model, and where it applies the node and its op ("blazeface: node
 *   'conv2d_3' (_FusedConv2D): input channels 24 != filter 32"). Sizes read
 *   from files are capped before anything is allocated (struct vd_nn_limits).
 *
 * Ownership: arguments are borrowed; vd_nn_model_load*() and vd_nn_ctx_new()
 * hand the caller one reference. Pointers returned by accessors stay valid
 * as long as the object they came from.
 * Threading: a model may be used from any number of threads at once; a
 * context by one thread at a time. vd_nn_model_ref/free are thread-safe.
 */
#ifndef VD_NN_NN_H
#define VD_NN_NN_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct vd_nn_model;
struct vd_nn_ctx;

#define VD_NN_MAX_RANK 6

struct vd_nn_shape {
  int rank;                     /* 0..VD_NN_MAX_RANK */
  int64_t dim[VD_NN_MAX_RANK];  /* -1 = not fixed (declared input shapes only) */
};

/* Caps on sizes that come from model files. A zero field takes its default. */
struct vd_nn_limits {
  size_t max_json_bytes;    /* model.json; default 32 MiB */
  size_t max_weight_bytes;  /* all weight shards together; default 1 GiB */
  size_t max_nodes;         /* graph nodes; default 100000 */
  size_t max_ctx_bytes;     /* one context's activations + scratch; default 2 GiB */
};

/* ---- model --------------------------------------------------------------- */

/*
 * Loads the graph model whose topology is `json_path`; weight shards are read
 * from the same folder. The model's name (for messages) is the file name
 * without ".json". `lim` may be NULL (defaults).
 */
int vd_nn_model_load(struct vd_nn_model **out, const char *json_path,
                     const struct vd_nn_limits *lim, struct vd_err *err) VD_WUR;

/*
 * Same, from memory: `json` (not NUL-terminated, `json_len` bytes) and
 * `weights`, the concatenation of every manifest group's shards in order.
 * `name` labels error messages. Used by tests and the fuzzer.
 */
int vd_nn_model_load_mem(struct vd_nn_model **out, const char *name, const char *json,
                         size_t json_len, const void *weights, size_t weights_len,
                         const struct vd_nn_limits *lim, struct vd_err *err) VD_WUR;

/* Takes one more reference; returns `m`. */
struct vd_nn_model *vd_nn_model_ref(struct vd_nn_model *m);
/* Drops one reference (NULL is fine); the last one frees the model. */
void vd_nn_model_free(struct vd_nn_model *m);

const char *vd_nn_model_name(const struct vd_nn_model *m);
size_t vd_nn_model_n_inputs(const struct vd_nn_model *m);
size_t vd_nn_model_n_outputs(const struct vd_nn_model *m);
/* Node name of input / output `i`, e.g. "input", "Identity_3". */
const char *vd_nn_model_input_name(const struct vd_nn_model *m, size_t i);
const char *vd_nn_model_output_name(const struct vd_nn_model *m, size_t i);
/* Index of the output named `name` (a ":0" suffix is accepted), or -1. */
int vd_nn_model_output_find(const struct vd_nn_model *m, const char *name);
/* Declared shape of input `i`; free dimensions are -1. */
void vd_nn_model_input_shape(const struct vd_nn_model *m, size_t i, struct vd_nn_shape *s);
/* Number of graph nodes kept after pruning and folding (for logs and tests). */
size_t vd_nn_model_n_nodes(const struct vd_nn_model *m);

/*
 * Path of a model shipped by scripts/models: "$VIDAN_MODELS/<name>.json" when
 * that variable is set, else "models/<name>.json" under the current folder
 * if it exists, else under the source tree. Caller frees.
 */
char *vd_nn_model_path(const char *name);

/*
 * The process-wide copy of the model `name` (found by vd_nn_model_path):
 * loaded on first use, then shared, so weights are in memory once per
 * process however many analyses and workers use them. Hands the caller a
 * new reference. A failed load is not remembered: the next call retries.
 * Thread-safe.
 */
int vd_nn_model_get(struct vd_nn_model **out, const char *name, struct vd_err *err) VD_WUR;

/* ---- context --------------------------------------------------------------- */

struct vd_nn_ctx_opts {
  int batch;                            /* replaces a free first input dim; 0 = 1 */
  int threads;                          /* intra-op threads; 0 = 1 */
  const struct vd_nn_shape *input_shape; /* full shape of input 0; NULL = declared */
  int resize;                           /* 1 = input_shape may change dims the model
                                           fixes (a fully convolutional model run at
                                           another resolution); a Reshape whose
                                           constant target then no longer fits
                                           infers its second dimension, as if
                                           it were -1 (detection heads bake
                                           their anchor count there) */
  const struct vd_nn_limits *limits;    /* NULL = defaults */
};

/*
 * Plans `m` for one input shape: shapes are inferred for every node and
 * buffers are laid out. Fails with a message naming the node and op on a
 * shape mismatch. Takes its own reference on `m`. `o` may be NULL.
 */
int vd_nn_ctx_new(struct vd_nn_ctx **out, struct vd_nn_model *m, const struct vd_nn_ctx_opts *o,
                  struct vd_err *err) VD_WUR;
void vd_nn_ctx_free(struct vd_nn_ctx *c);

/*
 * The buffer of input `i` (dense, row-major, float32) for the caller to fill
 * before vd_nn_ctx_run(); `shape` (may be NULL) receives its shape. The
 * pointer is stable for the context's lifetime.
 */
float *vd_nn_ctx_input(struct vd_nn_ctx *c, size_t i, struct vd_nn_shape *shape);

/* Runs the plan. Allocates nothing; returns 0 (the int is for future backends). */
int vd_nn_ctx_run(struct vd_nn_ctx *c) VD_WUR;

/* Output `i` of the last run (borrowed, valid until the next run); `shape` may be NULL. */
const float *vd_nn_ctx_output(const struct vd_nn_ctx *c, size_t i, struct vd_nn_shape *shape);

/* Elements in a shape (product of dims; 1 for rank 0). */
int64_t vd_nn_shape_count(const struct vd_nn_shape *s);

#endif
