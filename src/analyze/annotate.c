/*
 * annotate.c: drawing on YUV 4:2:0 canvases and writing an annotated copy
 * of the input (annotate.h), shared by faces and pose.
 *
 * DESIGN
 * - The annotated video is a second decode pass, the exception the
 *   architecture allows for writing an output video: the analyses saw only
 *   sampled, downscaled frames; the output needs every frame at full size.
 * - Drawing is done on a private copy of each frame (the pipeline's view may
 *   be the decoder's own reference picture), in YUV420P, with shapes whose
 *   sizes the caller scales with the picture height.
 * - Audio: the video is encoded to a temporary file, then muxed with the
 *   input's audio packets copied as they are (no re-encode), interleaved by
 *   time. If MP4 cannot hold the input's audio codec, the video goes out
 *   without audio and a warning says so.
 * - Memory: one frame canvas plus the encoder's lookahead.
 */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/annotate.h"
#include "core/util.h"
#include "media/encode.h"
#include "media/jpeg.h"

#define ANNOT_MAX_SIDE 1280 /* longer side of the annotated output, pixels */

/* ---- 5x7 font ------------------------------------------------------------------- */

/* Rows top to bottom, bit 4 = leftmost column. A-Z, then 0-9, '#', '-', '.'. */
static const uint8_t font5x7[39][7] = {
    {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}, {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E},
    {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}, {0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E},
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}, {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10},
    {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}, {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11},
    {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C},
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F},
    {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}, {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},
    {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10},
    {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}, {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11},
    {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}, {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04},
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}, {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11},
    {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F},
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C},
    {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A}, {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C},
};

/* Glyph of a character; NULL for a space or anything unknown (drawn blank). */
static const uint8_t *glyph(char ch) {
  if (ch >= 'a' && ch <= 'z')
    ch = (char)(ch - 'a' + 'A');
  if (ch >= 'A' && ch <= 'Z')
    return font5x7[ch - 'A'];
  if (ch >= '0' && ch <= '9')
    return font5x7[26 + ch - '0'];
  return ch == '#' ? font5x7[36] : ch == '-' ? font5x7[37] : ch == '.' ? font5x7[38] : NULL;
}

/* ---- drawing on a YUV420P canvas ---------------------------------------------------- */

const struct vd_yuv vd_palette[VD_PALETTE_N] = {{210, 16, 146}, {170, 166, 16}, {145, 54, 34},
                                                {107, 202, 222}, {164, 44, 178}, {235, 128, 128}};

void vd_canvas_put(struct vd_canvas *cv, int x, int y, struct vd_yuv c) {
  if (x < 0 || y < 0 || x >= cv->w || y >= cv->h)
    return;
  cv->p[0][(size_t)y * (size_t)cv->ls[0] + (size_t)x] = c.y;
  cv->p[1][(size_t)(y / 2) * (size_t)cv->ls[1] + (size_t)(x / 2)] = c.u;
  cv->p[2][(size_t)(y / 2) * (size_t)cv->ls[2] + (size_t)(x / 2)] = c.v;
}

/* Calls inside(x + 0.5, y + 0.5) over the pixels of a bounding box clipped
 * to the canvas and paints those where it is true. */
#define PAINT_BOX(cv, bx0, by0, bx1, by1, INSIDE, col)                                          \
  do {                                                                                         \
    int y0_ = (int)floor(by0), y1_ = (int)ceil(by1), x0_ = (int)floor(bx0), x1_ = (int)ceil(bx1); \
    y0_ = y0_ < 0 ? 0 : y0_;                                                                   \
    x0_ = x0_ < 0 ? 0 : x0_;                                                                   \
    y1_ = y1_ >= (cv)->h ? (cv)->h - 1 : y1_;                                                  \
    x1_ = x1_ >= (cv)->w ? (cv)->w - 1 : x1_;                                                  \
    for (int py = y0_; py <= y1_; py++)                                                        \
      for (int px = x0_; px <= x1_; px++) {                                                    \
        double X = px + 0.5, Y = py + 0.5;                                                     \
        if (INSIDE)                                                                            \
          vd_canvas_put(cv, px, py, col);                                                      \
      }                                                                                        \
  } while (0)

void vd_canvas_ellipse(struct vd_canvas *cv, double cx, double cy, double a, double b, double th,
                       struct vd_yuv c) {
  if (a < 2 || b < 2)
    return;
  double ai = a - th > 1 ? a - th : 1, bi = b - th > 1 ? b - th : 1;
  PAINT_BOX(cv, cx - a, cy - b, cx + a, cy + b,
            ((X - cx) * (X - cx) / (a * a) + (Y - cy) * (Y - cy) / (b * b) <= 1 &&
             (X - cx) * (X - cx) / (ai * ai) + (Y - cy) * (Y - cy) / (bi * bi) >= 1),
            c);
}

void vd_canvas_disc(struct vd_canvas *cv, double cx, double cy, double r, struct vd_yuv c) {
  PAINT_BOX(cv, cx - r, cy - r, cx + r, cy + r, ((X - cx) * (X - cx) + (Y - cy) * (Y - cy) <= r * r),
            c);
}

/* Squared distance from (x, y) to the segment (x0, y0)-(x1, y1). */
static double seg_dist2(double x, double y, double x0, double y0, double x1, double y1) {
  double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  double ex = x0 + t * dx - x, ey = y0 + t * dy - y;
  return ex * ex + ey * ey;
}

void vd_canvas_line(struct vd_canvas *cv, double x0, double y0, double x1, double y1, double th,
                    struct vd_yuv c) {
  double r = th / 2 > 0.5 ? th / 2 : 0.5;
  if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1))
    return;
  PAINT_BOX(cv, fmin(x0, x1) - r, fmin(y0, y1) - r, fmax(x0, x1) + r, fmax(y0, y1) + r,
            (seg_dist2(X, Y, x0, y0, x1, y1) <= r * r), c);
}

void vd_canvas_text(struct vd_canvas *cv, int x, int y, int s, const char *str, struct vd_yuv c) {
  int n = (int)strlen(str);
  struct vd_yuv plate = {16, 128, 128};
  for (int py = y - s; py < y + 8 * s; py++)
    for (int px = x - s; px < x + 6 * s * n + s; px++)
      vd_canvas_put(cv, px, py, plate);
  for (int i = 0; i < n; i++) {
    const uint8_t *g = glyph(str[i]);
    for (int r = 0; g && r < 7; r++)
      for (int col = 0; col < 5; col++)
        if (g[r] & (0x10 >> col))
          for (int dy = 0; dy < s; dy++)
            for (int dx = 0; dx < s; dx++)
              vd_canvas_put(cv, x + 6 * s * i + col * s + dx, y + r * s + dy, c);
  }
}

/* ---- frames ----------------------------------------------------------------------- */

struct writer {
  struct vd_actx *c;
  const struct vd_annot_opts *o;
  struct vd_canvas cv;
  struct vd_encoder *enc; /* video; NULL for a still image */
  const char *jpeg;       /* still image: the JPEG to write */
  struct vd_err *err;
  int64_t frames;
};

/* The canvas for a w x h picture (even sides), one allocation. */
static void canvas_alloc(struct vd_canvas *cv, int w, int h) {
  cv->w = w;
  cv->h = h;
  cv->ls[0] = w;
  cv->ls[1] = cv->ls[2] = (w + 1) / 2;
  size_t luma = (size_t)w * (size_t)h, chroma = (size_t)cv->ls[1] * (size_t)((h + 1) / 2);
  cv->p[0] = vd_xmalloc(luma + 2 * chroma);
  cv->p[1] = cv->p[0] + luma;
  cv->p[2] = cv->p[1] + chroma;
}

static int on_frame(void *opaque, const struct vd_frame *f) {
  struct writer *a = opaque;
  struct vd_canvas *cv = &a->cv;
  if (a->jpeg && a->frames > 0)
    return 0; /* a still image: the first frame only */
  for (int p = 0; p < 3; p++) {
    int rows = p ? (cv->h + 1) / 2 : cv->h, cols = p ? (cv->w + 1) / 2 : cv->w;
    for (int y = 0; y < rows; y++)
      memcpy(cv->p[p] + (size_t)y * (size_t)cv->ls[p], f->data[p] + (size_t)y * (size_t)f->linesize[p],
             (size_t)cols);
  }
  a->o->draw(a->o->opaque, cv, f->time);
  struct vd_frame out = *f;
  for (int p = 0; p < 3; p++) {
    out.data[p] = cv->p[p];
    out.linesize[p] = cv->ls[p];
  }
  out.data[3] = NULL;
  out.linesize[3] = 0;
  a->frames++;
  if (a->jpeg)
    return vd_jpeg_write(a->jpeg, &out, 3, a->err);
  return vd_encoder_video(a->enc, &out, f->time, a->err);
}

static int on_progress(void *opaque, double fraction) {
  struct writer *a = opaque;
  vd_actx_progress(a->c, 0.95 * fraction, a->o->stage);
  return vd_actx_canceled(a->c);
}

/* ---- audio: copy the input's packets next to the encoded video ------------------------ */

static int av_fail(struct vd_err *err, const char *who, int rc, const char *what) {
  char buf[128];
  av_strerror(rc, buf, sizeof(buf));
  return vd_err_set(err, VD_ERR_ENCODE, "%s: annotated video: %s: %s", who, what, buf);
}

/*
 * Writes `out` (MP4) from the only stream of `video` and the best audio
 * stream of `input`, both copied. *audio says what happened: 1 copied, 0 the
 * input has none, -1 MP4 cannot hold its codec (video only).
 */
static int mux_audio(const char *who, const char *video, const char *input, const char *out,
                     int *audio, struct vd_err *err) {
  AVFormatContext *iv = NULL, *ia = NULL, *oc = NULL;
  AVPacket *pv = av_packet_alloc(), *pa = av_packet_alloc();
  int rc, ai = -1, have_v = 0, have_a = 0;
  *audio = 0;
  if ((rc = avformat_open_input(&iv, video, NULL, NULL)) < 0 ||
      (rc = avformat_find_stream_info(iv, NULL)) < 0) {
    rc = av_fail(err, who, rc, "reading the encoded video back");
    goto out;
  }
  if (avformat_open_input(&ia, input, NULL, NULL) == 0 && avformat_find_stream_info(ia, NULL) >= 0)
    ai = av_find_best_stream(ia, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
  if ((rc = avformat_alloc_output_context2(&oc, NULL, "mp4", out)) < 0) {
    rc = av_fail(err, who, rc, "creating the output");
    goto out;
  }
  if (ai >= 0 && avformat_query_codec(oc->oformat, ia->streams[ai]->codecpar->codec_id,
                                      FF_COMPLIANCE_NORMAL) != 1) {
    *audio = -1;
    ai = -1;
  }
  AVStream *ov = avformat_new_stream(oc, NULL), *oa = NULL;
  if (!ov || (rc = avcodec_parameters_copy(ov->codecpar, iv->streams[0]->codecpar)) < 0) {
    rc = av_fail(err, who, ov ? rc : AVERROR(ENOMEM), "adding the video stream");
    goto out;
  }
  ov->codecpar->codec_tag = 0;
  ov->time_base = iv->streams[0]->time_base;
  if (ai >= 0) {
    oa = avformat_new_stream(oc, NULL);
    if (!oa || (rc = avcodec_parameters_copy(oa->codecpar, ia->streams[ai]->codecpar)) < 0) {
      rc = av_fail(err, who, oa ? rc : AVERROR(ENOMEM), "adding the audio stream");
      goto out;
    }
    oa->codecpar->codec_tag = 0;
    oa->time_base = ia->streams[ai]->time_base;
    *audio = 1;
  }
  if ((rc = avio_open(&oc->pb, out, AVIO_FLAG_WRITE)) < 0 ||
      (rc = avformat_write_header(oc, NULL)) < 0) {
    rc = av_fail(err, who, rc, "writing the header");
    goto out;
  }
  /* Audio times, like the pipeline's frame times, count from the container
   * start; the encoded video was written with those same times. */
  AVRational atb = ai >= 0 ? ia->streams[ai]->time_base : (AVRational){1, 1};
  int64_t a0 = ai >= 0 && ia->start_time != AV_NOPTS_VALUE
                   ? av_rescale_q(ia->start_time, AV_TIME_BASE_Q, atb)
                   : 0;
  for (;;) {
    while (!have_v && av_read_frame(iv, pv) >= 0) {
      if (pv->stream_index == 0)
        have_v = 1;
      else
        av_packet_unref(pv);
    }
    while (ai >= 0 && !have_a && av_read_frame(ia, pa) >= 0) {
      if (pa->stream_index == ai && pa->pts != AV_NOPTS_VALUE && pa->pts - a0 >= 0) {
        pa->pts -= a0;
        if (pa->dts != AV_NOPTS_VALUE)
          pa->dts -= a0;
        have_a = 1;
      } else {
        av_packet_unref(pa);
      }
    }
    if (!have_v && !have_a)
      break;
    int take_v = have_v && (!have_a || av_compare_ts(pv->dts != AV_NOPTS_VALUE ? pv->dts : pv->pts,
                                                     iv->streams[0]->time_base, pa->pts, atb) <= 0);
    AVPacket *p = take_v ? pv : pa;
    av_packet_rescale_ts(p, take_v ? iv->streams[0]->time_base : atb,
                         take_v ? ov->time_base : oa->time_base);
    p->stream_index = take_v ? 0 : 1;
    p->pos = -1;
    if ((rc = av_interleaved_write_frame(oc, p)) < 0) {
      rc = av_fail(err, who, rc, "writing a packet");
      goto out;
    }
    if (take_v)
      have_v = 0;
    else
      have_a = 0;
  }
  if ((rc = av_write_trailer(oc)) < 0)
    rc = av_fail(err, who, rc, "writing the trailer");
out:
  av_packet_free(&pv);
  av_packet_free(&pa);
  if (oc && oc->pb)
    avio_closep(&oc->pb);
  avformat_free_context(oc);
  avformat_close_input(&iv);
  avformat_close_input(&ia);
  return rc < 0 ? rc : 0;
}

/* ---- entry --------------------------------------------------------------------------- */

/* Opens the input again and sizes the output: upright, square pixels, even
 * sides, at most ANNOT_MAX_SIDE. */
static int open_input(struct vd_actx *c, const struct vd_annot_opts *o, enum vd_pix fmt,
                      struct vd_media **m, struct vd_video_want *vw, struct vd_err *err) {
  int ret = vd_media_open(m, vd_actx_input_path(c), vd_actx_limits(c), err);
  if (ret < 0)
    return ret;
  const struct vd_media_info *in = vd_media_info(*m);
  if (in->video < 0)
    return vd_err_set(err, VD_ERR_NO_STREAM, "%s: annotated output: the input has no video",
                      o->what);
  *vw = (struct vd_video_want){.fmt = fmt, .max_side = ANNOT_MAX_SIDE};
  int ow, oh;
  vd_video_want_size(vw, in->display_width, in->display_height, &ow, &oh);
  vw->max_side = 0;
  vw->width = ow > 2 ? ow & ~1 : 2;
  vw->height = oh > 2 ? oh & ~1 : 2;
  return 0;
}

int vd_annot_video(struct vd_actx *c, const char *path, const struct vd_annot_opts *o,
                   json_t **info, struct vd_err *err) {
  struct writer a = {.c = c, .o = o, .err = err};
  struct vd_media *m = NULL;
  struct vd_video_want vw;
  char *tmp = vd_xasprintf("%s.video.mp4", path);
  int ret, audio = 0;
  *info = NULL;
  if ((ret = open_input(c, o, VD_PIX_YUV420P, &m, &vw, err)) < 0)
    goto out;
  const struct vd_media_info *in = vd_media_info(m);
  const struct vd_stream_info *vs = &in->streams[in->video];
  /* x264's superfast preset at most 720p: this is a preview to watch the
   * analysis by. Encoding 1080p at veryfast took 1.6x the clip's length on
   * 2 busy cores; 720p at superfast about 0.7x. */
  struct vd_encoder_opts eo = {.width = vw.width, .height = vw.height, .preset = "superfast"};
  eo.fps = vs->avg_fps > 0 && vs->avg_fps <= 1000 ? vs->avg_fps
           : vs->r_fps > 0 && vs->r_fps <= 1000   ? vs->r_fps
                                                  : 25;
  canvas_alloc(&a.cv, vw.width, vw.height);
  if ((ret = vd_encoder_new(&a.enc, tmp, &eo, err)) < 0)
    goto out;
  if ((ret = vd_media_want_video(m, &vw, on_frame, &a)) < 0 ||
      (ret = vd_media_run(m, on_progress, &a, err)) < 0 || (ret = vd_encoder_finish(a.enc, err)) < 0)
    goto out;
  vd_encoder_free(a.enc);
  a.enc = NULL;
  if ((ret = mux_audio(o->what, tmp, vd_actx_input_path(c), path, &audio, err)) < 0)
    goto out;
  if (audio < 0)
    vd_actx_warn(c, "the annotated video has no audio: MP4 cannot hold the input's audio codec");
  *info = json_pack("{s:s,s:I,s:s}", "file", o->file, "frames", (json_int_t)a.frames, "audio",
                    audio > 0 ? "copied" : audio < 0 ? "dropped" : "none");
out:
  vd_encoder_free(a.enc);
  vd_media_free(m);
  unlink(tmp);
  if (ret < 0)
    unlink(path);
  free(tmp);
  free(a.cv.p[0]);
  return ret;
}

int vd_annot_image(struct vd_actx *c, const char *path, const struct vd_annot_opts *o,
                   json_t **info, struct vd_err *err) {
  struct writer a = {.c = c, .o = o, .err = err, .jpeg = path};
  struct vd_media *m = NULL;
  struct vd_video_want vw;
  int ret;
  *info = NULL;
  if ((ret = open_input(c, o, VD_PIX_YUVJ420P, &m, &vw, err)) < 0)
    goto out;
  canvas_alloc(&a.cv, vw.width, vw.height);
  if ((ret = vd_media_want_video(m, &vw, on_frame, &a)) < 0 ||
      (ret = vd_media_run(m, on_progress, &a, err)) < 0)
    goto out;
  if (a.frames == 0) {
    ret = vd_err_set(err, VD_ERR_NO_STREAM, "%s: annotated image: the input has no picture",
                     o->what);
    goto out;
  }
  *info = json_pack("{s:s,s:I}", "file", o->file, "frames", (json_int_t)a.frames);
out:
  vd_media_free(m);
  if (ret < 0)
    unlink(path);
  free(a.cv.p[0]);
  return ret;
}
