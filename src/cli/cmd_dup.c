/*
 * cmd_dup.c: `vidan dup A B C ...` fingerprints each file in order (one
 * decode each, through the `fingerprint` analysis), checks each against
 * every file before it with the same index the service keeps, and prints
 * a table or (--json) one result per file in the `duplicates` analysis's
 * form, with file names as ids.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/util.h"
#include "dup/dup.h"

static void help(void) {
  printf("usage: vidan dup FILE1 FILE2 [FILE...] [--json]\n\n"
         "Near-duplicate check by picture and sound. Each file is fingerprinted in\n"
         "order and compared with every file before it. Verdicts:\n"
         "  duplicate      picture and sound agree (re-encodes, crops, borders, mirroring,\n"
         "                 fragments, overlays, colour and small speed changes)\n"
         "  same_picture   hard case: the picture agrees, the sound does not\n"
         "  same_sound     hard case: the sound agrees, the picture does not\n"
         "  none           unrelated to every earlier file\n\n"
         "  --json   one JSON document: {\"files\": [{\"file\", \"is_duplicate\",\n"
         "           \"duplicate_for\", \"hard_cases\", \"matches\", \"compared_with\"}]}\n"
         "The table's picture/sound columns are similarities (0..1, '-' = a side has\n"
         "none); offset is seconds into the earlier file where this one starts.\n"
         "A file that cannot be read is reported and skipped; the exit code is then\n"
         "that of the first failure (see 'vidan --help').\n");
}

/* Fingerprints one file; an exit code, and *fp on success. */
static int fingerprint(const char *path, struct vd_fp **fp) {
  const char *names[1] = {"fingerprint"};
  struct vd_media_limits lim;
  json_t *res = NULL;
  vd_cli_limits(&lim);
  struct vd_run_opts o = {.input = path, .analyses = names, .n_analyses = 1, .limits = &lim};
  int code = vd_cli_run(&o, &res);
  *fp = NULL;
  if (res) {
    struct vd_err err;
    vd_err_clear(&err);
    json_t *r = json_object_get(json_object_get(res, "results"), "fingerprint");
    int ret = vd_fp_from_result(r, fp, &err);
    if (ret < 0) {
      fprintf(stderr, "vidan: %s: %s\n", path, vd_err_msg(&err, ret));
      code = VD_EXIT_FAIL;
    }
  }
  json_decref(res);
  return code;
}

static void print_row(const char *file, json_t *r) {
  json_t *best = json_array_get(json_object_get(r, "matches"), 0);
  const char *err = json_string_value(json_object_get(r, "error"));
  if (err) {
    printf("%-32s  %-12s  %s\n", file, "error", err);
    return;
  }
  if (!best) {
    printf("%-32s  %-12s\n", file, "none");
    return;
  }
  char p[16] = "-", s[16] = "-";
  json_t *pj = json_object_get(best, "picture"), *sj = json_object_get(best, "sound");
  if (json_is_number(pj))
    snprintf(p, sizeof(p), "%.2f", json_number_value(pj));
  if (json_is_number(sj))
    snprintf(s, sizeof(s), "%.2f", json_number_value(sj));
  printf("%-32s  %-12s  %-32s  %7s  %7s  %8.2f\n", file,
         json_string_value(json_object_get(best, "verdict")),
         json_string_value(json_object_get(best, "id")), p, s,
         json_number_value(json_object_get(best, "offset")));
}

int vd_cmd_dup(int argc, char **argv) {
  static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int c, as_json = 0, code = VD_EXIT_OK;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 'j') {
      as_json = 1;
    } else if (c == 'h') {
      help();
      return VD_EXIT_OK;
    } else {
      return VD_EXIT_USAGE;
    }
  }
  if (argc - optind < 1) {
    fprintf(stderr, "usage: vidan dup FILE1 FILE2 [FILE...] [--json] (see --help)\n");
    return VD_EXIT_USAGE;
  }
  struct vd_dup_index *ix = vd_dup_index_new();
  json_t *files = json_array();
  if (!as_json)
    printf("%-32s  %-12s  %-32s  %7s  %7s  %8s\n", "file", "verdict", "of", "picture", "sound",
           "offset");
  for (int i = optind; i < argc; i++) {
    const char *path = argv[i];
    struct vd_fp *fp;
    json_t *r;
    int fc = fingerprint(path, &fp);
    if (fc == VD_EXIT_INTERRUPTED) {
      code = fc;
      break;
    }
    if (!fp) {
      r = json_pack("{s:s, s:s}", "file", path, "error", "could not be fingerprinted");
      if (code == VD_EXIT_OK)
        code = fc != VD_EXIT_OK ? fc : VD_EXIT_FAIL;
    } else {
      struct vd_dup_hit *hits = NULL;
      size_t n = 0, size = vd_dup_index_size(ix);
      struct vd_err err;
      vd_err_clear(&err);
      /* ids are the names as given; a name given twice is told apart */
      char *id = vd_dup_index_contains(ix, path) ? vd_xasprintf("%s#%d", path, i - optind + 1)
                                                 : vd_xstrdup(path);
      int ret = vd_dup_index_query(ix, fp, NULL, 10, &hits, &n, &err);
      if (ret < 0) {
        fprintf(stderr, "vidan: %s\n", vd_err_msg(&err, ret));
        vd_fp_free(fp);
        free(id);
        code = VD_EXIT_FAIL;
        break;
      }
      r = vd_dup_result_json(hits, n, size);
      json_object_set_new(r, "file", json_string(id));
      vd_dup_hits_free(hits, n);
      ret = vd_dup_index_add(ix, id, fp, &err);
      free(id);
      if (ret < 0) {
        fprintf(stderr, "vidan: %s\n", vd_err_msg(&err, ret));
        json_decref(r);
        code = VD_EXIT_FAIL;
        break;
      }
      if (fc != VD_EXIT_OK && code == VD_EXIT_OK)
        code = fc; /* truncated input: compared on what decoded */
    }
    if (!as_json)
      print_row(json_string_value(json_object_get(r, "file")), r);
    json_array_append_new(files, r);
  }
  if (as_json) {
    json_t *doc = json_pack("{s:O}", "files", files);
    vd_cli_print_json(doc);
    json_decref(doc);
  }
  json_decref(files);
  vd_dup_index_free(ix);
  return code;
}
