/*
 * test_migrate_lib.c: dbont/migrate.h used directly, against the database
 * in DATABASE_URL (run through tests/pg/with-pg.sh).
 *
 * The tool's process exit would hide a lock that is not released, so this
 * checks on a connection that stays open: the advisory lock is gone after
 * success, after an SQL error, after a refusal and after a lock timeout,
 * for up and for down; the report's states and counts (also the
 * out_of_order marks); the progress callbacks; and that the caller's
 * client_encoding survives.
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
