/*
 * test_util.c: util.c: the growable buffer, string helpers, GROW, and the
 * FNV-1a hash whose output is part of the generated code (known vectors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static void test_buf(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    char *empty = buf_take(&b);
    assert_string_equal(empty, ""); /* an empty buffer still gives a string */
    free(empty);

    buf_adds(&b, "abc");
    buf_addc(&b, '-');
    buf_add(&b, "xyz", 2);
    buf_printf(&b, "[%d|%s]", 42, "q");
    assert_string_equal(b.data, "abc-xy[42|q]");
    assert_int_equal(b.len, 12);
    buf_add(&b, "", 0);
    assert_int_equal(b.len, 12);

    /* embedded NUL bytes are kept, and the data stays terminated */
    buf_add(&b, "\0z", 2);
    assert_int_equal(b.len, 14);
    assert_int_equal(b.data[12], '\0');
    assert_int_equal(b.data[13], 'z');
    assert_int_equal(b.data[14], '\0');

    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");

    /* growth well past the first allocation */
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%03d", i);
    assert_int_equal(b.len, 3000);
    assert_int_equal(strncmp(b.data + 2997, "999", 3), 0);
    assert_true(b.cap > b.len);

    char *s = buf_take(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(strlen(s), 3000);
    free(s);
    buf_free(&b);
}

static void test_strings(void **state)
{
    (void)state;
    char *s = xasprintf("%s=%zu", "n", (size_t)7);
    assert_string_equal(s, "n=7");
    free(s);
    s = xstrndup("abcdef", 3);
    assert_string_equal(s, "abc");
    free(s);
    s = xstrdup("");
    assert_string_equal(s, "");
    free(s);

    assert_true(str_ends_with("users.ttl", ".ttl"));
    assert_true(str_ends_with("x", ""));
    assert_true(str_ends_with("", ""));
    assert_false(str_ends_with("ttl", ".ttl"));
    assert_false(str_ends_with("a.ttl ", ".ttl"));
}

static void test_grow(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    for (size_t n = 0; n < 100; n++) {
        GROW(v, cap, n);
        assert_true(cap > n);
        v[n] = (int)n;
    }
    for (size_t n = 0; n < 100; n++)
        assert_int_equal(v[n], (int)n);
    size_t before = cap;
    GROW(v, cap, 3); /* already fits */
    assert_int_equal(cap, before);
    free(v);
}

static void test_fnv1a64(void **state)
{
    (void)state;
    /* the published FNV-1a 64-bit test vectors */
    assert_int_equal(fnv1a64("", 0, FNV64_OFFSET), 0xcbf29ce484222325ULL);
    assert_int_equal(fnv1a64("a", 1, FNV64_OFFSET), 0xaf63dc4c8601ec8cULL);
    assert_int_equal(fnv1a64("foobar", 6, FNV64_OFFSET), 0x85944171f73967e8ULL);
    /* continuing a hash is hashing the concatenation */
    unsigned long long h = fnv1a64("foo", 3, FNV64_OFFSET);
    assert_int_equal(fnv1a64("bar", 3, h), 0x85944171f73967e8ULL);
    /* bytes, not chars: high bytes are not sign-extended */
    unsigned long long hi = fnv1a64("\xff", 1, FNV64_OFFSET);
    assert_int_equal(hi, (0xcbf29ce484222325ULL ^ 0xffULL) * 0x100000001b3ULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_fnv1a64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
