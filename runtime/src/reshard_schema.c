/*
 * reshard_schema.c: the sharded tables of a dbont-gen schema snapshot
 * (dbont/reshard.h), for dbont-shard: their shard keys and key types, and
 * their foreign keys, in an order that puts parents first.
 *
 * Why not generator/snapshot.c's parser: it builds the generator's whole
 * schema model (and links the generator's libraries), for lines
 * resharding never looks at; dbont-shard is a runtime tool.  This reader
 * takes the four kinds of lines it needs and skips the rest, so a newer
 * snapshot with lines it does not know still reads.  Its format is
 * dbont-gen's (generator/snapshot.h): a table's lines follow its "table"
 * line, indented by two blanks.
 */
#define _POSIX_C_SOURCE 200809L  /* strdup */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbont/reshard.h"
#include "readfile.h"

#define CONFIG_ERROR "22023"
#define NO_MEMORY "53200"

/* A table as read, sharded or not (a reference may name either). */
typedef struct raw_column {
    char *name;
    char *type;
} raw_column;

typedef struct raw_table {
    char *name;
    raw_column *cols;
    size_t ncols, ccap;
    char **refs;         /* the tables its foreign keys refer to */
    size_t nrefs, rcap;
    char *key;           /* shard-by's KEY, or NULL */
    long long count;
    int shard_line;
} raw_table;

typedef struct reader {
    const char *name;
    int line;
    raw_table *tables;
    size_t ntables, cap;
    dbont_error *err;
} reader;

static dbont_status no_memory(dbont_error *err)
{
    return dbont_error_set(err, NO_MEMORY, "out of memory reading a schema snapshot");
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static dbont_status fail(reader *r, const char *fmt, ...)
{
    char text[DBONT_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return dbont_error_set(r->err, CONFIG_ERROR, "%s:%d: %s", r->name, r->line, text);
}

/* Grows an array of size elements to hold one more. */
static bool grow(void **items, size_t n, size_t *cap, size_t size)
{
    void *more;
    size_t c;
    if (n < *cap)
        return true;
    c = *cap == 0 ? 4 : *cap * 2;
    more = realloc(*items, c * size);
    if (more == NULL)
        return false;
    *items = more;
    *cap = c;
    return true;
}

static char *copy_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* The length of the name at s: up to a blank, a parenthesis, a comma or
 * the end, as dbont-gen writes names (unquoted identifiers). */
static size_t name_len(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0' && s[n] != ' ' && s[n] != '(' && s[n] != ')' && s[n] != ',')
        n++;
    return n;
}

static bool starts(const char **p, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(*p, word, n) != 0)
        return false;
    *p += n;
    return true;
}

static raw_table *find_raw(const reader *r, const char *name)
{
    size_t i;
    for (i = 0; i < r->ntables; i++) {
        if (strcmp(r->tables[i].name, name) == 0)
            return &r->tables[i];
    }
    return NULL;
}

/* "table NAME" */
static dbont_status read_table(reader *r, const char *p, raw_table **t)
{
    size_t n = name_len(p);
    raw_table *nt;

    if (n == 0 || p[n] != '\0')
        return fail(r, "malformed 'table' line (expected 'table NAME')");
    if (!grow((void **)&r->tables, r->ntables, &r->cap, sizeof *r->tables))
        return no_memory(r->err);
    nt = &r->tables[r->ntables];
    memset(nt, 0, sizeof *nt);
    if ((nt->name = copy_n(p, n)) == NULL)
        return no_memory(r->err);
    r->ntables++;
    /* After it is kept, so that it is freed; a repeat is still an error. */
    if (find_raw(r, nt->name) != nt)
        return fail(r, "table '%s' is given twice", nt->name);
    *t = nt;
    return DBONT_OK;
}

/* "  column NAME TYPE [not-null] [default EXPR]": TYPE may hold a blank
 * ("double precision") but not " not-null" or " default ". */
static dbont_status read_column(reader *r, raw_table *t, const char *p)
{
    size_t n = name_len(p);
    const char *type, *end, *nn, *df;
    raw_column *c;

    if (n == 0 || p[n] != ' ')
        return fail(r, "malformed 'column' line (expected 'column NAME TYPE ...')");
    type = p + n + 1;
    nn = strstr(type, " not-null");
    df = strstr(type, " default ");
    end = type + strlen(type);
    if (nn != NULL && (df == NULL || nn < df))
        end = nn;
    else if (df != NULL)
        end = df;
    if (end == type)
        return fail(r, "malformed 'column' line (no type)");
    if (!grow((void **)&t->cols, t->ncols, &t->ccap, sizeof *t->cols))
        return no_memory(r->err);
    c = &t->cols[t->ncols];
    c->name = copy_n(p, n);
    c->type = copy_n(type, (size_t)(end - type));
    t->ncols++;   /* counted even when a copy failed, so that it is freed */
    return c->name != NULL && c->type != NULL ? DBONT_OK : no_memory(r->err);
}

/* "  foreign-key NAME (COLS) references TABLE (COLS) ...": only TABLE. */
static dbont_status read_foreign_key(reader *r, raw_table *t, const char *p)
{
    const char *ref = strstr(p, ") references ");
    size_t n;

    if (ref == NULL || (n = name_len(ref + 13)) == 0)
        return fail(r, "malformed 'foreign-key' line (expected 'foreign-key NAME (COLUMNS) "
                       "references TABLE (COLUMNS)')");
    ref += 13;
    if (!grow((void **)&t->refs, t->nrefs, &t->rcap, sizeof *t->refs))
        return no_memory(r->err);
    if ((t->refs[t->nrefs] = copy_n(ref, n)) == NULL)
        return no_memory(r->err);
    t->nrefs++;
    return DBONT_OK;
}

/* "  shard-by hash KEY COUNT" */
static dbont_status read_shard_by(reader *r, raw_table *t, const char *p)
{
    size_t n = name_len(p);
    const char *num;
    char *end;
    long long count;

    if (t->key != NULL)
        return fail(r, "table '%s' has a second 'shard-by' line (the first is line %d)", t->name,
                    t->shard_line);
    if (n == 0 || p[n] != ' ' || p[n + 1] < '0' || p[n + 1] > '9')
        return fail(r, "malformed 'shard-by' line (expected 'shard-by hash KEY COUNT')");
    num = p + n + 1;
    errno = 0;
    count = strtoll(num, &end, 10);
    if (*end != '\0' || errno == ERANGE || count < 1)
        return fail(r, "malformed 'shard-by' line (expected 'shard-by hash KEY COUNT', COUNT "
                       "a whole number from 1)");
    if ((t->key = copy_n(p, n)) == NULL)
        return no_memory(r->err);
    t->count = count;
    t->shard_line = r->line;
    return DBONT_OK;
}

static dbont_status read_line(reader *r, const char *p, raw_table **t)
{
    if (p[0] == '\0' || p[0] == '#')
        return DBONT_OK;
    if (starts(&p, "table "))
        return read_table(r, p, t);
    if (strcmp(p, "table") == 0)
        return fail(r, "malformed 'table' line (expected 'table NAME')");
    if (p[0] != ' ') {
        *t = NULL;   /* a top-level line of another kind ends the table */
        return DBONT_OK;
    }
    if (*t == NULL)
        return DBONT_OK;
    if (starts(&p, "  column "))
        return read_column(r, *t, p);
    if (starts(&p, "  foreign-key "))
        return read_foreign_key(r, *t, p);
    if (starts(&p, "  shard-by hash "))
        return read_shard_by(r, *t, p);
    if (starts(&p, "  shard-by "))
        return fail(r, "unknown 'shard-by' line (expected 'shard-by hash KEY COUNT'; a snapshot "
                       "of a newer dbont?)");
    return DBONT_OK;
}

/* The key type of a column type as the snapshot spells it. */
static bool key_type_of(const char *type, dbont_reshard_key_type *out)
{
    static const char *const ints[] = {"smallint", "integer", "int", "bigint", "serial",
                                       "bigserial"};
    size_t i;
    for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (strcmp(type, ints[i]) == 0) {
            *out = DBONT_RESHARD_KEY_INT;
            return true;
        }
    }
    if (strcmp(type, "text") == 0 || strcmp(type, "varchar") == 0 ||
        strncmp(type, "varchar(", 8) == 0) {
        *out = DBONT_RESHARD_KEY_TEXT;
        return true;
    }
    if (strcmp(type, "uuid") == 0) {
        *out = DBONT_RESHARD_KEY_UUID;
        return true;
    }
    return false;
}

static void raw_free(reader *r)
{
    size_t i, k;
    for (i = 0; i < r->ntables; i++) {
        raw_table *t = &r->tables[i];
        free(t->name);
        for (k = 0; k < t->ncols; k++) {
            free(t->cols[k].name);
            free(t->cols[k].type);
        }
        free(t->cols);
        for (k = 0; k < t->nrefs; k++)
            free(t->refs[k]);
        free(t->refs);
        free(t->key);
    }
    free(r->tables);
    r->tables = NULL;
    r->ntables = r->cap = 0;
}

void dbont_reshard_schema_free(dbont_reshard_schema *s)
{
    size_t i;
    if (s == NULL)
        return;
    for (i = 0; i < s->ntables; i++) {
        free((char *)s->tables[i].table.name);
        free((char *)s->tables[i].table.key);
        free(s->tables[i].parents);
    }
    free(s->tables);
    s->tables = NULL;
    s->ntables = 0;
}

/*
 * The sharded tables of r into out, each after the tables it refers to
 * (Kahn's algorithm, taking the first ready table in the snapshot's
 * order each time, so that the order is stable).
 */
static dbont_status build(reader *r, dbont_reshard_schema *out)
{
    size_t nsharded = 0, i, k, placed = 0;
    size_t *order = NULL, *pos = NULL;
    bool *done = NULL;
    dbont_status st = DBONT_OK;

    for (i = 0; i < r->ntables; i++) {
        raw_table *t = &r->tables[i];
        const raw_column *key = NULL;
        dbont_reshard_key_type kt;
        if (t->key == NULL)
            continue;
        for (k = 0; k < t->ncols && key == NULL; k++) {
            if (strcmp(t->cols[k].name, t->key) == 0)
                key = &t->cols[k];
        }
        r->line = t->shard_line;
        if (key == NULL)
            return fail(r, "table '%s' is sharded by '%s', which is not one of its columns",
                        t->name, t->key);
        if (!key_type_of(key->type, &kt))
            return fail(r, "table '%s' is sharded by '%s', a %s column; the routing knows "
                           "integer (smallint, integer, bigint), text (text, varchar) and uuid "
                           "keys",
                        t->name, t->key, key->type);
        nsharded++;
    }
    /* pos[i]: the raw index of the i-th sharded table, in snapshot order. */
    pos = calloc(nsharded + 1, sizeof *pos);
    order = calloc(nsharded + 1, sizeof *order);
    done = calloc(nsharded + 1, sizeof *done);
    out->tables = calloc(nsharded + 1, sizeof *out->tables);
    if (pos == NULL || order == NULL || done == NULL || out->tables == NULL) {
        st = no_memory(r->err);
        goto end;
    }
    for (i = 0, k = 0; i < r->ntables; i++) {
        if (r->tables[i].key != NULL)
            pos[k++] = i;
    }
    while (placed < nsharded) {
        bool progress = false;
        for (i = 0; i < nsharded; i++) {
            const raw_table *t = &r->tables[pos[i]];
            bool ready = !done[i];
            for (k = 0; ready && k < t->nrefs; k++) {
                size_t j;
                for (j = 0; j < nsharded; j++) {
                    if (j != i && !done[j] && strcmp(r->tables[pos[j]].name, t->refs[k]) == 0)
                        ready = false;
                }
            }
            if (ready) {
                done[i] = true;
                order[placed++] = i;
                progress = true;
                break;   /* again from the first: the earliest ready one next */
            }
        }
        if (!progress) {
            char names[512] = "";
            size_t used = 0;
            for (i = 0; i < nsharded && used < sizeof names; i++) {
                if (!done[i]) {
                    int w = snprintf(names + used, sizeof names - used, "%s'%s'",
                                     used > 0 ? ", " : "", r->tables[pos[i]].name);
                    used += w > 0 ? (size_t)w : 0;
                }
            }
            st = dbont_error_set(r->err, CONFIG_ERROR,
                                 "%s: the foreign keys of tables %s form a cycle: no order moves "
                                 "every parent before its children",
                                 r->name, names);
            goto end;
        }
    }
    for (i = 0; i < nsharded; i++) {
        const raw_table *t = &r->tables[pos[order[i]]];
        dbont_reshard_schema_table *o = &out->tables[i];
        const raw_column *key = NULL;
        for (k = 0; k < t->ncols && key == NULL; k++) {
            if (strcmp(t->cols[k].name, t->key) == 0)
                key = &t->cols[k];
        }
        out->ntables = i + 1;
        o->table.name = strdup(t->name);
        o->table.key = strdup(t->key);
        key_type_of(key->type, &o->table.key_type);
        o->shard_count = t->count;
        o->line = t->shard_line;
        o->parents = calloc(t->nrefs + 1, sizeof *o->parents);
        if (o->table.name == NULL || o->table.key == NULL || o->parents == NULL) {
            st = no_memory(r->err);
            goto end;
        }
        /* Parents are placed before: look among out->tables[0..i). */
        for (k = 0; k < t->nrefs; k++) {
            size_t j;
            for (j = 0; j < i; j++) {
                if (strcmp(out->tables[j].table.name, t->refs[k]) == 0) {
                    size_t m;
                    bool seen = false;
                    for (m = 0; m < o->nparents; m++)
                        seen = seen || o->parents[m] == j;
                    if (!seen)
                        o->parents[o->nparents++] = j;
                }
            }
        }
    }
end:
    free(pos);
    free(order);
    free(done);
    return st;
}

dbont_status dbont_reshard_schema_parse(const char *name, const char *text, size_t len,
                                        dbont_reshard_schema *out, dbont_error *err)
{
    reader r;
    raw_table *t = NULL;
    size_t at = 0;
    dbont_status st = DBONT_OK;
    char *line = NULL;

    memset(out, 0, sizeof *out);
    memset(&r, 0, sizeof r);
    r.name = name;
    r.err = err;
    while (at < len && st == DBONT_OK) {
        const char *eol = memchr(text + at, '\n', len - at);
        size_t n = eol != NULL ? (size_t)(eol - (text + at)) : len - at;
        r.line++;
        free(line);
        line = copy_n(text + at, n);
        if (line == NULL) {
            st = no_memory(err);
            break;
        }
        if (n > 0 && line[n - 1] == '\r')   /* checked out on Windows */
            line[n - 1] = '\0';
        if (memchr(text + at, '\0', n) != NULL)
            st = fail(&r, "a NUL byte (is this a schema snapshot?)");
        else
            st = read_line(&r, line, &t);
        at += n + 1;
    }
    free(line);
    if (st == DBONT_OK)
        st = build(&r, out);
    raw_free(&r);
    if (st != DBONT_OK)
        dbont_reshard_schema_free(out);
    return st;
}

dbont_status dbont_reshard_schema_read(const char *path, dbont_reshard_schema *out,
                                       dbont_error *err)
{
    char *text;
    size_t len;
    dbont_status st;

    memset(out, 0, sizeof *out);
    if (dbont_read_file(path, &text, &len, err) != DBONT_OK)
        return DBONT_ERROR;
    st = dbont_reshard_schema_parse(path, text, len, out, err);
    free(text);
    return st;
}

static bool joined(const dbont_reshard_schema *s, size_t a, size_t b)
{
    size_t k;
    for (k = 0; k < s->tables[a].nparents; k++) {
        if (s->tables[a].parents[k] == b)
            return true;
    }
    for (k = 0; k < s->tables[b].nparents; k++) {
        if (s->tables[b].parents[k] == a)
            return true;
    }
    return false;
}

dbont_status dbont_reshard_schema_select(const dbont_reshard_schema *s, const char *only,
                                         bool related, dbont_reshard_table **out, size_t *n,
                                         dbont_error *err)
{
    bool *in = NULL;
    size_t i, count = 0, start = s->ntables;

    *out = NULL;
    *n = 0;
    if (only != NULL) {
        for (i = 0; i < s->ntables && start == s->ntables; i++) {
            if (strcmp(s->tables[i].table.name, only) == 0)
                start = i;
        }
        if (start == s->ntables)
            return dbont_error_set(err, CONFIG_ERROR,
                                   "table '%s' is not a sharded table of the snapshot (no "
                                   "'shard-by' line)",
                                   only);
    }
    in = calloc(s->ntables + 1, sizeof *in);
    *out = calloc(s->ntables + 1, sizeof **out);
    if (in == NULL || *out == NULL) {
        free(in);
        free(*out);
        *out = NULL;
        return no_memory(err);
    }
    if (only == NULL) {
        for (i = 0; i < s->ntables; i++)
            in[i] = true;
    } else {
        bool grew = true;
        in[start] = true;
        /* The closure over foreign keys in either direction. */
        while (related && grew) {
            size_t a, b;
            grew = false;
            for (a = 0; a < s->ntables; a++) {
                for (b = 0; b < s->ntables; b++) {
                    if (in[a] && !in[b] && joined(s, a, b)) {
                        in[b] = true;
                        grew = true;
                    }
                }
            }
        }
    }
    for (i = 0; i < s->ntables; i++) {
        if (in[i])
            (*out)[count++] = s->tables[i].table;
    }
    *n = count;
    free(in);
    return DBONT_OK;
}
