/* blob.c: content-addressed blob folder; see blob.h for the design. */
#include "blob/blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

#define WBUF 65536

struct vd_blobs {
  char *dir;
  char *tmpdir;
};

struct vd_blob_writer {
  struct vd_blobs *b;
  int fd;
  char *tmp;
  int64_t size, max;
  struct vd_sha256 sha;
  size_t nbuf;
  unsigned char buf[WBUF]; /* batches small multipart pieces into fewer write()s */
};

int vd_blobs_open(struct vd_blobs **out, const char *dir, struct vd_err *err) {
  struct vd_blobs *b = vd_xcalloc(1, sizeof(*b));
  int ret;
  *out = NULL;
  b->dir = vd_xstrdup(dir);
  b->tmpdir = vd_xasprintf("%s/tmp", dir);
  if ((ret = vd_mkdirs(b->tmpdir)) < 0) {
    ret = vd_err_set(err, ret, "cannot create blob folder %s: %s", b->tmpdir, vd_strerror(ret));
    vd_blobs_free(b);
    return ret;
  }
  *out = b;
  return 0;
}

void vd_blobs_free(struct vd_blobs *b) {
  if (!b)
    return;
  free(b->dir);
  free(b->tmpdir);
  free(b);
}

int vd_blobs_sweep_tmp(struct vd_blobs *b, double age) {
  DIR *d = opendir(b->tmpdir);
  int n = 0;
  if (!d)
    return 0;
  struct dirent *e;
  time_t now = time(NULL);
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char *p = vd_xasprintf("%s/%s", b->tmpdir, e->d_name);
    struct stat st;
    if (!stat(p, &st) && difftime(now, st.st_mtime) >= age && !unlink(p))
      n++;
    free(p);
  }
  closedir(d);
  return n;
}

static int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  int ret = fsync(fd) ? -errno : 0;
  close(fd);
  return ret;
}

int vd_blob_writer_new(struct vd_blobs *b, int64_t max_size, struct vd_blob_writer **out,
                       struct vd_err *err) {
  struct vd_blob_writer *w = vd_xcalloc(1, sizeof(*w));
  w->b = b;
  w->max = max_size;
  w->tmp = vd_xasprintf("%s/up-XXXXXX", b->tmpdir);
  w->fd = mkostemp(w->tmp, O_CLOEXEC);
  if (w->fd < 0) {
    int ret = -errno;
    vd_err_set(err, ret, "cannot create temp file in %s: %s", b->tmpdir, vd_strerror(ret));
    free(w->tmp);
    free(w);
    *out = NULL;
    return ret;
  }
  vd_sha256_init(&w->sha);
  *out = w;
  return 0;
}

static int flush(struct vd_blob_writer *w, struct vd_err *err) {
  size_t off = 0;
  while (off < w->nbuf) {
    ssize_t n = write(w->fd, w->buf + off, w->nbuf - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return vd_err_set(err, -errno, "writing upload: %s", strerror(errno));
    off += (size_t)n;
  }
  w->nbuf = 0;
  return 0;
}

int vd_blob_write(struct vd_blob_writer *w, const void *data, size_t len, struct vd_err *err) {
  if (w->max > 0 && (int64_t)len > w->max - w->size)
    return vd_err_set(err, VD_ERR_LIMIT, "file is larger than the limit of %lld bytes",
                      (long long)w->max);
  vd_sha256_update(&w->sha, data, len);
  w->size += (int64_t)len;
  const unsigned char *p = data;
  while (len) {
    size_t take = WBUF - w->nbuf < len ? WBUF - w->nbuf : len;
    memcpy(w->buf + w->nbuf, p, take);
    w->nbuf += take;
    p += take;
    len -= take;
    if (w->nbuf == WBUF) {
      int ret = flush(w, err);
      if (ret < 0)
        return ret;
    }
  }
  return 0;
}

int64_t vd_blob_writer_size(const struct vd_blob_writer *w) { return w->size; }

const char *vd_blob_writer_tmp_path(struct vd_blob_writer *w, struct vd_err *err) {
  return flush(w, err) < 0 ? NULL : w->tmp;
}

char *vd_blob_path(const struct vd_blobs *b, const char *id) {
  return vd_xasprintf("%s/%.2s/%s", b->dir, id, id);
}

int vd_blob_exists(const struct vd_blobs *b, const char *id) {
  char *p = vd_blob_path(b, id);
  int ok = access(p, F_OK) == 0;
  free(p);
  return ok;
}

/* Moves the finished temp file `tmp` (already fsynced) to its final name. */
static int place(struct vd_blobs *b, const char *tmp, const char *id, int *existed,
                 struct vd_err *err) {
  char *sub = vd_xasprintf("%s/%.2s", b->dir, id);
  char *dst = vd_xasprintf("%s/%s", sub, id);
  int ret = 0;
  if (existed)
    *existed = 0;
  if ((ret = vd_mkdirs(sub)) < 0) {
    ret = vd_err_set(err, ret, "cannot create %s: %s", sub, vd_strerror(ret));
    goto out;
  }
  if (access(dst, F_OK) == 0) {
    unlink(tmp);
    if (existed)
      *existed = 1;
    goto out;
  }
  if (rename(tmp, dst) < 0) {
    ret = vd_err_set(err, -errno, "cannot store blob %s: %s", id, strerror(errno));
    unlink(tmp);
    goto out;
  }
  if ((ret = fsync_dir(sub)) < 0)
    vd_err_set(err, ret, "cannot sync %s: %s", sub, vd_strerror(ret));
out:
  free(sub);
  free(dst);
  return ret;
}

int vd_blob_commit(struct vd_blob_writer *w, char id[VD_BLOB_ID_LEN + 1], int *existed,
                   struct vd_err *err) {
  uint8_t dig[32];
  int ret = flush(w, err);
  if (ret < 0)
    goto fail;
  if (fsync(w->fd) < 0) {
    ret = vd_err_set(err, -errno, "cannot sync upload: %s", strerror(errno));
    goto fail;
  }
  close(w->fd);
  w->fd = -1;
  vd_sha256_final(&w->sha, dig);
  vd_sha256_hex(dig, id);
  ret = place(w->b, w->tmp, id, existed, err);
  free(w->tmp);
  free(w);
  return ret;
fail:
  vd_blob_abort(w);
  return ret;
}

void vd_blob_abort(struct vd_blob_writer *w) {
  if (!w)
    return;
  if (w->fd >= 0)
    close(w->fd);
  unlink(w->tmp);
  free(w->tmp);
  free(w);
}

/* Hashes `fd` from its start. */
static int hash_fd(int fd, uint8_t dig[32], int64_t *size) {
  struct vd_sha256 s;
  unsigned char *buf = vd_xmalloc(WBUF);
  int64_t total = 0;
  int ret = 0;
  vd_sha256_init(&s);
  for (;;) {
    ssize_t n = read(fd, buf, WBUF);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ret = -errno;
      break;
    }
    if (n == 0)
      break;
    vd_sha256_update(&s, buf, (size_t)n);
    total += n;
  }
  free(buf);
  vd_sha256_final(&s, dig);
  if (size)
    *size = total;
  return ret;
}

int vd_blob_adopt(struct vd_blobs *b, const char *path, char id[VD_BLOB_ID_LEN + 1],
                  int64_t *size, struct vd_err *err) {
  uint8_t dig[32];
  int ret;
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return vd_err_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
  if ((ret = hash_fd(fd, dig, size)) < 0 || (fsync(fd) < 0 && (ret = -errno))) {
    close(fd);
    return vd_err_set(err, ret, "cannot read %s: %s", path, vd_strerror(ret));
  }
  close(fd);
  vd_sha256_hex(dig, id);
  /* Same folder tree as the store in practice (work dirs live under var/). */
  return place(b, path, id, NULL, err);
}

int vd_blob_delete(struct vd_blobs *b, const char *id) {
  char *p = vd_blob_path(b, id);
  int ret = unlink(p) ? -errno : 0;
  free(p);
  return ret;
}

int vd_blob_verify(const struct vd_blobs *b, const char *id) {
  uint8_t dig[32];
  char hex[65];
  char *p = vd_blob_path(b, id);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  free(p);
  if (fd < 0)
    return -errno;
  int ret = hash_fd(fd, dig, NULL);
  close(fd);
  if (ret < 0)
    return ret;
  vd_sha256_hex(dig, hex);
  return strcmp(hex, id) ? VD_ERR_CORRUPT : 0;
}

int vd_blob_prefix_valid(const char *s) {
  size_t n = 0;
  for (; s[n]; n++) {
    char c = s[n];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return 0;
    if (n >= VD_BLOB_ID_LEN)
      return 0;
  }
  return n >= VD_BLOB_MIN_PREFIX;
}

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

int vd_blob_resolve(const struct vd_blobs *b, const char *prefix, char (*ids)[VD_BLOB_ID_LEN + 1],
                    size_t max, struct vd_err *err) {
  char low[VD_BLOB_ID_LEN + 1];
  if (!vd_blob_prefix_valid(prefix))
    return vd_err_set(err, VD_ERR_INVALID,
                      "'%.80s' is not an id: expected %d to %d hexadecimal characters", prefix,
                      VD_BLOB_MIN_PREFIX, VD_BLOB_ID_LEN);
  size_t n = strlen(prefix);
  for (size_t i = 0; i <= n; i++)
    low[i] = (char)(prefix[i] >= 'A' && prefix[i] <= 'F' ? prefix[i] - 'A' + 'a' : prefix[i]);
  char *sub = vd_xasprintf("%s/%.2s", b->dir, low);
  DIR *d = opendir(sub);
  free(sub);
  if (!d)
    return 0;
  size_t found = 0;
  struct dirent *e;
  while ((e = readdir(d)) && found <= max) {
    if (strlen(e->d_name) != VD_BLOB_ID_LEN || strncmp(e->d_name, low, n))
      continue;
    if (found < max)
      memcpy(ids[found], e->d_name, VD_BLOB_ID_LEN + 1);
    found++;
  }
  closedir(d);
  qsort(ids, found < max ? found : max, sizeof(ids[0]), cmp_id);
  return (int)found;
}
