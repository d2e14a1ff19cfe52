/*
 * media_int.h: private state shared by media.c (open/probe), decode.c (the
 * single pass) and convert.c (the view cache). Not for use outside src/media.
 */
#ifndef VD_MEDIA_INT_H
#define VD_MEDIA_INT_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <stdatomic.h>

#include "media/media.h"

#define VD_MAX_VSUBS 32
#define VD_MAX_ASUBS 16
#define VD_MAX_VIEWS 16
#define VD_MAX_WARNINGS 32

struct vsub {
  struct vd_video_want w;
  vd_video_fn fn;
  void *opaque;
  double next_t; /* next sampling instant for fps > 0 */
};

struct asub {
  struct vd_audio_want w;
  vd_audio_fn fn;
  void *opaque;
  SwrContext *swr;
  int in_rate, in_fmt;        /* what swr was built for: a stream may change */
  AVChannelLayout in_layout;  /* its layout mid-way (mp2 mono/stereo frames) */
  int out_rate, out_ch;
  float *buf;      /* interleaved output scratch */
  int buf_samples; /* capacity per channel */
  int64_t emitted; /* samples per channel delivered so far */
  double t0;       /* time of the first delivered sample */
  int started;
};

struct cv_tap;

/* One cached conversion target: (w, h, fmt, rotation) of the displayed frame. */
struct view {
  int w, h;          /* output size (after rotation) */
  enum vd_pix fmt;
  int rot;           /* 0, 90, 180, 270 clockwise */
  int cv;            /* OpenCV-style resize after a full-size conversion */
  int luma;          /* grey at the source size from 8-bit Y'CbCr: the luma
                        plane through a range LUT, no swscale */
  uint8_t lut[256];  /* luma: source range to full range */
  struct SwsContext *sws;
  uint8_t *full;     /* cv: full-size converted picture */
  int full_ls;
  struct cv_tap *xtaps; /* cv: per output column, source columns and weight */
  int src_w, src_h, src_fmt; /* what sws was built for */
  int src_range;             /* and the colour range the luma table expands */
  uint8_t *a[4];     /* sws output (pre-rotation geometry) */
  int als[4];
  uint8_t *b[4];     /* rotated output, when rot != 0 */
  int bls[4];
  int64_t serial;    /* decoded-frame serial the buffers hold, -1 = none */
};

/* A set of cached views: one per distinct request, for the frames of one
 * thread (the decode pass has one; each vd_viewer has its own). */
struct vd__views {
  struct view v[VD_MAX_VIEWS];
  int n;
};

struct vd_media {
  AVFormatContext *fmt;
  struct vd_media_info info;
  struct vd_media_limits lim;
  int vst, ast;          /* AVStream indices chosen, -1 if none */
  struct vsub vsubs[VD_MAX_VSUBS];
  int nv;
  struct asub asubs[VD_MAX_ASUBS];
  int na;
  struct vd__views views; /* the decode thread's */
  atomic_int cancel;
  char *warnings[VD_MAX_WARNINGS];
  int nwarn;             /* stored warnings */
  int64_t nwarn_total;   /* including dropped ones */
  int64_t decoded;
  double decoded_until;
  int incomplete;
  int ran;
};

/* Frame-private handle behind vd_frame.priv: the decoded picture, the
 * cache its views go through, and the stream geometry views apply. */
struct vd__fsrc {
  struct vd__views *vc;
  AVFrame *src;
  int64_t serial;     /* unique per picture within `vc` */
  int sar_num, sar_den; /* 0/0 = square pixels */
  int rot;            /* clockwise degrees to display upright */
};

/* decode.c / media.c helpers */
void vd__media_warn(struct vd_media *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Starts (buf != NULL, 256 bytes) or stops capturing FFmpeg's last warning
 * or error line on this thread. */
void vd__media_log_capture(char *buf);
/* convert.c */
int vd__view_get(const struct vd__fsrc *fs, const struct vd_video_want *w, struct vd_frame *out);
void vd__views_free(struct vd__views *vc);

#endif
