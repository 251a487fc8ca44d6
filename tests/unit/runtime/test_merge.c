/*
 * Unit tests: merging the shards' rows of a fan-out (runtime/src/merge.c,
 * with merge_value.c and decimal.c): the k-way merge in every order the
 * types have, limit and offset after it, and COUNT/SUM/MIN/MAX combined
 * over group keys.  The shards' results are built client-side
 * (PQmakeEmptyPGresult, PQsetResultAttrs, PQsetvalue) in binary format,
 * the way a server would send them; the merged rows are read back
 * through the query's row struct, as generated code reads them.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "decimal.h"
#include "merge.h"

#define INT4OID 23
#define INT8OID 20
#define FLOAT4OID 700
#define FLOAT8OID 701
#define TEXTOID 25
#define UUIDOID 2950
#define NUMERICOID 1700
#define TIMESTAMPTZOID 1184
#define JSONBOID 3802

/* ---- values in binary format ------------------------------------------- */

typedef struct field {
    const char *v;  /* NULL: SQL NULL */
    int len;
} field;

#define NUL_ {NULL, -1}

/* The bytes of the test's values; reset by each test's teardown. */
static char pool[1 << 16];
static size_t pool_used;

static field put(const void *bytes, size_t n)
{
    field f;
    assert_true(pool_used + n + 1 <= sizeof pool);
    memcpy(pool + pool_used, bytes, n);
    pool[pool_used + n] = '\0';
    f.v = pool + pool_used;
    f.len = (int)n;
    pool_used += n + 1;
    return f;
}

static field be(uint64_t v, size_t n)
{
    unsigned char b[8];
    size_t i;
    for (i = n; i-- > 0;) {
        b[i] = (unsigned char)(v & 0xFF);
        v >>= 8;
    }
    return put(b, n);
}

static field i4(int32_t v)
{
    return be((uint64_t)(uint32_t)v, 4);
}

static field i8(int64_t v)
{
    return be((uint64_t)v, 8);
}

static field f8(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return be(bits, 8);
}

static field f4(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return be(bits, 4);
}

static field txt(const char *s)
{
    return put(s, strlen(s));
}

static field num(const char *text)
{
    uint8_t bin[512];
    size_t len;
    assert_int_equal(dbont_numeric_from_text(text, bin, sizeof bin, &len), DBONT_CODEC_OK);
    return put(bin, len);
}

/* A uuid whose 16 bytes are all b, except the last one, last. */
static field uuid(unsigned char b, unsigned char last)
{
    unsigned char u[16];
    memset(u, b, sizeof u);
    u[15] = last;
    return put(u, sizeof u);
}

/* ---- results ------------------------------------------------------------- */

static PGresult *make(int ncols, const Oid *types, int nrows, const field *cells)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[8];
    char names[8][16];
    int r, c;

    assert_non_null(res);
    assert_true(ncols <= 8);
    for (c = 0; c < ncols; c++) {
        snprintf(names[c], sizeof names[c], "c%d", c);
        attrs[c].name = names[c];
        attrs[c].tableid = 0;
        attrs[c].columnid = 0;
        attrs[c].format = 1;
        attrs[c].typid = types[c];
        attrs[c].typlen = -1;
        attrs[c].atttypmod = -1;
    }
    assert_true(PQsetResultAttrs(res, ncols, attrs));
    for (r = 0; r < nrows; r++)
        for (c = 0; c < ncols; c++)
            assert_true(PQsetvalue(res, r, c, (char *)cells[r * ncols + c].v,
                                   cells[r * ncols + c].len));
    return res;
}

#define MAX_PARTS 4
static PGresult *parts[MAX_PARTS];

static int teardown(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < MAX_PARTS; i++) {
        PQclear(parts[i]);
        parts[i] = NULL;
    }
    pool_used = 0;
    return 0;
}

static dbont_status merge(const dbont_query *q, const dbont_fanout_spec *spec, dbont_result **out,
                          dbont_error *err)
{
    assert_int_equal(dbont_merge_check(q, spec, err), DBONT_OK);
    return dbont_merge((const PGresult *const *)parts, MAX_PARTS, q, spec, out, err);
}

static dbont_result *merge_ok(const dbont_query *q, const dbont_fanout_spec *spec)
{
    dbont_result *res = NULL;
    dbont_error err;
    if (merge(q, spec, &res, &err) != DBONT_OK)
        fail_msg("merge failed: %s %s", err.sqlstate, err.message);
    return res;
}

static void expect_merge_error(const dbont_query *q, const dbont_fanout_spec *spec,
                               const char *sqlstate, const char *part)
{
    dbont_result *res = NULL;
    dbont_error err;
    dbont_error_clear(&err);
    assert_int_equal(merge(q, spec, &res, &err), DBONT_ERROR);
    assert_null(res);
    assert_string_equal(err.sqlstate, sqlstate);
    if (strstr(err.message, part) == NULL)
        fail_msg("message lacks \"%s\": %s", part, err.message);
}

#define COL(cname, ctype, nn, row, f, nf) \
    {cname, cname, ctype, nn, offsetof(row, f), nf, DBONT_NO_FIELD, DBONT_NO_FIELD, DBONT_NO_FIELD}

/* ---- one integer key, and the row's origin ----------------------------------- */

typedef struct int_row {
    int32_t x;
    bool x_is_null;
    int32_t id; /* shard * 100 + row: where the row came from */
} int_row;

static const dbont_column int_cols[] = {
    COL("x", DBONT_INTEGER, false, int_row, x, offsetof(int_row, x_is_null)),
    COL("id", DBONT_INTEGER, true, int_row, id, DBONT_NO_FIELD),
};
static const dbont_query int_q = {"ints", NULL, 0, NULL, NULL, 0, 2, int_cols, sizeof(int_row)};
static const Oid int_types[] = {INT4OID, INT4OID};

#define NULLX (-999)    /* marks a NULL x in expectations */

/* Shard s's rows: xs (NULLX for NULL), ids s*100 + row. */
static void int_part(int s, int n, const int32_t *xs)
{
    field cells[32];
    int r;
    assert_true(n <= 16);
    for (r = 0; r < n; r++) {
        cells[2 * r] = xs[r] == NULLX ? (field)NUL_ : i4(xs[r]);
        cells[2 * r + 1] = i4(s * 100 + r);
    }
    parts[s] = make(2, int_types, n, cells);
}

static void expect_ints(dbont_result *res, size_t n, const int32_t *xs, const int32_t *ids)
{
    int_row *rows = dbont_result_rows(res);
    size_t i;
    assert_int_equal(dbont_result_count(res), n);
    for (i = 0; i < n; i++) {
        if (xs[i] == NULLX) {
            if (!rows[i].x_is_null)
                fail_msg("row %zu: expected NULL, got %d", i, rows[i].x);
        } else if (rows[i].x_is_null || rows[i].x != xs[i]) {
            fail_msg("row %zu: expected %d, got %s%d", i, xs[i], rows[i].x_is_null ? "NULL " : "",
                     rows[i].x);
        }
        if (ids != NULL && rows[i].id != ids[i])
            fail_msg("row %zu: expected it from %d, it came from %d", i, ids[i], rows[i].id);
    }
    dbont_result_free(res);
}

static void test_ints_asc_nulls_last(void **state)
{
    static const dbont_fanout_key asc[] = {{0, false, false}};
    static const dbont_fanout_spec spec = {asc, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    (void)state;
    int_part(0, 4, (int32_t[]){1, 4, 4, NULLX});
    int_part(1, 3, (int32_t[]){2, 3, NULLX});
    int_part(2, 0, NULL);
    /* parts[3] NULL: a shard that failed, skipped */
    expect_ints(merge_ok(&int_q, &spec), 7, (int32_t[]){1, 2, 3, 4, 4, NULLX, NULLX},
                (int32_t[]){0, 100, 101, 1, 2, 3, 102});
}

static void test_ints_desc_nulls_first(void **state)
{
    static const dbont_fanout_key desc[] = {{0, true, true}};
    static const dbont_fanout_spec spec = {desc, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    (void)state;
    int_part(0, 4, (int32_t[]){NULLX, 9, 5, -1});
    int_part(1, 3, (int32_t[]){NULLX, 7, 5});
    int_part(3, 2, (int32_t[]){INT32_MAX, INT32_MIN});
    /* Equal keys keep shard order: shard 0's 5 before shard 1's. */
    expect_ints(merge_ok(&int_q, &spec), 9,
                (int32_t[]){NULLX, NULLX, INT32_MAX, 9, 7, 5, 5, -1, INT32_MIN},
                (int32_t[]){0, 100, 300, 1, 101, 2, 102, 3, 301});
}

/* ASC NULLS FIRST and DESC NULLS LAST, the non-default placements. */
static void test_ints_other_null_placements(void **state)
{
    static const dbont_fanout_key asc_first[] = {{0, false, true}};
    static const dbont_fanout_spec spec1 = {asc_first, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    static const dbont_fanout_key desc_last[] = {{0, true, false}};
    static const dbont_fanout_spec spec2 = {desc_last, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    (void)state;
    int_part(0, 3, (int32_t[]){NULLX, 1, 8});
    int_part(1, 2, (int32_t[]){NULLX, 3});
    expect_ints(merge_ok(&int_q, &spec1), 5, (int32_t[]){NULLX, NULLX, 1, 3, 8},
                (int32_t[]){0, 100, 1, 101, 2});
    teardown(NULL);
    int_part(0, 3, (int32_t[]){8, 1, NULLX});
    int_part(1, 2, (int32_t[]){3, NULLX});
    expect_ints(merge_ok(&int_q, &spec2), 5, (int32_t[]){8, 3, 1, NULLX, NULLX},
                (int32_t[]){0, 100, 1, 2, 101});
}

static void test_limit_offset(void **state)
{
    static const dbont_fanout_key asc[] = {{0, false, false}};
    static const dbont_fanout_spec lim = {asc, 1, 3, 2, NULL, 0};
    static const dbont_fanout_spec zero = {asc, 1, 0, 0, NULL, 0};
    static const dbont_fanout_spec past = {asc, 1, 5, 40, NULL, 0};
    static const dbont_fanout_spec tail = {asc, 1, DBONT_FANOUT_NO_LIMIT, 5, NULL, 0};
    static const dbont_fanout_spec concat = {NULL, 0, 4, 1, NULL, 0};
    (void)state;
    int_part(0, 4, (int32_t[]){1, 4, 4, NULLX});
    int_part(1, 3, (int32_t[]){2, 3, NULLX});
    expect_ints(merge_ok(&int_q, &lim), 3, (int32_t[]){3, 4, 4}, (int32_t[]){101, 1, 2});
    expect_ints(merge_ok(&int_q, &zero), 0, NULL, NULL);
    expect_ints(merge_ok(&int_q, &past), 0, NULL, NULL);
    expect_ints(merge_ok(&int_q, &tail), 2, (int32_t[]){NULLX, NULLX}, (int32_t[]){3, 102});
    /* No order: shard 0's rows then shard 1's. */
    expect_ints(merge_ok(&int_q, &concat), 4, (int32_t[]){4, 4, NULLX, 2},
                (int32_t[]){1, 2, 3, 100});
    expect_ints(merge_ok(&int_q, NULL), 7, (int32_t[]){1, 4, 4, NULLX, 2, 3, NULLX}, NULL);
}

/* A shard whose rows are not in the spec's order is refused, not merged. */
static void test_unsorted_shard(void **state)
{
    static const dbont_fanout_key asc[] = {{0, false, false}};
    static const dbont_fanout_spec spec = {asc, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    (void)state;
    int_part(0, 2, (int32_t[]){1, 2});
    int_part(2, 3, (int32_t[]){1, 5, 3});
    expect_merge_error(&int_q, &spec, "XX000", "shard 2's rows are not in the order");
}

/* A shard's result must have the query's types. */
static void test_wrong_shape(void **state)
{
    static const Oid wrong[] = {INT8OID, INT4OID};
    field cells[] = {{NULL, -1}, {NULL, -1}};
    (void)state;
    int_part(0, 1, (int32_t[]){1});
    cells[0] = i8(1);
    cells[1] = i4(1);
    parts[1] = make(2, wrong, 1, cells);
    expect_merge_error(&int_q, NULL, "42804", "shard 1");
}

/* ---- doubles and reals ------------------------------------------------------- */

typedef struct float_row {
    double x;
    bool x_is_null;
    int32_t id;
} float_row;

static const dbont_column float_cols[] = {
    COL("x", DBONT_DOUBLE, false, float_row, x, offsetof(float_row, x_is_null)),
    COL("id", DBONT_INTEGER, true, float_row, id, DBONT_NO_FIELD),
};
static const dbont_query float_q = {"floats", NULL, 0, NULL, NULL, 0, 2, float_cols,
                                    sizeof(float_row)};
static const Oid float_types[] = {FLOAT8OID, INT4OID};

static void float_part(int s, int n, const double *xs)
{
    field cells[32];
    int r;
    for (r = 0; r < n; r++) {
        cells[2 * r] = f8(xs[r]);
        cells[2 * r + 1] = i4(s * 100 + r);
    }
    parts[s] = make(2, float_types, n, cells);
}

/* NaN above every number (and equal to NaN), -0 equal to 0. */
static void test_floats(void **state)
{
    static const dbont_fanout_key asc[] = {{0, false, false}};
    static const dbont_fanout_spec spec = {asc, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    static const dbont_fanout_key desc[] = {{0, true, true}};
    static const dbont_fanout_spec dspec = {desc, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    static const int32_t ids[] = {0, 100, 1, 2, 101, 102, 3, 103, 4, 104};
    static const int32_t dids[] = {0, 100, 101, 1, 102, 2, 103, 3, 104, 4};
    dbont_result *res;
    float_row *rows;
    size_t i;
    (void)state;

    float_part(0, 5, (double[]){-INFINITY, -1.5, -0.0, 2, NAN});
    float_part(1, 5, (double[]){-2, 0.0, 1, INFINITY, NAN});
    res = merge_ok(&float_q, &spec);
    rows = dbont_result_rows(res);
    assert_int_equal(dbont_result_count(res), 10);
    for (i = 0; i < 10; i++)
        assert_int_equal(rows[i].id, ids[i]);
    assert_true(isinf(rows[0].x) && rows[0].x < 0);
    assert_true(rows[3].x == 0 && signbit(rows[3].x));  /* shard 0's -0, first of the tie */
    assert_true(rows[4].x == 0 && !signbit(rows[4].x));
    assert_true(isnan(rows[8].x) && isnan(rows[9].x));
    dbont_result_free(res);
    teardown(NULL);

    /* DESC: NaN first, the infinity of the sign last. */
    float_part(0, 5, (double[]){NAN, 2, -0.0, -1.5, -INFINITY});
    float_part(1, 5, (double[]){NAN, INFINITY, 1, 0.0, -2});
    res = merge_ok(&float_q, &dspec);
    rows = dbont_result_rows(res);
    assert_int_equal(dbont_result_count(res), 10);
    for (i = 0; i < 10; i++)
        if (rows[i].id != dids[i])
            fail_msg("row %zu came from %d, expected %d", i, rows[i].id, dids[i]);
    dbont_result_free(res);
}

typedef struct real_row {
    float x;
    bool x_is_null;
} real_row;

static void test_reals(void **state)
{
    static const dbont_column cols[] = {
        COL("x", DBONT_REAL, false, real_row, x, offsetof(real_row, x_is_null))};
    static const dbont_query q = {"reals", NULL, 0, NULL, NULL, 0, 1, cols, sizeof(real_row)};
    static const Oid types[] = {FLOAT4OID};
    static const dbont_fanout_key asc[] = {{0, false, false}};
    static const dbont_fanout_spec spec = {asc, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    field a[] = {f4(-1.0f), f4(0.5f), f4(NAN), NUL_};
    field b[] = {f4(-0.0f), f4(3e38f)};
    dbont_result *res;
    real_row *rows;
    (void)state;

    parts[0] = make(1, types, 4, a);
    parts[1] = make(1, types, 2, b);
    res = merge_ok(&q, &spec);
    rows = dbont_result_rows(res);
    assert_int_equal(dbont_result_count(res), 6);
    assert_true(rows[0].x == -1.0f);
    assert_true(rows[1].x == 0 && signbit(rows[1].x));
    assert_true(rows[2].x == 0.5f);
    assert_true(rows[3].x == 3e38f);
    assert_true(isnan(rows[4].x));
    assert_true(rows[5].x_is_null);
    dbont_result_free(res);
}

/* ---- text, uuid, numeric, timestamps: one key each ----------------------------------- */

typedef struct text_row {
    const char *t;
    bool t_is_null;
} text_row;

static const dbont_column text_cols[] = {
    COL("t", DBONT_TEXT, false, text_row, t, offsetof(text_row, t_is_null))};
static const dbont_query text_q = {"texts", NULL, 0, NULL, NULL, 0, 1, text_cols,
                                   sizeof(text_row)};
static const Oid text_types[] = {TEXTOID};

static void text_part(int s, int n, const char *const *ts)
{
    field cells[16];
    int r;
    for (r = 0; r < n; r++)
        cells[r] = ts[r] != NULL ? txt(ts[r]) : (field)NUL_;
    parts[s] = make(1, text_types, n, cells);
}

static void expect_texts(dbont_result *res, size_t n, const char *const *ts)
{
    text_row *rows = dbont_result_rows(res);
    size_t i;
    assert_int_equal(dbont_result_count(res), n);
    for (i = 0; i < n; i++) {
        if (ts[i] == NULL)
            assert_true(rows[i].t_is_null);
        else if (rows[i].t_is_null || strcmp(rows[i].t, ts[i]) != 0)
            fail_msg("row %zu: expected \"%s\", got \"%s\"", i, ts[i],
                     rows[i].t_is_null ? "(null)" : rows[i].t);
    }
    dbont_result_free(res);
}

/* Bytewise, as COLLATE "C": upper case before lower case, a prefix before
 * its extensions, bytes above 0x7F (UTF-8) after ASCII. */
static void test_text_bytes(void **state)
{
    static const dbont_fanout_key asc[] = {{0, false, false}};
    static const dbont_fanout_spec spec = {asc, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    static const dbont_fanout_key desc[] = {{0, true, true}};
    static const dbont_fanout_spec dspec = {desc, 1, 4, 0, NULL, 0};
    (void)state;
    text_part(0, 4, (const char *[]){"B", "a", "ab", NULL});
    text_part(1, 5, (const char *[]){"", "A", "Z", "a\xc3\xa9", "b"});
    expect_texts(merge_ok(&text_q, &spec), 9,
                 (const char *[]){"", "A", "B", "Z", "a", "ab", "a\xc3\xa9", "b", NULL});
    teardown(NULL);
    text_part(0, 4, (const char *[]){NULL, "ab", "a", "B"});
    text_part(1, 5, (const char *[]){"b", "a\xc3\xa9", "Z", "A", ""});
    expect_texts(merge_ok(&text_q, &dspec), 4, (const char *[]){NULL, "b", "a\xc3\xa9", "ab"});
}

typedef struct uuid_row {
    dbont_uuid u;
    int32_t id;
} uuid_row;

static void test_uuid(void **state)
{
    static const dbont_column cols[] = {
        COL("u", DBONT_UUID, true, uuid_row, u, DBONT_NO_FIELD),
        COL("id", DBONT_INTEGER, true, uuid_row, id, DBONT_NO_FIELD)};
    static const dbont_query q = {"uuids", NULL, 0, NULL, NULL, 0, 2, cols, sizeof(uuid_row)};
    static const Oid types[] = {UUIDOID, INT4OID};
    static const dbont_fanout_key asc[] = {{0, false, false}};
    static const dbont_fanout_spec spec = {asc, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    /* Unsigned bytes: 0x80.. sorts after 0x7f.. (a signed compare would not). */
    field a[] = {uuid(0x00, 1), i4(1), uuid(0x7f, 0xff), i4(3), uuid(0xff, 0), i4(6)};
    field b[] = {uuid(0x00, 2), i4(2), uuid(0x80, 0), i4(4), uuid(0x80, 1), i4(5)};
    dbont_result *res;
    uuid_row *rows;
    int i;
    (void)state;

    parts[0] = make(2, types, 3, a);
    parts[2] = make(2, types, 3, b);
    res = merge_ok(&q, &spec);
    rows = dbont_result_rows(res);
    assert_int_equal(dbont_result_count(res), 6);
    for (i = 0; i < 6; i++)
        assert_int_equal(rows[i].id, i + 1);
    dbont_result_free(res);
}

typedef struct num_row {
    const char *n;
    bool n_is_null;
} num_row;

static const dbont_column num_cols[] = {
    COL("n", DBONT_NUMERIC, false, num_row, n, offsetof(num_row, n_is_null))};
static const dbont_query num_q = {"numerics", NULL, 0, NULL, NULL, 0, 1, num_cols,
                                  sizeof(num_row)};
static const Oid num_types[] = {NUMERICOID};

static void num_part(int s, int n, const char *const *ns)
{
    field cells[16];
    int r;
    for (r = 0; r < n; r++)
        cells[r] = ns[r] != NULL ? num(ns[r]) : (field)NUL_;
    parts[s] = make(1, num_types, n, cells);
}

static void expect_nums(dbont_result *res, size_t n, const char *const *ns)
{
    num_row *rows = dbont_result_rows(res);
    size_t i;
    assert_int_equal(dbont_result_count(res), n);
    for (i = 0; i < n; i++) {
        if (ns[i] == NULL)
            assert_true(rows[i].n_is_null);
        else if (rows[i].n_is_null || strcmp(rows[i].n, ns[i]) != 0)
            fail_msg("row %zu: expected %s, got %s", i, ns[i],
                     rows[i].n_is_null ? "NULL" : rows[i].n);
    }
    dbont_result_free(res);
}

/* Exact order: sign, then the integer part's length, then the digits;
 * -Infinity < numbers < Infinity < NaN; 12.0 = 12. */
static void test_numeric_order(void **state)
{
    static const dbont_fanout_key asc[] = {{0, false, false}};
    static const dbont_fanout_spec spec = {asc, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    static const dbont_fanout_key desc[] = {{0, true, false}};
    static const dbont_fanout_spec dspec = {desc, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    (void)state;
    num_part(0, 5, (const char *[]){"-10.5", "0", "3", "12", "NaN"});
    num_part(1, 5, (const char *[]){"-2", "0.001", "12.0", "100000000000000000000.5", NULL});
    num_part(2, 3, (const char *[]){"-Infinity", "-0.0001", "Infinity"});
    expect_nums(merge_ok(&num_q, &spec), 13,
                (const char *[]){"-Infinity", "-10.5", "-2", "-0.0001", "0", "0.001", "3", "12",
                                 "12.0", "100000000000000000000.5", "Infinity", "NaN", NULL});
    teardown(NULL);
    num_part(0, 4, (const char *[]){"NaN", "12.00", "0.01", "-99"});
    num_part(1, 4, (const char *[]){"Infinity", "9.99", "0.001", "-100"});
    expect_nums(merge_ok(&num_q, &dspec), 8,
                (const char *[]){"NaN", "Infinity", "12.00", "9.99", "0.01", "0.001", "-99",
                                 "-100"});
}

typedef struct ts_row {
    dbont_timestamp ts;
    int32_t id;
} ts_row;

static void test_timestamps(void **state)
{
    static const dbont_column cols[] = {
        COL("ts", DBONT_TIMESTAMPTZ, true, ts_row, ts, DBONT_NO_FIELD),
        COL("id", DBONT_INTEGER, true, ts_row, id, DBONT_NO_FIELD)};
    static const dbont_query q = {"stamps", NULL, 0, NULL, NULL, 0, 2, cols, sizeof(ts_row)};
    static const Oid types[] = {TIMESTAMPTZOID, INT4OID};
    static const dbont_fanout_key desc[] = {{0, true, true}};
    static const dbont_fanout_spec spec = {desc, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    /* On the wire: microseconds since 2000-01-01, infinities INT64_MAX/MIN. */
    field a[] = {i8(INT64_MAX), i4(1), i8(1000), i4(2), i8(-5), i4(5), i8(INT64_MIN), i4(7)};
    field b[] = {i8(999), i4(3), i8(0), i4(4), i8(-6), i4(6)};
    dbont_result *res;
    ts_row *rows;
    int i;
    (void)state;

    parts[1] = make(2, types, 4, a);
    parts[3] = make(2, types, 3, b);
    res = merge_ok(&q, &spec);
    rows = dbont_result_rows(res);
    assert_int_equal(dbont_result_count(res), 7);
    for (i = 0; i < 7; i++)
        assert_int_equal(rows[i].id, i + 1);
    assert_true(rows[0].ts == DBONT_TIMESTAMP_INFINITY);
    assert_true(rows[1].ts == 1000 + DBONT_PG_EPOCH_USECS);
    assert_true(rows[6].ts == DBONT_TIMESTAMP_NEG_INFINITY);
    dbont_result_free(res);
}

/* ---- aggregates ---------------------------------------------------------------------- */

typedef struct agg_row {
    const char *g;
    bool g_is_null;
    int64_t n;
    int64_t s;
    bool s_is_null;
    int32_t mn;
    bool mn_is_null;
    int32_t mx;
    bool mx_is_null;
    const char *sn;
    bool sn_is_null;
    double sf;
    bool sf_is_null;
} agg_row;

static const dbont_column agg_cols[] = {
    COL("g", DBONT_TEXT, false, agg_row, g, offsetof(agg_row, g_is_null)),
    COL("n", DBONT_BIGINT, true, agg_row, n, DBONT_NO_FIELD),
    COL("s", DBONT_BIGINT, false, agg_row, s, offsetof(agg_row, s_is_null)),
    COL("mn", DBONT_INTEGER, false, agg_row, mn, offsetof(agg_row, mn_is_null)),
    COL("mx", DBONT_INTEGER, false, agg_row, mx, offsetof(agg_row, mx_is_null)),
    COL("sn", DBONT_NUMERIC, false, agg_row, sn, offsetof(agg_row, sn_is_null)),
    COL("sf", DBONT_DOUBLE, false, agg_row, sf, offsetof(agg_row, sf_is_null)),
};
static const dbont_query agg_q = {"per_group", NULL, 0, NULL, NULL, 0, 7, agg_cols,
                                  sizeof(agg_row)};
static const Oid agg_types[] = {TEXTOID, INT8OID, INT8OID, INT4OID, INT4OID, NUMERICOID, FLOAT8OID};
static const dbont_fanout_agg agg_kinds[] = {DBONT_FANOUT_GROUP, DBONT_FANOUT_COUNT,
                                             DBONT_FANOUT_SUM,   DBONT_FANOUT_MIN,
                                             DBONT_FANOUT_MAX,   DBONT_FANOUT_SUM,
                                             DBONT_FANOUT_SUM};

/* One shard's groups: g, count, sum, min, max, numeric sum, double sum. */
typedef struct agg_in {
    const char *g;
    int64_t n;
    const char *s, *mn, *mx, *sn, *sf;  /* decimal; NULL for SQL NULL */
} agg_in;

static void agg_part(int shard, int nrows, const agg_in *in)
{
    field cells[7 * 8];
    int r;
    for (r = 0; r < nrows; r++) {
        field *c = &cells[7 * r];
        c[0] = in[r].g ? txt(in[r].g) : (field)NUL_;
        c[1] = i8(in[r].n);
        c[2] = in[r].s ? i8(strtoll(in[r].s, NULL, 10)) : (field)NUL_;
        c[3] = in[r].mn ? i4((int32_t)strtol(in[r].mn, NULL, 10)) : (field)NUL_;
        c[4] = in[r].mx ? i4((int32_t)strtol(in[r].mx, NULL, 10)) : (field)NUL_;
        c[5] = in[r].sn ? num(in[r].sn) : (field)NUL_;
        c[6] = in[r].sf ? f8(strtod(in[r].sf, NULL)) : (field)NUL_;
    }
    parts[shard] = make(7, agg_types, nrows, cells);
}

static void expect_group(const agg_row *row, const agg_in *want)
{
    char buf[64];
    if (want->g == NULL)
        assert_true(row->g_is_null);
    else
        assert_string_equal(row->g, want->g);
    assert_int_equal(row->n, want->n);
#define EXPECT_INT(field, fmt, type)                                            \
    if (want->field == NULL) {                                                  \
        assert_true(row->field##_is_null);                                      \
    } else {                                                                    \
        assert_false(row->field##_is_null);                                     \
        snprintf(buf, sizeof buf, fmt, (type)row->field);                       \
        assert_string_equal(buf, want->field);                                  \
    }
    EXPECT_INT(s, "%lld", long long)
    EXPECT_INT(mn, "%d", int)
    EXPECT_INT(mx, "%d", int)
    EXPECT_INT(sf, "%g", double)
#undef EXPECT_INT
    if (want->sn == NULL) {
        assert_true(row->sn_is_null);
    } else {
        assert_false(row->sn_is_null);
        assert_string_equal(row->sn, want->sn);
    }
}

static void agg_shards(void)
{
    agg_part(0, 3,
             (agg_in[]){{"a", 2, "10", "1", "5", "0.1", "1.5"},
                        {NULL, 1, NULL, NULL, NULL, NULL, NULL},
                        {"b", 1, "7", "3", "3", "1", "0.25"}});
    agg_part(1, 2,
             (agg_in[]){{"a", 3, "5", "-2", "4", "0.2", "2.5"},
                        {NULL, 2, "4", "9", "9", "2.50", NULL}});
    agg_part(3, 1, (agg_in[]){{"c", 1, NULL, NULL, NULL, NULL, NULL}});
}

/* Groups combine across shards (NULL keys together); without an order,
 * the combined rows come by group key, NULL last. */
static void test_group_combine(void **state)
{
    static const dbont_fanout_spec spec = {NULL, 0, DBONT_FANOUT_NO_LIMIT, 0, agg_kinds, 7};
    static const agg_in want[] = {{"a", 5, "15", "-2", "5", "0.3", "4"},
                                  {"b", 1, "7", "3", "3", "1", "0.25"},
                                  {"c", 1, NULL, NULL, NULL, NULL, NULL},
                                  {NULL, 3, "4", "9", "9", "2.50", NULL}};
    dbont_result *res;
    agg_row *rows;
    size_t i;
    (void)state;

    agg_shards();
    res = merge_ok(&agg_q, &spec);
    rows = dbont_result_rows(res);
    assert_int_equal(dbont_result_count(res), 4);
    for (i = 0; i < 4; i++)
        expect_group(&rows[i], &want[i]);
    dbont_result_free(res);
}

/* Combined first, then sorted by an aggregate, then cut. */
static void test_group_order_limit(void **state)
{
    static const dbont_fanout_key by_count[] = {{1, true, false}};
    static const dbont_fanout_spec spec = {by_count, 1, 2, 1, agg_kinds, 7};
    static const dbont_fanout_key by_sum[] = {{5, false, true}};
    static const dbont_fanout_spec spec2 = {by_sum, 1, DBONT_FANOUT_NO_LIMIT, 0, agg_kinds, 7};
    dbont_result *res;
    agg_row *rows;
    (void)state;

    agg_shards();
    /* Counts a 5, NULL 3, b 1, c 1: after the first, two rows. */
    res = merge_ok(&agg_q, &spec);
    rows = dbont_result_rows(res);
    assert_int_equal(dbont_result_count(res), 2);
    assert_true(rows[0].g_is_null);
    assert_int_equal(rows[0].n, 3);
    assert_string_equal(rows[1].g, "b");
    dbont_result_free(res);

    /* By the numeric sum, NULLS FIRST: c (NULL), a 0.3, b 1, NULL 2.50. */
    res = merge_ok(&agg_q, &spec2);
    rows = dbont_result_rows(res);
    assert_int_equal(dbont_result_count(res), 4);
    assert_string_equal(rows[0].g, "c");
    assert_string_equal(rows[1].g, "a");
    assert_string_equal(rows[1].sn, "0.3");
    assert_string_equal(rows[2].g, "b");
    assert_true(rows[3].g_is_null);
    dbont_result_free(res);
}

/* Aggregates without GROUP BY: one row per shard, one row in all. */
typedef struct total_row {
    int64_t n;
    const char *s;
    bool s_is_null;
    const char *lo;
    bool lo_is_null;
    const char *hi;
    bool hi_is_null;
} total_row;

static void test_totals(void **state)
{
    static const dbont_column cols[] = {
        COL("n", DBONT_BIGINT, true, total_row, n, DBONT_NO_FIELD),
        COL("s", DBONT_NUMERIC, false, total_row, s, offsetof(total_row, s_is_null)),
        COL("lo", DBONT_TEXT, false, total_row, lo, offsetof(total_row, lo_is_null)),
        COL("hi", DBONT_NUMERIC, false, total_row, hi, offsetof(total_row, hi_is_null))};
    static const dbont_query q = {"totals", NULL, 0, NULL, NULL, 0, 4, cols, sizeof(total_row)};
    static const Oid types[] = {INT8OID, NUMERICOID, TEXTOID, NUMERICOID};
    static const dbont_fanout_agg aggs[] = {DBONT_FANOUT_COUNT, DBONT_FANOUT_SUM, DBONT_FANOUT_MIN,
                                            DBONT_FANOUT_MAX};
    static const dbont_fanout_spec spec = {NULL, 0, DBONT_FANOUT_NO_LIMIT, 0, aggs, 4};
    field a[] = {i8(3), num("99999999999999999999.99"), txt("b"), num("12.0")};
    field b[] = {i8(0), NUL_, NUL_, NUL_};          /* an empty shard: count 0, the rest NULL */
    field c[] = {i8(4), num("0.01"), txt("B"), num("9.5")};
    dbont_result *res;
    total_row *row;
    (void)state;

    parts[0] = make(4, types, 1, a);
    parts[1] = make(4, types, 1, b);
    parts[2] = make(4, types, 1, c);
    res = merge_ok(&q, &spec);
    assert_int_equal(dbont_result_count(res), 1);
    row = dbont_result_rows(res);
    assert_int_equal(row->n, 7);
    assert_string_equal(row->s, "100000000000000000000.00");
    assert_string_equal(row->lo, "B");
    assert_string_equal(row->hi, "12.0");
    dbont_result_free(res);
    teardown(NULL);

    /* Every shard empty: count 0, the rest NULL (as on one server). */
    parts[0] = make(4, types, 1, (field[]){i8(0), NUL_, NUL_, NUL_});
    parts[1] = make(4, types, 1, (field[]){i8(0), NUL_, NUL_, NUL_});
    res = merge_ok(&q, &spec);
    assert_int_equal(dbont_result_count(res), 1);
    row = dbont_result_rows(res);
    assert_int_equal(row->n, 0);
    assert_true(row->s_is_null && row->lo_is_null && row->hi_is_null);
    dbont_result_free(res);
}

/* SUM over numeric is exact. */
static void test_numeric_sum_exact(void **state)
{
    static const dbont_fanout_agg aggs[] = {DBONT_FANOUT_SUM};
    static const dbont_fanout_spec spec = {NULL, 0, DBONT_FANOUT_NO_LIMIT, 0, aggs, 1};
    static const struct {
        const char *a, *b, *c, *sum;
    } cases[] = {
        {"0.1", "0.2", NULL, "0.3"},
        {"99999999999999999999.99", "0.01", NULL, "100000000000000000000.00"},
        {"-5.25", "5.25", NULL, "0.00"},
        {"-5.25", "2", "0.125", "-3.125"},
        {"0.00000000000000000001", "-1", NULL, "-0.99999999999999999999"},
        {"123456789012345678901234567890", "876543210987654321098765432110", NULL,
         "1000000000000000000000000000000"},
        {"1", "NaN", "2", "NaN"},
        {"Infinity", "-Infinity", NULL, "NaN"},
        {"Infinity", "-7", NULL, "Infinity"},
        {"-Infinity", "-7", NULL, "-Infinity"},
        {"7.50", NULL, NULL, "7.50"},
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dbont_result *res;
        num_part(0, 1, (const char *[]){cases[i].a});
        num_part(1, 1, (const char *[]){cases[i].b});
        num_part(2, 1, (const char *[]){cases[i].c});
        res = merge_ok(&num_q, &spec);
        expect_nums(res, 1, (const char *[]){cases[i].sum});
        teardown(NULL);
    }
}

/* An integer sum leaving its type is an error naming the column. */
static void test_sum_overflow(void **state)
{
    static const dbont_fanout_agg aggs[] = {DBONT_FANOUT_GROUP, DBONT_FANOUT_COUNT,
                                            DBONT_FANOUT_SUM,   DBONT_FANOUT_MIN,
                                            DBONT_FANOUT_MAX,   DBONT_FANOUT_SUM,
                                            DBONT_FANOUT_SUM};
    static const dbont_fanout_spec spec = {NULL, 0, DBONT_FANOUT_NO_LIMIT, 0, aggs, 7};
    static const dbont_fanout_agg int_sum[] = {DBONT_FANOUT_SUM, DBONT_FANOUT_MIN};
    static const dbont_fanout_spec spec4 = {NULL, 0, DBONT_FANOUT_NO_LIMIT, 0, int_sum, 2};
    char max[32], min[32];
    (void)state;

    snprintf(max, sizeof max, "%lld", (long long)INT64_MAX);
    snprintf(min, sizeof min, "%lld", (long long)INT64_MIN);
    agg_part(0, 1, (agg_in[]){{"a", 1, max, NULL, NULL, NULL, NULL}});
    agg_part(1, 1, (agg_in[]){{"a", 1, "1", NULL, NULL, NULL, NULL}});
    expect_merge_error(&agg_q, &spec, "22003", "per_group.s");
    teardown(NULL);
    agg_part(0, 1, (agg_in[]){{"a", 1, min, NULL, NULL, NULL, NULL}});
    agg_part(2, 1, (agg_in[]){{"a", 1, "-1", NULL, NULL, NULL, NULL}});
    expect_merge_error(&agg_q, &spec, "22003", "out of range for type bigint");
    teardown(NULL);
    /* Right at the edge is fine. */
    agg_part(0, 1, (agg_in[]){{"a", 1, max, NULL, NULL, NULL, NULL}});
    agg_part(1, 1, (agg_in[]){{"a", 1, "-1", NULL, NULL, NULL, NULL}});
    agg_part(2, 1, (agg_in[]){{"a", 1, "1", NULL, NULL, NULL, NULL}});
    {
        dbont_result *res = merge_ok(&agg_q, &spec);
        agg_row *row = dbont_result_rows(res);
        assert_int_equal(row->s, INT64_MAX);
        dbont_result_free(res);
    }
    teardown(NULL);
    /* A double sum that overflows to infinity, as float8pl refuses. */
    agg_part(0, 1, (agg_in[]){{"a", 1, NULL, NULL, NULL, NULL, "1.7e308"}});
    agg_part(1, 1, (agg_in[]){{"a", 1, NULL, NULL, NULL, NULL, "1.7e308"}});
    expect_merge_error(&agg_q, &spec, "22003", "per_group.sf");
    teardown(NULL);
    /* SUM over an integer column stays within integer. */
    int_part(0, 1, (int32_t[]){INT32_MAX});
    int_part(1, 1, (int32_t[]){1});
    expect_merge_error(&int_q, &spec4, "22003", "ints.x");
}

/* ---- the spec check ---------------------------------------------------------------------- */

typedef struct json_row {
    const char *j;
    int64_t n;
} json_row;

static void expect_spec_error(const dbont_query *q, const dbont_fanout_spec *spec, const char *part)
{
    dbont_error err;
    assert_int_equal(dbont_merge_check(q, spec, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    if (strstr(err.message, part) == NULL)
        fail_msg("message lacks \"%s\": %s", part, err.message);
}

static void test_spec_check(void **state)
{
    static const dbont_column cols[] = {COL("j", DBONT_JSONB, true, json_row, j, DBONT_NO_FIELD),
                                        COL("n", DBONT_BIGINT, true, json_row, n, DBONT_NO_FIELD)};
    static const dbont_query q = {"docs", NULL, 0, NULL, NULL, 0, 2, cols, sizeof(json_row)};
    static const dbont_fanout_key by_j[] = {{0, false, false}};
    static const dbont_fanout_key by_3[] = {{3, false, false}};
    static const dbont_fanout_agg group_j[] = {DBONT_FANOUT_GROUP, DBONT_FANOUT_COUNT};
    static const dbont_fanout_agg count_int[] = {DBONT_FANOUT_COUNT, DBONT_FANOUT_SUM};
    static const dbont_fanout_agg sum_text[] = {DBONT_FANOUT_SUM};
    dbont_fanout_spec spec = {by_j, 1, DBONT_FANOUT_NO_LIMIT, 0, NULL, 0};
    dbont_error err;
    (void)state;

    expect_spec_error(&q, &spec, "cannot sort by");
    spec.order = by_3;
    expect_spec_error(&q, &spec, "column 3, but the query has 2 columns");
    spec.norder = 0;
    spec.aggs = group_j;
    spec.naggs = 2;
    expect_spec_error(&q, &spec, "docs: column j is jsonb");
    spec.naggs = 1;
    expect_spec_error(&q, &spec, "1 aggregate entries for 2 columns");
    spec.aggs = NULL;
    spec.limit = -2;
    spec.naggs = 0;
    expect_spec_error(&q, &spec, "limit -2");
    spec.limit = 5;
    spec.offset = -1;
    expect_spec_error(&q, &spec, "offset -1");
    spec.offset = 0;
    assert_int_equal(dbont_merge_check(&q, &spec, &err), DBONT_OK);
    spec.aggs = count_int;
    spec.naggs = 2;
    expect_spec_error(&int_q, &spec, "ints: column x is integer: COUNT gives bigint");
    spec.aggs = sum_text;
    spec.naggs = 1;
    expect_spec_error(&text_q, &spec, "SUM cannot add it");
    assert_int_equal(dbont_merge_check(&q, NULL, &err), DBONT_OK);
}

/* ---- decimal.c on its own ----------------------------------------------------------------- */

static int dcmp(const char *a, const char *b)
{
    return dbont_decimal_cmp(a, strlen(a), b, strlen(b));
}

static void test_decimal_cmp(void **state)
{
    static const char *const ascending[] = {
        "-Infinity", "-1000", "-999.999", "-10.5", "-2", "-0.5", "-0.05", "0",
        "0.001",     "0.01",  "0.5",      "3",     "12", "99.9", "100",  "1000000000000000000000",
        "Infinity",  "NaN"};
    size_t n = sizeof ascending / sizeof ascending[0], i, j;
    (void)state;

    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            int want = (i > j) - (i < j), got = dcmp(ascending[i], ascending[j]);
            if ((got > 0) - (got < 0) != want)
                fail_msg("cmp(%s, %s) = %d, expected %d", ascending[i], ascending[j], got, want);
        }
    assert_int_equal(dcmp("12.0", "12"), 0);
    assert_int_equal(dcmp("0.000", "0"), 0);
    assert_int_equal(dcmp("-0.000", "0"), 0);
    assert_int_equal(dcmp("007.50", "7.5"), 0);
    assert_int_equal(dcmp("NaN", "NaN"), 0);
    assert_true(dcmp("-0.10", "-0.1") == 0);
    assert_true(dcmp("-0.11", "-0.1") < 0);
}

static void test_decimal_add(void **state)
{
    static const struct {
        const char *a, *b, *sum;
    } cases[] = {
        {"0", "0", "0"},
        {"0.10", "0.2", "0.30"},
        {"999", "1", "1000"},
        {"-999", "-1", "-1000"},
        {"1000", "-1", "999"},
        {"-1000", "1", "-999"},
        {"1", "-1000", "-999"},
        {"0.5", "-0.75", "-0.25"},
        {"-0.5", "0.5", "0.0"},
        {"12.345", "-12.345", "0.000"},
        {"9.99", "0.01", "10.00"},
        {"5", "0.001", "5.001"},
    };
    char out[64];
    size_t i, len;
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *a = cases[i].a, *b = cases[i].b;
        assert_true(dbont_decimal_add_room(strlen(a), strlen(b)) <= sizeof out);
        len = dbont_decimal_add(a, strlen(a), b, strlen(b), out);
        if (strcmp(out, cases[i].sum) != 0 || len != strlen(out))
            fail_msg("%s + %s = %s, expected %s", a, b, out, cases[i].sum);
        /* and the other way round */
        dbont_decimal_add(b, strlen(b), a, strlen(a), out);
        assert_string_equal(out, cases[i].sum);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_ints_asc_nulls_last, teardown),
        cmocka_unit_test_teardown(test_ints_desc_nulls_first, teardown),
        cmocka_unit_test_teardown(test_ints_other_null_placements, teardown),
        cmocka_unit_test_teardown(test_limit_offset, teardown),
        cmocka_unit_test_teardown(test_unsorted_shard, teardown),
        cmocka_unit_test_teardown(test_wrong_shape, teardown),
        cmocka_unit_test_teardown(test_floats, teardown),
        cmocka_unit_test_teardown(test_reals, teardown),
        cmocka_unit_test_teardown(test_text_bytes, teardown),
        cmocka_unit_test_teardown(test_uuid, teardown),
        cmocka_unit_test_teardown(test_numeric_order, teardown),
        cmocka_unit_test_teardown(test_timestamps, teardown),
        cmocka_unit_test_teardown(test_group_combine, teardown),
        cmocka_unit_test_teardown(test_group_order_limit, teardown),
        cmocka_unit_test_teardown(test_totals, teardown),
        cmocka_unit_test_teardown(test_numeric_sum_exact, teardown),
        cmocka_unit_test_teardown(test_sum_overflow, teardown),
        cmocka_unit_test_teardown(test_spec_check, teardown),
        cmocka_unit_test(test_decimal_cmp),
        cmocka_unit_test(test_decimal_add),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
