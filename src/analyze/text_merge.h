/*
 * text_merge: the pure half of the `text` analysis (no OCR engine): which
 * recognised words are worth keeping, how alike two texts are, and the
 * merging of per-sample OCR results into timed segments.
 *
 * DESIGN
 * - A sample is what OCR read in one frame: lines of kept words with boxes
 *   normalised to [0,1] and confidences in [0,1]. Its text is its lines
 *   joined by '\n'.
 * - Consecutive samples whose texts are alike (normalised edit distance
 *   <= max_dist, see vd_text_distance, and the same numbers, i.e. digits
 *   of words without letters: "Score 3" and "Score 4" are two texts, while
 *   "W0RLD" is a misread "WORLD") form one segment. On-screen text is
 *   read a little differently from frame to frame (a moving background, a
 *   stray mark), so the segment keeps the lines of its most confident
 *   sample, and later samples are compared with that one.
 * - A segment spans [first sample, last sample + interval): the text was
 *   there until the next sample showed otherwise. One sample without text
 *   between two alike samples (OCR missed a frame) does not split the
 *   segment; two do.
 * - Optionally (confirm) a line must be read in a neighbouring sample too,
 *   see vd_text_merger_new.
 * - Memory: the open segment's best sample, up to five held readings, and
 *   the finished segments as JSON, about 200 bytes per line of text on
 *   screen; other samples are not kept.
 *
 * Ownership: arguments are borrowed; vd_text_merger_add copies what it
 * keeps. JSON returned by vd_text_merger_finish belongs to the caller.
 * Threading: a merger is used by one thread at a time.
 */
#ifndef VD_ANALYZE_TEXT_MERGE_H
#define VD_ANALYZE_TEXT_MERGE_H

#include <jansson.h>
#include <stddef.h>

#define VD_TEXT_MAX_CHARS 4000 /* bytes of one sample's text compared; more is cut */

struct vd_text_line {
  char *text;        /* words joined by one space, UTF-8 */
  float box[4];      /* x, y, w, h, normalised to the picture */
  float confidence;  /* mean word confidence, 0..1 */
  int words;
};

struct vd_text_sample {
  double time;       /* seconds */
  struct vd_text_line *lines;
  int n;
};

/*
 * 1 if a recognised word is text rather than noise: it has at least one
 * letter or digit, and letters and digits are at least half of its
 * characters (so "|", "—", "._", "-a-" and "C++" go; "42", "HELLO," and
 * "x." stay). Characters outside ASCII count as letters, except Latin-1
 * signs (U+00A0-00BF) and U+2000-2FFF (dashes, quotes, arrows, boxes).
 */
int vd_text_word_ok(const char *w);

/*
 * Levenshtein distance between `a` and `b` (bytes, each cut at
 * VD_TEXT_MAX_CHARS), divided by the longer length: 0 = same, 1 = nothing
 * in common. Two empty texts are at 0.
 */
double vd_text_distance(const char *a, const char *b);

/* 1 if boxes a and b ([x,y,w,h]) overlap by at least 30% of the smaller
 * one's area: "the same place" for two readings of a line. */
int vd_text_boxes_overlap(const float *a, const float *b);

/* The sample's lines joined by '\n'; caller frees. */
char *vd_text_sample_text(const struct vd_text_sample *s);

struct vd_text_merger;

/*
 * `interval` = seconds between samples (> 0); `max_dist` in [0,1].
 * `confirm` = 1: a line is kept only when another sample at most two
 * before or after it has a line with alike text (distance <= max_dist) in
 * an overlapping box (intersection >= 30% of the smaller box). Texture read
 * as letters lands somewhere else, as something else, in every frame; real
 * text stays. Two, not one: OCR misses a caption now and then (one frame of
 * a moving background), and that must not cost the readings on either side.
 * The price: text on screen for a single sample is dropped, and the merger
 * holds two readings back.
 */
struct vd_text_merger *vd_text_merger_new(double interval, double max_dist, int confirm);
void vd_text_merger_free(struct vd_text_merger *m);

/* Feeds the next sample, in time order. A sample without lines is a frame
 * without text. */
void vd_text_merger_add(struct vd_text_merger *m, const struct vd_text_sample *s);

/*
 * Closes the open segment and returns the segments:
 * [{"start", "end", "text", "lines": [{"text", "box": [x,y,w,h],
 * "confidence"}], "words"}], times in seconds (ms precision), ends clamped
 * to `end_time` when it is > 0. *words receives the words in all segments.
 * The merger is empty afterwards.
 */
json_t *vd_text_merger_finish(struct vd_text_merger *m, double end_time, long long *words);

void vd_text_line_fini(struct vd_text_line *l);
/* Frees a sample's lines (filled by OCR or by hand) and empties it. */
void vd_text_sample_clear(struct vd_text_sample *s);

#endif
