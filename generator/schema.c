#include "schema.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "naming.h"
#include "search.h"

#include "sqltypes.h"
#include "util.h"

void schema_init(schema *s)
{
    memset(s, 0, sizeof *s);
}

static void free_column(scolumn *c)
{
    free(c->name);
    free(c->type);
    free(c->default_sql);
    free(c->former_name);
}

void sconstraint_free(sconstraint *c)
{
    free(c->name);
    for (size_t i = 0; i < c->ncols; i++)
        free(c->cols[i]);
    free(c->cols);
    free(c->ref_table);
    for (size_t i = 0; i < c->nref; i++)
        free(c->ref_cols[i]);
    free(c->ref_cols);
    for (size_t i = 0; i < c->nnull; i++)
        free(c->null_cols[i]);
    free(c->null_cols);
    memset(c, 0, sizeof *c);
}

static void free_policy(spolicy *p)
{
    free(p->name);
    free(p->command);
    free(p->using_sql);
    free(p->check_sql);
}

static void free_index(sindex *x)
{
    free(x->name);
    free(x->method);
    for (size_t i = 0; i < x->ncols; i++)
        free(x->cols[i]);
    free(x->cols);
    free(x->language);
    free(x->predicate);
    free(x->search_function);
}

static void free_table(stable *t)
{
    free(t->name);
    free(t->former_name);
    for (size_t i = 0; i < t->ncols; i++)
        free_column(&t->cols[i]);
    free(t->cols);
    for (size_t i = 0; i < t->ncons; i++)
        sconstraint_free(&t->cons[i]);
    free(t->cons);
    for (size_t i = 0; i < t->npolicies; i++)
        free_policy(&t->policies[i]);
    free(t->policies);
    free(t->grant_role);
    for (size_t i = 0; i < t->nindexes; i++)
        free_index(&t->indexes[i]);
    free(t->indexes);
    free(t->partition_key);
    free(t->partition_range);
    free(t->shard_key);
    free(t->cache_entity);
    free(t->cache_tenant);
}

void schema_free(schema *s)
{
    for (size_t i = 0; i < s->ntables; i++)
        free_table(&s->tables[i]);
    free(s->tables);
    free(s->tenant_setting);
    free(s->tenant_type);
    free(s->app_role);
    schema_init(s);
}

stable *schema_add_table(schema *s, const char *name)
{
    GROW(s->tables, s->tables_cap, s->ntables);
    stable *t = &s->tables[s->ntables++];
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    return t;
}

scolumn *stable_add_column(stable *t, const char *name)
{
    GROW(t->cols, t->cols_cap, t->ncols);
    scolumn *c = &t->cols[t->ncols++];
    memset(c, 0, sizeof *c);
    c->name = xstrdup(name);
    return c;
}

sconstraint *stable_add_constraint(stable *t, scon_kind kind, const char *name)
{
    GROW(t->cons, t->cons_cap, t->ncons);
    sconstraint *c = &t->cons[t->ncons++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->name = xstrdup(name);
    return c;
}

void sconstraint_add_col(sconstraint *c, const char *col)
{
    c->cols = xrealloc(c->cols, (c->ncols + 1) * sizeof *c->cols);
    c->cols[c->ncols++] = xstrdup(col);
}

void sconstraint_add_ref_col(sconstraint *c, const char *col)
{
    c->ref_cols = xrealloc(c->ref_cols, (c->nref + 1) * sizeof *c->ref_cols);
    c->ref_cols[c->nref++] = xstrdup(col);
}

void sconstraint_add_null_col(sconstraint *c, const char *col)
{
    c->null_cols = xrealloc(c->null_cols, (c->nnull + 1) * sizeof *c->null_cols);
    c->null_cols[c->nnull++] = xstrdup(col);
}

static char *dup_or_null(const char *s);

spolicy *stable_add_policy(stable *t, const char *name, const char *command, const char *using_sql,
                           const char *check_sql)
{
    GROW(t->policies, t->policies_cap, t->npolicies);
    spolicy *p = &t->policies[t->npolicies++];
    memset(p, 0, sizeof *p);
    p->name = xstrdup(name);
    p->command = xstrdup(command);
    p->using_sql = dup_or_null(using_sql);
    p->check_sql = dup_or_null(check_sql);
    return p;
}

sindex *stable_add_index(stable *t, const char *name, const char *method)
{
    GROW(t->indexes, t->indexes_cap, t->nindexes);
    sindex *x = &t->indexes[t->nindexes++];
    memset(x, 0, sizeof *x);
    x->name = xstrdup(name);
    x->method = xstrdup(method);
    return x;
}

void sindex_add_col(sindex *x, const char *col)
{
    x->cols = xrealloc(x->cols, (x->ncols + 1) * sizeof *x->cols);
    x->cols[x->ncols++] = xstrdup(col);
}

void stable_remove_index(stable *t, size_t i)
{
    free_index(&t->indexes[i]);
    memmove(&t->indexes[i], &t->indexes[i + 1], (t->nindexes - i - 1) * sizeof *t->indexes);
    t->nindexes--;
}

sindex *stable_index(const stable *t, const char *name)
{
    for (size_t i = 0; i < t->nindexes; i++)
        if (!strcmp(t->indexes[i].name, name))
            return &t->indexes[i];
    return NULL;
}

char *sindex_definition(const sindex *x)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "USING %s (", x->method);
    if (x->language) {
        char *doc = search_document_sql(x->language, x->cols, x->ncols, NULL);
        buf_printf(&b, "(%s)", doc);
        free(doc);
    } else {
        for (size_t i = 0; i < x->ncols; i++) {
            char *q = naming_sql_ident(x->cols[i]);
            buf_printf(&b, "%s%s", i ? ", " : "", q);
            free(q);
        }
    }
    buf_addc(&b, ')');
    if (x->predicate)
        buf_printf(&b, " WHERE (%s)", x->predicate);
    return buf_take(&b);
}

static bool same_opt(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

bool sindex_same(const sindex *a, const sindex *b)
{
    if (strcmp(a->method, b->method) || a->unique != b->unique || a->ncols != b->ncols ||
        !same_opt(a->language, b->language) || !same_opt(a->predicate, b->predicate))
        return false;
    for (size_t i = 0; i < a->ncols; i++)
        if (strcmp(a->cols[i], b->cols[i]))
            return false;
    return true;
}

void schema_remove_table(schema *s, size_t i)
{
    free_table(&s->tables[i]);
    memmove(&s->tables[i], &s->tables[i + 1], (s->ntables - i - 1) * sizeof *s->tables);
    s->ntables--;
}

void stable_remove_column(stable *t, size_t i)
{
    free_column(&t->cols[i]);
    memmove(&t->cols[i], &t->cols[i + 1], (t->ncols - i - 1) * sizeof *t->cols);
    t->ncols--;
}

void stable_remove_constraint(stable *t, size_t i)
{
    sconstraint_free(&t->cons[i]);
    memmove(&t->cons[i], &t->cons[i + 1], (t->ncons - i - 1) * sizeof *t->cons);
    t->ncons--;
}

stable *schema_table(const schema *s, const char *name)
{
    for (size_t i = 0; i < s->ntables; i++)
        if (strcmp(s->tables[i].name, name) == 0)
            return &s->tables[i];
    return NULL;
}

size_t stable_column_index(const stable *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    return (size_t)-1;
}

scolumn *stable_column(const stable *t, const char *name)
{
    size_t i = stable_column_index(t, name);
    return i == (size_t)-1 ? NULL : &t->cols[i];
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

void sconstraint_copy(const sconstraint *from, sconstraint *to)
{
    memset(to, 0, sizeof *to);
    to->kind = from->kind;
    to->name = xstrdup(from->name);
    for (size_t i = 0; i < from->ncols; i++)
        sconstraint_add_col(to, from->cols[i]);
    to->ref_table = dup_or_null(from->ref_table);
    for (size_t i = 0; i < from->nref; i++)
        sconstraint_add_ref_col(to, from->ref_cols[i]);
    to->rule = from->rule;
    for (size_t i = 0; i < from->nnull; i++)
        sconstraint_add_null_col(to, from->null_cols[i]);
}

static void sindex_copy(const sindex *from, stable *t)
{
    sindex *x = stable_add_index(t, from->name, from->method);
    x->unique = from->unique;
    for (size_t i = 0; i < from->ncols; i++)
        sindex_add_col(x, from->cols[i]);
    x->language = dup_or_null(from->language);
    x->predicate = dup_or_null(from->predicate);
    x->search_function = dup_or_null(from->search_function);
    x->pos = from->pos;
}

void schema_copy(const schema *from, schema *to)
{
    schema_init(to);
    to->tenant_setting = dup_or_null(from->tenant_setting);
    to->tenant_type = dup_or_null(from->tenant_type);
    to->app_role = dup_or_null(from->app_role);
    for (size_t i = 0; i < from->ntables; i++) {
        const stable *ft = &from->tables[i];
        stable *t = schema_add_table(to, ft->name);
        t->former_name = dup_or_null(ft->former_name);
        t->pos = ft->pos;
        t->rls = ft->rls;
        t->grant_role = dup_or_null(ft->grant_role);
        for (size_t k = 0; k < ft->npolicies; k++)
            stable_add_policy(t, ft->policies[k].name, ft->policies[k].command, ft->policies[k].using_sql,
                              ft->policies[k].check_sql)
                ->restrictive = ft->policies[k].restrictive;
        for (size_t c = 0; c < ft->ncols; c++) {
            scolumn *col = stable_add_column(t, ft->cols[c].name);
            const scolumn *fc = &ft->cols[c];
            col->type = xstrdup(fc->type);
            col->not_null = fc->not_null;
            col->default_sql = dup_or_null(fc->default_sql);
            col->former_name = dup_or_null(fc->former_name);
            col->pos = fc->pos;
            col->type_pos = fc->type_pos;
            col->nullable_pos = fc->nullable_pos;
        }
        for (size_t c = 0; c < ft->ncons; c++) {
            GROW(t->cons, t->cons_cap, t->ncons);
            sconstraint_copy(&ft->cons[c], &t->cons[t->ncons++]);
        }
        for (size_t k = 0; k < ft->nindexes; k++)
            sindex_copy(&ft->indexes[k], t);
        t->partition_key = dup_or_null(ft->partition_key);
        t->partition_range = dup_or_null(ft->partition_range);
        t->hot_days = ft->hot_days;
        t->periods_ahead = ft->periods_ahead;
        t->partition_pos = ft->partition_pos;
        t->shard_key = dup_or_null(ft->shard_key);
        t->shard_count = ft->shard_count;
        t->shard_pos = ft->shard_pos;
        t->cache_entity = dup_or_null(ft->cache_entity);
        t->cache_tenant = dup_or_null(ft->cache_tenant);
    }
}

/* Whether a cacheable query is invalidated by an event of t. */
static bool cache_listens_to(const model *m, const table *t)
{
    size_t n = t->event_entity ? strlen(t->event_entity) : 0;
    for (size_t i = 0; n && i < m->nqueries; i++) {
        const query *q = m->queries[i];
        if (!q->cacheable.set || !q->cacheable.v)
            continue;
        for (size_t k = 0; k < q->invalidate_on.n; k++)
            if (!strncmp(q->invalidate_on.items[k].v, t->event_entity, n) && q->invalidate_on.items[k].v[n] == ':')
                return true;
    }
    return false;
}

void schema_from_model(const model *m, schema *out)
{
    schema_init(out);
    if (m->tenancy.has_tenancy) {
        out->tenant_setting = xstrdup(m->tenancy.setting);
        out->tenant_type = sqltype_value_sql(&m->tenancy.type);
        out->app_role = xstrdup(m->tenancy.app_role);
    }
    for (size_t i = 0; i < m->ntables; i++) {
        const table *mt = m->tables[i];
        stable *t = schema_add_table(out, mt->name);
        t->rls = mt->rls_on;
        if (out->app_role)
            t->grant_role = xstrdup(out->app_role);
        /* A multi-tenant table always has the tenant policy.  Beside the
         * ontology's own policies it is restrictive: theirs decide within
         * the tenant, none can reach past it. */
        if (mt->tenant_col != (size_t)-1) {
            char *name = naming_tenant_policy(mt->name);
            char *cond = xasprintf("%s = current_org_id()", mt->cols[mt->tenant_col].sql);
            spolicy *tp = stable_add_policy(t, name, "ALL", cond, cond);
            tp->restrictive = mt->npolicies > 0;
            free(name);
            free(cond);
        }
        if (mt->npolicies) {
            for (size_t k = 0; k < mt->npolicies; k++) {
                const policy *p = &mt->policies[k];
                char *cmd = xstrdup(p->command.v ? p->command.v : "ALL");
                for (char *c = cmd; *c; c++)
                    *c = (char)toupper((unsigned char)*c);
                stable_add_policy(t, p->name.v, cmd, p->using_expr.v, p->with_check.v);
                free(cmd);
            }
        }
        t->former_name = dup_or_null(mt->former_name.v);
        t->pos = mt->table_name.v ? mt->table_name.pos : mt->pos;
        if (cache_listens_to(m, mt)) {
            t->cache_entity = xstrdup(mt->event_entity);
            if (mt->tenant_col != (size_t)-1)
                t->cache_tenant = xstrdup(mt->cols[mt->tenant_col].name.v);
        }
        if (mt->range_partition) {
            const shard_strategy *rp = mt->range_partition;
            t->partition_key = xstrdup(rp->key.v);
            t->partition_range = xstrdup(rp->range);
            t->hot_days = rp->hot_days;
            t->periods_ahead = rp->ahead;
            t->partition_pos = rp->pos;
        }
        if (mt->hash_shard) {
            t->shard_key = xstrdup(mt->hash_shard->key.v);
            t->shard_count = mt->hash_shard->shard_count.v;
            t->shard_pos = mt->hash_shard->pos;
        }
        for (size_t c = 0; c < mt->ncols; c++) {
            const column *mc = &mt->cols[c];
            scolumn *col = stable_add_column(t, mc->name.v);
            col->type = sqltype_sql(&mc->stype);
            col->not_null = mc->not_null;
            col->default_sql = dup_or_null(mc->default_sql.v);
            col->former_name = dup_or_null(mc->former_name.v);
            col->pos = mc->name.pos;
            col->type_pos = mc->type.pos;
            col->nullable_pos = mc->nullable.set ? mc->nullable.pos : mc->name.pos;
        }
        if (mt->npk) {
            sconstraint *k = stable_add_constraint(t, SC_PRIMARY_KEY, mt->pk_name);
            for (size_t p = 0; p < mt->npk; p++)
                sconstraint_add_col(k, mt->cols[mt->pk[p]].name.v);
        }
        for (size_t u = 0; u < mt->nunique_sets; u++) {
            sconstraint *k = stable_add_constraint(t, SC_UNIQUE, mt->unique_names[u]);
            for (size_t p = 0; p < mt->unique_sizes[u]; p++)
                sconstraint_add_col(k, mt->cols[mt->unique_sets[u][p]].name.v);
        }
        for (size_t c = 0; c < mt->ncols; c++) {
            const column *mc = &mt->cols[c];
            if (!mc->ref_table)
                continue;
            sconstraint *k = stable_add_constraint(t, SC_FOREIGN_KEY, mc->fk_name);
            k->ref_table = xstrdup(mc->ref_table->name);
            if (mc->tenant_fk) {
                sconstraint_add_col(k, mt->cols[mt->tenant_col].name.v);
                sconstraint_add_ref_col(k, mc->ref_table->cols[mc->ref_table->tenant_col].name.v);
            }
            sconstraint_add_col(k, mc->name.v);
            sconstraint_add_ref_col(k, mc->ref_table->cols[mc->ref_column].name.v);
            k->rule = mc->delete_rule;
            if (mc->tenant_fk && mc->delete_rule == ON_DELETE_SET_NULL)
                sconstraint_add_null_col(k, mc->name.v);
        }
        for (size_t k = 0; k < m->nindexes; k++) {
            const index_def *d = m->indexes[k];
            if (d->tbl != mt)
                continue;
            sindex *x = stable_add_index(t, d->name, d->method);
            x->unique = d->unique.set && d->unique.v;
            for (size_t c = 0; c < d->columns.n; c++)
                sindex_add_col(x, mt->cols[d->cols[c]].name.v);
            x->language = dup_or_null(d->language.v);
            for (char *l = x->language; l && *l; l++)
                *l = (char)tolower((unsigned char)*l);
            x->predicate = dup_or_null(d->partial_predicate.v);
            if (d->search_definer)
                x->search_function = xstrdup(d->search_name);
            x->pos = d->pos;
        }
    }
}
