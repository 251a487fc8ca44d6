/*
 * test_isolation.c: the adversarial tenant-isolation suite.
 *
 * The code dbont-gen made from isolation.ttl (iso.h), its migration applied
 * by the owner, and then, as the application role iso_app
 * ($APP_DATABASE_URL), every way in we could think of:
 *
 *   1. seed   four tenants with overlapping data (the same emails, the same
 *             titles), through the generated inserts and bulk inserts, each
 *             in its tenant's session; every row lands in that tenant
 *   2. reads  every generated read (get, list, find with column and
 *             relation filters, the four queries and their batches) from
 *             each tenant's session: only its own rows, as many as it has
 *   3. writes every generated write against the other tenants' rows (not
 *             found, nothing changes), writes naming another tenant or
 *             referring to its rows (refused), bulk inserts with one bad row
 *             (nothing inserted), and the writes that must work
 *   4. no tenant: no session, a session ended (commit, rollback, ended
 *             from inside), an empty or hostile tenant: nothing to read,
 *             nothing written
 *   5. SQL    hand-written SQL through the same role: DML without WHERE,
 *             COPY, switching RLS off, DDL on policies and tables, roles,
 *             TRUNCATE, GRANT, a shadowing tenant function or temporary
 *             table, subqueries, joins, CTEs, window functions, MERGE,
 *             leaky functions and error oracles, pg_stats, EXPLAIN, error
 *             messages, sequences, pg_stat_activity
 *   6. pool   a pool of 3 shared by 8 threads doing random operations in
 *             random tenants' sessions, with careless users (an open
 *             session, a session-level tenant, SET ROLE to a role that
 *             bypasses RLS, a held cursor, a temporary table holding a
 *             tenant's rows, a shadowed type): each next user must find a
 *             clean connection that shows nothing without a session
 *   7. end    a tenant deletes itself: its rows go, nobody else's
 *
 * The owner connection ($DATABASE_URL, postgres, a superuser that RLS does
 * not stop) reads the truth (what each tenant has, fingerprints of each
 * tenant's rows, privileges); besides, it analyses the tables (with
 * extended statistics), so that the statistics have values to leak, and
 * lends iso_app a role that bypasses RLS (iso_peeker) for the duration of
 * the pool test, for the careless user who SET ROLEs to it.
 *
 * Every row a generated function returns is checked against the session's
 * tenant; every value hand-written SQL returns (and every error message,
 * notice, COPY line and EXPLAIN line) is searched for the other tenants'
 * ids, marker strings ("secret-t<k>", in every tenant-only value) and row
 * ids.  Each hit is a cross-tenant row seen.  The threat model's boundary
 * (docs/multi-tenancy.md: SQL that sets the tenant itself) is shown, not
 * counted: it works only within the session that runs it.
 *
 * The pool test's size and randomness: ISO_POOL_OPS (operations per
 * thread, default 300) and ISO_SEED (default: the time; printed).
 *
 * Last lines: "isolation: N operations tried, M refused as expected,
 * cross-tenant rows seen: 0" and "N passed, N failed"; exit status 1 when
 * any check failed or any cross-tenant row was seen.
 */
#define _POSIX_C_SOURCE 200809L /* rand_r, clock_gettime, strdup */

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iso.h"
#include "threadcheck.h"

#define NT 4 /* tenants */

/* ---- counters and checks (any thread) -------------------------------- */

/* Counts of this suite, guarded by threadcheck.h's check_lock. */
static long n_ops, n_refused, n_cross, n_boundary;

/* A row (or a value) of another tenant was seen: the one thing that must
 * never happen. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void leak_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&check_lock);
    n_cross++;
    check_failed++;
    printf("LEAK %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    pthread_mutex_unlock(&check_lock);
}

#define LEAK(...) leak_at(__FILE__, __LINE__, __VA_ARGS__)

static void bump(long *counter)
{
    pthread_mutex_lock(&check_lock);
    (*counter)++;
    pthread_mutex_unlock(&check_lock);
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void note(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&check_lock);
    printf("NOTE ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    pthread_mutex_unlock(&check_lock);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- tenants ---------------------------------------------------------- */

typedef struct tenant {
    dbont_uuid id;
    char text[DBONT_UUID_TEXT_SIZE];
    char mark[16]; /* "secret-t<k>": part of every value only this tenant has */
    /* users */
    dbont_uuid alice, bob, shared, only;
    /* posts: alice's "Hello" and "Roadmap", bob's "Hello", shared's plan */
    dbont_uuid hello, roadmap, bob_hello, plan;
    /* notes: visible, locked (visible), hidden (invisible even to itself) */
    dbont_uuid note_visible, note_locked, note_hidden;
} tenant;

static tenant T[NT];

static bool same_uuid(const dbont_uuid *a, const dbont_uuid *b)
{
    return memcmp(a->bytes, b->bytes, 16) == 0;
}

static int tenant_index(const dbont_uuid *u)
{
    for (int k = 0; k < NT; k++)
        if (same_uuid(u, &T[k].id))
            return k;
    return -1;
}

static const char *who(int t)
{
    static const char *const names[] = {"tenant 0", "tenant 1", "tenant 2", "tenant 3"};
    return t >= 0 && t < NT ? names[t] : "no tenant";
}

/* A row of a multi-tenant table, seen by a session of tenant t (-1: no
 * session): its tenant column must be t's. */
static void see_row_at(const char *file, int line, int t, const dbont_uuid *row_tenant, const char *what)
{
    if (t >= 0 && same_uuid(row_tenant, &T[t].id))
        return;
    leak_at(file, line, "%s: a row of %s seen by %s", what, who(tenant_index(row_tenant)), who(t));
}

#define see_row(t, row_tenant, what) see_row_at(__FILE__, __LINE__, (t), (row_tenant), (what))

/* ---- the truth, read by the owner --------------------------------------- */

static dbont_conn *own; /* postgres: bypasses RLS; reads only (main thread) */
static dbont_conn *app; /* iso_app: the attacker (main thread) */
static const char *app_dsn;

enum { TB_ORGS, TB_USERS, TB_POSTS, TB_COMMENTS, TB_NOTES, TB_N };
static const char *const table_names[TB_N] = {"organizations", "users", "posts", "comments", "notes"};

typedef struct trow {
    dbont_uuid id;        /* uuid keys */
    int32_t num;          /* comments: the serial key */
    int tenant;           /* index into T, -1 for none of ours */
    dbont_uuid ref;       /* posts, notes: user_id; comments: author_id */
    dbont_uuid ref2;      /* comments: post_id */
    bool ref2_null;
    bool hidden, locked;  /* notes */
    char text[DBONT_UUID_TEXT_SIZE];
} trow;

typedef struct truth {
    size_t n;
    trow *r;
} truth;

static truth tr[TB_N];

static PGresult *own_exec(const char *sql, const char *param)
{
    const char *values[1] = {param};
    PGresult *res = PQexecParams(dbont_conn_pg(own), sql, param ? 1 : 0, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
        CHECK(false, "owner: %s: %s", sql, PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

static void own_do(const char *sql)
{
    PQclear(own_exec(sql, NULL));
}

/* The first value of the owner's answer to sql ($1: tenant k's id when
 * k >= 0), as a number. */
static long own_long(const char *sql, int k)
{
    PGresult *res = own_exec(sql, k >= 0 ? T[k].text : NULL);
    long v = -1;
    if (res && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

static long own_count_of(int table, int k)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s = $1", table_names[table],
             table == TB_ORGS ? "id" : "organization_id");
    return own_long(sql, k);
}

static void parse_uuid(const char *s, dbont_uuid *out)
{
    if (dbont_uuid_parse(s, out) != 0)
        CHECK(false, "not a uuid: %s", s);
}

static void truth_load(void)
{
    static const char *const sql[TB_N] = {
        "SELECT id, id, NULL, NULL, false, false FROM organizations",
        "SELECT id, organization_id, NULL, NULL, false, false FROM users",
        "SELECT id, organization_id, user_id, NULL, false, false FROM posts",
        "SELECT id, organization_id, author_id, post_id, false, false FROM comments",
        "SELECT id, organization_id, user_id, NULL, hidden, locked FROM notes",
    };
    for (int t = 0; t < TB_N; t++) {
        free(tr[t].r);
        tr[t].r = NULL;
        tr[t].n = 0;
        PGresult *res = own_exec(sql[t], NULL);
        if (!res)
            continue;
        size_t n = (size_t)PQntuples(res);
        tr[t].r = calloc(n ? n : 1, sizeof(trow));
        tr[t].n = n;
        for (size_t i = 0; i < n; i++) {
            trow *r = &tr[t].r[i];
            int row = (int)i;
            if (t == TB_COMMENTS)
                r->num = (int32_t)strtol(PQgetvalue(res, row, 0), NULL, 10);
            else
                parse_uuid(PQgetvalue(res, row, 0), &r->id);
            snprintf(r->text, sizeof r->text, "%s", PQgetvalue(res, row, 0));
            dbont_uuid org;
            parse_uuid(PQgetvalue(res, row, 1), &org);
            r->tenant = tenant_index(&org);
            if (!PQgetisnull(res, row, 2))
                parse_uuid(PQgetvalue(res, row, 2), &r->ref);
            r->ref2_null = PQgetisnull(res, row, 3);
            if (!r->ref2_null)
                parse_uuid(PQgetvalue(res, row, 3), &r->ref2);
            r->hidden = PQgetvalue(res, row, 4)[0] == 't';
            r->locked = PQgetvalue(res, row, 5)[0] == 't';
        }
        PQclear(res);
    }
}

/* A digest of everything tenant k has (every table, every column).  With
 * comments false, leaves comments out (the pool test adds and removes
 * some). */
static void fingerprint(int k, bool comments, char out[64])
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM ("
             " SELECT o::text AS x FROM organizations o WHERE id = $1"
             " UNION ALL SELECT u::text FROM users u WHERE organization_id = $1"
             " UNION ALL SELECT p::text FROM posts p WHERE organization_id = $1"
             " UNION ALL SELECT n::text FROM notes n WHERE organization_id = $1"
             "%s) s",
             comments ? " UNION ALL SELECT c::text FROM comments c WHERE organization_id = $1" : "");
    PGresult *res = own_exec(sql, T[k].text);
    snprintf(out, 64, "%s", res && PQntuples(res) ? PQgetvalue(res, 0, 0) : "?");
    PQclear(res);
}

typedef struct prints {
    char p[NT][64];
} prints;

static void fingerprints(prints *p, bool comments)
{
    for (int k = 0; k < NT; k++)
        fingerprint(k, comments, p->p[k]);
}

/* Every tenant's rows are as they were (except `except`'s, -1: none). */
static void same_prints(const prints *before, int except, bool comments, const char *what)
{
    prints after;
    fingerprints(&after, comments);
    for (int k = 0; k < NT; k++)
        if (k != except)
            CHECK(strcmp(before->p[k], after.p[k]) == 0, "%s: the rows of %s changed", what, who(k));
}

/* ---- scanning values for other tenants ---------------------------------- */

/*
 * Looks in s for anything of a tenant other than t (-1: any tenant): its
 * id, its marker, the id of one of its rows.  allow is a value the
 * attacker sent itself (it may come back in an error message), NULL for
 * none.  Each hit is a cross-tenant value seen.
 */
static void scan_at(const char *file, int line, const char *s, int t, const char *allow, const char *what)
{
    if (s == NULL || *s == '\0')
        return;
    for (int j = 0; j < NT; j++) {
        if (j == t)
            continue;
        if (strstr(s, T[j].text) && !(allow && strcmp(allow, T[j].text) == 0))
            leak_at(file, line, "%s: shows the id of %s (seen by %s): %.300s", what, who(j), who(t), s);
        if (strstr(s, T[j].mark))
            leak_at(file, line, "%s: shows a value of %s (seen by %s): %.300s", what, who(j), who(t), s);
    }
    for (int tb = TB_USERS; tb < TB_N; tb++) {
        if (tb == TB_COMMENTS)
            continue; /* integer ids: not recognisable in text */
        for (size_t i = 0; i < tr[tb].n; i++) {
            const trow *r = &tr[tb].r[i];
            if (r->tenant == t || (allow && strcmp(allow, r->text) == 0))
                continue;
            if (strstr(s, r->text))
                leak_at(file, line, "%s: shows the id of a row of %s in %s (seen by %s): %.300s", what, who(r->tenant),
                     table_names[tb], who(t), s);
        }
    }
}

#define scan(s, t, allow, what) scan_at(__FILE__, __LINE__, (s), (t), (allow), (what))

/* ---- notices ------------------------------------------------------------ */

typedef struct notices {
    char text[16384];
    size_t len;
} notices;

static notices app_notices;

static void on_notice(void *arg, const PGresult *res)
{
    notices *n = arg;
    const char *msg = PQresultErrorMessage(res);
    size_t len = strlen(msg);
    if (len > sizeof n->text - 1 - n->len)
        len = sizeof n->text - 1 - n->len;
    memcpy(n->text + n->len, msg, len);
    n->len += len;
    n->text[n->len] = '\0';
}

/* ---- generated calls: outcomes ------------------------------------------ */

/* One generated call that must succeed. */
static bool op_ok(dbont_status st, const dbont_error *err, const char *what)
{
    bump(&n_ops);
    return CHECK(st == DBONT_OK, "%s: expected success, got %s %s", what,
                 st == DBONT_NOT_FOUND ? "not found" : err->sqlstate, st == DBONT_ERROR ? err->message : "");
}

/* One generated call that must find nothing (a key of another tenant). */
static void op_not_found(dbont_status st, const dbont_error *err, int t, const char *what)
{
    bump(&n_ops);
    if (CHECK(st == DBONT_NOT_FOUND, "%s: expected not found, got %s %s", what,
              st == DBONT_OK ? "success" : err->sqlstate, st == DBONT_ERROR ? err->message : ""))
        bump(&n_refused);
    else if (st == DBONT_OK)
        LEAK("%s: %s reached a row of another tenant", what, who(t));
}

/*
 * One call that must be refused with one of the SQLSTATEs in states
 * (space-separated; NULL: any error).  Its message must name nothing of
 * another tenant than t, except the value allow that the attacker sent.
 */
static void op_refused(dbont_status st, const dbont_error *err, const char *states, int t, const char *allow,
                       const char *what)
{
    bump(&n_ops);
    bool ok = st == DBONT_ERROR && (states == NULL || strstr(states, err->sqlstate) != NULL);
    if (CHECK(ok, "%s: expected refusal (%s), got %s %s", what, states ? states : "any error",
              st == DBONT_OK ? "success" : st == DBONT_NOT_FOUND ? "not found" : err->sqlstate,
              st == DBONT_ERROR ? err->message : ""))
        bump(&n_refused);
    if (st == DBONT_ERROR)
        scan(err->message, t, allow, what);
}

/* An empty result where one is due (reads of another tenant's rows, or
 * without a tenant): counted as refused. */
static void op_empty(dbont_status st, const dbont_error *err, size_t count, const char *what)
{
    bump(&n_ops);
    if (CHECK(st == DBONT_OK && count == 0, "%s: expected no rows, got %s %zu rows %s", what,
              st == DBONT_OK ? "" : err->sqlstate, count, st == DBONT_ERROR ? err->message : ""))
        bump(&n_refused);
}

static void begin(dbont_conn *c, int t)
{
    dbont_error err = {0};
    CHECK(iso_tenant_begin(c, T[t].id, &err) == DBONT_OK, "begin %s: %s %s", who(t), err.sqlstate, err.message);
}

static void end(dbont_conn *c, bool commit)
{
    dbont_error err = {0};
    CHECK(iso_tenant_end(c, commit, &err) == DBONT_OK, "end session (%s): %s %s", commit ? "commit" : "rollback",
          err.sqlstate, err.message);
}

/* The rows a session of t reads from each table: every row of the tenant,
 * except its hidden notes. */
static long visible_count(int table, int t)
{
    if (table == TB_NOTES)
        return own_long("SELECT count(*) FROM notes WHERE organization_id = $1 AND NOT hidden", t);
    return own_count_of(table, t);
}

/* ---- 1. seed ------------------------------------------------------------ */

static char *fmt(char *buf, size_t size, const char *format, int k)
{
    snprintf(buf, size, format, k);
    return buf;
}

/* A user of the session's tenant by email (through the generated find). */
static bool user_by_email(dbont_conn *c, const char *email, dbont_uuid *out)
{
    dbont_error err = {0};
    iso_users_filter f = iso_users_filter_init();
    iso_users_where_email(&f, email);
    iso_users_rows rows = {0};
    bool ok = op_ok(iso_users_find(c, &f, &rows, &err), &err, "find user by email") &&
              CHECK(rows.count == 1, "user %s: %zu rows", email, rows.count);
    if (ok)
        *out = rows.rows[0].id;
    iso_users_rows_free(&rows);
    return ok;
}

static void seed_tenant(int k)
{
    tenant *tn = &T[k];
    dbont_error err = {0};
    char name[64], only[64], plan[64], body[64], body2[64], note1[64], note2[64], note3[64], disp[64];

    /* The organization: its id takes the session's tenant. */
    begin(app, k);
    iso_organizations_new org = {0};
    org.name = fmt(name, sizeof name, "Org secret-t%d", k);
    iso_organizations_rows orgs = {0};
    if (op_ok(iso_organizations_insert(app, &org, &orgs, &err), &err, "insert organization"))
        CHECK(orgs.count == 1 && same_uuid(&orgs.rows[0].id, &tn->id) && strcmp(orgs.rows[0].plan, "free") == 0,
              "the organization's id is not the session's tenant");
    iso_organizations_rows_free(&orgs);
    end(app, true);

    begin(app, k);
    /* Users: alice and bob by insert, shared and only by bulk insert.  The
     * tenant column is left to its default: the session's tenant. */
    static const char *const emails[2] = {"alice@example.com", "bob@example.com"};
    dbont_uuid *ids[2] = {&tn->alice, &tn->bob};
    for (int i = 0; i < 2; i++) {
        iso_users_new u = {0};
        u.email = emails[i];
        u.display_name = i == 0 ? "Alice" : NULL;
        u.display_name_is_null = i != 0;
        iso_users_rows rows = {0};
        if (op_ok(iso_users_insert(app, &u, &rows, &err), &err, "insert user")) {
            *ids[i] = rows.rows[0].id;
            CHECK(same_uuid(&rows.rows[0].organization_id, &tn->id), "a user inserted in %s's session landed in %s",
                  who(k), who(tenant_index(&rows.rows[0].organization_id)));
        }
        iso_users_rows_free(&rows);
    }
    iso_users_new more[2];
    memset(more, 0, sizeof more);
    more[0].email = "shared@example.com";
    more[0].display_name = fmt(disp, sizeof disp, "Shared secret-t%d", k);
    more[1].email = fmt(only, sizeof only, "only-secret-t%d@example.com", k);
    more[1].display_name_is_null = true;
    more[1].is_admin = true;
    more[1].is_admin_set = true;
    more[0].is_admin_set = true;
    size_t bad = 0;
    op_ok(iso_users_copy(app, more, 2, &bad, &err), &err, "bulk insert users");
    user_by_email(app, "shared@example.com", &tn->shared);
    user_by_email(app, only, &tn->only);

    /* Posts: alice's Hello and Roadmap (insert), bob's Hello and shared's
     * plan (bulk). */
    static const char *const titles[2] = {"Hello", "Roadmap"};
    dbont_uuid *pids[2] = {&tn->hello, &tn->roadmap};
    for (int i = 0; i < 2; i++) {
        iso_posts_new p = {0};
        p.user_id = tn->alice;
        p.title = titles[i];
        p.body = i ? "Plans for everyone" : NULL;
        p.body_is_null = i == 0;
        p.published = true;
        p.published_set = true;
        iso_posts_rows rows = {0};
        if (op_ok(iso_posts_insert(app, &p, &rows, &err), &err, "insert post")) {
            *pids[i] = rows.rows[0].id;
            CHECK(same_uuid(&rows.rows[0].organization_id, &tn->id), "a post landed in %s",
                  who(tenant_index(&rows.rows[0].organization_id)));
        }
        iso_posts_rows_free(&rows);
    }
    iso_posts_new bp[2];
    memset(bp, 0, sizeof bp);
    bp[0].user_id = tn->bob;
    bp[0].title = "Hello";
    bp[0].body_is_null = true;
    bp[1].user_id = tn->shared;
    bp[1].title = fmt(plan, sizeof plan, "Plan secret-t%d", k);
    bp[1].body = fmt(body, sizeof body, "body secret-t%d", k);
    op_ok(iso_posts_copy(app, bp, 2, &bad, &err), &err, "bulk insert posts");
    {
        iso_posts_filter f = iso_posts_filter_init();
        iso_posts_where_user_id(&f, tn->bob);
        iso_posts_rows rows = {0};
        if (op_ok(iso_posts_find(app, &f, &rows, &err), &err, "find bob's post") && CHECK(rows.count == 1, "bob's posts"))
            tn->bob_hello = rows.rows[0].id;
        iso_posts_rows_free(&rows);
        f = iso_posts_filter_init();
        iso_posts_where_title(&f, plan);
        if (op_ok(iso_posts_find(app, &f, &rows, &err), &err, "find the plan") && CHECK(rows.count == 1, "plans"))
            tn->plan = rows.rows[0].id;
        iso_posts_rows_free(&rows);
    }

    /* Comments: on each post "First!" by bob and one by shared; one more
     * without a post.  The first by insert, the rest in bulk. */
    const dbont_uuid *posts[4] = {&tn->hello, &tn->roadmap, &tn->bob_hello, &tn->plan};
    iso_comments_new cm[9];
    memset(cm, 0, sizeof cm);
    for (int i = 0; i < 4; i++) {
        cm[2 * i].post_id = *posts[i];
        cm[2 * i].author_id = tn->bob;
        cm[2 * i].body = "First!";
        cm[2 * i + 1].post_id = *posts[i];
        cm[2 * i + 1].author_id = tn->shared;
        cm[2 * i + 1].body = fmt(body2, sizeof body2, "comment secret-t%d", k);
    }
    cm[8].post_id_is_null = true;
    cm[8].author_id = tn->alice;
    cm[8].body = "A comment on nothing";
    iso_comments_rows crows = {0};
    if (op_ok(iso_comments_insert(app, &cm[0], &crows, &err), &err, "insert comment"))
        CHECK(same_uuid(&crows.rows[0].organization_id, &tn->id) && crows.rows[0].id > 0, "a comment landed in %s",
              who(tenant_index(&crows.rows[0].organization_id)));
    iso_comments_rows_free(&crows);
    op_ok(iso_comments_copy(app, cm + 1, 8, &bad, &err), &err, "bulk insert comments");

    /* Notes: visible and locked by insert; hidden by bulk insert (the
     * notes_visible policy hides it from everyone, its own tenant too). */
    iso_notes_new n = {0};
    n.user_id = tn->alice;
    n.body = fmt(note1, sizeof note1, "note secret-t%d", k);
    iso_notes_rows nrows = {0};
    if (op_ok(iso_notes_insert(app, &n, &nrows, &err), &err, "insert note"))
        tn->note_visible = nrows.rows[0].id;
    iso_notes_rows_free(&nrows);
    n.body = fmt(note2, sizeof note2, "locked secret-t%d", k);
    n.locked = true;
    n.locked_set = true;
    if (op_ok(iso_notes_insert(app, &n, &nrows, &err), &err, "insert locked note"))
        tn->note_locked = nrows.rows[0].id;
    iso_notes_rows_free(&nrows);
    iso_notes_new h = {0};
    h.user_id = tn->alice;
    h.body = fmt(note3, sizeof note3, "hidden secret-t%d", k);
    h.hidden = true;
    h.hidden_set = true;
    op_ok(iso_notes_copy(app, &h, 1, &bad, &err), &err, "bulk insert a hidden note");
    end(app, true);

    /* The hidden note: only the owner sees it. */
    PGresult *res = own_exec("SELECT id FROM notes WHERE organization_id = $1 AND hidden", tn->text);
    if (res && CHECK(PQntuples(res) == 1, "hidden notes of %s: %d", who(k), PQntuples(res)))
        parse_uuid(PQgetvalue(res, 0, 0), &tn->note_hidden);
    PQclear(res);
}

static void section_seed(void)
{
    dbont_error err = {0};
    for (int k = 0; k < NT; k++) {
        CHECK(dbont_uuid_random(&T[k].id) == 0, "random uuid");
        dbont_uuid_format(&T[k].id, T[k].text);
        snprintf(T[k].mark, sizeof T[k].mark, "secret-t%d", k);
    }
    for (int k = 0; k < NT; k++)
        seed_tenant(k);
    truth_load();

    /* Every row landed in the tenant whose session wrote it. */
    static const long expect[TB_N] = {1, 4, 4, 9, 3};
    for (int k = 0; k < NT; k++)
        for (int tb = 0; tb < TB_N; tb++)
            CHECK(own_count_of(tb, k) == expect[tb], "%s of %s: %ld, expected %ld", table_names[tb], who(k),
                  own_count_of(tb, k), expect[tb]);
    CHECK(own_long("SELECT count(*) FROM users WHERE email = 'shared@example.com'", -1) == NT,
          "the same email in every tenant");
    CHECK(own_long("SELECT count(*) FROM posts WHERE title = 'Hello'", -1) == 2 * NT, "the same titles");

    /* Unique within a tenant: a second alice in tenant 0 is refused, and
     * the message names nothing of the others. */
    begin(app, 0);
    iso_users_new dup = {0};
    dup.email = "alice@example.com";
    op_refused(iso_users_insert(app, &dup, NULL, &err), &err, "23505", 0, NULL, "a second alice in one tenant");
    end(app, false);

    /* A note the session may write but not see: with out NULL the insert
     * has no RETURNING (which would need the row to pass the SELECT
     * policy), so it goes in; with out it cannot (42501). */
    begin(app, 0);
    iso_notes_new h = {0};
    h.user_id = T[0].alice;
    h.body = "hidden by insert";
    h.hidden = true;
    h.hidden_set = true;
    op_ok(iso_notes_insert(app, &h, NULL, &err), &err, "insert a hidden note without out");
    end(app, false);
    begin(app, 0);
    iso_notes_rows back = {0};
    op_refused(iso_notes_insert(app, &h, &back, &err), &err, "42501", 0, NULL,
               "insert a hidden note with out (RETURNING a row the SELECT policy hides)");
    iso_notes_rows_free(&back);
    end(app, false);
}

/* ---- 2. reads ----------------------------------------------------------- */

/* Generated reads of table tb in a session of t: every row t's, and as
 * many as t sees (want < 0: not checked). */
#define SEE_ROWS(rs, tcol, t, want, what)                                                                     \
    do {                                                                                                      \
        for (size_t i_ = 0; i_ < (rs).count; i_++)                                                            \
            see_row((t), &(rs).rows[i_].tcol, (what));                                                        \
        if ((want) >= 0)                                                                                      \
            CHECK((long)(rs).count == (want), "%s in %s's session: %zu rows, expected %ld", (what), who(t),   \
                  (rs).count, (long)(want));                                                                  \
    } while (0)

/* list, page by page (2 rows a page) and in one call. */
static void read_lists(dbont_conn *c, int t)
{
    dbont_error err = {0};
    long want[TB_N];
    for (int tb = 0; tb < TB_N; tb++)
        want[tb] = t >= 0 ? visible_count(tb, t) : 0;

#define LIST(tbl, tcol, tb)                                                                          \
    do {                                                                                             \
        iso_##tbl##_rows rows = {0};                                                                 \
        if (op_ok(iso_##tbl##_list(c, 1000, 0, &rows, &err), &err, "list " #tbl))                    \
            SEE_ROWS(rows, tcol, t, want[tb], "list " #tbl);                                         \
        iso_##tbl##_rows_free(&rows);                                                                \
        long total = 0;                                                                              \
        for (int64_t off = 0;; off += 2) {                                                           \
            if (!op_ok(iso_##tbl##_list(c, 2, off, &rows, &err), &err, "list " #tbl " (a page)"))    \
                break;                                                                               \
            SEE_ROWS(rows, tcol, t, -1, "list " #tbl " (a page)");                                   \
            total += (long)rows.count;                                                               \
            size_t got = rows.count;                                                                 \
            iso_##tbl##_rows_free(&rows);                                                            \
            if (got < 2)                                                                             \
                break;                                                                               \
        }                                                                                            \
        CHECK(total == want[tb], "list " #tbl " by pages in %s: %ld rows, expected %ld", who(t), total, \
              want[tb]);                                                                             \
    } while (0)

    LIST(organizations, id, TB_ORGS);
    LIST(users, organization_id, TB_USERS);
    LIST(posts, organization_id, TB_POSTS);
    LIST(comments, organization_id, TB_COMMENTS);
    LIST(notes, organization_id, TB_NOTES);
#undef LIST
}

/* find with filters: no filter, another tenant's id as a filter value, a
 * value every tenant has, NULL tests, relation filters, order and limit. */
static void read_finds(dbont_conn *c, int t)
{
    dbont_error err = {0};
    char sql[512];

#define FIND(tbl, tcol, setup, want, what)                                           \
    do {                                                                             \
        iso_##tbl##_filter f = iso_##tbl##_filter_init();                            \
        setup;                                                                       \
        iso_##tbl##_rows rows = {0};                                                 \
        dbont_status st_ = iso_##tbl##_find(c, &f, &rows, &err);                     \
        if (op_ok(st_, &err, what)) {                                                \
            SEE_ROWS(rows, tcol, t, (want), what);                                   \
            if ((want) == 0 && rows.count == 0)                                      \
                bump(&n_refused);                                                    \
        }                                                                            \
        iso_##tbl##_rows_free(&rows);                                                \
    } while (0)

    long n_users = t >= 0 ? own_count_of(TB_USERS, t) : 0;
    FIND(organizations, id, (void)0, t >= 0 ? 1 : 0, "find organizations (no filter)");
    FIND(users, organization_id, (void)0, n_users, "find users (no filter)");
    FIND(users, organization_id, iso_users_where_email(&f, "shared@example.com"), t >= 0 ? 1 : 0,
         "find users by an email every tenant has");
    FIND(users, organization_id, iso_users_where_display_name_is_null(&f), t >= 0 ? 2 : 0,
         "find users without a display name");
    FIND(users, organization_id,
         (iso_users_where_is_admin(&f, true), iso_users_order_by(&f, iso_users_col_email, DBONT_DESC),
          iso_users_limit(&f, 10, 0)),
         t >= 0 ? 1 : 0, "find admins, ordered, limited");
    FIND(posts, organization_id,
         (iso_posts_where_title(&f, "Hello"), iso_posts_where_published(&f, true),
          iso_posts_order_by(&f, iso_posts_col_id, DBONT_ASC)),
         t >= 0 ? own_long("SELECT count(*) FROM posts WHERE organization_id = $1 AND title = 'Hello' AND published", t)
                : 0,
         "find published posts titled Hello");
    FIND(posts, organization_id, iso_posts_where_body_is_null(&f),
         t >= 0 ? own_long("SELECT count(*) FROM posts WHERE organization_id = $1 AND body IS NULL", t) : 0,
         "find posts without a body");
    FIND(comments, organization_id, iso_comments_where_body(&f, "First!"),
         t >= 0 ? own_long("SELECT count(*) FROM comments WHERE organization_id = $1 AND body = 'First!'", t) : 0,
         "find comments First!");
    FIND(comments, organization_id, iso_comments_where_post_id_is_null(&f),
         t >= 0 ? own_long("SELECT count(*) FROM comments WHERE organization_id = $1 AND post_id IS NULL", t) : 0,
         "find comments without a post");
    FIND(notes, organization_id, iso_notes_where_hidden(&f, true), 0, "find hidden notes");
    FIND(notes, organization_id, iso_notes_where_locked(&f, true), t >= 0 ? 1 : 0, "find locked notes");

    /* Relation filters: the EXISTS over the related table is under RLS
     * too, and counts only the session's rows. */
    FIND(organizations, id, iso_organizations_where_has_users(&f), t >= 0 ? 1 : 0, "organizations with users");
    FIND(organizations, id, iso_organizations_where_has_notes(&f), t >= 0 ? 1 : 0, "organizations with notes");
    FIND(organizations, id, (iso_organizations_where_has_posts(&f), iso_organizations_where_has_comments(&f)),
         t >= 0 ? 1 : 0, "organizations with posts and comments");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM users u WHERE organization_id = $1 AND EXISTS (SELECT 1 FROM posts p WHERE "
             "p.user_id = u.id)");
    FIND(users, organization_id, iso_users_where_has_posts(&f), t >= 0 ? own_long(sql, t) : 0, "users with posts");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM users u WHERE organization_id = $1 AND EXISTS (SELECT 1 FROM comments c WHERE "
             "c.author_id = u.id)");
    FIND(users, organization_id, iso_users_where_has_comments(&f), t >= 0 ? own_long(sql, t) : 0,
         "users with comments");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM users u WHERE organization_id = $1 AND EXISTS (SELECT 1 FROM notes n WHERE "
             "n.user_id = u.id AND NOT n.hidden)");
    FIND(users, organization_id, (iso_users_where_has_notes(&f), iso_users_where_is_admin(&f, false)),
         t >= 0 ? own_long(sql, t) : 0, "users with notes");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM posts p WHERE organization_id = $1 AND EXISTS (SELECT 1 FROM comments c WHERE "
             "c.post_id = p.id)");
    FIND(posts, organization_id, iso_posts_where_has_comments(&f), t >= 0 ? own_long(sql, t) : 0,
         "posts with comments");

    /* Another tenant's ids as filter values: nothing. */
    for (int j = 0; j < NT; j++) {
        if (j == t)
            continue;
        FIND(organizations, id, iso_organizations_where_id(&f, T[j].id), 0, "find another tenant's organization");
        FIND(users, organization_id, iso_users_where_organization_id(&f, T[j].id), 0,
             "find users of another tenant");
        FIND(users, organization_id, iso_users_where_id(&f, T[j].alice), 0, "find another tenant's user by id");
        char only[64];
        FIND(users, organization_id, iso_users_where_email(&f, fmt(only, sizeof only, "only-secret-t%d@example.com", j)),
             0, "find another tenant's only user by email");
        FIND(users, organization_id, (iso_users_where_id(&f, T[j].bob), iso_users_where_has_posts(&f)), 0,
             "find another tenant's user with posts");
        FIND(posts, organization_id, iso_posts_where_user_id(&f, T[j].alice), 0, "find posts of another tenant's user");
        FIND(posts, organization_id, iso_posts_where_organization_id(&f, T[j].id), 0, "find posts of another tenant");
        FIND(comments, organization_id, iso_comments_where_post_id(&f, T[j].hello), 0,
             "find comments on another tenant's post");
        FIND(comments, organization_id, iso_comments_where_author_id(&f, T[j].bob), 0,
             "find comments by another tenant's user");
        FIND(notes, organization_id, iso_notes_where_user_id(&f, T[j].alice), 0, "find notes of another tenant's user");
        FIND(notes, organization_id, iso_notes_where_id(&f, T[j].note_hidden), 0, "find another tenant's hidden note");
    }
#undef FIND
}

/* get: every row of every other tenant is not found; t's own rows are. */
static void read_gets(dbont_conn *c, int t)
{
    dbont_error err = {0};
    for (int tb = 0; tb < TB_N; tb++) {
        for (size_t i = 0; i < tr[tb].n; i++) {
            const trow *r = &tr[tb].r[i];
            bool mine = r->tenant == t && !(tb == TB_NOTES && r->hidden);
            dbont_status st;
            const dbont_uuid *seen = NULL;
            iso_organizations_rows o = {0};
            iso_users_rows u = {0};
            iso_posts_rows p = {0};
            iso_comments_rows cr = {0};
            iso_notes_rows n = {0};
            switch (tb) {
            case TB_ORGS:
                st = iso_organizations_get(c, r->id, &o, &err);
                if (st == DBONT_OK)
                    seen = &o.rows[0].id;
                break;
            case TB_USERS:
                st = iso_users_get(c, r->id, &u, &err);
                if (st == DBONT_OK)
                    seen = &u.rows[0].organization_id;
                break;
            case TB_POSTS:
                st = iso_posts_get(c, r->id, &p, &err);
                if (st == DBONT_OK)
                    seen = &p.rows[0].organization_id;
                break;
            case TB_COMMENTS:
                st = iso_comments_get(c, r->num, &cr, &err);
                if (st == DBONT_OK)
                    seen = &cr.rows[0].organization_id;
                break;
            default:
                st = iso_notes_get(c, r->id, &n, &err);
                if (st == DBONT_OK)
                    seen = &n.rows[0].organization_id;
                break;
            }
            if (mine) {
                op_ok(st, &err, "get a row of the session's tenant");
            } else {
                op_not_found(st, &err, t, "get a row of another tenant (or a hidden note)");
                if (seen && r->tenant != t)
                    see_row(t, seen, "get");
            }
            iso_organizations_rows_free(&o);
            iso_users_rows_free(&u);
            iso_posts_rows_free(&p);
            iso_comments_rows_free(&cr);
            iso_notes_rows_free(&n);
        }
    }
    /* get with out NULL: an existence test, the same answer. */
    for (int j = 0; j < NT; j++)
        if (j != t)
            op_not_found(iso_users_get(c, T[j].alice, NULL, &err), &err, t, "get (existence) another tenant's user");
}

/* The four queries and their batches. */
static void read_queries(dbont_conn *c, int t)
{
    dbont_error err = {0};
    char plan[64];

    /* PostsByTitle: titles every tenant has, and one only another has. */
    static const char *const titles[2] = {"Hello", "Roadmap"};
    for (int i = 0; i < 2; i++) {
        iso_posts_by_title_query_rows rows = {0};
        long want = t >= 0 ? own_long(i ? "SELECT count(*) FROM posts WHERE organization_id = $1 AND title = 'Roadmap'"
                                        : "SELECT count(*) FROM posts WHERE organization_id = $1 AND title = 'Hello'",
                                      t)
                           : 0;
        if (op_ok(iso_posts_by_title_query(c, titles[i], &rows, &err), &err, "PostsByTitleQuery")) {
            SEE_ROWS(rows, organization_id, t, want, "PostsByTitleQuery");
            if (want == 0)
                bump(&n_refused);
        }
        iso_posts_by_title_query_rows_free(&rows);
    }
    for (int j = 0; j < NT; j++) {
        if (j == t)
            continue;
        iso_posts_by_title_query_rows rows = {0};
        op_empty(iso_posts_by_title_query(c, fmt(plan, sizeof plan, "Plan secret-t%d", j), &rows, &err), &err,
                 rows.count, "PostsByTitleQuery for another tenant's title");
        SEE_ROWS(rows, organization_id, t, -1, "PostsByTitleQuery");
        iso_posts_by_title_query_rows_free(&rows);
    }

    /* The full-text search (a SECURITY DEFINER function that bypasses
     * RLS and filters by the tenant itself): words every tenant has, and
     * each other tenant's secret words. */
    {
        iso_posts_title_body_search_rows rows = {0};
        long want = t >= 0 ? own_long("SELECT count(*) FROM posts WHERE organization_id = $1 AND to_tsvector("
                                      "'english', coalesce(title, '') || ' ' || coalesce(body, '')) @@ "
                                      "websearch_to_tsquery('english', 'hello')",
                                      t)
                           : 0;
        if (op_ok(iso_posts_title_body_search(c, "hello", 1000, &rows, &err), &err, "posts search"))
            SEE_ROWS(rows, organization_id, t, want, "posts search");
        iso_posts_title_body_search_rows_free(&rows);
        for (int j = 0; j < NT; j++) {
            if (j == t)
                continue;
            op_empty(iso_posts_title_body_search(c, fmt(plan, sizeof plan, "secret-t%d", j), 1000, &rows, &err),
                     &err, rows.count, "posts search for another tenant's words");
            SEE_ROWS(rows, organization_id, t, -1, "posts search");
            iso_posts_title_body_search_rows_free(&rows);
        }
    }

    /* UsersOfOrg: the tenant id is a parameter; only the session's gives
     * rows. */
    for (int j = 0; j < NT; j++) {
        iso_users_of_org_query_rows rows = {0};
        dbont_status st = iso_users_of_org_query(c, T[j].id, &rows, &err);
        if (j == t) {
            if (op_ok(st, &err, "UsersOfOrgQuery (own tenant)"))
                SEE_ROWS(rows, organization_id, t, own_count_of(TB_USERS, t), "UsersOfOrgQuery");
        } else {
            op_empty(st, &err, rows.count, "UsersOfOrgQuery (another tenant)");
            SEE_ROWS(rows, organization_id, t, -1, "UsersOfOrgQuery");
        }
        iso_users_of_org_query_rows_free(&rows);
    }

    /* CommentThread: three tenant columns per row, joined on ids alone. */
    static const char *const emails[3] = {"shared@example.com", "bob@example.com", "alice@example.com"};
    for (int i = 0; i < 3; i++) {
        iso_comment_thread_query_rows rows = {0};
        long want = 0;
        if (t >= 0) {
            char sql[400];
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM comments c JOIN posts p ON c.post_id = p.id JOIN users u ON c.author_id = "
                     "u.id WHERE u.email = '%s' AND c.organization_id = $1",
                     emails[i]);
            want = own_long(sql, t);
        }
        if (op_ok(iso_comment_thread_query(c, emails[i], &rows, &err), &err, "CommentThreadQuery")) {
            for (size_t r = 0; r < rows.count; r++) {
                see_row(t, &rows.rows[r].organization_id, "CommentThreadQuery (comment)");
                see_row(t, &rows.rows[r].post_org, "CommentThreadQuery (post)");
                see_row(t, &rows.rows[r].author_org, "CommentThreadQuery (author)");
                scan(rows.rows[r].title, t, NULL, "CommentThreadQuery title");
                scan(rows.rows[r].body, t, NULL, "CommentThreadQuery body");
            }
            CHECK((long)rows.count == want, "CommentThreadQuery(%s) in %s: %zu rows, expected %ld", emails[i], who(t),
                  rows.count, want);
            if (want == 0)
                bump(&n_refused);
        }
        iso_comment_thread_query_rows_free(&rows);
    }

    /* TitleCounts: no tenant column; the counts must be the session's. */
    {
        iso_title_counts_query_rows rows = {0};
        if (op_ok(iso_title_counts_query(c, 1, &rows, &err), &err, "TitleCountsQuery")) {
            PGresult *res = NULL;
            int n = 0;
            if (t >= 0) {
                res = own_exec("SELECT p.title, count(DISTINCT p.id), count(c.id) FROM posts p LEFT JOIN comments c ON "
                               "c.post_id = p.id WHERE p.organization_id = $1 GROUP BY p.title ORDER BY p.title",
                               T[t].text);
                n = res ? PQntuples(res) : 0;
            }
            if (CHECK((int)rows.count == n, "TitleCountsQuery in %s: %zu titles, expected %d", who(t), rows.count, n)) {
                for (int r = 0; r < n; r++)
                    CHECK(strcmp(rows.rows[r].title, PQgetvalue(res, r, 0)) == 0 &&
                              rows.rows[r].posts == strtol(PQgetvalue(res, r, 1), NULL, 10) &&
                              rows.rows[r].comments == strtol(PQgetvalue(res, r, 2), NULL, 10),
                          "TitleCountsQuery in %s: %s %lld/%lld, expected %s %s/%s", who(t), rows.rows[r].title,
                          (long long)rows.rows[r].posts, (long long)rows.rows[r].comments, PQgetvalue(res, r, 0),
                          PQgetvalue(res, r, 1), PQgetvalue(res, r, 2));
            }
            for (size_t r = 0; r < rows.count; r++)
                scan(rows.rows[r].title, t, NULL, "TitleCountsQuery title");
            if (n == 0 && rows.count == 0)
                bump(&n_refused);
            PQclear(res);
        }
        iso_title_counts_query_rows_free(&rows);
    }

    /* Batches (pipelined; inside the session's transaction). */
    {
        iso_users_of_org_query_params params[NT];
        dbont_batch_item items[NT];
        memset(items, 0, sizeof items);
        for (int j = 0; j < NT; j++)
            params[j].organization_id = T[j].id;
        if (op_ok(iso_users_of_org_query_batch(c, params, NT, items, &err), &err, "UsersOfOrgQuery batch"))
            for (int j = 0; j < NT; j++) {
                iso_users_of_org_query_rows rows = iso_users_of_org_query_batch_rows(&items[j]);
                SEE_ROWS(rows, organization_id, t, j == t ? own_count_of(TB_USERS, t) : 0,
                         "UsersOfOrgQuery batch item");
                if (j != t && rows.count == 0)
                    bump(&n_refused);
            }
        dbont_batch_free(items, NT);
    }
    {
        iso_posts_by_title_query_params params[NT + 1];
        dbont_batch_item items[NT + 1];
        char titles_buf[NT][64];
        memset(items, 0, sizeof items);
        for (int j = 0; j < NT; j++)
            params[j].title = fmt(titles_buf[j], sizeof titles_buf[j], "Plan secret-t%d", j);
        params[NT].title = "Hello";
        if (op_ok(iso_posts_by_title_query_batch(c, params, NT + 1, items, &err), &err, "PostsByTitleQuery batch"))
            for (int j = 0; j <= NT; j++) {
                iso_posts_by_title_query_rows rows = iso_posts_by_title_query_batch_rows(&items[j]);
                SEE_ROWS(rows, organization_id, t, -1, "PostsByTitleQuery batch item");
                if (j < NT)
                    CHECK(rows.count == (j == t ? 1u : 0u), "PostsByTitleQuery batch: plan %d: %zu rows", j,
                          rows.count);
            }
        dbont_batch_free(items, NT + 1);
    }
    {
        iso_comment_thread_query_params params[2] = {{"shared@example.com"}, {"bob@example.com"}};
        dbont_batch_item items[2];
        memset(items, 0, sizeof items);
        if (op_ok(iso_comment_thread_query_batch(c, params, 2, items, &err), &err, "CommentThreadQuery batch"))
            for (int j = 0; j < 2; j++) {
                iso_comment_thread_query_rows rows = iso_comment_thread_query_batch_rows(&items[j]);
                for (size_t r = 0; r < rows.count; r++) {
                    see_row(t, &rows.rows[r].organization_id, "CommentThreadQuery batch");
                    see_row(t, &rows.rows[r].post_org, "CommentThreadQuery batch");
                    see_row(t, &rows.rows[r].author_org, "CommentThreadQuery batch");
                }
            }
        dbont_batch_free(items, 2);
    }
    {
        iso_title_counts_query_params params[1] = {{0}};
        dbont_batch_item items[1];
        memset(items, 0, sizeof items);
        if (op_ok(iso_title_counts_query_batch(c, params, 1, items, &err), &err, "TitleCountsQuery batch")) {
            iso_title_counts_query_rows rows = iso_title_counts_query_batch_rows(&items[0]);
            for (size_t r = 0; r < rows.count; r++)
                scan(rows.rows[r].title, t, NULL, "TitleCountsQuery batch title");
            if (t < 0)
                CHECK(rows.count == 0, "TitleCountsQuery batch without a tenant: %zu rows", rows.count);
        }
        dbont_batch_free(items, 1);
    }
}

static void section_reads(void)
{
    for (int t = 0; t < NT; t++) {
        begin(app, t);
        read_lists(app, t);
        read_finds(app, t);
        read_gets(app, t);
        read_queries(app, t);
        end(app, true);
    }
}

/* ---- 3. writes ---------------------------------------------------------- */

/* From a session of a, update and delete every row of every other tenant:
 * each is not found, and (checked by the caller) nothing changes. */
static void foreign_updates_deletes(int a)
{
    dbont_error err = {0};
    for (int tb = 0; tb < TB_N; tb++) {
        for (size_t i = 0; i < tr[tb].n; i++) {
            const trow *r = &tr[tb].r[i];
            if (r->tenant == a)
                continue;
            int b = r->tenant;
            /* Two versions of each update: the row kept in its tenant, and
             * the row pulled into the attacker's. */
            for (int v = 0; v < 2; v++) {
                dbont_status st;
                switch (tb) {
                case TB_ORGS: {
                    iso_organizations o = {r->id, "pwned", v ? "enterprise" : "pwned"};
                    st = iso_organizations_update(app, &o, &err);
                    break;
                }
                case TB_USERS: {
                    iso_users u = {0};
                    u.id = r->id;
                    u.organization_id = v ? T[a].id : T[b >= 0 ? b : 0].id;
                    u.email = "pwned@example.com";
                    u.display_name_is_null = true;
                    st = iso_users_update(app, &u, &err);
                    break;
                }
                case TB_POSTS: {
                    iso_posts p = {0};
                    p.id = r->id;
                    p.organization_id = v ? T[a].id : T[b >= 0 ? b : 0].id;
                    p.user_id = v ? T[a].alice : r->ref;
                    p.title = "pwned";
                    p.body_is_null = true;
                    st = iso_posts_update(app, &p, &err);
                    break;
                }
                case TB_COMMENTS: {
                    iso_comments cm = {0};
                    cm.id = r->num;
                    cm.organization_id = v ? T[a].id : T[b >= 0 ? b : 0].id;
                    cm.post_id_is_null = true;
                    cm.author_id = v ? T[a].bob : r->ref;
                    cm.body = "pwned";
                    st = iso_comments_update(app, &cm, &err);
                    break;
                }
                default: {
                    iso_notes n = {0};
                    n.id = r->id;
                    n.organization_id = v ? T[a].id : T[b >= 0 ? b : 0].id;
                    n.user_id = v ? T[a].alice : r->ref;
                    n.body = "pwned";
                    st = iso_notes_update(app, &n, &err);
                    break;
                }
                }
                op_not_found(st, &err, a, "update a row of another tenant");
            }
            dbont_status st;
            switch (tb) {
            case TB_ORGS: st = iso_organizations_delete(app, r->id, &err); break;
            case TB_USERS: st = iso_users_delete(app, r->id, &err); break;
            case TB_POSTS: st = iso_posts_delete(app, r->id, &err); break;
            case TB_COMMENTS: st = iso_comments_delete(app, r->num, &err); break;
            default: st = iso_notes_delete(app, r->id, &err); break;
            }
            op_not_found(st, &err, a, "delete a row of another tenant");
        }
    }
}

/* One write that must be refused, alone in a session of a that is then
 * rolled back. */
#define REFUSE(a, states, allow, what, call)                          \
    do {                                                              \
        begin(app, (a));                                              \
        dbont_error e_ = {0};                                         \
        dbont_status st_ = (call);                                    \
        op_refused(st_, &e_, (states), (a), (allow), (what));         \
        end(app, false);                                              \
    } while (0)
#define ERR (&e_)

/* Writes from a's session that name tenant b or refer to b's rows. */
static void refused_writes(int a, int b)
{
    char uid[DBONT_UUID_TEXT_SIZE], pid[DBONT_UUID_TEXT_SIZE];
    dbont_uuid_format(&T[b].alice, uid);
    dbont_uuid_format(&T[b].hello, pid);

    /* Inserts naming another tenant explicitly (the tenant column's _set). */
    {
        iso_users_new u = {0};
        u.organization_id = T[b].id;
        u.organization_id_set = true;
        u.email = "planted@example.com";
        REFUSE(a, "42501", NULL, "insert a user into another tenant", iso_users_insert(app, &u, NULL, ERR));
    }
    {
        iso_organizations_new o = {0};
        o.id = T[b].id;
        o.id_set = true;
        o.name = "takeover";
        REFUSE(a, "42501 23505", NULL, "insert another tenant's organization again",
               iso_organizations_insert(app, &o, NULL, ERR));
        CHECK(dbont_uuid_random(&o.id) == 0, "random");
        REFUSE(a, "42501", NULL, "insert an organization that is not the session's tenant",
               iso_organizations_insert(app, &o, NULL, ERR));
    }
    {
        iso_posts_new p = {0};
        p.organization_id = T[b].id;
        p.organization_id_set = true;
        p.user_id = T[b].alice;
        p.title = "planted";
        REFUSE(a, "42501", uid, "insert a post into another tenant (for its user)", iso_posts_insert(app, &p, NULL, ERR));
    }
    {
        iso_notes_new n = {0};
        n.organization_id = T[b].id;
        n.organization_id_set = true;
        n.user_id = T[b].alice;
        n.body = "planted";
        REFUSE(a, "42501", uid, "insert a note into another tenant", iso_notes_insert(app, &n, NULL, ERR));
    }
    {
        iso_comments_new cm = {0};
        cm.organization_id = T[b].id;
        cm.organization_id_set = true;
        cm.post_id_is_null = true;
        cm.author_id = T[b].bob;
        cm.body = "planted";
        REFUSE(a, "42501", NULL, "insert a comment into another tenant", iso_comments_insert(app, &cm, NULL, ERR));
    }

    /* Inserts referring to another tenant's rows: the composite foreign
     * keys find no (own tenant, their id) row. */
    {
        iso_posts_new p = {0};
        p.user_id = T[b].alice;
        p.title = "on someone else's account";
        REFUSE(a, "23503", uid, "insert a post for another tenant's user", iso_posts_insert(app, &p, NULL, ERR));
    }
    {
        iso_comments_new cm = {0};
        cm.post_id = T[b].hello;
        cm.author_id = T[a].bob;
        cm.body = "under someone else's post";
        REFUSE(a, "23503", pid, "insert a comment on another tenant's post", iso_comments_insert(app, &cm, NULL, ERR));
        cm.post_id = T[a].hello;
        cm.author_id = T[b].bob;
        REFUSE(a, "23503", NULL, "insert a comment by another tenant's user", iso_comments_insert(app, &cm, NULL, ERR));
    }
    {
        iso_notes_new n = {0};
        n.user_id = T[b].alice;
        n.body = "about someone else";
        REFUSE(a, "23503", uid, "insert a note for another tenant's user", iso_notes_insert(app, &n, NULL, ERR));
    }
    /* The primary key is global: another tenant's id collides (23505).  The
     * message must show nothing of that tenant but the id the attacker sent
     * (PostgreSQL leaves the key out of the detail under RLS). */
    {
        iso_users_new u = {0};
        u.id = T[b].alice;
        u.id_set = true;
        u.email = "collide@example.com";
        REFUSE(a, "23505", uid, "insert a user with another tenant's user id", iso_users_insert(app, &u, NULL, ERR));
    }

    /* Updates of the session's own rows that move them to another tenant
     * or point them at another tenant's rows. */
    {
        iso_users u = {0};
        u.id = T[a].bob;
        u.organization_id = T[b].id;
        u.email = "bob@example.com";
        u.display_name_is_null = true;
        REFUSE(a, "42501 23503", NULL, "move a user to another tenant", iso_users_update(app, &u, ERR));
    }
    {
        iso_posts p = {0};
        p.id = T[a].roadmap;
        p.organization_id = T[a].id;
        p.user_id = T[b].alice;
        p.title = "Roadmap";
        REFUSE(a, "23503", uid, "point a post at another tenant's user", iso_posts_update(app, &p, ERR));
        p.organization_id = T[b].id;
        REFUSE(a, "42501 23503", uid, "move a post (and its author) to another tenant", iso_posts_update(app, &p, ERR));
        p.user_id = T[a].alice;
        REFUSE(a, "42501 23503", NULL, "move a post to another tenant", iso_posts_update(app, &p, ERR));
    }
    {
        int32_t mine = -1;
        for (size_t i = 0; i < tr[TB_COMMENTS].n; i++)
            if (tr[TB_COMMENTS].r[i].tenant == a && !tr[TB_COMMENTS].r[i].ref2_null)
                mine = tr[TB_COMMENTS].r[i].num;
        iso_comments cm = {0};
        cm.id = mine;
        cm.organization_id = T[a].id;
        cm.post_id = T[b].hello;
        cm.author_id = T[a].bob;
        cm.body = "moved";
        REFUSE(a, "23503", pid, "point a comment at another tenant's post", iso_comments_update(app, &cm, ERR));
        cm.post_id_is_null = true;
        cm.organization_id = T[b].id;
        REFUSE(a, "42501 23503", NULL, "move a comment to another tenant", iso_comments_update(app, &cm, ERR));
    }
    {
        iso_notes n = {0};
        n.id = T[a].note_visible;
        n.organization_id = T[b].id;
        n.user_id = T[a].alice;
        n.body = "moved";
        REFUSE(a, "42501 23503", NULL, "move a note to another tenant", iso_notes_update(app, &n, ERR));
    }

    /* Bulk inserts with one bad row: all or nothing.  The good rows carry
     * a marker the owner looks for afterwards. */
    {
        iso_users_new u[3];
        memset(u, 0, sizeof u);
        static const char *const emails[3] = {"copy-should-not-exist-1@example.com",
                                              "copy-should-not-exist-2@example.com",
                                              "copy-should-not-exist-3@example.com"};
        for (int i = 0; i < 3; i++) {
            u[i].email = emails[i];
            u[i].display_name_is_null = true;
            u[i].organization_id = i == 2 ? T[b].id : T[a].id;
            u[i].organization_id_set = true;
        }
        size_t failed_row = 0;
        REFUSE(a, "42501", NULL, "bulk insert of users, one for another tenant",
               iso_users_copy(app, u, 3, &failed_row, ERR));
    }
    {
        iso_posts_new p[3];
        memset(p, 0, sizeof p);
        for (int i = 0; i < 3; i++) {
            p[i].user_id = i == 1 ? T[b].alice : T[a].alice;
            p[i].title = "copy-should-not-exist";
            p[i].body_is_null = true;
        }
        REFUSE(a, "23503", uid, "bulk insert of posts, one for another tenant's user",
               iso_posts_copy(app, p, 3, NULL, ERR));
        p[1].user_id = T[a].alice;
        p[1].organization_id = T[b].id; /* set in one row only: refused before sending */
        p[1].organization_id_set = true;
        REFUSE(a, "22023", NULL, "bulk insert of posts, one naming another tenant",
               iso_posts_copy(app, p, 3, NULL, ERR));
        for (int i = 0; i < 3; i++) {
            p[i].organization_id = i == 2 ? T[b].id : T[a].id;
            p[i].organization_id_set = true;
        }
        REFUSE(a, "42501 23503", NULL, "bulk insert of posts, the last for another tenant",
               iso_posts_copy(app, p, 3, NULL, ERR));
    }
    {
        iso_comments_new cm[2];
        memset(cm, 0, sizeof cm);
        cm[0].post_id = T[a].hello;
        cm[0].author_id = T[a].bob;
        cm[0].body = "copy-should-not-exist";
        cm[1].post_id = T[b].hello;
        cm[1].author_id = T[a].bob;
        cm[1].body = "copy-should-not-exist";
        REFUSE(a, "23503", pid, "bulk insert of comments, one on another tenant's post",
               iso_comments_copy(app, cm, 2, NULL, ERR));
    }
    {
        iso_notes_new n[2];
        memset(n, 0, sizeof n);
        n[0].user_id = T[a].alice;
        n[0].body = "copy-should-not-exist";
        n[1].user_id = T[b].alice;
        n[1].body = "copy-should-not-exist";
        REFUSE(a, "23503", uid, "bulk insert of notes, one for another tenant's user",
               iso_notes_copy(app, n, 2, NULL, ERR));
        n[1].user_id = T[a].alice;
        n[1].body = ""; /* notes_insert: a note needs a body */
        REFUSE(a, "42501", NULL, "bulk insert of notes, one the notes' own policy refuses",
               iso_notes_copy(app, n, 2, NULL, ERR));
    }
    {
        iso_organizations_new o[2];
        memset(o, 0, sizeof o);
        o[0].name = "copy-should-not-exist";
        o[1].name = "copy-should-not-exist";
        o[0].id_set = o[1].id_set = true;
        o[0].id = T[a].id; /* exists already: 23505, or the second row's tenant */
        o[1].id = T[b].id;
        REFUSE(a, "42501 23505", NULL, "bulk insert of organizations, one another tenant",
               iso_organizations_copy(app, o, 2, NULL, ERR));
    }
}

/* The notes' own policies, under the restrictive tenant policy. */
static void own_policies(int a)
{
    dbont_error err = {0};
    /* A locked note cannot be changed or deleted (not found: the policies'
     * USING hides it from UPDATE and DELETE). */
    begin(app, a);
    iso_notes n = {0};
    n.id = T[a].note_locked;
    n.organization_id = T[a].id;
    n.user_id = T[a].alice;
    n.body = "unlocked?";
    op_not_found(iso_notes_update(app, &n, &err), &err, a, "update a locked note");
    op_not_found(iso_notes_delete(app, T[a].note_locked, &err), &err, a, "delete a locked note");
    op_not_found(iso_notes_delete(app, T[a].note_hidden, &err), &err, a, "delete a hidden note");
    end(app, true);
    iso_notes_new empty = {0};
    empty.user_id = T[a].alice;
    empty.body = "";
    REFUSE(a, "42501", NULL, "a note with an empty body", iso_notes_insert(app, &empty, NULL, ERR));
    n.id = T[a].note_visible;
    n.body = "";
    REFUSE(a, "42501", NULL, "update a note to an empty body", iso_notes_update(app, &n, ERR));
}

static void section_writes(void)
{
    dbont_error err = {0};
    prints before;
    fingerprints(&before, true);

    for (int a = 0; a < NT; a++) {
        begin(app, a);
        foreign_updates_deletes(a);
        end(app, true); /* committed: still nothing may have changed */
        same_prints(&before, -1, true, "updates and deletes of other tenants' rows");
    }
    for (int a = 0; a < NT; a++)
        for (int b = 0; b < NT; b++)
            if (a != b)
                refused_writes(a, b);
    for (int a = 0; a < NT; a++)
        own_policies(a);
    same_prints(&before, -1, true, "refused writes");
    CHECK(own_long("SELECT (SELECT count(*) FROM users WHERE email LIKE 'copy-should-not-exist%')"
                   " + (SELECT count(*) FROM posts WHERE title LIKE 'copy-should-not-exist%')"
                   " + (SELECT count(*) FROM comments WHERE body LIKE 'copy-should-not-exist%')"
                   " + (SELECT count(*) FROM organizations WHERE name LIKE 'copy-should-not-exist%')"
                   " + (SELECT count(*) FROM notes WHERE body LIKE 'copy-should-not-exist%')",
                   -1) == 0,
          "a bulk insert with a bad row inserted some rows");

    /* The writes that must work, in tenant 0; nobody else's rows change. */
    begin(app, 0);
    iso_users_new u = {0};
    u.email = "new-secret-t0@example.com";
    u.display_name_is_null = true;
    iso_users_rows urows = {0};
    if (op_ok(iso_users_insert(app, &u, &urows, &err), &err, "insert a user (tenant from the session)"))
        see_row(0, &urows.rows[0].organization_id, "insert returns");
    iso_users_rows_free(&urows);
    iso_posts_new p[2];
    memset(p, 0, sizeof p);
    p[0].user_id = p[1].user_id = T[0].bob;
    p[0].title = "Bulk one";
    p[1].title = "Bulk two";
    p[0].body_is_null = p[1].body_is_null = true;
    op_ok(iso_posts_copy(app, p, 2, NULL, &err), &err, "bulk insert posts (tenant from the session)");
    iso_posts_rows prow = {0};
    if (op_ok(iso_posts_get(app, T[0].roadmap, &prow, &err), &err, "get own post")) {
        iso_posts changed = prow.rows[0];
        changed.title = "Roadmap v2";
        op_ok(iso_posts_update(app, &changed, &err), &err, "update own post");
    }
    iso_posts_rows_free(&prow);
    /* Deleting a post leaves its comments, without a post, in the tenant
     * (ON DELETE SET NULL (post_id): not the tenant column). */
    op_ok(iso_posts_delete(app, T[0].hello, &err), &err, "delete own post");
    end(app, true);
    same_prints(&before, 0, true, "tenant 0's own writes");
    CHECK(own_long("SELECT count(*) FROM users WHERE email = 'new-secret-t0@example.com' AND organization_id = $1", 0) ==
              1,
          "the new user is not in tenant 0");
    CHECK(own_long("SELECT count(*) FROM posts WHERE title LIKE 'Bulk %' AND organization_id = $1", 0) == 2 &&
              own_long("SELECT count(*) FROM posts WHERE title LIKE 'Bulk %'", -1) == 2,
          "the bulk-inserted posts are not (only) in tenant 0");
    CHECK(own_long("SELECT count(*) FROM posts WHERE title = 'Roadmap'", -1) == NT - 1 &&
              own_long("SELECT count(*) FROM posts WHERE title = 'Roadmap v2' AND organization_id = $1", 0) == 1,
          "the update reached another tenant's post of the same title");
    CHECK(own_long("SELECT count(*) FROM comments WHERE post_id IS NULL AND organization_id = $1", 0) == 3,
          "the deleted post's comments did not keep their tenant with a NULL post");
    truth_load();
}

/* ---- 4. no tenant ------------------------------------------------------- */

static void no_tenant_reads(dbont_conn *c)
{
    read_lists(c, -1);
    read_finds(c, -1);
    read_gets(c, -1);
    read_queries(c, -1);
}

/* Every generated write on c, which has no tenant and no transaction (each
 * statement its own transaction): refused or not found. */
static void no_tenant_writes(dbont_conn *c)
{
    dbont_error err = {0};
    const char *none = "42501 23502";
    {
        iso_organizations_new o = {0};
        o.name = "nobody's";
        op_refused(iso_organizations_insert(c, &o, NULL, &err), &err, none, -1, NULL, "insert an organization, no tenant");
        dbont_uuid fresh;
        CHECK(dbont_uuid_random(&fresh) == 0, "random");
        o.id = fresh;
        o.id_set = true;
        op_refused(iso_organizations_insert(c, &o, NULL, &err), &err, none, -1, NULL,
                   "insert an organization with its id, no tenant");
        op_refused(iso_organizations_copy(c, &o, 1, NULL, &err), &err, none, -1, NULL,
                   "bulk insert an organization, no tenant");
    }
    {
        iso_users_new u = {0};
        u.email = "nobody@example.com";
        u.display_name_is_null = true;
        op_refused(iso_users_insert(c, &u, NULL, &err), &err, none, -1, NULL, "insert a user, no tenant");
        op_refused(iso_users_copy(c, &u, 1, NULL, &err), &err, none, -1, NULL, "bulk insert a user, no tenant");
        u.organization_id = T[1].id;
        u.organization_id_set = true;
        op_refused(iso_users_insert(c, &u, NULL, &err), &err, none, -1, T[1].text,
                   "insert a user naming a tenant, no session");
        op_refused(iso_users_copy(c, &u, 1, NULL, &err), &err, none, -1, T[1].text,
                   "bulk insert a user naming a tenant, no session");
    }
    {
        iso_posts_new p = {0};
        p.user_id = T[1].alice;
        p.title = "nobody's";
        p.body_is_null = true;
        op_refused(iso_posts_insert(c, &p, NULL, &err), &err, none, -1, NULL, "insert a post, no tenant");
        op_refused(iso_posts_copy(c, &p, 1, NULL, &err), &err, none, -1, NULL, "bulk insert a post, no tenant");
        iso_comments_new cm = {0};
        cm.post_id_is_null = true;
        cm.author_id = T[1].bob;
        cm.body = "nobody's";
        op_refused(iso_comments_insert(c, &cm, NULL, &err), &err, none, -1, NULL, "insert a comment, no tenant");
        op_refused(iso_comments_copy(c, &cm, 1, NULL, &err), &err, none, -1, NULL, "bulk insert a comment, no tenant");
        iso_notes_new n = {0};
        n.user_id = T[1].alice;
        n.body = "nobody's";
        op_refused(iso_notes_insert(c, &n, NULL, &err), &err, none, -1, NULL, "insert a note, no tenant");
        op_refused(iso_notes_copy(c, &n, 1, NULL, &err), &err, none, -1, NULL, "bulk insert a note, no tenant");
    }
    for (int k = 0; k < NT; k++) {
        iso_organizations o = {T[k].id, "nobody's", "free"};
        op_not_found(iso_organizations_update(c, &o, &err), &err, -1, "update an organization, no tenant");
        iso_users u = {0};
        u.id = T[k].alice;
        u.organization_id = T[k].id;
        u.email = "nobody@example.com";
        op_not_found(iso_users_update(c, &u, &err), &err, -1, "update a user, no tenant");
        iso_posts p = {0};
        p.id = T[k].plan;
        p.organization_id = T[k].id;
        p.user_id = T[k].shared;
        p.title = "nobody's";
        op_not_found(iso_posts_update(c, &p, &err), &err, -1, "update a post, no tenant");
        iso_notes n = {0};
        n.id = T[k].note_visible;
        n.organization_id = T[k].id;
        n.user_id = T[k].alice;
        n.body = "nobody's";
        op_not_found(iso_notes_update(c, &n, &err), &err, -1, "update a note, no tenant");
        op_not_found(iso_notes_delete(c, T[k].note_visible, &err), &err, -1, "delete a note, no tenant");
        op_not_found(iso_posts_delete(c, T[k].plan, &err), &err, -1, "delete a post, no tenant");
        op_not_found(iso_users_delete(c, T[k].only, &err), &err, -1, "delete a user, no tenant");
        op_not_found(iso_organizations_delete(c, T[k].id, &err), &err, -1, "delete an organization, no tenant");
    }
    for (size_t i = 0; i < tr[TB_COMMENTS].n; i++) {
        const trow *r = &tr[TB_COMMENTS].r[i];
        iso_comments cm = {0};
        cm.id = r->num;
        cm.organization_id = T[r->tenant >= 0 ? r->tenant : 0].id;
        cm.post_id_is_null = true;
        cm.author_id = r->ref;
        cm.body = "nobody's";
        op_not_found(iso_comments_update(c, &cm, &err), &err, -1, "update a comment, no tenant");
        op_not_found(iso_comments_delete(c, r->num, &err), &err, -1, "delete a comment, no tenant");
    }
}

static void section_no_tenant(void)
{
    dbont_error err = {0};
    prints before;
    fingerprints(&before, true);

    /* A connection that never had a session. */
    dbont_conn *bare = dbont_connect(app_dsn, &err);
    if (CHECK(bare != NULL, "connect as iso_app: %s %s", err.sqlstate, err.message)) {
        no_tenant_reads(bare);
        no_tenant_writes(bare);
        dbont_close(bare);
    }

    /* After a committed session, a rolled-back one, and one whose statement
     * failed. */
    begin(app, 2);
    read_lists(app, 2);
    end(app, true);
    no_tenant_reads(app);
    no_tenant_writes(app);
    begin(app, 2);
    read_lists(app, 2);
    end(app, false);
    no_tenant_reads(app);
    begin(app, 2);
    iso_users_new dup = {0};
    dup.email = "bob@example.com";
    op_refused(iso_users_insert(app, &dup, NULL, &err), &err, "23505", 2, NULL, "a second bob");
    bump(&n_ops);
    if (CHECK(iso_tenant_end(app, true, &err) == DBONT_ERROR && strcmp(err.sqlstate, "40000") == 0,
              "commit after an error: %s", err.sqlstate))
        bump(&n_refused);
    no_tenant_reads(app);
    no_tenant_writes(app);

    /* Inside a plain transaction without a tenant. */
    CHECK(dbont_begin(app, &err) == DBONT_OK, "begin: %s", err.message);
    no_tenant_reads(app);
    CHECK(dbont_rollback(app, &err) == DBONT_OK, "rollback: %s", err.message);

    /* A session ended from inside (COMMIT through dbont_exec): what follows
     * runs without a tenant, and ending the session says so (25P01). */
    begin(app, 3);
    read_lists(app, 3);
    CHECK(dbont_exec(app, "COMMIT", &err) == DBONT_OK, "COMMIT: %s", err.message);
    no_tenant_reads(app);
    bump(&n_ops);
    if (CHECK(iso_tenant_end(app, true, &err) == DBONT_ERROR && strcmp(err.sqlstate, "25P01") == 0,
              "end after COMMIT: %s", err.sqlstate))
        bump(&n_refused);

    /* The setting emptied at session level: no tenant. */
    CHECK(dbont_exec(app, "SELECT set_config('app.current_org_id', '', false)", &err) == DBONT_OK, "%s",
          err.message);
    no_tenant_reads(app);
    CHECK(dbont_exec(app, "RESET app.current_org_id", &err) == DBONT_OK, "%s", err.message);

    /* Sessions of tenants that do not exist: the nil uuid, a random one. */
    dbont_uuid nil;
    memset(&nil, 0, sizeof nil);
    CHECK(iso_tenant_begin(app, nil, &err) == DBONT_OK, "begin nil: %s", err.message);
    no_tenant_reads(app);
    end(app, false);
    dbont_uuid stranger;
    CHECK(dbont_uuid_random(&stranger) == 0, "random");
    CHECK(iso_tenant_begin(app, stranger, &err) == DBONT_OK, "begin stranger: %s", err.message);
    no_tenant_reads(app);
    end(app, false);

    /* A hostile tenant text through the runtime: only data, and not a uuid. */
    if (CHECK(dbont_tenant_begin(app, ISO_TENANT_SETTING, "x' OR true OR '' = '", &err) == DBONT_OK,
              "begin with a hostile tenant: %s %s", err.sqlstate, err.message)) {
        iso_users_rows rows = {0};
        op_refused(iso_users_list(app, 100, 0, &rows, &err), &err, "22P02", -1, NULL, "list with a hostile tenant");
        iso_users_rows_free(&rows);
        end(app, false);
    }
    bump(&n_ops);
    if (CHECK(dbont_tenant_begin(app, ISO_TENANT_SETTING, "", &err) == DBONT_ERROR && strcmp(err.sqlstate, "22023") == 0,
              "begin with an empty tenant: %s", err.sqlstate))
        bump(&n_refused);

    same_prints(&before, -1, true, "writes without a tenant");
}

/* ---- 5. hand-written SQL through the application role ------------------- */

typedef struct sqlres {
    bool ok;
    char state[6];
    long rows;      /* rows returned, or lines of COPY ... TO STDOUT */
    long affected;  /* PQcmdTuples */
    char first[256]; /* the first value of the first row */
    char msg[512];
} sqlres;

/*
 * Runs sql (the simple query protocol, as any hand-written SQL would) on c,
 * in a session of t (-1: none), and searches everything that comes back,
 * rows, COPY lines, the error message and notices, for other tenants.
 */
static sqlres run_sql(dbont_conn *c, int t, const char *sql, const char *allow, const char *what)
{
    PGconn *pg = dbont_conn_pg(c);
    sqlres r;
    memset(&r, 0, sizeof r);
    app_notices.len = 0;
    app_notices.text[0] = '\0';
    PGresult *res = PQexec(pg, sql);
    ExecStatusType s = PQresultStatus(res);
    bool copy = false;
    if (s == PGRES_COPY_OUT) {
        char *buf;
        int n;
        copy = true;
        while ((n = PQgetCopyData(pg, &buf, 0)) > 0) {
            r.rows++;
            scan(buf, t, allow, what);
            PQfreemem(buf);
        }
        PQclear(res);
        res = PQgetResult(pg);
        s = PQresultStatus(res);
    } else if (s == PGRES_COPY_IN) {
        PQputCopyEnd(pg, "the suite sends no rows");
        PQclear(res);
        res = PQgetResult(pg);
        s = PQresultStatus(res);
        CHECK(false, "%s: COPY FROM was accepted", what);
    }
    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
        r.ok = true;
        if (!copy)
            r.rows = PQntuples(res);
        r.affected = strtol(PQcmdTuples(res), NULL, 10);
        for (int i = 0; i < PQntuples(res); i++)
            for (int j = 0; j < PQnfields(res); j++)
                if (!PQgetisnull(res, i, j))
                    scan(PQgetvalue(res, i, j), t, allow, what);
        if (PQntuples(res) > 0 && PQnfields(res) > 0)
            snprintf(r.first, sizeof r.first, "%s", PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
    } else {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        snprintf(r.state, sizeof r.state, "%s", state ? state : "XX000");
        snprintf(r.msg, sizeof r.msg, "%s", PQresultErrorMessage(res));
        scan(PQresultErrorMessage(res), t, allow, what);
    }
    PQclear(res);
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
    scan(app_notices.text, t, allow, what);
    return r;
}

/* SQL that must fail (states: space-separated SQLSTATEs, NULL: any). */
static void sql_refused(dbont_conn *c, int t, const char *sql, const char *states, const char *allow)
{
    sqlres r = run_sql(c, t, sql, allow, sql);
    bump(&n_ops);
    if (CHECK(!r.ok && (states == NULL || strstr(states, r.state) != NULL), "%s: expected refusal (%s), got %s %s",
              sql, states ? states : "any error", r.ok ? "success" : r.state, r.msg))
        bump(&n_refused);
}

/* SQL that must run and show only t's rows: want_rows rows returned (or
 * COPY lines) and want_affected rows affected (< 0: not checked). */
static sqlres sql_ok(dbont_conn *c, int t, const char *sql, long want_rows, long want_affected)
{
    sqlres r = run_sql(c, t, sql, NULL, sql);
    bump(&n_ops);
    if (CHECK(r.ok, "%s: failed: %s %s", sql, r.state, r.msg)) {
        if (want_rows >= 0)
            CHECK(r.rows == want_rows, "%s: %ld rows, expected %ld", sql, r.rows, want_rows);
        if (want_affected >= 0)
            CHECK(r.affected == want_affected, "%s: %ld rows affected, expected %ld", sql, r.affected, want_affected);
        if ((want_rows == 0 && r.rows == 0) || (want_affected == 0 && r.affected == 0))
            bump(&n_refused); /* another tenant's rows asked for: none */
    }
    return r;
}

/* Each in its own session of a, rolled back. */
static void s_refused(int a, const char *sql, const char *states, const char *allow)
{
    begin(app, a);
    sql_refused(app, a, sql, states, allow);
    end(app, false);
}

static sqlres s_ok(int a, const char *sql, long want_rows, long want_affected)
{
    begin(app, a);
    sqlres r = sql_ok(app, a, sql, want_rows, want_affected);
    end(app, false);
    return r;
}

static char *sqlf(char *buf, size_t size, const char *format, const char *a, const char *b)
{
    snprintf(buf, size, format, a, b ? b : "");
    return buf;
}

static void generated_list_users(dbont_conn *c, int t, const char *what)
{
    dbont_error err = {0};
    iso_users_rows rows = {0};
    dbont_status st = iso_users_list(c, 1000, 0, &rows, &err);
    bump(&n_ops);
    if (st == DBONT_OK)
        SEE_ROWS(rows, organization_id, t, -1, what);
    else
        scan(err.message, t, NULL, what);
    iso_users_rows_free(&rows);
}

static void sql_dml(int a, int b)
{
    char sql[1024];
    long users = visible_count(TB_USERS, a), posts = visible_count(TB_POSTS, a), comments = visible_count(TB_COMMENTS, a),
         notes = visible_count(TB_NOTES, a);
    /* UPDATE reads the rows (SET body = body ...): SELECT policies apply
     * too.  A DELETE without WHERE reads nothing: only DELETE policies. */
    long notes_unlocked = own_long("SELECT count(*) FROM notes WHERE organization_id = $1 AND NOT hidden AND NOT locked", a);
    long notes_deletable = own_long("SELECT count(*) FROM notes WHERE organization_id = $1 AND NOT locked", a);

    s_ok(a, "SELECT * FROM organizations", 1, -1);
    s_ok(a, "SELECT * FROM users", users, -1);
    s_ok(a, "SELECT * FROM posts", posts, -1);
    s_ok(a, "SELECT * FROM comments", comments, -1);
    s_ok(a, "SELECT * FROM notes", notes, -1);
    s_ok(a, "SELECT * FROM notes WHERE hidden", 0, -1);
    s_ok(a, "UPDATE users SET display_name = 'pwned'", 0, users);
    s_ok(a, "UPDATE posts SET title = title RETURNING *", posts, posts);
    s_ok(a, "UPDATE notes SET body = body || '!'", 0, notes_unlocked);
    s_ok(a, "DELETE FROM comments", 0, comments);
    s_ok(a, "DELETE FROM notes", 0, notes_deletable);
    s_ok(a, "DELETE FROM organizations RETURNING *", 1, 1);
    s_ok(a, "INSERT INTO posts (user_id, title) SELECT id, 'mass' FROM users", 0, users);
    s_refused(a, sqlf(sql, sizeof sql, "UPDATE users SET organization_id = '%s'", T[b].text, NULL), "42501 23503",
              T[b].text);
    s_refused(a, sqlf(sql, sizeof sql, "UPDATE posts SET organization_id = '%s'", T[b].text, NULL), "42501 23503",
              T[b].text);
    s_refused(a, sqlf(sql, sizeof sql, "INSERT INTO users (organization_id, email) VALUES ('%s', 'x@example.com')",
                      T[b].text, NULL),
              "42501", T[b].text);
    for (int j = 0; j < NT; j++) {
        if (j == a)
            continue;
        char uid[DBONT_UUID_TEXT_SIZE];
        dbont_uuid_format(&T[j].alice, uid);
        s_ok(a, sqlf(sql, sizeof sql, "DELETE FROM users WHERE organization_id = '%s'", T[j].text, NULL), 0, 0);
        s_ok(a, sqlf(sql, sizeof sql, "UPDATE users SET email = 'x' WHERE id = '%s'", uid, NULL), 0, 0);
        s_ok(a, sqlf(sql, sizeof sql, "SELECT * FROM users WHERE organization_id = '%s'", T[j].text, NULL), 0, -1);
        s_ok(a, sqlf(sql, sizeof sql, "SELECT * FROM users WHERE id = '%s'", uid, NULL), 0, -1);
        s_ok(a, sqlf(sql, sizeof sql, "SELECT * FROM notes WHERE organization_id = '%s' OR hidden", T[j].text, NULL), 0,
             -1);
        s_ok(a, sqlf(sql, sizeof sql, "SELECT * FROM organizations WHERE id = '%s'", T[j].text, NULL), 0, -1);
        /* MERGE joins the source to the target under RLS: not matched. */
        s_ok(a,
             sqlf(sql, sizeof sql,
                  "MERGE INTO users u USING (SELECT '%s'::uuid AS id) s ON u.id = s.id WHEN MATCHED THEN UPDATE SET "
                  "display_name = 'pwned' WHEN NOT MATCHED THEN DO NOTHING",
                  uid, NULL),
             0, 0);
        s_refused(a,
                  sqlf(sql, sizeof sql,
                       "MERGE INTO users u USING (SELECT '%s'::uuid AS id) s ON u.id = s.id WHEN MATCHED THEN DELETE "
                       "WHEN NOT MATCHED THEN INSERT (id, organization_id, email) VALUES (s.id, '%s', 'merged')",
                       uid, T[j].text),
                  "42501 23505", uid);
        /* INSERT ... ON CONFLICT on another tenant's key: the update is
         * refused (the conflicting row is not the session's), DO NOTHING
         * does nothing.  Neither shows the row. */
        s_refused(a,
                  sqlf(sql, sizeof sql,
                       "INSERT INTO users (id, email) VALUES ('%s', 'probe@example.com') ON CONFLICT (id) DO UPDATE "
                       "SET display_name = 'pwned' RETURNING *",
                       uid, NULL),
                  "42501", uid);
        s_ok(a,
             sqlf(sql, sizeof sql,
                  "INSERT INTO users (id, email) VALUES ('%s', 'probe@example.com') ON CONFLICT DO NOTHING RETURNING *",
                  uid, NULL),
             0, 0);
    }
}

static void sql_reads(int a)
{
    char sql[1024];
    long users = visible_count(TB_USERS, a), posts = visible_count(TB_POSTS, a), comments = visible_count(TB_COMMENTS, a);
    sqlres r;

    r = s_ok(a,
             "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM posts), (SELECT count(*) FROM comments),"
             " (SELECT count(*) FROM notes), (SELECT count(*) FROM organizations),"
             " (SELECT string_agg(email || coalesce(display_name, ''), ',') FROM users),"
             " (SELECT string_agg(title || coalesce(body, ''), ',') FROM posts),"
             " (SELECT string_agg(body, ',') FROM comments), (SELECT string_agg(body, ',') FROM notes)",
             1, -1);
    CHECK(strtol(r.first, NULL, 10) == users, "scalar subquery count: %s, expected %ld", r.first, users);
    s_ok(a, "SELECT u.email, p.title, c.body FROM users u JOIN posts p ON p.user_id = u.id LEFT JOIN comments c ON "
            "c.post_id = p.id",
         -1, -1);
    s_ok(a, "SELECT * FROM users u CROSS JOIN organizations o", users, -1);
    s_ok(a, "SELECT * FROM users u FULL JOIN posts p ON p.user_id = u.id AND p.organization_id <> u.organization_id",
         users + posts, -1);
    s_ok(a, "SELECT * FROM posts p WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id AND u.organization_id "
            "<> p.organization_id)",
         0, -1);
    s_ok(a, "SELECT * FROM users WHERE id IN (SELECT user_id FROM posts) OR id IN (SELECT author_id FROM comments) OR "
            "id NOT IN (SELECT user_id FROM notes)",
         -1, -1);
    s_ok(a, "WITH x AS (SELECT * FROM comments), y AS MATERIALIZED (SELECT * FROM posts) SELECT x.*, y.title FROM x "
            "LEFT JOIN y ON x.post_id = y.id",
         comments, -1);
    s_ok(a, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT u.email, r.n FROM "
            "users u, r",
         3 * users, -1);
    s_ok(a, "WITH d AS (DELETE FROM posts RETURNING *) SELECT * FROM d", posts, -1);
    s_ok(a, "WITH u AS (UPDATE users SET email = email RETURNING *) SELECT * FROM u", users, -1);
    r = s_ok(a,
             "SELECT count(*) OVER () AS total, email, row_number() OVER (ORDER BY email), lag(email) OVER (ORDER BY "
             "email), first_value(email) OVER (PARTITION BY organization_id ORDER BY email), rank() OVER (ORDER BY "
             "id) FROM users",
             users, -1);
    CHECK(strtol(r.first, NULL, 10) == users, "count(*) OVER (): %s, expected %ld", r.first, users);
    s_ok(a, "SELECT * FROM users TABLESAMPLE SYSTEM (100)", users, -1);
    s_ok(a, "SELECT * FROM users WHERE ctid >= '(0,0)'", users, -1);
    s_ok(a, "SELECT * FROM ONLY users UNION ALL SELECT * FROM users", 2 * users, -1);
    s_ok(a, "SELECT o.name, x.email FROM organizations o CROSS JOIN LATERAL (SELECT email FROM users WHERE "
            "organization_id <> o.id) x",
         0, -1);
    s_ok(a, "SELECT json_agg(u) FROM users u", 1, -1);
    s_ok(a, "SELECT array_agg(p) FROM posts p", 1, -1);
    s_ok(a, "SELECT row_to_json(n) FROM notes n", -1, -1);
    s_ok(a, "SELECT * FROM users FOR UPDATE", users, -1);
    s_ok(a, "SELECT * FROM posts FOR SHARE SKIP LOCKED", posts, -1);
    r = s_ok(a, "SELECT count(*) FROM users WHERE organization_id IS DISTINCT FROM current_org_id()", 1, -1);
    CHECK(strcmp(r.first, "0") == 0, "rows of other tenants counted: %s", r.first);
    s_ok(a, "SELECT * FROM users u WHERE u.organization_id = (SELECT id FROM organizations LIMIT 1 OFFSET 1)", 0, -1);
    r = s_ok(a, "SELECT count(*), organization_id FROM users GROUP BY ROLLUP (organization_id) ORDER BY 2 NULLS FIRST",
             2, -1);
    CHECK(strtol(r.first, NULL, 10) == users, "ROLLUP total: %s, expected %ld", r.first, users);
    r = s_ok(a,
             "SELECT DISTINCT x FROM (SELECT organization_id AS x FROM users UNION SELECT organization_id FROM posts"
             " UNION SELECT organization_id FROM comments UNION SELECT organization_id FROM notes"
             " UNION SELECT id FROM organizations) s",
             1, -1);
    CHECK(strcmp(r.first, T[a].text) == 0, "the tenants visible: %s", r.first);

    /* A temporary view over the real table: the view's owner is the
     * application role, so RLS applies. */
    begin(app, a);
    sql_ok(app, a, "CREATE TEMP VIEW iso_all_users AS SELECT * FROM public.users", -1, -1);
    sql_ok(app, a, "SELECT * FROM iso_all_users", users, -1);
    end(app, false);

    /* A leaky function in the WHERE clause: RLS conditions run first
     * (security barrier), so it only sees the session's rows.  Its notices
     * are searched. */
    begin(app, a);
    sql_ok(app, a,
           "CREATE FUNCTION pg_temp.iso_peek(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS "
           "$f$ BEGIN RAISE NOTICE 'peek %', $1; RETURN true; END $f$",
           -1, -1);
    sql_ok(app, a, "SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off", -1, -1);
    sql_ok(app, a, "SELECT email FROM users WHERE pg_temp.iso_peek(email)", users, -1);
    sql_ok(app, a, "SELECT 1 FROM users u WHERE pg_temp.iso_peek(u::text)", users, -1);
    sql_ok(app, a, "SELECT 1 FROM notes n WHERE pg_temp.iso_peek(n::text)", visible_count(TB_NOTES, a), -1);
    sql_ok(app, a, "SELECT 1 FROM posts p JOIN users u ON pg_temp.iso_peek(u.email || p.title) AND u.id = p.user_id",
           posts, -1);
    end(app, false);

    /* Error oracles: an error raised only by another tenant's row. */
    begin(app, a);
    sql_ok(app, a, "SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off", -1, -1);
    for (int j = 0; j < NT; j++) {
        if (j == a)
            continue;
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM users WHERE 1 / (CASE WHEN email LIKE 'only-secret-t%d%%' THEN 0 ELSE 1 END) = 1",
                 j);
        r = run_sql(app, a, sql, NULL, "division by zero oracle");
        bump(&n_ops);
        if (!r.ok && strcmp(r.state, "22012") == 0)
            LEAK("%s: division by zero: the condition ran on %s's row", sql, who(j));
        else if (CHECK(r.ok, "%s: %s %s", sql, r.state, r.msg))
            bump(&n_refused);
        if (!r.ok)
            break; /* the transaction is aborted */
    }
    end(app, false);
    s_ok(a, "SELECT count(*) FROM users WHERE 1 / (CASE WHEN organization_id = current_org_id() THEN 1 ELSE 0 END) = 1",
         1, -1);
    s_refused(a, "SELECT count(*) FROM users WHERE email::int = 0", "22P02", NULL);
    s_refused(a, "SELECT count(*) FROM posts WHERE (title || organization_id::text)::int = 0", "22P02", NULL);
}

static void sql_copy_and_ddl(int a, int b, const char *db)
{
    char sql[1024];
    long users = visible_count(TB_USERS, a), posts = visible_count(TB_POSTS, a);

    s_ok(a, "COPY users TO STDOUT", users, -1);
    s_ok(a, "COPY (SELECT * FROM posts p JOIN users u ON u.id = p.user_id) TO STDOUT WITH (FORMAT csv, HEADER)",
         posts + 1, -1);
    s_ok(a, "COPY notes TO STDOUT WITH (FORMAT binary)", -1, -1);
    s_refused(a, "COPY users FROM STDIN", "0A000 42501", NULL);
    s_refused(a, "COPY users TO '/tmp/iso_leak.txt'", "42501", NULL);
    s_refused(a, "COPY users TO PROGRAM 'cat'", "42501", NULL);
    s_refused(a, "SET row_security = off; SELECT * FROM users", "42501", NULL);
    begin(app, a);
    sql_ok(app, a, "SET LOCAL row_security = off", -1, -1);
    {
        dbont_error err = {0};
        iso_users_rows rows = {0};
        op_refused(iso_users_list(app, 100, 0, &rows, &err), &err, "42501", a, NULL, "list with row_security off");
        iso_users_rows_free(&rows);
    }
    end(app, false);

    /* Privileges the role does not have: 42501 each (a refusal for another
     * reason, such as a foreign key stopping a TRUNCATE, would hide a grant
     * too many). */
    static const struct {
        const char *sql, *states;
    } ddl[] = {
        {"ALTER TABLE users DISABLE ROW LEVEL SECURITY", "42501"},
        {"ALTER TABLE users NO FORCE ROW LEVEL SECURITY", "42501"},
        {"ALTER TABLE notes DISABLE ROW LEVEL SECURITY", "42501"},
        {"ALTER TABLE users OWNER TO iso_app", "42501"},
        {"ALTER TABLE users RENAME TO users_old", "42501"},
        {"ALTER TABLE posts DROP CONSTRAINT posts_user_id_fkey", "42501"},
        {"ALTER TABLE users ALTER COLUMN organization_id DROP DEFAULT", "42501"},
        {"DROP POLICY users_tenant_isolation ON users", "42501"},
        {"DROP POLICY notes_tenant_isolation ON notes", "42501"},
        {"CREATE POLICY iso_open ON users FOR SELECT USING (true)", "42501"},
        {"CREATE POLICY iso_open ON notes AS PERMISSIVE FOR SELECT USING (true)", "42501"},
        {"ALTER POLICY users_tenant_isolation ON users USING (true)", "42501"},
        {"ALTER POLICY notes_visible ON notes USING (true)", "42501"},
        {"CREATE RULE iso_rule AS ON INSERT TO users DO ALSO NOTIFY iso", "42501"},
        {"CREATE TRIGGER iso_trigger BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()", "42501"},
        {"CREATE INDEX iso_index ON users (email)", "42501"},
        {"COMMENT ON TABLE users IS 'pwned'", "42501"},
        {"DROP TABLE comments", "42501"},
        {"TRUNCATE users", "42501"},
        {"TRUNCATE comments", "42501"},
        {"TRUNCATE organizations CASCADE", "42501"},
        {"SET ROLE postgres", "42501"},
        {"SET SESSION AUTHORIZATION postgres", "42501"},
        {"GRANT postgres TO iso_app", "42501"},
        {"ALTER ROLE iso_app BYPASSRLS", "42501"},
        {"ALTER ROLE iso_app SUPERUSER", "42501"},
        {"CREATE ROLE iso_evil LOGIN BYPASSRLS", "42501"},
        {"CREATE OR REPLACE FUNCTION current_org_id() RETURNS uuid LANGUAGE sql STABLE AS $f$ SELECT NULL::uuid $f$", "42501"},
        {"CREATE OR REPLACE FUNCTION public.current_user_org_id() RETURNS uuid LANGUAGE sql STABLE AS $f$ SELECT NULL::uuid $f$", "42501"},
        {"ALTER FUNCTION current_org_id() OWNER TO iso_app", "42501"},
        {"ALTER FUNCTION current_org_id() SECURITY DEFINER", "42501"},
        {"DROP FUNCTION current_org_id() CASCADE", "42501"},
        {"CREATE FUNCTION public.iso_helper() RETURNS int LANGUAGE sql AS $f$ SELECT 1 $f$", "42501"},
        {"CREATE SCHEMA iso_evil", "42501"},
        {"CREATE TABLE public.iso_table (x int)", "42501"},
        {"CREATE EXTENSION dblink", "42501 0A000 58P01"},
        {"CREATE EXTENSION postgres_fdw", "42501 0A000 58P01"},
        {"SELECT pg_read_file('PG_VERSION')", "42501"},
        {"SELECT setval('comments_id_seq', 1)", "42501"},
        {"ALTER SEQUENCE comments_id_seq RESTART", "42501"},
        {"SELECT * FROM pg_statistic", "42501"},
    };
    for (size_t i = 0; i < sizeof ddl / sizeof ddl[0]; i++)
        s_refused(a, ddl[i].sql, ddl[i].states, NULL);
    s_refused(a, sqlf(sql, sizeof sql, "ALTER ROLE iso_app SET app.current_org_id = '%s'", T[b].text, NULL), "42501",
              T[b].text);
    s_refused(a, sqlf(sql, sizeof sql, "ALTER ROLE iso_app IN DATABASE \"%s\" SET app.current_org_id = '%s'", db,
                      T[b].text),
              "42501", T[b].text);
    s_refused(a, sqlf(sql, sizeof sql, "ALTER DATABASE \"%s\" SET app.current_org_id = '%s'", db, T[b].text), "42501",
              T[b].text);
    s_refused(a,
              sqlf(sql, sizeof sql,
                   "CREATE OR REPLACE FUNCTION current_org_id() RETURNS uuid LANGUAGE sql STABLE AS $f$ SELECT "
                   "'%s'::uuid $f$",
                   T[b].text, NULL),
              "42501", T[b].text);

    /* GRANT without the grant option is a warning, not an error: nothing
     * may change. */
    PGresult *res = own_exec("SELECT coalesce(string_agg(relname || '=' || coalesce(relacl::text, ''), ';' ORDER BY "
                             "relname), '') FROM pg_class WHERE relnamespace = 'public'::regnamespace",
                             NULL);
    char *acl_before = strdup(res && PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    static const char *const grants[] = {
        "GRANT SELECT ON users TO PUBLIC",
        "GRANT ALL ON notes TO PUBLIC WITH GRANT OPTION",
        "GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC", /* fails on dbont_migrations */
        "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO PUBLIC",
        "REVOKE ALL ON users FROM postgres",
    };
    for (size_t i = 0; i < sizeof grants / sizeof grants[0]; i++) {
        begin(app, a);
        /* A warning or an error: both fine if nothing changes (committed). */
        sqlres g = run_sql(app, a, grants[i], NULL, grants[i]);
        bump(&n_ops);
        end(app, g.ok);
    }
    res = own_exec("SELECT coalesce(string_agg(relname || '=' || coalesce(relacl::text, ''), ';' ORDER BY "
                   "relname), '') FROM pg_class WHERE relnamespace = 'public'::regnamespace",
                   NULL);
    if (CHECK(res && strcmp(acl_before, PQgetvalue(res, 0, 0)) == 0, "GRANT by iso_app changed privileges"))
        bump(&n_refused);
    PQclear(res);
    free(acl_before);

    /* A tenant function of its own: in public it cannot be made (above);
     * in the temporary schema it can, but policies and defaults call the
     * real one (bound when they were created), and functions are never
     * looked up in pg_temp. */
    begin(app, a);
    sql_ok(app, a,
           sqlf(sql, sizeof sql,
                "CREATE FUNCTION pg_temp.current_org_id() RETURNS uuid LANGUAGE sql STABLE AS $f$ SELECT '%s'::uuid "
                "$f$",
                T[b].text, NULL),
           -1, -1);
    sql_ok(app, a, "SET LOCAL search_path = pg_temp, public", -1, -1);
    sql_ok(app, a, "SELECT * FROM users", users, -1);
    sqlres r = sql_ok(app, a, "SELECT current_org_id()", 1, -1);
    CHECK(strcmp(r.first, T[a].text) == 0, "current_org_id() with pg_temp first: %s", r.first);
    generated_list_users(app, a, "list users after a pg_temp.current_org_id()");
    sql_ok(app, a, "SELECT * FROM users WHERE organization_id = pg_temp.current_org_id()", 0, -1);
    end(app, false);

    /* A temporary table named like a real one, in the session's own
     * tenant: it hides the real table from unqualified names, and shows
     * nothing of anyone else. */
    begin(app, a);
    sql_ok(app, a, "CREATE TEMP TABLE users (LIKE public.users INCLUDING ALL)", -1, -1);
    sql_ok(app, a, "SELECT * FROM users", 0, -1);
    sql_ok(app, a, "SELECT * FROM public.users", users, -1);
    generated_list_users(app, a, "list users beside a temporary users table");
    end(app, false);
    CHECK(dbont_exec(app, "DISCARD TEMP", NULL) == DBONT_OK, "DISCARD TEMP");
}

static void sql_catalogs(int a, int b)
{
    char sql[1024];
    char uid[DBONT_UUID_TEXT_SIZE], pid[DBONT_UUID_TEXT_SIZE], bob[DBONT_UUID_TEXT_SIZE];
    dbont_uuid_format(&T[b].alice, uid);
    dbont_uuid_format(&T[b].hello, pid);
    dbont_uuid_format(&T[a].bob, bob);

    /* Statistics: the owner analyses (with extended statistics, whose MCV
     * lists hold values), so there is something to leak. */
    own_do("CREATE STATISTICS IF NOT EXISTS iso_users_stx (mcv, ndistinct) ON organization_id, email FROM users");
    own_do("CREATE STATISTICS IF NOT EXISTS iso_posts_stx (mcv) ON organization_id, title FROM posts");
    own_do("ANALYZE organizations, users, posts, comments, notes");
    CHECK(own_long("SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = 'users'", -1) > 0 &&
              own_long("SELECT count(*) FROM pg_stats_ext WHERE statistics_name = 'iso_users_stx' AND most_common_vals "
                       "IS NOT NULL",
                       -1) > 0,
          "the owner sees no statistics: the attack below would prove nothing");
    s_ok(a,
         "SELECT * FROM pg_stats WHERE schemaname = 'public' AND tablename IN ('organizations', 'users', 'posts', "
         "'comments', 'notes')",
         0, -1);
    s_ok(a, "SELECT * FROM pg_stats", -1, -1);
    s_ok(a, "SELECT * FROM pg_stats_ext", -1, -1);
    s_ok(a, "SELECT * FROM pg_stats_ext_exprs", -1, -1);
    s_ok(a, "SELECT * FROM pg_stats_ext WHERE statistics_name IN ('iso_users_stx', 'iso_posts_stx') AND "
            "(most_common_vals IS NOT NULL OR n_distinct IS NOT NULL)",
         0, -1);
    s_refused(a, "SELECT * FROM pg_statistic_ext_data", "42501", NULL);

    /* EXPLAIN: plans and row counts, never values of other tenants.  The
     * count of rows the tenant filter removed is a documented side channel
     * (volume, not content). */
    s_ok(a, "EXPLAIN (ANALYZE, VERBOSE, BUFFERS, COSTS) SELECT * FROM users", -1, -1);
    s_ok(a, "EXPLAIN (ANALYZE, VERBOSE) SELECT u.email, p.title FROM users u JOIN posts p ON p.user_id = u.id", -1, -1);
    s_ok(a, "EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) SELECT * FROM notes", -1, -1);
    begin(app, a);
    sql_ok(app, a, "SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off", -1, -1);
    {
        PGresult *res = PQexec(dbont_conn_pg(app), "EXPLAIN (ANALYZE, VERBOSE) SELECT * FROM comments");
        bump(&n_ops);
        for (int i = 0; i < PQntuples(res); i++) {
            const char *line = PQgetvalue(res, i, 0);
            scan(line, a, NULL, "EXPLAIN ANALYZE of a sequential scan");
            const char *removed = strstr(line, "Rows Removed by Filter:");
            if (removed)
                note("EXPLAIN ANALYZE shows %s's session '%s' on comments (documented side channel: volume)",
                     who(a), removed);
        }
        PQclear(res);
    }
    end(app, false);

    /* Error messages of unique and foreign key violations: under RLS,
     * PostgreSQL leaves the key out of the detail; nothing of the other
     * tenant besides what the attacker sent. */
    s_refused(a, "INSERT INTO users (email) VALUES ('alice@example.com')", "23505", NULL);
    s_refused(a, sqlf(sql, sizeof sql, "INSERT INTO users (id, email) VALUES ('%s', 'x@example.com')", uid, NULL),
              "23505", uid);
    s_refused(a, sqlf(sql, sizeof sql, "INSERT INTO posts (user_id, title) VALUES ('%s', 'x')", uid, NULL), "23503",
              uid);
    s_refused(a,
              sqlf(sql, sizeof sql, "INSERT INTO comments (post_id, author_id, body) VALUES ('%s', '%s', 'x')", pid, bob),
              "23503", pid);
    s_refused(a, sqlf(sql, sizeof sql, "UPDATE posts SET user_id = '%s'", uid, NULL), "23503", uid);
    s_refused(a, sqlf(sql, sizeof sql, "UPDATE notes SET user_id = '%s'", uid, NULL), "23503", uid);

    /* Sequences: a fresh connection has no currval; nextval works (a
     * serial column needs it) and shows only the shared counter (the
     * documented volume side channel); setval and ALTER are refused. */
    dbont_error err = {0};
    dbont_conn *fresh = dbont_connect(app_dsn, &err);
    if (CHECK(fresh != NULL, "connect: %s", err.message)) {
        PQsetNoticeReceiver(dbont_conn_pg(fresh), on_notice, &app_notices);
        sql_refused(fresh, -1, "SELECT currval('comments_id_seq')", "55000", NULL);
        sqlres r = sql_ok(fresh, -1, "SELECT nextval('comments_id_seq')", 1, -1);
        r = sql_ok(fresh, -1, "SELECT currval('comments_id_seq'), last_value FROM comments_id_seq", 1, -1);
        note("a sequence shared by all tenants: currval %s (this session's own), last_value visible (documented side "
             "channel: volume)",
             r.first);
        dbont_status st = iso_comments_get(fresh, (int32_t)strtol(r.first, NULL, 10), NULL, &err);
        op_not_found(st, &err, -1, "get the comment of the number just drawn, no tenant");
        sql_refused(fresh, -1, "SELECT setval('comments_id_seq', 1)", "42501", NULL);
        dbont_close(fresh);
    }

    /* pg_stat_activity: another tenant's session (same role) is visible,
     * but its statements carry values as bind parameters, so its text
     * holds none of them. */
    dbont_conn *other = dbont_connect(app_dsn, &err);
    if (CHECK(other != NULL, "connect: %s", err.message)) {
        begin(other, b);
        iso_users_filter f = iso_users_filter_init();
        char only[64];
        iso_users_where_email(&f, fmt(only, sizeof only, "only-secret-t%d@example.com", b));
        iso_users_rows rows = {0};
        op_ok(iso_users_find(other, &f, &rows, &err), &err, "the other tenant's own find");
        iso_users_rows_free(&rows);
        s_ok(a, "SELECT pid, usename, application_name, state, query, backend_type FROM pg_stat_activity", -1, -1);
        s_ok(a, "SELECT * FROM pg_locks", -1, -1);
        s_ok(a, "SELECT * FROM pg_prepared_statements", -1, -1);
        s_ok(a, "SELECT * FROM pg_cursors", -1, -1);
        s_ok(a, "SELECT * FROM pg_settings WHERE name LIKE 'app.%'", -1, -1);
        end(other, true);
        dbont_close(other);
    }
}

/* ---- the threat model's boundary: shown, not counted ---------------------- */

/* Rows of tenant b that a generated list shows on c (which runs SQL that
 * switched the tenant itself). */
static long rows_of(dbont_conn *c, int b)
{
    dbont_error err = {0};
    iso_users_rows rows = {0};
    long n = 0;
    if (iso_users_list(c, 1000, 0, &rows, &err) == DBONT_OK)
        for (size_t i = 0; i < rows.count; i++)
            n += same_uuid(&rows.rows[i].organization_id, &T[b].id);
    iso_users_rows_free(&rows);
    return n;
}

/* Creates, in the session's temporary schema, a type named uuid with casts
 * that turn any text into tenant b's id.  Type names in a SQL function's
 * body are resolved at each call with the caller's search_path, where
 * pg_temp comes first for types: a tenant function casting to a bare uuid
 * would return tenant b.  The generated one casts to pg_catalog.uuid. */
static bool shadow_uuid(dbont_conn *c, int b)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "CREATE TYPE pg_temp.uuid AS ENUM ('x');"
             " CREATE FUNCTION pg_temp.iso_to_enum(text) RETURNS pg_temp.uuid LANGUAGE sql AS $f$ SELECT "
             "'x'::pg_temp.uuid $f$;"
             " CREATE CAST (text AS pg_temp.uuid) WITH FUNCTION pg_temp.iso_to_enum(text);"
             " CREATE FUNCTION pg_temp.iso_to_uuid(pg_temp.uuid) RETURNS pg_catalog.uuid LANGUAGE sql AS $f$ SELECT "
             "'%s'::pg_catalog.uuid $f$;"
             " CREATE CAST (pg_temp.uuid AS pg_catalog.uuid) WITH FUNCTION pg_temp.iso_to_uuid(pg_temp.uuid) AS "
             "ASSIGNMENT",
             T[b].text);
    PGresult *res = PQexec(dbont_conn_pg(c), sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        note("shadowing the type uuid failed: %s", PQresultErrorMessage(res));
    PQclear(res);
    return ok;
}

static void section_boundary(void)
{
    char sql[256];
    dbont_error err = {0};

    /* set_config in the session: RLS is not authentication.  It lasts
     * until the session ends. */
    begin(app, 0);
    snprintf(sql, sizeof sql, "SELECT set_config('app.current_org_id', '%s', true)", T[1].text);
    sqlres r = run_sql(app, 1, sql, NULL, "set_config in the session");
    long seen = rows_of(app, 1);
    bump(&n_boundary);
    note("boundary: set_config('app.current_org_id', <tenant 1>, true) inside tenant 0's session shows %ld of tenant "
         "1's users (threat model: SQL that sets the tenant; not counted)",
         seen);
    (void)r;
    end(app, false);
    iso_users_rows rows = {0};
    op_empty(iso_users_list(app, 1000, 0, &rows, &err), &err, rows.count, "list after that session ended");
    iso_users_rows_free(&rows);

    /* Shadowing the type uuid in pg_temp must not redirect the tenant
     * function (it casts to pg_catalog.uuid), with or without a tenant. */
    begin(app, 0);
    if (CHECK(shadow_uuid(app, 1), "could not set up the pg_temp.uuid shadow")) {
        seen = rows_of(app, 1);
        if (seen != 0)
            LEAK("a pg_temp type named uuid shows %ld of tenant 1's users in tenant 0's session", seen);
        CHECK(rows_of(app, 0) > 0, "with a pg_temp type named uuid, tenant 0 no longer sees its own users");
    }
    end(app, false);
    CHECK(dbont_begin(app, &err) == DBONT_OK, "BEGIN: %s", err.message);
    if (shadow_uuid(app, 1)) {
        seen = rows_of(app, 1);
        if (seen != 0)
            LEAK("a pg_temp type named uuid shows %ld of tenant 1's users with no tenant set", seen);
    }
    CHECK(dbont_rollback(app, &err) == DBONT_OK, "ROLLBACK: %s", err.message);
    op_empty(iso_users_list(app, 1000, 0, &rows, &err), &err, rows.count, "list after the shadowing session");
    iso_users_rows_free(&rows);

    /* A temporary table named like a real one, left on a connection (not a
     * pooled one: the pool drops temporary tables) by a session of tenant
     * 1, stands in for the real table in the generated statements of later
     * sessions on that connection. */
    begin(app, 1);
    sqlres t = run_sql(app, 1, "CREATE TEMP TABLE users AS SELECT * FROM public.users", NULL, "temp copy");
    end(app, true);
    if (t.ok) {
        begin(app, 0);
        seen = rows_of(app, 1);
        end(app, true);
        bump(&n_boundary);
        note("boundary: on one connection, a temporary table 'users' made by tenant 1's session (holding its rows) "
             "answers tenant 0's later iso_users_list: %ld of tenant 1's users (generated SQL names tables "
             "without a schema; arbitrary SQL; not counted)",
             seen);
    }
    CHECK(dbont_exec(app, "DISCARD TEMP", &err) == DBONT_OK, "DISCARD TEMP: %s", err.message);
    begin(app, 0);
    CHECK(rows_of(app, 1) == 0, "after DISCARD TEMP, tenant 0 still sees tenant 1's users");
    end(app, true);
}

/* ---- 6. the pool -------------------------------------------------------- */

static dbont_pool *pool;

static void add_cross(long n, const char *what)
{
    if (n <= 0)
        return;
    LEAK("%s: %ld rows", what, n);
    pthread_mutex_lock(&check_lock);
    n_cross += n - 1;
    pthread_mutex_unlock(&check_lock);
}

static const char *const PROBE_SQL =
    "SELECT current_user::text, coalesce(current_setting('app.current_org_id', true), ''),"
    " current_org_id()::text,"
    " (SELECT count(*) FROM organizations) + (SELECT count(*) FROM users) + (SELECT count(*) FROM posts)"
    " + (SELECT count(*) FROM comments) + (SELECT count(*) FROM notes),"
    " (SELECT count(*) FROM pg_cursors),"
    " (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema())"
    " + (SELECT count(*) FROM pg_type WHERE typnamespace = pg_my_temp_schema())"
    " + (SELECT count(*) FROM pg_proc WHERE pronamespace = pg_my_temp_schema()),"
    " current_setting('row_security')";

/* What the next user of a pooled connection finds, without a session:
 * the application role, no tenant, nothing visible, nothing left over. */
static void probe(dbont_conn *c)
{
    PGconn *pg = dbont_conn_pg(c);
    bump(&n_ops);
    CHECK(PQtransactionStatus(pg) == PQTRANS_IDLE, "the pool handed out a connection inside a transaction");
    PGresult *res = PQexec(pg, PROBE_SQL);
    if (CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1, "probe: %s",
              PQresultErrorMessage(res))) {
        CHECK(strcmp(PQgetvalue(res, 0, 0), "iso_app") == 0, "the next user is %s", PQgetvalue(res, 0, 0));
        CHECK(PQgetvalue(res, 0, 1)[0] == '\0', "the tenant carried over: '%s'", PQgetvalue(res, 0, 1));
        CHECK(PQgetisnull(res, 0, 2), "current_org_id() carried over: %s", PQgetvalue(res, 0, 2));
        add_cross(strtol(PQgetvalue(res, 0, 3), NULL, 10), "a pooled connection shows rows without a session");
        CHECK(strcmp(PQgetvalue(res, 0, 4), "0") == 0, "cursors carried over: %s", PQgetvalue(res, 0, 4));
        CHECK(strcmp(PQgetvalue(res, 0, 5), "0") == 0, "temporary objects carried over: %s", PQgetvalue(res, 0, 5));
        CHECK(strcmp(PQgetvalue(res, 0, 6), "on") == 0, "row_security carried over: %s", PQgetvalue(res, 0, 6));
    }
    PQclear(res);
    /* A cursor held by the previous user (it would hold its tenant's rows). */
    res = PQexec(pg, "FETCH ALL FROM iso_leak");
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        add_cross(PQntuples(res) > 0 ? PQntuples(res) : 0, "a held cursor of the previous user");
    else
        CHECK(PQresultErrorField(res, PG_DIAG_SQLSTATE) &&
                  strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE), "34000") == 0,
              "FETCH: %s", PQresultErrorMessage(res));
    PQclear(res);
    /* The generated statement, prepared on this connection earlier. */
    dbont_error err = {0};
    iso_users_rows rows = {0};
    if (CHECK(iso_users_list(c, 1000, 0, &rows, &err) == DBONT_OK, "list on a pooled connection: %s %s", err.sqlstate,
              err.message))
        add_cross((long)rows.count, "iso_users_list on a pooled connection without a session");
    iso_users_rows_free(&rows);
}

enum {
    MIS_OPEN_SESSION,
    MIS_SESSION_SETTING,
    MIS_SET,
    MIS_SET_ROLE,
    MIS_HELD_CURSOR,
    MIS_TEMP_TABLE,
    MIS_TYPE_SHADOW,
    MIS_ABORTED,
    MIS_ROW_SECURITY_OFF,
    MIS_N
};

static void exec_quiet(dbont_conn *c, const char *sql)
{
    PGresult *res = PQexec(dbont_conn_pg(c), sql);
    PQclear(res);
}

/* A careless user: leaves something behind and releases the connection. */
static void misbehave(dbont_conn *c, int kind, int t)
{
    char sql[256];
    dbont_error err = {0};
    bump(&n_ops);
    switch (kind) {
    case MIS_OPEN_SESSION: { /* released without ending its session */
        if (iso_tenant_begin(c, T[t].id, &err) == DBONT_OK) {
            iso_users_rows rows = {0};
            if (iso_users_list(c, 1000, 0, &rows, &err) == DBONT_OK)
                SEE_ROWS(rows, organization_id, t, -1, "list in an abandoned session");
            iso_users_rows_free(&rows);
        }
        break;
    }
    case MIS_SESSION_SETTING: /* set_config(..., false): the session, not the transaction */
        snprintf(sql, sizeof sql, "SELECT set_config('app.current_org_id', '%s', false)", T[t].text);
        exec_quiet(c, sql);
        if (rows_of(c, t) > 0)
            bump(&n_boundary);
        break;
    case MIS_SET:
        snprintf(sql, sizeof sql, "SET app.current_org_id = '%s'", T[t].text);
        exec_quiet(c, sql);
        if (rows_of(c, t) > 0)
            bump(&n_boundary);
        break;
    case MIS_SET_ROLE: { /* to a role that bypasses RLS (the suite's iso_peeker) */
        exec_quiet(c, "SET ROLE iso_peeker");
        PGresult *res = PQexec(dbont_conn_pg(c), "SELECT count(*) FROM users");
        if (PQresultStatus(res) == PGRES_TUPLES_OK && strtol(PQgetvalue(res, 0, 0), NULL, 10) > 0)
            bump(&n_boundary);
        PQclear(res);
        break;
    }
    case MIS_HELD_CURSOR: /* a cursor WITH HOLD outlives the session's commit */
        if (iso_tenant_begin(c, T[t].id, &err) == DBONT_OK) {
            exec_quiet(c, "DECLARE iso_leak CURSOR WITH HOLD FOR SELECT * FROM users");
            (void)iso_tenant_end(c, true, &err);
        }
        break;
    case MIS_TEMP_TABLE: /* the tenant's rows copied into temporary tables named like the real ones */
        if (iso_tenant_begin(c, T[t].id, &err) == DBONT_OK) {
            exec_quiet(c, "CREATE TEMP TABLE users AS SELECT * FROM public.users;"
                          " CREATE TEMP TABLE posts AS SELECT * FROM public.posts");
            (void)iso_tenant_end(c, true, &err);
        }
        break;
    case MIS_TYPE_SHADOW:
        if (shadow_uuid(c, t) && rows_of(c, t) > 0)
            bump(&n_boundary);
        break;
    case MIS_ABORTED: /* a failed statement, the transaction left aborted */
        if (iso_tenant_begin(c, T[t].id, &err) == DBONT_OK)
            exec_quiet(c, "SELECT 1 / 0");
        break;
    default:
        exec_quiet(c, "SET row_security = off");
        break;
    }
}

/* Picks a row of table tb that is not tenant t's. */
static const trow *foreign_row(int tb, int t, unsigned *seed)
{
    if (tr[tb].n == 0)
        return NULL;
    for (int tries = 0; tries < 100; tries++) {
        const trow *r = &tr[tb].r[(size_t)rand_r(seed) % tr[tb].n];
        if (r->tenant != t)
            return r;
    }
    return NULL;
}

/* One user's session of t: a few random operations, each checked. */
static void normal_session(dbont_conn *c, int t, unsigned *seed)
{
    dbont_error err = {0};
    char body[64];
    snprintf(body, sizeof body, "pool secret-t%d", t);
    if (iso_tenant_begin(c, T[t].id, &err) != DBONT_OK) {
        CHECK(false, "pool: begin %s: %s %s", who(t), err.sqlstate, err.message);
        return;
    }
    bool aborted = false;
    int n = 1 + rand_r(seed) % 4;
    for (int i = 0; i < n && !aborted; i++) {
        int j = (t + 1 + rand_r(seed) % (NT - 1)) % NT; /* another tenant */
        switch (rand_r(seed) % 12) {
        case 0: {
            iso_users_rows u = {0};
            iso_posts_rows p = {0};
            iso_comments_rows cm = {0};
            iso_notes_rows no = {0};
            iso_organizations_rows o = {0};
            if (op_ok(iso_users_list(c, 1000, 0, &u, &err), &err, "pool: list users"))
                SEE_ROWS(u, organization_id, t, -1, "pool: list users");
            if (op_ok(iso_posts_list(c, 1000, 0, &p, &err), &err, "pool: list posts"))
                SEE_ROWS(p, organization_id, t, -1, "pool: list posts");
            if (op_ok(iso_comments_list(c, 1000, 0, &cm, &err), &err, "pool: list comments"))
                SEE_ROWS(cm, organization_id, t, -1, "pool: list comments");
            if (op_ok(iso_notes_list(c, 1000, 0, &no, &err), &err, "pool: list notes"))
                SEE_ROWS(no, organization_id, t, -1, "pool: list notes");
            if (op_ok(iso_organizations_list(c, 1000, 0, &o, &err), &err, "pool: list organizations"))
                SEE_ROWS(o, id, t, 1, "pool: list organizations");
            iso_users_rows_free(&u);
            iso_posts_rows_free(&p);
            iso_comments_rows_free(&cm);
            iso_notes_rows_free(&no);
            iso_organizations_rows_free(&o);
            break;
        }
        case 1: {
            const trow *r = foreign_row(TB_POSTS, t, seed);
            if (r)
                op_not_found(iso_posts_get(c, r->id, NULL, &err), &err, t, "pool: get another tenant's post");
            r = foreign_row(TB_COMMENTS, t, seed);
            if (r)
                op_not_found(iso_comments_get(c, r->num, NULL, &err), &err, t, "pool: get another tenant's comment");
            op_not_found(iso_users_get(c, T[j].bob, NULL, &err), &err, t, "pool: get another tenant's user");
            break;
        }
        case 2: {
            iso_users_rows u = {0};
            if (op_ok(iso_users_get(c, T[t].bob, &u, &err), &err, "pool: get own user"))
                SEE_ROWS(u, organization_id, t, 1, "pool: get own user");
            iso_users_rows_free(&u);
            break;
        }
        case 3: {
            iso_users_filter f = iso_users_filter_init();
            iso_users_where_email(&f, "shared@example.com");
            iso_users_where_has_posts(&f);
            iso_users_rows u = {0};
            if (op_ok(iso_users_find(c, &f, &u, &err), &err, "pool: find shared"))
                SEE_ROWS(u, organization_id, t, 1, "pool: find shared");
            iso_users_rows_free(&u);
            break;
        }
        case 4: {
            iso_users_of_org_query_rows u = {0};
            op_empty(iso_users_of_org_query(c, T[j].id, &u, &err), &err, u.count, "pool: UsersOfOrg another tenant");
            SEE_ROWS(u, organization_id, t, -1, "pool: UsersOfOrg");
            iso_users_of_org_query_rows_free(&u);
            if (op_ok(iso_users_of_org_query(c, T[t].id, &u, &err), &err, "pool: UsersOfOrg own"))
                SEE_ROWS(u, organization_id, t, -1, "pool: UsersOfOrg own");
            iso_users_of_org_query_rows_free(&u);
            break;
        }
        case 5: {
            iso_comment_thread_query_rows q = {0};
            if (op_ok(iso_comment_thread_query(c, "shared@example.com", &q, &err), &err, "pool: CommentThread"))
                for (size_t r = 0; r < q.count; r++) {
                    see_row(t, &q.rows[r].organization_id, "pool: CommentThread");
                    see_row(t, &q.rows[r].post_org, "pool: CommentThread");
                    see_row(t, &q.rows[r].author_org, "pool: CommentThread");
                }
            iso_comment_thread_query_rows_free(&q);
            break;
        }
        case 6: {
            iso_comments_new cm = {0};
            cm.post_id_is_null = true;
            cm.author_id = T[t].bob;
            cm.body = body;
            iso_comments_rows out = {0};
            if (op_ok(iso_comments_insert(c, &cm, &out, &err), &err, "pool: insert a comment")) {
                SEE_ROWS(out, organization_id, t, 1, "pool: inserted comment");
                if (rand_r(seed) % 2)
                    op_ok(iso_comments_delete(c, out.rows[0].id, &err), &err, "pool: delete own comment");
            }
            iso_comments_rows_free(&out);
            break;
        }
        case 7: {
            const trow *r = foreign_row(TB_POSTS, t, seed);
            if (r) {
                iso_posts p = {0};
                p.id = r->id;
                p.organization_id = T[t].id;
                p.user_id = T[t].bob;
                p.title = "pwned by the pool";
                p.body_is_null = true;
                op_not_found(iso_posts_update(c, &p, &err), &err, t, "pool: update another tenant's post");
            }
            break;
        }
        case 8: {
            const trow *r = foreign_row(TB_COMMENTS, t, seed);
            if (r)
                op_not_found(iso_comments_delete(c, r->num, &err), &err, t, "pool: delete another tenant's comment");
            op_not_found(iso_notes_delete(c, T[j].note_visible, &err), &err, t, "pool: delete another tenant's note");
            break;
        }
        case 9: {
            iso_posts_new p = {0};
            p.user_id = T[j].bob;
            p.title = "pool: for someone else";
            p.body_is_null = true;
            char uid[DBONT_UUID_TEXT_SIZE];
            dbont_uuid_format(&T[j].bob, uid);
            op_refused(iso_posts_insert(c, &p, NULL, &err), &err, "23503", t, uid,
                       "pool: insert a post for another tenant's user");
            aborted = true;
            break;
        }
        case 10: {
            iso_comments_new cm[2];
            memset(cm, 0, sizeof cm);
            for (int k = 0; k < 2; k++) {
                cm[k].post_id_is_null = true;
                cm[k].author_id = T[t].bob;
                cm[k].body = body;
            }
            op_ok(iso_comments_copy(c, cm, 2, NULL, &err), &err, "pool: bulk insert comments");
            break;
        }
        default: {
            iso_posts_by_title_query_rows p = {0};
            if (op_ok(iso_posts_by_title_query(c, "Hello", &p, &err), &err, "pool: PostsByTitle"))
                SEE_ROWS(p, organization_id, t, -1, "pool: PostsByTitle");
            iso_posts_by_title_query_rows_free(&p);
            iso_title_counts_query_rows tc = {0};
            if (op_ok(iso_title_counts_query(c, 1, &tc, &err), &err, "pool: TitleCounts"))
                for (size_t r = 0; r < tc.count; r++)
                    scan(tc.rows[r].title, t, NULL, "pool: TitleCounts");
            iso_title_counts_query_rows_free(&tc);
            break;
        }
        }
    }
    if (aborted || rand_r(seed) % 5 == 0) {
        CHECK(iso_tenant_end(c, false, &err) == DBONT_OK, "pool: rollback: %s", err.message);
    } else {
        CHECK(iso_tenant_end(c, true, &err) == DBONT_OK, "pool: commit: %s %s", err.sqlstate, err.message);
    }
}

typedef struct worker {
    pthread_t thread;
    unsigned seed;
    int ops;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < w->ops; i++) {
        dbont_error err = {0};
        dbont_conn *c = dbont_pool_acquire(pool, &err);
        if (!CHECK(c != NULL, "acquire: %s %s", err.sqlstate, err.message))
            continue;
        probe(c);
        int t = rand_r(&w->seed) % NT;
        if (rand_r(&w->seed) % 100 < 10)
            misbehave(c, rand_r(&w->seed) % MIS_N, t);
        else
            normal_session(c, t, &w->seed);
        dbont_pool_release(pool, c);
    }
    return NULL;
}

static void section_pool(int threads, int ops)
{
    dbont_error err = {0};
    prints before;
    fingerprints(&before, false);

    /* A role that bypasses RLS, which iso_app may SET ROLE to: the careless
     * user's way out, which must not reach the next user. */
    own_do("DO $d$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'iso_peeker') THEN "
           "CREATE ROLE iso_peeker NOLOGIN BYPASSRLS; END IF; END $d$");
    own_do("GRANT SELECT ON organizations, users, posts, comments, notes TO iso_peeker");
    own_do("GRANT iso_peeker TO iso_app");

    /* First each careless user in turn on a pool of one, so that the next
     * user surely gets the same connection. */
    dbont_pool_options one = DBONT_POOL_OPTIONS_INIT;
    one.max_size = 1;
    pool = dbont_pool_open(app_dsn, &one, &err);
    if (CHECK(pool != NULL, "pool: %s %s", err.sqlstate, err.message)) {
        for (int kind = 0; kind < MIS_N; kind++) {
            dbont_conn *c = dbont_pool_acquire(pool, &err);
            if (!CHECK(c != NULL, "acquire: %s", err.message))
                continue;
            misbehave(c, kind, kind % NT);
            dbont_pool_release(pool, c);
            c = dbont_pool_acquire(pool, &err);
            if (CHECK(c != NULL, "acquire: %s", err.message)) {
                probe(c);
                normal_session(c, (kind + 1) % NT, &(unsigned){(unsigned)kind});
                dbont_pool_release(pool, c);
            }
        }
        dbont_pool_close(pool);
    }

    /* Then 8 threads on a pool of 3. */
    dbont_pool_options opt = DBONT_POOL_OPTIONS_INIT;
    opt.max_size = 3;
    opt.acquire_timeout = 30;
    pool = dbont_pool_open(app_dsn, &opt, &err);
    if (CHECK(pool != NULL, "pool: %s %s", err.sqlstate, err.message)) {
        worker w[16];
        const char *env_seed = getenv("ISO_SEED");
        unsigned base = env_seed ? (unsigned)strtoul(env_seed, NULL, 10) : (unsigned)time(NULL);
        printf("pool: %d threads, %d operations each, seed %u (ISO_SEED=%u repeats each thread's choices)\n", threads, ops,
               base, base);
        for (int i = 0; i < threads; i++) {
            w[i].seed = base + 7919u * (unsigned)i;
            w[i].ops = ops;
            CHECK(pthread_create(&w[i].thread, NULL, work, &w[i]) == 0, "pthread_create");
        }
        for (int i = 0; i < threads; i++)
            pthread_join(w[i].thread, NULL);
        dbont_pool_stats st;
        dbont_pool_stats_get(pool, &st);
        printf("pool: %zu acquisitions, %zu waited, %zu connections open, %zu sessions rolled back on release\n",
               st.acquired, st.waited, st.open, st.cleaned);
        CHECK(st.open <= 3 && st.in_use == 0 && st.timeouts == 0, "pool stats: open %zu, in use %zu, timeouts %zu",
              st.open, st.in_use, st.timeouts);
        dbont_pool_close(pool);
        pool = NULL;
    }

    own_do("REVOKE iso_peeker FROM iso_app");
    own_do("DROP OWNED BY iso_peeker");
    own_do("DROP ROLE iso_peeker");

    /* Inserts landed in the session's tenant; nothing else changed. */
    for (int k = 0; k < NT; k++) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM comments WHERE body LIKE 'pool secret-t%%' AND body <> 'pool secret-t%d' AND "
                 "organization_id = $1",
                 k);
        CHECK(own_long(sql, k) == 0, "a pool insert landed in %s from another tenant's session", who(k));
    }
    same_prints(&before, -1, false, "the pool");
}

/* ---- 7. a tenant deletes itself ----------------------------------------- */

static void section_end(void)
{
    dbont_error err = {0};
    int d = NT - 1;
    prints before;
    fingerprints(&before, true);
    begin(app, d);
    op_ok(iso_organizations_delete(app, T[d].id, &err), &err, "a tenant deletes its organization");
    end(app, true);
    for (int tb = 0; tb < TB_N; tb++)
        CHECK(own_count_of(tb, d) == 0, "%s of the deleted tenant left: %ld", table_names[tb], own_count_of(tb, d));
    same_prints(&before, d, true, "a tenant's deletion");
    begin(app, d);
    read_lists(app, d);
    end(app, true);
}

/* ---- main --------------------------------------------------------------- */

int main(void)
{
    dbont_error err = {0};
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *owner_dsn = getenv("DATABASE_URL");
    app_dsn = getenv("APP_DATABASE_URL");
    if (!owner_dsn || !*owner_dsn || !app_dsn || !*app_dsn) {
        fprintf(stderr, "integration_isolation: set DATABASE_URL (the owner) and APP_DATABASE_URL (iso_app)\n");
        return 2;
    }
    const char *env_ops = getenv("ISO_POOL_OPS");
    int pool_ops = env_ops ? atoi(env_ops) : 300;

    own = dbont_connect(owner_dsn, &err);
    app = own ? dbont_connect(app_dsn, &err) : NULL;
    if (!own || !app) {
        printf("connect: %s %s\n0 passed, 1 failed\n", err.sqlstate, err.message);
        dbont_close(own);
        return 1;
    }
    PQsetNoticeReceiver(dbont_conn_pg(app), on_notice, &app_notices);
    own_do("SET client_min_messages = warning");

    /* The attacker is the application role, which RLS holds. */
    PGresult *res = PQexec(dbont_conn_pg(app), "SELECT current_user, rolsuper, rolbypassrls, current_database() FROM "
                                               "pg_roles WHERE rolname = current_user");
    char db[128] = "";
    if (CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1, "whoami: %s", PQresultErrorMessage(res))) {
        CHECK(strcmp(PQgetvalue(res, 0, 0), "iso_app") == 0 && strcmp(PQgetvalue(res, 0, 1), "f") == 0 &&
                  strcmp(PQgetvalue(res, 0, 2), "f") == 0,
              "the attacker is %s (superuser %s, bypassrls %s), not the application role", PQgetvalue(res, 0, 0),
              PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
        snprintf(db, sizeof db, "%s", PQgetvalue(res, 0, 3));
    }
    PQclear(res);

    double t0 = now_s(), t;
#define SECTION(name, call)                                                            \
    do {                                                                               \
        t = now_s();                                                                   \
        call;                                                                          \
        printf("%-10s %6.2f s, %ld operations so far, %ld failed\n", name, now_s() - t, n_ops, check_failed); \
    } while (0)

    SECTION("seed", section_seed());
    SECTION("reads", section_reads());
    SECTION("writes", section_writes());
    SECTION("no tenant", section_no_tenant());
    SECTION("sql", (sql_dml(0, 1), sql_reads(0), sql_copy_and_ddl(0, 1, db), sql_catalogs(0, 1)));
    SECTION("boundary", section_boundary());
    SECTION("pool", section_pool(8, pool_ops));
    SECTION("end", section_end());
    printf("total      %6.2f s; boundary demonstrations (threat model, not counted): %ld\n", now_s() - t0, n_boundary);

    for (int tb = 0; tb < TB_N; tb++)
        free(tr[tb].r);
    dbont_close(app);
    dbont_close(own);

    printf("isolation: %ld operations tried, %ld refused as expected, cross-tenant rows seen: %ld\n", n_ops, n_refused,
           n_cross);
    long failed = threadcheck_summary();
    return failed || n_cross ? 1 : 0;
}
