/*
 * plan: turns a loaded model into an execution context for one input shape,
 * and runs it. Also the thread pool the ops split their work over, and
 * constant folding (which runs ops at load time).
 *
 * DESIGN
 * - Shapes are inferred once, in vd_nn_ctx_new(), in topological order; a
 *   mismatch is reported with the model, node and op.
 * - Buffers: every computed value has a storage; Identity/Reshape/Squeeze
 *   share their input's storage. A storage lives from the node that writes
 *   it to its last reader. Storages are packed greedily into blocks (best fit
 *   among the free ones), so a chain of layers reuses a few buffers instead
 *   of one per node. Inputs and outputs are never reused: the caller fills
 *   the former and reads the latter.
 * - Running walks the nodes and calls each op's run(); nothing is allocated.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "nn/nn_int.h"

#ifdef VD_HAVE_OPENBLAS
#include <cblas.h>
#endif

/* ---- shapes ------------------------------------------------------------------- */

int64_t vd__nn_count(const struct vd_nn_shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->dim[i] < 0)
      return -1;
    n *= s->dim[i];
    if (n > ((int64_t)1 << 40))
      return -1;
  }
  return n;
}

int64_t vd_nn_shape_count(const struct vd_nn_shape *s) { return vd__nn_count(s); }

const char *vd__nn_shape_str(const struct vd_nn_shape *s, char *buf, size_t len) {
  size_t o = 0;
  o += (size_t)snprintf(buf, len, "[");
  for (int i = 0; i < s->rank && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? "," : "", (long long)s->dim[i]);
  if (o < len)
    snprintf(buf + o, len - o, "]");
  return buf;
}

const struct vd__nn_op *vd__nn_op_find(const char *name) {
  const struct vd__nn_op *tables[] = {vd__nn_ops_conv, vd__nn_ops_elem, vd__nn_ops_shape,
                                      vd__nn_ops_index, vd__nn_ops_detect};
  for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
    for (const struct vd__nn_op *op = tables[t]; op->name; op++)
      if (strcmp(op->name, name) == 0)
        return op;
  return NULL;
}

/* ---- thread pool -------------------------------------------------------------- */

struct vd__nn_pool {
  int n;
  pthread_t *th;
  pthread_mutex_t mu;
  pthread_cond_t cv_work, cv_done;
  unsigned long gen;
  int pending, stop;
  vd__nn_task_fn fn;
  void *arg;
  int64_t total, chunk;
  atomic_llong next;
};

struct worker_arg {
  struct vd__nn_pool *p;
  int id;
};

static void drain(struct vd__nn_pool *p, int id) {
  for (;;) {
    int64_t b = atomic_fetch_add(&p->next, p->chunk);
    if (b >= p->total)
      break;
    int64_t e = b + p->chunk < p->total ? b + p->chunk : p->total;
    p->fn(p->arg, b, e, id);
  }
}

static void *worker(void *v) {
  struct worker_arg *wa = v;
  struct vd__nn_pool *p = wa->p;
  int id = wa->id;
  free(wa);
  unsigned long seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && p->gen == seen)
      pthread_cond_wait(&p->cv_work, &p->mu);
    if (p->stop)
      break;
    seen = p->gen;
    pthread_mutex_unlock(&p->mu);
    drain(p, id);
    pthread_mutex_lock(&p->mu);
    if (--p->pending == 0)
      pthread_cond_signal(&p->cv_done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

struct vd__nn_pool *vd__nn_pool_new(int threads) {
  struct vd__nn_pool *p = vd_xcalloc(1, sizeof(*p));
  p->n = threads < 1 ? 1 : threads;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv_work, NULL);
  pthread_cond_init(&p->cv_done, NULL);
  atomic_init(&p->next, 0);
  p->th = vd_xcalloc((size_t)p->n, sizeof(pthread_t));
  for (int i = 1; i < p->n; i++) {
    struct worker_arg *wa = vd_xmalloc(sizeof(*wa));
    wa->p = p;
    wa->id = i;
    if (pthread_create(&p->th[i], NULL, worker, wa) != 0) {
      /* Fewer threads is slower, not wrong. */
      free(wa);
      p->n = i;
      break;
    }
  }
  return p;
}

void vd__nn_pool_free(struct vd__nn_pool *p) {
  if (!p)
    return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->cv_work);
  pthread_mutex_unlock(&p->mu);
  for (int i = 1; i < p->n; i++)
    pthread_join(p->th[i], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv_work);
  pthread_cond_destroy(&p->cv_done);
  free(p->th);
  free(p);
}

int vd__nn_pool_threads(const struct vd__nn_pool *p) { return p ? p->n : 1; }

void vd__nn_parallel(struct vd__nn_pool *p, int64_t n, int64_t grain, vd__nn_task_fn fn, void *arg) {
  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  if (!p || p->n == 1 || n <= grain) {
    fn(arg, 0, n, 0);
    return;
  }
  /* A few chunks per thread evens out uneven rows without much overhead. */
  int64_t chunk = (n + p->n * 4 - 1) / (p->n * 4);
  if (chunk < grain)
    chunk = grain;
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->arg = arg;
  p->total = n;
  p->chunk = chunk;
  atomic_store(&p->next, 0);
  p->pending = p->n - 1;
  p->gen++;
  pthread_cond_broadcast(&p->cv_work);
  pthread_mutex_unlock(&p->mu);
  drain(p, 0);
  pthread_mutex_lock(&p->mu);
  while (p->pending > 0)
    pthread_cond_wait(&p->cv_done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

/* ---- checking one node -------------------------------------------------------- */

/*
 * For a model planned at another input size (opts.resize): when `nd` is a
 * Reshape to a constant target of rank >= 2 with no free dimension that no
 * longer matches its input's element count, fills `flex` with the target,
 * its second dimension made free (-1), and returns 1. The original graph
 * keeps its constant; only this plan sees the free dimension.
 */
static int reshape_flex(const struct vd__nn_node *nd, const struct vd__nn_tensor *in,
                        int32_t *flex) {
  if (strcmp(nd->opname, "Reshape") || nd->n_in != 2 || !in[1].data ||
      in[1].dtype != VD__NN_I32 || in[1].s.rank != 1)
    return 0;
  int64_t k = in[1].s.dim[0], prod = 1;
  if (k < 2 || k > VD_NN_MAX_RANK)
    return 0;
  const int32_t *t = in[1].data;
  for (int64_t i = 0; i < k; i++) {
    if (t[i] < 0)
      return 0;
    prod *= t[i];
  }
  if (prod == vd__nn_count(&in[0].s))
    return 0;
  memcpy(flex, t, (size_t)k * sizeof(*flex));
  flex[1] = -1;
  return 1;
}

int vd__nn_out_dtype(const struct vd__nn_node *n, const struct vd__nn_tensor *in) {
  if (n->a.dst)
    return n->a.dst;
  if (n->n_in > 0 && (n->op->alias || (n->op->flags & VD__NN_OP_TYPED)))
    return in[0].dtype;
  return VD__NN_F32;
}

/* Checks input dtypes and infers the output shape and dtype; errors name
 * model, node, op. */
static int node_infer(const struct vd_nn_model *m, const struct vd__nn_node *nd,
                      const struct vd__nn_tensor *in, struct vd__nn_tensor *out, struct vd_err *e) {
  struct vd_err oe = {0};
  int rc = 0;
  int typed = (nd->op->flags & VD__NN_OP_TYPED) != 0;
  for (int k = 0; k < nd->n_in; k++) {
    int want_int = k < 31 && (nd->op->int_args >> k & 1);
    if (want_int && (!in[k].data || in[k].dtype != VD__NN_I32)) {
      rc = vd_err_set(&oe, VD_ERR_UNSUPPORTED, "input %d must be a constant int32 tensor", k);
      break;
    }
    if (!want_int && !typed && in[k].dtype != VD__NN_F32 && !(nd->op->alias && k == 0)) {
      rc = vd_err_set(&oe, VD_ERR_UNSUPPORTED, "input %d is int32; this op computes in float32", k);
      break;
    }
  }
  if (rc == 0)
    rc = nd->op->infer(nd, in, &out->s, &oe);
  if (rc == 0 && vd__nn_count(&out->s) < 0)
    rc = vd_err_set(&oe, VD_ERR_LIMIT, "output shape is too large");
  if (rc != 0) {
    char sb[96];
    return vd_err_set(e, rc, "%s: node '%s' (%s), input shape %s: %s", m->name, nd->name,
                      nd->opname, nd->n_in ? vd__nn_shape_str(&in[0].s, sb, sizeof(sb)) : "-",
                      vd_err_msg(&oe, rc));
  }
  out->dtype = vd__nn_out_dtype(nd, in);
  return 0;
}

int vd__nn_fold(struct vd_nn_model *m, size_t id, struct vd_err *e) {
  struct vd__nn_node *nd = &m->nodes[id];
  struct vd__nn_tensor in[8];
  int n_in = nd->n_in < 8 ? nd->n_in : 8;
  if (nd->n_in > 8)
    return vd_err_set(e, VD_ERR_UNSUPPORTED, "%s: node '%s' (%s): too many constant inputs",
                      m->name, nd->name, nd->opname);
  for (int k = 0; k < n_in; k++) {
    in[k] = m->val[nd->in[k]];
    if (!in[k].data)
      return vd_err_set(e, VD_ERR_INTERNAL, "%s: node '%s': folded input without data", m->name,
                        nd->name);
  }
  struct vd__nn_tensor out = {.dtype = VD__NN_F32};
  int rc = node_infer(m, nd, in, &out, e);
  if (rc != 0)
    return rc;
  int64_t cnt = vd__nn_count(&out.s);
  if ((uint64_t)cnt * 4 > m->lim.max_ctx_bytes)
    return vd_err_set(e, VD_ERR_LIMIT, "%s: node '%s' (%s): folded constant is too large", m->name,
                      nd->name, nd->opname);
  out.data = vd_xmalloc((size_t)(cnt ? cnt : 1) * 4);
  if (nd->op->alias) {
    memcpy(out.data, in[0].data, (size_t)cnt * 4);
  } else {
    size_t sc = nd->op->scratch ? nd->op->scratch(nd, in, &out, 1) : 0;
    if (sc * 4 > m->lim.max_ctx_bytes) {
      free(out.data);
      return vd_err_set(e, VD_ERR_LIMIT, "%s: node '%s' (%s): too much scratch memory", m->name,
                        nd->name, nd->opname);
    }
    struct vd__nn_exec x = {.pool = NULL, .scratch = sc ? vd_xmalloc(sc * 4) : NULL};
    nd->op->run(nd, in, &out, &x);
    free(x.scratch);
  }
  m->val[id] = out;
  nd->is_const = 1;
  return 0;
}

/* ---- context ------------------------------------------------------------------ */

struct vd_nn_ctx {
  struct vd_nn_model *m;
  struct vd__nn_tensor *val;  /* per node: shape + data pointer (into blocks or model) */
  struct vd__nn_tensor *ins;  /* flattened input views, per node at in_off[i] */
  int *in_off;
  void **blocks;
  size_t n_blocks;
  float *scratch;
  struct vd__nn_pool *pool;
};

struct block {
  size_t bytes;
  int busy;
};

int vd_nn_ctx_new(struct vd_nn_ctx **out, struct vd_nn_model *m, const struct vd_nn_ctx_opts *o,
                  struct vd_err *err) {
  struct vd_nn_ctx_opts def = {0};
  if (!o)
    o = &def;
  *out = NULL;
  const struct vd_nn_limits *lim = o->limits ? o->limits : &m->lim;
  size_t cap = lim->max_ctx_bytes ? lim->max_ctx_bytes : m->lim.max_ctx_bytes;
  size_t n = m->n_nodes;
  struct vd_nn_ctx *c = vd_xcalloc(1, sizeof(*c));
  c->m = vd_nn_model_ref(m);
  c->val = vd_xcalloc(n, sizeof(*c->val));
  c->in_off = vd_xcalloc(n + 1, sizeof(int));
  int *root = vd_xcalloc(n, sizeof(int)), *last = vd_xcalloc(n, sizeof(int));
  int *blk_of = vd_xcalloc(n, sizeof(int));
  struct block *blk = vd_xcalloc(n + 1, sizeof(*blk));
  size_t n_blk = 0, scratch = 0, total = 0;
  int rc = 0, threads = o->threads > 0 ? o->threads : 1;
  char sb[96];

  size_t n_ins = 0;
  for (size_t i = 0; i < n; i++) {
    c->in_off[i] = (int)n_ins;
    n_ins += (size_t)m->nodes[i].n_in;
  }
  c->in_off[n] = (int)n_ins;
  c->ins = vd_xcalloc(n_ins + 1, sizeof(*c->ins));

  /* Shapes. */
  size_t next_input = 0;
  for (size_t i = 0; i < n; i++) {
    const struct vd__nn_node *nd = &m->nodes[i];
    struct vd__nn_tensor *v = &c->val[i];
    root[i] = (int)i;
    if (nd->is_const) {
      *v = m->val[i];
      continue;
    }
    v->dtype = VD__NN_F32;
    if (nd->is_input) {
      size_t k = next_input++;
      v->s = m->in_decl[k];
      if (k == 0 && o->input_shape) {
        if (o->input_shape->rank != v->s.rank) {
          rc = vd_err_set(err, VD_ERR_INVALID, "%s: input '%s' has rank %d, not %d", m->name,
                          nd->name, v->s.rank, o->input_shape->rank);
          goto out;
        }
        for (int d = 0; d < v->s.rank; d++)
          if (v->s.dim[d] >= 0 && v->s.dim[d] != o->input_shape->dim[d] &&
              !(o->resize && d > 0 && o->input_shape->dim[d] > 0)) {
            rc = vd_err_set(err, VD_ERR_INVALID, "%s: input '%s' is %s; %lld in dim %d does not fit",
                            m->name, nd->name, vd__nn_shape_str(&v->s, sb, sizeof(sb)),
                            (long long)o->input_shape->dim[d], d);
            goto out;
          }
        v->s = *o->input_shape;
      }
      if (v->s.rank > 0 && v->s.dim[0] < 0)
        v->s.dim[0] = o->batch > 0 ? o->batch : 1;
      if (vd__nn_count(&v->s) < 0) {
        int free_dim = 0;
        for (int d = 0; d < v->s.rank; d++)
          free_dim |= v->s.dim[d] < 0;
        rc = vd_err_set(err, free_dim ? VD_ERR_INVALID : VD_ERR_LIMIT,
                        free_dim ? "%s: input '%s' has free dimensions %s; give a shape"
                                 : "%s: input '%s' of shape %s is too large",
                        m->name, nd->name, vd__nn_shape_str(&v->s, sb, sizeof(sb)));
        goto out;
      }
      continue;
    }
    struct vd__nn_tensor *ins = &c->ins[c->in_off[i]];
    for (int k = 0; k < nd->n_in; k++)
      ins[k] = c->val[nd->in[k]];
    int32_t flex[VD_NN_MAX_RANK];
    void *target = NULL;
    if (o->resize && reshape_flex(nd, ins, flex)) {
      target = ins[1].data;
      ins[1].data = flex; /* only for inference: run() reads no target */
    }
    rc = node_infer(m, nd, ins, v, err);
    if (target)
      ins[1].data = target;
    if (rc != 0)
      goto out;
    if (nd->op->alias)
      root[i] = root[nd->in[0]];
    if (nd->op->scratch) {
      struct vd__nn_tensor tmp = *v;
      size_t s = nd->op->scratch(nd, ins, &tmp, threads);
      if (s > scratch)
        scratch = s;
    }
  }

  /* Lifetimes, on storages (roots). Inputs and outputs live for ever. */
  for (size_t i = 0; i < n; i++) {
    const struct vd__nn_node *nd = &m->nodes[i];
    if (nd->is_input)
      last[i] = (int)n;
    for (int k = 0; k < nd->n_in; k++) {
      int r = root[nd->in[k]];
      if (last[r] < (int)i)
        last[r] = (int)i;
    }
  }
  for (size_t i = 0; i < m->n_outputs; i++)
    last[root[m->outputs[i]]] = (int)n;

  /* Pack storages into blocks. */
  for (size_t i = 0; i < n; i++) {
    const struct vd__nn_node *nd = &m->nodes[i];
    blk_of[i] = -1;
    if (!nd->is_const && root[i] == (int)i) {
      size_t bytes = (size_t)vd__nn_count(&c->val[i].s) * 4;
      if (bytes == 0)
        bytes = 4;
      /* Smallest free block that fits, else the largest free one (grown). */
      int fit = -1, big = -1;
      for (size_t b = 0; b < n_blk; b++) {
        if (blk[b].busy)
          continue;
        if (blk[b].bytes >= bytes && (fit < 0 || blk[b].bytes < blk[fit].bytes))
          fit = (int)b;
        if (big < 0 || blk[b].bytes > blk[big].bytes)
          big = (int)b;
      }
      int best = fit >= 0 ? fit : big;
      if (best < 0)
        best = (int)n_blk++;
      if (blk[best].bytes < bytes)
        blk[best].bytes = bytes;
      blk[best].busy = 1;
      blk_of[i] = best;
    }
    /* Free storages whose last reader is this node. */
    for (int k = 0; k < nd->n_in; k++) {
      int r = root[nd->in[k]];
      if (last[r] == (int)i && blk_of[r] >= 0)
        blk[blk_of[r]].busy = 0;
    }
    if (!nd->is_const && root[i] == (int)i && last[i] <= (int)i)
      blk[blk_of[i]].busy = 0; /* written, never read */
  }
  for (size_t b = 0; b < n_blk; b++) {
    if (blk[b].bytes > cap - total) {
      rc = vd_err_set(err, VD_ERR_LIMIT, "%s: activations need more than %zu bytes", m->name, cap);
      goto out;
    }
    total += blk[b].bytes;
  }
  if (scratch > (cap - total) / 4) {
    rc = vd_err_set(err, VD_ERR_LIMIT, "%s: scratch needs more than %zu bytes", m->name, cap);
    goto out;
  }
  c->n_blocks = n_blk;
  c->blocks = vd_xcalloc(n_blk + 1, sizeof(void *));
  for (size_t b = 0; b < n_blk; b++)
    c->blocks[b] = vd_xcalloc(1, blk[b].bytes);
  c->scratch = scratch ? vd_xmalloc(scratch * 4) : NULL;
  for (size_t i = 0; i < n; i++)
    if (!m->nodes[i].is_const)
      c->val[i].data = c->blocks[blk_of[root[i]]];
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < m->nodes[i].n_in; k++)
      c->ins[c->in_off[i] + k] = c->val[m->nodes[i].in[k]];
  c->pool = vd__nn_pool_new(threads);
  VD_DEBUG("nn: %s planned: %zu nodes, %zu buffers, %.1f MiB activations, %.1f MiB scratch",
           m->name, n, n_blk, total / 1048576.0, scratch * 4 / 1048576.0);

out:
  free(root);
  free(last);
  free(blk_of);
  free(blk);
  if (rc != 0) {
    vd_nn_ctx_free(c);
    return rc;
  }
#ifdef VD_HAVE_OPENBLAS
  /* The ops split GEMMs over their own pool; OpenBLAS threads would oversubscribe. */
  openblas_set_num_threads(1);
#endif
  *out = c;
  return 0;
}

void vd_nn_ctx_free(struct vd_nn_ctx *c) {
  if (!c)
    return;
  vd__nn_pool_free(c->pool);
  for (size_t b = 0; b < c->n_blocks; b++)
    free(c->blocks[b]);
  free(c->blocks);
  free(c->scratch);
  free(c->val);
  free(c->ins);
  free(c->in_off);
  vd_nn_model_free(c->m);
  free(c);
}

float *vd_nn_ctx_input(struct vd_nn_ctx *c, size_t i, struct vd_nn_shape *shape) {
  if (i >= c->m->n_inputs)
    return NULL;
  struct vd__nn_tensor *v = &c->val[c->m->inputs[i]];
  if (shape)
    *shape = v->s;
  return v->data;
}

int vd_nn_ctx_run(struct vd_nn_ctx *c) {
  const struct vd_nn_model *m = c->m;
  struct vd__nn_exec x = {.pool = c->pool, .scratch = c->scratch};
  for (size_t i = 0; i < m->n_nodes; i++) {
    const struct vd__nn_node *nd = &m->nodes[i];
    if (nd->is_const || nd->is_input || nd->op->alias)
      continue;
    nd->op->run(nd, &c->ins[c->in_off[i]], &c->val[i], &x);
  }
  return 0;
}

const float *vd_nn_ctx_output(const struct vd_nn_ctx *c, size_t i, struct vd_nn_shape *shape) {
  if (i >= c->m->n_outputs)
    return NULL;
  const struct vd__nn_tensor *v = &c->val[c->m->outputs[i]];
  if (shape)
    *shape = v->s;
  return v->data;
}
