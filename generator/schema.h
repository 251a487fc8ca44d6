/*
 * schema.h: a database schema as plain data: tables, columns and
 * constraints with their SQL names.
 *
 * Two schemas meet in schema evolution: the one the ontology asks for
 * (schema_from_model) and the one the existing migrations produce (read
 * from the migrations folder's snapshot, snapshot.h).  diff.h turns the
 * difference into migration statements.  Names are stored unquoted;
 * whoever writes SQL quotes them (naming_sql_ident).
 *
 * Ownership: a schema owns every string and array in it; schema_free
 * releases them.
 */
#ifndef DBONT_GEN_SCHEMA_H
#define DBONT_GEN_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "model.h"

typedef struct scolumn {
    char *name;
    char *type;        /* as the vocabulary spells it: "varchar(40)", "serial" */
    bool not_null;
    char *default_sql; /* the SQL expression, or NULL */
    char *former_name; /* the ontology's db:formerName, or NULL */
    dpos pos;          /* where the ontology defines it; no file for a snapshot */
    dpos type_pos, nullable_pos;
} scolumn;

typedef enum scon_kind { SC_PRIMARY_KEY, SC_UNIQUE, SC_FOREIGN_KEY } scon_kind;

typedef struct sconstraint {
    scon_kind kind;
    char *name;
    char **cols;
    size_t ncols;
    char *ref_table; /* foreign keys */
    char **ref_cols;
    size_t nref;
    on_delete rule;
    char **null_cols; /* ON DELETE SET NULL (these): a reference kept inside
                       * the tenant nulls only its own column, not the tenant */
    size_t nnull;
} sconstraint;

/* A row-level security policy. */
typedef struct spolicy {
    char *name;
    char *command;   /* ALL, SELECT, INSERT, UPDATE or DELETE */
    char *using_sql; /* or NULL */
    char *check_sql; /* WITH CHECK, or NULL */
    bool restrictive; /* AS RESTRICTIVE: ANDed with the others, so a
                         permissive policy can widen nothing past it */
} spolicy;

/* An index (not one that backs a key: those are constraints). */
typedef struct sindex {
    char *name;
    char *method;    /* btree, hash, gin, gist or brin */
    bool unique;
    char **cols;
    size_t ncols;
    char *language;  /* a full-text index: its text search configuration;
                      * it indexes the columns' document (sindex_key_sql) */
    char *predicate; /* a partial index's WHERE condition, or NULL */
    char *search_function; /* a full-text index whose search is a SECURITY
                            * DEFINER function (search.h): its name */
    dpos pos;        /* the idx:Index in the ontology */
} sindex;

typedef struct stable {
    char *name;
    char *former_name; /* the ontology's db:formerName, or NULL */
    dpos pos;
    scolumn *cols; /* in table order */
    size_t ncols, cols_cap;
    sconstraint *cons;
    size_t ncons, cons_cap;
    bool rls;          /* row-level security enabled and forced */
    spolicy *policies;
    size_t npolicies, policies_cap;
    char *grant_role;  /* the application role granted its rows, or NULL */
    sindex *indexes;
    size_t nindexes, indexes_cap;
    /* PARTITION BY RANGE (partition_key), or partition_key NULL: its
     * partitions are made by dbont_maintain_partitions (partition.h) */
    char *partition_key;
    char *partition_range; /* daily, monthly or yearly */
    long long hot_days, periods_ahead;
    dpos partition_pos;    /* the shard:Strategy */
    /* consistent-hash shards (dbont/shard.h): rows routed by shard_key
     * over shard_count servers, or shard_key NULL.  Recorded so that a
     * later change, which would route rows where they are not, is
     * refused (diff.c). */
    char *shard_key;
    long long shard_count;
    dpos shard_pos;        /* the shard:Strategy */
    /* Writes to it notify the query cache (a trigger: dbont/cache.h):
     * events <cache_entity>:created|updated|deleted, for the tenant in
     * cache_tenant (a column), or NULL: no trigger */
    char *cache_entity;
    char *cache_tenant;
} stable;

typedef struct schema {
    stable *tables;
    size_t ntables, tables_cap;
    /* multi-tenancy: the tenant functions (current_org_id() and its alias
     * current_user_org_id()) read this setting as this type; NULL: none */
    char *tenant_setting;
    char *tenant_type;
    char *app_role; /* the application role, or NULL */
} schema;

void schema_init(schema *s);
void schema_free(schema *s);

/* The schema a checked model asks for (columns in ontology order). */
void schema_from_model(const model *m, schema *out);

/* Deep copy. */
void schema_copy(const schema *from, schema *to);

stable *schema_table(const schema *s, const char *name);
scolumn *stable_column(const stable *t, const char *name);
size_t stable_column_index(const stable *t, const char *name);

/* Appends an empty table / column / constraint and returns it. */
stable *schema_add_table(schema *s, const char *name);
scolumn *stable_add_column(stable *t, const char *name);
sconstraint *stable_add_constraint(stable *t, scon_kind kind, const char *name);
void sconstraint_add_col(sconstraint *c, const char *col);
void sconstraint_add_ref_col(sconstraint *c, const char *col);
void sconstraint_add_null_col(sconstraint *c, const char *col);
spolicy *stable_add_policy(stable *t, const char *name, const char *command, const char *using_sql,
                           const char *check_sql);

/* Removes table / column / constraint i (order of the rest is kept). */
void schema_remove_table(schema *s, size_t i);
void stable_remove_column(stable *t, size_t i);
void stable_remove_constraint(stable *t, size_t i);

sindex *stable_add_index(stable *t, const char *name, const char *method);
void sindex_add_col(sindex *x, const char *col);
void stable_remove_index(stable *t, size_t i);
sindex *stable_index(const stable *t, const char *name);

/* "USING gin (...) WHERE ..." : everything after "ON table ". */
char *sindex_definition(const sindex *x);

/* Whether two indexes index the same thing (names aside). */
bool sindex_same(const sindex *a, const sindex *b);

void sconstraint_copy(const sconstraint *from, sconstraint *to);
void sconstraint_free(sconstraint *c);

#endif
