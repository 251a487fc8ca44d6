/* Unit tests: CLOCK_MONOTONIC arithmetic of the pool (monotime.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "monotime.h"

static struct timespec ts(long sec, long nsec)
{
    struct timespec t;
    t.tv_sec = (time_t)sec;
    t.tv_nsec = nsec;
    return t;
}

static void test_after_adds_and_carries(void **state)
{
    struct timespec t;
    (void)state;
    t = dbont_time_after(ts(10, 0), 1.25);
    assert_int_equal(t.tv_sec, 11);
    assert_true(labs(t.tv_nsec - 250000000L) <= 1);
    /* 0.7 s + 0.5 s: the nanoseconds carry into the seconds. */
    t = dbont_time_after(ts(10, 700000000L), 0.5);
    assert_int_equal(t.tv_sec, 11);
    assert_true(labs(t.tv_nsec - 200000000L) <= 1);
    assert_true(t.tv_nsec >= 0 && t.tv_nsec < 1000000000L);
    /* Just below a whole second stays normalized. */
    t = dbont_time_after(ts(0, 999999999L), 0.999999999);
    assert_true(t.tv_nsec >= 0 && t.tv_nsec < 1000000000L);
    assert_int_equal(t.tv_sec, 1);
}

static void test_after_clamps(void **state)
{
    struct timespec t;
    (void)state;
    t = dbont_time_after(ts(5, 5), 0);
    assert_int_equal(t.tv_sec, 5);
    assert_int_equal(t.tv_nsec, 5);
    t = dbont_time_after(ts(5, 5), -3.0);
    assert_int_equal(t.tv_sec, 5);
    assert_int_equal(t.tv_nsec, 5);
    t = dbont_time_after(ts(5, 5), NAN);
    assert_int_equal(t.tv_sec, 5);
    t = dbont_time_after(ts(5, 0), INFINITY);
    assert_int_equal(t.tv_sec, 5 + (long)DBONT_TIME_MAX_SPAN);
    t = dbont_time_after(ts(5, 0), 1e300);
    assert_int_equal(t.tv_sec, 5 + (long)DBONT_TIME_MAX_SPAN);
}

static void test_diff(void **state)
{
    (void)state;
    assert_true(fabs(dbont_time_diff(ts(1, 500000000L), ts(3, 0)) - 1.5) < 1e-9);
    assert_true(fabs(dbont_time_diff(ts(3, 0), ts(1, 500000000L)) + 1.5) < 1e-9);
    assert_true(dbont_time_diff(ts(7, 7), ts(7, 7)) == 0.0);
}

static void test_now_is_monotonic(void **state)
{
    struct timespec a, b;
    (void)state;
    a = dbont_time_now();
    b = dbont_time_now();
    assert_true(dbont_time_diff(a, b) >= 0.0);
    assert_true(a.tv_sec != 0 || a.tv_nsec != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_after_adds_and_carries),
        cmocka_unit_test(test_after_clamps),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_now_is_monotonic),
    };
    return cmocka_run_group_tests_name("unit_runtime_monotime", tests, NULL, NULL);
}
