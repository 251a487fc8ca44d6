/*
 * dbont/filter.h: optional filters over a table, the typed counterpart of
 * a fluent query builder (whereEmail(...).whereActive(true).limit(10)).
 *
 * dbont-gen writes, per table, a filter struct embedding a dbont_filter
 * and a row struct of values, plus one setter per column (equality, and IS
 * NULL for nullable columns), per related table ("has a related row") and
 * for ordering and limit.  dbont_table_find turns the filter into SQL made
 * only from the generator's fragments (quoted column names, the related
 * tables' EXISTS conditions): values always travel as parameters, never as
 * SQL text.  Each distinct combination (which columns, IS NULL or not,
 * which relations, which order) is one statement, prepared once per
 * connection and reused.
 *
 * Ownership: the filter is a caller-owned value; text values it points to
 * are only read during dbont_table_find.
 */
#ifndef DBONT_FILTER_H
#define DBONT_FILTER_H

#include <stdint.h>

#include "dbont/conn.h"
#include "dbont/result.h"
#include "dbont/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Filters apply to the first 64 columns and 64 relations of a table. */
#define DBONT_FILTER_MAX 64
/* At most this many ORDER BY keys. */
#define DBONT_FILTER_ORDER_MAX 4

typedef enum dbont_order { DBONT_ASC, DBONT_DESC } dbont_order;

typedef struct dbont_filter {
    uint64_t eq;        /* bit i: column i = its value in the values row */
    uint64_t is_null;   /* bit i: column i IS NULL */
    uint64_t related;   /* bit i: relation i has a related row */
    unsigned norder;
    uint16_t order_column[DBONT_FILTER_ORDER_MAX];
    dbont_order order_dir[DBONT_FILTER_ORDER_MAX];
    int64_t limit;      /* < 0: no limit */
    int64_t offset;     /* 0: none */
} dbont_filter;

/* An empty filter: every row, no order, no limit. */
#define DBONT_FILTER_INIT {0, 0, 0, 0, {0}, {DBONT_ASC}, -1, 0}

/*
 * Reads the rows of table that pass filter f; values is a row struct of
 * the table holding the values of the equality filters.  Without an order,
 * rows come in primary key order (no defined order without a key).
 */
dbont_status dbont_table_find(dbont_conn *conn, const dbont_table *table, const dbont_filter *f,
                              const void *values, dbont_result **out, dbont_error *err);

#ifdef __cplusplus
}
#endif

#endif
