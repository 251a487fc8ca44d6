/*
 * test_query_shard.c: query_shard.c without a server: which queries over
 * consistent-hash tables are routed (a top-level "key = ?" only, never a
 * guess), run in the tenant's session, fan out or are skipped; the merge
 * spec a fan-out gets (ORDER BY keys as result columns by position, name,
 * column or expression, PostgreSQL's NULLS defaults made explicit, text
 * keys COLLATE "C", LIMIT, aggregates per column) and the statement its
 * shards run; joins accepted on the shard keys; unsharded queries left
 * alone.  The refusals' exact messages are in tests/bad.
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
#include "query_shard.h"
#include "testutil.h"
#include "util.h"

#define TABLES                                                                                              \
    "@prefix db: <http://example.org/db/> .\n"                                                              \
    "@prefix mt: <http://example.org/multitenancy/> .\n"                                                    \
    "@prefix shard: <http://example.org/sharding/> .\n"                                                     \
    "db:TagsTable a db:Table ; db:columns (\n"                                                              \
    "  [ db:name \"name\" ; db:type \"text\" ; db:primaryKey true ]\n"                                      \
    "  [ db:name \"label\" ; db:type \"varchar(20)\" ]\n"                                                   \
    "  [ db:name \"uses\" ; db:type \"bigint\" ; db:nullable false ] ) .\n"                                 \
    "db:UsesTable a db:Table ; db:columns (\n"                                                              \
    "  [ db:name \"tag\" ; db:type \"text\" ; db:nullable false ]\n"                                        \
    "  [ db:name \"n\" ; db:type \"integer\" ; db:nullable false ] ) ; db:primaryKey (\"tag\" \"n\") .\n"   \
    "db:PlainTable a db:Table ; db:columns ( [ db:name \"id\" ; db:type \"integer\" ; db:primaryKey true ] ) .\n" \
    "db:OrgsTable a db:Table ; db:columns (\n"                                                              \
    "  [ db:name \"id\" ; db:type \"uuid\" ; db:primaryKey true ; mt:partOf mt:TenantKey ] ) .\n"           \
    "db:MembersTable a db:Table ; db:multiTenant true ; db:tenantIdColumn \"org_id\" ; db:columns (\n"      \
    "  [ db:name \"org_id\" ; db:type \"uuid\" ; db:nullable false ; db:references db:OrgsTable ]\n"        \
    "  [ db:name \"email\" ; db:type \"text\" ; db:nullable false ] ) ; db:primaryKey (\"org_id\" \"email\") .\n" \
    "shard:Tags a shard:Strategy ; shard:table db:TagsTable ; shard:algorithm \"consistent-hash\" ;\n"     \
    "  shard:key \"name\" ; shard:shardCount 4 .\n"                                                          \
    "shard:Uses a shard:Strategy ; shard:table db:UsesTable ; shard:algorithm \"consistent-hash\" ;\n"     \
    "  shard:key \"tag\" ; shard:shardCount 4 .\n"                                                           \
    "shard:Orgs a shard:Strategy ; shard:table db:OrgsTable ; shard:algorithm \"consistent-hash\" ;\n"     \
    "  shard:key \"id\" ; shard:shardCount 4 .\n"                                                            \
    "shard:Members a shard:Strategy ; shard:table db:MembersTable ; shard:algorithm \"consistent-hash\" ;\n" \
    "  shard:key \"org_id\" ; shard:shardCount 4 .\n"

typedef struct sharded {
    tu_loaded l;
    qplan *p;
    qshard *s;
    size_t n;
    bool ok;
    char *diags;
} sharded;

/* Plans the queries, types the expression columns named in texts (as the
 * server would: "name" text), and decides how each runs over shards. */
static void decide(sharded *x, const char *dir, const char *queries, const char *texts)
{
    char *text = xasprintf("%s%s", TABLES, queries);
    tu_load_text(&x->l, dir, "q.ttl", text);
    free(text);
    if (!x->l.check_ok)
        fail_msg("the ontology does not check:\n%s", x->l.text);
    tu_diag t;
    tu_diag_open(&t);
    if (!qplans_build(&x->l.m, &t.d, &x->p, &x->n))
        fail_msg("the queries do not plan:\n%s", tu_diag_text(&t));
    for (size_t i = 0; i < x->n; i++)
        for (size_t k = 0; k < x->p[i].ncols; k++)
            if (texts && strstr(texts, x->p[i].cols[k].name)) {
                x->p[i].cols[k].type.kind = ST_TEXT;
                x->p[i].cols[k].known = true;
            }
    x->ok = qshards_build(&x->l.m, x->p, x->n, &t.d, &x->s);
    x->diags = xstrdup(tu_diag_text(&t));
    tu_diag_close(&t);
}

static void undecide(sharded *x)
{
    qshards_free(x->s, x->n);
    qplans_free(x->p, x->n);
    free(x->diags);
    tu_unload(&x->l);
}

static qshard_kind kind_of(const char *dir, const char *text)
{
    sharded x;
    decide(&x, dir, text, NULL);
    if (!x.ok)
        fail_msg("refused:\n%s", x.diags);
    qshard_kind k = x.s[0].kind;
    undecide(&x);
    return k;
}

#define TAGS_WHERE(cond) "db:Q a db:Query ; db:from db:TagsTable ; db:where [ db:condition \"" cond "\" ] ; db:select (\"name\") .\n"

static void test_routing(void **state)
{
    sharded x;
    decide(&x, *state, TAGS_WHERE("uses > ? AND tags.name = ? AND label IS NOT NULL"), NULL);
    assert_true(x.ok);
    assert_int_equal(x.s[0].kind, QSHARD_ROUTED);
    assert_int_equal(x.s[0].key_param, 1); /* the second '?' */
    assert_string_equal(x.s[0].probe_sql, "SELECT EXISTS (SELECT 1 FROM tags WHERE name = $1)");
    undecide(&x);
    assert_int_equal(kind_of(*state, TAGS_WHERE("? = name")), QSHARD_ROUTED);
    assert_int_equal(kind_of(*state, TAGS_WHERE("name=? AND (uses > ? OR uses < ?)")), QSHARD_ROUTED);
    /* anything less certain runs everywhere */
    assert_int_equal(kind_of(*state, TAGS_WHERE("name = ? OR uses > ?")), QSHARD_FANOUT);
    assert_int_equal(kind_of(*state, TAGS_WHERE("uses BETWEEN ? AND ? AND name = ?")), QSHARD_FANOUT);
    assert_int_equal(kind_of(*state, TAGS_WHERE("(name = ?)")), QSHARD_FANOUT);
    assert_int_equal(kind_of(*state, TAGS_WHERE("name = ?::text")), QSHARD_FANOUT);
    assert_int_equal(kind_of(*state, TAGS_WHERE("NOT name = ? AND uses > 0")), QSHARD_FANOUT);
    assert_int_equal(kind_of(*state, TAGS_WHERE("label = ?")), QSHARD_FANOUT);
    assert_int_equal(kind_of(*state, TAGS_WHERE("lower(name) = ?")), QSHARD_FANOUT);
    assert_int_equal(kind_of(*state, TAGS_WHERE("name = 'x?' AND uses = ?")), QSHARD_FANOUT);
    /* the FROM table's key only */
    assert_int_equal(kind_of(*state, "db:Q a db:Query ; db:from db:TagsTable ;\n"
                                      "  db:join [ db:table db:UsesTable ; db:on \"uses.tag = tags.name\" ] ;\n"
                                      "  db:where [ db:condition \"uses.tag = ?\" ] ; db:select (\"tags.name\") .\n"),
                     QSHARD_FANOUT);
    /* unsharded: left alone */
    assert_int_equal(kind_of(*state, "db:Q a db:Query ; db:from db:PlainTable ; db:limit 3 .\n"), QSHARD_NONE);
}

static void test_tenant(void **state)
{
    sharded x;
    decide(&x, *state,
           "db:Q a db:Query ; db:from db:MembersTable ;\n"
           "  db:join [ db:table db:OrgsTable ; db:on \"orgs.id = members.org_id\" ] ;\n"
           "  db:where [ db:condition \"email LIKE ?\" ] ; db:select (\"members.email\" \"orgs.id\") .\n"
           "db:R a db:Query ; db:from db:OrgsTable ;\n"
           "  db:join [ db:type \"left\" ; db:table db:MembersTable ; db:on \"members.email = 'x'\" ] ;\n"
           "  db:select (\"orgs.id\" \"members.email\") .\n",
           NULL);
    assert_true(x.ok);
    assert_int_equal(x.s[0].kind, QSHARD_TENANT);
    assert_string_equal(x.s[0].probe_sql, "SELECT EXISTS (SELECT 1 FROM members WHERE org_id = $1)");
    /* a tenant session on one shard would show that shard's orgs only */
    assert_int_equal(x.s[1].kind, QSHARD_SKIPPED);
    assert_non_null(strstr(x.diags, "warning: query r joins multi-tenant table 'members' to 'orgs', which is not "
                                    "multi-tenant"));
    undecide(&x);
    /* a tenant's rows on every shard: nothing made, as for its table */
    decide(&x, *state,
           "db:NotesTable a db:Table ; db:multiTenant true ; db:tenantIdColumn \"org_id\" ; db:columns (\n"
           "  [ db:name \"org_id\" ; db:type \"uuid\" ; db:nullable false ]\n"
           "  [ db:name \"id\" ; db:type \"uuid\" ; db:primaryKey true ] ) .\n"
           "shard:Notes a shard:Strategy ; shard:table db:NotesTable ; shard:algorithm \"consistent-hash\" ;\n"
           "  shard:key \"id\" ; shard:shardCount 4 .\n"
           "db:Q a db:Query ; db:from db:NotesTable ; db:where [ db:condition \"id = ?\" ] .\n",
           NULL);
    assert_true(x.ok);
    assert_int_equal(x.s[0].kind, QSHARD_SKIPPED);
    assert_non_null(strstr(x.diags, "warning: query q reads multi-tenant table 'notes', which is sharded by 'id', not "
                                    "by its tenant column 'org_id'"));
    undecide(&x);
}

static void test_fanout_order(void **state)
{
    sharded x;
    decide(&x, *state,
           "db:Q a db:Query ; db:from db:TagsTable ; db:where [ db:condition \"uses > ?\" ] ;\n"
           "  db:select (\"name\" \"label AS l\" \"uses * 2 AS twice\") ;\n"
           "  db:orderBy (\"l DESC\" \"uses*2 NULLS FIRST\" \"1\") ; db:limit 5 .\n"
           "db:R a db:Query ; db:from db:TagsTable ; db:orderBy (\"tags.label COLLATE \\\"C\\\" DESC NULLS LAST\") .\n",
           NULL);
    assert_true(x.ok);
    qshard *s = &x.s[0];
    assert_int_equal(s->kind, QSHARD_FANOUT);
    assert_int_equal(s->norder, 3);
    assert_int_equal(s->order[0].column, 1);
    assert_true(s->order[0].descending);
    assert_true(s->order[0].nulls_first); /* DESC's default */
    assert_int_equal(s->order[1].column, 2);
    assert_false(s->order[1].descending);
    assert_true(s->order[1].nulls_first);
    assert_int_equal(s->order[2].column, 0);
    assert_false(s->order[2].nulls_first); /* ASC's default */
    assert_int_equal(s->limit, 5);
    assert_null(s->aggs);
    assert_string_equal(s->sql, "SELECT name, label AS l, uses * 2 AS twice FROM tags WHERE uses > $1 ORDER BY "
                                "label COLLATE \"C\" DESC NULLS FIRST, uses*2 ASC NULLS FIRST, name COLLATE \"C\" "
                                "ASC NULLS LAST LIMIT 5");
    /* no db:select: the table's columns; an explicit "C" kept */
    s = &x.s[1];
    assert_int_equal(s->norder, 1);
    assert_int_equal(s->order[0].column, 1);
    assert_false(s->order[0].nulls_first);
    assert_int_equal(s->limit, -1);
    assert_string_equal(s->sql, "SELECT tags.name, tags.label, tags.uses FROM tags ORDER BY tags.label COLLATE \"C\" "
                                "DESC NULLS LAST");
    undecide(&x);
}

static void test_fanout_aggregates(void **state)
{
    sharded x;
    decide(&x, *state,
           "db:Q a db:Query ; db:from db:TagsTable ;\n"
           "  db:select (\"tags.label\" \"COUNT(*) AS n\" \"sum(uses) AS total\" \"pg_catalog.min(name) AS first\"\n"
           "             \"max( ALL lower(name) ) AS last\" \"count(label) AS labelled\") ;\n"
           "  db:groupBy (\"label\") ; db:orderBy (\"n DESC\") ; db:limit 3 .\n"
           "db:R a db:Query ; db:from db:TagsTable ; db:select (\"count(*) AS n\" \"max(uses) AS top\") .\n",
           "first last");
    assert_true(x.ok);
    qshard *s = &x.s[0];
    assert_int_equal(s->kind, QSHARD_FANOUT);
    assert_non_null(s->aggs);
    assert_int_equal(s->aggs[0], QSHARD_GROUP);
    assert_int_equal(s->aggs[1], QSHARD_COUNT);
    assert_int_equal(s->aggs[2], QSHARD_SUM);
    assert_int_equal(s->aggs[3], QSHARD_MIN);
    assert_int_equal(s->aggs[4], QSHARD_MAX);
    assert_int_equal(s->aggs[5], QSHARD_COUNT);
    assert_int_equal(s->norder, 1);
    assert_int_equal(s->order[0].column, 1);
    assert_int_equal(s->limit, 3);
    /* every group from every shard: no ORDER BY, no LIMIT; text min/max bytewise */
    assert_string_equal(s->sql, "SELECT tags.label, COUNT(*) AS n, sum(uses) AS total, pg_catalog.min(name COLLATE "
                                "\"C\") AS first, max( ALL (lower(name)) COLLATE \"C\") AS last, count(label) AS "
                                "labelled FROM tags GROUP BY label");
    /* nothing to rewrite: the query's own statement */
    s = &x.s[1];
    assert_int_equal(s->aggs[0], QSHARD_COUNT);
    assert_int_equal(s->aggs[1], QSHARD_MAX);
    assert_string_equal(s->sql, x.p[1].sql);
    undecide(&x);
}

static void test_joins(void **state)
{
    sharded x;
    decide(&x, *state,
           "db:Q a db:Query ; db:from db:TagsTable ;\n"
           "  db:join [ db:type \"full\" ; db:table db:UsesTable ; db:on \"uses.n > 0 AND tags.name = uses.tag\" ] ;\n"
           "  db:select (\"tags.name\" \"uses.n\") .\n",
           NULL);
    assert_true(x.ok);
    assert_int_equal(x.s[0].kind, QSHARD_FANOUT);
    undecide(&x);
    decide(&x, *state,
           "db:Q a db:Query ; db:from db:TagsTable ;\n"
           "  db:join [ db:table db:UsesTable ; db:on \"tags.name = uses.tag OR uses.n = 0\" ] ;\n"
           "  db:select (\"tags.name\" \"uses.n\") .\n",
           NULL);
    assert_false(x.ok);
    assert_non_null(strstr(x.diags, "does not equate its shard key 'uses.tag'"));
    undecide(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routing, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_tenant, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_fanout_order, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_fanout_aggregates, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_joins, tu_setup_tmpdir, tu_teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
