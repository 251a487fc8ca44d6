/*
 * error.c: filling dbont_error values.
 *
 * A message that does not fit in DBONT_ERROR_MESSAGE_MAX bytes is cut at a
 * UTF-8 character boundary and ends in "..." with `truncated` set, so a
 * reader can always tell a cut message from a whole one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error_internal.h"

/* Room for the "..." marker and the NUL after it. */
#define MARKER "..."
#define MARKER_ROOM (sizeof(MARKER))

/* A message being built in err->message; len never exceeds the buffer. */
typedef struct msgbuf {
    dbont_error *err;
    size_t len;
} msgbuf;

static void set_sqlstate(dbont_error *err, const char *sqlstate)
{
    size_t i;
    for (i = 0; i < 5 && sqlstate != NULL && sqlstate[i] != '\0'; i++)
        err->sqlstate[i] = sqlstate[i];
    err->sqlstate[i] = '\0';
}

/*
 * Marks the message as cut: moves back to the start of a UTF-8 character
 * (so no half character is left before the marker) and writes "...".
 */
static void mark_truncated(dbont_error *err, size_t len)
{
    size_t cut = len;
    if (cut > DBONT_ERROR_MESSAGE_MAX - MARKER_ROOM)
        cut = DBONT_ERROR_MESSAGE_MAX - MARKER_ROOM;
    /* Continuation bytes look like 10xxxxxx; the character they belong to
     * starts before them, so cut before that lead byte as well. */
    if (cut < len && ((unsigned char)err->message[cut] & 0xC0) == 0x80) {
        while (cut > 0 && ((unsigned char)err->message[cut] & 0xC0) == 0x80)
            cut--;
    }
    memcpy(err->message + cut, MARKER, MARKER_ROOM);
    err->truncated = true;
}

static void msg_append(msgbuf *m, const char *text)
{
    size_t room, n;
    if (m->err->truncated || text == NULL)
        return;
    n = strlen(text);
    room = DBONT_ERROR_MESSAGE_MAX - 1 - m->len;
    if (n > room) {
        memcpy(m->err->message + m->len, text, room);
        m->len += room;
        m->err->message[m->len] = '\0';
        mark_truncated(m->err, m->len);
        return;
    }
    memcpy(m->err->message + m->len, text, n + 1);
    m->len += n;
}

/* Drops trailing newlines and spaces from the message built so far. */
static void msg_trim(msgbuf *m)
{
    if (m->err->truncated)
        return;
    while (m->len > 0 && (m->err->message[m->len - 1] == '\n' ||
                          m->err->message[m->len - 1] == ' ' ||
                          m->err->message[m->len - 1] == '\r'))
        m->len--;
    m->err->message[m->len] = '\0';
}

void dbont_error_clear(dbont_error *err)
{
    if (err == NULL)
        return;
    err->sqlstate[0] = '\0';
    err->message[0] = '\0';
    err->truncated = false;
}

dbont_status dbont_error_set(dbont_error *err, const char *sqlstate,
                             const char *fmt, ...)
{
    va_list ap;
    int n;

    if (err == NULL)
        return DBONT_ERROR;
    dbont_error_clear(err);
    set_sqlstate(err, sqlstate);
    va_start(ap, fmt);
    n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    if (n < 0) {
        /* Only an invalid format or encoding gets here. */
        snprintf(err->message, sizeof err->message,
                 "(the error message could not be formatted)");
    } else if ((size_t)n >= sizeof err->message) {
        mark_truncated(err, sizeof err->message - 1);
    }
    return DBONT_ERROR;
}

dbont_status dbont_error_set_trimmed(dbont_error *err, const char *sqlstate,
                                     const char *text)
{
    msgbuf m;

    if (err == NULL)
        return DBONT_ERROR;
    dbont_error_clear(err);
    set_sqlstate(err, sqlstate);
    m.err = err;
    m.len = 0;
    msg_append(&m, text);
    msg_trim(&m);
    return DBONT_ERROR;
}

/* The SQLSTATE for an error the server did not label itself. */
static const char *client_sqlstate(PGconn *pg, const PGresult *res)
{
    if (pg != NULL && PQstatus(pg) == CONNECTION_BAD)
        return "08006";
    if (res == NULL)
        return "53200";
    return "XX000";
}

dbont_status dbont_error_from_result(dbont_error *err, PGconn *pg,
                                     const PGresult *res)
{
    const char *state = NULL, *primary = NULL, *detail = NULL, *hint = NULL;
    msgbuf m;

    if (err == NULL)
        return DBONT_ERROR;
    if (res != NULL) {
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    }
    if (state == NULL || strlen(state) != 5)
        state = client_sqlstate(pg, res);

    dbont_error_clear(err);
    set_sqlstate(err, state);
    m.err = err;
    m.len = 0;
    if (primary != NULL) {
        msg_append(&m, primary);
    } else {
        /* Errors raised inside libpq carry only the full text. */
        const char *text = res != NULL ? PQresultErrorMessage(res) : "";
        if (text[0] == '\0' && pg != NULL)
            text = PQerrorMessage(pg);
        if (text[0] == '\0')
            text = res == NULL ? "out of memory" : "unknown error";
        msg_append(&m, text);
        msg_trim(&m);
    }
    if (detail != NULL) {
        msg_append(&m, "\nDETAIL: ");
        msg_append(&m, detail);
    }
    if (hint != NULL) {
        msg_append(&m, "\nHINT: ");
        msg_append(&m, hint);
    }
    return DBONT_ERROR;
}
