/*
 * store_sqlite_schema.c: the SQLite schema as its history of migrations.
 *
 * A database records its version in PRAGMA user_version. Entry i moves it
 * from version i to i + 1 and runs inside the same transaction as the
 * version bump (store_sqlite.c: migrate), so a crash mid-upgrade leaves the
 * old version intact. Entries are never edited once released: a change to
 * the schema is a new entry at the end.
 */
#include "store/store_int.h"

const char *const vd__sqlite_migrations[] = {
    /* 0 → 1: files, jobs and their artifacts. */
    "CREATE TABLE files("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL DEFAULT '',"
    " size INTEGER NOT NULL,"
    " created REAL NOT NULL,"
    " probe TEXT);"
    "CREATE TABLE jobs("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " file_id TEXT REFERENCES files(id) ON DELETE CASCADE,"
    " source TEXT,"
    " analyses TEXT NOT NULL,"
    " params TEXT NOT NULL,"
    " webhook TEXT,"
    " kind TEXT NOT NULL,"
    " extra TEXT,"
    " state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " max_attempts INTEGER NOT NULL DEFAULT 3,"
    " lease_until REAL NOT NULL DEFAULT 0,"
    " worker TEXT,"
    " progress REAL NOT NULL DEFAULT 0,"
    " stage TEXT,"
    " created REAL NOT NULL,"
    " started REAL NOT NULL DEFAULT 0,"
    " finished REAL NOT NULL DEFAULT 0,"
    " updated REAL NOT NULL,"
    " error TEXT,"
    " result TEXT,"
    " cancel INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_state ON jobs(state, seq);"
    "CREATE INDEX jobs_file ON jobs(file_id, seq);"
    "CREATE TABLE artifacts("
    " job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " analysis TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " blob TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " PRIMARY KEY(job_id, name));"
    "CREATE INDEX artifacts_blob ON artifacts(blob);",

    /* 1 → 2: pending webhook deliveries. No foreign key to jobs on purpose:
     * deleting a job (or its file) right after it ended must not take back
     * the notification that it ended. Rows live until sent or given up. */
    "CREATE TABLE webhooks("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " job_id TEXT NOT NULL,"
    " url TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_at REAL NOT NULL,"
    " created REAL NOT NULL,"
    " error TEXT);"
    "CREATE INDEX webhooks_due ON webhooks(next_at);",
};

const int vd__sqlite_nmigrations =
    (int)(sizeof(vd__sqlite_migrations) / sizeof(vd__sqlite_migrations[0]));
