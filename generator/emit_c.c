#include "emit.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cached.h"
#include "m4.h"
#include "query_shard.h"
#include "sqltypes.h"

char *c_string_literal(const char *s)
{
    buf b;
    buf_init(&b);
    buf_addc(&b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': buf_adds(&b, "\\\""); break;
        case '\\': buf_adds(&b, "\\\\"); break;
        case '\n': buf_adds(&b, "\\n"); break;
        case '\t': buf_adds(&b, "\\t"); break;
        case '\r': buf_adds(&b, "\\r"); break;
        case '?':
            /* "??x" would be a trigraph under -std=c11 */
            buf_adds(&b, p[1] == '?' ? "?\\" : "?");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                buf_printf(&b, "\\%03o", *p);
            else
                buf_addc(&b, (char)*p);
        }
    }
    buf_addc(&b, '"');
    return buf_take(&b);
}

/* "const char *" + "email" -> "const char *email" */
static char *declaration(const char *type, const char *name)
{
    size_t n = strlen(type);
    return xasprintf("%s%s%s", type, n && type[n - 1] == '*' ? "" : " ", name);
}

static void call(buf *out, const char *macro, const char *kinds, ...)
{
    const char *args[16];
    va_list ap;
    va_start(ap, kinds);
    for (size_t i = 0; kinds[i] && i < 16; i++)
        args[i] = va_arg(ap, const char *);
    va_end(ap);
    m4_call(out, macro, kinds, args);
}

/* s in upper case, for macro names (caller frees). */
static char *upper(const char *s)
{
    char *u = xstrdup(s);
    for (char *p = u; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return u;
}

/* Names of the parameters of get and delete: the key columns' C names,
 * except that conn, out and err stay the fixed parameters' names. */
static char *key_param_name(const column *c)
{
    static const char *const fixed[] = {"conn", "out", "err"};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(c->c_name, fixed[i]) == 0)
            return xasprintf("%s_value", c->c_name);
    return xstrdup(c->c_name);
}

/* ---- SQL of the statements ------------------------------------------------------ */

static void column_list(buf *b, const table *t)
{
    for (size_t i = 0; i < t->ncols; i++)
        buf_printf(b, "%s%s", i ? ", " : "", t->cols[i].sql);
}

static void key_condition(buf *b, const table *t)
{
    buf_adds(b, " WHERE ");
    for (size_t i = 0; i < t->npk; i++)
        buf_printf(b, "%s%s = $%zu", i ? " AND " : "", t->cols[t->pk[i]].sql, i + 1);
}

static bool is_key(const table *t, size_t col)
{
    for (size_t i = 0; i < t->npk; i++)
        if (t->pk[i] == col)
            return true;
    return false;
}

typedef struct stmt {
    char *sql;
    unsigned oids[1600 + 2];
    size_t n;
} stmt;

static void add_oid(stmt *s, const column *c)
{
    s->oids[s->n++] = sqltype_info_of(c->stype.kind)->oid;
}

/* The statement id: FNV-1a of the SQL text, then each parameter type OID
 * as 4 big-endian bytes. */
static unsigned long long stmt_id(const char *sql, const unsigned *oids, size_t n)
{
    unsigned long long h = fnv1a64(sql, strlen(sql), FNV64_OFFSET);
    for (size_t i = 0; i < n; i++) {
        unsigned char be[4] = {(unsigned char)(oids[i] >> 24), (unsigned char)(oids[i] >> 16),
                               (unsigned char)(oids[i] >> 8), (unsigned char)oids[i]};
        h = fnv1a64(be, 4, h);
    }
    return h;
}

static void emit_stmt(buf *out, const char *var, const stmt *s)
{
    unsigned long long id = stmt_id(s->sql, s->oids, s->n);
    char idtext[32], name[40], nparams[16];
    snprintf(idtext, sizeof idtext, "0x%016llx", id);
    snprintf(name, sizeof name, "\"dbont_%016llx\"", id);
    snprintf(nparams, sizeof nparams, "%zu", s->n);
    buf oids;
    buf_init(&oids);
    for (size_t i = 0; i < s->n; i++)
        buf_printf(&oids, "%s%u", i ? ", " : "", s->oids[i]);
    char *sql = c_string_literal(s->sql);
    call(out, "d4_c_stmt", "vvvvvv", var, idtext, name, sql, nparams, oids.data);
    free(sql);
    buf_free(&oids);
}

/* ---- relations: the tables whose foreign keys point at a table --------------------- */

typedef struct relation {
    const table *from;   /* the referencing table */
    const column *col;   /* its referencing column */
    char *name;          /* "posts", or "posts_editor_id" when posts refers twice */
} relation;

static size_t relations_of(const model *m, const table *t, relation **out)
{
    size_t n = 0;
    *out = NULL;
    for (size_t i = 0; i < m->ntables; i++)
        for (size_t c = 0; c < m->tables[i]->ncols; c++)
            if (m->tables[i]->cols[c].ref_table == t) {
                *out = xrealloc(*out, (n + 1) * sizeof **out);
                (*out)[n].from = m->tables[i];
                (*out)[n].col = &m->tables[i]->cols[c];
                (*out)[n].name = NULL;
                n++;
            }
    for (size_t i = 0; i < n; i++) {
        size_t same = 0;
        for (size_t j = 0; j < n; j++)
            same += (*out)[j].from == (*out)[i].from;
        (*out)[i].name = same > 1 ? xasprintf("%s_%s", (*out)[i].from->c_name, (*out)[i].col->c_name)
                                  : xstrdup((*out)[i].from->c_name);
    }
    return n;
}

static void relations_free(relation *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].name);
    free(r);
}

/* EXISTS (SELECT 1 FROM posts AS dbont_related WHERE dbont_related.user_id = users.id):
 * the alias keeps a table that refers to itself unambiguous. */
static char *exists_sql(const table *t, const relation *r)
{
    return xasprintf("EXISTS (SELECT 1 FROM %s AS dbont_related WHERE dbont_related.%s = %s.%s)", r->from->sql,
                     r->col->sql, t->sql, t->cols[r->col->ref_column].sql);
}

/* ---- per table ------------------------------------------------------------------ */

static void emit_fields(buf *out, const table *t, bool new_row)
{
    for (size_t i = 0; i < t->ncols; i++) {
        const column *c = &t->cols[i];
        char *decl = declaration(sqltype_info_of(c->stype.kind)->c_type, c->c_name);
        call(out, "d4_h_field", "v", decl);
        free(decl);
        if (!c->not_null) {
            char *flag = xasprintf("bool %s_is_null", c->c_flag);
            call(out, "d4_h_field", "v", flag);
            free(flag);
        }
        if (new_row && c->has_default) {
            char *flag = xasprintf("bool %s_set", c->c_flag);
            call(out, "d4_h_field", "v", flag);
            free(flag);
        }
    }
}

static char *key_params(const table *t)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < t->npk; i++) {
        const column *c = &t->cols[t->pk[i]];
        char *pname = key_param_name(c);
        char *decl = declaration(sqltype_info_of(c->stype.kind)->c_type, pname);
        buf_printf(&b, "%s%s", i ? ", " : "", decl);
        free(decl);
        free(pname);
    }
    return buf_take(&b);
}

/* "_key.<field> = <param>;" for a get or delete's key struct. */
static void add_keyset(buf *sets, const column *c)
{
    char *pname = key_param_name(c);
    call(sets, "d4_c_keyset", "vv", c->c_name, pname);
    free(pname);
}

/* A consistent-hash table gets routed functions (dbont/sharded.h) when
 * a call can run in the right session: a table without a tenant, or one
 * sharded by its tenant column (each call then runs in that tenant's
 * session). */
static bool routed(const table *t)
{
    return t->hash_shard && (t->tenant_col == (size_t)-1 || t->hash_shard->key_col == t->tenant_col);
}

static bool key_in_pk(const table *t)
{
    for (size_t i = 0; i < t->npk; i++)
        if (t->pk[i] == t->hash_shard->key_col)
            return true;
    return false;
}

/* The routed get's and delete's key parameters: the shard key first when
 * the primary key lacks it (it alone says where the row is), then the
 * primary key. */
static char *routed_key_params(const table *t)
{
    char *pk = key_params(t);
    if (key_in_pk(t))
        return pk;
    const column *k = &t->cols[t->hash_shard->key_col];
    char *pname = key_param_name(k);
    char *decl = declaration(sqltype_info_of(k->stype.kind)->c_type, pname);
    char *all = xasprintf("%s, %s", decl, pk);
    free(decl);
    free(pname);
    free(pk);
    return all;
}

/* The filter struct and its setters (dbont/filter.h). */
static void emit_header_filter(buf *out, const emit_info *e, const table *t, const char *type)
{
    buf enums, setters;
    buf_init(&enums);
    buf_init(&setters);
    for (size_t i = 0; i < t->ncols; i++) {
        const column *c = &t->cols[i];
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        char *constant = xasprintf("%s_col_%s", type, c->c_flag);
        call(&enums, "d4_h_column_constant", "vvv", constant, idx, i + 1 < t->ncols ? "," : "");
        free(constant);
        if (i >= 64)
            continue; /* filters cover the first 64 columns */
        char *decl = declaration(sqltype_info_of(c->stype.kind)->c_type, "value");
        call(&setters, "d4_h_where", "vvvv", type, c->c_flag, c->c_name, decl);
        free(decl);
        call(&setters, "d4_h_where_bit", "v", idx);
        if (!c->not_null)
            call(&setters, "d4_h_where_null", "vvv", type, c->c_flag, idx);
    }
    relation *rel;
    size_t nrel = relations_of(e->m, t, &rel);
    for (size_t i = 0; i < nrel && i < 64; i++) {
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        call(&setters, "d4_h_where_has", "vvvv", type, rel[i].name, idx, rel[i].from->name);
    }
    relations_free(rel, nrel);
    call(out, "d4_h_filter", "vss", type, enums.data ? enums.data : "", setters.data ? setters.data : "");
    buf_free(&enums);
    buf_free(&setters);
}

static void emit_header_table(buf *out, const emit_info *e, const table *t)
{
    char *type = xasprintf("%s_%s", e->prefix, t->c_name);
    buf fields;
    buf_init(&fields);
    call(out, "d4_h_begin", "v", t->name);
    emit_fields(&fields, t, false);
    call(out, "d4_h_row", "vvs", type, t->name, fields.data ? fields.data : "");
    buf_reset(&fields);
    emit_fields(&fields, t, true);
    call(out, "d4_h_new", "vs", type, fields.data ? fields.data : "");
    call(out, "d4_h_rows", "v", type);
    call(out, "d4_h_insert", "v", type);
    char *keys = key_params(t);
    if (t->npk)
        call(out, "d4_h_get", "vv", type, keys);
    if (t->npk && t->npk < t->ncols)
        call(out, "d4_h_update", "v", type);
    if (t->npk)
        call(out, "d4_h_delete", "vv", type, keys);
    call(out, "d4_h_list", "vv", type, t->npk ? "primary key order" : "no defined order");
    call(out, "d4_h_copy", "v", type);
    if (routed(t)) {
        char *rkeys = t->npk ? routed_key_params(t) : xstrdup("");
        const char *how = t->tenant_col != (size_t)-1 ? "in a tenant session of the row's tenant, on its shard"
                                                      : "on the row's shard";
        call(out, "d4_h_sharded", "vv", type, how);
        if (t->npk)
            call(out, "d4_h_get_sharded", "vv", type, rkeys);
        if (t->npk && t->npk < t->ncols)
            call(out, "d4_h_update_sharded", "v", type);
        free(rkeys);
    }
    emit_header_filter(out, e, t, type);
    free(keys);
    buf_free(&fields);
    free(type);
}

static char *offset_of(const char *type, const char *field)
{
    return xasprintf("offsetof(%s, %s)", type, field);
}

static void emit_column_descs(buf *out, const char *type, const table *t)
{
    char *new_type = xasprintf("%s_new", type);
    buf cols;
    buf_init(&cols);
    for (size_t i = 0; i < t->ncols; i++) {
        const column *c = &t->cols[i];
        char *flag = xasprintf("%s_is_null", c->c_flag);
        char *set = xasprintf("%s_set", c->c_flag);
        char *name = c_string_literal(c->name.v);
        char *sql = c_string_literal(c->sql);
        char *row_off = offset_of(type, c->c_name);
        char *row_null = c->not_null ? xstrdup("DBONT_NO_FIELD") : offset_of(type, flag);
        char *new_off = offset_of(new_type, c->c_name);
        char *new_null = c->not_null ? xstrdup("DBONT_NO_FIELD") : offset_of(new_type, flag);
        char *new_set = c->has_default ? offset_of(new_type, set) : xstrdup("DBONT_NO_FIELD");
        call(&cols, "d4_c_column", "vvvvvvvvv", name, sql, sqltype_info_of(c->stype.kind)->runtime,
             c->not_null ? "true" : "false", row_off, row_null, new_off, new_null, new_set);
        free(flag);
        free(set);
        free(name);
        free(sql);
        free(row_off);
        free(row_null);
        free(new_off);
        free(new_null);
        free(new_set);
    }
    call(out, "d4_c_columns", "vs", type, cols.data);
    buf_free(&cols);
    free(new_type);
}

static unsigned long long insert_id(const table *t)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "INSERT INTO %s (", t->sql);
    column_list(&b, t);
    buf_adds(&b, ") RETURNING ");
    column_list(&b, t);
    stmt s = {b.data, {0}, 0};
    for (size_t i = 0; i < t->ncols; i++)
        add_oid(&s, &t->cols[i]);
    unsigned long long id = stmt_id(s.sql, s.oids, s.n);
    buf_free(&b);
    return id;
}

/* The routed functions: the table's dbont_sharding, then thin wrappers
 * over dbont/sharded.h. */
static void emit_source_routed(buf *out, const emit_info *e, const table *t, const char *type)
{
    char keyidx[24], *macro = upper(type), *count = xasprintf("%s_SHARD_COUNT", macro);
    snprintf(keyidx, sizeof keyidx, "%zu", t->hash_shard->key_col);
    char *setting = t->tenant_col != (size_t)-1 ? c_string_literal(e->m->tenancy.setting) : xstrdup("NULL");
    call(out, "d4_c_sharding", "vvvv", type, keyidx, count, setting);
    call(out, "d4_c_insert_sharded", "v", type);
    if (t->npk) {
        char *rkeys = routed_key_params(t);
        buf sets;
        buf_init(&sets);
        if (!key_in_pk(t))
            add_keyset(&sets, &t->cols[t->hash_shard->key_col]);
        for (size_t i = 0; i < t->npk; i++)
            add_keyset(&sets, &t->cols[t->pk[i]]);
        call(out, "d4_c_get_sharded", "vvs", type, rkeys, sets.data);
        if (t->npk < t->ncols)
            call(out, "d4_c_update_sharded", "v", type);
        call(out, "d4_c_delete_sharded", "vvs", type, rkeys, sets.data);
        buf_free(&sets);
        free(rkeys);
    }
    call(out, "d4_c_copy_sharded", "v", type);
    free(setting);
    free(count);
    free(macro);
}

static void emit_source_table(buf *out, const emit_info *e, const table *t)
{
    char *type = xasprintf("%s_%s", e->prefix, t->c_name);
    call(out, "d4_c_begin", "v", t->name);
    emit_column_descs(out, type, t);

    relation *rel;
    size_t nrel = relations_of(e->m, t, &rel);
    if (nrel) {
        buf items;
        buf_init(&items);
        for (size_t i = 0; i < nrel; i++) {
            char *name = c_string_literal(rel[i].from->name);
            char *cond = exists_sql(t, &rel[i]);
            char *lit = c_string_literal(cond);
            call(&items, "d4_c_relation", "vv", name, lit);
            free(name);
            free(cond);
            free(lit);
        }
        call(out, "d4_c_relations", "vs", type, items.data);
        buf_free(&items);
    }

    buf b;
    buf_init(&b);
    if (t->npk) {
        for (size_t i = 0; i < t->npk; i++)
            buf_printf(&b, "%s%zu", i ? ", " : "", t->pk[i]);
        call(out, "d4_c_pk", "vv", type, b.data);
    }

    stmt *s = xcalloc(1, sizeof *s);
    char *var;
    if (t->npk) {
        /* get */
        buf_reset(&b);
        buf_adds(&b, "SELECT ");
        column_list(&b, t);
        buf_printf(&b, " FROM %s", t->sql);
        key_condition(&b, t);
        s->sql = b.data;
        s->n = 0;
        for (size_t i = 0; i < t->npk; i++)
            add_oid(s, &t->cols[t->pk[i]]);
        var = xasprintf("%s_get", type);
        emit_stmt(out, var, s);
        free(var);
        /* update */
        if (t->npk < t->ncols) {
            buf_reset(&b);
            buf_printf(&b, "UPDATE %s SET ", t->sql);
            size_t param = t->npk; /* the key takes $1..$npk */
            for (size_t i = 0; i < t->ncols; i++) {
                if (is_key(t, i))
                    continue;
                param++;
                buf_printf(&b, "%s%s = $%zu", param == t->npk + 1 ? "" : ", ", t->cols[i].sql, param);
            }
            key_condition(&b, t);
            s->sql = b.data;
            s->n = 0;
            for (size_t i = 0; i < t->npk; i++)
                add_oid(s, &t->cols[t->pk[i]]);
            for (size_t i = 0; i < t->ncols; i++)
                if (!is_key(t, i))
                    add_oid(s, &t->cols[i]);
            var = xasprintf("%s_update", type);
            emit_stmt(out, var, s);
            free(var);
        }
        /* delete */
        buf_reset(&b);
        buf_printf(&b, "DELETE FROM %s", t->sql);
        key_condition(&b, t);
        s->sql = b.data;
        s->n = 0;
        for (size_t i = 0; i < t->npk; i++)
            add_oid(s, &t->cols[t->pk[i]]);
        var = xasprintf("%s_delete", type);
        emit_stmt(out, var, s);
        free(var);
    }
    /* list */
    buf_reset(&b);
    buf_adds(&b, "SELECT ");
    column_list(&b, t);
    buf_printf(&b, " FROM %s", t->sql);
    for (size_t i = 0; i < t->npk; i++)
        buf_printf(&b, "%s%s", i ? ", " : " ORDER BY ", t->cols[t->pk[i]].sql);
    buf_adds(&b, " LIMIT $1 OFFSET $2");
    s->sql = b.data;
    s->n = 2;
    s->oids[0] = s->oids[1] = 20;
    var = xasprintf("%s_list", type);
    emit_stmt(out, var, s);
    free(var);
    free(s);

    char ncols[24], npk[24], iid[32];
    snprintf(ncols, sizeof ncols, "%zu", t->ncols);
    snprintf(npk, sizeof npk, "%zu", t->npk);
    snprintf(iid, sizeof iid, "0x%016llx", insert_id(t));
    char *name = c_string_literal(t->name), *sql = c_string_literal(t->sql);
    char *pk = t->npk ? xasprintf("%s_pk", type) : xstrdup("NULL");
    char *get = t->npk ? xasprintf("&%s_get_stmt", type) : xstrdup("NULL");
    char *upd = t->npk && t->npk < t->ncols ? xasprintf("&%s_update_stmt", type) : xstrdup("NULL");
    char *del = t->npk ? xasprintf("&%s_delete_stmt", type) : xstrdup("NULL");
    char *list = xasprintf("&%s_list_stmt", type);
    char nrels[24];
    snprintf(nrels, sizeof nrels, "%zu", nrel);
    char *rels = nrel ? xasprintf("%s_relations", type) : xstrdup("NULL");
    char *entity = c_string_literal(t->event_entity);
    call(out, "d4_c_desc", "vvvvvvvvvvvvvvvv", type, name, sql, ncols, npk, pk, iid, get, upd, del, list, nrels, rels,
         t->rls_on ? "true" : "false", entity, t->tenant_col != (size_t)-1 ? "true" : "false");
    free(entity);
    free(rels);
    relations_free(rel, nrel);
    free(name);
    free(sql);
    free(pk);
    free(get);
    free(upd);
    free(del);
    free(list);

    call(out, "d4_c_common", "v", type);
    call(out, "d4_c_insert", "v", type);
    if (t->npk) {
        char *keys = key_params(t);
        buf sets;
        buf_init(&sets);
        for (size_t i = 0; i < t->npk; i++)
            add_keyset(&sets, &t->cols[t->pk[i]]);
        call(out, "d4_c_get", "vvs", type, keys, sets.data);
        if (t->npk < t->ncols)
            call(out, "d4_c_update", "v", type);
        call(out, "d4_c_delete", "vvs", type, keys, sets.data);
        buf_free(&sets);
        free(keys);
    }
    call(out, "d4_c_list", "v", type);
    call(out, "d4_c_copy", "v", type);
    if (routed(t))
        emit_source_routed(out, e, t, type);
    call(out, "d4_c_find", "v", type);
    buf_free(&b);
    free(type);
}

/* ---- queries ------------------------------------------------------------------------ */

/* "const char *email, int64_t min_count, " (each followed by ", "). */
static char *query_params_decl(const qplan *p)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < p->nparams; i++) {
        char *decl = declaration(sqltype_info_of(p->params[i].type.kind)->c_type, p->params[i].name);
        buf_printf(&b, "%s, ", decl);
        free(decl);
    }
    return buf_take(&b);
}

/* The statement as a C comment: no comment end inside. */
static char *sql_comment(const char *sql)
{
    buf b;
    buf_init(&b);
    for (const char *s = sql; *s; s++) {
        if (s[0] == '*' && s[1] == '/')
            buf_adds(&b, "* ");
        else
            buf_addc(&b, *s == '\n' ? ' ' : *s);
    }
    return buf_take(&b);
}

/* text as the lines of a C comment block, " * " each, wrapped before
 * column 78 (caller frees). */
static char *comment_lines(const char *text)
{
    buf b;
    buf_init(&b);
    const char *s = text;
    while (*s) {
        size_t n = strlen(s), cut = n;
        if (n > 74) {
            cut = 74;
            while (cut > 0 && s[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = strcspn(s, " ");
        }
        buf_printf(&b, "%s *%s%.*s", b.len ? "\n" : "", cut ? " " : "", (int)cut, s);
        s += cut;
        while (*s == ' ')
            s++;
    }
    return buf_take(&b);
}

/* The shard count macro of the table a sharded query routes by. */
static char *shard_count_macro(const emit_info *e, const table *t)
{
    char *stem = xasprintf("%s_%s", e->prefix, t->c_name), *macro = upper(stem);
    char *count = xasprintf("%s_SHARD_COUNT", macro);
    free(macro);
    free(stem);
    return count;
}

static const char *const returns_word[] = {"many", "one", "none"};

/* "const char *email, int64_t n, " -> "const char *email, int64_t n": the
 * sharded functions' skeletons put the parameters on a line of their own
 * (caller frees). */
static char *params_line(const char *params)
{
    size_t n = strlen(params);
    return xstrndup(params, n >= 2 && !strcmp(params + n - 2, ", ") ? n - 2 : n);
}

/* The routed function of a query (query_shard.h): its parameters, the
 * tenant first when it runs in the tenant's session (as params_line). */
static char *routed_args(const emit_info *e, const qshard *qs, const char *params)
{
    if (qs->kind != QSHARD_TENANT)
        return params_line(params);
    char *decl = declaration(sqltype_info_of(e->m->tenancy.type.kind)->c_type, "tenant");
    char *args = xasprintf("%s, %s", decl, params);
    char *line = params_line(args);
    free(args);
    free(decl);
    return line;
}

static void emit_header_routed(buf *out, const emit_info *e, const qplan *p, const qshard *qs, const char *type,
                               const char *params)
{
    const table *t = qs->table;
    buf text;
    buf_init(&text);
    if (qs->kind == QSHARD_TENANT)
        buf_printf(&text, "The same over a shard set (dbont/sharded.h, docs/scale-out.md), in a tenant session of "
                          "tenant on the tenant's shard (table %s is spread by its tenant column, %s)",
                   t->name, t->cols[t->tenant_col].name.v);
    else
        buf_printf(&text, "The same over a shard set (dbont/sharded.h, docs/scale-out.md), on the shard of %s (the "
                          "shard key %s of table %s)",
                   p->params[qs->key_param].name, t->cols[t->hash_shard->key_col].name.v, t->name);
    buf_adds(&text, ": its primary, or with DBONT_SHARD_READ_STALE_OK a standby.  While rows move to more shards, "
                    "it reads the key's old shard, and the new one once the key's rows have left it.  Errors name "
                    "the shard.");
    if (p->returns == QR_ONE)
        buf_adds(&text, "  DBONT_NOT_FOUND when there is no row.");
    char *comment = comment_lines(text.data);
    char *args = routed_args(e, qs, params);
    char *macro = xasprintf("d4_h_query_sharded_%s", returns_word[p->returns]);
    call(out, macro, "vvv", type, args, comment);
    free(macro);
    free(args);
    free(comment);
    buf_free(&text);
}

/* "label DESC NULLS FIRST, name ASC NULLS LAST" */
static void describe_order(buf *b, const qplan *p, const qshard *qs)
{
    for (size_t i = 0; i < qs->norder; i++) {
        const qshard_key *k = &qs->order[i];
        buf_printf(b, "%s%s %s NULLS %s", i ? ", " : "", p->cols[k->column].name, k->descending ? "DESC" : "ASC",
                   k->nulls_first ? "FIRST" : "LAST");
    }
}

static void emit_header_fanout(buf *out, const emit_info *e, const qplan *p, const qshard *qs, const char *type,
                               const char *params)
{
    buf text;
    buf_init(&text);
    buf_adds(&text, "The same on every shard of a shard set at once (dbont/fanout.h, docs/scale-out.md), the "
                    "shards' rows merged: ");
    if (qs->aggs) {
        size_t ngroups = 0;
        for (size_t i = 0; i < p->ncols; i++)
            if (qs->aggs[i] == QSHARD_GROUP)
                buf_printf(&text, "%s%s", ngroups++ ? ", " : "the groups of equal ", p->cols[i].name);
        buf_adds(&text, ngroups ? " combined" : "one row");
        buf_adds(&text, " (counts and sums added, the least of the minima and the greatest of the maxima kept)");
        if (qs->norder) {
            buf_adds(&text, ", then ordered by ");
            describe_order(&text, p, qs);
        }
    } else if (qs->norder) {
        buf_adds(&text, "in the order of ");
        describe_order(&text, p, qs);
        buf_adds(&text, " (text compared bytewise, as COLLATE \"C\" does)");
    } else {
        buf_adds(&text, "shard 0's rows first, then shard 1's, and so on");
    }
    if (qs->limit >= 0)
        buf_printf(&text, ", and the first %lld kept", qs->limit);
    char *count = shard_count_macro(e, qs->table);
    buf_printf(&text, ".  A shard that fails makes the call fail, naming it; with flags DBONT_FANOUT_PARTIAL the "
                      "other shards' rows come back, and report (needed then, with room for %s shards) says "
                      "which failed.  While rows move to more shards, a row in flight may be seen twice or not "
                      "at all.",
               count);
    if (p->returns == QR_ONE)
        buf_adds(&text, "  DBONT_NOT_FOUND when there is no row.");
    char *comment = comment_lines(text.data);
    char *macro = xasprintf("d4_h_query_fanout_%s", returns_word[p->returns]);
    char *line = params_line(params);
    call(out, macro, "vvv", type, line, comment);
    free(line);
    free(macro);
    free(count);
    free(comment);
    buf_free(&text);
}

static void emit_header_query(buf *out, const emit_info *e, const qplan *p)
{
    char *type = xasprintf("%s_%s", e->prefix, p->q->c_name);
    call(out, "d4_h_query_begin", "v", p->q->c_name);
    if (p->nparams) {
        buf fields;
        buf_init(&fields);
        for (size_t i = 0; i < p->nparams; i++) {
            char *decl = declaration(sqltype_info_of(p->params[i].type.kind)->c_type, p->params[i].name);
            call(&fields, "d4_h_field", "v", decl);
            free(decl);
        }
        call(out, "d4_h_query_params", "vs", type, fields.data);
        buf_free(&fields);
    }
    if (p->row_table) {
        char *ttype = xasprintf("%s_%s", e->prefix, p->row_table->c_name);
        call(out, "d4_h_query_table_rows", "vv", type, ttype);
        free(ttype);
    } else {
        buf fields;
        buf_init(&fields);
        for (size_t i = 0; i < p->ncols; i++) {
            const qcolumn *c = &p->cols[i];
            char *decl = declaration(sqltype_info_of(c->type.kind)->c_type, c->c_name);
            call(&fields, "d4_h_field", "v", decl);
            free(decl);
            if (!c->not_null) {
                char *flag = xasprintf("bool %s_is_null", c->c_flag);
                call(&fields, "d4_h_field", "v", flag);
                free(flag);
            }
        }
        call(out, "d4_h_query_rows", "vs", type, fields.data);
        buf_free(&fields);
    }
    char *params = query_params_decl(p);
    char *sql = sql_comment(p->sql);
    static const char *const kinds[] = {"d4_h_query_many", "d4_h_query_one", "d4_h_query_none"};
    call(out, kinds[p->returns], "vvv", type, params, sql);
    if (p->nparams)
        call(out, "d4_h_query_batch", "v", type);
    const cache_plan *cp = e->cache ? &e->cache[p - e->plans] : NULL;
    if (cp && cp->cached) {
        buf about;
        buf_init(&about);
        buf_printf(&about, "kept %u s%s", cp->ttl_s, cp->tenant_scoped ? ", per tenant" : "");
        for (size_t i = 0; i < p->q->invalidate_on.n; i++)
            buf_printf(&about, "%s%s", i ? ", " : "; invalidated by ", p->q->invalidate_on.items[i].v);
        call(out, "d4_h_query_cached", "vvv", type, params, about.data);
        buf_free(&about);
    }
    const qshard *qs = e->shards ? &e->shards[p - e->plans] : NULL;
    if (qs && (qs->kind == QSHARD_ROUTED || qs->kind == QSHARD_TENANT))
        emit_header_routed(out, e, p, qs, type, params);
    else if (qs && qs->kind == QSHARD_FANOUT)
        emit_header_fanout(out, e, p, qs, type, params);
    free(params);
    free(sql);
    free(type);
}

/* The cached variant of a query (dbont/cache.h). */
static void emit_source_cached(buf *out, const emit_info *e, const qplan *p, const char *view, const char *params,
                               const char *sets)
{
    const cache_plan *cp = &e->cache[p - e->plans];
    char *type = xasprintf("%s_%s", e->prefix, p->q->c_name);
    buf names, events;
    buf_init(&names);
    buf_init(&events);
    for (size_t i = 0; i < p->nparams; i++) {
        char *lit = c_string_literal(p->params[i].name);
        buf_printf(&names, "%s%s", i ? ", " : "", lit);
        free(lit);
    }
    for (size_t i = 0; i < p->q->invalidate_on.n; i++) {
        char *lit = c_string_literal(p->q->invalidate_on.items[i].v);
        buf_printf(&events, "%s%s", i ? ", " : "", lit);
        free(lit);
    }
    char hash[32], ttl[16], nev[16];
    snprintf(hash, sizeof hash, "0x%016llx", (unsigned long long)cp->schema_hash);
    snprintf(ttl, sizeof ttl, "%u", cp->ttl_s);
    snprintf(nev, sizeof nev, "%zu", p->q->invalidate_on.n);
    char *tmpl = p->q->cache_key_template.v ? c_string_literal(p->q->cache_key_template.v) : xstrdup("NULL");
    call(out, "d4_c_query_cached", "vvvsvvvvvvvvv", type, view, params, sets, p->nparams ? "&_p" : "NULL", hash,
         cp->tenant_scoped ? "true" : "false", ttl, tmpl, names.data ? names.data : "", events.data ? events.data : "",
         nev, p->returns == QR_ONE ? "1" : "0");
    free(tmpl);
    buf_free(&names);
    buf_free(&events);
    free(type);
}

/* The routed function of a query: its key's probe (for moves), its
 * dbont_sharded_query and the function. */
static void emit_source_routed_query(buf *out, const emit_info *e, const qplan *p, const qshard *qs,
                                     const char *type, const char *view, const char *params, const char *sets)
{
    const table *t = qs->table;
    const column *key = &t->cols[t->hash_shard->key_col];
    stmt s = {qs->probe_sql, {sqltype_info_of(key->stype.kind)->oid}, 1};
    char *var = xasprintf("%s_probe", type);
    emit_stmt(out, var, &s);
    free(var);
    bool tenant = qs->kind == QSHARD_TENANT;
    const char *key_type = sqltype_info_of(tenant ? e->m->tenancy.type.kind : p->params[qs->key_param].type.kind)->runtime;
    char *count = shard_count_macro(e, t);
    char *setting = tenant ? c_string_literal(e->m->tenancy.setting) : xstrdup("NULL");
    call(out, "d4_c_query_routing", "vvvv", type, key_type, count, setting);
    char *args = routed_args(e, qs, params);
    char *key_arg = tenant ? xstrdup("&tenant") : xasprintf("&_p.%s", p->params[qs->key_param].name);
    char *macro = xasprintf("d4_c_query_sharded_%s", returns_word[p->returns]);
    call(out, macro, "vvvsvv", type, view, args, sets, p->nparams ? "&_p" : "NULL", key_arg);
    free(macro);
    free(key_arg);
    free(args);
    free(setting);
    free(count);
}

/* The fan-out function of a query: the statement every shard runs (the
 * query's own when nothing needs rewriting), the merge spec and the
 * function. */
static void emit_source_fanout(buf *out, const emit_info *e, const qplan *p, const qshard *qs, const char *type,
                               const char *view, const char *params, const char *sets)
{
    char *query_ref;
    if (strcmp(qs->sql, p->sql) != 0) {
        char *var = xasprintf("%s_fanout", type);
        stmt s = {qs->sql, {0}, 0};
        for (size_t i = 0; i < p->nparams; i++)
            s.oids[s.n++] = sqltype_info_of(p->params[i].type.kind)->oid;
        if (p->nparams) {
            emit_stmt(out, var, &s);
        } else {
            unsigned long long id = stmt_id(s.sql, s.oids, 0);
            char idtext[32], name[40];
            snprintf(idtext, sizeof idtext, "0x%016llx", id);
            snprintf(name, sizeof name, "\"dbont_%016llx\"", id);
            char *sql = c_string_literal(s.sql);
            call(out, "d4_c_stmt_noparams", "vvvv", var, idtext, name, sql);
            free(sql);
        }
        char np[24], nc[24];
        snprintf(np, sizeof np, "%zu", p->nparams);
        snprintf(nc, sizeof nc, "%zu", p->ncols);
        char *qname = c_string_literal(p->q->c_name);
        char *ptypes = p->nparams ? xasprintf("%s_param_types", type) : xstrdup("NULL");
        char *poffs = p->nparams ? xasprintf("%s_param_offsets", type) : xstrdup("NULL");
        char *psize = p->nparams ? xasprintf("sizeof(%s_params)", type) : xstrdup("0");
        char *cols = p->row_table ? xasprintf("%s_%s_columns", e->prefix, p->row_table->c_name)
                                  : xasprintf("%s_columns", type);
        char *row = p->row_table ? xasprintf("%s_%s", e->prefix, p->row_table->c_name) : xasprintf("%s_row", type);
        call(out, "d4_c_query_desc", "vvvvvvvvvv", var, qname, np, ptypes, poffs, psize, nc, cols, row,
             p->row_table ? "table" : "own");
        free(row);
        free(cols);
        free(psize);
        free(poffs);
        free(ptypes);
        free(qname);
        query_ref = xasprintf("%s_query", var);
        free(var);
    } else {
        query_ref = xasprintf("%s_query", type);
    }
    static const char *const agg_names[] = {"DBONT_FANOUT_GROUP", "DBONT_FANOUT_COUNT", "DBONT_FANOUT_SUM",
                                            "DBONT_FANOUT_MIN", "DBONT_FANOUT_MAX"};
    buf list;
    buf_init(&list);
    if (qs->norder) {
        for (size_t i = 0; i < qs->norder; i++)
            buf_printf(&list, "%s{%zu, %s, %s}", i ? ", " : "", qs->order[i].column,
                       qs->order[i].descending ? "true" : "false", qs->order[i].nulls_first ? "true" : "false");
        buf comment;
        buf_init(&comment);
        describe_order(&comment, p, qs);
        call(out, "d4_c_fanout_order", "vvv", type, list.data, comment.data);
        buf_free(&comment);
    }
    if (qs->aggs) {
        buf_reset(&list);
        for (size_t i = 0; i < p->ncols; i++) {
            char *item = xasprintf("%s%s", agg_names[qs->aggs[i]], i + 1 < p->ncols ? "," : "");
            buf_printf(&list, "%s    %-20s /* %s */", i ? "\n" : "", item, p->cols[i].name);
            free(item);
        }
        call(out, "d4_c_fanout_aggs", "vv", type, list.data);
    }
    buf_free(&list);
    char norder[24], limit[32], naggs[24];
    snprintf(norder, sizeof norder, "%zu", qs->norder);
    if (qs->limit >= 0)
        snprintf(limit, sizeof limit, "%lld", qs->limit);
    else
        snprintf(limit, sizeof limit, "DBONT_FANOUT_NO_LIMIT");
    snprintf(naggs, sizeof naggs, "%zu", qs->aggs ? p->ncols : (size_t)0);
    char *order_ref = qs->norder ? xasprintf("%s_fanout_order", type) : xstrdup("NULL");
    char *aggs_ref = qs->aggs ? xasprintf("%s_fanout_aggs", type) : xstrdup("NULL");
    call(out, "d4_c_fanout_spec", "vvvvvv", type, order_ref, norder, limit, aggs_ref, naggs);
    char *count = shard_count_macro(e, qs->table);
    char *macro = xasprintf("d4_c_query_fanout_%s", returns_word[p->returns]);
    char *line = params_line(params);
    call(out, macro, "vvvsvvv", type, view, line, sets, p->nparams ? "&_p" : "NULL", query_ref, count);
    free(line);
    free(macro);
    free(count);
    free(aggs_ref);
    free(order_ref);
    free(query_ref);
}

static void emit_source_query(buf *out, const emit_info *e, const qplan *p)
{
    char *type = xasprintf("%s_%s", e->prefix, p->q->c_name);
    call(out, "d4_c_query_begin", "v", p->q->c_name);
    /* the statement */
    stmt s = {p->sql, {0}, 0};
    for (size_t i = 0; i < p->nparams; i++)
        s.oids[s.n++] = sqltype_info_of(p->params[i].type.kind)->oid;
    char *var = xasprintf("%s", type);
    if (p->nparams) {
        emit_stmt(out, var, &s);
    } else {
        unsigned long long id = stmt_id(s.sql, s.oids, 0);
        char idtext[32], name[40];
        snprintf(idtext, sizeof idtext, "0x%016llx", id);
        snprintf(name, sizeof name, "\"dbont_%016llx\"", id);
        char *sql = c_string_literal(s.sql);
        call(out, "d4_c_stmt_noparams", "vvvv", var, idtext, name, sql);
        free(sql);
    }
    free(var);
    /* parameters */
    if (p->nparams) {
        buf types, offsets;
        buf_init(&types);
        buf_init(&offsets);
        for (size_t i = 0; i < p->nparams; i++) {
            buf_printf(&types, "%s%s", i ? ", " : "", sqltype_info_of(p->params[i].type.kind)->runtime);
            buf_printf(&offsets, "%soffsetof(%s_params, %s)", i ? ",\n    " : "", type, p->params[i].name);
        }
        call(out, "d4_c_query_param_desc", "vvv", type, types.data, offsets.data);
        buf_free(&types);
        buf_free(&offsets);
    }
    /* result columns */
    char *row = p->row_table ? xasprintf("%s_%s", e->prefix, p->row_table->c_name) : xasprintf("%s_row", type);
    char *cols_ref;
    if (p->row_table) {
        cols_ref = xasprintf("%s_%s_columns", e->prefix, p->row_table->c_name);
    } else {
        buf cols;
        buf_init(&cols);
        for (size_t i = 0; i < p->ncols; i++) {
            const qcolumn *c = &p->cols[i];
            char *flag = xasprintf("%s_is_null", c->c_flag);
            char *name = c_string_literal(c->name), *sql = c_string_literal(c->name);
            char *off = offset_of(row, c->c_name);
            char *null_off = c->not_null ? xstrdup("DBONT_NO_FIELD") : offset_of(row, flag);
            call(&cols, "d4_c_column", "vvvvvvvvv", name, sql, sqltype_info_of(c->type.kind)->runtime,
                 c->not_null ? "true" : "false", off, null_off, "DBONT_NO_FIELD", "DBONT_NO_FIELD", "DBONT_NO_FIELD");
            free(flag);
            free(name);
            free(sql);
            free(off);
            free(null_off);
        }
        call(out, "d4_c_columns", "vs", type, cols.data);
        buf_free(&cols);
        cols_ref = xasprintf("%s_columns", type);
    }
    char np[24], nc[24];
    snprintf(np, sizeof np, "%zu", p->nparams);
    snprintf(nc, sizeof nc, "%zu", p->ncols);
    char *qname = c_string_literal(p->q->c_name);
    char *ptypes = p->nparams ? xasprintf("%s_param_types", type) : xstrdup("NULL");
    char *poffs = p->nparams ? xasprintf("%s_param_offsets", type) : xstrdup("NULL");
    char *psize = p->nparams ? xasprintf("sizeof(%s_params)", type) : xstrdup("0");
    call(out, "d4_c_query_desc", "vvvvvvvvvv", type, qname, np, ptypes, poffs, psize, nc, cols_ref, row,
         p->row_table ? "table" : "own");
    free(qname);
    free(ptypes);
    free(poffs);
    free(psize);
    free(cols_ref);
    /* the functions */
    if (p->row_table) {
        char *ttype = xasprintf("%s_%s", e->prefix, p->row_table->c_name);
        call(out, "d4_c_query_table_common", "vv", type, ttype);
        free(ttype);
    } else {
        call(out, "d4_c_query_common", "v", type);
    }
    char *view = p->row_table ? xasprintf("%s_%s_view", e->prefix, p->row_table->c_name) : xasprintf("%s_view", type);
    char *params = query_params_decl(p);
    buf sets;
    buf_init(&sets);
    if (p->nparams)
        call(&sets, "d4_c_query_params_decl", "v", type);
    for (size_t i = 0; i < p->nparams; i++)
        call(&sets, "d4_c_query_set", "v", p->params[i].name);
    static const char *const kinds[] = {"d4_c_query_many", "d4_c_query_one", "d4_c_query_none"};
    call(out, kinds[p->returns], "vvvsv", type, view, params, sets.data ? sets.data : "",
         p->nparams ? "&_p" : "NULL");
    if (p->nparams)
        call(out, "d4_c_query_batch", "vv", type, view);
    if (e->cache && e->cache[p - e->plans].cached)
        emit_source_cached(out, e, p, view, params, sets.data ? sets.data : "");
    const qshard *qs = e->shards ? &e->shards[p - e->plans] : NULL;
    if (qs && (qs->kind == QSHARD_ROUTED || qs->kind == QSHARD_TENANT))
        emit_source_routed_query(out, e, p, qs, type, view, params, sets.data ? sets.data : "");
    else if (qs && qs->kind == QSHARD_FANOUT)
        emit_source_fanout(out, e, p, qs, type, view, params, sets.data ? sets.data : "");
    buf_free(&sets);
    free(params);
    free(view);
    free(row);
    free(type);
}

/* An example value as the C argument of a warm-up call; a uuid goes
 * through the local _u<i>, parsed first (see emit_warmups). */
static char *example_arg(const qparam *prm, const mvalue *v, size_t i)
{
    switch (prm->type.kind) {
    case ST_TEXT:
    case ST_VARCHAR:
    case ST_NUMERIC:
    case ST_JSONB:
        return c_string_literal(v->text);
    case ST_BOOLEAN:
        return xstrdup(!strcmp(v->text, "true") || !strcmp(v->text, "1") ? "true" : "false");
    case ST_UUID:
        return xasprintf("_u%zu", i);
    default:
        return xstrdup(v->text); /* numbers, as written in the ontology */
    }
}

/* The ontology's cache:backend, for dbont_cache_options.backend. */
static void emit_cache_backend(buf *header, const emit_info *e)
{
    const model *m = e->m;
    for (size_t i = 0; i < m->ncache_strategies; i++) {
        const char *b = m->cache_strategies[i]->backend.v;
        if (!b)
            continue;
        char *macro = upper(e->prefix);
        const char *value = !strcasecmp(b, "redis")   ? "DBONT_CACHE_REDIS"
                            : !strcasecmp(b, "memory") ? "DBONT_CACHE_MEMORY"
                                                       : "DBONT_CACHE_REDIS_MEMORY";
        call(header, "d4_h_cache_backend", "vvv", macro, value, b);
        free(macro);
        return; /* the first strategy that names a backend decides */
    }
}

/* Each consistent-hash table's shard count and router (dbont/shard.h):
 * the shard of a key, as every other program that routes alike computes
 * it. */
static void emit_shard_routes(buf *header, const emit_info *e)
{
    const model *m = e->m;
    for (size_t i = 0; i < m->ntables; i++) {
        const table *t = m->tables[i];
        const shard_strategy *s = t->hash_shard;
        if (!s)
            continue;
        const column *key = &t->cols[s->key_col];
        char *stem = xasprintf("%s_%s", e->prefix, t->c_name), *macro = upper(stem);
        char *count = xasprintf("%lld", (long long)s->shard_count.v);
        long long n = s->replication_factor.set ? s->replication_factor.v : 1;
        char *copies = xasprintf("%lld", n);
        char *kept = n == 1 ? xstrdup("kept on its primary alone")
                            : xasprintf("kept in %lld copies: a primary and %lld standby%s", n, n - 1, n > 2 ? "s" : "");
        const char *how;
        char *decl;
        switch (key->stype.kind) {
        case ST_UUID:
            decl = xstrdup("const dbont_uuid *key");
            how = "dbont_shard_of_uuid(key, nshards)";
            break;
        case ST_TEXT:
        case ST_VARCHAR:
            decl = xstrdup("const char *key");
            how = "dbont_shard_of_text(key, strlen(key), nshards)";
            break;
        default: /* the integers: check.c allows no other key */
            decl = declaration(sqltype_info_of(key->stype.kind)->c_type, "key");
            how = "dbont_shard_of_int(key, nshards)";
            break;
        }
        call(header, "d4_h_shard_route", "vvvvvvvvv", stem, macro, t->name, key->name.v, count, copies, decl, how,
             kept);
        free(kept);
        free(decl);
        free(copies);
        free(count);
        free(macro);
        free(stem);
    }
}

/* One function per cache:Pattern: its queries run through the cache with
 * their example values. */
static void emit_warmups(buf *header, buf *source, const emit_info *e)
{
    const model *m = e->m;
    for (size_t i = 0; i < m->ncache_patterns; i++) {
        const cache_pattern *c = m->cache_patterns[i];
        char *name = cache_warm_name(c->trigger_event.v);
        char *fn = xasprintf("%s_cache_warm_%s", e->prefix, name);
        buf calls, list;
        buf_init(&calls);
        buf_init(&list);
        for (size_t k = 0; k < c->queries.n; k++) {
            const qplan *p = NULL;
            for (size_t j = 0; j < e->nplans && !p; j++)
                if (e->plans[j].q->iri && !strcmp(e->plans[j].q->iri, c->queries.items[k].v))
                    p = &e->plans[j];
            if (!p)
                continue;
            char *type = xasprintf("%s_%s", e->prefix, p->q->c_name);
            buf parse, args;
            buf_init(&parse);
            buf_init(&args);
            for (size_t a = 0; a < p->nparams; a++) {
                const mvalue *v = cache_example(p, a);
                if (p->params[a].type.kind == ST_UUID) {
                    char *lit = c_string_literal(v->text), *var = xasprintf("_u%zu", a);
                    call(&parse, "d4_c_warm_uuid", "vv", lit, var);
                    free(var);
                    free(lit);
                }
                char *arg = example_arg(&p->params[a], v, a);
                buf_printf(&args, "%s, ", arg);
                free(arg);
            }
            call(&calls, "d4_c_warm_query", "vsv", type, parse.data ? parse.data : "", args.data ? args.data : "");
            buf_printf(&list, "%s%s", k ? ", " : "", p->q->c_name);
            buf_free(&parse);
            buf_free(&args);
            free(type);
        }
        char *event = sql_comment(c->trigger_event.v);
        call(header, "d4_h_warm", "vvv", fn, event, list.data ? list.data : "");
        call(source, "d4_c_warm", "vs", fn, calls.data ? calls.data : "");
        free(event);
        buf_free(&calls);
        buf_free(&list);
        free(fn);
        free(name);
    }
}

/* The tenant session functions: the tenant, typed as its column, goes to
 * the setting as text. */
static void emit_tenant(buf *header, buf *source, const emit_info *e, bool *is_int)
{
    const tenancy *ty = &e->m->tenancy;
    *is_int = false;
    if (!ty->has_tenancy)
        return;
    char *macro = upper(e->prefix);
    char *setting = c_string_literal(ty->setting);
    const char *ctype = sqltype_info_of(ty->type.kind)->c_type;
    char *decl = declaration(ctype, "tenant");
    call(header, "d4_h_tenant", "vvvv", e->prefix, macro, setting, decl);
    switch (ty->type.kind) {
    case ST_UUID:
        call(source, "d4_c_tenant_uuid", "vv", e->prefix, macro);
        break;
    case ST_SMALLINT:
    case ST_INTEGER:
    case ST_BIGINT:
        *is_int = true;
        call(source, "d4_c_tenant_int", "vvv", e->prefix, macro, ctype);
        break;
    default: /* text and varchar: check.c allows no other tenant type */
        call(source, "d4_c_tenant_text", "vv", e->prefix, macro);
        break;
    }
    free(decl);
    free(setting);
    free(macro);
}

void emit_c(const emit_info *e, buf *defs)
{
    buf header, source;
    buf_init(&header);
    buf_init(&source);
    bool tenant_int;
    emit_tenant(&header, &source, e, &tenant_int);
    for (size_t i = 0; i < e->m->ntables; i++) {
        emit_header_table(&header, e, e->m->tables[i]);
        emit_source_table(&source, e, e->m->tables[i]);
    }
    for (size_t i = 0; i < e->nplans; i++) {
        emit_header_query(&header, e, &e->plans[i]);
        emit_source_query(&source, e, &e->plans[i]);
    }
    if (e->cache)
        emit_warmups(&header, &source, e);
    emit_cache_backend(&header, e);
    emit_shard_routes(&header, e);
    char *prefix_h = xasprintf("%s_H", e->prefix), *guard = upper(prefix_h);
    free(prefix_h);
    m4_define_value(defs, "d4_version", e->version);
    m4_define_value(defs, "d4_sources", e->sources);
    m4_define_value(defs, "d4_guard", guard);
    m4_define_value(defs, "d4_header", e->header_name);
    m4_define_value(defs, "d4_tenant_int", tenant_int ? "1" : "0");
    m4_define_text(defs, "d4_header_tables", header.data ? header.data : "");
    m4_define_text(defs, "d4_source_tables", source.data ? source.data : "");
    free(guard);
    buf_free(&header);
    buf_free(&source);
}
