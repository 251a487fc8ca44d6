/*
 * gen.c: the workloads through the functions dbont-gen made from
 * bench/bench.ttl (bench.h), used as an application would use them.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h" /* generated */
#include "bm.h"

typedef struct gen {
    dbont_conn *conn;
    /* the inputs as the generated structs, indexed like the whole input
     * arrays (a slice starts at in->offset) */
    bench_posts_new *w3_rows;
    bench_posts_new *w4_rows;
    bench_user_by_email_query_params *w1b_params;
    dbont_batch_item *items;
} gen;

static void die_dbont(const char *what, const dbont_error *err)
{
    bm_die("%s: %s (SQLSTATE %s)", what, err->message, err->sqlstate);
}

static void to_new(const bm_post *p, bench_posts_new *n)
{
    memset(n, 0, sizeof *n);
    n->organization_id = p->organization_id;
    n->user_id = p->user_id;
    n->title = p->title;
    n->content = p->content;
    n->content_is_null = p->content == NULL;
    /* id, is_published, views and created_at take their defaults */
}

void *bm_gen_setup(struct dbont_conn *conn, const bm_inputs *in)
{
    gen *g = calloc(1, sizeof *g);
    if (!g)
        bm_die("out of memory");
    g->conn = conn;
    g->w3_rows = malloc((in->w3_n + 1) * sizeof *g->w3_rows);
    g->w4_rows = malloc((in->w4_n + 1) * sizeof *g->w4_rows);
    g->w1b_params = malloc((in->w1b_n + 1) * sizeof *g->w1b_params);
    g->items = malloc((in->w1b_batch + 1) * sizeof *g->items);
    if (!g->w3_rows || !g->w4_rows || !g->w1b_params || !g->items)
        bm_die("out of memory");
    for (size_t i = 0; i < in->w3_n; i++)
        to_new(&in->w3_posts[i], &g->w3_rows[i]);
    for (size_t i = 0; i < in->w4_n; i++)
        to_new(&in->w4_posts[i], &g->w4_rows[i]);
    for (size_t i = 0; i < in->w1b_n; i++)
        g->w1b_params[i].email = in->w1b_emails[i];
    return g;
}

void bm_gen_teardown(void *ctx)
{
    gen *g = ctx;
    free(g->w3_rows);
    free(g->w4_rows);
    free(g->w1b_params);
    free(g->items);
    free(g);
}

static uint64_t w1_fold(const bench_user_by_email_query_rows *rows, uint64_t sum)
{
    for (size_t k = 0; k < rows->count; k++) {
        sum = bm_mix(sum, (uint64_t)rows->rows[k].id);
        sum = bm_mix_str(sum, rows->rows[k].email);
        sum = bm_mix_str(sum, rows->rows[k].username);
    }
    return sum;
}

uint64_t bm_gen_w1(void *ctx, const bm_inputs *in)
{
    gen *g = ctx;
    uint64_t sum = 0;
    dbont_error err;
    for (size_t i = 0; i < in->w1_n; i++) {
        bench_user_by_email_query_rows rows;
        if (bench_user_by_email_query(g->conn, in->w1_emails[i], &rows, &err) != DBONT_OK)
            die_dbont("W1", &err);
        sum = w1_fold(&rows, sum);
        bench_user_by_email_query_rows_free(&rows);
    }
    return sum;
}

uint64_t bm_gen_w1b(void *ctx, const bm_inputs *in)
{
    gen *g = ctx;
    uint64_t sum = 0;
    dbont_error err;
    for (size_t i = 0; i < in->w1b_n; i += in->w1b_batch) {
        size_t n = in->w1b_n - i < in->w1b_batch ? in->w1b_n - i : in->w1b_batch;
        if (bench_user_by_email_query_batch(g->conn, g->w1b_params + in->offset + i, n, g->items, &err) !=
            DBONT_OK)
            die_dbont("W1 batch", &err);
        for (size_t k = 0; k < n; k++) {
            bench_user_by_email_query_rows rows = bench_user_by_email_query_batch_rows(&g->items[k]);
            sum = w1_fold(&rows, sum);
        }
        dbont_batch_free(g->items, n);
    }
    return sum;
}

uint64_t bm_gen_w2(void *ctx, const bm_inputs *in)
{
    gen *g = ctx;
    uint64_t sum = 0;
    dbont_error err;
    for (size_t i = 0; i < in->w2_n; i++) {
        bench_user_post_counts_query_rows rows;
        if (bench_user_post_counts_query(g->conn, in->w2_first[i], in->w2_first[i] + BM_W2_WINDOW - 1,
                                         BM_W2_MIN_POSTS, &rows, &err) != DBONT_OK)
            die_dbont("W2", &err);
        for (size_t k = 0; k < rows.count; k++) {
            sum = bm_mix(sum, (uint64_t)rows.rows[k].id);
            sum = bm_mix_str(sum, rows.rows[k].email);
            sum = bm_mix(sum, (uint64_t)rows.rows[k].post_count);
        }
        bench_user_post_counts_query_rows_free(&rows);
    }
    return sum;
}

uint64_t bm_gen_w3(void *ctx, const bm_inputs *in)
{
    gen *g = ctx;
    uint64_t count = 0;
    dbont_error err;
    for (size_t i = 0; i < in->w3_n; i++) {
        bench_posts_rows out;
        if (bench_posts_insert(g->conn, &g->w3_rows[in->offset + i], &out, &err) != DBONT_OK)
            die_dbont("W3", &err);
        if (out.count != 1)
            bm_die("W3: %zu rows back", out.count);
        count += out.rows[0].id > 0;
        bench_posts_rows_free(&out);
    }
    return count;
}

uint64_t bm_gen_w4(void *ctx, const bm_inputs *in)
{
    gen *g = ctx;
    dbont_error err;
    size_t failed;
    if (bench_posts_copy(g->conn, g->w4_rows, in->w4_n, &failed, &err) != DBONT_OK)
        die_dbont("W4", &err);
    return in->w4_n;
}
