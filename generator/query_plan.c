#include "query_plan.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "naming.h"
#include "sqlfrag.h"
#include "util.h"
#include "vocab.h"

/* ---- small text helpers ---------------------------------------------------------- */

static bool ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static char *trim(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return xstrndup(s, n);
}

/* "name" or "table.name": true, with the parts (caller frees). */
static bool plain_column(const char *text, char **tbl, char **col)
{
    const char *p = text;
    if (!ident_start(*p))
        return false;
    while (ident_char(*p))
        p++;
    const char *dot = NULL;
    if (*p == '.') {
        dot = p++;
        if (!ident_start(*p))
            return false;
        while (ident_char(*p))
            p++;
    }
    if (*p)
        return false;
    *tbl = dot ? xstrndup(text, (size_t)(dot - text)) : NULL;
    *col = xstrdup(dot ? dot + 1 : text);
    return true;
}

/* A name from an expression: its identifier characters, lower-cased,
 * runs of anything else as one '_' ("COUNT(posts.id)" -> "count_posts_id"). */
static char *name_from_expression(const char *s, size_t n)
{
    buf b;
    buf_init(&b);
    bool sep = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (ident_char(c)) {
            if (sep && b.len)
                buf_addc(&b, '_');
            sep = false;
            buf_addc(&b, (char)tolower((unsigned char)c));
        } else {
            sep = true;
        }
    }
    char *name = buf_take(&b);
    if (name[0] && isdigit((unsigned char)name[0])) {
        char *p = xasprintf("p%s", name);
        free(name);
        name = p;
    }
    return name;
}

/* ---- the tables of a query ---------------------------------------------------------- */

typedef struct qtables {
    const table *t[64];
    bool nullable[64];
    size_t n;
} qtables;

/* The column named col (of table tbl when given) among the query's
 * tables; NULL with a reason when there is none or it is ambiguous. */
static const column *resolve(const qtables *qt, const char *tbl, const char *col, const table **owner,
                             char *why, size_t whysize)
{
    const column *found = NULL;
    size_t hits = 0;
    for (size_t i = 0; i < qt->n; i++) {
        if (tbl && strcmp(qt->t[i]->name, tbl) != 0)
            continue;
        size_t c = table_find_column(qt->t[i], col);
        if (c == (size_t)-1)
            continue;
        if (!hits++) {
            found = &qt->t[i]->cols[c];
            *owner = qt->t[i];
        }
    }
    if (hits == 1)
        return found;
    if (hits > 1)
        snprintf(why, whysize, "column '%s' is in more than one of the query's tables; qualify it (table.%s)", col,
                 col);
    else if (tbl)
        snprintf(why, whysize, "'%s.%s' is not a column of the query's tables", tbl, col);
    else
        snprintf(why, whysize, "'%s' is not a column of the query's tables", col);
    return NULL;
}

static bool on_nullable_side(const qtables *qt, const table *t)
{
    for (size_t i = 0; i < qt->n; i++)
        if (qt->t[i] == t)
            return qt->nullable[i];
    return false;
}

/* ---- building the SQL ------------------------------------------------------------------ */

typedef struct builder {
    const model *m;
    diag *d;
    qplan *p;
    qtables qt;
    buf sql;
    unsigned nplaceholders;
    bool ok;
} builder;

static void add_fragment(builder *b, size_t start, size_t len, dpos pos)
{
    qplan *p = b->p;
    p->frags = xrealloc(p->frags, (p->nfrags + 1) * sizeof *p->frags);
    p->frags[p->nfrags].start = start;
    p->frags[p->nfrags].len = len;
    p->frags[p->nfrags].pos = pos;
    p->nfrags++;
}

/* Appends fragment f of the ontology, checked: one expression, no ';' or
 * comment, and '?' only where placeholders are allowed (their offsets in
 * f go to *marks). */
static bool append_fragment(builder *b, const mstr *f, const char *term, unsigned flags, bool placeholders,
                            size_t **marks, size_t *nmarks)
{
    char why[256];
    size_t *m = NULL, nm = 0;
    if (!sqlfrag_scan(f->v, flags, &m, &nm, why, sizeof why)) {
        diag_error(b->d, f->pos, "%s must be one SQL expression: %s", term, why);
        free(m);
        b->ok = false;
        return false;
    }
    if (nm && !placeholders) {
        diag_error(b->d, f->pos, "%s cannot hold a '?' parameter (only db:condition and db:having can)", term);
        free(m);
        b->ok = false;
        return false;
    }
    /* '?' -> $n, in order */
    size_t start = b->sql.len, from = 0;
    for (size_t i = 0; i < nm; i++) {
        buf_add(&b->sql, f->v + from, m[i] - from);
        buf_printf(&b->sql, "$%u", ++b->nplaceholders);
        from = m[i] + 1;
    }
    buf_adds(&b->sql, f->v + from);
    add_fragment(b, start, b->sql.len - start, f->pos);
    if (marks) {
        *marks = m;
        *nmarks = nm;
    } else {
        free(m);
    }
    return true;
}

/* ---- parameters ---------------------------------------------------------------------- */

/* Operators and words that may stand between a column and its '?'. */
static size_t skip_operator_back(const char *s, size_t i)
{
    while (i && isspace((unsigned char)s[i - 1]))
        i--;
    while (i && strchr("=<>!~", s[i - 1]))
        i--;
    while (i && isspace((unsigned char)s[i - 1]))
        i--;
    static const char *const words[] = {"like", "ilike", "not", "is", "distinct", "from"};
    for (bool again = true; again;) {
        again = false;
        for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
            size_t n = strlen(words[w]);
            if (i >= n && strncasecmp(s + i - n, words[w], n) == 0 && (i == n || !ident_char(s[i - n - 1]))) {
                i -= n;
                while (i && isspace((unsigned char)s[i - 1]))
                    i--;
                again = true;
            }
        }
    }
    return i;
}

/* The operand left of the '?' at offset q of fragment s: a plain column
 * ("email", "users.email") into tbl and col, or an expression's text
 * range into es..ee.  False when there is none. */
static bool operand_before(const char *s, size_t q, char **tbl, char **col, size_t *es, size_t *ee)
{
    size_t end = skip_operator_back(s, q);
    if (end == q || end == 0)
        return false;
    size_t begin = end;
    if (s[end - 1] == ')') {
        int depth = 0;
        while (begin) {
            char c = s[--begin];
            if (c == ')')
                depth++;
            if (c == '(' && --depth == 0)
                break;
        }
        while (begin && ident_char(s[begin - 1]))
            begin--;
        *es = begin;
        *ee = end;
        return true;
    }
    while (begin && (ident_char(s[begin - 1]) || s[begin - 1] == '.'))
        begin--;
    char *text = xstrndup(s + begin, end - begin);
    bool plain = plain_column(text, tbl, col);
    free(text);
    if (!plain) {
        *es = begin;
        *ee = end;
    }
    return plain || end > begin;
}

static sqltype example_type(const mvalue *v)
{
    sqltype t = {ST_TEXT, -1, -1, -1};
    switch (v->kind) {
    case MV_INTEGER: t.kind = ST_BIGINT; break;
    case MV_DECIMAL: t.kind = ST_NUMERIC; break;
    case MV_DOUBLE: t.kind = ST_DOUBLE; break;
    case MV_BOOLEAN: t.kind = ST_BOOLEAN; break;
    default: break;
    }
    return t;
}

/* The value type of a column's type (serial -> integer). */
static sqltype value_type(sqltype t)
{
    if (t.kind == ST_SERIAL)
        t.kind = ST_INTEGER;
    if (t.kind == ST_BIGSERIAL)
        t.kind = ST_BIGINT;
    return t;
}

static void add_param(builder *b, const char *fragment, size_t q, const mvalues *examples, size_t index,
                      dpos pos)
{
    qplan *p = b->p;
    p->params = xrealloc(p->params, (p->nparams + 1) * sizeof *p->params);
    qparam *pa = &p->params[p->nparams++];
    memset(pa, 0, sizeof *pa);
    pa->pos = pos;
    char *tbl = NULL, *col = NULL;
    size_t es = 0, ee = 0;
    char *name = NULL;
    if (operand_before(fragment, q, &tbl, &col, &es, &ee)) {
        if (col) {
            const table *owner;
            char why[256];
            const column *c = resolve(&b->qt, tbl, col, &owner, why, sizeof why);
            if (c) {
                pa->type = value_type(c->stype);
                pa->known = true;
            }
            name = xstrdup(col);
        } else {
            name = name_from_expression(fragment + es, ee - es);
        }
    }
    free(tbl);
    free(col);
    if (!pa->known && examples->set && index < examples->n) {
        pa->type = example_type(&examples->items[index]);
        pa->known = true;
    }
    if (!name || !*name) {
        free(name);
        name = xasprintf("param%zu", p->nparams);
    }
    pa->name = name;
}

/* C names for the parameters: db:paramNames when given, else the derived
 * ones; keywords renamed, the fixed parameter names avoided, repeats
 * numbered. */
static void name_params(builder *b)
{
    qplan *p = b->p;
    const query *q = p->q;
    if (q->param_names.set) {
        if (q->param_names.n != p->nparams) {
            diag_error(b->d, q->param_names.pos, "db:paramNames gives %zu names for %zu parameters",
                       q->param_names.n, p->nparams);
            b->ok = false;
            return;
        }
        for (size_t i = 0; i < p->nparams; i++) {
            char why[256];
            if (!naming_check_identifier(q->param_names.items[i].v, why, sizeof why)) {
                diag_error(b->d, q->param_names.items[i].pos, "%s", why);
                b->ok = false;
                continue;
            }
            free(p->params[i].name);
            p->params[i].name = xstrdup(q->param_names.items[i].v);
        }
    }
    /* the routed and fan-out functions of a query over sharded tables
     * take these too (query_shard.h) */
    bool sharded = false;
    for (size_t k = 0; k < b->qt.n; k++)
        sharded |= b->qt.t[k]->hash_shard != NULL;
    for (size_t i = 0; i < p->nparams; i++) {
        char *c = naming_c_ident(p->params[i].name);
        if (!strcmp(c, "conn") || !strcmp(c, "out") || !strcmp(c, "err") ||
            (sharded && (!strcmp(c, "set") || !strcmp(c, "access") || !strcmp(c, "flags") ||
                         !strcmp(c, "report") || !strcmp(c, "tenant")))) {
            char *v = xasprintf("%s_value", c);
            free(c);
            c = v;
        }
        for (unsigned k = 2;; k++) {
            bool taken = false;
            for (size_t j = 0; j < i && !taken; j++)
                taken = strcmp(p->params[j].name, c) == 0;
            if (!taken)
                break;
            char *v = xasprintf("%s_%u", p->params[i].name, k);
            free(c);
            c = v;
        }
        free(p->params[i].name);
        p->params[i].name = c;
    }
}

/* ---- result columns ------------------------------------------------------------------ */

/* "expr AS alias": the alias when the item ends with one at top level. */
static char *alias_of(const char *item, size_t *expr_len)
{
    size_t n = strlen(item);
    size_t end = n;
    while (end && ident_char(item[end - 1]))
        end--;
    if (end == n || end < 4 || !ident_start(item[end]))
        return NULL;
    size_t as = end;
    while (as && isspace((unsigned char)item[as - 1]))
        as--;
    if (as == end || as < 2 || strncasecmp(item + as - 2, "as", 2) != 0 ||
        (as > 2 && !isspace((unsigned char)item[as - 3])))
        return NULL;
    size_t e = as - 2;
    while (e && isspace((unsigned char)item[e - 1]))
        e--;
    *expr_len = e;
    /* PostgreSQL folds an unquoted alias to lower case */
    char *alias = xstrdup(item + end);
    for (char *c = alias; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return alias;
}

static qcolumn *add_column(qplan *p, const char *name, dpos pos)
{
    p->cols = xrealloc(p->cols, (p->ncols + 1) * sizeof *p->cols);
    qcolumn *c = &p->cols[p->ncols++];
    memset(c, 0, sizeof *c);
    c->name = xstrdup(name);
    c->pos = pos;
    return c;
}

static void plan_select_item(builder *b, const mstr *item)
{
    char *text = trim(item->v);
    size_t expr_len = strlen(text);
    char *alias = alias_of(text, &expr_len);
    char *expr = xstrndup(text, expr_len);
    char *tbl = NULL, *col = NULL;
    bool plain = plain_column(expr, &tbl, &col);
    if (!alias && !plain) {
        diag_error(b->d, item->pos, "select item '%s' is an expression: give it a name with AS (e.g. '%s AS "
                                    "total')",
                   text, text);
        b->ok = false;
    } else {
        qcolumn *c = add_column(b->p, alias ? alias : col, item->pos);
        c->expr = trim(expr);
        if (plain) {
            const table *owner;
            char why[256];
            const column *mc = resolve(&b->qt, tbl, col, &owner, why, sizeof why);
            if (!mc) {
                diag_error(b->d, item->pos, "%s", why);
                b->ok = false;
            } else {
                c->plain = true;
                c->known = true;
                c->type = value_type(mc->stype);
                c->not_null = mc->not_null && !on_nullable_side(&b->qt, owner);
                c->src_table = owner;
                c->src_col = (size_t)(mc - owner->cols);
            }
        } else {
            size_t k = 0;
            while (expr[k] && isspace((unsigned char)expr[k]))
                k++;
            c->count = strncasecmp(expr + k, "count", 5) == 0 && (expr[k + 5] == '(' || isspace((unsigned char)expr[k + 5]));
        }
    }
    free(tbl);
    free(col);
    free(alias);
    free(expr);
    free(text);
}

/* ---- a whole query ---------------------------------------------------------------------- */

static const char *join_words(const char *type)
{
    if (!type || !strcasecmp(type, "inner"))
        return "INNER JOIN";
    if (!strcasecmp(type, "left"))
        return "LEFT JOIN";
    if (!strcasecmp(type, "right"))
        return "RIGHT JOIN";
    return "FULL JOIN";
}

static void append_list(builder *b, const mstrs *items, const char *keyword, const char *term)
{
    if (!items->set || !items->n)
        return;
    buf_printf(&b->sql, " %s ", keyword);
    for (size_t i = 0; i < items->n; i++) {
        if (i)
            buf_adds(&b->sql, ", ");
        append_fragment(b, &items->items[i], term, SQLFRAG_NO_TOP_COMMA, false, NULL, NULL);
    }
}

static bool plan_one(const model *m, diag *d, const query *q, qplan *p)
{
    builder b;
    memset(&b, 0, sizeof b);
    b.m = m;
    b.d = d;
    b.p = p;
    b.ok = true;
    buf_init(&b.sql);
    memset(p, 0, sizeof *p);
    p->q = q;

    const table *from = model_find_table(m, q->from.v);
    b.qt.t[b.qt.n++] = from;
    for (size_t j = 0; j < q->njoins && b.qt.n < 64; j++) {
        const table *jt = model_find_table(m, q->joins[j].table.v);
        for (size_t k = 0; k < b.qt.n; k++)
            if (b.qt.t[k] == jt) {
                diag_error(d, q->joins[j].table.pos, "table '%s' is already in the query; joining a table "
                                                     "twice needs aliases, which db:join does not have",
                           jt->name);
                b.ok = false;
            }
        const char *type = q->joins[j].type.v;
        bool left = type && !strcasecmp(type, "left"), right = type && !strcasecmp(type, "right");
        bool full = type && !strcasecmp(type, "full");
        if (right || full)
            for (size_t k = 0; k < b.qt.n; k++)
                b.qt.nullable[k] = true;
        b.qt.nullable[b.qt.n] = left || full;
        b.qt.t[b.qt.n++] = jt;
    }
    p->nullable_tables = xcalloc(b.qt.n, sizeof *p->nullable_tables);
    for (size_t k = 0; k < b.qt.n; k++)
        if (b.qt.nullable[k])
            p->nullable_tables[p->nnullable++] = b.qt.t[k];

    /* SELECT */
    buf_adds(&b.sql, "SELECT ");
    if (q->select.set && q->select.n) {
        for (size_t i = 0; i < q->select.n; i++) {
            if (i)
                buf_adds(&b.sql, ", ");
            append_fragment(&b, &q->select.items[i], "a db:select item", SQLFRAG_NO_TOP_COMMA, false, NULL, NULL);
            plan_select_item(&b, &q->select.items[i]);
        }
    } else {
        if (b.qt.nullable[0]) {
            diag_error(d, q->pos, "query %s has no db:select, so it returns rows of table '%s', but a join makes "
                                  "that table's columns nullable; list the columns in db:select",
                       naming_local_name(q->iri), from->name);
            b.ok = false;
        }
        p->row_table = from;
        for (size_t i = 0; i < from->ncols; i++) {
            const column *c = &from->cols[i];
            buf_printf(&b.sql, "%s%s.%s", i ? ", " : "", from->sql, c->sql);
            qcolumn *qc = add_column(p, c->name.v, c->pos);
            qc->expr = xasprintf("%s.%s", from->sql, c->sql);
            qc->src_table = from;
            qc->src_col = i;
            qc->plain = qc->known = true;
            qc->type = value_type(c->stype);
            qc->not_null = c->not_null;
        }
    }
    /* FROM and joins */
    p->from_at = b.sql.len;
    buf_printf(&b.sql, " FROM %s", from->sql);
    for (size_t j = 0; j < q->njoins; j++) {
        const table *jt = model_find_table(m, q->joins[j].table.v);
        buf_printf(&b.sql, " %s %s ON ", join_words(q->joins[j].type.v), jt->sql);
        append_fragment(&b, &q->joins[j].on, "db:on", 0, false, NULL, NULL);
    }
    /* WHERE: placeholders first ... */
    if (q->where.set && q->where.condition.v) {
        buf_adds(&b.sql, " WHERE ");
        size_t *marks = NULL, nmarks = 0;
        if (append_fragment(&b, &q->where.condition, "db:condition", 0, true, &marks, &nmarks)) {
            if (q->where.params.set && q->where.params.n != nmarks) {
                diag_error(d, q->where.params.pos, "db:params gives %zu example values for %zu '?' in the condition",
                           q->where.params.n, nmarks);
                b.ok = false;
            }
            for (size_t i = 0; i < nmarks; i++)
                add_param(&b, q->where.condition.v, marks[i], &q->where.params, i, q->where.condition.pos);
        }
        free(marks);
    }
    append_list(&b, &q->group_by, "GROUP BY", "a db:groupBy item");
    /* ... then HAVING */
    if (q->having.v) {
        buf_adds(&b.sql, " HAVING ");
        size_t *marks = NULL, nmarks = 0;
        if (append_fragment(&b, &q->having, "db:having", 0, true, &marks, &nmarks)) {
            if (q->having_params.set && q->having_params.n != nmarks) {
                diag_error(d, q->having_params.pos, "db:havingParams gives %zu example values for %zu '?' in "
                                                    "db:having",
                           q->having_params.n, nmarks);
                b.ok = false;
            }
            for (size_t i = 0; i < nmarks; i++)
                add_param(&b, q->having.v, marks[i], &q->having_params, i, q->having.pos);
        }
        free(marks);
    } else if (q->having_params.set) {
        diag_error(d, q->having_params.pos, "db:havingParams without db:having");
        b.ok = false;
    }
    p->tail_at = b.sql.len;
    append_list(&b, &q->order_by, "ORDER BY", "a db:orderBy item");
    if (q->limit.set)
        buf_printf(&b.sql, " LIMIT %lld", (long long)q->limit.v);

    name_params(&b);
    p->returns = q->returns.v ? (!strcasecmp(q->returns.v, "one") ? QR_ONE : !strcasecmp(q->returns.v, "none") ? QR_NONE : QR_MANY)
                              : (q->limit.set && q->limit.v == 1 ? QR_ONE : QR_MANY);
    p->sql = buf_take(&b.sql);
    p->hash = fnv1a64(p->sql, strlen(p->sql), FNV64_OFFSET);

    /* C names of the result columns, distinct with their NULL flags */
    for (size_t i = 0; i < p->ncols; i++) {
        qcolumn *c = &p->cols[i];
        char why[256];
        if (!naming_check_identifier(c->name, why, sizeof why)) {
            diag_error(d, c->pos, "result column: %s", why);
            b.ok = false;
            continue;
        }
        c->c_name = naming_c_ident(c->name);
        c->c_flag = naming_is_c_keyword(c->name) ? xstrdup(c->name) : xstrdup(c->c_name);
        for (size_t j = 0; j < i; j++)
            if (p->cols[j].c_name && strcmp(p->cols[j].name, c->name) == 0) {
                diag_error(d, c->pos, "two result columns are named '%s'; give one an alias with AS", c->name);
                b.ok = false;
            }
    }
    qplan_apply_overrides(p);
    return b.ok;
}

void qplan_apply_overrides(qplan *p)
{
    for (size_t i = 0; i < p->ncols; i++) {
        qcolumn *c = &p->cols[i];
        if (c->count)
            c->not_null = true;
        for (size_t k = 0; k < p->q->result_not_null.n; k++)
            if (!strcmp(p->q->result_not_null.items[k].v, c->name))
                c->not_null = true;
        for (size_t k = 0; k < p->q->result_nullable.n; k++)
            if (!strcmp(p->q->result_nullable.items[k].v, c->name))
                c->not_null = false;
    }
}

bool qplans_build(const model *m, diag *d, qplan **out, size_t *n)
{
    *out = xcalloc(m->nqueries ? m->nqueries : 1, sizeof **out);
    *n = m->nqueries;
    bool ok = true;
    for (size_t i = 0; i < m->nqueries; i++) {
        const query *q = m->queries[i];
        if (!plan_one(m, d, q, &(*out)[i]))
            ok = false;
        /* overrides must name result columns */
        const mstrs *lists[2] = {&q->result_not_null, &q->result_nullable};
        for (size_t l = 0; l < 2; l++)
            for (size_t k = 0; k < lists[l]->n; k++) {
                bool found = false;
                for (size_t c = 0; c < (*out)[i].ncols && !found; c++)
                    found = !strcmp((*out)[i].cols[c].name, lists[l]->items[k].v);
                if (!found) {
                    diag_error(d, lists[l]->items[k].pos, "'%s' is not a result column of this query",
                               lists[l]->items[k].v);
                    ok = false;
                }
            }
    }
    return ok;
}

void qplans_free(qplan *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].sql);
        for (size_t k = 0; k < p[i].nparams; k++)
            free(p[i].params[k].name);
        free(p[i].params);
        for (size_t k = 0; k < p[i].ncols; k++) {
            free(p[i].cols[k].name);
            free(p[i].cols[k].c_name);
            free(p[i].cols[k].c_flag);
            free(p[i].cols[k].expr);
        }
        free(p[i].cols);
        free(p[i].frags);
        free(p[i].nullable_tables);
    }
    free(p);
}

dpos qplan_place(const qplan *p, size_t sql_position)
{
    /* PostgreSQL counts characters from 1; the SQL is UTF-8: convert. */
    size_t byte = 0, chars = 1;
    while (p->sql[byte] && chars < sql_position) {
        byte++;
        while (((unsigned char)p->sql[byte] & 0xC0) == 0x80)
            byte++;
        chars++;
    }
    for (size_t i = 0; i < p->nfrags; i++) {
        const qfragment *f = &p->frags[i];
        if (byte >= f->start && byte < f->start + f->len) {
            dpos pos = f->pos;
            /* inside a one-line string literal, move to the character;
             * '?' became "$n", so this is exact up to the first one */
            pos.col += 1 + (unsigned)(byte - f->start);
            return pos;
        }
    }
    return p->q->pos;
}
