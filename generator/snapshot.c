#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "sqltypes.h"
#include "util.h"

static int by_name(const void *a, const void *b)
{
    const table *x = *(const table *const *)a, *y = *(const table *const *)b;
    return strcmp(x->name, y->name);
}

/* Default expressions are SQL text and may span lines: keep each on one
 * line with \n and \\ escapes. */
static void add_escaped(buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            buf_adds(b, "\\n");
        else if (*s == '\r')
            buf_adds(b, "\\r");
        else if (*s == '\\')
            buf_adds(b, "\\\\");
        else
            buf_addc(b, *s);
    }
}

static void add_columns(buf *b, const table *t, const size_t *cols, size_t n)
{
    buf_addc(b, '(');
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s%s", i ? ", " : "", t->cols[cols[i]].name.v);
    buf_addc(b, ')');
}

static const char *rule_name(on_delete r)
{
    switch (r) {
    case ON_DELETE_CASCADE: return " on-delete cascade";
    case ON_DELETE_RESTRICT: return " on-delete restrict";
    case ON_DELETE_SET_NULL: return " on-delete set-null";
    default: return "";
    }
}

char *snapshot_body(const model *m)
{
    table **tables = xmalloc((m->ntables ? m->ntables : 1) * sizeof *tables);
    memcpy(tables, m->tables, m->ntables * sizeof *tables);
    qsort(tables, m->ntables, sizeof *tables, by_name);
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < m->ntables; i++) {
        const table *t = tables[i];
        buf_printf(&b, "%stable %s\n", i ? "\n" : "", t->name);
        for (size_t c = 0; c < t->ncols; c++) {
            const column *col = &t->cols[c];
            char *type = sqltype_sql(&col->stype);
            buf_printf(&b, "  column %s %s%s", col->name.v, type, col->not_null ? " not-null" : "");
            if (col->default_sql.v) {
                buf_adds(&b, " default ");
                add_escaped(&b, col->default_sql.v);
            }
            buf_addc(&b, '\n');
            free(type);
        }
        if (t->npk) {
            buf_printf(&b, "  primary-key %s ", t->pk_name);
            add_columns(&b, t, t->pk, t->npk);
            buf_addc(&b, '\n');
        }
        for (size_t u = 0; u < t->nunique_sets; u++) {
            buf_printf(&b, "  unique %s ", t->unique_names[u]);
            add_columns(&b, t, t->unique_sets[u], t->unique_sizes[u]);
            buf_addc(&b, '\n');
        }
        for (size_t c = 0; c < t->ncols; c++) {
            const column *col = &t->cols[c];
            if (!col->ref_table)
                continue;
            buf_printf(&b, "  foreign-key %s (%s) references %s (%s)%s\n", col->fk_name, col->name.v,
                       col->ref_table->name, col->ref_table->cols[col->ref_column].name.v,
                       rule_name(col->delete_rule));
        }
    }
    free(tables);
    return buf_take(&b);
}

char *snapshot_file(const char *body, const char *version, const char *last_migration)
{
    return xasprintf("# dbont schema snapshot, format 1 (written by dbont-gen %s; do not edit).\n"
                     "# The schema that the migrations in this folder produce; dbont-gen compares\n"
                     "# the ontology with it to decide what a new migration must change.\n"
                     "migration %s\n"
                     "\n"
                     "%s",
                     version, last_migration, body);
}

char *snapshot_body_of(const char *text)
{
    buf b;
    buf_init(&b);
    bool started = false;
    for (const char *l = text; *l;) {
        const char *eol = strchr(l, '\n');
        size_t n = eol ? (size_t)(eol - l) + 1 : strlen(l);
        bool skip = l[0] == '#' || (!started && (strncmp(l, "migration ", 10) == 0 || l[0] == '\n'));
        if (!skip) {
            started = true;
            buf_add(&b, l, n);
        }
        l += n;
    }
    return buf_take(&b);
}
