#include "search.h"

#include <stdlib.h>
#include <string.h>

#include "naming.h"
#include "sqltypes.h"
#include "util.h"

/* The query text becomes a tsquery the same way everywhere. */
static void add_tsquery(buf *b, const char *language, const char *param)
{
    buf_printf(b, "websearch_to_tsquery('%s'::regconfig, %s)", language, param);
}

char *search_document_sql(const char *language, char *const *cols, size_t ncols, const char *alias)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "to_tsvector('%s'::regconfig, ", language);
    for (size_t i = 0; i < ncols; i++) {
        char *q = naming_sql_ident(cols[i]);
        buf_printf(&b, "%scoalesce(%s%s%s, '')", i ? " || ' ' || " : "", alias ? alias : "", alias ? "." : "", q);
        free(q);
    }
    buf_addc(&b, ')');
    return buf_take(&b);
}

char *search_role_name(const char *app_role)
{
    return xasprintf("%s_search", app_role);
}

static char *signature(const sindex *x)
{
    char *name = naming_sql_ident(x->search_function);
    char *s = xasprintf("%s(text, bigint)", name);
    free(name);
    return s;
}

char *search_function_drop(const sindex *x)
{
    char *sig = signature(x);
    char *s = xasprintf("DROP FUNCTION IF EXISTS %s", sig);
    free(sig);
    return s;
}

/* The column's type as a function result: serial columns hold integers. */
static char *result_type(const char *type)
{
    sqltype st;
    char why[128];
    if (!sqltype_parse(type, &st, why, sizeof why))
        return xstrdup(type);
    return sqltype_value_sql(&st);
}

static const sconstraint *primary_key(const stable *t)
{
    for (size_t i = 0; i < t->ncons; i++)
        if (t->cons[i].kind == SC_PRIMARY_KEY)
            return &t->cons[i];
    return NULL;
}

char **search_function_create(const stable *t, const sindex *x, const char *app_role, size_t *n)
{
    char *fname = naming_sql_ident(x->search_function);
    char *sig = signature(x);
    char *tname = naming_sql_ident(t->name);
    char *role = search_role_name(app_role);
    char *qrole = naming_sql_ident(role);
    char *qapp = naming_sql_ident(app_role);
    char *doc = search_document_sql(x->language, x->cols, x->ncols, "t");

    buf b;
    buf_init(&b);
    buf_printf(&b, "CREATE FUNCTION %s RETURNS TABLE (", sig);
    for (size_t i = 0; i < t->ncols; i++) {
        char *q = naming_sql_ident(t->cols[i].name);
        char *type = result_type(t->cols[i].type);
        buf_printf(&b, "%s %s, ", q, type);
        free(type);
        free(q);
    }
    /* The tenant policy's own condition is the filter: the function
     * bypasses row-level security, and may show no more than it would. */
    buf_adds(&b, "rank real) LANGUAGE sql STABLE SECURITY DEFINER AS $dbont$\n  SELECT ");
    for (size_t i = 0; i < t->ncols; i++) {
        char *q = naming_sql_ident(t->cols[i].name);
        buf_printf(&b, "t.%s, ", q);
        free(q);
    }
    buf_printf(&b, "ts_rank(%s, ", doc);
    add_tsquery(&b, x->language, "$1");
    const char *tenant = "false"; /* no tenant policy: show nothing */
    char *pname = naming_tenant_policy(t->name);
    for (size_t i = 0; i < t->npolicies; i++)
        if (!strcmp(t->policies[i].name, pname) && t->policies[i].using_sql)
            tenant = t->policies[i].using_sql;
    free(pname);
    buf_printf(&b, ")\n  FROM %s t\n  WHERE (%s) AND %s @@ ", tname, tenant, doc);
    add_tsquery(&b, x->language, "$1");
    buf_printf(&b, "\n  ORDER BY %zu DESC", t->ncols + 1);
    const sconstraint *pk = primary_key(t);
    for (size_t i = 0; pk && i < pk->ncols; i++) {
        char *q = naming_sql_ident(pk->cols[i]);
        buf_printf(&b, ", t.%s", q);
        free(q);
    }
    buf_adds(&b, "\n  LIMIT $2\n$dbont$");

    char **v = xcalloc(5, sizeof *v);
    v[0] = buf_take(&b);
    /* pg_temp last: a caller's temporary table cannot stand in for ours */
    v[1] = xasprintf("DO $dbont$ BEGIN\n"
                     "  EXECUTE format('ALTER FUNCTION %s SET search_path = %%I, pg_temp', current_schema());\n"
                     "END $dbont$",
                     sig);
    v[2] = xasprintf("GRANT SELECT ON %s TO %s", tname, qrole);
    v[3] = xasprintf("ALTER FUNCTION %s OWNER TO %s", sig, qrole);
    v[4] = xasprintf("REVOKE ALL ON FUNCTION %s FROM PUBLIC;\nGRANT EXECUTE ON FUNCTION %s TO %s", sig, sig, qapp);
    *n = 5;
    free(fname);
    free(sig);
    free(tname);
    free(role);
    free(qrole);
    free(qapp);
    free(doc);
    return v;
}

char *search_role_create(const char *app_role)
{
    char *role = search_role_name(app_role);
    char *qrole = naming_sql_ident(role);
    /* BYPASSRLS is what lets its functions use the index; so it must not
     * log in, and the application role must not be able to become it.
     * Creating a BYPASSRLS role takes a superuser: a database
     * administrator may create it beforehand instead (docs). */
    char *s = xasprintf(
        "DO $dbont$ BEGIN\n"
        "  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '%s') THEN\n"
        "    BEGIN\n"
        "      CREATE ROLE %s NOLOGIN BYPASSRLS;\n"
        "    EXCEPTION WHEN duplicate_object OR unique_violation THEN\n"
        "      NULL;\n"
        "    WHEN insufficient_privilege THEN\n"
        "      RAISE EXCEPTION 'creating role %s (NOLOGIN BYPASSRLS, the owner of the full-text search functions) "
        "takes a superuser: run this migration as one, or have one run CREATE ROLE %s NOLOGIN BYPASSRLS; GRANT "
        "%s TO %%I;', current_user;\n"
        "    END;\n"
        "  END IF;\n"
        "  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '%s' AND rolbypassrls AND NOT "
        "rolcanlogin) THEN\n"
        "    RAISE EXCEPTION 'role %s must be NOLOGIN BYPASSRLS: it owns the full-text search functions';\n"
        "  END IF;\n"
        "  IF pg_catalog.pg_has_role('%s', '%s', 'MEMBER') THEN\n"
        "    RAISE EXCEPTION 'the application role %s is a member of %s, which bypasses row-level security';\n"
        "  END IF;\n"
        /* CREATE: a function's new owner must be able to create in its
         * schema, when a migrator that is not a superuser hands it over */
        "  EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %%I TO %s', current_schema());\n"
        "END $dbont$",
        role, qrole, role, role, role, role, role, app_role, role, app_role, role, qrole);
    free(role);
    free(qrole);
    return s;
}

/* ---- the C function's plan --------------------------------------------------- */

static void add_not_null(query *q, const char *name)
{
    mstrs *l = &q->result_not_null;
    l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
    memset(&l->items[l->n], 0, sizeof l->items[l->n]);
    l->items[l->n++].v = xstrdup(name);
    l->set = true;
}

static qcolumn *add_column(qplan *p, const char *name, sqltype type, bool not_null, dpos pos)
{
    p->cols = xrealloc(p->cols, (p->ncols + 1) * sizeof *p->cols);
    qcolumn *c = &p->cols[p->ncols++];
    memset(c, 0, sizeof *c);
    c->name = xstrdup(name);
    c->c_name = naming_c_ident(name);
    c->c_flag = naming_is_c_keyword(name) ? xstrdup(name) : xstrdup(c->c_name);
    c->type = type;
    c->known = true;
    c->not_null = not_null;
    c->plain = true;
    c->pos = pos;
    return c;
}

static void add_param(qplan *p, const char *name, sqltype_kind kind, dpos pos)
{
    p->params = xrealloc(p->params, (p->nparams + 1) * sizeof *p->params);
    qparam *q = &p->params[p->nparams++];
    memset(q, 0, sizeof *q);
    q->name = xstrdup(name);
    q->type.kind = kind;
    q->type.precision = q->type.scale = q->type.length = -1;
    q->known = true;
    q->pos = pos;
}

static void plan_search(index_def *x, qplan *p)
{
    const table *t = x->tbl;
    query *q = xcalloc(1, sizeof *q);
    q->iri = xstrdup(x->iri);
    q->pos = x->pos;
    q->c_name = naming_c_ident(x->search_name);
    x->search_query = q;

    memset(p, 0, sizeof *p);
    p->q = q;
    p->returns = QR_MANY;
    add_param(p, "query", ST_TEXT, x->language.pos);
    add_param(p, "max_rows", ST_BIGINT, x->language.pos);

    buf b;
    buf_init(&b);
    buf_adds(&b, "SELECT ");
    for (size_t i = 0; i < t->ncols; i++) {
        const column *c = &t->cols[i];
        sqltype vt = c->stype;
        if (vt.kind == ST_SERIAL)
            vt.kind = ST_INTEGER;
        if (vt.kind == ST_BIGSERIAL)
            vt.kind = ST_BIGINT;
        add_column(p, c->name.v, vt, c->not_null, c->name.pos);
        if (c->not_null)
            add_not_null(q, c->name.v);
        buf_printf(&b, "%s, ", c->sql);
    }
    sqltype real = {ST_REAL, -1, -1, -1};
    add_column(p, "rank", real, true, x->language.pos);
    add_not_null(q, "rank");

    char **names = xmalloc(x->columns.n * sizeof *names);
    for (size_t i = 0; i < x->columns.n; i++)
        names[i] = t->cols[x->cols[i]].name.v;
    if (x->search_definer) {
        char *fname = naming_sql_ident(x->search_name);
        /* the function orders its rows; a set-returning function's order
         * is not promised to its caller, so it is asked for again */
        buf_printf(&b, "rank FROM %s($1, $2) ORDER BY rank DESC", fname);
        free(fname);
    } else {
        char *doc = search_document_sql(x->language.v, names, x->columns.n, NULL);
        buf_printf(&b, "ts_rank(%s, ", doc);
        add_tsquery(&b, x->language.v, "$1");
        buf_printf(&b, ") AS rank FROM %s WHERE %s @@ ", t->sql, doc);
        add_tsquery(&b, x->language.v, "$1");
        buf_adds(&b, " ORDER BY rank DESC");
        free(doc);
    }
    for (size_t i = 0; i < t->npk; i++)
        buf_printf(&b, ", %s", t->cols[t->pk[i]].sql);
    if (!x->search_definer)
        buf_adds(&b, " LIMIT $2");
    free(names);
    p->sql = buf_take(&b);
    p->hash = fnv1a64(p->sql, strlen(p->sql), FNV64_OFFSET);
}

void search_plans_add(model *m, qplan **plans, size_t *n)
{
    size_t extra = 0;
    for (size_t i = 0; i < m->nindexes; i++)
        extra += m->indexes[i]->full_text;
    if (!extra)
        return;
    *plans = xrealloc(*plans, (*n + extra) * sizeof **plans);
    for (size_t i = 0; i < m->nindexes; i++)
        if (m->indexes[i]->full_text)
            plan_search(m->indexes[i], &(*plans)[(*n)++]);
}
