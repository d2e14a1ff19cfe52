/*
 * media: the FFmpeg boundary. Opens anything libavformat reads, describes it,
 * and decodes it ONCE, handing every decoded frame to every subscriber that
 * asked for it, converted to the size and pixel format each one wants.
 *
 * DESIGN
 * - One pass. vd_media_run() demuxes and decodes the best video stream and
 *   the best audio stream together, in packet order. Nothing holds more than
 *   a few frames: memory is bounded by the decoder's own delay plus one
 *   converted buffer per distinct (size, format, rotation) request.
 * - Subscribers declare a vd_video_want (rate, size, format) or a
 *   vd_audio_want (rate, layout). Conversions go through libswscale and
 *   libswresample. Two subscribers asking for the same (w, h, fmt, rotate)
 *   share one conversion per frame: the view cache is keyed on that tuple
 *   and converted lazily, at most once per decoded frame.
 * - A subscriber may ask the same frame for another view from inside its
 *   callback (vd_frame_view), e.g. a small JPEG-ready picture for a
 *   thumbnail. That goes through the same cache.
 * - A subscriber may also keep the frame past its callback (vd_frame_hold)
 *   and convert it later on its own thread, through its own vd_viewer.
 * - Threads: FFmpeg frame+slice threading on all cores. Callbacks run on the
 *   thread that called vd_media_run(), one at a time, in presentation order.
 * - Timestamps: best-effort PTS, in seconds relative to the container's start
 *   (a stream that starts late keeps its offset; VFR keeps its real times).
 *   `index` counts decoded frames of the video stream from 0.
 * - Limits: declared dimensions, duration and stream count are checked
 *   against vd_media_limits before any decoder or buffer is allocated.
 * - Errors mid-file: what was decoded is kept, the run succeeds, and a warning
 *   with the timestamp is recorded (vd_media_warning()).
 *
 * Ownership: arguments are borrowed; vd_media_open() hands the caller a
 * handle to release with vd_media_free() (NULL is fine). Frames passed to
 * callbacks are borrowed and valid only during the callback (vd_frame_hold
 * keeps one longer).
 * Threading: one vd_media is used by one thread at a time; distinct handles
 * are independent. vd_media_cancel() may be called from any thread.
 */
#ifndef VD_MEDIA_MEDIA_H
#define VD_MEDIA_MEDIA_H

#include <stdint.h>

#include "core/err.h"

struct vd_media;

/* Caps checked before allocating anything sized by the file. 0 = no cap. */
struct vd_media_limits {
  int max_width;        /* pixels; default 16384 */
  int max_height;       /* pixels; default 16384 */
  int64_t max_pixels;   /* width*height; default 8192*8192 */
  double max_duration;  /* seconds; default 48 h */
  int max_streams;      /* default 64 */
};
void vd_media_limits_default(struct vd_media_limits *l);

/* Plain description of one stream (filled by vd_media_open). */
struct vd_stream_info {
  int index;
  char type[12];        /* "video", "audio", "subtitle", "data", "attachment" */
  char codec[32];       /* codec short name, "" if unknown */
  char profile[32];
  int64_t bit_rate;     /* bits/s, 0 if unknown */
  double start_time;    /* seconds, relative to container start */
  double duration;      /* seconds, 0 if unknown */
  char language[8];
  /* video */
  int width, height;    /* coded size in pixels */
  char pix_fmt[24];
  int sar_num, sar_den; /* sample aspect ratio, 1:1 if unknown */
  double avg_fps;       /* average frame rate, 0 if unknown */
  double r_fps;         /* real base frame rate (tbr), 0 if unknown */
  int64_t frames;       /* declared frame count, 0 if unknown */
  int rotation;         /* clockwise degrees to display upright: 0/90/180/270 */
  /* audio */
  int channels;
  int sample_rate;      /* Hz */
  char sample_fmt[16];
  char channel_layout[48];
};

struct vd_media_info {
  char container[64];     /* e.g. "mov,mp4,m4a,3gp,3g2,mj2" */
  char container_long[128];
  double duration;        /* seconds, 0 if unknown */
  int64_t size;           /* bytes, -1 if unknown */
  int64_t bit_rate;       /* bits/s, 0 if unknown */
  double start_time;      /* container start in seconds (absolute) */
  int nb_streams;
  struct vd_stream_info *streams; /* nb_streams entries, owned by the vd_media */
  int video;              /* index into streams of the chosen video stream, -1 if none */
  int audio;              /* index into streams of the chosen audio stream, -1 if none */
  /* Convenience for the chosen video stream; 0 when there is none. */
  int display_width, display_height; /* after SAR and rotation */
  int dar_num, dar_den;   /* display aspect ratio, reduced */
  int64_t est_frames;     /* declared frames, or duration*avg_fps when undeclared */
};

/*
 * Opens and probes `path`. On failure returns a negative code and fills `err`
 * with a message that names the file and the reason (not media, empty, too
 * large, unsupported codec, ...). `lim` may be NULL for the defaults.
 */
int vd_media_open(struct vd_media **out, const char *path, const struct vd_media_limits *lim,
                  struct vd_err *err) VD_WUR;
void vd_media_free(struct vd_media *m);
const struct vd_media_info *vd_media_info(const struct vd_media *m);

/* ---- subscriptions ------------------------------------------------------ */

enum vd_pix {
  VD_PIX_GRAY8,    /* 1 plane, 1 byte/pixel */
  VD_PIX_RGB24,    /* packed R,G,B */
  VD_PIX_BGR24,    /* packed B,G,R (OpenCV's order) */
  VD_PIX_HSV24,    /* packed H,S,V as OpenCV 8-bit: H in [0,180), S,V in [0,255] */
  VD_PIX_YUV420P,  /* 3 planes, limited range */
  VD_PIX_YUVJ420P, /* 3 planes, full range (what the MJPEG encoder takes) */
  VD_PIX_COUNT
};

struct vd_video_want {
  double fps;         /* frames per second to deliver; 0 = every decoded frame */
  int keyframes_only; /* deliver only keyframes (decoder skips the rest if all agree) */
  int width, height;  /* output size; 0,0 = native; one 0 = keep aspect */
  int max_side;       /* if > 0 and width,height are 0: scale so the longer
                         side equals max_side (never upscales) */
  enum vd_pix fmt;
  int no_rotate;      /* 1 = coded geometry: no rotation and no sample-aspect
                         correction (cheaper, for analyses that don't care) */
  int cv_resize;      /* packed formats only: convert at the source size, then
                         shrink like OpenCV's resize(INTER_LINEAR) (bilinear
                         sampling, 11-bit fixed point). Costs a full-size
                         colour conversion per frame; gives PySceneDetect's
                         exact pixels, which its thresholds were tuned on */
  int no_convert;     /* 1 = the callback gets the frame's timing only (data
                         NULL, size 0): for a subscriber that vd_frame_hold()s
                         it and converts it on its own thread, so the decode
                         thread does no conversion for it */
};

struct vd_frame {
  int64_t index;      /* decoded frame number, from 0 */
  double time;        /* seconds from container start */
  double duration;    /* seconds, best effort */
  int key;            /* 1 if a keyframe */
  int width, height;
  enum vd_pix fmt;
  uint8_t *data[4];
  int linesize[4];
  void *priv;         /* pipeline-internal: lets vd_frame_view find the source */
};

struct vd_audio_want {
  int sample_rate;    /* Hz; 0 = native */
  int mono;           /* 1 = downmix to one channel; 0 = native channel count */
};

struct vd_audio_chunk {
  double time;        /* seconds from container start of the first sample */
  int nb_samples;     /* per channel */
  int channels;
  int sample_rate;
  const float *samples; /* interleaved float32, nb_samples*channels values */
};

typedef int (*vd_video_fn)(void *opaque, const struct vd_frame *f);
typedef int (*vd_audio_fn)(void *opaque, const struct vd_audio_chunk *a);
/* fraction in [0,1]; return nonzero to cancel. */
typedef int (*vd_progress_fn)(void *opaque, double fraction);

/*
 * Registers a subscriber for the run to come. Returns VD_ERR_NO_STREAM when
 * the file has no stream of that kind, VD_ERR_INVALID for a bad request.
 * A callback that returns a negative code stops the run with that code.
 */
int vd_media_want_video(struct vd_media *m, const struct vd_video_want *w, vd_video_fn fn,
                        void *opaque) VD_WUR;
int vd_media_want_audio(struct vd_media *m, const struct vd_audio_want *w, vd_audio_fn fn,
                        void *opaque) VD_WUR;

/*
 * Another view of the frame `f` (from inside a video callback): converted to
 * `w`'s size, format and rotation (w->fps and keyframes_only are ignored).
 * `out` is valid until the callback returns. Conversions are cached per frame.
 */
int vd_frame_view(const struct vd_frame *f, const struct vd_video_want *w,
                  struct vd_frame *out) VD_WUR;

/*
 * Keeping a frame past its callback, so that heavy per-frame work (neural
 * networks) can run on another thread while decoding goes on.
 * - vd_frame_hold() takes a reference on the decoded picture behind `f`
 *   (no pixel copy: the decoder draws its next pictures in fresh buffers),
 *   with its timing and display geometry. Call it inside the callback.
 * - A vd_viewer is one thread's conversion state (scalers and buffers, one
 *   per distinct view, like the decode pass's own cache). vd_viewer_frame()
 *   converts a held picture as `w` asks and fills `out` like a callback's
 *   frame: vd_frame_view(out, ...) works on it, through the same viewer.
 * Ownership: the caller frees what vd_frame_hold and vd_viewer_new return.
 * `out` and its views are valid until the next vd_viewer_frame() on that
 * viewer, or until the held frame is freed, whichever comes first.
 * Threading: a held frame may be handed to another thread; a viewer is
 * used by one thread at a time.
 */
struct vd_held;
struct vd_viewer;
int vd_frame_hold(const struct vd_frame *f, struct vd_held **out) VD_WUR;
void vd_held_free(struct vd_held *h);
struct vd_viewer *vd_viewer_new(void);
void vd_viewer_free(struct vd_viewer *v);
int vd_viewer_frame(struct vd_viewer *v, const struct vd_held *h, const struct vd_video_want *w,
                    struct vd_frame *out) VD_WUR;

/* Resolves w's output size for a source of (src_w, src_h) after rotation. */
void vd_video_want_size(const struct vd_video_want *w, int src_w, int src_h, int *ow, int *oh);

/*
 * Runs the single decode pass, calling the subscribers. `progress` may be
 * NULL. Returns 0 (possibly with warnings), VD_ERR_CANCELED, or an error.
 * May be called once per handle.
 */
int vd_media_run(struct vd_media *m, vd_progress_fn progress, void *opaque,
                 struct vd_err *err) VD_WUR;

/* Asks a running vd_media_run() to stop soon. Any thread. */
void vd_media_cancel(struct vd_media *m);

/* Warnings recorded during the run (e.g. "decode error at 12.480 s: ..."). */
int vd_media_warning_count(const struct vd_media *m);
const char *vd_media_warning(const struct vd_media *m, int i);

/* Frames delivered from the video decoder during the run. */
int64_t vd_media_decoded_frames(const struct vd_media *m);

/*
 * 1 when the run ended before the declared end of the media or hit decode
 * errors: the results cover only part of the file (truncated or corrupt
 * input). The CLI turns this into a distinct non-zero exit status.
 */
int vd_media_incomplete(const struct vd_media *m);
/* Time of the last decoded video frame or audio sample, seconds. */
double vd_media_decoded_until(const struct vd_media *m);

/* ---- pixel helpers -------------------------------------------------------- */

/* Bytes per pixel of a packed format, or 0 for planar ones. */
int vd_pix_bpp(enum vd_pix fmt);
const char *vd_pix_name(enum vd_pix fmt);

#endif
