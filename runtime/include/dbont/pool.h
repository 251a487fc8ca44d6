/*
 * dbont/pool.h: a bounded, thread-safe pool of connections.
 *
 * Guarantees (docs/multi-tenancy.md, "The pool"):
 *  - Bounded: never more than max_size connections are open; a caller that
 *    finds none free waits (backpressure) up to acquire_timeout, then gets
 *    an error (SQLSTATE 53300) instead of a new connection.
 *  - Healthy: a connection is checked before it is handed out when it has
 *    been idle longer than health_check_idle (a "SELECT 1"), when the
 *    server has sent it something unasked (a terminated backend's goodbye,
 *    seen by a zero-timeout poll() of its socket, no round trip) or when
 *    libpq says it is broken; a broken one is reopened (its prepared
 *    statements are prepared again on use).
 *  - Clean: release puts a connection back only in a clean state: an open
 *    transaction is rolled back, the role is reset (SET SESSION
 *    AUTHORIZATION DEFAULT, which RESET ALL leaves alone), every session
 *    setting is reset (RESET ALL), and held cursors, LISTENs and temporary
 *    tables are dropped, all in one round trip, so no tenant, no SET, no
 *    role and no transaction carries over to the next user.  Prepared
 *    statements are kept.  A connection that cannot be cleaned is closed.
 *  - Thread-safe: acquire and release may be called from any thread; a
 *    connection, once acquired, is used by one thread at a time.
 *
 * Ownership: dbont_pool_open returns a pool the caller closes with
 * dbont_pool_close, after every acquired connection has been released.
 * Connections from dbont_pool_acquire belong to the pool: give them back
 * with dbont_pool_release, never dbont_close.
 */
#ifndef DBONT_POOL_H
#define DBONT_POOL_H

#include <stddef.h>

#include "dbont/conn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dbont_pool dbont_pool;

typedef struct dbont_pool_options {
    size_t max_size;           /* at most this many connections (>= 1) */
    double acquire_timeout;    /* seconds to wait for a free one */
    double health_check_idle;  /* check one idle longer than this (seconds) */
} dbont_pool_options;

#define DBONT_POOL_OPTIONS_INIT {8, 5.0, 30.0}

typedef struct dbont_pool_stats {
    size_t open;       /* connections open now */
    size_t in_use;     /* of which handed out */
    size_t acquired;   /* acquisitions so far */
    size_t waited;     /* acquisitions that had to wait */
    size_t timeouts;   /* acquisitions that timed out */
    size_t reconnects; /* broken connections reopened */
    size_t cleaned;    /* releases that had to roll back a transaction
                          (every release resets the session) */
} dbont_pool_stats;

/* Opens a pool for dsn (NULL: $DATABASE_URL, as dbont_connect).  Opens one
 * connection right away to report a bad dsn early (08001).  opt may be
 * NULL for the defaults. */
dbont_pool *dbont_pool_open(const char *dsn, const dbont_pool_options *opt, dbont_error *err);

/* A clean connection, or NULL with 53300 after acquire_timeout, or 08001
 * when a new connection cannot be opened. */
dbont_conn *dbont_pool_acquire(dbont_pool *pool, dbont_error *err);

/* Gives conn back (cleaned as above).  NULL is allowed. */
void dbont_pool_release(dbont_pool *pool, dbont_conn *conn);

void dbont_pool_stats_get(dbont_pool *pool, dbont_pool_stats *out);

/* Closes every connection and frees the pool.  NULL is allowed.
 * Precondition: every acquired connection has been released and no other
 * thread uses the pool any more. */
void dbont_pool_close(dbont_pool *pool);

#ifdef __cplusplus
}
#endif

#endif
