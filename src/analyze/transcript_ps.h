/*
 * transcript_ps: the pocketsphinx boundary of the transcript analysis. One
 * decoder over one audio stream: 16 kHz mono int16 in, the words of each
 * closed utterance out, with times in seconds and posterior confidences.
 * Fillers (<s>, </s>, <sil>, [NOISE], ...) are left out and alternate
 * pronunciations ("to(3)") lose their suffix.
 *
 * Errors come back as VD_ERR_* codes with pocketsphinx's own last message;
 * a failure that pocketsphinx treats as fatal (it would exit the process)
 * fails the call instead and leaves the decoder unusable (every later call
 * fails; vd_ps_free then leaks it, since its state is unknown).
 * Built without pocketsphinx (no VD_HAVE_POCKETSPHINX), vd_ps_available()
 * is 0 and vd_ps_new() fails with VD_ERR_UNSUPPORTED.
 *
 * Ownership: arguments are borrowed; vd_ps_new() hands over a decoder to
 * release with vd_ps_free(); word arrays are the caller's (vd_ps_words_free).
 * Threading: one decoder is used by one thread at a time; distinct decoders
 * are independent.
 */
#ifndef VD_ANALYZE_TRANSCRIPT_PS_H
#define VD_ANALYZE_TRANSCRIPT_PS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct vd_ps;

struct vd_ps_word {
  double start, end;  /* seconds */
  double confidence;  /* posterior probability, 0..1 */
  char *text;
};

int vd_ps_available(void);
/* The installed en-us model's folder (pkg-config's modeldir + "/en-us"). */
const char *vd_ps_default_model_dir(void);

/* Loads the model (about a second for en-us) and opens the first
 * utterance. `vad_threshold` is pocketsphinx's -vad_threshold. */
int vd_ps_new(struct vd_ps **out, const char *hmm, const char *lm, const char *dict,
              double vad_threshold, struct vd_err *err) VD_WUR;
void vd_ps_free(struct vd_ps *p);

/* Feeds `n` samples to the open utterance; *in_speech tells whether the
 * decoder's voice-activity detector hears speech at the end of them. */
int vd_ps_process(struct vd_ps *p, const int16_t *pcm, int n, int *in_speech,
                  struct vd_err *err) VD_WUR;

/*
 * Closes the open utterance and puts its words in (*w)[0..*n), replacing
 * (and freeing) what was there; *cap is the array's capacity. A word at
 * frame f (10 ms, counted from the start of the stream) is at
 * base_time + (f - base_frame) / 100 seconds. Call vd_ps_start_utt() next.
 */
int vd_ps_end_utt(struct vd_ps *p, double base_time, double base_frame, struct vd_ps_word **w,
                  size_t *n, size_t *cap, struct vd_err *err) VD_WUR;
int vd_ps_start_utt(struct vd_ps *p, struct vd_err *err) VD_WUR;

void vd_ps_words_free(struct vd_ps_word *w, size_t n);

#endif
