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

static const unsigned char MAGIC[4] = {'D', 'B', 'C', '0' + DBONT_CACHE_FORMAT_VERSION};

/* Fixed parts: magic, schema hash, ncolumns, nrows, checksum. */
#define FIXED_SIZE (4 + 8 + 4 + 4 + 8)
/* A column without its name: name length, type oid, typmod, format. */
#define COLUMN_SIZE (2 + 4 + 4 + 2)
/* A value without its bytes: its length. */
#define VALUE_SIZE 4
#define NULL_LENGTH (-1)

/* FNV-1a 64.  Each step is a bijection of the running state for a given
 * byte, and a different byte gives a different state, so any change of a
 * single byte always changes the result. */
uint64_t dbont_fnv1a64(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    while (n-- > 0) {
        h ^= *p++;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

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
            size_t vlen = PQgetisnull(res, r, c) ? 0 : (size_t)PQgetlength(res, r, c);
            if (!add_size(&total, VALUE_SIZE) || !add_size(&total, vlen))
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
            }
        }
    }
    p = put_le(p, dbont_fnv1a64(buf, (size_t)(p - buf)), 8);

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

/* A column's name as stored: not NUL-terminated. */
typedef struct stored_name {
    const unsigned char *bytes;
    size_t len;
} stored_name;

/*
 * Reads the column descriptions into attrs (names still to be set) and
 * names.  False when they do not parse, a name holds a NUL (it could not
 * be told apart from a shorter one once in the PGresult) or a format is
 * neither text nor binary.  *names_size: the bytes of all names with
 * their NULs.
 */
static bool read_columns(reader *rd, int ncols, PGresAttDesc *attrs,
                         stored_name *names, size_t *names_size)
{
    int c;

    *names_size = 0;
    for (c = 0; c < ncols; c++) {
        uint64_t nlen, oid, typmod, format;
        const unsigned char *name;
        if (!get_le(rd, 2, &nlen) || !take(rd, (size_t)nlen, &name) ||
            memchr(name, '\0', (size_t)nlen) != NULL ||
            !get_le(rd, 4, &oid) || !get_le(rd, 4, &typmod) ||
            !get_le(rd, 2, &format) || format > 1)
            return false;
        names[c].bytes = name;
        names[c].len = (size_t)nlen;
        *names_size += (size_t)nlen + 1;   /* at most 65536 per column */
        attrs[c].name = NULL;
        attrs[c].tableid = 0;
        attrs[c].columnid = 0;
        attrs[c].format = (int)format;
        attrs[c].typid = (Oid)oid;
        attrs[c].typlen = 0;
        attrs[c].atttypmod = (int)(int32_t)(uint32_t)typmod;
    }
    return true;
}

/* Reads the rows into res (whose columns are set).  False when they do
 * not parse or libpq runs out of memory. */
static bool read_rows(reader *rd, PGresult *res, int ncols, int nrows)
{
    int c, r;

    for (r = 0; r < nrows; r++) {
        for (c = 0; c < ncols; c++) {
            uint64_t stored;
            int32_t vlen;
            const unsigned char *value;
            if (!get_le(rd, 4, &stored))
                return false;
            vlen = (int32_t)(uint32_t)stored;
            if (vlen == NULL_LENGTH) {
                if (!PQsetvalue(res, r, c, NULL, NULL_LENGTH))
                    return false;
                continue;
            }
            if (vlen < 0 || !take(rd, (size_t)vlen, &value))
                return false;
            /* PQsetvalue copies the bytes (its parameter is not const,
             * though it does not write through it). */
            if (!PQsetvalue(res, r, c, (char *)value, vlen))
                return false;
        }
    }
    return true;
}

PGresult *dbont_cache_decode(const void *buf, size_t len, uint64_t schema_hash)
{
    const unsigned char *bytes = buf;
    reader rd;
    uint64_t ncols, nrows;
    PGresAttDesc *attrs = NULL;
    stored_name *names = NULL;
    char *name_buf = NULL, *q;
    size_t names_size;
    PGresult *res = NULL;
    bool ok = false;
    uint64_t c;

    if (buf == NULL || len < FIXED_SIZE || memcmp(bytes, MAGIC, sizeof MAGIC) != 0 ||
        le(bytes + 4, 8) != schema_hash ||
        dbont_fnv1a64(bytes, len - 8) != le(bytes + len - 8, 8))
        return NULL;

    /* Everything between the schema hash and the checksum. */
    rd.p = bytes + 12;
    rd.left = len - 12 - 8;
    if (!get_le(&rd, 4, &ncols) || ncols > INT_MAX || ncols > rd.left / COLUMN_SIZE)
        return NULL;
    if (ncols > 0) {
        attrs = malloc((size_t)ncols * sizeof *attrs);
        names = malloc((size_t)ncols * sizeof *names);
        if (attrs == NULL || names == NULL)
            goto done;
    }
    if (!read_columns(&rd, (int)ncols, attrs, names, &names_size) ||
        !get_le(&rd, 4, &nrows) || nrows > INT_MAX ||
        (ncols == 0 && nrows > 0) ||
        (ncols > 0 && nrows > rd.left / VALUE_SIZE / ncols))
        goto done;

    res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    if (res == NULL)
        goto done;
    if (ncols > 0) {
        /* PQsetResultAttrs wants NUL-terminated names; it copies them. */
        name_buf = malloc(names_size);
        if (name_buf == NULL)
            goto done;
        for (q = name_buf, c = 0; c < ncols; c++) {
            memcpy(q, names[c].bytes, names[c].len);
            q[names[c].len] = '\0';
            attrs[c].name = q;
            q += names[c].len + 1;
        }
        if (!PQsetResultAttrs(res, (int)ncols, attrs))
            goto done;
    }
    /* Every byte up to the checksum must have been used. */
    ok = read_rows(&rd, res, (int)ncols, (int)nrows) && rd.left == 0;

done:
    free(name_buf);
    free(names);
    free(attrs);
    if (!ok) {
        PQclear(res);
        return NULL;
    }
    return res;
}
