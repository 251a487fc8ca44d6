/*
 * shard_route.c: the shard of a key (dbont/shard.h): jump consistent hash
 * over xxHash64 of the key's canonical bytes.  The output is part of the
 * stored data's format; tests/unit/runtime/shard_vectors.h pins it.
 */
#include <float.h>
#include <stddef.h>
#include <stdint.h>

#include "dbont/shard.h"

/*
 * Jump consistent hash computes with doubles, as the paper does, so that
 * every implementation of it (in any language) routes alike.  That is only
 * one function where double arithmetic is IEEE 754 binary64, each
 * operation rounded once to nearest: refuse to build where it is not.
 *   - FLT_EVAL_METHOD 2 (x87 without SSE2) keeps intermediates in 80 bits;
 *     rounding twice can change the last bit, and with it a shard.  On
 *     32-bit x86, build with -msse2 -mfpmath=sse.
 *   - -ffast-math (and -Ofast) lets the compiler reassociate and replace
 *     the division by a multiplication by a reciprocal.
 */
#if !defined(FLT_EVAL_METHOD) || (FLT_EVAL_METHOD != 0 && FLT_EVAL_METHOD != 1)
#error "dbont shard routing needs FLT_EVAL_METHOD 0 or 1 (on 32-bit x86: -msse2 -mfpmath=sse)"
#endif
#if defined(__FAST_MATH__)
#error "dbont shard routing must not be built with -ffast-math or -Ofast"
#endif
#if FLT_RADIX != 2 || DBL_MANT_DIG != 53
#error "dbont shard routing needs IEEE 754 binary64 doubles"
#endif

/*
 * Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm"
 * (2014), figure 1.  key walks a 64-bit linear congruential generator;
 * each step jumps from bucket b to the next bucket j at which the key
 * would move as the bucket count grows, until j passes the count.  The
 * expected number of steps is about ln(buckets).  All values fit: b + 1 is
 * at most 2^31 - 1, (key >> 33) + 1 at most 2^31, so the quotient is in
 * [1, 2^31], the product below 2^62, and every conversion to double of
 * these integers is exact.
 */
int32_t dbont_jump_hash(uint64_t key, int32_t buckets)
{
    int64_t b = -1;
    int64_t j = 0;
    while (j < buckets) {
        b = j;
        key = key * UINT64_C(2862933555777941757) + 1;
        j = (int64_t)((double)(b + 1) * ((double)(INT64_C(1) << 31) / (double)((key >> 33) + 1)));
    }
    return (int32_t)b;
}

uint64_t dbont_shard_hash_bytes(const void *canonical, size_t len)
{
    return dbont_xxh64(canonical, len, DBONT_SHARD_SEED);
}

/* The value as 64-bit two's complement, little-endian.  Converting to
 * uint64_t is defined for negative values (modulo 2^64), so no
 * implementation-defined signed shifts are involved. */
uint64_t dbont_shard_hash_int(int64_t key)
{
    uint64_t v = (uint64_t)key;
    unsigned char bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char)(v >> (8 * i));
    return dbont_xxh64(bytes, sizeof bytes, DBONT_SHARD_SEED);
}

uint64_t dbont_shard_hash_text(const char *s, size_t len)
{
    return dbont_xxh64(s, len, DBONT_SHARD_SEED);
}

uint64_t dbont_shard_hash_uuid(const dbont_uuid *key)
{
    return dbont_xxh64(key->bytes, sizeof key->bytes, DBONT_SHARD_SEED);
}

int32_t dbont_shard_of_bytes(const void *canonical, size_t len, int32_t nshards)
{
    if (nshards < 1)
        return -1;
    return dbont_jump_hash(dbont_shard_hash_bytes(canonical, len), nshards);
}

int32_t dbont_shard_of_int(int64_t key, int32_t nshards)
{
    if (nshards < 1)
        return -1;
    return dbont_jump_hash(dbont_shard_hash_int(key), nshards);
}

int32_t dbont_shard_of_text(const char *s, size_t len, int32_t nshards)
{
    if (nshards < 1)
        return -1;
    return dbont_jump_hash(dbont_shard_hash_text(s, len), nshards);
}

int32_t dbont_shard_of_uuid(const dbont_uuid *key, int32_t nshards)
{
    if (nshards < 1)
        return -1;
    return dbont_jump_hash(dbont_shard_hash_uuid(key), nshards);
}
