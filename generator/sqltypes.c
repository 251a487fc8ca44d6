#include "sqltypes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const sqltype_info infos[] = {
    {ST_SMALLINT, "smallint", "DBONT_SMALLINT", "int16_t", 21, "smallint"},
    {ST_INTEGER, "integer", "DBONT_INTEGER", "int32_t", 23, "integer"},
    {ST_BIGINT, "bigint", "DBONT_BIGINT", "int64_t", 20, "bigint"},
    {ST_SERIAL, "serial", "DBONT_INTEGER", "int32_t", 23, "integer"},
    {ST_BIGSERIAL, "bigserial", "DBONT_BIGINT", "int64_t", 20, "bigint"},
    {ST_BOOLEAN, "boolean", "DBONT_BOOLEAN", "bool", 16, "boolean"},
    {ST_REAL, "real", "DBONT_REAL", "float", 700, "real"},
    {ST_DOUBLE, "double precision", "DBONT_DOUBLE", "double", 701, "double precision"},
    {ST_NUMERIC, "numeric", "DBONT_NUMERIC", "const char *", 1700, "numeric"},
    {ST_TEXT, "text", "DBONT_TEXT", "const char *", 25, "text"},
    {ST_VARCHAR, "varchar", "DBONT_VARCHAR", "const char *", 1043, "varchar"},
    {ST_UUID, "uuid", "DBONT_UUID", "dbont_uuid", 2950, "uuid"},
    {ST_DATE, "date", "DBONT_DATE", "dbont_date", 1082, "date"},
    {ST_TIMESTAMP, "timestamp", "DBONT_TIMESTAMP", "dbont_timestamp", 1114, "timestamp"},
    {ST_TIMESTAMPTZ, "timestamptz", "DBONT_TIMESTAMPTZ", "dbont_timestamp", 1184, "timestamptz"},
    {ST_JSONB, "jsonb", "DBONT_JSONB", "const char *", 3802, "jsonb"},
    {ST_BYTEA, "bytea", "DBONT_BYTEA", "dbont_bytes", 17, "bytea"},
};

/* Simple (parameterless) spellings. */
static const struct {
    const char *text;
    sqltype_kind kind;
} simple[] = {
    {"smallint", ST_SMALLINT},   {"integer", ST_INTEGER},        {"int", ST_INTEGER},
    {"bigint", ST_BIGINT},       {"serial", ST_SERIAL},          {"bigserial", ST_BIGSERIAL},
    {"boolean", ST_BOOLEAN},     {"real", ST_REAL},              {"double precision", ST_DOUBLE},
    {"numeric", ST_NUMERIC},     {"text", ST_TEXT},              {"uuid", ST_UUID},
    {"date", ST_DATE},           {"timestamp", ST_TIMESTAMP},    {"timestamptz", ST_TIMESTAMPTZ},
    {"jsonb", ST_JSONB},         {"bytea", ST_BYTEA},
};

const char *sqltype_allowed(void)
{
    return "smallint, integer (int), bigint, serial, bigserial, boolean, real, double precision, "
           "numeric, numeric(p), numeric(p,s), text, varchar(n), uuid, date, timestamp, "
           "timestamptz, jsonb, bytea";
}

const sqltype_info *sqltype_info_of(sqltype_kind kind)
{
    return &infos[kind];
}

/* Lower-cases text, trims it and collapses runs of white space, and drops
 * white space around '(' ',' ')'. */
static char *normalise(const char *text)
{
    buf b;
    buf_init(&b);
    bool space = false;
    for (const char *p = text; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (isspace(c)) {
            space = b.len > 0;
            continue;
        }
        bool punct = c == '(' || c == ')' || c == ',';
        if (space && !punct && b.len && !strchr("(,", b.data[b.len - 1]))
            buf_addc(&b, ' ');
        space = false;
        buf_addc(&b, (char)tolower(c));
    }
    return buf_take(&b);
}

/* Reads a positive decimal number at *p (advanced); -1 when there is none
 * or it is too large. */
static long read_number(const char **p)
{
    long v = 0;
    const char *s = *p;
    if (*s < '0' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > 100000000L)
            return -1;
        s++;
    }
    *p = s;
    return v;
}

static bool parse_params(const char *args, long *a, long *b)
{
    const char *p = args;
    *a = read_number(&p);
    *b = -1;
    if (*a < 0)
        return false;
    if (*p == ',') {
        p++;
        *b = read_number(&p);
        if (*b < 0)
            return false;
    }
    return strcmp(p, ")") == 0;
}

bool sqltype_parse(const char *text, sqltype *out, char *why, size_t whysize)
{
    char *t = normalise(text);
    bool ok = false;
    out->precision = out->scale = out->length = -1;
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        if (strcmp(t, simple[i].text) == 0) {
            out->kind = simple[i].kind;
            ok = true;
            goto done;
        }
    }
    long a, b;
    if (strncmp(t, "numeric(", 8) == 0) {
        if (!parse_params(t + 8, &a, &b) || a < 1 || a > 1000 || (b >= 0 && b > a)) {
            snprintf(why, whysize, "invalid type '%s': numeric(p,s) needs 1 <= p <= 1000 and "
                                   "0 <= s <= p",
                     text);
            goto done;
        }
        out->kind = ST_NUMERIC;
        out->precision = (int)a;
        out->scale = (int)b;
        ok = true;
    } else if (strncmp(t, "varchar(", 8) == 0) {
        if (!parse_params(t + 8, &a, &b) || b >= 0 || a < 1 || a > 10485760) {
            snprintf(why, whysize, "invalid type '%s': varchar(n) needs 1 <= n <= 10485760", text);
            goto done;
        }
        out->kind = ST_VARCHAR;
        out->length = (int)a;
        ok = true;
    } else if (strcmp(t, "varchar") == 0) {
        snprintf(why, whysize, "type 'varchar' needs a length, varchar(n); use 'text' for "
                               "unlimited text");
    } else {
        snprintf(why, whysize, "unknown type '%s'; allowed types: %s", text, sqltype_allowed());
    }
done:
    free(t);
    return ok;
}

char *sqltype_sql(const sqltype *t)
{
    switch (t->kind) {
    case ST_NUMERIC:
        if (t->precision < 0)
            return xstrdup("numeric");
        if (t->scale < 0)
            return xasprintf("numeric(%d)", t->precision);
        return xasprintf("numeric(%d,%d)", t->precision, t->scale);
    case ST_VARCHAR:
        return xasprintf("varchar(%d)", t->length);
    default:
        return xstrdup(infos[t->kind].name);
    }
}

char *sqltype_value_sql(const sqltype *t)
{
    if (t->kind == ST_SERIAL || t->kind == ST_BIGSERIAL)
        return xstrdup(infos[t->kind].value_sql);
    return sqltype_sql(t);
}
