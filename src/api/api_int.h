/*
 * api_int.h: what the resource files of src/api share: the context, id
 * resolution, the upload path, job creation and JSON views of records.
 */
#ifndef VD_API_API_INT_H
#define VD_API_API_INT_H

#include <jansson.h>

#include "api/api.h"

struct vd_api {
  struct vd_api_opts o;
  struct vd_http *http;
  struct vd_media_limits lim;
  struct vd__api_e *e; /* compat E's checkers (compat_e.c), started on first use */
};

/* Handlers, by file. */
void vd__api_files_upload(struct vd_http_req *r, void *app);
void vd__api_files_list(struct vd_http_req *r, void *app);
void vd__api_files_get(struct vd_http_req *r, void *app);
void vd__api_files_content(struct vd_http_req *r, void *app);
void vd__api_files_thumbnail(struct vd_http_req *r, void *app);
void vd__api_files_delete(struct vd_http_req *r, void *app);
void vd__api_analyses_create(struct vd_http_req *r, void *app);
void vd__api_analyses_list(struct vd_http_req *r, void *app);
void vd__api_analyses_get(struct vd_http_req *r, void *app);
void vd__api_analyses_events(struct vd_http_req *r, void *app);
void vd__api_analyses_artifact(struct vd_http_req *r, void *app);
void vd__api_analyses_delete(struct vd_http_req *r, void *app);
void vd__api_a_upload(struct vd_http_req *r, void *app);
void vd__api_a_files(struct vd_http_req *r, void *app);
void vd__api_a_file_get(struct vd_http_req *r, void *app);
void vd__api_a_file_delete(struct vd_http_req *r, void *app);
void vd__api_a_analyze(struct vd_http_req *r, void *app);
void vd__api_a_analyses(struct vd_http_req *r, void *app);
void vd__api_a_analysis(struct vd_http_req *r, void *app);
void vd__api_b_samples(struct vd_http_req *r, void *app);
void vd__api_b_analyze(struct vd_http_req *r, void *app);
void vd__api_b_status(struct vd_http_req *r, void *app);
void vd__api_root(struct vd_http_req *r, void *app);
void vd__api_health(struct vd_http_req *r, void *app);
void vd__api_metrics(struct vd_http_req *r, void *app);
void vd__api_openapi(struct vd_http_req *r, void *app);
void vd__api_docs(struct vd_http_req *r, void *app);
void vd__api_static(struct vd_http_req *r, void *app);
void vd__api_types(struct vd_http_req *r, void *app);
void vd__api_search(struct vd_http_req *r, void *app);
/* The OpenAPI operation object of GET /api/v1/search (search.c). */
json_t *vd__api_search_op(void);

/*
 * Resolves a file id or unique prefix. On failure answers the request
 * (400 not an id, 404 unknown, 409 ambiguous with candidates) and returns
 * a negative code. `bad_is_404` answers 404 for malformed ids too (compat A).
 * `any_blob` accepts blobs that are not files (artifacts).
 */
int vd__api_resolve(struct vd_api *a, struct vd_http_req *r, const char *prefix, int bad_is_404,
                    int any_blob, char id[65]);

/*
 * Finishes an upload: refuses empty (400), non-media unless allow_any
 * (415), stores blob and row. On success fills *out and returns 0, else
 * answers and returns a negative code. The temp file never outlives a
 * refusal.
 */
int vd__api_commit_upload(struct vd_api *a, struct vd_http_req *r, int allow_any,
                          struct vd_file_rec *out);

/* Deletes a file, its jobs and unreferenced blobs; cancels its jobs first. */
int vd__api_delete_file(struct vd_api *a, const char *id, struct vd_err *err);

/* Validates names and params like the runner will; on error answers 400
 * with the valid analyses and returns a negative code. */
int vd__api_validate(struct vd_http_req *r, json_t *names, json_t *params);

/* The same check without a request: 0, or VD_ERR_INVALID with a message. */
int vd__api_check_run(json_t *names, json_t *params, struct vd_err *err);

/* Parses and checks a POST /api/v1/analyses body. Returns the request object
 * (caller owns) or NULL with the reason in `err`. Pure: fuzzed directly. */
json_t *vd__api_parse_analysis_request(const char *body, size_t len, struct vd_err *err);

/* Inserts a queued job (fills j->id, max_attempts) and wakes the workers. */
int vd__api_job_create(struct vd_api *a, struct vd_job_rec *j, struct vd_err *err);

/* Compat E (compat_e.c): the duplicate check, and its checker threads,
 * stopped by vd__api_e_free (NULL is fine). */
void vd__api_e_check(struct vd_http_req *r, void *app);
void vd__api_files_duplicates(struct vd_http_req *r, void *app);
void vd__api_e_free(struct vd__api_e *e);
/* Checks a compat E link (http or https, a host, a file name, no spaces or
 * control characters, at most 2048 bytes) and copies out its file name (the
 * last path segment, before any query or fragment) and the video id (that
 * name without its extension). 0, or VD_ERR_INVALID with the reason. Pure:
 * unit-tested by table. */
int vd__api_e_parse_link(const char *link, char *name, size_t name_len, char *vid, size_t vid_len,
                         struct vd_err *err);

/* Inserts a queued job (fills j->id) and wakes the workers; answers 500 on error. */
int vd__api_enqueue(struct vd_api *a, struct vd_http_req *r, struct vd_job_rec *j);

/* 1 if `s` looks like a job id (UUID text). */
int vd__api_job_id_ok(const char *s);

/* JSON views. */
json_t *vd__api_file_json(const struct vd_file_rec *f);
json_t *vd__api_job_json(struct vd_api *a, const struct vd_job_rec *j, int full);
/* Names of all analyses, as a JSON array. */
json_t *vd__api_analysis_names(void);
/* Content type for a file name's extension. */
const char *vd__api_ctype(const char *name);
/* Parses a positive limit (default d, capped at max) and a cursor. */
void vd__api_page(struct vd_http_req *r, int d, int max, int *limit, int64_t *cursor);

#endif
