m4_divert(-1)
# c-header.m4: the generated C header.
#
# Values from dbont-gen:
#   d4_version d4_sources d4_guard     provenance and include guard
#   d4_header_tables                   one sequence of the calls below per table
#
# After the tables, for each query:
#   d4_h_query_begin(NAME)
#   d4_h_query_params(TYPE, FIELDS)    only when it has parameters
#   d4_h_query_rows(TYPE, FIELDS)      its own row type, or
#   d4_h_query_table_rows(TYPE, TABLE_TYPE)  the FROM table's (no db:select)
#   d4_h_query_many|one|none(TYPE, PARAMS, SQL)
#                                      PARAMS: "const char *email, " (each
#                                      followed by ", "); SQL: the statement
#   d4_h_query_batch(TYPE)             only when it has parameters
#   d4_h_warm(FUNCTION, EVENT, QUERIES) a cache:Pattern's warm-up function
#   d4_h_cache_backend(MACRO_PREFIX, CONSTANT, BACKEND)
#                                      the cache:backend, as <P>_CACHE_BACKEND
#   d4_h_shard_route(STEM, MACRO_STEM, TABLE, KEY, COUNT, COPIES, KEY_DECL, CALL, KEPT)
#                                      a consistent-hash table's shard count,
#                                      copies and <stem>_shard_of(key)
#   d4_h_query_cached(TYPE, PARAMS, ABOUT)
#                                      a db:cacheable query's _cached function;
#                                      ABOUT: "kept 60 s, per tenant; ..."
#   d4_h_query_sharded_many|one|none(TYPE, ARGS, COMMENT)
#                                      a query over sharded tables that runs on
#                                      one shard (query_shard.h); ARGS: PARAMS,
#                                      after "dbont_uuid tenant, " when it runs
#                                      in a tenant session; COMMENT: the lines
#                                      of its comment (" * ..." each)
#   d4_h_query_fanout_many|one|none(TYPE, PARAMS, COMMENT)
#                                      one that runs on every shard, merged
#
# Before the tables, when the ontology has multi-tenant tables:
#   d4_h_tenant(PREFIX, MACRO_PREFIX, SETTING_LIT, TENANT_DECL)
#
# Calls, in the order dbont-gen makes them for each table:
#   d4_h_begin(SQL_NAME)
#   d4_h_row(TYPE, SQL_NAME, FIELDS)   FIELDS: d4_h_field(DECLARATION) calls
#   d4_h_new(TYPE, FIELDS)
#   d4_h_rows(TYPE)
#   d4_h_insert(TYPE)
#   d4_h_get(TYPE, KEY_PARAMS)         only for a table with a primary key
#   d4_h_update(TYPE)                  only when it has non-key columns too
#   d4_h_delete(TYPE, KEY_PARAMS)      only for a table with a primary key
#   d4_h_list(TYPE, ORDER)             ORDER: "primary key order" or "no defined order"
#   d4_h_copy(TYPE)                    bulk insert with COPY
#   d4_h_sharded(TYPE, HOW)            a routed table's insert and bulk insert
#                                      over a shard set (dbont/sharded.h);
#                                      HOW: where each call runs
#   d4_h_get_sharded(TYPE, KEY_PARAMS) with a primary key: get and delete;
#                                      KEY_PARAMS: the shard key first when
#                                      the primary key lacks it
#   d4_h_update_sharded(TYPE)          with non-key columns too
#   d4_h_filter(TYPE, CONSTANTS, SETTERS)
#                                      CONSTANTS: d4_h_column_constant(NAME, INDEX, SEP);
#                                      SETTERS: per filterable column
#                                      d4_h_where(TYPE, STEM, FIELD, VALUE_DECL)
#                                      followed by d4_h_where_bit(INDEX), and
#                                      d4_h_where_null(TYPE, STEM, INDEX) when
#                                      nullable; per relation
#                                      d4_h_where_has(TYPE, NAME, INDEX, TABLE)

# d4_h_indent(TEXT): as many spaces as TEXT has characters, to align the
# parameters of a function that is broken over several lines.
m4_define(«d4_h_indent», «m4_substr(«                                                                                                                        », 0, m4_len(«$1»))»)

m4_define(«d4_h_field», «    $1;
»)

m4_define(«d4_h_tenant», «
/* ---- tenant sessions ---------------------------------------------------- */

/*
 * Row-level security shows, and accepts, only the rows of the session's
 * tenant (docs/multi-tenancy.md).  Call the functions below between
 * $1_tenant_begin, which opens a transaction and sets the tenant in it,
 * and $1_tenant_end, which commits (commit true) or rolls back.  The
 * tenant lasts as long as the transaction: a pooled connection never
 * carries it to its next user.  Outside a tenant session, a multi-tenant
 * table shows no rows and accepts none.
 */
#define $2_TENANT_SETTING $3

dbont_status $1_tenant_begin(dbont_conn *conn, $4, dbont_error *err);
dbont_status $1_tenant_end(dbont_conn *conn, bool commit, dbont_error *err);
»)

m4_define(«d4_h_begin», «
/* ---- table $1 m4_substr(«------------------------------------------------------------», m4_len($1)) */
»)

m4_define(«d4_h_row», «
/*
 * A row of table $2, columns in ontology order.  A nullable column
 * has a <column>_is_null flag.  Text, numeric, jsonb and bytea values point
 * into the dbont_result that returned the row.
 */
typedef struct $1 {
$3} $1;
»)

m4_define(«d4_h_new», «
/*
 * A row to insert.  A column with a default (serial or db:default) gets its
 * default unless its <column>_set flag is true.  A NULL pointer (text,
 * numeric, jsonb) means SQL NULL.
 */
typedef struct $1_new {
$2} $1_new;
»)

m4_define(«d4_h_rows», «
/* Rows returned by a call.  Free them, and every string they point to, with
 * $1_rows_free. */
typedef struct $1_rows {
    size_t count;
    $1 *rows;
    dbont_result *result;
} $1_rows;

void $1_rows_free($1_rows *rows);
»)

m4_define(«d4_h_insert», «
/* Inserts row.  When out is not NULL it receives the row as stored, with
 * its generated values (serial numbers, defaults). */
dbont_status $1_insert(dbont_conn *conn, const $1_new *row,
d4_h_indent(«dbont_status »$1«_insert(»)$1_rows *out, dbont_error *err);
»)

m4_define(«d4_h_get», «
/* Reads the row with this primary key into out (which may be NULL to test
 * for existence).  DBONT_NOT_FOUND when there is none. */
dbont_status $1_get(dbont_conn *conn, $2,
d4_h_indent(«dbont_status »$1«_get(»)$1_rows *out, dbont_error *err);
»)

m4_define(«d4_h_update», «
/* Writes every non-key column of row to the row with row's primary key.
 * DBONT_NOT_FOUND when there is none. */
dbont_status $1_update(dbont_conn *conn, const $1 *row,
d4_h_indent(«dbont_status »$1«_update(»)dbont_error *err);
»)

m4_define(«d4_h_delete», «
/* Deletes the row with this primary key.  DBONT_NOT_FOUND when there is
 * none. */
dbont_status $1_delete(dbont_conn *conn, $2,
d4_h_indent(«dbont_status »$1«_delete(»)dbont_error *err);
»)

m4_define(«d4_h_list», «
/* Reads up to limit rows after skipping offset rows, in $2,
 * into out (which may be NULL to only run the query). */
dbont_status $1_list(dbont_conn *conn, int64_t limit, int64_t offset,
d4_h_indent(«dbont_status »$1«_list(»)$1_rows *out, dbont_error *err);
»)
m4_define(«d4_h_copy», «
/* Inserts rows[0..n) in one COPY: all or nothing.  A column with a default
 * is sent when the first row sets it (then every row must); on failure
 * *failed_row (when not NULL) is the index of the row at fault. */
dbont_status $1_copy(dbont_conn *conn, const $1_new *rows, size_t n,
d4_h_indent(«dbont_status »$1«_copy(»)size_t *failed_row, dbont_error *err);
»)

m4_define(«d4_h_sharded», «
/*
 * Over a shard set (dbont/sharded.h, docs/scale-out.md): the same
 * operations, each run $2 (its primary; a get may read a
 * standby with DBONT_SHARD_READ_STALE_OK).  While rows move to more
 * shards, a get, update or delete that finds nothing on the key's new
 * shard looks on its old one.  Errors name the shard.
 */
dbont_status $1_insert_sharded(dbont_shardset *set, const $1_new *row,
d4_h_indent(«dbont_status »$1«_insert_sharded(»)$1_rows *out, dbont_error *err);
/* One bulk insert per shard (per tenant), each in its shard's transaction;
 * all committed only when every one succeeded.  The commits go one after
 * the other: a server lost between two leaves the earlier ones committed
 * (the error says which). */
dbont_status $1_copy_sharded(dbont_shardset *set, const $1_new *rows, size_t n,
d4_h_indent(«dbont_status »$1«_copy_sharded(»)size_t *failed_row, dbont_error *err);
»)

m4_define(«d4_h_get_sharded», «dbont_status $1_get_sharded(dbont_shardset *set, dbont_shard_access access, $2,
d4_h_indent(«dbont_status »$1«_get_sharded(»)$1_rows *out, dbont_error *err);
dbont_status $1_delete_sharded(dbont_shardset *set, $2,
d4_h_indent(«dbont_status »$1«_delete_sharded(»)dbont_error *err);
»)

m4_define(«d4_h_update_sharded», «dbont_status $1_update_sharded(dbont_shardset *set, const $1 *row, dbont_error *err);
»)

m4_define(«d4_h_query_begin», «
/* ---- query $1 m4_substr(«------------------------------------------------------------», m4_len($1)) */
»)

m4_define(«d4_h_query_params», «
/* The parameters of one run, for $1_batch. */
typedef struct $1_params {
$2} $1_params;
»)

m4_define(«d4_h_query_rows», «
/* A row of the result.  A column that may be NULL has a <column>_is_null
 * flag; text, numeric, jsonb and bytea values point into the result. */
typedef struct $1_row {
$2} $1_row;

typedef struct $1_rows {
    size_t count;
    $1_row *rows;
    dbont_result *result;
} $1_rows;

void $1_rows_free($1_rows *rows);
»)

m4_define(«d4_h_query_table_rows», «
/* Rows of table $2's type. */
typedef $2 $1_row;
typedef $2_rows $1_rows;

void $1_rows_free($1_rows *rows);
»)

m4_define(«d4_h_query_many», «
/* $3 */
dbont_status $1(dbont_conn *conn, $2$1_rows *out,
d4_h_indent(«dbont_status »$1«(»)dbont_error *err);
»)

m4_define(«d4_h_query_one», «
/* $3
 * DBONT_NOT_FOUND when there is no row. */
dbont_status $1(dbont_conn *conn, $2$1_rows *out,
d4_h_indent(«dbont_status »$1«(»)dbont_error *err);
»)

m4_define(«d4_h_query_none», «
/* $3 (its rows are not read) */
dbont_status $1(dbont_conn *conn, $2dbont_error *err);
»)

m4_define(«d4_h_query_batch», «
/* Runs the query once per params[i] in one pipeline; items[i] gets each
 * run's outcome (free them with dbont_batch_free).  DBONT_ERROR when any
 * run failed: the others still ran. */
dbont_status $1_batch(dbont_conn *conn, const $1_params *params, size_t n,
d4_h_indent(«dbont_status »$1«_batch(»)dbont_batch_item *items, dbont_error *err);

/* The rows of one batch item (they stay the item's). */
$1_rows $1_batch_rows(const dbont_batch_item *item);
»)

m4_define(«d4_h_cache_backend», «
/* The ontology's cache:backend ("$3"): dbont_cache_options.backend. */
#define $1_CACHE_BACKEND $2
»)

m4_define(«d4_h_shard_route», «
/* Table $3 is spread over $5 shards by $4 (shard:Strategy "consistent-hash";
 * docs/scale-out.md), each shard $9. */
#define $2_SHARD_COUNT $5
#define $2_REPLICATION_FACTOR $6

/* The shard, 0 .. $2_SHARD_COUNT - 1, of the row whose $4 is key: jump
 * consistent hash over xxHash64 of the key's canonical bytes, the same in
 * every program and every version of dbont. */
static inline int32_t $1_shard_of($7)
{
    const int32_t nshards = $2_SHARD_COUNT;
    return $8;
}
»)

m4_define(«d4_h_query_sharded_many», «
/*
$3
 */
dbont_status $1_sharded(dbont_shardset *set, dbont_shard_access access,
d4_h_indent(«dbont_status »$1«_sharded(»)$2,
d4_h_indent(«dbont_status »$1«_sharded(»)$1_rows *out, dbont_error *err);
»)
m4_define(«d4_h_query_sharded_one», m4_defn(«d4_h_query_sharded_many»))
m4_define(«d4_h_query_sharded_none», «
/*
$3
 */
dbont_status $1_sharded(dbont_shardset *set, dbont_shard_access access,
d4_h_indent(«dbont_status »$1«_sharded(»)$2, dbont_error *err);
»)

m4_define(«d4_h_query_fanout_many», «
/*
$3
 */
dbont_status $1_fanout(dbont_shardset *set, dbont_shard_access access, unsigned flags,
m4_ifelse($2, «», «», «d4_h_indent(«dbont_status »$1«_fanout(»)$2,
»)d4_h_indent(«dbont_status »$1«_fanout(»)$1_rows *out,
d4_h_indent(«dbont_status »$1«_fanout(»)dbont_fanout_report *report, dbont_error *err);
»)
m4_define(«d4_h_query_fanout_one», m4_defn(«d4_h_query_fanout_many»))
m4_define(«d4_h_query_fanout_none», «
/*
$3
 */
dbont_status $1_fanout(dbont_shardset *set, dbont_shard_access access, unsigned flags,
m4_ifelse($2, «», «», «d4_h_indent(«dbont_status »$1«_fanout(»)$2,
»)d4_h_indent(«dbont_status »$1«_fanout(»)dbont_fanout_report *report, dbont_error *err);
»)

m4_define(«d4_h_warm», «
/* The warm-up for the event "$2": runs $3 through cache with their
 * example values (db:params), so that their first callers hit.  Queries
 * of multi-tenant tables are cached for the connection's tenant session
 * (outside one they are not cached). */
dbont_status $1(dbont_conn *conn, dbont_cache *cache, dbont_error *err);
»)

m4_define(«d4_h_query_cached», «
/* The same through cache (dbont/cache.h; NULL: no cache): $3. */
dbont_status $1_cached(dbont_conn *conn, dbont_cache *cache, $2$1_rows *out,
d4_h_indent(«dbont_status »$1«_cached(»)dbont_error *err);
»)

m4_define(«d4_h_column_constant», «    $1 = $2$3
»)

m4_define(«d4_h_where», «
static inline void $1_where_$2($1_filter *f, $4)
{
    f->values.$3 = value;
»)
m4_define(«d4_h_where_bit», «    f->base.eq |= (uint64_t)1 << $1;
    f->base.is_null &= ~((uint64_t)1 << $1);
}
»)
m4_define(«d4_h_where_null», «
static inline void $1_where_$2_is_null($1_filter *f)
{
    f->base.is_null |= (uint64_t)1 << $3;
    f->base.eq &= ~((uint64_t)1 << $3);
}
»)
m4_define(«d4_h_where_has», «
/* Only rows that some row of table $4 refers to. */
static inline void $1_where_has_$2($1_filter *f)
{
    f->base.related |= (uint64_t)1 << $3;
}
»)

m4_define(«d4_h_filter», «
/*
 * Filters (dbont/filter.h): start from $1_filter_init(), call the
 * setters you need, then $1_find.  Values are sent as parameters; each
 * combination of filters is prepared once per connection.
 */
typedef struct $1_filter {
    dbont_filter base;
    $1 values;  /* the values of the equality filters */
} $1_filter;

typedef enum $1_column {
$2} $1_column;

$1_filter $1_filter_init(void);
$3
/* Orders by column (called again: the next key), at most
 * DBONT_FILTER_ORDER_MAX keys. */
static inline void $1_order_by($1_filter *f, $1_column column, dbont_order dir)
{
    if (f->base.norder < DBONT_FILTER_ORDER_MAX) {
        f->base.order_column[f->base.norder] = (uint16_t)column;
        f->base.order_dir[f->base.norder] = dir;
        f->base.norder++;
    }
}

/* At most limit rows (< 0: all), after skipping offset rows. */
static inline void $1_limit($1_filter *f, int64_t limit, int64_t offset)
{
    f->base.limit = limit;
    f->base.offset = offset;
}

/* Reads the rows that pass filter f. */
dbont_status $1_find(dbont_conn *conn, const $1_filter *f, $1_rows *out,
d4_h_indent(«dbont_status »$1«_find(»)dbont_error *err);
»)
m4_divert(0)m4_dnl
@output header@
/*
 * Generated by dbont-gen d4_version from d4_sources.  Do not edit: change the
 * ontology and run dbont-gen again.
 */
#ifndef d4_guard
#define d4_guard

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h> /* strlen, for the routers of text shard keys */

#include <dbont/dbont.h>

#ifdef __cplusplus
extern "C" {
#endif
d4_header_tables
#ifdef __cplusplus
}
#endif

#endif /* d4_guard */
