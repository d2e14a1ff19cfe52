/*
 * store_search_pg.c: the search operations of the PostgreSQL backend (see
 * store.h, "search"), the same operations as store_search_sqlite.c on a
 * tsvector column.
 *
 * DESIGN
 * - search_docs.tsv is a stored generated column,
 *   to_tsvector('simple', vidan_fold(text)), under a GIN index. The 'simple'
 *   configuration lower-cases and keeps every word (no stemming, no stop
 *   words: the same words match as in SQLite). vidan_fold (store_schema.c)
 *   also strips the accents of Latin letters and turns the punctuation
 *   inside file names ("clip_2.final.mp4") into spaces, so the parser sees
 *   words rather than file paths or host names.
 * - Queries go through the same fold before to_tsquery. Hits are ranked by
 *   ts_rank divided by the document's length (normalization 2), so a short
 *   line that says the word beats a long one, as with bm25 in SQLite.
 *   Snippets come from ts_headline on the original text, which marks a
 *   word typed without its accents as found but not highlighted.
 * - A put locks the job row (FOR UPDATE), so two nodes indexing one job at
 *   once (a backfill at start beside the finishing worker) take turns and
 *   the second replaces the first's rows instead of doubling them.
 */
#ifdef VD_HAVE_LIBPQ

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/store_int.h"

#define ROW(r, i) (&(struct vd__row){vd__pg_cols, (r), (i)})

struct put {
  const char *id;
  const struct vd_search_doc *docs;
  size_t n;
};

static void row_text(PGresult *r, int i, void *u) { *(char **)u = vd__pg_text(r, i, 0); }

static int put_tx(struct vd__pg_conn *c, void *arg, struct vd_err *err) {
  struct put *p = arg;
  char *file_id = NULL;
  int n = vd__pg_each(c, row_text, &file_id, err,
                      "SELECT file_id FROM jobs WHERE id = $1 FOR UPDATE", "t", p->id);
  if ((n = vd__store_one_row(n, err, "no analysis %s", p->id)) < 0)
    goto out;
  if ((n = vd__pg_run(c, err, "DELETE FROM search_docs WHERE job_id = $1", "t", p->id)) < 0 ||
      (n = vd__pg_run(c, err, "DELETE FROM search_runs WHERE job_id = $1", "t", p->id)) < 0)
    goto out;
  for (size_t i = 0; file_id && i < p->n; i++) {
    const struct vd_search_doc *d = &p->docs[i];
    if ((n = vd__pg_run(c, err,
                        "INSERT INTO search_docs(file_id, job_id, analysis, start_s, end_s, text)"
                        " VALUES($1,$2,$3,$4,$5,$6)",
                        "tttddt", file_id, p->id, d->analysis, d->start, d->end, d->text)) < 0)
      goto out;
    /* Docs come grouped by analysis; a repeat is ignored anyway. */
    if ((i == 0 || strcmp(p->docs[i - 1].analysis, d->analysis)) &&
        (n = vd__pg_run(
             c, err,
             "INSERT INTO search_runs(job_id, file_id, analysis, seq)"
             " SELECT id, file_id, $2, seq FROM jobs WHERE id = $1 ON CONFLICT DO NOTHING",
             "tt", p->id, d->analysis)) < 0)
      goto out;
  }
  n = vd__pg_run(c, err, "INSERT INTO search_jobs(job_id) VALUES($1) ON CONFLICT DO NOTHING", "t",
                 p->id);
out:
  free(file_id);
  return n < 0 ? n : 0;
}

int vd__pg_search_put(struct vd_store *s, const char *id, const struct vd_search_doc *docs,
                      size_t n, struct vd_err *err) {
  struct put p = {id, docs, n};
  return vd__pg_with_tx(vd__pg_pool_of(s), put_tx, &p, err);
}

static void row_hit(PGresult *r, int i, void *u) {
  struct vd_search_hit *h = vd__page_next(u);
  if (h)
    vd__read_search_hit(ROW(r, i), h);
}

int vd__pg_search_query(struct vd_store *s, const char *query, int offset, int limit,
                        struct vd_search_hit **out, size_t *n, struct vd_err *err) {
  char *tsq = NULL;
  int ret = vd__search_query_text(query, 1, &tsq, err);
  if (ret < 0)
    return ret;
  struct vd__page p;
  vd__page_init(&p, sizeof(**out), limit);
  ret = vd__pg_query(
      vd__pg_pool_of(s), row_hit, &p, err,
      "WITH q AS (SELECT to_tsquery('simple', vidan_fold($1)) AS q)"
      " SELECT d.file_id, f.name, COALESCE(d.job_id, (SELECT j.id FROM jobs j"
      "  WHERE j.file_id = d.file_id AND j.state = 'succeeded' ORDER BY j.seq DESC LIMIT 1), ''),"
      " d.analysis, d.start_s, d.end_s, d.text,"
      " ts_headline('simple', d.text, q.q,"
      "  'StartSel=«, StopSel=», MaxWords=20, MinWords=8, ShortWord=0, FragmentDelimiter=…'),"
      " ts_rank(d.tsv, q.q, 2) AS score"
      " FROM q, search_docs d JOIN files f ON f.id = d.file_id"
      " WHERE d.tsv @@ q.q" VD__SEARCH_NEWEST_ONLY
      " ORDER BY score DESC, f.seq DESC, d.start_s, d.id LIMIT $2 OFFSET $3",
      "tii", tsq, limit, offset);
  free(tsq);
  return vd__search_hits_take(&p, ret, out, n);
}

static void row_idlist(PGresult *r, int i, void *u) { vd__read_id(ROW(r, i), 0, u); }

int vd__pg_search_pending(struct vd_store *s, int limit, struct vd_idlist *ids,
                          struct vd_err *err) {
  int ret = vd__pg_query(vd__pg_pool_of(s), row_idlist, ids, err,
                         "SELECT id FROM jobs WHERE state = 'succeeded' AND file_id IS NOT NULL"
                         " AND NOT EXISTS(SELECT 1 FROM search_jobs s WHERE s.job_id = jobs.id)"
                         " ORDER BY seq LIMIT $1",
                         "i", limit);
  if (ret < 0)
    vd_idlist_fini(ids);
  return ret < 0 ? ret : 0;
}

#endif /* VD_HAVE_LIBPQ */
