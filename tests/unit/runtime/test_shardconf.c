/*
 * Unit tests: a shard set's configuration (shardconf.c), from its file
 * and from the environment: what good input gives, and every error with
 * its exact message, line and column.
 */
#define _POSIX_C_SOURCE 200809L  /* mkstemp */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "shardconf.h"

#define P0 "postgresql://postgres@127.0.0.1:5433/postgres"
#define P1 "postgresql://postgres@127.0.0.1:5434/postgres"
#define P2 "postgresql://postgres@127.0.0.1:5435/postgres"
#define P3 "postgresql://postgres@127.0.0.1:5436/postgres"
#define S0 "postgresql://postgres@127.0.0.1:5437/postgres"

/* ---- helpers ------------------------------------------------------------- */

static dbont_status parse(shardconf *c, const char *text, dbont_error *err)
{
    dbont_error_clear(err);
    return shardconf_parse(c, "shards.conf", text, strlen(text), err);
}

/* The file text must fail with exactly this message, SQLSTATE 22023. */
static void file_fails(const char *text, const char *message)
{
    shardconf c;
    dbont_error err;
    assert_int_equal(parse(&c, text, &err), DBONT_ERROR);
    assert_string_equal(err.message, message);
    assert_string_equal(err.sqlstate, "22023");
    /* Nothing is left half-built. */
    assert_int_equal(c.count, 0);
    assert_null(c.shards);
    assert_null(c.count_origin);
    shardconf_free(&c);
}

/* The environment must fail with exactly this message, SQLSTATE 22023. */
static void env_fails(char *const *envp, const char *message)
{
    shardconf c;
    dbont_error err;
    dbont_error_clear(&err);
    assert_int_equal(shardconf_from_env(&c, envp, &err), DBONT_ERROR);
    assert_string_equal(err.message, message);
    assert_string_equal(err.sqlstate, "22023");
    assert_int_equal(c.count, 0);
    assert_null(c.shards);
    shardconf_free(&c);
}

static void assert_server(const shardconf_server *sv, const char *dsn, const char *label)
{
    assert_non_null(sv->dsn);
    assert_string_equal(sv->dsn, dsn);
    assert_string_equal(sv->label, label);
}

/* Two configurations list the same servers in the same order. */
static void assert_same(const shardconf *a, const shardconf *b)
{
    int i;
    size_t k;
    assert_int_equal(a->count, b->count);
    for (i = 0; i < a->count; i++) {
        assert_string_equal(a->shards[i].primary.dsn, b->shards[i].primary.dsn);
        assert_string_equal(a->shards[i].primary.label, b->shards[i].primary.label);
        assert_int_equal(a->shards[i].nstandbys, b->shards[i].nstandbys);
        for (k = 0; k < a->shards[i].nstandbys; k++) {
            assert_string_equal(a->shards[i].standbys[k].dsn, b->shards[i].standbys[k].dsn);
            assert_string_equal(a->shards[i].standbys[k].label, b->shards[i].standbys[k].label);
        }
    }
}

/* A temporary file holding text; its path in path (freed by the caller
 * with unlink). */
static void temp_file(char path[64], const char *text)
{
    int fd;
    FILE *f;
    snprintf(path, 64, "/tmp/test_shardconf.XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* What tests/pg/shardcluster.sh writes. */
static const char harness_conf[] =
    "# A dbont shard set (written by tests/pg/shardcluster.sh).\n"
    "# shards <N> | shard <I> primary <DSN> | shard <I> standby <DSN>\n"
    "shards 4\n"
    "shard 0 primary " P0 "\n"
    "shard 0 standby " S0 "\n"
    "shard 1 primary " P1 "\n"
    "shard 2 primary " P2 "\n"
    "shard 3 primary " P3 "\n";

/* ---- good files ------------------------------------------------------------ */

static void test_file_harness(void **state)
{
    shardconf c;
    dbont_error err;
    (void)state;
    assert_int_equal(parse(&c, harness_conf, &err), DBONT_OK);
    assert_int_equal(c.count, 4);
    assert_string_equal(c.count_origin, "shards.conf:3:8");
    assert_server(&c.shards[0].primary, P0, "127.0.0.1:5433");
    assert_int_equal(c.shards[0].nstandbys, 1);
    assert_server(&c.shards[0].standbys[0], S0, "127.0.0.1:5437");
    assert_server(&c.shards[1].primary, P1, "127.0.0.1:5434");
    assert_server(&c.shards[2].primary, P2, "127.0.0.1:5435");
    assert_server(&c.shards[3].primary, P3, "127.0.0.1:5436");
    assert_int_equal(c.shards[1].nstandbys, 0);
    assert_int_equal(c.shards[3].nstandbys, 0);
    shardconf_free(&c);
    shardconf_free(&c);   /* harmless: freeing empties it */
}

static void test_file_layout(void **state)
{
    /* CRLF, tabs, indented comments, blank lines of blanks, lines in any
     * order after "shards", standbys in order, no final newline; a
     * key=value DSN with blanks and a '#', kept as written (blanks around
     * it removed); a bare database name. */
    static const char text[] =
        "\r\n"
        "   # indented comment\r\n"
        "\t \r\n"
        "\tshards\t2   \r\n"
        "shard 1 standby   host=db1b port=6432 dbname=app password='a #b'  \t\r\n"
        "shard  1\tprimary\thost=db1 port=6432 dbname=app\r\n"
        "shard 1 standby hostaddr=10.0.0.7 host=db1c dbname=app\r\n"
        "shard 0 primary appdb\r\n"
        "shard 0 standby postgresql:///appdb?host=/run/pg";
    shardconf c;
    dbont_error err;
    (void)state;
    assert_int_equal(parse(&c, text, &err), DBONT_OK);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.count_origin, "shards.conf:4:9");
    assert_server(&c.shards[0].primary, "appdb", "(default host)");
    assert_int_equal(c.shards[0].nstandbys, 1);
    assert_server(&c.shards[0].standbys[0], "postgresql:///appdb?host=/run/pg", "/run/pg");
    assert_server(&c.shards[1].primary, "host=db1 port=6432 dbname=app", "db1:6432");
    assert_int_equal(c.shards[1].nstandbys, 2);
    assert_server(&c.shards[1].standbys[0], "host=db1b port=6432 dbname=app password='a #b'",
                  "db1b:6432");
    /* hostaddr is where libpq connects: the label shows it. */
    assert_server(&c.shards[1].standbys[1], "hostaddr=10.0.0.7 host=db1c dbname=app", "10.0.0.7");
    shardconf_free(&c);
}

static void test_file_one_shard(void **state)
{
    shardconf c;
    dbont_error err;
    (void)state;
    assert_int_equal(parse(&c, "shards 1\nshard 0 primary " P0 "\n", &err), DBONT_OK);
    assert_int_equal(c.count, 1);
    assert_server(&c.shards[0].primary, P0, "127.0.0.1:5433");
    shardconf_free(&c);
    /* Leading zeros are still the number. */
    assert_int_equal(parse(&c, "shards 002\nshard 01 primary a\nshard 0 primary b\n", &err),
                     DBONT_OK);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.shards[1].primary.dsn, "a");
    shardconf_free(&c);
}

/* ---- file errors --------------------------------------------------------------- */

static void test_file_errors_keywords(void **state)
{
    (void)state;
    file_fails("shards 4\nshard 0 primary a\nshard 5 primary b\n",
               "shards.conf:3:7: shard 5 is out of range (shards 4)");
    file_fails("shards 4\nshardz 0 primary a\n",
               "shards.conf:2:1: unknown keyword 'shardz' (expected 'shards', 'shard' or 'moving-from')");
    file_fails("shards 4\n  Shard 0 primary a\n",
               "shards.conf:2:3: unknown keyword 'Shard' (expected 'shards', 'shard' or 'moving-from')");
    file_fails("shards 4\nshard 0 primary a # ok\nshards=4\n",
               "shards.conf:3:1: unknown keyword 'shards=4' (expected 'shards', 'shard' or 'moving-from')");
    file_fails("# comment\nshard 0 primary a\nshards 1\n",
               "shards.conf:2:1: 'shard' before 'shards <N>' (the shard count comes first)");
    file_fails("\nshards 2\nshard 0 primary a\n  shards 2\n",
               "shards.conf:4:3: 'shards' is given twice (first at line 2)");
}

static void test_file_errors_count(void **state)
{
    (void)state;
    file_fails("shards\n", "shards.conf:1:7: 'shards' needs the shard count (1 to 65536)");
    file_fails("shards   \n", "shards.conf:1:10: 'shards' needs the shard count (1 to 65536)");
    file_fails("shards 0\n",
               "shards.conf:1:8: the shard count must be a whole number from 1 to 65536, not '0'");
    file_fails("shards  four\n",
               "shards.conf:1:9: the shard count must be a whole number from 1 to 65536, not 'four'");
    file_fails("shards -4\n",
               "shards.conf:1:8: the shard count must be a whole number from 1 to 65536, not '-4'");
    file_fails("shards 65537\n",
               "shards.conf:1:8: the shard count must be a whole number from 1 to 65536, "
               "not '65537'");
    file_fails("shards 99999999999999999999999\n",
               "shards.conf:1:8: the shard count must be a whole number from 1 to 65536, "
               "not '99999999999999999999999'");
    file_fails("shards 4 # four\n", "shards.conf:1:10: unexpected '#' after the shard count");
    file_fails("", "shards.conf: no 'shards <N>' line (the file must give the shard count first)");
    file_fails("# nothing\n\n",
               "shards.conf: no 'shards <N>' line (the file must give the shard count first)");
}

static void test_file_errors_shard_lines(void **state)
{
    (void)state;
    file_fails("shards 4\nshard\n",
               "shards.conf:2:6: 'shard' needs a shard number, a role (primary or standby) and a DSN");
    file_fails("shards 4\nshard 1\n",
               "shards.conf:2:8: 'shard' needs a shard number, a role (primary or standby) and a DSN");
    file_fails("shards 4\nshard x primary a\n",
               "shards.conf:2:7: 'x' is not a shard number (0 to 3)");
    file_fails("shards 4\nshard -1 primary a\n",
               "shards.conf:2:7: '-1' is not a shard number (0 to 3)");
    file_fails("shards 4\nshard 4 primary a\n",
               "shards.conf:2:7: shard 4 is out of range (shards 4)");
    file_fails("shards 4\nshard 123456789012345678901 primary a\n",
               "shards.conf:2:7: shard 123456789012345678901 is out of range (shards 4)");
    file_fails("shards 4\nshard 1 primry a\n",
               "shards.conf:2:9: unknown role 'primry' (expected 'primary' or 'standby')");
    file_fails("shards 4\nshard 1 primary\n", "shards.conf:2:16: shard 1 primary: the DSN is empty");
    file_fails("shards 4\nshard 1 standby \t \r\n",
               "shards.conf:2:19: shard 1 standby: the DSN is empty");
    file_fails("shards 2\nshard 0 primary a\nshard 1 primary b\n\nshard 1  primary c\n",
               "shards.conf:5:10: shard 1 has a second primary (the first is at line 3)");
    file_fails("shards 4\nshard 0 primary a\nshard 1 primary b\nshard 3 primary d\n",
               "shards.conf:1:8: shard 2 has no primary (no 'shard 2 primary <DSN>' line)");
    file_fails("shards 2\nshard 1 primary b\nshard 0 standby c\n",
               "shards.conf:1:8: shard 0 has no primary (no 'shard 0 primary <DSN>' line)");
}

static void test_file_errors_dsn(void **state)
{
    (void)state;
    file_fails("shards 1\nshard 0 primary  host=a port\n",
               "shards.conf:2:18: shard 0 primary: invalid DSN: missing \"=\" after \"port\" in "
               "connection info string");
    file_fails("shards 1\nshard 0 primary a\nshard 0 standby host='unterminated\n",
               "shards.conf:3:17: shard 0 standby: invalid DSN: unterminated quoted string in "
               "connection info string");
    file_fails("shards 1\nshard 0 primary postgresql://h/db?nosuch=1\n",
               "shards.conf:2:17: shard 0 primary: invalid DSN: invalid URI query parameter: "
               "\"nosuch\"");
}

static void test_file_nul_byte(void **state)
{
    static const char text[] = "shards 1\nshard 0 primary a\0b\n";
    shardconf c;
    dbont_error err;
    (void)state;
    assert_int_equal(shardconf_parse(&c, "bin.conf", text, sizeof text - 1, &err), DBONT_ERROR);
    assert_string_equal(err.message, "bin.conf:2:18: a NUL byte (is this a text file?)");
}

static void test_file_read(void **state)
{
    char path[64], want[128];
    shardconf c, from_text;
    dbont_error err;
    (void)state;

    temp_file(path, harness_conf);
    assert_int_equal(shardconf_read_file(&c, path, &err), DBONT_OK);
    assert_int_equal(parse(&from_text, harness_conf, &err), DBONT_OK);
    assert_same(&c, &from_text);
    /* Messages name the file by the path given. */
    snprintf(want, sizeof want, "%s:3:8", path);
    assert_string_equal(c.count_origin, want);
    shardconf_free(&c);
    shardconf_free(&from_text);
    unlink(path);

    temp_file(path, "shards 2\nshard 0 primary a\n");
    assert_int_equal(shardconf_read_file(&c, path, &err), DBONT_ERROR);
    snprintf(want, sizeof want, "%s:1:8: shard 1 has no primary (no 'shard 1 primary <DSN>' line)",
             path);
    assert_string_equal(err.message, want);
    unlink(path);

    assert_int_equal(shardconf_read_file(&c, "/nonexistent/shards.conf", &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "58030");
    assert_string_equal(err.message, "/nonexistent/shards.conf: cannot read: No such file or directory");
    assert_int_equal(shardconf_read_file(&c, "/tmp", &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "58030");
    assert_string_equal(err.message, "/tmp: cannot read: Is a directory");
}

static void test_check_count(void **state)
{
    shardconf c;
    dbont_error err;
    (void)state;
    assert_int_equal(parse(&c, harness_conf, &err), DBONT_OK);
    assert_int_equal(shardconf_check_count(&c, 0, &err), DBONT_OK);
    assert_int_equal(shardconf_check_count(&c, 4, &err), DBONT_OK);
    assert_int_equal(shardconf_check_count(&c, 5, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    assert_string_equal(err.message,
                        "shards.conf:3:8: the shard set has 4 shards, but 5 are expected "
                        "(expected_count: the generated code's shard:shardCount)");
    shardconf_free(&c);
    assert_int_equal(parse(&c, "shards 1\nshard 0 primary a\n", &err), DBONT_OK);
    assert_int_equal(shardconf_check_count(&c, 2, &err), DBONT_ERROR);
    assert_string_equal(err.message,
                        "shards.conf:1:8: the shard set has 1 shard, but 2 are expected "
                        "(expected_count: the generated code's shard:shardCount)");
    shardconf_free(&c);
}

/* ---- the environment ---------------------------------------------------------- */

static char *harness_env[] = {
    "PATH=/usr/bin",
    "DBONT_SHARD_3_PRIMARY=" P3,
    "DBONT_SHARD_COUNT=4",
    "DBONT_SHARD_0_STANDBY=" S0,
    "DBONT_SHARD_1_PRIMARY=" P1,
    "DBONT_SHARD_0_PRIMARY=" P0,
    "DBONT_SHARD_2_PRIMARY=" P2,
    /* Not DBONT_SHARD_<i>_...: not ours to judge. */
    "DBONT_SHARD_STRATEGY=whatever",
    "DBONT_SHARDS_TEMPLATE=x",
    NULL};

static void test_env_harness(void **state)
{
    shardconf from_env, from_file;
    dbont_error err;
    (void)state;
    assert_int_equal(shardconf_from_env(&from_env, harness_env, &err), DBONT_OK);
    assert_string_equal(from_env.count_origin, "DBONT_SHARD_COUNT");
    assert_int_equal(parse(&from_file, harness_conf, &err), DBONT_OK);
    assert_same(&from_env, &from_file);
    shardconf_free(&from_env);
    shardconf_free(&from_file);
}

static void test_env_standbys_in_order(void **state)
{
    char *env[] = {
        "DBONT_SHARD_COUNT= 2 ",
        "DBONT_SHARD_0_STANDBY_10=s10",
        "DBONT_SHARD_1_PRIMARY=  p1\t",
        "DBONT_SHARD_0_STANDBY_2=s2",
        "DBONT_SHARD_0_STANDBY=s",
        "DBONT_SHARD_0_PRIMARY=p0",
        "DBONT_SHARD_0_STANDBY_1=s1",
        "DBONT_SHARD_1_STANDBY_7=host=r7 port=1",
        NULL};
    shardconf c;
    dbont_error err;
    (void)state;
    assert_int_equal(shardconf_from_env(&c, env, &err), DBONT_OK);
    assert_int_equal(c.count, 2);
    assert_server(&c.shards[0].primary, "p0", "(default host)");
    assert_int_equal(c.shards[0].nstandbys, 4);
    assert_string_equal(c.shards[0].standbys[0].dsn, "s");
    assert_string_equal(c.shards[0].standbys[1].dsn, "s1");
    assert_string_equal(c.shards[0].standbys[2].dsn, "s2");
    assert_string_equal(c.shards[0].standbys[3].dsn, "s10");
    assert_server(&c.shards[1].primary, "p1", "(default host)");
    assert_int_equal(c.shards[1].nstandbys, 1);
    assert_server(&c.shards[1].standbys[0], "host=r7 port=1", "r7:1");
    shardconf_free(&c);
}

static void test_env_errors(void **state)
{
    char *no_count[] = {"DBONT_SHARD_0_PRIMARY=a", NULL};
    char *bad_count[] = {"DBONT_SHARD_COUNT=4x", NULL};
    char *zero_count[] = {"DBONT_SHARD_COUNT=0", NULL};
    char *out_of_range[] = {"DBONT_SHARD_COUNT=4", "DBONT_SHARD_0_PRIMARY=a", "DBONT_SHARD_5_PRIMARY=b",
                            NULL};
    char *huge_shard[] = {"DBONT_SHARD_COUNT=1", "DBONT_SHARD_99999999999999999999_STANDBY=b", NULL};
    char *missing[] = {"DBONT_SHARD_COUNT=4", "DBONT_SHARD_0_PRIMARY=a", "DBONT_SHARD_1_PRIMARY=b",
                       "DBONT_SHARD_3_PRIMARY=d", NULL};
    char *empty[] = {"DBONT_SHARD_COUNT=2", "DBONT_SHARD_0_PRIMARY=a", "DBONT_SHARD_1_PRIMARY= ",
                     NULL};
    char *empty_standby[] = {"DBONT_SHARD_COUNT=1", "DBONT_SHARD_0_PRIMARY=a",
                             "DBONT_SHARD_0_STANDBY=", NULL};
    char *misspelt[] = {"DBONT_SHARD_COUNT=1", "DBONT_SHARD_0_PRIMARY=a", "DBONT_SHARD_0_PRIMRY=b",
                        NULL};
    char *standby_0[] = {"DBONT_SHARD_COUNT=1", "DBONT_SHARD_0_PRIMARY=a",
                         "DBONT_SHARD_0_STANDBY_0=b", NULL};
    char *standby_x[] = {"DBONT_SHARD_COUNT=1", "DBONT_SHARD_0_PRIMARY=a",
                         "DBONT_SHARD_0_STANDBY_x=b", NULL};
    char *no_role[] = {"DBONT_SHARD_COUNT=1", "DBONT_SHARD_0=a", NULL};
    char *twice[] = {"DBONT_SHARD_COUNT=2", "DBONT_SHARD_1_PRIMARY=a", "DBONT_SHARD_0_PRIMARY=a",
                     "DBONT_SHARD_01_PRIMARY=b", NULL};
    char *bad_dsn[] = {"DBONT_SHARD_COUNT=1", "DBONT_SHARD_0_PRIMARY=host=a port", NULL};
    (void)state;

    env_fails(no_count, "DBONT_SHARD_COUNT is not set (nor DBONT_SHARDS_CONF): no shard set is configured");
    env_fails(bad_count,
              "DBONT_SHARD_COUNT: the shard count must be a whole number from 1 to 65536, not '4x'");
    env_fails(zero_count,
              "DBONT_SHARD_COUNT: the shard count must be a whole number from 1 to 65536, not '0'");
    env_fails(out_of_range, "DBONT_SHARD_5_PRIMARY: shard 5 is out of range (shards 4)");
    env_fails(huge_shard, "DBONT_SHARD_99999999999999999999_STANDBY: shard 99999999999999999999 is "
                          "out of range (shards 1)");
    env_fails(missing, "DBONT_SHARD_2_PRIMARY is not set (DBONT_SHARD_COUNT is 4)");
    env_fails(empty, "DBONT_SHARD_1_PRIMARY: the DSN is empty");
    env_fails(empty_standby, "DBONT_SHARD_0_STANDBY: the DSN is empty");
    env_fails(misspelt, "DBONT_SHARD_0_PRIMRY: unknown variable (expected DBONT_SHARD_<i>_PRIMARY, "
                        "DBONT_SHARD_<i>_STANDBY or DBONT_SHARD_<i>_STANDBY_<k>, k from 1)");
    env_fails(standby_0, "DBONT_SHARD_0_STANDBY_0: unknown variable (expected DBONT_SHARD_<i>_PRIMARY, "
                         "DBONT_SHARD_<i>_STANDBY or DBONT_SHARD_<i>_STANDBY_<k>, k from 1)");
    env_fails(standby_x, "DBONT_SHARD_0_STANDBY_x: unknown variable (expected DBONT_SHARD_<i>_PRIMARY, "
                         "DBONT_SHARD_<i>_STANDBY or DBONT_SHARD_<i>_STANDBY_<k>, k from 1)");
    env_fails(no_role, "DBONT_SHARD_0: unknown variable (expected DBONT_SHARD_<i>_PRIMARY, "
                       "DBONT_SHARD_<i>_STANDBY or DBONT_SHARD_<i>_STANDBY_<k>, k from 1)");
    env_fails(twice, "DBONT_SHARD_1_PRIMARY: shard 1 has a second primary (DBONT_SHARD_01_PRIMARY)");
    env_fails(bad_dsn, "DBONT_SHARD_0_PRIMARY: invalid DSN: missing \"=\" after \"port\" in "
                       "connection info string");
}

/* ---- moving-from: a move in progress ------------------------------------------ */

static void test_moving_from_file(void **state)
{
    shardconf c;
    dbont_error err;
    (void)state;
    /* Without the line: no move. */
    assert_int_equal(parse(&c, harness_conf, &err), DBONT_OK);
    assert_int_equal(c.moving_from, 0);
    shardconf_free(&c);
    /* After "shards", anywhere among the "shard" lines; blanks, CRLF. */
    assert_int_equal(parse(&c,
                           "shards 5\nshard 0 primary a\n\tmoving-from   4 \r\nshard 1 primary b\n"
                           "shard 2 primary c\nshard 3 primary d\nshard 4 primary e\n",
                           &err),
                     DBONT_OK);
    assert_int_equal(c.count, 5);
    assert_int_equal(c.moving_from, 4);
    shardconf_free(&c);
    assert_int_equal(c.moving_from, 0);   /* freeing empties it */
    /* Leading zeros are still the number. */
    assert_int_equal(parse(&c, "shards 2\nmoving-from 01\nshard 0 primary a\nshard 1 primary b\n",
                           &err),
                     DBONT_OK);
    assert_int_equal(c.moving_from, 1);
    shardconf_free(&c);
    /* The rest of the file is still checked. */
    file_fails("shards 17\nmoving-from 1\n",
               "shards.conf:1:8: shard 0 has no primary (no 'shard 0 primary <DSN>' line)");
}

static void test_moving_from_file_errors(void **state)
{
    (void)state;
    file_fails("moving-from 4\nshards 5\n",
               "shards.conf:1:1: 'moving-from' before 'shards <N>' (the shard count comes first)");
    file_fails("shards 5\nmoving-from 4\nshard 0 primary a\n  moving-from 4\n",
               "shards.conf:4:3: 'moving-from' is given twice (first at line 2)");
    file_fails("shards 5\nmoving-from\n",
               "shards.conf:2:12: 'moving-from' needs the shard count the rows are moving from "
               "(1 to 4)");
    file_fails("shards 5\nmoving-from four\n",
               "shards.conf:2:13: the shard count to move from must be a whole number from 1 to "
               "4, not 'four'");
    file_fails("shards 5\nmoving-from 0\n",
               "shards.conf:2:13: the shard count to move from must be a whole number from 1 to "
               "4, not '0'");
    file_fails("shards 5\nmoving-from -4\n",
               "shards.conf:2:13: the shard count to move from must be a whole number from 1 to "
               "4, not '-4'");
    /* Only growing: the same count, or shrinking, is refused. */
    file_fails("shards 5\nmoving-from 5\n",
               "shards.conf:2:13: moving-from 5 is not less than the shard count, 5: only growing "
               "is supported (from fewer shards to more)");
    file_fails("shards 4\nshard 0 primary a\nmoving-from  16\n",
               "shards.conf:3:14: moving-from 16 is not less than the shard count, 4: only "
               "growing is supported (from fewer shards to more)");
    file_fails("shards 4\nmoving-from 99999999999999999999\n",
               "shards.conf:2:13: moving-from 99999999999999999999 is not less than the shard "
               "count, 4: only growing is supported (from fewer shards to more)");
    file_fails("shards 1\nmoving-from 1\n",
               "shards.conf:2:13: 'moving-from' with 1 shard: only growing is supported, and no "
               "smaller count can grow to 1");
    file_fails("shards 1\nmoving-from\n",
               "shards.conf:2:1: 'moving-from' with 1 shard: only growing is supported, and no "
               "smaller count can grow to 1");
    file_fails("shards 5\nmoving-from 4 # old\n",
               "shards.conf:2:15: unexpected '#' after the shard count to move from");
    file_fails("shards 5\nmoving_from 4\n",
               "shards.conf:2:1: unknown keyword 'moving_from' (expected 'shards', 'shard' or "
               "'moving-from')");
}

static void test_moving_from_env(void **state)
{
    char *env[] = {"DBONT_SHARD_COUNT=2", "DBONT_SHARD_0_PRIMARY=a", "DBONT_SHARD_1_PRIMARY=b",
                   "DBONT_SHARD_MOVING_FROM= 1 ", NULL};
    char *blank[] = {"DBONT_SHARD_COUNT=2", "DBONT_SHARD_0_PRIMARY=a", "DBONT_SHARD_1_PRIMARY=b",
                     "DBONT_SHARD_MOVING_FROM= ", NULL};
    char *not_less[] = {"DBONT_SHARD_COUNT=2", "DBONT_SHARD_0_PRIMARY=a",
                        "DBONT_SHARD_1_PRIMARY=b", "DBONT_SHARD_MOVING_FROM=2", NULL};
    char *huge[] = {"DBONT_SHARD_COUNT=2", "DBONT_SHARD_0_PRIMARY=a", "DBONT_SHARD_1_PRIMARY=b",
                    "DBONT_SHARD_MOVING_FROM=123456789012345678901", NULL};
    char *zero[] = {"DBONT_SHARD_COUNT=3", "DBONT_SHARD_MOVING_FROM=0", NULL};
    char *word[] = {"DBONT_SHARD_COUNT=3", "DBONT_SHARD_MOVING_FROM=two", NULL};
    char *one[] = {"DBONT_SHARD_COUNT=1", "DBONT_SHARD_0_PRIMARY=a", "DBONT_SHARD_MOVING_FROM=1",
                   NULL};
    shardconf c;
    dbont_error err;
    (void)state;

    assert_int_equal(shardconf_from_env(&c, env, &err), DBONT_OK);
    assert_int_equal(c.moving_from, 1);
    shardconf_free(&c);
    /* Blank is unset (VAR= in a shell). */
    assert_int_equal(shardconf_from_env(&c, blank, &err), DBONT_OK);
    assert_int_equal(c.moving_from, 0);
    shardconf_free(&c);
    assert_int_equal(shardconf_from_env(&c, harness_env, &err), DBONT_OK);
    assert_int_equal(c.moving_from, 0);
    shardconf_free(&c);
    env_fails(not_less, "DBONT_SHARD_MOVING_FROM: 2 is not less than DBONT_SHARD_COUNT, 2: only "
                        "growing is supported (from fewer shards to more)");
    env_fails(huge, "DBONT_SHARD_MOVING_FROM: 123456789012345678901 is not less than "
                    "DBONT_SHARD_COUNT, 2: only growing is supported (from fewer shards to more)");
    env_fails(zero, "DBONT_SHARD_MOVING_FROM: the shard count to move from must be a whole number "
                    "from 1 to 2, not '0'");
    env_fails(word, "DBONT_SHARD_MOVING_FROM: the shard count to move from must be a whole number "
                    "from 1 to 2, not 'two'");
    env_fails(one, "DBONT_SHARD_MOVING_FROM: DBONT_SHARD_COUNT is 1: only growing is supported, "
                   "and no smaller count can grow to 1");
}

static void test_moving_from_load(void **state)
{
    char path[64], conf_var[128];
    /* The file wins over the variables, DBONT_SHARD_MOVING_FROM too. */
    char *env[] = {conf_var, "DBONT_SHARD_MOVING_FROM=1", NULL};
    shardconf c;
    dbont_error err;
    (void)state;
    temp_file(path, "shards 3\nshard 0 primary a\nshard 1 primary b\nshard 2 primary c\n");
    snprintf(conf_var, sizeof conf_var, "DBONT_SHARDS_CONF=%s", path);
    assert_int_equal(shardconf_load(&c, NULL, env, &err), DBONT_OK);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.moving_from, 0);
    shardconf_free(&c);
    unlink(path);
    temp_file(path, "shards 3\nmoving-from 2\nshard 0 primary a\nshard 1 primary b\n"
                    "shard 2 primary c\n");
    assert_int_equal(shardconf_read_file(&c, path, &err), DBONT_OK);
    assert_int_equal(c.moving_from, 2);
    shardconf_free(&c);
    unlink(path);
}

/* ---- where the configuration comes from --------------------------------------- */

static void test_load_sources(void **state)
{
    char path[64], conf_var[128];
    char *env_with_file[] = {conf_var, "DBONT_SHARD_COUNT=1", "DBONT_SHARD_0_PRIMARY=env", NULL};
    char *env_empty_file[] = {"DBONT_SHARDS_CONF=", "DBONT_SHARD_COUNT=1",
                              "DBONT_SHARD_0_PRIMARY=env", NULL};
    char *nothing[] = {"HOME=/", NULL};
    shardconf c;
    dbont_error err;
    (void)state;

    temp_file(path, "shards 1\nshard 0 primary file\n");
    snprintf(conf_var, sizeof conf_var, "DBONT_SHARDS_CONF=%s", path);
    /* The file named by the caller first. */
    assert_int_equal(shardconf_load(&c, path, env_empty_file, &err), DBONT_OK);
    assert_string_equal(c.shards[0].primary.dsn, "file");
    shardconf_free(&c);
    /* Then $DBONT_SHARDS_CONF, over the variables. */
    assert_int_equal(shardconf_load(&c, NULL, env_with_file, &err), DBONT_OK);
    assert_string_equal(c.shards[0].primary.dsn, "file");
    shardconf_free(&c);
    /* An empty DBONT_SHARDS_CONF is no file. */
    assert_int_equal(shardconf_load(&c, NULL, env_empty_file, &err), DBONT_OK);
    assert_string_equal(c.shards[0].primary.dsn, "env");
    assert_string_equal(c.count_origin, "DBONT_SHARD_COUNT");
    shardconf_free(&c);
    unlink(path);
    /* A file that is gone is an error, not a reason to read the variables. */
    assert_int_equal(shardconf_load(&c, NULL, env_with_file, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "58030");
    assert_int_equal(shardconf_load(&c, NULL, nothing, &err), DBONT_ERROR);
    assert_string_equal(err.message,
                        "DBONT_SHARD_COUNT is not set (nor DBONT_SHARDS_CONF): no shard set is configured");
    assert_int_equal(shardconf_load(&c, NULL, NULL, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    assert_int_equal(shardconf_load(&c, "", env_empty_file, &err), DBONT_ERROR);
    assert_string_equal(err.message, "conf_path is empty (NULL reads DBONT_SHARDS_CONF or the environment)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_harness),
        cmocka_unit_test(test_file_layout),
        cmocka_unit_test(test_file_one_shard),
        cmocka_unit_test(test_file_errors_keywords),
        cmocka_unit_test(test_file_errors_count),
        cmocka_unit_test(test_file_errors_shard_lines),
        cmocka_unit_test(test_file_errors_dsn),
        cmocka_unit_test(test_file_nul_byte),
        cmocka_unit_test(test_file_read),
        cmocka_unit_test(test_check_count),
        cmocka_unit_test(test_env_harness),
        cmocka_unit_test(test_env_standbys_in_order),
        cmocka_unit_test(test_env_errors),
        cmocka_unit_test(test_load_sources),
        cmocka_unit_test(test_moving_from_file),
        cmocka_unit_test(test_moving_from_file_errors),
        cmocka_unit_test(test_moving_from_env),
        cmocka_unit_test(test_moving_from_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
