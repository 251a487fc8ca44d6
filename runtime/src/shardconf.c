/*
 * shardconf.c: a shard set's configuration, from its file or from the
 * DBONT_SHARD_* environment variables (the formats are in
 * dbont/shardset.h), into a shardconf.
 *
 * The first error stops the reading, and its message says where it is:
 * "file:line:col: ..." (columns count bytes from 1, so that an editor's
 * "go to" lands on it whatever the tabs) or the variable's name.  A
 * configuration that is read without error is complete: a count, and a
 * primary for every shard.
 */
#define _POSIX_C_SOURCE 200809L  /* strdup */

#include <errno.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbont/shardset.h"
#include "error_internal.h"
#include "readfile.h"
#include "shardconf.h"

#define CONFIG_ERROR "22023"
#define NO_MEMORY "53200"

/* Long tokens are quoted up to this many bytes in messages. */
#define QUOTE_MAX 64

static dbont_status no_memory(dbont_error *err)
{
    return dbont_error_set(err, NO_MEMORY, "out of memory reading the shard set's configuration");
}

/* ---- small text helpers ------------------------------------------------ */

/* A piece of a line (not NUL-terminated) and its column (from 1). */
typedef struct span {
    const char *p;
    size_t n;
    int col;
} span;

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int quote_len(span s)
{
    return (int)(s.n > QUOTE_MAX ? QUOTE_MAX : s.n);
}

static bool span_is(span s, const char *word)
{
    return s.n == strlen(word) && memcmp(s.p, word, s.n) == 0;
}

/* The next blank-separated word of line[0..n) from *i (empty at the end
 * of the line, its col then just past the line's last byte). */
static span next_word(const char *line, size_t n, size_t *i)
{
    span s;
    while (*i < n && is_blank(line[*i]))
        (*i)++;
    s.p = line + *i;
    s.col = (int)*i + 1;
    while (*i < n && !is_blank(line[*i]))
        (*i)++;
    s.n = (size_t)(line + *i - s.p);
    return s;
}

/* The rest of the line from *i, blanks around it removed. */
static span rest_of_line(const char *line, size_t n, size_t i)
{
    span s;
    while (i < n && is_blank(line[i]))
        i++;
    while (n > i && is_blank(line[n - 1]))
        n--;
    s.p = line + i;
    s.n = n - i;
    s.col = (int)i + 1;
    return s;
}

typedef enum number_kind { NUMBER_OK, NOT_A_NUMBER, NUMBER_TOO_BIG } number_kind;

/* A whole decimal number (digits only: no sign, no blanks), at most max. */
static number_kind parse_number(span s, long max, long *out)
{
    long v = 0;
    bool big = false;
    size_t i;

    if (s.n == 0)
        return NOT_A_NUMBER;
    for (i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return NOT_A_NUMBER;
        if (!big) {
            v = v * 10 + (s.p[i] - '0');
            big = v > max;   /* v <= max <= LONG_MAX / 10 before this step */
        }
    }
    *out = v;
    return big ? NUMBER_TOO_BIG : NUMBER_OK;
}

/* ---- servers --------------------------------------------------------- */

/* Whether libpq reads dsn as a connection string rather than a database
 * name (its own rule: a URI prefix, or an '=' anywhere). */
static bool is_conninfo(const char *dsn)
{
    return strncmp(dsn, "postgresql://", 13) == 0 || strncmp(dsn, "postgres://", 11) == 0 ||
           strchr(dsn, '=') != NULL;
}

static const char *option(const PQconninfoOption *opts, const char *key)
{
    for (; opts->keyword != NULL; opts++) {
        if (strcmp(opts->keyword, key) == 0)
            return opts->val != NULL && opts->val[0] != '\0' ? opts->val : NULL;
    }
    return NULL;
}

/*
 * Fills sv from dsn[0..n): a copy, and its label ("host:port", for
 * messages: the server without the password).  The DSN is parsed by
 * libpq now, so a malformed one is reported with its place (where, the
 * message's prefix) rather than at the first connection.
 */
static dbont_status server_set(shardconf_server *sv, const char *dsn, size_t n,
                               const char *where, dbont_error *err)
{
    const char *host = NULL, *port = NULL;
    PQconninfoOption *opts = NULL;
    size_t size;

    sv->dsn = malloc(n + 1);
    if (sv->dsn == NULL)
        return no_memory(err);
    memcpy(sv->dsn, dsn, n);
    sv->dsn[n] = '\0';
    if (is_conninfo(sv->dsn)) {
        char *problem = NULL;
        opts = PQconninfoParse(sv->dsn, &problem);
        if (opts == NULL) {
            dbont_status st;
            if (problem != NULL && strchr(problem, '\n') != NULL)
                *strchr(problem, '\n') = '\0';   /* libpq ends it with one */
            st = problem != NULL ? dbont_error_set(err, CONFIG_ERROR, "%s: invalid DSN: %s",
                                                   where, problem)
                                 : no_memory(err);
            PQfreemem(problem);
            return st;
        }
        host = option(opts, "hostaddr");
        if (host == NULL)
            host = option(opts, "host");
        port = option(opts, "port");
    }
    if (host == NULL)
        host = "(default host)";
    size = strlen(host) + (port != NULL ? strlen(port) + 1 : 0) + 1;
    sv->label = malloc(size);
    if (sv->label != NULL && port != NULL)
        snprintf(sv->label, size, "%s:%s", host, port);
    else if (sv->label != NULL)
        snprintf(sv->label, size, "%s", host);
    PQconninfoFree(opts);
    return sv->label != NULL ? DBONT_OK : no_memory(err);
}

static void server_free(shardconf_server *sv)
{
    free(sv->dsn);
    free(sv->label);
    sv->dsn = sv->label = NULL;
}

/* A new standby of sh, empty, for server_set to fill; NULL: no memory. */
static shardconf_server *new_standby(shardconf_shard *sh)
{
    if (sh->nstandbys == sh->cap) {
        size_t cap = sh->cap == 0 ? 2 : sh->cap * 2;
        shardconf_server *more = realloc(sh->standbys, cap * sizeof *more);
        if (more == NULL)
            return NULL;
        sh->standbys = more;
        sh->cap = cap;
    }
    sh->standbys[sh->nstandbys].dsn = NULL;
    sh->standbys[sh->nstandbys].label = NULL;
    return &sh->standbys[sh->nstandbys++];
}

/* Sets the count and makes its shards; origin is copied. */
static dbont_status set_count(shardconf *c, long count, const char *origin, dbont_error *err)
{
    c->shards = calloc((size_t)count, sizeof *c->shards);
    c->count_origin = strdup(origin);
    if (c->shards == NULL || c->count_origin == NULL)
        return no_memory(err);
    c->count = (int)count;
    return DBONT_OK;
}

void shardconf_free(shardconf *c)
{
    int i;
    size_t k;

    if (c == NULL)
        return;
    for (i = 0; c->shards != NULL && i < c->count; i++) {
        server_free(&c->shards[i].primary);
        for (k = 0; k < c->shards[i].nstandbys; k++)
            server_free(&c->shards[i].standbys[k]);
        free(c->shards[i].standbys);
    }
    free(c->shards);
    free(c->count_origin);
    memset(c, 0, sizeof *c);
}

dbont_status shardconf_check_count(const shardconf *c, int expected, dbont_error *err)
{
    if (expected == 0 || expected == c->count)
        return DBONT_OK;
    return dbont_error_set(err, CONFIG_ERROR,
                           "%s: the shard set has %d shard%s, but %d are expected "
                           "(expected_count: the generated code's shard:shardCount)",
                           c->count_origin, c->count, c->count == 1 ? "" : "s", expected);
}

/* ---- the file ----------------------------------------------------------- */

/* The file being parsed, and where. */
typedef struct parser {
    const char *name;
    int line;
    int count_line;   /* the line of "shards N", 0 before it */
    int moving_line;  /* the line of "moving-from N", 0 before it */
    shardconf *out;
    dbont_error *err;
} parser;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static dbont_status fail_at(parser *p, int col, const char *fmt, ...)
{
    char text[DBONT_ERROR_MESSAGE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return dbont_error_set(p->err, CONFIG_ERROR, "%s:%d:%d: %s", p->name, p->line, col, text);
}

/* "shards N", the words after the keyword kw. */
static dbont_status parse_shards(parser *p, span kw, const char *line, size_t n, size_t i)
{
    char origin[DBONT_ERROR_MESSAGE_MAX];
    span num, extra;
    long count;

    if (p->count_line != 0)
        return fail_at(p, kw.col, "'shards' is given twice (first at line %d)", p->count_line);
    num = next_word(line, n, &i);
    if (num.n == 0)
        return fail_at(p, num.col, "'shards' needs the shard count (1 to %d)",
                       DBONT_SHARDSET_MAX_SHARDS);
    if (parse_number(num, DBONT_SHARDSET_MAX_SHARDS, &count) != NUMBER_OK || count < 1)
        return fail_at(p, num.col,
                       "the shard count must be a whole number from 1 to %d, not '%.*s'",
                       DBONT_SHARDSET_MAX_SHARDS, quote_len(num), num.p);
    extra = next_word(line, n, &i);
    if (extra.n != 0)
        return fail_at(p, extra.col, "unexpected '%.*s' after the shard count", quote_len(extra),
                       extra.p);
    snprintf(origin, sizeof origin, "%s:%d:%d", p->name, p->line, num.col);
    p->count_line = p->line;
    return set_count(p->out, count, origin, p->err);
}

/* "shard I primary|standby DSN", the words after the keyword kw. */
static dbont_status parse_shard(parser *p, span kw, const char *line, size_t n, size_t i)
{
    char where[DBONT_ERROR_MESSAGE_MAX];
    shardconf_shard *sh;
    shardconf_server *sv;
    span num, role, dsn;
    bool primary;
    long index;

    if (p->count_line == 0)
        return fail_at(p, kw.col, "'shard' before 'shards <N>' (the shard count comes first)");
    num = next_word(line, n, &i);
    role = next_word(line, n, &i);
    if (num.n == 0 || role.n == 0)
        return fail_at(p, num.n == 0 ? num.col : role.col,
                       "'shard' needs a shard number, a role (primary or standby) and a DSN");
    switch (parse_number(num, DBONT_SHARDSET_MAX_SHARDS, &index)) {
    case NOT_A_NUMBER:
        return fail_at(p, num.col, "'%.*s' is not a shard number (0 to %d)", quote_len(num), num.p,
                       p->out->count - 1);
    case NUMBER_TOO_BIG:
        return fail_at(p, num.col, "shard %.*s is out of range (shards %d)", quote_len(num), num.p,
                       p->out->count);
    case NUMBER_OK:
        break;
    }
    if (index >= p->out->count)
        return fail_at(p, num.col, "shard %ld is out of range (shards %d)", index, p->out->count);
    if (span_is(role, "primary"))
        primary = true;
    else if (span_is(role, "standby"))
        primary = false;
    else
        return fail_at(p, role.col, "unknown role '%.*s' (expected 'primary' or 'standby')",
                       quote_len(role), role.p);

    sh = &p->out->shards[index];
    dsn = rest_of_line(line, n, i);
    if (dsn.n == 0)
        return fail_at(p, dsn.col,
                       "shard %ld %s: the DSN is empty", index, primary ? "primary" : "standby");
    if (primary && sh->primary.dsn != NULL)
        return fail_at(p, role.col, "shard %ld has a second primary (the first is at line %d)",
                       index, sh->primary_line);
    if (primary) {
        sv = &sh->primary;
        sh->primary_line = p->line;
    } else if ((sv = new_standby(sh)) == NULL) {
        return no_memory(p->err);
    }
    snprintf(where, sizeof where, "%s:%d:%d: shard %ld %s", p->name, p->line, dsn.col, index,
             primary ? "primary" : "standby");
    return server_set(sv, dsn.p, dsn.n, where, p->err);
}

/*
 * "moving-from N", the words after the keyword kw: rows are moving from N
 * shards to the count of "shards" (dbont/shardset.h, "Resharding").  Only
 * growing is supported: jump consistent hash moves keys from the old
 * shards to the new ones only when the count grows, and dbont-shard moves
 * them so; a smaller N would need rows gathered from shards the routing
 * no longer names.
 */
static dbont_status parse_moving_from(parser *p, span kw, const char *line, size_t n, size_t i)
{
    span num, extra;
    long from;
    int count = p->out->count;

    if (p->count_line == 0)
        return fail_at(p, kw.col,
                       "'moving-from' before 'shards <N>' (the shard count comes first)");
    if (p->moving_line != 0)
        return fail_at(p, kw.col, "'moving-from' is given twice (first at line %d)",
                       p->moving_line);
    num = next_word(line, n, &i);
    if (count == 1)
        return fail_at(p, num.n == 0 ? kw.col : num.col,
                       "'moving-from' with 1 shard: only growing is supported, and no smaller "
                       "count can grow to 1");
    if (num.n == 0)
        return fail_at(p, num.col,
                       "'moving-from' needs the shard count the rows are moving from (1 to %d)",
                       count - 1);
    switch (parse_number(num, DBONT_SHARDSET_MAX_SHARDS, &from)) {
    case NOT_A_NUMBER:
        return fail_at(p, num.col,
                       "the shard count to move from must be a whole number from 1 to %d, "
                       "not '%.*s'",
                       count - 1, quote_len(num), num.p);
    case NUMBER_TOO_BIG:
        from = DBONT_SHARDSET_MAX_SHARDS + 1L;
        break;
    case NUMBER_OK:
        break;
    }
    if (from < 1)
        return fail_at(p, num.col,
                       "the shard count to move from must be a whole number from 1 to %d, "
                       "not '%.*s'",
                       count - 1, quote_len(num), num.p);
    if (from >= count)
        return fail_at(p, num.col,
                       "moving-from %.*s is not less than the shard count, %d: only growing is "
                       "supported (from fewer shards to more)",
                       quote_len(num), num.p, count);
    extra = next_word(line, n, &i);
    if (extra.n != 0)
        return fail_at(p, extra.col, "unexpected '%.*s' after the shard count to move from",
                       quote_len(extra), extra.p);
    p->moving_line = p->line;
    p->out->moving_from = (int)from;
    return DBONT_OK;
}

static dbont_status parse_line(parser *p, const char *line, size_t n)
{
    size_t i = 0;
    span kw;

    if (n > 0 && line[n - 1] == '\r')   /* a file written on Windows */
        n--;
    if (memchr(line, '\0', n) != NULL)
        return fail_at(p, (int)((const char *)memchr(line, '\0', n) - line) + 1,
                       "a NUL byte (is this a text file?)");
    kw = next_word(line, n, &i);
    if (kw.n == 0 || kw.p[0] == '#')
        return DBONT_OK;
    if (span_is(kw, "shards"))
        return parse_shards(p, kw, line, n, i);
    if (span_is(kw, "shard"))
        return parse_shard(p, kw, line, n, i);
    if (span_is(kw, "moving-from"))
        return parse_moving_from(p, kw, line, n, i);
    return fail_at(p, kw.col,
                   "unknown keyword '%.*s' (expected 'shards', 'shard' or 'moving-from')",
                   quote_len(kw), kw.p);
}

dbont_status shardconf_parse(shardconf *out, const char *name, const char *text, size_t len,
                             dbont_error *err)
{
    parser p;
    size_t pos = 0;
    int i;

    memset(out, 0, sizeof *out);
    p.name = name;
    p.line = 1;
    p.count_line = 0;
    p.moving_line = 0;
    p.out = out;
    p.err = err;
    while (pos < len) {
        const char *eol = memchr(text + pos, '\n', len - pos);
        size_t n = eol != NULL ? (size_t)(eol - (text + pos)) : len - pos;
        if (parse_line(&p, text + pos, n) != DBONT_OK)
            goto fail;
        pos += n + 1;
        p.line++;
    }
    if (p.count_line == 0) {
        dbont_error_set(err, CONFIG_ERROR,
                        "%s: no 'shards <N>' line (the file must give the shard count first)",
                        name);
        goto fail;
    }
    for (i = 0; i < out->count; i++) {
        if (out->shards[i].primary.dsn == NULL) {
            dbont_error_set(err, CONFIG_ERROR,
                            "%s: shard %d has no primary (no 'shard %d primary <DSN>' line)",
                            out->count_origin, i, i);
            goto fail;
        }
    }
    return DBONT_OK;

fail:
    shardconf_free(out);
    return DBONT_ERROR;
}

dbont_status shardconf_read_file(shardconf *out, const char *path, dbont_error *err)
{
    char *text;
    size_t len;
    dbont_status st;

    memset(out, 0, sizeof *out);
    if (dbont_read_file(path, &text, &len, err) != DBONT_OK)
        return DBONT_ERROR;
    st = shardconf_parse(out, path, text, len, err);
    free(text);
    return st;
}

/* ---- the environment ------------------------------------------------------ */

#define ENV_PREFIX "DBONT_SHARD_"
#define ENV_COUNT "DBONT_SHARD_COUNT"
#define ENV_CONF "DBONT_SHARDS_CONF"
#define ENV_MOVING_FROM "DBONT_SHARD_MOVING_FROM"
#define ENV_UNKNOWN "unknown variable (expected DBONT_SHARD_<i>_PRIMARY, " \
                    "DBONT_SHARD_<i>_STANDBY or DBONT_SHARD_<i>_STANDBY_<k>, k from 1)"
/* The largest k of DBONT_SHARD_<i>_STANDBY_<k>. */
#define MAX_STANDBY_K 1000000L

/* The value of name in envp, or NULL. */
static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (; envp != NULL && *envp != NULL; envp++) {
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    }
    return NULL;
}

/* One DBONT_SHARD_<i>_... variable. */
typedef struct env_var {
    span name;      /* "DBONT_SHARD_1_STANDBY_2" */
    const char *value;
    long shard;
    long k;         /* -1: the primary; 0: _STANDBY; k: _STANDBY_<k> */
} env_var;

/* Shard, then primary before standbys, standbys by k; ties by name, so
 * that the order (of standbys, and of errors) does not depend on the
 * environment's. */
static int env_var_order(const void *a, const void *b)
{
    const env_var *x = a, *y = b;
    size_t n = x->name.n < y->name.n ? x->name.n : y->name.n;
    int c;

    if (x->shard != y->shard)
        return x->shard < y->shard ? -1 : 1;
    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    c = memcmp(x->name.p, y->name.p, n);
    return c != 0 ? c : (x->name.n > y->name.n) - (x->name.n < y->name.n);
}

/*
 * Reads v->name (which starts with DBONT_SHARD_ and a digit) into its
 * shard and k.  False when it is not one of the known forms; *too_big
 * when its shard number is past any possible count.
 */
static bool env_var_parse(env_var *v, span *index, bool *too_big)
{
    const char *p = v->name.p + strlen(ENV_PREFIX), *end = v->name.p + v->name.n;
    span rest;
    number_kind kind;

    index->p = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    index->n = (size_t)(p - index->p);
    index->col = 0;
    if (p == end || *p != '_')
        return false;
    rest.p = p + 1;
    rest.n = (size_t)(end - rest.p);
    rest.col = 0;
    if (span_is(rest, "PRIMARY")) {
        v->k = -1;
    } else if (span_is(rest, "STANDBY")) {
        v->k = 0;
    } else if (rest.n > 8 && memcmp(rest.p, "STANDBY_", 8) == 0) {
        span ks = {rest.p + 8, rest.n - 8, 0};
        if (parse_number(ks, MAX_STANDBY_K, &v->k) != NUMBER_OK || v->k < 1)
            return false;
    } else {
        return false;
    }
    kind = parse_number(*index, DBONT_SHARDSET_MAX_SHARDS, &v->shard);
    *too_big = kind == NUMBER_TOO_BIG;
    return true;
}

/* Collects the DBONT_SHARD_<digit>... variables of envp; *n of them. */
static env_var *env_collect(char *const *envp, size_t *n)
{
    size_t count = 0, plen = strlen(ENV_PREFIX);
    char *const *e;
    env_var *vars;

    for (e = envp; e != NULL && *e != NULL; e++)
        count++;
    vars = calloc(count + 1, sizeof *vars);
    if (vars == NULL)
        return NULL;
    *n = 0;
    for (e = envp; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL || strncmp(*e, ENV_PREFIX, plen) != 0 || (*e)[plen] < '0' ||
            (*e)[plen] > '9')
            continue;
        vars[*n].name.p = *e;
        vars[*n].name.n = (size_t)(eq - *e);
        vars[*n].value = eq + 1;
        (*n)++;
    }
    return vars;
}

/* Checks and adds one variable to c. */
static dbont_status env_add(shardconf *c, env_var *v, const env_var *primary_of,
                            dbont_error *err)
{
    char where[DBONT_ERROR_MESSAGE_MAX];
    const char *value = v->value, *end;
    shardconf_server *sv;

    snprintf(where, sizeof where, "%.*s", (int)v->name.n, v->name.p);
    while (is_blank(*value))
        value++;
    end = value + strlen(value);
    while (end > value && is_blank(end[-1]))
        end--;
    if (end == value)
        return dbont_error_set(err, CONFIG_ERROR, "%s: the DSN is empty", where);
    if (v->k < 0 && primary_of != NULL)
        return dbont_error_set(err, CONFIG_ERROR, "%s: shard %ld has a second primary (%.*s)",
                               where, v->shard, (int)primary_of->name.n, primary_of->name.p);
    if (v->k < 0)
        sv = &c->shards[v->shard].primary;
    else if ((sv = new_standby(&c->shards[v->shard])) == NULL)
        return no_memory(err);
    return server_set(sv, value, (size_t)(end - value), where, err);
}

/*
 * DBONT_SHARD_MOVING_FROM (text: its value, NULL when unset), as the
 * file's "moving-from": 1 .. count-1.  Empty or blank is unset, as an
 * empty DBONT_SHARDS_CONF is no file (a shell's VAR= clears it).
 */
static dbont_status env_moving_from(shardconf *c, const char *text, dbont_error *err)
{
    span ms;
    long from;
    number_kind kind;

    if (text == NULL)
        return DBONT_OK;
    ms = rest_of_line(text, strlen(text), 0);
    if (ms.n == 0)
        return DBONT_OK;
    if (c->count == 1)
        return dbont_error_set(err, CONFIG_ERROR,
                               ENV_MOVING_FROM ": " ENV_COUNT " is 1: only growing is supported, "
                               "and no smaller count can grow to 1");
    kind = parse_number(ms, DBONT_SHARDSET_MAX_SHARDS, &from);
    if (kind == NOT_A_NUMBER || (kind == NUMBER_OK && from < 1))
        return dbont_error_set(err, CONFIG_ERROR,
                               ENV_MOVING_FROM ": the shard count to move from must be a whole "
                               "number from 1 to %d, not '%.*s'",
                               c->count - 1, quote_len(ms), ms.p);
    if (kind == NUMBER_TOO_BIG || from >= c->count)
        return dbont_error_set(err, CONFIG_ERROR,
                               ENV_MOVING_FROM ": %.*s is not less than " ENV_COUNT ", %d: only "
                               "growing is supported (from fewer shards to more)",
                               quote_len(ms), ms.p, c->count);
    c->moving_from = (int)from;
    return DBONT_OK;
}

dbont_status shardconf_from_env(shardconf *out, char *const *envp, dbont_error *err)
{
    const char *count_text = env_get(envp, ENV_COUNT);
    env_var *vars = NULL;
    size_t nvars = 0, i;
    long count;
    span cs;
    int s;

    memset(out, 0, sizeof *out);
    if (count_text == NULL)
        return dbont_error_set(err, CONFIG_ERROR, ENV_COUNT " is not set (nor " ENV_CONF
                                                  "): no shard set is configured");
    cs = rest_of_line(count_text, strlen(count_text), 0);
    if (parse_number(cs, DBONT_SHARDSET_MAX_SHARDS, &count) != NUMBER_OK || count < 1)
        return dbont_error_set(err, CONFIG_ERROR,
                               ENV_COUNT ": the shard count must be a whole number from 1 to %d, "
                               "not '%.*s'",
                               DBONT_SHARDSET_MAX_SHARDS, quote_len(cs), cs.p);
    if (set_count(out, count, ENV_COUNT, err) != DBONT_OK)
        goto fail;
    if (env_moving_from(out, env_get(envp, ENV_MOVING_FROM), err) != DBONT_OK)
        goto fail;

    vars = env_collect(envp, &nvars);
    if (vars == NULL) {
        no_memory(err);
        goto fail;
    }
    /* Every name is checked before it is sorted by shard and k. */
    for (i = 0; i < nvars; i++) {
        span index;
        bool too_big = false;
        if (!env_var_parse(&vars[i], &index, &too_big)) {
            dbont_error_set(err, CONFIG_ERROR, "%.*s: " ENV_UNKNOWN, (int)vars[i].name.n,
                            vars[i].name.p);
            goto fail;
        }
        if (too_big || vars[i].shard >= count) {
            dbont_error_set(err, CONFIG_ERROR, "%.*s: shard %.*s is out of range (shards %ld)",
                            (int)vars[i].name.n, vars[i].name.p, quote_len(index), index.p, count);
            goto fail;
        }
    }
    qsort(vars, nvars, sizeof *vars, env_var_order);
    for (i = 0; i < nvars; i++) {
        /* Sorted: a shard's primaries are next to each other. */
        const env_var *before = i > 0 && vars[i - 1].shard == vars[i].shard &&
                                        vars[i - 1].k < 0 ? &vars[i - 1] : NULL;
        if (env_add(out, &vars[i], before, err) != DBONT_OK)
            goto fail;
    }
    for (s = 0; s < out->count; s++) {
        if (out->shards[s].primary.dsn == NULL) {
            dbont_error_set(err, CONFIG_ERROR, "DBONT_SHARD_%d_PRIMARY is not set (" ENV_COUNT
                                               " is %d)", s, out->count);
            goto fail;
        }
    }
    free(vars);
    return DBONT_OK;

fail:
    free(vars);
    shardconf_free(out);
    return DBONT_ERROR;
}

dbont_status shardconf_load(shardconf *out, const char *conf_path, char *const *envp,
                            dbont_error *err)
{
    const char *env_path;

    memset(out, 0, sizeof *out);
    if (conf_path != NULL && conf_path[0] == '\0')
        return dbont_error_set(err, CONFIG_ERROR, "conf_path is empty (NULL reads "
                                                  ENV_CONF " or the environment)");
    if (conf_path != NULL)
        return shardconf_read_file(out, conf_path, err);
    env_path = env_get(envp, ENV_CONF);
    if (env_path != NULL && env_path[0] != '\0')
        return shardconf_read_file(out, env_path, err);
    return shardconf_from_env(out, envp, err);
}
