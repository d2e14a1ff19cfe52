/*
 * faces_post: the pure halves of the post-pass analyses that read the
 * `faces` result: `emotions` (restructures the expression probabilities
 * faces already computed, so the emotion model runs once) and `people`
 * (clusters face tracks into people by embedding). Kept apart from the
 * analysis glue so unit tests can feed them hand-made faces results.
 *
 * Also the annotated video of `faces`, which draws with the emotions
 * post-pass's smoothed labels.
 *
 * Ownership: arguments are borrowed; returned JSON belongs to the caller.
 * Threading: pure functions, any thread.
 */
#ifndef VD_ANALYZE_FACES_POST_H
#define VD_ANALYZE_FACES_POST_H

#include <jansson.h>

#include "analyze/analyze.h"
#include "core/err.h"

struct vd_emotions_opts {
  double duration; /* seconds of video; <= 0 = up to the last face */
  double bucket;   /* seconds per point of the whole-video series, > 0 */
  double window;   /* seconds of the centred moving average per track; 0 = none */
};

/*
 * Builds the emotions result from a faces result whose boxes carry
 * "emotions" (7 probabilities in vd_emotion_labels order). Fails with
 * VD_ERR_INVALID when they do not (faces ran with emotions=false).
 */
int vd_emotions_build(json_t *faces, const struct vd_emotions_opts *o, json_t **out,
                      struct vd_err *err) VD_WUR;

/*
 * Average-linkage agglomerative clustering of `n` unit vectors of `dim`
 * floats (row-major in `v`): merges the two closest clusters while their
 * mean pairwise cosine similarity is at least `threshold`. Writes each
 * vector's cluster in `label`, numbered from 0 in order of each cluster's
 * first member; returns the number of clusters. O(n^2) memory and O(n^3)
 * time, so the caller caps n.
 */
int vd_cluster_avg(const float *v, int n, int dim, double threshold, int *label);

struct vd_people_opts {
  double threshold; /* cosine similarity at which tracks join one person */
  double gap;       /* seconds: appearances of one person closer than this merge */
};

/*
 * Builds the people result from a faces result (tracks with "embedding"
 * and "ranges") and a scenes result (may be NULL: no scene numbers).
 * Tracks without an embedding are reported under "unassigned".
 */
int vd_people_build(json_t *faces, json_t *scenes, const struct vd_people_opts *o, json_t **out,
                    struct vd_err *err) VD_WUR;

/*
 * Writes the annotated video (faces_annotate.c) to `path`: a second decode
 * pass over the run's input, every face of the `faces` result circled and
 * labelled, H.264, the audio copied. On success *info is {"file", "frames",
 * "audio": "copied"|"none"|"dropped"}; on failure no file is left behind.
 */
int vd_faces_annotate(struct vd_actx *c, json_t *faces, const char *path, json_t **info,
                      struct vd_err *err) VD_WUR;

#endif
