/*
 * dbont/cache.h: caching query results, in the process (L1) and in Redis
 * (L2), with invalidation by events.
 *
 * A query marked db:cacheable gets, besides its plain function, a
 * <prefix>_<query>_cached function that takes a dbont_cache.  A cached call
 * builds a key from the query, the tenant of the connection's tenant
 * session (when the query reads a multi-tenant table), the current
 * versions of the events the query is invalidated by (cache:invalidateOn)
 * and its parameters; looks in L1, then L2; and on a miss runs the query
 * once (concurrent misses of one key wait for that run, in this process
 * and, through a short Redis lock, in others) and stores the result for
 * the query's TTL.
 *
 * Invalidation never looks for keys: each (tenant, event) has a version
 * counter that is part of every key that depends on it.  An event bumps
 * the counter (one atomic add in L1, one INCR in Redis), so every entry
 * built under the old version becomes unreachable at once and expires by
 * its TTL.  Other processes learn of a bump through Redis pub/sub on a
 * connection of its own.  Events come from
 *   - the generated mutation functions (insert, update, delete, bulk
 *     insert) of a connection the cache is attached to
 *     (dbont_conn_set_cache): emitted when their transaction commits (at
 *     once outside a transaction), so that no reader can cache the old
 *     rows under the new version;
 *   - writes from anywhere else (another program, psql): generated
 *     triggers send pg_notify on the channel "dbont_cache", which
 *     dbont_cache_listen receives on a connection of its own;
 *   - the application: dbont_cache_invalidate.
 * docs/caching.md gives the key format, the stored form and the staleness
 * bound of each path.
 *
 * Failures: a Redis that is down, slow or answering errors is skipped (the
 * database answers), each failure is counted, and reconnecting is retried
 * with backoff.  A stored entry that does not decode (another format
 * version, another schema, a bad checksum) is a miss.  No entry is served
 * after its TTL.
 *
 * Threads: a dbont_cache may be used by any number of threads at once;
 * L1 is sharded, so hits of different keys do not wait for each other.
 *
 * Ownership: dbont_cache_open returns a cache the caller closes with
 * dbont_cache_close, after every connection attached to it stopped using
 * it.  Strings passed in are copied.
 */
#ifndef DBONT_CACHE_H
#define DBONT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbont/conn.h"
#include "dbont/error.h"
#include "dbont/query.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dbont_cache dbont_cache;

typedef enum dbont_cache_backend {
    DBONT_CACHE_MEMORY,       /* L1 only: one process */
    DBONT_CACHE_REDIS,        /* L2 only: shared by processes */
    DBONT_CACHE_REDIS_MEMORY  /* both: L1 in front of L2 */
} dbont_cache_backend;

typedef struct dbont_cache_options {
    dbont_cache_backend backend;
    size_t memory_bytes;             /* L1's bound; 0: 64 MiB */
    const char *redis_host;          /* NULL: 127.0.0.1 */
    int redis_port;                  /* 0: 6379 */
    double redis_connect_timeout_s;  /* 0: 0.05 */
    double redis_command_timeout_s;  /* 0: 0.05 */
    const char *key_prefix;          /* NULL: "dbont"; keys start "<prefix>:" */
    double lock_ttl_s;               /* across processes, the one filling a key
                                      * holds a lock this long at most; 0: 2 */
    double lock_wait_s;              /* the others wait for its result this
                                      * long, then ask the database; 0: 0.25 */
} dbont_cache_options;

#define DBONT_CACHE_OPTIONS_INIT {DBONT_CACHE_MEMORY, 0, NULL, 0, 0, 0, NULL, 0, 0}

/*
 * Opens a cache.  With a Redis backend it does not connect yet (a Redis
 * that is down is not an error: it is skipped until it is back) but
 * starts the thread that subscribes to the invalidation channel.  Fails
 * only for bad options (22023) or memory (53200).
 */
dbont_cache *dbont_cache_open(const dbont_cache_options *options, dbont_error *err);

/* Stops the threads (subscriber, listener), frees everything. NULL is fine. */
void dbont_cache_close(dbont_cache *cache);

typedef struct dbont_cache_stats {
    uint64_t hits;          /* calls answered from the cache (l1_hits + l2_hits) */
    uint64_t l1_hits, l2_hits;
    uint64_t misses;        /* calls that ran the query (or waited for another run) */
    uint64_t fills;         /* query runs whose result was stored */
    uint64_t shared;        /* misses answered by another caller's run */
    uint64_t bypassed;      /* calls that could not use the cache (a tenant-scoped
                             * query outside a tenant session) */
    uint64_t evictions;     /* L1 entries evicted to stay within memory_bytes */
    uint64_t errors;        /* Redis failures and entries that did not decode */
    uint64_t invalidations; /* events applied (local, from PostgreSQL, and the other
                             * processes' from Redis; this process's own come back
                             * through Redis and are not counted again) */
    size_t bytes, entries;  /* L1 now */
    uint64_t redis_calls;   /* round trips to Redis on the command connection (an
                             * invalidation is one; a hit from Redis one) */
} dbont_cache_stats;

void dbont_cache_stats_get(dbont_cache *cache, dbont_cache_stats *out);

/*
 * Applies an event: the version of (tenant, event) goes up, locally and in
 * Redis (one round trip: a script that INCRs and PUBLISHes to the other
 * processes).  tenant is the
 * tenant's text form, or "" for tables without a tenant.  A Redis failure
 * is counted and not reported: the local bump happened, and the other
 * processes' entries expire by their TTL (docs/caching.md).
 */
void dbont_cache_invalidate(dbont_cache *cache, const char *tenant, const char *event);

/*
 * Listens for the events the generated triggers send (pg_notify on channel
 * "dbont_cache", payload "<tenant>\t<event>") on a connection of its own to
 * dsn, in a thread, and applies each one.  Reconnects with backoff; after
 * a reconnect it drops every L1 entry (events sent meanwhile are lost).
 * One listener per cache; fails (08001) when the first connection fails.
 */
dbont_status dbont_cache_listen(dbont_cache *cache, const char *dsn, dbont_error *err);

/*
 * Attaches cache to conn (NULL detaches): the generated mutations on conn
 * then emit their events to it.  The tenant of an event is the one of
 * conn's tenant session.  Events of a transaction are applied when it
 * commits (through dbont_commit or dbont_tenant_end) and dropped when it
 * rolls back.
 */
void dbont_conn_set_cache(dbont_conn *conn, dbont_cache *cache);

/* For generated code: the event of a mutation on conn (see above). */
void dbont_conn_emit(dbont_conn *conn, const char *event);

/* A cacheable query, as dbont-gen describes it. */
typedef struct dbont_cached_query {
    const dbont_query *query;
    uint64_t schema_hash;        /* its statement, columns and dbont-gen's
                                  * format: entries of another are misses */
    bool tenant_scoped;          /* reads a multi-tenant table */
    uint32_t ttl_s;              /* db:cacheTTL, else cache:ttl, else 300 */
    const char *key_template;    /* db:cacheKeyTemplate or NULL */
    const char *const *param_names; /* nparams of them, for the template */
    const char *const *events;   /* cache:invalidateOn */
    size_t nevents;
} dbont_cached_query;

/*
 * Runs cq's query with params through the cache (see the top).  Results
 * are exactly what dbont_query_run gives (the caller frees them).  A
 * tenant-scoped query outside a tenant session goes to the database
 * (which, under row-level security, shows it nothing) and is counted as
 * bypassed.  cache may be NULL: then it is dbont_query_run.
 */
dbont_status dbont_query_run_cached(dbont_conn *conn, dbont_cache *cache, const dbont_cached_query *cq,
                                    const void *params, dbont_result **out, dbont_error *err);

#ifdef __cplusplus
}
#endif

#endif
