/*
 * test_json.c: json.c, the JSON reader --explain reads EXPLAIN (FORMAT
 * JSON) with: what it accepts (the literals, numbers as written, strings
 * with every escape, \u sequences and surrogate pairs decoded to UTF-8,
 * arrays, objects, nesting up to JSON_MAX_DEPTH), what it rejects
 * (truncated text, trailing garbage, bad escapes, raw control characters,
 * deeper nesting), that a rejected value is left empty, and the lookups.
 * Under the sanitizers, every rejection here also checks that the partial
 * tree is freed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "util.h"

/* text, which must read; the caller frees the value. */
static json_value parse_ok(const char *text)
{
    json_value v;
    if (!json_parse(text, &v))
        fail_msg("rejected: [%s]", text);
    return v;
}

static void assert_empty(const json_value *v)
{
    assert_int_equal(v->kind, JSON_NULL);
    assert_null(v->text);
    assert_null(v->items);
    assert_null(v->keys);
    assert_int_equal(v->n, 0);
    assert_int_equal(v->cap, 0);
}

/* text, which must not read, leaving the value empty. */
static void rejects(const char *text)
{
    json_value v;
    memset(&v, 0xA5, sizeof v); /* json_parse must clear it, not the caller */
    if (json_parse(text, &v))
        fail_msg("accepted: [%s]", text);
    assert_empty(&v);
}

/* The string text reads as decoded (compared as a C string). */
static void string_reads_as(const char *text, const char *decoded)
{
    json_value v = parse_ok(text);
    assert_int_equal(v.kind, JSON_STRING);
    assert_string_equal(v.text, decoded);
    json_free(&v);
}

/* The number text reads, kept as written. */
static void number_reads(const char *text)
{
    json_value v = parse_ok(text);
    assert_int_equal(v.kind, JSON_NUMBER);
    assert_string_equal(v.text, text);
    json_free(&v);
}

static void test_literals(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        json_kind kind;
    } cases[] = {
        {"null", JSON_NULL},
        {"false", JSON_FALSE},
        {"true", JSON_TRUE},
        {" \t\r\n true \t\r\n", JSON_TRUE}, /* JSON's four whitespace characters, around */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_value v = parse_ok(cases[i].text);
        assert_int_equal(v.kind, cases[i].kind);
        assert_null(v.text);
        assert_int_equal(v.n, 0);
        json_free(&v);
    }
    /* only those: other words, other case, or a word run on */
    rejects("nul");
    rejects("tru");
    rejects("fals");
    rejects("True");
    rejects("NULL");
    rejects("nil");
    rejects("truex");
    rejects("null1");
    /* '\f' and '\v' are whitespace to isspace, not to JSON */
    rejects("\f1");
    rejects("1\v");
}

static void test_numbers(void **state)
{
    (void)state;
    number_reads("0");
    number_reads("7");
    number_reads("-12");
    number_reads("3.25");
    number_reads("-0.5");
    number_reads("1e10");
    number_reads("2E+3");
    number_reads("-2.5e-3");
    number_reads("123456789012345678901234567890"); /* text, so never out of range */
    json_value v = parse_ok("  42\n");
    assert_string_equal(v.text, "42");
    json_free(&v);

    rejects("-");
    rejects("+1");
    rejects(".5");
    rejects("- 1");
    rejects("0x10");
    rejects("1 2");
    rejects("NaN");
    rejects("Infinity");
    /* The leniency json.h states: past the first digit, the form is not
     * checked (PostgreSQL never writes these; a stricter reader would be
     * a change of behaviour, to be made on purpose). */
    number_reads("1.2.3");
    number_reads("01");
    number_reads("1e");
    number_reads("1-2");
}

static void test_strings(void **state)
{
    (void)state;
    string_reads_as("\"\"", "");
    string_reads_as("\"plain text\"", "plain text");
    string_reads_as("\"posts.status = 'draft'::text\"", "posts.status = 'draft'::text");
    /* every two-character escape */
    string_reads_as("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\" \\ / \b \f \n \r \t");
    string_reads_as("\"a\\\"b\"", "a\"b");
    /* \u: one, two and three bytes of UTF-8; hex digits of either case */
    string_reads_as("\"\\u0041\"", "A");
    string_reads_as("\"\\u00e9\\u00E9\"", "\xC3\xA9\xC3\xA9");
    string_reads_as("\"\\u07FF\"", "\xDF\xBF");
    string_reads_as("\"\\u20ac\"", "\xE2\x82\xAC");
    string_reads_as("\"\\uFFFF\"", "\xEF\xBF\xBF");
    string_reads_as("\"x\\u0041y\"", "xAy");
    /* beyond the BMP: a surrogate pair is one character, four bytes */
    string_reads_as("\"\\uD83D\\uDE00\"", "\xF0\x9F\x98\x80");
    string_reads_as("\"\\ud800\\udc00\"", "\xF0\x90\x80\x80");
    string_reads_as("\"\\uDBFF\\uDFFF\"", "\xF4\x8F\xBF\xBF");
    /* UTF-8 as it is, and a raw DEL (only below 0x20 is refused) */
    string_reads_as("\"caf\xC3\xA9 \xE2\x82\xAC\"", "caf\xC3\xA9 \xE2\x82\xAC");
    string_reads_as("\"\x7F\"", "\x7F");
    /* The leniencies json.h states: a lone surrogate is encoded as it is
     * (three bytes, not valid UTF-8), a high one followed by anything but
     * a low one included; \u0000 ends the C string. */
    string_reads_as("\"\\uD83D\"", "\xED\xA0\xBD");
    string_reads_as("\"\\uD83Dx\"", "\xED\xA0\xBDx");
    string_reads_as("\"\\uD83D\\u0041\"", "\xED\xA0\xBD" "A");
    string_reads_as("\"\\uDE00\"", "\xED\xB8\x80");
    string_reads_as("\"a\\u0000b\"", "a");
}

static void test_bad_strings(void **state)
{
    (void)state;
    /* truncated */
    rejects("\"");
    rejects("\"abc");
    rejects("\"abc\\");
    rejects("\"abc\\\"");
    rejects("\"\\u");
    rejects("\"\\u12");
    rejects("\"\\uD83D\\uDE0");
    /* bad escapes */
    rejects("\"\\x41\"");
    rejects("\"\\a\"");
    rejects("\"\\'\"");
    rejects("\"\\U0041\"");
    rejects("\"\\u12g4\"");
    rejects("\"\\u 123\"");
    rejects("\"\\0\"");
    /* raw control characters: JSON escapes them */
    rejects("\"a\nb\"");
    rejects("\"\t\"");
    rejects("\"\x01\"");
    rejects("\"\x1F\"");
    /* only double quotes */
    rejects("'a'");
    /* trailing garbage */
    rejects("\"a\"\"b\"");
    rejects("\"a\" x");
}

static void test_arrays(void **state)
{
    (void)state;
    json_value v = parse_ok("[]");
    assert_int_equal(v.kind, JSON_ARRAY);
    assert_int_equal(v.n, 0);
    json_free(&v);

    v = parse_ok(" [ 1 , \"two\" ,true,false , null,[ ],{ } ] ");
    assert_int_equal(v.kind, JSON_ARRAY);
    assert_null(v.keys);
    assert_int_equal(v.n, 7);
    assert_int_equal(v.items[0].kind, JSON_NUMBER);
    assert_string_equal(v.items[0].text, "1");
    assert_int_equal(v.items[1].kind, JSON_STRING);
    assert_string_equal(v.items[1].text, "two");
    assert_int_equal(v.items[2].kind, JSON_TRUE);
    assert_int_equal(v.items[3].kind, JSON_FALSE);
    assert_int_equal(v.items[4].kind, JSON_NULL);
    assert_int_equal(v.items[5].kind, JSON_ARRAY);
    assert_int_equal(v.items[5].n, 0);
    assert_int_equal(v.items[6].kind, JSON_OBJECT);
    assert_int_equal(v.items[6].n, 0);
    json_free(&v);

    /* more elements than the first allocation holds, in order */
    buf b;
    buf_init(&b);
    buf_addc(&b, '[');
    for (int i = 0; i < 100; i++)
        buf_printf(&b, "%s%d", i ? "," : "", i);
    buf_addc(&b, ']');
    v = parse_ok(b.data);
    assert_int_equal(v.n, 100);
    for (size_t i = 0; i < v.n; i++) {
        char want[24];
        snprintf(want, sizeof want, "%zu", i);
        assert_string_equal(v.items[i].text, want);
    }
    json_free(&v);
    buf_free(&b);

    rejects("[");
    rejects("[1");
    rejects("[1,");
    rejects("[1,]");
    rejects("[,1]");
    rejects("[,]");
    rejects("[1 2]");
    rejects("[1;2]");
    rejects("[truex]");
    rejects("[1]]");
    rejects("[] x");
    rejects("[]{}");
    rejects("]");
    /* a partial tree, freed on the way out (the sanitizers check) */
    rejects("[\"a\", [1, {\"b\": [true, \"c\"]}], \"d");
}

static void test_objects(void **state)
{
    (void)state;
    json_value v = parse_ok("{}");
    assert_int_equal(v.kind, JSON_OBJECT);
    assert_int_equal(v.n, 0);
    json_free(&v);

    v = parse_ok("{ \"b\" : 1 ,\"a\":\"x\", \"\":null, \"k\\u00e9y\\n\": [] }");
    assert_int_equal(v.kind, JSON_OBJECT);
    assert_int_equal(v.n, 4);
    /* in the order written, keys decoded */
    assert_string_equal(v.keys[0], "b");
    assert_string_equal(v.items[0].text, "1");
    assert_string_equal(v.keys[1], "a");
    assert_string_equal(v.items[1].text, "x");
    assert_string_equal(v.keys[2], "");
    assert_int_equal(v.items[2].kind, JSON_NULL);
    assert_string_equal(v.keys[3], "k\xC3\xA9y\n");
    assert_int_equal(v.items[3].kind, JSON_ARRAY);
    json_free(&v);

    rejects("{");
    rejects("{\"a\"");
    rejects("{\"a\":");
    rejects("{\"a\":1");
    rejects("{\"a\":1,");
    rejects("{\"a\":1,}");
    rejects("{,}");
    rejects("{\"a\" 1}");
    rejects("{\"a\"=1}");
    rejects("{\"a\":1 \"b\":2}");
    rejects("{a:1}");
    rejects("{1:2}");
    rejects("{'a':1}");
    rejects("{\"a\\x\":1}");
    rejects("{\"a\":1}}");
    rejects("{\"a\":1} 2");
    rejects("}");
    rejects("{\"a\":{\"b\":[1,2,{\"c\":\"d\"");
}

/* n arrays inside one another around inner, closed or left open
 * (caller frees). */
static char *nested(size_t n, const char *inner, bool closed)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < n; i++)
        buf_addc(&b, '[');
    buf_adds(&b, inner);
    for (size_t i = 0; closed && i < n; i++)
        buf_addc(&b, ']');
    return buf_take(&b);
}

static void test_nesting(void **state)
{
    (void)state;
    json_value v = parse_ok("{\"a\":{\"b\":[1,{\"c\":[[\"d\"]]}]}}");
    const json_value *c = json_get(&json_get(json_get(&v, "a"), "b")->items[1], "c");
    assert_non_null(c);
    assert_int_equal(c->kind, JSON_ARRAY);
    assert_string_equal(c->items[0].items[0].text, "d");
    json_free(&v);

    /* a value inside JSON_MAX_DEPTH arrays reads */
    char *deepest = nested(JSON_MAX_DEPTH, "0", true);
    v = parse_ok(deepest);
    const json_value *in = &v;
    for (size_t i = 0; i < JSON_MAX_DEPTH; i++) {
        assert_int_equal(in->kind, JSON_ARRAY);
        assert_int_equal(in->n, 1);
        in = &in->items[0];
    }
    assert_int_equal(in->kind, JSON_NUMBER);
    json_free(&v);
    free(deepest);
    /* the limit is on values: an empty array inside JSON_MAX_DEPTH
     * arrays holds nothing deeper */
    char *empty = nested(JSON_MAX_DEPTH + 1, "", true);
    v = parse_ok(empty);
    json_free(&v);
    free(empty);

    char *too_deep = nested(JSON_MAX_DEPTH + 1, "0", true);
    rejects(too_deep);
    free(too_deep);
    /* one too deep, and truncated deep down: the partial trees are freed */
    char *unclosed = nested(JSON_MAX_DEPTH, "0", false);
    rejects(unclosed);
    free(unclosed);
}

static void test_lookups(void **state)
{
    (void)state;
    json_value v = parse_ok("{\"Node Type\": \"Seq Scan\", \"Plans\": [{\"Node Type\": \"Sort\"}], "
                            "\"Rows\": 10, \"Parallel\": false, \"Alias\": \"first\", \"Alias\": \"second\", "
                            "\"Empty\": \"\"}");
    assert_string_equal(json_get_string(&v, "Node Type"), "Seq Scan");
    assert_string_equal(json_get_string(&v, "Empty"), "");
    /* the first of a repeated key */
    assert_string_equal(json_get_string(&v, "Alias"), "first");
    assert_ptr_equal(json_get(&v, "Alias"), &v.items[4]);
    /* a member of another kind: json_get has it, json_get_string does not */
    const json_value *rows = json_get(&v, "Rows");
    assert_non_null(rows);
    assert_int_equal(rows->kind, JSON_NUMBER);
    assert_null(json_get_string(&v, "Rows"));
    assert_int_equal(json_get(&v, "Parallel")->kind, JSON_FALSE);
    assert_null(json_get_string(&v, "Parallel"));
    const json_value *plans = json_get(&v, "Plans");
    assert_non_null(plans);
    assert_int_equal(plans->kind, JSON_ARRAY);
    assert_null(json_get_string(&v, "Plans"));
    /* exact keys, at this level only */
    assert_null(json_get(&v, "node type"));
    assert_null(json_get(&v, "Node"));
    assert_null(json_get(&v, "Node Type "));
    assert_null(json_get(&v, "Missing"));
    assert_null(json_get_string(&v, "Missing"));
    assert_string_equal(json_get_string(&plans->items[0], "Node Type"), "Sort");
    /* not an object: nothing to find */
    assert_null(json_get(plans, "Node Type"));
    assert_null(json_get_string(plans, "Node Type"));
    assert_null(json_get(rows, "Rows"));
    assert_null(json_get(NULL, "Node Type"));
    assert_null(json_get_string(NULL, "Node Type"));
    json_free(&v);
}

/* What the server writes, as --explain reads it. */
static void test_explain_output(void **state)
{
    (void)state;
    json_value v = parse_ok("[\n"
                            "  {\n"
                            "    \"Plan\": {\n"
                            "      \"Node Type\": \"Limit\",\n"
                            "      \"Parallel Aware\": false,\n"
                            "      \"Startup Cost\": 10000000015.25,\n"
                            "      \"Output\": [\"posts.id\", \"posts.title\"],\n"
                            "      \"Plans\": [\n"
                            "        {\n"
                            "          \"Node Type\": \"Sort\",\n"
                            "          \"Parent Relationship\": \"Outer\",\n"
                            "          \"Sort Key\": [\"posts.created_at DESC\"],\n"
                            "          \"Plans\": [\n"
                            "            {\n"
                            "              \"Node Type\": \"Seq Scan\",\n"
                            "              \"Relation Name\": \"posts\",\n"
                            "              \"Schema\": \"dbont_check_42\",\n"
                            "              \"Alias\": \"posts\",\n"
                            "              \"Filter\": \"(posts.status = 'draft'::text)\"\n"
                            "            }\n"
                            "          ]\n"
                            "        }\n"
                            "      ]\n"
                            "    }\n"
                            "  }\n"
                            "]");
    assert_int_equal(v.kind, JSON_ARRAY);
    assert_int_equal(v.n, 1);
    const json_value *root = json_get(&v.items[0], "Plan");
    assert_string_equal(json_get_string(root, "Node Type"), "Limit");
    assert_string_equal(json_get(root, "Startup Cost")->text, "10000000015.25");
    const json_value *sort = &json_get(root, "Plans")->items[0];
    assert_string_equal(json_get_string(sort, "Node Type"), "Sort");
    assert_string_equal(json_get(sort, "Sort Key")->items[0].text, "posts.created_at DESC");
    const json_value *scan = &json_get(sort, "Plans")->items[0];
    assert_string_equal(json_get_string(scan, "Relation Name"), "posts");
    assert_string_equal(json_get_string(scan, "Filter"), "(posts.status = 'draft'::text)");
    json_free(&v);
}

static void test_release(void **state)
{
    (void)state;
    /* a zeroed value, a freed one, a rejected one: nothing to release */
    json_value v;
    memset(&v, 0, sizeof v);
    json_free(&v);
    v = parse_ok("{\"a\": [\"b\"]}");
    json_free(&v);
    assert_empty(&v);
    json_free(&v);
    assert_false(json_parse("[\"b\"", &v));
    json_free(&v);
    assert_empty(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_objects),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_explain_output),
        cmocka_unit_test(test_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
