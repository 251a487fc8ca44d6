#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "naming.h"
#include "util.h"

/* ---- writing ------------------------------------------------------------------ */

static int by_table_name(const void *a, const void *b)
{
    return strcmp((*(const stable *const *)a)->name, (*(const stable *const *)b)->name);
}

static int by_constraint(const void *a, const void *b)
{
    const sconstraint *x = *(const sconstraint *const *)a, *y = *(const sconstraint *const *)b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int by_policy(const void *a, const void *b)
{
    return strcmp((*(const spolicy *const *)a)->name, (*(const spolicy *const *)b)->name);
}

static int by_index(const void *a, const void *b)
{
    return strcmp((*(const sindex *const *)a)->name, (*(const sindex *const *)b)->name);
}

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

static void add_list(buf *b, char *const *names, size_t n)
{
    buf_addc(b, '(');
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s%s", i ? ", " : "", names[i]);
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

char *snapshot_body(const schema *s)
{
    const stable **tables = xmalloc((s->ntables ? s->ntables : 1) * sizeof *tables);
    for (size_t i = 0; i < s->ntables; i++)
        tables[i] = &s->tables[i];
    if (s->ntables)
        qsort(tables, s->ntables, sizeof *tables, by_table_name);
    buf b;
    buf_init(&b);
    if (s->tenant_setting)
        buf_printf(&b, "tenant-setting %s %s\n", s->tenant_setting, s->tenant_type);
    if (s->app_role)
        buf_printf(&b, "app-role %s\n", s->app_role);
    bool blank = b.len > 0;
    for (size_t i = 0; i < s->ntables; i++) {
        const stable *t = tables[i];
        buf_printf(&b, "%stable %s\n", i || blank ? "\n" : "", t->name);
        for (size_t c = 0; c < t->ncols; c++) {
            const scolumn *col = &t->cols[c];
            buf_printf(&b, "  column %s %s%s", col->name, col->type, col->not_null ? " not-null" : "");
            if (col->default_sql) {
                buf_adds(&b, " default ");
                add_escaped(&b, col->default_sql);
            }
            buf_addc(&b, '\n');
        }
        const sconstraint **cons = xmalloc((t->ncons ? t->ncons : 1) * sizeof *cons);
        for (size_t k = 0; k < t->ncons; k++)
            cons[k] = &t->cons[k];
        if (t->ncons)
            qsort(cons, t->ncons, sizeof *cons, by_constraint);
        for (size_t k = 0; k < t->ncons; k++) {
            const sconstraint *c = cons[k];
            static const char *const kinds[] = {"primary-key", "unique", "foreign-key"};
            buf_printf(&b, "  %s %s ", kinds[c->kind], c->name);
            add_list(&b, c->cols, c->ncols);
            if (c->kind == SC_FOREIGN_KEY) {
                buf_printf(&b, " references %s ", c->ref_table);
                add_list(&b, c->ref_cols, c->nref);
                buf_adds(&b, rule_name(c->rule));
                if (c->nnull) {
                    buf_addc(&b, ' ');
                    add_list(&b, c->null_cols, c->nnull);
                }
            }
            buf_addc(&b, '\n');
        }
        free(cons);
        if (t->rls)
            buf_adds(&b, "  row-level-security\n");
        const spolicy **pols = xmalloc((t->npolicies ? t->npolicies : 1) * sizeof *pols);
        for (size_t k = 0; k < t->npolicies; k++)
            pols[k] = &t->policies[k];
        if (t->npolicies)
            qsort(pols, t->npolicies, sizeof *pols, by_policy);
        for (size_t k = 0; k < t->npolicies; k++) {
            buf_printf(&b, "  policy %s %s%s\n", pols[k]->name, pols[k]->command,
                       pols[k]->restrictive ? " restrictive" : "");
            if (pols[k]->using_sql) {
                buf_adds(&b, "    using ");
                add_escaped(&b, pols[k]->using_sql);
                buf_addc(&b, '\n');
            }
            if (pols[k]->check_sql) {
                buf_adds(&b, "    with-check ");
                add_escaped(&b, pols[k]->check_sql);
                buf_addc(&b, '\n');
            }
        }
        free(pols);
        if (t->grant_role)
            buf_printf(&b, "  grant %s\n", t->grant_role);
        if (t->cache_entity)
            buf_printf(&b, "  cache-notify %s%s%s\n", t->cache_entity, t->cache_tenant ? " tenant " : "",
                       t->cache_tenant ? t->cache_tenant : "");
        if (t->partition_key)
            buf_printf(&b, "  partition-by range %s %s hot-days %lld periods-ahead %lld\n", t->partition_key,
                       t->partition_range, t->hot_days, t->periods_ahead);
        if (t->shard_key)
            buf_printf(&b, "  shard-by hash %s %lld\n", t->shard_key, t->shard_count);
        const sindex **idx = xmalloc((t->nindexes ? t->nindexes : 1) * sizeof *idx);
        for (size_t k = 0; k < t->nindexes; k++)
            idx[k] = &t->indexes[k];
        if (t->nindexes)
            qsort(idx, t->nindexes, sizeof *idx, by_index);
        for (size_t k = 0; k < t->nindexes; k++) {
            buf_printf(&b, "  index %s %s%s ", idx[k]->name, idx[k]->method, idx[k]->unique ? " unique" : "");
            add_list(&b, idx[k]->cols, idx[k]->ncols);
            if (idx[k]->language)
                buf_printf(&b, " language %s", idx[k]->language);
            if (idx[k]->search_function)
                buf_printf(&b, " search-function %s", idx[k]->search_function);
            if (idx[k]->predicate) {
                buf_adds(&b, " where ");
                add_escaped(&b, idx[k]->predicate);
            }
            buf_addc(&b, '\n');
        }
        free(idx);
    }
    free(tables);
    return buf_take(&b);
}

char *snapshot_file(const char *body, const char *version, const char *sources,
                    const char *last_migration)
{
    return xasprintf("# dbont schema snapshot, format 1, generated by dbont-gen %s from %s.\n"
                     "# Do not edit it.\n"
                     "# The schema that the migrations in this folder produce; dbont-gen compares\n"
                     "# the ontology with it to decide what a new migration must change.\n"
                     "migration %s\n"
                     "\n"
                     "%s",
                     version, sources, last_migration, body);
}

/* ---- reading ------------------------------------------------------------------ */

typedef struct reader {
    const char *file;
    unsigned line;
    diag *d;
    bool ok;
} reader;

static void bad(reader *r, const char *what)
{
    dpos p = {r->file, r->line, 1};
    diag_error(r->d, p, "malformed snapshot line: %s (the snapshot is written by dbont-gen; restore "
                        "it from version control)",
               what);
    r->ok = false;
}

/* Reads an identifier at *p (advanced past it); NULL when there is none. */
static char *read_name(const char **p)
{
    const char *s = *p;
    size_t n = 0;
    while (s[n] && s[n] != ' ' && s[n] != '(' && s[n] != ')' && s[n] != ',')
        n++;
    if (!n)
        return NULL;
    char *name = xstrndup(s, n);
    char why[128];
    if (!naming_check_identifier(name, why, sizeof why)) {
        free(name);
        return NULL;
    }
    *p = s + n;
    return name;
}

static bool skip(const char **p, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(*p, word, n) != 0)
        return false;
    *p += n;
    return true;
}

/* "(a, b)" into c's columns (ref: its referenced columns). */
static bool read_list(const char **p, sconstraint *c, bool ref)
{
    if (!skip(p, "("))
        return false;
    for (;;) {
        char *name = read_name(p);
        if (!name)
            return false;
        if (ref)
            sconstraint_add_ref_col(c, name);
        else
            sconstraint_add_col(c, name);
        free(name);
        if (skip(p, ")"))
            return true;
        if (!skip(p, ", "))
            return false;
    }
}

static char *unescape(const char *s)
{
    buf b;
    buf_init(&b);
    for (; *s; s++) {
        if (*s == '\\' && s[1] == 'n') {
            buf_addc(&b, '\n');
            s++;
        } else if (*s == '\\' && s[1] == 'r') {
            buf_addc(&b, '\r');
            s++;
        } else if (*s == '\\' && s[1] == '\\') {
            buf_addc(&b, '\\');
            s++;
        } else {
            buf_addc(&b, *s);
        }
    }
    return buf_take(&b);
}

/* "  column NAME TYPE [not-null] [default EXPR]": TYPE may hold a space
 * ("double precision") but never " not-null" or " default ". */
static void read_column(reader *r, stable *t, const char *p)
{
    char *name = read_name(&p);
    if (!name || !skip(&p, " ")) {
        free(name);
        bad(r, "column without a valid name");
        return;
    }
    const char *nn = strstr(p, " not-null"), *df = strstr(p, " default ");
    const char *end = p + strlen(p);
    if (nn && (!df || nn < df) && (nn[9] == '\0' || nn[9] == ' '))
        end = nn;
    else if (df)
        end = df;
    else
        nn = NULL;
    if (end == p) {
        free(name);
        bad(r, "column without a type");
        return;
    }
    scolumn *c = stable_add_column(t, name);
    free(name);
    c->type = xstrndup(p, (size_t)(end - p));
    p = end;
    if (skip(&p, " not-null"))
        c->not_null = true;
    if (skip(&p, " default "))
        c->default_sql = unescape(p);
    else if (*p)
        bad(r, "unexpected text after a column's type");
}

static void read_constraint(reader *r, stable *t, scon_kind kind, const char *p)
{
    char *name = read_name(&p);
    if (!name || !skip(&p, " ")) {
        free(name);
        bad(r, "constraint without a valid name");
        return;
    }
    sconstraint *c = stable_add_constraint(t, kind, name);
    free(name);
    if (!read_list(&p, c, false)) {
        bad(r, "constraint without its column list");
        return;
    }
    if (kind == SC_FOREIGN_KEY) {
        if (!skip(&p, " references ") || !(c->ref_table = read_name(&p)) || !skip(&p, " ") ||
            !read_list(&p, c, true)) {
            bad(r, "foreign key without 'references TABLE (COLUMNS)'");
            return;
        }
        if (skip(&p, " on-delete cascade"))
            c->rule = ON_DELETE_CASCADE;
        else if (skip(&p, " on-delete restrict"))
            c->rule = ON_DELETE_RESTRICT;
        else if (skip(&p, " on-delete set-null"))
            c->rule = ON_DELETE_SET_NULL;
        if (c->rule == ON_DELETE_SET_NULL && skip(&p, " (")) {
            p--; /* read_list wants the '(' */
            sconstraint nulls = {0};
            if (!read_list(&p, &nulls, false)) {
                bad(r, "malformed set-null column list");
                sconstraint_free(&nulls);
                return;
            }
            for (size_t i = 0; i < nulls.ncols; i++)
                sconstraint_add_null_col(c, nulls.cols[i]);
            sconstraint_free(&nulls);
        }
    }
    if (*p)
        bad(r, "unexpected text after a constraint");
}

/* "  partition-by range KEY SIZE hot-days N periods-ahead N" */
static void read_partition(reader *r, stable *t, const char *p)
{
    char *key = read_name(&p);
    char size[16];
    int used = 0;
    if (!key || sscanf(p, " %15[a-z] hot-days %lld periods-ahead %lld%n", size, &t->hot_days, &t->periods_ahead,
                       &used) != 3 ||
        p[used] || (strcmp(size, "daily") && strcmp(size, "monthly") && strcmp(size, "yearly")) ||
        t->partition_key) {
        free(key);
        bad(r, "partition-by needs 'range KEY daily|monthly|yearly hot-days N periods-ahead N', once");
        return;
    }
    t->partition_key = key;
    t->partition_range = xstrdup(size);
}

/* "  shard-by hash KEY COUNT" */
static void read_shard(reader *r, stable *t, const char *p)
{
    char *key = read_name(&p);
    int used = 0;
    if (!key || sscanf(p, " %lld%n", &t->shard_count, &used) != 1 || p[used] || t->shard_count < 1 ||
        t->shard_key) {
        free(key);
        bad(r, "shard-by needs 'hash KEY COUNT', once");
        return;
    }
    t->shard_key = key;
}

/* "  index NAME METHOD [unique] (COLUMNS) [language CONFIG] [where EXPR]" */
static void read_index(reader *r, stable *t, const char *p)
{
    char *name = read_name(&p);
    const char *sp = name && skip(&p, " ") ? strchr(p, ' ') : NULL;
    if (!sp) {
        free(name);
        bad(r, "index needs a name, a method and its columns");
        return;
    }
    char *method = xstrndup(p, (size_t)(sp - p));
    p = sp + 1;
    if (strcmp(method, "btree") && strcmp(method, "hash") && strcmp(method, "gin") && strcmp(method, "gist") &&
        strcmp(method, "brin"))
        bad(r, "index method must be btree, hash, gin, gist or brin");
    if (stable_index(t, name))
        bad(r, "index given twice");
    sindex *x = stable_add_index(t, name, method);
    free(method);
    free(name);
    if (skip(&p, "unique "))
        x->unique = true;
    sconstraint cols = {0};
    bool ok = read_list(&p, &cols, false);
    for (size_t i = 0; i < cols.ncols; i++)
        sindex_add_col(x, cols.cols[i]);
    sconstraint_free(&cols);
    if (!ok) {
        bad(r, "index without its column list");
        return;
    }
    /* then " language CONFIG", " search-function NAME", " where EXPR" (last:
     * the expression may hold anything) */
    if (skip(&p, " language ") && !(x->language = read_name(&p)))
        bad(r, "index language without a name");
    if (skip(&p, " search-function ") && !(x->search_function = read_name(&p)))
        bad(r, "index search-function without a name");
    if (skip(&p, " where "))
        x->predicate = unescape(p);
    else if (*p)
        bad(r, "unexpected text after an index's columns");
}

bool snapshot_parse(const char *text, const char *file, schema *out, char **last_migration, diag *d)
{
    reader r = {file, 0, d, true};
    schema_init(out);
    if (last_migration)
        *last_migration = NULL;
    stable *t = NULL;
    buf line;
    buf_init(&line);
    for (const char *l = text; *l;) {
        const char *eol = strchr(l, '\n');
        size_t n = eol ? (size_t)(eol - l) : strlen(l);
        buf_reset(&line);
        buf_add(&line, l, n);
        l += n + (eol ? 1 : 0);
        r.line++;
        const char *p = line.data;
        if (!*p || *p == '#')
            continue;
        if (skip(&p, "migration ")) {
            if (last_migration && !*last_migration)
                *last_migration = xstrdup(p);
        } else if (!t && skip(&p, "tenant-setting ")) {
            const char *sp = strchr(p, ' ');
            if (!sp || out->tenant_setting) {
                bad(&r, "tenant-setting needs a setting and a type, once");
            } else {
                out->tenant_setting = xstrndup(p, (size_t)(sp - p));
                out->tenant_type = xstrdup(sp + 1);
            }
        } else if (!t && skip(&p, "app-role ")) {
            if (out->app_role)
                bad(&r, "app-role given twice");
            else
                out->app_role = xstrdup(p);
        } else if (skip(&p, "table ")) {
            char *name = read_name(&p);
            if (!name || *p) {
                bad(&r, "table without a valid name");
                t = NULL;
            } else if (schema_table(out, name)) {
                bad(&r, "table given twice");
                t = NULL;
            } else {
                t = schema_add_table(out, name);
            }
            free(name);
        } else if (!t) {
            bad(&r, "a line outside any table");
        } else if (skip(&p, "  column ")) {
            read_column(&r, t, p);
        } else if (skip(&p, "  primary-key ")) {
            read_constraint(&r, t, SC_PRIMARY_KEY, p);
        } else if (skip(&p, "  unique ")) {
            read_constraint(&r, t, SC_UNIQUE, p);
        } else if (skip(&p, "  foreign-key ")) {
            read_constraint(&r, t, SC_FOREIGN_KEY, p);
        } else if (!strcmp(p, "  row-level-security")) {
            t->rls = true;
        } else if (skip(&p, "  policy ")) {
            const char *sp = strchr(p, ' ');
            if (!sp) {
                bad(&r, "policy needs a name and a command");
            } else {
                char *name = xstrndup(p, (size_t)(sp - p));
                const char *cmd = sp + 1, *end = strchr(cmd, ' ');
                char *command = xstrndup(cmd, end ? (size_t)(end - cmd) : strlen(cmd));
                spolicy *pol = stable_add_policy(t, name, command, NULL, NULL);
                if (end && !strcmp(end, " restrictive"))
                    pol->restrictive = true;
                else if (end)
                    bad(&r, "a policy line ends with its command, or with 'restrictive'");
                free(command);
                free(name);
            }
        } else if (skip(&p, "    using ") && t->npolicies) {
            t->policies[t->npolicies - 1].using_sql = unescape(p);
        } else if (skip(&p, "    with-check ") && t->npolicies) {
            t->policies[t->npolicies - 1].check_sql = unescape(p);
        } else if (skip(&p, "  cache-notify ")) {
            char *entity = read_name(&p);
            char *tenant = entity && skip(&p, " tenant ") ? read_name(&p) : NULL;
            if (!entity || *p || t->cache_entity) {
                bad(&r, "cache-notify needs 'ENTITY [tenant COLUMN]', once");
                free(entity);
                free(tenant);
            } else {
                t->cache_entity = entity;
                t->cache_tenant = tenant;
            }
        } else if (skip(&p, "  partition-by range ")) {
            read_partition(&r, t, p);
        } else if (skip(&p, "  shard-by hash ")) {
            read_shard(&r, t, p);
        } else if (skip(&p, "  index ")) {
            read_index(&r, t, p);
        } else if (skip(&p, "  grant ")) {
            free(t->grant_role);
            t->grant_role = xstrdup(p);
        } else {
            bad(&r, "unknown line");
        }
    }
    buf_free(&line);
    return r.ok;
}
