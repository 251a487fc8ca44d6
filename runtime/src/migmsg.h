/*
 * migmsg.h: the migration runner's messages, internal to libdbont.
 *
 * What migrate.c and migindex.c both say, said one way: a message that
 * lists several problems, one per line, and what the server answered when
 * a query failed (its SQLSTATE and primary message, then the DETAIL, HINT
 * and CONTEXT lines, as psql shows them).
 *
 * Ownership: dbont_msg_query returns a result that the caller frees with
 * PQclear; nothing else here allocates.  A dbont_msgbuf is a plain buffer
 * that lives where it is declared.
 */
#ifndef DBONT_MIGMSG_H
#define DBONT_MIGMSG_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "dbont/error.h"

/*
 * A message of several lines, started empty with { .len = 0 }.  Twice the
 * size of a dbont_error message: whatever does not fit there is cut by
 * dbont_error_set, which also marks the cut, so lines past the end of this
 * buffer can be dropped silently.
 */
typedef struct dbont_msgbuf {
    char text[2 * DBONT_ERROR_MESSAGE_MAX];
    size_t len;
    int lines;   /* lines added, counting those that did not fit */
} dbont_msgbuf;

/* Adds one line (printf-style, without "\n") to m. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void dbont_msg_line(dbont_msgbuf *m, const char *fmt, ...);

/* Adds a line for each of the DETAIL, HINT and CONTEXT fields that res
 * has (none when res is NULL). */
void dbont_msg_server_details(dbont_msgbuf *m, const PGresult *res);

/* The SQLSTATE of a failed result; 08006 when there is no result (libpq
 * ran out of memory or lost the connection).  Points into res, or to a
 * constant. */
const char *dbont_msg_failure_state(const PGresult *res);

/* The primary message of a failed result, or the connection's message
 * when there is no result, into out (size bytes, cut to fit), without the
 * newlines and spaces that end it. */
void dbont_msg_failure_text(const PGresult *res, PGconn *pg, char *out, size_t size);

/* Whether res is a command's or a query's success (NULL is not). */
bool dbont_msg_result_ok(const PGresult *res);

/*
 * Runs one of the runner's own queries with nparams text parameters and
 * returns its result.  On failure clears the result, fills err with
 * "WHERE: error: DOING: SQLSTATE message" and the server's details
 * (SQLSTATE as dbont_msg_failure_state gives it), and returns NULL.
 */
PGresult *dbont_msg_query(PGconn *pg, const char *sql, int nparams,
                          const char *const *params, const char *where, const char *doing,
                          dbont_error *err);

#endif
