/*
 * encode: writes a video file from frames the pipeline decoded: H.264
 * (libavcodec's libx264) plus optional AAC audio, in the container the file
 * name's extension picks (.mp4, .mkv). Used for frame-exact clips and, later,
 * annotated videos.
 *
 * DESIGN
 * - The caller feeds YUV420P frames of exactly the opened size with their
 *   times in seconds from the start of the output, and interleaved float
 *   audio in the opened layout. The encoder turns times into timestamps in
 *   a 1/fps time base, never letting them go backwards (VFR input keeps its
 *   frame count; times are rounded to the nominal grid).
 * - Audio is buffered only to AAC's frame size (1024 samples per channel).
 * - Memory is bounded by the encoder's lookahead, not by the video length.
 *
 * Ownership: arguments are borrowed; vd_encoder_new() hands the caller a
 * handle to release with vd_encoder_free() (NULL is fine). Freeing a handle
 * that was not finished leaves a truncated file, which the caller removes.
 * Threading: one handle is used by one thread at a time.
 */
#ifndef VD_MEDIA_ENCODE_H
#define VD_MEDIA_ENCODE_H

#include <stdint.h>

#include "core/err.h"
#include "media/media.h"

struct vd_encoder;

struct vd_encoder_opts {
  int width, height;   /* pixels, both even */
  double fps;          /* nominal frame rate (time base and rate control) */
  int sample_rate;     /* Hz; 0 = no audio track */
  int channels;        /* 1..8 when sample_rate > 0 */
  int crf;             /* x264 constant rate factor; 0 = 20 */
  const char *preset;  /* x264 preset; NULL = "veryfast" */
  int gop;             /* most frames between keyframes; 0 = about 2 s */
};

/* Creates `path` and writes its header. VD_ERR_UNSUPPORTED when no H.264 or
 * AAC encoder is built in, VD_ERR_INVALID for bad options. */
int vd_encoder_new(struct vd_encoder **out, const char *path, const struct vd_encoder_opts *o,
                   struct vd_err *err) VD_WUR;

/* Encodes one VD_PIX_YUV420P frame of the opened size, shown at `t` seconds
 * from the start of the output. */
int vd_encoder_video(struct vd_encoder *e, const struct vd_frame *f, double t,
                     struct vd_err *err) VD_WUR;

/* Encodes `nb_samples` per channel of interleaved float audio. The first
 * call places the track at `t` seconds from the start; later calls continue
 * it without gaps (`t` is then ignored). */
int vd_encoder_audio(struct vd_encoder *e, const float *samples, int nb_samples, double t,
                     struct vd_err *err) VD_WUR;

/* Flushes the encoders and writes the trailer. */
int vd_encoder_finish(struct vd_encoder *e, struct vd_err *err) VD_WUR;

/* Video frames accepted so far. */
int64_t vd_encoder_frames(const struct vd_encoder *e);

void vd_encoder_free(struct vd_encoder *e);

#endif
