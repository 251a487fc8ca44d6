/*
 * test_diag.c: diag.c: the GCC-style lines, sorting by file (in order of
 * first appearance), line and column, notes kept after their error or
 * warning, and the counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diag.h"
#include "testutil.h"

static dpos at(const char *file, unsigned line, unsigned col)
{
    dpos p = {file, line, col};
    return p;
}

static void test_format(void **state)
{
    (void)state;
    tu_diag t;
    tu_diag_open(&t);
    diag_error(&t.d, at("f.ttl", 3, 7), "bad %s %d", "thing", 42);
    diag_warning(&t.d, at("f.ttl", 4, 0), "column 0 prints as 1");
    diag_note(&t.d, at("f.ttl", 0, 0), "whole file");
    diag_error(&t.d, at(NULL, 0, 0), "no place");
    assert_string_equal(tu_diag_text(&t),
                        "dbont-gen: error: no place\n"
                        "f.ttl:3:7: error: bad thing 42\n"
                        "f.ttl:4:1: warning: column 0 prints as 1\n"
                        "f.ttl: note: whole file\n");
    assert_int_equal(diag_errors(&t.d), 2);
    assert_int_equal(t.d.warnings, 1);
    tu_diag_close(&t);
}

static void test_sorting(void **state)
{
    (void)state;
    /* a second copy of the name: files are compared by name */
    char b2[] = "b.ttl";
    tu_diag t;
    tu_diag_open(&t);
    diag_error(&t.d, at("b.ttl", 5, 1), "e1");
    diag_error(&t.d, at("a.ttl", 1, 1), "e2");
    diag_error(&t.d, at("b.ttl", 2, 3), "e3");
    diag_note(&t.d, at("a.ttl", 9, 9), "n3, a note of e3 in another file");
    diag_note(&t.d, at("b.ttl", 1, 1), "n3b, a second note of e3");
    diag_warning(&t.d, at(NULL, 0, 0), "w4");
    diag_error(&t.d, at(b2, 2, 1), "e5");
    diag_error(&t.d, at("a.ttl", 0, 0), "e6");
    diag_error(&t.d, at("b.ttl", 2, 3), "e7, same place as e3: after it");
    diag_error(&t.d, at("b.ttl", 10, 2), "e8");
    diag_error(&t.d, at("b.ttl", 10, 1), "e9");
    assert_int_equal(diag_errors(&t.d), 8);
    assert_int_equal(t.d.warnings, 1);
    assert_string_equal(tu_diag_text(&t),
                        "dbont-gen: warning: w4\n"
                        "b.ttl:2:1: error: e5\n"
                        "b.ttl:2:3: error: e3\n"
                        "a.ttl:9:9: note: n3, a note of e3 in another file\n"
                        "b.ttl:1:1: note: n3b, a second note of e3\n"
                        "b.ttl:2:3: error: e7, same place as e3: after it\n"
                        "b.ttl:5:1: error: e1\n"
                        "b.ttl:10:1: error: e9\n"
                        "b.ttl:10:2: error: e8\n"
                        "a.ttl: error: e6\n"
                        "a.ttl:1:1: error: e2\n");
    /* flushing empties the list but keeps the counts */
    assert_int_equal(t.d.n, 0);
    assert_int_equal(diag_errors(&t.d), 8);
    assert_string_equal(tu_diag_text(&t), "dbont-gen: warning: w4\n"
                                          "b.ttl:2:1: error: e5\n"
                                          "b.ttl:2:3: error: e3\n"
                                          "a.ttl:9:9: note: n3, a note of e3 in another file\n"
                                          "b.ttl:1:1: note: n3b, a second note of e3\n"
                                          "b.ttl:2:3: error: e7, same place as e3: after it\n"
                                          "b.ttl:5:1: error: e1\n"
                                          "b.ttl:10:1: error: e9\n"
                                          "b.ttl:10:2: error: e8\n"
                                          "a.ttl: error: e6\n"
                                          "a.ttl:1:1: error: e2\n");
    /* a later flush prints only what came after, ranking files anew */
    diag_error(&t.d, at("a.ttl", 2, 2), "later a");
    diag_error(&t.d, at("c.ttl", 1, 1), "later c");
    diag_error(&t.d, at("b.ttl", 1, 1), "later b");
    const char *all = tu_diag_text(&t);
    const char *tail = strstr(all, "a.ttl:1:1: error: e2\n");
    assert_non_null(tail);
    assert_string_equal(tail + strlen("a.ttl:1:1: error: e2\n"),
                        "a.ttl:2:2: error: later a\n"
                        "c.ttl:1:1: error: later c\n"
                        "b.ttl:1:1: error: later b\n");
    assert_int_equal(diag_errors(&t.d), 11);
    tu_diag_close(&t);
}

static void test_note_first(void **state)
{
    (void)state;
    /* a note with no error before it starts its own group */
    tu_diag t;
    tu_diag_open(&t);
    diag_note(&t.d, at("x.ttl", 3, 1), "lonely note");
    diag_error(&t.d, at("x.ttl", 1, 1), "error");
    assert_string_equal(tu_diag_text(&t), "x.ttl:1:1: error: error\n"
                                          "x.ttl:3:1: note: lonely note\n");
    assert_int_equal(diag_errors(&t.d), 1);
    tu_diag_close(&t);
}

static void test_empty_and_free(void **state)
{
    (void)state;
    tu_diag t;
    tu_diag_open(&t);
    assert_string_equal(tu_diag_text(&t), "");
    assert_int_equal(diag_errors(&t.d), 0);
    /* freeing without flushing prints nothing */
    diag_error(&t.d, at("f", 1, 1), "dropped");
    diag_note(&t.d, at("f", 1, 1), "dropped too");
    diag_free(&t.d);
    assert_int_equal(t.d.n, 0);
    assert_null(t.d.v);
    assert_string_equal(tu_diag_text(&t), "");
    tu_diag_close(&t);
}

static void test_many(void **state)
{
    (void)state;
    /* more entries than the first allocation, in reverse order */
    tu_diag t;
    tu_diag_open(&t);
    for (unsigned i = 100; i > 0; i--)
        diag_error(&t.d, at("m.ttl", i, 1), "line %u", i);
    const char *text = tu_diag_text(&t);
    char expected[8192] = "";
    for (unsigned i = 1; i <= 100; i++) {
        char line[64];
        snprintf(line, sizeof line, "m.ttl:%u:1: error: line %u\n", i, i);
        strcat(expected, line);
    }
    assert_string_equal(text, expected);
    assert_int_equal(diag_errors(&t.d), 100);
    tu_diag_close(&t);
}

static void test_owns_file_names(void **state)
{
    (void)state;
    /* a place built for one message may be freed before the flush */
    tu_diag t;
    tu_diag_open(&t);
    char *name = malloc(32);
    assert_non_null(name);
    strcpy(name, "migrations/schema.snapshot");
    diag_error(&t.d, at(name, 0, 0), "first");
    diag_note(&t.d, at(name, 2, 4), "its note");
    memset(name, 'X', 31);
    name[31] = '\0';
    free(name);
    assert_string_equal(tu_diag_text(&t), "migrations/schema.snapshot: error: first\n"
                                          "migrations/schema.snapshot:2:4: note: its note\n");
    tu_diag_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_sorting),
        cmocka_unit_test(test_note_first),
        cmocka_unit_test(test_empty_and_free),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_owns_file_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
