/*
 * The blog example: organizations, users and posts through the functions
 * dbont-gen generated from blog.ttl (blog.h).  It connects to
 * $DATABASE_URL, whose schema the migrations in migrations/ created, and
 * prints what it does.  Every call is checked; the program exits with 1 on
 * the first unexpected result.
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
    char id[DBONT_UUID_TEXT_SIZE], when[32];

    conn = dbont_connect(NULL, &err); /* NULL: $DATABASE_URL */
    if (!conn)
        fail("connect", &err);

    /* Insert: columns with a default (id, created_at) get it unless set. */
    blog_organizations_new org = {0};
    org.name = "Acme Publishing";
    blog_organizations_rows orgs;
    expect(blog_organizations_insert(conn, &org, &orgs, &err), DBONT_OK, "insert organization", &err);
    dbont_uuid org_id = orgs.rows[0].id;
    printf("inserted organization %s (%s), created %s\n", orgs.rows[0].name, uuid_text(&org_id, id),
           time_text(orgs.rows[0].created_at, when, sizeof when));
    blog_organizations_rows_free(&orgs);

    blog_users_new user = {0};
    user.organization_id = org_id;
    user.email = "ada@example.com";
    user.username = "ada";
    blog_users_rows users;
    expect(blog_users_insert(conn, &user, &users, &err), DBONT_OK, "insert user", &err);
    dbont_uuid user_id = users.rows[0].id;
    printf("inserted user %s <%s> (%s), active: %s\n", users.rows[0].username, users.rows[0].email,
           uuid_text(&user_id, id), users.rows[0].is_active ? "yes" : "no");
    blog_users_rows_free(&users);

    /* The same email twice in one organization breaks a unique constraint:
     * the error carries PostgreSQL's SQLSTATE and message. */
    if (blog_users_insert(conn, &user, NULL, &err) != DBONT_ERROR || strcmp(err.sqlstate, "23505") != 0)
        fail("duplicate user (expected 23505)", &err);
    printf("second ada@example.com refused as expected: %s %s\n", err.sqlstate, err.message);

    static const char *const titles[] = {"Hello, world", "Typed SQL in C", "Row-level security",
                                         "Migrations are history"};
    dbont_uuid post_ids[4];
    for (int i = 0; i < 4; i++) {
        blog_posts_new post = {0};
        post.organization_id = org_id;
        post.user_id = user_id;
        post.title = titles[i];
        post.content = i % 2 ? "Some words." : NULL; /* NULL pointer: SQL NULL */
        blog_posts_rows row;
        expect(blog_posts_insert(conn, &post, &row, &err), DBONT_OK, "insert post", &err);
        post_ids[i] = row.rows[0].id;
        blog_posts_rows_free(&row);
    }
    printf("inserted 4 posts\n");

    /* The reference design's queries, as typed functions. */
    blog_user_query_rows found;
    expect(blog_user_query(conn, "ada@example.com", &found, &err), DBONT_OK, "UserQuery", &err);
    printf("UserQuery(email = ada@example.com): %zu user(s), %s\n", found.count,
           found.count ? found.rows[0].username : "-");
    blog_user_query_rows_free(&found);

    blog_user_with_posts_query_rows busy;
    expect(blog_user_with_posts_query(conn, 2, &busy, &err), DBONT_OK, "UserWithPostsQuery", &err);
    printf("UserWithPostsQuery(more than 2 posts): %zu user(s)%s%s\n", busy.count, busy.count ? ": " : "",
           busy.count ? busy.rows[0].email : "");
    blog_user_with_posts_query_rows_free(&busy);

    /* A bulk insert goes through COPY: three drafts in one statement. */
    blog_posts_new drafts[3];
    memset(drafts, 0, sizeof drafts);
    static const char *const draft_titles[3] = {"Draft one", "Draft two", "Draft three"};
    for (int i = 0; i < 3; i++) {
        drafts[i].organization_id = org_id;
        drafts[i].user_id = user_id;
        drafts[i].title = draft_titles[i];
    }
    expect(blog_posts_copy(conn, drafts, 3, NULL, &err), DBONT_OK, "bulk insert", &err);
    printf("bulk-inserted 3 drafts with COPY\n");

    /* A filter: the user's unpublished posts, newest title first. */
    blog_posts_filter f = blog_posts_filter_init();
    blog_posts_where_user_id(&f, user_id);
    blog_posts_where_is_published(&f, false);
    blog_posts_order_by(&f, blog_posts_col_title, DBONT_DESC);
    blog_posts_limit(&f, 3, 0);
    blog_posts_rows unpublished;
    expect(blog_posts_find(conn, &f, &unpublished, &err), DBONT_OK, "find drafts", &err);
    print_posts("unpublished posts, by title descending (first 3)", &unpublished);
    blog_posts_rows_free(&unpublished);

    /* Get by primary key, change it, update it. */
    blog_posts_rows got;
    expect(blog_posts_get(conn, post_ids[0], &got, &err), DBONT_OK, "get post", &err);
    blog_posts changed = got.rows[0];
    printf("got post \"%s\" (%s)\n", changed.title, uuid_text(&changed.id, id));
    changed.title = "Hello again, world";
    changed.is_published = true;
    changed.views = 42;
    changed.content = "Now with content.";
    changed.content_is_null = false;
    expect(blog_posts_update(conn, &changed, &err), DBONT_OK, "update post", &err);
    blog_posts_rows_free(&got); /* changed pointed into it: done with both */
    printf("updated it: new title, published, 42 views\n");

    /* List, two pages of two, in primary key order. */
    for (int64_t offset = 0; offset < 4; offset += 2) {
        blog_posts_rows page;
        expect(blog_posts_list(conn, 2, offset, &page, &err), DBONT_OK, "list posts", &err);
        char title[32];
        snprintf(title, sizeof title, "posts %lld-%lld", (long long)offset + 1, (long long)offset + 2);
        print_posts(title, &page);
        blog_posts_rows_free(&page);
    }

    /* Delete, and see that it is gone. */
    expect(blog_posts_delete(conn, post_ids[3], &err), DBONT_OK, "delete post", &err);
    expect(blog_posts_get(conn, post_ids[3], NULL, &err), DBONT_NOT_FOUND, "get deleted post", &err);
    expect(blog_posts_delete(conn, post_ids[3], &err), DBONT_NOT_FOUND, "delete deleted post", &err);
    printf("deleted post %s; getting it again: not found\n", uuid_text(&post_ids[3], id));

    /* Deleting the organization cascades to its users and posts. */
    expect(blog_organizations_delete(conn, org_id, &err), DBONT_OK, "delete organization", &err);
    blog_posts_rows left;
    expect(blog_posts_list(conn, 10, 0, &left, &err), DBONT_OK, "list posts", &err);
    printf("deleted the organization; posts left: %zu\n", left.count);
    if (left.count != 0) {
        fprintf(stderr, "blog-example: ON DELETE CASCADE left %zu posts\n", left.count);
        return 1;
    }
    blog_posts_rows_free(&left);

    dbont_close(conn);
    printf("done\n");
    return 0;
}
