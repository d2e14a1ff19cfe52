/*
 * jpeg: small JPEG pictures for thumbnails (scene thumbnails, face
 * thumbnails). A vd_picture is an owned, tightly packed full-range YUV 4:2:0
 * copy of a view, small enough to keep one per scene or per face track while
 * the single decode pass goes on; vd_jpeg_write() encodes one with
 * libavcodec's MJPEG encoder into a file, atomically.
 *
 * Ownership: arguments are borrowed; a vd_picture's buffer belongs to the
 * picture and is released with vd_picture_fini() (a zeroed picture is fine).
 * Threading: no shared state; any thread.
 */
#ifndef VD_MEDIA_JPEG_H
#define VD_MEDIA_JPEG_H

#include <stdint.h>

#include "core/err.h"
#include "media/media.h"

struct vd_picture {
  int width, height; /* pixels; 0 when empty */
  uint8_t *buf;      /* Y (width*height), then U, then V ((width+1)/2 * (height+1)/2 each) */
};

/* Copies a VD_PIX_YUVJ420P frame (e.g. a vd_frame_view) into `p`, replacing
 * what `p` held. VD_ERR_INVALID for another format or an empty frame. */
int vd_picture_copy(struct vd_picture *p, const struct vd_frame *yuvj) VD_WUR;

/*
 * Crops the rectangle (x, y, w, h), in pixels, of a VD_PIX_RGB24 frame
 * (clamped to the frame), shrinks it by area averaging so that its longer
 * side is at most `max_side` (never enlarges), and stores it in `p` as
 * full-range YUV (BT.601, what JPEG uses), replacing what `p` held.
 * VD_ERR_INVALID for another format or a rectangle outside the frame.
 */
int vd_picture_crop_rgb(struct vd_picture *p, const struct vd_frame *rgb, int x, int y, int w,
                        int h, int max_side) VD_WUR;

/* A VD_PIX_YUVJ420P frame that points into `p` (valid while `p` is). */
void vd_picture_view(const struct vd_picture *p, struct vd_frame *out);

void vd_picture_fini(struct vd_picture *p);

/*
 * Encodes a VD_PIX_YUVJ420P frame as a baseline JPEG and writes it to
 * `path` through a temp file and rename, so a reader never sees half a
 * picture. `qscale` is MJPEG's quantiser, 1 (best) to 31; 0 picks 4, clean
 * at thumbnail size (~10 KB for 320x180). Returns 0, VD_ERR_INVALID for a
 * bad frame, VD_ERR_UNSUPPORTED without an MJPEG encoder, or VD_ERR_ENCODE
 * (with `err` naming the file) when encoding or writing fails.
 */
int vd_jpeg_write(const char *path, const struct vd_frame *yuvj, int qscale,
                  struct vd_err *err) VD_WUR;

#endif
