/*
 * compat_a.c: the routes of the earlier file-and-analysis service
 * (shared/compat.md section A, seed 002): /file and /analysis.
 *
 * Differences from /api/v1 that the contract requires:
 * - POST /file accepts any non-empty file, as the seed did (its own example
 *   uploads hello.txt); analyses of a non-media file then fail with a reason.
 * - ids are SHA-256 and any unique prefix resolves; a malformed id is 404.
 * - GET /analysis/<id> answers 202 with an empty body until the job ends.
 * - DELETE /file/<id> always succeeds on a known file: its jobs are canceled.
 * - The seed's names map onto vidan analyses: video/label/image/label-image
 *   need pose, which runs only once a pose analysis is registered.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyze/analyze.h"
#include "api/api_int.h"
#include "core/util.h"

/* Seed analysis name → vidan analysis (NULL: same name). */
static const struct {
  const char *seed, *vidan;
} aliases[] = {{"video", "pose"}, {"label", "pose"}, {"image", "pose"}, {"label-image", "pose"}};

static const char *target_of(const char *name) {
  for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
    if (!strcmp(aliases[i].seed, name))
      return aliases[i].vidan;
  return name;
}

/* Names a client may send: every registered analysis plus usable aliases. */
static json_t *valid_names(void) {
  json_t *names = vd__api_analysis_names();
  for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
    if (vd_analysis_find(aliases[i].vidan))
      json_array_append_new(names, json_string(aliases[i].seed));
  return names;
}

static const char *seed_state(enum vd_job_state s) {
  switch (s) {
  case VD_JOB_QUEUED:
    return "PENDING";
  case VD_JOB_RUNNING:
    return "STARTED";
  case VD_JOB_SUCCEEDED:
    return "SUCCESS";
  default:
    return "FAILURE";
  }
}

void vd__api_a_upload(struct vd_http_req *r, void *app) {
  struct vd_file_rec f;
  if (vd__api_commit_upload(app, r, 1, &f) < 0)
    return;
  vd_http_json(r, 200, json_pack("{s:s}", "file_id", f.id));
  vd_file_rec_fini(&f);
}

void vd__api_a_files(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  json_t *list = json_array();
  int64_t cursor = 0;
  for (;;) { /* the seed listed everything; page through the store */
    struct vd_file_rec *recs = NULL;
    size_t n = 0;
    if (vd_store_file_list(a->o.store, cursor, 500, &recs, &n, NULL) < 0)
      break;
    for (size_t i = 0; i < n; i++) {
      char t[40];
      vd_http_iso_time(recs[i].created, t, sizeof(t));
      json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:s}", "id", recs[i].id, "name",
                                            recs[i].name, "size", (json_int_t)recs[i].size,
                                            "upload_time", t));
      cursor = recs[i].seq;
      vd_file_rec_fini(&recs[i]);
    }
    free(recs);
    if (n < 500)
      break;
  }
  vd_http_json(r, 200, list);
}

void vd__api_a_file_get(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  char id[65];
  /* Any blob: result files (artifacts) are fetched here by their hash too. */
  if (vd__api_resolve(a, r, vd_http_param(r, 0), 1, 1, id) < 0)
    return;
  struct vd_file_rec f;
  const char *name = NULL;
  if (vd_store_file_get(a->o.store, id, &f, NULL) == 0)
    name = f.name;
  else
    memset(&f, 0, sizeof(f));
  char *path = vd_blob_path(a->o.blobs, id);
  vd_http_file(r, path, name ? vd__api_ctype(name) : "application/octet-stream", name);
  free(path);
  vd_file_rec_fini(&f);
}

void vd__api_a_file_delete(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  char id[65];
  struct vd_err err = {0};
  if (vd__api_resolve(a, r, vd_http_param(r, 0), 1, 0, id) < 0)
    return;
  int ret = vd__api_delete_file(a, id, &err);
  if (ret < 0)
    vd_http_error(r, ret == VD_ERR_NOT_FOUND ? 404 : 500, NULL, "%s", vd_err_msg(&err, ret));
  else
    vd_http_json(r, 200, json_pack("{s:s}", "deleted", id));
}

void vd__api_a_analyze(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  json_t *form = vd_http_form(r);
  const char *fid = json_string_value(json_object_get(form, "file_id"));
  const char *name = json_string_value(json_object_get(form, "analysis"));
  const char *model = json_string_value(json_object_get(form, "model"));
  json_t *names = NULL, *params = NULL;
  char id[65];
  if (!fid || !name) {
    vd_http_error(r, 400, json_pack("{s:o}", "valid_analyses", valid_names()),
                  "file_id and analysis are required");
    return;
  }
  const char *target = target_of(name);
  const struct vd_analysis_def *def = vd_analysis_find(target);
  if (!def && strcmp(target, name)) {
    vd_http_error(r, 400, json_pack("{s:o}", "valid_analyses", valid_names()),
                  "analysis '%s' needs the '%s' analysis, which this vidan does not have yet",
                  name, target);
    return;
  }
  if (!def) {
    vd_http_error(r, 400, json_pack("{s:o}", "valid_analyses", valid_names()),
                  "unknown analysis '%.100s'", name);
    return;
  }
  json_t *args = json_object();
  const char *key;
  json_t *v;
  json_object_foreach(form, key, v) {
    if (strcmp(key, "file_id") && strcmp(key, "analysis") && strcmp(key, "model"))
      json_object_set(args, key, v);
  }
  if (model) {
    const struct vd_param_def *p = def->params;
    while (p && p->name && strcmp(p->name, "model"))
      p++;
    if (!p || !p->name) {
      vd_http_error(r, 400, json_pack("{s:[]}", "valid_models"),
                    "unknown model '%.100s': analysis '%s' has no models to choose from", model,
                    name);
      json_decref(args);
      return;
    }
    json_object_set_new(args, "model", json_string(model));
  }
  names = json_pack("[s]", target);
  params = json_pack("{s:o}", target, args);
  if (vd__api_validate(r, names, params) < 0 || vd__api_resolve(a, r, fid, 1, 0, id) < 0)
    goto out;
  struct vd_job_rec j = {0};
  j.file_id = id;
  j.analyses = json_dumps(names, JSON_COMPACT);
  j.params = json_dumps(params, JSON_COMPACT);
  j.kind = "a";
  json_t *extra = json_pack("{s:s}", "analysis", name);
  j.extra = json_dumps(extra, JSON_COMPACT);
  json_decref(extra);
  if (vd__api_enqueue(a, r, &j) == 0)
    vd_http_json(r, 200, json_pack("{s:s}", "analysis_id", j.id));
  free(j.analyses);
  free(j.params);
  free(j.extra);
out:
  json_decref(names);
  json_decref(params);
}

/* The seed's analysis name of a job (what the client asked for). */
static json_t *asked_name(const struct vd_job_rec *j) {
  json_t *extra = j->extra ? json_loads(j->extra, 0, NULL) : NULL;
  json_t *n = json_object_get(extra, "analysis");
  if (n) {
    json_incref(n);
  } else {
    json_t *names = j->analyses ? json_loads(j->analyses, 0, NULL) : NULL;
    n = json_array_size(names) == 1 ? json_incref(json_array_get(names, 0)) : json_null();
    json_decref(names);
  }
  json_decref(extra);
  return n;
}

void vd__api_a_analyses(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  json_t *list = json_array();
  struct vd_job_rec *recs = NULL;
  size_t n = 0;
  if (vd_store_job_list(a->o.store, NULL, -1, NULL, 0, 1000, &recs, &n, NULL) == 0) {
    for (size_t i = 0; i < n; i++) {
      char t[40];
      vd_http_iso_time(recs[i].created, t, sizeof(t));
      json_array_append_new(
          list, json_pack("{s:s, s:o, s:o, s:s, s:s}", "id", recs[i].id, "file_id",
                          recs[i].file_id ? json_string(recs[i].file_id) : json_null(), "analysis",
                          asked_name(&recs[i]), "state", seed_state(recs[i].state), "created", t));
      vd_job_rec_fini(&recs[i]);
    }
    free(recs);
  }
  vd_http_json(r, 200, list);
}

/* "scene-001.jpg" → "scene-001_file": the seed named result files <stem>_file. */
static char *file_key(const char *name) {
  const char *dot = strrchr(name, '.');
  size_t n = dot && dot != name ? (size_t)(dot - name) : strlen(name);
  char *k = vd_xasprintf("%.*s_file", (int)n, name);
  for (char *p = k; *p; p++)
    if (*p == '-' || *p == '.')
      *p = '_';
  return k;
}

/* "video_file" for a video artifact, "image_file" for a picture, else NULL. */
static const char *media_kind(const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot)
    return NULL;
  static const char *const video[] = {".mp4", ".mkv", ".mov", ".webm", NULL};
  static const char *const image[] = {".jpg", ".jpeg", ".png", NULL};
  for (int i = 0; video[i]; i++)
    if (!strcasecmp(dot, video[i]))
      return "video_file";
  for (int i = 0; image[i]; i++)
    if (!strcasecmp(dot, image[i]))
      return "image_file";
  return NULL;
}

void vd__api_a_analysis(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  const char *id = vd_http_param(r, 0);
  struct vd_job_rec j;
  if (!vd__api_job_id_ok(id) || vd_store_job_get(a->o.store, id, &j, NULL) < 0) {
    vd_http_error(r, 404, NULL, "no analysis %.80s", id);
    return;
  }
  if (j.state == VD_JOB_QUEUED || j.state == VD_JOB_RUNNING) {
    vd_http_empty(r, 202);
    vd_job_rec_fini(&j);
    return;
  }
  if (j.state != VD_JOB_SUCCEEDED) {
    vd_http_json(r, 200, json_pack("{s:n, s:s, s:s}", "result", "state", seed_state(j.state),
                                   "error", j.error ? j.error : "failed"));
    vd_job_rec_fini(&j);
    return;
  }
  json_t *res = j.result ? json_loads(j.result, 0, NULL) : NULL;
  json_t *names = j.analyses ? json_loads(j.analyses, 0, NULL) : NULL;
  const char *main_name = json_string_value(json_array_get(names, 0));
  json_t *value = json_object_get(json_object_get(res, "results"), main_name ? main_name : "");
  json_t *out = json_pack("{s:O}", "result", value ? value : json_null());
  struct vd_artifact_rec *arts = NULL;
  size_t n = 0;
  if (vd_store_job_artifacts(a->o.store, j.id, &arts, &n, NULL) == 0) {
    for (size_t i = 0; i < n; i++) {
      char *k = file_key(arts[i].name);
      json_object_set_new(out, k, json_string(arts[i].blob));
      free(k);
      /* The seed's clients read a labelled video as `video_file` (and we
       * give a labelled picture as `image_file`): the first of each kind. */
      const char *kind = media_kind(arts[i].name);
      if (kind && !json_object_get(out, kind))
        json_object_set_new(out, kind, json_string(arts[i].blob));
      vd_artifact_rec_fini(&arts[i]);
    }
    free(arts);
  }
  vd_http_json(r, 200, out);
  json_decref(res);
  json_decref(names);
  vd_job_rec_fini(&j);
}
