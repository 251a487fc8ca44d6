/*
 * cache_codec.h: the stored form of a query result in the cache.
 *
 * A PGresult becomes a byte string that L1 and Redis keep, and a byte
 * string read back becomes a PGresult again, built with libpq's own
 * functions (PQmakeEmptyPGresult, PQsetResultAttrs, PQsetvalue), so the
 * generated code reads a cached result exactly as it reads one from the
 * server.  The bytes may come from another process, another version of
 * dbont or another schema, or be damaged: the decoder accepts only an
 * entry of its own format version, made for the same schema_hash, whose
 * checksum matches and whose every length adds up; anything else is a
 * miss, never a result read the wrong way.
 *
 * Format version 2, little-endian (docs/caching.md):
 *
 *     "DBC2"                       magic; the 2 is the format version
 *     u64 schema_hash
 *     u32 ncolumns, then per column:
 *         u16 name length, the name's bytes (no NUL)
 *         u32 type oid, i32 typmod, u16 format (0 text, 1 binary)
 *     u32 nrows, then per row, per column:
 *         i32 length (-1 for NULL), the value's bytes and a NUL byte
 *         (none for NULL), so that text is a C string in place
 *     u64 checksum: xxHash64 (seed 0) of every byte before it
 *
 * (Version 1 had FNV-1a 64 there: a byte at a time, a fifth of a
 * microsecond on every hit of a 130-byte entry, against 25 ns.)
 *
 * The columns' table oid, column number and type size (PQftable,
 * PQftablecol, PQfsize) are not stored: the decoded result has 0 there.
 *
 * Internal to libdbont.
 */
#ifndef DBONT_CACHE_CODEC_H
#define DBONT_CACHE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "result_internal.h"

#define DBONT_CACHE_FORMAT_VERSION 2

/*
 * Encodes res into a malloc'd buffer, which the caller frees: *out and
 * *len on success.  schema_hash names what the bytes mean (the statement
 * and its result columns); the decoder refuses any other.
 *
 * Returns 0, or -1 when out of memory or when res cannot be stored
 * faithfully: its status is not PGRES_TUPLES_OK, it has rows but no
 * columns (libpq cannot rebuild those), or a name, a count or a value is
 * too long for the format.  res is not changed.
 */
int dbont_cache_encode(const PGresult *res, uint64_t schema_hash,
                       void **out, size_t *len);

/*
 * A new PGresult (the caller PQclears it), PGRES_TUPLES_OK, equal to the
 * encoded one in its columns (name, type oid, typmod, format) and in
 * every value (NULL or not, length, bytes).  NULL when buf is not a valid
 * entry of this format version for this schema_hash, or when memory ran
 * out.  buf is only read.
 */
PGresult *dbont_cache_decode(const void *buf, size_t len, uint64_t schema_hash);

/*
 * The values of a valid entry (as dbont_cache_decode checks it) where
 * they lie in buf, for dbont_result_decode_cells: true, with *cells
 * pointing into *block (malloc'd, the caller frees it once done with
 * cells) and into buf.  False as dbont_cache_decode's NULL.
 */
bool dbont_cache_cells(const void *buf, size_t len, uint64_t schema_hash, dbont_cells *cells, void **block);

#endif
