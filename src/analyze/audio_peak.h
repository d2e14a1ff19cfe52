/*
 * audio_peak.h: true peak (ITU-R BS.1770-4 Annex 2): the highest absolute
 * value of the signal oversampled 4x, per channel, for the `audio`
 * analysis.
 *
 * DESIGN
 * - A 48-tap polyphase interpolator (Hann-windowed sinc, cutoff at the
 *   input's Nyquist frequency, each phase normalised to unit DC gain), the
 *   shape the recommendation describes.
 * - Most blocks of a programme cannot beat the peak found so far: a block
 *   whose largest |sample| (over the filter's reach) times the filter's
 *   largest absolute-sum gain is at most that peak is skipped without
 *   interpolating. That bound is exact, so skipping never changes the
 *   result; it makes the meter several times cheaper than interpolating
 *   everything (libebur128's true-peak mode doubled the analysis's cost).
 *
 * Ownership: the caller embeds struct vd_audio_peak; _init/_fini.
 * Threading: one object, one thread.
 */
#ifndef VD_ANALYZE_AUDIO_PEAK_H
#define VD_ANALYZE_AUDIO_PEAK_H

#include <stddef.h>

#define VD_PEAK_TAPS 12        /* per phase; 4 phases */
#define VD_PEAK_MAX_CH 64

struct vd_audio_peak {
  int channels;
  float hist[VD_PEAK_MAX_CH][VD_PEAK_TAPS - 1]; /* last input samples per channel */
  double peak;                 /* linear, highest over channels and layouts */
  float *buf;                  /* one channel's history + chunk */
  size_t cap;
};

void vd_audio_peak_init(struct vd_audio_peak *p);
void vd_audio_peak_fini(struct vd_audio_peak *p);
/* Interleaved samples; a change of channel count restarts the filter
 * history (the peak so far is kept). Channels past VD_PEAK_MAX_CH are
 * ignored (the media layer refuses more than 64 anyway). */
void vd_audio_peak_add(struct vd_audio_peak *p, const float *x, size_t n, int channels);

#endif
