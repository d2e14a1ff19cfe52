/* library.c: the per-process duplicate-check index; see library.h. */
#include "library/library.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

#define PAGE 256 /* fingerprints (or backfill jobs) read per query */

struct vd_library {
  struct vd_store *store;
  struct vd_dup_index *ix;
  pthread_mutex_t mu; /* serialises catching up; guards seq and loaded */
  int64_t seq;        /* newest fingerprint seq in the index */
  int loaded;         /* the backfill ran */
};

struct vd_library *vd_library_new(struct vd_store *store) {
  struct vd_library *l = vd_xcalloc(1, sizeof(*l));
  l->store = store;
  l->ix = vd_dup_index_new();
  pthread_mutex_init(&l->mu, NULL);
  return l;
}

void vd_library_free(struct vd_library *l) {
  if (!l)
    return;
  vd_dup_index_free(l->ix);
  pthread_mutex_destroy(&l->mu);
  free(l);
}

/* The base64 text of a `fingerprint` result, or NULL. */
static const char *result_data(const json_t *fp_result) {
  return json_string_value(json_object_get(fp_result, "data"));
}

/* Puts the fingerprints of succeeded jobs that never reached the table
 * (library.h). A result that cannot be put is skipped with a warning: the
 * cursor moves past it, so it is not read again. */
static int backfill(struct vd_library *l, struct vd_err *err) {
  int64_t after = 0;
  int total = 0;
  for (;;) {
    struct vd_job_rec *v = NULL;
    size_t n = 0;
    int ret = vd_store_fingerprint_missing(l->store, after, PAGE, &v, &n, err);
    if (ret < 0)
      return ret;
    for (size_t i = 0; i < n; i++) {
      json_t *res = json_loads(v[i].result ? v[i].result : "", 0, NULL);
      json_t *fpr = json_object_get(json_object_get(res, "results"), "fingerprint");
      const char *data = result_data(fpr);
      struct vd_err perr = {0};
      struct vd_fp *fp = NULL; /* only a readable fingerprint is kept */
      int pr = vd_fp_from_result(fpr, &fp, &perr);
      vd_fp_free(fp);
      if (pr == 0)
        pr = vd_store_fingerprint_put(l->store, v[i].file_id, data, &perr);
      if (pr < 0)
        VD_WARN("library: fingerprint of analysis %s not kept: %s", v[i].id, vd_err_msg(&perr, pr));
      else
        total++;
      json_decref(res);
      after = v[i].seq;
      vd_job_rec_fini(&v[i]);
    }
    free(v);
    if (n < PAGE)
      break;
  }
  if (total)
    VD_INFO("library: %d fingerprints of earlier analyses stored", total);
  return 0;
}

/* Loads what was put since the last call. Caller holds l->mu. */
static int catch_up(struct vd_library *l, struct vd_err *err) {
  int ret;
  if (!l->loaded) {
    if ((ret = backfill(l, err)) < 0)
      return ret;
    l->loaded = 1;
  }
  for (;;) {
    struct vd_fingerprint_rec *v = NULL;
    size_t n = 0;
    if ((ret = vd_store_fingerprint_since(l->store, l->seq, PAGE, &v, &n, err)) < 0)
      return ret;
    for (size_t i = 0; i < n; i++) {
      struct vd_fp *fp = NULL;
      struct vd_err ferr = {0};
      int fr = vd_fp_load_base64(v[i].data ? v[i].data : "", &fp, &ferr);
      if (fr == 0)
        fr = vd_dup_index_add(l->ix, v[i].file_id, fp, &ferr);
      if (fr < 0) /* e.g. written by another version: one video unseen, not all */
        VD_WARN("library: fingerprint of %s skipped: %s", v[i].file_id, vd_err_msg(&ferr, fr));
      l->seq = v[i].seq;
      vd_fingerprint_rec_fini(&v[i]);
    }
    free(v);
    if (n < PAGE)
      return 0;
  }
}

int vd_library_index(struct vd_library *l, struct vd_dup_index **ix, struct vd_err *err) {
  pthread_mutex_lock(&l->mu);
  int ret = catch_up(l, err);
  pthread_mutex_unlock(&l->mu);
  *ix = l->ix;
  return ret;
}

int vd_library_add(struct vd_library *l, const char *file_id, const json_t *fp_result,
                   struct vd_err *err) {
  const char *data = result_data(fp_result);
  struct vd_fp *fp = NULL;
  int ret;
  if (!data)
    return vd_err_set(err, VD_ERR_CORRUPT, "the fingerprint result has no data");
  if ((ret = vd_fp_load_base64(data, &fp, err)) < 0)
    return ret;
  if ((ret = vd_store_fingerprint_put(l->store, file_id, data, err)) < 0) {
    vd_fp_free(fp);
    return ret;
  }
  /* Indexed now, so this process's next query sees it without waiting for
   * a catch-up (which re-adds it: a replace). */
  return vd_dup_index_add(l->ix, file_id, fp, err);
}

void vd_library_remove(struct vd_library *l, const char *file_id) {
  (void)vd_dup_index_remove(l->ix, file_id);
}

int vd_library_matches(struct vd_library *l, const char *file_id, size_t max,
                       struct vd_dup_hit **hits, size_t *n, struct vd_err *err) {
  struct vd_dup_index *ix;
  struct vd_fingerprint_rec rec = {0};
  struct vd_fp *fp = NULL;
  int ret;
  *hits = NULL;
  *n = 0;
  if ((ret = vd_library_index(l, &ix, err)) < 0 ||
      (ret = vd_store_fingerprint_get(l->store, file_id, &rec, err)) < 0 ||
      (ret = vd_fp_load_base64(rec.data ? rec.data : "", &fp, err)) < 0)
    goto out;
  if ((ret = vd_dup_index_query(ix, fp, file_id, max, hits, n, err)) < 0)
    goto out;
  /* Deleted on another node: its row is gone, this index does not know. */
  size_t k = 0;
  for (size_t i = 0; i < *n; i++) {
    struct vd_file_rec f = {0};
    int gone = vd_store_file_get(l->store, (*hits)[i].id, &f, NULL) == VD_ERR_NOT_FOUND;
    vd_file_rec_fini(&f);
    if (gone) {
      vd_dup_index_remove(ix, (*hits)[i].id);
      free((*hits)[i].id);
    } else {
      (*hits)[k++] = (*hits)[i];
    }
  }
  *n = k;
out:
  vd_fp_free(fp);
  vd_fingerprint_rec_fini(&rec);
  return ret;
}

size_t vd_library_size(struct vd_library *l) {
  struct vd_dup_index *ix;
  int ret = vd_library_index(l, &ix, NULL); /* on a store error: what is loaded */
  (void)ret;
  return vd_dup_index_size(ix);
}
