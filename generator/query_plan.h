/*
 * query_plan.h: a db:Query as the statement dbont-gen generates for it.
 *
 * The plan holds the SQL text (one SELECT, with '?' turned into $1..$n in
 * order: where, then having), where each ontology fragment sits in it (to
 * point server errors at the ontology), the parameters (C name, type) and
 * the result columns (name, type, nullability).  Types come from the
 * model when it can tell them (a parameter compared with a column, a
 * selected plain column); the rest from PostgreSQL (query_types.h) or its
 * recorded answer, the offline cache.
 *
 * Ownership: plans own their strings; qplans_free releases them.  They
 * point into the model, which must outlive them.
 */
#ifndef DBONT_GEN_QUERY_PLAN_H
#define DBONT_GEN_QUERY_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "model.h"
#include "sqltypes.h"

typedef enum qreturns { QR_MANY, QR_ONE, QR_NONE } qreturns;

typedef struct qparam {
    char *name;     /* C name of the parameter */
    sqltype type;
    bool known;     /* type known (from a column, an example value or the server) */
    dpos pos;       /* the fragment holding its '?' */
} qparam;

typedef struct qcolumn {
    char *name;     /* the result column's name (alias or column name) */
    char *c_name;   /* its C field name */
    char *c_flag;   /* stem of its NULL flag */
    sqltype type;
    bool known;     /* type known */
    bool not_null;
    bool plain;     /* a plain column of one of the query's tables */
    bool count;     /* a COUNT(...) aggregate: never NULL */
    dpos pos;       /* its db:select item */
    char *expr;     /* its expression as the SQL has it, without the alias
                     * ("users.email", "count(posts.id)") */
    const table *src_table; /* plain: the table and column it reads */
    size_t src_col;
} qcolumn;

/* Where an ontology fragment sits in the SQL text (byte offsets). */
typedef struct qfragment {
    size_t start, len;
    dpos pos;
} qfragment;

typedef struct qplan {
    const query *q;
    char *sql;
    unsigned long long hash; /* of sql: names the cache entry */
    qreturns returns;
    const table *row_table;  /* no db:select: the FROM table's row type */
    qparam *params;
    size_t nparams;
    qcolumn *cols;
    size_t ncols;
    qfragment *frags;
    size_t nfrags;
    size_t from_at;          /* sql's " FROM ...": where the select list ends */
    size_t tail_at;          /* sql's " ORDER BY ..." / " LIMIT ...", or its end:
                              * where what a fan-out rewrites begins */
    const table **nullable_tables; /* on the outer side of an outer join */
    size_t nnullable;
} qplan;

/* Plans every query of m (types from the model where it can tell them).
 * Reports problems at their ontology places and returns false. */
bool qplans_build(const model *m, diag *d, qplan **out, size_t *n);
void qplans_free(qplan *p, size_t n);

/* The ontology place for a 1-based character position in p's SQL (as
 * PostgreSQL reports it), or the query's place. */
dpos qplan_place(const qplan *p, size_t sql_position);

/* Applies db:resultNotNull / db:resultNullable and the COUNT rule to a
 * column whose nullability came from elsewhere. */
void qplan_apply_overrides(qplan *p);

#endif
