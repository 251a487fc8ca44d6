/*
 * test_diff.c: diff.c: the statements that take one schema to another.
 * Both schemas are written in the snapshot format (read with
 * snapshot_parse), so each case reads like the folder it stands for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diff.h"
#include "schema.h"
#include "snapshot.h"
#include "testutil.h"
#include "util.h"

typedef struct result {
    schema from, to, after;
    changes up;
    bool ok;
    char *text; /* the statements, one per line, "-- note" lines before */
    char *diags;
} result;

static void parse(const char *text, schema *out)
{
    tu_diag t;
    tu_diag_open(&t);
    bool ok = snapshot_parse(text, "test.snapshot", out, NULL, &t.d);
    if (!ok)
        fail_msg("bad test schema: %s", tu_diag_text(&t));
    tu_diag_close(&t);
}

/* One line per change: the SQL (CREATE TABLE as "CREATE TABLE name"),
 * with "-- note" before it when there is one. */
static char *render(const changes *c)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].note)
            buf_printf(&b, "-- %s\n", c->v[i].note);
        if (c->v[i].create) {
            buf_printf(&b, "CREATE TABLE %s (", c->v[i].create->name);
            for (size_t k = 0; k < c->v[i].create->ncons; k++)
                if (c->v[i].inline_fk[k])
                    buf_printf(&b, "%s%s", k ? " " : "", c->v[i].create->cons[k].name);
            buf_adds(&b, ")\n");
        } else {
            buf_printf(&b, "%s\n", c->v[i].sql);
        }
    }
    return buf_take(&b);
}

/* Diffs from -> to; `former` lists "table" or "table.column" = "old"
 * rename hints to put on `to` (NULL-terminated pairs). */
static void run(result *r, const char *from, const char *to, const char *const *former)
{
    memset(r, 0, sizeof *r);
    parse(from, &r->from);
    parse(to, &r->to);
    for (size_t i = 0; former && former[i]; i += 2) {
        const char *dot = strchr(former[i], '.');
        if (!dot) {
            schema_table(&r->to, former[i])->former_name = xstrdup(former[i + 1]);
        } else {
            char *t = xstrndup(former[i], (size_t)(dot - former[i]));
            stable_column(schema_table(&r->to, t), dot + 1)->former_name = xstrdup(former[i + 1]);
            free(t);
        }
    }
    name_changes rn;
    diff_renames(&r->from, &r->to, &rn);
    tu_diag t;
    tu_diag_open(&t);
    r->ok = diff_schemas(&r->from, &r->to, &rn, &r->up, &r->after, &t.d);
    r->diags = xstrdup(tu_diag_text(&t));
    tu_diag_close(&t);
    r->text = render(&r->up);
    renames_free(&rn);
}

static void done(result *r)
{
    changes_free(&r->up);
    schema_free(&r->from);
    schema_free(&r->to);
    schema_free(&r->after);
    free(r->text);
    free(r->diags);
}

static void expect(const char *from, const char *to, const char *const *former, const char *want)
{
    result r;
    run(&r, from, to, former);
    char *got = xstrdup(r.text), *diags = xstrdup(r.diags);
    bool ok = r.ok;
    done(&r);
    if (!ok || strcmp(got, want) != 0)
        fail_msg("diff gave (ok=%d):\n%s\nwanted:\n%s\ndiagnostics:\n%s", ok, got, want, diags);
    free(got);
    free(diags);
}

#define USERS_V1 "table users\n  column id serial not-null\n  column email text not-null\n" \
                 "  primary-key users_pkey (id)\n"

static void test_same(void **state)
{
    (void)state;
    expect(USERS_V1, USERS_V1, NULL, "");
    /* column order is physical, not a change */
    expect("table t\n  column a text\n  column b text\n", "table t\n  column b text\n  column a text\n", NULL, "");
}

static void test_columns(void **state)
{
    (void)state;
    expect(USERS_V1, USERS_V1 "  column bio text not-null default 'x'\n", NULL,
           "ALTER TABLE users ADD COLUMN bio text NOT NULL DEFAULT ('x')\n");
    /* a NOT NULL column without a default fails on rows: a warning */
    expect(USERS_V1, USERS_V1 "  column age integer not-null\n", NULL,
           "-- fails if users has rows: a new NOT NULL column needs a db:default\n"
           "ALTER TABLE users ADD COLUMN age integer NOT NULL\n");
    expect(USERS_V1 "  column bio text\n", USERS_V1, NULL,
           "-- DESTRUCTIVE: destroys the values of users.bio\nALTER TABLE users DROP COLUMN bio\n");
    /* keywords are quoted */
    expect("table order\n  column id integer\n", "table order\n  column id integer\n  column user text\n", NULL,
           "ALTER TABLE \"order\" ADD COLUMN \"user\" text\n");
}

static void test_alter_column(void **state)
{
    (void)state;
    /* widening: no cast */
    expect("table t\n  column n integer\n", "table t\n  column n bigint\n", NULL,
           "ALTER TABLE t ALTER COLUMN n TYPE bigint\n");
    expect("table t\n  column s varchar(10)\n", "table t\n  column s text\n", NULL,
           "ALTER TABLE t ALTER COLUMN s TYPE text\n");
    /* narrowing within a family: destructive, no USING */
    expect("table t\n  column n bigint\n", "table t\n  column n integer\n", NULL,
           "-- DESTRUCTIVE: narrowing t.n from bigint to integer may change or refuse its values\n"
           "ALTER TABLE t ALTER COLUMN n TYPE integer\n");
    expect("table t\n  column m numeric(10,4)\n", "table t\n  column m numeric(10,2)\n", NULL,
           "-- DESTRUCTIVE: narrowing t.m from numeric(10,4) to numeric(10,2) may change or refuse its values\n"
           "ALTER TABLE t ALTER COLUMN m TYPE numeric(10,2)\n");
    /* to text: a cast, nothing lost */
    expect("table t\n  column n integer\n", "table t\n  column n text\n", NULL,
           "ALTER TABLE t ALTER COLUMN n TYPE text USING n::text\n");
    /* across families: USING, destructive */
    expect("table t\n  column u text\n", "table t\n  column u uuid\n", NULL,
           "-- DESTRUCTIVE: narrowing t.u from text to uuid may change or refuse its values\n"
           "ALTER TABLE t ALTER COLUMN u TYPE uuid USING u::uuid\n");
    /* a default is dropped around the type change and set again */
    expect("table t\n  column n integer default 0\n", "table t\n  column n bigint default 0\n", NULL,
           "ALTER TABLE t ALTER COLUMN n DROP DEFAULT\n"
           "ALTER TABLE t ALTER COLUMN n TYPE bigint\n"
           "ALTER TABLE t ALTER COLUMN n SET DEFAULT (0)\n");
    /* serial to bigserial retypes the sequence too */
    expect("table t\n  column id serial not-null\n", "table t\n  column id bigserial not-null\n", NULL,
           "ALTER TABLE t ALTER COLUMN id TYPE bigint\n"
           "DO $dbont$ BEGIN EXECUTE format('ALTER SEQUENCE %s AS bigint', pg_get_serial_sequence('t', 'id')); "
           "END $dbont$\n");
    /* defaults and nullability */
    expect("table t\n  column a text default 'x'\n", "table t\n  column a text default 'y'\n", NULL,
           "ALTER TABLE t ALTER COLUMN a SET DEFAULT ('y')\n");
    expect("table t\n  column a text default 'x'\n", "table t\n  column a text\n", NULL,
           "ALTER TABLE t ALTER COLUMN a DROP DEFAULT\n");
    expect("table t\n  column a text not-null\n", "table t\n  column a text\n", NULL,
           "ALTER TABLE t ALTER COLUMN a DROP NOT NULL\n");
    expect("table t\n  column a text\n", "table t\n  column a text not-null default 'x'\n", NULL,
           "ALTER TABLE t ALTER COLUMN a SET DEFAULT ('x')\n"
           "-- DESTRUCTIVE: the NULLs in t.a become its default, 'x'\n"
           "UPDATE t SET a = ('x') WHERE a IS NULL\n"
           "ALTER TABLE t ALTER COLUMN a SET NOT NULL\n");
    expect("table t\n  column a text\n", "table t\n  column a text not-null\n", NULL,
           "-- DESTRUCTIVE: fails if t.a holds NULLs; a db:default would fill them\n"
           "ALTER TABLE t ALTER COLUMN a SET NOT NULL\n");
}

static void test_unsupported(void **state)
{
    (void)state;
    result r;
    run(&r, "table t\n  column id serial not-null\n", "table t\n  column id integer not-null\n", NULL);
    bool ok = r.ok;
    bool said = strstr(r.diags, "changing column t.id from serial to integer is not supported") != NULL;
    done(&r);
    assert_false(ok);
    assert_true(said);
}

static void test_tables(void **state)
{
    (void)state;
    /* posts references users, listed first: users is created first and
     * the reference is written inside CREATE TABLE posts */
    expect("", "table posts\n  column id serial not-null\n  column user_id integer\n"
               "  primary-key posts_pkey (id)\n"
               "  foreign-key posts_user_id_fkey (user_id) references users (id)\n" USERS_V1,
           NULL, "CREATE TABLE users (users_pkey)\nCREATE TABLE posts (posts_pkey posts_user_id_fkey)\n");
    /* a cycle: the second reference is added once both exist */
    const char *cycle = "table a\n  column id integer not-null\n  column b_id integer\n"
                        "  primary-key a_pkey (id)\n  foreign-key a_b_id_fkey (b_id) references b (id)\n"
                        "table b\n  column id integer not-null\n  column a_id integer\n"
                        "  primary-key b_pkey (id)\n  foreign-key b_a_id_fkey (a_id) references a (id)\n";
    expect("", cycle, NULL,
           "CREATE TABLE a (a_pkey)\nCREATE TABLE b (b_pkey b_a_id_fkey)\n"
           "ALTER TABLE a ADD CONSTRAINT a_b_id_fkey FOREIGN KEY (b_id) REFERENCES b (id)\n");
    /* dropping the cycle: the reference into the first table goes first */
    expect(cycle, "", NULL,
           "ALTER TABLE b DROP CONSTRAINT b_a_id_fkey\n"
           "-- DESTRUCTIVE: destroys table a and every row in it\nDROP TABLE a\n"
           "-- DESTRUCTIVE: destroys table b and every row in it\nDROP TABLE b\n");
    /* a table that references another is dropped first */
    expect("table a\n  column id integer not-null\n  primary-key a_pkey (id)\n"
           "table z\n  column a_id integer\n  foreign-key z_a_id_fkey (a_id) references a (id)\n",
           "", NULL,
           "-- DESTRUCTIVE: destroys table z and every row in it\nDROP TABLE z\n"
           "-- DESTRUCTIVE: destroys table a and every row in it\nDROP TABLE a\n");
}

static void test_renames(void **state)
{
    (void)state;
    static const char *const table_hint[] = {"members", "users", NULL};
    expect(USERS_V1, "table members\n  column id serial not-null\n  column email text not-null\n"
                     "  primary-key members_pkey (id)\n",
           table_hint,
           "ALTER TABLE users RENAME TO members\n"
           "ALTER TABLE members RENAME CONSTRAINT users_pkey TO members_pkey\n");
    static const char *const column_hint[] = {"users.mail", "email", NULL};
    expect(USERS_V1, "table users\n  column id serial not-null\n  column mail text not-null\n"
                     "  primary-key users_pkey (id)\n",
           column_hint, "ALTER TABLE users RENAME COLUMN email TO mail\n");
    /* without the hint it is a drop and an add */
    expect(USERS_V1, "table users\n  column id serial not-null\n  column mail text not-null\n"
                     "  primary-key users_pkey (id)\n",
           NULL,
           "-- DESTRUCTIVE: destroys the values of users.email\nALTER TABLE users DROP COLUMN email\n"
           "-- fails if users has rows: a new NOT NULL column needs a db:default\n"
           "ALTER TABLE users ADD COLUMN mail text NOT NULL\n");
    /* a hint whose rename is done already is ignored */
    static const char *const stale[] = {"users.email", "mail", NULL};
    expect(USERS_V1, USERS_V1, stale, "");
}

static void test_constraints(void **state)
{
    (void)state;
    const char *users = USERS_V1 "  unique users_email_key (email)\n";
    const char *posts = "table posts\n  column id integer not-null\n  column email text\n"
                        "  foreign-key posts_email_fkey (email) references users (email)\n";
    /* adding and dropping */
    expect(USERS_V1, users, NULL, "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)\n");
    expect(users, USERS_V1, NULL, "ALTER TABLE users DROP CONSTRAINT users_email_key\n");
    char *from = xasprintf("%s%s", users, posts);
    /* the referenced key is changed by retyping: both sides retyped, the
     * foreign key goes around the change */
    char *to2 = xasprintf("table users\n  column id serial not-null\n  column email varchar(50) not-null\n"
                          "  primary-key users_pkey (id)\n  unique users_email_key (email)\n"
                          "table posts\n  column id integer not-null\n  column email varchar(50)\n"
                          "  foreign-key posts_email_fkey (email) references users (email)\n");
    expect(from, to2, NULL,
           "ALTER TABLE posts DROP CONSTRAINT posts_email_fkey\n"
           "-- DESTRUCTIVE: narrowing users.email from text to varchar(50) may change or refuse its values\n"
           "ALTER TABLE users ALTER COLUMN email TYPE varchar(50)\n"
           "-- DESTRUCTIVE: narrowing posts.email from text to varchar(50) may change or refuse its values\n"
           "ALTER TABLE posts ALTER COLUMN email TYPE varchar(50)\n"
           "ALTER TABLE posts ADD CONSTRAINT posts_email_fkey FOREIGN KEY (email) REFERENCES users (email)\n");
    free(to2);
    /* the primary key moves: the old one goes, and a foreign key on it is
     * dropped before and added after */
    const char *a1 = "table a\n  column id integer not-null\n  column code text not-null\n  primary-key a_pkey (id)\n"
                     "table b\n  column a_id integer\n  foreign-key b_a_id_fkey (a_id) references a (id)\n";
    const char *a2 = "table a\n  column id integer not-null\n  column code text not-null\n"
                     "  primary-key a_pkey (id, code)\n  unique a_id_key (id)\n"
                     "table b\n  column a_id integer\n  foreign-key b_a_id_fkey (a_id) references a (id)\n";
    expect(a1, a2, NULL,
           "ALTER TABLE b DROP CONSTRAINT b_a_id_fkey\n"
           "ALTER TABLE a DROP CONSTRAINT a_pkey\n"
           "ALTER TABLE a ADD CONSTRAINT a_pkey PRIMARY KEY (id, code)\n"
           "ALTER TABLE a ADD CONSTRAINT a_id_key UNIQUE (id)\n"
           "ALTER TABLE b ADD CONSTRAINT b_a_id_fkey FOREIGN KEY (a_id) REFERENCES a (id)\n");
    free(from);
}

static void test_result_order(void **state)
{
    (void)state;
    /* the result lists columns as the database has them: new ones last */
    result r;
    run(&r, "table t\n  column a text\n  column c text\n", "table t\n  column a text\n  column b text\n  column c text\n",
        NULL);
    char *body = snapshot_body(&r.after);
    char *got = xstrdup(body);
    free(body);
    done(&r);
    assert_string_equal(got, "table t\n  column a text\n  column c text\n  column b text\n");
    free(got);
}

static void test_reverse(void **state)
{
    (void)state;
    /* the down migration: diff back from the result with the renames
     * reversed gives the opposite statements */
    static const char *const hint[] = {"members", "users", "members.mail", "email", NULL};
    result r;
    run(&r, USERS_V1, "table members\n  column id serial not-null\n  column mail text not-null\n"
                      "  column bio text\n  primary-key members_pkey (id)\n",
        hint);
    assert_true(r.ok);
    name_changes rn, back;
    diff_renames(&r.from, &r.to, &rn);
    renames_reverse(&rn, &r.from, &back);
    changes down;
    tu_diag t;
    tu_diag_open(&t);
    assert_true(diff_schemas(&r.after, &r.from, &back, &down, NULL, &t.d));
    char *up = xstrdup(r.text), *text = render(&down);
    changes_free(&down);
    renames_free(&rn);
    renames_free(&back);
    tu_diag_close(&t);
    done(&r);
    assert_string_equal(up, "ALTER TABLE users RENAME TO members\n"
                            "ALTER TABLE members RENAME COLUMN email TO mail\n"
                            "ALTER TABLE members RENAME CONSTRAINT users_pkey TO members_pkey\n"
                            "ALTER TABLE members ADD COLUMN bio text\n");
    assert_string_equal(text, "ALTER TABLE members RENAME TO users\n"
                              "ALTER TABLE users RENAME COLUMN mail TO email\n"
                              "ALTER TABLE users RENAME CONSTRAINT members_pkey TO users_pkey\n"
                              "-- DESTRUCTIVE: destroys the values of users.bio\n"
                              "ALTER TABLE users DROP COLUMN bio\n");
    free(up);
    free(text);
}

/* ---- multi-tenancy -------------------------------------------------------- */

#define TENANCY "tenant-setting app.current_org_id uuid\napp-role app_user\n\n"
#define POSTS_PLAIN "table posts\n  column id uuid not-null\n  column org uuid not-null\n" \
                    "  primary-key posts_pkey (id)\n"
#define POSTS_TENANT "table posts\n  column id uuid not-null\n  column org uuid not-null default current_org_id()\n" \
                     "  primary-key posts_pkey (id)\n  row-level-security\n" \
                     "  policy posts_tenant_isolation ALL\n    using org = current_org_id()\n" \
                     "    with-check org = current_org_id()\n  grant app_user\n"
#define ROLE_SQL_START "DO $dbont$ BEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'app_user')"

/* The changes of a diff whose text starts with the role's DO block: that
 * block, checked by its start, then the rest. */
static void expect_tenancy(const char *from, const char *to, const char *want_after_role)
{
    result r;
    run(&r, from, to, NULL);
    char *got = xstrdup(r.text), *diags = xstrdup(r.diags);
    bool ok = r.ok;
    done(&r);
    if (!ok || strncmp(got, ROLE_SQL_START, strlen(ROLE_SQL_START)) != 0)
        fail_msg("diff gave (ok=%d):\n%s\ndiagnostics:\n%s", ok, got, diags);
    const char *rest = strstr(got, "END $dbont$\n");
    assert_non_null(rest);
    rest += strlen("END $dbont$\n");
    if (strcmp(rest, want_after_role) != 0)
        fail_msg("after the role:\n%s\nwanted:\n%s", rest, want_after_role);
    free(got);
    free(diags);
}

static void test_tenancy_on(void **state)
{
    (void)state;
    /* The tenant column exists and is NOT NULL: the rows keep their
     * tenant; functions, default, RLS, policy and grants follow. */
    expect_tenancy(POSTS_PLAIN, TENANCY POSTS_TENANT,
                   "CREATE OR REPLACE FUNCTION current_org_id() RETURNS pg_catalog.uuid LANGUAGE sql STABLE AS $dbont$ SELECT "
                   "NULLIF(pg_catalog.current_setting('app.current_org_id', true), '')::pg_catalog.uuid $dbont$\n"
                   "CREATE OR REPLACE FUNCTION current_user_org_id() RETURNS pg_catalog.uuid LANGUAGE sql STABLE AS $dbont$ "
                   "SELECT current_org_id() $dbont$\n"
                   "ALTER TABLE posts ALTER COLUMN org SET DEFAULT (current_org_id())\n"
                   "ALTER TABLE posts ENABLE ROW LEVEL SECURITY\n"
                   "ALTER TABLE posts FORCE ROW LEVEL SECURITY\n"
                   "CREATE POLICY posts_tenant_isolation ON posts FOR ALL USING (org = current_org_id()) WITH CHECK "
                   "(org = current_org_id())\n"
                   "GRANT EXECUTE ON FUNCTION current_org_id(), current_user_org_id() TO app_user\n"
                   "GRANT SELECT, INSERT, UPDATE, DELETE ON posts TO app_user\n");
    /* A new tenant column cannot be filled for existing rows: the
     * migration stops when there are any. */
    result r;
    run(&r, "table posts\n  column id uuid not-null\n  primary-key posts_pkey (id)\n", TENANCY POSTS_TENANT, NULL);
    assert_true(r.ok);
    const char *guard = strstr(r.text, "DO $dbont$ BEGIN IF EXISTS (SELECT 1 FROM posts) THEN RAISE EXCEPTION "
                                       "'table posts has rows: they need their tenant in org");
    const char *add = strstr(r.text, "ALTER TABLE posts ADD COLUMN org uuid NOT NULL DEFAULT (current_org_id())");
    assert_non_null(guard);
    assert_non_null(add);
    assert_true(guard < add);
    done(&r);
    /* A nullable tenant column made NOT NULL: no value to fill, so a
     * guard instead of the UPDATE, and the change is destructive. */
    run(&r, "table posts\n  column id uuid not-null\n  column org uuid\n  primary-key posts_pkey (id)\n",
        TENANCY POSTS_TENANT, NULL);
    assert_true(r.ok);
    assert_non_null(strstr(r.text, "IF EXISTS (SELECT 1 FROM posts WHERE org IS NULL) THEN RAISE EXCEPTION"));
    assert_null(strstr(r.text, "UPDATE posts"));
    bool destructive = false;
    for (size_t i = 0; i < r.up.n; i++)
        destructive |= r.up.v[i].destructive && strstr(r.up.v[i].sql, "SET NOT NULL") != NULL;
    assert_true(destructive);
    done(&r);
}

static void test_tenancy_policies(void **state)
{
    (void)state;
    /* Policies are compared whole: a changed one is dropped (before
     * anything else) and created again; a restrictive one says so. */
    expect(TENANCY POSTS_TENANT,
           TENANCY "table posts\n  column id uuid not-null\n  column org uuid not-null default current_org_id()\n"
                   "  primary-key posts_pkey (id)\n  row-level-security\n"
                   "  policy posts_read SELECT\n    using NOT hidden\n"
                   "  policy posts_tenant_isolation ALL restrictive\n    using org = current_org_id()\n"
                   "    with-check org = current_org_id()\n  grant app_user\n",
           NULL,
           "DROP POLICY posts_tenant_isolation ON posts\n"
           "CREATE POLICY posts_read ON posts FOR SELECT USING (NOT hidden)\n"
           "CREATE POLICY posts_tenant_isolation ON posts AS RESTRICTIVE FOR ALL USING (org = current_org_id()) "
           "WITH CHECK (org = current_org_id())\n");
    /* Tenancy off: policies go first, functions last. */
    expect(TENANCY POSTS_TENANT, POSTS_PLAIN, NULL,
           "DROP POLICY posts_tenant_isolation ON posts\n"
           "ALTER TABLE posts ALTER COLUMN org DROP DEFAULT\n"
           "ALTER TABLE posts NO FORCE ROW LEVEL SECURITY\n"
           "ALTER TABLE posts DISABLE ROW LEVEL SECURITY\n"
           "REVOKE SELECT, INSERT, UPDATE, DELETE ON posts FROM app_user\n"
           "DROP FUNCTION current_user_org_id()\n"
           "DROP FUNCTION current_org_id()\n");
    /* A composite reference that clears only its own column. */
    expect(TENANCY "table a\n  column t uuid not-null\n  column id integer not-null\n"
                   "  unique a_t_id_key (t, id)\n"
                   "table b\n  column t uuid not-null\n  column a_id integer\n",
           TENANCY "table a\n  column t uuid not-null\n  column id integer not-null\n"
                   "  unique a_t_id_key (t, id)\n"
                   "table b\n  column t uuid not-null\n  column a_id integer\n"
                   "  foreign-key b_a_id_fkey (t, a_id) references a (t, id) on-delete set-null (a_id)\n",
           NULL, "ALTER TABLE b ADD CONSTRAINT b_a_id_fkey FOREIGN KEY (t, a_id) REFERENCES a (t, id) ON DELETE SET "
                 "NULL (a_id)\n");
}

/* The tenant type cannot change: the functions and policies depend on it. */
static void test_tenancy_type_change(void **state)
{
    (void)state;
    result r;
    run(&r, TENANCY POSTS_TENANT, "tenant-setting app.current_org_id bigint\napp-role app_user\n\n" POSTS_TENANT,
        NULL);
    assert_false(r.ok);
    assert_non_null(strstr(r.diags, "the tenant columns change type (uuid to bigint); that is not supported"));
    done(&r);
}

/* ---- indexes ---------------------------------------------------------------- */

#define POSTS_IX "table posts\n  column id integer not-null\n  column author integer\n  column title text\n" \
                 "  column body text\n  primary-key posts_pkey (id)\n"

/* The changes of r as "phase no_transaction index_name" lines, to check
 * what render() leaves out. */
static char *render_steps(const changes *c)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < c->n; i++)
        buf_printf(&b, "%d %s %s\n", (int)c->v[i].phase, c->v[i].no_transaction ? "outside" : "inside",
                   c->v[i].index_name ? c->v[i].index_name : "-");
    return buf_take(&b);
}

/* Fails unless every change outside a transaction comes after every
 * change inside one. */
static void assert_outside_last(const changes *c)
{
    bool outside = false;
    for (size_t i = 0; i < c->n; i++) {
        if (outside && !c->v[i].no_transaction)
            fail_msg("change %zu (%s) runs in the transaction after a change outside it", i, c->v[i].summary);
        outside |= c->v[i].no_transaction;
    }
}

/* The down migration of r: the diff from r's result back to r's `from`,
 * with the renames reversed. */
static char *down_of(result *r, changes *keep)
{
    name_changes rn, back;
    diff_renames(&r->from, &r->to, &rn);
    renames_reverse(&rn, &r->from, &back);
    changes down;
    tu_diag t;
    tu_diag_open(&t);
    bool ok = diff_schemas(&r->after, &r->from, &back, &down, NULL, &t.d);
    if (!ok)
        fail_msg("down diff failed: %s", tu_diag_text(&t));
    tu_diag_close(&t);
    char *text = render(&down);
    if (keep)
        *keep = down;
    else
        changes_free(&down);
    renames_free(&rn);
    renames_free(&back);
    return text;
}

/* An index on a table that exists: built CONCURRENTLY, alone and outside
 * the transaction, after every ordinary change. */
static void test_index_add_existing(void **state)
{
    (void)state;
    result r;
    run(&r, POSTS_IX, POSTS_IX "  index posts_author_idx btree (author)\n", NULL);
    assert_true(r.ok);
    assert_string_equal(r.text, "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_idx ON posts USING btree "
                                "(author)\n");
    assert_int_equal(r.up.n, 1);
    assert_int_equal(r.up.v[0].phase, PH_CREATE_INDEX_CONCURRENTLY);
    assert_true(r.up.v[0].no_transaction);
    assert_string_equal(r.up.v[0].index_name, "posts_author_idx");
    assert_false(r.up.v[0].destructive);
    assert_string_equal(r.up.v[0].summary,
                        "create index posts_author_idx on posts (concurrently, outside the transaction)");
    assert_string_equal(r.up.v[0].slug, "index_posts");
    /* the result keeps the index, so the next snapshot has it */
    char *body = snapshot_body(&r.after);
    assert_non_null(strstr(body, "  index posts_author_idx btree (author)\n"));
    free(body);
    /* changes_sql (the check server's one transaction) leaves CONCURRENTLY out */
    char *sql = changes_sql(&r.up);
    assert_string_equal(sql, "CREATE INDEX IF NOT EXISTS posts_author_idx ON posts USING btree (author);\n");
    free(sql);
    done(&r);

    /* With other changes: the new column, the new table and its index
     * come first (in the transaction), the concurrent builds last, each
     * indexing what exists by then. */
    run(&r, POSTS_IX,
        "table posts\n  column id integer not-null\n  column author integer\n  column title text\n"
        "  column body text\n  column lang text\n  primary-key posts_pkey (id)\n"
        "  index posts_lang_idx btree (lang)\n  index posts_author_idx btree (author)\n"
        "table tags\n  column id integer not-null\n  column name text\n  primary-key tags_pkey (id)\n"
        "  index tags_name_idx btree (name)\n",
        NULL);
    assert_true(r.ok);
    assert_string_equal(r.text, "ALTER TABLE posts ADD COLUMN lang text\n"
                                "CREATE TABLE tags (tags_pkey)\n"
                                "CREATE INDEX tags_name_idx ON tags USING btree (name)\n"
                                "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_lang_idx ON posts USING btree (lang)\n"
                                "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_idx ON posts USING btree "
                                "(author)\n");
    char *steps = render_steps(&r.up);
    char *want = xasprintf("%d inside -\n%d inside -\n%d inside -\n%d outside posts_lang_idx\n"
                           "%d outside posts_author_idx\n",
                           PH_ADD_COLUMN, PH_CREATE_TABLE, PH_CREATE_INDEX, PH_CREATE_INDEX_CONCURRENTLY,
                           PH_CREATE_INDEX_CONCURRENTLY);
    assert_string_equal(steps, want);
    assert_outside_last(&r.up);
    free(steps);
    free(want);
    done(&r);

    /* Also after the changes that run last in the transaction (dropping
     * the tenant functions). */
    run(&r, TENANCY POSTS_TENANT, POSTS_PLAIN "  index posts_org_idx btree (org)\n", NULL);
    assert_true(r.ok);
    assert_true(r.up.n > 2);
    assert_string_equal(r.up.v[r.up.n - 2].sql, "DROP FUNCTION current_org_id()");
    assert_string_equal(r.up.v[r.up.n - 1].sql,
                        "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_org_idx ON posts USING btree (org)");
    assert_outside_last(&r.up);
    done(&r);
}

/* An index of a table the migration creates: inside the transaction, no
 * CONCURRENTLY (nobody can write to the table yet). */
static void test_index_new_table(void **state)
{
    (void)state;
    result r;
    run(&r, "", POSTS_IX "  index posts_author_idx btree (author)\n  index posts_title_idx btree unique (title)\n",
        NULL);
    assert_true(r.ok);
    assert_string_equal(r.text, "CREATE TABLE posts (posts_pkey)\n"
                                "CREATE INDEX posts_author_idx ON posts USING btree (author)\n"
                                "CREATE UNIQUE INDEX posts_title_idx ON posts USING btree (title)\n");
    for (size_t i = 0; i < r.up.n; i++) {
        assert_false(r.up.v[i].no_transaction);
        assert_null(r.up.v[i].index_name);
    }
    assert_int_equal(r.up.v[1].phase, PH_CREATE_INDEX);
    assert_string_equal(r.up.v[1].summary, "create index posts_author_idx on posts");
    assert_string_equal(r.up.v[2].summary, "create unique index posts_title_idx on posts");
    char *sql = changes_sql(&r.up);
    assert_non_null(strstr(sql, "CREATE INDEX posts_author_idx ON posts USING btree (author);\n"));
    free(sql);
    done(&r);
    /* dropping the table drops its indexes: no DROP INDEX */
    expect(POSTS_IX "  index posts_author_idx btree (author)\n", "", NULL,
           "-- DESTRUCTIVE: destroys table posts and every row in it\nDROP TABLE posts\n");
}

/* Each kind of definition, as CREATE INDEX writes it. */
static void test_index_definitions(void **state)
{
    (void)state;
    static const struct {
        const char *line, *sql;
    } cases[] = {
        {"  index posts_title_idx btree unique (title)\n",
         "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS posts_title_idx ON posts USING btree (title)\n"},
        {"  index posts_author_idx btree (author) where author IS NOT NULL AND title <> ''\n",
         "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_idx ON posts USING btree (author) "
         "WHERE (author IS NOT NULL AND title <> '')\n"},
        {"  index posts_author_title_idx btree unique (author, title) where body IS NULL\n",
         "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS posts_author_title_idx ON posts USING btree "
         "(author, title) WHERE (body IS NULL)\n"},
        {"  index posts_title_idx hash (title)\n",
         "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_title_idx ON posts USING hash (title)\n"},
        {"  index posts_id_idx brin (id)\n",
         "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_id_idx ON posts USING brin (id)\n"},
        /* full text: the document, an expression, in its own parentheses */
        {"  index posts_title_body_fts_idx gin (title, body) language english\n",
         "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_title_body_fts_idx ON posts USING gin "
         "((to_tsvector('english'::regconfig, coalesce(title, '') || ' ' || coalesce(body, ''))))\n"},
        {"  index posts_title_fts_idx gist (title) language simple where author > 0\n",
         "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_title_fts_idx ON posts USING gist "
         "((to_tsvector('simple'::regconfig, coalesce(title, '')))) WHERE (author > 0)\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *to = xasprintf("%s%s", POSTS_IX, cases[i].line);
        expect(POSTS_IX, to, NULL, cases[i].sql);
        free(to);
    }
    /* keywords and odd names are quoted, in the columns and the document */
    expect("table order\n  column id integer\n  column user text\n",
           "table order\n  column id integer\n  column user text\n"
           "  index order_user_idx btree (id, user)\n  index order_user_fts_idx gin (user) language english\n",
           NULL,
           "CREATE INDEX CONCURRENTLY IF NOT EXISTS order_user_idx ON \"order\" USING btree (id, \"user\")\n"
           "CREATE INDEX CONCURRENTLY IF NOT EXISTS order_user_fts_idx ON \"order\" USING gin "
           "((to_tsvector('english'::regconfig, coalesce(\"user\", ''))))\n");
}

static void test_index_drop(void **state)
{
    (void)state;
    result r;
    run(&r, POSTS_IX "  index posts_author_idx btree (author)\n  index posts_title_idx hash (title)\n",
        POSTS_IX "  index posts_title_idx hash (title)\n", NULL);
    assert_true(r.ok);
    assert_string_equal(r.text, "DROP INDEX CONCURRENTLY IF EXISTS posts_author_idx\n");
    assert_int_equal(r.up.v[0].phase, PH_DROP_INDEX);
    assert_true(r.up.v[0].no_transaction);
    assert_null(r.up.v[0].index_name); /* it builds nothing */
    assert_false(r.up.v[0].destructive); /* an index holds no data */
    assert_string_equal(r.up.v[0].summary,
                        "drop index posts_author_idx on posts (concurrently, outside the transaction)");
    char *sql = changes_sql(&r.up);
    assert_string_equal(sql, "DROP INDEX IF EXISTS posts_author_idx;\n");
    free(sql);
    /* down: built again, concurrently */
    char *down = down_of(&r, NULL);
    assert_string_equal(down, "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_idx ON posts USING btree "
                              "(author)\n");
    free(down);
    done(&r);
}

/* A table's rename renames its indexes: ALTER INDEX, no rebuild, and
 * back again in the down migration. */
static void test_index_rename_table(void **state)
{
    (void)state;
    static const char *const hint[] = {"articles", "posts", NULL};
    result r;
    run(&r,
        POSTS_IX "  index posts_author_idx btree (author) where author > 0\n"
                 "  index posts_title_body_fts_idx gin (title, body) language english\n",
        "table articles\n  column id integer not-null\n  column author integer\n  column title text\n"
        "  column body text\n  primary-key articles_pkey (id)\n"
        "  index articles_author_idx btree (author) where author > 0\n"
        "  index articles_title_body_fts_idx gin (title, body) language english\n",
        hint);
    assert_true(r.ok);
    assert_string_equal(r.text, "ALTER TABLE posts RENAME TO articles\n"
                                "ALTER TABLE articles RENAME CONSTRAINT posts_pkey TO articles_pkey\n"
                                "ALTER INDEX posts_author_idx RENAME TO articles_author_idx\n"
                                "ALTER INDEX posts_title_body_fts_idx RENAME TO articles_title_body_fts_idx\n");
    for (size_t i = 0; i < r.up.n; i++)
        assert_false(r.up.v[i].no_transaction);
    assert_string_equal(r.up.v[2].summary, "rename index posts_author_idx to articles_author_idx");
    changes dc;
    char *down = down_of(&r, &dc);
    assert_string_equal(down, "ALTER TABLE articles RENAME TO posts\n"
                              "ALTER TABLE posts RENAME CONSTRAINT articles_pkey TO posts_pkey\n"
                              "ALTER INDEX articles_author_idx RENAME TO posts_author_idx\n"
                              "ALTER INDEX articles_title_body_fts_idx RENAME TO posts_title_body_fts_idx\n");
    changes_free(&dc);
    free(down);
    done(&r);
}

/* A column's rename: the index follows it (PostgreSQL's index keeps the
 * column), only its name changes. */
static void test_index_rename_column(void **state)
{
    (void)state;
    static const char *const hint[] = {"posts.writer", "author", NULL};
    const char *to = "table posts\n  column id integer not-null\n  column writer integer\n  column title text\n"
                     "  column body text\n  primary-key posts_pkey (id)\n"
                     "  index posts_writer_title_idx btree (writer, title)\n"
                     "  index posts_title_idx btree (title)\n";
    result r;
    run(&r, POSTS_IX "  index posts_author_title_idx btree (author, title)\n  index posts_title_idx btree (title)\n",
        to, hint);
    assert_true(r.ok);
    assert_string_equal(r.text, "ALTER TABLE posts RENAME COLUMN author TO writer\n"
                                "ALTER INDEX posts_author_title_idx RENAME TO posts_writer_title_idx\n");
    char *down = down_of(&r, NULL);
    assert_string_equal(down, "ALTER TABLE posts RENAME COLUMN writer TO author\n"
                              "ALTER INDEX posts_writer_title_idx RENAME TO posts_author_title_idx\n");
    free(down);
    done(&r);
    /* the renamed column in a full-text index: renamed too */
    static const char *const hint2[] = {"posts.content", "body", NULL};
    expect(POSTS_IX "  index posts_title_body_fts_idx gin (title, body) language english\n",
           "table posts\n  column id integer not-null\n  column author integer\n  column title text\n"
           "  column content text\n  primary-key posts_pkey (id)\n"
           "  index posts_title_content_fts_idx gin (title, content) language english\n",
           hint2,
           "ALTER TABLE posts RENAME COLUMN body TO content\n"
           "ALTER INDEX posts_title_body_fts_idx RENAME TO posts_title_content_fts_idx\n");
    /* without the hint the column is dropped (its index with it) and the
     * new one is indexed anew */
    expect(POSTS_IX "  index posts_title_body_fts_idx gin (title, body) language english\n",
           "table posts\n  column id integer not-null\n  column author integer\n  column title text\n"
           "  column content text\n  primary-key posts_pkey (id)\n"
           "  index posts_title_content_fts_idx gin (title, content) language english\n",
           NULL,
           "-- DESTRUCTIVE: destroys the values of posts.body\nALTER TABLE posts DROP COLUMN body\n"
           "ALTER TABLE posts ADD COLUMN content text\n"
           "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_title_content_fts_idx ON posts USING gin "
           "((to_tsvector('english'::regconfig, coalesce(title, '') || ' ' || coalesce(content, ''))))\n");
}

/* The same name, another definition: the old index must go before the
 * new one can take its name. */
static void test_index_redefined(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *create;
    } cases[] = {
        {"  index posts_author_idx btree (author)\n", "  index posts_author_idx btree (author) where author > 0\n",
         "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_idx ON posts USING btree (author) WHERE (author > 0)"},
        {"  index posts_author_idx btree (author) where author > 0\n",
         "  index posts_author_idx btree (author) where author > 1\n",
         "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_idx ON posts USING btree (author) WHERE (author > 1)"},
        {"  index posts_author_idx btree (author)\n", "  index posts_author_idx btree unique (author)\n",
         "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS posts_author_idx ON posts USING btree (author)"},
        {"  index posts_author_idx btree (author)\n", "  index posts_author_idx hash (author)\n",
         "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_idx ON posts USING hash (author)"},
        {"  index posts_title_fts_idx gin (title) language english\n",
         "  index posts_title_fts_idx gin (title) language simple\n",
         "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_title_fts_idx ON posts USING gin "
         "((to_tsvector('simple'::regconfig, coalesce(title, ''))))"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *from = xasprintf("%s%s", POSTS_IX, cases[i].from), *to = xasprintf("%s%s", POSTS_IX, cases[i].to);
        result r;
        run(&r, from, to, NULL);
        assert_true(r.ok);
        const char *name = strchr(cases[i].from + strlen("  index "), ' ');
        char *want = xasprintf("DROP INDEX CONCURRENTLY IF EXISTS %.*s\n%s\n",
                               (int)(name - cases[i].from - strlen("  index ")), cases[i].from + strlen("  index "),
                               cases[i].create);
        if (strcmp(r.text, want) != 0)
            fail_msg("case %zu gave:\n%s\nwanted:\n%s", i, r.text, want);
        assert_int_equal(r.up.v[0].phase, PH_DROP_INDEX_REUSED);
        assert_int_equal(r.up.v[1].phase, PH_CREATE_INDEX_CONCURRENTLY);
        assert_true(r.up.v[0].no_transaction);
        assert_true(r.up.v[1].no_transaction);
        /* and back */
        char *down = down_of(&r, NULL);
        assert_non_null(strstr(down, "DROP INDEX CONCURRENTLY IF EXISTS "));
        assert_true(strstr(down, "DROP INDEX") < strstr(down, "CREATE "));
        free(down);
        free(want);
        free(from);
        free(to);
        done(&r);
    }
}

/* Other columns, so another name: the new index is built before the old
 * one goes (the table is never without an index for its queries). */
static void test_index_columns_changed(void **state)
{
    (void)state;
    result r;
    run(&r, POSTS_IX "  index posts_author_idx btree (author)\n",
        POSTS_IX "  index posts_author_title_idx btree (author, title)\n", NULL);
    assert_true(r.ok);
    assert_string_equal(r.text, "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_title_idx ON posts USING btree "
                                "(author, title)\n"
                                "DROP INDEX CONCURRENTLY IF EXISTS posts_author_idx\n");
    assert_int_equal(r.up.v[0].phase, PH_CREATE_INDEX_CONCURRENTLY);
    assert_int_equal(r.up.v[1].phase, PH_DROP_INDEX);
    char *down = down_of(&r, NULL);
    assert_string_equal(down, "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_idx ON posts USING btree "
                              "(author)\n"
                              "DROP INDEX CONCURRENTLY IF EXISTS posts_author_title_idx\n");
    free(down);
    done(&r);
    /* the columns' order is the index: (title, author) is another index */
    expect(POSTS_IX "  index posts_author_title_idx btree (author, title)\n",
           POSTS_IX "  index posts_title_author_idx btree (title, author)\n", NULL,
           "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_title_author_idx ON posts USING btree (title, author)\n"
           "DROP INDEX CONCURRENTLY IF EXISTS posts_author_title_idx\n");
}

/* PostgreSQL drops an index with a column it indexes: no DROP INDEX of
 * its own (the column's drop, in the transaction, does it). */
static void test_index_column_dropped(void **state)
{
    (void)state;
    result r;
    run(&r, POSTS_IX "  index posts_body_idx btree (body)\n  index posts_author_body_idx btree (author, body)\n"
                     "  index posts_title_idx btree (title)\n",
        "table posts\n  column id integer not-null\n  column author integer\n  column title text\n"
        "  primary-key posts_pkey (id)\n  index posts_title_idx btree (title)\n",
        NULL);
    assert_true(r.ok);
    assert_string_equal(r.text, "-- DESTRUCTIVE: destroys the values of posts.body\n"
                                "ALTER TABLE posts DROP COLUMN body\n");
    /* down: the column comes back in the transaction, its indexes after */
    changes dc;
    char *down = down_of(&r, &dc);
    assert_string_equal(down, "ALTER TABLE posts ADD COLUMN body text\n"
                              "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_body_idx ON posts USING btree (body)\n"
                              "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_body_idx ON posts USING btree "
                              "(author, body)\n");
    assert_outside_last(&dc);
    assert_false(dc.v[0].no_transaction);
    assert_string_equal(dc.v[1].index_name, "posts_body_idx");
    assert_string_equal(dc.v[2].index_name, "posts_author_body_idx");
    changes_free(&dc);
    free(down);
    done(&r);
    /* the column's index replaced by one without it, under another name */
    expect(POSTS_IX "  index posts_author_body_idx btree (author, body)\n",
           "table posts\n  column id integer not-null\n  column author integer\n  column title text\n"
           "  primary-key posts_pkey (id)\n  index posts_author_idx btree (author)\n",
           NULL,
           "-- DESTRUCTIVE: destroys the values of posts.body\nALTER TABLE posts DROP COLUMN body\n"
           "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_idx ON posts USING btree (author)\n");
}

/* ---- full-text search functions --------------------------------------------- */

#define DOCS "table docs\n  column id uuid not-null\n  column org uuid not-null default current_org_id()\n" \
             "  column title text\n  column body varchar(200)\n  primary-key docs_pkey (id)\n"             \
             "  row-level-security\n  policy docs_tenant_isolation ALL\n    using org = current_org_id()\n" \
             "    with-check org = current_org_id()\n  grant app_user\n"
#define DOCS_SEARCH "  index docs_title_body_fts_idx gin (title, body) language english " \
                    "search-function docs_title_body_search\n"
#define DOCS_DOC(a) "to_tsvector('english'::regconfig, coalesce(" a "title, '') || ' ' || coalesce(" a "body, ''))"
#define SEARCH_ROLE_START                                                                              \
    "DO $dbont$ BEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'app_user_search') " \
    "THEN\n"

static const char docs_function[] =
    "CREATE FUNCTION docs_title_body_search(text, bigint) RETURNS TABLE (id uuid, org uuid, title text, "
    "body varchar(200), rank real) LANGUAGE sql STABLE SECURITY DEFINER AS $dbont$\n"
    "  SELECT t.id, t.org, t.title, t.body, ts_rank(" DOCS_DOC("t.") ", websearch_to_tsquery('english'::regconfig, "
    "$1))\n"
    "  FROM docs t\n"
    "  WHERE (org = current_org_id()) AND " DOCS_DOC("t.") " @@ websearch_to_tsquery('english'::regconfig, $1)\n"
    "  ORDER BY 5 DESC, t.id\n"
    "  LIMIT $2\n"
    "$dbont$\n"
    "DO $dbont$ BEGIN\n"
    "  EXECUTE format('ALTER FUNCTION docs_title_body_search(text, bigint) SET search_path = %I, pg_temp', "
    "current_schema());\n"
    "END $dbont$\n"
    "GRANT SELECT ON docs TO app_user_search\n"
    "ALTER FUNCTION docs_title_body_search(text, bigint) OWNER TO app_user_search\n"
    "REVOKE ALL ON FUNCTION docs_title_body_search(text, bigint) FROM PUBLIC;\n"
    "GRANT EXECUTE ON FUNCTION docs_title_body_search(text, bigint) TO app_user\n";

/* The full-text index of a multi-tenant table: the search role (once),
 * the SECURITY DEFINER function in the transaction, the index after. */
static void test_search_added(void **state)
{
    (void)state;
    result r;
    run(&r, TENANCY DOCS, TENANCY DOCS DOCS_SEARCH, NULL);
    assert_true(r.ok);
    if (strncmp(r.text, SEARCH_ROLE_START, strlen(SEARCH_ROLE_START)) != 0)
        fail_msg("no search role first:\n%s", r.text);
    assert_int_equal(r.up.v[0].phase, PH_ROLE);
    assert_non_null(strstr(r.up.v[0].sql, "CREATE ROLE app_user_search NOLOGIN BYPASSRLS;"));
    assert_non_null(strstr(r.up.v[0].sql, "pg_catalog.pg_has_role('app_user', 'app_user_search', 'MEMBER')"));
    const char *rest = strstr(r.text, "END $dbont$\n");
    assert_non_null(rest);
    rest += strlen("END $dbont$\n");
    char *want = xasprintf("%sCREATE INDEX CONCURRENTLY IF NOT EXISTS docs_title_body_fts_idx ON docs USING gin "
                           "((" DOCS_DOC("") "))\n",
                           docs_function);
    if (strcmp(rest, want) != 0)
        fail_msg("after the role:\n%s\nwanted:\n%s", rest, want);
    free(want);
    assert_int_equal(r.up.n, 7);
    for (size_t i = 1; i < 6; i++) {
        assert_int_equal(r.up.v[i].phase, PH_SEARCH_FUNCTION);
        assert_false(r.up.v[i].no_transaction);
    }
    assert_string_equal(r.up.v[1].summary,
                        "search function docs_title_body_search() on docs, using index docs_title_body_fts_idx");
    assert_true(r.up.v[6].no_transaction);
    assert_string_equal(r.up.v[6].index_name, "docs_title_body_fts_idx");
    /* down: function and grant go, the index too; the role stays (it
     * belongs to the cluster) */
    char *down = down_of(&r, NULL);
    assert_string_equal(down, "DROP FUNCTION IF EXISTS docs_title_body_search(text, bigint)\n"
                              "REVOKE SELECT ON docs FROM app_user_search\n"
                              "DROP INDEX CONCURRENTLY IF EXISTS docs_title_body_fts_idx\n");
    free(down);
    done(&r);

    /* A new table with its search: the same, its index in the transaction */
    run(&r, TENANCY, TENANCY DOCS DOCS_SEARCH, NULL);
    assert_true(r.ok);
    assert_non_null(strstr(r.text, SEARCH_ROLE_START));
    const char *create = strstr(r.text, "CREATE TABLE docs"), *fn = strstr(r.text, "CREATE FUNCTION docs_title");
    const char *ix = strstr(r.text, "CREATE INDEX docs_title_body_fts_idx ON docs USING gin");
    assert_non_null(create);
    assert_non_null(fn);
    assert_non_null(ix);
    assert_true(create < fn && fn < ix);
    for (size_t i = 0; i < r.up.n; i++)
        assert_false(r.up.v[i].no_transaction);
    done(&r);
}

/* A column added to the table changes the function's result type: it is
 * dropped before the table changes and created again after. */
static void test_search_replaced(void **state)
{
    (void)state;
    const char *to = TENANCY "table docs\n  column id uuid not-null\n  column org uuid not-null default "
                             "current_org_id()\n  column title text\n  column body varchar(200)\n"
                             "  column lang text\n  primary-key docs_pkey (id)\n"
                             "  row-level-security\n  policy docs_tenant_isolation ALL\n"
                             "    using org = current_org_id()\n    with-check org = current_org_id()\n"
                             "  grant app_user\n" DOCS_SEARCH;
    result r;
    run(&r, TENANCY DOCS DOCS_SEARCH, to, NULL);
    assert_true(r.ok);
    const char *want_start = "DROP FUNCTION IF EXISTS docs_title_body_search(text, bigint)\n"
                             "ALTER TABLE docs ADD COLUMN lang text\n"
                             "CREATE FUNCTION docs_title_body_search(text, bigint) RETURNS TABLE (id uuid, org uuid, "
                             "title text, body varchar(200), lang text, rank real)";
    if (strncmp(r.text, want_start, strlen(want_start)) != 0)
        fail_msg("got:\n%s\nwanted first:\n%s", r.text, want_start);
    assert_int_equal(r.up.v[0].phase, PH_DROP_SEARCH);
    assert_string_equal(r.up.v[0].summary, "drop search function docs_title_body_search (created again below)");
    /* no role (it exists), no index change; the result's 6th column is rank */
    assert_null(strstr(r.text, "app_user_search') THEN"));
    assert_null(strstr(r.text, "INDEX"));
    assert_non_null(strstr(r.text, "ORDER BY 6 DESC, t.id\n"));
    assert_non_null(strstr(r.text, "ALTER FUNCTION docs_title_body_search(text, bigint) OWNER TO app_user_search\n"));
    assert_int_equal(r.up.n, 7);
    done(&r);
    /* nothing changed: nothing to do */
    expect(TENANCY DOCS DOCS_SEARCH, TENANCY DOCS DOCS_SEARCH, NULL, "");
    /* a change elsewhere leaves the function alone */
    expect(TENANCY DOCS DOCS_SEARCH, TENANCY DOCS DOCS_SEARCH "  index docs_org_idx btree (org)\n", NULL,
           "CREATE INDEX CONCURRENTLY IF NOT EXISTS docs_org_idx ON docs USING btree (org)\n");
}

/* The search index removed: its function goes, and the search role's
 * read access to the table with it. */
static void test_search_removed(void **state)
{
    (void)state;
    result r;
    run(&r, TENANCY DOCS DOCS_SEARCH, TENANCY DOCS, NULL);
    assert_true(r.ok);
    assert_string_equal(r.text, "DROP FUNCTION IF EXISTS docs_title_body_search(text, bigint)\n"
                                "REVOKE SELECT ON docs FROM app_user_search\n"
                                "DROP INDEX CONCURRENTLY IF EXISTS docs_title_body_fts_idx\n");
    assert_int_equal(r.up.v[0].phase, PH_DROP_SEARCH);
    assert_string_equal(r.up.v[0].summary, "drop search function docs_title_body_search");
    assert_int_equal(r.up.v[1].phase, PH_GRANT);
    assert_false(r.up.v[0].no_transaction);
    assert_false(r.up.v[1].no_transaction);
    assert_true(r.up.v[2].no_transaction);
    /* down: the role again (created when missing), the function, the index */
    char *down = down_of(&r, NULL);
    assert_true(strncmp(down, SEARCH_ROLE_START, strlen(SEARCH_ROLE_START)) == 0);
    const char *rest = strstr(down, "END $dbont$\n");
    assert_non_null(rest);
    rest += strlen("END $dbont$\n");
    char *want = xasprintf("%sCREATE INDEX CONCURRENTLY IF NOT EXISTS docs_title_body_fts_idx ON docs USING gin "
                           "((" DOCS_DOC("") "))\n",
                           docs_function);
    assert_string_equal(rest, want);
    free(want);
    free(down);
    done(&r);
    /* the table dropped: DROP TABLE takes the index; the function goes first */
    expect(TENANCY DOCS DOCS_SEARCH, TENANCY, NULL,
           "DROP FUNCTION IF EXISTS docs_title_body_search(text, bigint)\n"
           "-- DESTRUCTIVE: destroys table docs and every row in it\nDROP TABLE docs\n");
}

/* Another application role: the new one gets its own search role, which
 * then owns the function created again. */
static void test_search_app_role_changed(void **state)
{
    (void)state;
    const char *to = "tenant-setting app.current_org_id uuid\napp-role web\n\n"
                     "table docs\n  column id uuid not-null\n  column org uuid not-null default current_org_id()\n"
                     "  column title text\n  column body varchar(200)\n  primary-key docs_pkey (id)\n"
                     "  row-level-security\n  policy docs_tenant_isolation ALL\n    using org = current_org_id()\n"
                     "    with-check org = current_org_id()\n  grant web\n" DOCS_SEARCH;
    result r;
    run(&r, TENANCY DOCS DOCS_SEARCH, to, NULL);
    assert_true(r.ok);
    const char *role = strstr(r.text, "WHERE rolname = 'web_search'");
    const char *drop = strstr(r.text, "DROP FUNCTION IF EXISTS docs_title_body_search(text, bigint)\n");
    const char *owner = strstr(r.text, "ALTER FUNCTION docs_title_body_search(text, bigint) OWNER TO web_search\n");
    if (!role || !drop || !owner)
        fail_msg("got:\n%s", r.text);
    assert_true(drop < role && role < owner);
    assert_non_null(strstr(r.text, "GRANT EXECUTE ON FUNCTION docs_title_body_search(text, bigint) TO web\n"));
    done(&r);
}

/* The table renamed: the function has the table's name, so it is another
 * function; the old one goes, the role keeps its access (to the renamed
 * table) and is not created again. */
static void test_search_table_renamed(void **state)
{
    (void)state;
    static const char *const hint[] = {"notes", "docs", NULL};
    const char *to = TENANCY "table notes\n  column id uuid not-null\n  column org uuid not-null default "
                             "current_org_id()\n  column title text\n  column body varchar(200)\n"
                             "  primary-key notes_pkey (id)\n  row-level-security\n"
                             "  policy notes_tenant_isolation ALL\n    using org = current_org_id()\n"
                             "    with-check org = current_org_id()\n  grant app_user\n"
                             "  index notes_title_body_fts_idx gin (title, body) language english "
                             "search-function notes_title_body_search\n";
    result r;
    run(&r, TENANCY DOCS DOCS_SEARCH, to, hint);
    assert_true(r.ok);
    const char *drop = strstr(r.text, "DROP FUNCTION IF EXISTS docs_title_body_search(text, bigint)\n");
    const char *rename = strstr(r.text, "ALTER TABLE docs RENAME TO notes\n");
    const char *ix = strstr(r.text, "ALTER INDEX docs_title_body_fts_idx RENAME TO notes_title_body_fts_idx\n");
    const char *fn = strstr(r.text, "CREATE FUNCTION notes_title_body_search(text, bigint)");
    if (!drop || !rename || !ix || !fn)
        fail_msg("got:\n%s", r.text);
    assert_true(drop < rename && rename < ix && ix < fn);
    assert_non_null(strstr(r.text, "\n  FROM notes t\n"));
    assert_null(strstr(r.text, "REVOKE SELECT ON"));
    assert_null(strstr(r.text, "rolname = 'app_user_search'"));
    assert_null(strstr(r.text, "CONCURRENTLY"));
    done(&r);
}

/* ---- range partitions ------------------------------------------------------------ */

#define EVENTS_BODY "  column id bigint not-null\n  column at timestamptz not-null\n  column kind text\n" \
                    "  primary-key events_pkey (id, at)\n"
#define EVENTS_P EVENTS_BODY "  partition-by range at monthly hot-days 30 periods-ahead 2\n"

/* A new partitioned table: the registry and the function first, the table
 * PARTITION BY RANGE, its default partition, its settings, and one call
 * that makes the partitions; the down drops all of it. */
static void test_partition_new_table(void **state)
{
    (void)state;
    result r;
    run(&r, "", "table events\n" EVENTS_P, NULL);
    assert_true(r.ok);
    assert_non_null(strstr(r.text, "CREATE TABLE IF NOT EXISTS dbont_partitioned ("));
    assert_non_null(strstr(r.text, "CREATE OR REPLACE FUNCTION dbont_maintain_partitions(at timestamptz"));
    const char *create = strstr(r.text, "CREATE TABLE events (");
    const char *deflt = strstr(r.text, "CREATE TABLE events_default PARTITION OF events DEFAULT\n");
    const char *reg = strstr(r.text, "INSERT INTO dbont_partitioned (table_name, key_column, range_size, hot_days, "
                                     "periods_ahead) VALUES ('events', 'at', 'monthly', 30, 2)");
    const char *make = strstr(r.text, "SELECT count(*) FROM dbont_maintain_partitions()\n");
    assert_true(create && deflt && reg && make && create < deflt && deflt < reg && reg < make);
    char *sql = changes_sql(&r.up);
    assert_non_null(strstr(sql, "PRIMARY KEY (id, at)) PARTITION BY RANGE (at);\n"));
    free(sql);
    assert_string_equal(schema_table(&r.after, "events")->partition_range, "monthly");
    char *down = down_of(&r, NULL);
    assert_non_null(strstr(down, "DROP TABLE events\n"));
    assert_non_null(strstr(down, "DROP FUNCTION dbont_maintain_partitions(timestamptz)\n"));
    assert_non_null(strstr(down, "DROP TABLE dbont_partitioned\n"));
    assert_null(strstr(down, "DELETE FROM dbont_partitioned")); /* the registry goes as a whole */
    free(down);
    done(&r);
}

/* The hot window and the periods ahead may change: new settings, and the
 * partitions they need now. */
static void test_partition_settings(void **state)
{
    (void)state;
    expect("table events\n" EVENTS_P,
           "table events\n" EVENTS_BODY "  partition-by range at monthly hot-days 90 periods-ahead 4\n", NULL,
           "INSERT INTO dbont_partitioned (table_name, key_column, range_size, hot_days, periods_ahead) VALUES "
           "('events', 'at', 'monthly', 90, 4) ON CONFLICT (table_name) DO UPDATE SET key_column = "
           "EXCLUDED.key_column, range_size = EXCLUDED.range_size, hot_days = EXCLUDED.hot_days, periods_ahead = "
           "EXCLUDED.periods_ahead\n"
           "SELECT count(*) FROM dbont_maintain_partitions()\n");
}

/* What PostgreSQL fixes when it creates the table cannot change later. */
static void test_partition_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *says;
    } cases[] = {
        {"table events\n" EVENTS_BODY, "table events\n" EVENTS_P, "cannot become or stop being range-partitioned"},
        {"table events\n" EVENTS_P, "table events\n" EVENTS_BODY, "cannot become or stop being range-partitioned"},
        {"table events\n" EVENTS_P, "table events\n" EVENTS_BODY "  partition-by range at daily hot-days 30 periods-ahead 2\n",
         "shard:rangeSize of table 'events' cannot change"},
        {"table events\n" EVENTS_P,
         "table events\n  column id bigint not-null\n  column at timestamptz not-null\n  column kind text\n"
         "  column at2 timestamptz not-null\n  primary-key events_pkey (id, at2)\n"
         "  partition-by range at2 monthly hot-days 30 periods-ahead 2\n",
         "partition key of table 'events' cannot change"},
        {"table events\n" EVENTS_P,
         "table events\n  column id bigint not-null\n  column at timestamp not-null\n  column kind text\n"
         "  primary-key events_pkey (id, at)\n  partition-by range at monthly hot-days 30 periods-ahead 2\n",
         "cannot change type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        result r;
        run(&r, cases[i].from, cases[i].to, NULL);
        if (r.ok || !strstr(r.diags, cases[i].says))
            fail_msg("case %zu: ok=%d, diagnostics:\n%s", i, r.ok, r.diags);
        done(&r);
    }
    static const char *const hint[] = {"happenings", "events", NULL};
    result r;
    run(&r, "table events\n" EVENTS_P,
        "table happenings\n" EVENTS_BODY "  partition-by range at monthly hot-days 30 periods-ahead 2\n", hint);
    assert_false(r.ok);
    assert_non_null(strstr(r.diags, "range-partitioned table 'happenings' cannot be renamed"));
    done(&r);
}

#define ACCOUNTS_BODY "  column id bigint not-null\n  column email text not-null\n  primary-key accounts_pkey (id)\n"
#define ACCOUNTS_S ACCOUNTS_BODY "  shard-by hash id 4\n"

/* Where the rows of a sharded table live cannot change in a migration;
 * what leaves the routing alone can. */
static void test_shard_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *says;
    } cases[] = {
        {"table accounts\n" ACCOUNTS_BODY, "table accounts\n" ACCOUNTS_S, "cannot start being spread over shards"},
        {"table accounts\n" ACCOUNTS_S, "table accounts\n" ACCOUNTS_BODY, "cannot stop being spread over shards"},
        {"table accounts\n" ACCOUNTS_S, "table accounts\n" ACCOUNTS_BODY "  shard-by hash id 3\n",
         "cannot shrink its shard:shardCount"},
        {"table accounts\n" ACCOUNTS_S, "table accounts\n" ACCOUNTS_BODY "  shard-by hash email 4\n",
         "cannot change its shard:key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        result r;
        run(&r, cases[i].from, cases[i].to, NULL);
        if (r.ok || !strstr(r.diags, cases[i].says) || !strstr(r.diags, "Resharding"))
            fail_msg("case %zu: ok=%d, diagnostics:\n%s", i, r.ok, r.diags);
        done(&r);
    }
    /* growing: no SQL, a warning that says how the rows move */
    {
        result g;
        run(&g, "table accounts\n" ACCOUNTS_S, "table accounts\n" ACCOUNTS_BODY "  shard-by hash id 5\n", NULL);
        if (!g.ok || g.up.n != 0 || !strstr(g.diags, "grows from 4 to 5 shards") ||
            !strstr(g.diags, "moving-from 4") || !strstr(g.diags, "dbont-shard move"))
            fail_msg("growing 4 -> 5: ok=%d, %zu changes, diagnostics:\n%s", g.ok, g.up.n, g.diags);
        done(&g);
    }
    /* a new column, a rename of the table: the routing stays */
    static const char *const hint[] = {"members", "accounts", NULL};
    result r;
    run(&r, "table accounts\n" ACCOUNTS_S,
        "table members\n" ACCOUNTS_BODY "  column name text\n  shard-by hash id 4\n", hint);
    if (!r.ok)
        fail_msg("a sharded table renamed, with a new column: %s", r.diags);
    done(&r);
}

/* An index added to a partitioned table that exists: ON ONLY the parent in
 * the transaction, then the step that builds it on each partition; its
 * drop is a plain DROP INDEX (none CONCURRENTLY for a partitioned index). */
static void test_partition_index(void **state)
{
    (void)state;
    result r;
    run(&r, "table events\n" EVENTS_P, "table events\n" EVENTS_P "  index events_kind_idx btree (kind)\n", NULL);
    assert_true(r.ok);
    assert_int_equal(r.up.n, 2);
    assert_string_equal(r.up.v[0].sql, "CREATE INDEX IF NOT EXISTS events_kind_idx ON ONLY events USING btree (kind)");
    assert_false(r.up.v[0].no_transaction);
    assert_true(r.up.v[1].no_transaction && r.up.v[1].partition_indexes);
    assert_null(r.up.v[1].sql);
    assert_string_equal(r.up.v[1].index_name, "events_kind_idx");
    assert_string_equal(r.up.v[1].table, "events");
    char *sql = changes_sql(&r.up); /* the check server gets the parent's only */
    assert_string_equal(sql, "CREATE INDEX IF NOT EXISTS events_kind_idx ON ONLY events USING btree (kind);\n");
    free(sql);
    char *down = down_of(&r, NULL);
    assert_string_equal(down, "DROP INDEX IF EXISTS events_kind_idx\n");
    free(down);
    done(&r);
}

/* Dropping one of two partitioned tables forgets it; dropping the last
 * one drops the registry and the function. */
static void test_partition_drop(void **state)
{
    (void)state;
    result r;
    run(&r, "table events\n" EVENTS_P "\ntable logs\n  column at date not-null\n"
            "  partition-by range at daily hot-days 0 periods-ahead 3\n",
        "table events\n" EVENTS_P, NULL);
    assert_true(r.ok);
    assert_non_null(strstr(r.text, "DELETE FROM dbont_partitioned WHERE table_name = 'logs'\n"));
    assert_non_null(strstr(r.text, "DROP TABLE logs\n"));
    assert_null(strstr(r.text, "DROP FUNCTION"));
    done(&r);
    run(&r, "table events\n" EVENTS_P, "", NULL);
    assert_true(r.ok);
    assert_null(strstr(r.text, "DELETE FROM dbont_partitioned"));
    const char *tbl = strstr(r.text, "DROP TABLE events\n"), *fn = strstr(r.text, "DROP FUNCTION dbont_maintain");
    assert_true(tbl && fn && tbl < fn);
    done(&r);
}

/* ---- cache triggers ----------------------------------------------------------------- */

#define NOTES_BODY "table notes\n  column id integer not-null\n  column org uuid\n  primary-key notes_pkey (id)\n"

/* The first table a cacheable query listens to gets the notify function
 * and its trigger (the tenant column as the trigger's second argument);
 * the last one going drops the function. */
static void test_cache_triggers(void **state)
{
    (void)state;
    result r;
    run(&r, NOTES_BODY, NOTES_BODY "  cache-notify note tenant org\n", NULL);
    assert_true(r.ok);
    const char *fn = strstr(r.text, "CREATE OR REPLACE FUNCTION dbont_cache_notify() RETURNS trigger");
    const char *trig = strstr(r.text, "CREATE TRIGGER notes_dbont_cache AFTER INSERT OR UPDATE OR DELETE ON notes "
                                      "FOR EACH ROW EXECUTE FUNCTION dbont_cache_notify('note', 'org')\n");
    assert_true(fn && trig && fn < trig);
    assert_non_null(strstr(r.text, "pg_notify('dbont_cache', tenant || E'\\t' || TG_ARGV[0]"));
    char *down = down_of(&r, NULL);
    const char *drop_trig = strstr(down, "DROP TRIGGER IF EXISTS notes_dbont_cache ON notes\n");
    const char *drop_fn = strstr(down, "DROP FUNCTION dbont_cache_notify()\n");
    assert_true(drop_trig && drop_fn && drop_trig < drop_fn);
    free(down);
    done(&r);
    /* without a tenant column: one argument; a change of entity: replaced */
    expect(NOTES_BODY "  cache-notify note tenant org\n", NOTES_BODY "  cache-notify memo\n", NULL,
           "DROP TRIGGER IF EXISTS notes_dbont_cache ON notes\n"
           "CREATE TRIGGER notes_dbont_cache AFTER INSERT OR UPDATE OR DELETE ON notes FOR EACH ROW EXECUTE "
           "FUNCTION dbont_cache_notify('memo')\n");
    /* unchanged: nothing */
    expect(NOTES_BODY "  cache-notify note tenant org\n", NOTES_BODY "  cache-notify note tenant org\n", NULL, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same),          cmocka_unit_test(test_columns),
        cmocka_unit_test(test_alter_column),  cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_tables),        cmocka_unit_test(test_renames),
        cmocka_unit_test(test_constraints),   cmocka_unit_test(test_result_order),
        cmocka_unit_test(test_reverse),       cmocka_unit_test(test_tenancy_on),
        cmocka_unit_test(test_tenancy_policies), cmocka_unit_test(test_tenancy_type_change),
        cmocka_unit_test(test_index_add_existing), cmocka_unit_test(test_index_new_table),
        cmocka_unit_test(test_index_definitions), cmocka_unit_test(test_index_drop),
        cmocka_unit_test(test_index_rename_table), cmocka_unit_test(test_index_rename_column),
        cmocka_unit_test(test_index_redefined), cmocka_unit_test(test_index_columns_changed),
        cmocka_unit_test(test_index_column_dropped), cmocka_unit_test(test_search_added),
        cmocka_unit_test(test_search_replaced), cmocka_unit_test(test_search_removed),
        cmocka_unit_test(test_search_app_role_changed), cmocka_unit_test(test_search_table_renamed),
        cmocka_unit_test(test_partition_new_table), cmocka_unit_test(test_partition_settings),
        cmocka_unit_test(test_partition_refusals), cmocka_unit_test(test_shard_refusals),
        cmocka_unit_test(test_partition_index),
        cmocka_unit_test(test_partition_drop), cmocka_unit_test(test_cache_triggers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
