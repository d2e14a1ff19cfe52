/*
 * decode.c: the single decode pass. Packets are read once, in file order;
 * the chosen video and audio streams are decoded (all others are discarded
 * at the demuxer), and every decoded frame is offered to each subscriber at
 * its own rate, through the shared view cache (convert.c).
 *
 * Invariants:
 * - Frames reach subscribers in presentation order with non-decreasing times.
 * - Time = best-effort PTS minus the container start; a missing PTS is
 *   extrapolated from the previous frame and its duration.
 * - Decode errors are warnings with a timestamp; the pass goes on. The pass
 *   ends at EOF, on cancel, or when a callback returns an error.
 */
#include <libavutil/opt.h>
#include <math.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "media/media_int.h"

int vd_media_want_video(struct vd_media *m, const struct vd_video_want *w, vd_video_fn fn,
                        void *opaque) {
  if (m->vst < 0)
    return VD_ERR_NO_STREAM;
  if (!fn || (unsigned)w->fmt >= VD_PIX_COUNT || (w->cv_resize && !vd_pix_bpp(w->fmt)) || w->fps < 0 || w->width < 0 || w->height < 0 ||
      w->width > 16384 || w->height > 16384 || w->max_side < 0 || m->nv >= VD_MAX_VSUBS)
    return VD_ERR_INVALID;
  struct vsub *s = &m->vsubs[m->nv++];
  memset(s, 0, sizeof(*s));
  s->w = *w;
  s->fn = fn;
  s->opaque = opaque;
  s->next_t = -INFINITY;
  return 0;
}

int vd_media_want_audio(struct vd_media *m, const struct vd_audio_want *w, vd_audio_fn fn,
                        void *opaque) {
  if (m->ast < 0)
    return VD_ERR_NO_STREAM;
  if (!fn || w->sample_rate < 0 || w->sample_rate > 384000 || m->na >= VD_MAX_ASUBS)
    return VD_ERR_INVALID;
  struct asub *s = &m->asubs[m->na++];
  memset(s, 0, sizeof(*s));
  s->w = *w;
  s->fn = fn;
  s->opaque = opaque;
  return 0;
}

/*
 * 1 when every video subscriber samples at most every other frame. Then
 * frames that no other frame refers to (most B-frames in H.264, HEVC and
 * MPEG video: half the pictures of a typical x264 encode) need not be
 * decoded at all, which cuts decoding by about a third. A sampling instant
 * is then served by the next decoded frame, at most a frame or two later;
 * its true time is what the subscriber sees.
 */
static int sparse_sampling(const struct vd_media *m) {
  const struct vd_stream_info *si = &m->info.streams[m->vst];
  double src = si->avg_fps > 0 ? si->avg_fps : si->r_fps, most = 0;
  for (int i = 0; i < m->nv; i++) {
    if (m->vsubs[i].w.fps <= 0)
      return 0; /* someone wants every frame */
    most = m->vsubs[i].w.fps > most ? m->vsubs[i].w.fps : most;
  }
  return m->nv > 0 && src > 0 && 2 * most <= src;
}

static int open_decoder(struct vd_media *m, int st_index, AVCodecContext **out, struct vd_err *err) {
  AVStream *st = m->fmt->streams[st_index];
  const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
  AVCodecContext *c = NULL;
  int ret = 0;
  if (!codec)
    return vd_err_set(err, VD_ERR_UNSUPPORTED, "no decoder for %s",
                      avcodec_get_name(st->codecpar->codec_id));
  c = avcodec_alloc_context3(codec);
  if (!c || avcodec_parameters_to_context(c, st->codecpar) < 0) {
    ret = vd_err_set(err, VD_ERR_INTERNAL, "cannot set up the %s decoder", codec->name);
    goto out;
  }
  c->pkt_timebase = st->time_base;
  if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
    c->thread_count = 0; /* one per core */
    c->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    c->max_pixels = m->lim.max_pixels > 0 ? m->lim.max_pixels : INT32_MAX;
    int all_key = m->nv > 0;
    for (int i = 0; i < m->nv; i++)
      all_key &= m->vsubs[i].w.keyframes_only;
    if (all_key)
      c->skip_frame = AVDISCARD_NONKEY; /* nobody wants the rest: don't decode it */
    else if (sparse_sampling(m))
      c->skip_frame = AVDISCARD_NONREF;
  }
  if (avcodec_open2(c, codec, NULL) < 0) {
    ret = vd_err_set(err, VD_ERR_UNSUPPORTED, "cannot open the %s decoder", codec->name);
    goto out;
  }
  *out = c;
  c = NULL;
out:
  avcodec_free_context(&c);
  return ret;
}

struct pass {
  struct vd_media *m;
  AVCodecContext *vdec, *adec;
  AVFrame *frame;
  double vstart;       /* container start, seconds */
  double last_vt;      /* time of the previous video frame, -inf before the first */
  double vfdur;        /* nominal frame duration */
  int64_t serial;
  double duration;     /* for progress */
  double last_progress;
  double last_progress_wall;
  vd_progress_fn progress;
  void *popaque;
  struct vd_err *err;
  char ffmsg[256];     /* FFmpeg's last warning on this thread (its reason) */
};

/* " (FFmpeg's reason)" once, then forgotten so it is not repeated. */
static const char *reason(struct pass *p, char *buf, size_t n) {
  if (!p->ffmsg[0]) {
    buf[0] = '\0';
    return buf;
  }
  snprintf(buf, n, " (%s)", p->ffmsg);
  vd__media_log_capture(p->ffmsg); /* re-arm: the next error brings its own reason */
  return buf;
}

static double frame_time(struct pass *p, AVStream *st, const AVFrame *f) {
  int64_t pts = f->best_effort_timestamp;
  if (pts == AV_NOPTS_VALUE)
    pts = f->pts;
  if (pts == AV_NOPTS_VALUE)
    return NAN;
  return pts * av_q2d(st->time_base) - p->vstart;
}

static int deliver_video(struct pass *p, AVFrame *f) {
  struct vd_media *m = p->m;
  AVStream *st = m->fmt->streams[m->vst];
  double t = frame_time(p, st, f);
  double dur = 0;
#if LIBAVUTIL_VERSION_MAJOR < 58
  if (f->pkt_duration > 0)
    dur = f->pkt_duration * av_q2d(st->time_base);
#else
  if (f->duration > 0)
    dur = f->duration * av_q2d(st->time_base);
#endif
  if (dur <= 0)
    dur = p->vfdur;
  /* Keep times monotonic: a missing or backwards PTS continues the timeline. */
  if (isnan(t) || (p->last_vt > -INFINITY && t < p->last_vt))
    t = p->last_vt > -INFINITY ? p->last_vt + p->vfdur : 0;
  p->last_vt = t;
  if (t + dur > m->decoded_until)
    m->decoded_until = t + dur;

  const struct vd_stream_info *si = &m->info.streams[m->vst];
  struct vd__fsrc fs = {.vc = &m->views, .src = f, .serial = p->serial++, .sar_num = si->sar_num,
                        .sar_den = si->sar_den, .rot = si->rotation};
  struct vd_frame base = {.index = m->decoded, .time = t, .duration = dur, .priv = &fs};
#if LIBAVUTIL_VERSION_MAJOR < 58 || (LIBAVUTIL_VERSION_MAJOR == 58 && LIBAVUTIL_VERSION_MINOR < 7)
  base.key = f->key_frame;
#else
  base.key = !!(f->flags & AV_FRAME_FLAG_KEY);
#endif
  m->decoded++;
  for (int i = 0; i < m->nv; i++) {
    struct vsub *s = &m->vsubs[i];
    if (s->w.keyframes_only && !base.key)
      continue;
    if (s->w.fps > 0) {
      /* Sample on the grid k/fps: take the first frame at or past each
       * instant (half a frame of slack so 30 fps at 30 fps takes them all). */
      if (t + dur * 0.5 < s->next_t)
        continue;
      double step = 1.0 / s->w.fps;
      s->next_t = (s->next_t == -INFINITY) ? t + step : s->next_t + step;
      if (s->next_t <= t)
        s->next_t = floor(t / step + 1) * step;
    }
    struct vd_frame out = base;
    int ret = s->w.no_convert ? 0 : vd_frame_view(&base, &s->w, &out);
    if (ret < 0)
      return vd_err_set(p->err, ret, "cannot convert frame %lld to %s", (long long)base.index,
                        vd_pix_name(s->w.fmt));
    if ((ret = s->fn(s->opaque, &out)) < 0)
      return ret;
  }
  return 0;
}

static int deliver_audio(struct pass *p, AVFrame *f, int flush) {
  struct vd_media *m = p->m;
  AVStream *st = m->fmt->streams[m->ast];
  for (int i = 0; i < m->na; i++) {
    struct asub *s = &m->asubs[i];
    /* A stream whose frames change rate, format or layout mid-way would feed
     * swresample planes it does not expect: rebuild it for the new input
     * (the few samples it held back are dropped, with a warning). */
    if (s->swr && !flush &&
        (f->sample_rate != s->in_rate || f->format != s->in_fmt ||
         av_channel_layout_compare(&f->ch_layout, &s->in_layout))) {
      vd__media_warn(m, "audio changes format at %.3f s (%d Hz, %d channels); resampler rebuilt",
                     s->t0 + (double)s->emitted / s->out_rate, f->sample_rate,
                     f->ch_layout.nb_channels);
      swr_free(&s->swr);
    }
    if (!s->swr) {
      if (flush)
        continue;
      if (f->sample_rate <= 0 || f->ch_layout.nb_channels <= 0)
        continue; /* nothing a resampler could take; the decoder warned */
      AVChannelLayout out_layout;
      if (!s->out_rate) /* fixed for the run: chunk times count in it */
        s->out_rate = s->w.sample_rate > 0 ? s->w.sample_rate : f->sample_rate;
      if (s->w.mono)
        av_channel_layout_default(&out_layout, 1);
      else if (av_channel_layout_copy(&out_layout, &f->ch_layout) < 0)
        return VD_ERR_INTERNAL;
      s->out_ch = out_layout.nb_channels;
      int r = swr_alloc_set_opts2(&s->swr, &out_layout, AV_SAMPLE_FMT_FLT, s->out_rate,
                                  &f->ch_layout, f->format, f->sample_rate, 0, NULL);
      av_channel_layout_uninit(&out_layout);
      if (r < 0 || swr_init(s->swr) < 0)
        return vd_err_set(p->err, VD_ERR_UNSUPPORTED, "cannot resample audio (%d Hz, %d ch)",
                          f->sample_rate, f->ch_layout.nb_channels);
      s->in_rate = f->sample_rate;
      s->in_fmt = f->format;
      av_channel_layout_uninit(&s->in_layout);
      if (av_channel_layout_copy(&s->in_layout, &f->ch_layout) < 0)
        return VD_ERR_INTERNAL;
    }
    if (!s->started && !flush) {
      double t = frame_time(p, st, f);
      s->t0 = isnan(t) ? 0 : t;
      s->started = 1;
    }
    int in_n = flush ? 0 : f->nb_samples;
    int cap = swr_get_out_samples(s->swr, in_n);
    if (cap <= 0)
      continue;
    if (cap > s->buf_samples) {
      av_free(s->buf);
      s->buf = av_malloc_array((size_t)cap, sizeof(float) * (size_t)s->out_ch);
      if (!s->buf)
        return VD_ERR_INTERNAL;
      s->buf_samples = cap;
    }
    uint8_t *outp[1] = {(uint8_t *)s->buf};
    int n = swr_convert(s->swr, outp, cap, flush ? NULL : (const uint8_t **)f->extended_data, in_n);
    if (n < 0)
      return vd_err_set(p->err, VD_ERR_DECODE, "audio resampling failed");
    if (n == 0)
      continue;
    struct vd_audio_chunk c = {.time = s->t0 + (double)s->emitted / s->out_rate,
                               .nb_samples = n,
                               .channels = s->out_ch,
                               .sample_rate = s->out_rate,
                               .samples = s->buf};
    s->emitted += n;
    double end = c.time + (double)n / s->out_rate;
    if (end > m->decoded_until && !p->vdec)
      m->decoded_until = end;
    int ret = s->fn(s->opaque, &c);
    if (ret < 0)
      return ret;
  }
  return 0;
}

static int report_progress(struct pass *p, double t) {
  if (!p->progress || p->duration <= 0)
    return 0;
  double frac = t / p->duration;
  frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
  double now = vd_now();
  if (frac - p->last_progress < 0.002 && now - p->last_progress_wall < 0.25)
    return 0;
  p->last_progress = frac;
  p->last_progress_wall = now;
  return p->progress(p->popaque, frac) ? VD_ERR_CANCELED : 0;
}

/* Drains decoded frames from `c`; for video and audio alike. */
static int drain(struct pass *p, AVCodecContext *c, int is_video, int flushing) {
  for (;;) {
    int r = avcodec_receive_frame(c, p->frame);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
      return 0;
    if (r < 0) {
      char e[AV_ERROR_MAX_STRING_SIZE];
      av_strerror(r, e, sizeof(e));
      char why[280];
      vd__media_warn(p->m, "%s decode error after %.3f s: %s%s", is_video ? "video" : "audio",
                     p->m->decoded_until, e, reason(p, why, sizeof(why)));
      p->m->incomplete = 1;
      if (flushing)
        return 0;
      continue;
    }
    int ret = is_video ? deliver_video(p, p->frame) : deliver_audio(p, p->frame, 0);
    av_frame_unref(p->frame);
    if (ret < 0)
      return ret;
  }
}

static int send(struct pass *p, AVCodecContext *c, const AVPacket *pkt, int is_video) {
  int r = avcodec_send_packet(c, pkt);
  if (r == AVERROR(EAGAIN)) {
    /* The decoder is full: drain, then the packet must go in. */
    int ret = drain(p, c, is_video, 0);
    if (ret < 0)
      return ret;
    r = avcodec_send_packet(c, pkt);
  }
  if (r < 0 && r != AVERROR_EOF) {
    char e[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(r, e, sizeof(e));
    AVStream *st = p->m->fmt->streams[pkt ? pkt->stream_index : (is_video ? p->m->vst : p->m->ast)];
    double t = pkt && pkt->pts != AV_NOPTS_VALUE ? pkt->pts * av_q2d(st->time_base) - p->vstart
                                                 : p->m->decoded_until;
    char why[280];
    vd__media_warn(p->m, "%s decode error at %.3f s: %s%s", is_video ? "video" : "audio", t, e,
                   reason(p, why, sizeof(why)));
    p->m->incomplete = 1;
  }
  return drain(p, c, is_video, pkt == NULL);
}

int vd_media_run(struct vd_media *m, vd_progress_fn progress, void *opaque, struct vd_err *err) {
  struct pass p = {.m = m, .progress = progress, .popaque = opaque, .err = err,
                   .last_vt = -INFINITY};
  AVPacket *pkt = NULL;
  int ret = 0;
  if (m->ran)
    return vd_err_set(err, VD_ERR_INVALID, "vd_media_run called twice");
  m->ran = 1;
  if (m->nv == 0 && m->na == 0)
    return 0; /* nothing to decode: probing needs no pass */

  p.vstart = m->info.start_time;
  p.duration = m->info.duration;
  if (m->vst >= 0) {
    const struct vd_stream_info *si = &m->info.streams[m->vst];
    double fps = si->avg_fps > 0 ? si->avg_fps : (si->r_fps > 0 ? si->r_fps : 25);
    p.vfdur = 1.0 / fps;
  }
  for (unsigned i = 0; i < m->fmt->nb_streams; i++)
    m->fmt->streams[i]->discard = AVDISCARD_ALL;
  if (m->nv > 0) {
    if ((ret = open_decoder(m, m->vst, &p.vdec, err)) < 0)
      goto out;
    m->fmt->streams[m->vst]->discard = AVDISCARD_DEFAULT;
  }
  if (m->na > 0) {
    if ((ret = open_decoder(m, m->ast, &p.adec, err)) < 0)
      goto out;
    m->fmt->streams[m->ast]->discard = AVDISCARD_DEFAULT;
  }
  pkt = av_packet_alloc();
  p.frame = av_frame_alloc();
  if (!pkt || !p.frame) {
    ret = vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
    goto out;
  }
  vd__media_log_capture(p.ffmsg);
  int read_errors = 0;
  for (;;) {
    if (atomic_load(&m->cancel)) {
      ret = vd_err_set(err, VD_ERR_CANCELED, "canceled");
      goto out;
    }
    int r = av_read_frame(m->fmt, pkt);
    if (r == AVERROR_EOF)
      break;
    if (r < 0) {
      if (r == AVERROR(EAGAIN))
        continue;
      char e[AV_ERROR_MAX_STRING_SIZE];
      av_strerror(r, e, sizeof(e));
      vd__media_warn(m, "read error after %.3f s: %s", m->decoded_until, e);
      m->incomplete = 1;
      /* Demuxers usually resync; give up after a run of failures so a
       * damaged file cannot spin forever. */
      if (++read_errors > 64 || (m->fmt->pb && m->fmt->pb->eof_reached))
        break;
      continue;
    }
    read_errors = 0;
    if (pkt->stream_index == m->vst && p.vdec)
      ret = send(&p, p.vdec, pkt, 1);
    else if (pkt->stream_index == m->ast && p.adec)
      ret = send(&p, p.adec, pkt, 0);
    av_packet_unref(pkt);
    if (ret < 0)
      goto out;
    if ((ret = report_progress(&p, m->decoded_until)) < 0) {
      vd_err_set(err, ret, "canceled");
      goto out;
    }
  }
  if (p.vdec && (ret = send(&p, p.vdec, NULL, 1)) < 0)
    goto out;
  if (p.adec) {
    if ((ret = send(&p, p.adec, NULL, 0)) < 0)
      goto out;
    if ((ret = deliver_audio(&p, NULL, 1)) < 0)
      goto out;
  }
  /* Shorter than declared by a clear margin: truncated or damaged input.
   * The declared end is the decoded stream's own (a late-starting stream
   * ends before the container's duration); the container's otherwise. */
  double end = m->info.duration;
  const struct vd_stream_info *ds = &m->info.streams[p.vdec ? m->vst : m->ast];
  if (ds->duration > 0)
    end = ds->start_time + ds->duration;
  if (end > 0 && m->decoded_until + fmax(1.0, 0.05 * end) < end) {
    vd__media_warn(m, "input ends at %.3f s of a declared %.3f s: truncated or damaged",
                   m->decoded_until, end);
    m->incomplete = 1;
  }
  if (progress)
    progress(opaque, 1.0);
out:
  vd__media_log_capture(NULL);
  av_packet_free(&pkt);
  av_frame_free(&p.frame);
  avcodec_free_context(&p.vdec);
  avcodec_free_context(&p.adec);
  return ret;
}
