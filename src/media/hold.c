/*
 * hold.c: frames kept past their callback (vd_frame_hold) and converted on
 * another thread through that thread's own view cache (vd_viewer).
 *
 * A held frame is an AVFrame reference plus the timing and geometry the
 * pass gave it, so views of it come out exactly as they would have inside
 * the callback. Views are cached per viewer by serial; serials of held
 * frames come from one process-wide counter, so a viewer never mistakes
 * one held picture for another, whatever pass they came from.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "core/util.h"
#include "media/media_int.h"

struct vd_held {
  AVFrame *ref;
  struct vd_frame meta; /* index, time, duration, key */
  struct vd__fsrc geo;  /* sar, rotation, serial; vc and src set per view */
};

struct vd_viewer {
  struct vd__views vc;
  struct vd__fsrc fs; /* what the last delivered frame's priv points at */
};

static atomic_llong held_serial;

int vd_frame_hold(const struct vd_frame *f, struct vd_held **out) {
  const struct vd__fsrc *fs = f->priv;
  *out = NULL;
  if (!fs)
    return VD_ERR_INVALID;
  AVFrame *ref = av_frame_clone(fs->src);
  if (!ref)
    return VD_ERR_INTERNAL; /* out of memory */
  struct vd_held *h = vd_xcalloc(1, sizeof(*h));
  h->ref = ref;
  h->meta = (struct vd_frame){.index = f->index, .time = f->time, .duration = f->duration,
                              .key = f->key};
  h->geo = *fs;
  h->geo.vc = NULL;
  h->geo.src = NULL;
  h->geo.serial = atomic_fetch_add(&held_serial, 1);
  *out = h;
  return 0;
}

void vd_held_free(struct vd_held *h) {
  if (!h)
    return;
  av_frame_free(&h->ref);
  free(h);
}

struct vd_viewer *vd_viewer_new(void) { return vd_xcalloc(1, sizeof(struct vd_viewer)); }

void vd_viewer_free(struct vd_viewer *v) {
  if (!v)
    return;
  vd__views_free(&v->vc);
  free(v);
}

int vd_viewer_frame(struct vd_viewer *v, const struct vd_held *h, const struct vd_video_want *w,
                    struct vd_frame *out) {
  v->fs = h->geo;
  v->fs.vc = &v->vc;
  v->fs.src = h->ref;
  *out = h->meta;
  out->priv = &v->fs;
  return vd__view_get(&v->fs, w, out);
}
