/*
 * cache_codec.c: a PGresult <-> the cache's stored form (cache_codec.h).
 *
 * The encoder measures first and writes into one exact allocation.  The
 * decoder checks the cheap things first (length, magic and version,
 * schema hash), then the checksum over the whole entry, and only then
 * parses; the parser still checks every count and length against the
 * bytes that remain, so that nothing it is given, checksum or not, makes
 * it read outside buf or allocate more than buf could describe.
 */
#include "cache_codec.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dbont/shard.h" /* dbont_xxh64 */

static const unsigned char MAGIC[4] = {'D', 'B', 'C', '0' + DBONT_CACHE_FORMAT_VERSION};

/* Fixed parts: magic, schema hash, ncolumns, nrows, checksum. */
#define FIXED_SIZE (4 + 8 + 4 + 4 + 8)
/* A column without its name: name length, type oid, typmod, format. */
#define COLUMN_SIZE (2 + 4 + 4 + 2)
/* A value without its bytes: its length. */
#define VALUE_SIZE 4
#define NULL_LENGTH (-1)

/* ---- writing ---------------------------------------------------------- */

static unsigned char *put_le(unsigned char *p, uint64_t v, int nbytes)
{
    int i;
    for (i = 0; i < nbytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + nbytes;
}

/* *total += n, false on overflow. */
static bool add_size(size_t *total, size_t n)
{
    if (n > SIZE_MAX - *total)
        return false;
    *total += n;
    return true;
}

/* The encoded size of res, or 0 when it cannot be encoded. */
static size_t encoded_size(const PGresult *res, int ncols, int nrows)
{
    size_t total = FIXED_SIZE;
    int c, r;

    for (c = 0; c < ncols; c++) {
        size_t nlen = strlen(PQfname(res, c));
        int format = PQfformat(res, c);
        if (nlen > UINT16_MAX || format < 0 || format > UINT16_MAX ||
            !add_size(&total, COLUMN_SIZE + nlen))
            return 0;
    }
    for (r = 0; r < nrows; r++) {
        for (c = 0; c < ncols; c++) {
            /* a value is followed by a NUL byte, a NULL by nothing */
            size_t vlen = PQgetisnull(res, r, c) ? 0 : (size_t)PQgetlength(res, r, c) + 1;
            if (vlen > (size_t)INT32_MAX || !add_size(&total, VALUE_SIZE) || !add_size(&total, vlen))
                return 0;
        }
    }
    return total;
}

int dbont_cache_encode(const PGresult *res, uint64_t schema_hash,
                       void **out, size_t *len)
{
    int ncols, nrows, c, r;
    size_t size;
    unsigned char *buf, *p;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
        return -1;
    ncols = PQnfields(res);
    nrows = PQntuples(res);
    /* Rows of no columns (SELECT FROM t) cannot be rebuilt: PQsetvalue
     * adds a row only by setting one of its fields. */
    if (ncols < 0 || nrows < 0 || (ncols == 0 && nrows > 0))
        return -1;
    size = encoded_size(res, ncols, nrows);
    if (size == 0)
        return -1;
    buf = malloc(size);
    if (buf == NULL)
        return -1;

    p = buf;
    memcpy(p, MAGIC, sizeof MAGIC);
    p += sizeof MAGIC;
    p = put_le(p, schema_hash, 8);
    p = put_le(p, (uint32_t)ncols, 4);
    for (c = 0; c < ncols; c++) {
        const char *name = PQfname(res, c);
        size_t nlen = strlen(name);
        p = put_le(p, nlen, 2);
        memcpy(p, name, nlen);
        p += nlen;
        p = put_le(p, PQftype(res, c), 4);
        p = put_le(p, (uint32_t)PQfmod(res, c), 4);
        p = put_le(p, (uint16_t)PQfformat(res, c), 2);
    }
    p = put_le(p, (uint32_t)nrows, 4);
    for (r = 0; r < nrows; r++) {
        for (c = 0; c < ncols; c++) {
            if (PQgetisnull(res, r, c)) {
                p = put_le(p, (uint32_t)NULL_LENGTH, 4);
            } else {
                int vlen = PQgetlength(res, r, c);
                p = put_le(p, (uint32_t)vlen, 4);
                if (vlen > 0)
                    memcpy(p, PQgetvalue(res, r, c), (size_t)vlen);
                p += vlen;
                *p++ = '\0';
            }
        }
    }
    p = put_le(p, dbont_xxh64(buf, (size_t)(p - buf), 0), 8);

    *out = buf;
    *len = size;
    return 0;
}

/* ---- reading ---------------------------------------------------------- */

/* What is left to parse; every read checks it first. */
typedef struct reader {
    const unsigned char *p;
    size_t left;
} reader;

static uint64_t le(const unsigned char *p, int nbytes)
{
    uint64_t v = 0;
    int i;
    for (i = nbytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static bool take(reader *rd, size_t n, const unsigned char **at)
{
    if (n > rd->left)
        return false;
    *at = rd->p;
    rd->p += n;
    rd->left -= n;
    return true;
}

static bool get_le(reader *rd, int nbytes, uint64_t *v)
{
    const unsigned char *at;
    if (!take(rd, (size_t)nbytes, &at))
        return false;
    *v = le(at, nbytes);
    return true;
}

/* A column as stored: its name is not NUL-terminated. */
typedef struct stored_column {
    const unsigned char *name;
    size_t name_len;
    int typmod;
} stored_column;

/*
 * A whole valid entry, parsed: one malloc'd block (*block, freed by the
 * caller) holds the arrays, cells->cells pointing into buf.  False when
 * buf is not a valid entry of this format version for this schema hash
 * (or memory ran out).
 */
static bool parse(const unsigned char *bytes, size_t len, uint64_t schema_hash, dbont_cells *cells,
                  stored_column **columns, void **block)
{
    reader rd;
    uint64_t ncols, nrows;

    *block = NULL;
    if (bytes == NULL || len < FIXED_SIZE || memcmp(bytes, MAGIC, sizeof MAGIC) != 0 ||
        le(bytes + 4, 8) != schema_hash || dbont_xxh64(bytes, len - 8, 0) != le(bytes + len - 8, 8))
        return false;

    /* Everything between the schema hash and the checksum. */
    rd.p = bytes + 12;
    rd.left = len - 12 - 8;
    if (!get_le(&rd, 4, &ncols) || ncols > INT_MAX || ncols > rd.left / COLUMN_SIZE)
        return false;
    /* the columns first, to know where the rows start and how many */
    reader at_rows = rd;
    for (uint64_t c = 0; c < ncols; c++) {
        uint64_t nlen;
        const unsigned char *skip;
        if (!get_le(&at_rows, 2, &nlen) || !take(&at_rows, (size_t)nlen + 10, &skip))
            return false;
    }
    if (!get_le(&at_rows, 4, &nrows) || nrows > INT_MAX || (ncols == 0 && nrows > 0) ||
        (ncols > 0 && nrows > at_rows.left / VALUE_SIZE / ncols))
        return false;

    size_t n = (size_t)ncols, ncells = (size_t)(ncols * nrows);
    char *m = malloc(n * (sizeof(Oid) + sizeof(int) + sizeof(stored_column)) + ncells * sizeof(dbont_cell) + 1);
    if (m == NULL)
        return false;
    /* widest alignment first */
    dbont_cell *cell = (dbont_cell *)(void *)m;
    stored_column *col = (stored_column *)(void *)(m + ncells * sizeof(dbont_cell));
    Oid *types = (Oid *)(void *)(col + n);
    int *formats = (int *)(void *)(types + n);

    for (size_t c = 0; c < n; c++) {
        uint64_t nlen, oid, typmod, format;
        const unsigned char *name;
        if (!get_le(&rd, 2, &nlen) || !take(&rd, (size_t)nlen, &name) ||
            memchr(name, '\0', (size_t)nlen) != NULL ||
            !get_le(&rd, 4, &oid) || !get_le(&rd, 4, &typmod) ||
            !get_le(&rd, 2, &format) || format > 1)
            goto bad;
        col[c].name = name;
        col[c].name_len = (size_t)nlen;
        col[c].typmod = (int)(int32_t)(uint32_t)typmod;
        types[c] = (Oid)oid;
        formats[c] = (int)format;
    }
    rd = at_rows;
    for (size_t k = 0; k < ncells; k++) {
        uint64_t stored;
        const unsigned char *value, *nul;
        if (!get_le(&rd, 4, &stored))
            goto bad;
        int32_t vlen = (int32_t)(uint32_t)stored;
        if (vlen == NULL_LENGTH) {
            cell[k].value = NULL;
            cell[k].len = -1;
            continue;
        }
        if (vlen < 0 || !take(&rd, (size_t)vlen, &value) || !take(&rd, 1, &nul) || *nul != '\0')
            goto bad;
        cell[k].value = (const char *)value;
        cell[k].len = vlen;
    }
    /* Every byte up to the checksum must have been used. */
    if (rd.left != 0)
        goto bad;
    cells->ncols = (int)ncols;
    cells->nrows = (int)nrows;
    cells->types = types;
    cells->formats = formats;
    cells->cells = cell;
    *columns = col;
    *block = m;
    return true;
bad:
    free(m);
    return false;
}

bool dbont_cache_cells(const void *buf, size_t len, uint64_t schema_hash, dbont_cells *cells, void **block)
{
    stored_column *columns;
    return parse(buf, len, schema_hash, cells, &columns, block);
}

PGresult *dbont_cache_decode(const void *buf, size_t len, uint64_t schema_hash)
{
    dbont_cells cells;
    stored_column *col;
    void *block;
    PGresAttDesc *attrs = NULL;
    char *name_buf = NULL;
    PGresult *res = NULL;
    bool ok = false;

    if (!parse(buf, len, schema_hash, &cells, &col, &block))
        return NULL;
    res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    if (res == NULL)
        goto done;
    if (cells.ncols > 0) {
        /* PQsetResultAttrs wants NUL-terminated names; it copies them. */
        size_t names_size = 0;
        for (int c = 0; c < cells.ncols; c++)
            names_size += col[c].name_len + 1;
        attrs = malloc((size_t)cells.ncols * sizeof *attrs);
        name_buf = malloc(names_size);
        if (attrs == NULL || name_buf == NULL)
            goto done;
        char *q = name_buf;
        for (int c = 0; c < cells.ncols; c++) {
            memcpy(q, col[c].name, col[c].name_len);
            q[col[c].name_len] = '\0';
            attrs[c] = (PGresAttDesc){.name = q, .tableid = 0, .columnid = 0, .format = cells.formats[c],
                                      .typid = cells.types[c], .typlen = 0, .atttypmod = col[c].typmod};
            q += col[c].name_len + 1;
        }
        if (!PQsetResultAttrs(res, cells.ncols, attrs))
            goto done;
    }
    ok = true;
    for (int r = 0; r < cells.nrows && ok; r++)
        for (int c = 0; c < cells.ncols && ok; c++) {
            const dbont_cell *v = &cells.cells[(size_t)r * (size_t)cells.ncols + (size_t)c];
            /* PQsetvalue copies the bytes (its parameter is not const,
             * though it does not write through it). */
            ok = PQsetvalue(res, r, c, (char *)v->value, v->len) != 0;
        }
done:
    free(name_buf);
    free(attrs);
    free(block);
    if (!ok) {
        PQclear(res);
        return NULL;
    }
    return res;
}
