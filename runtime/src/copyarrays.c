/*
 * copyarrays.c: bulk insert into a table under row-level security.
 *
 * PostgreSQL refuses COPY FROM into a table whose policies apply to the
 * user ("COPY FROM not supported with row-level security").  The rows go
 * instead as one statement,
 *
 *     INSERT INTO posts (user_id, title) SELECT * FROM unnest($1, $2)
 *
 * whose parameters are binary arrays, one per column sent, element i of
 * each being row i's value.  The policies' WITH CHECK applies to every
 * row, defaults apply to the columns left out, and the statement is all
 * or nothing, like COPY.  One round trip, whatever the number of rows.
 *
 * An array's binary form (what array_recv reads), big-endian: int32
 * number of dimensions (1), int32 flags (1 when an element is NULL),
 * the element type's OID, then per dimension int32 length and int32 lower
 * bound (1); then per element an int32 length (-1 for NULL) and the
 * element's binary form.  The elements are written as COPY fields are
 * (copyfmt.c): the same length-prefixed binary values.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conn_internal.h"
#include "copy_internal.h"
#include "copyfmt.h"
#include "error_internal.h"
#include "params.h"
#include "sqlwriter.h"

#define ARRAY_HEADER_SIZE 20
/* The server keeps a parameter in one allocation of at most 1 GB - 1. */
#define MAX_ARRAY_BYTES ((size_t)0x3FFFFFFF)
#define STAGE_SIZE 65536

/* A growing byte string that a copybuf flushes into. */
typedef struct bytes {
    char *data;
    size_t len, cap;
    bool too_big; /* past MAX_ARRAY_BYTES, or out of memory */
} bytes;

static int append(void *ctx, const char *data, size_t len)
{
    bytes *b = ctx;
    if (b->too_big || len > MAX_ARRAY_BYTES - b->len) {
        b->too_big = true;
        return -1;
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap = cap > MAX_ARRAY_BYTES / 2 ? MAX_ARRAY_BYTES : cap * 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->too_big = true;
            return -1;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

static void put_int32(dbont_copybuf *cb, uint32_t v)
{
    unsigned char be[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                           (unsigned char)v};
    dbont_copybuf_put(cb, be, 4);
}

/* Column col of every row as one binary array in *out.  Returns 0, or -1
 * when it would pass MAX_ARRAY_BYTES or memory ran out. */
static int write_array(const dbont_table *t, const dbont_column *col, const char *rows, size_t n, char *stage,
                       bytes *out)
{
    dbont_copybuf cb;
    bool any_null = false;

    dbont_copybuf_init(&cb, stage, STAGE_SIZE, append, out);
    put_int32(&cb, 1);
    put_int32(&cb, 0); /* flags: set below once the NULLs are known */
    put_int32(&cb, dbont_type_oid(col->type));
    put_int32(&cb, (uint32_t)n);
    put_int32(&cb, 1);
    for (size_t r = 0; r < n && !cb.failed; r++) {
        const char *row = rows + r * t->new_size;
        if (dbont_field_is_null(col->type, row, col->new_offset, col->new_null_offset)) {
            dbont_copybuf_null(&cb);
            any_null = true;
        } else if (dbont_copybuf_value(&cb, col->type, row + col->new_offset) != DBONT_CODEC_OK) {
            return -1; /* the checks before make this unreachable */
        }
    }
    if (dbont_copybuf_flush(&cb) != 0)
        return -1;
    if (any_null)
        out->data[7] = 1;
    return 0;
}

/* INSERT INTO <t> (<a>, <b>) SELECT * FROM unnest($1, $2), sized by a run
 * with buf NULL, then written by a run of the same code. */
static size_t write_sql(const dbont_table *t, uint64_t mask, char *buf)
{
    sqlwriter w = {buf, 0};
    size_t sent = 0;
    unsigned nth = 0;

    sqlw_put(&w, "INSERT INTO ");
    sqlw_put(&w, t->sql);
    for (size_t i = 0; i < t->ncolumns; i++) {
        if (!dbont_copy_sends(&t->columns[i], mask, &nth))
            continue;
        sqlw_put(&w, sent++ == 0 ? " (" : ", ");
        sqlw_put(&w, t->columns[i].sql);
    }
    sqlw_put(&w, ") SELECT * FROM unnest(");
    for (size_t k = 1; k <= sent; k++) {
        if (k > 1)
            sqlw_put(&w, ", ");
        sqlw_placeholder(&w, k);
    }
    sqlw_put(&w, ")");
    if (buf != NULL)
        buf[w.n] = '\0';
    return w.n;
}

dbont_status dbont_copy_arrays(dbont_conn *conn, const dbont_table *t, const char *rows, size_t n,
                               uint64_t mask, size_t nsent, dbont_error *err)
{
    dbont_status status = DBONT_OK;
    unsigned nth = 0;
    size_t k = 0;

    if (n > INT32_MAX)
        return dbont_error_set(err, "54000", "bulk insert into %s: %zu rows is more than one statement takes "
                                             "(2147483647); insert fewer rows per call",
                               t->name, n);
    bytes *arrays = calloc(nsent, sizeof *arrays);
    const char **values = calloc(nsent, sizeof *values);
    int *lengths = calloc(nsent, sizeof *lengths);
    int *formats = calloc(nsent, sizeof *formats);
    Oid *types = calloc(nsent, sizeof *types);
    char *stage = malloc(STAGE_SIZE);
    char *sql = malloc(write_sql(t, mask, NULL) + 1);
    if (!arrays || !values || !lengths || !formats || !types || !stage || !sql) {
        status = dbont_error_set(err, "53200", "bulk insert into %s: out of memory", t->name);
        goto done;
    }
    write_sql(t, mask, sql);
    for (size_t i = 0; i < t->ncolumns; i++) {
        const dbont_column *col = &t->columns[i];
        if (!dbont_copy_sends(col, mask, &nth))
            continue;
        if (write_array(t, col, rows, n, stage, &arrays[k]) != 0) {
            status = dbont_error_set(err, "54000", "bulk insert into %s: the values of %s.%s take more than "
                                                   "1 GB (or memory ran out); insert fewer rows per call",
                                     t->name, t->name, col->name);
            goto done;
        }
        values[k] = arrays[k].data;
        lengths[k] = (int)arrays[k].len;
        formats[k] = 1;
        types[k] = dbont_type_array_oid(col->type);
        k++;
    }
    PGresult *res = PQexecParams(conn->pg, sql, (int)nsent, types, values, lengths, formats, 1);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
        status = dbont_error_from_result(err, conn->pg, res);
    else if (strtoull(PQcmdTuples(res), NULL, 10) != (unsigned long long)n)
        status = dbont_error_set(err, "XX000", "bulk insert into %s: %zu rows sent, %s inserted", t->name, n,
                                 PQcmdTuples(res));
    PQclear(res);
done:
    for (size_t i = 0; arrays && i < nsent; i++)
        free(arrays[i].data);
    free(arrays);
    free(values);
    free(lengths);
    free(formats);
    free(types);
    free(stage);
    free(sql);
    return status;
}
