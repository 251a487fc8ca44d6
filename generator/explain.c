#include "explain.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "naming.h"
#include "query_types.h"
#include "scratch.h"
#include "util.h"
#include "vocab.h"

/* ---- column references in the plan's expressions ---------------------------------------
 *
 * With VERBOSE, EXPLAIN writes every column as alias.column (the query's
 * tables have no aliases, so the alias is the table's name), quoting each
 * part the way SQL does when needed.  A condition such as
 *   ((posts.status = 'draft'::text) AND (lower(posts.title) ~~ 'a%'::text))
 * is scanned for the references to one alias, skipping string literals
 * and the type names after '::'. */

typedef struct colref {
    size_t col;    /* index into the table's columns */
    bool eq;       /* compared with '=' (or '= ANY'): leads a good index */
    bool compared; /* compared as it is, with a value or another column (an
                    * index on it can serve); else only used inside an
                    * expression (lower(col), col / 2), which it cannot */
} colref;

typedef struct colrefs {
    colref *v;
    size_t n, cap;
} colrefs;

static void refs_add(colrefs *r, size_t col, bool eq, bool compared)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].col == col) {
            r->v[i].eq |= eq;
            r->v[i].compared |= compared;
            return;
        }
    GROW(r->v, r->cap, r->n);
    r->v[r->n].col = col;
    r->v[r->n].eq = eq;
    r->v[r->n].compared = compared;
    r->n++;
}

/* The references of r that are (compared true) or are not (false)
 * compared as they are, into out. */
static void refs_pick(const colrefs *r, bool compared, colrefs *out)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].compared == compared)
            refs_add(out, r->v[i].col, r->v[i].eq, r->v[i].compared);
}

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

static bool ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80 || c == '"';
}

/* An identifier at *p, plain or "quoted" (with "" for a quote inside),
 * as its name into out; false when there is none. */
static bool read_ident(const char **p, buf *out)
{
    const char *s = *p;
    buf_reset(out);
    if (*s == '"') {
        s++;
        for (;;) {
            if (*s == '\0')
                return false;
            if (*s == '"') {
                if (s[1] != '"')
                    break;
                s++;
            }
            buf_addc(out, *s++);
        }
        *p = s + 1;
        return out->len > 0;
    }
    if (!ident_start(*s))
        return false;
    while (ident_char(*s))
        buf_addc(out, *s++);
    *p = s;
    return true;
}

/* Past the string literal at s (on its quote); e_string: an E'...'
 * literal, where a backslash escapes the next character. */
static const char *skip_literal(const char *s, bool e_string)
{
    s++;
    while (*s) {
        if (e_string && *s == '\\' && s[1]) {
            s += 2;
            continue;
        }
        if (*s == '\'') {
            if (s[1] != '\'')
                return s + 1;
            s++;
        }
        s++;
    }
    return s;
}

/* How a reference expr[start, end) is used.  PostgreSQL writes a
 * comparison as "(posts.status = 'draft'::text)", an implicit cast of the
 * column as "((posts.name)::text = 'x'::text)" (varchar compared with
 * text: an index on the column still serves), a function call as
 * "lower(posts.title)".  The reference is compared when a comparison
 * operator (=, <>, <, >, <=, >=, LIKE's ~~, IS) stands right after it or
 * right before it; *eq when that operator is '='. */
static bool compared_ref(const char *expr, const char *start, const char *end, bool *eq)
{
    /* "(col)::type": the cast does not hide the column from an index */
    if (start > expr && start[-1] == '(' && end[0] == ')' && end[1] == ':' && end[2] == ':') {
        const char *p = end + 3;
        buf ty;
        buf_init(&ty);
        while (read_ident(&p, &ty) && *p == '.')
            p++;
        buf_free(&ty);
        start--;
        end = p;
    }
    *eq = false;
    const char *a = end;
    while (*a == ' ')
        a++;
    if (a[0] == '=' && a[1] != '>') {
        *eq = true;
        return true;
    }
    if ((a[0] == '<' || a[0] == '>' || (a[0] == '!' && a[1] == '=') || (a[0] == '~' && a[1] == '~')) ||
        (!strncmp(a, "IS ", 3)))
        return true;
    const char *b = start;
    while (b > expr && b[-1] == ' ')
        b--;
    if (b > expr && strchr("=<>", b[-1])) {
        *eq = b[-1] == '=' && (b - expr < 2 || !strchr("<>!", b[-2]));
        return true;
    }
    if (b - expr >= 2 && b[-1] == '~' && b[-2] == '~')
        return true;
    return false;
}

/* Adds to r the columns of t that expr references through alias. */
static void refs_scan(colrefs *r, const char *expr, const char *alias, const table *t)
{
    if (!expr)
        return;
    buf a, c;
    buf_init(&a);
    buf_init(&c);
    const char *s = expr;
    while (*s) {
        if (*s == '\'') {
            bool e = s > expr && (s[-1] == 'E' || s[-1] == 'e') && (s - 1 == expr || !ident_char(s[-2]));
            s = skip_literal(s, e);
            continue;
        }
        if (s[0] == ':' && s[1] == ':') {
            /* a cast: the type's name, possibly qualified, is no column */
            s += 2;
            while (*s == ' ')
                s++;
            while (read_ident(&s, &a) && *s == '.')
                s++;
            continue;
        }
        if (!ident_start(*s) || (s > expr && (ident_char(s[-1]) || s[-1] == '.'))) {
            s++;
            continue;
        }
        const char *start = s;
        if (!read_ident(&s, &a))
            break;
        if (*s != '.' || !ident_start(s[1]))
            continue;
        s++;
        if (!read_ident(&s, &c))
            break;
        /* a function (schema.func(...)) or a longer name is not a column */
        if (*s == '(' || *s == '.' || strcmp(a.data, alias) != 0)
            continue;
        size_t col = table_find_column(t, c.data);
        if (col == (size_t)-1)
            continue;
        bool eq;
        bool compared = compared_ref(expr, start, s, &eq);
        /* a boolean column alone is a condition ("WHERE active"), which
         * the planner matches with an index on it as active = true */
        if (!compared && t->cols[col].stype.kind == ST_BOOLEAN && (*s == ')' || *s == '\0' || *s == ' ') &&
            !(start > expr && start[-1] == '(' && start - expr >= 2 && ident_char(start[-2])))
            compared = eq = true;
        refs_add(r, col, eq, compared);
    }
    buf_free(&a);
    buf_free(&c);
}

/* Equality columns first (an index serves them in any order, and a
 * range or an order only after them), the tenant column first among
 * them (so that one index serves the tenant's lookups of every kind, as
 * the multi-tenant keys do), then the others, in the order the plan
 * names them. */
static void refs_order(colrefs *r, const table *t)
{
    if (!r->n)
        return;
    colref *sorted = xcalloc(r->n ? r->n : 1, sizeof *sorted);
    size_t k = 0;
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < r->n; i++) {
            bool tenant = r->v[i].col == t->tenant_col;
            if ((pass == 0 && r->v[i].eq && tenant) || (pass == 1 && r->v[i].eq && !tenant) ||
                (pass == 2 && !r->v[i].eq))
                sorted[k++] = r->v[i];
        }
    memcpy(r->v, sorted, r->n * sizeof *sorted);
    free(sorted);
}

/* ---- the server's indexes ------------------------------------------------------------- */

typedef struct live_index {
    char *name;
    char **cols; /* key columns in order; "" for an expression */
    size_t ncols;
    bool partial;
    bool ordered; /* a btree: it can hand rows over in its order */
} live_index;

typedef struct live_indexes {
    live_index *v;
    size_t n;
} live_indexes;

static void live_indexes_free(live_indexes *x)
{
    for (size_t i = 0; i < x->n; i++) {
        for (size_t k = 0; k < x->v[i].ncols; k++)
            free(x->v[i].cols[k]);
        free(x->v[i].cols);
        free(x->v[i].name);
    }
    free(x->v);
    memset(x, 0, sizeof *x);
}

/* The indexes of table rel in schema (key columns, not INCLUDE ones). */
static bool fetch_indexes(PGconn *pg, const char *schema, const char *rel, live_indexes *out, diag *d)
{
    memset(out, 0, sizeof *out);
    /* Column names are plain identifiers (naming rules): ',' separates
     * them safely; an expression's place is left empty. */
    static const char sql[] =
        "SELECT ic.relname, i.indpred IS NOT NULL, "
        "  pg_catalog.array_to_string(ARRAY(SELECT COALESCE(a.attname::text, '') "
        "    FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(attnum, ord) "
        "    LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "    WHERE k.ord <= i.indnkeyatts ORDER BY k.ord), ','), "
        "  am.amname = 'btree' "
        "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
        "JOIN pg_catalog.pg_am am ON am.oid = ic.relam "
        "JOIN pg_catalog.pg_class t ON t.oid = i.indrelid "
        "JOIN pg_catalog.pg_namespace s ON s.oid = t.relnamespace "
        "WHERE s.nspname = $1 AND t.relname = $2 ORDER BY ic.relname";
    const char *values[2] = {schema, rel};
    PGresult *r = PQexecParams(pg, sql, 2, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        dpos none = {0};
        diag_error(d, none, "--explain: cannot read the indexes of table %s: %s %s", rel, scratch_state(r),
                   scratch_message(pg, r));
        PQclear(r);
        return false;
    }
    out->n = (size_t)PQntuples(r);
    out->v = xcalloc(out->n ? out->n : 1, sizeof *out->v);
    for (size_t i = 0; i < out->n; i++) {
        live_index *x = &out->v[i];
        x->name = xstrdup(PQgetvalue(r, (int)i, 0));
        x->partial = PQgetvalue(r, (int)i, 1)[0] == 't';
        x->ordered = PQgetvalue(r, (int)i, 3)[0] == 't';
        const char *list = PQgetvalue(r, (int)i, 2);
        for (const char *p = list;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            x->cols = xrealloc(x->cols, (x->ncols + 1) * sizeof *x->cols);
            x->cols[x->ncols++] = xstrndup(p, len);
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    PQclear(r);
    return true;
}

/* An index of x that hands rows over in the order keys (a plain index
 * whose key columns are some of eq, compared with '=', then keys in
 * order), or NULL. */
static const live_index *index_in_order(const live_indexes *x, const table *t, const colrefs *eq, const colrefs *keys)
{
    for (size_t i = 0; i < x->n; i++) {
        const live_index *s = &x->v[i];
        if (s->partial || !s->ordered)
            continue;
        size_t k = 0;
        for (bool more = true; more && k < s->ncols;) {
            more = false;
            for (size_t e = 0; e < eq->n && !more; e++)
                more = !strcmp(s->cols[k], t->cols[eq->v[e].col].name.v);
            if (more)
                k++;
        }
        bool match = s->ncols - k >= keys->n;
        for (size_t j = 0; j < keys->n && match; j++)
            match = !strcmp(s->cols[k + j], t->cols[keys->v[j].col].name.v);
        if (match)
            return s;
    }
    return NULL;
}

/* An index of x that leads with one of cols, or NULL: the planner could
 * have used it, had the condition's form allowed. */
static const live_index *index_leading_with_any(const live_indexes *x, const table *t, const colrefs *cols)
{
    for (size_t i = 0; i < x->n; i++)
        for (size_t k = 0; k < cols->n; k++)
            if (x->v[i].ncols && !strcmp(x->v[i].cols[0], t->cols[cols->v[k].col].name.v))
                return &x->v[i];
    return NULL;
}

/* An index of x that a lookup by cols (the first one above all) within
 * a tenant could use: it leads with cols[0], or with the tenant column
 * and then cols[0].  NULL when there is none. */
static const live_index *index_for_lookup(const live_indexes *x, const table *t, const colrefs *cols)
{
    const char *first = t->cols[cols->v[0].col].name.v;
    const char *tenant = t->tenant_col != (size_t)-1 ? t->cols[t->tenant_col].name.v : NULL;
    for (size_t i = 0; i < x->n; i++) {
        const live_index *s = &x->v[i];
        if (s->partial || !s->ncols)
            continue;
        size_t k = tenant && s->ncols > 1 && !strcmp(s->cols[0], tenant) ? 1 : 0;
        if (!strcmp(s->cols[k], first))
            return s;
    }
    return NULL;
}

/* Do the columns in cols make a key of t (they cover its primary key or
 * a unique constraint)?  Then '=' on all of them matches one row. */
static bool covers_key(const table *t, const colrefs *cols)
{
    for (size_t u = 0; u <= t->nunique_sets; u++) {
        const size_t *key = u < t->nunique_sets ? t->unique_sets[u] : t->pk;
        size_t n = u < t->nunique_sets ? t->unique_sizes[u] : t->npk;
        bool all = n > 0;
        for (size_t k = 0; k < n && all; k++) {
            bool found = false;
            for (size_t i = 0; i < cols->n && !found; i++)
                found = cols->v[i].col == key[k];
            all = found;
        }
        if (all)
            return true;
    }
    return false;
}

/* ---- wording ------------------------------------------------------------------------------ */

/* "posts.user_id, posts.title" */
static char *refs_list(const table *t, const colrefs *r)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < r->n; i++)
        buf_printf(&b, "%s%s.%s", i ? ", " : "", t->name, t->cols[r->v[i].col].name.v);
    return buf_take(&b);
}

/* `add idx:Index with idx:table db:PostsTable and idx:columns ("user_id")` */
static char *advice(const table *t, const size_t *cols, size_t n)
{
    char scratch[256];
    buf b;
    buf_init(&b);
    buf_printf(&b, "add idx:Index with idx:table %s and idx:columns (", vocab_short(t->iri, scratch, sizeof scratch));
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s\"%s\"", i ? " " : "", t->cols[cols[i]].name.v);
    buf_addc(&b, ')');
    return buf_take(&b);
}

static char *refs_advice(const table *t, const colrefs *r)
{
    size_t *cols = xcalloc(r->n ? r->n : 1, sizeof *cols);
    for (size_t i = 0; i < r->n; i++)
        cols[i] = r->v[i].col;
    char *s = advice(t, cols, r->n);
    free(cols);
    return s;
}

/* Does the fragment text mention column name (as a whole identifier,
 * outside string literals)?  SQL folds unquoted names: compare without
 * case. */
static bool mentions(const char *text, const char *name)
{
    if (!text)
        return false;
    size_t n = strlen(name);
    for (const char *s = text; *s;) {
        if (*s == '\'') {
            s = skip_literal(s, false);
            continue;
        }
        if (!strncasecmp(s, name, n) && (s == text || !ident_char(s[-1])) && !ident_char(s[n]))
            return true;
        s++;
    }
    return false;
}

/* ---- one query's plan ------------------------------------------------------------------- */

typedef struct scan {
    const char *type, *relname, *alias, *schema, *index_name;
    const char *filter, *index_cond, *recheck;
} scan;

typedef struct sort_node {
    const json_value *keys; /* "Sort Key": an array of strings */
} sort_node;

typedef struct plan_facts {
    scan *scans;
    size_t nscans, scans_cap;
    const char **join_conds; /* Hash Cond, Merge Cond, Join Filter */
    size_t njoin, join_cap;
    sort_node *sorts; /* sorts right under a Limit */
    size_t nsorts, sorts_cap;
} plan_facts;

static void facts_free(plan_facts *f)
{
    free(f->scans);
    free(f->join_conds);
    free(f->sorts);
    memset(f, 0, sizeof *f);
}

static void collect(const json_value *node, const char *parent_type, plan_facts *f)
{
    const char *type = json_get_string(node, "Node Type");
    if (!type)
        return;
    static const char *const join_keys[] = {"Hash Cond", "Merge Cond", "Join Filter"};
    for (size_t i = 0; i < sizeof join_keys / sizeof join_keys[0]; i++) {
        const char *cond = json_get_string(node, join_keys[i]);
        if (cond) {
            GROW(f->join_conds, f->join_cap, f->njoin);
            f->join_conds[f->njoin++] = cond;
        }
    }
    if (json_get_string(node, "Relation Name")) {
        GROW(f->scans, f->scans_cap, f->nscans);
        scan *s = &f->scans[f->nscans++];
        s->type = type;
        s->relname = json_get_string(node, "Relation Name");
        s->alias = json_get_string(node, "Alias") ? json_get_string(node, "Alias") : s->relname;
        s->schema = json_get_string(node, "Schema");
        s->index_name = json_get_string(node, "Index Name");
        s->filter = json_get_string(node, "Filter");
        s->index_cond = json_get_string(node, "Index Cond");
        s->recheck = json_get_string(node, "Recheck Cond");
    }
    const json_value *keys = json_get(node, "Sort Key");
    if (!strcmp(type, "Sort") && parent_type && !strcmp(parent_type, "Limit") && keys && keys->kind == JSON_ARRAY) {
        GROW(f->sorts, f->sorts_cap, f->nsorts);
        f->sorts[f->nsorts++].keys = keys;
    }
    const json_value *plans = json_get(node, "Plans");
    if (plans && plans->kind == JSON_ARRAY)
        for (size_t i = 0; i < plans->n; i++)
            collect(&plans->items[i], type, f);
}

/* The scan of the table a sort key names (by its alias: a sort over a
 * join sorts several tables' rows). */
static const scan *scan_of_alias(const plan_facts *f, const char *alias)
{
    for (size_t i = 0; i < f->nscans; i++)
        if (!strcmp(f->scans[i].alias, alias))
            return &f->scans[i];
    return NULL;
}

static const table *table_named(const model *m, const char *name)
{
    for (size_t i = 0; i < m->ntables; i++)
        if (m->tables[i]->name && !strcmp(m->tables[i]->name, name))
            return m->tables[i];
    return NULL;
}

/* A sort key "posts.created_at DESC NULLS LAST": its alias and column,
 * when it is a plain column (and not an expression). */
static bool plain_sort_key(const char *key, buf *alias, buf *col)
{
    const char *s = key;
    if (!read_ident(&s, alias) || *s != '.')
        return false;
    s++;
    if (!read_ident(&s, col))
        return false;
    /* what may follow: DESC, NULLS FIRST/LAST, USING <op> */
    while (*s == ' ') {
        s++;
        if (!strncmp(s, "USING ", 6)) {
            s += 6;
            while (*s && *s != ' ')
                s++;
            continue;
        }
        while (isupper((unsigned char)*s))
            s++;
    }
    return *s == '\0';
}

/* What explain_one needs from the session. */
typedef struct session {
    PGconn *pg;
    const model *m;
    diag *d;
    const char *schema; /* the scratch schema */
    unsigned warnings;
} session;

/* Values for the parameters: the ontology's examples, else a literal of
 * the parameter's type. */
typedef struct bound {
    const char **values;
    Oid *types;
    bool *made_up; /* no example value: the literal was chosen here */
    dpos *where;   /* the example value, or the parameter's fragment */
} bound;

/* A literal of each type for a parameter without an example value.  A
 * NULL would not do: the planner folds "column = NULL" to false and plans
 * no scan at all, hiding the very scans --explain looks for.  The values
 * are ordinary ones, so the plan is the one a typical value gets. */
static const char *literal_of(sqltype_kind k)
{
    switch (k) {
    case ST_SMALLINT:
    case ST_INTEGER:
    case ST_BIGINT:
    case ST_SERIAL:
    case ST_BIGSERIAL:
    case ST_REAL:
    case ST_DOUBLE:
    case ST_NUMERIC: return "1";
    case ST_BOOLEAN: return "true";
    case ST_TEXT:
    case ST_VARCHAR: return "x";
    case ST_UUID: return "00000000-0000-0000-0000-000000000001";
    case ST_DATE: return "2000-01-01";
    case ST_TIMESTAMP: return "2000-01-01 00:00:00";
    case ST_TIMESTAMPTZ: return "2000-01-01 00:00:00+00";
    case ST_JSONB: return "{}";
    case ST_BYTEA: return "\\x00";
    }
    return "1";
}

static bool same_place(dpos a, dpos b)
{
    return a.line == b.line && a.col == b.col && a.file == b.file;
}

static void bind_params(const qplan *p, bound *b)
{
    const query *q = p->q;
    b->values = xcalloc(p->nparams ? p->nparams : 1, sizeof *b->values);
    b->types = xcalloc(p->nparams ? p->nparams : 1, sizeof *b->types);
    b->made_up = xcalloc(p->nparams ? p->nparams : 1, sizeof *b->made_up);
    b->where = xcalloc(p->nparams ? p->nparams : 1, sizeof *b->where);
    /* The '?' of db:condition come first, then those of db:having, each
     * list with its own examples (db:params, db:havingParams). */
    size_t in_where = 0;
    for (size_t i = 0; i < p->nparams; i++) {
        const qparam *pa = &p->params[i];
        bool having = q->having.v && same_place(pa->pos, q->having.pos);
        const mvalues *ex = having ? &q->having_params : &q->where.params;
        size_t k = having ? i - in_where : i;
        if (!having)
            in_where++;
        b->types[i] = sqltype_info_of(pa->type.kind)->oid;
        if (ex->set && k < ex->n) {
            b->values[i] = ex->items[k].text;
            b->where[i] = ex->items[k].pos;
        } else {
            b->values[i] = literal_of(pa->type.kind);
            b->made_up[i] = true;
            b->where[i] = pa->pos;
        }
    }
}

static void bound_free(bound *b)
{
    free(b->values);
    free(b->types);
    free(b->made_up);
    free(b->where);
}

/* After each warning about p: which parameters had no example value. */
static void note_made_up(session *S, const qplan *p, const bound *b)
{
    for (size_t i = 0; i < p->nparams; i++)
        if (b->made_up[i])
            diag_note(S->d, p->params[i].pos, "parameter %zu (%s) has no example value (db:params / "
                                              "db:havingParams); the EXPLAIN used '%s'",
                      i + 1, p->params[i].name, b->values[i]);
}

/* Where a filter on column col comes from: the fragment that names it. */
static dpos filter_place(const query *q, const char *col)
{
    if (q->where.condition.v && mentions(q->where.condition.v, col))
        return q->where.condition.pos;
    for (size_t j = 0; j < q->njoins; j++)
        if (mentions(q->joins[j].on.v, col))
            return q->joins[j].on.pos;
    return q->where.condition.v ? q->where.condition.pos : q->pos;
}

static dpos join_place(const model *m, const query *q, const table *t, const char *col)
{
    for (size_t j = 0; j < q->njoins; j++)
        if (q->joins[j].table.v && model_find_table(m, q->joins[j].table.v) == t)
            return q->joins[j].on.pos;
    for (size_t j = 0; j < q->njoins; j++)
        if (mentions(q->joins[j].on.v, col))
            return q->joins[j].on.pos;
    return q->pos;
}

static dpos order_place(const query *q, const char *col)
{
    for (size_t i = 0; i < q->order_by.n; i++)
        if (mentions(q->order_by.items[i].v, col))
            return q->order_by.items[i].pos;
    return q->order_by.n ? q->order_by.items[0].pos : q->pos;
}

/* One warning per table and kind in a query (a table scanned twice, in a
 * subquery, is one piece of advice). */
typedef struct reported {
    const table *t[64];
    char kind[64];
    size_t n;
} reported;

static bool first_report(reported *r, const table *t, char kind)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->t[i] == t && r->kind[i] == kind)
            return false;
    if (r->n < 64) {
        r->t[r->n] = t;
        r->kind[r->n++] = kind;
    }
    return true;
}

/* Is t the table of a right or full join of q (every one of its rows is
 * in the result: it is read in full by design)? */
static bool preserved_by_join(const model *m, const query *q, const table *t)
{
    for (size_t j = 0; j < q->njoins; j++) {
        const char *type = q->joins[j].type.v;
        bool whole = type && (!strcasecmp(type, "right") || !strcasecmp(type, "full"));
        if (whole && q->joins[j].table.v && model_find_table(m, q->joins[j].table.v) == t)
            return true;
        /* a full join keeps every row of the tables before it too */
        if (type && !strcasecmp(type, "full"))
            return true;
    }
    return false;
}

/* A table read in full, or a whole tenant of it, although a condition
 * names columns an index could serve. */
static void judge_scan(session *S, const qplan *p, const bound *b, const plan_facts *f, const scan *s,
                       reported *rep)
{
    const query *q = p->q;
    const table *t = table_named(S->m, s->relname);
    if (!t)
        return;
    bool seq = !strcmp(s->type, "Seq Scan");
    bool index_scan = !strcmp(s->type, "Index Scan") || !strcmp(s->type, "Index Only Scan");
    /* An index scan without an Index Cond reads the whole index: the
     * planner took it for its order (ORDER BY the key, a merge join) and
     * filters every row, which is a full read too. */
    bool whole_index = index_scan && !s->index_cond;
    /* On a multi-tenant table (planned as the application role, so under
     * the tenant policy), an index condition on the tenant column alone
     * reads every row of the tenant: the tenant column tells few rows
     * apart, and a filter on the rest is what an index should serve. */
    bool whole_tenant = false;
    if (!seq && !whole_index && t->tenant_col != (size_t)-1 && (s->index_cond || s->recheck)) {
        colrefs cond = {0};
        refs_scan(&cond, s->index_cond, s->alias, t);
        refs_scan(&cond, s->recheck, s->alias, t);
        whole_tenant = cond.n == 1 && cond.v[0].col == t->tenant_col;
        free(cond.v);
    }
    if (!seq && !whole_index && !whole_tenant)
        return;

    colrefs all = {0}, cols = {0}, exprs = {0};
    refs_scan(&all, s->filter, s->alias, t);
    refs_pick(&all, true, &cols);
    refs_pick(&all, false, &exprs);
    const char *what = "filter";
    char kind = 'f';
    if (!cols.n && !exprs.n && seq && !whole_tenant) {
        /* No filter: a db:join table read in full to match the join
         * condition, when the query reads only some rows (it has a
         * condition or a LIMIT; else every row of every table is joined
         * and reading them all is right).  The db:from table, and the
         * preserved side of a right or full join, are read in full by
         * design. */
        bool is_from = q->from.v && model_find_table(S->m, q->from.v) == t;
        bool some_rows = (q->where.set && q->where.condition.v) || q->limit.set;
        if (!is_from && some_rows && !preserved_by_join(S->m, q, t))
            for (size_t i = 0; i < f->njoin; i++)
                refs_scan(&cols, f->join_conds[i], s->alias, t);
        what = "join";
        kind = 'j';
    } else if (!cols.n && whole_tenant) {
        for (size_t i = 0; i < f->njoin; i++)
            refs_scan(&cols, f->join_conds[i], s->alias, t);
        if (cols.n) {
            what = "join";
            kind = 'j';
        }
    }
    if ((!cols.n && !exprs.n) || !first_report(rep, t, kind)) {
        free(all.v);
        free(cols.v);
        free(exprs.v);
        return;
    }
    char qname[256];
    vocab_short(q->iri, qname, sizeof qname);
    refs_order(&cols, t);
    char *reads;
    if (seq)
        reads = xasprintf("reads table %s with a sequential scan", t->name);
    else if (whole_index)
        reads = xasprintf("reads table %s in full (through index %s, without a condition on it)", t->name,
                          s->index_name ? s->index_name : "?");
    else
        reads = xasprintf("reads every row of the tenant in table %s (its index condition is on %s only)", t->name,
                          t->cols[t->tenant_col].name.v);
    if (!cols.n) {
        /* only expressions of columns: an index on a column does not
         * serve a condition on an expression of it */
        char *list = refs_list(t, &exprs);
        diag_warning(S->d, filter_place(q, t->cols[exprs.v[0].col].name.v),
                     "query %s %s: its filter uses %s only inside an expression (a function or arithmetic "
                     "applied to the column), which no index on the column serves; compare the column itself "
                     "with a value",
                     qname, reads, list);
        free(list);
    } else {
        const char *first = t->cols[cols.v[0].col].name.v;
        dpos where = kind == 'f' ? filter_place(q, first) : join_place(S->m, q, t, first);
        /* The tenant column compared by the tenant policy, not by the
         * ontology's condition: the place is the query's. */
        const char *whose = "its";
        if (kind == 'f' && t->rls_on && cols.n == 1 && cols.v[0].col == t->tenant_col &&
            !mentions(q->where.condition.v, first)) {
            where = q->pos;
            whose = "the tenant policy's";
        }
        char *list = refs_list(t, &cols);
        live_indexes have;
        bool read = fetch_indexes(S->pg, s->schema ? s->schema : S->schema, t->name, &have, S->d);
        const live_index *unusable = read && !whole_tenant ? index_leading_with_any(&have, t, &cols) : NULL;
        /* Within a tenant, the planner may keep to the tenant's index
         * although a better one exists: on the empty scratch tables it
         * guesses that a tenant has a row or two.  Only a missing index
         * is reported then. */
        if (read && whole_tenant && index_for_lookup(&have, t, &cols)) {
            live_indexes_free(&have);
            free(list);
            free(reads);
            free(all.v);
            free(cols.v);
            free(exprs.v);
            return;
        }
        if (unusable) {
            diag_warning(S->d, where, "query %s %s: %s %s on %s cannot use index %s (%s)", qname, reads, whose, what,
                         list, unusable->name,
                         unusable->partial ? "a partial index whose predicate the condition does not imply"
                         : t->rls_on ? "the condition applies a function, a cast or an operator the index does not "
                                       "support, or, under row-level security, one that is not leakproof"
                                     : "the condition applies a function, a cast or an operator the index does not "
                                       "support");
        } else {
            /* behind the tenant column: the lookups are within a tenant */
            colrefs want = {0};
            if (whole_tenant)
                refs_add(&want, t->tenant_col, true, true);
            for (size_t i = 0; i < cols.n; i++)
                refs_add(&want, cols.v[i].col, cols.v[i].eq, true);
            char *add = refs_advice(t, &want);
            diag_warning(S->d, where, "query %s %s: no index covers %s %s on %s; %s", qname, reads, whose, what, list,
                         add);
            free(add);
            free(want.v);
        }
        live_indexes_free(&have);
        free(list);
    }
    note_made_up(S, p, b);
    S->warnings++;
    free(reads);
    free(all.v);
    free(cols.v);
    free(exprs.v);
}

/* A sort a LIMIT waits for: every matching row is read and sorted before
 * the first one is returned, where an index in that order would read
 * only the rows returned. */
static void judge_sort(session *S, const qplan *p, const bound *b, const plan_facts *f, const sort_node *so,
                       reported *rep)
{
    const query *q = p->q;
    buf alias, col, first_alias;
    buf_init(&alias);
    buf_init(&col);
    buf_init(&first_alias);
    colrefs keys = {0}, want = {0};
    const table *t = NULL;
    const scan *s = NULL;
    buf text;
    buf_init(&text);
    bool plain = so->keys->n > 0;
    for (size_t i = 0; plain && i < so->keys->n; i++) {
        const json_value *k = &so->keys->items[i];
        plain = k->kind == JSON_STRING && plain_sort_key(k->text, &alias, &col);
        if (!plain)
            break;
        if (i == 0) {
            buf_adds(&first_alias, alias.data);
            s = scan_of_alias(f, alias.data);
            t = s ? table_named(S->m, s->relname) : NULL;
        }
        /* an order over several tables: no one index serves it */
        plain = t && !strcmp(alias.data, first_alias.data);
        size_t c = plain ? table_find_column(t, col.data) : (size_t)-1;
        plain = c != (size_t)-1;
        if (plain) {
            refs_add(&keys, c, false, true);
            buf_printf(&text, "%s%s", i ? ", " : "", k->text);
        }
    }
    if (plain && first_report(rep, t, 's')) {
        /* The columns the scan compares with '=' go first: an index on
         * (those, the order) hands the rows over already in order. */
        colrefs conds = {0}, eq = {0};
        refs_scan(&conds, s->index_cond, s->alias, t);
        refs_scan(&conds, s->recheck, s->alias, t);
        refs_scan(&conds, s->filter, s->alias, t);
        for (size_t i = 0; i < conds.n; i++)
            if (conds.v[i].eq) {
                refs_add(&want, conds.v[i].col, true, true);
                refs_add(&eq, conds.v[i].col, true, true);
            }
        for (size_t i = 0; i < keys.n; i++)
            refs_add(&want, keys.v[i].col, false, true);
        free(conds.v);
        /* '=' on a key: one row at most, nothing to sort */
        bool one_row = covers_key(t, &eq);
        live_indexes have;
        if (!one_row && fetch_indexes(S->pg, s->schema ? s->schema : S->schema, t->name, &have, S->d)) {
            /* The planner may sort although an index could give the
             * order (it guessed that few rows match, or the sort follows
             * an aggregate): only an order no index gives is reported. */
            if (!index_in_order(&have, t, &eq, &keys)) {
                char qname[256], first[64];
                vocab_short(q->iri, qname, sizeof qname);
                if (q->limit.set)
                    snprintf(first, sizeof first, "the first %lld", (long long)q->limit.v);
                else
                    snprintf(first, sizeof first, "its first rows");
                char *add = refs_advice(t, &want);
                diag_warning(S->d, order_place(q, t->cols[keys.v[0].col].name.v),
                             "query %s sorts the matching rows of table %s to return %s: no index serves ORDER BY "
                             "%s; %s",
                             qname, t->name, first, text.data, add);
                note_made_up(S, p, b);
                S->warnings++;
                free(add);
            }
            live_indexes_free(&have);
        }
        free(eq.v);
    }
    free(keys.v);
    free(want.v);
    buf_free(&alias);
    buf_free(&col);
    buf_free(&first_alias);
    buf_free(&text);
}

static const char explain_prefix[] = "EXPLAIN (VERBOSE, FORMAT JSON) ";

static bool explain_one(session *S, qplan *p)
{
    const query *q = p->q;
    char qname[256];
    vocab_short(q->iri, qname, sizeof qname);
    bound b;
    bind_params(p, &b);
    char *sql = xasprintf("%s%s", explain_prefix, p->sql);
    PGresult *r = PQexecParams(S->pg, sql, (int)p->nparams, b.types, b.values, NULL, NULL, 0);
    free(sql);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == 1;
    if (!ok) {
        const char *position = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
        size_t at = position ? strtoul(position, NULL, 10) : 0;
        size_t skip = sizeof explain_prefix - 1;
        dpos where = at > skip ? qplan_place(p, at - skip) : q->pos;
        diag_error(S->d, where, "PostgreSQL cannot EXPLAIN query %s: %s %s", qname, scratch_state(r),
                   scratch_message(S->pg, r));
        for (size_t i = 0; i < p->nparams; i++)
            diag_note(S->d, b.where[i], "parameter %zu (%s) was '%s'%s", i + 1, p->params[i].name, b.values[i],
                      b.made_up[i] ? " (it has no example value)" : "");
        PQclear(r);
        bound_free(&b);
        return false;
    }
    json_value plan;
    if (!json_parse(PQgetvalue(r, 0, 0), &plan)) {
        diag_error(S->d, q->pos, "cannot read PostgreSQL's EXPLAIN (FORMAT JSON) output for query %s: it is "
                                 "not JSON",
                   qname);
        PQclear(r);
        bound_free(&b);
        return false;
    }
    /* [ { "Plan": { "Node Type": ..., "Plans": [ ... ] } } ] */
    const json_value *root = plan.kind == JSON_ARRAY && plan.n == 1 ? json_get(&plan.items[0], "Plan") : NULL;
    if (!root || !json_get_string(root, "Node Type")) {
        diag_error(S->d, q->pos, "cannot read PostgreSQL's EXPLAIN (FORMAT JSON) output for query %s: no plan "
                                 "in it",
                   qname);
        ok = false;
    } else {
        plan_facts f;
        memset(&f, 0, sizeof f);
        collect(root, NULL, &f);
        reported rep = {{0}, {0}, 0};
        for (size_t i = 0; i < f.nscans; i++)
            judge_scan(S, p, &b, &f, &f.scans[i], &rep);
        for (size_t i = 0; i < f.nsorts; i++)
            judge_sort(S, p, &b, &f, &f.sorts[i], &rep);
        facts_free(&f);
    }
    json_free(&plan);
    PQclear(r);
    bound_free(&b);
    return ok;
}

/* ---- foreign keys ----------------------------------------------------------------------- */

/* Does an index on cols (in order) serve lookups by the foreign key's
 * columns fk?  Its first nfk columns must be fk's, in any order: the
 * lookup compares each with '='.  For a reference kept inside the tenant,
 * (tenant, col), an index leading with col alone serves too: col is what
 * tells the rows apart; the tenant column, the same on a whole tenant's
 * rows, adds little. */
static bool serves(const size_t *cols, size_t ncols, const size_t *fk, size_t nfk, bool tenant_fk)
{
    if (tenant_fk && ncols >= 1 && cols[0] == fk[nfk - 1])
        return true;
    if (ncols < nfk)
        return false;
    for (size_t i = 0; i < nfk; i++) {
        bool found = false;
        for (size_t k = 0; k < nfk && !found; k++)
            found = cols[k] == fk[i];
        if (!found)
            return false;
    }
    return true;
}

static bool fk_has_index(const model *m, const table *t, const size_t *fk, size_t nfk, bool tenant_fk)
{
    if (serves(t->pk, t->npk, fk, nfk, tenant_fk))
        return true;
    for (size_t u = 0; u < t->nunique_sets; u++)
        if (serves(t->unique_sets[u], t->unique_sizes[u], fk, nfk, tenant_fk))
            return true;
    for (size_t i = 0; i < m->nindexes; i++) {
        const index_def *x = m->indexes[i];
        /* A partial index serves only lookups that imply its predicate,
         * which the foreign key's checks do not; gin, gist and brin
         * indexes do not serve equality lookups of plain values well (or
         * at all); a hash index serves them on one column. */
        const char *type = x->type.v ? x->type.v : "btree";
        bool usable = !strcasecmp(type, "btree") || (!strcasecmp(type, "hash") && x->columns.n == 1);
        if (x->partial_predicate.v || !usable || !x->table.v || model_find_table(m, x->table.v) != t ||
            !x->columns.n)
            continue;
        size_t *cols = xcalloc(x->columns.n, sizeof *cols);
        bool known = true;
        for (size_t k = 0; k < x->columns.n && known; k++) {
            cols[k] = table_find_column(t, x->columns.items[k].v);
            known = cols[k] != (size_t)-1;
        }
        bool ok = known && serves(cols, x->columns.n, fk, nfk, tenant_fk);
        free(cols);
        if (ok)
            return true;
    }
    return false;
}

unsigned explain_foreign_keys(const model *m, diag *d)
{
    unsigned warnings = 0;
    for (size_t i = 0; i < m->ntables; i++) {
        const table *t = m->tables[i];
        for (size_t c = 0; c < t->ncols; c++) {
            const column *col = &t->cols[c];
            if (!col->ref_table)
                continue;
            /* A reference kept inside the tenant is the composite key
             * (tenant column, column) (docs/multi-tenancy.md). */
            size_t fk[2];
            size_t nfk = 0;
            if (col->tenant_fk)
                fk[nfk++] = t->tenant_col;
            fk[nfk++] = c;
            if (fk_has_index(m, t, fk, nfk, col->tenant_fk))
                continue;
            char *add = advice(t, fk, nfk);
            if (col->tenant_fk)
                diag_warning(d, col->pos, "foreign key %s.%s (FOREIGN KEY (%s, %s), kept inside the tenant) has no "
                                          "index: joins and ON DELETE checks on it scan %s; %s",
                             t->name, col->name.v, t->cols[t->tenant_col].name.v, col->name.v, t->name, add);
            else
                diag_warning(d, col->pos, "foreign key %s.%s has no index: joins and ON DELETE checks on it scan "
                                          "%s; %s",
                             t->name, col->name.v, t->name, add);
            free(add);
            warnings++;
        }
    }
    return warnings;
}

/* ---- the run -------------------------------------------------------------------------------- */

/* The generated code of a multi-tenant model runs as the application
 * role, under row-level security: every query on a multi-tenant table
 * gets the tenant policy's condition (tenant column = current_org_id()).
 * A superuser, or a role with BYPASSRLS, would be planned without it, so
 * the plans are made as the application role (the migrations create it
 * and grant it the tables).  When the connecting user may not act as it
 * (SET ROLE needs membership), the plans are its own and the report says
 * so. */
static bool act_as_app_role(session *S, FILE *report)
{
    const tenancy *ty = &S->m->tenancy;
    if (!ty->has_tenancy || !ty->app_role)
        return true;
    dpos none = {0};
    if (!scratch_exec(S->pg, "SAVEPOINT dbont_role", S->d, none))
        return false;
    char *role = naming_sql_ident(ty->app_role);
    char *sql = xasprintf("SET LOCAL ROLE %s", role);
    PGresult *r = PQexec(S->pg, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(report, "explain: cannot act as the application role %s (%s %s): multi-tenant tables are "
                        "planned without their tenant policy\n",
                ty->app_role, scratch_state(r), scratch_message(S->pg, r));
    PQclear(r);
    free(sql);
    free(role);
    return ok || scratch_exec(S->pg, "ROLLBACK TO SAVEPOINT dbont_role", S->d, none);
}

bool explain_run(const char *dsn, const char *schema_sql, const model *m, qplan *plans, size_t n, diag *d,
                 FILE *report)
{
    dpos none = {0};
    session S = {NULL, m, d, NULL, 0};
    S.pg = scratch_open(dsn, "--explain", schema_sql, d);
    if (!S.pg)
        return false;
    unsigned errors = diag_errors(d);
    /* The parameters' types, as the server sees them: the EXPLAIN binds
     * them with those types, as the generated code does. */
    bool ok = qtypes_describe(S.pg, plans, n, d);
    PGresult *r = ok ? PQexec(S.pg, "SELECT pg_catalog.current_schema()") : NULL;
    if (ok && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        S.schema = PQgetvalue(r, 0, 0);
    else
        ok = false;
    /* The scratch tables are empty, and on an empty table the planner
     * rightly prefers a sequential scan to any index.  With sequential
     * scans disabled (a huge cost, not a ban), it takes an index whenever
     * one can serve: a sequential scan that remains means none can.
     * Sorts stay enabled: disabling them would have the planner read a
     * whole index in the ORDER BY's order and filter every row, rather
     * than use the index that serves the filter, and blame the filter.
     * JIT is off: the disabled scans' costs would make the server
     * prepare to compile every plan. */
    ok = ok && scratch_exec(S.pg, "SET LOCAL enable_seqscan = off; SET LOCAL jit = off", d, none);
    ok = ok && act_as_app_role(&S, report);
    for (size_t i = 0; ok && i < n; i++) {
        if (!scratch_exec(S.pg, "SAVEPOINT dbont_query", d, none)) {
            ok = false;
            break;
        }
        if (!explain_one(&S, &plans[i]) && !scratch_exec(S.pg, "ROLLBACK TO SAVEPOINT dbont_query", d, none))
            break;
    }
    PQclear(r);
    scratch_close(S.pg);
    if (diag_errors(d) != errors)
        ok = false;
    if (!ok)
        return false;
    unsigned total = S.warnings + explain_foreign_keys(m, d);
    fprintf(report, "explain: %zu quer%s, %u warning%s\n", n, n == 1 ? "y" : "ies", total, total == 1 ? "" : "s");
    return true;
}
