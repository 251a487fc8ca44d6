/*
 * dataset.c: the benchmark's data, streamed with binary COPY.
 *
 *   organizations  BM_ORGS rows
 *   users          nusers rows, ids 1..nusers, user u in organization
 *                  (u-1) % BM_ORGS + 1, email user<u>@example.com
 *   posts          nposts rows: user u writes (2u) % 21 posts (0 to 20,
 *                  10 on average), topped up or cut to exactly nposts, in a
 *                  shuffled order (a user's posts are spread over the
 *                  table, as posts written over time are)
 *
 * The tables are emptied and filled in one transaction with COPY FREEZE,
 * with foreign-key triggers off (session_replication_role = replica: the
 * data is consistent by construction).  bench/setup.sql then creates the
 * indexes and analyzes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm.h"

/* ---- a COPY stream in binary format ------------------------------------- */

typedef struct copybuf {
    PGconn *pg;
    char *data;
    size_t len, cap;
} copybuf;

#define FLUSH_AT (256 * 1024)

static void cb_flush(copybuf *b)
{
    if (b->len && PQputCopyData(b->pg, b->data, (int)b->len) != 1)
        bm_die("PQputCopyData: %s", PQerrorMessage(b->pg));
    b->len = 0;
}

static char *cb_room(copybuf *b, size_t n)
{
    if (b->len + n > b->cap) {
        cb_flush(b);
        if (n > b->cap) {
            b->cap = n;
            b->data = realloc(b->data, b->cap);
            if (!b->data)
                bm_die("out of memory");
        }
    }
    char *p = b->data + b->len;
    b->len += n;
    return p;
}

static void cb_begin(copybuf *b, PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        bm_die("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    b->pg = pg;
    b->len = 0;
    b->cap = FLUSH_AT + 4096;
    b->data = malloc(b->cap);
    if (!b->data)
        bm_die("out of memory");
    static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    memcpy(cb_room(b, sizeof header), header, sizeof header);
}

static void cb_row(copybuf *b, int16_t nfields)
{
    if (b->len >= FLUSH_AT)
        cb_flush(b);
    bm_put_i16(cb_room(b, 2), nfields);
}

static void cb_i64(copybuf *b, int64_t v)
{
    char *p = cb_room(b, 12);
    bm_put_i32(p, 8);
    bm_put_i64(p + 4, v);
}

static void cb_bool(copybuf *b, bool v)
{
    char *p = cb_room(b, 5);
    bm_put_i32(p, 1);
    p[4] = v ? 1 : 0;
}

static void cb_text(copybuf *b, const char *s, size_t n)
{
    char *p = cb_room(b, 4 + n);
    bm_put_i32(p, (int32_t)n);
    memcpy(p + 4, s, n);
}

static void cb_null(copybuf *b)
{
    bm_put_i32(cb_room(b, 4), -1);
}

static void cb_end(copybuf *b)
{
    bm_put_i16(cb_room(b, 2), -1);
    cb_flush(b);
    if (PQputCopyEnd(b->pg, NULL) != 1)
        bm_die("PQputCopyEnd: %s", PQerrorMessage(b->pg));
    PGresult *r;
    while ((r = PQgetResult(b->pg)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            bm_die("COPY: %s", PQresultErrorMessage(r));
        PQclear(r);
    }
    free(b->data);
    b->data = NULL;
}

/* ---- data --------------------------------------------------------------- */

/* 2023-01-01 00:00:00 in PostgreSQL's binary timestamp (microseconds since
 * 2000-01-01): 8401 days. */
#define TS_2023 ((int64_t)8401 * 86400 * 1000000)

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* The author of each post, in table order. */
static int64_t *post_authors(int64_t nusers, int64_t nposts)
{
    int64_t *author = malloc((size_t)nposts * sizeof *author);
    if (!author)
        bm_die("out of memory");
    int64_t k = 0;
    for (int64_t u = 1; u <= nusers && k < nposts; u++)
        for (int64_t c = (2 * u) % 21; c > 0 && k < nposts; c--)
            author[k++] = u;
    uint64_t seed = 42;
    while (k < nposts) /* top up with users drawn at random */
        author[k++] = 1 + (int64_t)(splitmix64(&seed) % (uint64_t)nusers);
    for (int64_t i = nposts - 1; i > 0; i--) { /* Fisher-Yates */
        int64_t j = (int64_t)(splitmix64(&seed) % (uint64_t)(i + 1));
        int64_t t = author[i];
        author[i] = author[j];
        author[j] = t;
    }
    return author;
}

void bm_load(PGconn *pg, int64_t nusers, int64_t nposts)
{
    char buf[256];
    copybuf b = {0};
    double t0 = bm_now();

    bm_exec(pg, "SET session_replication_role = replica");
    bm_exec(pg, "BEGIN");
    bm_exec(pg, "TRUNCATE organizations, users, posts");

    cb_begin(&b, pg, "COPY organizations (id, name, created_at) FROM STDIN (FORMAT binary, FREEZE)");
    for (int64_t o = 1; o <= BM_ORGS; o++) {
        cb_row(&b, 3);
        cb_i64(&b, o);
        int n = snprintf(buf, sizeof buf, "Organization %lld", (long long)o);
        cb_text(&b, buf, (size_t)n);
        cb_i64(&b, TS_2023);
    }
    cb_end(&b);

    cb_begin(&b, pg,
             "COPY users (id, organization_id, email, username, is_active, created_at) "
             "FROM STDIN (FORMAT binary, FREEZE)");
    for (int64_t u = 1; u <= nusers; u++) {
        cb_row(&b, 6);
        cb_i64(&b, u);
        cb_i64(&b, bm_user_org(u));
        int n = bm_email(buf, sizeof buf, u);
        cb_text(&b, buf, (size_t)n);
        n = snprintf(buf, sizeof buf, "user%lld", (long long)u);
        cb_text(&b, buf, (size_t)n);
        cb_bool(&b, u % 10 != 0);
        cb_i64(&b, TS_2023 + u * 300 * (int64_t)1000000);
    }
    cb_end(&b);
    double t1 = bm_now();

    int64_t *author = post_authors(nusers, nposts);
    cb_begin(&b, pg,
             "COPY posts (id, organization_id, user_id, title, content, is_published, views, "
             "created_at) FROM STDIN (FORMAT binary, FREEZE)");
    for (int64_t p = 1; p <= nposts; p++) {
        int64_t u = author[p - 1];
        cb_row(&b, 8);
        cb_i64(&b, p);
        cb_i64(&b, bm_user_org(u));
        cb_i64(&b, u);
        int n = snprintf(buf, sizeof buf, "Post %lld by user %lld", (long long)p, (long long)u);
        cb_text(&b, buf, (size_t)n);
        if (p % 10 == 0) {
            cb_null(&b);
        } else {
            n = snprintf(buf, sizeof buf,
                         "The text of post %lld. Ordinary prose of a blog post, cut short "
                         "for the benchmark.",
                         (long long)p);
            cb_text(&b, buf, (size_t)n);
        }
        cb_bool(&b, p % 3 == 0);
        cb_i64(&b, p % 1000);
        cb_i64(&b, TS_2023 + p * 25 * (int64_t)1000000);
    }
    cb_end(&b);
    free(author);
    bm_exec(pg, "COMMIT");
    bm_exec(pg, "SET session_replication_role = DEFAULT");
    double t2 = bm_now();
    printf("loaded %d organizations, %lld users (%.1f s), %lld posts (%.1f s, %.0f rows/s)\n", BM_ORGS,
           (long long)nusers, t1 - t0, (long long)nposts, t2 - t1, (double)nposts / (t2 - t1));
}
