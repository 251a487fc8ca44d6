#include "check.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "naming.h"
#include "sqlfrag.h"
#include "util.h"
#include "vocab.h"

/* The most columns with a default one table may have: an insert says which
 * of them it sets in a 64-bit mask. */
#define MAX_DEFAULTED_COLUMNS 64

static const char *shown(const char *iri)
{
    static char scratch[4][256];
    static unsigned next;
    char *s = scratch[next++ % 4];
    return vocab_short(iri, s, 256);
}

static bool check_ident(diag *d, dpos pos, const char *name)
{
    char why[256];
    if (naming_check_identifier(name, why, sizeof why))
        return true;
    diag_error(d, pos, "%s", why);
    return false;
}

/* ---- names ---------------------------------------------------------------- */

static void name_table(diag *d, table *t)
{
    if (t->table_name.v) {
        if (check_ident(d, t->table_name.pos, t->table_name.v))
            t->name = xstrdup(t->table_name.v);
    } else {
        char *derived = naming_table_name(t->iri);
        char why[256];
        if (naming_check_identifier(derived, why, sizeof why))
            t->name = derived;
        else {
            diag_error(d, t->pos, "the table name derived from '%s' is not valid (%s); set "
                                  "db:tableName",
                       shown(t->iri), why);
            free(derived);
        }
    }
    if (t->name) {
        t->sql = naming_sql_ident(t->name);
        t->c_name = naming_c_ident(t->name);
    }
    if (t->entity_name.v)
        check_ident(d, t->entity_name.pos, t->entity_name.v);
    if (t->former_name.v)
        check_ident(d, t->former_name.pos, t->former_name.v);
}

static dpos table_name_pos(const table *t)
{
    return t->table_name.v ? t->table_name.pos : t->pos;
}

static void check_duplicate_tables(diag *d, model *m)
{
    for (size_t i = 0; i < m->ntables; i++) {
        for (size_t j = 0; j < i; j++) {
            table *a = m->tables[j], *b = m->tables[i];
            if (a->name && b->name && strcmp(a->name, b->name) == 0) {
                diag_error(d, table_name_pos(b), "duplicate table name '%s'", b->name);
                diag_note(d, table_name_pos(a), "'%s' is also the name of %s", a->name, shown(a->iri));
                /* reported; keep it out of the C name checks */
                free(b->c_name);
                b->c_name = NULL;
                break;
            }
        }
    }
}

/* ---- columns -------------------------------------------------------------- */

static bool parse_on_delete(column *c, diag *d)
{
    static const struct {
        const char *text;
        on_delete rule;
    } rules[] = {{"cascade", ON_DELETE_CASCADE}, {"restrict", ON_DELETE_RESTRICT}, {"set null", ON_DELETE_SET_NULL}};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(c->on_delete.v, rules[i].text) == 0) {
            c->delete_rule = rules[i].rule;
            return true;
        }
    }
    diag_error(d, c->on_delete.pos, "unknown db:onDelete '%s'; allowed: cascade, restrict, set null",
               c->on_delete.v);
    return false;
}

static void check_column(diag *d, table *t, column *c)
{
    if (!c->name.v) {
        if (!c->build_errors)
            diag_error(d, c->pos, "column without db:name in table '%s'", t->name ? t->name : shown(t->iri));
    } else if (check_ident(d, c->name.pos, c->name.v)) {
        c->sql = naming_sql_ident(c->name.v);
        c->c_name = naming_c_ident(c->name.v);
        c->c_flag = naming_is_c_keyword(c->name.v) ? xstrdup(c->name.v) : xstrdup(c->c_name);
    }
    char why[512];
    if (!c->type.v) {
        if (!c->build_errors)
            diag_error(d, c->name.v ? c->name.pos : c->pos, "column '%s' has no db:type; allowed types: %s",
                       c->name.v ? c->name.v : "?", sqltype_allowed());
    }
    else if (!sqltype_parse(c->type.v, &c->stype, why, sizeof why))
        diag_error(d, c->type.pos, "%s", why);

    if (c->former_name.v)
        check_ident(d, c->former_name.pos, c->former_name.v);
    bool serial = c->type.v && (c->stype.kind == ST_SERIAL || c->stype.kind == ST_BIGSERIAL);
    if (c->default_sql.v) {
        const char *p = c->default_sql.v;
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            diag_error(d, c->default_sql.pos, "db:default is empty");
        else if (!sqlfrag_check(c->default_sql.v, SQLFRAG_NO_TOP_COMMA, why, sizeof why))
            diag_error(d, c->default_sql.pos, "db:default must be one SQL expression: %s", why);
        else if (serial)
            diag_error(d, c->default_sql.pos, "a %s column takes its default from its sequence; "
                                              "remove db:default",
                       c->type.v);
    }
    c->has_default = serial || c->default_sql.v;

    if (c->nullable.set && c->nullable.v && c->primary_key.set && c->primary_key.v)
        diag_error(d, c->nullable.pos, "column '%s' is a primary key and cannot be nullable",
                   c->name.v ? c->name.v : "?");
    c->not_null = (c->nullable.set && !c->nullable.v) || (c->primary_key.set && c->primary_key.v);

    if (c->on_delete.v && !c->references.v)
        diag_error(d, c->on_delete.pos, "db:onDelete needs db:references on the same column");
    else if (c->on_delete.v)
        parse_on_delete(c, d);
    if (c->references_column.v && !c->references.v)
        diag_error(d, c->references_column.pos, "db:referencesColumn needs db:references on the same column");
}

static void check_duplicate_columns(diag *d, table *t)
{
    for (size_t i = 0; i < t->ncols; i++) {
        for (size_t j = 0; j < i; j++) {
            column *a = &t->cols[j], *b = &t->cols[i];
            if (a->name.v && b->name.v && strcmp(a->name.v, b->name.v) == 0) {
                diag_error(d, b->name.pos, "duplicate column '%s' in table '%s'", b->name.v,
                           t->name ? t->name : shown(t->iri));
                diag_note(d, a->name.pos, "first defined here");
                /* reported; keep it out of the C name checks */
                free(b->c_name);
                b->c_name = NULL;
                break;
            }
        }
    }
}

/* Resolves a list of column names to indexes; false (reported) when one
 * is unknown or repeated. */
static bool resolve_columns(diag *d, const table *t, const mstrs *names, size_t **out, const char *what)
{
    *out = xcalloc(names->n, sizeof **out);
    bool ok = true;
    for (size_t i = 0; i < names->n; i++) {
        size_t c = table_find_column(t, names->items[i].v);
        if (c == (size_t)-1) {
            diag_error(d, names->items[i].pos, "%s names '%s', which is not a column of table '%s'", what,
                       names->items[i].v, t->name ? t->name : shown(t->iri));
            ok = false;
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            if ((*out)[j] == c) {
                diag_error(d, names->items[i].pos, "%s lists column '%s' twice", what, names->items[i].v);
                ok = false;
            }
        }
        (*out)[i] = c;
    }
    if (names->n == 0) {
        diag_error(d, names->pos, "%s is an empty list", what);
        ok = false;
    }
    return ok;
}

static void check_primary_key(diag *d, table *t)
{
    size_t flagged = 0, first = 0;
    for (size_t i = 0; i < t->ncols; i++) {
        if (!(t->cols[i].primary_key.set && t->cols[i].primary_key.v))
            continue;
        if (flagged++ == 0) {
            first = i;
        } else {
            diag_error(d, t->cols[i].primary_key.pos, "more than one column has db:primaryKey true; for "
                                                      "a composite key put db:primaryKey (\"a\" \"b\") "
                                                      "on the table");
            diag_note(d, t->cols[first].primary_key.pos, "first primary key column here");
        }
    }
    if (t->primary_key.set) {
        if (flagged) {
            diag_error(d, t->primary_key.pos, "the primary key is given twice: on the table and on "
                                              "column '%s'",
                       t->cols[first].name.v ? t->cols[first].name.v : "?");
            return;
        }
        size_t *idx;
        if (resolve_columns(d, t, &t->primary_key, &idx, "db:primaryKey")) {
            t->pk = idx;
            t->npk = t->primary_key.n;
            for (size_t i = 0; i < t->npk; i++) {
                column *c = &t->cols[t->pk[i]];
                if (c->nullable.set && c->nullable.v)
                    diag_error(d, c->nullable.pos, "column '%s' is part of the primary key and cannot "
                                                   "be nullable",
                               c->name.v);
                c->not_null = true;
            }
        } else {
            free(idx);
        }
    } else if (flagged == 1) {
        t->pk = xmalloc(sizeof *t->pk);
        t->pk[0] = first;
        t->npk = 1;
    }
}

static void add_unique_set(table *t, size_t *cols, size_t n)
{
    t->unique_sets = xrealloc(t->unique_sets, (t->nunique_sets + 1) * sizeof *t->unique_sets);
    t->unique_sizes = xrealloc(t->unique_sizes, (t->nunique_sets + 1) * sizeof *t->unique_sizes);
    t->unique_sets[t->nunique_sets] = cols;
    t->unique_sizes[t->nunique_sets] = n;
    t->nunique_sets++;
}

static void check_uniques(diag *d, table *t)
{
    for (size_t i = 0; i < t->ncols; i++) {
        if (t->cols[i].unique.set && t->cols[i].unique.v) {
            size_t *one = xmalloc(sizeof *one);
            *one = i;
            add_unique_set(t, one, 1);
        }
    }
    for (size_t u = 0; u < t->nuniques; u++) {
        size_t *idx;
        if (resolve_columns(d, t, &t->uniques[u], &idx, "db:unique"))
            add_unique_set(t, idx, t->uniques[u].n);
        else
            free(idx);
    }
}

/* True when cols (n of them) is exactly the primary key or a unique set
 * of t, which PostgreSQL requires of referenced columns. */
static bool is_key(const table *t, const size_t *cols, size_t n)
{
    if (n == t->npk && memcmp(cols, t->pk, n * sizeof *cols) == 0)
        return true;
    for (size_t i = 0; i < t->nunique_sets; i++)
        if (t->unique_sizes[i] == n && memcmp(cols, t->unique_sets[i], n * sizeof *cols) == 0)
            return true;
    return false;
}

static sqltype_kind value_kind(sqltype_kind k)
{
    if (k == ST_SERIAL)
        return ST_INTEGER;
    if (k == ST_BIGSERIAL)
        return ST_BIGINT;
    if (k == ST_VARCHAR)
        return ST_TEXT;
    return k;
}

static void check_reference(diag *d, model *m, table *t, column *c)
{
    if (!c->references.v)
        return;
    table *r = model_find_table(m, c->references.v);
    if (!r) {
        diag_error(d, c->references.pos, "db:references names '%s', which is not a db:Table",
                   shown(c->references.v));
        return;
    }
    size_t col;
    if (c->references_column.v) {
        col = table_find_column(r, c->references_column.v);
        if (col == (size_t)-1) {
            diag_error(d, c->references_column.pos, "db:referencesColumn names '%s', which is not a "
                                                     "column of table '%s'",
                       c->references_column.v, r->name ? r->name : shown(r->iri));
            return;
        }
    } else if (r->npk == 1) {
        col = r->pk[0];
    } else {
        diag_error(d, c->references.pos, "table '%s' has %s primary key; name the referenced column "
                                         "with db:referencesColumn",
                   r->name ? r->name : shown(r->iri), r->npk ? "a composite" : "no");
        return;
    }
    if (!is_key(r, &col, 1)) {
        diag_error(d, c->references_column.v ? c->references_column.pos : c->references.pos,
                   "referenced column '%s.%s' must be the primary key or unique",
                   r->name ? r->name : "?", r->cols[col].name.v);
        return;
    }
    column *rc = &r->cols[col];
    if (c->type.v && rc->type.v && value_kind(c->stype.kind) != value_kind(rc->stype.kind)) {
        char *a = sqltype_sql(&c->stype), *b = sqltype_value_sql(&rc->stype);
        diag_error(d, c->type.pos, "column '%s' is %s but references '%s.%s', which is %s", c->name.v, a,
                   r->name ? r->name : "?", rc->name.v, b);
        free(a);
        free(b);
        return;
    }
    if (c->delete_rule == ON_DELETE_SET_NULL && c->not_null)
        diag_error(d, c->on_delete.pos, "db:onDelete \"set null\" on column '%s', which is NOT NULL",
                   c->name.v);
    c->ref_table = r;
    c->ref_column = col;
    (void)t;
}

/* The tenant column of a multi-tenant table: db:tenantIdColumn, or the
 * column that is db:partOf mt:TenantKey (both, when given, must agree). */
static void find_tenant_column(diag *d, table *t)
{
    t->tenant_col = (size_t)-1;
    size_t by_name = (size_t)-1, by_key = (size_t)-1;
    if (t->tenant_id_column.v) {
        by_name = table_find_column(t, t->tenant_id_column.v);
        if (by_name == (size_t)-1)
            diag_error(d, t->tenant_id_column.pos, "db:tenantIdColumn names '%s', which is not a column of "
                                                   "table '%s'",
                       t->tenant_id_column.v, t->name ? t->name : shown(t->iri));
    }
    for (size_t c = 0; c < t->ncols; c++)
        if (t->cols[c].part_of.v)
            by_key = c;
    if (by_name != (size_t)-1 && by_key != (size_t)-1 && by_name != by_key)
        diag_error(d, t->cols[by_key].part_of.pos, "column '%s' is db:partOf mt:TenantKey, but db:tenantIdColumn "
                                                   "names '%s'",
                   t->cols[by_key].name.v, t->tenant_id_column.v);
    t->tenant_col = by_name != (size_t)-1 ? by_name : by_key;
}

/* A multi-tenant table: its tenant column is NOT NULL and defaults to the
 * session's tenant; row-level security is on. */
static void check_tenancy(diag *d, table *t)
{
    bool multi = t->multi_tenant.set && t->multi_tenant.v;
    find_tenant_column(d, t);
    if (multi && t->tenant_col == (size_t)-1 && !t->tenant_id_column.v)
        diag_error(d, t->multi_tenant.pos, "a multi-tenant table needs its tenant column: db:tenantIdColumn "
                                           "\"...\", or db:partOf mt:TenantKey on the column");
    if (!multi && (t->tenant_id_column.v || t->tenant_col != (size_t)-1) && !(t->multi_tenant.set))
        diag_warning(d, t->pos, "table '%s' names a tenant column but is not db:multiTenant true: no "
                                "row-level security is generated for it",
                     t->name ? t->name : shown(t->iri));
    if (multi && t->rls.set && !t->rls.v)
        diag_error(d, t->rls.pos, "db:rls false on a multi-tenant table would leave every tenant's rows to every "
                                  "tenant; remove it");
    t->rls_on = multi || (t->rls.set && t->rls.v);
    if (!multi)
        t->tenant_col = (size_t)-1;
    if (t->rls_on && !multi && !t->npolicies)
        diag_warning(d, t->rls.pos, "row-level security without a policy hides every row of '%s' from the "
                                    "application role",
                     t->name ? t->name : shown(t->iri));
    if (multi && t->tenant_col != (size_t)-1) {
        column *c = &t->cols[t->tenant_col];
        if (c->nullable.set && c->nullable.v)
            diag_error(d, c->nullable.pos, "the tenant column '%s' cannot be nullable: a row without a tenant "
                                           "would belong to nobody",
                       c->name.v);
        if (c->type.v && (c->stype.kind == ST_SERIAL || c->stype.kind == ST_BIGSERIAL))
            diag_error(d, c->type.pos, "the tenant column '%s' cannot be serial: it takes the session's tenant",
                       c->name.v);
        if (c->default_sql.v && strcmp(c->default_sql.v, "current_org_id()") != 0)
            diag_warning(d, c->default_sql.pos, "the tenant column '%s' takes the session's tenant "
                                                "(current_org_id()) instead of db:default",
                         c->name.v);
        free(c->default_sql.v);
        c->default_sql.v = xstrdup("current_org_id()");
        if (!c->default_sql.pos.file)
            c->default_sql.pos = c->name.pos;
        c->has_default = true;
        c->not_null = true;
    }
    static const char *const commands[] = {"SELECT", "INSERT", "UPDATE", "DELETE", "ALL"};
    char why[256];
    for (size_t i = 0; i < t->npolicies; i++) {
        policy *p = &t->policies[i];
        if (!p->name.v)
            diag_error(d, p->pos, "RLS policy without db:policyName");
        else
            check_ident(d, p->name.pos, p->name.v);
        if (p->command.v) {
            bool ok = false;
            for (size_t k = 0; k < 5; k++)
                ok |= strcasecmp(p->command.v, commands[k]) == 0;
            if (!ok)
                diag_error(d, p->command.pos, "unknown db:command '%s'; allowed: SELECT, INSERT, UPDATE, "
                                              "DELETE, ALL",
                           p->command.v);
        }
        if (!p->using_expr.v && !p->with_check.v)
            diag_error(d, p->pos, "RLS policy without db:using or db:withCheck");
        /* What PostgreSQL would refuse at migration time, said here. */
        const char *cmd = p->command.v ? p->command.v : "ALL";
        if (p->with_check.v && (!strcasecmp(cmd, "SELECT") || !strcasecmp(cmd, "DELETE")))
            diag_error(d, p->with_check.pos, "a %s policy checks no new rows: db:withCheck applies to INSERT, "
                                             "UPDATE and ALL policies",
                       cmd);
        if (p->using_expr.v && !strcasecmp(cmd, "INSERT"))
            diag_error(d, p->using_expr.pos, "an INSERT policy reads no existing rows: use db:withCheck, not "
                                             "db:using");
        if (multi && p->name.v && t->name) {
            char *own = naming_tenant_policy(t->name);
            if (!strcmp(own, p->name.v))
                diag_error(d, p->name.pos, "the policy name '%s' is the tenant policy's, which dbont generates "
                                           "for every multi-tenant table",
                           own);
            free(own);
        }
        if (p->using_expr.v && !sqlfrag_check(p->using_expr.v, 0, why, sizeof why))
            diag_error(d, p->using_expr.pos, "db:using must be one SQL expression: %s", why);
        if (p->with_check.v && !sqlfrag_check(p->with_check.v, 0, why, sizeof why))
            diag_error(d, p->with_check.pos, "db:withCheck must be one SQL expression: %s", why);
    }
}

/* Unique constraints of a multi-tenant table include its tenant column: a
 * global one would tell one tenant which values another tenant has (by
 * refusing them). */
static void scope_uniques(diag *d, table *t)
{
    if (t->tenant_col == (size_t)-1)
        return;
    for (size_t u = 0; u < t->nunique_sets; u++) {
        size_t n = t->unique_sizes[u];
        bool has = false;
        for (size_t k = 0; k < n; k++)
            has |= t->unique_sets[u][k] == t->tenant_col;
        if (has)
            continue;
        buf cols;
        buf_init(&cols);
        for (size_t k = 0; k < n; k++)
            buf_printf(&cols, "%s%s", k ? ", " : "", t->cols[t->unique_sets[u][k]].name.v);
        dpos where = n == 1 && t->cols[t->unique_sets[u][0]].unique.set ? t->cols[t->unique_sets[u][0]].unique.pos
                                                                         : t->pos;
        diag_warning(d, where, "unique (%s) of multi-tenant table '%s' is made UNIQUE (%s, %s): unique within "
                               "each tenant, as a global one would tell a tenant which values others have",
                     cols.data, t->name, t->cols[t->tenant_col].name.v, cols.data);
        buf_free(&cols);
        size_t *wider = xmalloc((n + 1) * sizeof *wider);
        wider[0] = t->tenant_col;
        memcpy(wider + 1, t->unique_sets[u], n * sizeof *wider);
        free(t->unique_sets[u]);
        t->unique_sets[u] = wider;
        t->unique_sizes[u] = n + 1;
    }
}

/* References between multi-tenant tables stay inside the tenant:
 * PostgreSQL checks a foreign key without row-level security, so a plain
 * one would let a tenant refer to (and learn of) another tenant's row.
 * posts.user_id -> users.id becomes (organization_id, user_id) ->
 * users (organization_id, id), with the key it needs on users. */
static void scope_references(diag *d, model *m)
{
    for (size_t i = 0; i < m->ntables; i++) {
        table *t = m->tables[i];
        for (size_t c = 0; c < t->ncols; c++) {
            column *col = &t->cols[c];
            table *r = col->ref_table;
            if (!r)
                continue;
            if (t->tenant_col == (size_t)-1) {
                if (r->tenant_col != (size_t)-1)
                    diag_warning(d, col->references.pos, "'%s.%s' refers to multi-tenant table '%s' from a table "
                                                         "without a tenant: it can refer to any tenant's row",
                                 t->name, col->name.v, r->name);
                continue;
            }
            if (r->tenant_col == (size_t)-1 || c == t->tenant_col)
                continue;
            if (col->ref_column == r->tenant_col) {
                diag_warning(d, col->references.pos, "'%s.%s' names a tenant (it refers to '%s.%s') without being "
                                                     "the tenant column: it can name another tenant",
                             t->name, col->name.v, r->name, r->cols[r->tenant_col].name.v);
                continue;
            }
            col->tenant_fk = true;
            size_t key[2] = {r->tenant_col, col->ref_column};
            if (!is_key(r, key, 2)) {
                size_t *set = xmalloc(2 * sizeof *set);
                memcpy(set, key, sizeof key);
                add_unique_set(r, set, 2);
            }
            diag_warning(d, col->references.pos, "'%s.%s' refers to '%s.%s' inside the tenant: FOREIGN KEY (%s, %s) "
                                                 "REFERENCES %s (%s, %s), since PostgreSQL checks references "
                                                 "without row-level security",
                         t->name, col->name.v, r->name, r->cols[col->ref_column].name.v,
                         t->cols[t->tenant_col].name.v, col->name.v, r->name, r->cols[r->tenant_col].name.v,
                         r->cols[col->ref_column].name.v);
        }
    }
}

/* The model-wide tenancy: one tenant type, the setting and the role. */
static void check_model_tenancy(diag *d, model *m)
{
    tenancy *ty = &m->tenancy;
    const column *first = NULL;
    for (size_t i = 0; i < m->ntables; i++) {
        const table *t = m->tables[i];
        if (t->tenant_col == (size_t)-1 || !t->cols[t->tenant_col].type.v)
            continue;
        const column *c = &t->cols[t->tenant_col];
        sqltype_kind k = c->stype.kind;
        if (k == ST_SERIAL || k == ST_BIGSERIAL)
            continue; /* check_tenancy said why */
        if (k != ST_UUID && k != ST_SMALLINT && k != ST_INTEGER && k != ST_BIGINT && k != ST_TEXT &&
            k != ST_VARCHAR) {
            diag_error(d, c->type.pos, "tenant column '%s' is %s; a tenant id is uuid, smallint, integer, "
                                       "bigint, text or varchar",
                       c->name.v, c->type.v);
            continue;
        }
        if (!first) {
            first = c;
            ty->has_tenancy = true;
            ty->type = c->stype;
        } else if (c->stype.kind != first->stype.kind) {
            diag_error(d, c->type.pos, "tenant column '%s' is %s, but the tenant columns must all have one type "
                                       "(the first is %s)",
                       c->name.v, c->type.v, first->type.v);
        }
    }
    /* Row-level isolation in a shared database is what dbont generates;
     * any other strategy named would be silently something else. */
    for (size_t i = 0; i < m->nmt_patterns; i++) {
        const mt_pattern *q = m->mt_patterns[i];
        if (q->isolation_level.v && strcmp(q->isolation_level.v, "row-level") != 0)
            diag_error(d, q->isolation_level.pos, "mt:isolationLevel '%s' is not supported: dbont generates "
                                                  "\"row-level\" isolation",
                       q->isolation_level.v);
        if (q->storage_strategy.v && strcmp(q->storage_strategy.v, "shared-database") != 0)
            diag_error(d, q->storage_strategy.pos, "mt:storageStrategy '%s' is not supported: dbont generates "
                                                   "\"shared-database\" tenancy",
                       q->storage_strategy.v);
    }
    /* One setting and one role per ontology: the pattern that names them. */
    const mt_pattern *p = m->nmt_patterns ? m->mt_patterns[0] : NULL;
    for (size_t i = 0; i < m->nmt_patterns; i++) {
        const mt_pattern *q = m->mt_patterns[i];
        if (!q->tenant_setting.v && !q->app_role.v)
            continue;
        if (p != q && (p->tenant_setting.v || p->app_role.v)) {
            diag_error(d, q->pos, "a second mt:Pattern names the tenant setting or the application role; one "
                                  "ontology has one of each");
            diag_note(d, p->pos, "the first one is here");
        } else {
            p = q;
        }
    }
    const char *setting = p && p->tenant_setting.v ? p->tenant_setting.v : "app.current_org_id";
    const char *role = p && p->app_role.v ? p->app_role.v : "app_user";
    /* A custom setting needs a prefix and a dot; both parts plain names. */
    const char *dot = strchr(setting, '.');
    char why[256];
    bool valid = dot && dot != setting && dot[1] && !strchr(dot + 1, '.');
    if (valid) {
        char *head = xstrndup(setting, (size_t)(dot - setting));
        valid = naming_check_identifier(head, why, sizeof why) && naming_check_identifier(dot + 1, why, sizeof why);
        free(head);
    }
    if (!valid)
        diag_error(d, p->tenant_setting.pos, "mt:tenantSetting '%s' is not a setting name: two plain names "
                                             "joined by a dot, e.g. app.current_org_id",
                   setting);
    if (p && p->app_role.v)
        check_ident(d, p->app_role.pos, p->app_role.v);
    ty->setting = xstrdup(setting);
    ty->app_role = xstrdup(role);
}

/* ---- C names -------------------------------------------------------------- */

/* A set of C names, each with the place and the description of what made
 * it ("column 'a'", "the NULL flag of column 'a'"). */
typedef struct cnames {
    char **names;
    dpos *pos;
    char **what;
    size_t n, cap;
} cnames;

/* Adds name (taking name and what); reports a clash with an earlier one. */
static void cnames_add(cnames *s, diag *d, char *name, dpos pos, char *what)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->names[i], name) == 0) {
            diag_error(d, pos, "%s and %s would both be named '%s' in C; rename one of them", what,
                       s->what[i], name);
            diag_note(d, s->pos[i], "%s comes from here", s->what[i]);
            free(name);
            free(what);
            return;
        }
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->names = xrealloc(s->names, s->cap * sizeof *s->names);
        s->pos = xrealloc(s->pos, s->cap * sizeof *s->pos);
        s->what = xrealloc(s->what, s->cap * sizeof *s->what);
    }
    s->names[s->n] = name;
    s->pos[s->n] = pos;
    s->what[s->n] = what;
    s->n++;
}

static void cnames_free(cnames *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->names[i]);
        free(s->what[i]);
    }
    free(s->names);
    free(s->pos);
    free(s->what);
}

/* Struct fields: the values, their NULL flags and (in the new-row struct)
 * the set flags of defaulted columns must all have distinct names.  The
 * new-row struct has every field of the row struct, so one set covers
 * both. */
static void check_fields(diag *d, table *t)
{
    cnames fields = {0};
    for (size_t i = 0; i < t->ncols; i++) {
        column *c = &t->cols[i];
        if (c->c_name)
            cnames_add(&fields, d, xstrdup(c->c_name), c->name.pos, xasprintf("column '%s'", c->name.v));
    }
    for (size_t i = 0; i < t->ncols; i++) {
        column *c = &t->cols[i];
        if (!c->c_name)
            continue;
        if (!c->not_null)
            cnames_add(&fields, d, xasprintf("%s_is_null", c->c_flag), c->name.pos,
                       xasprintf("the NULL flag of column '%s'", c->name.v));
        if (c->has_default)
            cnames_add(&fields, d, xasprintf("%s_set", c->c_flag), c->name.pos,
                       xasprintf("the default flag of column '%s'", c->name.v));
    }
    cnames_free(&fields);
}

/* The C names generated for a table and for a query (or search):
 * <prefix>_<name><suffix>. */
static const char *const table_suffixes[] = {
    "",          "_new",         "_rows",        "_rows_free",   "_insert",      "_get",
    "_update",   "_delete",      "_list",        "_desc",        "_columns",     "_pk",
    "_view",     "_get_stmt",    "_update_stmt", "_delete_stmt", "_list_stmt",   "_get_types",
    "_update_types", "_delete_types", "_list_types", "_relations", "_filter", "_filter_init",
    "_column", "_find", "_order_by", "_limit", "_sharding", "_insert_sharded", "_get_sharded",
    "_update_sharded", "_delete_sharded", "_copy_sharded", "_shard_of"};
static const char *const query_suffixes[] = {"", "_params", "_row", "_rows", "_rows_free", "_batch",
                                             "_batch_rows", "_query", "_stmt", "_types", "_param_types",
                                             "_param_offsets", "_columns", "_view", "_sharded", "_routing",
                                             "_probe_stmt", "_probe_types", "_fanout", "_fanout_stmt",
                                             "_fanout_types", "_fanout_query", "_fanout_order", "_fanout_aggs",
                                             "_fanout_spec"};

/* queries: <prefix>_<snake_case of the local name> and its companions;
 * name_them: first give each query its C name */
static void add_query_symbols(cnames *syms, diag *d, model *m, const char *prefix, bool name_them)
{
    for (size_t i = 0; i < m->nqueries; i++) {
        query *q = m->queries[i];
        if (!name_them) {
            for (size_t k = 0; q->c_name && k < sizeof query_suffixes / sizeof query_suffixes[0]; k++)
                cnames_add(syms, d, xasprintf("%s_%s%s", prefix, q->c_name, query_suffixes[k]), q->pos,
                           xasprintf("a generated name of query %s", shown(q->iri)));
            continue;
        }
        char *snake = naming_snake_case(naming_local_name(q->iri));
        char why[256];
        if (!naming_check_identifier(snake, why, sizeof why)) {
            diag_error(d, q->pos, "the C name derived from '%s' is not valid (%s); rename the query",
                       shown(q->iri), why);
            free(snake);
            continue;
        }
        q->c_name = naming_c_ident(snake);
        free(snake);
        for (size_t k = 0; k < sizeof query_suffixes / sizeof query_suffixes[0]; k++)
            cnames_add(syms, d, xasprintf("%s_%s%s", prefix, q->c_name, query_suffixes[k]), q->pos,
                       xasprintf("a generated name of query %s", shown(q->iri)));
    }
}

static void check_symbols(diag *d, model *m, const char *prefix)
{
    cnames syms = {0};
    add_query_symbols(&syms, d, m, prefix, true);
    for (size_t i = 0; i < m->ntables; i++) {
        table *t = m->tables[i];
        if (!t->c_name)
            continue;
        for (size_t k = 0; k < sizeof table_suffixes / sizeof table_suffixes[0]; k++)
            cnames_add(&syms, d, xasprintf("%s_%s%s", prefix, t->c_name, table_suffixes[k]), table_name_pos(t),
                       xasprintf("a generated name of table '%s'", t->name));
    }
    cnames_free(&syms);
}

/* The full-text searches are named after their index (once the indexes
 * have names): their C names must not meet a query's or a table's. */
static bool check_search_symbols(diag *d, model *m, const char *prefix)
{
    unsigned before = diag_errors(d);
    cnames syms = {0};
    add_query_symbols(&syms, d, m, prefix, false);
    for (size_t i = 0; i < m->ntables; i++)
        for (size_t k = 0; m->tables[i]->c_name && k < sizeof table_suffixes / sizeof table_suffixes[0]; k++)
            cnames_add(&syms, d, xasprintf("%s_%s%s", prefix, m->tables[i]->c_name, table_suffixes[k]),
                       table_name_pos(m->tables[i]), xasprintf("a generated name of table '%s'", m->tables[i]->name));
    for (size_t i = 0; i < m->nindexes; i++) {
        index_def *x = m->indexes[i];
        if (!x->search_name)
            continue;
        char *c_name = naming_c_ident(x->search_name);
        for (size_t k = 0; k < sizeof query_suffixes / sizeof query_suffixes[0]; k++)
            cnames_add(&syms, d, xasprintf("%s_%s%s", prefix, c_name, query_suffixes[k]), x->pos,
                       xasprintf("a generated name of the search of %s", shown(x->iri)));
        free(c_name);
    }
    cnames_free(&syms);
    return diag_errors(d) == before;
}


/* ---- constraint names ------------------------------------------------------ */

/* PostgreSQL's own naming convention (users_pkey, users_email_key,
 * posts_user_id_fkey), made explicit so later migrations can name the
 * constraints they change.  A name over 63 bytes is cut and given a hash
 * of the full name; a name already taken gets a hash suffix too. */
typedef struct name_set {
    char **v;
    size_t n, cap;
} name_set;

static bool name_taken(const name_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], name) == 0)
            return true;
    return false;
}

static char *constraint_name(name_set *s, const table *t, const size_t *cols, size_t n, const char *suffix)
{
    buf b;
    buf_init(&b);
    buf_adds(&b, t->name);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "_%s", t->cols[cols[i]].name.v);
    buf_printf(&b, "_%s", suffix);
    char *name = buf_take(&b);
    unsigned long long h = fnv1a64(name, strlen(name), FNV64_OFFSET);
    while (strlen(name) > NAMING_MAX_IDENT || name_taken(s, name)) {
        char *shorter = xasprintf("%.*s_%08llx", NAMING_MAX_IDENT - 9, name, h & 0xffffffffULL);
        free(name);
        name = shorter;
        h = fnv1a64(name, strlen(name), h);
    }
    GROW(s->v, s->cap, s->n);
    s->v[s->n++] = name;
    return xstrdup(name);
}

static int by_index_iri(const void *a, const void *b)
{
    return strcmp((*(index_def *const *)a)->iri, (*(index_def *const *)b)->iri);
}

/* The name in a table's events: db:entityName in snake case ("User" ->
 * "user"), else the table's name without a final "s" ("posts" -> "post"). */
static char *event_entity(const table *t)
{
    if (t->entity_name.v)
        return naming_snake_case(t->entity_name.v);
    size_t n = strlen(t->name);
    return xstrndup(t->name, n > 1 && t->name[n - 1] == 's' ? n - 1 : n);
}

static void name_constraints(model *m)
{
    name_set taken = {0};
    for (size_t i = 0; i < m->ntables; i++) {
        table *t = m->tables[i];
        t->event_entity = event_entity(t);
        if (t->npk)
            t->pk_name = constraint_name(&taken, t, NULL, 0, "pkey");
        t->unique_names = xcalloc(t->nunique_sets ? t->nunique_sets : 1, sizeof *t->unique_names);
        for (size_t u = 0; u < t->nunique_sets; u++)
            t->unique_names[u] = constraint_name(&taken, t, t->unique_sets[u], t->unique_sizes[u], "key");
        for (size_t c = 0; c < t->ncols; c++)
            if (t->cols[c].ref_table)
                t->cols[c].fk_name = constraint_name(&taken, t, &c, 1, "fkey");
    }
    /* Indexes share the namespace of the constraints' own indexes.  They
     * are named after what they index, in IRI order, so reordering the
     * ontology renames nothing; two indexes of the same columns (say, two
     * partial ones) differ by the hash suffix. */
    index_def **byiri = xmalloc((m->nindexes ? m->nindexes : 1) * sizeof *byiri);
    if (m->nindexes) {
        memcpy(byiri, m->indexes, m->nindexes * sizeof *byiri);
        qsort(byiri, m->nindexes, sizeof *byiri, by_index_iri);
    }
    for (size_t i = 0; i < m->nindexes; i++)
    {
        index_def *x = byiri[i];
        x->name = constraint_name(&taken, x->tbl, x->cols, x->columns.n, x->full_text ? "fts_idx" : "idx");
        if (x->full_text)
            x->search_name = constraint_name(&taken, x->tbl, x->cols, x->columns.n, "search");
    }
    free(byiri);
    for (size_t i = 0; i < taken.n; i++)
        free(taken.v[i]);
    free(taken.v);
}

/* ---- later parts: references and enumerations ----------------------------- */

static bool one_of(const char *v, const char *const *allowed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v, allowed[i]) == 0)
            return true;
    return false;
}

#define CHECK_ENUM(d, ms, term, ...)                                                              \
    do {                                                                                          \
        static const char *const allowed_[] = {__VA_ARGS__};                                      \
        if ((ms).v && !one_of((ms).v, allowed_, sizeof allowed_ / sizeof allowed_[0]))            \
            diag_error(d, (ms).pos, "unknown %s '%s'; allowed: %s", term, (ms).v, #__VA_ARGS__); \
    } while (0)

static table *need_table(diag *d, model *m, const mstr *ref, const char *term, dpos owner, const char *what)
{
    if (!ref->v) {
        diag_error(d, owner, "%s has no %s", what, term);
        return NULL;
    }
    table *t = model_find_table(m, ref->v);
    if (!t)
        diag_error(d, ref->pos, "%s names '%s', which is not a db:Table", term, shown(ref->v));
    return t;
}

static void need_positive(diag *d, const mint *v, const char *term)
{
    if (v->set && v->v < 1)
        diag_error(d, v->pos, "%s must be a positive integer", term);
}

static bool is_query(const model *m, const char *iri)
{
    for (size_t i = 0; i < m->nqueries; i++)
        if (strcmp(m->queries[i]->iri, iri) == 0)
            return true;
    return false;
}

static void check_queries(diag *d, model *m)
{
    for (size_t i = 0; i < m->nqueries; i++) {
        query *q = m->queries[i];
        need_table(d, m, &q->from, "db:from", q->pos, shown(q->iri));
        for (size_t j = 0; j < q->njoins; j++) {
            join_clause *jn = &q->joins[j];
            need_table(d, m, &jn->table, "db:table", jn->pos, "db:join");
            CHECK_ENUM(d, jn->type, "join db:type", "inner", "left", "right", "full");
            if (!jn->on.v)
                diag_error(d, jn->pos, "db:join has no db:on");
        }
        CHECK_ENUM(d, q->returns, "db:returns", "one", "many", "none");
        need_positive(d, &q->limit, "db:limit");
        need_positive(d, &q->cache_ttl, "db:cacheTTL");
        if (q->where.set && !q->where.condition.v)
            diag_error(d, q->where.pos, "db:where has no db:condition");
    }
}

/* Which column types an index method can take without an extension
 * (btree_gin, btree_gist): PostgreSQL's built-in operator classes. */
static bool method_takes(const char *method, sqltype_kind k)
{
    if (!strcmp(method, "btree") || !strcmp(method, "hash"))
        return true; /* every type here, jsonb too (jsonb_ops for both) */
    if (!strcmp(method, "gin"))
        return k == ST_JSONB;
    if (!strcmp(method, "brin"))
        return k != ST_JSONB && k != ST_BOOLEAN;
    return false; /* gist: no built-in class for our scalar types */
}

static bool textual_kind(sqltype_kind k)
{
    return k == ST_TEXT || k == ST_VARCHAR;
}

/* A text search configuration name goes into the SQL as a literal
 * ('english'::regconfig): letters, digits and '_' only, so it can be
 * neither an injection nor a surprise. */
static bool plain_word(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static void check_index(diag *d, model *m, index_def *x)
{
    table *t = need_table(d, m, &x->table, "idx:table", x->pos, shown(x->iri));
    static const char *const methods[] = {"btree", "hash", "gin", "gist", "brin"};
    x->method = methods[0];
    for (size_t i = 0; x->type.v && i < sizeof methods / sizeof methods[0]; i++)
        if (!strcasecmp(x->type.v, methods[i]))
            x->method = methods[i];
    CHECK_ENUM(d, x->type, "idx:type", "btree", "hash", "gin", "gist", "brin");
    x->full_text = x->language.v != NULL;
    if (x->full_text) {
        if (strcmp(x->method, "gin") && strcmp(x->method, "gist"))
            diag_error(d, x->language.pos, "idx:language makes a full-text index and needs idx:type "
                                           "\"gin\" (or \"gist\")");
        else if (!plain_word(x->language.v))
            diag_error(d, x->language.pos, "idx:language '%s' is not a text search configuration name "
                                           "(letters, digits and '_', e.g. \"english\" or \"simple\")",
                       x->language.v);
    }
    if (x->unique.set && x->unique.v && strcmp(x->method, "btree"))
        diag_error(d, x->unique.pos, "idx:unique needs idx:type \"btree\": PostgreSQL builds unique indexes "
                                     "only with btree, not %s",
                   x->method);
    if (x->partial_predicate.v) {
        char why[160];
        if (!sqlfrag_check(x->partial_predicate.v, 0, why, sizeof why))
            diag_error(d, x->partial_predicate.pos, "idx:partialPredicate: %s", why);
    }
    if (!x->columns.set) {
        diag_error(d, x->pos, "%s has no idx:columns", shown(x->iri));
        return;
    }
    if (!t || !resolve_columns(d, t, &x->columns, &x->cols, "idx:columns"))
        return;
    x->tbl = t;
    if (!strcmp(x->method, "hash") && x->columns.n > 1)
        diag_error(d, x->columns.pos, "a hash index takes one column (PostgreSQL's hash indexes have no "
                                      "multi-column form); use btree, or index one column");
    if (x->full_text && table_find_column(t, "rank") != (size_t)-1)
        diag_error(d, x->language.pos, "the search of a full-text index returns each row with its 'rank', but "
                                       "table '%s' has a column of that name",
                   t->name);
    /* Under row-level security PostgreSQL will not use the index for @@
     * (the text search functions are not leakproof), so the search runs
     * as a SECURITY DEFINER function that applies the tenant filter
     * itself.  That filter is the whole policy only when the table has
     * no policies of its own; with them, the search stays an ordinary
     * statement under all policies (correct, but a sequential scan). */
    if (x->full_text && t->tenant_col != (size_t)-1 && t->npolicies == 0)
        x->search_definer = true;
    else if (x->full_text && t->rls_on)
        diag_warning(d, x->language.pos, "table '%s' has row-level security with policies of its own: its search "
                                         "runs under them and PostgreSQL will not use this index for it "
                                         "(docs/full-text-search.md)",
                     t->name);
    for (size_t i = 0; i < x->columns.n; i++) {
        const column *c = &t->cols[x->cols[i]];
        sqltype_kind k = c->stype.kind;
        if (x->full_text && !textual_kind(k))
            diag_error(d, x->columns.items[i].pos, "a full-text index takes text or varchar columns; '%s' is %s",
                       c->name.v, sqltype_info_of(k)->name);
        else if (!x->full_text && !method_takes(x->method, k))
            diag_error(d, x->columns.items[i].pos,
                       "idx:type %s cannot index column '%s' (%s) without an extension%s", x->method, c->name.v,
                       sqltype_info_of(k)->name,
                       !strcmp(x->method, "gin") || !strcmp(x->method, "gist")
                           ? " (with idx:language it becomes a full-text index of text columns)"
                           : "");
    }
}

static void check_indexes(diag *d, model *m)
{
    for (size_t i = 0; i < m->nindexes; i++)
        check_index(d, m, m->indexes[i]);
}

/* Where the ontology makes a key; the table when it is derived (a unique
 * key that a reference inside the tenant needs). */
static dpos key_place(const table *t, const size_t *cols, size_t n, bool primary)
{
    if (primary && t->primary_key.set)
        return t->primary_key.pos;
    if (n == 1 && primary && t->cols[cols[0]].primary_key.set)
        return t->cols[cols[0]].primary_key.pos;
    if (n == 1 && !primary && t->cols[cols[0]].unique.set)
        return t->cols[cols[0]].unique.pos;
    for (size_t u = 0; !primary && u < t->nuniques; u++) {
        size_t found = 0;
        for (size_t k = 0; k < t->uniques[u].n; k++)
            for (size_t c = 0; c < n; c++)
                found += !strcmp(t->uniques[u].items[k].v, t->cols[cols[c]].name.v);
        if (found == t->uniques[u].n)
            return t->uniques[u].pos;
    }
    return t->pos;
}

/* PostgreSQL requires every primary key and unique constraint of a
 * partitioned table to include the partition key (0A000): say so at the
 * key, with the fix. */
static void need_key_in(diag *d, const table *t, const shard_strategy *s, const size_t *cols, size_t n,
                        const char *what, const char *term, dpos where)
{
    for (size_t k = 0; k < n; k++)
        if (cols[k] == s->key_col)
            return;
    buf list;
    buf_init(&list);
    for (size_t k = 0; k < n; k++)
        buf_printf(&list, "\"%s\" ", t->cols[cols[k]].name.v);
    diag_error(d, where, "table '%s' is partitioned by range of '%s', and PostgreSQL requires its %s to include "
                         "the partition key: make it %s (%s\"%s\")",
               t->name, s->key.v, what, term, list.data, s->key.v);
    diag_note(d, s->key.pos, "the partition key is set here");
    buf_free(&list);
}

static void check_range_partition(diag *d, model *m, shard_strategy *s, table *t)
{
    if (!s->table.v) {
        diag_error(d, s->pos, "a range-based %s needs shard:table: the table it partitions", shown(s->iri));
        return;
    }
    if (!t || !s->key.v || (s->key_col = table_find_column(t, s->key.v)) == (size_t)-1)
        return;
    if (t->range_partition) {
        diag_error(d, s->pos, "table '%s' has two range-based strategies", t->name);
        return;
    }
    sqltype_kind k = t->cols[s->key_col].stype.kind;
    if (k != ST_DATE && k != ST_TIMESTAMP && k != ST_TIMESTAMPTZ) {
        diag_error(d, s->key.pos, "a range-based shard:key must be a date, timestamp or timestamptz column; '%s' is %s",
                   s->key.v, sqltype_info_of(k)->name);
        return;
    }
    /* <table>_default and <table>_YYYY_MM_DD must be names PostgreSQL keeps */
    if (t->name && strlen(t->name) > NAMING_MAX_IDENT - 11) {
        diag_error(d, s->pos, "table name '%s' is too long to be partitioned: its partitions are named "
                              "'%s_YYYY_MM_DD', at most %d bytes",
                   t->name, t->name, NAMING_MAX_IDENT);
        return;
    }
    s->tbl = t;
    s->range = "monthly";
    static const char *const sizes[] = {"daily", "monthly", "yearly"};
    for (size_t i = 0; s->range_size.v && i < 3; i++)
        if (!strcasecmp(s->range_size.v, sizes[i]))
            s->range = sizes[i];
    s->hot_days = s->hot_data_window.set ? s->hot_data_window.v : 0;
    s->ahead = s->periods_ahead.set ? s->periods_ahead.v : 3;
    t->range_partition = s;
    if (t->npk)
        need_key_in(d, t, s, t->pk, t->npk, "primary key",
                    t->primary_key.set ? "db:primaryKey" : "the table's db:primaryKey",
                    key_place(t, t->pk, t->npk, true));
    for (size_t u = 0; u < t->nunique_sets; u++)
        need_key_in(d, t, s, t->unique_sets[u], t->unique_sizes[u], "unique constraint",
                    t->unique_sizes[u] == 1 ? "the table's db:unique" : "db:unique",
                    key_place(t, t->unique_sets[u], t->unique_sizes[u], false));
    for (size_t i = 0; i < m->nindexes; i++) {
        index_def *x = m->indexes[i];
        if (x->tbl == t && x->cols && x->unique.set && x->unique.v)
            need_key_in(d, t, s, x->cols, x->columns.n, "unique index", "idx:columns", x->unique.pos);
    }
}

/* A consistent-hash key routes by its canonical bytes (dbont/shard.h):
 * integers, text and uuid have one. */
static bool hashable_key(sqltype_kind k)
{
    return k == ST_SMALLINT || k == ST_INTEGER || k == ST_BIGINT || k == ST_SERIAL || k == ST_BIGSERIAL ||
           k == ST_TEXT || k == ST_VARCHAR || k == ST_UUID;
}

/* db:default "gen_random_uuid()" (any case and spacing): a default the
 * routed insert can make on the client, before routing. */
static bool random_uuid_default(const column *c)
{
    if (!c->default_sql.v)
        return false;
    char squeezed[32];
    size_t n = 0;
    for (const char *p = c->default_sql.v; *p && n + 1 < sizeof squeezed; p++)
        if (*p != ' ' && *p != '\t')
            squeezed[n++] = (char)tolower((unsigned char)*p);
    squeezed[n] = '\0';
    return !strcmp(squeezed, "gen_random_uuid()") || !strcmp(squeezed, "public.gen_random_uuid()");
}

/*
 * consistent-hash: rows are spread over shard:shardCount PostgreSQL
 * servers by their key (docs/scale-out.md).  What must hold for that to
 * be sound is checked here, at the terms to change:
 *   - the key routes a row before it exists, so the application must
 *     know it: not a serial (each shard's own sequence would make it,
 *     after the row was routed, and the shards' ids would collide);
 *     another default only for a uuid (the routed insert makes a random
 *     one, as gen_random_uuid() would);
 *   - every row has one: NOT NULL;
 *   - a primary key or unique constraint without the key is unique
 *     within each shard only (a warning: with random uuids that is
 *     enough).
 * References are checked once every table's strategy is known
 * (check_shard_references).
 */
static void check_hash_shards(diag *d, shard_strategy *s, table *t)
{
    if (!s->table.v) {
        /* the reference design's strategies name no table (shard:table is
         * an extension): read, but they route nothing */
        diag_warning(d, s->pos, "%s names no shard:table: it spreads no table over shards (docs/scale-out.md)",
                     shown(s->iri));
        return;
    }
    if (!t || !s->key.v || (s->key_col = table_find_column(t, s->key.v)) == (size_t)-1)
        return;
    if (!s->shard_count.set)
        diag_error(d, s->pos, "a consistent-hash %s needs shard:shardCount: how many shards", shown(s->iri));
    else if (s->shard_count.v > INT32_MAX)
        diag_error(d, s->shard_count.pos, "shard:shardCount is at most %d", INT32_MAX);
    if (t->hash_shard) {
        diag_error(d, s->pos, "table '%s' has two consistent-hash strategies", t->name);
        diag_note(d, t->hash_shard->pos, "the other one");
        return;
    }
    const column *key = &t->cols[s->key_col];
    sqltype_kind k = key->stype.kind;
    if (!hashable_key(k)) {
        diag_error(d, s->key.pos, "a consistent-hash shard:key must be an integer, text, varchar or uuid column; "
                                  "'%s' is %s",
                   s->key.v, sqltype_info_of(k)->name);
        return;
    }
    if (k == ST_SERIAL || k == ST_BIGSERIAL) {
        diag_error(d, s->key.pos, "shard:key '%s' is %s: each shard's own sequence would make it after the row "
                                  "was routed (and the shards would make the same ids); use a key the application "
                                  "chooses, such as a uuid",
                   s->key.v, sqltype_info_of(k)->name);
        return;
    }
    /* the tenant column's default is the session's tenant: the routed calls
     * take the tenant from the row instead */
    if (key->has_default && s->key_col != t->tenant_col && !(k == ST_UUID && random_uuid_default(key))) {
        diag_error(d, key->default_sql.v ? key->default_sql.pos : s->key.pos,
                   "shard:key '%s' has a default: the server would make it after the row was routed; the "
                   "application must give it (a uuid key may default to gen_random_uuid(), which the routed "
                   "insert makes itself)",
                   s->key.v);
        return;
    }
    if (!key->not_null) {
        diag_error(d, s->key.pos, "shard:key '%s' may be NULL, and a row without a key has no shard: make it "
                                  "db:nullable false",
                   s->key.v);
        return;
    }
    s->tbl = t;
    t->hash_shard = s;
    if (t->tenant_col != (size_t)-1 && s->key_col != t->tenant_col)
        diag_warning(d, s->key.pos,
                     "multi-tenant table '%s' is sharded by '%s', not by its tenant column '%s': a tenant's rows "
                     "spread over every shard, and no routed functions are made for it (a call must run in its "
                     "tenant's session on the row's shard; use %s_shard_of and a tenant session there)",
                     t->name, s->key.v, t->cols[t->tenant_col].name.v, t->c_name ? t->c_name : t->name);
    for (size_t u = 0; u <= t->nunique_sets; u++) {
        const size_t *cols = u == 0 ? t->pk : t->unique_sets[u - 1];
        size_t n = u == 0 ? t->npk : t->unique_sizes[u - 1];
        bool has = n == 0;
        for (size_t c = 0; c < n && !has; c++)
            has = cols[c] == s->key_col;
        if (has)
            continue;
        buf list;
        buf_init(&list);
        for (size_t c = 0; c < n; c++)
            buf_printf(&list, "%s%s", c ? ", " : "", t->cols[cols[c]].name.v);
        diag_warning(d, key_place(t, cols, n, u == 0),
                     "%s (%s) of table '%s' does not include shard:key '%s': it is unique within each shard, "
                     "not across them",
                     u == 0 ? "the primary key" : "unique", list.data, t->name, s->key.v);
        buf_free(&list);
    }
}

/*
 * PostgreSQL checks a foreign key within one server, so a reference
 * between rows on different shards cannot exist: a sharded table may
 * refer only to a table sharded alike (the same shard count) through its
 * shard key, so that both rows route to the same shard; unsharded tables
 * live on shard 0 (docs/scale-out.md) and cannot refer to sharded ones,
 * nor sharded ones to them.
 */
static void check_shard_references(diag *d, model *m)
{
    for (size_t i = 0; i < m->ntables; i++) {
        table *t = m->tables[i];
        for (size_t c = 0; c < t->ncols; c++) {
            const column *col = &t->cols[c];
            table *r = col->ref_table;
            if (!r || (!t->hash_shard && !r->hash_shard))
                continue;
            const shard_strategy *st = t->hash_shard, *sr = r->hash_shard;
            if (!st || !sr) {
                diag_error(d, col->references.pos,
                           "'%s.%s' refers to table '%s', but %s: PostgreSQL checks a reference within one server, "
                           "so both rows must be on the same shard; shard '%s' by the same key too, or drop the "
                           "reference",
                           t->name, col->name.v, r->name,
                           st ? "that table is not sharded (it lives on shard 0)"
                              : "this table is not sharded (it lives on shard 0) and that one is",
                           st ? r->name : t->name);
                continue;
            }
            /* the reference carries the shard key: the key column of t
             * points at the key column of r, directly or as the tenant
             * part of a reference kept inside the tenant */
            bool carries = (c == st->key_col && col->ref_column == sr->key_col) ||
                           (col->tenant_fk && st->key_col == t->tenant_col && sr->key_col == r->tenant_col);
            if (!carries) {
                bool fix = col->ref_column == sr->key_col;
                diag_error(d, col->references.pos,
                           "'%s.%s' refers to '%s.%s', but '%s' is sharded by '%s' and '%s' by '%s': the reference "
                           "does not join the shard keys, so the two rows could be on different shards, where "
                           "PostgreSQL cannot check it%s%s%s%s%s",
                           t->name, col->name.v, r->name, r->cols[col->ref_column].name.v, t->name, st->key.v,
                           r->name, sr->key.v, fix ? "; shard '" : "", fix ? t->name : "",
                           fix ? "' by '" : "", fix ? col->name.v : "", fix ? "'" : "");
                if (fix)
                    diag_note(d, st->key.pos, "'%s' is sharded by '%s' here", t->name, st->key.v);
            } else if (st->shard_count.v != sr->shard_count.v) {
                diag_error(d, col->references.pos,
                           "'%s.%s' refers to '%s', which is spread over %lld shards, and '%s' over %lld: rows with "
                           "the same key must land on the same shard, so the counts must be equal",
                           t->name, col->name.v, r->name, (long long)sr->shard_count.v, t->name,
                           (long long)st->shard_count.v);
                diag_note(d, st->shard_count.pos, "the shard:shardCount of '%s'", t->name);
            }
        }
    }
}

static void check_shards(diag *d, model *m)
{
    for (size_t i = 0; i < m->nshards; i++) {
        shard_strategy *s = m->shards[i];
        table *t = s->table.v ? need_table(d, m, &s->table, "shard:table", s->pos, shown(s->iri)) : NULL;
        if (!s->algorithm.v)
            diag_error(d, s->pos, "%s has no shard:algorithm", shown(s->iri));
        CHECK_ENUM(d, s->algorithm, "shard:algorithm", "consistent-hash", "range-based");
        if (!s->key.v)
            diag_error(d, s->pos, "%s has no shard:key", shown(s->iri));
        else if (t && table_find_column(t, s->key.v) == (size_t)-1)
            diag_error(d, s->key.pos, "shard:key names '%s', which is not a column of table '%s'", s->key.v,
                       t->name ? t->name : "?");
        need_positive(d, &s->shard_count, "shard:shardCount");
        need_positive(d, &s->replication_factor, "shard:replicationFactor");
        need_positive(d, &s->hot_data_window, "shard:hotDataWindow");
        CHECK_ENUM(d, s->range_size, "shard:rangeSize", "daily", "monthly", "yearly");
        if (s->periods_ahead.set && s->periods_ahead.v < 0)
            diag_error(d, s->periods_ahead.pos, "shard:periodsAhead must be 0 or more");
        if (s->algorithm.v && !strcasecmp(s->algorithm.v, "range-based"))
            check_range_partition(d, m, s, t);
        else if (s->algorithm.v && !strcasecmp(s->algorithm.v, "consistent-hash"))
            check_hash_shards(d, s, t);
    }
    check_shard_references(d, m);
}

static void check_caches(diag *d, model *m)
{
    for (size_t i = 0; i < m->ncache_strategies; i++) {
        cache_strategy *c = m->cache_strategies[i];
        CHECK_ENUM(d, c->backend, "cache:backend", "memory", "redis", "redis+memory");
        need_positive(d, &c->ttl, "cache:ttl");
    }
    for (size_t i = 0; i < m->ncache_patterns; i++) {
        cache_pattern *c = m->cache_patterns[i];
        for (size_t j = 0; j < c->queries.n; j++)
            if (!is_query(m, c->queries.items[j].v))
                diag_error(d, c->queries.items[j].pos, "cache:queries names '%s', which is not a db:Query",
                           shown(c->queries.items[j].v));
    }
}

/* ---- entry ---------------------------------------------------------------- */

bool check_model(model *m, diag *d, const char *prefix, const char *first_file)
{
    unsigned before = diag_errors(d);
    /* With earlier errors, a missing table is most likely their effect. */
    if (m->ntables == 0 && before == 0) {
        dpos p = {first_file, 1, 1};
        diag_error(d, p, "the ontology defines no db:Table (is it empty, or are the prefixes wrong? "
                         "db: is <http://example.org/db/>)");
    }
    for (size_t i = 0; i < m->ntables; i++) {
        table *t = m->tables[i];
        name_table(d, t);
        if (!t->columns_set) {
            if (!t->build_errors)
                diag_error(d, t->pos, "table '%s' has no db:columns", t->name ? t->name : shown(t->iri));
        } else if (t->ncols == 0 && !t->build_errors)
            diag_error(d, t->columns_pos, "table '%s' has no columns", t->name ? t->name : shown(t->iri));
        for (size_t c = 0; c < t->ncols; c++)
            check_column(d, t, &t->cols[c]);
        check_duplicate_columns(d, t);
        check_primary_key(d, t);
        check_uniques(d, t);
        check_tenancy(d, t);
        size_t defaulted = 0;
        for (size_t c = 0; c < t->ncols; c++)
            defaulted += t->cols[c].has_default;
        if (defaulted > MAX_DEFAULTED_COLUMNS)
            diag_error(d, t->pos, "table '%s' has %zu columns with a default; at most %d are supported",
                       t->name ? t->name : "?", defaulted, MAX_DEFAULTED_COLUMNS);
    }
    check_duplicate_tables(d, m);
    for (size_t i = 0; i < m->ntables; i++)
        for (size_t c = 0; c < m->tables[i]->ncols; c++)
            check_reference(d, m, m->tables[i], &m->tables[i]->cols[c]);
    for (size_t i = 0; i < m->ntables; i++)
        scope_uniques(d, m->tables[i]);
    scope_references(d, m);
    check_model_tenancy(d, m);
    for (size_t i = 0; i < m->ntables; i++)
        check_fields(d, m->tables[i]);
    check_symbols(d, m, prefix);
    check_queries(d, m);
    check_indexes(d, m);
    check_shards(d, m);
    check_caches(d, m);
    if (diag_errors(d) != before)
        return false;
    name_constraints(m);
    return check_search_symbols(d, m, prefix);
}
