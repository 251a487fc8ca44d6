/*
 * sharded.c: a table's operations routed over a shard set
 * (dbont/sharded.h).
 *
 * Each call hashes the shard key where the row struct keeps it (the
 * column's row_offset, or new_offset in a new-row struct), borrows a
 * connection to the shard's primary, runs the ordinary table operation
 * there, in a tenant session when the key is the tenant column, and gives
 * the connection back.  Nothing here knows the table's C types: the
 * column descriptions say where every field is.
 */
#define _POSIX_C_SOURCE 200809L

#include "dbont/sharded.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "dbont/copy.h"
#include "dbont/shard.h"
#include "dbont/stmt.h"
#include "dbont/tenant.h"
#include "dbont/types.h"
#include "error_internal.h"
#include "tenant_internal.h"

/* ---- the key ---------------------------------------------------------------- */

/* The routing hash of the key field at field (a column of type type);
 * false when it is a NULL text. */
static bool key_hash(dbont_type type, const char *field, uint64_t *hash)
{
    switch (type) {
    case DBONT_SMALLINT: {
        int16_t v;
        memcpy(&v, field, sizeof v);
        *hash = dbont_shard_hash_int(v);
        return true;
    }
    case DBONT_INTEGER: {
        int32_t v;
        memcpy(&v, field, sizeof v);
        *hash = dbont_shard_hash_int(v);
        return true;
    }
    case DBONT_BIGINT: {
        int64_t v;
        memcpy(&v, field, sizeof v);
        *hash = dbont_shard_hash_int(v);
        return true;
    }
    case DBONT_UUID: {
        dbont_uuid v;
        memcpy(&v, field, sizeof v);
        *hash = dbont_shard_hash_uuid(&v);
        return true;
    }
    default: { /* text and varchar: dbont-gen allows no other key */
        const char *v;
        memcpy(&v, field, sizeof v);
        if (v == NULL)
            return false;
        *hash = dbont_shard_hash_text(v, strlen(v));
        return true;
    }
    }
}

/* The key's text, as a tenant session takes it (dbont/tenant.h). */
static void key_text(dbont_type type, const char *field, char *buf, size_t size)
{
    switch (type) {
    case DBONT_SMALLINT: {
        int16_t v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, size, "%d", (int)v);
        break;
    }
    case DBONT_INTEGER: {
        int32_t v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, size, "%" PRId32, v);
        break;
    }
    case DBONT_BIGINT: {
        int64_t v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, size, "%" PRId64, v);
        break;
    }
    case DBONT_UUID: {
        dbont_uuid v;
        char text[DBONT_UUID_TEXT_SIZE];
        memcpy(&v, field, sizeof v);
        dbont_uuid_format(&v, text);
        snprintf(buf, size, "%s", text);
        break;
    }
    default: {
        const char *v;
        memcpy(&v, field, sizeof v);
        snprintf(buf, size, "%s", v != NULL ? v : "");
        break;
    }
    }
}

static const dbont_column *key_column(const dbont_sharding *sh)
{
    return &sh->table->columns[sh->key];
}

static const char *key_field(const dbont_sharding *sh, const void *row, bool is_new)
{
    const dbont_column *col = key_column(sh);
    return (const char *)row + (is_new ? col->new_offset : col->row_offset);
}

int32_t dbont_sharded_shard_of(const dbont_sharding *sh, const void *row, bool is_new, int32_t count)
{
    uint64_t h;
    if (sh == NULL || row == NULL || count < 1 || !key_hash(key_column(sh)->type, key_field(sh, row, is_new), &h))
        return -1;
    return dbont_jump_hash(h, count);
}

/* ---- one call on one shard ------------------------------------------------------- */

typedef dbont_status (*table_op)(dbont_conn *conn, void *arg, dbont_error *err);

/* err's message as "shard N: <message>" (the SQLSTATE kept), unless it
 * names the shard already (the shard set's own errors do); cut at the
 * end when it does not fit. */
static void name_shard(dbont_error *err, int shard)
{
    char prefix[32];
    if (err == NULL)
        return;
    int plen = snprintf(prefix, sizeof prefix, "shard %d: ", shard);
    if (strncmp(err->message, prefix, (size_t)plen - 2) == 0)
        return;
    size_t cap = sizeof err->message - 1, mlen = strnlen(err->message, cap);
    if (mlen + (size_t)plen > cap)
        mlen = cap - (size_t)plen;
    memmove(err->message + plen, err->message, mlen);
    memcpy(err->message, prefix, (size_t)plen);
    err->message[(size_t)plen + mlen] = '\0';
}

/* Appends text to err's message, as much as fits. */
static void append(dbont_error *err, const char *text)
{
    size_t cap = sizeof err->message - 1, len = strnlen(err->message, cap), n = strlen(text);
    if (n > cap - len)
        n = cap - len;
    memcpy(err->message + len, text, n);
    err->message[len + n] = '\0';
}

/* Runs op on shard's server (its primary, or with access a standby), in
 * a tenant session (of setting) of tenant when it is not NULL. */
static dbont_status run_on(dbont_shardset *set, const char *setting, int shard, dbont_shard_access access,
                           const char *tenant, table_op op, void *arg, dbont_error *err)
{
    dbont_conn *c = dbont_shardset_acquire(set, shard, access, err);
    if (c == NULL)
        return DBONT_ERROR;
    dbont_status st = DBONT_OK;
    if (tenant != NULL)
        st = dbont_tenant_begin(c, setting, tenant, err);
    if (st == DBONT_OK)
        st = op(c, arg, err);
    if (tenant != NULL && st != DBONT_ERROR) {
        dbont_status end = dbont_tenant_end(c, true, err);
        if (end != DBONT_OK)
            st = end;
    } else if (tenant != NULL) {
        dbont_error ignored;
        dbont_tenant_end(c, false, &ignored);
    }
    dbont_shardset_release(set, c);
    if (st == DBONT_ERROR)
        name_shard(err, shard);
    return st;
}

/* The set must have the shard count the code was generated for: with
 * another, every key would be looked for where it is not.  what: "table
 * tags", "query tags_top". */
static dbont_status check_count(dbont_shardset *set, const char *what, int32_t count, dbont_error *err)
{
    if (set == NULL)
        return dbont_error_set(err, "22023", "sharded call: set must not be NULL");
    int n = dbont_shardset_count(set);
    if (n != count)
        return dbont_error_set(err, "22023",
                               "%s is spread over %" PRId32 " shards (shard:shardCount), but the shard set "
                               "has %d: its rows would be looked for where they are not",
                               what, count, n);
    return DBONT_OK;
}

static dbont_status check_set(dbont_shardset *set, const dbont_sharding *sh, dbont_error *err)
{
    if (set == NULL || sh == NULL || sh->table == NULL)
        return dbont_error_set(err, "22023", "sharded call: set and sharding must not be NULL");
    char what[160];
    snprintf(what, sizeof what, "table %s", sh->table->name);
    return check_count(set, what, sh->shard_count, err);
}

/*
 * Runs op on the shard of the key in row; when a move to more shards is
 * under way and op finds no row there (read_both), on the key's old shard
 * too.
 */
static dbont_status routed(dbont_shardset *set, const dbont_sharding *sh, dbont_shard_access access,
                           const void *row, bool is_new, bool read_both, table_op op, void *arg, dbont_error *err)
{
    if (check_set(set, sh, err) != DBONT_OK)
        return DBONT_ERROR;
    const dbont_column *col = key_column(sh);
    const char *field = key_field(sh, row, is_new);
    uint64_t h;
    if (!key_hash(col->type, field, &h))
        return dbont_error_set(err, "23502", "%s.%s: the shard key is NULL, so the row has no shard",
                               sh->table->name, col->name);
    char tenant[DBONT_UUID_TEXT_SIZE + 64], *t = NULL;
    if (sh->tenant_setting != NULL) {
        key_text(col->type, field, tenant, sizeof tenant);
        t = tenant;
    }
    int shard = dbont_jump_hash(h, sh->shard_count);
    dbont_status st = run_on(set, sh->tenant_setting, shard, access, t, op, arg, err);
    int from = read_both ? dbont_shardset_moving_from(set) : 0;
    if (st == DBONT_NOT_FOUND && from > 0) {
        int old = dbont_jump_hash(h, from);
        /* new shard, old shard, new shard again: a batch whose copy (to
         * the new shard) and delete (on the old one) both commit between
         * the first two looks is found by the third (dbont/shardset.h) */
        if (old != shard && (st = run_on(set, sh->tenant_setting, old, access, t, op, arg, err)) == DBONT_NOT_FOUND)
            st = run_on(set, sh->tenant_setting, shard, access, t, op, arg, err);
    }
    return st;
}

/* ---- the operations ------------------------------------------------------------------ */

typedef struct op_args {
    const dbont_table *table;
    const void *row;
    dbont_result **out;
} op_args;

static dbont_status op_insert(dbont_conn *c, void *arg, dbont_error *err)
{
    op_args *a = arg;
    return dbont_table_insert(c, a->table, a->row, a->out, err);
}

static dbont_status op_get(dbont_conn *c, void *arg, dbont_error *err)
{
    op_args *a = arg;
    return dbont_table_get(c, a->table, a->row, a->out, err);
}

static dbont_status op_update(dbont_conn *c, void *arg, dbont_error *err)
{
    op_args *a = arg;
    return dbont_table_update(c, a->table, a->row, err);
}

static dbont_status op_remove(dbont_conn *c, void *arg, dbont_error *err)
{
    op_args *a = arg;
    return dbont_table_remove(c, a->table, a->row, err);
}

/* A uuid key left to its default (gen_random_uuid(): dbont-gen allows no
 * other) gets a random uuid in a copy of the new-row struct (*copy,
 * malloc'd, or NULL when row is used as it is). */
static dbont_status fill_key(const dbont_sharding *sh, const void *row, void **copy, dbont_error *err)
{
    const dbont_column *col = key_column(sh);
    bool set = true;
    *copy = NULL;
    if (col->type != DBONT_UUID || col->new_set_offset == DBONT_NO_FIELD)
        return DBONT_OK;
    memcpy(&set, (const char *)row + col->new_set_offset, sizeof set);
    if (set)
        return DBONT_OK;
    /* the tenant column's default is the session's tenant, and here the
     * key is what says which tenant's session to open */
    if (sh->tenant_setting != NULL)
        return dbont_error_set(err, "23502", "%s.%s: the shard key is not set, and it says which tenant's session "
                                            "and which shard the row goes to",
                               sh->table->name, col->name);
    if ((*copy = malloc(sh->table->new_size)) == NULL)
        return dbont_error_set(err, "53200", "%s: out of memory", sh->table->name);
    memcpy(*copy, row, sh->table->new_size);
    dbont_uuid id;
    if (dbont_uuid_random(&id) != 0) {
        free(*copy);
        *copy = NULL;
        return dbont_error_set(err, "58030", "%s.%s: no random bytes for a new uuid key", sh->table->name,
                               col->name);
    }
    set = true;
    memcpy((char *)*copy + col->new_offset, &id, sizeof id);
    memcpy((char *)*copy + col->new_set_offset, &set, sizeof set);
    return DBONT_OK;
}

dbont_status dbont_sharded_insert(dbont_shardset *set, const dbont_sharding *sh, const void *new_row,
                                  dbont_result **out, dbont_error *err)
{
    if (out != NULL)
        *out = NULL;
    if (new_row == NULL || sh == NULL)
        return dbont_error_set(err, "22023", "dbont_sharded_insert: new_row and sh must not be NULL");
    void *copy;
    if (fill_key(sh, new_row, &copy, err) != DBONT_OK)
        return DBONT_ERROR;
    op_args a = {sh->table, copy != NULL ? copy : new_row, out};
    dbont_status st = routed(set, sh, DBONT_SHARD_PRIMARY, a.row, true, false, op_insert, &a, err);
    free(copy);
    return st;
}

dbont_status dbont_sharded_get(dbont_shardset *set, const dbont_sharding *sh, dbont_shard_access access,
                               const void *key_row, dbont_result **out, dbont_error *err)
{
    if (out != NULL)
        *out = NULL;
    if (key_row == NULL || sh == NULL)
        return dbont_error_set(err, "22023", "dbont_sharded_get: key_row and sh must not be NULL");
    op_args a = {sh->table, key_row, out};
    return routed(set, sh, access, key_row, false, true, op_get, &a, err);
}

dbont_status dbont_sharded_update(dbont_shardset *set, const dbont_sharding *sh, const void *row,
                                  dbont_error *err)
{
    if (row == NULL || sh == NULL)
        return dbont_error_set(err, "22023", "dbont_sharded_update: row and sh must not be NULL");
    op_args a = {sh->table, row, NULL};
    return routed(set, sh, DBONT_SHARD_PRIMARY, row, false, true, op_update, &a, err);
}

dbont_status dbont_sharded_remove(dbont_shardset *set, const dbont_sharding *sh, const void *key_row,
                                  dbont_error *err)
{
    if (key_row == NULL || sh == NULL)
        return dbont_error_set(err, "22023", "dbont_sharded_remove: key_row and sh must not be NULL");
    op_args a = {sh->table, key_row, NULL};
    return routed(set, sh, DBONT_SHARD_PRIMARY, key_row, false, true, op_remove, &a, err);
}

/* ---- bulk insert over the shards ------------------------------------------------------ */

/* A row of a bulk insert, where it goes. */
typedef struct placed {
    size_t index; /* in the caller's array */
    int shard;
    char tenant[DBONT_UUID_TEXT_SIZE + 64]; /* "" when not multi-tenant */
} placed;

static int by_shard_then_tenant(const void *a, const void *b)
{
    const placed *x = a, *y = b;
    if (x->shard != y->shard)
        return x->shard < y->shard ? -1 : 1;
    int c = strcmp(x->tenant, y->tenant);
    if (c != 0)
        return c;
    return (x->index > y->index) - (x->index < y->index); /* the caller's order within a group */
}

/* One shard's part: its connection and its open transaction. */
typedef struct shard_part {
    int shard;
    dbont_conn *conn;
    bool open;
} shard_part;

/* Sets the tenant of the transaction open on conn to tenant (the first
 * one opens it). */
static dbont_status switch_tenant(const dbont_sharding *sh, shard_part *p, const char *tenant, dbont_error *err)
{
    if (!p->open) {
        if (dbont_tenant_begin(p->conn, sh->tenant_setting, tenant, err) != DBONT_OK)
            return DBONT_ERROR;
        p->open = true;
        return DBONT_OK;
    }
    const char *values[2] = {sh->tenant_setting, tenant};
    PGresult *res = NULL;
    if (dbont_stmt_exec(p->conn, &dbont_tenant_set_config, values, NULL, NULL, 0, &res, err) != DBONT_OK)
        return DBONT_ERROR;
    PQclear(res);
    dbont_conn_set_tenant(p->conn, tenant);
    return DBONT_OK;
}

/* Ends every open transaction (committing when commit) and gives the
 * connections back; with commit, the first failure is reported in err
 * with the shards committed before it, and the rest are rolled back. */
static dbont_status finish(dbont_shardset *set, const dbont_sharding *sh, shard_part *parts, size_t nparts,
                           bool commit, dbont_error *err)
{
    dbont_status st = DBONT_OK;
    char done[256] = "";
    for (size_t i = 0; i < nparts; i++) {
        shard_part *p = &parts[i];
        if (p->conn == NULL)
            continue;
        if (p->open) {
            bool ok = commit && st == DBONT_OK;
            dbont_error e;
            dbont_status end = sh->tenant_setting != NULL ? dbont_tenant_end(p->conn, ok, &e)
                               : ok                       ? dbont_commit(p->conn, &e)
                                                          : dbont_rollback(p->conn, &e);
            if (ok && end != DBONT_OK) {
                *err = e;
                name_shard(err, p->shard);
                append(err, " (the commit failed; committed before it: ");
                append(err, done[0] ? done : "none");
                append(err, ")");
                st = DBONT_ERROR;
            } else if (ok) {
                size_t len = strlen(done);
                snprintf(done + len, sizeof done - len, "%sshard %d", len ? ", " : "", p->shard);
            }
        }
        dbont_shardset_release(set, p->conn);
        p->conn = NULL;
    }
    return st;
}

dbont_status dbont_sharded_copy(dbont_shardset *set, const dbont_sharding *sh, const void *rows, size_t n,
                                size_t *failed_row, dbont_error *err)
{
    if (failed_row != NULL)
        *failed_row = n;
    if (rows == NULL && n > 0)
        return dbont_error_set(err, "22023", "dbont_sharded_copy: rows must not be NULL");
    if (check_set(set, sh, err) != DBONT_OK)
        return DBONT_ERROR;
    if (n == 0)
        return DBONT_OK;
    const dbont_table *t = sh->table;
    const dbont_column *col = key_column(sh);
    placed *where = malloc(n * sizeof *where);
    char *copy = malloc(n * t->new_size); /* the rows, grouped, keys filled */
    shard_part *parts = calloc((size_t)sh->shard_count, sizeof *parts);
    if (where == NULL || copy == NULL || parts == NULL) {
        free(where);
        free(copy);
        free(parts);
        return dbont_error_set(err, "53200", "%s: out of memory for %zu rows", t->name, n);
    }
    dbont_status st = DBONT_OK;
    for (size_t i = 0; i < n && st == DBONT_OK; i++) {
        const char *row = (const char *)rows + i * t->new_size;
        void *filled;
        if ((st = fill_key(sh, row, &filled, err)) != DBONT_OK) {
            if (failed_row != NULL)
                *failed_row = i;
            break;
        }
        /* the filled copy's key is the one that goes, so hash from it */
        char *slot = copy + i * t->new_size;
        memcpy(slot, filled != NULL ? filled : row, t->new_size);
        free(filled);
        uint64_t h;
        if (!key_hash(col->type, slot + col->new_offset, &h)) {
            st = dbont_error_set(err, "23502", "%s.%s: the shard key of row %zu is NULL, so it has no shard",
                                 t->name, col->name, i);
            if (failed_row != NULL)
                *failed_row = i;
            break;
        }
        where[i].index = i;
        where[i].shard = dbont_jump_hash(h, sh->shard_count);
        where[i].tenant[0] = '\0';
        if (sh->tenant_setting != NULL)
            key_text(col->type, slot + col->new_offset, where[i].tenant, sizeof where[i].tenant);
    }
    char *group = st == DBONT_OK ? malloc(n * t->new_size) : NULL;
    if (st == DBONT_OK && group == NULL)
        st = dbont_error_set(err, "53200", "%s: out of memory for %zu rows", t->name, n);
    if (st == DBONT_OK)
        qsort(where, n, sizeof *where, by_shard_then_tenant);
    /* each run of rows with one shard (and tenant) is one bulk insert, in
     * that shard's transaction */
    for (size_t i = 0; i < n && st == DBONT_OK;) {
        size_t j = i;
        while (j < n && where[j].shard == where[i].shard && strcmp(where[j].tenant, where[i].tenant) == 0)
            j++;
        for (size_t k = i; k < j; k++)
            memcpy(group + (k - i) * t->new_size, copy + where[k].index * t->new_size, t->new_size);
        shard_part *p = &parts[where[i].shard];
        p->shard = where[i].shard;
        if (p->conn == NULL && (p->conn = dbont_shardset_acquire(set, p->shard, DBONT_SHARD_PRIMARY, err)) == NULL)
            st = DBONT_ERROR;
        else if (sh->tenant_setting != NULL)
            st = switch_tenant(sh, p, where[i].tenant, err);
        else if (!p->open && (st = dbont_begin(p->conn, err)) == DBONT_OK)
            p->open = true;
        size_t bad = j - i;
        if (st == DBONT_OK && (st = dbont_table_copy(p->conn, t, group, j - i, &bad, err)) != DBONT_OK &&
            failed_row != NULL && bad < j - i)
            *failed_row = where[i + bad].index;
        if (st != DBONT_OK)
            name_shard(err, p->shard);
        i = j;
    }
    dbont_status end = finish(set, sh, parts, (size_t)sh->shard_count, st == DBONT_OK, err);
    if (st == DBONT_OK)
        st = end;
    free(group);
    free(parts);
    free(copy);
    free(where);
    return st;
}

/* ---- queries: routed ------------------------------------------------------------------------ */

typedef struct query_args {
    const dbont_sharded_query *sq;
    const void *params;
    dbont_result **out;   /* the rows (NULL: not read) */
    const char *key_text; /* the probe's parameter */
    bool probe;           /* after the query, ask whether the key has rows here */
    bool key_here;        /* the probe's answer */
} query_args;

static dbont_status op_query(dbont_conn *c, void *arg, dbont_error *err)
{
    query_args *a = arg;
    if (dbont_query_run(c, a->sq->query, a->params, a->out, err) != DBONT_OK)
        return DBONT_ERROR;
    if (!a->probe)
        return DBONT_OK;
    const char *values[1] = {a->key_text};
    PGresult *res = NULL;
    if (dbont_stmt_exec(c, a->sq->probe, values, NULL, NULL, 0, &res, err) != DBONT_OK) {
        if (a->out != NULL) {
            dbont_result_free(*a->out);
            *a->out = NULL;
        }
        return DBONT_ERROR;
    }
    a->key_here = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return DBONT_OK;
}

dbont_status dbont_sharded_query_run(dbont_shardset *set, const dbont_sharded_query *sq,
                                     dbont_shard_access access, const void *key, const void *params,
                                     dbont_result **out, dbont_error *err)
{
    if (out != NULL)
        *out = NULL;
    if (sq == NULL || sq->query == NULL || sq->probe == NULL || key == NULL)
        return dbont_error_set(err, "22023", "dbont_sharded_query_run: sq (with its query and probe) and key "
                                             "must not be NULL");
    const char *name = sq->query->name != NULL ? sq->query->name : "query";
    char what[160];
    snprintf(what, sizeof what, "query %s", name);
    if (check_count(set, what, sq->shard_count, err) != DBONT_OK)
        return DBONT_ERROR;
    uint64_t h;
    bool has_key = key_hash(sq->key_type, key, &h);
    char text[DBONT_UUID_TEXT_SIZE + 64];
    key_text(sq->key_type, key, text, sizeof text);
    if (!has_key && sq->tenant_setting != NULL)
        return dbont_error_set(err, "22023", "query %s: the tenant is NULL, so it has no session and no shard", name);
    const char *tenant = sq->tenant_setting != NULL ? text : NULL;
    query_args a = {sq, params, out, text, false, false};
    /* "key = NULL" holds for no row: every shard gives the same answer */
    if (!has_key)
        return run_on(set, NULL, 0, access, NULL, op_query, &a, err);
    int shard = dbont_jump_hash(h, sq->shard_count);
    int from = dbont_shardset_moving_from(set);
    int old = from > 0 ? dbont_jump_hash(h, from) : shard;
    if (old == shard)
        return run_on(set, sq->tenant_setting, shard, access, tenant, op_query, &a, err);
    /* Moving, and this key's rows go elsewhere: the old shard's answer is
     * the whole answer if the key's rows are still there after it was
     * given (see sharded.h); else they have all moved. */
    a.probe = true;
    dbont_status st = run_on(set, sq->tenant_setting, old, access, tenant, op_query, &a, err);
    if (st != DBONT_OK || a.key_here)
        return st;
    if (out != NULL) {
        dbont_result_free(*out);
        *out = NULL;
    }
    a.probe = false;
    return run_on(set, sq->tenant_setting, shard, access, tenant, op_query, &a, err);
}

/* ---- queries: on every shard -------------------------------------------------------------------- */

/* The error of a fan-out whose every shard failed, named by their real
 * numbers (as fanout.c words it). */
static dbont_status all_failed(const dbont_fanout_shard *shards, size_t n, dbont_error *err)
{
    size_t first = n, nfailed = 0;
    char others[160] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (shards[i].status != DBONT_ERROR)
            continue;
        nfailed++;
        if (first == n) {
            first = i;
            continue;
        }
        int w = snprintf(others + len, sizeof others - len, ", %zu", i);
        if (w < 0 || (size_t)w >= sizeof others - len - 6) {
            memcpy(others + len, ", ...", 6);
            len = sizeof others - 1;
            break;
        }
        len += (size_t)w;
    }
    const dbont_error *e = &shards[first].error;
    if (nfailed == 1)
        return dbont_error_set(err, e->sqlstate, "shard %zu: %s %s", first, e->sqlstate, e->message);
    return dbont_error_set(err, e->sqlstate, "%zu of %zu shards failed (%zu%s); shard %zu: %s %s", nfailed, n,
                           first, others, first, e->sqlstate, e->message);
}

dbont_status dbont_sharded_fanout(dbont_shardset *set, int32_t shard_count, dbont_shard_access access,
                                  const dbont_query *q, const void *params, const dbont_fanout_spec *spec,
                                  unsigned flags, dbont_result **out, dbont_fanout_report *report,
                                  dbont_error *err)
{
    if (out != NULL)
        *out = NULL;
    if (q == NULL)
        return dbont_error_set(err, "22023", "dbont_sharded_fanout: q must not be NULL");
    char what[160];
    snprintf(what, sizeof what, "query %s", q->name != NULL ? q->name : "query");
    if (check_count(set, what, shard_count, err) != DBONT_OK)
        return DBONT_ERROR;
    size_t n = (size_t)shard_count;
    bool partial = (flags & DBONT_FANOUT_PARTIAL) != 0;
    /* checked here too: a shard that cannot be acquired goes in the report */
    if (partial && report == NULL)
        return dbont_error_set(err, "22023", "dbont_fanout_run: DBONT_FANOUT_PARTIAL needs a report, which "
                                             "says which shards are missing");
    if (report != NULL && (report->shards == NULL || report->nshards < n))
        return dbont_error_set(err, "22023", "dbont_fanout_run: the report has room for %zu shards, not %zu",
                               report->shards == NULL ? 0 : report->nshards, n);
    dbont_conn **conns = calloc(n, sizeof *conns);        /* of the shards acquired, in shard order */
    int *shard_of = calloc(n, sizeof *shard_of);          /* conns[j] is shard shard_of[j]'s */
    dbont_fanout_shard *missing = calloc(n, sizeof *missing); /* each shard's acquisition */
    dbont_fanout_shard *ran = calloc(n, sizeof *ran);     /* the report of the shards that ran */
    if (conns == NULL || shard_of == NULL || missing == NULL || ran == NULL) {
        free(conns);
        free(shard_of);
        free(missing);
        free(ran);
        return dbont_error_set(err, "53200", "%s: out of memory for %zu shards", what, n);
    }
    dbont_status st = DBONT_OK;
    size_t nconns = 0, nmissing = 0;
    for (size_t i = 0; i < n; i++) {
        dbont_error e;
        dbont_conn *c = dbont_shardset_acquire(set, (int)i, access, &e);
        if (c != NULL) {
            conns[nconns] = c;
            shard_of[nconns++] = (int)i;
            continue;
        }
        missing[i].status = DBONT_ERROR;
        missing[i].error = e;
        nmissing++;
        if (!partial) {
            /* no partial result asked for: the first shard out fails it
             * (its error names it), and nothing is sent */
            *err = e;
            name_shard(err, (int)i);
            st = DBONT_ERROR;
            break;
        }
    }
    if (st == DBONT_OK && nconns == 0) {
        st = all_failed(missing, n, err);
        if (report != NULL) {
            memcpy(report->shards, missing, n * sizeof *missing);
            report->nfailed = n;
        }
    } else if (st == DBONT_OK) {
        /* nfailed stays SIZE_MAX when the run refused its arguments and
         * left the report alone; the caller's is left alone then too */
        dbont_fanout_report sub = {ran, nconns, SIZE_MAX};
        st = dbont_fanout_run(conns, nconns, q, params, spec, flags, out, report != NULL ? &sub : NULL, err);
        if (report == NULL || sub.nfailed == SIZE_MAX) {
            /* nothing to report */
        } else if (nmissing > 0) {
            /* back to the shards' own numbers */
            for (size_t i = 0; i < n; i++)
                report->shards[i] = missing[i];
            for (size_t j = 0; j < nconns; j++)
                report->shards[shard_of[j]] = ran[j];
            report->nfailed = sub.nfailed + nmissing;
            /* fanout.c names shards by their place among those that ran */
            if (st != DBONT_OK && sub.nfailed == nconns)
                all_failed(report->shards, n, err);
        } else {
            memcpy(report->shards, ran, n * sizeof *ran);
            report->nfailed = sub.nfailed;
        }
    }
    for (size_t j = 0; j < nconns; j++)
        dbont_shardset_release(set, conns[j]);
    free(conns);
    free(shard_of);
    free(missing);
    free(ran);
    return st;
}
