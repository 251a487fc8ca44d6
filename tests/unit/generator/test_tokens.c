/*
 * test_tokens.c: turtle_tokens.c: kinds, byte offsets, lines and 1-based
 * byte columns of the tokens of a Turtle text, and toklist_before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "turtle_tokens.h"

/* The text, line by line (each line ends with '\n'). */
#define L1 "@prefix db: <http://example.org/db/> .\n"
#define L2 "# a comment with \"quotes\" <iri> and ; . tokens\n"
#define L3 "db:A a db:Table ;\n"
#define L4 "  db:x \"s\\\"1\" , 's2' ;\n"
#define L5 "  db:y \"\"\"l1\n"
#define L6 "l\"2\"\"\" , '''m1 \\''' x\n"
#define L7 "m2''' ;\n"
#define L8 "  db:n 10.\n"
#define L9 "db:B db:m -7 , 1.5e3 , .5 , true ; db:k _:b1 ; db:l ( <rel> \"x\"@en \"1\"^^xsd:int [ ] ) .\n"
#define L10 "db:C db:p.q db:End. # trailing comment\n"
#define L11 "\"\xc3\xa9\" db:z\t+4 .\n"

static const char *const lines[] = {L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11};
#define TEXT L1 L2 L3 L4 L5 L6 L7 L8 L9 L10 L11

typedef struct want {
    tok_kind kind;
    const char *text;
    unsigned line, col;
} want;

static const want expected[] = {
    {TOK_OTHER, "@prefix", 1, 1},
    {TOK_NAME, "db:", 1, 9},
    {TOK_IRI, "<http://example.org/db/>", 1, 13},
    {TOK_PUNCT, ".", 1, 38},
    /* line 2 is a comment */
    {TOK_NAME, "db:A", 3, 1},
    {TOK_NAME, "a", 3, 6},
    {TOK_NAME, "db:Table", 3, 8},
    {TOK_PUNCT, ";", 3, 17},
    {TOK_NAME, "db:x", 4, 3},
    {TOK_STRING, "\"s\\\"1\"", 4, 8},
    {TOK_PUNCT, ",", 4, 15},
    {TOK_STRING, "'s2'", 4, 17},
    {TOK_PUNCT, ";", 4, 22},
    {TOK_NAME, "db:y", 5, 3},
    {TOK_STRING, "\"\"\"l1\nl\"2\"\"\"", 5, 8},
    {TOK_PUNCT, ",", 6, 8},
    {TOK_STRING, "'''m1 \\''' x\nm2'''", 6, 10},
    {TOK_PUNCT, ";", 7, 7},
    {TOK_NAME, "db:n", 8, 3},
    {TOK_NUMBER, "10", 8, 8}, /* "10." is 10 and the statement's '.' */
    {TOK_PUNCT, ".", 8, 10},
    {TOK_NAME, "db:B", 9, 1},
    {TOK_NAME, "db:m", 9, 6},
    {TOK_NUMBER, "-7", 9, 11},
    {TOK_PUNCT, ",", 9, 14},
    {TOK_NUMBER, "1.5e3", 9, 16},
    {TOK_PUNCT, ",", 9, 22},
    {TOK_NUMBER, ".5", 9, 24},
    {TOK_PUNCT, ",", 9, 27},
    {TOK_NAME, "true", 9, 29},
    {TOK_PUNCT, ";", 9, 34},
    {TOK_NAME, "db:k", 9, 36},
    {TOK_NAME, "_:b1", 9, 41},
    {TOK_PUNCT, ";", 9, 46},
    {TOK_NAME, "db:l", 9, 48},
    {TOK_PUNCT, "(", 9, 53},
    {TOK_IRI, "<rel>", 9, 55},
    {TOK_STRING, "\"x\"", 9, 61},
    {TOK_OTHER, "@en", 9, 64},
    {TOK_STRING, "\"1\"", 9, 68},
    {TOK_OTHER, "^^", 9, 71},
    {TOK_NAME, "xsd:int", 9, 73},
    {TOK_PUNCT, "[", 9, 81},
    {TOK_PUNCT, "]", 9, 83},
    {TOK_PUNCT, ")", 9, 85},
    {TOK_PUNCT, ".", 9, 87},
    {TOK_NAME, "db:C", 10, 1},
    {TOK_NAME, "db:p.q", 10, 6}, /* a '.' inside a name belongs to it */
    {TOK_NAME, "db:End", 10, 13}, /* a name ends before its final '.' */
    {TOK_PUNCT, ".", 10, 19},
    {TOK_STRING, "\"\xc3\xa9\"", 11, 1},
    {TOK_NAME, "db:z", 11, 6}, /* columns count bytes: é is two */
    {TOK_NUMBER, "+4", 11, 11},
    {TOK_PUNCT, ".", 11, 14},
};

#define NEXPECTED (sizeof expected / sizeof expected[0])

static size_t line_start(unsigned line)
{
    size_t off = 0;
    for (unsigned i = 0; i + 1 < line; i++)
        off += strlen(lines[i]);
    return off;
}

static void test_tokens(void **state)
{
    (void)state;
    const char *text = TEXT;
    toklist tl = {0};
    turtle_tokenize(text, strlen(text), &tl);
    for (size_t i = 0; i < tl.n && i < NEXPECTED; i++) {
        const tok *t = &tl.v[i];
        const want *w = &expected[i];
        char got[128];
        snprintf(got, sizeof got, "%.*s", (int)t->len, text + t->off);
        if (t->kind != w->kind || strcmp(got, w->text) != 0 || t->line != w->line || t->col != w->col)
            fail_msg("token %zu: got kind %d [%s] at %u:%u; expected kind %d [%s] at %u:%u", i,
                     (int)t->kind, got, t->line, t->col, (int)w->kind, w->text, w->line, w->col);
        assert_int_equal(t->off, line_start(w->line) + w->col - 1);
        assert_int_equal(t->len, strlen(w->text));
    }
    assert_int_equal(tl.n, NEXPECTED);
    toklist_free(&tl);
    assert_null(tl.v);
    assert_int_equal(tl.n, 0);
}

static void test_edges(void **state)
{
    (void)state;
    toklist tl = {0};

    turtle_tokenize("", 0, &tl);
    assert_int_equal(tl.n, 0);

    turtle_tokenize("# only a comment", 16, &tl);
    assert_int_equal(tl.n, 0);

    /* only len bytes are read */
    turtle_tokenize("db:a db:b", 4, &tl);
    assert_int_equal(tl.n, 1);
    assert_int_equal(tl.v[0].len, 4);

    /* an unterminated short string ends at the end of its line */
    const char *u = "\"abc\ndb:x";
    turtle_tokenize(u, strlen(u), &tl);
    assert_int_equal(tl.n, 2);
    assert_int_equal(tl.v[0].kind, TOK_STRING);
    assert_int_equal(tl.v[0].len, 4);
    assert_int_equal(tl.v[1].kind, TOK_NAME);
    assert_int_equal(tl.v[1].line, 2);
    assert_int_equal(tl.v[1].col, 1);

    /* an escaped quote at the end of a long string does not close it */
    const char *l = "'''a\\''''.";
    turtle_tokenize(l, strlen(l), &tl);
    assert_int_equal(tl.n, 2);
    assert_int_equal(tl.v[0].kind, TOK_STRING);
    assert_int_equal(tl.v[0].len, 9);
    assert_int_equal(tl.v[1].kind, TOK_PUNCT);
    assert_int_equal(tl.v[1].off, 9);

    /* "1.5." is the decimal 1.5 then '.'; "db:a.." keeps no dot */
    const char *n = "1.5. db:a..";
    turtle_tokenize(n, strlen(n), &tl);
    assert_int_equal(tl.n, 5);
    assert_int_equal(tl.v[0].kind, TOK_NUMBER);
    assert_int_equal(tl.v[0].len, 3);
    assert_int_equal(tl.v[1].kind, TOK_PUNCT);
    assert_int_equal(tl.v[2].kind, TOK_NAME);
    assert_int_equal(tl.v[2].len, 4);
    assert_int_equal(tl.v[3].kind, TOK_PUNCT);
    assert_int_equal(tl.v[3].off, 9);
    assert_int_equal(tl.v[4].kind, TOK_PUNCT);
    assert_int_equal(tl.v[4].off, 10);

    /* CRLF: '\r' is white space, lines still count '\n' */
    const char *crlf = "db:a\r\n  db:b";
    turtle_tokenize(crlf, strlen(crlf), &tl);
    assert_int_equal(tl.n, 2);
    assert_int_equal(tl.v[1].line, 2);
    assert_int_equal(tl.v[1].col, 3);
    assert_int_equal(tl.v[1].off, 8);

    toklist_free(&tl);
}

static void test_before(void **state)
{
    (void)state;
    const char *text = "db:a db:b \"c\" .";
    /* offsets:          0    5    10  14 */
    toklist tl = {0};
    turtle_tokenize(text, strlen(text), &tl);
    assert_int_equal(tl.n, 4);
    assert_int_equal(toklist_before(&tl, 0), (size_t)-1);
    assert_int_equal(toklist_before(&tl, 1), 0);
    assert_int_equal(toklist_before(&tl, 5), 0);  /* db:b starts at 5: not before 5 */
    assert_int_equal(toklist_before(&tl, 6), 1);
    assert_int_equal(toklist_before(&tl, 10), 1);
    assert_int_equal(toklist_before(&tl, 11), 2);
    assert_int_equal(toklist_before(&tl, 14), 2);
    assert_int_equal(toklist_before(&tl, 15), 3);
    assert_int_equal(toklist_before(&tl, 1000), 3);
    toklist_free(&tl);

    toklist empty = {0};
    assert_int_equal(toklist_before(&empty, 0), (size_t)-1);
    assert_int_equal(toklist_before(&empty, 10), (size_t)-1);
}

/* Turtle names may end with an escaped character (PN_LOCAL_ESC): only an
 * unescaped final '.' ends the statement. */
static void test_escaped_final_dot(void **state)
{
    (void)state;
    const char *text = "db:a\\. db:b .";
    toklist tl = {0};
    turtle_tokenize(text, strlen(text), &tl);
    /* A final '.' ends the statement, but an escaped one ("db:a\.") is
     * part of the name. */
    size_t n = tl.n, len0 = tl.n ? tl.v[0].len : 0, off1 = tl.n > 1 ? tl.v[1].off : 0;
    tok_kind kind0 = tl.n ? tl.v[0].kind : TOK_OTHER;
    toklist_free(&tl); /* before asserting: a failure must not leak */
    assert_int_equal(n, 3);
    assert_int_equal(kind0, TOK_NAME);
    assert_int_equal(len0, 6);
    assert_int_equal(off1, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_before),
        cmocka_unit_test(test_escaped_final_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
