/* Unit tests: shard routing (dbont/shard.h) against the committed vectors
 * of shard_vectors.h, and the consistent-hash properties it promises. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dbont/shard.h"
#include "dbont/types.h"
#include "shard_vectors.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The integer keys of the property tests: 0 .. NKEYS-1, as an application's
 * serial ids would be. */
#define NKEYS 100000

static size_t hex_decode(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        char byte[3] = {hex[2 * i], hex[2 * i + 1], '\0'};
        out[i] = (unsigned char)strtoul(byte, NULL, 16);
    }
    return n;
}

static void fill_pattern(unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(i & 0xff);
}

static void test_xxh64_vectors(void **state)
{
    static unsigned char buf[1000];
    (void)state;
    for (size_t i = 0; i < N_ELEMS(xxh64_vectors); i++) {
        const struct xxh64_vector *v = &xxh64_vectors[i];
        uint64_t got;
        if (v->text != NULL) {
            got = dbont_xxh64(v->text, strlen(v->text), v->seed);
        } else {
            assert_true(v->pattern_len <= sizeof buf);
            fill_pattern(buf, v->pattern_len);
            got = dbont_xxh64(buf, v->pattern_len, v->seed);
        }
        if (got != v->hash)
            fail_msg("xxh64 vector %zu: got 0x%016llX, want 0x%016llX", i,
                     (unsigned long long)got, (unsigned long long)v->hash);
    }
    /* NULL with length 0 is the empty input. */
    assert_true(dbont_xxh64(NULL, 0, 0) == UINT64_C(0xEF46DB3751D8E999));
}

/* The input may sit at any address: words are assembled byte by byte. */
static void test_xxh64_unaligned(void **state)
{
    static unsigned char buf[100 + 8];
    (void)state;
    for (size_t offset = 0; offset < 8; offset++) {
        fill_pattern(buf + offset, 100);
        assert_true(dbont_xxh64(buf + offset, 100, 0) == UINT64_C(0x6AC1E58032166597));
        assert_true(dbont_xxh64(buf + offset, 33, 0) == UINT64_C(0x0C535D1ACAFB8EAD));
    }
}

static void test_jump_vectors(void **state)
{
    (void)state;
    assert_int_equal(dbont_jump_hash(256, 1024), 520); /* FACTS.md */
    for (size_t i = 0; i < N_ELEMS(jump_vectors); i++) {
        const struct jump_vector *v = &jump_vectors[i];
        int32_t got = dbont_jump_hash(v->key, v->buckets);
        if (got != v->bucket)
            fail_msg("jump(0x%016llX, %d): got %d, want %d", (unsigned long long)v->key,
                     (int)v->buckets, (int)got, (int)v->bucket);
    }
}

static void test_jump_no_buckets(void **state)
{
    (void)state;
    assert_int_equal(dbont_jump_hash(42, 0), -1);
    assert_int_equal(dbont_jump_hash(42, -1), -1);
    assert_int_equal(dbont_jump_hash(42, INT32_MIN), -1);
}

static void test_route_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(route_vectors); i++) {
        const struct route_vector *v = &route_vectors[i];
        unsigned char canonical[64];
        size_t clen = hex_decode(v->canonical_hex, canonical, sizeof canonical);
        dbont_uuid u;
        uint64_t hash = 0;
        switch (v->type) {
        case SHARD_KEY_INT:
            hash = dbont_shard_hash_int(v->int_key);
            break;
        case SHARD_KEY_TEXT:
            hash = dbont_shard_hash_text(v->text_key, strlen(v->text_key));
            break;
        case SHARD_KEY_UUID:
            assert_int_equal(dbont_uuid_parse(v->text_key, &u), 0);
            hash = dbont_shard_hash_uuid(&u);
            break;
        }
        if (hash != v->hash)
            fail_msg("route vector %zu: hash 0x%016llX, want 0x%016llX", i,
                     (unsigned long long)hash, (unsigned long long)v->hash);
        assert_true(dbont_shard_hash_bytes(canonical, clen) == v->hash);

        for (size_t k = 0; k < N_ELEMS(route_nshards); k++) {
            int32_t n = route_nshards[k];
            int32_t shard = -2;
            switch (v->type) {
            case SHARD_KEY_INT:
                shard = dbont_shard_of_int(v->int_key, n);
                break;
            case SHARD_KEY_TEXT:
                shard = dbont_shard_of_text(v->text_key, strlen(v->text_key), n);
                break;
            case SHARD_KEY_UUID:
                shard = dbont_shard_of_uuid(&u, n);
                break;
            }
            if (shard != v->shard[k])
                fail_msg("route vector %zu, %d shards: got %d, want %d", i, (int)n,
                         (int)shard, (int)v->shard[k]);
            assert_int_equal(dbont_shard_of_bytes(canonical, clen, n), v->shard[k]);
        }
    }
}

/* smallint, integer and bigint columns route a value alike: the C
 * conversion to int64_t keeps the value (sign included). */
static void test_narrow_integers_route_alike(void **state)
{
    int16_t small = -1;
    int32_t medium = -1;
    (void)state;
    assert_true(dbont_shard_hash_int(small) == UINT64_C(0x85D136ADB773C6C9));
    assert_true(dbont_shard_hash_int(medium) == UINT64_C(0x85D136ADB773C6C9));
    assert_int_equal(dbont_shard_of_int(small, 16), 12);
    assert_int_equal(dbont_shard_of_int(medium, 16), 12);
}

static void test_text_without_bytes(void **state)
{
    (void)state;
    /* NULL with length 0 is the empty string; a length stops at it, a NUL
     * does not end the key early. */
    assert_true(dbont_shard_hash_text(NULL, 0) == UINT64_C(0xEF46DB3751D8E999));
    assert_int_equal(dbont_shard_of_text(NULL, 0, 16), 7);
    assert_int_equal(dbont_shard_of_text("alice@example.com and more", 17, 16), 13);
}

static void test_no_shards_is_an_error(void **state)
{
    static const int32_t bad[] = {0, -1, -17, INT32_MIN};
    dbont_uuid u;
    (void)state;
    memset(&u, 0, sizeof u);
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        assert_int_equal(dbont_shard_of_int(42, bad[i]), -1);
        assert_int_equal(dbont_shard_of_text("a", 1, bad[i]), -1);
        assert_int_equal(dbont_shard_of_uuid(&u, bad[i]), -1);
        assert_int_equal(dbont_shard_of_bytes("a", 1, bad[i]), -1);
    }
    /* One shard: everything on shard 0; the most shards: still in range. */
    assert_int_equal(dbont_shard_of_int(42, 1), 0);
    int32_t s = dbont_shard_of_int(42, INT32_MAX);
    assert_true(s >= 0 && s < INT32_MAX);
}

static uint64_t *key_hashes(void)
{
    uint64_t *h = malloc(NKEYS * sizeof *h);
    assert_non_null(h);
    for (int64_t k = 0; k < NKEYS; k++)
        h[k] = dbont_shard_hash_int(k);
    return h;
}

/* 16 -> 17 shards moves about 1/17 (5.9%) of the keys, all to shard 16. */
static void test_grow_16_to_17(void **state)
{
    uint64_t *h = key_hashes();
    long moved = 0;
    (void)state;
    for (int64_t k = 0; k < NKEYS; k++) {
        int32_t before = dbont_jump_hash(h[k], 16);
        int32_t after = dbont_jump_hash(h[k], 17);
        assert_int_equal(dbont_shard_of_int(k, 17), after);
        if (before != after) {
            moved++;
            if (after != 16)
                fail_msg("key %lld moved from shard %d to %d", (long long)k, (int)before,
                         (int)after);
        }
    }
    double share = (double)moved / NKEYS;
    print_message("16 -> 17 shards: %ld of %d keys moved (%.2f%%, ideal %.2f%%)\n", moved,
                  NKEYS, 100.0 * share, 100.0 / 17);
    assert_true(share >= 0.05 && share <= 0.07);
    free(h);
}

/* Every one of 16 shards holds the mean share of keys within 5%. */
static void test_balance_16(void **state)
{
    uint64_t *h = key_hashes();
    long count[16] = {0};
    (void)state;
    for (int64_t k = 0; k < NKEYS; k++) {
        int32_t s = dbont_jump_hash(h[k], 16);
        assert_true(s >= 0 && s < 16);
        count[s]++;
    }
    double mean = NKEYS / 16.0;
    for (int s = 0; s < 16; s++) {
        if (count[s] < mean * 0.95 || count[s] > mean * 1.05)
            fail_msg("shard %d holds %ld keys, mean %.0f", s, count[s], mean);
    }
    free(h);
}

/* n -> n+1 shards, for n in 1..64: a key stays or goes to the new shard n,
 * never from one old shard to another. */
static void test_growth_is_monotone(void **state)
{
    uint64_t *h = key_hashes();
    int32_t *shard = malloc(NKEYS * sizeof *shard);
    (void)state;
    assert_non_null(shard);
    for (int64_t k = 0; k < NKEYS; k++)
        shard[k] = dbont_jump_hash(h[k], 1);
    for (int32_t n = 1; n <= 64; n++) {
        long moved = 0;
        for (int64_t k = 0; k < NKEYS; k++) {
            int32_t next = dbont_jump_hash(h[k], n + 1);
            if (next != shard[k]) {
                if (next != n)
                    fail_msg("%d -> %d shards: key %lld moved from %d to %d", (int)n,
                             (int)(n + 1), (long long)k, (int)shard[k], (int)next);
                moved++;
                shard[k] = next;
            }
        }
        /* About 1/(n+1) of them: within a third of it either way (the
         * smallest share, 1/65, is still 1538 keys). */
        double ideal = (double)NKEYS / (n + 1);
        assert_true(moved > ideal * 2 / 3 && moved < ideal * 4 / 3);
    }
    free(shard);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xxh64_vectors),
        cmocka_unit_test(test_xxh64_unaligned),
        cmocka_unit_test(test_jump_vectors),
        cmocka_unit_test(test_jump_no_buckets),
        cmocka_unit_test(test_route_vectors),
        cmocka_unit_test(test_narrow_integers_route_alike),
        cmocka_unit_test(test_text_without_bytes),
        cmocka_unit_test(test_no_shards_is_an_error),
        cmocka_unit_test(test_grow_16_to_17),
        cmocka_unit_test(test_balance_16),
        cmocka_unit_test(test_growth_is_monotone),
    };
    return cmocka_run_group_tests_name("unit_runtime_shard", tests, NULL, NULL);
}
