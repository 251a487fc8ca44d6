/*
 * dbont/result.h: the object that owns the rows a call returns.
 *
 * Generated functions that return rows hand back a typed view
 * (<prefix>_<table>_rows: count, rows, result).  Every row struct and every
 * pointer inside the rows (text, bytea, numeric, jsonb) belongs to the one
 * dbont_result, which is a single allocation plus the PGresult it decodes;
 * dbont_result_free releases all of it at once.  There is no allocation per
 * row or per field.
 */
#ifndef DBONT_RESULT_H
#define DBONT_RESULT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dbont_result dbont_result;

/* Number of rows. */
size_t dbont_result_count(const dbont_result *res);

/* The rows: an array of count row structs of the generated type.
 * Owned by res; valid until dbont_result_free(res). */
void *dbont_result_rows(dbont_result *res);

/* Frees the rows and everything they point to.  NULL is allowed. */
void dbont_result_free(dbont_result *res);

#ifdef __cplusplus
}
#endif

#endif
