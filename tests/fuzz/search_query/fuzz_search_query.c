/*
 * fuzz_search_query.c: search queries as users type them, against a real
 * SQLite store with an FTS5 index (store_search.c, store_search_sqlite.c).
 * Whatever the bytes, a query answers hits or refuses with VD_ERR_INVALID
 * (no word, not UTF-8) or VD_ERR_LIMIT (too long, too many words) and a
 * message: FTS5 syntax, quotes and odd bytes must never reach the database
 * as syntax, where they would be a store error (a 500). Each input is also
 * read as a job's result JSON by the document extractor (search.c), whose
 * documents must have ordered, non-negative times and capped texts.
 * The store is one temporary database made at start, with a file and a job
 * whose documents hold words, accents and marks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "search/search.h"
#include "store/store.h"

static struct vd_store *store;
static char dir[] = "/tmp/vidan-fuzz-search.XXXXXX";

/* The database goes with the process. */
static void teardown(void) {
  static const char *const names[] = {"search.db", "search.db-wal", "search.db-shm"};
  char path[96];
  vd_store_free(store);
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

static void setup(void) {
  if (!mkdtemp(dir))
    abort();
  atexit(teardown);
  char path[64];
  snprintf(path, sizeof(path), "%s/search.db", dir);
  struct vd_file_rec f = {.size = 1};
  snprintf(f.id, sizeof(f.id), "%064d", 1);
  f.name = "Café au lait_2024.final.mp4";
  struct vd_job_rec j = {.file_id = f.id, .analyses = "[\"transcript\"]", .max_attempts = 1};
  snprintf(j.id, sizeof(j.id), "00000000-0000-4000-8000-000000000001");
  const struct vd_search_doc docs[] = {
      {"transcript", 1, 2, "go forward ten meters NEAR the «door»"},
      {"text", 3, 4, "HELLO WORLD\nÉcole Française 日本語"},
  };
  struct vd_job_rec c;
  if (vd_store_open(&store, path, NULL) < 0 || vd_store_file_put(store, &f, NULL, NULL) < 0 ||
      vd_store_job_create(store, &j, NULL) < 0 ||
      vd_store_job_claim(store, "w", 1, 30, &c, NULL) != 1)
    abort();
  vd_job_rec_fini(&c);
  if (vd_store_job_finish(store, j.id, "w", VD_JOB_SUCCEEDED, "{}", NULL, NULL, 0, 2, NULL) < 0 ||
      vd_store_search_put(store, j.id, docs, 2, NULL) < 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!store)
    setup();
  if (size > 4096)
    return 0;
  char *q = malloc(size + 1);
  memcpy(q, data, size);
  q[size] = '\0';
  struct vd_search_hit *hits = NULL;
  size_t n = 0;
  struct vd_err err = {0};
  int ret = vd_store_search_query(store, q, 0, 10, &hits, &n, &err);
  if (ret < 0 && ((ret != VD_ERR_INVALID && ret != VD_ERR_LIMIT) || !err.msg[0] || hits || n))
    abort();
  for (size_t i = 0; i < n; i++)
    vd_search_hit_fini(&hits[i]);
  free(hits);

  struct vd_search_docs d;
  if (vd_search_docs_from_result(q, &d, NULL) == 0)
    for (size_t i = 0; i < d.n; i++)
      if (!(d.v[i].start >= 0 && d.v[i].end >= d.v[i].start) ||
          strlen(d.v[i].text) > VD_SEARCH_MAX_TEXT || !d.v[i].text[0])
        abort();
  vd_search_docs_fini(&d);
  free(q);
  return 0;
}
