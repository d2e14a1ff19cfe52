/*
 * store_schema.c: the schema of both backends as one history of
 * migrations, so SQLite and PostgreSQL hold the same rows at the same
 * version number. Each entry is written once as a macro over the few types
 * that differ, and instantiated per backend:
 *
 *   PK    the insertion-order key: SQLite's INTEGER PRIMARY KEY AUTOINCREMENT
 *         (never reused), PostgreSQL's identity column
 *   REAL  Unix seconds and fractions: REAL / DOUBLE PRECISION (both IEEE
 *         doubles, so values round-trip exactly)
 *   INT64 sizes: INTEGER (64-bit in SQLite) / BIGINT
 *
 * A database records its version (SQLite: PRAGMA user_version; PostgreSQL:
 * the one-row table vidan_schema). Entry i moves it from version i to i + 1
 * and runs in the same transaction as the version bump (store_sqlite_db.c,
 * store_pg_db.c: migrate_tx), so a crash mid-upgrade leaves the old version
 * intact. Entries are never edited once released: a change to the schema is
 * a new entry at the end of the list.
 */
#include "store/store_int.h"

/* 0 → 1: files, jobs and their artifacts. */
#define V1(PK, REAL, INT64)                                                                        \
  "CREATE TABLE files("                                                                            \
  " seq " PK ","                                                                                   \
  " id TEXT NOT NULL UNIQUE,"                                                                      \
  " name TEXT NOT NULL DEFAULT '',"                                                                \
  " size " INT64 " NOT NULL,"                                                                      \
  " created " REAL " NOT NULL,"                                                                    \
  " probe TEXT);"                                                                                  \
  "CREATE TABLE jobs("                                                                             \
  " seq " PK ","                                                                                   \
  " id TEXT NOT NULL UNIQUE,"                                                                      \
  " file_id TEXT REFERENCES files(id) ON DELETE CASCADE,"                                          \
  " source TEXT,"                                                                                  \
  " analyses TEXT NOT NULL,"                                                                       \
  " params TEXT NOT NULL,"                                                                         \
  " webhook TEXT,"                                                                                 \
  " kind TEXT NOT NULL,"                                                                           \
  " extra TEXT,"                                                                                   \
  " state TEXT NOT NULL,"                                                                          \
  " attempts INTEGER NOT NULL DEFAULT 0,"                                                          \
  " max_attempts INTEGER NOT NULL DEFAULT 3,"                                                      \
  " lease_until " REAL " NOT NULL DEFAULT 0,"                                                      \
  " worker TEXT,"                                                                                  \
  " progress " REAL " NOT NULL DEFAULT 0,"                                                         \
  " stage TEXT,"                                                                                   \
  " created " REAL " NOT NULL,"                                                                    \
  " started " REAL " NOT NULL DEFAULT 0,"                                                          \
  " finished " REAL " NOT NULL DEFAULT 0,"                                                         \
  " updated " REAL " NOT NULL,"                                                                    \
  " error TEXT,"                                                                                   \
  " result TEXT,"                                                                                  \
  " cancel INTEGER NOT NULL DEFAULT 0);"                                                           \
  "CREATE INDEX jobs_state ON jobs(state, seq);"                                                   \
  "CREATE INDEX jobs_file ON jobs(file_id, seq);"                                                  \
  "CREATE TABLE artifacts("                                                                        \
  " job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"                                   \
  " analysis TEXT NOT NULL,"                                                                       \
  " name TEXT NOT NULL,"                                                                           \
  " blob TEXT NOT NULL,"                                                                           \
  " size " INT64 " NOT NULL,"                                                                      \
  " PRIMARY KEY(job_id, name));"                                                                   \
  "CREATE INDEX artifacts_blob ON artifacts(blob);"

/* 1 → 2: pending webhook deliveries. No foreign key to jobs on purpose:
 * deleting a job (or its file) right after it ended must not take back the
 * notification that it ended. Rows live until sent or given up. */
#define V2(PK, REAL, INT64)                                                                        \
  "CREATE TABLE webhooks("                                                                         \
  " id " PK ","                                                                                    \
  " job_id TEXT NOT NULL,"                                                                         \
  " url TEXT NOT NULL,"                                                                            \
  " body TEXT NOT NULL,"                                                                           \
  " attempts INTEGER NOT NULL DEFAULT 0,"                                                          \
  " next_at " REAL " NOT NULL,"                                                                    \
  " created " REAL " NOT NULL,"                                                                    \
  " error TEXT);"                                                                                  \
  "CREATE INDEX webhooks_due ON webhooks(next_at);"

/* 2 → 3: each file's fingerprint for the duplicate check (store.h). The
 * data is base64 text, as the `fingerprint` analysis returns it, so both
 * backends bind and read it like any text. seq orders the puts, so a node
 * loads only what was put since it last looked. */
#define V3(PK, REAL, INT64)                                                                        \
  "CREATE TABLE fingerprints("                                                                     \
  " seq " PK ","                                                                                   \
  " file_id TEXT NOT NULL UNIQUE REFERENCES files(id) ON DELETE CASCADE,"                          \
  " data TEXT NOT NULL,"                                                                           \
  " created " REAL " NOT NULL);"

#define HISTORY(PK, REAL, INT64) V1(PK, REAL, INT64), V2(PK, REAL, INT64), V3(PK, REAL, INT64)

const char *const vd__sqlite_migrations[] = {
    HISTORY("INTEGER PRIMARY KEY AUTOINCREMENT", "REAL", "INTEGER")};
const int vd__sqlite_nmigrations =
    (int)(sizeof(vd__sqlite_migrations) / sizeof(vd__sqlite_migrations[0]));

const char *const vd__pg_migrations[] = {
    HISTORY("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "DOUBLE PRECISION", "BIGINT")};
const int vd__pg_nmigrations = (int)(sizeof(vd__pg_migrations) / sizeof(vd__pg_migrations[0]));
