#include "build.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vocab.h"

typedef struct builder builder;
static void suppress(builder *b, node_id node);

struct builder {
    const graph *g;
    diag *d;
    model *m;
    bool *used;    /* per triple: read by some class */
    bool *visited; /* per node: described as a class instance or a nested node */
};

/* One node being read: its triples and the context they are read in. */
typedef struct subject {
    builder *b;
    node_id node;
    vocab_ctx ctx;
    const uint32_t *idx;
    size_t n;
} subject;

static const char *short_name(const char *iri, char *scratch, unsigned size)
{
    return vocab_short(iri, scratch, size);
}

static subject open_subject(builder *b, node_id node, vocab_ctx ctx)
{
    subject s = {b, node, ctx, NULL, 0};
    s.n = graph_subject(b->g, node, &s.idx);
    b->visited[node] = true;
    return s;
}

/* The triples of s with predicate iri, marked used.  Fills up to max and
 * returns how many there are. */
static size_t take_all(subject *s, const char *iri, const triple **out, size_t max)
{
    node_id p = graph_find_iri(s->b->g, iri);
    size_t count = 0;
    if (p == NO_NODE)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        const triple *t = &s->b->g->triples[s->idx[i]];
        if (t->p != p)
            continue;
        s->b->used[s->idx[i]] = true;
        if (count < max)
            out[count] = t;
        count++;
    }
    return count;
}

/* The one triple of s with predicate iri, or NULL; more than one is an
 * error. */
static const triple *take_one(subject *s, const char *iri)
{
    const triple *t[2];
    size_t n = take_all(s, iri, t, 2);
    if (n == 0)
        return NULL;
    if (n > 1) {
        char sc[128];
        diag_error(s->b->d, t[1]->ppos, "'%s' is given more than once; it takes one value",
                   short_name(iri, sc, sizeof sc));
        diag_note(s->b->d, t[0]->ppos, "first given here");
    }
    return t[0];
}

static void expect_error(subject *s, const triple *t, const char *iri, const char *what)
{
    char sc[128];
    diag_error(s->b->d, t->opos, "'%s' expects %s", short_name(iri, sc, sizeof sc), what);
}

static bool is_plain_string(const graph *g, node_id id)
{
    const gnode *n = graph_node(g, id);
    return n->kind == NODE_LITERAL && !n->lang && (!n->datatype || graph_is_xsd(g, id, "string"));
}

static bool read_string(subject *s, const triple *t, const char *iri, mstr *out)
{
    if (!is_plain_string(s->b->g, t->o)) {
        expect_error(s, t, iri, "a string literal (in double quotes)");
        return false;
    }
    out->v = xstrdup(graph_node(s->b->g, t->o)->value);
    out->pos = t->opos;
    return true;
}

static void take_string(subject *s, const char *iri, mstr *out)
{
    const triple *t = take_one(s, iri);
    if (t)
        read_string(s, t, iri, out);
}

static void take_bool(subject *s, const char *iri, mbool *out)
{
    const triple *t = take_one(s, iri);
    if (!t)
        return;
    if (!graph_is_xsd(s->b->g, t->o, "boolean")) {
        expect_error(s, t, iri, "true or false (without quotes)");
        return;
    }
    const char *v = graph_node(s->b->g, t->o)->value;
    out->v = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
    out->set = true;
    out->pos = t->opos;
}

static void take_int(subject *s, const char *iri, mint *out)
{
    const triple *t = take_one(s, iri);
    if (!t)
        return;
    const gnode *n = graph_node(s->b->g, t->o);
    char *end = NULL;
    errno = 0;
    long long v = graph_is_xsd(s->b->g, t->o, "integer") ? strtoll(n->value, &end, 10) : 0;
    if (!end || *end || errno) {
        expect_error(s, t, iri, "an integer (without quotes)");
        return;
    }
    out->v = v;
    out->set = true;
    out->pos = t->opos;
}

static bool read_iri(subject *s, const triple *t, const char *iri, mstr *out)
{
    const gnode *n = graph_node(s->b->g, t->o);
    if (n->kind != NODE_IRI) {
        expect_error(s, t, iri, "a resource name such as db:UsersTable");
        return false;
    }
    out->v = xstrdup(n->value);
    out->pos = t->opos;
    return true;
}

static void take_iri(subject *s, const char *iri, mstr *out)
{
    const triple *t = take_one(s, iri);
    if (t)
        read_iri(s, t, iri, out);
}

/* Reads the collection that is the object of t; false (reported) when the
 * object is not a list. */
static bool read_list(subject *s, const triple *t, const char *iri, const char *example, node_id **items,
                      dpos **pos, size_t *n)
{
    const graph *g = s->b->g;
    const gnode *o = graph_node(g, t->o);
    if (t->o != g->rdf_nil && o->kind != NODE_BLANK) {
        char what[160];
        snprintf(what, sizeof what, "a list in parentheses, e.g. %s", example);
        expect_error(s, t, iri, what);
        return false;
    }
    if (graph_list(g, t->o, t->opos, s->b->d, items, pos, n))
        return true;
    suppress(s->b, t->o); /* reported: its cells would only repeat it */
    return false;
}

/* Reads a list of strings; false (reported) when the value is not a list.
 * out->set tells whether a list was read. */
static bool read_strings(subject *s, const triple *t, const char *iri, mstrs *out)
{
    node_id *items;
    dpos *pos;
    size_t n;
    if (!read_list(s, t, iri, "(\"a\" \"b\")", &items, &pos, &n))
        return false;
    out->set = true;
    out->pos = t->opos;
    out->items = xcalloc(n, sizeof *out->items);
    for (size_t i = 0; i < n; i++) {
        if (!is_plain_string(s->b->g, items[i])) {
            char sc[128];
            diag_error(s->b->d, pos[i], "the items of '%s' must be string literals",
                       short_name(iri, sc, sizeof sc));
            continue;
        }
        out->items[out->n].v = xstrdup(graph_node(s->b->g, items[i])->value);
        out->items[out->n].pos = pos[i];
        out->n++;
    }
    free(items);
    free(pos);
    return true;
}

static void take_strings(subject *s, const char *iri, mstrs *out)
{
    const triple *t = take_one(s, iri);
    if (t)
        read_strings(s, t, iri, out);
}

static void take_iris(subject *s, const char *iri, mstrs *out)
{
    const triple *t = take_one(s, iri);
    if (!t)
        return;
    node_id *items;
    dpos *pos;
    size_t n;
    out->set = true;
    out->pos = t->opos;
    if (!read_list(s, t, iri, "(db:PopularPostsQuery db:ActiveUsersQuery)", &items, &pos, &n))
        return;
    out->items = xcalloc(n, sizeof *out->items);
    for (size_t i = 0; i < n; i++) {
        const gnode *nd = graph_node(s->b->g, items[i]);
        if (nd->kind != NODE_IRI) {
            char sc[128];
            diag_error(s->b->d, pos[i], "the items of '%s' must be resource names",
                       short_name(iri, sc, sizeof sc));
            continue;
        }
        out->items[out->n].v = xstrdup(nd->value);
        out->items[out->n].pos = pos[i];
        out->n++;
    }
    free(items);
    free(pos);
}

static mvalue_kind value_kind(const graph *g, node_id id)
{
    if (graph_is_xsd(g, id, "integer"))
        return MV_INTEGER;
    if (graph_is_xsd(g, id, "decimal"))
        return MV_DECIMAL;
    if (graph_is_xsd(g, id, "double"))
        return MV_DOUBLE;
    if (graph_is_xsd(g, id, "boolean"))
        return MV_BOOLEAN;
    return MV_STRING;
}

static void take_values(subject *s, const char *iri, mvalues *out)
{
    const triple *t = take_one(s, iri);
    if (!t)
        return;
    node_id *items;
    dpos *pos;
    size_t n;
    out->set = true;
    out->pos = t->opos;
    if (!read_list(s, t, iri, "(\"user@example.com\" 5)", &items, &pos, &n))
        return;
    out->items = xcalloc(n, sizeof *out->items);
    for (size_t i = 0; i < n; i++) {
        const gnode *nd = graph_node(s->b->g, items[i]);
        if (nd->kind != NODE_LITERAL || (nd->lang && !nd->datatype)) {
            char sc[128];
            diag_error(s->b->d, pos[i], "the items of '%s' must be literals (strings, numbers, "
                                        "true or false)",
                       short_name(iri, sc, sizeof sc));
            continue;
        }
        out->items[out->n].kind = value_kind(s->b->g, items[i]);
        out->items[out->n].text = xstrdup(nd->value);
        out->items[out->n].pos = pos[i];
        out->n++;
    }
    free(items);
    free(pos);
}

/* Marks what hangs below node (blank nodes: list cells, [ ... ]
 * descriptions) as read, so that one wrong term does not also report every
 * term inside its value. */
static void suppress(builder *b, node_id node)
{
    if (graph_node(b->g, node)->kind != NODE_BLANK || b->visited[node])
        return;
    b->visited[node] = true;
    const uint32_t *idx;
    size_t n = graph_subject(b->g, node, &idx);
    for (size_t i = 0; i < n; i++) {
        b->used[idx[i]] = true;
        suppress(b, b->g->triples[idx[i]].o);
    }
}

/* Marks every triple of node (and what hangs below them) as read: after
 * an error about the node itself, its terms would only repeat it. */
static void suppress_subject(builder *b, node_id node)
{
    const uint32_t *idx;
    size_t n = graph_subject(b->g, node, &idx);
    for (size_t k = 0; k < n; k++) {
        b->used[idx[k]] = true;
        suppress(b, b->g->triples[idx[k]].o);
    }
}

/* Another rdf:type triple of t's subject naming a different class in a
 * dbont namespace, or NULL. */
static const triple *second_class(builder *b, const triple *t)
{
    const uint32_t *idx;
    size_t n = graph_subject(b->g, t->s, &idx);
    for (size_t k = 0; k < n; k++) {
        const triple *o = &b->g->triples[idx[k]];
        if (o == t || o->p != b->g->rdf_type || o->o == t->o || graph_node(b->g, o->o)->kind != NODE_IRI)
            continue;
        const vocab_term *term = vocab_lookup(graph_node(b->g, o->o)->value);
        if (term && term->kind == TERM_CLASS)
            return o;
    }
    return NULL;
}

/* Reports every triple of s in a dbont namespace that no take_* read. */
static void close_subject(subject *s)
{
    builder *b = s->b;
    for (size_t i = 0; i < s->n; i++) {
        uint32_t ti = s->idx[i];
        const triple *t = &b->g->triples[ti];
        if (b->used[ti])
            continue;
        b->used[ti] = true;
        const char *p = graph_node(b->g, t->p)->value;
        if (!vocab_is_ours(p))
            continue;
        suppress(b, t->o);
        char sc[128], sc2[128], where[256];
        const vocab_term *term = vocab_lookup(p);
        if (!term) {
            const char *guess = vocab_suggest(p);
            if (guess)
                diag_error(b->d, t->ppos, "unknown term '%s'; did you mean '%s'?",
                           short_name(p, sc, sizeof sc), short_name(guess, sc2, sizeof sc2));
            else
                diag_error(b->d, t->ppos, "unknown term '%s'", short_name(p, sc, sizeof sc));
        } else if (term->kind != TERM_PROPERTY) {
            diag_error(b->d, t->ppos, "'%s' is a class, not a property", short_name(p, sc, sizeof sc));
        } else {
            vocab_describe_contexts(term->contexts, where, sizeof where);
            diag_error(b->d, t->ppos, "'%s' does not apply to %s; it belongs on %s",
                       short_name(p, sc, sizeof sc), vocab_ctx_name(s->ctx), where);
        }
    }
}

/* A nested description (column, policy, where, join): a blank node or a
 * resource, not a literal, described once. */
static bool can_nest(builder *b, node_id node, dpos pos, const char *what)
{
    const gnode *n = graph_node(b->g, node);
    if (n->kind == NODE_LITERAL) {
        diag_error(b->d, pos, "%s must be a description in square brackets, e.g. [ db:name \"id\" "
                              "; db:type \"serial\" ], not a literal",
                   what);
        return false;
    }
    if (b->visited[node]) {
        diag_error(b->d, pos, "this node is already described elsewhere; %s needs its own", what);
        return false;
    }
    return true;
}

/* ---- tables --------------------------------------------------------------- */

static void build_column(builder *b, node_id node, dpos pos, column *c)
{
    unsigned before = diag_errors(b->d);
    subject s = open_subject(b, node, CTX_COLUMN);
    c->pos = pos;
    take_string(&s, DB_NS "name", &c->name);
    take_string(&s, DB_NS "type", &c->type);
    take_bool(&s, DB_NS "nullable", &c->nullable);
    take_bool(&s, DB_NS "primaryKey", &c->primary_key);
    take_bool(&s, DB_NS "unique", &c->unique);
    take_string(&s, DB_NS "default", &c->default_sql);
    take_iri(&s, DB_NS "references", &c->references);
    take_string(&s, DB_NS "referencesColumn", &c->references_column);
    take_string(&s, DB_NS "onDelete", &c->on_delete);
    take_string(&s, DB_NS "formerName", &c->former_name);
    const triple *t = take_one(&s, DB_NS "partOf");
    if (t && read_iri(&s, t, DB_NS "partOf", &c->part_of) &&
        strcmp(c->part_of.v, MT_NS "TenantKey") != 0)
        expect_error(&s, t, DB_NS "partOf", "mt:TenantKey");
    close_subject(&s);
    c->build_errors = diag_errors(b->d) - before;
}

static void build_policy(builder *b, node_id node, dpos pos, policy *p)
{
    subject s = open_subject(b, node, CTX_POLICY);
    p->pos = pos;
    take_string(&s, DB_NS "policyName", &p->name);
    take_string(&s, DB_NS "command", &p->command);
    take_string(&s, DB_NS "using", &p->using_expr);
    take_string(&s, DB_NS "withCheck", &p->with_check);
    close_subject(&s);
}

static void build_columns(subject *s, table *tb)
{
    const triple *t = take_one(s, DB_NS "columns");
    if (!t)
        return;
    tb->columns_set = true;
    tb->columns_pos = t->opos;
    node_id *items;
    dpos *pos;
    size_t n;
    if (!read_list(s, t, DB_NS "columns", "( [ db:name \"id\" ; db:type \"serial\" ] )", &items, &pos, &n))
        return;
    tb->cols = xcalloc(n, sizeof *tb->cols);
    for (size_t i = 0; i < n; i++)
        if (can_nest(s->b, items[i], pos[i], "a column"))
            build_column(s->b, items[i], pos[i], &tb->cols[tb->ncols++]);
    free(items);
    free(pos);
}

static void build_policies(subject *s, table *tb)
{
    const triple *t = take_one(s, DB_NS "rlsPolicies");
    if (!t)
        return;
    tb->policies_set = true;
    tb->policies_pos = t->opos;
    node_id *items;
    dpos *pos;
    size_t n;
    if (!read_list(s, t, DB_NS "rlsPolicies", "( [ db:policyName \"p\" ; db:command \"SELECT\" ] )",
                   &items, &pos, &n))
        return;
    tb->policies = xcalloc(n, sizeof *tb->policies);
    for (size_t i = 0; i < n; i++)
        if (can_nest(s->b, items[i], pos[i], "an RLS policy"))
            build_policy(s->b, items[i], pos[i], &tb->policies[tb->npolicies++]);
    free(items);
    free(pos);
}

/* db:primaryKey and db:unique on a table take a list of column names;
 * db:unique may be given several times (one constraint each). */
static void build_table_keys(subject *s, table *tb)
{
    take_strings(s, DB_NS "primaryKey", &tb->primary_key);
    const triple *first[1];
    size_t n = take_all(s, DB_NS "unique", first, 0);
    if (!n)
        return;
    tb->uniques = xcalloc(n, sizeof *tb->uniques);
    node_id p = graph_find_iri(s->b->g, DB_NS "unique");
    for (size_t i = 0; i < s->n; i++) {
        const triple *t = &s->b->g->triples[s->idx[i]];
        if (t->p == p && read_strings(s, t, DB_NS "unique", &tb->uniques[tb->nuniques]))
            tb->nuniques++;
    }
}

static void build_table(builder *b, node_id node, dpos pos)
{
    table *tb = xcalloc(1, sizeof *tb);
    model *m = b->m;
    GROW(m->tables, m->tables_cap, m->ntables);
    m->tables[m->ntables++] = tb;
    tb->iri = xstrdup(graph_node(b->g, node)->value);
    tb->pos = pos;
    unsigned before = diag_errors(b->d);
    subject s = open_subject(b, node, CTX_TABLE);
    take_string(&s, DB_NS "tableName", &tb->table_name);
    take_string(&s, DB_NS "entityName", &tb->entity_name);
    take_string(&s, DB_NS "formerName", &tb->former_name);
    build_columns(&s, tb);
    build_table_keys(&s, tb);
    take_bool(&s, DB_NS "multiTenant", &tb->multi_tenant);
    take_string(&s, DB_NS "tenantIdColumn", &tb->tenant_id_column);
    take_bool(&s, DB_NS "rls", &tb->rls);
    build_policies(&s, tb);
    close_subject(&s);
    tb->build_errors = diag_errors(b->d) - before;
}

/* ---- queries -------------------------------------------------------------- */

static void build_where(subject *qs, query *q)
{
    const triple *t = take_one(qs, DB_NS "where");
    if (!t || !can_nest(qs->b, t->o, t->opos, "db:where"))
        return;
    subject s = open_subject(qs->b, t->o, CTX_WHERE);
    q->where.set = true;
    q->where.pos = t->opos;
    take_string(&s, DB_NS "condition", &q->where.condition);
    take_values(&s, DB_NS "params", &q->where.params);
    close_subject(&s);
}

static void build_joins(subject *qs, query *q)
{
    const triple *dummy[1];
    size_t n = take_all(qs, DB_NS "join", dummy, 0);
    if (!n)
        return;
    q->joins = xcalloc(n, sizeof *q->joins);
    node_id p = graph_find_iri(qs->b->g, DB_NS "join");
    for (size_t i = 0; i < qs->n; i++) {
        const triple *t = &qs->b->g->triples[qs->idx[i]];
        if (t->p != p || !can_nest(qs->b, t->o, t->opos, "db:join"))
            continue;
        join_clause *j = &q->joins[q->njoins++];
        subject s = open_subject(qs->b, t->o, CTX_JOIN);
        j->pos = t->opos;
        take_string(&s, DB_NS "type", &j->type);
        take_iri(&s, DB_NS "table", &j->table);
        take_string(&s, DB_NS "on", &j->on);
        close_subject(&s);
    }
}

static void build_query(builder *b, node_id node, dpos pos)
{
    query *q = xcalloc(1, sizeof *q);
    model *m = b->m;
    GROW(m->queries, m->queries_cap, m->nqueries);
    m->queries[m->nqueries++] = q;
    q->iri = xstrdup(graph_node(b->g, node)->value);
    q->pos = pos;
    subject s = open_subject(b, node, CTX_QUERY);
    take_iri(&s, DB_NS "from", &q->from);
    build_where(&s, q);
    take_strings(&s, DB_NS "select", &q->select);
    build_joins(&s, q);
    take_strings(&s, DB_NS "groupBy", &q->group_by);
    take_string(&s, DB_NS "having", &q->having);
    take_values(&s, DB_NS "havingParams", &q->having_params);
    take_strings(&s, DB_NS "orderBy", &q->order_by);
    take_int(&s, DB_NS "limit", &q->limit);
    take_string(&s, DB_NS "returns", &q->returns);
    take_strings(&s, DB_NS "paramNames", &q->param_names);
    take_bool(&s, DB_NS "cacheable", &q->cacheable);
    take_string(&s, DB_NS "cacheKeyTemplate", &q->cache_key_template);
    take_int(&s, DB_NS "cacheTTL", &q->cache_ttl);
    take_strings(&s, CACHE_NS "invalidateOn", &q->invalidate_on);
    take_strings(&s, DB_NS "resultNotNull", &q->result_not_null);
    take_strings(&s, DB_NS "resultNullable", &q->result_nullable);
    close_subject(&s);
}

/* ---- tenancy, caching, sharding, indexes ---------------------------------- */

static void build_mt_pattern(builder *b, node_id node, dpos pos)
{
    mt_pattern *p = xcalloc(1, sizeof *p);
    model *m = b->m;
    GROW(m->mt_patterns, m->mt_patterns_cap, m->nmt_patterns);
    m->mt_patterns[m->nmt_patterns++] = p;
    p->iri = xstrdup(graph_node(b->g, node)->value);
    p->pos = pos;
    subject s = open_subject(b, node, CTX_MT_PATTERN);
    take_string(&s, MT_NS "isolationLevel", &p->isolation_level);
    take_string(&s, MT_NS "storageStrategy", &p->storage_strategy);
    take_string(&s, MT_NS "tenantSetting", &p->tenant_setting);
    take_string(&s, MT_NS "appRole", &p->app_role);
    close_subject(&s);
}

static void build_cache_strategy(builder *b, node_id node, dpos pos)
{
    cache_strategy *c = xcalloc(1, sizeof *c);
    model *m = b->m;
    GROW(m->cache_strategies, m->cache_strategies_cap, m->ncache_strategies);
    m->cache_strategies[m->ncache_strategies++] = c;
    c->iri = xstrdup(graph_node(b->g, node)->value);
    c->pos = pos;
    subject s = open_subject(b, node, CTX_CACHE_STRATEGY);
    take_string(&s, CACHE_NS "backend", &c->backend);
    take_int(&s, CACHE_NS "ttl", &c->ttl);
    take_string(&s, CACHE_NS "invalidationStrategy", &c->invalidation_strategy);
    close_subject(&s);
}

static void build_cache_pattern(builder *b, node_id node, dpos pos)
{
    cache_pattern *c = xcalloc(1, sizeof *c);
    model *m = b->m;
    GROW(m->cache_patterns, m->cache_patterns_cap, m->ncache_patterns);
    m->cache_patterns[m->ncache_patterns++] = c;
    c->iri = xstrdup(graph_node(b->g, node)->value);
    c->pos = pos;
    subject s = open_subject(b, node, CTX_CACHE_PATTERN);
    take_string(&s, CACHE_NS "triggerEvent", &c->trigger_event);
    take_iris(&s, CACHE_NS "queries", &c->queries);
    close_subject(&s);
}

static void build_shard(builder *b, node_id node, dpos pos)
{
    shard_strategy *x = xcalloc(1, sizeof *x);
    model *m = b->m;
    GROW(m->shards, m->shards_cap, m->nshards);
    m->shards[m->nshards++] = x;
    x->iri = xstrdup(graph_node(b->g, node)->value);
    x->pos = pos;
    subject s = open_subject(b, node, CTX_SHARD);
    take_iri(&s, SHARD_NS "table", &x->table);
    take_string(&s, SHARD_NS "algorithm", &x->algorithm);
    take_string(&s, SHARD_NS "key", &x->key);
    take_int(&s, SHARD_NS "shardCount", &x->shard_count);
    take_int(&s, SHARD_NS "replicationFactor", &x->replication_factor);
    take_string(&s, SHARD_NS "rangeSize", &x->range_size);
    take_int(&s, SHARD_NS "hotDataWindow", &x->hot_data_window);
    take_int(&s, SHARD_NS "periodsAhead", &x->periods_ahead);
    close_subject(&s);
}

static void build_index(builder *b, node_id node, dpos pos)
{
    index_def *x = xcalloc(1, sizeof *x);
    model *m = b->m;
    GROW(m->indexes, m->indexes_cap, m->nindexes);
    m->indexes[m->nindexes++] = x;
    x->iri = xstrdup(graph_node(b->g, node)->value);
    x->pos = pos;
    subject s = open_subject(b, node, CTX_INDEX);
    take_iri(&s, IDX_NS "table", &x->table);
    take_strings(&s, IDX_NS "columns", &x->columns);
    take_bool(&s, IDX_NS "unique", &x->unique);
    take_string(&s, IDX_NS "type", &x->type);
    take_string(&s, IDX_NS "partialPredicate", &x->partial_predicate);
    take_string(&s, IDX_NS "language", &x->language);
    close_subject(&s);
}

/* ---- dispatch ------------------------------------------------------------- */

typedef void (*class_builder)(builder *b, node_id node, dpos pos);

static const struct {
    const char *iri;
    class_builder build;
} classes[] = {
    {DB_NS "Table", build_table},
    {DB_NS "Query", build_query},
    {MT_NS "Pattern", build_mt_pattern},
    {CACHE_NS "CacheStrategy", build_cache_strategy},
    {CACHE_NS "Pattern", build_cache_pattern},
    {SHARD_NS "Strategy", build_shard},
    {IDX_NS "Index", build_index},
};

static class_builder find_class(const char *iri)
{
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(classes[i].iri, iri) == 0)
            return classes[i].build;
    return NULL;
}

/* Checks the rdf:type triple t (its class is in a dbont namespace) and
 * returns the builder of its class, or NULL (reported). */
static class_builder class_of(builder *b, const triple *t)
{
    const char *cls = graph_node(b->g, t->o)->value;
    class_builder cb = find_class(cls);
    if (cb)
        return cb;
    char sc[128], sc2[128];
    const vocab_term *term = vocab_lookup(cls);
    const char *guess = vocab_suggest(cls);
    if (term)
        diag_error(b->d, t->opos, "'%s' is not a class", short_name(cls, sc, sizeof sc));
    else if (guess)
        diag_error(b->d, t->opos, "unknown class '%s'; did you mean '%s'?", short_name(cls, sc, sizeof sc),
                   short_name(guess, sc2, sizeof sc2));
    else
        diag_error(b->d, t->opos, "unknown class '%s'", short_name(cls, sc, sizeof sc));
    return NULL;
}

bool build_model(const graph *g, diag *d, model *m)
{
    unsigned before = diag_errors(d);
    builder b = {g, d, m, xcalloc(g->ntriples, sizeof(bool)), xcalloc(g->nnodes, sizeof(bool))};

    /* Class instances, in the order their `a <class>` appears. */
    for (size_t i = 0; i < g->ntriples; i++) {
        const triple *t = &g->triples[i];
        if (t->p != g->rdf_type || b.used[i])
            continue;
        const gnode *o = graph_node(g, t->o);
        if (o->kind != NODE_IRI || !vocab_is_ours(o->value))
            continue;
        b.used[i] = true;
        class_builder cb = class_of(&b, t);
        if (!cb) {
            /* reported: what the node says means nothing without its class */
            suppress_subject(&b, t->s);
            continue;
        }
        if (b.visited[t->s]) {
            char sc[128];
            diag_error(d, t->opos, "'%s' already has a dbont class; a node can be only one of "
                                   "db:Table, db:Query, ...",
                       short_name(graph_node(g, t->s)->value, sc, sizeof sc));
            continue;
        }
        if (graph_node(g, t->s)->kind != NODE_IRI) {
            diag_error(d, t->spos, "a %s must be a named resource (such as db:UsersTable), not a "
                                   "blank node",
                       short_name(o->value, (char[128]){0}, 128));
            suppress_subject(&b, t->s);
            continue;
        }
        /* A second dbont class on the same node: close_subject would take
         * its rdf:type as read, so look for it before building. */
        const triple *other = second_class(&b, t);
        if (other) {
            char sc[128];
            diag_error(d, other->opos, "'%s' already has a dbont class; a node can be only one of "
                                       "db:Table, db:Query, ...",
                       short_name(graph_node(g, t->s)->value, sc, sizeof sc));
            diag_note(d, t->opos, "its first class");
        }
        cb(&b, t->s, t->spos);
    }

    /* dbont terms nobody read: on nodes without a class. */
    for (size_t i = 0; i < g->ntriples; i++) {
        const triple *t = &g->triples[i];
        if (b.used[i] || !vocab_is_ours(graph_node(g, t->p)->value))
            continue;
        node_id s = t->s;
        char sc[128], sc2[128];
        const char *p = graph_node(g, t->p)->value;
        if (!vocab_lookup(p)) {
            const char *guess = vocab_suggest(p);
            if (guess)
                diag_error(d, t->ppos, "unknown term '%s'; did you mean '%s'?", short_name(p, sc, sizeof sc),
                           short_name(guess, sc2, sizeof sc2));
            else
                diag_error(d, t->ppos, "unknown term '%s'", short_name(p, sc, sizeof sc));
        } else {
            diag_error(d, t->ppos, "'%s' is used on a node that has no dbont class (add `a db:Table` "
                                   "or the class it belongs to)",
                       short_name(p, sc, sizeof sc));
        }
        /* one report per node is enough */
        for (size_t j = i; j < g->ntriples; j++) {
            if (g->triples[j].s == s) {
                b.used[j] = true;
                suppress(&b, g->triples[j].o);
            }
        }
    }

    free(b.used);
    free(b.visited);
    return diag_errors(d) == before;
}
