/*
 * types.c: the text form of uuids.
 */

#include "dbont/types.h"

/* Value of a hex digit, or -1. */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Positions of the four hyphens in "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
static int is_hyphen_position(size_t i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

int dbont_uuid_parse(const char *text, dbont_uuid *out)
{
    dbont_uuid u;
    size_t i, nibble = 0;

    if (text == NULL || out == NULL)
        return -1;
    /* Reads at most 37 characters; stops at the NUL of a short string. */
    for (i = 0; i < DBONT_UUID_TEXT_SIZE - 1; i++) {
        char c = text[i];
        int v;
        if (c == '\0')
            return -1;
        if (is_hyphen_position(i)) {
            if (c != '-')
                return -1;
            continue;
        }
        v = hex_value(c);
        if (v < 0)
            return -1;
        if (nibble % 2 == 0)
            u.bytes[nibble / 2] = (uint8_t)(v << 4);
        else
            u.bytes[nibble / 2] |= (uint8_t)v;
        nibble++;
    }
    if (text[i] != '\0')
        return -1;
    *out = u;
    return 0;
}

void dbont_uuid_format(const dbont_uuid *uuid, char out[DBONT_UUID_TEXT_SIZE])
{
    static const char digits[] = "0123456789abcdef";
    size_t i, o = 0;

    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = digits[uuid->bytes[i] >> 4];
        out[o++] = digits[uuid->bytes[i] & 0x0F];
    }
    out[o] = '\0';
}
