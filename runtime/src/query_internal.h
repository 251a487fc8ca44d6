/*
 * query_internal.h: the steps of dbont_query_run, for the cache
 * (cache.c), which needs the parameters' bytes for its key and the raw
 * result for its stored form.  Internal to libdbont.
 */
#ifndef DBONT_QUERY_INTERNAL_H
#define DBONT_QUERY_INTERNAL_H

#include <libpq-fe.h>

#include "dbont/query.h"
#include "params.h"

/* Gathers q's parameters from the struct params into p (initialised for
 * q->nparams by the caller); text values point into params. */
dbont_status dbont_query_gather(dbont_params *p, const dbont_query *q, const void *params, dbont_error *err);

/* Decodes a successful result of q into *out (out NULL, or a query
 * without columns: dropped).  Takes ownership of res. */
dbont_status dbont_query_deliver(PGresult *res, const dbont_query *q, dbont_result **out, dbont_error *err);

/* Whether q's descriptor is whole and agrees with its statement (22023
 * saying what is wrong): each binary parameter is of exactly the type the
 * statement declares, which a generator bug would otherwise turn into a
 * confusing protocol error. */
dbont_status dbont_query_check(const dbont_query *q, dbont_error *err);

#endif
