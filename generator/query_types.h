/*
 * query_types.h: the types of the queries' parameters and result columns,
 * from PostgreSQL itself (the sqlx model) or from its recorded answer.
 *
 * With a server (--check-dsn), dbont-gen runs the migrations (and the one
 * it is about to write) in a scratch schema inside a transaction it rolls
 * back (the server's data is never touched), prepares every query's
 * statement, and reads the
 * parameter and result types with PQdescribePrepared; nullability comes
 * from pg_attribute.attnotnull for plain columns (NULL on the outer side
 * of an outer join), and is "may be NULL" for expressions other than
 * COUNT, unless db:resultNotNull / db:resultNullable say otherwise.
 * Errors the server reports point at the ontology fragment.
 *
 * The answers are kept in the offline cache, a small text file beside the
 * ontology, so a build without a server generates the same code.
 */
#ifndef DBONT_GEN_QUERY_TYPES_H
#define DBONT_GEN_QUERY_TYPES_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "diag.h"
#include "query_plan.h"

/* Asks the server at dsn; schema_sql (the migrations) creates the tables
 * (in a scratch schema, scratch.h). */
bool qtypes_from_server(const char *dsn, const char *schema_sql, qplan *plans, size_t n, diag *d);

/* The same inside a scratch session the caller opened (scratch_open):
 * fills the plans' types; each query runs in a savepoint, so the session
 * stays usable after a refused one. */
bool qtypes_describe(PGconn *pg, qplan *plans, size_t n, diag *d);

/* The cache file's text for the plans (caller frees). */
char *qtypes_render(const qplan *plans, size_t n, const char *version, const char *sources);

/* Applies the cache file at path (when it exists) to the plans whose
 * statement it knows; entries for another statement text are stale and
 * ignored.  Reports a malformed file. */
bool qtypes_load(const char *path, qplan *plans, size_t n, diag *d);

/* Reports every parameter or result column whose type is still unknown,
 * saying how to fix it; false when there is any. */
bool qtypes_require(const qplan *plans, size_t n, const char *cache_path, diag *d);

#endif
