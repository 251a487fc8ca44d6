/*
 * test_migrate_lib.c: dbont/migrate.h used directly, against the database
 * in DATABASE_URL (run through tests/pg/with-pg.sh).
 *
 * The tool's process exit would hide a lock that is not released, so this
 * checks on a connection that stays open: the advisory lock is gone after
 * success, after an SQL error, after a refusal and after a lock timeout,
 * for up and for down; the report's states and counts (also the
 * out_of_order marks); the progress callbacks; that the caller's
 * client_encoding survives; and for files of several steps, the progress
 * fields of the report, the repairs of INVALID indexes (report and
 * callback), resuming up and down, and dbont_migrate_verify's report.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dbont/conn.h"
#include "dbont/migrate.h"

typedef struct fixture {
    char dir[64];
    dbont_conn *conn;
} fixture;

static void write_file(const fixture *f, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    fputs(text, out);
    fclose(out);
}

/* A single-value query on conn, as text ("" for NULL). */
static void query_value(dbont_conn *conn, const char *sql, char *out, size_t size)
{
    PGresult *res = PQexec(dbont_conn_pg(conn), sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    snprintf(out, size, "%s", PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
    PQclear(res);
}

static void assert_query(dbont_conn *conn, const char *sql, const char *expected)
{
    char got[256];
    query_value(conn, sql, got, sizeof got);
    assert_string_equal(got, expected);
}

/* The lock must not outlive the call, whatever happened in it. */
static void assert_no_lock_held(dbont_conn *conn)
{
    assert_query(conn,
                 "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                 " AND pid = pg_backend_pid()",
                 "0");
    assert_int_equal(PQtransactionStatus(dbont_conn_pg(conn)), PQTRANS_IDLE);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/dbont-migrate-lib.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    dbont_error err;
    f->conn = dbont_connect(NULL, &err);
    if (!f->conn) {
        fprintf(stderr, "cannot connect: %s\n", err.message);
        return -1;
    }
    /* Each test starts from an empty database. */
    if (dbont_exec(f->conn, "DROP SCHEMA public CASCADE; CREATE SCHEMA public", &err) != DBONT_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    dbont_close(f->conn);
    free(f);
    return rc == 0 ? 0 : -1;
}

typedef struct progress {
    int calls;
    char last[64];
} progress;

static void on_applied(const dbont_migration *m, void *user)
{
    progress *p = user;
    p->calls++;
    snprintf(p->last, sizeof p->last, "%s", m->file_name);
    assert_int_equal(m->state, DBONT_MIGRATION_APPLIED_NOW);
    assert_non_null(m->applied_at);
}

static void test_up_reports_and_releases_lock(void **state)
{
    fixture *f = *state;
    write_file(f, "0001_a.sql", "CREATE TABLE a (id int);\n");
    write_file(f, "0002_b.sql", "CREATE TABLE b (id int);\n");

    progress p = { 0 };
    dbont_migrate_options options = DBONT_MIGRATE_OPTIONS_INIT;
    options.on_applied = on_applied;
    options.user = &p;
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, &options, &r, &err), DBONT_OK);
    assert_int_equal(p.calls, 2);
    assert_string_equal(p.last, "0002_b.sql");
    assert_int_equal(r.count, 2);
    assert_int_equal(r.applied_now, 2);
    assert_int_equal(r.pending, 0);
    assert_string_equal(r.migrations[0].stored_checksum, r.migrations[0].checksum);
    assert_true(r.migrations[1].duration_ms >= 0);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);

    /* Defaults (NULL options), nothing left to do. */
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_OK);
    assert_int_equal(r.applied, 2);
    assert_int_equal(r.applied_now, 0);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
}

static void test_sql_error_releases_lock(void **state)
{
    fixture *f = *state;
    write_file(f, "0001_a.sql", "CREATE TABLE a (id int);\n");
    write_file(f, "0002_b.sql", "CREATE TABLE b (id int);\nSELECT nope FROM b;\n");
    write_file(f, "0003_c.sql", "CREATE TABLE c (id int);\n");

    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "42703");
    char where[128];
    snprintf(where, sizeof where, "%s/0002_b.sql:2:8: error: 42703 ", f->dir);
    assert_non_null(strstr(err.message, where));
    assert_int_equal(r.migrations[0].state, DBONT_MIGRATION_APPLIED_NOW);
    assert_int_equal(r.migrations[1].state, DBONT_MIGRATION_FAILED);
    assert_int_equal(r.migrations[2].state, DBONT_MIGRATION_PENDING);
    assert_int_equal(r.applied_now, 1);
    assert_int_equal(r.failed, 1);
    assert_int_equal(r.pending, 1);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
    assert_query(f->conn, "SELECT to_regclass('b') IS NULL", "t");
}

static void test_refusal_releases_lock(void **state)
{
    fixture *f = *state;
    write_file(f, "0001_a.sql", "CREATE TABLE a (id int);\n");
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_OK);
    dbont_migrate_report_free(&r);

    write_file(f, "0001_a.sql", "CREATE TABLE a (id bigint);\n");
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    assert_int_equal(r.changed, 1);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);

    /* status agrees, and takes no lock either. */
    assert_int_equal(dbont_migrate_status(f->conn, f->dir, &r, &err), DBONT_OK);
    assert_int_equal(r.changed, 1);
    assert_int_equal(r.migrations[0].state, DBONT_MIGRATION_CHANGED);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
}

static void test_lock_timeout(void **state)
{
    fixture *f = *state;
    write_file(f, "0001_a.sql", "CREATE TABLE a (id int);\n");

    dbont_error err;
    dbont_conn *other = dbont_connect(NULL, &err);
    assert_non_null(other);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%lld)",
             (long long)DBONT_MIGRATE_LOCK_KEY);
    assert_int_equal(dbont_exec(other, sql, &err), DBONT_OK);

    dbont_migrate_options options = DBONT_MIGRATE_OPTIONS_INIT;
    options.lock_timeout_s = 0.3;
    dbont_migrate_report r = { 0 };
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, &options, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "55P03");
    assert_non_null(strstr(err.message, "another dbont-migrate holds the lock"));
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
    assert_query(f->conn, "SELECT to_regclass('a') IS NULL", "t");

    /* Once the other session lets go, the same call goes through. */
    dbont_close(other);
    options.lock_timeout_s = 5;
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, &options, &r, &err), DBONT_OK);
    assert_int_equal(r.applied_now, 1);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
}

static void test_refuses_inside_transaction(void **state)
{
    fixture *f = *state;
    write_file(f, "0001_a.sql", "CREATE TABLE a (id int);\n");
    dbont_error err;
    assert_int_equal(dbont_begin(f->conn, &err), DBONT_OK);
    dbont_migrate_report r = { 0 };
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "25001");
    dbont_migrate_report_free(&r);
    assert_int_equal(dbont_rollback(f->conn, &err), DBONT_OK);
}

/* A caller that asked for LATIN1 gets it back, and positions still count
 * the UTF-8 file's characters. */
static void test_client_encoding_is_restored(void **state)
{
    fixture *f = *state;
    write_file(f, "0001_a.sql", "SELECT '\xc3\xa9\xc3\xa9', nope;\n");
    PGconn *pg = dbont_conn_pg(f->conn);
    assert_int_equal(PQsetClientEncoding(pg, "LATIN1"), 0);

    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_ERROR);
    char where[128];
    snprintf(where, sizeof where, "%s/0001_a.sql:1:14: error: 42703 ", f->dir);
    assert_non_null(strstr(err.message, where));
    dbont_migrate_report_free(&r);
    assert_string_equal(PQparameterStatus(pg, "client_encoding"), "LATIN1");
    assert_int_equal(PQsetClientEncoding(pg, "UTF8"), 0);
}

/* ---- down ---- */

/* Three versions, each with a down file, applied. */
static void write_and_apply_three(fixture *f)
{
    write_file(f, "0001_a.sql", "CREATE TABLE a (id int);\n");
    write_file(f, "0001_a.down.sql", "DROP TABLE a;\n");
    write_file(f, "0002_b.sql", "CREATE TABLE b (id int);\n");
    write_file(f, "0002_b.down.sql", "DROP TABLE b;\n");
    write_file(f, "0003_c.sql", "CREATE TABLE c (id int);\n");
    write_file(f, "0003_c.down.sql", "DROP TABLE c;\n");
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_OK);
    assert_int_equal(r.applied_now, 3);
    dbont_migrate_report_free(&r);
}

typedef struct revert_log {
    int calls;
    char order[128];
} revert_log;

static void on_reverted(const dbont_migration *m, void *user)
{
    revert_log *log = user;
    log->calls++;
    size_t used = strlen(log->order);
    snprintf(log->order + used, sizeof log->order - used, "%s%s", used ? "," : "",
             m->file_name);
    assert_int_equal(m->state, DBONT_MIGRATION_REVERTED);
    assert_null(m->applied_at);
    assert_string_equal(m->stored_checksum, "");
    assert_true(m->duration_ms >= 0);
}

static void test_down_reports_and_releases_lock(void **state)
{
    fixture *f = *state;
    write_and_apply_three(f);

    /* The caller's encoding survives down too. */
    PGconn *pg = dbont_conn_pg(f->conn);
    assert_int_equal(PQsetClientEncoding(pg, "LATIN1"), 0);

    revert_log log = { 0, "" };
    dbont_migrate_options options = DBONT_MIGRATE_OPTIONS_INIT;
    options.on_reverted = on_reverted;
    options.on_applied = on_applied;   /* must not be called by down */
    options.user = &log;
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_down(f->conn, f->dir, 2, &options, &r, &err), DBONT_OK);
    assert_int_equal(log.calls, 2);
    assert_string_equal(log.order, "0003_c.sql,0002_b.sql");
    assert_int_equal(r.count, 3);
    assert_int_equal(r.migrations[0].state, DBONT_MIGRATION_APPLIED);
    assert_int_equal(r.migrations[1].state, DBONT_MIGRATION_REVERTED);
    assert_int_equal(r.migrations[2].state, DBONT_MIGRATION_REVERTED);
    assert_int_equal(r.applied, 1);
    assert_int_equal(r.reverted, 2);
    assert_int_equal(r.pending, 0);
    assert_int_equal(r.failed, 0);
    assert_string_equal(r.migrations[2].down_file_name, "0003_c.down.sql");
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
    assert_string_equal(PQparameterStatus(pg, "client_encoding"), "LATIN1");
    assert_int_equal(PQsetClientEncoding(pg, "UTF8"), 0);
    assert_query(f->conn, "SELECT string_agg(version::text, ',') FROM dbont_migrations", "1");
    assert_query(f->conn, "SELECT to_regclass('b') IS NULL AND to_regclass('c') IS NULL", "t");

    /* status sees them pending again; up with defaults re-applies them. */
    assert_int_equal(dbont_migrate_status(f->conn, f->dir, &r, &err), DBONT_OK);
    assert_int_equal(r.applied, 1);
    assert_int_equal(r.pending, 2);
    assert_int_equal(r.out_of_order, 0);
    dbont_migrate_report_free(&r);
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_OK);
    assert_int_equal(r.applied_now, 2);
    dbont_migrate_report_free(&r);

    /* NULL options: down 1. */
    assert_int_equal(dbont_migrate_down(f->conn, f->dir, 1, NULL, &r, &err), DBONT_OK);
    assert_int_equal(r.reverted, 1);
    assert_int_equal(r.migrations[2].state, DBONT_MIGRATION_REVERTED);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
}

static void test_down_sql_error_releases_lock(void **state)
{
    fixture *f = *state;
    write_and_apply_three(f);
    write_file(f, "0002_b.down.sql", "DROP TABLE b;\nSELECT nope;\n");

    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_down(f->conn, f->dir, 3, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "42703");
    char where[160];
    snprintf(where, sizeof where, "%s/0002_b.down.sql:2:8: error: 42703 ", f->dir);
    assert_non_null(strstr(err.message, where));
    /* 0003 stays reverted, 0002 failed and is still applied, 0001 untouched. */
    assert_int_equal(r.migrations[2].state, DBONT_MIGRATION_REVERTED);
    assert_int_equal(r.migrations[1].state, DBONT_MIGRATION_FAILED);
    assert_non_null(r.migrations[1].applied_at);
    assert_string_equal(r.migrations[1].stored_checksum, r.migrations[1].checksum);
    assert_int_equal(r.migrations[0].state, DBONT_MIGRATION_APPLIED);
    assert_int_equal(r.reverted, 1);
    assert_int_equal(r.failed, 1);
    assert_int_equal(r.applied, 1);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
    assert_query(f->conn, "SELECT string_agg(version::text, ',' ORDER BY version) FROM dbont_migrations",
                 "1,2");
    assert_query(f->conn, "SELECT to_regclass('b') IS NOT NULL AND to_regclass('c') IS NULL", "t");
}

static void test_down_refusals_release_lock(void **state)
{
    fixture *f = *state;
    dbont_migrate_report r = { 0 };
    dbont_error err;

    /* Nothing applied yet (no history table), and down creates none. */
    write_file(f, "0001_a.sql", "CREATE TABLE a (id int);\n");
    assert_int_equal(dbont_migrate_down(f->conn, f->dir, 1, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    assert_non_null(strstr(err.message, "no migration is applied"));
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
    assert_query(f->conn, "SELECT to_regclass('dbont_migrations') IS NULL", "t");

    write_file(f, "0001_a.down.sql", "DROP TABLE a;\n");
    write_file(f, "0002_b.sql", "CREATE TABLE b (id int);\n");
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_OK);
    dbont_migrate_report_free(&r);

    /* n = 0 is an invalid argument; the report is still safe to free. */
    memset(&r, 0xff, sizeof r);
    assert_int_equal(dbont_migrate_down(f->conn, f->dir, 0, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    assert_non_null(strstr(err.message, "at least 1"));
    assert_int_equal(r.count, 0);
    dbont_migrate_report_free(&r);

    /* More than are applied. */
    assert_int_equal(dbont_migrate_down(f->conn, f->dir, 3, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    assert_non_null(strstr(err.message, "cannot revert 3 migrations: only 2 are applied"));
    assert_int_equal(r.reverted, 0);
    assert_int_equal(r.applied, 2);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);

    /* 0002 has no down file: down 2 changes nothing, not even 0002's neighbour. */
    assert_int_equal(dbont_migrate_down(f->conn, f->dir, 2, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    char where[160];
    snprintf(where, sizeof where, "%s/0002_b.sql: error: this migration has no down migration",
             f->dir);
    assert_non_null(strstr(err.message, where));
    assert_int_equal(r.reverted, 0);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
    assert_query(f->conn, "SELECT count(*) FROM dbont_migrations", "2");

    /* Inside the caller's transaction. */
    assert_int_equal(dbont_begin(f->conn, &err), DBONT_OK);
    assert_int_equal(dbont_migrate_down(f->conn, f->dir, 1, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "25001");
    dbont_migrate_report_free(&r);
    assert_int_equal(dbont_rollback(f->conn, &err), DBONT_OK);
}

/* A file older than the newest applied version: marked by status, refused
 * by up, and fine again once down has reverted the newer one. */
static void test_out_of_order(void **state)
{
    fixture *f = *state;
    write_file(f, "0001_a.sql", "CREATE TABLE a (id int);\n");
    write_file(f, "0003_c.sql", "CREATE TABLE c (id int);\n");
    write_file(f, "0003_c.down.sql", "DROP TABLE c;\n");
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_OK);
    dbont_migrate_report_free(&r);

    write_file(f, "0002_b.sql", "CREATE TABLE b (id int);\n");
    assert_int_equal(dbont_migrate_status(f->conn, f->dir, &r, &err), DBONT_OK);
    assert_int_equal(r.out_of_order, 1);
    assert_int_equal(r.pending, 1);
    assert_int_equal(r.migrations[1].state, DBONT_MIGRATION_PENDING);
    assert_true(r.migrations[1].out_of_order);
    assert_false(r.migrations[0].out_of_order);
    dbont_migrate_report_free(&r);

    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    char where[256];
    snprintf(where, sizeof where,
             "%s/0002_b.sql: error: this migration is not applied, but it is older than the "
             "newest applied migration, 0003_c.sql (version 3)",
             f->dir);
    assert_non_null(strstr(err.message, where));
    assert_non_null(strstr(err.message, "renumber it above 3, e.g. to 0004_b.sql"));
    assert_int_equal(r.applied_now, 0);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
    assert_query(f->conn, "SELECT to_regclass('b') IS NULL", "t");

    /* down does not mind pending files; after it, 0002 is in order. */
    assert_int_equal(dbont_migrate_down(f->conn, f->dir, 1, NULL, &r, &err), DBONT_OK);
    assert_int_equal(r.out_of_order, 0);
    assert_false(r.migrations[1].out_of_order);
    dbont_migrate_report_free(&r);
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_OK);
    assert_int_equal(r.applied_now, 2);
    dbont_migrate_report_free(&r);
    assert_query(f->conn, "SELECT string_agg(version::text, ',' ORDER BY version) FROM dbont_migrations",
                 "1,2,3");
}

/* ---- steps, progress, repairs and verify ---- */

typedef struct repair_log {
    int calls;
    char index_name[DBONT_MIGRATE_NAME_SIZE];
    int line;
} repair_log;

static void on_repair(const dbont_migrate_repair *r, void *user)
{
    repair_log *log = user;
    log->calls++;
    snprintf(log->index_name, sizeof log->index_name, "%s", r->index_name);
    log->line = r->line;
}

/* A unique index over duplicates: the up stops after step 1 with an
 * INVALID index; verify sees both; once the data is fixed the next up
 * drops the index, rebuilds it and finishes the file from step 2. */
static void test_steps_repair_and_resume(void **state)
{
    fixture *f = *state;
    write_file(f, "0001_t.sql",
               "CREATE TABLE t (id int, k text);\nINSERT INTO t VALUES (1, 'a'), (2, 'a');\n");
    write_file(f, "0002_k.sql",
               "-- 0002_k.sql\n"
               "ALTER TABLE t ADD COLUMN note text;\n"
               "-- dbont:step no-transaction index t_k_key\n"
               "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_k_key ON t (k);\n");
    char path[128];
    snprintf(path, sizeof path, "%s/0002_k.sql", f->dir);

    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "23505");
    char where[160];
    snprintf(where, sizeof where, "%s:4: error: 23505 ", path);
    assert_non_null(strstr(err.message, where));
    assert_int_equal(r.applied_now, 1);
    assert_int_equal(r.failed, 1);
    assert_int_equal(r.partial, 1);
    dbont_migration *m = &r.migrations[1];
    assert_int_equal(m->state, DBONT_MIGRATION_FAILED);
    assert_int_equal(m->partial, DBONT_MIGRATION_PARTIAL_UP);
    assert_int_equal(m->steps_done, 1);
    assert_int_equal(m->progress_steps, 2);
    assert_int_equal(m->step_count, 2);
    assert_int_equal(m->first_step, 1);
    assert_string_equal(m->progress_checksum, m->checksum);
    assert_null(m->applied_at);
    assert_int_equal(r.repair_count, 0);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);

    assert_int_equal(dbont_migrate_status(f->conn, f->dir, &r, &err), DBONT_OK);
    assert_int_equal(r.migrations[1].state, DBONT_MIGRATION_PENDING);
    assert_int_equal(r.migrations[1].partial, DBONT_MIGRATION_PARTIAL_UP);
    assert_int_equal(r.migrations[1].steps_done, 1);
    assert_int_equal(r.partial, 1);
    assert_int_equal(r.invalid_index_count, 0);   /* status does not look */
    dbont_migrate_report_free(&r);

    assert_int_equal(dbont_migrate_verify(f->conn, f->dir, &r, &err), DBONT_OK);
    assert_int_equal(r.problems, 2);
    assert_int_equal(r.invalid_index_count, 1);
    assert_string_equal(r.invalid_indexes[0].name, "t_k_key");
    assert_string_equal(r.invalid_indexes[0].table, "t");
    assert_false(r.invalid_indexes[0].partitioned);
    assert_null(r.invalid_indexes[0].unattached);
    assert_non_null(r.invalid_indexes[0].rebuilt_by);
    assert_string_equal(r.invalid_indexes[0].rebuilt_by, path);
    assert_int_equal(r.invalid_indexes[0].rebuilt_by_line, 4);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);

    assert_int_equal(dbont_exec(f->conn, "DELETE FROM t WHERE id = 2", &err), DBONT_OK);
    repair_log log = { 0, "", 0 };
    dbont_migrate_options options = DBONT_MIGRATE_OPTIONS_INIT;
    options.on_repair = on_repair;
    options.user = &log;
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, &options, &r, &err), DBONT_OK);
    assert_int_equal(log.calls, 1);
    assert_string_equal(log.index_name, "t_k_key");
    assert_int_equal(log.line, 4);
    assert_int_equal(r.repair_count, 1);
    assert_string_equal(r.repairs[0].index_name, "t_k_key");
    assert_string_equal(r.repairs[0].path, path);
    assert_int_equal(r.repairs[0].line, 4);
    assert_int_equal(r.repairs[0].version, 2);
    m = &r.migrations[1];
    assert_int_equal(m->state, DBONT_MIGRATION_APPLIED_NOW);
    assert_int_equal(m->first_step, 2);
    assert_int_equal(m->partial, DBONT_MIGRATION_NOT_PARTIAL);
    assert_int_equal(m->steps_done, 0);
    assert_int_equal(r.partial, 0);
    assert_int_equal(r.applied_now, 1);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
    assert_query(f->conn, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_k_key'::regclass",
                 "t");
    assert_query(f->conn, "SELECT count(*) FROM dbont_migration_progress", "0");

    assert_int_equal(dbont_migrate_verify(f->conn, f->dir, &r, &err), DBONT_OK);
    assert_int_equal(r.problems, 0);
    assert_int_equal(r.invalid_index_count, 0);
    assert_int_equal(r.applied, 2);
    dbont_migrate_report_free(&r);
}

/* A down file that stops half-way: up is refused (22023) until down has
 * finished it; down resumes at the step after the last one done. */
static void test_partial_down(void **state)
{
    fixture *f = *state;
    write_file(f, "0001_a.sql", "CREATE TABLE a (id int);\nCREATE TABLE knob (s int);\n");
    write_file(f, "0001_a.down.sql",
               "-- dbont:step transaction\n"
               "DROP TABLE a;\n"
               "-- dbont:step transaction\n"
               "SELECT 1 / (SELECT count(*) FROM knob)::int;\n"
               "DROP TABLE knob;\n");
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_OK);
    dbont_migrate_report_free(&r);

    assert_int_equal(dbont_migrate_down(f->conn, f->dir, 1, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22012");
    char where[160];
    snprintf(where, sizeof where, "%s/0001_a.down.sql:4: error: 22012 ", f->dir);
    assert_non_null(strstr(err.message, where));
    dbont_migration *m = &r.migrations[0];
    assert_int_equal(m->state, DBONT_MIGRATION_FAILED);
    assert_int_equal(m->partial, DBONT_MIGRATION_PARTIAL_DOWN);
    assert_int_equal(m->steps_done, 1);
    assert_int_equal(m->progress_steps, 2);
    assert_int_equal(m->down_step_count, 2);
    assert_string_equal(m->progress_checksum, m->down_checksum);
    assert_non_null(m->applied_at);   /* still applied */
    assert_int_equal(r.reverted, 0);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
    assert_query(f->conn, "SELECT to_regclass('a') IS NULL AND to_regclass('knob') IS NOT NULL",
                 "t");

    assert_int_equal(dbont_migrate_up(f->conn, f->dir, NULL, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    assert_non_null(strstr(err.message, "reverting 0001_a.sql stopped after step 1 of 2: run "
                                        "`dbont-migrate down` to finish reverting it"));
    assert_int_equal(r.applied_now, 0);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);

    assert_int_equal(dbont_exec(f->conn, "INSERT INTO knob VALUES (1)", &err), DBONT_OK);
    revert_log log = { 0, "" };
    dbont_migrate_options options = DBONT_MIGRATE_OPTIONS_INIT;
    options.on_reverted = on_reverted;
    options.user = &log;
    assert_int_equal(dbont_migrate_down(f->conn, f->dir, 1, &options, &r, &err), DBONT_OK);
    assert_int_equal(log.calls, 1);
    assert_int_equal(r.reverted, 1);
    assert_int_equal(r.migrations[0].first_step, 2);
    assert_int_equal(r.migrations[0].partial, DBONT_MIGRATION_NOT_PARTIAL);
    dbont_migrate_report_free(&r);
    assert_no_lock_held(f->conn);
    assert_query(f->conn, "SELECT count(*) FROM dbont_migrations", "0");
    assert_query(f->conn, "SELECT count(*) FROM dbont_migration_progress", "0");
    assert_query(f->conn, "SELECT to_regclass('knob') IS NULL", "t");
}

#define DB_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DB_TEST(test_up_reports_and_releases_lock),
        DB_TEST(test_sql_error_releases_lock),
        DB_TEST(test_refusal_releases_lock),
        DB_TEST(test_lock_timeout),
        DB_TEST(test_refuses_inside_transaction),
        DB_TEST(test_client_encoding_is_restored),
        DB_TEST(test_down_reports_and_releases_lock),
        DB_TEST(test_down_sql_error_releases_lock),
        DB_TEST(test_down_refusals_release_lock),
        DB_TEST(test_out_of_order),
        DB_TEST(test_steps_repair_and_resume),
        DB_TEST(test_partial_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
