/*
 * test_sha256.c: SHA-256 against the FIPS 180-4 examples (the test vectors
 * NIST publishes with the standard), and the migration checksum built on
 * it (CR LF normalised to LF before hashing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dbont/migrate.h"
#include "sha256.h"

static void hash_in_chunks(const char *data, size_t len, size_t chunk,
                           char hex[DBONT_SHA256_HEX_SIZE])
{
    dbont_sha256 ctx;
    uint8_t digest[DBONT_SHA256_DIGEST_SIZE];
    dbont_sha256_init(&ctx);
    for (size_t done = 0; done < len; done += chunk)
        dbont_sha256_update(&ctx, data + done, len - done < chunk ? len - done : chunk);
    dbont_sha256_final(&ctx, digest);
    dbont_sha256_hex(digest, hex);
}

/* Hashes text at once and in chunks of several awkward sizes (across the
 * 64-byte block and the 56-byte padding boundary); all must agree. */
static void check_vector(const char *text, size_t len, const char *expected)
{
    static const size_t chunks[] = { SIZE_MAX, 1, 3, 55, 56, 63, 64, 65, 1000 };
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        char hex[DBONT_SHA256_HEX_SIZE];
        hash_in_chunks(text, len, chunks[i] == SIZE_MAX ? (len ? len : 1) : chunks[i], hex);
        assert_string_equal(hex, expected);
    }
}

static void test_empty(void **state)
{
    (void)state;
    check_vector("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_abc(void **state)
{
    (void)state;
    check_vector("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_448_bits(void **state)
{
    (void)state;
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(strlen(m) * 8, 448);
    check_vector(m, strlen(m),
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_896_bits(void **state)
{
    (void)state;
    const char *m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    assert_int_equal(strlen(m) * 8, 896);
    check_vector(m, strlen(m),
                 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a(void **state)
{
    (void)state;
    size_t len = 1000000;
    char *m = malloc(len);
    assert_non_null(m);
    memset(m, 'a', len);
    check_vector(m, len, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(m);
}

/* The checksum of raw text must equal the plain SHA-256 of normalised. */
static void assert_checksum_is_sha_of(const char *raw, const char *normalised)
{
    char got[DBONT_MIGRATE_CHECKSUM_SIZE], want[DBONT_SHA256_HEX_SIZE];
    dbont_migration_checksum(raw, strlen(raw), got);
    hash_in_chunks(normalised, strlen(normalised), 7, want);
    assert_string_equal(got, want);
}

static void test_checksum_normalises_crlf(void **state)
{
    (void)state;
    assert_checksum_is_sha_of("", "");
    assert_checksum_is_sha_of("SELECT 1;\r\n", "SELECT 1;\n");
    assert_checksum_is_sha_of("a\r\nb\r\n\r\nc", "a\nb\n\nc");
    /* Only CR LF pairs change: a lone CR stays, and the pass is single,
     * so CR CR LF becomes CR LF (not LF). */
    assert_checksum_is_sha_of("a\rb", "a\rb");
    assert_checksum_is_sha_of("a\r\r\nb", "a\r\nb");
    assert_checksum_is_sha_of("end\r", "end\r");
    assert_checksum_is_sha_of("\n\r", "\n\r");
}

static void test_checksum_same_for_crlf_and_lf(void **state)
{
    (void)state;
    char lf[DBONT_MIGRATE_CHECKSUM_SIZE], crlf[DBONT_MIGRATE_CHECKSUM_SIZE];
    const char *a = "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n";
    const char *b = "CREATE TABLE t (id int);\r\nINSERT INTO t VALUES (1);\r\n";
    dbont_migration_checksum(a, strlen(a), lf);
    dbont_migration_checksum(b, strlen(b), crlf);
    assert_string_equal(lf, crlf);
    assert_int_equal(strlen(lf), 64);
    /* A real edit still changes it. */
    dbont_migration_checksum("CREATE TABLE t (id bigint);\n", 28, crlf);
    assert_string_not_equal(lf, crlf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_abc),
        cmocka_unit_test(test_448_bits),
        cmocka_unit_test(test_896_bits),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_checksum_normalises_crlf),
        cmocka_unit_test(test_checksum_same_for_crlf_and_lf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
