/*
 * migmsg.c: the migration runner's messages (see migmsg.h).
 */
#include "migmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define STATE_CONNECTION "08006"

void dbont_msg_line(dbont_msgbuf *m, const char *fmt, ...)
{
    size_t room = sizeof m->text - m->len;
    m->lines++;
    if (room <= 1)
        return;
    if (m->lines > 1) {
        m->text[m->len++] = '\n';
        m->text[m->len] = '\0';
        room--;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->text + m->len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        m->len += (size_t)n < room ? (size_t)n : room - 1;
}

void dbont_msg_server_details(dbont_msgbuf *m, const PGresult *res)
{
    static const struct { int field; const char *label; } extra[] = {
        { PG_DIAG_MESSAGE_DETAIL, "DETAIL" },
        { PG_DIAG_MESSAGE_HINT, "HINT" },
        { PG_DIAG_CONTEXT, "CONTEXT" },
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        const char *text = res ? PQresultErrorField(res, extra[i].field) : NULL;
        if (text)
            dbont_msg_line(m, "%s: %s", extra[i].label, text);
    }
}

const char *dbont_msg_failure_state(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state ? state : STATE_CONNECTION;
}

/* libpq ends its own messages with "\n", which would end a line early. */
void dbont_msg_failure_text(const PGresult *res, PGconn *pg, char *out, size_t size)
{
    const char *text = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!text)
        text = PQerrorMessage(pg);
    snprintf(out, size, "%s", text);
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
}

bool dbont_msg_result_ok(const PGresult *res)
{
    ExecStatusType s = PQresultStatus(res);
    return res && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK);
}

/* Fills err for a failed query of the runner's own (no position: the
 * text is not the file's). */
static dbont_status query_failed(dbont_error *err, const char *where,
                                 const char *doing, PGresult *res, PGconn *pg)
{
    char text[DBONT_ERROR_MESSAGE_MAX];
    dbont_msg_failure_text(res, pg, text, sizeof text);
    dbont_msgbuf m = { .len = 0 };
    dbont_msg_line(&m, "%s: error: %s: %s %s", where, doing, dbont_msg_failure_state(res),
                   text);
    dbont_msg_server_details(&m, res);
    dbont_status st = dbont_error_set(err, dbont_msg_failure_state(res), "%s", m.text);
    PQclear(res);
    return st;
}

PGresult *dbont_msg_query(PGconn *pg, const char *sql, int nparams,
                          const char *const *params, const char *where, const char *doing,
                          dbont_error *err)
{
    PGresult *res = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);
    if (dbont_msg_result_ok(res))
        return res;
    query_failed(err, where, doing, res, pg);
    return NULL;
}
