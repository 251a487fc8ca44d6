/*
 * cache_l1.h: the in-process level of the query-result cache (L1).
 *
 * A map from opaque keys to opaque values (both byte strings, NUL bytes
 * allowed), bounded in bytes, with least-recently-used eviction and an
 * expiry time per entry that is checked when the entry is read.
 *
 * Several threads may call every function except dbont_l1_free at once.
 * There is no global lock: the keys are spread by hash over shards, each
 * with its own mutex, hash table, LRU list and counters, so threads that
 * touch different shards never wait for each other.  The price is that
 * LRU order and the byte bound are per shard: each shard keeps to its
 * share, max_bytes / nshards (rounded down), and evicts only its own
 * entries; the shares add up to at most max_bytes.
 *
 * Ownership: the cache copies keys and values on put and hands out a
 * malloc'd copy of a value on a hit, which the caller frees.  Nothing the
 * caller passes in is kept.
 *
 * Times are milliseconds on whatever clock the caller uses for both put
 * (expires_ms) and get (now_ms); the cache never reads a clock itself.
 *
 * Internal to libdbont.
 */
#ifndef DBONT_CACHE_L1_H
#define DBONT_CACHE_L1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What an entry costs beyond its key and value, in the byte count: the
 * entry's header (56 bytes on a 64-bit system), malloc's bookkeeping and
 * rounding (about 16) and its share of the hash table (one or two
 * pointers).  A fixed figure, so that the count does not depend on the
 * allocator and a test can predict it exactly.
 */
#define DBONT_L1_ENTRY_OVERHEAD 96

/* The number of shards when dbont_l1_new is given 0. */
#define DBONT_L1_DEFAULT_SHARDS 16

typedef struct dbont_l1 dbont_l1;

typedef struct dbont_l1_stats {
    uint64_t hits;       /* gets that returned a value */
    uint64_t misses;     /* gets that did not, expired ones included */
    uint64_t evictions;  /* entries pushed out to make room */
    uint64_t expired;    /* entries found expired by a get (and removed) */
    size_t bytes;        /* keys + values + DBONT_L1_ENTRY_OVERHEAD each */
    size_t entries;
} dbont_l1_stats;

/* An empty cache of at most max_bytes; nshards 0 means
 * DBONT_L1_DEFAULT_SHARDS.  NULL when out of memory. */
dbont_l1 *dbont_l1_new(size_t max_bytes, unsigned nshards);

/* Frees the cache and every entry.  No other call may be running. */
void dbont_l1_free(dbont_l1 *l1);

/*
 * A hit: the key is present and now_ms < its expiry.  *val receives a
 * malloc'd copy of the value (the caller frees it; never NULL, even for
 * an empty value), *len its length, the entry becomes the most recently
 * used of its shard, and the result is true.
 *
 * Otherwise false, and *val and *len are untouched: the key is absent, or
 * it expired (the entry is then removed and counted in `expired`), or the
 * copy could not be allocated.  Every false counts as a miss.
 */
bool dbont_l1_get(dbont_l1 *l1, const void *key, size_t klen,
                  uint64_t now_ms, void **val, size_t *len);

/*
 * Stores a copy of key and value, expiring at expires_ms, in place of any
 * entry of the same key.  Least-recently-used entries of the key's shard
 * are evicted (and counted) until the new one fits in the shard's share.
 *
 * False when the entry is not stored: it would cost more than a shard's
 * share, or memory ran out.  Any older entry of the key is removed then
 * too, since the caller's new value supersedes it.
 */
bool dbont_l1_put(dbont_l1 *l1, const void *key, size_t klen,
                  const void *val, size_t len, uint64_t expires_ms);

/* Removes the key's entry, if there is one (not counted). */
void dbont_l1_remove(dbont_l1 *l1, const void *key, size_t klen);

/* Drops every entry (the counters stay). */
void dbont_l1_clear(dbont_l1 *l1);

/*
 * Sums the shards' counters.  Each shard is read under its lock, so its
 * figures are consistent with each other, but with other threads at work
 * the shards are read at slightly different moments.
 */
void dbont_l1_stats_get(dbont_l1 *l1, dbont_l1_stats *out);

#endif
