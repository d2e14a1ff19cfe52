/* analyses.c: /api/v1/analyses: create, list, get, events (SSE), artifacts, delete. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/util.h"

json_t *vd__api_parse_analysis_request(const char *body, size_t len, struct vd_err *err) {
  json_error_t jerr;
  json_t *req = json_loadb(body, len, 0, &jerr);
  if (!json_is_object(req)) {
    vd_err_set(err, VD_ERR_INVALID, "body must be a JSON object: %s",
               req ? "got another type" : jerr.text);
    goto bad;
  }
  json_t *fid = json_object_get(req, "file_id"), *names = json_object_get(req, "analyses");
  json_t *params = json_object_get(req, "params"), *hook = json_object_get(req, "webhook");
  const char *key;
  json_t *v;
  json_object_foreach(req, key, v) {
    if (strcmp(key, "file_id") && strcmp(key, "analyses") && strcmp(key, "params") &&
        strcmp(key, "webhook")) {
      vd_err_set(err, VD_ERR_INVALID,
                 "unknown field '%.100s' (valid: file_id, analyses, params, webhook)", key);
      goto bad;
    }
  }
  if (!json_is_string(fid)) {
    vd_err_set(err, VD_ERR_INVALID, "file_id is required (a file id or a unique prefix)");
    goto bad;
  }
  if (!json_is_array(names) || !json_array_size(names)) {
    vd_err_set(err, VD_ERR_INVALID, "analyses must be a non-empty list of names");
    goto bad;
  }
  if (params && !json_is_null(params) && !json_is_object(params)) {
    vd_err_set(err, VD_ERR_INVALID, "params must be an object: {analysis: {param: value}}");
    goto bad;
  }
  if (hook && !json_is_null(hook) && !vd_webhook_url_valid(json_string_value(hook))) {
    vd_err_set(err, VD_ERR_INVALID, "webhook must be an http:// or https:// URL");
    goto bad;
  }
  if (vd__api_check_run(names, json_is_object(params) ? params : NULL, err) < 0)
    goto bad;
  return req;
bad:
  json_decref(req);
  return NULL;
}

void vd__api_analyses_create(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  size_t len;
  struct vd_err err = {0};
  const char *body = vd_http_body(r, &len);
  json_t *req = vd__api_parse_analysis_request(body, len, &err);
  if (!req) {
    vd_http_error(r, 400, json_pack("{s:o}", "valid_analyses", vd__api_analysis_names()), "%s",
                  vd_err_msg(&err, VD_ERR_INVALID));
    return;
  }
  json_t *fid = json_object_get(req, "file_id"), *names = json_object_get(req, "analyses");
  json_t *params = json_object_get(req, "params"), *hook = json_object_get(req, "webhook");
  char id[65];
  if (vd__api_resolve(a, r, json_string_value(fid), 0, 0, id) < 0)
    goto out;
  struct vd_job_rec j = {0};
  j.file_id = id;
  j.analyses = json_dumps(names, JSON_COMPACT);
  j.params = json_is_object(params) ? json_dumps(params, JSON_COMPACT) : NULL;
  j.webhook = (char *)json_string_value(hook);
  j.kind = "v1";
  if (vd__api_enqueue(a, r, &j) == 0) {
    char loc[80];
    snprintf(loc, sizeof(loc), "/api/v1/analyses/%s", j.id);
    vd_http_add_header(r, "Location", loc);
    vd_http_json(r, 202,
                 json_pack("{s:s, s:s, s:s, s:{s:s, s:o, s:o}}", "id", j.id, "status", "queued",
                           "file_id", id, "links", "self", loc, "events",
                           json_sprintf("%s/events", loc), "file",
                           json_sprintf("/api/v1/files/%s", id)));
  }
  free(j.analyses);
  free(j.params);
out:
  json_decref(req);
}

void vd__api_analyses_list(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  int limit, state = -1;
  int64_t cursor;
  char id[65];
  const char *file = vd_http_query(r, "file_id"), *status = vd_http_query(r, "status");
  vd__api_page(r, 50, 500, &limit, &cursor);
  if (status && (state = vd_job_state_parse(status)) < 0) {
    vd_http_error(r, 400, NULL,
                  "unknown status '%.40s' (valid: queued, running, succeeded, failed, canceled)",
                  status);
    return;
  }
  if (file && vd__api_resolve(a, r, file, 0, 0, id) < 0)
    return;
  struct vd_job_rec *recs = NULL;
  size_t n = 0;
  struct vd_err err = {0};
  int ret = vd_store_job_list(a->o.store, file ? id : NULL, state, NULL, cursor, limit, &recs, &n,
                              &err);
  if (ret < 0) {
    vd_http_error(r, 500, NULL, "%s", vd_err_msg(&err, ret));
    return;
  }
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(list, vd__api_job_json(a, &recs[i], 0));
    vd_job_rec_fini(&recs[i]);
  }
  int64_t next = n == (size_t)limit && n ? recs[n - 1].seq : 0;
  free(recs);
  vd_http_json(r, 200, json_pack("{s:o, s:o}", "analyses", list, "next_cursor",
                                 next ? json_sprintf("%lld", (long long)next) : json_null()));
}

/* Loads the job named by {id}; answers 404 on failure. */
static int load(struct vd_api *a, struct vd_http_req *r, struct vd_job_rec *j) {
  const char *id = vd_http_param(r, 0);
  struct vd_err err = {0};
  if (!vd__api_job_id_ok(id)) {
    vd_http_error(r, 404, NULL, "no analysis %.80s", id);
    return -1;
  }
  int ret = vd_store_job_get(a->o.store, id, j, &err);
  if (ret < 0)
    vd_http_error(r, ret == VD_ERR_NOT_FOUND ? 404 : 500, NULL, "%s", vd_err_msg(&err, ret));
  return ret;
}

void vd__api_analyses_get(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  struct vd_job_rec j;
  if (load(a, r, &j) < 0)
    return;
  vd_http_json(r, 200, vd__api_job_json(a, &j, 1));
  vd_job_rec_fini(&j);
}

/* ---- Server-Sent Events ------------------------------------------------------ */

struct events {
  struct vd_api *a;
  char id[40];
  uint64_t gen;
  double progress;
  int state;
  char stage[160];
  int sent, done;
};

static long events_next(void *opaque, char *buf, size_t max) {
  struct events *e = opaque;
  if (e->done)
    return -1;
  for (int waited = 0;; waited++) {
    struct vd_job_rec j;
    if (vd_store_job_get(e->a->o.store, e->id, &j, NULL) < 0) {
      e->done = 1;
      return snprintf(buf, max, "event: end\ndata: {\"id\":\"%s\",\"status\":\"deleted\"}\n\n",
                      e->id);
    }
    int final = j.state >= VD_JOB_SUCCEEDED;
    int changed = !e->sent || (int)j.state != e->state || fabs(j.progress - e->progress) > 1e-9 ||
                  strcmp(j.stage ? j.stage : "", e->stage);
    long n = 0;
    if (changed) {
      json_t *o = json_pack("{s:s, s:s, s:f, s:o, s:o}", "id", j.id, "status",
                            vd_job_state_name(j.state), "progress", j.progress, "stage",
                            j.stage ? json_string(j.stage) : json_null(), "error",
                            final && j.error && j.state != VD_JOB_SUCCEEDED
                                ? json_string(j.error)
                                : json_null());
      char *txt = json_dumps(o, JSON_COMPACT);
      json_decref(o);
      n = snprintf(buf, max, "event: %s\ndata: %s\n\n", final ? "end" : "progress", txt);
      free(txt);
      if (n < 0 || (size_t)n >= max)
        n = snprintf(buf, max, "event: progress\ndata: {}\n\n");
      e->sent = 1;
      e->state = (int)j.state;
      e->progress = j.progress;
      snprintf(e->stage, sizeof(e->stage), "%s", j.stage ? j.stage : "");
      e->done = final;
    }
    vd_job_rec_fini(&j);
    if (n > 0)
      return n;
    /* A comment every ~2 s of silence: a peer that left (or a server that
     * is shutting down its sockets) is noticed on the write, so this thread
     * never waits long on a dead stream. */
    if (!vd_jobs_wait(e->a->o.jobs, &e->gen, 1.0) && waited >= 1)
      return snprintf(buf, max, ": keep-alive\n\n");
  }
}

void vd__api_analyses_events(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  struct vd_job_rec j;
  if (load(a, r, &j) < 0)
    return;
  struct events *e = vd_xcalloc(1, sizeof(*e));
  e->a = a;
  snprintf(e->id, sizeof(e->id), "%s", j.id);
  vd_job_rec_fini(&j);
  vd_http_sse(r, events_next, e, free);
}

void vd__api_analyses_artifact(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  struct vd_job_rec j;
  if (load(a, r, &j) < 0)
    return;
  const char *name = vd_http_param(r, 1);
  struct vd_artifact_rec *arts = NULL;
  size_t n = 0;
  char blob[65] = "";
  if (vd_store_job_artifacts(a->o.store, j.id, &arts, &n, NULL) == 0) {
    for (size_t i = 0; i < n; i++) {
      if (!strcmp(arts[i].name, name))
        memcpy(blob, arts[i].blob, 65);
      vd_artifact_rec_fini(&arts[i]);
    }
    free(arts);
  }
  if (!blob[0]) {
    vd_http_error(r, 404, NULL, "analysis %s has no artifact '%.100s'", j.id, name);
  } else {
    char *path = vd_blob_path(a->o.blobs, blob);
    vd_http_file(r, path, vd__api_ctype(name), name);
    free(path);
  }
  vd_job_rec_fini(&j);
}

void vd__api_analyses_delete(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  struct vd_job_rec j;
  struct vd_err err = {0};
  int state;
  if (load(a, r, &j) < 0)
    return;
  if (vd_jobs_cancel(a->o.jobs, j.id, &state, &err) < 0 && err.code != VD_ERR_NOT_FOUND) {
    vd_http_error(r, 500, NULL, "%s", vd_err_msg(&err, err.code));
    goto out;
  }
  struct vd_idlist orphans;
  int ret = vd_store_job_delete(a->o.store, j.id, &orphans, &err);
  if (ret < 0) {
    vd_http_error(r, ret == VD_ERR_NOT_FOUND ? 404 : 500, NULL, "%s", vd_err_msg(&err, ret));
    goto out;
  }
  for (size_t i = 0; i < orphans.n; i++)
    vd_blob_delete(a->o.blobs, orphans.ids[i]);
  vd_idlist_fini(&orphans);
  vd_http_json(r, 200, json_pack("{s:s, s:b}", "deleted", j.id, "was_running",
                                 j.state == VD_JOB_RUNNING));
out:
  vd_job_rec_fini(&j);
}
