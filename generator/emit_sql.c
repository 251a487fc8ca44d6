#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "m4.h"
#include "sqltypes.h"

static size_t order_of(const model *m, const table *t)
{
    for (size_t i = 0; i < m->ntables; i++)
        if (m->ordered[i] == t)
            return i;
    return 0;
}

/* A foreign key can be written inside CREATE TABLE when the table it
 * references exists by then (or is the table itself). */
static bool fk_inline(const model *m, const table *t, const column *c)
{
    return c->ref_table == t || order_of(m, c->ref_table) < order_of(m, t);
}

static void column_names(buf *b, const table *t, const size_t *cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s%s", i ? ", " : "", t->cols[cols[i]].sql);
}

static const char *delete_clause(on_delete rule)
{
    switch (rule) {
    case ON_DELETE_CASCADE: return " ON DELETE CASCADE";
    case ON_DELETE_RESTRICT: return " ON DELETE RESTRICT";
    case ON_DELETE_SET_NULL: return " ON DELETE SET NULL";
    default: return "";
    }
}

static char *fk_definition(const table *t, size_t col)
{
    const column *c = &t->cols[col];
    return xasprintf("FOREIGN KEY (%s) REFERENCES %s (%s)%s", c->sql, c->ref_table->sql,
                     c->ref_table->cols[c->ref_column].sql, delete_clause(c->delete_rule));
}

/* The items of a CREATE TABLE: columns, then constraints.  Separators are
 * decided here so the skeleton only lays them out. */
typedef struct item {
    bool is_column;
    char *a, *b, *c;
} item;

static void add_item(item **v, size_t *n, size_t *cap, bool is_column, char *a, char *b, char *c)
{
    GROW(*v, *cap, *n);
    (*v)[*n].is_column = is_column;
    (*v)[*n].a = a;
    (*v)[*n].b = b;
    (*v)[*n].c = c;
    (*n)++;
}

static void emit_table(buf *out, const model *m, const table *t)
{
    item *items = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < t->ncols; i++) {
        const column *c = &t->cols[i];
        buf mods;
        buf_init(&mods);
        if (c->not_null)
            buf_adds(&mods, " NOT NULL");
        if (c->default_sql.v)
            buf_printf(&mods, " DEFAULT (%s)", c->default_sql.v);
        add_item(&items, &n, &cap, true, xstrdup(c->sql), sqltype_sql(&c->stype), buf_take(&mods));
    }
    if (t->npk) {
        buf def;
        buf_init(&def);
        buf_adds(&def, "PRIMARY KEY (");
        column_names(&def, t, t->pk, t->npk);
        buf_addc(&def, ')');
        add_item(&items, &n, &cap, false, xstrdup(t->pk_name), buf_take(&def), NULL);
    }
    for (size_t u = 0; u < t->nunique_sets; u++) {
        buf def;
        buf_init(&def);
        buf_adds(&def, "UNIQUE (");
        column_names(&def, t, t->unique_sets[u], t->unique_sizes[u]);
        buf_addc(&def, ')');
        add_item(&items, &n, &cap, false, xstrdup(t->unique_names[u]), buf_take(&def), NULL);
    }
    for (size_t i = 0; i < t->ncols; i++)
        if (t->cols[i].ref_table && fk_inline(m, t, &t->cols[i]))
            add_item(&items, &n, &cap, false, xstrdup(t->cols[i].fk_name), fk_definition(t, i), NULL);

    buf body;
    buf_init(&body);
    for (size_t i = 0; i < n; i++) {
        const char *sep = i + 1 < n ? "," : "";
        const char *args[4] = {items[i].a, items[i].b, items[i].is_column ? items[i].c : sep, sep};
        if (items[i].is_column)
            m4_call(&body, "d4_column", "vvvv", args);
        else
            m4_call(&body, "d4_constraint", "vvv", args);
        free(items[i].a);
        free(items[i].b);
        free(items[i].c);
    }
    const char *args[2] = {t->sql, body.data};
    m4_call(out, "d4_create_table", "vs", args);
    buf_free(&body);
    free(items);
}

void emit_initial_migration(const emit_info *e, const char *file_name, buf *defs)
{
    const model *m = e->m;
    buf stmts;
    buf_init(&stmts);
    for (size_t i = 0; i < m->ntables; i++)
        emit_table(&stmts, m, m->ordered[i]);
    /* References that close a cycle: added once every table exists. */
    for (size_t i = 0; i < m->ntables; i++) {
        const table *t = m->ordered[i];
        for (size_t c = 0; c < t->ncols; c++) {
            if (!t->cols[c].ref_table || fk_inline(m, t, &t->cols[c]))
                continue;
            char *def = fk_definition(t, c);
            const char *args[3] = {t->sql, t->cols[c].fk_name, def};
            m4_call(&stmts, "d4_add_constraint", "vvv", args);
            free(def);
        }
    }
    m4_define_value(defs, "d4_migration_file", file_name);
    m4_define_text(defs, "d4_migration_statements", stmts.data ? stmts.data : "");
    buf_free(&stmts);
}
