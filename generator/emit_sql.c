#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "m4.h"
#include "naming.h"
#include "util.h"

/* The CREATE TABLE items of a new table: columns, then its constraints
 * (foreign keys only when the table they reference exists by then). */
static void create_table(buf *out, const change *ch)
{
    const stable *t = ch->create;
    size_t nitems = t->ncols;
    for (size_t k = 0; k < t->ncons; k++)
        nitems += ch->inline_fk[k];
    buf body;
    buf_init(&body);
    size_t item = 0;
    for (size_t i = 0; i < t->ncols; i++) {
        const scolumn *c = &t->cols[i];
        char *name = naming_sql_ident(c->name);
        buf mods;
        buf_init(&mods);
        if (c->not_null)
            buf_adds(&mods, " NOT NULL");
        if (c->default_sql)
            buf_printf(&mods, " DEFAULT (%s)", c->default_sql);
        const char *args[4] = {name, c->type, mods.data ? mods.data : "", ++item < nitems ? "," : ""};
        m4_call(&body, "d4_column", "vvvv", args);
        buf_free(&mods);
        free(name);
    }
    for (size_t k = 0; k < t->ncons; k++) {
        if (!ch->inline_fk[k])
            continue;
        const sconstraint *c = &t->cons[k];
        char *name = naming_sql_ident(c->name);
        char *def = sconstraint_definition(c);
        const char *args[3] = {name, def, ++item < nitems ? "," : ""};
        m4_call(&body, "d4_constraint", "vvv", args);
        free(def);
        free(name);
    }
    char *name = naming_sql_ident(t->name);
    char *key = t->partition_key ? naming_sql_ident(t->partition_key) : NULL;
    char *suffix = key ? xasprintf(" PARTITION BY RANGE (%s)", key) : xstrdup("");
    const char *args[3] = {name, body.data ? body.data : "", suffix};
    m4_call(out, "d4_create_table", "vsv", args);
    free(suffix);
    free(key);
    free(name);
    buf_free(&body);
}

void emit_migration(const char *macro, const char *file_name, const char *intro, const changes *c, buf *defs)
{
    if (!file_name) {
        m4_define_text(defs, macro, "");
        return;
    }
    buf summaries, statements, call;
    buf_init(&summaries);
    buf_init(&statements);
    buf_init(&call);
    bool outside = false;
    for (size_t i = 0; i < c->n; i++) {
        const change *ch = &c->v[i];
        const char *one[1] = {ch->summary};
        m4_call(&summaries, "d4_change", "v", one);
        if (ch->partition_indexes) {
            const char *args[2] = {ch->index_name, ch->table};
            m4_call(&statements, "d4_partition_index_step", "vv", args);
            outside = true;
            continue;
        }
        if (ch->no_transaction) {
            /* dbont-migrate runs this step alone, outside any
             * transaction; naming the index lets it repair an INVALID one
             * that an interrupted build left behind (docs/migrations.md) */
            char *marker = ch->index_name ? xasprintf(" index %s", ch->index_name) : xstrdup("");
            const char *args[2] = {marker, ch->sql};
            m4_call(&statements, "d4_outside_step", "vv", args);
            free(marker);
            outside = true;
            continue;
        }
        if (outside) {
            /* the generator orders outside steps last; should one ever be
             * followed by ordinary statements, they start a new step */
            m4_call(&statements, "d4_transaction_step", "", NULL);
            outside = false;
        }
        if (ch->create) {
            create_table(&statements, ch);
        } else if (ch->note) {
            const char *args[2] = {ch->note, ch->sql};
            m4_call(&statements, "d4_noted_statement", "vv", args);
        } else {
            const char *args[1] = {ch->sql};
            m4_call(&statements, "d4_statement", "v", args);
        }
    }
    const char *args[4] = {file_name, intro, summaries.data ? summaries.data : "",
                           statements.data ? statements.data : ""};
    m4_call(&call, "d4_migration", "vvss", args);
    m4_define_text(defs, macro, call.data);
    buf_free(&summaries);
    buf_free(&statements);
    buf_free(&call);
}
