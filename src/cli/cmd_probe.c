/* cmd_probe.c: `vidan probe FILE` prints the probe analysis as JSON. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"

int vd_cmd_probe(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 'h') {
      printf("usage: vidan probe FILE\n\n"
             "Prints container, duration, frame rates, frame count, resolution, display\n"
             "aspect, rotation, codecs, bit rates, audio layout and every stream as JSON.\n"
             "Reads headers only: no decoding.\n");
      return VD_EXIT_OK;
    }
    return VD_EXIT_USAGE;
  }
  if (optind != argc - 1) {
    fprintf(stderr, "usage: vidan probe FILE\n");
    return VD_EXIT_USAGE;
  }
  struct vd_media_limits lim;
  vd_cli_limits(&lim);
  const char *names[] = {"probe"};
  struct vd_run_opts o = {.input = argv[optind], .analyses = names, .n_analyses = 1, .limits = &lim};
  json_t *res = NULL;
  int code = vd_cli_run(&o, &res);
  if (res)
    vd_cli_print_json(json_object_get(json_object_get(res, "results"), "probe"));
  json_decref(res);
  return code;
}
