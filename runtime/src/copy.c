/*
 * copy.c: bulk insert with COPY <table> (<columns>) FROM STDIN (FORMAT
 * binary).
 *
 * Two passes over the rows:
 *
 * 1. Checks, with nothing sent: the defaulted columns each row sets must
 *    be those of the first row (22023), no NULL in a NOT NULL column
 *    (23502), every value encodable (a numeric's text as the server's
 *    numeric_in would take it, 22P02/22003; dates and timestamps in
 *    range, 22008; lengths that fit an int32, 54000).  A refused row
 *    never starts a COPY, so a caller's transaction is left as it was.
 * 2. The stream (copyfmt.c) through one 64 KiB buffer handed to
 *    PQputCopyData as it fills: no allocation per row or value.
 *
 * COPY is one statement: when the server refuses a row (a constraint, a
 * text that is not valid UTF-8, a value the column's type modifier
 * refuses), nothing is inserted.  PostgreSQL refuses COPY FROM into a
 * table under row-level security; such a table's rows go as arrays in one
 * INSERT instead (copyarrays.c), after the same checks.  The server names the row in its error's
 * context ("COPY posts, line 5, column title"; line N is tuple N,
 * 1-based); failures found after the last row (foreign keys, deferred
 * constraints) name none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conn_internal.h"
#include "copy_internal.h"
#include "copyfmt.h"
#include "dbont/copy.h"
#include "error_internal.h"
#include "params.h"
#include "sqlwriter.h"
#include "table_events.h"

#define COPY_BUFFER_SIZE 65536
/* PostgreSQL tables have at most 1600 columns; a tuple counts fields in
 * an int16. */
#define MAX_FIELDS 32767
#define MAX_DEFAULTED 64

static bool read_flag(const char *base, size_t offset)
{
    bool flag;
    memcpy(&flag, base + offset, sizeof flag);
    return flag;
}

/* ---- which columns ---------------------------------------------------- */

/*
 * The columns sent: every column without a default, and each defaulted
 * column whose _set flag is true in the first row (bit d of *mask for the
 * d-th defaulted column).
 */
static dbont_status plan_columns(const dbont_table *t, const char *first_row, uint64_t *mask,
                                 size_t *nsent, dbont_error *err)
{
    size_t i;
    unsigned nth = 0;

    *mask = 0;
    *nsent = 0;
    for (i = 0; i < t->ncolumns; i++) {
        const dbont_column *col = &t->columns[i];
        if (col->new_set_offset != DBONT_NO_FIELD) {
            if (nth == MAX_DEFAULTED)
                return dbont_error_set(err, "54011",
                                       "table %s has more than %d columns with defaults",
                                       t->name, MAX_DEFAULTED);
            if (!read_flag(first_row, col->new_set_offset)) {
                nth++;
                continue;
            }
            *mask |= UINT64_C(1) << nth++;
        }
        (*nsent)++;
    }
    if (*nsent == 0)
        return dbont_error_set(err, "0A000",
                               "COPY into %s: no column is set in the first row (every column "
                               "has a default); COPY needs at least one column",
                               t->name);
    if (*nsent > MAX_FIELDS)
        return dbont_error_set(err, "54011", "COPY into %s: too many columns", t->name);
    return DBONT_OK;
}

bool dbont_copy_sends(const dbont_column *col, uint64_t mask, unsigned *nth)
{
    if (col->new_set_offset == DBONT_NO_FIELD)
        return true;
    return ((mask >> (*nth)++) & 1) != 0;
}

/* ---- pass 1: checks --------------------------------------------------- */

static dbont_status check_row(const dbont_table *t, const char *row, size_t r, uint64_t mask,
                              dbont_error *err)
{
    size_t i;
    unsigned nth = 0;

    for (i = 0; i < t->ncolumns; i++) {
        const dbont_column *col = &t->columns[i];
        dbont_codec_status st;
        if (col->new_set_offset != DBONT_NO_FIELD) {
            bool expected = ((mask >> nth++) & 1) != 0;
            if (read_flag(row, col->new_set_offset) != expected)
                return dbont_error_set(err, "22023",
                                       "COPY into %s, row %zu: %s.%s is %s, unlike in the "
                                       "first row (a COPY sends the same columns for every "
                                       "row)",
                                       t->name, r, t->name, col->name,
                                       expected ? "not set" : "set");
            if (!expected)
                continue;
        }
        if (dbont_field_is_null(col->type, row, col->new_offset, col->new_null_offset)) {
            if (col->not_null)
                return dbont_error_set(err, "23502",
                                       "COPY into %s, row %zu: %s.%s is NOT NULL but the "
                                       "value given is NULL",
                                       t->name, r, t->name, col->name);
            continue;
        }
        st = dbont_copy_check_value(col->type, row + col->new_offset);
        if (st != DBONT_CODEC_OK) {
            char what[256];
            snprintf(what, sizeof what, "COPY into %s, row %zu: %s", t->name, r, t->name);
            return dbont_encode_error(st, what, col->name, col->type, err);
        }
    }
    return DBONT_OK;
}

/* ---- pass 2: the stream ----------------------------------------------- */

static int put_copy_data(void *ctx, const char *data, size_t len)
{
    return PQputCopyData(ctx, data, (int)len) == 1 ? 0 : -1;
}

static dbont_codec_status write_row(dbont_copybuf *b, const dbont_table *t, const char *row,
                                    uint64_t mask, uint16_t nfields)
{
    size_t i;
    unsigned nth = 0;

    dbont_copybuf_tuple(b, nfields);
    for (i = 0; i < t->ncolumns; i++) {
        const dbont_column *col = &t->columns[i];
        dbont_codec_status st;
        if (!dbont_copy_sends(col, mask, &nth))
            continue;
        if (dbont_field_is_null(col->type, row, col->new_offset, col->new_null_offset)) {
            dbont_copybuf_null(b);
            continue;
        }
        st = dbont_copybuf_value(b, col->type, row + col->new_offset);
        if (st != DBONT_CODEC_OK)
            return st;  /* pass 1 makes this unreachable */
    }
    return DBONT_CODEC_OK;
}

/* COPY <table> (<a>, <b>) FROM STDIN (FORMAT binary), written by a sizing
 * run (buf NULL) and a writing run of the same code. */
static size_t write_copy_sql(const dbont_table *t, uint64_t mask, char *buf)
{
    sqlwriter w = {buf, 0};
    size_t i, sent = 0;
    unsigned nth = 0;

    sqlw_put(&w, "COPY ");
    sqlw_put(&w, t->sql);
    for (i = 0; i < t->ncolumns; i++) {
        if (!dbont_copy_sends(&t->columns[i], mask, &nth))
            continue;
        sqlw_put(&w, sent++ == 0 ? " (" : ", ");
        sqlw_put(&w, t->columns[i].sql);
    }
    sqlw_put(&w, ") FROM STDIN (FORMAT binary)");
    if (buf != NULL)
        buf[w.n] = '\0';
    return w.n;
}

/*
 * Ends the COPY (with abort_reason when the stream was cut short) and
 * reads every result until libpq has none, keeping the first failure.  A
 * connection that died stops the loop (libpq then answers COPY_IN or
 * NULL without end).
 */
static PGresult *finish_copy(PGconn *pg, const char *abort_reason)
{
    PGresult *res, *failed = NULL;
    int copy_in = 0;

    PQputCopyEnd(pg, abort_reason);
    while ((res = PQgetResult(pg)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COPY_IN) {
            PQclear(res);
            if (++copy_in > 2)
                break;
            PQputCopyEnd(pg, abort_reason != NULL ? abort_reason : "dbont: COPY abandoned");
            continue;
        }
        if (st != PGRES_COMMAND_OK && failed == NULL)
            failed = res;
        else
            PQclear(res);
    }
    return failed;
}

/* Runs the COPY statement and streams the rows. */
static dbont_status stream(dbont_conn *conn, const dbont_table *t, const char *rows, size_t n,
                           uint64_t mask, size_t nsent, char *buf, size_t *failed_row,
                           dbont_error *err)
{
    PGconn *pg = conn->pg;
    dbont_copybuf b;
    PGresult *res;
    const char *abort_reason = NULL;
    dbont_status status = DBONT_OK;
    size_t r, sql_len = write_copy_sql(t, mask, NULL);
    char *sql = sql_len < COPY_BUFFER_SIZE ? buf : malloc(sql_len + 1);

    if (sql == NULL)
        return dbont_error_set(err, "53200", "COPY into %s: out of memory", t->name);
    write_copy_sql(t, mask, sql);
    res = PQexec(pg, sql);
    if (sql != buf)
        free(sql);
    if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
        /* Refused (no such table or column, no privilege). */
        if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK)
            status = dbont_error_set(err, "XX000", "COPY into %s did not ask for data", t->name);
        else
            status = dbont_error_from_result(err, pg, res);
        PQclear(res);
        return status;
    }
    PQclear(res);

    dbont_copybuf_init(&b, buf, COPY_BUFFER_SIZE, put_copy_data, pg);
    dbont_copybuf_header(&b);
    for (r = 0; r < n && !b.failed; r++) {
        if (write_row(&b, t, rows + r * t->new_size, mask, (uint16_t)nsent) != DBONT_CODEC_OK) {
            *failed_row = r;
            status = dbont_error_set(err, "22023", "COPY into %s, row %zu: a value could not "
                                     "be encoded", t->name, r);
            abort_reason = "dbont: a row could not be encoded";
            break;
        }
    }
    if (abort_reason == NULL) {
        dbont_copybuf_trailer(&b);
        dbont_copybuf_flush(&b);
    }
    if (b.failed && abort_reason == NULL)
        abort_reason = "dbont: sending COPY data failed";

    res = finish_copy(pg, abort_reason);
    if (status != DBONT_OK) {
        PQclear(res);           /* our own error says more than the abort's */
        return status;
    }
    if (res != NULL || b.failed || PQstatus(pg) == CONNECTION_BAD) {
        if (res != NULL) {
            const char *context = PQresultErrorField(res, PG_DIAG_CONTEXT);
            if (context != NULL)
                *failed_row = dbont_copy_row_from_context(context, n);
        }
        status = dbont_error_from_result(err, pg, res);
        PQclear(res);
        return status;
    }
    return DBONT_OK;
}

dbont_status dbont_table_copy(dbont_conn *conn, const dbont_table *table, const void *rows,
                              size_t n, size_t *failed_row, dbont_error *err)
{
    const char *base = rows;
    uint64_t mask;
    size_t nsent, r, row_dummy;
    char *buf;
    dbont_status status;

    if (failed_row == NULL)
        failed_row = &row_dummy;
    *failed_row = DBONT_COPY_NO_ROW;
    if (conn == NULL || table == NULL || (n > 0 && rows == NULL))
        return dbont_error_set(err, "22023",
                               "dbont_table_copy: conn, table and rows must not be NULL");
    if (n == 0)
        return DBONT_OK;
    if (table->ncolumns == 0 || table->columns == NULL || table->new_size == 0)
        return dbont_error_set(err, "22023",
                               "descriptor of table %s lacks its columns or new_size",
                               table->name);
    if (plan_columns(table, base, &mask, &nsent, err) != DBONT_OK)
        return DBONT_ERROR;
    for (r = 0; r < n; r++) {
        if (check_row(table, base + r * table->new_size, r, mask, err) != DBONT_OK) {
            *failed_row = r;
            return DBONT_ERROR;
        }
    }
    if (table->row_security) {
        status = dbont_copy_arrays(conn, table, base, n, mask, nsent, err);
    } else {
        buf = malloc(COPY_BUFFER_SIZE);
        if (buf == NULL)
            return dbont_error_set(err, "53200", "COPY into %s: out of memory", table->name);
        status = stream(conn, table, base, n, mask, nsent, buf, failed_row, err);
        free(buf);
    }
    if (status == DBONT_OK)
        dbont_table_emit(conn, table, "created");
    return status;
}
