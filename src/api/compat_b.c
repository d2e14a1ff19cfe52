/*
 * compat_b.c: the routes of the earlier scene-and-storyline analyzer
 * (shared/compat.md section B, seed 003): /api/sample-videos,
 * /api/analyze and /api/analysis/{task_id}.
 *
 * A task is an ordinary job running probe + scenes + audio + storylines
 * (+ transcript when that analysis exists); this file reshapes its result
 * into the seed's JSON. Each scene's audio_features come from the audio
 * analysis's per-scene segments (librosa's definitions, as the seed
 * computed them).
 * - Storylines come from the storylines analysis (num_storylines passed
 *   as its parameter): scenes grouped by shared colour, people, words and
 *   sound, so a storyline may hold scenes that are not adjacent. A task
 *   whose result lacks it (stored before it existed, or the file had no
 *   picture to compare) falls back to num_storylines runs of consecutive
 *   scenes of about equal count.
 * - Transcript segments are placed in the scene holding their midpoint:
 *   that scene's audio_analysis.transcript is their text, and the result's
 *   segments[] lists each with its times in the video and in the scene.
 * - Fields that need analyses vidan does not have yet (speakers, emotions),
 *   or that one did not measure, are null, never invented; segments is
 *   empty without a transcript.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyze/analyze.h"
#include "api/api_int.h"
#include "core/util.h"

static int sample_name_ok(const char *n) {
  return n && n[0] && n[0] != '.' && !strchr(n, '/') && !strchr(n, '\\') && strlen(n) < 256;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void vd__api_b_samples(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  json_t *list = json_array();
  DIR *d = a->o.samples_dir ? opendir(a->o.samples_dir) : NULL;
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) && n < 10000) {
    if (!sample_name_ok(e->d_name))
      continue;
    char *p = vd_xasprintf("%s/%s", a->o.samples_dir, e->d_name);
    struct stat st;
    if (!stat(p, &st) && S_ISREG(st.st_mode)) {
      names = vd_xrealloc(names, (n + 1) * sizeof(*names));
      names[n++] = vd_xstrdup(e->d_name);
    }
    free(p);
  }
  if (d)
    closedir(d);
  if (n)
    qsort(names, n, sizeof(*names), cmp_str);
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_string(names[i]);
    if (s)
      json_array_append_new(list, s);
    free(names[i]);
  }
  free(names);
  vd_http_json(r, 200, json_pack("{s:o}", "videos", list));
}

/* FastAPI-style error body, which the seed's clients read as "detail". */
static void b_error(struct vd_http_req *r, int status, const char *msg) {
  vd_http_error(r, status, json_pack("{s:s}", "detail", msg), "%s", msg);
}

void vd__api_b_analyze(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  size_t len;
  const char *body = vd_http_body(r, &len);
  json_t *req = json_loadb(body, len, 0, NULL);
  json_t *fn = json_object_get(req, "filename"), *ns = json_object_get(req, "num_storylines");
  struct vd_job_rec j = {0};
  char id[65];
  if (!json_is_object(req) || !json_is_string(fn)) {
    b_error(r, 400, "body must be a JSON object with a string 'filename'");
    goto out;
  }
  if (ns && !json_is_null(ns) &&
      (!json_is_integer(ns) || json_integer_value(ns) < 1 || json_integer_value(ns) > 100)) {
    b_error(r, 400, "num_storylines must be an integer from 1 to 100");
    goto out;
  }
  const char *name = json_string_value(fn);
  struct stat st;
  char *p = a->o.samples_dir && sample_name_ok(name)
                ? vd_xasprintf("%s/%s", a->o.samples_dir, name)
                : NULL;
  int is_sample = p && !stat(p, &st) && S_ISREG(st.st_mode);
  free(p);
  if (is_sample) {
    j.source = (char *)name;
  } else if (vd_blob_prefix_valid(name)) {
    if (vd__api_resolve(a, r, name, 1, 0, id) < 0)
      goto out;
    j.file_id = id;
  } else {
    b_error(r, 404, "no such sample video or uploaded file id");
    goto out;
  }
  json_t *names = json_array();
  const char *want[] = {"probe", "scenes", "audio", "transcript", "storylines"};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    if (vd_analysis_find(want[i]))
      json_array_append_new(names, json_string(want[i]));
  json_int_t nstory = json_is_integer(ns) ? json_integer_value(ns) : 3;
  json_t *extra = json_pack("{s:s, s:I}", "filename", name, "num_storylines", nstory);
  json_t *params = json_pack("{s:{s:I}}", "storylines", "num_storylines", nstory);
  j.analyses = json_dumps(names, JSON_COMPACT);
  j.extra = json_dumps(extra, JSON_COMPACT);
  j.params = vd_analysis_find("storylines") ? json_dumps(params, JSON_COMPACT) : NULL;
  j.kind = "b";
  json_decref(names);
  json_decref(extra);
  json_decref(params);
  if (vd__api_enqueue(a, r, &j) == 0)
    vd_http_json(r, 200, json_pack("{s:s, s:s, s:s}", "task_id", j.id, "status", "processing",
                                   "message", "Video analysis started in the background"));
  free(j.analyses);
  free(j.extra);
  free(j.params);
out:
  json_decref(req);
}

/* First number among `keys` in `o`, or NAN. */
static double num(json_t *o, const char *k1, const char *k2) {
  json_t *v = json_object_get(o, k1);
  if (!json_is_number(v) && k2)
    v = json_object_get(o, k2);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* A scene's audio_analysis; `seg` is the audio analysis's entry for the
 * scene (NULL when audio did not run or the file has no sound), `text` its
 * transcript and `lang` the transcript's language (NULL: no transcript). */
static json_t *audio_analysis(json_t *seg, const char *text, const char *lang) {
  return json_pack("{s:o, s:o, s:{s:o, s:o, s:o, s:o}, s:n, s:n}", "transcript",
                   text ? json_string(text) : json_null(), "language",
                   lang ? json_string(lang) : json_null(),
                   "audio_features", "rms_energy", num_or_null(num(seg, "rms_energy", NULL)),
                   "spectral_centroid_mean", num_or_null(num(seg, "spectral_centroid_mean", NULL)),
                   "zero_crossing_rate", num_or_null(num(seg, "zero_crossing_rate", NULL)),
                   "tempo", num_or_null(num(seg, "tempo", NULL)), "speakers", "emotions");
}

/* Index of the scene (start/end pairs in `bounds`, n of them) holding time
 * t: the one whose range contains it, else the nearest. */
static size_t scene_at(const double *bounds, size_t n, double t) {
  size_t best = 0;
  double bd = INFINITY;
  for (size_t k = 0; k < n; k++) {
    double a = bounds[2 * k], b = bounds[2 * k + 1];
    if (t >= a && t < b)
      return k;
    double d = t < a ? a - t : t - b;
    if (d < bd) {
      bd = d;
      best = k;
    }
  }
  return best;
}

/* The audio analysis's segment for scene index i (0-based), or NULL. */
static json_t *audio_segment(json_t *audio, size_t i) {
  size_t k;
  json_t *seg;
  json_array_foreach(json_object_get(audio, "segments"), k, seg) {
    json_t *sc = json_object_get(seg, "scene");
    if (json_is_integer(sc) && json_integer_value(sc) == (json_int_t)i + 1)
      return seg;
  }
  return NULL;
}

/* The seed's storylines from the storylines analysis's result `st`, with
 * the seed's scene objects (`scenes`, in order) as members; NULL when the
 * result is absent or names a scene that is not there. */
static json_t *smart_storylines(json_t *st, json_t *scenes) {
  json_t *list = json_object_get(st, "storylines");
  if (!json_is_array(list))
    return NULL;
  json_t *out = json_array(), *s;
  size_t i;
  json_array_foreach(list, i, s) {
    json_t *members = json_array(), *x;
    size_t k;
    json_array_foreach(json_object_get(s, "scenes"), k, x) {
      json_int_t idx = json_integer_value(x);
      json_t *sc = idx >= 1 ? json_array_get(scenes, (size_t)idx - 1) : NULL;
      if (!sc) {
        json_decref(members);
        json_decref(out);
        return NULL;
      }
      json_array_append(members, sc);
    }
    const char *name = json_string_value(json_object_get(s, "name"));
    const char *desc = json_string_value(json_object_get(s, "description"));
    json_array_append_new(
        out, json_pack("{s:o, s:s, s:s, s:o, s:o, s:o, s:o}", "id",
                       json_sprintf("storyline_%zu", i + 1), "name", name ? name : "", "description",
                       desc ? desc : "", "scenes", members, "duration",
                       num_or_null(num(s, "duration", NULL)), "start_time",
                       num_or_null(num(s, "start_time", NULL)), "end_time",
                       num_or_null(num(s, "end_time", NULL))));
  }
  return out;
}

/* Fallback without the storylines result: nstory runs of consecutive
 * scenes of about equal count. */
static json_t *equal_runs(json_t *scenes, int nstory) {
  size_t ns = json_array_size(scenes);
  json_t *stories = json_array();
  size_t groups = ns < (size_t)nstory ? ns : (size_t)nstory;
  for (size_t g = 0; g < groups; g++) {
    size_t from = g * ns / groups, to = (g + 1) * ns / groups;
    json_t *members = json_array();
    for (size_t k = from; k < to; k++)
      json_array_append(members, json_array_get(scenes, k));
    double st = num(json_array_get(scenes, from), "start_time", NULL);
    double et = num(json_array_get(scenes, to - 1), "end_time", NULL);
    double du = isfinite(st) && isfinite(et) ? et - st : NAN;
    json_array_append_new(
        stories,
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                  json_sprintf("storyline_%zu", g + 1), "name",
                  json_sprintf("Storyline %zu", g + 1), "description",
                  json_sprintf("Consecutive scenes %zu to %zu (%.1f seconds)", from + 1, to,
                               isfinite(du) ? du : 0.0),
                  "scenes", members, "duration", num_or_null(du), "start_time", num_or_null(st),
                  "end_time", num_or_null(et)));
  }
  return stories;
}

/* The seed's result object from a finished job's vidan result. */
static json_t *b_result(const struct vd_job_rec *j, json_t *res, int nstory, const char *fname) {
  json_t *results = json_object_get(res, "results");
  json_t *probe = json_object_get(results, "probe");
  json_t *sc = json_object_get(results, "scenes");
  json_t *audio = json_object_get(results, "audio");
  json_t *tr = json_object_get(results, "transcript");
  json_t *tsegs = json_object_get(tr, "segments");
  const char *lang = tr ? json_string_value(json_object_get(tr, "language")) : NULL;
  if (tr && !lang)
    lang = "";
  json_t *list = json_is_array(sc) ? sc : json_object_get(sc, "scenes");
  double duration = num(probe, "duration", NULL);
  json_t *vstream = NULL, *streams = json_object_get(probe, "streams");
  size_t i;
  json_t *s;
  json_array_foreach(streams, i, s) {
    if (!vstream && json_is_string(json_object_get(s, "type")) &&
        !strcmp(json_string_value(json_object_get(s, "type")), "video"))
      vstream = s;
  }
  double fps = num(vstream, "avg_frame_rate", "real_frame_rate");
  /* Scene bounds first: transcript segments are placed by them. */
  size_t nl = json_array_size(list);
  double *bounds = vd_xcalloc(2 * (nl ? nl : 1), sizeof(double));
  json_array_foreach(list, i, s) {
    bounds[2 * i] = num(s, "start_time", "start");
    bounds[2 * i + 1] = num(s, "end_time", "end");
  }
  /* Each scene's transcript: the text of the segments whose midpoint it
   * holds; the result's segments[] the same, with times in the scene. */
  char **text = vd_xcalloc(nl ? nl : 1, sizeof(char *));
  json_t *bsegs = json_array();
  json_t *ts;
  json_array_foreach(tsegs, i, ts) {
    double a = num(ts, "start", NULL), b = num(ts, "end", NULL);
    const char *t = json_string_value(json_object_get(ts, "text"));
    if (!nl || !isfinite(a) || !isfinite(b) || !t)
      continue;
    size_t k = scene_at(bounds, nl, (a + b) / 2);
    char *joined = text[k] ? vd_xasprintf("%s %s", text[k], t) : vd_xstrdup(t);
    free(text[k]);
    text[k] = joined;
    double s0 = isfinite(bounds[2 * k]) ? bounds[2 * k] : 0;
    json_array_append_new(bsegs, json_pack("{s:o, s:f, s:f, s:s, s:f, s:f}", "scene_id",
                                           json_sprintf("scene_%zu", k + 1), "start_time", a,
                                           "end_time", b, "text", t, "start_in_scene", a - s0,
                                           "end_in_scene", b - s0));
  }
  json_t *scenes = json_array();
  json_array_foreach(list, i, s) {
    double st = bounds[2 * i], et = bounds[2 * i + 1];
    double du = num(s, "duration", NULL);
    if (!isfinite(du) && isfinite(st) && isfinite(et))
      du = et - st;
    json_t *sf = json_object_get(s, "start_frame"), *ef = json_object_get(s, "end_frame");
    json_array_append_new(
        scenes, json_pack("{s:o, s:o, s:o, s:o, s:O, s:O, s:o}", "id", json_sprintf("scene_%zu", i + 1),
                          "start_time", num_or_null(st), "end_time", num_or_null(et), "duration",
                          num_or_null(du), "start_frame", sf ? sf : json_null(), "end_frame",
                          ef ? ef : json_null(), "audio_analysis",
                          audio_analysis(audio_segment(audio, i),
                                         tr ? (text[i] ? text[i] : "") : NULL, lang)));
  }
  for (size_t k = 0; k < nl; k++)
    free(text[k]);
  free(text);
  free(bounds);
  size_t ns = json_array_size(scenes);
  json_t *stories = smart_storylines(json_object_get(results, "storylines"), scenes);
  if (!stories)
    stories = equal_runs(scenes, nstory);
  int w = (int)num(vstream, "width", NULL), h = (int)num(vstream, "height", NULL);
  char tstamp[40];
  vd_http_iso_time(j->finished, tstamp, sizeof(tstamp));
  json_t *out = json_pack("{s:s, s:o, s:I, s:o, s:o, s:s, s:{s:o, s:o, s:f}}", "video_filename", fname,
                   "duration", num_or_null(duration), "total_scenes", (json_int_t)ns,
                   "storylines", stories, "segments", bsegs, "timestamp", tstamp, "metadata", "fps",
                   num_or_null(fps), "size", vstream ? json_pack("[i, i]", w, h) : json_null(),
                   "analysis_time_seconds", j->finished - j->started);
  json_decref(scenes);
  return out;
}

void vd__api_b_status(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  const char *id = vd_http_param(r, 0);
  struct vd_job_rec j;
  if (!vd__api_job_id_ok(id) || vd_store_job_get(a->o.store, id, &j, NULL) < 0) {
    b_error(r, 404, "Task not found");
    return;
  }
  char ts[40];
  if (j.state == VD_JOB_QUEUED || j.state == VD_JOB_RUNNING) {
    vd_http_iso_time(j.updated, ts, sizeof(ts));
    vd_http_json(r, 200, json_pack("{s:s, s:s, s:f, s:s}", "status", "processing", "message",
                                   j.stage ? j.stage : "queued", "progress", j.progress,
                                   "last_updated", ts));
  } else if (j.state != VD_JOB_SUCCEEDED) {
    vd_http_json(r, 200, json_pack("{s:s, s:s}", "status", "failed", "message",
                                   j.error ? j.error : "failed"));
  } else {
    json_t *res = j.result ? json_loads(j.result, 0, NULL) : NULL;
    json_t *extra = j.extra ? json_loads(j.extra, 0, NULL) : NULL;
    json_t *n = json_object_get(extra, "num_storylines");
    const char *fname = json_string_value(json_object_get(extra, "filename"));
    json_t *out = b_result(&j, res, json_is_integer(n) ? (int)json_integer_value(n) : 3,
                           fname ? fname : (j.file_id ? j.file_id : ""));
    vd_http_json(r, 200, json_pack("{s:s, s:s, s:o}", "status", "completed", "task_id", j.id,
                                   "result", out));
    json_decref(res);
    json_decref(extra);
  }
  vd_job_rec_fini(&j);
}
