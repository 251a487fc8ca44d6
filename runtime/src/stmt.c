/*
 * stmt.c: lazy preparation and execution of prepared statements.
 *
 * Each connection remembers (in its registry) the ids of the statements it
 * has prepared, so each is prepared once.  Two things can make a prepared
 * statement fail where preparing it again would succeed, and both get one
 * retry:
 *
 * - The server forgot it (DEALLOCATE [ALL], DISCARD ALL, a pooler's reset
 *   query): 26000.  The registry is then read back from the server
 *   (pg_prepared_statements: one round trip, only after such an event), so
 *   that neither forgotten statements stay registered nor surviving ones
 *   get prepared twice (which fails with 42P05).
 *
 * - A migration changed the type of a column it returns, even compatibly
 *   (varchar(40) to varchar(80)): the server refuses to run the old plan
 *   ("cached plan must not change result type", 0A000) on every
 *   connection that prepared it before.  The statement is deallocated and
 *   prepared again; if the new result types differ from the generated
 *   code's, result.c reports that clearly (42804).
 *
 * Inside a transaction block no retry is possible: the failed call has
 * already aborted the block.  The error is reported, and the first call
 * after the rollback repairs the registry.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "error_internal.h"
#include "stmt_internal.h"

/* The statement is not prepared; it is prepared already; its plan's
 * result type changed. */
#define UNKNOWN_STATEMENT "26000"
#define DUPLICATE_STATEMENT "42P05"
#define PLAN_CHANGED "0A000"

#define NAME_PREFIX "dbont_"
#define NAME_PREFIX_LEN 6

static bool result_ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static bool has_sqlstate(const PGresult *res, const char *sqlstate)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state != NULL && strcmp(state, sqlstate) == 0;
}

static bool transaction_aborted(dbont_conn *conn)
{
    return PQtransactionStatus(conn->pg) == PQTRANS_INERROR;
}

/* ---- names ---------------------------------------------------------- */

/* Writes v in lower-case hex, at least min_digits digits; returns the end. */
static char *put_hex(char *p, uint64_t v, int min_digits)
{
    char digits[16];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v != 0 || n < min_digits);
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

/* "dbont_%016x_%x" of (insert_id, mask), written by hand: it runs on every
 * insert, and snprintf cost more than the rest of the name's use. */
void dbont_insert_name(char out[DBONT_INSERT_NAME_SIZE], uint64_t insert_id,
                       uint64_t mask)
{
    char *p = out;
    memcpy(p, NAME_PREFIX, NAME_PREFIX_LEN);
    p = put_hex(p + NAME_PREFIX_LEN, insert_id, 16);
    *p++ = '_';
    p = put_hex(p, mask, 1);
    *p = '\0';
}

/* A mix of both parts, so the variants of one table, and tables with
 * close ids, spread over the whole key range. */
uint64_t dbont_insert_key(uint64_t insert_id, uint64_t mask)
{
    return dbont_mix64(insert_id ^ dbont_mix64(mask ^ UINT64_C(0x9e3779b97f4a7c15)));
}

/* Reads 1..max lower-case hex digits; returns how many, 0 when none. */
static size_t read_hex(const char *s, size_t max, uint64_t *out)
{
    size_t n;
    uint64_t v = 0;
    for (n = 0; n < max; n++) {
        char c = s[n];
        if (c >= '0' && c <= '9')
            v = v << 4 | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v << 4 | (uint64_t)(c - 'a' + 10);
        else
            break;
    }
    *out = v;
    return n;
}

/* The registry key of a statement named by dbont ("dbont_<id>" as in
 * dbont/stmt.h, or an insert variant); false for any other name. */
static bool key_from_name(const char *name, uint64_t *key)
{
    const char *p = name + NAME_PREFIX_LEN;
    uint64_t id, mask;
    size_t n;

    if (strncmp(name, NAME_PREFIX, NAME_PREFIX_LEN) != 0 || read_hex(p, 16, &id) != 16)
        return false;
    p += 16;
    if (*p == '\0') {
        *key = id;
        return true;
    }
    if (*p != '_')
        return false;
    n = read_hex(p + 1, 16, &mask);
    if (n == 0 || p[1 + n] != '\0')
        return false;
    *key = dbont_insert_key(id, mask);
    return true;
}

/* ---- the registry against the server -------------------------------- */

/* Rebuilds the registry from the statements the server has. */
static dbont_status resync(dbont_conn *conn, dbont_error *err)
{
    PGresult *res = PQexec(conn->pg, "SELECT name FROM pg_prepared_statements "
                                     "WHERE name LIKE 'dbont\\_%'");
    int row, nrows;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        dbont_status status = dbont_error_from_result(err, conn->pg, res);
        PQclear(res);
        return status;
    }
    dbont_registry_clear(&conn->prepared);
    nrows = PQntuples(res);
    for (row = 0; row < nrows; row++) {
        uint64_t key;
        if (key_from_name(PQgetvalue(res, row, 0), &key) &&
            dbont_registry_add(&conn->prepared, key) != 0) {
            PQclear(res);
            dbont_registry_clear(&conn->prepared);
            return dbont_error_set(err, "53200", "out of memory reading prepared statements");
        }
    }
    PQclear(res);
    conn->registry_stale = false;
    return DBONT_OK;
}

/*
 * Prepares stmt and registers it.  Room in the registry is made first, so
 * that a statement prepared on the server is never left unregistered.  A
 * failed PQprepare registers nothing, unless it failed because the
 * statement exists (42P05); that one is usable at once when the failure
 * did not abort a transaction block.
 */
static dbont_status prepare(dbont_conn *conn, const dbont_stmt *stmt,
                            const dbont_sql_composer *composer,
                            dbont_error *err)
{
    const char *sql = stmt->sql;
    char *composed = NULL;
    PGresult *res;
    dbont_status status = DBONT_OK;

    if (dbont_registry_reserve(&conn->prepared) != 0)
        return dbont_error_set(err, "53200", "out of memory preparing %s", stmt->name);
    if (sql == NULL) {
        if (composer == NULL)
            return dbont_error_set(err, "22023", "statement %s has no SQL text",
                                   stmt->name);
        sql = composed = composer->compose(composer->ctx);
        if (composed == NULL)
            return dbont_error_set(err, "53200", "out of memory composing %s",
                                   stmt->name);
    }
    res = PQprepare(conn->pg, stmt->name, sql, stmt->nparams, stmt->param_types);
    free(composed);
    if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK) {
        dbont_registry_add(&conn->prepared, stmt->id);  /* room reserved above */
    } else if (res != NULL && has_sqlstate(res, DUPLICATE_STATEMENT)) {
        dbont_registry_add(&conn->prepared, stmt->id);
        if (transaction_aborted(conn))
            status = dbont_error_from_result(err, conn->pg, res);
    } else {
        status = dbont_error_from_result(err, conn->pg, res);
    }
    PQclear(res);
    return status;
}

/* Drops the server's copy of stmt, and ours. */
static dbont_status deallocate(dbont_conn *conn, const dbont_stmt *stmt,
                               dbont_error *err)
{
    static const char verb[] = "DEALLOCATE ";
    char *name = PQescapeIdentifier(conn->pg, stmt->name, strlen(stmt->name));
    char *sql = name != NULL ? malloc(sizeof verb + strlen(name)) : NULL;
    PGresult *res;
    dbont_status status = DBONT_OK;

    dbont_registry_remove(&conn->prepared, stmt->id);
    if (sql == NULL) {
        PQfreemem(name);
        return dbont_error_set(err, "53200", "out of memory deallocating %s", stmt->name);
    }
    memcpy(sql, verb, sizeof verb - 1);
    strcpy(sql + sizeof verb - 1, name);
    PQfreemem(name);
    res = PQexec(conn->pg, sql);
    free(sql);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
        status = dbont_error_from_result(err, conn->pg, res);
    PQclear(res);
    return status;
}

static PGresult *run(dbont_conn *conn, const dbont_stmt *stmt,
                     const char *const *values, const int *lengths,
                     const int *formats, int result_format)
{
    return PQexecPrepared(conn->pg, stmt->name, stmt->nparams, values, lengths,
                          formats, result_format);
}

/* ---- execution ------------------------------------------------------ */

/*
 * After a failed run: puts things right for one more try and returns true
 * (with *status saying whether putting right worked), or returns false
 * when the failure is final.
 */
bool dbont_stmt_repair(dbont_conn *conn, const dbont_stmt *stmt,
                       const char *sqlstate, dbont_error *err,
                       dbont_status *status)
{
    if (sqlstate == NULL)
        return false;
    if (strcmp(sqlstate, UNKNOWN_STATEMENT) == 0) {
        /* Whatever else the server forgot, this one is gone. */
        dbont_registry_remove(&conn->prepared, stmt->id);
        conn->registry_stale = true;
        if (transaction_aborted(conn))
            return false;
        *status = resync(conn, err);
        return true;
    }
    if (strcmp(sqlstate, PLAN_CHANGED) == 0 && !transaction_aborted(conn)) {
        *status = deallocate(conn, stmt, err);
        return true;
    }
    return false;
}

dbont_status dbont_stmt_prepare(dbont_conn *conn, const dbont_stmt *stmt,
                                const dbont_sql_composer *composer,
                                dbont_error *err)
{
    if (conn->registry_stale && !transaction_aborted(conn) &&
        resync(conn, err) != DBONT_OK)
        return DBONT_ERROR;
    if (!dbont_registry_contains(&conn->prepared, stmt->id) &&
        prepare(conn, stmt, composer, err) != DBONT_OK)
        return DBONT_ERROR;
    return DBONT_OK;
}

dbont_status dbont_stmt_exec_composed(dbont_conn *conn, const dbont_stmt *stmt,
                                      const dbont_sql_composer *composer,
                                      const char *const *values,
                                      const int *lengths, const int *formats,
                                      int result_format, PGresult **out,
                                      dbont_error *err)
{
    PGresult *res;
    dbont_status status = DBONT_OK;

    if (out != NULL)
        *out = NULL;
    if (conn == NULL || stmt == NULL || stmt->name == NULL)
        return dbont_error_set(err, "22023",
                               "dbont_stmt_exec: conn and stmt must not be NULL");
    if (dbont_stmt_prepare(conn, stmt, composer, err) != DBONT_OK)
        return DBONT_ERROR;

    res = run(conn, stmt, values, lengths, formats, result_format);
    if (res != NULL && !result_ok(res) &&
        dbont_stmt_repair(conn, stmt, PQresultErrorField(res, PG_DIAG_SQLSTATE), err,
                          &status)) {
        PQclear(res);
        if (status != DBONT_OK || prepare(conn, stmt, composer, err) != DBONT_OK)
            return DBONT_ERROR;
        res = run(conn, stmt, values, lengths, formats, result_format);
    }
    if (res == NULL || !result_ok(res)) {
        status = dbont_error_from_result(err, conn->pg, res);
        PQclear(res);
        return status;
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return DBONT_OK;
}

dbont_status dbont_stmt_exec(dbont_conn *conn, const dbont_stmt *stmt,
                             const char *const *values, const int *lengths,
                             const int *formats, int result_format,
                             PGresult **out, dbont_error *err)
{
    return dbont_stmt_exec_composed(conn, stmt, NULL, values, lengths, formats,
                                    result_format, out, err);
}
