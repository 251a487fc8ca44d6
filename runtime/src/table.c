/*
 * table.c: insert, get, update, remove and list over a table descriptor.
 *
 * Each call gathers its parameters from the caller's struct (params.c:
 * binary where the type allows, the caller's own text otherwise), runs the
 * statement through stmt.c and decodes any rows through result.c.
 *
 * Inserts come in variants: a column with a default is named in the
 * INSERT only when the caller set it, so its default applies otherwise.
 * A bit mask says which defaulted columns are sent; each mask is its own
 * prepared statement, composed the first time it is used on a connection.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conn_internal.h"
#include "dbont/cache.h"
#include "error_internal.h"
#include "params.h"
#include "sqlwriter.h"
#include "stmt_internal.h"
#include "table_events.h"

/* ---- parameters ----------------------------------------------------- */

static bool read_flag(const char *base, size_t offset)
{
    bool flag;
    memcpy(&flag, base + offset, sizeof flag);
    return flag;
}

/* A column of t as the next parameter (params.h). */
static dbont_status add_param(dbont_params *p, const dbont_table *t,
                              const dbont_column *col, const char *base,
                              size_t value_off, size_t null_off,
                              dbont_error *err)
{
    return dbont_params_add_column(p, t->name, col, base, value_off, null_off, err);
}

/* ---- shared steps --------------------------------------------------- */

static dbont_status bad_args(const char *fn, dbont_error *err)
{
    return dbont_error_set(err, "22023", "%s: conn, table and row must not be NULL", fn);
}

/* The statement must exist and take the parameters the runtime will send;
 * a mismatch is a bug in the descriptor, better caught here than as an
 * odd server error. */
static dbont_status check_stmt(const dbont_table *t, const dbont_stmt *stmt,
                               const char *op, size_t nparams, dbont_error *err)
{
    if (stmt == NULL)
        return dbont_error_set(err, "22023",
                               "table %s has no %s statement (it needs a primary key)",
                               t->name, op);
    if (stmt->nparams < 0 || (size_t)stmt->nparams != nparams)
        return dbont_error_set(err, "22023",
                               "descriptor of table %s: the %s statement takes %d "
                               "parameters, the runtime sends %zu",
                               t->name, op, stmt->nparams, nparams);
    return DBONT_OK;
}

static dbont_status add_key_params(dbont_params *p, const dbont_table *t,
                                   const char *row, dbont_error *err)
{
    size_t k;
    for (k = 0; k < t->npk; k++) {
        const dbont_column *col;
        if (t->pk[k] >= t->ncolumns)
            return dbont_error_set(err, "22023",
                                   "descriptor of table %s: key column %u out of range",
                                   t->name, (unsigned)t->pk[k]);
        col = &t->columns[t->pk[k]];
        if (add_param(p, t, col, row, col->row_offset, col->row_null_offset, err) != DBONT_OK)
            return DBONT_ERROR;
    }
    return DBONT_OK;
}

static bool is_key(const dbont_table *t, size_t column)
{
    size_t k;
    for (k = 0; k < t->npk; k++)
        if (t->pk[k] == column)
            return true;
    return false;
}

static dbont_status run(dbont_conn *conn, const dbont_stmt *stmt,
                        const dbont_sql_composer *composer, const dbont_params *p,
                        PGresult **res, dbont_error *err)
{
    return dbont_stmt_exec_composed(conn, stmt, composer,
                                    (const char *const *)p->values, p->lengths,
                                    p->formats, 1, res, err);
}

/* Rows of a select (or RETURNING) into *out; no rows is DBONT_NOT_FOUND
 * when not_found_if_empty. */
static dbont_status deliver_rows(PGresult *res, const dbont_table *t,
                                 bool not_found_if_empty, dbont_result **out,
                                 dbont_error *err)
{
    dbont_result *built;

    if (not_found_if_empty && PQntuples(res) == 0) {
        PQclear(res);
        return DBONT_NOT_FOUND;
    }
    if (out == NULL) {
        PQclear(res);
        return DBONT_OK;
    }
    if (dbont_result_decode(res, t->name, t->columns, t->ncolumns, t->row_size,
                            &built, err) != DBONT_OK)
        return DBONT_ERROR;
    *out = built;
    return DBONT_OK;
}

/* For UPDATE and DELETE: DBONT_NOT_FOUND when no row was touched. */
void dbont_table_emit(dbont_conn *conn, const dbont_table *table, const char *action)
{
    char event[128];
    if (table->event_entity == NULL ||
        (size_t)snprintf(event, sizeof event, "%s:%s", table->event_entity, action) >= sizeof event)
        return;
    /* a table without tenant: its event is no tenant's, whatever session
     * wrote it (the keys of the queries over it carry no tenant) */
    dbont_conn_emit_as(conn, table->tenant_scoped ? NULL : "", event);
}

static dbont_status affected(PGresult *res)
{
    const char *n = PQcmdTuples(res);
    bool none = n[0] == '0' && n[1] == '\0';
    PQclear(res);
    return none ? DBONT_NOT_FOUND : DBONT_OK;
}

/* ---- insert --------------------------------------------------------- */

/* The most defaulted columns one table can have: one mask bit each. */
#define MAX_DEFAULTED 64

typedef struct insert_variant {
    const dbont_table *table;
    uint64_t mask;      /* bit d: the d-th defaulted column is sent */
    bool returning;     /* RETURNING every column (the caller wants the row) */
} insert_variant;

/*
 * An insert whose caller does not want the stored row has no RETURNING:
 * nothing to send back, and no need for the row to be visible to the
 * inserting role (under row-level security a RETURNING row must also pass
 * the SELECT policies, so a row the role may write but not read could not
 * be inserted at all).  Those variants are named from the table's insert
 * id with this bit flipped.
 */
#define INSERT_ID_NO_RETURNING UINT64_C(0x8000000000000000)

/* Whether the insert variant sends col; *nth counts defaulted columns. */
static bool sends(const dbont_column *col, uint64_t mask, unsigned *nth)
{
    if (col->new_set_offset == DBONT_NO_FIELD)
        return true;
    return ((mask >> (*nth)++) & 1) != 0;
}

static dbont_status insert_mask(const dbont_table *t, const char *new_row,
                                uint64_t *mask, size_t *nsent, dbont_error *err)
{
    size_t i;
    unsigned nth = 0;

    *mask = 0;
    *nsent = 0;
    for (i = 0; i < t->ncolumns; i++) {
        const dbont_column *col = &t->columns[i];
        if (col->new_set_offset == DBONT_NO_FIELD) {
            (*nsent)++;
            continue;
        }
        if (nth == MAX_DEFAULTED)
            return dbont_error_set(err, "54011",
                                   "table %s has more than %d columns with defaults",
                                   t->name, MAX_DEFAULTED);
        if (read_flag(new_row, col->new_set_offset)) {
            *mask |= UINT64_C(1) << nth;
            (*nsent)++;
        }
        nth++;
    }
    return DBONT_OK;
}


/* INSERT INTO t (a, b) VALUES ($1, $2) RETURNING a, b, c
 * INSERT INTO t DEFAULT VALUES RETURNING a, b, c
 * (without RETURNING when !v->returning) */
static size_t write_insert(const insert_variant *v, char *buf)
{
    const dbont_table *t = v->table;
    sqlwriter w = {buf, 0};
    size_t i, nsent = 0;
    unsigned nth = 0;

    sqlw_put(&w, "INSERT INTO ");
    sqlw_put(&w, t->sql);
    for (i = 0; i < t->ncolumns; i++) {
        if (!sends(&t->columns[i], v->mask, &nth))
            continue;
        sqlw_put(&w, nsent == 0 ? " (" : ", ");
        sqlw_put(&w, t->columns[i].sql);
        nsent++;
    }
    if (nsent == 0) {
        sqlw_put(&w, " DEFAULT VALUES");
    } else {
        sqlw_put(&w, ") VALUES (");
        for (i = 1; i <= nsent; i++) {
            if (i > 1)
                sqlw_put(&w, ", ");
            sqlw_placeholder(&w, i);
        }
        sqlw_put(&w, ")");
    }
    if (v->returning) {
        sqlw_put(&w, " RETURNING ");
        for (i = 0; i < t->ncolumns; i++) {
            if (i > 0)
                sqlw_put(&w, ", ");
            sqlw_put(&w, t->columns[i].sql);
        }
    }
    if (buf != NULL)
        buf[w.n] = '\0';
    return w.n;
}

/* Sizes, then writes: two runs of the same code cannot disagree. */
static char *compose_insert(const void *ctx)
{
    const insert_variant *v = ctx;
    size_t len = write_insert(v, NULL);
    char *sql = malloc(len + 1);
    if (sql != NULL)
        write_insert(v, sql);
    return sql;
}

static dbont_status add_insert_params(dbont_params *p, const dbont_table *t,
                                      const char *new_row, uint64_t mask,
                                      dbont_error *err)
{
    size_t i;
    unsigned nth = 0;

    for (i = 0; i < t->ncolumns; i++) {
        const dbont_column *col = &t->columns[i];
        if (!sends(col, mask, &nth))
            continue;
        if (add_param(p, t, col, new_row, col->new_offset, col->new_null_offset,
                      err) != DBONT_OK)
            return DBONT_ERROR;
    }
    return DBONT_OK;
}

dbont_status dbont_table_insert(dbont_conn *conn, const dbont_table *table,
                                const void *new_row, dbont_result **out,
                                dbont_error *err)
{
    insert_variant variant;
    dbont_sql_composer composer;
    dbont_stmt stmt;
    char name[DBONT_INSERT_NAME_SIZE];
    size_t nsent;
    dbont_params p;
    PGresult *res;
    dbont_status status;

    if (out != NULL)
        *out = NULL;
    if (conn == NULL || table == NULL || new_row == NULL)
        return bad_args("dbont_table_insert", err);
    if (insert_mask(table, new_row, &variant.mask, &nsent, err) != DBONT_OK ||
        dbont_params_init(&p, nsent, table->name, err) != DBONT_OK)
        return DBONT_ERROR;
    if (add_insert_params(&p, table, new_row, variant.mask, err) != DBONT_OK) {
        dbont_params_free(&p);
        return DBONT_ERROR;
    }

    variant.table = table;
    variant.returning = out != NULL;
    composer.compose = compose_insert;
    composer.ctx = &variant;
    uint64_t id = table->insert_id ^ (out != NULL ? 0 : INSERT_ID_NO_RETURNING);
    dbont_insert_name(name, id, variant.mask);
    stmt.id = dbont_insert_key(id, variant.mask);
    stmt.name = name;
    stmt.sql = NULL;    /* composed only when it must be prepared */
    stmt.nparams = p.n;
    stmt.param_types = p.types;

    status = run(conn, &stmt, &composer, &p, &res, err);
    dbont_params_free(&p);
    if (status != DBONT_OK)
        return status;
    dbont_table_emit(conn, table, "created");
    return deliver_rows(res, table, false, out, err);
}

/* ---- get, update, remove, list -------------------------------------- */

dbont_status dbont_table_get(dbont_conn *conn, const dbont_table *table,
                             const void *key_row, dbont_result **out,
                             dbont_error *err)
{
    dbont_params p;
    PGresult *res;
    dbont_status status;

    if (out != NULL)
        *out = NULL;
    if (conn == NULL || table == NULL || key_row == NULL)
        return bad_args("dbont_table_get", err);
    if (check_stmt(table, table->get, "get", table->npk, err) != DBONT_OK ||
        dbont_params_init(&p, table->npk, table->name, err) != DBONT_OK)
        return DBONT_ERROR;
    status = add_key_params(&p, table, key_row, err);
    if (status == DBONT_OK)
        status = run(conn, table->get, NULL, &p, &res, err);
    dbont_params_free(&p);
    if (status != DBONT_OK)
        return status;
    return deliver_rows(res, table, true, out, err);
}

dbont_status dbont_table_update(dbont_conn *conn, const dbont_table *table,
                                const void *row, dbont_error *err)
{
    const char *base = row;
    dbont_params p;
    PGresult *res;
    dbont_status status;
    size_t i;

    if (conn == NULL || table == NULL || row == NULL)
        return bad_args("dbont_table_update", err);
    if (check_stmt(table, table->update, "update", table->ncolumns, err) != DBONT_OK ||
        dbont_params_init(&p, table->ncolumns, table->name, err) != DBONT_OK)
        return DBONT_ERROR;
    /* Key columns first, then the others in column order. */
    status = add_key_params(&p, table, base, err);
    for (i = 0; status == DBONT_OK && i < table->ncolumns; i++) {
        const dbont_column *col = &table->columns[i];
        if (!is_key(table, i))
            status = add_param(&p, table, col, base, col->row_offset,
                               col->row_null_offset, err);
    }
    if (status == DBONT_OK)
        status = run(conn, table->update, NULL, &p, &res, err);
    dbont_params_free(&p);
    if (status != DBONT_OK)
        return status;
    status = affected(res);
    if (status == DBONT_OK)
        dbont_table_emit(conn, table, "updated");
    return status;
}

dbont_status dbont_table_remove(dbont_conn *conn, const dbont_table *table,
                                const void *key_row, dbont_error *err)
{
    dbont_params p;
    PGresult *res;
    dbont_status status;

    if (conn == NULL || table == NULL || key_row == NULL)
        return bad_args("dbont_table_remove", err);
    if (check_stmt(table, table->remove, "remove", table->npk, err) != DBONT_OK ||
        dbont_params_init(&p, table->npk, table->name, err) != DBONT_OK)
        return DBONT_ERROR;
    status = add_key_params(&p, table, key_row, err);
    if (status == DBONT_OK)
        status = run(conn, table->remove, NULL, &p, &res, err);
    dbont_params_free(&p);
    if (status != DBONT_OK)
        return status;
    status = affected(res);
    if (status == DBONT_OK)
        dbont_table_emit(conn, table, "deleted");
    return status;
}

dbont_status dbont_table_list(dbont_conn *conn, const dbont_table *table,
                              int64_t limit, int64_t offset,
                              dbont_result **out, dbont_error *err)
{
    dbont_params p;
    PGresult *res;
    dbont_status status;

    if (out != NULL)
        *out = NULL;
    if (conn == NULL || table == NULL)
        return dbont_error_set(err, "22023",
                               "dbont_table_list: conn and table must not be NULL");
    if (limit < 0 || offset < 0)
        return dbont_error_set(err, "22023",
                               "dbont_table_list: limit and offset must not be "
                               "negative (got %" PRId64 " and %" PRId64 ")",
                               limit, offset);
    if (check_stmt(table, table->list, "list", 2, err) != DBONT_OK ||
        dbont_params_init(&p, 2, table->name, err) != DBONT_OK)
        return DBONT_ERROR;
    dbont_params_add_bigint(&p, limit);
    dbont_params_add_bigint(&p, offset);
    status = run(conn, table->list, NULL, &p, &res, err);
    dbont_params_free(&p);
    if (status != DBONT_OK)
        return status;
    return deliver_rows(res, table, false, out, err);
}
