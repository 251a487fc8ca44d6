/* Unit tests: binary encode/decode of dbont types (runtime/src/codec.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <limits.h>

#include <cmocka.h>

#include "codec.h"

/* ---- numeric -------------------------------------------------------- */

#define POS 0x0000
#define NEG 0x4000
#define NAN_ 0xC000
#define PINF 0xD000
#define NINF 0xF000

/* Builds a binary numeric; returns its length. */
static size_t numeric_bin(uint8_t *buf, int ndigits, int weight, unsigned sign,
                          int dscale, const int *digits)
{
    int i;
    buf[0] = (uint8_t)((unsigned)ndigits >> 8);
    buf[1] = (uint8_t)ndigits;
    buf[2] = (uint8_t)((unsigned)weight >> 8);
    buf[3] = (uint8_t)weight;
    buf[4] = (uint8_t)(sign >> 8);
    buf[5] = (uint8_t)sign;
    buf[6] = (uint8_t)((unsigned)dscale >> 8);
    buf[7] = (uint8_t)dscale;
    for (i = 0; i < ndigits; i++) {
        buf[8 + 2 * i] = (uint8_t)((unsigned)digits[i] >> 8);
        buf[9 + 2 * i] = (uint8_t)digits[i];
    }
    return 8 + 2 * (size_t)ndigits;
}

/* The sizing call must announce exactly what the writing call writes
 * (a canary after the text catches any overrun). */
static void expect_numeric(const char *expected, int ndigits, int weight,
                           unsigned sign, int dscale, const int *digits)
{
    uint8_t bin[64];
    char out[256];
    size_t len = numeric_bin(bin, ndigits, weight, sign, dscale, digits), n = 0, n2 = 0;

    assert_int_equal(dbont_numeric_to_text(bin, len, NULL, &n), DBONT_CODEC_OK);
    assert_int_equal(n, strlen(expected));
    memset(out, '#', sizeof out);
    assert_int_equal(dbont_numeric_to_text(bin, len, out, &n2), DBONT_CODEC_OK);
    assert_int_equal(n2, n);
    assert_string_equal(out, expected);
    assert_int_equal(out[n + 1], '#');
}

static void test_numeric_zero(void **state)
{
    (void)state;
    expect_numeric("0", 0, 0, POS, 0, NULL);
    expect_numeric("0.00", 0, 0, POS, 2, NULL);
    /* A negative sign on zero is not printed. */
    expect_numeric("0.00", 0, 0, NEG, 2, NULL);
    expect_numeric("0", 0, 0, NEG, 0, NULL);
}

static void test_numeric_fractions(void **state)
{
    (void)state;
    expect_numeric("-0.5", 1, -1, NEG, 1, (const int[]){5000});
    expect_numeric("0.0001", 1, -1, POS, 4, (const int[]){1});
    expect_numeric("0.00001", 1, -2, POS, 5, (const int[]){1000});
    expect_numeric("-0.00000012", 1, -2, NEG, 8, (const int[]){12});
    expect_numeric("3.14159", 3, 0, POS, 5, (const int[]){3, 1415, 9000});
}

static void test_numeric_integers(void **state)
{
    (void)state;
    expect_numeric("1", 1, 0, POS, 0, (const int[]){1});
    expect_numeric("-9999", 1, 0, NEG, 0, (const int[]){9999});
    /* Trailing zero groups are not stored: weight says how many. */
    expect_numeric("10000", 1, 1, POS, 0, (const int[]){1});
    expect_numeric("1000000000000000000000000000000", 1, 7, POS, 0, (const int[]){100});
    expect_numeric("99990000.00001", 4, 1, POS, 5, (const int[]){9999, 0, 0, 1000});
    /* Inner groups keep their leading zeros. */
    expect_numeric("100020003", 3, 2, POS, 0, (const int[]){1, 2, 3});
}

static void test_numeric_30_digits(void **state)
{
    static const int big[] = {12, 3456, 7890, 1234, 5678, 9012, 3456, 7890, 1230};
    (void)state;
    expect_numeric("123456789012345678901234567890", 8, 7, POS, 0, big);
    expect_numeric("123456789012345678901234567890.123", 9, 7, POS, 3, big);
    expect_numeric("-123456789012345678901234567890.123", 9, 7, NEG, 3, big);
}

/* dscale beyond the stored digits pads with zeros. */
static void test_numeric_dscale_beyond_digits(void **state)
{
    (void)state;
    expect_numeric("1.500000", 2, 0, POS, 6, (const int[]){1, 5000});
    expect_numeric("12.000", 1, 0, POS, 3, (const int[]){12});
    expect_numeric("-7.0000000000", 1, 0, NEG, 10, (const int[]){7});
}

static void test_numeric_specials(void **state)
{
    (void)state;
    expect_numeric("NaN", 0, 0, NAN_, 0, NULL);
    expect_numeric("Infinity", 0, 0, PINF, 0, NULL);
    expect_numeric("-Infinity", 0, 0, NINF, 0, NULL);
}

static void test_numeric_malformed(void **state)
{
    uint8_t bin[64] = {0};
    size_t n, len;
    (void)state;
    /* Shorter than the header. */
    assert_int_equal(dbont_numeric_to_text(bin, 7, NULL, &n), DBONT_CODEC_BAD_LENGTH);
    /* ndigits says 2, one digit present. */
    len = numeric_bin(bin, 2, 0, POS, 0, (const int[]){1, 2});
    assert_int_equal(dbont_numeric_to_text(bin, len - 2, NULL, &n), DBONT_CODEC_BAD_LENGTH);
    /* Negative ndigits. */
    numeric_bin(bin, 0, 0, POS, 0, NULL);
    bin[0] = 0xFF;
    bin[1] = 0xFF;
    assert_int_equal(dbont_numeric_to_text(bin, 8, NULL, &n), DBONT_CODEC_BAD_LENGTH);
    /* Unknown sign word. */
    len = numeric_bin(bin, 0, 0, 0x1234, 0, NULL);
    assert_int_equal(dbont_numeric_to_text(bin, len, NULL, &n), DBONT_CODEC_BAD_VALUE);
    /* A base-10000 digit out of range. */
    len = numeric_bin(bin, 1, 0, POS, 0, (const int[]){10000});
    assert_int_equal(dbont_numeric_to_text(bin, len, NULL, &n), DBONT_CODEC_BAD_VALUE);
    /* Negative display scale. */
    len = numeric_bin(bin, 0, 0, POS, -1, NULL);
    assert_int_equal(dbont_numeric_to_text(bin, len, NULL, &n), DBONT_CODEC_BAD_VALUE);
}

/* Decoding a numeric writes into the arena and moves it on. */
static void test_numeric_decode_arena(void **state)
{
    uint8_t bin[64];
    char arena[32];
    char *cursor = arena;
    const char *field = NULL;
    size_t len = numeric_bin(bin, 1, -1, NEG, 1, (const int[]){5000});
    (void)state;
    assert_int_equal(dbont_decode_value(DBONT_NUMERIC, (const char *)bin, len,
                                        &field, &cursor), DBONT_CODEC_OK);
    assert_ptr_equal(field, arena);
    assert_string_equal(field, "-0.5");
    assert_ptr_equal(cursor, arena + 5);
}

/* ---- dates and timestamps ------------------------------------------- */

static void test_date_from_pg(void **state)
{
    dbont_date d = 12345;
    (void)state;
    assert_true(dbont_date_from_pg(0, &d));
    assert_int_equal(d, 10957);              /* 2000-01-01 */
    assert_true(dbont_date_from_pg(-10957, &d));
    assert_int_equal(d, 0);                  /* 1970-01-01 */
    assert_true(dbont_date_from_pg(INT32_MIN, &d));
    assert_int_equal(d, DBONT_DATE_NEG_INFINITY);
    assert_true(dbont_date_from_pg(INT32_MAX, &d));
    assert_int_equal(d, DBONT_DATE_INFINITY);
    /* Largest finite value that stays finite. */
    assert_true(dbont_date_from_pg(INT32_MAX - 10957 - 1, &d));
    assert_int_equal(d, INT32_MAX - 1);
    /* One more would become "infinity": refused, d unchanged. */
    d = 777;
    assert_false(dbont_date_from_pg(INT32_MAX - 10957, &d));
    assert_int_equal(d, 777);
    assert_false(dbont_date_from_pg(INT32_MAX - 1, &d));
    assert_int_equal(d, 777);
    /* The low end cannot overflow (the offset is positive). */
    assert_true(dbont_date_from_pg(INT32_MIN + 1, &d));
    assert_int_equal(d, INT32_MIN + 1 + 10957);
}

static void test_date_to_pg(void **state)
{
    int32_t pg = 99;
    (void)state;
    assert_true(dbont_date_to_pg(10957, &pg));
    assert_int_equal(pg, 0);
    assert_true(dbont_date_to_pg(0, &pg));
    assert_int_equal(pg, -10957);
    assert_true(dbont_date_to_pg(DBONT_DATE_INFINITY, &pg));
    assert_int_equal(pg, INT32_MAX);
    assert_true(dbont_date_to_pg(DBONT_DATE_NEG_INFINITY, &pg));
    assert_int_equal(pg, INT32_MIN);
    assert_true(dbont_date_to_pg(INT32_MIN + 10957 + 1, &pg));
    assert_int_equal(pg, INT32_MIN + 1);
    pg = 99;
    assert_false(dbont_date_to_pg(INT32_MIN + 10957, &pg));   /* would be -infinity */
    assert_false(dbont_date_to_pg(INT32_MIN + 1, &pg));       /* would wrap */
    assert_int_equal(pg, 99);
    assert_true(dbont_date_to_pg(INT32_MAX - 1, &pg));
    assert_int_equal(pg, INT32_MAX - 1 - 10957);
}

#define OFF INT64_C(946684800000000)

static void test_timestamp_from_pg(void **state)
{
    dbont_timestamp t = 5;
    (void)state;
    assert_true(dbont_timestamp_from_pg(0, &t));
    assert_true(t == OFF);
    /* 2024-01-01 00:00:00 is 1704067200 s after 1970. */
    assert_true(dbont_timestamp_from_pg((INT64_C(1704067200) - 946684800) * 1000000, &t));
    assert_true(t == INT64_C(1704067200) * 1000000);
    assert_true(dbont_timestamp_from_pg(INT64_MIN, &t));
    assert_true(t == DBONT_TIMESTAMP_NEG_INFINITY);
    assert_true(dbont_timestamp_from_pg(INT64_MAX, &t));
    assert_true(t == DBONT_TIMESTAMP_INFINITY);
    assert_true(dbont_timestamp_from_pg(INT64_MAX - OFF - 1, &t));
    assert_true(t == INT64_MAX - 1);
    t = 5;
    assert_false(dbont_timestamp_from_pg(INT64_MAX - OFF, &t));
    assert_false(dbont_timestamp_from_pg(INT64_MAX - 1, &t));
    assert_true(t == 5);
    assert_true(dbont_timestamp_from_pg(INT64_MIN + 1, &t));
    assert_true(t == INT64_MIN + 1 + OFF);
}

static void test_timestamp_to_pg(void **state)
{
    int64_t pg = 5;
    (void)state;
    assert_true(dbont_timestamp_to_pg(OFF, &pg));
    assert_true(pg == 0);
    assert_true(dbont_timestamp_to_pg(0, &pg));
    assert_true(pg == -OFF);
    assert_true(dbont_timestamp_to_pg(DBONT_TIMESTAMP_INFINITY, &pg));
    assert_true(pg == INT64_MAX);
    assert_true(dbont_timestamp_to_pg(DBONT_TIMESTAMP_NEG_INFINITY, &pg));
    assert_true(pg == INT64_MIN);
    assert_true(dbont_timestamp_to_pg(INT64_MIN + OFF + 1, &pg));
    assert_true(pg == INT64_MIN + 1);
    pg = 5;
    assert_false(dbont_timestamp_to_pg(INT64_MIN + OFF, &pg));
    assert_false(dbont_timestamp_to_pg(INT64_MIN + 1, &pg));
    assert_true(pg == 5);
    assert_true(dbont_timestamp_to_pg(INT64_MAX - 1, &pg));
    assert_true(pg == INT64_MAX - 1 - OFF);
}

/* Decoding goes through the same rules: out-of-range is OVERFLOW. */
static void test_timestamp_decode_overflow(void **state)
{
    /* INT64_MAX - 1 big-endian: finite in PostgreSQL, too far for dbont. */
    static const uint8_t far[8] = {0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE};
    static const uint8_t inf[8] = {0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    dbont_timestamp t = 0;
    char *arena = NULL;
    (void)state;
    assert_int_equal(dbont_decode_value(DBONT_TIMESTAMPTZ, (const char *)far, 8, &t, &arena),
                     DBONT_CODEC_OVERFLOW);
    assert_int_equal(dbont_decode_value(DBONT_TIMESTAMP, (const char *)inf, 8, &t, &arena),
                     DBONT_CODEC_OK);
    assert_true(t == DBONT_TIMESTAMP_INFINITY);
}

/* ---- fixed-size values ------------------------------------------- */

static void test_encode_integers(void **state)
{
    uint8_t scratch[8];
    const char *value;
    int length, format;
    int16_t i2 = -2;
    int32_t i4 = INT32_MIN;
    int64_t i8 = INT64_C(0x0102030405060708);
    (void)state;
    assert_int_equal(dbont_encode_value(DBONT_SMALLINT, &i2, scratch, &value, &length, &format),
                     DBONT_CODEC_OK);
    assert_int_equal(length, 2);
    assert_int_equal(format, 1);
    assert_ptr_equal(value, (const char *)scratch);
    assert_memory_equal(scratch, "\xFF\xFE", 2);
    dbont_encode_value(DBONT_INTEGER, &i4, scratch, &value, &length, &format);
    assert_int_equal(length, 4);
    assert_memory_equal(scratch, "\x80\x00\x00\x00", 4);
    dbont_encode_value(DBONT_BIGINT, &i8, scratch, &value, &length, &format);
    assert_int_equal(length, 8);
    assert_memory_equal(scratch, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
}

static void test_decode_integers(void **state)
{
    int16_t i2 = 0;
    int32_t i4 = 0;
    int64_t i8 = 0;
    char *arena = NULL;
    (void)state;
    assert_int_equal(dbont_decode_value(DBONT_SMALLINT, "\x80\x00", 2, &i2, &arena), DBONT_CODEC_OK);
    assert_int_equal(i2, INT16_MIN);
    assert_int_equal(dbont_decode_value(DBONT_INTEGER, "\xFF\xFF\xFF\xFE", 4, &i4, &arena), DBONT_CODEC_OK);
    assert_int_equal(i4, -2);
    assert_int_equal(dbont_decode_value(DBONT_BIGINT, "\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 8, &i8, &arena),
                     DBONT_CODEC_OK);
    assert_true(i8 == INT64_MAX);
    /* Wrong sizes are refused before reading. */
    assert_int_equal(dbont_decode_value(DBONT_INTEGER, "\x00\x00\x01", 3, &i4, &arena),
                     DBONT_CODEC_BAD_LENGTH);
    assert_int_equal(dbont_decode_value(DBONT_BIGINT, "\x00\x00\x00\x01", 4, &i8, &arena),
                     DBONT_CODEC_BAD_LENGTH);
    assert_int_equal(dbont_decode_value(DBONT_UUID, "", 0, &i8, &arena), DBONT_CODEC_BAD_LENGTH);
    assert_true(i8 == INT64_MAX);
}

static void test_floats_and_bool(void **state)
{
    uint8_t scratch[8];
    const char *value;
    int length, format;
    float f = 1.5f, fback = 0;
    double d = -2.0, dback = 0;
    bool b = true, bback = false;
    char *arena = NULL;
    (void)state;
    dbont_encode_value(DBONT_REAL, &f, scratch, &value, &length, &format);
    assert_int_equal(length, 4);
    assert_memory_equal(scratch, "\x3F\xC0\x00\x00", 4);
    assert_int_equal(dbont_decode_value(DBONT_REAL, value, 4, &fback, &arena), DBONT_CODEC_OK);
    assert_true(fback == 1.5f);
    dbont_encode_value(DBONT_DOUBLE, &d, scratch, &value, &length, &format);
    assert_int_equal(length, 8);
    assert_memory_equal(scratch, "\xC0\x00\x00\x00\x00\x00\x00\x00", 8);
    assert_int_equal(dbont_decode_value(DBONT_DOUBLE, value, 8, &dback, &arena), DBONT_CODEC_OK);
    assert_true(dback == -2.0);
    dbont_encode_value(DBONT_BOOLEAN, &b, scratch, &value, &length, &format);
    assert_int_equal(length, 1);
    assert_int_equal(scratch[0], 1);
    assert_int_equal(dbont_decode_value(DBONT_BOOLEAN, "\x01", 1, &bback, &arena), DBONT_CODEC_OK);
    assert_true(bback);
    assert_int_equal(dbont_decode_value(DBONT_BOOLEAN, "\x00", 1, &bback, &arena), DBONT_CODEC_OK);
    assert_false(bback);
}

static void test_date_encode_decode(void **state)
{
    uint8_t scratch[8];
    const char *value;
    int length, format;
    dbont_date d = 10957 + 31, back = 0, bad = INT32_MIN + 5;
    char *arena = NULL;
    (void)state;
    assert_int_equal(dbont_encode_value(DBONT_DATE, &d, scratch, &value, &length, &format),
                     DBONT_CODEC_OK);
    assert_memory_equal(scratch, "\x00\x00\x00\x1F", 4);    /* 2000-02-01 */
    assert_int_equal(dbont_decode_value(DBONT_DATE, value, 4, &back, &arena), DBONT_CODEC_OK);
    assert_int_equal(back, d);
    assert_int_equal(dbont_encode_value(DBONT_DATE, &bad, scratch, &value, &length, &format),
                     DBONT_CODEC_OVERFLOW);
}

/* ---- values that are not copied ------------------------------------- */

static void test_uuid_bytea_text_point_at_caller(void **state)
{
    uint8_t scratch[8];
    const char *value;
    int length, format;
    dbont_uuid u;
    dbont_bytes b;
    const char *text = "héllo";
    (void)state;
    memset(u.bytes, 7, 16);
    dbont_encode_value(DBONT_UUID, &u, scratch, &value, &length, &format);
    assert_ptr_equal(value, (const char *)u.bytes);
    assert_int_equal(length, 16);
    assert_int_equal(format, 1);

    b.data = (const uint8_t *)"a\0b";
    b.len = 3;
    dbont_encode_value(DBONT_BYTEA, &b, scratch, &value, &length, &format);
    assert_ptr_equal(value, (const char *)b.data);
    assert_int_equal(length, 3);
    assert_int_equal(format, 1);

    /* Empty bytea with no buffer: a non-NULL pointer (NULL is SQL NULL). */
    b.data = NULL;
    b.len = 0;
    dbont_encode_value(DBONT_BYTEA, &b, scratch, &value, &length, &format);
    assert_non_null(value);
    assert_int_equal(length, 0);
    b.len = 2;
    assert_int_equal(dbont_encode_value(DBONT_BYTEA, &b, scratch, &value, &length, &format),
                     DBONT_CODEC_BAD_VALUE);
    b.data = (const uint8_t *)"x";
    b.len = (size_t)INT_MAX + 1;
    assert_int_equal(dbont_encode_value(DBONT_BYTEA, &b, scratch, &value, &length, &format),
                     DBONT_CODEC_TOO_LONG);

    assert_int_equal(dbont_encode_value(DBONT_NUMERIC, &text, scratch, &value, &length, &format),
                     DBONT_CODEC_OK);
    assert_ptr_equal(value, text);
    assert_int_equal(format, 0);
    dbont_encode_value(DBONT_JSONB, &text, scratch, &value, &length, &format);
    assert_ptr_equal(value, text);
    assert_int_equal(format, 0);
}

static void test_decode_text_jsonb_bytea(void **state)
{
    const char *field = NULL;
    dbont_bytes b = {NULL, 0};
    char *arena = NULL;
    static const char json[] = "\x01{\"a\": 1}";
    (void)state;
    assert_int_equal(dbont_decode_value(DBONT_TEXT, "abc", 3, &field, &arena), DBONT_CODEC_OK);
    assert_string_equal(field, "abc");
    assert_int_equal(dbont_decode_value(DBONT_JSONB, json, sizeof json - 1, &field, &arena),
                     DBONT_CODEC_OK);
    assert_ptr_equal(field, json + 1);
    assert_string_equal(field, "{\"a\": 1}");
    assert_int_equal(dbont_decode_value(DBONT_JSONB, "\x02{}", 3, &field, &arena),
                     DBONT_CODEC_BAD_VALUE);
    assert_int_equal(dbont_decode_value(DBONT_JSONB, "", 0, &field, &arena),
                     DBONT_CODEC_BAD_LENGTH);
    assert_int_equal(dbont_decode_value(DBONT_BYTEA, "a\0b", 3, &b, &arena), DBONT_CODEC_OK);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b", 3);
}

static void test_type_table(void **state)
{
    (void)state;
    assert_int_equal(dbont_type_oid(DBONT_SMALLINT), 21);
    assert_int_equal(dbont_type_oid(DBONT_INTEGER), 23);
    assert_int_equal(dbont_type_oid(DBONT_BIGINT), 20);
    assert_int_equal(dbont_type_oid(DBONT_BOOLEAN), 16);
    assert_int_equal(dbont_type_oid(DBONT_REAL), 700);
    assert_int_equal(dbont_type_oid(DBONT_DOUBLE), 701);
    assert_int_equal(dbont_type_oid(DBONT_NUMERIC), 1700);
    assert_int_equal(dbont_type_oid(DBONT_TEXT), 25);
    assert_int_equal(dbont_type_oid(DBONT_VARCHAR), 1043);
    assert_int_equal(dbont_type_oid(DBONT_UUID), 2950);
    assert_int_equal(dbont_type_oid(DBONT_DATE), 1082);
    assert_int_equal(dbont_type_oid(DBONT_TIMESTAMP), 1114);
    assert_int_equal(dbont_type_oid(DBONT_TIMESTAMPTZ), 1184);
    assert_int_equal(dbont_type_oid(DBONT_JSONB), 3802);
    assert_int_equal(dbont_type_oid(DBONT_BYTEA), 17);
    assert_string_equal(dbont_oid_name(1184), "timestamp with time zone");
    assert_string_equal(dbont_type_name(DBONT_VARCHAR), "character varying");
    assert_null(dbont_oid_name(114));   /* json: not a dbont type */
    assert_true(dbont_type_is_text(DBONT_NUMERIC));
    assert_false(dbont_type_is_text(DBONT_BYTEA));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_zero),
        cmocka_unit_test(test_numeric_fractions),
        cmocka_unit_test(test_numeric_integers),
        cmocka_unit_test(test_numeric_30_digits),
        cmocka_unit_test(test_numeric_dscale_beyond_digits),
        cmocka_unit_test(test_numeric_specials),
        cmocka_unit_test(test_numeric_malformed),
        cmocka_unit_test(test_numeric_decode_arena),
        cmocka_unit_test(test_date_from_pg),
        cmocka_unit_test(test_date_to_pg),
        cmocka_unit_test(test_timestamp_from_pg),
        cmocka_unit_test(test_timestamp_to_pg),
        cmocka_unit_test(test_timestamp_decode_overflow),
        cmocka_unit_test(test_encode_integers),
        cmocka_unit_test(test_decode_integers),
        cmocka_unit_test(test_floats_and_bool),
        cmocka_unit_test(test_date_encode_decode),
        cmocka_unit_test(test_uuid_bytea_text_point_at_caller),
        cmocka_unit_test(test_decode_text_jsonb_bytea),
        cmocka_unit_test(test_type_table),
    };
    return cmocka_run_group_tests_name("unit_runtime_codec", tests, NULL, NULL);
}
