/*
 * annotate: what the analyses that draw on the input share: drawing on a
 * YUV 4:2:0 canvas (rings, lines, dots, text in a built-in 5x7 font on a
 * dark plate), and writing the drawn copy of the input: a video (second
 * decode pass, every frame, H.264 through src/media/encode.c, the input's
 * audio copied without re-encoding) or, for a still image, a JPEG.
 *
 * Used by faces (faces.mp4) and pose (pose.mp4, pose.jpg). The caller's
 * draw callback gets each frame's canvas and time and draws what it knows
 * for that time; everything else (sizes, encoder, audio, progress,
 * cancellation, cleanup of half-written files) is here.
 *
 * Ownership: arguments are borrowed; *info (a JSON object) goes to the
 * caller. Threading: a call runs on the caller's thread (an analysis's
 * finish()); the canvas is the call's own.
 */
#ifndef VD_ANALYZE_ANNOTATE_H
#define VD_ANALYZE_ANNOTATE_H

#include <jansson.h>
#include <stdint.h>

#include "analyze/analyze.h"
#include "core/err.h"

/* Three planes, chroma at half resolution both ways. */
struct vd_canvas {
  uint8_t *p[3];
  int ls[3];
  int w, h;
};

struct vd_yuv {
  uint8_t y, u, v;
};

/* Distinct colours (BT.601 limited range): yellow, cyan, green, magenta,
 * orange, white. */
#define VD_PALETTE_N 6
extern const struct vd_yuv vd_palette[VD_PALETTE_N];

/* One pixel; outside the canvas is ignored (so are all the shapes' parts). */
void vd_canvas_put(struct vd_canvas *cv, int x, int y, struct vd_yuv c);
/* A ring of thickness `th` just inside the ellipse centred at cx,cy with semi-axes a, b. */
void vd_canvas_ellipse(struct vd_canvas *cv, double cx, double cy, double a, double b, double th,
                       struct vd_yuv c);
/* A filled disc. */
void vd_canvas_disc(struct vd_canvas *cv, double cx, double cy, double r, struct vd_yuv c);
/* A segment `th` pixels thick, with round ends. */
void vd_canvas_line(struct vd_canvas *cv, double x0, double y0, double x1, double y1, double th,
                    struct vd_yuv c);
/* Text at x,y (top left), glyphs scaled by `s`, on a dark plate. Letters,
 * digits, '#', '-', '.'; anything else is blank. */
void vd_canvas_text(struct vd_canvas *cv, int x, int y, int s, const char *str, struct vd_yuv c);

/* Draws the annotations for the frame at `time` (seconds) onto `cv`. */
typedef void (*vd_annot_draw_fn)(void *opaque, struct vd_canvas *cv, double time);

struct vd_annot_opts {
  const char *what;  /* "faces": prefixes error messages */
  const char *file;  /* artifact name reported in *info ("faces.mp4") */
  const char *stage; /* progress stage, "writing the annotated video" */
  vd_annot_draw_fn draw;
  void *opaque;
};

/*
 * Writes the input with annotations to `path` (MP4): every frame at the
 * display size (at most 1280 px on the longer side, even sides), H.264
 * superfast, the input's audio copied when MP4 can hold it (else a warning).
 * *info = {"file", "frames", "audio": "copied"|"dropped"|"none"}. On failure
 * nothing is left at `path`.
 */
int vd_annot_video(struct vd_actx *c, const char *path, const struct vd_annot_opts *o,
                   json_t **info, struct vd_err *err) VD_WUR;

/*
 * Writes the input's first frame with annotations (at time 0 and at the
 * frame's own time) to `path` as a JPEG, at the display size (at most 1280
 * px on the longer side). For still images. *info = {"file", "frames": 1}.
 */
int vd_annot_image(struct vd_actx *c, const char *path, const struct vd_annot_opts *o,
                   json_t **info, struct vd_err *err) VD_WUR;

#endif
