#include "turtle_tokens.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct lexer {
    const char *s;
    size_t len;
    size_t i;
    unsigned line;
    size_t line_start;
} lexer;

static void advance(lexer *lx)
{
    if (lx->s[lx->i] == '\n') {
        lx->line++;
        lx->line_start = lx->i + 1;
    }
    lx->i++;
}

static bool at(const lexer *lx, size_t k, char c)
{
    return lx->i + k < lx->len && lx->s[lx->i + k] == c;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Characters that can appear inside a prefixed name or keyword.  Bytes >=
 * 0x80 are UTF-8 letters as far as token boundaries are concerned. */
static bool is_name_char(unsigned char c)
{
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit((char)c) ||
           c == '_' || c == '-' || c == ':' || c == '.' || c == '%' || c == '\\';
}

static void skip_string(lexer *lx)
{
    char q = lx->s[lx->i];
    bool triple = at(lx, 1, q) && at(lx, 2, q);
    size_t open = triple ? 3 : 1;
    for (size_t k = 0; k < open; k++)
        advance(lx);
    while (lx->i < lx->len) {
        char c = lx->s[lx->i];
        if (c == '\\') {
            advance(lx);
            if (lx->i < lx->len)
                advance(lx);
            continue;
        }
        if (c == q && (!triple || (at(lx, 1, q) && at(lx, 2, q)))) {
            for (size_t k = 0; k < open; k++)
                advance(lx);
            return;
        }
        if (!triple && c == '\n')
            return; /* unterminated: serd has reported it */
        advance(lx);
    }
}

static void skip_number(lexer *lx)
{
    if (at(lx, 0, '+') || at(lx, 0, '-'))
        advance(lx);
    while (lx->i < lx->len && is_digit(lx->s[lx->i]))
        advance(lx);
    if (at(lx, 0, '.') && lx->i + 1 < lx->len && is_digit(lx->s[lx->i + 1])) {
        advance(lx);
        while (lx->i < lx->len && is_digit(lx->s[lx->i]))
            advance(lx);
    }
    if (at(lx, 0, 'e') || at(lx, 0, 'E')) {
        advance(lx);
        if (at(lx, 0, '+') || at(lx, 0, '-'))
            advance(lx);
        while (lx->i < lx->len && is_digit(lx->s[lx->i]))
            advance(lx);
    }
}

static bool starts_number(const lexer *lx)
{
    char c = lx->s[lx->i];
    if (is_digit(c))
        return true;
    size_t k = (c == '+' || c == '-') ? 1 : 0;
    if (lx->i + k < lx->len && is_digit(lx->s[lx->i + k]))
        return true;
    return lx->i + k + 1 < lx->len && lx->s[lx->i + k] == '.' && is_digit(lx->s[lx->i + k + 1]);
}

void turtle_tokenize(const char *text, size_t len, toklist *out)
{
    lexer lx = {text, len, 0, 1, 0};
    out->n = 0;
    while (lx.i < lx.len) {
        char c = lx.s[lx.i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            advance(&lx);
            continue;
        }
        if (c == '#') {
            while (lx.i < lx.len && lx.s[lx.i] != '\n')
                advance(&lx);
            continue;
        }
        tok t = {TOK_OTHER, lx.i, 0, lx.line, (unsigned)(lx.i - lx.line_start + 1)};
        if (c == '<') {
            t.kind = TOK_IRI;
            while (lx.i < lx.len && lx.s[lx.i] != '>' && lx.s[lx.i] != '\n')
                advance(&lx);
            if (at(&lx, 0, '>'))
                advance(&lx);
        } else if (c == '"' || c == '\'') {
            t.kind = TOK_STRING;
            skip_string(&lx);
        } else if (starts_number(&lx)) {
            t.kind = TOK_NUMBER;
            skip_number(&lx);
        } else if (strchr("[]();,.", c)) {
            t.kind = TOK_PUNCT;
            advance(&lx);
        } else if (c == '^' && at(&lx, 1, '^')) {
            advance(&lx);
            advance(&lx);
        } else if (c == '@') {
            advance(&lx);
            while (lx.i < lx.len && (is_name_char((unsigned char)lx.s[lx.i]) && lx.s[lx.i] != '.'))
                advance(&lx);
        } else if (is_name_char((unsigned char)c)) {
            t.kind = TOK_NAME;
            while (lx.i < lx.len && is_name_char((unsigned char)lx.s[lx.i])) {
                if (lx.s[lx.i] == '\\' && lx.i + 1 < lx.len)
                    advance(&lx);
                advance(&lx);
            }
            /* A name cannot end with '.': that dot ends the statement. */
            while (lx.i > t.off + 1 && lx.s[lx.i - 1] == '.' && lx.s[lx.i - 2] != '\\')
                lx.i--;
        } else {
            advance(&lx);
        }
        t.len = lx.i - t.off;
        GROW(out->v, out->cap, out->n);
        out->v[out->n++] = t;
    }
}

void toklist_free(toklist *t)
{
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

size_t toklist_before(const toklist *t, size_t offset)
{
    size_t lo = 0, hi = t->n; /* first token with off >= offset */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid].off < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1; /* (size_t)-1 when lo == 0 */
}
