/* search.c: a job's searchable documents, and keeping the index in step
 * with the jobs; see search.h for the design. */
#include "search/search.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

/* Adds one document; the text is copied, capped at VD_SEARCH_MAX_TEXT
 * bytes without splitting a UTF-8 sequence. Empty texts are skipped. */
static void add_doc(struct vd_search_docs *d, const char *analysis, double start, double end,
                    const char *text) {
  size_t len = strlen(text);
  if (!len || d->n >= VD_SEARCH_MAX_DOCS)
    return;
  if (len > VD_SEARCH_MAX_TEXT) {
    len = VD_SEARCH_MAX_TEXT;
    while (len && ((unsigned char)text[len] & 0xC0) == 0x80)
      len--;
  }
  char *copy = vd_xmalloc(len + 1);
  memcpy(copy, text, len);
  copy[len] = '\0';
  d->v = vd_xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
  d->texts = vd_xrealloc(d->texts, (d->n + 1) * sizeof(*d->texts));
  d->texts[d->n] = copy;
  d->v[d->n] = (struct vd_search_doc){analysis, start, end, copy};
  d->n++;
}

/* add_doc for a JSON time range: skipped unless both ends are numbers,
 * finite, not negative and in order. */
static void add_timed(struct vd_search_docs *d, const char *analysis, json_t *s, json_t *e,
                      const char *text) {
  if (!json_is_number(s) || !json_is_number(e))
    return;
  double start = json_number_value(s), end = json_number_value(e);
  if (isfinite(start) && isfinite(end) && start >= 0 && end >= start)
    add_doc(d, analysis, start, end, text);
}

/* `segments`: [{start, end, text}, ...] with times in seconds, as the
 * transcript and text analyses write them. */
static void from_segments(struct vd_search_docs *d, const char *analysis, json_t *result) {
  size_t i;
  json_t *seg;
  json_array_foreach(json_object_get(result, "segments"), i, seg) {
    json_t *t = json_object_get(seg, "text");
    if (json_is_string(t))
      add_timed(d, analysis, json_object_get(seg, "start"), json_object_get(seg, "end"),
                json_string_value(t));
  }
}

/* `labels`: [{label, ranges: [{start, end}, ...]}, ...], as the objects
 * analysis writes them: each range where a label was seen is a document
 * whose text is the label ("person", "dog"). */
static void from_labels(struct vd_search_docs *d, const char *analysis, json_t *result) {
  size_t i, k;
  json_t *lab, *rg;
  json_array_foreach(json_object_get(result, "labels"), i, lab) {
    json_t *name = json_object_get(lab, "label");
    if (!json_is_string(name))
      continue;
    json_array_foreach(json_object_get(lab, "ranges"), k, rg) {
      add_timed(d, analysis, json_object_get(rg, "start"), json_object_get(rg, "end"),
                json_string_value(name));
    }
  }
}

/* The analyses whose results are searchable: name → what reads them. */
static const struct {
  const char *analysis;
  void (*extract)(struct vd_search_docs *d, const char *analysis, json_t *result);
} extractors[] = {
    {"transcript", from_segments}, /* what was said */
    {"text", from_segments},       /* what was shown on screen */
    {"objects", from_labels},      /* what was seen: each label's time ranges */
};

int vd_search_docs_from_result(const char *result_json, struct vd_search_docs *out,
                               struct vd_err *err) {
  memset(out, 0, sizeof(*out));
  json_t *root = result_json ? json_loads(result_json, 0, NULL) : NULL;
  if (!json_is_object(root)) {
    json_decref(root);
    return vd_err_set(err, VD_ERR_CORRUPT, "the analysis result is not a JSON object");
  }
  json_t *results = json_object_get(root, "results");
  for (size_t k = 0; k < sizeof(extractors) / sizeof(extractors[0]); k++) {
    json_t *r = json_object_get(results, extractors[k].analysis);
    if (json_is_object(r))
      extractors[k].extract(out, extractors[k].analysis, r);
  }
  json_decref(root);
  return 0;
}

void vd_search_docs_fini(struct vd_search_docs *d) {
  if (!d)
    return;
  for (size_t i = 0; i < d->n; i++)
    free(d->texts[i]);
  free(d->texts);
  free(d->v);
  memset(d, 0, sizeof(*d));
}

int vd_search_index_job(struct vd_store *s, const char *id, const char *result_json,
                        struct vd_err *err) {
  struct vd_search_docs d;
  int ret = vd_search_docs_from_result(result_json, &d, err);
  if (ret >= 0)
    ret = vd_store_search_put(s, id, d.v, d.n, err);
  vd_search_docs_fini(&d);
  return ret;
}

/* Indexes one pending job: 1 when indexed, 0 when it is gone, or < 0. */
static int backfill_one(struct vd_store *s, const char *id, struct vd_err *err) {
  struct vd_job_rec j;
  int ret = vd_store_job_get(s, id, &j, err);
  if (ret == VD_ERR_NOT_FOUND)
    return 0;
  if (ret < 0)
    return ret;
  struct vd_err xerr = {0};
  ret = vd_search_index_job(s, id, j.result, &xerr);
  if (ret == VD_ERR_CORRUPT) {
    VD_WARN("search: analysis %s: %s; it is marked indexed with no words", id,
            vd_err_msg(&xerr, ret));
    ret = vd_store_search_put(s, id, NULL, 0, err);
  } else if (ret < 0 && ret != VD_ERR_NOT_FOUND) {
    vd_err_set(err, ret, "%s", vd_err_msg(&xerr, ret));
  }
  vd_job_rec_fini(&j);
  return ret == VD_ERR_NOT_FOUND ? 0 : ret < 0 ? ret : 1;
}

int vd_search_backfill(struct vd_store *s, const atomic_int *stop, int *done, struct vd_err *err) {
  int total = 0, ret = 0;
  for (;;) {
    struct vd_idlist ids;
    if ((ret = vd_store_search_pending(s, 64, &ids, err)) < 0)
      break;
    int progress = 0;
    for (size_t i = 0; i < ids.n && ret >= 0 && !(stop && atomic_load(stop)); i++) {
      ret = backfill_one(s, ids.ids[i], err);
      progress += ret > 0;
      /* A job deleted meanwhile is no longer pending either: progress too. */
      progress += ret == 0;
      total += ret > 0;
    }
    size_t n = ids.n;
    vd_idlist_fini(&ids);
    if (ret < 0 || !n || !progress || (stop && atomic_load(stop)))
      break;
  }
  if (done)
    *done = total;
  return ret < 0 ? ret : 0;
}

json_t *vd_search_hit_json(const struct vd_search_hit *h) {
  return json_pack("{s:s, s:s, s:o, s:s, s:f, s:f, s:s, s:s, s:f}", "file_id", h->file_id,
                   "filename", h->filename, "job_id",
                   h->job_id[0] ? json_string(h->job_id) : json_null(), "analysis", h->analysis,
                   "start", h->start, "end", h->end, "text", h->text, "snippet", h->snippet,
                   "score", h->score);
}
