/*
 * sleep.c: the `sleep` analysis: waits `time` seconds, reporting progress
 * and honouring cancellation every 20 ms. It exists to exercise job queues
 * (compat A's `analysis=sleep&time=N`, the crash and cancel tests); it reads
 * no frames, so it adds nothing to the decode pass.
 */
#include <time.h>

#include "analyze/analyze.h"
#include "core/util.h"

static const struct vd_param_def params[] = {
    {"time", VD_PARAM_NUM, "1", 0, 86400, NULL, "seconds to sleep"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int finish(struct vd_actx *c, json_t **result) {
  double want = vd_actx_num(c, "time"), t0 = vd_now(), el;
  while ((el = vd_now() - t0) < want) {
    if (vd_actx_canceled(c))
      return VD_ERR_CANCELED;
    vd_actx_progress(c, el / want, "sleeping");
    double left = want - el;
    struct timespec ts = {0, left < 0.02 ? (long)(left * 1e9) : 20000000L};
    nanosleep(&ts, NULL);
  }
  *result = json_pack("{s:f}", "slept", vd_now() - t0);
  return 0;
}

const struct vd_analysis_def vd_analysis_sleep = {
    .name = "sleep",
    .summary = "Wait `time` seconds (for testing queues); honours cancellation",
    .params = params,
    .no_media = 1, /* compat A sleeps on any upload, text files included */
    .internal = 1, /* a queue-testing tool, not something to offer users */
    .finish = finish,
};
