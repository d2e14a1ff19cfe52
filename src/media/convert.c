/*
 * convert.c: the per-frame view cache. A "view" is the decoded picture at a
 * given (size, pixel format, rotation). Each distinct view owns one
 * SwsContext and one set of buffers for the whole run; a view is computed at
 * most once per decoded frame (tracked by serial), however many subscribers
 * ask for it. Memory is therefore one buffer set per distinct request.
 *
 * HSV follows OpenCV's 8-bit BGR2HSV arithmetic (fixed point, 12-bit shift,
 * H halved into [0,180)), because the scene detectors' thresholds were tuned
 * by PySceneDetect users on exactly those numbers.
 */
#include <libavutil/imgutils.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "core/log.h"
#include "media/media_int.h"

#define HSV_SHIFT 12
static int sdiv[256], hdiv[256];
static pthread_once_t hsv_once = PTHREAD_ONCE_INIT;

static void hsv_tables(void) {
  sdiv[0] = hdiv[0] = 0;
  for (int i = 1; i < 256; i++) {
    sdiv[i] = (int)lrint((255 << HSV_SHIFT) / (double)i);
    hdiv[i] = (int)lrint((180 << HSV_SHIFT) / (6.0 * i));
  }
}

/* In place: packed BGR -> packed HSV (OpenCV semantics). */
static void bgr_to_hsv(uint8_t *p, int linesize, int w, int h) {
  pthread_once(&hsv_once, hsv_tables);
  const int round = 1 << (HSV_SHIFT - 1);
  for (int y = 0; y < h; y++) {
    uint8_t *q = p + (size_t)y * linesize;
    for (int x = 0; x < w; x++, q += 3) {
      int b = q[0], g = q[1], r = q[2];
      int v = r > g ? r : g;
      v = v > b ? v : b;
      int mn = r < g ? r : g;
      mn = mn < b ? mn : b;
      int diff = v - mn;
      int s = (diff * sdiv[v] + round) >> HSV_SHIFT;
      int hh;
      if (v == r)
        hh = g - b;
      else if (v == g)
        hh = b - r + 2 * diff;
      else
        hh = r - g + 4 * diff;
      hh = (hh * hdiv[diff] + round) >> HSV_SHIFT;
      if (hh < 0)
        hh += 180;
      q[0] = (uint8_t)hh;
      q[1] = (uint8_t)s;
      q[2] = (uint8_t)v;
    }
  }
}

/* Rotate one plane clockwise by rot degrees; (w, h) is the source size. */
static void rotate_plane(const uint8_t *src, int sls, uint8_t *dst, int dls, int w, int h, int bpp,
                         int rot) {
  for (int y = 0; y < h; y++) {
    const uint8_t *s = src + (size_t)y * sls;
    for (int x = 0; x < w; x++, s += bpp) {
      int dx, dy;
      if (rot == 90) {
        dx = h - 1 - y;
        dy = x;
      } else if (rot == 180) {
        dx = w - 1 - x;
        dy = h - 1 - y;
      } else { /* 270 */
        dx = y;
        dy = w - 1 - x;
      }
      memcpy(dst + (size_t)dy * dls + (size_t)dx * bpp, s, (size_t)bpp);
    }
  }
}

/*
 * Shrinks a packed picture the way OpenCV's resize(INTER_LINEAR) does: each
 * output pixel samples the 2x2 source neighbourhood around
 * ((x + 0.5) * sw/dw - 0.5, ...), clamped at the edges, with 11-bit fixed
 * point weights and one rounding at the end. No area averaging: that is
 * what OpenCV does and what the scene thresholds assume.
 */
/* One OpenCV INTER_LINEAR tap along an axis of `n` source samples shrunk
 * by `scale`: the two source indices and the 11-bit weight of the second. */
struct cv_tap {
  int i0, i1, w1;
};

static struct cv_tap cv_tap_at(int d, double scale, int n) {
  double f = (d + 0.5) * scale - 0.5;
  int i0 = (int)floor(f);
  double a = f - i0;
  if (i0 < 0) {
    i0 = 0;
    a = 0;
  }
  if (i0 >= n - 1) {
    i0 = n - 1;
    a = 0;
  }
  return (struct cv_tap){i0, i0 + 1 < n ? i0 + 1 : i0, (int)lrint(a * 2048)};
}

/* `xt` holds dw column taps, computed once per view (cv_taps_fill), since
 * they are the same for every row of every frame. */
static void cv_linear_resize(const uint8_t *src, int sls, int sh, uint8_t *dst, int dls, int dw,
                             int dh, int bpp, const struct cv_tap *xt) {
  double fy = (double)sh / dh;
  for (int y = 0; y < dh; y++) {
    struct cv_tap ty = cv_tap_at(y, fy, sh);
    int wb = ty.w1, wa = 2048 - wb;
    const uint8_t *r0 = src + (size_t)ty.i0 * sls, *r1 = src + (size_t)ty.i1 * sls;
    uint8_t *out = dst + (size_t)y * dls;
    for (int x = 0; x < dw; x++) {
      int x0 = xt[x].i0, x1 = xt[x].i1, w1 = xt[x].w1, w0 = 2048 - w1;
      for (int k = 0; k < bpp; k++) {
        int p00 = r0[x0 * bpp + k], p01 = r0[x1 * bpp + k];
        int p10 = r1[x0 * bpp + k], p11 = r1[x1 * bpp + k];
        int64_t v = (int64_t)wa * (w0 * p00 + w1 * p01) + (int64_t)wb * (w0 * p10 + w1 * p11);
        out[x * bpp + k] = (uint8_t)((v + (1 << 21)) >> 22);
      }
    }
  }
}

static enum AVPixelFormat av_fmt(enum vd_pix f) {
  switch (f) {
  case VD_PIX_GRAY8:
    return AV_PIX_FMT_GRAY8;
  case VD_PIX_RGB24:
    return AV_PIX_FMT_RGB24;
  case VD_PIX_BGR24:
  case VD_PIX_HSV24:
    return AV_PIX_FMT_BGR24;
  case VD_PIX_YUV420P:
    return AV_PIX_FMT_YUV420P;
  case VD_PIX_YUVJ420P:
    return AV_PIX_FMT_YUVJ420P;
  default:
    return AV_PIX_FMT_NONE;
  }
}

static int clamp_dim(long v) { return v < 1 ? 1 : (v > 65535 ? 65535 : (int)v); }

void vd_video_want_size(const struct vd_video_want *w, int src_w, int src_h, int *ow, int *oh) {
  int W = w->width, H = w->height;
  if (src_w < 1)
    src_w = 1;
  if (src_h < 1)
    src_h = 1;
  if (W > 0 && H > 0) {
    /* exact */
  } else if (W > 0) {
    H = clamp_dim(lround((double)W * src_h / src_w));
  } else if (H > 0) {
    W = clamp_dim(lround((double)H * src_w / src_h));
  } else if (w->max_side > 0 && (src_w > w->max_side || src_h > w->max_side)) {
    double f = (double)(src_w > src_h ? src_w : src_h) / w->max_side;
    W = clamp_dim(lround(src_w / f));
    H = clamp_dim(lround(src_h / f));
  } else {
    W = src_w;
    H = src_h;
  }
  *ow = W;
  *oh = H;
}

/* Source geometry as the view sees it: coded, or displayed (SAR + rotation). */
static void view_geometry(const struct vd__fsrc *fs, const struct vd_video_want *w, int *gw,
                          int *gh, int *rot) {
  const AVFrame *src = fs->src;
  *rot = 0;
  *gw = src->width;
  *gh = src->height;
  if (w->no_rotate)
    return;
  if (fs->sar_num > 0 && fs->sar_den > 0 && fs->sar_num != fs->sar_den)
    *gw = clamp_dim(lround((double)src->width * fs->sar_num / fs->sar_den));
  *rot = fs->rot;
  if (*rot == 90 || *rot == 270) {
    int t = *gw;
    *gw = *gh;
    *gh = t;
  }
}

static void view_release(struct view *v) {
  sws_freeContext(v->sws);
  v->sws = NULL;
  v->luma = 0;
  av_freep(&v->full);
  av_freep(&v->xtaps);
  av_freep(&v->a[0]);
  av_freep(&v->b[0]);
}

void vd__views_free(struct vd__views *vc) {
  for (int i = 0; i < vc->n; i++)
    view_release(&vc->v[i]);
  vc->n = 0;
}

/* 8-bit formats whose first plane is full-resolution luma (or grey). */
static int luma_first(int f) {
  switch (f) {
  case AV_PIX_FMT_YUV420P: case AV_PIX_FMT_YUVJ420P: case AV_PIX_FMT_YUV422P:
  case AV_PIX_FMT_YUVJ422P: case AV_PIX_FMT_YUV444P: case AV_PIX_FMT_YUVJ444P:
  case AV_PIX_FMT_NV12: case AV_PIX_FMT_NV21: case AV_PIX_FMT_GRAY8:
    return 1;
  default:
    return 0;
  }
}

static int full_range(const AVFrame *f) {
  return f->color_range == AVCOL_RANGE_JPEG || f->format == AV_PIX_FMT_YUVJ420P ||
         f->format == AV_PIX_FMT_YUVJ422P || f->format == AV_PIX_FMT_YUVJ444P ||
         f->format == AV_PIX_FMT_GRAY8;
}

/* (Re)builds the scaler and buffers when the source geometry changes. */
static int view_prepare(struct view *v, const AVFrame *src) {
  if ((v->sws || v->luma) && v->src_w == src->width && v->src_h == src->height &&
      v->src_fmt == src->format && (!v->luma || v->src_range == (int)src->color_range))
    return 0;
  view_release(v);
  int pw = (v->rot == 90 || v->rot == 270) ? v->h : v->w;
  int ph = (v->rot == 90 || v->rot == 270) ? v->w : v->h;
  enum AVPixelFormat df = av_fmt(v->fmt);
  /* Grey at the source size is the luma plane, expanded to full range:
   * a table lookup per pixel instead of a trip through swscale (the faces
   * analysis takes such a view of every sampled frame). */
  v->luma = v->fmt == VD_PIX_GRAY8 && !v->cv && pw == src->width && ph == src->height &&
            luma_first(src->format);
  if (v->luma) {
    int full = full_range(src);
    for (int i = 0; i < 256; i++) {
      long y = full ? i : lrint((i - 16) * 255.0 / 219.0);
      v->lut[i] = (uint8_t)(y < 0 ? 0 : y > 255 ? 255 : y);
    }
  }
  /* Fast bilinear when shrinking: it samples like OpenCV's INTER_LINEAR
   * (which the scene thresholds were tuned on) and costs per output pixel,
   * not per source pixel, which keeps 1080p analysis near decode speed. */
  int flags = (pw * ph < src->width * src->height) ? SWS_FAST_BILINEAR : SWS_BICUBIC;
  if (v->cv) {
    /* Same-size conversion with the flags PyAV uses, then our resize. */
    v->sws = sws_getContext(src->width, src->height, src->format, src->width, src->height, df,
                            SWS_BILINEAR, NULL, NULL, NULL);
    v->full_ls = FFALIGN(src->width * vd_pix_bpp(v->fmt), 32);
    /* swscale's SIMD writers store whole vectors, past the last pixel of
     * a row: one spare row keeps the last row's overshoot in the buffer. */
    v->full = av_malloc((size_t)v->full_ls * (src->height + 1));
    v->xtaps = av_malloc_array((size_t)pw, sizeof(*v->xtaps));
    if (!v->full || !v->xtaps)
      return VD_ERR_INTERNAL;
    for (int x = 0; x < pw; x++)
      v->xtaps[x] = cv_tap_at(x, (double)src->width / pw, src->width);
  } else if (!v->luma) {
    v->sws = sws_getContext(src->width, src->height, src->format, pw, ph, df, flags, NULL, NULL, NULL);
  }
  if (!v->sws && !v->luma)
    return VD_ERR_UNSUPPORTED;
  /* One spare row per plane, for the same overshoot as above. */
  if (av_image_alloc(v->a, v->als, pw, ph + 2, df, 32) < 0)
    return VD_ERR_INTERNAL;
  if (v->rot && av_image_alloc(v->b, v->bls, v->w, v->h + 2, df, 32) < 0)
    return VD_ERR_INTERNAL;
  v->src_w = src->width;
  v->src_h = src->height;
  v->src_fmt = src->format;
  v->src_range = (int)src->color_range;
  v->serial = -1;
  return 0;
}

static void view_convert(struct view *v, const AVFrame *src) {
  int pw = (v->rot == 90 || v->rot == 270) ? v->h : v->w;
  int ph = (v->rot == 90 || v->rot == 270) ? v->w : v->h;
  if (v->luma) {
    for (int y = 0; y < ph; y++) {
      const uint8_t *s = src->data[0] + (size_t)y * (size_t)src->linesize[0];
      uint8_t *d = v->a[0] + (size_t)y * (size_t)v->als[0];
      for (int x = 0; x < pw; x++)
        d[x] = v->lut[s[x]];
    }
  } else if (v->cv) {
    uint8_t *d[4] = {v->full};
    int l[4] = {v->full_ls};
    sws_scale(v->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, d, l);
    cv_linear_resize(v->full, v->full_ls, src->height, v->a[0], v->als[0], pw, ph,
                     vd_pix_bpp(v->fmt), v->xtaps);
  } else {
    sws_scale(v->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, v->a, v->als);
  }
  if (v->rot) {
    int bpp = vd_pix_bpp(v->fmt);
    if (bpp) {
      rotate_plane(v->a[0], v->als[0], v->b[0], v->bls[0], pw, ph, bpp, v->rot);
    } else { /* planar 4:2:0 */
      rotate_plane(v->a[0], v->als[0], v->b[0], v->bls[0], pw, ph, 1, v->rot);
      for (int p = 1; p < 3; p++)
        rotate_plane(v->a[p], v->als[p], v->b[p], v->bls[p], (pw + 1) / 2, (ph + 1) / 2, 1, v->rot);
    }
  }
  if (v->fmt == VD_PIX_HSV24)
    bgr_to_hsv(v->rot ? v->b[0] : v->a[0], v->rot ? v->bls[0] : v->als[0], v->w, v->h);
}

int vd__view_get(const struct vd__fsrc *fs, const struct vd_video_want *w, struct vd_frame *out) {
  AVFrame *src = fs->src;
  if ((unsigned)w->fmt >= VD_PIX_COUNT || (w->cv_resize && !vd_pix_bpp(w->fmt)))
    return VD_ERR_INVALID;
  int cv = !!w->cv_resize;
  int gw, gh, rot, ow, oh;
  view_geometry(fs, w, &gw, &gh, &rot);
  vd_video_want_size(w, gw, gh, &ow, &oh);
  struct view *v = NULL;
  struct vd__views *vc = fs->vc;
  for (int i = 0; i < vc->n; i++) {
    struct view *c = &vc->v[i];
    if (c->w == ow && c->h == oh && c->fmt == w->fmt && c->rot == rot && c->cv == cv) {
      v = c;
      break;
    }
  }
  if (!v) {
    if (vc->n >= VD_MAX_VIEWS)
      return VD_ERR_LIMIT;
    v = &vc->v[vc->n++];
    memset(v, 0, sizeof(*v));
    v->w = ow;
    v->h = oh;
    v->fmt = w->fmt;
    v->rot = rot;
    v->cv = cv;
    v->serial = -1;
  }
  int ret = view_prepare(v, src);
  if (ret < 0)
    return ret;
  if (v->serial != fs->serial) {
    view_convert(v, src);
    v->serial = fs->serial;
  }
  out->width = ow;
  out->height = oh;
  out->fmt = w->fmt;
  for (int p = 0; p < 4; p++) {
    out->data[p] = v->rot ? v->b[p] : v->a[p];
    out->linesize[p] = v->rot ? v->bls[p] : v->als[p];
  }
  return 0;
}

int vd_frame_view(const struct vd_frame *f, const struct vd_video_want *w, struct vd_frame *out) {
  const struct vd__fsrc *fs = f->priv;
  if (!fs)
    return VD_ERR_INVALID;
  *out = *f;
  return vd__view_get(fs, w, out);
}
