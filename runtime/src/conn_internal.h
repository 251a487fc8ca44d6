/*
 * conn_internal.h: what a dbont_conn holds.  Internal to libdbont.
 */
#ifndef DBONT_CONN_INTERNAL_H
#define DBONT_CONN_INTERNAL_H

#include "dbont/conn.h"
#include "registry.h"

struct dbont_conn {
    PGconn *pg;
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

#endif
