/*
 * remux.c: time ranges out of a media file by stream copy; see remux.h.
 *
 * Timestamps: the keyframe search works in the reference stream's time base
 * (the video stream, or the audio stream of an audio-only file). Every other
 * stream is judged by its own presentation times converted to seconds. A clip
 * is rebased by the keyframe's time, converted into each stream's time base,
 * so the streams stay in sync exactly as they were in the input.
 */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "media/remux.h"

/* How far before a clip's start the keyframe search seeks, in turn, when the
 * demuxer's seek lands past every keyframe. The last step scans from the
 * beginning of the file. */
static const double search_back[] = {0, 2, 10, 60, 600, INFINITY};

/* Streams other than the reference may run this far behind it in the file
 * (interleaving); past that, a clip stops waiting for their last packets. */
#define VD_REMUX_SLACK 2.0

struct vd_remux {
  AVFormatContext *in;
  AVPacket *pkt;
  int *map;           /* input stream -> output stream index, -1 = not copied */
  int nout;           /* streams copied */
  int ref;            /* reference stream (keyframes), input index */
  double start0;      /* container start, seconds */
  double half;        /* half a reference frame, seconds */
  const char *muxer;  /* "mp4" or "matroska" */
  const char *ext;    /* "mp4" or "mkv" */
};

static double ts_sec(const AVStream *st, int64_t ts) { return ts * av_q2d(st->time_base); }

static int64_t sec_ts(const AVStream *st, double sec) {
  return llround(sec / av_q2d(st->time_base));
}

/* Presentation time of a packet, falling back to its decode time. */
static int64_t pkt_pts(const AVPacket *p) { return p->pts != AV_NOPTS_VALUE ? p->pts : p->dts; }
static int64_t pkt_dts(const AVPacket *p) { return p->dts != AV_NOPTS_VALUE ? p->dts : p->pts; }

static int copyable(const AVStream *st) {
  enum AVMediaType t = st->codecpar->codec_type;
  if (st->disposition & AV_DISPOSITION_ATTACHED_PIC)
    return 0; /* cover art is a picture, not a stream to cut */
  return (t == AVMEDIA_TYPE_VIDEO || t == AVMEDIA_TYPE_AUDIO) &&
         st->codecpar->codec_id != AV_CODEC_ID_NONE;
}

/* mp4 for the mov/mp4 family when mp4 can hold every copied codec, else
 * Matroska, which holds nearly anything. */
static void choose_container(struct vd_remux *rx) {
  const AVOutputFormat *mp4 = av_guess_format("mp4", NULL, NULL);
  int want_mp4 = mp4 && strstr(rx->in->iformat->name, "mp4") != NULL;
  for (unsigned i = 0; want_mp4 && i < rx->in->nb_streams; i++)
    if (rx->map[i] >= 0 &&
        avformat_query_codec(mp4, rx->in->streams[i]->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1)
      want_mp4 = 0;
  rx->muxer = want_mp4 ? "mp4" : "matroska";
  rx->ext = want_mp4 ? "mp4" : "mkv";
}

int vd_remux_open(struct vd_remux **out, const char *path, struct vd_err *err) {
  struct vd_remux *rx = vd_xcalloc(1, sizeof(*rx));
  AVDictionary *opts = NULL;
  int ret = 0;
  *out = NULL;
  /* Same rule as vd_media_open: local files only, no protocol may pull in
   * other resources. */
  av_dict_set(&opts, "protocol_whitelist", "file", 0);
  if (avformat_open_input(&rx->in, path, NULL, &opts) < 0 ||
      avformat_find_stream_info(rx->in, NULL) < 0) {
    ret = vd_err_set(err, VD_ERR_NOT_MEDIA, "%s: cannot be read for cutting", path);
    goto out;
  }
  rx->pkt = av_packet_alloc();
  if (!rx->pkt) {
    ret = vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
    goto out;
  }
  rx->map = vd_xcalloc(rx->in->nb_streams, sizeof(*rx->map));
  rx->ref = -1;
  for (unsigned i = 0; i < rx->in->nb_streams; i++) {
    rx->map[i] = copyable(rx->in->streams[i]) ? rx->nout++ : -1;
    if (rx->map[i] < 0)
      rx->in->streams[i]->discard = AVDISCARD_ALL; /* the demuxer skips them */
  }
  int v = av_find_best_stream(rx->in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  int a = av_find_best_stream(rx->in, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
  rx->ref = (v >= 0 && rx->map[v] >= 0) ? v : (a >= 0 && rx->map[a] >= 0) ? a : -1;
  if (rx->ref < 0) {
    ret = vd_err_set(err, VD_ERR_NO_STREAM, "%s: no audio or video stream to copy", path);
    goto out;
  }
  const AVStream *rs = rx->in->streams[rx->ref];
  double fps = av_q2d(rs->avg_frame_rate) > 0 ? av_q2d(rs->avg_frame_rate) : av_q2d(rs->r_frame_rate);
  rx->half = fps > 1 && fps < 1000 ? 0.5 / fps : 0.001;
  rx->start0 = rx->in->start_time != AV_NOPTS_VALUE ? rx->in->start_time / (double)AV_TIME_BASE : 0;
  choose_container(rx);
  *out = rx;
  rx = NULL;
out:
  av_dict_free(&opts);
  vd_remux_free(rx);
  return ret;
}

void vd_remux_free(struct vd_remux *rx) {
  if (!rx)
    return;
  av_packet_free(&rx->pkt);
  avformat_close_input(&rx->in);
  free(rx->map);
  free(rx);
}

const char *vd_remux_ext(const struct vd_remux *rx) { return rx->ext; }

/*
 * Finds the last reference keyframe whose presentation time is at or before
 * `target` (reference time base) and stores it in *key. When the stream has
 * none there (it starts on a non-key frame), takes the first one after.
 */
/* Seeks to `back` seconds before `ts` (reference time base), or to the very
 * beginning when `back` is infinite. */
static int seek_back(struct vd_remux *rx, int64_t ts, double back) {
  if (!isinf(back))
    return av_seek_frame(rx->in, rx->ref, ts - sec_ts(rx->in->streams[rx->ref], back),
                         AVSEEK_FLAG_BACKWARD);
  if (av_seek_frame(rx->in, rx->ref, INT64_MIN / 2, AVSEEK_FLAG_BACKWARD) >= 0)
    return 0;
  return av_seek_frame(rx->in, -1, 0, AVSEEK_FLAG_BYTE); /* e.g. MPEG-TS */
}

static int find_key(struct vd_remux *rx, int64_t target, int64_t *key, struct vd_err *err) {
  AVStream *rs = rx->in->streams[rx->ref];
  int64_t after = AV_NOPTS_VALUE;
  for (size_t b = 0; b < sizeof(search_back) / sizeof(search_back[0]); b++) {
    if (seek_back(rx, target, search_back[b]) < 0)
      continue;
    int found = 0;
    while (av_read_frame(rx->in, rx->pkt) >= 0) {
      AVPacket *p = rx->pkt;
      int mine = p->stream_index == rx->ref;
      int64_t pts = pkt_pts(p), dts = pkt_dts(p);
      int key_flag = (p->flags & AV_PKT_FLAG_KEY) != 0;
      av_packet_unref(p);
      if (!mine || pts == AV_NOPTS_VALUE)
        continue;
      if (key_flag && pts <= target) {
        *key = pts;
        found = 1;
      } else if (key_flag && after == AV_NOPTS_VALUE && pts > target) {
        after = pts;
      }
      /* Every later keyframe has pts >= dts > target. */
      if (dts > target)
        break;
    }
    if (found)
      return 0;
  }
  if (after != AV_NOPTS_VALUE) {
    *key = after;
    return 0;
  }
  return vd_err_set(err, VD_ERR_CORRUPT, "no keyframe to start a stream copy at %.3f s",
                    ts_sec(rs, target) - rx->start0);
}

/*
 * Positions the demuxer so that reading goes through the reference keyframe
 * `key`: formats without an index (MPEG-TS) may land after the requested
 * time, so each landing is checked and the seek goes further back if needed.
 */
static int seek_before(struct vd_remux *rx, int64_t key) {
  for (size_t b = 0; b < sizeof(search_back) / sizeof(search_back[0]); b++) {
    if (seek_back(rx, key, search_back[b]) < 0)
      continue;
    int64_t first = AV_NOPTS_VALUE;
    while (first == AV_NOPTS_VALUE && av_read_frame(rx->in, rx->pkt) >= 0) {
      if (rx->pkt->stream_index == rx->ref)
        first = pkt_pts(rx->pkt);
      av_packet_unref(rx->pkt);
    }
    if (first != AV_NOPTS_VALUE && first <= key)
      return seek_back(rx, key, search_back[b]); /* same landing again */
  }
  return AVERROR(EINVAL);
}

static int open_output(struct vd_remux *rx, const char *path, AVFormatContext **out,
                       struct vd_err *err) {
  AVFormatContext *o = NULL;
  int ret = 0;
  if (avformat_alloc_output_context2(&o, NULL, rx->muxer, path) < 0 || !o) {
    ret = vd_err_set(err, VD_ERR_INTERNAL, "no %s muxer", rx->muxer);
    goto out;
  }
  for (unsigned i = 0; i < rx->in->nb_streams; i++) {
    if (rx->map[i] < 0)
      continue;
    const AVStream *is = rx->in->streams[i];
    AVStream *os = avformat_new_stream(o, NULL);
    if (!os || avcodec_parameters_copy(os->codecpar, is->codecpar) < 0) {
      ret = vd_err_set(err, VD_ERR_INTERNAL, "out of memory");
      goto out;
    }
    os->codecpar->codec_tag = 0; /* the tag belongs to the input container */
    os->time_base = is->time_base;
    os->avg_frame_rate = is->avg_frame_rate;
    os->disposition = is->disposition;
    av_dict_copy(&os->metadata, is->metadata, 0);
    /* Side data carries the display matrix: a rotated phone video must
     * stay upright in its clips. */
    for (int s = 0; s < is->nb_side_data; s++) {
      uint8_t *d = av_stream_new_side_data(os, is->side_data[s].type, is->side_data[s].size);
      if (d)
        memcpy(d, is->side_data[s].data, is->side_data[s].size);
    }
  }
  if (avio_open(&o->pb, path, AVIO_FLAG_WRITE) < 0) {
    ret = vd_err_set(err, VD_ERR_ENCODE, "cannot create %s", path);
    goto out;
  }
  if (avformat_write_header(o, NULL) < 0) {
    ret = vd_err_set(err, VD_ERR_ENCODE, "cannot write the %s header of %s", rx->muxer, path);
    goto out;
  }
  *out = o;
  o = NULL;
out:
  if (o) {
    avio_closep(&o->pb);
    avformat_free_context(o);
  }
  return ret;
}

/* Per-cut state of the packet loop. */
struct cut {
  struct vd_remux *rx;
  int64_t key;          /* reference keyframe the clip starts on (ref time base) */
  double key_s, end_s;  /* absolute seconds */
  int started;          /* the reference keyframe has been seen */
  int ref_done;         /* a reference packet decodes at or after the end */
  double ref_dts_s;     /* latest reference decode time, absolute seconds */
  double last_end_s;    /* end of the last copied reference frame, absolute seconds */
  int64_t *last_dts;    /* per output stream, to keep decode times increasing */
  int *done;            /* per input stream: a packet at or after the end was seen */
  int64_t video_packets;
};

/* 1 if packet `p` (of a copied stream) goes into the clip. */
static int keep_packet(struct cut *c, const AVPacket *p) {
  struct vd_remux *rx = c->rx;
  const AVStream *st = rx->in->streams[p->stream_index];
  int64_t pts = pkt_pts(p), dts = pkt_dts(p);
  if (pts == AV_NOPTS_VALUE)
    return 0;
  double t = ts_sec(st, pts), td = ts_sec(st, dts);
  if (p->stream_index == rx->ref) {
    c->ref_dts_s = td;
    if (!c->started) {
      if (!(p->flags & AV_PKT_FLAG_KEY) || pts < c->key)
        return 0;
      c->started = 1;
    }
    if (td >= c->end_s)
      c->ref_done = 1;
    /* Leading pictures of an open GOP point before the keyframe: drop them. */
    if (pts < c->key || t >= c->end_s - rx->half)
      return 0;
    double dur = p->duration > 0 ? ts_sec(st, p->duration) : 2 * rx->half;
    if (t + dur > c->last_end_s)
      c->last_end_s = t + dur;
    if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
      c->video_packets++;
    return 1;
  }
  if (td >= c->end_s)
    c->done[p->stream_index] = 1;
  return t >= c->key_s - 1e-6 && t < c->end_s;
}

static int cut_finished(const struct cut *c) {
  if (!c->ref_done)
    return 0;
  if (c->ref_dts_s >= c->end_s + VD_REMUX_SLACK)
    return 1;
  for (unsigned i = 0; i < c->rx->in->nb_streams; i++)
    if (c->rx->map[i] >= 0 && (int)i != c->rx->ref && !c->done[i])
      return 0;
  return 1;
}

static int write_packet(struct cut *c, AVFormatContext *o, AVPacket *p, struct vd_err *err) {
  struct vd_remux *rx = c->rx;
  const AVStream *is = rx->in->streams[p->stream_index];
  int os = rx->map[p->stream_index];
  int64_t off = av_rescale_q(c->key, rx->in->streams[rx->ref]->time_base, is->time_base);
  if (p->pts == AV_NOPTS_VALUE)
    p->pts = p->dts;
  p->pts -= off;
  /* A missing decode time (Matroska's first frames after a seek) stays
   * missing: the muxer derives it from the stream's reorder delay. */
  if (p->dts != AV_NOPTS_VALUE) {
    p->dts -= off;
    /* A muxer refuses decode times that do not increase. Demuxers guess
     * some (MPEG-PS gives the first two frames the same one) and damaged
     * files have them: nudge the time forward, as ffmpeg's CLI does, rather
     * than lose the frame or fail the clip. */
    if (c->last_dts[os] != AV_NOPTS_VALUE && p->dts <= c->last_dts[os]) {
      p->dts = c->last_dts[os] + 1;
      if (p->pts != AV_NOPTS_VALUE && p->pts < p->dts)
        p->pts = p->dts;
    }
    c->last_dts[os] = p->dts;
  }
  av_packet_rescale_ts(p, is->time_base, o->streams[os]->time_base);
  p->stream_index = os;
  p->pos = -1;
  int r = av_interleaved_write_frame(o, p); /* takes the packet, even on failure */
  if (r < 0) {
    char e[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(r, e, sizeof(e));
    return vd_err_set(err, VD_ERR_ENCODE, "writing a clip packet failed: %s", e);
  }
  return 0;
}

int vd_remux_cut(struct vd_remux *rx, double start, double end, const char *path,
                 struct vd_remux_clip *out, vd_progress_fn progress, void *opaque,
                 struct vd_err *err) {
  AVStream *rs = rx->in->streams[rx->ref];
  AVFormatContext *o = NULL;
  struct cut c = {.rx = rx, .end_s = end + rx->start0, .ref_dts_s = -INFINITY,
                  .last_end_s = -INFINITY};
  int ret = 0, created = 0;
  memset(out, 0, sizeof(*out));
  if (!(end > start) || !isfinite(start) || !isfinite(end)) {
    return vd_err_set(err, VD_ERR_INVALID, "bad clip range %.3f..%.3f s", start, end);
  }
  c.last_dts = vd_xcalloc((size_t)rx->nout, sizeof(*c.last_dts));
  for (int i = 0; i < rx->nout; i++)
    c.last_dts[i] = AV_NOPTS_VALUE;
  c.done = vd_xcalloc(rx->in->nb_streams, sizeof(*c.done));

  /* Half a frame of slack: a keyframe exactly at the start may sit one
   * tick later after the seconds round trip. */
  if ((ret = find_key(rx, sec_ts(rs, start + rx->start0 + rx->half), &c.key, err)) < 0)
    goto out;
  c.key_s = ts_sec(rs, c.key);
  if (c.key_s >= c.end_s) {
    ret = vd_err_set(err, VD_ERR_CORRUPT, "no keyframe inside the clip %.3f..%.3f s", start, end);
    goto out;
  }
  if (seek_before(rx, c.key) < 0) {
    ret = vd_err_set(err, VD_ERR_UNSUPPORTED, "cannot seek in the input to cut a clip");
    goto out;
  }
  created = 1;
  if ((ret = open_output(rx, path, &o, err)) < 0)
    goto out;
  for (int64_t n = 0;; n++) {
    int r = av_read_frame(rx->in, rx->pkt);
    if (r < 0)
      break; /* end of file, or damage: keep what was copied */
    AVPacket *p = rx->pkt;
    if (rx->map[p->stream_index] < 0 || !keep_packet(&c, p)) {
      av_packet_unref(p);
    } else if ((ret = write_packet(&c, o, p, err)) < 0) {
      goto out;
    }
    if (cut_finished(&c))
      break;
    if (progress && (n & 63) == 0 && c.ref_dts_s > c.key_s &&
        progress(opaque, fmin(1.0, (c.ref_dts_s - c.key_s) / (c.end_s - c.key_s)))) {
      ret = vd_err_set(err, VD_ERR_CANCELED, "canceled");
      goto out;
    }
  }
  if (!c.started) {
    ret = vd_err_set(err, VD_ERR_CORRUPT, "the keyframe at %.3f s could not be read back",
                     c.key_s - rx->start0);
    goto out;
  }
  if (av_write_trailer(o) < 0) {
    ret = vd_err_set(err, VD_ERR_ENCODE, "cannot finish %s", path);
    goto out;
  }
  out->start = c.key_s - rx->start0;
  out->end = fmin(c.last_end_s, c.end_s) - rx->start0;
  out->video_packets = c.video_packets;
out:
  if (o) {
    if (avio_closep(&o->pb) < 0 && ret == 0)
      ret = vd_err_set(err, VD_ERR_ENCODE, "cannot close %s", path);
    avformat_free_context(o);
  }
  if (ret < 0 && created)
    unlink(path);
  free(c.last_dts);
  free(c.done);
  return ret;
}
