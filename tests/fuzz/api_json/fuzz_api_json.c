/*
 * fuzz_api_json.c: the parts of the API that read client input without a
 * connection: POST /api/v1/analyses bodies (JSON parse, field checks,
 * analysis names and parameters through the runner's validation), and id
 * parsing: blob id prefixes (resolved against an empty blob folder) and job
 * ids. Input: the JSON body; its first line doubles as the id to parse.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_int.h"
#include "core/util.h"

static struct vd_blobs *blobs;
static char dir[] = "/tmp/vd-fuzz-api.XXXXXX";

static void cleanup(void) {
  char *t = vd_xasprintf("%s/tmp", dir);
  rmdir(t);
  rmdir(dir);
  free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536)
    return 0;
  if (!blobs) {
    if (!mkdtemp(dir) || vd_blobs_open(&blobs, dir, NULL) < 0)
      abort();
    atexit(cleanup);
  }
  struct vd_err err = {0};
  json_t *req = vd__api_parse_analysis_request((const char *)data, size, &err);
  if (req) {
    /* What the handler does next with a valid body. */
    char *a = json_dumps(json_object_get(req, "analyses"), JSON_COMPACT);
    free(a);
    json_decref(req);
  } else if (!err.msg[0]) {
    abort(); /* every refusal must say why */
  }
  char id[129];
  size_t n = 0;
  while (n < size && n < sizeof(id) - 1 && data[n] != '\n')
    n++;
  memcpy(id, data, n);
  id[n] = '\0';
  char ids[4][VD_BLOB_ID_LEN + 1];
  int r = vd_blob_resolve(blobs, id, ids, 4, NULL);
  if (r > 0)
    abort(); /* the folder is empty */
  if ((r == 0) != (vd_blob_prefix_valid(id) == 1))
    abort();
  (void)vd__api_job_id_ok(id);
  return 0;
}
