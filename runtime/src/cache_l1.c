/*
 * cache_l1.c: the in-process cache level (cache_l1.h).
 *
 * Each shard is a chained hash table whose entries are also on a doubly
 * linked list from the most to the least recently used.  An entry is one
 * allocation: its header, then the key, then the value.
 *
 * Only the shard's own bookkeeping happens under its mutex.  A put builds
 * its entry before taking the lock, and the entries a call unlinks
 * (replaced, evicted, expired, removed) are freed after releasing it, so
 * the lock is held for a lookup and a few pointer updates.  A hit still
 * copies the value under the lock: the entry may be evicted by another
 * thread the moment the lock is released, and copying a cached result
 * (a few hundred bytes to a few kilobytes) is cheap next to what copying
 * outside would need: a reference count, one more shared write per hit.
 *
 * Shards sit on cache lines of their own, so that two threads working on
 * two shards do not slow each other down by writing the same line; what
 * every get writes (the lock, the LRU list's head, the hit and miss
 * counters) shares the lock's line, so that a get moves as few lines
 * between cores as it can.
 *
 * The shard locks spin for a moment before they sleep where the C library
 * offers that (glibc's adaptive mutexes): they are held for a lookup and
 * a copy, far shorter than the trip through the kernel that a plain mutex
 * takes as soon as two threads meet on one shard.  Measured with two
 * threads reading one cache, that cut the context switches five- to
 * tenfold.
 */
#define _GNU_SOURCE  /* PTHREAD_MUTEX_ADAPTIVE_NP in glibc; plain POSIX elsewhere */

#include "cache_l1.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry.h"   /* dbont_mix64 */

#define CACHE_LINE 64
/* Buckets of a new shard; the table doubles when it holds more entries
 * than buckets, so a chain averages at most one entry. */
#define MIN_BUCKETS 16

typedef struct entry {
    struct entry *chain;    /* next in the same bucket */
    struct entry *newer;    /* LRU neighbours; NULL at either end */
    struct entry *older;
    uint64_t hash;
    uint64_t expires_ms;
    size_t klen;
    size_t vlen;
    unsigned char bytes[];  /* klen bytes of key, then vlen of value */
} entry;

_Static_assert(sizeof(entry) + 2 * sizeof(entry *) <= DBONT_L1_ENTRY_OVERHEAD,
               "DBONT_L1_ENTRY_OVERHEAD must cover an entry's header");

typedef struct shard {
    /* Written by every get: on one cache line (64 bytes with glibc). */
    _Alignas(CACHE_LINE) pthread_mutex_t lock;
    entry *newest;          /* the LRU list's most recent end */
    uint64_t hits, misses;
    /* Read by every get; written by puts, removals, and the gets that
     * remove an expired entry or move the oldest one. */
    entry **buckets;        /* nbuckets chains */
    size_t nbuckets;        /* a power of two */
    entry *oldest;          /* the LRU list's other end */
    size_t max_bytes;       /* this shard's share */
    size_t bytes;
    size_t entries;
    uint64_t evictions, expired;
} shard;

struct dbont_l1 {
    shard *shards;
    unsigned nshards;
    /* Mixed into every key's hash, different in each cache and process,
     * so that keys chosen to collide (they contain query parameters)
     * cannot be prepared in advance. */
    uint64_t seed;
};

/* ---- hashing ---------------------------------------------------------- */

static uint64_t hash_key(uint64_t seed, const void *key, size_t klen)
{
    const unsigned char *p = key;
    uint64_t h = seed ^ ((uint64_t)klen * UINT64_C(0x9e3779b97f4a7c15));
    uint64_t w;

    /* A word at a time: multiply-xorshift rounds, then the strong
     * finalizer.  The byte order of the loads does not matter, as the
     * hash never leaves the process. */
    for (; klen >= 8; p += 8, klen -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 29;
    }
    if (klen > 0) {
        w = 0;
        memcpy(&w, p, klen);
        h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 29;
    }
    return dbont_mix64(h);
}

/* The high half picks the shard, the low bits the bucket, so that the
 * entries of one shard still spread over all of its buckets. */
static shard *shard_of(const dbont_l1 *l1, uint64_t hash)
{
    return &l1->shards[(hash >> 32) % l1->nshards];
}

static size_t bucket_of(const shard *s, uint64_t hash)
{
    return (size_t)hash & (s->nbuckets - 1);
}

/* ---- one shard (the caller holds its lock) ---------------------------- */

/* The pointer that points at key's entry (a bucket or a chain link), or
 * at the NULL ending its chain when the key is absent. */
static entry **find(shard *s, uint64_t hash, const void *key, size_t klen)
{
    entry **at = &s->buckets[bucket_of(s, hash)];
    for (; *at != NULL; at = &(*at)->chain) {
        entry *e = *at;
        if (e->hash == hash && e->klen == klen &&
            (klen == 0 || memcmp(e->bytes, key, klen) == 0))
            return at;
    }
    return at;
}

static void lru_unlink(shard *s, entry *e)
{
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        s->newest = e->older;
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        s->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push_front(shard *s, entry *e)
{
    e->newer = NULL;
    e->older = s->newest;
    if (s->newest != NULL)
        s->newest->newer = e;
    else
        s->oldest = e;
    s->newest = e;
}

static size_t cost(const entry *e)
{
    return e->klen + e->vlen + DBONT_L1_ENTRY_OVERHEAD;
}

/* Takes the entry *at points to out of the table, the list and the byte
 * count, and puts it on *dead, to be freed once the lock is released. */
static void unlink_entry(shard *s, entry **at, entry **dead)
{
    entry *e = *at;
    *at = e->chain;
    lru_unlink(s, e);
    s->bytes -= cost(e);
    s->entries--;
    e->chain = *dead;
    *dead = e;
}

/* Unlinks the least recently used entry, which the caller knows exists. */
static void evict_oldest(shard *s, entry **dead)
{
    entry *victim = s->oldest;
    entry **at = find(s, victim->hash, victim->bytes, victim->klen);
    unlink_entry(s, at, dead);
    s->evictions++;
}

/* Doubles the table.  When that memory cannot be had the chains simply
 * grow longer: lookups slow down, nothing is lost. */
static void grow(shard *s)
{
    size_t n = s->nbuckets * 2, i;
    entry **b;

    if (n > SIZE_MAX / sizeof *b)
        return;
    b = calloc(n, sizeof *b);
    if (b == NULL)
        return;
    for (i = 0; i < s->nbuckets; i++) {
        entry *e = s->buckets[i], *next;
        for (; e != NULL; e = next) {
            next = e->chain;
            e->chain = b[(size_t)e->hash & (n - 1)];
            b[(size_t)e->hash & (n - 1)] = e;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

/* A shard's mutex: adaptive where there is such a thing (see above). */
static int init_lock(pthread_mutex_t *m)
{
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    pthread_mutexattr_t attr;
    int rc;

    if (pthread_mutexattr_init(&attr) != 0)
        return -1;
    rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    if (rc == 0)
        rc = pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc;
#else
    return pthread_mutex_init(m, NULL);
#endif
}

static void free_chain(entry *dead)
{
    while (dead != NULL) {
        entry *next = dead->chain;
        free(dead);
        dead = next;
    }
}

/* ---- the API ---------------------------------------------------------- */

dbont_l1 *dbont_l1_new(size_t max_bytes, unsigned nshards)
{
    dbont_l1 *l1;
    size_t size;
    unsigned i;

    if (nshards == 0)
        nshards = DBONT_L1_DEFAULT_SHARDS;
    size = nshards;   /* a size_t: on 32-bit systems the product can overflow */
    if (size > SIZE_MAX / sizeof(shard))
        return NULL;
    size *= sizeof(shard);
    l1 = calloc(1, sizeof *l1);
    if (l1 == NULL)
        return NULL;
    /* aligned_alloc wants a multiple of the alignment; sizeof(shard) is
     * one, since the lock is aligned to a cache line. */
    l1->shards = aligned_alloc(CACHE_LINE, size);
    if (l1->shards == NULL) {
        free(l1);
        return NULL;
    }
    memset(l1->shards, 0, size);
    l1->nshards = nshards;
    /* Not a secret, only unpredictable enough from outside: the cache's
     * address (randomized by ASLR) and the time. */
    l1->seed = dbont_mix64((uint64_t)(uintptr_t)l1 ^
                           dbont_mix64((uint64_t)time(NULL)));
    for (i = 0; i < nshards; i++) {
        shard *s = &l1->shards[i];
        s->max_bytes = max_bytes / nshards;
        s->nbuckets = MIN_BUCKETS;
        s->buckets = calloc(MIN_BUCKETS, sizeof *s->buckets);
        if (s->buckets == NULL || init_lock(&s->lock) != 0) {
            free(s->buckets);
            l1->nshards = i;    /* the ones set up so far */
            dbont_l1_free(l1);
            return NULL;
        }
    }
    return l1;
}

void dbont_l1_free(dbont_l1 *l1)
{
    unsigned i;

    if (l1 == NULL)
        return;
    for (i = 0; i < l1->nshards; i++) {
        shard *s = &l1->shards[i];
        entry *e = s->newest, *next;
        for (; e != NULL; e = next) {
            next = e->older;
            free(e);
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(l1->shards);
    free(l1);
}

bool dbont_l1_get(dbont_l1 *l1, const void *key, size_t klen,
                  uint64_t now_ms, void **val, size_t *len)
{
    uint64_t hash = hash_key(l1->seed, key, klen);
    shard *s = shard_of(l1, hash);
    entry *dead = NULL, **at, *e;
    bool hit = false;

    pthread_mutex_lock(&s->lock);
    at = find(s, hash, key, klen);
    e = *at;
    if (e != NULL && now_ms >= e->expires_ms) {
        unlink_entry(s, at, &dead);
        s->expired++;
    } else if (e != NULL) {
        /* malloc(0) may return NULL: ask for one byte at least, so that
         * an empty value is a hit like any other. */
        void *copy = malloc(e->vlen > 0 ? e->vlen : 1);
        if (copy != NULL) {
            if (e->vlen > 0)
                memcpy(copy, e->bytes + e->klen, e->vlen);
            *val = copy;
            *len = e->vlen;
            if (e != s->newest) {   /* spares two writes on a hot key */
                lru_unlink(s, e);
                lru_push_front(s, e);
            }
            hit = true;
        }
    }
    if (hit)
        s->hits++;
    else
        s->misses++;
    pthread_mutex_unlock(&s->lock);
    free_chain(dead);
    return hit;
}

bool dbont_l1_put(dbont_l1 *l1, const void *key, size_t klen,
                  const void *val, size_t len, uint64_t expires_ms)
{
    uint64_t hash = hash_key(l1->seed, key, klen);
    shard *s = shard_of(l1, hash);
    entry *e = NULL, *dead = NULL, **at;
    bool fits = klen <= SIZE_MAX - sizeof(entry) - DBONT_L1_ENTRY_OVERHEAD &&
                len <= SIZE_MAX - sizeof(entry) - DBONT_L1_ENTRY_OVERHEAD - klen &&
                klen + len + DBONT_L1_ENTRY_OVERHEAD <= s->max_bytes;

    if (fits) {
        e = malloc(sizeof *e + klen + len);
        if (e != NULL) {
            e->hash = hash;
            e->expires_ms = expires_ms;
            e->klen = klen;
            e->vlen = len;
            if (klen > 0)
                memcpy(e->bytes, key, klen);
            if (len > 0)
                memcpy(e->bytes + klen, val, len);
        }
    }

    pthread_mutex_lock(&s->lock);
    at = find(s, hash, key, klen);
    if (*at != NULL)
        unlink_entry(s, at, &dead);
    if (e != NULL) {
        while (s->bytes + cost(e) > s->max_bytes)
            evict_oldest(s, &dead);
        if (s->entries >= s->nbuckets)
            grow(s);
        at = &s->buckets[bucket_of(s, hash)];
        e->chain = *at;
        *at = e;
        lru_push_front(s, e);
        s->bytes += cost(e);
        s->entries++;
    }
    pthread_mutex_unlock(&s->lock);
    free_chain(dead);
    return e != NULL;
}

void dbont_l1_remove(dbont_l1 *l1, const void *key, size_t klen)
{
    uint64_t hash = hash_key(l1->seed, key, klen);
    shard *s = shard_of(l1, hash);
    entry *dead = NULL, **at;

    pthread_mutex_lock(&s->lock);
    at = find(s, hash, key, klen);
    if (*at != NULL)
        unlink_entry(s, at, &dead);
    pthread_mutex_unlock(&s->lock);
    free_chain(dead);
}

void dbont_l1_clear(dbont_l1 *l1)
{
    unsigned i;

    for (i = 0; i < l1->nshards; i++) {
        shard *s = &l1->shards[i];
        entry *e, *next;
        pthread_mutex_lock(&s->lock);
        e = s->newest;
        s->newest = s->oldest = NULL;
        memset(s->buckets, 0, s->nbuckets * sizeof *s->buckets);
        s->bytes = 0;
        s->entries = 0;
        pthread_mutex_unlock(&s->lock);
        for (; e != NULL; e = next) {
            next = e->older;
            free(e);
        }
    }
}

void dbont_l1_stats_get(dbont_l1 *l1, dbont_l1_stats *out)
{
    unsigned i;

    memset(out, 0, sizeof *out);
    for (i = 0; i < l1->nshards; i++) {
        shard *s = &l1->shards[i];
        pthread_mutex_lock(&s->lock);
        out->hits += s->hits;
        out->misses += s->misses;
        out->evictions += s->evictions;
        out->expired += s->expired;
        out->bytes += s->bytes;
        out->entries += s->entries;
        pthread_mutex_unlock(&s->lock);
    }
}
