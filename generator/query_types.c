#include "query_types.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"
#include "util.h"

/* ---- PostgreSQL type OIDs ---------------------------------------------------------- */

static const struct {
    unsigned oid;
    sqltype_kind kind;
} oids[] = {
    {21, ST_SMALLINT}, {23, ST_INTEGER}, {20, ST_BIGINT},    {16, ST_BOOLEAN}, {700, ST_REAL},
    {701, ST_DOUBLE},  {1700, ST_NUMERIC}, {25, ST_TEXT},    {1043, ST_VARCHAR}, {2950, ST_UUID},
    {1082, ST_DATE},   {1114, ST_TIMESTAMP}, {1184, ST_TIMESTAMPTZ}, {3802, ST_JSONB}, {17, ST_BYTEA},
};

static bool kind_of_oid(unsigned oid, sqltype *out)
{
    for (size_t i = 0; i < sizeof oids / sizeof oids[0]; i++)
        if (oids[i].oid == oid) {
            out->kind = oids[i].kind;
            out->precision = out->scale = out->length = -1;
            return true;
        }
    return false;
}

/* "integer", "varchar": the cache's spelling of a type (no length). */
static const char *type_word(const sqltype *t)
{
    return sqltype_info_of(t->kind)->name;
}

static bool type_of_word(const char *w, sqltype *out)
{
    for (size_t i = 0; i < sizeof oids / sizeof oids[0]; i++)
        if (!strcmp(sqltype_info_of(oids[i].kind)->name, w)) {
            out->kind = oids[i].kind;
            out->precision = out->scale = out->length = -1;
            return true;
        }
    return false;
}

/* ---- the server -------------------------------------------------------------------------- */

static char *type_name(PGconn *pg, unsigned oid)
{
    char param[16];
    snprintf(param, sizeof param, "%u", oid);
    const char *values[1] = {param};
    PGresult *r = PQexecParams(pg, "SELECT format_type($1::oid, NULL)", 1, NULL, values, NULL, NULL, 0);
    char *name = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? xstrdup(PQgetvalue(r, 0, 0))
                                                                             : xasprintf("type %u", oid);
    PQclear(r);
    return name;
}

/* Nullability of result column i of the described statement. */
static bool column_not_null(PGconn *pg, const PGresult *desc, int i, const qplan *p, const qcolumn *c)
{
    Oid relid = PQftable(desc, i);
    int col = PQftablecol(desc, i);
    if (relid == InvalidOid || col <= 0)
        return c->count;
    char t[16], a[16];
    snprintf(t, sizeof t, "%u", relid);
    snprintf(a, sizeof a, "%d", col);
    const char *values[2] = {t, a};
    PGresult *r = PQexecParams(pg,
                               "SELECT c.relname, a.attnotnull FROM pg_class c JOIN pg_attribute a "
                               "ON a.attrelid = c.oid WHERE c.oid = $1::oid AND a.attnum = $2::int2",
                               2, NULL, values, NULL, NULL, 0);
    bool not_null = false;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        not_null = PQgetvalue(r, 0, 1)[0] == 't';
        const char *relname = PQgetvalue(r, 0, 0);
        for (size_t k = 0; k < p->nnullable; k++)
            if (!strcmp(p->nullable_tables[k]->name, relname))
                not_null = false;
    }
    PQclear(r);
    return not_null;
}

static bool describe(PGconn *pg, qplan *p, diag *d)
{
    PGresult *r = PQprepare(pg, "", p->sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        const char *position = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
        dpos where = position ? qplan_place(p, strtoul(position, NULL, 10)) : p->q->pos;
        diag_error(d, where, "PostgreSQL refuses query %s: %s %s", p->q->c_name, state ? state : "",
                   msg ? msg : PQerrorMessage(pg));
        const char *hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
        if (hint)
            diag_note(d, where, "hint: %s", hint);
        diag_note(d, p->q->pos, "the statement: %s", p->sql);
        PQclear(r);
        return false;
    }
    PQclear(r);
    PGresult *desc = PQdescribePrepared(pg, "");
    bool ok = PQresultStatus(desc) == PGRES_COMMAND_OK;
    if (!ok)
        diag_error(d, p->q->pos, "cannot describe query %s: %s", p->q->c_name, PQerrorMessage(pg));
    if (ok && (size_t)PQnparams(desc) != p->nparams) {
        diag_error(d, p->q->pos, "PostgreSQL counts %d parameters in query %s, dbont-gen %zu", PQnparams(desc),
                   p->q->c_name, p->nparams);
        ok = false;
    }
    if (ok && (size_t)PQnfields(desc) != p->ncols) {
        diag_error(d, p->q->pos, "PostgreSQL returns %d columns for query %s, dbont-gen expects %zu",
                   PQnfields(desc), p->q->c_name, p->ncols);
        ok = false;
    }
    for (size_t i = 0; ok && i < p->nparams; i++) {
        unsigned oid = PQparamtype(desc, (int)i);
        if (!kind_of_oid(oid, &p->params[i].type)) {
            char *name = type_name(pg, oid);
            diag_error(d, p->params[i].pos, "PostgreSQL gives parameter %zu (%s) of query %s the type %s, which "
                                            "dbont does not map; cast it, e.g. ?::text",
                       i + 1, p->params[i].name, p->q->c_name, name);
            free(name);
            ok = false;
            continue;
        }
        p->params[i].known = true;
    }
    for (size_t i = 0; ok && i < p->ncols; i++) {
        qcolumn *c = &p->cols[i];
        unsigned oid = PQftype(desc, (int)i);
        if (strcmp(PQfname(desc, (int)i), c->name) != 0) {
            diag_error(d, c->pos, "PostgreSQL names result column %zu of query %s '%s', dbont-gen expects '%s'",
                       i + 1, p->q->c_name, PQfname(desc, (int)i), c->name);
            ok = false;
            continue;
        }
        if (!kind_of_oid(oid, &c->type)) {
            char *name = type_name(pg, oid);
            diag_error(d, c->pos, "PostgreSQL gives result column '%s' of query %s the type %s, which dbont "
                                  "does not map; cast it (e.g. ::text, ::bigint, ::numeric)",
                       c->name, p->q->c_name, name);
            free(name);
            ok = false;
            continue;
        }
        c->known = true;
        c->not_null = column_not_null(pg, desc, (int)i, p, c);
    }
    PQclear(desc);
    qplan_apply_overrides(p);
    return ok;
}

bool qtypes_describe(PGconn *pg, qplan *plans, size_t n, diag *d)
{
    dpos none = {0};
    bool ok = true;
    /* Each query in its own savepoint: a refused one aborts only itself,
     * and every query's problem is reported. */
    for (size_t i = 0; i < n; i++) {
        if (!scratch_exec(pg, "SAVEPOINT dbont_query", d, none))
            return false;
        if (!describe(pg, &plans[i], d)) {
            ok = false;
            if (!scratch_exec(pg, "ROLLBACK TO SAVEPOINT dbont_query", d, none))
                return false;
        }
    }
    return ok;
}

bool qtypes_from_server(const char *dsn, const char *schema_sql, qplan *plans, size_t n, diag *d)
{
    PGconn *pg = scratch_open(dsn, "--check-dsn", schema_sql, d);
    if (!pg)
        return false;
    bool ok = qtypes_describe(pg, plans, n, d);
    scratch_close(pg);
    return ok;
}

/* ---- the cache file ------------------------------------------------------------------------- */

char *qtypes_render(const qplan *plans, size_t n, const char *version, const char *sources)
{
    buf b;
    buf_init(&b);
    buf_printf(&b,
               "# dbont query types, format 1, generated by dbont-gen %s --check-dsn from %s.\n"
               "# PostgreSQL's answer for each query's statement (parameter and result types,\n"
               "# nullability); commit it so that builds without a server generate the same code.\n",
               version, sources);
    for (size_t i = 0; i < n; i++) {
        const qplan *p = &plans[i];
        buf_printf(&b, "\nquery %s %016llx\n", p->q->c_name, p->hash);
        for (size_t k = 0; k < p->nparams; k++)
            buf_printf(&b, "  param %s %s\n", p->params[k].name, type_word(&p->params[k].type));
        for (size_t k = 0; k < p->ncols; k++)
            buf_printf(&b, "  column %s %s%s\n", p->cols[k].name, type_word(&p->cols[k].type),
                       p->cols[k].not_null ? " not-null" : "");
    }
    return buf_take(&b);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf b;
    buf_init(&b);
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&b, chunk, got);
    fclose(f);
    return buf_take(&b);
}

/* One query's entry: applied when its hash matches the plan's statement. */
typedef struct entry {
    char *name;
    unsigned long long hash;
    size_t nparams, ncols;
    char **pnames, **ptypes, **cnames, **ctypes;
    bool *cnotnull;
} entry;

static void entry_free(entry *e)
{
    for (size_t i = 0; i < e->nparams; i++) {
        free(e->pnames[i]);
        free(e->ptypes[i]);
    }
    for (size_t i = 0; i < e->ncols; i++) {
        free(e->cnames[i]);
        free(e->ctypes[i]);
    }
    free(e->pnames);
    free(e->ptypes);
    free(e->cnames);
    free(e->ctypes);
    free(e->cnotnull);
    free(e->name);
    memset(e, 0, sizeof *e);
}

static void apply(const entry *e, qplan *plans, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        qplan *p = &plans[i];
        if (strcmp(p->q->c_name, e->name) != 0 || p->hash != e->hash || p->nparams != e->nparams ||
            p->ncols != e->ncols)
            continue;
        sqltype pt[64], ct[256];
        bool fits = p->nparams <= 64 && p->ncols <= 256;
        for (size_t k = 0; fits && k < p->nparams; k++)
            fits = type_of_word(e->ptypes[k], &pt[k]);
        for (size_t k = 0; fits && k < p->ncols; k++)
            fits = type_of_word(e->ctypes[k], &ct[k]) && !strcmp(e->cnames[k], p->cols[k].name);
        if (!fits)
            continue;
        for (size_t k = 0; k < p->nparams; k++) {
            p->params[k].type = pt[k];
            p->params[k].known = true;
        }
        for (size_t k = 0; k < p->ncols; k++) {
            p->cols[k].type = ct[k];
            p->cols[k].known = true;
            p->cols[k].not_null = e->cnotnull[k];
        }
    }
}

/* "NAME TYPE[ not-null]": TYPE may hold a space (double precision). */
static void split_item(const char *s, char **name, char **type, bool *not_null)
{
    const char *sp = strchr(s, ' ');
    *name = sp ? xstrndup(s, (size_t)(sp - s)) : xstrdup(s);
    const char *t = sp ? sp + 1 : "";
    size_t n = strlen(t);
    *not_null = n >= 9 && !strcmp(t + n - 9, " not-null");
    *type = xstrndup(t, *not_null ? n - 9 : n);
}

bool qtypes_load(const char *path, qplan *plans, size_t n, diag *d)
{
    char *text = read_file(path);
    if (!text)
        return true; /* no cache: the model's types only */
    entry e = {0};
    bool in_entry = false, ok = true;
    unsigned line = 0;
    for (char *l = text; *l;) {
        char *eol = strchr(l, '\n');
        if (eol)
            *eol = '\0';
        line++;
        if (!strncmp(l, "query ", 6)) {
            if (in_entry)
                apply(&e, plans, n);
            entry_free(&e);
            char name[256];
            unsigned long long hash;
            in_entry = sscanf(l + 6, "%255s %llx", name, &hash) == 2;
            if (in_entry) {
                e.name = xstrdup(name);
                e.hash = hash;
            }
        } else if (!strncmp(l, "  param ", 8) && in_entry) {
            e.pnames = xrealloc(e.pnames, (e.nparams + 1) * sizeof *e.pnames);
            e.ptypes = xrealloc(e.ptypes, (e.nparams + 1) * sizeof *e.ptypes);
            bool unused;
            split_item(l + 8, &e.pnames[e.nparams], &e.ptypes[e.nparams], &unused);
            e.nparams++;
        } else if (!strncmp(l, "  column ", 9) && in_entry) {
            e.cnames = xrealloc(e.cnames, (e.ncols + 1) * sizeof *e.cnames);
            e.ctypes = xrealloc(e.ctypes, (e.ncols + 1) * sizeof *e.ctypes);
            e.cnotnull = xrealloc(e.cnotnull, (e.ncols + 1) * sizeof *e.cnotnull);
            split_item(l + 9, &e.cnames[e.ncols], &e.ctypes[e.ncols], &e.cnotnull[e.ncols]);
            e.ncols++;
        } else if (*l && *l != '#') {
            dpos where = {path, line, 1};
            diag_error(d, where, "malformed query types line (the file is written by dbont-gen --check-dsn; "
                                 "regenerate it)");
            ok = false;
        }
        if (!eol)
            break;
        l = eol + 1;
    }
    if (in_entry)
        apply(&e, plans, n);
    entry_free(&e);
    free(text);
    return ok;
}

bool qtypes_require(const qplan *plans, size_t n, const char *cache_path, diag *d)
{
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        const qplan *p = &plans[i];
        for (size_t k = 0; k < p->nparams; k++)
            if (!p->params[k].known) {
                diag_error(d, p->params[k].pos, "the type of parameter %zu (%s) of query %s is unknown: compare it "
                                                "with a column, give an example value (db:params / "
                                                "db:havingParams), or run dbont-gen --check-dsn DSN once to record "
                                                "PostgreSQL's answer in %s",
                           k + 1, p->params[k].name, p->q->c_name, cache_path);
                ok = false;
            }
        for (size_t k = 0; k < p->ncols; k++)
            if (!p->cols[k].known) {
                diag_error(d, p->cols[k].pos, "the type of result column '%s' of query %s comes from PostgreSQL: "
                                              "run dbont-gen --check-dsn DSN once to record it in %s (and commit "
                                              "that file), or select a plain column",
                           p->cols[k].name, p->q->c_name, cache_path);
                ok = false;
            }
    }
    return ok;
}
