/*
 * Integration test of queries, batches, COPY and filters against a real
 * PostgreSQL ($DATABASE_URL).
 *
 * Every descriptor below is written by hand, the way dbont-gen would
 * write it: parameter and row structs, dbont_query and dbont_table
 * constants with their statements.  The test creates its schema (q)
 * itself with plain SQL, and checks results against what the server says
 * with its own text output or a hand-written query.
 */
#define _POSIX_C_SOURCE 200809L  /* strdup */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dbont/dbont.h"

/* name, dbont type, C type, SQL type */
#define EVERY_TYPE(X)                                        \
    X(i2, DBONT_SMALLINT, int16_t, "smallint")               \
    X(i4, DBONT_INTEGER, int32_t, "integer")                 \
    X(i8, DBONT_BIGINT, int64_t, "bigint")                   \
    X(b, DBONT_BOOLEAN, bool, "boolean")                     \
    X(f4, DBONT_REAL, float, "real")                         \
    X(f8, DBONT_DOUBLE, double, "double precision")          \
    X(num, DBONT_NUMERIC, const char *, "numeric")           \
    X(t, DBONT_TEXT, const char *, "text")                   \
    X(vc, DBONT_VARCHAR, const char *, "varchar(40)")        \
    X(u, DBONT_UUID, dbont_uuid, "uuid")                     \
    X(d, DBONT_DATE, dbont_date, "date")                     \
    X(ts, DBONT_TIMESTAMP, dbont_timestamp, "timestamp")     \
    X(tz, DBONT_TIMESTAMPTZ, dbont_timestamp, "timestamptz") \
    X(j, DBONT_JSONB, const char *, "jsonb")                 \
    X(by, DBONT_BYTEA, dbont_bytes, "bytea")
#define NTYPES 15

/* Type OIDs, written out here independently of the runtime's table. */
static const Oid every_oid[NTYPES] = {21, 23, 20, 16, 700, 701, 1700, 25, 1043, 2950,
                                      1082, 1114, 1184, 3802, 17};

/* ---- the schema ------------------------------------------------------- */

#define CREATE_ITEM_COLUMNS(n, type, ctype, sql) " " #n " " sql " NOT NULL, " #n "_n " sql ","

static const char create_sql[] =
    "DROP SCHEMA IF EXISTS q CASCADE;"
    "CREATE SCHEMA q;"
    "CREATE TABLE q.users (id serial PRIMARY KEY, email text NOT NULL UNIQUE,"
    " username varchar(40) NOT NULL, active boolean NOT NULL DEFAULT true, nickname text,"
    " created_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE q.posts (id bigserial PRIMARY KEY,"
    " user_id integer NOT NULL REFERENCES q.users (id), title text NOT NULL,"
    " content text, published boolean NOT NULL DEFAULT false,"
    " score numeric(8,2) CHECK (score IS NULL OR score >= 0));"
    "CREATE INDEX ON q.posts (user_id);"
    "CREATE TABLE q.tags (name text PRIMARY KEY);"
    "CREATE TABLE q.item (id serial PRIMARY KEY," EVERY_TYPE(CREATE_ITEM_COLUMNS)
    " \"Status\" text NOT NULL DEFAULT 'new', note text DEFAULT 'hello');"
    "CREATE TABLE q.num (id integer PRIMARY KEY, v numeric);"
    "CREATE TABLE q.log (msg text);";

/* ---- helpers ---------------------------------------------------------- */

static dbont_conn *conn;

static dbont_conn *connect_or_fail(void)
{
    dbont_error err;
    dbont_conn *c = dbont_connect(NULL, &err);
    if (c == NULL)
        fail_msg("cannot connect ($DATABASE_URL): %s %s", err.sqlstate, err.message);
    return c;
}

static void exec_ok(dbont_conn *c, const char *sql)
{
    dbont_error err;
    if (dbont_exec(c, sql, &err) != DBONT_OK)
        fail_msg("%s: %s %s", sql, err.sqlstate, err.message);
}

static void expect_error(dbont_status st, const dbont_error *err, const char *sqlstate)
{
    if (st != DBONT_ERROR)
        fail_msg("expected SQLSTATE %s, the call returned %d", sqlstate, (int)st);
    if (strcmp(err->sqlstate, sqlstate) != 0)
        fail_msg("expected SQLSTATE %s, got %s: %s", sqlstate, err->sqlstate, err->message);
}

static void expect_message_has(const dbont_error *err, const char *part)
{
    if (strstr(err->message, part) == NULL)
        fail_msg("message lacks \"%s\": %s", part, err->message);
}

/* One value as the server prints it (text format); "(null)" for NULL. */
static char *server_text(dbont_conn *c, const char *sql)
{
    PGresult *res = PQexec(dbont_conn_pg(c), sql);
    char *copy;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    copy = strdup(PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
    PQclear(res);
    return copy;
}

static void expect_server_text(dbont_conn *c, const char *sql, const char *expected)
{
    char *got = server_text(c, sql);
    if (strcmp(got, expected) != 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s: expected \"%s\", got \"%s\"", sql, expected, got);
        free(got);
        fail_msg("%s", msg);
    }
    free(got);
}

static long long server_count(dbont_conn *c, const char *sql)
{
    char *n = server_text(c, sql);
    long long v = atoll(n);
    free(n);
    return v;
}

static long long prepared_count(dbont_conn *c)
{
    return server_count(c, "SELECT count(*) FROM pg_prepared_statements");
}

/* The connection is idle, out of pipeline mode, and answers a query. */
static void expect_usable(dbont_conn *c)
{
    assert_int_equal(PQpipelineStatus(dbont_conn_pg(c)), PQ_PIPELINE_OFF);
    assert_int_equal(PQtransactionStatus(dbont_conn_pg(c)), PQTRANS_IDLE);
    expect_server_text(c, "SELECT 41 + 1", "42");
}

/* Kills c's backend from another connection. */
static void kill_backend(dbont_conn *c)
{
    dbont_conn *killer = connect_or_fail();
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 5000)",
             PQbackendPID(dbont_conn_pg(c)));
    expect_server_text(killer, sql, "t");
    dbont_close(killer);
}

static const uint8_t some_bytes[4] = {'a', 0, 'b', 0xff};
static const char *uuid_text = "123e4567-e89b-12d3-a456-426614174000";
#define DAY_2024_01_01 19723
#define USEC_2024_01_02 INT64_C(1704164645678901)

/* =====================================================================
 * dbont_query_run: a query with one parameter of every type
 * ===================================================================== */

#define PARAM_FIELD(n, type, ctype, sql) ctype n;
typedef struct every_params {
    EVERY_TYPE(PARAM_FIELD)
} every_params;

#define ROW_FIELD(n, type, ctype, sql) ctype n; bool n##_is_null;
typedef struct every_row {
    EVERY_TYPE(ROW_FIELD)
} every_row;

#define PARAM_TYPE(n, type, ctype, sql) type,
#define PARAM_OFFSET(n, type, ctype, sql) offsetof(every_params, n),
#define RESULT_COLUMN(n, type, ctype, sql) \
    {#n, #n, type, false, offsetof(every_row, n), offsetof(every_row, n##_is_null), 0, 0, DBONT_NO_FIELD},

static const dbont_type every_types[] = {EVERY_TYPE(PARAM_TYPE)};
static const size_t every_offsets[] = {EVERY_TYPE(PARAM_OFFSET)};
static const dbont_column every_columns[] = {EVERY_TYPE(RESULT_COLUMN)};

/* SELECT $1, ..., $15: each parameter comes back as a column of its type. */
static const dbont_stmt echo_stmt = {
    UINT64_C(0x0000000000c00001), "dbont_0000000000c00001",
    "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15",
    NTYPES, every_oid};
static const dbont_query echo_query = {
    "echo", &echo_stmt, NTYPES, every_types, every_offsets, sizeof(every_params),
    NTYPES, every_columns, sizeof(every_row)};

/* NULLIF($n, $n): a NULL of every type. */
static const dbont_stmt nulls_stmt = {
    UINT64_C(0x0000000000c00002), "dbont_0000000000c00002",
    "SELECT NULLIF($1, $1), NULLIF($2, $2), NULLIF($3, $3), NULLIF($4, $4), NULLIF($5, $5),"
    " NULLIF($6, $6), NULLIF($7, $7), NULLIF($8, $8), NULLIF($9, $9)::varchar, NULLIF($10, $10),"
    " NULLIF($11, $11), NULLIF($12, $12), NULLIF($13, $13), NULLIF($14, $14),"
    " NULLIF($15, $15)",
    NTYPES, every_oid};
static const dbont_query nulls_query = {
    "nulls", &nulls_stmt, NTYPES, every_types, every_offsets, sizeof(every_params),
    NTYPES, every_columns, sizeof(every_row)};

static void fill_params(every_params *p)
{
    memset(p, 0, sizeof *p);
    p->i2 = -12;
    p->i4 = 123456;
    p->i8 = INT64_C(9007199254740993);
    p->b = true;
    p->f4 = 1.25f;
    p->f8 = -2.5e-300;
    p->num = "-12345.67800";
    p->t = "h\xc3\xa9llo";
    p->vc = "varchar";
    assert_int_equal(dbont_uuid_parse(uuid_text, &p->u), 0);
    p->d = DAY_2024_01_01;
    p->ts = USEC_2024_01_02;
    p->tz = DBONT_TIMESTAMP_NEG_INFINITY;
    p->j = "{\"a\": [1, 2]}";
    p->by.data = some_bytes;
    p->by.len = sizeof some_bytes;
}

static void test_run_every_type(void **state)
{
    every_params p;
    dbont_result *res = NULL;
    dbont_error err;
    const every_row *r;
    (void)state;
    fill_params(&p);
    if (dbont_query_run(conn, &echo_query, &p, &res, &err) != DBONT_OK)
        fail_msg("%s %s", err.sqlstate, err.message);
    assert_int_equal(dbont_result_count(res), 1);
    r = dbont_result_rows(res);
    assert_int_equal(r->i2, -12);
    assert_int_equal(r->i4, 123456);
    assert_true(r->i8 == INT64_C(9007199254740993));
    assert_true(r->b);
    assert_true(r->f4 == 1.25f);
    assert_true(r->f8 == -2.5e-300);
    assert_string_equal(r->num, "-12345.67800");
    assert_string_equal(r->t, "h\xc3\xa9llo");
    assert_string_equal(r->vc, "varchar");
    assert_memory_equal(r->u.bytes, p.u.bytes, 16);
    assert_int_equal(r->d, DAY_2024_01_01);
    assert_true(r->ts == USEC_2024_01_02);
    assert_true(r->tz == DBONT_TIMESTAMP_NEG_INFINITY);
    assert_string_equal(r->j, "{\"a\": [1, 2]}");
    assert_int_equal(r->by.len, 4);
    assert_memory_equal(r->by.data, some_bytes, 4);
    assert_false(r->i2_is_null || r->num_is_null || r->t_is_null || r->j_is_null ||
                 r->by_is_null || r->tz_is_null);
    dbont_result_free(res);
}

/* NULL text pointers are SQL NULLs; NULL results set the flags. */
static void test_run_nulls(void **state)
{
    every_params p;
    dbont_result *res = NULL;
    dbont_error err;
    const every_row *r;
    (void)state;
    fill_params(&p);
    p.num = NULL;
    p.t = NULL;
    p.vc = NULL;
    p.j = NULL;
    assert_int_equal(dbont_query_run(conn, &echo_query, &p, &res, &err), DBONT_OK);
    r = dbont_result_rows(res);
    assert_true(r->num_is_null && r->t_is_null && r->vc_is_null && r->j_is_null);
    assert_null(r->num);
    assert_null(r->t);
    assert_false(r->i4_is_null);
    assert_int_equal(r->i4, 123456);
    dbont_result_free(res);

    fill_params(&p);
    if (dbont_query_run(conn, &nulls_query, &p, &res, &err) != DBONT_OK)
        fail_msg("%s %s", err.sqlstate, err.message);
    r = dbont_result_rows(res);
#define IS_NULL(n, type, ctype, sql) assert_true(r->n##_is_null);
    EVERY_TYPE(IS_NULL)
#undef IS_NULL
    assert_int_equal(r->i4, 0);
    assert_null(r->num);
    assert_int_equal(r->by.len, 0);
    dbont_result_free(res);
}

/* A query without parameters, one without result columns, and out NULL. */
static const dbont_stmt count_stmt = {
    UINT64_C(0x0000000000c00003), "dbont_0000000000c00003", "SELECT count(*) FROM q.log", 0,
    NULL};
typedef struct count_row {
    int64_t n;
} count_row;
static const dbont_column count_columns[] = {
    {"n", "n", DBONT_BIGINT, true, offsetof(count_row, n), DBONT_NO_FIELD, 0, 0, DBONT_NO_FIELD}};
static const dbont_query count_query = {
    "count", &count_stmt, 0, NULL, NULL, 0, 1, count_columns, sizeof(count_row)};

typedef struct log_params {
    const char *msg;
} log_params;
static const Oid text_oid[] = {25};
static const dbont_type text_type[] = {DBONT_TEXT};
static const size_t log_offsets[] = {offsetof(log_params, msg)};
static const dbont_stmt log_stmt = {
    UINT64_C(0x0000000000c00004), "dbont_0000000000c00004",
    "INSERT INTO q.log (msg) VALUES ($1)", 1, text_oid};
static const dbont_query log_query = {
    "log", &log_stmt, 1, text_type, log_offsets, sizeof(log_params), 0, NULL, 0};

static int64_t log_count(void)
{
    dbont_result *res = NULL;
    dbont_error err;
    int64_t n;
    if (dbont_query_run(conn, &count_query, NULL, &res, &err) != DBONT_OK)
        fail_msg("%s %s", err.sqlstate, err.message);
    assert_int_equal(dbont_result_count(res), 1);
    n = ((const count_row *)dbont_result_rows(res))->n;
    dbont_result_free(res);
    return n;
}

static void test_run_shapes(void **state)
{
    log_params p = {"one"};
    dbont_result *res = (dbont_result *)&p;
    dbont_error err;
    int64_t before;
    (void)state;
    before = log_count();
    assert_int_equal(dbont_query_run(conn, &log_query, &p, &res, &err), DBONT_OK);
    assert_null(res);   /* no columns: NULL stored */
    p.msg = NULL;       /* SQL NULL */
    assert_int_equal(dbont_query_run(conn, &log_query, &p, NULL, &err), DBONT_OK);
    assert_int_equal(log_count(), before + 2);
    /* Rows not wanted: out NULL. */
    assert_int_equal(dbont_query_run(conn, &count_query, NULL, NULL, &err), DBONT_OK);
    expect_server_text(conn, "SELECT count(*) FROM q.log WHERE msg IS NULL", "1");
}

/* Errors: from the server, from the descriptor, from a value. */
static const dbont_column wrong_columns[] = {
    {"n", "n", DBONT_INTEGER, true, 0, DBONT_NO_FIELD, 0, 0, DBONT_NO_FIELD}};
static const dbont_query wrong_type_query = {
    "wrong_type", &count_stmt, 0, NULL, NULL, 0, 1, wrong_columns, sizeof(int32_t)};
static const Oid int8_oid[] = {20};
static const dbont_stmt mismatched_stmt = {
    UINT64_C(0x0000000000c00005), "dbont_0000000000c00005", "SELECT $1", 1, int8_oid};
static const dbont_type int4_type[] = {DBONT_INTEGER};
static const size_t zero_offset[] = {0};
static const dbont_query mismatched_query = {
    "mismatched", &mismatched_stmt, 1, int4_type, zero_offset, sizeof(int32_t), 0, NULL, 0};
static const Oid int4_oid[] = {23};
static const dbont_stmt divide_stmt = {
    UINT64_C(0x0000000000c00006), "dbont_0000000000c00006", "SELECT 1 / $1", 1, int4_oid};
static const dbont_column int_columns[] = {
    {"v", "v", DBONT_INTEGER, true, 0, DBONT_NO_FIELD, 0, 0, DBONT_NO_FIELD}};
static const dbont_query divide_query = {
    "divide", &divide_stmt, 1, int4_type, zero_offset, sizeof(int32_t), 1, int_columns,
    sizeof(int32_t)};

static void test_run_errors(void **state)
{
    every_params p;
    dbont_result *res = (dbont_result *)&p;
    dbont_error err;
    int32_t zero = 0;
    long long prepared = prepared_count(conn);
    (void)state;
    /* The result's type differs from the descriptor's. */
    expect_error(dbont_query_run(conn, &wrong_type_query, NULL, &res, &err), &err, "42804");
    assert_null(res);
    expect_message_has(&err, "wrong_type.n is bigint in the database but integer");
    /* A binary parameter of another type than the statement declares:
     * refused before anything is sent. */
    expect_error(dbont_query_run(conn, &mismatched_query, &zero, NULL, &err), &err, "22023");
    expect_message_has(&err, "parameter $1 is sent as binary integer");
    assert_int_equal(prepared_count(conn), prepared);
    /* A value that cannot be encoded, named by its number. */
    fill_params(&p);
    p.d = DBONT_DATE_NEG_INFINITY + 1;
    expect_error(dbont_query_run(conn, &echo_query, &p, &res, &err), &err, "22008");
    expect_message_has(&err, "echo.$11");
    /* Parameters missing. */
    expect_error(dbont_query_run(conn, &echo_query, NULL, &res, &err), &err, "22023");
    /* The server's own error, and the connection goes on. */
    expect_error(dbont_query_run(conn, &divide_query, &zero, &res, &err), &err, "22012");
    expect_message_has(&err, "division by zero");
    assert_null(res);
    expect_usable(conn);
}

/* =====================================================================
 * dbont_query_batch
 * ===================================================================== */

/* A primary-key lookup whose item fails when its divisor is 0. */
typedef struct lookup_params {
    int32_t id;
    int32_t divisor;
} lookup_params;
typedef struct lookup_row {
    int32_t id;
    const char *email;
    const char *username;
    int32_t ratio;
} lookup_row;
static const Oid lookup_oids[] = {23, 23};
static const dbont_type lookup_types[] = {DBONT_INTEGER, DBONT_INTEGER};
static const size_t lookup_offsets[] = {offsetof(lookup_params, id),
                                        offsetof(lookup_params, divisor)};
static const dbont_column lookup_columns[] = {
    {"id", "id", DBONT_INTEGER, true, offsetof(lookup_row, id), DBONT_NO_FIELD, 0, 0,
     DBONT_NO_FIELD},
    {"email", "email", DBONT_TEXT, true, offsetof(lookup_row, email), DBONT_NO_FIELD, 0, 0,
     DBONT_NO_FIELD},
    {"username", "username", DBONT_VARCHAR, true, offsetof(lookup_row, username),
     DBONT_NO_FIELD, 0, 0, DBONT_NO_FIELD},
    {"ratio", "ratio", DBONT_INTEGER, true, offsetof(lookup_row, ratio), DBONT_NO_FIELD, 0, 0,
     DBONT_NO_FIELD},
};
static const dbont_stmt lookup_stmt = {
    UINT64_C(0x0000000000c00101), "dbont_0000000000c00101",
    "SELECT id, email, username, 100 / $2 AS ratio FROM q.users WHERE id = $1", 2,
    lookup_oids};
static const dbont_query lookup_query = {
    "lookup", &lookup_stmt, 2, lookup_types, lookup_offsets, sizeof(lookup_params), 4,
    lookup_columns, sizeof(lookup_row)};

static void fill_lookups(lookup_params *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        p[i].id = (int32_t)i + 1;
        p[i].divisor = 1;
    }
}

/* Item i found user i + 1. */
static void expect_lookup_ok(const dbont_batch_item *item, size_t i)
{
    const lookup_row *r;
    char email[64];
    if (item->status != DBONT_OK)
        fail_msg("item %zu: %s %s", i, item->error.sqlstate, item->error.message);
    assert_non_null(item->result);
    assert_int_equal(dbont_result_count(item->result), 1);
    r = dbont_result_rows(item->result);
    snprintf(email, sizeof email, "user%zu@example.com", i + 1);
    assert_int_equal(r->id, (int32_t)i + 1);
    assert_string_equal(r->email, email);
    assert_int_equal(r->ratio, 100);
}

/* 200 lookups, the 101st divides by zero: it alone fails. */
static void test_batch_one_failing(void **state)
{
    lookup_params p[200];
    dbont_batch_item items[200];
    dbont_error err;
    size_t i;
    (void)state;
    fill_lookups(p, 200);
    p[100].divisor = 0;
    expect_error(dbont_query_batch(conn, &lookup_query, p, 200, 0, items, &err), &err, "22012");
    expect_message_has(&err, "1 of 200 items failed; item 100: division by zero");
    for (i = 0; i < 200; i++) {
        if (i == 100) {
            assert_int_equal(items[i].status, DBONT_ERROR);
            assert_string_equal(items[i].error.sqlstate, "22012");
            assert_null(items[i].result);
        } else {
            expect_lookup_ok(&items[i], i);
        }
    }
    dbont_batch_free(items, 200);
    for (i = 0; i < 200; i++)
        assert_null(items[i].result);
    expect_usable(conn);
}

/* Any window gives the same items in order. */
static void test_batch_windows(void **state)
{
    static const size_t windows[] = {1, 3, 49, 50, 1000};
    lookup_params p[50];
    dbont_batch_item items[50];
    dbont_error err;
    size_t w, i;
    (void)state;
    fill_lookups(p, 50);
    for (w = 0; w < sizeof windows / sizeof windows[0]; w++) {
        if (dbont_query_batch(conn, &lookup_query, p, 50, windows[w], items, &err) != DBONT_OK)
            fail_msg("window %zu: %s %s", windows[w], err.sqlstate, err.message);
        for (i = 0; i < 50; i++)
            expect_lookup_ok(&items[i], i);
        dbont_batch_free(items, 50);
    }
    /* A failure with a window of 1 and 3. */
    p[7].divisor = 0;
    for (w = 0; w < 2; w++) {
        expect_error(dbont_query_batch(conn, &lookup_query, p, 50, windows[w], items, &err),
                     &err, "22012");
        for (i = 0; i < 50; i++)
            if (i != 7)
                expect_lookup_ok(&items[i], i);
        assert_string_equal(items[7].error.sqlstate, "22012");
        dbont_batch_free(items, 50);
    }
    /* Nothing to do. */
    assert_int_equal(dbont_query_batch(conn, &lookup_query, p, 0, 0, NULL, &err), DBONT_OK);
    /* A query without parameters: params may be NULL. */
    assert_int_equal(dbont_query_batch(conn, &count_query, NULL, 3, 2, items, &err), DBONT_OK);
    for (i = 0; i < 3; i++)
        assert_int_equal(dbont_result_count(items[i].result), 1);
    dbont_batch_free(items, 3);
    /* Arguments missing. */
    expect_error(dbont_query_batch(conn, &lookup_query, NULL, 5, 0, items, &err), &err, "22023");
    for (i = 0; i < 5; i++) {
        assert_int_equal(items[i].status, DBONT_ERROR);
        assert_string_equal(items[i].error.sqlstate, "22023");
        assert_null(items[i].result);
    }
    expect_error(dbont_query_batch(conn, &lookup_query, p, 5, 0, NULL, &err), &err, "22023");
    expect_usable(conn);
}

/* Each item is its own transaction: writes around a failed item stay. */
typedef struct tag_params {
    const char *name;
} tag_params;
static const size_t tag_offsets[] = {offsetof(tag_params, name)};
static const dbont_stmt tag_stmt = {
    UINT64_C(0x0000000000c00102), "dbont_0000000000c00102",
    "INSERT INTO q.tags (name) VALUES ($1)", 1, text_oid};
static const dbont_query tag_query = {
    "add_tag", &tag_stmt, 1, text_type, tag_offsets, sizeof(tag_params), 0, NULL, 0};

static void test_batch_writes_isolated(void **state)
{
    static char names[100][16];
    tag_params p[100];
    dbont_batch_item items[100];
    dbont_error err;
    size_t i;
    (void)state;
    for (i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "tag%zu", i);
        p[i].name = names[i];
    }
    p[60].name = "tag10";   /* duplicate key */
    expect_error(dbont_query_batch(conn, &tag_query, p, 100, 8, items, &err), &err, "23505");
    for (i = 0; i < 100; i++) {
        assert_int_equal(items[i].status, i == 60 ? DBONT_ERROR : DBONT_OK);
        assert_null(items[i].result);   /* no columns */
    }
    expect_message_has(&items[60].error, "duplicate key value");
    expect_server_text(conn, "SELECT count(*) FROM q.tags", "99");
    expect_server_text(conn, "SELECT count(*) FROM q.tags WHERE name IN ('tag59', 'tag61')", "2");
    dbont_batch_free(items, 100);
    expect_usable(conn);
}

/* An item whose value cannot be encoded is not sent; the others run. */
static void test_batch_encode_failure(void **state)
{
    every_params p[5];
    dbont_batch_item items[5];
    dbont_error err;
    size_t i;
    (void)state;
    for (i = 0; i < 5; i++) {
        fill_params(&p[i]);
        p[i].i4 = (int32_t)i;
    }
    p[2].ts = DBONT_TIMESTAMP_NEG_INFINITY + 1;
    expect_error(dbont_query_batch(conn, &echo_query, p, 5, 2, items, &err), &err, "22008");
    for (i = 0; i < 5; i++) {
        if (i == 2) {
            assert_int_equal(items[i].status, DBONT_ERROR);
            expect_message_has(&items[i].error, "echo.$12");
            continue;
        }
        assert_int_equal(items[i].status, DBONT_OK);
        assert_int_equal(((const every_row *)dbont_result_rows(items[i].result))->i4, (int)i);
    }
    dbont_batch_free(items, 5);
    expect_usable(conn);
}

/* The server forgot the statement behind dbont's back: the failed items
 * run again after a repair, as dbont_stmt_exec does. */
static void test_batch_after_deallocate(void **state)
{
    lookup_params p[20];
    dbont_batch_item items[20];
    dbont_error err;
    size_t i;
    PGresult *res;
    (void)state;
    fill_lookups(p, 20);
    assert_int_equal(dbont_query_batch(conn, &lookup_query, p, 20, 4, items, &err), DBONT_OK);
    dbont_batch_free(items, 20);
    res = PQexec(dbont_conn_pg(conn), "DEALLOCATE ALL");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    if (dbont_query_batch(conn, &lookup_query, p, 20, 4, items, &err) != DBONT_OK)
        fail_msg("%s %s", err.sqlstate, err.message);
    for (i = 0; i < 20; i++)
        expect_lookup_ok(&items[i], i);
    dbont_batch_free(items, 20);
    expect_usable(conn);
}

static bool is_lost_state(const char *sqlstate)
{
    return strcmp(sqlstate, "08006") == 0 || strcmp(sqlstate, "57P01") == 0;
}

/* The backend was killed before the batch. */
static void test_batch_lost_before(void **state)
{
    dbont_conn *c = connect_or_fail();
    lookup_params p[30];
    dbont_batch_item items[30];
    dbont_error err;
    size_t i;
    (void)state;
    fill_lookups(p, 30);
    assert_int_equal(dbont_query_batch(c, &lookup_query, p, 30, 8, items, &err), DBONT_OK);
    dbont_batch_free(items, 30);
    kill_backend(c);
    assert_int_equal(dbont_query_batch(c, &lookup_query, p, 30, 8, items, &err), DBONT_ERROR);
    if (!is_lost_state(err.sqlstate))
        fail_msg("%s %s", err.sqlstate, err.message);
    for (i = 0; i < 30; i++) {
        assert_int_equal(items[i].status, DBONT_ERROR);
        assert_true(is_lost_state(items[i].error.sqlstate));
        assert_null(items[i].result);
    }
    dbont_batch_free(items, 30);
    /* The connection says so on the next call, without hanging. */
    expect_error(dbont_query_run(c, &count_query, NULL, NULL, &err), &err, "08006");
    assert_int_equal(dbont_query_batch(c, &lookup_query, p, 30, 8, items, &err), DBONT_ERROR);
    dbont_batch_free(items, 30);
    dbont_close(c);
}

/* The backend dies in the middle of the batch (item 20 kills it). */
typedef struct kill_row {
    int32_t id;
    bool killed;
} kill_row;
static const dbont_column kill_columns[] = {
    {"id", "id", DBONT_INTEGER, true, offsetof(kill_row, id), DBONT_NO_FIELD, 0, 0,
     DBONT_NO_FIELD},
    {"killed", "killed", DBONT_BOOLEAN, true, offsetof(kill_row, killed), DBONT_NO_FIELD, 0, 0,
     DBONT_NO_FIELD},
};
static const dbont_stmt kill_stmt = {
    UINT64_C(0x0000000000c00103), "dbont_0000000000c00103",
    "SELECT $1, CASE WHEN $1 = 20 THEN pg_terminate_backend(pg_backend_pid()) ELSE false END",
    1, int4_oid};
static const dbont_query kill_query = {
    "kill", &kill_stmt, 1, int4_type, zero_offset, sizeof(int32_t), 2, kill_columns,
    sizeof(kill_row)};

static void test_batch_lost_midway(void **state)
{
    dbont_conn *c = connect_or_fail();
    int32_t p[60];
    dbont_batch_item items[60];
    dbont_error err;
    size_t i;
    (void)state;
    for (i = 0; i < 60; i++)
        p[i] = (int32_t)i;
    assert_int_equal(dbont_query_batch(c, &kill_query, p, 60, 16, items, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "08006");
    /* With a window of 16, refilled when half of it has been read, item 20
     * is sent only after items 0..7 have been read: they succeeded for sure.  Later items before the 21st may be
     * reported lost even though the server answered them: that depends
     * on when libpq notices the closed socket (seen under valgrind). */
    for (i = 0; i < 22; i++) {
        if (items[i].status == DBONT_OK) {
            assert_int_equal(((const kill_row *)dbont_result_rows(items[i].result))->id, (int)i);
            continue;
        }
        if (i < 8 || !is_lost_state(items[i].error.sqlstate))
            fail_msg("item %zu: %s %s", i, items[i].error.sqlstate, items[i].error.message);
    }
    for (i = 22; i < 60; i++) {
        assert_int_equal(items[i].status, DBONT_ERROR);
        assert_true(is_lost_state(items[i].error.sqlstate));
    }
    dbont_batch_free(items, 60);
    expect_error(dbont_query_run(c, &count_query, NULL, NULL, &err), &err, "08006");
    dbont_close(c);
}

/* =====================================================================
 * dbont_table_copy
 * ===================================================================== */

/* q.item: one NOT NULL and one nullable column of every type, a serial
 * key, and defaulted columns (one nullable, one with a quoted name). */
#define ITEM_FIELDS(n, type, ctype, sql) ctype n; ctype n##_n; bool n##_n_is_null;

typedef struct item {
    int32_t id;
    EVERY_TYPE(ITEM_FIELDS)
    const char *status;
    const char *note;
    bool note_is_null;
} item;

typedef struct item_new {
    int32_t id;
    bool id_set;
    EVERY_TYPE(ITEM_FIELDS)
    const char *status;
    bool status_set;
    const char *note;
    bool note_is_null;
    bool note_set;
} item_new;

#define ITEM_COLUMNS(n, type, ctype, sql)                                    \
    {#n, #n, type, true, offsetof(item, n), DBONT_NO_FIELD,                  \
     offsetof(item_new, n), DBONT_NO_FIELD, DBONT_NO_FIELD},                 \
    {#n "_n", #n "_n", type, false, offsetof(item, n##_n),                   \
     offsetof(item, n##_n_is_null), offsetof(item_new, n##_n),               \
     offsetof(item_new, n##_n_is_null), DBONT_NO_FIELD},

static const dbont_column item_columns[] = {
    {"id", "id", DBONT_INTEGER, true, offsetof(item, id), DBONT_NO_FIELD,
     offsetof(item_new, id), DBONT_NO_FIELD, offsetof(item_new, id_set)},
    EVERY_TYPE(ITEM_COLUMNS)
    {"Status", "\"Status\"", DBONT_TEXT, true, offsetof(item, status), DBONT_NO_FIELD,
     offsetof(item_new, status), DBONT_NO_FIELD, offsetof(item_new, status_set)},
    {"note", "note", DBONT_TEXT, false, offsetof(item, note), offsetof(item, note_is_null),
     offsetof(item_new, note), offsetof(item_new, note_is_null), offsetof(item_new, note_set)},
};
#define ITEM_NCOLUMNS (sizeof item_columns / sizeof item_columns[0])
/* Column indexes: id 0, then (NOT NULL, nullable) per type, then Status
 * and note. */
#define ITEM_COL(k) (1 + 2 * (k))
#define ITEM_COL_T ITEM_COL(7)
#define ITEM_COL_STATUS (1 + 2 * NTYPES)
#define ITEM_COL_NOTE (2 + 2 * NTYPES)

static const uint16_t id_pk[] = {0};

static const dbont_table item_table = {
    "item", "q.item", sizeof(item), ITEM_NCOLUMNS, item_columns, 1, id_pk,
    UINT64_C(0x0000000000c0a000), NULL, NULL, NULL, NULL, sizeof(item_new), 0, NULL, false, NULL, false};

static const char *const item_numerics[] = {"12345.678", "-1.5e3", "0.000100", "NaN",
                                            "-Infinity", "1e-20"};

/* A new row whose values depend on k; t is its marker. */
static void fill_item(item_new *n, const char *t, int k)
{
    memset(n, 0, sizeof *n);
    n->i2 = (int16_t)(-12 - k);
    n->i2_n_is_null = true;
    n->i4 = 123456 + k;
    n->i4_n = -7;
    n->i8 = INT64_C(9007199254740993) * (k % 2 == 0 ? 1 : -1);
    n->i8_n_is_null = k % 2 == 0;
    n->b = k % 2 == 0;
    n->b_n = true;
    n->f4 = 1.25f + (float)k;
    n->f4_n_is_null = true;
    n->f8 = -2.5 * k;
    n->f8_n = 1e300;
    n->num = item_numerics[k % 6];
    n->num_n = k % 2 == 0 ? NULL : "-0.00";    /* NULL pointer: SQL NULL */
    n->t = t;
    n->t_n = "h\xc3\xa9llo w\xc3\xb6rld";
    n->vc = "varchar";
    n->vc_n = "ignored";
    n->vc_n_is_null = true;                    /* the flag wins over the pointer */
    assert_int_equal(dbont_uuid_parse(uuid_text, &n->u), 0);
    n->u.bytes[15] = (uint8_t)k;
    n->u_n_is_null = k != 1;
    n->u_n = n->u;
    n->d = DAY_2024_01_01 - 20000 * k;
    n->d_n = DBONT_DATE_NEG_INFINITY;
    n->ts = USEC_2024_01_02 - INT64_C(1000000000000000) * k;
    n->ts_n = DBONT_TIMESTAMP_INFINITY;
    n->tz = USEC_2024_01_02 + k;
    n->tz_n_is_null = true;
    n->j = k % 2 == 0 ? "{\"a\": [1, 2], \"b\": null}" : "[1, \"x\", {\"y\": 2.50}]";
    n->j_n = NULL;
    n->by.data = some_bytes;
    n->by.len = sizeof some_bytes - (size_t)(k % 2);
    n->by_n.data = NULL;                       /* empty, not NULL */
    n->by_n.len = 0;
}

static long long item_count(void)
{
    return server_count(conn, "SELECT count(*) FROM q.item");
}

/* Copied rows read back as the server prints them, and exactly as the
 * same rows inserted with parameters (dbont_table_insert). */
static void test_copy_every_type(void **state)
{
    item_new rows[6], one;
    dbont_error err;
    size_t failed = 0;
    char marker[6][16], sql[256];
    int k;
    (void)state;
    for (k = 0; k < 6; k++) {
        snprintf(marker[k], sizeof marker[k], "copy-%d", k);
        fill_item(&rows[k], marker[k], k);
    }
    if (dbont_table_copy(conn, &item_table, rows, 6, &failed, &err) != DBONT_OK)
        fail_msg("%s %s (row %zu)", err.sqlstate, err.message, failed);
    assert_true(failed == (size_t)-1);

#define Q(col) "SELECT " col "::text FROM q.item WHERE t = 'copy-0'"
    expect_server_text(conn, Q("i2"), "-12");
    expect_server_text(conn, Q("i2_n"), "(null)");
    expect_server_text(conn, Q("i4"), "123456");
    expect_server_text(conn, Q("i8"), "9007199254740993");
    expect_server_text(conn, Q("b"), "true");
    expect_server_text(conn, Q("f4"), "1.25");
    expect_server_text(conn, Q("f8_n"), "1e+300");
    expect_server_text(conn, Q("num"), "12345.678");
    expect_server_text(conn, Q("num_n"), "(null)");
    expect_server_text(conn, Q("t_n"), "h\xc3\xa9llo w\xc3\xb6rld");
    expect_server_text(conn, Q("vc"), "varchar");
    expect_server_text(conn, Q("vc_n"), "(null)");
    expect_server_text(conn, Q("u"), "123e4567-e89b-12d3-a456-426614174000");
    expect_server_text(conn, Q("d"), "2024-01-01");
    expect_server_text(conn, Q("d_n"), "-infinity");
    expect_server_text(conn, Q("ts"), "2024-01-02 03:04:05.678901");
    expect_server_text(conn, Q("ts_n"), "infinity");
    expect_server_text(conn, Q("tz"), "2024-01-02 03:04:05.678901+00");
    expect_server_text(conn, Q("j"), "{\"a\": [1, 2], \"b\": null}");
    expect_server_text(conn, Q("by"), "\\x610062ff");
    expect_server_text(conn, Q("by_n"), "\\x");
    expect_server_text(conn, Q("\"Status\""), "new");       /* defaults applied */
    expect_server_text(conn, Q("note"), "hello");
#undef Q
    expect_server_text(conn, "SELECT num::text FROM q.item WHERE t = 'copy-1'", "-1500");
    expect_server_text(conn, "SELECT num_n::text FROM q.item WHERE t = 'copy-1'", "0.00");
    expect_server_text(conn, "SELECT num::text FROM q.item WHERE t = 'copy-2'", "0.000100");
    expect_server_text(conn, "SELECT num::text FROM q.item WHERE t = 'copy-4'", "-Infinity");
    expect_server_text(conn, "SELECT num::text FROM q.item WHERE t = 'copy-5'",
                       "0.00000000000000000001");
    expect_server_text(conn, "SELECT d::text FROM q.item WHERE t = 'copy-1'", "1969-03-30");
    expect_server_text(conn, "SELECT j::text FROM q.item WHERE t = 'copy-1'",
                       "[1, \"x\", {\"y\": 2.50}]");

    /* The same rows through parameters: identical values. */
    for (k = 0; k < 6; k++) {
        char ins[16], *a, *b;
        snprintf(ins, sizeof ins, "ins-%d", k);
        fill_item(&one, ins, k);
        if (dbont_table_insert(conn, &item_table, &one, NULL, &err) != DBONT_OK)
            fail_msg("%s %s", err.sqlstate, err.message);
        snprintf(sql, sizeof sql,
                 "SELECT (to_jsonb(x) - 'id' - 't')::text FROM q.item x WHERE t = '%s'",
                 marker[k]);
        a = server_text(conn, sql);
        snprintf(sql, sizeof sql,
                 "SELECT (to_jsonb(x) - 'id' - 't')::text FROM q.item x WHERE t = '%s'", ins);
        b = server_text(conn, sql);
        if (strcmp(a, b) != 0) {
            char msg[2048];
            snprintf(msg, sizeof msg, "row %d: copy %s, insert %s", k, a, b);
            free(a);
            free(b);
            fail_msg("%s", msg);
        }
        free(a);
        free(b);
    }
    expect_usable(conn);
}

/* Defaulted columns set in the first row are sent for every row. */
static void test_copy_defaults_set(void **state)
{
    item_new rows[3];
    dbont_error err;
    size_t failed;
    int k;
    (void)state;
    for (k = 0; k < 3; k++) {
        fill_item(&rows[k], k == 0 ? "set-0" : k == 1 ? "set-1" : "set-2", k);
        rows[k].id = 9000 + k;
        rows[k].id_set = true;
        rows[k].status = "custom";
        rows[k].status_set = true;
        rows[k].note_set = true;
        rows[k].note = k == 1 ? "mine" : NULL;     /* an explicit NULL */
    }
    if (dbont_table_copy(conn, &item_table, rows, 3, &failed, &err) != DBONT_OK)
        fail_msg("%s %s", err.sqlstate, err.message);
    expect_server_text(conn, "SELECT string_agg(id || ':' || \"Status\" || ':' || "
                             "coalesce(note, 'NULL'), ',' ORDER BY id) FROM q.item "
                             "WHERE t LIKE 'set-%'",
                       "9000:custom:NULL,9001:custom:mine,9002:custom:NULL");
}

/* Refusals found before anything is sent: inside a transaction block,
 * which stays usable; failed_row names the row. */
static void test_copy_refused_client_side(void **state)
{
    item_new rows[6];
    dbont_error err;
    size_t failed;
    long long before = item_count();
    int k;
    (void)state;
    exec_ok(conn, "BEGIN");
    for (k = 0; k < 6; k++)
        fill_item(&rows[k], "refused", k);

    rows[4].t = NULL;   /* NOT NULL */
    expect_error(dbont_table_copy(conn, &item_table, rows, 6, &failed, &err), &err, "23502");
    assert_int_equal(failed, 4);
    expect_message_has(&err, "row 4");
    expect_message_has(&err, "item.t is NOT NULL");
    rows[4].t = "refused";

    rows[1].num = "1.2.3";
    expect_error(dbont_table_copy(conn, &item_table, rows, 6, &failed, &err), &err, "22P02");
    assert_int_equal(failed, 1);
    expect_message_has(&err, "item.num");
    rows[1].num = "1e131072";
    expect_error(dbont_table_copy(conn, &item_table, rows, 6, &failed, &err), &err, "22003");
    assert_int_equal(failed, 1);
    rows[1].num = "1";

    rows[5].d_n_is_null = false;
    rows[5].d_n = DBONT_DATE_NEG_INFINITY + 1;
    expect_error(dbont_table_copy(conn, &item_table, rows, 6, &failed, &err), &err, "22008");
    assert_int_equal(failed, 5);
    rows[5].d_n = 0;

    /* A defaulted column set in a later row but not in the first. */
    rows[3].status_set = true;
    rows[3].status = "late";
    expect_error(dbont_table_copy(conn, &item_table, rows, 6, &failed, &err), &err, "22023");
    assert_int_equal(failed, 3);
    expect_message_has(&err, "item.Status is set, unlike in the first row");
    rows[3].status_set = false;

    /* NULL failed_row is allowed. */
    rows[2].t = NULL;
    expect_error(dbont_table_copy(conn, &item_table, rows, 6, NULL, &err), &err, "23502");

    /* The transaction is intact: the refusals sent nothing. */
    assert_int_equal(PQtransactionStatus(dbont_conn_pg(conn)), PQTRANS_INTRANS);
    expect_server_text(conn, "SELECT 1", "1");
    exec_ok(conn, "ROLLBACK");
    assert_int_equal(item_count(), before);
}

/* q.posts: a foreign key, a CHECK, a numeric(8,2). */
typedef struct post {
    int64_t id;
    int32_t user_id;
    const char *title;
    const char *content;
    bool content_is_null;
    bool published;
    const char *score;
    bool score_is_null;
} post;

typedef struct post_new {
    int64_t id;
    bool id_set;
    int32_t user_id;
    const char *title;
    const char *content;
    bool content_is_null;
    bool published;
    bool published_set;
    const char *score;
    bool score_is_null;
} post_new;

static const dbont_column post_columns[] = {
    {"id", "id", DBONT_BIGINT, true, offsetof(post, id), DBONT_NO_FIELD,
     offsetof(post_new, id), DBONT_NO_FIELD, offsetof(post_new, id_set)},
    {"user_id", "user_id", DBONT_INTEGER, true, offsetof(post, user_id), DBONT_NO_FIELD,
     offsetof(post_new, user_id), DBONT_NO_FIELD, DBONT_NO_FIELD},
    {"title", "title", DBONT_TEXT, true, offsetof(post, title), DBONT_NO_FIELD,
     offsetof(post_new, title), DBONT_NO_FIELD, DBONT_NO_FIELD},
    {"content", "content", DBONT_TEXT, false, offsetof(post, content),
     offsetof(post, content_is_null), offsetof(post_new, content),
     offsetof(post_new, content_is_null), DBONT_NO_FIELD},
    {"published", "published", DBONT_BOOLEAN, true, offsetof(post, published), DBONT_NO_FIELD,
     offsetof(post_new, published), DBONT_NO_FIELD, offsetof(post_new, published_set)},
    {"score", "score", DBONT_NUMERIC, false, offsetof(post, score),
     offsetof(post, score_is_null), offsetof(post_new, score),
     offsetof(post_new, score_is_null), DBONT_NO_FIELD},
};

static const dbont_table post_table = {
    "posts", "q.posts", sizeof(post), 6, post_columns, 1, id_pk,
    UINT64_C(0x0000000000c0b000), NULL, NULL, NULL, NULL, sizeof(post_new), 0, NULL, false, NULL, false};

static long long post_count(void)
{
    return server_count(conn, "SELECT count(*) FROM q.posts");
}

static void fill_posts(post_new *rows, size_t n, int64_t first_id)
{
    size_t i;
    memset(rows, 0, n * sizeof *rows);
    for (i = 0; i < n; i++) {
        rows[i].id = first_id + (int64_t)i;
        rows[i].id_set = true;
        rows[i].user_id = (int32_t)(i % 50) + 1;
        rows[i].title = "bulk";
        rows[i].content = i % 3 == 0 ? NULL : "some content";
        rows[i].score = i % 5 == 0 ? NULL : "12.345";   /* rounded to 12.35 */
    }
}

/* The server refuses one row: nothing is inserted, the row is named, the
 * connection goes on. */
static void test_copy_server_errors(void **state)
{
    post_new rows[100];
    dbont_error err;
    size_t failed;
    long long before = post_count();
    (void)state;

    fill_posts(rows, 100, 100000);
    rows[57].id = 100003;   /* duplicate of row 3 */
    expect_error(dbont_table_copy(conn, &post_table, rows, 100, &failed, &err), &err, "23505");
    assert_int_equal(failed, 57);
    expect_message_has(&err, "duplicate key value violates unique constraint");
    assert_int_equal(post_count(), before);
    expect_usable(conn);

    fill_posts(rows, 100, 100000);
    rows[12].title = "bad \xff utf-8";
    expect_error(dbont_table_copy(conn, &post_table, rows, 100, &failed, &err), &err, "22021");
    assert_int_equal(failed, 12);
    expect_usable(conn);

    fill_posts(rows, 100, 100000);
    rows[5].score = "-1";   /* CHECK (score >= 0) */
    expect_error(dbont_table_copy(conn, &post_table, rows, 100, &failed, &err), &err, "23514");
    assert_int_equal(failed, 5);
    expect_usable(conn);

    fill_posts(rows, 100, 100000);
    rows[99].score = "1234567.1";   /* numeric(8,2) overflows */
    expect_error(dbont_table_copy(conn, &post_table, rows, 100, &failed, &err), &err, "22003");
    assert_int_equal(failed, 99);
    expect_usable(conn);

    /* A foreign key is checked after the last row: no row is named. */
    fill_posts(rows, 100, 100000);
    rows[7].user_id = 99999;
    expect_error(dbont_table_copy(conn, &post_table, rows, 100, &failed, &err), &err, "23503");
    assert_true(failed == (size_t)-1);
    assert_int_equal(post_count(), before);
    expect_usable(conn);

    /* And the rows go in once they are right. */
    fill_posts(rows, 100, 100000);
    assert_int_equal(dbont_table_copy(conn, &post_table, rows, 100, &failed, &err), DBONT_OK);
    assert_int_equal(post_count(), before + 100);
    expect_server_text(conn, "SELECT sum(score)::text FROM q.posts WHERE id >= 100000",
                       "988.00");
    exec_ok(conn, "DELETE FROM q.posts WHERE id >= 100000");
}

/* Many rows with long values: the stream spans many 64 KiB buffers. */
static void test_copy_large(void **state)
{
    enum { N = 20000 };
    post_new *rows = calloc(N, sizeof *rows);
    char *content = malloc(1001);
    dbont_error err;
    size_t failed;
    (void)state;
    memset(content, 'c', 1000);
    content[1000] = '\0';
    fill_posts(rows, N, 200000);
    for (size_t i = 0; i < N; i++)
        rows[i].content = content;
    if (dbont_table_copy(conn, &post_table, rows, N, &failed, &err) != DBONT_OK)
        fail_msg("%s %s", err.sqlstate, err.message);
    expect_server_text(conn,
                       "SELECT count(*) || ' ' || sum(length(content)) || ' ' || sum(score) "
                       "FROM q.posts WHERE id >= 200000",
                       "20000 20000000 197600.00");
    exec_ok(conn, "DELETE FROM q.posts WHERE id >= 200000");
    free(rows);
    free(content);
}

/* A dead connection: an error, no hang. */
static void test_copy_lost_connection(void **state)
{
    dbont_conn *c = connect_or_fail();
    post_new rows[10];
    dbont_error err;
    size_t failed;
    (void)state;
    fill_posts(rows, 10, 300000);
    kill_backend(c);
    assert_int_equal(dbont_table_copy(c, &post_table, rows, 10, &failed, &err), DBONT_ERROR);
    if (!is_lost_state(err.sqlstate))
        fail_msg("%s %s", err.sqlstate, err.message);
    assert_int_equal(dbont_table_copy(c, &post_table, rows, 10, &failed, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "08006");
    dbont_close(c);
    assert_int_equal(server_count(conn, "SELECT count(*) FROM q.posts WHERE id >= 300000"), 0);
}

/* ---- numeric text: our encoder against the server's numeric_in ---- */

typedef struct num_new {
    int32_t id;
    const char *v;
    bool v_is_null;
} num_new;
static const dbont_column num_columns[] = {
    {"id", "id", DBONT_INTEGER, true, 0, DBONT_NO_FIELD, offsetof(num_new, id), DBONT_NO_FIELD,
     DBONT_NO_FIELD},
    {"v", "v", DBONT_NUMERIC, false, 0, DBONT_NO_FIELD, offsetof(num_new, v),
     offsetof(num_new, v_is_null), DBONT_NO_FIELD},
};
static const dbont_table num_table = {
    "num", "q.num", sizeof(num_new), 2, num_columns, 1, id_pk, UINT64_C(0x0000000000c0c000),
    NULL, NULL, NULL, NULL, sizeof(num_new), 0, NULL, false, NULL, false};

static const char *const good_numerics[] = {
    "0", "-0", "-0.00", "1", "-1", "00012.3400", ".5", "5.", "+.5", "-.5", " 1.5 ", "\t-7\n",
    "1.5e3", "1.5E-3", "1e 5", "1e+5", "1e-0", "123.456e1", "9.99e20", "-2.5e-1", "0.0001",
    "10000", "100020003", "99990000.00001", "0e10", "0.0e-3", "1e-1000", "1e-16383",
    "9999e131068", "123456789012345678901234567890.0123456789",
    "0.1234567890123456789e-50", "-99999999999999999999999999999999999999.999999999999",
    "NaN", "nan", " NaN ", "Infinity", "-Infinity", "+Infinity", "inf", "+inf", "-INF",
    "\v\f\r 42 \r\f\v",
};

static const char *const bad_numerics[] = {
    "", " ", ".", "+", "-", "+-1", "- 1", "1 2", "1.2.3", "..5", "1e", "1e+", "1e- 5", "e5",
    "1_000", "0x10", "1,5", "infinity1", "NaNx", "infinit", "1e5x", "abc", "1.5e3.0",
    "\xc2\xa0\x31", "1e131072", "1e-16384", "0e-20000", "0.0e-16383", "1e99999999999999999999",
    "1e1073741823", "1e-1073741823", "1e99999999999 x", "1e131072 x",
};

/* What the server makes of text: its numeric_in output, or its SQLSTATE
 * prefixed with '!'. */
static char *server_numeric(const char *text)
{
    const char *values[1] = {text};
    PGresult *res = PQexecParams(dbont_conn_pg(conn), "SELECT $1::numeric::text", 1, NULL,
                                 values, NULL, NULL, 0);
    char *out;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        out = strdup(PQgetvalue(res, 0, 0));
    } else {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        out = malloc(8);
        snprintf(out, 8, "!%s", state != NULL ? state : "?????");
    }
    PQclear(res);
    return out;
}

static void test_numeric_like_server(void **state)
{
    enum { NGOOD = sizeof good_numerics / sizeof good_numerics[0] };
    num_new rows[NGOOD], one;
    dbont_error err;
    size_t failed, i;
    (void)state;
    /* The accepted texts, in one COPY. */
    for (i = 0; i < NGOOD; i++) {
        rows[i].id = (int32_t)i;
        rows[i].v = good_numerics[i];
        rows[i].v_is_null = false;
    }
    if (dbont_table_copy(conn, &num_table, rows, NGOOD, &failed, &err) != DBONT_OK)
        fail_msg("%s %s (row %zu)", err.sqlstate, err.message, failed);
    for (i = 0; i < NGOOD; i++) {
        char sql[96], *ours, *theirs = server_numeric(good_numerics[i]);
        snprintf(sql, sizeof sql, "SELECT v::text FROM q.num WHERE id = %zu", i);
        ours = server_text(conn, sql);
        if (strcmp(ours, theirs) != 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "\"%s\": copied as %.100s, the server reads %.100s",
                     good_numerics[i], ours, theirs);
            free(ours);
            free(theirs);
            fail_msg("%s", msg);
        }
        free(ours);
        free(theirs);
    }
    /* The refused ones, with the server's SQLSTATE. */
    for (i = 0; i < sizeof bad_numerics / sizeof bad_numerics[0]; i++) {
        char *theirs = server_numeric(bad_numerics[i]);
        one.id = 1000;
        one.v = bad_numerics[i];
        one.v_is_null = false;
        if (dbont_table_copy(conn, &num_table, &one, 1, &failed, &err) != DBONT_ERROR ||
            theirs[0] != '!' || strcmp(err.sqlstate, theirs + 1) != 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "\"%s\": we say %s, the server says %s", bad_numerics[i],
                     err.sqlstate, theirs);
            free(theirs);
            fail_msg("%s", msg);
        }
        assert_int_equal(failed, 0);
        free(theirs);
    }
    expect_usable(conn);
}

/* =====================================================================
 * dbont_table_find
 * ===================================================================== */

typedef struct user {
    int32_t id;
    const char *email;
    const char *username;
    bool active;
    const char *nickname;
    bool nickname_is_null;
    dbont_timestamp created_at;
} user;

enum { U_ID, U_EMAIL, U_USERNAME, U_ACTIVE, U_NICKNAME, U_CREATED_AT };

static const dbont_column user_columns[] = {
    {"id", "id", DBONT_INTEGER, true, offsetof(user, id), DBONT_NO_FIELD, 0, 0, 0},
    {"email", "email", DBONT_TEXT, true, offsetof(user, email), DBONT_NO_FIELD, 0, 0,
     DBONT_NO_FIELD},
    {"username", "username", DBONT_VARCHAR, true, offsetof(user, username), DBONT_NO_FIELD, 0, 0,
     DBONT_NO_FIELD},
    {"active", "active", DBONT_BOOLEAN, true, offsetof(user, active), DBONT_NO_FIELD, 0, 0, 0},
    {"nickname", "nickname", DBONT_TEXT, false, offsetof(user, nickname),
     offsetof(user, nickname_is_null), 0, 0, DBONT_NO_FIELD},
    {"created_at", "created_at", DBONT_TIMESTAMPTZ, true, offsetof(user, created_at),
     DBONT_NO_FIELD, 0, 0, 0},
};

static const dbont_relation user_relations[] = {
    {"posts", "EXISTS (SELECT 1 FROM q.posts WHERE posts.user_id = users.id)"},
    {"published posts",
     "EXISTS (SELECT 1 FROM q.posts p WHERE p.user_id = users.id AND p.published)"},
};

static const dbont_table user_table = {
    "users", "q.users", sizeof(user), 6, user_columns, 1, id_pk, UINT64_C(0x0000000000c0d000),
    NULL, NULL, NULL, NULL, 0, 2, user_relations, false, NULL, false};

#define BIT(i) (UINT64_C(1) << (i))

/* find's ids, in order, equal those of the hand-written query. */
static void expect_find(const dbont_filter *f, const user *values, const char *expected_sql)
{
    dbont_result *res = NULL;
    dbont_error err;
    PGresult *expected;
    const user *rows;
    size_t i, n;

    if (dbont_table_find(conn, &user_table, f, values, &res, &err) != DBONT_OK)
        fail_msg("%s: %s %s", expected_sql, err.sqlstate, err.message);
    expected = PQexec(dbont_conn_pg(conn), expected_sql);
    if (PQresultStatus(expected) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", expected_sql, PQresultErrorMessage(expected));
    n = dbont_result_count(res);
    rows = dbont_result_rows(res);
    if (n != (size_t)PQntuples(expected))
        fail_msg("%s: %zu rows, expected %d", expected_sql, n, PQntuples(expected));
    for (i = 0; i < n; i++)
        if (rows[i].id != atoi(PQgetvalue(expected, (int)i, 0)))
            fail_msg("%s: row %zu is id %d, expected %s", expected_sql, i, rows[i].id,
                     PQgetvalue(expected, (int)i, 0));
    PQclear(expected);
    dbont_result_free(res);
}

static void test_find_each_kind(void **state)
{
    dbont_filter f = DBONT_FILTER_INIT;
    user v;
    (void)state;
    memset(&v, 0, sizeof v);
    /* No filter: every row in key order. */
    expect_find(&f, NULL, "SELECT id FROM q.users ORDER BY id");
    /* Equality. */
    f.eq = BIT(U_EMAIL);
    v.email = "user7@example.com";
    expect_find(&f, &v, "SELECT 7");
    f.eq = BIT(U_ACTIVE);
    v.active = false;
    expect_find(&f, &v, "SELECT id FROM q.users WHERE NOT active ORDER BY id");
    f.eq = BIT(U_USERNAME);
    v.username = "name3";
    expect_find(&f, &v, "SELECT id FROM q.users WHERE username = 'name3' ORDER BY id");
    /* IS NULL. */
    f.eq = 0;
    f.is_null = BIT(U_NICKNAME);
    expect_find(&f, &v, "SELECT id FROM q.users WHERE nickname IS NULL ORDER BY id");
    /* Relations. */
    f.is_null = 0;
    f.related = BIT(0);
    expect_find(&f, NULL, "SELECT DISTINCT user_id FROM q.posts ORDER BY 1");
    f.related = BIT(1);
    expect_find(&f, NULL, "SELECT DISTINCT user_id FROM q.posts WHERE published ORDER BY 1");
    f.related = BIT(0) | BIT(1);
    expect_find(&f, NULL, "SELECT DISTINCT user_id FROM q.posts WHERE published ORDER BY 1");
    /* Ordering, one key each way. */
    f.related = 0;
    f.norder = 1;
    f.order_column[0] = U_EMAIL;
    f.order_dir[0] = DBONT_DESC;
    expect_find(&f, NULL, "SELECT id FROM q.users ORDER BY email DESC");
    f.order_dir[0] = DBONT_ASC;
    expect_find(&f, NULL, "SELECT id FROM q.users ORDER BY email ASC");
    /* Limit and offset. */
    f.norder = 0;
    f.limit = 10;
    expect_find(&f, NULL, "SELECT id FROM q.users ORDER BY id LIMIT 10");
    f.offset = 290;
    expect_find(&f, NULL, "SELECT id FROM q.users ORDER BY id LIMIT 10 OFFSET 290");
    f.limit = 0;
    expect_find(&f, NULL, "SELECT id FROM q.users WHERE false");
    f.limit = -1;
    f.offset = 295;
    expect_find(&f, NULL, "SELECT id FROM q.users ORDER BY id OFFSET 295");
}

static void test_find_combinations(void **state)
{
    dbont_filter f = DBONT_FILTER_INIT;
    user v;
    (void)state;
    memset(&v, 0, sizeof v);
    v.active = true;
    v.username = "name2";
    f.eq = BIT(U_ACTIVE) | BIT(U_USERNAME);
    f.is_null = BIT(U_NICKNAME);
    expect_find(&f, &v, "SELECT id FROM q.users WHERE active AND username = 'name2' AND "
                        "nickname IS NULL ORDER BY id");
    f.eq = BIT(U_ACTIVE);
    f.is_null = BIT(U_NICKNAME);
    f.norder = 2;
    f.order_column[0] = U_USERNAME;
    f.order_dir[0] = DBONT_DESC;
    f.order_column[1] = U_ID;
    f.order_dir[1] = DBONT_ASC;
    f.limit = 5;
    f.offset = 3;
    expect_find(&f, &v, "SELECT id FROM q.users WHERE active AND nickname IS NULL "
                        "ORDER BY username DESC, id ASC LIMIT 5 OFFSET 3");
    /* Three keys, mixed directions, with a relation. */
    f.eq = 0;
    f.is_null = 0;
    f.related = BIT(0);
    f.norder = 3;
    f.order_column[0] = U_ACTIVE;
    f.order_dir[0] = DBONT_DESC;
    f.order_column[1] = U_USERNAME;
    f.order_dir[1] = DBONT_ASC;
    f.order_column[2] = U_ID;
    f.order_dir[2] = DBONT_DESC;
    f.limit = -1;
    f.offset = 0;
    expect_find(&f, &v, "SELECT id FROM q.users u WHERE EXISTS (SELECT 1 FROM q.posts p "
                        "WHERE p.user_id = u.id) ORDER BY active DESC, username ASC, id DESC");
    /* Equality and a relation. */
    f.eq = BIT(U_ACTIVE);
    v.active = true;
    f.related = BIT(1);
    f.norder = 0;
    expect_find(&f, &v, "SELECT id FROM q.users u WHERE active AND EXISTS (SELECT 1 FROM "
                        "q.posts p WHERE p.user_id = u.id AND p.published) ORDER BY id");
    /* Out NULL: runs, returns nothing. */
    {
        dbont_error err;
        assert_int_equal(dbont_table_find(conn, &user_table, &f, &v, NULL, &err), DBONT_OK);
    }
}

/* Each combination is prepared once per connection. */
static void test_find_prepares_once(void **state)
{
    dbont_filter a = DBONT_FILTER_INIT, b = DBONT_FILTER_INIT;
    user v;
    dbont_result *res = NULL;
    dbont_error err;
    long long before;
    (void)state;
    memset(&v, 0, sizeof v);
    a.eq = BIT(U_USERNAME) | BIT(U_ACTIVE);
    a.norder = 1;
    a.order_column[0] = U_EMAIL;
    a.order_dir[0] = DBONT_DESC;
    a.limit = 3;
    v.username = "name1";
    v.active = true;

    before = prepared_count(conn);
    assert_int_equal(dbont_table_find(conn, &user_table, &a, &v, &res, &err), DBONT_OK);
    dbont_result_free(res);
    assert_int_equal(prepared_count(conn), before + 1);
    /* Same combination, other values (and another limit value). */
    v.username = "name5";
    v.active = false;
    a.limit = 7;
    assert_int_equal(dbont_table_find(conn, &user_table, &a, &v, &res, &err), DBONT_OK);
    assert_true(dbont_result_count(res) > 0);
    dbont_result_free(res);
    assert_int_equal(prepared_count(conn), before + 1);
    /* The direction changes the statement; so does an offset. */
    b = a;
    b.order_dir[0] = DBONT_ASC;
    assert_int_equal(dbont_table_find(conn, &user_table, &b, &v, &res, &err), DBONT_OK);
    dbont_result_free(res);
    assert_int_equal(prepared_count(conn), before + 2);
    b.offset = 1;
    assert_int_equal(dbont_table_find(conn, &user_table, &b, &v, &res, &err), DBONT_OK);
    dbont_result_free(res);
    assert_int_equal(prepared_count(conn), before + 3);
    assert_int_equal(dbont_table_find(conn, &user_table, &a, &v, &res, &err), DBONT_OK);
    dbont_result_free(res);
    assert_int_equal(prepared_count(conn), before + 3);
    /* The names are dbont's, so a lost registry is rebuilt from them. */
    expect_server_text(conn, "SELECT count(*) FROM pg_prepared_statements "
                             "WHERE name !~ '^dbont_[0-9a-f]{16}(_[0-9a-f]+)?$'",
                       "0");
}

/* Filters that do not fit the table: refused with nothing sent. */
static void test_find_refused(void **state)
{
    dbont_filter f = DBONT_FILTER_INIT;
    user v;
    dbont_result *res = (dbont_result *)&v;
    dbont_error err;
    long long before = prepared_count(conn);
    (void)state;
    memset(&v, 0, sizeof v);
    v.email = "x";

    f.eq = BIT(U_EMAIL);
    f.is_null = BIT(U_EMAIL);
    expect_error(dbont_table_find(conn, &user_table, &f, &v, &res, &err), &err, "22023");
    assert_null(res);
    expect_message_has(&err, "both equal to a value and NULL");
    f = (dbont_filter)DBONT_FILTER_INIT;
    f.eq = BIT(6);
    expect_error(dbont_table_find(conn, &user_table, &f, &v, &res, &err), &err, "22023");
    f = (dbont_filter)DBONT_FILTER_INIT;
    f.is_null = BIT(63);
    expect_error(dbont_table_find(conn, &user_table, &f, &v, &res, &err), &err, "22023");
    f = (dbont_filter)DBONT_FILTER_INIT;
    f.norder = 1;
    f.order_column[0] = 6;
    expect_error(dbont_table_find(conn, &user_table, &f, &v, &res, &err), &err, "22023");
    expect_message_has(&err, "order column 6 out of range");
    f.norder = DBONT_FILTER_ORDER_MAX + 1;
    expect_error(dbont_table_find(conn, &user_table, &f, &v, &res, &err), &err, "22023");
    f = (dbont_filter)DBONT_FILTER_INIT;
    f.related = BIT(2);
    expect_error(dbont_table_find(conn, &user_table, &f, &v, &res, &err), &err, "22023");
    expect_message_has(&err, "relation 2 out of range");
    f.related = BIT(0);
    expect_error(dbont_table_find(conn, &item_table, &f, &v, &res, &err), &err, "22023");
    f = (dbont_filter)DBONT_FILTER_INIT;
    f.offset = -1;
    expect_error(dbont_table_find(conn, &user_table, &f, &v, &res, &err), &err, "2201X");
    /* col = NULL would never match: refused, IS NULL is the filter. */
    f = (dbont_filter)DBONT_FILTER_INIT;
    f.eq = BIT(U_NICKNAME);
    v.nickname = "nick1";
    v.nickname_is_null = true;
    expect_error(dbont_table_find(conn, &user_table, &f, &v, &res, &err), &err, "22023");
    expect_message_has(&err, "users.nickname: the value is NULL");
    f.eq = BIT(U_EMAIL);
    v.email = NULL;
    expect_error(dbont_table_find(conn, &user_table, &f, &v, &res, &err), &err, "22023");
    expect_error(dbont_table_find(conn, &user_table, &f, NULL, &res, &err), &err, "22023");
    assert_int_equal(prepared_count(conn), before);
}

/* Equality on a column of every type finds the row (the parameter
 * encoding of each type against the column). */
static void test_find_every_type(void **state)
{
    item_new n;
    dbont_filter f = DBONT_FILTER_INIT;
    item v;
    dbont_result *res = NULL;
    dbont_error err;
    size_t k;
    (void)state;
    fill_item(&n, "find-me", 1);
    assert_int_equal(dbont_table_insert(conn, &item_table, &n, NULL, &err), DBONT_OK);
    memset(&v, 0, sizeof v);
#define COPY_VALUE(name, type, ctype, sql) v.name = n.name;
    EVERY_TYPE(COPY_VALUE)
#undef COPY_VALUE
    for (k = 0; k < NTYPES; k++) {
        f.eq = BIT(ITEM_COL(k)) | BIT(ITEM_COL_T);
        if (dbont_table_find(conn, &item_table, &f, &v, &res, &err) != DBONT_OK)
            fail_msg("column %s: %s %s", item_columns[ITEM_COL(k)].name, err.sqlstate,
                     err.message);
        if (dbont_result_count(res) != 1)
            fail_msg("column %s: %zu rows", item_columns[ITEM_COL(k)].name,
                     dbont_result_count(res));
        assert_string_equal(((const item *)dbont_result_rows(res))->t, "find-me");
        dbont_result_free(res);
    }
    /* And IS NULL on nullable columns of the row (i2_n, f4_n, tz_n). */
    f.eq = BIT(ITEM_COL_T);
    f.is_null = BIT(ITEM_COL(0) + 1) | BIT(ITEM_COL(4) + 1) | BIT(ITEM_COL(12) + 1);
    assert_int_equal(dbont_table_find(conn, &item_table, &f, &v, &res, &err), DBONT_OK);
    assert_int_equal(dbont_result_count(res), 1);
    dbont_result_free(res);
    /* A defaulted column, found by its quoted name. */
    f.is_null = 0;
    f.eq = BIT(ITEM_COL_STATUS) | BIT(ITEM_COL_T);
    v.status = "new";
    assert_int_equal(dbont_table_find(conn, &item_table, &f, &v, &res, &err), DBONT_OK);
    assert_int_equal(dbont_result_count(res), 1);
    assert_string_equal(((const item *)dbont_result_rows(res))->note, "hello");
    dbont_result_free(res);
    (void)ITEM_COL_NOTE;
}

/* ---- setup ------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    if (getenv("DATABASE_URL") == NULL) {
        fprintf(stderr, "integration_query: DATABASE_URL is not set\n");
        return -1;
    }
    conn = connect_or_fail();
    exec_ok(conn, "SET client_min_messages = warning");
    exec_ok(conn, create_sql);
    exec_ok(conn, "SET TimeZone = 'UTC'");
    exec_ok(conn, "INSERT INTO q.users (email, username, active, nickname) "
                  "SELECT 'user' || i || '@example.com', 'name' || i % 7, i % 3 <> 0, "
                  "CASE WHEN i % 4 = 0 THEN NULL ELSE 'nick' || i END "
                  "FROM generate_series(1, 300) i");
    exec_ok(conn, "INSERT INTO q.posts (user_id, title, published, score) "
                  "SELECT u, 'post ' || u || '-' || k, u % 4 = 0, k * 1.5 "
                  "FROM generate_series(2, 40, 2) u, generate_series(1, 2) k");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dbont_close(conn);
    conn = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_every_type),
        cmocka_unit_test(test_run_nulls),
        cmocka_unit_test(test_run_shapes),
        cmocka_unit_test(test_run_errors),
        cmocka_unit_test(test_batch_one_failing),
        cmocka_unit_test(test_batch_windows),
        cmocka_unit_test(test_batch_writes_isolated),
        cmocka_unit_test(test_batch_encode_failure),
        cmocka_unit_test(test_batch_after_deallocate),
        cmocka_unit_test(test_batch_lost_before),
        cmocka_unit_test(test_batch_lost_midway),
        cmocka_unit_test(test_copy_every_type),
        cmocka_unit_test(test_copy_defaults_set),
        cmocka_unit_test(test_copy_refused_client_side),
        cmocka_unit_test(test_copy_server_errors),
        cmocka_unit_test(test_copy_large),
        cmocka_unit_test(test_copy_lost_connection),
        cmocka_unit_test(test_numeric_like_server),
        cmocka_unit_test(test_find_each_kind),
        cmocka_unit_test(test_find_combinations),
        cmocka_unit_test(test_find_prepares_once),
        cmocka_unit_test(test_find_refused),
        cmocka_unit_test(test_find_every_type),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
