/*
 * test_m4.c: m4.c: escaping of values (m4_leaf), the forms of calls and
 * definitions, and m4_expand round trips through the real m4 program with
 * skeletons written into a temporary folder: hostile values come out
 * verbatim, @output splits the outputs, and bad skeleton output is
 * reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "m4.h"
#include "testutil.h"
#include "util.h"

#ifndef DBONT_TEST_M4
#define DBONT_TEST_M4 "m4"
#endif

#define LQ "\xc2\xab" /* « */
#define RQ "\xc2\xbb" /* » */

static void expect_leaf(const char *value, const char *expected)
{
    buf b;
    buf_init(&b);
    buf_adds(&b, "x=");
    m4_leaf(&b, value);
    char *want = xasprintf("x=%s", expected);
    assert_string_equal(b.data, want);
    free(want);
    buf_free(&b);
}

static void test_leaf(void **state)
{
    (void)state;
    expect_leaf("plain", LQ LQ "plain" RQ RQ);
    expect_leaf("", LQ LQ RQ RQ);
    expect_leaf("a@b", LQ LQ "a@ab" RQ RQ);
    expect_leaf("@a", LQ LQ "@aa" RQ RQ);
    expect_leaf("$1", LQ LQ "@d1" RQ RQ);
    expect_leaf("$$", LQ LQ "@d@d" RQ RQ);
    expect_leaf(LQ "q" RQ, LQ LQ "@lq@r" RQ RQ);
    expect_leaf(RQ LQ, LQ LQ "@r@l" RQ RQ);
    expect_leaf("d4_name", LQ LQ "d4@uname" RQ RQ);
    expect_leaf("m4_define", LQ LQ "m4@udefine" RQ RQ);
    expect_leaf("xd4_m4_", LQ LQ "xd4@um4@u" RQ RQ);
    expect_leaf("d4 m4 d4x_ D4_", LQ LQ "d4 m4 d4x_ D4_" RQ RQ);
    /* other two-byte UTF-8 characters starting with C2 are kept */
    expect_leaf("\xc2\xa9 \xc2\xaa", LQ LQ "\xc2\xa9 \xc2\xaa" RQ RQ);
    /* C/SQL quotes, brackets, commas, '#' pass as they are */
    expect_leaf("'a' `b` [c] (d, e) #f", LQ LQ "'a' `b` [c] (d, e) #f" RQ RQ);
}

static void test_call_and_define(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    const char *args[] = {"x$", "d4_a(" LQ "1" RQ ")", "@"};
    m4_call(&b, "d4_col", "vsv", args);
    assert_string_equal(b.data, "d4_col(" LQ LQ "x@d" RQ RQ ", " LQ "d4_a(" LQ "1" RQ ")" RQ ", " LQ LQ "@a" RQ RQ ")");
    buf_reset(&b);
    m4_call(&b, "d4_none", "", NULL);
    assert_string_equal(b.data, "d4_none()");
    buf_reset(&b);
    m4_define_value(&b, "d4_v", "a@b$");
    m4_define_text(&b, "d4_list", "d4_a()d4_b()");
    assert_string_equal(b.data, "m4_define(" LQ "d4_v" RQ ", " LQ LQ "a@ab@d" RQ RQ ")\n"
                                "m4_define(" LQ "d4_list" RQ ", " LQ "d4_a()d4_b()" RQ ")\n");
    buf_free(&b);
}

/* ---- m4_expand ------------------------------------------------------------ */

/* Everything that could be taken for m4 syntax or for the post-pass's own
 * escapes, including a line that looks like an @output directive. */
static const char hostile[] =
    "m4_define(x) m4_len(abc) m4_dnl d4_value index len format define 'q' `b` "
    "$1 $# $@ $* $0 #comment @ @a @output " LQ "x" RQ " " RQ LQ " [x] ,)( ((\n"
    "@output evil@\n"
    "\xc2\xa9 d4_ m4_ @@";

static void test_expand_round_trip(void **state)
{
    const char *dir = *state;
    free(tu_write(dir, "main.m4",
                  "\n"
                  "@output first@\n"
                  "value=d4_value;\n"
                  "hash=#d4_value\n"
                  "pair=d4_call\n"
                  "@output second@\n"
                  "m4_include(" LQ "part.m4" RQ ")m4_dnl\n"
                  "@output empty@\n"));
    free(tu_write(dir, "part.m4", "second=d4_value\n"));
    free(tu_write(dir, "unused.m4", "@output none@\n"));

    buf defs, call;
    buf_init(&defs);
    buf_init(&call);
    m4_define_value(&defs, "d4_value", hostile);
    m4_define_text(&defs, "d4_pair", "$1+$2");
    const char *args[] = {"$1 " LQ "q" RQ, "m4_len(x), d4_value"};
    m4_call(&call, "d4_pair", "vv", args);
    m4_define_text(&defs, "d4_call", call.data);

    tu_diag t;
    tu_diag_open(&t);
    m4_outputs out = {0};
    bool ok = m4_expand(DBONT_TEST_M4, dir, "main.m4", defs.data, &out, &t.d);
    const char *text = tu_diag_text(&t);
    if (!ok || text[0])
        fail_msg("m4_expand failed:\n%s", text);
    assert_int_equal(out.n, 3);
    assert_string_equal(out.v[0].name, "first");
    assert_string_equal(out.v[1].name, "second");
    assert_string_equal(out.v[2].name, "empty");

    char *first = xasprintf("value=%s;\nhash=#%s\npair=$1 " LQ "q" RQ "+m4_len(x), d4_value\n", hostile,
                            hostile);
    char *second = xasprintf("second=%s\n", hostile);
    assert_string_equal(m4_output_text(&out, "first"), first);
    assert_string_equal(m4_output_text(&out, "second"), second);
    assert_string_equal(m4_output_text(&out, "empty"), "");
    assert_null(m4_output_text(&out, "evil"));
    assert_null(m4_output_text(&out, "none"));
    free(first);
    free(second);

    m4_outputs_free(&out);
    assert_int_equal(out.n, 0);
    assert_null(out.v);
    buf_free(&defs);
    buf_free(&call);
    tu_diag_close(&t);
}

/* Runs m4_expand on a one-file skeleton; returns the diagnostics. */
static char *expand_bad(const char *dir, const char *skeleton, const char *entry, const char *m4,
                        bool *ok)
{
    if (skeleton)
        free(tu_write(dir, entry, skeleton));
    buf defs;
    buf_init(&defs);
    m4_define_value(&defs, "d4_value", "v");
    tu_diag t;
    tu_diag_open(&t);
    m4_outputs out = {0};
    *ok = m4_expand(m4, dir, entry, defs.data, &out, &t.d);
    char *text = xstrdup(tu_diag_text(&t));
    assert_int_equal(diag_errors(&t.d), *ok ? 0 : 1);
    m4_outputs_free(&out);
    buf_free(&defs);
    tu_diag_close(&t);
    return text;
}

static void expect_failure(const char *dir, const char *skeleton, const char *entry, const char *m4,
                           const char *expected)
{
    bool ok = true;
    char *text = expand_bad(dir, skeleton, entry, m4, &ok);
    char got[2048];
    snprintf(got, sizeof got, "%s", text);
    free(text); /* before asserting: a failure must not leak */
    assert_false(ok);
    assert_string_equal(got, expected);
}

static void test_stray_at(void **state)
{
    expect_failure(*state, "@output x@\nfine d4_value\nbad @ here\n", "stray.m4", DBONT_TEST_M4,
                   "dbont-gen: error: skeleton output line 3: stray '@' (write @a for a literal @)\n");
    expect_failure(*state, "@output x@\nends with @", "stray2.m4", DBONT_TEST_M4,
                   "dbont-gen: error: skeleton output line 2: stray '@' (write @a for a literal @)\n");
    /* an @output line without its closing '@' */
    expect_failure(*state, "@output name\n", "directive.m4", DBONT_TEST_M4,
                   "dbont-gen: error: skeleton output line 1: malformed @output directive\n");
}

static void test_undefined_macro(void **state)
{
    /* The message quotes the macro's name only, on one line. */
    expect_failure(*state, "@output x@\nok\nd4_missing\n", "undef.m4", DBONT_TEST_M4,
                   "dbont-gen: error: skeleton output line 3: unexpanded macro 'd4_missing' (a skeleton "
                   "uses a macro that is not defined)\n");
}

static void test_undefined_macro_mid_line(void **state)
{
    /* a builtin name left in the output: only the name is quoted */
    expect_failure(*state, "@output x@\nm4_nosuch(1) tail", "undef2.m4", DBONT_TEST_M4,
                   "dbont-gen: error: skeleton output line 2: unexpanded macro 'm4_nosuch' (a "
                   "skeleton uses a macro that is not defined)\n");
}

static void test_output_structure(void **state)
{
    const char *dir = *state;
    expect_failure(dir, "junk\n@output x@\n", "before.m4", DBONT_TEST_M4,
                   "dbont-gen: error: the skeletons produced text before their first @output directive\n");
    expect_failure(dir, "just text\n", "none.m4", DBONT_TEST_M4,
                   "dbont-gen: error: the skeletons produced no @output directive\n");
    /* white space before the first directive is fine */
    bool ok = false;
    char *text = expand_bad(dir, " \n\t\n@output x@\nd4_value\n", "ws.m4", DBONT_TEST_M4, &ok);
    assert_true(ok);
    assert_string_equal(text, "");
    free(text);
}

static void test_m4_failures(void **state)
{
    const char *dir = *state;
    char *expected = xasprintf("dbont-gen: error: cannot read skeleton %s/nope.m4: No such file or directory\n", dir);
    expect_failure(dir, NULL, "nope.m4", DBONT_TEST_M4, expected);
    free(expected);

    expected = xasprintf("dbont-gen: error: m4 failed (exit status 3) on the skeletons in %s\n", dir);
    expect_failure(dir, "@output x@\nm4_m4exit(3)", "exit.m4", DBONT_TEST_M4, expected);
    free(expected);

    /* a program that cannot be run: the child reports on stderr and exits 127 */
    expected = xasprintf("dbont-gen: error: m4 failed (exit status 127) on the skeletons in %s\n", dir);
    expect_failure(dir, "@output x@\n", "ok.m4", "/nonexistent/dbont-test-m4", expected);
    free(expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf),
        cmocka_unit_test(test_call_and_define),
        cmocka_unit_test_setup_teardown(test_expand_round_trip, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_stray_at, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_undefined_macro, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_undefined_macro_mid_line, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_output_structure, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_m4_failures, tu_setup_tmpdir, tu_teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
