/*
 * jpeg.c: thumbnails as pictures and JPEG files (see jpeg.h).
 *
 * DESIGN
 * - The crop is shrunk in plain C (box average over integer source spans)
 *   rather than through libswscale: the pictures are at most a few hundred
 *   pixels, made a handful of times per track or scene, and plain C needs
 *   no per-size context nor padding for swscale's over-writing SIMD rows.
 * - Full-range BT.601 (JFIF's own definition) matches what the MJPEG
 *   encoder is told (AV_PIX_FMT_YUVJ420P), so colours survive the round
 *   trip through any decoder.
 */
#include "media/jpeg.h"

#include <libavcodec/avcodec.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static size_t picture_size(int w, int h) {
  size_t cw = (size_t)(w + 1) / 2, ch = (size_t)(h + 1) / 2;
  return (size_t)w * (size_t)h + 2 * cw * ch;
}

static void picture_alloc(struct vd_picture *p, int w, int h) {
  free(p->buf);
  p->width = w;
  p->height = h;
  p->buf = vd_xmalloc(picture_size(w, h));
}

void vd_picture_view(const struct vd_picture *p, struct vd_frame *out) {
  int cw = (p->width + 1) / 2, ch = (p->height + 1) / 2;
  memset(out, 0, sizeof(*out));
  out->width = p->width;
  out->height = p->height;
  out->fmt = VD_PIX_YUVJ420P;
  out->data[0] = p->buf;
  out->data[1] = p->buf ? p->buf + (size_t)p->width * (size_t)p->height : NULL;
  out->data[2] = p->buf ? out->data[1] + (size_t)cw * (size_t)ch : NULL;
  out->linesize[0] = p->width;
  out->linesize[1] = out->linesize[2] = cw;
}

void vd_picture_fini(struct vd_picture *p) {
  if (!p)
    return;
  free(p->buf);
  memset(p, 0, sizeof(*p));
}

int vd_picture_copy(struct vd_picture *p, const struct vd_frame *v) {
  if (v->fmt != VD_PIX_YUVJ420P || v->width <= 0 || v->height <= 0)
    return VD_ERR_INVALID;
  picture_alloc(p, v->width, v->height);
  int cw = (v->width + 1) / 2, ch = (v->height + 1) / 2;
  uint8_t *d = p->buf;
  for (int pl = 0; pl < 3; pl++) {
    int pw = pl ? cw : v->width, ph = pl ? ch : v->height;
    for (int y = 0; y < ph; y++, d += pw)
      memcpy(d, v->data[pl] + (size_t)y * (size_t)v->linesize[pl], (size_t)pw);
  }
  return 0;
}

static uint8_t clamp8(double v) { return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)(v + 0.5); }

int vd_picture_crop_rgb(struct vd_picture *p, const struct vd_frame *f, int x, int y, int w,
                        int h, int max_side) {
  if (f->fmt != VD_PIX_RGB24 || max_side <= 0)
    return VD_ERR_INVALID;
  /* Clamp the rectangle to the frame. */
  int x1 = x + w, y1 = y + h;
  x = x < 0 ? 0 : x;
  y = y < 0 ? 0 : y;
  x1 = x1 > f->width ? f->width : x1;
  y1 = y1 > f->height ? f->height : y1;
  if (x1 <= x || y1 <= y)
    return VD_ERR_INVALID;
  w = x1 - x;
  h = y1 - y;
  int ow = w, oh = h;
  if (w > max_side || h > max_side) {
    if (w >= h) {
      ow = max_side;
      oh = (int)((int64_t)h * max_side / w);
    } else {
      oh = max_side;
      ow = (int)((int64_t)w * max_side / h);
    }
    ow = ow < 1 ? 1 : ow;
    oh = oh < 1 ? 1 : oh;
  }
  /* Shrink: every output pixel is the mean of its integer source span. */
  uint8_t *rgb = vd_xmalloc((size_t)ow * (size_t)oh * 3);
  for (int oy = 0; oy < oh; oy++) {
    int ya = y + (int)((int64_t)h * oy / oh), yb = y + (int)((int64_t)h * (oy + 1) / oh);
    yb = yb > ya ? yb : ya + 1;
    for (int ox = 0; ox < ow; ox++) {
      int xa = x + (int)((int64_t)w * ox / ow), xb = x + (int)((int64_t)w * (ox + 1) / ow);
      xb = xb > xa ? xb : xa + 1;
      unsigned sum[3] = {0, 0, 0}, n = 0;
      for (int sy = ya; sy < yb; sy++) {
        const uint8_t *s = f->data[0] + (size_t)sy * (size_t)f->linesize[0] + 3 * (size_t)xa;
        for (int sx = xa; sx < xb; sx++, s += 3, n++) {
          sum[0] += s[0];
          sum[1] += s[1];
          sum[2] += s[2];
        }
      }
      uint8_t *d = rgb + ((size_t)oy * (size_t)ow + (size_t)ox) * 3;
      for (int k = 0; k < 3; k++)
        d[k] = (uint8_t)((sum[k] + n / 2) / n);
    }
  }
  /* Full-range BT.601: luma per pixel, chroma per 2x2 block. */
  picture_alloc(p, ow, oh);
  struct vd_frame v;
  vd_picture_view(p, &v);
  for (int py = 0; py < oh; py++)
    for (int px = 0; px < ow; px++) {
      const uint8_t *s = rgb + ((size_t)py * (size_t)ow + (size_t)px) * 3;
      v.data[0][(size_t)py * (size_t)ow + (size_t)px] =
          clamp8(0.299 * s[0] + 0.587 * s[1] + 0.114 * s[2]);
    }
  for (int cy = 0; cy < (oh + 1) / 2; cy++)
    for (int cx = 0; cx < (ow + 1) / 2; cx++) {
      double r = 0, g = 0, b = 0;
      int n = 0;
      for (int dy = 0; dy < 2 && 2 * cy + dy < oh; dy++)
        for (int dx = 0; dx < 2 && 2 * cx + dx < ow; dx++, n++) {
          const uint8_t *s = rgb + ((size_t)(2 * cy + dy) * (size_t)ow + (size_t)(2 * cx + dx)) * 3;
          r += s[0];
          g += s[1];
          b += s[2];
        }
      r /= n;
      g /= n;
      b /= n;
      size_t o = (size_t)cy * (size_t)v.linesize[1] + (size_t)cx;
      v.data[1][o] = clamp8(128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b);
      v.data[2][o] = clamp8(128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b);
    }
  free(rgb);
  return 0;
}

int vd_jpeg_write(const char *path, const struct vd_frame *v, int qscale, struct vd_err *err) {
  if (v->fmt != VD_PIX_YUVJ420P || v->width <= 0 || v->height <= 0 || qscale < 0 || qscale > 31)
    return vd_err_set(err, VD_ERR_INVALID, "jpeg: %s: need a non-empty YUVJ420P frame, qscale 0..31",
                      path);
  const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec)
    return vd_err_set(err, VD_ERR_UNSUPPORTED, "jpeg: no MJPEG encoder in this FFmpeg");
  AVCodecContext *cx = avcodec_alloc_context3(codec);
  AVFrame *fr = av_frame_alloc();
  AVPacket *pkt = av_packet_alloc();
  int ret = VD_ERR_ENCODE;
  if (!cx || !fr || !pkt)
    goto out;
  cx->width = v->width;
  cx->height = v->height;
  cx->pix_fmt = AV_PIX_FMT_YUVJ420P;
  cx->time_base = (AVRational){1, 25};
  cx->flags |= AV_CODEC_FLAG_QSCALE;
  if (avcodec_open2(cx, codec, NULL) < 0)
    goto out;
  fr->format = AV_PIX_FMT_YUVJ420P;
  fr->width = v->width;
  fr->height = v->height;
  for (int pl = 0; pl < 3; pl++) {
    fr->data[pl] = v->data[pl];
    fr->linesize[pl] = v->linesize[pl];
  }
  fr->quality = FF_QP2LAMBDA * (qscale ? qscale : 4);
  fr->pts = 0;
  if (avcodec_send_frame(cx, fr) < 0 || avcodec_send_frame(cx, NULL) < 0 ||
      avcodec_receive_packet(cx, pkt) < 0)
    goto out;
  ret = vd_write_file_atomic(path, pkt->data, (size_t)pkt->size);
out:
  if (ret < 0)
    vd_err_set(err, VD_ERR_ENCODE, "jpeg: cannot write %s: %s", path, vd_strerror(ret));
  av_packet_free(&pkt);
  av_frame_free(&fr);
  avcodec_free_context(&cx);
  return ret < 0 ? VD_ERR_ENCODE : 0;
}
