/*
 * dbont/partitions.h: keeping range partitions ahead of time.
 *
 * A table partitioned by range (shard:algorithm "range-based", see
 * docs/partitions.md) gets its partitions from the SQL function
 * dbont_maintain_partitions(), which its migration installs.  This is the
 * C call for it: it makes every missing partition from the start of each
 * table's hot window to its periods ahead (bounds in UTC), moves rows that
 * waited in a default partition into the new partition of their range,
 * and reports, per table, what it made and how many rows are left in the
 * default partition.  Run it regularly (say daily), as the tables' owner:
 * the application role has no privileges on partitions.
 *
 * Ownership: a dbont_partition_report is a caller-owned value whose
 * contents dbont_partitions_maintain allocates; release them with
 * dbont_partition_report_free, also after a failed call.
 */
#ifndef DBONT_PARTITIONS_H
#define DBONT_PARTITIONS_H

#include <stddef.h>

#include "dbont/conn.h"
#include "dbont/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dbont_partition_table {
    char *table_name;
    char **created;    /* the partitions this call made, in range order */
    size_t ncreated;
    long long moved_rows;   /* rows moved out of the default partition */
    long long default_rows; /* rows left in the default partition */
} dbont_partition_table;

typedef struct dbont_partition_report {
    dbont_partition_table *tables; /* by table name */
    size_t count;
} dbont_partition_report;

/*
 * Runs dbont_maintain_partitions(at) in its own transaction (or in the
 * caller's, when conn is inside one).  at is a timestamptz literal
 * ("2027-01-15 00:00:00+00") standing for "now", or NULL for the server's
 * now(); a later time makes the partitions that time would need.  Fails
 * with 42883 and a message saying so when the database has no partitioned
 * table (the function is missing), and with the server's error otherwise.
 * report is overwritten, not freed.
 */
dbont_status dbont_partitions_maintain(dbont_conn *conn, const char *at, dbont_partition_report *report,
                                       dbont_error *err);

/* Frees what dbont_partitions_maintain put in report and empties it. */
void dbont_partition_report_free(dbont_partition_report *report);

#ifdef __cplusplus
}
#endif

#endif
