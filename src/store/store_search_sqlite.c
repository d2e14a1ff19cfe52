/*
 * store_search_sqlite.c: the search operations of the SQLite backend (see
 * store.h, "search"), on FTS5.
 *
 * DESIGN
 * - Documents are rows of search_docs, an ordinary table whose foreign keys
 *   cascade from files and jobs. search_fts is an FTS5 index over its text
 *   column with external content (content='search_docs'), kept in step by
 *   triggers on search_docs; so deleting a file or a job, through any path,
 *   also takes its words out of the index (schema in store_schema.c).
 * - The tokenizer is unicode61 with remove_diacritics 2: case and accents
 *   are folded the same way in documents and queries.
 * - Ranking is bm25 (smaller is better in SQLite; the hit's score is its
 *   negation, so higher is better as in PostgreSQL); ties go to the newer
 *   file, then the earlier moment.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/store_int.h"

#define ROW(st) (&(struct vd__row){vd__sq_cols, (st), 0})

struct put {
  const char *id;
  const struct vd_search_doc *docs;
  size_t n;
};

static void row_text(sqlite3_stmt *st, void *u) { *(char **)u = vd__sq_text(st, 0); }

static int put_tx(struct sqlite3 *db, void *arg, struct vd_err *err) {
  struct put *p = arg;
  char *file_id = NULL;
  int n =
      vd__sq_each(db, row_text, &file_id, err, "SELECT file_id FROM jobs WHERE id = ?", "t", p->id);
  if ((n = vd__store_one_row(n, err, "no analysis %s", p->id)) < 0)
    goto out;
  if ((n = vd__sq_run(db, err, "DELETE FROM search_docs WHERE job_id = ?", "t", p->id)) < 0 ||
      (n = vd__sq_run(db, err, "DELETE FROM search_runs WHERE job_id = ?", "t", p->id)) < 0)
    goto out;
  for (size_t i = 0; file_id && i < p->n; i++) {
    const struct vd_search_doc *d = &p->docs[i];
    if ((n = vd__sq_run(db, err,
                        "INSERT INTO search_docs(file_id, job_id, analysis, start_s, end_s, text)"
                        " VALUES(?,?,?,?,?,?)",
                        "tttddt", file_id, p->id, d->analysis, d->start, d->end, d->text)) < 0)
      goto out;
    /* Docs come grouped by analysis; a repeat is ignored anyway. */
    if ((i == 0 || strcmp(p->docs[i - 1].analysis, d->analysis)) &&
        (n = vd__sq_run(
             db, err,
             "INSERT INTO search_runs(job_id, file_id, analysis, seq)"
             " SELECT id, file_id, ?2, seq FROM jobs WHERE id = ?1 ON CONFLICT DO NOTHING",
             "tt", p->id, d->analysis)) < 0)
      goto out;
  }
  n = vd__sq_run(db, err, "INSERT INTO search_jobs(job_id) VALUES(?) ON CONFLICT DO NOTHING", "t",
                 p->id);
out:
  free(file_id);
  return n < 0 ? n : 0;
}

int vd__sq_search_put(struct vd_store *s, const char *id, const struct vd_search_doc *docs,
                      size_t n, struct vd_err *err) {
  struct put p = {id, docs, n};
  return vd__sq_with_tx(vd__sq_pool_of(s), put_tx, &p, err);
}

static void row_hit(sqlite3_stmt *st, void *u) {
  struct vd__page *p = u;
  struct vd_search_hit *h = vd__page_next(p);
  if (h)
    vd__read_search_hit(ROW(st), h);
}

int vd__sq_search_query(struct vd_store *s, const char *query, int offset, int limit,
                        struct vd_search_hit **out, size_t *n, struct vd_err *err) {
  char *match = NULL;
  int ret = vd__search_query_text(query, 0, &match, err);
  if (ret < 0)
    return ret;
  struct vd__page p;
  vd__page_init(&p, sizeof(**out), limit);
  /* A file name hit opens the file's newest succeeded analysis. */
  ret = vd__sq_query(
      vd__sq_pool_of(s), row_hit, &p, err,
      "SELECT d.file_id, f.name, COALESCE(d.job_id, (SELECT j.id FROM jobs j"
      "  WHERE j.file_id = d.file_id AND j.state = 'succeeded' ORDER BY j.seq DESC LIMIT 1), ''),"
      " d.analysis, d.start_s, d.end_s, d.text,"
      " snippet(search_fts, 0, '«', '»', '…', 16), -bm25(search_fts)"
      " FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid"
      " JOIN files f ON f.id = d.file_id"
      " WHERE search_fts MATCH ?1" VD__SEARCH_NEWEST_ONLY
      " ORDER BY bm25(search_fts), f.seq DESC, d.start_s, d.id"
      " LIMIT ?2 OFFSET ?3",
      "tii", match, limit, offset);
  free(match);
  return vd__search_hits_take(&p, ret, out, n);
}

static void row_idlist(sqlite3_stmt *st, void *u) { vd__read_id(ROW(st), 0, u); }

int vd__sq_search_pending(struct vd_store *s, int limit, struct vd_idlist *ids,
                          struct vd_err *err) {
  int ret = vd__sq_query(vd__sq_pool_of(s), row_idlist, ids, err,
                         "SELECT id FROM jobs WHERE state = 'succeeded' AND file_id IS NOT NULL"
                         " AND NOT EXISTS(SELECT 1 FROM search_jobs s WHERE s.job_id = jobs.id)"
                         " ORDER BY seq LIMIT ?",
                         "i", limit);
  if (ret < 0)
    vd_idlist_fini(ids);
  return ret < 0 ? ret : 0;
}
