m4_divert(-1)
# c-source.m4: the generated C source.
#
# Values from dbont-gen:
#   d4_version d4_sources d4_header    provenance and the header's file name
#   d4_source_tables                   one sequence of the calls below per table
#   d4_tenant_int                      1 when the tenant is an integer (the
#                                      source then needs <stdio.h>), else 0
#
# Before the tables, when the ontology has multi-tenant tables, one of:
#   d4_c_tenant_uuid(PREFIX, MACRO_PREFIX)
#   d4_c_tenant_int(PREFIX, MACRO_PREFIX, C_TYPE)
#   d4_c_tenant_text(PREFIX, MACRO_PREFIX)
# by the tenant column's type (the setting carries the tenant as text).
#
# Calls, in the order dbont-gen makes them for each table:
#   d4_c_begin(SQL_NAME)
#   d4_c_columns(TYPE, COLUMNS)        COLUMNS: d4_c_column(NAME_LIT, SQL_LIT,
#                                      DBONT_TYPE, NOT_NULL, ROW_OFFSET,
#                                      ROW_NULL_OFFSET, NEW_OFFSET,
#                                      NEW_NULL_OFFSET, NEW_SET_OFFSET) calls
#   d4_c_pk(TYPE, INDEXES)             only for a table with a primary key
#   d4_c_stmt(VAR, ID, NAME_LIT, SQL_LIT, NPARAMS, OIDS)
#                                      one per statement (get, update, delete,
#                                      list); OIDS is "1, 2" style
#   d4_c_relations(TYPE, ITEMS)        only when other tables refer to this one;
#                                      ITEMS: d4_c_relation(NAME_LIT, EXISTS_LIT)
#   d4_c_desc(TYPE, NAME_LIT, SQL_LIT, NCOLUMNS, NPK, PK_REF, INSERT_ID,
#             GET_REF, UPDATE_REF, DELETE_REF, LIST_REF, NRELATIONS,
#             RELATIONS_REF, ROW_SECURITY, EVENT_ENTITY_LIT, TENANT_SCOPED)
#                                      ROW_SECURITY: true or false;
#                                      EVENT_ENTITY_LIT: "post" for post:created;
#                                      TENANT_SCOPED: true or false (a tenant column)
#   d4_c_common(TYPE)                  rows_free and the result view
#   d4_c_insert(TYPE)
#   d4_c_get(TYPE, KEY_PARAMS, KEY_SETS)     KEY_SETS: d4_c_keyset(FIELD, PARAM)
#   d4_c_update(TYPE)
#   d4_c_delete(TYPE, KEY_PARAMS, KEY_SETS)
#   d4_c_list(TYPE)
#   d4_c_copy(TYPE)
#   d4_c_sharding(TYPE, KEY_INDEX, COUNT, TENANT_SETTING_LIT_OR_NULL)
#   d4_c_insert_sharded(TYPE)
#   d4_c_get_sharded(TYPE, KEY_PARAMS, KEY_SETS)   as d4_c_get, routed
#   d4_c_update_sharded(TYPE)
#   d4_c_delete_sharded(TYPE, KEY_PARAMS, KEY_SETS)
#   d4_c_copy_sharded(TYPE)
#   d4_c_find(TYPE)                    the filter's init and find
#
# After the tables, for each query:
#   d4_c_query_begin(NAME)
#   d4_c_stmt(VAR, ...) as above, or d4_c_stmt_noparams(VAR, ID, NAME_LIT, SQL_LIT)
#   d4_c_query_param_desc(TYPE, DBONT_TYPES, OFFSETS)  when it has parameters
#   d4_c_columns(TYPE, COLUMNS)        its own row type only
#   d4_c_query_desc(TYPE, NAME_LIT, NPARAMS, PARAM_TYPES_REF, PARAM_OFFSETS_REF,
#                   PARAMS_SIZE, NCOLUMNS, COLUMNS_REF, ROW_TYPE, KIND)
#   d4_c_query_common(TYPE) | d4_c_query_table_common(TYPE, TABLE_TYPE)
#   d4_c_query_many|one|none(TYPE, VIEW, PARAMS, SETS, ARG)
#                                      SETS: d4_c_query_params_decl(TYPE) then
#                                      d4_c_query_set(FIELD) calls (empty
#                                      without parameters); ARG: "&_p" or NULL
#   d4_c_query_batch(TYPE, VIEW)       when it has parameters
#   d4_c_warm(FUNCTION, CALLS)         a cache:Pattern's warm-up; CALLS:
#                                      d4_c_warm_query(TYPE, PARSES, ARGS) calls
#                                      (ARGS: the example values, each with
#                                      ", "; PARSES: d4_c_warm_uuid(LIT, VAR))
#   d4_c_query_cached(TYPE, VIEW, PARAMS, SETS, ARG, SCHEMA_HASH, TENANT_SCOPED,
#                     TTL, TEMPLATE_LIT, PARAM_NAME_LITS, EVENT_LITS, NEVENTS, ONE)
#                                      a db:cacheable query's _cached function
#                                      (dbont/cache.h); TEMPLATE_LIT may be
#                                      NULL, the lists empty; ONE: 1 when a
#                                      missing row is DBONT_NOT_FOUND
#
# A query over sharded tables that runs on one shard (query_shard.h):
#   d4_c_stmt(TYPE_probe, ...)         does a shard hold rows of the key
#   d4_c_query_routing(TYPE, KEY_DBONT_TYPE, COUNT, TENANT_SETTING_LIT_OR_NULL)
#   d4_c_query_sharded_many|one|none(TYPE, VIEW, ARGS, SETS, ARG, KEY_ARG)
#                                      ARGS as the header's; KEY_ARG: "&tenant"
#                                      or "&_p.<the parameter the key equals>"
# One that runs on every shard:
#   d4_c_stmt(TYPE_fanout, ...) and d4_c_query_desc(TYPE_fanout, ...)
#                                      the statement the shards run, when it
#                                      differs from the query's
#   d4_c_fanout_order(TYPE, KEYS, ABOUT)   KEYS: "{1, true, false}, ..."
#   d4_c_fanout_aggs(TYPE, AGGS)           AGGS: a line per column,
#                                          "    DBONT_FANOUT_GROUP, /* path */"
#   d4_c_fanout_spec(TYPE, ORDER_REF, NORDER, LIMIT, AGGS_REF, NAGGS)
#   d4_c_query_fanout_many|one|none(TYPE, VIEW, PARAMS, SETS, ARG, QUERY_REF, COUNT)

m4_define(«d4_c_begin», «
/* ---- table $1 m4_substr(«------------------------------------------------------------», m4_len($1)) */
»)

m4_define(«d4_c_tenant_head», «
/* ---- tenant sessions ---------------------------------------------------- */
»)

m4_define(«d4_c_tenant_end», «
dbont_status $1_tenant_end(dbont_conn *conn, bool commit, dbont_error *err)
{
    return dbont_tenant_end(conn, commit, err);
}
»)

m4_define(«d4_c_tenant_uuid», «d4_c_tenant_head
dbont_status $1_tenant_begin(dbont_conn *conn, dbont_uuid tenant, dbont_error *err)
{
    char text[DBONT_UUID_TEXT_SIZE];
    dbont_uuid_format(&tenant, text);
    return dbont_tenant_begin(conn, $2_TENANT_SETTING, text, err);
}
d4_c_tenant_end($1)»)

m4_define(«d4_c_tenant_int», «d4_c_tenant_head
dbont_status $1_tenant_begin(dbont_conn *conn, $3 tenant, dbont_error *err)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)tenant);
    return dbont_tenant_begin(conn, $2_TENANT_SETTING, text, err);
}
d4_c_tenant_end($1)»)

m4_define(«d4_c_tenant_text», «d4_c_tenant_head
dbont_status $1_tenant_begin(dbont_conn *conn, const char *tenant, dbont_error *err)
{
    return dbont_tenant_begin(conn, $2_TENANT_SETTING, tenant, err);
}
d4_c_tenant_end($1)»)

# d4_c_indent(TEXT): as many spaces as TEXT has characters.
m4_define(«d4_c_indent», «m4_substr(«                                                                                                                        », 0, m4_len(«$1»))»)

m4_define(«d4_c_column», «    {$1, $2, $3, $4,
     $5, $6,
     $7, $8,
     $9},
»)

m4_define(«d4_c_columns», «
static const dbont_column $1_columns[] = {
$2};
»)

m4_define(«d4_c_pk», «
static const uint16_t $1_pk[] = {$2};
»)

m4_define(«d4_c_stmt», «
static const Oid $1_types[] = {$6};
static const dbont_stmt $1_stmt = {
    UINT64_C($2), $3,
    $4,
    $5, $1_types};
»)

m4_define(«d4_c_relation», «    {$1,
     $2},
»)
m4_define(«d4_c_relations», «
static const dbont_relation $1_relations[] = {
$2};
»)

m4_define(«d4_c_desc», «
static const dbont_table $1_desc = {
    $2, $3, sizeof($1),
    $4, $1_columns,
    $5, $6,
    UINT64_C($7),
    $8,
    $9,
    $10,
    $11,
    sizeof($1_new),
    $12, $13, $14,
    $15, $16};
»)

m4_define(«d4_c_common», «
void $1_rows_free($1_rows *rows)
{
    if (!rows)
        return;
    dbont_result_free(rows->result);
    rows->result = NULL;
    rows->rows = NULL;
    rows->count = 0;
}

/* Points the typed view out at the rows of res (which may be NULL). */
static void $1_view(dbont_result *res, $1_rows *out)
{
    out->result = res;
    out->count = res ? dbont_result_count(res) : 0;
    out->rows = res ? ($1 *)dbont_result_rows(res) : NULL;
}
»)

m4_define(«d4_c_insert», «
dbont_status $1_insert(dbont_conn *conn, const $1_new *row,
d4_c_indent(«dbont_status »$1«_insert(»)$1_rows *out, dbont_error *err)
{
    dbont_result *_res = NULL;
    dbont_status _st = dbont_table_insert(conn, &$1_desc, row, out ? &_res : NULL, err);
    if (out)
        $1_view(_res, out);
    return _st;
}
»)

m4_define(«d4_c_keyset», «    _key.$1 = $2;
»)

m4_define(«d4_c_get», «
dbont_status $1_get(dbont_conn *conn, $2,
d4_c_indent(«dbont_status »$1«_get(»)$1_rows *out, dbont_error *err)
{
    $1 _key;
    dbont_result *_res = NULL;
    dbont_status _st;
    memset(&_key, 0, sizeof _key);
$3    _st = dbont_table_get(conn, &$1_desc, &_key, &_res, err);
    if (out)
        $1_view(_res, out);
    else
        dbont_result_free(_res);
    return _st;
}
»)

m4_define(«d4_c_update», «
dbont_status $1_update(dbont_conn *conn, const $1 *row,
d4_c_indent(«dbont_status »$1«_update(»)dbont_error *err)
{
    return dbont_table_update(conn, &$1_desc, row, err);
}
»)

m4_define(«d4_c_delete», «
dbont_status $1_delete(dbont_conn *conn, $2,
d4_c_indent(«dbont_status »$1«_delete(»)dbont_error *err)
{
    $1 _key;
    memset(&_key, 0, sizeof _key);
$3    return dbont_table_remove(conn, &$1_desc, &_key, err);
}
»)

m4_define(«d4_c_list», «
dbont_status $1_list(dbont_conn *conn, int64_t limit, int64_t offset,
d4_c_indent(«dbont_status »$1«_list(»)$1_rows *out, dbont_error *err)
{
    dbont_result *_res = NULL;
    dbont_status _st = dbont_table_list(conn, &$1_desc, limit, offset, &_res, err);
    if (out)
        $1_view(_res, out);
    else
        dbont_result_free(_res);
    return _st;
}
»)
m4_define(«d4_c_copy», «
dbont_status $1_copy(dbont_conn *conn, const $1_new *rows, size_t n,
d4_c_indent(«dbont_status »$1«_copy(»)size_t *failed_row, dbont_error *err)
{
    return dbont_table_copy(conn, &$1_desc, rows, n, failed_row, err);
}
»)

m4_define(«d4_c_sharding», «
static const dbont_sharding $1_sharding = {&$1_desc, $2, $3, $4};

»)

m4_define(«d4_c_insert_sharded», «dbont_status $1_insert_sharded(dbont_shardset *set, const $1_new *row,
d4_c_indent(«dbont_status »$1«_insert_sharded(»)$1_rows *out, dbont_error *err)
{
    dbont_result *_res = NULL;
    dbont_status _st = dbont_sharded_insert(set, &$1_sharding, row, out ? &_res : NULL, err);
    if (out)
        $1_view(_res, out);
    return _st;
}
»)

m4_define(«d4_c_get_sharded», «
dbont_status $1_get_sharded(dbont_shardset *set, dbont_shard_access access, $2,
d4_c_indent(«dbont_status »$1«_get_sharded(»)$1_rows *out, dbont_error *err)
{
    $1 _key;
    dbont_result *_res = NULL;
    dbont_status _st;
    memset(&_key, 0, sizeof _key);
$3    _st = dbont_sharded_get(set, &$1_sharding, access, &_key, &_res, err);
    if (out)
        $1_view(_res, out);
    else
        dbont_result_free(_res);
    return _st;
}
»)

m4_define(«d4_c_update_sharded», «
dbont_status $1_update_sharded(dbont_shardset *set, const $1 *row, dbont_error *err)
{
    return dbont_sharded_update(set, &$1_sharding, row, err);
}
»)

m4_define(«d4_c_delete_sharded», «
dbont_status $1_delete_sharded(dbont_shardset *set, $2,
d4_c_indent(«dbont_status »$1«_delete_sharded(»)dbont_error *err)
{
    $1 _key;
    memset(&_key, 0, sizeof _key);
$3    return dbont_sharded_remove(set, &$1_sharding, &_key, err);
}
»)

m4_define(«d4_c_copy_sharded», «
dbont_status $1_copy_sharded(dbont_shardset *set, const $1_new *rows, size_t n,
d4_c_indent(«dbont_status »$1«_copy_sharded(»)size_t *failed_row, dbont_error *err)
{
    return dbont_sharded_copy(set, &$1_sharding, rows, n, failed_row, err);
}
»)

m4_define(«d4_c_query_begin», «
/* ---- query $1 m4_substr(«------------------------------------------------------------», m4_len($1)) */
»)

m4_define(«d4_c_stmt_noparams», «
static const dbont_stmt $1_stmt = {
    UINT64_C($2), $3,
    $4,
    0, NULL};
»)

m4_define(«d4_c_query_param_desc», «
static const dbont_type $1_param_types[] = {$2};
static const size_t $1_param_offsets[] = {
    $3};
»)

m4_define(«d4_c_query_desc», «
static const dbont_query $1_query = {
    $2, &$1_stmt,
    $3, $4, $5, $6,
    $7, $8, sizeof($9)};
»)

m4_define(«d4_c_query_common», «
void $1_rows_free($1_rows *rows)
{
    if (!rows)
        return;
    dbont_result_free(rows->result);
    rows->result = NULL;
    rows->rows = NULL;
    rows->count = 0;
}

static void $1_view(dbont_result *res, $1_rows *out)
{
    out->result = res;
    out->count = res ? dbont_result_count(res) : 0;
    out->rows = res ? ($1_row *)dbont_result_rows(res) : NULL;
}
»)

m4_define(«d4_c_query_table_common», «
void $1_rows_free($1_rows *rows)
{
    $2_rows_free(rows);
}
»)

m4_define(«d4_c_query_params_decl», «    $1_params _p;
    memset(&_p, 0, sizeof _p);
»)
m4_define(«d4_c_query_set», «    _p.$1 = $1;
»)

m4_define(«d4_c_query_many», «
dbont_status $1(dbont_conn *conn, $3$1_rows *out,
d4_c_indent(«dbont_status »$1«(»)dbont_error *err)
{
$4    dbont_result *_res = NULL;
    dbont_status _st = dbont_query_run(conn, &$1_query, $5, out ? &_res : NULL, err);
    if (out)
        $2(_res, out);
    return _st;
}
»)
m4_define(«d4_c_query_one», «
dbont_status $1(dbont_conn *conn, $3$1_rows *out,
d4_c_indent(«dbont_status »$1«(»)dbont_error *err)
{
$4    dbont_result *_res = NULL;
    dbont_status _st = dbont_query_run(conn, &$1_query, $5, &_res, err);
    if (_st == DBONT_OK && dbont_result_count(_res) == 0)
        _st = DBONT_NOT_FOUND;
    if (out)
        $2(_res, out);
    else
        dbont_result_free(_res);
    return _st;
}
»)
m4_define(«d4_c_query_none», «
dbont_status $1(dbont_conn *conn, $3dbont_error *err)
{
$4    return dbont_query_run(conn, &$1_query, $5, NULL, err);
}
»)

m4_define(«d4_c_query_cached», «
m4_ifelse(«$10», «», «», «static const char *const $1_param_names[] = {$10};
»)m4_ifelse(«$11», «», «», «static const char *const $1_events[] = {$11};
»)
static const dbont_cached_query $1_cached_query = {
    &$1_query, UINT64_C($6), $7, $8, $9,
    m4_ifelse(«$10», «», «NULL», «$1_param_names»), m4_ifelse(«$11», «», «NULL», «$1_events»), $12};

dbont_status $1_cached(dbont_conn *conn, dbont_cache *cache, $3$1_rows *out,
d4_c_indent(«dbont_status »$1«_cached(»)dbont_error *err)
{
$4    dbont_result *_res = NULL;
    dbont_status _st = dbont_query_run_cached(conn, cache, &$1_cached_query, $5, &_res, err);
m4_ifelse(«$13», «1», «    if (_st == DBONT_OK && dbont_result_count(_res) == 0)
        _st = DBONT_NOT_FOUND;
»)    if (out)
        $2(_res, out);
    else
        dbont_result_free(_res);
    return _st;
}
»)

m4_define(«d4_c_query_routing», «
static const dbont_sharded_query $1_routing = {
    &$1_query, $2, $3, $4, &$1_probe_stmt};
»)

m4_define(«d4_c_query_sharded_many», «
dbont_status $1_sharded(dbont_shardset *set, dbont_shard_access access,
d4_c_indent(«dbont_status »$1«_sharded(»)$3,
d4_c_indent(«dbont_status »$1«_sharded(»)$1_rows *out, dbont_error *err)
{
$4    dbont_result *_res = NULL;
    dbont_status _st = dbont_sharded_query_run(set, &$1_routing, access, $6, $5,
                                               out ? &_res : NULL, err);
    if (out)
        $2(_res, out);
    return _st;
}
»)
m4_define(«d4_c_query_sharded_one», «
dbont_status $1_sharded(dbont_shardset *set, dbont_shard_access access,
d4_c_indent(«dbont_status »$1«_sharded(»)$3,
d4_c_indent(«dbont_status »$1«_sharded(»)$1_rows *out, dbont_error *err)
{
$4    dbont_result *_res = NULL;
    dbont_status _st = dbont_sharded_query_run(set, &$1_routing, access, $6, $5, &_res, err);
    if (_st == DBONT_OK && dbont_result_count(_res) == 0)
        _st = DBONT_NOT_FOUND;
    if (out)
        $2(_res, out);
    else
        dbont_result_free(_res);
    return _st;
}
»)
m4_define(«d4_c_query_sharded_none», «
dbont_status $1_sharded(dbont_shardset *set, dbont_shard_access access,
d4_c_indent(«dbont_status »$1«_sharded(»)$3, dbont_error *err)
{
$4    return dbont_sharded_query_run(set, &$1_routing, access, $6, $5, NULL, err);
}
»)

m4_define(«d4_c_fanout_order», «
/* The merge's order: $3. */
static const dbont_fanout_key $1_fanout_order[] = {$2};
»)
m4_define(«d4_c_fanout_aggs», «
/* How each result column combines across shards. */
static const dbont_fanout_agg $1_fanout_aggs[] = {
$2};
»)
m4_define(«d4_c_fanout_spec», «
static const dbont_fanout_spec $1_fanout_spec = {
    $2, $3, $4, 0, $5, $6};
»)

m4_define(«d4_c_query_fanout_many», «
dbont_status $1_fanout(dbont_shardset *set, dbont_shard_access access, unsigned flags,
m4_ifelse($3, «», «», «d4_c_indent(«dbont_status »$1«_fanout(»)$3,
»)d4_c_indent(«dbont_status »$1«_fanout(»)$1_rows *out,
d4_c_indent(«dbont_status »$1«_fanout(»)dbont_fanout_report *report, dbont_error *err)
{
$4    dbont_result *_res = NULL;
    dbont_status _st = dbont_sharded_fanout(set, $7, access,
                                            &$6, $5, &$1_fanout_spec, flags,
                                            out ? &_res : NULL, report, err);
    if (out)
        $2(_res, out);
    return _st;
}
»)
m4_define(«d4_c_query_fanout_one», «
dbont_status $1_fanout(dbont_shardset *set, dbont_shard_access access, unsigned flags,
m4_ifelse($3, «», «», «d4_c_indent(«dbont_status »$1«_fanout(»)$3,
»)d4_c_indent(«dbont_status »$1«_fanout(»)$1_rows *out,
d4_c_indent(«dbont_status »$1«_fanout(»)dbont_fanout_report *report, dbont_error *err)
{
$4    dbont_result *_res = NULL;
    dbont_status _st = dbont_sharded_fanout(set, $7, access,
                                            &$6, $5, &$1_fanout_spec, flags,
                                            &_res, report, err);
    if (_st == DBONT_OK && dbont_result_count(_res) == 0)
        _st = DBONT_NOT_FOUND;
    if (out)
        $2(_res, out);
    else
        dbont_result_free(_res);
    return _st;
}
»)
m4_define(«d4_c_query_fanout_none», «
dbont_status $1_fanout(dbont_shardset *set, dbont_shard_access access, unsigned flags,
m4_ifelse($3, «», «», «d4_c_indent(«dbont_status »$1«_fanout(»)$3,
»)d4_c_indent(«dbont_status »$1«_fanout(»)dbont_fanout_report *report, dbont_error *err)
{
$4    return dbont_sharded_fanout(set, $7, access,
                                &$6, $5, &$1_fanout_spec, flags,
                                NULL, report, err);
}
»)

m4_define(«d4_c_warm», «
dbont_status $1(dbont_conn *conn, dbont_cache *cache, dbont_error *err)
{
    dbont_status _st;
$2    return DBONT_OK;
}
»)
m4_define(«d4_c_warm_query», «    {
$2        $1_rows _rows;
        _st = $1_cached(conn, cache, $3&_rows, err);
        if (_st == DBONT_ERROR)
            return _st;
        $1_rows_free(&_rows);
    }
»)
m4_define(«d4_c_warm_uuid», «        dbont_uuid $2;
        if (dbont_uuid_parse($1, &$2) != 0)
            return dbont_error_set(err, "22P02", "warm-up: %s is not a uuid", $1);
»)

m4_define(«d4_c_query_batch», «
dbont_status $1_batch(dbont_conn *conn, const $1_params *params, size_t n,
d4_c_indent(«dbont_status »$1«_batch(»)dbont_batch_item *items, dbont_error *err)
{
    return dbont_query_batch(conn, &$1_query, params, n, 0, items, err);
}

$1_rows $1_batch_rows(const dbont_batch_item *item)
{
    $1_rows rows;
    $2(item ? item->result : NULL, &rows);
    return rows;
}
»)

m4_define(«d4_c_find», «
$1_filter $1_filter_init(void)
{
    $1_filter f;
    dbont_filter empty = DBONT_FILTER_INIT;
    memset(&f, 0, sizeof f);
    f.base = empty;
    return f;
}

dbont_status $1_find(dbont_conn *conn, const $1_filter *f, $1_rows *out,
d4_c_indent(«dbont_status »$1«_find(»)dbont_error *err)
{
    dbont_result *_res = NULL;
    dbont_status _st = dbont_table_find(conn, &$1_desc, f ? &f->base : NULL, f ? &f->values : NULL, &_res, err);
    if (out)
        $1_view(_res, out);
    else
        dbont_result_free(_res);
    return _st;
}
»)
m4_divert(0)m4_dnl
@output source@
/*
 * Generated by dbont-gen d4_version from d4_sources.  Do not edit: change the
 * ontology and run dbont-gen again.
 */
#include "d4_header"

#include <stddef.h>
m4_ifelse(d4_tenant_int, «1», «#include <stdio.h>
»)m4_dnl
#include <string.h>
d4_source_tables
