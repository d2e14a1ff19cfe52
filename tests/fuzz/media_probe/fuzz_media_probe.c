/*
 * fuzz_media_probe: libFuzzer target for opening, probing and briefly
 * decoding whatever bytes a stranger uploads.
 *
 * The input lives in a memfd (no disk) that vd_media_open() reads through
 * /proc/self/fd/N, the same path-based entry point the CLI and the service
 * use. Caps keep each run small and bounded, as FFmpeg's own
 * tools/target_dec_fuzzer.c does: declared sizes go through tight
 * vd_media_limits, and the decode pass stops after a few frames, a few
 * audio chunks, or a time budget, whichever comes first. The probe JSON is
 * built too, so the code that turns headers into output is covered.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "analyze/registry.h"
#include "core/log.h"
#include "core/util.h"
#include "media/media.h"

#define MAX_INPUT (1 << 20)   /* bytes; libFuzzer's -max_len is set lower */
#define MAX_FRAMES 24         /* video frames delivered per input */
#define MAX_CHUNKS 64         /* audio chunks delivered per input */
#define MAX_SECONDS 2.0       /* wall time of the decode pass per input */

struct caps {
  int frames, chunks;
  double t0;
  uint64_t sum; /* touches the pixels so a bad view is read, not skipped */
};

static int over_budget(struct caps *k) { return vd_now() - k->t0 > MAX_SECONDS; }

static int on_video(void *opaque, const struct vd_frame *f) {
  struct caps *k = opaque;
  if (f->data[0] && f->width > 0 && f->height > 0)
    k->sum += f->data[0][0] + f->data[0][(size_t)(f->height - 1) * (size_t)f->linesize[0]];
  /* A second view of the same frame exercises the conversion cache. */
  struct vd_video_want w2 = {.width = 16, .height = 16, .fmt = VD_PIX_HSV24};
  struct vd_frame v;
  if (vd_frame_view(f, &w2, &v) == 0)
    k->sum += v.data[0][0];
  return ++k->frames >= MAX_FRAMES || over_budget(k) ? VD_ERR_CANCELED : 0;
}

static int on_audio(void *opaque, const struct vd_audio_chunk *a) {
  struct caps *k = opaque;
  if (a->nb_samples > 0)
    k->sum += (uint64_t)(a->samples[0] > 0);
  return ++k->chunks >= MAX_CHUNKS || over_budget(k) ? VD_ERR_CANCELED : 0;
}

static int on_progress(void *opaque, double frac) {
  (void)frac;
  return over_budget(opaque);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  av_log_set_level(AV_LOG_QUIET); /* damaged input makes FFmpeg chatty */
  vd_log_set_level(VD_LOG_ERROR);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > MAX_INPUT)
    return 0;
  int fd = memfd_create("fuzz_media", MFD_CLOEXEC);
  if (fd < 0)
    abort(); /* the harness itself is broken: say so loudly */
  for (size_t off = 0; off < size;) {
    ssize_t n = write(fd, data + off, size - off);
    if (n <= 0)
      abort();
    off += (size_t)n;
  }
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

  struct vd_media_limits lim;
  vd_media_limits_default(&lim);
  lim.max_width = 4096;
  lim.max_height = 4096;
  lim.max_pixels = 1 << 22;
  lim.max_streams = 16;
  struct vd_media *m = NULL;
  struct vd_err err;
  vd_err_clear(&err);
  if (vd_media_open(&m, path, &lim, &err) == 0) {
    json_t *j = vd_probe_json(vd_media_info(m));
    char *s = json_dumps(j, 0);
    free(s);
    json_decref(j);
    struct caps k = {.t0 = vd_now()};
    struct vd_video_want vw = {.max_side = 64, .fmt = VD_PIX_GRAY8};
    struct vd_audio_want aw = {.sample_rate = 16000, .mono = 1};
    int r1 = vd_media_want_video(m, &vw, on_video, &k);
    int r2 = vd_media_want_audio(m, &aw, on_audio, &k);
    if (r1 == 0 || r2 == 0) {
      int r = vd_media_run(m, on_progress, &k, &err);
      (void)r; /* errors are expected; crashes, leaks and hangs are not */
    }
  }
  vd_media_free(m);
  close(fd);
  return 0;
}
