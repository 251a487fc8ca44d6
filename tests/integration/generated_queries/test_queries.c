/*
 * test_queries.c: the queries, filters, batches and bulk insert that
 * dbont-gen generates for tests/ontologies/queries.ttl, against a real
 * PostgreSQL: every clause, NULLs on the outer side of joins, '?' inside a
 * string literal, returns one/many/none, a batch with one failing run, a
 * COPY with a bad row, and filter combinations.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q.h"

static int passed, failed;

#define CHECK(cond, ...)                          \
    do {                                          \
        if (cond) {                               \
            passed++;                             \
        } else {                                  \
            failed++;                             \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                  \
            printf("\n");                         \
        }                                         \
    } while (0)

static dbont_conn *conn;
static dbont_error err;

static int32_t add_author(const char *email, const char *name, bool active)
{
    q_authors_new a = {0};
    a.email = email;
    a.name = name; /* NULL: SQL NULL */
    a.active = active;
    a.active_set = true;
    q_authors_rows rows;
    dbont_status st = q_authors_insert(conn, &a, &rows, &err);
    CHECK(st == DBONT_OK, "insert author %s: %s %s", email, err.sqlstate, err.message);
    int32_t id = st == DBONT_OK ? rows.rows[0].id : -1;
    q_authors_rows_free(&rows);
    return id;
}

static int64_t add_article(int32_t author, const char *title, const char *score, bool published)
{
    q_articles_new a = {0};
    a.author_id = author;
    a.author_id_is_null = author < 0;
    a.title = title;
    a.score = score;
    a.published_at = INT64_C(1700000000000000);
    a.published_at_is_null = !published;
    q_articles_rows rows;
    dbont_status st = q_articles_insert(conn, &a, &rows, &err);
    CHECK(st == DBONT_OK, "insert article %s: %s %s", title, err.sqlstate, err.message);
    int64_t id = st == DBONT_OK ? rows.rows[0].id : -1;
    q_articles_rows_free(&rows);
    return id;
}

static void add_tag(int64_t article, const char *tag)
{
    q_tags_new t = {0};
    t.article_id = article;
    t.tag = tag;
    CHECK(q_tags_insert(conn, &t, NULL, &err) == DBONT_OK, "insert tag: %s %s", err.sqlstate, err.message);
}

static const char *text_or_null(const char *s, bool is_null)
{
    return is_null ? "(null)" : s;
}

int main(void)
{
    conn = dbont_connect(NULL, &err);
    if (!conn) {
        printf("FAIL connect: %s\n", err.message);
        return 1;
    }
    int32_t ada = add_author("ada@example.com", "Ada", true);
    int32_t bob = add_author("bob@example.com", NULL, true);
    int32_t cy = add_author("cy@example.com", "Cy", false);
    int32_t dee = add_author("dee@example.com", NULL, true);
    int64_t alpha = add_article(ada, "Alpha", "10.00", true);
    int64_t beta = add_article(ada, "Beta", NULL, false);
    int64_t gamma = add_article(bob, "Gamma", "3.50", true);
    int64_t orphan = add_article(-1, "Orphan", "1.00", false);
    add_tag(alpha, "c");
    add_tag(alpha, "db");
    add_tag(gamma, "x");

    /* returns one; a '?' in a string literal is not a parameter */
    q_author_by_email_query_rows one;
    dbont_status st = q_author_by_email_query(conn, "ada@example.com", &one, &err);
    CHECK(st == DBONT_OK && one.count == 1, "author_by_email: %d %s", st, err.message);
    if (st == DBONT_OK && one.count == 1) {
        CHECK(one.rows[0].id == ada, "author_by_email id");
        CHECK(strcmp(one.rows[0].email, "ada@example.com") == 0, "author_by_email email");
        CHECK(!one.rows[0].name_is_null && strcmp(one.rows[0].name, "Ada") == 0, "author_by_email name");
    }
    q_author_by_email_query_rows_free(&one);
    st = q_author_by_email_query(conn, "nobody@example.com", &one, &err);
    CHECK(st == DBONT_NOT_FOUND && one.count == 0, "author_by_email of nobody: %d", st);
    q_author_by_email_query_rows_free(&one);

    /* no db:select: the table's rows, two parameters, in id order */
    q_active_authors_query_rows active;
    st = q_active_authors_query(conn, true, 0, &active, &err);
    CHECK(st == DBONT_OK && active.count == 3, "active authors: %d %zu %s", st, active.count, err.message);
    if (active.count == 3) {
        CHECK(active.rows[0].id == ada && active.rows[1].id == bob && active.rows[2].id == dee, "active order");
        CHECK(active.rows[1].name_is_null && active.rows[1].name == NULL, "bob's name is NULL");
        CHECK(active.rows[0].active, "active flag");
    }
    q_active_authors_query_rows_free(&active);
    st = q_active_authors_query(conn, true, bob, &active, &err);
    CHECK(st == DBONT_OK && active.count == 2 && active.rows[0].id == bob, "active from bob: %zu", active.count);
    q_active_authors_query_rows_free(&active);

    /* left join + aggregates: COUNT is never NULL, MAX of nothing is */
    q_author_article_counts_query_rows counts;
    st = q_author_article_counts_query(conn, &counts, &err);
    CHECK(st == DBONT_OK && counts.count == 4, "counts: %d %zu %s", st, counts.count, err.message);
    if (counts.count == 4) {
        CHECK(counts.rows[0].id == ada && counts.rows[0].article_count == 2, "ada has 2");
        CHECK(!counts.rows[0].last_title_is_null && strcmp(counts.rows[0].last_title, "Beta") == 0, "ada's last");
        CHECK(counts.rows[1].article_count == 1 && strcmp(counts.rows[1].last_title, "Gamma") == 0, "bob");
        CHECK(counts.rows[2].id == cy && counts.rows[2].article_count == 0, "cy has 0");
        CHECK(counts.rows[2].last_title_is_null && counts.rows[2].last_title == NULL, "cy's last title is NULL");
        CHECK(counts.rows[3].id == dee && counts.rows[3].last_title_is_null, "dee");
    }
    q_author_article_counts_query_rows_free(&counts);

    /* where $1, having $2 */
    q_prolific_authors_query_rows pro;
    st = q_prolific_authors_query(conn, true, 2, &pro, &err);
    CHECK(st == DBONT_OK && pro.count == 1 && pro.rows[0].id == ada && pro.rows[0].n == 2, "prolific >= 2: %zu",
          pro.count);
    q_prolific_authors_query_rows_free(&pro);
    st = q_prolific_authors_query(conn, true, 1, &pro, &err);
    CHECK(st == DBONT_OK && pro.count == 2, "prolific >= 1: %zu", pro.count);
    q_prolific_authors_query_rows_free(&pro);
    st = q_prolific_authors_query(conn, false, 1, &pro, &err);
    CHECK(st == DBONT_OK && pro.count == 0, "no inactive prolific author: %zu", pro.count);
    q_prolific_authors_query_rows_free(&pro);

    /* right join: the FROM table's columns may be NULL; resultNotNull */
    q_article_authors_query_rows aa;
    st = q_article_authors_query(conn, &aa, &err);
    CHECK(st == DBONT_OK && aa.count == 4, "article authors: %d %zu %s", st, aa.count, err.message);
    if (aa.count == 4) {
        CHECK(aa.rows[0].id == alpha && strcmp(aa.rows[0].byline, "Ada") == 0, "alpha by Ada");
        CHECK(aa.rows[2].id == gamma && strcmp(aa.rows[2].byline, "anonymous") == 0, "gamma: bob has no name");
        CHECK(aa.rows[3].id == orphan && aa.rows[3].email_is_null && aa.rows[3].email == NULL, "orphan: no author");
        CHECK(strcmp(aa.rows[3].byline, "anonymous") == 0, "orphan's byline");
    }
    q_article_authors_query_rows_free(&aa);

    /* full join, expressions, NULLS LAST / FIRST */
    q_everything_query_rows all;
    st = q_everything_query(conn, &all, &err);
    CHECK(st == DBONT_OK && all.count == 5, "everything: %d %zu %s", st, all.count, err.message);
    if (all.count == 5) {
        static const char *const want[5][2] = {
            {"Alpha", "c"}, {"Alpha", "db"}, {"Beta", "(null)"}, {"Gamma", "x"}, {"Orphan", "(null)"}};
        for (size_t i = 0; i < 5; i++) {
            const q_everything_query_row *r = &all.rows[i];
            CHECK(strcmp(text_or_null(r->title, r->title_is_null), want[i][0]) == 0 &&
                      strcmp(text_or_null(r->tag, r->tag_is_null), want[i][1]) == 0,
                  "everything row %zu: %s/%s", i, text_or_null(r->title, r->title_is_null),
                  text_or_null(r->tag, r->tag_is_null));
        }
        CHECK(strcmp(all.rows[0].double_score, "20.00") == 0, "double score: %s", all.rows[0].double_score);
        CHECK(all.rows[2].double_score_is_null, "Beta has no score");
        CHECK(all.rows[0].published_at == INT64_C(1700000000000000) && all.rows[2].published_at_is_null,
              "published_at");
    }
    q_everything_query_rows_free(&all);

    /* returns none */
    CHECK(q_touch_query(conn, ada, &err) == DBONT_OK, "touch: %s", err.message);
    (void)beta;

    /* a batch with one failing run: the others still run */
    q_score_above_query_params params[3] = {{"2"}, {"0"}, {"4"}};
    dbont_batch_item items[3];
    st = q_score_above_query_batch(conn, params, 3, items, &err);
    CHECK(st == DBONT_ERROR, "a batch with a failing run reports it: %d", st);
    CHECK(items[0].status == DBONT_OK && items[2].status == DBONT_OK, "runs 0 and 2 succeed");
    CHECK(items[1].status == DBONT_ERROR && strcmp(items[1].error.sqlstate, "22012") == 0,
          "run 1 divides by zero: %s %s", items[1].error.sqlstate, items[1].error.message);
    q_score_above_query_rows r0 = q_score_above_query_batch_rows(&items[0]);
    q_score_above_query_rows r2 = q_score_above_query_batch_rows(&items[2]);
    CHECK(r0.count == 2 && r0.rows[0].id == alpha && r0.rows[1].id == gamma, "score/2 > 1: %zu", r0.count);
    CHECK(r2.count == 1 && r2.rows[0].id == alpha, "score/4 > 1: %zu", r2.count);
    dbont_batch_free(items, 3);
    q_score_above_query_rows single;
    CHECK(q_score_above_query(conn, "2", &single, &err) == DBONT_OK && single.count == 2,
          "the connection still works after the batch: %s", err.message);
    q_score_above_query_rows_free(&single);

    /* filters */
    q_authors_filter f = q_authors_filter_init();
    q_authors_where_active(&f, true);
    q_authors_where_name_is_null(&f);
    q_authors_order_by(&f, q_authors_col_email, DBONT_DESC);
    q_authors_rows found;
    st = q_authors_find(conn, &f, &found, &err);
    CHECK(st == DBONT_OK && found.count == 2 && found.rows[0].id == dee && found.rows[1].id == bob,
          "active, nameless, by email desc: %d %zu %s", st, found.count, err.message);
    q_authors_rows_free(&found);
    f = q_authors_filter_init();
    q_authors_where_has_articles(&f);
    q_authors_order_by(&f, q_authors_col_id, DBONT_ASC);
    st = q_authors_find(conn, &f, &found, &err);
    CHECK(st == DBONT_OK && found.count == 2 && found.rows[0].id == ada && found.rows[1].id == bob,
          "authors with articles: %zu %s", found.count, err.message);
    q_authors_rows_free(&found);
    q_authors_limit(&f, 1, 1);
    st = q_authors_find(conn, &f, &found, &err);
    CHECK(st == DBONT_OK && found.count == 1 && found.rows[0].id == bob, "limit 1 offset 1: %zu", found.count);
    q_authors_rows_free(&found);
    f = q_authors_filter_init();
    q_authors_where_email(&f, "cy@example.com");
    st = q_authors_find(conn, &f, &found, &err);
    CHECK(st == DBONT_OK && found.count == 1 && found.rows[0].id == cy, "by email: %zu", found.count);
    q_authors_rows_free(&found);

    /* bulk insert: a bad row inserts nothing and is named */
    char too_long[62];
    memset(too_long, 'x', 61);
    too_long[61] = '\0';
    q_authors_new bulk[4] = {{0}};
    static const char *const emails[4] = {"e1@example.com", "e2@example.com", "e3@example.com", "e4@example.com"};
    for (size_t i = 0; i < 4; i++) {
        bulk[i].email = emails[i];
        bulk[i].name = i == 3 ? too_long : "ok";
    }
    size_t bad = 0;
    st = q_authors_copy(conn, bulk, 4, &bad, &err);
    CHECK(st == DBONT_ERROR && bad == 3 && strcmp(err.sqlstate, "22001") == 0,
          "copy with a too long name: %d row %zu %s %s", st, bad, err.sqlstate, err.message);
    f = q_authors_filter_init();
    st = q_authors_find(conn, &f, &found, &err);
    CHECK(st == DBONT_OK && found.count == 4, "nothing was inserted: %zu", found.count);
    q_authors_rows_free(&found);
    st = q_authors_copy(conn, bulk, 3, &bad, &err);
    CHECK(st == DBONT_OK, "copy of three good rows: %s %s", err.sqlstate, err.message);
    st = q_authors_find(conn, &f, &found, &err);
    CHECK(st == DBONT_OK && found.count == 7, "three more authors: %zu", found.count);
    if (found.count == 7)
        CHECK(found.rows[4].active && strcmp(found.rows[4].name, "ok") == 0, "copied rows take the default");
    q_authors_rows_free(&found);

    dbont_close(conn);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
