/* Unit tests: the per-connection set of prepared statement ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry.h"

static void test_empty(void **state)
{
    dbont_registry r;
    (void)state;
    dbont_registry_init(&r);
    assert_int_equal(dbont_registry_count(&r), 0);
    assert_false(dbont_registry_contains(&r, 1));
    assert_false(dbont_registry_contains(&r, 0));
    dbont_registry_remove(&r, 1);   /* no effect, no crash */
    assert_null(r.slots);           /* nothing allocated yet */
    dbont_registry_free(&r);
}

static void test_add_lookup(void **state)
{
    dbont_registry r;
    (void)state;
    dbont_registry_init(&r);
    assert_int_equal(dbont_registry_add(&r, 42), 0);
    assert_int_equal(dbont_registry_add(&r, UINT64_MAX), 0);
    assert_int_equal(dbont_registry_add(&r, 42), 0);    /* duplicate */
    assert_int_equal(dbont_registry_count(&r), 2);
    assert_true(dbont_registry_contains(&r, 42));
    assert_true(dbont_registry_contains(&r, UINT64_MAX));
    assert_false(dbont_registry_contains(&r, 43));
    dbont_registry_free(&r);
}

static void test_zero_key(void **state)
{
    dbont_registry r;
    (void)state;
    dbont_registry_init(&r);
    assert_int_equal(dbont_registry_add(&r, 0), 0);
    assert_true(dbont_registry_contains(&r, 0));
    assert_int_equal(dbont_registry_count(&r), 1);
    dbont_registry_remove(&r, 0);
    assert_false(dbont_registry_contains(&r, 0));
    assert_int_equal(dbont_registry_count(&r), 0);
    dbont_registry_free(&r);
}

/* 10,000 keys force many doublings; all are kept, no stranger appears,
 * and the table stays at most half full. */
static void test_grow(void **state)
{
    dbont_registry r;
    uint64_t k;
    (void)state;
    dbont_registry_init(&r);
    for (k = 1; k <= 10000; k++)
        assert_int_equal(dbont_registry_add(&r, k * 1000003), 0);
    assert_int_equal(dbont_registry_count(&r), 10000);
    assert_true(r.count * 2 <= r.cap);
    for (k = 1; k <= 10000; k++) {
        assert_true(dbont_registry_contains(&r, k * 1000003));
        assert_false(dbont_registry_contains(&r, k * 1000003 + 1));
    }
    dbont_registry_free(&r);
    assert_null(r.slots);
    assert_int_equal(dbont_registry_count(&r), 0);
}

/* Removing from the middle of probe runs must not hide later keys:
 * compare with a plain array after removing every third key. */
static void test_remove_keeps_others(void **state)
{
    dbont_registry r;
    uint64_t k;
    (void)state;
    dbont_registry_init(&r);
    for (k = 1; k <= 3000; k++)
        assert_int_equal(dbont_registry_add(&r, k), 0);
    for (k = 3; k <= 3000; k += 3)
        dbont_registry_remove(&r, k);
    assert_int_equal(dbont_registry_count(&r), 2000);
    for (k = 1; k <= 3000; k++)
        assert_int_equal(dbont_registry_contains(&r, k), k % 3 != 0);
    /* Removed keys can come back. */
    assert_int_equal(dbont_registry_add(&r, 3), 0);
    assert_true(dbont_registry_contains(&r, 3));
    dbont_registry_free(&r);
}

/* Random adds and removes checked against a brute-force model. */
static void test_random_against_model(void **state)
{
    enum { UNIVERSE = 512, STEPS = 20000 };
    bool model[UNIVERSE];
    dbont_registry r;
    unsigned seed = 12345;
    size_t expected = 0;
    int i;
    (void)state;
    memset(model, 0, sizeof model);
    dbont_registry_init(&r);
    for (i = 0; i < STEPS; i++) {
        unsigned key;
        seed = seed * 1103515245u + 12345u;
        key = (seed >> 8) % UNIVERSE;
        if ((seed >> 20) & 1) {
            assert_int_equal(dbont_registry_add(&r, key), 0);
            if (!model[key])
                expected++;
            model[key] = true;
        } else {
            dbont_registry_remove(&r, key);
            if (model[key])
                expected--;
            model[key] = false;
        }
    }
    assert_int_equal(dbont_registry_count(&r), expected);
    for (i = 0; i < UNIVERSE; i++)
        assert_int_equal(dbont_registry_contains(&r, (uint64_t)i), model[i]);
    dbont_registry_free(&r);
}

static void test_clear(void **state)
{
    dbont_registry r;
    uint64_t k;
    size_t cap;
    (void)state;
    dbont_registry_init(&r);
    for (k = 0; k < 100; k++)
        dbont_registry_add(&r, k);
    cap = r.cap;
    dbont_registry_clear(&r);
    assert_int_equal(dbont_registry_count(&r), 0);
    assert_int_equal(r.cap, cap);   /* memory kept */
    for (k = 0; k < 100; k++)
        assert_false(dbont_registry_contains(&r, k));
    assert_int_equal(dbont_registry_add(&r, 7), 0);
    assert_true(dbont_registry_contains(&r, 7));
    dbont_registry_free(&r);
}

/* After reserve, one add never needs to grow the table. */
static void test_reserve_then_add(void **state)
{
    dbont_registry r;
    uint64_t k;
    (void)state;
    dbont_registry_init(&r);
    for (k = 1; k <= 100; k++) {
        size_t cap;
        assert_int_equal(dbont_registry_reserve(&r), 0);
        cap = r.cap;
        assert_true(cap > 0);
        assert_int_equal(dbont_registry_add(&r, k), 0);
        assert_int_equal(r.cap, cap);
    }
    dbont_registry_free(&r);
}

static void test_mix64(void **state)
{
    (void)state;
    /* Mixing spreads neighbours and is not the identity. */
    assert_int_equal(dbont_mix64(0), 0);
    assert_true(dbont_mix64(1) != 1);
    assert_true(dbont_mix64(1) != dbont_mix64(2));
    assert_true((dbont_mix64(1) ^ dbont_mix64(2)) >> 32 != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_add_lookup),
        cmocka_unit_test(test_zero_key),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_remove_keeps_others),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_reserve_then_add),
        cmocka_unit_test(test_mix64),
    };
    return cmocka_run_group_tests_name("unit_runtime_registry", tests, NULL, NULL);
}
