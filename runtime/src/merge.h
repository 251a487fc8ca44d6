/*
 * merge.h: merging the rows that several shards returned for one query
 * into one dbont_result, as a dbont_fanout_spec says (dbont/fanout.h has
 * the semantics).  Pure logic over PGresults, no connection: fanout.c
 * runs the shards and hands their results here, and the unit tests hand
 * it results they build themselves.
 *
 * Internal to libdbont.
 */
#ifndef DBONT_MERGE_H
#define DBONT_MERGE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "dbont/fanout.h"

/*
 * Checks that spec fits q (NULL fits every query): sort keys and
 * aggregates name existing columns of types they can handle (COUNT a
 * bigint, SUM a number, the rest not jsonb), naggs is q->ncolumns, limit
 * is -1 or more, offset 0 or more.  Fills err (22023, naming the query)
 * and returns DBONT_ERROR otherwise.
 */
dbont_status dbont_merge_check(const dbont_query *q, const dbont_fanout_spec *spec,
                               dbont_error *err);

/*
 * Merges parts[0 .. nparts-1], the binary PGRES_TUPLES_OK results of
 * shards 0 .. nparts-1 (a NULL entry is a shard that gave nothing: it is
 * skipped), into *out, decoded into q's row struct.  spec must have
 * passed dbont_merge_check; NULL concatenates.  The parts are only read:
 * the result copies what it keeps, and the caller clears them.  q must
 * have result columns.  Errors name the query and, for a shard's own
 * data, the shard.
 */
dbont_status dbont_merge(const PGresult *const *parts, size_t nparts, const dbont_query *q,
                         const dbont_fanout_spec *spec, dbont_result **out, dbont_error *err);

#endif
