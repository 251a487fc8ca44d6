/*
 * cache_redis.c: the cache's Redis client (cache_redis.h), on hiredis
 * 0.14 in blocking mode.
 *
 * The command connection: one redisContext behind a mutex, opened on first
 * use, with SO_SNDTIMEO/SO_RCVTIMEO set to the command timeout.  We send
 * (MSG_NOSIGNAL: see send_command), hiredis parses.  Every
 * failure frees it and arms the backoff (retry_at, next_backoff); calls
 * made before retry_at return at once.  Nothing else is shared with the
 * subscriber but the counters (atomics) and the last error text.
 *
 * The subscriber: a thread with its own redisContext.  It waits in poll()
 * on the socket and on a wake-up pipe (written by dbont_redis_free), reads
 * what arrives with redisBufferRead and takes the replies out with
 * redisGetReplyFromReader, so it never blocks in hiredis and can stop at
 * once.  hiredis's blocking context is unusable after a read timeout,
 * which is why it does not rely on SO_RCVTIMEO for idleness; it sends a
 * PING when the connection has been quiet for SUB_PING_MS instead.
 */
#define _POSIX_C_SOURCE 200809L  /* pthread_sigmask, strdup, clock_gettime, MSG_NOSIGNAL */

#include "cache_redis.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 6379
#define DEFAULT_CONNECT_TIMEOUT_S 0.05
#define DEFAULT_COMMAND_TIMEOUT_S 0.05
#define DEFAULT_BACKOFF_MIN_S 0.1
#define DEFAULT_BACKOFF_MAX_S 5.0
/* Longest timeout or backoff taken as given: a day. */
#define MAX_SPAN_S 86400.0

/* The subscriber pings after this long without traffic, and drops the
 * connection when the answer has not come this long after the ping. */
#define SUB_PING_MS 1000

#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL

struct dbont_redis {
    /* Options, fixed after dbont_redis_new. */
    char *host;
    int port;
    struct timeval connect_tv, command_tv;
    uint64_t backoff_min_ns, backoff_max_ns;

    /* The command connection and its backoff, under mu. */
    pthread_mutex_t mu;
    redisContext *c;
    uint64_t retry_at_ns;     /* no network before this (0: none) */
    uint64_t next_backoff_ns; /* the backoff the next failure arms */
    bool ever_connected;

    /* The subscriber.  sub_mu guards sub_started (one subscription). */
    pthread_mutex_t sub_mu;
    bool sub_started;
    pthread_t sub_thread;
    int wake[2];
    atomic_bool sub_stop;
    char *channel;
    dbont_redis_message_fn fn;
    void *user;

    /* Counters. */
    atomic_uint_fast64_t commands, errors, skipped, reconnects, messages;
    atomic_bool up, subscribed;

    /* Last error text, under err_mu. */
    pthread_mutex_t err_mu;
    char last_error[160];
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static uint64_t now_ns(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
        return 0;
    return (uint64_t)t.tv_sec * NS_PER_S + (uint64_t)t.tv_nsec;
}

/* A span in seconds as given, or dflt when not positive (or NaN),
 * capped at MAX_SPAN_S. */
static double span_or(double s, double dflt)
{
    if (!(s > 0))
        return dflt;
    return s > MAX_SPAN_S ? MAX_SPAN_S : s;
}

static struct timeval to_timeval(double s)
{
    struct timeval tv;
    tv.tv_sec = (time_t)s;
    tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
    if (tv.tv_usec >= 1000000)
        tv.tv_usec = 999999;
    if (tv.tv_sec == 0 && tv.tv_usec == 0)
        tv.tv_usec = 1;   /* zero would mean "no timeout" to the kernel */
    return tv;
}

static void count(atomic_uint_fast64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

static void set_error(dbont_redis *r, const char *what, const char *detail)
{
    pthread_mutex_lock(&r->err_mu);
    snprintf(r->last_error, sizeof r->last_error, "%s%s%s", what,
             detail && *detail ? ": " : "", detail ? detail : "");
    pthread_mutex_unlock(&r->err_mu);
}

/*
 * SIGPIPE.  hiredis writes with write(2), which raises SIGPIPE on a
 * connection the server has reset, and the default action kills the
 * process.  So the commands are never written by hiredis: send_command
 * formats one with redisFormatCommandArgv and sends it with
 * send(MSG_NOSIGNAL) on the context's socket, and hiredis only reads the
 * reply (redisGetReply finds its output buffer empty and goes straight to
 * reading).  Cheaper than blocking the signal around each exchange (four
 * system calls), and only public hiredis API.
 */
static int send_command(redisContext *c, int argc, const char **argv, const size_t *argvlen,
                        char *err, size_t errsize)
{
    char *cmd = NULL;
    long long n = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    size_t off = 0, len;

    if (n < 0 || !cmd) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    len = (size_t)n;
    while (off < len) {
        ssize_t w = send(c->fd, cmd + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errsize, "%s", w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                                             ? "send timed out"
                                             : w < 0 ? strerror(errno) : "send failed");
            redisFreeCommand(cmd);
            return -1;
        }
        off += (size_t)w;
    }
    redisFreeCommand(cmd);
    return 0;
}

/* One command on a blocking context: the reply, or NULL with the reason
 * in err. */
static redisReply *exchange(redisContext *c, int argc, const char **argv, const size_t *argvlen,
                            char *err, size_t errsize)
{
    void *reply = NULL;
    if (send_command(c, argc, argv, argvlen, err, errsize) != 0)
        return NULL;
    if (redisGetReply(c, &reply) != REDIS_OK || !reply) {
        snprintf(err, errsize, "%s", c->err ? c->errstr : "no reply");
        if (reply)
            freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

/* A connected context with the command timeout and TCP keepalive set, or
 * NULL (the reason recorded). */
static redisContext *open_context(dbont_redis *r)
{
    redisContext *c = redisConnectWithTimeout(r->host, r->port, r->connect_tv);
    if (!c) {
        set_error(r, "connect", "out of memory");
        return NULL;
    }
    if (c->err) {
        set_error(r, "connect", c->errstr);
        redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, r->command_tv) != REDIS_OK) {
        set_error(r, "setting the command timeout", c->errstr);
        redisFree(c);
        return NULL;
    }
    /* Best effort: finds a peer that vanished without a word, eventually. */
    (void)redisEnableKeepAlive(c);
    return c;
}

static void arm_backoff(uint64_t *retry_at, uint64_t *next, uint64_t max)
{
    *retry_at = now_ns() + *next;
    *next = *next > max / 2 ? max : *next * 2;
}

/* ------------------------------------------------------------------ */
/* The command connection                                              */

/* Under r->mu: the failure of a call that went to the network. */
static void fail_locked(dbont_redis *r, const char *what, const char *detail)
{
    set_error(r, what, detail);   /* first: detail may be r->c->errstr */
    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
    count(&r->errors);
    atomic_store(&r->up, false);
    arm_backoff(&r->retry_at_ns, &r->next_backoff_ns, r->backoff_max_ns);
}

#define EXPECT(t) (1u << (t))

/* One command of a pipeline. */
typedef struct command {
    int argc;
    const char **argv;
    const size_t *argvlen;
    unsigned expect; /* the reply types it may answer */
} command;

/* The commands (one or two) in one send(): one packet for small ones, so
 * that the server reads them together and answers in one round trip. */
static int send_commands(redisContext *c, int n, const command *cmds, char *err, size_t errsize)
{
    char *one[2] = {NULL, NULL}, *buf;
    long long len[2];
    size_t total = 0, off = 0;
    int rc = -1;

    if (n == 1)
        return send_command(c, cmds[0].argc, cmds[0].argv, cmds[0].argvlen, err, errsize);
    if (n != 2) {
        snprintf(err, errsize, "bad pipeline");
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        len[i] = redisFormatCommandArgv(&one[i], cmds[i].argc, cmds[i].argv, cmds[i].argvlen);
        if (len[i] < 0 || !one[i])
            goto done;
        total += (size_t)len[i];
    }
    if ((buf = malloc(total)) == NULL)
        goto done;
    memcpy(buf, one[0], (size_t)len[0]);
    memcpy(buf + len[0], one[1], (size_t)len[1]);
    while (off < total) {
        ssize_t w = send(c->fd, buf + off, total - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errsize, "%s", w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                                             ? "send timed out"
                                             : w < 0 ? strerror(errno) : "send failed");
            free(buf);
            redisFreeCommand(one[0]);
            redisFreeCommand(one[1]);
            return -1;
        }
        off += (size_t)w;
    }
    free(buf);
    rc = 0;
done:
    if (rc != 0)
        snprintf(err, errsize, "out of memory");
    redisFreeCommand(one[0]);
    redisFreeCommand(one[1]);
    return rc;
}

/*
 * Runs n commands in one round trip (all sent, then every reply read);
 * their replies (each of a type in its expect mask) in out[0..n), to be
 * freed with freeReplyObject.  DBONT_REDIS_ERROR (and no replies) when
 * skipped by the backoff or when any of them failed (counted once).
 */
static dbont_redis_status run_pipeline(dbont_redis *r, int n, const command *cmds, redisReply **out)
{
    char err[128];
    const char *failed = NULL;
    int got = 0;

    for (int i = 0; i < n; i++)
        out[i] = NULL;
    pthread_mutex_lock(&r->mu);
    if (!r->c) {
        if (r->retry_at_ns != 0 && now_ns() < r->retry_at_ns) {
            count(&r->skipped);
            pthread_mutex_unlock(&r->mu);
            return DBONT_REDIS_ERROR;
        }
        count(&r->commands);
        r->c = open_context(r);
        if (!r->c) {
            count(&r->errors);
            atomic_store(&r->up, false);
            arm_backoff(&r->retry_at_ns, &r->next_backoff_ns, r->backoff_max_ns);
            pthread_mutex_unlock(&r->mu);
            return DBONT_REDIS_ERROR;
        }
        if (r->ever_connected)
            count(&r->reconnects);
        r->ever_connected = true;
    } else {
        count(&r->commands);
    }

    if (send_commands(r->c, n, cmds, err, sizeof err) != 0)
        failed = cmds[0].argv[0];
    for (; got < n && !failed; got++) {
        void *reply = NULL;
        if (redisGetReply(r->c, &reply) != REDIS_OK || !reply) {
            snprintf(err, sizeof err, "%s", r->c->err ? r->c->errstr : "no reply");
            if (reply)
                freeReplyObject(reply);
            failed = cmds[got].argv[0];
            break;
        }
        out[got] = reply;
        if (out[got]->type == REDIS_REPLY_ERROR && !(cmds[got].expect & EXPECT(REDIS_REPLY_ERROR))) {
            snprintf(err, sizeof err, "%.*s", (int)(out[got]->len < 100 ? out[got]->len : 100), out[got]->str);
            failed = cmds[got].argv[0];
        } else if (out[got]->type < 0 || out[got]->type >= 32 || !(cmds[got].expect & EXPECT(out[got]->type))) {
            snprintf(err, sizeof err, "unexpected reply type %d", out[got]->type);
            failed = cmds[got].argv[0];
        }
    }
    if (failed) {
        /* the connection may hold replies not read yet: fail_locked drops it */
        for (int i = 0; i < n; i++) {
            if (out[i])
                freeReplyObject(out[i]);
            out[i] = NULL;
        }
        fail_locked(r, failed, err);
        pthread_mutex_unlock(&r->mu);
        return DBONT_REDIS_ERROR;
    }
    r->next_backoff_ns = r->backoff_min_ns;
    r->retry_at_ns = 0;
    atomic_store(&r->up, true);
    pthread_mutex_unlock(&r->mu);
    return DBONT_REDIS_OK;
}

/*
 * Runs one command; its reply (of a type in the expect mask) in *out, to
 * be freed with freeReplyObject.  DBONT_REDIS_ERROR when skipped by the
 * backoff or failed (counted).
 */
static dbont_redis_status run(dbont_redis *r, int argc, const char **argv, const size_t *argvlen,
                              unsigned expect, redisReply **out)
{
    command cmd = {argc, argv, argvlen, expect};
    return run_pipeline(r, 1, &cmd, out);
}

/* The longest TTL taken: 10^15 ms, about 31,700 years.  Redis refuses a
 * PX whose expiry time overflows (an error reply, which would cost the
 * connection and a backoff); this bound keeps far from that. */
#define MAX_TTL_MS 1000000000000000ULL

/* A TTL for PX: 1 .. MAX_TTL_MS milliseconds, written in buf. */
static bool format_ttl(uint64_t ttl_ms, char *buf, size_t size)
{
    if (ttl_ms == 0 || ttl_ms > MAX_TTL_MS)
        return false;
    snprintf(buf, size, "%llu", (unsigned long long)ttl_ms);
    return true;
}

/* ------------------------------------------------------------------ */
/* Public: lifetime                                                    */

dbont_redis *dbont_redis_new(const dbont_redis_options *o)
{
    dbont_redis_options d = {0};
    dbont_redis *r;
    double min_s, max_s;

    if (o)
        d = *o;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->host = strdup(d.host && *d.host ? d.host : DEFAULT_HOST);
    if (!r->host) {
        free(r);
        return NULL;
    }
    r->port = d.port > 0 && d.port <= 65535 ? d.port : DEFAULT_PORT;
    r->connect_tv = to_timeval(span_or(d.connect_timeout_s, DEFAULT_CONNECT_TIMEOUT_S));
    r->command_tv = to_timeval(span_or(d.command_timeout_s, DEFAULT_COMMAND_TIMEOUT_S));
    min_s = span_or(d.backoff_min_s, DEFAULT_BACKOFF_MIN_S);
    max_s = span_or(d.backoff_max_s, DEFAULT_BACKOFF_MAX_S);
    if (max_s < min_s)
        max_s = min_s;
    r->backoff_min_ns = (uint64_t)(min_s * 1e9);
    r->backoff_max_ns = (uint64_t)(max_s * 1e9);
    if (r->backoff_min_ns == 0)
        r->backoff_min_ns = 1;
    r->next_backoff_ns = r->backoff_min_ns;
    r->wake[0] = r->wake[1] = -1;

    if (pthread_mutex_init(&r->mu, NULL) != 0) {
        free(r->host);
        free(r);
        return NULL;
    }
    if (pthread_mutex_init(&r->sub_mu, NULL) != 0) {
        pthread_mutex_destroy(&r->mu);
        free(r->host);
        free(r);
        return NULL;
    }
    if (pthread_mutex_init(&r->err_mu, NULL) != 0) {
        pthread_mutex_destroy(&r->sub_mu);
        pthread_mutex_destroy(&r->mu);
        free(r->host);
        free(r);
        return NULL;
    }
    atomic_init(&r->commands, 0);
    atomic_init(&r->errors, 0);
    atomic_init(&r->skipped, 0);
    atomic_init(&r->reconnects, 0);
    atomic_init(&r->messages, 0);
    atomic_init(&r->up, false);
    atomic_init(&r->subscribed, false);
    atomic_init(&r->sub_stop, false);
    return r;
}

void dbont_redis_free(dbont_redis *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->sub_mu);
    if (r->sub_started) {
        ssize_t n;
        atomic_store(&r->sub_stop, true);
        do
            n = write(r->wake[1], "x", 1);
        while (n < 0 && errno == EINTR);
        pthread_join(r->sub_thread, NULL);
        r->sub_started = false;
    }
    pthread_mutex_unlock(&r->sub_mu);
    if (r->wake[0] >= 0)
        close(r->wake[0]);
    if (r->wake[1] >= 0)
        close(r->wake[1]);
    if (r->c)
        redisFree(r->c);
    pthread_mutex_destroy(&r->err_mu);
    pthread_mutex_destroy(&r->sub_mu);
    pthread_mutex_destroy(&r->mu);
    free(r->channel);
    free(r->host);
    free(r);
}

/* ------------------------------------------------------------------ */
/* Public: commands                                                    */

/* GET key: OK with its string reply in *reply (the caller frees it), MISS
 * (nothing to free) when the key is absent. */
static dbont_redis_status get_reply(dbont_redis *r, const void *key, size_t klen, redisReply **reply)
{
    const char *argv[2] = {"GET", key};
    size_t argvlen[2] = {3, klen};
    dbont_redis_status st = run(r, 2, argv, argvlen, EXPECT(REDIS_REPLY_STRING) | EXPECT(REDIS_REPLY_NIL), reply);
    if (st == DBONT_REDIS_OK && (*reply)->type == REDIS_REPLY_NIL) {
        freeReplyObject(*reply);
        return DBONT_REDIS_MISS;
    }
    return st;
}

/* A GET's reply (string or nil) into *val (a malloc'd copy, NUL-terminated
 * after *len bytes) and *len, freeing the reply. */
static dbont_redis_status take_value(dbont_redis *r, redisReply *reply, void **val, size_t *len)
{
    if (reply->type == REDIS_REPLY_NIL) {
        freeReplyObject(reply);
        return DBONT_REDIS_MISS;
    }
    char *copy = malloc(reply->len + 1);
    if (!copy) {
        freeReplyObject(reply);
        set_error(r, "GET", "out of memory");
        count(&r->errors);
        return DBONT_REDIS_ERROR;
    }
    memcpy(copy, reply->str, reply->len);
    copy[reply->len] = '\0';
    *val = copy;
    *len = reply->len;
    freeReplyObject(reply);
    return DBONT_REDIS_OK;
}

dbont_redis_status dbont_redis_get(dbont_redis *r, const void *key, size_t klen, void **val, size_t *len)
{
    redisReply *reply;
    dbont_redis_status st;

    if (val)
        *val = NULL;
    if (len)
        *len = 0;
    if (!r || !key || !val || !len)
        return DBONT_REDIS_ERROR;
    st = get_reply(r, key, klen, &reply);
    return st == DBONT_REDIS_OK ? take_value(r, reply, val, len) : st;
}

dbont_redis_status dbont_redis_get_pttl(dbont_redis *r, const void *key, size_t klen, void **val, size_t *len,
                                        long long *pttl_ms)
{
    const char *get[2] = {"GET", key}, *pttl[2] = {"PTTL", key};
    size_t getlen[2] = {3, klen}, pttllen[2] = {4, klen};
    command cmds[2] = {{2, get, getlen, EXPECT(REDIS_REPLY_STRING) | EXPECT(REDIS_REPLY_NIL)},
                       {2, pttl, pttllen, EXPECT(REDIS_REPLY_INTEGER)}};
    redisReply *reply[2];
    dbont_redis_status st;

    if (val)
        *val = NULL;
    if (len)
        *len = 0;
    if (pttl_ms)
        *pttl_ms = -2;
    if (!r || !key || !val || !len || !pttl_ms)
        return DBONT_REDIS_ERROR;
    st = run_pipeline(r, 2, cmds, reply);
    if (st != DBONT_REDIS_OK)
        return st;
    *pttl_ms = reply[1]->integer;
    freeReplyObject(reply[1]);
    return take_value(r, reply[0], val, len);
}

/* SET key val PX ttl [NX]: the reply (OK, or nil for a refused NX). */
static dbont_redis_status set_common(dbont_redis *r, const void *key, size_t klen, const void *val,
                                     size_t len, uint64_t ttl_ms, bool nx, bool *acquired)
{
    const char *argv[6];
    size_t argvlen[6];
    char ttl[24];
    redisReply *reply;
    dbont_redis_status st;
    int argc = 5;

    if (!r || !key || (!val && len) || !format_ttl(ttl_ms, ttl, sizeof ttl))
        return DBONT_REDIS_ERROR;
    argv[0] = "SET";
    argvlen[0] = 3;
    argv[1] = key;
    argvlen[1] = klen;
    argv[2] = val ? val : "";
    argvlen[2] = len;
    argv[3] = "PX";
    argvlen[3] = 2;
    argv[4] = ttl;
    argvlen[4] = strlen(ttl);
    if (nx) {
        argv[5] = "NX";
        argvlen[5] = 2;
        argc = 6;
    }
    st = run(r, argc, argv, argvlen,
             EXPECT(REDIS_REPLY_STATUS) | (nx ? EXPECT(REDIS_REPLY_NIL) : 0u), &reply);
    if (st != DBONT_REDIS_OK)
        return st;
    if (acquired)
        *acquired = reply->type == REDIS_REPLY_STATUS;
    freeReplyObject(reply);
    return DBONT_REDIS_OK;
}

dbont_redis_status dbont_redis_set_px(dbont_redis *r, const void *key, size_t klen, const void *val,
                                      size_t len, uint64_t ttl_ms)
{
    return set_common(r, key, klen, val, len, ttl_ms, false, NULL);
}

dbont_redis_status dbont_redis_set_nx_px(dbont_redis *r, const void *key, size_t klen, const void *val,
                                         size_t len, uint64_t ttl_ms, bool *acquired)
{
    if (acquired)
        *acquired = false;
    if (!acquired)
        return DBONT_REDIS_ERROR;
    return set_common(r, key, klen, val, len, ttl_ms, true, acquired);
}

dbont_redis_status dbont_redis_del(dbont_redis *r, const void *key, size_t klen)
{
    const char *argv[2];
    size_t argvlen[2];
    redisReply *reply;
    dbont_redis_status st;

    if (!r || !key)
        return DBONT_REDIS_ERROR;
    argv[0] = "DEL";
    argvlen[0] = 3;
    argv[1] = key;
    argvlen[1] = klen;
    st = run(r, 2, argv, argvlen, EXPECT(REDIS_REPLY_INTEGER), &reply);
    if (st == DBONT_REDIS_OK)
        freeReplyObject(reply);
    return st;
}

dbont_redis_status dbont_redis_incr(dbont_redis *r, const void *key, size_t klen, long long *value)
{
    return dbont_redis_incrby(r, key, klen, 1, value);
}

dbont_redis_status dbont_redis_incrby(dbont_redis *r, const void *key, size_t klen, long long by,
                                      long long *value)
{
    const char *argv[3];
    size_t argvlen[3];
    char num[24];
    redisReply *reply;
    dbont_redis_status st;
    int argc = 2;

    if (!r || !key || !value)
        return DBONT_REDIS_ERROR;
    argv[0] = "INCR";
    argvlen[0] = 4;
    argv[1] = key;
    argvlen[1] = klen;
    if (by != 1) {
        snprintf(num, sizeof num, "%lld", by);
        argv[0] = "INCRBY";
        argvlen[0] = 6;
        argv[2] = num;
        argvlen[2] = strlen(num);
        argc = 3;
    }
    st = run(r, argc, argv, argvlen, EXPECT(REDIS_REPLY_INTEGER), &reply);
    if (st != DBONT_REDIS_OK)
        return st;
    *value = reply->integer;
    freeReplyObject(reply);
    return DBONT_REDIS_OK;
}

/* A whole decimal long long (optional sign, no spaces). */
static bool parse_ll(const char *s, size_t len, long long *out)
{
    char *end;
    long long v;
    if (len == 0 || len > 21 || strlen(s) != len)
        return false;
    if (!(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end != s + len)
        return false;
    *out = v;
    return true;
}

dbont_redis_status dbont_redis_get_int(dbont_redis *r, const void *key, size_t klen, long long *value)
{
    redisReply *reply;
    dbont_redis_status st;
    bool ok;

    if (!r || !key || !value)
        return DBONT_REDIS_ERROR;
    st = get_reply(r, key, klen, &reply);
    if (st != DBONT_REDIS_OK)
        return st;
    ok = parse_ll(reply->str, reply->len, value);
    freeReplyObject(reply);
    if (!ok) {
        set_error(r, "GET", "the value is not a decimal integer");
        count(&r->errors);
        return DBONT_REDIS_ERROR;
    }
    return DBONT_REDIS_OK;
}

dbont_redis_status dbont_redis_eval_int(dbont_redis *r, const char *script, int nkeys, int nargs,
                                        const char *const *args, const size_t *arglens, long long *value)
{
    enum { MAX_ARGS = 16 };
    const char *argv[3 + MAX_ARGS];
    size_t argvlen[3 + MAX_ARGS];
    char num[16];
    redisReply *reply;
    dbont_redis_status st;

    if (!r || !script || !value || nkeys < 0 || nargs < nkeys || nargs > MAX_ARGS || (nargs > 0 && (!args || !arglens)))
        return DBONT_REDIS_ERROR;
    snprintf(num, sizeof num, "%d", nkeys);
    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = script;
    argvlen[1] = strlen(script);
    argv[2] = num;
    argvlen[2] = strlen(num);
    for (int i = 0; i < nargs; i++) {
        if (!args[i])
            return DBONT_REDIS_ERROR;
        argv[3 + i] = args[i];
        argvlen[3 + i] = arglens[i];
    }
    st = run(r, 3 + nargs, argv, argvlen, EXPECT(REDIS_REPLY_INTEGER) | EXPECT(REDIS_REPLY_ERROR), &reply);
    if (st != DBONT_REDIS_OK)
        return st;
    if (reply->type == REDIS_REPLY_ERROR) {
        char why[128];
        snprintf(why, sizeof why, "%.*s", (int)(reply->len < 100 ? reply->len : 100), reply->str);
        set_error(r, "EVAL", why);
        freeReplyObject(reply);
        return DBONT_REDIS_REFUSED;
    }
    *value = reply->integer;
    freeReplyObject(reply);
    return DBONT_REDIS_OK;
}

dbont_redis_status dbont_redis_publish(dbont_redis *r, const char *channel, const void *msg, size_t len)
{
    const char *argv[3];
    size_t argvlen[3];
    redisReply *reply;
    dbont_redis_status st;

    if (!r || !channel || (!msg && len))
        return DBONT_REDIS_ERROR;
    argv[0] = "PUBLISH";
    argvlen[0] = 7;
    argv[1] = channel;
    argvlen[1] = strlen(channel);
    argv[2] = msg ? msg : "";
    argvlen[2] = len;
    st = run(r, 3, argv, argvlen, EXPECT(REDIS_REPLY_INTEGER), &reply);
    if (st == DBONT_REDIS_OK)
        freeReplyObject(reply);
    return st;
}

/* ------------------------------------------------------------------ */
/* The subscriber                                                      */

/* Waits until the deadline (monotonic ns) or a wake-up; true when told to
 * stop. */
static bool sub_sleep_until(dbont_redis *r, uint64_t deadline)
{
    for (;;) {
        uint64_t now;
        struct pollfd p;
        int ms;
        if (atomic_load(&r->sub_stop))
            return true;
        now = now_ns();
        if (now >= deadline)
            return false;
        ms = (int)((deadline - now + NS_PER_MS - 1) / NS_PER_MS);
        p.fd = r->wake[0];
        p.events = POLLIN;
        p.revents = 0;
        (void)poll(&p, 1, ms);
    }
}

/* A connection subscribed to r->channel, or NULL (recorded). */
static redisContext *sub_open(dbont_redis *r)
{
    const char *argv[2];
    size_t argvlen[2];
    redisReply *reply;
    char err[128];
    redisContext *c = open_context(r);
    if (!c)
        return NULL;
    argv[0] = "SUBSCRIBE";
    argvlen[0] = 9;
    argv[1] = r->channel;
    argvlen[1] = strlen(r->channel);
    reply = exchange(c, 2, argv, argvlen, err, sizeof err);
    if (!reply) {
        set_error(r, "SUBSCRIBE", err);
        redisFree(c);
        return NULL;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(reply->element[0]->str, "subscribe") != 0) {
        set_error(r, "SUBSCRIBE", reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        freeReplyObject(reply);
        redisFree(c);
        return NULL;
    }
    freeReplyObject(reply);
    return c;
}

/* Handles one reply on the subscribed connection: true when it was the
 * answer to our PING. */
static bool sub_handle(dbont_redis *r, redisReply *reply)
{
    redisReply *kind;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
        return false;
    kind = reply->element[0];
    if (kind->type != REDIS_REPLY_STRING)
        return false;
    if (strcmp(kind->str, "message") == 0 && reply->elements == 3 &&
        reply->element[2]->type == REDIS_REPLY_STRING) {
        count(&r->messages);
        r->fn(reply->element[2]->str, reply->element[2]->len, r->user);
        return false;
    }
    return strcmp(kind->str, "pong") == 0;
}

/* Hands out every reply the reader already holds (a read may bring
 * several, and the SUBSCRIBE exchange may have brought more than its own
 * answer); *pong set when one answered our PING.  -1 on a protocol error. */
static int sub_drain(dbont_redis *r, redisContext *c, bool *pong)
{
    for (;;) {
        void *reply = NULL;
        if (redisGetReplyFromReader(c, &reply) != REDIS_OK)
            return -1;
        if (!reply)
            return 0;
        if (sub_handle(r, reply))
            *pong = true;
        freeReplyObject(reply);
        if (atomic_load(&r->sub_stop))
            return 0;
    }
}

static void *sub_main(void *arg)
{
    dbont_redis *r = arg;
    redisContext *c = NULL;
    uint64_t retry_at = 0, next_backoff = r->backoff_min_ns;
    uint64_t last_rx = 0, ping_deadline = 0;
    bool ever = false, ping_out = false, pong = false;

    while (!atomic_load(&r->sub_stop)) {
        struct pollfd p[2];
        uint64_t now, due;
        int ms, rc;

        if (!c) {
            if (sub_sleep_until(r, retry_at))
                break;
            c = sub_open(r);
            if (!c) {
                count(&r->errors);
                arm_backoff(&retry_at, &next_backoff, r->backoff_max_ns);
                continue;
            }
            if (ever)
                count(&r->reconnects);
            ever = true;
            next_backoff = r->backoff_min_ns;
            atomic_store(&r->subscribed, true);
            last_rx = now_ns();
            ping_out = false;
            r->fn(NULL, 0, r->user);
            if (sub_drain(r, c, &pong) != 0)
                goto io_error;
            continue;
        }

        now = now_ns();
        due = ping_out ? ping_deadline : last_rx + SUB_PING_MS * NS_PER_MS;
        if (now >= due) {
            static const char *ping[1] = {"PING"};
            static const size_t ping_len[1] = {4};
            char err[128];
            if (ping_out) {
                set_error(r, "subscriber", "no answer to PING");
                goto lost;
            }
            if (send_command(c, 1, ping, ping_len, err, sizeof err) != 0) {
                set_error(r, "subscriber: PING", err);
                goto lost;
            }
            ping_out = true;
            ping_deadline = now_ns() + SUB_PING_MS * NS_PER_MS;
            continue;
        }
        ms = (int)((due - now + NS_PER_MS - 1) / NS_PER_MS);
        p[0].fd = c->fd;
        p[0].events = POLLIN;
        p[0].revents = 0;
        p[1].fd = r->wake[0];
        p[1].events = POLLIN;
        p[1].revents = 0;
        rc = poll(p, 2, ms);
        if (rc <= 0)
            continue;   /* timeout (the PING logic above) or EINTR */
        if (p[1].revents)
            break;      /* told to stop */
        if (p[0].revents) {
            if (redisBufferRead(c) != REDIS_OK)
                goto io_error;
            last_rx = now_ns();
            pong = false;
            if (sub_drain(r, c, &pong) != 0)
                goto io_error;
            if (pong)
                ping_out = false;
        }
        continue;

    io_error:
        set_error(r, "subscriber", c->err ? c->errstr : "I/O error");
    lost:
        redisFree(c);
        c = NULL;
        atomic_store(&r->subscribed, false);
        count(&r->errors);
        arm_backoff(&retry_at, &next_backoff, r->backoff_max_ns);
    }
    if (c)
        redisFree(c);
    atomic_store(&r->subscribed, false);
    return NULL;
}

static int set_fd_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

int dbont_redis_subscribe(dbont_redis *r, const char *channel, dbont_redis_message_fn fn, void *user)
{
    sigset_t all, old;
    int rc;

    if (!r || !channel || !fn)
        return -1;
    pthread_mutex_lock(&r->sub_mu);
    if (r->sub_started || r->channel) {
        pthread_mutex_unlock(&r->sub_mu);
        return -1;
    }
    r->channel = strdup(channel);
    if (!r->channel)
        goto fail;
    if (pipe(r->wake) != 0) {
        r->wake[0] = r->wake[1] = -1;
        goto fail;
    }
    if (set_fd_flags(r->wake[0]) != 0 || set_fd_flags(r->wake[1]) != 0)
        goto fail;
    r->fn = fn;
    r->user = user;
    atomic_store(&r->sub_stop, false);

    /* The thread starts with every signal blocked: the application's
     * handlers run on its own threads, never on ours. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&r->sub_thread, NULL, sub_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        goto fail;
    r->sub_started = true;
    pthread_mutex_unlock(&r->sub_mu);
    return 0;

fail:
    if (r->wake[0] >= 0)
        close(r->wake[0]);
    if (r->wake[1] >= 0)
        close(r->wake[1]);
    r->wake[0] = r->wake[1] = -1;
    free(r->channel);
    r->channel = NULL;
    pthread_mutex_unlock(&r->sub_mu);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Public: counters                                                    */

void dbont_redis_stats_get(dbont_redis *r, dbont_redis_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!r)
        return;
    out->commands = atomic_load_explicit(&r->commands, memory_order_relaxed);
    out->errors = atomic_load_explicit(&r->errors, memory_order_relaxed);
    out->skipped = atomic_load_explicit(&r->skipped, memory_order_relaxed);
    out->reconnects = atomic_load_explicit(&r->reconnects, memory_order_relaxed);
    out->messages = atomic_load_explicit(&r->messages, memory_order_relaxed);
    out->up = atomic_load(&r->up);
    out->subscribed = atomic_load(&r->subscribed);
}

void dbont_redis_last_error(dbont_redis *r, char *buf, size_t size)
{
    if (!buf || size == 0)
        return;
    buf[0] = '\0';
    if (!r)
        return;
    pthread_mutex_lock(&r->err_mu);
    snprintf(buf, size, "%s", r->last_error);
    pthread_mutex_unlock(&r->err_mu);
}
