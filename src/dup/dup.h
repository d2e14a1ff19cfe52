/*
 * dup: near-duplicate detection by picture and sound.
 *
 * A video's fingerprint (struct vd_fp) holds two time series:
 * - picture: one compact perceptual hash per sample (two, in fact: the whole
 *   picture and its centre, see vd_fp_hash_picture), at a fixed sample rate,
 *   taken after the analysis removed what re-uploads commonly change
 *   (black borders, size, colour grading, mirroring);
 * - sound: Chromaprint's raw fingerprint (one 32-bit word per ~0.124 s).
 * Either series may be empty: a silent video has no sound, a song has no
 * picture.
 *
 * Two fingerprints are compared by aligning the series in time (an offset,
 * so a trimmed or cut copy still matches) and measuring how much of the
 * shorter one agrees. The verdict follows the duplicate-check service vidan
 * replaces (../shared/compat.md E):
 * - picture and sound both agree (or one side has no sound) → DUPLICATE;
 * - the picture agrees but the sound does not (one presenter, same set,
 *   different talks) → SAME_PICTURE, a hard case, not a duplicate;
 * - the sound agrees but the picture does not (different people dancing to
 *   one song) → SAME_SOUND, a hard case, not a duplicate.
 *
 * The index holds every fingerprint seen so far and answers "which earlier
 * videos does this one match": candidates come from an inverted index on
 * pieces of the hashes (so a query does not scan the library), and each
 * candidate is verified with vd_dup_compare().
 *
 * The serialized form (vd_fp_save / vd_fp_load) is what the store keeps and
 * what the `fingerprint` analysis returns (base64 in its JSON result). It
 * starts with a magic and a version, so a stored fingerprint from an older
 * build is refused with a clear error rather than misread.
 *
 * Ownership: arguments are borrowed; returned pointers belong to the caller,
 * except that vd_dup_index_add() takes the fingerprint it is given.
 * Threading: a vd_fp is immutable once built and may be read from any
 * thread. A vd_dup_index is thread-safe: queries run concurrently, adds and
 * removes are exclusive.
 */
#ifndef VD_DUP_DUP_H
#define VD_DUP_DUP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct vd_fp;
struct vd_dup_index;

/* Parses the serialized form. Errors: VD_ERR_CORRUPT (bad magic, version,
 * lengths), VD_ERR_LIMIT (more samples than any video vidan accepts). */
int vd_fp_load(const void *buf, size_t len, struct vd_fp **out, struct vd_err *err) VD_WUR;

/* Serializes; *buf is malloc'd and belongs to the caller. */
int vd_fp_save(const struct vd_fp *fp, void **buf, size_t *len, struct vd_err *err) VD_WUR;

/* Reads the fingerprint out of a `fingerprint` analysis result. */
int vd_fp_from_result(const json_t *result, struct vd_fp **out, struct vd_err *err) VD_WUR;

void vd_fp_free(struct vd_fp *fp);

/* Seconds covered by the picture and by the sound series (0 when empty). */
double vd_fp_picture_seconds(const struct vd_fp *fp);
double vd_fp_sound_seconds(const struct vd_fp *fp);

enum vd_dup_verdict {
  VD_DUP_VERDICT_NONE,         /* unrelated */
  VD_DUP_VERDICT_DUPLICATE,    /* same picture and same sound */
  VD_DUP_VERDICT_SAME_PICTURE, /* hard case: picture agrees, sound differs */
  VD_DUP_VERDICT_SAME_SOUND,   /* hard case: sound agrees, picture differs */
};

/* "none", "duplicate", "same_picture", "same_sound". */
const char *vd_dup_verdict_name(enum vd_dup_verdict v);

struct vd_dup_match {
  enum vd_dup_verdict verdict;
  double picture;  /* 0..1 similarity of the aligned pictures; -1 = one has none */
  double sound;    /* 0..1 similarity of the aligned sound; -1 = one has none */
  double offset;   /* seconds: query time t lines up with reference time t + offset,
                      measured in the middle of the shared stretch (taken from the
                      sound when it agrees); with a speed change it drifts away
                      from there (docs/dup.md) */
  double coverage; /* 0..1 share of the shorter video that lines up */
};

/* Compares two fingerprints. Never fails on valid fingerprints. */
void vd_dup_compare(const struct vd_fp *query, const struct vd_fp *ref, struct vd_dup_match *out);

struct vd_dup_hit {
  char *id;                /* the reference's id as given to vd_dup_index_add; caller frees */
  struct vd_dup_match match;
};

struct vd_dup_index *vd_dup_index_new(void);
void vd_dup_index_free(struct vd_dup_index *ix);

/* Adds `fp` under `id` (any string: a file id), taking `fp` even on failure.
 * Adding an id that is already there replaces its fingerprint. */
int vd_dup_index_add(struct vd_dup_index *ix, const char *id, struct vd_fp *fp,
                     struct vd_err *err) VD_WUR;

/* Removes `id`; 0 when it was there, VD_ERR_NOT_FOUND when not. */
int vd_dup_index_remove(struct vd_dup_index *ix, const char *id);

size_t vd_dup_index_size(const struct vd_dup_index *ix);

/*
 * Finds the indexed videos `query` matches, best first: duplicates, then
 * hard cases, each by similarity. At most `max` hits go to *hits (malloc'd
 * array; free each id, then the array, or call vd_dup_hits_free); *n tells
 * how many. Unrelated videos are not returned. `exclude_id` (may be NULL)
 * is skipped, so a video already in the index does not match itself.
 */
int vd_dup_index_query(struct vd_dup_index *ix, const struct vd_fp *query, const char *exclude_id,
                       size_t max, struct vd_dup_hit **hits, size_t *n, struct vd_err *err) VD_WUR;

void vd_dup_hits_free(struct vd_dup_hit *hits, size_t n);

/* ---- building a fingerprint (the `fingerprint` analysis; tests) ----------------
 * Added beside the fixed interface above. A fingerprint is built by one
 * thread, then treated as immutable. */

#define VD_FP_MAX_PICTURE 28800 /* samples: 2 h at 4/s; longer videos are subsampled */
#define VD_FP_MAX_SOUND 65536   /* Chromaprint words: 2.25 h; longer sound is subsampled */

/* An empty fingerprint whose picture samples will be `picture_period`
 * seconds apart (0.01 .. 60). Caller frees. */
struct vd_fp *vd_fp_new(double picture_period);

/*
 * Appends the picture sample taken at `time` seconds (times must not go
 * back). Samples sit on a regular grid from the first one's time: a sample
 * that falls on a grid point already filled is dropped, a gap is filled by
 * repeating the previous sample. Past VD_FP_MAX_PICTURE samples every other
 * one is dropped and the period doubles, so memory stays bounded. `hash`
 * and `zoom` are vd_fp_hash_picture's two hashes; `flat` = 1 marks a
 * sample that carries no picture (black, one colour): it never counts as
 * agreeing with anything.
 */
void vd_fp_add_picture(struct vd_fp *fp, double time, uint64_t hash, uint64_t zoom, int flat);

/*
 * Sets the sound series: `n` Chromaprint raw words, the first centred at
 * `start` seconds, `period` seconds apart; silent[i] != 0 marks a word
 * computed from near-silence (never counts as agreeing). More than
 * VD_FP_MAX_SOUND words are subsampled evenly. Replaces an earlier series.
 */
void vd_fp_set_sound(struct vd_fp *fp, double start, double period, const uint32_t *words,
                     const uint8_t *silent, size_t n);

/*
 * The perceptual hash of one grey picture (w x h bytes, rows `stride`
 * apart): black borders are cut off, the rest is shrunk to 32x32 by area
 * averaging, and the 64 bits are the signs of its lowest DCT coefficients
 * but the mean. A brightness or contrast change leaves the signs alone, and
 * a horizontal mirror flips exactly the coefficients of odd horizontal
 * frequency: vd_fp_mirror() of a picture's hash is its mirror image's hash.
 * *zoom receives the same hash of the central 90% of the border-free
 * picture, which a copy cropped by ~10% matches (see phash.c).
 * *flat = 1 when the picture has (almost) no detail.
 */
uint64_t vd_fp_hash_picture(const uint8_t *grey, int w, int h, int stride, uint64_t *zoom,
                            int *flat);
uint64_t vd_fp_mirror(uint64_t hash);

/* Base64 (RFC 4648) of vd_fp_save's form, as the `fingerprint` result's
 * "data" and the store keep it; NUL-terminated, caller frees. */
char *vd_fp_save_base64(const struct vd_fp *fp);
/* Parses that text; errors as vd_fp_load, VD_ERR_CORRUPT for bad base64. */
int vd_fp_load_base64(const char *text, struct vd_fp **out, struct vd_err *err) VD_WUR;

/* Sample counts of each series (tests, summaries). */
size_t vd_fp_picture_samples(const struct vd_fp *fp);
size_t vd_fp_sound_words(const struct vd_fp *fp);
/* Of those, the samples that carry something: picture samples not flat,
 * sound words not silent. Either may be NULL. */
void vd_fp_informative(const struct vd_fp *fp, size_t *picture, size_t *sound);

/* 1 when `id` is in the index. */
int vd_dup_index_contains(struct vd_dup_index *ix, const char *id);

/*
 * The `duplicates` result for a query's hits, best first (what
 * vd_dup_index_query returns): {"is_duplicate", "duplicate_for" (id or
 * null), "hard_cases": [{"id", "verdict"}], "matches": [{"id", "verdict",
 * "picture", "sound", "offset", "coverage"}], "compared_with"}. Similarities
 * of -1 (a side has none) are null. Caller owns the value.
 */
json_t *vd_dup_result_json(const struct vd_dup_hit *hits, size_t n, size_t compared_with);

#endif
