/*
 * subtitles: timed text as SubRip (.srt), WebVTT (.vtt) and plain text, and
 * the cutting of recognised words into subtitle cues.
 *
 * Formats written:
 *   SRT   "<n>\n" "HH:MM:SS,mmm --> HH:MM:SS,mmm\n" "<line>\n"... "\n", cues
 *         numbered from 1. SRT has no escape syntax, so "-->" in text (which
 *         would read as a timing line) is written "->", and a text's own
 *         line breaks and runs of blanks become one space (a blank line
 *         would end the cue).
 *   WebVTT "WEBVTT\n\n", then per cue "<n>\n" "HH:MM:SS.mmm --> HH:MM:SS.mmm\n"
 *         "<line>\n"... "\n". Text is escaped as the spec requires (&amp;
 *         &lt; &gt;), which also covers "-->".
 *   Text  one cue's text per line, no times.
 * Hours take as many digits as they need (two at least). Times are rounded
 * to the millisecond, negative ones clamped to 0, and an end before its
 * start is raised to the start. Cues whose text is empty or only blanks are
 * not written and take no number. Each cue's text is wrapped into lines of
 * at most `line_chars` characters (bytes; a longer single word keeps its own
 * line), two lines split where they come out most even.
 *
 * Ownership: arguments are borrowed; vd_subs_cues() hands the caller an
 * array to release with vd_subs_cues_free(). Threading: reentrant.
 */
#ifndef VD_ANALYZE_SUBTITLES_H
#define VD_ANALYZE_SUBTITLES_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "core/err.h"

#define VD_SUBS_LINE_CHARS 42 /* the usual broadcast limit for a subtitle line */
#define VD_SUBS_MAX_CUE 7.0   /* seconds one cue may stay on screen */

struct vd_cue {
  double start, end; /* seconds */
  char *text;        /* one line; wrapped when written */
};

struct vd_sub_word {
  double start, end; /* seconds */
  const char *text;
};

enum vd_subs_format { VD_SUBS_SRT, VD_SUBS_VTT, VD_SUBS_TXT };

/*
 * Cuts one segment's words (in time order) into cues and appends them to
 * *cues (of *n; NULL/0 to start): a cue holds at most two lines of
 * `line_chars` and lasts at most VD_SUBS_MAX_CUE seconds, and a segment
 * that needs several cues is cut into pieces of about equal length.
 */
void vd_subs_cues(const struct vd_sub_word *w, size_t nw, int line_chars, struct vd_cue **cues,
                  size_t *n);

/*
 * The cues of a `transcript` result (docs/transcript.md): its segments'
 * words, or a segment's text over its whole span when it has no words.
 * Returns VD_ERR_INVALID when `result` does not have that shape.
 */
int vd_subs_cues_from_transcript(json_t *result, int line_chars, struct vd_cue **cues,
                                 size_t *n) VD_WUR;

void vd_subs_cues_free(struct vd_cue *cues, size_t n);

/* Writes `cues` in `fmt` to `f`. Returns 0, or VD_ERR_INTERNAL when the
 * stream reports a write error. */
int vd_subs_write(FILE *f, enum vd_subs_format fmt, const struct vd_cue *cues, size_t n,
                  int line_chars) VD_WUR;

/* "HH:MM:SS,mmm" (sep ',') or "HH:MM:SS.mmm" (sep '.'); buf >= 32 bytes. */
void vd_subs_timestamp(double t, char sep, char *buf, size_t len);

#endif
