/*
 * test_reader_model.c: the front end end to end, without a database:
 * Turtle files in a temporary folder are read (reader.c, graph.c), built
 * into the model (build.c) and checked (check.c).  The tests assert the
 * model's contents, the source positions of triples and model values, and
 * the exact text of a few diagnostics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "graph.h"
#include "model.h"
#include "testutil.h"
#include "util.h"
#include "vocab.h"

#define PFX "@prefix db: <http://example.org/db/> .\n"

/* Loads text as dir/name and expects no diagnostic at all. */
static void load_clean(tu_loaded *l, const char *dir, const char *name, const char *text)
{
    tu_load_text(l, dir, name, text);
    if (l->text[0] || !l->read_ok || !l->build_ok || !l->check_ok)
        fail_msg("unexpected diagnostics (read %d build %d check %d):\n%s", l->read_ok, l->build_ok,
                 l->check_ok, l->text);
}

/* The path dir/name, in a static buffer. */
static const char *path_of(const char *dir, const char *name)
{
    static char p[4][1024];
    static unsigned next;
    char *s = p[next++ % 4];
    snprintf(s, 1024, "%s/%s", dir, name);
    return s;
}

/* The only triple (s, p, ?) where s and p are IRIs and, when o_literal is
 * given, the object is that literal; fails when there is not exactly one. */
static const triple *find_triple(const graph *g, const char *s_iri, node_id s, const char *p_iri,
                                 const char *o_value)
{
    node_id p = graph_find_iri(g, p_iri);
    assert_int_not_equal(p, NO_NODE);
    if (s_iri) {
        s = graph_find_iri(g, s_iri);
        assert_int_not_equal(s, NO_NODE);
    }
    const triple *found = NULL;
    size_t count = 0;
    for (size_t i = 0; i < g->ntriples; i++) {
        const triple *t = &g->triples[i];
        if (t->p != p || (s != NO_NODE && t->s != s))
            continue;
        if (o_value && strcmp(graph_node(g, t->o)->value, o_value) != 0)
            continue;
        found = t;
        count++;
    }
    if (count != 1)
        fail_msg("%zu triples match (%s, %s, %s)", count, s_iri ? s_iri : "?", p_iri,
                 o_value ? o_value : "?");
    return found;
}

static void expect_pos(dpos p, const char *file, unsigned line, unsigned col)
{
    assert_non_null(p.file);
    assert_string_equal(p.file, file);
    assert_int_equal(p.line, line);
    assert_int_equal(p.col, col);
}

/* ---- the graph on its own ---------------------------------------------------- */

static void test_graph_nodes(void **state)
{
    (void)state;
    graph g;
    graph_init(&g);
    assert_int_equal(graph_find_iri(&g, RDF_NS "type"), g.rdf_type);
    assert_int_equal(graph_find_iri(&g, RDF_NS "nil"), g.rdf_nil);
    assert_int_equal(graph_find_iri(&g, DB_NS "Table"), NO_NODE);

    node_id a = graph_iri(&g, DB_NS "Table");
    assert_int_equal(graph_iri(&g, DB_NS "Table"), a);
    assert_int_equal(graph_find_iri(&g, DB_NS "Table"), a);
    /* kind, datatype and language are part of a node's identity */
    node_id blank = graph_intern(&g, NODE_BLANK, DB_NS "Table", NULL, NULL);
    node_id lit = graph_intern(&g, NODE_LITERAL, "1", NULL, NULL);
    node_id lit_int = graph_intern(&g, NODE_LITERAL, "1", XSD_NS "integer", NULL);
    node_id lit_en = graph_intern(&g, NODE_LITERAL, "1", NULL, "en");
    assert_int_not_equal(blank, a);
    assert_int_not_equal(lit, lit_int);
    assert_int_not_equal(lit, lit_en);
    assert_int_not_equal(lit_int, lit_en);
    assert_int_equal(graph_intern(&g, NODE_LITERAL, "1", XSD_NS "integer", NULL), lit_int);
    assert_true(graph_is_xsd(&g, lit_int, "integer"));
    assert_false(graph_is_xsd(&g, lit_int, "int"));
    assert_false(graph_is_xsd(&g, lit, "string"));
    assert_false(graph_is_xsd(&g, a, "integer"));
    assert_string_equal(graph_node(&g, lit_en)->lang, "en");

    /* enough nodes to grow the table several times */
    node_id ids[2000];
    for (unsigned i = 0; i < 2000; i++) {
        char iri[64];
        snprintf(iri, sizeof iri, "http://x/n%u", i);
        ids[i] = graph_iri(&g, iri);
    }
    for (unsigned i = 0; i < 2000; i++) {
        char iri[64];
        snprintf(iri, sizeof iri, "http://x/n%u", i);
        assert_int_equal(graph_find_iri(&g, iri), ids[i]);
        assert_string_equal(graph_node(&g, ids[i])->value, iri);
    }
    assert_int_equal(graph_find_iri(&g, DB_NS "Table"), a);

    /* the subject index keeps source order within a subject */
    graph_add_triple(&g, ids[1], g.rdf_type, a);
    graph_add_triple(&g, ids[2], g.rdf_type, a);
    graph_add_triple(&g, ids[1], g.rdf_first, lit);
    graph_index(&g);
    const uint32_t *idx;
    assert_int_equal(graph_subject(&g, ids[1], &idx), 2);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 2);
    assert_int_equal(graph_subject(&g, ids[3], &idx), 0);
    assert_int_equal(graph_subject(&g, NO_NODE, &idx), 0);
    assert_null(idx);
    graph_free(&g);
}

/* ---- one table ------------------------------------------------------------ */

static const char users_ttl[] =
    PFX
    "db:UsersTable a db:Table ;\n"
    "  db:columns (\n"
    "    [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"
    "    [ db:name \"email\" ; db:type \"VARCHAR(255)\" ; db:nullable false ; db:unique true ]\n"
    "    [ db:name \"is_active\" ; db:type \"boolean\" ; db:default \"true\" ]\n"
    "    [ db:name \"score\" ; db:type \"numeric(10, 2)\" ; db:nullable true ]\n"
    "    [ db:name \"created_at\" ; db:type \"timestamptz\" ; db:default \"now()\" ]\n"
    "  ) .\n";

static void test_one_table(void **state)
{
    const char *dir = *state;
    tu_loaded l;
    load_clean(&l, dir, "users.ttl", users_ttl);
    const char *file = path_of(dir, "users.ttl");

    assert_int_equal(l.g.nfiles, 1);
    assert_string_equal(l.g.files[0], file);

    assert_int_equal(l.m.ntables, 1);
    table *t = l.m.tables[0];
    assert_string_equal(t->iri, DB_NS "UsersTable");
    assert_null(t->table_name.v);
    assert_string_equal(t->name, "users");
    assert_string_equal(t->sql, "users");
    assert_string_equal(t->c_name, "users");
    expect_pos(t->pos, file, 2, 1);
    assert_true(t->columns_set);
    expect_pos(t->columns_pos, file, 3, 14);
    assert_int_equal(t->build_errors, 0);

    assert_int_equal(t->ncols, 5);
    static const char *const names[] = {"id", "email", "is_active", "score", "created_at"};
    static const sqltype_kind kinds[] = {ST_SERIAL, ST_VARCHAR, ST_BOOLEAN, ST_NUMERIC, ST_TIMESTAMPTZ};
    static const bool not_null[] = {true, true, false, false, false};
    static const bool has_default[] = {true, false, true, false, true};
    for (size_t i = 0; i < 5; i++) {
        column *c = &t->cols[i];
        assert_string_equal(c->name.v, names[i]);
        assert_int_equal(c->stype.kind, kinds[i]);
        assert_int_equal(c->not_null, not_null[i]);
        assert_int_equal(c->has_default, has_default[i]);
        assert_string_equal(c->sql, names[i]);
        assert_string_equal(c->c_name, names[i]);
        assert_null(c->ref_table);
        /* each column starts at its '[' on its own line */
        expect_pos(c->pos, file, (unsigned)(4 + i), 5);
        expect_pos(c->name.pos, file, (unsigned)(4 + i), 15);
    }
    column *id = &t->cols[0], *email = &t->cols[1], *active = &t->cols[2], *score = &t->cols[3];
    assert_string_equal(id->type.v, "serial");
    expect_pos(id->type.pos, file, 4, 30);
    assert_true(id->primary_key.set && id->primary_key.v);
    expect_pos(id->primary_key.pos, file, 4, 55);
    assert_false(id->nullable.set);
    assert_null(id->default_sql.v);

    assert_string_equal(email->type.v, "VARCHAR(255)");
    assert_int_equal(email->stype.length, 255);
    assert_true(email->nullable.set);
    assert_false(email->nullable.v);
    assert_true(email->unique.set && email->unique.v);

    assert_string_equal(active->default_sql.v, "true");
    assert_string_equal(t->cols[4].default_sql.v, "now()");

    assert_int_equal(score->stype.precision, 10);
    assert_int_equal(score->stype.scale, 2);
    assert_true(score->nullable.set && score->nullable.v);

    assert_int_equal(t->npk, 1);
    assert_int_equal(t->pk[0], 0);
    assert_string_equal(t->pk_name, "users_pkey");
    assert_int_equal(t->nunique_sets, 1);
    assert_int_equal(t->unique_sizes[0], 1);
    assert_int_equal(t->unique_sets[0][0], 1);
    assert_string_equal(t->unique_names[0], "users_email_key");

    /* triples keep the place of their subject, predicate and object */
    const triple *ty = find_triple(&l.g, DB_NS "UsersTable", NO_NODE, RDF_NS "type", NULL);
    expect_pos(ty->spos, file, 2, 1);
    expect_pos(ty->ppos, file, 2, 15);
    expect_pos(ty->opos, file, 2, 17);
    const triple *cols = find_triple(&l.g, DB_NS "UsersTable", NO_NODE, DB_NS "columns", NULL);
    expect_pos(cols->ppos, file, 3, 3);
    expect_pos(cols->opos, file, 3, 14);
    const triple *name = find_triple(&l.g, NULL, NO_NODE, DB_NS "name", "email");
    expect_pos(name->spos, file, 5, 5); /* a [ ] subject: where it was opened */
    expect_pos(name->ppos, file, 5, 7);
    expect_pos(name->opos, file, 5, 15);
    const triple *uniq = find_triple(&l.g, NULL, name->s, DB_NS "unique", NULL);
    expect_pos(uniq->ppos, file, 5, 70);
    expect_pos(uniq->opos, file, 5, 80);
    assert_true(graph_is_xsd(&l.g, uniq->o, "boolean"));
    assert_string_equal(graph_node(&l.g, uniq->o)->value, "true");
    tu_unload(&l);
}

/* ---- keywords and names ------------------------------------------------------ */

static void test_keyword_names(void **state)
{
    const char *dir = *state;
    tu_loaded l;
    load_clean(&l, dir, "kw.ttl",
               PFX "db:OrderTable a db:Table ;\n"
                   "  db:tableName \"order\" ;\n"
                   "  db:columns (\n"
                   "    [ db:name \"user\" ; db:type \"int\" ]\n"
                   "    [ db:name \"default\" ; db:type \"text\" ]\n"
                   "    [ db:name \"class\" ; db:type \"text\" ]\n"
                   "    [ db:name \"_tmp\" ; db:type \"text\" ]\n"
                   "    [ db:name \"Name\" ; db:type \"text\" ]\n"
                   "    [ db:name \"type\" ; db:type \"text\" ]\n"
                   "  ) .\n"
                   "db:HTTPServerTable a db:Table ;\n"
                   "  db:columns ( [ db:name \"group\" ; db:type \"text\" ; db:primaryKey true ] ) .\n");
    const char *file = path_of(dir, "kw.ttl");
    assert_int_equal(l.m.ntables, 2);
    table *t = l.m.tables[0];
    assert_string_equal(t->table_name.v, "order");
    expect_pos(t->table_name.pos, file, 3, 16);
    assert_string_equal(t->name, "order");
    assert_string_equal(t->sql, "\"order\"");
    assert_string_equal(t->c_name, "order");
    assert_int_equal(t->npk, 0);
    assert_null(t->pk_name);

    static const char *const sql[] = {"\"user\"", "\"default\"", "class", "_tmp", "\"Name\"", "type"};
    static const char *const cn[] = {"user", "default_", "class_", "x_tmp", "Name", "type"};
    /* flags beside a field drop the keyword suffix: default_is_null */
    static const char *const flag[] = {"user", "default", "class", "x_tmp", "Name", "type"};
    assert_int_equal(t->ncols, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(t->cols[i].sql, sql[i]);
        assert_string_equal(t->cols[i].c_name, cn[i]);
        assert_string_equal(t->cols[i].c_flag, flag[i]);
    }
    assert_int_equal(t->cols[0].stype.kind, ST_INTEGER);

    table *h = l.m.tables[1];
    assert_string_equal(h->name, "http_server");
    assert_string_equal(h->sql, "http_server");
    assert_string_equal(h->cols[0].sql, "\"group\"");
    assert_string_equal(h->pk_name, "http_server_pkey");
    tu_unload(&l);
}

/* ---- references and dependency order ------------------------------------------- */

static void test_references_and_order(void **state)
{
    const char *dir = *state;
    tu_loaded l;
    load_clean(
        &l, dir, "refs.ttl",
        PFX "db:CommentsTable a db:Table ;\n"
            "  db:columns (\n"
            "    [ db:name \"id\" ; db:type \"bigserial\" ; db:primaryKey true ]\n"
            "    [ db:name \"post_id\" ; db:type \"bigint\" ; db:nullable false ; db:references db:PostsTable ; "
            "db:onDelete \"CASCADE\" ]\n"
            "  ) .\n"
            "db:PostsTable a db:Table ;\n"
            "  db:columns (\n"
            "    [ db:name \"id\" ; db:type \"bigserial\" ; db:primaryKey true ]\n"
            "    [ db:name \"author_uid\" ; db:type \"uuid\" ; db:references db:AuthorsTable ; "
            "db:referencesColumn \"uid\" ; db:onDelete \"set null\" ]\n"
            "  ) .\n"
            "db:AuthorsTable a db:Table ;\n"
            "  db:columns (\n"
            "    [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"
            "    [ db:name \"uid\" ; db:type \"uuid\" ; db:unique true ; db:nullable false ]\n"
            "    [ db:name \"mentor_id\" ; db:type \"integer\" ; db:references db:AuthorsTable ; "
            "db:onDelete \"restrict\" ]\n"
            "  ) .\n");
    const char *file = path_of(dir, "refs.ttl");
    assert_int_equal(l.m.ntables, 3);
    table *comments = tu_table(&l.m, "comments"), *posts = tu_table(&l.m, "posts"),
          *authors = tu_table(&l.m, "authors");
    /* ontology order is kept in tables[] (diff.c orders CREATE TABLE) */
    assert_ptr_equal(l.m.tables[0], comments);

    column *post_id = tu_column(comments, "post_id");
    assert_string_equal(post_id->references.v, DB_NS "PostsTable");
    expect_pos(post_id->references.pos, file, 5, 80);
    assert_ptr_equal(post_id->ref_table, posts);
    assert_int_equal(post_id->ref_column, 0);
    assert_int_equal(post_id->delete_rule, ON_DELETE_CASCADE);
    assert_string_equal(post_id->fk_name, "comments_post_id_fkey");

    column *author = tu_column(posts, "author_uid");
    assert_ptr_equal(author->ref_table, authors);
    assert_int_equal(author->ref_column, 1);
    assert_string_equal(author->references_column.v, "uid");
    assert_int_equal(author->delete_rule, ON_DELETE_SET_NULL);
    assert_false(author->not_null);
    assert_string_equal(author->fk_name, "posts_author_uid_fkey");

    column *mentor = tu_column(authors, "mentor_id");
    assert_ptr_equal(mentor->ref_table, authors); /* a self reference */
    assert_int_equal(mentor->ref_column, 0);
    assert_int_equal(mentor->delete_rule, ON_DELETE_RESTRICT);

    assert_null(tu_column(authors, "id")->ref_table);
    assert_int_equal(tu_column(authors, "id")->delete_rule, ON_DELETE_DEFAULT);
    assert_string_equal(authors->unique_names[0], "authors_uid_key");
    tu_unload(&l);
}

static void test_reference_cycle(void **state)
{
    const char *dir = *state;
    tu_loaded l;
    load_clean(&l, dir, "cycle.ttl",
               PFX "db:ATable a db:Table ; db:columns (\n"
                   "  [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"
                   "  [ db:name \"b_id\" ; db:type \"integer\" ; db:references db:BTable ] ) .\n"
                   "db:BTable a db:Table ; db:columns (\n"
                   "  [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"
                   "  [ db:name \"a_id\" ; db:type \"integer\" ; db:references db:ATable ] ) .\n"
                   "db:CTable a db:Table ; db:columns (\n"
                   "  [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"
                   "  [ db:name \"parent_id\" ; db:type \"integer\" ; db:references db:CTable ] ) .\n");
    table *a = tu_table(&l.m, "a"), *b = tu_table(&l.m, "b"), *c = tu_table(&l.m, "c");
    assert_ptr_equal(tu_column(a, "b_id")->ref_table, b);
    assert_ptr_equal(tu_column(b, "a_id")->ref_table, a);
    /* a reference to itself resolves too (creation order: test_diff.c) */
    assert_ptr_equal(tu_column(c, "parent_id")->ref_table, c);
    tu_unload(&l);
}

/* ---- composite keys -------------------------------------------------------- */

static void test_composite_keys(void **state)
{
    const char *dir = *state;
    tu_loaded l;
    load_clean(&l, dir, "comp.ttl",
               PFX "db:MembershipsTable a db:Table ;\n"
                   "  db:primaryKey (\"org_id\" \"user_id\") ;\n"
                   "  db:unique (\"org_id\" \"email\") ;\n"
                   "  db:unique (\"user_id\" \"role\") ;\n"
                   "  db:columns (\n"
                   "    [ db:name \"org_id\" ; db:type \"integer\" ]\n"
                   "    [ db:name \"user_id\" ; db:type \"integer\" ; db:nullable false ]\n"
                   "    [ db:name \"email\" ; db:type \"text\" ]\n"
                   "    [ db:name \"role\" ; db:type \"text\" ; db:unique true ]\n"
                   "  ) .\n"
                   "db:GrantsTable a db:Table ;\n"
                   "  db:columns (\n"
                   "    [ db:name \"member_role\" ; db:type \"text\" ; db:references db:MembershipsTable ;\n"
                   "      db:referencesColumn \"role\" ]\n"
                   "  ) .\n");
    const char *file = path_of(dir, "comp.ttl");
    table *t = tu_table(&l.m, "memberships");
    assert_true(t->primary_key.set);
    assert_int_equal(t->primary_key.n, 2);
    assert_string_equal(t->primary_key.items[0].v, "org_id");
    assert_string_equal(t->primary_key.items[1].v, "user_id");
    expect_pos(t->primary_key.pos, file, 3, 17);
    expect_pos(t->primary_key.items[0].pos, file, 3, 18);
    expect_pos(t->primary_key.items[1].pos, file, 3, 27);
    assert_int_equal(t->npk, 2);
    assert_int_equal(t->pk[0], 0);
    assert_int_equal(t->pk[1], 1);
    /* key columns are NOT NULL without saying so */
    assert_true(t->cols[0].not_null);
    assert_true(t->cols[1].not_null);
    assert_false(t->cols[2].not_null);
    assert_string_equal(t->pk_name, "memberships_pkey");

    assert_int_equal(t->nuniques, 2);
    assert_string_equal(t->uniques[0].items[1].v, "email");
    assert_string_equal(t->uniques[1].items[1].v, "role");
    /* column-level sets first, then the table's, in ontology order */
    assert_int_equal(t->nunique_sets, 3);
    assert_int_equal(t->unique_sizes[0], 1);
    assert_int_equal(t->unique_sets[0][0], 3);
    assert_int_equal(t->unique_sizes[1], 2);
    assert_int_equal(t->unique_sets[1][0], 0);
    assert_int_equal(t->unique_sets[1][1], 2);
    assert_int_equal(t->unique_sizes[2], 2);
    assert_int_equal(t->unique_sets[2][0], 1);
    assert_int_equal(t->unique_sets[2][1], 3);
    assert_string_equal(t->unique_names[0], "memberships_role_key");
    assert_string_equal(t->unique_names[1], "memberships_org_id_email_key");
    assert_string_equal(t->unique_names[2], "memberships_user_id_role_key");

    /* a reference to a unique (not primary key) column */
    table *g = tu_table(&l.m, "grants");
    assert_ptr_equal(g->cols[0].ref_table, t);
    assert_int_equal(g->cols[0].ref_column, 3);
    tu_unload(&l);
}

/* ---- collections ------------------------------------------------------------- */

/* A collection written out with rdf:first / rdf:rest, its cells in reverse
 * order: the builder follows the links, not the text. */
static void test_collection_rebuilt(void **state)
{
    const char *dir = *state;
    tu_loaded l;
    load_clean(&l, dir, "list.ttl",
               PFX "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
                   "db:ListTable a db:Table ; db:columns _:l1 .\n"
                   "_:l3 rdf:first _:c3 ; rdf:rest rdf:nil .\n"
                   "_:l2 rdf:rest _:l3 ; rdf:first _:c2 .\n"
                   "_:l1 rdf:first _:c1 ; rdf:rest _:l2 .\n"
                   "_:c2 db:name \"b\" ; db:type \"text\" .\n"
                   "_:c3 db:name \"c\" ; db:type \"date\" .\n"
                   "_:c1 db:name \"a\" ; db:type \"serial\" ; db:primaryKey true .\n");
    const char *file = path_of(dir, "list.ttl");
    table *t = tu_table(&l.m, "list");
    assert_int_equal(t->ncols, 3);
    assert_string_equal(t->cols[0].name.v, "a");
    assert_string_equal(t->cols[1].name.v, "b");
    assert_string_equal(t->cols[2].name.v, "c");
    assert_int_equal(t->cols[2].stype.kind, ST_DATE);
    /* each column's place is where its cell names it */
    expect_pos(t->cols[0].pos, file, 6, 16);
    expect_pos(t->cols[1].pos, file, 5, 32);
    expect_pos(t->cols[2].pos, file, 4, 16);
    expect_pos(t->cols[0].name.pos, file, 9, 14);
    expect_pos(t->columns_pos, file, 3, 38);

    /* graph_list directly, on the same list */
    node_id head = find_triple(&l.g, DB_NS "ListTable", NO_NODE, DB_NS "columns", NULL)->o;
    node_id *items;
    dpos *pos;
    size_t n;
    dpos where = {file, 3, 38};
    assert_true(graph_list(&l.g, head, where, &l.out.d, &items, &pos, &n));
    assert_int_equal(n, 3);
    assert_int_equal(graph_node(&l.g, items[0])->kind, NODE_BLANK);
    expect_pos(pos[0], file, 6, 16);
    free(items);
    free(pos);
    /* rdf:nil is the empty list */
    assert_true(graph_list(&l.g, l.g.rdf_nil, where, &l.out.d, &items, &pos, &n));
    assert_int_equal(n, 0);
    free(items);
    free(pos);
    tu_unload(&l);
}

/* A list that loops back on itself is one error, at the list: neither
 * "table has no columns" nor the column inside the bad list (which the
 * builder never read) is reported as well. */
static void test_malformed_collection(void **state)
{
    const char *dir = *state;
    tu_loaded l;
    tu_load_text(&l, dir, "badlist.ttl",
                 PFX "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
                     "db:ListTable a db:Table ; db:columns _:l1 .\n"
                     "_:l1 rdf:first [ db:name \"a\" ; db:type \"text\" ] ; rdf:rest _:l1 .\n");
    char expected[1024];
    snprintf(expected, sizeof expected,
             "%s:3:38: error: malformed RDF collection (a list node needs exactly one rdf:first and "
             "one rdf:rest, and the list must end in rdf:nil)\n",
             path_of(dir, "badlist.ttl"));
    char got[4096];
    snprintf(got, sizeof got, "%s", l.text);
    bool read_ok = l.read_ok, build_ok = l.build_ok;
    tu_unload(&l); /* before asserting: a failure must not leak */
    assert_string_equal(got, expected);
    assert_true(read_ok);
    assert_false(build_ok);
}

/* ---- several files and imports --------------------------------------------------- */

static const char users_min[] =
    PFX "db:UsersTable a db:Table ;\n"
        "  db:columns ( [ db:name \"id\" ; db:type \"uuid\" ; db:primaryKey true ] ) .\n";
static const char posts_min[] =
    PFX "\n"
        "db:PostsTable a db:Table ;\n"
        "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"
        "               [ db:name \"user_id\" ; db:type \"uuid\" ; db:references db:UsersTable ] ) .\n";

static void test_several_files(void **state)
{
    const char *dir = *state;
    char *files[3];
    files[0] = tu_write(dir, "posts.ttl", posts_min);
    files[1] = tu_write(dir, "users.ttl", users_min);
    files[2] = xstrdup(files[0]); /* the same file twice is read once */
    tu_loaded l;
    tu_load(&l, files, 3);
    assert_string_equal(l.text, "");
    assert_true(l.check_ok);
    assert_int_equal(l.g.nfiles, 2);
    assert_string_equal(l.g.files[0], files[0]);
    assert_string_equal(l.g.files[1], files[1]);
    table *posts = tu_table(&l.m, "posts"), *users = tu_table(&l.m, "users");
    expect_pos(posts->pos, files[0], 3, 1);
    expect_pos(users->pos, files[1], 2, 1);
    /* positions point at the graph's copy of the name */
    assert_ptr_equal(posts->pos.file, l.g.files[0]);
    assert_ptr_equal(tu_column(posts, "user_id")->ref_table, users);
    tu_unload(&l);
    for (size_t i = 0; i < 3; i++)
        free(files[i]);
}

static void test_blank_labels_are_per_file(void **state)
{
    /* _:c in two files are two different nodes */
    const char *dir = *state;
    char *files[2];
    files[0] = tu_write(dir, "one.ttl",
                        PFX "db:OneTable a db:Table ; db:columns ( _:c ) .\n"
                            "_:c db:name \"id\" ; db:type \"serial\" ; db:primaryKey true .\n");
    files[1] = tu_write(dir, "two.ttl",
                        PFX "db:TwoTable a db:Table ; db:columns ( _:c ) .\n"
                            "_:c db:name \"key\" ; db:type \"text\" ; db:primaryKey true .\n");
    tu_loaded l;
    tu_load(&l, files, 2);
    assert_string_equal(l.text, "");
    assert_string_equal(tu_table(&l.m, "one")->cols[0].name.v, "id");
    assert_string_equal(tu_table(&l.m, "two")->cols[0].name.v, "key");
    tu_unload(&l);
    free(files[0]);
    free(files[1]);
}

static void test_imports(void **state)
{
    const char *dir = *state;
    char *main_ttl = tu_write(
        dir, "main.ttl",
        PFX "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
            "<> owl:imports <sub/other.ttl> .\n"
            "db:MainTable a db:Table ;\n"
            "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"
            "               [ db:name \"other_id\" ; db:type \"integer\" ; db:references db:OtherTable ] ) .\n");
    /* the import imports back: each file is read once */
    char *other = tu_write(dir, "sub/other.ttl",
                           PFX "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
                               "<> owl:imports <../main.ttl> .\n"
                               "db:OtherTable a db:Table ;\n"
                               "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ] ) .\n");
    tu_loaded l;
    tu_load(&l, &main_ttl, 1);
    assert_string_equal(l.text, "");
    assert_true(l.check_ok);
    assert_int_equal(l.g.nfiles, 2);
    assert_string_equal(l.g.files[0], main_ttl);
    assert_true(str_ends_with(l.g.files[1], "/sub/other.ttl"));
    table *o = tu_table(&l.m, "other"), *m = tu_table(&l.m, "main");
    assert_ptr_equal(o->pos.file, l.g.files[1]);
    assert_int_equal(o->pos.line, 4);
    assert_int_equal(o->pos.col, 1);
    assert_ptr_equal(tu_column(m, "other_id")->ref_table, o);
    tu_unload(&l);
    free(main_ttl);
    free(other);
}

static void test_import_missing(void **state)
{
    const char *dir = *state;
    tu_loaded l;
    tu_load_text(&l, dir, "imp.ttl",
                 PFX "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
                     "<> owl:imports <nothere.ttl> .\n"
                     "<> owl:imports <http://example.org/remote.ttl> .\n");
    char expected[2048];
    snprintf(expected, sizeof expected,
             "%s:3:16: error: owl:imports: cannot open '%s': No such file or directory\n"
             "%s:4:16: error: owl:imports of 'http://example.org/remote.ttl': only local files can be "
             "imported\n",
             path_of(dir, "imp.ttl"), path_of(dir, "nothere.ttl"), path_of(dir, "imp.ttl"));
    assert_string_equal(l.text, expected);
    assert_false(l.read_ok);
    tu_unload(&l);
}

static void test_missing_file(void **state)
{
    const char *dir = *state;
    char *files[1] = {xasprintf("%s/none.ttl", dir)};
    tu_loaded l;
    tu_load(&l, files, 1);
    char expected[1024];
    snprintf(expected, sizeof expected, "%s: error: cannot open: No such file or directory\n", files[0]);
    assert_string_equal(l.text, expected);
    assert_false(l.read_ok);
    tu_unload(&l);
    free(files[0]);
}

/* ---- diagnostics ------------------------------------------------------------------- */

static void expect_text(const char *dir, const char *name, const char *ttl, const char *fmt)
{
    tu_loaded l;
    tu_load_text(&l, dir, name, ttl);
    char expected[4096];
    const char *p = path_of(dir, name);
    /* fmt has a %s for the path on each line (at most 8) */
    snprintf(expected, sizeof expected, fmt, p, p, p, p, p, p, p, p);
    char got[4096];
    snprintf(got, sizeof got, "%s", l.text);
    unsigned errors = diag_errors(&l.out.d);
    tu_unload(&l); /* before asserting: a failure must not leak */
    assert_string_equal(got, expected);
    assert_true(errors > 0);
}

static void test_unknown_term(void **state)
{
    expect_text(*state, "typo.ttl",
                PFX "db:UsersTable a db:Table ;\n"
                    "  db:columns (\n"
                    "    [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ; db:nullabel false ]\n"
                    "  ) .\n",
                "%s:4:62: error: unknown term 'db:nullabel'; did you mean 'db:nullable'?\n");
    /* no close term: no suggestion */
    expect_text(*state, "typo2.ttl",
                PFX "db:UsersTable a db:Table ; db:somethingElse 1 ;\n"
                    "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ] ) .\n",
                "%s:2:28: error: unknown term 'db:somethingElse'\n");
    /* an unknown class */
    expect_text(*state, "cls.ttl",
                PFX "db:UsersTable a db:Tabel ;\n"
                    "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ] ) .\n",
                "%s:2:17: error: unknown class 'db:Tabel'; did you mean 'db:Table'?\n");
    /* a term in the wrong place */
    expect_text(*state, "place.ttl",
                PFX "db:UsersTable a db:Table ; db:limit 3 ;\n"
                    "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ] ) .\n",
                "%s:2:28: error: 'db:limit' does not apply to a db:Table; it belongs on a db:Query\n");
}

static void test_undefined_prefix(void **state)
{
    expect_text(*state, "prefix.ttl",
                PFX "db:UsersTable a db:Table ;\n"
                    "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:partOf mt:TenantKey ] ) .\n",
                "%s:3:62: error: undefined prefix in 'mt:TenantKey' (add an @prefix line)\n");
}

static void test_syntax_error(void **state)
{
    /* the reference design's @prefix line without its '.' */
    expect_text(*state, "syntax.ttl",
                "@prefix db: <http://example.org/db/>\n"
                "@prefix mt: <http://example.org/multi-tenancy/> .\n"
                "db:UsersTable a db:Table .\n",
                "%s:2:1: error: syntax error: expected `.', not `@'\n");
    /* and its comma inside a collection */
    expect_text(*state, "comma.ttl",
                PFX "db:UsersTable a db:Table ;\n"
                    "  db:unique (\"a\", \"b\") .\n",
                "%s:3:17: error: syntax error: expected prefixed name\n");
}

static void test_errors_sorted(void **state)
{
    /* the builder reports line 5, the checks lines 4 and 7: printed in
     * file order */
    expect_text(*state, "many.ttl",
                PFX "db:UsersTable a db:Table ;\n"
                    "  db:columns (\n"
                    "    [ db:name \"id\" ; db:type \"sirial\" ; db:primaryKey true ]\n"
                    "    [ db:name \"x\" ; db:type \"text\" ; db:nullabel false ]\n"
                    "  ) .\n"
                    "db:BadTable a db:Table ; db:tableName \"bad name\" ;\n"
                    "  db:columns ( [ db:name \"id\" ; db:type \"int\" ] ) .\n",
                "%s:4:30: error: unknown type 'sirial'; allowed types: smallint, integer (int), bigint, "
                "serial, bigserial, boolean, real, double precision, numeric, numeric(p), numeric(p,s), "
                "text, varchar(n), uuid, date, timestamp, timestamptz, jsonb, bytea\n"
                "%s:5:38: error: unknown term 'db:nullabel'; did you mean 'db:nullable'?\n"
                "%s:7:39: error: invalid name 'bad name': it contains white space (use letters, digits "
                "and '_')\n");
}

static void test_check_errors(void **state)
{
    /* a reference to a composite key needs db:referencesColumn */
    expect_text(*state, "compref.ttl",
                PFX "db:ATable a db:Table ; db:primaryKey (\"x\" \"y\") ;\n"
                    "  db:columns ( [ db:name \"x\" ; db:type \"int\" ] [ db:name \"y\" ; db:type \"int\" ] ) .\n"
                    "db:BTable a db:Table ;\n"
                    "  db:columns ( [ db:name \"a_x\" ; db:type \"int\" ; db:references db:ATable ] ) .\n",
                "%s:5:64: error: table 'a' has a composite primary key; name the referenced column with "
                "db:referencesColumn\n");
    /* duplicate column, with its note after it */
    expect_text(*state, "dup.ttl",
                PFX "db:ATable a db:Table ;\n"
                    "  db:columns ( [ db:name \"x\" ; db:type \"int\" ]\n"
                    "               [ db:name \"x\" ; db:type \"text\" ] ) .\n",
                "%s:4:26: error: duplicate column 'x' in table 'a'\n"
                "%s:3:26: note: first defined here\n");
    /* a default that would end the statement */
    expect_text(*state, "default.ttl",
                PFX "db:ATable a db:Table ;\n"
                    "  db:columns ( [ db:name \"x\" ; db:type \"int\" ; db:default \"1); DROP TABLE t; --\" ] ) .\n",
                "%s:3:59: error: db:default must be one SQL expression: unbalanced ')' (at character 2)\n");
    /* an empty ontology */
    expect_text(*state, "empty.ttl", "",
                "%s:1:1: error: the ontology defines no db:Table (is it empty, or are the prefixes wrong? "
                "db: is <http://example.org/db/>)\n");
}

static void test_full_and_relative_iris(void **state)
{
    /* places are found for IRIs written out in full ... */
    expect_text(*state, "full.ttl",
                "<http://example.org/db/UsersTable> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
                "<http://example.org/db/Table> ;\n"
                "  <http://example.org/db/colums> ( [ <http://example.org/db/name> \"id\" ; "
                "<http://example.org/db/type> \"serial\" ] ) .\n",
                "%s:2:3: error: unknown term 'db:colums'; did you mean 'db:columns'?\n");
    /* ... and relative to @base */
    expect_text(*state, "base.ttl",
                "@base <http://example.org/db/> .\n"
                "<UsersTable> a <Table> ;\n"
                "  <columns> ( [ <name> \"id\" ; <type> \"serial\" ; <primaryKey> true ; <nullable> \"no\" ] ) .\n",
                "%s:3:80: error: 'db:nullable' expects true or false (without quotes)\n");

    const char *dir = *state;
    tu_loaded l;
    load_clean(&l, dir, "base2.ttl",
               "@base <http://example.org/db/> .\n"
               "<UsersTable> a <Table> ;\n"
               "  <columns> ( [ <name> \"id\" ; <type> \"serial\" ; <primaryKey> true ] ) .\n");
    table *t = tu_table(&l.m, "users");
    expect_pos(t->pos, path_of(dir, "base2.ttl"), 2, 1);
    expect_pos(t->cols[0].type.pos, path_of(dir, "base2.ttl"), 3, 38);
    tu_unload(&l);
}

static void test_value_shapes(void **state)
{
    expect_text(*state, "shapes.ttl",
                PFX "db:ATable a db:Table ; db:tableName \"a\" ;\n"
                    "  db:tableName \"b\" ;\n"
                    "  db:columns ( [ db:name \"x\" ; db:type \"int\" ] ) .\n"
                    "db:Q a db:Query ; db:from db:ATable ; db:limit \"10\" ; db:select \"x\" ; db:cacheTTL 0 .\n",
                "%s:3:3: error: 'db:tableName' is given more than once; it takes one value\n"
                "%s:2:24: note: first given here\n"
                "%s:5:48: error: 'db:limit' expects an integer (without quotes)\n"
                "%s:5:65: error: 'db:select' expects a list in parentheses, e.g. (\"a\" \"b\")\n"
                "%s:5:83: error: db:cacheTTL must be a positive integer\n");
}

static void test_name_clashes(void **state)
{
    expect_text(*state, "clash.ttl",
                PFX "db:UsersTable a db:Table ; db:columns ( [ db:name \"id\" ; db:type \"int\" ] ) .\n"
                    "db:PeopleTable a db:Table ; db:tableName \"users\" ;\n"
                    "  db:columns ( [ db:name \"a\" ; db:type \"int\" ; db:default \"0\" ] [ db:name \"a_set\" ; "
                    "db:type \"int\" ] ) .\n",
                "%s:3:42: error: duplicate table name 'users'\n"
                "%s:2:1: note: 'users' is also the name of db:UsersTable\n"
                "%s:4:26: error: the default flag of column 'a' and column 'a_set' would both be named "
                "'a_set' in C; rename one of them\n"
                "%s:4:75: note: column 'a_set' comes from here\n");
    /* generated function names: t_a + _new is t_a_new, the struct of a_new */
    expect_text(*state, "symbols.ttl",
                PFX "db:ATable a db:Table ; db:columns ( [ db:name \"x\" ; db:type \"int\" ] ) .\n"
                    "db:ANewTable a db:Table ; db:columns ( [ db:name \"x\" ; db:type \"int\" ] ) .\n",
                "%s:3:1: error: a generated name of table 'a_new' and a generated name of table 'a' would "
                "both be named 't_a_new' in C; rename one of them\n"
                "%s:2:1: note: a generated name of table 'a' comes from here\n");
}

static void test_constraint_names(void **state)
{
    const char *dir = *state;
    /* 60 bytes: with "_pkey" the name is over PostgreSQL's 63 */
    const char *long_name = "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij";
    char *ttl = xasprintf(
        PFX "db:LongTable a db:Table ; db:tableName \"%s\" ;\n"
            "  db:columns ( [ db:name \"id\" ; db:type \"int\" ; db:primaryKey true ] ) .\n"
            "db:ATable a db:Table ; db:columns ( [ db:name \"b_x\" ; db:type \"int\" ; db:unique true ] ) .\n"
            "db:ABTable a db:Table ; db:tableName \"a_b\" ;\n"
            "  db:columns ( [ db:name \"x\" ; db:type \"int\" ; db:unique true ] ) .\n",
        long_name);
    tu_loaded l;
    load_clean(&l, dir, "names.ttl", ttl);
    free(ttl);

    char *full = xasprintf("%s_pkey", long_name);
    unsigned long long h = fnv1a64(full, strlen(full), FNV64_OFFSET);
    char *want = xasprintf("%.54s_%08llx", full, h & 0xffffffffULL);
    assert_int_equal(strlen(want), 63);
    assert_string_equal(tu_table(&l.m, long_name)->pk_name, want);
    free(want);
    free(full);

    /* a_b_x_key twice: the second one gets a hash suffix */
    assert_string_equal(tu_table(&l.m, "a")->unique_names[0], "a_b_x_key");
    h = fnv1a64("a_b_x_key", 9, FNV64_OFFSET);
    want = xasprintf("a_b_x_key_%08llx", h & 0xffffffffULL);
    assert_string_equal(tu_table(&l.m, "a_b")->unique_names[0], want);
    free(want);
    tu_unload(&l);
}

/* A class instance must be a named resource: one error, at the '[', and
 * not also its terms as if the node had no class. */
static void test_blank_class_instance(void **state)
{
    expect_text(*state, "blank.ttl",
                PFX "[ a db:Table ; db:columns ( [ db:name \"id\" ; db:type \"int\" ] ) ] .\n",
                "%s:2:1: error: a db:Table must be a named resource (such as db:UsersTable), not a blank "
                "node\n");
}

/* A node can have only one dbont class: the second one is reported, with
 * a note at the first (whether they are in one statement or two). */
static void test_two_classes(void **state)
{
    expect_text(*state, "two.ttl",
                PFX "db:X a db:Table , db:Query ;\n"
                    "  db:columns ( [ db:name \"id\" ; db:type \"int\" ] ) .\n",
                "%s:2:19: error: 'db:X' already has a dbont class; a node can be only one of db:Table, "
                "db:Query, ...\n"
                "%s:2:8: note: its first class\n");
    expect_text(*state, "two2.ttl",
                PFX "@prefix idx: <http://example.org/indexing/> .\n"
                    "db:X a db:Table ;\n"
                    "  db:columns ( [ db:name \"id\" ; db:type \"int\" ] ) .\n"
                    "db:X a idx:Index .\n",
                "%s:5:8: error: 'db:X' already has a dbont class; a node can be only one of db:Table, "
                "db:Query, ...\n"
                "%s:3:8: note: its first class\n");
}

static void test_syntax_error_second_file(void **state)
{
    const char *dir = *state;
    char *files[2];
    files[0] = tu_write(dir, "good.ttl", users_min);
    files[1] = tu_write(dir, "bad.ttl", PFX "db:X a db:Table ;\n  db:columns \"x\" \"y\" .\n");
    tu_loaded l;
    tu_load(&l, files, 2);
    char expected[1024];
    snprintf(expected, sizeof expected, "%s:3:18: error: syntax error: missing ';' or '.'\n", files[1]);
    assert_string_equal(l.text, expected);
    assert_false(l.read_ok);
    assert_int_equal(l.g.nfiles, 2);
    tu_unload(&l);
    free(files[0]);
    free(files[1]);
}

/* ---- indexes ------------------------------------------------------------------------ */

#define IPFX PFX "@prefix idx: <http://example.org/indexing/> .\n"
#define ALL_TYPES_TABLE                                                                                   \
    "db:KindsTable a db:Table ;\n"                                                                        \
    "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"                       \
    "               [ db:name \"flag\" ; db:type \"boolean\" ] [ db:name \"doc\" ; db:type \"jsonb\" ]\n" \
    "               [ db:name \"uid\" ; db:type \"uuid\" ] [ db:name \"raw\" ; db:type \"bytea\" ]\n"     \
    "               [ db:name \"title\" ; db:type \"varchar(80)\" ] [ db:name \"body\" ; db:type \"text\" ]\n" \
    "               [ db:name \"at\" ; db:type \"timestamptz\" ] ) .\n"

/* The derived fields: method (btree by default, idx:type in any case),
 * columns, full text, the names (IRI order; a second index of the same
 * columns gets a hash suffix), the search and whether it is a SECURITY
 * DEFINER function. */
static void test_index_model(void **state)
{
    tu_loaded l;
    load_clean(&l, *state, "ix.ttl",
               IPFX "@prefix mt: <http://example.org/multi-tenancy/> .\n"
                    "mt:T a mt:Pattern ; mt:isolationLevel \"row-level\" ; mt:storageStrategy \"shared-database\" .\n"
                    "db:NotesTable a db:Table ; db:multiTenant true ; db:tenantIdColumn \"org\" ;\n"
                    "  db:columns ( [ db:name \"id\" ; db:type \"serial\" ; db:primaryKey true ]\n"
                    "               [ db:name \"org\" ; db:type \"uuid\" ; db:nullable false ]\n"
                    "               [ db:name \"title\" ; db:type \"text\" ] [ db:name \"body\" ; db:type \"text\" ] ) .\n"
                    ALL_TYPES_TABLE
                    /* declared in reverse IRI order: B is named first */
                    "idx:C a idx:Index ; idx:table db:KindsTable ; idx:columns (\"body\") ;\n"
                    "  idx:partialPredicate \"body <> ''\" .\n"
                    "idx:B a idx:Index ; idx:table db:KindsTable ; idx:columns (\"body\") ; idx:type \"HASH\" .\n"
                    "idx:A a idx:Index ; idx:table db:NotesTable ; idx:columns (\"title\" \"body\") ;\n"
                    "  idx:type \"gist\" ; idx:language \"simple\" .\n"
                    "idx:D a idx:Index ; idx:table db:KindsTable ; idx:columns (\"title\" \"body\") ;\n"
                    "  idx:type \"gin\" ; idx:language \"english\" .\n");
    assert_int_equal(l.m.nindexes, 4);
    const index_def *c = l.m.indexes[0], *b = l.m.indexes[1], *a = l.m.indexes[2], *d = l.m.indexes[3];
    assert_string_equal(c->method, "btree");
    assert_string_equal(b->method, "hash");
    assert_string_equal(a->method, "gist");
    assert_string_equal(d->method, "gin");
    assert_ptr_equal(c->tbl, tu_table(&l.m, "kinds"));
    assert_ptr_equal(a->tbl, tu_table(&l.m, "notes"));
    assert_int_equal(a->cols[0], 2);
    assert_int_equal(a->cols[1], 3);
    assert_false(b->full_text);
    assert_true(a->full_text);
    assert_true(d->full_text);
    assert_string_equal(b->name, "kinds_body_idx");
    unsigned long long h = fnv1a64("kinds_body_idx", strlen("kinds_body_idx"), FNV64_OFFSET);
    char *second = xasprintf("kinds_body_idx_%08llx", h & 0xffffffffULL);
    assert_string_equal(c->name, second);
    free(second);
    assert_string_equal(a->name, "notes_title_body_fts_idx");
    assert_string_equal(d->name, "kinds_title_body_fts_idx");
    assert_null(b->search_name);
    assert_string_equal(a->search_name, "notes_title_body_search");
    assert_string_equal(d->search_name, "kinds_title_body_search");
    /* the multi-tenant table's search runs as its own function */
    assert_true(a->search_definer);
    assert_false(d->search_definer);
    tu_unload(&l);
}

/* What each method can index without an extension (PostgreSQL's built-in
 * operator classes); full text takes text columns. */
static void test_index_methods(void **state)
{
    tu_loaded l;
    load_clean(&l, *state, "ok.ttl",
               IPFX ALL_TYPES_TABLE
               "idx:I1 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"doc\") .\n"
               "idx:I2 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"doc\") ; idx:type \"hash\" .\n"
               "idx:I3 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"doc\") ; idx:type \"gin\" .\n"
               "idx:I4 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"flag\") ; idx:type \"hash\" .\n"
               "idx:I5 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"uid\" \"raw\" \"at\") ;\n"
               "  idx:type \"brin\" .\n"
               "idx:I6 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"title\" \"body\") ;\n"
               "  idx:type \"gist\" ; idx:language \"german\" .\n"
               "idx:I7 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"id\" \"title\") ; idx:unique true ;\n"
               "  idx:type \"btree\" ; idx:partialPredicate \"flag AND title IS NOT NULL\" .\n");
    assert_int_equal(l.m.nindexes, 7);
    tu_unload(&l);
    expect_text(*state, "bad.ttl",
                IPFX ALL_TYPES_TABLE
                "idx:J1 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"flag\") ; idx:type \"brin\" .\n"
                "idx:J2 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"body\") ; idx:type \"gist\" .\n"
                "idx:J3 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"doc\") ; idx:type \"brin\" .\n"
                "idx:J4 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"title\" \"doc\") ;\n"
                "  idx:type \"gin\" ; idx:language \"english\" .\n"
                "idx:J5 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"body\") ; idx:type \"bitmap\" .\n"
                "idx:J6 a idx:Index ; idx:table db:KindsTable ; idx:columns (\"body\") ; idx:language \"english\" .\n",
                "%s:9:61: error: idx:type brin cannot index column 'flag' (boolean) without an extension\n"
                "%s:10:61: error: idx:type gist cannot index column 'body' (text) without an extension (with "
                "idx:language it becomes a full-text index of text columns)\n"
                "%s:11:61: error: idx:type brin cannot index column 'doc' (jsonb) without an extension\n"
                "%s:12:69: error: a full-text index takes text or varchar columns; 'doc' is jsonb\n"
                "%s:14:80: error: unknown idx:type 'bitmap'; allowed: \"btree\", \"hash\", \"gin\", \"gist\", \"brin\"\n"
                "%s:15:84: error: idx:language makes a full-text index and needs idx:type \"gin\" (or \"gist\")\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_nodes),
        cmocka_unit_test_setup_teardown(test_one_table, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_keyword_names, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_references_and_order, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_reference_cycle, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_composite_keys, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_collection_rebuilt, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_malformed_collection, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_several_files, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_blank_labels_are_per_file, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_imports, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_import_missing, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_missing_file, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_unknown_term, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_undefined_prefix, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_syntax_error, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_errors_sorted, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_check_errors, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_full_and_relative_iris, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_value_shapes, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_name_clashes, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_constraint_names, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_syntax_error_second_file, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_blank_class_instance, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_two_classes, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_index_model, tu_setup_tmpdir, tu_teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_index_methods, tu_setup_tmpdir, tu_teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
