/*
 * cmd_scenes.c: `vidan scenes FILE` — shot detection with PySceneDetect's
 * detector names, parameter names and defaults, printed as JSON, CSV
 * (PySceneDetect list-scenes columns) or a CMX 3600 EDL; optionally with
 * one thumbnail per scene and one clip per scene.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/scenes_out.h"
#include "cli/cli.h"
#include "core/util.h"

static void help(void) {
  printf("usage: vidan scenes FILE [options]\n\n"
         "Detects shot changes in one decode pass.\n\n"
         "  --detector NAME      content (default), adaptive or threshold (fades to black)\n"
         "  --threshold N        content: 27, adaptive: 3.0, threshold: 12 (PySceneDetect's)\n"
         "  --min-scene-len N    minimum scene length in frames (default 15)\n"
         "  --no-flash-filter    let camera flashes cut scenes\n"
         "  --format FMT         json (default), csv (PySceneDetect list-scenes columns), edl\n"
         "  --thumbnails DIR     write one JPEG per scene into DIR\n"
         "  --split DIR          write one clip per scene into DIR (stream copy: each clip\n"
         "                       starts at the keyframe at or before its scene)\n"
         "  --accurate           with --split: re-encode so clips are frame-exact\n\n"
         "Frame numbers are decoded-frame indices from 0; times are seconds from the\n"
         "container start (real timestamps, so variable frame rate is exact).\n");
}

/* Moves clip artifacts from the run folder to the --split folder. */
static int move_clips(json_t *res, const char *from, const char *to) {
  json_t *files = json_object_get(json_object_get(res, "artifacts"), "clips"), *f;
  size_t i;
  if (vd_mkdirs(to) < 0) {
    fprintf(stderr, "vidan: cannot create %s\n", to);
    return -1;
  }
  json_array_foreach(files, i, f) {
    char *a = vd_xasprintf("%s/%s", from, json_string_value(f));
    char *b = vd_xasprintf("%s/%s", to, json_string_value(f));
    int r = rename(a, b);
    if (r != 0)
      fprintf(stderr, "vidan: cannot move %s to %s: %s\n", a, b, strerror(errno));
    free(a);
    free(b);
    if (r != 0)
      return -1;
  }
  return 0;
}

int vd_cmd_scenes(int argc, char **argv) {
  static const struct option opts[] = {{"detector", required_argument, NULL, 'd'},
                                       {"threshold", required_argument, NULL, 't'},
                                       {"min-scene-len", required_argument, NULL, 'm'},
                                       {"no-flash-filter", no_argument, NULL, 'F'},
                                       {"format", required_argument, NULL, 'f'},
                                       {"thumbnails", required_argument, NULL, 'T'},
                                       {"split", required_argument, NULL, 's'},
                                       {"accurate", no_argument, NULL, 'a'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *format = "json", *thumbs = NULL, *split = NULL;
  int accurate = 0, c, code = VD_EXIT_USAGE;
  json_t *sp = json_object(), *res = NULL;
  char *tmpdir = NULL;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'd':
      json_object_set_new(sp, "detector", json_string(optarg));
      break;
    case 't':
      json_object_set_new(sp, "threshold", json_string(optarg));
      break;
    case 'm':
      json_object_set_new(sp, "min_scene_len", json_string(optarg));
      break;
    case 'F':
      json_object_set_new(sp, "flash_filter", json_false());
      break;
    case 'f':
      format = optarg;
      break;
    case 'T':
      thumbs = optarg;
      break;
    case 's':
      split = optarg;
      break;
    case 'a':
      accurate = 1;
      break;
    case 'h':
      help();
      code = VD_EXIT_OK;
      goto out;
    default:
      goto out;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "usage: vidan scenes FILE [options] (see --help)\n");
    goto out;
  }
  if (strcmp(format, "json") && strcmp(format, "csv") && strcmp(format, "edl")) {
    fprintf(stderr, "vidan: --format must be json, csv or edl\n");
    goto out;
  }
  if (accurate && !split) {
    fprintf(stderr, "vidan: --accurate only applies with --split DIR\n");
    goto out;
  }
  json_object_set_new(sp, "thumbnails", json_boolean(thumbs != NULL));
  /* One run has one artifact folder: thumbnails go there directly; clips
   * go there too and are moved when --split names another folder. */
  const char *outdir = thumbs ? thumbs : split;
  json_t *params = json_pack("{s:O}", "scenes", sp);
  const char *names[2] = {"scenes", "clips"};
  if (split)
    json_object_set_new(params, "clips", json_pack("{s:b}", "accurate", accurate));
  struct vd_media_limits lim;
  vd_cli_limits(&lim);
  struct vd_run_opts o = {.input = argv[optind], .analyses = names, .n_analyses = split ? 2 : 1,
                          .params = params, .outdir = outdir, .limits = &lim};
  code = vd_cli_run(&o, &res);
  json_decref(params);
  if (!res)
    goto out;
  json_t *scenes = json_object_get(json_object_get(res, "results"), "scenes");
  if (!json_is_object(scenes)) {
    fprintf(stderr, "vidan: no scenes: %s has no video stream\n", argv[optind]);
    code = VD_EXIT_INPUT;
    goto out;
  }
  if (split && thumbs && strcmp(split, thumbs) && move_clips(res, thumbs, split) < 0) {
    code = VD_EXIT_FAIL;
    goto out;
  }
  if (!strcmp(format, "csv")) {
    if (vd_scenes_write_csv(scenes, stdout) < 0)
      code = VD_EXIT_FAIL;
  } else if (!strcmp(format, "edl")) {
    char *copy = vd_xstrdup(argv[optind]);
    if (vd_scenes_write_edl(scenes, basename(copy), stdout) < 0)
      code = VD_EXIT_FAIL;
    free(copy);
  } else {
    json_t *out = json_deep_copy(scenes);
    if (split)
      json_object_set(out, "clips", json_object_get(json_object_get(res, "results"), "clips"));
    vd_cli_print_json(out);
    json_decref(out);
  }
out:
  free(tmpdir);
  json_decref(res);
  json_decref(sp);
  return code;
}
