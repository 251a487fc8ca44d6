/*
 * sqlfrag.h: checks SQL fragments from the ontology before they are
 * spliced into generated SQL.
 *
 * Expressions such as db:default are SQL by nature and cannot be escaped;
 * instead they must be one self-contained expression: quotes and
 * parentheses balanced, no ';' and no comment outside quotes (either could
 * end or hide the rest of the generated statement), and, where the
 * fragment sits in a list (a column's DEFAULT inside CREATE TABLE), no ','
 * outside parentheses.  The scanner knows PostgreSQL's quoting: '...'
 * with '' escapes, E'...' with backslash escapes, "..." identifiers and
 * $tag$...$tag$ strings.
 */
#ifndef DBONT_GEN_SQLFRAG_H
#define DBONT_GEN_SQLFRAG_H

#include <stdbool.h>
#include <stddef.h>

enum {
    SQLFRAG_NO_TOP_COMMA = 1 << 0, /* a ',' outside parentheses is an error */
};

/* Returns true when text is acceptable; otherwise writes the reason into
 * why (mentioning the byte offset where the problem starts). */
bool sqlfrag_check(const char *text, unsigned flags, char *why, size_t whysize);

/* The same, and when marks is not NULL, collects the byte offsets of the
 * '?' placeholders outside quotes into *marks (*nmarks of them; the caller
 * frees *marks, also on failure).  A '?' inside a string literal, a quoted
 * identifier or a dollar-quoted string is text, not a placeholder. */
bool sqlfrag_scan(const char *text, unsigned flags, size_t **marks, size_t *nmarks, char *why, size_t whysize);

#endif
