/*
 * test_files.c: what counts as a migration file, and reading a
 * migrations folder (dbont_migrate_scan) without any database: order,
 * ignored files, bad names, duplicate versions, line-end normalisation.
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

#include "dbont/migrate.h"

/* ---- file names ---- */

static void assert_good(const char *name, int32_t expected)
{
    int32_t version = -1;
    assert_int_equal(dbont_migration_parse_name(name, &version), DBONT_MIGRATION_NAME_OK);
    assert_int_equal(version, expected);
}

static void assert_kind(const char *name, dbont_migration_name_kind kind)
{
    int32_t version = -1;
    assert_int_equal(dbont_migration_parse_name(name, &version), kind);
    assert_int_equal(version, -1);   /* untouched unless OK */
}

static void test_good_names(void **state)
{
    (void)state;
    assert_good("0001_blog.sql", 1);
    assert_good("0042_add_users.sql", 42);
    assert_good("00001_A9_z.sql", 1);
    assert_good("1234_x.sql", 1234);
    assert_good("20240501_timestamps_fit.sql", 20240501);
    assert_good("2147483647_max.sql", 2147483647);
    assert_good("0007___.sql", 7);
    assert_int_equal(dbont_migration_parse_name("0003_v.sql", NULL), DBONT_MIGRATION_NAME_OK);
}

static void test_bad_names(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "1_x.sql",              /* fewer than 4 digits */
        "001_x.sql",
        "0001_.sql",            /* empty name */
        "0001.sql",             /* no name at all */
        "0001x.sql",            /* no underscore */
        "0001-x.sql",
        "0001_x-y.sql",         /* '-' in the name */
        "0001_x.y.sql",         /* '.' in the name */
        "0001_x y.sql",
        "0001_\xc3\xa9t\xc3\xa9.sql", /* non-ASCII name */
        "2147483648_too_big.sql",     /* beyond the integer version column */
        "99999999999999999999_huge.sql",
        "abcd_x.sql",
        "_0001_x.sql",
        ".sql",
        "x.sql",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_kind(bad[i], DBONT_MIGRATION_NAME_INVALID);
}

static void test_other_files_are_not_migrations(void **state)
{
    (void)state;
    static const char *const other[] = {
        "schema.snapshot", "README.md", "0001_x.sql~", "0001_x.sql.orig",
        "0001_x.SQL", ".", "..", "", "sql",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        assert_kind(other[i], DBONT_MIGRATION_NAME_OTHER);
}

/* ---- folders ---- */

typedef struct folder {
    char path[64];
} folder;

static void write_file(const folder *f, const char *name, const char *text, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->path, name);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(text, 1, len, out), len);
    fclose(out);
}

static void add(const folder *f, const char *name, const char *text)
{
    write_file(f, name, text, strlen(text));
}

static int make_folder(void **state)
{
    folder *f = malloc(sizeof *f);
    if (!f)
        return -1;
    snprintf(f->path, sizeof f->path, "/tmp/dbont-unit.XXXXXX");
    if (!mkdtemp(f->path)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int remove_folder(void **state)
{
    folder *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->path);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void test_scan_sorts_and_ignores_other_files(void **state)
{
    folder *f = *state;
    add(f, "0010_later.sql", "SELECT 10;\n");
    add(f, "0002_second.sql", "SELECT 2;\n");
    add(f, "0001_first.sql", "");
    add(f, "schema.snapshot", "table users\n");
    add(f, "notes.txt", "not sql\n");

    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan(f->path, &r, &err), DBONT_OK);
    assert_int_equal(r.count, 3);
    assert_int_equal(r.pending, 3);
    assert_int_equal(r.migrations[0].version, 1);
    assert_int_equal(r.migrations[1].version, 2);
    assert_int_equal(r.migrations[2].version, 10);
    assert_string_equal(r.migrations[1].name, "second");
    assert_string_equal(r.migrations[1].file_name, "0002_second.sql");
    char expected_path[128];
    snprintf(expected_path, sizeof expected_path, "%s/0002_second.sql", f->path);
    assert_string_equal(r.migrations[1].path, expected_path);
    assert_string_equal(r.migrations[1].sql, "SELECT 2;\n");
    assert_int_equal(r.migrations[0].sql_len, 0);
    /* sha256("") */
    assert_string_equal(r.migrations[0].checksum,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_null(r.migrations[0].applied_at);
    dbont_migrate_report_free(&r);
    assert_int_equal(r.count, 0);
    assert_null(r.migrations);
}

static void test_scan_normalises_crlf(void **state)
{
    folder *f = *state;
    add(f, "0001_crlf.sql", "CREATE TABLE t (\r\n  id int\r\n);\r\n");
    add(f, "0002_lf.sql", "CREATE TABLE t (\n  id int\n);\n");
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan(f->path, &r, &err), DBONT_OK);
    assert_int_equal(r.count, 2);
    assert_string_equal(r.migrations[0].sql, r.migrations[1].sql);
    assert_int_equal(r.migrations[0].sql_len, strlen(r.migrations[1].sql));
    assert_string_equal(r.migrations[0].checksum, r.migrations[1].checksum);
    dbont_migrate_report_free(&r);
}

static void test_scan_empty_folder(void **state)
{
    folder *f = *state;
    add(f, "schema.snapshot", "");
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan(f->path, &r, &err), DBONT_OK);
    assert_int_equal(r.count, 0);
    dbont_migrate_report_free(&r);
}

static void test_scan_names_bad_file(void **state)
{
    folder *f = *state;
    add(f, "0001_good.sql", "SELECT 1;\n");
    add(f, "2_bad.sql", "SELECT 2;\n");
    add(f, "0003_also-bad.sql", "SELECT 3;\n");
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan(f->path, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    /* Both bad files are named, each with its folder, in GCC form. */
    char where[128];
    snprintf(where, sizeof where, "%s/2_bad.sql: error: ", f->path);
    assert_non_null(strstr(err.message, where));
    snprintf(where, sizeof where, "%s/0003_also-bad.sql: error: ", f->path);
    assert_non_null(strstr(err.message, where));
    assert_non_null(strstr(err.message, "NNNN_name.sql"));
    assert_null(strstr(err.message, "0001_good"));
    assert_int_equal(r.count, 0);
    dbont_migrate_report_free(&r);
}

static void test_scan_refuses_duplicate_versions(void **state)
{
    folder *f = *state;
    add(f, "0001_first.sql", "SELECT 1;\n");
    add(f, "0002_mine.sql", "SELECT 2;\n");
    add(f, "00002_theirs.sql", "SELECT 2;\n");
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan(f->path, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    assert_non_null(strstr(err.message, "version 2 is used by both"));
    assert_non_null(strstr(err.message, "0002_mine.sql"));
    assert_non_null(strstr(err.message, "00002_theirs.sql"));
    assert_int_equal(r.count, 0);
    assert_null(r.migrations);
}

static void test_scan_refuses_nul_bytes(void **state)
{
    folder *f = *state;
    write_file(f, "0001_nul.sql", "SELECT 1;\0DROP TABLE x;\n", 24);
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan(f->path, &r, &err), DBONT_ERROR);
    assert_non_null(strstr(err.message, "0001_nul.sql: error: the file contains a NUL byte"));
}

static void test_scan_missing_folder(void **state)
{
    (void)state;
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan("/nonexistent/dbont/migrations", &r, &err),
                     DBONT_ERROR);
    assert_string_equal(err.sqlstate, "58030");
    assert_non_null(strstr(err.message, "/nonexistent/dbont/migrations: error: cannot open"));
}

static void test_report_free_accepts_empty(void **state)
{
    (void)state;
    dbont_migrate_report r = { 0 };
    dbont_migrate_report_free(&r);
    dbont_migrate_report_free(&r);
    dbont_migrate_report_free(NULL);
}

#define WITH_FOLDER(t) cmocka_unit_test_setup_teardown(t, make_folder, remove_folder)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_names),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_other_files_are_not_migrations),
        WITH_FOLDER(test_scan_sorts_and_ignores_other_files),
        WITH_FOLDER(test_scan_normalises_crlf),
        WITH_FOLDER(test_scan_empty_folder),
        WITH_FOLDER(test_scan_names_bad_file),
        WITH_FOLDER(test_scan_refuses_duplicate_versions),
        WITH_FOLDER(test_scan_refuses_nul_bytes),
        cmocka_unit_test(test_scan_missing_folder),
        cmocka_unit_test(test_report_free_accepts_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
