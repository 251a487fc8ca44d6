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
 * old one: every row is on one of the two until the move has finished.
 * An insert goes to the new shard.
 *
 * Errors name the shard ("shard 2: ...") and keep the SQLSTATE of the
 * operation or of the connection.
 */
#ifndef DBONT_SHARDED_H
#define DBONT_SHARDED_H

#include <stddef.h>
#include <stdint.h>

#include "dbont/error.h"
#include "dbont/result.h"
#include "dbont/shardset.h"
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

#ifdef __cplusplus
}
#endif

#endif
