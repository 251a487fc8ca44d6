/*
 * conn_internal.h: what a dbont_conn holds.  Internal to libdbont.
 */
#ifndef DBONT_CONN_INTERNAL_H
#define DBONT_CONN_INTERNAL_H

#include "dbont/conn.h"
#include "registry.h"

/* Where a connection's mutation events go (cache.c sets it). */
typedef void (*dbont_event_sink)(void *sink, const char *tenant, const char *event);

struct dbont_conn {
    PGconn *pg;
    /* The tenant of the open tenant session (its text), or NULL: set by
     * dbont_tenant_begin, cleared when the session ends. */
    char *tenant;
    /* Events of mutations (dbont_conn_emit), and those of the open
     * transaction, "tenant\tevent", applied when it commits. */
    dbont_event_sink event_sink;
    void *sink;
    char **pending;
    size_t npending, pending_cap;
    /* Ids of the statements prepared on pg (see stmt.c). */
    dbont_registry prepared;
    /* The server forgot statements and the registry has not been read
     * back from it yet (see stmt.c). */
    bool registry_stale;
};

/*
 * Reopens a broken connection with its original parameters (PQreset) and
 * empties its registry: the new server session has none of the old one's
 * prepared statements, and a registry that still listed them would make
 * the next call run a statement that does not exist.  Returns DBONT_OK,
 * or DBONT_ERROR with 08001 when the server cannot be reached; conn is
 * then still to be closed with dbont_close.  For the pool (pool.c).
 */
dbont_status dbont_conn_reset(dbont_conn *conn, dbont_error *err);

/* The tenant session's tenant (tenant.c): a copy, or NULL to clear. */
void dbont_conn_set_tenant(dbont_conn *conn, const char *tenant);

/* dbont_conn_emit with the event's tenant given: NULL for the tenant
 * session's (as dbont_conn_emit), "" for none (tables without tenant). */
void dbont_conn_emit_as(dbont_conn *conn, const char *tenant, const char *event);

/* The held events: applied (after a commit) or dropped (after a rollback). */
void dbont_conn_events_flush(dbont_conn *conn);
void dbont_conn_events_drop(dbont_conn *conn);

#endif
