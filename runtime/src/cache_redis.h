/*
 * cache_redis.h: a small thread-safe Redis client for the cache's second
 * level (L2), on hiredis 0.14 (RESP2).  Internal to libdbont: cache.c is
 * its user.
 *
 * Never stalls a request for long and never fails a request: a slow or
 * dead Redis costs a call at most about the connect timeout plus the
 * command timeout, and answers DBONT_REDIS_ERROR, which the cache treats
 * as "skip the cache" (the database answers).
 *
 * Failure handling.  Any error (connect failure or timeout, command
 * timeout, connection lost, an error reply, a reply of an unexpected type)
 * frees the command connection, counts one error and starts a backoff:
 * until it ends, calls return DBONT_REDIS_ERROR at once without touching
 * the network (counted as skipped).  The first call after it connects
 * again; each failure doubles the next backoff, from backoff_min_s up to
 * backoff_max_s, and a successful command resets it to backoff_min_s.
 *
 * Timeouts.  connect_timeout_s bounds the TCP connect; command_timeout_s
 * is set on the socket (SO_SNDTIMEO/SO_RCVTIMEO), so it bounds each send
 * and each receive of a command: a reply that keeps trickling in can take
 * longer, a server that stops answering cannot.
 *
 * Threads.  One command connection guarded by a mutex: callers
 * serialize.  Commands are sent with send(MSG_NOSIGNAL), so a server that
 * goes away never raises SIGPIPE, whatever the application does with that
 * signal.  The subscriber runs in its own thread, on its own connection
 * (a RESP2 connection that has sent SUBSCRIBE can run nothing else), with
 * every signal blocked.
 */
#ifndef DBONT_CACHE_REDIS_H
#define DBONT_CACHE_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dbont_redis dbont_redis;

/* Zero (or NULL) fields take the defaults; a NULL options pointer is all
 * defaults.  backoff_max_s below backoff_min_s counts as backoff_min_s. */
typedef struct dbont_redis_options {
    const char *host; int port;          /* default 127.0.0.1:6379 */
    double connect_timeout_s;            /* default 0.05 */
    double command_timeout_s;            /* default 0.05 */
    double backoff_min_s, backoff_max_s; /* default 0.1, 5 */
} dbont_redis_options;

/* Never fails because Redis is down: it connects on first use.  NULL on
 * OOM.  The options are copied (host too). */
dbont_redis *dbont_redis_new(const dbont_redis_options *o);

/* Also stops the subscriber thread (waiting at most about the connect
 * plus the command timeout, when it is connecting).  Not from inside a subscription callback.  NULL: no-op. */
void dbont_redis_free(dbont_redis *r);

typedef enum {
    DBONT_REDIS_OK,
    DBONT_REDIS_MISS,
    DBONT_REDIS_ERROR,
    DBONT_REDIS_REFUSED /* dbont_redis_eval_int only: see there */
} dbont_redis_status;

/* Keys and values are bytes (binary safe, may contain NULs).
 *
 * Invalid arguments (a NULL handle, NULL key or output pointer, a NULL
 * value with a non-zero length, a ttl of 0 or above 10^15 ms) return
 * DBONT_REDIS_ERROR without touching the connection or the counters. */

/* GET: OK with a malloc'd copy of the value in *val (NUL-terminated
 * after *len bytes, for convenience; caller frees), MISS when absent
 * (*val NULL, *len 0). */
dbont_redis_status dbont_redis_get(dbont_redis *r, const void *key, size_t klen, void **val, size_t *len);

/* GET and PTTL in one round trip: as dbont_redis_get, and in *pttl_ms
 * the key's remaining time to live in milliseconds as Redis says it
 * (-1: none, -2: the key is gone, e.g. it expired between the two). */
dbont_redis_status dbont_redis_get_pttl(dbont_redis *r, const void *key, size_t klen, void **val, size_t *len,
                                        long long *pttl_ms);

/* SET key val PX ttl_ms. */
dbont_redis_status dbont_redis_set_px(dbont_redis *r, const void *key, size_t klen, const void *val, size_t len, uint64_t ttl_ms);

/* SET key val NX PX ttl_ms: OK with *acquired true when this call set it,
 * false when the key existed. */
dbont_redis_status dbont_redis_set_nx_px(dbont_redis *r, const void *key, size_t klen, const void *val, size_t len, uint64_t ttl_ms, bool *acquired);

/* DEL: OK whether or not the key existed. */
dbont_redis_status dbont_redis_del(dbont_redis *r, const void *key, size_t klen);

/* INCR: OK with the new value (a missing key counts from 0). */
dbont_redis_status dbont_redis_incr(dbont_redis *r, const void *key, size_t klen, long long *value);

/* INCRBY (INCR when by is 1): OK with the new value. */
dbont_redis_status dbont_redis_incrby(dbont_redis *r, const void *key, size_t klen, long long by,
                                      long long *value);

/* GET of a decimal integer value (a version counter): MISS when absent.
 * A value that is not a decimal long long is an error (counted) but keeps
 * the connection: Redis answered. */
dbont_redis_status dbont_redis_get_int(dbont_redis *r, const void *key, size_t klen, long long *value);

/* EVAL script nkeys args...: the first nkeys of the nargs args are the
 * script's KEYS, the rest its ARGV.  OK with the integer the script
 * returns in *value.  REFUSED when the server answered an error (scripting
 * disabled or denied by an ACL, an error raised inside the script): the
 * connection stays usable, the reason is kept for dbont_redis_last_error,
 * and it is not counted as an error (the caller decides what it means).
 * A script that returns anything but an integer is an error.  The script
 * is sent whole each time (Redis keeps it compiled, under its SHA-1):
 * one round trip, never the NOSCRIPT dance of EVALSHA. */
dbont_redis_status dbont_redis_eval_int(dbont_redis *r, const char *script, int nkeys, int nargs,
                                        const char *const *args, const size_t *arglens, long long *value);

/* PUBLISH channel msg (channel a C string). */
dbont_redis_status dbont_redis_publish(dbont_redis *r, const char *channel, const void *msg, size_t len);

/* Starts a thread with its own connection SUBSCRIBEd to channel (never
 * the connection that serves reads).  fn(msg, len, user) for each message
 * (msg is NUL-terminated after len bytes, and valid only during the call),
 * and fn(NULL, 0, user) right after each (re)subscription, so the caller
 * can forget what it may have missed while disconnected.  fn runs on the
 * subscriber thread without any lock of r held: it may call the command
 * functions on r, but not dbont_redis_free.
 *
 * Reconnects with the same backoff (its own state).  A lost connection is
 * seen at once when the server closes it, and within about 2 s when the
 * server stops answering (the thread sends a PING after 1 s without
 * traffic and gives up when no answer comes within 1 s more).
 *
 * One subscription per dbont_redis: 0, or -1 (already subscribed, bad
 * arguments, out of memory or threads). */
typedef void (*dbont_redis_message_fn)(const char *msg, size_t len, void *user);
int dbont_redis_subscribe(dbont_redis *r, const char *channel, dbont_redis_message_fn fn, void *user);

/* Counters since dbont_redis_new (each read atomically; together they are
 * a snapshot only when nothing runs concurrently):
 *   commands    calls that went to the network (connecting when needed)
 *   errors      failed ones, plus the subscriber's failed connections,
 *               subscriptions and lost connections
 *   skipped     calls answered DBONT_REDIS_ERROR during a backoff, without
 *               touching the network
 *   reconnects  connections made after the first, on either connection
 *   messages    messages handed to the subscription callback
 *   up          the command connection is open (its last use succeeded)
 *   subscribed  the subscriber's connection is subscribed (an addition to
 *               the design: while false, other processes' invalidations
 *               may be missed) */
typedef struct dbont_redis_stats {
    uint64_t commands, errors, skipped, reconnects, messages;
    bool up;
    bool subscribed;
} dbont_redis_stats;
void dbont_redis_stats_get(dbont_redis *r, dbont_redis_stats *out);

/* The last error of the command connection or of the subscriber, as text
 * ("" when none yet), copied into buf (always NUL-terminated when
 * size > 0).  For logs and tests. */
void dbont_redis_last_error(dbont_redis *r, char *buf, size_t size);

#endif
