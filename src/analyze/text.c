/*
 * text.c: the `text` analysis. Reads on-screen text (titles, captions,
 * signs, slides) with Tesseract OCR at a modest sampling rate (1 fps by
 * default) and merges what consecutive samples read into timed segments.
 *
 * DESIGN
 * - Threaded: OCR takes a few hundred milliseconds a frame, so it runs on
 *   the analysis's own worker while decoding goes on (analyze.h).
 * - One subscription: grey frames, display geometry, sized for Tesseract:
 *   the longer side at most max_side (1280), and small video (longer side
 *   up to 640 px) upscaled 2x, since Tesseract reads letters best when they
 *   are 20-40 px tall: at 640x360 a 32 px caption on a gradient lost its
 *   first letter read as it is, and came out whole at 2x (OCR then costs
 *   about three times as much, still ~0.2 s a frame).
 * - Skipping: slides and captions stay for seconds, so a frame that looks
 *   like the last one OCR'd reuses its result. "Looks like" is measured on
 *   a 256 px grey thumbnail in 8x8 tiles: the largest tile's mean change
 *   must stay under same_diff. A tile is about 40 px of a 1280 px frame, so
 *   one changed caption word moves its tile well past the threshold while
 *   compression noise, averaged over the tile, does not; a mean over the
 *   whole thumbnail would drown a caption change in an unchanged picture.
 * - Merging and noise rules live in text_merge.c, Tesseract in text_ocr.c.
 * - With an output folder, text.srt holds one cue per segment (the SRT
 *   writer of subtitles.c).
 * - Memory: two thumbnails, the last OCR result and the segments (a few
 *   hundred bytes per line of text on screen).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/subtitles.h"
#include "analyze/text_merge.h"
#include "analyze/text_ocr.h"
#include "core/util.h"

#define THUMB_SIDE 256 /* longer side of the change-detection thumbnail, px */
#define TILE 8         /* side of a change-detection tile, thumbnail px */
#define UPSCALE_MAX 640 /* longer side up to which video is read at 2x */

struct text {
  struct vd_textocr *ocr;
  struct vd_text_merger *merge;
  double fps, same_diff;
  int width, height;           /* the picture OCR reads */
  uint8_t *thumb, *prev_thumb; /* THUMB_SIDE^2 each; prev = last OCR'd frame */
  int tw, th, have_prev;
  struct vd_text_sample last;  /* lines read in the last OCR'd frame */
  int64_t sampled, ocr_runs, timeouts;
  double ocr_seconds;
};

static const struct vd_param_def text_params[] = {
    {"fps", VD_PARAM_NUM, "1", 0.05, 10, NULL,
     "frames per second to read; text shorter than one interval may be missed"},
    {"lang", VD_PARAM_STR, "eng", 1, 0, NULL,
     "Tesseract language(s), e.g. \"eng\" or \"eng+deu\"; each needs its Debian package "
     "tesseract-ocr-<lang>"},
    {"min_confidence", VD_PARAM_NUM, "0.6", 0, 1, NULL,
     "OCR confidence (0..1) a word needs; lower keeps more faint text, and more garbage read "
     "from textures"},
    {"layout", VD_PARAM_ENUM, "sparse", 1, 0, "sparse|page",
     "sparse: scattered lines anywhere in the frame (captions, titles, signs); page: columns and "
     "paragraphs (slides, documents)"},
    {"max_side", VD_PARAM_INT, "1280", 320, 3840, NULL,
     "longer side of the picture read, px; video up to 640 px is read at twice its size"},
    {"same_diff", VD_PARAM_NUM, "4", 0, 255, NULL,
     "largest mean grey change (0..255) of any 8x8 tile of a 256 px thumbnail under which a "
     "frame reuses the last frame's reading; 0 = read every sample"},
    {"light_text", VD_PARAM_BOOL, "true", 1, 0, NULL,
     "a second OCR pass over the frame's light pixels (grey >= 200) as ink, for white captions "
     "on dark boxes or with outlines, which Tesseract misses as they are; about doubles OCR time"},
    {"confirm", VD_PARAM_BOOL, "true", 1, 0, NULL,
     "keep a line only when the sample before or after reads it too (alike text, overlapping "
     "box): drops texture read as letters, and text shown for a single sample"},
    {"max_ocr_seconds", VD_PARAM_NUM, "1", 0, 600, NULL,
     "CPU seconds OCR may spend on one frame (the OCR thread's time, so a busy machine does "
     "not cut it short); a frame that takes longer (fine texture cut into would-be letters) "
     "keeps what was read by then and counts in timed_out_frames; 0 = no limit"},
    {"merge_distance", VD_PARAM_NUM, "0.25", 0, 1, NULL,
     "edit distance (0..1, relative to the longer text) under which consecutive readings are "
     "one segment"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* The OCR picture size for a (w x h) display. */
static void ocr_size(int w, int h, int max_side, int *ow, int *oh) {
  int longer = w > h ? w : h;
  double scale = longer <= UPSCALE_MAX && longer * 2 <= max_side ? 2.0
                 : longer > max_side                          ? (double)max_side / longer
                                                              : 1;
  *ow = ((int)lround(w * scale) + 1) & ~1;
  *oh = ((int)lround(h * scale) + 1) & ~1;
}

static int text_init(struct vd_actx *c) {
  struct text *s = vd_actx_priv(c);
  struct vd_err *err = vd_actx_err(c);
  const struct vd_media_info *mi = vd_actx_media_info(c);
  struct vd_textocr_opts o = {
      .lang = vd_actx_str(c, "lang"),
      .min_confidence = (float)vd_actx_num(c, "min_confidence"),
      .psm = !strcmp(vd_actx_str(c, "layout"), "page") ? 3 : 11,
      .max_seconds = vd_actx_num(c, "max_ocr_seconds"),
      .light_text = vd_actx_bool(c, "light_text"),
  };
  int rc = vd_textocr_new(&s->ocr, &o, err);
  if (rc < 0)
    return rc;
  s->fps = vd_actx_num(c, "fps");
  s->same_diff = vd_actx_num(c, "same_diff");
  s->merge = vd_text_merger_new(1.0 / s->fps, vd_actx_num(c, "merge_distance"),
                                vd_actx_bool(c, "confirm"));
  s->thumb = vd_xmalloc(THUMB_SIDE * THUMB_SIDE);
  s->prev_thumb = vd_xmalloc(THUMB_SIDE * THUMB_SIDE);
  struct vd_video_want w = {.fps = s->fps, .fmt = VD_PIX_GRAY8};
  if (mi && mi->display_width > 0 && mi->display_height > 0)
    ocr_size(mi->display_width, mi->display_height, (int)vd_actx_int(c, "max_side"), &w.width,
             &w.height);
  else
    w.max_side = (int)vd_actx_int(c, "max_side");
  return vd_actx_want_video(c, &w);
}

/* Copies frame `f`'s change-detection thumbnail into s->thumb. */
static int take_thumb(struct text *s, const struct vd_frame *f) {
  struct vd_frame t;
  if (vd_frame_view(f, &(struct vd_video_want){.max_side = THUMB_SIDE, .fmt = VD_PIX_GRAY8}, &t) <
      0)
    return -1;
  s->tw = t.width < THUMB_SIDE ? t.width : THUMB_SIDE;
  s->th = t.height < THUMB_SIDE ? t.height : THUMB_SIDE;
  for (int y = 0; y < s->th; y++)
    memcpy(s->thumb + (size_t)y * (size_t)s->tw, t.data[0] + (size_t)y * (size_t)t.linesize[0],
           (size_t)s->tw);
  return 0;
}

/* Largest mean absolute change of a TILE x TILE tile between the thumbnails. */
static double tile_diff(const struct text *s) {
  double worst = 0;
  for (int ty = 0; ty < s->th; ty += TILE)
    for (int tx = 0; tx < s->tw; tx += TILE) {
      int sum = 0, n = 0;
      for (int y = ty; y < ty + TILE && y < s->th; y++)
        for (int x = tx; x < tx + TILE && x < s->tw; x++) {
          int a = s->thumb[y * s->tw + x], b = s->prev_thumb[y * s->tw + x];
          sum += a > b ? a - b : b - a;
          n++;
        }
      double m = (double)sum / n;
      worst = m > worst ? m : worst;
    }
  return worst;
}

static int text_video(struct vd_actx *c, const struct vd_frame *f) {
  struct text *s = vd_actx_priv(c);
  s->sampled++;
  s->width = f->width;
  s->height = f->height;
  int have_thumb = take_thumb(s, f) == 0;
  int same = have_thumb && s->have_prev && s->same_diff > 0 && tile_diff(s) < s->same_diff;
  if (!same) {
    vd_text_sample_clear(&s->last);
    double t0 = vd_now();
    int timed_out = 0;
    int rc = vd_textocr_run(s->ocr, f->data[0], f->width, f->height, f->linesize[0], &s->last,
                            &timed_out, vd_actx_err(c));
    s->ocr_seconds += vd_now() - t0;
    if (rc < 0)
      return rc;
    s->timeouts += timed_out;
    s->ocr_runs++;
    if (have_thumb) { /* the reference for the next frames is this one */
      uint8_t *tmp = s->prev_thumb;
      s->prev_thumb = s->thumb;
      s->thumb = tmp;
      s->have_prev = 1;
    }
  }
  s->last.time = f->time;
  vd_text_merger_add(s->merge, &s->last);
  return 0;
}

/* text.srt: one cue per segment (when the run has an output folder), so
 * burned-in captions come back as a subtitle file. */
static int write_srt(struct vd_actx *c, json_t *segs) {
  char *path = vd_actx_artifact_path(c, "text.srt");
  if (!path)
    return 0;
  size_t n = json_array_size(segs);
  struct vd_cue *cues = vd_xcalloc(n ? n : 1, sizeof(*cues));
  for (size_t i = 0; i < n; i++) {
    json_t *seg = json_array_get(segs, i);
    cues[i].start = json_real_value(json_object_get(seg, "start"));
    cues[i].end = json_real_value(json_object_get(seg, "end"));
    cues[i].text = (char *)json_string_value(json_object_get(seg, "text")); /* borrowed */
  }
  FILE *f = fopen(path, "w");
  int rc = f ? vd_subs_write(f, VD_SUBS_SRT, cues, n, VD_SUBS_LINE_CHARS) : -errno;
  if (f && fclose(f) != 0 && rc == 0)
    rc = VD_ERR_INTERNAL;
  if (rc < 0)
    vd_err_set(vd_actx_err(c), rc, "text: cannot write %s: %s", path, vd_strerror(rc));
  free(cues);
  free(path);
  return rc;
}

static int text_finish(struct vd_actx *c, json_t **result) {
  struct text *s = vd_actx_priv(c);
  const struct vd_media_info *mi = vd_actx_media_info(c);
  long long words = 0;
  json_t *segs = vd_text_merger_finish(s->merge, mi ? mi->duration : 0, &words);
  int rc = write_srt(c, segs);
  if (rc < 0) {
    json_decref(segs);
    return rc;
  }
  if (s->timeouts)
    vd_actx_warn(c, "OCR was cut short on %lld of %lld frames by max_ocr_seconds (fine texture?)",
                 (long long)s->timeouts, (long long)s->ocr_runs);
  *result = json_pack("{s:s, s:f, s:I, s:I, s:I, s:I, s:f, s:i, s:i, s:o, s:I}", "lang",
                      vd_actx_str(c, "lang"), "fps", s->fps, "sampled_frames", (json_int_t)s->sampled,
                      "ocr_frames", (json_int_t)s->ocr_runs, "reused_frames",
                      (json_int_t)(s->sampled - s->ocr_runs), "timed_out_frames",
                      (json_int_t)s->timeouts, "ocr_seconds",
                      round(s->ocr_seconds * 1000.0) / 1000.0, "width", s->width, "height",
                      s->height, "segments", segs, "words", (json_int_t)words);
  return *result ? 0 : vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL, "text: out of memory");
}

static void text_uninit(struct vd_actx *c) {
  struct text *s = vd_actx_priv(c);
  vd_textocr_free(s->ocr);
  vd_text_merger_free(s->merge);
  vd_text_sample_clear(&s->last);
  free(s->thumb);
  free(s->prev_thumb);
}

const struct vd_analysis_def vd_analysis_text = {
    .name = "text",
    .summary = "On-screen text (titles, captions, signs, slides) read with Tesseract OCR, as "
               "timed segments of lines with boxes and confidences.",
    .params = text_params,
    .priv_size = sizeof(struct text),
    .threaded = 1,
    .init = text_init,
    .video = text_video,
    .finish = text_finish,
    .uninit = text_uninit,
};
