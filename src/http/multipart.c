/*
 * multipart.c: a streaming multipart/form-data parser (RFC 7578 / RFC 2046).
 *
 * DESIGN
 * - Bytes are fed in pieces of any size; part bodies are handed out as they
 *   arrive, so a multi-gigabyte upload passes through a few bytes of state.
 *   Memory is bounded by the header block cap (VD_MP_MAX_HEADERS).
 * - The delimiter is CRLF "--" boundary. The stream is parsed as if it began
 *   with CRLF, so the first boundary (which has no CRLF before it) matches
 *   the same way. RFC 2046 forbids CR in a boundary, so a partial match can
 *   only restart at its first byte: bytes held back while matching are
 *   always a prefix of the delimiter and are re-emitted from it, never
 *   buffered.
 * - After a delimiter: "--" ends the body (the epilogue is ignored);
 *   otherwise optional linear white space, CRLF, then headers up to an empty
 *   line.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/util.h"
#include "http/http.h"

enum st { ST_PRE, ST_BODY, ST_AFTER, ST_AFTER_DASH, ST_LWSP, ST_LWSP_LF, ST_HDR, ST_DONE, ST_ERR };

struct vd_multipart {
  struct vd_multipart_cb cb;
  void *u;
  char delim[4 + VD_MP_MAX_BOUNDARY + 1];
  size_t dlen;
  size_t match;      /* delimiter bytes matched so far */
  enum st st;
  char hdr[VD_MP_MAX_HEADERS + 1];
  size_t nhdr;
  int in_part;
  int parts;
};

static int bchar(int c) {
  return isalnum(c) || strchr("'()+_,-./:=? ", c) != NULL;
}

int vd_multipart_boundary(const char *ctype, char *out, size_t outlen) {
  if (!ctype)
    return VD_ERR_INVALID;
  while (*ctype == ' ')
    ctype++;
  if (strncasecmp(ctype, "multipart/form-data", 19))
    return VD_ERR_INVALID;
  const char *p = ctype + 19;
  while ((p = strchr(p, ';'))) {
    p++;
    while (*p == ' ' || *p == '\t')
      p++;
    if (strncasecmp(p, "boundary=", 9))
      continue;
    p += 9;
    int quoted = *p == '"';
    p += quoted;
    size_t n = 0;
    while (p[n] && (quoted ? p[n] != '"' : (p[n] != ';' && p[n] != ' ' && p[n] != '\t')))
      n++;
    if (quoted && p[n] != '"')
      return VD_ERR_INVALID;
    /* RFC 2046: 1 to 70 bchars, not ending in a space. */
    if (n == 0 || n > VD_MP_MAX_BOUNDARY || n >= outlen || p[n - 1] == ' ')
      return VD_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
      if (!bchar((unsigned char)p[i]))
        return VD_ERR_INVALID;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
  }
  return VD_ERR_INVALID;
}

struct vd_multipart *vd_multipart_new(const char *boundary, const struct vd_multipart_cb *cb,
                                      void *u) {
  size_t n = strlen(boundary);
  VD_ASSERT(n > 0 && n <= VD_MP_MAX_BOUNDARY); /* callers validate with vd_multipart_boundary */
  struct vd_multipart *m = vd_xcalloc(1, sizeof(*m));
  m->cb = *cb;
  m->u = u;
  memcpy(m->delim, "\r\n--", 4);
  memcpy(m->delim + 4, boundary, n);
  m->dlen = 4 + n;
  m->st = ST_PRE;
  m->match = 2; /* as if the body began with CRLF */
  return m;
}

void vd_multipart_free(struct vd_multipart *m) { free(m); }

static int fail(struct vd_multipart *m, struct vd_err *err, const char *msg) {
  m->st = ST_ERR;
  return vd_err_set(err, VD_ERR_INVALID, "malformed multipart body: %s", msg);
}

/* Extracts a parameter (name="...") from a Content-Disposition value. */
static int disp_param(const char *v, const char *key, char *out, size_t outlen) {
  size_t kl = strlen(key);
  for (const char *p = v; (p = strchr(p, ';'));) {
    p++;
    while (*p == ' ' || *p == '\t')
      p++;
    if (strncasecmp(p, key, kl) || p[kl] != '=')
      continue;
    p += kl + 1;
    size_t n = 0;
    if (*p == '"') {
      p++;
      while (p[n] && p[n] != '"') {
        if (p[n] == '\\' && p[n + 1])
          n++;
        n++;
      }
      if (p[n] != '"')
        return -1;
    } else {
      while (p[n] && p[n] != ';' && p[n] != ' ')
        n++;
    }
    /* Unescape \" and \\ while copying; truncation is refused, not hidden. */
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
      if (p[i] == '\\' && i + 1 < n)
        i++;
      if (o + 1 >= outlen)
        return -1;
      out[o++] = p[i];
    }
    out[o] = '\0';
    return 1;
  }
  return 0;
}

static int parse_headers(struct vd_multipart *m, struct vd_err *err) {
  char name[256] = "", filename[1024] = "", ctype[256] = "";
  int have_disp = 0, have_file = 0;
  m->hdr[m->nhdr] = '\0';
  for (char *line = m->hdr; *line;) {
    char *eol = strstr(line, "\r\n");
    if (!eol)
      break;
    *eol = '\0';
    if (!*line)
      break;
    char *colon = strchr(line, ':');
    if (!colon)
      return fail(m, err, "part header without a colon");
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
      v++;
    if (!strcasecmp(line, "Content-Disposition")) {
      if (strncasecmp(v, "form-data", 9))
        return fail(m, err, "part is not form-data");
      int r = disp_param(v, "name", name, sizeof(name));
      if (r <= 0)
        return fail(m, err, "part without a valid name");
      r = disp_param(v, "filename", filename, sizeof(filename));
      if (r < 0)
        return fail(m, err, "bad filename parameter");
      have_file = r > 0;
      have_disp = 1;
    } else if (!strcasecmp(line, "Content-Type")) {
      snprintf(ctype, sizeof(ctype), "%s", v);
    }
    line = eol + 2;
  }
  if (!have_disp)
    return fail(m, err, "part without Content-Disposition");
  m->in_part = 1;
  m->parts++;
  if (m->cb.part_begin) {
    int r = m->cb.part_begin(m->u, name, have_file ? filename : NULL, ctype[0] ? ctype : NULL);
    if (r < 0) {
      m->st = ST_ERR;
      return r;
    }
  }
  return 0;
}

static int emit(struct vd_multipart *m, const void *p, size_t n) {
  if (!n || m->st == ST_PRE || !m->cb.part_data)
    return 0;
  int r = m->cb.part_data(m->u, p, n);
  if (r < 0)
    m->st = ST_ERR;
  return r;
}

static int end_part(struct vd_multipart *m) {
  if (!m->in_part)
    return 0;
  m->in_part = 0;
  int r = m->cb.part_end ? m->cb.part_end(m->u) : 0;
  if (r < 0)
    m->st = ST_ERR;
  return r;
}

int vd_multipart_feed(struct vd_multipart *m, const void *data, size_t len, struct vd_err *err) {
  const unsigned char *p = data, *end = p + len;
  int r;
  while (p < end) {
    switch (m->st) {
    case ST_PRE:
    case ST_BODY:
      if (m->match == 0) {
        const unsigned char *cr = memchr(p, '\r', (size_t)(end - p));
        const unsigned char *upto = cr ? cr : end;
        if ((r = emit(m, p, (size_t)(upto - p))) < 0)
          return r;
        p = upto;
        if (!cr)
          return 0;
      }
      if (*p == (unsigned char)m->delim[m->match]) {
        p++;
        if (++m->match == m->dlen) {
          m->match = 0;
          if ((r = end_part(m)) < 0)
            return r;
          m->st = ST_AFTER;
        }
      } else {
        /* False start: the held-back bytes were data after all. In the
         * preamble (before the first delimiter) they are discarded. */
        if ((r = emit(m, m->delim, m->match)) < 0)
          return r;
        if (m->match == 0) { /* a lone CR that does not start a delimiter */
          if ((r = emit(m, p, 1)) < 0)
            return r;
          p++;
        }
        m->match = 0;
      }
      break;
    case ST_AFTER:
      if (*p == '-') {
        m->st = ST_AFTER_DASH;
      } else if (*p == '\r') {
        m->st = ST_LWSP_LF;
      } else if (*p == ' ' || *p == '\t') {
        m->st = ST_LWSP;
      } else {
        return fail(m, err, "junk after boundary");
      }
      p++;
      break;
    case ST_AFTER_DASH:
      if (*p != '-')
        return fail(m, err, "junk after boundary");
      p++;
      m->st = ST_DONE;
      break;
    case ST_LWSP:
      if (*p == '\r')
        m->st = ST_LWSP_LF;
      else if (*p != ' ' && *p != '\t')
        return fail(m, err, "junk after boundary");
      p++;
      break;
    case ST_LWSP_LF:
      if (*p != '\n')
        return fail(m, err, "boundary line not ended by CRLF");
      p++;
      m->st = ST_HDR;
      m->nhdr = 0;
      break;
    case ST_HDR:
      if (m->nhdr >= VD_MP_MAX_HEADERS)
        return fail(m, err, "part headers too large");
      m->hdr[m->nhdr++] = (char)*p++;
      if ((m->nhdr == 2 && !memcmp(m->hdr, "\r\n", 2)) ||
          (m->nhdr >= 4 && !memcmp(m->hdr + m->nhdr - 4, "\r\n\r\n", 4))) {
        if ((r = parse_headers(m, err)) < 0)
          return r;
        m->st = ST_BODY;
        m->match = 0;
      }
      break;
    case ST_DONE:
      return 0; /* epilogue */
    case ST_ERR:
      return fail(m, err, "parser already failed");
    }
  }
  return 0;
}

int vd_multipart_finish(struct vd_multipart *m, struct vd_err *err) {
  if (m->st == ST_DONE)
    return m->parts ? 0 : fail(m, err, "no parts");
  if (m->st == ST_ERR)
    return vd_err_set(err, VD_ERR_INVALID, "malformed multipart body");
  return fail(m, err, "body ended before the closing boundary");
}

void vd_http_sanitize_filename(const char *in, char *out, size_t outlen) {
  const char *base = in ? in : "";
  for (const char *p = base; *p; p++)
    if (*p == '/' || *p == '\\')
      base = p + 1;
  while (*base == '.' || *base == ' ')
    base++;
  size_t o = 0;
  const char *p = base;
  for (; *p && o + 1 < outlen; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 || c == 0x7f || c == '"')
      continue;
    out[o++] = (char)c;
  }
  if (*p) {
    /* Cut at the cap: do not leave half a UTF-8 sequence behind. */
    while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
      o--;
    if (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0xC0)
      o--;
  }
  out[o] = '\0';
}
