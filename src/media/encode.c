/*
 * encode.c: H.264 + AAC file writer; see encode.h.
 *
 * Each send to an encoder is followed by draining every packet it has ready,
 * so no more than the encoder's own lookahead is ever held. Audio goes
 * through a FIFO because AAC takes fixed 1024-sample frames while the
 * pipeline hands out chunks of whatever size the decoder produced.
 */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "media/encode.h"

#define VD_ENC_MAX_CHANNELS 8
#define VD_ENC_CHUNK 1024 /* samples per channel deinterleaved at a time */

struct vd_encoder {
  AVFormatContext *fmt;
  AVCodecContext *venc, *aenc;
  AVStream *vst, *ast;
  AVFrame *vframe, *aframe;
  AVPacket *pkt;
  AVAudioFifo *fifo;
  float *planes[VD_ENC_MAX_CHANNELS]; /* deinterleave scratch, VD_ENC_CHUNK each */
  int channels;
  int64_t next_vpts;  /* lowest pts the next video frame may take */
  int64_t apts;       /* pts of the next audio frame, in samples */
  int audio_started;
  int64_t frames;
  int header_written;
};

static int av_fail(struct vd_err *err, int code, int averr, const char *what) {
  char e[AV_ERROR_MAX_STRING_SIZE];
  av_strerror(averr, e, sizeof(e));
  return vd_err_set(err, code, "%s: %s", what, e);
}

/* Sends `frame` (NULL = flush) to `enc` and writes every packet it yields. */
static int encode(struct vd_encoder *e, AVCodecContext *enc, AVStream *st, AVFrame *frame,
                  struct vd_err *err) {
  int r = avcodec_send_frame(enc, frame);
  if (r < 0)
    return av_fail(err, VD_ERR_ENCODE, r, "encoder refused a frame");
  for (;;) {
    r = avcodec_receive_packet(enc, e->pkt);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
      return 0;
    if (r < 0)
      return av_fail(err, VD_ERR_ENCODE, r, "encoding failed");
    if (e->pkt->duration <= 0 && enc == e->venc)
      e->pkt->duration = 1; /* one tick of 1/fps: lets the muxer close the last frame */
    av_packet_rescale_ts(e->pkt, enc->time_base, st->time_base);
    e->pkt->stream_index = st->index;
    r = av_interleaved_write_frame(e->fmt, e->pkt); /* takes the packet */
    if (r < 0)
      return av_fail(err, VD_ERR_ENCODE, r, "writing a packet failed");
  }
}

static int open_video(struct vd_encoder *e, const struct vd_encoder_opts *o, struct vd_err *err) {
  const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
  if (!codec)
    return vd_err_set(err, VD_ERR_UNSUPPORTED, "this FFmpeg has no libx264 encoder");
  AVCodecContext *c = e->venc = avcodec_alloc_context3(codec);
  if (!c)
    return vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
  AVRational fps = av_d2q(o->fps, 1001000);
  c->width = o->width;
  c->height = o->height;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->color_range = AVCOL_RANGE_MPEG;
  c->time_base = av_inv_q(fps);
  c->framerate = fps;
  c->sample_aspect_ratio = (AVRational){1, 1};
  c->thread_count = 0;
  /* libavcodec's default GOP is 12 frames; 2 s keeps clips seekable and small. */
  c->gop_size = o->gop > 0 ? o->gop : (int)lround(o->fps * 2);
  if (e->fmt->oformat->flags & AVFMT_GLOBALHEADER)
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  av_opt_set(c->priv_data, "preset", o->preset ? o->preset : "veryfast", 0);
  av_opt_set_double(c->priv_data, "crf", o->crf > 0 ? o->crf : 20, 0);
  int r = avcodec_open2(c, codec, NULL);
  if (r < 0)
    return av_fail(err, VD_ERR_ENCODE, r, "cannot open the H.264 encoder");
  e->vst = avformat_new_stream(e->fmt, NULL);
  e->vframe = av_frame_alloc();
  if (!e->vst || !e->vframe)
    return vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
  e->vst->time_base = c->time_base;
  e->vst->avg_frame_rate = fps;
  if (avcodec_parameters_from_context(e->vst->codecpar, c) < 0)
    return vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
  e->vframe->format = c->pix_fmt;
  e->vframe->width = c->width;
  e->vframe->height = c->height;
  if (av_frame_get_buffer(e->vframe, 0) < 0)
    return vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
  return 0;
}

static int open_audio(struct vd_encoder *e, const struct vd_encoder_opts *o, struct vd_err *err) {
  const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
  if (!codec)
    return vd_err_set(err, VD_ERR_UNSUPPORTED, "this FFmpeg has no AAC encoder");
  AVCodecContext *c = e->aenc = avcodec_alloc_context3(codec);
  if (!c)
    return vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
  c->sample_fmt = AV_SAMPLE_FMT_FLTP;
  c->sample_rate = o->sample_rate;
  av_channel_layout_default(&c->ch_layout, o->channels);
  c->bit_rate = 64000LL * (o->channels < 5 ? o->channels : 5);
  c->time_base = (AVRational){1, o->sample_rate};
  if (e->fmt->oformat->flags & AVFMT_GLOBALHEADER)
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  int r = avcodec_open2(c, codec, NULL);
  if (r < 0)
    return av_fail(err, VD_ERR_ENCODE, r, "cannot open the AAC encoder");
  e->ast = avformat_new_stream(e->fmt, NULL);
  e->aframe = av_frame_alloc();
  e->fifo = av_audio_fifo_alloc(c->sample_fmt, o->channels, c->frame_size * 2);
  if (!e->ast || !e->aframe || !e->fifo)
    return vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
  e->ast->time_base = c->time_base;
  if (avcodec_parameters_from_context(e->ast->codecpar, c) < 0)
    return vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
  e->aframe->format = c->sample_fmt;
  e->aframe->nb_samples = c->frame_size;
  e->aframe->sample_rate = c->sample_rate;
  if (av_channel_layout_copy(&e->aframe->ch_layout, &c->ch_layout) < 0 ||
      av_frame_get_buffer(e->aframe, 0) < 0)
    return vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
  for (int i = 0; i < o->channels; i++)
    e->planes[i] = vd_xmalloc(VD_ENC_CHUNK * sizeof(float));
  e->channels = o->channels;
  return 0;
}

int vd_encoder_new(struct vd_encoder **out, const char *path, const struct vd_encoder_opts *o,
                   struct vd_err *err) {
  struct vd_encoder *e = vd_xcalloc(1, sizeof(*e));
  AVDictionary *mopts = NULL;
  int ret = 0;
  *out = NULL;
  if (o->width <= 0 || o->height <= 0 || (o->width & 1) || (o->height & 1) || o->width > 16384 ||
      o->height > 16384 || !(o->fps > 0 && o->fps <= 1000) ||
      (o->sample_rate && (o->sample_rate < 0 || o->sample_rate > 384000 || o->channels < 1 ||
                          o->channels > VD_ENC_MAX_CHANNELS))) {
    ret = vd_err_set(err, VD_ERR_INVALID, "bad encoder settings %dx%d at %.3f fps", o->width,
                     o->height, o->fps);
    goto out;
  }
  if (avformat_alloc_output_context2(&e->fmt, NULL, NULL, path) < 0 || !e->fmt) {
    ret = vd_err_set(err, VD_ERR_INVALID, "no container for the file name %s", path);
    goto out;
  }
  e->pkt = av_packet_alloc();
  if (!e->pkt) {
    ret = vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
    goto out;
  }
  if ((ret = open_video(e, o, err)) < 0)
    goto out;
  if (o->sample_rate && (ret = open_audio(e, o, err)) < 0)
    goto out;
  if ((ret = avio_open(&e->fmt->pb, path, AVIO_FLAG_WRITE)) < 0) {
    ret = av_fail(err, VD_ERR_ENCODE, ret, path);
    goto out;
  }
  /* Clips are small and get played in a browser: put the index first. */
  if (strstr(e->fmt->oformat->name, "mp4"))
    av_dict_set(&mopts, "movflags", "+faststart", 0);
  if ((ret = avformat_write_header(e->fmt, &mopts)) < 0) {
    ret = av_fail(err, VD_ERR_ENCODE, ret, "cannot write the header");
    goto out;
  }
  e->header_written = 1;
  *out = e;
  e = NULL;
out:
  av_dict_free(&mopts);
  vd_encoder_free(e);
  return ret;
}

int vd_encoder_video(struct vd_encoder *e, const struct vd_frame *f, double t, struct vd_err *err) {
  AVFrame *fr = e->vframe;
  if (f->fmt != VD_PIX_YUV420P || f->width != fr->width || f->height != fr->height)
    return vd_err_set(err, VD_ERR_INVALID, "frame %dx%d %s does not match the encoder's %dx%d",
                      f->width, f->height, vd_pix_name(f->fmt), fr->width, fr->height);
  /* The encoder may still hold the previous buffer (lookahead). */
  if (av_frame_make_writable(fr) < 0)
    return vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
  av_image_copy(fr->data, fr->linesize, (const uint8_t **)f->data, f->linesize, AV_PIX_FMT_YUV420P,
                f->width, f->height);
  int64_t pts = llround(t / av_q2d(e->venc->time_base));
  if (pts < e->next_vpts)
    pts = e->next_vpts;
  fr->pts = pts;
  e->next_vpts = pts + 1;
  e->frames++;
  return encode(e, e->venc, e->vst, fr, err);
}

/* Encodes every full AAC frame in the FIFO, and the partial rest on flush. */
static int drain_audio(struct vd_encoder *e, int flush, struct vd_err *err) {
  AVCodecContext *c = e->aenc;
  for (;;) {
    int have = av_audio_fifo_size(e->fifo);
    if (have == 0 || (have < c->frame_size && !flush))
      return 0;
    int n = have < c->frame_size ? have : c->frame_size;
    if (av_frame_make_writable(e->aframe) < 0)
      return vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
    if (av_audio_fifo_read(e->fifo, (void **)e->aframe->data, n) != n)
      return vd_err_set(err, VD_ERR_INTERNAL, "audio FIFO underrun");
    /* Without small-last-frame support the tail is padded with silence. */
    int small = (c->codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME) != 0;
    if (n < c->frame_size && !small)
      av_samples_set_silence(e->aframe->data, n, c->frame_size - n, e->channels, c->sample_fmt);
    e->aframe->nb_samples = small ? n : c->frame_size;
    e->aframe->pts = e->apts;
    e->apts += e->aframe->nb_samples;
    int ret = encode(e, c, e->ast, e->aframe, err);
    e->aframe->nb_samples = c->frame_size;
    if (ret < 0)
      return ret;
  }
}

int vd_encoder_audio(struct vd_encoder *e, const float *samples, int nb_samples, double t,
                     struct vd_err *err) {
  if (!e->aenc || nb_samples <= 0)
    return 0;
  if (!e->audio_started) {
    e->apts = llround((t > 0 ? t : 0) * e->aenc->sample_rate);
    e->audio_started = 1;
  }
  for (int done = 0; done < nb_samples;) {
    int n = nb_samples - done < VD_ENC_CHUNK ? nb_samples - done : VD_ENC_CHUNK;
    const float *src = samples + (size_t)done * (size_t)e->channels;
    for (int i = 0; i < n; i++)
      for (int ch = 0; ch < e->channels; ch++)
        e->planes[ch][i] = src[(size_t)i * (size_t)e->channels + (size_t)ch];
    if (av_audio_fifo_write(e->fifo, (void **)e->planes, n) != n)
      return vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
    done += n;
    int ret = drain_audio(e, 0, err);
    if (ret < 0)
      return ret;
  }
  return 0;
}

int vd_encoder_finish(struct vd_encoder *e, struct vd_err *err) {
  int ret;
  if ((ret = encode(e, e->venc, e->vst, NULL, err)) < 0)
    return ret;
  if (e->aenc) {
    if ((ret = drain_audio(e, 1, err)) < 0 || (ret = encode(e, e->aenc, e->ast, NULL, err)) < 0)
      return ret;
  }
  if ((ret = av_write_trailer(e->fmt)) < 0)
    return av_fail(err, VD_ERR_ENCODE, ret, "cannot finish the file");
  e->header_written = 0;
  if ((ret = avio_closep(&e->fmt->pb)) < 0)
    return av_fail(err, VD_ERR_ENCODE, ret, "cannot close the file");
  return 0;
}

int64_t vd_encoder_frames(const struct vd_encoder *e) { return e->frames; }

void vd_encoder_free(struct vd_encoder *e) {
  if (!e)
    return;
  avcodec_free_context(&e->venc);
  avcodec_free_context(&e->aenc);
  av_frame_free(&e->vframe);
  av_frame_free(&e->aframe);
  av_packet_free(&e->pkt);
  if (e->fifo)
    av_audio_fifo_free(e->fifo);
  for (int i = 0; i < VD_ENC_MAX_CHANNELS; i++)
    free(e->planes[i]);
  if (e->fmt) {
    avio_closep(&e->fmt->pb);
    avformat_free_context(e->fmt);
  }
  free(e);
}
