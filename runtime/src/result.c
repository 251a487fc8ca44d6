/*
 * result.c: the single allocation that owns a call's rows.
 *
 * Layout of the one malloc'd block:
 *
 *   [struct dbont_result, padded to max_align_t][row 0][row 1]...[arena]
 *
 * Rows follow the header at a max_align_t boundary, and row_size is the
 * sizeof of the row struct (a multiple of its alignment), so every row is
 * properly aligned.  The arena holds the decimal text of numeric values,
 * the only fields that need bytes of their own; text, jsonb and bytea
 * point into where the values came from, which the result keeps alive:
 * the PGresult, or the malloc'd block of a cached entry (its cells,
 * result_internal.h: a cache hit is decoded without building a PGresult).
 *
 * Building takes two passes: the first sizes the arena exactly (the
 * numeric text lengths), the second decodes into the block.
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "error_internal.h"
#include "result_internal.h"

struct dbont_result {
    PGresult *pg;
    void *owner; /* a cached entry's block, or NULL */
    size_t count;
};

/* Where the values come from: a PGresult or cells.  The branch is the
 * same on every call of one decoding, so it costs nothing measurable
 * on the PGresult path. */
typedef struct source {
    const PGresult *pg;
    const dbont_cells *cells;
} source;

static int src_ncols(const source *s)
{
    return s->pg != NULL ? PQnfields(s->pg) : s->cells->ncols;
}

static int src_nrows(const source *s)
{
    return s->pg != NULL ? PQntuples(s->pg) : s->cells->nrows;
}

static Oid src_type(const source *s, int col)
{
    return s->pg != NULL ? PQftype(s->pg, col) : s->cells->types[col];
}

static int src_format(const source *s, int col)
{
    return s->pg != NULL ? PQfformat(s->pg, col) : s->cells->formats[col];
}

static const dbont_cell *src_cell(const source *s, int row, int col)
{
    return &s->cells->cells[(size_t)row * (size_t)s->cells->ncols + (size_t)col];
}

static bool src_isnull(const source *s, int row, int col)
{
    return s->pg != NULL ? PQgetisnull(s->pg, row, col) != 0 : src_cell(s, row, col)->len < 0;
}

static const char *src_value(const source *s, int row, int col)
{
    return s->pg != NULL ? PQgetvalue(s->pg, row, col) : src_cell(s, row, col)->value;
}

static int src_length(const source *s, int row, int col)
{
    return s->pg != NULL ? PQgetlength(s->pg, row, col) : src_cell(s, row, col)->len;
}

/* The header's size rounded up so the rows after it are aligned. */
#define HEADER_SIZE \
    ((sizeof(struct dbont_result) + alignof(max_align_t) - 1) / \
     alignof(max_align_t) * alignof(max_align_t))

size_t dbont_result_count(const dbont_result *res)
{
    return res != NULL ? res->count : 0;
}

void *dbont_result_rows(dbont_result *res)
{
    return res != NULL ? (char *)res + HEADER_SIZE : NULL;
}

void dbont_result_free(dbont_result *res)
{
    if (res == NULL)
        return;
    PQclear(res->pg);
    free(res->owner);
    free(res);
}

#define MISMATCH_ADVICE \
    "the generated code does not match the database: run the migrations or regenerate"

/* The result must have the columns the generated code was built for. */
static dbont_status check_shape(const source *pg, const char *what,
                                const dbont_column *columns, size_t ncolumns,
                                dbont_error *err)
{
    size_t i;
    int nfields = src_ncols(pg);

    if (nfields < 0 || (size_t)nfields != ncolumns)
        return dbont_error_set(err, "42804",
                               "%s: the result has %d columns but the generated "
                               "code expects %zu; " MISMATCH_ADVICE,
                               what, nfields, ncolumns);
    for (i = 0; i < ncolumns; i++) {
        Oid got = src_type(pg, (int)i);
        if (got != dbont_type_oid(columns[i].type)) {
            const char *db_name = dbont_oid_name(got);
            char unknown[32];
            if (db_name == NULL) {
                snprintf(unknown, sizeof unknown, "type oid %u", (unsigned)got);
                db_name = unknown;
            }
            return dbont_error_set(err, "42804",
                                   "%s.%s is %s in the database but %s in the "
                                   "generated code; " MISMATCH_ADVICE,
                                   what, columns[i].name, db_name,
                                   dbont_type_name(columns[i].type));
        }
        if (src_format(pg, (int)i) != 1)
            return dbont_error_set(err, "42804",
                                   "%s.%s: the value came in text format; "
                                   "dbont reads results in binary",
                                   what, columns[i].name);
    }
    return DBONT_OK;
}

/* First pass: the exact arena size, the sum of the numeric texts. */
static dbont_status arena_size(const source *pg, const char *what,
                               const dbont_column *columns, size_t ncolumns,
                               size_t *size, dbont_error *err)
{
    int row, nrows = src_nrows(pg);
    size_t i, total = 0;

    for (i = 0; i < ncolumns; i++) {
        if (columns[i].type != DBONT_NUMERIC)
            continue;
        for (row = 0; row < nrows; row++) {
            size_t n;
            if (src_isnull(pg, row, (int)i))
                continue;
            if (dbont_numeric_to_text((const uint8_t *)src_value(pg, row, (int)i),
                                      (size_t)src_length(pg, row, (int)i),
                                      NULL, &n) != DBONT_CODEC_OK)
                return dbont_error_set(err, "22P03",
                                       "%s.%s: malformed binary numeric value",
                                       what, columns[i].name);
            if (__builtin_add_overflow(total, n + 1, &total))
                return dbont_error_set(err, "53200", "%s: result too large", what);
        }
    }
    *size = total;
    return DBONT_OK;
}

static dbont_status decode_error(dbont_codec_status st, const char *what,
                                 const dbont_column *col, int len,
                                 dbont_error *err)
{
    switch (st) {
    case DBONT_CODEC_OVERFLOW:
        return dbont_error_set(err, "22008",
                               "%s.%s: %s value out of the range dbont can hold",
                               what, col->name, dbont_type_name(col->type));
    case DBONT_CODEC_BAD_LENGTH:
        return dbont_error_set(err, "22P03",
                               "%s.%s: binary %s value of %d bytes has the wrong size",
                               what, col->name, dbont_type_name(col->type), len);
    default:
        if (col->type == DBONT_JSONB)
            return dbont_error_set(err, "22P03",
                                   "%s.%s: unsupported jsonb binary format version",
                                   what, col->name);
        return dbont_error_set(err, "22P03", "%s.%s: malformed binary %s value",
                               what, col->name, dbont_type_name(col->type));
    }
}

/* Second pass, one row: every field and NULL flag of row number `row`. */
static dbont_status decode_row(const source *pg, int row, const char *what,
                               const dbont_column *columns, size_t ncolumns,
                               char *dest, char **arena, dbont_error *err)
{
    size_t i;

    for (i = 0; i < ncolumns; i++) {
        const dbont_column *col = &columns[i];
        bool is_null = src_isnull(pg, row, (int)i);
        dbont_codec_status st;
        int len;

        if (col->row_null_offset != DBONT_NO_FIELD)
            memcpy(dest + col->row_null_offset, &is_null, sizeof is_null);
        if (is_null) {
            if (col->not_null)
                return dbont_error_set(err, "42804",
                                       "%s.%s is NULL in row %d but NOT NULL in the "
                                       "generated code; " MISMATCH_ADVICE,
                                       what, col->name, row + 1);
            continue;   /* the field stays zero (NULL pointer, 0) */
        }
        len = src_length(pg, row, (int)i);
        st = dbont_decode_value(col->type, src_value(pg, row, (int)i),
                                (size_t)len, dest + col->row_offset, arena);
        if (st != DBONT_CODEC_OK)
            return decode_error(st, what, col, len, err);
    }
    return DBONT_OK;
}

/* Both entry points, once the source is known good: takes pg or owner
 * (freed on failure). */
static dbont_status decode(const source *src, PGresult *pg, void *owner, const char *what,
                           const dbont_column *columns, size_t ncolumns, size_t row_size,
                           dbont_result **out, dbont_error *err)
{
    dbont_result *res;
    size_t nrows, rows_bytes, arena_bytes = 0, total;
    char *rows, *arena;
    int row;

    if (check_shape(src, what, columns, ncolumns, err) != DBONT_OK ||
        arena_size(src, what, columns, ncolumns, &arena_bytes, err) != DBONT_OK) {
        PQclear(pg);
        free(owner);
        return DBONT_ERROR;
    }
    nrows = (size_t)src_nrows(src);
    if (__builtin_mul_overflow(nrows, row_size, &rows_bytes) ||
        rows_bytes > SIZE_MAX - HEADER_SIZE ||
        __builtin_add_overflow(HEADER_SIZE + rows_bytes, arena_bytes, &total) ||
        (res = malloc(total)) == NULL) {
        PQclear(pg);
        free(owner);
        return dbont_error_set(err, "53200", "%s: out of memory for %zu rows",
                               what, nrows);
    }
    res->pg = pg;
    res->owner = owner;
    res->count = nrows;
    rows = (char *)res + HEADER_SIZE;
    arena = rows + rows_bytes;
    /* Zero the rows so a NULL value leaves a NULL pointer or 0 behind, and no
     * padding byte is left uninitialised. */
    memset(rows, 0, rows_bytes);
    for (row = 0; (size_t)row < nrows; row++) {
        if (decode_row(src, row, what, columns, ncolumns,
                       rows + (size_t)row * row_size, &arena, err) != DBONT_OK) {
            dbont_result_free(res);
            return DBONT_ERROR;
        }
    }
    *out = res;
    return DBONT_OK;
}

dbont_status dbont_result_decode(PGresult *pg, const char *what,
                                 const dbont_column *columns, size_t ncolumns,
                                 size_t row_size, dbont_result **out,
                                 dbont_error *err)
{
    source src = {pg, NULL};

    if (out == NULL || pg == NULL || columns == NULL) {
        PQclear(pg);
        return dbont_error_set(err, "22023",
                               "dbont_result_decode: pg, columns and out must not be NULL");
    }
    *out = NULL;
    if (what == NULL)
        what = "result";
    if (PQresultStatus(pg) != PGRES_TUPLES_OK) {
        PQclear(pg);
        return dbont_error_set(err, "22023", "%s: the result has no rows to decode", what);
    }
    return decode(&src, pg, NULL, what, columns, ncolumns, row_size, out, err);
}

dbont_status dbont_result_decode_cells(const dbont_cells *cells, void *owner, const char *what,
                                       const dbont_column *columns, size_t ncolumns, size_t row_size,
                                       dbont_result **out, dbont_error *err)
{
    source src = {NULL, cells};

    if (out == NULL || cells == NULL || columns == NULL) {
        free(owner);
        return dbont_error_set(err, "22023",
                               "dbont_result_decode_cells: cells, columns and out must not be NULL");
    }
    *out = NULL;
    return decode(&src, NULL, owner, what != NULL ? what : "result", columns, ncolumns, row_size, out,
                  err);
}
