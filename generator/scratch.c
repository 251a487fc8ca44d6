#include "scratch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

const char *scratch_state(const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return state ? state : "";
}

const char *scratch_message(PGconn *pg, const PGresult *r)
{
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    return msg ? msg : PQerrorMessage(pg);
}

bool scratch_exec(PGconn *pg, const char *sql, diag *d, dpos where)
{
    PGresult *r = PQexec(pg, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        diag_error(d, where, "the check server refused %s: %s %s", sql, scratch_state(r), scratch_message(pg, r));
    PQclear(r);
    return ok;
}

PGconn *scratch_open(const char *dsn, const char *option, const char *schema_sql, diag *d)
{
    dpos none = {0};
    PGconn *pg = PQconnectdb(dsn);
    if (PQstatus(pg) != CONNECTION_OK) {
        char *msg = xstrdup(PQerrorMessage(pg));
        size_t len = strlen(msg);
        while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
            msg[--len] = '\0';
        /* libpq gives no SQLSTATE for a failed connection: 08001 is the
         * standard's "unable to establish connection", as libdbont says */
        diag_error(d, none, "%s: cannot connect: 08001 %s", option, msg);
        free(msg);
        PQfinish(pg);
        return NULL;
    }
    /* The schema is named after the process, so that runs against one
     * server at once do not meet (they could not anyway: each one's
     * schema lives only inside its own uncommitted transaction). */
    char *create = xasprintf("CREATE SCHEMA dbont_check_%ld; SET LOCAL search_path TO dbont_check_%ld",
                             (long)getpid(), (long)getpid());
    bool ok = scratch_exec(pg, "BEGIN", d, none) && scratch_exec(pg, create, d, none);
    free(create);
    if (ok) {
        PGresult *r = PQexec(pg, schema_sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            diag_error(d, none, "%s: the migrations fail in the scratch schema: %s %s", option, scratch_state(r),
                       scratch_message(pg, r));
        PQclear(r);
    }
    if (!ok) {
        scratch_close(pg);
        return NULL;
    }
    return pg;
}

void scratch_close(PGconn *pg)
{
    if (!pg)
        return;
    PGresult *r = PQexec(pg, "ROLLBACK");
    PQclear(r);
    PQfinish(pg);
}
