/*
 * sha256.h: SHA-256 (FIPS 180-4), internal to libdbont.
 *
 * Migrations are identified by the SHA-256 of their text, and that checksum
 * is stored in the database, so it has to be the standard function, the
 * same on every platform.  Written here rather than taken from a crypto
 * library so that libdbont depends on libpq alone.
 *
 * Usage: init, update any number of times, final.  The context is a plain
 * value (no allocation, nothing to free).
 */
#ifndef DBONT_SHA256_H
#define DBONT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define DBONT_SHA256_DIGEST_SIZE 32
/* 64 lower-case hex digits plus NUL. */
#define DBONT_SHA256_HEX_SIZE 65

typedef struct dbont_sha256 {
    uint32_t state[8];
    uint64_t total_bytes;   /* message length so far */
    uint8_t block[64];      /* bytes waiting for a full block */
    size_t block_used;
} dbont_sha256;

void dbont_sha256_init(dbont_sha256 *ctx);
void dbont_sha256_update(dbont_sha256 *ctx, const void *data, size_t len);
/* Finishes the hash; ctx must be initialised again before reuse. */
void dbont_sha256_final(dbont_sha256 *ctx,
                        uint8_t digest[DBONT_SHA256_DIGEST_SIZE]);

/* Writes digest as lower-case hex, NUL-terminated. */
void dbont_sha256_hex(const uint8_t digest[DBONT_SHA256_DIGEST_SIZE],
                      char out[DBONT_SHA256_HEX_SIZE]);

#endif
