/*
 * duplicates.c: the `duplicates` analysis. Looks this video's fingerprint
 * up in the run's library of earlier videos (vd_run_opts.library, kept by
 * the service) and says whether it duplicates one of them, and which hard
 * cases (same picture with other sound, same sound with another picture)
 * it resembles. Without a library (the CLI's analyze) it honestly reports
 * having compared with 0 videos; `vidan dup` compares files with each other.
 * The run's own video (vd_run_opts.library_exclude) is never a match.
 */
#include "analyze/analyze.h"
#include "dup/dup.h"

static const struct vd_param_def dup_params[] = {
    {"max_matches", VD_PARAM_INT, "10", 1, 100, NULL, "most matches listed, best first"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int dup_finish(struct vd_actx *c, json_t **result) {
  struct vd_err *err = vd_actx_err(c);
  struct vd_dup_index *lib = vd_actx_library(c);
  const char *self = vd_actx_library_exclude(c);
  struct vd_fp *fp = NULL;
  struct vd_dup_hit *hits = NULL;
  size_t n = 0, size = 0;
  int ret = vd_fp_from_result(vd_actx_dep_result(c, "fingerprint"), &fp, err);
  if (ret < 0)
    return ret;
  if (lib) {
    size = vd_dup_index_size(lib);
    if (self && size && vd_dup_index_contains(lib, self))
      size--;
    ret = vd_dup_index_query(lib, fp, self, (size_t)vd_actx_int(c, "max_matches"), &hits, &n, err);
  }
  vd_fp_free(fp);
  if (ret < 0)
    return ret;
  *result = vd_dup_result_json(hits, n, size);
  vd_dup_hits_free(hits, n);
  return 0;
}

static const char *const dup_deps[] = {"fingerprint", NULL};

const struct vd_analysis_def vd_analysis_duplicates = {
    .name = "duplicates",
    .summary = "Whether this video duplicates one seen before (picture and sound both agree), "
               "and the hard cases: same picture with other sound, same sound with another "
               "picture. Compares with the service's library; the CLI's analyze has none "
               "(use vidan dup).",
    .params = dup_params,
    .deps = dup_deps,
    .no_media = 1,
    .finish = dup_finish,
};
