/*
 * explain.h: index advice (dbont-gen --explain DSN, docs/index-advice.md).
 *
 * Two kinds of warning, each at its ontology place:
 *
 *  - from PostgreSQL's plans: every query is EXPLAINed on the check server
 *    (in the scratch schema of scratch.h, with the migrations applied and
 *    the example parameters bound) with sequential scans disabled, so a
 *    scan that still reads a whole table means no index could serve it.
 *    A table read in full for a filter, or for a join (a db:join table),
 *    and a sort that a LIMIT waits for, are reported with the idx:Index
 *    that would serve them.  A multi-tenant model's queries are planned
 *    as the application role, under the tenant policy, as the generated
 *    code runs them; reading every row of a tenant counts as well.
 *
 *  - from the model alone: a foreign key that no index leads with (a
 *    primary key, a unique constraint or an idx:Index), which makes joins
 *    on it and the check that runs on each delete of a referenced row scan
 *    the referencing table.
 *
 * Warnings never fail the run; a server that cannot be reached, migrations
 * it refuses or a query it cannot EXPLAIN are errors.
 */
#ifndef DBONT_GEN_EXPLAIN_H
#define DBONT_GEN_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "diag.h"
#include "model.h"
#include "query_plan.h"

/* Both kinds of advice.  The queries are described on the server first
 * (their types, as --check-dsn would record them), then EXPLAINed;
 * schema_sql (the migrations) creates the tables.  Prints the summary,
 * "explain: N queries, M warnings", on report.  False on errors. */
bool explain_run(const char *dsn, const char *schema_sql, const model *m, qplan *plans, size_t n, diag *d,
                 FILE *report);

/* The foreign keys alone (no server): the number of warnings given. */
unsigned explain_foreign_keys(const model *m, diag *d);

#endif
