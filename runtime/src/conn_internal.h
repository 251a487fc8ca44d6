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

#endif
