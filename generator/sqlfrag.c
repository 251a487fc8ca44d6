#include "sqlfrag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Length of a dollar-quote tag ($ $tag$) starting at s, or 0. */
static size_t dollar_tag(const char *s)
{
    if (s[0] != '$')
        return 0;
    size_t i = 1;
    if (s[i] >= '0' && s[i] <= '9')
        return 0; /* $1 is a parameter, not a tag */
    while (ident_char(s[i]))
        i++;
    return s[i] == '$' ? i + 1 : 0;
}

static bool fail(char *why, size_t whysize, const char *what, size_t at)
{
    snprintf(why, whysize, "%s (at character %zu)", what, at + 1);
    return false;
}

bool sqlfrag_check(const char *text, unsigned flags, char *why, size_t whysize)
{
    return sqlfrag_scan(text, flags, NULL, NULL, why, whysize);
}

bool sqlfrag_scan(const char *text, unsigned flags, size_t **marks, size_t *nmarks, char *why, size_t whysize)
{
    if (nmarks)
        *nmarks = 0;
    if (marks)
        *marks = NULL;
    size_t depth = 0;
    size_t open_at = 0; /* the '(' that opened the outermost unclosed group */
    size_t n = strlen(text);
    size_t i = 0;
    while (i < n) {
        char c = text[i];
        if (c == '\'' || ((c == 'E' || c == 'e') && text[i + 1] == '\'' &&
                          (i == 0 || !ident_char(text[i - 1])))) {
            bool backslash = c != '\'';
            size_t start = i;
            i += backslash ? 2 : 1;
            for (;;) {
                if (i >= n)
                    return fail(why, whysize, "unterminated string literal", start);
                if (backslash && text[i] == '\\' && i + 1 < n) {
                    i += 2;
                    continue;
                }
                if (text[i] == '\'') {
                    if (text[i + 1] == '\'') {
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                i++;
            }
            continue;
        }
        if (c == '"') {
            size_t start = i++;
            for (;;) {
                if (i >= n)
                    return fail(why, whysize, "unterminated quoted identifier", start);
                if (text[i] == '"') {
                    if (text[i + 1] == '"') {
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                i++;
            }
            continue;
        }
        size_t tag = dollar_tag(text + i);
        if (tag && (i == 0 || !ident_char(text[i - 1]))) {
            size_t start = i;
            const char *end = NULL;
            for (size_t j = i + tag; j + tag <= n; j++) {
                if (memcmp(text + j, text + i, tag) == 0) {
                    end = text + j;
                    break;
                }
            }
            if (!end)
                return fail(why, whysize, "unterminated dollar-quoted string", start);
            i = (size_t)(end - text) + tag;
            continue;
        }
        if (c == '-' && text[i + 1] == '-')
            return fail(why, whysize, "comment '--' is not allowed", i);
        if (c == '/' && text[i + 1] == '*')
            return fail(why, whysize, "comment '/*' is not allowed", i);
        if (c == ';')
            return fail(why, whysize, "';' is not allowed: a fragment must be one expression", i);
        if (c == '(' && depth++ == 0)
            open_at = i;
        if (c == ')') {
            if (depth == 0)
                return fail(why, whysize, "unbalanced ')'", i);
            depth--;
        }
        if (c == ',' && depth == 0 && (flags & SQLFRAG_NO_TOP_COMMA))
            return fail(why, whysize, "',' outside parentheses is not allowed here", i);
        if (c == '?' && marks) {
            *marks = xrealloc(*marks, (*nmarks + 1) * sizeof **marks);
            (*marks)[(*nmarks)++] = i;
        }
        i++;
    }
    if (depth)
        return fail(why, whysize, "unbalanced '('", open_at);
    return true;
}
