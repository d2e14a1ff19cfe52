/*
 * audio_feat.h: the signal side of the `audio` analysis, free of the runner
 * so tests can feed it buffers: librosa-style frame features (RMS, spectral
 * centroid, zero-crossing rate, onset envelope and tempo) on audio at
 * 22050 Hz averaged to mono, and EBU R128 loudness (libebur128) on the
 * native channels. Values
 * are accumulated per fine bucket of VD_AUDIO_FINE seconds, so any range
 * (a timeline point, a scene) can be summarised afterwards with memory that
 * grows only with the duration (about 200 bytes per second), never with
 * the sample count.
 *
 * Definitions (librosa 0.10 defaults at 22050 Hz, which the earlier system
 * used): frames of 2048 samples every 512, centred (the signal is padded
 * with 1024 zeros at each end), so a signal of n samples gives
 * 1 + n/512 frames.
 * - rms: sqrt(mean(x^2)) over the frame, no window.
 * - centroid: sum(f*|X(f)|) / sum(|X(f)|) over the periodic-Hann 2048-point
 *   spectrum, in Hz; 0 for an all-zero frame (as librosa).
 * - zcr: sign changes between neighbouring samples of the frame divided by
 *   the frame length (|x| <= 1e-10 counts as +0), a fraction per sample:
 *   a 1 kHz sine at 22050 Hz gives 2000/22050 = 0.0907.
 * - tempo: as librosa.feature.tempo: the onset strength envelope (mean
 *   rise in dB over mel-spaced bands, one value per frame) is
 *   autocorrelated over lags of 30..300 BPM, weighted by a log-normal prior
 *   centred on 120 BPM (one octave wide), and the best lag is interpolated.
 *   0 when the envelope does not repeat (normalised autocorrelation peak
 *   under 0.1: steady tones, noise, silence) or the range is too short for
 *   two periods.
 * - silence: frames whose RMS is below 0.001 (-60 dBFS).
 *
 * Ownership: arguments are borrowed; vd_audio_feat_new hands the caller an
 * object to release with vd_audio_feat_free (NULL is fine).
 * Threading: one object is used by one thread at a time.
 */
#ifndef VD_ANALYZE_AUDIO_FEAT_H
#define VD_ANALYZE_AUDIO_FEAT_H

#include <stddef.h>

#include "core/err.h"

#define VD_AUDIO_RATE 22050 /* Hz: the rate the mono features run at */
#define VD_AUDIO_FINE 0.1   /* seconds per fine bucket */

struct vd_audio_feat;

/* Summary of a time range. NaN where nothing was measured. */
struct vd_audio_stats {
  double rms;          /* mean frame RMS, full scale = 1 */
  double centroid;     /* mean spectral centroid, Hz */
  double zcr;          /* mean zero-crossing rate, crossings per sample */
  double tempo;        /* BPM, 0 = no periodic onsets */
  double tempo_strength; /* normalised autocorrelation at the tempo's lag, [0,1] */
  double silence;      /* fraction of frames below -60 dBFS, [0,1] */
  double shortterm;    /* LUFS, short-term (3 s) loudness at the range's end */
  double momentary_max; /* LUFS, highest momentary (400 ms) loudness */
  size_t frames;       /* analysis frames in the range */
};

struct vd_audio_loudness {
  double integrated;   /* LUFS (gated, BS.1770-4); NaN when all is below the gate */
  double range;        /* LU (EBU Tech 3342); NaN when undefined */
  double true_peak;    /* dBTP, highest 4x-oversampled value over channels
                          (audio_peak.h); NaN without audio, -inf for zeros */
};

/*
 * `max_seconds` caps the range of time stored (later audio is ignored and
 * vd_audio_feat_truncated() says so). Fails with VD_ERR_UNSUPPORTED, and a
 * message, when vidan was built without libebur128.
 */
int vd_audio_feat_new(struct vd_audio_feat **out, double max_seconds, struct vd_err *err) VD_WUR;
void vd_audio_feat_free(struct vd_audio_feat *f);

/* Interleaved float samples at VD_AUDIO_RATE, averaged to mono; `time` is
 * the first sample's time in seconds (only the first call's is used:
 * samples are taken as contiguous). */
void vd_audio_feat_mono(struct vd_audio_feat *f, const float *x, size_t n, int channels,
                        double time);
/* Interleaved float samples at their native layout and rate, for loudness.
 * The layout may change between calls (the meter is then reconfigured). */
int vd_audio_feat_native(struct vd_audio_feat *f, const float *x, size_t n, int channels,
                         int rate, double time, struct vd_err *err) VD_WUR;
/* Ends the input: pads and measures the last frames. */
void vd_audio_feat_end(struct vd_audio_feat *f);

/* After vd_audio_feat_end: summary of [t0, t1) in seconds. */
void vd_audio_feat_range(const struct vd_audio_feat *f, double t0, double t1,
                         struct vd_audio_stats *out);
void vd_audio_feat_loudness(const struct vd_audio_feat *f, struct vd_audio_loudness *out);
/* End of the audio seen (seconds), the later of the two inputs. */
double vd_audio_feat_end_time(const struct vd_audio_feat *f);
int vd_audio_feat_truncated(const struct vd_audio_feat *f);

#endif
