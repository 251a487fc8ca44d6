/*
 * dbont/tenant.h: tenant sessions, the runtime half of row-level security.
 *
 * A tenant session is a transaction whose first statement sets the tenant:
 *
 *     BEGIN;
 *     SELECT set_config('<setting>', $1, true);   -- $1: the tenant, bound
 *     ... generated functions ...
 *     COMMIT;  (or ROLLBACK)
 *
 * The setting is transaction-local (the third argument, true): it ends
 * with the transaction, so it never carries over to the next user of a
 * pooled connection, and the tenant travels as a bind parameter, never as
 * SQL text.  dbont never uses a session-level SET (which can take no bind
 * parameter and outlives the request).  The migrations' tenant function
 * reads the setting fail-closed: unset (or the empty string a finished
 * transaction leaves) means no tenant, so nothing is visible and nothing
 * can be written (docs/multi-tenancy.md).
 *
 * Generated code wraps these with the ontology's setting name and the
 * tenant column's C type (<prefix>_tenant_begin / _end).
 */
#ifndef DBONT_TENANT_H
#define DBONT_TENANT_H

#include <stdbool.h>

#include "dbont/conn.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Begins a tenant session on conn: BEGIN, then set_config(setting, tenant,
 * true).  tenant is the tenant id's text form (e.g. a uuid's).  Fails with
 * 25001 when conn is already inside a transaction (a session must start
 * clean), 22023 for an empty setting or tenant.  On failure nothing is left
 * open.
 */
dbont_status dbont_tenant_begin(dbont_conn *conn, const char *setting, const char *tenant, dbont_error *err);

/*
 * Ends the tenant session: COMMIT when commit is true (a COMMIT that the
 * server turns into ROLLBACK, after an error, is reported as 40000), else
 * ROLLBACK.  The tenant setting ends with it.  When no transaction is
 * open (something ended it early), a commit fails with 25P01 and a
 * rollback does nothing.
 */
dbont_status dbont_tenant_end(dbont_conn *conn, bool commit, dbont_error *err);

#ifdef __cplusplus
}
#endif

#endif
