/*
 * picture.c: still-image detection, fitting a frame to a model's side, and
 * letterboxing it into the model's square input (see picture.h).
 */
#include "analyze/picture.h"

#include <math.h>
#include <string.h>

int vd_picture_is_still(const struct vd_media_info *mi) {
  size_t n = strlen(mi->container);
  return strstr(mi->container, "image2") != NULL ||
         (n > 5 && strcmp(mi->container + n - 5, "_pipe") == 0);
}

void vd_picture_fit(struct vd_video_want *w, int dw, int dh, int side) {
  if (dw >= dh) {
    w->width = side;
    w->height = (int)lround((double)side * dh / dw);
  } else {
    w->height = side;
    w->width = (int)lround((double)side * dw / dh);
  }
  w->width = w->width < 1 ? 1 : w->width;
  w->height = w->height < 1 ? 1 : w->height;
}

void vd_picture_letterbox(float *dst, int side, const struct vd_frame *f, int *px, int *py) {
  int w = f->width < side ? f->width : side, h = f->height < side ? f->height : side;
  *px = (side - w) / 2;
  *py = (side - h) / 2;
  memset(dst, 0, (size_t)side * (size_t)side * 3 * sizeof(float));
  for (int y = 0; y < h; y++) {
    const uint8_t *row = f->data[0] + (size_t)y * (size_t)f->linesize[0];
    float *o = dst + ((size_t)(y + *py) * (size_t)side + (size_t)*px) * 3;
    for (int k = 0; k < w * 3; k++)
      o[k] = row[k];
  }
}
