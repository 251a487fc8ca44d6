/*
 * scratch.h: a session on a check server, with the migrations applied in
 * a scratch schema inside a transaction that is always rolled back.
 *
 * --check-dsn (query_types.h) and --explain (explain.h) both ask a real
 * PostgreSQL about the queries against the schema the migrations create.
 * The session they share: connect, BEGIN, CREATE SCHEMA dbont_check_<pid>,
 * SET LOCAL search_path to it, run the migrations' SQL.  Nothing it does
 * survives scratch_close, which rolls the transaction back: the server's
 * own tables and data are never touched, whatever the session ran.
 */
#ifndef DBONT_GEN_SCRATCH_H
#define DBONT_GEN_SCRATCH_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "diag.h"

/* The session, ready for the caller's statements; NULL when the server
 * cannot be reached or refuses the migrations (reported through d, with
 * the SQLSTATE and message; option names the command-line option, e.g.
 * "--check-dsn", for the messages). */
PGconn *scratch_open(const char *dsn, const char *option, const char *schema_sql, diag *d);

/* Rolls everything back and disconnects (NULL is fine). */
void scratch_close(PGconn *pg);

/* Runs sql (no parameters, any number of statements); false when the
 * server refuses it, reported at where with its SQLSTATE and message. */
bool scratch_exec(PGconn *pg, const char *sql, diag *d, dpos where);

/* SQLSTATE and primary message of a failed result, "" when absent (the
 * connection's message then). */
const char *scratch_state(const PGresult *r);
const char *scratch_message(PGconn *pg, const PGresult *r);

#endif
