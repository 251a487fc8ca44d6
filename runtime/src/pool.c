/*
 * pool.c: a bounded, thread-safe pool of connections (dbont/pool.h).
 *
 * The pool has max_size slots.  A slot is empty, opening (reserved by an
 * acquirer that is connecting), idle (its connection waits on the idle
 * stack) or busy (handed out, or being checked).  One mutex guards the
 * slots, the idle stack and the counters; one condition variable, on
 * CLOCK_MONOTONIC, wakes a waiter whenever a connection goes back on the
 * stack or a slot empties.  Nothing slow happens under the mutex:
 * connecting, health checks, reconnecting, cleaning and closing all run
 * after it is released, on a slot that the calling thread alone holds.
 *
 * Idle connections are reused last in, first out: the most recently used
 * one is the likeliest to be healthy and to have the statements the caller
 * needs prepared already, and the ones at the bottom of the stack age
 * until a health check finds them gone (or they are simply not needed).
 */
#define _POSIX_C_SOURCE 200809L  /* pthread_condattr_setclock, poll, strdup */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "dbont/pool.h"
#include "error_internal.h"
#include "monotime.h"

/* Too many connections: PostgreSQL's code for "no more room", which is
 * what a full pool is. */
#define POOL_EXHAUSTED "53300"

/*
 * What every release sends, in one round trip (one simple-query string).
 * A connection handed out by the pool is a whole PostgreSQL session: its
 * user can send anything through dbont_exec or dbont_conn_pg, including a
 * session-level SET (search_path, work_mem, a tenant set with
 * set_config(..., false), SET ROLE).  All of that would otherwise reach
 * the next user of the connection, possibly another tenant's request:
 *
 * - CLOSE ALL closes cursors declared WITH HOLD (they outlive COMMIT).
 * - SET SESSION AUTHORIZATION DEFAULT undoes SET ROLE and SET SESSION
 *   AUTHORIZATION.  RESET ALL does not touch either (checked on
 *   PostgreSQL 15: after SET ROLE x; RESET ALL, current_user is still x),
 *   and a role left behind could be one that bypasses row-level security.
 *   Any user may go back to the role it logged in as, so this never fails
 *   for lack of privilege.
 * - RESET ALL puts every other setting back to its value at connection
 *   start (the dsn's options and client_encoding included).  A tenant
 *   setting becomes '' (which the tenant function reads as no tenant).
 * - UNLISTEN * stops notifications the next user did not ask for (and
 *   that would make every acquire's zero-cost liveness check, has_input,
 *   pay for a health check).
 * - DISCARD TEMP drops temporary tables.  PostgreSQL looks up a table
 *   name in pg_temp before the search_path, so a temporary table named
 *   like a real one would stand in for it in the generated SQL (which
 *   names tables unqualified) of every later user of the connection.
 *
 * This is DISCARD ALL without DEALLOCATE ALL (and without DISCARD PLANS,
 * DISCARD SEQUENCES and pg_advisory_unlock_all()): the prepared statements
 * stay, as the connection's registry lists them and the next user will
 * want them.  The cost is one round trip per release (about 55
 * microseconds on a local socket, the same as RESET ALL alone to within
 * 2 microseconds when there are no temporary tables).
 */
#define RESET_SQL "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; " \
                  "UNLISTEN *; DISCARD TEMP"
/* The same after ending an open (or failed) transaction: one round trip
 * still; the resets then run in their own implicit transaction. */
#define ROLLBACK_RESET_SQL "ROLLBACK; " RESET_SQL

/* A health check: any statement that needs the server. */
#define HEALTH_SQL "SELECT 1"

#define NO_SLOT ((size_t)-1)

typedef enum slot_state {
    SLOT_EMPTY,
    SLOT_OPENING,   /* reserved; its acquirer is connecting */
    SLOT_IDLE,      /* on the idle stack */
    SLOT_BUSY       /* handed out, or being checked before that */
} slot_state;

typedef struct slot {
    dbont_conn *conn;            /* NULL when EMPTY or OPENING */
    slot_state state;
    struct timespec idle_since;  /* when it went on the idle stack */
} slot;

struct dbont_pool {
    pthread_mutex_t lock;
    /* A connection went back on the idle stack or a slot emptied. */
    pthread_cond_t freed;
    char *dsn;                /* resolved at open; read-only afterwards */
    dbont_pool_options opt;   /* read-only after open */
    slot *slots;              /* opt.max_size of them */
    size_t *idle;             /* indices of idle slots; top = idle[nidle - 1] */
    size_t nidle;
    size_t nreserved;         /* slots not EMPTY: the bound, <= max_size */
    dbont_pool_stats stats;
};

/* ---- helpers (the caller holds the lock where it says so) ----------- */

/* An empty slot's index; there is one when nreserved < max_size. Lock held. */
static size_t find_empty(const dbont_pool *pool)
{
    size_t i;
    for (i = 0; i < pool->opt.max_size; i++) {
        if (pool->slots[i].state == SLOT_EMPTY)
            return i;
    }
    return NO_SLOT;
}

/* The slot of a handed-out conn, or NO_SLOT.  Lock held. */
static size_t find_busy(const dbont_pool *pool, const dbont_conn *conn)
{
    size_t i;
    for (i = 0; i < pool->opt.max_size; i++) {
        if (pool->slots[i].conn == conn && pool->slots[i].state == SLOT_BUSY)
            return i;
    }
    return NO_SLOT;
}

/* Empties a slot whose connection is closed (or was never opened) and
 * wakes a waiter, who may now open one.  Lock held. */
static void free_slot(dbont_pool *pool, size_t i)
{
    if (pool->slots[i].conn != NULL)
        pool->stats.open--;
    if (pool->slots[i].state == SLOT_BUSY)
        pool->stats.in_use--;
    pool->slots[i].conn = NULL;
    pool->slots[i].state = SLOT_EMPTY;
    pool->nreserved--;
    pthread_cond_signal(&pool->freed);
}

/*
 * Before a busy slot's connection is closed: forgets it (the slot stays
 * reserved, so the bound holds until the close is done).  Otherwise the
 * slot would keep a pointer to freed memory that malloc may hand to a new
 * connection in another slot, and find_busy could take one for the other.
 * Lock not held.
 */
static void detach(dbont_pool *pool, size_t i)
{
    pthread_mutex_lock(&pool->lock);
    pool->slots[i].conn = NULL;
    pool->stats.open--;
    pthread_mutex_unlock(&pool->lock);
}

/* Puts a clean connection on top of the idle stack and wakes a waiter.
 * Lock held. */
static void push_idle(dbont_pool *pool, size_t i)
{
    pool->slots[i].state = SLOT_IDLE;
    pool->slots[i].idle_since = dbont_time_now();
    pool->idle[pool->nidle++] = i;
    pthread_cond_signal(&pool->freed);
}

/*
 * Whether the server sent something to an idle connection, seen without a
 * round trip: a zero-timeout poll() of its socket.  A connection at rest
 * has nothing to read; a terminated backend (pg_terminate_backend, a
 * server restart, an idle_session_timeout) leaves its goodbye message and
 * the end of the stream there, and libpq reports CONNECTION_OK until it
 * next reads.  True also when the socket cannot be polled.
 */
static bool has_input(PGconn *pg)
{
    struct pollfd p;
    int n;

    p.fd = PQsocket(pg);
    p.events = POLLIN;
    p.revents = 0;
    if (p.fd < 0)
        return true;
    n = poll(&p, 1, 0);
    return n != 0;
}

/* Runs the health check; true when the server answered it properly. */
static bool answers(PGconn *pg)
{
    PGresult *res = PQexec(pg, HEALTH_SQL);
    bool ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
              PQtransactionStatus(pg) == PQTRANS_IDLE;
    PQclear(res);
    return ok;
}

/*
 * Makes sure an idle connection about to be handed out works: checked
 * (HEALTH_SQL) when it was idle longer than health_check_idle or the
 * server sent it something; reopened when libpq or the check says it is
 * broken.  Returns 0 when it is fine as it was, 1 when it was reopened,
 * -1 when it could not be reopened (err filled, 08001).  Lock not held.
 */
static int check_health(const dbont_pool *pool, dbont_conn *conn, double idle_for,
                        dbont_error *err)
{
    PGconn *pg = conn->pg;
    bool broken = PQstatus(pg) != CONNECTION_OK;

    if (!broken && (idle_for > pool->opt.health_check_idle || has_input(pg)))
        broken = !answers(pg);
    if (!broken)
        return 0;
    return dbont_conn_reset(conn, err) == DBONT_OK ? 1 : -1;
}

/*
 * Cleans a connection coming back (see RESET_SQL).  *rolled_back says
 * whether a transaction was open.  False when it cannot be made clean: the
 * connection is broken, a command is still in progress (results or a COPY
 * not read to the end), it is in pipeline mode, or the reset failed.
 * Lock not held.
 */
static bool clean(dbont_conn *conn, bool *rolled_back)
{
    PGconn *pg = conn->pg;
    const char *sql;

    *rolled_back = false;
    if (PQstatus(pg) != CONNECTION_OK || PQpipelineStatus(pg) != PQ_PIPELINE_OFF)
        return false;
    switch (PQtransactionStatus(pg)) {
    case PQTRANS_IDLE:
        sql = RESET_SQL;
        break;
    case PQTRANS_INTRANS:
    case PQTRANS_INERROR:
        sql = ROLLBACK_RESET_SQL;
        *rolled_back = true;
        break;
    default:   /* PQTRANS_ACTIVE, PQTRANS_UNKNOWN */
        return false;
    }
    return dbont_exec(conn, sql, NULL) == DBONT_OK &&
           PQtransactionStatus(pg) == PQTRANS_IDLE;
}

/* ---- the API -------------------------------------------------------- */

static dbont_status check_options(const dbont_pool_options *opt, dbont_error *err)
{
    if (opt->max_size < 1)
        return dbont_error_set(err, "22023", "dbont_pool_open: max_size must be at least 1");
    /* The negated comparisons also refuse NaN. */
    if (!(opt->acquire_timeout >= 0))
        return dbont_error_set(err, "22023",
                               "dbont_pool_open: acquire_timeout must be 0 or more seconds");
    if (!(opt->health_check_idle >= 0))
        return dbont_error_set(err, "22023",
                               "dbont_pool_open: health_check_idle must be 0 or more seconds");
    if (opt->max_size > SIZE_MAX / sizeof(slot))
        return dbont_error_set(err, "22023", "dbont_pool_open: max_size is too large");
    return DBONT_OK;
}

/* Sets up the mutex and the condition variable (on CLOCK_MONOTONIC). */
static bool init_sync(dbont_pool *pool)
{
    pthread_condattr_t attr;
    bool ok;

    if (pthread_condattr_init(&attr) != 0)
        return false;
    ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
         pthread_cond_init(&pool->freed, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!ok)
        return false;
    if (pthread_mutex_init(&pool->lock, NULL) != 0) {
        pthread_cond_destroy(&pool->freed);
        return false;
    }
    return true;
}

dbont_pool *dbont_pool_open(const char *dsn, const dbont_pool_options *opt,
                            dbont_error *err)
{
    static const dbont_pool_options defaults = DBONT_POOL_OPTIONS_INIT;
    dbont_pool *pool;
    dbont_conn *conn;

    if (opt == NULL)
        opt = &defaults;
    if (check_options(opt, err) != DBONT_OK)
        return NULL;
    /* Resolved once, as dbont_connect would, so every connection of the
     * pool goes to the same place even if the environment changes. */
    if (dsn == NULL)
        dsn = getenv("DATABASE_URL");
    if (dsn == NULL)
        dsn = "";

    pool = calloc(1, sizeof *pool);
    if (pool == NULL) {
        dbont_error_set(err, "53200", "out of memory opening a pool");
        return NULL;
    }
    pool->opt = *opt;
    pool->dsn = strdup(dsn);
    pool->slots = calloc(opt->max_size, sizeof *pool->slots);
    pool->idle = calloc(opt->max_size, sizeof *pool->idle);
    if (pool->dsn == NULL || pool->slots == NULL || pool->idle == NULL) {
        dbont_error_set(err, "53200", "out of memory opening a pool");
        goto fail;
    }
    if (!init_sync(pool)) {
        dbont_error_set(err, "58000", "dbont_pool_open: cannot set up a mutex and "
                                      "condition variable on CLOCK_MONOTONIC");
        goto fail;
    }
    /* One connection now, so that a bad dsn shows here (08001). */
    conn = dbont_connect(pool->dsn, err);
    if (conn == NULL) {
        pthread_mutex_destroy(&pool->lock);
        pthread_cond_destroy(&pool->freed);
        goto fail;
    }
    pool->slots[0].conn = conn;
    pool->nreserved = 1;
    pool->stats.open = 1;
    push_idle(pool, 0);
    return pool;

fail:
    free(pool->idle);
    free(pool->slots);
    free(pool->dsn);
    free(pool);
    return NULL;
}

/*
 * Waits (lock held) until a connection is idle or a slot is empty, or the
 * deadline passes.  Returns false on timeout.  A waiter that is woken but
 * finds the connection taken by a thread that came later waits again, until
 * its own deadline: waiting is not first come, first served.
 */
static bool wait_for_room(dbont_pool *pool)
{
    struct timespec deadline;
    bool waited = false;

    while (pool->nidle == 0 && pool->nreserved >= pool->opt.max_size) {
        int rc;
        if (!waited) {
            waited = true;
            pool->stats.waited++;
            deadline = dbont_time_after(dbont_time_now(), pool->opt.acquire_timeout);
        }
        rc = pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline);
        /* On timeout (or an error, which a valid deadline cannot cause),
         * one last look: something may have come back just then. */
        if (rc != 0 && pool->nidle == 0 && pool->nreserved >= pool->opt.max_size)
            return false;
    }
    return true;
}

dbont_conn *dbont_pool_acquire(dbont_pool *pool, dbont_error *err)
{
    size_t i;
    dbont_conn *conn;
    double idle_for;
    int health;

    if (pool == NULL) {
        dbont_error_set(err, "22023", "dbont_pool_acquire: pool must not be NULL");
        return NULL;
    }

    pthread_mutex_lock(&pool->lock);
    if (!wait_for_room(pool)) {
        pool->stats.timeouts++;
        pthread_mutex_unlock(&pool->lock);
        dbont_error_set(err, POOL_EXHAUSTED,
                        "no free connection in the pool after waiting %g s: all %zu "
                        "are in use (release connections sooner, or raise max_size "
                        "or acquire_timeout)",
                        pool->opt.acquire_timeout, pool->opt.max_size);
        return NULL;
    }

    if (pool->nidle == 0) {
        /* Room for one more connection: reserve its slot, then connect
         * without the lock. */
        i = find_empty(pool);
        pool->slots[i].state = SLOT_OPENING;
        pool->nreserved++;
        pthread_mutex_unlock(&pool->lock);

        conn = dbont_connect(pool->dsn, err);

        pthread_mutex_lock(&pool->lock);
        if (conn == NULL) {
            free_slot(pool, i);
        } else {
            pool->slots[i].conn = conn;
            pool->slots[i].state = SLOT_BUSY;
            pool->stats.open++;
            pool->stats.in_use++;
            pool->stats.acquired++;
        }
        pthread_mutex_unlock(&pool->lock);
        return conn;
    }

    i = pool->idle[--pool->nidle];
    conn = pool->slots[i].conn;
    pool->slots[i].state = SLOT_BUSY;
    pool->stats.in_use++;
    idle_for = dbont_time_diff(pool->slots[i].idle_since, dbont_time_now());
    pthread_mutex_unlock(&pool->lock);

    health = check_health(pool, conn, idle_for, err);
    if (health < 0) {
        /* Close before the slot frees up, so that never more than
         * max_size connections exist, even for a moment. */
        detach(pool, i);
        dbont_close(conn);
        conn = NULL;
    }

    pthread_mutex_lock(&pool->lock);
    if (conn == NULL) {
        free_slot(pool, i);
    } else {
        if (health > 0)
            pool->stats.reconnects++;
        pool->stats.acquired++;
    }
    pthread_mutex_unlock(&pool->lock);
    return conn;
}

void dbont_pool_release(dbont_pool *pool, dbont_conn *conn)
{
    size_t i;
    bool ok, rolled_back;

    if (pool == NULL || conn == NULL)
        return;
    /* Only a connection this pool handed out, once: anything else (a
     * second release, a connection from dbont_connect) is left alone. */
    pthread_mutex_lock(&pool->lock);
    i = find_busy(pool, conn);
    pthread_mutex_unlock(&pool->lock);
    if (i == NO_SLOT)
        return;

    ok = clean(conn, &rolled_back);
    if (!ok) {
        detach(pool, i);
        dbont_close(conn);   /* before its slot frees up, as in acquire */
    }

    pthread_mutex_lock(&pool->lock);
    if (ok && rolled_back)
        pool->stats.cleaned++;
    if (ok) {
        pool->stats.in_use--;
        push_idle(pool, i);
    } else {
        free_slot(pool, i);
    }
    pthread_mutex_unlock(&pool->lock);
}

void dbont_pool_stats_get(dbont_pool *pool, dbont_pool_stats *out)
{
    if (out == NULL)
        return;
    if (pool == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    *out = pool->stats;
    pthread_mutex_unlock(&pool->lock);
}

void dbont_pool_close(dbont_pool *pool)
{
    size_t i;

    if (pool == NULL)
        return;
    /* The caller has released every connection and no other thread uses
     * the pool any more (dbont/pool.h), so no lock is needed; a connection
     * still handed out is closed all the same. */
    for (i = 0; i < pool->opt.max_size; i++)
        dbont_close(pool->slots[i].conn);
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->lock);
    free(pool->idle);
    free(pool->slots);
    free(pool->dsn);
    free(pool);
}
