/*
 * dbont/error.h: the status every call returns and the error it fills.
 *
 * Every dbont function that can fail returns a dbont_status and, when it
 * fails, fills the dbont_error the caller passed (which may be NULL when the
 * caller does not want the details).  Nothing in libdbont prints or exits.
 *
 * Ownership: a dbont_error is a plain value owned by the caller, usually on
 * the stack.  It holds no pointers and needs no cleanup.
 */
#ifndef DBONT_ERROR_H
#define DBONT_ERROR_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dbont_status {
    DBONT_OK = 0,
    /* The statement ran, but no row has the given key (get, update, delete). */
    DBONT_NOT_FOUND = 1,
    /* The call failed; the dbont_error says why. */
    DBONT_ERROR = -1
} dbont_status;

#define DBONT_ERROR_MESSAGE_MAX 1024

typedef struct dbont_error {
    /*
     * Five-character SQLSTATE: the server's own code for errors reported by
     * PostgreSQL, or the standard code that fits for errors found on the
     * client (08001 cannot connect, 08006 connection lost, 23502 NULL for a
     * NOT NULL column, 22008 date/time value out of range, 22023 invalid
     * argument, 42804 result type differs from the generated code, 53200 out
     * of memory, 58030 I/O error).  Empty when there is no error.
     */
    char sqlstate[6];
    /*
     * The message: PostgreSQL's primary message, then "\nDETAIL: ..." and
     * "\nHINT: ..." lines when the server sent them.  Always NUL-terminated.
     */
    char message[DBONT_ERROR_MESSAGE_MAX];
    /* True when message was cut to fit; its last characters are then "...". */
    bool truncated;
} dbont_error;

/* Empties err (NULL is allowed). */
void dbont_error_clear(dbont_error *err);

/*
 * Fills err (NULL is allowed) with sqlstate and a printf-style message, and
 * returns DBONT_ERROR so callers can write `return dbont_error_set(...)`.
 */
dbont_status dbont_error_set(dbont_error *err, const char *sqlstate,
                             const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif
