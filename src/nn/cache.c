/*
 * cache: one loaded copy of each named model per process (vd_nn_model_get).
 *
 * A short list under a mutex: a process uses a handful of models. Entries
 * hold a reference for the life of the process; loading happens under the
 * lock, so two threads asking for the same model at once load it once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "nn/nn_int.h"

#define CACHE_MAX 32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  char *name;
  struct vd_nn_model *m;
} cache[CACHE_MAX];
static int n_cached;

int vd_nn_model_get(struct vd_nn_model **out, const char *name, struct vd_err *err) {
  *out = NULL;
  int rc = 0;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < n_cached; i++)
    if (strcmp(cache[i].name, name) == 0) {
      *out = vd_nn_model_ref(cache[i].m);
      goto out;
    }
  char *path = vd_nn_model_path(name);
  struct vd_nn_model *m = NULL;
  rc = vd_nn_model_load(&m, path, NULL, err);
  free(path);
  if (rc != 0)
    goto out;
  if (n_cached < CACHE_MAX) {
    cache[n_cached].name = vd_xstrdup(name);
    cache[n_cached].m = vd_nn_model_ref(m);
    n_cached++;
  }
  *out = m;
out:
  pthread_mutex_unlock(&lock);
  return rc;
}
