/*
 * test_blob.c: SHA-256 against the FIPS 180-4 / NIST example vectors (also
 * fed in odd-sized pieces), and the blob folder: streamed writes, dedupe,
 * size limit, abort, adopt, verify, and prefix resolution (unique,
 * ambiguous with candidates, unknown, malformed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../helpers/testutil.h"
#include "blob/blob.h"

static void hex_of(const void *d, size_t n, size_t piece, char out[65]) {
  struct vd_sha256 s;
  uint8_t dig[32];
  vd_sha256_init(&s);
  for (size_t off = 0; off < n;) {
    size_t k = piece && piece < n - off ? piece : n - off;
    vd_sha256_update(&s, (const char *)d + off, k);
    off += k;
  }
  vd_sha256_final(&s, dig);
  vd_sha256_hex(dig, out);
}

static void test_sha256_vectors(void **state) {
  (void)state;
  static const struct {
    const char *msg, *hex;
  } v[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
  };
  char out[65];
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    size_t pieces[] = {0, 1, 3, 63, 64, 65};
    for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
      hex_of(v[i].msg, strlen(v[i].msg), pieces[p], out);
      assert_string_equal(out, v[i].hex);
    }
  }
  /* One million 'a' (FIPS 180-2 appendix B.3). */
  char *m = malloc(1000000);
  memset(m, 'a', 1000000);
  hex_of(m, 1000000, 4099, out);
  assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(m);
}

static struct vd_blobs *open_store(const char *name) {
  struct vd_blobs *b = NULL;
  assert_int_equal(vd_blobs_open(&b, vd_test_path(name), NULL), 0);
  return b;
}

static int count_tmp(const char *name) {
  char cmd[600];
  snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s/tmp')\"", vd_test_path(name));
  return system(cmd) == 0 ? 0 : 1;
}

static void test_write_dedupe_limit(void **state) {
  (void)state;
  struct vd_blobs *b = open_store("b1");
  struct vd_blob_writer *w;
  char id[65], id2[65];
  int existed = -1;
  assert_int_equal(vd_blob_writer_new(b, 0, &w, NULL), 0);
  for (int i = 0; i < 1000; i++) /* 1000 * 100 bytes, through the write buffer */
    assert_int_equal(vd_blob_write(w, "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqr", 100, NULL), 0);
  assert_int_equal(vd_blob_writer_size(w), 100000);
  assert_int_equal(vd_blob_commit(w, id, &existed, NULL), 0);
  assert_int_equal(existed, 0);
  assert_true(vd_blob_exists(b, id));
  assert_int_equal(vd_blob_verify(b, id), 0);

  assert_int_equal(vd_blob_writer_new(b, 0, &w, NULL), 0);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(vd_blob_write(w, "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqr", 100, NULL), 0);
  assert_int_equal(vd_blob_commit(w, id2, &existed, NULL), 0);
  assert_string_equal(id, id2);
  assert_int_equal(existed, 1);
  assert_int_equal(count_tmp("b1"), 0);

  /* Over the limit: the write fails and abort leaves nothing behind. */
  struct vd_err err = {0};
  assert_int_equal(vd_blob_writer_new(b, 10, &w, NULL), 0);
  assert_int_equal(vd_blob_write(w, "12345", 5, NULL), 0);
  assert_int_equal(vd_blob_write(w, "123456", 6, &err), VD_ERR_LIMIT);
  assert_non_null(strstr(err.msg, "limit"));
  vd_blob_abort(w);
  assert_int_equal(count_tmp("b1"), 0);

  /* A damaged blob is detected. */
  char *p = vd_blob_path(b, id);
  FILE *f = fopen(p, "r+");
  assert_non_null(f);
  fputc('X', f);
  fclose(f);
  free(p);
  assert_int_equal(vd_blob_verify(b, id), VD_ERR_CORRUPT);
  assert_int_equal(vd_blob_delete(b, id), 0);
  assert_false(vd_blob_exists(b, id));
  vd_blobs_free(b);
}

static void test_adopt(void **state) {
  (void)state;
  struct vd_blobs *b = open_store("b2");
  const char *src = vd_test_path("artifact.json");
  FILE *f = fopen(src, "w");
  fputs("abc", f);
  fclose(f);
  char id[65];
  int64_t size = 0;
  assert_int_equal(vd_blob_adopt(b, src, id, &size, NULL), 0);
  assert_string_equal(id, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_int_equal(size, 3);
  assert_int_not_equal(access(src, F_OK), 0); /* moved, not copied */
  assert_int_equal(vd_blob_verify(b, id), 0);
  vd_blobs_free(b);
}

/* Plants empty files under fabricated ids: resolution only looks at names. */
static void plant(const char *store, const char *id) {
  char p[600];
  snprintf(p, sizeof(p), "%s/%.2s", vd_test_path(store), id);
  mkdir(p, 0755);
  snprintf(p, sizeof(p), "%s/%.2s/%s", vd_test_path(store), id, id);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fclose(f);
}

static void test_resolve(void **state) {
  (void)state;
  struct vd_blobs *b = open_store("b3");
  const char *a = "abcdef0000000000000000000000000000000000000000000000000000000001";
  const char *c = "abcdef0000000000000000000000000000000000000000000000000000000002";
  const char *d = "abcde10000000000000000000000000000000000000000000000000000000003";
  plant("b3", a);
  plant("b3", c);
  plant("b3", d);
  char ids[4][65];
  struct vd_err err = {0};
  assert_int_equal(vd_blob_resolve(b, "abcde1", ids, 4, NULL), 1);
  assert_string_equal(ids[0], d);
  assert_int_equal(vd_blob_resolve(b, "ABCDEF", ids, 4, NULL), 2); /* ambiguous, case-blind */
  assert_string_equal(ids[0], a);
  assert_string_equal(ids[1], c);
  assert_int_equal(vd_blob_resolve(b, "abcdef00000000000000000000000000000000000000000000000000000000002", ids, 4, NULL),
                   VD_ERR_INVALID); /* 65 chars */
  assert_int_equal(vd_blob_resolve(b, c, ids, 4, NULL), 1);
  assert_int_equal(vd_blob_resolve(b, "abcdef1", ids, 4, NULL), 0);
  assert_int_equal(vd_blob_resolve(b, "123456", ids, 4, NULL), 0);
  assert_int_equal(vd_blob_resolve(b, "abcde", ids, 4, &err), VD_ERR_INVALID); /* too short */
  assert_non_null(strstr(err.msg, "6"));
  const char *bad[] = {"../../etc", "abcdeg", "abc def", ""};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(vd_blob_resolve(b, bad[i], ids, 4, NULL), VD_ERR_INVALID);
  /* Counting stops at max + 1: still reported as ambiguous. */
  assert_int_equal(vd_blob_resolve(b, "abcdef", ids, 1, NULL), 2);
  vd_blobs_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_vectors),
      cmocka_unit_test(test_write_dedupe_limit),
      cmocka_unit_test(test_adopt),
      cmocka_unit_test(test_resolve),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
