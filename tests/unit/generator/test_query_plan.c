/*
 * test_query_plan.c: query_plan.c and query_types.c without a server: the
 * SQL of a db:Query, '?' numbering (where, then having; not inside quotes),
 * parameter names and offline types, result columns and their
 * nullability across outer joins, the errors at their ontology places,
 * and the query types cache (written, read back, stale entries ignored).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query_plan.h"
#include "query_types.h"
#include "testutil.h"
#include "util.h"

#define TABLES                                                                                         \
    "@prefix db: <http://example.org/db/> .\n"                                                         \
    "db:UsersTable a db:Table ; db:columns (\n"                                                        \
    "  [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"                                  \
    "  [ db:name \"email\" ; db:type \"text\" ; db:nullable false ]\n"                                 \
    "  [ db:name \"name\" ; db:type \"varchar(40)\" ]\n"                                                \
    "  [ db:name \"created_at\" ; db:type \"timestamptz\" ; db:nullable false ; db:default \"now()\" ] ) .\n" \
    "db:PostsTable a db:Table ; db:columns (\n"                                                        \
    "  [ db:name \"id\" ; db:type \"bigserial\" ; db:primaryKey true ]\n"                               \
    "  [ db:name \"user_id\" ; db:type \"integer\" ; db:nullable false ; db:references db:UsersTable ]\n" \
    "  [ db:name \"title\" ; db:type \"text\" ; db:nullable false ] ) .\n"

typedef struct planned {
    tu_loaded l;
    qplan *p;
    size_t n;
    bool ok;
    char *diags;
} planned;

static void plan(planned *x, const char *dir, const char *queries)
{
    char *text = xasprintf("%s%s", TABLES, queries);
    tu_load_text(&x->l, dir, "q.ttl", text);
    free(text);
    if (!x->l.check_ok)
        fail_msg("the ontology does not check:\n%s", x->l.text);
    tu_diag t;
    tu_diag_open(&t);
    x->ok = qplans_build(&x->l.m, &t.d, &x->p, &x->n);
    x->diags = xstrdup(tu_diag_text(&t));
    tu_diag_close(&t);
}

static void unplan(planned *x)
{
    qplans_free(x->p, x->n);
    free(x->diags);
    tu_unload(&x->l);
}

/* Plans one query and expects an error containing want (with its place). */
static void expect_error(const char *dir, const char *text, const char *want)
{
    planned x;
    plan(&x, dir, text);
    bool found = strstr(x.diags, want) != NULL;
    char *got = xstrdup(x.diags);
    bool ok = x.ok;
    unplan(&x);
    if (ok || !found)
        fail_msg("wanted an error with '%s', got (ok=%d):\n%s", want, ok, got);
    free(got);
}

static void test_user_query(void **state)
{
    planned x;
    plan(&x, *state,
         "db:UserQuery a db:Query ; db:from db:UsersTable ;\n"
         "  db:where [ db:condition \"email = ?\" ; db:params (\"a@b.c\") ] ;\n"
         "  db:select (\"id\" \"users.email\" \"name\") ; db:orderBy (\"created_at DESC\") ; db:limit 10 .\n");
    assert_true(x.ok);
    assert_int_equal(x.n, 1);
    qplan *p = &x.p[0];
    assert_string_equal(p->sql, "SELECT id, users.email, name FROM users WHERE email = $1 ORDER BY created_at DESC LIMIT 10");
    assert_int_equal(p->returns, QR_MANY);
    assert_int_equal(p->nparams, 1);
    assert_string_equal(p->params[0].name, "email");
    assert_true(p->params[0].known);
    assert_int_equal(p->params[0].type.kind, ST_TEXT);
    assert_int_equal(p->ncols, 3);
    assert_string_equal(p->cols[0].name, "id");
    assert_int_equal(p->cols[0].type.kind, ST_INTEGER); /* serial's values */
    assert_true(p->cols[0].not_null);
    assert_string_equal(p->cols[1].name, "email");
    assert_true(p->cols[1].not_null);
    assert_string_equal(p->cols[2].name, "name");
    assert_int_equal(p->cols[2].type.kind, ST_VARCHAR);
    assert_false(p->cols[2].not_null);
    assert_null(p->row_table);
    unplan(&x);
}

static void test_placeholders(void **state)
{
    planned x;
    plan(&x, *state,
         "db:Q a db:Query ; db:from db:UsersTable ;\n"
         "  db:where [ db:condition \"name <> '?' AND \\\"email\\\" <> 'a?b' AND email = ? AND created_at > ?\" ] ;\n"
         "  db:groupBy (\"users.id\") ; db:having \"COUNT(*) > ?\" ; db:havingParams (2) .\n");
    assert_true(x.ok);
    qplan *p = &x.p[0];
    assert_non_null(strstr(p->sql, "WHERE name <> '?' AND \"email\" <> 'a?b' AND email = $1 AND created_at > $2 "
                                   "GROUP BY users.id HAVING COUNT(*) > $3"));
    assert_int_equal(p->nparams, 3);
    assert_string_equal(p->params[0].name, "email");
    assert_string_equal(p->params[1].name, "created_at");
    assert_int_equal(p->params[1].type.kind, ST_TIMESTAMPTZ);
    assert_string_equal(p->params[2].name, "count");
    assert_int_equal(p->params[2].type.kind, ST_BIGINT); /* from the example value 2 */
    /* no db:select: the FROM table's rows */
    assert_ptr_equal(p->row_table, tu_table(&x.l.m, "users"));
    assert_non_null(strstr(p->sql, "SELECT users.id, users.email, users.name, users.created_at FROM users"));
    unplan(&x);
}

static void test_param_names(void **state)
{
    planned x;
    plan(&x, *state,
         "db:A a db:Query ; db:from db:UsersTable ;\n"
         "  db:where [ db:condition \"lower(email) = ? AND created_at >= ? AND created_at < ? AND id = ?\" ;\n"
         "             db:params (\"x\" \"2020-01-01\" \"2021-01-01\" 1) ] .\n"
         "db:B a db:Query ; db:from db:UsersTable ;\n"
         "  db:where [ db:condition \"email LIKE ? OR name ILIKE ?\" ] ; db:paramNames (\"pattern\" \"default\") .\n");
    assert_true(x.ok);
    qplan *a = &x.p[0], *b = &x.p[1];
    assert_string_equal(a->params[0].name, "lower_email");
    assert_int_equal(a->params[0].type.kind, ST_TEXT); /* the example value */
    assert_string_equal(a->params[1].name, "created_at");
    assert_string_equal(a->params[2].name, "created_at_2");
    assert_string_equal(a->params[3].name, "id");
    assert_int_equal(a->params[3].type.kind, ST_INTEGER); /* the column, not the example */
    assert_string_equal(b->params[0].name, "pattern");
    assert_string_equal(b->params[1].name, "default_"); /* a C keyword */
    assert_int_equal(b->params[1].type.kind, ST_VARCHAR);
    unplan(&x);
}

static void test_joins(void **state)
{
    planned x;
    plan(&x, *state,
         "db:L a db:Query ; db:from db:UsersTable ;\n"
         "  db:join [ db:type \"left\" ; db:table db:PostsTable ; db:on \"users.id = posts.user_id\" ] ;\n"
         "  db:select (\"users.email\" \"posts.title\" \"COUNT(posts.id) AS Post_Count\") ;\n"
         "  db:groupBy (\"users.email\" \"posts.title\") .\n"
         "db:R a db:Query ; db:from db:UsersTable ;\n"
         "  db:join [ db:type \"right\" ; db:table db:PostsTable ; db:on \"users.id = posts.user_id\" ] ;\n"
         "  db:select (\"users.email\" \"posts.title\") ; db:limit 1 .\n");
    assert_true(x.ok);
    qplan *l = &x.p[0], *r = &x.p[1];
    assert_non_null(strstr(l->sql, "FROM users LEFT JOIN posts ON users.id = posts.user_id GROUP BY"));
    assert_true(l->cols[0].not_null);   /* users.email, on the inner side */
    assert_false(l->cols[1].not_null);  /* posts.title, outer side of a LEFT JOIN */
    assert_string_equal(l->cols[2].name, "post_count"); /* the alias, folded */
    assert_false(l->cols[2].known);     /* an expression: the server tells */
    assert_true(l->cols[2].count);
    assert_true(l->cols[2].not_null);   /* COUNT is never NULL */
    assert_false(r->cols[0].not_null);  /* users: before a RIGHT JOIN */
    assert_true(r->cols[1].not_null);
    assert_int_equal(r->returns, QR_ONE); /* db:limit 1 */
    unplan(&x);
}

static void test_errors(void **state)
{
    const char *dir = *state;
    expect_error(dir, "db:Q a db:Query ; db:from db:UsersTable ; db:where [ db:condition \"email = ?; DROP TABLE users\" ] .\n",
                 "q.ttl:11:67: error: db:condition must be one SQL expression: ';' is not allowed");
    expect_error(dir, "db:Q a db:Query ; db:from db:UsersTable ; db:where [ db:condition \"email = ? -- x\" ] .\n",
                 "error: db:condition must be one SQL expression: comment '--' is not allowed");
    expect_error(dir, "db:Q a db:Query ; db:from db:UsersTable ; db:orderBy (\"email, id\") .\n",
                 "error: a db:orderBy item must be one SQL expression: ',' outside parentheses");
    expect_error(dir, "db:Q a db:Query ; db:from db:UsersTable ;\n"
                      "  db:join [ db:table db:PostsTable ; db:on \"posts.user_id = ?\" ] .\n",
                 "q.ttl:12:44: error: db:on cannot hold a '?' parameter");
    expect_error(dir, "db:Q a db:Query ; db:from db:UsersTable ; db:select (\"lower(email)\") .\n",
                 "error: select item 'lower(email)' is an expression: give it a name with AS");
    expect_error(dir, "db:Q a db:Query ; db:from db:UsersTable ;\n"
                      "  db:join [ db:table db:PostsTable ; db:on \"users.id = posts.user_id\" ] ; db:select (\"id\") .\n",
                 "error: column 'id' is in more than one of the query's tables; qualify it (table.id)");
    expect_error(dir, "db:Q a db:Query ; db:from db:UsersTable ; db:select (\"nope\") .\n",
                 "error: 'nope' is not a column of the query's tables");
    expect_error(dir, "db:Q a db:Query ; db:from db:UsersTable ;\n"
                      "  db:join [ db:type \"right\" ; db:table db:PostsTable ; db:on \"users.id = posts.user_id\" ] .\n",
                 "has no db:select, so it returns rows of table 'users', but a join makes that table's columns "
                 "nullable");
    expect_error(dir, "db:Q a db:Query ; db:from db:UsersTable ; db:where [ db:condition \"email = ?\" ; "
                      "db:params (1 2) ] .\n",
                 "error: db:params gives 2 example values for 1 '?' in the condition");
    expect_error(dir, "db:Q a db:Query ; db:from db:UsersTable ; db:where [ db:condition \"email = ?\" ] ; "
                      "db:paramNames (\"a\" \"b\") .\n",
                 "error: db:paramNames gives 2 names for 1 parameters");
    expect_error(dir, "db:Q a db:Query ; db:from db:UsersTable ; db:select (\"email\") ; db:resultNotNull (\"mail\") .\n",
                 "error: 'mail' is not a result column of this query");
}

static void test_place(void **state)
{
    planned x;
    plan(&x, *state, "db:Q a db:Query ; db:from db:UsersTable ;\n  db:where [ db:condition \"emial = 'x'\" ] .\n");
    assert_true(x.ok);
    const qplan *p = &x.p[0];
    /* PostgreSQL would say: position of "emial" in the statement */
    const char *at = strstr(p->sql, "emial");
    dpos pos = qplan_place(p, (size_t)(at - p->sql) + 1);
    assert_string_equal(tu_bpos(pos), "q.ttl:12:28");
    /* outside any fragment: the query */
    pos = qplan_place(p, 1);
    assert_string_equal(tu_bpos(pos), "q.ttl:11:1");
    unplan(&x);
}

static void test_cache(void **state)
{
    const char *dir = *state;
    static const char queries[] = "db:C a db:Query ; db:from db:UsersTable ;\n"
                                  "  db:select (\"email\" \"COUNT(*) AS n\") ; db:groupBy (\"email\") ;\n"
                                  "  db:resultNullable (\"email\") .\n";
    planned x;
    plan(&x, dir, queries);
    assert_true(x.ok);
    /* what the server would say */
    x.p[0].cols[1].type.kind = ST_BIGINT;
    x.p[0].cols[1].known = true;
    qplan_apply_overrides(&x.p[0]);
    assert_false(x.p[0].cols[0].not_null); /* db:resultNullable */
    char *text = qtypes_render(x.p, x.n, "9.9.9", "q.ttl");
    char *expect = xasprintf("query c %016llx\n  column email text\n  column n bigint not-null\n", x.p[0].hash);
    assert_non_null(strstr(text, expect));
    free(expect);
    char *path = tu_write(dir, "q.querytypes", text);
    unplan(&x);

    /* read back into a fresh plan: the types are known again */
    planned y;
    plan(&y, dir, queries);
    assert_false(y.p[0].cols[1].known);
    tu_diag t;
    tu_diag_open(&t);
    assert_true(qtypes_load(path, y.p, y.n, &t.d));
    assert_true(y.p[0].cols[1].known);
    assert_int_equal(y.p[0].cols[1].type.kind, ST_BIGINT);
    assert_true(qtypes_require(y.p, y.n, path, &t.d));
    unplan(&y);

    /* another statement (the query changed): the entry is stale */
    planned z;
    plan(&z, dir, "db:C a db:Query ; db:from db:UsersTable ;\n"
                  "  db:select (\"email\" \"COUNT(*) AS n\") ; db:groupBy (\"email\") ; db:limit 5 .\n");
    assert_true(qtypes_load(path, z.p, z.n, &t.d));
    assert_false(z.p[0].cols[1].known);
    assert_false(qtypes_require(z.p, z.n, path, &t.d));
    bool said = strstr(tu_diag_text(&t), "the type of result column 'n' of query c comes from PostgreSQL: run "
                                         "dbont-gen --check-dsn DSN once") != NULL;
    unplan(&z);
    tu_diag_close(&t);
    free(text);
    free(path);
    assert_true(said);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_user_query, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_placeholders, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_param_names, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_joins, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_errors, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_place, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_cache, tu_setup_tmpdir, tu_teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
