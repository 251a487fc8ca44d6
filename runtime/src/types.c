/*
 * types.c: the text form of uuids, and random uuids.
 */
/* getrandom (glibc 2.25) */
#define _GNU_SOURCE

#include "dbont/types.h"

#include <errno.h>
#include <stddef.h>
#include <sys/random.h>

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

int dbont_uuid_random(dbont_uuid *out)
{
    unsigned char bytes[16];
    size_t got = 0;
    while (got < sizeof bytes) {
        /* Up to 256 bytes never come back short once the pool is ready,
         * but a signal can interrupt the wait for it. */
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    bytes[6] = (unsigned char)((bytes[6] & 0x0F) | 0x40); /* version 4 */
    bytes[8] = (unsigned char)((bytes[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    for (size_t i = 0; i < 16; i++)
        out->bytes[i] = bytes[i];
    return 0;
}
