#include "query_shard.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "naming.h"
#include "util.h"

/* ---- a small lexer for the ontology's SQL fragments ------------------------------------------ */

/*
 * Fragments have passed sqlfrag_scan (balanced, no ';' or comment), so
 * the lexer only has to tell words from quoted text and operators.  Each
 * token records its parenthesis depth: an '(' and its ')' have the depth
 * around them, what is between them one more.  A '?' outside quotes is a
 * parameter, as sqlfrag_scan counts them.
 */
typedef enum tkind { T_WORD, T_QIDENT, T_STRING, T_NUMBER, T_PARAM, T_OPEN, T_CLOSE, T_COMMA, T_DOT, T_OP, T_OTHER } tkind;

typedef struct tok {
    tkind kind;
    size_t start, len;
    int depth;
} tok;

typedef struct toks {
    const char *s;
    tok *v;
    size_t n;
} toks;

static bool word_start(unsigned char c)
{
    return isalpha(c) || c == '_' || c >= 0x80;
}

static bool word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static void add_tok(toks *t, tkind kind, size_t start, size_t end, int depth)
{
    t->v = xrealloc(t->v, (t->n + 1) * sizeof *t->v);
    t->v[t->n++] = (tok){kind, start, end - start, depth};
}

static toks lex(const char *s)
{
    toks t = {s, NULL, 0};
    size_t n = strlen(s), i = 0;
    int depth = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t start = i;
        if (isspace(c)) {
            i++;
        } else if (c == '\'' || ((c == 'E' || c == 'e') && s[i + 1] == '\'')) {
            bool backslash = c != '\'';
            i += backslash ? 2 : 1;
            while (i < n) {
                if (backslash && s[i] == '\\' && i + 1 < n)
                    i += 2;
                else if (s[i] == '\'' && s[i + 1] == '\'')
                    i += 2;
                else if (s[i++] == '\'')
                    break;
            }
            add_tok(&t, T_STRING, start, i, depth);
        } else if (c == '"') {
            for (i++; i < n; i++) {
                if (s[i] == '"' && s[i + 1] == '"')
                    i++;
                else if (s[i] == '"')
                    break;
            }
            i = i < n ? i + 1 : n;
            add_tok(&t, T_QIDENT, start, i, depth);
        } else if (c == '$' && (s[i + 1] == '$' || word_start((unsigned char)s[i + 1]))) {
            size_t tag = 1;
            while (word_char((unsigned char)s[i + tag]) && s[i + tag] != '$')
                tag++;
            if (s[i + tag] != '$') {
                add_tok(&t, T_OTHER, start, ++i, depth);
                continue;
            }
            tag++;
            const char *end = s + n;
            for (size_t j = i + tag; j + tag <= n; j++)
                if (strncmp(s + j, s + i, tag) == 0) {
                    end = s + j + tag;
                    break;
                }
            i = (size_t)(end - s);
            add_tok(&t, T_STRING, start, i, depth);
        } else if (isdigit(c) || (c == '.' && isdigit((unsigned char)s[i + 1]))) {
            while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.' ||
                             ((s[i] == '+' || s[i] == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E'))))
                i++;
            add_tok(&t, T_NUMBER, start, i, depth);
        } else if (word_start(c)) {
            while (i < n && word_char((unsigned char)s[i]))
                i++;
            add_tok(&t, T_WORD, start, i, depth);
        } else if (c == '(') {
            add_tok(&t, T_OPEN, start, ++i, depth++);
        } else if (c == ')') {
            add_tok(&t, T_CLOSE, start, ++i, --depth);
        } else if (c == ',') {
            add_tok(&t, T_COMMA, start, ++i, depth);
        } else if (c == '.') {
            add_tok(&t, T_DOT, start, ++i, depth);
        } else if (c == '?') {
            add_tok(&t, T_PARAM, start, ++i, depth);
        } else if (strchr("+-*/<>=~!@#%^&|`:", (int)c)) {
            while (i < n && s[i] && strchr("+-*/<>=~!@#%^&|`:", s[i]))
                i++;
            add_tok(&t, T_OP, start, i, depth);
        } else {
            add_tok(&t, T_OTHER, start, ++i, depth);
        }
    }
    return t;
}

static void toks_free(toks *t)
{
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* Token i is the unquoted word w (any case). */
static bool is_word(const toks *t, size_t i, const char *w)
{
    return i < t->n && t->v[i].kind == T_WORD && strlen(w) == t->v[i].len &&
           strncasecmp(t->s + t->v[i].start, w, t->v[i].len) == 0;
}

static bool is_op(const toks *t, size_t i, const char *op)
{
    return i < t->n && t->v[i].kind == T_OP && strlen(op) == t->v[i].len &&
           strncmp(t->s + t->v[i].start, op, t->v[i].len) == 0;
}

/* The ')' closing the '(' at i (or t->n). */
static size_t closing(const toks *t, size_t i)
{
    for (size_t j = i + 1; j < t->n; j++)
        if (t->v[j].kind == T_CLOSE && t->v[j].depth == t->v[i].depth)
            return j;
    return t->n;
}

/* The text of tokens [from, to) (caller frees). */
static char *span(const toks *t, size_t from, size_t to)
{
    if (from >= to)
        return xstrdup("");
    return xstrndup(t->s + t->v[from].start, t->v[to - 1].start + t->v[to - 1].len - t->v[from].start);
}

/* Tokens [from, to) with one space between them, unquoted words in lower
 * case: two spellings of one expression compare equal. */
static char *normalized(const toks *t, size_t from, size_t to)
{
    buf b;
    buf_init(&b);
    for (size_t i = from; i < to; i++) {
        if (i > from)
            buf_addc(&b, ' ');
        const tok *k = &t->v[i];
        for (size_t c = 0; c < k->len; c++) {
            char ch = t->s[k->start + c];
            buf_addc(&b, k->kind == T_WORD ? (char)tolower((unsigned char)ch) : ch);
        }
    }
    return buf_take(&b);
}

/* An identifier token as PostgreSQL reads it: unquoted folded to lower
 * case, quoted as written (caller frees). */
static char *ident(const toks *t, size_t i)
{
    const tok *k = &t->v[i];
    if (k->kind == T_WORD) {
        char *w = xstrndup(t->s + k->start, k->len);
        for (char *c = w; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        return w;
    }
    buf b;
    buf_init(&b);
    for (size_t c = 1; c + 1 < k->len; c++) {
        buf_addc(&b, t->s[k->start + c]);
        if (t->s[k->start + c] == '"')
            c++;
    }
    return buf_take(&b);
}

static bool is_ident(const toks *t, size_t i)
{
    return i < t->n && (t->v[i].kind == T_WORD || t->v[i].kind == T_QIDENT);
}

/* ---- the query's tables ------------------------------------------------------------------------ */

typedef struct ctx {
    const model *m;
    diag *d;
    const qplan *p;
    const query *q;
    const table *t[64];
    size_t nt;
    bool ok;
} ctx;

/* Tokens [from, to) are a column reference ("col", "tbl.col"): the column
 * of the query's first ntables tables it names, when exactly one. */
static const column *column_ref(const ctx *c, const toks *t, size_t from, size_t to, size_t ntables,
                                const table **owner)
{
    char *tbl = NULL, *col = NULL;
    if (to == from + 1 && is_ident(t, from)) {
        col = ident(t, from);
    } else if (to == from + 3 && is_ident(t, from) && t->v[from + 1].kind == T_DOT && is_ident(t, from + 2)) {
        tbl = ident(t, from);
        col = ident(t, from + 2);
    } else {
        return NULL;
    }
    const column *found = NULL;
    size_t hits = 0;
    for (size_t i = 0; i < ntables; i++) {
        if (tbl && strcmp(c->t[i]->name, tbl) != 0)
            continue;
        size_t k = table_find_column(c->t[i], col);
        if (k == (size_t)-1)
            continue;
        if (!hits++) {
            found = &c->t[i]->cols[k];
            *owner = c->t[i];
        }
    }
    free(tbl);
    free(col);
    return hits == 1 ? found : NULL;
}

static bool is_shard_key(const table *owner, const column *col)
{
    return owner->hash_shard && col == &owner->cols[owner->hash_shard->key_col];
}

static bool multi_tenant(const table *t)
{
    return t->tenant_col != (size_t)-1;
}

/* ---- top-level AND chains ------------------------------------------------------------------------ */

/*
 * The terms of t's top-level AND chain, as [start, end) token ranges
 * (*n of them, caller frees).  NULL when the chain cannot be trusted: an
 * OR at the top level (AND binds tighter, so "a = ? AND b OR c" pins
 * nothing), or a BETWEEN, whose own AND would split wrongly.
 */
static size_t *and_terms(const toks *t, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].depth == 0 && (is_word(t, i, "or") || is_word(t, i, "between")))
            return NULL;
    size_t *terms = xmalloc(2 * (t->n + 1) * sizeof *terms);
    size_t start = 0;
    for (size_t i = 0; i <= t->n; i++) {
        if (i == t->n || (t->v[i].depth == 0 && is_word(t, i, "and"))) {
            terms[2 * *n] = start;
            terms[2 * *n + 1] = i;
            (*n)++;
            start = i + 1;
        }
    }
    return terms;
}

/* The split of tokens [from, to) at a single top-level "=": both sides
 * column references of the first ntables tables. */
static bool equated_columns(const ctx *c, const toks *t, size_t from, size_t to, size_t ntables,
                            const table **ta, const column **ca, const table **tb, const column **cb)
{
    for (size_t i = from; i < to; i++)
        if (is_op(t, i, "=")) {
            *ca = column_ref(c, t, from, i, ntables, ta);
            *cb = column_ref(c, t, i + 1, to, ntables, tb);
            return *ca && *cb;
        }
    return false;
}

/* The parameter a top-level "<FROM key> = ?" (or "? = <FROM key>") of the
 * condition pins the key to, or (size_t)-1.  Parameters are numbered by
 * their '?' in the condition, which comes first in the statement. */
static size_t pinned_param(const ctx *c)
{
    const mstr *cond = &c->q->where.condition;
    if (!c->q->where.set || !cond->v)
        return (size_t)-1;
    toks t = lex(cond->v);
    size_t nterms, found = (size_t)-1;
    size_t *terms = and_terms(&t, &nterms);
    for (size_t k = 0; terms && k < nterms && found == (size_t)-1; k++) {
        size_t from = terms[2 * k], to = terms[2 * k + 1], param;
        const table *owner = NULL;
        const column *col = NULL;
        if (to - from >= 3 && is_op(&t, to - 2, "=") && t.v[to - 1].kind == T_PARAM) {
            col = column_ref(c, &t, from, to - 2, c->nt, &owner);
            param = to - 1;
        } else if (to - from >= 3 && t.v[from].kind == T_PARAM && is_op(&t, from + 1, "=")) {
            col = column_ref(c, &t, from + 2, to, c->nt, &owner);
            param = from;
        } else {
            continue;
        }
        if (!col || owner != c->t[0] || !is_shard_key(owner, col))
            continue;
        size_t index = 0;
        for (size_t i = 0; i < param; i++)
            index += t.v[i].kind == T_PARAM;
        found = index;
    }
    free(terms);
    toks_free(&t);
    return found;
}

/* ---- checks common to routed queries and fan-outs ------------------------------------------------ */

/* Refuses a subquery in fragment f (what: "db:condition"): its rows may be
 * on other shards, which dbont-gen cannot tell. */
static void no_subquery(ctx *c, const mstr *f, const char *what)
{
    if (!f->v)
        return;
    toks t = lex(f->v);
    for (size_t i = 0; i < t.n; i++)
        if (is_word(&t, i, "select")) {
            diag_error(c->d, f->pos,
                       "query %s reads sharded tables, and this subquery (in %s) may need rows of other "
                       "shards, which dbont-gen cannot check; join on the shard keys instead, or make it a "
                       "query of its own",
                       c->q->c_name, what);
            c->ok = false;
            break;
        }
    toks_free(&t);
}

/* Every table on one shard per key: sharded alike, each join equating the
 * joined table's shard key with that of a table before it.  In a tenant
 * session (tenant), a multi-tenant table needs no such join (the session
 * sees its tenant's rows only, all on the tenant's shard), and a right or
 * full join would keep a table's rows of that shard only. */
static void check_joins(ctx *c, bool tenant)
{
    const shard_strategy *s0 = c->t[0]->hash_shard;
    for (size_t j = 0; j < c->q->njoins; j++) {
        const join_clause *jn = &c->q->joins[j];
        const table *jt = c->t[j + 1];
        if (tenant && multi_tenant(jt))
            continue;
        const char *type = jn->type.v ? jn->type.v : "inner";
        if (tenant && (!strcasecmp(type, "right") || !strcasecmp(type, "full"))) {
            diag_error(c->d, jn->type.pos,
                       "query %s runs in a tenant session on the tenant's shard, and a %s join keeps the rows "
                       "of '%s' that match none of the tenant's, but only those on that shard; use an inner "
                       "or left join",
                       c->q->c_name, type, jt->name);
            c->ok = false;
            continue;
        }
        toks t = lex(jn->on.v);
        size_t nterms;
        size_t *terms = and_terms(&t, &nterms);
        bool keys = false;
        for (size_t k = 0; terms && k < nterms && !keys; k++) {
            const table *ta, *tb;
            const column *ca, *cb;
            if (!equated_columns(c, &t, terms[2 * k], terms[2 * k + 1], j + 2, &ta, &ca, &tb, &cb))
                continue;
            keys = is_shard_key(ta, ca) && is_shard_key(tb, cb) && ta != tb && (ta == jt || tb == jt);
        }
        free(terms);
        toks_free(&t);
        if (!keys) {
            diag_error(c->d, jn->on.pos,
                       "query %s joins '%s' on a condition that does not equate its shard key '%s.%s' with the "
                       "shard key of a table before it (such as '%s.%s'), as a term of a top-level AND chain: the "
                       "rows it joins could be on different shards; shard both tables by the columns they are "
                       "joined on",
                       c->q->c_name, jt->name, jt->name, jt->hash_shard->key.v, c->t[0]->name, s0->key.v);
            c->ok = false;
        }
    }
}

/* ---- fan-out ---------------------------------------------------------------------------------------- */

static const char *const combinable[] = {"count", "sum", "min", "max"};
static const qshard_agg combinable_kind[] = {QSHARD_COUNT, QSHARD_SUM, QSHARD_MIN, QSHARD_MAX};

/* PostgreSQL's aggregates that the merge cannot combine from per-shard
 * results. */
static const char *const other_aggregates[] = {
    "avg", "array_agg", "string_agg", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg",
    "json_objectagg", "json_arrayagg", "xmlagg", "bool_and", "bool_or", "every", "bit_and", "bit_or", "bit_xor",
    "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "corr", "covar_pop", "covar_samp",
    "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy",
    "regr_syy", "percentile_cont", "percentile_disc", "mode", "range_agg", "range_intersect_agg", "any_value",
    "grouping"};

static int word_in(const toks *t, size_t i, const char *const *list, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (is_word(t, i, list[k]))
            return (int)k;
    return -1;
}

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The common start of a fan-out refusal. */
static char *fanout_why(const ctx *c)
{
    const table *t = c->t[0];
    return xasprintf("query %s runs on every shard (no '%s.%s = ?' at the top level of its db:condition routes it "
                     "to one), so the shards' rows are merged, and",
                     c->q->c_name, t->name, t->hash_shard->key.v);
}

/* What a result column is across shards: -1 a plain value, else its
 * qshard_agg.  Refuses what cannot be combined. */
static int classify_column(ctx *c, size_t i, const char *why)
{
    const qcolumn *col = &c->p->cols[i];
    toks t = lex(col->expr);
    int kind = -1;
    /* "count(...)" or "pg_catalog.count(...)", and nothing after it */
    size_t fn = is_word(&t, 0, "pg_catalog") && t.n > 2 && t.v[1].kind == T_DOT ? 2 : 0;
    int exact = t.n > fn + 1 && t.v[fn + 1].kind == T_OPEN && closing(&t, fn + 1) == t.n - 1
                    ? word_in(&t, fn, combinable, NELEMS(combinable))
                    : -1;
    for (size_t k = 1; k < t.n; k++)
        if (is_word(&t, k, "over") && t.v[k - 1].kind == T_CLOSE) {
            diag_error(c->d, col->pos, "%s a window function (OVER) computes over each shard's rows alone", why);
            c->ok = false;
            toks_free(&t);
            return -2;
        }
    for (size_t k = 0; k < t.n; k++) {
        if (t.v[k].kind != T_WORD || k + 1 >= t.n || t.v[k + 1].kind != T_OPEN)
            continue;
        int other = word_in(&t, k, other_aggregates, NELEMS(other_aggregates));
        char *name = ident(&t, k);
        if (other >= 0 && !strcmp(name, "avg")) {
            diag_error(c->d, col->pos, "%s avg(...) cannot be combined from the shards' results; select sum(...) "
                                       "and count(...) and divide them",
                       why);
        } else if (other >= 0) {
            diag_error(c->d, col->pos, "%s %s(...) cannot be combined from the shards' results (only count, sum, "
                                       "min and max can)",
                       why, name);
        } else if (word_in(&t, k, combinable, NELEMS(combinable)) >= 0 && k == fn && exact >= 0 &&
                   is_word(&t, k + 2, "distinct")) {
            diag_error(c->d, col->pos, "%s %s(DISTINCT ...) cannot be combined: a value on several shards would "
                                       "be counted once on each",
                       why, name);
        } else if (word_in(&t, k, combinable, NELEMS(combinable)) >= 0 && (k != fn || exact < 0)) {
            diag_error(c->d, col->pos, "%s '%s' is not count(...), sum(...), min(...) or max(...) standing alone: "
                                       "only those can be combined from the shards' results; compute the rest "
                                       "from them",
                       why, col->expr);
        } else {
            free(name);
            continue;
        }
        free(name);
        c->ok = false;
        kind = -2;
        break;
    }
    if (kind == -1 && exact >= 0)
        kind = (int)combinable_kind[exact];
    toks_free(&t);
    return kind;
}

/* The result column that tokens [from, to) of an ORDER BY (or, with
 * group_by, GROUP BY) item name, or -1: by position, by output name, as
 * the same table column, or as the same expression.  ORDER BY takes a
 * bare name as an output column first, GROUP BY as an input column first
 * (PostgreSQL's rules). */
static long match_column(const ctx *c, const toks *t, size_t from, size_t to, bool group_by)
{
    const qplan *p = c->p;
    if (to == from + 1 && t->v[from].kind == T_NUMBER) {
        char *num = span(t, from, to);
        char *end;
        long v = strtol(num, &end, 10);
        bool whole = *end == '\0';
        free(num);
        return whole && v >= 1 && (size_t)v <= p->ncols ? v - 1 : -1;
    }
    const table *owner = NULL;
    const column *src = column_ref(c, t, from, to, c->nt, &owner);
    if (to == from + 1 && is_ident(t, from) && !(group_by && src)) {
        char *name = ident(t, from);
        for (size_t i = 0; i < p->ncols; i++)
            if (!strcmp(p->cols[i].name, name)) {
                free(name);
                return (long)i;
            }
        free(name);
    }
    if (src) {
        for (size_t i = 0; i < p->ncols; i++)
            if (p->cols[i].src_table == owner && &owner->cols[p->cols[i].src_col] == src)
                return (long)i;
        return -1;
    }
    char *want = normalized(t, from, to);
    long found = -1;
    for (size_t i = 0; i < p->ncols && found < 0; i++) {
        toks e = lex(p->cols[i].expr);
        char *have = normalized(&e, 0, e.n);
        if (!strcmp(have, want))
            found = (long)i;
        free(have);
        toks_free(&e);
    }
    free(want);
    return found;
}

static bool textual(sqltype_kind k)
{
    return k == ST_TEXT || k == ST_VARCHAR;
}

/* A result column's expression as a sort key over text: bytewise. */
static void text_key(buf *b, const qcolumn *col)
{
    if (col->plain)
        buf_printf(b, "%s COLLATE \"C\"", col->expr);
    else
        buf_printf(b, "(%s) COLLATE \"C\"", col->expr);
}

/* One db:orderBy item: its key (a result column), direction and NULLS
 * placement, PostgreSQL's defaults made explicit; and the key as the
 * shard statement writes it. */
static bool order_item(ctx *c, const mstr *item, const char *why, qshard_key *key, buf *sql)
{
    toks t = lex(item->v);
    size_t end = t.n;
    bool desc = false, nulls_set = false, nulls_first = false, ok = true;
    if (end >= 2 && is_word(&t, end - 2, "nulls") && (is_word(&t, end - 1, "first") || is_word(&t, end - 1, "last"))) {
        nulls_set = true;
        nulls_first = is_word(&t, end - 1, "first");
        end -= 2;
    }
    if (end >= 1 && (is_word(&t, end - 1, "asc") || is_word(&t, end - 1, "desc"))) {
        desc = is_word(&t, end - 1, "desc");
        end--;
    } else {
        for (size_t i = 0; i < end; i++)
            if (t.v[i].depth == 0 && is_word(&t, i, "using")) {
                diag_error(c->d, item->pos, "%s db:orderBy item '%s' sorts with USING, which the merge cannot "
                                            "follow; use ASC or DESC",
                           why, item->v);
                ok = false;
            }
    }
    if (ok && end >= 2 && is_word(&t, end - 2, "collate")) {
        char *coll = t.v[end - 1].kind == T_QIDENT ? ident(&t, end - 1) : xstrdup("");
        if (strcmp(coll, "C") != 0 && strcmp(coll, "POSIX") != 0) {
            diag_error(c->d, item->pos, "%s db:orderBy item '%s' sorts by another collation than \"C\": the merge "
                                        "compares text bytewise",
                       why, item->v);
            ok = false;
        }
        free(coll);
        end -= 2;
    }
    long col = ok && end > 0 ? match_column(c, &t, 0, end, false) : -1;
    if (ok && col < 0) {
        diag_error(c->d, item->pos, "%s db:orderBy item '%s' is not a result column: the merge orders the shards' "
                                    "rows by their result columns; select it (with AS when it is an expression)",
                   why, item->v);
        ok = false;
    }
    if (ok && c->p->cols[col].type.kind == ST_JSONB) {
        diag_error(c->d, item->pos, "%s db:orderBy item '%s' is jsonb, which the merge cannot order by", why,
                   item->v);
        ok = false;
    }
    if (ok) {
        key->column = (size_t)col;
        key->descending = desc;
        key->nulls_first = nulls_set ? nulls_first : desc;
        const qcolumn *qc = &c->p->cols[col];
        if (textual(qc->type.kind)) {
            text_key(sql, qc);
        } else {
            char *text = span(&t, 0, end);
            buf_adds(sql, text);
            free(text);
        }
        buf_printf(sql, " %s NULLS %s", desc ? "DESC" : "ASC", key->nulls_first ? "FIRST" : "LAST");
    }
    toks_free(&t);
    if (!ok)
        c->ok = false;
    return ok;
}

/* A select item min(x) / max(x) over text, as min(x COLLATE "C"): the
 * shards must choose as the merge compares.  item is the item's text
 * (its alias kept). */
static char *collated_min_max(const char *item)
{
    toks t = lex(item);
    size_t open = 0;
    while (open < t.n && t.v[open].kind != T_OPEN)
        open++;
    size_t close = closing(&t, open), from = open + 1;
    if (is_word(&t, from, "all"))
        from++;
    char *arg = span(&t, from, close);
    bool simple = close == from + 1 || (close == from + 3 && t.v[from + 1].kind == T_DOT);
    size_t head = from < t.n ? t.v[from].start : 0;
    char *out = xasprintf("%.*s%s%s%s COLLATE \"C\"%s", (int)head, item, simple ? "" : "(", arg, simple ? "" : ")",
                          item + t.v[close].start);
    free(arg);
    toks_free(&t);
    return out;
}

static void plan_fanout(ctx *c, qshard *s)
{
    const qplan *p = c->p;
    const query *q = c->q;
    char *why = fanout_why(c);
    s->kind = QSHARD_FANOUT;
    s->limit = q->limit.set ? (long long)q->limit.v : -1;

    if (q->select.set && q->select.n) {
        toks t = lex(q->select.items[0].v);
        if (is_word(&t, 0, "distinct")) {
            diag_error(c->d, q->select.items[0].pos,
                       "%s SELECT DISTINCT cannot be merged: equal rows of different shards would all be kept; "
                       "list the columns in db:groupBy instead, which the merge combines",
                       why);
            c->ok = false;
        }
        toks_free(&t);
    }
    /* each result column: a value, or an aggregate the merge combines */
    int *kinds = xcalloc(p->ncols ? p->ncols : 1, sizeof *kinds);
    bool aggregates = q->group_by.set && q->group_by.n > 0;
    for (size_t i = 0; i < p->ncols; i++) {
        kinds[i] = q->select.set ? classify_column(c, i, why) : -1;
        aggregates |= kinds[i] >= 0;
    }
    if (q->having.v) {
        diag_error(c->d, q->having.pos, "%s db:having cannot be applied on each shard: it would judge a group by "
                                        "one shard's part of it",
                   why);
        c->ok = false;
    }
    if (aggregates) {
        s->aggs = xcalloc(p->ncols ? p->ncols : 1, sizeof *s->aggs);
        bool *grouped = xcalloc(p->ncols ? p->ncols : 1, sizeof *grouped);
        for (size_t g = 0; g < q->group_by.n; g++) {
            const mstr *item = &q->group_by.items[g];
            toks t = lex(item->v);
            long col = match_column(c, &t, 0, t.n, true);
            toks_free(&t);
            if (col < 0) {
                diag_error(c->d, item->pos, "%s db:groupBy item '%s' is not a result column: the merge combines the "
                                            "shards' groups by their result columns; select it",
                           why, item->v);
                c->ok = false;
            } else if (p->cols[col].type.kind == ST_JSONB) {
                diag_error(c->d, item->pos, "%s db:groupBy item '%s' is jsonb, which the merge cannot group by", why,
                           item->v);
                c->ok = false;
            } else {
                grouped[col] = true;
            }
        }
        for (size_t i = 0; i < p->ncols; i++) {
            if (kinds[i] >= 0)
                s->aggs[i] = (qshard_agg)kinds[i];
            else if (grouped[i])
                s->aggs[i] = QSHARD_GROUP;
            else if (kinds[i] == -1) {
                diag_error(c->d, p->cols[i].pos, "%s result column '%s' is neither a db:groupBy item nor count, sum, "
                                                 "min or max(...): groups of different shards could not be combined",
                           why, p->cols[i].name);
                c->ok = false;
            }
        }
        free(grouped);
    }
    /* the merge's order; the shard statement sorts alike (without
     * aggregates: with them the merge sorts the combined groups) */
    buf order;
    buf_init(&order);
    if (q->order_by.set && q->order_by.n) {
        s->order = xcalloc(q->order_by.n, sizeof *s->order);
        for (size_t i = 0; i < q->order_by.n; i++) {
            if (s->norder)
                buf_adds(&order, ", ");
            if (order_item(c, &q->order_by.items[i], why, &s->order[s->norder], &order))
                s->norder++;
        }
    }
    /* the statement */
    buf sql;
    buf_init(&sql);
    bool rewrite = false;
    for (size_t i = 0; s->aggs && i < p->ncols; i++)
        rewrite |= (s->aggs[i] == QSHARD_MIN || s->aggs[i] == QSHARD_MAX) && textual(p->cols[i].type.kind);
    if (rewrite) {
        buf_adds(&sql, "SELECT ");
        for (size_t i = 0; i < p->ncols; i++) {
            const char *item = q->select.items[i].v;
            if (i)
                buf_adds(&sql, ", ");
            if ((s->aggs[i] == QSHARD_MIN || s->aggs[i] == QSHARD_MAX) && textual(p->cols[i].type.kind)) {
                char *collated = collated_min_max(item);
                buf_adds(&sql, collated);
                free(collated);
            } else {
                buf_adds(&sql, item);
            }
        }
        buf_add(&sql, p->sql + p->from_at, p->tail_at - p->from_at);
    } else {
        buf_add(&sql, p->sql, p->tail_at);
    }
    /* with aggregates every shard returns all its groups: a group cut
     * from one shard's answer would leave a wrong total */
    if (!aggregates && s->norder)
        buf_printf(&sql, " ORDER BY %s", order.data);
    if (!aggregates && s->limit >= 0)
        buf_printf(&sql, " LIMIT %lld", s->limit);
    s->sql = buf_take(&sql);
    buf_free(&order);
    free(kinds);
    free(why);
}

/* ---- one query ------------------------------------------------------------------------------------------ */

static void plan_one(ctx *c, qshard *s)
{
    const query *q = c->q;
    memset(s, 0, sizeof *s);
    s->kind = QSHARD_NONE;
    s->limit = -1;
    if (!q->from.v)
        return; /* a full-text search's plan */
    c->nt = 0;
    c->t[c->nt++] = model_find_table(c->m, q->from.v);
    for (size_t j = 0; j < q->njoins && c->nt < 64; j++)
        c->t[c->nt++] = model_find_table(c->m, q->joins[j].table.v);
    size_t sharded = 0;
    for (size_t i = 0; i < c->nt; i++) {
        if (!c->t[i])
            return;
        sharded += c->t[i]->hash_shard != NULL;
    }
    if (sharded == 0)
        return; /* unsharded tables: on shard 0, where they live */
    const table *from = c->t[0];
    s->table = from;

    /* sharded alike */
    bool alike = true;
    for (size_t j = 1; j < c->nt; j++) {
        const table *jt = c->t[j], *a = from->hash_shard ? from : jt, *b = from->hash_shard ? jt : from;
        const join_clause *jn = &q->joins[j - 1];
        if (!from->hash_shard && !jt->hash_shard)
            continue; /* the two on shard 0: the sharded one is reported */
        if (!from->hash_shard || !jt->hash_shard) {
            diag_error(c->d, jn->table.pos,
                       "query %s joins '%s', which is spread over %lld shards, with '%s', which is not sharded "
                       "(it lives on shard 0): the rows to join are on different servers",
                       q->c_name, a->name, (long long)a->hash_shard->shard_count.v, b->name);
            alike = false;
        } else if (jt->hash_shard->shard_count.v != from->hash_shard->shard_count.v) {
            diag_error(c->d, jn->table.pos,
                       "query %s joins '%s', spread over %lld shards, with '%s', spread over %lld: rows with equal "
                       "keys are on different shards",
                       q->c_name, from->name, (long long)from->hash_shard->shard_count.v, jt->name,
                       (long long)jt->hash_shard->shard_count.v);
            alike = false;
        }
    }
    if (!alike) {
        c->ok = false;
        return;
    }

    /* a multi-tenant table's rows are read in its tenant's session */
    for (size_t i = 0; i < c->nt; i++) {
        const table *t = c->t[i];
        if (multi_tenant(t) && t->hash_shard->key_col != t->tenant_col) {
            diag_warning(c->d, q->pos,
                         "query %s reads multi-tenant table '%s', which is sharded by '%s', not by its tenant "
                         "column '%s': a tenant's rows are on every shard, and no %s_sharded or _fanout function "
                         "is made for it",
                         q->c_name, t->name, t->hash_shard->key.v, t->cols[t->tenant_col].name.v, q->c_name);
            s->kind = QSHARD_SKIPPED;
            return;
        }
    }
    bool tenant = multi_tenant(from);
    for (size_t j = 1; j < c->nt && !tenant; j++)
        if (multi_tenant(c->t[j])) {
            diag_warning(c->d, q->joins[j - 1].table.pos,
                         "query %s joins multi-tenant table '%s' to '%s', which is not multi-tenant: a tenant "
                         "session on the tenant's shard would see only that shard's rows of '%s', so no %s_sharded "
                         "or _fanout function is made for it; put the multi-tenant table in db:from",
                         q->c_name, c->t[j]->name, from->name, from->name, q->c_name);
            s->kind = QSHARD_SKIPPED;
            return;
        }

    bool before = c->ok;
    c->ok = true;
    for (size_t i = 0; i < q->select.n; i++)
        no_subquery(c, &q->select.items[i], "a db:select item");
    for (size_t j = 0; j < q->njoins; j++)
        no_subquery(c, &q->joins[j].on, "db:on");
    no_subquery(c, &q->where.condition, "db:condition");
    for (size_t i = 0; i < q->group_by.n; i++)
        no_subquery(c, &q->group_by.items[i], "a db:groupBy item");
    no_subquery(c, &q->having, "db:having");
    for (size_t i = 0; i < q->order_by.n; i++)
        no_subquery(c, &q->order_by.items[i], "a db:orderBy item");
    if (c->ok)
        check_joins(c, tenant);
    if (c->ok) {
        const column *key = &from->cols[from->hash_shard->key_col];
        s->probe_sql = xasprintf("SELECT EXISTS (SELECT 1 FROM %s WHERE %s = $1)", from->sql, key->sql);
        if (tenant) {
            s->kind = QSHARD_TENANT;
        } else if ((s->key_param = pinned_param(c)) != (size_t)-1) {
            s->kind = QSHARD_ROUTED;
        } else {
            free(s->probe_sql);
            s->probe_sql = NULL;
            plan_fanout(c, s);
        }
    }
    c->ok = c->ok && before;
}

/* The routing class of a key type: keys of one class hash alike. */
static int key_class(sqltype_kind k)
{
    switch (k) {
    case ST_TEXT:
    case ST_VARCHAR: return 1;
    case ST_UUID: return 2;
    case ST_SMALLINT:
    case ST_INTEGER:
    case ST_BIGINT:
    case ST_SERIAL:
    case ST_BIGSERIAL: return 0;
    default: return -1;
    }
}

bool qshards_build(const model *m, const qplan *plans, size_t n, diag *d, qshard **out)
{
    *out = xcalloc(n ? n : 1, sizeof **out);
    ctx c = {m, d, NULL, NULL, {NULL}, 0, true};
    for (size_t i = 0; i < n; i++) {
        c.p = &plans[i];
        c.q = plans[i].q;
        qshard *s = &(*out)[i];
        plan_one(&c, s);
        /* a parameter of another type than the key (the server's answer
         * may say so) would route by other bytes: run everywhere.  One
         * not typed yet will be (qtypes_require), as the key's type. */
        if (s->kind == QSHARD_ROUTED) {
            const column *key = &s->table->cols[s->table->hash_shard->key_col];
            const qparam *prm = &plans[i].params[s->key_param];
            if (prm->known && key_class(prm->type.kind) != key_class(key->stype.kind)) {
                free(s->probe_sql);
                s->probe_sql = NULL;
                plan_fanout(&c, s);
            }
        }
    }
    return c.ok;
}

void qshards_free(qshard *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++) {
        free(s[i].probe_sql);
        free(s[i].sql);
        free(s[i].order);
        free(s[i].aggs);
    }
    free(s);
}
