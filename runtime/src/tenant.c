/*
 * tenant.c: tenant sessions (dbont/tenant.h).
 *
 * A session is BEGIN, then the prepared statement
 * SELECT set_config($1, $2, true) with the setting's name and the tenant
 * as bind parameters (text): the tenant is data, never SQL text, and the
 * setting is transaction-local, so it ends with the transaction.  Never a
 * session-level SET: it takes no bind parameter and outlives the request.
 */
#include <string.h>

#include <libpq-fe.h>

#include "dbont/conn.h"
#include "dbont/stmt.h"
#include "dbont/tenant.h"
#include "conn_internal.h"
#include "error_internal.h"
#include "tenant_internal.h"

#define TEXT_OID 25

/* The statement is not prepared (26000): someone ran DEALLOCATE or
 * DISCARD ALL on the connection; see below. */
#define UNKNOWN_STATEMENT "26000"

static const Oid set_config_types[] = {TEXT_OID, TEXT_OID};

/* The id is FNV-1a 64 of the SQL text and the two OIDs, as dbont-gen
 * computes it (tests/unit/runtime/test_tenant.c checks it). */
const dbont_stmt dbont_tenant_set_config = {
    UINT64_C(0xab7dca58b2b09b38), "dbont_ab7dca58b2b09b38",
    "SELECT set_config($1, $2, true)", 2, set_config_types};

/* Ends whatever transaction a failed begin left open.  The caller's error
 * stays the one reported; a failing ROLLBACK means the connection is gone,
 * and the server then ends the transaction itself. */
static void undo(dbont_conn *conn)
{
    dbont_error ignored;
    PGTransactionStatusType ts = PQtransactionStatus(dbont_conn_pg(conn));

    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        (void)dbont_rollback(conn, &ignored);
}

static void copy_error(dbont_error *to, const dbont_error *from)
{
    if (to != NULL)
        *to = *from;
}

dbont_status dbont_tenant_begin(dbont_conn *conn, const char *setting,
                                const char *tenant, dbont_error *err)
{
    dbont_error e;
    const char *values[2];
    PGresult *res;
    PGconn *pg;
    int attempt;

    if (conn == NULL)
        return dbont_error_set(err, "22023", "dbont_tenant_begin: conn must not be NULL");
    if (setting == NULL || setting[0] == '\0')
        return dbont_error_set(err, "22023",
                               "dbont_tenant_begin: the setting name must not be empty");
    if (tenant == NULL || tenant[0] == '\0')
        return dbont_error_set(err, "22023",
                               "dbont_tenant_begin: the tenant must not be empty");

    pg = dbont_conn_pg(conn);
    switch (PQtransactionStatus(pg)) {
    case PQTRANS_IDLE:
        break;
    case PQTRANS_UNKNOWN:
        return dbont_error_set_trimmed(err, "08006", PQerrorMessage(pg));
    default:
        /* Joining the caller's transaction would make the tenant's end
         * depend on code that does not know about it. */
        return dbont_error_set(err, "25001",
                               "dbont_tenant_begin: the connection is already in a "
                               "transaction; a tenant session must start it");
    }

    values[0] = setting;
    values[1] = tenant;
    /*
     * Two attempts: when the server forgot the statement (DEALLOCATE ALL or
     * DISCARD ALL sent through dbont_exec), the first set_config fails
     * inside the transaction block, where dbont_stmt_exec cannot prepare it
     * again.  After the rollback the registry is read back and the second
     * attempt prepares it.  Any other failure is final.
     */
    for (attempt = 0;; attempt++) {
        if (dbont_begin(conn, &e) != DBONT_OK) {
            undo(conn);
            copy_error(err, &e);
            return DBONT_ERROR;
        }
        res = NULL;
        if (dbont_stmt_exec(conn, &dbont_tenant_set_config, values, NULL, NULL, 0,
                            &res, &e) == DBONT_OK) {
            PQclear(res);
            /* the cache keys tenant-scoped results by it (cache.c) */
            dbont_conn_set_tenant(conn, tenant);
            return DBONT_OK;
        }
        undo(conn);
        if (attempt > 0 || strcmp(e.sqlstate, UNKNOWN_STATEMENT) != 0) {
            copy_error(err, &e);
            return DBONT_ERROR;
        }
    }
}

dbont_status dbont_tenant_end(dbont_conn *conn, bool commit, dbont_error *err)
{
    if (conn == NULL)
        return dbont_error_set(err, "22023", "dbont_tenant_end: conn must not be NULL");
    dbont_conn_set_tenant(conn, NULL);
    if (PQtransactionStatus(dbont_conn_pg(conn)) == PQTRANS_IDLE) {
        /* The server would accept COMMIT with a warning, but the work the
         * caller meant to commit did not run in this session (something
         * ended the transaction early): say so.  A rollback of nothing is
         * what the caller wanted anyway. */
        if (commit)
            return dbont_error_set(err, "25P01",
                                   "dbont_tenant_end: no tenant session is open on "
                                   "this connection (its transaction already ended)");
        return DBONT_OK;
    }
    return commit ? dbont_commit(conn, err) : dbont_rollback(conn, err);
}
