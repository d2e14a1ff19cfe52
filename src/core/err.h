/*
 * err: vidan's error codes and the error value that carries a message.
 *
 * Functions return int: 0 on success, a negative code on failure. Negated
 * errno values pass through unchanged; project codes live in the reserved
 * range [VD_ERR_FIRST, VD_ERR_LAST], all named by vd_strerror(). FFmpeg's
 * AVERROR codes are translated at the media boundary, never passed on.
 *
 * A `struct vd_err` travels beside the code to say *what* went wrong in words
 * a person can act on ("not a media file: foo.txt"). Every function taking a
 * `struct vd_err *` accepts NULL. The struct is caller-embedded (no heap).
 *
 * Thread-safety: all functions are reentrant.
 */
#ifndef VD_CORE_ERR_H
#define VD_CORE_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define VD_WUR __attribute__((warn_unused_result))

enum vd_errc {
  VD_ERR_FIRST = -20000,
  VD_ERR_INVALID = VD_ERR_FIRST, /* bad argument or parameter from a user */
  VD_ERR_NOT_MEDIA,              /* input is not something FFmpeg can read */
  VD_ERR_NO_STREAM,              /* media has no usable audio or video stream */
  VD_ERR_UNSUPPORTED,            /* codec or feature not supported */
  VD_ERR_LIMIT,                  /* a configured limit (size, dims, duration) was exceeded */
  VD_ERR_CORRUPT,                /* data is damaged beyond recovery */
  VD_ERR_DECODE,                 /* decoding failed */
  VD_ERR_ENCODE,                 /* encoding or muxing an output failed */
  VD_ERR_CANCELED,               /* cooperative cancellation was requested */
  VD_ERR_NOT_FOUND,              /* named thing does not exist */
  VD_ERR_EMPTY,                  /* input is empty */
  VD_ERR_INTERNAL,               /* a bug or an unexpected library failure */
  VD_ERR_LAST = VD_ERR_INTERNAL,
};

struct vd_err {
  int code;       /* 0 or a negative code */
  char msg[512];  /* human-readable, NUL-terminated, "" when unset */
};

/* Static description of a code (project, negated errno, or unknown). */
const char *vd_strerror(int code);

/* Reset to "no error". */
void vd_err_clear(struct vd_err *e);

/*
 * Records `code` and a printf-style message in `e` (if non-NULL) and returns
 * `code`, so callers can write `return vd_err_set(e, VD_ERR_LIMIT, "...")`.
 * Only the first error is kept: a later call does not overwrite an earlier
 * message, because the first failure is the one that explains the rest.
 */
int vd_err_set(struct vd_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message in `e`, or vd_strerror(code) when no message was set. */
const char *vd_err_msg(const struct vd_err *e, int code);

#endif
