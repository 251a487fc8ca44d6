/*
 * fanout.c: `dbont-bench fanout`, a query over 4 shards against the same
 * query on one server (docs/performance.md, "Scale-out"; docs/scale-out.md,
 * "Queries over every shard").
 *
 * bench_shards.ttl spreads one table, events, over 4 shards by id and
 * declares three queries that do not pin id, so dbont-gen makes each of
 * them twice: bench_shards_<q>_fanout(), which runs the query on every
 * shard of a shard set at once and merges the rows (dbont/fanout.h), and
 * the plain bench_shards_<q>() on one connection.  Timed against each
 * other, on the same parameters:
 *
 *   F1  the 10 best scores below a bound (ORDER BY score DESC LIMIT 10):
 *       each shard reads 10 entries of its score index backwards, the
 *       merge keeps the best 10 of the 40;
 *   F2  the same by a text key (ORDER BY name DESC LIMIT 10), which the
 *       shards sort, and the merge compares, bytewise (COLLATE "C");
 *   F3  per kind: count(*), sum(score), min(name), max(score) over every
 *       row (GROUP BY kind): each shard aggregates its quarter, the merge
 *       adds the counts and sums and keeps the extremes.
 *
 * The dbont side is the fan-out function over the 4 shards' primaries
 * (a dbont_shardset from $DBONT_SHARDS_CONF or DBONT_SHARD_*, as
 * tests/pg/with-shards.sh exports them); the baseline is the plain
 * function on one connection to the "oracle", a database of shard 0's
 * server that holds all the rows.  Each round runs --calls calls of each
 * side (--agg-calls for F3, which reads every row), cut into --slices
 * slices run in turn (A B, B A, ...); the figures are medians over the
 * rounds.  Each round first compares the two sides' complete results on
 * one call's parameters (every column, the sums exactly: see make_rows),
 * and the timed calls fold their rows into a checksum per side, which
 * must agree: a fan-out that merged wrongly stops the benchmark.
 *
 * F1 also times, as a third side, what bench_shards_<q>_fanout() does
 * around the query: acquiring the 4 shards' connections from their pools
 * and releasing them, which cleans each connection with one round trip
 * (dbont/pool.h), shard after shard.
 *
 * Setup (untimed): the migrations of bench/shards-migrations must have
 * been applied to every shard and to the oracle (bench.sh does it with
 * dbont-migrate).  The program empties the table everywhere, loads --rows
 * rows into the shards with bench_shards_events_copy_sharded() and into
 * the oracle with bench_shards_events_copy(), checks each shard's count
 * against the router, adds the COLLATE "C" index the fan-out's F2 needs
 * (bench_shards.ttl says why), runs VACUUM (ANALYZE) and a CHECKPOINT on
 * every server and waits for shard 0's standby to replay it all, so that
 * none of that runs during the timed calls.  After the warm-up it prints
 * the plans of the statements prepared on shard 0 and on the oracle.
 *
 * Nothing is pinned: 4 primaries, a standby and the client cannot be
 * placed apart on 2 CPUs, so BENCH_PIN does not apply here.  With --md,
 * the table and notes are appended to FILE.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bench_shards.h" /* generated */
#include "bm.h"

#define MAX_ROUNDS BM_MAX_ROUNDS
#define NSHARDS BENCH_SHARDS_EVENTS_SHARD_COUNT
#define KINDS 16
#define SCORE_UNIT 1024.0 /* scores are multiples of 1/1024: see make_rows */
#define NAME_MAX_LEN 16   /* "ev-" and 8 digits, and the NUL */

static const char usage[] =
    "usage: dbont-bench fanout [--rounds N] [--slices N] [--rows N] [--calls N] [--agg-calls N]\n"
    "                          [--only F1,F2,F3] [--oracle DSN] [--md FILE]\n";

/* ---- state ----------------------------------------------------------------- */

typedef struct bench {
    dbont_shardset *set;
    dbont_conn *oracle;
    size_t nrows, rounds, slices, calls, agg_calls;
    const char *only;
    FILE *md;
    /* The backends that serve the timed calls, for their CPU time: each
     * shard's pooled connection (serial use keeps one per pool) and the
     * oracle's.  server_cpu_ok turns false when a pool opened another. */
    int shard_pid[NSHARDS];
    int oracle_pid;
    bool server_cpu_ok;
    /* F1's third side: acquiring and releasing the 4 connections, per
     * call (median; < 0: not timed) and its client CPU */
    double pool_s, pool_cpu;
    /* the parameters of the calls of one round */
    double *score_bounds;
    char (*name_bounds)[NAME_MAX_LEN];
} bench;

static void die_dbont(const char *what, const dbont_error *err)
{
    bm_die("%s: %s (SQLSTATE %s)", what, err->message, err->sqlstate);
}

/* ---- small helpers ------------------------------------------------------ */

static double self_cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec +
           (double)u.ru_stime.tv_usec * 1e-6;
}

/* CPU seconds of process pid so far (/proc/PID/schedstat: nanoseconds on
 * the CPU, readable for other users' processes too); < 0 when unreadable. */
static double cpu_of(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    unsigned long long ns;
    int ok = fscanf(f, "%llu", &ns) == 1;
    fclose(f);
    return ok ? (double)ns * 1e-9 : -1;
}

/* The CPU seconds so far of the backends serving the fan-out (shards) or
 * the single-server calls; < 0 when one is unreadable. */
static double backends_cpu(const bench *b, bool shards)
{
    if (!shards)
        return cpu_of(b->oracle_pid);
    double sum = 0;
    for (int i = 0; i < NSHARDS; i++) {
        double c = cpu_of(b->shard_pid[i]);
        if (c < 0)
            return -1;
        sum += c;
    }
    return sum;
}

static int shard_backend(bench *b, int shard)
{
    dbont_error err;
    dbont_conn *c = dbont_shardset_acquire(b->set, shard, DBONT_SHARD_PRIMARY, &err);
    if (!c)
        die_dbont("dbont_shardset_acquire", &err);
    int pid = PQbackendPID(dbont_conn_pg(c));
    dbont_shardset_release(b->set, c);
    return pid;
}

/* Runs sql (one statement, no rows wanted) on conn; dies on failure. */
static void exec_on(dbont_conn *conn, const char *where, const char *sql)
{
    dbont_error err;
    if (dbont_exec(conn, sql, &err) != DBONT_OK)
        bm_die("%s: %s: %s (SQLSTATE %s)", where, sql, err.message, err.sqlstate);
}

/* Calls fn(conn, where, arg) on each shard's primary, then on the oracle. */
static void on_every_server(bench *b, void (*fn)(dbont_conn *, const char *, const void *), const void *arg)
{
    for (int i = 0; i < NSHARDS; i++) {
        dbont_error err;
        dbont_conn *c = dbont_shardset_acquire(b->set, i, DBONT_SHARD_PRIMARY, &err);
        if (!c)
            die_dbont("dbont_shardset_acquire", &err);
        char where[32];
        snprintf(where, sizeof where, "shard %d", i);
        fn(c, where, arg);
        dbont_shardset_release(b->set, c);
    }
    fn(b->oracle, "oracle", arg);
}

static void exec_fn(dbont_conn *c, const char *where, const void *sql)
{
    exec_on(c, where, sql);
}

/* ---- the rows ----------------------------------------------------------------- */

/* A multiplier prime to n, so that i -> (i * m + c) % n permutes 0..n-1. */
static uint64_t coprime(uint64_t n, uint64_t m)
{
    for (;; m += 2) {
        uint64_t a = m, c = n;
        while (c) {
            uint64_t t = a % c;
            a = c;
            c = t;
        }
        if (a == 1)
            return m;
    }
}

/*
 * Row i (0 .. n-1): id i + 1, account 1 .. 1000, kind 0 .. 15, a score and
 * a name that are permutations of 0 .. n-1 in other orders than the ids,
 * so that no query's order follows the id's shards.  Scores are distinct
 * multiples of 1/1024 below n/1024: every sum of them is exact in double
 * precision (below 2^53 / 1024), in whatever order the shards, the merge
 * and the oracle add them, so the check compares sums exactly.  Names
 * "ev-NNNNNNNN" (8 digits) sort alike bytewise and in any collation.
 * The strings live in names (freed by the caller).
 */
static bench_shards_events_new *make_rows(size_t n, char **names)
{
    bench_shards_events_new *rows = malloc(n * sizeof *rows);
    char *block = malloc(n * NAME_MAX_LEN);
    if (!rows || !block)
        bm_die("fanout: out of memory for %zu rows", n);
    uint64_t ms = coprime(n, 48271), mn = coprime(n, 69621);
    for (size_t i = 0; i < n; i++) {
        char *name = block + i * NAME_MAX_LEN;
        /* (n < 10^8: the modulo only tells the compiler the width) */
        snprintf(name, NAME_MAX_LEN, "ev-%08u", (unsigned)((i * mn + 777) % n % 100000000u));
        rows[i] = (bench_shards_events_new){(int64_t)i + 1, (int64_t)(i % 1000) + 1,
                                            (double)((i * ms + 12345) % n + 1) / SCORE_UNIT, name,
                                            (int32_t)(i % KINDS)};
    }
    *names = block;
    return rows;
}

/* The bounds of call k: at least 10 rows lie below each (scores run from
 * 1/1024 to n/1024, names from ev-00000000 to n - 1), and successive
 * calls read pages spread over the whole order (7919 is prime). */
static double score_bound(size_t k, size_t n)
{
    return (double)(11 + (k * 7919) % (n - 10)) / SCORE_UNIT;
}

static void name_bound(char *buf, size_t k, size_t n)
{
    snprintf(buf, NAME_MAX_LEN, "ev-%08u", (unsigned)((10 + (k * 7919) % (n - 10)) % 100000000u));
}

static void count_fn(dbont_conn *c, const char *where, const void *arg)
{
    const size_t *expected = arg;
    PGresult *r = PQexec(dbont_conn_pg(c), "SELECT count(*) FROM events");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        bm_die("%s: SELECT count(*) FROM events: %s", where, PQresultErrorMessage(r));
    size_t got = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    int shard = -1;
    sscanf(where, "shard %d", &shard);
    size_t want = shard >= 0 ? expected[shard] : expected[NSHARDS];
    if (got != want)
        bm_die("%s holds %zu rows, the router sends it %zu", where, got, want);
}

static void check_table_fn(dbont_conn *c, const char *where, const void *arg)
{
    (void)arg;
    PGresult *r = PQexec(dbont_conn_pg(c), "SELECT to_regclass('events') IS NOT NULL");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (!ok)
        bm_die("%s has no table events: apply bench/shards-migrations first (dbont-migrate --dsn DSN "
               "--dir bench/shards-migrations up; bench/bench.sh's fanout part does it)",
               where);
    exec_on(c, where, "TRUNCATE events");
}

static void load(bench *b)
{
    on_every_server(b, check_table_fn, NULL);
    char *names;
    bench_shards_events_new *rows = make_rows(b->nrows, &names);
    size_t expected[NSHARDS + 1] = {0};
    for (size_t i = 0; i < b->nrows; i++)
        expected[bench_shards_events_shard_of(rows[i].id)]++;
    expected[NSHARDS] = b->nrows;

    dbont_error err;
    size_t failed = 0;
    double t0 = bm_now();
    if (bench_shards_events_copy_sharded(b->set, rows, b->nrows, &failed, &err) != DBONT_OK)
        bm_die("bench_shards_events_copy_sharded: row %zu: %s (SQLSTATE %s)", failed, err.message, err.sqlstate);
    double t1 = bm_now();
    if (bench_shards_events_copy(b->oracle, rows, b->nrows, &failed, &err) != DBONT_OK)
        bm_die("bench_shards_events_copy (oracle): row %zu: %s (SQLSTATE %s)", failed, err.message, err.sqlstate);
    double t2 = bm_now();
    on_every_server(b, count_fn, expected);
    char n1[32];
    printf("loaded %s rows: into the 4 shards (%zu, %zu, %zu, %zu rows, as the router says) with "
           "bench_shards_events_copy_sharded() in %.2f s, into the oracle with bench_shards_events_copy() in "
           "%.2f s\n",
           bm_num(n1, sizeof n1, (double)b->nrows), expected[0], expected[1], expected[2], expected[3], t1 - t0,
           t2 - t1);
    free(rows);
    free(names);

    /* The fan-out's F2 sorts name COLLATE "C", which the ontology's index
     * on name does not serve (bench_shards.ttl); the same index on every
     * server, the oracle's plain query keeping its own. */
    on_every_server(b, exec_fn, "CREATE INDEX IF NOT EXISTS events_name_c_idx ON events (name COLLATE \"C\")");
    /* Statistics for the planner, the visibility map for index-only
     * work, and nothing left for autovacuum or a checkpoint to do during
     * the timed calls. */
    on_every_server(b, exec_fn, "VACUUM (ANALYZE) events");
    on_every_server(b, exec_fn, "CHECKPOINT");
}

/* Waits (up to 60 s) until shard 0's standbys, if any, have replayed all
 * of shard 0's WAL (the oracle is on that server too): their replay
 * would otherwise take CPU during the first timed calls. */
static void wait_standbys(bench *b)
{
    dbont_error err;
    dbont_conn *c = dbont_shardset_acquire(b->set, 0, DBONT_SHARD_PRIMARY, &err);
    if (!c)
        die_dbont("dbont_shardset_acquire", &err);
    double t0 = bm_now();
    for (;;) {
        int64_t behind = bm_query_i64(dbont_conn_pg(c),
                                      "SELECT count(*) FROM pg_stat_replication "
                                      "WHERE replay_lsn IS NULL OR replay_lsn < pg_current_wal_lsn()");
        if (behind == 0)
            break;
        if (bm_now() - t0 > 60) {
            printf("(shard 0's standby still replaying after 60 s: timing anyway)\n");
            break;
        }
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    dbont_shardset_release(b->set, c);
}

/* ---- the queries ----------------------------------------------------------------- */

/* A row of F1 or F2 (the generated structs have the same members). */
#define FOLD_ROW(sum, r)                                                                                             \
    do {                                                                                                             \
        uint64_t bits_;                                                                                              \
        memcpy(&bits_, &(r).score, sizeof bits_);                                                                    \
        (sum) = bm_mix((sum), (uint64_t)(r).id);                                                                     \
        (sum) = bm_mix((sum), (uint64_t)(r).account ^ (uint64_t)(r).kind << 32);                                     \
        (sum) = bm_mix((sum), bits_);                                                                                \
        (sum) = bm_mix_str((sum), (r).name);                                                                         \
    } while (0)

/* Compares two results of F1 or F2 (of row type T) row by row, every
 * column exactly. */
#define SAME_ROWS(T, what, k, a, b_)                                                                                 \
    do {                                                                                                             \
        if ((a).count != (b_).count)                                                                                 \
            bm_die("%s, call %zu: the fan-out returned %zu rows, one server %zu", (what), (k), (a).count,           \
                   (b_).count);                                                                                      \
        for (size_t j_ = 0; j_ < (a).count; j_++) {                                                                  \
            const T *x_ = &(a).rows[j_], *y_ = &(b_).rows[j_];                                                       \
            if (x_->id != y_->id || x_->account != y_->account || x_->score != y_->score || x_->kind != y_->kind ||  \
                strcmp(x_->name, y_->name))                                                                          \
                bm_die("%s, call %zu, row %zu: the fan-out returned id %lld (score %.17g, name %s), one server "     \
                       "id %lld (score %.17g, name %s)",                                                             \
                       (what), (k), j_, (long long)x_->id, x_->score, x_->name, (long long)y_->id, y_->score,        \
                       y_->name);                                                                                    \
        }                                                                                                            \
    } while (0)

static uint64_t f1_fanout(bench *b, size_t from, size_t to)
{
    uint64_t sum = 0;
    dbont_error err;
    for (size_t i = from; i < to; i++) {
        bench_shards_top_by_score_query_rows rows;
        if (bench_shards_top_by_score_query_fanout(b->set, DBONT_SHARD_PRIMARY, 0, b->score_bounds[i], &rows, NULL,
                                                   &err) != DBONT_OK)
            die_dbont("bench_shards_top_by_score_query_fanout", &err);
        for (size_t j = 0; j < rows.count; j++)
            FOLD_ROW(sum, rows.rows[j]);
        bench_shards_top_by_score_query_rows_free(&rows);
    }
    return sum;
}

static uint64_t f1_single(bench *b, size_t from, size_t to)
{
    uint64_t sum = 0;
    dbont_error err;
    for (size_t i = from; i < to; i++) {
        bench_shards_top_by_score_query_rows rows;
        if (bench_shards_top_by_score_query(b->oracle, b->score_bounds[i], &rows, &err) != DBONT_OK)
            die_dbont("bench_shards_top_by_score_query", &err);
        for (size_t j = 0; j < rows.count; j++)
            FOLD_ROW(sum, rows.rows[j]);
        bench_shards_top_by_score_query_rows_free(&rows);
    }
    return sum;
}

static void f1_check(bench *b, size_t k)
{
    dbont_error err;
    bench_shards_top_by_score_query_rows fan, one;
    double bound = score_bound(k, b->nrows);
    if (bench_shards_top_by_score_query_fanout(b->set, DBONT_SHARD_PRIMARY, 0, bound, &fan, NULL, &err) != DBONT_OK)
        die_dbont("bench_shards_top_by_score_query_fanout", &err);
    if (bench_shards_top_by_score_query(b->oracle, bound, &one, &err) != DBONT_OK)
        die_dbont("bench_shards_top_by_score_query", &err);
    if (one.count != 10)
        bm_die("F1, call %zu: %zu rows on one server, expected 10", k, one.count);
    SAME_ROWS(bench_shards_top_by_score_query_row, "F1", k, fan, one);
    bench_shards_top_by_score_query_rows_free(&fan);
    bench_shards_top_by_score_query_rows_free(&one);
}

static uint64_t f2_fanout(bench *b, size_t from, size_t to)
{
    uint64_t sum = 0;
    dbont_error err;
    for (size_t i = from; i < to; i++) {
        bench_shards_top_by_name_query_rows rows;
        if (bench_shards_top_by_name_query_fanout(b->set, DBONT_SHARD_PRIMARY, 0, b->name_bounds[i], &rows, NULL,
                                                  &err) != DBONT_OK)
            die_dbont("bench_shards_top_by_name_query_fanout", &err);
        for (size_t j = 0; j < rows.count; j++)
            FOLD_ROW(sum, rows.rows[j]);
        bench_shards_top_by_name_query_rows_free(&rows);
    }
    return sum;
}

static uint64_t f2_single(bench *b, size_t from, size_t to)
{
    uint64_t sum = 0;
    dbont_error err;
    for (size_t i = from; i < to; i++) {
        bench_shards_top_by_name_query_rows rows;
        if (bench_shards_top_by_name_query(b->oracle, b->name_bounds[i], &rows, &err) != DBONT_OK)
            die_dbont("bench_shards_top_by_name_query", &err);
        for (size_t j = 0; j < rows.count; j++)
            FOLD_ROW(sum, rows.rows[j]);
        bench_shards_top_by_name_query_rows_free(&rows);
    }
    return sum;
}

static void f2_check(bench *b, size_t k)
{
    dbont_error err;
    bench_shards_top_by_name_query_rows fan, one;
    char bound[NAME_MAX_LEN];
    name_bound(bound, k, b->nrows);
    if (bench_shards_top_by_name_query_fanout(b->set, DBONT_SHARD_PRIMARY, 0, bound, &fan, NULL, &err) != DBONT_OK)
        die_dbont("bench_shards_top_by_name_query_fanout", &err);
    if (bench_shards_top_by_name_query(b->oracle, bound, &one, &err) != DBONT_OK)
        die_dbont("bench_shards_top_by_name_query", &err);
    if (one.count != 10)
        bm_die("F2, call %zu: %zu rows on one server, expected 10", k, one.count);
    SAME_ROWS(bench_shards_top_by_name_query_row, "F2", k, fan, one);
    bench_shards_top_by_name_query_rows_free(&fan);
    bench_shards_top_by_name_query_rows_free(&one);
}

static uint64_t fold_kinds(const bench_shards_kind_stats_query_rows *rows, uint64_t sum)
{
    for (size_t j = 0; j < rows->count; j++) {
        const bench_shards_kind_stats_query_row *r = &rows->rows[j];
        uint64_t total, best;
        memcpy(&total, &r->total_score, sizeof total);
        memcpy(&best, &r->best_score, sizeof best);
        sum = bm_mix(sum, (uint64_t)r->kind << 32 ^ (uint64_t)r->events);
        sum = bm_mix(sum, total ^ best);
        sum = bm_mix_str(sum, r->first_name_is_null ? "" : r->first_name);
    }
    return sum;
}

static uint64_t f3_fanout(bench *b, size_t from, size_t to)
{
    uint64_t sum = 0;
    dbont_error err;
    for (size_t i = from; i < to; i++) {
        bench_shards_kind_stats_query_rows rows;
        if (bench_shards_kind_stats_query_fanout(b->set, DBONT_SHARD_PRIMARY, 0, &rows, NULL, &err) != DBONT_OK)
            die_dbont("bench_shards_kind_stats_query_fanout", &err);
        sum = fold_kinds(&rows, sum);
        bench_shards_kind_stats_query_rows_free(&rows);
    }
    return sum;
}

static uint64_t f3_single(bench *b, size_t from, size_t to)
{
    uint64_t sum = 0;
    dbont_error err;
    for (size_t i = from; i < to; i++) {
        bench_shards_kind_stats_query_rows rows;
        if (bench_shards_kind_stats_query(b->oracle, &rows, &err) != DBONT_OK)
            die_dbont("bench_shards_kind_stats_query", &err);
        sum = fold_kinds(&rows, sum);
        bench_shards_kind_stats_query_rows_free(&rows);
    }
    return sum;
}

static void f3_check(bench *b, size_t k)
{
    dbont_error err;
    bench_shards_kind_stats_query_rows fan, one;
    if (bench_shards_kind_stats_query_fanout(b->set, DBONT_SHARD_PRIMARY, 0, &fan, NULL, &err) != DBONT_OK)
        die_dbont("bench_shards_kind_stats_query_fanout", &err);
    if (bench_shards_kind_stats_query(b->oracle, &one, &err) != DBONT_OK)
        die_dbont("bench_shards_kind_stats_query", &err);
    size_t expect = b->nrows < KINDS ? b->nrows : KINDS;
    if (fan.count != one.count || one.count != expect)
        bm_die("F3, round %zu: the fan-out returned %zu groups, one server %zu, expected %zu", k, fan.count,
               one.count, expect);
    int64_t events = 0;
    for (size_t j = 0; j < one.count; j++) {
        const bench_shards_kind_stats_query_row *x = &fan.rows[j], *y = &one.rows[j];
        /* the sums exactly: make_rows makes every partial sum exact */
        if (x->kind != y->kind || x->events != y->events || x->total_score_is_null != y->total_score_is_null ||
            x->total_score != y->total_score || x->best_score_is_null != y->best_score_is_null ||
            x->best_score != y->best_score || x->first_name_is_null != y->first_name_is_null ||
            (!x->first_name_is_null && strcmp(x->first_name, y->first_name)))
            bm_die("F3, round %zu, group %zu: the fan-out returned kind %d, %lld events, sum %.17g, min %s, max "
                   "%.17g; one server kind %d, %lld events, sum %.17g, min %s, max %.17g",
                   k, j, (int)x->kind, (long long)x->events, x->total_score,
                   x->first_name_is_null ? "NULL" : x->first_name, x->best_score, (int)y->kind,
                   (long long)y->events, y->total_score, y->first_name_is_null ? "NULL" : y->first_name, y->best_score);
        events += y->events;
    }
    if ((size_t)events != b->nrows)
        bm_die("F3: the groups count %lld events, %zu rows were loaded", (long long)events, b->nrows);
    bench_shards_kind_stats_query_rows_free(&fan);
    bench_shards_kind_stats_query_rows_free(&one);
}

/* What bench_shards_<q>_fanout() does around the query (dbont_sharded_fanout):
 * every shard's connection acquired, then every one released. */
static uint64_t pool_cycle(bench *b, size_t from, size_t to)
{
    dbont_error err;
    for (size_t i = from; i < to; i++) {
        dbont_conn *c[NSHARDS];
        for (int s = 0; s < NSHARDS; s++)
            if ((c[s] = dbont_shardset_acquire(b->set, s, DBONT_SHARD_PRIMARY, &err)) == NULL)
                die_dbont("dbont_shardset_acquire", &err);
        for (int s = 0; s < NSHARDS; s++)
            dbont_shardset_release(b->set, c[s]);
    }
    return 0;
}

typedef uint64_t (*calls_fn)(bench *b, size_t from, size_t to);

typedef struct query {
    const char *id;
    const char *what;      /* its row's first cell */
    const char *fn;        /* the generated function, without _fanout */
    calls_fn fanout, single;
    void (*check)(bench *b, size_t k);
    bool aggregate;        /* reads every row: --agg-calls calls */
    bool with_pool;        /* also times pool_cycle */
} query;

static const query queries[] = {
    {"F1", "F1 the 10 best scores below a bound (`WHERE score < $1 ORDER BY score DESC LIMIT 10`)",
     "bench_shards_top_by_score_query",
     f1_fanout, f1_single, f1_check, false, true},
    {"F2",
     "F2 the same by a text key, bytewise (`WHERE name COLLATE \"C\" < $1 ORDER BY name COLLATE \"C\" DESC LIMIT "
     "10`)",
     "bench_shards_top_by_name_query",
     f2_fanout, f2_single, f2_check, false, false},
    {"F3", "F3 per kind: `count(*)`, `sum(score)`, `min(name)`, `max(score)` over every row (`GROUP BY kind`, 16 "
           "groups)",
     "bench_shards_kind_stats_query", f3_fanout, f3_single, f3_check, true, false},
};
#define NQUERIES (sizeof queries / sizeof queries[0])

static bool selected(const char *only, const char *id)
{
    if (!only)
        return true;
    size_t n = strlen(id);
    for (const char *p = only; (p = strstr(p, id)) != NULL; p += n)
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
            return true;
    return false;
}

/* ---- timing ------------------------------------------------------------------------ */

enum { FAN, ONE, POOL, NSIDES };

typedef struct side {
    double seconds, client_cpu, server_cpu;
    uint64_t sum;
} side;

/* Calls [from, to) of one side, timed and added to *s. */
static void timed(bench *b, const query *q, int which, size_t from, size_t to, side *s)
{
    calls_fn fn = which == FAN ? q->fanout : which == ONE ? q->single : pool_cycle;
    /* The server side is the backends serving the calls, read precisely
     * (schedstat).  Not the machine's other activity, as cache.c reports
     * it: /proc/stat samples at the clock tick, which misses much of
     * these calls' short bursts (it came out below what the client and
     * the backends alone used). */
    bool shards = which != ONE;
    double server0 = backends_cpu(b, shards), c0 = self_cpu(), t0 = bm_now();
    s->sum += fn(b, from, to);
    double t1 = bm_now(), c1 = self_cpu(), server1 = backends_cpu(b, shards);
    s->seconds += t1 - t0;
    s->client_cpu += c1 - c0;
    if (server0 < 0 || server1 < 0)
        b->server_cpu_ok = false;
    s->server_cpu += server1 - server0;
}

/* The parameters of round r's calls: call i of round r is call
 * r * calls + i of the run, so that rounds read different pages. */
static void round_params(bench *b, size_t r, size_t calls)
{
    for (size_t i = 0; i < calls; i++) {
        size_t k = r * calls + i;
        b->score_bounds[i] = score_bound(k, b->nrows);
        name_bound(b->name_bounds[i], k, b->nrows);
    }
}

/* Whether every pool still serves the backend whose CPU time is read. */
static void check_backends(bench *b)
{
    for (int i = 0; i < NSHARDS; i++)
        if (shard_backend(b, i) != b->shard_pid[i])
            b->server_cpu_ok = false;
}

static void time_query(bench *b, const query *q)
{
    size_t calls = q->aggregate ? b->agg_calls : b->calls, nsides = q->with_pool ? 3 : 2;
    double per_call[NSIDES][MAX_ROUNDS], client[NSIDES][MAX_ROUNDS], server[NSIDES][MAX_ROUNDS], ratio[MAX_ROUNDS];
    printf("%s, %s_fanout() against %s(): %zu rounds of %zu calls per side in %zu slices, one server / fan-out:",
           q->id, q->fn, q->fn, b->rounds, calls, b->slices);
    fflush(stdout);

    /* untimed: each side's statements prepared on its connections, the
     * pages read into shared buffers */
    size_t warm = q->aggregate ? 3 : calls / 10 + 1;
    round_params(b, b->rounds, calls);
    q->fanout(b, 0, warm < calls ? warm : calls);
    q->single(b, 0, warm < calls ? warm : calls);

    for (size_t r = 0; r < b->rounds; r++) {
        q->check(b, r);
        round_params(b, r, calls);
        side s[NSIDES];
        memset(s, 0, sizeof s);
        for (size_t sl = 0; sl < b->slices; sl++) {
            size_t from = calls * sl / b->slices, to = calls * (sl + 1) / b->slices;
            for (size_t j = 0; j < nsides; j++)
                timed(b, q, (int)((j + sl + r) % nsides), from, to, &s[(j + sl + r) % nsides]);
        }
        if (s[FAN].sum != s[ONE].sum)
            bm_die("%s, round %zu: the fan-out and one server read different rows (checksums %llx, %llx)", q->id, r,
                   (unsigned long long)s[FAN].sum, (unsigned long long)s[ONE].sum);
        for (size_t w = 0; w < nsides; w++) {
            per_call[w][r] = s[w].seconds / (double)calls;
            client[w][r] = s[w].client_cpu / (double)calls;
            server[w][r] = s[w].server_cpu / (double)calls;
        }
        ratio[r] = s[ONE].seconds / s[FAN].seconds;
        printf(" %.2fx", ratio[r]);
        fflush(stdout);
    }
    printf("\n");
    check_backends(b);

    bm_summary fan = bm_summarize(per_call[FAN], b->rounds), one = bm_summarize(per_call[ONE], b->rounds);
    bm_summary rr = bm_summarize(ratio, b->rounds);
    double cf = bm_summarize(client[FAN], b->rounds).med, co = bm_summarize(client[ONE], b->rounds).med;
    double sf = bm_summarize(server[FAN], b->rounds).med, so = bm_summarize(server[ONE], b->rounds).med;
    char t1[32], t2[32], r1[32], r2[32], c1[32], c2[32], s1[32], s2[32], server_cell[80] = "-";
    if (b->server_cpu_ok)
        snprintf(server_cell, sizeof server_cell, "%s / %s", bm_dur(s1, sizeof s1, sf), bm_dur(s2, sizeof s2, so));
    printf("  fan-out %s (%s-%s), one server %s (%s-%s): %.2fx (per round %.2fx, %.2f-%.2f); client CPU per call "
           "%s / %s; server CPU per call %s\n",
           bm_dur(t1, sizeof t1, fan.med), bm_dur(r1, sizeof r1, fan.min), bm_dur(r2, sizeof r2, fan.max),
           bm_dur(t2, sizeof t2, one.med), bm_dur(c1, sizeof c1, one.min), bm_dur(c2, sizeof c2, one.max), one.med / fan.med,
           rr.med, rr.min, rr.max, bm_dur(s1, sizeof s1, cf), bm_dur(s2, sizeof s2, co), server_cell);
    if (b->md)
        fprintf(b->md, "| %s | %s (%s/s) | %s (%s/s) | %.2fx | %.2fx (%.2f-%.2f) | %s / %s | %s |\n", q->what,
                bm_dur(t1, sizeof t1, fan.med), bm_num(r1, sizeof r1, 1 / fan.med), bm_dur(t2, sizeof t2, one.med),
                bm_num(r2, sizeof r2, 1 / one.med), one.med / fan.med, rr.med, rr.min, rr.max, bm_dur(c1, sizeof c1, cf),
                bm_dur(c2, sizeof c2, co), server_cell);
    if (q->with_pool) {
        bm_summary p = bm_summarize(per_call[POOL], b->rounds);
        char p1[32], p2[32], p3[32], p4[32];
        b->pool_s = p.med;
        b->pool_cpu = bm_summarize(client[POOL], b->rounds).med;
        printf("  acquiring and releasing the 4 connections alone: %s per call (%s-%s), client CPU %s\n",
               bm_dur(p1, sizeof p1, p.med), bm_dur(p2, sizeof p2, p.min), bm_dur(p3, sizeof p3, p.max),
               bm_dur(p4, sizeof p4, b->pool_cpu));
    }
}

/* ---- plans ------------------------------------------------------------------------- */

/* "Limit > Index Scan Backward using events_score_idx": the plan's nodes
 * (EXPLAIN (COSTS OFF) lines that are nodes, not their details). */
static void plan_line(PGconn *pg, const char *name, const char *types, char *out, size_t size)
{
    /* example parameters: bench_shards.ttl's db:params */
    char sql[256];
    const char *args = !strcmp(types, "{\"double precision\"}") ? "(50)"
                       : !strcmp(types, "{text}")                ? "('ev-00050000')"
                                                                 : "";
    snprintf(sql, sizeof sql, "EXPLAIN (COSTS OFF) EXECUTE %s%s", name, args);
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        bm_die("%s: %s", sql, PQresultErrorMessage(r));
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; i < PQntuples(r) && o + 1 < size; i++) {
        const char *line = PQgetvalue(r, i, 0), *node = strstr(line, "->  ");
        if (i > 0 && !node) {
            /* a detail: only whether the bound searches the index or
             * filters what it returns (a collation mismatch does that) */
            const char *d = line + strspn(line, " ");
            if (!strncmp(d, "Index Cond:", 11) || !strncmp(d, "Filter:", 7))
                o += (size_t)snprintf(out + o, size - o, " (%.*s)", (int)(strchr(d, ':') - d), d);
            continue;
        }
        node = node ? node + 4 : line;
        const char *end = strstr(node, " on events");
        size_t len = end ? (size_t)(end - node) : strlen(node);
        o += (size_t)snprintf(out + o, size - o, "%s%.*s", i ? " > " : "", (int)len, node);
    }
    PQclear(r);
}

/* The plan of each SELECT prepared on conn, by query: plans[q]. */
static void plans_of(dbont_conn *c, char plans[NQUERIES][256])
{
    PGconn *pg = dbont_conn_pg(c);
    PGresult *r = PQexec(pg, "SELECT name, parameter_types::text, statement FROM pg_prepared_statements "
                             "WHERE statement LIKE 'SELECT % FROM events%' ORDER BY name");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        bm_die("pg_prepared_statements: %s", PQresultErrorMessage(r));
    for (size_t q = 0; q < NQUERIES; q++)
        strcpy(plans[q], "(not run)");
    for (int i = 0; i < PQntuples(r); i++) {
        const char *stmt = PQgetvalue(r, i, 2);
        /* which query: by what its statement sorts or groups by */
        size_t q = strstr(stmt, "GROUP BY kind") ? 2 : strstr(stmt, "ORDER BY name") ? 1 : 0;
        plan_line(pg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), plans[q], sizeof plans[q]);
    }
    PQclear(r);
}

static void print_plans(bench *b)
{
    char shard_plans[NSHARDS][NQUERIES][256], oracle_plans[NQUERIES][256];
    for (int i = 0; i < NSHARDS; i++) {
        dbont_error err;
        dbont_conn *c = dbont_shardset_acquire(b->set, i, DBONT_SHARD_PRIMARY, &err);
        if (!c)
            die_dbont("dbont_shardset_acquire", &err);
        plans_of(c, shard_plans[i]);
        dbont_shardset_release(b->set, c);
    }
    plans_of(b->oracle, oracle_plans);
    printf("plans (EXPLAIN EXECUTE of the statements prepared on each connection):\n");
    if (b->md)
        fprintf(b->md, "\nPlans (`EXPLAIN EXECUTE` of the statements prepared on the connections, with the ontology's "
                    "example parameters):\n\n");
    for (size_t q = 0; q < NQUERIES; q++) {
        if (!selected(b->only, queries[q].id))
            continue;
        bool same = true;
        for (int i = 1; i < NSHARDS; i++)
            same = same && !strcmp(shard_plans[i][q], shard_plans[0][q]);
        printf("  %s each shard: %s%s\n  %s one server: %s\n", queries[q].id, shard_plans[0][q],
               same ? "" : " (shard 0; the others differ)", queries[q].id, oracle_plans[q]);
        if (!same)
            for (int i = 1; i < NSHARDS; i++)
                printf("     shard %d: %s\n", i, shard_plans[i][q]);
        if (b->md)
            fprintf(b->md, "- %s: each shard%s `%s`; one server `%s`.\n", queries[q].id,
                    same ? "" : " (shard 0; not all alike)", shard_plans[0][q], oracle_plans[q]);
    }
}

/* ---- main ---------------------------------------------------------------------------- */

/* The oracle's DSN: shard 0's primary, database "oracle". */
static char *oracle_dsn(const char *shard0)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(shard0, &msg);
    if (!opts)
        bm_die("shard 0's DSN: %s", msg ? msg : "cannot be parsed");
    size_t size = 64, o = 0;
    for (PQconninfoOption *p = opts; p->keyword; p++)
        if (p->val && strcmp(p->keyword, "dbname"))
            size += strlen(p->keyword) + 2 * strlen(p->val) + 4;
    char *dsn = malloc(size);
    if (!dsn)
        bm_die("out of memory");
    for (PQconninfoOption *p = opts; p->keyword; p++) {
        if (!p->val || !strcmp(p->keyword, "dbname"))
            continue;
        o += (size_t)snprintf(dsn + o, size - o, "%s='", p->keyword);
        for (const char *v = p->val; *v; v++) {
            if (*v == '\'' || *v == '\\')
                dsn[o++] = '\\';
            dsn[o++] = *v;
        }
        o += (size_t)snprintf(dsn + o, size - o, "' ");
    }
    snprintf(dsn + o, size - o, "dbname=oracle");
    PQconninfoFree(opts);
    return dsn;
}

static size_t arg_size(const char *opt, const char *value)
{
    char *end;
    if (!value)
        bm_die("fanout: %s needs a value\n%s", opt, usage);
    unsigned long long v = strtoull(value, &end, 10);
    if (*end || end == value)
        bm_die("fanout: %s: not a number: %s", opt, value);
    return (size_t)v;
}

int bm_fanout_main(int argc, char **argv)
{
    bench b;
    memset(&b, 0, sizeof b);
    b.rounds = 9;
    b.slices = 4;
    b.nrows = 100000;
    b.calls = 2000;
    b.server_cpu_ok = true;
    b.pool_s = -1;
    size_t agg_calls = 0; /* 0: calls / 10 */
    const char *md_path = NULL, *oracle = NULL;
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--rounds"))
            b.rounds = arg_size(o, v), i++;
        else if (!strcmp(o, "--slices"))
            b.slices = arg_size(o, v), i++;
        else if (!strcmp(o, "--rows"))
            b.nrows = arg_size(o, v), i++;
        else if (!strcmp(o, "--calls"))
            b.calls = arg_size(o, v), i++;
        else if (!strcmp(o, "--agg-calls"))
            agg_calls = arg_size(o, v), i++;
        else if (!strcmp(o, "--only") && v)
            b.only = v, i++;
        else if (!strcmp(o, "--oracle") && v)
            oracle = v, i++;
        else if (!strcmp(o, "--md") && v)
            md_path = v, i++;
        else
            bm_die("fanout: unknown option %s\n%s", o, usage);
    }
    /* F3 reads every row on every call, F1 and F2 ten index entries: a
     * tenth of the calls keeps its rounds about as long as theirs. */
    b.agg_calls = agg_calls ? agg_calls : (b.calls / 10 ? b.calls / 10 : 1);
    if (b.rounds < 1 || b.rounds > MAX_ROUNDS || b.slices < 1 || b.calls < b.slices || b.agg_calls < b.slices)
        bm_die("fanout: --rounds 1..%d, --slices at least 1, --calls and --agg-calls at least --slices", MAX_ROUNDS);
    if (b.nrows < 100 || b.nrows > 99999999)
        bm_die("fanout: --rows 100..99999999 (names have 8 digits)");

    dbont_error err;
    dbont_shardset_options so = DBONT_SHARDSET_OPTIONS_INIT;
    so.expected_count = NSHARDS; /* the generated code routes over 4 */
    b.set = dbont_shardset_open(&so, &err);
    if (!b.set)
        bm_die("fanout: the shard set ($DBONT_SHARDS_CONF or DBONT_SHARD_*; run it under tests/pg/with-shards.sh "
               "--private): %s (SQLSTATE %s)",
               err.message, err.sqlstate);
    char *dsn = oracle ? NULL : oracle_dsn(dbont_shardset_primary_dsn(b.set, 0));
    b.oracle = dbont_connect(oracle ? oracle : dsn, &err);
    if (!b.oracle)
        bm_die("fanout: the oracle database (%s): %s", oracle ? oracle : dsn, err.message);
    free(dsn);
    FILE *md = md_path ? fopen(md_path, "a") : NULL;
    if (md_path && !md)
        bm_die("fanout: cannot write %s", md_path);
    b.md = md;
    size_t most = b.calls > b.agg_calls ? b.calls : b.agg_calls;
    b.score_bounds = malloc(most * sizeof *b.score_bounds);
    b.name_bounds = malloc(most * sizeof *b.name_bounds);
    if (!b.score_bounds || !b.name_bounds)
        bm_die("out of memory");

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    printf("FANOUT: %d shards (%s ... ), one server: the oracle database on shard 0's server; %zu rows\n", NSHARDS,
           dbont_shardset_primary_label(b.set, 0), b.nrows);
    printf("(nothing pinned: the %d primaries, shard 0's standby and the client share the machine's %ld CPUs; "
           "BENCH_PIN does not apply)\n",
           NSHARDS, ncpu);
    load(&b);
    wait_standbys(&b);
    for (int i = 0; i < NSHARDS; i++)
        b.shard_pid[i] = shard_backend(&b, i);
    b.oracle_pid = PQbackendPID(dbont_conn_pg(b.oracle));

    PGconn *pg = dbont_conn_pg(b.oracle);
    char n1[32];
    if (md) {
        fprintf(md,
                "PostgreSQL %s: %d shards (4 servers, each its primary; shard 0's streaming standby running but not "
                "read) against one server (the oracle database, on shard 0's server), %s rows in both; %zu rounds "
                "of %zu calls per side (F3: %zu) in %zu slices run in turn, medians.\n\n",
                PQparameterStatus(pg, "server_version"), NSHARDS, bm_num(n1, sizeof n1, (double)b.nrows), b.rounds,
                b.calls, b.agg_calls, b.slices);
        fprintf(md, "| query | dbont: `_fanout()` over 4 shards | baseline: the plain function on one server | "
                    "baseline time / dbont time | per round (median, min-max) | client CPU per call, fan-out / one "
                    "server | server CPU per call, the 4 shards' backends / the one server's |\n"
                    "|---|---:|---:|---:|---:|---:|---:|\n");
    }
    for (size_t q = 0; q < NQUERIES; q++)
        if (selected(b.only, queries[q].id))
            time_query(&b, &queries[q]);
    if (md) {
        fprintf(md, "\nThe functions: `bench_shards_<query>_fanout(set, DBONT_SHARD_PRIMARY, ...)` against "
                    "`bench_shards_<query>(conn, ...)`, generated from `bench/bench_shards.ttl` "
                    "(`top_by_score_query`, `top_by_name_query`, `kind_stats_query`); the rows of every timed call "
                    "folded into a checksum per side, equal on both, and each round's first parameters' results "
                    "compared column by column.\n");
        if (b.pool_s >= 0) {
            char p1[32], p2[32];
            fprintf(md, "Acquiring the 4 shards' connections from their pools and releasing them, which is what "
                        "`_fanout()` does around the query (each release cleans its connection with one round "
                        "trip, shard after shard), timed alone as a third side of F1: %s per call, client CPU %s.\n",
                    bm_dur(p1, sizeof p1, b.pool_s), bm_dur(p2, sizeof p2, b.pool_cpu));
        }
    }
    print_plans(&b);
    if (md) {
        fprintf(md, "\nNothing pinned: the %d primaries, shard 0's standby and the client share the machine's %ld "
                    "CPUs, so no placement of `BENCH_PIN` applies.",
                NSHARDS, ncpu);
        if (!b.server_cpu_ok)
            fprintf(md, " Server CPU not measured: a backend's CPU time was unreadable or a pool opened another "
                        "connection.");
        fprintf(md, "\n");
    }
    free(b.score_bounds);
    free(b.name_bounds);
    dbont_close(b.oracle);
    dbont_shardset_close(b.set);
    if (md)
        fclose(md);
    return 0;
}
