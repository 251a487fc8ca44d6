/*
 * partition.h: range partitions (shard:Strategy with shard:algorithm
 * "range-based"): the SQL that makes and keeps them.
 *
 * A range-partitioned table is created PARTITION BY RANGE (key) with a
 * default partition <table>_default.  Its partitions, <table>_YYYY_MM
 * (monthly), <table>_YYYY_MM_DD (daily) or <table>_YYYY (yearly), are not
 * written into the migrations: which ones exist depends on the day.  They
 * are made by the SQL function dbont_maintain_partitions(at timestamptz
 * DEFAULT now()), which a migration installs with the first partitioned
 * table, together with the table dbont_partitioned that lists each
 * partitioned table and its settings (key, range size, hot window in days,
 * periods ahead).  For each listed table the function makes the partitions
 * from the one holding at - hot window through the one periods_ahead after
 * the current one, and reports what it made and how many rows sit in the
 * default partition.  Rows of a new partition's range that sit in the
 * default partition move into it (PostgreSQL would otherwise refuse to
 * make it).  Bounds are computed in UTC: a month starts at
 * YYYY-MM-01 00:00:00+00 whatever the server's or the session's time zone
 * (for a timestamp column, at that wall-clock time).
 *
 * The migration that creates a partitioned table calls the function once;
 * later, dbont-migrate's `partitions` verb or the runtime's
 * dbont_partitions_maintain do (from a scheduled job, say daily).
 *
 * Ownership: every char * returned is the caller's to free.
 */
#ifndef DBONT_GEN_PARTITION_H
#define DBONT_GEN_PARTITION_H

#include "schema.h"

/* CREATE TABLE IF NOT EXISTS dbont_partitioned (...). */
char *partition_registry_sql(void);

/* CREATE OR REPLACE FUNCTION dbont_maintain_partitions(...). */
char *partition_function_sql(void);

/* The statements that drop the two when no partitioned table is left. */
char *partition_function_drop_sql(void);
char *partition_registry_drop_sql(void);

/* "CREATE TABLE t_default PARTITION OF t DEFAULT". */
char *partition_default_sql(const stable *t);

/* INSERT ... ON CONFLICT DO UPDATE of t's settings into dbont_partitioned. */
char *partition_register_sql(const stable *t);

/* DELETE of t (by name) from dbont_partitioned. */
char *partition_unregister_sql(const char *table_name);

/* "SELECT count(*) FROM dbont_maintain_partitions()": makes the partitions
 * of every listed table now. */
char *partition_maintain_sql(void);

#endif
