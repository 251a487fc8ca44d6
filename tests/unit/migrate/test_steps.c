/*
 * test_steps.c: cutting a migration file into steps (migsteps.h), without
 * any database: where steps start and end, their kinds and index names,
 * the lines messages give, malformed markers, the one-statement rule of
 * no-transaction steps, and the statement counter's knowledge of
 * comments, quotes and dollar quotes; partition-indexes steps (only
 * comments) and the names of the partitions' indexes they build.  Also
 * dbont_migrate_scan on a folder whose file has a malformed step.
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
#include "migsteps.h"

/* Parses text, which must be valid; returns the steps (caller frees). */
static dbont_migration_step *parse_ok(const char *text, size_t *count)
{
    dbont_migration_step *steps = NULL;
    dbont_migsteps_problem problem = { 0, 0, "" };
    dbont_migsteps_result r = dbont_migsteps_parse(text, strlen(text), &steps, count, &problem);
    if (r != DBONT_MIGSTEPS_OK)
        fail_msg("unexpected problem at %d:%d: %s", problem.line, problem.col, problem.message);
    assert_non_null(steps);
    assert_true(*count >= 1);
    return steps;
}

/* The text of a step, for comparison. */
static void assert_step_text(const char *text, const dbont_migration_step *s,
                             const char *expected)
{
    assert_int_equal(s->len, strlen(expected));
    assert_memory_equal(text + s->offset, expected, s->len);
}

/* Parses text, which must be refused at line:col with a message holding
 * fragment. */
static void assert_problem(const char *text, int line, int col, const char *fragment)
{
    dbont_migration_step *steps = (dbont_migration_step *)1;
    size_t count = 99;
    dbont_migsteps_problem problem = { 0, 0, "" };
    assert_int_equal(dbont_migsteps_parse(text, strlen(text), &steps, &count, &problem),
                     DBONT_MIGSTEPS_INVALID);
    assert_null(steps);
    assert_int_equal(count, 0);
    if (problem.line != line || problem.col != col || !strstr(problem.message, fragment))
        fail_msg("expected %d:%d '%s', got %d:%d '%s'", line, col, fragment, problem.line,
                 problem.col, problem.message);
}

static void test_no_markers_is_one_step(void **state)
{
    (void)state;
    const char *text = "-- header\n\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n";
    size_t count;
    dbont_migration_step *steps = parse_ok(text, &count);
    assert_int_equal(count, 1);
    assert_false(steps[0].no_transaction);
    assert_string_equal(steps[0].index_name, "");
    assert_int_equal(steps[0].offset, 0);
    assert_int_equal(steps[0].len, strlen(text));
    assert_int_equal(steps[0].marker_line, 0);
    assert_int_equal(steps[0].statement_line, 3);
    free(steps);

    steps = parse_ok("", &count);
    assert_int_equal(count, 1);
    assert_int_equal(steps[0].len, 0);
    assert_int_equal(steps[0].statement_line, 1);
    free(steps);
}

static void test_three_steps(void **state)
{
    (void)state;
    const char *text =
        "-- 0003_add_posts_indexes.sql: generated\n"                        /* 1 */
        "ALTER TABLE posts ADD COLUMN slug text;\n"                          /* 2 */
        "-- dbont:step no-transaction index posts_title_idx\n"               /* 3 */
        "-- build it without blocking writes\n"                              /* 4 */
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_title_idx\n"          /* 5 */
        "    ON posts (title);\n"                                            /* 6 */
        "-- dbont:step transaction\n"                                        /* 7 */
        "\n"                                                                 /* 8 */
        "ALTER TABLE posts ALTER slug SET NOT NULL;\n"                       /* 9 */
        "-- dbont:step no-transaction\n"                                     /* 10 */
        "DROP INDEX CONCURRENTLY IF EXISTS old_idx;";                        /* 11 */
    size_t count;
    dbont_migration_step *steps = parse_ok(text, &count);
    assert_int_equal(count, 4);

    assert_false(steps[0].no_transaction);
    assert_int_equal(steps[0].marker_line, 0);
    assert_int_equal(steps[0].statement_line, 2);
    assert_step_text(text, &steps[0],
                     "-- 0003_add_posts_indexes.sql: generated\n"
                     "ALTER TABLE posts ADD COLUMN slug text;\n");

    assert_true(steps[1].no_transaction);
    assert_string_equal(steps[1].index_name, "posts_title_idx");
    assert_int_equal(steps[1].marker_line, 3);
    assert_int_equal(steps[1].statement_line, 5);
    assert_step_text(text, &steps[1],
                     "-- build it without blocking writes\n"
                     "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_title_idx\n"
                     "    ON posts (title);\n");

    assert_false(steps[2].no_transaction);
    assert_string_equal(steps[2].index_name, "");
    assert_int_equal(steps[2].marker_line, 7);
    assert_int_equal(steps[2].statement_line, 9);
    assert_step_text(text, &steps[2], "\nALTER TABLE posts ALTER slug SET NOT NULL;\n");

    assert_true(steps[3].no_transaction);
    assert_string_equal(steps[3].index_name, "");
    assert_int_equal(steps[3].marker_line, 10);
    assert_int_equal(steps[3].statement_line, 11);
    assert_step_text(text, &steps[3], "DROP INDEX CONCURRENTLY IF EXISTS old_idx;");
    free(steps);
}

/* Without text before it, the first marker starts step 1. */
static void test_marker_on_first_line(void **state)
{
    (void)state;
    const char *text = "-- dbont:step no-transaction index a_idx\n"
                       "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON a (x);\n";
    size_t count;
    dbont_migration_step *steps = parse_ok(text, &count);
    assert_int_equal(count, 1);
    assert_true(steps[0].no_transaction);
    assert_int_equal(steps[0].marker_line, 1);
    assert_int_equal(steps[0].statement_line, 2);
    free(steps);

    /* A comment-only step 1 before it is a step (the generator's header). */
    text = "-- header\n-- dbont:step no-transaction\nVACUUM a;\n";
    steps = parse_ok(text, &count);
    assert_int_equal(count, 2);
    assert_false(steps[0].no_transaction);
    assert_int_equal(steps[0].statement_line, 1);
    assert_step_text(text, &steps[0], "-- header\n");
    free(steps);
}

static void test_marker_spacing(void **state)
{
    (void)state;
    /* Trailing blanks and a lone CR; blanks between the words. */
    const char *text = "SELECT 1;\n"
                       "-- dbont:step transaction   \r\n"
                       "SELECT 2;\n"
                       "-- dbont:step\tno-transaction  index\tt_x_idx \n"
                       "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);\n"
                       "-- dbont:step transaction";
    size_t count;
    dbont_migration_step *steps = parse_ok(text, &count);
    assert_int_equal(count, 4);
    assert_string_equal(steps[2].index_name, "t_x_idx");
    assert_int_equal(steps[3].marker_line, 6);
    assert_int_equal(steps[3].len, 0);
    assert_int_equal(steps[3].statement_line, 6);
    free(steps);
}

/* Lines that only look alike are comments, not markers. */
static void test_not_markers(void **state)
{
    (void)state;
    const char *text = "-- dbont:steps are described in the docs\n"
                       " -- dbont:step no-transaction\n"
                       "--dbont:step no-transaction\n"
                       "SELECT 1; -- dbont:step no-transaction\n"
                       "-- DBONT:STEP no-transaction\n";
    size_t count;
    dbont_migration_step *steps = parse_ok(text, &count);
    assert_int_equal(count, 1);
    free(steps);
}

static void test_malformed_markers(void **state)
{
    (void)state;
    assert_problem("SELECT 1;\n-- dbont:step\n", 2, 1, "malformed step marker");
    assert_problem("SELECT 1;\n-- dbont:step  frob\n", 2, 16, "malformed step marker");
    assert_problem("-- dbont:step Transaction\n", 1, 15, "malformed step marker");
    assert_problem("-- dbont:step transaction index a_idx\nSELECT 1;\n", 1, 15,
                   "malformed step marker");
    assert_problem("-- dbont:step no-transaction index\nSELECT 1;\n", 1, 15,
                   "malformed step marker");
    assert_problem("-- dbont:step no-transaction idx a_idx\nSELECT 1;\n", 1, 15,
                   "malformed step marker");
    assert_problem("-- dbont:step no-transaction index a b\nSELECT 1;\n", 1, 15,
                   "malformed step marker");
    assert_problem("-- dbont:step no-transaction index a b c\nSELECT 1;\n", 1, 40,
                   "unexpected 'c'");
    assert_problem("-- x\n-- dbont:step no-transaction index Posts_idx\nSELECT 1;\n", 2, 36,
                   "invalid index name 'Posts_idx'");
    assert_problem("-- dbont:step no-transaction index \"posts_idx\"\nSELECT 1;\n", 1, 36,
                   "invalid index name");
    assert_problem("-- dbont:step no-transaction index 1_idx\nSELECT 1;\n", 1, 36,
                   "invalid index name");
    assert_problem("-- dbont:step no-transaction index a-b\nSELECT 1;\n", 1, 36,
                   "invalid index name");
    /* 63 bytes is PostgreSQL's limit; 64 would be cut by the server. */
    char text[200];
    snprintf(text, sizeof text, "-- dbont:step no-transaction index %.63s\nSELECT 1;\n",
             "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij");
    size_t count;
    dbont_migration_step *steps = parse_ok(text, &count);
    assert_int_equal(strlen(steps[0].index_name), 63);
    free(steps);
    snprintf(text, sizeof text, "-- dbont:step no-transaction index %.64s\nSELECT 1;\n",
             "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij");
    assert_problem(text, 1, 36, "at most 63 bytes");
}

static void test_one_statement_rule(void **state)
{
    (void)state;
    /* The second statement is named by its line and column. */
    assert_problem("-- h\n"
                   "-- dbont:step no-transaction\n"
                   "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON a (x);\n"
                   "  CREATE INDEX CONCURRENTLY IF NOT EXISTS b_idx ON a (y);\n",
                   4, 3, "must hold exactly one SQL statement");
    assert_problem("-- dbont:step no-transaction\nVACUUM a; VACUUM b;\n", 2, 11,
                   "a second SQL statement in step 1");
    /* Comments only: no statement. */
    assert_problem("SELECT 1;\n-- dbont:step no-transaction\n-- nothing\n\n", 2, 1,
                   "without an SQL statement");
    /* A transactional step may hold any number, or none. */
    size_t count;
    dbont_migration_step *steps =
        parse_ok("SELECT 1; SELECT 2;\n-- dbont:step transaction\n-- none\n", &count);
    assert_int_equal(count, 2);
    assert_int_equal(steps[1].statement_line, 2);
    free(steps);
    /* Semicolons and comments around the one statement are fine. */
    steps = parse_ok("-- dbont:step no-transaction\n;; /* a */ DROP INDEX CONCURRENTLY "
                     "IF EXISTS a_idx ; ; -- done\n",
                     &count);
    assert_int_equal(steps[0].statement_line, 2);
    free(steps);
}

/* "-- dbont:step no-transaction partition-indexes NAME": a no-transaction
 * step of comments only, whose NAME is checked like an index step's. */
static void test_partition_indexes_step(void **state)
{
    (void)state;
    const char *text =
        "-- 0002_index_events.sql\n"                                                 /* 1 */
        "CREATE INDEX IF NOT EXISTS events_kind_idx ON ONLY events USING btree (kind);\n" /* 2 */
        "-- dbont:step no-transaction partition-indexes events_kind_idx\n"          /* 3 */
        "-- (dbont-migrate builds events_kind_idx CONCURRENTLY on each partition)\n" /* 4 */
        "\n"                                                                         /* 5 */
        "-- dbont:step\tno-transaction  partition-indexes   readings_value_idx \r\n"  /* 6 */
        "/* a block comment; with a semicolon */\n"                                  /* 7 */
        "-- dbont:step transaction\n"                                                /* 8 */
        "SELECT 1;\n";                                                               /* 9 */
    size_t count;
    dbont_migration_step *steps = parse_ok(text, &count);
    assert_int_equal(count, 4);
    assert_false(steps[0].no_transaction);
    assert_string_equal(steps[0].partition_index, "");

    assert_true(steps[1].no_transaction);
    assert_string_equal(steps[1].partition_index, "events_kind_idx");
    assert_string_equal(steps[1].index_name, "");
    assert_int_equal(steps[1].marker_line, 3);
    /* No statement: messages give the marker's line. */
    assert_int_equal(steps[1].statement_line, 3);
    assert_step_text(text, &steps[1],
                     "-- (dbont-migrate builds events_kind_idx CONCURRENTLY on each "
                     "partition)\n\n");

    assert_true(steps[2].no_transaction);
    assert_string_equal(steps[2].partition_index, "readings_value_idx");
    assert_int_equal(steps[2].marker_line, 6);
    assert_int_equal(steps[2].statement_line, 6);

    assert_false(steps[3].no_transaction);
    assert_string_equal(steps[3].partition_index, "");
    assert_int_equal(steps[3].statement_line, 9);
    free(steps);

    /* Alone in the file, on its first line, without even a comment. */
    steps = parse_ok("-- dbont:step no-transaction partition-indexes a_idx", &count);
    assert_int_equal(count, 1);
    assert_true(steps[0].no_transaction);
    assert_string_equal(steps[0].partition_index, "a_idx");
    assert_int_equal(steps[0].len, 0);
    assert_int_equal(steps[0].statement_line, 1);
    free(steps);
}

static void test_partition_indexes_problems(void **state)
{
    (void)state;
    /* A statement in the step is refused at its line and column. */
    assert_problem("SELECT 1;\n"
                   "-- dbont:step no-transaction partition-indexes a_idx\n"
                   "-- a comment\n"
                   "  CREATE INDEX CONCURRENTLY IF NOT EXISTS p1_a_idx ON p1 (x);\n",
                   4, 3,
                   "an SQL statement in step 2, a partition-indexes step (marker at line 2); "
                   "such a step holds only comments: dbont-migrate builds index a_idx on each "
                   "partition itself");
    assert_problem("-- dbont:step no-transaction partition-indexes a_idx\n;; VACUUM;\n", 2, 4,
                   "a partition-indexes step");
    /* The name, like an index step's. */
    assert_problem("-- dbont:step no-transaction partition-indexes Events_idx\n", 1, 48,
                   "invalid index name 'Events_idx'");
    assert_problem("-- dbont:step no-transaction partition-indexes \"a_idx\"\n", 1, 48,
                   "invalid index name");
    assert_problem("-- dbont:step no-transaction partition-indexes 9_idx\n", 1, 48,
                   "invalid index name");
    char text[200];
    snprintf(text, sizeof text, "-- dbont:step no-transaction partition-indexes %.64s\n",
             "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij");
    assert_problem(text, 1, 48, "at most 63 bytes");
    snprintf(text, sizeof text, "-- dbont:step no-transaction partition-indexes %.63s\n",
             "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij");
    size_t count;
    dbont_migration_step *steps = parse_ok(text, &count);
    assert_int_equal(strlen(steps[0].partition_index), 63);
    free(steps);
    /* The marker's other forms. */
    assert_problem("-- dbont:step no-transaction partition-indexes\n", 1, 15,
                   "malformed step marker");
    assert_problem("-- dbont:step no-transaction partition-indexes a_idx b_idx\n", 1, 15,
                   "malformed step marker");
    assert_problem("-- dbont:step transaction partition-indexes a_idx\n", 1, 15,
                   "malformed step marker");
    assert_problem("-- dbont:step no-transaction partition-index a_idx\n", 1, 15,
                   "'-- dbont:step no-transaction partition-indexes NAME'");
    assert_problem("-- dbont:step partition-indexes a_idx\n", 1, 15, "malformed step marker");
}

static void assert_child_name(const char *partition, const char *table, const char *index,
                              const char *expected)
{
    char out[DBONT_MIGRATE_NAME_SIZE];
    memset(out, 'x', sizeof out);
    dbont_migrate_partition_index_name(partition, table, index, out);
    if (strcmp(out, expected) != 0)
        fail_msg("%s, %s, %s: expected '%s', got '%s'", partition, table, index, expected, out);
    assert_true(strlen(out) <= 63);
}

static void test_partition_index_names(void **state)
{
    (void)state;
    assert_child_name("events_2026_11", "events", "events_tenant_id_kind_idx",
                      "events_2026_11_tenant_id_kind_idx");
    assert_child_name("events_default", "events", "events_tenant_id_kind_idx",
                      "events_default_tenant_id_kind_idx");
    /* No "<table>_" to remove: the whole name. */
    assert_child_name("events_2026_11", "events", "by_kind", "events_2026_11_by_kind");
    assert_child_name("events_2026_11", "events", "eventsx_idx", "events_2026_11_eventsx_idx");
    assert_child_name("events_2026_11", "events", "events_", "events_2026_11_events_");
    /* 63 bytes fit; 64 are hashed: 54 bytes, '_', 8 hex digits of the
     * SHA-256 of the full name. */
    assert_child_name("ppppppppppppppppppppppppppppppppppppppppppppppppppppppppp", "t", "x_idx",
                      "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppp_x_idx");
    assert_child_name("pppppppppppppppppppppppppppppppppppppppppppppppppppppppppp", "t", "x_idx",
                      "pppppppppppppppppppppppppppppppppppppppppppppppppppppp_eadaf4b5");
    assert_child_name("measures_of_march_2026_with_a_name_long_enough_to_need_a_hash",
                      "measures", "measures_v_idx",
                      "measures_of_march_2026_with_a_name_long_enough_to_need_0f23636a");
    /* A character is not cut: 'é' takes bytes 54 and 55, so 53 are kept. */
    assert_child_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9" "bbbbb", "t",
                      "some_long_index_idx",
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_846e6278");
}

static size_t statements(const char *sql)
{
    dbont_migsteps_statements st;
    dbont_migsteps_count_statements(sql, strlen(sql), &st);
    return st.count;
}

static void test_statement_counter(void **state)
{
    (void)state;
    assert_int_equal(statements(""), 0);
    assert_int_equal(statements("  \n\t"), 0);
    assert_int_equal(statements("-- a; b\n/* c; d */ ;;"), 0);
    assert_int_equal(statements("SELECT 1"), 1);
    assert_int_equal(statements("SELECT 1;"), 1);
    assert_int_equal(statements("SELECT 1; SELECT 2"), 2);
    assert_int_equal(statements("SELECT 'a;b'; "), 1);
    assert_int_equal(statements("SELECT 'it''s; here'"), 1);
    assert_int_equal(statements("SELECT E'\\'; still'"), 1);
    assert_int_equal(statements("SELECT e'\\\\'; SELECT 2"), 2);
    assert_int_equal(statements("SELECT 'a\\'; SELECT 2"), 2);   /* standard strings */
    assert_int_equal(statements("SELECT \"we;ird\" FROM t"), 1);
    assert_int_equal(statements("SELECT \"a\"\";\" FROM t"), 1);
    assert_int_equal(statements("/* outer /* inner; */ still; */ SELECT 1"), 1);
    assert_int_equal(statements("SELECT $$a;b$$; SELECT $tag$ $$; $tag$"), 2);
    assert_int_equal(statements("SELECT $f$ $g$; $g$ $f$"), 1);
    assert_int_equal(statements("PREPARE p AS SELECT $1; EXECUTE p(1)"), 2);
    assert_int_equal(statements("SELECT a$b$c FROM t; SELECT 2"), 2);
    assert_int_equal(statements("SELECT 1 -- ; not here\n; SELECT 2"), 2);
    assert_int_equal(statements("SELECT 'unterminated; SELECT 2"), 1);
    /* psql's rule for SQL-standard function bodies. */
    assert_int_equal(statements("CREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
                                "BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; "
                                "END; SELECT 3"),
                     2);
    assert_int_equal(statements("create or replace procedure p() begin atomic "
                                "insert into t values (1); end"),
                     1);
    /* BEGIN elsewhere is a statement of its own. */
    assert_int_equal(statements("BEGIN; SELECT 1; END;"), 3);

    dbont_migsteps_statements st;
    const char *sql = " /* x */ SELECT 1;\n  VACUUM;";
    dbont_migsteps_count_statements(sql, strlen(sql), &st);
    assert_int_equal(st.count, 2);
    assert_int_equal(st.first, 9);
    assert_int_equal(st.second, 21);
}

static void test_line_col(void **state)
{
    (void)state;
    int line, col;
    const char *text = "ab\ncafé x\n";
    dbont_migsteps_line_col(text, 0, &line, &col);
    assert_int_equal(line, 1);
    assert_int_equal(col, 1);
    dbont_migsteps_line_col(text, 3, &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 1);
    /* "x" after "café " counts characters, not bytes. */
    dbont_migsteps_line_col(text, strlen("ab\ncafé "), &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 6);
}

/* dbont_migrate_scan reports a malformed step as FILE:LINE:COL, refuses the
 * folder (22023), and gives each entry its steps when all is well. */
static void test_scan(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbont-steps-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/0001_a.sql", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("CREATE TABLE a (x int);\r\n-- dbont:step no-transaction index a_x_idx\r\n"
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_x_idx ON a (x);\r\n",
          f);
    fclose(f);
    snprintf(path, sizeof path, "%s/0001_a.down.sql", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    fputs("-- dbont:step no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS a_x_idx;\n"
          "-- dbont:step transaction\nDROP TABLE a;\n",
          f);
    fclose(f);

    dbont_migrate_report r = { 0 };
    dbont_error err;
    assert_int_equal(dbont_migrate_scan(dir, &r, &err), DBONT_OK);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.migrations[0].step_count, 2);
    assert_string_equal(r.migrations[0].steps[1].index_name, "a_x_idx");
    assert_int_equal(r.migrations[0].steps[1].statement_line, 3);
    assert_int_equal(r.migrations[0].down_step_count, 2);
    assert_true(r.migrations[0].down_steps[0].no_transaction);
    assert_int_equal(strlen(r.migrations[0].down_checksum), 64);
    assert_int_equal(r.migrations[0].partial, DBONT_MIGRATION_NOT_PARTIAL);
    dbont_migrate_report_free(&r);

    f = fopen(path, "wb");
    assert_non_null(f);
    fputs("-- dbont:step no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS a_x_idx;\n"
          "DROP TABLE a;\n",
          f);
    fclose(f);
    assert_int_equal(dbont_migrate_scan(dir, &r, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    char where[300];
    snprintf(where, sizeof where, "%s:3:1: error: a second SQL statement in step 1", path);
    if (!strstr(err.message, where))
        fail_msg("expected '%s' in '%s'", where, err.message);
    assert_int_equal(r.count, 0);
    dbont_migrate_report_free(&r);

    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_markers_is_one_step),
        cmocka_unit_test(test_three_steps),
        cmocka_unit_test(test_marker_on_first_line),
        cmocka_unit_test(test_marker_spacing),
        cmocka_unit_test(test_not_markers),
        cmocka_unit_test(test_malformed_markers),
        cmocka_unit_test(test_one_statement_rule),
        cmocka_unit_test(test_partition_indexes_step),
        cmocka_unit_test(test_partition_indexes_problems),
        cmocka_unit_test(test_partition_index_names),
        cmocka_unit_test(test_statement_counter),
        cmocka_unit_test(test_line_col),
        cmocka_unit_test(test_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
