/*
 * testutil.h: helpers shared by unit tests: a temp folder that is removed at
 * exit, and generating media with the ffmpeg command-line tool (lavfi
 * sources), so tests need no checked-in media.
 * Header-only on purpose: each test is one translation unit.
 */
#ifndef VD_TESTUTIL_H
#define VD_TESTUTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char vd_test_dir[256];

static void vd_test_cleanup(void) {
  if (vd_test_dir[0]) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", vd_test_dir);
    if (system(cmd) != 0)
      fprintf(stderr, "cannot remove %s\n", vd_test_dir);
  }
}

/* A fresh temp folder for this test process. */
static const char *vd_test_tmpdir(void) {
  if (!vd_test_dir[0]) {
    snprintf(vd_test_dir, sizeof(vd_test_dir), "/tmp/vdtest.XXXXXX");
    if (!mkdtemp(vd_test_dir)) {
      perror("mkdtemp");
      exit(1);
    }
    atexit(vd_test_cleanup);
  }
  return vd_test_dir;
}

/* "<tmpdir>/<name>" in a static rotating buffer (4 slots). */
__attribute__((unused)) static const char *vd_test_path(const char *name) {
  static char bufs[4][512];
  static int k;
  char *b = bufs[k++ & 3];
  snprintf(b, 512, "%s/%s", vd_test_tmpdir(), name);
  return b;
}

/* Runs ffmpeg with the given arguments (quiet, overwrite). 0 on success. */
static int vd_test_ffmpeg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((unused)) static int vd_test_ffmpeg(const char *fmt, ...) {
  char args[4096], cmd[4200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof(args), fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -hide_banner -loglevel error -y %s", args);
  int r = system(cmd);
  if (r != 0)
    fprintf(stderr, "command failed (%d): %s\n", r, cmd);
  return r;
}

#endif
