/*
 * standby_check.c: the health check of a standby (standby_check.h).
 *
 * One statement gives everything, so that the check costs one round trip
 * and its parts describe the same moment:
 *   - pg_is_in_recovery(): false on a primary, and on a standby that was
 *     promoted (it no longer follows the shard's primary: whatever it
 *     serves may be a fork of the shard's history);
 *   - the WAL receiver: pg_stat_wal_receiver has one row while a
 *     receiver process runs, with status 'streaming' when it is
 *     connected to the primary and receiving.  PostgreSQL shows the
 *     status (and every column but pid) only to superusers and members of
 *     pg_read_all_stats, so a row whose pid is visible but whose status
 *     is NULL means "not allowed to know", which is reported as such
 *     rather than as "not streaming";
 *   - the lag: 0 when everything received has been replayed (replay >=
 *     receive: after a restart the standby may have replayed WAL from its
 *     own pg_wal beyond what this receiver session received), else the
 *     age of the last replayed commit, now() - pg_last_xact_replay_timestamp(),
 *     which is NULL (unknown, so refused) before the first replayed commit.
 * What that lag can and cannot see is in dbont/shardset.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "standby_check.h"

#define CHECK_SQL                                                                   \
    "SELECT pg_is_in_recovery(), r.pid IS NOT NULL, r.status, "                    \
    "CASE WHEN pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() THEN 0 "       \
    "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END "         \
    "FROM (SELECT) AS one LEFT JOIN pg_stat_wal_receiver AS r ON true"

/* The text of a value, NULL for SQL NULL. */
static const char *value(const PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col);
}

static bool is_true(const char *v)
{
    return v != NULL && strcmp(v, "t") == 0;
}

/* Copies libpq's message without its trailing newline. */
static void failed(PGconn *pg, char *reason, size_t n)
{
    const char *msg = PQerrorMessage(pg);
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        len--;
    snprintf(reason, n, "the health check failed: %.*s", (int)len, msg);
}

/* The verdict on the row of CHECK_SQL. */
static bool judge(const PGresult *res, double max_lag_s, char *reason, size_t n)
{
    const char *status = value(res, 2), *lag_text = value(res, 3);
    double lag;

    if (!is_true(value(res, 0))) {
        snprintf(reason, n, "not in recovery (a primary, or a promoted standby)");
        return false;
    }
    if (!is_true(value(res, 1))) {
        snprintf(reason, n, "no WAL receiver is running (not replicating)");
        return false;
    }
    if (status == NULL) {
        snprintf(reason, n, "cannot read pg_stat_wal_receiver.status "
                            "(the role needs pg_read_all_stats)");
        return false;
    }
    if (strcmp(status, "streaming") != 0) {
        snprintf(reason, n, "WAL receiver is '%s', not 'streaming'", status);
        return false;
    }
    if (lag_text == NULL) {
        snprintf(reason, n, "replay lag unknown (WAL received, no commit replayed yet)");
        return false;
    }
    lag = strtod(lag_text, NULL);
    /* Written so that a NaN or a negative max is never passed. */
    if (!(lag <= max_lag_s)) {
        snprintf(reason, n, "replay lag %.1f s exceeds %g s", lag, max_lag_s);
        return false;
    }
    snprintf(reason, n, "usable (replay lag %.3f s)", lag);
    return true;
}

bool dbont_standby_check(PGconn *pg, double max_lag_s, char *reason, size_t n)
{
    PGresult *res = PQexec(pg, CHECK_SQL);
    bool ok;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
        PQnfields(res) != 4) {
        failed(pg, reason, n);
        PQclear(res);
        return false;
    }
    ok = judge(res, max_lag_s, reason, n);
    PQclear(res);
    return ok;
}
