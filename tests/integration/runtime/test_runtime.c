/*
 * Integration test of libdbont against a real PostgreSQL ($DATABASE_URL).
 *
 * The table descriptor below is written by hand, the way dbont-gen would
 * write it: a row struct, a new-row struct, one column of every dbont type
 * in a NOT NULL and a nullable variant, a serial primary key, and columns
 * with defaults (one of them nullable, one with a quoted name).  The test
 * creates its tables itself with plain SQL.
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

/* ---- the hand-written descriptor ------------------------------------ */

/* name, dbont type, C type, SQL type: one NOT NULL and one nullable
 * (suffix _n) column of each. */
#define ITEM_TYPES(X)                                        \
    X(i2, DBONT_SMALLINT, int16_t, "smallint")               \
    X(i4, DBONT_INTEGER, int32_t, "integer")                 \
    X(i8, DBONT_BIGINT, int64_t, "bigint")                   \
    X(b, DBONT_BOOLEAN, bool, "boolean")                     \
    X(f4, DBONT_REAL, float, "real")                         \
    X(f8, DBONT_DOUBLE, double, "double precision")          \
    X(num, DBONT_NUMERIC, const char *, "numeric(20,3)")     \
    X(t, DBONT_TEXT, const char *, "text")                   \
    X(vc, DBONT_VARCHAR, const char *, "varchar(40)")        \
    X(u, DBONT_UUID, dbont_uuid, "uuid")                     \
    X(d, DBONT_DATE, dbont_date, "date")                     \
    X(ts, DBONT_TIMESTAMP, dbont_timestamp, "timestamp")     \
    X(tz, DBONT_TIMESTAMPTZ, dbont_timestamp, "timestamptz") \
    X(j, DBONT_JSONB, const char *, "jsonb")                 \
    X(by, DBONT_BYTEA, dbont_bytes, "bytea")

#define ROW_FIELDS(n, type, ctype, sql) ctype n; ctype n##_n; bool n##_n_is_null;

typedef struct item {
    int32_t id;
    ITEM_TYPES(ROW_FIELDS)
    const char *status;
    const char *note;
    bool note_is_null;
} item;

typedef struct item_new {
    int32_t id;
    bool id_set;
    ITEM_TYPES(ROW_FIELDS)
    const char *status;
    bool status_set;
    const char *note;
    bool note_is_null;
    bool note_set;
} item_new;

#define COLUMNS(n, type, ctype, sql)                                          \
    {#n, #n, type, true, offsetof(item, n), DBONT_NO_FIELD,                  \
     offsetof(item_new, n), DBONT_NO_FIELD, DBONT_NO_FIELD},                 \
    {#n "_n", #n "_n", type, false, offsetof(item, n##_n),                   \
     offsetof(item, n##_n_is_null), offsetof(item_new, n##_n),               \
     offsetof(item_new, n##_n_is_null), DBONT_NO_FIELD},

static const dbont_column item_columns[] = {
    {"id", "id", DBONT_INTEGER, true, offsetof(item, id), DBONT_NO_FIELD,
     offsetof(item_new, id), DBONT_NO_FIELD, offsetof(item_new, id_set)},
    ITEM_TYPES(COLUMNS)
    {"Status", "\"Status\"", DBONT_TEXT, true, offsetof(item, status), DBONT_NO_FIELD,
     offsetof(item_new, status), DBONT_NO_FIELD, offsetof(item_new, status_set)},
    {"note", "note", DBONT_TEXT, false, offsetof(item, note), offsetof(item, note_is_null),
     offsetof(item_new, note), offsetof(item_new, note_is_null), offsetof(item_new, note_set)},
};
#define ITEM_NCOLUMNS (sizeof item_columns / sizeof item_columns[0])

#define CREATE_COLUMNS(n, type, ctype, sql) " " #n " " sql " NOT NULL, " #n "_n " sql ","
#define SELECT_COLUMNS(n, type, ctype, sql) ", " #n ", " #n "_n"

static const char create_sql[] =
    "DROP SCHEMA IF EXISTS rt CASCADE;"
    "CREATE SCHEMA rt;"
    "CREATE TABLE rt.item (id serial PRIMARY KEY," ITEM_TYPES(CREATE_COLUMNS)
    " \"Status\" text NOT NULL DEFAULT 'new', note text DEFAULT 'hello',"
    " UNIQUE (t));"
    "CREATE TABLE rt.num (id serial PRIMARY KEY, v numeric);";

#define ALL_COLUMNS "id" ITEM_TYPES(SELECT_COLUMNS) ", \"Status\", note"

/* Type OIDs, written out here independently of the runtime's table. */
static Oid oid_of(dbont_type type)
{
    static const Oid oids[] = {21, 23, 20, 16, 700, 701, 1700, 25, 1043, 2950,
                               1082, 1114, 1184, 3802, 17};
    return oids[type];
}

static const Oid int4_param[] = {23};
static const Oid limit_params[] = {20, 20};
static Oid update_types[ITEM_NCOLUMNS];
static char update_sql[4096];

static const dbont_stmt item_get = {
    UINT64_C(0x00000000000a0001), "dbont_00000000000a0001",
    "SELECT " ALL_COLUMNS " FROM rt.item WHERE id = $1", 1, int4_param};
static const dbont_stmt item_remove = {
    UINT64_C(0x00000000000a0002), "dbont_00000000000a0002",
    "DELETE FROM rt.item WHERE id = $1", 1, int4_param};
static const dbont_stmt item_list = {
    UINT64_C(0x00000000000a0003), "dbont_00000000000a0003",
    "SELECT " ALL_COLUMNS " FROM rt.item ORDER BY id LIMIT $1 OFFSET $2", 2, limit_params};
/* Its SQL has $2.. for 32 columns: composed in setup from the columns. */
static dbont_stmt item_update = {
    UINT64_C(0x00000000000a0004), "dbont_00000000000a0004",
    update_sql, (int)ITEM_NCOLUMNS, update_types};

static const uint16_t item_pk[] = {0};

static const dbont_table item_table = {
    "item", "rt.item", sizeof(item), ITEM_NCOLUMNS, item_columns, 1, item_pk,
    UINT64_C(0x00000000000a0000), &item_get, &item_update, &item_remove, &item_list,
    sizeof(item_new), 0, NULL, false, NULL, false};

/* rt.num: a numeric column to compare our decoding with the server's text. */
typedef struct num_row {
    int32_t id;
    const char *v;
    bool v_is_null;
} num_row;

typedef struct num_new {
    int32_t id;
    bool id_set;
    const char *v;
    bool v_is_null;
} num_new;

static const dbont_column num_columns[] = {
    {"id", "id", DBONT_INTEGER, true, offsetof(num_row, id), DBONT_NO_FIELD,
     offsetof(num_new, id), DBONT_NO_FIELD, offsetof(num_new, id_set)},
    {"v", "v", DBONT_NUMERIC, false, offsetof(num_row, v), offsetof(num_row, v_is_null),
     offsetof(num_new, v), offsetof(num_new, v_is_null), DBONT_NO_FIELD},
};
static const dbont_stmt num_list = {
    UINT64_C(0x00000000000b0003), "dbont_00000000000b0003",
    "SELECT id, v FROM rt.num ORDER BY id LIMIT $1 OFFSET $2", 2, limit_params};
static const dbont_table num_table = {
    "num", "rt.num", sizeof(num_row), 2, num_columns, 0, NULL,
    UINT64_C(0x00000000000b0000), NULL, NULL, NULL, &num_list, sizeof(num_new), 0, NULL, false, NULL, false};

/* UPDATE rt.item SET i2 = $2, i2_n = $3, ... WHERE id = $1 */
static void compose_update(void)
{
    size_t i, len;
    len = (size_t)snprintf(update_sql, sizeof update_sql, "UPDATE rt.item SET ");
    update_types[0] = oid_of(item_columns[0].type);
    for (i = 1; i < ITEM_NCOLUMNS; i++) {
        len += (size_t)snprintf(update_sql + len, sizeof update_sql - len, "%s%s = $%zu",
                                i > 1 ? ", " : "", item_columns[i].sql, i + 1);
        update_types[i] = oid_of(item_columns[i].type);
    }
    snprintf(update_sql + len, sizeof update_sql - len, " WHERE id = $1");
    assert_true(len < sizeof update_sql - 32);
}

/* ---- helpers -------------------------------------------------------- */

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
    assert_int_equal(st, DBONT_ERROR);
    if (strcmp(err->sqlstate, sqlstate) != 0)
        fail_msg("expected SQLSTATE %s, got %s: %s", sqlstate, err->sqlstate, err->message);
}

static void expect_message_has(const dbont_error *err, const char *part)
{
    if (strstr(err->message, part) == NULL)
        fail_msg("message lacks \"%s\": %s", part, err->message);
}

/* One value as the server prints it (text format), for cross-checks. */
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
        char msg[512];
        snprintf(msg, sizeof msg, "%s: expected \"%s\", got \"%s\"", sql, expected, got);
        free(got);
        fail_msg("%s", msg);
    }
    free(got);
}

static long long count_items(void)
{
    char *n = server_text(conn, "SELECT count(*) FROM rt.item");
    long long v = atoll(n);
    free(n);
    return v;
}

static const uint8_t bytes_with_nul[4] = {'a', 0, 'b', 0xff};
static const char *uuid_text = "123e4567-e89b-12d3-a456-426614174000";

/* 2024-01-01 and 2024-01-02 03:04:05.678901, in dbont's 1970 epoch. */
#define DAY_2024_01_01 19723
#define USEC_2024_01_02 INT64_C(1704164645678901)

/* A new row with every NOT NULL column set and the nullable ones mixed:
 * NULL by flag, NULL by pointer, and values. */
static void fill_new(item_new *n, const char *t)
{
    memset(n, 0, sizeof *n);
    n->i2 = -12;
    n->i2_n_is_null = true;
    n->i4 = 123456;
    n->i4_n = -7;
    n->i8 = INT64_C(9007199254740993);
    n->i8_n_is_null = true;
    n->b = true;
    n->b_n = false;
    n->f4 = 1.25f;
    n->f4_n_is_null = true;
    n->f8 = -2.5;
    n->f8_n = 1e300;
    n->num = "12345.678";
    n->num_n = NULL;                /* NULL pointer: SQL NULL */
    n->t = t;
    n->t_n = "h\xc3\xa9llo w\xc3\xb6rld";
    n->vc = "varchar";
    n->vc_n = "ignored";
    n->vc_n_is_null = true;         /* the flag wins over the pointer */
    assert_int_equal(dbont_uuid_parse(uuid_text, &n->u), 0);
    n->u_n_is_null = true;
    n->d = DAY_2024_01_01;
    n->d_n = DBONT_DATE_NEG_INFINITY;
    n->ts = USEC_2024_01_02;
    n->ts_n = DBONT_TIMESTAMP_INFINITY;
    n->tz = USEC_2024_01_02;
    n->tz_n_is_null = true;
    n->j = "{\"a\": [1, 2]}";
    n->j_n = NULL;
    n->by.data = bytes_with_nul;
    n->by.len = sizeof bytes_with_nul;
    n->by_n.data = NULL;            /* empty, not NULL */
    n->by_n.len = 0;
}

/* The stored row matches what fill_new sent. */
static void expect_filled(const item *r, const char *t)
{
    dbont_uuid u;
    assert_int_equal(r->i2, -12);
    assert_true(r->i2_n_is_null);
    assert_int_equal(r->i4, 123456);
    assert_false(r->i4_n_is_null);
    assert_int_equal(r->i4_n, -7);
    assert_true(r->i8 == INT64_C(9007199254740993));
    assert_true(r->i8_n_is_null);
    assert_true(r->b);
    assert_false(r->b_n_is_null);
    assert_false(r->b_n);
    assert_true(r->f4 == 1.25f);
    assert_true(r->f4_n_is_null);
    assert_true(r->f8 == -2.5);
    assert_true(r->f8_n == 1e300);
    assert_string_equal(r->num, "12345.678");
    assert_true(r->num_n_is_null);
    assert_null(r->num_n);
    assert_string_equal(r->t, t);
    assert_string_equal(r->t_n, "h\xc3\xa9llo w\xc3\xb6rld");
    assert_string_equal(r->vc, "varchar");
    assert_true(r->vc_n_is_null);
    assert_null(r->vc_n);
    assert_int_equal(dbont_uuid_parse(uuid_text, &u), 0);
    assert_memory_equal(r->u.bytes, u.bytes, 16);
    assert_true(r->u_n_is_null);
    assert_int_equal(r->d, DAY_2024_01_01);
    assert_int_equal(r->d_n, DBONT_DATE_NEG_INFINITY);
    assert_true(r->ts == USEC_2024_01_02);
    assert_true(r->ts_n == DBONT_TIMESTAMP_INFINITY);
    assert_true(r->tz == USEC_2024_01_02);
    assert_true(r->tz_n_is_null);
    assert_string_equal(r->j, "{\"a\": [1, 2]}");
    assert_true(r->j_n_is_null);
    assert_int_equal(r->by.len, 4);
    assert_memory_equal(r->by.data, bytes_with_nul, 4);
    assert_false(r->by_n_is_null);
    assert_int_equal(r->by_n.len, 0);
}

static int32_t insert_item(const char *t)
{
    item_new n;
    dbont_result *res;
    dbont_error err;
    int32_t id;
    fill_new(&n, t);
    if (dbont_table_insert(conn, &item_table, &n, &res, &err) != DBONT_OK)
        fail_msg("insert: %s %s", err.sqlstate, err.message);
    id = ((const item *)dbont_result_rows(res))->id;
    dbont_result_free(res);
    return id;
}

/* ---- setup ---------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    if (getenv("DATABASE_URL") == NULL) {
        fprintf(stderr, "integration_runtime: DATABASE_URL is not set\n");
        return -1;
    }
    compose_update();
    conn = connect_or_fail();
    exec_ok(conn, "SET client_min_messages = warning");
    exec_ok(conn, create_sql);
    /* Timestamps with time zone print in UTC in the cross-checks. */
    exec_ok(conn, "SET TimeZone = 'UTC'");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dbont_close(conn);
    conn = NULL;
    return 0;
}

/* ---- insert --------------------------------------------------------- */

/* Defaults left unset apply (serial id, 'new', 'hello'); every value
 * comes back as sent. */
static void test_insert_defaults_apply(void **state)
{
    item_new n;
    dbont_result *res = NULL;
    dbont_error err;
    const item *r;
    (void)state;
    fill_new(&n, "defaults");
    assert_int_equal(dbont_table_insert(conn, &item_table, &n, &res, &err), DBONT_OK);
    assert_int_equal(dbont_result_count(res), 1);
    r = dbont_result_rows(res);
    assert_true(r->id > 0);
    assert_string_equal(r->status, "new");
    assert_false(r->note_is_null);
    assert_string_equal(r->note, "hello");
    expect_filled(r, "defaults");
    dbont_result_free(res);
}

/* Defaulted columns that are set are sent, including an explicit NULL. */
static void test_insert_defaults_set(void **state)
{
    item_new n;
    dbont_result *res = NULL;
    dbont_error err;
    const item *r;
    (void)state;
    fill_new(&n, "explicit");
    n.id = 1000;
    n.id_set = true;
    n.status = "custom";
    n.status_set = true;
    n.note = "not used";
    n.note_is_null = true;
    n.note_set = true;
    assert_int_equal(dbont_table_insert(conn, &item_table, &n, &res, &err), DBONT_OK);
    r = dbont_result_rows(res);
    assert_int_equal(r->id, 1000);
    assert_string_equal(r->status, "custom");
    assert_true(r->note_is_null);
    assert_null(r->note);
    expect_filled(r, "explicit");
    dbont_result_free(res);

    /* Only some defaults set: another variant of the statement. */
    fill_new(&n, "partial");
    n.note = "mine";
    n.note_set = true;
    assert_int_equal(dbont_table_insert(conn, &item_table, &n, &res, &err), DBONT_OK);
    r = dbont_result_rows(res);
    assert_true(r->id > 0 && r->id != 1000);
    assert_string_equal(r->status, "new");
    assert_string_equal(r->note, "mine");
    dbont_result_free(res);
}

/* out NULL: the row is inserted, nothing is returned, by a statement
 * without RETURNING (the same columns with out give another one). */
static void test_insert_without_out(void **state)
{
    item_new n;
    dbont_error err;
    long long before = count_items();
    (void)state;
    fill_new(&n, "no out");
    assert_int_equal(dbont_table_insert(conn, &item_table, &n, NULL, &err), DBONT_OK);
    assert_int_equal(count_items(), before + 1);
    expect_server_text(conn, "SELECT i4::text FROM rt.item WHERE t = 'no out'", "123456");
    expect_server_text(conn,
                       "SELECT count(*)::text FROM pg_prepared_statements WHERE statement LIKE "
                       "'INSERT INTO rt.item %' AND statement NOT LIKE '% RETURNING %'",
                       "1");
    fill_new(&n, "with out");
    dbont_result *res = NULL;
    assert_int_equal(dbont_table_insert(conn, &item_table, &n, &res, &err), DBONT_OK);
    assert_int_equal(dbont_result_count(res), 1);
    dbont_result_free(res);
    expect_server_text(conn,
                       "SELECT (count(*) FILTER (WHERE statement LIKE '% RETURNING %') > 0)::text FROM "
                       "pg_prepared_statements WHERE statement LIKE 'INSERT INTO rt.item %'",
                       "true");
}

/* The values as the server itself prints them. */
static void test_values_seen_by_server(void **state)
{
    (void)state;
    insert_item("server view");
#define Q(col) "SELECT " col "::text FROM rt.item WHERE t = 'server view'"
    expect_server_text(conn, Q("i8"), "9007199254740993");
    expect_server_text(conn, Q("num"), "12345.678");
    expect_server_text(conn, Q("num_n"), "(null)");
    expect_server_text(conn, Q("u"), uuid_text);
    expect_server_text(conn, Q("d"), "2024-01-01");
    expect_server_text(conn, Q("d_n"), "-infinity");
    expect_server_text(conn, Q("ts"), "2024-01-02 03:04:05.678901");
    expect_server_text(conn, Q("ts_n"), "infinity");
    expect_server_text(conn, Q("tz"), "2024-01-02 03:04:05.678901+00");
    expect_server_text(conn, Q("by"), "\\x610062ff");
    expect_server_text(conn, Q("by_n"), "\\x");
    expect_server_text(conn, Q("vc_n"), "(null)");
    expect_server_text(conn, Q("t_n"), "h\xc3\xa9llo w\xc3\xb6rld");
    expect_server_text(conn, Q("(j -> 'a' ->> 1)"), "2");
#undef Q
}

/* Dates before 1970 and before 2000, and a numeric rounded by its typmod. */
static void test_dates_and_scale(void **state)
{
    item_new n;
    dbont_result *res;
    dbont_error err;
    const item *r;
    (void)state;
    fill_new(&n, "old dates");
    n.d = -1;                       /* 1969-12-31 */
    n.d_n = 10957 - 1;              /* 1999-12-31 */
    n.ts = -1;                      /* 1969-12-31 23:59:59.999999 */
    n.num = "1.5";
    assert_int_equal(dbont_table_insert(conn, &item_table, &n, &res, &err), DBONT_OK);
    r = dbont_result_rows(res);
    assert_int_equal(r->d, -1);
    assert_int_equal(r->d_n, 10956);
    assert_true(r->ts == -1);
    assert_string_equal(r->num, "1.500");
    dbont_result_free(res);
    expect_server_text(conn, "SELECT d::text FROM rt.item WHERE t = 'old dates'", "1969-12-31");
    expect_server_text(conn, "SELECT d_n::text FROM rt.item WHERE t = 'old dates'", "1999-12-31");
    expect_server_text(conn, "SELECT ts::text FROM rt.item WHERE t = 'old dates'",
                       "1969-12-31 23:59:59.999999");
}

/* ---- get, update, remove -------------------------------------------- */

static void test_get_and_not_found(void **state)
{
    item key;
    dbont_result *res = NULL;
    dbont_error err;
    int32_t id;
    (void)state;
    id = insert_item("get me");
    memset(&key, 0, sizeof key);
    key.id = id;
    assert_int_equal(dbont_table_get(conn, &item_table, &key, &res, &err), DBONT_OK);
    assert_int_equal(dbont_result_count(res), 1);
    assert_int_equal(((const item *)dbont_result_rows(res))->id, id);
    expect_filled(dbont_result_rows(res), "get me");
    dbont_result_free(res);

    key.id = 999999;
    res = (dbont_result *)&key;     /* must be reset to NULL */
    assert_int_equal(dbont_table_get(conn, &item_table, &key, &res, &err), DBONT_NOT_FOUND);
    assert_null(res);
}

static void test_update(void **state)
{
    item key, row;
    dbont_result *res = NULL;
    dbont_error err;
    const item *r;
    int32_t id;
    (void)state;
    id = insert_item("to update");
    memset(&key, 0, sizeof key);
    key.id = id;
    assert_int_equal(dbont_table_get(conn, &item_table, &key, &res, &err), DBONT_OK);
    row = *(const item *)dbont_result_rows(res);   /* pointers stay valid until free */
    row.i2 = 32767;
    row.i2_n = -32768;
    row.i2_n_is_null = false;
    row.i4_n_is_null = true;
    row.i8 = INT64_MIN;
    row.f4_n = -0.5f;
    row.f4_n_is_null = false;
    row.num = "-99999999999999999.999";
    row.num_n = "0.001";
    row.num_n_is_null = false;
    row.t = "updated";
    row.t_n = NULL;                 /* NULL pointer: SQL NULL */
    row.d = DBONT_DATE_INFINITY;
    row.d_n_is_null = true;
    row.tz = DBONT_TIMESTAMP_NEG_INFINITY;
    row.j = "[]";
    row.by.len = 1;
    row.by_n_is_null = true;
    row.status = "done";
    row.note = NULL;
    row.note_is_null = false;       /* NULL pointer alone means NULL too */
    assert_int_equal(dbont_table_update(conn, &item_table, &row, &err), DBONT_OK);
    dbont_result_free(res);

    assert_int_equal(dbont_table_get(conn, &item_table, &key, &res, &err), DBONT_OK);
    r = dbont_result_rows(res);
    assert_int_equal(r->i2, 32767);
    assert_int_equal(r->i2_n, -32768);
    assert_true(r->i4_n_is_null);
    assert_true(r->i8 == INT64_MIN);
    assert_true(r->f4_n == -0.5f);
    assert_string_equal(r->num, "-99999999999999999.999");
    assert_string_equal(r->num_n, "0.001");
    assert_string_equal(r->t, "updated");
    assert_true(r->t_n_is_null);
    assert_int_equal(r->d, DBONT_DATE_INFINITY);
    assert_true(r->d_n_is_null);
    assert_true(r->tz == DBONT_TIMESTAMP_NEG_INFINITY);
    assert_string_equal(r->j, "[]");
    assert_int_equal(r->by.len, 1);
    assert_int_equal(r->by.data[0], 'a');
    assert_true(r->by_n_is_null);
    assert_string_equal(r->status, "done");
    assert_true(r->note_is_null);
    /* Untouched columns keep their values. */
    assert_int_equal(r->i4, 123456);
    assert_string_equal(r->vc, "varchar");
    dbont_result_free(res);
    expect_server_text(conn, "SELECT d::text FROM rt.item WHERE t = 'updated'", "infinity");

    memset(&row, 0, sizeof row);
    row.id = 999999;
    row.num = "1";
    row.t = "nobody";
    row.vc = "x";
    row.j = "{}";
    row.status = "x";
    assert_int_equal(dbont_table_update(conn, &item_table, &row, &err), DBONT_NOT_FOUND);
}

static void test_remove(void **state)
{
    item key;
    dbont_result *res = NULL;
    dbont_error err;
    (void)state;
    memset(&key, 0, sizeof key);
    key.id = insert_item("to remove");
    assert_int_equal(dbont_table_remove(conn, &item_table, &key, &err), DBONT_OK);
    assert_int_equal(dbont_table_get(conn, &item_table, &key, &res, &err), DBONT_NOT_FOUND);
    assert_null(res);
    assert_int_equal(dbont_table_remove(conn, &item_table, &key, &err), DBONT_NOT_FOUND);
}

/* ---- list ----------------------------------------------------------- */

static void expect_page(int64_t limit, int64_t offset, size_t count,
                        const int32_t *ids)
{
    dbont_result *res = NULL;
    dbont_error err;
    const item *rows;
    size_t i;
    assert_int_equal(dbont_table_list(conn, &item_table, limit, offset, &res, &err), DBONT_OK);
    assert_non_null(res);
    assert_int_equal(dbont_result_count(res), count);
    rows = dbont_result_rows(res);
    for (i = 0; i < count; i++) {
        assert_int_equal(rows[i].id, ids[offset + (int64_t)i]);
        expect_filled(&rows[i], rows[i].t);
    }
    dbont_result_free(res);
}

static void test_list_paging(void **state)
{
    int32_t ids[7];
    char name[16];
    dbont_result *res;
    dbont_error err;
    int i;
    (void)state;
    exec_ok(conn, "DELETE FROM rt.item");
    for (i = 0; i < 7; i++) {
        snprintf(name, sizeof name, "page %d", i);
        ids[i] = insert_item(name);
    }
    expect_page(3, 0, 3, ids);
    expect_page(3, 3, 3, ids);
    expect_page(3, 6, 1, ids);
    expect_page(3, 9, 0, ids);
    expect_page(0, 0, 0, ids);
    expect_page(100, 0, 7, ids);

    res = (dbont_result *)&err;
    expect_error(dbont_table_list(conn, &item_table, -1, 0, &res, &err), &err, "22023");
    assert_null(res);
    expect_error(dbont_table_list(conn, &item_table, 1, -5, &res, &err), &err, "22023");
    assert_null(res);
}

/* ---- errors --------------------------------------------------------- */

static void test_unique_violation(void **state)
{
    item_new n;
    dbont_result *res;
    dbont_error err;
    (void)state;
    insert_item("unique");
    fill_new(&n, "unique");
    res = (dbont_result *)&n;
    expect_error(dbont_table_insert(conn, &item_table, &n, &res, &err), &err, "23505");
    assert_null(res);
    expect_message_has(&err, "duplicate key value violates unique constraint");
    expect_message_has(&err, "\nDETAIL: Key (t)=(unique) already exists.");
    assert_false(err.truncated);
}

/* A NULL pointer for a NOT NULL text column is refused before sending. */
static void test_not_null_refused_client_side(void **state)
{
    item_new n;
    item row;
    dbont_result *res;
    dbont_error err;
    long long before = count_items();
    char *seq_before = server_text(conn, "SELECT last_value::text FROM rt.item_id_seq");
    (void)state;
    fill_new(&n, NULL);
    expect_error(dbont_table_insert(conn, &item_table, &n, &res, &err), &err, "23502");
    expect_message_has(&err, "item.t");
    fill_new(&n, "ok text");
    n.j = NULL;
    expect_error(dbont_table_insert(conn, &item_table, &n, NULL, &err), &err, "23502");
    expect_message_has(&err, "item.j");
    fill_new(&n, "ok text");
    n.num = NULL;
    expect_error(dbont_table_insert(conn, &item_table, &n, NULL, &err), &err, "23502");
    expect_message_has(&err, "item.num");
    /* A defaulted NOT NULL column set to NULL: refused as well. */
    fill_new(&n, "ok text");
    n.status_set = true;
    n.status = NULL;
    expect_error(dbont_table_insert(conn, &item_table, &n, NULL, &err), &err, "23502");
    expect_message_has(&err, "item.Status");
    /* Nothing reached the server: no row, no sequence value used. */
    assert_int_equal(count_items(), before);
    expect_server_text(conn, "SELECT last_value::text FROM rt.item_id_seq", seq_before);
    free(seq_before);

    memset(&row, 0, sizeof row);
    row.id = 1;
    expect_error(dbont_table_update(conn, &item_table, &row, &err), &err, "23502");
}

static void test_null_arguments(void **state)
{
    item key;
    dbont_result *res;
    dbont_error err;
    (void)state;
    memset(&key, 0, sizeof key);
    expect_error(dbont_table_get(NULL, &item_table, &key, &res, &err), &err, "22023");
    expect_error(dbont_table_get(conn, NULL, &key, &res, &err), &err, "22023");
    expect_error(dbont_table_get(conn, &item_table, NULL, &res, &err), &err, "22023");
    expect_error(dbont_table_insert(conn, &item_table, NULL, &res, &err), &err, "22023");
    expect_error(dbont_table_update(conn, &item_table, NULL, &err), &err, "22023");
    expect_error(dbont_table_remove(NULL, &item_table, &key, &err), &err, "22023");
    expect_error(dbont_table_list(conn, NULL, 1, 0, &res, &err), &err, "22023");
    expect_error(dbont_exec(NULL, "SELECT 1", &err), &err, "22023");
    /* err may be NULL. */
    assert_int_equal(dbont_table_get(NULL, &item_table, &key, &res, NULL), DBONT_ERROR);
    /* A table without a primary key has no get. */
    expect_error(dbont_table_get(conn, &num_table, &key, &res, &err), &err, "22023");
}

/* The column's type changed behind the descriptor's back. */
static void test_type_mismatch(void **state)
{
    dbont_conn *other;
    item key;
    dbont_result *res;
    dbont_error err;
    (void)state;
    memset(&key, 0, sizeof key);
    key.id = insert_item("mismatch");
    exec_ok(conn, "ALTER TABLE rt.item ALTER COLUMN i4_n TYPE bigint");

    other = connect_or_fail();
    res = (dbont_result *)&key;
    expect_error(dbont_table_get(other, &item_table, &key, &res, &err), &err, "42804");
    assert_null(res);
    expect_message_has(&err, "item.i4_n");
    expect_message_has(&err, "bigint in the database but integer in the generated code");
    expect_message_has(&err, "the generated code does not match the database: "
                             "run the migrations or regenerate");
    expect_error(dbont_table_list(other, &item_table, 10, 0, &res, &err), &err, "42804");
    assert_null(res);
    dbont_close(other);

    /* A connection that prepared the statement before the change (the
     * server refuses to run the old plan): prepared again, same check. */
    expect_error(dbont_table_get(conn, &item_table, &key, &res, &err), &err, "42804");
    assert_null(res);
    expect_message_has(&err, "item.i4_n");

    exec_ok(conn, "ALTER TABLE rt.item ALTER COLUMN i4_n TYPE integer");
    assert_int_equal(dbont_table_get(conn, &item_table, &key, &res, &err), DBONT_OK);
    dbont_result_free(res);
}

/*
 * A compatible migration (a longer varchar) while statements are prepared:
 * the server refuses the old plans (0A000), the runtime prepares them
 * again and the call succeeds.
 */
static void test_compatible_migration(void **state)
{
    item key;
    dbont_result *res;
    dbont_error err;
    (void)state;
    memset(&key, 0, sizeof key);
    key.id = insert_item("widened");
    assert_int_equal(dbont_table_get(conn, &item_table, &key, &res, &err), DBONT_OK);
    dbont_result_free(res);
    exec_ok(conn, "ALTER TABLE rt.item ALTER COLUMN vc TYPE varchar(80)");
    if (dbont_table_get(conn, &item_table, &key, &res, &err) != DBONT_OK)
        fail_msg("get after ALTER: %s %s", err.sqlstate, err.message);
    assert_string_equal(((const item *)dbont_result_rows(res))->vc, "varchar");
    dbont_result_free(res);
    /* Inside a transaction block the retry is impossible: reported. */
    exec_ok(conn, "ALTER TABLE rt.item ALTER COLUMN vc TYPE varchar(40)");
    assert_int_equal(dbont_begin(conn, &err), DBONT_OK);
    expect_error(dbont_table_get(conn, &item_table, &key, &res, &err), &err, "0A000");
    assert_int_equal(dbont_rollback(conn, &err), DBONT_OK);
    assert_int_equal(dbont_table_get(conn, &item_table, &key, &res, &err), DBONT_OK);
    dbont_result_free(res);
}

/* A NULL where the descriptor says NOT NULL. */
static void test_null_in_not_null_field(void **state)
{
    item key;
    dbont_result *res;
    dbont_error err;
    char sql[128];
    (void)state;
    memset(&key, 0, sizeof key);
    key.id = insert_item("null sneaks in");
    exec_ok(conn, "ALTER TABLE rt.item ALTER COLUMN i2 DROP NOT NULL");
    snprintf(sql, sizeof sql, "UPDATE rt.item SET i2 = NULL WHERE id = %d", (int)key.id);
    exec_ok(conn, sql);
    expect_error(dbont_table_get(conn, &item_table, &key, &res, &err), &err, "42804");
    assert_null(res);
    expect_message_has(&err, "item.i2 is NULL");
    snprintf(sql, sizeof sql, "UPDATE rt.item SET i2 = 0 WHERE id = %d", (int)key.id);
    exec_ok(conn, sql);
    exec_ok(conn, "ALTER TABLE rt.item ALTER COLUMN i2 SET NOT NULL");
}

/* A timestamp PostgreSQL holds but 64-bit microseconds since 1970 cannot. */
static void test_timestamp_out_of_range(void **state)
{
    item key;
    item_new n;
    dbont_result *res;
    dbont_error err;
    char sql[128];
    (void)state;
    memset(&key, 0, sizeof key);
    key.id = insert_item("far future");
    snprintf(sql, sizeof sql,
             "UPDATE rt.item SET ts = '294270-01-01' WHERE id = %d", (int)key.id);
    exec_ok(conn, sql);
    expect_error(dbont_table_get(conn, &item_table, &key, &res, &err), &err, "22008");
    assert_null(res);
    expect_message_has(&err, "item.ts");
    snprintf(sql, sizeof sql, "DELETE FROM rt.item WHERE id = %d", (int)key.id);
    exec_ok(conn, sql);

    /* The other way: a date that would wrap below PostgreSQL's epoch. */
    fill_new(&n, "wrap");
    n.d = INT32_MIN + 5;
    expect_error(dbont_table_insert(conn, &item_table, &n, NULL, &err), &err, "22008");
    expect_message_has(&err, "item.d");
}

/* Our numeric text equals the server's own text for each value. */
static void test_numeric_matches_server(void **state)
{
    static const char *const corpus[] = {
        "0", "0.00", "-0.5", "123456789012345678901234567890.123", "0.0001",
        "1e30", "NaN", "Infinity", "-Infinity", "-0.000", "10000",
        "99990000.00001", "-1.5e-20", "1.000000000000000000001", "9999.9999",
        "0.1", "100000000", "-12345678.87654321", "1e-7", "12.3400",
    };
    enum { N = sizeof corpus / sizeof corpus[0] };
    num_new n;
    dbont_result *res;
    dbont_error err;
    const num_row *rows;
    PGresult *text;
    size_t i;
    (void)state;
    exec_ok(conn, "DELETE FROM rt.num");
    for (i = 0; i < N; i++) {
        memset(&n, 0, sizeof n);
        n.v = corpus[i];
        if (dbont_table_insert(conn, &num_table, &n, NULL, &err) != DBONT_OK)
            fail_msg("insert %s: %s %s", corpus[i], err.sqlstate, err.message);
    }
    memset(&n, 0, sizeof n);
    n.v_is_null = true;
    assert_int_equal(dbont_table_insert(conn, &num_table, &n, NULL, &err), DBONT_OK);

    assert_int_equal(dbont_table_list(conn, &num_table, 1000, 0, &res, &err), DBONT_OK);
    assert_int_equal(dbont_result_count(res), N + 1);
    rows = dbont_result_rows(res);
    text = PQexec(dbont_conn_pg(conn), "SELECT v::text FROM rt.num ORDER BY id");
    assert_int_equal(PQntuples(text), N + 1);
    for (i = 0; i < N; i++) {
        if (strcmp(rows[i].v, PQgetvalue(text, (int)i, 0)) != 0)
            fail_msg("%s: decoded \"%s\", server prints \"%s\"", corpus[i], rows[i].v,
                     PQgetvalue(text, (int)i, 0));
    }
    assert_true(rows[N].v_is_null);
    assert_null(rows[N].v);
    PQclear(text);
    dbont_result_free(res);
}

/* ---- statements ----------------------------------------------------- */

/* The server forgets our statements: they are prepared again. */
static void test_deallocate_then_retry(void **state)
{
    item key;
    item_new n;
    dbont_result *res;
    dbont_error err;
    (void)state;
    memset(&key, 0, sizeof key);
    key.id = insert_item("dealloc");
    exec_ok(conn, "DEALLOCATE ALL");
    assert_int_equal(dbont_table_get(conn, &item_table, &key, &res, &err), DBONT_OK);
    assert_int_equal(((const item *)dbont_result_rows(res))->id, key.id);
    dbont_result_free(res);
    /* An insert variant, whose SQL is composed again for the retry. */
    fill_new(&n, "dealloc 2");
    assert_int_equal(dbont_table_insert(conn, &item_table, &n, &res, &err), DBONT_OK);
    assert_string_equal(((const item *)dbont_result_rows(res))->t, "dealloc 2");
    dbont_result_free(res);

    /* Inside a transaction the failed call has aborted it: no retry, the
     * error is reported; after the rollback it works again. */
    assert_int_equal(dbont_begin(conn, &err), DBONT_OK);
    exec_ok(conn, "DEALLOCATE ALL");
    expect_error(dbont_table_get(conn, &item_table, &key, &res, &err), &err, "26000");
    assert_null(res);
    assert_int_equal(dbont_rollback(conn, &err), DBONT_OK);
    /* Every statement is prepared again, the insert as well. */
    assert_int_equal(dbont_table_get(conn, &item_table, &key, &res, &err), DBONT_OK);
    dbont_result_free(res);
    assert_int_equal(dbont_begin(conn, &err), DBONT_OK);
    fill_new(&n, "dealloc 3");
    assert_int_equal(dbont_table_insert(conn, &item_table, &n, NULL, &err), DBONT_OK);
    assert_int_equal(dbont_table_list(conn, &item_table, 1, 0, &res, &err), DBONT_OK);
    dbont_result_free(res);
    assert_int_equal(dbont_commit(conn, &err), DBONT_OK);

    /* Only one statement forgotten: the registry is read back from the
     * server, so the others are still known as prepared, even inside a
     * transaction block where preparing them twice would abort it. */
    exec_ok(conn, "DEALLOCATE dbont_00000000000a0001");
    assert_int_equal(dbont_table_get(conn, &item_table, &key, &res, &err), DBONT_OK);
    dbont_result_free(res);
    assert_int_equal(dbont_begin(conn, &err), DBONT_OK);
    assert_int_equal(dbont_table_list(conn, &item_table, 1, 0, &res, &err), DBONT_OK);
    assert_int_equal(dbont_result_count(res), 1);
    dbont_result_free(res);
    fill_new(&n, "dealloc 4");
    assert_int_equal(dbont_table_insert(conn, &item_table, &n, NULL, &err), DBONT_OK);
    assert_int_equal(dbont_commit(conn, &err), DBONT_OK);
    /* Each prepared once: get, list, and insert variant 0 without
     * RETURNING (the insert id with its top bit set). */
    expect_server_text(conn, "SELECT string_agg(name, ',' ORDER BY name) "
                             "FROM pg_prepared_statements",
                       "dbont_00000000000a0001,dbont_00000000000a0003,dbont_80000000000a0000_0");
}

/* A statement already prepared under our name (by SQL PREPARE here) is
 * taken as ours: names are derived from the statement's text. */
static void test_already_prepared_by_name(void **state)
{
    static const Oid one_int[] = {23};
    static const dbont_stmt add = {UINT64_C(0xadd), "dbont_0000000000000add",
                                   "SELECT $1::int4 + 1", 1, one_int};
    dbont_conn *fresh = connect_or_fail();
    const char *values[1] = {"1"};
    PGresult *res = NULL;
    dbont_error err;
    (void)state;
    exec_ok(fresh, "PREPARE dbont_0000000000000add(int4) AS SELECT $1::int4 + 1");
    assert_int_equal(dbont_stmt_exec(fresh, &add, values, NULL, NULL, 0, &res, &err), DBONT_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "2");
    PQclear(res);
    dbont_close(fresh);
}

/*
 * A statement first prepared inside a transaction that is rolled back
 * stays prepared (preparation is not transactional), so the registry may
 * keep it.  A fresh connection makes sure the preparation happens inside.
 */
static void test_prepare_inside_rolled_back_transaction(void **state)
{
    dbont_conn *fresh = connect_or_fail();
    item key;
    item_new n;
    dbont_result *res;
    dbont_error err;
    (void)state;
    assert_int_equal(dbont_begin(fresh, &err), DBONT_OK);
    fill_new(&n, "rolled back");
    assert_int_equal(dbont_table_insert(fresh, &item_table, &n, &res, &err), DBONT_OK);
    memset(&key, 0, sizeof key);
    key.id = ((const item *)dbont_result_rows(res))->id;
    dbont_result_free(res);
    assert_int_equal(dbont_table_get(fresh, &item_table, &key, &res, &err), DBONT_OK);
    dbont_result_free(res);
    assert_int_equal(dbont_rollback(fresh, &err), DBONT_OK);
    /* Same statements again, outside: no error, and the row is gone. */
    assert_int_equal(dbont_table_get(fresh, &item_table, &key, &res, &err), DBONT_NOT_FOUND);
    assert_int_equal(dbont_table_insert(fresh, &item_table, &n, &res, &err), DBONT_OK);
    assert_string_equal(((const item *)dbont_result_rows(res))->t, "rolled back");
    dbont_result_free(res);
    dbont_close(fresh);
}

static void test_stmt_exec_direct(void **state)
{
    static const Oid one_int[] = {23};
    static const dbont_stmt bad = {UINT64_C(0xbad), "dbont_0000000000000bad", "SELEC 1", 0, NULL};
    static const dbont_stmt add = {UINT64_C(0xadd), "dbont_0000000000000add",
                                   "SELECT $1::int4 + 1", 1, one_int};
    const char *values[1] = {"41"};
    PGresult *res = NULL;
    dbont_error err;
    (void)state;
    expect_error(dbont_stmt_exec(conn, &bad, NULL, NULL, NULL, 0, &res, &err), &err, "42601");
    assert_null(res);
    expect_message_has(&err, "syntax error");
    /* Not registered after the failure: the same error, not 26000. */
    expect_error(dbont_stmt_exec(conn, &bad, NULL, NULL, NULL, 0, &res, &err), &err, "42601");

    assert_int_equal(dbont_stmt_exec(conn, &add, values, NULL, NULL, 0, &res, &err), DBONT_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "42");
    PQclear(res);
    values[0] = "x";
    expect_error(dbont_stmt_exec(conn, &add, values, NULL, NULL, 0, &res, &err), &err, "22P02");
    assert_null(res);
}

/* A query's own row struct, decoded with dbont_result_decode. */
typedef struct stats_row {
    int64_t n;
    const char *longest;
    bool longest_is_null;
    const char *total;
} stats_row;

static void test_query_rows(void **state)
{
    static const dbont_column stats_columns[] = {
        {"n", "n", DBONT_BIGINT, true, offsetof(stats_row, n), DBONT_NO_FIELD,
         0, DBONT_NO_FIELD, DBONT_NO_FIELD},
        {"longest", "longest", DBONT_TEXT, false, offsetof(stats_row, longest),
         offsetof(stats_row, longest_is_null), 0, DBONT_NO_FIELD, DBONT_NO_FIELD},
        {"total", "total", DBONT_NUMERIC, true, offsetof(stats_row, total), DBONT_NO_FIELD,
         0, DBONT_NO_FIELD, DBONT_NO_FIELD},
    };
    static const Oid text_param[] = {25};
    static const dbont_stmt stats = {
        UINT64_C(0x5747), "dbont_0000000000005747",
        "SELECT count(*), max(t), coalesce(sum(num), 0) FROM rt.item WHERE t LIKE $1 "
        "GROUP BY left(t, 1) ORDER BY 1", 1, text_param};
    const char *values[1] = {"page %"};
    PGresult *pg;
    dbont_result *res;
    dbont_error err;
    const stats_row *row;
    (void)state;
    assert_int_equal(dbont_stmt_exec(conn, &stats, values, NULL, NULL, 1, &pg, &err), DBONT_OK);
    assert_int_equal(dbont_result_decode(pg, "stats", stats_columns, 3, sizeof(stats_row),
                                         &res, &err), DBONT_OK);
    assert_int_equal(dbont_result_count(res), 1);
    row = dbont_result_rows(res);
    assert_true(row->n == 7);
    assert_false(row->longest_is_null);
    assert_string_equal(row->longest, "page 6");
    assert_string_equal(row->total, "86419.746");      /* 7 * 12345.678 */
    dbont_result_free(res);

    /* Wrong column count: 42804, and the PGresult is freed (valgrind). */
    assert_int_equal(dbont_stmt_exec(conn, &stats, values, NULL, NULL, 1, &pg, &err), DBONT_OK);
    expect_error(dbont_result_decode(pg, "stats", stats_columns, 2, sizeof(stats_row),
                                     &res, &err), &err, "42804");
    assert_null(res);
    expect_message_has(&err, "stats: the result has 3 columns but the generated code expects 2");
}

/* ---- plain SQL, transactions, connections --------------------------- */

static void test_exec(void **state)
{
    dbont_error err;
    (void)state;
    exec_ok(conn, "CREATE TEMP TABLE scratch (x int); INSERT INTO scratch VALUES (1), (2);"
                  "SELECT * FROM scratch");
    expect_server_text(conn, "SELECT sum(x)::text FROM scratch", "3");
    /* The error of the failing statement; the ones after it never run. */
    expect_error(dbont_exec(conn, "SELECT 1; SELECT 1/0; INSERT INTO scratch VALUES (5)", &err),
                 &err, "22012");
    expect_message_has(&err, "division by zero");
    expect_server_text(conn, "SELECT sum(x)::text FROM scratch", "3");
    /* COPY is refused and leaves the connection usable. */
    assert_int_equal(dbont_exec(conn, "COPY scratch TO STDOUT", &err), DBONT_ERROR);
    assert_int_equal(dbont_exec(conn, "COPY scratch FROM STDIN", &err), DBONT_ERROR);
    expect_server_text(conn, "SELECT sum(x)::text FROM scratch", "3");
    exec_ok(conn, "DROP TABLE scratch");
}

/* COMMIT of a failed transaction rolls back: that is an error. */
static void test_commit_of_failed_transaction(void **state)
{
    dbont_error err;
    long long before = count_items();
    (void)state;
    assert_int_equal(dbont_begin(conn, &err), DBONT_OK);
    insert_item("lost");
    expect_error(dbont_exec(conn, "SELECT 1/0", &err), &err, "22012");
    expect_error(dbont_commit(conn, &err), &err, "40000");
    assert_int_equal(count_items(), before);
    assert_int_equal(dbont_begin(conn, &err), DBONT_OK);
    insert_item("kept");
    assert_int_equal(dbont_commit(conn, &err), DBONT_OK);
    assert_int_equal(count_items(), before + 1);
}

static void test_server_message_parts(void **state)
{
    dbont_error err;
    size_t len;
    (void)state;
    expect_error(dbont_exec(conn,
                            "DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'the detail',"
                            " HINT = 'the hint', ERRCODE = 'P0002'; END $$",
                            &err),
                 &err, "P0002");
    assert_string_equal(err.message, "boom\nDETAIL: the detail\nHINT: the hint");
    assert_false(err.truncated);
    /* Too long for the buffer: cut, marked, never silent. */
    expect_error(dbont_exec(conn, "DO $$ BEGIN RAISE EXCEPTION '%', repeat('x', 3000); END $$",
                            &err),
                 &err, "P0001");
    assert_true(err.truncated);
    len = strlen(err.message);
    assert_true(len < DBONT_ERROR_MESSAGE_MAX);
    assert_string_equal(err.message + len - 3, "...");
}

static void test_connect_failure(void **state)
{
    dbont_error err;
    dbont_conn *c;
    size_t len;
    (void)state;
    c = dbont_connect("host=/nonexistent-dbont-dir port=1 connect_timeout=2", &err);
    assert_null(c);
    assert_string_equal(err.sqlstate, "08001");
    len = strlen(err.message);
    assert_true(len > 0);
    assert_true(err.message[len - 1] != '\n');
    expect_message_has(&err, "nonexistent-dbont-dir");
    dbont_close(NULL);
}

/* The server ends our session: the error says the connection is gone. */
static void test_connection_lost(void **state)
{
    dbont_conn *victim = connect_or_fail();
    item key;
    dbont_result *res;
    dbont_error err;
    char sql[96];
    (void)state;
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)",
             PQbackendPID(dbont_conn_pg(victim)));
    exec_ok(conn, sql);
    /* The first call may still read the server's goodbye (57P01). */
    memset(&key, 0, sizeof key);
    key.id = 1;
    assert_int_equal(dbont_table_get(victim, &item_table, &key, &res, &err), DBONT_ERROR);
    assert_null(res);
    assert_int_equal(dbont_table_get(victim, &item_table, &key, &res, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "08006");
    expect_error(dbont_exec(victim, "SELECT 1", &err), &err, "08006");
    dbont_close(victim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_defaults_apply),
        cmocka_unit_test(test_insert_defaults_set),
        cmocka_unit_test(test_insert_without_out),
        cmocka_unit_test(test_values_seen_by_server),
        cmocka_unit_test(test_dates_and_scale),
        cmocka_unit_test(test_get_and_not_found),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_list_paging),
        cmocka_unit_test(test_query_rows),
        cmocka_unit_test(test_unique_violation),
        cmocka_unit_test(test_not_null_refused_client_side),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_type_mismatch),
        cmocka_unit_test(test_compatible_migration),
        cmocka_unit_test(test_null_in_not_null_field),
        cmocka_unit_test(test_timestamp_out_of_range),
        cmocka_unit_test(test_numeric_matches_server),
        cmocka_unit_test(test_deallocate_then_retry),
        cmocka_unit_test(test_already_prepared_by_name),
        cmocka_unit_test(test_prepare_inside_rolled_back_transaction),
        cmocka_unit_test(test_stmt_exec_direct),
        cmocka_unit_test(test_exec),
        cmocka_unit_test(test_commit_of_failed_transaction),
        cmocka_unit_test(test_server_message_parts),
        cmocka_unit_test(test_connect_failure),
        cmocka_unit_test(test_connection_lost),
    };
    return cmocka_run_group_tests_name("integration_runtime", tests, setup, teardown);
}
