/*
 * cache_key.c: the parts of a query cache key (cache_key.h).
 *
 * Everything here runs on every cached call, hits included, so it avoids
 * the printf family (a formatted number costs more than the rest of the
 * key) and allocates only when the buffer must grow.
 */
#define _POSIX_C_SOURCE 200809L

#include "cache_key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbont/query.h"
#include "dbont/table.h"
#include "dbont/types.h"
#include "params.h"
#include "sha256.h"

/* ---- the buffer ------------------------------------------------------------ */

static bool grow(dbont_keybuf *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->len + n + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256; /* a whole key, most of the time */
    while (cap < b->len + n + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (s == NULL) {
        b->failed = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

void dbont_keybuf_add(dbont_keybuf *b, const char *s, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void dbont_keybuf_adds(dbont_keybuf *b, const char *s)
{
    dbont_keybuf_add(b, s, strlen(s));
}

static const char hexdigits[] = "0123456789abcdef";

static bool plain(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
           ch == '_' || ch == '@' || ch == '-';
}

void dbont_keybuf_add_escaped(dbont_keybuf *b, const char *s, size_t n)
{
    if (!grow(b, 3 * n))
        return;
    char *o = b->s + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (plain(ch)) {
            *o++ = (char)ch;
        } else {
            *o++ = '%';
            *o++ = "0123456789ABCDEF"[ch >> 4];
            *o++ = "0123456789ABCDEF"[ch & 15];
        }
    }
    b->len = (size_t)(o - b->s);
    b->s[b->len] = '\0';
}

void dbont_keybuf_add_u64(dbont_keybuf *b, uint64_t v)
{
    char d[20];
    size_t n = 0;
    do {
        d[sizeof d - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    dbont_keybuf_add(b, d + sizeof d - n, n);
}

void dbont_keybuf_add_hex64(dbont_keybuf *b, uint64_t v)
{
    char d[16];
    for (int i = 15; i >= 0; i--, v >>= 4)
        d[i] = hexdigits[v & 15];
    dbont_keybuf_add(b, d, sizeof d);
}

/* ---- the text form of a parameter ------------------------------------------------ */

/* Decimal text of a signed value into d (at least 21 bytes); its length. */
static size_t signed_text(int64_t v, char *d)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char t[20];
    size_t n = 0, k = 0;
    do {
        t[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        d[k++] = '-';
    while (n > 0)
        d[k++] = t[--n];
    return k;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* "YYYY-MM-DD" of a day counted from 1970-01-01 (the proleptic Gregorian
 * calendar, as PostgreSQL's); its length. */
static size_t date_text(int64_t days, char *d, size_t size)
{
    /* days to civil date, counting in 400-year eras from 0000-03-01 */
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2);
    return (size_t)snprintf(d, size, "%04lld-%02d-%02d", (long long)year, (int)month, (int)day);
}

/* "YYYY-MM-DDTHH:MM:SS[.ffffff]" of microseconds from 1970-01-01 00:00. */
static size_t timestamp_text(int64_t us, char *d, size_t size)
{
    int64_t days = floor_div(us, 86400000000LL);
    int64_t in_day = us - days * 86400000000LL;
    size_t n = date_text(days, d, size);
    int64_t s = in_day / 1000000, frac = in_day % 1000000;
    n += (size_t)snprintf(d + n, size - n, "T%02d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
    if (frac != 0)
        n += (size_t)snprintf(d + n, size - n, ".%06d", (int)frac);
    return n;
}

/*
 * Appends the text form of parameter i, escaped, or "~" for NULL.  The
 * text forms are those of PostgreSQL's output (integers in decimal,
 * true/false, the uuid's lower-case form, ISO dates and times, with "Z"
 * for timestamptz, bytea in hex), except that a float keeps every digit
 * it needs to be told apart from its neighbours: different values give
 * different texts.
 */
static void add_param(dbont_keybuf *b, const dbont_query *q, size_t i, const char *base)
{
    dbont_type type = q->param_types[i];
    const char *field = base + q->param_offsets[i];
    char t[64];
    size_t n = 0;

    if (dbont_field_is_null(type, base, q->param_offsets[i], DBONT_NO_FIELD)) {
        dbont_keybuf_add(b, "~", 1);
        return;
    }
    switch (type) {
    case DBONT_SMALLINT: {
        int16_t v;
        memcpy(&v, field, sizeof v);
        n = signed_text(v, t);
        break;
    }
    case DBONT_INTEGER: {
        int32_t v;
        memcpy(&v, field, sizeof v);
        n = signed_text(v, t);
        break;
    }
    case DBONT_BIGINT: {
        int64_t v;
        memcpy(&v, field, sizeof v);
        n = signed_text(v, t);
        break;
    }
    case DBONT_BOOLEAN: {
        bool v;
        memcpy(&v, field, sizeof v);
        dbont_keybuf_adds(b, v ? "true" : "false");
        return;
    }
    case DBONT_REAL: {
        float v;
        memcpy(&v, field, sizeof v);
        n = (size_t)snprintf(t, sizeof t, "%.9g", (double)v);
        break;
    }
    case DBONT_DOUBLE: {
        double v;
        memcpy(&v, field, sizeof v);
        n = (size_t)snprintf(t, sizeof t, "%.17g", v);
        break;
    }
    case DBONT_UUID: {
        dbont_uuid v;
        memcpy(&v, field, sizeof v);
        dbont_uuid_format(&v, t);
        n = DBONT_UUID_TEXT_SIZE - 1;
        break;
    }
    case DBONT_DATE: {
        dbont_date v;
        memcpy(&v, field, sizeof v);
        if (v == DBONT_DATE_INFINITY || v == DBONT_DATE_NEG_INFINITY)
            n = (size_t)snprintf(t, sizeof t, "%sinfinity", v < 0 ? "-" : "");
        else
            n = date_text(v, t, sizeof t);
        break;
    }
    case DBONT_TIMESTAMP:
    case DBONT_TIMESTAMPTZ: {
        dbont_timestamp v;
        memcpy(&v, field, sizeof v);
        if (v == DBONT_TIMESTAMP_INFINITY || v == DBONT_TIMESTAMP_NEG_INFINITY) {
            n = (size_t)snprintf(t, sizeof t, "%sinfinity", v < 0 ? "-" : "");
        } else {
            n = timestamp_text(v, t, sizeof t - 1); /* room for the Z */
            if (type == DBONT_TIMESTAMPTZ)
                t[n++] = 'Z';
        }
        break;
    }
    case DBONT_BYTEA: {
        dbont_bytes v;
        memcpy(&v, field, sizeof v);
        if (!grow(b, 2 * v.len))
            return;
        for (size_t k = 0; k < v.len; k++) {
            b->s[b->len++] = hexdigits[v.data[k] >> 4];
            b->s[b->len++] = hexdigits[v.data[k] & 15];
        }
        b->s[b->len] = '\0';
        return;
    }
    case DBONT_NUMERIC:
    case DBONT_TEXT:
    case DBONT_VARCHAR:
    case DBONT_JSONB:
    default: {
        const char *v;
        memcpy(&v, field, sizeof v);
        dbont_keybuf_add_escaped(b, v, strlen(v));
        return;
    }
    }
    dbont_keybuf_add_escaped(b, t, n);
}

/* ---- the parameters' part ------------------------------------------------------------ */

/* A template's own bytes: printable ASCII but '%' as they are (the part
 * is only read), the rest %XX. */
static void add_literal(dbont_keybuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch > ' ' && ch < 0x7f && ch != '%')
            dbont_keybuf_add(b, s + i, 1);
        else
            dbont_keybuf_add_escaped(b, s + i, 1);
    }
}

static void add_template(dbont_keybuf *b, const dbont_cached_query *cq, const char *base)
{
    const dbont_query *q = cq->query;
    size_t start = b->len;
    for (const char *t = cq->key_template; *t;) {
        const char *open = strstr(t, "{{");
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (close == NULL) {
            add_literal(b, t, strlen(t));
            break;
        }
        add_literal(b, t, (size_t)(open - t));
        size_t nlen = (size_t)(close - open - 2);
        for (size_t i = 0; i < q->nparams; i++)
            if (strncmp(cq->param_names[i], open + 2, nlen) == 0 && cq->param_names[i][nlen] == '\0') {
                add_param(b, q, i, base);
                break;
            }
        t = close + 2;
        if (b->len - start > DBONT_KEY_TEMPLATE_MAX)
            break;
    }
    if (!b->failed && b->len - start > DBONT_KEY_TEMPLATE_MAX) {
        size_t end = start + DBONT_KEY_TEMPLATE_MAX;
        /* not in the middle of a %XX */
        if (b->s[end - 1] == '%')
            end -= 1;
        else if (b->s[end - 2] == '%')
            end -= 2;
        b->len = end;
        b->s[end] = '\0';
    }
}

void dbont_cache_key_params(dbont_keybuf *b, const dbont_cached_query *cq, const void *params)
{
    const dbont_query *q = cq->query;
    size_t start = b->len;
    dbont_keybuf_add(b, "=", 1);
    for (size_t i = 0; i < q->nparams; i++) {
        if (i > 0)
            dbont_keybuf_add(b, ",", 1);
        add_param(b, q, i, params);
    }
    if (!b->failed && b->len - start - 1 > DBONT_KEY_PARAMS_MAX) {
        /* the escaped texts with their separators tell the values apart,
         * so their hash does too */
        dbont_sha256 h;
        uint8_t digest[DBONT_SHA256_DIGEST_SIZE];
        char hex[2 * DBONT_SHA256_DIGEST_SIZE + 1];
        dbont_sha256_init(&h);
        dbont_sha256_update(&h, b->s + start + 1, b->len - start - 1);
        dbont_sha256_final(&h, digest);
        dbont_sha256_hex(digest, hex);
        b->len = start;
        dbont_keybuf_add(b, "#", 1);
        dbont_keybuf_add(b, hex, 32); /* 128 bits */
    }
    if (cq->key_template != NULL) {
        dbont_keybuf_add(b, ":", 1);
        add_template(b, cq, params);
    }
}
