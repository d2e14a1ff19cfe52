/*
 * store_search.c: what the search operations of both backends share (see
 * store.h, "search"): turning a user's words into the backend's query
 * text, reading a hit from a row, and the public calls.
 *
 * DESIGN
 * - A query never reaches FTS5 or to_tsquery as syntax. It is cut into
 *   words: runs of ASCII letters and digits and of any non-ASCII bytes
 *   (letters of other scripts, accented letters). Everything else (quotes,
 *   parentheses, '*', ':', '-', '^', '&', '|', '!', '<', '>') separates
 *   words, so NEAR(...), column filters, negations and unbalanced quotes
 *   become plain words or nothing. Each word is then quoted, which in FTS5
 *   also makes AND, OR, NOT and NEAR plain words. Every word must match
 *   (AND); the last one also matches as a prefix, so a search box finds
 *   "forward" while the user is still typing "forw".
 * - Non-ASCII bytes stay inside words, so the query must be valid UTF-8
 *   (PostgreSQL refuses anything else); it is checked here first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/store_int.h"

void vd_search_hit_fini(struct vd_search_hit *h) {
  if (!h)
    return;
  free(h->filename);
  free(h->analysis);
  free(h->text);
  free(h->snippet);
  memset(h, 0, sizeof(*h));
}

void vd__read_search_hit(const struct vd__row *r, struct vd_search_hit *h) {
  memset(h, 0, sizeof(*h));
  r->cols->copy(r->res, r->i, 0, h->file_id, sizeof(h->file_id));
  h->filename = r->cols->text(r->res, r->i, 1);
  if (!h->filename)
    h->filename = vd_xstrdup("");
  r->cols->copy(r->res, r->i, 2, h->job_id, sizeof(h->job_id));
  h->analysis = r->cols->text(r->res, r->i, 3);
  h->start = r->cols->dbl(r->res, r->i, 4);
  h->end = r->cols->dbl(r->res, r->i, 5);
  h->text = r->cols->text(r->res, r->i, 6);
  h->snippet = r->cols->text(r->res, r->i, 7);
  h->score = r->cols->dbl(r->res, r->i, 8);
  if (!h->analysis)
    h->analysis = vd_xstrdup("");
  if (!h->text)
    h->text = vd_xstrdup("");
  if (!h->snippet)
    h->snippet = vd_xstrdup(h->text);
}

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or values
 * past U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t len = c < 0x80             ? 1
                 : (c & 0xE0) == 0xC0 ? 2
                 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (!len || i + len > n || (len == 2 && c < 0xC2) || (len == 4 && c > 0xF4))
      return 0;
    for (size_t k = 1; k < len; k++)
      if ((s[i + k] & 0xC0) != 0x80)
        return 0;
    unsigned c1 = len > 1 ? s[i + 1] : 0;
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) ||
        (c == 0xF4 && c1 >= 0x90))
      return 0;
    i += len;
  }
  return 1;
}

static int word_byte(unsigned char c) {
  return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Appends `s` at q + k (the allocation leaves room); returns the new end. */
static size_t put(char *q, size_t k, const char *s) {
  size_t n = strlen(s);
  memcpy(q + k, s, n);
  return k + n;
}

int vd__search_query_text(const char *query, int pg, char **out, struct vd_err *err) {
  *out = NULL;
  size_t len = query ? strlen(query) : 0;
  if (len > VD_SEARCH_MAX_QUERY)
    return vd_err_set(err, VD_ERR_LIMIT, "the query is longer than %d bytes", VD_SEARCH_MAX_QUERY);
  if (!utf8_valid((const unsigned char *)query, len))
    return vd_err_set(err, VD_ERR_INVALID, "the query is not valid UTF-8");
  /* Each word grows by at most 7 bytes: quotes, prefix mark, separator. */
  char *q = vd_xmalloc(len + 8 * VD_SEARCH_MAX_WORDS + 1);
  size_t k = 0;
  int words = 0;
  for (size_t i = 0; i < len;) {
    if (!word_byte((unsigned char)query[i])) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < len && word_byte((unsigned char)query[j]))
      j++;
    if (++words > VD_SEARCH_MAX_WORDS) {
      free(q);
      return vd_err_set(err, VD_ERR_LIMIT, "the query has more than %d words", VD_SEARCH_MAX_WORDS);
    }
    if (k)
      k = put(q, k, pg ? " & " : " ");
    q[k++] = pg ? '\'' : '"';
    memcpy(q + k, query + i, j - i);
    k += j - i;
    q[k++] = pg ? '\'' : '"';
    i = j;
  }
  if (!words) {
    free(q);
    return vd_err_set(err, VD_ERR_INVALID, "the query has no word to search for");
  }
  k = put(q, k, pg ? ":*" : "*");
  q[k] = '\0';
  *out = q;
  return 0;
}

int vd__search_hits_take(struct vd__page *p, int ret, struct vd_search_hit **out, size_t *n) {
  struct vd_search_hit *h = p->recs;
  if (ret >= 0) {
    *out = h;
    *n = p->n;
    return 0;
  }
  for (size_t i = 0; i < p->n; i++)
    vd_search_hit_fini(&h[i]);
  free(h);
  *out = NULL;
  *n = 0;
  return ret;
}

/* ---- public calls ---------------------------------------------------------------- */

int vd_store_search_put(struct vd_store *s, const char *id, const struct vd_search_doc *docs,
                        size_t n, struct vd_err *err) {
  return s->ops->search_put(s, id, docs, n, err);
}

int vd_store_search_query(struct vd_store *s, const char *query, int offset, int limit,
                          struct vd_search_hit **out, size_t *n, struct vd_err *err) {
  *out = NULL;
  *n = 0;
  if (offset < 0)
    offset = 0;
  if (limit <= 0)
    return 0;
  return s->ops->search_query(s, query, offset, limit, out, n, err);
}

int vd_store_search_pending(struct vd_store *s, int limit, struct vd_idlist *ids,
                            struct vd_err *err) {
  ids->n = 0;
  ids->ids = NULL;
  return s->ops->search_pending(s, limit, ids, err);
}
