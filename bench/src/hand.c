/*
 * hand.c: the workloads written directly over libpq, as well as libpq
 * allows: statements prepared once, parameters and results in binary,
 * rows decoded into structs that point into the PGresult (no copies), bulk
 * rows streamed with COPY in large chunks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm.h"

typedef struct hand {
    PGconn *pg;
    char *copy; /* COPY chunk buffer */
} hand;

#define OID_INT8 20
#define OID_TEXT 25

#define SQL_W1 "SELECT id, email, username FROM users WHERE email = $1 ORDER BY created_at DESC LIMIT 10"
#define SQL_W2                                                                                     \
    "SELECT users.id, users.email, COUNT(posts.id) AS post_count FROM users LEFT JOIN posts ON "   \
    "users.id = posts.user_id WHERE users.id BETWEEN $1 AND $2 GROUP BY users.id HAVING "          \
    "COUNT(posts.id) > $3"
#define SQL_W3                                                                                     \
    "INSERT INTO posts (organization_id, user_id, title, content) VALUES ($1, $2, $3, $4) "       \
    "RETURNING id"
#define SQL_W3_ALL                                                                                 \
    "INSERT INTO posts (organization_id, user_id, title, content) VALUES ($1, $2, $3, $4) "       \
    "RETURNING id, organization_id, user_id, title, content, is_published, views, created_at"

static void prepare(PGconn *pg, const char *name, const char *sql, int n, const Oid *types)
{
    PGresult *r = PQprepare(pg, name, sql, n, types);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bm_die("prepare %s: %s", name, PQresultErrorMessage(r));
    PQclear(r);
}

#define COPY_CHUNK (64 * 1024)

void *bm_hand_setup(PGconn *pg, const bm_inputs *in)
{
    (void)in;
    hand *h = calloc(1, sizeof *h);
    if (!h)
        bm_die("out of memory");
    h->pg = pg;
    h->copy = malloc(COPY_CHUNK + 1024);
    if (!h->copy)
        bm_die("out of memory");
    static const Oid t1[] = {OID_TEXT};
    static const Oid t2[] = {OID_INT8, OID_INT8, OID_INT8};
    static const Oid t3[] = {OID_INT8, OID_INT8, OID_TEXT, OID_TEXT};
    prepare(pg, "hand_w1", SQL_W1, 1, t1);
    prepare(pg, "hand_w2", SQL_W2, 3, t2);
    prepare(pg, "hand_w3", SQL_W3, 4, t3);
    prepare(pg, "hand_w3_all", SQL_W3_ALL, 4, t3);
    return h;
}

void bm_hand_teardown(void *ctx)
{
    hand *h = ctx;
    bm_exec(h->pg, "DEALLOCATE hand_w1");
    bm_exec(h->pg, "DEALLOCATE hand_w2");
    bm_exec(h->pg, "DEALLOCATE hand_w3");
    bm_exec(h->pg, "DEALLOCATE hand_w3_all");
    free(h->copy);
    free(h);
}

/* ---- W1 ----------------------------------------------------------------- */

typedef struct w1_row {
    int64_t id;
    const char *email;
    const char *username;
} w1_row;

/* Decodes and folds a W1 result; clears it. */
static uint64_t w1_take(PGresult *r, uint64_t sum)
{
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        bm_die("W1: %s", PQresultErrorMessage(r));
    w1_row rows[10];
    int n = PQntuples(r);
    if (n > 10)
        bm_die("W1: %d rows", n);
    for (int i = 0; i < n; i++) {
        rows[i].id = bm_get_i64(PQgetvalue(r, i, 0));
        rows[i].email = PQgetvalue(r, i, 1);
        rows[i].username = PQgetvalue(r, i, 2);
    }
    for (int i = 0; i < n; i++) {
        sum = bm_mix(sum, (uint64_t)rows[i].id);
        sum = bm_mix_str(sum, rows[i].email);
        sum = bm_mix_str(sum, rows[i].username);
    }
    PQclear(r);
    return sum;
}

uint64_t bm_hand_w1(void *ctx, const bm_inputs *in)
{
    hand *h = ctx;
    uint64_t sum = 0;
    static const int formats[1] = {1};
    for (size_t i = 0; i < in->w1_n; i++) {
        const char *values[1] = {in->w1_emails[i]};
        int lengths[1] = {(int)strlen(in->w1_emails[i])};
        sum = w1_take(PQexecPrepared(h->pg, "hand_w1", 1, values, lengths, formats, 1), sum);
    }
    return sum;
}

/* ---- W1 pipelined ------------------------------------------------------- */

/*
 * emails[0..n) in pipeline mode with up to BM_PIPELINE_WINDOW lookups in
 * flight, each followed by its own Sync (its own implicit transaction, so
 * that one failing lookup does not abort the others: the contract of the
 * generated _batch functions).
 */
static uint64_t pipeline_each(PGconn *pg, char *const *emails, size_t n, uint64_t sum)
{
    static const int formats[1] = {1};
    if (!PQenterPipelineMode(pg))
        bm_die("PQenterPipelineMode: %s", PQerrorMessage(pg));
    size_t sent = 0, done = 0;
    while (done < n) {
        while (sent < n && sent - done < BM_PIPELINE_WINDOW) {
            const char *values[1] = {emails[sent]};
            int lengths[1] = {(int)strlen(emails[sent])};
            if (!PQsendQueryPrepared(pg, "hand_w1", 1, values, lengths, formats, 1) || !PQpipelineSync(pg))
                bm_die("W1 pipeline: %s", PQerrorMessage(pg));
            sent++;
        }
        sum = w1_take(PQgetResult(pg), sum);
        PGresult *r = PQgetResult(pg); /* NULL: end of this query's results */
        if (r)
            bm_die("W1 pipeline: unexpected result %s", PQresStatus(PQresultStatus(r)));
        r = PQgetResult(pg);
        if (PQresultStatus(r) != PGRES_PIPELINE_SYNC)
            bm_die("W1 pipeline: expected a sync, got %s", PQresStatus(PQresultStatus(r)));
        PQclear(r);
        done++;
    }
    if (!PQexitPipelineMode(pg))
        bm_die("PQexitPipelineMode: %s", PQerrorMessage(pg));
    return sum;
}

/*
 * The same with one Sync per window of lookups instead of one per lookup:
 * fewer messages and transactions, but a failing lookup would abort the
 * rest of its window.  Reported as a diagnostic only.
 */
static uint64_t pipeline_shared(PGconn *pg, char *const *emails, size_t n, uint64_t sum)
{
    static const int formats[1] = {1};
    if (!PQenterPipelineMode(pg))
        bm_die("PQenterPipelineMode: %s", PQerrorMessage(pg));
    const size_t half = BM_PIPELINE_WINDOW / 2;
    size_t sent = 0, done = 0;
    while (done < n) {
        /* refill by half windows, each closed by one Sync */
        while (sent < n && sent - done <= half) {
            size_t end = sent + half < n ? sent + half : n;
            for (; sent < end; sent++) {
                const char *values[1] = {emails[sent]};
                int lengths[1] = {(int)strlen(emails[sent])};
                if (!PQsendQueryPrepared(pg, "hand_w1", 1, values, lengths, formats, 1))
                    bm_die("W1 pipeline: %s", PQerrorMessage(pg));
            }
            if (!PQpipelineSync(pg))
                bm_die("W1 pipeline: %s", PQerrorMessage(pg));
        }
        sum = w1_take(PQgetResult(pg), sum);
        PGresult *r = PQgetResult(pg);
        if (r)
            bm_die("W1 pipeline: unexpected result %s", PQresStatus(PQresultStatus(r)));
        done++;
        if (done % half == 0 || done == n) {
            r = PQgetResult(pg);
            if (PQresultStatus(r) != PGRES_PIPELINE_SYNC)
                bm_die("W1 pipeline: expected a sync, got %s", PQresStatus(PQresultStatus(r)));
            PQclear(r);
        }
    }
    if (!PQexitPipelineMode(pg))
        bm_die("PQexitPipelineMode: %s", PQerrorMessage(pg));
    return sum;
}

uint64_t bm_hand_w1b(void *ctx, const bm_inputs *in)
{
    hand *h = ctx;
    uint64_t sum = 0;
    for (size_t i = 0; i < in->w1b_n; i += in->w1b_batch) {
        size_t n = in->w1b_n - i < in->w1b_batch ? in->w1b_n - i : in->w1b_batch;
        sum = pipeline_each(h->pg, in->w1b_emails + i, n, sum);
    }
    return sum;
}

uint64_t bm_hand_w1b_shared(void *ctx, const bm_inputs *in)
{
    hand *h = ctx;
    uint64_t sum = 0;
    for (size_t i = 0; i < in->w1b_n; i += in->w1b_batch) {
        size_t n = in->w1b_n - i < in->w1b_batch ? in->w1b_n - i : in->w1b_batch;
        sum = pipeline_shared(h->pg, in->w1b_emails + i, n, sum);
    }
    return sum;
}

/* ---- W2 ----------------------------------------------------------------- */

typedef struct w2_row {
    int64_t id;
    const char *email;
    int64_t post_count;
} w2_row;

uint64_t bm_hand_w2(void *ctx, const bm_inputs *in)
{
    hand *h = ctx;
    uint64_t sum = 0;
    static const int formats[3] = {1, 1, 1};
    static const int lengths[3] = {8, 8, 8};
    char p[3][8];
    const char *values[3] = {p[0], p[1], p[2]};
    w2_row rows[BM_W2_WINDOW];
    for (size_t i = 0; i < in->w2_n; i++) {
        bm_put_i64(p[0], in->w2_first[i]);
        bm_put_i64(p[1], in->w2_first[i] + BM_W2_WINDOW - 1);
        bm_put_i64(p[2], BM_W2_MIN_POSTS);
        PGresult *r = PQexecPrepared(h->pg, "hand_w2", 3, values, lengths, formats, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            bm_die("W2: %s", PQresultErrorMessage(r));
        int n = PQntuples(r);
        if (n > BM_W2_WINDOW)
            bm_die("W2: %d rows", n);
        for (int k = 0; k < n; k++) {
            rows[k].id = bm_get_i64(PQgetvalue(r, k, 0));
            rows[k].email = PQgetvalue(r, k, 1);
            rows[k].post_count = bm_get_i64(PQgetvalue(r, k, 2));
        }
        for (int k = 0; k < n; k++) {
            sum = bm_mix(sum, (uint64_t)rows[k].id);
            sum = bm_mix_str(sum, rows[k].email);
            sum = bm_mix(sum, (uint64_t)rows[k].post_count);
        }
        PQclear(r);
    }
    return sum;
}

/* ---- W3 ----------------------------------------------------------------- */

static uint64_t w3(hand *h, const bm_inputs *in, const char *stmt)
{
    uint64_t count = 0;
    static const int formats[4] = {1, 1, 1, 1};
    char org[8], user[8];
    for (size_t i = 0; i < in->w3_n; i++) {
        const bm_post *post = &in->w3_posts[i];
        bm_put_i64(org, post->organization_id);
        bm_put_i64(user, post->user_id);
        const char *values[4] = {org, user, post->title, post->content};
        int lengths[4] = {8, 8, (int)strlen(post->title), post->content ? (int)strlen(post->content) : 0};
        PGresult *r = PQexecPrepared(h->pg, stmt, 4, values, lengths, formats, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            bm_die("W3: %s", PQresultErrorMessage(r));
        int64_t id = bm_get_i64(PQgetvalue(r, 0, 0));
        count += id > 0;
        PQclear(r);
    }
    return count;
}

uint64_t bm_hand_w3(void *ctx, const bm_inputs *in)
{
    return w3(ctx, in, "hand_w3");
}

uint64_t bm_hand_w3_all(void *ctx, const bm_inputs *in)
{
    return w3(ctx, in, "hand_w3_all");
}

/* ---- W4 ----------------------------------------------------------------- */

static void copy_start(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        bm_die("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static void copy_put(PGconn *pg, const char *data, size_t len)
{
    if (PQputCopyData(pg, data, (int)len) != 1)
        bm_die("PQputCopyData: %s", PQerrorMessage(pg));
}

static void copy_finish(PGconn *pg)
{
    if (PQputCopyEnd(pg, NULL) != 1)
        bm_die("PQputCopyEnd: %s", PQerrorMessage(pg));
    PGresult *r;
    while ((r = PQgetResult(pg)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            bm_die("W4 COPY: %s", PQresultErrorMessage(r));
        PQclear(r);
    }
}

/* Binary COPY: per row a field count, per field a length and the bytes. */
uint64_t bm_hand_w4_binary(void *ctx, const bm_inputs *in)
{
    hand *h = ctx;
    copy_start(h->pg, "COPY posts (organization_id, user_id, title, content) FROM STDIN (FORMAT binary)");
    char *buf = h->copy;
    static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    memcpy(buf, header, sizeof header);
    size_t len = sizeof header;
    for (size_t i = 0; i < in->w4_n; i++) {
        const bm_post *post = &in->w4_posts[i];
        size_t tl = strlen(post->title);
        size_t cl = post->content ? strlen(post->content) : 0;
        size_t need = 2 + 12 + 12 + 4 + tl + 4 + cl;
        if (len + need > COPY_CHUNK) {
            copy_put(h->pg, buf, len);
            len = 0;
            if (need > COPY_CHUNK)
                bm_die("W4: row %zu too large", i);
        }
        char *p = buf + len;
        bm_put_i16(p, 4);
        bm_put_i32(p + 2, 8);
        bm_put_i64(p + 6, post->organization_id);
        bm_put_i32(p + 14, 8);
        bm_put_i64(p + 18, post->user_id);
        bm_put_i32(p + 26, (int32_t)tl);
        memcpy(p + 30, post->title, tl);
        p += 30 + tl;
        if (post->content) {
            bm_put_i32(p, (int32_t)cl);
            memcpy(p + 4, post->content, cl);
            p += 4 + cl;
        } else {
            bm_put_i32(p, -1);
            p += 4;
        }
        len = (size_t)(p - buf);
    }
    bm_put_i16(buf + len, -1);
    copy_put(h->pg, buf, len + 2);
    copy_finish(h->pg);
    return in->w4_n;
}

/* Decimal digits of v at p; returns the end. */
static char *put_int(char *p, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *p++ = '-';
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* A text value in COPY's text format: backslash, tab, newline and carriage
 * return escaped (room: twice the length). */
static char *put_text(char *p, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        switch (c) {
        case '\\': *p++ = '\\'; *p++ = '\\'; break;
        case '\t': *p++ = '\\'; *p++ = 't'; break;
        case '\n': *p++ = '\\'; *p++ = 'n'; break;
        case '\r': *p++ = '\\'; *p++ = 'r'; break;
        default: *p++ = c;
        }
    }
    return p;
}

/* Text COPY: tab-separated fields, \N for NULL, a newline per row. */
uint64_t bm_hand_w4_text(void *ctx, const bm_inputs *in)
{
    hand *h = ctx;
    copy_start(h->pg, "COPY posts (organization_id, user_id, title, content) FROM STDIN");
    char *buf = h->copy;
    size_t len = 0;
    for (size_t i = 0; i < in->w4_n; i++) {
        const bm_post *post = &in->w4_posts[i];
        size_t tl = strlen(post->title);
        size_t cl = post->content ? strlen(post->content) : 0;
        size_t need = 20 + 1 + 20 + 1 + 2 * tl + 1 + 2 * cl + 3;
        if (len + need > COPY_CHUNK) {
            copy_put(h->pg, buf, len);
            len = 0;
            if (need > COPY_CHUNK)
                bm_die("W4: row %zu too large", i);
        }
        char *p = buf + len;
        p = put_int(p, post->organization_id);
        *p++ = '\t';
        p = put_int(p, post->user_id);
        *p++ = '\t';
        p = put_text(p, post->title);
        *p++ = '\t';
        if (post->content) {
            p = put_text(p, post->content);
        } else {
            *p++ = '\\';
            *p++ = 'N';
        }
        *p++ = '\n';
        len = (size_t)(p - buf);
    }
    if (len)
        copy_put(h->pg, buf, len);
    copy_finish(h->pg);
    return in->w4_n;
}
