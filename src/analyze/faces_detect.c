/*
 * faces_detect: BlazeFace decoding, NMS and the IoU tracker; see
 * faces_detect.h.
 *
 * DESIGN
 * - The picture keeps its aspect ratio, scaled to [-1, 1]: stretching
 *   would squash faces in wide video and cost recall. BlazeFace is fully
 *   convolutional up to its heads, so instead of letterboxing a 16:9
 *   picture into the 256x256 square (44% black bars, computed for
 *   nothing) the model is planned for the picture's own shape, each side
 *   rounded up to the coarse head's stride (32) and centred in black bars:
 *   256x160 for 16:9, 37% less work. The anchors follow the planned grid.
 *   A plan is made per picture geometry (once per video, in practice).
 * - The full-range model has two heads: 16x16 cells with 2 anchors (512) and
 *   8x8 cells with 6 anchors (384), anchor centres at the cell centres. Each
 *   anchor predicts a logit and 16 numbers: box centre offset (x, y) and
 *   size (w, h) in input pixels, then 6 keypoints as offsets. The heads are
 *   found by shape ([1, n, 1] scores, [1, n, 16] boxes), not by name, so a
 *   re-export of the model that renames outputs still works.
 * - Tracking is greedy: all (track, detection) pairs above the IoU floor,
 *   best first. Cheap and good enough at 5 fps, where a face moves little
 *   between samples; identity across cuts is the people analysis's job.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/faces_detect.h"
#include "core/log.h"
#include "core/util.h"
#include "nn/nn.h"

#define N_ANCHORS_MAX 4096

struct vd_facedet {
  struct vd_nn_model *m;
  struct vd_nn_ctx *ctx;
  struct vd_facedet_opts o;
  int size;                 /* the model's declared square side: the longest side taken */
  int in_w, in_h;           /* the current plan's input size */
  int n_anchors;
  float *anchors;           /* x, y per anchor, input pixels */
  const float *score[2], *box[2]; /* per head, set after each run */
  int head_n[2];
  int out_score[2], out_box[2];   /* output indices per head */
  struct vd_face *cand;     /* n_anchors candidates */
};

/* Anchors of the full-range model over the planned input: strides size/16
 * and size/8, 2 and 6 per cell. */
static int make_anchors(struct vd_facedet *d) {
  int strides[2] = {d->size / 16, d->size / 8}, per[2] = {2, 6}, k = 0;
  int total = 0;
  for (int h = 0; h < 2; h++) {
    int gx = (d->in_w + strides[h] - 1) / strides[h], gy = (d->in_h + strides[h] - 1) / strides[h];
    total += gx * gy * per[h];
  }
  if (total != d->head_n[0] + d->head_n[1] || total > N_ANCHORS_MAX)
    return -1;
  free(d->anchors);
  d->anchors = vd_xmalloc((size_t)total * 2 * sizeof(float));
  for (int h = 0; h < 2; h++) {
    int s = strides[h], gx = (d->in_w + s - 1) / s, gy = (d->in_h + s - 1) / s;
    for (int y = 0; y < gy; y++)
      for (int x = 0; x < gx; x++)
        for (int a = 0; a < per[h]; a++) {
          d->anchors[2 * k] = s * (x + 0.5f);
          d->anchors[2 * k + 1] = s * (y + 0.5f);
          k++;
        }
  }
  d->n_anchors = total;
  return 0;
}

/* Orders two output indices by anchor count, larger first; n receives the counts. */
static void head_sizes(const struct vd_facedet *d, int idx[2], int64_t n[2]) {
  struct vd_nn_shape s;
  for (int i = 0; i < 2; i++) {
    (void)vd_nn_ctx_output(d->ctx, (size_t)idx[i], &s);
    n[i] = s.dim[1];
  }
  if (n[0] < n[1]) {
    int t = idx[0];
    idx[0] = idx[1];
    idx[1] = t;
    int64_t tn = n[0];
    n[0] = n[1];
    n[1] = tn;
  }
}

static int find_heads(struct vd_facedet *d, struct vd_err *err);

/*
 * Plans the model for an input of in_w x in_h and finds its heads: [1,n,1]
 * logits and [1,n,16] boxes, larger n first. On failure the detector keeps
 * its previous plan.
 */
static int plan(struct vd_facedet *d, int in_w, int in_h, struct vd_err *err) {
  struct vd_nn_shape shape = {.rank = 4, .dim = {1, in_h, in_w, 3}};
  struct vd_nn_ctx_opts co = {.threads = d->o.threads > 0 ? d->o.threads : 1,
                              .input_shape = &shape, .resize = 1};
  struct vd_nn_ctx *ctx;
  int rc = vd_nn_ctx_new(&ctx, d->m, &co, err);
  if (rc != 0)
    return rc;
  struct vd_nn_ctx *old = d->ctx;
  int old_w = d->in_w, old_h = d->in_h;
  d->ctx = ctx;
  d->in_w = in_w;
  d->in_h = in_h;
  if ((rc = find_heads(d, err)) != 0) {
    vd_nn_ctx_free(ctx);
    d->ctx = old;
    d->in_w = old_w;
    d->in_h = old_h;
    if (old)
      (void)find_heads(d, err); /* the old plan's heads and anchors again */
    return rc;
  }
  vd_nn_ctx_free(old);
  free(d->cand);
  d->cand = vd_xmalloc((size_t)d->n_anchors * sizeof(*d->cand));
  return 0;
}

int vd_facedet_new(struct vd_facedet **out, const struct vd_facedet_opts *o, struct vd_err *err) {
  *out = NULL;
  struct vd_facedet *d = vd_xcalloc(1, sizeof(*d));
  d->o = *o;
  int rc = vd_nn_model_get(&d->m, "blazeface", err);
  if (rc != 0)
    goto fail;
  struct vd_nn_shape in;
  vd_nn_model_input_shape(d->m, 0, &in);
  if (in.rank != 4 || in.dim[1] != in.dim[2] || in.dim[1] < 64 || in.dim[1] > 1024 ||
      in.dim[1] % 32 || in.dim[3] != 3) {
    rc = vd_err_set(err, VD_ERR_UNSUPPORTED, "faces: blazeface input is not [1,n,n,3], n a multiple of 32");
    goto fail;
  }
  d->size = (int)in.dim[1];
  if ((rc = plan(d, d->size, d->size, err)) != 0)
    goto fail;
  *out = d;
  return 0;
fail:
  vd_facedet_free(d);
  return rc;
}

static int find_heads(struct vd_facedet *d, struct vd_err *err) {
  /* Heads by shape: [1,n,1] logits and [1,n,16] boxes, larger n first. */
  int ns = 0, nb = 0;
  for (size_t i = 0; i < vd_nn_model_n_outputs(d->m); i++) {
    struct vd_nn_shape s;
    (void)vd_nn_ctx_output(d->ctx, i, &s);
    if (s.rank != 3 || s.dim[0] != 1 || s.dim[1] < 1 || s.dim[1] > N_ANCHORS_MAX)
      continue;
    if (s.dim[2] == 1 && ns < 2)
      d->out_score[ns++] = (int)i;
    else if (s.dim[2] == 16 && nb < 2)
      d->out_box[nb++] = (int)i;
  }
  if (ns != 2 || nb != 2)
    return vd_err_set(err, VD_ERR_UNSUPPORTED,
                      "faces: blazeface outputs are not two score and two box heads");
  /* Larger head first, in both pairs; then the pairs must agree. */
  int64_t sn[2], bn[2];
  head_sizes(d, d->out_score, sn);
  head_sizes(d, d->out_box, bn);
  d->head_n[0] = (int)sn[0];
  d->head_n[1] = (int)sn[1];
  if (bn[0] != sn[0] || bn[1] != sn[1] || make_anchors(d) != 0)
    return vd_err_set(err, VD_ERR_UNSUPPORTED, "faces: blazeface heads do not match its anchors");
  return 0;
}

void vd_facedet_free(struct vd_facedet *d) {
  if (!d)
    return;
  vd_nn_ctx_free(d->ctx);
  vd_nn_model_free(d->m);
  free(d->anchors);
  free(d->cand);
  free(d);
}

int vd_facedet_input_size(const struct vd_facedet *d) { return d->size; }

float vd_face_iou(const struct vd_face *a, const struct vd_face *b) {
  float ix = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0);
  float iy = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0);
  if (ix <= 0 || iy <= 0)
    return 0;
  float inter = ix * iy;
  float ua = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - inter;
  return ua > 0 ? inter / ua : 0;
}

static int by_score(const void *pa, const void *pb) {
  const struct vd_face *a = pa, *b = pb;
  return (a->score < b->score) - (a->score > b->score);
}

int vd_face_nms(struct vd_face *f, int n, float iou, int max_keep) {
  qsort(f, (size_t)n, sizeof(*f), by_score);
  int kept = 0;
  for (int i = 0; i < n && kept < max_keep; i++) {
    int ok = 1;
    for (int k = 0; k < kept && ok; k++)
      ok = vd_face_iou(&f[i], &f[k]) <= iou;
    if (ok)
      f[kept++] = f[i];
  }
  return kept;
}

int vd_facedet_run(struct vd_facedet *d, const uint8_t *rgb, int w, int h, int stride,
                   struct vd_face *out, int cap) {
  int S = d->size;
  if (w <= 0 || h <= 0 || w > S || h > S || cap <= 0)
    return 0;
  int want_w = d->o.square ? S : (w + 31) / 32 * 32, want_h = d->o.square ? S : (h + 31) / 32 * 32;
  if (want_w != d->in_w || want_h != d->in_h) {
    struct vd_err e = {0};
    /* Unexpected (the square plan worked): fall back to the square, which
     * takes any picture, slower. */
    if (plan(d, want_w, want_h, &e) != 0) {
      vd_log(VD_LOG_WARN, "faces: cannot plan blazeface for %dx%d: %s", want_w, want_h,
             vd_err_msg(&e, e.code));
      if (d->in_w != S || d->in_h != S)
        (void)plan(d, S, S, &e);
    }
  }
  if (w > d->in_w || h > d->in_h)
    return 0;
  int W = d->in_w, H = d->in_h;
  /* Centred, black bars (-1 after scaling) up to the planned size. */
  float *x = vd_nn_ctx_input(d->ctx, 0, NULL);
  int ox = (W - w) / 2, oy = (H - h) / 2;
  for (int i = 0; i < W * H * 3; i++)
    x[i] = -1.0f;
  for (int y = 0; y < h; y++) {
    const uint8_t *p = rgb + (size_t)y * (size_t)stride;
    float *q = x + ((size_t)(y + oy) * W + ox) * 3;
    for (int i = 0; i < w * 3; i++)
      q[i] = p[i] / 127.5f - 1.0f;
  }
  if (vd_nn_ctx_run(d->ctx) != 0)
    return 0;
  int n = 0, a = 0;
  for (int hd = 0; hd < 2; hd++) {
    const float *sc = vd_nn_ctx_output(d->ctx, (size_t)d->out_score[hd], NULL);
    const float *bx = vd_nn_ctx_output(d->ctx, (size_t)d->out_box[hd], NULL);
    for (int i = 0; i < d->head_n[hd]; i++, a++) {
      float logit = fmaxf(-80.0f, fminf(80.0f, sc[i]));
      float score = 1.0f / (1.0f + expf(-logit));
      if (!(score >= d->o.min_score))
        continue;
      const float *r = bx + (size_t)i * 16;
      float ax = d->anchors[2 * a], ay = d->anchors[2 * a + 1];
      float cx = ax + r[0], cy = ay + r[1], bw = r[2], bh = r[3];
      struct vd_face *f = &d->cand[n++];
      /* input pixels → picture pixels → normalised */
      f->x0 = (cx - bw / 2 - ox) / w;
      f->x1 = (cx + bw / 2 - ox) / w;
      f->y0 = (cy - bh / 2 - oy) / h;
      f->y1 = (cy + bh / 2 - oy) / h;
      f->score = score;
      for (int k = 0; k < VD_FACE_KEYPOINTS; k++) {
        f->kp[2 * k] = (ax + r[4 + 2 * k] - ox) / w;
        f->kp[2 * k + 1] = (ay + r[5 + 2 * k] - oy) / h;
      }
    }
  }
  n = vd_face_nms(d->cand, n, d->o.nms_iou, d->o.max_faces < cap ? d->o.max_faces : cap);
  for (int i = 0; i < n; i++) {
    struct vd_face *f = &d->cand[i];
    f->x0 = fmaxf(0, f->x0);
    f->y0 = fmaxf(0, f->y0);
    f->x1 = fminf(1, f->x1);
    f->y1 = fminf(1, f->y1);
    out[i] = *f;
  }
  return n;
}

/* ---- emotions ------------------------------------------------------------------ */

const char *const vd_emotion_labels[VD_EMOTIONS] = {"angry", "disgust", "fear", "happy",
                                                    "sad",   "surprise", "neutral"};

struct vd_faceemo {
  struct vd_nn_model *m;
  struct vd_nn_ctx *ctx;
  int size; /* square input side */
};

int vd_faceemo_new(struct vd_faceemo **out, int threads, struct vd_err *err) {
  *out = NULL;
  struct vd_faceemo *e = vd_xcalloc(1, sizeof(*e));
  int rc = vd_nn_model_get(&e->m, "emotion", err);
  if (rc != 0)
    goto fail;
  struct vd_nn_shape in, os;
  vd_nn_model_input_shape(e->m, 0, &in);
  if (in.rank != 4 || in.dim[1] != in.dim[2] || in.dim[1] < 8 || in.dim[1] > 512 || in.dim[3] != 1) {
    rc = vd_err_set(err, VD_ERR_UNSUPPORTED, "faces: the emotion model's input is not [n,s,s,1]");
    goto fail;
  }
  e->size = (int)in.dim[1];
  struct vd_nn_ctx_opts co = {.threads = threads > 0 ? threads : 1};
  if ((rc = vd_nn_ctx_new(&e->ctx, e->m, &co, err)) != 0)
    goto fail;
  (void)vd_nn_ctx_output(e->ctx, 0, &os);
  if (vd_nn_shape_count(&os) != VD_EMOTIONS) {
    rc = vd_err_set(err, VD_ERR_UNSUPPORTED, "faces: the emotion model does not give %d classes",
                    VD_EMOTIONS);
    goto fail;
  }
  *out = e;
  return 0;
fail:
  vd_faceemo_free(e);
  return rc;
}

void vd_faceemo_free(struct vd_faceemo *e) {
  if (!e)
    return;
  vd_nn_ctx_free(e->ctx);
  vd_nn_model_free(e->m);
  free(e);
}

/*
 * Samples the square around box `b` (normalised, in a w x h picture of `ch`
 * interleaved channels) bilinearly into an S x S x ch float image, each
 * value v mapped to v * scale + shift. Outside the picture repeats the edge.
 */
static void crop_square(const uint8_t *img, int w, int h, int stride, int ch,
                        const struct vd_face *b, int S, float scale, float shift, float *out) {
  float cx = (b->x0 + b->x1) / 2 * w, cy = (b->y0 + b->y1) / 2 * h;
  float side = fmaxf((b->x1 - b->x0) * w, (b->y1 - b->y0) * h);
  if (!(side >= 1))
    side = 1;
  for (int oy = 0; oy < S; oy++)
    for (int ox = 0; ox < S; ox++) {
      float sx = cx - side / 2 + (ox + 0.5f) * side / S - 0.5f;
      float sy = cy - side / 2 + (oy + 0.5f) * side / S - 0.5f;
      sx = fminf(fmaxf(sx, 0), (float)(w - 1));
      sy = fminf(fmaxf(sy, 0), (float)(h - 1));
      int x0 = (int)sx, y0 = (int)sy, x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
      float fx = sx - x0, fy = sy - y0;
      const uint8_t *r0 = img + (size_t)y0 * (size_t)stride, *r1 = img + (size_t)y1 * (size_t)stride;
      for (int c = 0; c < ch; c++) {
        float v = (r0[x0 * ch + c] * (1 - fx) + r0[x1 * ch + c] * fx) * (1 - fy) +
                  (r1[x0 * ch + c] * (1 - fx) + r1[x1 * ch + c] * fx) * fy;
        out[(oy * S + ox) * ch + c] = v * scale + shift;
      }
    }
}

void vd_faceemo_run(struct vd_faceemo *e, const uint8_t *gray, int w, int h, int stride,
                    const struct vd_face *b, float probs[VD_EMOTIONS]) {
  /* The model was trained on grey in [-1, 1]. */
  crop_square(gray, w, h, stride, 1, b, e->size, 1 / 127.5f, -1.0f,
              vd_nn_ctx_input(e->ctx, 0, NULL));
  if (vd_nn_ctx_run(e->ctx) != 0) {
    for (int i = 0; i < VD_EMOTIONS; i++)
      probs[i] = 1.0f / VD_EMOTIONS;
    return;
  }
  memcpy(probs, vd_nn_ctx_output(e->ctx, 0, NULL), VD_EMOTIONS * sizeof(float));
}

/* ---- embeddings ---------------------------------------------------------------- */

struct vd_faceemb {
  struct vd_nn_model *m;
  struct vd_nn_ctx *ctx;
  int size, out, dim;
};

int vd_faceemb_new(struct vd_faceemb **out, int threads, struct vd_err *err) {
  *out = NULL;
  struct vd_faceemb *e = vd_xcalloc(1, sizeof(*e));
  int rc = vd_nn_model_get(&e->m, "faceres", err);
  if (rc != 0)
    goto fail;
  struct vd_nn_shape in, os;
  vd_nn_model_input_shape(e->m, 0, &in);
  e->out = vd_nn_model_output_find(e->m, "global_pooling/Mean");
  if (in.rank != 4 || in.dim[1] != in.dim[2] || in.dim[1] < 8 || in.dim[1] > 1024 ||
      in.dim[3] != 3 || e->out < 0) {
    rc = vd_err_set(err, VD_ERR_UNSUPPORTED,
                    "faces: faceres has no [n,s,s,3] input or no global_pooling/Mean output");
    goto fail;
  }
  e->size = (int)in.dim[1];
  struct vd_nn_ctx_opts co = {.threads = threads > 0 ? threads : 1};
  if ((rc = vd_nn_ctx_new(&e->ctx, e->m, &co, err)) != 0)
    goto fail;
  (void)vd_nn_ctx_output(e->ctx, (size_t)e->out, &os);
  e->dim = (int)vd_nn_shape_count(&os);
  *out = e;
  return 0;
fail:
  vd_faceemb_free(e);
  return rc;
}

void vd_faceemb_free(struct vd_faceemb *e) {
  if (!e)
    return;
  vd_nn_ctx_free(e->ctx);
  vd_nn_model_free(e->m);
  free(e);
}

int vd_faceemb_dim(const struct vd_faceemb *e) { return e->dim; }

void vd_faceemb_run(struct vd_faceemb *e, const uint8_t *rgb, int w, int h, int stride,
                    const struct vd_face *b, float *out) {
  /* faceres takes RGB in [0, 255]. */
  crop_square(rgb, w, h, stride, 3, b, e->size, 1.0f, 0.0f, vd_nn_ctx_input(e->ctx, 0, NULL));
  memset(out, 0, (size_t)e->dim * sizeof(float));
  if (vd_nn_ctx_run(e->ctx) != 0)
    return;
  const float *y = vd_nn_ctx_output(e->ctx, (size_t)e->out, NULL);
  double n2 = 0;
  for (int i = 0; i < e->dim; i++)
    n2 += (double)y[i] * y[i];
  float inv = n2 > 0 ? (float)(1.0 / sqrt(n2)) : 0.0f;
  for (int i = 0; i < e->dim; i++)
    out[i] = y[i] * inv;
}

/* ---- tracker ------------------------------------------------------------------- */

struct track {
  int id;
  double last;
  struct vd_face box;
};

struct vd_facetracker {
  float min_iou;
  double max_gap;
  struct track *t;
  int n, cap, next_id;
};

struct vd_facetracker *vd_facetracker_new(float min_iou, double max_gap) {
  struct vd_facetracker *t = vd_xcalloc(1, sizeof(*t));
  t->min_iou = min_iou;
  t->max_gap = max_gap;
  return t;
}

void vd_facetracker_free(struct vd_facetracker *t) {
  if (!t)
    return;
  free(t->t);
  free(t);
}

struct pair {
  float iou;
  int track, det;
};

static int by_iou(const void *pa, const void *pb) {
  const struct pair *a = pa, *b = pb;
  return (a->iou < b->iou) - (a->iou > b->iou);
}

void vd_facetracker_update(struct vd_facetracker *t, double time, const struct vd_face *f, int n,
                           int *ids) {
  /* Tracks unseen for longer than the gap end here. */
  int live = 0;
  for (int i = 0; i < t->n; i++)
    if (time - t->t[i].last <= t->max_gap)
      t->t[live++] = t->t[i];
  t->n = live;
  struct pair *p = vd_xmalloc(((size_t)t->n * (size_t)n + 1) * sizeof(*p));
  int np = 0;
  for (int i = 0; i < t->n; i++)
    for (int j = 0; j < n; j++) {
      float v = vd_face_iou(&t->t[i].box, &f[j]);
      if (v >= t->min_iou)
        p[np++] = (struct pair){v, i, j};
    }
  qsort(p, (size_t)np, sizeof(*p), by_iou);
  unsigned char *tused = vd_xcalloc((size_t)t->n + 1, 1);
  for (int j = 0; j < n; j++)
    ids[j] = -1;
  for (int k = 0; k < np; k++) {
    if (tused[p[k].track] || ids[p[k].det] >= 0)
      continue;
    tused[p[k].track] = 1;
    ids[p[k].det] = t->t[p[k].track].id;
    t->t[p[k].track].box = f[p[k].det];
    t->t[p[k].track].last = time;
  }
  for (int j = 0; j < n; j++) {
    if (ids[j] >= 0)
      continue;
    if (t->n == t->cap) {
      t->cap = t->cap ? 2 * t->cap : 8;
      t->t = vd_xrealloc(t->t, (size_t)t->cap * sizeof(*t->t));
    }
    t->t[t->n++] = (struct track){t->next_id, time, f[j]};
    ids[j] = t->next_id++;
  }
  free(tused);
  free(p);
}

int vd_facetracker_split(struct vd_facetracker *t, int id) {
  for (int i = 0; i < t->n; i++)
    if (t->t[i].id == id)
      return t->t[i].id = t->next_id++;
  return -1;
}
