/*
 * dbont/sharded.h: a table's rows over a shard set (docs/scale-out.md).
 *
 * A table with a consistent-hash shard:Strategy is spread over the shards
 * of a dbont_shardset by its shard key: a row lives on
 * dbont_jump_hash(dbont_shard_hash_*(key), count) (dbont/shard.h).  The
 * calls below take the key from the row they are given (or the key struct
 * of a get or a delete), pick the shard, borrow a connection to its
 * primary from the set and run the table's ordinary operation
 * (dbont/table.h, dbont/copy.h) there.  The generated <prefix>_<table>_*
 * _sharded functions are thin wrappers over them.
 *
 * A multi-tenant table is routed by its tenant column (dbont-gen makes the
 * routed functions only then): each call runs in a tenant session of the
 * row's tenant on its shard (dbont/tenant.h), one transaction per call,
 * committed when the call succeeds.
 *
 * During a move to more shards (dbont_shardset_moving_from), a get,
 * update or delete that finds no row on the key's new shard looks on its
 * old one, then on the new one again: every row is on one of the two
 * until the move has finished, and the third look finds a row whose
 * batch moved between the first two.  An insert goes to the new shard.
 *
 * Errors name the shard ("shard 2: ...") and keep the SQLSTATE of the
 * operation or of the connection.
 */
#ifndef DBONT_SHARDED_H
#define DBONT_SHARDED_H

#include <stddef.h>
#include <stdint.h>

#include "dbont/error.h"
#include "dbont/fanout.h"
#include "dbont/query.h"
#include "dbont/result.h"
#include "dbont/shardset.h"
#include "dbont/stmt.h"
#include "dbont/table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dbont_sharding {
    const dbont_table *table;
    size_t key;                 /* the shard key: an index into table->columns */
    int32_t shard_count;        /* shard:shardCount the code was generated for */
    const char *tenant_setting; /* when the key is the tenant column: the
                                 * setting of the tenant session; else NULL */
} dbont_sharding;

/*
 * Inserts new_row (the table's new-row struct) on its key's shard; as
 * dbont_table_insert otherwise.  A uuid key left unset (its _set flag
 * false: the column has a default) gets a random version 4 uuid here, as
 * gen_random_uuid() would have made it, since the shard must be known
 * before the row exists.  A shard set of another size than shard_count is
 * an error (22023): the rows would be looked for where they are not.
 */
dbont_status dbont_sharded_insert(dbont_shardset *set, const dbont_sharding *sh, const void *new_row,
                                  dbont_result **out, dbont_error *err);

/* The row whose primary key (and shard key) are those of key_row; as
 * dbont_table_get.  access DBONT_SHARD_READ_STALE_OK may read a standby. */
dbont_status dbont_sharded_get(dbont_shardset *set, const dbont_sharding *sh, dbont_shard_access access,
                               const void *key_row, dbont_result **out, dbont_error *err);

dbont_status dbont_sharded_update(dbont_shardset *set, const dbont_sharding *sh, const void *row,
                                  dbont_error *err);

dbont_status dbont_sharded_remove(dbont_shardset *set, const dbont_sharding *sh, const void *key_row,
                                  dbont_error *err);

/*
 * Inserts rows[0..n) (new-row structs), each on its key's shard: one bulk
 * insert per shard (per tenant for a multi-tenant table), each in a
 * transaction; they are all committed only when every one succeeded, and
 * all rolled back otherwise (*failed_row, when not NULL, is the index of
 * the row at fault, or n when no single row was).  The commits are made
 * one after the other: a server that fails between two of them leaves the
 * earlier ones committed, and the error says which.
 */
dbont_status dbont_sharded_copy(dbont_shardset *set, const dbont_sharding *sh, const void *rows, size_t n,
                                size_t *failed_row, dbont_error *err);

/* The shard, in a set of count shards, of the key in a row struct (or,
 * with is_new, a new-row struct); -1 when the key is NULL or count < 1. */
int32_t dbont_sharded_shard_of(const dbont_sharding *sh, const void *row, bool is_new, int32_t count);

/* ---- queries (db:Query) over sharded tables ------------------------------ */

/*
 * A query that runs on one shard: its condition pins the shard key of its
 * FROM table to a parameter ("org_id = ? AND ..."), or its FROM table is
 * multi-tenant and sharded by its tenant column, and the call names the
 * tenant (each call then runs in that tenant's session on its shard, one
 * transaction, as the routed table calls do).  dbont-gen writes one per
 * such query, next to its dbont_query.
 */
typedef struct dbont_sharded_query {
    const dbont_query *query;
    dbont_type key_type;        /* the key's type (an integer, text, varchar, uuid) */
    int32_t shard_count;        /* shard:shardCount the code was generated for */
    const char *tenant_setting; /* tenant-routed: the tenant session's setting; else NULL */
    /* "SELECT EXISTS (SELECT 1 FROM <from> WHERE <key> = $1)": whether a
     * shard holds rows of the key (during a move, below) */
    const dbont_stmt *probe;
} dbont_sharded_query;

/*
 * Runs sq->query with the parameter struct params on the shard of *key (a
 * value of sq->key_type laid out as in a row struct: an int32_t for an
 * integer key, a const char * for text, a dbont_uuid), and stores its rows
 * in *out (when out is not NULL; as dbont_query_run).  With a tenant
 * setting, key is the tenant, and the query runs in its session.  A NULL
 * text key matches no row (key = NULL is never true), so any shard
 * answers alike: shard 0 does; a NULL tenant is an error (22023).
 *
 * During a move to more shards (dbont_shardset_moving_from), for a key
 * whose old shard differs from its new one: the query runs on the old
 * shard, then the probe there, in the same session.  dbont-shard move
 * moves all the rows of a key at once (dbont/reshard.h): they are all on
 * the old shard, or all on both (identical, between the copy and the
 * delete), or all on the new one, in that order.  So when the probe,
 * which runs after the query, still finds rows of the key on the old
 * shard, they were all there when the query ran, and its answer is the
 * whole answer; otherwise they have all left, and the query runs on the
 * new shard, where they now are.  Exact (for a query whose rows all come
 * with rows of its FROM table, which the key pins), on the primaries, for
 * tables moved together, and while the move's rule holds that existing
 * rows are not written (dbont/shardset.h); two or three statements
 * instead of one, for the keys that move.
 *
 * Errors name the shard and keep the SQLSTATE; 22023 when the set's size
 * is not sq->shard_count.
 */
dbont_status dbont_sharded_query_run(dbont_shardset *set, const dbont_sharded_query *sq,
                                     dbont_shard_access access, const void *key, const void *params,
                                     dbont_result **out, dbont_error *err);

/*
 * Runs q on every shard of set at once and merges the rows as spec says
 * (dbont_fanout_run, dbont/fanout.h): acquires one connection per shard
 * (each as access says), runs, and gives them all back, also on errors.
 * shard_count is the shard:shardCount the code was generated for: a set
 * of another size is refused (22023).  flags, out and report as for
 * dbont_fanout_run; report->shards must have room for shard_count entries.
 *
 * A shard whose connection cannot be acquired fails the call naming it
 * (then nothing is sent, and report is left alone); with
 * DBONT_FANOUT_PARTIAL it is reported as failed (report->shards[i] has the
 * acquisition's error) and the other shards run, as when a shard fails
 * while the query runs.
 *
 * During a move to more shards, each shard answers from its own
 * snapshot: a row of the batch in flight may be seen twice or not at all
 * (dbont/shardset.h).  Exact answers over every shard need a quiet moment.
 */
dbont_status dbont_sharded_fanout(dbont_shardset *set, int32_t shard_count, dbont_shard_access access,
                                  const dbont_query *q, const void *params, const dbont_fanout_spec *spec,
                                  unsigned flags, dbont_result **out, dbont_fanout_report *report,
                                  dbont_error *err);

#ifdef __cplusplus
}
#endif

#endif
