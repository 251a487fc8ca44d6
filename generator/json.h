/*
 * json.h: a small JSON reader, text in, a tree of values out.
 *
 * dbont-gen --explain (explain.h) reads PostgreSQL's EXPLAIN (FORMAT
 * JSON) output with it; a JSON library would be one more dependency for
 * one caller.  Only what the server writes needs to be understood, but
 * the reader follows the JSON grammar (RFC 8259) rather than the layout
 * PostgreSQL happens to use, so another indentation or key order reads
 * the same.  Where it is more lenient than RFC 8259, on input the server
 * never writes, it says so below.
 *
 * Ownership: json_parse fills a json_value the caller provides (on the
 * stack, usually); the tree under it, every string, key and element, is
 * owned by that value and released by json_free.  The lookups return
 * pointers into the tree: they stay valid until json_free.
 */
#ifndef DBONT_GEN_JSON_H
#define DBONT_GEN_JSON_H

#include <stdbool.h>
#include <stddef.h>

typedef enum json_kind {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_kind;

typedef struct json_value {
    json_kind kind;
    /* JSON_STRING: decoded, NUL-terminated (a \u0000 in the text ends it
     * early); JSON_NUMBER: as written (never needed as a number so far) */
    char *text;
    struct json_value *items; /* JSON_ARRAY: the elements; JSON_OBJECT: the members' values */
    char **keys;              /* JSON_OBJECT: keys[i] (decoded) names items[i] */
    size_t n, cap;            /* the number of items, and the room for them */
} json_value;

/* The deepest nesting read: plans nest with the query's joins and
 * subqueries, and nothing reasonable goes deeper.  A value inside more
 * than JSON_MAX_DEPTH arrays and objects is rejected: 256 arrays around a
 * number read, 257 do not. */
enum { JSON_MAX_DEPTH = 256 };

/* The whole of text (whitespace around it allowed) as one value into
 * *out; false when it is not JSON: truncated, followed by anything but
 * whitespace, nested too deep, a bad escape or a raw control character in
 * a string.  On false, *out is empty (as json_free leaves it).
 *
 * Strings: the escapes are decoded, \uXXXX to UTF-8, a surrogate pair
 * (\uD83D\uDE00) to its one character.  Lenient: bytes from 0x80 up are
 * copied unchecked (not validated as UTF-8), and a lone surrogate is
 * encoded as it is.
 *
 * Numbers: an optional '-' and a digit, then any run of digits, '.', 'e',
 * 'E', '+' and '-', kept as written.  Lenient: the form is not checked
 * past the first digit ("1.2.3" reads; "+1", ".5" and "-" do not).
 *
 * Objects keep their members in order, duplicate keys included. */
bool json_parse(const char *text, json_value *out);

/* Releases everything under v and leaves it empty (all zero: JSON_NULL,
 * no items); v itself is the caller's.  An empty value, one json_parse
 * rejected or one freed already, is fine. */
void json_free(json_value *v);

/* The value of member key of obj (the first, if the key repeats); NULL
 * when obj is NULL, not an object, or has no such member. */
const json_value *json_get(const json_value *obj, const char *key);

/* The text of member key of obj when it is a string; NULL otherwise
 * (missing, or another kind of value). */
const char *json_get_string(const json_value *obj, const char *key);

#endif
