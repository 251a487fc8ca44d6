/*
 * test_cache.c: the query cache end to end (docs/caching.md), on a real
 * PostgreSQL and a Redis of the test's own (which it stops and starts).
 *
 * cache.ttl's migration is applied by the owner ($DATABASE_URL, a
 * superuser) before this program runs; the generated functions run as the
 * application role cache_app ($APP_DATABASE_URL) under row-level
 * security.  The owner seeds, and writes "behind the cache's back" (a
 * plain libpq connection, no cache attached).  Each part uses caches with
 * a key prefix of its own, so that parts do not see each other's entries
 * and versions in the shared Redis.
 *
 *   hit_miss      misses, L1 hits, L2 hits (another cache on the same
 *                 Redis), the counters and the rows
 *   tenants       the same query in two tenants: each its own rows and
 *                 entries; outside a tenant session: bypassed, no rows
 *   warm          cch_cache_warm_app_startup fills what cache.ttl names
 *   ttl           an entry is never served after its TTL (1 s), in L1, in
 *                 L2, and in an L1 filled from L2
 *   single_flight 8 threads missing one key run the query once; a second
 *                 cache (another "process") waits on the Redis lock
 *   byte_bound    L1 under 4 threads and many keys stays within
 *                 memory_bytes and evicts
 *   events        every generated mutation (insert, update, delete, bulk
 *                 insert) of every table invalidates exactly the queries
 *                 that list its event, in its tenant only, at commit
 *   trigger       writes by the owner (libpq and psql) invalidate through
 *                 pg_notify and dbont_cache_listen
 *   processes     a forked child and this process share Redis: each sees
 *                 the other's invalidations in its L1
 *   redis_down    Redis stopped: every result still right, errors counted,
 *                 calls fast; started again: caching resumes, still right
 *
 * Last line: "N passed, N failed"; exit status 1 when a check failed.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cch.h"
#include "threadcheck.h"

static const char *owner_dsn, *app_dsn, *redis_host, *redis_ctl;
static int redis_port;
static PGconn *owner;
static dbont_conn *app;

#define TA "aaaaaaaa-0000-4000-8000-000000000001"
#define TB "bbbbbbbb-0000-4000-8000-000000000002"
#define TC "cccccccc-0000-4000-8000-000000000003"
static dbont_uuid ta, tb, tc;

/* ---- small things ---------------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static bool owner_exec(const char *sql)
{
    PGresult *r = PQexec(owner, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        printf("owner: %s: %s", sql, PQerrorMessage(owner));
    PQclear(r);
    return ok;
}

static long long owner_int(const char *sql)
{
    PGresult *r = PQexec(owner, sql);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        printf("owner: %s: %s", sql, PQerrorMessage(owner));
    PQclear(r);
    return v;
}

static bool tbegin(dbont_conn *c, const dbont_uuid *t)
{
    dbont_error e = {0};
    dbont_status st = cch_tenant_begin(c, *t, &e);
    return CHECK(st == DBONT_OK, "tenant begin: %s %s", e.sqlstate, e.message);
}

static void tend(dbont_conn *c, bool commit)
{
    dbont_error e = {0};
    dbont_status st = cch_tenant_end(c, commit, &e);
    CHECK(st == DBONT_OK, "tenant end: %s %s", e.sqlstate, e.message);
}

static dbont_cache *cache_new(dbont_cache_backend backend, const char *prefix, size_t memory_bytes,
                              double lock_wait_s)
{
    dbont_cache_options o = DBONT_CACHE_OPTIONS_INIT;
    o.backend = backend;
    o.memory_bytes = memory_bytes;
    o.redis_host = redis_host;
    o.redis_port = redis_port;
    o.key_prefix = prefix;
    o.lock_wait_s = lock_wait_s;
    dbont_error e = {0};
    dbont_cache *c = dbont_cache_open(&o, &e);
    CHECK(c != NULL, "dbont_cache_open(%s): %s %s", prefix, e.sqlstate, e.message);
    return c;
}

static dbont_cache_stats stats(dbont_cache *c)
{
    dbont_cache_stats s;
    dbont_cache_stats_get(c, &s);
    return s;
}

/* ---- the queries, their rows as text --------------------------------------- */

enum { Q_ITEMS, Q_NAMES, Q_ITEMTAGS, Q_TAGS, Q_RATES, Q_BYCODE, NQ };
static const char *const qname[NQ] = {"items_by_category", "item_names", "item_tags",
                                      "tags_by_label", "currency_rates", "currency_by_code"};
/* cache:invalidateOn of each, as cache.ttl lists them */
static const char *const qevents[NQ][4] = {
    {"item:created", "item:updated", "item:deleted", NULL},
    {"item:created", "item:deleted", NULL},
    {"item:deleted", "tag:created", NULL},
    {"tag:created", "tag:updated", "tag:deleted", NULL},
    {"currency:created", "currency:updated", "currency:deleted", NULL},
    {"currency:deleted", NULL},
};
static const bool qtenant[NQ] = {true, true, true, true, false, false};

static bool lists(int q, const char *event)
{
    for (int i = 0; qevents[q][i] != NULL; i++)
        if (strcmp(qevents[q][i], event) == 0)
            return true;
    return false;
}

typedef struct text {
    char s[16384];
    size_t n;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
    if (t->n >= sizeof t->s - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s + t->n, sizeof t->s - t->n, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->n += (size_t)n < sizeof t->s - t->n ? (size_t)n : sizeof t->s - t->n - 1;
}

static char *failed_call(const dbont_error *e)
{
    char buf[1200];
    snprintf(buf, sizeof buf, "ERROR %s %s", e->sqlstate, e->message);
    return strdup(buf);
}

/* Each runs the plain function (cache NULL and !cached) or the _cached one
 * and gives its rows as text (malloc'd), or "ERROR ...". */
static char *q_items(dbont_conn *c, dbont_cache *k, bool cached, const char *category)
{
    cch_items_by_category_query_rows r = {0};
    dbont_error e = {0};
    dbont_status st = cached ? cch_items_by_category_query_cached(c, k, category, &r, &e)
                             : cch_items_by_category_query(c, category, &r, &e);
    if (st != DBONT_OK)
        return failed_call(&e);
    text t = {.n = 0};
    t.s[0] = '\0';
    for (size_t i = 0; i < r.count; i++)
        add(&t, "%s%s:%lld", i ? "," : "", r.rows[i].name, (long long)r.rows[i].price);
    cch_items_by_category_query_rows_free(&r);
    return strdup(t.s);
}

static char *q_names(dbont_conn *c, dbont_cache *k, bool cached, int64_t min_price)
{
    cch_item_names_query_rows r = {0};
    dbont_error e = {0};
    dbont_status st = cached ? cch_item_names_query_cached(c, k, min_price, &r, &e)
                             : cch_item_names_query(c, min_price, &r, &e);
    if (st != DBONT_OK)
        return failed_call(&e);
    text t = {.n = 0};
    t.s[0] = '\0';
    for (size_t i = 0; i < r.count; i++)
        add(&t, "%s%s", i ? "," : "", r.rows[i].name);
    cch_item_names_query_rows_free(&r);
    return strdup(t.s);
}

static char *q_itemtags(dbont_conn *c, dbont_cache *k, bool cached)
{
    cch_item_tags_query_rows r = {0};
    dbont_error e = {0};
    dbont_status st = cached ? cch_item_tags_query_cached(c, k, "tools", &r, &e)
                             : cch_item_tags_query(c, "tools", &r, &e);
    if (st != DBONT_OK)
        return failed_call(&e);
    text t = {.n = 0};
    t.s[0] = '\0';
    for (size_t i = 0; i < r.count; i++)
        add(&t, "%s%s=%s", i ? "," : "", r.rows[i].name, r.rows[i].label);
    cch_item_tags_query_rows_free(&r);
    return strdup(t.s);
}

static char *q_tags(dbont_conn *c, dbont_cache *k, bool cached)
{
    cch_tags_by_label_query_rows r = {0};
    dbont_error e = {0};
    dbont_status st = cached ? cch_tags_by_label_query_cached(c, k, "%", &r, &e)
                             : cch_tags_by_label_query(c, "%", &r, &e);
    if (st != DBONT_OK)
        return failed_call(&e);
    text t = {.n = 0};
    t.s[0] = '\0';
    for (size_t i = 0; i < r.count; i++)
        add(&t, "%s%s", i ? "," : "", r.rows[i].label);
    cch_tags_by_label_query_rows_free(&r);
    return strdup(t.s);
}

static char *q_rates(dbont_conn *c, dbont_cache *k, bool cached, int64_t above)
{
    cch_currency_rates_query_rows r = {0};
    dbont_error e = {0};
    dbont_status st = cached ? cch_currency_rates_query_cached(c, k, above, &r, &e)
                             : cch_currency_rates_query(c, above, &r, &e);
    if (st != DBONT_OK)
        return failed_call(&e);
    text t = {.n = 0};
    t.s[0] = '\0';
    for (size_t i = 0; i < r.count; i++)
        add(&t, "%s%s:%lld", i ? "," : "", r.rows[i].code, (long long)r.rows[i].rate);
    cch_currency_rates_query_rows_free(&r);
    return strdup(t.s);
}

static char *q_bycode(dbont_conn *c, dbont_cache *k, bool cached, const char *code)
{
    cch_currency_by_code_query_rows r = {0};
    dbont_error e = {0};
    dbont_status st = cached ? cch_currency_by_code_query_cached(c, k, code, &r, &e)
                             : cch_currency_by_code_query(c, code, &r, &e);
    if (st != DBONT_OK)
        return failed_call(&e);
    text t = {.n = 0};
    t.s[0] = '\0';
    for (size_t i = 0; i < r.count; i++)
        add(&t, "%s%s:%lld", i ? "," : "", r.rows[i].code, (long long)r.rows[i].rate);
    cch_currency_by_code_query_rows_free(&r);
    return strdup(t.s);
}

/* The query q with the parameters the tests use. */
static char *run_q(dbont_conn *c, dbont_cache *k, bool cached, int q)
{
    switch (q) {
    case Q_ITEMS:
        return q_items(c, k, cached, "tools");
    case Q_NAMES:
        return q_names(c, k, cached, 0);
    case Q_ITEMTAGS:
        return q_itemtags(c, k, cached);
    case Q_TAGS:
        return q_tags(c, k, cached);
    case Q_RATES:
        return q_rates(c, k, cached, 0);
    default:
        return q_bycode(c, k, cached, "EUR");
    }
}

/* What one cached call did, from the counters around it (one thread). */
enum { O_L1, O_L2, O_MISS, O_BYPASS, O_NONE };
static const char *const oname[] = {"L1 hit", "L2 hit", "miss", "bypassed", "nothing"};

static int outcome(const dbont_cache_stats *a, const dbont_cache_stats *b)
{
    int n = 0, o = O_NONE;
    if (b->l1_hits != a->l1_hits)
        n++, o = O_L1;
    if (b->l2_hits != a->l2_hits)
        n++, o = O_L2;
    if (b->misses != a->misses)
        n++, o = O_MISS;
    if (b->bypassed != a->bypassed)
        n++, o = O_BYPASS;
    return n == 1 ? o : O_NONE;
}

/* A cached call of q through k: its rows, and in *how what it did. */
static char *cached_q(dbont_conn *c, dbont_cache *k, int q, int *how)
{
    dbont_cache_stats a = stats(k);
    char *rows = run_q(c, k, true, q);
    dbont_cache_stats b = stats(k);
    *how = outcome(&a, &b);
    return rows;
}

static char *cached_items(dbont_conn *c, dbont_cache *k, const char *category, int *how)
{
    dbont_cache_stats a = stats(k);
    char *rows = q_items(c, k, true, category);
    dbont_cache_stats b = stats(k);
    *how = outcome(&a, &b);
    return rows;
}

#define CHECK_ROWS(got, want, what)                                                                    \
    CHECK((got) != NULL && strcmp((got), (want)) == 0, "%s: rows '%s', expected '%s'", (what),          \
          (got) ? (got) : "(null)", (want))
#define CHECK_HOW(got, want, what) \
    CHECK((got) == (want), "%s: %s, expected %s", (what), oname[got], oname[want])

static void section(const char *name, double *t0)
{
    double t = now_s();
    if (*t0 > 0)
        printf("   (%.2f s)\n", t - *t0);
    if (name != NULL)
        printf("== %s\n", name);
    fflush(stdout);
    *t0 = t;
}

/* ---- hit and miss ------------------------------------------------------------------ */

static void test_hit_miss(void)
{
    dbont_cache *c = cache_new(DBONT_CACHE_REDIS_MEMORY, "hm", 0, 0);
    if (c == NULL)
        return;
    int how;
    char *r;

    tbegin(app, &ta);
    char *plain = q_items(app, NULL, false, "tools");
    CHECK_ROWS(plain, "hammer:10,saw:25", "plain items_by_category(tools) in A");
    r = cached_items(app, c, "tools", &how);
    CHECK_HOW(how, O_MISS, "first cached call");
    CHECK_ROWS(r, plain, "first cached call");
    free(r);
    dbont_cache_stats s = stats(c);
    CHECK(s.misses == 1 && s.fills == 1 && s.hits == 0 && s.entries == 1 && s.bytes > 0,
          "after a miss: misses %llu fills %llu hits %llu entries %zu bytes %zu", (unsigned long long)s.misses,
          (unsigned long long)s.fills, (unsigned long long)s.hits, s.entries, s.bytes);
    r = cached_items(app, c, "tools", &how);
    CHECK_HOW(how, O_L1, "second cached call");
    CHECK_ROWS(r, plain, "second cached call");
    free(r);
    r = cached_items(app, c, "food", &how);
    CHECK_HOW(how, O_MISS, "other parameter");
    CHECK_ROWS(r, "apple:2", "other parameter");
    free(r);
    r = cached_items(app, c, "food", &how);
    CHECK_HOW(how, O_L1, "other parameter again");
    CHECK_ROWS(r, "apple:2", "other parameter again");
    free(r);
    /* the template renders the parameter escaped: "x:y" and "x%3Ay" are
     * two entries (and both have no rows) */
    r = cached_items(app, c, "x:y", &how);
    CHECK_HOW(how, O_MISS, "category x:y");
    CHECK_ROWS(r, "", "category x:y");
    free(r);
    r = cached_items(app, c, "x%3Ay", &how);
    CHECK_HOW(how, O_MISS, "category x%%3Ay (not x:y's entry)");
    free(r);
    s = stats(c);
    CHECK(s.hits == 2 && s.l1_hits == 2 && s.l2_hits == 0 && s.misses == 4 && s.fills == 4 && s.entries == 4 &&
              s.errors == 0 && s.bypassed == 0,
          "counters: hits %llu l1 %llu l2 %llu misses %llu fills %llu entries %zu errors %llu",
          (unsigned long long)s.hits, (unsigned long long)s.l1_hits, (unsigned long long)s.l2_hits,
          (unsigned long long)s.misses, (unsigned long long)s.fills, s.entries, (unsigned long long)s.errors);

    /* another cache on the same Redis (another process, say): L2 */
    dbont_cache *c2 = cache_new(DBONT_CACHE_REDIS_MEMORY, "hm", 0, 0);
    dbont_cache *c3 = cache_new(DBONT_CACHE_REDIS, "hm", 0, 0);
    dbont_cache *c4 = cache_new(DBONT_CACHE_MEMORY, "hm", 0, 0);
    if (c2 != NULL && c3 != NULL && c4 != NULL) {
        r = cached_items(app, c2, "tools", &how);
        CHECK_HOW(how, O_L2, "redis+memory cache, first call of a key the other filled");
        CHECK_ROWS(r, plain, "L2 hit");
        free(r);
        r = cached_items(app, c2, "tools", &how);
        CHECK_HOW(how, O_L1, "the L2 hit went into L1");
        CHECK_ROWS(r, plain, "L1 hit after an L2 hit");
        free(r);
        r = cached_items(app, c3, "tools", &how);
        CHECK_HOW(how, O_L2, "redis-only cache");
        CHECK_ROWS(r, plain, "redis-only cache");
        free(r);
        r = cached_items(app, c3, "tools", &how);
        CHECK_HOW(how, O_L2, "redis-only cache again (no L1)");
        free(r);
        s = stats(c3);
        CHECK(s.entries == 0 && s.bytes == 0, "redis-only: no L1 (%zu entries)", s.entries);
        r = cached_items(app, c4, "tools", &how);
        CHECK_HOW(how, O_MISS, "memory-only cache: its own L1 only");
        CHECK_ROWS(r, plain, "memory-only cache");
        free(r);
        r = cached_items(app, c4, "tools", &how);
        CHECK_HOW(how, O_L1, "memory-only cache again");
        free(r);
    }
    tend(app, true);

    /* a query of a table without tenant: outside any tenant session */
    char *rates = q_rates(app, NULL, false, 0);
    CHECK_ROWS(rates, "EUR:100,JPY:1,USD:90", "plain currency_rates");
    dbont_cache_stats a = stats(c);
    r = q_rates(app, c, true, 0);
    CHECK_ROWS(r, rates, "cached currency_rates");
    free(r);
    r = q_rates(app, c, true, 0);
    CHECK_ROWS(r, rates, "cached currency_rates again");
    free(r);
    r = q_rates(app, c, true, 95);
    CHECK_ROWS(r, "EUR:100", "cached currency_rates(95)");
    free(r);
    s = stats(c);
    CHECK(s.misses - a.misses == 2 && s.l1_hits - a.l1_hits == 1 && s.bypassed == 0,
          "currency_rates: %llu misses, %llu L1 hits", (unsigned long long)(s.misses - a.misses),
          (unsigned long long)(s.l1_hits - a.l1_hits));
    free(rates);
    free(plain);
    dbont_cache_close(c4);
    dbont_cache_close(c3);
    dbont_cache_close(c2);
    dbont_cache_close(c);
}

/* ---- tenants ------------------------------------------------------------------------ */

static void test_tenants(void)
{
    dbont_cache *c = cache_new(DBONT_CACHE_REDIS_MEMORY, "tn", 0, 0);
    dbont_cache *l2 = cache_new(DBONT_CACHE_REDIS, "tn", 0, 0);
    if (c == NULL || l2 == NULL)
        return;
    int how;
    char *r;
    static const struct {
        const dbont_uuid *t;
        const char *name, *items, *tags;
    } tenants[] = {{&ta, "A", "hammer:10,saw:25", "steel,sharp"}, {&tb, "B", "wrench:30", "heavy"}};

    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 2; i++) {
            char what[96];
            tbegin(app, tenants[i].t);
            snprintf(what, sizeof what, "tenant %s, items_by_category, call %d", tenants[i].name, round + 1);
            r = cached_items(app, c, "tools", &how);
            CHECK_HOW(how, round == 0 ? O_MISS : O_L1, what);
            CHECK_ROWS(r, tenants[i].items, what);
            free(r);
            snprintf(what, sizeof what, "tenant %s, tags_by_label, call %d", tenants[i].name, round + 1);
            r = cached_q(app, c, Q_TAGS, &how);
            CHECK_HOW(how, round == 0 ? O_MISS : O_L1, what);
            CHECK_ROWS(r, tenants[i].tags, what);
            free(r);
            /* the shared currencies: one entry for everyone */
            snprintf(what, sizeof what, "tenant %s, currency_rates, call %d", tenants[i].name, round + 1);
            r = cached_q(app, c, Q_RATES, &how);
            CHECK_HOW(how, round == 0 && i == 0 ? O_MISS : O_L1, what);
            CHECK_ROWS(r, "EUR:100,JPY:1,USD:90", what);
            free(r);
            tend(app, true);
        }
    /* through Redis: each tenant's own entry too */
    for (int i = 1; i >= 0; i--) {
        char what[96];
        snprintf(what, sizeof what, "tenant %s, from L2", tenants[i].name);
        tbegin(app, tenants[i].t);
        r = cached_items(app, l2, "tools", &how);
        CHECK_HOW(how, O_L2, what);
        CHECK_ROWS(r, tenants[i].items, what);
        free(r);
        tend(app, true);
    }
    /* outside a tenant session: no tenant to key by; the database shows
     * nothing under row-level security */
    dbont_cache_stats a = stats(c);
    r = cached_items(app, c, "tools", &how);
    CHECK_HOW(how, O_BYPASS, "tenant-scoped query outside a tenant session");
    CHECK_ROWS(r, "", "tenant-scoped query outside a tenant session");
    free(r);
    r = cached_q(app, c, Q_TAGS, &how);
    CHECK_HOW(how, O_BYPASS, "tags_by_label outside a tenant session");
    CHECK_ROWS(r, "", "tags_by_label outside a tenant session");
    free(r);
    r = cached_q(app, c, Q_RATES, &how);
    CHECK_HOW(how, O_L1, "a query without tenant outside a tenant session");
    free(r);
    dbont_cache_stats b = stats(c);
    CHECK(b.bypassed - a.bypassed == 2 && b.fills == a.fills, "bypassed %llu, fills %llu -> %llu",
          (unsigned long long)(b.bypassed - a.bypassed), (unsigned long long)a.fills, (unsigned long long)b.fills);
    /* a tenant session whose transaction was ended behind its back */
    tbegin(app, &ta);
    dbont_error e = {0};
    CHECK(dbont_exec(app, "COMMIT", &e) == DBONT_OK, "COMMIT: %s", e.message);
    r = cached_items(app, c, "tools", &how);
    CHECK_HOW(how, O_BYPASS, "tenant session whose transaction ended");
    CHECK_ROWS(r, "", "tenant session whose transaction ended");
    free(r);
    tend(app, false);
    dbont_cache_close(l2);
    dbont_cache_close(c);
}

/* ---- warm-up ----------------------------------------------------------------------------- */

static void test_warm(void)
{
    dbont_cache *c = cache_new(DBONT_CACHE_REDIS_MEMORY, "wm", 0, 0);
    dbont_cache *c2 = cache_new(DBONT_CACHE_REDIS_MEMORY, "wm", 0, 0);
    if (c == NULL || c2 == NULL)
        return;
    dbont_error e = {0};
    int how;
    char *r;

    tbegin(app, &ta);
    dbont_cache_stats a = stats(c);
    CHECK(cch_cache_warm_app_startup(app, c, &e) == DBONT_OK, "warm-up: %s %s", e.sqlstate, e.message);
    dbont_cache_stats b = stats(c);
    CHECK(b.fills - a.fills == 2 && b.entries == 2, "the warm-up filled %llu entries (%zu in L1), expected 2",
          (unsigned long long)(b.fills - a.fills), b.entries);
    char *plain = q_items(app, NULL, false, "tools");
    r = cached_items(app, c, "tools", &how);
    CHECK_HOW(how, O_L1, "items_by_category(tools) after the warm-up");
    CHECK_ROWS(r, plain, "items_by_category after the warm-up");
    free(r);
    r = cached_q(app, c, Q_RATES, &how);
    CHECK_HOW(how, O_L1, "currency_rates(0) after the warm-up");
    CHECK_ROWS(r, "EUR:100,JPY:1,USD:90", "currency_rates after the warm-up");
    free(r);
    /* what it put in Redis serves another process's first call */
    r = cached_items(app, c2, "tools", &how);
    CHECK_HOW(how, O_L2, "another cache, items_by_category(tools), first call");
    CHECK_ROWS(r, plain, "another cache, items_by_category");
    free(r);
    r = cached_q(app, c2, Q_RATES, &how);
    CHECK_HOW(how, O_L2, "another cache, currency_rates(0), first call");
    free(r);
    /* only what it names: another parameter is a miss */
    r = cached_items(app, c, "food", &how);
    CHECK_HOW(how, O_MISS, "a parameter the warm-up does not name");
    free(r);
    tend(app, true);
    /* tenant B: the warm-up of A's session filled nothing of B's */
    tbegin(app, &tb);
    r = cached_items(app, c, "tools", &how);
    CHECK_HOW(how, O_MISS, "tenant B after tenant A's warm-up");
    CHECK_ROWS(r, "wrench:30", "tenant B's rows");
    free(r);
    tend(app, true);
    /* outside a tenant session it warms the shared query only */
    dbont_cache *c3 = cache_new(DBONT_CACHE_MEMORY, "wm3", 0, 0);
    if (c3 != NULL) {
        a = stats(c3);
        CHECK(cch_cache_warm_app_startup(app, c3, &e) == DBONT_OK, "warm-up outside a session: %s", e.message);
        b = stats(c3);
        CHECK(b.fills - a.fills == 1 && b.bypassed - a.bypassed == 1,
              "outside a session the warm-up fills %llu and bypasses %llu (expected 1 and 1)",
              (unsigned long long)(b.fills - a.fills), (unsigned long long)(b.bypassed - a.bypassed));
        r = cached_q(app, c3, Q_RATES, &how);
        CHECK_HOW(how, O_L1, "currency_rates after a warm-up outside a session");
        free(r);
        dbont_cache_close(c3);
    }
    free(plain);
    dbont_cache_close(c2);
    dbont_cache_close(c);
}

/* ---- TTL ---------------------------------------------------------------------------------- */

static void test_ttl(void)
{
    /* the data changes behind the caches' backs: the owner writes, no cache
     * is attached to it and no listener runs */
    dbont_cache *c = cache_new(DBONT_CACHE_REDIS_MEMORY, "ttl", 0, 0);
    dbont_cache *other = cache_new(DBONT_CACHE_REDIS_MEMORY, "ttl", 0, 0);
    dbont_cache *l2 = cache_new(DBONT_CACHE_REDIS, "ttl", 0, 0);
    dbont_cache *mem = cache_new(DBONT_CACHE_MEMORY, "ttl", 0, 0);
    if (c == NULL || other == NULL || l2 == NULL || mem == NULL)
        return;
    char *r;
    owner_exec("UPDATE currencies SET rate = 100 WHERE code = 'EUR'");

    double start = now_s();
    r = q_bycode(app, c, true, "EUR");
    double filled = now_s();
    CHECK_ROWS(r, "EUR:100", "currency_by_code(EUR), filled");
    free(r);
    r = q_bycode(app, mem, true, "EUR");
    double mem_filled = now_s();
    free(r);
    dbont_cache_stats a = stats(c);
    r = q_bycode(app, c, true, "EUR");
    dbont_cache_stats b = stats(c);
    CHECK(outcome(&a, &b) == O_L1, "currency_by_code(EUR) again: %s", oname[outcome(&a, &b)]);
    free(r);
    /* another process reads it from Redis half way through its TTL */
    sleep_s(0.5 - (now_s() - start));
    a = stats(other);
    r = q_bycode(app, other, true, "EUR");
    b = stats(other);
    CHECK(outcome(&a, &b) == O_L2, "another cache half way: %s", oname[outcome(&a, &b)]);
    CHECK_ROWS(r, "EUR:100", "another cache half way");
    free(r);

    owner_exec("UPDATE currencies SET rate = 101 WHERE code = 'EUR'");
    if (now_s() - start < 0.9) {
        r = q_bycode(app, c, true, "EUR");
        CHECK_ROWS(r, "EUR:100", "before the TTL: the cached (now stale) rows");
        free(r);
    }
    /* from 1 s after the fill on, every cache answers the new rate; poll
     * past that every 20 ms */
    int stale_after = 0, calls_after = 0, stale_before = 0;
    dbont_cache *all[] = {c, other, l2, mem};
    double fill_end[] = {filled, filled, filled, mem_filled};
    while (now_s() < filled + 1.6) {
        for (int i = 0; i < 4; i++) {
            double t = now_s();
            r = q_bycode(app, all[i], true, "EUR");
            bool stale = r != NULL && strcmp(r, "EUR:100") == 0;
            if (t > fill_end[i] + 1.0 + 0.002) {
                calls_after++;
                if (stale) {
                    stale_after++;
                    printf("   cache %d served the old rate %.3f s after its fill\n", i, t - fill_end[i]);
                }
            } else if (stale) {
                stale_before++;
            }
            free(r);
        }
        sleep_s(0.02);
    }
    CHECK(calls_after >= 8 && stale_after == 0, "%d of %d calls past the TTL served the old rate", stale_after,
          calls_after);
    CHECK(stale_before > 0, "no call before the TTL served the cached rate (%d)", stale_before);
    r = q_bycode(app, c, true, "EUR");
    CHECK_ROWS(r, "EUR:101", "after the TTL");
    free(r);
    a = stats(c);
    r = q_bycode(app, c, true, "EUR");
    b = stats(c);
    CHECK(outcome(&a, &b) == O_L1, "the new rows are cached again: %s", oname[outcome(&a, &b)]);
    CHECK_ROWS(r, "EUR:101", "the new rows cached");
    free(r);
    owner_exec("UPDATE currencies SET rate = 100 WHERE code = 'EUR'");
    dbont_cache_close(mem);
    dbont_cache_close(l2);
    dbont_cache_close(other);
    dbont_cache_close(c);
}

/* ---- single flight ------------------------------------------------------------------------ */

#define FLIGHT_THREADS 8

typedef struct flight_arg {
    dbont_cache *cache;
    dbont_conn *conn;
    pthread_barrier_t *barrier;
    char *rows;
} flight_arg;

static void *flight_worker(void *p)
{
    flight_arg *a = p;
    if (a->barrier != NULL)
        pthread_barrier_wait(a->barrier);
    a->rows = q_rates(a->conn, a->cache, true, -7);
    return NULL;
}

static void test_single_flight(void)
{
    dbont_cache *c = cache_new(DBONT_CACHE_REDIS_MEMORY, "sf", 0, 0);
    /* another process: waits on the Redis lock for the first one's result */
    dbont_cache *other = cache_new(DBONT_CACHE_REDIS_MEMORY, "sf", 0, 5.0);
    if (c == NULL || other == NULL)
        return;
    flight_arg args[FLIGHT_THREADS + 1];
    pthread_t th[FLIGHT_THREADS + 1];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, FLIGHT_THREADS);
    bool connected = true;
    for (int i = 0; i <= FLIGHT_THREADS; i++) {
        dbont_error e = {0};
        args[i].cache = i < FLIGHT_THREADS ? c : other;
        args[i].barrier = i < FLIGHT_THREADS ? &barrier : NULL;
        args[i].rows = NULL;
        args[i].conn = dbont_connect(app_dsn, &e);
        connected &= CHECK(args[i].conn != NULL, "connect: %s", e.message);
    }
    char *plain = q_rates(app, NULL, false, -7);
    /* the owner holds the table: the one run of the query waits until every
     * thread has missed and joined it */
    owner_exec("BEGIN");
    owner_exec("LOCK TABLE currencies IN ACCESS EXCLUSIVE MODE");
    dbont_cache_stats a = stats(c), ao = stats(other);
    int started = 0;
    for (int i = 0; connected && i < FLIGHT_THREADS; i++)
        if (pthread_create(&th[i], NULL, flight_worker, &args[i]) == 0)
            started++;
    CHECK(started == FLIGHT_THREADS, "started %d threads", started);
    double deadline = now_s() + 10;
    while (stats(c).misses - a.misses < (uint64_t)started && now_s() < deadline)
        sleep_s(0.005);
    sleep_s(0.05); /* from the miss to waiting on the flight: a few instructions */
    bool other_started = connected && pthread_create(&th[FLIGHT_THREADS], NULL, flight_worker,
                                                     &args[FLIGHT_THREADS]) == 0;
    while (other_started && stats(other).misses == ao.misses && now_s() < deadline)
        sleep_s(0.005);
    sleep_s(0.1); /* the other cache now polls Redis for the result */
    owner_exec("COMMIT");
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (other_started)
        pthread_join(th[FLIGHT_THREADS], NULL);
    dbont_cache_stats b = stats(c), bo = stats(other);
    printf("   %d threads: misses %llu, fills %llu, shared %llu, hits %llu; other cache: misses %llu, shared %llu, "
           "fills %llu\n",
           started, (unsigned long long)(b.misses - a.misses), (unsigned long long)(b.fills - a.fills),
           (unsigned long long)(b.shared - a.shared), (unsigned long long)(b.hits - a.hits),
           (unsigned long long)(bo.misses - ao.misses), (unsigned long long)(bo.shared - ao.shared),
           (unsigned long long)(bo.fills - ao.fills));
    CHECK(b.fills - a.fills == 1, "the query ran %llu times in the process, expected once",
          (unsigned long long)(b.fills - a.fills));
    CHECK(b.misses - a.misses == FLIGHT_THREADS && b.shared - a.shared == FLIGHT_THREADS - 1 && b.hits == a.hits,
          "misses %llu shared %llu hits %llu", (unsigned long long)(b.misses - a.misses),
          (unsigned long long)(b.shared - a.shared), (unsigned long long)(b.hits - a.hits));
    CHECK(bo.misses - ao.misses == 1 && bo.shared - ao.shared == 1 && bo.fills == ao.fills,
          "the other cache: misses %llu shared %llu fills %llu (expected 1 1 0: it waited on the Redis lock)",
          (unsigned long long)(bo.misses - ao.misses), (unsigned long long)(bo.shared - ao.shared),
          (unsigned long long)(bo.fills - ao.fills));
    CHECK_ROWS(plain, "EUR:100,JPY:1,USD:90", "plain currency_rates(-7)");
    for (int i = 0; i <= FLIGHT_THREADS; i++) {
        if (args[i].rows != NULL || i < started || (i == FLIGHT_THREADS && other_started))
            CHECK_ROWS(args[i].rows, plain, "a single-flight caller's rows");
        free(args[i].rows);
        dbont_close(args[i].conn);
    }
    pthread_barrier_destroy(&barrier);
    free(plain);
    dbont_cache_close(other);
    dbont_cache_close(c);
}

/* ---- L1's byte bound under load ---------------------------------------------------------- */

#define LOAD_THREADS 4
#define LOAD_KEYS 300
#define LOAD_BYTES ((size_t)64 << 10)

typedef struct load_arg {
    dbont_cache *cache;
    int index;
    long calls, wrong;
    size_t max_bytes;
} load_arg;

static atomic_bool load_done;
static size_t load_monitor_max;
static long load_monitor_samples;

/* tenant C's items cost 0, 25, ..., 975: names with price >= p */
static size_t c_items_at_least(int64_t p)
{
    size_t n = 0;
    for (int k = 0; k < 40; k++)
        n += 25 * k >= p;
    return n;
}

static void *load_worker(void *p)
{
    load_arg *a = p;
    dbont_error e = {0};
    dbont_conn *conn = dbont_connect(app_dsn, &e);
    if (!CHECK(conn != NULL, "connect: %s", e.message))
        return NULL;
    if (tbegin(conn, &tc)) {
        for (int round = 0; round < 2; round++)
            for (int i = 0; i < LOAD_KEYS; i++) {
                int64_t min_price = (int64_t)i * LOAD_THREADS + a->index;
                cch_item_names_query_rows r = {0};
                dbont_status st = cch_item_names_query_cached(conn, a->cache, min_price, &r, &e);
                a->calls++;
                if (st != DBONT_OK || r.count != c_items_at_least(min_price) ||
                    (r.count > 0 && strcmp(r.rows[r.count - 1].name, "c-item-39") != 0))
                    a->wrong++;
                cch_item_names_query_rows_free(&r);
                dbont_cache_stats s = stats(a->cache);
                if (s.bytes > a->max_bytes)
                    a->max_bytes = s.bytes;
            }
        tend(conn, true);
    }
    dbont_close(conn);
    return NULL;
}

static void *load_monitor(void *p)
{
    dbont_cache *c = p;
    while (!atomic_load(&load_done)) {
        dbont_cache_stats s = stats(c);
        if (s.bytes > load_monitor_max)
            load_monitor_max = s.bytes;
        load_monitor_samples++;
        sleep_s(0.0005);
    }
    return NULL;
}

static void test_byte_bound(void)
{
    dbont_cache *c = cache_new(DBONT_CACHE_MEMORY, "bb", LOAD_BYTES, 0);
    if (c == NULL)
        return;
    load_arg args[LOAD_THREADS];
    pthread_t th[LOAD_THREADS], mon;
    atomic_store(&load_done, false);
    bool monitoring = pthread_create(&mon, NULL, load_monitor, c) == 0;
    int started = 0;
    for (int i = 0; i < LOAD_THREADS; i++) {
        args[i] = (load_arg){c, i, 0, 0, 0};
        if (pthread_create(&th[i], NULL, load_worker, &args[i]) == 0)
            started++;
    }
    long calls = 0, wrong = 0;
    size_t max_bytes = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        calls += args[i].calls;
        wrong += args[i].wrong;
        if (args[i].max_bytes > max_bytes)
            max_bytes = args[i].max_bytes;
    }
    atomic_store(&load_done, true);
    if (monitoring)
        pthread_join(mon, NULL);
    dbont_cache_stats s = stats(c);
    printf("   %ld calls from %d threads, %llu fills, %llu evictions; L1 at most %zu of %zu bytes (%ld samples), "
           "%zu entries at the end\n",
           calls, started, (unsigned long long)s.fills, (unsigned long long)s.evictions,
           max_bytes > load_monitor_max ? max_bytes : load_monitor_max, LOAD_BYTES, load_monitor_samples,
           s.entries);
    CHECK(started == LOAD_THREADS && calls == 2L * LOAD_THREADS * LOAD_KEYS, "%ld calls", calls);
    CHECK(wrong == 0, "%ld calls returned wrong rows", wrong);
    CHECK(max_bytes <= LOAD_BYTES && load_monitor_max <= LOAD_BYTES && s.bytes <= LOAD_BYTES,
          "L1 held %zu bytes (monitor: %zu), over its bound %zu", max_bytes, load_monitor_max, LOAD_BYTES);
    CHECK(s.evictions > 0, "no evictions");
    CHECK(s.fills >= (uint64_t)LOAD_THREADS * LOAD_KEYS, "fills %llu", (unsigned long long)s.fills);
    CHECK(s.bytes > LOAD_BYTES / 4, "L1 holds only %zu bytes: the bound is not used", s.bytes);
    dbont_cache_close(c);
}

/* ---- every mutation event ------------------------------------------------------------------ */

static int64_t ev_drill, ev_blue;

static dbont_status mut_item_insert(dbont_error *e)
{
    cch_items_new n = {0};
    n.name = "drill";
    n.category = "tools";
    n.price = 40;
    n.price_set = true;
    cch_items_rows out = {0};
    dbont_status st = cch_items_insert(app, &n, &out, e);
    if (st == DBONT_OK)
        ev_drill = out.rows[0].id;
    cch_items_rows_free(&out);
    return st;
}

static dbont_status mut_item_update(dbont_error *e)
{
    cch_items_rows r = {0};
    dbont_status st = cch_items_get(app, owner_int("SELECT id FROM items WHERE name = 'hammer'"), &r, e);
    if (st == DBONT_OK) {
        cch_items row = r.rows[0];
        row.price += 1;
        st = cch_items_update(app, &row, e);
    }
    cch_items_rows_free(&r);
    return st;
}

static dbont_status mut_item_delete(dbont_error *e)
{
    return cch_items_delete(app, ev_drill, e);
}

static dbont_status mut_item_copy(dbont_error *e)
{
    cch_items_new rows[2] = {{0}, {0}};
    rows[0].name = "file";
    rows[1].name = "rasp";
    rows[0].category = rows[1].category = "tools";
    rows[0].price = 5;
    rows[1].price = 6;
    rows[0].price_set = rows[1].price_set = true;
    return cch_items_copy(app, rows, 2, NULL, e);
}

static dbont_status mut_tag_insert(dbont_error *e)
{
    cch_tags_new n = {0};
    n.item_id = owner_int("SELECT id FROM items WHERE name = 'saw'");
    n.label = "blue";
    cch_tags_rows out = {0};
    dbont_status st = cch_tags_insert(app, &n, &out, e);
    if (st == DBONT_OK)
        ev_blue = out.rows[0].id;
    cch_tags_rows_free(&out);
    return st;
}

static dbont_status mut_tag_update(dbont_error *e)
{
    cch_tags_rows r = {0};
    dbont_status st = cch_tags_get(app, ev_blue, &r, e);
    if (st == DBONT_OK) {
        cch_tags row = r.rows[0];
        row.label = "navy";
        st = cch_tags_update(app, &row, e);
    }
    cch_tags_rows_free(&r);
    return st;
}

static dbont_status mut_tag_delete(dbont_error *e)
{
    return cch_tags_delete(app, ev_blue, e);
}

static dbont_status mut_tag_copy(dbont_error *e)
{
    cch_tags_new rows[2] = {{0}, {0}};
    rows[0].item_id = rows[1].item_id = owner_int("SELECT id FROM items WHERE name = 'hammer'");
    rows[0].label = "grip";
    rows[1].label = "heavy";
    return cch_tags_copy(app, rows, 2, NULL, e);
}

static dbont_status mut_currency_insert(dbont_error *e)
{
    cch_currencies_new n = {"AUD", 60};
    return cch_currencies_insert(app, &n, NULL, e);
}

static dbont_status mut_currency_update(dbont_error *e)
{
    cch_currencies row = {"USD", 91};
    return cch_currencies_update(app, &row, e);
}

static dbont_status mut_currency_copy(dbont_error *e)
{
    cch_currencies_new rows[2] = {{"GBP", 120}, {"CHF", 110}};
    return cch_currencies_copy(app, rows, 2, NULL, e);
}

static dbont_status mut_currency_delete(dbont_error *e)
{
    return cch_currencies_delete(app, "EUR", e);
}

typedef struct mutation {
    const char *name, *event;
    dbont_status (*run)(dbont_error *e);
    int changes;       /* a query whose rows it changes */
    bool in_session;   /* in tenant A's session (else outside any) */
} mutation;

static const mutation mutations[] = {
    {"items insert", "item:created", mut_item_insert, Q_ITEMS, true},
    {"items update", "item:updated", mut_item_update, Q_ITEMS, true},
    {"items delete", "item:deleted", mut_item_delete, Q_NAMES, true},
    {"items bulk insert", "item:created", mut_item_copy, Q_ITEMS, true},
    {"tags insert", "tag:created", mut_tag_insert, Q_TAGS, true},
    {"tags update", "tag:updated", mut_tag_update, Q_TAGS, true},
    {"tags delete", "tag:deleted", mut_tag_delete, Q_TAGS, true},
    {"tags bulk insert", "tag:created", mut_tag_copy, Q_ITEMTAGS, true},
    {"currencies insert (in a tenant session)", "currency:created", mut_currency_insert, Q_RATES, true},
    {"currencies update (in a tenant session)", "currency:updated", mut_currency_update, Q_RATES, true},
    {"currencies bulk insert (in a tenant session)", "currency:created", mut_currency_copy, Q_RATES, true},
    {"currencies delete (outside a session)", "currency:deleted", mut_currency_delete, Q_BYCODE, false},
};

static void test_events(void)
{
    dbont_cache *c = cache_new(DBONT_CACHE_REDIS_MEMORY, "ev", 0, 0);
    if (c == NULL)
        return;
    dbont_conn_set_cache(app, c);
    int how;
    char *r;
    int hits_checked = 0, misses_checked = 0;

    for (size_t m = 0; m < sizeof mutations / sizeof mutations[0]; m++) {
        const mutation *mu = &mutations[m];
        char what[160];
        char *before[NQ], *before_b[2];
        /* every query cached (and a hit) in tenant A, two in tenant B */
        tbegin(app, &ta);
        double primed = now_s();
        for (int q = 0; q < NQ; q++) {
            free(cached_q(app, c, q, &how));
            before[q] = cached_q(app, c, q, &how);
            snprintf(what, sizeof what, "before %s: %s", mu->name, qname[q]);
            CHECK_HOW(how, O_L1, what);
        }
        tend(app, true);
        tbegin(app, &tb);
        free(cached_q(app, c, Q_ITEMS, &how));
        free(cached_q(app, c, Q_TAGS, &how));
        before_b[0] = cached_q(app, c, Q_ITEMS, &how);
        CHECK_HOW(how, O_L1, "tenant B's items_by_category primed");
        before_b[1] = cached_q(app, c, Q_TAGS, &how);
        CHECK_HOW(how, O_L1, "tenant B's tags_by_label primed");
        tend(app, true);

        dbont_error e = {0};
        dbont_cache_stats a = stats(c);
        if (mu->in_session)
            tbegin(app, &ta);
        CHECK(mu->run(&e) == DBONT_OK, "%s: %s %s", mu->name, e.sqlstate, e.message);
        if (mu->in_session) {
            /* held until the commit: nothing invalidated yet */
            CHECK(stats(c).invalidations == a.invalidations, "%s: an event before the commit", mu->name);
            r = cached_q(app, c, mu->changes, &how);
            snprintf(what, sizeof what, "%s, before its commit: %s", mu->name, qname[mu->changes]);
            CHECK_HOW(how, O_L1, what);
            free(r);
            tend(app, true);
        }
        dbont_cache_stats b = stats(c);
        CHECK(b.invalidations - a.invalidations == 1, "%s: %llu events applied, expected 1", mu->name,
              (unsigned long long)(b.invalidations - a.invalidations));

        tbegin(app, &ta);
        for (int q = 0; q < NQ; q++) {
            r = cached_q(app, c, q, &how);
            char *plain = run_q(app, NULL, false, q);
            snprintf(what, sizeof what, "after %s (%s): %s", mu->name, mu->event, qname[q]);
            if (lists(q, mu->event)) {
                CHECK_HOW(how, O_MISS, what);
                CHECK_ROWS(r, plain, what);
                misses_checked++;
            } else if (q != Q_BYCODE || now_s() - primed < 0.8) { /* its TTL is 1 s */
                CHECK_HOW(how, O_L1, what);
                CHECK_ROWS(r, before[q], what);
                hits_checked++;
            }
            if (q == mu->changes)
                CHECK(r != NULL && strcmp(r, before[q]) != 0, "%s: %s did not change ('%s')", mu->name, qname[q],
                      r ? r : "");
            free(plain);
            free(r);
            free(before[q]);
        }
        tend(app, true);
        if (strncmp(mu->event, "currency:", 9) != 0) {
            /* the event was tenant A's: tenant B's entries stay */
            tbegin(app, &tb);
            r = cached_q(app, c, Q_ITEMS, &how);
            snprintf(what, sizeof what, "after %s in tenant A: tenant B's items_by_category", mu->name);
            CHECK_HOW(how, O_L1, what);
            CHECK_ROWS(r, before_b[0], what);
            free(r);
            r = cached_q(app, c, Q_TAGS, &how);
            snprintf(what, sizeof what, "after %s in tenant A: tenant B's tags_by_label", mu->name);
            CHECK_HOW(how, O_L1, what);
            CHECK_ROWS(r, before_b[1], what);
            free(r);
            tend(app, true);
        }
        free(before_b[0]);
        free(before_b[1]);
    }
    printf("   %zu mutations: %d misses and %d hits checked\n", sizeof mutations / sizeof mutations[0],
           misses_checked, hits_checked);

    /* a rolled back mutation emits nothing */
    tbegin(app, &ta);
    free(cached_q(app, c, Q_ITEMS, &how));
    tend(app, true);
    dbont_cache_stats a = stats(c);
    tbegin(app, &ta);
    dbont_error e = {0};
    CHECK(mut_item_insert(&e) == DBONT_OK, "insert to roll back: %s", e.message);
    tend(app, false);
    tbegin(app, &ta);
    r = cached_q(app, c, Q_ITEMS, &how);
    CHECK_HOW(how, O_L1, "after a rolled back insert");
    char *plain = run_q(app, NULL, false, Q_ITEMS);
    CHECK_ROWS(r, plain, "after a rolled back insert");
    free(plain);
    free(r);
    tend(app, true);
    CHECK(stats(c).invalidations == a.invalidations, "a rolled back insert applied an event");
    /* the application's own event */
    dbont_cache_invalidate(c, TA, "item:updated");
    tbegin(app, &ta);
    r = cached_q(app, c, Q_ITEMS, &how);
    CHECK_HOW(how, O_MISS, "after dbont_cache_invalidate(A, item:updated)");
    free(r);
    r = cached_q(app, c, Q_NAMES, &how);
    CHECK_HOW(how, O_L1, "item_names after dbont_cache_invalidate(A, item:updated)");
    free(r);
    tend(app, true);

    dbont_conn_set_cache(app, NULL);
    dbont_cache_close(c);
    owner_exec("INSERT INTO currencies VALUES ('EUR', 100) ON CONFLICT (code) DO UPDATE SET rate = 100");
}

/* ---- the trigger path ------------------------------------------------------------------------ */

/* Polls q in tenant t (NULL: outside a session) through c until it gives
 * the plain function's rows, for up to limit seconds: the time it took, or
 * -1.  *how: what the last cached call did. */
static double until_fresh(dbont_cache *c, const dbont_uuid *t, int q, double limit, int *how)
{
    double start = now_s();
    for (;;) {
        if (t != NULL)
            tbegin(app, t);
        char *r = cached_q(app, c, q, how);
        char *plain = run_q(app, NULL, false, q);
        bool fresh = r != NULL && plain != NULL && strcmp(r, plain) == 0;
        free(r);
        free(plain);
        if (t != NULL)
            tend(app, true);
        double took = now_s() - start;
        if (fresh)
            return took;
        if (took > limit)
            return -1;
        sleep_s(0.005);
    }
}

static void test_trigger(void)
{
    dbont_cache *c = cache_new(DBONT_CACHE_REDIS_MEMORY, "tr", 0, 0);
    if (c == NULL)
        return;
    dbont_error e = {0};
    CHECK(dbont_cache_listen(c, owner_dsn, &e) == DBONT_OK, "dbont_cache_listen: %s %s", e.sqlstate, e.message);
    int how;
    char *r, *before_b;

    tbegin(app, &ta);
    free(cached_q(app, c, Q_ITEMS, &how));
    free(cached_q(app, c, Q_TAGS, &how));
    r = cached_q(app, c, Q_ITEMS, &how);
    CHECK_HOW(how, O_L1, "tenant A primed");
    free(r);
    tend(app, true);
    tbegin(app, &tb);
    free(cached_q(app, c, Q_ITEMS, &how));
    before_b = cached_q(app, c, Q_ITEMS, &how);
    CHECK_HOW(how, O_L1, "tenant B primed");
    tend(app, true);
    free(cached_q(app, c, Q_RATES, &how));

    /* an insert by the owner, through libpq */
    dbont_cache_stats a = stats(c);
    owner_exec("INSERT INTO items (tenant_id, name, category, price) VALUES ('" TA "', 'lathe', 'tools', 70)");
    double took = until_fresh(c, &ta, Q_ITEMS, 2.0, &how);
    printf("   owner's insert seen after %.1f ms\n", took * 1000);
    CHECK(took >= 0, "the owner's insert never reached the cache (2 s)");
    CHECK_HOW(how, O_MISS, "the call that saw the owner's insert");
    CHECK(stats(c).invalidations > a.invalidations, "no invalidation counted");
    tbegin(app, &ta);
    r = q_items(app, NULL, false, "tools");
    CHECK(r != NULL && strstr(r, "lathe:70") != NULL, "the owner's insert: '%s'", r ? r : "");
    free(r);
    r = cached_q(app, c, Q_TAGS, &how);
    CHECK_HOW(how, O_L1, "tags_by_label after an items insert by the owner");
    free(r);
    tend(app, true);
    tbegin(app, &tb);
    r = cached_q(app, c, Q_ITEMS, &how);
    CHECK_HOW(how, O_L1, "tenant B after tenant A's row was inserted by the owner");
    CHECK_ROWS(r, before_b, "tenant B after the owner's insert into A");
    free(r);
    tend(app, true);

    /* the owner's transaction: nothing before its commit */
    owner_exec("BEGIN");
    owner_exec("UPDATE items SET price = 71 WHERE name = 'lathe'");
    sleep_s(0.2);
    tbegin(app, &ta);
    r = cached_q(app, c, Q_ITEMS, &how);
    CHECK_HOW(how, O_L1, "during the owner's open transaction");
    CHECK(r != NULL && strstr(r, "lathe:70") != NULL, "during the owner's open transaction: '%s'", r ? r : "");
    free(r);
    tend(app, true);
    owner_exec("COMMIT");
    took = until_fresh(c, &ta, Q_ITEMS, 2.0, &how);
    printf("   owner's committed update seen after %.1f ms\n", took * 1000);
    CHECK(took >= 0, "the owner's update never reached the cache (2 s)");

    /* a write through psql, to the table without tenant */
    const char *bindir = getenv("PG_BINDIR");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "\"%s%spsql\" -X -q -v ON_ERROR_STOP=1 \"%s\" -c \"UPDATE currencies SET rate = rate + 1 WHERE code = "
             "'USD'\"",
             bindir ? bindir : "", bindir ? "/" : "", owner_dsn);
    char *rates_before = q_rates(app, c, true, 0);
    int rc = system(cmd);
    CHECK(rc == 0, "psql exited with %d", rc);
    took = until_fresh(c, NULL, Q_RATES, 2.0, &how);
    printf("   psql's update seen after %.1f ms\n", took * 1000);
    CHECK(took >= 0, "psql's update never reached the cache (2 s)");
    r = q_rates(app, c, true, 0);
    CHECK(r != NULL && strcmp(r, rates_before) != 0, "currency_rates did not change: '%s'", r ? r : "");
    free(r);
    free(rates_before);

    /* a delete by the owner */
    owner_exec("DELETE FROM items WHERE name = 'lathe'");
    took = until_fresh(c, &ta, Q_ITEMS, 2.0, &how);
    CHECK(took >= 0, "the owner's delete never reached the cache (2 s)");
    tbegin(app, &ta);
    r = cached_q(app, c, Q_ITEMS, &how);
    CHECK(r != NULL && strstr(r, "lathe") == NULL, "the deleted row is still cached: '%s'", r ? r : "");
    free(r);
    tend(app, true);
    free(before_b);
    dbont_cache_close(c);
}

/* ---- two processes ----------------------------------------------------------------------------- */

static bool pipe_write(int fd, char ch)
{
    return write(fd, &ch, 1) == 1;
}

static char pipe_read(int fd)
{
    char ch = 0;
    ssize_t n;
    while ((n = read(fd, &ch, 1)) < 0 && errno == EINTR)
        ;
    return n == 1 ? ch : 0;
}

/* The child: its own connection and cache (same Redis, same prefix). */
static int child_main(int to_parent, int from_parent)
{
    check_passed = check_failed = 0;
    dbont_error e = {0};
    dbont_conn *conn = dbont_connect(app_dsn, &e);
    dbont_cache *c = cache_new(DBONT_CACHE_REDIS_MEMORY, "mp", 0, 0);
    int how;
    char *r;
    if (CHECK(conn != NULL, "child: connect: %s", e.message) && c != NULL) {
        tbegin(conn, &ta);
        free(cached_q(conn, c, Q_ITEMS, &how));
        r = cached_q(conn, c, Q_ITEMS, &how);
        CHECK_HOW(how, O_L1, "child: items_by_category in its L1");
        CHECK(r != NULL && strstr(r, "chisel") == NULL, "child: '%s'", r ? r : "");
        free(r);
        tend(conn, true);
        free(cached_q(conn, c, Q_RATES, &how));
        pipe_write(to_parent, 'R');
        /* the parent inserts a chisel through its cache */
        CHECK(pipe_read(from_parent) == 'M', "child: no word from the parent");
        double start = now_s(), took = -1;
        while (now_s() - start < 2.0) {
            tbegin(conn, &ta);
            r = cached_q(conn, c, Q_ITEMS, &how);
            tend(conn, true);
            bool seen = r != NULL && strstr(r, "chisel:15") != NULL;
            free(r);
            if (seen) {
                took = now_s() - start;
                break;
            }
            sleep_s(0.002);
        }
        /* through the published message, or (a subscription not up yet)
         * the version read from Redis */
        printf("   child: the parent's insert seen after %.1f ms (%llu invalidations heard)\n", took * 1000,
               (unsigned long long)stats(c).invalidations);
        CHECK(took >= 0 && took < 1.0, "child: the parent's insert not seen within 1 s (%.3f s)", took);
        CHECK_HOW(how, O_MISS, "child: the call that saw the parent's insert");
        /* and the other way: the child updates a currency */
        dbont_conn_set_cache(conn, c);
        cch_currencies row = {"JPY", 2};
        CHECK(cch_currencies_update(conn, &row, &e) == DBONT_OK, "child: update: %s", e.message);
        dbont_conn_set_cache(conn, NULL);
        pipe_write(to_parent, 'U');
    }
    dbont_cache_close(c);
    dbont_close(conn);
    long counts[2] = {check_passed, check_failed};
    if (write(to_parent, counts, sizeof counts) != (ssize_t)sizeof counts)
        return 1;
    return check_failed ? 1 : 0;
}

static void test_processes(void)
{
    int up[2], down[2];
    if (!CHECK(pipe(up) == 0 && pipe(down) == 0, "pipe"))
        return;
    owner_exec("UPDATE currencies SET rate = 1 WHERE code = 'JPY'");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        int rc = child_main(up[1], down[0]);
        fflush(stdout);
        _exit(rc);
    }
    close(up[1]);
    close(down[0]);
    if (!CHECK(pid > 0, "fork"))
        return;
    dbont_cache *c = cache_new(DBONT_CACHE_REDIS_MEMORY, "mp", 0, 0);
    int how;
    char *r;
    bool ready = CHECK(pipe_read(up[0]) == 'R', "no word from the child");
    if (c != NULL && ready) {
        /* the child's fills serve this process from Redis */
        r = cached_q(app, c, Q_RATES, &how);
        CHECK_HOW(how, O_L2, "parent: currency_rates the child cached");
        CHECK(r != NULL && strstr(r, "JPY:1,") != NULL, "parent: '%s'", r ? r : "");
        free(r);
        r = cached_q(app, c, Q_RATES, &how);
        CHECK_HOW(how, O_L1, "parent: currency_rates again");
        free(r);
        dbont_conn_set_cache(app, c);
        tbegin(app, &ta);
        cch_items_new n = {0};
        n.name = "chisel";
        n.category = "tools";
        n.price = 15;
        n.price_set = true;
        dbont_error e = {0};
        CHECK(cch_items_insert(app, &n, NULL, &e) == DBONT_OK, "parent: insert: %s", e.message);
        tend(app, true);
        dbont_conn_set_cache(app, NULL);
        pipe_write(down[1], 'M');
        CHECK(pipe_read(up[0]) == 'U', "no update from the child");
        double start = now_s(), took = -1;
        while (now_s() - start < 2.0) {
            r = cached_q(app, c, Q_RATES, &how);
            bool seen = r != NULL && strstr(r, "JPY:2,") != NULL;
            free(r);
            if (seen) {
                took = now_s() - start;
                break;
            }
            sleep_s(0.002);
        }
        printf("   parent: the child's update seen after %.1f ms\n", took * 1000);
        CHECK(took >= 0 && took < 1.0, "parent: the child's update not seen within 1 s (%.3f s)", took);
        CHECK_HOW(how, O_MISS, "parent: the call that saw the child's update");
    } else {
        pipe_write(down[1], 'X');
    }
    long counts[2] = {0, 1};
    ssize_t got = 0, n;
    while (got < (ssize_t)sizeof counts && (n = read(up[0], (char *)counts + got, sizeof counts - (size_t)got)) > 0)
        got += n;
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed (status %d)", status);
    pthread_mutex_lock(&check_lock);
    check_passed += counts[0];
    check_failed += counts[1];
    pthread_mutex_unlock(&check_lock);
    printf("   child: %ld passed, %ld failed\n", counts[0], counts[1]);
    close(up[0]);
    close(down[1]);
    dbont_cache_close(c);
}

/* ---- Redis down, Redis back ----------------------------------------------------------------------- */

static int redis_do(const char *verb)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>&1", redis_ctl, verb);
    return system(cmd);
}

/* One round of calls, each compared with the plain function; the longest
 * call in *slowest.  With l2_early (not NULL), l2's wrong results count
 * there instead: before it subscribed again, it cannot have heard of the
 * other cache's events. */
static void compare_round(dbont_cache *c, dbont_cache *l2, int *wrong, int *calls, double *slowest,
                          int *l2_hits_seen, int *l2_early)
{
    dbont_cache *both[] = {c, l2};
    for (int k = 0; k < 2; k++) {
        for (int q = 0; q < NQ; q++) {
            bool tenant = qtenant[q];
            if (tenant)
                tbegin(app, &ta);
            int how;
            double t = now_s();
            char *r = cached_q(app, both[k], q, &how);
            t = now_s() - t;
            char *plain = run_q(app, NULL, false, q);
            if (tenant)
                tend(app, true);
            (*calls)++;
            if (t > *slowest)
                *slowest = t;
            if ((r == NULL || plain == NULL || strcmp(r, plain) != 0) && k == 1 && l2_early != NULL) {
                (*l2_early)++;
            } else if (r == NULL || plain == NULL || strcmp(r, plain) != 0) {
                (*wrong)++;
                printf("   %s through the %s cache (%s, %.1f ms): '%s', the database says '%s' [inv %llu]\n", qname[q],
                       k ? "redis" : "redis+memory", oname[how], t * 1000, r ? r : "", plain ? plain : "",
                       (unsigned long long)stats(both[k]).invalidations);
            }
            if (how == O_L2 && l2_hits_seen)
                (*l2_hits_seen)++;
            free(r);
            free(plain);
        }
    }
}

/* Waits (up to limit seconds) until cache k has applied an event more than
 * it had (before): another cache's bump reaches it through Redis pub/sub,
 * which takes a moment (more on a loaded machine). */
static bool wait_heard(dbont_cache *k, uint64_t before, double limit)
{
    double start = now_s();
    while (stats(k).invalidations <= before) {
        if (now_s() - start > limit)
            return false;
        sleep_s(0.001);
    }
    return true;
}

/* Waits until listener hears sender's events (its subscription is up). */
static bool wait_subscribed(dbont_cache *listener, dbont_cache *sender, double limit)
{
    double start = now_s();
    while (now_s() - start < limit) {
        uint64_t before = stats(listener).invalidations;
        dbont_cache_invalidate(sender, TC, "tag:deleted");
        if (wait_heard(listener, before, 0.1))
            return true;
    }
    return false;
}

/* ---- keys and bumps, as Redis sees them ------------------------------------------------------------ */

static redisReply *admin(redisContext *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *reply = redisvCommand(r, fmt, ap);
    va_end(ap);
    return reply;
}

/* calls=N of a command in INFO commandstats (0 when it never ran). */
static long long command_calls(redisContext *r, const char *command)
{
    redisReply *reply = admin(r, "INFO commandstats");
    long long calls = -1;
    if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
        char needle[64];
        snprintf(needle, sizeof needle, "cmdstat_%s:calls=", command);
        const char *at = strstr(reply->str, needle);
        calls = at != NULL ? atoll(at + strlen(needle)) : 0;
    }
    freeReplyObject(reply);
    return calls;
}

static long long version_in_redis(redisContext *r, const char *key)
{
    redisReply *reply = admin(r, "GET %s", key);
    long long v = reply != NULL && reply->type == REDIS_REPLY_STRING ? atoll(reply->str) : -1;
    freeReplyObject(reply);
    return v;
}

/* The one key of a query under prefix "kb", or NULL (malloc'd). */
static char *only_key(redisContext *r, const char *query)
{
    redisReply *reply = admin(r, "KEYS kb:q:%s_query:*", query); /* a test: the runtime never lists keys */
    char *key = NULL;
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 1)
        key = strdup(reply->element[0]->str);
    else
        CHECK(false, "%s: expected one key in Redis, found %zu", query,
              reply != NULL && reply->type == REDIS_REPLY_ARRAY ? reply->elements : (size_t)0);
    freeReplyObject(reply);
    return key;
}

static bool ends_with(const char *s, const char *end)
{
    size_t n = strlen(s), m = strlen(end);
    return n >= m && strcmp(s + n - m, end) == 0;
}

static void test_keys_and_bumps(void)
{
    redisContext *r = redisConnect(redis_host, redis_port);
    if (!CHECK(r != NULL && r->err == 0, "admin connection to Redis"))
        goto out;
    dbont_cache *c = cache_new(DBONT_CACHE_REDIS, "kb", 0, 0);
    dbont_cache *other = cache_new(DBONT_CACHE_REDIS_MEMORY, "kb", 0, 0);
    if (c == NULL || other == NULL)
        goto close;

    /* the parameters' text forms: "=<values>" then the rendered template */
    int how;
    tbegin(app, &ta);
    char *rows = cached_items(app, c, "hand tools", &how);
    free(rows);
    rows = q_names(app, c, true, 15);
    free(rows);
    tend(app, true);
    char *key = only_key(r, "items_by_category");
    if (key != NULL) {
        printf("   %s\n", key);
        CHECK(strstr(key, ":" TA ":") != NULL, "the key carries the tenant: %s", key);
        CHECK(ends_with(key, ":=hand%20tools:items:hand%20tools"), "items_by_category's key ends with "
              "\":=hand%%20tools:items:hand%%20tools\": %s", key);
    }
    free(key);
    key = only_key(r, "item_names");
    if (key != NULL) {
        printf("   %s\n", key);
        CHECK(ends_with(key, ":=15"), "item_names(15): the bigint as text, no template: %s", key);
    }
    free(key);

    /* a bump: one EVAL (INCR, PUBLISH inside), one round trip, heard by
     * the other cache */
    CHECK(wait_subscribed(other, c, 2.0), "the other cache's subscription is up");
    const char *vkey = "kb:v::currency:updated";
    long long v0 = version_in_redis(r, vkey);
    long long evals = command_calls(r, "eval");
    dbont_cache_stats s0 = stats(c), o0 = stats(other);
    dbont_cache_invalidate(c, "", "currency:updated");
    dbont_cache_stats s1 = stats(c);
    CHECK(s1.redis_calls - s0.redis_calls == 1, "an invalidation is one round trip (%llu)",
          (unsigned long long)(s1.redis_calls - s0.redis_calls));
    CHECK(command_calls(r, "eval") == evals + 1, "... an EVAL");
    CHECK(version_in_redis(r, vkey) == (v0 > 0 ? v0 : 0) + 1, "the version in Redis went up by one: %lld -> %lld",
          v0, version_in_redis(r, vkey));
    CHECK(wait_heard(other, o0.invalidations, 1.0), "the other cache heard it");
    CHECK(s1.errors == s0.errors, "no error");

    /* a Redis that refuses scripts: INCR then PUBLISH, still no error */
    redisReply *acl = admin(r, "ACL SETUSER default -eval");
    bool denied = CHECK(acl != NULL && acl->type == REDIS_REPLY_STATUS, "ACL SETUSER default -eval");
    freeReplyObject(acl);
    if (denied) {
        long long v1 = version_in_redis(r, vkey);
        o0 = stats(other);
        s0 = stats(c);
        dbont_cache_invalidate(c, "", "currency:updated");
        s1 = stats(c);
        CHECK(s1.redis_calls - s0.redis_calls == 3, "refused: EVAL, INCR, PUBLISH (%llu round trips)",
              (unsigned long long)(s1.redis_calls - s0.redis_calls));
        CHECK(version_in_redis(r, vkey) == v1 + 1, "refused: the version still went up by one");
        CHECK(wait_heard(other, o0.invalidations, 1.0), "refused: the other cache still heard it");
        CHECK(s1.errors == s0.errors, "refused: not an error (%llu)", (unsigned long long)(s1.errors - s0.errors));
        acl = admin(r, "ACL SETUSER default +eval");
        CHECK(acl != NULL && acl->type == REDIS_REPLY_STATUS, "ACL SETUSER default +eval");
        freeReplyObject(acl);
        s0 = stats(c);
        dbont_cache_invalidate(c, "", "currency:updated");
        CHECK(stats(c).redis_calls - s0.redis_calls == 1, "allowed again: one round trip");
        CHECK(version_in_redis(r, vkey) == v1 + 2, "allowed again: the version went up by one");
    }
close:
    dbont_cache_close(other);
    dbont_cache_close(c);
out:
    if (r != NULL)
        redisFree(r);
}

static void test_redis_down(void)
{
    if (!CHECK(redis_ctl != NULL && *redis_ctl, "REDIS_CTL is not set (dbont_add_redis_test PRIVATE)"))
        return;
    dbont_cache *c = cache_new(DBONT_CACHE_REDIS_MEMORY, "rd", 0, 0);
    dbont_cache *l2 = cache_new(DBONT_CACHE_REDIS, "rd", 0, 0);
    if (c == NULL || l2 == NULL)
        return;
    dbont_conn_set_cache(app, c);
    int wrong = 0, calls = 0, how;
    double slowest = 0;
    dbont_error e = {0};
    CHECK(wait_subscribed(l2, c, 5.0), "the redis cache does not hear the other's events");

    /* entries under several versions: a first fill, an event, a second */
    compare_round(c, l2, &wrong, &calls, &slowest, NULL, NULL);
    tbegin(app, &ta);
    cch_items_new n = {0};
    n.name = "vise";
    n.category = "tools";
    n.price = 33;
    n.price_set = true;
    uint64_t heard = stats(l2).invalidations;
    CHECK(cch_items_insert(app, &n, NULL, &e) == DBONT_OK, "insert: %s", e.message);
    tend(app, true);
    CHECK(wait_heard(l2, heard, 2.0), "the redis cache did not hear of the insert within 2 s");
    compare_round(c, l2, &wrong, &calls, &slowest, NULL, NULL);
    compare_round(c, l2, &wrong, &calls, &slowest, NULL, NULL);
    CHECK(wrong == 0, "%d of %d results wrong with Redis up", wrong, calls);
    dbont_cache_stats a = stats(c), al2 = stats(l2);
    CHECK(a.l2_hits + al2.l2_hits > 0 && a.errors == 0 && al2.errors == 0, "Redis up: l2 hits %llu, errors %llu",
          (unsigned long long)(a.l2_hits + al2.l2_hits), (unsigned long long)(a.errors + al2.errors));

    /* Redis stops: every call still right, and quick */
    CHECK(redis_do("stop") == 0, "REDIS_CTL stop failed");
    wrong = calls = 0;
    slowest = 0;
    double down = now_s();
    cch_items_rows hr = {0};
    for (int round = 0; now_s() - down < 0.6 || round < 4; round++) {
        compare_round(c, l2, &wrong, &calls, &slowest, NULL, NULL);
        /* a write while Redis is down: this process's L1 must not serve
         * the old rows */
        tbegin(app, &ta);
        if (cch_items_get(app, owner_int("SELECT id FROM items WHERE name = 'hammer'"), &hr, &e) == DBONT_OK) {
            hr.rows[0].price += 1;
            CHECK(cch_items_update(app, &hr.rows[0], &e) == DBONT_OK, "update while down: %s", e.message);
        }
        cch_items_rows_free(&hr);
        tend(app, true);
    }
    dbont_cache_stats b = stats(c), bl2 = stats(l2);
    printf("   Redis down: %d calls, %d wrong, slowest %.1f ms; errors %llu (redis+memory), %llu (redis), "
           "bypassed %llu\n",
           calls, wrong, slowest * 1000, (unsigned long long)(b.errors - a.errors),
           (unsigned long long)(bl2.errors - al2.errors), (unsigned long long)(bl2.bypassed - al2.bypassed));
    CHECK(wrong == 0, "%d of %d results wrong with Redis down", wrong, calls);
    CHECK(slowest < 1.0, "a call took %.3f s with Redis down", slowest);
    CHECK(b.errors > a.errors && bl2.errors > al2.errors, "the error counters did not rise: %llu -> %llu, %llu -> %llu",
          (unsigned long long)a.errors, (unsigned long long)b.errors, (unsigned long long)al2.errors,
          (unsigned long long)bl2.errors);

    /* Redis is back (empty: it keeps nothing on disk) */
    CHECK(redis_do("start") == 0, "REDIS_CTL start failed");
    double back = now_s(), resumed = -1, refilled = -1, resubscribed = -1;
    wrong = calls = 0;
    slowest = 0;
    /* a cache that was not there before: the one that hears c's events */
    dbont_cache *fresh = cache_new(DBONT_CACHE_REDIS, "rd", 0, 0);
    int after = 0, l2_early = 0; /* rounds once everything is back */
    /* l2 is up to date once it heard one of c's bumps since both are back:
     * a bump c made while it could not reach Redis (its backoff may end
     * after l2's) is c's alone until its next one (docs/caching.md) */
    bool l2_synced = false;
    for (int round = 0; now_s() - back < 15 && after < 5; round++) {
        if (resumed >= 0 && refilled >= 0 && resubscribed >= 0 && l2_synced)
            after++;
        /* both caches subscribed again (so they read their versions from
         * the Redis that lost them): they hear another cache's event */
        if (fresh != NULL && resubscribed < 0) {
            dbont_cache_stats x = stats(c), y = stats(l2);
            dbont_cache_invalidate(fresh, TC, "tag:deleted");
            sleep_s(0.01);
            if (stats(c).invalidations > x.invalidations && stats(l2).invalidations > y.invalidations)
                resubscribed = now_s() - back;
        }
        int l2_seen = 0;
        compare_round(c, l2, &wrong, &calls, &slowest, &l2_seen, l2_synced ? NULL : &l2_early);
        if (l2_seen > 0 && resumed < 0)
            resumed = now_s() - back;
        /* what c fills now reaches Redis: a cache that never saw it gets
         * an L2 hit (a query of the currencies, whose versions no event
         * moved: after Redis lost them, this process and a new one agree) */
        dbont_cache_stats x = stats(c);
        free(q_rates(app, c, true, -1000 - round));
        dbont_cache_stats y = stats(c);
        if (outcome(&x, &y) == O_MISS) {
            if (fresh != NULL) {
                x = stats(fresh);
                free(q_rates(app, fresh, true, -1000 - round));
                y = stats(fresh);
                if (outcome(&x, &y) == O_L2 && refilled < 0)
                    refilled = now_s() - back;
            }
        }
        /* and writes keep invalidating (l2 hears of them when it is
         * subscribed again) */
        uint64_t before = stats(l2).invalidations;
        tbegin(app, &ta);
        if (cch_items_get(app, owner_int("SELECT id FROM items WHERE name = 'hammer'"), &hr, &e) == DBONT_OK) {
            hr.rows[0].price += 1;
            CHECK(cch_items_update(app, &hr.rows[0], &e) == DBONT_OK, "update: %s", e.message);
        }
        cch_items_rows_free(&hr);
        tend(app, true);
        if (resubscribed >= 0 && refilled >= 0 && wait_heard(l2, before, 1.0))
            l2_synced = true;
        sleep_s(0.05);
    }
    printf("   Redis back: L2 hits again after %.2f s, c's fills in Redis after %.2f s, both subscribed again "
           "after %.2f s; %d calls, %d wrong, slowest %.1f ms (and %d stale from the redis cache before it "
           "heard from the other again)\n",
           resumed, refilled, resubscribed, calls, wrong, slowest * 1000, l2_early);
    {
        dbont_cache_stats x = stats(c), y = stats(l2);
        printf("   c: hits %llu/%llu misses %llu fills %llu bypassed %llu errors %llu; l2: l2 hits %llu misses %llu "
               "bypassed %llu errors %llu\n",
               (unsigned long long)x.l1_hits, (unsigned long long)x.l2_hits, (unsigned long long)x.misses,
               (unsigned long long)x.fills, (unsigned long long)x.bypassed, (unsigned long long)x.errors,
               (unsigned long long)y.l2_hits, (unsigned long long)y.misses, (unsigned long long)y.bypassed,
               (unsigned long long)y.errors);
    }
    CHECK(resumed >= 0, "no L2 hit within 15 s of Redis being back");
    CHECK(refilled >= 0, "the redis+memory cache did not fill Redis again within 15 s");
    CHECK(resubscribed >= 0 && l2_synced, "the caches did not hear each other's events within 15 s");
    CHECK(wrong == 0, "%d of %d results wrong after Redis came back", wrong, calls);
    /* settled: the usual hit and miss */
    wrong = calls = 0;
    compare_round(c, l2, &wrong, &calls, &slowest, NULL, NULL);
    tbegin(app, &ta);
    free(cached_q(app, c, Q_ITEMS, &how));
    char *r = cached_q(app, c, Q_ITEMS, &how);
    CHECK_HOW(how, O_L1, "redis+memory after Redis came back");
    free(r);
    r = cached_q(app, l2, Q_ITEMS, &how);
    CHECK_HOW(how, O_L2, "redis after Redis came back");
    free(r);
    tend(app, true);
    CHECK(wrong == 0, "%d of %d results wrong at the end", wrong, calls);
    dbont_conn_set_cache(app, NULL);
    dbont_cache_close(fresh);
    dbont_cache_close(l2);
    dbont_cache_close(c);
}

/* ---- main ---------------------------------------------------------------------------------------- */

static bool seed(void)
{
    return owner_exec("INSERT INTO items (tenant_id, name, category, price) VALUES "
                      "('" TA "', 'hammer', 'tools', 10), ('" TA "', 'saw', 'tools', 25), "
                      "('" TA "', 'apple', 'food', 2), ('" TB "', 'wrench', 'tools', 30), "
                      "('" TB "', 'pear', 'food', 3)") &&
           owner_exec("INSERT INTO tags (tenant_id, item_id, label) SELECT tenant_id, id, CASE name WHEN 'hammer' "
                      "THEN 'steel' WHEN 'saw' THEN 'sharp' ELSE 'heavy' END FROM items WHERE name IN ('hammer', "
                      "'saw', 'wrench') ORDER BY id") &&
           owner_exec("INSERT INTO currencies VALUES ('EUR', 100), ('USD', 90), ('JPY', 1)") &&
           owner_exec("INSERT INTO items (tenant_id, name, category, price) SELECT '" TC
                      "', format('c-item-%s', lpad(k::text, 2, '0')), 'tools', k * 25 FROM generate_series(0, 39) k");
}

int main(void)
{
    owner_dsn = getenv("DATABASE_URL");
    app_dsn = getenv("APP_DATABASE_URL");
    redis_host = getenv("REDIS_HOST");
    const char *port = getenv("REDIS_PORT");
    redis_ctl = getenv("REDIS_CTL");
    if (!owner_dsn || !app_dsn || !redis_host || !port) {
        fprintf(stderr, "test_cache: set DATABASE_URL, APP_DATABASE_URL, REDIS_HOST and REDIS_PORT "
                        "(ctest does, through dbont_add_redis_test PRIVATE PG)\n");
        return 2;
    }
    redis_port = atoi(port);
    dbont_uuid_parse(TA, &ta);
    dbont_uuid_parse(TB, &tb);
    dbont_uuid_parse(TC, &tc);
    owner = PQconnectdb(owner_dsn);
    dbont_error e = {0};
    app = dbont_connect(app_dsn, &e);
    if (PQstatus(owner) != CONNECTION_OK || app == NULL) {
        fprintf(stderr, "test_cache: cannot connect: %s / %s\n", PQerrorMessage(owner), e.message);
        return 1;
    }
    PGresult *quiet = PQexec(owner, "SET client_min_messages = warning");
    PQclear(quiet);
    if (!CHECK(seed(), "seeding")) {
        threadcheck_summary();
        return 1;
    }

    double total = now_s(), t0 = 0;
    section("hit_miss", &t0);
    test_hit_miss();
    section("tenants", &t0);
    test_tenants();
    section("warm", &t0);
    test_warm();
    section("ttl", &t0);
    test_ttl();
    section("single_flight", &t0);
    test_single_flight();
    section("byte_bound", &t0);
    test_byte_bound();
    section("events", &t0);
    test_events();
    section("trigger", &t0);
    test_trigger();
    section("processes", &t0);
    test_processes();
    section("keys_and_bumps", &t0);
    test_keys_and_bumps();
    section("redis_down", &t0);
    test_redis_down();
    section(NULL, &t0);
    printf("total %.2f s\n", now_s() - total);

    dbont_close(app);
    PQfinish(owner);
    return threadcheck_summary() ? 1 : 0;
}
