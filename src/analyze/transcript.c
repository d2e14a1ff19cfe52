/*
 * transcript.c: the `transcript` analysis. English speech to text with
 * timestamps, by CMU pocketsphinx (Debian's 0.8+5prealpha) and its en-us
 * model, in the single decode pass; SRT, WebVTT and plain-text artifacts
 * (subtitles.c).
 *
 * DESIGN
 * - Audio arrives at 16 kHz mono float32 on the analysis's own worker
 *   thread (.threaded), is turned into int16 and fed to one decoder in
 *   slices of SLICE samples, the block pocketsphinx_continuous reads, so
 *   the decoder's voice-activity state is looked at as often as there.
 * - Utterances: the decoder's voice-activity detector (ps_get_in_speech)
 *   opens one when speech starts; when it reports silence again the
 *   utterance is closed (ps_end_utt), its words are read with ps_seg_iter,
 *   and a new one starts. So the decoder's search state (and memory) is
 *   one utterance's, and an utterance that never pauses is closed anyway
 *   after max_utterance seconds of audio (a word may be cut there; times
 *   are kept from going back at such a seam).
 * - Times: pocketsphinx counts 10 ms frames from the start of the stream,
 *   silence included (it drops silent frames from the search, not from the
 *   count). A word's time is base_time + (frame - base_frame) / 100; the
 *   base is the first chunk's timestamp, and is set again, after closing
 *   the utterance, when a chunk's timestamp is not where the samples fed so
 *   far say (a gap or a jump in the audio track).
 * - Words: fillers (<s>, </s>, <sil>, [NOISE], [SPEECH]) are dropped from
 *   the text; the pauses they stand for are where a long utterance is cut
 *   into segments of at most max_segment seconds (at its longest pause,
 *   then again in each half). Alternate pronunciations ("to(3)") lose
 *   their suffix. confidence is the word's posterior probability from the
 *   utterance's lattice.
 * - pocketsphinx logs through sphinxbase's process-wide callback: ours
 *   keeps the last error of the calling thread for our messages and drops
 *   the rest. Some of its failures (a damaged model file) print "FATAL" and
 *   call exit(); while our code is inside a pocketsphinx call on that
 *   thread, the callback longjmps back instead, the analysis fails with the
 *   message, and the decoder, whose state is then unknown, is leaked
 *   rather than freed.
 * - Memory: one utterance's search, plus the result (about 150 bytes per
 *   word: an hour of talk is a few MB).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyze/analyze.h"
#include "analyze/subtitles.h"
#include "analyze/transcript_ps.h"
#include "core/util.h"

#define RATE 16000
#define SLICE 2048   /* samples per decoder call */
#define REBASE 0.2   /* seconds a chunk's timestamp may drift before times are rebased */

struct transcript {
  struct vd_ps *ps;
  char *model;           /* what the result names as the model */
  double max_segment;    /* seconds */
  int64_t max_utt;       /* samples after which an utterance is closed anyway */
  double last_end;       /* end of the last word so far, seconds */
  int line_chars;
  int16_t pcm[SLICE];
  int64_t fed;           /* samples given to the decoder */
  int64_t utt_fed;       /* of which in the open utterance since speech began */
  int in_speech;         /* the open utterance has heard speech */
  int based;             /* base_time is set */
  double base_time;      /* seconds of frame base_frame */
  double base_frame;     /* frames (10 ms) */
  json_t *segments;
  size_t nwords;
  struct vd_ps_word *w;  /* one utterance's words, reused */
  size_t nw, capw;
};

static const struct vd_param_def transcript_params[] = {
    {"model_dir", VD_PARAM_STR, "", 0, -1, NULL,
     "folder of a pocketsphinx model laid out as Debian's pocketsphinx-en-us (en-us/, "
     "en-us.lm.bin, cmudict-en-us.dict); empty = the installed en-us model"},
    {"hmm", VD_PARAM_STR, "", 0, -1, NULL,
     "acoustic model folder (has mdef); empty = <model_dir>/en-us"},
    {"lm", VD_PARAM_STR, "", 0, -1, NULL,
     "language model file (ARPA or binary); empty = <model_dir>/en-us.lm.bin"},
    {"dict", VD_PARAM_STR, "", 0, -1, NULL,
     "pronunciation dictionary; empty = <model_dir>/cmudict-en-us.dict"},
    {"language", VD_PARAM_STR, "en", 0, -1, NULL,
     "language code reported with the result (the model's language)"},
    {"max_segment", VD_PARAM_NUM, "10", 1, 600, NULL,
     "longest segment in seconds: longer stretches of speech are cut at their longest pauses"},
    {"max_utterance", VD_PARAM_NUM, "30", 5, 300, NULL,
     "seconds of speech without a pause after which the decoder closes the utterance anyway: "
     "bounds its memory (about 1 MB per second), at the cost of a word perhaps cut there"},
    {"line_chars", VD_PARAM_INT, "42", 16, 200, NULL,
     "longest subtitle line in the SRT and WebVTT files (two lines per cue)"},
    {"vad_threshold", VD_PARAM_NUM, "2", 0.5, 10, NULL,
     "voice-activity threshold of the decoder (pocketsphinx -vad_threshold); higher ignores "
     "more background noise, and more quiet speech"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static double ms(double t) { return round(t * 1000.0) / 1000.0; }

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* A path param, or `dflt` under the model folder when it is empty. */
static char *model_path(struct vd_actx *c, const char *param, const char *dir, const char *dflt) {
  const char *v = vd_actx_str(c, param);
  return *v ? vd_xstrdup(v) : vd_xasprintf("%s/%s", dir, dflt);
}

static int transcript_init(struct vd_actx *c) {
  struct transcript *s = vd_actx_priv(c);
  struct vd_err *err = vd_actx_err(c);
  if (!vd_ps_available())
    return vd_err_set(err, VD_ERR_UNSUPPORTED,
                      "transcript: this vidan was built without pocketsphinx; install "
                      "libpocketsphinx-dev, libsphinxbase-dev and pocketsphinx-en-us "
                      "(scripts/deps) and rebuild");
  const char *dir = vd_actx_str(c, "model_dir");
  int own_dir = *dir != '\0';
  if (!own_dir)
    dir = vd_ps_default_model_dir();
  char *hmm = model_path(c, "hmm", dir, "en-us");
  char *lm = model_path(c, "lm", dir, "en-us.lm.bin");
  char *dict = model_path(c, "dict", dir, "cmudict-en-us.dict");
  char *mdef = vd_xasprintf("%s/mdef", hmm);
  int ret = 0;
  if (own_dir && !is_dir(dir))
    ret = vd_err_set(err, VD_ERR_NOT_FOUND,
                     "transcript: model folder '%s' (parameter model_dir) does not exist", dir);
  else if (!own_dir && !*vd_actx_str(c, "hmm") && !is_dir(hmm))
    ret = vd_err_set(err, VD_ERR_NOT_FOUND,
                     "transcript: no en-us speech model at %s: install the Debian package "
                     "pocketsphinx-en-us, or set the parameter model_dir",
                     dir);
  else if (!is_file(mdef))
    ret = vd_err_set(err, VD_ERR_NOT_FOUND,
                     "transcript: '%s' is not an acoustic model folder (no mdef file; parameter "
                     "%s)",
                     hmm, *vd_actx_str(c, "hmm") ? "hmm" : "model_dir");
  else if (!is_file(lm))
    ret = vd_err_set(err, VD_ERR_NOT_FOUND,
                     "transcript: language model '%s' not found (parameter %s)", lm,
                     *vd_actx_str(c, "lm") ? "lm" : "model_dir");
  else if (!is_file(dict))
    ret = vd_err_set(err, VD_ERR_NOT_FOUND,
                     "transcript: dictionary '%s' not found (parameter %s)", dict,
                     *vd_actx_str(c, "dict") ? "dict" : "model_dir");
  if (ret < 0)
    goto out;
  /* Subscribe before loading the model (a second or so): a file without
   * audio is skipped, or refused, without that wait. */
  ret = vd_actx_want_audio(c, &(struct vd_audio_want){.sample_rate = RATE, .mono = 1});
  if (ret < 0)
    goto out;
  ret = vd_ps_new(&s->ps, hmm, lm, dict, vd_actx_num(c, "vad_threshold"), err);
  if (ret < 0)
    goto out;
  const char *base = strrchr(hmm, '/');
  s->model = vd_xasprintf("pocketsphinx %s", base && base[1] ? base + 1 : hmm);
  s->max_segment = vd_actx_num(c, "max_segment");
  s->max_utt = (int64_t)(vd_actx_num(c, "max_utterance") * RATE);
  s->line_chars = (int)vd_actx_int(c, "line_chars");
  s->segments = json_array();
out:
  free(hmm);
  free(lm);
  free(dict);
  free(mdef);
  return ret;
}

/* ---- segments ---------------------------------------------------------------- */

/* Appends words [a, b) of the utterance as one segment, or as several when
 * they span more than max_segment: cut at the longest pause (the one
 * nearest the middle among equals), then again in each part. */
static void add_segments(struct transcript *s, size_t a, size_t b) {
  const struct vd_ps_word *w = s->w;
  if (b - a > 1 && w[b - 1].end - w[a].start > s->max_segment) {
    size_t cut = a + 1;
    double best = -1, mid = (w[a].start + w[b - 1].end) / 2, best_off = 0;
    for (size_t i = a + 1; i < b; i++) {
      double gap = w[i].start - w[i - 1].end, off = fabs(w[i].start - mid);
      if (gap > best + 1e-9 || (fabs(gap - best) <= 1e-9 && off < best_off)) {
        best = gap;
        best_off = off;
        cut = i;
      }
    }
    add_segments(s, a, cut);
    add_segments(s, cut, b);
    return;
  }
  size_t len = 0;
  for (size_t i = a; i < b; i++)
    len += strlen(w[i].text) + 1;
  char *text = vd_xmalloc(len + 1), *p = text;
  json_t *words = json_array();
  for (size_t i = a; i < b; i++) {
    size_t n = strlen(w[i].text);
    if (p > text)
      *p++ = ' ';
    memcpy(p, w[i].text, n);
    p += n;
    json_array_append_new(words, json_pack("{s:s, s:f, s:f, s:f}", "word", w[i].text, "start",
                                           ms(w[i].start), "end", ms(w[i].end), "confidence",
                                           round(w[i].confidence * 1000.0) / 1000.0));
  }
  *p = '\0';
  json_array_append_new(s->segments, json_pack("{s:f, s:f, s:s, s:o}", "start", ms(w[a].start),
                                               "end", ms(w[b - 1].end), "text", text, "words",
                                               words));
  s->nwords += b - a;
  free(text);
}

/* Closes the open utterance, turns its words into segments, opens the next. */
static int end_utterance(struct vd_actx *c, struct transcript *s) {
  int ret = vd_ps_end_utt(s->ps, s->base_time, s->base_frame, &s->w, &s->nw, &s->capw,
                          vd_actx_err(c));
  if (ret < 0)
    return ret;
  /* An utterance closed mid-speech (max_utterance, a rebase) can start a
   * frame or two before the last one ended: keep times from going back. */
  for (size_t i = 0; i < s->nw; i++) {
    struct vd_ps_word *w = &s->w[i];
    w->start = fmax(w->start, s->last_end);
    w->end = fmax(w->end, w->start);
    s->last_end = w->end;
  }
  if (s->nw)
    add_segments(s, 0, s->nw);
  s->in_speech = 0;
  s->utt_fed = 0;
  return vd_ps_start_utt(s->ps, vd_actx_err(c));
}

/* ---- pass ------------------------------------------------------------------ */

static int transcript_audio(struct vd_actx *c, const struct vd_audio_chunk *a) {
  struct transcript *s = vd_actx_priv(c);
  if (a->channels != 1 || a->sample_rate != RATE)
    return vd_err_set(vd_actx_err(c), VD_ERR_INTERNAL,
                      "transcript: got %d Hz audio in %d channels, wants %d Hz mono",
                      a->sample_rate, a->channels, RATE);
  double here = s->base_time + ((double)s->fed / (RATE / 100) - s->base_frame) / 100.0;
  if (!s->based || fabs(a->time - here) > REBASE) {
    int ret = s->based ? end_utterance(c, s) : 0;
    if (ret < 0)
      return ret;
    s->based = 1;
    s->base_time = a->time;
    s->base_frame = (double)s->fed / (RATE / 100);
  }
  for (int off = 0; off < a->nb_samples; off += SLICE) {
    int n = a->nb_samples - off < SLICE ? a->nb_samples - off : SLICE;
    for (int i = 0; i < n; i++) {
      float v = a->samples[off + i] * 32768.0f;
      s->pcm[i] = (int16_t)(v >= 32767.0f ? 32767 : v <= -32768.0f ? -32768 : lrintf(v));
    }
    int speech;
    int ret = vd_ps_process(s->ps, s->pcm, n, &speech, vd_actx_err(c));
    if (ret < 0)
      return ret;
    s->fed += n;
    if (speech)
      s->in_speech = 1;
    if (s->in_speech)
      s->utt_fed += n;
    if (s->in_speech && (!speech || s->utt_fed >= s->max_utt) &&
        (ret = end_utterance(c, s)) < 0)
      return ret;
  }
  return 0;
}

/* ---- result ---------------------------------------------------------------- */

/* Renders `cues` as `fmt` into the artifact `name` (atomically). */
static int write_artifact(struct vd_actx *c, const char *name, enum vd_subs_format fmt,
                          const struct vd_cue *cues, size_t n, int line_chars) {
  char *path = vd_actx_artifact_path(c, name);
  if (!path)
    return 0; /* no output folder */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  int ret = f ? vd_subs_write(f, fmt, cues, n, line_chars) : VD_ERR_INTERNAL;
  if (f && fclose(f) != 0 && ret == 0)
    ret = VD_ERR_INTERNAL;
  if (ret == 0)
    ret = vd_write_file_atomic(path, buf, len);
  if (ret < 0)
    vd_err_set(vd_actx_err(c), ret, "transcript: cannot write %s: %s", path, vd_strerror(ret));
  free(buf);
  free(path);
  return ret;
}

static int write_artifacts(struct vd_actx *c, struct transcript *s, json_t *result) {
  struct vd_cue *cues = NULL;
  size_t n = 0;
  int ret = vd_subs_cues_from_transcript(result, s->line_chars, &cues, &n);
  if (ret == 0)
    ret = write_artifact(c, "transcript.srt", VD_SUBS_SRT, cues, n, s->line_chars);
  if (ret == 0)
    ret = write_artifact(c, "transcript.vtt", VD_SUBS_VTT, cues, n, s->line_chars);
  vd_subs_cues_free(cues, n);
  if (ret < 0)
    return ret;
  /* the text file: one segment a line */
  size_t nseg = json_array_size(s->segments);
  cues = vd_xcalloc(nseg ? nseg : 1, sizeof(*cues));
  for (size_t i = 0; i < nseg; i++)
    cues[i].text = (char *)json_string_value(json_object_get(json_array_get(s->segments, i),
                                                             "text"));
  ret = write_artifact(c, "transcript.txt", VD_SUBS_TXT, cues, nseg, s->line_chars);
  free(cues); /* the texts are the result's */
  return ret;
}

static int transcript_finish(struct vd_actx *c, json_t **result) {
  struct transcript *s = vd_actx_priv(c);
  int ret = end_utterance(c, s);
  if (ret < 0)
    return ret;
  size_t len = 0, i;
  json_t *seg;
  json_array_foreach(s->segments, i, seg) {
    len += strlen(json_string_value(json_object_get(seg, "text"))) + 1;
  }
  char *text = vd_xmalloc(len + 1), *p = text;
  json_array_foreach(s->segments, i, seg) {
    const char *t = json_string_value(json_object_get(seg, "text"));
    if (p > text)
      *p++ = ' ';
    memcpy(p, t, strlen(t));
    p += strlen(t);
  }
  *p = '\0';
  *result = json_pack("{s:s, s:s, s:O, s:s, s:I}", "language", vd_actx_str(c, "language"),
                      "model", s->model, "segments", s->segments, "text", text, "words_count",
                      (json_int_t)s->nwords);
  free(text);
  return write_artifacts(c, s, *result);
}

static void transcript_uninit(struct vd_actx *c) {
  struct transcript *s = vd_actx_priv(c);
  vd_ps_free(s->ps);
  json_decref(s->segments);
  vd_ps_words_free(s->w, s->nw);
  free(s->model);
}

/* Paths on the server: a remote client must not point the recogniser at
 * arbitrary files (the API refuses these; the CLI allows them). */
static const char *const transcript_local[] = {"model_dir", "hmm", "lm", "dict", NULL};

const struct vd_analysis_def vd_analysis_transcript = {
    .name = "transcript",
    .summary = "English speech to text with word and segment timestamps (CMU pocketsphinx, "
               "en-us model); transcript.srt, transcript.vtt and transcript.txt.",
    .params = transcript_params,
    .local_params = transcript_local,
    .deps = NULL,
    .priv_size = sizeof(struct transcript),
    .threaded = 1,
    .init = transcript_init,
    .audio = transcript_audio,
    .finish = transcript_finish,
    .uninit = transcript_uninit,
};
