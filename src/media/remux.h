/*
 * remux: cuts time ranges out of a media file by stream copy (no decoding,
 * no re-encoding), e.g. one file per scene.
 *
 * DESIGN
 * - A stream-copied clip can only start on a keyframe of the video stream,
 *   because every other frame refers to earlier ones. vd_remux_cut() starts
 *   each clip at the LAST video keyframe at or before the requested start:
 *   the clip then holds a short pre-roll before the requested instant, and
 *   never misses a frame of it. The actual start is reported back.
 * - Every audio and video stream is copied (cover art, subtitles and data
 *   are not). Timestamps are rebased so each clip starts at 0.
 * - The output container follows the input's family: mp4 for mp4/mov, else
 *   Matroska (which holds any codec). vd_remux_ext() says which.
 * - Finding the keyframe: seek backwards to the start and scan the packets
 *   up to it; if the demuxer's seek landed past every keyframe (sparse or
 *   missing index), seek further back and scan again. Memory is one packet.
 *
 * Ownership: arguments are borrowed; vd_remux_open() hands the caller a
 * handle to release with vd_remux_free() (NULL is fine).
 * Threading: one handle is used by one thread at a time.
 */
#ifndef VD_MEDIA_REMUX_H
#define VD_MEDIA_REMUX_H

#include <stdint.h>

#include "core/err.h"
#include "media/media.h"

struct vd_remux;

/* What vd_remux_cut() wrote. Times are seconds from the container start. */
struct vd_remux_clip {
  double start;          /* time of the keyframe the clip starts on */
  double end;            /* end of the last copied video frame */
  int64_t video_packets; /* video frames copied (pre-roll included) */
};

/*
 * Opens `path` for cutting. Fails with VD_ERR_NOT_MEDIA when it cannot be
 * read and VD_ERR_NO_STREAM when it has no audio or video stream to copy.
 */
int vd_remux_open(struct vd_remux **out, const char *path, struct vd_err *err) VD_WUR;
void vd_remux_free(struct vd_remux *rx);

/* File extension of the clips, without the dot: "mp4" or "mkv". */
const char *vd_remux_ext(const struct vd_remux *rx);

/*
 * Writes the range [start, end) (seconds from the container start) to
 * `path` by stream copy, starting at the video keyframe at or before
 * `start` (see DESIGN). A video frame is in the range when its presentation
 * time is before `end` by more than half a frame. `progress` (may be NULL)
 * gets the fraction of this range done; a nonzero return cancels with
 * VD_ERR_CANCELED. On failure the partial file is removed.
 */
int vd_remux_cut(struct vd_remux *rx, double start, double end, const char *path,
                 struct vd_remux_clip *out, vd_progress_fn progress, void *opaque,
                 struct vd_err *err) VD_WUR;

#endif
