/*
 * test_dup: near-duplicate detection on data built in memory.
 * - the serialized form round-trips (binary and base64), and damaged,
 *   truncated, wrong-version, over-limit and non-base64 input is refused
 *   with the right code;
 * - the picture hash: a mirrored picture hashes to vd_fp_mirror() of the
 *   original, brightness/contrast and black bars change few bits, a 10%
 *   crop meets the original's zoom hash, a flat picture is flat;
 * - vd_dup_compare on synthetic series: a fragment's offset and coverage,
 *   mirroring, a 5% speed change, and the verdict table (same picture with
 *   other sound, same sound with another picture, a side without sound or
 *   without picture, unrelated);
 * - the index: add, replace, remove, query, exclude, and queries on several
 *   threads while another thread adds (run under TSan in CI builds).
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dup/dup.h"

#define PP 0.25                      /* picture period, s */
#define SP (4096.0 / 3 / 11025)      /* Chromaprint's word period, s */

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Flips `k` random bits of `v`. */
static uint64_t noisy(uint64_t v, int k, int bits) {
  for (int i = 0; i < k; i++)
    v ^= 1ull << (rnd() % (uint64_t)bits);
  return v;
}

/* A "video": picture hashes every PP s and sound words every SP s over `secs`. */
struct synth {
  uint64_t pic[400], zoom[400];
  uint32_t snd[1000];
  int npic, nsnd;
};

static void synth_make(struct synth *s, double secs) {
  s->npic = (int)(secs / PP);
  s->nsnd = (int)(secs / SP);
  for (int i = 0; i < s->npic; i++) {
    s->pic[i] = rnd();
    s->zoom[i] = rnd();
  }
  for (int i = 0; i < s->nsnd; i++)
    s->snd[i] = (uint32_t)rnd();
}

/* A fingerprint of `s` seen from its time t0 for `secs` at `speed` (1.05:
 * the copy plays 5% faster), with `pflip`/`sflip` bits of noise per sample.
 * use_pic / use_snd = 0 leave that series out. */
static struct vd_fp *take(const struct synth *s, double t0, double secs, double speed,
                          int pflip, int sflip, int mirror, int use_pic, int use_snd) {
  struct vd_fp *fp = vd_fp_new(PP);
  for (int i = 0; use_pic && i * PP < secs; i++) {
    int j = (int)lround((t0 + i * PP * speed) / PP);
    if (j >= s->npic)
      break;
    uint64_t h = noisy(s->pic[j], pflip, 64), z = noisy(s->zoom[j], pflip, 64);
    if (mirror) {
      h = vd_fp_mirror(h);
      z = vd_fp_mirror(z);
    }
    vd_fp_add_picture(fp, i * PP, h, z, 0);
  }
  if (use_snd) {
    uint32_t w[1000];
    int n = 0;
    for (int i = 0; i * SP < secs && n < 1000; i++) {
      int j = (int)lround((t0 + i * SP * speed) / SP);
      if (j >= s->nsnd)
        break;
      w[n++] = (uint32_t)noisy(s->snd[j], sflip, 32);
    }
    vd_fp_set_sound(fp, 0, SP, w, NULL, (size_t)n);
  }
  return fp;
}

/* ---- serialized form ------------------------------------------------------ */

static void test_roundtrip(void **state) {
  (void)state;
  struct synth s;
  synth_make(&s, 30);
  struct vd_fp *fp = take(&s, 0, 30, 1, 0, 0, 0, 1, 1), *back = NULL;
  void *buf;
  size_t len;
  struct vd_err err = {0};
  assert_int_equal(vd_fp_save(fp, &buf, &len, &err), 0);
  assert_int_equal(vd_fp_load(buf, len, &back, &err), 0);
  assert_int_equal(vd_fp_picture_samples(back), vd_fp_picture_samples(fp));
  assert_int_equal(vd_fp_sound_words(back), vd_fp_sound_words(fp));
  assert_true(fabs(vd_fp_picture_seconds(back) - 30) < 0.3);
  void *buf2;
  size_t len2;
  assert_int_equal(vd_fp_save(back, &buf2, &len2, &err), 0);
  assert_int_equal(len2, len);
  assert_memory_equal(buf, buf2, len); /* the same bytes: nothing lost */
  free(buf2);
  vd_fp_free(back);

  char *text = vd_fp_save_base64(fp);
  assert_int_equal(vd_fp_load_base64(text, &back, &err), 0);
  vd_fp_free(back);
  json_t *res = json_pack("{s:s}", "data", text);
  assert_int_equal(vd_fp_from_result(res, &back, &err), 0);
  struct vd_dup_match m;
  vd_dup_compare(back, fp, &m);
  assert_int_equal(m.verdict, VD_DUP_VERDICT_DUPLICATE);
  vd_fp_free(back);
  json_decref(res);

  /* damaged: each kind refused, nothing returned */
  uint8_t *b = malloc(len);
  memcpy(b, buf, len);
  b[len / 2] ^= 0x10;
  assert_int_equal(vd_fp_load(b, len, &back, &err), VD_ERR_CORRUPT);
  assert_null(back);
  assert_int_equal(vd_fp_load(buf, len - 1, &back, &err), VD_ERR_CORRUPT);
  assert_int_equal(vd_fp_load(buf, 10, &back, &err), VD_ERR_CORRUPT);
  memcpy(b, buf, len);
  b[4] = 2; /* version 2 */
  vd_err_clear(&err);
  assert_int_equal(vd_fp_load(b, len, &back, &err), VD_ERR_CORRUPT);
  assert_non_null(strstr(err.msg, "version"));
  memcpy(b, buf, len);
  b[0] = 'X';
  assert_int_equal(vd_fp_load(b, len, &back, &err), VD_ERR_CORRUPT);
  memcpy(b, buf, len);
  b[23] = 0x7f; /* n_pic far over the cap */
  assert_int_equal(vd_fp_load(b, len, &back, &err), VD_ERR_LIMIT);
  assert_null(back);
  free(b);
  assert_int_equal(vd_fp_load_base64("not base64!", &back, &err), VD_ERR_CORRUPT);
  assert_int_equal(vd_fp_load_base64("", &back, &err), VD_ERR_CORRUPT);
  assert_int_equal(vd_fp_load_base64("QUJD", &back, &err), VD_ERR_CORRUPT); /* "ABC" */
  res = json_pack("{s:i}", "data", 3);
  assert_int_equal(vd_fp_from_result(res, &back, &err), VD_ERR_INVALID);
  json_decref(res);
  assert_int_equal(vd_fp_from_result(NULL, &back, &err), VD_ERR_INVALID);
  free(text);
  free(buf);
  vd_fp_free(fp);
}

/* A long video's picture series is halved, not grown, past the cap. */
static void test_cap(void **state) {
  (void)state;
  struct vd_fp *fp = vd_fp_new(PP);
  for (int i = 0; i < 3 * VD_FP_MAX_PICTURE; i++)
    vd_fp_add_picture(fp, i * PP, (uint64_t)i, 0, 0);
  assert_true(vd_fp_picture_samples(fp) <= VD_FP_MAX_PICTURE);
  print_message("%zu samples, %.1f s\n", vd_fp_picture_samples(fp), vd_fp_picture_seconds(fp));
  assert_true(fabs(vd_fp_picture_seconds(fp) - 3 * VD_FP_MAX_PICTURE * PP) < 8 * PP);
  /* a gap is filled by the previous sample; a repeated time is dropped */
  struct vd_fp *g = vd_fp_new(PP);
  vd_fp_add_picture(g, 0, 1, 1, 0);
  vd_fp_add_picture(g, 0.01, 2, 2, 0);
  vd_fp_add_picture(g, 1.0, 3, 3, 0);
  assert_int_equal(vd_fp_picture_samples(g), 5);
  /* a jump of 48 h (a broken timestamp) ends bounded, and quickly */
  vd_fp_add_picture(g, 48 * 3600.0, 4, 4, 0);
  assert_true(vd_fp_picture_samples(g) <= VD_FP_MAX_PICTURE);
  vd_fp_free(g);
  /* sound past its cap is subsampled evenly, the period growing to match */
  size_t n = 3 * VD_FP_MAX_SOUND + 5;
  uint32_t *w = calloc(n, sizeof(*w));
  struct vd_fp *snd = vd_fp_new(PP);
  vd_fp_set_sound(snd, 0, SP, w, NULL, n);
  assert_true(vd_fp_sound_words(snd) <= VD_FP_MAX_SOUND);
  assert_true(fabs(vd_fp_sound_seconds(snd) - n * SP) < 8 * SP);
  vd_fp_free(snd);
  free(w);
  vd_fp_free(fp);
}

/* ---- picture hash ------------------------------------------------------------ */

#define W 160
#define H 90

/* A textured picture: blobs and gradients, no symmetry. */
static void picture(uint8_t *p, int w, int h, double scale, double x0, double y0) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double u = x0 + x * scale / w, v = y0 + y * scale / h;
      double val = 120 + 60 * sin(7 * u + 3 * v) + 40 * cos(11 * v - 2 * u * u) +
                   30 * (u > 0.6 && v < 0.4);
      p[y * w + x] = (uint8_t)(val < 0 ? 0 : val > 255 ? 255 : val);
    }
}

static int bits(uint64_t a, uint64_t b) { return __builtin_popcountll(a ^ b); }

static void test_hash(void **state) {
  (void)state;
  static uint8_t a[W * H], b[W * H];
  int flat;
  uint64_t za, zb;
  picture(a, W, H, 1, 0, 0);
  uint64_t ha = vd_fp_hash_picture(a, W, H, W, &za, &flat);
  assert_int_equal(flat, 0);
  /* mirror */
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      b[y * W + x] = a[y * W + W - 1 - x];
  uint64_t hb = vd_fp_hash_picture(b, W, H, W, &zb, &flat);
  assert_true(bits(hb, vd_fp_mirror(ha)) <= 1);
  assert_true(bits(zb, vd_fp_mirror(za)) <= 1);
  assert_true(bits(hb, ha) >= 16); /* mirroring does change the plain hash */
  /* brightness and contrast */
  for (int i = 0; i < W * H; i++) {
    int v = (int)((a[i] - 128) * 0.8 + 128 + 15);
    b[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
  }
  hb = vd_fp_hash_picture(b, W, H, W, &zb, &flat);
  print_message("contrast 0.8, brightness +15: %d bits\n", bits(hb, ha));
  assert_true(bits(hb, ha) <= 4);
  /* letterbox: the picture squeezed into the middle rows, black bars */
  memset(b, 0, sizeof(b));
  static uint8_t small[W * 60];
  picture(small, W, 60, 1, 0, 0);
  memcpy(b + 15 * W, small, sizeof(small));
  hb = vd_fp_hash_picture(b, W, H, W, &zb, &flat);
  uint64_t hs = vd_fp_hash_picture(small, W, 60, W, &zb, &flat);
  assert_int_equal(hb, hs);
  /* a 10% crop meets the original's zoom hash */
  picture(b, W, H, 0.9, 0.05, 0.05);
  hb = vd_fp_hash_picture(b, W, H, W, &zb, &flat);
  print_message("crop: whole %d bits, against zoom %d bits\n", bits(hb, ha), bits(hb, za));
  assert_true(bits(hb, za) <= 6);
  assert_true(bits(hb, za) < bits(hb, ha));
  /* flat */
  memset(b, 77, sizeof(b));
  vd_fp_hash_picture(b, W, H, W, &zb, &flat);
  assert_int_equal(flat, 1);
  memset(b, 0, sizeof(b));
  vd_fp_hash_picture(b, W, H, W, &zb, &flat);
  assert_int_equal(flat, 1);
  vd_fp_hash_picture(NULL, 0, 0, 0, &zb, &flat);
  assert_int_equal(flat, 1);
}

/* ---- compare ------------------------------------------------------------------- */

static struct synth A, B;

static void cmp(struct vd_fp *q, struct vd_fp *r, struct vd_dup_match *m, const char *what) {
  vd_dup_compare(q, r, m);
  print_message("%-28s %-12s picture %6.3f sound %6.3f offset %7.3f coverage %5.2f\n", what,
                vd_dup_verdict_name(m->verdict), m->picture, m->sound, m->offset, m->coverage);
  vd_fp_free(q);
}

static void test_compare(void **state) {
  (void)state;
  synth_make(&A, 60);
  synth_make(&B, 60);
  struct vd_fp *ref = take(&A, 0, 60, 1, 0, 0, 0, 1, 1);
  struct vd_dup_match m;

  cmp(take(&A, 0, 60, 1, 6, 3, 0, 1, 1), ref, &m, "re-encode (noise)");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_DUPLICATE);
  assert_true(fabs(m.offset) < 0.3);
  assert_true(m.coverage > 0.9);

  cmp(take(&A, 20, 10, 1, 4, 2, 0, 1, 1), ref, &m, "fragment 20..30 s");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_DUPLICATE);
  assert_true(fabs(m.offset - 20) < 0.3);
  assert_true(m.coverage > 0.9);
  assert_true(m.picture > 0.9 && m.sound > 0.6);

  cmp(take(&A, 0, 60, 1, 4, 2, 1, 1, 1), ref, &m, "mirrored");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_DUPLICATE);

  /* the offset is told in the middle of the overlap: at query time 20 s,
   * reference time 5 + 1.05 * 20 = 26 */
  cmp(take(&A, 5, 40, 1.05, 3, 2, 0, 1, 1), ref, &m, "5% faster, from 5 s");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_DUPLICATE);
  assert_true(fabs(m.offset - 6) < 0.5);

  /* the reference is the fragment: coverage is of the shorter one, and the
   * short side's samples find the alignment (the long query's 256 voting
   * samples, spread over 60 s, would give it few) */
  struct vd_fp *frag = take(&A, 30, 15, 1, 0, 0, 0, 1, 1);
  cmp(take(&A, 0, 60, 1, 3, 2, 0, 1, 1), frag, &m, "whole against its fragment");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_DUPLICATE);
  assert_true(fabs(m.offset + 30) < 0.3);
  assert_true(m.coverage > 0.9);
  vd_fp_free(frag);

  /* same picture, other sound: the presenter giving another talk */
  struct vd_fp *q = take(&A, 0, 60, 1, 3, 0, 0, 1, 0);
  struct vd_fp *tmp = take(&B, 0, 60, 1, 0, 0, 0, 0, 1);
  uint32_t w[1000];
  for (int i = 0; i < B.nsnd; i++)
    w[i] = B.snd[i];
  vd_fp_set_sound(q, 0, SP, w, NULL, (size_t)B.nsnd);
  vd_fp_free(tmp);
  cmp(q, ref, &m, "same picture, other sound");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_SAME_PICTURE);
  assert_true(m.picture > 0.9 && m.sound < 0.2);

  /* same sound, other picture: dancing to one song */
  q = take(&B, 0, 60, 1, 0, 0, 0, 1, 0);
  for (int i = 0; i < A.nsnd; i++)
    w[i] = (uint32_t)noisy(A.snd[i], 2, 32);
  vd_fp_set_sound(q, 0, SP, w, NULL, (size_t)A.nsnd);
  cmp(q, ref, &m, "same sound, other picture");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_SAME_SOUND);
  assert_true(m.sound > 0.7 && m.picture < 0.2);

  cmp(take(&A, 0, 60, 1, 4, 0, 0, 1, 0), ref, &m, "copy without sound");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_DUPLICATE);
  assert_true(m.sound == -1);

  cmp(take(&A, 0, 60, 1, 0, 2, 0, 0, 1), ref, &m, "its sound alone");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_SAME_SOUND);
  assert_true(m.picture == -1);

  struct vd_fp *song = take(&A, 0, 60, 1, 0, 0, 0, 0, 1);
  cmp(take(&A, 0, 60, 1, 0, 2, 0, 0, 1), song, &m, "two sound-only copies");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_DUPLICATE);
  vd_fp_free(song);

  cmp(take(&B, 0, 60, 1, 0, 0, 0, 1, 1), ref, &m, "unrelated");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_NONE);

  cmp(take(&A, 10, 1, 1, 0, 0, 0, 1, 1), ref, &m, "1 s: too short to tell");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_NONE);

  struct vd_fp *empty = vd_fp_new(PP);
  cmp(take(&A, 0, 60, 1, 0, 0, 0, 1, 1), empty, &m, "against an empty fingerprint");
  assert_int_equal(m.verdict, VD_DUP_VERDICT_NONE);
  vd_fp_free(empty);
  vd_fp_free(ref);
  assert_string_equal(vd_dup_verdict_name(VD_DUP_VERDICT_SAME_SOUND), "same_sound");
}

/* ---- index ------------------------------------------------------------------------ */

static void test_index(void **state) {
  (void)state;
  struct vd_dup_index *ix = vd_dup_index_new();
  struct vd_err err = {0};
  struct synth other;
  char id[32];
  for (int k = 0; k < 40; k++) {
    synth_make(&other, 30);
    snprintf(id, sizeof(id), "other-%d", k);
    assert_int_equal(vd_dup_index_add(ix, id, take(&other, 0, 30, 1, 0, 0, 0, 1, 1), &err), 0);
  }
  synth_make(&A, 60);
  assert_int_equal(vd_dup_index_add(ix, "orig", take(&A, 0, 60, 1, 0, 0, 0, 1, 1), &err), 0);
  assert_int_equal(vd_dup_index_size(ix), 41);
  assert_true(vd_dup_index_contains(ix, "orig"));

  struct vd_fp *q = take(&A, 12, 10, 1, 5, 3, 1, 1, 1); /* mirrored fragment */
  struct vd_dup_hit *hits;
  size_t n;
  assert_int_equal(vd_dup_index_query(ix, q, NULL, 5, &hits, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(hits[0].id, "orig");
  assert_int_equal(hits[0].match.verdict, VD_DUP_VERDICT_DUPLICATE);
  json_t *j = vd_dup_result_json(hits, n, 41);
  assert_true(json_is_true(json_object_get(j, "is_duplicate")));
  assert_string_equal(json_string_value(json_object_get(j, "duplicate_for")), "orig");
  json_decref(j);
  vd_dup_hits_free(hits, n);

  /* excluded: the video does not match itself */
  assert_int_equal(vd_dup_index_query(ix, q, "orig", 5, &hits, &n, &err), 0);
  assert_int_equal(n, 0);
  assert_null(hits);

  /* a hard case is listed after duplicates */
  struct vd_fp *hard = take(&A, 0, 60, 1, 2, 0, 0, 1, 0);
  synth_make(&B, 60);
  uint32_t w[1000];
  for (int i = 0; i < B.nsnd; i++)
    w[i] = B.snd[i];
  vd_fp_set_sound(hard, 0, SP, w, NULL, (size_t)B.nsnd);
  assert_int_equal(vd_dup_index_add(ix, "talk-2", hard, &err), 0);
  assert_int_equal(vd_dup_index_query(ix, q, NULL, 5, &hits, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(hits[0].id, "orig");
  assert_string_equal(hits[1].id, "talk-2");
  assert_int_equal(hits[1].match.verdict, VD_DUP_VERDICT_SAME_PICTURE);
  j = vd_dup_result_json(hits, n, 42);
  assert_int_equal(json_array_size(json_object_get(j, "hard_cases")), 1);
  json_decref(j);
  vd_dup_hits_free(hits, n);
  assert_int_equal(vd_dup_index_query(ix, q, NULL, 1, &hits, &n, &err), 0);
  assert_int_equal(n, 1); /* max */
  vd_dup_hits_free(hits, n);

  /* replace "orig" with something else: it no longer matches */
  synth_make(&other, 30);
  assert_int_equal(vd_dup_index_add(ix, "orig", take(&other, 0, 30, 1, 0, 0, 0, 1, 1), &err), 0);
  assert_int_equal(vd_dup_index_size(ix), 42);
  assert_int_equal(vd_dup_index_query(ix, q, "talk-2", 5, &hits, &n, &err), 0);
  assert_int_equal(n, 0);
  /* remove */
  assert_int_equal(vd_dup_index_remove(ix, "orig"), 0);
  assert_int_equal(vd_dup_index_remove(ix, "orig"), VD_ERR_NOT_FOUND);
  assert_false(vd_dup_index_contains(ix, "orig"));
  assert_int_equal(vd_dup_index_size(ix), 41);
  for (int k = 0; k < 40; k++) {
    snprintf(id, sizeof(id), "other-%d", k);
    assert_int_equal(vd_dup_index_remove(ix, id), 0);
  }
  assert_int_equal(vd_dup_index_size(ix), 1);
  /* bad arguments */
  assert_int_equal(vd_dup_index_add(ix, "", vd_fp_new(PP), &err), VD_ERR_INVALID);
  assert_int_equal(vd_dup_index_query(ix, NULL, NULL, 5, &hits, &n, &err), VD_ERR_INVALID);
  vd_fp_free(q);
  vd_dup_index_free(ix);
}

/* ---- threads ------------------------------------------------------------------ */

struct qarg {
  struct vd_dup_index *ix;
  struct vd_fp *q;
  int found;
  int fails;
};

static void *querier(void *p) {
  struct qarg *a = p;
  for (int i = 0; i < 30; i++) {
    struct vd_dup_hit *hits;
    size_t n;
    if (vd_dup_index_query(a->ix, a->q, NULL, 3, &hits, &n, NULL) < 0)
      a->fails++;
    a->found += n > 0 && !strcmp(hits[0].id, "orig");
    vd_dup_hits_free(hits, n);
  }
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  struct vd_dup_index *ix = vd_dup_index_new();
  synth_make(&A, 60);
  assert_int_equal(vd_dup_index_add(ix, "orig", take(&A, 0, 60, 1, 0, 0, 0, 1, 1), NULL), 0);
  struct qarg args[4];
  pthread_t th[4];
  for (int t = 0; t < 4; t++) {
    args[t] = (struct qarg){ix, take(&A, 10, 20, 1, 4, 2, 0, 1, 1), 0, 0};
    assert_int_equal(pthread_create(&th[t], NULL, querier, &args[t]), 0);
  }
  /* fingerprints are made here, before the lock (rnd() is not thread-safe) */
  struct synth other;
  for (int k = 0; k < 60; k++) {
    char id[32];
    snprintf(id, sizeof(id), "v%d", k);
    synth_make(&other, 20);
    assert_int_equal(vd_dup_index_add(ix, id, take(&other, 0, 20, 1, 0, 0, 0, 1, 1), NULL), 0);
    if (k % 3 == 0)
      assert_int_equal(vd_dup_index_remove(ix, id), 0);
  }
  for (int t = 0; t < 4; t++) {
    pthread_join(th[t], NULL);
    assert_int_equal(args[t].fails, 0);
    assert_int_equal(args[t].found, 30);
    vd_fp_free(args[t].q);
  }
  assert_int_equal(vd_dup_index_size(ix), 41);
  vd_dup_index_free(ix);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_cap),
      cmocka_unit_test(test_hash),      cmocka_unit_test(test_compare),
      cmocka_unit_test(test_index),     cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
