/*
 * migindex.h: the indexes that migration steps build, internal to libdbont.
 *
 * An index built CONCURRENTLY cannot be built in a transaction, so a
 * build that fails or is interrupted is not rolled back: it leaves its
 * index behind, INVALID, under the name the next run will try.  This file
 * deals with those indexes, in three places (the contract is in
 * dbont/migrate.h, "Steps"):
 *   - before a "no-transaction index NAME" step, an INVALID index NAME
 *     is dropped, so that the step's CREATE INDEX CONCURRENTLY IF NOT
 *     EXISTS builds it again (a repair);
 *   - a "no-transaction partition-indexes NAME" step is run here: each
 *     partition without an index attached to NAME gets one, built
 *     concurrently (an INVALID leftover is repaired first) and attached;
 *     then NAME must be valid;
 *   - verify lists the INVALID indexes of current_schema(), each with
 *     the step of a pending file that will rebuild it.
 * migrate.c decides when each of these runs: nothing here takes the
 * migration lock, opens a transaction or records progress.
 *
 * Ownership: repairs are appended to report->repairs and invalid indexes
 * to report->invalid_indexes; their strings are malloc'd and belong to
 * the report (dbont_migrate_report_free frees them), also when a call
 * fails half-way.  Nothing else here allocates past the call, and a
 * dbont_migindex_step only borrows what it points to, for the call.
 */
#ifndef DBONT_MIGINDEX_H
#define DBONT_MIGINDEX_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "dbont/migrate.h"

/* One no-transaction step that builds an index, as the runner runs it. */
typedef struct dbont_migindex_step {
    PGconn *pg;
    /* The file being run (an up file or a down file): its path, for
     * repairs and "out of memory", and its version, for repairs. */
    const char *path;
    int32_t version;
    /* The step, with its index_name or partition_index, and where
     * messages put it: "FILE:LINE" of its statement. */
    const dbont_migration_step *step;
    const char *where;
    /* Whether down runs the file: a failed build's note says which of
     * up and down will rebuild the index. */
    bool down;
    /* Where repairs go, and options->on_repair (when not NULL), called
     * with options->user for each, before the index is dropped. */
    dbont_migrate_report *report;
    const dbont_migrate_options *options;
} dbont_migindex_step;

/*
 * Before a step with an index_name: if current_schema() has an ordinary
 * index of that name that is INVALID, adds a repair and drops the index
 * concurrently.  The connection must be idle (no transaction).  Fills err
 * ("WHERE: error: ...") and returns DBONT_ERROR when a query fails or
 * memory runs out.
 */
dbont_status dbont_migindex_repair(const dbont_migindex_step *s, dbont_error *err);

/*
 * After a failed build of index_name: whether it left an ordinary index
 * of that name INVALID in current_schema().  Best effort, for a message
 * only: false when the connection is not idle or the query fails.
 */
bool dbont_migindex_left_invalid(PGconn *pg, const char *index_name);

/*
 * Runs a step with a partition_index: finds that partitioned index in
 * current_schema(), builds and attaches the index of each direct
 * partition of its table that has none attached (by partition name; each
 * statement alone, autocommit), then checks that the partitioned index is
 * valid.  Partitions already done are skipped, so the step can run again.
 * On failure fills err with the SQLSTATE and message dbont/migrate.h
 * documents, at WHERE, and returns DBONT_ERROR; what was attached stays
 * attached.
 */
dbont_status dbont_migindex_partitions(const dbont_migindex_step *s, dbont_error *err);

/*
 * For verify: fills report->invalid_indexes (and invalid_index_count)
 * with the INVALID indexes of current_schema(), by name, each with the
 * step of a pending or partly applied up file of report that will rebuild
 * it.  report must hold the folder merged with the history (as
 * dbont_migrate_status leaves it) and no invalid indexes yet.  Fills err
 * ("DIR: error: ...") and returns DBONT_ERROR when the query fails or
 * memory runs out.
 */
dbont_status dbont_migindex_list_invalid(PGconn *pg, const char *dir,
                                         dbont_migrate_report *report, dbont_error *err);

#endif
