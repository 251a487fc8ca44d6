/*
 * Unit tests: decimal text -> binary numeric (runtime/src/codec.c,
 * dbont_numeric_parse and dbont_numeric_from_text), the encoder behind
 * numeric values in binary COPY.  What it must accept and refuse is
 * PostgreSQL 15's numeric_in; the integration test (tests/integration/
 * query) compares the same cases with a real server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"

#define POS 0x0000
#define NEG 0x4000
#define NAN_ 0xC000
#define PINF 0xD000
#define NINF 0xF000

static unsigned u16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* text encodes to exactly this header and these digits. */
static void expect_binary(const char *text, int ndigits, int weight, unsigned sign, int dscale,
                          const int *digits)
{
    uint8_t bin[256];
    size_t len = 0;
    int i;
    dbont_codec_status st = dbont_numeric_from_text(text, bin, sizeof bin, &len);

    if (st != DBONT_CODEC_OK)
        fail_msg("\"%s\": status %d", text, (int)st);
    assert_int_equal(len, 8 + 2 * (size_t)ndigits);
    if ((int)u16(bin) != ndigits || (int16_t)u16(bin + 2) != weight || u16(bin + 4) != sign ||
        (int)u16(bin + 6) != dscale)
        fail_msg("\"%s\": got ndigits %u weight %d sign %04x dscale %u", text, u16(bin),
                 (int16_t)u16(bin + 2), u16(bin + 4), u16(bin + 6));
    for (i = 0; i < ndigits; i++)
        if ((int)u16(bin + 8 + 2 * i) != digits[i])
            fail_msg("\"%s\": digit %d is %u, expected %d", text, i, u16(bin + 8 + 2 * i),
                     digits[i]);
}

/* text encodes, and decoding gives back expected (the server's output). */
static void expect_round_trip(const char *text, const char *expected)
{
    uint8_t bin[1024];
    char out[2048];
    size_t len = 0, n = 0;

    if (dbont_numeric_from_text(text, bin, sizeof bin, &len) != DBONT_CODEC_OK)
        fail_msg("\"%s\" refused", text);
    assert_int_equal(dbont_numeric_to_text(bin, len, out, &n), DBONT_CODEC_OK);
    if (strcmp(out, expected) != 0)
        fail_msg("\"%s\": decoded \"%s\", expected \"%s\"", text, out, expected);
}

static void expect_status(const char *text, dbont_codec_status expected)
{
    dbont_numeric_text n;
    dbont_codec_status st = dbont_numeric_parse(text, &n);
    if (st != expected)
        fail_msg("\"%s\": status %d, expected %d", text, (int)st, (int)expected);
}

static void test_zero(void **state)
{
    (void)state;
    expect_binary("0", 0, 0, POS, 0, NULL);
    expect_binary("-0", 0, 0, POS, 0, NULL);
    expect_binary("-0.00", 0, 0, POS, 2, NULL);
    expect_binary("000.000", 0, 0, POS, 3, NULL);
    expect_binary("0e10", 0, 0, POS, 0, NULL);
    expect_binary("0.0e-3", 0, 0, POS, 4, NULL);
}

static void test_integers_and_fractions(void **state)
{
    (void)state;
    expect_binary("1", 1, 0, POS, 0, (const int[]){1});
    expect_binary("-9999", 1, 0, NEG, 0, (const int[]){9999});
    expect_binary("10000", 1, 1, POS, 0, (const int[]){1});
    expect_binary("12345.678", 3, 1, POS, 3, (const int[]){1, 2345, 6780});
    expect_binary("100020003", 3, 2, POS, 0, (const int[]){1, 2, 3});
    expect_binary("99990000.00001", 4, 1, POS, 5, (const int[]){9999, 0, 0, 1000});
    expect_binary("0.0001", 1, -1, POS, 4, (const int[]){1});
    expect_binary("0.00001", 1, -2, POS, 5, (const int[]){1000});
    expect_binary("-0.00000012", 1, -2, NEG, 8, (const int[]){12});
    expect_binary("3.14159", 3, 0, POS, 5, (const int[]){3, 1415, 9000});
}

/* Leading zeros are dropped, trailing fractional zeros kept in dscale. */
static void test_leading_trailing_zeros(void **state)
{
    (void)state;
    expect_binary("00012.3400", 2, 0, POS, 4, (const int[]){12, 3400});
    expect_binary("1.500000", 2, 0, POS, 6, (const int[]){1, 5000});
    expect_binary("0001000", 1, 0, POS, 0, (const int[]){1000});
    expect_round_trip("00012.3400", "12.3400");
    expect_round_trip("-000.0100", "-0.0100");
}

static void test_points_and_signs(void **state)
{
    (void)state;
    expect_binary(".5", 1, -1, POS, 1, (const int[]){5000});
    expect_binary("5.", 1, 0, POS, 0, (const int[]){5});
    expect_binary("+.5", 1, -1, POS, 1, (const int[]){5000});
    expect_binary("-.5", 1, -1, NEG, 1, (const int[]){5000});
    expect_binary("+7", 1, 0, POS, 0, (const int[]){7});
    expect_binary("  \t-7 \n", 1, 0, NEG, 0, (const int[]){7});
}

/* dscale = fractional digits written - exponent, at least 0. */
static void test_exponents(void **state)
{
    (void)state;
    expect_binary("1.5e3", 1, 0, POS, 0, (const int[]){1500});
    expect_binary("1.5E3", 1, 0, POS, 0, (const int[]){1500});
    expect_binary("1.5e-3", 1, -1, POS, 4, (const int[]){15});
    expect_binary("1.50e+1", 1, 0, POS, 1, (const int[]){15});
    expect_binary("12e4", 1, 1, POS, 0, (const int[]){12});
    expect_binary("-2.5e-1", 1, -1, NEG, 2, (const int[]){2500});
    /* strtol lets white space come between the 'e' and the number. */
    expect_binary("1e 5", 1, 1, POS, 0, (const int[]){10});
    expect_round_trip("1.5e3", "1500");
    expect_round_trip("1.5e-3", "0.0015");
    expect_round_trip("123.456e1", "1234.56");
    expect_round_trip("123.456e-10", "0.0000000123456");
    expect_round_trip("9.99e20", "999000000000000000000");
}

static void test_specials(void **state)
{
    static const struct {
        const char *text;
        unsigned sign;
    } cases[] = {
        {"NaN", NAN_},        {"nan", NAN_},        {" NAN ", NAN_},
        {"Infinity", PINF},   {"infinity", PINF},   {"+Infinity", PINF},
        {"-Infinity", NINF},  {"inf", PINF},        {"+INF", PINF},
        {"-inf", NINF},       {"  -Infinity\t", NINF},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_binary(cases[i].text, 0, 0, cases[i].sign, 0, NULL);
    expect_round_trip("-inf", "-Infinity");
}

static void test_syntax_errors(void **state)
{
    static const char *const bad[] = {
        "", " ", ".", "+", "-", "+-1", "- 1", "1 2", "1.2.3", "..5", "1e", "1e+", "1e- 5",
        "e5", "1_000", "0x10", "1,5", "infinity1", "NaNx", "infinit", "1e5x", "abc", "1d",
        "\xc2\xa0\x31", "1.5e3.0",
    };
    size_t i;
    dbont_numeric_text n;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_status(bad[i], DBONT_CODEC_BAD_VALUE);
    assert_int_equal(dbont_numeric_parse(NULL, &n), DBONT_CODEC_BAD_VALUE);
}

/* The limits of the storage format: weight in int16, dscale <= 16383,
 * |exponent| < 2^30. */
static void test_limits(void **state)
{
    dbont_numeric_text n;
    (void)state;
    assert_int_equal(dbont_numeric_parse("1e131071", &n), DBONT_CODEC_OK);
    assert_int_equal(n.weight, 32767);
    assert_int_equal(n.ndigits, 1);
    assert_int_equal(dbont_numeric_parse("9999e131068", &n), DBONT_CODEC_OK);
    expect_status("1e131072", DBONT_CODEC_OVERFLOW);
    assert_int_equal(dbont_numeric_parse("1e-16383", &n), DBONT_CODEC_OK);
    assert_int_equal(n.dscale, 16383);
    assert_int_equal(n.weight, -4096);
    expect_status("1e-16384", DBONT_CODEC_OVERFLOW);
    expect_status("0e-20000", DBONT_CODEC_OVERFLOW);
    expect_status("0.0e-16383", DBONT_CODEC_OVERFLOW);
    expect_status("1e99999999999999999999", DBONT_CODEC_OVERFLOW);
    expect_status("1e1073741823", DBONT_CODEC_OVERFLOW);
    expect_status("1e-1073741823", DBONT_CODEC_OVERFLOW);
    /* An exponent overflow is found while parsing, before trailing junk. */
    expect_status("1e99999999999 x", DBONT_CODEC_OVERFLOW);
    /* Trailing junk is reported before a weight or scale overflow. */
    expect_status("1e131072 x", DBONT_CODEC_BAD_VALUE);
    /* A zero with a huge exponent is still zero. */
    assert_int_equal(dbont_numeric_parse("0e1073741822", &n), DBONT_CODEC_OK);
}

/* A long value: 1000 digits before the point and 1000 after. */
static void test_long_value(void **state)
{
    char text[2100], expected[2100];
    uint8_t *bin = malloc(2000);
    char *out = malloc(4000);
    size_t len = 0, n = 0, i;
    (void)state;
    for (i = 0; i < 1000; i++)
        text[i] = (char)('1' + i % 9);
    text[1000] = '.';
    for (i = 0; i < 1000; i++)
        text[1001 + i] = (char)('0' + i % 10);
    text[2001] = '\0';
    strcpy(expected, text);
    assert_int_equal(dbont_numeric_from_text(text, bin, 2000, &len), DBONT_CODEC_OK);
    assert_int_equal(len, 8 + 2 * 500);
    assert_int_equal(dbont_numeric_to_text(bin, len, out, &n), DBONT_CODEC_OK);
    assert_string_equal(out, expected);
    /* Too small a buffer: the size is still reported. */
    assert_int_equal(dbont_numeric_from_text(text, bin, 100, &len), DBONT_CODEC_TOO_LONG);
    assert_int_equal(len, 8 + 2 * 500);
    free(bin);
    free(out);
}

/* Every value of a range of integers and decimals round-trips. */
static void test_round_trip_sweep(void **state)
{
    char text[64];
    long v;
    int scale;
    (void)state;
    for (v = -20001; v <= 20001; v += 7) {
        for (scale = 0; scale <= 6; scale++) {
            /* v / 10^scale written with exactly `scale` decimals. */
            long a = v < 0 ? -v : v, p = 1;
            int k;
            char frac[16];
            for (k = 0; k < scale; k++)
                p *= 10;
            if (scale == 0) {
                snprintf(text, sizeof text, "%s%ld", v < 0 ? "-" : "", a);
            } else {
                snprintf(frac, sizeof frac, "%0*ld", scale, a % p);
                snprintf(text, sizeof text, "%s%ld.%s", v < 0 ? "-" : "", a / p, frac);
            }
            expect_round_trip(text, text);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero),
        cmocka_unit_test(test_integers_and_fractions),
        cmocka_unit_test(test_leading_trailing_zeros),
        cmocka_unit_test(test_points_and_signs),
        cmocka_unit_test(test_exponents),
        cmocka_unit_test(test_specials),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_long_value),
        cmocka_unit_test(test_round_trip_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
