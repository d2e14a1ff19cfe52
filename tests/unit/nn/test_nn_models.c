/*
 * test_nn_models: the real models (from scripts/models) through the nn
 * runtime.
 *
 * - Always, when the models are present: each loads, plans, runs, gives
 *   finite outputs of the declared shapes, and a 2-thread context agrees
 *   with a 1-thread one; two contexts share one model; the model loaded
 *   without fusion gives the same outputs.
 * - When VD_NN_REF names a folder written by tests/nn/ref.mjs (the TF.js CPU
 *   backend's outputs on fixed inputs), every output must match within 1e-4,
 *   relative to the output's largest magnitude (see rel_err). The
 *   integration test tests/integration/test_nn_tfjs.sh produces that folder
 *   and runs this binary with it.
 * - VD_NN_BENCH=N additionally times N runs per model and prints ms/inference
 *   (mean, best, CPU); VD_NN_MODEL=name limits that to one model,
 *   VD_NN_PLAIN=1 loads the models without fusion (to measure what it saves).
 * Skips (not fails) when the models are not installed.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/util.h"
#include "nn/nn.h"
#include "nn/nn_int.h" /* vd__nn_fuse */

static const char *const models[] = {"blazeface", "emotion", "mobilefacenet", "faceres",
                                     "movenet-lightning", "movenet-thunder", "centernet"};
#define N_MODELS (sizeof(models) / sizeof(models[0]))
#define TOL 1e-4

static int have_model(const char *name) {
  char *p = vd_nn_model_path(name);
  struct stat st;
  int ok = stat(p, &st) == 0;
  free(p);
  return ok;
}

static struct vd_nn_model *load(const char *name) {
  char *p = vd_nn_model_path(name);
  struct vd_nn_model *m = NULL;
  struct vd_err err = {0};
  int rc = vd_nn_model_load(&m, p, NULL, &err);
  if (rc != 0)
    fail_msg("%s: %s", p, vd_err_msg(&err, rc));
  free(p);
  return m;
}

static void fill(float *x, int64_t n, unsigned seed) {
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    x[i] = (float)((seed >> 8) & 0xffff) / 65535.0f;
  }
}

/* max |a - b| over max |b|: error relative to the output's scale. Elementwise
 * relative error is meaningless for values that are ~0 by chance. */
static double rel_err(const float *a, const float *b, int64_t n, double *maxabs) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (d > num || isnan(d))
      num = isnan(d) ? INFINITY : d;
    if (fabs(b[i]) > den)
      den = fabs(b[i]);
  }
  if (maxabs)
    *maxabs = den;
  return num / (den > 1e-12 ? den : 1e-12);
}

/*
 * Outputs that are a list of rows ranked by a score (a TopK inside the
 * graph). Two scores that differ by float rounding alone may rank either
 * way in two correct runtimes, so there each row must match some reference
 * row (each used once) whose score ties with its own within TOL; every value
 * of the row is then held to TOL as usual.
 */
static const struct {
  const char *model, *output;
  int cols, score; /* row length; the score's column */
} ranked[] = {{"centernet", "tower_0/detections", 6, 4}};

static int ranked_find(const char *model, const char *output) {
  for (size_t i = 0; i < sizeof(ranked) / sizeof(ranked[0]); i++)
    if (!strcmp(ranked[i].model, model) && !strcmp(ranked[i].output, output))
      return (int)i;
  return -1;
}

/* rel_err over rows that may swap among score ties (see `ranked`). */
static double rel_err_ranked(const float *a, const float *b, int64_t n, int cols, int score,
                             double *maxabs) {
  int64_t rows = n / cols;
  double den = 1e-12, sden = 1e-12, worst = 0;
  for (int64_t i = 0; i < n; i++)
    den = fmax(den, fabs(b[i]));
  for (int64_t r = 0; r < rows; r++)
    sden = fmax(sden, fabs(b[r * cols + score]));
  char *used = vd_xcalloc((size_t)rows + 1, 1);
  for (int64_t r = 0; r < rows; r++) {
    const float *ra = a + r * cols;
    double best = INFINITY;
    int64_t bj = -1;
    for (int64_t j = 0; j < rows; j++) {
      const float *rb = b + j * cols;
      if (used[j] || fabs((double)ra[score] - rb[score]) > TOL * sden)
        continue;
      double d = 0;
      for (int c = 0; c < cols; c++)
        d = fmax(d, fabs((double)ra[c] - rb[c]));
      if (d < best) {
        best = d;
        bj = j;
      }
    }
    if (bj < 0) {
      free(used);
      *maxabs = den;
      return INFINITY;
    }
    used[bj] = 1;
    worst = fmax(worst, best);
  }
  free(used);
  *maxabs = den;
  return worst / den;
}

/*
 * Also: fusion (activations, hard-swish; docs/internals/nn.md) changes where
 * an operation runs, never what it computes. A third context runs the model
 * loaded without fusion (vd__nn_fuse(0)) and must give the same outputs. The
 * hard-swish repeats the graph's float operations in order, so they agree to
 * the last bit; the 1e-6 only allows for a compiler contracting a
 * multiply-add. A wrong fused constant shows as 1e-1.
 */
static void test_models_run(void **state) {
  int any = 0;
  for (size_t k = 0; k < N_MODELS; k++) {
    if (!have_model(models[k]))
      continue;
    any = 1;
    struct vd_nn_model *m = load(models[k]);
    vd__nn_fuse(0);
    struct vd_nn_model *plain = load(models[k]);
    vd__nn_fuse(1);
    struct vd_nn_ctx *c1 = NULL, *c2 = NULL, *cp = NULL;
    struct vd_err err = {0};
    struct vd_nn_ctx_opts o1 = {.threads = 1}, o2 = {.threads = 2};
    assert_int_equal(vd_nn_ctx_new(&c1, m, &o1, &err), 0);
    assert_int_equal(vd_nn_ctx_new(&c2, m, &o2, &err), 0);
    assert_int_equal(vd_nn_ctx_new(&cp, plain, &o1, &err), 0);
    vd_nn_model_free(m); /* the contexts keep it alive */
    vd_nn_model_free(plain);
    struct vd_nn_shape s;
    float *x1 = vd_nn_ctx_input(c1, 0, &s), *x2 = vd_nn_ctx_input(c2, 0, NULL);
    int64_t n = vd_nn_shape_count(&s);
    fill(x1, n, 7);
    /* Models take [0,1] or [0,255]: alternate, so both ranges reach the
     * activations' clipping points. */
    for (int64_t i = 0; i < n; i++)
      x1[i] *= (k % 2) ? 255.0f : 1.0f;
    memcpy(x2, x1, (size_t)n * sizeof(float));
    memcpy(vd_nn_ctx_input(cp, 0, NULL), x1, (size_t)n * sizeof(float));
    assert_int_equal(vd_nn_ctx_run(c1), 0);
    assert_int_equal(vd_nn_ctx_run(c2), 0);
    assert_int_equal(vd_nn_ctx_run(cp), 0);
    size_t nout = vd_nn_model_n_outputs(m);
    assert_true(nout >= 1);
    for (size_t i = 0; i < nout; i++) {
      struct vd_nn_shape os;
      const float *y1 = vd_nn_ctx_output(c1, i, &os), *y2 = vd_nn_ctx_output(c2, i, NULL);
      int64_t on = vd_nn_shape_count(&os);
      assert_true(on > 0);
      for (int64_t j = 0; j < on; j++)
        assert_true(isfinite(y1[j]));
      double e = rel_err(y2, y1, on, NULL);
      printf("%s output %zu (%s): %lld values, 2 threads vs 1: rel err %.2e\n", models[k], i,
             vd_nn_model_output_name(m, i), (long long)on, e);
      assert_true(e <= TOL);
      double ef = rel_err(y1, vd_nn_ctx_output(cp, i, NULL), on, NULL);
      printf("%s output %zu: fused vs plain rel err %.2e\n", models[k], i, ef);
      assert_true(ef <= 1e-6);
    }
    vd_nn_ctx_free(c1);
    vd_nn_ctx_free(c2);
    vd_nn_ctx_free(cp);
  }
  if (!any) {
    printf("models not installed (run scripts/models); skipping\n");
    skip();
  }
}

static float *read_floats(const char *dir, const char *file, int64_t n) {
  char *p = vd_xasprintf("%s/%s", dir, file);
  FILE *f = fopen(p, "rb");
  if (!f)
    fail_msg("cannot open %s", p);
  float *v = vd_xmalloc((size_t)n * sizeof(float) + 1);
  if (fread(v, sizeof(float), (size_t)n, f) != (size_t)n)
    fail_msg("%s is shorter than %lld floats", p, (long long)n);
  fclose(f);
  free(p);
  return v;
}

static void shape_from_json(json_t *a, struct vd_nn_shape *s) {
  s->rank = (int)json_array_size(a);
  assert_true(s->rank <= VD_NN_MAX_RANK);
  for (int i = 0; i < s->rank; i++)
    s->dim[i] = json_integer_value(json_array_get(a, (size_t)i));
}

static void test_models_vs_tfjs(void **state) {
  const char *dir = getenv("VD_NN_REF");
  if (!dir || !*dir) {
    printf("VD_NN_REF not set: the TF.js comparison runs from test_nn_tfjs.sh; skipping\n");
    skip();
  }
  int bench = getenv("VD_NN_BENCH") ? atoi(getenv("VD_NN_BENCH")) : 0; /* NOLINT: test knob */
  int threads = getenv("VD_NN_THREADS") ? atoi(getenv("VD_NN_THREADS")) : 1; /* NOLINT */
  const char *only = getenv("VD_NN_MODEL"); /* NOLINT: bench knob, one model */
  vd__nn_fuse(!getenv("VD_NN_PLAIN"));      /* NOLINT: bench knob, the unfused graph */
  int compared = 0;
  for (size_t k = 0; k < N_MODELS; k++) {
    if (only && strcmp(only, models[k]) != 0)
      continue;
    char *rp = vd_xasprintf("%s/%s.ref.json", dir, models[k]);
    json_error_t je;
    json_t *ref = json_load_file(rp, 0, &je);
    free(rp);
    if (!ref)
      continue;
    struct vd_nn_model *m = load(models[k]);
    struct vd_nn_shape is;
    shape_from_json(json_object_get(json_object_get(ref, "input"), "shape"), &is);
    struct vd_nn_ctx_opts o = {.threads = threads, .input_shape = &is};
    struct vd_nn_ctx *c = NULL;
    struct vd_err err = {0};
    int rc = vd_nn_ctx_new(&c, m, &o, &err);
    if (rc != 0)
      fail_msg("%s", vd_err_msg(&err, rc));
    float *in = read_floats(dir, json_string_value(json_object_get(json_object_get(ref, "input"), "file")),
                            vd_nn_shape_count(&is));
    memcpy(vd_nn_ctx_input(c, 0, NULL), in, (size_t)vd_nn_shape_count(&is) * sizeof(float));
    assert_int_equal(vd_nn_ctx_run(c), 0);
    json_t *outs = json_object_get(ref, "outputs");
    double worst = 0;
    for (size_t i = 0; i < json_array_size(outs); i++) {
      json_t *oj = json_array_get(outs, i);
      const char *name = json_string_value(json_object_get(oj, "name"));
      int idx = vd_nn_model_output_find(m, name);
      if (idx < 0)
        fail_msg("%s: no output named %s", models[k], name);
      struct vd_nn_shape rs, os;
      shape_from_json(json_object_get(oj, "shape"), &rs);
      const float *y = vd_nn_ctx_output(c, (size_t)idx, &os);
      assert_int_equal(vd_nn_shape_count(&os), vd_nn_shape_count(&rs));
      float *want = read_floats(dir, json_string_value(json_object_get(oj, "file")),
                                vd_nn_shape_count(&rs));
      int rk = ranked_find(models[k], name);
      double maxabs;
      double e = rk < 0 ? rel_err(y, want, vd_nn_shape_count(&rs), &maxabs)
                        : rel_err_ranked(y, want, vd_nn_shape_count(&rs), ranked[rk].cols,
                                         ranked[rk].score, &maxabs);
      printf("%s %s: max |ref| %.4g, max rel err vs tfjs %.2e\n", models[k], name, maxabs, e);
      if (e > worst)
        worst = e;
      free(want);
    }
    printf("%s: worst rel err vs tfjs %.2e (tolerance %.0e)\n", models[k], worst, TOL);
    assert_true(worst <= TOL);
    if (bench > 0) {
      assert_int_equal(vd_nn_ctx_run(c), 0); /* warm */
      /* The best run as well as the mean: on a shared machine the fastest
       * run is the one least disturbed by other processes; CPU time counts
       * only this process's work. */
      double t0 = vd_now(), best = INFINITY;
      clock_t c0 = clock();
      for (int r = 0; r < bench; r++) {
        double t1 = vd_now();
        assert_int_equal(vd_nn_ctx_run(c), 0);
        if (vd_now() - t1 < best)
          best = vd_now() - t1;
      }
      double ms = (vd_now() - t0) * 1000.0 / bench;
      double cpu = (double)(clock() - c0) * 1000.0 / CLOCKS_PER_SEC / bench;
      json_t *tj = json_object_get(ref, "ms_per_inference");
      double tfms = json_is_number(tj) ? json_number_value(tj) : 0;
      printf("BENCH %s threads=%d vidan %.2f ms/inference (best %.2f, cpu %.2f), tfjs %.2f ms, "
             "speed-up %.1fx\n",
             models[k], threads, ms, best * 1000.0, cpu, tfms, tfms > 0 ? tfms / ms : 0);
    }
    compared++;
    free(in);
    vd_nn_ctx_free(c);
    vd_nn_model_free(m);
    json_decref(ref);
  }
  if (compared == 0)
    fail_msg("VD_NN_REF=%s holds no reference for any model", dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_models_run),
      cmocka_unit_test(test_models_vs_tfjs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
