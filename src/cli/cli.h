/*
 * cli.h: what the CLI commands share: exit codes, limits from the
 * environment, the progress bar, and running a vd_run with Ctrl-C support.
 * Public module headers only (like curl's src/ vs lib/).
 *
 * Exit codes (documented in README and --help):
 *   0  success
 *   1  processing failed (decode, encode, I/O, internal)
 *   2  usage error: bad option, unknown analysis or parameter
 *   3  input refused: missing, empty, not media, unsupported, over a limit
 *   4  finished, but the input is truncated or corrupt: results cover only
 *      the part that decoded, and warnings say where it stopped
 *   130 interrupted (Ctrl-C)
 */
#ifndef VD_CLI_CLI_H
#define VD_CLI_CLI_H

#include <jansson.h>

#include "analyze/analyze.h"

enum {
  VD_EXIT_OK = 0,
  VD_EXIT_FAIL = 1,
  VD_EXIT_USAGE = 2,
  VD_EXIT_INPUT = 3,
  VD_EXIT_INCOMPLETE = 4,
  VD_EXIT_INTERRUPTED = 130,
};

/* Exit code for a vd error code. */
int vd_cli_exit_code(int err);

/* Limits from VIDAN_MAX_WIDTH / _HEIGHT / _PIXELS / _DURATION over defaults. */
void vd_cli_limits(struct vd_media_limits *l);

/*
 * Runs `o` with a progress bar on stderr when it is a terminal, and Ctrl-C
 * cancelling. Prints the error on failure. On success *result is the run's
 * JSON (caller owns). Returns an exit code.
 */
int vd_cli_run(struct vd_run_opts *o, json_t **result);

/* Prints JSON to stdout, indented, with a trailing newline. */
void vd_cli_print_json(json_t *j);

int vd_cmd_probe(int argc, char **argv);
int vd_cmd_scenes(int argc, char **argv);
int vd_cmd_analyze(int argc, char **argv);
int vd_cmd_list(int argc, char **argv);
int vd_cmd_serve(int argc, char **argv);
int vd_cmd_search(int argc, char **argv);
int vd_cmd_dup(int argc, char **argv);

#endif
