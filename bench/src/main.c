/*
 * dbont-bench: the generated code against hand-written libpq.
 *
 *   dbont-bench load [--users N] [--posts N]
 *       fills the tables (DATABASE_URL; the migrations applied first)
 *   dbont-bench run [--rounds N] [--slices N] [--w1 N] [--w1b N] [--w1b-batch N] [--w2 N]
 *                   [--w3 N] [--w4 N] [--only W1,W2,...] [--show-statements]
 *                   [--out FILE]
 *       times the workloads: each round runs every implementation of a
 *       workload on the same inputs, cut into slices run in turn (A B,
 *       B A, ...), on one connection; prints and records the medians of
 *       the rounds
 *   dbont-bench report FILE... [--md FILE] [--meta]
 *       the ratio table from result files (this program's and the Node
 *       peers'), printed and, with --md, written as Markdown (with --meta,
 *       preceded by the machine and versions)
 *   dbont-bench cache [--rounds N] [--only L1,THREADS,L2,INV] [--md FILE] ...
 *       the caching benchmark (cache.c): cached hits against the plain
 *       call and a raw Redis GET, 2-thread scaling, invalidation against
 *       SCAN + DEL; L2 and INV use the Redis of REDIS_HOST and REDIS_PORT
 *   dbont-bench shard [--rounds N] [--keys N] [--md FILE]
 *       shard routing (shard.c): ns per key against plain hashing, keys
 *       moved from 16 to 17 shards against the ideal; no server
 *   dbont-bench fanout [--rounds N] [--slices N] [--rows N] [--calls N] [--agg-calls N]
 *                      [--only F1,F2,F3] [--oracle DSN] [--md FILE]
 *       a query over 4 shards (the generated _fanout() functions of
 *       bench_shards.ttl) against the same query on one server holding all
 *       the rows (fanout.c); the shards of DBONT_SHARDS_CONF or
 *       DBONT_SHARD_*, as tests/pg/with-shards.sh exports them
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dbont/dbont.h>

#include "bm.h"

#ifndef BM_CFLAGS
#define BM_CFLAGS "?"
#endif

static const char usage[] =
    "usage: dbont-bench load [--users N] [--posts N]\n"
    "       dbont-bench run [--rounds N] [--slices N] [--w1 N] [--w1b N] [--w1b-batch N] [--w2 N] [--w3 N] [--w4 N]\n"
    "                       [--only W1,W1B,W2,W3,W4] [--show-statements] [--out FILE]\n"
    "       dbont-bench report FILE... [--md FILE] [--meta]\n"
    "       dbont-bench cache [--rounds N] [--only L1,THREADS,L2,INV] [--md FILE] (more: dbont-bench cache --help)\n"
    "       dbont-bench shard [--rounds N] [--keys N] [--md FILE]\n"
    "       dbont-bench fanout [--rounds N] [--slices N] [--rows N] [--calls N] [--agg-calls N] [--only F1,F2,F3]\n"
    "                          [--oracle DSN] [--md FILE]\n";

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

static int cmd_load(int argc, char **argv)
{
    int64_t nusers = 100000, nposts = 1000000;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--users"))
            nusers = (int64_t)arg_size(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--posts"))
            nposts = (int64_t)arg_size(argv[i], argv[i + 1]), i++;
        else
            bm_die("load: unknown option %s\n%s", argv[i], usage);
    }
    if (nusers < BM_W2_WINDOW)
        bm_die("load: at least %d users", BM_W2_WINDOW);
    PGconn *pg = PQconnectdb(getenv("DATABASE_URL") ? getenv("DATABASE_URL") : "");
    if (PQstatus(pg) != CONNECTION_OK)
        bm_die("cannot connect: %s", PQerrorMessage(pg));
    bm_load(pg, nusers, nposts);
    PQfinish(pg);
    return 0;
}

/* ---- run ------------------------------------------------------------------ */

#define MAX_ROUNDS 64

typedef uint64_t (*workload_fn)(void *ctx, const bm_inputs *in);

typedef struct impl {
    const char *workload; /* W1, W1B, W2, W3, W4 */
    const char *name;     /* generated, hand, ... */
    workload_fn fn;
    void *ctx;
    double rate[MAX_ROUNDS];
    double client_us[MAX_ROUNDS]; /* CPU time per unit, this process */
    double server_us[MAX_ROUNDS]; /* CPU time per unit, the backend (< 0: unknown) */
    uint64_t sum[MAX_ROUNDS];
} impl;

typedef struct runner {
    PGconn *pg;
    int backend_pid;
    double cleanup_seconds; /* spent between timed runs */
    int64_t posts_max; /* the loaded posts' last id: later ones are ours */
    bm_inputs in;
} runner;

static size_t units(const bm_inputs *in, const char *workload)
{
    if (!strcmp(workload, "W1"))
        return in->w1_n;
    if (!strcmp(workload, "W1B"))
        return in->w1b_n;
    if (!strcmp(workload, "W2"))
        return in->w2_n;
    if (!strcmp(workload, "W3"))
        return in->w3_n;
    return in->w4_n;
}

static bool writes(const char *workload)
{
    return !strcmp(workload, "W3") || !strcmp(workload, "W4");
}

/* Removes the posts a W3 or W4 run added, so that every run starts from
 * the loaded table. */
static void cleanup(runner *r)
{
    char sql[128];
    double t0 = bm_now();
    snprintf(sql, sizeof sql, "DELETE FROM posts WHERE id > %lld", (long long)r->posts_max);
    bm_exec(r->pg, sql);
    bm_exec(r->pg, "VACUUM posts");
    /* WAL segments are recycled, dirty pages written: each run starts
     * from the same state (fsync is off, so this is cheap) */
    bm_exec(r->pg, "CHECKPOINT");
    r->cleanup_seconds += bm_now() - t0;
}

static double cpu_self(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of process pid so far: /proc/PID/schedstat (nanoseconds on
 * the CPU), else /proc/PID/stat (user + system clock ticks, 10 ms steps at
 * 100 Hz); < 0 when neither is readable. */
static double cpu_of(int pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
    FILE *f = fopen(path, "r");
    if (f) {
        unsigned long long ns;
        int ok = fscanf(f, "%llu", &ns) == 1;
        fclose(f);
        if (ok && ns > 0)
            return (double)ns * 1e-9;
    }
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    size_t len = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[len] = 0;
    const char *p = strrchr(line, ')'); /* after the command name */
    unsigned long long utime, stime;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)(utime + stime) / (double)hz : -1;
}

/* Time and CPU spent by the runs of an implementation in one round. */
typedef struct spent {
    double seconds, client_cpu, server_cpu;
    double other_cpu; /* the machine's busy time minus ours: other processes */
    size_t units;
    uint64_t sum;
} spent;

/* One timed run of im with inputs in, added to *sp. */
static void run_timed(runner *r, impl *im, const bm_inputs *in, spent *sp)
{
    double b0 = bm_machine_busy();
    double s0 = cpu_of(r->backend_pid);
    double c0 = cpu_self();
    double t0 = bm_now();
    uint64_t sum = im->fn(im->ctx, in);
    double t1 = bm_now();
    double c1 = cpu_self();
    double s1 = cpu_of(r->backend_pid);
    double b1 = bm_machine_busy();
    if (b0 >= 0 && b1 >= 0 && s0 >= 0 && s1 >= 0)
        sp->other_cpu += (b1 - b0) - (c1 - c0) - (s1 - s0);
    sp->seconds += t1 - t0;
    sp->client_cpu += c1 - c0;
    sp->server_cpu = s0 >= 0 && s1 >= 0 && sp->server_cpu >= 0 ? sp->server_cpu + (s1 - s0) : -1;
    sp->units += units(in, im->workload);
    sp->sum += sum; /* slices add up to the same total on every side */
}

/* After W3 or W4: exactly `expected` rows were added; then removes them. */
static void check_and_clean(runner *r, const char *workload, size_t expected)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM posts WHERE id > %lld", (long long)r->posts_max);
    int64_t added = bm_query_i64(r->pg, sql);
    if ((size_t)added != expected)
        bm_die("%s: %lld rows added, expected %zu", workload, (long long)added, expected);
    cleanup(r);
}

/* Slice s of nslices of the inputs of workload (the others unchanged). */
static bm_inputs slice_of(const bm_inputs *in, const char *workload, size_t s, size_t nslices)
{
    bm_inputs x = *in;
    size_t n = units(in, workload), lo = n * s / nslices, hi = n * (s + 1) / nslices;
    x.offset = lo;
    if (!strcmp(workload, "W1")) {
        x.w1_emails += lo;
        x.w1_n = hi - lo;
    } else if (!strcmp(workload, "W1B")) {
        x.w1b_emails += lo;
        x.w1b_n = hi - lo;
    } else if (!strcmp(workload, "W2")) {
        x.w2_first += lo;
        x.w2_n = hi - lo;
    } else if (!strcmp(workload, "W3")) {
        x.w3_posts += lo;
        x.w3_n = hi - lo;
    } else {
        x.offset = 0; /* W4: one COPY of every row, never sliced */
    }
    return x;
}

static char **make_emails(size_t n, int64_t nusers, uint64_t offset)
{
    char **emails = malloc(n * sizeof *emails);
    char *block = malloc(n * 32);
    if (!emails || !block)
        bm_die("out of memory");
    for (size_t i = 0; i < n; i++) {
        emails[i] = block + i * 32;
        bm_email(emails[i], 32, bm_w1_user(i + offset, nusers));
    }
    return emails;
}

static void free_emails(char **emails)
{
    free(emails[0]);
    free(emails);
}

static bool selected(const char *only, const char *workload)
{
    if (!only)
        return true;
    size_t n = strlen(workload);
    for (const char *p = only; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, workload, n))
            return true;
        p += len + (e != NULL);
    }
    return false;
}

static int cmd_run(int argc, char **argv)
{
    size_t rounds = 7, slices = 4, w1 = 20000, w1b = 50000, w1b_batch = 1000, w2 = 500, w3 = 5000, w4 = 100000;
    const char *out = NULL, *only = NULL;
    bool show_statements = false;
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "--rounds"))
            rounds = arg_size(o, v);
        else if (!strcmp(o, "--slices"))
            slices = arg_size(o, v);
        else if (!strcmp(o, "--w1"))
            w1 = arg_size(o, v);
        else if (!strcmp(o, "--w1b"))
            w1b = arg_size(o, v);
        else if (!strcmp(o, "--w1b-batch"))
            w1b_batch = arg_size(o, v);
        else if (!strcmp(o, "--w2"))
            w2 = arg_size(o, v);
        else if (!strcmp(o, "--w3"))
            w3 = arg_size(o, v);
        else if (!strcmp(o, "--w4"))
            w4 = arg_size(o, v);
        else if (!strcmp(o, "--out") && v)
            out = v;
        else if (!strcmp(o, "--only") && v)
            only = v;
        else if (!strcmp(o, "--show-statements")) {
            show_statements = true;
            continue; /* takes no value */
        }
        else
            bm_die("run: unknown option %s\n%s", o, usage);
        i++;
    }
    if (rounds < 1 || rounds > MAX_ROUNDS)
        bm_die("--rounds: 1 to %d", MAX_ROUNDS);
    if (!w1 || !w1b || !w1b_batch || !w2 || !w3 || !w4 || !slices)
        bm_die("workload sizes must be positive");

    dbont_error err;
    dbont_conn *conn = dbont_connect(NULL, &err);
    if (!conn)
        bm_die("cannot connect: %s", err.message);
    runner r = {0};
    r.pg = dbont_conn_pg(conn);
    r.backend_pid = PQbackendPID(r.pg);
    int64_t nusers = bm_query_i64(r.pg, "SELECT count(*) FROM users");
    if (nusers < BM_W2_WINDOW || bm_query_i64(r.pg, "SELECT max(id) FROM users") != nusers)
        bm_die("run: load the data first (dbont-bench load)");
    r.posts_max = bm_query_i64(r.pg, "SELECT coalesce(max(id), 0) FROM posts");
    cleanup(&r);

    bm_inputs *in = &r.in;
    in->nusers = nusers;
    in->w1_n = w1;
    in->w1_emails = make_emails(w1, nusers, 0);
    in->w1b_n = w1b;
    in->w1b_emails = make_emails(w1b, nusers, 0);
    in->w1b_batch = w1b_batch;
    in->w2_n = w2;
    in->w2_first = malloc(w2 * sizeof *in->w2_first);
    if (!in->w2_first)
        bm_die("out of memory");
    for (size_t i = 0; i < w2; i++)
        in->w2_first[i] = bm_w2_first(i, nusers);
    in->w3_n = w3;
    in->w3_posts = bm_posts_make(w3, 777, "insert", nusers);
    in->w4_n = w4;
    in->w4_posts = bm_posts_make(w4, 99, "bulk", nusers);

    void *gen = bm_gen_setup(conn, in);
    void *hand = bm_hand_setup(r.pg, in);
    impl impls[] = {
        {"W1", "generated", bm_gen_w1, gen, {0}, {0}, {0}, {0}},
        {"W1", "hand", bm_hand_w1, hand, {0}, {0}, {0}, {0}},
        {"W1B", "generated", bm_gen_w1b, gen, {0}, {0}, {0}, {0}},
        {"W1B", "hand", bm_hand_w1b, hand, {0}, {0}, {0}, {0}},
        {"W1B", "hand-sync-per-window", bm_hand_w1b_shared, hand, {0}, {0}, {0}, {0}},
        {"W2", "generated", bm_gen_w2, gen, {0}, {0}, {0}, {0}},
        {"W2", "hand", bm_hand_w2, hand, {0}, {0}, {0}, {0}},
        {"W3", "generated", bm_gen_w3, gen, {0}, {0}, {0}, {0}},
        {"W3", "hand", bm_hand_w3, hand, {0}, {0}, {0}, {0}},
        {"W3", "hand-returning-all", bm_hand_w3_all, hand, {0}, {0}, {0}, {0}},
        {"W4", "generated", bm_gen_w4, gen, {0}, {0}, {0}, {0}},
        {"W4", "hand-binary", bm_hand_w4_binary, hand, {0}, {0}, {0}, {0}},
        {"W4", "hand-text", bm_hand_w4_text, hand, {0}, {0}, {0}, {0}},
    };
    const size_t nimpls = sizeof impls / sizeof impls[0];
    static const char *const workloads[] = {"W1", "W1B", "W2", "W3", "W4"};

    printf("dbont-bench: %lld users, %lld posts; %zu rounds of W1 %zu lookups, W1B %zu lookups "
           "(batches of %zu, window %d), W2 %zu windows, W3 %zu inserts, W4 %zu rows\n",
           (long long)nusers, (long long)r.posts_max, rounds, w1, w1b, w1b_batch, BM_PIPELINE_WINDOW, w2, w3,
           w4);

    /* Warm-up: every implementation once on a tenth of its inputs
     * (statements prepared, caches warm), untimed. */
    bm_inputs warm = *in;
    warm.w1_n = w1 / 10 + 1;
    warm.w1b_n = w1b / 10 + 1;
    warm.w2_n = w2 / 10 + 1;
    warm.w3_n = w3 / 10 + 1;
    warm.w4_n = w4 / 10 + 1;
    for (size_t k = 0; k < nimpls; k++) {
        if (!selected(only, impls[k].workload))
            continue;
        spent sp = {0};
        run_timed(&r, &impls[k], &warm, &sp);
        if (writes(impls[k].workload))
            check_and_clean(&r, impls[k].workload, sp.units);
    }

    /*
     * A round runs every implementation of each workload on the same
     * inputs.  To pair the sides closely in time (a slow second of the
     * machine hits both), the inputs are cut into slices run in turn,
     * A B, B A, A B, ...; the order rotates from round to round too.  W4
     * is one COPY per side, with the rows removed after each.
     */
    double other_cpu = 0, other_seconds = 0, other_max = 0;
    for (size_t round = 0; round < rounds; round++) {
        printf("round %zu/%zu:", round + 1, rounds);
        for (size_t w = 0; w < sizeof workloads / sizeof workloads[0]; w++) {
            const char *wl = workloads[w];
            if (!selected(only, wl))
                continue;
            size_t first = nimpls, m = 0;
            for (size_t k = 0; k < nimpls; k++)
                if (!strcmp(impls[k].workload, wl)) {
                    if (first == nimpls)
                        first = k;
                    m++;
                }
            spent sp[8];
            memset(sp, 0, sizeof sp);
            bool bulk = !strcmp(wl, "W4");
            size_t nslices = bulk ? 1 : slices;
            for (size_t s = 0; s < nslices; s++) {
                bm_inputs part = slice_of(in, wl, s, nslices);
                for (size_t j = 0; j < m; j++) {
                    size_t k = (j + s + round) % m;
                    run_timed(&r, &impls[first + k], &part, &sp[k]);
                    if (bulk)
                        check_and_clean(&r, wl, in->w4_n);
                }
            }
            if (!strcmp(wl, "W3"))
                check_and_clean(&r, wl, in->w3_n * m);
            for (size_t k = 0; k < m; k++) {
                impl *im = &impls[first + k];
                im->rate[round] = (double)sp[k].units / sp[k].seconds;
                im->client_us[round] = sp[k].client_cpu * 1e6 / (double)sp[k].units;
                im->server_us[round] = sp[k].server_cpu >= 0 ? sp[k].server_cpu * 1e6 / (double)sp[k].units : -1;
                im->sum[round] = sp[k].sum;
                other_cpu += sp[k].other_cpu;
                other_seconds += sp[k].seconds;
                double load = sp[k].other_cpu / sp[k].seconds;
                if (load > other_max)
                    other_max = load;
            }
            printf(" %s", wl);
            fflush(stdout);
        }
        printf("\n");
    }

    /* Both sides must have read the same rows (and written as many). */
    for (size_t k = 0; k < nimpls; k++) {
        if (!selected(only, impls[k].workload))
            continue;
        for (size_t j = 0; j < nimpls; j++)
            if (!strcmp(impls[j].workload, impls[k].workload))
                for (size_t round = 0; round < rounds; round++)
                    if (impls[j].sum[round] != impls[k].sum[0])
                        bm_die("%s: %s and %s read different rows (checksums %llx, %llx)", impls[k].workload,
                               impls[k].name, impls[j].name, (unsigned long long)impls[k].sum[0],
                               (unsigned long long)impls[j].sum[round]);
    }

    printf("(%.1f s spent removing the rows W3 and W4 added, between runs)\n", r.cleanup_seconds);
    /* CPU time the machine spent outside this process and its backend
     * while the timed code ran: other programs, and kernel work (softirqs,
     * kworkers) not charged to either */
    double other_mean = other_seconds > 0 && other_cpu > 0 ? other_cpu / other_seconds : 0;
    printf("(other activity on the machine during the timed runs: %.2f CPUs on average, %.2f at most in one "
           "implementation's round)\n",
           other_mean, other_max);
    FILE *f = out ? fopen(out, "w") : NULL;
    if (out && !f)
        bm_die("cannot write %s", out);
    if (f) {
        fprintf(f, "meta server_version %s\n", PQparameterStatus(r.pg, "server_version"));
        fprintf(f, "meta libpq_version %d.%d\n", PQlibVersion() / 10000, PQlibVersion() % 10000);
        fprintf(f, "meta compiler %s\n", __VERSION__);
        fprintf(f, "meta cflags %s\n", BM_CFLAGS);
        fprintf(f, "meta dbont_version %s\n", DBONT_VERSION);
        fprintf(f, "meta dataset %lld users, %lld posts\n", (long long)nusers, (long long)r.posts_max);
        fprintf(f, "meta c_rounds %zu (each side's inputs in %zu slices, run in turn)\n", rounds, slices);
        fprintf(f, "meta c_other_load %.2f CPUs on average, %.2f at most in one implementation's round\n",
                other_mean, other_max);
        fprintf(f,
                "meta c_sizes W1 %zu lookups, W1B %zu lookups in batches of %zu (window %d), W2 %zu windows of "
                "%d users, W3 %zu inserts, W4 %zu rows\n",
                w1, w1b, w1b_batch, BM_PIPELINE_WINDOW, w2, BM_W2_WINDOW, w3, w4);
    }
    printf("\n%-5s %-22s %10s %10s %10s %-7s %14s %14s\n", "", "", "median", "min", "max", "", "client CPU/op",
           "server CPU/op");
    for (size_t k = 0; k < nimpls; k++) {
        impl *im = &impls[k];
        if (!selected(only, im->workload))
            continue;
        double v[MAX_ROUNDS];
        memcpy(v, im->client_us, rounds * sizeof *v);
        double cmed = bm_median(v, rounds);
        memcpy(v, im->server_us, rounds * sizeof *v);
        double smed = bm_median(v, rounds);
        memcpy(v, im->rate, rounds * sizeof *v);
        double med = bm_median(v, rounds);
        const char *unit = strcmp(im->workload, "W4") ? "ops/s" : "rows/s";
        printf("%-5s %-22s %10.0f %10.0f %10.0f %-7s %11.2f us %11.2f us\n", im->workload, im->name, med, v[0],
               v[rounds - 1], unit, cmed, smed);
        if (f) {
            fprintf(f, "result %s %s %s %.1f %.1f %.1f %zu\n", im->workload, im->name, unit, med, v[0],
                    v[rounds - 1], rounds);
            fprintf(f, "rates %s %s", im->workload, im->name);
            for (size_t round = 0; round < rounds; round++)
                fprintf(f, " %.1f", im->rate[round]);
            fprintf(f, "\n");
            fprintf(f, "cpu %s %s %.3f %.3f\n", im->workload, im->name, cmed, smed);
        }
    }
    if (f)
        fclose(f);

    if (show_statements) {
        /* what each side prepared on the connection, as the server has it */
        PGresult *res = PQexec(r.pg, "SELECT name, parameter_types::text, statement FROM pg_prepared_statements "
                                     "ORDER BY name");
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            bm_die("pg_prepared_statements: %s", PQresultErrorMessage(res));
        printf("\nprepared statements:\n");
        for (int i = 0; i < PQntuples(res); i++)
            printf("  %s %s\n    %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
        PQclear(res);
    }
    bm_hand_teardown(hand);
    bm_gen_teardown(gen);
    free_emails(in->w1_emails);
    free_emails(in->w1b_emails);
    free(in->w2_first);
    bm_posts_free(in->w3_posts);
    bm_posts_free(in->w4_posts);
    dbont_close(conn);
    return 0;
}

static int cmd_report(int argc, char **argv)
{
    const char *md = NULL;
    bool with_meta = false;
    const char **files = malloc((size_t)(argc + 1) * sizeof *files);
    size_t n = 0;
    if (!files)
        bm_die("out of memory");
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--md") && i + 1 < argc)
            md = argv[++i];
        else if (!strcmp(argv[i], "--meta"))
            with_meta = true;
        else
            files[n++] = argv[i];
    }
    if (!n)
        bm_die("report: no result file\n%s", usage);
    int status = bm_report(files, n, md, with_meta);
    free(files);
    return status;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "load"))
        return cmd_load(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "run"))
        return cmd_run(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "report"))
        return cmd_report(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "cache"))
        return bm_cache_main(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "shard"))
        return bm_shard_main(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "fanout"))
        return bm_fanout_main(argc - 2, argv + 2);
    fputs(usage, stderr);
    return 2;
}
