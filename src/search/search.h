/*
 * search: what goes into the library's full-text index, and keeping the
 * index in step with the jobs (the index itself is in the store, store.h
 * "search").
 *
 * DESIGN
 * - A job's documents come from its result JSON through a small table keyed
 *   by analysis name (search.c, `extractors`): transcript segments (what
 *   was said), on-screen text segments (what was shown) and object labels
 *   (what was seen), each with its time range. Another analysis becomes searchable by adding a line there.
 *   A file's name is a document too, but the store writes that one itself
 *   when the file is stored.
 * - The worker that finishes a job indexes it right after the job's final
 *   transaction (vd_search_index_job). A crash between the two, or a
 *   library made before search existed, leaves succeeded jobs unindexed;
 *   vd_search_backfill() indexes them, and `vidan serve` runs it at start.
 *   Indexing replaces a job's documents, so doing it twice changes nothing.
 * - Text is capped per document (VD_SEARCH_MAX_TEXT) and per job
 *   (VD_SEARCH_MAX_DOCS), so a pathological result cannot bloat the index.
 *
 * Ownership: arguments are borrowed. Threading: any thread.
 */
#ifndef VD_SEARCH_SEARCH_H
#define VD_SEARCH_SEARCH_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

#include "core/err.h"
#include "store/store.h"

/* Bytes of one document's text that are indexed (cut at a UTF-8 boundary). */
#define VD_SEARCH_MAX_TEXT 2000
/* Documents indexed per job. */
#define VD_SEARCH_MAX_DOCS 20000

/* A job's documents. `v[i]` point into storage the struct owns. */
struct vd_search_docs {
  struct vd_search_doc *v;
  size_t n;
  char **texts; /* owned copies of the (capped) texts; n of them */
};

/*
 * Extracts the documents of a job's result: `result_json` is the job's
 * result text ({"results": {analysis: {...}}, ...}). Analyses without an
 * extractor, and segments without text or times, give nothing.
 * VD_ERR_CORRUPT when the text is not a JSON object. Free with
 * vd_search_docs_fini (also after an error).
 */
int vd_search_docs_from_result(const char *result_json, struct vd_search_docs *out,
                               struct vd_err *err) VD_WUR;
void vd_search_docs_fini(struct vd_search_docs *d);

/* Replaces the index entries of job `id` by those of its result text. */
int vd_search_index_job(struct vd_store *s, const char *id, const char *result_json,
                        struct vd_err *err) VD_WUR;

/*
 * Indexes every succeeded job that is not indexed yet, oldest first, until
 * none is left or *stop (may be NULL) becomes non-zero. A job that cannot
 * be read (deleted meanwhile) is skipped; one whose result is damaged is
 * logged and marked indexed with no documents, so it is not tried again.
 * *done (may be NULL) receives the number indexed. Returns 0, or the
 * store's error.
 */
int vd_search_backfill(struct vd_store *s, const atomic_int *stop, int *done,
                       struct vd_err *err) VD_WUR;

/* A hit as the API and `vidan search --json` show it: {file_id, filename,
 * job_id (null when ""), analysis, start, end, text, snippet, score}. */
json_t *vd_search_hit_json(const struct vd_search_hit *h);

#endif
