/*
 * people.c: the `people` analysis, a post-pass over the `faces` and
 * `scenes` results. Face tracks are clustered into people (characters) by
 * their identity embeddings; each person gets appearances as time ranges
 * with the scenes they fall in, a representative track and box, and counts.
 *
 * DESIGN
 * - Average-linkage agglomerative clustering on cosine similarity, stopped
 *   at `threshold`. Average linkage, not single: one blurred or turned track
 *   that happens to resemble two people must not chain them together; the
 *   whole groups have to be alike on average. The default 0.7 sits in the
 *   wide gap measured with faceres on the shared clips: 0.83-0.92 between
 *   tracks of one face, 0.38-0.49 between different people.
 * - The similarity matrix is updated in place (Lance-Williams for average
 *   linkage), so a merge costs O(n) and the whole run O(n^3) time, O(n^2)
 *   memory; n is capped at PEOPLE_MAX_TRACKS, the longest tracks kept and
 *   the rest reported unassigned with a warning.
 * - Appearances: the union of a person's track ranges, ranges closer than
 *   `gap` seconds joined. A scene counts for an appearance when the face
 *   was actually sighted in it: a range runs one sampling interval past the
 *   last sighting, which may cross a cut into a scene the person is not in.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/cluster.h"
#include "analyze/faces_post.h"
#include "core/util.h"

#define PEOPLE_MAX_TRACKS 600

static double r4(double v) { return round(v * 10000.0) / 10000.0; }

int vd_cluster_avg(const float *v, int n, int dim, double threshold, int *label) {
  if (n <= 0)
    return 0;
  double *sim = vd_xmalloc((size_t)n * (size_t)n * sizeof(double));
  for (int i = 0; i < n; i++)
    for (int j = i; j < n; j++) {
      double d = 0;
      for (int k = 0; k < dim; k++)
        d += (double)v[(size_t)i * (size_t)dim + (size_t)k] * v[(size_t)j * (size_t)dim + (size_t)k];
      sim[(size_t)i * (size_t)n + (size_t)j] = sim[(size_t)j * (size_t)n + (size_t)i] = d;
    }
  int nc = vd_cluster_avg_sim(sim, n, 0, threshold, label);
  free(sim);
  return nc;
}

struct range {
  double start, end;
};

static int cmp_range(const void *a, const void *b) {
  const struct range *x = a, *y = b;
  return (x->start > y->start) - (x->start < y->start);
}

/* Indices of the scenes in which one of the sightings `t[0..n)` (sorted)
 * within [start, end] falls. */
static json_t *scenes_of(json_t *scenes, const double *t, size_t n, double start, double end) {
  json_t *out = json_array(), *sc;
  size_t i;
  json_array_foreach(json_object_get(scenes, "scenes"), i, sc) {
    double s0 = json_number_value(json_object_get(sc, "start_time"));
    double s1 = json_number_value(json_object_get(sc, "end_time"));
    s0 = s0 > start ? s0 : start;
    s1 = s1 < end ? s1 : end + 1e-9;
    if (s1 <= s0)
      continue;
    size_t lo = 0, hi = n; /* first sighting at or after s0 */
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (t[mid] < s0)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo < n && t[lo] < s1)
      json_array_append_new(out, json_copy(json_object_get(sc, "index")));
  }
  return out;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The best-scoring box of a track: where to crop a picture of the person. */
static json_t *best_box(json_t *track) {
  json_t *best = NULL, *b;
  size_t i;
  json_array_foreach(json_object_get(track, "boxes"), i, b) {
    if (!best || json_number_value(json_object_get(b, "score")) >
                     json_number_value(json_object_get(best, "score")))
      best = b;
  }
  if (!best)
    return json_null();
  return json_pack("{s:O,s:O,s:O,s:O,s:O}", "time", json_object_get(best, "time"), "x",
                   json_object_get(best, "x"), "y", json_object_get(best, "y"), "w",
                   json_object_get(best, "w"), "h", json_object_get(best, "h"));
}

/* One person from its tracks (indices into the faces tracks array). */
static json_t *person_json(int id, json_t *tracks, const int *members, int nm, json_t *scenes,
                           const struct vd_people_opts *o) {
  struct range *rg = NULL;
  size_t nr = 0, cap = 0, nst = 0, capst = 0;
  double *st = NULL; /* sighting times */
  json_t *tids = json_array(), *rep = NULL;
  for (int m = 0; m < nm; m++) {
    json_t *t = json_array_get(tracks, (size_t)members[m]), *r;
    size_t i;
    json_array_append_new(tids, json_copy(json_object_get(t, "id")));
    if (!rep || json_integer_value(json_object_get(t, "frames")) >
                    json_integer_value(json_object_get(rep, "frames")))
      rep = t;
    json_array_foreach(json_object_get(t, "boxes"), i, r) {
      if (nst == capst) {
        capst = capst ? 2 * capst : 64;
        st = vd_xrealloc(st, capst * sizeof(*st));
      }
      st[nst++] = json_number_value(json_object_get(r, "time"));
    }
    json_array_foreach(json_object_get(t, "ranges"), i, r) {
      if (nr == cap) {
        cap = cap ? 2 * cap : 16;
        rg = vd_xrealloc(rg, cap * sizeof(*rg));
      }
      rg[nr++] = (struct range){json_number_value(json_object_get(r, "start")),
                                json_number_value(json_object_get(r, "end"))};
    }
  }
  if (nr)
    qsort(rg, nr, sizeof(*rg), cmp_range);
  if (nst)
    qsort(st, nst, sizeof(*st), cmp_double);
  json_t *apps = json_array(), *all_scenes = json_array();
  double total = 0;
  for (size_t i = 0; i < nr;) {
    struct range cur = rg[i++];
    while (i < nr && rg[i].start <= cur.end + o->gap) {
      cur.end = rg[i].end > cur.end ? rg[i].end : cur.end;
      i++;
    }
    total += cur.end - cur.start;
    json_t *sc = scenes_of(scenes, st, nst, cur.start, cur.end), *x;
    size_t k;
    json_array_foreach(sc, k, x) {
      size_t q;
      json_t *y;
      int seen = 0;
      json_array_foreach(all_scenes, q, y) seen |= json_equal(x, y);
      if (!seen)
        json_array_append(all_scenes, x);
    }
    json_array_append_new(apps, json_pack("{s:f,s:f,s:f,s:o}", "start", r4(cur.start), "end",
                                          r4(cur.end), "duration", r4(cur.end - cur.start),
                                          "scenes", sc));
  }
  free(rg);
  free(st);
  json_t *thumb = json_object_get(rep, "thumbnail");
  return json_pack("{s:i,s:I,s:I,s:f,s:f,s:f,s:o,s:o,s:o,s:O,s:o,s:O}", "id", id, "appearance_count",
                   (json_int_t)json_array_size(apps), "track_count", (json_int_t)nm, "first_seen",
                   nr ? json_number_value(json_object_get(json_array_get(apps, 0), "start")) : 0.0,
                   "last_seen",
                   nr ? json_number_value(json_object_get(json_array_get(apps, json_array_size(apps) - 1), "end"))
                      : 0.0,
                   "screen_time", r4(total), "appearances", apps, "scenes", all_scenes, "tracks",
                   tids, "representative_track", json_object_get(rep, "id"), "representative_box",
                   best_box(rep), "thumbnail", thumb ? thumb : json_null());
}

static int cmp_frames_desc(const void *a, const void *b, void *tracks) {
  json_int_t x = json_integer_value(json_object_get(json_array_get(tracks, (size_t)*(const int *)a), "frames"));
  json_int_t y = json_integer_value(json_object_get(json_array_get(tracks, (size_t)*(const int *)b), "frames"));
  if (x != y)
    return x > y ? -1 : 1;
  return *(const int *)a - *(const int *)b;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int vd_people_build(json_t *faces, json_t *scenes, const struct vd_people_opts *o, json_t **out,
                    struct vd_err *err) {
  *out = NULL;
  json_t *tracks = json_object_get(faces, "tracks"), *t;
  if (!json_is_array(tracks))
    return vd_err_set(err, VD_ERR_INVALID, "people: the faces result has no tracks");
  size_t nt = json_array_size(tracks), i;
  int *idx = vd_xmalloc((nt + 1) * sizeof(int)), n = 0, dim = 0;
  json_t *unassigned = json_array();
  json_array_foreach(tracks, i, t) {
    json_t *e = json_object_get(t, "embedding");
    if (json_is_array(e) && json_array_size(e) > 0 &&
        (!dim || json_array_size(e) == (size_t)dim)) {
      dim = (int)json_array_size(e);
      idx[n++] = (int)i;
    } else {
      json_array_append_new(unassigned, json_copy(json_object_get(t, "id")));
    }
  }
  if (nt > 0 && n == 0) {
    free(idx);
    json_decref(unassigned);
    return vd_err_set(err, VD_ERR_INVALID,
                      "people: the face tracks have no embeddings (run faces with embeddings=true)");
  }
  int dropped = 0;
  if (n > PEOPLE_MAX_TRACKS) {
    qsort_r(idx, (size_t)n, sizeof(int), cmp_frames_desc, tracks);
    for (int k = PEOPLE_MAX_TRACKS; k < n; k++)
      json_array_append_new(unassigned, json_copy(json_object_get(json_array_get(tracks, (size_t)idx[k]), "id")));
    dropped = n - PEOPLE_MAX_TRACKS;
    n = PEOPLE_MAX_TRACKS;
    qsort(idx, (size_t)n, sizeof(int), cmp_int);
  }
  float *v = vd_xmalloc((size_t)(n ? n : 1) * (size_t)(dim ? dim : 1) * sizeof(float));
  for (int k = 0; k < n; k++) {
    json_t *e = json_object_get(json_array_get(tracks, (size_t)idx[k]), "embedding");
    double n2 = 0;
    for (int d = 0; d < dim; d++) {
      v[(size_t)k * (size_t)dim + (size_t)d] = (float)json_number_value(json_array_get(e, (size_t)d));
      n2 += (double)v[(size_t)k * (size_t)dim + (size_t)d] * v[(size_t)k * (size_t)dim + (size_t)d];
    }
    /* Stored rounded to 4 digits: renormalise so cosine is a dot product. */
    for (int d = 0; d < dim && n2 > 0; d++)
      v[(size_t)k * (size_t)dim + (size_t)d] = (float)(v[(size_t)k * (size_t)dim + (size_t)d] / sqrt(n2));
  }
  int *label = vd_xmalloc((size_t)(n ? n : 1) * sizeof(int));
  int nc = vd_cluster_avg(v, n, dim, o->threshold, label);
  int *members = vd_xmalloc((size_t)(n ? n : 1) * sizeof(int));
  json_t *people = json_array();
  for (int c = 0; c < nc; c++) {
    int nm = 0;
    for (int k = 0; k < n; k++)
      if (label[k] == c)
        members[nm++] = idx[k];
    json_array_append_new(people, person_json(c, tracks, members, nm, scenes, o));
  }
  *out = json_pack("{s:f,s:I,s:I,s:o,s:o}", "threshold", o->threshold, "count", (json_int_t)nc,
                   "tracks_clustered", (json_int_t)n, "people", people, "unassigned", unassigned);
  if (dropped)
    json_object_set_new(*out, "tracks_not_clustered", json_integer(dropped));
  free(idx);
  free(v);
  free(label);
  free(members);
  return 0;
}

/* ---- the analysis -------------------------------------------------------------- */

static const struct vd_param_def people_params[] = {
    {"threshold", VD_PARAM_NUM, "0.7", -1, 1, NULL,
     "cosine similarity (average over the two groups' tracks) at which face tracks are the "
     "same person; faceres measured 0.83-0.92 same face, 0.38-0.49 different people"},
    {"gap", VD_PARAM_NUM, "1", 0, 3600, NULL,
     "seconds: a person's appearances closer than this count as one"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static const char *const people_deps[] = {"faces", "scenes", NULL};

static int people_finish(struct vd_actx *c, json_t **result) {
  json_t *faces = vd_actx_dep_result(c, "faces");
  if (!faces)
    return vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL, "people: no faces result");
  struct vd_people_opts o = {.threshold = vd_actx_num(c, "threshold"), .gap = vd_actx_num(c, "gap")};
  int ret = vd_people_build(faces, vd_actx_dep_result(c, "scenes"), &o, result, vd_actx_err(c));
  json_t *nc = ret == 0 ? json_object_get(*result, "tracks_not_clustered") : NULL;
  if (nc)
    vd_actx_warn(c, "%lld face tracks beyond the %d longest were not clustered",
                 (long long)json_integer_value(nc), PEOPLE_MAX_TRACKS);
  return ret;
}

const struct vd_analysis_def vd_analysis_people = {
    .name = "people",
    .summary = "Face tracks clustered into people by identity embedding (average linkage): each "
               "person's appearances as time ranges with their scenes, and a representative track.",
    .params = people_params,
    .deps = people_deps,
    .priv_size = 0,
    .init = NULL,
    .video = NULL,
    .audio = NULL,
    .finish = people_finish,
    .uninit = NULL,
};
