/*
 * dbont/shard.h: which shard a key lives on (shard:algorithm
 * "consistent-hash").
 *
 * The shard of a key is
 *
 *     dbont_jump_hash(dbont_xxh64(canonical bytes of the key, len, 0), nshards)
 *
 * with shards numbered 0 .. nshards-1.  Every part of that is fixed
 * forever, because a row's shard is where it is stored: a router that
 * answered differently on another platform, compiler or dbont version would
 * lose rows rather than fail.  So
 *   - the hash is xxHash64 (the published algorithm, seed 0), computed on
 *     bytes read little-endian whatever the host's byte order;
 *   - the canonical bytes of each key type are the ones below, and depend
 *     on the value only, not on the C type that carries it;
 *   - jump consistent hash (Lamping and Veach, "A Fast, Minimal Memory,
 *     Consistent Hash Algorithm", 2014) is the paper's, in IEEE 754 double
 *     arithmetic, each operation rounded once; libdbont refuses to build
 *     where it would not be (x87 excess precision, -ffast-math);
 *   - tests/unit/runtime/shard_vectors.h pins the outputs.
 *
 * Canonical bytes:
 *   smallint, integer, bigint  the value as a 64-bit two's complement
 *                              integer, 8 bytes little-endian (so 7 is the
 *                              same key in all three types)
 *   text, varchar              the UTF-8 bytes of the value exactly: no
 *                              terminating NUL, no Unicode normalization,
 *                              no case folding
 *   uuid                       its 16 bytes in network order (dbont_uuid)
 *
 * Why jump consistent hash: going from n to n+1 shards moves about
 * 1/(n+1) of the keys, every one of them to the new shard n, and the
 * shards stay balanced (md5(key) % n moves nearly all of them: 94% from
 * 16 to 17 shards).  Why xxHash64: fast (the whole route of a uuid is
 * a few tens of nanoseconds), well mixed, and specified, with
 * implementations in most languages for programs that must route alike.
 *
 * These functions are pure: no allocation, no state, any thread; the
 * bytes they are given are only read, during the call.  They assume the
 * default floating-point rounding mode (round to nearest); a program that
 * changes it with fesetround must restore it before routing.  nshards
 * below 1 is a caller's error: the shard functions return -1.
 */
#ifndef DBONT_SHARD_H
#define DBONT_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "dbont/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The seed of the routing hash.  Part of the format: never changes. */
#define DBONT_SHARD_SEED 0

/*
 * xxHash64 of len bytes at data (data may be NULL when len is 0).  The
 * standard function: dbont_xxh64("", 0, 0) == 0xEF46DB3751D8E999.
 */
uint64_t dbont_xxh64(const void *data, size_t len, uint64_t seed);

/*
 * Jump consistent hash: the bucket, in 0 .. buckets-1, of a 64-bit key
 * that is already well mixed (a hash, not a raw id: small consecutive
 * keys would not spread).  -1 when buckets < 1.
 */
int32_t dbont_jump_hash(uint64_t key, int32_t buckets);

/*
 * The routing hash of a key: xxHash64, seed 0, of its canonical bytes.
 * The shard of a key for any shard count is dbont_jump_hash of it, so
 * resharding can list the hashes that move from n to m shards without
 * the keys themselves.
 */
uint64_t dbont_shard_hash_int(int64_t key);
uint64_t dbont_shard_hash_text(const char *s, size_t len); /* s may be NULL when len is 0 */
uint64_t dbont_shard_hash_uuid(const dbont_uuid *key);
/* For a key already in canonical bytes (for instance read back from a
 * table's key column in binary form and re-encoded by the caller). */
uint64_t dbont_shard_hash_bytes(const void *canonical, size_t len);

/*
 * The shard, 0 .. nshards-1, of a key; -1 when nshards < 1.  Pass the
 * value, not its bit pattern in a narrower type: an integer column's -1 is
 * dbont_shard_of_int(-1, n), whichever of smallint, integer and bigint the
 * column is.
 */
int32_t dbont_shard_of_int(int64_t key, int32_t nshards);
int32_t dbont_shard_of_text(const char *s, size_t len, int32_t nshards);
int32_t dbont_shard_of_uuid(const dbont_uuid *key, int32_t nshards);
int32_t dbont_shard_of_bytes(const void *canonical, size_t len, int32_t nshards);

#ifdef __cplusplus
}
#endif

#endif
