/*
 * cache.c: `dbont-bench cache`, the caching benchmark (docs/performance.md,
 * "Caching").  Each figure is set against a baseline timed in the same
 * program, on the same inputs, the two sides cut into slices run in turn
 * (A B, B A, ...) as `dbont-bench run` does, with medians over rounds:
 *
 *   L1       a hit of bench_user_by_id_query_cached() (C1 in bench.ttl, a
 *            primary-key lookup marked db:cacheable) on a memory cache,
 *            against the plain bench_user_by_id_query() on PostgreSQL;
 *   THREADS  L1 hits of that call from 1 thread and from 2 threads on one
 *            cache, each thread on a connection of its own; keys distinct
 *            per thread, then shared by both;
 *   L2       a hit of the same call on a Redis-only cache, against a raw
 *            hiredis GET of the same keys (so of values of the same size) on
 *            a connection of its own;
 *   INV      dbont_cache_invalidate() (one EVAL: INCR and PUBLISH), against
 *            deleting the same entries with SCAN MATCH + DEL among
 *            --inv-total keys.
 *
 * L2 and INV need a Redis of their own (they FLUSHALL it): REDIS_HOST and
 * REDIS_PORT, as tests/redis/with-redis.sh --private exports them; without
 * them they are skipped with a note.  dbont_l1_get alone (no key building,
 * no decoding) is timed by dbont-bench-l1 (l1raw.c).
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "bench.h" /* generated */
#include "bm.h"

/* bench.ttl's cache:backend, which the L1 and THREADS parts open (L2 and
 * INV open a Redis-only cache for the same query, as an application
 * that chose "redis" would). */
_Static_assert(BENCH_CACHE_BACKEND == DBONT_CACHE_MEMORY,
               "bench.ttl's cache:backend must be \"memory\": the L1 and THREADS parts time that level");

#define MAX_ROUNDS BM_MAX_ROUNDS
#define KEY_PREFIX "dbont-bench"
/* The entries of the cached query, in Redis (docs/caching.md, "Keys"). */
#define QUERY_PATTERN KEY_PREFIX ":q:user_by_id_query:*"
#define INV_EVENT "user:updated"

static const char usage[] =
    "usage: dbont-bench cache [--rounds N] [--slices N] [--only L1,THREADS,L2,INV] [--keys N] [--plain N]\n"
    "                         [--hits N] [--thread-ops N] [--l2 N] [--l2-keys N] [--inv-keys N]\n"
    "                         [--inv-total N] [--md FILE]\n";

typedef struct bench {
    dbont_conn *conn;
    size_t rounds, slices;
    int64_t *ids; /* the users W1 looks up (bm_w1_user), as many as the largest key set */
    size_t nids;
    const char *redis_host;
    int redis_port;
    FILE *md;
} bench;

/* ---- small helpers ------------------------------------------------------ */

static void die_dbont(const char *what, const dbont_error *err)
{
    bm_die("%s: %s (SQLSTATE %s)", what, err->message, err->sqlstate);
}

static uint64_t fold_rows(const bench_user_by_id_query_rows *rows, uint64_t sum)
{
    for (size_t k = 0; k < rows->count; k++) {
        sum = bm_mix(sum, (uint64_t)rows->rows[k].id);
        sum = bm_mix_str(sum, rows->rows[k].email);
        sum = bm_mix_str(sum, rows->rows[k].username);
    }
    return sum;
}

static const char *verdict(double ratio, double target)
{
    return ratio >= target ? "met" : "MISSED";
}

static int64_t *make_ids(size_t n, int64_t nusers)
{
    int64_t *ids = malloc(n * sizeof *ids);
    if (!ids)
        bm_die("out of memory");
    for (size_t i = 0; i < n; i++)
        ids[i] = bm_w1_user(i, nusers);
    return ids;
}

static dbont_cache *open_cache(const bench *b, dbont_cache_backend backend)
{
    dbont_cache_options o = DBONT_CACHE_OPTIONS_INIT;
    o.backend = backend;
    o.key_prefix = KEY_PREFIX;
    if (backend != DBONT_CACHE_MEMORY) {
        o.redis_host = b->redis_host;
        o.redis_port = b->redis_port;
    }
    dbont_error err;
    dbont_cache *c = dbont_cache_open(&o, &err);
    if (!c)
        die_dbont("dbont_cache_open", &err);
    return c;
}

static dbont_cache_stats stats_of(dbont_cache *c)
{
    dbont_cache_stats s;
    dbont_cache_stats_get(c, &s);
    return s;
}

/* ---- the lookups ---------------------------------------------------------- */

typedef struct lookups {
    dbont_conn *conn;
    dbont_cache *cache;  /* NULL: the plain call */
    const int64_t *ids;
    size_t nkeys;        /* operation i reads ids[(start + i) % nkeys] */
    size_t start;
} lookups;

static uint64_t run_lookups(const lookups *l, size_t from, size_t n)
{
    uint64_t sum = 0;
    dbont_error err;
    for (size_t i = from; i < from + n; i++) {
        int64_t id = l->ids[(l->start + i) % l->nkeys];
        bench_user_by_id_query_rows rows;
        dbont_status st = l->cache ? bench_user_by_id_query_cached(l->conn, l->cache, id, &rows, &err)
                                   : bench_user_by_id_query(l->conn, id, &rows, &err);
        if (st != DBONT_OK)
            die_dbont(l->cache ? "bench_user_by_id_query_cached" : "bench_user_by_id_query", &err);
        if (rows.count != 1 || rows.rows[0].id != id)
            bm_die("user %lld: %zu rows (first: %lld), expected that one user", (long long)id, rows.count,
                   rows.count ? (long long)rows.rows[0].id : 0);
        sum = fold_rows(&rows, sum);
        bench_user_by_id_query_rows_free(&rows);
    }
    return sum;
}

/* Untimed: for each of the first n keys, the cached call (twice: a miss
 * that fills, then a hit) returns the rows the plain call does. */
static void check_cached(const lookups *cached, size_t n, const char *what)
{
    dbont_error err;
    for (size_t i = 0; i < n; i++) {
        int64_t id = cached->ids[(cached->start + i) % cached->nkeys];
        bench_user_by_id_query_rows plain;
        if (bench_user_by_id_query(cached->conn, id, &plain, &err) != DBONT_OK)
            die_dbont("bench_user_by_id_query", &err);
        for (int pass = 0; pass < 2; pass++) {
            bench_user_by_id_query_rows rows;
            if (bench_user_by_id_query_cached(cached->conn, cached->cache, id, &rows, &err) != DBONT_OK)
                die_dbont("bench_user_by_id_query_cached", &err);
            bool same = rows.count == plain.count;
            for (size_t k = 0; same && k < rows.count; k++)
                same = rows.rows[k].id == plain.rows[k].id &&
                       !strcmp(rows.rows[k].email, plain.rows[k].email) &&
                       !strcmp(rows.rows[k].username, plain.rows[k].username);
            if (!same)
                bm_die("%s: user %lld: the cached call (%s) returned %zu rows (first: %lld %s %s), the plain call %zu "
                       "(first: %lld %s %s)",
                       what, (long long)id, pass ? "hit" : "miss", rows.count,
                       rows.count ? (long long)rows.rows[0].id : 0,
                       rows.count ? rows.rows[0].email : "", rows.count ? rows.rows[0].username : "", plain.count,
                       plain.count ? (long long)plain.rows[0].id : 0, plain.count ? plain.rows[0].email : "",
                       plain.count ? plain.rows[0].username : "");
            bench_user_by_id_query_rows_free(&rows);
        }
        bench_user_by_id_query_rows_free(&plain);
    }
}

static uint64_t op_lookups(void *ctx, size_t from, size_t n)
{
    return run_lookups(ctx, from, n);
}

/* ---- two sides in alternating slices --------------------------------------- */

typedef uint64_t (*op_fn)(void *ctx, size_t from, size_t n);

typedef struct side {
    op_fn fn;
    void *ctx;
    size_t n;                 /* operations per round */
    double rate[MAX_ROUNDS];  /* operations per second, each round */
    double cpu[MAX_ROUNDS];   /* CPU seconds of this thread per operation, each round */
    double csw[MAX_ROUNDS];   /* context switches of the process per operation, each round */
    uint64_t sum;             /* checksum of a round: the same in every round */
} side;

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs a and b for `rounds` rounds, each side's operations cut into
 * `slices` slices run in turn, A B, B A, ..., the first side changing from
 * round to round, so that a slow second of the machine costs both alike. */
static void run_pair(side *a, side *b, size_t rounds, size_t slices, const char *what)
{
    side *sides[2] = {a, b};
    for (size_t r = 0; r < rounds; r++) {
        double sec[2] = {0, 0}, cpu[2] = {0, 0}, csw[2] = {0, 0};
        uint64_t sum[2] = {0, 0};
        for (size_t s = 0; s < slices; s++)
            for (size_t j = 0; j < 2; j++) {
                size_t k = (j + s + r) % 2;
                side *x = sides[k];
                size_t lo = x->n * s / slices, hi = x->n * (s + 1) / slices;
                struct rusage u0, u1;
                getrusage(RUSAGE_SELF, &u0);
                double c0 = thread_cpu(), t0 = bm_now();
                sum[k] += x->fn(x->ctx, lo, hi - lo);
                sec[k] += bm_now() - t0;
                cpu[k] += thread_cpu() - c0;
                getrusage(RUSAGE_SELF, &u1);
                csw[k] += (double)((u1.ru_nvcsw - u0.ru_nvcsw) + (u1.ru_nivcsw - u0.ru_nivcsw));
            }
        for (size_t k = 0; k < 2; k++) {
            side *x = sides[k];
            x->rate[r] = (double)x->n / sec[k];
            x->cpu[r] = cpu[k] / (double)x->n;
            x->csw[r] = csw[k] / (double)x->n;
            if (r == 0)
                x->sum = sum[k];
            else if (sum[k] != x->sum)
                bm_die("%s: a round read other rows than the first (checksums %llx, %llx)", what,
                       (unsigned long long)x->sum, (unsigned long long)sum[k]);
        }
        printf(" %zu", r + 1);
        fflush(stdout);
    }
    printf("\n");
}

/* The ratios a/b of each round's rates. */
static bm_summary ratio_rounds(const side *a, const side *b, size_t rounds)
{
    double v[MAX_ROUNDS];
    for (size_t r = 0; r < rounds; r++)
        v[r] = a->rate[r] / b->rate[r];
    return bm_summarize(v, rounds);
}

/* ---- the table of the pinned parts (L1, L2, INV) ------------------------------ */

static bool table_started;

/* ours_cpu, base_cpu: the client's CPU seconds per operation (< 0: not measured). */
static void table_row(const bench *b, const char *what, double ours_s, double base_s, bm_summary per_round,
                      double ours_cpu, double base_cpu, const char *target)
{
    char t1[32], t2[32], r1[32], r2[32], c1[32], c2[32], cpu[80] = "";
    double ratio = base_s / ours_s;
    if (ours_cpu >= 0 && base_cpu >= 0)
        snprintf(cpu, sizeof cpu, "%s / %s", bm_dur(c1, sizeof c1, ours_cpu), bm_dur(c2, sizeof c2, base_cpu));
    printf("  %s\n    %12s %12s %9.2fx  (per round %.2f, %.2f-%.2f)%s%s%s%s\n", what, bm_dur(t1, sizeof t1, ours_s),
           bm_dur(t2, sizeof t2, base_s), ratio, per_round.med, per_round.min, per_round.max, *cpu ? "  client CPU " : "",
           cpu, *target ? "  " : "", target);
    if (!b->md)
        return;
    if (!table_started) {
        fprintf(b->md, "| measurement | dbont | baseline | baseline time / dbont time | per round (median, "
                       "min-max) | client CPU per operation, dbont / baseline | target |\n"
                       "|---|---:|---:|---:|---:|---:|---|\n");
        table_started = true;
    }
    fprintf(b->md, "| %s | %s (%s/s) | %s (%s/s) | %.2fx | %.2fx (%.2f-%.2f) | %s | %s |\n", what,
            bm_dur(t1, sizeof t1, ours_s), bm_num(r1, sizeof r1, 1 / ours_s), bm_dur(t2, sizeof t2, base_s),
            bm_num(r2, sizeof r2, 1 / base_s), ratio, per_round.med, per_round.min, per_round.max, cpu, target);
}

/* Lines written under the table. */
static char notes[8][600];
static size_t nnotes;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    if (nnotes == sizeof notes / sizeof notes[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(notes[nnotes], sizeof notes[0], fmt, ap);
    va_end(ap);
    printf("  (%s)\n", notes[nnotes]);
    nnotes++;
}

/* ---- L1: a hit against the plain call -------------------------------------------- */

static void part_l1(const bench *b, size_t nkeys, size_t nplain, size_t nhits)
{
    printf("L1: %zu keys; per round %zu hits of bench_user_by_id_query_cached() (memory cache) against %zu "
           "plain calls\n  rounds:",
           nkeys, nhits, nplain);
    dbont_cache *cache = open_cache(b, BENCH_CACHE_BACKEND);
    lookups plain = {b->conn, NULL, b->ids, nkeys, 0};
    lookups cached = {b->conn, cache, b->ids, nkeys, 0};

    check_cached(&cached, nkeys, "L1");
    dbont_cache_stats st = stats_of(cache);
    if (st.fills != nkeys || st.l1_hits != nkeys || st.misses != nkeys)
        bm_die("L1: after filling, %llu fills, %llu hits, %llu misses; expected %zu of each",
               (unsigned long long)st.fills, (unsigned long long)st.l1_hits, (unsigned long long)st.misses, nkeys);

    side hit = {op_lookups, &cached, nhits, {0}, {0}, {0}, 0};
    side base = {op_lookups, &plain, nplain, {0}, {0}, {0}, 0};
    run_pair(&hit, &base, b->rounds, b->slices, "L1");
    dbont_cache_stats after = stats_of(cache);
    if (after.l1_hits - st.l1_hits != (uint64_t)(nhits * b->rounds) || after.misses != st.misses)
        bm_die("L1: the timed calls were not all hits (%llu hits, %llu misses)",
               (unsigned long long)(after.l1_hits - st.l1_hits), (unsigned long long)(after.misses - st.misses));

    bm_summary h = bm_summarize(hit.rate, b->rounds), p = bm_summarize(base.rate, b->rounds);
    char what[300];
    char n1[32], n2[32];
    snprintf(what, sizeof what,
             "L1 hit: `bench_user_by_id_query_cached()`, memory cache of %s entries (%s bytes) / the plain "
             "`bench_user_by_id_query()` on PostgreSQL (a primary-key lookup)",
             bm_num(n1, sizeof n1, (double)after.entries), bm_num(n2, sizeof n2, (double)after.bytes));
    table_row(b, what, 1 / h.med, 1 / p.med, ratio_rounds(&hit, &base, b->rounds), bm_summarize(hit.cpu, b->rounds).med,
              bm_summarize(base.cpu, b->rounds).med, "");
    dbont_cache_close(cache);
}

/* ---- THREADS: L1 hits from 1 and 2 threads ----------------------------------------- */

static double self_cpu(const struct rusage *u)
{
    return (double)u->ru_utime.tv_sec + (double)u->ru_utime.tv_usec * 1e-6 + (double)u->ru_stime.tv_sec +
           (double)u->ru_stime.tv_usec * 1e-6;
}

typedef struct worker {
    pthread_t thread;
    pthread_barrier_t *go;
    lookups l;
    size_t ops;
    uint64_t sum;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(w->go);
    w->sum = run_lookups(&w->l, 0, w->ops);
    return NULL;
}

typedef struct threads_run {
    double rate;       /* hits per second, all threads together */
    double switches;   /* context switches (voluntary + involuntary) per 1,000 hits */
    double seconds;
    double other_cpu;  /* CPU seconds other processes took meanwhile (NAN: unknown) */
} threads_run;

/* nthreads threads, each doing `ops` cached calls; shared: every thread
 * reads all nkeys keys (from a different starting point), else thread t
 * reads its own nkeys / 2 (the 1-thread run reads the first half). */
static threads_run run_threads(const bench *b, dbont_cache *cache, dbont_conn **conns, size_t nthreads, bool shared,
                               size_t nkeys, size_t ops)
{
    worker w[2];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)nthreads + 1);
    for (size_t t = 0; t < nthreads; t++) {
        w[t].go = &go;
        w[t].ops = ops;
        w[t].l = (lookups){conns[t], cache, b->ids, nkeys, nkeys * t / 2};
        if (!shared)
            w[t].l = (lookups){conns[t], cache, b->ids + nkeys / 2 * t, nkeys / 2, 0};
        if (pthread_create(&w[t].thread, NULL, worker_main, &w[t]) != 0)
            bm_die("cannot start a thread");
    }
    struct rusage u0, u1;
    getrusage(RUSAGE_SELF, &u0);
    double b0 = bm_machine_busy();
    pthread_barrier_wait(&go);
    double t0 = bm_now();
    for (size_t t = 0; t < nthreads; t++)
        pthread_join(w[t].thread, NULL);
    double t1 = bm_now();
    double b1 = bm_machine_busy();
    getrusage(RUSAGE_SELF, &u1);
    pthread_barrier_destroy(&go);
    double total = (double)(ops * nthreads);
    long sw = (u1.ru_nvcsw - u0.ru_nvcsw) + (u1.ru_nivcsw - u0.ru_nivcsw);
    /* /proc/stat counts in clock ticks: a run's figure may come out a
     * little below 0, which the average over runs evens out */
    /* in clock ticks: one run's figure may come out a little below 0,
     * which the average over the runs evens out */
    double other = b0 >= 0 && b1 >= 0 ? (b1 - b0) - (self_cpu(&u1) - self_cpu(&u0)) : NAN;
    threads_run r = {total / (t1 - t0), (double)sw * 1000.0 / total, t1 - t0, other};
    return r;
}

static void part_threads(const bench *b, size_t nkeys, size_t ops)
{
    printf("THREADS: %zu keys; per run %zu hits of bench_user_by_id_query_cached() per thread, 1 thread "
           "against 2 threads on one memory cache\n",
           nkeys, ops);
    dbont_cache *cache = open_cache(b, BENCH_CACHE_BACKEND);
    dbont_conn *conns[2] = {b->conn, NULL};
    dbont_error err;
    if (!(conns[1] = dbont_connect(NULL, &err)))
        die_dbont("connect", &err);
    lookups fill = {b->conn, cache, b->ids, nkeys, 0};
    run_lookups(&fill, 0, nkeys);
    dbont_cache_stats st = stats_of(cache);
    if (st.fills != nkeys)
        bm_die("THREADS: %llu fills, expected %zu", (unsigned long long)st.fills, nkeys);

    static const char *const modes[] = {"distinct", "shared"};
    double other_cpu = 0, other_seconds = 0;
    bool other_known = true;
    for (size_t m = 0; m < 2; m++) {
        bool shared = m == 1;
        double one[MAX_ROUNDS], two[MAX_ROUNDS], ratio[MAX_ROUNDS], sw1 = 0, sw2 = 0;
        printf("  %s keys, rounds:", modes[m]);
        for (size_t r = 0; r < b->rounds; r++) {
            /* the order alternates between rounds */
            threads_run x1, x2;
            if (r % 2 == 0) {
                x1 = run_threads(b, cache, conns, 1, shared, nkeys, ops);
                x2 = run_threads(b, cache, conns, 2, shared, nkeys, ops);
            } else {
                x2 = run_threads(b, cache, conns, 2, shared, nkeys, ops);
                x1 = run_threads(b, cache, conns, 1, shared, nkeys, ops);
            }
            one[r] = x1.rate;
            two[r] = x2.rate;
            ratio[r] = x2.rate / x1.rate;
            sw1 += x1.switches;
            sw2 += x2.switches;
            other_known = other_known && !isnan(x1.other_cpu) && !isnan(x2.other_cpu);
            other_cpu += x1.other_cpu + x2.other_cpu;
            other_seconds += x1.seconds + x2.seconds;
            printf(" %zu", r + 1);
            fflush(stdout);
        }
        printf("\n");
        bm_summary s1 = bm_summarize(one, b->rounds), s2 = bm_summarize(two, b->rounds), sr = bm_summarize(ratio, b->rounds);
        double rr = s2.med / s1.med;
        char n1[32], n2[32], n3[32], what[200], keys[200];
        printf("  %-9s 1 thread %10.0f hits/s, 2 threads %10.0f hits/s: %.2fx (per round %.2f, %.2f-%.2f), "
               "context switches per 1,000 hits %.2f / %.2f\n",
               modes[m], s1.med, s2.med, rr, sr.med, sr.min, sr.max, sw1 / (double)b->rounds,
               sw2 / (double)b->rounds);
        if (!b->md)
            continue;
        if (m == 0)
            fprintf(b->md, "| hits through | keys | 1 thread, hits/s | 2 threads, hits/s | 2 threads / 1 | per "
                           "round (median, min-max) | context switches per 1,000 hits, 1 / 2 threads | target |\n"
                           "|---|---|---:|---:|---:|---:|---:|---|\n");
        snprintf(what, sizeof what, "`bench_user_by_id_query_cached()`, %s entries, a connection per thread",
                 bm_num(n3, sizeof n3, (double)nkeys));
        if (shared)
            snprintf(keys, sizeof keys, "shared: each thread reads all %s, from its own starting point",
                     bm_num(n3, sizeof n3, (double)nkeys));
        else
            snprintf(keys, sizeof keys, "distinct: each thread its own %s (1 thread: the first half)",
                     bm_num(n3, sizeof n3, (double)(nkeys / 2)));
        fprintf(b->md, "| %s | %s | %s | %s | %.2fx | %.2fx (%.2f-%.2f) | %.2f / %.2f | ≥ 1.8: %s |\n", what, keys,
                bm_num(n1, sizeof n1, s1.med), bm_num(n2, sizeof n2, s2.med), rr, sr.med, sr.min, sr.max,
                sw1 / (double)b->rounds, sw2 / (double)b->rounds, verdict(rr, 1.8));
    }
    if (other_known) {
        double load = other_cpu > 0 ? other_cpu / other_seconds : 0;
        printf("  (other activity on the machine during these runs: %.2f CPUs on average)\n", load);
        if (b->md)
            fprintf(b->md, "\nOther activity on the machine during the runs through `_cached()` (CPU time outside "
                           "this process): %.2f CPUs on average.\n",
                    load);
    }
    dbont_cache_stats after = stats_of(cache);
    if (after.misses != st.misses)
        bm_die("THREADS: %llu misses during the timed runs", (unsigned long long)(after.misses - st.misses));
    dbont_cache_close(cache);
    dbont_close(conns[1]);
}

/* ---- Redis, raw ------------------------------------------------------------------------ */

static redisContext *raw_connect(const bench *b)
{
    struct timeval tv = {2, 0};
    redisContext *rc = redisConnectWithTimeout(b->redis_host, b->redis_port, tv);
    if (!rc || rc->err)
        bm_die("cannot connect to Redis at %s:%d: %s", b->redis_host, b->redis_port, rc ? rc->errstr : "?");
    return rc;
}

static redisReply *raw_cmd(redisContext *rc, int argc, const char **argv, const size_t *lens)
{
    redisReply *r = redisCommandArgv(rc, argc, argv, lens);
    if (!r)
        bm_die("Redis %s: %s", argv[0], rc->errstr);
    if (r->type == REDIS_REPLY_ERROR)
        bm_die("Redis %s: %s", argv[0], r->str);
    return r;
}

static void raw_simple(redisContext *rc, const char *cmd)
{
    const char *argv[] = {cmd};
    freeReplyObject(raw_cmd(rc, 1, argv, NULL));
}

static long long raw_int(redisContext *rc, const char *cmd)
{
    const char *argv[] = {cmd};
    redisReply *r = raw_cmd(rc, 1, argv, NULL);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

/* The server's version, from INFO server. */
static void raw_version(redisContext *rc, char *buf, size_t size)
{
    const char *argv[] = {"INFO", "server"};
    redisReply *r = raw_cmd(rc, 2, argv, NULL);
    const char *v = r->type == REDIS_REPLY_STRING ? strstr(r->str, "redis_version:") : NULL;
    snprintf(buf, size, "%.*s", v ? (int)strcspn(v + 14, "\r\n") : 1, v ? v + 14 : "?");
    freeReplyObject(r);
}

typedef struct kv {
    char **keys;
    size_t *klens;
    char **vals;  /* NULL when only the keys are kept */
    size_t *vlens;
    size_t n;
} kv;

/* Every key matching pattern (SCAN; untimed), with its value when
 * with_values. */
static kv raw_collect(redisContext *rc, const char *pattern, bool with_values)
{
    kv out = {0};
    size_t cap = 0;
    char cursor[32] = "0";
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
        redisReply *r = raw_cmd(rc, 6, argv, NULL);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
            bm_die("SCAN: unexpected reply");
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            if (out.n == cap) {
                cap = cap ? cap * 2 : 1024;
                out.keys = realloc(out.keys, cap * sizeof *out.keys);
                out.klens = realloc(out.klens, cap * sizeof *out.klens);
                out.vals = realloc(out.vals, cap * sizeof *out.vals);
                out.vlens = realloc(out.vlens, cap * sizeof *out.vlens);
                if (!out.keys || !out.klens || !out.vals || !out.vlens)
                    bm_die("out of memory");
            }
            redisReply *k = r->element[1]->element[i];
            out.keys[out.n] = malloc(k->len + 1);
            if (!out.keys[out.n])
                bm_die("out of memory");
            memcpy(out.keys[out.n], k->str, k->len + 1);
            out.klens[out.n] = k->len;
            out.vals[out.n] = NULL;
            out.vlens[out.n] = 0;
            out.n++;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    for (size_t i = 0; with_values && i < out.n; i++) {
        const char *argv[] = {"GET", out.keys[i]};
        size_t lens[] = {3, out.klens[i]};
        redisReply *r = raw_cmd(rc, 2, argv, lens);
        if (r->type != REDIS_REPLY_STRING)
            bm_die("GET %s: no value", out.keys[i]);
        out.vals[i] = malloc(r->len + 1);
        if (!out.vals[i])
            bm_die("out of memory");
        memcpy(out.vals[i], r->str, r->len);
        out.vlens[i] = r->len;
        freeReplyObject(r);
    }
    return out;
}

static void kv_free(kv *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->keys[i]);
        free(x->vals[i]);
    }
    free(x->keys);
    free(x->klens);
    free(x->vals);
    free(x->vlens);
    memset(x, 0, sizeof *x);
}

/* SET of each pair (with PX ttl_ms), pipelined 1,000 at a time; untimed. */
static void raw_set_all(redisContext *rc, char **keys, const size_t *klens, char **vals, const size_t *vlens,
                        size_t n, const char *ttl_ms)
{
    for (size_t i = 0; i < n; i += 1000) {
        size_t m = n - i < 1000 ? n - i : 1000;
        for (size_t j = i; j < i + m; j++) {
            const char *argv[] = {"SET", keys[j], vals[j], "PX", ttl_ms};
            size_t lens[] = {3, klens[j], vlens[j], 2, strlen(ttl_ms)};
            if (redisAppendCommandArgv(rc, 5, argv, lens) != REDIS_OK)
                bm_die("Redis SET: %s", rc->errstr);
        }
        for (size_t j = 0; j < m; j++) {
            void *reply;
            if (redisGetReply(rc, &reply) != REDIS_OK)
                bm_die("Redis SET: %s", rc->errstr);
            if (((redisReply *)reply)->type == REDIS_REPLY_ERROR)
                bm_die("Redis SET: %s", ((redisReply *)reply)->str);
            freeReplyObject(reply);
        }
    }
}

/* ---- L2: a hit against a raw GET ---------------------------------------------------------- */

typedef struct raw_gets {
    redisContext *rc;
    const kv *keys;
} raw_gets;

static uint64_t op_raw_get(void *ctx, size_t from, size_t n)
{
    raw_gets *g = ctx;
    uint64_t sum = 0;
    for (size_t i = from; i < from + n; i++) {
        size_t k = i % g->keys->n;
        const char *argv[] = {"GET", g->keys->keys[k]};
        size_t lens[] = {3, g->keys->klens[k]};
        redisReply *r = redisCommandArgv(g->rc, 2, argv, lens);
        if (!r || r->type != REDIS_REPLY_STRING)
            bm_die("raw GET: %s", r ? "no value" : g->rc->errstr);
        sum = bm_mix(sum, (uint64_t)r->len);
        freeReplyObject(r);
    }
    return sum;
}

static void part_l2(const bench *b, size_t nkeys, size_t nops)
{
    printf("L2: %zu keys; per round %zu hits of bench_user_by_id_query_cached() (Redis-only cache) against "
           "%zu raw hiredis GETs of the same keys\n  rounds:",
           nkeys, nops, nops);
    redisContext *rc = raw_connect(b);
    raw_simple(rc, "FLUSHALL");
    dbont_cache *cache = open_cache(b, DBONT_CACHE_REDIS);
    lookups cached = {b->conn, cache, b->ids, nkeys, 0};
    check_cached(&cached, nkeys, "L2");
    dbont_cache_stats st = stats_of(cache);
    if (st.fills != nkeys || st.l2_hits != nkeys || st.errors != 0)
        bm_die("L2: after filling, %llu fills, %llu hits, %llu errors; expected %zu, %zu, 0",
               (unsigned long long)st.fills, (unsigned long long)st.l2_hits, (unsigned long long)st.errors, nkeys,
               nkeys);
    kv keys = raw_collect(rc, QUERY_PATTERN, true);
    if (keys.n != nkeys)
        bm_die("L2: %zu entries in Redis, expected %zu", keys.n, nkeys);
    size_t vmin = (size_t)-1, vmax = 0, kmin = (size_t)-1, kmax = 0;
    for (size_t i = 0; i < keys.n; i++) {
        vmin = keys.vlens[i] < vmin ? keys.vlens[i] : vmin;
        vmax = keys.vlens[i] > vmax ? keys.vlens[i] : vmax;
        kmin = keys.klens[i] < kmin ? keys.klens[i] : kmin;
        kmax = keys.klens[i] > kmax ? keys.klens[i] : kmax;
    }

    raw_gets raw = {rc, &keys};
    side ours = {op_lookups, &cached, nops, {0}, {0}, {0}, 0};
    side base = {op_raw_get, &raw, nops, {0}, {0}, {0}, 0};
    run_pair(&ours, &base, b->rounds, b->slices, "L2");
    dbont_cache_stats after = stats_of(cache);
    if (after.l2_hits - st.l2_hits != (uint64_t)(nops * b->rounds) || after.misses != st.misses ||
        after.errors != 0)
        bm_die("L2: the timed calls were not all hits (%llu hits, %llu misses, %llu errors)",
               (unsigned long long)(after.l2_hits - st.l2_hits), (unsigned long long)(after.misses - st.misses),
               (unsigned long long)after.errors);

    bm_summary o = bm_summarize(ours.rate, b->rounds), r = bm_summarize(base.rate, b->rounds);
    bm_summary pr = ratio_rounds(&ours, &base, b->rounds);
    char what[300], target[64], n1[32];
    snprintf(what, sizeof what,
             "L2 hit: `bench_user_by_id_query_cached()`, Redis-only cache / a raw hiredis GET of the same "
             "%s keys (%zu-%zu bytes; values %zu-%zu bytes)",
             bm_num(n1, sizeof n1, (double)nkeys), kmin, kmax, vmin, vmax);
    snprintf(target, sizeof target, "≥ 0.95: %s", verdict(o.med / r.med, 0.95));
    table_row(b, what, 1 / o.med, 1 / r.med, pr, bm_summarize(ours.cpu, b->rounds).med,
              bm_summarize(base.cpu, b->rounds).med, target);
    note("L2 hits, context switches of this process per operation: `_cached()` %.2f, raw GET %.2f",
         bm_summarize(ours.csw, b->rounds).med, bm_summarize(base.csw, b->rounds).med);
    kv_free(&keys);
    dbont_cache_close(cache);
    redisFree(rc);
}

/* ---- INV: one invalidation against SCAN + DEL ---------------------------------------------- */

/* The calls of command cmd ("incr") the server has counted (INFO commandstats). */
static long long raw_calls(redisContext *rc, const char *cmd)
{
    const char *argv[] = {"INFO", "commandstats"};
    redisReply *r = raw_cmd(rc, 2, argv, NULL);
    char pat[64];
    snprintf(pat, sizeof pat, "cmdstat_%s:calls=", cmd);
    const char *p = r->type == REDIS_REPLY_STRING ? strstr(r->str, pat) : NULL;
    long long v = p ? strtoll(p + strlen(pat), NULL, 10) : 0;
    freeReplyObject(r);
    return v;
}

/* Deletes every key matching pattern, a SCAN page at a time (DEL of the
 * page's keys); the number deleted, and the SCAN calls in *calls. */
static size_t scan_del(redisContext *rc, const char *pattern, const char *count, size_t *calls)
{
    char cursor[32] = "0";
    size_t deleted = 0;
    const char **argv = NULL;
    size_t *lens = NULL, cap = 0;
    *calls = 0;
    do {
        const char *scan[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", count};
        redisReply *r = raw_cmd(rc, 6, scan, NULL);
        (*calls)++;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
            bm_die("SCAN: unexpected reply");
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        redisReply *page = r->element[1];
        if (page->elements > 0) {
            if (page->elements + 1 > cap) {
                cap = page->elements + 1;
                argv = realloc(argv, cap * sizeof *argv);
                lens = realloc(lens, cap * sizeof *lens);
                if (!argv || !lens)
                    bm_die("out of memory");
            }
            argv[0] = "DEL";
            lens[0] = 3;
            for (size_t i = 0; i < page->elements; i++) {
                argv[i + 1] = page->element[i]->str;
                lens[i + 1] = page->element[i]->len;
            }
            redisReply *d = raw_cmd(rc, (int)page->elements + 1, argv, lens);
            deleted += d->type == REDIS_REPLY_INTEGER ? (size_t)d->integer : 0;
            freeReplyObject(d);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    free(argv);
    free(lens);
    return deleted;
}

static void part_inv(const bench *b, size_t nkeys, size_t total)
{
    printf("INV: %zu entries of the cached query among %zu keys: dbont_cache_invalidate() against SCAN + DEL\n",
           nkeys, total);
    if (total < nkeys)
        bm_die("--inv-total must be at least --inv-keys");
    redisContext *rc = raw_connect(b);
    raw_simple(rc, "FLUSHALL");
    dbont_cache *cache = open_cache(b, DBONT_CACHE_REDIS);
    lookups cached = {b->conn, cache, b->ids, nkeys, 0};
    check_cached(&cached, nkeys, "INV");
    dbont_cache_stats st = stats_of(cache);
    if (st.fills != nkeys || st.l2_hits != nkeys || st.errors != 0)
        bm_die("INV: after filling, %llu fills, %llu hits, %llu errors", (unsigned long long)st.fills,
               (unsigned long long)st.l2_hits, (unsigned long long)st.errors);
    /* the entries, to put back after each deletion (untimed) */
    kv entries = raw_collect(rc, QUERY_PATTERN, true);
    if (entries.n != nkeys)
        bm_die("INV: %zu entries in Redis, expected %zu", entries.n, nkeys);

    /* the other keys: named like other queries' entries, valued like ours */
    size_t nother = total - nkeys;
    kv other = {0};
    other.n = nother;
    other.keys = malloc((nother + 1) * sizeof *other.keys);
    other.klens = malloc((nother + 1) * sizeof *other.klens);
    other.vals = malloc((nother + 1) * sizeof *other.vals);
    other.vlens = malloc((nother + 1) * sizeof *other.vlens);
    if (!other.keys || !other.klens || !other.vals || !other.vlens)
        bm_die("out of memory");
    for (size_t i = 0; i < nother; i++) {
        char k[200];
        /* shaped as the cache's keys: "=<parameters>:<template>" at the end */
        int n = snprintf(k, sizeof k, "%s:q:other_query_%02zu:%016llx::0.0.0:=%zu:item:%zu", KEY_PREFIX, i % 50,
                         (unsigned long long)(0x9e3779b97f4a7c15u * (i % 50 + 1)), i, i);
        other.keys[i] = malloc((size_t)n + 1);
        if (!other.keys[i])
            bm_die("out of memory");
        memcpy(other.keys[i], k, (size_t)n + 1);
        other.klens[i] = (size_t)n;
        other.vals[i] = NULL;
        other.vlens[i] = 0;
    }
    char **vals = malloc((nother + 1) * sizeof *vals);
    if (!vals)
        bm_die("out of memory");
    for (size_t i = 0; i < nother; i++) {
        vals[i] = entries.vals[i % entries.n];
        other.vlens[i] = entries.vlens[i % entries.n];
    }
    raw_set_all(rc, other.keys, other.klens, vals, other.vlens, nother, "3600000");
    free(vals);
    long long dbsize = raw_int(rc, "DBSIZE");

    double t_inv[MAX_ROUNDS], t_scan[2][MAX_ROUNDS], r_scan[2][MAX_ROUNDS];
    size_t calls[2] = {0, 0};
    static const char *const counts[2] = {"1000", "10"};
    printf("  rounds:");
    for (size_t r = 0; r < b->rounds; r++) {
        double t0 = bm_now();
        dbont_cache_invalidate(cache, "", INV_EVENT);
        t_inv[r] = bm_now() - t0;
        for (size_t j = 0; j < 2; j++) {
            size_t c = (j + r) % 2;
            t0 = bm_now();
            size_t deleted = scan_del(rc, QUERY_PATTERN, counts[c], &calls[c]);
            t_scan[c][r] = bm_now() - t0;
            if (deleted != nkeys)
                bm_die("INV: SCAN + DEL deleted %zu keys, expected %zu", deleted, nkeys);
            raw_set_all(rc, entries.keys, entries.klens, entries.vals, entries.vlens, entries.n, "300000");
        }
        r_scan[0][r] = t_scan[0][r] / t_inv[r];
        r_scan[1][r] = t_scan[1][r] / t_inv[r];
        printf(" %zu", r + 1);
        fflush(stdout);
    }
    printf("\n");
    /* steadier: many in a row */
    size_t many = 1000;
    static const char *const cmds[] = {"eval", "incr", "incrby", "publish", "get"};
    long long calls0[5], calls1[5];
    for (size_t i = 0; i < 5; i++)
        calls0[i] = raw_calls(rc, cmds[i]);
    uint64_t trips0 = stats_of(cache).redis_calls;
    double t0 = bm_now();
    for (size_t i = 0; i < many; i++)
        dbont_cache_invalidate(cache, "", INV_EVENT);
    double per_call = (bm_now() - t0) / (double)many;
    uint64_t trips = stats_of(cache).redis_calls - trips0;
    for (size_t i = 0; i < 5; i++)
        calls1[i] = raw_calls(rc, cmds[i]);

    /* the entries put back are those of the old versions: unreachable */
    dbont_cache_stats before = stats_of(cache);
    run_lookups(&cached, 0, 1);
    dbont_cache_stats after = stats_of(cache);
    if (after.misses != before.misses + 1)
        bm_die("INV: after the invalidations, a cached call was not a miss");
    if (after.errors != 0)
        bm_die("INV: %llu Redis errors", (unsigned long long)after.errors);

    bm_summary inv = bm_summarize(t_inv, b->rounds);
    for (size_t c = 0; c < 2; c++) {
        bm_summary sc = bm_summarize(t_scan[c], b->rounds);
        char what[300], n1[32], n2[32], n3[32];
        snprintf(what, sizeof what,
                 "invalidating %s entries among %s keys: `dbont_cache_invalidate()` (one EVAL: INCR, PUBLISH) / "
                 "SCAN MATCH COUNT %s + DEL of each page (%s SCAN calls)",
                 bm_num(n1, sizeof n1, (double)nkeys), bm_num(n2, sizeof n2, (double)dbsize), counts[c],
                 bm_num(n3, sizeof n3, (double)calls[c]));
        table_row(b, what, inv.med, sc.med, bm_summarize(r_scan[c], b->rounds), -1, -1, "");
    }
    char d1[32], d2[32], d3[32], d4[32];
    note("`dbont_cache_invalidate()`: one call per round, median %s (%s-%s); %zu in a row: %s per call, "
         "%.2f round trips to Redis per call; Redis counted per call %.2f EVAL, and run by it %.2f INCR, "
         "%.2f INCRBY, %.2f PUBLISH, %.2f GET",
         bm_dur(d1, sizeof d1, inv.med), bm_dur(d2, sizeof d2, inv.min), bm_dur(d3, sizeof d3, inv.max), many,
         bm_dur(d4, sizeof d4, per_call), (double)trips / (double)many, (double)(calls1[0] - calls0[0]) / (double)many,
         (double)(calls1[1] - calls0[1]) / (double)many, (double)(calls1[2] - calls0[2]) / (double)many,
         (double)(calls1[3] - calls0[3]) / (double)many, (double)(calls1[4] - calls0[4]) / (double)many);
    kv_free(&entries);
    kv_free(&other);
    dbont_cache_close(cache);
    redisFree(rc);
}

/* ---- the command ------------------------------------------------------------------------------ */

static size_t arg_size(const char *opt, const char *value)
{
    char *end;
    if (!value)
        bm_die("%s needs a value", opt);
    unsigned long long v = strtoull(value, &end, 10);
    if (*end || end == value)
        bm_die("%s: not a number: %s", opt, value);
    return (size_t)v;
}

static bool selected(const char *only, const char *part)
{
    size_t n = strlen(part);
    for (const char *p = only; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, part, n))
            return true;
        p += len + (e != NULL);
    }
    return false;
}

int bm_cache_main(int argc, char **argv)
{
    size_t rounds = 9, slices = 4, nkeys = 20000, nplain = 5000, nhits = 200000, thread_ops = 200000;
    size_t l2 = 20000, l2_keys = 1000, inv_keys = 1000, inv_total = 100000;
    const char *only = "L1,THREADS,L2,INV", *md = NULL;
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(o, "--rounds"))
            rounds = arg_size(o, v);
        else if (!strcmp(o, "--slices"))
            slices = arg_size(o, v);
        else if (!strcmp(o, "--keys"))
            nkeys = arg_size(o, v);
        else if (!strcmp(o, "--plain"))
            nplain = arg_size(o, v);
        else if (!strcmp(o, "--hits"))
            nhits = arg_size(o, v);
        else if (!strcmp(o, "--thread-ops"))
            thread_ops = arg_size(o, v);
        else if (!strcmp(o, "--l2"))
            l2 = arg_size(o, v);
        else if (!strcmp(o, "--l2-keys"))
            l2_keys = arg_size(o, v);
        else if (!strcmp(o, "--inv-keys"))
            inv_keys = arg_size(o, v);
        else if (!strcmp(o, "--inv-total"))
            inv_total = arg_size(o, v);
        else if (!strcmp(o, "--only") && v)
            only = v;
        else if (!strcmp(o, "--md") && v)
            md = v;
        else
            bm_die("cache: unknown option %s\n%s", o, usage);
        i++;
    }
    if (rounds < 1 || rounds > MAX_ROUNDS)
        bm_die("--rounds: 1 to %d", MAX_ROUNDS);
    if (!slices || nkeys < 2 || !nplain || !nhits || !thread_ops || !l2 || !l2_keys || !inv_keys)
        bm_die("cache: sizes must be positive (--keys at least 2)");

    bench b = {0};
    b.rounds = rounds;
    b.slices = slices;
    dbont_error err;
    if (!(b.conn = dbont_connect(NULL, &err)))
        die_dbont("connect", &err);
    PGconn *pg = dbont_conn_pg(b.conn);
    int64_t nusers = bm_query_i64(pg, "SELECT count(*) FROM users");
    b.nids = nkeys;
    if (l2_keys > b.nids)
        b.nids = l2_keys;
    if (inv_keys > b.nids)
        b.nids = inv_keys;
    if (nusers < (int64_t)b.nids || bm_query_i64(pg, "SELECT max(id) FROM users") != nusers)
        bm_die("cache: load at least %zu users first (dbont-bench load)", b.nids);
    b.ids = make_ids(b.nids, nusers);
    const char *host = getenv("REDIS_HOST"), *port = getenv("REDIS_PORT");
    bool redis = host && *host && port && *port;
    if (redis) {
        b.redis_host = host;
        b.redis_port = atoi(port);
    }
    if (md && !(b.md = fopen(md, "w")))
        bm_die("cannot write %s", md);

    if (redis && (selected(only, "L2") || selected(only, "INV"))) {
        redisContext *rc = raw_connect(&b);
        char version[32];
        raw_version(rc, version, sizeof version);
        redisFree(rc);
        printf("Redis %s at %s:%d, hiredis %d.%d.%d\n", version, host, b.redis_port, HIREDIS_MAJOR, HIREDIS_MINOR,
               HIREDIS_PATCH);
        if (b.md)
            fprintf(b.md, "PostgreSQL %s; Redis %s (a private redis-server, no persistence, on loopback); "
                          "hiredis %d.%d.%d. %zu rounds, medians.\n\n",
                    PQparameterStatus(pg, "server_version"), version, HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH,
                    rounds);
    } else if (b.md && (selected(only, "L1") || selected(only, "THREADS"))) {
        fprintf(b.md, "PostgreSQL %s. %zu rounds, medians.\n\n", PQparameterStatus(pg, "server_version"), rounds);
    }

    if (selected(only, "L1"))
        part_l1(&b, nkeys, nplain, nhits);
    if (selected(only, "L2") || selected(only, "INV")) {
        if (!redis) {
            note("L2 and invalidation skipped: no Redis (REDIS_HOST, REDIS_PORT)");
        } else {
            if (selected(only, "L2"))
                part_l2(&b, l2_keys, l2);
            if (selected(only, "INV"))
                part_inv(&b, inv_keys, inv_total);
        }
    }
    if (b.md && (table_started || nnotes)) {
        fprintf(b.md, "\n");
        for (size_t i = 0; i < nnotes; i++)
            fprintf(b.md, "%s.\n", notes[i]);
        if (nnotes)
            fprintf(b.md, "\n");
    }
    if (selected(only, "THREADS"))
        part_threads(&b, nkeys, thread_ops);
    if (b.md)
        fclose(b.md);
    free(b.ids);
    dbont_close(b.conn);
    return 0;
}
