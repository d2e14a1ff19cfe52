/*
 * test_multipart.c: table-driven cases for the streaming multipart parser,
 * the boundary extraction, urlencoded forms and file-name sanitising. Every
 * body is also fed one byte at a time and in random splits: the parser must
 * give the same parts whatever the chunking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/http.h"

struct rec {
  char out[4096]; /* "name|filename|data;" per part */
  size_t n;
};

static void put(struct rec *r, const char *s, size_t len) {
  if (r->n + len < sizeof(r->out)) {
    memcpy(r->out + r->n, s, len);
    r->n += len;
    r->out[r->n] = '\0';
  }
}

static int pb(void *u, const char *name, const char *filename, const char *ct) {
  (void)ct;
  put(u, name, strlen(name));
  put(u, "|", 1);
  if (filename)
    put(u, filename, strlen(filename));
  put(u, "|", 1);
  return 0;
}
static int pd(void *u, const void *d, size_t n) {
  put(u, d, n);
  return 0;
}
static int pe(void *u) {
  put(u, ";", 1);
  return 0;
}
static const struct vd_multipart_cb cb = {pb, pd, pe};

/* Parses `body` split at the given chunk size (0 = whole); returns 0 / error. */
static int parse(const char *boundary, const char *body, size_t len, size_t chunk, struct rec *r) {
  struct vd_err err = {0};
  memset(r, 0, sizeof(*r));
  struct vd_multipart *m = vd_multipart_new(boundary, &cb, r);
  int ret = 0;
  for (size_t off = 0; off < len && ret == 0;) {
    size_t n = chunk ? (len - off < chunk ? len - off : chunk) : len;
    ret = vd_multipart_feed(m, body + off, n, &err);
    off += n;
  }
  if (ret == 0)
    ret = vd_multipart_finish(m, &err);
  vd_multipart_free(m);
  return ret;
}

static const struct {
  const char *name;
  const char *body;
  int ok;
  const char *want;
} cases[] = {
    {"one field", "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--B--\r\n", 1,
     "a||hello;"},
    {"file and field, preamble and epilogue",
     "junk\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.mp4\"\r\n"
     "Content-Type: video/mp4\r\n\r\n\r\n--Cnot\r\r\n-\r\n--B\r\nContent-Disposition: form-data; "
     "name=\"k\"\r\n\r\nv\r\n--B--\r\nepilogue",
     1, "file|x.mp4|\r\n--Cnot\r\r\n-;k||v;"},
    {"delimiter inside data (the sender chose a bad boundary)",
     "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--Bnot\r\n--B--", 0, NULL},
    {"empty part body", "--B\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n\r\n--B--", 1,
     "e||;"},
    {"whitespace after boundary", "--B  \r\ncontent-disposition: form-data; name=x\r\n\r\n1\r\n--B--",
     1, "x||1;"},
    {"escaped quote in filename",
     "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\\\"b\"\r\n\r\nz\r\n--B--", 1,
     "f|a\"b|z;"},
    {"binary data with CR LF and dashes",
     "--B\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n\r\r\n\r\n-\r\n--\r\n--C\r\n--B--", 1,
     "b||\r\r\n\r\n-\r\n--\r\n--C;"},
    {"no closing boundary", "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello", 0, NULL},
    {"no parts at all", "--B--\r\n", 0, NULL},
    {"empty body", "", 0, NULL},
    {"header without colon", "--B\r\nbogus\r\n\r\nx\r\n--B--", 0, NULL},
    {"no Content-Disposition", "--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--", 0, NULL},
    {"not form-data", "--B\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--B--", 0, NULL},
    {"part without name", "--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--", 0, NULL},
    {"junk after boundary", "--Bx\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--B--", 0, NULL},
    {"LF-only line ends", "--B\nContent-Disposition: form-data; name=a\n\nx\n--B--", 0, NULL},
    {"unterminated quoted name", "--B\r\nContent-Disposition: form-data; name=\"abc\r\n\r\nx\r\n--B--",
     0, NULL},
};

static void test_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t len = strlen(cases[i].body);
    size_t chunks[] = {0, 1, 2, 3, 7, 64};
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
      struct rec r;
      int ret = parse("B", cases[i].body, len, chunks[c], &r);
      if (cases[i].ok != (ret == 0) || (cases[i].ok && strcmp(r.out, cases[i].want))) {
        fprintf(stderr, "case '%s' chunk %zu: ret %d, got '%s'\n", cases[i].name, chunks[c], ret,
                r.out);
        fail();
      }
    }
  }
}

/* A large part split at random points: no byte lost or added. */
static unsigned char *sink;
static size_t sink_n, sink_cap;
static int sink_data(void *u, const void *d, size_t n) {
  (void)u;
  if (sink_n + n > sink_cap)
    return VD_ERR_LIMIT;
  memcpy(sink + sink_n, d, n);
  sink_n += n;
  return 0;
}

static void test_random_splits(void **state) {
  (void)state;
  const char *bd = "----vidanBoundary123";
  size_t plen = 200000;
  unsigned char *payload = malloc(plen);
  srand(42);
  for (size_t i = 0; i < plen; i++) /* plenty of CR, LF, dashes and boundary letters */
    payload[i] = (unsigned char)"\r\n-B-ab"[rand() % 7];
  char head[200], tail[64];
  int hl = snprintf(head, sizeof(head),
                    "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n",
                    bd);
  int tl = snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", bd);
  size_t len = (size_t)hl + plen + (size_t)tl;
  char *body = malloc(len);
  memcpy(body, head, (size_t)hl);
  memcpy(body + hl, payload, plen);
  memcpy(body + hl + plen, tail, (size_t)tl);
  sink_cap = plen;
  sink = malloc(sink_cap);
  const struct vd_multipart_cb c2 = {NULL, sink_data, NULL};
  for (int round = 0; round < 20; round++) {
    struct vd_err err = {0};
    struct vd_multipart *m = vd_multipart_new(bd, &c2, NULL);
    sink_n = 0;
    for (size_t off = 0; off < len;) {
      size_t n = 1 + (size_t)rand() % (round < 10 ? 5 : 5000);
      if (n > len - off)
        n = len - off;
      assert_int_equal(vd_multipart_feed(m, body + off, n, &err), 0);
      off += n;
    }
    assert_int_equal(vd_multipart_finish(m, &err), 0);
    vd_multipart_free(m);
    assert_int_equal(sink_n, plen);
    assert_memory_equal(sink, payload, plen);
  }
  free(sink);
  free(body);
  free(payload);
}

static void test_boundary(void **state) {
  (void)state;
  char b[80];
  assert_int_equal(vd_multipart_boundary("multipart/form-data; boundary=abc", b, sizeof(b)), 0);
  assert_string_equal(b, "abc");
  assert_int_equal(vd_multipart_boundary("Multipart/Form-Data;charset=x; boundary=\"a b:c\"", b, sizeof(b)), 0);
  assert_string_equal(b, "a b:c");
  assert_int_equal(vd_multipart_boundary("multipart/form-data; boundary=x;y=1", b, sizeof(b)), 0);
  assert_string_equal(b, "x");
  const char *bad[] = {NULL, "text/plain; boundary=a", "multipart/form-data", "multipart/form-data; boundary=",
                       "multipart/form-data; boundary=\"abc", "multipart/form-data; boundary=a\rb",
                       "multipart/form-data; boundary=\"a \"",
                       "multipart/form-data; boundary=01234567890123456789012345678901234567890123456789012345678901234567890"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(vd_multipart_boundary(bad[i], b, sizeof(b)), VD_ERR_INVALID);
}

static void test_urlencoded(void **state) {
  (void)state;
  json_t *f = json_object();
  const char *s = "file_id=abc&analysis=sleep&time=10&e=&x%20y=a%2Bb+c&&flag";
  assert_int_equal(vd_http_parse_urlencoded(s, strlen(s), f), 0);
  assert_string_equal(json_string_value(json_object_get(f, "analysis")), "sleep");
  assert_string_equal(json_string_value(json_object_get(f, "x y")), "a+b c");
  assert_string_equal(json_string_value(json_object_get(f, "e")), "");
  assert_string_equal(json_string_value(json_object_get(f, "flag")), "");
  const char *bad[] = {"a=%4", "a=%zz", "a=%", "a=%ff%fe"}; /* last: not UTF-8 */
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(vd_http_parse_urlencoded(bad[i], strlen(bad[i]), f), VD_ERR_INVALID);
  json_decref(f);
}

static void test_sanitize(void **state) {
  (void)state;
  static const struct {
    const char *in, *want;
  } t[] = {{"../../../etc/passwd", "passwd"}, {"C:\\Users\\x\\clip.mp4", "clip.mp4"},
           {"..", ""}, {".hidden", "hidden"}, {"a\r\nb\"c.mp4", "abc.mp4"},
           {"dir/", ""}, {"ok name.mkv", "ok name.mkv"}};
  char out[64];
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    vd_http_sanitize_filename(t[i].in, out, sizeof(out));
    assert_string_equal(out, t[i].want);
  }
  /* Capped without cutting a UTF-8 sequence. */
  char small[6];
  vd_http_sanitize_filename("ab\xc3\xa9\xc3\xa9", small, sizeof(small));
  assert_string_equal(small, "ab\xc3\xa9");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_random_splits),
      cmocka_unit_test(test_boundary),
      cmocka_unit_test(test_urlencoded),
      cmocka_unit_test(test_sanitize),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
