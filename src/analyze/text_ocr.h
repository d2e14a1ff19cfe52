/*
 * text_ocr: the Tesseract boundary of the `text` analysis. Reads the words
 * in one grey picture, keeps the confident ones that look like text, and
 * groups them into lines with normalised boxes.
 *
 * Without Tesseract at build time (no `tesseract`/`lept` pkg-config modules,
 * i.e. libtesseract-dev missing) vd_textocr_new() fails with VD_ERR_UNSUPPORTED
 * and a message naming the packages; nothing else changes.
 *
 * Ownership: arguments are borrowed; the caller frees what _new returns and
 * clears the sample _run fills (vd_text_sample_clear).
 * Threading: one vd_textocr is used by one thread at a time; it may move
 * between threads (created on the runner, used on the analysis worker).
 */
#ifndef VD_ANALYZE_TEXT_OCR_H
#define VD_ANALYZE_TEXT_OCR_H

#include <stdint.h>

#include "analyze/text_merge.h"
#include "core/err.h"

struct vd_textocr;

struct vd_textocr_opts {
  const char *lang;       /* Tesseract languages, "eng" or "eng+deu" */
  float min_confidence;   /* 0..1: words below are dropped */
  int psm;                /* Tesseract page segmentation mode (11 = sparse text) */
  double max_seconds;     /* recognition time per frame; 0 = unlimited */
  int light_text;         /* 1 = a second pass for light text (see text_ocr.c) */
};

/*
 * Loads the language data. VD_ERR_INVALID when a language is not installed
 * (the message names the missing file, the folder searched, the installed
 * languages and the Debian package), VD_ERR_UNSUPPORTED without Tesseract.
 */
int vd_textocr_new(struct vd_textocr **out, const struct vd_textocr_opts *o,
                   struct vd_err *err) VD_WUR;
void vd_textocr_free(struct vd_textocr *o);

/*
 * Recognises the text in a grey picture (w x h, `stride` bytes per row) and
 * fills `out->lines` (out->time is left alone). A line keeps the words with
 * confidence >= min_confidence that pass vd_text_word_ok(), and needs two
 * letters or digits in all; lines come top to bottom, then left to right.
 * A frame that takes longer than max_seconds is cut short: *timed_out = 1
 * and out holds the words recognised by then (on pictures that hold text,
 * Tesseract takes a fraction of a second; what takes seconds is fine
 * texture cut into thousands of would-be letters). Returns 0 or
 * VD_ERR_INTERNAL when Tesseract fails.
 */
int vd_textocr_run(struct vd_textocr *o, const uint8_t *grey, int w, int h, int stride,
                   struct vd_text_sample *out, int *timed_out, struct vd_err *err) VD_WUR;

#endif
