/*
 * monotime.h: points in time on CLOCK_MONOTONIC, for the pool's deadlines
 * and idle times (a wall clock set back or forward must not shorten or
 * lengthen a wait).  Internal to libdbont.
 */
#ifndef DBONT_MONOTIME_H
#define DBONT_MONOTIME_H

#include <stdint.h>
#include <time.h>

/* The longest span dbont_time_after adds: about 31 years, far beyond any
 * real timeout, and far from overflowing a time_t. */
#define DBONT_TIME_MAX_SPAN 1e9

/* Now, on CLOCK_MONOTONIC. */
struct timespec dbont_time_now(void);

/* from + seconds.  seconds below 0 (or NaN) count as 0, above
 * DBONT_TIME_MAX_SPAN (or infinite) as DBONT_TIME_MAX_SPAN. */
struct timespec dbont_time_after(struct timespec from, double seconds);

/* to - from in seconds (negative when to is earlier). */
double dbont_time_diff(struct timespec from, struct timespec to);

/* Now, on CLOCK_MONOTONIC, in whole milliseconds (the caches' expiry
 * times and the migrator's durations count in them). */
uint64_t dbont_time_ms(void);

/* Sleeps seconds (none when not positive), resuming after a signal. */
void dbont_sleep(double seconds);

#endif
