/*
 * transcript_ps.c: pocketsphinx behind transcript_ps.h.
 *
 * DESIGN
 * - sphinxbase logs through one process-wide callback (set once here):
 *   errors are kept per thread, for the message of the call that failed;
 *   everything else (pages of INFO per model load) is dropped.
 * - pocketsphinx's E_FATAL prints and calls exit(). A damaged model file
 *   reaches it, and a server must not exit because one job named a bad
 *   file. So every call into pocketsphinx runs under a per-thread jmp_buf,
 *   and the callback longjmps there on a fatal message: the call fails, the
 *   decoder is marked broken, and it is never touched (nor freed) again.
 *   Nothing of ours is held across those calls, so only pocketsphinx's own
 *   memory leaks on that path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/transcript_ps.h"
#include "core/util.h"

#ifndef VD_PS_MODELDIR
#define VD_PS_MODELDIR "/usr/share/pocketsphinx/model/en-us"
#endif

const char *vd_ps_default_model_dir(void) { return VD_PS_MODELDIR; }

void vd_ps_words_free(struct vd_ps_word *w, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(w[i].text);
  free(w);
}

#ifndef VD_HAVE_POCKETSPHINX

int vd_ps_available(void) { return 0; }

int vd_ps_new(struct vd_ps **out, const char *hmm, const char *lm, const char *dict,
              double vad_threshold, struct vd_err *err) {
  *out = NULL;
  return vd_err_set(err, VD_ERR_UNSUPPORTED, "built without pocketsphinx");
}

void vd_ps_free(struct vd_ps *p) { (void)p; }

int vd_ps_process(struct vd_ps *p, const int16_t *pcm, int n, int *in_speech,
                  struct vd_err *err) {
  *in_speech = 0;
  return vd_err_set(err, VD_ERR_UNSUPPORTED, "built without pocketsphinx");
}

int vd_ps_end_utt(struct vd_ps *p, double base_time, double base_frame, struct vd_ps_word **w,
                  size_t *n, size_t *cap, struct vd_err *err) {
  return vd_err_set(err, VD_ERR_UNSUPPORTED, "built without pocketsphinx");
}

int vd_ps_start_utt(struct vd_ps *p, struct vd_err *err) {
  return vd_err_set(err, VD_ERR_UNSUPPORTED, "built without pocketsphinx");
}

#else

#include <pocketsphinx.h>
#include <pthread.h>
#include <setjmp.h>
#include <sphinxbase/err.h>
#include <sphinxbase/logmath.h>
#include <stdarg.h>

struct vd_ps {
  ps_decoder_t *ps;
  int broken; /* a fatal error left the decoder in an unknown state */
};

static _Thread_local jmp_buf *tl_jump; /* set while this thread is inside pocketsphinx */
static _Thread_local char tl_msg[256]; /* its last error message */
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

__attribute__((format(printf, 3, 4))) static void on_log(void *opaque, err_lvl_t lvl,
                                                         const char *fmt, ...) {
  (void)opaque;
  if (lvl != ERR_ERROR && lvl != ERR_FATAL)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tl_msg, sizeof(tl_msg), fmt, ap);
  va_end(ap);
  /* 'ERROR: "file.c", line 9: what' -> 'what', on one line */
  const char *at = strstr(tl_msg, "\", line ");
  at = at ? strstr(at, ": ") : NULL;
  if (at)
    memmove(tl_msg, at + 2, strlen(at + 2) + 1);
  for (char *p = tl_msg; *p; p++) /* a damaged file's bytes may be quoted */
    if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
      *p = *p == '\n' || *p == '\t' ? ' ' : '?';
  size_t n = strlen(tl_msg);
  while (n && tl_msg[n - 1] == ' ')
    tl_msg[--n] = '\0';
  if (lvl == ERR_FATAL && tl_jump)
    longjmp(*tl_jump, 1);
}

/* The callback, and no log file: the configuration dump at each load is
 * written straight to the log file, not through the callback. */
static void log_setup(void) {
  err_set_logfp(NULL);
  err_set_callback(on_log, NULL);
}

int vd_ps_available(void) { return 1; }

/* Enter/leave pocketsphinx on this thread. The setjmp itself must sit in
 * the calling function, hence a macro. */
#define PS_ENTER(jb) (tl_msg[0] = '\0', tl_jump = &(jb))
#define PS_LEAVE() (tl_jump = NULL)

static int fatal(struct vd_ps *p, struct vd_err *err, const char *what) {
  PS_LEAVE();
  if (p)
    p->broken = 1;
  return vd_err_set(err, VD_ERR_INTERNAL, "transcript: pocketsphinx failed %s: %s", what,
                    tl_msg[0] ? tl_msg : "fatal error");
}

static int broken(struct vd_err *err) {
  return vd_err_set(err, VD_ERR_INTERNAL,
                    "transcript: the speech decoder failed earlier and cannot be used");
}

int vd_ps_new(struct vd_ps **out, const char *hmm, const char *lm, const char *dict,
              double vad_threshold, struct vd_err *err) {
  pthread_once(&log_once, log_setup);
  *out = NULL;
  struct vd_ps *p = vd_xcalloc(1, sizeof(*p));
  char vad[32];
  snprintf(vad, sizeof(vad), "%g", vad_threshold);
  jmp_buf jb;
  if (setjmp(jb)) {
    fatal(p, err, "loading the model");
    free(p); /* what pocketsphinx had allocated stays leaked (see DESIGN) */
    return VD_ERR_INTERNAL;
  }
  PS_ENTER(jb);
  cmd_ln_t *cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-lm", lm, "-dict", dict,
                              "-vad_threshold", vad, NULL);
  p->ps = cfg ? ps_init(cfg) : NULL;
  if (cfg)
    cmd_ln_free_r(cfg); /* the decoder holds its own reference */
  if (p->ps && ps_start_utt(p->ps) < 0) {
    ps_free(p->ps);
    p->ps = NULL;
  }
  PS_LEAVE();
  if (!p->ps) {
    free(p);
    return vd_err_set(err, VD_ERR_INVALID, "transcript: pocketsphinx cannot load the model: %s",
                      tl_msg[0] ? tl_msg : "unknown error");
  }
  *out = p;
  return 0;
}

void vd_ps_free(struct vd_ps *p) {
  if (!p)
    return;
  if (p->broken)
    return; /* see DESIGN: its state is unknown, so it is leaked */
  jmp_buf jb;
  if (setjmp(jb) == 0) {
    PS_ENTER(jb);
    ps_free(p->ps);
  }
  PS_LEAVE();
  free(p);
}

int vd_ps_process(struct vd_ps *p, const int16_t *pcm, int n, int *in_speech,
                  struct vd_err *err) {
  *in_speech = 0;
  if (p->broken)
    return broken(err);
  jmp_buf jb;
  if (setjmp(jb))
    return fatal(p, err, "decoding");
  PS_ENTER(jb);
  int r = ps_process_raw(p->ps, pcm, (size_t)n, FALSE, FALSE);
  if (r >= 0)
    *in_speech = ps_get_in_speech(p->ps) != 0;
  PS_LEAVE();
  if (r < 0)
    return vd_err_set(err, VD_ERR_INTERNAL, "transcript: pocketsphinx cannot decode: %s",
                      tl_msg[0] ? tl_msg : "unknown error");
  return 0;
}

int vd_ps_start_utt(struct vd_ps *p, struct vd_err *err) {
  if (p->broken)
    return broken(err);
  jmp_buf jb;
  if (setjmp(jb))
    return fatal(p, err, "starting an utterance");
  PS_ENTER(jb);
  int r = ps_start_utt(p->ps);
  PS_LEAVE();
  if (r < 0)
    return vd_err_set(err, VD_ERR_INTERNAL, "transcript: pocketsphinx cannot start: %s",
                      tl_msg[0] ? tl_msg : "unknown error");
  return 0;
}

/* Not a word: <s>, </s>, <sil>, [NOISE], [SPEECH], +BREATH+ and kin. */
static int is_filler(const char *w) { return w[0] == '<' || w[0] == '[' || w[0] == '+'; }

/* "to(3)" -> "to": the dictionary's alternate pronunciations. */
static char *word_text(const char *w) {
  size_t n = strlen(w);
  const char *par = strrchr(w, '(');
  if (par && par > w && n >= 3 && w[n - 1] == ')' && par + 1 < w + n - 1 &&
      strspn(par + 1, "0123456789") == (size_t)(w + n - 1 - (par + 1)))
    n = (size_t)(par - w);
  char *t = vd_xmalloc(n + 1);
  memcpy(t, w, n);
  t[n] = '\0';
  return t;
}

int vd_ps_end_utt(struct vd_ps *p, double base_time, double base_frame, struct vd_ps_word **w,
                  size_t *n, size_t *cap, struct vd_err *err) {
  for (size_t i = 0; i < *n; i++)
    free((*w)[i].text);
  *n = 0;
  if (p->broken)
    return broken(err);
  jmp_buf jb;
  if (setjmp(jb))
    return fatal(p, err, "ending an utterance");
  PS_ENTER(jb);
  int r = ps_end_utt(p->ps);
  logmath_t *lm = ps_get_logmath(p->ps);
  for (ps_seg_t *seg = r < 0 ? NULL : ps_seg_iter(p->ps); seg; seg = ps_seg_next(seg)) {
    const char *word = ps_seg_word(seg);
    if (!word || !*word || is_filler(word))
      continue;
    int sf, ef;
    int32 ascr, lscr, lback;
    ps_seg_frames(seg, &sf, &ef);
    double conf = logmath_exp(lm, ps_seg_prob(seg, &ascr, &lscr, &lback));
    if (*n == *cap) {
      *cap = *cap ? 2 * *cap : 64;
      *w = vd_xrealloc(*w, *cap * sizeof(**w));
    }
    (*w)[(*n)++] = (struct vd_ps_word){
        .start = base_time + ((double)sf - base_frame) / 100.0,
        .end = base_time + ((double)ef + 1 - base_frame) / 100.0,
        .confidence = conf < 0 ? 0 : conf > 1 ? 1 : conf,
        .text = word_text(word),
    };
  }
  PS_LEAVE();
  if (r < 0)
    return vd_err_set(err, VD_ERR_INTERNAL, "transcript: pocketsphinx cannot end an utterance: %s",
                      tl_msg[0] ? tl_msg : "unknown error");
  return 0;
}

#endif
