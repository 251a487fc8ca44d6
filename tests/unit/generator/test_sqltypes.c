/*
 * test_sqltypes.c: sqltypes.c: every accepted spelling of the column
 * types, the rejections with their reasons, the SQL spellings and the
 * per-type information (OIDs, runtime constants, C types).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sqltypes.h"

#define ALLOWED                                                                                  \
    "smallint, integer (int), bigint, serial, bigserial, boolean, real, double precision, "      \
    "numeric, numeric(p), numeric(p,s), text, varchar(n), uuid, date, timestamp, timestamptz, " \
    "jsonb, bytea"

static sqltype parse_ok(const char *text)
{
    sqltype t;
    char why[512] = "";
    memset(&t, 0x55, sizeof t);
    if (!sqltype_parse(text, &t, why, sizeof why))
        fail_msg("'%s' rejected: %s", text, why);
    return t;
}

static void expect_kind(const char *text, sqltype_kind kind, const char *sql)
{
    sqltype t = parse_ok(text);
    assert_int_equal(t.kind, kind);
    char *s = sqltype_sql(&t);
    assert_string_equal(s, sql);
    free(s);
}

static void test_simple_spellings(void **state)
{
    (void)state;
    expect_kind("smallint", ST_SMALLINT, "smallint");
    expect_kind("integer", ST_INTEGER, "integer");
    expect_kind("int", ST_INTEGER, "integer");
    expect_kind("bigint", ST_BIGINT, "bigint");
    expect_kind("serial", ST_SERIAL, "serial");
    expect_kind("bigserial", ST_BIGSERIAL, "bigserial");
    expect_kind("boolean", ST_BOOLEAN, "boolean");
    expect_kind("real", ST_REAL, "real");
    expect_kind("double precision", ST_DOUBLE, "double precision");
    expect_kind("numeric", ST_NUMERIC, "numeric");
    expect_kind("text", ST_TEXT, "text");
    expect_kind("uuid", ST_UUID, "uuid");
    expect_kind("date", ST_DATE, "date");
    expect_kind("timestamp", ST_TIMESTAMP, "timestamp");
    expect_kind("timestamptz", ST_TIMESTAMPTZ, "timestamptz");
    expect_kind("jsonb", ST_JSONB, "jsonb");
    expect_kind("bytea", ST_BYTEA, "bytea");

    sqltype t = parse_ok("text");
    assert_int_equal(t.precision, -1);
    assert_int_equal(t.scale, -1);
    assert_int_equal(t.length, -1);
}

static void test_case_and_spaces(void **state)
{
    (void)state;
    expect_kind("INT", ST_INTEGER, "integer");
    expect_kind("  Integer  ", ST_INTEGER, "integer");
    expect_kind("TEXT", ST_TEXT, "text");
    expect_kind("BigSerial", ST_BIGSERIAL, "bigserial");
    expect_kind("TimestampTZ", ST_TIMESTAMPTZ, "timestamptz");
    expect_kind("double   precision", ST_DOUBLE, "double precision");
    expect_kind("DOUBLE\tPRECISION", ST_DOUBLE, "double precision");
    expect_kind(" Double \n Precision ", ST_DOUBLE, "double precision");
    expect_kind("numeric ( 10 , 2 )", ST_NUMERIC, "numeric(10,2)");
    expect_kind("NUMERIC(10,2)", ST_NUMERIC, "numeric(10,2)");
    expect_kind("VarChar( 32 )", ST_VARCHAR, "varchar(32)");
}

static void test_parameters(void **state)
{
    (void)state;
    sqltype t = parse_ok("numeric(10,2)");
    assert_int_equal(t.kind, ST_NUMERIC);
    assert_int_equal(t.precision, 10);
    assert_int_equal(t.scale, 2);

    t = parse_ok("numeric(7)");
    assert_int_equal(t.precision, 7);
    assert_int_equal(t.scale, -1);
    char *s = sqltype_sql(&t);
    assert_string_equal(s, "numeric(7)");
    free(s);

    t = parse_ok("numeric(5,0)");
    assert_int_equal(t.scale, 0);
    s = sqltype_sql(&t);
    assert_string_equal(s, "numeric(5,0)");
    free(s);

    t = parse_ok("numeric(1000,1000)");
    assert_int_equal(t.precision, 1000);
    assert_int_equal(t.scale, 1000);
    t = parse_ok("numeric(1)");
    assert_int_equal(t.precision, 1);

    t = parse_ok("numeric");
    assert_int_equal(t.precision, -1);
    assert_int_equal(t.scale, -1);

    t = parse_ok("varchar(255)");
    assert_int_equal(t.kind, ST_VARCHAR);
    assert_int_equal(t.length, 255);
    t = parse_ok("varchar(1)");
    assert_int_equal(t.length, 1);
    t = parse_ok("varchar(10485760)");
    assert_int_equal(t.length, 10485760);
    s = sqltype_sql(&t);
    assert_string_equal(s, "varchar(10485760)");
    free(s);
}

static void expect_reject(const char *text, const char *why_expected)
{
    sqltype t;
    char why[1024] = "";
    assert_false(sqltype_parse(text, &t, why, sizeof why));
    assert_string_equal(why, why_expected);
}

static void test_rejections(void **state)
{
    (void)state;
    expect_reject("string", "unknown type 'string'; allowed types: " ALLOWED);
    expect_reject("", "unknown type ''; allowed types: " ALLOWED);
    expect_reject("double", "unknown type 'double'; allowed types: " ALLOWED);
    expect_reject("int4", "unknown type 'int4'; allowed types: " ALLOWED);
    expect_reject("timestamp with time zone",
                  "unknown type 'timestamp with time zone'; allowed types: " ALLOWED);
    expect_reject("Text[]", "unknown type 'Text[]'; allowed types: " ALLOWED);
    expect_reject("int(4)", "unknown type 'int(4)'; allowed types: " ALLOWED);

    expect_reject("varchar", "type 'varchar' needs a length, varchar(n); use 'text' for unlimited text");
    expect_reject(" VARCHAR ", "type 'varchar' needs a length, varchar(n); use 'text' for unlimited text");
    expect_reject("varchar(0)", "invalid type 'varchar(0)': varchar(n) needs 1 <= n <= 10485760");
    expect_reject("varchar(10485761)",
                  "invalid type 'varchar(10485761)': varchar(n) needs 1 <= n <= 10485760");
    expect_reject("varchar(10,2)", "invalid type 'varchar(10,2)': varchar(n) needs 1 <= n <= 10485760");
    expect_reject("varchar()", "invalid type 'varchar()': varchar(n) needs 1 <= n <= 10485760");
    expect_reject("varchar(x)", "invalid type 'varchar(x)': varchar(n) needs 1 <= n <= 10485760");
    expect_reject("varchar(99999999999)",
                  "invalid type 'varchar(99999999999)': varchar(n) needs 1 <= n <= 10485760");

    expect_reject("numeric(4,6)", "invalid type 'numeric(4,6)': numeric(p,s) needs 1 <= p <= 1000 and 0 <= s <= p");
    expect_reject("numeric(0)", "invalid type 'numeric(0)': numeric(p,s) needs 1 <= p <= 1000 and 0 <= s <= p");
    expect_reject("numeric(1001)", "invalid type 'numeric(1001)': numeric(p,s) needs 1 <= p <= 1000 and 0 <= s <= p");
    expect_reject("numeric(-1)", "invalid type 'numeric(-1)': numeric(p,s) needs 1 <= p <= 1000 and 0 <= s <= p");
    expect_reject("numeric(10,)", "invalid type 'numeric(10,)': numeric(p,s) needs 1 <= p <= 1000 and 0 <= s <= p");
    expect_reject("numeric(10", "invalid type 'numeric(10': numeric(p,s) needs 1 <= p <= 1000 and 0 <= s <= p");
    expect_reject("numeric(10,2,1)",
                  "invalid type 'numeric(10,2,1)': numeric(p,s) needs 1 <= p <= 1000 and 0 <= s <= p");
    expect_reject("numeric(10) x", "invalid type 'numeric(10) x': numeric(p,s) needs 1 <= p <= 1000 and 0 <= s <= p");

    /* the reason is cut to the buffer, never overflowing it */
    sqltype t;
    char small[8];
    assert_false(sqltype_parse("nope", &t, small, sizeof small));
    assert_string_equal(small, "unknown");
}

static void test_value_sql(void **state)
{
    (void)state;
    static const struct {
        const char *text, *sql, *value_sql;
    } cases[] = {
        {"serial", "serial", "integer"},
        {"bigserial", "bigserial", "bigint"},
        {"int", "integer", "integer"},
        {"smallint", "smallint", "smallint"},
        {"varchar(20)", "varchar(20)", "varchar(20)"},
        {"numeric(30,4)", "numeric(30,4)", "numeric(30,4)"},
        {"numeric", "numeric", "numeric"},
        {"double precision", "double precision", "double precision"},
        {"uuid", "uuid", "uuid"},
        {"timestamptz", "timestamptz", "timestamptz"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sqltype t = parse_ok(cases[i].text);
        char *sql = sqltype_sql(&t), *value = sqltype_value_sql(&t);
        assert_string_equal(sql, cases[i].sql);
        assert_string_equal(value, cases[i].value_sql);
        free(sql);
        free(value);
    }
}

static void test_info(void **state)
{
    (void)state;
    static const struct {
        sqltype_kind kind;
        const char *name, *runtime, *c_type;
        unsigned oid;
        const char *value_sql;
    } want[] = {
        {ST_SMALLINT, "smallint", "DBONT_SMALLINT", "int16_t", 21, "smallint"},
        {ST_INTEGER, "integer", "DBONT_INTEGER", "int32_t", 23, "integer"},
        {ST_BIGINT, "bigint", "DBONT_BIGINT", "int64_t", 20, "bigint"},
        {ST_SERIAL, "serial", "DBONT_INTEGER", "int32_t", 23, "integer"},
        {ST_BIGSERIAL, "bigserial", "DBONT_BIGINT", "int64_t", 20, "bigint"},
        {ST_BOOLEAN, "boolean", "DBONT_BOOLEAN", "bool", 16, "boolean"},
        {ST_REAL, "real", "DBONT_REAL", "float", 700, "real"},
        {ST_DOUBLE, "double precision", "DBONT_DOUBLE", "double", 701, "double precision"},
        {ST_NUMERIC, "numeric", "DBONT_NUMERIC", "const char *", 1700, "numeric"},
        {ST_TEXT, "text", "DBONT_TEXT", "const char *", 25, "text"},
        {ST_VARCHAR, "varchar", "DBONT_VARCHAR", "const char *", 1043, "varchar"},
        {ST_UUID, "uuid", "DBONT_UUID", "dbont_uuid", 2950, "uuid"},
        {ST_DATE, "date", "DBONT_DATE", "dbont_date", 1082, "date"},
        {ST_TIMESTAMP, "timestamp", "DBONT_TIMESTAMP", "dbont_timestamp", 1114, "timestamp"},
        {ST_TIMESTAMPTZ, "timestamptz", "DBONT_TIMESTAMPTZ", "dbont_timestamp", 1184, "timestamptz"},
        {ST_JSONB, "jsonb", "DBONT_JSONB", "const char *", 3802, "jsonb"},
        {ST_BYTEA, "bytea", "DBONT_BYTEA", "dbont_bytes", 17, "bytea"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const sqltype_info *in = sqltype_info_of(want[i].kind);
        assert_non_null(in);
        assert_int_equal(in->kind, want[i].kind);
        assert_string_equal(in->name, want[i].name);
        assert_string_equal(in->runtime, want[i].runtime);
        assert_string_equal(in->c_type, want[i].c_type);
        assert_int_equal(in->oid, want[i].oid);
        assert_string_equal(in->value_sql, want[i].value_sql);
    }
    assert_string_equal(sqltype_allowed(), ALLOWED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_spellings),
        cmocka_unit_test(test_case_and_spaces),
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_value_sql),
        cmocka_unit_test(test_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
