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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same),          cmocka_unit_test(test_columns),
        cmocka_unit_test(test_alter_column),  cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_tables),        cmocka_unit_test(test_renames),
        cmocka_unit_test(test_constraints),   cmocka_unit_test(test_result_order),
        cmocka_unit_test(test_reverse),       cmocka_unit_test(test_tenancy_on),
        cmocka_unit_test(test_tenancy_policies), cmocka_unit_test(test_tenancy_type_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
