/*
 * test_pool.c: tenant sessions (dbont/tenant.h) and the connection pool
 * (dbont/pool.h) against a real PostgreSQL ($DATABASE_URL, a superuser).
 *
 * Tenant sessions: the setting is transaction-local, a hostile tenant
 * value is only data, a session refuses to start inside a transaction, a
 * commit after an error is reported, a forgotten statement is prepared
 * again.  The pool: bounded (counted server-side in pg_stat_activity by
 * application_name), backpressure with a measured timeout, waiters served
 * on release, a clean state after careless users (SET, SET ROLE, open and
 * failed transactions, a tenant left set, temporary tables, cursors,
 * LISTEN, a command left running), a killed backend found at acquire and
 * replaced with its registry emptied, the health check after idle, a
 * database that disappears, and many threads cycling without losing a
 * connection.  Every check counts; the last line is "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L  /* nanosleep, clock_gettime, rand_r, strdup */

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbont/dbont.h"
#include "threadcheck.h"


/* ---- helpers -------------------------------------------------------- */

#define SETTING "app.tenant_id"

static dbont_conn *admin;   /* main thread only */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec t;
    t.tv_sec = (time_t)s;
    t.tv_nsec = (long)((s - (double)t.tv_sec) * 1e9);
    nanosleep(&t, NULL);
}

/*
 * Runs sql (no parameters, one statement) and copies the first value into
 * out ("(null)" for SQL NULL, "(error SQLSTATE message)" when it fails,
 * "(no row)" without rows).  Returns true when it ran.
 */
static bool q1(dbont_conn *c, const char *sql, char *out, size_t n)
{
    PGconn *pg = dbont_conn_pg(c);
    PGresult *res = PQexecParams(pg, sql, 0, NULL, NULL, NULL, NULL, 0);
    bool ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;

    if (!ok) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        snprintf(out, n, "(error %s %s)", state ? state : "-", PQerrorMessage(pg));
    } else if (PQntuples(res) == 0) {
        snprintf(out, n, "(no row)");
    } else if (PQgetisnull(res, 0, 0)) {
        snprintf(out, n, "(null)");
    } else {
        snprintf(out, n, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return ok;
}

/* The tenant setting after a session: unset (NULL) or the '' an ended
 * transaction-local value leaves.  Both mean "no tenant". */
static bool no_tenant(const char *v)
{
    return strcmp(v, "(null)") == 0 || v[0] == '\0';
}

/*
 * A connection string for the cluster of $DATABASE_URL, with dbname
 * replaced when db is not NULL and application_name set to app.  Built
 * with PQconninfoParse, whatever form $DATABASE_URL has.  Caller frees.
 */
static char *make_dsn(const char *db, const char *app)
{
    const char *url = getenv("DATABASE_URL");
    PQconninfoOption *opts, *o;
    char *out;
    size_t len = 0, cap = 1024;

    opts = PQconninfoParse(url != NULL ? url : "", NULL);
    out = malloc(cap);
    if (opts == NULL || out == NULL) {
        fprintf(stderr, "cannot parse DATABASE_URL\n");
        exit(2);
    }
    out[0] = '\0';
    for (o = opts; o->keyword != NULL; o++) {
        const char *v = o->val;
        const char *p;
        if (strcmp(o->keyword, "dbname") == 0 && db != NULL)
            v = db;
        if (strcmp(o->keyword, "application_name") == 0)
            v = app;
        if (v == NULL)
            continue;
        while (len + strlen(o->keyword) + 2 * strlen(v) + 8 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            if (out == NULL)
                exit(2);
        }
        len += (size_t)sprintf(out + len, "%s='", o->keyword);
        for (p = v; *p != '\0'; p++) {
            if (*p == '\'' || *p == '\\')
                out[len++] = '\\';
            out[len++] = *p;
        }
        out[len++] = '\'';
        out[len++] = ' ';
        out[len] = '\0';
    }
    PQconninfoFree(opts);
    return out;
}

/* Backends of the cluster with this application_name, counted by admin. */
static int backends(const char *app)
{
    const char *values[1] = {app};
    PGresult *res = PQexecParams(dbont_conn_pg(admin),
                                 "SELECT count(*) FROM pg_stat_activity "
                                 "WHERE application_name = $1 "
                                 "AND datname = current_database()",
                                 1, NULL, values, NULL, NULL, 0);
    int n = -1;
    if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
        n = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

/* Waits (up to 5 s) until at most n backends have this name; the count. */
static int backends_settle(const char *app, int n)
{
    int i, count = backends(app);
    for (i = 0; i < 100 && count > n; i++) {
        sleep_s(0.05);
        count = backends(app);
    }
    return count;
}

/* The admin connection's notices (DROP ... IF EXISTS) are not news. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static bool admin_exec(const char *sql)
{
    dbont_error err;
    if (dbont_exec(admin, sql, &err) != DBONT_OK) {
        CHECK(false, "admin: %s: %s %s", sql, err.sqlstate, err.message);
        return false;
    }
    return true;
}

/* What dbont-gen would emit for a small query. */
static const Oid int4_param[] = {23};
static const dbont_stmt plus_one = {
    UINT64_C(0x00000000000b0b01), "dbont_00000000000b0b01",
    "SELECT $1::int4 + 1", 1, int4_param};

/* Runs plus_one(41); true when it answered 42. */
static bool run_plus_one(dbont_conn *c, dbont_error *err)
{
    const char *values[1] = {"41"};
    PGresult *res = NULL;
    bool ok = dbont_stmt_exec(c, &plus_one, values, NULL, NULL, 0, &res, err) == DBONT_OK &&
              PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "42") == 0;
    PQclear(res);
    return ok;
}

static PGTransactionStatusType txn(dbont_conn *c)
{
    return PQtransactionStatus(dbont_conn_pg(c));
}

/* ---- tenant sessions ------------------------------------------------ */

static void test_tenant_is_transaction_local(void)
{
    dbont_error err;
    char v[512];
    dbont_conn *c = dbont_connect(NULL, &err);

    if (!CHECK(c != NULL, "connect: %s", err.message))
        return;
    q1(c, "SELECT current_setting('" SETTING "', true)", v, sizeof v);
    CHECK(strcmp(v, "(null)") == 0, "never set: NULL, got %s", v);

    CHECK(dbont_tenant_begin(c, SETTING, "tenant-1", &err) == DBONT_OK,
          "begin: %s %s", err.sqlstate, err.message);
    CHECK(txn(c) == PQTRANS_INTRANS, "begin opens a transaction");
    q1(c, "SELECT current_setting('" SETTING "', true)", v, sizeof v);
    CHECK(strcmp(v, "tenant-1") == 0, "inside: tenant-1, got %s", v);
    CHECK(dbont_tenant_end(c, true, &err) == DBONT_OK, "end(commit): %s", err.message);
    CHECK(txn(c) == PQTRANS_IDLE, "end closes the transaction");
    q1(c, "SELECT current_setting('" SETTING "', true)", v, sizeof v);
    CHECK(no_tenant(v), "after commit: '' or NULL, got %s", v);

    CHECK(dbont_tenant_begin(c, SETTING, "tenant-2", &err) == DBONT_OK, "begin 2: %s",
          err.message);
    q1(c, "SELECT current_setting('" SETTING "', true)", v, sizeof v);
    CHECK(strcmp(v, "tenant-2") == 0, "inside 2: tenant-2, got %s", v);
    CHECK(dbont_tenant_end(c, false, &err) == DBONT_OK, "end(rollback): %s", err.message);
    q1(c, "SELECT current_setting('" SETTING "', true)", v, sizeof v);
    CHECK(no_tenant(v), "after rollback: '' or NULL, got %s", v);

    /* The tenant travelled as a bind parameter of a prepared statement. */
    q1(c, "SELECT count(*) FROM pg_prepared_statements "
          "WHERE statement = 'SELECT set_config($1, $2, true)' AND name LIKE 'dbont\\_%'",
       v, sizeof v);
    CHECK(strcmp(v, "1") == 0, "set_config is one prepared statement, got %s", v);
    dbont_close(c);
}

static void test_tenant_hostile_values(void)
{
    static const char *const tenants[] = {
        "o'brien",
        "x'); SELECT set_config('" SETTING "', 'evil', false); --",
        "a; DROP TABLE tenant_sentinel; --",
        "\"quoted\" $1 $$dollar$$ \\backslash\\",
        "ünïcödé 🙂",
        "\n\t",
    };
    dbont_error err;
    char v[512];
    size_t i;
    dbont_conn *c = dbont_connect(NULL, &err);

    if (!CHECK(c != NULL, "connect: %s", err.message))
        return;
    CHECK(dbont_exec(c, "CREATE TABLE tenant_sentinel (v int); "
                        "INSERT INTO tenant_sentinel VALUES (1)", &err) == DBONT_OK,
          "sentinel: %s", err.message);
    for (i = 0; i < sizeof tenants / sizeof tenants[0]; i++) {
        CHECK(dbont_tenant_begin(c, SETTING, tenants[i], &err) == DBONT_OK,
              "begin with hostile tenant %zu: %s %s", i, err.sqlstate, err.message);
        q1(c, "SELECT current_setting('" SETTING "', true)", v, sizeof v);
        CHECK(strcmp(v, tenants[i]) == 0, "tenant %zu is the data itself, got %s", i, v);
        CHECK(dbont_tenant_end(c, false, &err) == DBONT_OK, "end: %s", err.message);
        q1(c, "SELECT current_setting('" SETTING "', true)", v, sizeof v);
        CHECK(no_tenant(v), "tenant %zu: nothing left (no 'evil'), got %s", i, v);
    }
    q1(c, "SELECT count(*) FROM tenant_sentinel", v, sizeof v);
    CHECK(strcmp(v, "1") == 0, "the sentinel table is untouched, got %s", v);

    /* A hostile setting name is a value too: the server refuses the name,
     * and nothing stays open. */
    CHECK(dbont_tenant_begin(c, "app.x'; DROP TABLE tenant_sentinel; --", "t", &err) ==
              DBONT_ERROR && err.sqlstate[0] != '\0',
          "a hostile setting name is refused by the server (%s %s)", err.sqlstate,
          err.message);
    CHECK(txn(c) == PQTRANS_IDLE, "after a failed begin nothing is open");
    /* So is an unknown plain setting. */
    CHECK(dbont_tenant_begin(c, "no_such_setting", "t", &err) == DBONT_ERROR,
          "unknown setting refused");
    CHECK(txn(c) == PQTRANS_IDLE, "after a failed begin nothing is open (2)");
    q1(c, "SELECT count(*) FROM tenant_sentinel", v, sizeof v);
    CHECK(strcmp(v, "1") == 0, "the sentinel table is still there, got %s", v);
    dbont_close(c);
}

static void test_tenant_refuses_open_transaction(void)
{
    dbont_error err;
    char v[512];
    dbont_conn *c = dbont_connect(NULL, &err);

    if (!CHECK(c != NULL, "connect: %s", err.message))
        return;
    CHECK(dbont_exec(c, "BEGIN; SELECT set_config('" SETTING "', 'before', true)", &err) ==
              DBONT_OK, "open: %s", err.message);
    CHECK(dbont_tenant_begin(c, SETTING, "after", &err) == DBONT_ERROR &&
              strcmp(err.sqlstate, "25001") == 0,
          "begin inside a transaction: 25001, got %s %s", err.sqlstate, err.message);
    CHECK(txn(c) == PQTRANS_INTRANS, "the caller's transaction is still open and healthy");
    q1(c, "SELECT current_setting('" SETTING "', true)", v, sizeof v);
    CHECK(strcmp(v, "before") == 0, "nothing changed: before, got %s", v);
    CHECK(dbont_rollback(c, &err) == DBONT_OK, "rollback");

    /* Inside a failed transaction too. */
    dbont_exec(c, "BEGIN; SELECT 1/0", &err);
    CHECK(txn(c) == PQTRANS_INERROR, "failed transaction");
    CHECK(dbont_tenant_begin(c, SETTING, "after", &err) == DBONT_ERROR &&
              strcmp(err.sqlstate, "25001") == 0,
          "begin inside a failed transaction: 25001, got %s", err.sqlstate);
    CHECK(txn(c) == PQTRANS_INERROR, "left as it was");
    dbont_rollback(c, &err);
    dbont_close(c);
}

static void test_tenant_end_after_error(void)
{
    dbont_error err;
    char v[512];
    dbont_conn *c = dbont_connect(NULL, &err);

    if (!CHECK(c != NULL, "connect: %s", err.message))
        return;
    dbont_exec(c, "CREATE TABLE tenant_work (v text)", &err);
    CHECK(dbont_tenant_begin(c, SETTING, "tenant-e", &err) == DBONT_OK, "begin: %s",
          err.message);
    CHECK(dbont_exec(c, "INSERT INTO tenant_work VALUES (current_setting('" SETTING "'))",
                     &err) == DBONT_OK, "insert: %s", err.message);
    CHECK(dbont_exec(c, "SELECT 1/0", &err) == DBONT_ERROR &&
              strcmp(err.sqlstate, "22012") == 0, "a failing statement: 22012");
    CHECK(dbont_tenant_end(c, true, &err) == DBONT_ERROR && strcmp(err.sqlstate, "40000") == 0,
          "commit after an error: 40000, got %s %s", err.sqlstate, err.message);
    CHECK(txn(c) == PQTRANS_IDLE, "nothing open after the failed commit");
    q1(c, "SELECT count(*) FROM tenant_work", v, sizeof v);
    CHECK(strcmp(v, "0") == 0, "the insert was rolled back, got %s", v);
    q1(c, "SELECT current_setting('" SETTING "', true)", v, sizeof v);
    CHECK(no_tenant(v), "no tenant after the failed commit, got %s", v);

    /* A successful session commits its work, in its tenant. */
    CHECK(dbont_tenant_begin(c, SETTING, "tenant-ok", &err) == DBONT_OK, "begin");
    dbont_exec(c, "INSERT INTO tenant_work VALUES (current_setting('" SETTING "'))", &err);
    CHECK(dbont_tenant_end(c, true, &err) == DBONT_OK, "commit: %s", err.message);
    q1(c, "SELECT string_agg(v, ',') FROM tenant_work", v, sizeof v);
    CHECK(strcmp(v, "tenant-ok") == 0, "committed in its tenant, got %s", v);

    /* end without a session: a commit is refused, a rollback is a no-op. */
    CHECK(dbont_tenant_end(c, true, &err) == DBONT_ERROR && strcmp(err.sqlstate, "25P01") == 0,
          "commit with no session: 25P01, got %s", err.sqlstate);
    CHECK(dbont_tenant_end(c, false, &err) == DBONT_OK, "rollback with no session: ok");

    /* Arguments. */
    CHECK(dbont_tenant_begin(c, "", "t", &err) == DBONT_ERROR &&
              strcmp(err.sqlstate, "22023") == 0, "empty setting: 22023");
    CHECK(dbont_tenant_begin(c, NULL, "t", &err) == DBONT_ERROR &&
              strcmp(err.sqlstate, "22023") == 0, "NULL setting: 22023");
    CHECK(dbont_tenant_begin(c, SETTING, "", &err) == DBONT_ERROR &&
              strcmp(err.sqlstate, "22023") == 0, "empty tenant: 22023");
    CHECK(dbont_tenant_begin(c, SETTING, NULL, NULL) == DBONT_ERROR, "NULL tenant, NULL err");
    CHECK(txn(c) == PQTRANS_IDLE, "no transaction opened by refused arguments");
    dbont_close(c);
}

static void test_tenant_after_deallocate(void)
{
    dbont_error err;
    char v[512];
    dbont_conn *c = dbont_connect(NULL, &err);

    if (!CHECK(c != NULL, "connect: %s", err.message))
        return;
    CHECK(dbont_tenant_begin(c, SETTING, "t1", &err) == DBONT_OK, "begin");
    CHECK(dbont_tenant_end(c, true, &err) == DBONT_OK, "end");
    /* The server forgets the statement behind the registry's back. */
    CHECK(dbont_exec(c, "DEALLOCATE ALL", &err) == DBONT_OK, "deallocate");
    CHECK(dbont_tenant_begin(c, SETTING, "t2", &err) == DBONT_OK,
          "begin after DEALLOCATE ALL prepares again: %s %s", err.sqlstate, err.message);
    q1(c, "SELECT current_setting('" SETTING "', true)", v, sizeof v);
    CHECK(strcmp(v, "t2") == 0, "t2 set, got %s", v);
    CHECK(dbont_tenant_end(c, true, &err) == DBONT_OK, "end 2");
    dbont_close(c);
}

/* ---- pool: arguments ------------------------------------------------ */

static void test_pool_arguments(void)
{
    dbont_error err;
    dbont_pool_options opt = DBONT_POOL_OPTIONS_INIT;
    dbont_pool_stats stats;
    dbont_pool *pool;

    pool = dbont_pool_open("host=/nonexistent-dbont-dir port=1 connect_timeout=2", NULL, &err);
    CHECK(pool == NULL && strcmp(err.sqlstate, "08001") == 0,
          "a bad dsn is reported at open: 08001, got %s", err.sqlstate);
    opt.max_size = 0;
    CHECK(dbont_pool_open(NULL, &opt, &err) == NULL && strcmp(err.sqlstate, "22023") == 0,
          "max_size 0: 22023");
    opt.max_size = 2;
    opt.acquire_timeout = -1;
    CHECK(dbont_pool_open(NULL, &opt, &err) == NULL && strcmp(err.sqlstate, "22023") == 0,
          "negative timeout: 22023");
    opt.acquire_timeout = 1;
    opt.health_check_idle = 0.0 / 0.0;
    CHECK(dbont_pool_open(NULL, &opt, NULL) == NULL, "NaN health_check_idle refused");
    CHECK(dbont_pool_acquire(NULL, &err) == NULL && strcmp(err.sqlstate, "22023") == 0,
          "acquire from NULL: 22023");
    dbont_pool_release(NULL, NULL);
    dbont_pool_close(NULL);
    dbont_pool_stats_get(NULL, &stats);
    CHECK(stats.open == 0 && stats.acquired == 0, "stats of NULL are zero");

    /* Defaults (opt NULL); the dsn from DATABASE_URL; one connection. */
    pool = dbont_pool_open(NULL, NULL, &err);
    if (!CHECK(pool != NULL, "open with defaults: %s", err.message))
        return;
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.open == 1 && stats.in_use == 0, "one connection opened at once");
    {
        dbont_conn *c = dbont_pool_acquire(pool, &err);
        dbont_conn *own = dbont_connect(NULL, &err);
        CHECK(c != NULL, "acquire: %s", err.message);
        /* Releasing twice, or a connection the pool does not own, is ignored. */
        dbont_pool_release(pool, c);
        dbont_pool_release(pool, c);
        dbont_pool_release(pool, own);
        dbont_pool_stats_get(pool, &stats);
        CHECK(stats.open == 1 && stats.in_use == 0, "double and foreign releases ignored");
        CHECK(run_plus_one(own, &err), "the foreign connection is untouched");
        dbont_close(own);
    }
    dbont_pool_close(pool);
}

/* ---- pool: bounded -------------------------------------------------- */

#define BOUNDED_APP "dbont_pool_bounded"
#define BOUNDED_THREADS 6
#define BOUNDED_ROUNDS 15

typedef struct bounded_ctx {
    dbont_pool *pool;
    int max_seen;   /* most backends a worker saw, itself included */
    int errors;
} bounded_ctx;

static pthread_mutex_t bounded_lock = PTHREAD_MUTEX_INITIALIZER;

/* Acquires, counts the backends server-side, holds briefly, releases. */
static void *bounded_counting_worker(void *arg)
{
    bounded_ctx *ctx = arg;
    int i;
    for (i = 0; i < BOUNDED_ROUNDS; i++) {
        dbont_error err;
        dbont_pool_stats stats;
        char v[256];
        int n;
        dbont_conn *c = dbont_pool_acquire(ctx->pool, &err);
        if (!CHECK(c != NULL, "bounded acquire: %s %s", err.sqlstate, err.message)) {
            pthread_mutex_lock(&bounded_lock);
            ctx->errors++;
            pthread_mutex_unlock(&bounded_lock);
            continue;
        }
        q1(c, "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"
              BOUNDED_APP "' AND datname = current_database()", v, sizeof v);
        n = atoi(v);
        dbont_pool_stats_get(ctx->pool, &stats);
        CHECK(stats.open <= 2 && stats.in_use <= 2, "stats within bounds (open %zu in_use %zu)",
              stats.open, stats.in_use);
        q1(c, "SELECT pg_sleep(0.005)", v, sizeof v);
        pthread_mutex_lock(&bounded_lock);
        if (n > ctx->max_seen)
            ctx->max_seen = n;
        pthread_mutex_unlock(&bounded_lock);
        dbont_pool_release(ctx->pool, c);
    }
    return NULL;
}

static void test_pool_bounded(void)
{
    dbont_pool_options opt = {2, 30.0, 30.0};
    dbont_pool_stats stats;
    dbont_error err;
    bounded_ctx ctx = {NULL, 0, 0};
    pthread_t threads[BOUNDED_THREADS];
    char *dsn = make_dsn(NULL, BOUNDED_APP);
    int i, monitor_max = 0;
    bool running = true;

    ctx.pool = dbont_pool_open(dsn, &opt, &err);
    free(dsn);
    if (!CHECK(ctx.pool != NULL, "open: %s", err.message))
        return;
    for (i = 0; i < BOUNDED_THREADS; i++)
        pthread_create(&threads[i], NULL, bounded_counting_worker, &ctx);
    /* Meanwhile the main thread counts from outside. */
    while (running) {
        int n = backends(BOUNDED_APP);
        if (n > monitor_max)
            monitor_max = n;
        dbont_pool_stats_get(ctx.pool, &stats);
        pthread_mutex_lock(&bounded_lock);
        running = stats.acquired < (size_t)(BOUNDED_THREADS * BOUNDED_ROUNDS - ctx.errors);
        pthread_mutex_unlock(&bounded_lock);
        sleep_s(0.002);
    }
    for (i = 0; i < BOUNDED_THREADS; i++)
        pthread_join(threads[i], NULL);
    dbont_pool_stats_get(ctx.pool, &stats);
    CHECK(ctx.max_seen >= 1 && ctx.max_seen <= 2,
          "workers never saw more than 2 backends (saw %d)", ctx.max_seen);
    CHECK(monitor_max <= 2, "pg_stat_activity never showed more than 2 (%d)", monitor_max);
    CHECK(stats.open == 2, "grew lazily to max_size, no further (open %zu)", stats.open);
    CHECK(stats.in_use == 0, "all back (in_use %zu)", stats.in_use);
    CHECK(stats.acquired == BOUNDED_THREADS * BOUNDED_ROUNDS, "acquired %zu", stats.acquired);
    CHECK(stats.waited > 0, "6 threads on 2 connections had to wait (waited %zu)",
          stats.waited);
    CHECK(stats.timeouts == 0, "no timeouts (%zu)", stats.timeouts);
    printf("bounded: %d threads x %d rounds on max_size 2: max backends seen %d "
           "(workers) / %d (monitor), waited %zu\n",
           BOUNDED_THREADS, BOUNDED_ROUNDS, ctx.max_seen, monitor_max, stats.waited);
    dbont_pool_close(ctx.pool);
    CHECK(backends_settle(BOUNDED_APP, 0) == 0, "close ends every backend");
}

/* ---- pool: backpressure and waiters --------------------------------- */

static void test_pool_backpressure(void)
{
    dbont_pool_options opt = {2, 0.4, 30.0};
    dbont_pool_stats stats;
    dbont_error err;
    dbont_conn *a, *b, *c;
    dbont_pool *pool = dbont_pool_open(NULL, &opt, &err);
    double t0, elapsed;

    if (!CHECK(pool != NULL, "open: %s", err.message))
        return;
    a = dbont_pool_acquire(pool, &err);
    b = dbont_pool_acquire(pool, &err);
    CHECK(a != NULL && b != NULL && a != b, "two connections");
    t0 = now();
    c = dbont_pool_acquire(pool, &err);
    elapsed = now() - t0;
    CHECK(c == NULL && strcmp(err.sqlstate, "53300") == 0,
          "all busy: 53300 after the timeout, got %s", err.sqlstate);
    CHECK(strstr(err.message, "no free connection") != NULL &&
              strstr(err.message, "0.4 s") != NULL,
          "a clear message: %s", err.message);
    CHECK(elapsed >= 0.395 && elapsed < 0.4 + 1.5, "waited about the timeout: %.3f s",
          elapsed);
    printf("backpressure: acquire_timeout 0.4 s, failed after %.3f s: %s\n", elapsed,
           err.message);
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.timeouts == 1 && stats.waited == 1 && stats.open == 2 && stats.in_use == 2,
          "stats: timeouts %zu waited %zu open %zu in_use %zu", stats.timeouts,
          stats.waited, stats.open, stats.in_use);
    dbont_pool_release(pool, a);
    c = dbont_pool_acquire(pool, &err);
    CHECK(c == a, "after a release the freed connection is handed out (LIFO)");
    dbont_pool_release(pool, c);
    dbont_pool_release(pool, b);
    /* LIFO: the last released comes first. */
    c = dbont_pool_acquire(pool, &err);
    CHECK(c == b, "last in, first out");
    dbont_pool_release(pool, c);
    dbont_pool_close(pool);

    /* acquire_timeout 0: no waiting at all. */
    opt.max_size = 1;
    opt.acquire_timeout = 0;
    pool = dbont_pool_open(NULL, &opt, &err);
    if (!CHECK(pool != NULL, "open: %s", err.message))
        return;
    a = dbont_pool_acquire(pool, &err);
    t0 = now();
    c = dbont_pool_acquire(pool, &err);
    elapsed = now() - t0;
    CHECK(c == NULL && strcmp(err.sqlstate, "53300") == 0 && elapsed < 0.1,
          "timeout 0 fails at once (%.3f s, %s)", elapsed, err.sqlstate);
    dbont_pool_release(pool, a);
    dbont_pool_close(pool);
}

typedef struct waiter_ctx {
    dbont_pool *pool;
    double got_at;   /* when its acquire returned */
    bool got;
} waiter_ctx;

static void *waiter(void *arg)
{
    waiter_ctx *w = arg;
    dbont_error err;
    dbont_conn *c = dbont_pool_acquire(w->pool, &err);
    w->got_at = now();
    w->got = c != NULL;
    if (c != NULL) {
        CHECK(run_plus_one(c, &err), "waiter's connection works: %s", err.message);
        sleep_s(0.05);
        dbont_pool_release(w->pool, c);
    } else {
        CHECK(false, "waiter: %s %s", err.sqlstate, err.message);
    }
    return NULL;
}

static void test_pool_waiters_served(void)
{
    dbont_pool_options opt = {1, 10.0, 30.0};
    dbont_pool_stats stats;
    dbont_error err;
    waiter_ctx w[3];
    pthread_t threads[3];
    dbont_pool *pool = dbont_pool_open(NULL, &opt, &err);
    dbont_conn *held;
    double released_at;
    int i;

    if (!CHECK(pool != NULL, "open: %s", err.message))
        return;
    held = dbont_pool_acquire(pool, &err);
    CHECK(held != NULL, "acquire");
    for (i = 0; i < 3; i++) {
        w[i].pool = pool;
        w[i].got = false;
        w[i].got_at = 0;
        pthread_create(&threads[i], NULL, waiter, &w[i]);
    }
    /* Until all three wait (at most 5 s), then a little longer. */
    for (i = 0; i < 500; i++) {
        dbont_pool_stats_get(pool, &stats);
        if (stats.waited == 3)
            break;
        sleep_s(0.01);
    }
    sleep_s(0.1);
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.waited == 3 && stats.in_use == 1 && stats.acquired == 1,
          "three waiting (waited %zu acquired %zu)", stats.waited, stats.acquired);
    released_at = now();
    dbont_pool_release(pool, held);
    for (i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    for (i = 0; i < 3; i++)
        CHECK(w[i].got && w[i].got_at >= released_at,
              "waiter %d served after the release (%+.3f s)", i, w[i].got_at - released_at);
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.timeouts == 0 && stats.open == 1 && stats.in_use == 0 && stats.acquired == 4,
          "one connection served all (timeouts %zu open %zu acquired %zu)", stats.timeouts,
          stats.open, stats.acquired);
    dbont_pool_close(pool);
}

/* ---- pool: clean state on release ----------------------------------- */

typedef struct defaults {
    char search_path[256], work_mem[64], statement_timeout[64], user[128];
} defaults;

static void read_defaults(dbont_conn *c, defaults *d)
{
    q1(c, "SELECT current_setting('search_path')", d->search_path, sizeof d->search_path);
    q1(c, "SELECT current_setting('work_mem')", d->work_mem, sizeof d->work_mem);
    q1(c, "SELECT current_setting('statement_timeout')", d->statement_timeout,
       sizeof d->statement_timeout);
    q1(c, "SELECT session_user", d->user, sizeof d->user);
}

/* Acquires again (max_size 1: the same connection) and checks it is clean. */
static dbont_conn *reacquire_clean(dbont_pool *pool, const defaults *want, int expect_pid,
                                   const char *after)
{
    dbont_error err;
    defaults got;
    char v[512];
    dbont_conn *c = dbont_pool_acquire(pool, &err);

    if (!CHECK(c != NULL, "%s: acquire: %s", after, err.message))
        return NULL;
    CHECK(PQbackendPID(dbont_conn_pg(c)) == expect_pid,
          "%s: the same backend, cleaned rather than replaced", after);
    CHECK(txn(c) == PQTRANS_IDLE, "%s: no transaction open", after);
    read_defaults(c, &got);
    CHECK(strcmp(got.search_path, want->search_path) == 0, "%s: search_path %s (want %s)",
          after, got.search_path, want->search_path);
    CHECK(strcmp(got.work_mem, want->work_mem) == 0, "%s: work_mem %s (want %s)", after,
          got.work_mem, want->work_mem);
    CHECK(strcmp(got.statement_timeout, want->statement_timeout) == 0,
          "%s: statement_timeout %s (want %s)", after, got.statement_timeout,
          want->statement_timeout);
    q1(c, "SELECT current_user", v, sizeof v);
    CHECK(strcmp(got.user, want->user) == 0 && strcmp(v, want->user) == 0,
          "%s: session_user %s current_user %s (want %s)", after, got.user, v, want->user);
    q1(c, "SELECT current_setting('" SETTING "', true)", v, sizeof v);
    CHECK(no_tenant(v), "%s: no tenant, got %s", after, v);
    return c;
}

static void test_pool_clean_on_release(void)
{
    dbont_pool_options opt = {1, 5.0, 3600.0};
    dbont_pool_stats stats;
    dbont_error err;
    defaults want;
    char v[512];
    dbont_pool *pool;
    dbont_conn *c, *fresh;
    int pid;

    admin_exec("CREATE TABLE shadowed (v text); INSERT INTO shadowed VALUES ('real');"
               "GRANT SELECT ON shadowed TO PUBLIC");
    fresh = dbont_connect(NULL, &err);
    if (!CHECK(fresh != NULL, "connect: %s", err.message))
        return;
    read_defaults(fresh, &want);
    dbont_close(fresh);

    pool = dbont_pool_open(NULL, &opt, &err);
    if (!CHECK(pool != NULL, "open: %s", err.message))
        return;
    c = dbont_pool_acquire(pool, &err);
    if (!CHECK(c != NULL, "acquire"))
        goto out;
    pid = PQbackendPID(dbont_conn_pg(c));

    /* Session-level settings, a tenant set for the session. */
    CHECK(dbont_exec(c, "SET search_path = pg_catalog; SET work_mem = '77MB'; "
                        "SELECT set_config('" SETTING "', 'session-evil', false); "
                        "SET default_transaction_read_only = on", &err) ==
              DBONT_OK, "careless SETs: %s", err.message);
    dbont_pool_release(pool, c);
    c = reacquire_clean(pool, &want, pid, "after session SETs");
    if (c == NULL)
        goto out;
    q1(c, "SELECT current_setting('default_transaction_read_only')", v, sizeof v);
    CHECK(strcmp(v, "off") == 0, "read-only default reset (and did not stop the reset): %s",
          v);

    /* An open transaction with work and a local setting in it. */
    CHECK(dbont_exec(c, "BEGIN; CREATE TABLE left_open (a int); "
                        "SET LOCAL statement_timeout = '1234'", &err) == DBONT_OK,
          "open transaction: %s", err.message);
    dbont_pool_release(pool, c);
    c = reacquire_clean(pool, &want, pid, "after an open transaction");
    if (c == NULL)
        goto out;
    q1(c, "SELECT to_regclass('left_open') IS NULL", v, sizeof v);
    CHECK(strcmp(v, "t") == 0, "the open transaction was rolled back, not committed");
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.cleaned == 1, "cleaned counts the rollback (%zu)", stats.cleaned);

    /* A tenant session never ended. */
    CHECK(dbont_tenant_begin(c, SETTING, "tenant-A", &err) == DBONT_OK, "tenant begin");
    dbont_pool_release(pool, c);
    c = reacquire_clean(pool, &want, pid, "after a tenant session left open");
    if (c == NULL)
        goto out;

    /* A failed transaction. */
    dbont_exec(c, "BEGIN; SELECT 1/0", &err);
    CHECK(txn(c) == PQTRANS_INERROR, "failed transaction left");
    dbont_pool_release(pool, c);
    c = reacquire_clean(pool, &want, pid, "after a failed transaction");
    if (c == NULL)
        goto out;
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.cleaned == 3, "three rollbacks counted (%zu)", stats.cleaned);

    /* Another role: SET ROLE, then SET SESSION AUTHORIZATION. */
    CHECK(dbont_exec(c, "SET ROLE dbont_pool_other", &err) == DBONT_OK, "set role: %s",
          err.message);
    dbont_pool_release(pool, c);
    c = reacquire_clean(pool, &want, pid, "after SET ROLE");
    if (c == NULL)
        goto out;
    CHECK(dbont_exec(c, "SET SESSION AUTHORIZATION dbont_pool_other", &err) == DBONT_OK,
          "set session authorization: %s", err.message);
    dbont_pool_release(pool, c);
    c = reacquire_clean(pool, &want, pid, "after SET SESSION AUTHORIZATION");
    if (c == NULL)
        goto out;

    /* Session objects: a temporary table named like a real one (it would
     * stand in for it in unqualified SQL), a held cursor, LISTEN. */
    CHECK(dbont_exec(c, "CREATE TEMP TABLE shadowed (v text); "
                        "INSERT INTO shadowed VALUES ('temp'); "
                        "DECLARE held CURSOR WITH HOLD FOR SELECT 1; LISTEN dbont_chan",
                     &err) == DBONT_OK, "session objects: %s", err.message);
    q1(c, "SELECT v FROM shadowed", v, sizeof v);
    CHECK(strcmp(v, "temp") == 0, "the temporary table shadows the real one (%s)", v);
    dbont_pool_release(pool, c);
    c = reacquire_clean(pool, &want, pid, "after session objects");
    if (c == NULL)
        goto out;
    q1(c, "SELECT v FROM shadowed", v, sizeof v);
    CHECK(strcmp(v, "real") == 0, "the temporary table is gone: %s", v);
    /* (The unnamed portal is the query itself.) */
    q1(c, "SELECT count(*) FROM pg_cursors WHERE name <> ''", v, sizeof v);
    CHECK(strcmp(v, "0") == 0, "no cursor left (%s)", v);
    q1(c, "SELECT count(*) FROM pg_listening_channels()", v, sizeof v);
    CHECK(strcmp(v, "0") == 0, "no LISTEN left (%s)", v);

    /* Prepared statements survive the reset (no re-preparing per use). */
    CHECK(run_plus_one(c, &err), "plus_one: %s", err.message);
    dbont_pool_release(pool, c);
    c = reacquire_clean(pool, &want, pid, "after a statement");
    if (c == NULL)
        goto out;
    q1(c, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'dbont_00000000000b0b01'",
       v, sizeof v);
    CHECK(strcmp(v, "1") == 0, "the prepared statement is kept across releases (%s)", v);

    /* A command left running cannot be cleaned: the connection is closed,
     * and the next acquire opens a new one. */
    CHECK(PQsendQuery(dbont_conn_pg(c), "SELECT 1") == 1, "send without reading");
    dbont_pool_release(pool, c);
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.open == 0 && stats.in_use == 0, "the busy connection was closed (open %zu)",
          stats.open);
    c = dbont_pool_acquire(pool, &err);
    CHECK(c != NULL && PQbackendPID(dbont_conn_pg(c)) != pid && run_plus_one(c, &err),
          "a new connection replaces it");
    dbont_pool_release(pool, c);
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.reconnects == 0 && stats.open == 1, "reconnects %zu open %zu",
          stats.reconnects, stats.open);
out:
    dbont_pool_close(pool);
}

/* ---- pool: broken connections --------------------------------------- */

static bool terminate(int pid)
{
    char sql[128], v[64];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 5000)", pid);
    q1(admin, sql, v, sizeof v);
    return CHECK(strcmp(v, "t") == 0, "pg_terminate_backend(%d): %s", pid, v);
}

static void test_pool_killed_backend(void)
{
    /* A long health_check_idle: the kill must be found without it. */
    dbont_pool_options opt = {1, 5.0, 3600.0};
    dbont_pool_stats stats;
    dbont_error err;
    dbont_pool *pool = dbont_pool_open(NULL, &opt, &err);
    dbont_conn *c;
    int pid;

    if (!CHECK(pool != NULL, "open: %s", err.message))
        return;
    c = dbont_pool_acquire(pool, &err);
    if (!CHECK(c != NULL, "acquire"))
        goto out;
    CHECK(run_plus_one(c, &err), "statement prepared and run: %s", err.message);
    pid = PQbackendPID(dbont_conn_pg(c));
    dbont_pool_release(pool, c);

    terminate(pid);
    c = dbont_pool_acquire(pool, &err);
    if (!CHECK(c != NULL, "acquire after the kill: %s %s", err.sqlstate, err.message))
        goto out;
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.reconnects == 1, "the dead backend was found at acquire (reconnects %zu)",
          stats.reconnects);
    CHECK(PQbackendPID(dbont_conn_pg(c)) != pid, "a new backend");
    /* Inside a transaction, so that a registry still listing the statement
     * would fail (26000 aborts the block; no retry is possible there). */
    CHECK(dbont_begin(c, &err) == DBONT_OK, "begin");
    CHECK(run_plus_one(c, &err), "the statement is prepared again on the new backend: %s %s",
          err.sqlstate, err.message);
    CHECK(dbont_commit(c, &err) == DBONT_OK, "commit: %s", err.message);
    dbont_pool_release(pool, c);

    /* Killed while in use: the user sees the error, release closes it,
     * the next acquire opens a new one. */
    c = dbont_pool_acquire(pool, &err);
    if (!CHECK(c != NULL, "acquire"))
        goto out;
    pid = PQbackendPID(dbont_conn_pg(c));
    terminate(pid);
    CHECK(!run_plus_one(c, &err) && err.sqlstate[0] != '\0',
          "the user's call fails on the dead backend (%s)", err.sqlstate);
    dbont_pool_release(pool, c);
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.open == 0 && stats.in_use == 0, "release closed it (open %zu)", stats.open);
    c = dbont_pool_acquire(pool, &err);
    CHECK(c != NULL && run_plus_one(c, &err), "a new connection works");
    dbont_pool_release(pool, c);
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.open == 1 && stats.reconnects == 1, "open %zu reconnects %zu", stats.open,
          stats.reconnects);
out:
    dbont_pool_close(pool);
}

static void last_query(int pid, char *out, size_t n)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT query FROM pg_stat_activity WHERE pid = %d", pid);
    q1(admin, sql, out, n);
}

static void test_pool_health_check_after_idle(void)
{
    dbont_pool_options opt = {1, 5.0, 1.0};
    dbont_pool_stats stats;
    dbont_error err;
    char v[512];
    dbont_pool *pool = dbont_pool_open(NULL, &opt, &err);
    dbont_conn *c;
    int pid;

    if (!CHECK(pool != NULL, "open: %s", err.message))
        return;
    c = dbont_pool_acquire(pool, &err);
    if (!CHECK(c != NULL, "acquire"))
        goto out;
    pid = PQbackendPID(dbont_conn_pg(c));
    q1(c, "SELECT 'marker'", v, sizeof v);
    dbont_pool_release(pool, c);

    /* Idle briefly: handed out unchecked; the backend's last statement is
     * still the release's reset. */
    c = dbont_pool_acquire(pool, &err);
    last_query(pid, v, sizeof v);
    CHECK(strncmp(v, "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL", 55) == 0,
          "no check after a short idle; last statement: %s", v);
    dbont_pool_release(pool, c);

    /* Idle longer than health_check_idle: checked with SELECT 1. */
    sleep_s(1.3);
    c = dbont_pool_acquire(pool, &err);
    if (!CHECK(c != NULL, "acquire"))
        goto out;
    last_query(pid, v, sizeof v);
    CHECK(strcmp(v, "SELECT 1") == 0, "checked after idle; last statement: %s", v);
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.reconnects == 0 && PQbackendPID(dbont_conn_pg(c)) == pid,
          "a healthy connection is kept");
    dbont_pool_release(pool, c);
out:
    dbont_pool_close(pool);
}

/* The database itself goes away: the reconnect fails, acquire says 08001,
 * the slot frees up (the pool does not stay "full" of dead connections). */
static void test_pool_database_gone(void)
{
    dbont_pool_options opt = {2, 2.0, 3600.0};
    dbont_pool_stats stats;
    dbont_error err;
    dbont_pool *pool;
    dbont_conn *c;
    char *dsn, gone[64], sql[128];

    /* Named after this test's database: other test runs may share the
     * cluster. */
    q1(admin, "SELECT left(current_database(), 50) || '_gone'", gone, sizeof gone);
    /* One statement each: DROP and CREATE DATABASE refuse a transaction,
     * which a multi-statement string is. */
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\"", gone);
    if (!admin_exec(sql))
        return;
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", gone);
    if (!admin_exec(sql))
        return;
    dsn = make_dsn(gone, "dbont_pool_gone");
    pool = dbont_pool_open(dsn, &opt, &err);
    free(dsn);
    if (!CHECK(pool != NULL, "open: %s", err.message))
        return;
    c = dbont_pool_acquire(pool, &err);
    CHECK(c != NULL, "acquire");
    dbont_pool_release(pool, c);

    snprintf(sql, sizeof sql, "DROP DATABASE \"%s\" WITH (FORCE)", gone);
    admin_exec(sql);
    c = dbont_pool_acquire(pool, &err);
    CHECK(c == NULL && strcmp(err.sqlstate, "08001") == 0,
          "reconnect to a dropped database: 08001, got %s %s", err.sqlstate, err.message);
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.open == 0 && stats.in_use == 0, "its slot is free again (open %zu in_use %zu)",
          stats.open, stats.in_use);
    c = dbont_pool_acquire(pool, &err);
    CHECK(c == NULL && strcmp(err.sqlstate, "08001") == 0,
          "a new connection fails too: 08001, got %s", err.sqlstate);
    dbont_pool_stats_get(pool, &stats);
    CHECK(stats.open == 0 && stats.in_use == 0 && stats.timeouts == 0,
          "no slot lost to failed connects");

    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", gone);
    admin_exec(sql);
    c = dbont_pool_acquire(pool, &err);
    CHECK(c != NULL && run_plus_one(c, &err), "back when the database is: %s", err.message);
    dbont_pool_release(pool, c);
    dbont_pool_close(pool);
    snprintf(sql, sizeof sql, "DROP DATABASE \"%s\" WITH (FORCE)", gone);
    admin_exec(sql);
}

/* ---- pool: many threads --------------------------------------------- */

#define STRESS_APP "dbont_pool_stress"
#define STRESS_THREADS 8
#define STRESS_ROUNDS 400
#define STRESS_MAX 3

/* What a clean connection shows: "|<work_mem default>|<login user>". */
static char stress_clean[256];

typedef struct stress_ctx {
    dbont_pool *pool;
    unsigned seed;
    int dirty_seen;   /* acquires that found a non-clean state */
    int failures;
} stress_ctx;

static void *stress_worker(void *arg)
{
    stress_ctx *ctx = arg;
    int i;
    for (i = 0; i < STRESS_ROUNDS; i++) {
        dbont_error err;
        char v[512], tenant[64];
        dbont_conn *c = dbont_pool_acquire(ctx->pool, &err);
        if (c == NULL) {
            ctx->failures++;
            CHECK(false, "stress acquire: %s %s", err.sqlstate, err.message);
            continue;
        }
        /* Every acquire finds a clean connection. */
        q1(c, "SELECT coalesce(current_setting('" SETTING "', true), '') || '|' || "
              "current_setting('work_mem') || '|' || current_user", v, sizeof v);
        if (txn(c) != PQTRANS_IDLE || strcmp(v, stress_clean) != 0) {
            ctx->dirty_seen++;
            CHECK(false, "stress: dirty connection handed out: %s", v);
        }
        switch (rand_r(&ctx->seed) % 5) {
        case 0:
            if (!run_plus_one(c, &err)) {
                ctx->failures++;
                CHECK(false, "stress statement: %s", err.message);
            }
            break;
        case 1:
            snprintf(tenant, sizeof tenant, "t-%p-%d", (void *)ctx, i);
            if (dbont_tenant_begin(c, SETTING, tenant, &err) != DBONT_OK) {
                ctx->failures++;
                CHECK(false, "stress tenant: %s", err.message);
                break;
            }
            q1(c, "SELECT current_setting('" SETTING "')", v, sizeof v);
            if (strcmp(v, tenant) != 0 || dbont_tenant_end(c, true, &err) != DBONT_OK) {
                ctx->failures++;
                CHECK(false, "stress tenant value %s", v);
            }
            break;
        case 2:   /* careless: settings and a tenant left behind */
            dbont_exec(c, "SET work_mem = '64MB'; SET ROLE dbont_pool_other; BEGIN; "
                          "SELECT set_config('" SETTING "', 'left', true)", &err);
            break;
        case 3:   /* a failed transaction left behind */
            dbont_exec(c, "BEGIN; SELECT 1/0", &err);
            break;
        default:  /* a statement inside a transaction left open */
            dbont_begin(c, &err);
            run_plus_one(c, &err);
            break;
        }
        dbont_pool_release(ctx->pool, c);
    }
    return NULL;
}

static void test_pool_stress(void)
{
    dbont_pool_options opt = {STRESS_MAX, 30.0, 0.05};
    dbont_pool_stats stats;
    dbont_error err;
    stress_ctx ctx[STRESS_THREADS];
    pthread_t threads[STRESS_THREADS];
    dbont_conn *held[STRESS_MAX];
    char *dsn = make_dsn(NULL, STRESS_APP);
    dbont_pool *pool = dbont_pool_open(dsn, &opt, &err);
    int i, dirty = 0, failures = 0, n;
    double t0;

    free(dsn);
    if (!CHECK(pool != NULL, "open: %s", err.message))
        return;
    t0 = now();
    for (i = 0; i < STRESS_THREADS; i++) {
        ctx[i].pool = pool;
        ctx[i].seed = (unsigned)i * 7919u + 1u;
        ctx[i].dirty_seen = 0;
        ctx[i].failures = 0;
        pthread_create(&threads[i], NULL, stress_worker, &ctx[i]);
    }
    for (i = 0; i < STRESS_THREADS; i++) {
        pthread_join(threads[i], NULL);
        dirty += ctx[i].dirty_seen;
        failures += ctx[i].failures;
    }
    dbont_pool_stats_get(pool, &stats);
    printf("stress: %d threads x %d cycles on max_size %d in %.2f s: acquired %zu, "
           "waited %zu, cleaned %zu, timeouts %zu, dirty handed out %d\n",
           STRESS_THREADS, STRESS_ROUNDS, STRESS_MAX, now() - t0, stats.acquired,
           stats.waited, stats.cleaned, stats.timeouts, dirty);
    CHECK(dirty == 0 && failures == 0, "no dirty connection, no failure (%d, %d)", dirty,
          failures);
    CHECK(stats.acquired == STRESS_THREADS * STRESS_ROUNDS, "acquired %zu", stats.acquired);
    CHECK(stats.in_use == 0 && stats.open <= STRESS_MAX && stats.timeouts == 0,
          "in_use %zu open %zu timeouts %zu", stats.in_use, stats.open, stats.timeouts);
    CHECK(stats.cleaned > 0, "careless users were cleaned up after (%zu)", stats.cleaned);
    n = backends(STRESS_APP);
    CHECK(n >= 1 && n <= STRESS_MAX, "server-side backends %d", n);

    /* No slot lost: max_size connections at once, without waiting. */
    t0 = now();
    for (i = 0; i < STRESS_MAX; i++) {
        held[i] = dbont_pool_acquire(pool, &err);
        CHECK(held[i] != NULL, "hold %d: %s", i, err.message);
    }
    CHECK(now() - t0 < 2.0, "all %d acquired at once (%.3f s)", STRESS_MAX, now() - t0);
    for (i = 0; i < STRESS_MAX; i++)
        dbont_pool_release(pool, held[i]);
    dbont_pool_close(pool);
    CHECK(backends_settle(STRESS_APP, 0) == 0, "close ends every backend");
}

int main(void)
{
    dbont_error err;

    setvbuf(stdout, NULL, _IOLBF, 0);
    admin = dbont_connect(NULL, &err);
    if (admin == NULL) {
        printf("cannot connect: %s\n0 passed, 1 failed\n", err.message);
        return 1;
    }
    PQsetNoticeProcessor(dbont_conn_pg(admin), quiet, NULL);
    /* A role to switch to (roles belong to the cluster, hence IF NOT EXISTS). */
    admin_exec("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
               "'dbont_pool_other') THEN CREATE ROLE dbont_pool_other NOLOGIN; END IF; END $$");
    q1(admin, "SELECT '|' || current_setting('work_mem') || '|' || current_user",
       stress_clean, sizeof stress_clean);

    test_tenant_is_transaction_local();
    test_tenant_hostile_values();
    test_tenant_refuses_open_transaction();
    test_tenant_end_after_error();
    test_tenant_after_deallocate();
    test_pool_arguments();
    test_pool_bounded();
    test_pool_backpressure();
    test_pool_waiters_served();
    test_pool_clean_on_release();
    test_pool_killed_backend();
    test_pool_health_check_after_idle();
    test_pool_database_gone();
    test_pool_stress();
    dbont_close(admin);
    return threadcheck_summary() == 0 ? 0 : 1;
}
