#include "cached.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sqltypes.h"
#include "util.h"

unsigned cache_default_ttl(const model *m)
{
    for (size_t i = 0; i < m->ncache_strategies; i++)
        if (m->cache_strategies[i]->ttl.set && m->cache_strategies[i]->ttl.v > 0)
            return (unsigned)m->cache_strategies[i]->ttl.v;
    return 300;
}

/* Whether word occurs in sql as a whole identifier. */
static bool mentions(const char *sql, const char *word)
{
    size_t n = strlen(word);
    for (const char *s = sql; (s = strstr(s, word)) != NULL; s++) {
        bool before = s == sql || !(isalnum((unsigned char)s[-1]) || s[-1] == '_');
        bool after = !(isalnum((unsigned char)s[n]) || s[n] == '_');
        if (before && after)
            return true;
    }
    return false;
}

/* A query's rows depend on the session's tenant when it reads a
 * multi-tenant table anywhere: FROM, a join, or a subquery in a condition
 * (row-level security filters them all), so any mention of one counts. */
static bool reads_tenant_table(const model *m, const query *q, const char *sql)
{
    for (size_t i = 0; i < m->ntables; i++)
        if (m->tables[i]->tenant_col != (size_t)-1 && mentions(sql, m->tables[i]->name))
            return true;
    const table *from = model_find_table(m, q->from.v);
    if (from && from->tenant_col != (size_t)-1)
        return true;
    for (size_t j = 0; j < q->njoins; j++) {
        const table *t = model_find_table(m, q->joins[j].table.v);
        if (t && t->tenant_col != (size_t)-1)
            return true;
    }
    return false;
}

/* Every {{name}} of the template names a parameter; nothing else is
 * between the braces. */
static bool check_template(const qplan *p, diag *d)
{
    const mstr *t = &p->q->cache_key_template;
    bool ok = true;
    for (const char *s = t->v; (s = strstr(s, "{{")) != NULL;) {
        const char *close = strstr(s + 2, "}}");
        dpos where = t->pos;
        where.col += 1 + (unsigned)(s - t->v); /* inside a one-line literal */
        if (close == NULL) {
            diag_error(d, where, "db:cacheKeyTemplate: '{{' without its '}}'");
            return false;
        }
        size_t n = (size_t)(close - s - 2);
        bool found = false;
        for (size_t i = 0; i < p->nparams && !found; i++)
            found = strlen(p->params[i].name) == n && strncmp(p->params[i].name, s + 2, n) == 0;
        if (!found) {
            buf names;
            buf_init(&names);
            for (size_t i = 0; i < p->nparams; i++)
                buf_printf(&names, "%s'%s'", i ? ", " : "", p->params[i].name);
            diag_error(d, where, "db:cacheKeyTemplate names '%.*s', which is not a parameter of query %s (%s%s)",
                       (int)n, s + 2, p->q->c_name, p->nparams ? "its parameters: " : "it has none",
                       names.data ? names.data : "");
            buf_free(&names);
            ok = false;
        }
        s = close + 2;
    }
    return ok;
}

static uint64_t identity(const qplan *p, const char *version)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "dbont %s\n%s\n", version, p->sql);
    for (size_t i = 0; i < p->ncols; i++)
        buf_printf(&b, "%s %d %d\n", p->cols[i].name, (int)p->cols[i].type.kind, p->cols[i].not_null);
    uint64_t h = fnv1a64(b.data, b.len, FNV64_OFFSET);
    buf_free(&b);
    return h;
}

bool cache_plans_build(const model *m, const qplan *plans, size_t n, const char *version, cache_plan **out,
                       diag *d)
{
    *out = xcalloc(n ? n : 1, sizeof **out);
    bool ok = true;
    unsigned ttl = cache_default_ttl(m);
    for (size_t i = 0; i < n; i++) {
        const qplan *p = &plans[i];
        const query *q = p->q;
        cache_plan *c = &(*out)[i];
        if (!q->cacheable.set || !q->cacheable.v) {
            for (size_t k = 0; k < 3; k++) {
                static const char *const terms[] = {"db:cacheKeyTemplate", "db:cacheTTL", "cache:invalidateOn"};
                bool given = k == 0 ? q->cache_key_template.v != NULL : k == 1 ? q->cache_ttl.set : q->invalidate_on.set;
                dpos where = k == 0 ? q->cache_key_template.pos : k == 1 ? q->cache_ttl.pos : q->invalidate_on.pos;
                if (given)
                    diag_warning(d, where, "%s on a query that is not db:cacheable true: it has no effect", terms[k]);
            }
            continue;
        }
        if (p->returns == QR_NONE) {
            diag_error(d, q->cacheable.pos, "query %s returns no rows (db:returns \"none\"): there is nothing to "
                                           "cache",
                       q->c_name);
            ok = false;
            continue;
        }
        c->cached = true;
        c->ttl_s = q->cache_ttl.set && q->cache_ttl.v > 0 ? (unsigned)q->cache_ttl.v : ttl;
        c->tenant_scoped = reads_tenant_table(m, q, p->sql);
        c->schema_hash = identity(p, version);
        if (q->cache_key_template.v && !check_template(p, d))
            ok = false;
        for (size_t k = 0; k < q->invalidate_on.n; k++) {
            const char *e = q->invalidate_on.items[k].v;
            const char *colon = strchr(e, ':');
            bool plain = colon && colon != e && colon[1];
            for (const char *s = e; *s && plain; s++)
                plain = (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == ':' || *s == '-';
            if (!plain) {
                diag_error(d, q->invalidate_on.items[k].pos,
                           "cache:invalidateOn '%s' is not an event: write 'entity:action' in lower case, e.g. "
                           "'user:updated'",
                           e);
                ok = false;
            }
        }
        if (!q->invalidate_on.set)
            diag_warning(d, q->pos, "cacheable query %s lists no cache:invalidateOn events: only its TTL (%u s) "
                                    "ends its entries",
                         q->c_name, c->ttl_s);
    }
    return ok;
}

char *cache_warm_name(const char *event)
{
    char *s = xstrdup(event);
    for (char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
            *c = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : '_';
    return s;
}

const mvalue *cache_example(const qplan *p, size_t i)
{
    const query *q = p->q;
    if (i < q->where.params.n)
        return &q->where.params.items[i];
    i -= q->where.params.n;
    return i < q->having_params.n ? &q->having_params.items[i] : NULL;
}

/* Types a warm-up can write an example of as a C literal (a uuid is
 * parsed when it runs). */
static bool literal_type(sqltype_kind k)
{
    return k != ST_DATE && k != ST_TIMESTAMP && k != ST_TIMESTAMPTZ && k != ST_BYTEA;
}

bool cache_check_warmups(const model *m, const qplan *plans, size_t n, const cache_plan *cp, diag *d)
{
    bool ok = true;
    for (size_t i = 0; i < m->ncache_patterns; i++) {
        const cache_pattern *c = m->cache_patterns[i];
        if (!c->trigger_event.v) {
            diag_error(d, c->pos, "a cache:Pattern needs cache:triggerEvent: the event whose warm-up it is");
            ok = false;
            continue;
        }
        char *name = cache_warm_name(c->trigger_event.v);
        for (size_t j = 0; j < i; j++) {
            char *other = m->cache_patterns[j]->trigger_event.v ? cache_warm_name(m->cache_patterns[j]->trigger_event.v)
                                                                 : NULL;
            if (other && !strcmp(other, name)) {
                diag_error(d, c->trigger_event.pos, "two cache:Patterns warm up on '%s' (their functions would "
                                                    "share a name): list the queries in one",
                           c->trigger_event.v);
                ok = false;
            }
            free(other);
        }
        free(name);
        for (size_t k = 0; k < c->queries.n; k++) {
            const qplan *p = NULL;
            for (size_t j = 0; j < n && !p; j++)
                if (plans[j].q->iri && !strcmp(plans[j].q->iri, c->queries.items[k].v))
                    p = &plans[j];
            if (!p)
                continue; /* check.c reported it */
            if (!cp[p - plans].cached) {
                diag_error(d, c->queries.items[k].pos, "cache:queries lists %s, which is not db:cacheable true: "
                                                       "warming it up would cache nothing",
                           p->q->c_name);
                ok = false;
                continue;
            }
            for (size_t a = 0; a < p->nparams; a++) {
                const mvalue *v = cache_example(p, a);
                if (!v) {
                    diag_error(d, c->queries.items[k].pos, "the warm-up of %s needs an example value for its "
                                                           "parameter '%s' (db:params)",
                               p->q->c_name, p->params[a].name);
                    ok = false;
                } else if (!literal_type(p->params[a].type.kind)) {
                    diag_error(d, v->pos, "a warm-up cannot pass an example %s to parameter '%s' of %s yet; "
                                          "leave the query out of cache:queries",
                               sqltype_info_of(p->params[a].type.kind)->name, p->params[a].name, p->q->c_name);
                    ok = false;
                }
            }
        }
    }
    return ok;
}
