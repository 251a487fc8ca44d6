/*
 * test_shardset.c: the shard set (dbont/shardset.h) against real servers:
 * four PostgreSQL primaries and a streaming standby of shard 0, started
 * for this test by tests/pg/with-shards.sh --private (dbont_add_shard_test),
 * which it stops and starts through $SHARDS_CTL.
 *
 *   config      the file and the environment give the same set;
 *               expected_count; a file error passes through with its place
 *   primaries   each shard's primary answers and is the right server (its
 *               system identifier and port, against a direct libpq
 *               connection); keyed acquisition lands on the routed shard;
 *               released connections are reused; foreign ones ignored
 *   standby     READ_STALE_OK on shard 0 is served by the standby (in
 *               recovery), on the other shards by the primary
 *   standby_down  the standby stopped: reads fall back to the primary within
 *               the check interval, counted; it is re-checked once per
 *               interval, not at every acquisition; started again: reads
 *               go back to it after wait-standby and the interval
 *   lag         replay paused: still used while it has little or nothing
 *               to replay; after a write on the primary and more than the
 *               lag bound, skipped; resumed: used again
 *   busy_standby  a standby whose pool is exhausted: waited for, then the
 *               primary, and still usable afterwards
 *   threads     8 threads acquiring at once: no error, every connection
 *               back, the standby checked at most once per interval
 *   privileges  a role without pg_read_all_stats cannot see the WAL
 *               receiver's status: the standby is skipped, saying why;
 *               with the grant, used
 *   shard_down  shard 2 stopped: its acquisitions fail naming shard 2 with
 *               SQLSTATE 08xxx, shards 0, 1, 3 still work; opening a set
 *               fails naming shard 2, unless connect_at_open is off;
 *               started again: shard 2 works
 *
 * Each check prints "ok   ..." or "FAIL file:line: ..."; the last line is
 * "N passed, N failed" (as tests/integration/threadcheck.h).
 */
#define _POSIX_C_SOURCE 200809L  /* setenv, mkstemp, nanosleep, clock_gettime */

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dbont/dbont.h"

/* The set's timing in this test: small, so that it runs in seconds. */
#define MAX_LAG_S 1.0
#define INTERVAL_S 0.5

/* ---- checks that print what they check ------------------------------------ */

static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static long check_passed, check_failed;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static bool check_at(bool ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&check_lock);
    if (ok) {
        check_passed++;
        printf("ok   ");
    } else {
        check_failed++;
        printf("FAIL %s:%d: ", file, line);
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    pthread_mutex_unlock(&check_lock);
    return ok;
}

#define CHECK(ok, ...) check_at((ok), __FILE__, __LINE__, __VA_ARGS__)

static void section(const char *name)
{
    printf("# %s\n", name);
}

/* ---- helpers ---------------------------------------------------------------- */

static int nshards;
static char *primary_dsn[16];
static const char *standby_dsn, *shards_ctl;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* Runs "$SHARDS_CTL verb"; true when it succeeded. */
static bool ctl(const char *verb)
{
    char cmd[1024];
    int rc;
    snprintf(cmd, sizeof cmd, "%s %s >/dev/null", shards_ctl, verb);
    rc = system(cmd);
    if (rc != 0)
        printf("# '%s' failed (%d)\n", cmd, rc);
    return rc == 0;
}

/* The first value of sql on pg into out: "(null)", "(no row)", or
 * "(error SQLSTATE message)". */
static bool pg_value(PGconn *pg, const char *sql, char *out, size_t n)
{
    PGresult *res = PQexec(pg, sql);
    bool ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok) {
        const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        snprintf(out, n, "(error %s %s)", state != NULL ? state : "-", PQerrorMessage(pg));
    } else if (PQntuples(res) == 0) {
        snprintf(out, n, "(no row)");
    } else if (PQgetisnull(res, 0, 0)) {
        snprintf(out, n, "(null)");
    } else {
        snprintf(out, n, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return ok;
}

static bool q1(dbont_conn *c, const char *sql, char *out, size_t n)
{
    return pg_value(dbont_conn_pg(c), sql, out, n);
}

/* The same over a connection of its own (libpq, no dbont in between). */
static bool direct(const char *dsn, const char *sql, char *out, size_t n)
{
    PGconn *pg = PQconnectdb(dsn);
    bool ok;
    if (PQstatus(pg) != CONNECTION_OK) {
        snprintf(out, n, "(cannot connect: %s)", PQerrorMessage(pg));
        PQfinish(pg);
        return false;
    }
    ok = pg_value(pg, sql, out, n);
    PQfinish(pg);
    return ok;
}

/* Runs a command (no rows) over a connection of its own. */
static bool direct_exec(const char *dsn, const char *sql)
{
    PGconn *pg = PQconnectdb(dsn);
    PGresult *res;
    bool ok = PQstatus(pg) == CONNECTION_OK;
    if (ok) {
        res = PQexec(pg, sql);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
        if (!ok)
            printf("# %s: %s", sql, PQerrorMessage(pg));
        PQclear(res);
    }
    PQfinish(pg);
    return ok;
}

/* The port of a postgresql://user@host:PORT/db URI. */
static const char *port_of(const char *uri, char out[16])
{
    const char *colon = strrchr(uri, ':'), *slash;
    size_t n;
    out[0] = '\0';
    if (colon == NULL)
        return out;
    slash = strchr(colon, '/');
    n = slash != NULL ? (size_t)(slash - colon - 1) : strlen(colon + 1);
    if (n < 16) {
        memcpy(out, colon + 1, n);
        out[n] = '\0';
    }
    return out;
}

static dbont_shardset_options test_options(void)
{
    dbont_shardset_options o = DBONT_SHARDSET_OPTIONS_INIT;
    o.expected_count = 4;
    o.pool.max_size = 4;
    o.pool.acquire_timeout = 2.0;
    o.standby_max_lag_s = MAX_LAG_S;
    o.standby_check_interval_s = INTERVAL_S;
    return o;
}

static dbont_shardset_shard_stats stats(dbont_shardset *s, int shard)
{
    dbont_shardset_shard_stats st;
    dbont_shardset_stats_get(s, shard, &st, NULL);
    return st;
}

/*
 * Acquires READ_STALE_OK on shard, and says where it went: "t" (a server
 * in recovery: the standby), "f" (the primary), or "(error ...)".
 */
static void stale_read_goes_to(dbont_shardset *s, int shard, char *out, size_t n)
{
    dbont_error err;
    dbont_conn *c = dbont_shardset_acquire(s, shard, DBONT_SHARD_READ_STALE_OK, &err);
    if (c == NULL) {
        /* cut to fit: the caller's buffer is smaller than a message can be */
        int w = snprintf(out, n, "(error %s %.*s)", err.sqlstate, (int)(n > 16 ? n - 16 : 0), err.message);
        (void)w;
        return;
    }
    q1(c, "SELECT pg_is_in_recovery()", out, n);
    dbont_shardset_release(s, c);
}

/* Polls stale reads of shard 0 until they go to want ("t" or "f"), for
 * up to limit seconds; the seconds it took, or -1. */
static double wait_stale_read(dbont_shardset *s, const char *want, double limit)
{
    double t0 = now_s();
    char v[512];
    for (;;) {
        stale_read_goes_to(s, 0, v, sizeof v);
        if (strcmp(v, want) == 0)
            return now_s() - t0;
        if (now_s() - t0 > limit)
            return -1;
        sleep_s(0.02);
    }
}

/* ---- config ------------------------------------------------------------------ */

static bool same_set(dbont_shardset *a, dbont_shardset *b)
{
    int i, k;
    if (dbont_shardset_count(a) != dbont_shardset_count(b))
        return false;
    for (i = 0; i < dbont_shardset_count(a); i++) {
        if (strcmp(dbont_shardset_primary_dsn(a, i), dbont_shardset_primary_dsn(b, i)) != 0 ||
            dbont_shardset_standby_count(a, i) != dbont_shardset_standby_count(b, i))
            return false;
        for (k = 0; k < dbont_shardset_standby_count(a, i); k++) {
            if (strcmp(dbont_shardset_standby_dsn(a, i, k), dbont_shardset_standby_dsn(b, i, k)) != 0)
                return false;
        }
    }
    return true;
}

static void test_config(void)
{
    const char *conf = getenv("DBONT_SHARDS_CONF");
    dbont_shardset_options o = test_options();
    dbont_shardset *from_file, *from_env, *bad;
    dbont_error err;
    char path[64];
    int fd, i;
    bool env_ok = true;

    section("config");
    o.conf_path = conf;
    o.connect_at_open = false;
    from_file = dbont_shardset_open(&o, &err);
    CHECK(from_file != NULL, "open from the file %s%s%s", conf, from_file ? "" : ": ",
          from_file ? "" : err.message);
    /* Without the file, the variables are read. */
    unsetenv("DBONT_SHARDS_CONF");
    o.conf_path = NULL;
    from_env = dbont_shardset_open(&o, &err);
    setenv("DBONT_SHARDS_CONF", conf, 1);
    CHECK(from_env != NULL, "open from DBONT_SHARD_COUNT and DBONT_SHARD_<i>_PRIMARY|STANDBY%s%s",
          from_env ? "" : ": ", from_env ? "" : err.message);
    if (from_file == NULL || from_env == NULL)
        goto done;
    CHECK(dbont_shardset_count(from_env) == 4, "4 shards (got %d)", dbont_shardset_count(from_env));
    CHECK(same_set(from_file, from_env), "the file and the environment give the same set");
    for (i = 0; i < 4; i++)
        env_ok = env_ok && strcmp(dbont_shardset_primary_dsn(from_env, i), primary_dsn[i]) == 0;
    CHECK(env_ok, "each shard's primary is DBONT_SHARD_<i>_PRIMARY");
    CHECK(dbont_shardset_standby_count(from_env, 0) == 1 &&
              strcmp(dbont_shardset_standby_dsn(from_env, 0, 0), standby_dsn) == 0,
          "shard 0 has one standby, DBONT_SHARD_0_STANDBY");
    CHECK(dbont_shardset_standby_count(from_env, 1) == 0 && dbont_shardset_standby_count(from_env, 3) == 0,
          "shards 1 and 3 have none");

    o.conf_path = conf;
    o.expected_count = 5;
    bad = dbont_shardset_open(&o, &err);
    CHECK(bad == NULL && strcmp(err.sqlstate, "22023") == 0 &&
              strstr(err.message, "the shard set has 4 shards, but 5 are expected") != NULL,
          "expected_count 5 against 4 shards: refused (%s %s)", err.sqlstate, err.message);
    dbont_shardset_close(bad);

    snprintf(path, sizeof path, "/tmp/shardset_bad.XXXXXX");
    fd = mkstemp(path);
    if (fd >= 0) {
        static const char text[] = "shards 4\nshard 5 primary host=x\n";
        char want[128];
        CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1), "write %s", path);
        close(fd);
        o.conf_path = path;
        o.expected_count = 0;
        bad = dbont_shardset_open(&o, &err);
        snprintf(want, sizeof want, "%s:2:7: shard 5 is out of range (shards 4)", path);
        CHECK(bad == NULL && strcmp(err.message, want) == 0 && strcmp(err.sqlstate, "22023") == 0,
              "a bad file: %s %s", err.sqlstate, err.message);
        dbont_shardset_close(bad);
        unlink(path);
    }
done:
    dbont_shardset_close(from_file);
    dbont_shardset_close(from_env);
}

/* ---- primaries --------------------------------------------------------------- */

#define SYSID_SQL "SELECT system_identifier FROM pg_control_system()"

static void test_primaries(dbont_shardset *s)
{
    char sysids[4][64], v[512], pid1[32], pid2[32], port[16];
    dbont_error err;
    dbont_conn *c, *foreign;
    int i, j, distinct = 1;

    section("primaries");
    for (i = 0; i < 4; i++) {
        char want[64], got_port[512];
        sysids[i][0] = '\0';
        c = dbont_shardset_acquire(s, i, DBONT_SHARD_PRIMARY, &err);
        if (!CHECK(c != NULL, "acquire shard %d's primary%s%s", i, c ? "" : ": ", c ? "" : err.message))
            continue;
        q1(c, SYSID_SQL, sysids[i], sizeof sysids[i]);
        q1(c, "SELECT inet_server_port()", got_port, sizeof got_port);
        q1(c, "SELECT pg_is_in_recovery()", v, sizeof v);
        dbont_shardset_release(s, c);
        direct(primary_dsn[i], SYSID_SQL, want, sizeof want);
        CHECK(strcmp(sysids[i], want) == 0,
              "shard %d: the system identifier is DBONT_SHARD_%d_PRIMARY's (%s; direct: %s)", i, i,
              sysids[i], want);
        CHECK(strcmp(got_port, port_of(primary_dsn[i], port)) == 0 && strcmp(v, "f") == 0,
              "shard %d: a primary (in recovery: %s) on port %s", i, v, got_port);
    }
    for (i = 0; i < 4; i++) {
        for (j = 0; j < i; j++)
            distinct = distinct && strcmp(sysids[i], sysids[j]) != 0;
    }
    CHECK(distinct, "4 different system identifiers: 4 database systems");

    /* A key goes where the router says. */
    for (i = 0; i < 3; i++) {
        int64_t key = 1000 + i * 7919;
        int want = dbont_shard_of_int(key, 4);
        c = dbont_shardset_acquire_for_int(s, key, DBONT_SHARD_PRIMARY, &err);
        v[0] = '\0';
        if (c != NULL) {
            q1(c, SYSID_SQL, v, sizeof v);
            dbont_shardset_release(s, c);
        }
        CHECK(c != NULL && strcmp(v, sysids[want]) == 0,
              "acquire_for_int(%lld) reaches shard %d, as dbont_shard_of_int says", (long long)key,
              want);
    }
    c = dbont_shardset_acquire_for_text(s, "alice", 5, DBONT_SHARD_PRIMARY, &err);
    v[0] = '\0';
    if (c != NULL) {
        q1(c, SYSID_SQL, v, sizeof v);
        dbont_shardset_release(s, c);
    }
    CHECK(c != NULL && strcmp(v, sysids[dbont_shard_of_text("alice", 5, 4)]) == 0,
          "acquire_for_text(\"alice\") reaches shard %d", dbont_shard_of_text("alice", 5, 4));
    c = dbont_shardset_acquire(s, 4, DBONT_SHARD_PRIMARY, &err);
    CHECK(c == NULL && strcmp(err.sqlstate, "22023") == 0 &&
              strcmp(err.message, "shard 4 is out of range (the set has 4 shards)") == 0,
          "shard 4: %s %s", err.sqlstate, err.message);

    /* Back to its pool, and out again. */
    c = dbont_shardset_acquire(s, 1, DBONT_SHARD_PRIMARY, &err);
    pid1[0] = pid2[0] = '\0';
    if (c != NULL) {
        q1(c, "SELECT pg_backend_pid()", pid1, sizeof pid1);
        dbont_shardset_release(s, c);
    }
    c = dbont_shardset_acquire(s, 1, DBONT_SHARD_PRIMARY, &err);
    if (c != NULL) {
        q1(c, "SELECT pg_backend_pid()", pid2, sizeof pid2);
        dbont_shardset_release(s, c);
    }
    CHECK(pid1[0] != '\0' && strcmp(pid1, pid2) == 0,
          "a released connection is reused (backend %s, then %s)", pid1, pid2);
    foreign = dbont_connect(primary_dsn[1], &err);
    dbont_shardset_release(s, foreign);
    dbont_shardset_release(s, foreign);
    CHECK(foreign != NULL && q1(foreign, "SELECT 1", v, sizeof v),
          "releasing a connection the set did not hand out leaves it alone");
    dbont_close(foreign);
}

/* ---- standby reads --------------------------------------------------------------- */

static void test_standby(dbont_shardset *s)
{
    char v[512], sysid[64], want[64], port[16], pid1[32], pid2[32];
    dbont_shardset_shard_stats st;
    dbont_error err;
    dbont_conn *c;
    int i;

    section("standby");
    c = dbont_shardset_acquire(s, 0, DBONT_SHARD_READ_STALE_OK, &err);
    if (!CHECK(c != NULL, "READ_STALE_OK on shard 0%s%s", c ? "" : ": ", c ? "" : err.message))
        return;
    q1(c, "SELECT pg_is_in_recovery()", v, sizeof v);
    CHECK(strcmp(v, "t") == 0, "... is served by a server in recovery (pg_is_in_recovery: %s)", v);
    q1(c, SYSID_SQL, sysid, sizeof sysid);
    direct(primary_dsn[0], SYSID_SQL, want, sizeof want);
    CHECK(strcmp(sysid, want) == 0, "... a copy of shard 0 (its system identifier)");
    q1(c, "SELECT inet_server_port()", v, sizeof v);
    CHECK(strcmp(v, port_of(standby_dsn, port)) == 0, "... the standby's port (%s)", v);
    q1(c, "SELECT pg_backend_pid()", pid1, sizeof pid1);
    dbont_shardset_release(s, c);
    c = dbont_shardset_acquire(s, 0, DBONT_SHARD_READ_STALE_OK, &err);
    pid2[0] = '\0';
    if (c != NULL) {
        q1(c, "SELECT pg_backend_pid()", pid2, sizeof pid2);
        dbont_shardset_release(s, c);
    }
    /* The pool's reset (UNLISTEN, DISCARD TEMP, ...) works on a standby,
     * or the pool would close the connection at every release. */
    CHECK(strcmp(pid1, pid2) == 0, "a standby connection is reused after release (backend %s, then %s)",
          pid1, pid2);
    st = stats(s, 0);
    CHECK(st.standby_acquired == 2 && st.standby_fallbacks == 0 && st.standby_checks == 1 &&
              st.standbys == 1 && st.standbys_usable == 1,
          "stats of shard 0: %llu standby acquisitions, %llu fallbacks, %llu check, %d of %d usable",
          (unsigned long long)st.standby_acquired, (unsigned long long)st.standby_fallbacks,
          (unsigned long long)st.standby_checks, st.standbys_usable, st.standbys);

    for (i = 1; i < 4; i++) {
        stale_read_goes_to(s, i, v, sizeof v);
        st = stats(s, i);
        CHECK(strcmp(v, "f") == 0 && st.standby_fallbacks == 0 && st.standbys == 0,
              "READ_STALE_OK on shard %d (no standby): its primary (in recovery: %s), no fallback "
              "counted", i, v);
    }
    c = dbont_shardset_acquire(s, 0, DBONT_SHARD_PRIMARY, &err);
    v[0] = '\0';
    if (c != NULL) {
        q1(c, "SELECT pg_is_in_recovery()", v, sizeof v);
        dbont_shardset_release(s, c);
    }
    CHECK(strcmp(v, "f") == 0, "PRIMARY on shard 0: the primary (in recovery: %s)", v);

    /* A table for the lag part, on shard 0 (replicated). */
    CHECK(direct_exec(primary_dsn[0], "CREATE TABLE lagtest (id serial PRIMARY KEY, at timestamptz "
                                      "DEFAULT now())"),
          "create a table on shard 0");
    CHECK(ctl("wait-standby"), "wait-standby");
}

/* ---- the standby stopped and started ------------------------------------------------ */

static void test_standby_down(dbont_shardset *s)
{
    dbont_shardset_shard_stats before, after;
    double t;
    int i;

    section("standby_down");
    before = stats(s, 0);
    if (!CHECK(ctl("stop-standby"), "stop-standby"))
        return;
    t = wait_stale_read(s, "f", INTERVAL_S + 1.0);
    CHECK(t >= 0 && t <= INTERVAL_S, "READ_STALE_OK on shard 0 falls back to the primary within "
                                     "the check interval (%.3f s; interval %.1f s)", t, INTERVAL_S);
    after = stats(s, 0);
    CHECK(after.standby_fallbacks > before.standby_fallbacks,
          "the fallback counter rose (%llu -> %llu)", (unsigned long long)before.standby_fallbacks,
          (unsigned long long)after.standby_fallbacks);
    CHECK(strstr(after.last_skip, "shard 0 (standby 127.0.0.1:") != NULL &&
              strstr(after.last_skip, "could not connect") != NULL,
          "last_skip says why: %.120s...", after.last_skip);
    CHECK(after.standbys_usable == 0, "no standby usable (%d)", after.standbys_usable);

    /* Within an interval, the down standby is not tried again at every
     * acquisition: no new check, and each read counts a fallback. */
    sleep_s(INTERVAL_S * 1.2);
    before = stats(s, 0);
    for (i = 0; i < 20; i++) {
        char v[512];
        stale_read_goes_to(s, 0, v, sizeof v);
    }
    after = stats(s, 0);
    CHECK(after.standby_checks - before.standby_checks == 1 &&
              after.standby_check_failures - before.standby_check_failures == 1 &&
              after.standby_fallbacks - before.standby_fallbacks == 20,
          "20 reads after the interval: 1 new check (failed), 20 fallbacks (got %llu checks, "
          "%llu failed, %llu fallbacks)",
          (unsigned long long)(after.standby_checks - before.standby_checks),
          (unsigned long long)(after.standby_check_failures - before.standby_check_failures),
          (unsigned long long)(after.standby_fallbacks - before.standby_fallbacks));

    CHECK(ctl("start-standby"), "start-standby");
    CHECK(ctl("wait-standby"), "wait-standby");
    t = wait_stale_read(s, "t", 10.0);
    CHECK(t >= 0 && t <= INTERVAL_S + 1.0,
          "reads go back to the standby (%.3f s after wait-standby; interval %.1f s)", t, INTERVAL_S);
    after = stats(s, 0);
    CHECK(after.standbys_usable == 1, "the standby is usable again");
}

/* ---- a lagging standby ----------------------------------------------------------------- */

static void test_lag(dbont_shardset *s)
{
    dbont_shardset_shard_stats before, after;
    char v[512], want[64];
    double t;

    section("lag");
    /* Paused just after replaying a fresh commit, so that the lag stays
     * under the bound whatever the primary writes by itself meanwhile
     * (a running-transactions record now and then). */
    CHECK(direct_exec(primary_dsn[0], "INSERT INTO lagtest DEFAULT VALUES") && ctl("wait-standby"),
          "a write on shard 0, replayed by the standby");
    if (!CHECK(direct(standby_dsn, "SELECT pg_wal_replay_pause()", v, sizeof v),
               "pause replay on the standby"))
        return;
    sleep_s(INTERVAL_S * 1.1);
    stale_read_goes_to(s, 0, v, sizeof v);
    before = stats(s, 0);
    CHECK(strcmp(v, "t") == 0, "paused, with nothing (or little) new to replay: still used after "
                               "the interval (in recovery: %s; last check: %s)", v,
          before.standby_checks > 0 ? "usable" : "none");
    CHECK(direct_exec(primary_dsn[0], "INSERT INTO lagtest DEFAULT VALUES"), "a write on shard 0");
    sleep_s(MAX_LAG_S + INTERVAL_S + 0.3);
    stale_read_goes_to(s, 0, v, sizeof v);
    after = stats(s, 0);
    CHECK(strcmp(v, "f") == 0, "%.1f s later (lag bound %.1f s): served by the primary (in "
                               "recovery: %s)", MAX_LAG_S + INTERVAL_S + 0.3, MAX_LAG_S, v);
    CHECK(after.standby_fallbacks == before.standby_fallbacks + 1 &&
              strstr(after.last_skip, "replay lag") != NULL,
          "a fallback counted; last_skip: %s", after.last_skip);
    direct(standby_dsn, "SELECT count(*) FROM lagtest", v, sizeof v);
    direct(primary_dsn[0], "SELECT count(*) FROM lagtest", want, sizeof want);
    CHECK(strcmp(v, "1") == 0 && strcmp(want, "2") == 0,
          "(the standby indeed lacks the row: %s rows there, %s on the primary)", v, want);

    CHECK(direct(standby_dsn, "SELECT pg_wal_replay_resume()", v, sizeof v), "resume replay");
    CHECK(ctl("wait-standby"), "wait-standby");
    t = wait_stale_read(s, "t", 10.0);
    CHECK(t >= 0 && t <= INTERVAL_S + 1.0, "used again (%.3f s after wait-standby)", t);
}

/* ---- a busy standby ------------------------------------------------------------------------ */

static void test_busy_standby(void)
{
    dbont_shardset_options o = test_options();
    dbont_shardset_shard_stats before, after;
    dbont_shardset *s;
    dbont_conn *held, *c;
    dbont_error err;
    char v[512];
    double t0, waited;

    section("busy_standby");
    o.pool.max_size = 1;
    o.pool.acquire_timeout = 0.2;
    s = dbont_shardset_open(&o, &err);
    if (!CHECK(s != NULL, "open with pools of 1 connection, acquire_timeout 0.2 s"))
        return;
    held = dbont_shardset_acquire(s, 0, DBONT_SHARD_READ_STALE_OK, &err);
    v[0] = '\0';
    if (held != NULL)
        q1(held, "SELECT pg_is_in_recovery()", v, sizeof v);
    CHECK(strcmp(v, "t") == 0, "one READ_STALE_OK holds the standby's only connection");
    before = stats(s, 0);
    t0 = now_s();
    c = dbont_shardset_acquire(s, 0, DBONT_SHARD_READ_STALE_OK, &err);
    waited = now_s() - t0;
    v[0] = '\0';
    if (c != NULL)
        q1(c, "SELECT pg_is_in_recovery()", v, sizeof v);
    after = stats(s, 0);
    CHECK(strcmp(v, "f") == 0 && waited >= 0.19 && after.standby_fallbacks == before.standby_fallbacks + 1,
          "a second one waits acquire_timeout (%.3f s), then falls back to the primary", waited);
    CHECK(after.standbys_usable == 1 && after.standby_check_failures == 0,
          "busy is not unhealthy: the standby is still usable (%d), no failed check",
          after.standbys_usable);
    dbont_shardset_release(s, c);
    dbont_shardset_release(s, held);
    stale_read_goes_to(s, 0, v, sizeof v);
    CHECK(strcmp(v, "t") == 0, "released: the next one gets the standby (in recovery: %s)", v);
    dbont_shardset_close(s);
}

/* ---- threads -------------------------------------------------------------------------------- */

#define THREADS 8
static dbont_shardset *thread_set;
static double thread_until;
static long thread_errors, thread_rounds;

static void *worker(void *arg)
{
    long errors = 0, rounds = 0;
    int me = (int)(intptr_t)arg;
    char first_error[DBONT_ERROR_MESSAGE_MAX + 16] = "";

    while (now_s() < thread_until) {
        int shard = (me + (int)rounds) % 4;
        dbont_shard_access access = rounds % 2 == 0 ? DBONT_SHARD_READ_STALE_OK : DBONT_SHARD_PRIMARY;
        dbont_error err;
        dbont_conn *c = dbont_shardset_acquire(thread_set, shard, access, &err);
        char v[64];
        if (c == NULL || !q1(c, "SELECT 1", v, sizeof v)) {
            if (errors++ == 0)
                snprintf(first_error, sizeof first_error, "%s %s", c ? "query" : err.sqlstate,
                         c ? v : err.message);
        }
        dbont_shardset_release(thread_set, c);
        rounds++;
    }
    pthread_mutex_lock(&check_lock);
    thread_errors += errors;
    thread_rounds += rounds;
    if (first_error[0] != '\0')
        printf("# thread %d: %s\n", me, first_error);
    pthread_mutex_unlock(&check_lock);
    return NULL;
}

static void test_threads(void)
{
    dbont_shardset_options o = test_options();
    dbont_shardset_shard_stats st;
    pthread_t t[THREADS];
    dbont_error err;
    double run = 1.6, t0;
    unsigned long long bound;
    int i;

    section("threads");
    o.pool.max_size = 3;   /* fewer than the threads: they wait their turn */
    thread_set = dbont_shardset_open(&o, &err);
    if (!CHECK(thread_set != NULL, "open%s%s", thread_set ? "" : ": ", thread_set ? "" : err.message))
        return;
    t0 = now_s();
    thread_until = t0 + run;
    for (i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    run = now_s() - t0;
    st = stats(thread_set, 0);
    CHECK(thread_errors == 0 && thread_rounds > 100,
          "%d threads, %.1f s, pools of 3: %ld acquisitions, %ld errors", THREADS, run,
          thread_rounds, thread_errors);
    /* One check per interval, plus the first one. */
    bound = (unsigned long long)(run / INTERVAL_S) + 2;
    CHECK(st.standby_checks >= 1 && st.standby_checks <= bound,
          "shard 0's standby checked %llu times in %.1f s (at most %llu: once per %.1f s interval)",
          (unsigned long long)st.standby_checks, run, bound, INTERVAL_S);
    CHECK(st.standby_acquired > 0, "shard 0: %llu standby acquisitions, %llu fallbacks, %llu on the "
                                   "primary",
          (unsigned long long)st.standby_acquired, (unsigned long long)st.standby_fallbacks,
          (unsigned long long)st.primary_acquired);
    dbont_shardset_close(thread_set);
    CHECK(true, "closed with every connection back (ASan would see a leak otherwise)");
}

/* ---- privileges --------------------------------------------------------------------------------- */

static void test_privileges(void)
{
    dbont_shardset_options o = test_options();
    dbont_shardset_shard_stats st;
    dbont_shardset *s;
    dbont_error err;
    char path[64], port[16], v[512];
    FILE *f;
    int fd, i;
    double t;

    section("privileges");
    CHECK(direct_exec(primary_dsn[0], "CREATE ROLE dbont_plain LOGIN"),
          "a role without pg_read_all_stats, on shard 0 (replicated)");
    CHECK(ctl("wait-standby"), "wait-standby");
    snprintf(path, sizeof path, "/tmp/shardset_plain.XXXXXX");
    fd = mkstemp(path);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!CHECK(f != NULL, "a configuration whose standby DSN uses that role"))
        return;
    fprintf(f, "shards 4\n");
    for (i = 0; i < 4; i++)
        fprintf(f, "shard %d primary %s\n", i, primary_dsn[i]);
    fprintf(f, "shard 0 standby postgresql://dbont_plain@127.0.0.1:%s/postgres\n",
            port_of(standby_dsn, port));
    fclose(f);
    o.conf_path = path;
    s = dbont_shardset_open(&o, &err);
    unlink(path);
    if (!CHECK(s != NULL, "open%s%s", s ? "" : ": ", s ? "" : err.message))
        return;
    stale_read_goes_to(s, 0, v, sizeof v);
    st = stats(s, 0);
    CHECK(strcmp(v, "f") == 0 && strstr(st.last_skip, "pg_read_all_stats") != NULL,
          "READ_STALE_OK: the primary (in recovery: %s); last_skip: %s", v, st.last_skip);
    CHECK(direct_exec(primary_dsn[0], "GRANT pg_read_all_stats TO dbont_plain"),
          "GRANT pg_read_all_stats TO dbont_plain");
    CHECK(ctl("wait-standby"), "wait-standby");
    t = wait_stale_read(s, "t", 10.0);
    CHECK(t >= 0 && t <= INTERVAL_S + 1.0, "with the grant, the standby is used (%.3f s later)", t);
    dbont_shardset_close(s);
}

/* ---- a shard stopped ----------------------------------------------------------------------------- */

static void test_shard_down(dbont_shardset *s)
{
    dbont_shardset_options o = test_options();
    dbont_shardset *other;
    dbont_error err;
    dbont_conn *c;
    char prefix[128], port[16], v[64];
    int i;

    section("shard_down");
    snprintf(prefix, sizeof prefix, "shard 2 (primary 127.0.0.1:%s): could not connect: ",
             port_of(primary_dsn[2], port));
    if (!CHECK(ctl("stop-shard 2"), "stop-shard 2"))
        return;
    c = dbont_shardset_acquire(s, 2, DBONT_SHARD_PRIMARY, &err);
    CHECK(c == NULL && strncmp(err.sqlstate, "08", 2) == 0 &&
              strncmp(err.message, prefix, strlen(prefix)) == 0,
          "PRIMARY on shard 2 fails: %s %.140s", err.sqlstate, err.message);
    dbont_shardset_release(s, c);
    c = dbont_shardset_acquire(s, 2, DBONT_SHARD_READ_STALE_OK, &err);
    CHECK(c == NULL && strncmp(err.sqlstate, "08", 2) == 0 &&
              strncmp(err.message, prefix, strlen(prefix)) == 0,
          "READ_STALE_OK on shard 2 (no standby) fails the same way: %s", err.sqlstate);
    dbont_shardset_release(s, c);
    for (i = 0; i < 4; i++) {
        if (i == 2)
            continue;
        c = dbont_shardset_acquire(s, i, DBONT_SHARD_PRIMARY, &err);
        CHECK(c != NULL && q1(c, "SELECT 1", v, sizeof v), "shard %d still works", i);
        dbont_shardset_release(s, c);
    }

    other = dbont_shardset_open(&o, &err);
    CHECK(other == NULL && strncmp(err.sqlstate, "08", 2) == 0 &&
              strncmp(err.message, prefix, strlen(prefix)) == 0,
          "opening a set (connect_at_open) fails naming shard 2: %s", err.sqlstate);
    dbont_shardset_close(other);
    o.connect_at_open = false;
    other = dbont_shardset_open(&o, &err);
    CHECK(other != NULL, "with connect_at_open off, it opens");
    if (other != NULL) {
        c = dbont_shardset_acquire(other, 1, DBONT_SHARD_PRIMARY, &err);
        CHECK(c != NULL, "... shard 1 works");
        dbont_shardset_release(other, c);
        c = dbont_shardset_acquire(other, 2, DBONT_SHARD_PRIMARY, &err);
        CHECK(c == NULL && strncmp(err.message, prefix, strlen(prefix)) == 0,
              "... shard 2 fails: %s", err.sqlstate);
    }

    CHECK(ctl("start-shard 2"), "start-shard 2");
    c = dbont_shardset_acquire(s, 2, DBONT_SHARD_PRIMARY, &err);
    CHECK(c != NULL && q1(c, "SELECT 1", v, sizeof v), "shard 2 works again%s%s", c ? "" : ": ",
          c ? "" : err.message);
    dbont_shardset_release(s, c);
    if (other != NULL) {
        c = dbont_shardset_acquire(other, 2, DBONT_SHARD_PRIMARY, &err);
        CHECK(c != NULL, "... and in the set opened while it was down (its pool opens now)");
        dbont_shardset_release(other, c);
        dbont_shardset_close(other);
    }
}

int main(void)
{
    dbont_shardset_options o = test_options();
    dbont_shardset *s;
    dbont_error err;
    double t0 = now_s();
    int i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    shards_ctl = getenv("SHARDS_CTL");
    standby_dsn = getenv("DBONT_SHARD_0_STANDBY");
    nshards = getenv("DBONT_SHARD_COUNT") ? atoi(getenv("DBONT_SHARD_COUNT")) : 0;
    for (i = 0; i < 4 && i < nshards; i++) {
        char name[64];
        snprintf(name, sizeof name, "DBONT_SHARD_%d_PRIMARY", i);
        primary_dsn[i] = getenv(name);
    }
    if (nshards != 4 || shards_ctl == NULL || standby_dsn == NULL || getenv("DBONT_SHARDS_CONF") == NULL) {
        printf("# run under tests/pg/with-shards.sh --private (4 shards, SHARDS_CTL)\n0 passed, 1 failed\n");
        return 1;
    }

    test_config();
    s = dbont_shardset_open(&o, &err);
    if (!CHECK(s != NULL, "open the set (expected_count 4, lag bound %.1f s, interval %.1f s)%s%s",
               MAX_LAG_S, INTERVAL_S, s ? "" : ": ", s ? "" : err.message)) {
        printf("%ld passed, %ld failed\n", check_passed, check_failed);
        return 1;
    }
    test_primaries(s);
    test_standby(s);
    test_standby_down(s);
    test_lag(s);
    test_busy_standby();
    test_threads();
    test_privileges();
    test_shard_down(s);
    dbont_shardset_close(s);
    printf("# %.1f s\n", now_s() - t0);
    printf("%ld passed, %ld failed\n", check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}
