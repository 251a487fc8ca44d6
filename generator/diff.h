/*
 * diff.h: the statements that take one schema to another.
 *
 * diff_schemas compares the schema the migrations produce (from) with the
 * schema wanted (to) and lists the changes, each one SQL statement, in an
 * order PostgreSQL accepts:
 *
 *   drop foreign keys, keys (pk, unique) and policies; rename tables,
 *   columns and constraints; drop tables and columns; create the
 *   application role and the tenant functions; alter columns; add columns;
 *   create tables; add keys and foreign keys; row-level security,
 *   policies and grants; indexes of new tables; drop the tenant functions;
 *   then, each alone and outside any transaction (change.no_transaction),
 *   the CONCURRENTLY builds and drops of indexes on existing tables.
 *
 * Renames are never guessed: they come from the list of name changes (built from
 * the ontology's db:formerName, see diff_renames).  A foreign key whose
 * columns change type, or whose referenced key is rebuilt, is dropped
 * and added again around the change.  Changes that can destroy data are
 * marked (dropping a table or column, narrowing a type, NOT NULL on a
 * column that may hold NULLs) with a note saying what they destroy.
 *
 * Ownership: a changes list owns its strings; changes_free releases them.
 * The created-table pointers point into `to`, which must outlive the list.
 */
#ifndef DBONT_GEN_DIFF_H
#define DBONT_GEN_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "schema.h"

typedef struct name_change {
    bool column;
    char *table; /* the table's name in the target schema */
    char *from;  /* the old name (of the table, or of the column) */
    char *to;    /* the new name */
} name_change;

typedef struct name_changes {
    name_change *v;
    size_t n, cap;
} name_changes;

typedef enum change_phase {
    PH_DROP_FK,
    PH_DROP_KEY,
    PH_DROP_POLICY,
    PH_DROP_SEARCH,        /* full-text search functions that change or go */
    PH_RENAME_TABLE,
    PH_RENAME_COLUMN,
    PH_RENAME_CONSTRAINT,
    PH_DROP_TABLE,
    PH_DROP_COLUMN,
    PH_ROLE,
    PH_CREATE_FUNCTION,
    PH_ALTER_COLUMN,
    PH_ADD_COLUMN,
    PH_CREATE_TABLE,
    PH_ADD_KEY,
    PH_ADD_FK,
    PH_RLS,
    PH_CREATE_POLICY,
    PH_GRANT,
    PH_SEARCH_FUNCTION,    /* full-text search functions (search.h) */
    PH_CREATE_INDEX,       /* on a table this migration creates: in the transaction */
    PH_PARTITION,          /* default partitions, dbont_partitioned, making the partitions */
    PH_DROP_FUNCTION,
    /* Indexes of existing tables are built and dropped CONCURRENTLY, so
     * they come last, each its own step outside any transaction. */
    PH_DROP_INDEX_REUSED,  /* an index whose name the changed index takes */
    PH_CREATE_INDEX_CONCURRENTLY,
    PH_DROP_INDEX          /* after its replacement exists */
} change_phase;

typedef struct change {
    change_phase phase;
    size_t seq;            /* order of discovery, kept within a phase */
    char *summary;         /* "add column users.bio text" */
    char *slug;            /* "add_users_bio": names the migration */
    char *sql;             /* the statement without ';' (NULL for create) */
    const stable *create;  /* CREATE TABLE: the table, from `to` */
    bool *inline_fk;       /* CREATE TABLE: per constraint, written inside it */
    bool destructive;
    char *note;            /* what it destroys, or a warning; or NULL */
    bool no_transaction;   /* runs alone, outside any transaction */
    char *index_name;      /* no_transaction: the index it builds, or NULL */
    bool partition_indexes; /* no_transaction, no sql: dbont-migrate builds
                             * index_name on each partition of table */
    char *table;           /* partition_indexes: the partitioned table */
    dpos pos;              /* the ontology place it comes from, if any */
} change;

typedef struct changes {
    change *v;
    size_t n, cap;
} changes;

/* The renames that to's db:formerName hints ask for, given from: a hint
 * whose old name from does not have (or whose new name it already has) is
 * ignored, so hints can stay in the ontology after their migration. */
void diff_renames(const schema *from, const schema *to, name_changes *out);

/* The same renames the other way round, for the down migration. */
void renames_reverse(const name_changes *in, const schema *from, name_changes *out);

void renames_free(name_changes *r);

/*
 * Lists the changes from `from` to `to` in *out (sorted by phase) and
 * writes the resulting schema, `to` with each table's columns in physical
 * order (existing columns first, added ones appended), into *result when
 * it is not NULL.  Returns false (reported through d, at the ontology
 * places of to) for a change it cannot make.
 */
bool diff_schemas(const schema *from, const schema *to, const name_changes *rn, changes *out, schema *result,
                  diag *d);

void changes_free(changes *c);

/* The changes as plain SQL text, one statement per line ended by ';'
 * (what the migration skeleton lays out, without its comments), all
 * runnable in one transaction: CONCURRENTLY is left out. */
char *changes_sql(const changes *c);

/* SQL definitions: "name type NOT NULL DEFAULT (x)" and
 * "PRIMARY KEY (a, b)", "FOREIGN KEY (a) REFERENCES t (b) ON DELETE ...". */
char *scolumn_definition(const scolumn *c);
char *sconstraint_definition(const sconstraint *c);

#endif
