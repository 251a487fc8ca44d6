/*
 * vocab.h: the ontology vocabulary (../docs/vocabulary.md), as data.
 *
 * Five namespaces belong to dbont.  Every term in them is listed here with
 * the places it may appear; a term that is not listed is a typo and an
 * error, never silently ignored.  Terms of other namespaces are ignored
 * (except owl:imports, which the reader follows).
 */
#ifndef DBONT_GEN_VOCAB_H
#define DBONT_GEN_VOCAB_H

#include <stdbool.h>

#define DB_NS "http://example.org/db/"
#define MT_NS "http://example.org/multi-tenancy/"
#define CACHE_NS "http://example.org/cache/"
#define SHARD_NS "http://example.org/sharding/"
#define IDX_NS "http://example.org/indexing/"

/* The kinds of node a property can describe. */
typedef enum vocab_ctx {
    CTX_TABLE = 1 << 0,
    CTX_COLUMN = 1 << 1,
    CTX_POLICY = 1 << 2,
    CTX_QUERY = 1 << 3,
    CTX_WHERE = 1 << 4,
    CTX_JOIN = 1 << 5,
    CTX_MT_PATTERN = 1 << 6,
    CTX_CACHE_STRATEGY = 1 << 7,
    CTX_CACHE_PATTERN = 1 << 8,
    CTX_SHARD = 1 << 9,
    CTX_INDEX = 1 << 10
} vocab_ctx;

typedef enum term_kind { TERM_CLASS, TERM_PROPERTY, TERM_INDIVIDUAL } term_kind;

typedef struct vocab_term {
    const char *iri;
    term_kind kind;
    unsigned contexts; /* properties: vocab_ctx bits where they apply */
} vocab_term;

/* True when iri is in one of dbont's five namespaces. */
bool vocab_is_ours(const char *iri);

/* The listed term, or NULL. */
const vocab_term *vocab_lookup(const char *iri);

/* The known term of the same namespace closest to iri (for "did you
 * mean"), or NULL when none is close. */
const char *vocab_suggest(const char *iri);

/* Human description of a context, e.g. "a db:Table". */
const char *vocab_ctx_name(vocab_ctx ctx);

/* Writes the places a property applies to ("a db:Table or a column")
 * into out. */
void vocab_describe_contexts(unsigned contexts, char *out, unsigned size);

/* iri written with its usual prefix when it has one ("db:Table"); the
 * result is static or points into iri. Caller must not free. */
const char *vocab_short(const char *iri, char *scratch, unsigned size);

#endif
