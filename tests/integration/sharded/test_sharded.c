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
 *   queries   the generated queries over the shards against an oracle: a
 *             database "oracle" on shard 0's server holding every shard's
 *             rows (the same migrations, the rows copied), where the plain
 *             query function runs as on one server.  Fan-outs (ORDER BY
 *             text with NULLs first and last, LIMIT; GROUP BY with count,
 *             sum, min, max and a NULL group; one combined row) equal the
 *             oracle's answer; routed ones (by a parameter, and in a
 *             tenant's session) equal the oracle's for that key
 *   qmoving   a routed query during a move: a key's rows on its old shard,
 *             then on both (the copy before the delete), then on the new
 *             one: always found, never twice
 *   qdown     shard 2 stopped: a fan-out fails naming shard 2 (08xxx);
 *             with DBONT_FANOUT_PARTIAL it returns the other shards' rows
 *             (the oracle's without shard 2's) and the report marks shard
 *             2; routed queries to other shards still work; started: whole
 *             again
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
static const char *migrations_dir;     /* for the oracle */
static char oracle_dsn[512];           /* the oracle, as the owner */
static char oracle_app_dsn[256];       /* the oracle, as app_user */
static PGconn *oracle_pg;              /* the oracle, as the owner */
static dbont_conn *oracle;             /* the same server and database, for the generated functions */
static dbont_conn *oracle_app;         /* as app_user, for tenant sessions */

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

/* ---- queries: the oracle ------------------------------------------------------------ */

static void pg_ok(PGconn *c, PGresult *r, ExecStatusType want, const char *what)
{
    if (PQresultStatus(r) != want)
        die(what, PQerrorMessage(c));
    PQclear(r);
}

/* Copies table's rows from a shard into the oracle (COPY out, COPY in). */
static void copy_rows(PGconn *from, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "COPY %s TO STDOUT", table);
    pg_ok(from, PQexec(from, sql), PGRES_COPY_OUT, sql);
    snprintf(sql, sizeof sql, "COPY %s FROM STDIN", table);
    pg_ok(oracle_pg, PQexec(oracle_pg, sql), PGRES_COPY_IN, sql);
    char *line;
    int n;
    while ((n = PQgetCopyData(from, &line, 0)) > 0) {
        if (PQputCopyData(oracle_pg, line, n) != 1)
            die("copy into the oracle", PQerrorMessage(oracle_pg));
        PQfreemem(line);
    }
    if (n != -1)
        die("copy out of a shard", PQerrorMessage(from));
    PGresult *r;
    while ((r = PQgetResult(from)) != NULL)
        pg_ok(from, r, PGRES_COMMAND_OK, "copy out of a shard");
    if (PQputCopyEnd(oracle_pg, NULL) != 1)
        die("copy into the oracle", PQerrorMessage(oracle_pg));
    while ((r = PQgetResult(oracle_pg)) != NULL)
        pg_ok(oracle_pg, r, PGRES_COMMAND_OK, "copy into the oracle");
}

/* The oracle holds exactly what the shards hold now. */
static void load_oracle(void)
{
    static const char *const tables[] = {"orgs", "members", "tags", "visits"};
    pg_ok(oracle_pg, PQexec(oracle_pg, "TRUNCATE members, orgs, tags, visits"), PGRES_COMMAND_OK, "truncate");
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (int i = 0; i < NSHARDS; i++)
            copy_rows(owner[i], tables[t]);
    pg_ok(oracle_pg, PQexec(oracle_pg, "ANALYZE"), PGRES_COMMAND_OK, "analyze");
}

/* Creates the oracle database on shard 0's server and applies the same
 * migrations as the shards have. */
static void make_oracle(void)
{
    pg_ok(owner[0], PQexec(owner[0], "DROP DATABASE IF EXISTS oracle"), PGRES_COMMAND_OK, "drop oracle");
    pg_ok(owner[0], PQexec(owner[0], "CREATE DATABASE oracle"), PGRES_COMMAND_OK, "create oracle");
    oracle_pg = PQconnectdb(oracle_dsn);
    if (PQstatus(oracle_pg) != CONNECTION_OK)
        die("oracle connection", PQerrorMessage(oracle_pg));
    PQclear(PQexec(oracle_pg, "SET client_min_messages = warning"));
    dbont_error e;
    if ((oracle = dbont_connect(oracle_dsn, &e)) == NULL)
        die("oracle (dbont)", e.message);
    dbont_migrate_report report;
    memset(&report, 0, sizeof report);
    if (dbont_migrate_up(oracle, migrations_dir, NULL, &report, &e) != DBONT_OK)
        die("migrating the oracle", e.message);
    dbont_migrate_report_free(&report);
    if ((oracle_app = dbont_connect(oracle_app_dsn, &e)) == NULL)
        die("oracle as app_user", e.message);
}

/* ---- queries: comparing rows --------------------------------------------------------------- */

static bool same_text(const char *a, bool a_null, const char *b, bool b_null)
{
    return a_null || b_null ? a_null == b_null : strcmp(a, b) == 0;
}

typedef bool (*row_eq)(const void *a, const void *b);

/* got and want (n rows of size bytes each): equal row by row; why says
 * how they differ, or how many rows. */
static bool same_rows(const void *got, size_t ngot, const void *want, size_t nwant, size_t size, row_eq eq,
                      char *why, size_t whysize)
{
    if (ngot != nwant) {
        snprintf(why, whysize, "%zu rows, the oracle %zu", ngot, nwant);
        return false;
    }
    for (size_t i = 0; i < ngot; i++)
        if (!eq((const char *)got + i * size, (const char *)want + i * size)) {
            snprintf(why, whysize, "row %zu differs", i);
            return false;
        }
    snprintf(why, whysize, "%zu rows", ngot);
    return true;
}

static bool label_eq(const void *a, const void *b)
{
    const shd_tags_by_label_query_row *x = a, *y = b;
    return strcmp(x->name, y->name) == 0 && same_text(x->label, x->label_is_null, y->label, y->label_is_null) &&
           x->uses == y->uses;
}

static bool label_desc_eq(const void *a, const void *b)
{
    const shd_tags_by_label_desc_query_row *x = a, *y = b;
    return strcmp(x->name, y->name) == 0 && same_text(x->label, x->label_is_null, y->label, y->label_is_null) &&
           x->uses == y->uses;
}

static bool stats_eq(const void *a, const void *b)
{
    const shd_category_stats_query_row *x = a, *y = b;
    return same_text(x->category, x->category_is_null, y->category, y->category_is_null) && x->n == y->n &&
           same_text(x->total, x->total_is_null, y->total, y->total_is_null) &&
           same_text(x->first_label, x->first_label_is_null, y->first_label, y->first_label_is_null) &&
           same_text(x->last_label, x->last_label_is_null, y->last_label, y->last_label_is_null) &&
           x->labelled == y->labelled && x->top_is_null == y->top_is_null && (x->top_is_null || x->top == y->top);
}

static bool totals_eq(const void *a, const void *b)
{
    const shd_tag_totals_query_row *x = a, *y = b;
    return x->n == y->n && same_text(x->total, x->total_is_null, y->total, y->total_is_null) &&
           same_text(x->first_name, x->first_name_is_null, y->first_name, y->first_name_is_null) &&
           same_text(x->last_name, x->last_name_is_null, y->last_name, y->last_name_is_null);
}

static bool visit_eq(const void *a, const void *b)
{
    const shd_account_visits_query_row *x = a, *y = b;
    return x->seq == y->seq && strcmp(x->path, y->path) == 0 && x->ms_is_null == y->ms_is_null &&
           (x->ms_is_null || x->ms == y->ms);
}

static bool member_eq(const void *a, const void *b)
{
    const shd_members_by_email_query_row *x = a, *y = b;
    return memcmp(&x->id, &y->id, sizeof x->id) == 0 && strcmp(x->email, y->email) == 0;
}

/* The fan-out's rows against the plain query's on the oracle. */
#define EXPECT_ORACLE(what, eq, got_st, got, want_st, want)                                                   \
    do {                                                                                                      \
        char why_[128] = "";                                                                                  \
        bool ran_ = (got_st) == DBONT_OK && (want_st) == DBONT_OK;                                            \
        CHECK(ran_ && same_rows((got).rows, (got).count, (want).rows, (want).count, sizeof *(got).rows, eq,   \
                                why_, sizeof why_),                                                           \
              "%s equals the oracle: %s (%s)", what, why_, ran_ ? "ran" : e.message);                       \
    } while (0)

/* ---- queries ----------------------------------------------------------------------------------- */

/* Labels (NULL for about 1 tag in 7; upper and lower case and non-ASCII
 * letters, which "C" sorts bytewise), categories (NULL for about 1 in 9)
 * and uses, each a function of the name. */
static const char label_sql[] =
    "UPDATE tags SET"
    " label = CASE WHEN get_byte(decode(md5(name), 'hex'), 0) % 7 = 0 THEN NULL"
    "   ELSE (ARRAY['alpha', 'Beta', 'gamma', 'Zeta', '\xc3\xa9mile', '\xce\xa9mega', 'zeta', '_x'])"
    "        [1 + get_byte(decode(md5(name), 'hex'), 1) % 8] || '-' || substr(md5(name), 1, 4) END,"
    " category = CASE WHEN get_byte(decode(md5(name), 'hex'), 2) % 9 = 0 THEN NULL"
    "   ELSE (ARRAY['a', 'B', 'c', '\xc3\x84'])[1 + get_byte(decode(md5(name), 'hex'), 3) % 4] END,"
    " uses = get_byte(decode(md5(name), 'hex'), 4)";

static void insert_visits(dbont_shardset *s)
{
    dbont_error e;
    static shd_visits_new rows[30 * 20];
    static char accounts[30][16];
    static const char *const paths[] = {"/", "/about", "/blog", "/blog/1", "/shop"};
    size_t n = 0;
    for (int a = 0; a < 30; a++) {
        snprintf(accounts[a], sizeof accounts[a], "acct-%02d", a);
        for (int v = 0; v <= a % 20; v++) {
            shd_visits_new *r = &rows[n++];
            memset(r, 0, sizeof *r);
            r->account = accounts[a];
            r->seq = v;
            r->path = paths[(a + v) % 5];
            r->ms = (a * 37 + v * 11) % 500;
            r->ms_is_null = v % 6 == 5;
        }
    }
    size_t failed;
    dbont_status st = shd_visits_copy_sharded(s, rows, n, &failed, &e);
    CHECK(st == DBONT_OK, "%zu visits over the shards: %s", n, st == DBONT_OK ? "" : e.message);
}

static void compare_labels(dbont_shardset *s, int64_t min_uses, int *nulls_last, int *nulls_first)
{
    dbont_error e;
    char what[64];
    shd_tags_by_label_query_rows got = {0}, want = {0};
    dbont_status gst = shd_tags_by_label_query_fanout(s, DBONT_SHARD_PRIMARY, 0, min_uses, &got, NULL, &e);
    dbont_status wst = shd_tags_by_label_query(oracle, min_uses, &want, &e);
    snprintf(what, sizeof what, "tags by label (uses >= %lld)", (long long)min_uses);
    EXPECT_ORACLE(what, label_eq, gst, got, wst, want);
    if (got.count > 0 && got.rows[got.count - 1].label_is_null)
        (*nulls_last)++;
    shd_tags_by_label_query_rows_free(&got);
    shd_tags_by_label_query_rows_free(&want);

    shd_tags_by_label_desc_query_rows dgot = {0}, dwant = {0};
    gst = shd_tags_by_label_desc_query_fanout(s, DBONT_SHARD_PRIMARY, 0, min_uses, &dgot, NULL, &e);
    wst = shd_tags_by_label_desc_query(oracle, min_uses, &dwant, &e);
    snprintf(what, sizeof what, "tags by label DESC (uses >= %lld)", (long long)min_uses);
    EXPECT_ORACLE(what, label_desc_eq, gst, dgot, wst, dwant);
    if (dgot.count > 0 && dgot.rows[0].label_is_null)
        (*nulls_first)++;
    shd_tags_by_label_desc_query_rows_free(&dgot);
    shd_tags_by_label_desc_query_rows_free(&dwant);
}

static void compare_aggregates(dbont_shardset *s)
{
    dbont_error e;
    shd_category_stats_query_rows got = {0}, want = {0};
    dbont_status gst = shd_category_stats_query_fanout(s, DBONT_SHARD_PRIMARY, 0, &got, NULL, &e);
    dbont_status wst = shd_category_stats_query(oracle, &want, &e);
    EXPECT_ORACLE("category stats (GROUP BY, count/sum/min/max)", stats_eq, gst, got, wst, want);
    CHECK(got.count >= 2 && got.rows[got.count - 1].category_is_null, "... with the NULL group last (%zu groups)",
          got.count);
    shd_category_stats_query_rows_free(&got);
    shd_category_stats_query_rows_free(&want);
    for (int64_t min_uses = 0; min_uses <= 300; min_uses += 150) {
        char what[64];
        shd_tag_totals_query_rows tgot = {0}, twant = {0};
        gst = shd_tag_totals_query_fanout(s, DBONT_SHARD_PRIMARY, 0, min_uses, &tgot, NULL, &e);
        wst = shd_tag_totals_query(oracle, min_uses, &twant, &e);
        snprintf(what, sizeof what, "tag totals, one row (uses >= %lld)", (long long)min_uses);
        EXPECT_ORACLE(what, totals_eq, gst, tgot, wst, twant);
        shd_tag_totals_query_rows_free(&tgot);
        shd_tag_totals_query_rows_free(&twant);
    }
}

static void compare_routed(dbont_shardset *s)
{
    dbont_error e;
    int equal = 0, rows = 0;
    for (int a = 0; a < 32; a++) { /* acct-30 and acct-31 have no visits */
        char account[16];
        snprintf(account, sizeof account, "acct-%02d", a);
        shd_account_visits_query_rows got = {0}, want = {0};
        dbont_status gst = shd_account_visits_query_sharded(s, DBONT_SHARD_PRIMARY, account, 3, &got, &e);
        dbont_status wst = shd_account_visits_query(oracle, account, 3, &want, &e);
        char why[128];
        if (gst == DBONT_OK && wst == DBONT_OK &&
            same_rows(got.rows, got.count, want.rows, want.count, sizeof *got.rows, visit_eq, why, sizeof why))
            equal++;
        else
            CHECK(false, "visits of %s equal the oracle's: %s (%s)", account, why, e.message);
        rows += (int)got.count;
        shd_account_visits_query_rows_free(&got);
        shd_account_visits_query_rows_free(&want);
    }
    CHECK(equal == 32 && rows > 100, "routed by account: 32 accounts equal the oracle's (%d rows)", rows);
    /* "account = NULL" holds for no row: any shard says so */
    shd_account_visits_query_rows none = {0};
    dbont_status st = shd_account_visits_query_sharded(s, DBONT_SHARD_PRIMARY, NULL, 0, &none, &e);
    CHECK(st == DBONT_OK && none.count == 0, "a NULL key: no rows (%s)", st == DBONT_OK ? "" : e.message);
    shd_account_visits_query_rows_free(&none);

    /* in each tenant's session on its shard, against the oracle's session */
    PGresult *r = PQexec(oracle_pg, "SELECT id FROM orgs ORDER BY id");
    int tenants = 0, same = 0;
    size_t members = 0;
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
        dbont_uuid org;
        if (dbont_uuid_parse(PQgetvalue(r, i, 0), &org) != 0)
            continue;
        tenants++;
        shd_members_by_email_query_rows got = {0}, want = {0};
        dbont_status gst = shd_members_by_email_query_sharded(s, DBONT_SHARD_PRIMARY, org, "m%", &got, &e);
        dbont_status wst = shd_tenant_begin(oracle_app, org, &e);
        if (wst == DBONT_OK) {
            wst = shd_members_by_email_query(oracle_app, "m%", &want, &e);
            shd_tenant_end(oracle_app, true, &e);
        }
        char why[128];
        if (gst == DBONT_OK && wst == DBONT_OK &&
            same_rows(got.rows, got.count, want.rows, want.count, sizeof *got.rows, member_eq, why, sizeof why))
            same++;
        else
            CHECK(false, "members of org %d equal the oracle's: %s (%s)", i, why, e.message);
        members += got.count;
        shd_members_by_email_query_rows_free(&got);
        shd_members_by_email_query_rows_free(&want);
    }
    PQclear(r);
    CHECK(tenants == 40 && same == tenants && members == 120,
          "in each tenant's session: %d of %d tenants equal the oracle's (%zu members)", same, tenants, members);
}

static void test_queries(dbont_shardset *s)
{
    owner_exec_all(label_sql);
    insert_visits(s);
    load_oracle();
    int nulls_last = 0, nulls_first = 0;
    static const int64_t thresholds[] = {0, 120, 240, 252, 255};
    for (size_t i = 0; i < sizeof thresholds / sizeof thresholds[0]; i++)
        compare_labels(s, thresholds[i], &nulls_last, &nulls_first);
    CHECK(nulls_first > 0 && nulls_last > 0, "NULL labels came first (DESC: %d) and last (ASC: %d)", nulls_first,
          nulls_last);
    compare_aggregates(s);
    compare_routed(s);
}

/* ---- a routed query during a move ---------------------------------------------------------------- */

static int visit_count(PGconn *c, const char *account)
{
    const char *v[1] = {account};
    PGresult *r = PQexecParams(c, "SELECT count(*) FROM visits WHERE account = $1", 1, NULL, v, NULL, NULL, 0);
    int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

static void place_visits(PGconn *c, const char *account)
{
    const char *v[1] = {account};
    PGresult *r = PQexecParams(c, "INSERT INTO visits (account, seq, path, ms) SELECT $1, g, '/moved', g * 10"
                                  " FROM generate_series(1, 5) AS g",
                               1, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die("placing visits", PQerrorMessage(c));
    PQclear(r);
}

static size_t routed_count(dbont_shardset *set, const char *account)
{
    dbont_error e;
    shd_account_visits_query_rows rows = {0};
    size_t n = shd_account_visits_query_sharded(set, DBONT_SHARD_PRIMARY, account, 0, &rows, &e) == DBONT_OK
                   ? rows.count
                   : (size_t)-1;
    if (n == (size_t)-1)
        printf("# routed query failed: %s %s\n", e.sqlstate, e.message);
    shd_account_visits_query_rows_free(&rows);
    return n;
}

static void test_query_moving(dbont_shardset *plain)
{
    dbont_error e;
    char account[32] = "";
    for (int i = 0; i < 1000; i++) {
        snprintf(account, sizeof account, "mover-%d", i);
        if (dbont_shard_of_text(account, strlen(account), 3) != dbont_shard_of_text(account, strlen(account), 4))
            break;
    }
    int old = dbont_shard_of_text(account, strlen(account), 3), now = shd_visits_shard_of(account);
    place_visits(owner[old], account);
    CHECK(routed_count(plain, account) == 0, "without a move under way, %s's visits are looked for on shard %d only",
          account, now);
    dbont_shardset *moving = open_set(NSHARDS, "moving-from 3\n", &e);
    if (!CHECK(moving != NULL, "a set moving from 3 shards opens: %s", e.message))
        return;
    CHECK(routed_count(moving, account) == 5, "moving: the 5 visits found on the old shard %d", old);
    place_visits(owner[now], account); /* copied, the originals not deleted yet */
    CHECK(routed_count(moving, account) == 5, "moving, on both shards: 5 visits, not 10");
    PGresult *r = PQexecParams(owner[old], "DELETE FROM visits WHERE account = $1", 1, NULL,
                               (const char *const[]){account}, NULL, NULL, 0);
    PQclear(r);
    CHECK(visit_count(owner[old], account) == 0 && routed_count(moving, account) == 5,
          "moved (deleted from the old shard): the 5 visits found on the new shard %d", now);
    CHECK(routed_count(plain, account) == 5, "... and without the move too");
    dbont_shardset_close(moving);
    r = PQexecParams(owner[now], "DELETE FROM visits WHERE account = $1", 1, NULL, (const char *const[]){account},
                     NULL, NULL, 0);
    PQclear(r);
}

/* ---- fan-out with a shard down ----------------------------------------------------------------------- */

/* The plain query on the oracle without shard's rows: deleted in a
 * transaction that is rolled back after. */
static dbont_status oracle_without(int shard, void (*run)(void *), void *arg)
{
    dbont_error e;
    if (dbont_begin(oracle, &e) != DBONT_OK)
        return DBONT_ERROR;
    PGresult *r = PQexec(dbont_conn_pg(oracle), "SELECT name FROM tags");
    char *list = malloc(64 * 1024);
    size_t len = 0;
    list[len++] = '{';
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0);
        if (dbont_shard_of_text(name, strlen(name), NSHARDS) != shard)
            continue;
        len += (size_t)snprintf(list + len, 64 * 1024 - len, "%s\"%s\"", len > 1 ? "," : "", name);
    }
    PQclear(r);
    snprintf(list + len, 64 * 1024 - len, "}");
    const char *v[1] = {list};
    r = PQexecParams(dbont_conn_pg(oracle), "DELETE FROM tags WHERE name = ANY($1::text[])", 1, NULL, v, NULL, NULL,
                     0);
    dbont_status st = PQresultStatus(r) == PGRES_COMMAND_OK ? DBONT_OK : DBONT_ERROR;
    PQclear(r);
    free(list);
    if (st == DBONT_OK)
        run(arg);
    dbont_rollback(oracle, &e);
    return st;
}

typedef struct partial_want {
    shd_tags_by_label_query_rows labels;
    shd_category_stats_query_rows stats;
    dbont_status st;
} partial_want;

static void run_partial_want(void *arg)
{
    partial_want *w = arg;
    dbont_error e;
    w->st = shd_tags_by_label_query(oracle, 0, &w->labels, &e);
    if (w->st == DBONT_OK)
        w->st = shd_category_stats_query(oracle, &w->stats, &e);
}

static void test_query_down(dbont_shardset *s)
{
    dbont_error e;
    char cmd[1024];
    if (!CHECK(shards_ctl != NULL, "SHARDS_CTL is set (dbont_add_shard_test)"))
        return;
    /* the owner's connection to shard 2 did not survive "down"'s restart */
    PQreset(owner[2]);
    if (PQstatus(owner[2]) != CONNECTION_OK)
        die("owner connection to shard 2", PQerrorMessage(owner[2]));
    load_oracle();
    partial_want want;
    memset(&want, 0, sizeof want);
    CHECK(oracle_without(2, run_partial_want, &want) == DBONT_OK && want.st == DBONT_OK,
          "the oracle's answers without shard 2's rows");
    snprintf(cmd, sizeof cmd, "%s stop-shard 2 >/dev/null", shards_ctl);
    if (!CHECK(system(cmd) == 0, "stop-shard 2"))
        return;

    shd_tags_by_label_query_rows got = {0};
    dbont_status st = shd_tags_by_label_query_fanout(s, DBONT_SHARD_PRIMARY, 0, 0, &got, NULL, &e);
    CHECK(st == DBONT_ERROR && strncmp(e.sqlstate, "08", 2) == 0 && strstr(e.message, "shard 2") != NULL &&
              got.count == 0,
          "shard 2 down: the fan-out fails naming it (%s %s)", e.sqlstate, e.message);
    shd_tags_by_label_query_rows_free(&got);

    dbont_fanout_shard shards[NSHARDS];
    dbont_fanout_report report = {shards, NSHARDS, 0};
    st = shd_tags_by_label_query_fanout(s, DBONT_SHARD_PRIMARY, DBONT_FANOUT_PARTIAL, 0, &got, &report, &e);
    CHECK(st == DBONT_OK && report.nfailed == 1 && shards[2].status == DBONT_ERROR &&
              strncmp(shards[2].error.sqlstate, "08", 2) == 0 && shards[0].status == DBONT_OK &&
              shards[1].status == DBONT_OK && shards[3].status == DBONT_OK,
          "PARTIAL: the others answer, the report marks shard 2 (%zu failed: %s %s)", report.nfailed,
          shards[2].error.sqlstate, shards[2].error.message);
    EXPECT_ORACLE("PARTIAL: tags by label without shard 2", label_eq, st, got, want.st, want.labels);
    shd_tags_by_label_query_rows_free(&got);

    shd_category_stats_query_rows stats = {0};
    st = shd_category_stats_query_fanout(s, DBONT_SHARD_PRIMARY, DBONT_FANOUT_PARTIAL, &stats, &report, &e);
    CHECK(st == DBONT_OK && report.nfailed == 1 && shards[2].status == DBONT_ERROR,
          "PARTIAL aggregates: shard 2 reported (%s)", e.message);
    EXPECT_ORACLE("PARTIAL: category stats without shard 2", stats_eq, st, stats, want.st, want.stats);
    shd_category_stats_query_rows_free(&stats);

    /* a routed query to another shard still works */
    char account[16] = "";
    for (int a = 0; a < 30; a++) {
        snprintf(account, sizeof account, "acct-%02d", a);
        if (shd_visits_shard_of(account) != 2)
            break;
    }
    shd_account_visits_query_rows visits = {0};
    st = shd_account_visits_query_sharded(s, DBONT_SHARD_PRIMARY, account, 0, &visits, &e);
    CHECK(st == DBONT_OK && visits.count > 0, "shard 2 down: a query routed to shard %d works (%zu rows): %s",
          shd_visits_shard_of(account), visits.count, st == DBONT_OK ? "" : e.message);
    shd_account_visits_query_rows_free(&visits);

    snprintf(cmd, sizeof cmd, "%s start-shard 2 >/dev/null", shards_ctl);
    CHECK(system(cmd) == 0, "start-shard 2");
    shd_tags_by_label_query_rows back = {0}, all = {0};
    dbont_status bst = DBONT_ERROR;
    /* the pool replaces the connections the stop broke: the first calls
     * may still meet one */
    for (int attempt = 0; attempt < 5 && bst != DBONT_OK; attempt++)
        bst = shd_tags_by_label_query_fanout(s, DBONT_SHARD_PRIMARY, 0, 0, &back, NULL, &e);
    dbont_status ast = shd_tags_by_label_query(oracle, 0, &all, &e);
    EXPECT_ORACLE("shard 2 started: the fan-out is whole again", label_eq, bst, back, ast, all);
    shd_tags_by_label_query_rows_free(&back);
    shd_tags_by_label_query_rows_free(&all);
    shd_tags_by_label_query_rows_free(&want.labels);
    shd_category_stats_query_rows_free(&want.stats);
}

int main(int argc, char **argv)
{
    const char *count = getenv("DBONT_SHARD_COUNT");
    shards_ctl = getenv("SHARDS_CTL");
    migrations_dir = argc > 1 ? argv[1] : NULL;
    if (!count || atoi(count) != NSHARDS || !migrations_dir)
        die("needs DBONT_SHARD_COUNT=4 and DBONT_SHARD_<i>_PRIMARY (dbont_add_shard_test), and the migrations "
            "folder as its argument",
            NULL);
    for (int i = 0; i < NSHARDS; i++) {
        char var[64];
        snprintf(var, sizeof var, "DBONT_SHARD_%d_PRIMARY", i);
        const char *url = getenv(var);
        int port;
        if (!url || sscanf(strrchr(url, ':') + 1, "%d", &port) != 1)
            die("cannot read the port of", var);
        snprintf(app_dsn[i], sizeof app_dsn[i], "host=127.0.0.1 port=%d dbname=postgres user=app_user", port);
        if (i == 0) {
            snprintf(oracle_dsn, sizeof oracle_dsn, "host=127.0.0.1 port=%d dbname=oracle user=postgres", port);
            snprintf(oracle_app_dsn, sizeof oracle_app_dsn, "host=127.0.0.1 port=%d dbname=oracle user=app_user",
                     port);
        }
        owner[i] = PQconnectdb(url);
        if (PQstatus(owner[i]) != CONNECTION_OK)
            die("owner connection", PQerrorMessage(owner[i]));
        PGresult *r = PQexec(owner[i], "SET client_min_messages = warning");
        PQclear(r);
    }
    owner_exec_all("DELETE FROM members; DELETE FROM orgs; DELETE FROM tags; DELETE FROM visits");
    make_oracle();
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
    printf("== queries\n");
    test_queries(s);
    printf("== qmoving\n");
    test_query_moving(s);
    printf("== down\n");
    test_down(s);
    printf("== qdown\n");
    test_query_down(s);

    dbont_shardset_close(s);
    dbont_close(oracle_app);
    dbont_close(oracle);
    PQfinish(oracle_pg);
    for (int i = 0; i < NSHARDS; i++)
        PQfinish(owner[i]);
    return threadcheck_summary() ? 1 : 0;
}
