/*
 * standby_check.h: whether a streaming-replication standby may serve
 * reads that accept staleness (dbont/shardset.h, "Reads that accept
 * staleness").  Internal to libdbont.
 */
#ifndef DBONT_STANDBY_CHECK_H
#define DBONT_STANDBY_CHECK_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Runs the health check on pg (one round trip; pg must be idle, outside
 * a transaction) and returns true when the server is a standby in
 * recovery, its WAL receiver is streaming and its replay lag is at most
 * max_lag_s.  reason (n bytes) gets why not, or the lag seen when usable:
 * "replay lag 3.2 s exceeds 1 s", "WAL receiver is 'waiting', not
 * 'streaming'", ...
 */
bool dbont_standby_check(PGconn *pg, double max_lag_s, char *reason, size_t n);

#endif
