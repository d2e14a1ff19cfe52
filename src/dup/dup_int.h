/*
 * dup_int.h: what the files of src/dup share: the fingerprint's layout and
 * the alignment of two series (match.c), which the index (index.c) uses to
 * verify its candidates. Private to src/dup and its tests.
 */
#ifndef VD_DUP_DUP_INT_H
#define VD_DUP_DUP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dup/dup.h"

#define VD_FP_FLAT 1u   /* picture sample flag: no detail (black, one colour) */
#define VD_FP_SILENT 1u /* sound word flag: computed from near-silence */

/* Lengths under which a series counts as absent: 1 s of informative
 * samples at the default rates. Fewer cannot be aligned meaningfully. */
#define VD_FP_MIN_PICTURE 4
#define VD_FP_MIN_SOUND 8

struct vd_fp {
  double pic_start;   /* seconds: time of picture sample 0 */
  double pic_period;  /* seconds between picture samples */
  uint64_t *pic;      /* n_pic hashes of the border-free picture */
  uint64_t *zoom;     /* n_pic hashes of its central 90% */
  uint8_t *pic_flags; /* n_pic VD_FP_FLAT flags */
  size_t n_pic, cap_pic;
  size_t pic_info;    /* samples that are not flat */
  double snd_start;   /* seconds: centre of word 0 */
  double snd_period;  /* seconds between words */
  uint32_t *snd;      /* n_snd Chromaprint raw words */
  uint8_t *snd_flags; /* n_snd VD_FP_SILENT flags */
  size_t n_snd;
  size_t snd_info;    /* words that are not silent */
};

/* Fingerprints recount their informative samples after being filled. */
void vd__fp_recount(struct vd_fp *fp);

#endif
