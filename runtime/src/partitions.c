#include "dbont/partitions.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "error_internal.h"

/* The array comes back joined by spaces: partition names are plain
 * identifiers (letters, digits, '_'), so nothing needs quoting. */
static const char maintain_sql[] =
    "SELECT table_name, pg_catalog.array_to_string(created, ' '), moved_rows, default_rows "
    "FROM dbont_maintain_partitions(COALESCE($1::timestamptz, pg_catalog.now()))";

static char *copy(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

static int split_names(const char *text, dbont_partition_table *t)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p != ' ' && (p == text || p[-1] == ' ');
    t->created = calloc(n ? n : 1, sizeof *t->created);
    if (!t->created)
        return -1;
    for (const char *p = text; *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (!len)
            break;
        char *name = malloc(len + 1);
        if (!name)
            return -1;
        memcpy(name, p, len);
        name[len] = '\0';
        t->created[t->ncreated++] = name;
        p += len;
    }
    return 0;
}

dbont_status dbont_partitions_maintain(dbont_conn *conn, const char *at, dbont_partition_report *report,
                                       dbont_error *err)
{
    memset(report, 0, sizeof *report);
    PGconn *pg = dbont_conn_pg(conn);
    const char *values[1] = {at};
    PGresult *r = PQexecParams(pg, maintain_sql, 1, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        dbont_status st;
        /* 42883 about the function itself, not one raised inside it. */
        if (state && !strcmp(state, "42883") && primary &&
            strstr(primary, "dbont_maintain_partitions"))
            st = dbont_error_set(err, "42883", "this database has no range-partitioned table: the function "
                                               "dbont_maintain_partitions() is missing (apply the migrations first)");
        else
            st = dbont_error_from_result(err, pg, r);
        PQclear(r);
        return st;
    }
    int n = PQntuples(r);
    report->tables = calloc(n ? (size_t)n : 1, sizeof *report->tables);
    if (!report->tables) {
        PQclear(r);
        return dbont_error_set(err, "53200", "out of memory");
    }
    for (int i = 0; i < n; i++) {
        dbont_partition_table *t = &report->tables[report->count++];
        t->moved_rows = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        t->default_rows = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        if (!(t->table_name = copy(PQgetvalue(r, i, 0))) || split_names(PQgetvalue(r, i, 1), t) != 0) {
            PQclear(r);
            dbont_partition_report_free(report);
            return dbont_error_set(err, "53200", "out of memory");
        }
    }
    PQclear(r);
    return DBONT_OK;
}

void dbont_partition_report_free(dbont_partition_report *report)
{
    if (!report)
        return;
    for (size_t i = 0; i < report->count; i++) {
        for (size_t k = 0; k < report->tables[i].ncreated; k++)
            free(report->tables[i].created[k]);
        free(report->tables[i].created);
        free(report->tables[i].table_name);
    }
    free(report->tables);
    memset(report, 0, sizeof *report);
}
