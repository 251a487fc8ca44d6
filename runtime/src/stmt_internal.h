/*
 * stmt_internal.h: running a statement whose SQL is composed on demand.
 * Internal to libdbont.
 */
#ifndef DBONT_STMT_INTERNAL_H
#define DBONT_STMT_INTERNAL_H

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
 * Insert variants (table.c) are named "dbont_<16 hex digits of the
 * table's insert_id>_<hex mask>" and registered under a 64-bit mix of both
 * parts.  Both are defined here, beside the code that reads names back.
 */
#define DBONT_INSERT_NAME_SIZE 40   /* "dbont_" + 16 + "_" + 16 + NUL */
void dbont_insert_name(char out[DBONT_INSERT_NAME_SIZE], uint64_t insert_id,
                       uint64_t mask);
uint64_t dbont_insert_key(uint64_t insert_id, uint64_t mask);

#endif
