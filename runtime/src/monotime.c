/*
 * monotime.c: CLOCK_MONOTONIC arithmetic for the pool, the caches and the
 * migrator, and sleeping.
 */
#define _POSIX_C_SOURCE 200809L  /* clock_gettime, CLOCK_MONOTONIC, nanosleep */

#include "monotime.h"

#include <errno.h>

#define NSEC_PER_SEC 1000000000L

struct timespec dbont_time_now(void)
{
    struct timespec t;
    /* Cannot fail for CLOCK_MONOTONIC on the systems dbont supports. */
    if (clock_gettime(CLOCK_MONOTONIC, &t) != 0) {
        t.tv_sec = 0;
        t.tv_nsec = 0;
    }
    return t;
}

struct timespec dbont_time_after(struct timespec from, double seconds)
{
    struct timespec t = from;
    time_t whole;
    long nsec;

    if (!(seconds > 0))   /* also NaN */
        seconds = 0;
    if (seconds > DBONT_TIME_MAX_SPAN)
        seconds = DBONT_TIME_MAX_SPAN;
    whole = (time_t)seconds;
    nsec = (long)((seconds - (double)whole) * 1e9);
    if (nsec >= NSEC_PER_SEC)   /* rounding at the very top */
        nsec = NSEC_PER_SEC - 1;
    t.tv_sec += whole;
    t.tv_nsec += nsec;
    if (t.tv_nsec >= NSEC_PER_SEC) {
        t.tv_sec++;
        t.tv_nsec -= NSEC_PER_SEC;
    }
    return t;
}

double dbont_time_diff(struct timespec from, struct timespec to)
{
    return (double)(to.tv_sec - from.tv_sec) + (double)(to.tv_nsec - from.tv_nsec) / 1e9;
}

uint64_t dbont_time_ms(void)
{
    struct timespec t = dbont_time_now();
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

void dbont_sleep(double seconds)
{
    if (!(seconds > 0))
        return;
    struct timespec t = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}
