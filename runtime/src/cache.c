/*
 * cache.c: the query cache (dbont/cache.h): keys, versions, the two
 * levels, single flight, events.
 *
 * A key is
 *
 *   <prefix>:q:<query>:<schema hash>:<tenant>:<v1>.<v2>...:<params>
 *
 * where v1... are the versions of the query's events for that tenant and
 * <params> is the rendered db:cacheKeyTemplate or the SHA-256 of the
 * parameters' bytes.  Versions live in Redis under
 * <prefix>:v:<tenant>:<event> (only ever INCRemented) and are mirrored in
 * the process; a bump is published on <prefix>:inv as
 * "<tenant>\t<event>\t<version>".  When the subscription is
 * (re)established the mirror reads each version from Redis again on its
 * next use, never going below its own copy (a Redis restarted without its
 * data counts from 0 again); a version it does not know is read from
 * Redis; when Redis cannot say, the call goes to the database uncached
 * rather than guess.
 */
#define _POSIX_C_SOURCE 200809L /* strdup, strndup, rand_r, nanosleep, clock_gettime */

#include "dbont/cache.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "cache_codec.h"
#include "cache_key.h"
#include "cache_l1.h"
#include "cache_redis.h"
#include "conn_internal.h"
#include "dbont/shard.h" /* dbont_xxh64 */
#include "error_internal.h"
#include "monotime.h"
#include "params.h"
#include "query_internal.h"

/* ---- versions: (tenant, event) -> counter, sharded like L1 ---------------- */

#define VERSION_SHARDS 16

/*
 * Every cached call reads the versions of its query's events, from every
 * thread, while bumps are rare: reads take no lock (a lock, even a shared
 * one, is a write to a cache line that the other CPUs then fetch back).
 * A shard's list only grows, at its head, under the shard's mutex; an
 * entry is complete before the release store that publishes it, its next
 * pointer never changes afterwards, and entries are freed only when the
 * cache closes.  Values and flags are atomics that writers change under
 * the mutex (so a raise and a bump never interleave).
 */
typedef struct version {
    struct version *next;
    _Atomic uint64_t value;
    atomic_bool stale; /* to be read from Redis again (raised, never lowered) */
    size_t len;
    char name[]; /* "tenant\tevent" */
} version;

typedef struct version_shard {
    pthread_mutex_t lock; /* writers */
    version *_Atomic head;
} version_shard;

/* An in-process run of one key that later callers wait for. */
typedef struct flight {
    struct flight *next;
    char *key;
    pthread_cond_t done_cv;
    bool done;
    void *value; /* the stored form, or NULL when the run failed */
    size_t len;
    int waiters;
} flight;

struct dbont_cache {
    dbont_cache_backend backend;
    char *prefix;
    dbont_l1 *l1;
    dbont_redis *redis;
    double lock_ttl_s, lock_wait_s;
    version_shard versions[VERSION_SHARDS];
    pthread_mutex_t flights_lock;
    flight *flights;
    atomic_uint_least64_t hits, l1_hits, l2_hits, misses, fills, shared, bypassed, errors, invalidations;
    /* the subscription to the invalidations has been up: until then no
     * bump of another process can reach the mirror, which is not trusted
     * (every version is read from Redis) */
    atomic_bool heard;
    /* in this process's messages, to know them when they come back: "o"
     * (never a digit, for readers that take the last field for the
     * version) and 16 random hex digits */
    char origin[18];
    /* the PostgreSQL listener (dbont_cache_listen) */
    pthread_t listener;
    bool listening;
    atomic_bool stop;
    char *listen_dsn;
    PGconn *listen_pg; /* the first connection, handed to the thread */
};

/* A formatted string in malloc'd memory in *out: its length, or -1
 * (out of memory, *out NULL). */
static int strf_to(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int strf_to(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    *out = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (*out == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(*out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return n;
}

static version_shard *shard_of(dbont_cache *c, const char *name, size_t len)
{
    return &c->versions[dbont_xxh64(name, len, 0) % VERSION_SHARDS];
}

/* "tenant\tevent", the name of a version, in buf (size bytes) when it
 * fits, else in malloc'd memory; NULL when out of memory. */
static char *version_name(const char *tenant, const char *event, char *buf, size_t size, size_t *len)
{
    size_t tl = strlen(tenant), el = strlen(event);
    char *s = tl + el + 2 <= size ? buf : malloc(tl + el + 2);
    if (s != NULL) {
        memcpy(s, tenant, tl);
        s[tl] = '\t';
        memcpy(s + tl + 1, event, el + 1);
    }
    *len = tl + 1 + el;
    return s;
}

static version *version_find(version_shard *s, const char *name, size_t len)
{
    for (version *v = atomic_load_explicit(&s->head, memory_order_acquire); v != NULL; v = v->next)
        if (v->len == len && memcmp(v->name, name, len) == 0)
            return v;
    return NULL;
}

/* The mirrored version, or false when this process does not know it. */
static bool version_known(dbont_cache *c, const char *name, size_t len, uint64_t *out)
{
    version *v = version_find(shard_of(c, name, len), name, len);
    if (v == NULL || atomic_load_explicit(&v->stale, memory_order_acquire))
        return false;
    *out = atomic_load_explicit(&v->value, memory_order_relaxed);
    return true;
}

/* Raises the mirrored version to at least value (plus one when bump);
 * *raised (when not NULL) tells whether it went up. */
static uint64_t version_raise(dbont_cache *c, const char *name, size_t len, uint64_t value, bool bump,
                              bool *raised)
{
    version_shard *s = shard_of(c, name, len);
    uint64_t now = value;
    bool up = false;
    pthread_mutex_lock(&s->lock);
    version *v = version_find(s, name, len);
    if (v == NULL && (v = malloc(sizeof *v + len + 1)) != NULL) {
        atomic_init(&v->value, 0);
        atomic_init(&v->stale, false);
        v->len = len;
        memcpy(v->name, name, len + 1);
        v->next = atomic_load_explicit(&s->head, memory_order_relaxed);
        atomic_store_explicit(&s->head, v, memory_order_release);
    }
    if (v != NULL) {
        uint64_t before = atomic_load_explicit(&v->value, memory_order_relaxed);
        now = before + (bump ? 1 : 0);
        if (now < value)
            now = value;
        atomic_store_explicit(&v->value, now, memory_order_relaxed);
        /* release: a reader that sees it fresh sees the value above */
        atomic_store_explicit(&v->stale, false, memory_order_release);
        up = now != before;
    }
    pthread_mutex_unlock(&s->lock);
    if (raised != NULL)
        *raised = up;
    return now;
}

/* After a (re)subscription: bumps may have been missed meanwhile, so each
 * version is read from Redis again on its next use, and raised to what
 * Redis says.  Never lowered: a Redis that lost its data (restarted
 * without persistence) counts from 0 again, and going back to an old
 * version would reach the entries built under it, still in L1. */
static void versions_mark_stale(dbont_cache *c)
{
    for (int i = 0; i < VERSION_SHARDS; i++) {
        pthread_mutex_lock(&c->versions[i].lock);
        for (version *v = atomic_load_explicit(&c->versions[i].head, memory_order_relaxed); v != NULL;
             v = v->next)
            atomic_store_explicit(&v->stale, true, memory_order_relaxed);
        pthread_mutex_unlock(&c->versions[i].lock);
    }
}

/* At close, when no other thread uses the cache any more. */
static void versions_forget(dbont_cache *c)
{
    for (int i = 0; i < VERSION_SHARDS; i++) {
        version *v = atomic_exchange(&c->versions[i].head, NULL);
        while (v != NULL) {
            version *next = v->next;
            free(v);
            v = next;
        }
    }
}

/* The current version of (tenant, event): the mirror's, else Redis's
 * (0 when it has none), else false (Redis cannot say). */
static bool version_of(dbont_cache *c, const char *tenant, const char *event, uint64_t *out)
{
    char buf[256];
    size_t len;
    char *name = version_name(tenant, event, buf, sizeof buf, &len);
    if (name == NULL)
        return false;
    bool ok = (c->redis == NULL || atomic_load(&c->heard)) && version_known(c, name, len, out);
    if (!ok && c->redis == NULL) {
        *out = 0; /* memory only: no bump yet */
        ok = true;
    } else if (!ok) {
        char *key = NULL;
        long long v = 0;
        if (strf_to(&key, "%s:v:%s:%s", c->prefix, tenant, event) >= 0) {
            dbont_redis_status st = dbont_redis_get_int(c->redis, key, strlen(key), &v);
            if (st == DBONT_REDIS_ERROR) {
                atomic_fetch_add(&c->errors, 1);
            } else {
                *out = version_raise(c, name, len, st == DBONT_REDIS_OK && v > 0 ? (uint64_t)v : 0, false, NULL);
                ok = true;
            }
            free(key);
        }
    }
    if (name != buf)
        free(name);
    return ok;
}

/* ---- events ------------------------------------------------------------------ */

static void on_message(const char *msg, size_t len, void *user)
{
    dbont_cache *c = user;
    if (msg == NULL) {
        /* (re)subscribed: bumps may have been missed meanwhile */
        versions_mark_stale(c);
        atomic_store(&c->heard, true);
        return;
    }
    /* "tenant\tevent\tversion\torigin" (or, from an older sender, without
     * the origin) */
    const char *tab = NULL, *prev = NULL;
    for (size_t i = 0; i < len; i++)
        if (msg[i] == '\t') {
            prev = tab;
            tab = msg + i;
        }
    if (tab == NULL)
        return;
    bool mine = false;
    const char *end = msg + len;
    if (tab[1] == 'o' && prev != NULL) {
        mine = (size_t)(end - tab - 1) == strlen(c->origin) && memcmp(tab + 1, c->origin, strlen(c->origin)) == 0;
        end = tab;
        tab = prev;
    }
    char digits[24];
    size_t dl = (size_t)(end - tab - 1);
    if (dl == 0 || dl >= sizeof digits)
        return;
    memcpy(digits, tab + 1, dl);
    digits[dl] = '\0';
    uint64_t v = strtoull(digits, NULL, 10);
    /* this process's own bumps come back too, possibly before the reply
     * to the EVAL that sent them: they raise the mirror (in case that
     * reply is lost) but are not counted again */
    bool raised;
    version_raise(c, msg, (size_t)(tab - msg), v, false, &raised);
    if (raised && !mine)
        atomic_fetch_add(&c->invalidations, 1);
}

/* The mirrored version whatever its state, 0 when unknown. */
static uint64_t version_peek(dbont_cache *c, const char *name, size_t len)
{
    version *v = version_find(shard_of(c, name, len), name, len);
    return v != NULL ? atomic_load_explicit(&v->value, memory_order_relaxed) : 0;
}

/*
 * A bump in one round trip: INCR of KEYS[1], brought up to ARGV[1] (one
 * above this process's copy) when Redis counts from less, and PUBLISH on
 * ARGV[2] of ARGV[3], the new version (which it returns) and ARGV[4].  Redis
 * runs a script as one command: no other client sees the counter between
 * the INCR and the PUBLISH.  (Lua numbers are doubles: exact up to 2^53
 * bumps of one event.)
 */
static const char bump_script[] =
    "local v = redis.call('INCR', KEYS[1]) "
    "local floor = tonumber(ARGV[1]) "
    "if v < floor then v = redis.call('INCRBY', KEYS[1], floor - v) end "
    "redis.call('PUBLISH', ARGV[2], ARGV[3] .. string.format('%d', v) .. ARGV[4]) "
    "return v";

/* The same bump in two round trips, for a Redis that refuses scripts:
 * the new version, or false (Redis failed). */
static bool bump_without_script(dbont_cache *c, const char *key, const char *name, size_t len, uint64_t *now)
{
    long long v;
    if (dbont_redis_incr(c->redis, key, strlen(key), &v) != DBONT_REDIS_OK)
        return false;
    *now = version_raise(c, name, len, (uint64_t)v, true, NULL);
    if (*now > (uint64_t)v &&
        dbont_redis_incrby(c->redis, key, strlen(key), (long long)(*now - (uint64_t)v), &v) == DBONT_REDIS_OK)
        *now = version_raise(c, name, len, (uint64_t)v, false, NULL);
    char *msg = NULL, *channel = NULL;
    int n = strf_to(&msg, "%s\t%llu\t%s", name, (unsigned long long)*now, c->origin);
    if (n >= 0 && strf_to(&channel, "%s:inv", c->prefix) >= 0 &&
        dbont_redis_publish(c->redis, channel, msg, (size_t)n) != DBONT_REDIS_OK)
        atomic_fetch_add(&c->errors, 1);
    free(channel);
    free(msg);
    return true;
}

void dbont_cache_invalidate(dbont_cache *c, const char *tenant, const char *event)
{
    if (c == NULL || event == NULL)
        return;
    if (tenant == NULL)
        tenant = "";
    char buf[256];
    size_t len;
    char *name = version_name(tenant, event, buf, sizeof buf, &len);
    if (name == NULL)
        return;
    atomic_fetch_add(&c->invalidations, 1);
    if (c->redis == NULL) {
        version_raise(c, name, len, 0, true, NULL);
        if (name != buf)
            free(name);
        return;
    }
    /*
     * The new version is above both what this process used so far and
     * what Redis had (it may count from less: it lost its data, or missed
     * this process's bumps while it was down), and Redis is brought up to
     * it, so that a process that reads it again (after missing the
     * message) learns of the bump.
     */
    char *key = NULL, *channel = NULL, *prefix = NULL, floor[24], origin[24];
    int kl = strf_to(&key, "%s:v:%s:%s", c->prefix, tenant, event);
    int cl = strf_to(&channel, "%s:inv", c->prefix);
    int pl = strf_to(&prefix, "%s\t", name);
    int fl = snprintf(floor, sizeof floor, "%llu", (unsigned long long)(version_peek(c, name, len) + 1));
    int ol = snprintf(origin, sizeof origin, "\t%s", c->origin);
    bool done = false;
    if (kl >= 0 && cl >= 0 && pl >= 0) {
        const char *args[5] = {key, floor, channel, prefix, origin};
        size_t lens[5] = {(size_t)kl, (size_t)fl, (size_t)cl, (size_t)pl, (size_t)ol};
        long long v;
        dbont_redis_status st = dbont_redis_eval_int(c->redis, bump_script, 1, 5, args, lens, &v);
        uint64_t now;
        if (st == DBONT_REDIS_OK && v > 0) {
            version_raise(c, name, len, (uint64_t)v, false, NULL);
            done = true;
        } else if (st == DBONT_REDIS_REFUSED) {
            done = bump_without_script(c, key, name, len, &now);
        }
    }
    if (!done) {
        /* Redis is down: this process's own entries go at once; the
         * others' keep their versions until this process bumps the same
         * event with Redis up (which brings Redis up to its version,
         * above), or their TTL */
        atomic_fetch_add(&c->errors, 1);
        version_raise(c, name, len, 0, true, NULL);
    }
    free(prefix);
    free(channel);
    free(key);
    if (name != buf)
        free(name);
}

static void sink(void *cache, const char *tenant, const char *event)
{
    dbont_cache_invalidate(cache, tenant, event);
}

void dbont_conn_set_cache(dbont_conn *conn, dbont_cache *cache)
{
    if (conn == NULL)
        return;
    conn->event_sink = cache != NULL ? sink : NULL;
    conn->sink = cache;
    if (cache == NULL)
        dbont_conn_events_drop(conn);
}

/* ---- opening and closing -------------------------------------------------------- */

dbont_cache *dbont_cache_open(const dbont_cache_options *o, dbont_error *err)
{
    dbont_cache_options d = DBONT_CACHE_OPTIONS_INIT;
    if (o == NULL)
        o = &d;
    if (o->backend != DBONT_CACHE_MEMORY && o->backend != DBONT_CACHE_REDIS &&
        o->backend != DBONT_CACHE_REDIS_MEMORY) {
        dbont_error_set(err, "22023", "dbont_cache_open: unknown backend %d", (int)o->backend);
        return NULL;
    }
    if (o->lock_ttl_s < 0 || o->lock_wait_s < 0 || o->redis_port < 0 || o->redis_port > 65535) {
        dbont_error_set(err, "22023", "dbont_cache_open: negative times or a bad port");
        return NULL;
    }
    dbont_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        goto oom;
    c->backend = o->backend;
    dbont_uuid random;
    if (dbont_uuid_random(&random) != 0) {
        /* unlikely: then the time and the address tell caches apart */
        uint64_t t = dbont_time_ms() ^ (uint64_t)(uintptr_t)c;
        memcpy(random.bytes, &t, sizeof t);
    }
    c->origin[0] = 'o';
    for (int i = 0; i < 8; i++)
        snprintf(c->origin + 1 + 2 * i, 3, "%02x", random.bytes[i]);
    c->prefix = strdup(o->key_prefix != NULL ? o->key_prefix : "dbont");
    c->lock_ttl_s = o->lock_ttl_s > 0 ? o->lock_ttl_s : 2.0;
    c->lock_wait_s = o->lock_wait_s > 0 ? o->lock_wait_s : 0.25;
    for (int i = 0; i < VERSION_SHARDS; i++) {
        pthread_mutex_init(&c->versions[i].lock, NULL);
        atomic_init(&c->versions[i].head, NULL);
    }
    pthread_mutex_init(&c->flights_lock, NULL);
    if (c->prefix == NULL)
        goto oom;
    if (o->backend != DBONT_CACHE_REDIS &&
        (c->l1 = dbont_l1_new(o->memory_bytes ? o->memory_bytes : (size_t)64 << 20, 0)) == NULL)
        goto oom;
    if (o->backend != DBONT_CACHE_MEMORY) {
        dbont_redis_options ro = {o->redis_host != NULL ? o->redis_host : "127.0.0.1",
                                  o->redis_port ? o->redis_port : 6379,
                                  o->redis_connect_timeout_s > 0 ? o->redis_connect_timeout_s : 0.05,
                                  o->redis_command_timeout_s > 0 ? o->redis_command_timeout_s : 0.05,
                                  0.1,
                                  5.0};
        char *channel = NULL;
        if ((c->redis = dbont_redis_new(&ro)) == NULL || strf_to(&channel, "%s:inv", c->prefix) < 0)
            goto oom;
        int sub = dbont_redis_subscribe(c->redis, channel, on_message, c);
        free(channel);
        if (sub != 0)
            goto oom;
    }
    return c;
oom:
    dbont_cache_close(c);
    dbont_error_set(err, "53200", "dbont_cache_open: out of memory");
    return NULL;
}

void dbont_cache_close(dbont_cache *c)
{
    if (c == NULL)
        return;
    if (c->listening) {
        atomic_store(&c->stop, true);
        pthread_join(c->listener, NULL);
    }
    dbont_redis_free(c->redis);
    dbont_l1_free(c->l1);
    versions_forget(c);
    for (int i = 0; i < VERSION_SHARDS; i++)
        pthread_mutex_destroy(&c->versions[i].lock);
    pthread_mutex_destroy(&c->flights_lock);
    free(c->listen_dsn);
    free(c->prefix);
    free(c);
}

void dbont_cache_stats_get(dbont_cache *c, dbont_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (c == NULL)
        return;
    out->l1_hits = atomic_load(&c->l1_hits);
    out->l2_hits = atomic_load(&c->l2_hits);
    out->hits = out->l1_hits + out->l2_hits;
    out->misses = atomic_load(&c->misses);
    out->fills = atomic_load(&c->fills);
    out->shared = atomic_load(&c->shared);
    out->bypassed = atomic_load(&c->bypassed);
    out->errors = atomic_load(&c->errors);
    out->invalidations = atomic_load(&c->invalidations);
    if (c->l1 != NULL) {
        dbont_l1_stats s;
        dbont_l1_stats_get(c->l1, &s);
        out->evictions = s.evictions;
        out->bytes = s.bytes;
        out->entries = s.entries;
    }
    if (c->redis != NULL) {
        dbont_redis_stats r;
        dbont_redis_stats_get(c->redis, &r);
        out->errors += r.errors + r.skipped;
        out->redis_calls = r.commands;
    }
}

/* ---- keys --------------------------------------------------------------------- */

/* The key (malloc'd), or NULL: *bypass when the cache cannot be used for
 * this call (no tenant for a tenant-scoped query, versions Redis cannot
 * tell), else out of memory. */
static char *make_key(dbont_cache *c, dbont_conn *conn, const dbont_cached_query *cq, const void *params,
                      bool *bypass)
{
    const char *tenant = "";
    *bypass = false;
    if (cq->tenant_scoped) {
        /* outside a tenant session (or after its transaction ended some
         * other way) there is no tenant to key by */
        if (conn->tenant == NULL || PQtransactionStatus(conn->pg) == PQTRANS_IDLE) {
            *bypass = true;
            return NULL;
        }
        tenant = conn->tenant;
    }
    dbont_keybuf b = {0};
    dbont_keybuf_adds(&b, c->prefix);
    dbont_keybuf_add(&b, ":q:", 3);
    dbont_keybuf_adds(&b, cq->query->name != NULL ? cq->query->name : "?");
    dbont_keybuf_add(&b, ":", 1);
    dbont_keybuf_add_hex64(&b, cq->schema_hash);
    dbont_keybuf_add(&b, ":", 1);
    dbont_keybuf_add_escaped(&b, tenant, strlen(tenant));
    dbont_keybuf_add(&b, ":", 1);
    for (size_t i = 0; i < cq->nevents; i++) {
        /* A tenant-scoped query may list events of a table without a
         * tenant (a join to a shared table), which carry none: both the
         * tenant's version and the shared one are part of its key. */
        uint64_t v, shared = 0;
        if (!version_of(c, tenant, cq->events[i], &v) ||
            (tenant[0] != '\0' && !version_of(c, "", cq->events[i], &shared))) {
            free(b.s);
            *bypass = true;
            return NULL;
        }
        if (i > 0)
            dbont_keybuf_add(&b, ".", 1);
        dbont_keybuf_add_u64(&b, v);
        if (tenant[0] != '\0') {
            dbont_keybuf_add(&b, "-", 1);
            dbont_keybuf_add_u64(&b, shared);
        }
    }
    dbont_keybuf_add(&b, ":", 1);
    dbont_cache_key_params(&b, cq, params);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* ---- the levels --------------------------------------------------------------------- */

/* GET from Redis; with L1, PTTL too (in the same round trip), for
 * l1_put_from_l2. */
static dbont_redis_status l2_get(dbont_cache *c, const char *key, size_t klen, void **val, size_t *len,
                                 long long *pttl_ms)
{
    *pttl_ms = -1;
    if (c->l1 == NULL)
        return dbont_redis_get(c->redis, key, klen, val, len);
    return dbont_redis_get_pttl(c->redis, key, klen, val, len, pttl_ms);
}

/* What Redis has, L1 keeps for the rest of its time to live in Redis
 * (pttl_ms, which PTTL gave with the value; counted from asked_ms, when
 * the command was sent, so that L1 lets it go no later than Redis): not
 * the query's whole TTL again, or an entry read from Redis near its end
 * would be served long after it.  A key without a time to live (-1) gets
 * the query's TTL; one that was gone already (-2) is not kept. */
static void l1_put_from_l2(dbont_cache *c, const dbont_cached_query *cq, const char *key, size_t klen,
                           const void *val, size_t len, long long pttl_ms, uint64_t asked_ms)
{
    uint64_t ttl_ms = (uint64_t)cq->ttl_s * 1000;
    if (c->l1 == NULL || pttl_ms == 0 || pttl_ms < -1)
        return;
    if (pttl_ms > 0 && (uint64_t)pttl_ms < ttl_ms)
        ttl_ms = (uint64_t)pttl_ms;
    dbont_l1_put(c->l1, key, klen, val, len, asked_ms + ttl_ms);
}

/* A stored form that checked out: its bytes (malloc'd) and their cells. */
typedef struct entry {
    void *buf;
    size_t len;
    dbont_cells cells;
    void *block; /* the cells' arrays */
} entry;

/* Takes buf (len bytes, malloc'd): true when it is a valid entry of cq,
 * else frees it. */
static bool entry_open(entry *e, const dbont_cached_query *cq, void *buf, size_t len)
{
    e->buf = buf;
    e->len = len;
    if (dbont_cache_cells(buf, len, cq->schema_hash, &e->cells, &e->block))
        return true;
    free(buf);
    return false;
}

/* The rows of an open entry into *out: the result takes its bytes over
 * (its values point into them), with no PGresult in between. */
static dbont_status entry_deliver(entry *e, const dbont_query *q, dbont_result **out, dbont_error *err)
{
    dbont_status st = DBONT_OK;
    if (q->ncolumns == 0 || out == NULL)
        free(e->buf);
    else
        st = dbont_result_decode_cells(&e->cells, e->buf, q->name, q->columns, q->ncolumns, q->row_size, out,
                                       err);
    free(e->block);
    return st;
}

/* An entry of key from L1, else from Redis (L1 keeping a copy), or false
 * (a miss; a stored entry that did not check out is counted as an error,
 * and dropped from L1). */
static bool lookup(dbont_cache *c, const dbont_cached_query *cq, const char *key, entry *e)
{
    size_t klen = strlen(key);
    void *val;
    size_t len;
    if (c->l1 != NULL && dbont_l1_get(c->l1, key, klen, dbont_time_ms(), &val, &len)) {
        if (entry_open(e, cq, val, len)) {
            atomic_fetch_add(&c->l1_hits, 1);
            return true;
        }
        atomic_fetch_add(&c->errors, 1);
        dbont_l1_remove(c->l1, key, klen);
    }
    long long pttl;
    uint64_t asked = c->l1 != NULL ? dbont_time_ms() : 0; /* for l1_put_from_l2 */
    if (c->redis != NULL && l2_get(c, key, klen, &val, &len, &pttl) == DBONT_REDIS_OK) {
        if (entry_open(e, cq, val, len)) {
            l1_put_from_l2(c, cq, key, klen, e->buf, len, pttl, asked); /* L1 keeps a copy */
            atomic_fetch_add(&c->l2_hits, 1);
            return true;
        }
        atomic_fetch_add(&c->errors, 1);
    }
    return false;
}

static void store(dbont_cache *c, const dbont_cached_query *cq, const char *key, const void *val, size_t len)
{
    size_t klen = strlen(key);
    if (c->l1 != NULL)
        dbont_l1_put(c->l1, key, klen, val, len, dbont_time_ms() + (uint64_t)cq->ttl_s * 1000);
    if (c->redis != NULL && dbont_redis_set_px(c->redis, key, klen, val, len, (uint64_t)cq->ttl_s * 1000) ==
                                DBONT_REDIS_ERROR)
        atomic_fetch_add(&c->errors, 1);
}

/* ---- running ----------------------------------------------------------------------------- */

/* Runs the query and encodes its result: *value (malloc'd) and the raw
 * result in *res. */
static dbont_status run_and_encode(dbont_conn *conn, const dbont_cached_query *cq, const dbont_params *p,
                                   PGresult **res, void **value, size_t *len, dbont_error *err)
{
    *value = NULL;
    dbont_status st = dbont_stmt_exec(conn, cq->query->stmt, (const char *const *)p->values, p->lengths,
                                      p->formats, 1, res, err);
    if (st == DBONT_OK && dbont_cache_encode(*res, cq->schema_hash, value, len) != 0)
        *value = NULL; /* out of memory: answer, but do not store */
    return st;
}

/* Across processes: one of them runs the query while the others poll
 * Redis for its result, for lock_wait_s at most: true with that result
 * in *e, else false (*locked when this caller took the lock and is to
 * run the query). */
static bool wait_for_other(dbont_cache *c, const dbont_cached_query *cq, const char *key, bool *locked, entry *e)
{
    *locked = false;
    if (c->redis == NULL)
        return false;
    char *lock = NULL;
    if (strf_to(&lock, "%s:lock", key) < 0)
        return false;
    bool acquired = false, got = false;
    dbont_redis_status st = dbont_redis_set_nx_px(c->redis, lock, strlen(lock), "1", 1,
                                                  (uint64_t)(c->lock_ttl_s * 1000), &acquired);
    if (st == DBONT_REDIS_OK && acquired) {
        *locked = true;
    } else if (st == DBONT_REDIS_OK) {
        uint64_t deadline = dbont_time_ms() + (uint64_t)(c->lock_wait_s * 1000);
        unsigned seed = (unsigned)(uintptr_t)key ^ (unsigned)dbont_time_ms();
        while (!got && dbont_time_ms() < deadline) {
            /* 5 to 15 ms, jittered so that waiters do not poll in step */
            dbont_sleep(0.005 + (double)(rand_r(&seed) % 10) / 1000.0);
            void *val;
            size_t len;
            long long pttl;
            uint64_t asked = dbont_time_ms();
            if (l2_get(c, key, strlen(key), &val, &len, &pttl) == DBONT_REDIS_OK &&
                (got = entry_open(e, cq, val, len)))
                l1_put_from_l2(c, cq, key, strlen(key), e->buf, len, pttl, asked);
        }
    } else {
        atomic_fetch_add(&c->errors, 1);
    }
    free(lock);
    return got;
}

static void unlock(dbont_cache *c, const char *key)
{
    char *lock = NULL;
    if (strf_to(&lock, "%s:lock", key) >= 0)
        dbont_redis_del(c->redis, lock, strlen(lock));
    free(lock);
}

/* Joins the run of key in this process, or starts one (*mine). */
static flight *join_flight(dbont_cache *c, const char *key, bool *mine)
{
    pthread_mutex_lock(&c->flights_lock);
    flight *f = c->flights;
    while (f != NULL && strcmp(f->key, key) != 0)
        f = f->next;
    *mine = f == NULL;
    if (f == NULL && (f = calloc(1, sizeof *f)) != NULL) {
        if ((f->key = strdup(key)) == NULL) {
            free(f);
            f = NULL;
        } else {
            pthread_cond_init(&f->done_cv, NULL);
            f->next = c->flights;
            c->flights = f;
        }
    }
    if (f != NULL && !*mine) {
        f->waiters++;
        while (!f->done)
            pthread_cond_wait(&f->done_cv, &c->flights_lock);
    }
    pthread_mutex_unlock(&c->flights_lock);
    return f;
}

static void free_flight(flight *f)
{
    pthread_cond_destroy(&f->done_cv);
    free(f->key);
    free(f->value);
    free(f);
}

/* The runner publishes its result and leaves; the last waiter frees it. */
static void land_flight(dbont_cache *c, flight *f, void *value, size_t len)
{
    pthread_mutex_lock(&c->flights_lock);
    for (flight **pp = &c->flights; *pp != NULL; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    f->done = true;
    if (value != NULL && (f->value = malloc(len)) != NULL) {
        memcpy(f->value, value, len);
        f->len = len;
    }
    bool last = f->waiters == 0;
    pthread_cond_broadcast(&f->done_cv);
    pthread_mutex_unlock(&c->flights_lock);
    if (last)
        free_flight(f);
}

static bool leave_flight(dbont_cache *c, flight *f)
{
    pthread_mutex_lock(&c->flights_lock);
    bool last = --f->waiters == 0;
    pthread_mutex_unlock(&c->flights_lock);
    return last;
}

dbont_status dbont_query_run_cached(dbont_conn *conn, dbont_cache *c, const dbont_cached_query *cq,
                                    const void *params, dbont_result **out, dbont_error *err)
{
    if (c == NULL || cq == NULL)
        return dbont_query_run(conn, cq != NULL ? cq->query : NULL, params, out, err);
    if (conn == NULL)
        return dbont_error_set(err, "22023", "dbont_query_run_cached: conn must not be NULL");
    if (out != NULL)
        *out = NULL;
    const dbont_query *q = cq->query;
    if (q->nparams > 0 && params == NULL)
        return dbont_error_set(err, "22023", "dbont_query_run_cached: query %s takes parameters but params is NULL",
                               q->name != NULL ? q->name : "?");
    bool bypass;
    char *key = make_key(c, conn, cq, params, &bypass);
    if (key == NULL) {
        if (bypass)
            atomic_fetch_add(&c->bypassed, 1);
        return dbont_query_run(conn, q, params, out, err);
    }

    /* A hit needs no statement parameters: the key renders the values
     * themselves, and an entry exists only if the same values ran. */
    entry e;
    if (lookup(c, cq, key, &e)) {
        free(key);
        return entry_deliver(&e, q, out, err);
    }
    atomic_fetch_add(&c->misses, 1);

    bool mine;
    flight *f = join_flight(c, key, &mine);
    if (f != NULL && !mine) {
        /* another thread ran it: its stored form, if it succeeded */
        void *copy = f->value != NULL ? malloc(f->len) : NULL;
        bool got = false;
        if (copy != NULL) {
            memcpy(copy, f->value, f->len);
            got = entry_open(&e, cq, copy, f->len);
        }
        if (leave_flight(c, f))
            free_flight(f);
        free(key);
        if (got) {
            atomic_fetch_add(&c->shared, 1);
            return entry_deliver(&e, q, out, err);
        }
        /* its run failed: this caller tries for itself, uncached */
        return dbont_query_run(conn, q, params, out, err);
    }

    bool locked;
    if (wait_for_other(c, cq, key, &locked, &e)) {
        atomic_fetch_add(&c->shared, 1);
        if (f != NULL)
            land_flight(c, f, e.buf, e.len); /* copies it */
        free(key);
        return entry_deliver(&e, q, out, err);
    }

    dbont_params p;
    dbont_status st = dbont_params_init(&p, q->nparams, q->name, err);
    PGresult *res = NULL;
    void *value = NULL;
    size_t len = 0;
    if (st == DBONT_OK) {
        if ((st = dbont_query_gather(&p, q, params, err)) == DBONT_OK)
            st = run_and_encode(conn, cq, &p, &res, &value, &len, err);
        if (st == DBONT_OK && value != NULL) {
            store(c, cq, key, value, len);
            atomic_fetch_add(&c->fills, 1);
        }
        dbont_params_free(&p);
    }
    if (locked)
        unlock(c, key);
    if (f != NULL)
        land_flight(c, f, st == DBONT_OK ? value : NULL, len);
    free(value);
    free(key);
    if (st != DBONT_OK)
        return st;
    return dbont_query_deliver(res, q, out, err);
}

/* ---- the PostgreSQL listener ---------------------------------------------------------------- */

/* The payload "<tenant>\t<event>" of a trigger's pg_notify. */
static void apply_notification(dbont_cache *c, const char *payload)
{
    const char *tab = strchr(payload, '\t');
    if (tab == NULL)
        return;
    char *tenant = strndup(payload, (size_t)(tab - payload));
    if (tenant != NULL)
        dbont_cache_invalidate(c, tenant, tab + 1);
    free(tenant);
}

static PGconn *listen_connect(const char *dsn)
{
    PGconn *pg = PQconnectdb(dsn);
    if (PQstatus(pg) == CONNECTION_OK) {
        PGresult *r = PQexec(pg, "LISTEN dbont_cache");
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (ok)
            return pg;
    }
    PQfinish(pg);
    return NULL;
}

static void *listen_loop(void *arg)
{
    dbont_cache *c = arg;
    /* the connection dbont_cache_listen made, LISTENing already: no
     * notification is lost between its return and this thread's start */
    PGconn *pg = c->listen_pg;
    c->listen_pg = NULL;
    double backoff = 0.1;
    while (!atomic_load(&c->stop)) {
        if (pg == NULL) {
            pg = listen_connect(c->listen_dsn);
            if (pg == NULL) {
                atomic_fetch_add(&c->errors, 1);
                dbont_sleep(backoff);
                backoff = backoff * 2 > 5.0 ? 5.0 : backoff * 2;
                continue;
            }
            backoff = 0.1;
            /* events sent while no one listened are lost: so is what L1
             * built under their old versions (the versions themselves stay:
             * without Redis they are the only record of past bumps) */
            if (c->l1 != NULL)
                dbont_l1_clear(c->l1);
        }
        int fd = PQsocket(pg);
        fd_set in;
        FD_ZERO(&in);
        FD_SET(fd, &in);
        struct timeval tv = {0, 100000}; /* 0.1 s: how soon close() is heard */
        if (select(fd + 1, &in, NULL, NULL, &tv) < 0 && errno != EINTR)
            continue;
        if (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK) {
            PQfinish(pg);
            pg = NULL;
            continue;
        }
        PGnotify *n;
        while ((n = PQnotifies(pg)) != NULL) {
            apply_notification(c, n->extra);
            PQfreemem(n);
        }
    }
    PQfinish(pg);
    return NULL;
}

dbont_status dbont_cache_listen(dbont_cache *c, const char *dsn, dbont_error *err)
{
    if (c == NULL || dsn == NULL)
        return dbont_error_set(err, "22023", "dbont_cache_listen: cache and dsn must not be NULL");
    if (c->listening)
        return dbont_error_set(err, "22023", "dbont_cache_listen: this cache listens already");
    PGconn *first = listen_connect(dsn);
    if (first == NULL)
        return dbont_error_set(err, "08001", "dbont_cache_listen: cannot connect and LISTEN dbont_cache");
    free(c->listen_dsn);
    if ((c->listen_dsn = strdup(dsn)) == NULL) {
        PQfinish(first);
        return dbont_error_set(err, "53200", "dbont_cache_listen: out of memory");
    }
    c->listen_pg = first;
    atomic_store(&c->stop, false);
    if (pthread_create(&c->listener, NULL, listen_loop, c) != 0) {
        PQfinish(c->listen_pg);
        c->listen_pg = NULL;
        return dbont_error_set(err, "53200", "dbont_cache_listen: cannot start its thread");
    }
    c->listening = true;
    return DBONT_OK;
}
