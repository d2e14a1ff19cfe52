/* common.c: what the api resources share (see api_int.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "analyze/registry.h"
#include "api/api_int.h"
#include "core/log.h"
#include "core/util.h"
#include "library/library.h"

struct vd_api *vd_api_new(const struct vd_api_opts *o) {
  struct vd_api *a = vd_xcalloc(1, sizeof(*a));
  a->o = *o;
  if (o->limits)
    a->lim = *o->limits;
  else
    vd_media_limits_default(&a->lim);
  return a;
}

void vd_api_free(struct vd_api *a) {
  if (!a)
    return;
  vd__api_e_free(a->e);
  free(a);
}

void vd_api_set_http(struct vd_api *a, struct vd_http *h) { a->http = h; }

int vd__api_resolve(struct vd_api *a, struct vd_http_req *r, const char *prefix, int bad_is_404,
                    int any_blob, char id[65]) {
  char ids[8][VD_BLOB_ID_LEN + 1];
  struct vd_err err = {0};
  int n = vd_blob_resolve(a->o.blobs, prefix, ids, 8, &err);
  if (n < 0) {
    vd_http_error(r, bad_is_404 ? 404 : 400, NULL, "%s", vd_err_msg(&err, n));
    return n;
  }
  if (n == 0) {
    vd_http_error(r, 404, NULL, "no file %.80s", prefix);
    return VD_ERR_NOT_FOUND;
  }
  if (n > 1) {
    json_t *c = json_array();
    for (int i = 0; i < n && i < 8; i++)
      json_array_append_new(c, json_string(ids[i]));
    vd_http_error(r, 409, json_pack("{s:o}", "candidates", c),
                  "id prefix %.80s is ambiguous: %d%s files match", prefix, n > 8 ? 8 : n,
                  n > 8 ? "+" : "");
    return VD_ERR_INVALID;
  }
  memcpy(id, ids[0], 65);
  if (!any_blob) {
    struct vd_file_rec f;
    int ret = vd_store_file_get(a->o.store, id, &f, &err);
    if (ret < 0) {
      vd_http_error(r, ret == VD_ERR_NOT_FOUND ? 404 : 500, NULL, "%s", vd_err_msg(&err, ret));
      return ret;
    }
    vd_file_rec_fini(&f);
  }
  return 0;
}

int vd__api_commit_upload(struct vd_api *a, struct vd_http_req *r, int allow_any,
                          struct vd_file_rec *out) {
  struct vd_blob_writer *w = vd_http_upload_take(r);
  struct vd_err err = {0};
  struct vd_media *m = NULL;
  char *probe = NULL;
  int ret = VD_ERR_INVALID;
  memset(out, 0, sizeof(*out));
  if (!w) {
    vd_http_error(r, 400, NULL, "no file: send multipart field 'file' or a raw body");
    return ret;
  }
  if (vd_blob_writer_size(w) == 0) {
    vd_blob_abort(w);
    vd_http_error(r, 400, NULL, "the file is empty");
    return ret;
  }
  const char *tmp = vd_blob_writer_tmp_path(w, &err);
  if (!tmp) {
    vd_blob_abort(w);
    vd_http_error(r, 500, NULL, "%s", vd_err_msg(&err, err.code));
    return VD_ERR_INTERNAL;
  }
  /* Header parsing only: probing reads the container, it decodes nothing. */
  ret = vd_media_open(&m, tmp, &a->lim, &err);
  if (ret == 0) {
    json_t *pj = vd_probe_json(vd_media_info(m));
    probe = json_dumps(pj, JSON_COMPACT);
    json_decref(pj);
  } else if (!allow_any) {
    const char *name = vd_http_upload_name(r);
    /* The media layer starts its message with the temp file's path; the
     * client knows the file by its name, which leads the sentence instead. */
    const char *msg = vd_err_msg(&err, ret);
    size_t tl = strlen(tmp);
    if (!strncmp(msg, tmp, tl) && msg[tl] == ':' && msg[tl + 1] == ' ')
      msg += tl + 2;
    vd_http_error(r, ret == VD_ERR_LIMIT ? 413 : 415, NULL, "%s%s%s %s: %s", name[0] ? "'" : "",
                  name[0] ? name : "the upload", name[0] ? "'" : "",
                  ret == VD_ERR_LIMIT ? "is over a limit"
                                      : "is not a video or audio file vidan can read",
                  msg);
    vd_blob_abort(w);
    return ret;
  }
  vd_media_free(m);
  out->size = vd_blob_writer_size(w);
  if ((ret = vd_blob_commit(w, out->id, NULL, &err)) < 0) {
    free(probe);
    vd_http_error(r, 500, NULL, "%s", vd_err_msg(&err, ret));
    return ret;
  }
  out->name = vd_xstrdup(vd_http_upload_name(r));
  out->probe = probe;
  int existed = 0;
  if ((ret = vd_store_file_put(a->o.store, out, &existed, &err)) < 0) {
    vd_http_error(r, 500, NULL, "%s", vd_err_msg(&err, ret));
    vd_file_rec_fini(out);
    return ret;
  }
  if (existed) { /* same bytes uploaded before: report the stored record */
    struct vd_file_rec old;
    if (vd_store_file_get(a->o.store, out->id, &old, &err) == 0) {
      vd_file_rec_fini(out);
      *out = old;
    }
  }
  return 0;
}

int vd__api_delete_file(struct vd_api *a, const char *id, struct vd_err *err) {
  struct vd_job_rec *jobs = NULL;
  size_t n = 0;
  int ret;
  for (int st = VD_JOB_QUEUED; st <= VD_JOB_RUNNING; st++) {
    if ((ret = vd_store_job_list(a->o.store, id, st, NULL, 0, 1000, &jobs, &n, err)) < 0)
      return ret;
    for (size_t i = 0; i < n; i++) {
      int s;
      if (vd_jobs_cancel(a->o.jobs, jobs[i].id, &s, NULL) < 0)
        VD_WARN("api: cannot cancel %s", jobs[i].id);
      vd_job_rec_fini(&jobs[i]);
    }
    free(jobs);
    jobs = NULL;
  }
  struct vd_idlist orphans;
  if ((ret = vd_store_file_delete(a->o.store, id, &orphans, err)) < 0)
    return ret;
  if (a->o.library) /* its fingerprint row went with it (cascade) */
    vd_library_remove(a->o.library, id);
  for (size_t i = 0; i < orphans.n; i++)
    vd_blob_delete(a->o.blobs, orphans.ids[i]);
  vd_idlist_fini(&orphans);
  return 0;
}

json_t *vd__api_analysis_names(void) {
  size_t n;
  const struct vd_analysis_def *const *defs = vd_analysis_list(&n);
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_string(defs[i]->name));
  return a;
}

int vd__api_check_run(json_t *names, json_t *params, struct vd_err *err) {
  size_t n = json_array_size(names);
  const char **list = vd_xcalloc(n + 1, sizeof(*list));
  struct vd_run *run = NULL;
  int ret = 0;
  for (size_t i = 0; i < n; i++) {
    list[i] = json_string_value(json_array_get(names, i));
    if (!list[i]) {
      ret = vd_err_set(err, VD_ERR_INVALID, "analyses must be a list of names");
      goto out;
    }
  }
  /* The runner checks names and params without touching the input. */
  struct vd_run_opts o = {.input = "-", .analyses = list, .n_analyses = n, .params = params,
                          .untrusted = 1};
  ret = vd_run_new(&run, &o, err);
  vd_run_free(run);
out:
  free(list);
  return ret;
}

int vd__api_validate(struct vd_http_req *r, json_t *names, json_t *params) {
  struct vd_err err = {0};
  int ret = vd__api_check_run(names, params, &err);
  if (ret < 0)
    vd_http_error(r, 400, json_pack("{s:o}", "valid_analyses", vd__api_analysis_names()), "%s",
                  vd_err_msg(&err, ret));
  return ret;
}

static void uuid4(char out[40]) {
  unsigned char b[16];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
    /* Not expected on Linux; fall back to time and address entropy. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (int i = 0; i < 16; i++)
      b[i] = (unsigned char)((ts.tv_nsec >> (i % 8)) ^ (ts.tv_sec >> i) ^ ((uintptr_t)out >> i) ^
                             rand());
  }
  if (fd >= 0)
    close(fd);
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
           b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
}

int vd__api_job_id_ok(const char *s) {
  size_t n = 0;
  for (; s[n]; n++)
    if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f') || s[n] == '-') || n >= 36)
      return 0;
  return n == 36;
}

int vd__api_job_create(struct vd_api *a, struct vd_job_rec *j, struct vd_err *err) {
  uuid4(j->id);
  j->max_attempts = a->o.max_attempts;
  int ret = vd_store_job_create(a->o.store, j, err);
  if (ret == 0)
    vd_jobs_wake(a->o.jobs);
  return ret;
}

int vd__api_enqueue(struct vd_api *a, struct vd_http_req *r, struct vd_job_rec *j) {
  struct vd_err err = {0};
  int ret = vd__api_job_create(a, j, &err);
  if (ret < 0)
    vd_http_error(r, 500, NULL, "%s", vd_err_msg(&err, ret));
  return ret;
}

static json_t *iso_or_null(double t) {
  char buf[40];
  if (t <= 0)
    return json_null();
  vd_http_iso_time(t, buf, sizeof(buf));
  return json_string(buf);
}

static json_t *parse_or_null(const char *txt) {
  json_t *j = txt ? json_loads(txt, JSON_DECODE_ANY, NULL) : NULL;
  return j ? j : json_null();
}

json_t *vd__api_file_json(const struct vd_file_rec *f) {
  return json_pack("{s:s, s:s, s:I, s:s, s:o, s:o, s:{s:o, s:o, s:o}}", "id", f->id, "sha256",
                   f->id, "size", (json_int_t)f->size, "filename", f->name ? f->name : "",
                   "created_at", iso_or_null(f->created), "probe", parse_or_null(f->probe), "links",
                   "self", json_sprintf("/api/v1/files/%s", f->id), "content",
                   json_sprintf("/api/v1/files/%s/content", f->id), "thumbnail",
                   json_sprintf("/api/v1/files/%s/thumbnail", f->id));
}

json_t *vd__api_job_json(struct vd_api *a, const struct vd_job_rec *j, int full) {
  double now = (double)time(NULL);
  double qs = (j->started > 0 ? j->started : (j->state == VD_JOB_QUEUED ? now : j->finished)) -
              j->created;
  double rs = j->started > 0 ? (j->finished > 0 ? j->finished : now) - j->started : 0;
  json_t *o = json_pack(
      "{s:s, s:o, s:o, s:o, s:s, s:f, s:o, s:i, s:i, s:o, s:o, s:o, s:o, s:f, s:f, s:o}", "id",
      j->id, "file_id", j->file_id ? json_string(j->file_id) : json_null(), "analyses",
      parse_or_null(j->analyses), "params", parse_or_null(j->params), "status",
      vd_job_state_name(j->state), "progress", j->progress, "stage",
      j->stage ? json_string(j->stage) : json_null(), "attempts", j->attempts, "max_attempts",
      j->max_attempts, "created_at", iso_or_null(j->created), "started_at",
      iso_or_null(j->started), "finished_at", iso_or_null(j->finished), "updated_at",
      iso_or_null(j->updated), "queue_seconds", qs > 0 ? qs : 0.0, "run_seconds", rs > 0 ? rs : 0.0,
      "error", j->error && j->state != VD_JOB_SUCCEEDED ? json_string(j->error) : json_null());
  if (j->source)
    json_object_set_new(o, "source", json_string(j->source));
  json_object_set_new(o, "links",
                      json_pack("{s:o, s:o}", "self", json_sprintf("/api/v1/analyses/%s", j->id),
                                "events", json_sprintf("/api/v1/analyses/%s/events", j->id)));
  if (!full)
    return o;
  json_object_set_new(o, "result", parse_or_null(j->result));
  struct vd_artifact_rec *arts = NULL;
  size_t n = 0;
  json_t *al = json_array();
  if (vd_store_job_artifacts(a->o.store, j->id, &arts, &n, NULL) == 0) {
    for (size_t i = 0; i < n; i++) {
      json_array_append_new(
          al, json_pack("{s:s, s:s, s:I, s:s, s:o}", "analysis", arts[i].analysis, "name",
                        arts[i].name, "size", (json_int_t)arts[i].size, "sha256", arts[i].blob,
                        "url",
                        json_sprintf("/api/v1/analyses/%s/artifacts/%s", j->id, arts[i].name)));
      vd_artifact_rec_fini(&arts[i]);
    }
    free(arts);
  }
  json_object_set_new(o, "artifacts", al);
  return o;
}

const char *vd__api_ctype(const char *name) {
  static const struct {
    const char *ext, *type;
  } t[] = {{".json", "application/json"}, {".csv", "text/csv; charset=utf-8"},
           {".edl", "text/plain; charset=utf-8"}, {".txt", "text/plain; charset=utf-8"},
           {".srt", "text/plain; charset=utf-8"}, {".vtt", "text/vtt"},
           {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".png", "image/png"},
           {".mp4", "video/mp4"}, {".mkv", "video/x-matroska"}, {".webm", "video/webm"},
           {".mov", "video/quicktime"}, {".html", "text/html; charset=utf-8"},
           {".js", "text/javascript"}, {".mjs", "text/javascript"}, {".css", "text/css"},
           {".svg", "image/svg+xml"}, {".wasm", "application/wasm"}, {".ico", "image/x-icon"},
           {".wav", "audio/wav"}, {".mp3", "audio/mpeg"}};
  const char *dot = name ? strrchr(name, '.') : NULL;
  for (size_t i = 0; dot && i < sizeof(t) / sizeof(t[0]); i++)
    if (!strcasecmp(dot, t[i].ext))
      return t[i].type;
  return "application/octet-stream";
}

void vd__api_page(struct vd_http_req *r, int d, int max, int *limit, int64_t *cursor) {
  const char *l = vd_http_query(r, "limit"), *c = vd_http_query(r, "cursor");
  long v = l ? strtol(l, NULL, 10) : d;
  *limit = v <= 0 ? d : v > max ? max : (int)v;
  long long cv = c ? strtoll(c, NULL, 10) : 0;
  *cursor = cv > 0 ? cv : 0;
}
