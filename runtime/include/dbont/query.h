/*
 * dbont/query.h: running the queries an ontology declares (db:Query).
 *
 * dbont-gen writes, for each query, a parameter struct, a result row
 * struct and a constant dbont_query describing them: the prepared
 * statement, how to encode each parameter (its dbont_type and its offset
 * in the parameter struct) and how to decode each result column (as for
 * tables, dbont_column with row offsets).  The generated functions fill a
 * parameter struct and call the functions below.
 *
 * Parameters: a pointer-typed value (text, varchar, numeric, jsonb) that is
 * NULL is sent as SQL NULL; other values are always sent.
 *
 * Ownership: descriptors are constant data of the generated code; results
 * come back as dbont_result objects the caller frees (dbont_result_free).
 */
#ifndef DBONT_QUERY_H
#define DBONT_QUERY_H

#include <stddef.h>

#include "dbont/conn.h"
#include "dbont/result.h"
#include "dbont/stmt.h"
#include "dbont/table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dbont_query {
    const char *name;            /* the query's name, for messages */
    const dbont_stmt *stmt;      /* SQL with $1..$n and the parameter OIDs */
    size_t nparams;
    const dbont_type *param_types;
    const size_t *param_offsets; /* of each parameter in the parameter struct */
    size_t params_size;          /* sizeof the parameter struct */
    size_t ncolumns;             /* 0 for a query that returns no rows */
    const dbont_column *columns; /* result columns (row_offset, row_null_offset) */
    size_t row_size;             /* sizeof the result row struct */
} dbont_query;

/*
 * Runs q with the parameter struct params (NULL when q has no parameters).
 * When out is not NULL, stores the rows (possibly none) in *out; the
 * caller frees them.  A query without result columns stores NULL.
 */
dbont_status dbont_query_run(dbont_conn *conn, const dbont_query *q, const void *params, dbont_result **out,
                             dbont_error *err);

/* The outcome of one item of a batch. */
typedef struct dbont_batch_item {
    dbont_status status;  /* DBONT_OK or DBONT_ERROR */
    dbont_error error;    /* why, when status is DBONT_ERROR */
    dbont_result *result; /* its rows (NULL for a query without columns or on error) */
} dbont_batch_item;

/*
 * Runs q once per parameter struct of the array params (n of them,
 * q->params_size bytes apart) in libpq pipeline mode, keeping up to window
 * queries in flight (0: 64), and fills items[0..n) in order.  Each item
 * runs in its own implicit transaction: a failed item is reported in its
 * slot and the others still run.  Returns DBONT_OK when every item
 * succeeded, DBONT_ERROR when some failed (see items) or when the
 * connection failed (err says so; items not run have status DBONT_ERROR
 * with SQLSTATE 08006).  The caller frees every item's result
 * (dbont_batch_free).
 */
dbont_status dbont_query_batch(dbont_conn *conn, const dbont_query *q, const void *params, size_t n,
                               size_t window, dbont_batch_item *items, dbont_error *err);

/* Frees the results of items[0..n) and clears them. */
void dbont_batch_free(dbont_batch_item *items, size_t n);

#ifdef __cplusplus
}
#endif

#endif
