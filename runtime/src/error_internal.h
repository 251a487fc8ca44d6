/*
 * error_internal.h: filling a dbont_error from what libpq reports.
 *
 * Internal to libdbont.  The public half (clear, set) is in dbont/error.h.
 */
#ifndef DBONT_ERROR_INTERNAL_H
#define DBONT_ERROR_INTERNAL_H

#include <libpq-fe.h>

#include "dbont/error.h"

/*
 * Fills err (NULL is allowed) from a failed result, or from the connection
 * when res is NULL (libpq returns no result when it runs out of memory or
 * loses the connection).  Always returns DBONT_ERROR.
 *
 * SQLSTATE: the server's PG_DIAG_SQLSTATE; when there is none (the error
 * was found by libpq itself), 08006 if the connection is gone, 53200 if
 * there is no result at all, XX000 otherwise.
 * Message: the primary message, then "\nDETAIL: ..." and "\nHINT: ...".
 */
dbont_status dbont_error_from_result(dbont_error *err, PGconn *pg,
                                     const PGresult *res);

/*
 * Fills err with sqlstate and text whose trailing newlines and spaces are
 * dropped (libpq ends its messages with "\n").  Returns DBONT_ERROR.
 */
dbont_status dbont_error_set_trimmed(dbont_error *err, const char *sqlstate,
                                     const char *text);

#endif
