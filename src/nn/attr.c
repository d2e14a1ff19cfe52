/*
 * attr: reading TensorFlow node attributes as TF.js writes them in
 * model.json: {"s": base64}, {"i": "123"}, {"b": true}, {"f": 0.5},
 * {"list": {"i": [...]} or {"s": [...]}}. Every reader validates the JSON
 * type and the size and returns -1 instead of guessing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_int.h"

/* ---- attribute helpers ------------------------------------------------------- */

json_t *vd__nn_attr_get(json_t *attr, const char *key) {
  return json_is_object(attr) ? json_object_get(attr, key) : NULL;
}

static int b64val(int c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+' || c == '-')
    return 62;
  if (c == '/' || c == '_')
    return 63;
  return -1;
}

/* Base64 (standard or URL alphabet, padding optional) into buf, NUL-terminated. */
static int b64_decode(const char *s, char *buf, size_t len) {
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (; *s && *s != '='; s++) {
    int v = b64val((unsigned char)*s);
    if (v < 0)
      return -1;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o + 1 >= len)
        return -1;
      buf[o++] = (char)((acc >> bits) & 0xff);
    }
  }
  buf[o] = '\0';
  return 0;
}

int vd__nn_attr_str(json_t *attr, const char *key, char *buf, size_t len) {
  json_t *v = json_object_get(vd__nn_attr_get(attr, key), "s");
  if (!json_is_string(v) || len == 0)
    return -1;
  return b64_decode(json_string_value(v), buf, len);
}

int vd__nn_json_int64(json_t *v, int64_t *out) {
  if (json_is_integer(v)) {
    *out = (int64_t)json_integer_value(v);
    return 0;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end)
      return -1;
    *out = x;
    return 0;
  }
  return -1;
}

int vd__nn_attr_int(json_t *attr, const char *key, int64_t *v) {
  return vd__nn_json_int64(json_object_get(vd__nn_attr_get(attr, key), "i"), v);
}

int vd__nn_attr_bool(json_t *attr, const char *key, int *v) {
  json_t *b = json_object_get(vd__nn_attr_get(attr, key), "b");
  if (!json_is_boolean(b))
    return -1;
  *v = json_is_true(b);
  return 0;
}

int vd__nn_attr_float(json_t *attr, const char *key, float *v) {
  json_t *f = json_object_get(vd__nn_attr_get(attr, key), "f");
  if (!json_is_number(f))
    return -1;
  *v = (float)json_number_value(f);
  return 0;
}

int vd__nn_attr_ints(json_t *attr, const char *key, int64_t *v, int n) {
  json_t *list = json_object_get(vd__nn_attr_get(attr, key), "list");
  if (!json_is_object(list))
    return -1;
  json_t *arr = json_object_get(list, "i");
  if (!arr)
    return 0; /* an empty list is written as {} */
  if (!json_is_array(arr) || (int)json_array_size(arr) > n)
    return -1;
  for (size_t i = 0; i < json_array_size(arr); i++)
    if (vd__nn_json_int64(json_array_get(arr, i), &v[i]) != 0)
      return -1;
  return (int)json_array_size(arr);
}

int vd__nn_attr_strs(json_t *attr, const char *key, char (*out)[32], int n) {
  json_t *list = json_object_get(vd__nn_attr_get(attr, key), "list");
  if (!json_is_object(list))
    return -1;
  json_t *arr = json_object_get(list, "s");
  if (!arr)
    return 0;
  if (!json_is_array(arr) || (int)json_array_size(arr) > n)
    return -1;
  for (size_t i = 0; i < json_array_size(arr); i++) {
    const char *s = json_string_value(json_array_get(arr, i));
    if (!s || b64_decode(s, out[i], 32) != 0)
      return -1;
  }
  return (int)json_array_size(arr);
}

