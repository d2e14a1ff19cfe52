/*
 * library: the duplicate-check library of a `vidan serve` process: one
 * vd_dup_index (dup.h) holding the fingerprint of every file the service
 * has analysed, kept in step with the store's fingerprints table.
 *
 * DESIGN
 * - The store is the truth; the index is this process's cache of it. It is
 *   loaded lazily (the first job or query), then, before each use, catches
 *   up with the fingerprints put since the last seq it saw
 *   (vd_store_fingerprint_since: one indexed SELECT when nothing is new).
 *   Several nodes sharing PostgreSQL therefore all see every video, however
 *   it reached the store.
 * - A job that ran `fingerprint` puts its fingerprint through
 *   vd_library_add() after it succeeded. A crash between the job's end and
 *   that put leaves a succeeded job without a stored fingerprint: the first
 *   load puts those (vd_store_fingerprint_missing) before loading, so the
 *   library never silently forgets a video.
 * - Deleting a file cascades to its fingerprint row; vd_library_remove()
 *   drops it from this process's index. Other nodes do not see deletions
 *   by seq, so vd_library_query() checks that each hit's file still exists
 *   and forgets those that do not.
 *
 * Ownership: arguments are borrowed; hits returned belong to the caller
 * (vd_dup_hits_free). The store must outlive the library.
 * Threading: every function may be called from any thread; catching up is
 * serialised, queries run concurrently (dup.h).
 */
#ifndef VD_LIBRARY_LIBRARY_H
#define VD_LIBRARY_LIBRARY_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "dup/dup.h"
#include "store/store.h"

struct vd_library;

struct vd_library *vd_library_new(struct vd_store *store);
void vd_library_free(struct vd_library *l);

/*
 * Catches up with the store and returns the index in *ix (borrowed: valid
 * until vd_library_free), to hand to a run (vd_run_opts.library). On a
 * store error *ix still receives the index as it was, and the error is
 * returned.
 */
int vd_library_index(struct vd_library *l, struct vd_dup_index **ix, struct vd_err *err) VD_WUR;

/*
 * Stores and indexes file `file_id`'s fingerprint from a `fingerprint`
 * analysis result ({"data": base64, ...}). Idempotent. VD_ERR_NOT_FOUND
 * when the file is gone, VD_ERR_CORRUPT when the result holds no valid
 * fingerprint.
 */
int vd_library_add(struct vd_library *l, const char *file_id, const json_t *fp_result,
                   struct vd_err *err) VD_WUR;

/* Forgets `file_id` (its file was deleted). */
void vd_library_remove(struct vd_library *l, const char *file_id);

/*
 * The earlier videos `file_id`'s stored fingerprint matches, best first, at
 * most `max` (vd_dup_index_query), without the file itself and without
 * files deleted meanwhile. VD_ERR_NOT_FOUND when the file has no
 * fingerprint (never analysed with `fingerprint`).
 */
int vd_library_matches(struct vd_library *l, const char *file_id, size_t max,
                       struct vd_dup_hit **hits, size_t *n, struct vd_err *err) VD_WUR;

/* Number of videos in the index, after catching up (metrics, tests). */
size_t vd_library_size(struct vd_library *l);

#endif
