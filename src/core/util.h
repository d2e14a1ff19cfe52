/*
 * util: small helpers with no app types: checked allocation, timecodes,
 * directories, whole-file writes.
 *
 * Allocation helpers abort on OOM: they are for small internal sizes only.
 * Sizes that come from a client or a file must be capped by the caller first.
 * Returned heap pointers belong to the caller. Thread-safe.
 */
#ifndef VD_CORE_UTIL_H
#define VD_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

void *vd_xmalloc(size_t n);
void *vd_xcalloc(size_t n, size_t size);
void *vd_xrealloc(void *p, size_t n);
char *vd_xstrdup(const char *s);
/* printf into a fresh heap string. */
char *vd_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "HH:MM:SS.mmm" for `secs` >= 0 (negative is clamped to 0). buf >= 16 bytes. */
void vd_timecode(double secs, char *buf, size_t len);
/* SMPTE "HH:MM:SS:FF" at integer-ish `fps` (non-drop). buf >= 16 bytes. */
void vd_timecode_smpte(int64_t frame, double fps, char *buf, size_t len);

/* mkdir -p. Returns 0 or -errno. */
int vd_mkdirs(const char *path) VD_WUR;

/*
 * Writes `len` bytes to `path` atomically: a temp file in the same folder,
 * fsync, rename. A reader never sees a half-written file.
 */
int vd_write_file_atomic(const char *path, const void *data, size_t len) VD_WUR;

/* Seconds from a monotonic clock. */
double vd_now(void);

/* Number of online CPUs, at least 1. */
int vd_ncpu(void);

#endif
