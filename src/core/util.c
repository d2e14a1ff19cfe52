/* util: see util.h. */
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

static void *oom(size_t n) {
  fprintf(stderr, "vidan: out of memory allocating %zu bytes\n", n);
  abort();
}

void *vd_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  return p ? p : oom(n);
}

void *vd_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  return p ? p : oom(n * size);
}

void *vd_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  return q ? q : oom(n);
}

char *vd_xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(vd_xmalloc(n), s, n);
}

char *vd_xasprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  VD_ASSERT(n >= 0);
  char *s = vd_xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

void vd_timecode(double secs, char *buf, size_t len) {
  if (!(secs > 0) || !isfinite(secs))
    secs = 0;
  /* Round to the millisecond first so 59.9996 s prints as 00:01:00.000. */
  int64_t ms = (int64_t)llround(secs * 1000.0);
  int64_t h = ms / 3600000, m = (ms / 60000) % 60, s = (ms / 1000) % 60;
  snprintf(buf, len, "%02lld:%02lld:%02lld.%03lld", (long long)h, (long long)m, (long long)s,
           (long long)(ms % 1000));
}

void vd_timecode_smpte(int64_t frame, double fps, char *buf, size_t len) {
  int64_t base = (int64_t)llround(fps > 0 ? fps : 25);
  if (base < 1)
    base = 1;
  if (frame < 0)
    frame = 0;
  int64_t ff = frame % base, total = frame / base;
  snprintf(buf, len, "%02lld:%02lld:%02lld:%02lld", (long long)(total / 3600),
           (long long)(total / 60 % 60), (long long)(total % 60), (long long)ff);
}

int vd_mkdirs(const char *path) {
  char tmp[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof(tmp))
    return -ENAMETOOLONG;
  memcpy(tmp, path, n + 1);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
      return -errno;
    *p = '/';
  }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
    return -errno;
  return 0;
}

int vd_write_file_atomic(const char *path, const void *data, size_t len) {
  char *tmp = vd_xasprintf("%s.tmp.%ld", path, (long)getpid());
  int ret = 0;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    ret = -errno;
    goto out;
  }
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      ret = -errno;
      goto out;
    }
    p += w;
    len -= (size_t)w;
  }
  if (fsync(fd) != 0) {
    ret = -errno;
    goto out;
  }
  if (close(fd) != 0) {
    fd = -1;
    ret = -errno;
    goto out;
  }
  fd = -1;
  if (rename(tmp, path) != 0)
    ret = -errno;
out:
  if (fd >= 0)
    close(fd);
  if (ret != 0)
    unlink(tmp);
  free(tmp);
  return ret;
}

double vd_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int vd_ncpu(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}
