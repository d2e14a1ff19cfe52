/*
 * log: leveled logging to stderr. Results go to stdout; logs never do.
 *
 * The level comes from VIDAN_LOG (error|warn|info|debug), default "warn",
 * read once on first use. Thread-safe: each line is one fprintf call.
 */
#ifndef VD_CORE_LOG_H
#define VD_CORE_LOG_H

enum vd_log_level { VD_LOG_ERROR, VD_LOG_WARN, VD_LOG_INFO, VD_LOG_DEBUG };

void vd_log(enum vd_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vd_log_set_level(enum vd_log_level lvl);
int vd_log_enabled(enum vd_log_level lvl);

#define VD_ERROR(...) vd_log(VD_LOG_ERROR, __VA_ARGS__)
#define VD_WARN(...) vd_log(VD_LOG_WARN, __VA_ARGS__)
#define VD_INFO(...) vd_log(VD_LOG_INFO, __VA_ARGS__)
#define VD_DEBUG(...) vd_log(VD_LOG_DEBUG, __VA_ARGS__)

/* Bugs, never bad input: print where and abort. */
#define VD_ASSERT(x)                                                            \
  do {                                                                          \
    if (!(x))                                                                   \
      vd__assert_fail(#x, __FILE__, __LINE__);                                  \
  } while (0)
_Noreturn void vd__assert_fail(const char *expr, const char *file, int line);

#endif
