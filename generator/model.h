/*
 * model.h: what the ontology says, as plain C structs.
 *
 * The model holds no serd or graph types: emitters read only this.  Every
 * value keeps the place it came from, so checks and later stages can point
 * at the ontology line.  Fields under "derived" are filled by the checks
 * (check.c), never by the builder.
 *
 * Ownership: the model owns every string and array in it; model_free
 * releases everything.  Positions point at file names owned by the graph,
 * which must outlive the model.
 */
#ifndef DBONT_GEN_MODEL_H
#define DBONT_GEN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "sqltypes.h"

/* A value given in the ontology, or absent (v == NULL / set == false). */
typedef struct mstr {
    char *v;
    dpos pos;
} mstr;

typedef struct mbool {
    bool v;
    bool set;
    dpos pos;
} mbool;

typedef struct mint {
    int64_t v;
    bool set;
    dpos pos;
} mint;

typedef struct mstrs {
    mstr *items;
    size_t n;
    bool set;
    dpos pos;
} mstrs;

typedef enum mvalue_kind { MV_STRING, MV_INTEGER, MV_DECIMAL, MV_DOUBLE, MV_BOOLEAN } mvalue_kind;

typedef struct mvalue {
    mvalue_kind kind;
    char *text;
    dpos pos;
} mvalue;

typedef struct mvalues {
    mvalue *items;
    size_t n;
    bool set;
    dpos pos;
} mvalues;

typedef enum on_delete { ON_DELETE_DEFAULT, ON_DELETE_CASCADE, ON_DELETE_RESTRICT, ON_DELETE_SET_NULL } on_delete;

struct table;

typedef struct column {
    dpos pos; /* where the column's description starts */
    mstr name;
    mstr type;
    mbool nullable;
    mbool primary_key;
    mbool unique;
    mstr default_sql;
    mstr references; /* IRI of a table */
    mstr references_column;
    mstr on_delete;
    mstr part_of; /* IRI; only mt:TenantKey is meaningful */
    mstr former_name; /* db:formerName: the name it had, for a rename */
    unsigned build_errors; /* errors found while reading it (a misspelled
                            * db:type explains a missing one) */

    /* derived */
    sqltype stype;
    bool not_null;
    bool has_default;       /* serial types or db:default */
    on_delete delete_rule;
    bool tenant_fk;         /* a reference kept inside the tenant:
                             * (tenant, col) -> (its tenant, ref col) */
    struct table *ref_table;
    size_t ref_column;      /* index into ref_table->cols */
    char *sql;              /* SQL identifier, quoted where needed */
    char *c_name;           /* C field name */
    char *c_flag;           /* stem of its flags: <c_flag>_is_null, <c_flag>_set
                             * (the name without the keyword suffix: a column
                             * "default" has default_ and default_is_null) */
    char *fk_name;          /* name of its foreign key constraint (unquoted) */
} column;

typedef struct policy {
    dpos pos;
    mstr name;
    mstr command;
    mstr using_expr;
    mstr with_check;
} policy;

typedef struct table {
    char *iri;
    dpos pos; /* the subject of `a db:Table` */
    mstr table_name;
    mstr entity_name;
    mstr former_name; /* db:formerName: the SQL name it had, for a rename */
    column *cols;
    size_t ncols;
    bool columns_set;
    dpos columns_pos;
    mstrs primary_key;       /* table-level composite key */
    mstrs *uniques;          /* table-level composite unique constraints */
    size_t nuniques;
    mbool multi_tenant;
    mstr tenant_id_column;
    mbool rls;
    policy *policies;
    size_t npolicies;
    bool policies_set;
    dpos policies_pos;
    unsigned build_errors; /* errors found while reading it: the checks
                            * then skip "missing" errors they explain */

    /* derived */
    char *name;     /* SQL name */
    char *sql;      /* SQL identifier, quoted where needed */
    char *c_name;   /* C name part: <prefix>_<c_name> */
    size_t *pk;     /* column indexes of the primary key */
    size_t npk;
    size_t **unique_sets; /* column indexes per unique constraint (table and column level) */
    size_t *unique_sizes;
    size_t nunique_sets;
    size_t tenant_col;      /* index of the tenant column, or (size_t)-1 */
    bool rls_on;            /* row-level security enabled and forced */
    struct shard_strategy *range_partition; /* PARTITION BY RANGE, or NULL */
    struct shard_strategy *hash_shard;      /* consistent-hash shards, or NULL */
    char *event_entity;     /* its events are <event_entity>:created|updated|deleted */
    char *pk_name;          /* names of the constraints (unquoted) */
    char **unique_names;
} table;

typedef struct where_clause {
    bool set;
    dpos pos;
    mstr condition;
    mvalues params;
} where_clause;

typedef struct join_clause {
    dpos pos;
    mstr type;
    mstr table; /* IRI */
    mstr on;
} join_clause;

typedef struct query {
    /* a full-text search's query has only iri, pos and c_name */
    char *iri;
    dpos pos;
    mstr from; /* IRI */
    where_clause where;
    mstrs select;
    join_clause *joins;
    size_t njoins;
    mstrs group_by;
    mstr having;
    mvalues having_params;
    mstrs order_by;
    mint limit;
    mstr returns;
    mstrs param_names;
    mbool cacheable;
    mstr cache_key_template;
    mint cache_ttl;
    mstrs invalidate_on;
    mstrs result_not_null; /* db:resultNotNull: result columns known NOT NULL */
    mstrs result_nullable; /* db:resultNullable: result columns that may be NULL */

    /* derived */
    char *c_name; /* the C name part: <prefix>_<c_name>(...) */
} query;

typedef struct mt_pattern {
    char *iri;
    dpos pos;
    mstr isolation_level;
    mstr storage_strategy;
    mstr tenant_setting; /* (ext) the setting that holds the session's tenant */
    mstr app_role;       /* (ext) the application role's name */
} mt_pattern;

typedef struct cache_strategy {
    char *iri;
    dpos pos;
    mstr backend;
    mint ttl;
    mstr invalidation_strategy;
} cache_strategy;

typedef struct cache_pattern {
    char *iri;
    dpos pos;
    mstr trigger_event;
    mstrs queries; /* IRIs */
} cache_pattern;

typedef struct shard_strategy {
    char *iri;
    dpos pos;
    mstr table; /* IRI */
    mstr algorithm;
    mstr key;
    mint shard_count;
    mint replication_factor;
    mstr range_size;
    mint hot_data_window;
    mint periods_ahead; /* (ext) range-based: periods made ahead of now */

    /* derived (tbl and key_col: both algorithms) */
    struct table *tbl;
    size_t key_col;
    const char *range;   /* "daily", "monthly" (the default) or "yearly" */
    int64_t hot_days;    /* 0 when not given */
    int64_t ahead;       /* 3 when not given */
} shard_strategy;

typedef struct index_def {
    char *iri;
    dpos pos;
    mstr table; /* IRI */
    mstrs columns;
    mbool unique;
    mstr type;
    mstr partial_predicate;
    mstr language;

    /* derived */
    struct table *tbl;  /* the indexed table */
    size_t *cols;       /* column indexes into tbl->cols, columns.n of them */
    const char *method; /* "btree" (the default), "hash", "gin", "gist", "brin" */
    bool full_text;     /* idx:language: indexes the columns' text search document */
    char *name;         /* the index's SQL name (unquoted) */
    /* full_text: the search that uses it (search.h) */
    char *search_name;  /* "posts_title_content_search": the SQL function's
                         * name when search_definer, and the C function's
                         * after the prefix */
    bool search_definer; /* runs as a SECURITY DEFINER function, so that it
                          * can use the index under row-level security */
    struct query *search_query; /* its plan's query (owned) */
} index_def;

/* Multi-tenancy of the whole model (derived; has_tenancy false when no
 * table is multi-tenant). */
typedef struct tenancy {
    bool has_tenancy;
    char *setting;  /* e.g. app.current_org_id */
    char *app_role; /* e.g. app_user */
    sqltype type;   /* of every tenant column */
} tenancy;

#define MODEL_ARRAY(type, name) \
    type *name;                 \
    size_t n##name;             \
    size_t name##_cap

typedef struct model {
    MODEL_ARRAY(table *, tables);
    MODEL_ARRAY(query *, queries);
    MODEL_ARRAY(mt_pattern *, mt_patterns);
    MODEL_ARRAY(cache_strategy *, cache_strategies);
    MODEL_ARRAY(cache_pattern *, cache_patterns);
    MODEL_ARRAY(shard_strategy *, shards);
    MODEL_ARRAY(index_def *, indexes);

    tenancy tenancy; /* derived */

} model;

void model_init(model *m);
void model_free(model *m);

/* The table whose IRI is iri, or NULL. */
table *model_find_table(const model *m, const char *iri);
/* Index of the column named name in t, or (size_t)-1. */
size_t table_find_column(const table *t, const char *name);

#endif
