/*
 * result_internal.h: rows from values that are not in a PGresult.
 *
 * A cache hit holds its rows in the cache's stored form (cache_codec.h);
 * turning that into a PGresult first (libpq's PQsetResultAttrs and a
 * PQsetvalue per value, each copying) cost more than the rest of an
 * in-process hit.  The cache describes the values instead, where they
 * lie, and the result keeps the block they lie in.
 *
 * Internal to libdbont.
 */
#ifndef DBONT_RESULT_INTERNAL_H
#define DBONT_RESULT_INTERNAL_H

#include <stddef.h>

#include <libpq-fe.h>

#include "dbont/table.h"

/* One value: len bytes at value, followed by a NUL byte (text is read as
 * a C string in place, as libpq's values are); len -1 for NULL. */
typedef struct dbont_cell {
    const char *value;
    int len;
} dbont_cell;

typedef struct dbont_cells {
    int ncols, nrows;
    const Oid *types;        /* ncols type oids */
    const int *formats;      /* ncols formats: 0 text, 1 binary */
    const dbont_cell *cells; /* nrows * ncols, row after row */
} dbont_cells;

/*
 * As dbont_result_decode (the same checks, messages and layout), from
 * cells whose values lie in owner, a malloc'd block that the result takes
 * over (and frees with free(); on failure at once).  cells itself is only
 * read during the call.
 */
dbont_status dbont_result_decode_cells(const dbont_cells *cells, void *owner, const char *what,
                                       const dbont_column *columns, size_t ncolumns, size_t row_size,
                                       dbont_result **out, dbont_error *err);

#endif
