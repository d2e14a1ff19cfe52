/* files.c: /api/v1/files: upload, list, metadata, content, thumbnail, delete. */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/util.h"

void vd__api_files_upload(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  struct vd_file_rec f;
  if (vd__api_commit_upload(a, r, 0, &f) < 0)
    return;
  vd_http_add_header(r, "Location", "/api/v1/files");
  vd_http_json(r, 201, vd__api_file_json(&f));
  vd_file_rec_fini(&f);
}

void vd__api_files_list(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  struct vd_file_rec *recs = NULL;
  size_t n = 0;
  int limit;
  int64_t cursor;
  struct vd_err err = {0};
  vd__api_page(r, 50, 500, &limit, &cursor);
  int ret = vd_store_file_list(a->o.store, cursor, limit, &recs, &n, &err);
  if (ret < 0) {
    vd_http_error(r, 500, NULL, "%s", vd_err_msg(&err, ret));
    return;
  }
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(list, vd__api_file_json(&recs[i]));
    vd_file_rec_fini(&recs[i]);
  }
  int64_t next = n == (size_t)limit && n ? recs[n - 1].seq : 0;
  free(recs);
  vd_http_json(r, 200, json_pack("{s:o, s:o}", "files", list, "next_cursor",
                                 next ? json_sprintf("%lld", (long long)next) : json_null()));
}

/* Resolves {id} and loads the record; answers on failure. */
static int load(struct vd_api *a, struct vd_http_req *r, struct vd_file_rec *f) {
  char id[65];
  struct vd_err err = {0};
  if (vd__api_resolve(a, r, vd_http_param(r, 0), 0, 0, id) < 0)
    return -1;
  int ret = vd_store_file_get(a->o.store, id, f, &err);
  if (ret < 0) {
    vd_http_error(r, ret == VD_ERR_NOT_FOUND ? 404 : 500, NULL, "%s", vd_err_msg(&err, ret));
    return ret;
  }
  return 0;
}

void vd__api_files_get(struct vd_http_req *r, void *app) {
  struct vd_file_rec f;
  if (load(app, r, &f) < 0)
    return;
  vd_http_json(r, 200, vd__api_file_json(&f));
  vd_file_rec_fini(&f);
}

/* Content type from the probed container, else from the name. */
static const char *file_ctype(const struct vd_file_rec *f) {
  const char *t = vd__api_ctype(f->name);
  if (strcmp(t, "application/octet-stream") || !f->probe)
    return t;
  if (strstr(f->probe, "\"mov,mp4"))
    return "video/mp4";
  if (strstr(f->probe, "matroska"))
    return "video/x-matroska";
  return t;
}

void vd__api_files_content(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  struct vd_file_rec f;
  if (load(a, r, &f) < 0)
    return;
  char *path = vd_blob_path(a->o.blobs, f.id);
  vd_http_file(r, path, file_ctype(&f), f.name);
  free(path);
  vd_file_rec_fini(&f);
}

/*
 * The thumbnail is an artifact of an analysis that writes pictures (scene
 * thumbnails); a request handler never decodes video to make one.
 * Without one the answer is 404, unless the caller asked for ?placeholder=1:
 * then a fixed picture (a play sign) in place of a frame, which is what the
 * page wants in a list of files (an <img> that 404s is a console error, and
 * only the server knows which artifacts count). It must not be cached: the
 * next scenes run makes the real one.
 */
static const char placeholder_svg[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 160 90\">"
    "<title>No thumbnail yet</title><rect width=\"160\" height=\"90\" fill=\"#2a313c\"/>"
    "<path d=\"M70 30v30l26-15z\" fill=\"#c9d1dc\"/></svg>";

void vd__api_files_thumbnail(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  struct vd_file_rec f;
  struct vd_job_rec *jobs = NULL;
  size_t n = 0;
  char blob[65] = "";
  int rank = 0; /* 2: a scene thumbnail (a whole frame), 1: any picture (a face crop) */
  if (load(a, r, &f) < 0)
    return;
  if (vd_store_job_list(a->o.store, f.id, VD_JOB_SUCCEEDED, NULL, 0, 20, &jobs, &n, NULL) == 0) {
    for (size_t i = 0; i < n; i++) {
      struct vd_artifact_rec *arts = NULL;
      size_t na = 0;
      if (rank < 2 && vd_store_job_artifacts(a->o.store, jobs[i].id, &arts, &na, NULL) == 0)
        for (size_t k = 0; k < na; k++) {
          if (strcmp(vd__api_ctype(arts[k].name), "image/jpeg"))
            continue;
          int rk = !strncmp(arts[k].name, "scene-", 6) ? 2 : 1;
          if (rk > rank) {
            rank = rk;
            memcpy(blob, arts[k].blob, 65);
          }
        }
      for (size_t k = 0; k < na; k++)
        vd_artifact_rec_fini(&arts[k]);
      free(arts);
      vd_job_rec_fini(&jobs[i]);
    }
    free(jobs);
  }
  if (rank > 0) {
    char *path = vd_blob_path(a->o.blobs, blob);
    vd_http_file(r, path, "image/jpeg", NULL);
    free(path);
  } else if (vd_http_query(r, "placeholder") && !strcmp(vd_http_query(r, "placeholder"), "1")) {
    vd_http_add_header(r, "Cache-Control", "no-cache");
    vd_http_data(r, 200, "image/svg+xml", placeholder_svg, sizeof placeholder_svg - 1);
  } else {
    vd_http_error(r, 404, NULL, "no thumbnail yet: run an analysis that makes one (scenes)");
  }
  vd_file_rec_fini(&f);
}

void vd__api_files_delete(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  char id[65];
  struct vd_err err = {0};
  int active = 0;
  if (vd__api_resolve(a, r, vd_http_param(r, 0), 0, 0, id) < 0)
    return;
  const char *force = vd_http_query(r, "force");
  int forced = force && (!strcmp(force, "1") || !strcmp(force, "true"));
  if (vd_store_file_active_jobs(a->o.store, id, &active, &err) < 0) {
    vd_http_error(r, 500, NULL, "%s", vd_err_msg(&err, err.code));
    return;
  }
  if (active && !forced) {
    vd_http_error(r, 409, json_pack("{s:i}", "active_analyses", active),
                  "file %s has %d queued or running analyses: cancel them, or delete with ?force=1",
                  id, active);
    return;
  }
  int ret = vd__api_delete_file(a, id, &err);
  if (ret < 0) {
    vd_http_error(r, ret == VD_ERR_NOT_FOUND ? 404 : 500, NULL, "%s", vd_err_msg(&err, ret));
    return;
  }
  vd_http_json(r, 200, json_pack("{s:s}", "deleted", id));
}
