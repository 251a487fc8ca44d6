/*
 * fanout.c: one query on every shard at once (dbont/fanout.h).
 *
 * Each shard's connection runs a small state machine driven by one
 * poll() over all the sockets:
 *
 *   PREPARE   the statement is not prepared on this connection yet:
 *             PQsendPrepare was sent, its result is awaited
 *   EXECUTE   PQsendQueryPrepared was sent (binary results), its
 *             results are awaited
 *   DONE      every result of the last command has been read (the
 *             connection is idle again, or broken)
 *
 * All connections are switched to libpq's nonblocking mode for the call,
 * so that sending never waits for one server's socket buffer; output not
 * sent at once is flushed when poll() says the socket is writable, input
 * is consumed (PQconsumeInput) when it is readable, and results are
 * taken only when PQisBusy says they are complete, so no PQgetResult
 * ever blocks.  Preparing is asynchronous too: a shard seen for the
 * first time does not hold up the others.  The two rare repairs that
 * stmt.c knows (the registry to read back from the server, a statement
 * to deallocate) are synchronous calls on that one connection, in
 * blocking mode.
 *
 * Failures are recorded per shard and never stop the loop: the call
 * returns once every shard is DONE, so the surviving connections are
 * left idle.  Then the rows are merged (merge.c), or the first failure
 * (by shard number) is reported.
 */
#define _POSIX_C_SOURCE 200809L /* poll */

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "dbont/fanout.h"
#include "error_internal.h"
#include "merge.h"
#include "params.h"
#include "query_internal.h"
#include "registry.h"
#include "stmt_internal.h"

#define UNKNOWN_STATEMENT "26000"
#define DUPLICATE_STATEMENT "42P05"
#define PLAN_CHANGED "0A000"
#define CONNECTION_LOST "08006"

typedef enum phase { PREPARE, EXECUTE, DONE } phase;

typedef struct shard {
    dbont_conn *conn;
    PGconn *pg;
    phase ph;
    bool failed;
    bool flushing;          /* output queued that PQflush has not sent yet */
    bool retried;           /* the one retry after 26000 / 0A000 is spent */
    bool was_nonblocking;   /* the connection's mode before the call */
    /* An error result whose meaning is known only when the command's
     * results end: 42P05 from PREPARE (usable unless it aborted a
     * transaction block), 26000 / 0A000 from EXECUTE (retried once). */
    PGresult *pending;
    PGresult *res;          /* the rows */
} shard;

typedef struct fanout {
    const dbont_query *q;
    const char *what;
    dbont_params p;
    shard *shards;
    size_t n;
    dbont_fanout_report *report;
    size_t nfailed;
    size_t first_failed;    /* lowest failed shard; n when none */
    dbont_error first_error;
} fanout;

static const char *query_name(const dbont_query *q)
{
    return q->name != NULL ? q->name : "query";
}

/* ---- recording failures ------------------------------------------------- */

/*
 * Records shard i's failure: the first one per shard counts.  The error
 * goes to the report and, when i is the lowest failed shard so far, to
 * the error the call will return.
 */
static void fail_with(fanout *f, size_t i, const dbont_error *e)
{
    shard *s = &f->shards[i];

    if (s->failed)
        return;
    s->failed = true;
    f->nfailed++;
    if (f->report != NULL) {
        f->report->shards[i].status = DBONT_ERROR;
        f->report->shards[i].error = *e;
    }
    if (i < f->first_failed) {
        f->first_failed = i;
        f->first_error = *e;
    }
}

/* A failure told by a result. */
static void fail_res(fanout *f, size_t i, const PGresult *res)
{
    dbont_error e;
    dbont_error_from_result(&e, f->shards[i].pg, res);
    fail_with(f, i, &e);
}

/* A failure libpq found on the connection (a send or flush refused): lost
 * when the connection is broken, else libpq's message as an internal
 * error. */
static void fail_conn(fanout *f, size_t i)
{
    PGconn *pg = f->shards[i].pg;
    const char *text = PQerrorMessage(pg);
    dbont_error e;

    dbont_error_set_trimmed(&e, PQstatus(pg) == CONNECTION_BAD ? CONNECTION_LOST : "XX000",
                            text[0] != '\0' ? text : "the connection is broken");
    fail_with(f, i, &e);
}

/*
 * A shard whose connection ended up broken failed by losing it, whatever
 * it was told first (a server that shuts down sends 57P01 "terminating
 * connection" before it closes): 08006, the message kept.
 */
static void mark_lost(fanout *f, size_t i)
{
    shard *s = &f->shards[i];

    if (!s->failed || PQstatus(s->pg) != CONNECTION_BAD)
        return;
    if (f->report != NULL)
        memcpy(f->report->shards[i].error.sqlstate, CONNECTION_LOST, sizeof CONNECTION_LOST);
    if (f->first_failed == i)
        memcpy(f->first_error.sqlstate, CONNECTION_LOST, sizeof CONNECTION_LOST);
}

static void finish(fanout *f, size_t i)
{
    shard *s = &f->shards[i];

    s->ph = DONE;
    PQclear(s->pending);
    s->pending = NULL;
    if (s->failed) {
        PQclear(s->res);
        s->res = NULL;
        mark_lost(f, i);
    }
}

/* ---- sending ------------------------------------------------------------- */

static void flush(fanout *f, size_t i)
{
    shard *s = &f->shards[i];
    int r = PQflush(s->pg);

    s->flushing = r > 0;
    if (r < 0)
        fail_conn(f, i);    /* the results, read next, end the command */
}

/* Synchronous steps (stmt.c's) run in blocking mode: PQexec must not
 * meet a socket it cannot write to. */
static void set_blocking(shard *s, bool blocking)
{
    PQsetnonblocking(s->pg, blocking ? 0 : 1);
}

static void send_execute(fanout *f, size_t i)
{
    shard *s = &f->shards[i];

    if (!PQsendQueryPrepared(s->pg, f->q->stmt->name, f->p.n, (const char *const *)f->p.values,
                             f->p.lengths, f->p.formats, 1)) {
        fail_conn(f, i);
        finish(f, i);
        return;
    }
    s->ph = EXECUTE;
    flush(f, i);
}

/* A connection that broke before the call: lost.  libpq's message has
 * piled up every line of how it broke; the first says why. */
static void fail_broken(fanout *f, size_t i)
{
    const char *text = PQerrorMessage(f->shards[i].pg);
    size_t len = strcspn(text, "\n");
    dbont_error e;

    dbont_error_set(&e, CONNECTION_LOST, "the connection is broken (it must be reopened): %.*s",
                    (int)len, text);
    fail_with(f, i, &e);
}

/* Sends what the shard needs first: the statement, or straight away the
 * query when the connection has it prepared. */
static void start(fanout *f, size_t i)
{
    shard *s = &f->shards[i];
    const dbont_stmt *stmt = f->q->stmt;
    dbont_error e;

    if (PQstatus(s->pg) == CONNECTION_BAD) {
        fail_broken(f, i);
        finish(f, i);
        return;
    }
    if (s->conn->registry_stale) {
        /* The server forgot statements (stmt.c): read back which it
         * still has, and prepare this one if need be, synchronously. */
        dbont_status st;
        set_blocking(s, true);
        st = dbont_stmt_prepare(s->conn, stmt, NULL, &e);
        set_blocking(s, false);
        if (st != DBONT_OK) {
            fail_with(f, i, &e);
            finish(f, i);
            return;
        }
    }
    if (dbont_registry_contains(&s->conn->prepared, stmt->id)) {
        send_execute(f, i);
        return;
    }
    /* Room first, so that a statement the server has prepared is never
     * left out of the registry (as stmt.c). */
    if (dbont_registry_reserve(&s->conn->prepared) != 0) {
        dbont_error_set(&e, "53200", "out of memory preparing %s", stmt->name);
        fail_with(f, i, &e);
        finish(f, i);
        return;
    }
    if (!PQsendPrepare(s->pg, stmt->name, stmt->sql, stmt->nparams, stmt->param_types)) {
        fail_conn(f, i);
        finish(f, i);
        return;
    }
    s->ph = PREPARE;
    flush(f, i);
}

/* ---- receiving ------------------------------------------------------------ */

static bool has_sqlstate(const PGresult *res, const char *sqlstate)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state != NULL && strcmp(state, sqlstate) == 0;
}

/* One result of the shard's current command. */
static void on_result(fanout *f, size_t i, PGresult *res)
{
    shard *s = &f->shards[i];
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

    if (s->ph == PREPARE) {
        if (!ok && s->pending == NULL && has_sqlstate(res, DUPLICATE_STATEMENT)) {
            s->pending = res;
            return;
        }
        if (!ok)
            fail_res(f, i, res);
    } else if (ok) {
        if (s->res == NULL && !s->failed && s->pending == NULL) {
            s->res = res;       /* one statement, one result; extras dropped */
            return;
        }
    } else if (!s->retried && s->pending == NULL && !s->failed &&
               (has_sqlstate(res, UNKNOWN_STATEMENT) || has_sqlstate(res, PLAN_CHANGED))) {
        s->pending = res;
        return;
    } else {
        fail_res(f, i, res);
    }
    PQclear(res);
}

/*
 * The shard's command has returned all its results (the server is
 * ready for the next one): go on with the query after preparing, retry
 * once after a forgotten statement or a changed plan, or be done.
 */
static void on_command_end(fanout *f, size_t i)
{
    shard *s = &f->shards[i];
    const dbont_stmt *stmt = f->q->stmt;
    dbont_error e;
    dbont_status repaired = DBONT_OK;

    if (s->ph == PREPARE) {
        if (!s->failed) {
            /* Prepared now, or before under the same name (42P05): the
             * statement is there unless that failure aborted the
             * transaction block around the call. */
            dbont_registry_add(&s->conn->prepared, stmt->id);
            if (s->pending != NULL && PQtransactionStatus(s->pg) == PQTRANS_INERROR)
                fail_res(f, i, s->pending);
        }
        PQclear(s->pending);
        s->pending = NULL;
        if (s->failed)
            finish(f, i);
        else
            send_execute(f, i);
        return;
    }
    if (s->pending != NULL) {
        s->retried = true;
        set_blocking(s, true);
        if (dbont_stmt_repair(s->conn, stmt, PQresultErrorField(s->pending, PG_DIAG_SQLSTATE), &e,
                              &repaired)) {
            set_blocking(s, false);
            if (repaired == DBONT_OK) {
                PQclear(s->pending);
                s->pending = NULL;
                start(f, i);
                return;
            }
            fail_with(f, i, &e);
        } else {
            set_blocking(s, false);
            fail_res(f, i, s->pending);
        }
    } else if (s->res == NULL && !s->failed) {
        dbont_error_set(&e, "XX000", "the server sent no result for %s", f->what);
        fail_with(f, i, &e);
    }
    finish(f, i);
}

/* Takes every result libpq has complete, without blocking. */
static void collect(fanout *f, size_t i)
{
    shard *s = &f->shards[i];

    while (s->ph != DONE && !PQisBusy(s->pg)) {
        PGresult *res = PQgetResult(s->pg);
        if (res == NULL)
            on_command_end(f, i);   /* may send the next command */
        else
            on_result(f, i, res);
    }
}

/* The shard's socket is ready (revents from poll). */
static void service(fanout *f, size_t i, short revents)
{
    shard *s = &f->shards[i];

    /* A failed read leaves the connection broken; libpq then reports it
     * as the command's results, which collect() takes. */
    if (revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL))
        PQconsumeInput(s->pg);
    if (s->flushing)
        flush(f, i);
    collect(f, i);
}

/* When poll() itself fails: every shard still running is failed and its
 * results are read in blocking mode, so the connections end idle. */
static void drain_all(fanout *f, const char *why)
{
    dbont_error e;
    size_t i;

    dbont_error_set(&e, "58030", "waiting for the shards failed: %s", why);
    for (i = 0; i < f->n; i++) {
        shard *s = &f->shards[i];
        PGresult *res;
        if (s->ph == DONE)
            continue;
        fail_with(f, i, &e);
        set_blocking(s, true);
        while ((res = PQgetResult(s->pg)) != NULL)
            PQclear(res);
        set_blocking(s, false);
        finish(f, i);
    }
}

/* Runs until every shard is DONE. */
static void wait_all(fanout *f)
{
    struct pollfd *fds = malloc(f->n * sizeof *fds);
    size_t *who = malloc(f->n * sizeof *who);
    size_t i, k;

    if (fds == NULL || who == NULL) {
        free(fds);
        free(who);
        drain_all(f, "out of memory");
        return;
    }
    for (;;) {
        /* Results libpq already holds, read with earlier input, would
         * never wake poll(): take them first. */
        for (i = 0; i < f->n; i++)
            if (f->shards[i].ph != DONE)
                collect(f, i);
        k = 0;
        for (i = 0; i < f->n; i++) {
            shard *s = &f->shards[i];
            int fd;
            if (s->ph == DONE)
                continue;
            fd = PQsocket(s->pg);
            if (fd < 0) {
                /* Busy without a socket: libpq cannot get out of that. */
                fail_conn(f, i);
                finish(f, i);
                continue;
            }
            fds[k].fd = fd;
            fds[k].events = (short)(POLLIN | (s->flushing ? POLLOUT : 0));
            fds[k].revents = 0;
            who[k++] = i;
        }
        if (k == 0)
            break;
        if (poll(fds, (nfds_t)k, -1) < 0) {
            if (errno == EINTR)
                continue;
            drain_all(f, strerror(errno));
            break;
        }
        for (i = 0; i < k; i++)
            if (fds[i].revents != 0)
                service(f, who[i], fds[i].revents);
    }
    free(fds);
    free(who);
}

/* ---- arguments ------------------------------------------------------------- */

/* The descriptor as query.c checks it, and its parameters there. */
static dbont_status check_descriptor(const dbont_query *q, const void *params, dbont_error *err)
{
    if (dbont_query_check(q, err) != DBONT_OK)
        return DBONT_ERROR;
    if (q->nparams > 0 && params == NULL)
        return dbont_error_set(err, "22023", "dbont_fanout_run: query %s takes parameters but params is NULL",
                               query_name(q));
    return DBONT_OK;
}

static int cmp_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (dbont_conn *const *)a, y = (uintptr_t) * (dbont_conn *const *)b;
    return (x > y) - (x < y);
}

/* Every shard has its own idle connection: two commands cannot share
 * one, and a connection busy with something else cannot take ours. */
static dbont_status check_conns(dbont_conn *const *conns, size_t n, dbont_error *err)
{
    dbont_conn **sorted;
    size_t i;

    for (i = 0; i < n; i++) {
        PGconn *pg = conns[i] != NULL ? conns[i]->pg : NULL;
        if (pg == NULL)
            return dbont_error_set(err, "22023", "dbont_fanout_run: conns[%zu] is NULL", i);
        if (PQpipelineStatus(pg) != PQ_PIPELINE_OFF)
            return dbont_error_set(err, "22023",
                                   "dbont_fanout_run: shard %zu's connection is in pipeline mode",
                                   i);
        if (PQtransactionStatus(pg) == PQTRANS_ACTIVE)
            return dbont_error_set(err, "22023",
                                   "dbont_fanout_run: shard %zu's connection is busy with "
                                   "another command",
                                   i);
    }
    if ((sorted = malloc(n * sizeof *sorted)) == NULL)
        return dbont_error_set(err, "53200", "dbont_fanout_run: out of memory");
    memcpy(sorted, conns, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_address);
    for (i = 1; i < n; i++) {
        if (sorted[i] == sorted[i - 1]) {
            free(sorted);
            return dbont_error_set(err, "22023",
                                   "dbont_fanout_run: two shards share one connection");
        }
    }
    free(sorted);
    return DBONT_OK;
}

static dbont_status check_args(dbont_conn *const *conns, size_t nshards, const dbont_query *q,
                               const void *params, const dbont_fanout_spec *spec, unsigned flags,
                               const dbont_fanout_report *report, dbont_error *err)
{
    if (conns == NULL || q == NULL || nshards == 0)
        return dbont_error_set(err, "22023",
                               "dbont_fanout_run: conns and q must not be NULL, nshards not 0");
    if ((flags & ~DBONT_FANOUT_PARTIAL) != 0)
        return dbont_error_set(err, "22023", "dbont_fanout_run: unknown flags 0x%x", flags);
    if ((flags & DBONT_FANOUT_PARTIAL) && report == NULL)
        return dbont_error_set(err, "22023",
                               "dbont_fanout_run: DBONT_FANOUT_PARTIAL needs a report, which "
                               "says which shards are missing");
    if (report != NULL && (report->shards == NULL || report->nshards < nshards))
        return dbont_error_set(err, "22023",
                               "dbont_fanout_run: the report has room for %zu shards, not %zu",
                               report->shards == NULL ? 0 : report->nshards, nshards);
    if (check_descriptor(q, params, err) != DBONT_OK || dbont_merge_check(q, spec, err) != DBONT_OK)
        return DBONT_ERROR;
    return check_conns(conns, nshards, err);
}

/* ---- the call ------------------------------------------------------------------- */

/* The error of a failed fan-out: the lowest failed shard's, named. */
static dbont_status failure(const fanout *f, dbont_error *err)
{
    const dbont_error *e = &f->first_error;
    char others[160];
    size_t i, len = 0;

    if (f->nfailed == 1)
        return dbont_error_set(err, e->sqlstate, "shard %zu: %s %s", f->first_failed, e->sqlstate,
                               e->message);
    /* Several: say which (the report has each one's error). */
    others[0] = '\0';
    for (i = f->first_failed + 1; i < f->n; i++) {
        int w;
        if (!f->shards[i].failed)
            continue;
        w = snprintf(others + len, sizeof others - len, ", %zu", i);
        if (w < 0 || (size_t)w >= sizeof others - len - 6) {
            memcpy(others + len, ", ...", 6);
            break;
        }
        len += (size_t)w;
    }
    return dbont_error_set(err, e->sqlstate, "%zu of %zu shards failed (%zu%s); shard %zu: %s %s",
                           f->nfailed, f->n, f->first_failed, others, f->first_failed, e->sqlstate,
                           e->message);
}

static void cleanup(fanout *f)
{
    size_t i;

    for (i = 0; i < f->n; i++) {
        PQclear(f->shards[i].res);
        PQclear(f->shards[i].pending);
    }
    free(f->shards);
    dbont_params_free(&f->p);
}

/* The rows of the shards that answered, merged. */
static dbont_status merge_rows(fanout *f, const dbont_fanout_spec *spec, dbont_result **out,
                               dbont_error *err)
{
    const PGresult **parts;
    dbont_status st;
    size_t i;

    if (f->q->ncolumns == 0 || out == NULL)
        return DBONT_OK;
    if ((parts = malloc(f->n * sizeof *parts)) == NULL)
        return dbont_error_set(err, "53200", "%s: out of memory merging the shards' rows", f->what);
    for (i = 0; i < f->n; i++)
        parts[i] = f->shards[i].res;
    st = dbont_merge(parts, f->n, f->q, spec, out, err);
    free(parts);
    return st;
}

dbont_status dbont_fanout_run(dbont_conn *const *conns, size_t nshards, const dbont_query *q,
                              const void *params, const dbont_fanout_spec *spec, unsigned flags,
                              dbont_result **out, dbont_fanout_report *report, dbont_error *err)
{
    fanout f;
    size_t i;
    dbont_status st;

    if (out != NULL)
        *out = NULL;
    if (check_args(conns, nshards, q, params, spec, flags, report, err) != DBONT_OK)
        return DBONT_ERROR;
    memset(&f, 0, sizeof f);
    f.q = q;
    f.what = query_name(q);
    f.n = nshards;
    f.report = report;
    f.first_failed = nshards;
    if (dbont_params_init(&f.p, q->nparams, f.what, err) != DBONT_OK)
        return DBONT_ERROR;
    if (dbont_query_gather(&f.p, q, params, err) != DBONT_OK) {
        dbont_params_free(&f.p);
        return DBONT_ERROR;
    }
    if ((f.shards = calloc(nshards, sizeof *f.shards)) == NULL) {
        dbont_params_free(&f.p);
        return dbont_error_set(err, "53200", "dbont_fanout_run: out of memory");
    }
    if (report != NULL) {
        report->nfailed = 0;
        for (i = 0; i < nshards; i++) {
            report->shards[i].status = DBONT_OK;
            dbont_error_clear(&report->shards[i].error);
            report->shards[i].rows = 0;
        }
    }
    for (i = 0; i < nshards; i++) {
        shard *s = &f.shards[i];
        s->conn = conns[i];
        s->pg = conns[i]->pg;
        s->was_nonblocking = PQisnonblocking(s->pg) != 0;
        set_blocking(s, false);
    }
    /* Everything is sent before anything is awaited. */
    for (i = 0; i < nshards; i++)
        start(&f, i);
    wait_all(&f);
    for (i = 0; i < nshards; i++) {
        shard *s = &f.shards[i];
        if (!s->was_nonblocking)
            set_blocking(s, true);
        if (report != NULL && s->res != NULL)
            report->shards[i].rows = (size_t)PQntuples(s->res);
    }
    if (report != NULL)
        report->nfailed = f.nfailed;

    /* Never a partial result unless asked for, and never an empty one
     * standing for "every shard failed". */
    if (f.nfailed > 0 && (!(flags & DBONT_FANOUT_PARTIAL) || f.nfailed == nshards))
        st = failure(&f, err);
    else
        st = merge_rows(&f, spec, out, err);
    cleanup(&f);
    return st;
}
