/*
 * Unit tests: the binary COPY stream writer (runtime/src/copyfmt.c).
 * The bytes are compared with the format PostgreSQL documents for COPY
 * BINARY; the integration test loads such streams into a real server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "copyfmt.h"

/* A flush callback that collects everything (up to 64 KiB). */
typedef struct sink {
    char data[65536];
    size_t len;
    int flushes;
    int fail_after;     /* fail the flush after this many; -1 never */
} sink;

static int collect(void *ctx, const char *data, size_t len)
{
    sink *s = ctx;
    if (s->fail_after >= 0 && s->flushes >= s->fail_after)
        return -1;
    assert_true(s->len + len <= sizeof s->data);
    memcpy(s->data + s->len, data, len);
    s->len += len;
    s->flushes++;
    return 0;
}

static sink *new_sink(void)
{
    sink *s = calloc(1, sizeof *s);
    s->fail_after = -1;
    return s;
}

static void test_header_and_trailer(void **state)
{
    static const unsigned char expected[] = {
        'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0,   /* signature */
        0, 0, 0, 0,                                                 /* flags */
        0, 0, 0, 0,                                                 /* extension */
        0xff, 0xff,                                                 /* trailer */
    };
    char buf[64];
    dbont_copybuf b;
    sink *s = new_sink();
    (void)state;
    dbont_copybuf_init(&b, buf, sizeof buf, collect, s);
    dbont_copybuf_header(&b);
    assert_int_equal(b.len, DBONT_COPY_HEADER_SIZE);
    dbont_copybuf_trailer(&b);
    assert_int_equal(s->len, 0);    /* nothing flushed before asked */
    assert_int_equal(dbont_copybuf_flush(&b), 0);
    assert_int_equal(s->len, sizeof expected);
    assert_memory_equal(s->data, expected, sizeof expected);
    free(s);
}

/* One tuple of every kind of field, byte for byte. */
static void test_tuple_bytes(void **state)
{
    int32_t i4 = -2;
    int64_t i8 = 1;
    bool flag = true;
    const char *text = "hi", *json = "{}", *num = "-12.5";
    dbont_uuid u;
    dbont_bytes by = {(const uint8_t *)"\0\1", 2};
    dbont_date day = 10957;                    /* 2000-01-01: 0 on the wire */
    dbont_timestamp ts = INT64_C(946684800000001);   /* 2000-01-01 + 1 us */
    static const unsigned char expected[] = {
        0, 9,                                   /* 9 fields */
        0, 0, 0, 4, 0xff, 0xff, 0xff, 0xfe,     /* integer -2 */
        0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1,     /* bigint 1 */
        0, 0, 0, 1, 1,                          /* true */
        0xff, 0xff, 0xff, 0xff,                 /* NULL */
        0, 0, 0, 2, 'h', 'i',                   /* text */
        0, 0, 0, 3, 1, '{', '}',                /* jsonb: version 1 */
        0, 0, 0, 12, 0, 2, 0, 0, 0x40, 0, 0, 1, 0, 12, 0x13, 0x88, /* -12.5 */
        0, 0, 0, 2, 0, 1,                       /* bytea */
        0, 0, 0, 4, 0, 0, 0, 0,                 /* date */
        0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1,     /* timestamp */
    };
    char buf[256];
    dbont_copybuf b;
    sink *s = new_sink();
    (void)state;
    memset(u.bytes, 0xab, sizeof u.bytes);
    dbont_copybuf_init(&b, buf, sizeof buf, collect, s);
    dbont_copybuf_tuple(&b, 9);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_INTEGER, &i4), DBONT_CODEC_OK);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_BIGINT, &i8), DBONT_CODEC_OK);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_BOOLEAN, &flag), DBONT_CODEC_OK);
    dbont_copybuf_null(&b);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_TEXT, &text), DBONT_CODEC_OK);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_JSONB, &json), DBONT_CODEC_OK);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_NUMERIC, &num), DBONT_CODEC_OK);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_BYTEA, &by), DBONT_CODEC_OK);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_DATE, &day), DBONT_CODEC_OK);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_TIMESTAMPTZ, &ts), DBONT_CODEC_OK);
    dbont_copybuf_flush(&b);
    assert_int_equal(s->len, sizeof expected);
    assert_memory_equal(s->data, expected, sizeof expected);

    /* A uuid is its 16 bytes. */
    s->len = 0;
    assert_int_equal(dbont_copybuf_value(&b, DBONT_UUID, &u), DBONT_CODEC_OK);
    dbont_copybuf_flush(&b);
    assert_int_equal(s->len, 20);
    assert_int_equal((unsigned char)s->data[3], 16);
    assert_memory_equal(s->data + 4, u.bytes, 16);
    free(s);
}

/* Writes a fixed mix of rows with a buffer of cap bytes; returns the sink. */
static sink *write_rows(size_t cap)
{
    char *buf = malloc(cap);
    char long_text[3000];
    const char *lt = long_text, *num = "123456789012345678901234567890.0123456789";
    dbont_copybuf b;
    sink *s = new_sink();
    int row;

    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    dbont_copybuf_init(&b, buf, cap, collect, s);
    dbont_copybuf_header(&b);
    for (row = 0; row < 20; row++) {
        int32_t v = row;
        dbont_copybuf_tuple(&b, 3);
        assert_int_equal(dbont_copybuf_value(&b, DBONT_INTEGER, &v), DBONT_CODEC_OK);
        assert_int_equal(dbont_copybuf_value(&b, DBONT_TEXT, &lt), DBONT_CODEC_OK);
        assert_int_equal(dbont_copybuf_value(&b, DBONT_NUMERIC, &num), DBONT_CODEC_OK);
    }
    dbont_copybuf_trailer(&b);
    assert_int_equal(dbont_copybuf_flush(&b), 0);
    free(buf);
    return s;
}

/* Values span flushes: a 16-byte buffer gives the same stream as a big
 * one, in full buffers. */
static void test_small_buffer_same_stream(void **state)
{
    sink *big = write_rows(65536), *small = write_rows(16);
    (void)state;
    assert_int_equal(big->flushes, 1);
    assert_true(small->flushes > 1000);
    assert_int_equal(small->len, big->len);
    assert_memory_equal(small->data, big->data, big->len);
    free(big);
    free(small);
}

/* After a failed flush, nothing more is handed on and flush says so. */
static void test_flush_failure(void **state)
{
    char buf[16];
    const char *text = "a text longer than the buffer";
    dbont_copybuf b;
    sink *s = new_sink();
    (void)state;
    s->fail_after = 1;
    dbont_copybuf_init(&b, buf, sizeof buf, collect, s);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_TEXT, &text), DBONT_CODEC_OK);
    dbont_copybuf_value(&b, DBONT_TEXT, &text);
    assert_true(b.failed);
    assert_int_equal(s->flushes, 1);
    assert_int_equal(s->len, 16);
    assert_int_equal(dbont_copybuf_flush(&b), -1);
    free(s);
}

/* Values that cannot be encoded write nothing and are found by the check
 * too. */
static void test_refused_values(void **state)
{
    char buf[64];
    dbont_copybuf b;
    const char *bad_num = "1.2.3", *big_num = "1e131072", *ok_num = "1e131071";
    dbont_date far = INT32_MIN + 1;
    dbont_bytes nodata = {NULL, 3}, empty = {NULL, 0};
    sink *s = new_sink();
    (void)state;
    dbont_copybuf_init(&b, buf, sizeof buf, collect, s);
    assert_int_equal(dbont_copy_check_value(DBONT_NUMERIC, &bad_num), DBONT_CODEC_BAD_VALUE);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_NUMERIC, &bad_num), DBONT_CODEC_BAD_VALUE);
    assert_int_equal(dbont_copy_check_value(DBONT_NUMERIC, &big_num), DBONT_CODEC_OVERFLOW);
    assert_int_equal(dbont_copy_check_value(DBONT_NUMERIC, &ok_num), DBONT_CODEC_OK);
    assert_int_equal(dbont_copy_check_value(DBONT_DATE, &far), DBONT_CODEC_OVERFLOW);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_DATE, &far), DBONT_CODEC_OVERFLOW);
    assert_int_equal(dbont_copy_check_value(DBONT_BYTEA, &nodata), DBONT_CODEC_BAD_VALUE);
    assert_int_equal(dbont_copybuf_value(&b, DBONT_BYTEA, &nodata), DBONT_CODEC_BAD_VALUE);
    assert_int_equal(b.len, 0);
    /* An empty bytea with no data pointer is an empty value, not NULL. */
    assert_int_equal(dbont_copybuf_value(&b, DBONT_BYTEA, &empty), DBONT_CODEC_OK);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.buf, "\0\0\0\0", 4);
    free(s);
}

/* The row a COPY error's context names. */
static void test_row_from_context(void **state)
{
    (void)state;
    assert_int_equal(dbont_copy_row_from_context("COPY posts, line 58", 100), 57);
    assert_int_equal(dbont_copy_row_from_context("COPY posts, line 1, column title: \"x\"", 100), 0);
    assert_int_equal(dbont_copy_row_from_context("COPY posts, line 100", 100), 99);
    /* Beyond the rows sent (the trailer), or line 0 (the header). */
    assert_true(dbont_copy_row_from_context("COPY posts, line 101", 100) == DBONT_COPY_NO_ROW);
    assert_true(dbont_copy_row_from_context("COPY posts, line 0", 100) == DBONT_COPY_NO_ROW);
    /* Among other lines, e.g. from a trigger function. */
    assert_int_equal(dbont_copy_row_from_context("PL/pgSQL function f() line 3 at RAISE\n"
                                                 "COPY posts, line 7", 10), 6);
    /* Translated messages (German, French). */
    assert_int_equal(dbont_copy_row_from_context("COPY posts, Zeile 12, Spalte title", 20), 11);
    assert_int_equal(dbont_copy_row_from_context("COPY posts, ligne 3", 20), 2);
    /* A table name with a comma and a space in it. */
    assert_int_equal(dbont_copy_row_from_context("COPY odd, name, line 4", 20), 3);
    /* Nothing that names a row. */
    assert_true(dbont_copy_row_from_context("SQL statement \"SELECT 1 FROM ONLY q.users\"", 10) ==
                DBONT_COPY_NO_ROW);
    assert_true(dbont_copy_row_from_context("COPY posts", 10) == DBONT_COPY_NO_ROW);
    assert_true(dbont_copy_row_from_context("COPY posts, line x", 10) == DBONT_COPY_NO_ROW);
    assert_true(dbont_copy_row_from_context("", 10) == DBONT_COPY_NO_ROW);
    assert_true(dbont_copy_row_from_context("COPY posts, line 99999999999999999999999", 10) ==
                DBONT_COPY_NO_ROW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_trailer),
        cmocka_unit_test(test_tuple_bytes),
        cmocka_unit_test(test_small_buffer_same_stream),
        cmocka_unit_test(test_flush_failure),
        cmocka_unit_test(test_refused_values),
        cmocka_unit_test(test_row_from_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
