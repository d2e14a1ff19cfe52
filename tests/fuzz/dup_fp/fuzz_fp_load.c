/*
 * fuzz_fp_load.c: the serialized fingerprint reader (vd_fp_load), which
 * reads what the store and API clients hand back. Each input is tried
 * twice: as is (the checksum turns away most mutations), and with its last
 * four bytes replaced by the right CRC-32, so the mutations reach the
 * header, count and flag checks behind it. What loads must save back to
 * the same bytes, compare with itself as a duplicate when it has enough of
 * a series, and go through the index. The text path (base64) gets the
 * input as a string too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/crc.h>

#include "dup/dup.h"

static struct vd_dup_index *ix; /* one for the process: its tables are 6 MB */

static void check(const uint8_t *data, size_t size) {
  struct vd_fp *fp = NULL;
  struct vd_err err = {0};
  int ret = vd_fp_load(data, size, &fp, &err);
  if (ret < 0) {
    if (fp || !err.msg[0])
      abort(); /* a refusal returns nothing and says why */
    return;
  }
  void *buf;
  size_t len;
  if (vd_fp_save(fp, &buf, &len, NULL) < 0 || len != size || memcmp(buf, data, size))
    abort(); /* the form is canonical: what loads saves back identically */
  free(buf);
  struct vd_dup_match m;
  vd_dup_compare(fp, fp, &m);
  if (m.picture > 1 || m.sound > 1 || m.coverage < 0 || m.coverage > 1)
    abort();
  if (!ix)
    ix = vd_dup_index_new();
  struct vd_dup_hit *hits;
  size_t n;
  if (vd_dup_index_add(ix, "x", fp, NULL) < 0)
    abort();
  struct vd_fp *again = NULL;
  if (vd_fp_load(data, size, &again, NULL) < 0)
    abort();
  if (vd_dup_index_query(ix, again, NULL, 3, &hits, &n, NULL) < 0)
    abort();
  vd_dup_hits_free(hits, n);
  vd_fp_free(again);
  if (vd_dup_index_remove(ix, "x") < 0 || vd_dup_index_size(ix) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 20)
    return 0;
  check(data, size);
  if (size >= 8) {
    uint8_t *fixed = malloc(size);
    memcpy(fixed, data, size);
    uint32_t crc = av_crc(av_crc_get_table(AV_CRC_32_IEEE), 0xffffffffu, fixed, size - 4) ^
                   0xffffffffu;
    for (int i = 0; i < 4; i++)
      fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    check(fixed, size);
    free(fixed);
  }
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  struct vd_fp *fp = NULL;
  struct vd_err err = {0};
  if (vd_fp_load_base64(text, &fp, &err) < 0 && (fp || !err.msg[0]))
    abort();
  vd_fp_free(fp);
  free(text);
  return 0;
}
