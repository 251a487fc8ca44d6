/*
 * shardset.c: a shard set (dbont/shardset.h): a pool per server, which
 * server serves an acquisition, and which pool a released connection goes
 * back to.
 *
 * Locks, none of them held while talking to a server:
 *   - a server's open_lock, only while its pool is being opened (so that
 *     two threads do not both open one; the pool pointer is then read
 *     without a lock, as an atomic);
 *   - a shard's lock, over its standbys' kept check results and its
 *     last_skip text (held for a few comparisons);
 *   - the map's lock, over the connections handed out (conn -> server).
 * The counters are atomics, so that stats never stop an acquisition.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbont/shard.h"
#include "dbont/shardset.h"
#include "monotime.h"
#include "shardconf.h"
#include "standby_check.h"

/* POSIX: the program declares it. */
extern char **environ;

#define ARG_ERROR "22023"
#define NO_MEMORY "53200"
#define CONNECT_ERROR "08001"
#define POOL_EXHAUSTED "53300"   /* dbont_pool_acquire's "all in use" */

/* ---- servers and shards ---------------------------------------------- */

typedef struct server {
    const char *dsn;     /* owned by the set's shardconf */
    const char *label;   /* "host:port" */
    const char *role;    /* "primary" or "standby" */
    int shard;
    bool lock_ready;     /* open_lock was initialized (for close) */
    pthread_mutex_t open_lock;
    _Atomic(dbont_pool *) pool;   /* NULL until opened */
} server;

/* What a standby's last check found.  Guarded by its shard's lock. */
typedef struct standby {
    server srv;
    bool checked;          /* there is a result */
    bool usable;
    bool checking;         /* a thread is checking it now */
    struct timespec checked_at;
} standby;

typedef struct shard {
    server primary;
    standby *standbys;
    size_t nstandbys;
    atomic_uint next;      /* round robin over the standbys */
    bool lock_ready;
    pthread_mutex_t lock;  /* the standbys' results, last_skip */
    char last_skip[sizeof(((dbont_shardset_shard_stats *)0)->last_skip)];
    _Atomic uint64_t primary_acquired, standby_acquired, fallbacks, checks, check_failures;
} shard;

/* ---- the connections handed out ------------------------------------------ */

/*
 * conn -> the server whose pool lent it, so that release finds the pool.
 * An open-addressing table (linear probing, deletion by backward shift):
 * it holds at most the connections handed out, which the pools bound.
 */
typedef struct map_entry {
    const dbont_conn *conn;   /* NULL: free */
    server *srv;
} map_entry;

typedef struct connmap {
    pthread_mutex_t lock;
    bool lock_ready;
    map_entry *e;
    size_t cap;   /* a power of 2 */
    size_t n;
} connmap;

#define MAP_INITIAL_CAP 64

static size_t home_of(const dbont_conn *conn, size_t cap)
{
    /* Fibonacci hashing: allocations are aligned, so the low bits of a
     * pointer say little; the multiplication mixes the high ones down. */
    uint64_t h = (uint64_t)(uintptr_t)conn * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (cap - 1);
}

/* Puts (conn, srv) in e[cap] (conn not there yet, room left). */
static void map_put(map_entry *e, size_t cap, const dbont_conn *conn, server *srv)
{
    size_t i = home_of(conn, cap);
    while (e[i].conn != NULL)
        i = (i + 1) & (cap - 1);
    e[i].conn = conn;
    e[i].srv = srv;
}

/* Adds conn; false when out of memory.  Kept at most half full. */
static bool map_add(connmap *m, const dbont_conn *conn, server *srv)
{
    bool ok = true;

    pthread_mutex_lock(&m->lock);
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap * 2, i;
        map_entry *e = calloc(cap, sizeof *e);
        if (e == NULL) {
            ok = false;
        } else {
            for (i = 0; i < m->cap; i++) {
                if (m->e[i].conn != NULL)
                    map_put(e, cap, m->e[i].conn, m->e[i].srv);
            }
            free(m->e);
            m->e = e;
            m->cap = cap;
        }
    }
    if (ok) {
        map_put(m->e, m->cap, conn, srv);
        m->n++;
    }
    pthread_mutex_unlock(&m->lock);
    return ok;
}

/* Removes conn and returns its server; NULL when it is not there. */
static server *map_take(connmap *m, const dbont_conn *conn)
{
    size_t mask, i, j;
    server *srv = NULL;

    pthread_mutex_lock(&m->lock);
    mask = m->cap - 1;
    for (i = home_of(conn, m->cap); m->e[i].conn != NULL; i = (i + 1) & mask) {
        if (m->e[i].conn == conn) {
            srv = m->e[i].srv;
            break;
        }
    }
    if (srv != NULL) {
        /* Backward shift: moves later entries of the probe run into the
         * hole when their home is not between the hole and them, so that
         * every lookup still finds its entry without tombstones. */
        for (j = i;;) {
            size_t k;
            j = (j + 1) & mask;
            if (m->e[j].conn == NULL)
                break;
            k = home_of(m->e[j].conn, m->cap);
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                continue;
            m->e[i] = m->e[j];
            i = j;
        }
        m->e[i].conn = NULL;
        m->e[i].srv = NULL;
        m->n--;
    }
    pthread_mutex_unlock(&m->lock);
    return srv;
}

/* ---- the set ------------------------------------------------------------ */

struct dbont_shardset {
    shardconf conf;              /* the DSNs and labels */
    dbont_pool_options pool;
    double max_lag, interval;
    int count;
    shard *shards;
    connmap map;
};

static dbont_status check_options(const dbont_shardset_options *o, dbont_error *err)
{
    if (o->expected_count < 0 || o->expected_count > DBONT_SHARDSET_MAX_SHARDS)
        return dbont_error_set(err, ARG_ERROR,
                               "dbont_shardset_open: expected_count must be 0 (any) or a shard "
                               "count from 1 to %d, not %d",
                               DBONT_SHARDSET_MAX_SHARDS, o->expected_count);
    if (o->pool.max_size < 1)
        return dbont_error_set(err, ARG_ERROR,
                               "dbont_shardset_open: pool.max_size must be at least 1");
    /* The negated comparisons also refuse NaN. */
    if (!(o->pool.acquire_timeout >= 0) || !(o->pool.health_check_idle >= 0))
        return dbont_error_set(err, ARG_ERROR,
                               "dbont_shardset_open: pool.acquire_timeout and "
                               "pool.health_check_idle must be 0 or more seconds");
    if (!(o->standby_max_lag_s >= 0) || !(o->standby_check_interval_s >= 0))
        return dbont_error_set(err, ARG_ERROR,
                               "dbont_shardset_open: standby_max_lag_s and "
                               "standby_check_interval_s must be 0 or more seconds");
    return DBONT_OK;
}

static bool server_init(server *srv, const shardconf_server *c, const char *role, int shard_index)
{
    srv->dsn = c->dsn;
    srv->label = c->label;
    srv->role = role;
    srv->shard = shard_index;
    atomic_init(&srv->pool, NULL);
    srv->lock_ready = pthread_mutex_init(&srv->open_lock, NULL) == 0;
    return srv->lock_ready;
}

static void server_close(server *srv)
{
    dbont_pool_close(atomic_load(&srv->pool));
    if (srv->lock_ready)
        pthread_mutex_destroy(&srv->open_lock);
}

/* Sets up shard i from the configuration; false when a mutex or memory
 * fails (what was set up is still closed by dbont_shardset_close). */
static bool shard_init(dbont_shardset *s, int i)
{
    shard *sh = &s->shards[i];
    const shardconf_shard *c = &s->conf.shards[i];
    size_t k;

    atomic_init(&sh->next, 0);
    atomic_init(&sh->primary_acquired, 0);
    atomic_init(&sh->standby_acquired, 0);
    atomic_init(&sh->fallbacks, 0);
    atomic_init(&sh->checks, 0);
    atomic_init(&sh->check_failures, 0);
    sh->lock_ready = pthread_mutex_init(&sh->lock, NULL) == 0;
    if (!sh->lock_ready || !server_init(&sh->primary, &c->primary, "primary", i))
        return false;
    if (c->nstandbys == 0)
        return true;
    sh->standbys = calloc(c->nstandbys, sizeof *sh->standbys);
    if (sh->standbys == NULL)
        return false;
    for (k = 0; k < c->nstandbys; k++) {
        sh->nstandbys++;   /* counted first, so that close sees it */
        if (!server_init(&sh->standbys[k].srv, &c->standbys[k], "standby", i))
            return false;
    }
    return true;
}

static void shard_close(shard *sh)
{
    size_t k;
    server_close(&sh->primary);
    for (k = 0; k < sh->nstandbys; k++)
        server_close(&sh->standbys[k].srv);
    free(sh->standbys);
    if (sh->lock_ready)
        pthread_mutex_destroy(&sh->lock);
}

void dbont_shardset_close(dbont_shardset *s)
{
    int i;

    if (s == NULL)
        return;
    for (i = 0; s->shards != NULL && i < s->count; i++)
        shard_close(&s->shards[i]);
    free(s->shards);
    free(s->map.e);
    if (s->map.lock_ready)
        pthread_mutex_destroy(&s->map.lock);
    shardconf_free(&s->conf);
    free(s);
}

/*
 * Fills err from a server's failure (inner): the shard and the server
 * first, the pool's SQLSTATE kept.
 */
static dbont_status server_error(dbont_error *err, const server *srv, const dbont_error *inner)
{
    bool connect = strcmp(inner->sqlstate, CONNECT_ERROR) == 0;
    return dbont_error_set(err, inner->sqlstate, "shard %d (%s %s): %s%s", srv->shard, srv->role,
                           srv->label, connect ? "could not connect: " : "", inner->message);
}

/* The server's pool, opened now when it is not yet (inner filled on
 * failure: the next call tries again). */
static dbont_pool *server_pool(dbont_shardset *s, server *srv, dbont_error *inner)
{
    dbont_pool *pool = atomic_load_explicit(&srv->pool, memory_order_acquire);

    if (pool != NULL)
        return pool;
    pthread_mutex_lock(&srv->open_lock);
    pool = atomic_load_explicit(&srv->pool, memory_order_relaxed);
    if (pool == NULL) {
        pool = dbont_pool_open(srv->dsn, &s->pool, inner);
        if (pool != NULL)
            atomic_store_explicit(&srv->pool, pool, memory_order_release);
    }
    pthread_mutex_unlock(&srv->open_lock);
    return pool;
}

/* A connection from the server's pool, or NULL with err naming the shard
 * and the server. */
static dbont_conn *server_acquire(dbont_shardset *s, server *srv, dbont_error *err)
{
    dbont_error inner;
    dbont_pool *pool;
    dbont_conn *conn = NULL;

    dbont_error_clear(&inner);
    pool = server_pool(s, srv, &inner);
    if (pool != NULL)
        conn = dbont_pool_acquire(pool, &inner);
    if (conn == NULL)
        server_error(err, srv, &inner);
    return conn;
}

dbont_shardset *dbont_shardset_open(const dbont_shardset_options *o, dbont_error *err)
{
    static const dbont_shardset_options defaults = DBONT_SHARDSET_OPTIONS_INIT;
    dbont_shardset *s;
    int i;

    if (o == NULL)
        o = &defaults;
    if (check_options(o, err) != DBONT_OK)
        return NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        dbont_error_set(err, NO_MEMORY, "out of memory opening a shard set");
        return NULL;
    }
    if (shardconf_load(&s->conf, o->conf_path, environ, err) != DBONT_OK ||
        shardconf_check_count(&s->conf, o->expected_count, err) != DBONT_OK)
        goto fail;
    s->pool = o->pool;
    s->max_lag = o->standby_max_lag_s;
    s->interval = o->standby_check_interval_s;
    s->shards = calloc((size_t)s->conf.count, sizeof *s->shards);
    s->map.cap = MAP_INITIAL_CAP;
    s->map.e = calloc(s->map.cap, sizeof *s->map.e);
    if (s->shards == NULL || s->map.e == NULL) {
        dbont_error_set(err, NO_MEMORY, "out of memory opening a shard set");
        goto fail;
    }
    s->map.lock_ready = pthread_mutex_init(&s->map.lock, NULL) == 0;
    if (!s->map.lock_ready)
        goto no_mutex;
    for (i = 0; i < s->conf.count; i++) {
        s->count = i + 1;   /* first, so that close sees what shard_init did */
        if (!shard_init(s, i))
            goto no_mutex;
    }
    /* As dbont_pool_open does for one server: connect now, so that a bad
     * DSN or a server that is down shows here, naming its shard. */
    for (i = 0; o->connect_at_open && i < s->count; i++) {
        dbont_error inner;
        dbont_error_clear(&inner);
        if (server_pool(s, &s->shards[i].primary, &inner) == NULL) {
            server_error(err, &s->shards[i].primary, &inner);
            goto fail;
        }
    }
    return s;

no_mutex:
    dbont_error_set(err, "58000", "dbont_shardset_open: cannot set up a mutex (or out of memory)");
fail:
    dbont_shardset_close(s);
    return NULL;
}

/* ---- acquiring -------------------------------------------------------- */

typedef enum standby_plan {
    PLAN_SKIP,    /* not usable (or not known yet, another thread checks) */
    PLAN_USE,     /* usable by its kept result */
    PLAN_CHECK    /* due for a check, which this thread now runs */
} standby_plan;

/*
 * What to do with a standby now.  A result is kept for the interval; the
 * first caller after it runs the check (marked, so that only one does),
 * and the others keep to the old result meanwhile, but not beyond twice
 * the interval: a check that hangs must not keep a standby in use on an
 * old result.  Before the first result, the others skip the standby
 * rather than wait for it.  Shard lock held.
 */
static standby_plan plan(const dbont_shardset *s, standby *sb, struct timespec now)
{
    double age = sb->checked ? dbont_time_diff(sb->checked_at, now) : 0;

    if (!sb->checking && (!sb->checked || age >= s->interval)) {
        sb->checking = true;
        return PLAN_CHECK;
    }
    if (!sb->checked || !sb->usable)
        return PLAN_SKIP;
    /* Fresh (age < interval), or being checked by another thread. */
    return age < 2 * s->interval ? PLAN_USE : PLAN_SKIP;
}

/* Keeps what a check (or a failed connection) found. */
static void keep_result(shard *sh, standby *sb, bool checked_now, bool usable, const char *reason)
{
    pthread_mutex_lock(&sh->lock);
    sb->checked = true;
    sb->usable = usable;
    sb->checked_at = dbont_time_now();
    if (checked_now)
        sb->checking = false;
    if (!usable)
        snprintf(sh->last_skip, sizeof sh->last_skip, "%s", reason);
    pthread_mutex_unlock(&sh->lock);
    if (checked_now) {
        atomic_fetch_add_explicit(&sh->checks, 1, memory_order_relaxed);
        if (!usable)
            atomic_fetch_add_explicit(&sh->check_failures, 1, memory_order_relaxed);
    }
}

/* Gives up a check this thread was to run, keeping the last result: the
 * next caller checks. */
static void drop_check(shard *sh, standby *sb)
{
    pthread_mutex_lock(&sh->lock);
    sb->checking = false;
    pthread_mutex_unlock(&sh->lock);
}

/*
 * A connection to a usable standby of sh, trying them in turn from the
 * next one in the round; NULL when none is usable (*from: the server).
 */
static dbont_conn *standby_acquire(dbont_shardset *s, shard *sh, server **from)
{
    size_t n = sh->nstandbys, i;
    size_t start = atomic_fetch_add_explicit(&sh->next, 1, memory_order_relaxed) % n;

    for (i = 0; i < n; i++) {
        standby *sb = &sh->standbys[(start + i) % n];
        char reason[sizeof sh->last_skip], text[DBONT_ERROR_MESSAGE_MAX];
        dbont_error e;
        dbont_conn *conn;
        standby_plan p;

        pthread_mutex_lock(&sh->lock);
        p = plan(s, sb, dbont_time_now());
        pthread_mutex_unlock(&sh->lock);
        if (p == PLAN_SKIP)
            continue;
        conn = server_acquire(s, &sb->srv, &e);
        if (conn == NULL && strcmp(e.sqlstate, POOL_EXHAUSTED) == 0) {
            /* Busy, not broken: skipped this time only (the caller waited
             * acquire_timeout for it, as the pool's callers do). */
            if (p == PLAN_CHECK)
                drop_check(sh, sb);
            continue;
        }
        if (conn == NULL) {
            /* Skipped until its next check, whatever its last result. */
            keep_result(sh, sb, p == PLAN_CHECK, false, e.message);
            continue;
        }
        if (p == PLAN_CHECK) {
            /* The check runs on the connection the caller then gets. */
            bool ok = dbont_standby_check(dbont_conn_pg(conn), s->max_lag, reason, sizeof reason);
            snprintf(text, sizeof text, "shard %d (standby %s): %s", sb->srv.shard, sb->srv.label,
                     reason);
            keep_result(sh, sb, true, ok, text);
            if (!ok) {
                dbont_pool_release(atomic_load(&sb->srv.pool), conn);
                continue;
            }
        }
        *from = &sb->srv;
        return conn;
    }
    return NULL;
}

dbont_conn *dbont_shardset_acquire(dbont_shardset *s, int shard_index, dbont_shard_access access,
                                   dbont_error *err)
{
    dbont_conn *conn = NULL;
    server *from = NULL;
    shard *sh;

    if (s == NULL) {
        dbont_error_set(err, ARG_ERROR, "dbont_shardset_acquire: the shard set must not be NULL");
        return NULL;
    }
    if (shard_index < 0 || shard_index >= s->count) {
        dbont_error_set(err, ARG_ERROR, "shard %d is out of range (the set has %d shard%s)",
                        shard_index, s->count, s->count == 1 ? "" : "s");
        return NULL;
    }
    if (access != DBONT_SHARD_PRIMARY && access != DBONT_SHARD_READ_STALE_OK) {
        dbont_error_set(err, ARG_ERROR, "dbont_shardset_acquire: unknown access %d", (int)access);
        return NULL;
    }
    sh = &s->shards[shard_index];
    if (access == DBONT_SHARD_READ_STALE_OK && sh->nstandbys > 0) {
        conn = standby_acquire(s, sh, &from);
        if (conn != NULL)
            atomic_fetch_add_explicit(&sh->standby_acquired, 1, memory_order_relaxed);
        else
            atomic_fetch_add_explicit(&sh->fallbacks, 1, memory_order_relaxed);
    }
    if (conn == NULL) {
        from = &sh->primary;
        conn = server_acquire(s, from, err);
        if (conn == NULL)
            return NULL;
        atomic_fetch_add_explicit(&sh->primary_acquired, 1, memory_order_relaxed);
    }
    if (!map_add(&s->map, conn, from)) {
        dbont_pool_release(atomic_load(&from->pool), conn);
        dbont_error_set(err, NO_MEMORY, "out of memory acquiring a connection of shard %d",
                        shard_index);
        return NULL;
    }
    return conn;
}

dbont_conn *dbont_shardset_acquire_for_int(dbont_shardset *s, int64_t key,
                                           dbont_shard_access access, dbont_error *err)
{
    return dbont_shardset_acquire(s, dbont_shard_of_int(key, dbont_shardset_count(s)), access,
                                  err);
}

dbont_conn *dbont_shardset_acquire_for_text(dbont_shardset *s, const char *key, size_t len,
                                            dbont_shard_access access, dbont_error *err)
{
    if (key == NULL && len > 0) {
        dbont_error_set(err, ARG_ERROR, "dbont_shardset_acquire_for_text: key is NULL");
        return NULL;
    }
    return dbont_shardset_acquire(s, dbont_shard_of_text(key, len, dbont_shardset_count(s)),
                                  access, err);
}

dbont_conn *dbont_shardset_acquire_for_uuid(dbont_shardset *s, const dbont_uuid *key,
                                            dbont_shard_access access, dbont_error *err)
{
    if (key == NULL) {
        dbont_error_set(err, ARG_ERROR, "dbont_shardset_acquire_for_uuid: key is NULL");
        return NULL;
    }
    return dbont_shardset_acquire(s, dbont_shard_of_uuid(key, dbont_shardset_count(s)), access,
                                  err);
}

void dbont_shardset_release(dbont_shardset *s, dbont_conn *conn)
{
    server *srv;

    if (s == NULL || conn == NULL)
        return;
    /* Out of the map before the pool has it back: from then on the pool
     * may hand the same pointer to another thread, which adds it again. */
    srv = map_take(&s->map, conn);
    if (srv != NULL)
        dbont_pool_release(atomic_load_explicit(&srv->pool, memory_order_acquire), conn);
}

/* ---- what the set is ----------------------------------------------------- */

int dbont_shardset_count(const dbont_shardset *s)
{
    return s != NULL ? s->count : 0;
}

int dbont_shardset_moving_from(const dbont_shardset *s)
{
    return s != NULL ? s->conf.moving_from : 0;
}

static const shardconf_shard *conf_shard(const dbont_shardset *s, int shard_index)
{
    if (s == NULL || shard_index < 0 || shard_index >= s->count)
        return NULL;
    return &s->conf.shards[shard_index];
}

int dbont_shardset_standby_count(const dbont_shardset *s, int shard_index)
{
    const shardconf_shard *c = conf_shard(s, shard_index);
    return c != NULL ? (int)c->nstandbys : -1;
}

const char *dbont_shardset_primary_dsn(const dbont_shardset *s, int shard_index)
{
    const shardconf_shard *c = conf_shard(s, shard_index);
    return c != NULL ? c->primary.dsn : NULL;
}

const char *dbont_shardset_primary_label(const dbont_shardset *s, int shard_index)
{
    const shardconf_shard *c = conf_shard(s, shard_index);
    return c != NULL ? c->primary.label : NULL;
}

const char *dbont_shardset_standby_dsn(const dbont_shardset *s, int shard_index, int k)
{
    const shardconf_shard *c = conf_shard(s, shard_index);
    if (c == NULL || k < 0 || (size_t)k >= c->nstandbys)
        return NULL;
    return c->standbys[k].dsn;
}

dbont_status dbont_shardset_stats_get(dbont_shardset *s, int shard_index,
                                      dbont_shardset_shard_stats *out, dbont_error *err)
{
    shard *sh;
    size_t k;

    if (out == NULL)
        return dbont_error_set(err, ARG_ERROR, "dbont_shardset_stats_get: out must not be NULL");
    memset(out, 0, sizeof *out);
    if (conf_shard(s, shard_index) == NULL)
        return dbont_error_set(err, ARG_ERROR, "shard %d is out of range (the set has %d shards)",
                               shard_index, dbont_shardset_count(s));
    sh = &s->shards[shard_index];
    out->primary_acquired = atomic_load_explicit(&sh->primary_acquired, memory_order_relaxed);
    out->standby_acquired = atomic_load_explicit(&sh->standby_acquired, memory_order_relaxed);
    out->standby_fallbacks = atomic_load_explicit(&sh->fallbacks, memory_order_relaxed);
    out->standby_checks = atomic_load_explicit(&sh->checks, memory_order_relaxed);
    out->standby_check_failures = atomic_load_explicit(&sh->check_failures, memory_order_relaxed);
    out->standbys = (int)sh->nstandbys;
    pthread_mutex_lock(&sh->lock);
    for (k = 0; k < sh->nstandbys; k++) {
        if (sh->standbys[k].checked && sh->standbys[k].usable)
            out->standbys_usable++;
    }
    memcpy(out->last_skip, sh->last_skip, sizeof out->last_skip);
    pthread_mutex_unlock(&sh->lock);
    return DBONT_OK;
}
