/* Unit tests: the cache's stored form of a result (cache_codec.h).  The
 * results are built client-side, as the decoder builds its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache_codec.h"
#include "dbont/shard.h" /* dbont_xxh64, for the checksum of rewritten entries */

#define SCHEMA UINT64_C(0x0123456789abcdef)

#define INT4OID 23
#define TEXTOID 25
#define BYTEAOID 17
#define VARCHAROID 1043

/* A field of a test row: NULL when value is NULL. */
typedef struct field {
    const char *value;
    int len;
} field;

#define VAL(s) {s, (int)sizeof(s) - 1}
#define NUL_FIELD {NULL, -1}

static PGresult *make_result(int ncols, const PGresAttDesc *attrs,
                             int nrows, const field *fields)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    int r, c;
    assert_non_null(res);
    if (ncols > 0)
        assert_true(PQsetResultAttrs(res, ncols, (PGresAttDesc *)attrs));
    for (r = 0; r < nrows; r++) {
        for (c = 0; c < ncols; c++) {
            const field *f = &fields[r * ncols + c];
            assert_true(PQsetvalue(res, r, c, (char *)f->value, f->len));
        }
    }
    return res;
}

/* Equal in everything the format carries. */
static void assert_same_result(const PGresult *a, const PGresult *b)
{
    int r, c;
    assert_int_equal(PQresultStatus(b), PGRES_TUPLES_OK);
    assert_int_equal(PQnfields(a), PQnfields(b));
    assert_int_equal(PQntuples(a), PQntuples(b));
    assert_int_equal(PQbinaryTuples(a), PQbinaryTuples(b));
    for (c = 0; c < PQnfields(a); c++) {
        assert_string_equal(PQfname(a, c), PQfname(b, c));
        assert_int_equal(PQftype(a, c), PQftype(b, c));
        assert_int_equal(PQfmod(a, c), PQfmod(b, c));
        assert_int_equal(PQfformat(a, c), PQfformat(b, c));
        assert_int_equal(PQfnumber(b, PQfname(a, c)), PQfnumber(a, PQfname(a, c)));
    }
    for (r = 0; r < PQntuples(a); r++) {
        for (c = 0; c < PQnfields(a); c++) {
            assert_int_equal(PQgetisnull(a, r, c), PQgetisnull(b, r, c));
            assert_int_equal(PQgetlength(a, r, c), PQgetlength(b, r, c));
            assert_memory_equal(PQgetvalue(a, r, c), PQgetvalue(b, r, c),
                                (size_t)PQgetlength(a, r, c));
            /* libpq terminates every value, NULLs and binary ones too. */
            assert_int_equal(PQgetvalue(b, r, c)[PQgetlength(b, r, c)], '\0');
        }
    }
}

static void encode_ok(const PGresult *res, void **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    assert_int_equal(dbont_cache_encode(res, SCHEMA, buf, len), 0);
    assert_non_null(*buf);
}

static void round_trip(const PGresult *res)
{
    void *buf;
    size_t len;
    PGresult *back;
    encode_ok(res, &buf, &len);
    back = dbont_cache_decode(buf, len, SCHEMA);
    assert_non_null(back);
    assert_same_result(res, back);
    PQclear(back);
    free(buf);
}


static void put_le(unsigned char *p, uint64_t v, int n)
{
    int i;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Writes the right checksum into the last 8 bytes of buf. */
static void reseal(unsigned char *buf, size_t len)
{
    /* dbont_xxh64 has vectors of its own (test_shard.c) */
    put_le(buf + len - 8, dbont_xxh64(buf, len - 8, 0), 8);
}

static void refused(const void *buf, size_t len, uint64_t schema)
{
    assert_null(dbont_cache_decode(buf, len, schema));
}

/* ---- fixtures ---------------------------------------------------------- */

static const PGresAttDesc mixed_attrs[] = {
    {.name = "id", .format = 1, .typid = INT4OID, .typlen = 4, .atttypmod = -1},
    {.name = "name", .format = 0, .typid = VARCHAROID, .typlen = -1, .atttypmod = 24},
    {.name = "avatar", .format = 1, .typid = BYTEAOID, .typlen = -1, .atttypmod = -1},
    {.name = "bio", .format = 1, .typid = TEXTOID, .typlen = -1, .atttypmod = -1},
};

static const field mixed_rows[] = {
    VAL("\0\0\0\1"), VAL("alice"),    VAL("\x89PNG\0\0\xff\0"), VAL(""),
    VAL("\0\0\0\2"), NUL_FIELD,       NUL_FIELD,                VAL("hi\nthere"),
    VAL("\0\0\0\3"), VAL(""),         VAL("\0"),                NUL_FIELD,
};

static PGresult *mixed(void)
{
    return make_result(4, mixed_attrs, 3, mixed_rows);
}

/* One int4 column, one row: small enough to try every byte. */
static PGresult *tiny(void)
{
    static const PGresAttDesc attrs[] = {
        {.name = "n", .format = 1, .typid = INT4OID, .typlen = 4, .atttypmod = -1},
    };
    static const field rows[] = {VAL("\0\0\0\x2a")};
    return make_result(1, attrs, 1, rows);
}

/* ---- round trips -------------------------------------------------------- */

static void test_round_trip_mixed(void **state)
{
    PGresult *res = mixed();
    (void)state;
    /* The fixture is what it says (empty is not NULL, NULs are kept). */
    assert_true(PQgetisnull(res, 1, 1));
    assert_false(PQgetisnull(res, 2, 1));
    assert_int_equal(PQgetlength(res, 2, 1), 0);
    assert_int_equal(PQgetlength(res, 0, 2), 8);
    round_trip(res);
    PQclear(res);
}

/* The cells of an entry (what a cache hit decodes rows from) describe
 * every value in place, each followed by a NUL. */
static void test_cells(void **state)
{
    PGresult *res = mixed();
    void *buf, *block;
    size_t len;
    dbont_cells cells;
    int r, c;
    (void)state;
    encode_ok(res, &buf, &len);
    assert_true(dbont_cache_cells(buf, len, SCHEMA, &cells, &block));
    assert_int_equal(cells.ncols, 4);
    assert_int_equal(cells.nrows, 3);
    for (c = 0; c < 4; c++) {
        assert_int_equal(cells.types[c], PQftype(res, c));
        assert_int_equal(cells.formats[c], PQfformat(res, c));
    }
    for (r = 0; r < 3; r++)
        for (c = 0; c < 4; c++) {
            const dbont_cell *cell = &cells.cells[r * 4 + c];
            if (PQgetisnull(res, r, c)) {
                assert_int_equal(cell->len, -1);
                continue;
            }
            assert_int_equal(cell->len, PQgetlength(res, r, c));
            assert_memory_equal(cell->value, PQgetvalue(res, r, c), (size_t)cell->len + 1); /* and the NUL */
            assert_true((const char *)cell->value > (const char *)buf &&
                        (const char *)cell->value + cell->len < (const char *)buf + len);
        }
    free(block);
    /* refused as dbont_cache_decode refuses */
    assert_false(dbont_cache_cells(buf, len, SCHEMA + 1, &cells, &block));
    assert_false(dbont_cache_cells(buf, len - 1, SCHEMA, &cells, &block));
    free(buf);
    PQclear(res);
}

static void test_round_trip_zero_rows(void **state)
{
    PGresult *res = make_result(4, mixed_attrs, 0, NULL);
    (void)state;
    round_trip(res);
    PQclear(res);
}

static void test_round_trip_zero_columns(void **state)
{
    PGresult *res = make_result(0, NULL, 0, NULL);
    (void)state;
    round_trip(res);
    PQclear(res);
}

/* Many rows and a long value: sizes beyond one byte's worth. */
static void test_round_trip_large(void **state)
{
    static const PGresAttDesc attrs[] = {
        {.name = "k", .format = 1, .typid = INT4OID, .typlen = 4, .atttypmod = -1},
        {.name = "payload", .format = 0, .typid = TEXTOID, .typlen = -1, .atttypmod = -1},
    };
    PGresult *res = make_result(2, attrs, 0, NULL);
    char *big = malloc(100000);
    int r;
    (void)state;
    for (r = 0; r < 100000; r++)
        big[r] = (char)(r * 7);
    for (r = 0; r < 1000; r++) {
        char k[4] = {0, 0, (char)(r >> 8), (char)r};
        assert_true(PQsetvalue(res, r, 0, k, 4));
        assert_true(PQsetvalue(res, r, 1, r % 10 == 0 ? NULL : big,
                               r % 10 == 0 ? -1 : r * 100));
    }
    round_trip(res);
    free(big);
    PQclear(res);
}

/* A column name of the longest storable length, and one too long. */
static void test_long_names(void **state)
{
    char *name = malloc(70000);
    PGresAttDesc attr = {.name = name, .format = 0, .typid = TEXTOID, .typlen = -1, .atttypmod = -1};
    PGresult *res;
    void *buf;
    size_t len;
    (void)state;
    memset(name, 'c', 70000);
    name[65535] = '\0';
    res = make_result(1, &attr, 0, NULL);
    round_trip(res);
    PQclear(res);
    name[65535] = 'c';
    name[65536] = '\0';
    res = make_result(1, &attr, 0, NULL);
    assert_int_equal(dbont_cache_encode(res, SCHEMA, &buf, &len), -1);
    PQclear(res);
    free(name);
}

/* The layout, byte for byte, as docs/caching.md describes it. */
static void test_exact_bytes(void **state)
{
    static const unsigned char body[] = {
        'D', 'B', 'C', '2',
        0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,   /* schema hash */
        1, 0, 0, 0,                                       /* 1 column */
        1, 0, 'n',                                        /* name */
        23, 0, 0, 0,                                      /* int4 */
        0xff, 0xff, 0xff, 0xff,                           /* typmod -1 */
        1, 0,                                             /* binary */
        1, 0, 0, 0,                                       /* 1 row */
        4, 0, 0, 0, 0, 0, 0, 0x2a, 0,                     /* 42, NUL */
    };
    unsigned char expect[sizeof body + 8];
    PGresult *res = tiny();
    void *buf;
    size_t len;
    (void)state;
    memcpy(expect, body, sizeof body);
    reseal(expect, sizeof expect);
    encode_ok(res, &buf, &len);
    assert_int_equal(len, sizeof expect);
    assert_memory_equal(buf, expect, sizeof expect);
    free(buf);
    PQclear(res);
}

/* Only a complete set of rows is stored. */
static void test_encode_refuses(void **state)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
    void *buf = NULL;
    size_t len = 0;
    (void)state;
    assert_int_equal(dbont_cache_encode(res, SCHEMA, &buf, &len), -1);
    assert_null(buf);
    PQclear(res);
    assert_int_equal(dbont_cache_encode(NULL, SCHEMA, &buf, &len), -1);
}

/* ---- refusals ------------------------------------------------------------ */

/* Another magic or format version is refused even with a good checksum. */
static void test_wrong_magic_and_version(void **state)
{
    PGresult *res = tiny();
    unsigned char *buf;
    size_t len, i;
    (void)state;
    encode_ok(res, (void **)&buf, &len);
    for (i = 0; i < 4; i++) {
        unsigned char saved = buf[i];
        buf[i] = (unsigned char)(saved ^ 0x20);   /* "dBC2", "Dbc2", ... */
        reseal(buf, len);
        refused(buf, len, SCHEMA);
        buf[i] = saved;
    }
    buf[3] = '3';   /* a later format version */
    reseal(buf, len);
    refused(buf, len, SCHEMA);
    buf[3] = '1';   /* the earlier one (FNV-1a checksum) */
    reseal(buf, len);
    refused(buf, len, SCHEMA);
    buf[3] = '0';
    reseal(buf, len);
    refused(buf, len, SCHEMA);
    buf[3] = '2';
    reseal(buf, len);
    assert_non_null(buf);
    {
        PGresult *back = dbont_cache_decode(buf, len, SCHEMA);
        assert_non_null(back);   /* restored: accepted again */
        PQclear(back);
    }
    free(buf);
    PQclear(res);
}

static void test_other_schema_hash(void **state)
{
    PGresult *res = mixed();
    unsigned char *buf;
    size_t len;
    (void)state;
    encode_ok(res, (void **)&buf, &len);
    refused(buf, len, SCHEMA + 1);
    refused(buf, len, 0);
    refused(buf, len, ~SCHEMA);
    /* The stored hash rewritten (and resealed) is another schema too. */
    put_le(buf + 4, SCHEMA ^ 0x100, 8);
    reseal(buf, len);
    refused(buf, len, SCHEMA);
    free(buf);
    PQclear(res);
}

/* Every byte of an entry, changed in several ways: always refused. */
static void test_every_flipped_byte(void **state)
{
    static const unsigned char flips[] = {0x01, 0x80, 0xff, 0x5a};
    PGresult *res = tiny();
    unsigned char *buf;
    size_t len, i, f;
    (void)state;
    encode_ok(res, (void **)&buf, &len);
    for (i = 0; i < len; i++) {
        for (f = 0; f < sizeof flips; f++) {
            buf[i] ^= flips[f];
            refused(buf, len, SCHEMA);
            buf[i] ^= flips[f];
        }
    }
    free(buf);
    PQclear(res);

    /* The same on the bigger fixture, one flip per byte. */
    res = mixed();
    encode_ok(res, (void **)&buf, &len);
    for (i = 0; i < len; i++) {
        buf[i] ^= 0x04;
        refused(buf, len, SCHEMA);
        buf[i] ^= 0x04;
    }
    free(buf);
    PQclear(res);
}

/* Every prefix is refused, down to nothing. */
static void test_every_truncation(void **state)
{
    PGresult *res = mixed();
    unsigned char *buf;
    size_t len, n;
    (void)state;
    encode_ok(res, (void **)&buf, &len);
    for (n = 0; n < len; n++) {
        /* Copied to an allocation of exactly n bytes, so that ASan sees
         * any read past the end. */
        unsigned char *prefix = malloc(n > 0 ? n : 1);
        memcpy(prefix, buf, n);
        refused(prefix, n, SCHEMA);
        free(prefix);
    }
    refused(NULL, 0, SCHEMA);
    free(buf);
    PQclear(res);
}

/* Bytes after the checksum, or between the rows and a recomputed
 * checksum: refused either way. */
static void test_trailing_bytes(void **state)
{
    PGresult *res = mixed();
    unsigned char *buf, *longer;
    size_t len, extra;
    (void)state;
    encode_ok(res, (void **)&buf, &len);
    for (extra = 1; extra <= 16; extra++) {
        longer = calloc(1, len + extra);
        memcpy(longer, buf, len);
        refused(longer, len + extra, SCHEMA);
        /* The rows, extra zero bytes, then a valid checksum of it all. */
        memset(longer + len - 8, 0, extra);
        reseal(longer, len + extra);
        refused(longer, len + extra, SCHEMA);
        free(longer);
    }
    free(buf);
    PQclear(res);
}

/*
 * Well-sealed entries whose contents do not add up (as a buggy or
 * hostile writer could make): the parser's own checks refuse them.
 * Offsets in the tiny entry: ncolumns at 12, name length at 16, format
 * at 27, nrows at 29, the value's length at 33, its bytes at 37 and the
 * NUL after them at 41.
 */
static void test_sealed_nonsense(void **state)
{
    PGresult *res = tiny();
    unsigned char *orig, *buf;
    size_t len;
    (void)state;
    encode_ok(res, (void **)&orig, &len);
    assert_int_equal(len, 50);
    buf = malloc(len);

#define TRY(offset, value, nbytes)                  \
    do {                                            \
        memcpy(buf, orig, len);                     \
        put_le(buf + (offset), (value), (nbytes));  \
        reseal(buf, len);                           \
        refused(buf, len, SCHEMA);                  \
    } while (0)

    TRY(12, 0, 4);             /* no columns, yet a row */
    TRY(12, 2, 4);             /* a second column that is not there */
    TRY(12, 0xffffffffu, 4);   /* absurd counts are not allocated */
    TRY(16, 0, 2);             /* name shorter than stored */
    TRY(16, 2, 2);             /* name longer than stored */
    TRY(16, 0xffff, 2);
    TRY(18, 0, 1);             /* a NUL as the name */
    TRY(27, 2, 2);             /* a format neither text nor binary */
    TRY(29, 0, 4);             /* fewer rows than stored */
    TRY(29, 2, 4);             /* more */
    TRY(29, 0x7fffffffu, 4);
    TRY(33, 3, 4);             /* a value shorter than stored */
    TRY(33, 5, 4);             /* longer */
    TRY(33, 0xfffffffeu, 4);   /* length -2 */
    TRY(33, 0x80000000u, 4);   /* INT32_MIN */
    TRY(33, 0xffffffffu, 4);   /* NULL, then 5 bytes left over */
    TRY(41, 1, 1);             /* no NUL after the value */
    TRY(41, 0xff, 1);
#undef TRY

    free(buf);
    free(orig);
    PQclear(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_mixed),
        cmocka_unit_test(test_cells),
        cmocka_unit_test(test_round_trip_zero_rows),
        cmocka_unit_test(test_round_trip_zero_columns),
        cmocka_unit_test(test_round_trip_large),
        cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_wrong_magic_and_version),
        cmocka_unit_test(test_other_schema_hash),
        cmocka_unit_test(test_every_flipped_byte),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_sealed_nonsense),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
