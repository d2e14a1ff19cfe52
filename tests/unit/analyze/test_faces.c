/*
 * test_faces: the faces analysis's parts. NMS and the tracker on made-up
 * boxes; the BlazeFace detector on real video from ../shared/testdata/faces
 * (one face in every frame of the GRID and azavatar clips), decoded by the
 * media pipeline exactly as the analysis receives it; precision and recall
 * are printed and must be at least 0.95. The expression classifier runs on
 * each detected face; its probabilities must form a distribution, and how
 * often the clip's dominant expression wins is printed (consistency). The
 * identity embedding must stay close for one face across a clip and be far
 * between different people. Skips the video part when the test
 * data or the models are absent.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "analyze/analyze.h"
#include "analyze/faces_detect.h"
#include "core/util.h"
#include "media/media.h"
#include "nn/nn.h"

extern const struct vd_analysis_def vd_analysis_faces;

static struct vd_face box(float x0, float y0, float x1, float y1, float score) {
  struct vd_face f = {x0, y0, x1, y1, score, {0}};
  return f;
}

static void test_iou_nms(void **state) {
  struct vd_face a = box(0, 0, 0.2f, 0.2f, 0.9f), b = box(0.1f, 0, 0.3f, 0.2f, 0.8f);
  assert_float_equal(vd_face_iou(&a, &b), 1.0 / 3.0, 1e-6);
  assert_float_equal(vd_face_iou(&a, &a), 1.0, 1e-6);
  struct vd_face c = box(0.5f, 0.5f, 0.6f, 0.6f, 0.7f);
  assert_float_equal(vd_face_iou(&a, &c), 0.0, 0);
  /* a and a near-copy (IoU 0.82) collapse to the better one; the far box stays. */
  struct vd_face f[4] = {box(0.01f, 0, 0.21f, 0.2f, 0.6f), c, a, b};
  int n = vd_face_nms(f, 4, 0.3f, 10);
  assert_int_equal(n, 2);
  assert_float_equal(f[0].score, 0.9f, 0);
  assert_float_equal(f[1].score, 0.7f, 0);
  /* b overlaps a by 1/3: kept at a 0.5 threshold, and max_keep caps the count. */
  struct vd_face g[3] = {a, b, c};
  assert_int_equal(vd_face_nms(g, 3, 0.5f, 10), 3);
  struct vd_face h[3] = {a, b, c};
  assert_int_equal(vd_face_nms(h, 3, 0.5f, 2), 2);
}

static void test_tracker(void **state) {
  struct vd_facetracker *t = vd_facetracker_new(0.3f, 1.0);
  int ids[3];
  /* Two faces drifting right; they keep their ids whatever the order given. */
  for (int k = 0; k < 5; k++) {
    float dx = 0.01f * k;
    struct vd_face f[2] = {box(0.6f + dx, 0.1f, 0.8f + dx, 0.3f, 0.9f),
                           box(0.1f + dx, 0.1f, 0.3f + dx, 0.3f, 0.8f)};
    if (k % 2) {
      struct vd_face tmp = f[0];
      f[0] = f[1];
      f[1] = tmp;
    }
    vd_facetracker_update(t, 0.2 * k, f, 2, ids);
    assert_int_equal(ids[0], k % 2 ? 1 : 0);
    assert_int_equal(ids[1], k % 2 ? 0 : 1);
  }
  /* Gone for 2 s (> gap): the same place starts a new track. */
  struct vd_face f = box(0.64f, 0.1f, 0.84f, 0.3f, 0.9f);
  vd_facetracker_update(t, 2.8, &f, 1, ids);
  assert_int_equal(ids[0], 2);
  /* A jump to elsewhere is a new face too. */
  struct vd_face g = box(0.0f, 0.7f, 0.1f, 0.8f, 0.9f);
  vd_facetracker_update(t, 3.0, &g, 1, ids);
  assert_int_equal(ids[0], 3);
  /* Split (someone else in the same box): a new id that the next frame's
   * overlapping box continues; the old id is gone; unknown ids are refused. */
  assert_int_equal(vd_facetracker_split(t, 3), 4);
  assert_int_equal(vd_facetracker_split(t, 3), -1);
  vd_facetracker_update(t, 3.2, &g, 1, ids);
  assert_int_equal(ids[0], 4);
  vd_facetracker_free(t);
}

static void test_params(void **state) {
  json_t *p = NULL;
  struct vd_err err = {0};
  assert_int_equal(vd_params_resolve(&vd_analysis_faces, NULL, &p, &err), 0);
  assert_float_equal(json_real_value(json_object_get(p, "fps")), 5.0, 0);
  json_decref(p);
  json_t *bad = json_pack("{s:f}", "min_score", 2.0);
  assert_true(vd_params_resolve(&vd_analysis_faces, bad, &p, &err) < 0);
  json_decref(bad);
}

/* ---- real video ---------------------------------------------------------------- */

struct count {
  struct vd_facedet *det;
  struct vd_facedet *sq;         /* the same, letterboxed into the full square */
  double worst_iou, worst_dscore; /* between the two detectors' best faces */
  struct vd_faceemo *emo;
  struct vd_faceemb *emb;
  float first[1024], mean[1024]; /* first face's embedding; sum of all */
  int n_emb;
  double min_self;               /* lowest similarity to the first face */
  struct vd_facetracker *trk;
  int frames, tp, fp, fn, tracks;
  int top[VD_EMOTIONS]; /* frames whose first face's top class is each */
};

static int on_frame(void *opaque, const struct vd_frame *f) {
  struct count *k = opaque;
  struct vd_face faces[20];
  int ids[20];
  int n = vd_facedet_run(k->det, f->data[0], f->width, f->height, f->linesize[0], faces, 20);
  /* The detector plans BlazeFace for the picture's own shape instead of
   * the 256x256 square: it must find the same faces. */
  struct vd_face ref[20];
  int nr = vd_facedet_run(k->sq, f->data[0], f->width, f->height, f->linesize[0], ref, 20);
  assert_int_equal(n, nr);
  if (n > 0) {
    double iou = vd_face_iou(&faces[0], &ref[0]), ds = fabs(faces[0].score - ref[0].score);
    k->worst_iou = k->frames == 0 || iou < k->worst_iou ? iou : k->worst_iou;
    k->worst_dscore = ds > k->worst_dscore ? ds : k->worst_dscore;
  }
  vd_facetracker_update(k->trk, f->time, faces, n, ids);
  for (int i = 0; i < n; i++)
    if (ids[i] + 1 > k->tracks)
      k->tracks = ids[i] + 1;
  struct vd_frame gray;
  struct vd_video_want gw = {.max_side = 1280, .fmt = VD_PIX_GRAY8};
  if (n > 0 && vd_frame_view(f, &gw, &gray) == 0) {
    float p[VD_EMOTIONS], sum = 0;
    int top = 0;
    vd_faceemo_run(k->emo, gray.data[0], gray.width, gray.height, gray.linesize[0], &faces[0], p);
    for (int i = 0; i < VD_EMOTIONS; i++) {
      assert_true(p[i] >= 0 && p[i] <= 1);
      sum += p[i];
      top = p[i] > p[top] ? i : top;
    }
    assert_float_equal(sum, 1.0, 1e-4);
    k->top[top]++;
  }
  struct vd_frame rgb;
  struct vd_video_want rw = {.max_side = 1280, .fmt = VD_PIX_RGB24};
  if (n > 0 && vd_frame_view(f, &rw, &rgb) == 0) {
    float e[1024];
    int dim = vd_faceemb_dim(k->emb);
    vd_faceemb_run(k->emb, rgb.data[0], rgb.width, rgb.height, rgb.linesize[0], &faces[0], e);
    double dot = 0;
    for (int i = 0; i < dim; i++) {
      if (k->n_emb == 0)
        k->first[i] = e[i];
      dot += (double)k->first[i] * e[i];
      k->mean[i] += e[i];
    }
    if (k->n_emb++ == 0 || dot < k->min_self)
      k->min_self = dot;
  }
  /* Ground truth: exactly one face per frame. */
  k->frames++;
  k->tp += n > 0;
  k->fn += n == 0;
  k->fp += n > 1 ? n - 1 : 0;
  return 0;
}

static int have_models(void) {
  int ok = 1;
  const char *names[] = {"blazeface", "emotion", "faceres"};
  for (int i = 0; i < 3; i++) {
    char *p = vd_nn_model_path(names[i]);
    struct stat st;
    ok &= stat(p, &st) == 0;
    free(p);
  }
  return ok;
}

/* Runs the detector, the expression and the identity models over a clip
 * with one face per frame; `mean` receives the clip's mean embedding. */
static void one_face_clip(const char *name, double fps, float *mean) {
  char *path = vd_xasprintf("%s/faces/%s", getenv("VD_TESTDATA") ? getenv("VD_TESTDATA") : VD_TESTDATA,
                            name);
  struct stat st;
  if (stat(path, &st) != 0) {
    printf("  %s: absent, skipped\n", path);
    free(path);
    mean[0] = NAN;
    return;
  }
  struct vd_media *m = NULL;
  struct vd_err err = {0};
  struct count k = {0};
  struct vd_facedet_opts o = {.min_score = 0.5f, .nms_iou = 0.3f, .max_faces = 20, .threads = 2};
  assert_int_equal(vd_facedet_new(&k.det, &o, &err), 0);
  struct vd_facedet_opts osq = o;
  osq.square = 1;
  assert_int_equal(vd_facedet_new(&k.sq, &osq, &err), 0);
  assert_int_equal(vd_faceemo_new(&k.emo, 1, &err), 0);
  assert_int_equal(vd_faceemb_new(&k.emb, 2, &err), 0);
  assert_true(vd_faceemb_dim(k.emb) <= 1024);
  k.trk = vd_facetracker_new(0.3f, 1.0);
  assert_int_equal(vd_media_open(&m, path, NULL, &err), 0);
  struct vd_video_want w = {.fps = fps, .max_side = vd_facedet_input_size(k.det),
                            .fmt = VD_PIX_RGB24};
  assert_int_equal(vd_media_want_video(m, &w, on_frame, &k), 0);
  double t0 = vd_now();
  int rc = vd_media_run(m, NULL, NULL, &err);
  if (rc != 0)
    fail_msg("%s: %s", name, vd_err_msg(&err, rc));
  double secs = vd_now() - t0;
  double recall = (double)k.tp / (k.tp + k.fn), precision = (double)k.tp / (k.tp + k.fp);
  int dom = 0, classified = 0;
  for (int i = 0; i < VD_EMOTIONS; i++) {
    dom = k.top[i] > k.top[dom] ? i : dom;
    classified += k.top[i];
  }
  printf("  %s: %d frames at %.0f fps, precision %.3f, recall %.3f, %d track(s), %.2f s; "
         "emotion %s in %d of %d frames\n",
         name, k.frames, fps, precision, recall, k.tracks, secs, vd_emotion_labels[dom], k.top[dom],
         classified);
  assert_int_equal(classified, k.tp);
  printf("    identity: same face across the clip, lowest cosine to the first frame %.3f\n",
         k.min_self);
  assert_true(k.min_self > 0.75);
  for (int i = 0; i < vd_faceemb_dim(k.emb); i++)
    mean[i] = k.mean[i] / (float)k.n_emb;
  assert_true(k.frames > 0);
  assert_true(recall >= 0.95);
  assert_true(precision >= 0.95);
  assert_true(k.tracks <= 2); /* one person, at most one break */
  printf("    planned for the picture vs the square: worst IoU %.3f, worst score change %.3f\n",
         k.worst_iou, k.worst_dscore);
  assert_true(k.worst_iou > 0.9 && k.worst_dscore < 0.05);
  vd_media_free(m);
  vd_facedet_free(k.det);
  vd_facedet_free(k.sq);
  vd_faceemo_free(k.emo);
  vd_faceemb_free(k.emb);
  vd_facetracker_free(k.trk);
  free(path);
}

static double cosine(const float *a, const float *b, int n) {
  double d = 0, na = 0, nb = 0;
  for (int i = 0; i < n; i++) {
    d += (double)a[i] * b[i];
    na += (double)a[i] * a[i];
    nb += (double)b[i] * b[i];
  }
  return d / sqrt(na * nb + 1e-30);
}

static void test_detect_real_faces(void **state) {
  if (!have_models()) {
    printf("blazeface, emotion and faceres are not all installed (scripts/models); skipping\n");
    skip();
  }
  static float m1[1024], m2[1024], m3[1024], m4[1024];
  /* Sanitized builds run the models ~20x slower: sample less. */
  double fps = getenv("VD_SANITIZED") ? 1 : 5;
  one_face_clip("grid_bbaf2n.mpg", fps, m1);
  one_face_clip("grid_lwbsza.mpg", fps, m2);
  one_face_clip("azavatar_delivering_sell_link.mp4", fps, m3);
  m4[0] = NAN;
  if (!getenv("VD_SANITIZED")) /* 4K decoding is slow under sanitizers */
    one_face_clip("azavatar_status0_speaking.mp4", 5, m4);
  /* Two different GRID speakers, and a GRID speaker against the azavatar
   * woman: different people, so their embeddings must be far apart. */
  const float *people[3] = {m1, m2, m3};
  for (int a = 0; a < 3; a++)
    for (int b = a + 1; b < 3; b++) {
      if (isnan(people[a][0]) || isnan(people[b][0]))
        continue;
      double cs = cosine(people[a], people[b], 1024);
      printf("  identity: different people %d and %d, cosine %.3f\n", a, b, cs);
      assert_true(cs < 0.6);
    }
  if (!isnan(m3[0]) && !isnan(m4[0]))
    printf("  identity: the two azavatar clips, cosine %.3f\n", cosine(m3, m4, 1024));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_iou_nms),
      cmocka_unit_test(test_tracker),
      cmocka_unit_test(test_params),
      cmocka_unit_test(test_detect_real_faces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
