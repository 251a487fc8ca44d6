/* common.c: inputs, timing, statistics and libpq helpers of dbont-bench. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bm.h"

int bm_email(char *buf, size_t size, int64_t user)
{
    return snprintf(buf, size, "user%lld@example.com", (long long)user);
}

/* Title and content lengths stay under these (checked). */
#define TITLE_MAX 64
#define CONTENT_MAX 160

bm_post *bm_posts_make(size_t n, uint64_t salt, const char *prefix, int64_t nusers)
{
    /* one block: the array, then the strings */
    size_t arena = n * (TITLE_MAX + CONTENT_MAX);
    char *block = malloc(n * sizeof(bm_post) + arena);
    if (!block)
        bm_die("out of memory for %zu posts", n);
    bm_post *posts = (bm_post *)(void *)block;
    char *p = block + n * sizeof(bm_post);
    for (size_t i = 0; i < n; i++) {
        int64_t user = bm_insert_user(i, salt, nusers);
        posts[i].user_id = user;
        posts[i].organization_id = bm_user_org(user);
        int len = snprintf(p, TITLE_MAX, "%s post %zu by user %lld", prefix, i, (long long)user);
        if (len < 0 || len >= TITLE_MAX)
            bm_die("title too long");
        posts[i].title = p;
        p += len + 1;
        if (i % 10 == 9) {
            posts[i].content = NULL;
        } else {
            len = snprintf(p, CONTENT_MAX,
                           "Body of %s post %zu. A paragraph of ordinary text, long enough "
                           "to look like a short post.",
                           prefix, i);
            if (len < 0 || len >= CONTENT_MAX)
                bm_die("content too long");
            posts[i].content = p;
            p += len + 1;
        }
    }
    return posts;
}

void bm_posts_free(bm_post *posts)
{
    free(posts);
}

double bm_now(void)
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

double bm_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

bm_summary bm_summarize(const double *v, size_t n)
{
    double w[BM_MAX_ROUNDS];
    if (n > BM_MAX_ROUNDS)
        n = BM_MAX_ROUNDS;
    memcpy(w, v, n * sizeof *w);
    bm_summary s = {bm_median(w, n), n ? w[0] : 0, n ? w[n - 1] : 0}; /* bm_median sorts w */
    return s;
}

const char *bm_num(char *buf, size_t size, double v)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t n = strlen(digits), o = 0;
    for (size_t i = 0; i < n && o + 2 < size; i++) {
        if (i > 0 && digits[i - 1] != '-' && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
    return buf;
}

const char *bm_dur(char *buf, size_t size, double seconds)
{
    if (seconds < 1e-6)
        snprintf(buf, size, "%.0f ns", seconds * 1e9);
    else if (seconds < 1e-4)
        snprintf(buf, size, "%.2f µs", seconds * 1e6);
    else if (seconds < 1e-3)
        snprintf(buf, size, "%.1f µs", seconds * 1e6);
    else if (seconds < 1)
        snprintf(buf, size, "%.2f ms", seconds * 1e3);
    else
        snprintf(buf, size, "%.2f s", seconds);
    return buf;
}

double bm_machine_busy(void)
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
    /* user nice system idle iowait irq softirq steal */
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)hz;
}

void bm_die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("dbont-bench: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void bm_exec(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        bm_die("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

int64_t bm_query_i64(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) != 1)
        bm_die("%s: %s", sql, PQresultErrorMessage(r));
    int64_t v = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}
