/*
 * The blog example: organizations, users and posts through the functions
 * dbont-gen generated from blog.ttl (blog.h), as a multi-tenant application
 * runs them.  It connects to $APP_DATABASE_URL as the application role
 * app_user, which the migrations in migrations/ created (they run as the
 * tables' owner), and does all its work inside tenant sessions: row-level
 * security shows each session only its own organization's rows.  It prints
 * what it does.  Every call is checked; the program exits with 1 on the
 * first unexpected result.
 */
/* gmtime_r */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blog.h"

static dbont_conn *conn;

static void fail(const char *what, const dbont_error *err)
{
    fprintf(stderr, "blog-example: %s failed: %s %s\n", what, err->sqlstate, err->message);
    dbont_close(conn);
    exit(1);
}

static void expect(dbont_status got, dbont_status want, const char *what, const dbont_error *err)
{
    if (got != want)
        fail(what, err);
}

static const char *uuid_text(const dbont_uuid *id, char out[DBONT_UUID_TEXT_SIZE])
{
    dbont_uuid_format(id, out);
    return out;
}

/* dbont_timestamp counts microseconds since 1970-01-01 00:00:00. */
static const char *time_text(dbont_timestamp t, char *out, size_t size)
{
    time_t seconds = (time_t)(t / 1000000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm);
    return out;
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "blog-example: %s\n", what);
        dbont_close(conn);
        exit(1);
    }
}

/* A tenant session: a transaction in which row-level security shows and
 * accepts only this organization's rows. */
static void begin(dbont_uuid tenant)
{
    dbont_error err = {0};
    expect(blog_tenant_begin(conn, tenant, &err), DBONT_OK, "begin tenant session", &err);
}

static void commit(void)
{
    dbont_error err = {0};
    expect(blog_tenant_end(conn, true, &err), DBONT_OK, "commit tenant session", &err);
}

/* A new tenant: its id is picked here, so that it can be the session's
 * tenant before its row exists; the row's id then defaults to it. */
static dbont_uuid create_organization(const char *name)
{
    dbont_error err = {0};
    dbont_uuid id;
    check(dbont_uuid_random(&id) == 0, "no random bytes for a uuid");
    begin(id);
    blog_organizations_new org = {0};
    org.name = name;
    blog_organizations_rows orgs;
    expect(blog_organizations_insert(conn, &org, &orgs, &err), DBONT_OK, "insert organization", &err);
    char text[DBONT_UUID_TEXT_SIZE], when[32];
    printf("created organization %s (%s) at %s\n", orgs.rows[0].name, uuid_text(&orgs.rows[0].id, text),
           time_text(orgs.rows[0].created_at, when, sizeof when));
    check(memcmp(orgs.rows[0].id.bytes, id.bytes, 16) == 0, "the organization's id is not the session's tenant");
    blog_organizations_rows_free(&orgs);
    commit();
    return id;
}

/* A user in the session's organization: organization_id defaults to the
 * session's tenant. */
static dbont_uuid insert_user(const char *email, const char *username)
{
    dbont_error err = {0};
    blog_users_new user = {0};
    user.email = email;
    user.username = username;
    blog_users_rows users;
    expect(blog_users_insert(conn, &user, &users, &err), DBONT_OK, "insert user", &err);
    dbont_uuid id = users.rows[0].id;
    char text[DBONT_UUID_TEXT_SIZE];
    printf("  user %s <%s> (%s), active: %s\n", users.rows[0].username, users.rows[0].email, uuid_text(&id, text),
           users.rows[0].is_active ? "yes" : "no");
    blog_users_rows_free(&users);
    return id;
}

static void print_posts(const char *title, const blog_posts_rows *posts)
{
    printf("%s (%zu):\n", title, posts->count);
    for (size_t i = 0; i < posts->count; i++) {
        const blog_posts *p = &posts->rows[i];
        printf("  - \"%s\"%s, %lld views%s%s\n", p->title, p->is_published ? "" : " (draft)",
               (long long)p->views, p->content_is_null ? "" : ": ", p->content_is_null ? "" : p->content);
    }
}

int main(void)
{
    dbont_error err = {0};
    char id[DBONT_UUID_TEXT_SIZE];

    const char *dsn = getenv("APP_DATABASE_URL");
    if (!dsn || !*dsn) {
        fprintf(stderr, "blog-example: set APP_DATABASE_URL to a connection string for the application role "
                        "app_user (docs/multi-tenancy.md); `make example` does\n");
        return 2;
    }
    conn = dbont_connect(dsn, &err);
    if (!conn)
        fail("connect", &err);

    /* Outside a tenant session the tables are empty to this role, and a
     * row cannot be written: the tenant column would be NULL. */
    blog_organizations_rows none;
    expect(blog_organizations_list(conn, 10, 0, &none, &err), DBONT_OK, "list organizations", &err);
    printf("outside a tenant session: %zu organizations visible\n", none.count);
    check(none.count == 0, "rows visible outside a tenant session");
    blog_organizations_rows_free(&none);
    blog_organizations_new stray = {0};
    stray.name = "Nobody's";
    check(blog_organizations_insert(conn, &stray, NULL, &err) == DBONT_ERROR, "insert outside a tenant session");
    printf("insert outside a tenant session refused: %s %s\n", err.sqlstate, err.message);

    /* Two tenants, each with a user ada@example.com: unique constraints
     * hold within a tenant, so the same email can exist in both. */
    dbont_uuid acme = create_organization("Acme Publishing");
    dbont_uuid globex = create_organization("Globex");
    begin(globex);
    insert_user("ada@example.com", "ada.globex");
    blog_posts_new gpost = {0};
    gpost.user_id = insert_user("grace@example.com", "grace");
    gpost.title = "Globex news";
    blog_posts_rows grow;
    expect(blog_posts_insert(conn, &gpost, &grow, &err), DBONT_OK, "insert Globex post", &err);
    dbont_uuid globex_post = grow.rows[0].id;
    blog_posts_rows_free(&grow);
    commit();

    begin(acme);
    dbont_uuid user_id = insert_user("ada@example.com", "ada");
    commit();

    /* The same email twice in one organization breaks the unique
     * constraint: the error carries PostgreSQL's SQLSTATE and message, and
     * the failed statement ends the transaction, so the session rolls back. */
    begin(acme);
    blog_users_new dup = {0};
    dup.email = "ada@example.com";
    dup.username = "ada2";
    if (blog_users_insert(conn, &dup, NULL, &err) != DBONT_ERROR || strcmp(err.sqlstate, "23505") != 0)
        fail("duplicate user (expected 23505)", &err);
    printf("second ada@example.com in Acme refused as expected: %s %s\n", err.sqlstate, err.message);
    expect(blog_tenant_end(conn, false, &err), DBONT_OK, "roll back", &err);

    begin(acme);
    static const char *const titles[] = {"Hello, world", "Typed SQL in C", "Row-level security",
                                         "Migrations are history"};
    dbont_uuid post_ids[4];
    for (int i = 0; i < 4; i++) {
        blog_posts_new post = {0};
        post.user_id = user_id;
        post.title = titles[i];
        post.content = i % 2 ? "Some words." : NULL; /* NULL pointer: SQL NULL */
        blog_posts_rows row;
        expect(blog_posts_insert(conn, &post, &row, &err), DBONT_OK, "insert post", &err);
        post_ids[i] = row.rows[0].id;
        blog_posts_rows_free(&row);
    }
    printf("Acme: inserted 4 posts\n");

    /* The reference design's queries, as typed functions.  Only Acme's
     * ada is found, not Globex's. */
    blog_user_query_rows found;
    expect(blog_user_query(conn, "ada@example.com", &found, &err), DBONT_OK, "UserQuery", &err);
    printf("Acme: UserQuery(email = ada@example.com): %zu user(s), %s\n", found.count,
           found.count ? found.rows[0].username : "-");
    check(found.count == 1 && strcmp(found.rows[0].username, "ada") == 0, "UserQuery saw another tenant");
    blog_user_query_rows_free(&found);

    blog_user_with_posts_query_rows busy;
    expect(blog_user_with_posts_query(conn, 2, &busy, &err), DBONT_OK, "UserWithPostsQuery", &err);
    printf("Acme: UserWithPostsQuery(more than 2 posts): %zu user(s)%s%s\n", busy.count, busy.count ? ": " : "",
           busy.count ? busy.rows[0].email : "");
    blog_user_with_posts_query_rows_free(&busy);

    /* A bulk insert: three drafts in one statement.  PostgreSQL refuses
     * COPY into a table under row-level security, so for posts it is one
     * INSERT of arrays, which the tenant policy checks row by row. */
    blog_posts_new drafts[3];
    memset(drafts, 0, sizeof drafts);
    static const char *const draft_titles[3] = {"Draft one", "Draft two", "Draft three"};
    for (int i = 0; i < 3; i++) {
        drafts[i].user_id = user_id;
        drafts[i].title = draft_titles[i];
    }
    expect(blog_posts_copy(conn, drafts, 3, NULL, &err), DBONT_OK, "bulk insert", &err);
    printf("Acme: bulk-inserted 3 drafts in one statement\n");

    /* A filter: the user's unpublished posts, newest title first. */
    blog_posts_filter f = blog_posts_filter_init();
    blog_posts_where_user_id(&f, user_id);
    blog_posts_where_is_published(&f, false);
    blog_posts_order_by(&f, blog_posts_col_title, DBONT_DESC);
    blog_posts_limit(&f, 3, 0);
    blog_posts_rows unpublished;
    expect(blog_posts_find(conn, &f, &unpublished, &err), DBONT_OK, "find drafts", &err);
    print_posts("Acme: unpublished posts, by title descending (first 3)", &unpublished);
    blog_posts_rows_free(&unpublished);

    /* Get by primary key, change it, update it. */
    blog_posts_rows got;
    expect(blog_posts_get(conn, post_ids[0], &got, &err), DBONT_OK, "get post", &err);
    blog_posts changed = got.rows[0];
    printf("Acme: got post \"%s\" (%s)\n", changed.title, uuid_text(&changed.id, id));
    changed.title = "Hello again, world";
    changed.is_published = true;
    changed.views = 42;
    changed.content = "Now with content.";
    changed.content_is_null = false;
    expect(blog_posts_update(conn, &changed, &err), DBONT_OK, "update post", &err);
    blog_posts_rows_free(&got); /* changed pointed into it: done with both */
    printf("Acme: updated it: new title, published, 42 views\n");

    /* Full-text search (the gin index of blog.ttl's idx:PostSearch):
     * words in, posts out, best match first.  The "Row-level security"
     * post has no content, and its title still finds it; Globex's "Globex
     * news" is not Acme's to find.  Under row-level security PostgreSQL
     * would not use the index for this, so the search is a function that
     * applies the tenant filter itself (docs/full-text-search.md). */
    static const char *const searches[] = {"world", "security", "news"};
    for (int i = 0; i < 3; i++) {
        blog_posts_title_content_search_rows hits;
        expect(blog_posts_title_content_search(conn, searches[i], 10, &hits, &err), DBONT_OK, "search posts",
               &err);
        printf("Acme: search \"%s\": %zu post(s)", searches[i], hits.count);
        for (size_t k = 0; k < hits.count; k++)
            printf("%s\"%s\" (rank %.3f)", k ? ", " : ": ", hits.rows[k].title, (double)hits.rows[k].rank);
        printf("\n");
        check(hits.count == (i == 2 ? 0u : 1u), "search found the wrong posts");
        blog_posts_title_content_search_rows_free(&hits);
    }

    /* A cached query (blog.ttl's TopPostsQuery, docs/caching.md): the
     * warm-up runs it (a miss, stored), the next calls hit, and writing a
     * post through the generated functions invalidates it (the event
     * post:updated is applied when the session commits): a miss again. */
    dbont_cache_options copts = DBONT_CACHE_OPTIONS_INIT;
    copts.backend = BLOG_CACHE_BACKEND; /* blog.ttl's cache:backend, "memory" */
    dbont_cache *cache = dbont_cache_open(&copts, &err);
    check(cache != NULL, "cannot open the cache");
    dbont_conn_set_cache(conn, cache);
    commit();
    begin(acme);
    dbont_cache_stats cs;
    expect(blog_cache_warm_app_startup(conn, cache, &err), DBONT_OK, "warm up the cache", &err);
    for (int round = 0; round < 3; round++) {
        blog_top_posts_query_rows top;
        expect(blog_top_posts_query_cached(conn, cache, true, &top, &err), DBONT_OK, "TopPostsQuery", &err);
        dbont_cache_stats_get(cache, &cs);
        printf("Acme: TopPostsQuery (cached): %zu post(s)%s%s, views %lld; cache: %llu hit(s), %llu miss(es)\n",
               top.count, top.count ? ", first " : "", top.count ? top.rows[0].title : "",
               top.count ? (long long)top.rows[0].views : 0LL, (unsigned long long)cs.hits,
               (unsigned long long)cs.misses);
        blog_top_posts_query_rows_free(&top);
        if (round == 1) {
            /* a write: views go up; the event applies at commit */
            blog_posts_rows again;
            expect(blog_posts_get(conn, post_ids[0], &again, &err), DBONT_OK, "get post", &err);
            blog_posts bumped = again.rows[0];
            bumped.views += 1;
            expect(blog_posts_update(conn, &bumped, &err), DBONT_OK, "update post", &err);
            blog_posts_rows_free(&again);
            commit();
            dbont_cache_stats_get(cache, &cs);
            printf("Acme: updated a post: %llu invalidation(s)\n", (unsigned long long)cs.invalidations);
            begin(acme);
        }
    }
    check(cs.hits == 2 && cs.misses == 2 && cs.invalidations >= 1, "the cache did not hit, miss and invalidate");

    /* Globex's post exists, but not for Acme's session. */
    expect(blog_posts_get(conn, globex_post, NULL, &err), DBONT_NOT_FOUND, "get Globex's post as Acme", &err);
    expect(blog_posts_delete(conn, globex_post, &err), DBONT_NOT_FOUND, "delete Globex's post as Acme", &err);
    printf("Acme: Globex's post (%s): not found, and deleting it deletes nothing\n", uuid_text(&globex_post, id));

    /* List, two pages of two, in primary key order. */
    for (int64_t offset = 0; offset < 4; offset += 2) {
        blog_posts_rows page;
        expect(blog_posts_list(conn, 2, offset, &page, &err), DBONT_OK, "list posts", &err);
        char title[40];
        snprintf(title, sizeof title, "Acme: posts %lld-%lld", (long long)offset + 1, (long long)offset + 2);
        print_posts(title, &page);
        blog_posts_rows_free(&page);
    }

    /* Delete, and see that it is gone. */
    expect(blog_posts_delete(conn, post_ids[3], &err), DBONT_OK, "delete post", &err);
    expect(blog_posts_get(conn, post_ids[3], NULL, &err), DBONT_NOT_FOUND, "get deleted post", &err);
    expect(blog_posts_delete(conn, post_ids[3], &err), DBONT_NOT_FOUND, "delete deleted post", &err);
    printf("Acme: deleted post %s; getting it again: not found\n", uuid_text(&post_ids[3], id));
    commit();

    /* Deleting Acme cascades to its users and posts, and to nothing of
     * Globex's. */
    begin(acme);
    expect(blog_organizations_delete(conn, acme, &err), DBONT_OK, "delete organization", &err);
    blog_posts_rows left;
    expect(blog_posts_list(conn, 10, 0, &left, &err), DBONT_OK, "list posts", &err);
    printf("Acme: deleted the organization; its posts left: %zu\n", left.count);
    check(left.count == 0, "ON DELETE CASCADE left posts");
    blog_posts_rows_free(&left);
    commit();

    begin(globex);
    expect(blog_posts_list(conn, 10, 0, &left, &err), DBONT_OK, "list posts", &err);
    blog_users_rows gusers;
    expect(blog_users_list(conn, 10, 0, &gusers, &err), DBONT_OK, "list users", &err);
    printf("Globex: still %zu post(s) and %zu user(s)\n", left.count, gusers.count);
    check(left.count == 1 && gusers.count == 2, "Globex lost rows to Acme's deletion");
    blog_posts_rows_free(&left);
    blog_users_rows_free(&gusers);
    commit();

    dbont_conn_set_cache(conn, NULL);
    dbont_close(conn);
    dbont_cache_close(cache);
    printf("done\n");
    return 0;
}
