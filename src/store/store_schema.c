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

/* 3 → 4: the full-text search index (store.h "search"), the first entry
 * whose text differs by backend beyond types: V4(..., DB) picks V4_SQLITE
 * or V4_PG. Both keep documents in search_docs, whose foreign keys cascade
 * from files and jobs; search_jobs, the jobs already indexed; and
 * search_runs, which analyses each indexed job has documents of, with the
 * job's seq, so a query finds the newest run of an analysis on a file by
 * an index lookup. A file's
 * name is a document the database writes itself when the file row is
 * inserted (a trigger); files already there get theirs here.
 * SQLite: an FTS5 index with external content, kept in step by triggers
 * (store_search_sqlite.c). PostgreSQL: a generated tsvector column under a
 * GIN index, over vidan_fold(text): lower case, Latin accents stripped, and
 * the punctuation of file names made spaces (store_search_pg.c; not ':',
 * which the query text needs for its prefix marks).
 * Every statement may run on a database that already has what it creates
 * (IF NOT EXISTS, OR REPLACE, the name backfill skips files that have
 * theirs), so tests that fake an older version by dropping only their own
 * newer tables still migrate. */
#define V4_DOCS(PK, REAL, MORE)                                                                    \
  "CREATE TABLE IF NOT EXISTS search_docs("                                                        \
  " id " PK ","                                                                                    \
  " file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,"                                 \
  " job_id TEXT REFERENCES jobs(id) ON DELETE CASCADE,"                                            \
  " analysis TEXT NOT NULL,"                                                                       \
  " start_s " REAL " NOT NULL,"                                                                    \
  " end_s " REAL " NOT NULL,"                                                                      \
  " text TEXT NOT NULL" MORE ");"
#define V4_REST(INT64)                                                                             \
  "CREATE INDEX IF NOT EXISTS search_docs_job ON search_docs(job_id);"                             \
  "CREATE INDEX IF NOT EXISTS search_docs_file ON search_docs(file_id, analysis);"                 \
  "CREATE TABLE IF NOT EXISTS search_jobs("                                                        \
  " job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE);"                               \
  "CREATE TABLE IF NOT EXISTS search_runs("                                                        \
  " job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"                                   \
  " file_id TEXT NOT NULL,"                                                                        \
  " analysis TEXT NOT NULL,"                                                                       \
  " seq " INT64 " NOT NULL,"                                                                       \
  " PRIMARY KEY(job_id, analysis));"                                                               \
  "CREATE INDEX IF NOT EXISTS search_runs_newest ON search_runs(file_id, analysis, seq);"          \
  "INSERT INTO search_docs(file_id, analysis, start_s, end_s, text)"                               \
  " SELECT id, 'file', 0, 0, name FROM files WHERE name <> '' AND NOT EXISTS("                     \
  "  SELECT 1 FROM search_docs d WHERE d.file_id = files.id AND d.job_id IS NULL);"
#define V4_FTS                                                                                     \
  "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(text,"                                 \
  " content='search_docs', content_rowid='id', tokenize='unicode61 remove_diacritics 2');"         \
  "CREATE TRIGGER IF NOT EXISTS search_docs_ai AFTER INSERT ON search_docs BEGIN"                  \
  " INSERT INTO search_fts(rowid, text) VALUES(new.id, new.text); END;"                            \
  "CREATE TRIGGER IF NOT EXISTS search_docs_ad AFTER DELETE ON search_docs BEGIN"                  \
  " INSERT INTO search_fts(search_fts, rowid, text) VALUES('delete', old.id, old.text); END;"      \
  "CREATE TRIGGER IF NOT EXISTS files_search AFTER INSERT ON files WHEN new.name <> '' BEGIN"      \
  " INSERT INTO search_docs(file_id, analysis, start_s, end_s, text)"                              \
  " VALUES(new.id, 'file', 0, 0, new.name); END;"
#define V4_SQLITE(PK, REAL, INT64) V4_DOCS(PK, REAL, "") V4_FTS V4_REST(INT64)
#define V4_FOLD                                                                                    \
  "CREATE OR REPLACE FUNCTION vidan_fold(t TEXT) RETURNS TEXT"                                     \
  " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $f$ SELECT translate(lower(t), '"               \
  "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéê"                       \
  "ëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔ"                       \
  "ĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľ"                       \
  "ŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭ"                       \
  "ŮůŰűŲųŴŵŶŷŸŹźŻżŽžØøĐđĦħıŁłŦŧ._-/@+~#"                               \
  "', '"                                                                                           \
  "aaaaaaceeeeiiiinooooouuuuyaaaaaaceee"                                                           \
  "eiiiinooooouuuuyyaaaaaaccccccccddeee"                                                           \
  "eeeeeeegggggggghhiiiiiiiiijjkkllllll"                                                           \
  "nnnnnnoooooorrrrrrssssssssttttuuuuuu"                                                           \
  "uuuuuuwwyyyzzzzzzooddhhilltt        "                                                           \
  "') $f$;"
#define V4_TSV                                                                                     \
  ", tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, vidan_fold(text))) STORED"
#define V4_GIN                                                                                     \
  "CREATE INDEX IF NOT EXISTS search_docs_tsv ON search_docs USING GIN(tsv);"                      \
  "CREATE OR REPLACE FUNCTION vidan_search_file() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"   \
  " INSERT INTO search_docs(file_id, analysis, start_s, end_s, text)"                              \
  " VALUES(NEW.id, 'file', 0, 0, NEW.name); RETURN NULL; END $f$;"                                 \
  "CREATE OR REPLACE TRIGGER files_search AFTER INSERT ON files FOR EACH ROW"                      \
  " WHEN (NEW.name <> '') EXECUTE FUNCTION vidan_search_file();"
#define V4_PG(PK, REAL, INT64)                                                                     \
  V4_FOLD V4_DOCS(PK, REAL, V4_TSV)                                                                \
  V4_GIN V4_REST(INT64)
#define V4(PK, REAL, INT64, DB) V4_##DB(PK, REAL, INT64)

/* DB is SQLITE or PG, for the entries whose text differs (V4). */
#define HISTORY(PK, REAL, INT64, DB)                                                               \
  V1(PK, REAL, INT64), V2(PK, REAL, INT64), V3(PK, REAL, INT64), V4(PK, REAL, INT64, DB)

const char *const vd__sqlite_migrations[] = {
    HISTORY("INTEGER PRIMARY KEY AUTOINCREMENT", "REAL", "INTEGER", SQLITE)};
const int vd__sqlite_nmigrations =
    (int)(sizeof(vd__sqlite_migrations) / sizeof(vd__sqlite_migrations[0]));

const char *const vd__pg_migrations[] = {HISTORY(
    "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "DOUBLE PRECISION", "BIGINT", PG)};
const int vd__pg_nmigrations = (int)(sizeof(vd__pg_migrations) / sizeof(vd__pg_migrations[0]));
