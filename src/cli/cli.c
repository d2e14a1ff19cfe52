/* cli.c: shared CLI plumbing; see cli.h. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/util.h"

int vd_cli_exit_code(int err) {
  switch (err) {
  case 0:
    return VD_EXIT_OK;
  case VD_ERR_INVALID:
    return VD_EXIT_USAGE;
  case VD_ERR_NOT_MEDIA:
  case VD_ERR_NO_STREAM:
  case VD_ERR_UNSUPPORTED:
  case VD_ERR_LIMIT:
  case VD_ERR_EMPTY:
  case VD_ERR_CORRUPT:
  case VD_ERR_NOT_FOUND:
    return VD_EXIT_INPUT;
  case VD_ERR_CANCELED:
    return VD_EXIT_INTERRUPTED;
  default:
    /* Missing file or permission: the input's fault, not ours. */
    if (err == -2 /* ENOENT */ || err == -13 /* EACCES */ || err == -21 /* EISDIR */)
      return VD_EXIT_INPUT;
    return VD_EXIT_FAIL;
  }
}

static double env_num(const char *name, double def) {
  const char *v = getenv(name);
  if (!v || !*v)
    return def;
  char *end;
  double d = strtod(v, &end);
  return (*end || d < 0) ? def : d;
}

void vd_cli_limits(struct vd_media_limits *l) {
  vd_media_limits_default(l);
  l->max_width = (int)env_num("VIDAN_MAX_WIDTH", l->max_width);
  l->max_height = (int)env_num("VIDAN_MAX_HEIGHT", l->max_height);
  l->max_pixels = (int64_t)env_num("VIDAN_MAX_PIXELS", (double)l->max_pixels);
  l->max_duration = env_num("VIDAN_MAX_DURATION", l->max_duration);
}

struct bar {
  int tty;
  int drawn;
};

static void draw(void *opaque, double frac, const char *stage) {
  struct bar *b = opaque;
  if (!b->tty)
    return;
  int width = 30, fill = (int)(frac * width + 0.5);
  char line[160];
  int n = snprintf(line, sizeof(line), "\r[");
  for (int i = 0; i < width; i++)
    line[n++] = i < fill ? '#' : '.';
  snprintf(line + n, sizeof(line) - (size_t)n, "] %3d%% %-40.40s", (int)(frac * 100 + 0.5),
           stage ? stage : "");
  fputs(line, stderr);
  fflush(stderr);
  b->drawn = 1;
}

static struct vd_run *volatile g_run;
static volatile sig_atomic_t g_interrupted;

static void on_sigint(int sig) {
  (void)sig;
  g_interrupted = 1;
  struct vd_run *r = g_run;
  if (r)
    vd_run_cancel(r); /* one lock-free atomic store: async-signal-safe */
}

int vd_cli_run(struct vd_run_opts *o, json_t **result) {
  struct bar b = {.tty = isatty(2)};
  struct vd_err err;
  struct vd_run *r = NULL;
  vd_err_clear(&err);
  *result = NULL;
  o->progress = draw;
  o->progress_opaque = &b;
  int ret = vd_run_new(&r, o, &err);
  if (ret < 0) {
    fprintf(stderr, "vidan: %s\n", vd_err_msg(&err, ret));
    return vd_cli_exit_code(ret);
  }
  struct sigaction sa = {.sa_handler = on_sigint}, old;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  g_run = r;
  ret = vd_run_exec(r, result, &err);
  g_run = NULL;
  sigaction(SIGINT, &old, NULL);
  if (b.drawn)
    fputs("\r\033[K", stderr);
  if (ret < 0) {
    fprintf(stderr, "vidan: %s\n", g_interrupted ? "interrupted" : vd_err_msg(&err, ret));
    vd_run_free(r);
    return g_interrupted ? VD_EXIT_INTERRUPTED : vd_cli_exit_code(ret);
  }
  int code = VD_EXIT_OK;
  json_t *w;
  size_t i;
  json_array_foreach(json_object_get(*result, "warnings"), i, w)
    fprintf(stderr, "vidan: warning: %s\n", json_string_value(w));
  if (json_is_true(json_object_get(*result, "incomplete"))) {
    fprintf(stderr, "vidan: %s is truncated or corrupt: results cover only what decoded\n", o->input);
    code = VD_EXIT_INCOMPLETE;
  }
  vd_run_free(r);
  return code;
}

void vd_cli_print_json(json_t *j) {
  json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
  fputc('\n', stdout);
  fflush(stdout);
}
