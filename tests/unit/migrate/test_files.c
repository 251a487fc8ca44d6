/*
 * test_files.c: what counts as a migration file, and reading a
 * migrations folder (dbont_migrate_scan) without any database: order,
 * ignored files, bad names, duplicate versions, line-end normalisation,
 * and down files (NNNN_name.down.sql) paired with their up files.
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

static void assert_down(const char *name, int32_t expected)
{
    int32_t version = -1;
    assert_int_equal(dbont_migration_parse_name(name, &version), DBONT_MIGRATION_NAME_DOWN);
    assert_int_equal(version, expected);
}

static void test_good_down_names(void **state)
{
    (void)state;
    assert_down("0001_blog.down.sql", 1);
    assert_down("0042_add_users.down.sql", 42);
    assert_down("00001_A9_z.down.sql", 1);
    assert_down("2147483647_max.down.sql", 2147483647);
    assert_down("0007___.down.sql", 7);
    /* An up file may be called "down", and then has a down file too. */
    assert_good("0001_down.sql", 1);
    assert_down("0001_down.down.sql", 1);
    assert_int_equal(dbont_migration_parse_name("0003_v.down.sql", NULL),
                     DBONT_MIGRATION_NAME_DOWN);
}

static void test_bad_down_names(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "0001_.down.sql",          /* empty name */
        "0001.down.sql",           /* no name at all */
        "001_x.down.sql",          /* fewer than 4 digits */
        "0001_x.down.down.sql",    /* '.' in the name */
        "0001_x.up.sql",
        "0001_x.DOWN.sql",         /* the suffix is exactly .down.sql */
        "0001_x.Down.sql",
        "0001_x-y.down.sql",
        "0001_x..down.sql",
        "2147483648_x.down.sql",   /* beyond the integer version column */
        "x.down.sql",
        ".down.sql",
        "down.sql",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_kind(bad[i], DBONT_MIGRATION_NAME_INVALID);
    assert_kind("0001_x.down.sql~", DBONT_MIGRATION_NAME_OTHER);
    assert_kind("0001_x.down", DBONT_MIGRATION_NAME_OTHER);
    assert_kind("0001_x.down.SQL", DBONT_MIGRATION_NAME_OTHER);
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

static void test_scan_pairs_down_files(void **state)
{
    folder *f = *state;
    add(f, "0001_users.sql", "CREATE TABLE users (id int);\n");
    add(f, "0001_users.down.sql", "DROP TABLE users;\r\n");
    add(f, "0002_seed.sql", "INSERT INTO users VALUES (1);\n");
    add(f, "0003_posts.sql", "CREATE TABLE posts (id int);\n");
    add(f, "0003_posts.down.sql", "");

    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan(f->path, &r, &err), DBONT_OK);
    /* Down files are part of their up file's entry, not entries. */
    assert_int_equal(r.count, 3);
    assert_int_equal(r.pending, 3);

    const dbont_migration *users = &r.migrations[0];
    assert_string_equal(users->file_name, "0001_users.sql");
    assert_string_equal(users->down_file_name, "0001_users.down.sql");
    char expected_path[128];
    snprintf(expected_path, sizeof expected_path, "%s/0001_users.down.sql", f->path);
    assert_string_equal(users->down_path, expected_path);
    /* The down text is normalised like the up text. */
    assert_string_equal(users->down_sql, "DROP TABLE users;\n");
    assert_int_equal(users->down_sql_len, strlen("DROP TABLE users;\n"));
    /* The checksum is the up file's alone. */
    char up_only[DBONT_MIGRATE_CHECKSUM_SIZE];
    const char *up_text = "CREATE TABLE users (id int);\n";
    dbont_migration_checksum(up_text, strlen(up_text), up_only);
    assert_string_equal(users->checksum, up_only);

    const dbont_migration *seed = &r.migrations[1];
    assert_null(seed->down_file_name);
    assert_null(seed->down_path);
    assert_null(seed->down_sql);
    assert_int_equal(seed->down_sql_len, 0);

    const dbont_migration *posts = &r.migrations[2];
    assert_string_equal(posts->down_file_name, "0003_posts.down.sql");
    assert_string_equal(posts->down_sql, "");
    assert_int_equal(posts->down_sql_len, 0);
    assert_false(posts->out_of_order);
    assert_int_equal(r.out_of_order, 0);
    dbont_migrate_report_free(&r);
    assert_int_equal(r.count, 0);
}

static void test_scan_refuses_orphan_down_file(void **state)
{
    folder *f = *state;
    add(f, "0001_users.sql", "SELECT 1;\n");
    add(f, "0001_users.down.sql", "SELECT 1;\n");
    add(f, "0002_gone.down.sql", "SELECT 2;\n");
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan(f->path, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    char where[256];
    snprintf(where, sizeof where,
             "%s/0002_gone.down.sql: error: down file without its up file: there is no "
             "0002_gone.sql (no up file has version 2)",
             f->path);
    assert_non_null(strstr(err.message, where));
    assert_null(strstr(err.message, "0001_users"));
    assert_int_equal(r.count, 0);
    assert_null(r.migrations);
}

static void test_scan_refuses_down_name_mismatch(void **state)
{
    folder *f = *state;
    add(f, "0002_add_tag.sql", "SELECT 2;\n");
    add(f, "0002_add_tags.down.sql", "SELECT 2;\n");
    /* Same version and name, but not the same digits: not its down file. */
    add(f, "0003_posts.sql", "SELECT 3;\n");
    add(f, "00003_posts.down.sql", "SELECT 3;\n");
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan(f->path, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    char where[256];
    snprintf(where, sizeof where,
             "%s/0002_add_tags.down.sql: error: down file without its up file: version 2 "
             "is 0002_add_tag.sql, whose down file must be named 0002_add_tag.down.sql",
             f->path);
    assert_non_null(strstr(err.message, where));
    snprintf(where, sizeof where,
             "%s/00003_posts.down.sql: error: down file without its up file: version 3 "
             "is 0003_posts.sql, whose down file must be named 0003_posts.down.sql",
             f->path);
    assert_non_null(strstr(err.message, where));
    assert_int_equal(r.count, 0);
}

/* Two developers' files with one version, each with its down file: the
 * duplicate is the error, and each down file still finds its up file. */
static void test_scan_duplicate_versions_with_down_files(void **state)
{
    folder *f = *state;
    add(f, "0002_mine.sql", "SELECT 2;\n");
    add(f, "0002_mine.down.sql", "SELECT 2;\n");
    add(f, "0002_theirs.sql", "SELECT 2;\n");
    add(f, "0002_theirs.down.sql", "SELECT 2;\n");
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan(f->path, &r, &err), DBONT_ERROR);
    char where[256];
    snprintf(where, sizeof where,
             "%s: error: version 2 is used by both 0002_mine.sql and 0002_theirs.sql",
             f->path);
    assert_string_equal(err.message, where);
    assert_int_equal(r.count, 0);
}

static void test_scan_reads_down_files(void **state)
{
    folder *f = *state;
    add(f, "0001_a.sql", "SELECT 1;\n");
    write_file(f, "0001_a.down.sql", "SELECT 1;\0DROP TABLE x;\n", 24);
    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan(f->path, &r, &err), DBONT_ERROR);
    assert_non_null(strstr(err.message, "0001_a.down.sql: error: the file contains a NUL byte"));
    assert_int_equal(r.count, 0);
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
        cmocka_unit_test(test_good_down_names),
        cmocka_unit_test(test_bad_down_names),
        cmocka_unit_test(test_other_files_are_not_migrations),
        WITH_FOLDER(test_scan_sorts_and_ignores_other_files),
        WITH_FOLDER(test_scan_normalises_crlf),
        WITH_FOLDER(test_scan_empty_folder),
        WITH_FOLDER(test_scan_names_bad_file),
        WITH_FOLDER(test_scan_refuses_duplicate_versions),
        WITH_FOLDER(test_scan_refuses_nul_bytes),
        WITH_FOLDER(test_scan_pairs_down_files),
        WITH_FOLDER(test_scan_refuses_orphan_down_file),
        WITH_FOLDER(test_scan_refuses_down_name_mismatch),
        WITH_FOLDER(test_scan_duplicate_versions_with_down_files),
        WITH_FOLDER(test_scan_reads_down_files),
        cmocka_unit_test(test_scan_missing_folder),
        cmocka_unit_test(test_report_free_accepts_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
