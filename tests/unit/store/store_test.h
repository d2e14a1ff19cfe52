/*
 * store_test.h: helpers the store unit tests share, and the backend they
 * run against. By default each test gets a fresh SQLite file in the test's
 * temp folder. Run with --pg (or VD_TEST_PG=1 in the environment) and the
 * same tests run against PostgreSQL: each database name becomes a fresh
 * database "vdt_<name>" on the server libpq finds through PGHOST, PGPORT,
 * PGUSER and PGPASSWORD, as `pg_virtualenv` sets them
 * (tests/integration/test_store_pg.sh). Raw access to a database (to fake
 * an old or a newer schema) goes through db_exec() and db_version().
 * Header-only on purpose: each test is one translation unit.
 */
#ifndef VD_STORE_TEST_H
#define VD_STORE_TEST_H

#include <sqlite3.h>
#include <stdio.h>
#ifdef VD_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include "../helpers/testutil.h"
#include "store/store.h"

static int use_pg; /* the backend under test is PostgreSQL */

/* Reads the command line (--pg) and the environment; call first in main. */
__attribute__((unused)) static void store_test_init(int argc, char **argv) {
  const char *env = getenv("VD_TEST_PG");
  use_pg = env && *env && strcmp(env, "0");
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--pg"))
      use_pg = 1;
#ifndef VD_HAVE_LIBPQ
  if (use_pg) {
    fprintf(stderr, "store tests: --pg asked for, but this build has no libpq\n");
    exit(1);
  }
#endif
  fprintf(stderr, "store tests: backend %s\n", use_pg ? "postgresql" : "sqlite");
}

#ifdef VD_HAVE_LIBPQ
static void quiet(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

/* A connection to database `db` ("" = the server's default). */
static PGconn *pg_raw(const char *db) {
  const char *const keys[] = {"dbname", NULL};
  const char *const vals[] = {db, NULL};
  int skip = !*db; /* an empty list: all from the environment */
  PGconn *pg = PQconnectdbParams(keys + skip, vals + skip, 0);
  if (PQstatus(pg) != CONNECTION_OK) {
    fprintf(stderr, "cannot connect to PostgreSQL: %s", PQerrorMessage(pg));
    fail();
  }
  PQsetNoticeProcessor(pg, quiet, NULL); /* "does not exist, skipping" */
  return pg;
}

static void pg_exec(PGconn *pg, const char *sql) {
  PGresult *r = PQexec(pg, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
    fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
    fail();
  }
  PQclear(r);
}
#endif

/* The PostgreSQL database for test database `name`: letters and digits. */
static const char *pg_name(const char *name) {
  static char buf[64];
  size_t k = (size_t)snprintf(buf, sizeof(buf), "vdt_");
  for (const char *p = name; *p && k + 1 < sizeof(buf); p++)
    buf[k++] = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p : '_';
  buf[k] = '\0';
  return buf;
}

/* Where vd_store_open finds test database `name`; a PostgreSQL one is
 * created empty the first time this process names it. */
static const char *db_location(const char *name) {
  static char loc[128];
  if (!use_pg)
    return vd_test_path(name);
#ifdef VD_HAVE_LIBPQ
  static char made[16][64];
  static int nmade;
  const char *db = pg_name(name);
  int known = 0;
  for (int i = 0; i < nmade; i++)
    known |= !strcmp(made[i], db);
  if (!known) {
    char sql[160];
    PGconn *pg = pg_raw("");
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db);
    pg_exec(pg, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
    pg_exec(pg, sql);
    PQfinish(pg);
    if (nmade < 16)
      snprintf(made[nmade++], sizeof(made[0]), "%s", db);
  }
  snprintf(loc, sizeof(loc), "postgresql:///%s", db);
#endif
  return loc;
}

/* Runs raw SQL on test database `name`: `sq` under SQLite, `pgsql` under
 * PostgreSQL. */
__attribute__((unused)) static void db_exec(const char *name, const char *sq, const char *pgsql) {
  if (use_pg) {
#ifdef VD_HAVE_LIBPQ
    PGconn *pg = pg_raw(pg_name(name));
    pg_exec(pg, pgsql);
    PQfinish(pg);
#endif
    return;
  }
  sqlite3 *db;
  assert_int_equal(sqlite3_open(vd_test_path(name), &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sq, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* The schema version test database `name` records. */
__attribute__((unused)) static int db_version(const char *name) {
  int v = -1;
  if (use_pg) {
#ifdef VD_HAVE_LIBPQ
    PGconn *pg = pg_raw(pg_name(name));
    PGresult *r = PQexec(pg, "SELECT version FROM vidan_schema");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
      v = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(pg);
#endif
    return v;
  }
  sqlite3 *db;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(vd_test_path(name), &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

/* Opens test database `name` with vd_store_open, as `vidan serve` would. */
static struct vd_store *open_db(const char *name) {
  struct vd_store *s = NULL;
  struct vd_err err = {0};
  int ret = vd_store_open(&s, db_location(name), &err);
  if (ret)
    fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(ret, 0);
  return s;
}

static void put_file(struct vd_store *s, const char *id, int *existed) {
  struct vd_file_rec f = {0};
  snprintf(f.id, sizeof(f.id), "%s", id);
  f.name = "a.mp4";
  f.size = 42;
  assert_int_equal(vd_store_file_put(s, &f, existed, NULL), 0);
}

/* A queued job on `file` with webhook URL `hook` (may be NULL). */
static void new_hooked_job(struct vd_store *s, const char *id, const char *file, int max_attempts,
                           const char *hook) {
  struct vd_job_rec j = {0};
  snprintf(j.id, sizeof(j.id), "%s", id);
  j.file_id = (char *)file;
  j.analyses = "[\"probe\"]";
  j.max_attempts = max_attempts;
  j.webhook = (char *)hook;
  assert_int_equal(vd_store_job_create(s, &j, NULL), 0);
}

__attribute__((unused)) static void new_job(struct vd_store *s, const char *id, const char *file,
                                            int max_attempts) {
  new_hooked_job(s, id, file, max_attempts, NULL);
}

/* `worker` claims at `now`, and must get job `id`. */
__attribute__((unused)) static void claim_as(struct vd_store *s, const char *worker, double now,
                                             double lease, const char *id) {
  struct vd_job_rec j;
  assert_int_equal(vd_store_job_claim(s, worker, now, lease, &j, NULL), 1);
  assert_string_equal(j.id, id);
  vd_job_rec_fini(&j);
}

#endif
