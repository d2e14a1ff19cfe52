/*
 * fp.c: the fingerprint value: building it, and its serialized form.
 *
 * Serialized form (all integers little-endian), version 1:
 *   off  size  field
 *   0    4     magic "VDFP"
 *   4    2     version (1)
 *   6    2     reserved, 0
 *   8    8     picture start, microseconds (signed)
 *   16   4     picture period, microseconds
 *   20   4     picture samples n_pic (<= VD_FP_MAX_PICTURE)
 *   24   8     sound start, microseconds (signed)
 *   32   4     sound period, microseconds
 *   36   4     sound words n_snd (<= VD_FP_MAX_SOUND)
 *   40   8*n_pic  picture hashes (whole picture)
 *   ..   8*n_pic  picture zoom hashes (its central 90%)
 *   ..   n_pic    picture flags (bit 0: flat)
 *   ..   4*n_snd  sound words
 *   ..   n_snd    sound flags (bit 0: silent)
 *   ..   4     CRC-32 (IEEE) of every byte before it
 * The length must be exactly what the counts say; periods lie in
 * [10 ms, 60 s]; starts within +-48 h; flags use only bit 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/crc.h>

#include "core/util.h"
#include "dup/dup_int.h"

#define MAGIC "VDFP"
#define VERSION 1
#define HEADER 40
#define MIN_PERIOD_US 10000u
#define MAX_PERIOD_US 60000000u
#define MAX_START_US (48LL * 3600 * 1000000)

struct vd_fp *vd_fp_new(double picture_period) {
  struct vd_fp *fp = vd_xcalloc(1, sizeof(*fp));
  if (!(picture_period >= 0.01))
    picture_period = 0.01;
  if (picture_period > 60)
    picture_period = 60;
  fp->pic_period = picture_period;
  fp->snd_period = 4096.0 / 3 / 11025; /* Chromaprint's item step; set again with the words */
  return fp;
}

void vd_fp_free(struct vd_fp *fp) {
  if (!fp)
    return;
  free(fp->pic);
  free(fp->zoom);
  free(fp->pic_flags);
  free(fp->snd);
  free(fp->snd_flags);
  free(fp);
}

void vd__fp_recount(struct vd_fp *fp) {
  fp->pic_info = fp->snd_info = 0;
  for (size_t i = 0; i < fp->n_pic; i++)
    fp->pic_info += !(fp->pic_flags[i] & VD_FP_FLAT);
  for (size_t i = 0; i < fp->n_snd; i++)
    fp->snd_info += !(fp->snd_flags[i] & VD_FP_SILENT);
}

/* Keeps every other sample and doubles the period: the series stays a
 * regular grid from the same start, at half the rate. */
static void halve_picture(struct vd_fp *fp) {
  size_t k = 0;
  for (size_t i = 0; i < fp->n_pic; i += 2, k++) {
    fp->pic[k] = fp->pic[i];
    fp->zoom[k] = fp->zoom[i];
    fp->pic_flags[k] = fp->pic_flags[i];
  }
  fp->n_pic = k;
  fp->pic_period *= 2;
}

static void push_picture(struct vd_fp *fp, uint64_t hash, uint64_t zoom, uint8_t flags) {
  if (fp->n_pic == fp->cap_pic) {
    fp->cap_pic = fp->cap_pic ? fp->cap_pic * 2 : 256;
    fp->pic = vd_xrealloc(fp->pic, fp->cap_pic * sizeof(*fp->pic));
    fp->zoom = vd_xrealloc(fp->zoom, fp->cap_pic * sizeof(*fp->zoom));
    fp->pic_flags = vd_xrealloc(fp->pic_flags, fp->cap_pic);
  }
  fp->pic[fp->n_pic] = hash;
  fp->zoom[fp->n_pic] = zoom;
  fp->pic_flags[fp->n_pic++] = flags;
  fp->pic_info += !(flags & VD_FP_FLAT);
}

void vd_fp_add_picture(struct vd_fp *fp, double time, uint64_t hash, uint64_t zoom, int flat) {
  uint8_t flags = flat ? VD_FP_FLAT : 0;
  if (!isfinite(time))
    return;
  if (!fp->n_pic) {
    fp->pic_start = time;
    push_picture(fp, hash, zoom, flags);
    return;
  }
  double slot = floor((time - fp->pic_start) / fp->pic_period + 0.5);
  if (slot <= (double)(fp->n_pic - 1))
    return; /* this grid point is taken (or time went back) */
  /* a gap repeats the last sample; a huge jump is capped by the halving */
  while ((double)(fp->n_pic - 1) < slot) {
    if (fp->n_pic >= VD_FP_MAX_PICTURE) {
      halve_picture(fp);
      vd__fp_recount(fp);
      slot = floor((time - fp->pic_start) / fp->pic_period + 0.5);
      if (slot <= (double)(fp->n_pic - 1))
        return;
      continue;
    }
    if ((double)fp->n_pic == slot)
      push_picture(fp, hash, zoom, flags);
    else
      push_picture(fp, fp->pic[fp->n_pic - 1], fp->zoom[fp->n_pic - 1],
                   fp->pic_flags[fp->n_pic - 1]);
  }
}

void vd_fp_set_sound(struct vd_fp *fp, double start, double period, const uint32_t *words,
                     const uint8_t *silent, size_t n) {
  free(fp->snd);
  free(fp->snd_flags);
  fp->snd = NULL;
  fp->snd_flags = NULL;
  fp->n_snd = 0;
  size_t step = 1;
  while (n / step > VD_FP_MAX_SOUND)
    step++;
  size_t m = n / step;
  fp->snd_start = start;
  fp->snd_period = period * (double)step;
  if (m) {
    fp->snd = vd_xmalloc(m * sizeof(*fp->snd));
    fp->snd_flags = vd_xmalloc(m);
    for (size_t i = 0; i < m; i++) {
      fp->snd[i] = words[i * step];
      fp->snd_flags[i] = silent && silent[i * step] ? VD_FP_SILENT : 0;
    }
  }
  fp->n_snd = m;
  vd__fp_recount(fp);
}

double vd_fp_picture_seconds(const struct vd_fp *fp) {
  return fp->n_pic ? (double)fp->n_pic * fp->pic_period : 0;
}
double vd_fp_sound_seconds(const struct vd_fp *fp) {
  return fp->n_snd ? (double)fp->n_snd * fp->snd_period : 0;
}
size_t vd_fp_picture_samples(const struct vd_fp *fp) { return fp->n_pic; }
size_t vd_fp_sound_words(const struct vd_fp *fp) { return fp->n_snd; }
void vd_fp_informative(const struct vd_fp *fp, size_t *picture, size_t *sound) {
  if (picture)
    *picture = fp->pic_info;
  if (sound)
    *sound = fp->snd_info;
}

/* ---- serialized form ----------------------------------------------------- */

static void put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    v |= (uint32_t)p[i] << (8 * i);
  return v;
}
static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static uint32_t crc(const uint8_t *p, size_t n) {
  return av_crc(av_crc_get_table(AV_CRC_32_IEEE), 0xffffffffu, p, n) ^ 0xffffffffu;
}

static uint32_t period_us(double s) {
  double us = floor(s * 1e6 + 0.5);
  return us < MIN_PERIOD_US ? MIN_PERIOD_US : us > MAX_PERIOD_US ? MAX_PERIOD_US : (uint32_t)us;
}

static int64_t start_us(double s) {
  double us = floor(s * 1e6 + 0.5);
  return us < (double)-MAX_START_US ? -MAX_START_US
         : us > (double)MAX_START_US ? MAX_START_US
                                    : (int64_t)us;
}

int vd_fp_save(const struct vd_fp *fp, void **buf, size_t *len, struct vd_err *err) {
  (void)err; /* nothing here can fail but allocation, which aborts */
  size_t n = HEADER + fp->n_pic * 17 + fp->n_snd * 5 + 4;
  uint8_t *b = vd_xmalloc(n), *p = b;
  memcpy(p, MAGIC, 4);
  put16(p + 4, VERSION);
  put16(p + 6, 0);
  put64(p + 8, (uint64_t)start_us(fp->pic_start));
  put32(p + 16, period_us(fp->pic_period));
  put32(p + 20, (uint32_t)fp->n_pic);
  put64(p + 24, (uint64_t)start_us(fp->snd_start));
  put32(p + 32, period_us(fp->snd_period));
  put32(p + 36, (uint32_t)fp->n_snd);
  p += HEADER;
  for (size_t i = 0; i < fp->n_pic; i++, p += 8)
    put64(p, fp->pic[i]);
  for (size_t i = 0; i < fp->n_pic; i++, p += 8)
    put64(p, fp->zoom[i]);
  if (fp->n_pic) /* an empty series has no arrays at all */
    memcpy(p, fp->pic_flags, fp->n_pic);
  p += fp->n_pic;
  for (size_t i = 0; i < fp->n_snd; i++, p += 4)
    put32(p, fp->snd[i]);
  if (fp->n_snd)
    memcpy(p, fp->snd_flags, fp->n_snd);
  p += fp->n_snd;
  put32(p, crc(b, n - 4));
  *buf = b;
  *len = n;
  return 0;
}

int vd_fp_load(const void *buf, size_t len, struct vd_fp **out, struct vd_err *err) {
  const uint8_t *b = buf;
  *out = NULL;
  if (!b || len < HEADER + 4 || memcmp(b, MAGIC, 4))
    return vd_err_set(err, VD_ERR_CORRUPT, "not a vidan fingerprint (bad magic or too short)");
  uint32_t version = get16(b + 4);
  if (version != VERSION)
    return vd_err_set(err, VD_ERR_CORRUPT,
                      "fingerprint version %u is not the version %d this build reads: "
                      "fingerprint the video again",
                      version, VERSION);
  uint32_t n_pic = get32(b + 20), n_snd = get32(b + 36);
  if (n_pic > VD_FP_MAX_PICTURE || n_snd > VD_FP_MAX_SOUND)
    return vd_err_set(err, VD_ERR_LIMIT,
                      "fingerprint holds %u picture samples and %u sound words; at most %d and "
                      "%d are accepted",
                      n_pic, n_snd, VD_FP_MAX_PICTURE, VD_FP_MAX_SOUND);
  size_t want = HEADER + (size_t)n_pic * 17 + (size_t)n_snd * 5 + 4;
  if (len != want)
    return vd_err_set(err, VD_ERR_CORRUPT, "fingerprint is %zu bytes, its counts say %zu", len,
                      want);
  if (get16(b + 6) != 0 || crc(b, len - 4) != get32(b + len - 4))
    return vd_err_set(err, VD_ERR_CORRUPT, "fingerprint is damaged (checksum mismatch)");
  int64_t ps = (int64_t)get64(b + 8), ss = (int64_t)get64(b + 24);
  uint32_t pp = get32(b + 16), sp = get32(b + 32);
  if (ps < -MAX_START_US || ps > MAX_START_US || ss < -MAX_START_US || ss > MAX_START_US ||
      pp < MIN_PERIOD_US || pp > MAX_PERIOD_US || sp < MIN_PERIOD_US || sp > MAX_PERIOD_US)
    return vd_err_set(err, VD_ERR_CORRUPT, "fingerprint has an impossible start or period");
  const uint8_t *pf = b + HEADER + (size_t)n_pic * 16, *sf = pf + n_pic + (size_t)n_snd * 4;
  for (size_t i = 0; i < n_pic; i++)
    if (pf[i] & ~VD_FP_FLAT)
      return vd_err_set(err, VD_ERR_CORRUPT, "fingerprint has unknown picture flags");
  for (size_t i = 0; i < n_snd; i++)
    if (sf[i] & ~VD_FP_SILENT)
      return vd_err_set(err, VD_ERR_CORRUPT, "fingerprint has unknown sound flags");
  struct vd_fp *fp = vd_fp_new(pp / 1e6);
  fp->pic_start = (double)ps / 1e6;
  fp->snd_start = (double)ss / 1e6;
  fp->snd_period = sp / 1e6;
  fp->n_pic = fp->cap_pic = n_pic;
  fp->n_snd = n_snd;
  fp->pic = vd_xmalloc((n_pic ? n_pic : 1) * sizeof(*fp->pic));
  fp->zoom = vd_xmalloc((n_pic ? n_pic : 1) * sizeof(*fp->zoom));
  fp->pic_flags = vd_xmalloc(n_pic ? n_pic : 1);
  fp->snd = vd_xmalloc((n_snd ? n_snd : 1) * sizeof(*fp->snd));
  fp->snd_flags = vd_xmalloc(n_snd ? n_snd : 1);
  const uint8_t *p = b + HEADER;
  for (size_t i = 0; i < n_pic; i++, p += 8)
    fp->pic[i] = get64(p);
  for (size_t i = 0; i < n_pic; i++, p += 8)
    fp->zoom[i] = get64(p);
  memcpy(fp->pic_flags, pf, n_pic);
  p = pf + n_pic;
  for (size_t i = 0; i < n_snd; i++, p += 4)
    fp->snd[i] = get32(p);
  memcpy(fp->snd_flags, sf, n_snd);
  vd__fp_recount(fp);
  *out = fp;
  return 0;
}

/* ---- base64 ---------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *vd_fp_save_base64(const struct vd_fp *fp) {
  void *raw;
  size_t n;
  if (vd_fp_save(fp, &raw, &n, NULL) < 0)
    return NULL;
  const uint8_t *s = raw;
  char *out = vd_xmalloc((n + 2) / 3 * 4 + 1), *o = out;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
                 (i + 2 < n ? s[i + 2] : 0);
    *o++ = b64[v >> 18];
    *o++ = b64[(v >> 12) & 63];
    *o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
    *o++ = i + 2 < n ? b64[v & 63] : '=';
  }
  *o = '\0';
  free(raw);
  return out;
}

static int b64val(char c) {
  const char *p = c ? strchr(b64, c) : NULL;
  return p ? (int)(p - b64) : -1;
}

int vd_fp_load_base64(const char *text, struct vd_fp **out, struct vd_err *err) {
  *out = NULL;
  size_t len = text ? strlen(text) : 0;
  /* the largest valid fingerprint, in base64, plus slack */
  size_t max = (HEADER + (size_t)VD_FP_MAX_PICTURE * 17 + (size_t)VD_FP_MAX_SOUND * 5 + 4) / 3 * 4 + 8;
  if (!len || len % 4)
    return vd_err_set(err, VD_ERR_CORRUPT, "fingerprint data is not base64");
  if (len > max)
    return vd_err_set(err, VD_ERR_LIMIT, "fingerprint data is %zu characters, more than any "
                                         "fingerprint", len);
  uint8_t *raw = vd_xmalloc(len / 4 * 3), *o = raw;
  int ret = 0;
  for (size_t i = 0; i < len; i += 4) {
    int v[4];
    for (int k = 0; k < 4; k++)
      v[k] = b64val(text[i + k]);
    int pad = (text[i + 2] == '=' ? 2 : text[i + 3] == '=' ? 1 : 0);
    if (v[0] < 0 || v[1] < 0 || (pad && i + 4 != len) || (pad < 2 && v[2] < 0) ||
        (pad < 1 && v[3] < 0) || (pad == 2 && text[i + 3] != '=')) {
      ret = vd_err_set(err, VD_ERR_CORRUPT, "fingerprint data is not base64");
      goto out;
    }
    uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                 (pad < 2 ? (uint32_t)v[2] << 6 : 0) | (pad < 1 ? (uint32_t)v[3] : 0);
    *o++ = (uint8_t)(x >> 16);
    if (pad < 2)
      *o++ = (uint8_t)(x >> 8);
    if (pad < 1)
      *o++ = (uint8_t)x;
  }
  ret = vd_fp_load(raw, (size_t)(o - raw), out, err);
out:
  free(raw);
  return ret;
}

int vd_fp_from_result(const json_t *result, struct vd_fp **out, struct vd_err *err) {
  *out = NULL;
  const char *data = json_string_value(json_object_get(result, "data"));
  if (!data)
    return vd_err_set(err, VD_ERR_INVALID, "not a fingerprint result (no \"data\" text)");
  return vd_fp_load_base64(data, out, err);
}
