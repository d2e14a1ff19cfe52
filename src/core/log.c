/* log: see log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int level = -1;

static int current(void) {
  int l = atomic_load(&level);
  if (l >= 0)
    return l;
  const char *env = getenv("VIDAN_LOG");
  l = VD_LOG_WARN;
  if (env) {
    if (!strcmp(env, "error"))
      l = VD_LOG_ERROR;
    else if (!strcmp(env, "info"))
      l = VD_LOG_INFO;
    else if (!strcmp(env, "debug"))
      l = VD_LOG_DEBUG;
  }
  atomic_store(&level, l);
  return l;
}

void vd_log_set_level(enum vd_log_level lvl) { atomic_store(&level, (int)lvl); }

int vd_log_enabled(enum vd_log_level lvl) { return (int)lvl <= current(); }

void vd_log(enum vd_log_level lvl, const char *fmt, ...) {
  static const char *const tag[] = {"error", "warning", "info", "debug"};
  if (!vd_log_enabled(lvl))
    return;
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fprintf(stderr, "vidan: %s: %s\n", tag[lvl], line);
}

void vd__assert_fail(const char *expr, const char *file, int line) {
  fprintf(stderr, "vidan: assertion failed: %s (%s:%d)\n", expr, file, line);
  abort();
}
