/*
 * dbont/shardset.h: a shard set, the servers of a sharded database: for
 * each shard 0 .. N-1 one primary and zero or more PostgreSQL
 * streaming-replication standbys, each server with its own bounded pool
 * (dbont/pool.h).  Which shard a key lives on is dbont/shard.h's
 * business; a shard set only hands out connections to a shard's servers.
 *
 * ---- Configuration ------------------------------------------------------
 *
 * From a file (options.conf_path, else $DBONT_SHARDS_CONF when it is set
 * and not empty), one item per line; blank lines and lines whose first
 * non-blank character is '#' are comments:
 *
 *     shards <N>                  the shard count, 1 .. 65536, before any
 *                                 "shard" line, once
 *     shard <I> primary <DSN>     exactly one per shard I in 0 .. N-1
 *     shard <I> standby <DSN>     zero or more per shard
 *     moving-from <K>             optional, after "shards", once: rows
 *                                 are moving from K shards to N (see
 *                                 "Resharding" below); 1 <= K < N
 *
 * The DSN is the rest of the line, surrounding blanks removed: a libpq URI
 * or key=value string (which may contain blanks; a '#' in it is part of
 * it, not a comment), or a bare database name as dbont_connect takes it.
 *
 * Otherwise from the environment:
 *
 *     DBONT_SHARD_COUNT=N
 *     DBONT_SHARD_<I>_PRIMARY=DSN        for every I in 0 .. N-1
 *     DBONT_SHARD_<I>_STANDBY=DSN        optional
 *     DBONT_SHARD_<I>_STANDBY_<K>=DSN    optional, K = 1, 2, ...: more
 *                                        standbys (gaps allowed)
 *     DBONT_SHARD_MOVING_FROM=K          optional, as "moving-from" (empty
 *                                        or blank: not set)
 *
 * A shard's standbys are taken in that order (STANDBY, then STANDBY_<K>
 * by K).  Every variable named DBONT_SHARD_<digits>_... must be one of
 * these: a misspelt one (DBONT_SHARD_1_PRIMRY) is an error, not ignored.
 * When both a file and the variables are there, the file wins.
 *
 * Configuration errors have SQLSTATE 22023 (58030 when the file cannot be
 * read) and say where: "shards.conf:3:7: shard 5 is out of range (shards
 * 4)" (file:line:column, the column counting bytes from 1), or
 * "DBONT_SHARD_2_PRIMARY is not set (DBONT_SHARD_COUNT is 4)".  Each DSN
 * is parsed (by libpq, without connecting) at open, so a malformed one is
 * reported there, with its place.
 *
 * ---- Resharding: moving-from ------------------------------------------------
 *
 * "moving-from N" says that the set is growing from N shards to M (the
 * "shards" count) and that rows are being moved, or are about to be, by
 * dbont-shard move (dbont/reshard.h).  M is the count rows are routed by
 * (dbont_shardset_count, and the generated code's shard:shardCount must
 * be M); N is the count they were stored by.  Jump consistent hash moves
 * a key only from its old shard, jump(hash, N), to a new one, jump(hash,
 * M) >= N; most keys (N of M) stay where they are.  While the line is
 * there, callers route by these rules:
 *
 *   - a read by key looks at the key's new shard; when the row is not
 *     there and the key's old shard differs, at the old shard; and when
 *     it is not there either, at the new shard once more.  A row is
 *     always on its old shard, or on its new one, or (between its copy
 *     and the delete of the original, both identical) on both, so the
 *     first found is the row.  The third look is what makes it exact: the
 *     move copies a batch to the new shard and then deletes it from the
 *     old one, and both can happen between the first two looks (the
 *     second look then proves the copy had committed, so the third finds
 *     it).  A key that is in neither costs three lookups; every other key
 *     one or two.  Old then new (two looks) is exact too; new first
 *     finds the moved rows and the rows written during the move in one.
 *     Exact on the primaries: standbys (READ_STALE_OK) lag each by its
 *     own amount, so a read served by two of them can miss a row that
 *     moved in between.
 *   - a write by key goes where the row is, by the same three looks:
 *     an update or delete that finds no row on the new shard tries the
 *     old one, then the new one again.  An insert of a new key goes to
 *     the new shard, where it will stay.  dbont-shard move keeps such
 *     writes (dbont/reshard.h, step 3): a write that lands on the old
 *     shard before its row's batch is copied is copied with it, one that
 *     lands on the new shard after the copy is kept (the original is
 *     deleted all the same), one that lands on the old shard in between
 *     makes the move copy the batch again.  Not possible during the
 *     move: a new row that refers (by a foreign key) to a row not moved
 *     yet fails on the new shard (23503); and a row inserted for a key
 *     that still has rows on its old shard (in a table whose key is not
 *     unique) makes the move stop at that key's batch (XX001) until the
 *     rows are reconciled.
 *   - a query without the key runs on all M shards, each answering from
 *     a snapshot of its own: it may see a row of the batch in flight
 *     twice (between its copy and its delete, milliseconds), or miss it
 *     (the new shard answered before the copy, the old one after the
 *     delete).  Exact answers over every shard need a quiet moment: run
 *     them before or after the move.
 *
 * When the move is done (dbont-shard move reports nothing left), remove
 * the line: reads then look at one shard only.
 *
 * ---- Connections --------------------------------------------------------
 *
 * Each server (primary or standby) has a pool of its own, with the
 * options in options.pool.  dbont_pool_open connects once right away (to
 * report a bad DSN early), and a shard set follows it: with
 * connect_at_open (the default), dbont_shardset_open opens every
 * primary's pool, so a wrong DSN or an unreachable primary fails the open
 * with an error naming the shard.  Standbys' pools open when a
 * READ_STALE_OK acquisition first checks them (a standby is optional: one
 * that is down must not stop the set from opening).  With
 * connect_at_open false, primaries' pools also open at their first
 * acquisition, so the set opens while a shard is down and only that
 * shard's calls fail.  A pool that failed to open is tried again at the
 * next acquisition.
 *
 * Errors of an acquisition name the shard and the server (host:port from
 * the DSN; never the password) and keep the pool's SQLSTATE:
 *   "shard 2 (primary 127.0.0.1:5433): could not connect: connection to
 *    server at ... failed: Connection refused ..."      08001
 *   "shard 2 (primary 127.0.0.1:5433): no free connection in the pool
 *    after waiting 5 s: ..."                               53300
 * A connection that breaks while in use is the pool's affair: it is
 * reopened or dropped when released or next acquired (dbont/pool.h).
 * Libpq's connect_timeout (in the DSN) bounds how long a server that does
 * not answer at all (a dropped packet rather than a refusal) can hold up
 * an acquisition; without it, the operating system's TCP timeout applies.
 *
 * ---- Reads that accept staleness: standbys --------------------------------
 *
 * DBONT_SHARD_READ_STALE_OK hands out a connection to one of the shard's
 * standbys when one is usable, else to the primary (a "fallback",
 * counted).  Standbys are tried in turn (round robin) so that reads
 * spread over them.  A standby is usable when its last health check found
 *   - that it answers (a connection from its pool, and a query);
 *   - pg_is_in_recovery() true (a promoted standby is not used as one);
 *   - its WAL receiver streaming (pg_stat_wal_receiver.status =
 *     'streaming');
 *   - its replay lag within standby_max_lag_s, where lag is 0 when it has
 *     replayed all the WAL it has received (pg_last_wal_replay_lsn() >=
 *     pg_last_wal_receive_lsn()), else now() - pg_last_xact_replay_timestamp()
 *     (unknown, hence too much, when no transaction was replayed yet).
 * The result is kept and a standby is checked again at most once every
 * standby_check_interval_s: the first READ_STALE_OK acquisition after the
 * interval runs the check, on the connection it then hands out (one
 * extra round trip, once per interval); acquisitions meanwhile use the
 * kept result, or skip the standby when that result is older than twice
 * the interval (a check that hangs does not keep a standby in use).  A
 * standby whose connection fails is skipped at once, until its next
 * check.  Nobody waits for another thread's check: while a standby's
 * first check runs, other acquisitions go to the primary (or another
 * standby).  A standby whose pool is exhausted is waited for as a pool's
 * callers are (acquire_timeout), then skipped for that acquisition only:
 * busy is not unhealthy.
 *
 * The role in the standby's DSN must be able to read
 * pg_stat_wal_receiver.status: a superuser, or a member of
 * pg_read_all_stats (GRANT pg_read_all_stats TO app on the primary: it
 * replicates).  PostgreSQL hides the column from other roles, and such a
 * standby is then never used; the stats' last_skip says so.
 *
 * What this guarantees, and what it does not.  A read from a standby sees
 * the transactions the primary committed up to about standby_max_lag_s +
 * standby_check_interval_s (2 x the interval while a check runs) before
 * the read, provided the WAL reaches the standby as it is written.  The
 * lag formula cannot see WAL the standby has not received: WAL the
 * primary wrote but has not sent yet (a slow network, a busy WAL sender)
 * counts as no lag, and "streaming" says the replication connection is
 * up, not that it is current.  The lag compares the standby's clock with
 * the primary's commit times, so clock skew between the machines adds to
 * it or takes from it (keep them synchronized).  It errs on the safe side
 * after a quiet spell: the first commit after an hour without one shows
 * an hour of lag until it is replayed, and the standby may be skipped
 * for one interval without need.  A standby can fall behind just after a
 * check and is then used until the next one.  There is no
 * read-your-writes: a row the caller has just committed on the primary
 * may not be on the standby yet; read it with DBONT_SHARD_PRIMARY.  And a
 * query on a standby can be cancelled by a recovery conflict (SQLSTATE
 * 40001; PostgreSQL's max_standby_streaming_delay and
 * hot_standby_feedback govern that).
 *
 * ---- Threads and ownership ------------------------------------------------
 *
 * Every function may be called from any thread.  A connection, once
 * acquired, is used by one thread at a time, and goes back with
 * dbont_shardset_release (never dbont_pool_release or dbont_close), which
 * finds the pool it came from.  dbont_shardset_close, after every
 * connection has been released, closes every pool and frees the set.
 */
#ifndef DBONT_SHARDSET_H
#define DBONT_SHARDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbont/conn.h"
#include "dbont/error.h"
#include "dbont/pool.h"
#include "dbont/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most shards a set may have: far more than any fleet of servers, and
 * a bound so that a typo does not allocate gigabytes. */
#define DBONT_SHARDSET_MAX_SHARDS 65536

typedef struct dbont_shardset dbont_shardset;

typedef enum dbont_shard_access {
    /* The shard's primary: for writes, and reads that must see them. */
    DBONT_SHARD_PRIMARY = 0,
    /* A usable standby if there is one, else the primary (see above). */
    DBONT_SHARD_READ_STALE_OK = 1
} dbont_shard_access;

typedef struct dbont_shardset_options {
    /* The configuration file; NULL: $DBONT_SHARDS_CONF, else the
     * DBONT_SHARD_* environment variables. */
    const char *conf_path;
    /* 0: any count; else the set must have exactly this many shards (the
     * generated code's shard:shardCount: routing with another count would
     * look for rows on the wrong shards). */
    int expected_count;
    /* Every server's pool (primaries and standbys alike). */
    dbont_pool_options pool;
    /* A standby lagging more than this (seconds) is not used. */
    double standby_max_lag_s;
    /* A standby's health is checked at most this often (seconds). */
    double standby_check_interval_s;
    /* Open the primaries' pools (connect) in dbont_shardset_open. */
    bool connect_at_open;
} dbont_shardset_options;

#define DBONT_SHARDSET_OPTIONS_INIT {NULL, 0, DBONT_POOL_OPTIONS_INIT, 5.0, 1.0, true}

/* Counters of one shard, since open (dbont_shardset_stats_get). */
typedef struct dbont_shardset_shard_stats {
    /* Connections handed out by the primary (either access). */
    uint64_t primary_acquired;
    /* Connections handed out by a standby (READ_STALE_OK). */
    uint64_t standby_acquired;
    /* READ_STALE_OK acquisitions served by the primary although the shard
     * has standbys: none was usable (or checked yet).  A shard without
     * standbys counts none. */
    uint64_t standby_fallbacks;
    /* Health checks run, and those that found the standby unusable (a
     * check whose connection fails is a failed one; a connection that
     * fails between checks counts only as a fallback, when no other
     * standby served). */
    uint64_t standby_checks;
    uint64_t standby_check_failures;
    /* Standbys configured, and usable by their kept results now. */
    int standbys;
    int standbys_usable;
    /* Why a standby was last found unusable ("" if never), e.g.
     * "standby 127.0.0.1:5434: replay lag 3.2 s exceeds 1 s". */
    char last_skip[256];
} dbont_shardset_shard_stats;

/*
 * Reads the configuration (above), checks it and the options, and opens
 * the set.  o may be NULL for the defaults.  NULL and err filled on
 * failure: 22023 (configuration, options, expected_count), 58030 (the
 * file cannot be read), or a pool's error when connect_at_open.
 */
dbont_shardset *dbont_shardset_open(const dbont_shardset_options *o, dbont_error *err);

/* The number of shards (0 for NULL). */
int dbont_shardset_count(const dbont_shardset *s);

/*
 * 0 when no move is in progress; else the shard count rows are moving
 * from ("moving-from N", DBONT_SHARD_MOVING_FROM), 1 .. count-1.  See
 * "Resharding: moving-from" above for how callers route meanwhile.
 */
int dbont_shardset_moving_from(const dbont_shardset *s);

/* The configured DSNs, as read (NULL when out of range): for tools and
 * tests; an application needs none of them. */
int dbont_shardset_standby_count(const dbont_shardset *s, int shard);
const char *dbont_shardset_primary_dsn(const dbont_shardset *s, int shard);
const char *dbont_shardset_standby_dsn(const dbont_shardset *s, int shard, int k);
/* The primary as errors name it: "host:port" from its DSN, never the
 * password (NULL when out of range). */
const char *dbont_shardset_primary_label(const dbont_shardset *s, int shard);

/*
 * A connection to a server of shard (0 .. count-1): its primary, or for
 * READ_STALE_OK a usable standby when there is one.  NULL and err filled
 * (naming the shard and the server) on failure.  Give it back with
 * dbont_shardset_release.
 */
dbont_conn *dbont_shardset_acquire(dbont_shardset *s, int shard, dbont_shard_access access,
                                   dbont_error *err);

/* The same for the shard of a key (dbont_shard_of_int, _text, _uuid over
 * dbont_shardset_count(s) shards). */
dbont_conn *dbont_shardset_acquire_for_int(dbont_shardset *s, int64_t key,
                                           dbont_shard_access access, dbont_error *err);
dbont_conn *dbont_shardset_acquire_for_text(dbont_shardset *s, const char *key, size_t len,
                                            dbont_shard_access access, dbont_error *err);
dbont_conn *dbont_shardset_acquire_for_uuid(dbont_shardset *s, const dbont_uuid *key,
                                            dbont_shard_access access, dbont_error *err);

/* Gives conn back to the pool it came from (cleaned as dbont_pool_release
 * does).  NULL, and a connection the set did not hand out, are ignored. */
void dbont_shardset_release(dbont_shardset *s, dbont_conn *conn);

/* The counters of a shard.  22023 when shard is out of range. */
dbont_status dbont_shardset_stats_get(dbont_shardset *s, int shard,
                                      dbont_shardset_shard_stats *out, dbont_error *err);

/* Closes every pool and frees the set.  NULL is allowed.  Precondition:
 * every acquired connection has been released and no other thread uses
 * the set any more. */
void dbont_shardset_close(dbont_shardset *s);

#ifdef __cplusplus
}
#endif

#endif
