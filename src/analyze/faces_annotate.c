/*
 * faces_annotate.c: the annotated video the `faces` analysis writes
 * (artifact faces.mp4): every frame of the input with each face circled by
 * an ellipse around its box and labelled with its track id and emotion,
 * H.264 (libx264 through src/media/encode.c), the audio stream copied
 * unchanged.
 *
 * DESIGN
 * - Part of `faces` (param annotate, on whenever the run has an output
 *   folder) rather than a separate analysis, so that `--analyses faces` (or
 *   faces,emotions,people) with an output folder yields the video the issue
 *   asks of faces, without the caller knowing about another name.
 * - This is a second decode pass, the exception the architecture allows for
 *   writing an output video: detection saw only sampled, downscaled frames;
 *   the output needs every frame at full size. Between two samples of a
 *   track the box is interpolated linearly, so circles glide rather than
 *   jump five times a second; a box is drawn from its sample until the next
 *   one (or one sampling interval past the last).
 * - The label's emotion is the track's smoothed dominant emotion from the
 *   emotions post-pass (vd_emotions_build over this very result), not the
 *   raw per-frame top class, which flickers.
 * - Drawing is done on a private copy of each frame (the pipeline's view
 *   may be the decoder's own reference picture), in YUV420P: an ellipse
 *   ring in a per-track colour and text from a built-in 5x7 bitmap font on a
 *   dark plate, scaled with the picture height.
 * - Audio: the video is encoded to a temporary file, then muxed with the
 *   input's audio packets copied as they are (no re-encode), interleaved by
 *   time. If MP4 cannot hold the input's audio codec, the video goes out
 *   without audio and a warning says so.
 * - Memory: one frame canvas plus the encoder's lookahead; the boxes are
 *   already in the faces result.
 */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "analyze/faces_detect.h"
#include "analyze/faces_post.h"
#include "core/util.h"
#include "media/encode.h"

#define ANNOT_MAX_SIDE 1280 /* longer side of the annotated video, pixels */

/* ---- 5x7 font ------------------------------------------------------------------- */

/* Rows top to bottom, bit 4 = leftmost column. A-Z, then 0-9, '#', '-'. */
static const uint8_t font5x7[38][7] = {
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
};

/* Glyph of a character; NULL for a space or anything unknown (drawn blank). */
static const uint8_t *glyph(char ch) {
  if (ch >= 'a' && ch <= 'z')
    ch = (char)(ch - 'a' + 'A');
  if (ch >= 'A' && ch <= 'Z')
    return font5x7[ch - 'A'];
  if (ch >= '0' && ch <= '9')
    return font5x7[26 + ch - '0'];
  return ch == '#' ? font5x7[36] : ch == '-' ? font5x7[37] : NULL;
}

/* ---- drawing on a YUV420P canvas ---------------------------------------------------- */

struct canvas {
  uint8_t *p[3];
  int ls[3];
  int w, h;
};

struct yuv {
  uint8_t y, u, v;
};

/* Track colours (BT.601 limited range): yellow, cyan, green, magenta, orange, white. */
static const struct yuv palette[] = {{210, 16, 146}, {170, 166, 16}, {145, 54, 34},
                                     {107, 202, 222}, {164, 44, 178}, {235, 128, 128}};

static void put(struct canvas *cv, int x, int y, struct yuv c) {
  if (x < 0 || y < 0 || x >= cv->w || y >= cv->h)
    return;
  cv->p[0][(size_t)y * (size_t)cv->ls[0] + (size_t)x] = c.y;
  cv->p[1][(size_t)(y / 2) * (size_t)cv->ls[1] + (size_t)(x / 2)] = c.u;
  cv->p[2][(size_t)(y / 2) * (size_t)cv->ls[2] + (size_t)(x / 2)] = c.v;
}

/* A ring of thickness `th` pixels just inside the ellipse centred at cx,cy
 * with semi-axes a, b. */
static void ellipse(struct canvas *cv, double cx, double cy, double a, double b, double th,
                    struct yuv c) {
  if (a < 2 || b < 2)
    return;
  double ai = a - th > 1 ? a - th : 1, bi = b - th > 1 ? b - th : 1;
  int y0 = (int)floor(cy - b), y1 = (int)ceil(cy + b), x0 = (int)floor(cx - a), x1 = (int)ceil(cx + a);
  y0 = y0 < 0 ? 0 : y0;
  x0 = x0 < 0 ? 0 : x0;
  y1 = y1 >= cv->h ? cv->h - 1 : y1;
  x1 = x1 >= cv->w ? cv->w - 1 : x1;
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++) {
      double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      double out = dx * dx / (a * a) + dy * dy / (b * b);
      double in = dx * dx / (ai * ai) + dy * dy / (bi * bi);
      if (out <= 1 && in >= 1)
        put(cv, x, y, c);
    }
}

/* Text at x,y (top left) with glyphs scaled by `s`, on a dark plate. */
static void text(struct canvas *cv, int x, int y, int s, const char *str, struct yuv c) {
  int n = (int)strlen(str);
  struct yuv plate = {16, 128, 128};
  for (int py = y - s; py < y + 8 * s; py++)
    for (int px = x - s; px < x + 6 * s * n + s; px++)
      put(cv, px, py, plate);
  for (int i = 0; i < n; i++) {
    const uint8_t *g = glyph(str[i]);
    for (int r = 0; g && r < 7; r++)
      for (int col = 0; col < 5; col++)
        if (g[r] & (0x10 >> col))
          for (int dy = 0; dy < s; dy++)
            for (int dx = 0; dx < s; dx++)
              put(cv, x + 6 * s * i + col * s + dx, y + r * s + dy, c);
  }
}

/* ---- boxes over time ---------------------------------------------------------------- */

struct sample {
  double t;
  float x, y, w, h;
  int emo; /* smoothed dominant emotion, -1 = unknown */
};

struct atrack {
  int id;
  struct sample *s;
  size_t n, cur; /* cur: last sample at or before the current frame */
};

struct annot {
  struct vd_actx *c;
  struct atrack *t;
  size_t nt;
  double step; /* sampling interval, seconds */
  struct canvas cv;
  struct vd_encoder *enc;
  struct vd_err *err;
  int64_t frames;
};

static int label_index(const char *s) {
  for (int k = 0; s && k < VD_EMOTIONS; k++)
    if (!strcmp(s, vd_emotion_labels[k]))
      return k;
  return -1;
}

/* Tracks and their samples from the faces result; emotion labels from the
 * emotions post-pass over it (when the boxes carry probabilities). */
static void load_tracks(struct annot *a, json_t *faces, double duration) {
  json_t *tracks = json_object_get(faces, "tracks"), *emo = NULL;
  struct vd_emotions_opts eo = {.duration = duration, .bucket = 1, .window = 1};
  struct vd_err e = {0};
  if (vd_emotions_build(faces, &eo, &emo, &e) < 0)
    emo = NULL; /* faces ran without emotions: label by track only */
  a->nt = json_array_size(tracks);
  a->t = vd_xcalloc(a->nt + 1, sizeof(*a->t));
  for (size_t i = 0; i < a->nt; i++) {
    json_t *tj = json_array_get(tracks, i), *boxes = json_object_get(tj, "boxes");
    json_t *series = json_object_get(json_object_get(json_array_get(json_object_get(emo, "tracks"), i),
                                                     "series"),
                                     "dominant");
    struct atrack *t = &a->t[i];
    t->id = (int)json_integer_value(json_object_get(tj, "id"));
    t->n = json_array_size(boxes);
    t->s = vd_xcalloc(t->n + 1, sizeof(*t->s));
    for (size_t k = 0; k < t->n; k++) {
      json_t *b = json_array_get(boxes, k);
      t->s[k] = (struct sample){.t = json_number_value(json_object_get(b, "time")),
                                .x = (float)json_number_value(json_object_get(b, "x")),
                                .y = (float)json_number_value(json_object_get(b, "y")),
                                .w = (float)json_number_value(json_object_get(b, "w")),
                                .h = (float)json_number_value(json_object_get(b, "h")),
                                .emo = label_index(json_string_value(json_array_get(series, k)))};
    }
  }
  json_decref(emo);
}

/* Box of track `t` at time `tm` (interpolated), or 0 when it is not on screen. */
static int box_at(struct atrack *t, double tm, double step, struct sample *out) {
  if (!t->n || tm < t->s[0].t - step / 2)
    return 0;
  while (t->cur + 1 < t->n && t->s[t->cur + 1].t <= tm)
    t->cur++;
  const struct sample *p = &t->s[t->cur];
  if (tm < p->t) { /* just before the first sample: show it */
    *out = *p;
    return 1;
  }
  if (t->cur + 1 < t->n && t->s[t->cur + 1].t - p->t <= 1.5 * step) {
    const struct sample *q = &t->s[t->cur + 1];
    float f = (float)((tm - p->t) / (q->t - p->t));
    *out = (struct sample){tm, p->x + f * (q->x - p->x), p->y + f * (q->y - p->y),
                           p->w + f * (q->w - p->w), p->h + f * (q->h - p->h), p->emo};
    return 1;
  }
  if (tm - p->t < step) {
    *out = *p;
    return 1;
  }
  return 0;
}

static void draw_faces(struct annot *a, double tm) {
  struct canvas *cv = &a->cv;
  int s = cv->h / 240 > 1 ? cv->h / 240 : 1;
  double th = cv->h / 180.0 > 2 ? cv->h / 180.0 : 2;
  for (size_t i = 0; i < a->nt; i++) {
    struct sample b;
    if (!box_at(&a->t[i], tm, a->step, &b))
      continue;
    struct yuv col = palette[(size_t)a->t[i].id % (sizeof(palette) / sizeof(palette[0]))];
    double cx = (b.x + b.w / 2) * cv->w, cy = (b.y + b.h / 2) * cv->h;
    /* Semi-axes 0.65 of the box: the ellipse passes outside the box's
     * edges' midpoints, circling the face rather than cutting through it. */
    double ea = 0.65 * b.w * cv->w, eb = 0.65 * b.h * cv->h;
    ellipse(cv, cx, cy, ea, eb, th, col);
    char label[48];
    snprintf(label, sizeof(label), "#%d %s", a->t[i].id, b.emo >= 0 ? vd_emotion_labels[b.emo] : "");
    int tw = 6 * s * (int)strlen(label), tx = (int)(cx - tw / 2.0);
    int ty = (int)(cy - eb) - 9 * s;
    if (ty < s) /* no room above: below the ellipse */
      ty = (int)(cy + eb) + 2 * s;
    tx = tx < s ? s : tx + tw + s > cv->w ? cv->w - tw - s : tx;
    text(cv, tx, ty, s, label, col);
  }
}

static int on_frame(void *opaque, const struct vd_frame *f) {
  struct annot *a = opaque;
  struct canvas *cv = &a->cv;
  for (int p = 0; p < 3; p++) {
    int rows = p ? (cv->h + 1) / 2 : cv->h, cols = p ? (cv->w + 1) / 2 : cv->w;
    for (int y = 0; y < rows; y++)
      memcpy(cv->p[p] + (size_t)y * (size_t)cv->ls[p], f->data[p] + (size_t)y * (size_t)f->linesize[p],
             (size_t)cols);
  }
  draw_faces(a, f->time);
  struct vd_frame out = *f;
  for (int p = 0; p < 3; p++) {
    out.data[p] = cv->p[p];
    out.linesize[p] = cv->ls[p];
  }
  out.data[3] = NULL;
  out.linesize[3] = 0;
  a->frames++;
  return vd_encoder_video(a->enc, &out, f->time, a->err);
}

static int on_progress(void *opaque, double fraction) {
  struct annot *a = opaque;
  vd_actx_progress(a->c, 0.95 * fraction, "writing the annotated video");
  return vd_actx_canceled(a->c);
}

/* ---- audio: copy the input's packets next to the encoded video ------------------------ */

static int av_fail(struct vd_err *err, int rc, const char *what) {
  char buf[128];
  av_strerror(rc, buf, sizeof(buf));
  return vd_err_set(err, VD_ERR_ENCODE, "faces: annotated video: %s: %s", what, buf);
}

/*
 * Writes `out` (MP4) from the only stream of `video` and the best audio
 * stream of `input`, both copied. *audio says what happened: 1 copied, 0 the
 * input has none, -1 MP4 cannot hold its codec (video only).
 */
static int mux_audio(const char *video, const char *input, const char *out, int *audio,
                     struct vd_err *err) {
  AVFormatContext *iv = NULL, *ia = NULL, *oc = NULL;
  AVPacket *pv = av_packet_alloc(), *pa = av_packet_alloc();
  int rc, ai = -1, have_v = 0, have_a = 0;
  *audio = 0;
  if ((rc = avformat_open_input(&iv, video, NULL, NULL)) < 0 ||
      (rc = avformat_find_stream_info(iv, NULL)) < 0) {
    rc = av_fail(err, rc, "reading the encoded video back");
    goto out;
  }
  if (avformat_open_input(&ia, input, NULL, NULL) == 0 && avformat_find_stream_info(ia, NULL) >= 0)
    ai = av_find_best_stream(ia, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
  if ((rc = avformat_alloc_output_context2(&oc, NULL, "mp4", out)) < 0) {
    rc = av_fail(err, rc, "creating the output");
    goto out;
  }
  if (ai >= 0 && avformat_query_codec(oc->oformat, ia->streams[ai]->codecpar->codec_id,
                                      FF_COMPLIANCE_NORMAL) != 1) {
    *audio = -1;
    ai = -1;
  }
  AVStream *ov = avformat_new_stream(oc, NULL), *oa = NULL;
  if (!ov || (rc = avcodec_parameters_copy(ov->codecpar, iv->streams[0]->codecpar)) < 0) {
    rc = av_fail(err, ov ? rc : AVERROR(ENOMEM), "adding the video stream");
    goto out;
  }
  ov->codecpar->codec_tag = 0;
  ov->time_base = iv->streams[0]->time_base;
  if (ai >= 0) {
    oa = avformat_new_stream(oc, NULL);
    if (!oa || (rc = avcodec_parameters_copy(oa->codecpar, ia->streams[ai]->codecpar)) < 0) {
      rc = av_fail(err, oa ? rc : AVERROR(ENOMEM), "adding the audio stream");
      goto out;
    }
    oa->codecpar->codec_tag = 0;
    oa->time_base = ia->streams[ai]->time_base;
    *audio = 1;
  }
  if ((rc = avio_open(&oc->pb, out, AVIO_FLAG_WRITE)) < 0 ||
      (rc = avformat_write_header(oc, NULL)) < 0) {
    rc = av_fail(err, rc, "writing the header");
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
      rc = av_fail(err, rc, "writing a packet");
      goto out;
    }
    if (take_v)
      have_v = 0;
    else
      have_a = 0;
  }
  if ((rc = av_write_trailer(oc)) < 0)
    rc = av_fail(err, rc, "writing the trailer");
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

int vd_faces_annotate(struct vd_actx *c, json_t *faces, const char *path, json_t **info,
                      struct vd_err *err) {
  struct annot a = {.c = c, .err = err};
  struct vd_media *m = NULL;
  char *tmp = vd_xasprintf("%s.video.mp4", path);
  int ret, audio = 0;
  *info = NULL;
  if ((ret = vd_media_open(&m, vd_actx_input_path(c), vd_actx_limits(c), err)) < 0)
    goto out;
  const struct vd_media_info *in = vd_media_info(m);
  if (in->video < 0) {
    ret = vd_err_set(err, VD_ERR_NO_STREAM, "faces: annotated video: the input has no video");
    goto out;
  }
  const struct vd_stream_info *vs = &in->streams[in->video];
  double fps = json_number_value(json_object_get(faces, "fps"));
  a.step = fps > 0 ? 1.0 / fps : 0.2;
  load_tracks(&a, faces, in->duration);
  /* Upright, square pixels, even sides: what H.264 in yuv420p holds; at
   * most 720p, and x264's superfast preset: this is a preview to watch the
   * analysis by. Encoding 1080p at veryfast took 1.6x the clip's length on
   * 2 busy cores; 720p at superfast about 0.7x. */
  struct vd_video_want vw = {.fmt = VD_PIX_YUV420P, .max_side = ANNOT_MAX_SIDE};
  int ow, oh;
  vd_video_want_size(&vw, in->display_width, in->display_height, &ow, &oh);
  vw.max_side = 0;
  vw.width = ow > 2 ? ow & ~1 : 2;
  vw.height = oh > 2 ? oh & ~1 : 2;
  struct vd_encoder_opts eo = {.width = vw.width, .height = vw.height, .preset = "superfast"};
  eo.fps = vs->avg_fps > 0 && vs->avg_fps <= 1000 ? vs->avg_fps
           : vs->r_fps > 0 && vs->r_fps <= 1000   ? vs->r_fps
                                                  : 25;
  a.cv.w = vw.width;
  a.cv.h = vw.height;
  a.cv.ls[0] = vw.width;
  a.cv.ls[1] = a.cv.ls[2] = vw.width / 2;
  a.cv.p[0] = vd_xmalloc((size_t)vw.width * (size_t)vw.height * 3 / 2);
  a.cv.p[1] = a.cv.p[0] + (size_t)vw.width * (size_t)vw.height;
  a.cv.p[2] = a.cv.p[1] + (size_t)(vw.width / 2) * (size_t)(vw.height / 2);
  if ((ret = vd_encoder_new(&a.enc, tmp, &eo, err)) < 0)
    goto out;
  if ((ret = vd_media_want_video(m, &vw, on_frame, &a)) < 0 ||
      (ret = vd_media_run(m, on_progress, &a, err)) < 0 || (ret = vd_encoder_finish(a.enc, err)) < 0)
    goto out;
  vd_encoder_free(a.enc);
  a.enc = NULL;
  if ((ret = mux_audio(tmp, vd_actx_input_path(c), path, &audio, err)) < 0)
    goto out;
  if (audio < 0)
    vd_actx_warn(c, "the annotated video has no audio: MP4 cannot hold the input's audio codec");
  *info = json_pack("{s:s,s:I,s:s}", "file", "faces.mp4", "frames", (json_int_t)a.frames, "audio",
                    audio > 0 ? "copied" : audio < 0 ? "dropped" : "none");
out:
  vd_encoder_free(a.enc);
  vd_media_free(m);
  unlink(tmp);
  if (ret < 0)
    unlink(path);
  free(tmp);
  for (size_t i = 0; i < a.nt; i++)
    free(a.t[i].s);
  free(a.t);
  free(a.cv.p[0]);
  return ret;
}
