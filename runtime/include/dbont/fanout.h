/*
 * dbont/fanout.h: running one query on every shard at once and merging
 * the shards' rows into one result.
 *
 * A query that does not pin the shard key cannot be routed to one shard;
 * it runs on all of them.  dbont_fanout_run sends the query's prepared
 * statement on one connection per shard without waiting in between
 * (libpq's asynchronous API), waits on all the sockets together, and
 * reads each shard's answer as it arrives, so the call takes about as
 * long as the slowest shard, not the sum of them.  The rows are then
 * merged as the query's dbont_fanout_spec says, into one dbont_result of
 * the query's row struct, exactly as dbont_query_run would return it.
 *
 * ---- The merge spec, and what the generator must emit with it -----------
 *
 * The spec is constant data that dbont-gen derives from the query, next
 * to its dbont_query.  The statement that runs on each shard and the spec
 * must agree, as follows.
 *
 * No aggregates (aggs NULL):
 *   - order empty: the rows are the shards' rows one shard after another,
 *     shard 0 first (for queries whose row order does not matter).
 *   - order: the shard statement has ORDER BY exactly these keys (same
 *     columns, directions and NULLS FIRST/LAST), and the shards' rows are
 *     merged by a k-way merge (a binary heap over the shards' current
 *     rows), so the result is in that order.  Ties keep shard order.
 *     PostgreSQL's default is NULLS LAST for ASC and NULLS FIRST for
 *     DESC; the spec always says which (nulls_first), it has no default.
 *   - text and varchar sort keys are compared bytewise (the "C"
 *     collation): the shard statement must sort them COLLATE "C" too,
 *     e.g. ORDER BY name COLLATE "C" DESC, or the shards' orders and the
 *     merge's would disagree.  Other comparable types sort as PostgreSQL
 *     sorts them (merge: real/double NaN above all, -0 = 0; numeric
 *     exactly, NaN above Infinity; uuid bytewise; ...).  jsonb cannot be
 *     a sort key.  The merge checks that each shard's rows come in the
 *     spec's order and fails (XX000) rather than return a mis-merged
 *     result when they do not.
 *   - limit/offset: applied after the merge.  Each shard's statement
 *     carries LIMIT limit + offset (and no OFFSET), since the rows the
 *     merge keeps can all come from one shard.
 *
 * Aggregates (aggs: one entry per result column):
 *   - GROUP marks a GROUP BY key column; COUNT, SUM, MIN and MAX mark
 *     columns that are count(...), sum(...), min(...), max(...) on each
 *     shard.  Rows of all shards with equal group keys (NULL keys equal
 *     to each other, as GROUP BY has it) become one row: COUNT adds up
 *     (bigint), SUM adds up (smallint, integer, bigint, real, double,
 *     numeric; numeric exactly; an integer sum that leaves its type is
 *     an error 22003, never wrapped), MIN and MAX keep the least and
 *     greatest.  SUM, MIN and MAX skip NULLs and are NULL when every
 *     shard's value is.  Without GROUP columns each shard returns one
 *     row and they combine into one.  MIN and MAX compare as the sort
 *     keys do, so over text the shard statement says
 *     min(name COLLATE "C"), and text group keys are equal when their
 *     bytes are.
 *   - With aggregates each shard returns all its groups: the shard
 *     statement has no LIMIT and no OFFSET, since groups of different
 *     shards can combine and a group cut from one shard's answer would
 *     leave a wrong total.  Combined rows are then sorted by order (if
 *     any; ORDER BY in the shard statement is not needed), and
 *     limit/offset applied.  Without order, combined rows come sorted
 *     by their group keys.
 *   - Aggregates that cannot be combined from per-shard results (AVG
 *     without its sum and count, COUNT(DISTINCT ...), DISTINCT across
 *     shards, percentiles...) have no entry here: the generator refuses
 *     them.
 *
 * Static initialization, e.g. "ORDER BY score DESC LIMIT 10":
 *
 *     static const dbont_fanout_key top_order[] = {{1, true, true}};
 *     static const dbont_fanout_spec top_spec = {top_order, 1, 10, 0, NULL, 0};
 *
 * and "SELECT g, count(*), sum(x) ... GROUP BY g":
 *
 *     static const dbont_fanout_agg by_g_aggs[] = {
 *         DBONT_FANOUT_GROUP, DBONT_FANOUT_COUNT, DBONT_FANOUT_SUM};
 *     static const dbont_fanout_spec by_g_spec = {
 *         NULL, 0, DBONT_FANOUT_NO_LIMIT, 0, by_g_aggs, 3};
 *
 * ---- Failures --------------------------------------------------------------
 *
 * A shard that fails (connection lost, an SQL error) makes the call fail
 * with an error naming it and keeping its SQLSTATE and message:
 * "shard 2: 08006 server closed the connection unexpectedly ..." (SQLSTATE
 * 08006); when several fail, the lowest-numbered one is named and the
 * others counted.  A connection found broken counts as lost (08006),
 * whatever the server said while closing it.  The call returns only after
 * every other shard's answer has been read, so their connections are
 * idle and usable; a lost connection stays broken for its owner (a pool)
 * to reopen.  There is no silently partial result: with
 * DBONT_FANOUT_PARTIAL, the rows of the shards that answered are merged
 * and the call succeeds, but only with a report, which lists the failed
 * shards and their errors (at least one shard must answer).
 *
 * The wait has no timeout of its own: a shard that never answers holds
 * the call.  Bound it with the server's statement_timeout and libpq's
 * connect_timeout and keepalives settings in the DSN.
 *
 * A statement unknown to a connection is prepared on it first (once per
 * connection, as dbont_stmt_exec does, and also without waiting for the
 * other shards); one that the server forgot (26000) or whose result type
 * a migration changed (0A000) is prepared again and the shard retried
 * once.
 *
 * Like a dbont_conn, a fan-out uses its connections from one thread; the
 * connections must be distinct, not in pipeline mode and not busy.
 */
#ifndef DBONT_FANOUT_H
#define DBONT_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbont/conn.h"
#include "dbont/error.h"
#include "dbont/query.h"
#include "dbont/result.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a result column is combined across shards. */
typedef enum dbont_fanout_agg {
    DBONT_FANOUT_GROUP = 0, /* a group key: equal keys combine */
    DBONT_FANOUT_COUNT,     /* count(...): bigint, added */
    DBONT_FANOUT_SUM,       /* sum(...): added in the column's type */
    DBONT_FANOUT_MIN,       /* min(...): the least */
    DBONT_FANOUT_MAX        /* max(...): the greatest */
} dbont_fanout_agg;

/* One sort key of the merged rows. */
typedef struct dbont_fanout_key {
    size_t column;      /* index of the result column */
    bool descending;
    bool nulls_first;   /* NULLs before the values (whatever the direction) */
} dbont_fanout_key;

#define DBONT_FANOUT_NO_LIMIT (-1)

typedef struct dbont_fanout_spec {
    const dbont_fanout_key *order;  /* norder keys; NULL when none */
    size_t norder;
    int64_t limit;                  /* rows kept; DBONT_FANOUT_NO_LIMIT for all */
    int64_t offset;                 /* rows skipped before them (0 for none) */
    const dbont_fanout_agg *aggs;   /* NULL: no aggregation; else naggs entries */
    size_t naggs;                   /* the query's ncolumns when aggs is set */
} dbont_fanout_spec;

/* Flags of dbont_fanout_run. */
#define DBONT_FANOUT_PARTIAL 1u     /* merge the shards that answered */

/* What happened on one shard. */
typedef struct dbont_fanout_shard {
    dbont_status status;    /* DBONT_OK: it answered; DBONT_ERROR: it failed */
    dbont_error error;      /* why it failed: its own SQLSTATE and message */
    size_t rows;            /* rows it returned, before merging */
} dbont_fanout_shard;

/*
 * The caller points shards at an array of nshards (at least the call's
 * nshards) entries; the call fills them and nfailed.  Nothing in it
 * needs freeing.
 */
typedef struct dbont_fanout_report {
    dbont_fanout_shard *shards;
    size_t nshards;         /* entries in shards */
    size_t nfailed;         /* shards whose status is DBONT_ERROR */
} dbont_fanout_report;

/*
 * Runs q with the parameter struct params (NULL when q takes none) on
 * conns[0 .. nshards-1], shard i on conns[i], and merges the rows as spec
 * says (NULL: shard order, no limit).  flags: 0 or DBONT_FANOUT_PARTIAL.
 * When out is not NULL, stores the merged rows in *out (the caller frees
 * them; NULL for a query without result columns, and on error); with out
 * NULL the shards' rows are dropped unmerged.  report may be NULL, except
 * with DBONT_FANOUT_PARTIAL; it is filled whenever the query was sent,
 * also when the call fails, and left alone on an argument error.
 *
 * Errors: a failed shard as above; 22023 for a bad argument or a spec
 * that does not fit q (checked before anything is sent); the merge's
 * own (22003 a sum out of range, 42804 a shard's result not of the
 * query's types, XX000 a shard's rows out of the spec's order, 53200).
 */
dbont_status dbont_fanout_run(dbont_conn *const *conns, size_t nshards, const dbont_query *q,
                              const void *params, const dbont_fanout_spec *spec, unsigned flags,
                              dbont_result **out, dbont_fanout_report *report, dbont_error *err);

#ifdef __cplusplus
}
#endif

#endif
