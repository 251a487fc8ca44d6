/*
 * test_sqlfrag.c: sqlfrag.c: which SQL fragments (db:default, db:using,
 * ...) may be spliced into generated SQL, and the reason, with its
 * 1-based character position, for those that may not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sqlfrag.h"

static void ok(const char *text, unsigned flags)
{
    char why[256] = "";
    if (!sqlfrag_check(text, flags, why, sizeof why))
        fail_msg("fragment [%s] rejected: %s", text, why);
}

static void bad(const char *text, unsigned flags, const char *expected)
{
    char why[256] = "";
    assert_false(sqlfrag_check(text, flags, why, sizeof why));
    assert_string_equal(why, expected);
}

static void test_accepted(void **state)
{
    (void)state;
    static const char *const fragments[] = {
        "now()",
        "0",
        "true",
        "",
        "gen_random_uuid()",
        "'it''s'",
        "''",
        "E'a\\'b'",
        "e'a\\\\'",
        "E'semi;colon -- not a comment'",
        "'a;b'",
        "'-- not a comment'",
        "'/* not a comment */'",
        "\"weird;name\"",
        "\"a\"\"b\"",
        "$$a;b$$",
        "$$$$",
        "$tag$x$tag$",
        "$tag$ ; -- /* $other$ $tag$",
        "$_1$x$_1$",
        "f($1, $2)", /* $1 is a parameter, not a tag */
        "((1 + 2) * (3 - 4))",
        "coalesce(a, (b))",
        "'(' || ')'",
        "x - -1",
        "a / b * c",
        "lower(email) = 'a,b'",
        "name$x",
        "(organization_id = current_org_id())",
        "'multi\nline'",
        "now()\n+ interval '1 day'",
    };
    for (size_t i = 0; i < sizeof fragments / sizeof fragments[0]; i++) {
        ok(fragments[i], 0);
        ok(fragments[i], SQLFRAG_NO_TOP_COMMA);
    }
    /* commas at the top level only where allowed */
    ok("a, b", 0);
    ok("1,2,3", 0);
    ok("f(a, b)", SQLFRAG_NO_TOP_COMMA);
    ok("'a,b'", SQLFRAG_NO_TOP_COMMA);
    ok("\"a,b\"", SQLFRAG_NO_TOP_COMMA);
    ok("$$a,b$$", SQLFRAG_NO_TOP_COMMA);
}

static void test_rejected(void **state)
{
    (void)state;
    bad(";", 0, "';' is not allowed: a fragment must be one expression (at character 1)");
    bad("now(); drop table users", 0,
        "';' is not allowed: a fragment must be one expression (at character 6)");
    bad("'a';'b'", 0, "';' is not allowed: a fragment must be one expression (at character 4)");
    bad("1 -- comment", 0, "comment '--' is not allowed (at character 3)");
    bad("--", 0, "comment '--' is not allowed (at character 1)");
    bad("1 /* c */", 0, "comment '/*' is not allowed (at character 3)");
    bad("a/*", 0, "comment '/*' is not allowed (at character 2)");

    bad(")", 0, "unbalanced ')' (at character 1)");
    bad("now())", 0, "unbalanced ')' (at character 6)");
    bad("(a))(", 0, "unbalanced ')' (at character 4)");
    bad("(", 0, "unbalanced '(' (at character 1)");
    bad("now(", 0, "unbalanced '(' (at character 4)");

    bad("'abc", 0, "unterminated string literal (at character 1)");
    bad("x = 'it''s", 0, "unterminated string literal (at character 5)");
    bad("E'a\\'", 0, "unterminated string literal (at character 1)");
    bad("\"abc", 0, "unterminated quoted identifier (at character 1)");
    bad("f(\"a\"\")", 0, "unterminated quoted identifier (at character 3)");
    bad("$$abc", 0, "unterminated dollar-quoted string (at character 1)");
    bad("x || $t$abc$u$", 0, "unterminated dollar-quoted string (at character 6)");
    bad("$t$", 0, "unterminated dollar-quoted string (at character 1)");

    bad("a, b", SQLFRAG_NO_TOP_COMMA, "',' outside parentheses is not allowed here (at character 2)");
    bad("f(a), b", SQLFRAG_NO_TOP_COMMA, "',' outside parentheses is not allowed here (at character 5)");
    bad("'x', 'y'", SQLFRAG_NO_TOP_COMMA, "',' outside parentheses is not allowed here (at character 4)");

    /* the first problem is reported */
    bad("'a' ; --", 0, "';' is not allowed: a fragment must be one expression (at character 5)");
}

/* An unclosed '(' is reported at the '(' that is never closed: that is
 * where the problem starts (sqlfrag.h), as for unterminated quotes. */
static void test_unclosed_paren_position(void **state)
{
    (void)state;
    /* An unclosed '(' is reported at the '(' itself (the outermost one
     * left open), not at the end of the fragment. */
    bad("f(a", 0, "unbalanced '(' (at character 2)");
    bad("((a)", 0, "unbalanced '(' (at character 1)");
    bad("coalesce(a, b", 0, "unbalanced '(' (at character 9)");
}

static void test_truncated_reason(void **state)
{
    (void)state;
    char why[10];
    assert_false(sqlfrag_check(";", 0, why, sizeof why));
    assert_string_equal(why, "';' is no");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_rejected),
        cmocka_unit_test(test_unclosed_paren_position),
        cmocka_unit_test(test_truncated_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
