/*
 * dbont/copy.h: bulk insert with COPY ... FROM STDIN.
 *
 * dbont_table_copy streams an array of new-row structs into the table in
 * PostgreSQL's binary COPY format (every value encoded as the server's
 * binary input expects it).  COPY is one statement: when any row fails (a
 * constraint, a value the column refuses), nothing is inserted, and the
 * index of the row that failed is reported.
 *
 * A table under row-level security (table->row_security) cannot take
 * COPY FROM; its rows go as one INSERT ... SELECT FROM unnest() of
 * binary arrays instead, also all or nothing, each row checked by the
 * policies.  The server then does not name the row that failed (the
 * checks made before sending still do).
 *
 * Columns with a default: a column is sent when its _set flag is true in
 * the first row, and then must be set in every row (a row that differs is
 * refused before anything is sent, SQLSTATE 22023); otherwise it is left
 * out and takes its default in every row.
 *
 * Ownership: rows are only read during the call.
 */
#ifndef DBONT_COPY_H
#define DBONT_COPY_H

#include <stddef.h>

#include "dbont/conn.h"
#include "dbont/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Inserts rows[0..n) (new-row structs, table->new_size bytes apart).  On
 * failure returns DBONT_ERROR with the server's SQLSTATE and message and,
 * when the failure is due to one row, stores its index in *failed_row
 * (when failed_row is not NULL; (size_t)-1 otherwise).
 */
dbont_status dbont_table_copy(dbont_conn *conn, const dbont_table *table, const void *rows, size_t n,
                              size_t *failed_row, dbont_error *err);

#ifdef __cplusplus
}
#endif

#endif
