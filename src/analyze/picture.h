/*
 * picture: what the analyses that feed a square neural-network input share
 * (objects, pose): telling a still image from a
 * video, asking the pipeline for frames whose longer side is the model's,
 * and centring such a frame on black in the model's square input.
 *
 * Ownership: arguments are borrowed. Threading: pure functions, any thread.
 */
#ifndef VD_ANALYZE_PICTURE_H
#define VD_ANALYZE_PICTURE_H

#include "media/media.h"

/* 1 when the input is a single picture: FFmpeg's image2 and *_pipe demuxers
 * (png_pipe, jpeg_pipe, ...). */
int vd_picture_is_still(const struct vd_media_info *mi);

/*
 * Sets w->width and w->height to the display size `dw` x `dh` scaled so that
 * its longer side is `side` (aspect kept; smaller pictures are enlarged),
 * each at least 1. Other fields of `w` are left alone.
 */
void vd_picture_fit(struct vd_video_want *w, int dw, int dh, int side);

/*
 * Writes the packed RGB24 frame `f` (at most side x side; larger is cropped)
 * centred on black into `dst`, a side x side x 3 float image (pixel values
 * 0..255, NHWC). *px and *py receive the left and top margins.
 */
void vd_picture_letterbox(float *dst, int side, const struct vd_frame *f, int *px, int *py);

#endif
