/*
 * dbont/conn.h: a connection to PostgreSQL.
 *
 * A dbont_conn wraps one libpq connection plus the set of statements already
 * prepared on it (generated code prepares each statement lazily, once per
 * connection).  Like a PGconn, a dbont_conn is used by one thread at a time.
 *
 * Ownership: dbont_connect returns a connection the caller owns and releases
 * with dbont_close.
 */
#ifndef DBONT_CONN_H
#define DBONT_CONN_H

#include <libpq-fe.h>

#include "dbont/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dbont_conn dbont_conn;

/*
 * Opens a connection.  dsn is a libpq connection string or URI; when it is
 * NULL, the DATABASE_URL environment variable is used, and when that is
 * unset too, libpq's defaults (PGHOST, PGPORT, ... ).  The client encoding
 * is UTF8 unless dsn sets client_encoding.  Returns NULL and fills err
 * (SQLSTATE 08001 and libpq's message) on failure.
 */
dbont_conn *dbont_connect(const char *dsn, dbont_error *err);

/* Closes the connection and frees it.  NULL is allowed. */
void dbont_close(dbont_conn *conn);

/* The underlying libpq connection, still owned by conn. */
PGconn *dbont_conn_pg(dbont_conn *conn);

/*
 * Runs sql (one or more statements, no parameters) with the simple query
 * protocol and discards any rows.  For DDL, BEGIN/COMMIT and the like.
 */
dbont_status dbont_exec(dbont_conn *conn, const char *sql, dbont_error *err);

/* BEGIN, COMMIT and ROLLBACK.  dbont_commit fails (SQLSTATE 40000) when
 * the server rolled back instead, because a statement in the transaction
 * had failed. */
dbont_status dbont_begin(dbont_conn *conn, dbont_error *err);
dbont_status dbont_commit(dbont_conn *conn, dbont_error *err);
dbont_status dbont_rollback(dbont_conn *conn, dbont_error *err);

#ifdef __cplusplus
}
#endif

#endif
