#include "diff.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "naming.h"
#include "partition.h"
#include "search.h"
#include "sqltypes.h"
#include "util.h"

#define NONE ((size_t)-1)

/* ---- renames ------------------------------------------------------------------ */

static void add_rename(name_changes *r, bool is_column, const char *tbl, const char *from, const char *to)
{
    GROW(r->v, r->cap, r->n);
    r->v[r->n].column = is_column;
    r->v[r->n].table = xstrdup(tbl);
    r->v[r->n].from = xstrdup(from);
    r->v[r->n].to = xstrdup(to);
    r->n++;
}

void renames_free(name_changes *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].table);
        free(r->v[i].from);
        free(r->v[i].to);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

static const char *table_renamed_from(const name_changes *rn, const char *to_table)
{
    for (size_t i = 0; i < rn->n; i++)
        if (!rn->v[i].column && strcmp(rn->v[i].to, to_table) == 0)
            return rn->v[i].from;
    return NULL;
}

static const char *column_renamed_from(const name_changes *rn, const char *to_table, const char *to_col)
{
    for (size_t i = 0; i < rn->n; i++)
        if (rn->v[i].column && strcmp(rn->v[i].table, to_table) == 0 && strcmp(rn->v[i].to, to_col) == 0)
            return rn->v[i].from;
    return NULL;
}

void diff_renames(const schema *from, const schema *to, name_changes *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < to->ntables; i++) {
        const stable *t = &to->tables[i];
        const stable *ft = schema_table(from, t->name);
        if (!ft && t->former_name && !schema_table(to, t->former_name) &&
            (ft = schema_table(from, t->former_name)) != NULL)
            add_rename(out, false, t->name, t->former_name, t->name);
        if (!ft)
            continue;
        for (size_t c = 0; c < t->ncols; c++) {
            const scolumn *col = &t->cols[c];
            if (col->former_name && !stable_column(ft, col->name) && stable_column(ft, col->former_name) &&
                !stable_column(t, col->former_name))
                add_rename(out, true, t->name, col->former_name, col->name);
        }
    }
}

void renames_reverse(const name_changes *in, const schema *from, name_changes *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < in->n; i++) {
        const name_change *r = &in->v[i];
        if (!r->column) {
            add_rename(out, false, r->from, r->to, r->from);
        } else {
            /* the column's table, named as the reverse target knows it */
            const char *old_table = table_renamed_from(in, r->table);
            add_rename(out, true, old_table ? old_table : r->table, r->to, r->from);
        }
    }
    (void)from;
}

/* ---- the differ ---------------------------------------------------------------- */

/* A table of `to` and its table in `from`, with their columns paired. */
typedef struct pair {
    const stable *f, *t;
    size_t *f_to_t; /* per column of f: its index in t, or NONE */
    size_t *t_to_f; /* per column of t: its index in f, or NONE */
} pair;

typedef struct differ {
    const schema *from, *to;
    const name_changes *rn;
    changes *out;
    diag *d;
    bool ok;
    pair *pairs; /* per table of to; pairs[i].f NULL when the table is new */
    size_t *from_pair; /* per table of from: index into pairs, or NONE when dropped */
} differ;

static void change_add(differ *x, change_phase phase, bool destructive, dpos pos, const char *slug,
                       char *sql, char *note, const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void change_add(differ *x, change_phase phase, bool destructive, dpos pos, const char *slug,
                       char *sql, char *note, const char *fmt, ...)
{
    changes *c = x->out;
    GROW(c->v, c->cap, c->n);
    change *ch = &c->v[c->n];
    memset(ch, 0, sizeof *ch);
    ch->phase = phase;
    ch->seq = c->n;
    ch->sql = sql;
    ch->note = note;
    ch->destructive = destructive;
    ch->pos = pos;
    ch->slug = xstrdup(slug);
    buf b;
    buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    ch->summary = buf_take(&b);
    c->n++;
}

static void addq(buf *b, const char *name)
{
    char *q = naming_sql_ident(name);
    buf_adds(b, q);
    free(q);
}

/* Starts "ALTER TABLE <table>" (and " ALTER COLUMN <column>" when column
 * is not NULL) in a new buffer b. */
static void alter_start(buf *b, const char *table_name, const char *column_name)
{
    buf_init(b);
    buf_adds(b, "ALTER TABLE ");
    addq(b, table_name);
    if (column_name) {
        buf_adds(b, " ALTER COLUMN ");
        addq(b, column_name);
    }
}

static void add_name_list(buf *b, char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_adds(b, ", ");
        addq(b, names[i]);
    }
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

char *sconstraint_definition(const sconstraint *c)
{
    buf b;
    buf_init(&b);
    static const char *const kinds[] = {"PRIMARY KEY (", "UNIQUE (", "FOREIGN KEY ("};
    buf_adds(&b, kinds[c->kind]);
    add_name_list(&b, c->cols, c->ncols);
    buf_addc(&b, ')');
    if (c->kind == SC_FOREIGN_KEY) {
        buf_adds(&b, " REFERENCES ");
        addq(&b, c->ref_table);
        buf_adds(&b, " (");
        add_name_list(&b, c->ref_cols, c->nref);
        buf_addc(&b, ')');
        buf_adds(&b, delete_clause(c->rule));
        if (c->rule == ON_DELETE_SET_NULL && c->nnull) {
            /* PostgreSQL 15's column list: clear only the reference, not the
             * tenant column it shares with the row's own tenancy. */
            buf_adds(&b, " (");
            add_name_list(&b, c->null_cols, c->nnull);
            buf_addc(&b, ')');
        }
    }
    return buf_take(&b);
}

static const char *kind_word(scon_kind k)
{
    return k == SC_PRIMARY_KEY ? "primary key" : k == SC_UNIQUE ? "unique constraint" : "foreign key";
}

/* ---- pairing ------------------------------------------------------------------- */

static size_t from_index(const schema *s, const char *name)
{
    for (size_t i = 0; i < s->ntables; i++)
        if (strcmp(s->tables[i].name, name) == 0)
            return i;
    return NONE;
}

static void pair_tables(differ *x)
{
    x->pairs = xcalloc(x->to->ntables ? x->to->ntables : 1, sizeof *x->pairs);
    x->from_pair = xmalloc((x->from->ntables ? x->from->ntables : 1) * sizeof *x->from_pair);
    for (size_t i = 0; i < x->from->ntables; i++)
        x->from_pair[i] = NONE;
    for (size_t i = 0; i < x->to->ntables; i++) {
        const stable *t = &x->to->tables[i];
        x->pairs[i].t = t;
        const char *old = table_renamed_from(x->rn, t->name);
        size_t fi = from_index(x->from, old ? old : t->name);
        if (fi == NONE || x->from_pair[fi] != NONE)
            continue;
        pair *p = &x->pairs[i];
        p->f = &x->from->tables[fi];
        p->t = t;
        x->from_pair[fi] = i;
        p->f_to_t = xmalloc((p->f->ncols ? p->f->ncols : 1) * sizeof *p->f_to_t);
        p->t_to_f = xmalloc((t->ncols ? t->ncols : 1) * sizeof *p->t_to_f);
        for (size_t c = 0; c < p->f->ncols; c++)
            p->f_to_t[c] = NONE;
        for (size_t c = 0; c < t->ncols; c++) {
            const char *oldc = column_renamed_from(x->rn, t->name, t->cols[c].name);
            size_t fc = stable_column_index(p->f, oldc ? oldc : t->cols[c].name);
            if (fc != NONE && p->f_to_t[fc] != NONE)
                fc = NONE;
            p->t_to_f[c] = fc;
            if (fc != NONE)
                p->f_to_t[fc] = c;
        }
    }
}

static void free_pairs(differ *x)
{
    for (size_t i = 0; i < x->to->ntables; i++) {
        free(x->pairs[i].f_to_t);
        free(x->pairs[i].t_to_f);
    }
    free(x->pairs);
    free(x->from_pair);
}

/* The pair of the from-table named name, or NULL when it is dropped. */
static const pair *pair_of_from(const differ *x, const char *name)
{
    size_t fi = from_index(x->from, name);
    if (fi == NONE || x->from_pair[fi] == NONE)
        return NULL;
    return &x->pairs[x->from_pair[fi]];
}

/* A from-constraint in to's names, or false when a column or table it
 * names does not survive. */
static bool translate(const differ *x, const pair *p, const sconstraint *c, sconstraint *out)
{
    memset(out, 0, sizeof *out);
    out->kind = c->kind;
    out->name = xstrdup(c->name);
    out->rule = c->rule;
    bool ok = true;
    for (size_t i = 0; i < c->ncols && ok; i++) {
        size_t fc = stable_column_index(p->f, c->cols[i]);
        ok = fc != NONE && p->f_to_t[fc] != NONE;
        if (ok)
            sconstraint_add_col(out, p->t->cols[p->f_to_t[fc]].name);
    }
    for (size_t i = 0; i < c->nnull && ok; i++) {
        size_t fc = stable_column_index(p->f, c->null_cols[i]);
        ok = fc != NONE && p->f_to_t[fc] != NONE;
        if (ok)
            sconstraint_add_null_col(out, p->t->cols[p->f_to_t[fc]].name);
    }
    if (ok && c->kind == SC_FOREIGN_KEY) {
        const pair *rp = pair_of_from(x, c->ref_table);
        ok = rp != NULL;
        if (ok)
            out->ref_table = xstrdup(rp->t->name);
        for (size_t i = 0; i < c->nref && ok; i++) {
            size_t fc = stable_column_index(rp->f, c->ref_cols[i]);
            ok = fc != NONE && rp->f_to_t[fc] != NONE;
            if (ok)
                sconstraint_add_ref_col(out, rp->t->cols[rp->f_to_t[fc]].name);
        }
    }
    return ok;
}

static bool same_names(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

/* Same constraint, whatever its name. */
static bool same_constraint(const sconstraint *a, const sconstraint *b)
{
    if (a->kind != b->kind || !same_names(a->cols, a->ncols, b->cols, b->ncols))
        return false;
    if (a->kind != SC_FOREIGN_KEY)
        return true;
    return strcmp(a->ref_table, b->ref_table) == 0 && same_names(a->ref_cols, a->nref, b->ref_cols, b->nref) &&
           a->rule == b->rule && same_names(a->null_cols, a->nnull, b->null_cols, b->nnull);
}

/* ---- types --------------------------------------------------------------------- */

typedef enum retype { RT_SAME, RT_WIDEN, RT_CAST, RT_NARROW, RT_SERIAL, RT_UNSUPPORTED } retype;

static int int_rank(sqltype_kind k)
{
    return k == ST_SMALLINT ? 1 : k == ST_INTEGER ? 2 : k == ST_BIGINT ? 3 : 0;
}

/* Digits an integer type needs left of the point. */
static int int_digits(sqltype_kind k)
{
    return k == ST_SMALLINT ? 5 : k == ST_INTEGER ? 10 : 19;
}

static bool textual(sqltype_kind k)
{
    return k == ST_TEXT || k == ST_VARCHAR;
}

/*
 * How a column changes type.  RT_WIDEN keeps every value and needs no
 * cast; RT_CAST keeps every value through an explicit cast (anything to
 * text); RT_NARROW may refuse or change values (destructive); RT_SERIAL is
 * serial <-> bigserial; *using says whether ALTER TYPE needs USING.
 */
static retype classify(const char *from_text, const char *to_text, bool *using)
{
    sqltype a, b;
    char why[256];
    *using = false;
    if (strcmp(from_text, to_text) == 0)
        return RT_SAME;
    if (!sqltype_parse(from_text, &a, why, sizeof why) || !sqltype_parse(to_text, &b, why, sizeof why))
        return RT_UNSUPPORTED;
    bool serial_a = a.kind == ST_SERIAL || a.kind == ST_BIGSERIAL;
    bool serial_b = b.kind == ST_SERIAL || b.kind == ST_BIGSERIAL;
    if (serial_a || serial_b)
        return serial_a && serial_b ? RT_SERIAL : RT_UNSUPPORTED;
    if (int_rank(a.kind) && int_rank(b.kind))
        return int_rank(b.kind) > int_rank(a.kind) ? RT_WIDEN : RT_NARROW;
    if (a.kind == ST_REAL && b.kind == ST_DOUBLE)
        return RT_WIDEN;
    if (a.kind == ST_DOUBLE && b.kind == ST_REAL)
        return RT_NARROW;
    if (int_rank(a.kind) && b.kind == ST_NUMERIC)
        return b.precision < 0 || b.precision - (b.scale < 0 ? 0 : b.scale) >= int_digits(a.kind) ? RT_WIDEN
                                                                                                 : RT_NARROW;
    if (a.kind == ST_NUMERIC && b.kind == ST_NUMERIC) {
        if (b.precision < 0)
            return RT_WIDEN;
        if (a.precision < 0)
            return RT_NARROW;
        int sa = a.scale < 0 ? 0 : a.scale, sb = b.scale < 0 ? 0 : b.scale;
        return sb >= sa && b.precision - sb >= a.precision - sa ? RT_WIDEN : RT_NARROW;
    }
    if (textual(a.kind) && textual(b.kind)) {
        if (b.kind == ST_TEXT)
            return RT_WIDEN;
        return a.kind == ST_VARCHAR && b.length >= a.length ? RT_WIDEN : RT_NARROW;
    }
    if (a.kind == ST_DATE && (b.kind == ST_TIMESTAMP || b.kind == ST_TIMESTAMPTZ))
        return RT_WIDEN;
    *using = true;
    return b.kind == ST_TEXT ? RT_CAST : RT_NARROW;
}

static bool is_serial_type(const char *type)
{
    return strcmp(type, "serial") == 0 || strcmp(type, "bigserial") == 0;
}

/* ---- multi-tenancy ---------------------------------------------------------- */

static bool is_tenant_default(const char *default_sql)
{
    return default_sql && !strcmp(default_sql, "current_org_id()");
}

/* A tenant column cannot be filled for rows that are already there: the
 * migration stops, with the reason, when there are such rows. */
static void tenant_guard(differ *x, change_phase phase, const char *tbl, const char *col, bool only_nulls,
                         dpos pos)
{
    char *qt = naming_sql_ident(tbl), *qc = naming_sql_ident(col);
    char *sql = only_nulls
        ? xasprintf("DO $dbont$ BEGIN IF EXISTS (SELECT 1 FROM %s WHERE %s IS NULL) THEN RAISE EXCEPTION "
                    "'table %s has rows without a tenant in %s: set it for each of them before this migration "
                    "(docs/multi-tenancy.md, \"Turning tenancy on\")'; END IF; END $dbont$",
                    qt, qc, tbl, col)
        : xasprintf("DO $dbont$ BEGIN IF EXISTS (SELECT 1 FROM %s) THEN RAISE EXCEPTION 'table %s has rows: "
                    "they need their tenant in %s before the table becomes multi-tenant; add the column "
                    "without db:multiTenant, fill it, then turn tenancy on (docs/multi-tenancy.md, \"Turning "
                    "tenancy on\")'; END IF; END $dbont$",
                    qt, tbl, col);
    char *slug = xasprintf("alter_%s", tbl);
    change_add(x, phase, false, pos, slug, sql, NULL, "check that %s has no row without a tenant", tbl);
    free(slug);
    free(qt);
    free(qc);
}

/*
 * The tenant type, schema-qualified, for the tenant function's body.  A
 * SQL function's body is parsed when it runs, in the caller's search_path,
 * and type names are looked up in pg_temp first: a bare ::uuid would let
 * the application role define its own "uuid" type, with casts that turn
 * any setting (or none) into another tenant.  (RETURNS is resolved once,
 * at CREATE FUNCTION; it is qualified too, for one spelling.)
 */
static char *qualified_type(const char *type)
{
    static const struct {
        const char *name, *qualified;
    } known[] = {{"uuid", "pg_catalog.uuid"}, {"text", "pg_catalog.text"}, {"smallint", "pg_catalog.int2"},
                 {"integer", "pg_catalog.int4"}, {"bigint", "pg_catalog.int8"}, {"varchar", "pg_catalog.varchar"}};
    size_t n = strcspn(type, "(");
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].name) == n && !strncmp(type, known[i].name, n))
            return xasprintf("%s%s", known[i].qualified, type + n);
    return xstrdup(type); /* check.c allows no other tenant type */
}

static char *policy_sql(const char *tbl, const spolicy *p)
{
    buf b;
    buf_init(&b);
    buf_adds(&b, "CREATE POLICY ");
    addq(&b, p->name);
    buf_adds(&b, " ON ");
    addq(&b, tbl);
    if (p->restrictive)
        buf_adds(&b, " AS RESTRICTIVE");
    buf_printf(&b, " FOR %s", p->command);
    if (p->using_sql)
        buf_printf(&b, " USING (%s)", p->using_sql);
    if (p->check_sql)
        buf_printf(&b, " WITH CHECK (%s)", p->check_sql);
    return buf_take(&b);
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_policy(const spolicy *a, const spolicy *b)
{
    return !strcmp(a->name, b->name) && !strcmp(a->command, b->command) && same_text(a->using_sql, b->using_sql) &&
           same_text(a->check_sql, b->check_sql) && a->restrictive == b->restrictive;
}

static void add_rls(differ *x, const stable *t, bool on, const char *slug)
{
    buf b;
    alter_start(&b, t->name, NULL);
    buf_adds(&b, on ? " ENABLE ROW LEVEL SECURITY" : " NO FORCE ROW LEVEL SECURITY");
    buf f;
    alter_start(&f, t->name, NULL);
    buf_adds(&f, on ? " FORCE ROW LEVEL SECURITY" : " DISABLE ROW LEVEL SECURITY");
    change_add(x, PH_RLS, false, t->pos, slug, buf_take(&b), NULL, "%s row-level security on %s",
               on ? "enable" : "stop forcing", t->name);
    change_add(x, PH_RLS, false, t->pos, slug, buf_take(&f), NULL, "%s row-level security on %s",
               on ? "force" : "disable", t->name);
}

/* GRANT (or REVOKE) the application role its rows of t, and the sequences
 * of t's serial columns it needs to insert. */
static void grant_table(differ *x, const stable *t, const char *role, bool grant, const char *slug)
{
    char *qt = naming_sql_ident(t->name), *qr = naming_sql_ident(role);
    if (grant)
        change_add(x, PH_GRANT, false, t->pos, slug,
                   xasprintf("GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %s", qt, qr), NULL,
                   "grant %s the rows of %s", role, t->name);
    else
        change_add(x, PH_GRANT, false, t->pos, slug,
                   xasprintf("REVOKE SELECT, INSERT, UPDATE, DELETE ON %s FROM %s", qt, qr), NULL,
                   "revoke %s's rights on %s", role, t->name);
    for (size_t c = 0; c < t->ncols; c++) {
        if (!is_serial_type(t->cols[c].type))
            continue;
        change_add(x, PH_GRANT, false, t->cols[c].pos, slug,
                   xasprintf("DO $dbont$ DECLARE s text := pg_catalog.pg_get_serial_sequence('%s', '%s'); BEGIN "
                             "IF s IS NOT NULL THEN EXECUTE format('%s USAGE, SELECT ON SEQUENCE %%s %s %s', s); "
                             "END IF; END $dbont$",
                             qt, t->cols[c].name, grant ? "GRANT" : "REVOKE", grant ? "TO" : "FROM", qr),
                   NULL, "%s %s the sequence of %s.%s", grant ? "grant" : "revoke", role, t->name, t->cols[c].name);
    }
    free(qt);
    free(qr);
}

static void tenant_functions(differ *x)
{
    const schema *f = x->from, *t = x->to;
    dpos none = {0};
    if (t->tenant_setting && f->tenant_setting && strcmp(t->tenant_type, f->tenant_type) != 0) {
        diag_error(x->d, none, "the tenant columns change type (%s to %s); that is not supported: the tenant "
                               "functions and every policy depend on it",
                   f->tenant_type, t->tenant_type);
        x->ok = false;
        return;
    }
    if (t->tenant_setting && (!f->tenant_setting || strcmp(f->tenant_setting, t->tenant_setting) != 0)) {
        /* Fail-closed: unset is NULL, and so is the '' that a finished
         * transaction-local set_config leaves behind (''::uuid would raise). */
        char *qt = qualified_type(t->tenant_type);
        change_add(x, PH_CREATE_FUNCTION, false, none, "tenant",
                   xasprintf("CREATE OR REPLACE FUNCTION current_org_id() RETURNS %s LANGUAGE sql STABLE AS "
                             "$dbont$ SELECT NULLIF(pg_catalog.current_setting('%s', true), '')::%s $dbont$",
                             qt, t->tenant_setting, qt),
                   NULL, "tenant function current_org_id() reads %s", t->tenant_setting);
        change_add(x, PH_CREATE_FUNCTION, false, none, "tenant",
                   xasprintf("CREATE OR REPLACE FUNCTION current_user_org_id() RETURNS %s LANGUAGE sql STABLE AS "
                             "$dbont$ SELECT current_org_id() $dbont$",
                             qt),
                   NULL, "tenant function current_user_org_id(), the reference design's other name");
        free(qt);
    }
    if (!t->tenant_setting && f->tenant_setting) {
        change_add(x, PH_DROP_FUNCTION, false, none, "tenant", xstrdup("DROP FUNCTION current_user_org_id()"), NULL,
                   "drop tenant function current_user_org_id()");
        change_add(x, PH_DROP_FUNCTION, false, none, "tenant", xstrdup("DROP FUNCTION current_org_id()"), NULL,
                   "drop tenant function current_org_id()");
    }
    if (t->app_role && (!f->app_role || strcmp(f->app_role, t->app_role) != 0)) {
        char *qr = naming_sql_ident(t->app_role);
        /* The role may exist (another database of the cluster); whatever
         * made it, it must not bypass row-level security or own tables.
         * Roles belong to the cluster: a migration of another database
         * may create it at the same moment, and the loser of that race
         * sees a unique violation, which means the role now exists. */
        change_add(x, PH_ROLE, false, none, "tenant",
                   xasprintf("DO $dbont$ BEGIN\n"
                             "  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '%s') THEN\n"
                             "    BEGIN\n"
                             "      CREATE ROLE %s LOGIN;\n"
                             "    EXCEPTION WHEN duplicate_object OR unique_violation THEN\n"
                             "      NULL;\n"
                             "    END;\n"
                             "  END IF;\n"
                             "  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE (r.rolsuper OR r.rolbypassrls) "
                             "AND pg_catalog.pg_has_role('%s', r.oid, 'MEMBER')) THEN\n"
                             "    RAISE EXCEPTION 'role %s bypasses row-level security (superuser or BYPASSRLS, or a "
                             "member of such a role): it cannot be the application role';\n"
                             "  END IF;\n"
                             "  IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE pg_catalog.pg_has_role('%s', "
                             "c.relowner, 'MEMBER')) THEN\n"
                             "    RAISE EXCEPTION 'role %s owns tables, or is a member of a role that does: the "
                             "application role must own nothing';\n"
                             "  END IF;\n"
                             "  EXECUTE format('GRANT USAGE ON SCHEMA %%I TO %s', current_schema());\n"
                             "END $dbont$",
                             t->app_role, qr, t->app_role, t->app_role, t->app_role, t->app_role, qr),
                   NULL, "application role %s (created when missing; must not bypass row-level security)",
                   t->app_role);
        free(qr);
    }
    bool functions_new = t->tenant_setting && (!f->tenant_setting || strcmp(f->tenant_setting, t->tenant_setting));
    bool role_new = t->app_role && (!f->app_role || strcmp(f->app_role, t->app_role));
    if (t->app_role && t->tenant_setting && (functions_new || role_new)) {
        char *qr = naming_sql_ident(t->app_role);
        change_add(x, PH_GRANT, false, none, "tenant",
                   xasprintf("GRANT EXECUTE ON FUNCTION current_org_id(), current_user_org_id() TO %s", qr), NULL,
                   "grant %s the tenant functions", t->app_role);
        free(qr);
    }
}

/* Row-level security, policies and grants of a table on both sides (p->f
 * NULL: a new table, whose security is part of its creation, also in the
 * migration's name). */
static void diff_security(differ *x, const stable *f, const stable *t)
{
    char *slug = xasprintf("%s_%s", f ? "alter" : "create", t->name);
    bool rls_before = f && f->rls;
    if (t->rls != rls_before)
        add_rls(x, t, t->rls, slug);
    for (size_t i = 0; f && i < f->npolicies; i++) {
        bool kept = false;
        for (size_t j = 0; j < t->npolicies && !kept; j++)
            kept = same_policy(&f->policies[i], &t->policies[j]);
        if (kept)
            continue;
        buf b;
        buf_init(&b);
        buf_adds(&b, "DROP POLICY ");
        addq(&b, f->policies[i].name);
        buf_adds(&b, " ON ");
        addq(&b, f->name);
        dpos none = {0};
        change_add(x, PH_DROP_POLICY, false, none, slug, buf_take(&b), NULL, "drop policy %s on %s",
                   f->policies[i].name, f->name);
    }
    for (size_t j = 0; j < t->npolicies; j++) {
        bool kept = false;
        for (size_t i = 0; f && i < f->npolicies && !kept; i++)
            kept = same_policy(&f->policies[i], &t->policies[j]);
        if (kept)
            continue;
        change_add(x, PH_CREATE_POLICY, false, t->pos, slug, policy_sql(t->name, &t->policies[j]), NULL,
                   "policy %s on %s, for %s", t->policies[j].name, t->name, t->policies[j].command);
    }
    /* Revoked on t's name: a rename comes before the grants. */
    const char *before = f ? f->grant_role : NULL;
    if (!same_text(before, t->grant_role)) {
        if (before)
            grant_table(x, t, before, false, slug);
        if (t->grant_role)
            grant_table(x, t, t->grant_role, true, slug);
    }
    free(slug);
}

/* ---- changes per phase ------------------------------------------------------------ */

static char *qualified(const char *tbl, const char *col)
{
    return xasprintf("%s.%s", tbl, col);
}

static void drop_constraint(differ *x, change_phase phase, const char *tbl, const sconstraint *c)
{
    buf b;
    alter_start(&b, tbl, NULL);
    buf_adds(&b, " DROP CONSTRAINT ");
    addq(&b, c->name);
    char *slug = xasprintf("alter_%s", tbl);
    dpos none = {0};
    change_add(x, phase, false, none, slug, buf_take(&b), NULL, "drop %s %s on %s", kind_word(c->kind), c->name,
               tbl);
    free(slug);
}

static void add_constraint(differ *x, change_phase phase, const char *tbl, const sconstraint *c, dpos pos)
{
    buf b;
    alter_start(&b, tbl, NULL);
    buf_adds(&b, " ADD CONSTRAINT ");
    addq(&b, c->name);
    buf_addc(&b, ' ');
    char *def = sconstraint_definition(c);
    buf_adds(&b, def);
    char *slug = xasprintf("alter_%s", tbl);
    change_add(x, phase, false, pos, slug, buf_take(&b), NULL, "add %s %s on %s: %s", kind_word(c->kind), c->name,
               tbl, def);
    free(def);
    free(slug);
}

char *scolumn_definition(const scolumn *c)
{
    buf b;
    buf_init(&b);
    addq(&b, c->name);
    buf_printf(&b, " %s", c->type);
    if (c->not_null)
        buf_adds(&b, " NOT NULL");
    if (c->default_sql)
        buf_printf(&b, " DEFAULT (%s)", c->default_sql);
    return buf_take(&b);
}


/* The changes to one column that exists on both sides. */
static void alter_column(differ *x, const stable *t, const scolumn *fc, const scolumn *tc)
{
    bool using;
    retype rt = classify(fc->type, tc->type, &using);
    char *qn = qualified(t->name, tc->name);
    char *slug = xasprintf("alter_%s_%s", t->name, tc->name);
    bool default_changed = (fc->default_sql == NULL) != (tc->default_sql == NULL) ||
                           (fc->default_sql && strcmp(fc->default_sql, tc->default_sql) != 0);
    if (rt == RT_UNSUPPORTED) {
        diag_error(x->d, tc->type_pos, "changing column %s from %s to %s is not supported (a column cannot "
                                       "become or stop being serial); add a new column instead",
                   qn, fc->type, tc->type);
        x->ok = false;
        free(qn);
        free(slug);
        return;
    }
    if (rt != RT_SAME) {
        /* A default may not convert to the new type: drop it first, set the
         * new one after. */
        if (fc->default_sql) {
            buf b;
            alter_start(&b, t->name, tc->name);
            buf_adds(&b, " DROP DEFAULT");
            change_add(x, PH_ALTER_COLUMN, false, tc->pos, slug, buf_take(&b), NULL, "drop default of %s", qn);
        }
        sqltype to_type;
        char why[256];
        sqltype_parse(tc->type, &to_type, why, sizeof why);
        char *value_type = sqltype_value_sql(&to_type);
        buf b;
        alter_start(&b, t->name, tc->name);
        buf_printf(&b, " TYPE %s", value_type);
        if (using) {
            buf_adds(&b, " USING ");
            addq(&b, tc->name);
            buf_printf(&b, "::%s", value_type);
        }
        bool narrow = rt == RT_NARROW || (rt == RT_SERIAL && strcmp(tc->type, "serial") == 0);
        char *note = narrow ? xasprintf("DESTRUCTIVE: narrowing %s from %s to %s may change or refuse "
                                        "its values",
                                        qn, fc->type, tc->type)
                            : NULL;
        change_add(x, PH_ALTER_COLUMN, narrow, tc->type_pos, slug, buf_take(&b), note, "change type of %s from %s to %s",
                   qn, fc->type, tc->type);
        if (rt == RT_SERIAL) {
            /* The sequence behind a serial column has its own type. */
            buf s;
            buf_init(&s);
            char *tname = naming_sql_ident(t->name);
            buf_printf(&s,
                       "DO $dbont$ BEGIN EXECUTE format('ALTER SEQUENCE %%s AS %s', "
                       "pg_get_serial_sequence('%s', '%s')); END $dbont$",
                       value_type, tname, tc->name);
            free(tname);
            change_add(x, PH_ALTER_COLUMN, false, tc->type_pos, slug, buf_take(&s), NULL,
                       "change the sequence of %s to %s", qn, value_type);
        }
        free(value_type);
        if (tc->default_sql) {
            buf d;
            alter_start(&d, t->name, tc->name);
            buf_printf(&d, " SET DEFAULT (%s)", tc->default_sql);
            change_add(x, PH_ALTER_COLUMN, false, tc->pos, slug, buf_take(&d), NULL, "set default of %s to %s", qn,
                       tc->default_sql);
        }
    } else if (default_changed && !is_serial_type(tc->type)) {
        buf b;
        alter_start(&b, t->name, tc->name);
        if (tc->default_sql) {
            buf_printf(&b, " SET DEFAULT (%s)", tc->default_sql);
            change_add(x, PH_ALTER_COLUMN, false, tc->pos, slug, buf_take(&b), NULL, "set default of %s to %s", qn,
                       tc->default_sql);
        } else {
            buf_adds(&b, " DROP DEFAULT");
            change_add(x, PH_ALTER_COLUMN, false, tc->pos, slug, buf_take(&b), NULL, "drop default of %s", qn);
        }
    }
    if (fc->not_null && !tc->not_null) {
        buf b;
        alter_start(&b, t->name, tc->name);
        buf_adds(&b, " DROP NOT NULL");
        change_add(x, PH_ALTER_COLUMN, false, tc->nullable_pos, slug, buf_take(&b), NULL, "make %s nullable", qn);
    } else if (!fc->not_null && tc->not_null) {
        if (is_tenant_default(tc->default_sql)) {
            /* the session's tenant is no value to fill old rows with */
            tenant_guard(x, PH_ALTER_COLUMN, t->name, tc->name, true, tc->nullable_pos);
        } else if (tc->default_sql) {
            /* NULLs take the default, so NOT NULL can hold. */
            buf u;
            buf_init(&u);
            buf_adds(&u, "UPDATE ");
            addq(&u, t->name);
            buf_adds(&u, " SET ");
            addq(&u, tc->name);
            buf_printf(&u, " = (%s) WHERE ", tc->default_sql);
            addq(&u, tc->name);
            buf_adds(&u, " IS NULL");
            char *note = xasprintf("DESTRUCTIVE: the NULLs in %s become its default, %s", qn, tc->default_sql);
            change_add(x, PH_ALTER_COLUMN, true, tc->nullable_pos, slug, buf_take(&u), note,
                       "replace the NULLs in %s by its default", qn);
        }
        buf b;
        alter_start(&b, t->name, tc->name);
        buf_adds(&b, " SET NOT NULL");
        char *note = tc->default_sql ? NULL
                                     : xasprintf("DESTRUCTIVE: fails if %s holds NULLs; a db:default "
                                                 "would fill them",
                                                 qn);
        change_add(x, PH_ALTER_COLUMN, true, tc->nullable_pos, slug, buf_take(&b), note, "make %s NOT NULL", qn);
    }
    free(qn);
    free(slug);
}

/* Index of the pair whose to-table is named name, or NONE. */
static size_t to_index(const schema *s, const char *name)
{
    return from_index(s, name);
}

/* Dropped tables, those that reference another dropped table first; an
 * unbreakable cycle has its foreign keys dropped in phase 1. */
static void drop_tables(differ *x)
{
    size_t n = x->from->ntables;
    bool *gone = xcalloc(n ? n : 1, sizeof *gone);
    for (size_t i = 0; i < n; i++)
        gone[i] = x->from_pair[i] != NONE; /* kept tables are not dropped */
    for (;;) {
        size_t pick = NONE;
        for (size_t i = 0; i < n && pick == NONE; i++) {
            if (gone[i])
                continue;
            bool referenced = false;
            for (size_t j = 0; j < n && !referenced; j++) {
                if (gone[j] || j == i)
                    continue;
                const stable *o = &x->from->tables[j];
                for (size_t k = 0; k < o->ncons && !referenced; k++)
                    referenced = o->cons[k].kind == SC_FOREIGN_KEY &&
                                 strcmp(o->cons[k].ref_table, x->from->tables[i].name) == 0;
            }
            if (!referenced)
                pick = i;
        }
        if (pick == NONE) {
            for (size_t i = 0; i < n && pick == NONE; i++)
                if (!gone[i])
                    pick = i;
            if (pick == NONE)
                break;
            /* a cycle: drop the references to it from the tables still here */
            for (size_t j = 0; j < n; j++) {
                const stable *o = &x->from->tables[j];
                if (gone[j] || j == pick)
                    continue;
                for (size_t k = 0; k < o->ncons; k++)
                    if (o->cons[k].kind == SC_FOREIGN_KEY &&
                        strcmp(o->cons[k].ref_table, x->from->tables[pick].name) == 0)
                        drop_constraint(x, PH_DROP_FK, o->name, &o->cons[k]);
            }
        }
        gone[pick] = true;
        const stable *t = &x->from->tables[pick];
        buf b;
        buf_init(&b);
        buf_adds(&b, "DROP TABLE ");
        addq(&b, t->name);
        char *slug = xasprintf("drop_%s", t->name);
        dpos none = {0};
        change_add(x, PH_DROP_TABLE, true, none, slug, buf_take(&b),
                   xasprintf("DESTRUCTIVE: destroys table %s and every row in it", t->name), "drop table %s",
                   t->name);
        free(slug);
    }
    free(gone);
}

/* New tables, referenced ones first; a reference to a table created later
 * in the same migration becomes an ALTER TABLE in phase 12. */
static void create_tables(differ *x)
{
    size_t n = x->to->ntables;
    bool *done = xcalloc(n ? n : 1, sizeof *done);
    for (size_t i = 0; i < n; i++)
        done[i] = x->pairs[i].f != NULL;
    for (;;) {
        size_t pick = NONE;
        for (size_t i = 0; i < n && pick == NONE; i++) {
            if (done[i])
                continue;
            const stable *t = &x->to->tables[i];
            bool ready = true;
            for (size_t k = 0; k < t->ncons && ready; k++) {
                if (t->cons[k].kind != SC_FOREIGN_KEY || strcmp(t->cons[k].ref_table, t->name) == 0)
                    continue;
                size_t r = to_index(x->to, t->cons[k].ref_table);
                ready = r == NONE || done[r];
            }
            if (ready)
                pick = i;
        }
        if (pick == NONE)
            for (size_t i = 0; i < n && pick == NONE; i++)
                if (!done[i])
                    pick = i;
        if (pick == NONE)
            break;
        done[pick] = true;
        const stable *t = &x->to->tables[pick];
        char *slug = xasprintf("create_%s", t->name);
        change_add(x, PH_CREATE_TABLE, false, t->pos, slug, NULL, NULL, "create table %s", t->name);
        free(slug);
        change *ch = &x->out->v[x->out->n - 1];
        ch->create = t;
        ch->inline_fk = xcalloc(t->ncons ? t->ncons : 1, sizeof *ch->inline_fk);
        for (size_t k = 0; k < t->ncons; k++) {
            const sconstraint *c = &t->cons[k];
            if (c->kind != SC_FOREIGN_KEY) {
                ch->inline_fk[k] = true;
                continue;
            }
            size_t r = to_index(x->to, c->ref_table);
            ch->inline_fk[k] = r == NONE || done[r];
            if (!ch->inline_fk[k])
                add_constraint(x, PH_ADD_FK, t->name, c, t->pos);
        }
    }
    free(done);
}

/* Columns, constraints and renames of a table that exists on both sides. */
static void alter_table(differ *x, const pair *p)
{
    const stable *f = p->f, *t = p->t;
    if (strcmp(f->name, t->name) != 0) {
        buf b;
        alter_start(&b, f->name, NULL);
        buf_adds(&b, " RENAME TO ");
        addq(&b, t->name);
        char *slug = xasprintf("rename_%s", f->name);
        change_add(x, PH_RENAME_TABLE, false, t->pos, slug, buf_take(&b), NULL, "rename table %s to %s", f->name,
                   t->name);
        free(slug);
    }
    for (size_t c = 0; c < t->ncols; c++) {
        size_t fc = p->t_to_f[c];
        if (fc == NONE || strcmp(f->cols[fc].name, t->cols[c].name) == 0)
            continue;
        buf b;
        alter_start(&b, t->name, NULL);
        buf_adds(&b, " RENAME COLUMN ");
        addq(&b, f->cols[fc].name);
        buf_adds(&b, " TO ");
        addq(&b, t->cols[c].name);
        char *slug = xasprintf("rename_%s_%s", t->name, f->cols[fc].name);
        change_add(x, PH_RENAME_COLUMN, false, t->cols[c].pos, slug, buf_take(&b), NULL,
                   "rename column %s.%s to %s", t->name, f->cols[fc].name, t->cols[c].name);
        free(slug);
    }
    for (size_t c = 0; c < f->ncols; c++) {
        if (p->f_to_t[c] != NONE)
            continue;
        buf b;
        alter_start(&b, t->name, NULL);
        buf_adds(&b, " DROP COLUMN ");
        addq(&b, f->cols[c].name);
        char *slug = xasprintf("drop_%s_%s", t->name, f->cols[c].name);
        change_add(x, PH_DROP_COLUMN, true, t->pos, slug, buf_take(&b),
                   xasprintf("DESTRUCTIVE: destroys the values of %s.%s", t->name, f->cols[c].name),
                   "drop column %s.%s", t->name, f->cols[c].name);
        free(slug);
    }
    for (size_t c = 0; c < t->ncols; c++) {
        const scolumn *tc = &t->cols[c];
        if (p->t_to_f[c] != NONE)
            continue;
        buf b;
        alter_start(&b, t->name, NULL);
        buf_adds(&b, " ADD COLUMN ");
        char *def = scolumn_definition(tc);
        buf_adds(&b, def);
        free(def);
        char *note = tc->not_null && !tc->default_sql && !is_serial_type(tc->type)
                         ? xasprintf("fails if %s has rows: a new NOT NULL column needs a db:default", t->name)
                         : NULL;
        if (tc->not_null && is_tenant_default(tc->default_sql))
            tenant_guard(x, PH_ADD_COLUMN, t->name, tc->name, false, tc->pos);
        char *slug = xasprintf("add_%s_%s", t->name, tc->name);
        change_add(x, PH_ADD_COLUMN, false, tc->pos, slug, buf_take(&b), note, "add column %s.%s %s%s", t->name,
                   tc->name, tc->type, tc->not_null ? " NOT NULL" : "");
        free(slug);
    }
}

static bool any_retyped(const differ *x, const char *to_table, char *const *cols, size_t n)
{
    size_t i = to_index(x->to, to_table);
    if (i == NONE || !x->pairs[i].f)
        return false;
    const pair *p = &x->pairs[i];
    for (size_t k = 0; k < n; k++) {
        size_t c = stable_column_index(p->t, cols[k]);
        if (c != NONE && p->t_to_f[c] != NONE && strcmp(p->f->cols[p->t_to_f[c]].type, p->t->cols[c].type) != 0)
            return true;
    }
    return false;
}

/* Constraints of the tables that exist on both sides. */
static void diff_constraints(differ *x)
{
    size_t nt = x->to->ntables;
    /* kept[i][k]: constraint k of to-table i survives from `from`. */
    bool **kept = xcalloc(nt ? nt : 1, sizeof *kept);
    /* keys dropped (in to's names), for the foreign keys that use them */
    schema dropped_keys;
    schema_init(&dropped_keys);
    for (size_t i = 0; i < nt; i++) {
        const pair *p = &x->pairs[i];
        kept[i] = xcalloc(p->t->ncons ? p->t->ncons : 1, sizeof **kept);
        if (!p->f)
            continue;
        for (size_t k = 0; k < p->f->ncons; k++) {
            const sconstraint *fc = &p->f->cons[k];
            sconstraint tr;
            size_t match = NONE;
            if (translate(x, p, fc, &tr))
                for (size_t j = 0; j < p->t->ncons && match == NONE; j++)
                    if (!kept[i][j] && same_constraint(&tr, &p->t->cons[j]))
                        match = j;
            bool force = false;
            if (match != NONE && fc->kind == SC_FOREIGN_KEY)
                force = any_retyped(x, p->t->name, tr.cols, tr.ncols) ||
                        any_retyped(x, tr.ref_table, tr.ref_cols, tr.nref);
            if (match != NONE && !force) {
                kept[i][match] = true;
                if (strcmp(fc->name, p->t->cons[match].name) != 0) {
                    buf b;
                    alter_start(&b, p->t->name, NULL);
                    buf_adds(&b, " RENAME CONSTRAINT ");
                    addq(&b, fc->name);
                    buf_adds(&b, " TO ");
                    addq(&b, p->t->cons[match].name);
                    char *slug = xasprintf("rename_%s_%s", p->t->name, fc->name);
                    change_add(x, PH_RENAME_CONSTRAINT, false, p->t->pos, slug, buf_take(&b), NULL,
                               "rename %s %s on %s to %s", kind_word(fc->kind), fc->name, p->t->name,
                               p->t->cons[match].name);
                    free(slug);
                }
            } else {
                drop_constraint(x, fc->kind == SC_FOREIGN_KEY ? PH_DROP_FK : PH_DROP_KEY, p->f->name, fc);
                if (fc->kind != SC_FOREIGN_KEY && tr.ncols == fc->ncols) {
                    stable *dk = schema_table(&dropped_keys, p->t->name);
                    if (!dk)
                        dk = schema_add_table(&dropped_keys, p->t->name);
                    GROW(dk->cons, dk->cons_cap, dk->ncons);
                    sconstraint_copy(&tr, &dk->cons[dk->ncons++]);
                }
            }
            sconstraint_free(&tr);
        }
    }
    /* A foreign key kept as it was must still be rebuilt when the key it
     * references is dropped: PostgreSQL will not drop a key in use. */
    for (size_t i = 0; i < nt; i++) {
        const pair *p = &x->pairs[i];
        if (!p->f)
            continue;
        for (size_t j = 0; j < p->t->ncons; j++) {
            const sconstraint *c = &p->t->cons[j];
            if (!kept[i][j] || c->kind != SC_FOREIGN_KEY)
                continue;
            const stable *dk = schema_table(&dropped_keys, c->ref_table);
            bool uses = false;
            for (size_t k = 0; dk && k < dk->ncons && !uses; k++)
                uses = same_names(dk->cons[k].cols, dk->cons[k].ncols, c->ref_cols, c->nref);
            if (!uses)
                continue;
            kept[i][j] = false;
            /* the from-side name: the one it has before this migration */
            for (size_t k = 0; k < p->f->ncons; k++) {
                sconstraint tr;
                if (translate(x, p, &p->f->cons[k], &tr) && same_constraint(&tr, c))
                    drop_constraint(x, PH_DROP_FK, p->f->name, &p->f->cons[k]);
                sconstraint_free(&tr);
            }
        }
    }
    for (size_t i = 0; i < nt; i++) {
        const pair *p = &x->pairs[i];
        if (!p->f)
            continue;
        for (size_t j = 0; j < p->t->ncons; j++)
            if (!kept[i][j])
                add_constraint(x, p->t->cons[j].kind == SC_FOREIGN_KEY ? PH_ADD_FK : PH_ADD_KEY, p->t->name,
                               &p->t->cons[j], p->t->pos);
    }
    for (size_t i = 0; i < nt; i++)
        free(kept[i]);
    free(kept);
    schema_free(&dropped_keys);
}

/* ---- indexes ----------------------------------------------------------------- */

static char *index_sql(const char *tbl, const sindex *ix, bool concurrently)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "CREATE %sINDEX %s", ix->unique ? "UNIQUE " : "", concurrently ? "CONCURRENTLY IF NOT EXISTS " : "");
    addq(&b, ix->name);
    buf_adds(&b, " ON ");
    addq(&b, tbl);
    char *def = sindex_definition(ix);
    buf_printf(&b, " %s", def);
    free(def);
    return buf_take(&b);
}

/* An index of a partitioned table that exists: PostgreSQL cannot build it
 * CONCURRENTLY on the parent (0A000), so it is made ON ONLY the parent
 * (invalid, in the transaction), then dbont-migrate builds it CONCURRENTLY
 * on each partition and attaches each one, after which the parent's is
 * valid. */
static void create_partitioned_index(differ *x, const char *tbl, const sindex *ix)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "CREATE %sINDEX IF NOT EXISTS ", ix->unique ? "UNIQUE " : "");
    addq(&b, ix->name);
    buf_adds(&b, " ON ONLY ");
    addq(&b, tbl);
    char *def = sindex_definition(ix);
    buf_printf(&b, " %s", def);
    free(def);
    char *slug = xasprintf("index_%s", tbl);
    change_add(x, PH_CREATE_INDEX, false, ix->pos, slug, buf_take(&b), NULL,
               "create %sindex %s on %s only (its partitions' indexes follow)", ix->unique ? "unique " : "", ix->name,
               tbl);
    change_add(x, PH_CREATE_INDEX_CONCURRENTLY, false, ix->pos, slug, NULL, NULL,
               "build index %s on each partition of %s (concurrently, outside the transaction) and attach it",
               ix->name, tbl);
    change *ch = &x->out->v[x->out->n - 1];
    ch->no_transaction = true;
    ch->partition_indexes = true;
    ch->index_name = xstrdup(ix->name);
    ch->table = xstrdup(tbl);
    free(slug);
}

static void create_index(differ *x, const char *tbl, const sindex *ix, bool concurrently)
{
    /* with its new table, an index is part of creating it */
    char *slug = xasprintf("%s_%s", concurrently ? "index" : "create", tbl);
    change_add(x, concurrently ? PH_CREATE_INDEX_CONCURRENTLY : PH_CREATE_INDEX, false, ix->pos, slug,
               index_sql(tbl, ix, concurrently), NULL, "create %sindex %s on %s%s", ix->unique ? "unique " : "",
               ix->name, tbl, concurrently ? " (concurrently, outside the transaction)" : "");
    if (concurrently) {
        x->out->v[x->out->n - 1].no_transaction = true;
        x->out->v[x->out->n - 1].index_name = xstrdup(ix->name);
    }
    free(slug);
}

static void drop_index(differ *x, change_phase phase, const char *tbl, const char *name, bool partitioned)
{
    buf b;
    buf_init(&b);
    if (partitioned) {
        /* no CONCURRENTLY for a partitioned index: a short lock instead */
        buf_adds(&b, "DROP INDEX IF EXISTS ");
        addq(&b, name);
        char *slug = xasprintf("index_%s", tbl);
        dpos none = {0};
        change_add(x, PH_DROP_KEY, false, none, slug, buf_take(&b), NULL, "drop index %s on %s and its partitions",
                   name, tbl);
        free(slug);
        return;
    }
    buf_adds(&b, "DROP INDEX CONCURRENTLY IF EXISTS ");
    addq(&b, name);
    char *slug = xasprintf("index_%s", tbl);
    dpos none = {0};
    change_add(x, phase, false, none, slug, buf_take(&b), NULL,
               "drop index %s on %s (concurrently, outside the transaction)", name, tbl);
    x->out->v[x->out->n - 1].no_transaction = true;
    free(slug);
}

/* A from-index in to's column names, or false when a column it indexes
 * does not survive (PostgreSQL then dropped it with the column). */
static bool translate_index(const pair *p, const sindex *in, sindex *out)
{
    memset(out, 0, sizeof *out);
    out->name = in->name;
    out->method = in->method;
    out->unique = in->unique;
    out->language = in->language;
    out->predicate = in->predicate;
    out->ncols = in->ncols;
    out->cols = xcalloc(in->ncols ? in->ncols : 1, sizeof *out->cols);
    for (size_t i = 0; i < in->ncols; i++) {
        size_t fc = stable_column_index(p->f, in->cols[i]);
        if (fc == NONE || p->f_to_t[fc] == NONE)
            return false;
        out->cols[i] = p->t->cols[p->f_to_t[fc]].name;
    }
    return true;
}

/* Indexes are matched by what they index, so a rename of their table or
 * column (which renames them) is an ALTER INDEX ... RENAME, not a
 * rebuild; an index whose definition changed is built anew before the old
 * one goes, unless it keeps its name (then the old one goes first). */
static void diff_indexes(differ *x, const pair *p)
{
    const stable *f = p->f, *t = p->t;
    if (!f) {
        for (size_t j = 0; j < t->nindexes; j++)
            create_index(x, t->name, &t->indexes[j], false);
        return;
    }
    sindex *tr = xcalloc(f->nindexes ? f->nindexes : 1, sizeof *tr);
    bool *alive = xcalloc(f->nindexes ? f->nindexes : 1, sizeof *alive);
    bool *used = xcalloc(f->nindexes ? f->nindexes : 1, sizeof *used);
    for (size_t k = 0; k < f->nindexes; k++)
        alive[k] = translate_index(p, &f->indexes[k], &tr[k]);
    for (size_t j = 0; j < t->nindexes; j++) {
        const sindex *ti = &t->indexes[j];
        size_t match = NONE;
        for (size_t k = 0; k < f->nindexes && match == NONE; k++)
            if (alive[k] && !used[k] && !strcmp(f->indexes[k].name, ti->name) && sindex_same(&tr[k], ti))
                match = k;
        for (size_t k = 0; k < f->nindexes && match == NONE; k++)
            if (alive[k] && !used[k] && sindex_same(&tr[k], ti) && !stable_index(f, ti->name) &&
                !stable_index(t, f->indexes[k].name))
                match = k;
        if (match != NONE) {
            used[match] = true;
            if (strcmp(f->indexes[match].name, ti->name)) {
                buf b;
                buf_init(&b);
                buf_adds(&b, "ALTER INDEX ");
                addq(&b, f->indexes[match].name);
                buf_adds(&b, " RENAME TO ");
                addq(&b, ti->name);
                char *slug = xasprintf("index_%s", t->name);
                change_add(x, PH_RENAME_CONSTRAINT, false, ti->pos, slug, buf_take(&b), NULL,
                           "rename index %s to %s", f->indexes[match].name, ti->name);
                free(slug);
            }
            continue;
        }
        for (size_t k = 0; k < f->nindexes; k++)
            if (!used[k] && !strcmp(f->indexes[k].name, ti->name)) {
                used[k] = true;
                drop_index(x, PH_DROP_INDEX_REUSED, t->name, ti->name, t->partition_key != NULL);
            }
        if (t->partition_key)
            create_partitioned_index(x, t->name, ti);
        else
            create_index(x, t->name, ti, true);
    }
    for (size_t k = 0; k < f->nindexes; k++)
        if (alive[k] && !used[k])
            drop_index(x, PH_DROP_INDEX, t->name, f->indexes[k].name, t->partition_key != NULL);
    for (size_t k = 0; k < f->nindexes; k++)
        free(tr[k].cols);
    free(tr);
    free(alive);
    free(used);
}

/* ---- cache triggers (dbont/cache.h) ----------------------------------------------- */

static bool has_cache_triggers(const schema *s)
{
    for (size_t i = 0; i < s->ntables; i++)
        if (s->tables[i].cache_entity)
            return true;
    return false;
}

static char *trigger_name(const char *tbl)
{
    char *name = xasprintf("%s_dbont_cache", tbl);
    char *q = naming_sql_ident(name);
    free(name);
    return q;
}

static void cache_trigger(differ *x, const stable *t, bool create, const char *tbl)
{
    char *trig = trigger_name(tbl), *qt = naming_sql_ident(tbl);
    char *slug = xstrdup("cache_triggers");
    dpos none = {0};
    if (create) {
        char *args = t->cache_tenant ? xasprintf("'%s', '%s'", t->cache_entity, t->cache_tenant)
                                     : xasprintf("'%s'", t->cache_entity);
        change_add(x, PH_GRANT, false, t->pos, slug,
                   xasprintf("CREATE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION "
                             "dbont_cache_notify(%s)",
                             trig, qt, args),
                   NULL, "writes to %s notify the query cache (%s:created, :updated, :deleted)", tbl,
                   t->cache_entity);
        free(args);
    } else {
        change_add(x, PH_DROP_POLICY, false, none, slug, xasprintf("DROP TRIGGER IF EXISTS %s ON %s", trig, qt),
                   NULL, "writes to %s stop notifying the query cache", tbl);
    }
    free(slug);
    free(trig);
    free(qt);
}

static bool same_cache(const stable *a, const stable *b)
{
    return !strcmp(a->name, b->name) && same_text(a->cache_entity, b->cache_entity) &&
           same_text(a->cache_tenant, b->cache_tenant);
}

/* A trigger per table whose events a cacheable query waits for: writes
 * from anywhere (psql, another program) invalidate through pg_notify. */
static void diff_cache_triggers(differ *x)
{
    const schema *f = x->from, *t = x->to;
    dpos none = {0};
    bool before = has_cache_triggers(f), after = has_cache_triggers(t);
    if (after && !before)
        change_add(x, PH_CREATE_FUNCTION, false, none, "cache_triggers",
                   xstrdup("CREATE OR REPLACE FUNCTION dbont_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $dbont$\n"
                           "DECLARE\n"
                           "  tenant text := '';\n"
                           "BEGIN\n"
                           "  IF TG_NARGS > 1 THEN\n"
                           "    tenant := coalesce(pg_catalog.to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END) "
                           "->> TG_ARGV[1], '');\n"
                           "  END IF;\n"
                           "  PERFORM pg_catalog.pg_notify('dbont_cache', tenant || E'\\t' || TG_ARGV[0] || ':' ||\n"
                           "    CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END);\n"
                           "  RETURN NULL;\n"
                           "END $dbont$"),
                   NULL, "function dbont_cache_notify(): the query cache's triggers (pg_notify on dbont_cache)");
    for (size_t i = 0; i < t->ntables; i++) {
        const pair *p = &x->pairs[i];
        const stable *tt = p->t, *ft = p->f;
        bool had = ft && ft->cache_entity, has = tt->cache_entity != NULL;
        if (had && (!has || !same_cache(ft, tt)))
            cache_trigger(x, ft, false, ft->name);
        if (has && (!had || !same_cache(ft, tt)))
            cache_trigger(x, tt, true, tt->name);
    }
    /* a dropped table takes its trigger along */
    if (before && !after)
        change_add(x, PH_DROP_FUNCTION, false, none, "cache_triggers", xstrdup("DROP FUNCTION dbont_cache_notify()"), NULL,
                   "drop function dbont_cache_notify()");
}

/* ---- range partitions ------------------------------------------------------------ */

static bool has_partitions(const schema *s)
{
    for (size_t i = 0; i < s->ntables; i++)
        if (s->tables[i].partition_key)
            return true;
    return false;
}

static void refuse(differ *x, dpos pos, const char *fmt, const char *tbl)
{
    diag_error(x->d, pos, fmt, tbl, tbl);
    x->ok = false;
}

/*
 * Where a sharded table's rows live follows from its shard key and count
 * (dbont/shard.h), and a migration moves no row between servers.  Growing
 * the count is allowed: it changes no SQL, only the snapshot, and the rows
 * move with dbont-shard move while the shard set says "moving-from" (the
 * warning says how).  Everything else would route calls to where the
 * rows are not, and is refused: changing the key, shrinking, and sharding
 * or unsharding a table.
 */
static void diff_shards(differ *x)
{
    for (size_t i = 0; i < x->to->ntables; i++) {
        const stable *tt = x->pairs[i].t, *ft = x->pairs[i].f;
        if (!ft || (!ft->shard_key && !tt->shard_key))
            continue;
        dpos where = tt->shard_key ? tt->shard_pos : tt->pos;
        const char *what = NULL;
        if (!ft->shard_key)
            what = "cannot start being spread over shards";
        else if (!tt->shard_key)
            what = "cannot stop being spread over shards";
        else if (ft->shard_count > tt->shard_count)
            what = "cannot shrink its shard:shardCount (only growing is supported)";
        else {
            size_t fk = stable_column_index(ft, ft->shard_key);
            size_t tk = fk == NONE ? NONE : x->pairs[i].f_to_t[fk];
            if (tk == NONE || strcmp(tt->cols[tk].name, tt->shard_key))
                what = "cannot change its shard:key";
        }
        if (!what) {
            if (ft->shard_count != tt->shard_count)
                diag_warning(x->d, where,
                             "table '%s' grows from %lld to %lld shards: no SQL changes, but its rows must move: "
                             "start and migrate the new servers, give the shard set 'shards %lld' and "
                             "'moving-from %lld', deploy, then run dbont-shard move (docs/scale-out.md, "
                             "\"Resharding\")",
                             tt->name, ft->shard_count, tt->shard_count, tt->shard_count, ft->shard_count);
            continue;
        }
        diag_error(x->d, where,
                   "table '%s' %s in a migration: its rows would stay where the old routing put them while every "
                   "call looked for them where the new one does (docs/scale-out.md, \"Resharding\")",
                   tt->name, what);
        if (ft->shard_key)
            diag_note(x->d, where, "'%s' was spread over %lld shards by '%s'", tt->name, ft->shard_count,
                      ft->shard_key);
        x->ok = false;
    }
}

static void diff_partitions(differ *x)
{
    const schema *f = x->from, *t = x->to;
    dpos none = {0};
    bool before = has_partitions(f), after = has_partitions(t), maintain = false;
    if (after && !before) {
        change_add(x, PH_CREATE_FUNCTION, false, none, "partitions", partition_registry_sql(), NULL,
                   "table dbont_partitioned: the range-partitioned tables and their settings");
        change_add(x, PH_CREATE_FUNCTION, false, none, "partitions", partition_function_sql(), NULL,
                   "function dbont_maintain_partitions(): makes their partitions (docs/partitions.md)");
    }
    for (size_t i = 0; i < t->ntables; i++) {
        const pair *p = &x->pairs[i];
        const stable *tt = p->t, *ft = p->f;
        if (!ft) {
            if (!tt->partition_key)
                continue;
            char *slug = xasprintf("create_%s", tt->name);
            change_add(x, PH_PARTITION, false, tt->partition_pos, slug, partition_default_sql(tt), NULL,
                       "default partition %s_default of %s", tt->name, tt->name);
            change_add(x, PH_PARTITION, false, tt->partition_pos, slug, partition_register_sql(tt), NULL,
                       "partition %s by %s range of %s: %lld days back, %lld periods ahead", tt->name,
                       tt->partition_range, tt->partition_key, tt->hot_days, tt->periods_ahead);
            free(slug);
            maintain = true;
            continue;
        }
        if (!ft->partition_key && !tt->partition_key)
            continue;
        dpos where = tt->partition_key ? tt->partition_pos : tt->pos;
        if (!ft->partition_key || !tt->partition_key) {
            refuse(x, where,
                   "table '%s' cannot become or stop being range-partitioned in place (PostgreSQL cannot turn a table "
                   "into a partitioned one or back): create a new table for it, copy the rows of '%s' over, and drop "
                   "the old one",
                   tt->name);
            continue;
        }
        if (strcmp(ft->name, tt->name)) {
            refuse(x, tt->pos,
                   "range-partitioned table '%s' cannot be renamed: its partitions and dbont_partitioned carry its "
                   "name (rename '%s' back)",
                   tt->name);
            continue;
        }
        size_t fk = stable_column_index(ft, ft->partition_key);
        size_t tk = fk == NONE ? NONE : p->f_to_t[fk];
        if (tk == NONE || strcmp(tt->cols[tk].name, tt->partition_key)) {
            refuse(x, where, "the partition key of table '%s' cannot change: PostgreSQL fixes it when the table is "
                             "created (make a new table for '%s')",
                   tt->name);
            continue;
        }
        if (strcmp(ft->cols[fk].type, tt->cols[tk].type)) {
            refuse(x, tt->cols[tk].type_pos,
                   "the partition key of table '%s' cannot change type: PostgreSQL does not allow it (make a new "
                   "table for '%s')",
                   tt->name);
            continue;
        }
        if (strcmp(ft->partition_range, tt->partition_range)) {
            refuse(x, where, "the shard:rangeSize of table '%s' cannot change: the new partitions would overlap the "
                             "old ones (make a new table for '%s')",
                   tt->name);
            continue;
        }
        if (ft->hot_days != tt->hot_days || ft->periods_ahead != tt->periods_ahead) {
            char *slug = xasprintf("alter_%s", tt->name);
            change_add(x, PH_PARTITION, false, where, slug, partition_register_sql(tt), NULL,
                       "partitions of %s: %lld days back, %lld periods ahead", tt->name, tt->hot_days,
                       tt->periods_ahead);
            free(slug);
            maintain = true;
        }
    }
    for (size_t i = 0; i < f->ntables; i++)
        if (f->tables[i].partition_key && !pair_of_from(x, f->tables[i].name) && after) {
            char *slug = xasprintf("drop_%s", f->tables[i].name);
            change_add(x, PH_DROP_SEARCH, false, none, slug, partition_unregister_sql(f->tables[i].name), NULL,
                       "forget the partitions of %s", f->tables[i].name);
            free(slug);
        }
    if (maintain)
        change_add(x, PH_PARTITION, false, none, "partitions", partition_maintain_sql(), NULL,
                   "make the partitions (UTC) from the hot window's start to the periods ahead");
    if (before && !after) {
        change_add(x, PH_DROP_FUNCTION, false, none, "partitions", partition_function_drop_sql(), NULL,
                   "drop function dbont_maintain_partitions()");
        change_add(x, PH_DROP_FUNCTION, false, none, "partitions", partition_registry_drop_sql(), NULL,
                   "drop table dbont_partitioned");
    }
}

/* ---- full-text search functions ------------------------------------------------ */

static const sindex *search_of(const schema *s, const char *fname, const stable **owner)
{
    for (size_t i = 0; i < s->ntables; i++)
        for (size_t k = 0; k < s->tables[i].nindexes; k++)
            if (s->tables[i].indexes[k].search_function && !strcmp(s->tables[i].indexes[k].search_function, fname)) {
                *owner = &s->tables[i];
                return &s->tables[i].indexes[k];
            }
    return NULL;
}

static bool has_searches(const schema *s)
{
    for (size_t i = 0; i < s->ntables; i++)
        for (size_t k = 0; k < s->tables[i].nindexes; k++)
            if (s->tables[i].indexes[k].search_function)
                return true;
    return false;
}

static bool table_has_searches(const stable *t)
{
    for (size_t k = 0; t && k < t->nindexes; k++)
        if (t->indexes[k].search_function)
            return true;
    return false;
}

static void free_statements(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A search function is replaced whenever its text changes (its table's
 * columns are its result type, so any column change does that): it is
 * dropped before the tables change and created after. */
static void diff_searches(differ *x)
{
    const schema *f = x->from, *t = x->to;
    if (has_searches(t) && t->app_role &&
        (!has_searches(f) || !f->app_role || strcmp(f->app_role, t->app_role))) {
        dpos none = {0};
        char *role = search_role_name(t->app_role);
        const char *first = NULL;
        for (size_t i = 0; i < t->ntables && !first; i++)
            if (table_has_searches(&t->tables[i]))
                first = t->tables[i].name;
        char *slug = xasprintf("index_%s", first);
        change_add(x, PH_ROLE, false, none, slug, search_role_create(t->app_role), NULL,
                   "search role %s (NOLOGIN BYPASSRLS, created when missing): owns the full-text search functions",
                   role);
        free(slug);
        free(role);
    }
    for (size_t i = 0; i < t->ntables; i++) {
        const stable *tt = &t->tables[i];
        for (size_t k = 0; k < tt->nindexes; k++) {
            const sindex *ti = &tt->indexes[k];
            if (!ti->search_function || !t->app_role)
                continue;
            size_t n;
            char **now = search_function_create(tt, ti, t->app_role, &n);
            const stable *ft = NULL;
            const sindex *fi = search_of(f, ti->search_function, &ft);
            bool same = false;
            if (fi && f->app_role) {
                size_t fn;
                char **before = search_function_create(ft, fi, f->app_role, &fn);
                same = !strcmp(before[0], now[0]) && !strcmp(f->app_role, t->app_role);
                free_statements(before, fn);
            }
            if (!same && fi) {
                dpos none = {0};
                char *slug = xasprintf("index_%s", tt->name);
                change_add(x, PH_DROP_SEARCH, false, none, slug, search_function_drop(fi), NULL,
                           "drop search function %s (created again below)", fi->search_function);
                free(slug);
            }
            if (!same) {
                char *slug = xasprintf("index_%s", tt->name);
                char *role = search_role_name(t->app_role);
                char *what[5] = {
                    xasprintf("search function %s() on %s, using index %s", ti->search_function, tt->name, ti->name),
                    xasprintf("its search_path: this schema, then pg_temp"),
                    xasprintf("grant %s the rows of %s", role, tt->name),
                    xasprintf("%s owns %s()", role, ti->search_function),
                    xasprintf("only %s may execute %s()", t->app_role, ti->search_function)};
                for (size_t s = 0; s < n; s++) {
                    change_add(x, PH_SEARCH_FUNCTION, false, ti->pos, slug, now[s], NULL, "%s", what[s < 5 ? s : 4]);
                    now[s] = NULL;
                }
                for (size_t s = 0; s < 5; s++)
                    free(what[s]);
                free(role);
                free(slug);
            }
            free_statements(now, n);
        }
    }
    for (size_t i = 0; i < f->ntables; i++) {
        const stable *ft = &f->tables[i];
        for (size_t k = 0; k < ft->nindexes; k++) {
            const sindex *fi = &ft->indexes[k];
            const stable *owner;
            if (!fi->search_function || search_of(t, fi->search_function, &owner))
                continue;
            dpos none = {0};
            char *slug = xasprintf("index_%s", ft->name);
            change_add(x, PH_DROP_SEARCH, false, none, slug, search_function_drop(fi), NULL,
                       "drop search function %s", fi->search_function);
            /* the role keeps no grant on a table it has no function for */
            const pair *p = pair_of_from(x, ft->name);
            if (p && !table_has_searches(p->t) && f->app_role) {
                char *role = search_role_name(f->app_role), *qr = naming_sql_ident(role);
                buf b;
                buf_init(&b);
                buf_adds(&b, "REVOKE SELECT ON ");
                addq(&b, p->t->name);
                buf_printf(&b, " FROM %s", qr);
                change_add(x, PH_GRANT, false, none, slug, buf_take(&b), NULL, "revoke %s the rows of %s", role,
                           p->t->name);
                free(role);
                free(qr);
            }
            free(slug);
        }
    }
}

static int by_phase(const void *a, const void *b)
{
    const change *x = a, *y = b;
    if (x->phase != y->phase)
        return x->phase < y->phase ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* `to` with each kept table's columns in physical order: the columns it
 * had (renamed, retyped), then the added ones. */
static void result_schema(const differ *x, schema *out)
{
    schema_copy(x->to, out);
    for (size_t i = 0; i < out->ntables; i++) {
        const pair *p = &x->pairs[i];
        if (!p->f)
            continue;
        stable *t = &out->tables[i];
        scolumn *cols = xmalloc((t->ncols ? t->ncols : 1) * sizeof *cols);
        size_t n = 0;
        for (size_t fc = 0; fc < p->f->ncols; fc++)
            if (p->f_to_t[fc] != NONE)
                cols[n++] = t->cols[p->f_to_t[fc]];
        for (size_t c = 0; c < t->ncols; c++)
            if (p->t_to_f[c] == NONE)
                cols[n++] = t->cols[c];
        free(t->cols);
        t->cols = cols;
        t->cols_cap = t->ncols;
    }
}

bool diff_schemas(const schema *from, const schema *to, const name_changes *rn, changes *out, schema *result, diag *d)
{
    memset(out, 0, sizeof *out);
    differ x = {from, to, rn, out, d, true, NULL, NULL};
    pair_tables(&x);
    for (size_t i = 0; i < to->ntables; i++) {
        const pair *p = &x.pairs[i];
        if (!p->f)
            continue;
        alter_table(&x, p);
        for (size_t c = 0; c < p->t->ncols; c++)
            if (p->t_to_f[c] != NONE)
                alter_column(&x, p->t, &p->f->cols[p->t_to_f[c]], &p->t->cols[c]);
    }
    diff_constraints(&x);
    drop_tables(&x);
    create_tables(&x);
    tenant_functions(&x);
    for (size_t i = 0; i < to->ntables; i++)
        diff_security(&x, x.pairs[i].f, &to->tables[i]);
    for (size_t i = 0; i < to->ntables; i++)
        diff_indexes(&x, &x.pairs[i]);
    diff_searches(&x);
    diff_partitions(&x);
    diff_shards(&x);
    diff_cache_triggers(&x);
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, by_phase);
    if (result)
        result_schema(&x, result);
    free_pairs(&x);
    return x.ok;
}

void changes_free(changes *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].summary);
        free(c->v[i].slug);
        free(c->v[i].sql);
        free(c->v[i].note);
        free(c->v[i].inline_fk);
        free(c->v[i].index_name);
        free(c->v[i].table);
    }
    free(c->v);
    memset(c, 0, sizeof *c);
}

char *changes_sql(const changes *c)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < c->n; i++) {
        const change *ch = &c->v[i];
        if (!ch->sql && !ch->create)
            continue; /* a step only dbont-migrate can run (partition indexes) */
        if (!ch->create) {
            const char *conc = ch->no_transaction ? strstr(ch->sql, " CONCURRENTLY") : NULL;
            if (conc)
                buf_printf(&b, "%.*s%s;\n", (int)(conc - ch->sql), ch->sql, conc + strlen(" CONCURRENTLY"));
            else
                buf_printf(&b, "%s;\n", ch->sql);
            continue;
        }
        buf_adds(&b, "CREATE TABLE ");
        addq(&b, ch->create->name);
        buf_adds(&b, " (");
        bool first = true;
        for (size_t k = 0; k < ch->create->ncols; k++) {
            char *def = scolumn_definition(&ch->create->cols[k]);
            buf_printf(&b, "%s%s", first ? "" : ", ", def);
            free(def);
            first = false;
        }
        for (size_t k = 0; k < ch->create->ncons; k++) {
            if (!ch->inline_fk[k])
                continue;
            char *def = sconstraint_definition(&ch->create->cons[k]);
            buf_adds(&b, ", CONSTRAINT ");
            addq(&b, ch->create->cons[k].name);
            buf_printf(&b, " %s", def);
            free(def);
        }
        buf_adds(&b, ")");
        if (ch->create->partition_key) {
            buf_adds(&b, " PARTITION BY RANGE (");
            addq(&b, ch->create->partition_key);
            buf_addc(&b, ')');
        }
        buf_adds(&b, ";\n");
    }
    return buf_take(&b);
}
