/*
 * test_sharded.c: the generated routed functions (shd_*_sharded, over
 * dbont/sharded.h) on four real PostgreSQL primaries, as the application
 * role, each row checked where it lives through the owner's direct
 * connection to every shard.
 *
 *   routing   tags (a text key), orgs (a uuid key the insert fills in) and
 *             members (a multi-tenant table spread by its tenant, each call
 *             in that tenant's session): every row inserted lives on its
 *             computed shard and nowhere else; get, update and delete find
 *             it there
 *   copy      a bulk insert over every shard lands each row on its shard;
 *             one that fails on one shard (a duplicate key) leaves no row of
 *             it on any shard, and names the row and the shard
 *   count     a shard set of another size than the generated shard count
 *             is refused before anything runs
 *   moving    with "moving-from 3", a get, update or delete finds a row
 *             still on its old shard; without it, it does not
 *   down      shard 2 stopped: calls routed to it fail naming shard 2 with
 *             SQLSTATE 08xxx, the others still work; started: it works
 *
 * Each failed check prints "FAIL file:line: ..."; the last line is
 * "N passed, N failed" (threadcheck.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shd.h"
#include "threadcheck.h"

#define NSHARDS 4

static PGconn *owner[NSHARDS];    /* direct, as the owner: where rows really are */
static char app_dsn[NSHARDS][256]; /* each shard's primary, as app_user */
static const char *shards_ctl;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "test_sharded: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

/* A shard set over the four primaries as app_user; extra lines (e.g.
 * "moving-from 3") appended to the file; count shards listed. */
static dbont_shardset *open_set(int count, const char *extra, dbont_error *err)
{
    char path[] = "/tmp/test_sharded_conf.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp", NULL);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "shards %d\n", count);
    for (int i = 0; i < count; i++)
        fprintf(f, "shard %d primary %s\n", i, app_dsn[i % NSHARDS]);
    if (extra)
        fputs(extra, f);
    fclose(f);
    dbont_shardset_options o = DBONT_SHARDSET_OPTIONS_INIT;
    o.conf_path = path;
    o.connect_at_open = false;
    dbont_shardset *s = dbont_shardset_open(&o, err);
    unlink(path);
    return s;
}

/* The shards (as a bit set) where `sql` (one text parameter) finds rows. */
static unsigned where_found(const char *sql, const char *param)
{
    unsigned found = 0;
    for (int i = 0; i < NSHARDS; i++) {
        const char *v[1] = {param};
        PGresult *r = PQexecParams(owner[i], sql, 1, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            die("owner query", PQerrorMessage(owner[i]));
        if (atoll(PQgetvalue(r, 0, 0)) > 0)
            found |= 1u << i;
        PQclear(r);
    }
    return found;
}

static unsigned tag_shards(const char *name)
{
    return where_found("SELECT count(*) FROM tags WHERE name = $1", name);
}

static void owner_exec_all(const char *sql)
{
    for (int i = 0; i < NSHARDS; i++) {
        PGresult *r = PQexec(owner[i], sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
            die(sql, PQerrorMessage(owner[i]));
        PQclear(r);
    }
}

static shd_tags_new tag(const char *name)
{
    shd_tags_new t;
    memset(&t, 0, sizeof t);
    t.name = name;
    return t;
}

/* ---- routing ------------------------------------------------------------------ */

static void test_routing(dbont_shardset *s)
{
    dbont_error e;
    int per_shard[NSHARDS] = {0};
    char names[200][16];
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof names[i], "tag-%03d", i);
        shd_tags_new t = tag(names[i]);
        CHECK(shd_tags_insert_sharded(s, &t, NULL, &e) == DBONT_OK, "insert %s: %s", names[i], e.message);
        int want = shd_tags_shard_of(names[i]);
        unsigned got = tag_shards(names[i]);
        CHECK(got == 1u << want, "tag %s lives on shard %d only (found on mask %x)", names[i], want, got);
        per_shard[want]++;
    }
    for (int i = 0; i < NSHARDS; i++)
        CHECK(per_shard[i] > 20, "shard %d got a fair share of 200 tags (%d)", i, per_shard[i]);

    shd_tags_rows rows = {0};
    CHECK(shd_tags_get_sharded(s, DBONT_SHARD_PRIMARY, "tag-007", &rows, &e) == DBONT_OK && rows.count == 1 &&
              strcmp(rows.rows[0].name, "tag-007") == 0,
          "get_sharded finds tag-007: %s", e.message);
    if (rows.count == 1) {
        shd_tags row = rows.rows[0];
        row.uses = 41;
        CHECK(shd_tags_update_sharded(s, &row, &e) == DBONT_OK, "update_sharded tag-007: %s", e.message);
    }
    shd_tags_rows_free(&rows);
    CHECK(where_found("SELECT count(*) FROM tags WHERE name = $1 AND uses = 41", "tag-007") ==
              1u << shd_tags_shard_of("tag-007"),
          "the update landed on tag-007's shard");
    CHECK(shd_tags_delete_sharded(s, "tag-008", &e) == DBONT_OK, "delete_sharded tag-008: %s", e.message);
    CHECK(tag_shards("tag-008") == 0, "tag-008 is gone from every shard");
    CHECK(shd_tags_get_sharded(s, DBONT_SHARD_PRIMARY, "tag-008", NULL, &e) == DBONT_NOT_FOUND,
          "get_sharded of a deleted tag: NOT_FOUND");
    CHECK(shd_tags_delete_sharded(s, "tag-008", &e) == DBONT_NOT_FOUND, "delete_sharded again: NOT_FOUND");

    /* a uuid key left to its default is made before routing */
    for (int i = 0; i < 40; i++) {
        shd_orgs_new o;
        memset(&o, 0, sizeof o);
        char name[32];
        snprintf(name, sizeof name, "org %d", i);
        o.name = name;
        shd_orgs_rows out = {0};
        if (!CHECK(shd_orgs_insert_sharded(s, &o, &out, &e) == DBONT_OK && out.count == 1, "insert org %d: %s", i,
                   e.message))
            continue;
        dbont_uuid id = out.rows[0].id;
        char text[DBONT_UUID_TEXT_SIZE];
        dbont_uuid_format(&id, text);
        unsigned got = where_found("SELECT count(*) FROM orgs WHERE id = $1::uuid", text);
        CHECK(got == 1u << shd_orgs_shard_of(&id), "org %s lives on shard %d (mask %x)", text,
              shd_orgs_shard_of(&id), got);
        /* and its members, each call in the org's tenant session on that shard */
        for (int m = 0; m < 3; m++) {
            shd_members_new mb;
            memset(&mb, 0, sizeof mb);
            char email[64];
            snprintf(email, sizeof email, "m%d@org%d.example", m, i);
            mb.org_id = id;
            mb.org_id_set = true;
            mb.email = email;
            shd_members_rows mo = {0};
            if (!CHECK(shd_members_insert_sharded(s, &mb, &mo, &e) == DBONT_OK && mo.count == 1,
                       "insert member %s: %s", email, e.message))
                continue;
            dbont_uuid mid = mo.rows[0].id;
            CHECK(where_found("SELECT count(*) FROM members WHERE email = $1", email) == got,
                  "member %s lives with its org", email);
            shd_members_rows back = {0};
            CHECK(shd_members_get_sharded(s, DBONT_SHARD_PRIMARY, id, mid, &back, &e) == DBONT_OK && back.count == 1 &&
                      strcmp(back.rows[0].email, email) == 0,
                  "get_sharded(org, id) finds %s: %s", email, e.message);
            shd_members_rows_free(&back);
            shd_members_rows_free(&mo);
        }
        shd_orgs_rows_free(&out);
    }
    /* the tenant column is the key: a member without it has no tenant and
     * no shard (its default, the session's tenant, cannot say) */
    shd_members_new lost;
    memset(&lost, 0, sizeof lost);
    lost.email = "nobody@nowhere.example";
    CHECK(shd_members_insert_sharded(s, &lost, NULL, &e) == DBONT_ERROR && strcmp(e.sqlstate, "23502") == 0 &&
              strstr(e.message, "org_id") != NULL,
          "a member without its org_id: refused (%s %s)", e.sqlstate, e.message);
}

/* ---- copy ------------------------------------------------------------------------ */

static void test_copy(dbont_shardset *s)
{
    dbont_error e;
    enum { N = 1000 };
    static char names[N][16];
    static shd_tags_new rows[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "bulk-%04d", i);
        rows[i] = tag(names[i]);
    }
    size_t failed = 0;
    CHECK(shd_tags_copy_sharded(s, rows, N, &failed, &e) == DBONT_OK, "copy_sharded of %d tags: %s", N, e.message);
    int wrong = 0;
    for (int i = 0; i < N; i += 7)
        wrong += tag_shards(names[i]) != 1u << shd_tags_shard_of(names[i]);
    CHECK(wrong == 0, "every sampled bulk tag lives on its shard only (%d wrong)", wrong);
    unsigned total = 0;
    for (int i = 0; i < NSHARDS; i++) {
        PGresult *r = PQexec(owner[i], "SELECT count(*) FROM tags WHERE name LIKE 'bulk-%'");
        total += (unsigned)atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    CHECK(total == N, "%d bulk tags over the shards (%u)", N, total);

    /* one row collides on its shard: nothing of the call stays anywhere */
    static char more[50][16];
    static shd_tags_new again[50];
    for (int i = 0; i < 50; i++) {
        snprintf(more[i], sizeof more[i], "late-%02d", i);
        again[i] = tag(more[i]);
    }
    again[37] = tag("bulk-0005"); /* exists already */
    CHECK(shd_tags_copy_sharded(s, again, 50, &failed, &e) == DBONT_ERROR, "a bulk insert with a duplicate fails");
    char want[32];
    snprintf(want, sizeof want, "shard %d: ", shd_tags_shard_of("bulk-0005"));
    CHECK(strncmp(e.message, want, strlen(want)) == 0 && strcmp(e.sqlstate, "23505") == 0,
          "... naming the shard, 23505: %s %s", e.sqlstate, e.message);
    CHECK(failed == 37, "... and the row (%zu)", failed);
    int left = 0;
    for (int i = 0; i < 50; i++)
        if (i != 37)
            left += tag_shards(more[i]) != 0;
    CHECK(left == 0, "no row of the failed bulk insert stayed on any shard (%d did)", left);
}

/* ---- count, moving, down ------------------------------------------------------------------ */

static void test_count(void)
{
    dbont_error e;
    dbont_shardset *three = open_set(3, NULL, &e);
    if (!CHECK(three != NULL, "a set of 3 opens: %s", e.message))
        return;
    shd_tags_new t = tag("never");
    CHECK(shd_tags_insert_sharded(three, &t, NULL, &e) == DBONT_ERROR && strcmp(e.sqlstate, "22023") == 0 &&
              strstr(e.message, "4 shards") && strstr(e.message, "has 3"),
          "a set of 3 for tags spread over 4: refused (%s %s)", e.sqlstate, e.message);
    CHECK(tag_shards("never") == 0, "... and nothing written");
    dbont_shardset_close(three);
}

static void test_moving(dbont_shardset *plain)
{
    dbont_error e;
    /* a tag whose shard differs between 3 and 4 shards, left on its old
     * one as a move from 3 shards would have it */
    char name[32] = "";
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "moving-%d", i);
        if (dbont_shard_of_text(name, strlen(name), 3) != dbont_shard_of_text(name, strlen(name), 4))
            break;
    }
    int old = dbont_shard_of_text(name, strlen(name), 3);
    const char *v[1] = {name};
    PGresult *r = PQexecParams(owner[old], "INSERT INTO tags (name, uses) VALUES ($1, 5)", 1, NULL, v, NULL, NULL, 0);
    CHECK(PQresultStatus(r) == PGRES_COMMAND_OK, "placed %s on its old shard %d", name, old);
    PQclear(r);
    CHECK(shd_tags_get_sharded(plain, DBONT_SHARD_PRIMARY, name, NULL, &e) == DBONT_NOT_FOUND,
          "without a move under way, %s is looked for on its new shard only", name);
    dbont_shardset *moving = open_set(NSHARDS, "moving-from 3\n", &e);
    if (!CHECK(moving != NULL, "a set moving from 3 shards opens: %s", e.message))
        return;
    shd_tags_rows rows = {0};
    CHECK(shd_tags_get_sharded(moving, DBONT_SHARD_PRIMARY, name, &rows, &e) == DBONT_OK && rows.count == 1 &&
              rows.rows[0].uses == 5,
          "moving from 3: get_sharded finds %s on its old shard: %s", name, e.message);
    if (rows.count == 1) {
        shd_tags row = rows.rows[0];
        row.uses = 6;
        CHECK(shd_tags_update_sharded(moving, &row, &e) == DBONT_OK, "... update_sharded too: %s", e.message);
    }
    shd_tags_rows_free(&rows);
    CHECK(shd_tags_delete_sharded(moving, name, &e) == DBONT_OK, "... and delete_sharded: %s", e.message);
    CHECK(tag_shards(name) == 0, "... which removed it from its old shard");
    dbont_shardset_close(moving);
}

static void test_down(dbont_shardset *s)
{
    dbont_error e;
    char cmd[1024];
    if (!CHECK(shards_ctl != NULL, "SHARDS_CTL is set (dbont_add_shard_test)"))
        return;
    snprintf(cmd, sizeof cmd, "%s stop-shard 2 >/dev/null", shards_ctl);
    if (!CHECK(system(cmd) == 0, "stop-shard 2"))
        return;
    int ok = 0, refused = 0;
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "down-%02d", i);
        shd_tags_new t = tag(name);
        dbont_status st = shd_tags_insert_sharded(s, &t, NULL, &e);
        if (shd_tags_shard_of(name) == 2) {
            refused += st == DBONT_ERROR && strncmp(e.sqlstate, "08", 2) == 0 && strstr(e.message, "shard 2") != NULL;
            if (st != DBONT_ERROR || strncmp(e.sqlstate, "08", 2) != 0)
                CHECK(false, "%s, routed to the stopped shard 2: %s %s", name, e.sqlstate, e.message);
        } else {
            ok += st == DBONT_OK;
        }
    }
    CHECK(refused > 0 && ok > 0, "shard 2 down: its calls fail naming it (%d), the others work (%d)", refused, ok);
    snprintf(cmd, sizeof cmd, "%s start-shard 2 >/dev/null", shards_ctl);
    CHECK(system(cmd) == 0, "start-shard 2");
    int back = 0;
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "back-%02d", i);
        if (shd_tags_shard_of(name) != 2)
            continue;
        shd_tags_new t = tag(name);
        back += shd_tags_insert_sharded(s, &t, NULL, &e) == DBONT_OK;
    }
    CHECK(back > 0, "shard 2 started: calls routed to it work again (%d)", back);
}

int main(void)
{
    const char *count = getenv("DBONT_SHARD_COUNT");
    shards_ctl = getenv("SHARDS_CTL");
    if (!count || atoi(count) != NSHARDS)
        die("needs DBONT_SHARD_COUNT=4 and DBONT_SHARD_<i>_PRIMARY (dbont_add_shard_test)", NULL);
    for (int i = 0; i < NSHARDS; i++) {
        char var[64];
        snprintf(var, sizeof var, "DBONT_SHARD_%d_PRIMARY", i);
        const char *url = getenv(var);
        int port;
        if (!url || sscanf(strrchr(url, ':') + 1, "%d", &port) != 1)
            die("cannot read the port of", var);
        snprintf(app_dsn[i], sizeof app_dsn[i], "host=127.0.0.1 port=%d dbname=postgres user=app_user", port);
        owner[i] = PQconnectdb(url);
        if (PQstatus(owner[i]) != CONNECTION_OK)
            die("owner connection", PQerrorMessage(owner[i]));
        PGresult *r = PQexec(owner[i], "SET client_min_messages = warning");
        PQclear(r);
    }
    owner_exec_all("DELETE FROM members; DELETE FROM orgs; DELETE FROM tags");
    dbont_error e;
    dbont_shardset *s = open_set(NSHARDS, NULL, &e);
    if (!s)
        die("open the shard set", e.message);

    printf("== routing\n");
    test_routing(s);
    printf("== copy\n");
    test_copy(s);
    printf("== count\n");
    test_count();
    printf("== moving\n");
    test_moving(s);
    printf("== down\n");
    test_down(s);

    dbont_shardset_close(s);
    for (int i = 0; i < NSHARDS; i++)
        PQfinish(owner[i]);
    return threadcheck_summary() ? 1 : 0;
}
