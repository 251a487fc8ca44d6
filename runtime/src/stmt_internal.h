/*
 * stmt_internal.h: running a statement whose SQL is composed on demand.
 * Internal to libdbont.
 */
#ifndef DBONT_STMT_INTERNAL_H
#define DBONT_STMT_INTERNAL_H

#include <stdbool.h>

#include "dbont/stmt.h"

/*
 * Some statements (the insert variants of a table) have no SQL text until
 * they must be prepared: composing it on every call would cost more than
 * running the statement, so the text is built only when needed.
 */
typedef struct dbont_sql_composer {
    /* Returns malloc'd SQL text, or NULL when out of memory. */
    char *(*compose)(const void *ctx);
    const void *ctx;
} dbont_sql_composer;

/*
 * dbont_stmt_exec for a statement whose sql is NULL: when it must be
 * prepared, composer supplies (and this function frees) the text.  out may
 * be NULL to discard the result.
 */
dbont_status dbont_stmt_exec_composed(dbont_conn *conn, const dbont_stmt *stmt,
                                      const dbont_sql_composer *composer,
                                      const char *const *values,
                                      const int *lengths, const int *formats,
                                      int result_format, PGresult **out,
                                      dbont_error *err);

/*
 * Prepares stmt on conn unless the connection's registry says it is
 * (reading the registry back from the server first when it is stale), as
 * dbont_stmt_exec does before running.  For callers that send the
 * statement themselves (pipelined batches).  composer may be NULL.
 */
dbont_status dbont_stmt_prepare(dbont_conn *conn, const dbont_stmt *stmt,
                                const dbont_sql_composer *composer,
                                dbont_error *err);

/*
 * After stmt failed with sqlstate: puts things right for one more try as
 * dbont_stmt_exec does (26000: the server forgot it, so the registry is
 * read back; 0A000 "cached plan must not change result type": it is
 * deallocated) and returns true with *status saying whether that worked;
 * returns false when the failure is final.  The caller then prepares
 * (dbont_stmt_prepare) and runs again.
 */
bool dbont_stmt_repair(dbont_conn *conn, const dbont_stmt *stmt,
                       const char *sqlstate, dbont_error *err,
                       dbont_status *status);

/*
 * Insert variants (table.c) are named "dbont_<16 hex digits of the
 * table's insert_id>_<hex mask>" and registered under a 64-bit mix of both
 * parts.  Both are defined here, beside the code that reads names back.
 */
#define DBONT_INSERT_NAME_SIZE 40   /* "dbont_" + 16 + "_" + 16 + NUL */
void dbont_insert_name(char out[DBONT_INSERT_NAME_SIZE], uint64_t insert_id,
                       uint64_t mask);
uint64_t dbont_insert_key(uint64_t insert_id, uint64_t mask);

#endif
