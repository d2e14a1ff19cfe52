/*
 * params.c: typed analysis parameters. Values arrive as JSON from the API or
 * as strings from the CLI (--param name=value is passed through as a JSON
 * string); both are checked against the analysis's table, so every way in
 * gets the same validation and the same error text.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "core/log.h"
#include "core/util.h"

static int enum_has(const char *choices, const char *v) {
  size_t n = strlen(v);
  for (const char *p = choices; p && *p;) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && !strncmp(p, v, n))
      return 1;
    p = bar ? bar + 1 : NULL;
  }
  return 0;
}

static char *param_names(const struct vd_analysis_def *def) {
  size_t cap = 256, len = 0;
  char *s = vd_xmalloc(cap);
  s[0] = '\0';
  for (const struct vd_param_def *p = def->params; p && p->name; p++) {
    size_t need = len + strlen(p->name) + 3;
    if (need > cap) {
      cap = need * 2;
      s = vd_xrealloc(s, cap);
    }
    len += (size_t)snprintf(s + len, cap - len, "%s%s", len ? ", " : "", p->name);
  }
  if (!len) {
    free(s);
    return vd_xstrdup("(none)");
  }
  return s;
}

/* Parses one value (JSON of any type, or text) into a JSON of the param type. */
static int coerce(const struct vd_analysis_def *def, const struct vd_param_def *p, json_t *v,
                  json_t **out, struct vd_err *err) {
  const char *text = json_is_string(v) ? json_string_value(v) : NULL;
  switch (p->type) {
  case VD_PARAM_INT:
  case VD_PARAM_NUM: {
    double d;
    if (json_is_number(v)) {
      d = json_number_value(v);
    } else if (text && *text) {
      char *end;
      errno = 0;
      d = strtod(text, &end);
      if (errno || *end)
        goto bad;
    } else {
      goto bad;
    }
    if (!isfinite(d))
      goto bad;
    if (p->type == VD_PARAM_INT && d != floor(d))
      goto bad;
    if (p->min <= p->max && (d < p->min || d > p->max))
      return vd_err_set(err, VD_ERR_INVALID, "%s: parameter '%s' = %g is out of range [%g, %g]",
                        def->name, p->name, d, p->min, p->max);
    *out = p->type == VD_PARAM_INT ? json_integer((json_int_t)d) : json_real(d);
    return 0;
  }
  case VD_PARAM_BOOL:
    if (json_is_boolean(v)) {
      *out = json_boolean(json_is_true(v));
      return 0;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
      *out = json_boolean(json_integer_value(v));
      return 0;
    }
    if (text && (!strcmp(text, "true") || !strcmp(text, "1") || !strcmp(text, "yes") || !strcmp(text, "on"))) {
      *out = json_true();
      return 0;
    }
    if (text && (!strcmp(text, "false") || !strcmp(text, "0") || !strcmp(text, "no") || !strcmp(text, "off"))) {
      *out = json_false();
      return 0;
    }
    goto bad;
  case VD_PARAM_STR:
    if (!text)
      goto bad;
    if (strlen(text) > 4096)
      return vd_err_set(err, VD_ERR_INVALID, "%s: parameter '%s' is too long", def->name, p->name);
    *out = json_string(text);
    return 0;
  case VD_PARAM_ENUM:
    if (!text || !enum_has(p->choices, text))
      return vd_err_set(err, VD_ERR_INVALID, "%s: parameter '%s' must be one of %s", def->name,
                        p->name, p->choices);
    *out = json_string(text);
    return 0;
  }
bad:
  return vd_err_set(err, VD_ERR_INVALID, "%s: parameter '%s' must be %s", def->name, p->name,
                    p->type == VD_PARAM_INT    ? "an integer"
                    : p->type == VD_PARAM_NUM  ? "a number"
                    : p->type == VD_PARAM_BOOL ? "true or false"
                                               : "a string");
}

int vd_params_resolve(const struct vd_analysis_def *def, json_t *params, json_t **out,
                      struct vd_err *err) {
  json_t *res = json_object();
  int ret = 0;
  if (params && !json_is_object(params)) {
    ret = vd_err_set(err, VD_ERR_INVALID, "%s: parameters must be an object", def->name);
    goto out;
  }
  const char *key;
  json_t *val;
  json_object_foreach(params, key, val) {
    const struct vd_param_def *p = def->params;
    while (p && p->name && strcmp(p->name, key))
      p++;
    if (!p || !p->name) {
      char *names = param_names(def);
      ret = vd_err_set(err, VD_ERR_INVALID, "%s: unknown parameter '%s' (valid: %s)", def->name,
                       key, names);
      free(names);
      goto out;
    }
    json_t *c = NULL;
    if ((ret = coerce(def, p, val, &c, err)) < 0)
      goto out;
    json_object_set_new(res, key, c);
  }
  for (const struct vd_param_def *p = def->params; p && p->name; p++) {
    if (json_object_get(res, p->name))
      continue;
    json_t *c = NULL;
    if (!p->def) {
      json_object_set_new(res, p->name, json_null());
      continue;
    }
    json_t *d = json_string(p->def);
    ret = coerce(def, p, d, &c, err);
    json_decref(d);
    VD_ASSERT(ret == 0); /* a bad default is a bug in the table */
    json_object_set_new(res, p->name, c);
  }
  *out = res;
  res = NULL;
out:
  json_decref(res);
  return ret;
}

json_t *vd_params_describe(const struct vd_analysis_def *def) {
  static const char *const tn[] = {"integer", "number", "boolean", "string", "string"};
  json_t *props = json_object();
  for (const struct vd_param_def *p = def->params; p && p->name; p++) {
    json_t *o = json_pack("{s:s, s:s}", "type", tn[p->type], "description", p->help ? p->help : "");
    if (p->def) {
      json_t *c = NULL, *d = json_string(p->def);
      if (coerce(def, p, d, &c, NULL) == 0)
        json_object_set_new(o, "default", c);
      json_decref(d);
    }
    if ((p->type == VD_PARAM_INT || p->type == VD_PARAM_NUM) && p->min <= p->max) {
      json_object_set_new(o, "minimum", json_real(p->min));
      json_object_set_new(o, "maximum", json_real(p->max));
    }
    if (p->type == VD_PARAM_ENUM) {
      json_t *e = json_array();
      for (const char *s = p->choices; s && *s;) {
        const char *bar = strchr(s, '|');
        size_t len = bar ? (size_t)(bar - s) : strlen(s);
        json_array_append_new(e, json_stringn(s, len));
        s = bar ? bar + 1 : NULL;
      }
      json_object_set_new(o, "enum", e);
    }
    json_object_set_new(props, p->name, o);
  }
  json_t *deps = json_array();
  for (const char *const *d = def->deps; d && *d; d++)
    json_array_append_new(deps, json_string(*d));
  json_t *d = json_pack("{s:s, s:s, s:s, s:o, s:b, s:o}", "name", def->name, "description",
                        def->summary ? def->summary : "", "type", "object", "properties", props,
                        "additionalProperties", 0, "x-depends-on", deps);
  if (def->internal)
    json_object_set_new(d, "x-internal", json_true());
  return d;
}
