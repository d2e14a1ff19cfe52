/*
 * media.c: opening and probing. Everything sized by the file is checked
 * against vd_media_limits before a decoder is opened, and demuxers that read
 * other files (playlists, concat lists) or pretend text is video are refused,
 * because the service feeds this module files from strangers.
 */
#include <errno.h>
#include <libavutil/display.h>
#include <pthread.h>
#include <libavutil/pixdesc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/util.h"
#include "media/media_int.h"

void vd_media_limits_default(struct vd_media_limits *l) {
  l->max_width = 16384;
  l->max_height = 16384;
  l->max_pixels = (int64_t)8192 * 8192;
  l->max_duration = 48.0 * 3600.0;
  l->max_streams = 64;
}

/* Demuxers that must not read user uploads: they follow references to other
 * files or URLs (a security hole on a server), or turn plain text into video. */
static int demuxer_refused(const char *name) {
  static const char *const refused[] = {"tty", "concat", "hls", "dash", "ffmetadata", "lavfi",
                                        "sdp", "rtsp", "rtp", "image2pipe", NULL};
  for (int i = 0; refused[i]; i++)
    if (!strcmp(name, refused[i]))
      return 1;
  return 0;
}

/*
 * FFmpeg explains failures only through av_log ("Picture size 60000x60000 is
 * invalid"), never through return codes. To put that reason in our error
 * messages, a process-wide callback copies warnings and errors into a
 * thread-local buffer while this thread is opening or decoding media, then
 * forwards to FFmpeg's default printer (which honours av_log_set_level).
 */
static _Thread_local char *log_capture;
static _Thread_local int log_capture_level; /* severity held; keep the most severe, first */
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

__attribute__((format(printf, 3, 0))) static void log_cb(void *avcl, int level, const char *fmt,
                                                        va_list vl) {
  if (log_capture && level <= AV_LOG_WARNING && level < log_capture_level) {
    va_list copy;
    va_copy(copy, vl);
    char line[256];
    vsnprintf(line, sizeof(line), fmt, copy);
    va_end(copy);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '.'))
      line[--n] = '\0';
    if (n) {
      memcpy(log_capture, line, n + 1);
      log_capture_level = level;
    }
  }
  av_log_default_callback(avcl, level, fmt, vl);
}

static void install_log(void) { av_log_set_callback(log_cb); }

void vd__media_log_capture(char *buf) {
  pthread_once(&log_once, install_log);
  if (buf)
    buf[0] = '\0';
  log_capture = buf;
  log_capture_level = AV_LOG_WARNING + 1;
}

static void copy_str(char *dst, size_t n, const char *src) {
  snprintf(dst, n, "%s", src ? src : "");
}

static int stream_rotation(const AVStream *st) {
  const uint8_t *sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
  if (!sd)
    return 0;
  double theta = -av_display_rotation_get((const int32_t *)sd);
  if (isnan(theta))
    return 0;
  long r = lround(theta / 90.0) * 90 % 360;
  if (r < 0)
    r += 360;
  return (int)r;
}

static double q2d_or0(AVRational r) { return (r.num > 0 && r.den > 0) ? av_q2d(r) : 0.0; }

static void fill_stream(struct vd_media *m, int i, struct vd_stream_info *si) {
  const AVStream *st = m->fmt->streams[i];
  const AVCodecParameters *par = st->codecpar;
  double start = m->fmt->start_time != AV_NOPTS_VALUE ? m->fmt->start_time / (double)AV_TIME_BASE : 0;
  si->index = i;
  copy_str(si->type, sizeof(si->type), av_get_media_type_string(par->codec_type));
  if (!si->type[0])
    copy_str(si->type, sizeof(si->type), "unknown");
  copy_str(si->codec, sizeof(si->codec), avcodec_get_name(par->codec_id));
  copy_str(si->profile, sizeof(si->profile), avcodec_profile_name(par->codec_id, par->profile));
  si->bit_rate = par->bit_rate;
  si->start_time = st->start_time != AV_NOPTS_VALUE ? st->start_time * av_q2d(st->time_base) - start : 0;
  si->duration = st->duration != AV_NOPTS_VALUE ? st->duration * av_q2d(st->time_base) : 0;
  const AVDictionaryEntry *lang = av_dict_get(st->metadata, "language", NULL, 0);
  copy_str(si->language, sizeof(si->language), lang ? lang->value : "");
  if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
    si->width = par->width;
    si->height = par->height;
    copy_str(si->pix_fmt, sizeof(si->pix_fmt), av_get_pix_fmt_name(par->format));
    AVRational sar = av_guess_sample_aspect_ratio(m->fmt, (AVStream *)st, NULL);
    si->sar_num = sar.num > 0 ? sar.num : 1;
    si->sar_den = sar.num > 0 && sar.den > 0 ? sar.den : 1;
    si->avg_fps = q2d_or0(st->avg_frame_rate);
    si->r_fps = q2d_or0(st->r_frame_rate);
    si->frames = st->nb_frames > 0 ? st->nb_frames : 0;
    si->rotation = stream_rotation(st);
  } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
    si->channels = par->ch_layout.nb_channels;
    si->sample_rate = par->sample_rate;
    copy_str(si->sample_fmt, sizeof(si->sample_fmt), av_get_sample_fmt_name(par->format));
    if (av_channel_layout_describe(&par->ch_layout, si->channel_layout, sizeof(si->channel_layout)) < 0)
      si->channel_layout[0] = '\0';
  }
}

static void fill_info(struct vd_media *m, const char *path) {
  struct vd_media_info *in = &m->info;
  AVFormatContext *f = m->fmt;
  copy_str(in->container, sizeof(in->container), f->iformat->name);
  copy_str(in->container_long, sizeof(in->container_long), f->iformat->long_name);
  in->duration = f->duration != AV_NOPTS_VALUE ? f->duration / (double)AV_TIME_BASE : 0;
  in->start_time = f->start_time != AV_NOPTS_VALUE ? f->start_time / (double)AV_TIME_BASE : 0;
  in->bit_rate = f->bit_rate;
  struct stat sb;
  in->size = stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
  in->nb_streams = (int)f->nb_streams;
  in->streams = vd_xcalloc(f->nb_streams, sizeof(*in->streams));
  for (unsigned i = 0; i < f->nb_streams; i++)
    fill_stream(m, (int)i, &in->streams[i]);
  in->video = m->vst;
  in->audio = m->ast;
  if (m->vst >= 0) {
    const struct vd_stream_info *v = &in->streams[m->vst];
    int64_t dw = (int64_t)llround((double)v->width * v->sar_num / v->sar_den), dh = v->height;
    if (v->rotation == 90 || v->rotation == 270) {
      int64_t t = dw;
      dw = dh;
      dh = t;
    }
    in->display_width = (int)dw;
    in->display_height = (int)dh;
    if (dw > 0 && dh > 0)
      av_reduce(&in->dar_num, &in->dar_den, dw, dh, 1 << 20);
    double vdur = v->duration > 0 ? v->duration : in->duration;
    double fps = v->avg_fps > 0 ? v->avg_fps : v->r_fps;
    in->est_frames = v->frames > 0 ? v->frames : (int64_t)llround(vdur * fps);
  }
}

static int check_limits(struct vd_media *m, const char *path, struct vd_err *err) {
  const struct vd_media_limits *l = &m->lim;
  AVFormatContext *f = m->fmt;
  if (l->max_streams > 0 && (int)f->nb_streams > l->max_streams)
    return vd_err_set(err, VD_ERR_LIMIT, "%s: %u streams exceeds the limit of %d", path,
                      f->nb_streams, l->max_streams);
  for (unsigned i = 0; i < f->nb_streams; i++) {
    const AVCodecParameters *p = f->streams[i]->codecpar;
    if (p->codec_type == AVMEDIA_TYPE_AUDIO &&
        (p->sample_rate < 0 || p->sample_rate > 768000 || p->ch_layout.nb_channels > 64))
      /* A resampler sized by a lying header would allocate gigabytes. */
      return vd_err_set(err, VD_ERR_LIMIT,
                        "%s: audio stream %u declares %d Hz and %d channels, beyond the limits "
                        "of 768000 Hz and 64 channels",
                        path, i, p->sample_rate, p->ch_layout.nb_channels);
    if (p->codec_type != AVMEDIA_TYPE_VIDEO)
      continue;
    if (p->width < 0 || p->height < 0)
      return vd_err_set(err, VD_ERR_CORRUPT, "%s: video stream %u declares a negative size", path, i);
    if ((l->max_width > 0 && p->width > l->max_width) || (l->max_height > 0 && p->height > l->max_height))
      return vd_err_set(err, VD_ERR_LIMIT,
                        "%s: video stream %u declares %dx%d, beyond the size limit of %dx%d", path, i,
                        p->width, p->height, l->max_width, l->max_height);
    if (l->max_pixels > 0 && (int64_t)p->width * p->height > l->max_pixels)
      return vd_err_set(err, VD_ERR_LIMIT,
                        "%s: video stream %u declares %dx%d = %lld pixels, beyond the limit of %lld",
                        path, i, p->width, p->height, (long long)p->width * p->height,
                        (long long)l->max_pixels);
  }
  if (l->max_duration > 0 && f->duration != AV_NOPTS_VALUE &&
      f->duration / (double)AV_TIME_BASE > l->max_duration)
    return vd_err_set(err, VD_ERR_LIMIT, "%s: duration %.0f s exceeds the limit of %.0f s", path,
                      f->duration / (double)AV_TIME_BASE, l->max_duration);
  return 0;
}

/*
 * A video stream whose size is still unknown after probing could not be
 * decoded at all; FFmpeg's log says why (often a declared size beyond
 * max_pixels). Report that instead of failing later with "invalid data".
 */
static int check_size_known(struct vd_media *m, int i, const char *path, const char *ffmsg,
                            struct vd_err *err) {
  if (i < 0)
    return 0;
  {
    const AVCodecParameters *p = m->fmt->streams[i]->codecpar;
    if ((p->width > 0 && p->height > 0) || !avcodec_find_decoder(p->codec_id))
      return 0;
    int too_big = strstr(ffmsg, "Picture size") || strstr(ffmsg, "max_pixels") ||
                  strstr(ffmsg, "image size");
    return vd_err_set(err, too_big ? VD_ERR_LIMIT : VD_ERR_CORRUPT,
                      "%s: %s video stream %u%s%s", path,
                      too_big ? "picture size beyond the limit in" : "cannot determine the size of",
                      i, ffmsg[0] ? ": " : "", ffmsg);
  }
}

/*
 * Formats with a sample index (MP4/MOV) say where every packet lives. An
 * entry past the end of the file means the file was cut short: flag it
 * now, so even a header-only probe reports the truncation.
 */
static void check_index_past_eof(struct vd_media *m) {
  int64_t size = m->fmt->pb ? avio_size(m->fmt->pb) : -1;
  if (size <= 0)
    return;
  int idx[2] = {m->vst, m->ast};
  for (int k = 0; k < 2; k++) {
    if (idx[k] < 0)
      continue;
    AVStream *st = m->fmt->streams[idx[k]];
    int n = avformat_index_get_entries_count(st);
    if (n <= 0)
      continue;
    const AVIndexEntry *last = avformat_index_get_entry(st, n - 1);
    if (!last || last->pos + last->size <= size)
      continue;
    /* First entry that does not fit: where the data really ends. */
    int lo = 0, hi = n - 1;
    while (lo < hi) {
      int mid = lo + (hi - lo) / 2;
      const AVIndexEntry *e = avformat_index_get_entry(st, mid);
      if (e->pos + e->size > size)
        hi = mid;
      else
        lo = mid + 1;
    }
    const AVIndexEntry *cut = avformat_index_get_entry(st, lo);
    double t = cut->timestamp * av_q2d(st->time_base) - m->info.start_time;
    vd__media_warn(m, "file is truncated: its %s data ends at %.3f s of a declared %.3f s "
                      "(%lld bytes present, index needs %lld)",
                   k == 0 ? "video" : "audio", t, m->info.duration, (long long)size,
                   (long long)(last->pos + last->size));
    m->incomplete = 1;
    return;
  }
}

int vd_media_open(struct vd_media **out, const char *path, const struct vd_media_limits *lim,
                  struct vd_err *err) {
  struct vd_media *m = vd_xcalloc(1, sizeof(*m));
  AVDictionary *opts = NULL, **sopts = NULL;
  unsigned nsopts = 0; /* the dicts to free; m is NULL on success by then */
  char averr[AV_ERROR_MAX_STRING_SIZE], ffmsg[256];
  int ret = 0;
  *out = NULL;
  vd__media_log_capture(ffmsg);
  m->vst = m->ast = -1;
  if (lim)
    m->lim = *lim;
  else
    vd_media_limits_default(&m->lim);

  struct stat sb;
  if (stat(path, &sb) != 0) {
    ret = vd_err_set(err, -errno, "%s: %s", path, strerror(errno));
    goto out;
  }
  if (S_ISDIR(sb.st_mode)) {
    ret = vd_err_set(err, VD_ERR_NOT_MEDIA, "%s: is a directory, not a media file", path);
    goto out;
  }
  if (sb.st_size == 0) {
    ret = vd_err_set(err, VD_ERR_EMPTY, "%s: file is empty", path);
    goto out;
  }

  /* Only local files; no protocol may pull in other resources. */
  av_dict_set(&opts, "protocol_whitelist", "file", 0);
  int r = avformat_open_input(&m->fmt, path, NULL, &opts);
  if (r < 0) {
    av_strerror(r, averr, sizeof(averr));
    ret = vd_err_set(err, r == AVERROR(ENOENT) ? -ENOENT : VD_ERR_NOT_MEDIA,
                     "%s: not a readable media file (%s%s%s)", path, averr, ffmsg[0] ? ": " : "",
                     ffmsg);
    goto out;
  }
  if (demuxer_refused(m->fmt->iformat->name)) {
    ret = vd_err_set(err, VD_ERR_NOT_MEDIA, "%s: not a media file (looks like %s)", path,
                     m->fmt->iformat->long_name ? m->fmt->iformat->long_name : m->fmt->iformat->name);
    goto out;
  }
  /* Header-declared sizes first: before find_stream_info opens decoders. */
  if ((ret = check_limits(m, path, err)) < 0)
    goto out;

  /* Decoders opened while probing get the same pixel cap, as FFmpeg's own
   * fuzzers do, so a lying bitstream cannot make them allocate more. */
  nsopts = m->fmt->nb_streams;
  sopts = vd_xcalloc(nsopts ? nsopts : 1, sizeof(*sopts));
  char mp[32];
  snprintf(mp, sizeof(mp), "%lld", (long long)(m->lim.max_pixels > 0 ? m->lim.max_pixels : INT32_MAX));
  unsigned nst = m->fmt->nb_streams;
  for (unsigned i = 0; i < nst; i++)
    av_dict_set(&sopts[i], "max_pixels", mp, 0);
  r = avformat_find_stream_info(m->fmt, sopts);
  if (r < 0) {
    av_strerror(r, averr, sizeof(averr));
    ret = vd_err_set(err, VD_ERR_CORRUPT, "%s: cannot read stream information (%s%s%s)", path,
                     averr, ffmsg[0] ? ": " : "", ffmsg);
    goto out;
  }
  if ((ret = check_limits(m, path, err)) < 0)
    goto out;

  m->vst = av_find_best_stream(m->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  m->ast = av_find_best_stream(m->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
  /* Cover art is a one-frame "video" stream; it is not the video. */
  if (m->vst >= 0 && (m->fmt->streams[m->vst]->disposition & AV_DISPOSITION_ATTACHED_PIC))
    m->vst = -1;
  if (m->vst < 0)
    m->vst = -1;
  if ((ret = check_size_known(m, m->vst, path, ffmsg, err)) < 0)
    goto out;
  if (m->ast < 0)
    m->ast = -1;
  if (m->vst < 0 && m->ast < 0) {
    ret = vd_err_set(err, VD_ERR_NO_STREAM, "%s: no audio or video stream (container %s)", path,
                     m->fmt->iformat->name);
    goto out;
  }
  int vdec = m->vst >= 0 && avcodec_find_decoder(m->fmt->streams[m->vst]->codecpar->codec_id);
  int adec = m->ast >= 0 && avcodec_find_decoder(m->fmt->streams[m->ast]->codecpar->codec_id);
  if (!vdec && !adec) {
    int s = m->vst >= 0 ? m->vst : m->ast;
    ret = vd_err_set(err, VD_ERR_UNSUPPORTED, "%s: unsupported codec %s", path,
                     avcodec_get_name(m->fmt->streams[s]->codecpar->codec_id));
    goto out;
  }
  if (m->vst >= 0 && !vdec) {
    VD_WARN("%s: no decoder for video codec %s; using audio only", path,
            avcodec_get_name(m->fmt->streams[m->vst]->codecpar->codec_id));
    m->vst = -1;
  }
  if (m->ast >= 0 && !adec) {
    VD_WARN("%s: no decoder for audio codec %s; using video only", path,
            avcodec_get_name(m->fmt->streams[m->ast]->codecpar->codec_id));
    m->ast = -1;
  }
  fill_info(m, path);
  check_index_past_eof(m);
  *out = m;
  m = NULL;
out:
  vd__media_log_capture(NULL);
  if (sopts) {
    for (unsigned i = 0; i < nsopts; i++)
      av_dict_free(&sopts[i]);
    free(sopts);
  }
  av_dict_free(&opts);
  vd_media_free(m);
  return ret;
}

void vd_media_free(struct vd_media *m) {
  if (!m)
    return;
  for (int i = 0; i < m->na; i++) {
    swr_free(&m->asubs[i].swr);
    av_channel_layout_uninit(&m->asubs[i].in_layout);
    av_free(m->asubs[i].buf);
  }
  vd__views_free(&m->views);
  avformat_close_input(&m->fmt);
  free(m->info.streams);
  for (int i = 0; i < m->nwarn; i++)
    free(m->warnings[i]);
  free(m);
}

const struct vd_media_info *vd_media_info(const struct vd_media *m) { return &m->info; }

void vd__media_warn(struct vd_media *m, const char *fmt, ...) {
  m->nwarn_total++;
  if (m->nwarn >= VD_MAX_WARNINGS)
    return; /* bounded: a broken file must not grow memory */
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  m->warnings[m->nwarn++] = vd_xstrdup(buf);
  VD_INFO("%s", buf);
}

int vd_media_warning_count(const struct vd_media *m) { return m->nwarn; }
const char *vd_media_warning(const struct vd_media *m, int i) {
  return i >= 0 && i < m->nwarn ? m->warnings[i] : NULL;
}
int64_t vd_media_decoded_frames(const struct vd_media *m) { return m->decoded; }
int vd_media_incomplete(const struct vd_media *m) { return m->incomplete; }
double vd_media_decoded_until(const struct vd_media *m) { return m->decoded_until; }
void vd_media_cancel(struct vd_media *m) { atomic_store(&m->cancel, 1); }

int vd_pix_bpp(enum vd_pix fmt) {
  switch (fmt) {
  case VD_PIX_GRAY8:
    return 1;
  case VD_PIX_RGB24:
  case VD_PIX_BGR24:
  case VD_PIX_HSV24:
    return 3;
  default:
    return 0;
  }
}

const char *vd_pix_name(enum vd_pix fmt) {
  static const char *const n[] = {"gray", "rgb24", "bgr24", "hsv24", "yuv420p", "yuvj420p"};
  return (unsigned)fmt < VD_PIX_COUNT ? n[fmt] : "?";
}
