/*
 * dbont/stmt.h: prepared statements as generated code describes them.
 *
 * Each statement is a static, constant descriptor in the generated source.
 * Its name is derived from a 64-bit hash of its SQL text and parameter types
 * (computed by dbont-gen), so two generated libraries used on one connection
 * never clash, and identical statements share one preparation.
 *
 * dbont_stmt_exec prepares the statement on first use on a connection
 * (PQprepare), remembers that in the connection's registry, and runs it with
 * PQexecPrepared.  If the server no longer knows the statement (someone ran
 * DEALLOCATE, SQLSTATE 26000) it prepares it again and retries once.
 *
 * Ownership: descriptors are static data of the generated code and are never
 * freed.  The PGresult returned through *out belongs to the caller (PQclear).
 */
#ifndef DBONT_STMT_H
#define DBONT_STMT_H

#include <stdint.h>

#include <libpq-fe.h>

#include "dbont/conn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dbont_stmt {
    uint64_t id;          /* hash of sql and param_types; the registry key */
    const char *name;     /* "dbont_" + 16 hex digits of id */
    const char *sql;      /* one statement with $1..$n placeholders */
    int nparams;
    const Oid *param_types; /* nparams type OIDs, or NULL when nparams is 0 */
} dbont_stmt;

/*
 * Runs stmt with the given parameters (arrays of stmt->nparams entries, as
 * for PQexecPrepared; values[i] NULL means SQL NULL) and asks for results in
 * result_format (0 text, 1 binary).  On success stores the PGresult
 * (PGRES_COMMAND_OK or PGRES_TUPLES_OK) in *out and returns DBONT_OK; on
 * failure fills err with the server's SQLSTATE and message and returns
 * DBONT_ERROR.
 */
dbont_status dbont_stmt_exec(dbont_conn *conn, const dbont_stmt *stmt,
                             const char *const *values, const int *lengths,
                             const int *formats, int result_format,
                             PGresult **out, dbont_error *err);

#ifdef __cplusplus
}
#endif

#endif
