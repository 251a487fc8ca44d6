/*
 * copyfmt.c: the binary COPY stream (see copyfmt.h).
 */
#include <limits.h>
#include <string.h>

#include "copyfmt.h"

/* The only jsonb binary format version there is (as in codec.c). */
#define JSONB_VERSION 1

static const char signature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};

void dbont_copybuf_init(dbont_copybuf *b, char *buf, size_t cap,
                        dbont_copy_flush_fn flush, void *ctx)
{
    b->buf = buf;
    b->cap = cap;
    b->len = 0;
    b->flush = flush;
    b->ctx = ctx;
    b->failed = false;
}

int dbont_copybuf_flush(dbont_copybuf *b)
{
    if (b->len > 0 && !b->failed && b->flush(b->ctx, b->buf, b->len) != 0)
        b->failed = true;
    b->len = 0;
    return b->failed ? -1 : 0;
}

void dbont_copybuf_put(dbont_copybuf *b, const void *data, size_t len)
{
    const char *p = data;

    if (b->len + len <= b->cap) {   /* the common case: it fits */
        memcpy(b->buf + b->len, p, len);
        b->len += len;
        return;
    }
    while (len > 0) {
        size_t room = b->cap - b->len, n = len < room ? len : room;
        memcpy(b->buf + b->len, p, n);
        b->len += n;
        p += n;
        len -= n;
        if (b->len == b->cap)
            dbont_copybuf_flush(b);
    }
}

static void put_u16(dbont_copybuf *b, uint16_t v)
{
    char bytes[2];
    bytes[0] = (char)(v >> 8);
    bytes[1] = (char)v;
    dbont_copybuf_put(b, bytes, 2);
}

static void put_u32(dbont_copybuf *b, uint32_t v)
{
    char bytes[4];
    bytes[0] = (char)(v >> 24);
    bytes[1] = (char)(v >> 16);
    bytes[2] = (char)(v >> 8);
    bytes[3] = (char)v;
    dbont_copybuf_put(b, bytes, 4);
}

void dbont_copybuf_header(dbont_copybuf *b)
{
    dbont_copybuf_put(b, signature, sizeof signature);
    put_u32(b, 0);  /* flags: no OIDs */
    put_u32(b, 0);  /* no header extension */
}

void dbont_copybuf_tuple(dbont_copybuf *b, uint16_t nfields)
{
    put_u16(b, nfields);
}

void dbont_copybuf_null(dbont_copybuf *b)
{
    put_u32(b, UINT32_MAX);     /* -1 */
}

void dbont_copybuf_trailer(dbont_copybuf *b)
{
    put_u16(b, UINT16_MAX);     /* -1 */
}

/* The text of a text-like field. */
static const char *field_text(const void *field)
{
    const char *text;
    memcpy(&text, field, sizeof text);
    return text;
}

/* Length of a text that becomes a field of extra + strlen bytes, or
 * SIZE_MAX when that exceeds an int32. */
static size_t text_length(const char *text, size_t extra)
{
    size_t n = strlen(text);
    return n > (size_t)INT32_MAX - extra ? SIZE_MAX : n;
}

dbont_codec_status dbont_copy_check_value(dbont_type type, const void *field)
{
    switch (type) {
    case DBONT_NUMERIC: {
        dbont_numeric_text n;
        return dbont_numeric_parse(field_text(field), &n);
    }
    case DBONT_TEXT:
    case DBONT_VARCHAR:
        return text_length(field_text(field), 0) == SIZE_MAX ? DBONT_CODEC_TOO_LONG
                                                             : DBONT_CODEC_OK;
    case DBONT_JSONB:
        return text_length(field_text(field), 1) == SIZE_MAX ? DBONT_CODEC_TOO_LONG
                                                             : DBONT_CODEC_OK;
    default: {
        uint8_t scratch[8];
        const char *value;
        int length, format;
        return dbont_encode_value(type, field, scratch, &value, &length, &format);
    }
    }
}

/* Base-10000 digits go out in blocks of this many. */
#define DIGIT_BLOCK 32

static dbont_codec_status put_numeric(dbont_copybuf *b, const char *text)
{
    dbont_numeric_text n;
    uint8_t block[2 * DIGIT_BLOCK];
    size_t k;
    dbont_codec_status st = dbont_numeric_parse(text, &n);

    if (st != DBONT_CODEC_OK)
        return st;
    put_u32(b, (uint32_t)dbont_numeric_binary_size(&n));
    dbont_numeric_write_header(&n, block);
    dbont_copybuf_put(b, block, 8);
    for (k = 0; k < n.ndigits;) {
        size_t j = 0;
        for (; j < DIGIT_BLOCK && k < n.ndigits; j++, k++) {
            uint16_t d = dbont_numeric_digit(&n, k);
            block[2 * j] = (uint8_t)(d >> 8);
            block[2 * j + 1] = (uint8_t)d;
        }
        dbont_copybuf_put(b, block, 2 * j);
    }
    return DBONT_CODEC_OK;
}

dbont_codec_status dbont_copybuf_value(dbont_copybuf *b, dbont_type type,
                                       const void *field)
{
    switch (type) {
    case DBONT_NUMERIC:
        return put_numeric(b, field_text(field));
    case DBONT_TEXT:
    case DBONT_VARCHAR: {
        const char *text = field_text(field);
        size_t n = text_length(text, 0);
        if (n == SIZE_MAX)
            return DBONT_CODEC_TOO_LONG;
        put_u32(b, (uint32_t)n);
        dbont_copybuf_put(b, text, n);
        return DBONT_CODEC_OK;
    }
    case DBONT_JSONB: {
        const char *text = field_text(field);
        size_t n = text_length(text, 1);
        char version = JSONB_VERSION;
        if (n == SIZE_MAX)
            return DBONT_CODEC_TOO_LONG;
        put_u32(b, (uint32_t)n + 1);
        dbont_copybuf_put(b, &version, 1);
        dbont_copybuf_put(b, text, n);
        return DBONT_CODEC_OK;
    }
    default: {
        /* Fixed-size values, uuid and bytea: the parameter encoding. */
        uint8_t scratch[8];
        const char *value;
        int length, format;
        dbont_codec_status st = dbont_encode_value(type, field, scratch, &value,
                                                   &length, &format);
        if (st != DBONT_CODEC_OK)
            return st;
        put_u32(b, (uint32_t)length);
        dbont_copybuf_put(b, value, (size_t)length);
        return DBONT_CODEC_OK;
    }
    }
}

/* ---- the row of an error ------------------------------------------------ */

/* Other context lines may come from triggers or functions: each line is
 * looked at. */
size_t dbont_copy_row_from_context(const char *context, size_t n)
{
    const char *line = context;

    while (line != NULL && *line != '\0') {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        if (len > 5 && strncmp(line, "COPY ", 5) == 0) {
            const char *p = line + 5, *stop = line + len;
            for (; p + 1 < stop; p++) {
                const char *q;
                unsigned long long v = 0;
                bool digits = false;
                if (p[0] != ',' || p[1] != ' ')
                    continue;
                q = p + 2;
                while (q < stop && *q != ' ' && *q != ',')
                    q++;    /* the word ("line") */
                if (q >= stop || *q != ' ')
                    continue;
                for (q++; q < stop && *q >= '0' && *q <= '9'; q++) {
                    digits = true;
                    if (v < UINT64_MAX / 10)
                        v = v * 10 + (unsigned)(*q - '0');
                }
                if (!digits || (q < stop && *q != ','))
                    continue;
                return v >= 1 && v <= n ? (size_t)(v - 1) : DBONT_COPY_NO_ROW;
            }
        }
        line = end != NULL ? end + 1 : NULL;
    }
    return DBONT_COPY_NO_ROW;
}
