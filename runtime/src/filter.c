/*
 * filter.c: optional filters over a table (dbont_table_find).
 *
 * The SQL is made only of the descriptor's generator-made fragments:
 *
 *   SELECT <every column> FROM <table>
 *   WHERE <col> = $1 AND <col> IS NULL AND (<relation's exists_sql>) ...
 *   ORDER BY <col> ASC|DESC, ...          (none given: the primary key)
 *   LIMIT $k OFFSET $m                    (each only when asked for)
 *
 * Conditions come in column order (for each column its equality or IS
 * NULL), then relations in their order; equality values are parameters
 * $1.. in that order, then the limit and the offset (bigint).
 *
 * Each combination (which columns, IS NULL or not, which relations, the
 * order keys and directions, whether there is a limit and an offset) is
 * one prepared statement, named from a hash of the combination and the
 * table's insert_id and registered like the insert variants: it is
 * composed and prepared on its first use on a connection, and afterwards
 * only its parameters are gathered.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "dbont/filter.h"
#include "error_internal.h"
#include "params.h"
#include "registry.h"
#include "sqlwriter.h"
#include "stmt_internal.h"

/* Separates the hashes of find statements from other uses of a table's
 * insert_id ("find" in ASCII). */
#define FIND_DOMAIN UINT64_C(0x66696e6400000000)

typedef struct find_variant {
    const dbont_table *table;
    const dbont_filter *filter;
} find_variant;

static bool bit(uint64_t set, size_t i)
{
    return i < 64 && ((set >> i) & 1) != 0;
}

static bool has_limit(const dbont_filter *f)
{
    return f->limit >= 0;
}

static bool has_offset(const dbont_filter *f)
{
    return f->offset != 0;
}

/* ---- checks --------------------------------------------------------- */

/* The filter must fit the table; nothing is sent otherwise. */
static dbont_status check_filter(const dbont_table *t, const dbont_filter *f,
                                 const void *values, dbont_error *err)
{
    uint64_t columns_in_range, relations_in_range;
    size_t k;

    if (t->ncolumns == 0 || t->columns == NULL)
        return dbont_error_set(err, "22023", "descriptor of table %s has no columns", t->name);
    for (k = 0; k < t->npk; k++)
        if (t->pk == NULL || t->pk[k] >= t->ncolumns)
            return dbont_error_set(err, "22023",
                                   "descriptor of table %s: key column %u out of range",
                                   t->name, t->pk == NULL ? 0u : (unsigned)t->pk[k]);
    columns_in_range = t->ncolumns >= 64 ? UINT64_MAX : (UINT64_C(1) << t->ncolumns) - 1;
    relations_in_range = t->relations == NULL ? 0
                         : t->nrelations >= 64 ? UINT64_MAX
                                               : (UINT64_C(1) << t->nrelations) - 1;
    if ((f->eq & f->is_null) != 0)
        return dbont_error_set(err, "22023",
                               "filter on %s: column %u is asked to be both equal to a "
                               "value and NULL",
                               t->name, (unsigned)__builtin_ctzll(f->eq & f->is_null));
    if (((f->eq | f->is_null) & ~columns_in_range) != 0)
        return dbont_error_set(err, "22023",
                               "filter on %s: column %u out of range (the table has %zu)",
                               t->name,
                               (unsigned)__builtin_ctzll((f->eq | f->is_null) & ~columns_in_range),
                               t->ncolumns);
    if ((f->related & ~relations_in_range) != 0)
        return dbont_error_set(err, "22023",
                               "filter on %s: relation %u out of range (the table has %zu)",
                               t->name, (unsigned)__builtin_ctzll(f->related & ~relations_in_range),
                               t->relations == NULL ? (size_t)0 : t->nrelations);
    if (f->norder > DBONT_FILTER_ORDER_MAX)
        return dbont_error_set(err, "22023", "filter on %s: %u order keys, at most %d",
                               t->name, f->norder, DBONT_FILTER_ORDER_MAX);
    for (k = 0; k < f->norder; k++) {
        if (f->order_column[k] >= t->ncolumns)
            return dbont_error_set(err, "22023",
                                   "filter on %s: order column %u out of range (the table "
                                   "has %zu)",
                                   t->name, (unsigned)f->order_column[k], t->ncolumns);
        if (f->order_dir[k] != DBONT_ASC && f->order_dir[k] != DBONT_DESC)
            return dbont_error_set(err, "22023", "filter on %s: order direction %d is neither "
                                   "DBONT_ASC nor DBONT_DESC",
                                   t->name, (int)f->order_dir[k]);
    }
    if (f->offset < 0)
        return dbont_error_set(err, "2201X", "filter on %s: OFFSET must not be negative",
                               t->name);
    if (f->eq != 0 && values == NULL)
        return dbont_error_set(err, "22023",
                               "filter on %s: equality filters need the values row", t->name);
    return DBONT_OK;
}

/* ---- the statement -------------------------------------------------- */

/* A 64-bit hash of everything that changes the SQL text. */
static uint64_t find_key(const dbont_table *t, const dbont_filter *f)
{
    uint64_t h = dbont_mix64(t->insert_id ^ FIND_DOMAIN);
    unsigned k;

    h = dbont_mix64(h ^ f->eq);
    h = dbont_mix64(h ^ f->is_null);
    h = dbont_mix64(h ^ f->related);
    h = dbont_mix64(h ^ ((uint64_t)f->norder | (uint64_t)has_limit(f) << 8 |
                         (uint64_t)has_offset(f) << 9));
    for (k = 0; k < f->norder; k++)
        h = dbont_mix64(h ^ ((uint64_t)f->order_column[k] |
                             (uint64_t)(f->order_dir[k] == DBONT_DESC) << 16 |
                             (uint64_t)k << 20));
    return h;
}


static void put_condition_start(sqlwriter *w, size_t *nconditions)
{
    sqlw_put(w, (*nconditions)++ == 0 ? " WHERE " : " AND ");
}

static size_t write_find(const find_variant *v, char *buf)
{
    const dbont_table *t = v->table;
    const dbont_filter *f = v->filter;
    sqlwriter w = {buf, 0};
    size_t i, nconditions = 0, nparams = 0;
    unsigned k;

    sqlw_put(&w, "SELECT ");
    for (i = 0; i < t->ncolumns; i++) {
        if (i > 0)
            sqlw_put(&w, ", ");
        sqlw_put(&w, t->columns[i].sql);
    }
    sqlw_put(&w, " FROM ");
    sqlw_put(&w, t->sql);
    for (i = 0; i < t->ncolumns; i++) {
        if (bit(f->eq, i)) {
            put_condition_start(&w, &nconditions);
            sqlw_put(&w, t->columns[i].sql);
            sqlw_put(&w, " = ");
            sqlw_placeholder(&w, ++nparams);
        } else if (bit(f->is_null, i)) {
            put_condition_start(&w, &nconditions);
            sqlw_put(&w, t->columns[i].sql);
            sqlw_put(&w, " IS NULL");
        }
    }
    for (i = 0; t->relations != NULL && i < t->nrelations; i++) {
        if (bit(f->related, i)) {
            put_condition_start(&w, &nconditions);
            sqlw_put(&w, "(");
            sqlw_put(&w, t->relations[i].exists_sql);
            sqlw_put(&w, ")");
        }
    }
    if (f->norder > 0) {
        for (k = 0; k < f->norder; k++) {
            sqlw_put(&w, k == 0 ? " ORDER BY " : ", ");
            sqlw_put(&w, t->columns[f->order_column[k]].sql);
            sqlw_put(&w, f->order_dir[k] == DBONT_DESC ? " DESC" : " ASC");
        }
    } else {
        for (i = 0; i < t->npk; i++) {
            sqlw_put(&w, i == 0 ? " ORDER BY " : ", ");
            sqlw_put(&w, t->columns[t->pk[i]].sql);
        }
    }
    if (has_limit(f)) {
        sqlw_put(&w, " LIMIT ");
        sqlw_placeholder(&w, ++nparams);
    }
    if (has_offset(f)) {
        sqlw_put(&w, " OFFSET ");
        sqlw_placeholder(&w, ++nparams);
    }
    if (buf != NULL)
        buf[w.n] = '\0';
    return w.n;
}

/* Sizes, then writes. */
static char *compose_find(const void *ctx)
{
    const find_variant *v = ctx;
    size_t len = write_find(v, NULL);
    char *sql = malloc(len + 1);
    if (sql != NULL)
        write_find(v, sql);
    return sql;
}

/* The equality values, then limit and offset. */
static dbont_status gather(dbont_params *p, const dbont_table *t, const dbont_filter *f,
                           const char *values, dbont_error *err)
{
    size_t i;

    for (i = 0; i < t->ncolumns && i < 64; i++) {
        const dbont_column *col = &t->columns[i];
        if (!bit(f->eq, i))
            continue;
        /* "col = NULL" is never true: a NULL value is almost surely a
         * mistake, and IS NULL is its own filter. */
        if (dbont_field_is_null(col->type, values, col->row_offset, col->row_null_offset))
            return dbont_error_set(err, "22023",
                                   "filter on %s.%s: the value is NULL (use the IS NULL "
                                   "filter to find NULLs)",
                                   t->name, col->name);
        if (dbont_params_add_value(p, col->type, values + col->row_offset, t->name, col->name,
                                   err) != DBONT_OK)
            return DBONT_ERROR;
    }
    if (has_limit(f))
        dbont_params_add_bigint(p, f->limit);
    if (has_offset(f))
        dbont_params_add_bigint(p, f->offset);
    return DBONT_OK;
}

static size_t count_bits(uint64_t v)
{
    return (size_t)__builtin_popcountll(v);
}

dbont_status dbont_table_find(dbont_conn *conn, const dbont_table *table, const dbont_filter *f,
                              const void *values, dbont_result **out, dbont_error *err)
{
    find_variant variant;
    dbont_sql_composer composer;
    dbont_stmt stmt;
    char name[DBONT_INSERT_NAME_SIZE];
    dbont_params p;
    PGresult *res;
    dbont_status status;
    size_t nparams;

    if (out != NULL)
        *out = NULL;
    if (conn == NULL || table == NULL || f == NULL)
        return dbont_error_set(err, "22023",
                               "dbont_table_find: conn, table and filter must not be NULL");
    if (check_filter(table, f, values, err) != DBONT_OK)
        return DBONT_ERROR;
    nparams = count_bits(f->eq) + (has_limit(f) ? 1 : 0) + (has_offset(f) ? 1 : 0);
    if (dbont_params_init(&p, nparams, table->name, err) != DBONT_OK)
        return DBONT_ERROR;
    status = gather(&p, table, f, values, err);
    if (status == DBONT_OK) {
        variant.table = table;
        variant.filter = f;
        composer.compose = compose_find;
        composer.ctx = &variant;
        stmt.id = find_key(table, f);
        snprintf(name, sizeof name, "dbont_%016" PRIx64, stmt.id);
        stmt.name = name;
        stmt.sql = NULL;    /* composed only when it must be prepared */
        stmt.nparams = p.n;
        stmt.param_types = p.types;
        status = dbont_stmt_exec_composed(conn, &stmt, &composer,
                                          (const char *const *)p.values, p.lengths,
                                          p.formats, 1, &res, err);
    }
    dbont_params_free(&p);
    if (status != DBONT_OK)
        return status;
    if (out == NULL) {
        PQclear(res);
        return DBONT_OK;
    }
    return dbont_result_decode(res, table->name, table->columns, table->ncolumns,
                               table->row_size, out, err);
}
