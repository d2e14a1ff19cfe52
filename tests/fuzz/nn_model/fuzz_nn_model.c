/*
 * fuzz_nn_model: libFuzzer target for the nn model loader and planner: the
 * model.json parser, the weights manifest and its decoding, graph checks,
 * folding and shape inference, and one run of whatever plans.
 *
 * Input layout: model.json text, one NUL byte, then the weight bytes (all
 * shards concatenated); no NUL means no weights. Caps keep every input cheap:
 * small files, few nodes, and a small context (the run's cost is bounded by
 * activations x weights, both capped).
 */
#include <stdint.h>
#include <string.h>

#include "nn/nn.h"

static const struct vd_nn_limits lim = {
    .max_json_bytes = 64 << 10,
    .max_weight_bytes = 16 << 10,
    .max_nodes = 256,
    .max_ctx_bytes = 64 << 10,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  size_t jlen = nul ? (size_t)(nul - data) : size;
  const uint8_t *w = nul ? nul + 1 : NULL;
  size_t wlen = nul ? size - jlen - 1 : 0;
  struct vd_nn_model *m = NULL;
  struct vd_err err = {0};
  if (vd_nn_model_load_mem(&m, "fuzz", (const char *)data, jlen, w, wlen, &lim, &err) != 0)
    return 0;
  /* Accessors on every input and output. */
  for (size_t i = 0; i < vd_nn_model_n_outputs(m); i++)
    (void)vd_nn_model_output_find(m, vd_nn_model_output_name(m, i));
  struct vd_nn_ctx *c = NULL;
  struct vd_nn_ctx_opts o = {.threads = 1, .limits = &lim};
  if (vd_nn_ctx_new(&c, m, &o, &err) == 0) {
    for (size_t i = 0; i < vd_nn_model_n_inputs(m); i++) {
      struct vd_nn_shape s;
      float *x = vd_nn_ctx_input(c, i, &s);
      for (int64_t k = 0; k < vd_nn_shape_count(&s); k++)
        x[k] = (float)(k % 7) - 3.0f;
    }
    if (vd_nn_ctx_run(c) == 0) {
      struct vd_nn_shape s;
      const float *y = vd_nn_ctx_output(c, 0, &s);
      volatile float sink = vd_nn_shape_count(&s) > 0 && y ? y[0] : 0;
      (void)sink;
    }
    vd_nn_ctx_free(c);
  }
  vd_nn_model_free(m);
  return 0;
}
