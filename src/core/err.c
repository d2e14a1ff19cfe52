/* err: error codes and messages; see err.h. */
#include "core/err.h"

#include <stdio.h>
#include <string.h>

static const char *const names[] = {
    [VD_ERR_INVALID - VD_ERR_FIRST] = "invalid argument",
    [VD_ERR_NOT_MEDIA - VD_ERR_FIRST] = "not a media file",
    [VD_ERR_NO_STREAM - VD_ERR_FIRST] = "no usable audio or video stream",
    [VD_ERR_UNSUPPORTED - VD_ERR_FIRST] = "unsupported codec or feature",
    [VD_ERR_LIMIT - VD_ERR_FIRST] = "configured limit exceeded",
    [VD_ERR_CORRUPT - VD_ERR_FIRST] = "corrupt data",
    [VD_ERR_DECODE - VD_ERR_FIRST] = "decoding failed",
    [VD_ERR_ENCODE - VD_ERR_FIRST] = "encoding failed",
    [VD_ERR_CANCELED - VD_ERR_FIRST] = "canceled",
    [VD_ERR_NOT_FOUND - VD_ERR_FIRST] = "not found",
    [VD_ERR_EMPTY - VD_ERR_FIRST] = "empty input",
    [VD_ERR_INTERNAL - VD_ERR_FIRST] = "internal error",
};

const char *vd_strerror(int code) {
  if (code == 0)
    return "success";
  if (code >= VD_ERR_FIRST && code <= VD_ERR_LAST)
    return names[code - VD_ERR_FIRST];
  if (code < 0 && code > -4096)
    return strerror(-code); /* glibc's table is static and thread-safe for read */
  return "unknown error";
}

void vd_err_clear(struct vd_err *e) {
  if (!e)
    return;
  e->code = 0;
  e->msg[0] = '\0';
}

int vd_err_set(struct vd_err *e, int code, const char *fmt, ...) {
  if (!e || e->code != 0)
    return code;
  e->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
  va_end(ap);
  return code;
}

const char *vd_err_msg(const struct vd_err *e, int code) {
  if (e && e->code != 0 && e->msg[0])
    return e->msg;
  return vd_strerror(code);
}
