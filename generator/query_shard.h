/*
 * query_shard.h: how a db:Query over consistent-hash sharded tables runs
 * over a shard set (docs/scale-out.md; the runtime's dbont/sharded.h and
 * dbont/fanout.h).
 *
 * A query whose tables are all unsharded is left alone: it runs where its
 * tables live, on shard 0.  Otherwise every table it reads must be
 * sharded alike (one shard count, each join equating the shard keys), so
 * that the rows it combines are on one shard; then it is
 *
 *   TENANT  when its FROM table is multi-tenant and sharded by its tenant
 *           column: it runs in the tenant's session on the tenant's shard,
 *           where every row that session can see lives;
 *   ROUTED  when its condition pins the FROM table's shard key to a
 *           parameter, "key = ?" as a term of the condition's top-level
 *           AND chain (anything less certain is not routed);
 *   FANOUT  otherwise: it runs on every shard and the rows are merged, so
 *           it must be mergeable (dbont/fanout.h): ORDER BY keys and GROUP
 *           BY items that are result columns, and no aggregate but
 *           count, sum, min and max standing alone.  What is not is
 *           refused, at the fragment to change.
 *   SKIPPED when a multi-tenant table in it is sharded by another column
 *           than its tenant (a tenant's rows are on every shard), or is
 *           joined to a FROM table that is not multi-tenant (a tenant
 *           session on one shard would see that table's rows of that
 *           shard only): no function over shards, and a warning.
 *
 * The checks need the result columns' types (text keys sort COLLATE "C",
 * jsonb cannot be sorted): run after the plans are typed.
 *
 * Ownership: qshards_free releases what qshards_build made; the entries
 * point into the model and the plans, which must outlive them.
 */
#ifndef DBONT_GEN_QUERY_SHARD_H
#define DBONT_GEN_QUERY_SHARD_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "model.h"
#include "query_plan.h"

typedef enum qshard_kind { QSHARD_NONE, QSHARD_SKIPPED, QSHARD_ROUTED, QSHARD_TENANT, QSHARD_FANOUT } qshard_kind;

/* How a result column combines across shards (dbont_fanout_agg). */
typedef enum qshard_agg { QSHARD_GROUP, QSHARD_COUNT, QSHARD_SUM, QSHARD_MIN, QSHARD_MAX } qshard_agg;

/* A sort key of the merged rows (dbont_fanout_key). */
typedef struct qshard_key {
    size_t column;
    bool descending;
    bool nulls_first;
} qshard_key;

typedef struct qshard {
    qshard_kind kind;
    const table *table;  /* the FROM table: its shard key, count and router */
    /* ROUTED, TENANT */
    size_t key_param;    /* ROUTED: the parameter the key equals */
    char *probe_sql;     /* does a shard hold rows of the key: for moves */
    /* FANOUT */
    char *sql;           /* the statement every shard runs */
    qshard_key *order;   /* the merge's order (norder keys) */
    size_t norder;
    qshard_agg *aggs;    /* with aggregates: one per result column; else NULL */
    long long limit;     /* rows kept after the merge; -1 for all */
} qshard;

/* One qshard per plan (*out, n of them).  Reports refusals as errors and
 * skipped queries as warnings at their places; false on any error. */
bool qshards_build(const model *m, const qplan *plans, size_t n, diag *d, qshard **out);
void qshards_free(qshard *s, size_t n);

#endif
