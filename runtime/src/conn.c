/*
 * conn.c: opening and closing connections, and running plain SQL; the
 * tenant of a tenant session and the events held until commit
 * (dbont/cache.h).
 */
#define _POSIX_C_SOURCE 200809L /* strdup */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "error_internal.h"

/*
 * Connects with client_encoding UTF8 unless the connection string says
 * otherwise: dbont hands out text as UTF-8 (dbont/table.h), whatever the
 * database's own encoding is.  With expand_dbname, settings in the dsn
 * override the keywords listed before "dbname".
 */
static PGconn *open_pg(const char *dsn)
{
    const char *const keys[] = {"client_encoding", "dbname", NULL};
    const char *const values[] = {"UTF8", dsn, NULL};
    return PQconnectdbParams(keys, values, 1);
}

dbont_conn *dbont_connect(const char *dsn, dbont_error *err)
{
    dbont_conn *conn;
    PGconn *pg;

    if (dsn == NULL)
        dsn = getenv("DATABASE_URL");
    if (dsn == NULL)
        dsn = "";   /* libpq's defaults: PGHOST, PGPORT, ... */

    pg = open_pg(dsn);
    if (pg == NULL) {
        dbont_error_set(err, "53200", "out of memory while connecting");
        return NULL;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        dbont_error_set_trimmed(err, "08001", PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        PQfinish(pg);
        dbont_error_set(err, "53200", "out of memory while connecting");
        return NULL;
    }
    conn->pg = pg;
    dbont_registry_init(&conn->prepared);
    conn->registry_stale = false;
    return conn;
}

void dbont_close(dbont_conn *conn)
{
    if (conn == NULL)
        return;
    dbont_conn_events_drop(conn);
    free(conn->pending);
    free(conn->tenant);
    PQfinish(conn->pg);
    dbont_registry_free(&conn->prepared);
    free(conn);
}

dbont_status dbont_conn_reset(dbont_conn *conn, dbont_error *err)
{
    PQreset(conn->pg);
    /* Whether or not the new session came up, the old one's statements
     * are gone. */
    dbont_registry_clear(&conn->prepared);
    conn->registry_stale = false;
    if (PQstatus(conn->pg) != CONNECTION_OK)
        return dbont_error_set_trimmed(err, "08001", PQerrorMessage(conn->pg));
    return DBONT_OK;
}

PGconn *dbont_conn_pg(dbont_conn *conn)
{
    return conn != NULL ? conn->pg : NULL;
}

static bool result_ok(const PGresult *res)
{
    switch (PQresultStatus(res)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
        return true;
    default:
        return false;
    }
}

/*
 * A COPY started by dbont_exec would leave the connection waiting for
 * data; end it so that the connection stays usable.  COPY FROM STDIN is
 * failed on purpose, COPY TO STDOUT is read to the end and dropped.
 */
static void end_copy(PGconn *pg, ExecStatusType status)
{
    if (status == PGRES_COPY_IN || status == PGRES_COPY_BOTH) {
        PQputCopyEnd(pg, "dbont_exec does not send COPY data");
    } else if (status == PGRES_COPY_OUT) {
        char *buf;
        while (PQgetCopyData(pg, &buf, 0) > 0)
            PQfreemem(buf);
    }
}

/*
 * Sends the whole string once and reads every result.  The server stops at
 * the first failing statement; that result is the one reported.
 */
dbont_status dbont_exec(dbont_conn *conn, const char *sql, dbont_error *err)
{
    PGresult *res, *failed = NULL;
    dbont_status status = DBONT_OK;

    if (conn == NULL || sql == NULL)
        return dbont_error_set(err, "22023", "dbont_exec: conn and sql must not be NULL");
    if (!PQsendQuery(conn->pg, sql))
        return dbont_error_from_result(err, conn->pg, NULL);

    while ((res = PQgetResult(conn->pg)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            end_copy(conn->pg, st);
            if (failed == NULL && status == DBONT_OK)
                status = dbont_error_set(err, "0A000",
                                         "dbont_exec does not run COPY ... STDIN/STDOUT");
            PQclear(res);
        } else if (!result_ok(res) && failed == NULL) {
            failed = res;   /* keep the first failure; read on to drain */
        } else {
            PQclear(res);
        }
    }
    if (failed != NULL) {
        status = dbont_error_from_result(err, conn->pg, failed);
        PQclear(failed);
    } else if (status == DBONT_OK && PQstatus(conn->pg) == CONNECTION_BAD) {
        status = dbont_error_from_result(err, conn->pg, NULL);
    }
    return status;
}

dbont_status dbont_begin(dbont_conn *conn, dbont_error *err)
{
    return dbont_exec(conn, "BEGIN", err);
}

/*
 * The server answers COMMIT in a failed transaction with a plain
 * "ROLLBACK" and no error; a caller told DBONT_OK would believe its data
 * saved, so that answer is an error here.
 */
dbont_status dbont_commit(dbont_conn *conn, dbont_error *err)
{
    PGresult *res;
    bool rolled_back;

    if (conn == NULL)
        return dbont_error_set(err, "22023", "dbont_commit: conn must not be NULL");
    res = PQexec(conn->pg, "COMMIT");
    if (res == NULL || !result_ok(res)) {
        dbont_status status = dbont_error_from_result(err, conn->pg, res);
        PQclear(res);
        return status;
    }
    rolled_back = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
    PQclear(res);
    if (rolled_back)
        dbont_conn_events_drop(conn);
    else
        dbont_conn_events_flush(conn);
    if (rolled_back)
        return dbont_error_set(err, "40000",
                               "COMMIT rolled the transaction back: "
                               "a statement in it had failed");
    return DBONT_OK;
}

dbont_status dbont_rollback(dbont_conn *conn, dbont_error *err)
{
    if (conn != NULL)
        dbont_conn_events_drop(conn);
    return dbont_exec(conn, "ROLLBACK", err);
}

/* ---- tenant and events ----------------------------------------------- */

void dbont_conn_set_tenant(dbont_conn *conn, const char *tenant)
{
    free(conn->tenant);
    conn->tenant = tenant != NULL ? strdup(tenant) : NULL;
}

void dbont_conn_events_drop(dbont_conn *conn)
{
    for (size_t i = 0; i < conn->npending; i++)
        free(conn->pending[i]);
    conn->npending = 0;
}

void dbont_conn_events_flush(dbont_conn *conn)
{
    for (size_t i = 0; i < conn->npending; i++) {
        char *tab = strchr(conn->pending[i], '\t');
        if (conn->event_sink != NULL && tab != NULL) {
            *tab = '\0';
            conn->event_sink(conn->sink, conn->pending[i], tab + 1);
        }
        free(conn->pending[i]);
    }
    conn->npending = 0;
}

/*
 * An event is applied only once its transaction has committed: applied
 * earlier, a reader could still see the old rows and cache them under
 * the new version, where they would stay until their TTL.  Outside a
 * transaction the mutation has committed already.  A transaction ended by
 * SQL the runtime did not send (dbont_exec("COMMIT")) leaves its events
 * held until the next event of an idle connection.
 */
void dbont_conn_emit(dbont_conn *conn, const char *event)
{
    dbont_conn_emit_as(conn, NULL, event);
}

void dbont_conn_emit_as(dbont_conn *conn, const char *tenant, const char *event)
{
    if (conn == NULL || conn->event_sink == NULL || event == NULL)
        return;
    if (tenant == NULL)
        tenant = conn->tenant != NULL ? conn->tenant : "";
    if (PQtransactionStatus(conn->pg) == PQTRANS_IDLE) {
        dbont_conn_events_flush(conn);
        conn->event_sink(conn->sink, tenant, event);
        return;
    }
    size_t len = strlen(tenant) + 1 + strlen(event) + 1;
    for (size_t i = 0; i < conn->npending; i++)
        if (strlen(conn->pending[i]) + 1 == len && strncmp(conn->pending[i], tenant, strlen(tenant)) == 0 &&
            strcmp(conn->pending[i] + strlen(tenant) + 1, event) == 0)
            return; /* once per transaction is enough */
    if (conn->npending == conn->pending_cap) {
        size_t cap = conn->pending_cap ? conn->pending_cap * 2 : 8;
        char **grown = realloc(conn->pending, cap * sizeof *grown);
        if (grown == NULL)
            goto apply_now;
        conn->pending = grown;
        conn->pending_cap = cap;
    }
    char *held = malloc(len);
    if (held == NULL)
        goto apply_now;
    snprintf(held, len, "%s\t%s", tenant, event);
    conn->pending[conn->npending++] = held;
    return;
apply_now:
    /* out of memory: early is better than never (the TTL bounds the rest) */
    conn->event_sink(conn->sink, tenant, event);
}
