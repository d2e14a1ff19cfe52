/* main.c: `vidan <command>` dispatch. Each command lives in cmd_<verb>.c. */
#include <stdio.h>
#include <string.h>

#include <libavutil/log.h>

#include "cli/cli.h"
#include "core/log.h"

static const struct {
  const char *name;
  int (*fn)(int, char **);
  const char *help;
} commands[] = {
    {"probe", vd_cmd_probe, "describe a media file (container, streams, rates, rotation)"},
    {"scenes", vd_cmd_scenes, "detect shots; print JSON, CSV or EDL; thumbnails; split clips"},
    {"analyze", vd_cmd_analyze, "run any set of analyses in one decode pass"},
    {"analyses", vd_cmd_list, "list the analyses and their parameters"},
    {"dup", vd_cmd_dup, "near-duplicate check of files against each other (picture + sound)"},
    {"serve", vd_cmd_serve, "run the HTTP API, web page and job workers"},
    {"search", vd_cmd_search, "find where words were said, shown or named in the library"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: vidan <command> [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf(f, "\n'vidan <command> --help' describes each command.\n"
             "Results go to stdout, logs and progress to stderr (VIDAN_LOG=error|warn|info|debug).\n"
             "Exit codes: 0 ok, 1 processing failed, 2 usage error, 3 input refused (missing,\n"
             "empty, not media, unsupported, over a limit), 4 input truncated or corrupt\n"
             "(partial results printed), 130 interrupted.\n");
}

int main(int argc, char **argv) {
  /* FFmpeg's own chatter goes to stderr only when asked for. */
  av_log_set_level(vd_log_enabled(VD_LOG_DEBUG) ? AV_LOG_INFO : AV_LOG_QUIET);
  if (argc < 2) {
    usage(stderr);
    return VD_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return VD_EXIT_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("vidan %s\n", VD_VERSION);
    return VD_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (!strcmp(argv[1], commands[i].name))
      return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "vidan: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return VD_EXIT_USAGE;
}
