/*
 * query.c: running db:Query statements, one at a time or as a pipelined
 * batch.
 *
 * A query's parameters are read from the generated parameter struct by
 * the descriptor's types and offsets (params.c: binary where the type
 * allows, the caller's text for text, varchar, numeric and jsonb; a NULL
 * text pointer is SQL NULL), its rows decoded by result.c.
 *
 * Batches use libpq's pipeline mode.  Each item is sent as Bind/Execute
 * followed by its own Sync, so each item is its own implicit transaction:
 * a failing item aborts only itself, the server goes on with the next
 * one, and no item has to be sent again.  The price is a commit and a
 * flush per item on the server (at every Sync) and, with libpq before 17,
 * one write per item on the client (PQpipelineSync flushes).  One Sync per
 * window would be faster but would make the window one transaction: a
 * failure would abort the rest of the window and roll back the items
 * before it.  docs/runtime-queries.md has the measurements.  At most
 * `window` items are in flight: the window is filled, half of it is read,
 * and it is filled again, so memory stays bounded whatever n is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conn_internal.h"
#include "dbont/query.h"
#include "error_internal.h"
#include "params.h"
#include "query_internal.h"
#include "stmt_internal.h"

#define DEFAULT_WINDOW 64

/*
 * libpq 17 can queue a Sync without flushing (PQsendPipelineSync): the
 * items sent in one burst then leave in one write, flushed by run_pass.
 * libpq 14-16 flush at every PQpipelineSync.
 */
#ifdef LIBPQ_HAS_SEND_PIPELINE_SYNC
#define queue_sync PQsendPipelineSync
#else
#define queue_sync PQpipelineSync
#endif

/* The statement is not prepared; its plan's result type changed. */
#define UNKNOWN_STATEMENT "26000"
#define PLAN_CHANGED "0A000"
#define CONNECTION_LOST "08006"

/* ---- descriptor checks and parameters ------------------------------- */

static const char *query_name(const dbont_query *q)
{
    return q->name != NULL ? q->name : "query";
}

/*
 * The descriptor must be whole and agree with its statement: a value sent
 * in binary must go to a parameter of exactly its type (the server reads
 * the bytes as the declared type), which a generator bug would otherwise
 * turn into a confusing protocol error.
 */
dbont_status dbont_query_check(const dbont_query *q, dbont_error *err)
{
    const char *what = query_name(q);
    size_t i;

    if (q->stmt == NULL || q->stmt->name == NULL || q->stmt->sql == NULL)
        return dbont_error_set(err, "22023", "descriptor of query %s has no statement", what);
    if (q->stmt->nparams < 0 || (size_t)q->stmt->nparams != q->nparams)
        return dbont_error_set(err, "22023",
                               "descriptor of query %s: the statement takes %d parameters, "
                               "the descriptor describes %zu",
                               what, q->stmt->nparams, q->nparams);
    if (q->nparams > 0 && (q->param_types == NULL || q->param_offsets == NULL))
        return dbont_error_set(err, "22023",
                               "descriptor of query %s lacks its parameter types or offsets",
                               what);
    if (q->ncolumns > 0 && (q->columns == NULL || q->row_size == 0))
        return dbont_error_set(err, "22023",
                               "descriptor of query %s lacks its result columns or row size",
                               what);
    for (i = 0; i < q->nparams; i++) {
        dbont_type type = q->param_types[i];
        Oid declared;
        if (dbont_type_is_text(type))
            continue;   /* text input: the server parses it as the declared type */
        declared = q->stmt->param_types != NULL ? q->stmt->param_types[i] : 0;
        if (declared != dbont_type_oid(type))
            return dbont_error_set(err, "22023",
                                   "descriptor of query %s: parameter $%zu is sent as "
                                   "binary %s but the statement declares type oid %u",
                                   what, i + 1, dbont_type_name(type), (unsigned)declared);
    }
    return DBONT_OK;
}

/* The parameters of one parameter struct. */
dbont_status dbont_query_gather(dbont_params *p, const dbont_query *q, const void *params, dbont_error *err)
{
    size_t i;
    const char *base = params;

    dbont_params_reset(p);
    for (i = 0; i < q->nparams; i++) {
        dbont_type type = q->param_types[i];
        size_t off = q->param_offsets[i];
        if (dbont_field_is_null(type, base, off, DBONT_NO_FIELD))
            dbont_params_add_null(p, type);
        else if (dbont_params_add_value(p, type, base + off, query_name(q), NULL, err) !=
                 DBONT_OK)
            return DBONT_ERROR;
    }
    return DBONT_OK;
}

/* The rows of a successful result into *out (the type check of
 * dbont_result_decode applies), or dropped. */
dbont_status dbont_query_deliver(PGresult *res, const dbont_query *q, dbont_result **out,
                                 dbont_error *err)
{
    if (q->ncolumns == 0 || out == NULL) {
        PQclear(res);
        return DBONT_OK;
    }
    return dbont_result_decode(res, query_name(q), q->columns, q->ncolumns, q->row_size,
                               out, err);
}

/* ---- one query ------------------------------------------------------ */

dbont_status dbont_query_run(dbont_conn *conn, const dbont_query *q, const void *params,
                             dbont_result **out, dbont_error *err)
{
    dbont_params p;
    PGresult *res;
    dbont_status status;

    if (out != NULL)
        *out = NULL;
    if (conn == NULL || q == NULL)
        return dbont_error_set(err, "22023", "dbont_query_run: conn and q must not be NULL");
    if (dbont_query_check(q, err) != DBONT_OK)
        return DBONT_ERROR;
    if (q->nparams > 0 && params == NULL)
        return dbont_error_set(err, "22023",
                               "dbont_query_run: query %s takes parameters but params is NULL",
                               query_name(q));
    if (dbont_params_init(&p, q->nparams, query_name(q), err) != DBONT_OK)
        return DBONT_ERROR;
    status = dbont_query_gather(&p, q, params, err);
    if (status == DBONT_OK)
        status = dbont_stmt_exec(conn, q->stmt, (const char *const *)p.values, p.lengths,
                                 p.formats, 1, &res, err);
    dbont_params_free(&p);
    if (status != DBONT_OK)
        return status;
    return dbont_query_deliver(res, q, out, err);
}

/* ---- batches -------------------------------------------------------- */

/*
 * While a pass runs, an item that has been sent and not yet read is
 * marked with this status, which a finished item never has (items end as
 * DBONT_OK or DBONT_ERROR): the reader finds the next item to read by it,
 * and items that were not sent (a value that could not be encoded) are
 * skipped without any other bookkeeping.
 */
#define IN_FLIGHT DBONT_NOT_FOUND

typedef struct batch {
    dbont_conn *conn;
    const dbont_query *q;
    const char *params;
    size_t n;
    size_t window;
    dbont_batch_item *items;
    dbont_params p;
    bool lost;                  /* the connection failed */
    bool retry_pass;            /* the second pass, after a repair */
    dbont_error lost_error;     /* why, when lost */
} batch;

static void item_fail(dbont_batch_item *item, const dbont_error *why)
{
    item->status = DBONT_ERROR;
    item->error = *why;
    dbont_result_free(item->result);
    item->result = NULL;
}

static bool is_retryable(const dbont_batch_item *item)
{
    return item->status == DBONT_ERROR &&
           (strcmp(item->error.sqlstate, UNKNOWN_STATEMENT) == 0 ||
            strcmp(item->error.sqlstate, PLAN_CHANGED) == 0);
}

/* Whether this pass runs item i. */
static bool selected(const batch *b, size_t i)
{
    return !b->retry_pass || is_retryable(&b->items[i]);
}

static void note_lost(batch *b, const PGresult *res)
{
    if (b->lost)
        return;
    b->lost = true;
    dbont_error_from_result(&b->lost_error, b->conn->pg, res);
    if (PQstatus(b->conn->pg) == CONNECTION_BAD)
        memcpy(b->lost_error.sqlstate, CONNECTION_LOST, sizeof CONNECTION_LOST);
}

/* Sends item i: its query and a Sync.  Returns false when the connection
 * failed. */
static bool send_item(batch *b, size_t i)
{
    dbont_batch_item *item = &b->items[i];
    const dbont_query *q = b->q;
    PGconn *pg = b->conn->pg;

    const char *base = q->nparams > 0 ? b->params + i * q->params_size : NULL;

    if (dbont_query_gather(&b->p, q, base, &item->error) != DBONT_OK) {
        item->status = DBONT_ERROR;     /* never sent; the others go on */
        return true;
    }
    if (!PQsendQueryPrepared(pg, q->stmt->name, b->p.n, (const char *const *)b->p.values,
                             b->p.lengths, b->p.formats, 1)) {
        note_lost(b, NULL);
        item_fail(item, &b->lost_error);
        return false;
    }
    /* Sent, so its results must be read even if the Sync fails. */
    item->status = IN_FLIGHT;
    if (!queue_sync(pg)) {
        note_lost(b, NULL);
        return false;
    }
    return true;
}

/*
 * Reads one item's results: its result, the NULL that ends it, then the
 * PGRES_PIPELINE_SYNC of its Sync.  A lost connection shows as an error
 * result (or none) with the connection CONNECTION_BAD; then nothing more
 * is read.
 */
static void read_item(batch *b, dbont_batch_item *item)
{
    PGconn *pg = b->conn->pg;
    PGresult *res;
    bool have_result = false, ended = false;

    for (;;) {
        if (b->lost) {
            if (!have_result)
                item_fail(item, &b->lost_error);
            return;
        }
        res = PQgetResult(pg);
        if (res == NULL) {
            if (have_result && !ended) {
                ended = true;           /* the end of the query's results */
                continue;
            }
            /* Nothing where a result or the Sync should be. */
            note_lost(b, NULL);
            continue;
        }
        switch (PQresultStatus(res)) {
        case PGRES_PIPELINE_SYNC:
            PQclear(res);
            if (!have_result)
                item_fail(item, &(dbont_error){"XX000", "the server sent no result", false});
            return;
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
            if (have_result) {
                PQclear(res);   /* one statement, one result; ignore extras */
                break;
            }
            have_result = true;
            item->status = dbont_query_deliver(res, b->q, &item->result, &item->error);
            break;
        default:
            /* PGRES_FATAL_ERROR (or PGRES_PIPELINE_ABORTED, which one Sync
             * per item does not produce). */
            if (!have_result) {
                have_result = true;
                item->status = dbont_error_from_result(&item->error, pg, res);
            }
            if (PQstatus(pg) == CONNECTION_BAD)
                note_lost(b, res);
            PQclear(res);
            break;
        }
    }
}

/*
 * Leaves pipeline mode.  On the normal path everything has been read and
 * this succeeds at once; after a failure, what is left is read and
 * dropped first.  A dead connection stops returning results: then give up
 * (the connection is unusable anyway, and says so on the next call).
 */
static void leave_pipeline(PGconn *pg)
{
    int nulls = 0;

    /* Between the results of two queries there is one NULL; several in a
     * row mean nothing more will come. */
    while (!PQexitPipelineMode(pg)) {
        PGresult *res = PQgetResult(pg);
        if (res != NULL) {
            nulls = 0;
            PQclear(res);
        } else if (++nulls > 2) {
            break;
        }
    }
}

/* One pass over the selected items. */
static void run_pass(batch *b)
{
    PGconn *pg = b->conn->pg;
    dbont_error prep_err;
    size_t next_send = 0, next_read = 0, in_flight = 0, i, low;
    bool sent_ok;

    if (dbont_stmt_prepare(b->conn, b->q->stmt, NULL, &prep_err) != DBONT_OK) {
        /* Every item would fail the same way. */
        if (PQstatus(pg) == CONNECTION_BAD)
            note_lost(b, NULL);
        for (i = 0; i < b->n; i++)
            if (selected(b, i))
                item_fail(&b->items[i], &prep_err);
        return;
    }
    if (!PQenterPipelineMode(pg)) {
        note_lost(b, NULL);
        for (i = 0; i < b->n; i++)
            if (selected(b, i))
                item_fail(&b->items[i], &b->lost_error);
        return;
    }
    /* Refill when half the window has been read, so that results are read
     * and items sent in bursts rather than one of each in turn. */
    low = b->window / 2;
    for (;;) {
        if (in_flight <= low) {
            while (!b->lost && in_flight < b->window && next_send < b->n) {
                i = next_send++;
                if (!selected(b, i))
                    continue;
                sent_ok = send_item(b, i);
                if (b->items[i].status == IN_FLIGHT)
                    in_flight++;
                if (!sent_ok)
                    break;
            }
            if (!b->lost && PQflush(pg) < 0)    /* the burst (a no-op before libpq 17) */
                note_lost(b, NULL);
        }
        if (in_flight == 0)
            break;
        while (b->items[next_read].status != IN_FLIGHT)
            next_read++;
        read_item(b, &b->items[next_read]);
        next_read++;
        in_flight--;
    }
    leave_pipeline(pg);
    /* Items the connection failed before sending. */
    for (i = next_send; b->lost && i < b->n; i++)
        if (selected(b, i))
            item_fail(&b->items[i], &b->lost_error);
}

/* err for a batch in which some items failed: the first one's SQLSTATE. */
static dbont_status summarize(const batch *b, dbont_error *err)
{
    size_t i, failed = 0, first = 0;

    if (b->lost) {
        if (err != NULL)
            *err = b->lost_error;
        return DBONT_ERROR;
    }
    for (i = 0; i < b->n; i++) {
        if (b->items[i].status != DBONT_OK) {
            if (failed++ == 0)
                first = i;
        }
    }
    if (failed == 0)
        return DBONT_OK;
    return dbont_error_set(err, b->items[first].error.sqlstate,
                           "batch of %s: %zu of %zu items failed; item %zu: %s",
                           query_name(b->q), failed, b->n, first, b->items[first].error.message);
}

static dbont_status check_batch(dbont_conn *conn, const dbont_query *q, const void *params,
                                dbont_error *err)
{
    if (dbont_query_check(q, err) != DBONT_OK)
        return DBONT_ERROR;
    if (q->nparams > 0 && params == NULL)
        return dbont_error_set(err, "22023",
                               "dbont_query_batch: query %s takes parameters but params is NULL",
                               query_name(q));
    if (q->nparams > 0 && q->params_size == 0)
        return dbont_error_set(err, "22023", "descriptor of query %s has params_size 0",
                               query_name(q));
    if (PQpipelineStatus(conn->pg) != PQ_PIPELINE_OFF)
        return dbont_error_set(err, "22023",
                               "dbont_query_batch: the connection is already in pipeline mode");
    return DBONT_OK;
}

dbont_status dbont_query_batch(dbont_conn *conn, const dbont_query *q, const void *params,
                               size_t n, size_t window, dbont_batch_item *items,
                               dbont_error *err)
{
    batch b;
    dbont_error why;
    dbont_status status;
    size_t i, retry = 0;

    if (conn == NULL || q == NULL || (n > 0 && items == NULL))
        return dbont_error_set(err, "22023",
                               "dbont_query_batch: conn, q and items must not be NULL");
    for (i = 0; i < n; i++) {
        items[i].status = DBONT_ERROR;
        dbont_error_clear(&items[i].error);
        items[i].result = NULL;
    }
    if (n == 0)
        return DBONT_OK;
    if (check_batch(conn, q, params, &why) != DBONT_OK ||
        dbont_params_init(&b.p, q->nparams, query_name(q), &why) != DBONT_OK) {
        for (i = 0; i < n; i++)
            items[i].error = why;
        if (err != NULL)
            *err = why;
        return DBONT_ERROR;
    }
    b.conn = conn;
    b.q = q;
    b.params = params;
    b.n = n;
    b.window = window == 0 ? DEFAULT_WINDOW : window;
    b.items = items;
    b.lost = false;
    b.retry_pass = false;
    dbont_error_clear(&b.lost_error);

    run_pass(&b);

    /* The statement was forgotten by the server, or its plan's result
     * type changed (a migration): repair it as dbont_stmt_exec would and
     * run the items that failed for that once more.  Not inside a
     * transaction block that a failure has aborted. */
    for (i = 0; !b.lost && i < n; i++)
        if (is_retryable(&items[i]) && retry++ == 0)
            why = items[i].error;
    if (retry > 0 && PQtransactionStatus(conn->pg) == PQTRANS_IDLE) {
        dbont_status repaired = DBONT_OK;
        dbont_error repair_err;
        if (dbont_stmt_repair(conn, q->stmt, why.sqlstate, &repair_err, &repaired) &&
            repaired == DBONT_OK) {
            b.retry_pass = true;
            run_pass(&b);
        }
    }
    dbont_params_free(&b.p);
    status = summarize(&b, err);
    return status;
}

void dbont_batch_free(dbont_batch_item *items, size_t n)
{
    size_t i;
    if (items == NULL)
        return;
    for (i = 0; i < n; i++) {
        dbont_result_free(items[i].result);
        items[i].result = NULL;
    }
}
