/* server.c: libmicrohttpd glue, routing, bodies and responses; see http.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "http/http.h"

#define MAX_STATS 512
#define MAX_HDRS 8
#define MAX_FIELD (64 * 1024)
#define MAX_FIELDS 256

struct stat_ent {
  const char *route;
  int status;
  uint64_t n;
};

struct vd_http {
  struct MHD_Daemon *d;
  struct vd_http_opts o;
  int port;
  pthread_mutex_t mu;
  struct stat_ent stats[MAX_STATS];
  int nstats;
};

struct vd_http_req {
  struct vd_http *h;
  struct MHD_Connection *c;
  const struct vd_http_route *route;
  const char *method;
  char *path;
  char *params[VD_HTTP_MAX_PARAMS];
  int nparams;
  /* body */
  char *body;
  size_t blen;
  json_t *form;
  struct vd_multipart *mp;
  struct vd_blob_writer *writer;
  char upname[256];
  int raw_upload;       /* UPLOAD without multipart: the body is the file */
  int part_kind;        /* 0 none, 1 the file, 2 a small field, 3 ignored */
  char *fname;          /* current field's name */
  char *fbuf;
  size_t flen;
  int64_t nbytes;
  double t0;
  int failed;           /* a body error was found (answered, or pending) */
  int pend_status;      /* body error to answer once the body is drained */
  char pend_msg[256];
  int64_t drained;      /* body bytes discarded after an error */
  /* response */
  char *hdr_name[MAX_HDRS], *hdr_val[MAX_HDRS];
  int nhdrs;
  int status;
};

/* ---- small helpers --------------------------------------------------------- */

void vd_http_iso_time(double t, char *buf, size_t len) {
  time_t s = (time_t)t;
  struct tm tm;
  gmtime_r(&s, &tm);
  char base[24];
  strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
  long us = (long)((t - (double)s) * 1e6);
  if (us < 0)
    us = 0;
  if (us > 999999)
    us = 999999;
  snprintf(buf, len, "%s.%06ldZ", base, us);
}

static int hexval(int c) {
  return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

/* Decodes %XX and '+' in [s, s+n) into a fresh string; NULL on a bad escape. */
static char *url_decode(const char *s, size_t n) {
  char *out = vd_xmalloc(n + 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '+') {
      out[o++] = ' ';
    } else if (s[i] == '%') {
      int a = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
      int b = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
      if (a < 0 || b < 0) {
        free(out);
        return NULL;
      }
      out[o++] = (char)(a * 16 + b);
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
  return out;
}

int vd_http_parse_urlencoded(const char *s, size_t len, json_t *form) {
  size_t i = 0;
  int n = 0;
  while (i < len) {
    size_t amp = i;
    while (amp < len && s[amp] != '&')
      amp++;
    if (amp > i) {
      size_t eq = i;
      while (eq < amp && s[eq] != '=')
        eq++;
      char *k = url_decode(s + i, eq - i);
      char *v = eq < amp ? url_decode(s + eq + 1, amp - eq - 1) : vd_xstrdup("");
      if (!k || !v || ++n > MAX_FIELDS) {
        free(k);
        free(v);
        return VD_ERR_INVALID;
      }
      json_t *js = json_string(v);
      if (!js) { /* not UTF-8 */
        free(k);
        free(v);
        return VD_ERR_INVALID;
      }
      json_object_set_new(form, k, js);
      free(k);
      free(v);
    }
    i = amp + 1;
  }
  return 0;
}

/* ---- metrics ---------------------------------------------------------------- */

static void count(struct vd_http *h, const char *route, int status) {
  pthread_mutex_lock(&h->mu);
  int i = 0;
  while (i < h->nstats && !(h->stats[i].status == status && !strcmp(h->stats[i].route, route)))
    i++;
  if (i == h->nstats && h->nstats < MAX_STATS) {
    h->stats[i].route = route;
    h->stats[i].status = status;
    h->nstats++;
  }
  if (i < MAX_STATS)
    h->stats[i].n++;
  pthread_mutex_unlock(&h->mu);
}

char *vd_http_metrics(struct vd_http *h) {
  pthread_mutex_lock(&h->mu);
  size_t cap = 256 + (size_t)h->nstats * 160, len = 0;
  char *s = vd_xmalloc(cap);
  len += (size_t)snprintf(s, cap,
                          "# HELP vidan_http_requests_total HTTP requests by route and status.\n"
                          "# TYPE vidan_http_requests_total counter\n");
  for (int i = 0; i < h->nstats; i++)
    len += (size_t)snprintf(s + len, cap - len,
                            "vidan_http_requests_total{route=\"%.100s\",status=\"%d\"} %llu\n",
                            h->stats[i].route, h->stats[i].status,
                            (unsigned long long)h->stats[i].n);
  pthread_mutex_unlock(&h->mu);
  return s;
}

/* ---- responses ------------------------------------------------------------- */

void vd_http_add_header(struct vd_http_req *r, const char *name, const char *value) {
  if (r->nhdrs >= MAX_HDRS)
    return;
  r->hdr_name[r->nhdrs] = vd_xstrdup(name);
  r->hdr_val[r->nhdrs++] = vd_xstrdup(value);
}

static void queue(struct vd_http_req *r, int status, struct MHD_Response *resp) {
  if (r->status) { /* a second response is a handler bug; keep the first */
    VD_ERROR("http: second response (%d) for %s %s", status, r->method, r->path);
    MHD_destroy_response(resp);
    return;
  }
  for (int i = 0; i < r->nhdrs; i++)
    MHD_add_response_header(resp, r->hdr_name[i], r->hdr_val[i]);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  r->status = status;
  if (MHD_queue_response(r->c, (unsigned)status, resp) != MHD_YES)
    VD_WARN("http: cannot queue response %d for %s", status, r->path);
  MHD_destroy_response(resp);
}

void vd_http_data(struct vd_http_req *r, int status, const char *ctype, const void *data,
                  size_t len) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
  if (ctype)
    MHD_add_response_header(resp, "Content-Type", ctype);
  queue(r, status, resp);
}

void vd_http_empty(struct vd_http_req *r, int status) { vd_http_data(r, status, NULL, "", 0); }

void vd_http_json(struct vd_http_req *r, int status, json_t *j) {
  if (!j) {
    vd_http_empty(r, status);
    return;
  }
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(j);
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header(resp, "Content-Type", "application/json");
  queue(r, status, resp);
}

void vd_http_error(struct vd_http_req *r, int status, json_t *extra, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  json_t *j = extra ? extra : json_object();
  json_t *m = json_string(msg);
  json_object_set_new(j, "error", m ? m : json_string("invalid text in error message"));
  vd_http_json(r, status, j);
}

void vd_http_file(struct vd_http_req *r, const char *path, const char *ctype,
                  const char *download_name) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0)
      close(fd);
    vd_http_error(r, 404, NULL, "not found");
    return;
  }
  uint64_t size = (uint64_t)st.st_size, from = 0, to = size ? size - 1 : 0;
  int status = 200;
  const char *range = vd_http_header(r, "Range");
  if (range && !strncasecmp(range, "bytes=", 6) && !strchr(range, ',')) {
    const char *p = range + 6;
    char *end;
    errno = 0;
    int ok = 1;
    if (*p == '-') { /* suffix: last N bytes */
      unsigned long long n = strtoull(p + 1, &end, 10);
      ok = !errno && end != p + 1 && !*end && n > 0;
      if (ok) {
        from = n >= size ? 0 : size - n;
        to = size - 1;
      }
    } else {
      unsigned long long a = strtoull(p, &end, 10);
      ok = !errno && end != p && *end == '-';
      if (ok) {
        from = a;
        const char *q = end + 1;
        if (*q) {
          unsigned long long b = strtoull(q, &end, 10);
          ok = !errno && !*end && b >= a;
          to = b >= size ? size - 1 : b;
        }
      }
    }
    if (!ok || size == 0 || from >= size) {
      close(fd);
      char cr[64];
      snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
      vd_http_add_header(r, "Content-Range", cr);
      vd_http_error(r, 416, NULL, "range not satisfiable");
      return;
    }
    status = 206;
    char cr[96];
    snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)from,
             (unsigned long long)to, (unsigned long long)size);
    vd_http_add_header(r, "Content-Range", cr);
  }
  uint64_t len = size ? to - from + 1 : 0;
  struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(len, fd, from);
  if (!resp) {
    close(fd);
    vd_http_error(r, 500, NULL, "cannot send file");
    return;
  }
  MHD_add_response_header(resp, "Accept-Ranges", "bytes");
  MHD_add_response_header(resp, "Content-Type", ctype ? ctype : "application/octet-stream");
  if (download_name && *download_name) {
    char cd[400];
    snprintf(cd, sizeof(cd), "inline; filename=\"%.300s\"", download_name);
    MHD_add_response_header(resp, "Content-Disposition", cd);
  }
  queue(r, status, resp);
}

struct sse {
  vd_http_sse_fn next;
  void *opaque;
  void (*free_fn)(void *);
};

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  struct sse *s = cls;
  long n;
  while ((n = s->next(s->opaque, buf, max)) == 0)
    ;
  return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void sse_free(void *cls) {
  struct sse *s = cls;
  if (s->free_fn)
    s->free_fn(s->opaque);
  free(s);
}

void vd_http_sse(struct vd_http_req *r, vd_http_sse_fn next, void *opaque,
                 void (*free_fn)(void *)) {
  struct sse *s = vd_xcalloc(1, sizeof(*s));
  s->next = next;
  s->opaque = opaque;
  s->free_fn = free_fn;
  struct MHD_Response *resp =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
  MHD_add_response_header(resp, "Content-Type", "text/event-stream");
  MHD_add_response_header(resp, "Cache-Control", "no-cache");
  queue(r, 200, resp);
}

/* ---- request accessors --------------------------------------------------------- */

const char *vd_http_method(struct vd_http_req *r) { return r->method; }
const char *vd_http_path(struct vd_http_req *r) { return r->path; }
const char *vd_http_param(struct vd_http_req *r, int i) {
  return i >= 0 && i < r->nparams ? r->params[i] : NULL;
}
const char *vd_http_query(struct vd_http_req *r, const char *name) {
  return MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, name);
}
const char *vd_http_header(struct vd_http_req *r, const char *name) {
  return MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, name);
}
const char *vd_http_body(struct vd_http_req *r, size_t *len) {
  *len = r->blen;
  return r->body ? r->body : "";
}
json_t *vd_http_form(struct vd_http_req *r) { return r->form; }
struct vd_blob_writer *vd_http_upload_take(struct vd_http_req *r) {
  struct vd_blob_writer *w = r->writer;
  r->writer = NULL;
  return w;
}
const char *vd_http_upload_name(struct vd_http_req *r) { return r->upname; }

/* ---- routing ------------------------------------------------------------------- */

/* Matches `path` against `pat`, capturing "{}" segments and a trailing "*". */
static int match(const char *pat, const char *path, struct vd_http_req *r) {
  int np = 0;
  char *caps[VD_HTTP_MAX_PARAMS];
  const char *p = pat, *s = path;
  while (*p) {
    if (p[0] == '{' && p[1] == '}') {
      const char *slash = strchr(s, '/');
      size_t n = slash ? (size_t)(slash - s) : strlen(s);
      if (n == 0 || np == VD_HTTP_MAX_PARAMS)
        goto no;
      caps[np] = vd_xmalloc(n + 1);
      memcpy(caps[np], s, n);
      caps[np++][n] = '\0';
      s += n;
      p += 2;
    } else if (p[0] == '*' && !p[1]) {
      if (!*s || np == VD_HTTP_MAX_PARAMS)
        goto no;
      caps[np++] = vd_xstrdup(s);
      s += strlen(s);
      p++;
    } else {
      if (*p != *s)
        goto no;
      p++;
      s++;
    }
  }
  if (*s)
    goto no;
  for (int i = 0; i < np; i++)
    r->params[i] = caps[i];
  r->nparams = np;
  return 1;
no:
  for (int i = 0; i < np; i++)
    free(caps[i]);
  return 0;
}

/* ---- bodies -------------------------------------------------------------------- */

/*
 * libmicrohttpd accepts a response only before the body (right after the
 * headers) or after all of it. An error found mid-body is therefore kept,
 * the rest of the body is drained without storing it (up to a cap, after
 * which the connection is dropped), and the error is answered at the end.
 */
static void body_error(struct vd_http_req *r, int status, const char *msg) {
  if (r->failed)
    return;
  r->failed = 1;
  vd_blob_abort(r->writer); /* the temp file goes at once */
  r->writer = NULL;
  r->pend_status = status;
  snprintf(r->pend_msg, sizeof(r->pend_msg), "%s", msg);
}

/* First-call errors can be answered at once: MHD then reads no body. */
static void early_error(struct vd_http_req *r, int status, const char *msg) {
  body_error(r, status, msg);
  r->pend_status = 0;
  vd_http_error(r, status, NULL, "%s", msg);
}

static int part_begin(void *u, const char *name, const char *filename, const char *ctype) {
  (void)ctype;
  struct vd_http_req *r = u;
  free(r->fname);
  r->fname = vd_xstrdup(name);
  r->flen = 0;
  if (r->route->body == VD_HTTP_BODY_UPLOAD && !strcmp(name, "file")) {
    if (r->writer) /* a second file part: refuse rather than guess */
      return VD_ERR_INVALID;
    struct vd_err err = {0};
    if (vd_blob_writer_new(r->h->o.blobs, r->h->o.max_upload, &r->writer, &err) < 0)
      return VD_ERR_INTERNAL;
    vd_http_sanitize_filename(filename ? filename : "", r->upname, sizeof(r->upname));
    r->part_kind = 1;
    return 0;
  }
  if (json_object_size(r->form) >= MAX_FIELDS)
    return VD_ERR_LIMIT;
  r->part_kind = 2;
  return 0;
}

static int part_data(void *u, const void *data, size_t len) {
  struct vd_http_req *r = u;
  if (r->part_kind == 1) {
    struct vd_err err = {0};
    return vd_blob_write(r->writer, data, len, &err);
  }
  if (r->part_kind == 2) {
    if (len > MAX_FIELD - r->flen)
      return VD_ERR_LIMIT;
    r->fbuf = vd_xrealloc(r->fbuf, r->flen + len + 1);
    memcpy(r->fbuf + r->flen, data, len);
    r->flen += len;
  }
  return 0;
}

static int part_end(void *u) {
  struct vd_http_req *r = u;
  if (r->part_kind == 2) {
    json_t *v = json_stringn(r->fbuf ? r->fbuf : "", r->flen);
    if (!v)
      return VD_ERR_INVALID; /* not UTF-8 */
    json_object_set_new(r->form, r->fname, v);
  }
  r->part_kind = 0;
  return 0;
}

static const struct vd_multipart_cb mp_cb = {part_begin, part_data, part_end};

/* First call: decide how the body will be read. 0, or an answered error. */
static int body_begin(struct vd_http_req *r) {
  enum vd_http_body mode = r->route->body;
  const char *ctype = vd_http_header(r, "Content-Type");
  const char *clen = vd_http_header(r, "Content-Length");
  long long declared = clen ? strtoll(clen, NULL, 10) : -1;
  r->form = json_object();
  if (mode == VD_HTTP_BODY_NONE)
    return 0;
  if (mode != VD_HTTP_BODY_UPLOAD && declared > VD_HTTP_MAX_SMALL_BODY) {
    early_error(r, 413, "request body too large");
    return -1;
  }
  if (mode == VD_HTTP_BODY_UPLOAD && r->h->o.max_upload > 0 &&
      declared > r->h->o.max_upload + 65536) { /* multipart framing is small */
    char msg[128];
    snprintf(msg, sizeof(msg), "file is larger than the limit of %lld bytes",
             (long long)r->h->o.max_upload);
    early_error(r, 413, msg);
    return -1;
  }
  if (mode == VD_HTTP_BODY_FORM || mode == VD_HTTP_BODY_UPLOAD) {
    char b[VD_MP_MAX_BOUNDARY + 1];
    if (ctype && !strncasecmp(ctype, "multipart/", 10)) {
      if (vd_multipart_boundary(ctype, b, sizeof(b)) < 0) {
        early_error(r, 400, "multipart body without a valid boundary");
        return -1;
      }
      r->mp = vd_multipart_new(b, &mp_cb, r);
    } else if (mode == VD_HTTP_BODY_UPLOAD &&
               !(ctype && !strncasecmp(ctype, "application/x-www-form-urlencoded", 33))) {
      struct vd_err err = {0};
      if (vd_blob_writer_new(r->h->o.blobs, r->h->o.max_upload, &r->writer, &err) < 0) {
        early_error(r, 500, "cannot create a temp file");
        return -1;
      }
      r->raw_upload = 1;
      const char *fn = vd_http_query(r, "filename");
      vd_http_sanitize_filename(fn ? fn : "", r->upname, sizeof(r->upname));
    }
  }
  return 0;
}

static void body_data(struct vd_http_req *r, const char *data, size_t len) {
  struct vd_err err = {0};
  if (r->mp) {
    int ret = vd_multipart_feed(r->mp, data, len, &err);
    if (ret == VD_ERR_LIMIT)
      body_error(r, 413, r->part_kind == 1 ? "file is larger than the upload limit"
                                           : "form field too large");
    else if (ret < 0)
      body_error(r, 400, vd_err_msg(&err, ret));
    return;
  }
  if (r->raw_upload) {
    if (vd_blob_write(r->writer, data, len, &err) < 0)
      body_error(r, err.code == VD_ERR_LIMIT ? 413 : 500, vd_err_msg(&err, err.code));
    return;
  }
  if (len > VD_HTTP_MAX_SMALL_BODY - r->blen) {
    body_error(r, 413, "request body too large");
    return;
  }
  r->body = vd_xrealloc(r->body, r->blen + len + 1);
  memcpy(r->body + r->blen, data, len);
  r->blen += len;
  r->body[r->blen] = '\0';
}

/* Last call: complete the body. 0, or an answered error. */
static int body_end(struct vd_http_req *r) {
  struct vd_err err = {0};
  if (r->mp) {
    int ret = vd_multipart_finish(r->mp, &err);
    if (ret < 0) {
      body_error(r, 400, vd_err_msg(&err, ret));
      return -1;
    }
  } else if (r->route->body == VD_HTTP_BODY_FORM || r->route->body == VD_HTTP_BODY_UPLOAD) {
    if (!r->raw_upload && r->blen &&
        vd_http_parse_urlencoded(r->body, r->blen, r->form) < 0) {
      body_error(r, 400, "malformed form body");
      return -1;
    }
  }
  return 0;
}

/* ---- MHD callbacks ---------------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
  (void)version;
  struct vd_http *h = cls;
  struct vd_http_req *r = *con_cls;
  if (!r) {
    r = vd_xcalloc(1, sizeof(*r));
    *con_cls = r;
    r->h = h;
    r->c = c;
    r->method = method;
    r->path = vd_xstrdup(url);
    r->t0 = vd_now();
    int path_known = 0;
    for (const struct vd_http_route *rt = h->o.routes; rt->fn; rt++) {
      if (!match(rt->pattern, url, r))
        continue;
      path_known = 1;
      if (!strcmp(rt->method, method) ||
          (!strcmp(method, "HEAD") && !strcmp(rt->method, "GET"))) {
        r->route = rt;
        break;
      }
      for (int i = 0; i < r->nparams; i++)
        free(r->params[i]);
      r->nparams = 0;
    }
    if (!r->route) {
      r->failed = 1;
      if (path_known)
        vd_http_error(r, 405, NULL, "method %s not allowed on %s", method, url);
      else
        vd_http_error(r, 404, NULL, "no route for %s", url);
      return MHD_YES;
    }
    body_begin(r);
    return MHD_YES;
  }
  if (*upload_data_size) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    r->nbytes += (int64_t)n;
    double el = vd_now() - r->t0;
    if (el > h->o.upload_grace && (double)r->nbytes / el < h->o.min_rate) {
      VD_INFO("http: %s %s: body too slow (%lld bytes in %.1f s), closing", method, url,
              (long long)r->nbytes, el);
      return MHD_NO; /* drops the connection; on_completed deletes the temp file */
    }
    if (r->failed) {
      r->drained += (int64_t)n;
      return r->drained > ((int64_t)64 << 20) ? MHD_NO : MHD_YES;
    }
    if (r->route->body == VD_HTTP_BODY_NONE)
      body_error(r, 413, "this route takes no request body");
    else
      body_data(r, upload_data, n);
    return MHD_YES;
  }
  if (r->pend_status) {
    vd_http_error(r, r->pend_status, NULL, "%s", r->pend_msg);
    return MHD_YES;
  }
  if (r->failed || r->status)
    return MHD_YES;
  if (body_end(r) < 0) {
    vd_http_error(r, r->pend_status, NULL, "%s", r->pend_msg);
    return MHD_YES;
  }
  r->route->fn(r, h->o.app);
  if (!r->status)
    vd_http_error(r, 500, NULL, "internal error: no response");
  return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)c;
  struct vd_http *h = cls;
  struct vd_http_req *r = *con_cls;
  if (!r)
    return;
  *con_cls = NULL;
  if (r->status)
    count(h, r->route ? (r->route->name ? r->route->name : r->route->pattern) : "unmatched",
          r->status);
  else if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
    count(h, r->route ? (r->route->name ? r->route->name : r->route->pattern) : "unmatched", 0);
  vd_blob_abort(r->writer); /* an upload nobody took: its temp file goes */
  vd_multipart_free(r->mp);
  json_decref(r->form);
  for (int i = 0; i < r->nparams; i++)
    free(r->params[i]);
  for (int i = 0; i < r->nhdrs; i++) {
    free(r->hdr_name[i]);
    free(r->hdr_val[i]);
  }
  free(r->fname);
  free(r->fbuf);
  free(r->body);
  free(r->path);
  free(r);
}

/* "host:port", "[v6]:port" or ":port" into a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len) {
  char host[128];
  const char *colon = strrchr(s, ':');
  if (!colon)
    return VD_ERR_INVALID;
  size_t hl = (size_t)(colon - s);
  if (hl >= sizeof(host))
    return VD_ERR_INVALID;
  memcpy(host, s, hl);
  host[hl] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || end == colon + 1 || port < 0 || port > 65535)
    return VD_ERR_INVALID;
  memset(ss, 0, sizeof(*ss));
  if (host[0] == '[') {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    size_t n = strlen(host);
    if (n < 2 || host[n - 1] != ']')
      return VD_ERR_INVALID;
    host[n - 1] = '\0';
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
      return VD_ERR_INVALID;
    *len = sizeof(*a);
    return 0;
  }
  struct sockaddr_in *a = (struct sockaddr_in *)ss;
  a->sin_family = AF_INET;
  a->sin_port = htons((uint16_t)port);
  if (!host[0] || !strcmp(host, "*"))
    a->sin_addr.s_addr = htonl(INADDR_ANY);
  else if (!strcmp(host, "localhost"))
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
    return VD_ERR_INVALID;
  *len = sizeof(*a);
  return 0;
}

int vd_http_start(struct vd_http **out, const struct vd_http_opts *o, struct vd_err *err) {
  struct sockaddr_storage ss;
  socklen_t slen;
  *out = NULL;
  if (parse_listen(o->listen, &ss, &slen) < 0)
    return vd_err_set(err, VD_ERR_INVALID, "bad listen address '%s' (want HOST:PORT)", o->listen);
  struct vd_http *h = vd_xcalloc(1, sizeof(*h));
  h->o = *o;
  if (h->o.timeout <= 0)
    h->o.timeout = 30;
  if (h->o.upload_grace <= 0)
    h->o.upload_grace = 10;
  if (h->o.min_rate <= 0)
    h->o.min_rate = 1024;
  if (!h->o.max_header_bytes)
    h->o.max_header_bytes = 32 * 1024;
  if (h->o.max_connections <= 0)
    h->o.max_connections = 512;
  pthread_mutex_init(&h->mu, NULL);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                   MHD_USE_POLL | MHD_USE_ERROR_LOG;
  if (ss.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  h->d = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)(h->o.timeout + 0.999), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      h->o.max_header_bytes, MHD_OPTION_CONNECTION_LIMIT, (unsigned)h->o.max_connections,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
  (void)slen;
  if (!h->d) {
    int e = errno;
    pthread_mutex_destroy(&h->mu);
    free(h);
    return vd_err_set(err, e ? -e : VD_ERR_INTERNAL, "cannot listen on %s: %s", o->listen,
                      e ? strerror(e) : "libmicrohttpd failed to start");
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
  h->port = info ? info->port : 0;
  *out = h;
  return 0;
}

int vd_http_port(const struct vd_http *h) { return h->port; }

void vd_http_stop(struct vd_http *h) {
  if (!h)
    return;
  MHD_stop_daemon(h->d);
  pthread_mutex_destroy(&h->mu);
  free(h);
}
