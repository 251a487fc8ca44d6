/*
 * dbont/table.h: the table descriptors generated code is built on, and the
 * generic row operations that use them.
 *
 * dbont-gen writes, for each table, a typed row struct, a typed "new row"
 * struct for inserts, and a constant dbont_table describing both (column
 * types, field offsets, the quoted SQL names and the prepared statements).
 * The generated functions are thin typed wrappers over the calls below,
 * which do the encoding (binary parameters where the type allows), the
 * execution and the decoding into one dbont_result.
 *
 * Ownership: descriptors are constant data of the generated code.  Results
 * come back through *out as a dbont_result the caller frees with
 * dbont_result_free; rows inside it point into it.
 */
#ifndef DBONT_TABLE_H
#define DBONT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbont/conn.h"
#include "dbont/result.h"
#include "dbont/stmt.h"
#include "dbont/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Column value types and the C field type each one is stored in:
 *   DBONT_SMALLINT    int16_t          (smallint)
 *   DBONT_INTEGER     int32_t          (integer, int, serial)
 *   DBONT_BIGINT      int64_t          (bigint, bigserial)
 *   DBONT_BOOLEAN     bool
 *   DBONT_REAL        float
 *   DBONT_DOUBLE      double           (double precision)
 *   DBONT_NUMERIC     const char *     exact decimal text, e.g. "-12.50"
 *   DBONT_TEXT        const char *     UTF-8, NUL-terminated
 *   DBONT_VARCHAR     const char *     UTF-8, NUL-terminated
 *   DBONT_UUID        dbont_uuid
 *   DBONT_DATE        dbont_date
 *   DBONT_TIMESTAMP   dbont_timestamp
 *   DBONT_TIMESTAMPTZ dbont_timestamp
 *   DBONT_JSONB       const char *     JSON text
 *   DBONT_BYTEA       dbont_bytes
 */
typedef enum dbont_type {
    DBONT_SMALLINT,
    DBONT_INTEGER,
    DBONT_BIGINT,
    DBONT_BOOLEAN,
    DBONT_REAL,
    DBONT_DOUBLE,
    DBONT_NUMERIC,
    DBONT_TEXT,
    DBONT_VARCHAR,
    DBONT_UUID,
    DBONT_DATE,
    DBONT_TIMESTAMP,
    DBONT_TIMESTAMPTZ,
    DBONT_JSONB,
    DBONT_BYTEA
} dbont_type;

/* Marks an offset that does not exist (e.g. the NULL flag of a NOT NULL
 * column). */
#define DBONT_NO_FIELD SIZE_MAX

typedef struct dbont_column {
    const char *name;       /* SQL name as in the ontology, for messages */
    const char *sql;        /* SQL identifier, quoted where needed */
    dbont_type type;
    bool not_null;
    /* In the row struct: the value and its `bool <name>_is_null` flag. */
    size_t row_offset;
    size_t row_null_offset;     /* DBONT_NO_FIELD when not_null */
    /* In the new-row struct: the value, the NULL flag, and the
     * `bool <name>_set` flag of a column that has a default (serial or
     * db:default); an unset column takes its default. */
    size_t new_offset;
    size_t new_null_offset;     /* DBONT_NO_FIELD when not_null */
    size_t new_set_offset;      /* DBONT_NO_FIELD when there is no default */
} dbont_column;

typedef struct dbont_table {
    const char *name;           /* SQL name as in the ontology */
    const char *sql;            /* SQL identifier, quoted where needed */
    size_t row_size;            /* sizeof the row struct */
    size_t ncolumns;
    const dbont_column *columns;    /* in ontology (and SELECT) order */
    size_t npk;
    const uint16_t *pk;         /* column indexes of the primary key */
    /*
     * Base id of the insert statements.  An insert names the columns the
     * caller set (columns with a default may be left out, so their default
     * applies); each combination is one statement, composed from the
     * columns' SQL names, prepared on first use and named from this id and
     * the combination.
     */
    uint64_t insert_id;
    /* Statements with the parameter order below; NULL when the table has
     * no primary key (get, update, delete) or no non-key column (update).
     *   get:    pk columns                 SELECT all columns
     *   update: pk columns, then the rest  (no rows returned)
     *   remove: pk columns                 (no rows returned)
     *   list:   limit, offset (bigint)     SELECT all columns ORDER BY pk */
    const dbont_stmt *get;
    const dbont_stmt *update;
    const dbont_stmt *remove;
    const dbont_stmt *list;
    /* sizeof the new-row struct (bulk insert reads an array of them) */
    size_t new_size;
    /* Tables related to this one by a foreign key, usable as "has a
     * related row" filters (dbont/filter.h); NULL when there is none. */
    size_t nrelations;
    const struct dbont_relation *relations;
    /* Row-level security is on.  PostgreSQL refuses COPY FROM into such a
     * table, so bulk insert sends one INSERT ... SELECT FROM unnest() of
     * arrays instead (dbont/copy.h), which the policies check. */
    bool row_security;
    /* Its mutations emit <event_entity>:created, :updated and :deleted to
     * the cache attached to the connection (dbont/cache.h). */
    const char *event_entity;
    /* It has a tenant column (multi-tenant): its events carry the tenant
     * of the connection's tenant session.  Those of a table without one
     * carry no tenant (""), as the cached queries over it are keyed, also
     * when they are written inside a tenant session. */
    bool tenant_scoped;
} dbont_table;

/* A relation usable as a filter: rows of this table for which a related
 * row exists.  exists_sql is a complete, generator-made condition, e.g.
 * EXISTS (SELECT 1 FROM posts WHERE posts.user_id = users.id). */
typedef struct dbont_relation {
    const char *name;       /* the related table, for messages */
    const char *exists_sql;
} dbont_relation;

/*
 * Inserts new_row (a pointer to the table's new-row struct) and, when out is
 * not NULL, returns the row as stored (with its generated columns) as a
 * one-row result.  With out NULL the statement has no RETURNING (another
 * prepared variant).  A NULL text/numeric/jsonb pointer in a NOT NULL column is
 * refused before anything is sent (SQLSTATE 23502).
 */
dbont_status dbont_table_insert(dbont_conn *conn, const dbont_table *table,
                                const void *new_row, dbont_result **out,
                                dbont_error *err);

/*
 * Reads the row whose primary key equals the key fields of key_row (a row
 * struct; only its key fields are read).  Returns DBONT_NOT_FOUND (and
 * *out NULL) when there is none.
 */
dbont_status dbont_table_get(dbont_conn *conn, const dbont_table *table,
                             const void *key_row, dbont_result **out,
                             dbont_error *err);

/* Writes every non-key column of row to the row with row's key.
 * DBONT_NOT_FOUND when no row has that key. */
dbont_status dbont_table_update(dbont_conn *conn, const dbont_table *table,
                                const void *row, dbont_error *err);

/* Deletes the row with key_row's key.  DBONT_NOT_FOUND when there is none. */
dbont_status dbont_table_remove(dbont_conn *conn, const dbont_table *table,
                                const void *key_row, dbont_error *err);

/* Reads up to limit rows (limit >= 0) after skipping offset rows, in
 * primary key order (in no defined order for a table without one). */
dbont_status dbont_table_list(dbont_conn *conn, const dbont_table *table,
                              int64_t limit, int64_t offset,
                              dbont_result **out, dbont_error *err);

/*
 * Decodes the rows of pg, a PGRES_TUPLES_OK result asked for in binary
 * (dbont_stmt_exec with result_format 1), into an array of row_size-byte
 * structs laid out by columns (their name, type, not_null, row_offset and
 * row_null_offset; the new-row fields are not used), as one dbont_result.
 * For generated query functions whose rows are not a table's.
 *
 * Takes ownership of pg in every case: the result keeps it (text, jsonb
 * and bytea fields point into it) or it is cleared on failure.  what names
 * the query in messages.  Fails with 42804 when the result's columns or
 * types differ from columns, or a NOT NULL field receives NULL.
 */
dbont_status dbont_result_decode(PGresult *pg, const char *what,
                                 const dbont_column *columns, size_t ncolumns,
                                 size_t row_size, dbont_result **out,
                                 dbont_error *err);

#ifdef __cplusplus
}
#endif

#endif
