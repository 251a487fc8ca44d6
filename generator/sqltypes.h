/*
 * sqltypes.h: the column types of the vocabulary and how each one maps to
 * PostgreSQL, to libdbont's dbont_type and to C (docs/types.md).
 */
#ifndef DBONT_GEN_SQLTYPES_H
#define DBONT_GEN_SQLTYPES_H

#include <stdbool.h>
#include <stddef.h>

typedef enum sqltype_kind {
    ST_SMALLINT,
    ST_INTEGER,
    ST_BIGINT,
    ST_SERIAL,
    ST_BIGSERIAL,
    ST_BOOLEAN,
    ST_REAL,
    ST_DOUBLE,
    ST_NUMERIC,
    ST_TEXT,
    ST_VARCHAR,
    ST_UUID,
    ST_DATE,
    ST_TIMESTAMP,
    ST_TIMESTAMPTZ,
    ST_JSONB,
    ST_BYTEA
} sqltype_kind;

typedef struct sqltype {
    sqltype_kind kind;
    int precision; /* numeric(p,s): p, or -1 */
    int scale;     /* numeric(p,s): s, or -1 */
    int length;    /* varchar(n): n */
} sqltype;

typedef struct sqltype_info {
    sqltype_kind kind;
    const char *name;      /* as written in the vocabulary */
    const char *runtime;   /* libdbont's dbont_type constant */
    const char *c_type;    /* type of the struct field */
    unsigned oid;          /* PostgreSQL type OID of values on the wire */
    const char *value_sql; /* the type of its values (serial -> integer) */
} sqltype_info;

/* Parses a db:type value (case-insensitive; "int" means integer).  On
 * failure writes the reason into why and returns false. */
bool sqltype_parse(const char *text, sqltype *out, char *why, size_t whysize);

const sqltype_info *sqltype_info_of(sqltype_kind kind);

/* The type as written in CREATE TABLE, e.g. "numeric(30,4)" (caller frees). */
char *sqltype_sql(const sqltype *t);

/* The type of the values, for a referencing column: serial -> integer,
 * bigserial -> bigint, others as sqltype_sql (caller frees). */
char *sqltype_value_sql(const sqltype *t);

/* The allowed types, for error messages. */
const char *sqltype_allowed(void);

#endif
