/* Unit tests: the in-process cache level (cache_l1.h). */
#define _POSIX_C_SOURCE 200809L  /* clock_gettime, nanosleep */

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cache_l1.h"

#define FOREVER UINT64_MAX
#define COST(klen, vlen) ((size_t)(klen) + (size_t)(vlen) + DBONT_L1_ENTRY_OVERHEAD)

/* xorshift64*: a small, fast, reproducible generator for the tests. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(0x2545f4914f6cdd1d);
}

static bool put_str(dbont_l1 *l1, const char *key, const char *val, uint64_t expires)
{
    return dbont_l1_put(l1, key, strlen(key), val, strlen(val), expires);
}

/* Whether key is present at now with exactly the value expected. */
static bool has(dbont_l1 *l1, const char *key, const char *expected, uint64_t now)
{
    void *val = NULL;
    size_t len = 0;
    bool hit = dbont_l1_get(l1, key, strlen(key), now, &val, &len);
    if (hit) {
        assert_non_null(val);
        assert_int_equal(len, strlen(expected));
        assert_memory_equal(val, expected, len);
        free(val);
    }
    return hit;
}

static dbont_l1_stats stats(dbont_l1 *l1)
{
    dbont_l1_stats st;
    dbont_l1_stats_get(l1, &st);
    return st;
}

static void test_hit_miss(void **state)
{
    dbont_l1 *l1 = dbont_l1_new(1 << 20, 0);
    void *val = (void *)&val;
    size_t len = 12345;
    (void)state;
    assert_non_null(l1);
    /* A miss leaves the outputs alone. */
    assert_false(dbont_l1_get(l1, "user:1", 6, 0, &val, &len));
    assert_ptr_equal(val, (void *)&val);
    assert_int_equal(len, 12345);
    assert_true(put_str(l1, "user:1", "alice", FOREVER));
    assert_true(has(l1, "user:1", "alice", 0));
    assert_false(has(l1, "user:2", "", 0));
    assert_int_equal(stats(l1).entries, 1);
    assert_int_equal(stats(l1).bytes, COST(6, 5));
    dbont_l1_free(l1);
    dbont_l1_free(NULL);
}

/* An empty value is a hit like any other, with a non-NULL copy. */
static void test_empty_value(void **state)
{
    dbont_l1 *l1 = dbont_l1_new(1 << 20, 0);
    void *val = NULL;
    size_t len = 99;
    (void)state;
    assert_true(dbont_l1_put(l1, "k", 1, NULL, 0, FOREVER));
    assert_true(dbont_l1_get(l1, "k", 1, 0, &val, &len));
    assert_non_null(val);
    assert_int_equal(len, 0);
    free(val);
    dbont_l1_free(l1);
}

static void test_replace(void **state)
{
    dbont_l1 *l1 = dbont_l1_new(1 << 20, 4);
    (void)state;
    assert_true(put_str(l1, "k", "first value", FOREVER));
    assert_true(put_str(l1, "k", "2nd", FOREVER));
    assert_true(has(l1, "k", "2nd", 0));
    assert_int_equal(stats(l1).entries, 1);
    assert_int_equal(stats(l1).bytes, COST(1, 3));
    /* Replacing also replaces the expiry. */
    assert_true(put_str(l1, "k", "3rd", 10));
    assert_false(has(l1, "k", "", 10));
    assert_int_equal(stats(l1).bytes, 0);
    assert_int_equal(stats(l1).evictions, 0);
    dbont_l1_free(l1);
}

/* now < expiry is a hit; from the expiry on, a miss that removes it. */
static void test_ttl_expiry(void **state)
{
    dbont_l1 *l1 = dbont_l1_new(1 << 20, 0);
    dbont_l1_stats st;
    (void)state;
    assert_true(put_str(l1, "a", "x", 100));
    assert_true(put_str(l1, "b", "y", 200));
    assert_true(has(l1, "a", "x", 0));
    assert_true(has(l1, "a", "x", 99));
    assert_false(has(l1, "a", "", 100));
    st = stats(l1);
    assert_int_equal(st.expired, 1);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.bytes, COST(1, 1));
    /* Removed: an earlier clock does not bring it back. */
    assert_false(has(l1, "a", "", 0));
    assert_int_equal(stats(l1).expired, 1);
    assert_true(has(l1, "b", "y", 199));
    assert_false(has(l1, "b", "", 5000));
    st = stats(l1);
    assert_int_equal(st.expired, 2);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.hits, 3);
    assert_int_equal(st.misses, 3);
    dbont_l1_free(l1);
}

/* One shard, room for exactly three entries: the least recently used
 * (put or read) goes first. */
static void test_lru_order(void **state)
{
    dbont_l1 *l1 = dbont_l1_new(3 * COST(1, 9), 1);
    char big[2 * COST(1, 9) - COST(1, 0) + 1];
    (void)state;
    assert_true(put_str(l1, "a", "aaaaaaaaa", FOREVER));
    assert_true(put_str(l1, "b", "bbbbbbbbb", FOREVER));
    assert_true(put_str(l1, "c", "ccccccccc", FOREVER));   /* c b a */
    assert_int_equal(stats(l1).bytes, 3 * COST(1, 9));
    assert_true(has(l1, "a", "aaaaaaaaa", 0));              /* a c b */
    assert_true(put_str(l1, "d", "ddddddddd", FOREVER));   /* d a c, b out */
    assert_int_equal(stats(l1).evictions, 1);
    assert_false(has(l1, "b", "", 0));
    assert_true(has(l1, "c", "ccccccccc", 0));              /* c d a */
    assert_true(put_str(l1, "e", "eeeeeeeee", FOREVER));   /* e c d, a out */
    assert_int_equal(stats(l1).evictions, 2);
    assert_false(has(l1, "a", "", 0));
    assert_true(has(l1, "d", "ddddddddd", 0));              /* d e c */
    assert_true(has(l1, "c", "ccccccccc", 0));              /* c d e */
    assert_true(has(l1, "e", "eeeeeeeee", 0));              /* e c d */
    /* An entry the size of two pushes out the two oldest, d and c. */
    memset(big, 'f', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(COST(1, strlen(big)), 2 * COST(1, 9));
    assert_true(put_str(l1, "f", big, FOREVER));           /* f e */
    assert_int_equal(stats(l1).evictions, 4);
    assert_false(has(l1, "d", "", 0));
    assert_false(has(l1, "c", "", 0));
    assert_true(has(l1, "e", "eeeeeeeee", 0));
    assert_true(has(l1, "f", big, 0));
    assert_int_equal(stats(l1).entries, 2);
    assert_int_equal(stats(l1).bytes, 3 * COST(1, 9));
    dbont_l1_free(l1);
}

/* The value of the seq-th put of a key: its bytes follow from seq, so a
 * hit can be checked against the last put the model remembers. */
static void fill_value(unsigned char *buf, size_t len, uint64_t seq)
{
    size_t i;
    for (i = 0; i < len; i++)
        buf[i] = (unsigned char)(seq * 31 + i * 7);
}

/* Keys of the random tests: varied lengths, NULs inside. */
static size_t make_key(unsigned char *buf, unsigned id)
{
    size_t len = 1 + id % 29, i;
    for (i = 0; i < len; i++)
        buf[i] = (unsigned char)(id * 13 + i * (id % 3));
    return len;
}

/* Reads every key of the universe: the live entries' bytes and count must
 * be the stats' own, and each value the one last put.  Returns nothing;
 * asserts. */
enum { UNIVERSE = 300 };

typedef struct model_entry {
    bool put;       /* ever put (and not refused or removed since) */
    uint64_t seq;
    size_t len;
} model_entry;

static void check_against_model(dbont_l1 *l1, const model_entry *model,
                                size_t max_bytes)
{
    dbont_l1_stats st = stats(l1);
    size_t live_bytes = 0, live = 0;
    unsigned id;
    assert_true(st.bytes <= max_bytes);
    for (id = 0; id < UNIVERSE; id++) {
        unsigned char key[32], *expect;
        size_t klen = make_key(key, id), len = 0;
        void *val = NULL;
        if (!dbont_l1_get(l1, key, klen, 0, &val, &len))
            continue;
        assert_true(model[id].put);   /* never a key not stored */
        assert_int_equal(len, model[id].len);
        expect = malloc(len + 1);
        fill_value(expect, len, model[id].seq);
        assert_memory_equal(val, expect, len);
        free(expect);
        free(val);
        live_bytes += COST(klen, len);
        live++;
    }
    assert_int_equal(live_bytes, st.bytes);
    assert_int_equal(live, st.entries);
}

/* Many random puts of random sizes (some refused for size) and removes:
 * the bound holds after every one, and the count is exact. */
static void test_byte_bound_random(void **state)
{
    const size_t max_bytes = 64 * 1024;
    const unsigned nshards = 4;   /* 16 KiB each */
    dbont_l1 *l1 = dbont_l1_new(max_bytes, nshards);
    model_entry model[UNIVERSE];
    unsigned char *val = malloc(20000);
    uint64_t rng = 0x1234567, seq;
    (void)state;
    memset(model, 0, sizeof model);
    for (seq = 1; seq <= 20000; seq++) {
        unsigned id = (unsigned)(next_random(&rng) % UNIVERSE);
        unsigned char key[32];
        size_t klen = make_key(key, id);
        uint64_t r = next_random(&rng);
        if (r % 10 == 0) {
            dbont_l1_remove(l1, key, klen);
            model[id].put = false;
        } else {
            /* Mostly small, sometimes large, now and then too large. */
            size_t len = r % 4 == 0 ? (size_t)(r >> 8) % 18000 : (size_t)(r >> 8) % 700;
            bool stored;
            fill_value(val, len, seq);
            stored = dbont_l1_put(l1, key, klen, val, len, FOREVER);
            assert_int_equal(stored, COST(klen, len) <= max_bytes / nshards);
            model[id].put = stored;
            model[id].seq = seq;
            model[id].len = len;
        }
        assert_true(stats(l1).bytes <= max_bytes);
        if (seq % 500 == 0)
            check_against_model(l1, model, max_bytes);
    }
    check_against_model(l1, model, max_bytes);
    assert_true(stats(l1).evictions > 0);
    free(val);
    dbont_l1_free(l1);
}

/* An entry that cannot fit in its shard's share is refused, the old
 * value of its key goes, and nothing else is disturbed. */
static void test_oversized_refused(void **state)
{
    dbont_l1 *l1 = dbont_l1_new(1000, 1);
    size_t fit = 1000 - DBONT_L1_ENTRY_OVERHEAD - 3;   /* key "big" */
    unsigned char *val = calloc(1, 5000);
    (void)state;
    assert_true(dbont_l1_put(l1, "big", 3, val, fit, FOREVER));
    assert_int_equal(stats(l1).bytes, 1000);
    assert_false(dbont_l1_put(l1, "big", 3, val, fit + 1, FOREVER));
    assert_false(has(l1, "big", "", 0));         /* the old value is gone */
    assert_int_equal(stats(l1).bytes, 0);
    assert_true(put_str(l1, "other", "x", FOREVER));
    assert_false(dbont_l1_put(l1, "big", 3, val, 5000, FOREVER));
    assert_true(has(l1, "other", "x", 0));       /* not evicted for it */
    assert_int_equal(stats(l1).entries, 1);
    assert_int_equal(stats(l1).bytes, COST(5, 1));
    assert_int_equal(stats(l1).evictions, 0);
    /* An absurd size does not overflow the arithmetic (the value is not
     * read when it cannot fit). */
    assert_false(dbont_l1_put(l1, "big", 3, val, SIZE_MAX, FOREVER));
    assert_false(dbont_l1_put(l1, "big", 3, val, SIZE_MAX - 3 - DBONT_L1_ENTRY_OVERHEAD, FOREVER));
    dbont_l1_free(l1);

    /* With shards, the limit is a shard's share: 4000 / 4. */
    l1 = dbont_l1_new(4000, 4);
    assert_false(dbont_l1_put(l1, "big", 3, val, fit + 1, FOREVER));
    assert_true(dbont_l1_put(l1, "big", 3, val, fit, FOREVER));
    dbont_l1_free(l1);

    /* A cache too small for any entry refuses everything. */
    l1 = dbont_l1_new(DBONT_L1_ENTRY_OVERHEAD, 2);
    assert_false(put_str(l1, "k", "v", FOREVER));
    assert_int_equal(stats(l1).entries, 0);
    dbont_l1_free(l1);
    free(val);
}

static void test_counters(void **state)
{
    dbont_l1 *l1 = dbont_l1_new(2 * COST(1, 1), 1);
    dbont_l1_stats st;
    (void)state;
    st = stats(l1);
    assert_int_equal(st.hits + st.misses + st.evictions + st.expired, 0);
    assert_int_equal(st.bytes + st.entries, 0);
    assert_false(has(l1, "a", "", 0));             /* miss */
    assert_true(put_str(l1, "a", "1", 50));
    assert_true(put_str(l1, "b", "2", FOREVER));
    assert_true(has(l1, "a", "1", 0));             /* hit */
    assert_true(has(l1, "b", "2", 0));             /* hit */
    assert_true(put_str(l1, "c", "3", FOREVER));   /* evicts a */
    assert_false(has(l1, "a", "", 0));             /* miss */
    assert_true(put_str(l1, "d", "4", 10));        /* evicts b */
    assert_false(has(l1, "d", "", 10));            /* expired, miss */
    dbont_l1_remove(l1, "c", 1);                   /* not counted */
    st = stats(l1);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.misses, 3);
    assert_int_equal(st.evictions, 2);
    assert_int_equal(st.expired, 1);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.bytes, 0);
    dbont_l1_free(l1);
}

static void test_remove(void **state)
{
    dbont_l1 *l1 = dbont_l1_new(1 << 20, 0);
    (void)state;
    dbont_l1_remove(l1, "nothing", 7);   /* no effect */
    assert_true(put_str(l1, "a", "1", FOREVER));
    assert_true(put_str(l1, "b", "2", FOREVER));
    dbont_l1_remove(l1, "a", 1);
    assert_false(has(l1, "a", "", 0));
    assert_true(has(l1, "b", "2", 0));
    assert_int_equal(stats(l1).entries, 1);
    assert_int_equal(stats(l1).bytes, COST(1, 1));
    dbont_l1_remove(l1, "a", 1);         /* twice: no effect */
    dbont_l1_remove(l1, "b", 1);
    assert_int_equal(stats(l1).entries, 0);
    assert_int_equal(stats(l1).bytes, 0);
    /* Removed keys can come back. */
    assert_true(put_str(l1, "a", "3", FOREVER));
    assert_true(has(l1, "a", "3", 0));
    dbont_l1_free(l1);
}

/* Keys are bytes: NULs inside or at the end make different keys, and the
 * empty key is a key too. */
static void test_keys_with_nul(void **state)
{
    static const struct { const char *key; size_t klen; const char *val; } k[] = {
        {"a\0b", 3, "1"}, {"a\0c", 3, "2"}, {"a", 1, "3"}, {"a\0", 2, "4"},
        {"", 0, "5"}, {"\0", 1, "6"}, {"\0\0", 2, "7"}, {"a\0b\0", 4, "8"},
    };
    const size_t n = sizeof k / sizeof k[0];
    dbont_l1 *l1 = dbont_l1_new(1 << 20, 0);
    size_t i;
    (void)state;
    for (i = 0; i < n; i++)
        assert_true(dbont_l1_put(l1, k[i].key, k[i].klen, k[i].val, 1, FOREVER));
    assert_int_equal(stats(l1).entries, n);
    for (i = 0; i < n; i++) {
        void *val;
        size_t len;
        assert_true(dbont_l1_get(l1, k[i].key, k[i].klen, 0, &val, &len));
        assert_int_equal(len, 1);
        assert_memory_equal(val, k[i].val, 1);
        free(val);
    }
    /* A value with NULs comes back whole. */
    assert_true(dbont_l1_put(l1, "v", 1, "x\0y\0", 4, FOREVER));
    {
        void *val;
        size_t len;
        assert_true(dbont_l1_get(l1, "v", 1, 0, &val, &len));
        assert_int_equal(len, 4);
        assert_memory_equal(val, "x\0y\0", 4);
        free(val);
    }
    dbont_l1_remove(l1, "a\0", 2);
    assert_false(dbont_l1_get(l1, "a\0", 2, 0, &(void *){NULL}, &(size_t){0}));
    assert_true(has(l1, "a", "3", 0));
    dbont_l1_free(l1);
}

/* ---- threads ---------------------------------------------------------- */

enum { STRESS_THREADS = 4, STRESS_OPS = 40000, STRESS_KEYS = 64 };

typedef struct stress_arg {
    dbont_l1 *l1;
    uint64_t seed;
    uint64_t gets;      /* calls made, to check the counters against */
    uint64_t bad;       /* hits whose value was not one of its key's */
} stress_arg;

/* A value of key id: its first byte is the id, the rest follows from the
 * id and the length, so any hit can be checked on its own. */
static void stress_value(unsigned char *buf, size_t len, unsigned id)
{
    size_t i;
    for (i = 0; i < len; i++)
        buf[i] = (unsigned char)(i == 0 ? id : id * 7 + i + len);
}

static void *stress_thread(void *p)
{
    stress_arg *a = p;
    unsigned char val[3000], expect[3000];
    uint64_t rng = a->seed, now = 0;
    int i;

    for (i = 0; i < STRESS_OPS; i++) {
        uint64_t r = next_random(&rng);
        unsigned id = (unsigned)(r % STRESS_KEYS);
        unsigned char key[32];
        size_t klen = make_key(key, id);
        now++;
        switch ((r >> 8) % 8) {
        case 0:
            dbont_l1_remove(a->l1, key, klen);
            break;
        case 1: case 2: case 3: {
            size_t len = 1 + (size_t)(r >> 16) % sizeof val;
            /* Some entries expire soon, so gets also remove. */
            uint64_t expires = (r >> 40) % 4 == 0 ? now + (r >> 44) % 50 : FOREVER;
            stress_value(val, len, id);
            (void)dbont_l1_put(a->l1, key, klen, val, len, expires);
            break;
        }
        default: {
            void *got;
            size_t len;
            a->gets++;
            if (dbont_l1_get(a->l1, key, klen, now, &got, &len)) {
                if (len == 0 || len > sizeof expect) {
                    a->bad++;
                } else {
                    stress_value(expect, len, id);
                    if (memcmp(got, expect, len) != 0)
                        a->bad++;
                }
                free(got);
            }
        }
        }
    }
    return NULL;
}

/* Four threads on overlapping keys with a cache small enough to evict
 * all the time (run under ASan/UBSan too); then the invariants. */
static void test_threads_stress(void **state)
{
    const size_t max_bytes = 40 * 1024;
    dbont_l1 *l1 = dbont_l1_new(max_bytes, 4);
    pthread_t t[STRESS_THREADS];
    stress_arg a[STRESS_THREADS];
    dbont_l1_stats st;
    uint64_t gets = 0;
    size_t live_bytes = 0, live = 0;
    unsigned id;
    int i;
    (void)state;
    for (i = 0; i < STRESS_THREADS; i++) {
        a[i].l1 = l1;
        a[i].seed = 0x9e3779b97f4a7c15u * (uint64_t)(i + 1);
        a[i].gets = a[i].bad = 0;
        assert_int_equal(pthread_create(&t[i], NULL, stress_thread, &a[i]), 0);
    }
    for (i = 0; i < STRESS_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(a[i].bad, 0);
        gets += a[i].gets;
    }
    st = stats(l1);
    assert_int_equal(st.hits + st.misses, gets);
    assert_true(st.hits > 0 && st.misses > 0 && st.evictions > 0 && st.expired > 0);
    assert_true(st.bytes <= max_bytes);
    /* The count is exact: read everything back (now 0: nothing expires). */
    for (id = 0; id < STRESS_KEYS; id++) {
        unsigned char key[32];
        size_t klen = make_key(key, id), len;
        void *got;
        if (dbont_l1_get(l1, key, klen, 0, &got, &len)) {
            live_bytes += COST(klen, len);
            live++;
            free(got);
        }
    }
    assert_int_equal(live_bytes, st.bytes);
    assert_int_equal(live, st.entries);
    dbont_l1_free(l1);
}

/* ---- scaling (informational: prints, asserts nothing about speed) ----- */

enum { SCALE_KEYS = 4096 };

typedef struct scale_arg {
    dbont_l1 *l1;
    uint64_t seed;
    atomic_bool *stop;
    uint64_t hits;
} scale_arg;

static void *scale_thread(void *p)
{
    scale_arg *a = p;
    uint64_t rng = a->seed, hits = 0;
    /* Counted locally: the two threads' scale_args share a cache line. */
    while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
        int i;
        for (i = 0; i < 256; i++) {
            unsigned id = (unsigned)(next_random(&rng) % SCALE_KEYS);
            char key[24];
            void *val;
            size_t len;
            int klen = snprintf(key, sizeof key, "query:%u", id);
            if (dbont_l1_get(a->l1, key, (size_t)klen, 0, &val, &len)) {
                hits++;
                free(val);
            }
        }
    }
    a->hits = hits;
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hits per second of nthreads threads reading for about 0.3 s. */
static double hit_rate(dbont_l1 *l1, int nthreads)
{
    pthread_t t[2];
    scale_arg a[2];
    atomic_bool stop;
    struct timespec pause = {0, 300 * 1000 * 1000};
    uint64_t hits = 0;
    double start, elapsed;
    int i;

    atomic_init(&stop, false);
    start = now_s();
    for (i = 0; i < nthreads; i++) {
        a[i].l1 = l1;
        a[i].seed = 0x51ed270b27a1f3c5u + (uint64_t)i;
        a[i].stop = &stop;
        a[i].hits = 0;
        assert_int_equal(pthread_create(&t[i], NULL, scale_thread, &a[i]), 0);
    }
    nanosleep(&pause, NULL);
    atomic_store(&stop, true);
    for (i = 0; i < nthreads; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        hits += a[i].hits;
    }
    elapsed = now_s() - start;
    return (double)hits / elapsed;
}

static void test_scaling_info(void **state)
{
    dbont_l1 *l1 = dbont_l1_new(64u << 20, 0);
    char value[200];
    double one, two;
    unsigned id;
    (void)state;
    memset(value, 'v', sizeof value);
    for (id = 0; id < SCALE_KEYS; id++) {
        char key[24];
        int klen = snprintf(key, sizeof key, "query:%u", id);
        assert_true(dbont_l1_put(l1, key, (size_t)klen, value, sizeof value, FOREVER));
    }
    one = hit_rate(l1, 1);
    two = hit_rate(l1, 2);
    print_message("L1 hits (200-byte values, 16 shards): 1 thread %.2f M/s, "
                  "2 threads %.2f M/s, ratio %.2f (informational)\n",
                  one / 1e6, two / 1e6, two / one);
    dbont_l1_free(l1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_miss),
        cmocka_unit_test(test_empty_value),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_ttl_expiry),
        cmocka_unit_test(test_lru_order),
        cmocka_unit_test(test_byte_bound_random),
        cmocka_unit_test(test_oversized_refused),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_keys_with_nul),
        cmocka_unit_test(test_threads_stress),
        cmocka_unit_test(test_scaling_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
