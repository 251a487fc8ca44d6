/*
 * merge_value.c: ordering and adding binary values the way PostgreSQL
 * does (merge_value.h).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "decimal.h"
#include "merge_value.h"

/* ---- big-endian ------------------------------------------------------ */

static uint64_t get_be(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t v = 0;
    size_t i;
    for (i = 0; i < n; i++)
        v = v << 8 | u[i];
    return v;
}

static void put_be(char *p, uint64_t v, size_t n)
{
    size_t i;
    for (i = n; i-- > 0;) {
        p[i] = (char)(unsigned char)(v & 0xFF);
        v >>= 8;
    }
}

/* A signed integer of n bytes (2, 4, 8), sign-extended; the conversions
 * go through the unsigned value so no implementation-defined shift or
 * conversion of a negative number is involved. */
static int64_t get_signed(const char *p, size_t n)
{
    uint64_t u = get_be(p, n);
    uint64_t sign_bit = UINT64_C(1) << (8 * n - 1);
    if (n < 8 && (u & sign_bit) != 0)
        u |= ~((sign_bit << 1) - 1);    /* extend the sign */
    if (u <= (uint64_t)INT64_MAX)
        return (int64_t)u;
    return -(int64_t)(~u) - 1;          /* two's complement, without overflow */
}

static double get_float(dbont_type type, const char *p)
{
    if (type == DBONT_REAL) {
        uint32_t bits = (uint32_t)get_be(p, 4);
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    uint64_t bits = get_be(p, 8);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* ---- sizes and classes ------------------------------------------------ */

static size_t int_size(dbont_type type)
{
    switch (type) {
    case DBONT_SMALLINT: return 2;
    case DBONT_INTEGER:
    case DBONT_DATE: return 4;
    case DBONT_BIGINT:
    case DBONT_TIMESTAMP:
    case DBONT_TIMESTAMPTZ: return 8;
    default: return 0;
    }
}

bool dbont_mval_comparable(dbont_type type)
{
    switch (type) {
    case DBONT_SMALLINT:
    case DBONT_INTEGER:
    case DBONT_BIGINT:
    case DBONT_BOOLEAN:
    case DBONT_REAL:
    case DBONT_DOUBLE:
    case DBONT_NUMERIC:
    case DBONT_TEXT:
    case DBONT_VARCHAR:
    case DBONT_UUID:
    case DBONT_DATE:
    case DBONT_TIMESTAMP:
    case DBONT_TIMESTAMPTZ:
    case DBONT_BYTEA:
        return true;
    default:
        return false;   /* jsonb */
    }
}

bool dbont_mval_size_ok(dbont_type type, size_t len)
{
    size_t n = int_size(type);
    if (n != 0)
        return len == n;
    switch (type) {
    case DBONT_BOOLEAN: return len == 1;
    case DBONT_REAL: return len == 4;
    case DBONT_DOUBLE: return len == 8;
    case DBONT_UUID: return len == 16;
    default: return true;
    }
}

bool dbont_mval_summable(dbont_type type)
{
    switch (type) {
    case DBONT_SMALLINT:
    case DBONT_INTEGER:
    case DBONT_BIGINT:
    case DBONT_REAL:
    case DBONT_DOUBLE:
    case DBONT_NUMERIC:
        return true;
    default:
        return false;
    }
}

/* ---- comparison --------------------------------------------------------- */

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* float8_cmp_internal: NaNs are equal to each other and above all else;
 * otherwise the arithmetic order, in which -0 == 0. */
static int cmp_float(double a, double b)
{
    if (isnan(a))
        return isnan(b) ? 0 : 1;
    if (isnan(b))
        return -1;
    return (a > b) - (a < b);
}

/* Bytes as unsigned, then the shorter first (varstr_cmp under "C",
 * byteacmp). */
static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c < 0 ? -1 : 1;
    return (alen > blen) - (alen < blen);
}

int dbont_mval_cmp(dbont_type type, const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = int_size(type);

    if (n != 0)
        return cmp_i64(get_signed(a, n), get_signed(b, n));
    switch (type) {
    case DBONT_BOOLEAN:
        return (a[0] != 0) - (b[0] != 0);
    case DBONT_REAL:
    case DBONT_DOUBLE:
        return cmp_float(get_float(type, a), get_float(type, b));
    case DBONT_NUMERIC:
        return dbont_decimal_cmp(a, alen, b, blen);
    default:    /* text, varchar, uuid, bytea */
        return cmp_bytes(a, alen, b, blen);
    }
}

/* ---- addition ------------------------------------------------------------ */

bool dbont_mval_add_int(dbont_type type, const char *a, const char *b, char *out)
{
    size_t n = int_size(type);
    int64_t x = get_signed(a, n), y = get_signed(b, n), s;
    int64_t lo = type == DBONT_SMALLINT ? INT16_MIN : type == DBONT_INTEGER ? INT32_MIN : INT64_MIN;
    int64_t hi = type == DBONT_SMALLINT ? INT16_MAX : type == DBONT_INTEGER ? INT32_MAX : INT64_MAX;

    if (__builtin_add_overflow(x, y, &s) || s < lo || s > hi)
        return false;
    put_be(out, (uint64_t)s, n);
    return true;
}

bool dbont_mval_add_float(dbont_type type, const char *a, const char *b, char *out)
{
    if (type == DBONT_REAL) {
        float x = (float)get_float(type, a), y = (float)get_float(type, b);
        float s = x + y;
        uint32_t bits;
        if (isinf(s) && !isinf(x) && !isinf(y))
            return false;   /* float4pl's float_overflow_error */
        memcpy(&bits, &s, sizeof bits);
        put_be(out, bits, 4);
        return true;
    }
    double x = get_float(type, a), y = get_float(type, b);
    double s = x + y;
    uint64_t bits;
    if (isinf(s) && !isinf(x) && !isinf(y))
        return false;
    memcpy(&bits, &s, sizeof bits);
    put_be(out, bits, 8);
    return true;
}
