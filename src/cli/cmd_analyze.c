/*
 * cmd_analyze.c: `vidan analyze FILE --analyses a,b,c [-o DIR] [--param
 * a.name=value]... [--params JSON]` runs any set of analyses in one decode
 * pass and prints the combined result as JSON.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/util.h"

static void help(void) {
  char *names = vd_analysis_names();
  printf("usage: vidan analyze FILE [--analyses LIST] [-o DIR] [--param A.NAME=VALUE]...\n"
         "                    [--params JSON]\n\n"
         "Runs the listed analyses (comma-separated; default: probe,scenes) over ONE decode\n"
         "pass; dependencies are added automatically. Prints one JSON document:\n"
         "{input, results: {analysis: ...}, artifacts, warnings, timings, incomplete}.\n\n"
         "  --analyses LIST   analyses to run. Available: %s\n"
         "  -o, --output DIR  write artifacts (thumbnails, CSV, clips, ...) and result.json\n"
         "  --param A.N=V     set parameter N of analysis A (repeatable)\n"
         "  --params JSON     all parameters at once: {\"scenes\": {\"threshold\": 30}}\n\n"
         "'vidan analyses' lists every analysis with its parameters.\n",
         names);
  free(names);
}

/* Splits "a,b,c" in place into argv-style pointers. */
static size_t split_list(char *s, const char **out, size_t max) {
  size_t n = 0;
  for (char *p = s; p && *p && n < max;) {
    char *comma = strchr(p, ',');
    if (comma)
      *comma = '\0';
    if (*p)
      out[n++] = p;
    p = comma ? comma + 1 : NULL;
  }
  return n;
}

/* "scenes.threshold=30" -> params["scenes"]["threshold"] = "30" (typed later). */
static int add_param(json_t *params, const char *spec) {
  const char *dot = strchr(spec, '.'), *eq = strchr(spec, '=');
  if (!dot || !eq || dot > eq || dot == spec || eq == dot + 1) {
    fprintf(stderr, "vidan: --param wants ANALYSIS.NAME=VALUE, got '%s'\n", spec);
    return -1;
  }
  char *an = vd_xasprintf("%.*s", (int)(dot - spec), spec);
  char *pn = vd_xasprintf("%.*s", (int)(eq - dot - 1), dot + 1);
  json_t *obj = json_object_get(params, an);
  if (!obj) {
    obj = json_object();
    json_object_set_new(params, an, obj);
  }
  json_object_set_new(obj, pn, json_string(eq + 1));
  free(an);
  free(pn);
  return 0;
}

int vd_cmd_analyze(int argc, char **argv) {
  static const struct option opts[] = {{"analyses", required_argument, NULL, 'a'},
                                       {"output", required_argument, NULL, 'o'},
                                       {"param", required_argument, NULL, 'p'},
                                       {"params", required_argument, NULL, 'P'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  char *list = NULL, *outdir = NULL;
  json_t *params = json_object(), *res = NULL;
  const char *names[64];
  int c, code = VD_EXIT_USAGE;
  optind = 1;
  while ((c = getopt_long(argc, argv, "a:o:h", opts, NULL)) != -1) {
    switch (c) {
    case 'a':
      free(list);
      list = vd_xstrdup(optarg);
      break;
    case 'o':
      outdir = optarg;
      break;
    case 'p':
      if (add_param(params, optarg) < 0)
        goto out;
      break;
    case 'P': {
      json_error_t je;
      json_t *p = json_loads(optarg, 0, &je);
      if (!json_is_object(p)) {
        fprintf(stderr, "vidan: --params must be a JSON object: %s\n", je.text);
        json_decref(p);
        goto out;
      }
      json_object_update_recursive(params, p);
      json_decref(p);
      break;
    }
    case 'h':
      help();
      code = VD_EXIT_OK;
      goto out;
    default:
      goto out;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "usage: vidan analyze FILE [--analyses LIST] [-o DIR] (see --help)\n");
    goto out;
  }
  if (!list)
    list = vd_xstrdup("probe,scenes");
  size_t n = split_list(list, names, 64);
  struct vd_media_limits lim;
  vd_cli_limits(&lim);
  struct vd_run_opts o = {.input = argv[optind], .analyses = names, .n_analyses = n,
                          .params = params, .outdir = outdir, .limits = &lim};
  code = vd_cli_run(&o, &res);
  if (res) {
    vd_cli_print_json(res);
    if (outdir) {
      char *path = vd_xasprintf("%s/result.json", outdir);
      char *text = json_dumps(res, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
      if (vd_write_file_atomic(path, text, strlen(text)) < 0) {
        fprintf(stderr, "vidan: cannot write %s\n", path);
        code = VD_EXIT_FAIL;
      }
      free(text);
      free(path);
    }
  }
out:
  json_decref(res);
  json_decref(params);
  free(list);
  return code;
}

int vd_cmd_list(int argc, char **argv) {
  (void)argc;
  (void)argv;
  size_t n;
  const struct vd_analysis_def *const *defs = vd_analysis_list(&n);
  json_t *all = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(all, vd_params_describe(defs[i]));
  vd_cli_print_json(all);
  json_decref(all);
  return VD_EXIT_OK;
}
