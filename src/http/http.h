/*
 * http: the HTTP server on libmicrohttpd: routing, request bodies (JSON,
 * forms, streamed uploads with a multipart parser), responses (JSON, files
 * with Range, Server-Sent Events), limits and per-route metrics.
 *
 * DESIGN
 * - libmicrohttpd owns the sockets, with one thread per connection. That
 *   keeps every handler a plain blocking function, lets an SSE stream wait
 *   for progress without stalling anyone else, and scales to the few hundred
 *   connections a self-hosted service sees.
 * - A route declares how its body is read, before the handler runs:
 *     NONE   no body;
 *     JSON   buffered up to VD_HTTP_MAX_SMALL_BODY, then parsed by the handler;
 *     FORM   urlencoded or multipart fields, buffered into a JSON object of
 *            strings (same cap);
 *     UPLOAD multipart field `file` (other fields become form fields) or a
 *            raw body, streamed into a vd_blob_writer while it is hashed.
 *   The handler runs once the whole body arrived. Body errors answer before
 *   the handler: 400 malformed, 413 over the limit, 408 too slow; a refused
 *   upload's temp file is deleted (also when the client goes away).
 * - Limits: request headers are capped by the connection memory limit
 *   (MHD answers 431), idle connections time out, and an upload must keep
 *   an average rate above min_rate after a grace period, so a trickling
 *   client cannot hold a thread and a temp file forever.
 * - Every response is counted by route name and status for /metrics.
 *
 * Ownership: arguments are borrowed, except that vd_http_json() and
 * vd_http_sse() take the JSON / opaque they are given. Strings returned by
 * request accessors are borrowed until the request ends.
 * Threading: handlers run on the connection's thread; a request object is
 * used by one thread.
 */
#ifndef VD_HTTP_HTTP_H
#define VD_HTTP_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "blob/blob.h"
#include "core/err.h"

#define VD_HTTP_MAX_SMALL_BODY (1 << 20)
#define VD_HTTP_MAX_PARAMS 4

struct vd_http;
struct vd_http_req;

enum vd_http_body { VD_HTTP_BODY_NONE, VD_HTTP_BODY_JSON, VD_HTTP_BODY_FORM, VD_HTTP_BODY_UPLOAD };

typedef void (*vd_http_handler)(struct vd_http_req *req, void *app);

struct vd_http_route {
  const char *method;     /* "GET", "POST", "DELETE", ... */
  const char *pattern;    /* "/api/v1/files/{}", "{}" = one segment; trailing "*" = rest */
  enum vd_http_body body;
  vd_http_handler fn;
  const char *name;       /* for metrics; defaults to the pattern */
};

struct vd_http_opts {
  const char *listen;       /* "127.0.0.1:8080", "[::1]:0", ":8080" */
  const struct vd_http_route *routes; /* terminated by fn == NULL */
  void *app;                /* passed to handlers */
  struct vd_blobs *blobs;   /* where uploads stream */
  int64_t max_upload;       /* bytes; 0 = unlimited */
  double timeout;           /* idle seconds before a connection is closed; default 30 */
  double upload_grace;      /* seconds before the rate check starts; default 10 */
  double min_rate;          /* bytes/s an upload must average; default 1024 */
  size_t max_header_bytes;  /* memory per connection for headers; default 32 KiB */
  int max_connections;      /* default 512 */
};

int vd_http_start(struct vd_http **out, const struct vd_http_opts *o, struct vd_err *err) VD_WUR;
/* Port actually bound (useful with port 0). */
int vd_http_port(const struct vd_http *h);
void vd_http_stop(struct vd_http *h);
/* Prometheus text of request counts by route and status. Caller frees. */
char *vd_http_metrics(struct vd_http *h);

/* ---- request -------------------------------------------------------------- */

const char *vd_http_method(struct vd_http_req *r);
const char *vd_http_path(struct vd_http_req *r);
/* i-th "{}" or "*" capture of the route pattern, or NULL. */
const char *vd_http_param(struct vd_http_req *r, int i);
/* Query argument, or NULL. */
const char *vd_http_query(struct vd_http_req *r, const char *name);
/* Request header, or NULL. */
const char *vd_http_header(struct vd_http_req *r, const char *name);
/* Buffered body (JSON routes); *len receives its size. Never NULL. */
const char *vd_http_body(struct vd_http_req *r, size_t *len);
/* Form fields (FORM and UPLOAD routes): object of name → string. Borrowed. */
json_t *vd_http_form(struct vd_http_req *r);
/* UPLOAD routes: takes the writer holding the uploaded bytes (NULL when no
 * file arrived). The caller commits or aborts it. */
struct vd_blob_writer *vd_http_upload_take(struct vd_http_req *r);
/* Sanitised file name of the upload ("" when none was given). */
const char *vd_http_upload_name(struct vd_http_req *r);

/* ---- responses (exactly one per request) ------------------------------------ */

/* Adds a header to the response queued next. */
void vd_http_add_header(struct vd_http_req *r, const char *name, const char *value);
/* JSON body (steals `j`; NULL sends no body). */
void vd_http_json(struct vd_http_req *r, int status, json_t *j);
/* {"error": message, ...extra} (steals `extra`, may be NULL). */
void vd_http_error(struct vd_http_req *r, int status, json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Copies `len` bytes. */
void vd_http_data(struct vd_http_req *r, int status, const char *ctype, const void *data,
                  size_t len);
/* Empty body. */
void vd_http_empty(struct vd_http_req *r, int status);
/* Serves a file with Range support (206, 416). 404 when it is missing. */
void vd_http_file(struct vd_http_req *r, const char *path, const char *ctype,
                  const char *download_name);

/*
 * Server-Sent Events: `next` is called on the connection's thread whenever
 * the stream may continue; it writes at most `max` bytes of event text to
 * `buf` and returns their count, 0 to be called again (it should block a
 * while first), or -1 to end the stream. `free_fn` releases `opaque`.
 */
typedef long (*vd_http_sse_fn)(void *opaque, char *buf, size_t max);
void vd_http_sse(struct vd_http_req *r, vd_http_sse_fn next, void *opaque,
                 void (*free_fn)(void *));

/* ---- helpers, exposed for tests and fuzzing -------------------------------- */

#define VD_MP_MAX_BOUNDARY 70
#define VD_MP_MAX_HEADERS 8192

struct vd_multipart;
struct vd_multipart_cb {
  /* filename is NULL for a plain field; content_type may be NULL. */
  int (*part_begin)(void *u, const char *name, const char *filename, const char *content_type);
  int (*part_data)(void *u, const void *data, size_t len);
  int (*part_end)(void *u);
};

/* Extracts the boundary of a multipart/form-data Content-Type into `out`.
 * VD_ERR_INVALID when it is not multipart or the boundary is invalid. */
int vd_multipart_boundary(const char *content_type, char *out, size_t outlen) VD_WUR;
struct vd_multipart *vd_multipart_new(const char *boundary, const struct vd_multipart_cb *cb,
                                      void *u);
/* Feeds bytes; a negative callback result stops parsing and is returned. */
int vd_multipart_feed(struct vd_multipart *m, const void *data, size_t len,
                      struct vd_err *err) VD_WUR;
/* VD_ERR_INVALID unless the closing boundary was seen after at least one part. */
int vd_multipart_finish(struct vd_multipart *m, struct vd_err *err) VD_WUR;
void vd_multipart_free(struct vd_multipart *m);

/* Parses an application/x-www-form-urlencoded body into `form` (strings).
 * VD_ERR_INVALID on bad %-escapes or more than 256 fields. */
int vd_http_parse_urlencoded(const char *s, size_t len, json_t *form) VD_WUR;

/* Keeps the last path component, drops control characters and leading dots,
 * caps the length: safe to show, never used as a path on this server. */
void vd_http_sanitize_filename(const char *in, char *out, size_t outlen);

/* ISO 8601 UTC with microseconds, from Unix seconds; buf >= 32 bytes. */
void vd_http_iso_time(double t, char *buf, size_t len);

#endif
