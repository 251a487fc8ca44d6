#include "model.h"

#include <stdlib.h>
#include <string.h>

void model_init(model *m)
{
    memset(m, 0, sizeof *m);
}

static void free_mstrs(mstrs *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].v);
    free(l->items);
}

static void free_mvalues(mvalues *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].text);
    free(l->items);
}

static void free_column(column *c)
{
    free(c->name.v);
    free(c->type.v);
    free(c->default_sql.v);
    free(c->references.v);
    free(c->references_column.v);
    free(c->on_delete.v);
    free(c->part_of.v);
    free(c->former_name.v);
    free(c->sql);
    free(c->c_name);
    free(c->c_flag);
    free(c->fk_name);
}

static void free_table(table *t)
{
    free(t->iri);
    free(t->table_name.v);
    free(t->entity_name.v);
    free(t->former_name.v);
    for (size_t i = 0; i < t->ncols; i++)
        free_column(&t->cols[i]);
    free(t->cols);
    free_mstrs(&t->primary_key);
    for (size_t i = 0; i < t->nuniques; i++)
        free_mstrs(&t->uniques[i]);
    free(t->uniques);
    free(t->tenant_id_column.v);
    for (size_t i = 0; i < t->npolicies; i++) {
        free(t->policies[i].name.v);
        free(t->policies[i].command.v);
        free(t->policies[i].using_expr.v);
        free(t->policies[i].with_check.v);
    }
    free(t->policies);
    free(t->name);
    free(t->sql);
    free(t->c_name);
    free(t->pk);
    for (size_t i = 0; i < t->nunique_sets; i++) {
        free(t->unique_sets[i]);
        free(t->unique_names ? t->unique_names[i] : NULL);
    }
    free(t->unique_names);
    free(t->pk_name);
    free(t->event_entity);
    free(t->unique_sets);
    free(t->unique_sizes);
    free(t);
}

static void free_query(query *q)
{
    free(q->iri);
    free(q->from.v);
    free(q->where.condition.v);
    free_mvalues(&q->where.params);
    free_mstrs(&q->select);
    for (size_t i = 0; i < q->njoins; i++) {
        free(q->joins[i].type.v);
        free(q->joins[i].table.v);
        free(q->joins[i].on.v);
    }
    free(q->joins);
    free_mstrs(&q->group_by);
    free(q->having.v);
    free_mvalues(&q->having_params);
    free_mstrs(&q->order_by);
    free(q->returns.v);
    free_mstrs(&q->param_names);
    free(q->cache_key_template.v);
    free_mstrs(&q->invalidate_on);
    free_mstrs(&q->result_not_null);
    free_mstrs(&q->result_nullable);
    free(q->c_name);
    free(q);
}

void model_free(model *m)
{
    for (size_t i = 0; i < m->ntables; i++)
        free_table(m->tables[i]);
    free(m->tables);
    for (size_t i = 0; i < m->nqueries; i++)
        free_query(m->queries[i]);
    free(m->queries);
    for (size_t i = 0; i < m->nmt_patterns; i++) {
        free(m->mt_patterns[i]->iri);
        free(m->mt_patterns[i]->isolation_level.v);
        free(m->mt_patterns[i]->storage_strategy.v);
        free(m->mt_patterns[i]->tenant_setting.v);
        free(m->mt_patterns[i]->app_role.v);
        free(m->mt_patterns[i]);
    }
    free(m->mt_patterns);
    for (size_t i = 0; i < m->ncache_strategies; i++) {
        free(m->cache_strategies[i]->iri);
        free(m->cache_strategies[i]->backend.v);
        free(m->cache_strategies[i]->invalidation_strategy.v);
        free(m->cache_strategies[i]);
    }
    free(m->cache_strategies);
    for (size_t i = 0; i < m->ncache_patterns; i++) {
        free(m->cache_patterns[i]->iri);
        free(m->cache_patterns[i]->trigger_event.v);
        free_mstrs(&m->cache_patterns[i]->queries);
        free(m->cache_patterns[i]);
    }
    free(m->cache_patterns);
    for (size_t i = 0; i < m->nshards; i++) {
        shard_strategy *s = m->shards[i];
        free(s->iri);
        free(s->table.v);
        free(s->algorithm.v);
        free(s->key.v);
        free(s->range_size.v);
        free(s);
    }
    free(m->shards);
    for (size_t i = 0; i < m->nindexes; i++) {
        index_def *x = m->indexes[i];
        free(x->iri);
        free(x->table.v);
        free_mstrs(&x->columns);
        free(x->type.v);
        free(x->partial_predicate.v);
        free(x->language.v);
        free(x->cols);
        free(x->name);
        free(x->search_name);
        if (x->search_query)
            free_query(x->search_query);
        free(x);
    }
    free(m->indexes);
    free(m->tenancy.setting);
    free(m->tenancy.app_role);
    memset(m, 0, sizeof *m);
}

table *model_find_table(const model *m, const char *iri)
{
    for (size_t i = 0; i < m->ntables; i++)
        if (strcmp(m->tables[i]->iri, iri) == 0)
            return m->tables[i];
    return NULL;
}

size_t table_find_column(const table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (t->cols[i].name.v && strcmp(t->cols[i].name.v, name) == 0)
            return i;
    return (size_t)-1;
}
