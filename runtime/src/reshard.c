/*
 * reshard.c: dbont-shard's plan and move (dbont/reshard.h says what they
 * do and guarantee; this file says how).
 *
 * Everything runs on connections from the shard set's primaries' pools,
 * one statement at a time, in transactions that begin with
 * TXN_SETTINGS.  A key is read in binary (its bytes are what the router
 * hashes), and written back into SQL as the text of an array,
 * "{k1,k2,...}", bound as one parameter ($1::bigint[], text[], uuid[]),
 * or, for COPY, which takes no parameters, escaped as a literal by libpq.
 *
 * The moves of a batch, and why each step is where it is, are in
 * move_batch.  N is the old shard count (moving-from), M the new one.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbont/reshard.h"
#include "dbont/shard.h"
#include "error_internal.h"
#include "monotime.h"

#define CONFIG_ERROR "22023"
#define NO_MEMORY "53200"
#define DATA_ERROR "XX001"   /* data_corrupted: copies that differ */

/* Keys fetched from a cursor at a time (FETCH_SQL): bounds what a key
 * scan holds in memory, whatever the table's size. */
#define FETCH_ROWS "1000"
#define DEFAULT_BATCH_KEYS 1000
/* A batch's keys go into one SQL parameter and one statement: bounded. */
#define MAX_BATCH_KEYS 1000000
/* Copies of a batch whose originals keep changing before the move gives
 * up on it (each one removed before the next). */
#define MAX_ATTEMPTS 3

/* The type OIDs a key column may have (pg_type.dat; fixed). */
#define INT2_OID 21
#define INT4_OID 23
#define INT8_OID 20
#define TEXT_OID 25
#define VARCHAR_OID 1043
#define UUID_OID 2950

/*
 * Every transaction of ours starts with these, all local to it (the
 * connections are pooled: nothing may outlive the transaction).
 *   - row_security off: a policy that would hide rows from us makes the
 *     statement fail instead (42501); a silent filter would make plan
 *     miss rows and move believe a batch empty.
 *   - client_encoding UTF8: text keys are hashed as the UTF-8 bytes the
 *     routing format says, whatever a DSN asks for.
 *   - the output settings of the row texts the checksums compare, so
 *     that two servers configured differently (time zones, date styles)
 *     print equal rows alike.
 */
#define TXN_SETTINGS                                                                   \
    "SET LOCAL row_security = off; SET LOCAL client_encoding = 'UTF8'; "               \
    "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; "                   \
    "SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3; "         \
    "SET LOCAL bytea_output = 'hex'"

#define CURSOR_NAME "dbont_reshard_keys"
#define FETCH_SQL "FETCH FORWARD " FETCH_ROWS " FROM " CURSOR_NAME

const char *dbont_reshard_key_type_name(dbont_reshard_key_type t)
{
    switch (t) {
    case DBONT_RESHARD_KEY_INT:
        return "integer";
    case DBONT_RESHARD_KEY_TEXT:
        return "text";
    case DBONT_RESHARD_KEY_UUID:
        return "uuid";
    }
    return "unknown";
}

/* The element type of the key arrays we bind. */
static const char *array_type(dbont_reshard_key_type t)
{
    return t == DBONT_RESHARD_KEY_INT ? "bigint" : t == DBONT_RESHARD_KEY_TEXT ? "text" : "uuid";
}

/* ---- growing strings --------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool failed;   /* out of memory: every later add is dropped */
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 256 : b->cap;
        char *more;
        while (cap < b->len + n + 1)
            cap *= 2;
        more = realloc(b->p, cap);
        if (more == NULL) {
            b->failed = true;
            return;
        }
        b->p = more;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_adds(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
    } else if ((size_t)n < sizeof small) {
        sb_add(b, small, (size_t)n);
    } else {
        char *big = malloc((size_t)n + 1);
        if (big == NULL) {
            b->failed = true;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        sb_add(b, big, (size_t)n);
        free(big);
    }
}

static void sb_reset(sbuf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->p != NULL)
        b->p[0] = '\0';
}

static void sb_free(sbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* A name as an SQL identifier: in double quotes, inner ones doubled (so
 * any name is safe, whatever its case or characters). */
static void sb_ident(sbuf *b, const char *name)
{
    sb_adds(b, "\"");
    for (; *name != '\0'; name++) {
        if (*name == '"')
            sb_adds(b, "\"\"");
        else
            sb_add(b, name, 1);
    }
    sb_adds(b, "\"");
}

/* ---- the work's context -------------------------------------------------------- */

/* What is known of a table once checked: its SQL pieces. */
typedef struct table_sql {
    char *name;        /* "accounts", quoted */
    char *key;         /* its key column, quoted */
    char *cols;        /* every copied column, quoted, comma-separated */
    unsigned int oid;  /* on the shard last checked (foreign keys) */
} table_sql;

typedef struct ctx {
    dbont_shardset *set;
    int n_old, m_new;
    const dbont_reshard_table *tables;
    size_t ntables;
    table_sql *sql;
    dbont_error *err;
} ctx;

static dbont_status no_memory(ctx *c)
{
    return dbont_error_set(c->err, NO_MEMORY, "out of memory while resharding");
}

static const char *label(const ctx *c, int shard)
{
    const char *l = dbont_shardset_primary_label(c->set, shard);
    return l != NULL ? l : "?";
}

/*
 * Fills the error from a failed result (or the connection, res NULL),
 * naming the shard, its server and the table (table_i < 0: none), and
 * keeping the server's SQLSTATE.
 */
static dbont_status sql_fail(ctx *c, int shard, long table_i, PGconn *pg, const PGresult *res,
                             const char *doing)
{
    dbont_error inner;
    dbont_error_from_result(&inner, pg, res);
    return dbont_error_set(c->err, inner.sqlstate, "shard %d (primary %s): %s%s%s%s: %s", shard,
                           label(c, shard), table_i >= 0 ? "table " : "",
                           table_i >= 0 ? c->tables[table_i].name : "", table_i >= 0 ? ": " : "",
                           doing, inner.message);
}

/* Runs sql (no parameters, maybe several statements); the result is
 * checked and cleared. */
static dbont_status run(ctx *c, int shard, long table_i, dbont_conn *conn, const char *sql,
                        const char *doing)
{
    PGconn *pg = dbont_conn_pg(conn);
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    dbont_status out = DBONT_OK;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        out = sql_fail(c, shard, table_i, pg, res, doing);
    PQclear(res);
    return out;
}

/* Runs sql with one text parameter (NULL: none); the result, which the
 * caller clears, or NULL with the error filled. */
static PGresult *query(ctx *c, int shard, long table_i, dbont_conn *conn, const char *sql,
                       const char *param, int result_format, const char *doing)
{
    PGconn *pg = dbont_conn_pg(conn);
    const char *values[1] = {param};
    PGresult *res = PQexecParams(pg, sql, param != NULL ? 1 : 0, NULL, values, NULL, NULL,
                                 result_format);
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        sql_fail(c, shard, table_i, pg, res, doing);
        PQclear(res);
        return NULL;
    }
    return res;
}

static int64_t tuples(PGresult *res)
{
    const char *n = PQcmdTuples(res);
    return n != NULL && n[0] != '\0' ? (int64_t)strtoll(n, NULL, 10) : 0;
}

static dbont_conn *acquire(ctx *c, int shard)
{
    return dbont_shardset_acquire(c->set, shard, DBONT_SHARD_PRIMARY, c->err);
}

static void release(ctx *c, dbont_conn **conn)
{
    if (*conn != NULL)
        dbont_shardset_release(c->set, *conn);
    *conn = NULL;
}

/* group: the tables are one co-located group (a move). */
static dbont_status check_arguments(ctx *c, bool group)
{
    size_t i;
    if (c->set == NULL)
        return dbont_error_set(c->err, CONFIG_ERROR, "resharding: the shard set must not be NULL");
    c->m_new = dbont_shardset_count(c->set);
    c->n_old = dbont_shardset_moving_from(c->set);
    if (c->n_old == 0)
        return dbont_error_set(c->err, CONFIG_ERROR,
                               "resharding: the shard set's configuration has no 'moving-from N' "
                               "(nor DBONT_SHARD_MOVING_FROM): it says where rows are (%d "
                               "shards), not where they come from; add 'moving-from' with the "
                               "old shard count",
                               c->m_new);
    if (c->tables == NULL || c->ntables == 0)
        return dbont_error_set(c->err, CONFIG_ERROR, "resharding: no table given");
    for (i = 0; i < c->ntables; i++) {
        const dbont_reshard_table *t = &c->tables[i];
        if (t->name == NULL || t->name[0] == '\0' || t->key == NULL || t->key[0] == '\0')
            return dbont_error_set(c->err, CONFIG_ERROR,
                                   "resharding: table %zu has no name or no key column", i);
        if (t->key_type != DBONT_RESHARD_KEY_INT && t->key_type != DBONT_RESHARD_KEY_TEXT &&
            t->key_type != DBONT_RESHARD_KEY_UUID)
            return dbont_error_set(c->err, CONFIG_ERROR,
                                   "resharding: table %s: unknown key type %d", t->name,
                                   (int)t->key_type);
        if (group && t->key_type != c->tables[0].key_type)
            return dbont_error_set(c->err, CONFIG_ERROR,
                                   "resharding: tables %s and %s are moved together (a batch's "
                                   "keys apply to both) but their keys are %s and %s: move "
                                   "tables that are not joined by foreign keys separately",
                                   c->tables[0].name, t->name,
                                   dbont_reshard_key_type_name(c->tables[0].key_type),
                                   dbont_reshard_key_type_name(t->key_type));
    }
    return DBONT_OK;
}

static void sql_free(ctx *c)
{
    size_t i;
    for (i = 0; c->sql != NULL && i < c->ntables; i++) {
        free(c->sql[i].name);
        free(c->sql[i].key);
        free(c->sql[i].cols);
    }
    free(c->sql);
    c->sql = NULL;
}

/* The quoted names of each table and key (columns come with check). */
static dbont_status sql_init(ctx *c)
{
    size_t i;
    c->sql = calloc(c->ntables, sizeof *c->sql);
    if (c->sql == NULL)
        return no_memory(c);
    for (i = 0; i < c->ntables; i++) {
        sbuf b = {0}, k = {0};
        sb_ident(&b, c->tables[i].name);
        sb_ident(&k, c->tables[i].key);
        c->sql[i].name = b.p;
        c->sql[i].key = k.p;
        if (b.failed || k.failed)
            return no_memory(c);
    }
    return DBONT_OK;
}

/* ---- keys --------------------------------------------------------------------- */

/* One key read in binary: its routing hash, and its text in an array. */
typedef struct key {
    uint64_t hash;
    dbont_reshard_key_type type;
    int64_t i;
    const char *text;
    size_t len;
    dbont_uuid uuid;
} key;

static bool key_oid_ok(dbont_reshard_key_type t, Oid oid)
{
    switch (t) {
    case DBONT_RESHARD_KEY_INT:
        return oid == INT2_OID || oid == INT4_OID || oid == INT8_OID;
    case DBONT_RESHARD_KEY_TEXT:
        return oid == TEXT_OID || oid == VARCHAR_OID;
    case DBONT_RESHARD_KEY_UUID:
        return oid == UUID_OID;
    }
    return false;
}

/* Row r of a binary result of one key column; false when NULL or
 * malformed (a NULL key has no shard: dbont-gen makes keys NOT NULL). */
static bool key_decode(const PGresult *res, int r, dbont_reshard_key_type t, key *k)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(res, r, 0);
    int len = PQgetlength(res, r, 0);

    if (PQgetisnull(res, r, 0))
        return false;
    k->type = t;
    switch (t) {
    case DBONT_RESHARD_KEY_INT: {
        /* Big-endian two's complement of 2, 4 or 8 bytes, sign-extended:
         * the routing hashes the value, whatever the column's width. */
        uint64_t v = (len > 0 && (p[0] & 0x80)) ? UINT64_MAX : 0;
        int b;
        if (len != 2 && len != 4 && len != 8)
            return false;
        for (b = 0; b < len; b++)
            v = (v << 8) | p[b];
        memcpy(&k->i, &v, sizeof k->i);
        k->hash = dbont_shard_hash_int(k->i);
        return true;
    }
    case DBONT_RESHARD_KEY_TEXT:
        k->text = (const char *)p;
        k->len = (size_t)len;
        k->hash = dbont_shard_hash_text(k->text, k->len);
        return true;
    case DBONT_RESHARD_KEY_UUID:
        if (len != 16)
            return false;
        memcpy(k->uuid.bytes, p, 16);
        k->hash = dbont_shard_hash_uuid(&k->uuid);
        return true;
    }
    return false;
}

/* The key as an element of an array's text: integers and uuids as they
 * print; text in double quotes, with '"' and '\' escaped by '\'. */
static void sb_key(sbuf *b, const key *k)
{
    switch (k->type) {
    case DBONT_RESHARD_KEY_INT:
        sb_printf(b, "%" PRId64, k->i);
        break;
    case DBONT_RESHARD_KEY_TEXT: {
        size_t i, from = 0;
        sb_adds(b, "\"");
        for (i = 0; i < k->len; i++) {
            if (k->text[i] == '"' || k->text[i] == '\\') {
                sb_add(b, k->text + from, i - from);
                sb_adds(b, "\\");
                from = i;
            }
        }
        sb_add(b, k->text + from, k->len - from);
        sb_adds(b, "\"");
        break;
    }
    case DBONT_RESHARD_KEY_UUID: {
        char text[DBONT_UUID_TEXT_SIZE];
        dbont_uuid_format(&k->uuid, text);
        sb_adds(b, text);
        break;
    }
    }
}

/* The key for messages: short, printable. */
static void key_show(const key *k, char *out, size_t size)
{
    sbuf b = {0};
    sb_key(&b, k);
    if (b.failed || b.p == NULL)
        snprintf(out, size, "?");
    else if (b.len >= size)
        snprintf(out, size, "%.*s...", (int)(size > 4 ? size - 4 : 0), b.p);
    else
        snprintf(out, size, "%s", b.p);
    sb_free(&b);
}

/* Checks the key column of a result: its type must be the table's. */
static dbont_status key_column_ok(ctx *c, int shard, size_t ti, const PGresult *res)
{
    Oid oid = PQftype(res, 0);
    if (key_oid_ok(c->tables[ti].key_type, oid))
        return DBONT_OK;
    return dbont_error_set(c->err, CONFIG_ERROR,
                           "shard %d (primary %s): table %s: shard key %s has type OID %u on "
                           "the server, not the %s type the table description gives",
                           shard, label(c, shard), c->tables[ti].name, c->tables[ti].key,
                           (unsigned)oid, dbont_reshard_key_type_name(c->tables[ti].key_type));
}

/* ---- key scans (a cursor) ------------------------------------------------------ */

typedef dbont_status (*key_fn)(ctx *c, int shard, size_t ti, const key *k, void *user);

/*
 * Calls fn for every key of table ti on shard (every row's with
 * distinct false; each value once, in order, with distinct true: a move
 * meets its keys in the same order at every run, so the batch a stopped
 * run left on both shards comes first in the next), through a cursor
 * in a read-only transaction on conn, FETCH_ROWS at a time, until *stop
 * (stop may be NULL).
 */
static dbont_status scan_keys(ctx *c, int shard, size_t ti, dbont_conn *conn, bool distinct,
                              key_fn fn, void *user, const bool *stop)
{
    sbuf sql = {0};
    dbont_status st = DBONT_OK;
    bool checked = false;

    sb_printf(&sql, "BEGIN READ ONLY; " TXN_SETTINGS "; DECLARE " CURSOR_NAME
                    " NO SCROLL CURSOR FOR SELECT %s%s FROM %s%s",
              distinct ? "DISTINCT " : "", c->sql[ti].key, c->sql[ti].name,
              distinct ? " ORDER BY 1" : "");
    if (sql.failed) {
        sb_free(&sql);
        return no_memory(c);
    }
    st = run(c, shard, (long)ti, conn, sql.p, "reading its keys");
    sb_free(&sql);
    while (st == DBONT_OK && (stop == NULL || !*stop)) {
        PGresult *res = query(c, shard, (long)ti, conn, FETCH_SQL, NULL, 1, "reading its keys");
        int r, nrows;
        if (res == NULL) {
            st = DBONT_ERROR;
            break;
        }
        nrows = PQntuples(res);
        if (nrows > 0 && !checked) {
            st = key_column_ok(c, shard, ti, res);
            checked = true;
        }
        for (r = 0; r < nrows && st == DBONT_OK; r++) {
            key k;
            if (!key_decode(res, r, c->tables[ti].key_type, &k))
                st = dbont_error_set(c->err, CONFIG_ERROR,
                                     "shard %d (primary %s): table %s: a row whose shard key %s "
                                     "is NULL or malformed has no shard",
                                     shard, label(c, shard), c->tables[ti].name,
                                     c->tables[ti].key);
            else
                st = fn(c, shard, ti, &k, user);
        }
        PQclear(res);
        if (nrows == 0)
            break;
    }
    if (st == DBONT_OK)
        return run(c, shard, (long)ti, conn, "COMMIT", "reading its keys");
    /* The pool rolls back what is left when the connection goes back. */
    return st;
}

/* ---- plan --------------------------------------------------------------------------- */

typedef struct plan_scan {
    dbont_reshard_table_plan *tp;
    int64_t *to;          /* rows per new shard, M of them */
    dbont_reshard_key_fn each_moving;
    void *user;
} plan_scan;

/* A key's text form, for dbont_reshard_key_fn; NULL when out of memory. */
static char *key_text(const key *k)
{
    char *t;
    switch (k->type) {
    case DBONT_RESHARD_KEY_INT:
        t = malloc(24);
        if (t != NULL)
            snprintf(t, 24, "%lld", (long long)k->i);
        return t;
    case DBONT_RESHARD_KEY_UUID:
        t = malloc(DBONT_UUID_TEXT_SIZE);
        if (t != NULL)
            dbont_uuid_format(&k->uuid, t);
        return t;
    default:
        t = malloc(k->len + 1);
        if (t != NULL) {
            memcpy(t, k->text, k->len);
            t[k->len] = '\0';
        }
        return t;
    }
}

static dbont_status plan_key(ctx *c, int shard, size_t ti, const key *k, void *user)
{
    plan_scan *ps = user;
    ps->tp->rows++;
    if (dbont_jump_hash(k->hash, c->n_old) != shard) {
        ps->tp->misplaced++;
        ps->tp->misplaced_on[shard]++;
        return DBONT_OK;
    }
    int to = dbont_jump_hash(k->hash, c->m_new);
    ps->to[to]++;
    if (ps->each_moving != NULL && to != shard) {
        char *text = key_text(k);
        if (text == NULL)
            return no_memory(c);
        ps->each_moving(c->tables[ti].name, text, k->hash, shard, to, ps->user);
        free(text);
    }
    return DBONT_OK;
}

/* Adds the flows of one old shard (to[] filled by its scan). */
static dbont_status plan_flows(ctx *c, int shard, plan_scan *ps)
{
    int t;
    for (t = 0; t < c->m_new; t++) {
        dbont_reshard_flow *more;
        if (t == shard || ps->to[t] == 0)
            continue;
        more = realloc(ps->tp->flows, (ps->tp->nflows + 1) * sizeof *more);
        if (more == NULL)
            return no_memory(c);
        ps->tp->flows = more;
        more[ps->tp->nflows].from = shard;
        more[ps->tp->nflows].to = t;
        more[ps->tp->nflows].rows = ps->to[t];
        ps->tp->nflows++;
        ps->tp->moving += ps->to[t];
    }
    return DBONT_OK;
}

void dbont_reshard_plan_free(dbont_reshard_plan *p)
{
    size_t i;
    if (p == NULL)
        return;
    for (i = 0; p->tables != NULL && i < p->ntables; i++) {
        free(p->tables[i].name);
        free(p->tables[i].flows);
        free(p->tables[i].misplaced_on);
    }
    free(p->tables);
    memset(p, 0, sizeof *p);
}

dbont_status dbont_reshard_make_plan(dbont_shardset *s, const dbont_reshard_table *tables,
                                     size_t n, dbont_reshard_key_fn each_moving, void *user,
                                     dbont_reshard_plan *out, dbont_error *err)
{
    ctx c = {s, 0, 0, tables, n, NULL, err};
    plan_scan ps = {NULL, NULL, each_moving, user};
    dbont_conn *conn = NULL;
    dbont_status st;
    size_t i;
    int shard;

    if (out == NULL)
        return dbont_error_set(err, CONFIG_ERROR, "dbont_reshard_make_plan: out is NULL");
    memset(out, 0, sizeof *out);
    if ((st = check_arguments(&c, false)) != DBONT_OK || (st = sql_init(&c)) != DBONT_OK)
        goto end;
    out->from_count = c.n_old;
    out->to_count = c.m_new;
    out->tables = calloc(n, sizeof *out->tables);
    ps.to = calloc((size_t)c.m_new, sizeof *ps.to);
    if (out->tables == NULL || ps.to == NULL) {
        st = no_memory(&c);
        goto end;
    }
    out->ntables = n;
    for (i = 0; i < n; i++) {
        out->tables[i].name = strdup(tables[i].name);
        out->tables[i].misplaced_on = calloc((size_t)c.n_old, sizeof(int64_t));
        if (out->tables[i].name == NULL || out->tables[i].misplaced_on == NULL) {
            st = no_memory(&c);
            goto end;
        }
    }
    for (shard = 0; shard < c.n_old && st == DBONT_OK; shard++) {
        if ((conn = acquire(&c, shard)) == NULL) {
            st = DBONT_ERROR;
            break;
        }
        for (i = 0; i < n && st == DBONT_OK; i++) {
            ps.tp = &out->tables[i];
            memset(ps.to, 0, (size_t)c.m_new * sizeof *ps.to);
            st = scan_keys(&c, shard, i, conn, false, plan_key, &ps, NULL);
            if (st == DBONT_OK)
                st = plan_flows(&c, shard, &ps);
        }
        release(&c, &conn);
    }
    /* What the new shards hold already: a move that was stopped. */
    for (shard = c.n_old; shard < c.m_new && st == DBONT_OK; shard++) {
        if ((conn = acquire(&c, shard)) == NULL) {
            st = DBONT_ERROR;
            break;
        }
        for (i = 0; i < n && st == DBONT_OK; i++) {
            sbuf sql = {0};
            PGresult *res;
            sb_printf(&sql, "BEGIN READ ONLY; " TXN_SETTINGS);
            st = run(&c, shard, (long)i, conn, sql.p, "counting its rows");
            sb_reset(&sql);
            sb_printf(&sql, "SELECT count(*) FROM %s", c.sql[i].name);
            res = st == DBONT_OK ? query(&c, shard, (long)i, conn, sql.p, NULL, 0,
                                         "counting its rows")
                                 : NULL;
            sb_free(&sql);
            if (res == NULL) {
                st = DBONT_ERROR;
                break;
            }
            out->tables[i].on_new += (int64_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            PQclear(res);
            st = run(&c, shard, (long)i, conn, "COMMIT", "counting its rows");
        }
        release(&c, &conn);
    }
    for (i = 0; i < n && st == DBONT_OK; i++) {
        out->rows += out->tables[i].rows;
        out->moving += out->tables[i].moving;
        out->misplaced += out->tables[i].misplaced;
        out->on_new += out->tables[i].on_new;
    }
end:
    free(ps.to);
    sql_free(&c);
    if (st != DBONT_OK)
        dbont_reshard_plan_free(out);
    return st;
}

/* ---- move: checking the shards first ------------------------------------------------- */

/* A table's columns on a shard: "name type" lines sorted by name, and
 * the quoted names, comma-separated, in the same order. */
static dbont_status read_columns(ctx *c, int shard, size_t ti, dbont_conn *conn, sbuf *desc,
                                 sbuf *cols, bool *key_seen)
{
    static const char sql_oid[] = "SELECT to_regclass($1)::oid";
    static const char sql_cols[] =
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
        "AND a.attgenerated = '' ORDER BY a.attname COLLATE \"C\"";
    const dbont_reshard_table *t = &c->tables[ti];
    PGresult *res;
    char oid[16];
    int r;

    res = query(c, shard, (long)ti, conn, sql_oid, c->sql[ti].name, 0, "looking it up");
    if (res == NULL)
        return DBONT_ERROR;
    if (PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return dbont_error_set(c->err, "42P01",
                               "shard %d (primary %s): table %s does not exist there (every "
                               "shard, old and new, needs the same migrations applied before a "
                               "move)",
                               shard, label(c, shard), t->name);
    }
    snprintf(oid, sizeof oid, "%s", PQgetvalue(res, 0, 0));
    c->sql[ti].oid = (unsigned)strtoul(oid, NULL, 10);
    PQclear(res);
    res = query(c, shard, (long)ti, conn, sql_cols, oid, 0, "reading its columns");
    if (res == NULL)
        return DBONT_ERROR;
    *key_seen = false;
    for (r = 0; r < PQntuples(res); r++) {
        const char *name = PQgetvalue(res, r, 0), *type = PQgetvalue(res, r, 1);
        sb_printf(desc, "%s%s %s", r > 0 ? ", " : "", name, type);
        if (r > 0)
            sb_adds(cols, ", ");
        sb_ident(cols, name);
        if (strcmp(name, t->key) == 0) {
            bool ok = false;
            *key_seen = true;
            switch (t->key_type) {
            case DBONT_RESHARD_KEY_INT:
                ok = strcmp(type, "smallint") == 0 || strcmp(type, "integer") == 0 ||
                     strcmp(type, "bigint") == 0;
                break;
            case DBONT_RESHARD_KEY_TEXT:
                ok = strcmp(type, "text") == 0 || strncmp(type, "character varying", 17) == 0;
                break;
            case DBONT_RESHARD_KEY_UUID:
                ok = strcmp(type, "uuid") == 0;
                break;
            }
            if (!ok) {
                PQclear(res);
                return dbont_error_set(c->err, CONFIG_ERROR,
                                       "shard %d (primary %s): table %s: shard key %s is %s "
                                       "there, not of the %s type the table description "
                                       "gives",
                                       shard, label(c, shard), t->name, t->key, type,
                                       dbont_reshard_key_type_name(t->key_type));
            }
        }
    }
    PQclear(res);
    if (desc->failed || cols->failed)
        return no_memory(c);
    if (!*key_seen)
        return dbont_error_set(c->err, CONFIG_ERROR,
                               "shard %d (primary %s): table %s has no column %s (its shard key)",
                               shard, label(c, shard), t->name, t->key);
    return DBONT_OK;
}

/*
 * The foreign keys touching the tables, on one shard: a table given must
 * come after every table it refers to, and every table that refers to,
 * or is referred to by, a table given must be given too (copying a
 * child without its parent fails on the new shard; deleting a parent
 * without its children is refused by the old shard, or cascades to
 * children that were never copied).
 */
static dbont_status check_foreign_keys(ctx *c, int shard, dbont_conn *conn)
{
    static const char sql[] =
        "SELECT conrelid::oid, confrelid::oid, conrelid::regclass::text, "
        "confrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' "
        "AND conrelid <> confrelid AND (conrelid = ANY($1::oid[]) OR confrelid = ANY($1::oid[])) "
        "ORDER BY conname COLLATE \"C\"";
    sbuf oids = {0};
    PGresult *res;
    dbont_status st = DBONT_OK;
    size_t i;
    int r;

    sb_adds(&oids, "{");
    for (i = 0; i < c->ntables; i++)
        sb_printf(&oids, "%s%u", i > 0 ? "," : "", c->sql[i].oid);
    sb_adds(&oids, "}");
    if (oids.failed) {
        sb_free(&oids);
        return no_memory(c);
    }
    res = query(c, shard, -1, conn, sql, oids.p, 0, "reading the tables' foreign keys");
    sb_free(&oids);
    if (res == NULL)
        return DBONT_ERROR;
    for (r = 0; r < PQntuples(res) && st == DBONT_OK; r++) {
        unsigned child = (unsigned)strtoul(PQgetvalue(res, r, 0), NULL, 10);
        unsigned parent = (unsigned)strtoul(PQgetvalue(res, r, 1), NULL, 10);
        long ci = -1, pi = -1;
        for (i = 0; i < c->ntables; i++) {
            if (c->sql[i].oid == child)
                ci = (long)i;
            if (c->sql[i].oid == parent)
                pi = (long)i;
        }
        if (ci < 0)
            st = dbont_error_set(c->err, CONFIG_ERROR,
                                 "shard %d (primary %s): table %s refers to table %s (foreign "
                                 "key %s) and is not moved with it: deleting the moved rows of "
                                 "%s would be refused, or cascade to rows of %s never copied; "
                                 "move them together",
                                 shard, label(c, shard), PQgetvalue(res, r, 2),
                                 PQgetvalue(res, r, 3), PQgetvalue(res, r, 4),
                                 PQgetvalue(res, r, 3), PQgetvalue(res, r, 2));
        else if (pi < 0)
            st = dbont_error_set(c->err, CONFIG_ERROR,
                                 "shard %d (primary %s): table %s refers to table %s (foreign "
                                 "key %s), which is not moved with it: its copies would refer to "
                                 "rows missing on the new shard; move them together",
                                 shard, label(c, shard), PQgetvalue(res, r, 2),
                                 PQgetvalue(res, r, 3), PQgetvalue(res, r, 4));
        else if (pi > ci)
            st = dbont_error_set(c->err, CONFIG_ERROR,
                                 "shard %d (primary %s): table %s refers to table %s (foreign "
                                 "key %s), so %s must come before %s in the tables to move "
                                 "(parents first)",
                                 shard, label(c, shard), PQgetvalue(res, r, 2),
                                 PQgetvalue(res, r, 3), PQgetvalue(res, r, 4),
                                 PQgetvalue(res, r, 3), PQgetvalue(res, r, 2));
    }
    PQclear(res);
    return st;
}

/*
 * Before anything is written: every shard, old and new, has each table,
 * with the same columns (names and types) as shard 0, a key column of
 * the right type, and foreign keys that the order given respects.  The
 * columns copied are shard 0's, by name.
 */
static dbont_status check_shards(ctx *c)
{
    sbuf *first = calloc(c->ntables, sizeof *first);
    dbont_status st = DBONT_OK;
    int shard;
    size_t i;

    if (first == NULL)
        return no_memory(c);
    for (shard = 0; shard < c->m_new && st == DBONT_OK; shard++) {
        dbont_conn *conn = acquire(c, shard);
        if (conn == NULL) {
            st = DBONT_ERROR;
            break;
        }
        for (i = 0; i < c->ntables && st == DBONT_OK; i++) {
            sbuf desc = {0}, cols = {0};
            bool key_seen;
            st = read_columns(c, shard, i, conn, &desc, &cols, &key_seen);
            if (st == DBONT_OK && shard == 0) {
                first[i] = desc;
                c->sql[i].cols = cols.p;
                memset(&desc, 0, sizeof desc);
                memset(&cols, 0, sizeof cols);
            } else if (st == DBONT_OK && strcmp(desc.p, first[i].p) != 0) {
                st = dbont_error_set(c->err, CONFIG_ERROR,
                                     "shard %d (primary %s): table %s has columns (%s), but "
                                     "shard 0 has (%s): every shard needs the same migrations "
                                     "applied before a move",
                                     shard, label(c, shard), c->tables[i].name, desc.p,
                                     first[i].p);
            }
            sb_free(&desc);
            sb_free(&cols);
        }
        if (st == DBONT_OK)
            st = check_foreign_keys(c, shard, conn);
        release(c, &conn);
    }
    for (i = 0; i < c->ntables; i++)
        sb_free(&first[i]);
    free(first);
    return st;
}

/* ---- move: a batch ------------------------------------------------------------------------ */

/* The keys of a batch, all from one old shard to one new one. */
typedef struct batch {
    sbuf keys;          /* "{k1,k2,...": closed with "}" when moved */
    size_t nkeys;
    char first[96];     /* the first key, for messages */
} batch;

typedef struct mover {
    ctx *c;
    const dbont_reshard_move_options *o;
    dbont_reshard_move_report *report;
    int from;                 /* the old shard being moved */
    dbont_conn *src;          /* its work connection (the cursor has another) */
    dbont_conn **tgt;         /* per shard, acquired when first needed */
    batch *batches;           /* per new shard */
    int64_t *rows;            /* per table, the batch's rows copied */
    char (*copied)[33];       /* per table, their checksum as copied */
    sbuf sql;                 /* scratch */
    uint64_t number;          /* batches begun */
    bool stop;                /* on_batch said so */
} mover;

/* "batch 3 (500 keys from shard 1 to shard 4, the first 1234)" */
static void batch_name(const mover *mv, const batch *b, int to, char *out, size_t size)
{
    snprintf(out, size, "batch %" PRIu64 " (%zu key%s from shard %d to shard %d, the first %s)",
             mv->number, b->nkeys, b->nkeys == 1 ? "" : "s", mv->from, to, b->first);
}

/* Count and checksum of table ti's rows with the batch's keys, as the
 * server computes them (lock: FOR UPDATE, on the old shard). */
static dbont_status checksum(mover *mv, int shard, size_t ti, dbont_conn *conn, const char *keys,
                             bool lock, int64_t *count, char md5[33])
{
    ctx *c = mv->c;
    PGresult *res;

    sb_reset(&mv->sql);
    sb_printf(&mv->sql,
              "SELECT count(*), coalesce(md5(string_agg(r, E'\\n' ORDER BY r COLLATE \"C\")), '') "
              "FROM (SELECT ROW(%s)::text AS r FROM %s WHERE %s = ANY($1::%s[])%s) AS s",
              c->sql[ti].cols, c->sql[ti].name, c->sql[ti].key,
              array_type(c->tables[ti].key_type), lock ? " FOR UPDATE" : "");
    if (mv->sql.failed)
        return no_memory(c);
    res = query(c, shard, (long)ti, conn, mv->sql.p, keys, 0, "checking the batch's rows");
    if (res == NULL)
        return DBONT_ERROR;
    *count = (int64_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(md5, 33, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return DBONT_OK;
}

/* Per key: "key count md5" rows, sorted bytewise by the key's text. */
static PGresult *per_key(mover *mv, int shard, size_t ti, dbont_conn *conn, const char *keys)
{
    ctx *c = mv->c;
    sb_reset(&mv->sql);
    sb_printf(&mv->sql,
              "SELECT k, count(*), md5(string_agg(r, E'\\n' ORDER BY r COLLATE \"C\")) FROM "
              "(SELECT %s::text AS k, ROW(%s)::text AS r FROM %s WHERE %s = ANY($1::%s[])) AS s "
              "GROUP BY k ORDER BY k COLLATE \"C\"",
              c->sql[ti].key, c->sql[ti].cols, c->sql[ti].name, c->sql[ti].key,
              array_type(c->tables[ti].key_type));
    if (mv->sql.failed) {
        no_memory(c);
        return NULL;
    }
    return query(c, shard, (long)ti, conn, mv->sql.p, keys, 0, "checking the batch's rows");
}

/*
 * Step 1: rows of the batch's keys already on the new shard must be
 * copies of the old shard's, key by key, or the copy step (which deletes
 * them first) would destroy a write.  They are there when an earlier run
 * copied them and was stopped before its delete; anything else put them
 * there.  The common case, none there, costs one count per table.
 */
static dbont_status precheck(mover *mv, int to, const batch *b, const char *what)
{
    ctx *c = mv->c;
    dbont_conn *tgt = mv->tgt[to];
    dbont_status st;
    size_t ti;

    st = run(c, to, -1, tgt, "BEGIN READ ONLY; " TXN_SETTINGS, "checking the batch's rows");
    for (ti = 0; ti < c->ntables && st == DBONT_OK; ti++) {
        int64_t there;
        char md5[33];
        PGresult *tr, *sr;
        int i, j, nt, ns;

        st = checksum(mv, to, ti, tgt, b->keys.p, false, &there, md5);
        if (st != DBONT_OK || there == 0)
            continue;
        tr = per_key(mv, to, ti, tgt, b->keys.p);
        if (tr == NULL)
            return DBONT_ERROR;
        st = run(c, mv->from, -1, mv->src, "BEGIN READ ONLY; " TXN_SETTINGS,
                 "checking the batch's rows");
        sr = st == DBONT_OK ? per_key(mv, mv->from, ti, mv->src, b->keys.p) : NULL;
        if (sr == NULL) {
            PQclear(tr);
            return DBONT_ERROR;
        }
        st = run(c, mv->from, -1, mv->src, "COMMIT", "checking the batch's rows");
        nt = PQntuples(tr);
        ns = PQntuples(sr);
        /* A merge of the two sorted lists, over the new shard's keys. */
        for (i = 0, j = 0; i < nt && st == DBONT_OK; i++) {
            const char *k = PQgetvalue(tr, i, 0);
            while (j < ns && strcmp(PQgetvalue(sr, j, 0), k) < 0)
                j++;
            if (j < ns && strcmp(PQgetvalue(sr, j, 0), k) == 0 &&
                strcmp(PQgetvalue(sr, j, 1), PQgetvalue(tr, i, 1)) == 0 &&
                strcmp(PQgetvalue(sr, j, 2), PQgetvalue(tr, i, 2)) == 0)
                continue;
            st = dbont_error_set(c->err, DATA_ERROR,
                                 "shard %d (primary %s): table %s: %s: shard %d already holds "
                                 "%s row%s with key %s that differ%s from shard %d's (%s "
                                 "there): one of the two copies was written after an earlier "
                                 "move copied it; nothing was changed: reconcile the rows with "
                                 "that key by hand (keep the right version on one of the two "
                                 "shards), then run the move again",
                                 to, label(c, to), c->tables[ti].name, what, to,
                                 PQgetvalue(tr, i, 1),
                                 strcmp(PQgetvalue(tr, i, 1), "1") == 0 ? "" : "s", k,
                                 strcmp(PQgetvalue(tr, i, 1), "1") == 0 ? "s" : "", mv->from,
                                 j < ns && strcmp(PQgetvalue(sr, j, 0), k) == 0
                                     ? PQgetvalue(sr, j, 1)
                                     : "none");
        }
        PQclear(tr);
        PQclear(sr);
    }
    if (st == DBONT_OK)
        st = run(c, to, -1, tgt, "COMMIT", "checking the batch's rows");
    return st;
}

/* Reads the results left on pg, so that it can take the next command. */
static void drain_results(PGconn *pg)
{
    PGresult *res;
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
}

/* The same for a COPY TO STDOUT that is still sending: its rows are
 * read and dropped first. */
static void drain_copy_out(PGconn *pg)
{
    char *buf;
    while (PQgetCopyData(pg, &buf, 0) > 0)
        PQfreemem(buf);
    drain_results(pg);
}

/*
 * COPY of table ti's rows with the keys (literal: the array, escaped)
 * from the old shard into the new one, streamed: each chunk the old
 * server sends goes to the new one as it comes, so that a batch's size
 * never sits in memory.  *rows: as the new shard counted them.
 */
static dbont_status copy_table(mover *mv, int to, size_t ti, const char *literal, int64_t *rows)
{
    ctx *c = mv->c;
    PGconn *src = dbont_conn_pg(mv->src), *tgt = dbont_conn_pg(mv->tgt[to]);
    PGresult *res;
    bool put_failed = false;
    dbont_status st = DBONT_OK;
    char *buf;
    int got;

    sb_reset(&mv->sql);
    sb_printf(&mv->sql, "COPY (SELECT %s FROM %s WHERE %s = ANY(%s::%s[])) TO STDOUT (FORMAT binary)",
              c->sql[ti].cols, c->sql[ti].name, c->sql[ti].key, literal,
              array_type(c->tables[ti].key_type));
    if (mv->sql.failed)
        return no_memory(c);
    res = PQexec(src, mv->sql.p);
    if (res == NULL || PQresultStatus(res) != PGRES_COPY_OUT) {
        st = sql_fail(c, mv->from, (long)ti, src, res, "copying rows out");
        PQclear(res);
        return st;
    }
    PQclear(res);
    sb_reset(&mv->sql);
    sb_printf(&mv->sql, "COPY %s (%s) FROM STDIN (FORMAT binary)", c->sql[ti].name,
              c->sql[ti].cols);
    res = mv->sql.failed ? NULL : PQexec(tgt, mv->sql.p);
    if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
        st = mv->sql.failed ? no_memory(c)
                            : sql_fail(c, to, (long)ti, tgt, res, "copying rows in");
        PQclear(res);
        drain_copy_out(src);
        return st;
    }
    PQclear(res);
    while ((got = PQgetCopyData(src, &buf, 0)) > 0) {
        if (!put_failed && PQputCopyData(tgt, buf, got) != 1)
            put_failed = true;   /* the target's error comes with its result */
        PQfreemem(buf);
    }
    res = PQgetResult(src);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        st = sql_fail(c, mv->from, (long)ti, src, res, "copying rows out");
        PQclear(res);
        drain_results(src);
        /* Abort the target's COPY: its transaction is rolled back. */
        PQputCopyEnd(tgt, "dbont-shard: the old shard's COPY failed");
        drain_results(tgt);
        return st;
    }
    PQclear(res);
    drain_results(src);
    PQputCopyEnd(tgt, NULL);
    res = PQgetResult(tgt);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
        st = sql_fail(c, to, (long)ti, tgt, res, "copying rows in");
    else
        *rows = tuples(res);
    PQclear(res);
    drain_results(tgt);
    return st;
}

/*
 * Step 2: on the new shard, in one transaction, the batch's rows of
 * every table replace any earlier copy (children deleted first, parents
 * copied first); the old shard's rows are read in one REPEATABLE READ
 * transaction, so that the tables' copies agree with each other.
 */
static dbont_status copy_batch(mover *mv, int to, const batch *b)
{
    ctx *c = mv->c;
    dbont_conn *tgt = mv->tgt[to];
    char *literal = NULL;
    dbont_status st;
    size_t ti;

    literal = PQescapeLiteral(dbont_conn_pg(mv->src), b->keys.p, b->keys.len);
    if (literal == NULL)
        return sql_fail(c, mv->from, -1, dbont_conn_pg(mv->src), NULL, "quoting keys");
    st = run(c, to, -1, tgt, "BEGIN; " TXN_SETTINGS, "copying the batch");
    for (ti = c->ntables; ti-- > 0 && st == DBONT_OK;) {
        PGresult *res;
        sb_reset(&mv->sql);
        sb_printf(&mv->sql, "DELETE FROM %s WHERE %s = ANY($1::%s[])", c->sql[ti].name,
                  c->sql[ti].key, array_type(c->tables[ti].key_type));
        res = mv->sql.failed ? NULL
                             : query(c, to, (long)ti, tgt, mv->sql.p, b->keys.p, 0,
                                     "deleting an earlier copy");
        if (res == NULL)
            st = mv->sql.failed ? no_memory(c) : DBONT_ERROR;
        PQclear(res);
    }
    if (st == DBONT_OK)
        st = run(c, mv->from, -1, mv->src,
                 "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; " TXN_SETTINGS,
                 "copying the batch");
    for (ti = 0; ti < c->ntables && st == DBONT_OK; ti++) {
        mv->rows[ti] = 0;
        st = copy_table(mv, to, ti, literal, &mv->rows[ti]);
    }
    PQfreemem(literal);
    if (st == DBONT_OK)
        st = run(c, mv->from, -1, mv->src, "COMMIT", "copying the batch");
    /* The copy's fingerprint, before anyone else can see it: step 3 tells
     * by it which side was written since. */
    for (ti = 0; ti < c->ntables && st == DBONT_OK; ti++) {
        int64_t n;
        st = checksum(mv, to, ti, tgt, b->keys.p, false, &n, mv->copied[ti]);
        if (st == DBONT_OK && n != mv->rows[ti])
            st = dbont_error_set(c->err, DATA_ERROR,
                                 "shard %d (primary %s): table %s: COPY said %" PRId64
                                 " rows, but %" PRId64 " are there; rolled back",
                                 to, label(c, to), c->tables[ti].name, mv->rows[ti], n);
    }
    if (st == DBONT_OK)
        st = run(c, to, -1, tgt, "COMMIT", "copying the batch");
    return st;
}

/* Deletes table ti's rows with the batch's keys on shard (in its open
 * transaction); *deleted: how many. */
static dbont_status delete_rows(mover *mv, int shard, dbont_conn *conn, size_t ti,
                                const char *keys, const char *doing, int64_t *deleted)
{
    ctx *c = mv->c;
    PGresult *res;
    sb_reset(&mv->sql);
    sb_printf(&mv->sql, "DELETE FROM %s WHERE %s = ANY($1::%s[])", c->sql[ti].name,
              c->sql[ti].key, array_type(c->tables[ti].key_type));
    if (mv->sql.failed)
        return no_memory(c);
    res = query(c, shard, (long)ti, conn, mv->sql.p, keys, 0, doing);
    if (res == NULL)
        return DBONT_ERROR;
    *deleted = tuples(res);
    PQclear(res);
    return DBONT_OK;
}

/* What step 3 found. */
typedef enum verdict {
    MOVED,       /* the originals are deleted */
    COPY_AGAIN   /* the originals changed after the copy: the copy was
                    removed, and the batch is to be copied again */
} verdict;

/*
 * Removes the new shard's copies of the batch, provided they are still
 * as copied (locked, then compared, then deleted, in one transaction).
 * The old shard's rows stay locked by the caller meanwhile.
 */
static dbont_status remove_copies(mover *mv, int to, const batch *b, const char *what)
{
    ctx *c = mv->c;
    dbont_conn *tgt = mv->tgt[to];
    dbont_status st = run(c, to, -1, tgt, "BEGIN; " TXN_SETTINGS, "removing a stale copy");
    size_t ti;

    for (ti = 0; ti < c->ntables && st == DBONT_OK; ti++) {
        int64_t n;
        char sum[33];
        st = checksum(mv, to, ti, tgt, b->keys.p, true, &n, sum);
        if (st == DBONT_OK && (n != mv->rows[ti] || strcmp(sum, mv->copied[ti]) != 0))
            st = dbont_error_set(c->err, DATA_ERROR,
                                 "shard %d (primary %s): table %s: %s: rows were written on "
                                 "both shards during the move (on shard %d after the copy, and "
                                 "on shard %d); each keeps its version: reconcile them by hand "
                                 "(keep the right version on one of the two shards), then run "
                                 "the move again",
                                 to, label(c, to), c->tables[ti].name, what, mv->from, to);
    }
    for (ti = c->ntables; ti-- > 0 && st == DBONT_OK;) {
        int64_t n;
        st = delete_rows(mv, to, tgt, ti, b->keys.p, "removing a stale copy", &n);
    }
    if (st == DBONT_OK)
        return run(c, to, -1, tgt, "COMMIT", "removing a stale copy");
    dbont_exec(tgt, "ROLLBACK", NULL);
    return st;
}

/*
 * Step 3, on the old shard in one transaction: its rows of the batch are
 * locked (FOR UPDATE: nothing changes them from here to the delete), and
 * each side is compared with the copy as it was made (copied[], taken in
 * the copy's own transaction):
 *   - neither side changed: the originals are deleted (children first);
 *   - only the new shard's copy changed: a write went to the new shard
 *     after the copy, as writes during a move do (dbont/shardset.h); the
 *     copy is the row now, and the originals, as copied, are deleted;
 *   - only the originals changed: a write reached the old shard after the
 *     copy; the copy, stale, is removed, and the batch is copied again;
 *   - both changed: the move stops (XX001), each side keeping its rows.
 */
static dbont_status verify_and_delete(mover *mv, int to, const batch *b, const char *what,
                                      verdict *v)
{
    ctx *c = mv->c;
    dbont_conn *tgt = mv->tgt[to];
    bool src_changed = false, tgt_changed = false;
    size_t ti, changed = 0;   /* a table written on the new shard, for the message */
    dbont_status st;

    *v = MOVED;
    st = run(c, to, -1, tgt, "BEGIN READ ONLY; " TXN_SETTINGS, "verifying the batch");
    for (ti = 0; ti < c->ntables && st == DBONT_OK; ti++) {
        int64_t n;
        char sum[33];
        st = checksum(mv, to, ti, tgt, b->keys.p, false, &n, sum);
        if (st == DBONT_OK && (n != mv->rows[ti] || strcmp(sum, mv->copied[ti]) != 0)) {
            if (!tgt_changed)
                changed = ti;
            tgt_changed = true;
        }
    }
    if (st == DBONT_OK)
        st = run(c, to, -1, tgt, "COMMIT", "verifying the batch");
    if (st == DBONT_OK)
        st = run(c, mv->from, -1, mv->src, "BEGIN; " TXN_SETTINGS, "verifying the batch");
    for (ti = 0; ti < c->ntables && st == DBONT_OK; ti++) {
        int64_t n;
        char sum[33];
        st = checksum(mv, mv->from, ti, mv->src, b->keys.p, true, &n, sum);
        if (st == DBONT_OK && (n != mv->rows[ti] || strcmp(sum, mv->copied[ti]) != 0))
            src_changed = true;
    }
    if (st == DBONT_OK && src_changed && tgt_changed)
        st = dbont_error_set(c->err, DATA_ERROR,
                             "shard %d (primary %s): %s: rows were written on both shards "
                             "during the move (on shard %d, and on the copy on shard %d after "
                             "the copy, table %s there); each keeps its version: reconcile them "
                             "by hand (keep the right version on one of the two shards), then "
                             "run the move again",
                             mv->from, label(c, mv->from), what, mv->from, to,
                             c->tables[changed].name);
    if (st == DBONT_OK && src_changed) {
        st = remove_copies(mv, to, b, what);
        *v = COPY_AGAIN;
    }
    for (ti = c->ntables; ti-- > 0 && st == DBONT_OK && *v == MOVED;) {
        int64_t n;
        st = delete_rows(mv, mv->from, mv->src, ti, b->keys.p, "deleting the moved rows", &n);
        if (st == DBONT_OK && n != mv->rows[ti])
            st = dbont_error_set(c->err, DATA_ERROR,
                                 "shard %d (primary %s): table %s: %s: deleting %" PRId64
                                 " moved rows deleted %" PRId64 "; rolled back",
                                 mv->from, label(c, mv->from), c->tables[ti].name, what,
                                 mv->rows[ti], n);
    }
    if (st == DBONT_OK && *v == MOVED)
        return run(c, mv->from, -1, mv->src, "COMMIT", "deleting the moved rows");
    dbont_exec(mv->src, "ROLLBACK", NULL);   /* the locks go now, not at release */
    return st;
}

static bool report_phase(mover *mv, dbont_reshard_phase phase, int to, const batch *b,
                         struct timespec began)
{
    dbont_reshard_batch info;
    if (mv->o->on_batch == NULL)
        return true;
    info.phase = phase;
    info.number = mv->number;
    info.from = mv->from;
    info.to = to;
    info.keys = b->nkeys;
    info.rows = mv->rows;
    info.ntables = mv->c->ntables;
    info.ms = dbont_time_diff(began, dbont_time_now()) * 1000.0;
    return mv->o->on_batch(&info, mv->o->user);
}

/* Moves the batch of new shard to, and empties it. */
static dbont_status move_batch(mover *mv, int to)
{
    ctx *c = mv->c;
    batch *b = &mv->batches[to];
    struct timespec began = dbont_time_now();
    char what[256];
    dbont_status st;
    size_t ti;
    int attempt;

    if (b->nkeys == 0 || mv->stop)
        return DBONT_OK;
    sb_adds(&b->keys, "}");
    if (b->keys.failed)
        return no_memory(c);
    mv->number++;
    batch_name(mv, b, to, what, sizeof what);
    if (mv->tgt[to] == NULL && (mv->tgt[to] = acquire(c, to)) == NULL)
        return DBONT_ERROR;
    st = precheck(mv, to, b, what);
    for (attempt = 1; st == DBONT_OK && !mv->stop; attempt++) {
        verdict v;
        st = copy_batch(mv, to, b);
        if (st == DBONT_OK && !report_phase(mv, DBONT_RESHARD_COPIED, to, b, began))
            mv->stop = true;
        if (st == DBONT_OK && !mv->stop)
            st = verify_and_delete(mv, to, b, what, &v);
        if (st != DBONT_OK || mv->stop || v == MOVED)
            break;
        if (attempt == MAX_ATTEMPTS)
            st = dbont_error_set(c->err, DATA_ERROR,
                                 "shard %d (primary %s): %s: its rows changed after each of %d "
                                 "copies (they are written while they move); the old shard "
                                 "keeps them, and no copy is left on shard %d: run the move "
                                 "again when they are quiet",
                                 mv->from, label(c, mv->from), what, MAX_ATTEMPTS, to);
    }
    if (st == DBONT_OK && !mv->stop) {
        mv->report->batches++;
        mv->report->keys += (int64_t)b->nkeys;
        for (ti = 0; ti < c->ntables; ti++)
            mv->report->rows[ti] += mv->rows[ti];
        if (!report_phase(mv, DBONT_RESHARD_MOVED, to, b, began))
            mv->stop = true;
    }
    if (st != DBONT_OK && strstr(c->err->message, what) == NULL) {
        /* Say which batch, when the message does not yet. */
        dbont_error inner = *c->err;
        dbont_error_set(c->err, inner.sqlstate, "%s: %s", what, inner.message);
    }
    mv->report->stopped = mv->stop;
    sb_reset(&b->keys);
    b->nkeys = 0;
    return st;
}

/* A key of table ti on old shard from: into its new shard's batch when
 * it moves. */
static dbont_status move_key(ctx *c, int shard, size_t ti, const key *k, void *user)
{
    mover *mv = user;
    batch *b;
    int to;
    (void)ti;

    if (mv->stop)
        return DBONT_OK;
    if (dbont_jump_hash(k->hash, c->n_old) != shard) {
        mv->report->misplaced++;
        return DBONT_OK;
    }
    to = dbont_jump_hash(k->hash, c->m_new);
    if (to == shard)
        return DBONT_OK;
    b = &mv->batches[to];
    sb_adds(&b->keys, b->nkeys == 0 ? "{" : ",");
    sb_key(&b->keys, k);
    if (b->nkeys == 0)
        key_show(k, b->first, sizeof b->first);
    b->nkeys++;
    if (b->keys.failed)
        return no_memory(c);
    return b->nkeys >= mv->o->batch_keys ? move_batch(mv, to) : DBONT_OK;
}

void dbont_reshard_move_report_free(dbont_reshard_move_report *r)
{
    if (r == NULL)
        return;
    free(r->rows);
    memset(r, 0, sizeof *r);
}

dbont_status dbont_reshard_move(dbont_shardset *s, const dbont_reshard_table *tables, size_t n,
                                const dbont_reshard_move_options *o,
                                dbont_reshard_move_report *report, dbont_error *err)
{
    static const dbont_reshard_move_options defaults = DBONT_RESHARD_MOVE_OPTIONS_INIT;
    dbont_reshard_move_options opt;
    ctx c = {s, 0, 0, tables, n, NULL, err};
    mover mv;
    dbont_conn *cursor = NULL;
    dbont_status st;
    int shard, t;
    size_t ti;

    if (report == NULL)
        return dbont_error_set(err, CONFIG_ERROR, "dbont_reshard_move: report is NULL");
    memset(report, 0, sizeof *report);
    memset(&mv, 0, sizeof mv);
    opt = o != NULL ? *o : defaults;
    if (opt.batch_keys == 0)
        opt.batch_keys = DEFAULT_BATCH_KEYS;
    if (opt.batch_keys > MAX_BATCH_KEYS)
        return dbont_error_set(err, CONFIG_ERROR,
                               "dbont_reshard_move: batch_keys is at most %d, not %zu",
                               MAX_BATCH_KEYS, opt.batch_keys);
    if ((st = check_arguments(&c, true)) != DBONT_OK)
        return st;
    report->rows = calloc(n, sizeof *report->rows);
    report->ntables = n;
    mv.c = &c;
    mv.o = &opt;
    mv.report = report;
    mv.tgt = calloc((size_t)c.m_new, sizeof *mv.tgt);
    mv.batches = calloc((size_t)c.m_new, sizeof *mv.batches);
    mv.rows = calloc(n, sizeof *mv.rows);
    mv.copied = calloc(n, sizeof *mv.copied);
    if (report->rows == NULL || mv.tgt == NULL || mv.batches == NULL || mv.rows == NULL ||
        mv.copied == NULL) {
        st = no_memory(&c);
        goto end;
    }
    if ((st = sql_init(&c)) != DBONT_OK || (st = check_shards(&c)) != DBONT_OK)
        goto end;
    for (shard = 0; shard < c.n_old && st == DBONT_OK && !mv.stop; shard++) {
        mv.from = shard;
        cursor = acquire(&c, shard);
        mv.src = cursor != NULL ? acquire(&c, shard) : NULL;
        if (mv.src == NULL) {
            st = DBONT_ERROR;
            break;
        }
        /* Each table's keys in turn, parents first; each batch moves every
         * table's rows of its keys, so a child's pass finds only the keys
         * no parent row had.  The batches left at the end of a pass go
         * before the next pass reads its keys. */
        for (ti = 0; ti < n && st == DBONT_OK && !mv.stop; ti++) {
            st = scan_keys(&c, shard, ti, cursor, true, move_key, &mv, &mv.stop);
            for (t = 0; t < c.m_new && st == DBONT_OK; t++)
                st = move_batch(&mv, t);
        }
        release(&c, &cursor);
        release(&c, &mv.src);
    }
end:
    release(&c, &cursor);
    release(&c, &mv.src);
    for (t = 0; mv.tgt != NULL && t < c.m_new; t++)
        release(&c, &mv.tgt[t]);
    for (t = 0; mv.batches != NULL && t < c.m_new; t++)
        sb_free(&mv.batches[t].keys);
    free(mv.tgt);
    free(mv.batches);
    free(mv.rows);
    free(mv.copied);
    sb_free(&mv.sql);
    sql_free(&c);
    return st;
}
