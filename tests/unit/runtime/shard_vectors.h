/*
 * shard_vectors.h: the committed test vectors of shard routing
 * (dbont/shard.h).  Routing is part of the stored data's format: these
 * values must never change.  A change of the hash, the canonical bytes or
 * the jump arithmetic that alters any of them moves rows to shards where
 * no one looks for them.
 *
 * None of these values comes from dbont's own code.  They were computed
 * with node 20 by
 *   - xxHash64: two independent implementations from npm that agree on
 *     every vector, xxhash-wasm 1.1.0 (written in WebAssembly) and
 *     xxhashjs 0.2.2 (JavaScript on 16-bit limbs);
 *     those of "", "a", "abc", "" with seed 1 and the fox sentence are
 *     also the ones other implementations' test suites check;
 *   - jump consistent hash: a transcription of the paper's figure 1 into
 *     JavaScript (BigInt for the 64-bit generator, JavaScript numbers,
 *     which are IEEE 754 doubles, for the jump), which also reproduces
 *     jump(256, 1024) == 520 and vectors published by other
 *     implementations (jump(1, 100) == 55, jump(2, 100) == 62,
 *     jump(0xdeadbeef, 1000) == 285, jump(10863919174838991, 11) == 6,
 *     jump(2016238256797177309, 11) == 3);
 *   - the router: those two on the canonical bytes of dbont/shard.h.
 */
#ifndef DBONT_TEST_SHARD_VECTORS_H
#define DBONT_TEST_SHARD_VECTORS_H

#include <stddef.h>
#include <stdint.h>

/* xxHash64.  text: the input's bytes (no NUL); when text is NULL, the
 * input is pattern_len bytes 0x00, 0x01, 0x02, ... (byte i is i mod 256),
 * which covers every path: the 8-, 4- and 1-byte tails and the 32-byte
 * stripes. */
struct xxh64_vector {
    const char *text;
    size_t pattern_len;
    uint64_t seed;
    uint64_t hash;
};

static const struct xxh64_vector xxh64_vectors[] = {
    {"", 0, UINT64_C(0x0000000000000000), UINT64_C(0xEF46DB3751D8E999)},
    {"a", 0, UINT64_C(0x0000000000000000), UINT64_C(0xD24EC4F1A98C6E5B)},
    {"abc", 0, UINT64_C(0x0000000000000000), UINT64_C(0x44BC2CF5AD770999)},
    {"abcd", 0, UINT64_C(0x0000000000000000), UINT64_C(0xDE0327B0D25D92CC)},
    {"abcdefgh", 0, UINT64_C(0x0000000000000000), UINT64_C(0x3AD351775B4634B7)},
    {"The quick brown fox jumps over the lazy dog", 0, UINT64_C(0x0000000000000000),
     UINT64_C(0x0B242D361FDA71BC)},
    {NULL, 1, UINT64_C(0x0000000000000000), UINT64_C(0xE934A84ADB052768)},
    {NULL, 3, UINT64_C(0x0000000000000000), UINT64_C(0xE5C7BB4533BC65DD)},
    {NULL, 4, UINT64_C(0x0000000000000000), UINT64_C(0xFFCED8604453CC1E)},
    {NULL, 5, UINT64_C(0x0000000000000000), UINT64_C(0xDD0274386E26030C)},
    {NULL, 7, UINT64_C(0x0000000000000000), UINT64_C(0x14CC643F630C72D2)},
    {NULL, 8, UINT64_C(0x0000000000000000), UINT64_C(0x884A173614B81B8D)},
    {NULL, 12, UINT64_C(0x0000000000000000), UINT64_C(0x424AF23F1F08DCA5)},
    {NULL, 15, UINT64_C(0x0000000000000000), UINT64_C(0xA948F5F0F6ABAC2D)},
    {NULL, 31, UINT64_C(0x0000000000000000), UINT64_C(0xC346D2B59B4D8EE1)},
    {NULL, 32, UINT64_C(0x0000000000000000), UINT64_C(0xCBF59C5116FF32B4)},
    {NULL, 33, UINT64_C(0x0000000000000000), UINT64_C(0x0C535D1ACAFB8EAD)},
    {NULL, 63, UINT64_C(0x0000000000000000), UINT64_C(0xE26AA9E2A95F8E4F)},
    {NULL, 64, UINT64_C(0x0000000000000000), UINT64_C(0xF7C67301DB6713F0)},
    {NULL, 100, UINT64_C(0x0000000000000000), UINT64_C(0x6AC1E58032166597)},
    {NULL, 1000, UINT64_C(0x0000000000000000), UINT64_C(0x6EF436B00EBA4078)},
    {"", 0, UINT64_C(0x0000000000000001), UINT64_C(0xD5AFBA1336A3BE4B)},
    {"abc", 0, UINT64_C(0x0000000000000001), UINT64_C(0xBEA9CA8199328908)},
    {NULL, 100, UINT64_C(0x9E3779B97F4A7C15), UINT64_C(0x3B97D91EBA03E785)},
    {NULL, 33, UINT64_C(0xFFFFFFFFFFFFFFFF), UINT64_C(0x5677D5193D356C20)},
};

/* Jump consistent hash: jump(key, buckets) == bucket.  The key
 * 0x1A14174CD450A8C0 was constructed so that its walk reaches bucket 48
 * and then draws (state >> 33) + 1 == 49 * 2^25, where the paper's double
 * arithmetic gives 49 * fl(64/49) = 63.99999999999999, so j = 63, while
 * exact arithmetic would give 64: its vectors for 64 buckets and more pin
 * IEEE 754 double semantics (exact arithmetic would give 48, 873, 873,
 * 20051 and 1839121649). */
struct jump_vector {
    uint64_t key;
    int32_t buckets;
    int32_t bucket;
};

static const struct jump_vector jump_vectors[] = {
    {UINT64_C(0x0000000000000000), 1, 0},
    {UINT64_C(0x0000000000000000), 2, 0},
    {UINT64_C(0x0000000000000000), 3, 0},
    {UINT64_C(0x0000000000000000), 16, 0},
    {UINT64_C(0x0000000000000000), 17, 0},
    {UINT64_C(0x0000000000000000), 64, 0},
    {UINT64_C(0x0000000000000000), 1000, 0},
    {UINT64_C(0x0000000000000000), 1024, 0},
    {UINT64_C(0x0000000000000000), 65536, 0},
    {UINT64_C(0x0000000000000000), 2147483647, 0},
    {UINT64_C(0x0000000000000001), 1, 0},
    {UINT64_C(0x0000000000000001), 2, 0},
    {UINT64_C(0x0000000000000001), 3, 0},
    {UINT64_C(0x0000000000000001), 16, 6},
    {UINT64_C(0x0000000000000001), 17, 6},
    {UINT64_C(0x0000000000000001), 64, 55},
    {UINT64_C(0x0000000000000001), 1000, 549},
    {UINT64_C(0x0000000000000001), 1024, 549},
    {UINT64_C(0x0000000000000001), 65536, 21134},
    {UINT64_C(0x0000000000000001), 2147483647, 262355607},
    {UINT64_C(0x0000000000000002), 1, 0},
    {UINT64_C(0x0000000000000002), 2, 0},
    {UINT64_C(0x0000000000000002), 3, 0},
    {UINT64_C(0x0000000000000002), 16, 15},
    {UINT64_C(0x0000000000000002), 17, 15},
    {UINT64_C(0x0000000000000002), 64, 62},
    {UINT64_C(0x0000000000000002), 1000, 338},
    {UINT64_C(0x0000000000000002), 1024, 338},
    {UINT64_C(0x0000000000000002), 65536, 3927},
    {UINT64_C(0x0000000000000002), 2147483647, 736532115},
    {UINT64_C(0x0000000000000100), 1, 0},
    {UINT64_C(0x0000000000000100), 2, 1},
    {UINT64_C(0x0000000000000100), 3, 2},
    {UINT64_C(0x0000000000000100), 16, 3},
    {UINT64_C(0x0000000000000100), 17, 16},
    {UINT64_C(0x0000000000000100), 64, 16},
    {UINT64_C(0x0000000000000100), 1000, 520},
    {UINT64_C(0x0000000000000100), 1024, 520},
    {UINT64_C(0x0000000000000100), 65536, 8799},
    {UINT64_C(0x0000000000000100), 2147483647, 74751002},
    {UINT64_C(0x00000000DEADBEEF), 1, 0},
    {UINT64_C(0x00000000DEADBEEF), 2, 1},
    {UINT64_C(0x00000000DEADBEEF), 3, 2},
    {UINT64_C(0x00000000DEADBEEF), 16, 5},
    {UINT64_C(0x00000000DEADBEEF), 17, 16},
    {UINT64_C(0x00000000DEADBEEF), 64, 16},
    {UINT64_C(0x00000000DEADBEEF), 1000, 285},
    {UINT64_C(0x00000000DEADBEEF), 1024, 285},
    {UINT64_C(0x00000000DEADBEEF), 65536, 64244},
    {UINT64_C(0x00000000DEADBEEF), 2147483647, 1452406526},
    {UINT64_C(0x0123456789ABCDEF), 1, 0},
    {UINT64_C(0x0123456789ABCDEF), 2, 0},
    {UINT64_C(0x0123456789ABCDEF), 3, 0},
    {UINT64_C(0x0123456789ABCDEF), 16, 13},
    {UINT64_C(0x0123456789ABCDEF), 17, 13},
    {UINT64_C(0x0123456789ABCDEF), 64, 57},
    {UINT64_C(0x0123456789ABCDEF), 1000, 194},
    {UINT64_C(0x0123456789ABCDEF), 1024, 194},
    {UINT64_C(0x0123456789ABCDEF), 65536, 33301},
    {UINT64_C(0x0123456789ABCDEF), 2147483647, 1651575352},
    {UINT64_C(0xFFFFFFFFFFFFFFFF), 1, 0},
    {UINT64_C(0xFFFFFFFFFFFFFFFF), 2, 1},
    {UINT64_C(0xFFFFFFFFFFFFFFFF), 3, 2},
    {UINT64_C(0xFFFFFFFFFFFFFFFF), 16, 10},
    {UINT64_C(0xFFFFFFFFFFFFFFFF), 17, 10},
    {UINT64_C(0xFFFFFFFFFFFFFFFF), 64, 10},
    {UINT64_C(0xFFFFFFFFFFFFFFFF), 1000, 313},
    {UINT64_C(0xFFFFFFFFFFFFFFFF), 1024, 313},
    {UINT64_C(0xFFFFFFFFFFFFFFFF), 65536, 18311},
    {UINT64_C(0xFFFFFFFFFFFFFFFF), 2147483647, 699554662},
    {UINT64_C(0x1A14174CD450A8C0), 1, 0},
    {UINT64_C(0x1A14174CD450A8C0), 2, 1},
    {UINT64_C(0x1A14174CD450A8C0), 3, 2},
    {UINT64_C(0x1A14174CD450A8C0), 16, 2},
    {UINT64_C(0x1A14174CD450A8C0), 17, 2},
    {UINT64_C(0x1A14174CD450A8C0), 64, 63},
    {UINT64_C(0x1A14174CD450A8C0), 1000, 859},
    {UINT64_C(0x1A14174CD450A8C0), 1024, 1019},
    {UINT64_C(0x1A14174CD450A8C0), 65536, 19724},
    {UINT64_C(0x1A14174CD450A8C0), 2147483647, 1809131063},
    {UINT64_C(10863919174838991), 11, 6},
    {UINT64_C(2016238256797177309), 11, 3},
};

/* The router: the routing hash (xxHash64, seed 0, of the canonical
 * bytes) and the shard for 1, 4, 16, 17 and 1000 shards. */
enum shard_key_type { SHARD_KEY_INT, SHARD_KEY_TEXT, SHARD_KEY_UUID };

static const int32_t route_nshards[5] = {1, 4, 16, 17, 1000};

struct route_vector {
    enum shard_key_type type;
    int64_t int_key;      /* SHARD_KEY_INT */
    const char *text_key; /* SHARD_KEY_TEXT: UTF-8; SHARD_KEY_UUID: text form */
    const char *canonical_hex; /* the canonical bytes, for dbont_shard_of_bytes */
    uint64_t hash;
    int32_t shard[5];     /* for route_nshards */
};

static const struct route_vector route_vectors[] = {
    {SHARD_KEY_INT, INT64_C(0), NULL, "0000000000000000",
     UINT64_C(0x34C96ACDCADB1BBB), {0, 1, 4, 4, 321}},
    {SHARD_KEY_INT, INT64_C(1), NULL, "0100000000000000",
     UINT64_C(0x9F29CB17A2A49995), {0, 1, 1, 1, 776}},
    {SHARD_KEY_INT, INT64_C(-1), NULL, "ffffffffffffffff",
     UINT64_C(0x85D136ADB773C6C9), {0, 1, 12, 12, 415}},
    {SHARD_KEY_INT, INT64_C(42), NULL, "2a00000000000000",
     UINT64_C(0xB556806FB6D14353), {0, 3, 12, 12, 190}},
    {SHARD_KEY_INT, INT64_MAX, NULL, "ffffffffffffff7f",
     UINT64_C(0xFF70CC60366E770C), {0, 1, 9, 9, 691}},
    {SHARD_KEY_INT, INT64_MIN, NULL, "0000000000000080",
     UINT64_C(0x3F425EACF01544E0), {0, 3, 6, 6, 792}},
    {SHARD_KEY_TEXT, 0, "alice@example.com", "616c696365406578616d706c652e636f6d",
     UINT64_C(0xC21EB846CC96C11E), {0, 1, 13, 13, 507}},
    {SHARD_KEY_TEXT, 0, "", "",
     UINT64_C(0xEF46DB3751D8E999), {0, 2, 7, 7, 332}},
    /* "Zo\u00eb" as NFC; its NFD form (e, then U+0308) is another key */
    {SHARD_KEY_TEXT, 0, "Zo\xc3\xab", "5a6fc3ab",
     UINT64_C(0x577DD6BEC83CA1D1), {0, 0, 0, 16, 890}},
    {SHARD_KEY_UUID, 0, "123e4567-e89b-12d3-a456-426614174000", "123e4567e89b12d3a456426614174000",
     UINT64_C(0x48FBA9D1F5D72644), {0, 2, 2, 2, 54}},
    {SHARD_KEY_UUID, 0, "00000000-0000-0000-0000-000000000000", "00000000000000000000000000000000",
     UINT64_C(0xAF09F71516247C32), {0, 1, 12, 12, 681}},
};

#endif
