/*
 * fuzz_http_multipart.c: the request-body parsers of the HTTP layer.
 *
 * Input layout: first line = a Content-Type header value (the boundary is
 * taken from it exactly as the server does); byte after the newline = chunk
 * size seed; the rest = the body, fed in chunks of varying size. The same
 * body also goes through the urlencoded form parser and file-name
 * sanitising. Memory is bounded by construction (the parser keeps at most
 * one header block), which ASan checks as it goes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static size_t seen;

static int pb(void *u, const char *name, const char *filename, const char *ct) {
  (void)u;
  (void)ct;
  char out[256];
  vd_http_sanitize_filename(filename ? filename : name, out, sizeof(out));
  seen += strlen(out);
  return 0;
}
static int pd(void *u, const void *d, size_t n) {
  (void)u;
  (void)d;
  seen += n;
  return 0;
}
static int pe(void *u) {
  (void)u;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size);
  if (!nl || (size_t)(nl - data) > 512 || (size_t)(nl - data) + 2 > size)
    return 0;
  size_t hl = (size_t)(nl - data);
  char ctype[513];
  memcpy(ctype, data, hl);
  ctype[hl] = '\0';
  size_t step = 1 + nl[1] % 97;
  const char *body = (const char *)nl + 2;
  size_t blen = size - hl - 2;

  char b[VD_MP_MAX_BOUNDARY + 1];
  if (vd_multipart_boundary(ctype, b, sizeof(b)) == 0) {
    static const struct vd_multipart_cb cb = {pb, pd, pe};
    struct vd_err err = {0};
    struct vd_multipart *m = vd_multipart_new(b, &cb, NULL);
    int ret = 0;
    for (size_t off = 0; off < blen && ret == 0;) {
      size_t n = step < blen - off ? step : blen - off;
      ret = vd_multipart_feed(m, body + off, n, &err);
      off += n;
    }
    if (ret == 0)
      (void)vd_multipart_finish(m, &err);
    vd_multipart_free(m);
  }
  json_t *form = json_object();
  (void)vd_http_parse_urlencoded(body, blen, form);
  json_decref(form);
  return 0;
}
