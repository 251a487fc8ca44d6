/*
 * dbont/reshard.h: moving rows when a shard set grows from N shards to M
 * (dbont-shard plan and move; the set's configuration says "shards M" and
 * "moving-from N", dbont/shardset.h).
 *
 * Where a row lives is jump(hash(key), count) (dbont/shard.h).  Growing
 * from N to M moves a key only when jump(hash, M) differs from
 * jump(hash, N), and then always from an old shard (0 .. N-1) to a new
 * one (N .. M-1): about 1 - N/M of the keys (1/5 from 4 to 5).
 *
 * ---- Plan -----------------------------------------------------------------
 *
 * dbont_reshard_make_plan reads every key of each table on each old shard
 * (SELECT key FROM t, binary, through a cursor: memory stays bounded
 * whatever the table's size) and counts, per (old shard, new shard), the
 * rows that would move.  A row whose key does not route to the shard it
 * is on, with the old count, is counted as misplaced and is never moved
 * (something other than dbont put it there; find out what before moving
 * anything).  Rows already on the new shards are counted too (a move that
 * was stopped half-way).  Nothing is written.
 *
 * ---- Move -------------------------------------------------------------------
 *
 * dbont_reshard_move moves, old shard by old shard, the rows whose key
 * routes elsewhere with the new count, in batches of keys (batch_keys,
 * default 1000).  The keys of a table are read with SELECT DISTINCT key
 * ... ORDER BY key through a cursor (in key order, so that a run meets
 * them in the same order as the run before it, and finishes first the
 * batch a stopped run left in flight); a batch is the keys of one (old
 * shard, new shard) pair, and moves the rows of every table given (a
 * parent's rows and its children's, which share the key) as one unit:
 *
 *   1. check: when the new shard already holds rows with keys of the
 *      batch (an earlier run copied them and was stopped before deleting
 *      the originals), they must equal the old shard's, key by key;
 *      otherwise the move stops, changing nothing (one of the two copies
 *      was written since: reconcile them by hand first);
 *   2. copy, in one transaction on the new shard: DELETE the rows with
 *      those keys (that earlier copy, identical), children first, then
 *      for each table, parents first, COPY (SELECT cols FROM t WHERE
 *      key = ANY(keys)) TO STDOUT (FORMAT binary) on the old shard (one
 *      REPEATABLE READ snapshot for all the tables), streamed into COPY t
 *      (cols) FROM STDIN (FORMAT binary); commit;
 *   3. verify, then delete, in one transaction on the old shard: lock the
 *      batch's rows (SELECT ... FOR UPDATE, so that nothing changes them
 *      between the comparison and the delete), and compare each side,
 *      table by table (count, and md5 of the rows' text sorted bytewise,
 *      computed by each server with the same output settings), with the
 *      copy as step 2 made it (its checksum is taken in the copy's own
 *      transaction):
 *        - neither side changed: DELETE the originals, children first;
 *          commit;
 *        - only the copy changed: a write went to the new shard after the
 *          copy, as writes during a move do (dbont/shardset.h); the copy
 *          is the row now, and the originals are deleted all the same;
 *        - only the originals changed: a write reached the old shard
 *          after the copy; the stale copy is removed (if it is still as
 *          copied) and the batch is copied again (at most 3 times).  Until
 *          the stale copy is removed (milliseconds), a read by key, which
 *          looks at the new shard first, sees the row as it was before
 *          that write;
 *        - both changed: the move stops (XX001) naming the table, the
 *          shards and the batch, each side keeping its rows (the next run
 *          refuses to replace the copy until the two agree, step 1).
 *
 * Killed at any point, a move leaves each key's rows on its old shard, or
 * on its new one, or (killed between 2 and 3) on both, identical; run it
 * again and it converges: the keys still on an old shard are moved, the
 * others are not there to be seen.  No row is lost or duplicated.
 *
 * The tables of one call are one co-located group: their keys share
 * one set of values (a child's key is its parent's), so each batch's
 * keys apply to all of them, and they share a key type.  Tables that are
 * not joined go in calls of their own (dbont_reshard_schema_select, with
 * related, gives a table's group).
 * Tables with foreign keys between them are sharded alike (dbont-gen
 * makes sure of it) and must be moved together, parents first in the
 * array: copies go parents first (the new shard checks each reference
 * against the rows already copied), deletes children first (the old
 * shard's references, and ON DELETE CASCADE, find no child left).  The
 * move checks this on each shard's catalog before anything is written: a
 * table that refers to one given, or is referred to by one, and is not
 * itself given, or a child before its parent, is refused (22023).
 *
 * What the move needs:
 *   - every shard has the same tables (the same migrations applied): the
 *     columns (names and types) of each table are compared on every
 *     shard first, and the columns copied are those, by name; generated
 *     columns are left to the new shard to compute;
 *   - all shards run the same PostgreSQL major version (binary COPY and
 *     the rows' text must mean the same on both sides);
 *   - a role that sees every row: a superuser or a role with BYPASSRLS
 *     (a table's owner is subject to FORCE ROW LEVEL SECURITY).  The
 *     move's transactions run with row_security = off, so a policy that
 *     would hide rows makes it fail (42501) instead of missing them;
 *   - writes during the move go by the rules of dbont/shardset.h
 *     ("Resharding: moving-from"): by key, to where the row is (new
 *     shard, old, new again), new keys to the new shard.  Step 3 then
 *     keeps every write: one that reaches the old shard before the copy
 *     is copied, one that reaches the new shard after it is kept, one
 *     that reaches the old shard in between makes the batch be copied
 *     again, and one that waits for step 3's lock finds the row gone and
 *     must look on the new shard (the third look).  What the move cannot
 *     reconcile, and stops on with XX001 (deleting nothing): writes to
 *     both copies of a batch, and, at a rerun, a copy that differs from
 *     its original (a run killed between steps 2 and 3 and a write
 *     before the rerun: which side is newer is not recorded).  Rows the
 *     move has not copied yet cannot get children on the new shard
 *     (23503 there), and a second row for a key that still has rows on
 *     the old shard (a key that is not unique) is refused at its batch
 *     by step 1. *
 * Connections come from the set's pools (primaries only): two of the old
 * shard being moved (the key cursor, and the work) and one of each new
 * shard, so the set's pool.max_size must be at least 2.  Settings are
 * transaction-local (SET LOCAL): nothing stays on a pooled connection.
 *
 * Errors name the shard and the server ("shard 1 (primary
 * 127.0.0.1:5433): table orders: ...") and, once batches run, the batch
 * ("batch 3 (1000 keys from shard 1 to shard 4, the first 8812)"), and
 * keep the server's SQLSTATE; 22023 for what the move refuses before
 * writing anything (no moving-from, columns that differ, foreign keys, a
 * key type), XX001 for rows that differ between two shards, 53200 out of
 * memory.
 *
 * Nothing here prints; the callbacks report progress.
 */
#ifndef DBONT_RESHARD_H
#define DBONT_RESHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbont/error.h"
#include "dbont/shardset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The type of a shard key, as dbont/shard.h hashes it. */
typedef enum dbont_reshard_key_type {
    DBONT_RESHARD_KEY_INT = 0,   /* smallint, integer, bigint */
    DBONT_RESHARD_KEY_TEXT = 1,  /* text, varchar */
    DBONT_RESHARD_KEY_UUID = 2   /* uuid */
} dbont_reshard_key_type;

/* A sharded table.  Names are SQL names, unquoted (quoted when used). */
typedef struct dbont_reshard_table {
    const char *name;
    const char *key;   /* its shard key column */
    dbont_reshard_key_type key_type;
} dbont_reshard_table;

/* "integer", "text" or "uuid" (for messages). */
const char *dbont_reshard_key_type_name(dbont_reshard_key_type t);

/* ---- plan ----------------------------------------------------------------- */

/* Rows that would go from an old shard to a new one. */
typedef struct dbont_reshard_flow {
    int from, to;
    int64_t rows;
} dbont_reshard_flow;

typedef struct dbont_reshard_table_plan {
    char *name;
    int64_t rows;        /* on the old shards, misplaced ones included */
    int64_t moving;      /* of those, rows that would move */
    int64_t misplaced;   /* rows on an old shard their key does not route to
                            with the old count: left alone */
    int64_t on_new;      /* rows on the new shards already */
    dbont_reshard_flow *flows;   /* every (from, to) with rows, by from then to */
    size_t nflows;
    int64_t *misplaced_on;       /* misplaced rows per old shard (from_count) */
} dbont_reshard_table_plan;

typedef struct dbont_reshard_plan {
    int from_count, to_count;           /* N (moving-from) and M (shards) */
    dbont_reshard_table_plan *tables;   /* in the order given */
    size_t ntables;
    int64_t rows, moving, misplaced, on_new;   /* sums over the tables */
} dbont_reshard_plan;

/* One key that would move: its table, its text form (a NUL-terminated
 * copy valid during the call), its routing hash (dbont/shard.h), and its
 * old and new shard.  Called once per row: a key with several rows (a
 * child table's) is named once per row. */
typedef void (*dbont_reshard_key_fn)(const char *table, const char *key, uint64_t hash, int from, int to,
                                     void *user);

/*
 * Counts what a move from dbont_shardset_moving_from(s) shards to
 * dbont_shardset_count(s) would do to tables[0..n), and, when each_moving
 * is not NULL, names every key that would move to it.  out is filled on
 * success (dbont_reshard_plan_free it), and empty on failure.
 */
dbont_status dbont_reshard_make_plan(dbont_shardset *s, const dbont_reshard_table *tables,
                                     size_t n, dbont_reshard_key_fn each_moving, void *user,
                                     dbont_reshard_plan *out, dbont_error *err);

/* Frees what a plan holds and empties it.  NULL is allowed. */
void dbont_reshard_plan_free(dbont_reshard_plan *p);

/* ---- move ------------------------------------------------------------------ */

typedef enum dbont_reshard_phase {
    /* The batch is committed on its new shard (step 2); the originals
     * are still on the old one. */
    DBONT_RESHARD_COPIED = 0,
    /* Verified and deleted from the old shard (step 3): moved. */
    DBONT_RESHARD_MOVED = 1
} dbont_reshard_phase;

typedef struct dbont_reshard_batch {
    dbont_reshard_phase phase;
    uint64_t number;       /* from 1, in this call */
    int from, to;
    size_t keys;
    const int64_t *rows;   /* rows of each table (in the order given) */
    size_t ntables;
    double ms;             /* since the batch began */
} dbont_reshard_batch;

typedef struct dbont_reshard_move_options {
    /* Keys per batch (a batch's rows are in one transaction on each side:
     * larger batches are faster and hold more locks longer); 0: 1000. */
    size_t batch_keys;
    /* Called at each phase of each batch (NULL: not called; COPIED again
     * when a batch is copied again, step 3).  Return true to go on; false
     * stops the move there (DBONT_OK, report->stopped): after COPIED, the
     * batch stays on both shards, as if killed, and the next move
     * finishes it. */
    bool (*on_batch)(const dbont_reshard_batch *b, void *user);
    void *user;
} dbont_reshard_move_options;

#define DBONT_RESHARD_MOVE_OPTIONS_INIT {1000, NULL, NULL}

typedef struct dbont_reshard_move_report {
    uint64_t batches;      /* batches moved (phase MOVED) */
    int64_t keys;          /* keys moved */
    int64_t *rows;         /* rows moved per table (ntables of them) */
    size_t ntables;
    int64_t misplaced;     /* keys on an old shard they do not route to with
                              the old count: left alone */
    bool stopped;          /* on_batch returned false */
} dbont_reshard_move_report;

/*
 * Moves the rows of tables[0..n) (one co-located group, parents first;
 * 22023 when their key types differ) that the growth from
 * dbont_shardset_moving_from(s) shards to dbont_shardset_count(s) sends
 * elsewhere (above).  o may be NULL for the defaults.  report is filled
 * as far as the move went, also on failure (free it with
 * dbont_reshard_move_report_free).
 */
dbont_status dbont_reshard_move(dbont_shardset *s, const dbont_reshard_table *tables, size_t n,
                                const dbont_reshard_move_options *o,
                                dbont_reshard_move_report *report, dbont_error *err);

/* Frees what a report holds and empties it.  NULL is allowed. */
void dbont_reshard_move_report_free(dbont_reshard_move_report *r);

/* ---- the sharded tables of a schema snapshot --------------------------------- */

/*
 * dbont-gen's schema snapshot (migrations/schema.snapshot) records, per
 * table, its columns and foreign keys and, for a sharded one,
 * "shard-by hash KEY COUNT".  This reader takes from it only the lines
 * resharding needs:
 *
 *     table NAME
 *       column NAME TYPE [not-null] [default ...]
 *       foreign-key NAME (COLS) references TABLE (COLS) ...
 *       shard-by hash KEY COUNT
 *
 * and skips every other line (dbont-gen's own parser checks the whole
 * file; this one stays small, so that dbont-shard needs no generator).
 * The key's type must be smallint, integer (int), bigint, text,
 * varchar(n) or uuid (serial and bigserial read as integers).
 */
typedef struct dbont_reshard_schema_table {
    dbont_reshard_table table;   /* its strings belong to the schema */
    long long shard_count;       /* COUNT */
    int line;                    /* the line of its shard-by */
    size_t *parents;             /* indexes in tables of the sharded tables
                                    it refers to (itself excepted) */
    size_t nparents;
} dbont_reshard_schema_table;

typedef struct dbont_reshard_schema {
    /* The sharded tables, each after the tables it refers to, and
     * otherwise in the snapshot's order (by name). */
    dbont_reshard_schema_table *tables;
    size_t ntables;
} dbont_reshard_schema;

/*
 * Reads a snapshot's text (name for messages: "name:line: ...") or file.
 * 22023 for a malformed line among those read, an unknown key column or
 * type, a reference cycle; 58030 when the file cannot be read.
 */
dbont_status dbont_reshard_schema_parse(const char *name, const char *text, size_t len,
                                        dbont_reshard_schema *out, dbont_error *err);
dbont_status dbont_reshard_schema_read(const char *path, dbont_reshard_schema *out,
                                       dbont_error *err);
void dbont_reshard_schema_free(dbont_reshard_schema *s);

/*
 * The tables to work on, in the schema's order, into a new array (*out,
 * free() it; its strings belong to s): every sharded table when only is
 * NULL; else only, with (when related) every table joined with it by
 * foreign keys, transitively (a move needs them together).  22023 when
 * only is not a sharded table of the schema.
 */
dbont_status dbont_reshard_schema_select(const dbont_reshard_schema *s, const char *only,
                                         bool related, dbont_reshard_table **out, size_t *n,
                                         dbont_error *err);

#ifdef __cplusplus
}
#endif

#endif
