/*
 * turtle_tokens.h: where each token of a Turtle text starts.
 *
 * serd 0.30 reports statements without a source position.  The reader
 * therefore counts the bytes serd has consumed when it delivers each
 * statement, and afterwards uses this tokenizer to find the tokens of that
 * statement (its predicate and object) just before that offset.  The
 * tokenizer only has to find token boundaries in text serd has already
 * accepted; it never judges syntax.
 */
#ifndef DBONT_GEN_TURTLE_TOKENS_H
#define DBONT_GEN_TURTLE_TOKENS_H

#include <stddef.h>

typedef enum tok_kind {
    TOK_IRI,    /* <...>, text includes the brackets */
    TOK_NAME,   /* prefixed name, a, true, false, _:label, PREFIX, BASE */
    TOK_STRING, /* any of the four quoted forms */
    TOK_NUMBER,
    TOK_PUNCT,  /* one of [ ] ( ) ; , . */
    TOK_OTHER   /* ^^, @lang, @prefix and anything else */
} tok_kind;

typedef struct tok {
    tok_kind kind;
    size_t off;     /* byte offset of the first byte */
    size_t len;
    unsigned line;  /* 1-based */
    unsigned col;   /* 1-based, in bytes */
} tok;

typedef struct toklist {
    tok *v;
    size_t n;
    size_t cap;
} toklist;

void turtle_tokenize(const char *text, size_t len, toklist *out);
void toklist_free(toklist *t);

/* Index of the last token that starts before offset, or (size_t)-1. */
size_t toklist_before(const toklist *t, size_t offset);

#endif
