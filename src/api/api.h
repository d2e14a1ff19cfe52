/*
 * api: the HTTP resources of `vidan serve`: /api/v1 files and analyses,
 * the compatibility routes of shared/compat.md (A: /file, /analysis;
 * B: /api/sample-videos, /api/analyze, /api/analysis/{id}), health,
 * metrics, OpenAPI and the static web page. One file per resource.
 *
 * Handlers stay short: they validate, touch the store, queue jobs and
 * answer. The only media work in a handler is probing a finished upload
 * (header parsing, no decoding), on that connection's own thread.
 *
 * Ownership: the vd_api borrows everything in vd_api_opts; all of it must
 * outlive the HTTP server. Threading: handlers run on any connection thread.
 */
#ifndef VD_API_API_H
#define VD_API_API_H

#include <stdint.h>

#include "blob/blob.h"
#include "http/http.h"
#include "jobs/jobs.h"
#include "media/media.h"
#include "store/store.h"

struct vd_api;
struct vd_library;

struct vd_api_opts {
  struct vd_store *store;
  struct vd_blobs *blobs;
  struct vd_jobs *jobs;
  struct vd_webhooks *webhooks;      /* may be NULL */
  const char *samples_dir;           /* compat B sample videos; may be NULL */
  const char *web_dir;               /* static page; may be NULL */
  const struct vd_media_limits *limits;
  int max_attempts;                  /* per job */
  int64_t max_upload;                /* bytes, documented in OpenAPI; 0 = none */
  struct vd_library *library;        /* duplicate check (library.h); NULL = none */
};

struct vd_api *vd_api_new(const struct vd_api_opts *o);
/* Ends what waits on the api: compat E checks in flight answer 503 and
 * their downloads stop. Call before vd_http_stop(), whose connection
 * threads would otherwise wait for them. */
void vd_api_stop(struct vd_api *a);
void vd_api_free(struct vd_api *a);
/* Tells the api about the server, for request metrics. */
void vd_api_set_http(struct vd_api *a, struct vd_http *h);
/* The route table (terminated by fn == NULL). */
const struct vd_http_route *vd_api_routes(void);

#endif
