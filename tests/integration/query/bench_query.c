/*
 * bench_query: throughput of pipelined batches and binary COPY, measured
 * against their one-at-a-time and hand-written counterparts in the same
 * process, on one connection ($DATABASE_URL).  Not a test: it prints
 * numbers (docs/runtime-queries.md records them).
 *
 *   bench_query [lookups] [copy_rows] [repetitions]
 *
 * Lookups: 1000 primary-key lookups (random ids of 100k users) as 1000
 * dbont_query_run calls, as one dbont_query_batch (window 16, 64, 256),
 * and, for the design note, by hand in one pipeline with a single Sync
 * per window (no per-item isolation).
 *
 * COPY: 100k rows of the blog's posts shape (two uuids, title, content,
 * boolean, bigint, timestamp) with dbont_table_copy (binary) and with a
 * hand-written COPY in text format (values formatted and escaped by hand,
 * sent in 64 KiB chunks), into the blog's posts table with its foreign
 * keys, and into the same table without constraints.
 *
 * Repetitions alternate A and B; medians are printed.
 */
#define _POSIX_C_SOURCE 200809L  /* clock_gettime */

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbont/dbont.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, const dbont_error *err)
{
    fprintf(stderr, "bench_query: %s: %s %s\n", what, err->sqlstate, err->message);
    exit(1);
}

static void exec_or_die(dbont_conn *c, const char *sql)
{
    dbont_error err;
    if (dbont_exec(c, sql, &err) != DBONT_OK)
        die(sql, &err);
}

/* ---- lookups ---------------------------------------------------------- */

typedef struct user_key {
    int32_t id;
} user_key;
typedef struct user_row {
    int32_t id;
    const char *email;
    const char *username;
} user_row;
static const Oid int4_oid[] = {23};
static const dbont_type int4_type[] = {DBONT_INTEGER};
static const size_t key_offsets[] = {offsetof(user_key, id)};
static const dbont_column user_columns[] = {
    {"id", "id", DBONT_INTEGER, true, offsetof(user_row, id), DBONT_NO_FIELD, 0, 0,
     DBONT_NO_FIELD},
    {"email", "email", DBONT_TEXT, true, offsetof(user_row, email), DBONT_NO_FIELD, 0, 0,
     DBONT_NO_FIELD},
    {"username", "username", DBONT_TEXT, true, offsetof(user_row, username), DBONT_NO_FIELD, 0,
     0, DBONT_NO_FIELD},
};
static const dbont_stmt lookup_stmt = {
    UINT64_C(0x00000000be000001), "dbont_00000000be000001",
    "SELECT id, email, username FROM bench.users WHERE id = $1", 1, int4_oid};
static const dbont_query lookup_query = {
    "lookup", &lookup_stmt, 1, int4_type, key_offsets, sizeof(user_key), 3, user_columns,
    sizeof(user_row)};

static double run_single(dbont_conn *c, const user_key *keys, int n)
{
    dbont_error err;
    double t0 = now();
    int i;
    for (i = 0; i < n; i++) {
        dbont_result *res;
        if (dbont_query_run(c, &lookup_query, &keys[i], &res, &err) != DBONT_OK)
            die("lookup", &err);
        if (dbont_result_count(res) != 1)
            die("lookup found no row", &err);
        dbont_result_free(res);
    }
    return now() - t0;
}

static double run_batch(dbont_conn *c, const user_key *keys, int n, size_t window,
                        dbont_batch_item *items)
{
    dbont_error err;
    double t0 = now(), t;
    if (dbont_query_batch(c, &lookup_query, keys, (size_t)n, window, items, &err) != DBONT_OK)
        die("batch", &err);
    t = now() - t0;
    dbont_batch_free(items, (size_t)n);
    return t;
}

/*
 * By hand, in windows of `window` queries sent before reading them back:
 * with one Sync per window (what the batch would gain by giving up
 * per-item transactions: a failing item would abort the rest of its
 * window), or one Sync per query (what the batch does, without dbont's
 * encoding and decoding).  The statement is the one dbont prepared.
 * Results are checked but not decoded.
 */
static double run_sync_per_window(dbont_conn *c, const user_key *keys, int n, int window,
                                  bool sync_each)
{
    PGconn *pg = dbont_conn_pg(c);
    double t0 = now();
    int sent = 0, read = 0;

    if (!PQenterPipelineMode(pg))
        exit(1);
    while (read < n) {
        int group = sent;
        for (; sent < n && sent - group < window; sent++) {
            uint32_t be = (uint32_t)keys[sent].id;
            char buf[4] = {(char)(be >> 24), (char)(be >> 16), (char)(be >> 8), (char)be};
            const char *values[1] = {buf};
            int lengths[1] = {4}, formats[1] = {1};
            if (!PQsendQueryPrepared(pg, lookup_stmt.name, 1, values, lengths, formats, 1))
                exit(1);
            if (sync_each && !PQpipelineSync(pg))
                exit(1);
        }
        if (!sync_each && !PQpipelineSync(pg))
            exit(1);
        for (; read < sent; read++) {
            PGresult *res = PQgetResult(pg);
            if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
                fprintf(stderr, "sync per window: %s\n", PQresultErrorMessage(res));
                exit(1);
            }
            PQclear(res);
            PQclear(PQgetResult(pg));   /* the NULL after it */
            if (sync_each)
                PQclear(PQgetResult(pg));   /* PGRES_PIPELINE_SYNC */
        }
        if (!sync_each)
            PQclear(PQgetResult(pg));       /* PGRES_PIPELINE_SYNC */
    }
    PQexitPipelineMode(pg);
    return now() - t0;
}

static void bench_lookups(dbont_conn *c, int n, int reps)
{
    user_key *keys = malloc((size_t)n * sizeof *keys);
    dbont_batch_item *items = malloc((size_t)n * sizeof *items);
    double *single = malloc((size_t)reps * sizeof(double));
    double *b16 = malloc((size_t)reps * sizeof(double)), *b64 = malloc((size_t)reps * sizeof(double));
    double *b256 = malloc((size_t)reps * sizeof(double)), *hw = malloc((size_t)reps * sizeof(double));
    double *hi = malloc((size_t)reps * sizeof(double));
    double ms, m16, m64, m256, mhw, mhi;
    int r, i;

    srand(42);
    for (i = 0; i < n; i++)
        keys[i].id = 1 + rand() % 100000;
    /* Warm up: prepare, fill caches. */
    run_single(c, keys, n);
    run_batch(c, keys, n, 64, items);
    for (r = 0; r < reps; r++) {
        single[r] = run_single(c, keys, n);
        b64[r] = run_batch(c, keys, n, 64, items);
        b16[r] = run_batch(c, keys, n, 16, items);
        b256[r] = run_batch(c, keys, n, 256, items);
        hw[r] = run_sync_per_window(c, keys, n, 64, false);
        hi[r] = run_sync_per_window(c, keys, n, 64, true);
    }
    ms = median(single, reps);
    m16 = median(b16, reps);
    m64 = median(b64, reps);
    m256 = median(b256, reps);
    mhw = median(hw, reps);
    mhi = median(hi, reps);
    printf("lookups: %d primary-key lookups, median of %d\n", n, reps);
    printf("  %-44s %9.0f ops/s\n", "dbont_query_run, one at a time", n / ms);
    printf("  %-44s %9.0f ops/s  %.2fx single\n", "dbont_query_batch, window 16", n / m16, ms / m16);
    printf("  %-44s %9.0f ops/s  %.2fx single\n", "dbont_query_batch, window 64", n / m64, ms / m64);
    printf("  %-44s %9.0f ops/s  %.2fx single\n", "dbont_query_batch, window 256", n / m256,
           ms / m256);
    printf("  %-44s %9.0f ops/s  %.2fx single (batch 64 = %.2fx of it)\n",
           "by hand, 64 at a time, one Sync per query", n / mhi, ms / mhi, mhi / m64);
    printf("  %-44s %9.0f ops/s  %.2fx single (batch 64 = %.2fx of it)\n",
           "by hand, 64 at a time, one Sync per 64", n / mhw, ms / mhw, mhw / m64);
    free(keys);
    free(items);
    free(single);
    free(b16);
    free(b64);
    free(b256);
    free(hw);
    free(hi);
}

/* ---- COPY ------------------------------------------------------------- */

typedef struct post_new {
    dbont_uuid id;
    bool id_set;
    dbont_uuid organization_id;
    dbont_uuid user_id;
    const char *title;
    const char *content;
    bool content_is_null;
    bool is_published;
    bool is_published_set;
    int64_t views;
    bool views_set;
    dbont_timestamp created_at;
    bool created_at_is_null;
    bool created_at_set;
} post_new;

static const dbont_column post_columns[] = {
    {"id", "id", DBONT_UUID, true, 0, DBONT_NO_FIELD, offsetof(post_new, id), DBONT_NO_FIELD,
     offsetof(post_new, id_set)},
    {"organization_id", "organization_id", DBONT_UUID, true, 0, DBONT_NO_FIELD,
     offsetof(post_new, organization_id), DBONT_NO_FIELD, DBONT_NO_FIELD},
    {"user_id", "user_id", DBONT_UUID, true, 0, DBONT_NO_FIELD, offsetof(post_new, user_id),
     DBONT_NO_FIELD, DBONT_NO_FIELD},
    {"title", "title", DBONT_TEXT, true, 0, DBONT_NO_FIELD, offsetof(post_new, title),
     DBONT_NO_FIELD, DBONT_NO_FIELD},
    {"content", "content", DBONT_TEXT, false, 0, 0, offsetof(post_new, content),
     offsetof(post_new, content_is_null), DBONT_NO_FIELD},
    {"is_published", "is_published", DBONT_BOOLEAN, true, 0, DBONT_NO_FIELD,
     offsetof(post_new, is_published), DBONT_NO_FIELD, offsetof(post_new, is_published_set)},
    {"views", "views", DBONT_BIGINT, true, 0, DBONT_NO_FIELD, offsetof(post_new, views),
     DBONT_NO_FIELD, offsetof(post_new, views_set)},
    {"created_at", "created_at", DBONT_TIMESTAMP, false, 0, 0, offsetof(post_new, created_at),
     offsetof(post_new, created_at_is_null), offsetof(post_new, created_at_set)},
};

static dbont_table posts_table(const char *sql)
{
    dbont_table t = {"posts", sql, 0, 8, post_columns, 0, NULL, UINT64_C(0xbe00b000),
                     NULL, NULL, NULL, NULL, sizeof(post_new), 0, NULL, false, NULL, false};
    return t;
}

/* The text COPY format: backslash, tab, newline and CR escaped. */
static size_t put_escaped(char *out, const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '\\': out[n++] = '\\'; out[n++] = '\\'; break;
        case '\t': out[n++] = '\\'; out[n++] = 't'; break;
        case '\n': out[n++] = '\\'; out[n++] = 'n'; break;
        case '\r': out[n++] = '\\'; out[n++] = 'r'; break;
        default: out[n++] = *s;
        }
    }
    return n;
}

static size_t put_timestamp(char *out, dbont_timestamp ts)
{
    time_t secs = (time_t)(ts / 1000000);
    long usec = (long)(ts % 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    return (size_t)sprintf(out, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", tm.tm_year + 1900,
                           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
}

/* A hand-written COPY ... FROM STDIN in text format. */
static double copy_text_by_hand(dbont_conn *c, const char *table, const post_new *rows, int n)
{
    PGconn *pg = dbont_conn_pg(c);
    char sql[256];
    char *buf = malloc(65536 + 8192);
    size_t len = 0;
    double t0 = now();
    PGresult *res;
    int i;

    snprintf(sql, sizeof sql,
             "COPY %s (organization_id, user_id, title, content, is_published, views, "
             "created_at) FROM STDIN",
             table);
    res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        fprintf(stderr, "%s", PQresultErrorMessage(res));
        exit(1);
    }
    PQclear(res);
    for (i = 0; i < n; i++) {
        const post_new *p = &rows[i];
        char *o;
        dbont_uuid_format(&p->organization_id, buf + len);
        len += 36;
        buf[len++] = '\t';
        dbont_uuid_format(&p->user_id, buf + len);
        len += 36;
        buf[len++] = '\t';
        len += put_escaped(buf + len, p->title);
        buf[len++] = '\t';
        if (p->content_is_null || p->content == NULL) {
            memcpy(buf + len, "\\N", 2);
            len += 2;
        } else {
            len += put_escaped(buf + len, p->content);
        }
        o = buf + len;
        len += (size_t)sprintf(o, "\t%c\t%" PRId64 "\t", p->is_published ? 't' : 'f', p->views);
        len += put_timestamp(buf + len, p->created_at);
        buf[len++] = '\n';
        if (len >= 65536) {
            if (PQputCopyData(pg, buf, (int)len) != 1)
                exit(1);
            len = 0;
        }
    }
    if (len > 0 && PQputCopyData(pg, buf, (int)len) != 1)
        exit(1);
    PQputCopyEnd(pg, NULL);
    while ((res = PQgetResult(pg)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "text COPY: %s", PQresultErrorMessage(res));
            exit(1);
        }
        PQclear(res);
    }
    free(buf);
    return now() - t0;
}

static double copy_dbont(dbont_conn *c, const dbont_table *t, const post_new *rows, int n)
{
    dbont_error err;
    size_t failed;
    double t0 = now();
    if (dbont_table_copy(c, t, rows, (size_t)n, &failed, &err) != DBONT_OK)
        die("dbont_table_copy", &err);
    return now() - t0;
}

static void bench_copy(dbont_conn *c, const char *table, int n, int reps)
{
    post_new *rows = calloc((size_t)n, sizeof *rows);
    dbont_table t = posts_table(table);
    double *a = malloc((size_t)reps * sizeof(double)), *b = malloc((size_t)reps * sizeof(double));
    char truncate[128];
    static const char *const titles[] = {"Hello world", "On\ttabs", "Notes, part 2",
                                         "Caf\xc3\xa9 review"};
    static const char *content =
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
        "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.\nDuis aute "
        "irure dolor in reprehenderit in voluptate velit esse cillum dolore.";
    double ma, mb;
    int i, r;

    for (i = 0; i < n; i++) {
        post_new *p = &rows[i];
        /* The organizations and users the setup created: ids 1..100 and
         * 1..1000 in the last bytes. */
        p->organization_id.bytes[15] = (uint8_t)(1 + i % 100);
        p->user_id.bytes[14] = (uint8_t)((1 + i % 1000) >> 8);
        p->user_id.bytes[15] = (uint8_t)(1 + i % 1000);
        p->user_id.bytes[0] = 0x10;
        p->title = titles[i % 4];
        p->content = content;
        p->content_is_null = i % 10 == 0;
        p->is_published = i % 3 == 0;
        p->is_published_set = true;
        p->views = (int64_t)i * 7;
        p->views_set = true;
        p->created_at = INT64_C(1704164645678901) + (int64_t)i * 1000003;
        p->created_at_set = true;
    }
    snprintf(truncate, sizeof truncate, "TRUNCATE %s", table);
    exec_or_die(c, truncate);
    copy_dbont(c, &t, rows, n);     /* warm up */
    exec_or_die(c, truncate);
    copy_text_by_hand(c, table, rows, n);
    for (r = 0; r < reps; r++) {
        exec_or_die(c, truncate);
        a[r] = copy_dbont(c, &t, rows, n);
        exec_or_die(c, truncate);
        b[r] = copy_text_by_hand(c, table, rows, n);
    }
    exec_or_die(c, truncate);
    ma = median(a, reps);
    mb = median(b, reps);
    printf("COPY of %d posts into %s, median of %d\n", n, table, reps);
    printf("  %-44s %9.0f rows/s\n", "dbont_table_copy (binary)", n / ma);
    printf("  %-44s %9.0f rows/s  dbont = %.2fx of it\n", "hand-written COPY (text)", n / mb,
           mb / ma);
    free(rows);
    free(a);
    free(b);
}

int main(int argc, char **argv)
{
    int lookups = argc > 1 ? atoi(argv[1]) : 1000;
    int copy_rows = argc > 2 ? atoi(argv[2]) : 100000;
    int reps = argc > 3 ? atoi(argv[3]) : 7;
    dbont_error err;
    dbont_conn *c = dbont_connect(NULL, &err);

    if (c == NULL)
        die("connect", &err);
    exec_or_die(c, "SET client_min_messages = warning");
    exec_or_die(c,
        "DROP SCHEMA IF EXISTS bench CASCADE; CREATE SCHEMA bench;"
        "CREATE TABLE bench.users (id integer PRIMARY KEY, email text NOT NULL,"
        " username text NOT NULL);"
        "INSERT INTO bench.users SELECT i, 'user' || i || '@example.com', 'name' || i"
        " FROM generate_series(1, 100000) i;"
        "CREATE TABLE bench.organizations (id uuid PRIMARY KEY, name text NOT NULL);"
        "INSERT INTO bench.organizations SELECT lpad(to_hex(i), 32, '0')::uuid, 'org' || i"
        " FROM generate_series(1, 100) i;"
        "CREATE TABLE bench.blog_users (id uuid PRIMARY KEY, organization_id uuid NOT NULL"
        " REFERENCES bench.organizations (id));"
        "INSERT INTO bench.blog_users SELECT ('10' || lpad(to_hex(i), 30, '0'))::uuid,"
        " lpad(to_hex(1 + i % 100), 32, '0')::uuid FROM generate_series(1, 1000) i;"
        "CREATE TABLE bench.posts (id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,"
        " organization_id uuid NOT NULL REFERENCES bench.organizations (id) ON DELETE CASCADE,"
        " user_id uuid NOT NULL REFERENCES bench.blog_users (id) ON DELETE CASCADE,"
        " title text NOT NULL, content text, is_published boolean NOT NULL DEFAULT false,"
        " views bigint NOT NULL DEFAULT 0, created_at timestamp DEFAULT now());"
        "CREATE INDEX ON bench.posts (user_id);"
        "CREATE TABLE bench.posts_bare (LIKE bench.posts INCLUDING DEFAULTS);");
    exec_or_die(c, "VACUUM ANALYZE bench.users");
    printf("PostgreSQL %d, libpq %d\n", PQserverVersion(dbont_conn_pg(c)), PQlibVersion());
    if (lookups > 0)
        bench_lookups(c, lookups, reps);
    if (copy_rows > 0) {
        bench_copy(c, "bench.posts", copy_rows, reps);
        bench_copy(c, "bench.posts_bare", copy_rows, reps);
    }
    exec_or_die(c, "DROP SCHEMA bench CASCADE");
    dbont_close(c);
    return 0;
}
