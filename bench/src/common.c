/* common.c: inputs, timing, statistics and libpq helpers of dbont-bench. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
