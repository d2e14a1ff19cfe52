/* cmd_scenes.c: placeholder until the scenes analysis lands. */
#include <stdio.h>

#include "cli/cli.h"

int vd_cmd_scenes(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "vidan: scenes: not built yet\n");
  return VD_EXIT_FAIL;
}
