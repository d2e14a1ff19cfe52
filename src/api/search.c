/*
 * search.c: GET /api/v1/search?q=words&limit=20&cursor=N, search across the
 * whole library (store.h "search", docs/search.md).
 *
 * Answers {"query", "hits": [{file_id, filename, job_id, analysis, start,
 * end, text, snippet, score}], "next_cursor"}. A snippet marks each matched
 * word between « and »; it is plain text, so a page must escape it before
 * turning the marks into highlights. job_id is the analysis to open at
 * `start` (null for a file that has none yet). The cursor is the number of
 * hits already seen: hits are ranked, not ordered by a key, and the index
 * changes little while someone pages through it.
 *
 * Bad queries are the client's: none, no word in it, longer than
 * VD_SEARCH_MAX_QUERY bytes or VD_SEARCH_MAX_WORDS words, or not UTF-8 →
 * 400 with the reason. Whatever syntax a query holds, it is only words to
 * the store, so no query can make it fail.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "search/search.h"

/* Deepest page: ranking more than this many hits is work nobody reads. */
#define MAX_OFFSET 10000

void vd__api_search(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  const char *q = vd_http_query(r, "q");
  if (!q || !*q) {
    vd_http_error(r, 400, NULL, "say what to search for: ?q=words");
    return;
  }
  int limit;
  int64_t cursor;
  vd__api_page(r, 20, 100, &limit, &cursor);
  if (cursor > MAX_OFFSET) {
    vd_http_error(r, 400, NULL, "cursor past the last page searched (%d hits)", MAX_OFFSET);
    return;
  }
  struct vd_search_hit *hits = NULL;
  size_t n = 0;
  struct vd_err err = {0};
  /* One more than asked says whether another page follows. */
  int ret = vd_store_search_query(a->o.store, q, (int)cursor, limit + 1, &hits, &n, &err);
  if (ret == VD_ERR_INVALID || ret == VD_ERR_LIMIT) {
    vd_http_error(r, 400, NULL, "%s", vd_err_msg(&err, ret));
    return;
  }
  if (ret < 0) {
    vd_http_error(r, 500, NULL, "search: %s", vd_err_msg(&err, ret));
    return;
  }
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) {
    if (i < (size_t)limit)
      json_array_append_new(list, vd_search_hit_json(&hits[i]));
    vd_search_hit_fini(&hits[i]);
  }
  free(hits);
  json_t *next = n > (size_t)limit && cursor + limit <= MAX_OFFSET
                     ? json_sprintf("%lld", (long long)(cursor + limit))
                     : json_null();
  vd_http_json(r, 200, json_pack("{s:s, s:o, s:o}", "query", q, "hits", list, "next_cursor", next));
}

json_t *vd__api_search_op(void) {
  return json_pack(
      "{s:s, s:s, s:[s], s:[{s:s, s:s, s:b, s:{s:s, s:i}, s:s}, {s:s, s:s, s:{s:s, s:i, s:i}},"
      " {s:s, s:s, s:{s:s}, s:s}], s:{s:{s:s}, s:{s:s}}}",
      "summary",
      "Search the whole library: words said (transcript), shown (text), objects seen "
      "(objects) or words in a file name",
      "description",
      "Every word must match, case and accents aside; the last word also matches as a prefix. "
      "Hits are ranked. Each has file_id, filename, job_id (the analysis to open at `start`), "
      "analysis, start, end (seconds), text, snippet (matched words between « and », plain text: "
      "escape it), score.",
      "tags", "search", "parameters", "name", "q", "in", "query", "required", 1, "schema", "type",
      "string", "maxLength", VD_SEARCH_MAX_QUERY, "description", "the words", "name", "limit", "in",
      "query", "schema", "type", "integer", "minimum", 1, "maximum", 100, "name", "cursor", "in",
      "query", "schema", "type", "string", "description", "next_cursor of the page before",
      "responses", "200", "description", "{query, hits, next_cursor}", "400", "description",
      "no word to search for, longer than the limit, or not UTF-8");
}
