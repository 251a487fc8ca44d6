/*
 * merge_value.h: PostgreSQL's ordering and addition of single binary
 * values, for merging rows that come from several shards (merge.c).
 *
 * Values are the bytes of PostgreSQL's binary wire format (big-endian),
 * as libpq hands them out, except numeric, which is compared and added
 * in its decimal text form (decimal.h): merge.c converts each numeric
 * once.  NULLs never get here: where they go is the caller's decision
 * (NULLS FIRST / LAST, skipped by SUM, MIN and MAX).
 *
 * Orders, as the server's btree operators have them:
 *   smallint, integer, bigint, date, timestamp, timestamptz
 *                      signed integers (the infinities of date and the
 *                      timestamps are the extreme integers, so they sort
 *                      at the ends as in PostgreSQL)
 *   real, double       numeric order, -0 equal to 0, NaN equal to NaN and
 *                      above every other value (float8_cmp_internal)
 *   boolean            false < true
 *   uuid               the 16 bytes, unsigned, as memcmp (uuid_cmp)
 *   text, varchar      the bytes, unsigned, then the shorter first: the
 *                      "C" collation.  A server sorting text by a
 *                      language's rules would disagree, so fan-out
 *                      statements sort text keys COLLATE "C"
 *                      (dbont/fanout.h).
 *   bytea              the same as text (byteacmp)
 *   numeric            decimal.h: -Infinity < numbers < Infinity < NaN
 *   jsonb              not comparable here (its order is not that of its
 *                      text); the spec check refuses it
 *
 * Pure functions.  Internal to libdbont.
 */
#ifndef DBONT_MERGE_VALUE_H
#define DBONT_MERGE_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "dbont/table.h"

/* Whether values of type can be ordered and grouped by the merge. */
bool dbont_mval_comparable(dbont_type type);

/*
 * Whether len is a valid size for a binary value of type (the fixed
 * sizes: 2 for smallint, 16 for uuid, ...; any size for the others), so
 * that comparing it reads only its own bytes.
 */
bool dbont_mval_size_ok(dbont_type type, size_t len);

/* <0, 0, >0: a below, equal to, above b.  Both non-NULL, of a
 * comparable type, sizes checked (numeric: decimal texts). */
int dbont_mval_cmp(dbont_type type, const char *a, size_t alen, const char *b, size_t blen);

/* Whether SUM can combine values of type (smallint, integer, bigint,
 * real, double, numeric). */
bool dbont_mval_summable(dbont_type type);

/*
 * out = a + b for smallint, integer, bigint (big-endian, out has the
 * type's size).  False, and out untouched, when the sum does not fit
 * the type: PostgreSQL raises 22003 there rather than wrap around.
 */
bool dbont_mval_add_int(dbont_type type, const char *a, const char *b, char *out);

/*
 * out = a + b for real and double, in the type's own precision as
 * float4pl and float8pl do.  False when finite values overflow to an
 * infinity (22003 in PostgreSQL); infinities and NaN propagate.
 */
bool dbont_mval_add_float(dbont_type type, const char *a, const char *b, char *out);

#endif
