/*
 * blob: content-addressed file storage. A blob's id is the lowercase hex
 * SHA-256 of its bytes; it lives at <dir>/<id[0..2]>/<id>.
 *
 * DESIGN
 * - Writing streams: bytes go to a temp file under <dir>/tmp while they are
 *   hashed, so memory stays bounded whatever the size. Commit fsyncs the
 *   file, renames it to its final name and fsyncs the folder: a blob that
 *   exists under its final name is complete, even after a crash.
 * - Identical content is stored once: when the final name already exists,
 *   the temp file is dropped. Two concurrent writers of the same bytes both
 *   succeed; the second rename replaces identical bytes with identical bytes.
 * - Any unique prefix of at least VD_BLOB_MIN_PREFIX hex characters names a
 *   blob; vd_blob_resolve() reports ambiguity with the candidates.
 * - Temp files of writers that died (process killed mid-upload) are removed
 *   by vd_blobs_sweep_tmp() at start-up.
 * - Reference counting is not here: the store knows which files and
 *   artifacts use a blob, and asks for deletion when nothing does.
 *
 * Ownership: arguments are borrowed; returned heap strings belong to the
 * caller. A vd_blob_writer is freed by vd_blob_commit() or vd_blob_abort(),
 * whichever is called, whatever the outcome.
 * Threading: a vd_blobs may be shared by all threads; a writer is used by
 * one thread at a time.
 */
#ifndef VD_BLOB_BLOB_H
#define VD_BLOB_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define VD_BLOB_MIN_PREFIX 6
#define VD_BLOB_ID_LEN 64

struct vd_blobs;
struct vd_blob_writer;

/* Opens (creating as needed) the blob folder `dir`. */
int vd_blobs_open(struct vd_blobs **out, const char *dir, struct vd_err *err) VD_WUR;
void vd_blobs_free(struct vd_blobs *b);

/* Removes temp files under <dir>/tmp older than `age` seconds. Returns how many. */
int vd_blobs_sweep_tmp(struct vd_blobs *b, double age);

/*
 * Starts a streamed write. `max_size` > 0 caps the blob: a write past it
 * fails with VD_ERR_LIMIT (the writer must then be aborted).
 */
int vd_blob_writer_new(struct vd_blobs *b, int64_t max_size, struct vd_blob_writer **out,
                       struct vd_err *err) VD_WUR;
int vd_blob_write(struct vd_blob_writer *w, const void *data, size_t len, struct vd_err *err) VD_WUR;
/* Bytes written so far. */
int64_t vd_blob_writer_size(const struct vd_blob_writer *w);
/* Flushes buffered bytes and returns the temp file's path, e.g. to probe it
 * before deciding to commit. Borrowed; valid until commit/abort. */
const char *vd_blob_writer_tmp_path(struct vd_blob_writer *w, struct vd_err *err);
/*
 * Makes the blob durable under its hash. *existed is set to 1 when identical
 * content was already stored (may be NULL). Frees `w` in every case.
 */
int vd_blob_commit(struct vd_blob_writer *w, char id[VD_BLOB_ID_LEN + 1], int *existed,
                   struct vd_err *err) VD_WUR;
/* Deletes the temp file and frees `w`. NULL is fine. */
void vd_blob_abort(struct vd_blob_writer *w);

/*
 * Hashes the file at `path` and moves it into the store (rename when on the
 * same file system, copy otherwise; `path` is gone afterwards either way on
 * success). Used for analysis artifacts.
 */
int vd_blob_adopt(struct vd_blobs *b, const char *path, char id[VD_BLOB_ID_LEN + 1],
                  int64_t *size, struct vd_err *err) VD_WUR;

/* Path of the blob with full id `id` (which need not exist). Caller frees. */
char *vd_blob_path(const struct vd_blobs *b, const char *id);
/* 1 if a blob with full id `id` exists. */
int vd_blob_exists(const struct vd_blobs *b, const char *id);
/* Deletes a blob. 0, or -errno (-ENOENT when it did not exist). */
int vd_blob_delete(struct vd_blobs *b, const char *id);
/* Re-hashes a stored blob: 0 when intact, VD_ERR_CORRUPT or -errno otherwise. */
int vd_blob_verify(const struct vd_blobs *b, const char *id) VD_WUR;

/*
 * 1 if `s` is 6 to 64 lowercase or uppercase hex characters, else 0. Ids are
 * compared in lowercase; vd_blob_resolve lowercases for the caller.
 */
int vd_blob_prefix_valid(const char *s);

/*
 * Finds the blobs whose id starts with `prefix`. Returns the number of
 * matches (0 = none, 1 = unique, more = ambiguous), counting at most
 * `max` + 1, and copies up to `max` ids into `ids` in sorted order.
 * VD_ERR_INVALID when `prefix` is not a valid prefix.
 */
int vd_blob_resolve(const struct vd_blobs *b, const char *prefix, char (*ids)[VD_BLOB_ID_LEN + 1],
                    size_t max, struct vd_err *err);

/* ---- SHA-256 (FIPS 180-4), streaming; caller-embedded, reentrant ---------- */

struct vd_sha256 {
  uint32_t h[8];     /* chaining state */
  uint64_t nbytes;   /* total message length so far, bytes */
  uint8_t buf[64];   /* pending partial block */
  size_t nbuf;       /* bytes used in buf */
};

void vd_sha256_init(struct vd_sha256 *s);
void vd_sha256_update(struct vd_sha256 *s, const void *data, size_t len);
/* Writes the 32-byte digest; re-initialise the context to reuse it. */
void vd_sha256_final(struct vd_sha256 *s, uint8_t out[32]);
/* Lowercase hex of a digest into `hex` (65 bytes with the NUL). */
void vd_sha256_hex(const uint8_t digest[32], char hex[65]);

#endif
