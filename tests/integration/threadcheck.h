/*
 * threadcheck.h: checks that count from any thread, for the integration
 * tests that run workers (pool, isolation).  A failed check prints
 * "FAIL file:line: message"; the test ends with threadcheck_summary(),
 * the "N passed, N failed" line.  Header-only: each test is one program.
 */
#ifndef DBONT_TEST_THREADCHECK_H
#define DBONT_TEST_THREADCHECK_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

/* Guards the counts; a test may guard its own counters with it too. */
static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static long check_passed, check_failed;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static bool check_at(bool ok, const char *file, int line, const char *fmt, ...)
{
    pthread_mutex_lock(&check_lock);
    if (ok) {
        check_passed++;
    } else {
        va_list ap;
        check_failed++;
        printf("FAIL %s:%d: ", file, line);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
    }
    pthread_mutex_unlock(&check_lock);
    return ok;
}

#define CHECK(ok, ...) check_at((ok), __FILE__, __LINE__, __VA_ARGS__)

/* Prints "N passed, N failed"; returns the number failed. */
static long threadcheck_summary(void)
{
    pthread_mutex_lock(&check_lock);
    long failed = check_failed;
    printf("%ld passed, %ld failed\n", check_passed, check_failed);
    pthread_mutex_unlock(&check_lock);
    return failed;
}

#endif
