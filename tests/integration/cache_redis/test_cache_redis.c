/*
 * test_cache_redis.c: the cache's Redis client (runtime/src/cache_redis.h)
 * against a real Redis 7 of its own ($REDIS_HOST, $REDIS_PORT; stopped,
 * paused and started again through $REDIS_CTL: tests/redis/with-redis.sh
 * --private).
 *
 * Commands: GET/SET PX (a miss, a hit, the TTL honoured), SET NX PX as a
 * lock, INCR and the integer GET, DEL, binary-safe keys and values,
 * invalid arguments, many threads on one handle, no SIGPIPE when a send
 * meets a connection the server has closed; publish/subscribe
 * (the resubscription callback, messages in order, binary messages).
 * Failures: Redis stopped in the middle (calls fail fast, errors and
 * skipped counted, no network attempt during the backoff, the backoff
 * doubling), Redis started again (calls succeed after the backoff, the
 * subscriber resubscribes, says so and gets new messages), Redis hung
 * (SIGSTOP: a call fails after about the command timeout; the subscriber
 * notices through its PING).  Prints the measured costs (a GET round trip,
 * a raw hiredis GET, a failing call) as "# ..." lines, and ends with
 * "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L  /* nanosleep, clock_gettime */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cache_redis.h"
#include "threadcheck.h"

/* ---- helpers -------------------------------------------------------- */

/* The handles' timeouts and backoff. */
#define TIMEOUT_S 0.05
#define BACKOFF_MIN_S 0.2
#define BACKOFF_MAX_S 0.8

static const char *host;
static int port;
static char prefix[64];   /* every key and channel starts with it */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec t;
    if (s <= 0)
        return;
    t.tv_sec = (time_t)s;
    t.tv_nsec = (long)((s - (double)t.tv_sec) * 1e9);
    nanosleep(&t, NULL);
}

/* prefix + name, in a static buffer per slot. */
static const char *key(const char *name)
{
    static char buf[8][128];
    static int slot;
    char *b = buf[slot++ % 8];
    snprintf(b, sizeof buf[0], "%s%s", prefix, name);
    return b;
}

static dbont_redis *open_redis(double timeout_s, double backoff_min, double backoff_max)
{
    dbont_redis_options o = {0};
    o.host = host;
    o.port = port;
    o.connect_timeout_s = timeout_s;
    o.command_timeout_s = timeout_s;
    o.backoff_min_s = backoff_min;
    o.backoff_max_s = backoff_max;
    return dbont_redis_new(&o);
}

static dbont_redis_stats stats(dbont_redis *r)
{
    dbont_redis_stats s;
    dbont_redis_stats_get(r, &s);
    return s;
}

static bool ctl(const char *verb)
{
    const char *c = getenv("REDIS_CTL");
    char cmd[1024];
    int rc;
    snprintf(cmd, sizeof cmd, "%s %s >/dev/null", c, verb);
    rc = system(cmd);
    if (rc != 0)
        printf("# '%s' failed (%d)\n", cmd, rc);
    return rc == 0;
}

static const char *last_error(dbont_redis *r)
{
    static char buf[200];
    dbont_redis_last_error(r, buf, sizeof buf);
    return buf;
}

/* ---- the subscription callback's record ------------------------------ */

#define MAX_MSGS 64
typedef struct sub_log {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int resyncs;                 /* fn(NULL, 0) calls */
    int n;                       /* messages */
    char *msg[MAX_MSGS];
    size_t len[MAX_MSGS];
    bool bad_terminator;         /* a message not NUL-terminated after len */
} sub_log;

static void on_message(const char *msg, size_t len, void *user)
{
    sub_log *l = user;
    pthread_mutex_lock(&l->mu);
    if (!msg) {
        l->resyncs++;
    } else if (l->n < MAX_MSGS) {
        l->msg[l->n] = malloc(len + 1);
        if (l->msg[l->n]) {
            memcpy(l->msg[l->n], msg, len);
            l->msg[l->n][len] = '\0';
        }
        l->len[l->n] = len;
        if (msg[len] != '\0')
            l->bad_terminator = true;
        l->n++;
    }
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* Waits up to timeout_s until the log has at least resyncs resyncs and n
 * messages. */
static bool sub_wait(sub_log *l, int resyncs, int n, double timeout_s)
{
    double end = now() + timeout_s;
    bool ok;
    pthread_mutex_lock(&l->mu);
    while (!(l->resyncs >= resyncs && l->n >= n) && now() < end) {
        pthread_mutex_unlock(&l->mu);
        sleep_s(0.005);
        pthread_mutex_lock(&l->mu);
    }
    ok = l->resyncs >= resyncs && l->n >= n;
    pthread_mutex_unlock(&l->mu);
    return ok;
}

static int sub_count(sub_log *l, bool resyncs)
{
    int v;
    pthread_mutex_lock(&l->mu);
    v = resyncs ? l->resyncs : l->n;
    pthread_mutex_unlock(&l->mu);
    return v;
}

static bool sub_has(sub_log *l, int i, const void *msg, size_t len)
{
    bool ok;
    pthread_mutex_lock(&l->mu);
    ok = i < l->n && l->msg[i] && l->len[i] == len && memcmp(l->msg[i], msg, len) == 0;
    pthread_mutex_unlock(&l->mu);
    return ok;
}

static void sub_log_free(sub_log *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->msg[i]);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
}

/* ---- commands ------------------------------------------------------- */

static void test_get_set(dbont_redis *r)
{
    void *v = NULL;
    size_t len = 99;
    dbont_redis_stats before = stats(r), after;

    CHECK(dbont_redis_del(r, key("k1"), strlen(key("k1"))) == DBONT_REDIS_OK, "DEL of an absent key: OK");
    CHECK(dbont_redis_get(r, key("k1"), strlen(key("k1")), &v, &len) == DBONT_REDIS_MISS,
          "GET of an absent key: MISS (%s)", last_error(r));
    CHECK(v == NULL && len == 0, "a miss leaves NULL/0");
    CHECK(dbont_redis_set_px(r, key("k1"), strlen(key("k1")), "hello", 5, 60000) == DBONT_REDIS_OK,
          "SET PX: OK (%s)", last_error(r));
    CHECK(dbont_redis_get(r, key("k1"), strlen(key("k1")), &v, &len) == DBONT_REDIS_OK, "GET: OK");
    CHECK(v && len == 5 && memcmp(v, "hello", 5) == 0 && ((char *)v)[5] == '\0',
          "GET returns the value, NUL-terminated");
    free(v);
    CHECK(dbont_redis_set_px(r, key("k1"), strlen(key("k1")), "bye", 3, 60000) == DBONT_REDIS_OK,
          "SET PX replaces");
    CHECK(dbont_redis_get(r, key("k1"), strlen(key("k1")), &v, &len) == DBONT_REDIS_OK && len == 3 &&
              memcmp(v, "bye", 3) == 0, "... GET sees the new value");
    free(v);
    CHECK(dbont_redis_del(r, key("k1"), strlen(key("k1"))) == DBONT_REDIS_OK, "DEL: OK");
    CHECK(dbont_redis_get(r, key("k1"), strlen(key("k1")), &v, &len) == DBONT_REDIS_MISS, "... then a miss");

    /* An empty value is a hit, not a miss. */
    CHECK(dbont_redis_set_px(r, key("empty"), strlen(key("empty")), NULL, 0, 60000) == DBONT_REDIS_OK,
          "SET of an empty value");
    CHECK(dbont_redis_get(r, key("empty"), strlen(key("empty")), &v, &len) == DBONT_REDIS_OK && len == 0 && v,
          "GET of an empty value: OK, length 0");
    free(v);

    after = stats(r);
    CHECK(after.commands - before.commands == 10, "10 commands counted (got %llu)",
          (unsigned long long)(after.commands - before.commands));
    CHECK(after.errors == before.errors && after.skipped == before.skipped, "no error, nothing skipped");
    CHECK(after.up, "up");
}

static void test_expiry(dbont_redis *r)
{
    void *v = NULL;
    size_t len;
    const char *k = key("ttl");
    double t0 = now(), t1, t;
    dbont_redis_status st;

    /* The TTL starts between t0 (before the SET) and t1 (its return). */
    CHECK(dbont_redis_set_px(r, k, strlen(k), "x", 1, 300) == DBONT_REDIS_OK, "SET PX 300");
    t1 = now();
    sleep_s(0.1);
    st = dbont_redis_get(r, k, strlen(k), &v, &len);
    t = now() - t0;
    if (t < 0.28)   /* not checked when the machine stalled us */
        CHECK(st == DBONT_REDIS_OK, "a hit %.0f ms into a 300 ms TTL", t * 1000);
    free(v);
    v = NULL;
    sleep_s(0.35 - (now() - t1));
    CHECK(dbont_redis_get(r, k, strlen(k), &v, &len) == DBONT_REDIS_MISS,
          "a miss %.0f ms after a 300 ms TTL", (now() - t1) * 1000);
    free(v);

    /* Never served after its TTL: poll a 50 ms entry until it goes.  The
     * server starts the TTL when it runs the SET, before the SET returns:
     * a GET sent more than 50 ms (+ 2 ms for Redis's millisecond clock)
     * after that return must miss. */
    CHECK(dbont_redis_set_px(r, k, strlen(k), "y", 1, 50) == DBONT_REDIS_OK, "SET PX 50");
    t0 = now();
    for (;;) {
        double before = now();
        v = NULL;
        st = dbont_redis_get(r, k, strlen(k), &v, &len);
        free(v);
        if (st != DBONT_REDIS_OK)
            break;
        if (before - t0 > 0.052) {
            CHECK(false, "served %.1f ms after a 50 ms TTL", (before - t0) * 1000);
            break;
        }
        sleep_s(0.002);
    }
    CHECK(st == DBONT_REDIS_MISS, "the 50 ms entry expires (%d)", (int)st);

    /* GET and PTTL in one round trip: the value and the time Redis has
     * left for it (what L1 keeps an entry read from Redis) */
    long long pttl = 0;
    v = NULL;
    CHECK(dbont_redis_get_pttl(r, k, strlen(k), &v, &len, &pttl) == DBONT_REDIS_MISS && v == NULL && pttl == -2,
          "GET+PTTL of an absent key: MISS, -2 (%lld)", pttl);
    CHECK(dbont_redis_set_px(r, k, strlen(k), "zz", 2, 5000) == DBONT_REDIS_OK, "SET PX 5000");
    sleep_s(0.05);
    st = dbont_redis_get_pttl(r, k, strlen(k), &v, &len, &pttl);
    CHECK(st == DBONT_REDIS_OK && v && len == 2 && memcmp(v, "zz", 2) == 0, "GET+PTTL: the value");
    CHECK(pttl > 0 && pttl <= 4950, "GET+PTTL: %lld ms left of 5000 after 50 ms", pttl);
    free(v);
    v = NULL;
    CHECK(dbont_redis_get(r, k, strlen(k), &v, &len) == DBONT_REDIS_OK && len == 2,
          "the connection serves a plain GET after the pipeline");
    free(v);
    dbont_redis_del(r, k, strlen(k));
}

static void test_lock(dbont_redis *r)
{
    const char *k = key("lock");
    bool acquired = false;
    void *v = NULL;
    size_t len;

    dbont_redis_del(r, k, strlen(k));
    CHECK(dbont_redis_set_nx_px(r, k, strlen(k), "me", 2, 200, &acquired) == DBONT_REDIS_OK && acquired,
          "SET NX PX on a free key: acquired");
    acquired = true;
    CHECK(dbont_redis_set_nx_px(r, k, strlen(k), "you", 3, 200, &acquired) == DBONT_REDIS_OK && !acquired,
          "SET NX PX on a held key: OK, not acquired");
    CHECK(dbont_redis_get(r, k, strlen(k), &v, &len) == DBONT_REDIS_OK && len == 2 && memcmp(v, "me", 2) == 0,
          "... the holder's value stays");
    free(v);
    sleep_s(0.3);
    CHECK(dbont_redis_set_nx_px(r, k, strlen(k), "you", 3, 200, &acquired) == DBONT_REDIS_OK && acquired,
          "acquired again once the lock's PX has run out");
    CHECK(dbont_redis_del(r, k, strlen(k)) == DBONT_REDIS_OK, "released with DEL");
    CHECK(dbont_redis_set_nx_px(r, k, strlen(k), "me", 2, 200, &acquired) == DBONT_REDIS_OK && acquired,
          "acquired again after DEL");
    dbont_redis_del(r, k, strlen(k));
}

static void test_counters(dbont_redis *r)
{
    const char *k = key("ver");
    long long n = -1;
    dbont_redis_stats before, after;

    dbont_redis_del(r, k, strlen(k));
    CHECK(dbont_redis_get_int(r, k, strlen(k), &n) == DBONT_REDIS_MISS, "get_int of an absent key: MISS");
    CHECK(dbont_redis_incr(r, k, strlen(k), &n) == DBONT_REDIS_OK && n == 1, "INCR of an absent key: 1");
    CHECK(dbont_redis_incr(r, k, strlen(k), &n) == DBONT_REDIS_OK && n == 2, "INCR: 2");
    CHECK(dbont_redis_incrby(r, k, strlen(k), 40, &n) == DBONT_REDIS_OK && n == 42, "INCRBY 40: 42");
    CHECK(dbont_redis_incrby(r, k, strlen(k), -40, &n) == DBONT_REDIS_OK && n == 2, "INCRBY -40: 2");
    n = 0;
    CHECK(dbont_redis_get_int(r, k, strlen(k), &n) == DBONT_REDIS_OK && n == 2, "get_int: 2");
    CHECK(dbont_redis_set_px(r, k, strlen(k), "-9223372036854775808", 20, 60000) == DBONT_REDIS_OK &&
              dbont_redis_get_int(r, k, strlen(k), &n) == DBONT_REDIS_OK && n == INT64_MIN,
          "get_int of INT64_MIN");

    /* Not an integer: an error, counted, but Redis answered: no backoff. */
    before = stats(r);
    CHECK(dbont_redis_set_px(r, k, strlen(k), "12abc", 5, 60000) == DBONT_REDIS_OK, "SET a non-integer");
    CHECK(dbont_redis_get_int(r, k, strlen(k), &n) == DBONT_REDIS_ERROR, "get_int of '12abc': ERROR");
    CHECK(dbont_redis_set_px(r, k, strlen(k), "99999999999999999999", 20, 60000) == DBONT_REDIS_OK &&
              dbont_redis_get_int(r, k, strlen(k), &n) == DBONT_REDIS_ERROR, "get_int of an overflow: ERROR");
    after = stats(r);
    CHECK(after.errors - before.errors == 2, "... 2 errors counted");
    CHECK(after.up && dbont_redis_get_int(r, k, strlen(k), &n) == DBONT_REDIS_ERROR &&
              stats(r).skipped == before.skipped, "... the connection stays, nothing skipped");

    /* An error reply (INCR of a non-integer) is an error with a backoff. */
    before = stats(r);
    CHECK(dbont_redis_incr(r, k, strlen(k), &n) == DBONT_REDIS_ERROR, "INCR of a non-integer: ERROR");
    after = stats(r);
    CHECK(after.errors == before.errors + 1 && !after.up, "... counted, the connection dropped (%s)",
          last_error(r));
    CHECK(strstr(last_error(r), "INCR") != NULL, "... last error names the command: %s", last_error(r));
    dbont_redis_del(r, k, strlen(k));   /* skipped or not: */
    sleep_s(0.25);                      /* past the test handle's 0.2 s backoff */
    dbont_redis_del(r, k, strlen(k));
    CHECK(stats(r).up, "back up after the backoff");
}

static void test_binary(dbont_redis *r)
{
    char k1[40], k2[40];
    size_t kl = strlen(prefix);
    size_t big = 256 * 1024 + 7;
    unsigned char *val = malloc(big);
    void *v = NULL;
    size_t len = 0;

    /* Two keys that differ only after a NUL byte. */
    memcpy(k1, prefix, kl);
    memcpy(k1 + kl, "bin\0\xff\x01", 6);
    memcpy(k2, k1, kl + 6);
    k2[kl + 5] = '\x02';
    for (size_t i = 0; i < big; i++)
        val[i] = (unsigned char)(i * 7 + (i >> 8));
    CHECK(dbont_redis_set_px(r, k1, kl + 6, val, big, 60000) == DBONT_REDIS_OK, "SET of a binary key and value");
    CHECK(dbont_redis_set_px(r, k2, kl + 6, "\0\r\n$", 4, 60000) == DBONT_REDIS_OK, "SET of a neighbour key");
    CHECK(dbont_redis_get(r, k1, kl + 6, &v, &len) == DBONT_REDIS_OK && len == big && memcmp(v, val, big) == 0,
          "the 256 KiB binary value comes back intact");
    free(v);
    v = NULL;
    CHECK(dbont_redis_get(r, k2, kl + 6, &v, &len) == DBONT_REDIS_OK && len == 4 && memcmp(v, "\0\r\n$", 4) == 0,
          "a key differing after a NUL byte is another key");
    free(v);
    v = NULL;
    CHECK(dbont_redis_get(r, k1, kl + 3, &v, &len) == DBONT_REDIS_MISS, "the key cut at its NUL: a miss");
    free(v);
    dbont_redis_del(r, k1, kl + 6);
    dbont_redis_del(r, k2, kl + 6);
    free(val);
}

static void test_invalid(dbont_redis *r)
{
    dbont_redis_stats before = stats(r), after;
    void *v;
    size_t len;
    bool acq;
    long long n;

    CHECK(dbont_redis_set_px(r, "k", 1, "v", 1, 0) == DBONT_REDIS_ERROR, "ttl 0: ERROR");
    CHECK(dbont_redis_set_px(r, "k", 1, "v", 1, UINT64_MAX) == DBONT_REDIS_ERROR, "ttl UINT64_MAX: ERROR");
    CHECK(dbont_redis_set_px(r, "k", 1, "v", 1, 1000000000000001ULL) == DBONT_REDIS_ERROR,
          "ttl above 10^15 ms: ERROR");
    CHECK(dbont_redis_set_px(r, "k", 1, NULL, 1, 10) == DBONT_REDIS_ERROR, "NULL value with a length: ERROR");
    CHECK(dbont_redis_set_nx_px(r, "k", 1, "v", 1, 10, NULL) == DBONT_REDIS_ERROR, "no acquired pointer: ERROR");
    CHECK(dbont_redis_get(NULL, "k", 1, &v, &len) == DBONT_REDIS_ERROR, "NULL handle: ERROR");
    CHECK(dbont_redis_get(r, NULL, 1, &v, &len) == DBONT_REDIS_ERROR, "NULL key: ERROR");
    CHECK(dbont_redis_incr(r, "k", 1, NULL) == DBONT_REDIS_ERROR, "NULL value pointer: ERROR");
    CHECK(dbont_redis_publish(r, NULL, "m", 1) == DBONT_REDIS_ERROR, "NULL channel: ERROR");
    (void)acq;
    (void)n;
    after = stats(r);
    CHECK(after.commands == before.commands && after.errors == before.errors && after.skipped == before.skipped,
          "invalid arguments touch no counter");
    CHECK(dbont_redis_set_px(r, key("long"), strlen(key("long")), "v", 1, 1000000000000000ULL) == DBONT_REDIS_OK,
          "ttl 10^15 ms: OK (%s)", last_error(r));
    dbont_redis_del(r, key("long"), strlen(key("long")));
    CHECK(dbont_redis_subscribe(r, NULL, on_message, NULL) == -1, "subscribe to NULL: -1");
    dbont_redis_free(NULL);
    dbont_redis_stats_get(NULL, &after);
    CHECK(after.commands == 0, "stats of NULL: zeros");
}

typedef struct incr_arg {
    dbont_redis *r;
    const char *k;
    int n;
    int ok;
} incr_arg;

static void *incr_worker(void *p)
{
    incr_arg *a = p;
    long long v;
    for (int i = 0; i < a->n; i++)
        if (dbont_redis_incr(a->r, a->k, strlen(a->k), &v) == DBONT_REDIS_OK)
            a->ok++;
    return NULL;
}

static void test_threads(dbont_redis *r)
{
    enum { T = 4, N = 500 };
    pthread_t th[T];
    incr_arg a[T];
    const char *k = key("threads");
    long long total = 0;
    int ok = 0;

    dbont_redis_del(r, k, strlen(k));
    for (int i = 0; i < T; i++) {
        a[i] = (incr_arg){r, k, N, 0};
        pthread_create(&th[i], NULL, incr_worker, &a[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        ok += a[i].ok;
    }
    CHECK(ok == T * N, "%d threads x %d INCR on one handle: all OK (%d)", T, N, ok);
    CHECK(dbont_redis_get_int(r, k, strlen(k), &total) == DBONT_REDIS_OK && total == T * N,
          "... the counter is %d (%lld)", T * N, total);
    dbont_redis_del(r, k, strlen(k));
}

/* The server closes our connection (CLIENT KILL), then we send a big
 * value: the send hits the reset connection (EPIPE).  SIGPIPE keeps its
 * default action here (terminate): the process must live on. */
static void test_sigpipe(dbont_redis *r)
{
    size_t big = 8u << 20;
    char *val = calloc(1, big);
    const char *k = key("big");
    redisContext *c = redisConnect(host, port);
    redisReply *kill;
    dbont_redis_stats s0, s1;
    void *v = NULL;
    size_t len;
    dbont_redis_status st;

    CHECK(dbont_redis_get(r, k, strlen(k), &v, &len) != DBONT_REDIS_ERROR, "connected before CLIENT KILL");
    free(v);
    kill = c && !c->err ? redisCommand(c, "CLIENT KILL TYPE normal SKIPME yes") : NULL;
    CHECK(kill && kill->type == REDIS_REPLY_INTEGER && kill->integer >= 1, "CLIENT KILL of our connection");
    if (kill)
        freeReplyObject(kill);
    sleep_s(0.05);
    s0 = stats(r);
    st = dbont_redis_set_px(r, k, strlen(k), val, big, 60000);
    s1 = stats(r);
    CHECK(st == DBONT_REDIS_ERROR && s1.errors == s0.errors + 1,
          "an 8 MiB SET on a connection the server closed: ERROR, counted, no SIGPIPE (%s)", last_error(r));
    printf("# an 8 MiB SET on a connection the server closed: %s\n", last_error(r));
    sleep_s(BACKOFF_MIN_S + 0.05);
    CHECK(dbont_redis_set_px(r, k, strlen(k), val, big, 60000) == DBONT_REDIS_OK, "... then it works again");
    dbont_redis_del(r, k, strlen(k));
    if (c)
        redisFree(c);
    free(val);
}

/* ---- costs ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A GET through dbont_redis_get against a raw hiredis redisCommandArgv on
 * a connection of its own, in alternating batches (the machine's noise
 * hits both alike); the medians of the batches.  Printed, not checked. */
static void measure_get(dbont_redis *r)
{
    enum { BATCH = 500, ROUNDS = 30 };
    const char *k = key("bench");
    double ours[ROUNDS], raw[ROUNDS], t0;
    int fails = 0;
    redisContext *c = redisConnect(host, port);
    const char *argv[2] = {"GET", k};
    size_t argvlen[2] = {3, strlen(k)};

    if (!c || c->err) {
        printf("# no raw hiredis connection: not measured\n");
        if (c)
            redisFree(c);
        return;
    }
    dbont_redis_set_px(r, k, strlen(k), "0123456789abcdef0123456789abcdef", 32, 60000);
    for (int round = -1; round < ROUNDS; round++) {   /* round -1 warms up */
        t0 = now();
        for (int i = 0; i < BATCH; i++) {
            void *v;
            size_t len;
            if (dbont_redis_get(r, k, strlen(k), &v, &len) == DBONT_REDIS_OK)
                free(v);
            else
                fails++;
        }
        if (round >= 0)
            ours[round] = (now() - t0) / BATCH;
        t0 = now();
        for (int i = 0; i < BATCH; i++)
            freeReplyObject(redisCommandArgv(c, 2, argv, argvlen));
        if (round >= 0)
            raw[round] = (now() - t0) / BATCH;
    }
    CHECK(fails == 0, "%d GETs in a row: all OK", BATCH * (ROUNDS + 1));
    qsort(ours, ROUNDS, sizeof ours[0], cmp_double);
    qsort(raw, ROUNDS, sizeof raw[0], cmp_double);
    printf("# GET round trip (32-byte value, loopback, one connection), median of %d batches of %d: "
           "dbont_redis_get %.1f us, raw hiredis redisCommandArgv %.1f us (raw/ours %.2f)\n",
           ROUNDS, BATCH, ours[ROUNDS / 2] * 1e6, raw[ROUNDS / 2] * 1e6, raw[ROUNDS / 2] / ours[ROUNDS / 2]);
    redisFree(c);
    dbont_redis_del(r, k, strlen(k));
}

/* ---- failures ------------------------------------------------------- */


/* Calls GET until OK or timeout_s; the time it took, or -1. */
static double until_ok(dbont_redis *r, const char *k, double timeout_s)
{
    double t0 = now();
    while (now() - t0 < timeout_s) {
        void *v = NULL;
        size_t len;
        dbont_redis_status st = dbont_redis_get(r, k, strlen(k), &v, &len);
        free(v);
        if (st != DBONT_REDIS_ERROR)
            return now() - t0;
        sleep_s(0.01);
    }
    return -1;
}

static bool wait_subscribed(dbont_redis *r, bool want, double timeout_s)
{
    double end = now() + timeout_s;
    while (stats(r).subscribed != want && now() < end)
        sleep_s(0.01);
    return stats(r).subscribed == want;
}

static void test_outage(void)
{
    dbont_redis *r = open_redis(TIMEOUT_S, BACKOFF_MIN_S, BACKOFF_MAX_S);
    dbont_redis *sub = open_redis(TIMEOUT_S, 0.1, 0.4);
    sub_log log = {.n = 0};
    const char *k = key("outage");
    const char *chan = key("chan-outage");
    void *v = NULL;
    size_t len;
    dbont_redis_stats s0, s1, s2;
    double t0, t, worst, back;
    int resyncs;
    dbont_redis_status st;

    pthread_mutex_init(&log.mu, NULL);
    pthread_cond_init(&log.cv, NULL);
    CHECK(r && sub, "handles");
    CHECK(dbont_redis_set_px(r, k, strlen(k), "v", 1, 60000) == DBONT_REDIS_OK, "before the outage: SET OK");
    CHECK(dbont_redis_subscribe(sub, chan, on_message, &log) == 0, "subscribe");
    CHECK(sub_wait(&log, 1, 0, 5), "subscribed (resync callback)");
    CHECK(dbont_redis_publish(r, chan, "before", 6) == DBONT_REDIS_OK && sub_wait(&log, 1, 1, 5) &&
              sub_has(&log, 0, "before", 6), "a message before the outage");

    /* ---- Redis stopped ---- */
    CHECK(ctl("stop"), "REDIS_CTL stop");
    s0 = stats(r);
    t0 = now();
    st = dbont_redis_get(r, k, strlen(k), &v, &len);
    t = now() - t0;
    CHECK(st == DBONT_REDIS_ERROR, "Redis stopped: GET fails");
    CHECK(t < 10 * TIMEOUT_S, "... within 10x the command timeout (%.2f ms)", t * 1000);
    printf("# a call that finds Redis gone (connection closed by the stop): %.3f ms; %s\n", t * 1000,
           last_error(r));
    s1 = stats(r);
    CHECK(s1.errors == s0.errors + 1 && s1.commands == s0.commands + 1, "... one command, one error counted");
    CHECK(!s1.up, "... not up");

    /* During the backoff: no network at all. */
    worst = 0;
    t0 = now();
    for (int i = 0; i < 100; i++) {
        double c0 = now();
        st = dbont_redis_get(r, k, strlen(k), &v, &len);
        if (now() - c0 > worst)
            worst = now() - c0;
        if (st != DBONT_REDIS_ERROR)
            break;
    }
    t = now() - t0;
    s2 = stats(r);
    if (t < BACKOFF_MIN_S) {
        CHECK(s2.skipped == s1.skipped + 100, "100 calls during the backoff: 100 skipped (%llu)",
              (unsigned long long)(s2.skipped - s1.skipped));
        CHECK(s2.commands == s1.commands && s2.errors == s1.errors,
              "... no network attempt: commands and errors unchanged");
    }
    CHECK(worst < 10 * TIMEOUT_S, "... each within 10x the command timeout (worst %.3f ms)", worst * 1000);
    printf("# a call skipped during the backoff: %.2f us\n", t / 100 * 1e6);

    /* After the backoff: one attempt (refused), then a doubled backoff. */
    sleep_s(BACKOFF_MIN_S + 0.05);
    s1 = stats(r);
    t0 = now();
    st = dbont_redis_get(r, k, strlen(k), &v, &len);
    t = now() - t0;
    s2 = stats(r);
    CHECK(st == DBONT_REDIS_ERROR && s2.commands == s1.commands + 1 && s2.errors == s1.errors + 1,
          "after the backoff: one attempt to reconnect, failed, counted");
    CHECK(t < 10 * TIMEOUT_S, "... within 10x the connect timeout (%.2f ms)", t * 1000);
    printf("# a call that tries to reconnect to a stopped Redis (refused): %.3f ms; %s\n", t * 1000,
           last_error(r));
    t0 = now();
    sleep_s(BACKOFF_MIN_S * 1.5);   /* past the first backoff, within the doubled one */
    s1 = stats(r);
    st = dbont_redis_get(r, k, strlen(k), &v, &len);
    s2 = stats(r);
    if (now() - t0 < BACKOFF_MIN_S * 2 - 0.02)
        CHECK(st == DBONT_REDIS_ERROR && s2.skipped == s1.skipped + 1 && s2.commands == s1.commands,
              "the backoff doubled: skipped %.0f ms after the failed reconnect", (now() - t0) * 1000);
    CHECK(dbont_redis_publish(r, chan, "lost", 4) == DBONT_REDIS_ERROR, "PUBLISH during the outage: ERROR");
    CHECK(wait_subscribed(sub, false, 3), "the subscriber sees the connection gone");

    /* ---- Redis started again ---- */
    resyncs = sub_count(&log, true);
    s0 = stats(r);
    CHECK(ctl("start"), "REDIS_CTL start");
    back = until_ok(r, k, BACKOFF_MAX_S + 3);
    CHECK(back >= 0, "Redis back: calls succeed again (after %.0f ms)", back * 1000);
    CHECK(back < BACKOFF_MAX_S + 1, "... within the longest backoff (%.0f ms)", back * 1000);
    s1 = stats(r);
    CHECK(s1.up && s1.reconnects == s0.reconnects + 1, "... up, one reconnect counted");
    v = NULL;
    CHECK(dbont_redis_get(r, k, strlen(k), &v, &len) == DBONT_REDIS_MISS,
          "... the restarted server is empty (no persistence): a miss");
    free(v);
    CHECK(sub_wait(&log, resyncs + 1, 0, 0.4 + 3), "the subscriber resubscribes and calls back with NULL");
    CHECK(stats(sub).subscribed, "... subscribed");
    CHECK(dbont_redis_publish(r, chan, "after", 5) == DBONT_REDIS_OK && sub_wait(&log, 0, 2, 5) &&
              sub_has(&log, 1, "after", 5), "a message after the restart arrives (and none from the outage)");

    /* ---- Redis hung (SIGSTOP): the command timeout works ---- */
    resyncs = sub_count(&log, true);
    CHECK(ctl("pause"), "REDIS_CTL pause");
    s0 = stats(r);
    t0 = now();
    st = dbont_redis_get(r, k, strlen(k), &v, &len);
    t = now() - t0;
    s1 = stats(r);
    CHECK(st == DBONT_REDIS_ERROR, "Redis hung: GET fails");
    CHECK(t >= TIMEOUT_S * 0.8 && t < 10 * TIMEOUT_S, "... after about the command timeout (%.1f ms)", t * 1000);
    printf("# a call to a hung Redis (SIGSTOP, command timeout %.0f ms): %.1f ms; %s\n", TIMEOUT_S * 1000,
           t * 1000, last_error(r));
    CHECK(s1.errors == s0.errors + 1, "... counted");
    t0 = now();
    st = dbont_redis_get(r, k, strlen(k), &v, &len);
    t = now() - t0;
    CHECK(st == DBONT_REDIS_ERROR && stats(r).skipped == s1.skipped + 1 && stats(r).commands == s1.commands,
          "... the next call is skipped (no network)");
    CHECK(t < TIMEOUT_S, "... at once (%.3f ms)", t * 1000);
    sleep_s(BACKOFF_MIN_S + 0.05);
    t0 = now();
    st = dbont_redis_get(r, k, strlen(k), &v, &len);
    t = now() - t0;
    CHECK(st == DBONT_REDIS_ERROR && t < 10 * 2 * TIMEOUT_S,
          "... a reconnect to the hung server fails within connect + command timeout (%.1f ms)", t * 1000);
    CHECK(wait_subscribed(sub, false, 4), "the subscriber notices the hang (its PING goes unanswered)");
    CHECK(ctl("resume"), "REDIS_CTL resume");
    back = until_ok(r, k, BACKOFF_MAX_S + 3);
    CHECK(back >= 0 && back < BACKOFF_MAX_S + 1, "resumed: calls succeed again (after %.0f ms)", back * 1000);
    CHECK(sub_wait(&log, resyncs + 1, 0, 0.4 + 3), "... the subscriber resubscribes (NULL callback)");
    {
        int n = sub_count(&log, false);
        CHECK(dbont_redis_publish(r, chan, "resumed", 7) == DBONT_REDIS_OK && sub_wait(&log, 0, n + 1, 5) &&
                  sub_has(&log, n, "resumed", 7), "... and gets new messages");
    }
    CHECK(stats(sub).errors >= 2 && stats(sub).reconnects >= 2,
          "the subscriber counted its lost connections and reconnects (%llu, %llu)",
          (unsigned long long)stats(sub).errors, (unsigned long long)stats(sub).reconnects);

    dbont_redis_free(sub);
    dbont_redis_free(r);
    sub_log_free(&log);
}

/* ---- publish/subscribe ------------------------------------------------ */

static void test_pubsub(dbont_redis *r)
{
    dbont_redis *sub = open_redis(TIMEOUT_S, 0.1, 0.4);
    sub_log log = {.n = 0};
    const char *chan = key("chan");
    const char bin[] = "a\0b\r\n*3\r\n";
    dbont_redis_stats s;

    pthread_mutex_init(&log.mu, NULL);
    pthread_cond_init(&log.cv, NULL);
    CHECK(dbont_redis_subscribe(sub, chan, on_message, &log) == 0, "subscribe: 0");
    CHECK(dbont_redis_subscribe(sub, chan, on_message, &log) == -1, "a second subscription: -1");
    CHECK(sub_wait(&log, 1, 0, 5), "the callback gets NULL once subscribed");
    CHECK(sub_count(&log, true) == 1, "... exactly once");
    CHECK(dbont_redis_publish(r, chan, "one", 3) == DBONT_REDIS_OK, "PUBLISH one");
    CHECK(dbont_redis_publish(r, chan, bin, sizeof bin - 1) == DBONT_REDIS_OK, "PUBLISH a binary message");
    CHECK(dbont_redis_publish(r, key("other"), "x", 1) == DBONT_REDIS_OK, "PUBLISH on another channel");
    CHECK(dbont_redis_publish(r, chan, "", 0) == DBONT_REDIS_OK, "PUBLISH an empty message");
    CHECK(sub_wait(&log, 1, 3, 5), "3 messages delivered");
    CHECK(sub_has(&log, 0, "one", 3) && sub_has(&log, 1, bin, sizeof bin - 1) && sub_has(&log, 2, "", 0),
          "... in order, binary-safe, not the other channel's");
    CHECK(!log.bad_terminator, "... each NUL-terminated after its length");
    s = stats(sub);
    CHECK(s.messages == 3 && s.subscribed && s.errors == 0, "stats: 3 messages, subscribed, no error");
    /* The subscriber's connection is not the command connection. */
    {
        long long n;
        CHECK(dbont_redis_incr(sub, key("subincr"), strlen(key("subincr")), &n) == DBONT_REDIS_OK && n == 1,
              "a subscribed handle still runs commands (its own connection)");
        dbont_redis_del(sub, key("subincr"), strlen(key("subincr")));
    }
    /* Idle past the PING interval: stays subscribed, no resync. */
    sleep_s(2.5);
    CHECK(stats(sub).subscribed && sub_count(&log, true) == 1 && stats(sub).errors == 0,
          "idle 2.5 s (PINGs answered): still subscribed, no resync");
    CHECK(dbont_redis_publish(r, chan, "two", 3) == DBONT_REDIS_OK && sub_wait(&log, 1, 4, 5) &&
              sub_has(&log, 3, "two", 3), "a message after the idle time");
    dbont_redis_free(sub);   /* stops the thread */
    sub_log_free(&log);
}

/* ---- main ------------------------------------------------------------- */

int main(void)
{
    const char *p = getenv("REDIS_PORT");
    dbont_redis *r;
    setvbuf(stdout, NULL, _IOLBF, 0);
    host = getenv("REDIS_HOST");
    if (!host || !p) {
        fprintf(stderr, "REDIS_HOST and REDIS_PORT must be set (run through tests/redis/with-redis.sh)\n");
        return 2;
    }
    port = atoi(p);
    snprintf(prefix, sizeof prefix, "dbont-test-cache-redis:%ld:", (long)getpid());

    r = open_redis(TIMEOUT_S, BACKOFF_MIN_S, BACKOFF_MAX_S);
    CHECK(r != NULL, "dbont_redis_new");
    {
        dbont_redis *down = open_redis(TIMEOUT_S, 0, 0);
        dbont_redis_stats s;
        dbont_redis_options o = {0};
        dbont_redis *d;
        CHECK(down != NULL, "dbont_redis_new connects lazily");
        dbont_redis_stats_get(down, &s);
        CHECK(s.commands == 0 && !s.up, "... no command yet, not up");
        dbont_redis_free(down);
        /* Defaults: 127.0.0.1:6379, nothing there (or something): never blocks long. */
        o.port = 1;   /* nothing listens on port 1 */
        d = dbont_redis_new(&o);
        {
            double t0 = now();
            void *v;
            size_t len;
            CHECK(dbont_redis_get(d, "k", 1, &v, &len) == DBONT_REDIS_ERROR && now() - t0 < 0.5,
                  "nothing listening: ERROR at once (%.2f ms)", (now() - t0) * 1000);
        }
        dbont_redis_free(d);
    }
    test_get_set(r);
    test_expiry(r);
    test_lock(r);
    test_counters(r);
    test_binary(r);
    test_invalid(r);
    test_threads(r);
    test_sigpipe(r);
    test_pubsub(r);
    measure_get(r);
    dbont_redis_free(r);

    if (getenv("REDIS_CTL"))
        test_outage();
    else
        printf("# REDIS_CTL not set: the outage tests did not run (use with-redis.sh --private)\n");

    return threadcheck_summary() == 0 ? 0 : 1;
}
