/* Unit tests: filling dbont_error values, and never truncating silently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "error_internal.h"

static void test_set_and_clear(void **state)
{
    dbont_error err;
    (void)state;
    assert_int_equal(dbont_error_set(&err, "22023", "bad %s #%d", "thing", 7), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    assert_string_equal(err.message, "bad thing #7");
    assert_false(err.truncated);
    dbont_error_clear(&err);
    assert_string_equal(err.sqlstate, "");
    assert_string_equal(err.message, "");
    assert_false(err.truncated);
}

static void test_null_err_allowed(void **state)
{
    (void)state;
    dbont_error_clear(NULL);
    assert_int_equal(dbont_error_set(NULL, "22023", "x"), DBONT_ERROR);
    assert_int_equal(dbont_error_set_trimmed(NULL, "08001", "x\n"), DBONT_ERROR);
    assert_int_equal(dbont_error_from_result(NULL, NULL, NULL), DBONT_ERROR);
}

/* A message that exactly fills the buffer is whole. */
static void test_exact_fit_not_truncated(void **state)
{
    char text[DBONT_ERROR_MESSAGE_MAX];
    dbont_error err;
    (void)state;
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    dbont_error_set(&err, "XX000", "%s", text);
    assert_false(err.truncated);
    assert_int_equal(strlen(err.message), DBONT_ERROR_MESSAGE_MAX - 1);
    assert_string_equal(err.message, text);
}

/* One byte more and the message is cut, ends in "..." and says so. */
static void test_truncation_marker(void **state)
{
    char text[DBONT_ERROR_MESSAGE_MAX + 1];
    dbont_error err;
    size_t len;
    (void)state;
    memset(text, 'b', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    dbont_error_set(&err, "XX000", "%s", text);
    assert_true(err.truncated);
    len = strlen(err.message);
    assert_true(len <= DBONT_ERROR_MESSAGE_MAX - 1);
    assert_true(len >= DBONT_ERROR_MESSAGE_MAX - 4);
    assert_string_equal(err.message + len - 3, "...");
    assert_int_equal(err.message[len - 4], 'b');
}

/* Cutting never leaves half a UTF-8 character before the marker. */
static void test_truncation_utf8_boundary(void **state)
{
    char text[3 * DBONT_ERROR_MESSAGE_MAX];
    dbont_error err;
    size_t i, len;
    (void)state;
    /* "é" is 0xC3 0xA9; start with one ASCII byte so that characters
     * straddle every possible cut position in some run below. */
    for (int shift = 0; shift < 2; shift++) {
        size_t o = 0;
        for (i = 0; i < (size_t)shift; i++)
            text[o++] = 'x';
        while (o + 2 < sizeof text - 1) {
            text[o++] = (char)0xC3;
            text[o++] = (char)0xA9;
        }
        text[o] = '\0';
        dbont_error_set(&err, "XX000", "%s", text);
        assert_true(err.truncated);
        len = strlen(err.message);
        assert_string_equal(err.message + len - 3, "...");
        /* The byte before "..." ends a whole character: it is the
         * continuation byte 0xA9, never the lead byte 0xC3. */
        assert_int_equal((unsigned char)err.message[len - 4], 0xA9);
    }
}

static void test_trimmed(void **state)
{
    dbont_error err;
    (void)state;
    dbont_error_set_trimmed(&err, "08001",
                            "connection to server failed: no such file\n\n");
    assert_string_equal(err.sqlstate, "08001");
    assert_string_equal(err.message, "connection to server failed: no such file");
    assert_false(err.truncated);
}

/* A result made without a server has no SQLSTATE of its own. */
static void test_from_result_without_server(void **state)
{
    dbont_error err;
    PGresult *res;
    (void)state;
    dbont_error_from_result(&err, NULL, NULL);
    assert_string_equal(err.sqlstate, "53200");
    assert_string_equal(err.message, "out of memory");

    res = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
    assert_non_null(res);
    dbont_error_from_result(&err, NULL, res);
    assert_string_equal(err.sqlstate, "XX000");
    assert_string_equal(err.message, "unknown error");
    PQclear(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_clear),
        cmocka_unit_test(test_null_err_allowed),
        cmocka_unit_test(test_exact_fit_not_truncated),
        cmocka_unit_test(test_truncation_marker),
        cmocka_unit_test(test_truncation_utf8_boundary),
        cmocka_unit_test(test_trimmed),
        cmocka_unit_test(test_from_result_without_server),
    };
    return cmocka_run_group_tests_name("unit_runtime_error", tests, NULL, NULL);
}
