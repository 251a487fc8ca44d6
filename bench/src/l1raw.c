/*
 * l1raw.c: dbont-bench-l1, the in-process cache level (L1) alone:
 * dbont_l1_get hits from 1 thread and from 2 threads on one cache
 * (docs/performance.md, "Caching").  No key building, no decoding, no
 * clock read: only what a cached call spends inside L1 (the lookup, the
 * copy of the value, and the free of that copy by the caller).
 *
 * L1's header (cache_l1.h) is internal to libdbont and not installed, so
 * this program is built from the source tree: runtime/src/cache_l1.c, and
 * registry.c for its hash finalizer, compiled into it with bench's flags,
 * which are the library's flags in `make bench` (-O2 -g -DNDEBUG).
 * bench/CMakeLists.txt builds it when bench/ sits in dbont's tree.
 *
 *   dbont-bench-l1 [--rounds N] [--entries N] [--value-bytes N] [--ops N] [--md FILE]
 *
 * The keys look like the cache's own (docs/caching.md, "Keys"), of the
 * length of those of `dbont-bench cache` (62-72 bytes); the values are --value-bytes
 * long (default 125: what bench_user_by_id_query_cached() stores for one
 * user).  With --md, a table is appended to FILE, with the columns of
 * the one `dbont-bench cache --only THREADS` writes.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cache_l1.h"

#define MAX_ROUNDS 64

static void die(const char *msg, const char *detail)
{
    fflush(stdout);
    fprintf(stderr, "dbont-bench-l1: error: %s%s\n", msg, detail ? detail : "");
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct summary {
    double med, min, max;
} summary;

static summary summarize(const double *v, size_t n)
{
    double w[MAX_ROUNDS];
    memcpy(w, v, n * sizeof *w);
    qsort(w, n, sizeof *w, cmp_double);
    summary s = {n % 2 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2, w[0], w[n - 1]};
    return s;
}

static const char *num(char *buf, size_t size, double v)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t n = strlen(digits), o = 0;
    for (size_t i = 0; i < n && o + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
    return buf;
}

/* ---- the cache and its keys ----------------------------------------------- */

typedef struct keyset {
    char **keys;
    size_t *klens;
    size_t *order; /* a fixed shuffle of 0..n-1: the order of the gets */
    size_t n;
    size_t kmin, kmax;
} keyset;

static keyset make_keys(size_t n)
{
    keyset ks = {0};
    ks.n = n;
    ks.keys = malloc(n * sizeof *ks.keys);
    ks.klens = malloc(n * sizeof *ks.klens);
    ks.order = malloc(n * sizeof *ks.order);
    if (!ks.keys || !ks.klens || !ks.order)
        die("out of memory", NULL);
    ks.kmin = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        char k[200];
        /* shaped as the benchmark's own: prefix, query, schema hash,
         * tenant (none), versions, the parameter's text form, then C1's
         * template "user:{{id}}" rendered */
        int len = snprintf(k, sizeof k, "dbont-bench:q:user_by_id_query:3f2a9c1d5e7b8a64::0.0.0:=%zu:user:%zu",
                           i + 1, i + 1);
        ks.keys[i] = malloc((size_t)len + 1);
        if (!ks.keys[i])
            die("out of memory", NULL);
        memcpy(ks.keys[i], k, (size_t)len + 1);
        ks.klens[i] = (size_t)len;
        ks.kmin = ks.klens[i] < ks.kmin ? ks.klens[i] : ks.kmin;
        ks.kmax = ks.klens[i] > ks.kmax ? ks.klens[i] : ks.kmax;
        ks.order[i] = i;
    }
    uint64_t x = 88172645463325252u; /* xorshift64: the same shuffle every run */
    for (size_t i = n - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t j = (size_t)(x % (i + 1));
        size_t t = ks.order[i];
        ks.order[i] = ks.order[j];
        ks.order[j] = t;
    }
    return ks;
}

/* ---- threads ------------------------------------------------------------------- */

/* CPU seconds the whole machine has been busy (/proc/stat), < 0 when unreadable. */
static double machine_busy(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]);
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    if (n != 8 || hz <= 0)
        return -1;
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)hz;
}

static double self_cpu(const struct rusage *u)
{
    return (double)u->ru_utime.tv_sec + (double)u->ru_utime.tv_usec * 1e-6 + (double)u->ru_stime.tv_sec +
           (double)u->ru_stime.tv_usec * 1e-6;
}

#define NOW_MS 1000 /* the clock the entries are put and read under */

typedef struct worker {
    pthread_t thread;
    pthread_barrier_t *go;
    dbont_l1 *l1;
    const keyset *ks;
    size_t from, count; /* reads order[from .. from + count) in a cycle */
    size_t start;       /* beginning at from + start */
    size_t ops;
    uint64_t sum;
    size_t misses;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    const keyset *ks = w->ks;
    uint64_t sum = 0;
    size_t misses = 0;
    pthread_barrier_wait(w->go);
    for (size_t i = 0; i < w->ops; i++) {
        size_t k = ks->order[w->from + (w->start + i) % w->count];
        void *val;
        size_t len;
        if (dbont_l1_get(w->l1, ks->keys[k], ks->klens[k], NOW_MS, &val, &len)) {
            sum += len + ((unsigned char *)val)[0];
            free(val);
        } else {
            misses++;
        }
    }
    w->sum = sum;
    w->misses = misses;
    return NULL;
}

typedef struct run {
    double rate;     /* gets per second, all threads */
    double switches; /* context switches per 1,000 gets */
    double seconds;
    double other_cpu; /* CPU seconds other processes took meanwhile (NAN: unknown) */
} run;

static run run_threads(dbont_l1 *l1, const keyset *ks, size_t nthreads, bool shared, size_t ops)
{
    worker w[2];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)nthreads + 1);
    for (size_t t = 0; t < nthreads; t++) {
        w[t] = (worker){0};
        w[t].go = &go;
        w[t].l1 = l1;
        w[t].ks = ks;
        w[t].ops = ops;
        if (shared) {
            w[t].from = 0;
            w[t].count = ks->n;
            w[t].start = ks->n * t / 2;
        } else {
            w[t].from = ks->n / 2 * t;
            w[t].count = ks->n / 2;
            w[t].start = 0;
        }
        if (pthread_create(&w[t].thread, NULL, worker_main, &w[t]) != 0)
            die("cannot start a thread", NULL);
    }
    struct rusage u0, u1;
    getrusage(RUSAGE_SELF, &u0);
    double b0 = machine_busy();
    pthread_barrier_wait(&go);
    double t0 = now();
    for (size_t t = 0; t < nthreads; t++)
        pthread_join(w[t].thread, NULL);
    double t1 = now();
    double b1 = machine_busy();
    getrusage(RUSAGE_SELF, &u1);
    pthread_barrier_destroy(&go);
    for (size_t t = 0; t < nthreads; t++)
        if (w[t].misses)
            die("a get missed: the cache does not hold every entry", NULL);
    double total = (double)(ops * nthreads);
    long sw = (u1.ru_nvcsw - u0.ru_nvcsw) + (u1.ru_nivcsw - u0.ru_nivcsw);
    /* /proc/stat counts in clock ticks: a run's figure may come out a
     * little below 0, which the average over runs evens out */
    /* in clock ticks: one run's figure may come out a little below 0,
     * which the average over the runs evens out */
    double other = b0 >= 0 && b1 >= 0 ? (b1 - b0) - (self_cpu(&u1) - self_cpu(&u0)) : NAN;
    run r = {total / (t1 - t0), (double)sw * 1000.0 / total, t1 - t0, other};
    return r;
}

static size_t arg_size(const char *opt, const char *value)
{
    char *end;
    if (!value)
        die("a value is missing after ", opt);
    unsigned long long v = strtoull(value, &end, 10);
    if (*end || end == value)
        die("not a number: ", value);
    return (size_t)v;
}

int main(int argc, char **argv)
{
    size_t rounds = 9, entries = 100000, value_bytes = 125, ops = 2000000;
    const char *md = NULL;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "--rounds"))
            rounds = arg_size(o, v);
        else if (!strcmp(o, "--entries"))
            entries = arg_size(o, v);
        else if (!strcmp(o, "--value-bytes"))
            value_bytes = arg_size(o, v);
        else if (!strcmp(o, "--ops"))
            ops = arg_size(o, v);
        else if (!strcmp(o, "--md") && v)
            md = v;
        else {
            fputs("usage: dbont-bench-l1 [--rounds N] [--entries N] [--value-bytes N] [--ops N] [--md FILE]\n",
                  stderr);
            return 2;
        }
        i++;
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || entries < 2 || !value_bytes || !ops)
        die("bad sizes (--rounds 1 to 64, --entries at least 2)", NULL);

    /* dbont's default bound (dbont_cache_options.memory_bytes 0: 64 MiB) and shards */
    size_t max_bytes = (size_t)64 << 20;
    dbont_l1 *l1 = dbont_l1_new(max_bytes, 0);
    if (!l1)
        die("out of memory", NULL);
    keyset ks = make_keys(entries);
    unsigned char *value = malloc(value_bytes);
    if (!value)
        die("out of memory", NULL);
    for (size_t i = 0; i < value_bytes; i++)
        value[i] = (unsigned char)(i * 31 + 7);
    for (size_t i = 0; i < entries; i++)
        if (!dbont_l1_put(l1, ks.keys[i], ks.klens[i], value, value_bytes, UINT64_MAX))
            die("an entry was not stored", NULL);
    dbont_l1_stats st;
    dbont_l1_stats_get(l1, &st);
    if (st.entries != entries || st.evictions)
        die("the entries do not fit in 64 MiB: fewer --entries or --value-bytes", NULL);
    printf("dbont-bench-l1: %zu entries (%zu bytes), keys %zu-%zu bytes, values %zu bytes; %zu gets per thread "
           "and run, %zu rounds\n",
           st.entries, st.bytes, ks.kmin, ks.kmax, value_bytes, ops, rounds);

    FILE *f = NULL;
    if (md) {
        f = fopen(md, "a");
        if (!f)
            die("cannot write ", md);
        fprintf(f, "%s| hits through | keys | 1 thread, hits/s | 2 threads, hits/s | 2 threads / 1 | per round "
                       "(median, min-max) | context switches per 1,000 hits, 1 / 2 threads | target |\n"
                       "|---|---|---:|---:|---:|---:|---:|---|\n",
                ftell(f) > 0 ? "\n" : "");
    }
    double latency = 0, other_cpu = 0, other_seconds = 0;
    bool other_known = true;
    static const char *const modes[] = {"distinct", "shared"};
    for (size_t m = 0; m < 2; m++) {
        bool shared = m == 1;
        double one[MAX_ROUNDS], two[MAX_ROUNDS], ratio[MAX_ROUNDS], sw1 = 0, sw2 = 0;
        printf("  %s keys, rounds:", modes[m]);
        for (size_t r = 0; r < rounds; r++) {
            run x1, x2;
            if (r % 2 == 0) {
                x1 = run_threads(l1, &ks, 1, shared, ops);
                x2 = run_threads(l1, &ks, 2, shared, ops);
            } else {
                x2 = run_threads(l1, &ks, 2, shared, ops);
                x1 = run_threads(l1, &ks, 1, shared, ops);
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
        summary s1 = summarize(one, rounds), s2 = summarize(two, rounds), sr = summarize(ratio, rounds);
        double rr = s2.med / s1.med;
        if (shared)
            latency = 1e9 / s1.med;
        printf("  %-9s 1 thread %11.0f gets/s (%.0f ns), 2 threads %11.0f gets/s: %.2fx (per round %.2f, "
               "%.2f-%.2f), context switches per 1,000 gets %.3f / %.3f\n",
               modes[m], s1.med, 1e9 / s1.med, s2.med, rr, sr.med, sr.min, sr.max, sw1 / (double)rounds,
               sw2 / (double)rounds);
        if (f) {
            char n1[32], n2[32], n3[32], keys[160], klens[48];
            if (ks.kmin == ks.kmax)
                snprintf(klens, sizeof klens, "%zu", ks.kmin);
            else
                snprintf(klens, sizeof klens, "%zu-%zu", ks.kmin, ks.kmax);
            if (shared)
                snprintf(keys, sizeof keys, "shared: each thread reads all %s, from its own starting point",
                         num(n3, sizeof n3, (double)entries));
            else
                snprintf(keys, sizeof keys, "distinct: each thread its own %s (1 thread: the first half)",
                         num(n3, sizeof n3, (double)(entries / 2)));
            fprintf(f,
                    "| `dbont_l1_get()` alone (dbont-bench-l1), %s entries, %s-byte keys, %zu-byte values | "
                    "%s | %s | %s | %.2fx | %.2fx (%.2f-%.2f) | %.2f / %.2f | ≥ 1.8: %s |\n",
                    num(n3, sizeof n3, (double)entries), klens, value_bytes, keys, num(n1, sizeof n1, s1.med),
                    num(n2, sizeof n2, s2.med), rr, sr.med, sr.min, sr.max, sw1 / (double)rounds,
                    sw2 / (double)rounds, rr >= 1.8 ? "met" : "MISSED");
        }
    }
    double load = other_known ? (other_cpu > 0 ? other_cpu / other_seconds : 0) : -1;
    if (load >= 0)
        printf("  (other activity on the machine during these runs: %.2f CPUs on average)\n", load);
    if (f) {
        char n4[32];
        fprintf(f, "\nA `dbont_l1_get()` hit alone (lookup, copy of the value, the caller's free), 1 thread, %s "
                   "entries: %.0f ns.",
                num(n4, sizeof n4, (double)entries), latency);
        if (load >= 0)
            fprintf(f, " Other activity on the machine during the runs of dbont-bench-l1: %.2f CPUs on average.",
                    load);
        fprintf(f, "\n\n");
        fclose(f);
    }
    dbont_l1_free(l1);
    free(value);
    for (size_t i = 0; i < entries; i++)
        free(ks.keys[i]);
    free(ks.keys);
    free(ks.klens);
    free(ks.order);
    return 0;
}
