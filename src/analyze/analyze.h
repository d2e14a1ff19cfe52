/*
 * analyze: the one small interface every analysis implements, the table of
 * analyses, and the runner that executes a set of them over one decode pass.
 *
 * DESIGN
 * - An analysis is a file plus one line in registry.c. It declares a name,
 *   typed parameters with defaults and ranges, and the analyses it depends on.
 *   In init() it states what it needs from the pipeline (vd_actx_want_video /
 *   vd_actx_want_audio). Then it gets streaming callbacks, then finish(),
 *   which returns a JSON result and may write named artifact files.
 * - The runner orders the requested analyses after their dependencies, opens
 *   the media once, inits each analysis, runs ONE decode pass, and calls
 *   finish() in dependency order, so a post-pass analysis (clips, later
 *   storylines) reads its dependencies' results with vd_actx_dep_result().
 * - A `threaded` analysis gets its frames and audio on a worker thread of
 *   its own: the decode thread holds each sampled frame (a reference, no
 *   copy) or copies each audio chunk, and queues it; the worker converts
 *   frames to what the analysis asked for and calls video() / audio(). The
 *   queue holds at most 4 frames (64 items in all), so memory stays bounded
 *   and decoding waits when the analysis falls behind. Items still arrive
 *   one at a time, in decode order.
 * - Progress is a fraction plus a stage message for the whole run; the decode
 *   pass is weighted by how many analyses consume frames. Cancellation is
 *   cooperative: vd_run_cancel() from any thread; long finish() steps poll
 *   vd_actx_canceled().
 * - The pipeline, CLI, API and page learn about analyses only through this
 *   table (vd_analysis_list), so adding one touches nothing else.
 *
 * Ownership: arguments are borrowed. JSON returned through `json_t **` out
 * parameters belongs to the caller. vd_actx_dep_result() and
 * vd_actx_media_info() return borrowed pointers valid until vd_run_free().
 * Threading: a vd_run is driven by one thread; vd_run_cancel() is any-thread.
 * Inside a threaded analysis's video(), vd_actx_err() is the analysis's
 * own until the pass ends, and vd_actx_warn() may be called; progress is
 * reported by the runner only.
 */
#ifndef VD_ANALYZE_ANALYZE_H
#define VD_ANALYZE_ANALYZE_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "media/media.h"

struct vd_actx;
struct vd_run;
struct vd_dup_index;

enum vd_param_type { VD_PARAM_INT, VD_PARAM_NUM, VD_PARAM_BOOL, VD_PARAM_STR, VD_PARAM_ENUM };

struct vd_param_def {
  const char *name;
  enum vd_param_type type;
  const char *def;      /* default as text ("27", "true", "content"); NULL = none */
  double min, max;      /* inclusive range for INT/NUM; ignored if min > max */
  const char *choices;  /* ENUM: "content|adaptive|threshold" */
  const char *help;
};

struct vd_analysis_def {
  const char *name;
  const char *summary;
  const struct vd_param_def *params; /* terminated by an entry with name == NULL */
  const char *const *deps;           /* NULL-terminated; NULL = none */
  const char *const *local_params;   /* NULL-terminated names of params that name
                                        a file or folder on the machine that runs
                                        the analysis (a model): settable from the
                                        command line, refused from API clients
                                        (vd_run_opts.untrusted) */
  const char *const *after;          /* optional dependencies, NULL-terminated:
                                        never added to a run, but when the run
                                        has them too they finish first and
                                        vd_actx_dep_result() gives their result
                                        (audio's per-scene table reads scenes
                                        if scenes ran); their being skipped
                                        skips nothing */
  size_t priv_size;                  /* zeroed private state, see vd_actx_priv */
  int internal;                      /* 1 = for testing (sleep): described with
                                        "x-internal", hidden from the page */
  int no_media;                      /* 1 = reads nothing from the input: a run made
                                        only of such analyses does not open it
                                        (vd_actx_media_info() is then NULL) */
  int threaded;                      /* 1 = video() and audio() run on a thread
                                        of its own, fed held frames and copied
                                        audio through a short queue, so heavy
                                        work (neural networks, speech) overlaps
                                        decoding. They may then touch only the
                                        analysis's own state and the vd_actx
                                        calls; init() and finish() still run
                                        on the runner's thread */
  /* Validate, read params, subscribe. Media info is available. */
  int (*init)(struct vd_actx *c);
  /* Frames / audio as subscribed in init. */
  int (*video)(struct vd_actx *c, const struct vd_frame *f);
  int (*audio)(struct vd_actx *c, const struct vd_audio_chunk *a);
  /* After the decode pass (or without one): produce the result. */
  int (*finish)(struct vd_actx *c, json_t **result);
  /* Release private state. Called even if init failed. */
  void (*uninit)(struct vd_actx *c);
};

/* ---- registry ------------------------------------------------------------ */

const struct vd_analysis_def *vd_analysis_find(const char *name);
/* All analyses, in table order; *n receives the count. */
const struct vd_analysis_def *const *vd_analysis_list(size_t *n);
/* "probe, scenes, clips": for error messages and --help. Caller frees. */
char *vd_analysis_names(void);

/*
 * Validates `params` (a JSON object of name → value, may be NULL) against
 * `def` and returns in *out a new object with every parameter present:
 * given values (type-checked, range-checked) and defaults. On error, the
 * message names the bad parameter and lists the valid ones.
 */
int vd_params_resolve(const struct vd_analysis_def *def, json_t *params, json_t **out,
                      struct vd_err *err) VD_WUR;
/* JSON Schema-ish description of an analysis's params, for --help and OpenAPI. */
json_t *vd_params_describe(const struct vd_analysis_def *def);

/* ---- context seen by an analysis --------------------------------------------- */

void *vd_actx_priv(struct vd_actx *c);
/* NULL when the run did not open the input (only no_media analyses). */
const struct vd_media_info *vd_actx_media_info(struct vd_actx *c);
const char *vd_actx_input_path(struct vd_actx *c);
/* Resolved params: every declared param is present. */
long long vd_actx_int(struct vd_actx *c, const char *name);
double vd_actx_num(struct vd_actx *c, const char *name);
int vd_actx_bool(struct vd_actx *c, const char *name);
const char *vd_actx_str(struct vd_actx *c, const char *name);

int vd_actx_want_video(struct vd_actx *c, const struct vd_video_want *w) VD_WUR;
int vd_actx_want_audio(struct vd_actx *c, const struct vd_audio_want *w) VD_WUR;

/* Result of a dependency or of an optional one (`after`) that the run has
 * (borrowed), or NULL. */
json_t *vd_actx_dep_result(struct vd_actx *c, const char *name);

/*
 * Artifacts: files an analysis writes. vd_actx_artifact_path() returns
 * "<outdir>/<name>" (caller frees) and records it; the folder exists. Returns
 * NULL when the run has no output folder (CLI without -o): then the analysis
 * skips writing artifacts.
 */
char *vd_actx_artifact_path(struct vd_actx *c, const char *name);

/* Progress of this analysis's own finish() work, in [0,1], with a stage. */
void vd_actx_progress(struct vd_actx *c, double fraction, const char *stage);
int vd_actx_canceled(struct vd_actx *c);
/* Non-fatal problem, reported in the run's "warnings". */
void vd_actx_warn(struct vd_actx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct vd_err *vd_actx_err(struct vd_actx *c);
const struct vd_media_limits *vd_actx_limits(struct vd_actx *c);
/* The run's library of earlier videos and this video's id in it
 * (vd_run_opts.library, .library_exclude); NULL when the run has none. */
struct vd_dup_index *vd_actx_library(struct vd_actx *c);
const char *vd_actx_library_exclude(struct vd_actx *c);

/* ---- runner ------------------------------------------------------------------- */

typedef void (*vd_run_progress_fn)(void *opaque, double fraction, const char *stage);

struct vd_run_opts {
  const char *input;            /* media path */
  const char *display_name;     /* how users know the input (an upload's name);
                                   replaces `input` in error and warning text.
                                   NULL = the path itself */
  const char *const *analyses;  /* names; dependencies are added automatically */
  size_t n_analyses;
  json_t *params;               /* {"scenes": {"threshold": 30}, ...}; may be NULL */
  const char *outdir;           /* artifact folder; NULL = no artifacts */
  const struct vd_media_limits *limits; /* NULL = defaults */
  vd_run_progress_fn progress;  /* may be NULL; called on the running thread */
  void *progress_opaque;
  const struct vd_analysis_def *const *extra; /* NULL-terminated analyses this run
                                   knows besides the registry's (tests); may be NULL */
  int untrusted;                /* 1 = params come from a remote client (the API):
                                   the analyses' local_params are refused */
  struct vd_dup_index *library; /* videos seen before; NULL = none (the CLI's analyze).
                                   Borrowed; the `duplicates` analysis queries it
                                   (thread-safe) during the run */
  const char *library_exclude;  /* id under which this run's own video is (or will
                                   be) in `library` (the service's file id), so it
                                   does not match itself; NULL = none */
};

/* Validates names and params; nothing is opened yet. */
int vd_run_new(struct vd_run **out, const struct vd_run_opts *o, struct vd_err *err) VD_WUR;
void vd_run_free(struct vd_run *r);

/*
 * Opens the input, runs the single pass and every finish(). On success
 * *result is {"input": ..., "results": {name: value}, "artifacts": {name:
 * [file...]}, "warnings": [...], "timings": {name: seconds}}.
 */
int vd_run_exec(struct vd_run *r, json_t **result, struct vd_err *err) VD_WUR;
void vd_run_cancel(struct vd_run *r);

#endif
