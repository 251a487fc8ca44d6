/*
 * copy_internal.h: what copy.c (the planning, the checks and COPY) shares
 * with copyarrays.c (the same rows sent as arrays, for tables under
 * row-level security).  Internal to libdbont.
 */
#ifndef DBONT_COPY_INTERNAL_H
#define DBONT_COPY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "dbont/conn.h"
#include "dbont/table.h"

/* Whether the bulk insert sends col: every column without a default, and
 * the defaulted ones whose bit is set in mask (*nth counts the defaulted
 * columns seen so far). */
bool dbont_copy_sends(const dbont_column *col, uint64_t mask, unsigned *nth);

/*
 * Inserts the n checked rows with one statement,
 *     INSERT INTO <table> (<sent columns>) SELECT * FROM unnest($1, ..., $k)
 * each parameter the binary array of one column's values.  As with COPY,
 * nothing is inserted when one row fails; the server does not say which.
 */
dbont_status dbont_copy_arrays(dbont_conn *conn, const dbont_table *t, const char *rows, size_t n,
                               uint64_t mask, size_t nsent, dbont_error *err);

#endif
