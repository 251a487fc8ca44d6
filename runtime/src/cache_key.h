/*
 * cache_key.h: the bytes of a query cache key (cache.c puts them
 * together; docs/caching.md documents the whole key).
 *
 * A key is built in a growing buffer that remembers a failed allocation
 * instead of reporting each one: the builder checks `failed` once at the
 * end.  The parts that come from the caller's values are written so that
 * no two different sets of values give the same bytes (see
 * dbont_cache_key_params): a cache key that two parameter sets share would
 * serve one of them the other's rows.
 *
 * Internal to libdbont.
 */
#ifndef DBONT_CACHE_KEY_H
#define DBONT_CACHE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbont/cache.h"

typedef struct dbont_keybuf {
    char *s; /* NUL-terminated while not failed; the caller frees it */
    size_t len, cap;
    bool failed; /* an allocation failed: s is incomplete */
} dbont_keybuf;

void dbont_keybuf_add(dbont_keybuf *b, const char *s, size_t n);
void dbont_keybuf_adds(dbont_keybuf *b, const char *s);

/* Letters, digits and ._@- as they are, every other byte %XX: an escaped
 * value holds no ':', ',', '~' or '=' of its own, so those can separate
 * values. */
void dbont_keybuf_add_escaped(dbont_keybuf *b, const char *s, size_t n);

void dbont_keybuf_add_u64(dbont_keybuf *b, uint64_t v);   /* decimal */
void dbont_keybuf_add_hex64(dbont_keybuf *b, uint64_t v); /* 16 hex digits */

/* Parameter parts longer than this are replaced by a hash. */
#define DBONT_KEY_PARAMS_MAX 64
/* A rendered template is cut at this many bytes. */
#define DBONT_KEY_TEMPLATE_MAX 128

/*
 * Appends the parameters' part of cq's key for the parameter struct
 * params (cq->query's layout):
 *
 *   "=" v1 "," v2 ...    each parameter's text form escaped, "~" for NULL,
 *                        when that is at most DBONT_KEY_PARAMS_MAX bytes;
 *   "#" 32 hex digits    else the first 128 bits of its SHA-256;
 *
 * then, when cq has a key template, ":" and the template with each
 * {{name}} replaced by that parameter's escaped text form (cut at
 * DBONT_KEY_TEMPLATE_MAX bytes: it is there to be read, the part before
 * keeps keys apart).
 */
void dbont_cache_key_params(dbont_keybuf *b, const dbont_cached_query *cq, const void *params);

#endif
