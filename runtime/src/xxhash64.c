/*
 * xxhash64.c: xxHash64, written from the algorithm's published
 * description (Yann Collet's xxhash_spec.md, "XXH64 algorithm
 * description").  Shard routing (shard_route.c) stores its output in the
 * data's placement, so this must be the standard function bit for bit on
 * every host: input words are assembled little-endian byte by byte (no
 * casts of the caller's pointer, which may be unaligned), and all
 * arithmetic is on uint64_t, wrapping modulo 2^64 as the algorithm wants.
 */
#include <stddef.h>
#include <stdint.h>

#include "dbont/shard.h"

static const uint64_t PRIME1 = UINT64_C(0x9E3779B185EBCA87);
static const uint64_t PRIME2 = UINT64_C(0xC2B2AE3D27D4EB4F);
static const uint64_t PRIME3 = UINT64_C(0x165667B19E3779F9);
static const uint64_t PRIME4 = UINT64_C(0x85EBCA77C2B2AE63);
static const uint64_t PRIME5 = UINT64_C(0x27D4EB2F165667C5);

/* n is always a constant in 1..63 here, so neither shift is by 64. */
static uint64_t rotl(uint64_t x, unsigned n) { return (x << n) | (x >> (64 - n)); }

static uint64_t load_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static uint64_t load_le32(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24;
}

/* One lane into one accumulator (the spec's "round"). */
static uint64_t round64(uint64_t acc, uint64_t lane)
{
    acc += lane * PRIME2;
    acc = rotl(acc, 31);
    return acc * PRIME1;
}

/* Folds one of the four accumulators into the converged one. */
static uint64_t merge(uint64_t acc, uint64_t acc_n)
{
    acc ^= round64(0, acc_n);
    return acc * PRIME1 + PRIME4;
}

uint64_t dbont_xxh64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    size_t left = len;
    uint64_t acc;

    if (left >= 32) {
        /* Step 1 and 2: four lanes per 32-byte stripe, one accumulator each. */
        uint64_t acc1 = seed + PRIME1 + PRIME2;
        uint64_t acc2 = seed + PRIME2;
        uint64_t acc3 = seed;
        uint64_t acc4 = seed - PRIME1;
        do {
            acc1 = round64(acc1, load_le64(p));
            acc2 = round64(acc2, load_le64(p + 8));
            acc3 = round64(acc3, load_le64(p + 16));
            acc4 = round64(acc4, load_le64(p + 24));
            p += 32;
            left -= 32;
        } while (left >= 32);
        /* Step 3: converge. */
        acc = rotl(acc1, 1) + rotl(acc2, 7) + rotl(acc3, 12) + rotl(acc4, 18);
        acc = merge(acc, acc1);
        acc = merge(acc, acc2);
        acc = merge(acc, acc3);
        acc = merge(acc, acc4);
    } else {
        /* Short input: no stripes. */
        acc = seed + PRIME5;
    }

    /* Step 4: the total length (modulo 2^64, as the spec says). */
    acc += (uint64_t)len;

    /* Step 5: the last 0..31 bytes, by 8, then 4, then one at a time. */
    while (left >= 8) {
        acc ^= round64(0, load_le64(p));
        acc = rotl(acc, 27) * PRIME1 + PRIME4;
        p += 8;
        left -= 8;
    }
    if (left >= 4) {
        acc ^= load_le32(p) * PRIME1;
        acc = rotl(acc, 23) * PRIME2 + PRIME3;
        p += 4;
        left -= 4;
    }
    while (left > 0) {
        acc ^= (uint64_t)*p * PRIME5;
        acc = rotl(acc, 11) * PRIME1;
        p++;
        left--;
    }

    /* Step 6: avalanche, so that every input bit reaches every output bit. */
    acc ^= acc >> 33;
    acc *= PRIME2;
    acc ^= acc >> 29;
    acc *= PRIME3;
    acc ^= acc >> 32;
    return acc;
}
