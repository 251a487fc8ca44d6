/*
 * test_explain.c: the part of dbont-gen --explain that needs no server,
 * foreign keys without an index (explain_foreign_keys): which indexes
 * count (primary key, unique constraint, idx:Index leading with the
 * foreign key's columns in any order; not a partial index, not gin, not
 * one where the column comes second), references kept inside a tenant
 * (tenant, column), and the exact warnings at the columns' places.  The
 * plans' part is tests/explain (it needs PostgreSQL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "explain.h"
#include "testutil.h"
#include "util.h"

#define PFX                                         \
    "@prefix db: <http://example.org/db/> .\n"      \
    "@prefix idx: <http://example.org/indexing/> .\n"

/* The foreign-key warnings for the ontology text, flushed as text. */
static char *fk_warnings(const char *dir, const char *text, unsigned *count)
{
    tu_loaded l;
    tu_load_text(&l, dir, "fk.ttl", text);
    if (!l.check_ok)
        fail_msg("the ontology does not check:\n%s", l.text);
    tu_diag t;
    tu_diag_open(&t);
    *count = explain_foreign_keys(&l.m, &t.d);
    char *out = xstrdup(tu_diag_text(&t));
    tu_diag_close(&t);
    tu_unload(&l);
    return out;
}

static void test_which_indexes_count(void **state)
{
    const char *dir = *state;
    unsigned n;
    char *got = fk_warnings(dir, PFX
        "db:UsersTable a db:Table ; db:columns (\n"                                                     /* 3 */
        "  [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ] ) .\n"                           /* 4 */
        "db:PostsTable a db:Table ; db:columns (\n"                                                     /* 5 */
        "  [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"                               /* 6 */
        "  [ db:name \"user_id\" ; db:type \"integer\" ; db:references db:UsersTable ]\n"                /* 7 */
        "  [ db:name \"editor_id\" ; db:type \"integer\" ; db:references db:UsersTable ]\n"              /* 8 */
        "  [ db:name \"reviewer_id\" ; db:type \"integer\" ; db:references db:UsersTable ]\n"            /* 9 */
        "  [ db:name \"checker_id\" ; db:type \"integer\" ; db:references db:UsersTable ]\n"             /* 10 */
        "  [ db:name \"tagger_id\" ; db:type \"integer\" ; db:references db:UsersTable ]\n"              /* 11 */
        "  [ db:name \"owner_id\" ; db:type \"integer\" ; db:references db:UsersTable ; db:unique true ]\n" /* 12 */
        "  [ db:name \"sharer_id\" ; db:type \"integer\" ; db:references db:UsersTable ] ) .\n"          /* 13 */
        "db:TagsTable a db:Table ; db:columns (\n"                                                      /* 14 */
        "  [ db:name \"post_id\" ; db:type \"integer\" ; db:references db:PostsTable ]\n"                /* 15 */
        "  [ db:name \"tag\" ; db:type \"text\" ] ) ; db:primaryKey (\"post_id\" \"tag\") .\n"           /* 16 */
        "db:LabelsTable a db:Table ; db:columns (\n"                                                    /* 17 */
        "  [ db:name \"label\" ; db:type \"text\" ]\n"                                                   /* 18 */
        "  [ db:name \"post_id\" ; db:type \"integer\" ; db:references db:PostsTable ] ) ;\n"            /* 19 */
        "  db:primaryKey (\"label\" \"post_id\") .\n"
        "db:E a idx:Index ; idx:table db:PostsTable ; idx:columns (\"editor_id\" \"id\") .\n"
        "db:R a idx:Index ; idx:table db:PostsTable ; idx:columns (\"id\" \"reviewer_id\") .\n"
        "db:C a idx:Index ; idx:table db:PostsTable ; idx:columns (\"checker_id\") ;\n"
        "  idx:partialPredicate \"checker_id IS NOT NULL\" .\n"
        "db:T a idx:Index ; idx:table db:PostsTable ; idx:columns (\"tagger_id\") ; idx:type \"hash\" .\n"
        "db:S a idx:Index ; idx:table db:PostsTable ; idx:columns (\"sharer_id\") ; idx:type \"brin\" .\n",
        &n);
    /* the folder's name, five times */
    const char *d = dir;
    char *want = xasprintf(
        "%s/fk.ttl:7:3: warning: foreign key posts.user_id has no index: joins and ON DELETE checks on it scan "
        "posts; add idx:Index with idx:table db:PostsTable and idx:columns (\"user_id\")\n"
        "%s/fk.ttl:9:3: warning: foreign key posts.reviewer_id has no index: joins and ON DELETE checks on it "
        "scan posts; add idx:Index with idx:table db:PostsTable and idx:columns (\"reviewer_id\")\n"
        "%s/fk.ttl:10:3: warning: foreign key posts.checker_id has no index: joins and ON DELETE checks on it "
        "scan posts; add idx:Index with idx:table db:PostsTable and idx:columns (\"checker_id\")\n"
        "%s/fk.ttl:13:3: warning: foreign key posts.sharer_id has no index: joins and ON DELETE checks on it "
        "scan posts; add idx:Index with idx:table db:PostsTable and idx:columns (\"sharer_id\")\n"
        "%s/fk.ttl:19:3: warning: foreign key labels.post_id has no index: joins and ON DELETE checks on it "
        "scan labels; add idx:Index with idx:table db:LabelsTable and idx:columns (\"post_id\")\n",
        d, d, d, d, d);
    assert_string_equal(got, want);
    assert_int_equal(n, 5);
    free(got);
    free(want);
}

static void test_tenant_references(void **state)
{
    unsigned n;
    char *got = fk_warnings(*state, PFX
        "@prefix mt: <http://example.org/multi-tenancy/> .\n"                                           /* 3 */
        "db:ProjectsTable a db:Table ; db:multiTenant true ; db:tenantIdColumn \"account_id\" ;\n"      /* 4 */
        "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"                  /* 5 */
        "    [ db:name \"account_id\" ; db:type \"bigint\" ; db:nullable false ] ) .\n"                  /* 6 */
        "db:ATable a db:Table ; db:multiTenant true ; db:tenantIdColumn \"account_id\" ;\n"             /* 7 */
        "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"                  /* 8 */
        "    [ db:name \"account_id\" ; db:type \"bigint\" ; db:nullable false ]\n"                      /* 9 */
        "    [ db:name \"project_id\" ; db:type \"integer\" ; db:references db:ProjectsTable ] ) .\n"    /* 10 */
        "db:BTable a db:Table ; db:multiTenant true ; db:tenantIdColumn \"account_id\" ;\n"             /* 11 */
        "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"                  /* 12 */
        "    [ db:name \"account_id\" ; db:type \"bigint\" ; db:nullable false ]\n"                      /* 13 */
        "    [ db:name \"project_id\" ; db:type \"integer\" ; db:references db:ProjectsTable ] ) .\n"    /* 14 */
        "db:CTable a db:Table ; db:multiTenant true ; db:tenantIdColumn \"account_id\" ;\n"             /* 15 */
        "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"                  /* 16 */
        "    [ db:name \"account_id\" ; db:type \"bigint\" ; db:nullable false ]\n"                      /* 17 */
        "    [ db:name \"project_id\" ; db:type \"integer\" ; db:references db:ProjectsTable ] ) .\n"    /* 18 */
        "db:DTable a db:Table ; db:multiTenant true ; db:tenantIdColumn \"account_id\" ;\n"             /* 19 */
        "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"                  /* 20 */
        "    [ db:name \"account_id\" ; db:type \"bigint\" ; db:nullable false ]\n"                      /* 21 */
        "    [ db:name \"project_id\" ; db:type \"integer\" ; db:references db:ProjectsTable ] ) .\n"    /* 22 */
        /* a: only the tenant column: warned; b: both, tenant first; c: both,
         * column first; d: the column alone */
        "db:IA a idx:Index ; idx:table db:ATable ; idx:columns (\"account_id\") .\n"
        "db:IB a idx:Index ; idx:table db:BTable ; idx:columns (\"account_id\" \"project_id\") .\n"
        "db:IC a idx:Index ; idx:table db:CTable ; idx:columns (\"project_id\" \"account_id\") .\n"
        "db:ID a idx:Index ; idx:table db:DTable ; idx:columns (\"project_id\") .\n",
        &n);
    char *want = xasprintf("%s/fk.ttl:10:5: warning: foreign key a.project_id (FOREIGN KEY (account_id, project_id), "
                           "kept inside the tenant) has no index: joins and ON DELETE checks on it scan a; add "
                           "idx:Index with idx:table db:ATable and idx:columns (\"account_id\" \"project_id\")\n",
                           (const char *)*state);
    assert_string_equal(got, want);
    assert_int_equal(n, 1);
    free(got);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_which_indexes_count, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_tenant_references, tu_setup_tmpdir, tu_teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
