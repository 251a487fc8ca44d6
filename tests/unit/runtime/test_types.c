/* Unit tests: uuid text form (dbont/types.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dbont/types.h"

static const uint8_t sample_bytes[16] = {
    0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3,
    0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00,
};

static void test_parse_lower(void **state)
{
    dbont_uuid u;
    (void)state;
    assert_int_equal(dbont_uuid_parse("123e4567-e89b-12d3-a456-426614174000", &u), 0);
    assert_memory_equal(u.bytes, sample_bytes, 16);
}

static void test_parse_upper_and_mixed(void **state)
{
    dbont_uuid u;
    (void)state;
    assert_int_equal(dbont_uuid_parse("123E4567-E89B-12D3-A456-426614174000", &u), 0);
    assert_memory_equal(u.bytes, sample_bytes, 16);
    assert_int_equal(dbont_uuid_parse("123e4567-E89b-12D3-a456-426614174000", &u), 0);
    assert_memory_equal(u.bytes, sample_bytes, 16);
}

static void test_format(void **state)
{
    dbont_uuid u;
    char text[DBONT_UUID_TEXT_SIZE];
    (void)state;
    memcpy(u.bytes, sample_bytes, 16);
    memset(text, 'x', sizeof text);
    dbont_uuid_format(&u, text);
    assert_string_equal(text, "123e4567-e89b-12d3-a456-426614174000");
    memset(u.bytes, 0xff, 16);
    dbont_uuid_format(&u, text);
    assert_string_equal(text, "ffffffff-ffff-ffff-ffff-ffffffffffff");
}

static void test_round_trip(void **state)
{
    dbont_uuid u, back;
    char text[DBONT_UUID_TEXT_SIZE];
    int i;
    (void)state;
    for (i = 0; i < 16; i++)
        u.bytes[i] = (uint8_t)(i * 17 + 3);
    dbont_uuid_format(&u, text);
    assert_int_equal(dbont_uuid_parse(text, &back), 0);
    assert_memory_equal(u.bytes, back.bytes, 16);
}

/* Each bad input fails and leaves the output untouched. */
static void expect_rejected(const char *text)
{
    dbont_uuid u;
    memset(u.bytes, 0xAA, 16);
    assert_int_equal(dbont_uuid_parse(text, &u), -1);
    for (int i = 0; i < 16; i++)
        assert_int_equal(u.bytes[i], 0xAA);
}

static void test_bad_length(void **state)
{
    (void)state;
    expect_rejected("");
    expect_rejected("123e4567-e89b-12d3-a456-42661417400");     /* 35 */
    expect_rejected("123e4567-e89b-12d3-a456-4266141740000");   /* 37 */
    expect_rejected("123e4567e89b12d3a456426614174000");        /* no hyphens */
    expect_rejected(NULL);
}

static void test_bad_hex_and_hyphens(void **state)
{
    (void)state;
    expect_rejected("123e4567-e89b-12d3-a456-42661417400g");
    expect_rejected("123e4567-e89b-12d3-a456-42661417 000");
    expect_rejected("123e4567+e89b-12d3-a456-426614174000");
    expect_rejected("123e456-7e89b-12d3-a456-426614174000");
    expect_rejected("{23e4567-e89b-12d3-a456-426614174000");
}

/* Version and variant bits are set, and two uuids differ (a fixed or
 * zeroed result would fail the second check). */
static void test_random(void **state)
{
    (void)state;
    dbont_uuid a, b;
    assert_int_equal(dbont_uuid_random(&a), 0);
    assert_int_equal(dbont_uuid_random(&b), 0);
    assert_int_equal(a.bytes[6] >> 4, 4);
    assert_int_equal(a.bytes[8] >> 6, 2);
    assert_int_equal(b.bytes[6] >> 4, 4);
    assert_memory_not_equal(a.bytes, b.bytes, 16);
    char text[DBONT_UUID_TEXT_SIZE];
    dbont_uuid_format(&a, text);
    assert_int_equal(text[14], '4');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_lower),
        cmocka_unit_test(test_parse_upper_and_mixed),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_length),
        cmocka_unit_test(test_bad_hex_and_hyphens),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests_name("unit_runtime_types", tests, NULL, NULL);
}
