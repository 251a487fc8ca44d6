/*
 * test_evolve.c: evolve.c: migration file names, and what evolve_plan
 * plans for an empty or missing folder, a folder whose snapshot matches
 * the ontology, a changed ontology, and inconsistent folders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "evolve.h"
#include "model.h"
#include "schema.h"
#include "snapshot.h"
#include "testutil.h"
#include "util.h"

#define PFX "@prefix db: <http://example.org/db/> .\n"

static const char v1[] = PFX "db:UsersTable a db:Table ;\n"
                             "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"
                             "               [ db:name \"email\" ; db:type \"text\" ] ) .\n";
static const char v2[] = PFX "db:UsersTable a db:Table ;\n"
                             "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"
                             "               [ db:name \"email\" ; db:type \"text\" ; db:nullable false ]\n"
                             "               [ db:name \"name\" ; db:type \"text\" ] ) .\n";

typedef struct fixture {
    char *dir;  /* ontologies */
    char *mdir; /* the migrations folder (not created) */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    f->mdir = xasprintf("%s/migrations", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->mdir);
    free(f);
    return 0;
}

static void load(tu_loaded *l, const char *dir, const char *text)
{
    tu_load_text(l, dir, "shop.ttl", text);
    if (l->text[0] || !l->check_ok)
        fail_msg("diagnostics:\n%s", l->text);
}

static void test_names(void **state)
{
    (void)state;
    static const char *const good[] = {"0001_blog.sql", "0042_add_users.sql", "12345_x.sql",
                                       "0000_A1_b.sql", "9999_9.sql"};
    static const char *const bad[] = {"", "001_blog.sql", "0001blog.sql", "0001_.sql", "0001_a-b.sql",
                                      "0001_blog.SQL", "0001_blog.sql~", "0001_blog.sql.bak", "abcd_x.sql",
                                      "0001_a b.sql", "_0001_a.sql", "0001_a.sq", "schema.snapshot",
                                      "0001_blog", ".sql"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!evolve_is_migration_name(good[i]))
            fail_msg("'%s' should be a migration name", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (evolve_is_migration_name(bad[i]))
            fail_msg("'%s' should not be a migration name", bad[i]);
}

static void test_missing_folder(void **state)
{
    fixture *f = *state;
    tu_loaded l;
    load(&l, f->dir, v1);
    tu_diag t;
    tu_diag_open(&t);
    migration_plan plan;
    assert_true(evolve_plan(f->mdir, &l.m, "shop", "1.2.3", "shop.ttl", false, &plan, &t.d));
    assert_string_equal(tu_diag_text(&t), "");
    assert_string_equal(plan.migration_file, "0001_shop.sql");
    assert_string_equal(plan.down_file, "0001_shop.down.sql");
    /* the first migration creates the table; its reverse drops it */
    assert_int_equal(plan.up.n, 1);
    assert_string_equal(plan.up.v[0].summary, "create table users");
    assert_int_equal(plan.down.n, 1);
    assert_string_equal(plan.down.v[0].summary, "drop table users");
    schema s;
    schema_from_model(&l.m, &s);
    char *body = snapshot_body(&s);
    schema_free(&s);
    char *file = snapshot_file(body, "1.2.3", "shop.ttl", "0001_shop.sql");
    assert_string_equal(plan.snapshot, file);
    free(file);
    free(body);
    migration_plan_free(&plan);
    assert_null(plan.migration_file);
    assert_null(plan.snapshot);
    tu_diag_close(&t);
    tu_unload(&l);
}

static void test_empty_folder(void **state)
{
    fixture *f = *state;
    assert_int_equal(mkdir(f->mdir, 0700), 0);
    /* files that are neither migrations nor the snapshot are ignored */
    free(tu_write(f->mdir, "README", "notes\n"));
    free(tu_write(f->mdir, "001_short.sql", "-- not a migration name\n"));
    tu_loaded l;
    load(&l, f->dir, v1);
    tu_diag t;
    tu_diag_open(&t);
    migration_plan plan;
    assert_true(evolve_plan(f->mdir, &l.m, "t", "0.1.0", "t.ttl", false, &plan, &t.d));
    assert_string_equal(tu_diag_text(&t), "");
    assert_string_equal(plan.migration_file, "0001_t.sql");
    assert_non_null(plan.snapshot);
    assert_non_null(strstr(plan.snapshot, "\nmigration 0001_t.sql\n"));
    migration_plan_free(&plan);
    tu_diag_close(&t);
    tu_unload(&l);
}

/* Writes the folder that the initial plan for text describes. */
static void write_initial(const fixture *f, const char *text)
{
    tu_loaded l;
    load(&l, f->dir, text);
    tu_diag t;
    tu_diag_open(&t);
    migration_plan plan;
    assert_true(evolve_plan(f->mdir, &l.m, "shop", "0.1.0", "shop.ttl", false, &plan, &t.d));
    free(tu_write(f->mdir, plan.migration_file, "CREATE TABLE users ();\n"));
    free(tu_write(f->mdir, SNAPSHOT_FILE, plan.snapshot));
    migration_plan_free(&plan);
    tu_diag_close(&t);
    tu_unload(&l);
}

static void test_up_to_date(void **state)
{
    fixture *f = *state;
    write_initial(f, v1);
    tu_loaded l;
    load(&l, f->dir, v1);
    tu_diag t;
    tu_diag_open(&t);
    migration_plan plan;
    /* a later version of dbont-gen, same schema: nothing to do */
    assert_true(evolve_plan(f->mdir, &l.m, "shop", "0.2.0", "shop.ttl", false, &plan, &t.d));
    assert_string_equal(tu_diag_text(&t), "");
    assert_null(plan.migration_file);
    assert_null(plan.snapshot);
    migration_plan_free(&plan);
    tu_diag_close(&t);
    tu_unload(&l);
}

/* v1 -> v2 adds a column and makes email NOT NULL: the second is
 * destructive (email may hold NULLs), so it is refused unless allowed. */
static void test_changed_ontology(void **state)
{
    fixture *f = *state;
    write_initial(f, v1);
    tu_loaded l;
    load(&l, f->dir, v2);
    tu_diag t;
    tu_diag_open(&t);
    migration_plan plan;
    assert_false(evolve_plan(f->mdir, &l.m, "shop", "0.1.0", "shop.ttl", false, &plan, &t.d));
    assert_int_equal(diag_errors(&t.d), 1);
    const char *text = tu_diag_text(&t);
    if (!strstr(text, "shop.ttl:4:65: error: this change destroys data: make users.email NOT NULL"))
        fail_msg("got: %s", text);
    migration_plan_free(&plan);

    assert_true(evolve_plan(f->mdir, &l.m, "shop", "0.1.0", "shop.ttl", true, &plan, &t.d));
    assert_string_equal(plan.migration_file, "0002_add_users_name_and_more.sql");
    assert_string_equal(plan.down_file, "0002_add_users_name_and_more.down.sql");
    assert_int_equal(plan.up.n, 2);
    assert_string_equal(plan.up.v[0].summary, "make users.email NOT NULL");
    assert_true(plan.up.v[0].destructive);
    assert_string_equal(plan.up.v[1].summary, "add column users.name text");
    assert_string_equal(plan.up.v[1].sql, "ALTER TABLE users ADD COLUMN name text");
    assert_int_equal(plan.down.n, 2);
    assert_string_equal(plan.down.v[0].summary, "drop column users.name");
    assert_string_equal(plan.down.v[1].summary, "make users.email nullable");
    assert_non_null(strstr(plan.snapshot, "\nmigration 0002_add_users_name_and_more.sql\n"));
    assert_non_null(strstr(plan.snapshot, "  column email text not-null\n  column name text\n"));
    migration_plan_free(&plan);
    tu_diag_close(&t);
    tu_unload(&l);
}

/* A migration the snapshot does not know (added by hand, or merged from
 * another branch) makes the snapshot unusable. */
static void test_snapshot_behind(void **state)
{
    fixture *f = *state;
    write_initial(f, v1);
    free(tu_write(f->mdir, "0002_more.sql", "SELECT 1;\n"));
    tu_loaded l;
    load(&l, f->dir, v1);
    tu_diag t;
    tu_diag_open(&t);
    migration_plan plan;
    assert_false(evolve_plan(f->mdir, &l.m, "shop", "0.1.0", "shop.ttl", false, &plan, &t.d));
    assert_null(plan.migration_file);
    char *expected = xasprintf("%s/schema.snapshot: error: the snapshot records the schema after 0001_shop.sql, "
                               "but the newest migration is 0002_more.sql (was a migration added without "
                               "dbont-gen, or were two branches merged?); regenerate the newest migration and "
                               "the snapshot from the ontology\n",
                               f->mdir);
    assert_string_equal(tu_diag_text(&t), expected);
    free(expected);
    migration_plan_free(&plan);
    tu_diag_close(&t);
    tu_unload(&l);
}

/* Two developers picked the same number. */
static void test_duplicate_version(void **state)
{
    fixture *f = *state;
    write_initial(f, v1);
    free(tu_write(f->mdir, "0002_a.sql", "SELECT 1;\n"));
    free(tu_write(f->mdir, "0002_b.sql", "SELECT 2;\n"));
    tu_loaded l;
    load(&l, f->dir, v1);
    tu_diag t;
    tu_diag_open(&t);
    migration_plan plan;
    assert_false(evolve_plan(f->mdir, &l.m, "shop", "0.1.0", "shop.ttl", false, &plan, &t.d));
    bool named = strstr(tu_diag_text(&t), "two migrations have the number 2: 0002_a.sql and 0002_b.sql") != NULL;
    migration_plan_free(&plan);
    tu_diag_close(&t);
    tu_unload(&l);
    assert_true(named);
}

static void test_migrations_without_snapshot(void **state)
{
    fixture *f = *state;
    free(tu_write(f->mdir, "0001_shop.sql", "CREATE TABLE users ();\n"));
    tu_loaded l;
    load(&l, f->dir, v1);
    tu_diag t;
    tu_diag_open(&t);
    migration_plan plan;
    assert_false(evolve_plan(f->mdir, &l.m, "shop", "0.1.0", "shop.ttl", false, &plan, &t.d));
    assert_null(plan.migration_file);
    assert_null(plan.snapshot);
    char *expected = xasprintf("%s: error: the folder holds migrations but no schema.snapshot, so dbont-gen "
                               "cannot tell which schema they produce; restore the snapshot from version "
                               "control\n",
                               f->mdir);
    assert_string_equal(tu_diag_text(&t), expected);
    free(expected);
    tu_diag_close(&t);
    tu_unload(&l);
}

static void test_snapshot_without_migrations(void **state)
{
    fixture *f = *state;
    free(tu_write(f->mdir, SNAPSHOT_FILE, "migration 0001_shop.sql\n\ntable users\n"));
    tu_loaded l;
    load(&l, f->dir, v1);
    tu_diag t;
    tu_diag_open(&t);
    migration_plan plan;
    assert_false(evolve_plan(f->mdir, &l.m, "shop", "0.1.0", "shop.ttl", false, &plan, &t.d));
    assert_null(plan.migration_file);
    assert_null(plan.snapshot);
    /* printed after evolve_plan returns: the diag keeps its own copy of the
     * path, which evolve_plan built and freed */
    char *expected = xasprintf("%s/schema.snapshot: error: there is a snapshot but no migration next to it; "
                               "restore the migrations from version control or remove the snapshot\n",
                               f->mdir);
    assert_string_equal(tu_diag_text(&t), expected);
    free(expected);
    tu_diag_close(&t);
    tu_unload(&l);
}

/* Versions have 4 digits or more: after 9999 comes 10000, which is the
 * last migration. */
static void test_last_migration_by_version(void **state)
{
    fixture *f = *state;
    write_initial(f, v1);
    free(tu_write(f->mdir, "9999_late.sql", "SELECT 1;\n"));
    free(tu_write(f->mdir, "10000_later.sql", "SELECT 1;\n"));
    tu_loaded l;
    load(&l, f->dir, v2);
    tu_diag t;
    tu_diag_open(&t);
    migration_plan plan;
    assert_false(evolve_plan(f->mdir, &l.m, "shop", "0.1.0", "shop.ttl", false, &plan, &t.d));
    /* Versions compare as numbers: 10000 comes after 9999, although
     * "10000_later.sql" < "9999_late.sql" as strings. */
    bool named = strstr(tu_diag_text(&t), "the newest migration is 10000_later.sql") != NULL;
    migration_plan_free(&plan);
    tu_diag_close(&t);
    tu_unload(&l); /* before asserting: a failure must not leak */
    assert_true(named);
}

/* The check server runs all migrations in one transaction: in the steps
 * marked to run outside one, CONCURRENTLY leaves CREATE/DROP INDEX;
 * everything else is kept as written. */
static void test_migrations_sql_concurrently(void **state)
{
    fixture *f = *state;
    free(tu_write(f->mdir, "0001_shop.sql",
                  "-- Changes:\n"
                  "--   create index t_a_idx on t (concurrently, outside the transaction)\n"
                  "CREATE TABLE t (a int, b text);\n"
                  "CREATE INDEX CONCURRENTLY t_kept_idx ON t (a);\n"
                  "\n"
                  "-- dbont:step no-transaction index t_a_idx\n"
                  "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t USING btree (a);\n"
                  "\n"
                  "-- dbont:step no-transaction index t_b_key\n"
                  "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_b_key ON t USING btree (b) WHERE (b <> "
                  "' CONCURRENTLY');\n"
                  "\n"
                  "-- dbont:step no-transaction\n"
                  "DROP INDEX CONCURRENTLY IF EXISTS t_old_idx;\n"
                  "SELECT ' CONCURRENTLY';\n"
                  "\n"
                  "-- dbont:step transaction\n"
                  "CREATE INDEX CONCURRENTLY t_later_idx ON t (b);\n"));
    /* a new file starts in the transaction again */
    free(tu_write(f->mdir, "0002_more.sql", "CREATE INDEX CONCURRENTLY t_b_idx ON t (b);\n"
                                            "-- dbont:step no-transaction index t_c_idx\n"
                                            "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_c_idx ON t USING hash (b)"));
    /* reverses are not part of it */
    free(tu_write(f->mdir, "0002_more.down.sql", "-- dbont:step no-transaction\n"
                                                 "DROP INDEX CONCURRENTLY IF EXISTS t_c_idx;\n"));
    free(tu_write(f->mdir, SNAPSHOT_FILE, "migration 0002_more.sql\n"));
    tu_diag t;
    tu_diag_open(&t);
    char *sql = evolve_migrations_sql(f->mdir, &t.d);
    assert_string_equal(tu_diag_text(&t), "");
    assert_non_null(sql);
    assert_string_equal(sql, "-- Changes:\n"
                             "--   create index t_a_idx on t (concurrently, outside the transaction)\n"
                             "CREATE TABLE t (a int, b text);\n"
                             "CREATE INDEX CONCURRENTLY t_kept_idx ON t (a);\n"
                             "\n"
                             "-- dbont:step no-transaction index t_a_idx\n"
                             "CREATE INDEX IF NOT EXISTS t_a_idx ON t USING btree (a);\n"
                             "\n"
                             "-- dbont:step no-transaction index t_b_key\n"
                             "CREATE UNIQUE INDEX IF NOT EXISTS t_b_key ON t USING btree (b) WHERE (b <> "
                             "' CONCURRENTLY');\n"
                             "\n"
                             "-- dbont:step no-transaction\n"
                             "DROP INDEX IF EXISTS t_old_idx;\n"
                             "SELECT ' CONCURRENTLY';\n"
                             "\n"
                             "-- dbont:step transaction\n"
                             "CREATE INDEX CONCURRENTLY t_later_idx ON t (b);\n"
                             "\n;\n"
                             "CREATE INDEX CONCURRENTLY t_b_idx ON t (b);\n"
                             "-- dbont:step no-transaction index t_c_idx\n"
                             "CREATE INDEX IF NOT EXISTS t_c_idx ON t USING hash (b)"
                             "\n;\n");
    free(sql);
    tu_diag_close(&t);
}

#define IPFX PFX "@prefix idx: <http://example.org/indexing/> .\n"

/* Indexes through evolve_plan: the first migration creates the table and
 * its index in its transaction; a later index of the existing table is a
 * step outside it, which the files' opening comment explains. */
static void test_plan_indexes(void **state)
{
    fixture *f = *state;
    static const char i1[] = IPFX "db:UsersTable a db:Table ;\n"
                                  "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"
                                  "               [ db:name \"email\" ; db:type \"text\" ] ) .\n"
                                  "idx:ByEmail a idx:Index ; idx:table db:UsersTable ; idx:columns (\"email\") .\n";
    static const char i2[] = IPFX "db:UsersTable a db:Table ;\n"
                                  "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"
                                  "               [ db:name \"email\" ; db:type \"text\" ] ) .\n"
                                  "idx:ByEmail a idx:Index ; idx:table db:UsersTable ; idx:columns (\"email\") .\n"
                                  "idx:Words a idx:Index ; idx:table db:UsersTable ; idx:columns (\"email\") ;\n"
                                  "  idx:type \"gin\" ; idx:language \"simple\" .\n";
    tu_loaded l;
    load(&l, f->dir, i1);
    tu_diag t;
    tu_diag_open(&t);
    migration_plan plan;
    assert_true(evolve_plan(f->mdir, &l.m, "shop", "0.1.0", "shop.ttl", false, &plan, &t.d));
    assert_string_equal(tu_diag_text(&t), "");
    assert_int_equal(plan.up.n, 2);
    assert_string_equal(plan.up.v[1].sql, "CREATE INDEX users_email_idx ON users USING btree (email)");
    assert_false(plan.up.v[1].no_transaction);
    assert_null(strstr(plan.up_intro, "dbont:step"));
    assert_null(strstr(plan.down_intro, "dbont:step"));
    assert_string_equal(plan.migration_file, "0001_shop.sql");
    assert_non_null(strstr(plan.snapshot, "  index users_email_idx btree (email)\n"));
    free(tu_write(f->mdir, plan.migration_file, "CREATE TABLE users ();\n"));
    free(tu_write(f->mdir, SNAPSHOT_FILE, plan.snapshot));
    migration_plan_free(&plan);
    tu_unload(&l);

    load(&l, f->dir, i2);
    assert_true(evolve_plan(f->mdir, &l.m, "shop", "0.1.0", "shop.ttl", false, &plan, &t.d));
    assert_string_equal(tu_diag_text(&t), "");
    assert_string_equal(plan.migration_file, "0002_index_users.sql");
    assert_int_equal(plan.up.n, 1);
    assert_string_equal(plan.up.v[0].sql, "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_fts_idx ON users "
                                          "USING gin ((to_tsvector('simple'::regconfig, coalesce(email, ''))))");
    assert_true(plan.up.v[0].no_transaction);
    assert_string_equal(plan.up.v[0].index_name, "users_email_fts_idx");
    assert_int_equal(plan.down.n, 1);
    assert_string_equal(plan.down.v[0].sql, "DROP INDEX CONCURRENTLY IF EXISTS users_email_fts_idx");
    assert_true(plan.down.v[0].no_transaction);
    assert_non_null(strstr(plan.up_intro, "-- Each step after a \"-- dbont:step no-transaction\" line runs alone"));
    assert_non_null(strstr(plan.down_intro, "-- Each step after a \"-- dbont:step no-transaction\" line runs alone"));
    assert_non_null(strstr(plan.snapshot, "  index users_email_fts_idx gin (email) language simple\n"
                                          "  index users_email_idx btree (email)\n"));
    migration_plan_free(&plan);
    tu_diag_close(&t);
    tu_unload(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_missing_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_up_to_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_ontology, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations_without_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_without_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_migration_by_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations_sql_concurrently, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_indexes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
