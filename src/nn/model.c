/*
 * model: loads a TF.js graph model (model.json + weight shards) into an
 * immutable, pruned, topologically sorted graph with constants folded.
 *
 * Every size read from the file is checked against struct vd_nn_limits and
 * for overflow before it is used; every name a node refers to must exist;
 * shard file names must be plain names in the model's folder. Errors name
 * the model and, where there is one, the node and its op.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/util.h"
#include "nn/nn_int.h"

#define MAX_WEIGHT_ELEMS ((int64_t)1 << 30)

static void limits_fill(struct vd_nn_limits *l, const struct vd_nn_limits *in) {
  if (in)
    *l = *in;
  else
    memset(l, 0, sizeof(*l));
  if (!l->max_json_bytes)
    l->max_json_bytes = (size_t)32 << 20;
  if (!l->max_weight_bytes)
    l->max_weight_bytes = (size_t)1 << 30;
  if (!l->max_nodes)
    l->max_nodes = 100000;
  if (!l->max_ctx_bytes)
    l->max_ctx_bytes = (size_t)2 << 30;
}

/* ---- names → ids -------------------------------------------------------------- */

struct namemap {
  const char **keys;
  int *vals;
  size_t cap;
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static void map_init(struct namemap *m, size_t n) {
  m->cap = 16;
  while (m->cap < n * 2)
    m->cap <<= 1;
  m->keys = vd_xcalloc(m->cap, sizeof(*m->keys));
  m->vals = vd_xcalloc(m->cap, sizeof(*m->vals));
}

static void map_fini(struct namemap *m) {
  free(m->keys);
  free(m->vals);
}

/* Inserts; returns the existing value if the key is already present, else -1. */
static int map_put(struct namemap *m, const char *k, int v) {
  size_t i = hash_str(k) & (m->cap - 1);
  while (m->keys[i]) {
    if (strcmp(m->keys[i], k) == 0)
      return m->vals[i];
    i = (i + 1) & (m->cap - 1);
  }
  m->keys[i] = k;
  m->vals[i] = v;
  return -1;
}

static int map_get(const struct namemap *m, const char *k) {
  size_t i = hash_str(k) & (m->cap - 1);
  while (m->keys[i]) {
    if (strcmp(m->keys[i], k) == 0)
      return m->vals[i];
    i = (i + 1) & (m->cap - 1);
  }
  return -1;
}

/* ---- weights ------------------------------------------------------------------ */

static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { /* subnormal: renormalise */
      int e = -1;
      do {
        e++;
        man <<= 1;
      } while (!(man & 0x400));
      bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  memcpy(&f, &bits, sizeof(f));
  return f;
}

struct wref {
  const char *name;
  json_t *spec;
  size_t off;   /* into the weights blob */
  size_t bytes; /* stored size */
};

/* Parses one manifest entry's shape and storage; fills bytes. */
static int weight_spec(const char *model, json_t *w, struct vd_nn_shape *s, int *dtype, int *qkind,
                       float *qscale, float *qmin, size_t *bytes, struct vd_err *e) {
  const char *name = json_string_value(json_object_get(w, "name"));
  json_t *shape = json_object_get(w, "shape");
  const char *dt = json_string_value(json_object_get(w, "dtype"));
  if (!name || !json_is_array(shape) || !dt)
    return vd_err_set(e, VD_ERR_CORRUPT, "%s: weights manifest entry lacks name, shape or dtype",
                      model);
  if (json_array_size(shape) > VD_NN_MAX_RANK)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "%s: weight '%s' has rank %zu (max %d)", model, name,
                      json_array_size(shape), VD_NN_MAX_RANK);
  s->rank = (int)json_array_size(shape);
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    int64_t d;
    if (vd__nn_json_int64(json_array_get(shape, (size_t)i), &d) != 0 || d < 0 || d > MAX_WEIGHT_ELEMS)
      return vd_err_set(e, VD_ERR_CORRUPT, "%s: weight '%s' has a bad dimension", model, name);
    s->dim[i] = d;
    n *= d;
    if (n > MAX_WEIGHT_ELEMS)
      return vd_err_set(e, VD_ERR_LIMIT, "%s: weight '%s' is too large", model, name);
  }
  if (strcmp(dt, "float32") == 0)
    *dtype = VD__NN_F32;
  else if (strcmp(dt, "int32") == 0)
    *dtype = VD__NN_I32;
  else
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "%s: weight '%s' has dtype %s (float32 and int32 only)",
                      model, name, dt);
  size_t esize = 4;
  *qkind = 0;
  json_t *q = json_object_get(w, "quantization");
  if (q) {
    const char *qd = json_string_value(json_object_get(q, "dtype"));
    if (!qd)
      return vd_err_set(e, VD_ERR_CORRUPT, "%s: weight '%s': quantization without dtype", model,
                        name);
    if (strcmp(qd, "float16") == 0) {
      *qkind = 16;
      esize = 2;
    } else if (strcmp(qd, "uint8") == 0 || strcmp(qd, "uint16") == 0) {
      *qkind = qd[4] == '8' ? 8 : 1600;
      esize = qd[4] == '8' ? 1 : 2;
      json_t *sc = json_object_get(q, "scale"), *mn = json_object_get(q, "min");
      if (!json_is_number(sc) || !json_is_number(mn))
        return vd_err_set(e, VD_ERR_CORRUPT, "%s: weight '%s': %s quantization needs scale and min",
                          model, name, qd);
      *qscale = (float)json_number_value(sc);
      *qmin = (float)json_number_value(mn);
    } else {
      return vd_err_set(e, VD_ERR_UNSUPPORTED, "%s: weight '%s': quantization dtype %s", model,
                        name, qd);
    }
    if (*dtype != VD__NN_F32)
      return vd_err_set(e, VD_ERR_UNSUPPORTED, "%s: weight '%s': quantized %s", model, name, dt);
  }
  *bytes = (size_t)n * esize;
  return 0;
}

/* Decodes a weight into a fresh tensor buffer. */
static void weight_decode(const uint8_t *src, int64_t n, int dtype, int qkind, float qscale,
                          float qmin, struct vd__nn_tensor *t) {
  t->dtype = dtype;
  t->data = vd_xmalloc((size_t)(n ? n : 1) * 4);
  float *f = t->data;
  if (qkind == 16) {
    for (int64_t i = 0; i < n; i++)
      f[i] = half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
  } else if (qkind == 8) {
    for (int64_t i = 0; i < n; i++)
      f[i] = src[i] * qscale + qmin;
  } else if (qkind == 1600) {
    for (int64_t i = 0; i < n; i++)
      f[i] = (float)(src[2 * i] | src[2 * i + 1] << 8) * qscale + qmin;
  } else {
    memcpy(t->data, src, (size_t)n * 4); /* little-endian hosts only, as TF.js */
  }
}

/* ---- graph -------------------------------------------------------------------- */

static void model_destroy(struct vd_nn_model *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->n_nodes; i++) {
    free(m->nodes[i].name);
    free(m->nodes[i].opname);
    free(m->nodes[i].in);
    if (m->val)
      free(m->val[i].data);
  }
  free(m->nodes);
  free(m->val);
  free(m->in_decl);
  free(m->inputs);
  free(m->outputs);
  free(m->name);
  free(m);
}

/*
 * Splits an input reference "^name", "name", "name:k" into the node name
 * (into buf) and the output index k (into *port; 0 when absent). Returns 1
 * for control inputs, 0 for data inputs, -1 for a malformed port.
 */
static int input_ref(const char *s, char *buf, size_t len, int *port) {
  int ctrl = s[0] == '^';
  if (ctrl)
    s++;
  snprintf(buf, len, "%s", s);
  *port = 0;
  char *colon = strrchr(buf, ':');
  if (colon) {
    char *end;
    long k = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end || k < 0 || k > 1023)
      return -1;
    *port = (int)k;
    *colon = '\0';
  }
  return ctrl;
}

/* Reads an input's declared shape; *is_int is set for DT_INT32 inputs. */
static int placeholder_shape(const char *model, const char *name, json_t *attr,
                             struct vd_nn_shape *s, int *is_int, struct vd_err *e) {
  json_t *dims = json_object_get(json_object_get(vd__nn_attr_get(attr, "shape"), "shape"), "dim");
  const char *dt = json_string_value(json_object_get(vd__nn_attr_get(attr, "dtype"), "type"));
  *is_int = dt && strcmp(dt, "DT_INT32") == 0;
  if (dt && strcmp(dt, "DT_FLOAT") != 0 && !*is_int)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "%s: input '%s' has dtype %s (DT_FLOAT, DT_INT32 only)",
                      model, name, dt);
  if (!json_is_array(dims) || json_array_size(dims) > VD_NN_MAX_RANK)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "%s: input '%s' has no usable shape", model, name);
  s->rank = (int)json_array_size(dims);
  for (int i = 0; i < s->rank; i++) {
    int64_t d;
    if (vd__nn_json_int64(json_object_get(json_array_get(dims, (size_t)i), "size"), &d) != 0 || d < -1 ||
        d > MAX_WEIGHT_ELEMS)
      return vd_err_set(e, VD_ERR_CORRUPT, "%s: input '%s' has a bad dimension", model, name);
    s->dim[i] = d;
  }
  return 0;
}

/* Output names from the signature (in file order), else every sink. */
static int find_outputs(struct vd_nn_model *m, json_t *root, json_t *nodes, const struct namemap *nm,
                        const int *consumers, int **out, size_t *n_out, struct vd_err *e) {
  json_t *sig = json_object_get(root, "signature");
  if (!sig)
    sig = json_object_get(json_object_get(root, "userDefinedMetadata"), "signature");
  json_t *outs = json_object_get(sig, "outputs");
  size_t n = json_array_size(nodes);
  *out = vd_xcalloc(n + 1, sizeof(int));
  *n_out = 0;
  if (json_is_object(outs) && json_object_size(outs) > 0) {
    const char *key;
    json_t *v;
    json_object_foreach(outs, key, v) {
      const char *nm_s = json_string_value(json_object_get(v, "name"));
      char buf[512];
      int port;
      if (input_ref(nm_s ? nm_s : key, buf, sizeof(buf), &port) != 0 || port != 0)
        return vd_err_set(e, VD_ERR_UNSUPPORTED, "%s: output '%s' is not a node's first output",
                          m->name, nm_s ? nm_s : key);
      int id = map_get(nm, buf);
      if (id < 0)
        return vd_err_set(e, VD_ERR_CORRUPT, "%s: signature output '%s' names no node", m->name,
                          buf);
      (*out)[(*n_out)++] = id;
      if (*n_out >= n)
        break;
    }
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    const char *op = json_string_value(json_object_get(json_array_get(nodes, i), "op"));
    if (!consumers[i] && op && strcmp(op, "Const") != 0 && strcmp(op, "Placeholder") != 0)
      (*out)[(*n_out)++] = (int)i;
  }
  if (*n_out == 0)
    return vd_err_set(e, VD_ERR_CORRUPT, "%s: the graph has no outputs", m->name);
  return 0;
}

struct raw_node {
  const char *name, *op;
  json_t *js;
  int *in;
  int n_in;
  int port; /* output k of a multi-output op: a node "name:k" made by the loader */
};

static atomic_int no_fuse;

void vd__nn_fuse(int on) { atomic_store(&no_fuse, !on); }

static int is_op(const struct vd__nn_node *n, const char *const *names, size_t count) {
  if (!n->op || n->is_const)
    return 0;
  for (size_t k = 0; k < count; k++)
    if (strcmp(n->opname, names[k]) == 0)
      return 1;
  return 0;
}

/* The value of a float constant holding one number, or 0 when `id` is not one. */
static int const_scalar(const struct vd_nn_model *m, int id, float *v) {
  const struct vd__nn_tensor *t = &m->val[id];
  if (!m->nodes[id].is_const || t->dtype != VD__NN_F32 || !t->data || vd__nn_count(&t->s) != 1)
    return 0;
  *v = *(const float *)t->data;
  return 1;
}

/* Node `id` becomes a view of value `src` (a no-op the planner skips). */
static void make_view(struct vd_nn_model *m, int id, int src) {
  struct vd__nn_node *n = &m->nodes[id];
  n->op = vd__nn_op_find("Identity");
  n->in[0] = src;
  n->n_in = 1;
}

/* Of a binary node, the input that is not a float scalar constant, with the
 * constant's value; -1 unless exactly one input is such a constant. */
static int with_scalar(const struct vd_nn_model *m, const struct vd__nn_node *n, float *v) {
  if (n->n_in != 2)
    return -1;
  int c0 = const_scalar(m, n->in[0], v), c1 = !c0 && const_scalar(m, n->in[1], v);
  return c0 ? n->in[1] : c1 ? n->in[0] : -1;
}

static const char *const conv_ops[] = {"Conv2D", "_FusedConv2D", "DepthwiseConv2dNative",
                                       "FusedDepthwiseConv2dNative", "MatMul", "_FusedMatMul"};
#define N_CONV_OPS (sizeof(conv_ops) / sizeof(conv_ops[0]))

/*
 * Hard-swish as centernet (MobileNetV3) spells it: four element-wise passes
 * after a convolution y,
 *   s = Mul(y, 1/6); r = Relu6(Add(y, 3)); out = Mul(s, r)
 * each reading and writing the whole tensor. When y feeds nothing else, the
 * convolution applies it to each row block while it is in cache
 * (VD__NN_ACT_HSWISH) and the four nodes become views of y. The constants
 * are read from the graph, not assumed.
 */
static void fuse_hswish(struct vd_nn_model *m, const int *readers) {
  static const char *const adds[] = {"Add", "AddV2"}, *const muls[] = {"Mul"},
                           *const relu6[] = {"Relu6"};
  for (size_t j = 0; j < m->n_nodes; j++) {
    struct vd__nn_node *out = &m->nodes[j];
    if (!is_op(out, muls, 1) || out->n_in != 2)
      continue;
    for (int side = 0; side < 2; side++) {
      int s = out->in[side], r = out->in[1 - side];
      float k, c;
      if (!is_op(&m->nodes[r], relu6, 1) || !is_op(&m->nodes[s], muls, 1) || readers[r] != 1 ||
          readers[s] != 1 || s == r)
        continue;
      int a = m->nodes[r].in[0];
      if (!is_op(&m->nodes[a], adds, 2) || readers[a] != 1)
        continue;
      int y = with_scalar(m, &m->nodes[s], &k);
      if (y < 0 || with_scalar(m, &m->nodes[a], &c) != y || readers[y] != 2)
        continue;
      struct vd__nn_node *p = &m->nodes[y];
      if (!is_op(p, conv_ops, N_CONV_OPS) || p->a.act != VD__NN_ACT_NONE)
        continue;
      p->a.act = VD__NN_ACT_HSWISH;
      p->a.alpha = k;
      p->a.beta = c;
      make_view(m, s, y);
      make_view(m, a, y);
      make_view(m, r, y);
      make_view(m, (int)j, y);
      break;
    }
  }
}

/*
 * Folds a Relu / Relu6 into the op that feeds it when nothing else reads that
 * op's output: one pass over memory instead of two. The activation node
 * becomes a view of its input. Hard-swish first, as it holds a Relu6.
 */
static void fuse_activations(struct vd_nn_model *m) {
  static const char *const producers[] = {"Add", "AddV2", "BiasAdd", "Sub", "Mul", "Conv2D",
                                          "_FusedConv2D", "DepthwiseConv2dNative",
                                          "FusedDepthwiseConv2dNative", "MatMul", "_FusedMatMul"};
  if (atomic_load(&no_fuse))
    return;
  int *readers = vd_xcalloc(m->n_nodes, sizeof(int));
  for (size_t j = 0; j < m->n_nodes; j++)
    for (int k = 0; k < m->nodes[j].n_in; k++)
      readers[m->nodes[j].in[k]]++;
  for (size_t i = 0; i < m->n_outputs; i++)
    readers[m->outputs[i]]++;
  fuse_hswish(m, readers);
  const struct vd__nn_op *identity = vd__nn_op_find("Identity");
  for (size_t j = 0; j < m->n_nodes; j++) {
    struct vd__nn_node *r = &m->nodes[j];
    int act = !r->op || r->is_const         ? 0
              : strcmp(r->opname, "Relu") == 0  ? VD__NN_ACT_RELU
              : strcmp(r->opname, "Relu6") == 0 ? VD__NN_ACT_RELU6
                                                : 0;
    if (!act)
      continue;
    struct vd__nn_node *p = &m->nodes[r->in[0]];
    if (p->is_const || !p->op || p->op->alias || p->a.act != VD__NN_ACT_NONE ||
        readers[r->in[0]] != 1)
      continue;
    for (size_t k = 0; k < sizeof(producers) / sizeof(producers[0]); k++)
      if (strcmp(p->opname, producers[k]) == 0) {
        p->a.act = act;
        r->op = identity;
        break;
      }
  }
  free(readers);
}

/*
 * int32 inputs (MoveNet takes its image as int32): contexts hand the caller
 * float buffers, so an int32 input is accepted when all its readers are
 * Casts to float32, which then become views: the caller writes the whole
 * numbers as floats and the graph sees what the Cast would have produced
 * (exact below 2^24). Any other use is refused.
 */
static int int_inputs(struct vd_nn_model *m, struct vd_err *e) {
  const struct vd__nn_op *identity = vd__nn_op_find("Identity");
  for (size_t i = 0; i < m->n_inputs; i++) {
    struct vd__nn_node *in = &m->nodes[m->inputs[i]];
    if (in->a.dst != VD__NN_I32)
      continue;
    for (size_t j = 0; j < m->n_nodes; j++) {
      struct vd__nn_node *r = &m->nodes[j];
      for (int k = 0; k < r->n_in; k++)
        if (r->in[k] == m->inputs[i] && (!r->op || strcmp(r->opname, "Cast") || r->a.dst != VD__NN_F32))
          return vd_err_set(e, VD_ERR_UNSUPPORTED,
                            "%s: int32 input '%s' is read by node '%s' (%s); only Casts to float32 "
                            "of int32 inputs are supported",
                            m->name, in->name, r->name, r->opname);
    }
    for (size_t o = 0; o < m->n_outputs; o++)
      if (m->outputs[o] == m->inputs[i])
        return vd_err_set(e, VD_ERR_UNSUPPORTED, "%s: int32 input '%s' is an output", m->name,
                          in->name);
    for (size_t j = 0; j < m->n_nodes; j++)
      if (m->nodes[j].n_in == 1 && m->nodes[j].in[0] == m->inputs[i]) {
        m->nodes[j].op = identity;
        m->nodes[j].a.dst = 0;
      }
    in->a.dst = VD__NN_F32;
  }
  return 0;
}

static int build_graph(struct vd_nn_model *m, json_t *root, const uint8_t *w, size_t wlen,
                       struct vd_err *e) {
  int rc = 0;
  json_t *nodes = json_object_get(json_object_get(root, "modelTopology"), "node");
  json_t *manifest = json_object_get(root, "weightsManifest");
  const char *fmt = json_string_value(json_object_get(root, "format"));
  struct raw_node *raw = NULL;
  struct namemap nm = {0}, wm = {0};
  struct wref *wr = NULL;
  int *consumers = NULL, *order = NULL, *newid = NULL, *outs = NULL, *queue = NULL, *deg = NULL;
  size_t n_outs = 0, n_w = 0;
  unsigned char *need = NULL;
  char **synth = NULL; /* names of the nodes made for outputs k > 0 */
  size_t n_synth = 0, n_cap = 0;

  if (fmt && strcmp(fmt, "graph-model") != 0)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "%s: format '%s' is not a TF.js graph model", m->name,
                      fmt);
  if (!json_is_array(nodes) || json_array_size(nodes) == 0)
    return vd_err_set(e, VD_ERR_CORRUPT, "%s: modelTopology.node is missing or empty", m->name);
  size_t n = json_array_size(nodes);
  if (n > m->lim.max_nodes)
    return vd_err_set(e, VD_ERR_LIMIT, "%s: %zu nodes (limit %zu)", m->name, n, m->lim.max_nodes);
  if (manifest && !json_is_array(manifest))
    return vd_err_set(e, VD_ERR_CORRUPT, "%s: weightsManifest is not an array", m->name);

  /* Weights: sequential through the groups, as the shards are concatenated. */
  size_t nw_total = 0;
  for (size_t g = 0; g < json_array_size(manifest); g++) {
    json_t *ws = json_object_get(json_array_get(manifest, g), "weights");
    if (!json_is_array(ws))
      return vd_err_set(e, VD_ERR_CORRUPT, "%s: weightsManifest[%zu] has no weights", m->name, g);
    nw_total += json_array_size(ws);
  }
  wr = vd_xcalloc(nw_total + 1, sizeof(*wr));
  map_init(&wm, nw_total + 1);
  size_t off = 0;
  for (size_t g = 0; g < json_array_size(manifest); g++) {
    json_t *ws = json_object_get(json_array_get(manifest, g), "weights");
    for (size_t i = 0; i < json_array_size(ws); i++) {
      json_t *spec = json_array_get(ws, i);
      struct vd_nn_shape s;
      int dt, qk;
      float qs, qm;
      size_t bytes;
      if ((rc = weight_spec(m->name, spec, &s, &dt, &qk, &qs, &qm, &bytes, e)) != 0)
        goto out;
      if (bytes > wlen || off > wlen - bytes) {
        rc = vd_err_set(e, VD_ERR_CORRUPT,
                        "%s: weights are truncated: '%s' needs bytes %zu..%zu of %zu", m->name,
                        json_string_value(json_object_get(spec, "name")), off, off + bytes, wlen);
        goto out;
      }
      wr[n_w] = (struct wref){json_string_value(json_object_get(spec, "name")), spec, off, bytes};
      map_put(&wm, wr[n_w].name, (int)n_w);
      n_w++;
      off += bytes;
    }
  }

  /* Room for one extra node per input reference: "name:k" (k > 0) of a
   * multi-output op becomes a node of its own, made on first reference. */
  size_t n_refs = 0;
  for (size_t i = 0; i < n; i++)
    n_refs += json_array_size(json_object_get(json_array_get(nodes, i), "input"));
  size_t n_raw = n;
  n_cap = n + n_refs;
  raw = vd_xcalloc(n_cap, sizeof(*raw));
  synth = vd_xcalloc(n_refs + 1, sizeof(*synth));
  map_init(&nm, n_cap);
  for (size_t i = 0; i < n; i++) {
    json_t *js = json_array_get(nodes, i);
    raw[i].js = js;
    raw[i].name = json_string_value(json_object_get(js, "name"));
    raw[i].op = json_string_value(json_object_get(js, "op"));
    if (!raw[i].name || !raw[i].op) {
      rc = vd_err_set(e, VD_ERR_CORRUPT, "%s: node %zu lacks a name or op", m->name, i);
      goto out;
    }
    if (map_put(&nm, raw[i].name, (int)i) >= 0) {
      rc = vd_err_set(e, VD_ERR_CORRUPT, "%s: two nodes are named '%s'", m->name, raw[i].name);
      goto out;
    }
  }
  consumers = vd_xcalloc(n_cap, sizeof(int));
  /* n_raw grows as output nodes are made; they are resolved in turn. */
  for (size_t i = 0; i < n_raw; i++) {
    json_t *ins = json_object_get(raw[i].js, "input");
    if (ins && !json_is_array(ins)) {
      rc = vd_err_set(e, VD_ERR_CORRUPT, "%s: node '%s': input is not a list", m->name, raw[i].name);
      goto out;
    }
    raw[i].in = vd_xcalloc(json_array_size(ins) + 1, sizeof(int));
    for (size_t k = 0; k < json_array_size(ins); k++) {
      const char *s = json_string_value(json_array_get(ins, k));
      char buf[512];
      int port = 0;
      int kind = s ? input_ref(s, buf, sizeof(buf), &port) : -1;
      if (kind < 0) {
        rc = vd_err_set(e, VD_ERR_CORRUPT, "%s: node '%s' (%s): input '%s' is malformed", m->name,
                        raw[i].name, raw[i].op, s ? s : "?");
        goto out;
      }
      if (kind == 1)
        continue; /* control dependency: ordering only, nothing to compute */
      int id = map_get(&nm, buf);
      if (id < 0) {
        rc = vd_err_set(e, VD_ERR_CORRUPT, "%s: node '%s' (%s): input '%s' names no node", m->name,
                        raw[i].name, raw[i].op, buf);
        goto out;
      }
      if (port > 0) {
        const struct vd__nn_op *op = vd__nn_op_find(raw[id].op);
        if (!op || !(op->flags & VD__NN_OP_MULTI) || raw[id].port) {
          rc = vd_err_set(e, VD_ERR_UNSUPPORTED,
                          "%s: node '%s' (%s): input '%s' is not a node's first output", m->name,
                          raw[i].name, raw[i].op, s);
          goto out;
        }
        char *key = vd_xasprintf("%s:%d", buf, port);
        int sid = map_get(&nm, key);
        if (sid >= 0) {
          free(key);
        } else {
          sid = (int)n_raw++;
          synth[n_synth++] = key;
          raw[sid] = (struct raw_node){.name = key, .op = raw[id].op, .js = raw[id].js, .port = port};
          map_put(&nm, key, sid);
        }
        id = sid;
      }
      raw[i].in[raw[i].n_in++] = id;
      consumers[id]++;
    }
  }
  n = n_raw;
  if ((rc = find_outputs(m, root, nodes, &nm, consumers, &outs, &n_outs, e)) != 0)
    goto out;

  /* Prune to what the outputs need, then order (Kahn; no recursion on file data). */
  need = vd_xcalloc(n, 1);
  queue = vd_xcalloc(n, sizeof(int));
  size_t qh = 0, qt = 0;
  for (size_t i = 0; i < n_outs; i++)
    if (!need[outs[i]]) {
      need[outs[i]] = 1;
      queue[qt++] = outs[i];
    }
  while (qh < qt) {
    int id = queue[qh++];
    for (int k = 0; k < raw[id].n_in; k++)
      if (!need[raw[id].in[k]]) {
        need[raw[id].in[k]] = 1;
        queue[qt++] = raw[id].in[k];
      }
  }
  deg = vd_xcalloc(n, sizeof(int));
  for (size_t i = 0; i < n; i++)
    if (need[i])
      deg[i] = raw[i].n_in;
  /* consumer lists as CSR for the sort */
  int *cstart = vd_xcalloc(n + 1, sizeof(int));
  for (size_t i = 0; i < n; i++)
    if (need[i])
      for (int k = 0; k < raw[i].n_in; k++)
        cstart[raw[i].in[k] + 1]++;
  for (size_t i = 0; i < n; i++)
    cstart[i + 1] += cstart[i];
  int *clist = vd_xcalloc((size_t)cstart[n] + 1, sizeof(int)), *cfill = vd_xcalloc(n, sizeof(int));
  for (size_t i = 0; i < n; i++)
    if (need[i])
      for (int k = 0; k < raw[i].n_in; k++) {
        int src = raw[i].in[k];
        clist[cstart[src] + cfill[src]++] = (int)i;
      }
  order = vd_xcalloc(n, sizeof(int));
  size_t n_ord = 0;
  qh = qt = 0;
  for (size_t i = 0; i < n; i++)
    if (need[i] && deg[i] == 0)
      queue[qt++] = (int)i;
  while (qh < qt) {
    int id = queue[qh++];
    order[n_ord++] = id;
    for (int k = cstart[id]; k < cstart[id + 1]; k++)
      if (--deg[clist[k]] == 0)
        queue[qt++] = clist[k];
  }
  size_t n_need = 0;
  for (size_t i = 0; i < n; i++)
    n_need += need[i];
  free(cstart);
  free(clist);
  free(cfill);
  if (n_ord != n_need) {
    rc = vd_err_set(e, VD_ERR_CORRUPT, "%s: the graph has a cycle", m->name);
    goto out;
  }

  /* Materialise nodes in order. */
  newid = vd_xcalloc(n, sizeof(int));
  m->nodes = vd_xcalloc(n_ord, sizeof(*m->nodes));
  m->val = vd_xcalloc(n_ord, sizeof(*m->val));
  m->n_nodes = n_ord;
  m->inputs = vd_xcalloc(n_ord, sizeof(int));
  m->in_decl = vd_xcalloc(n_ord, sizeof(*m->in_decl));
  for (size_t j = 0; j < n_ord; j++) {
    const struct raw_node *r = &raw[order[j]];
    struct vd__nn_node *nd = &m->nodes[j];
    newid[order[j]] = (int)j;
    nd->name = vd_xstrdup(r->name);
    nd->opname = vd_xstrdup(r->op);
    nd->n_in = r->n_in;
    nd->a.index = r->port;
    nd->in = vd_xcalloc((size_t)r->n_in + 1, sizeof(int));
    for (int k = 0; k < r->n_in; k++)
      nd->in[k] = newid[r->in[k]];
    json_t *attr = json_object_get(r->js, "attr");
    if (strcmp(r->op, "Const") == 0) {
      int wid = map_get(&wm, r->name);
      if (wid < 0) {
        rc = vd_err_set(e, VD_ERR_CORRUPT, "%s: node '%s' (Const) has no entry in the weights",
                        m->name, r->name);
        goto out;
      }
      struct vd__nn_tensor *t = &m->val[j];
      int dt, qk;
      float qs = 0, qm = 0;
      size_t bytes;
      if ((rc = weight_spec(m->name, wr[wid].spec, &t->s, &dt, &qk, &qs, &qm, &bytes, e)) != 0)
        goto out;
      weight_decode(w + wr[wid].off, vd__nn_count(&t->s), dt, qk, qs, qm, t);
      nd->is_const = 1;
    } else if (strcmp(r->op, "Placeholder") == 0) {
      int is_int;
      if ((rc = placeholder_shape(m->name, r->name, attr, &m->in_decl[m->n_inputs], &is_int, e)) !=
          0)
        goto out;
      nd->is_input = 1;
      nd->a.dst = is_int ? VD__NN_I32 : VD__NN_F32;
      m->inputs[m->n_inputs++] = (int)j;
    } else {
      nd->op = vd__nn_op_find(r->op);
      if (!nd->op) {
        rc = vd_err_set(e, VD_ERR_UNSUPPORTED,
                        "%s: node '%s' uses op %s, which the nn runtime does not support", m->name,
                        r->name, r->op);
        goto out;
      }
      if (nd->n_in < nd->op->min_in || nd->n_in > nd->op->max_in) {
        rc = vd_err_set(e, VD_ERR_CORRUPT, "%s: node '%s' (%s) has %d inputs, expected %d..%d",
                        m->name, r->name, r->op, nd->n_in, nd->op->min_in, nd->op->max_in);
        goto out;
      }
      nd->a.stride[0] = nd->a.stride[1] = nd->a.dil[0] = nd->a.dil[1] = 1;
      if (nd->op->parse) {
        struct vd_err pe = {0};
        if ((rc = nd->op->parse(nd, attr, &pe)) != 0) {
          vd_err_set(e, rc, "%s: node '%s' (%s): %s", m->name, r->name, r->op, vd_err_msg(&pe, rc));
          goto out;
        }
      }
    }
  }
  if (m->n_inputs == 0) {
    rc = vd_err_set(e, VD_ERR_CORRUPT, "%s: the graph has no input (Placeholder)", m->name);
    goto out;
  }
  m->outputs = vd_xcalloc(n_outs + 1, sizeof(int));
  for (size_t i = 0; i < n_outs; i++)
    m->outputs[m->n_outputs++] = newid[outs[i]];
  if ((rc = int_inputs(m, e)) != 0)
    goto out;

  /* Fold: nodes whose inputs are all constant become constants. */
  for (size_t j = 0; j < m->n_nodes; j++) {
    struct vd__nn_node *nd = &m->nodes[j];
    if (!nd->op)
      continue;
    int all = 1;
    for (int k = 0; k < nd->n_in; k++)
      all &= m->nodes[nd->in[k]].is_const;
    if (all && (rc = vd__nn_fold(m, j, e)) != 0)
      goto out;
  }
  fuse_activations(m);
  /* Constants nobody reads any more (folded into others) free their memory. */
  memset(need, 0, n);
  for (size_t j = 0; j < m->n_nodes; j++)
    if (!m->nodes[j].is_const)
      for (int k = 0; k < m->nodes[j].n_in; k++)
        need[m->nodes[j].in[k]] = 1;
  for (size_t i = 0; i < m->n_outputs; i++)
    need[m->outputs[i]] = 1;
  for (size_t j = 0; j < m->n_nodes; j++)
    if (m->nodes[j].is_const && !need[j]) {
      free(m->val[j].data);
      m->val[j].data = NULL;
    }

out:
  if (raw)
    for (size_t i = 0; i < n_cap; i++)
      free(raw[i].in);
  free(raw);
  for (size_t i = 0; i < n_synth; i++)
    free(synth[i]);
  free(synth);
  free(wr);
  map_fini(&nm);
  map_fini(&wm);
  free(consumers);
  free(order);
  free(newid);
  free(outs);
  free(queue);
  free(deg);
  free(need);
  return rc;
}

static int load(struct vd_nn_model **out, const char *name, json_t *root, const uint8_t *w,
                size_t wlen, const struct vd_nn_limits *lim, struct vd_err *e) {
  struct vd_nn_model *m = vd_xcalloc(1, sizeof(*m));
  atomic_init(&m->refs, 1);
  m->name = vd_xstrdup(name);
  limits_fill(&m->lim, lim);
  int rc = build_graph(m, root, w, wlen, e);
  if (rc != 0) {
    model_destroy(m);
    return rc;
  }
  *out = m;
  return 0;
}

static json_t *parse_json(const char *name, const char *text, size_t len, struct vd_err *e) {
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    vd_err_set(e, VD_ERR_CORRUPT, "%s: model.json is not valid JSON (line %d: %s)", name, je.line,
               je.text);
    return NULL;
  }
  if (!json_is_object(root)) {
    vd_err_set(e, VD_ERR_CORRUPT, "%s: model.json is not a JSON object", name);
    json_decref(root);
    return NULL;
  }
  return root;
}

int vd_nn_model_load_mem(struct vd_nn_model **out, const char *name, const char *json,
                         size_t json_len, const void *weights, size_t weights_len,
                         const struct vd_nn_limits *lim, struct vd_err *err) {
  *out = NULL;
  struct vd_nn_limits l;
  limits_fill(&l, lim);
  if (json_len > l.max_json_bytes || weights_len > l.max_weight_bytes)
    return vd_err_set(err, VD_ERR_LIMIT, "%s: model is larger than the configured limits", name);
  json_t *root = parse_json(name, json, json_len, err);
  if (!root)
    return VD_ERR_CORRUPT;
  int rc = load(out, name, root, weights, weights_len, &l, err);
  json_decref(root);
  return rc;
}

/* Reads a whole file of at most `cap` bytes; appends to *buf at *len. */
static int read_file(const char *model, const char *path, size_t cap, uint8_t **buf, size_t *len,
                     struct vd_err *e) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return vd_err_set(e, -errno, "%s: cannot open %s: %s", model, path, strerror(errno));
  struct stat st;
  int rc = 0;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = vd_err_set(e, VD_ERR_CORRUPT, "%s: %s is not a regular file", model, path);
    goto out;
  }
  if ((uint64_t)st.st_size > cap - *len) {
    rc = vd_err_set(e, VD_ERR_LIMIT, "%s: %s makes the model larger than the limit (%zu bytes)",
                    model, path, cap);
    goto out;
  }
  *buf = vd_xrealloc(*buf, *len + (size_t)st.st_size + 1);
  if (fread(*buf + *len, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
    rc = vd_err_set(e, VD_ERR_CORRUPT, "%s: cannot read %s", model, path);
    goto out;
  }
  *len += (size_t)st.st_size;
out:
  fclose(f);
  return rc;
}

int vd_nn_model_load(struct vd_nn_model **out, const char *json_path,
                     const struct vd_nn_limits *lim, struct vd_err *err) {
  *out = NULL;
  struct vd_nn_limits l;
  limits_fill(&l, lim);
  const char *base = strrchr(json_path, '/');
  base = base ? base + 1 : json_path;
  char *name = vd_xstrdup(base);
  char *dot = strrchr(name, '.');
  if (dot && strcmp(dot, ".json") == 0)
    *dot = '\0';
  char *dir = vd_xstrdup(json_path);
  char *slash = strrchr(dir, '/');
  if (slash)
    slash[1] = '\0';
  else
    dir[0] = '\0';
  uint8_t *text = NULL, *w = NULL;
  size_t tlen = 0, wlen = 0;
  json_t *root = NULL;
  int rc = read_file(name, json_path, l.max_json_bytes, &text, &tlen, err);
  if (rc != 0)
    goto out;
  if (!(root = parse_json(name, (const char *)text, tlen, err))) {
    rc = VD_ERR_CORRUPT;
    goto out;
  }
  json_t *manifest = json_object_get(root, "weightsManifest");
  for (size_t g = 0; g < json_array_size(manifest); g++) {
    json_t *paths = json_object_get(json_array_get(manifest, g), "paths");
    for (size_t i = 0; i < json_array_size(paths); i++) {
      const char *p = json_string_value(json_array_get(paths, i));
      /* Shards live beside model.json: no folders, no hidden or parent names. */
      if (!p || !*p || strchr(p, '/') || p[0] == '.') {
        rc = vd_err_set(err, VD_ERR_CORRUPT, "%s: weight shard name '%s' is not a plain file name",
                        name, p ? p : "?");
        goto out;
      }
      char *full = vd_xasprintf("%s%s", dir, p);
      rc = read_file(name, full, l.max_weight_bytes, &w, &wlen, err);
      free(full);
      if (rc != 0)
        goto out;
    }
  }
  rc = load(out, name, root, w, wlen, &l, err);
out:
  json_decref(root);
  free(text);
  free(w);
  free(name);
  free(dir);
  return rc;
}

struct vd_nn_model *vd_nn_model_ref(struct vd_nn_model *m) {
  atomic_fetch_add(&m->refs, 1);
  return m;
}

void vd_nn_model_free(struct vd_nn_model *m) {
  if (m && atomic_fetch_sub(&m->refs, 1) == 1)
    model_destroy(m);
}

const char *vd_nn_model_name(const struct vd_nn_model *m) { return m->name; }
size_t vd_nn_model_n_inputs(const struct vd_nn_model *m) { return m->n_inputs; }
size_t vd_nn_model_n_outputs(const struct vd_nn_model *m) { return m->n_outputs; }
size_t vd_nn_model_n_nodes(const struct vd_nn_model *m) { return m->n_nodes; }

const char *vd_nn_model_input_name(const struct vd_nn_model *m, size_t i) {
  return i < m->n_inputs ? m->nodes[m->inputs[i]].name : NULL;
}

const char *vd_nn_model_output_name(const struct vd_nn_model *m, size_t i) {
  return i < m->n_outputs ? m->nodes[m->outputs[i]].name : NULL;
}

int vd_nn_model_output_find(const struct vd_nn_model *m, const char *name) {
  size_t len = strlen(name);
  if (len > 2 && strcmp(name + len - 2, ":0") == 0)
    len -= 2;
  for (size_t i = 0; i < m->n_outputs; i++) {
    const char *o = m->nodes[m->outputs[i]].name;
    if (strlen(o) == len && strncmp(o, name, len) == 0)
      return (int)i;
  }
  return -1;
}

void vd_nn_model_input_shape(const struct vd_nn_model *m, size_t i, struct vd_nn_shape *s) {
  if (i < m->n_inputs)
    *s = m->in_decl[i];
  else
    memset(s, 0, sizeof(*s));
}

char *vd_nn_model_path(const char *name) {
  const char *env = getenv("VIDAN_MODELS");
  if (env && *env)
    return vd_xasprintf("%s/%s.json", env, name);
  char *local = vd_xasprintf("models/%s.json", name);
  struct stat st;
  if (stat(local, &st) == 0)
    return local;
  free(local);
  return vd_xasprintf("%s/models/%s.json", VD_SOURCE_DIR, name);
}
