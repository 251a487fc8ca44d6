/*
 * The blog spread over shards: blog.ttl's organizations, users and posts,
 * with shards.ttl's strategies (every table by its tenant), through the
 * generated routed functions (blogsh.h: *_insert_sharded, *_get_sharded,
 * ...) over a shard set.  It reads the servers from $DBONT_SHARDS_CONF
 * (docs/scale-out.md, "Shard sets"), makes eight organizations with three
 * users each, and shows where every one of them lives: each call runs on
 * its organization's shard, in that organization's tenant session, and
 * every shard is then asked for the organization's users.  Every
 * call is checked; the program exits with 1 on the first unexpected
 * result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blogsh.h"

static dbont_shardset *set;

static void fail(const char *what, const dbont_error *err)
{
    fprintf(stderr, "blog-shards: %s failed: %s %s\n", what, err->sqlstate, err->message);
    dbont_shardset_close(set);
    exit(1);
}

int main(void)
{
    static const char *const names[] = {"Acme", "Globex", "Initech", "Umbrella",
                                        "Hooli", "Stark", "Wayne", "Wonka"};
    static const char *const people[] = {"alice", "bob", "carol"};
    enum { NORGS = sizeof names / sizeof names[0], NUSERS = sizeof people / sizeof people[0] };
    dbont_error err;
    dbont_shardset_options o = DBONT_SHARDSET_OPTIONS_INIT;
    o.expected_count = BLOGSH_USERS_SHARD_COUNT; /* the servers and the code agree */
    if ((set = dbont_shardset_open(&o, &err)) == NULL)
        fail("opening the shard set ($DBONT_SHARDS_CONF)", &err);
    printf("%d shards; organizations, users and posts each spread over %d by their organization\n",
           dbont_shardset_count(set), BLOGSH_USERS_SHARD_COUNT);

    int users_on[BLOGSH_USERS_SHARD_COUNT] = {0};
    for (int i = 0; i < NORGS; i++) {
        /* the organization's id is its tenant and its shard key: the
         * application picks it, before the row exists */
        blogsh_organizations_new org;
        memset(&org, 0, sizeof org);
        if (dbont_uuid_random(&org.id) != 0) {
            fprintf(stderr, "blog-shards: no random bytes for a uuid\n");
            return 1;
        }
        org.id_set = true;
        org.name = names[i];
        if (blogsh_organizations_insert_sharded(set, &org, NULL, &err) != DBONT_OK)
            fail("insert organization", &err);
        int shard = blogsh_organizations_shard_of(&org.id);
        printf("%-9s on shard %d:", names[i], shard);
        for (int u = 0; u < NUSERS; u++) {
            char email[64];
            snprintf(email, sizeof email, "%s@%s.example", people[u], names[i]);
            blogsh_users_new user;
            memset(&user, 0, sizeof user);
            user.organization_id = org.id;
            user.organization_id_set = true;
            user.email = email;
            user.username = people[u];
            blogsh_users_rows made = {0};
            if (blogsh_users_insert_sharded(set, &user, &made, &err) != DBONT_OK || made.count != 1)
                fail("insert user", &err);
            /* read back from the organization's shard, in its session */
            blogsh_users_rows back = {0};
            if (blogsh_users_get_sharded(set, DBONT_SHARD_PRIMARY, org.id, made.rows[0].id, &back, &err) != DBONT_OK ||
                back.count != 1 || strcmp(back.rows[0].email, email) != 0)
                fail("get the user back from its shard", &err);
            printf(" %s", back.rows[0].username);
            users_on[blogsh_users_shard_of(&user.organization_id)]++;
            blogsh_users_rows_free(&back);
            blogsh_users_rows_free(&made);
        }
        printf(" (found on shard");
        /* where the organization's users really are: every shard asked,
         * in the organization's session */
        int found = 0;
        for (int s = 0; s < dbont_shardset_count(set); s++) {
            dbont_conn *conn = dbont_shardset_acquire(set, s, DBONT_SHARD_PRIMARY, &err);
            if (conn == NULL)
                fail("acquire a shard's connection", &err);
            blogsh_users_rows here = {0};
            if (blogsh_tenant_begin(conn, org.id, &err) != DBONT_OK ||
                blogsh_users_list(conn, 100, 0, &here, &err) != DBONT_OK ||
                blogsh_tenant_end(conn, true, &err) != DBONT_OK)
                fail("list an organization's users on a shard", &err);
            if (here.count > 0) {
                printf(" %d", s);
                found += s == shard && here.count == NUSERS ? 1 : 100;
            }
            blogsh_users_rows_free(&here);
            dbont_shardset_release(set, conn);
        }
        printf(" only)\n");
        if (found != 1) {
            fprintf(stderr, "blog-shards: %s's users are not all on shard %d, and only there\n", names[i], shard);
            return 1;
        }
    }
    printf("users per shard:");
    for (int s = 0; s < BLOGSH_USERS_SHARD_COUNT; s++)
        printf(" %d: %d%s", s, users_on[s], s + 1 < BLOGSH_USERS_SHARD_COUNT ? "," : "\n");
    dbont_shardset_close(set);
    printf("done\n");
    return 0;
}
