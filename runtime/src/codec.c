/*
 * codec.c: binary encode and decode of every dbont_type.
 *
 * PostgreSQL's binary formats are big-endian.  Fields of the caller's
 * structs are read and written with memcpy, which compiles to plain loads
 * and stores and makes no assumption about how the bytes are aligned.
 */
#include <limits.h>
#include <string.h>

#include "codec.h"

/* Type OIDs from PostgreSQL's pg_type.dat; stable across versions. */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_VARCHAR 1043
#define OID_DATE 1082
#define OID_TIMESTAMP 1114
#define OID_TIMESTAMPTZ 1184
#define OID_NUMERIC 1700
#define OID_UUID 2950
#define OID_JSONB 3802

/* Sign words of a binary numeric. */
#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000
#define NUMERIC_MAX_DSCALE 0x3FFF
#define NUMERIC_BASE 10000

/* The only jsonb binary format version there is (since PostgreSQL 9.4). */
#define JSONB_VERSION 1

/* ---- type table ---------------------------------------------------- */

/* array_oid: the type of an array of it (pg_type.typarray), for bulk
 * inserts that send a column's values as one array. */
static const struct type_entry {
    dbont_type type;
    Oid oid;
    Oid array_oid;
    const char *name;
} type_table[] = {
    {DBONT_SMALLINT, OID_INT2, 1005, "smallint"},
    {DBONT_INTEGER, OID_INT4, 1007, "integer"},
    {DBONT_BIGINT, OID_INT8, 1016, "bigint"},
    {DBONT_BOOLEAN, OID_BOOL, 1000, "boolean"},
    {DBONT_REAL, OID_FLOAT4, 1021, "real"},
    {DBONT_DOUBLE, OID_FLOAT8, 1022, "double precision"},
    {DBONT_NUMERIC, OID_NUMERIC, 1231, "numeric"},
    {DBONT_TEXT, OID_TEXT, 1009, "text"},
    {DBONT_VARCHAR, OID_VARCHAR, 1015, "character varying"},
    {DBONT_UUID, OID_UUID, 2951, "uuid"},
    {DBONT_DATE, OID_DATE, 1182, "date"},
    {DBONT_TIMESTAMP, OID_TIMESTAMP, 1115, "timestamp without time zone"},
    {DBONT_TIMESTAMPTZ, OID_TIMESTAMPTZ, 1185, "timestamp with time zone"},
    {DBONT_JSONB, OID_JSONB, 3807, "jsonb"},
    {DBONT_BYTEA, OID_BYTEA, 1001, "bytea"},
};

#define NTYPES (sizeof type_table / sizeof type_table[0])

/* The type table's entry of a dbont type, or NULL. */
static const struct type_entry *entry_of(dbont_type type)
{
    size_t i;
    for (i = 0; i < NTYPES; i++)
        if (type_table[i].type == type)
            return &type_table[i];
    return NULL;
}

Oid dbont_type_oid(dbont_type type)
{
    const struct type_entry *e = entry_of(type);
    return e != NULL ? e->oid : 0;
}

Oid dbont_type_array_oid(dbont_type type)
{
    const struct type_entry *e = entry_of(type);
    return e != NULL ? e->array_oid : 0;
}

const char *dbont_type_name(dbont_type type)
{
    const struct type_entry *e = entry_of(type);
    return e != NULL ? e->name : "(unknown dbont type)";
}

const char *dbont_oid_name(Oid oid)
{
    size_t i;
    for (i = 0; i < NTYPES; i++)
        if (type_table[i].oid == oid)
            return type_table[i].name;
    return NULL;
}

bool dbont_type_is_text(dbont_type type)
{
    return type == DBONT_NUMERIC || type == DBONT_TEXT ||
           type == DBONT_VARCHAR || type == DBONT_JSONB;
}

/* ---- big-endian integers -------------------------------------------- */

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

/* Two's complement reinterpretation without implementation-defined casts. */
static int16_t to_i16(uint16_t u)
{
    return u <= INT16_MAX ? (int16_t)u : (int16_t)(-(int32_t)(UINT16_MAX - u) - 1);
}

static int32_t to_i32(uint32_t u)
{
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(-(int64_t)(UINT32_MAX - u) - 1);
}

static int64_t to_i64(uint64_t u)
{
    return u <= INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v >> 32));
    put_u32(p + 4, (uint32_t)v);
}

/* ---- dates and timestamps ------------------------------------------- */

/*
 * A finite value must stay finite: landing exactly on INT32_MAX/INT32_MIN
 * (or the 64-bit ones) would turn it into an infinity, which is as wrong
 * as wrapping around, so those cases fail too.
 */
bool dbont_date_from_pg(int32_t pg, dbont_date *out)
{
    if (pg == INT32_MIN || pg == INT32_MAX) {
        *out = pg == INT32_MIN ? DBONT_DATE_NEG_INFINITY : DBONT_DATE_INFINITY;
        return true;
    }
    if (pg >= INT32_MAX - DBONT_PG_EPOCH_DAYS)
        return false;
    *out = pg + DBONT_PG_EPOCH_DAYS;
    return true;
}

bool dbont_date_to_pg(dbont_date date, int32_t *out)
{
    if (date == DBONT_DATE_NEG_INFINITY || date == DBONT_DATE_INFINITY) {
        *out = date == DBONT_DATE_NEG_INFINITY ? INT32_MIN : INT32_MAX;
        return true;
    }
    if (date <= INT32_MIN + DBONT_PG_EPOCH_DAYS)
        return false;
    *out = date - DBONT_PG_EPOCH_DAYS;
    return true;
}

bool dbont_timestamp_from_pg(int64_t pg, dbont_timestamp *out)
{
    if (pg == INT64_MIN || pg == INT64_MAX) {
        *out = pg == INT64_MIN ? DBONT_TIMESTAMP_NEG_INFINITY : DBONT_TIMESTAMP_INFINITY;
        return true;
    }
    if (pg >= INT64_MAX - DBONT_PG_EPOCH_USECS)
        return false;
    *out = pg + DBONT_PG_EPOCH_USECS;
    return true;
}

bool dbont_timestamp_to_pg(dbont_timestamp ts, int64_t *out)
{
    if (ts == DBONT_TIMESTAMP_NEG_INFINITY || ts == DBONT_TIMESTAMP_INFINITY) {
        *out = ts == DBONT_TIMESTAMP_NEG_INFINITY ? INT64_MIN : INT64_MAX;
        return true;
    }
    if (ts <= INT64_MIN + DBONT_PG_EPOCH_USECS)
        return false;
    *out = ts - DBONT_PG_EPOCH_USECS;
    return true;
}

/* ---- numeric -------------------------------------------------------- */

/*
 * Output goes through a sink that only counts when buf is NULL, so the
 * sizing pass and the writing pass run the same code and cannot disagree.
 */
typedef struct sink {
    char *buf;
    size_t n;
} sink;

static void put_char(sink *s, char c)
{
    if (s->buf != NULL)
        s->buf[s->n] = c;
    s->n++;
}

static void put_str(sink *s, const char *str)
{
    while (*str != '\0')
        put_char(s, *str++);
}

static const int pow10_table[4] = {1, 10, 100, 1000};

/* Writes one base-10000 digit: all four decimal digits when pad, else
 * without leading zeros (but at least one digit). */
static void put_group(sink *s, int d, bool pad)
{
    int k;
    bool started = pad;
    for (k = 3; k >= 0; k--) {
        int dec = d / pow10_table[k] % 10;
        if (dec != 0 || k == 0)
            started = true;
        if (started)
            put_char(s, (char)('0' + dec));
    }
}

typedef struct numeric {
    int ndigits;
    int weight;       /* the first digit's power of 10000 */
    int dscale;       /* decimal digits after the point */
    bool negative;
    const uint8_t *digits;  /* ndigits big-endian int16 */
} numeric;

/* The base-10000 digit at index i (any index; outside the stored ones: 0). */
static int digit_at(const numeric *n, long i)
{
    if (i < 0 || i >= n->ndigits)
        return 0;
    return (int)get_u16(n->digits + 2 * i);
}

/* Whether any digit that will be printed (integer part and dscale
 * fractional digits) is nonzero, i.e. whether a '-' may be printed. */
static bool printed_nonzero(const numeric *n)
{
    long i;
    for (i = 0; i < n->ndigits; i++) {
        int d = digit_at(n, i);
        long k = i - n->weight;          /* fractional group number, 1-based */
        long shown;
        if (d == 0)
            continue;
        if (k <= 0)
            return true;
        shown = n->dscale - 4 * (k - 1); /* decimal digits of it printed */
        if (shown >= 4)
            return true;
        if (shown > 0 && d / pow10_table[4 - shown] != 0)
            return true;
    }
    return false;
}

static void put_integer_part(sink *s, const numeric *n)
{
    long g;
    bool started = false;

    if (n->weight < 0) {
        put_char(s, '0');
        return;
    }
    for (g = 0; g <= n->weight; g++) {
        int d = digit_at(n, g);
        /* Skip leading zero groups (PostgreSQL strips them, but a
         * well-formed value may still carry them). */
        if (!started && d == 0 && g < n->weight)
            continue;
        put_group(s, d, started);
        started = true;
    }
}

static void put_fraction(sink *s, const numeric *n)
{
    long pos;
    if (n->dscale == 0)
        return;
    put_char(s, '.');
    for (pos = 0; pos < n->dscale; pos++) {
        int d = digit_at(n, n->weight + 1 + pos / 4);
        put_char(s, (char)('0' + d / pow10_table[3 - pos % 4] % 10));
    }
}

static dbont_codec_status numeric_header(const uint8_t *bin, size_t len,
                                         numeric *n, uint16_t *sign)
{
    long i;
    int16_t ndigits, dscale;

    if (len < 8)
        return DBONT_CODEC_BAD_LENGTH;
    ndigits = to_i16(get_u16(bin));
    if (ndigits < 0 || len != 8 + 2 * (size_t)ndigits)
        return DBONT_CODEC_BAD_LENGTH;
    dscale = to_i16(get_u16(bin + 6));
    *sign = get_u16(bin + 4);
    n->ndigits = ndigits;
    n->weight = to_i16(get_u16(bin + 2));
    n->dscale = dscale;
    n->negative = *sign == NUMERIC_NEG;
    n->digits = bin + 8;
    if (*sign != NUMERIC_POS && *sign != NUMERIC_NEG)
        return *sign == NUMERIC_NAN || *sign == NUMERIC_PINF || *sign == NUMERIC_NINF
                   ? DBONT_CODEC_OK : DBONT_CODEC_BAD_VALUE;
    if (dscale < 0 || dscale > NUMERIC_MAX_DSCALE)
        return DBONT_CODEC_BAD_VALUE;
    for (i = 0; i < ndigits; i++)
        if (digit_at(n, i) >= NUMERIC_BASE)
            return DBONT_CODEC_BAD_VALUE;
    return DBONT_CODEC_OK;
}

dbont_codec_status dbont_numeric_to_text(const uint8_t *bin, size_t len,
                                         char *out, size_t *textlen)
{
    numeric n;
    uint16_t sign;
    sink s;
    dbont_codec_status st = numeric_header(bin, len, &n, &sign);

    if (st != DBONT_CODEC_OK)
        return st;
    s.buf = out;
    s.n = 0;
    if (sign == NUMERIC_NAN) {
        put_str(&s, "NaN");
    } else if (sign == NUMERIC_PINF) {
        put_str(&s, "Infinity");
    } else if (sign == NUMERIC_NINF) {
        put_str(&s, "-Infinity");
    } else {
        if (n.negative && printed_nonzero(&n))
            put_char(&s, '-');
        put_integer_part(&s, &n);
        put_fraction(&s, &n);
    }
    if (out != NULL)
        out[s.n] = '\0';
    *textlen = s.n;
    return DBONT_CODEC_OK;
}

/* ---- numeric from text ---------------------------------------------- */

/* The white space of isspace() in the C locale, which the server uses for
 * these ASCII characters whatever its locale. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Whether s starts with word, ignoring case (pg_strncasecmp). */
static bool starts_with_ci(const char *s, const char *word)
{
    for (; *word != '\0'; s++, word++)
        if (lower(*s) != *word)
            return false;
    return true;
}

/* numeric_in's special values, checked in its order. */
static const struct {
    const char *word;   /* lower case */
    uint16_t sign;
} numeric_specials[] = {
    {"nan", NUMERIC_NAN},       {"infinity", NUMERIC_PINF},
    {"+infinity", NUMERIC_PINF}, {"-infinity", NUMERIC_NINF},
    {"inf", NUMERIC_PINF},      {"+inf", NUMERIC_PINF},
    {"-inf", NUMERIC_NINF},
};

/* The exponent bound of numeric_in: |e| < INT_MAX / 2. */
#define EXPONENT_LIMIT (INT_MAX / 2)
#define NUMERIC_WEIGHT_MAX INT16_MAX
#define NUMERIC_WEIGHT_MIN INT16_MIN

/* Parses [ws][+-]digits after an 'e' the way strtol does; the value is
 * clamped past the limit, which is then reported as overflow. */
static dbont_codec_status parse_exponent(const char **pp, long *exponent)
{
    const char *p = *pp;
    bool negative = false;
    long v = 0;

    while (is_space(*p))
        p++;
    if (*p == '+' || *p == '-')
        negative = *p++ == '-';
    if (!is_digit(*p))
        return DBONT_CODEC_BAD_VALUE;
    for (; is_digit(*p); p++)
        if (v < EXPONENT_LIMIT)
            v = v * 10 + (*p - '0');
    if (v >= EXPONENT_LIMIT)
        return DBONT_CODEC_OVERFLOW;
    *exponent = negative ? -v : v;
    *pp = p;
    return DBONT_CODEC_OK;
}

/* floor(a / 4) for any sign. */
static long long floor_div4(long long a)
{
    return a >= 0 ? a / 4 : -((-a + 3) / 4);
}

/*
 * The sign, digits and exponent at p.  Returns a syntax error or an
 * exponent overflow at once (the server raises both while parsing); a
 * weight or scale out of range goes to *range, which the server reports
 * only after checking for trailing junk.
 */
static dbont_codec_status parse_decimal(const char *p, dbont_numeric_text *n,
                                        const char **end,
                                        dbont_codec_status *range)
{
    size_t ndig = 0, last = 0;
    bool found = false;
    long exponent = 0;
    long long dscale, e0, weight;

    n->sign = NUMERIC_POS;
    if (*p == '+' || *p == '-')
        n->sign = *p++ == '-' ? NUMERIC_NEG : NUMERIC_POS;
    n->body = p;
    n->has_dot = false;
    n->intdigits = 0;
    if (*p == '.') {
        n->has_dot = true;
        p++;
    }
    if (!is_digit(*p))
        return DBONT_CODEC_BAD_VALUE;
    for (;;) {
        if (is_digit(*p)) {
            if (*p != '0') {
                if (!found)
                    n->first = ndig;
                found = true;
                last = ndig;
            }
            ndig++;
            if (!n->has_dot)
                n->intdigits++;
        } else if (*p == '.') {
            if (n->has_dot)
                return DBONT_CODEC_BAD_VALUE;
            n->has_dot = true;
        } else {
            break;
        }
        p++;
    }
    if (*p == 'e' || *p == 'E') {
        dbont_codec_status st;
        p++;
        st = parse_exponent(&p, &exponent);
        if (st != DBONT_CODEC_OK)
            return st;
    }
    *end = p;
    *range = DBONT_CODEC_OK;

    /* Digit counts beyond 2^62 cannot come from a real string. */
    dscale = (long long)(ndig - n->intdigits) - exponent;
    if (dscale < 0)
        dscale = 0;
    if (dscale > NUMERIC_MAX_DSCALE) {
        *range = DBONT_CODEC_OVERFLOW;
        return DBONT_CODEC_OK;
    }
    n->dscale = (int)dscale;
    if (!found) {
        /* Zero: no digits, weight 0, never negative. */
        n->sign = NUMERIC_POS;
        n->weight = 0;
        n->ndigits = 0;
        n->first = 0;
        n->nsig = 0;
        n->offset = 0;
        return DBONT_CODEC_OK;
    }
    e0 = (long long)n->intdigits - 1 - (long long)n->first + exponent;
    weight = floor_div4(e0);
    if (weight > NUMERIC_WEIGHT_MAX || weight < NUMERIC_WEIGHT_MIN) {
        *range = DBONT_CODEC_OVERFLOW;
        return DBONT_CODEC_OK;
    }
    n->weight = (int)weight;
    n->offset = (unsigned)(4 * weight + 3 - e0);
    n->nsig = last - n->first + 1;
    n->ndigits = (n->offset + n->nsig + 3) / 4;
    return DBONT_CODEC_OK;
}

dbont_codec_status dbont_numeric_parse(const char *text, dbont_numeric_text *out)
{
    const char *p = text;
    dbont_numeric_text n;
    dbont_codec_status range = DBONT_CODEC_OK;
    size_t i;

    if (text == NULL)
        return DBONT_CODEC_BAD_VALUE;
    memset(&n, 0, sizeof n);
    while (is_space(*p))
        p++;
    for (i = 0; i < sizeof numeric_specials / sizeof numeric_specials[0]; i++) {
        if (starts_with_ci(p, numeric_specials[i].word)) {
            n.sign = numeric_specials[i].sign;
            p += strlen(numeric_specials[i].word);
            break;
        }
    }
    if (i == sizeof numeric_specials / sizeof numeric_specials[0]) {
        dbont_codec_status st = parse_decimal(p, &n, &p, &range);
        if (st != DBONT_CODEC_OK)
            return st;
    }
    while (is_space(*p))
        p++;
    if (*p != '\0')
        return DBONT_CODEC_BAD_VALUE;
    if (range != DBONT_CODEC_OK)
        return range;
    *out = n;
    return DBONT_CODEC_OK;
}

size_t dbont_numeric_binary_size(const dbont_numeric_text *n)
{
    return 8 + 2 * n->ndigits;
}

void dbont_numeric_write_header(const dbont_numeric_text *n, uint8_t out[8])
{
    put_u16(out, (uint16_t)n->ndigits);
    put_u16(out + 2, (uint16_t)(int16_t)n->weight);
    put_u16(out + 4, n->sign);
    put_u16(out + 6, (uint16_t)n->dscale);
}

/* Decimal digit number i of the significant run (0 <= i < nsig). */
static int sig_digit(const dbont_numeric_text *n, size_t i)
{
    size_t idx = n->first + i;
    if (n->has_dot && idx >= n->intdigits)
        idx++;      /* skip the point */
    return n->body[idx] - '0';
}

uint16_t dbont_numeric_digit(const dbont_numeric_text *n, size_t k)
{
    unsigned d = 0;
    size_t j;
    for (j = 0; j < 4; j++) {
        size_t pos = 4 * k + j;     /* in the zero-padded digit run */
        int dec = 0;
        if (pos >= n->offset && pos - n->offset < n->nsig)
            dec = sig_digit(n, pos - n->offset);
        d = d * 10 + (unsigned)dec;
    }
    return (uint16_t)d;
}

dbont_codec_status dbont_numeric_from_text(const char *text, uint8_t *out,
                                           size_t cap, size_t *len)
{
    dbont_numeric_text n;
    size_t k;
    dbont_codec_status st = dbont_numeric_parse(text, &n);

    if (st != DBONT_CODEC_OK)
        return st;
    *len = dbont_numeric_binary_size(&n);
    if (*len > cap)
        return DBONT_CODEC_TOO_LONG;
    dbont_numeric_write_header(&n, out);
    for (k = 0; k < n.ndigits; k++)
        put_u16(out + 8 + 2 * k, dbont_numeric_digit(&n, k));
    return DBONT_CODEC_OK;
}

/* ---- decoding ------------------------------------------------------- */

/* The exact size of a fixed-size type's binary value, 0 for the others. */
static size_t fixed_size(dbont_type type)
{
    switch (type) {
    case DBONT_BOOLEAN: return 1;
    case DBONT_SMALLINT: return 2;
    case DBONT_INTEGER:
    case DBONT_REAL:
    case DBONT_DATE: return 4;
    case DBONT_BIGINT:
    case DBONT_DOUBLE:
    case DBONT_TIMESTAMP:
    case DBONT_TIMESTAMPTZ: return 8;
    case DBONT_UUID: return 16;
    default: return 0;
    }
}

static dbont_codec_status decode_fixed(dbont_type type, const uint8_t *p,
                                       void *field)
{
    switch (type) {
    case DBONT_BOOLEAN: {
        bool v = p[0] != 0;
        memcpy(field, &v, sizeof v);
        break;
    }
    case DBONT_SMALLINT: {
        int16_t v = to_i16(get_u16(p));
        memcpy(field, &v, sizeof v);
        break;
    }
    case DBONT_INTEGER: {
        int32_t v = to_i32(get_u32(p));
        memcpy(field, &v, sizeof v);
        break;
    }
    case DBONT_BIGINT: {
        int64_t v = to_i64(get_u64(p));
        memcpy(field, &v, sizeof v);
        break;
    }
    case DBONT_REAL: {
        uint32_t bits = get_u32(p);
        float v;
        memcpy(&v, &bits, sizeof v);
        memcpy(field, &v, sizeof v);
        break;
    }
    case DBONT_DOUBLE: {
        uint64_t bits = get_u64(p);
        double v;
        memcpy(&v, &bits, sizeof v);
        memcpy(field, &v, sizeof v);
        break;
    }
    case DBONT_UUID:
        memcpy(field, p, 16);
        break;
    case DBONT_DATE: {
        dbont_date v;
        if (!dbont_date_from_pg(to_i32(get_u32(p)), &v))
            return DBONT_CODEC_OVERFLOW;
        memcpy(field, &v, sizeof v);
        break;
    }
    case DBONT_TIMESTAMP:
    case DBONT_TIMESTAMPTZ: {
        dbont_timestamp v;
        if (!dbont_timestamp_from_pg(to_i64(get_u64(p)), &v))
            return DBONT_CODEC_OVERFLOW;
        memcpy(field, &v, sizeof v);
        break;
    }
    default:
        return DBONT_CODEC_BAD_VALUE;
    }
    return DBONT_CODEC_OK;
}

static void set_text(void *field, const char *text)
{
    memcpy(field, &text, sizeof text);
}

dbont_codec_status dbont_decode_value(dbont_type type, const char *val,
                                      size_t len, void *field, char **arena)
{
    const uint8_t *p = (const uint8_t *)val;
    size_t size = fixed_size(type);

    if (size != 0) {
        if (len != size)
            return DBONT_CODEC_BAD_LENGTH;
        return decode_fixed(type, p, field);
    }
    switch (type) {
    case DBONT_TEXT:
    case DBONT_VARCHAR:
        set_text(field, val);
        return DBONT_CODEC_OK;
    case DBONT_JSONB:
        if (len < 1)
            return DBONT_CODEC_BAD_LENGTH;
        if (p[0] != JSONB_VERSION)
            return DBONT_CODEC_BAD_VALUE;
        set_text(field, val + 1);
        return DBONT_CODEC_OK;
    case DBONT_BYTEA: {
        dbont_bytes b;
        b.data = p;
        b.len = len;
        memcpy(field, &b, sizeof b);
        return DBONT_CODEC_OK;
    }
    case DBONT_NUMERIC: {
        size_t n;
        dbont_codec_status st = dbont_numeric_to_text(p, len, *arena, &n);
        if (st != DBONT_CODEC_OK)
            return st;
        set_text(field, *arena);
        *arena += n + 1;
        return DBONT_CODEC_OK;
    }
    default:
        return DBONT_CODEC_BAD_VALUE;
    }
}

/* ---- encoding ------------------------------------------------------- */

static dbont_codec_status encode_fixed(dbont_type type, const void *field,
                                       uint8_t scratch[8])
{
    switch (type) {
    case DBONT_BOOLEAN: {
        bool v;
        memcpy(&v, field, sizeof v);
        scratch[0] = v ? 1 : 0;
        break;
    }
    case DBONT_SMALLINT: {
        int16_t v;
        memcpy(&v, field, sizeof v);
        put_u16(scratch, (uint16_t)v);
        break;
    }
    case DBONT_INTEGER: {
        int32_t v;
        memcpy(&v, field, sizeof v);
        put_u32(scratch, (uint32_t)v);
        break;
    }
    case DBONT_BIGINT: {
        int64_t v;
        memcpy(&v, field, sizeof v);
        put_u64(scratch, (uint64_t)v);
        break;
    }
    case DBONT_REAL: {
        uint32_t bits;
        memcpy(&bits, field, sizeof bits);
        put_u32(scratch, bits);
        break;
    }
    case DBONT_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, field, sizeof bits);
        put_u64(scratch, bits);
        break;
    }
    case DBONT_DATE: {
        dbont_date v;
        int32_t pg;
        memcpy(&v, field, sizeof v);
        if (!dbont_date_to_pg(v, &pg))
            return DBONT_CODEC_OVERFLOW;
        put_u32(scratch, (uint32_t)pg);
        break;
    }
    case DBONT_TIMESTAMP:
    case DBONT_TIMESTAMPTZ: {
        dbont_timestamp v;
        int64_t pg;
        memcpy(&v, field, sizeof v);
        if (!dbont_timestamp_to_pg(v, &pg))
            return DBONT_CODEC_OVERFLOW;
        put_u64(scratch, (uint64_t)pg);
        break;
    }
    default:
        return DBONT_CODEC_BAD_VALUE;
    }
    return DBONT_CODEC_OK;
}

dbont_codec_status dbont_encode_value(dbont_type type, const void *field,
                                      uint8_t scratch[8], const char **value,
                                      int *length, int *format)
{
    if (dbont_type_is_text(type)) {
        /* The server parses the text; no copy is made. */
        memcpy(value, field, sizeof *value);
        *length = 0;
        *format = 0;
        return DBONT_CODEC_OK;
    }
    *format = 1;
    if (type == DBONT_UUID) {
        /* dbont_uuid is already 16 bytes in network order. */
        *value = (const char *)((const dbont_uuid *)field)->bytes;
        *length = 16;
        return DBONT_CODEC_OK;
    }
    if (type == DBONT_BYTEA) {
        dbont_bytes b;
        memcpy(&b, field, sizeof b);
        if (b.len > INT_MAX)
            return DBONT_CODEC_TOO_LONG;
        if (b.data == NULL && b.len != 0)
            return DBONT_CODEC_BAD_VALUE;
        /* A NULL pointer would mean SQL NULL to libpq: send "" instead. */
        *value = b.data != NULL ? (const char *)b.data : "";
        *length = (int)b.len;
        return DBONT_CODEC_OK;
    }
    *value = (const char *)scratch;
    *length = (int)fixed_size(type);
    return encode_fixed(type, field, scratch);
}
