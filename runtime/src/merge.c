/*
 * merge.c: the shards' rows of one query into one result (merge.h).
 *
 * Every input row is first given a view: per column a cell with the
 * value's bytes in its shard's PGresult, and the bytes comparisons read,
 * which are the same bytes except for numeric, whose decimal text is made
 * once here (decimal.h compares and adds texts).  Rows are then only
 * pointers to views: merging, grouping and sorting move pointers; values
 * made by combining (sums) live in the merge's arena.
 *
 * The rows kept become a dbont_result through result_internal.h's cells:
 * their bytes are copied into one block the result owns, and decoded like
 * any result.  Cells rather than a PGresult built with PQsetvalue because
 * the rows to keep are already cells (pointers and lengths) and some
 * values (sums) exist nowhere else: one sizing pass and one copy into one
 * allocation, where PQsetvalue would copy each value into libpq's own
 * blocks, one call each.  The shards' PGresults can then be cleared as
 * soon as the merge returns.
 */
#include <limits.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "decimal.h"
#include "error_internal.h"
#include "merge.h"
#include "merge_value.h"
#include "result_internal.h"

/* One value of a row. */
typedef struct mcell {
    const char *v;      /* its binary bytes; NULL for SQL NULL */
    size_t len;
    const char *key;    /* what comparisons read: v, or a numeric's text */
    size_t keylen;
} mcell;

/* A row is a pointer to its ncolumns cells. */
typedef const mcell *mrow;

/* ---- arena: memory freed all at once when the merge ends ---------------- */

typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
} chunk;

#define ALIGN_UP(n) (((n) + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t))
#define CHUNK_HEADER ALIGN_UP(sizeof(chunk))
#define CHUNK_MIN 16384

typedef struct arena {
    chunk *head;
} arena;

/* n bytes aligned for any type, or NULL when out of memory. */
static void *arena_alloc(arena *a, size_t n)
{
    chunk *c = a->head;
    size_t need = ALIGN_UP(n);

    if (need < n)
        return NULL;
    if (c == NULL || c->cap - c->used < need) {
        size_t cap = need > CHUNK_MIN ? need : CHUNK_MIN;
        if (cap > SIZE_MAX - CHUNK_HEADER || (c = malloc(CHUNK_HEADER + cap)) == NULL)
            return NULL;
        c->next = a->head;
        c->cap = cap;
        c->used = 0;
        a->head = c;
    }
    c->used += need;
    return (char *)c + CHUNK_HEADER + c->used - need;
}

static void arena_free(arena *a)
{
    while (a->head != NULL) {
        chunk *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/* ---- the merge's state ---------------------------------------------------- */

typedef struct merger {
    const dbont_query *q;
    const char *what;
    size_t ncols;
    const dbont_fanout_key *order;
    size_t norder;
    const dbont_fanout_agg *aggs;   /* NULL without aggregation */
    int64_t limit, offset;
    bool *keyed;                    /* per column: compared, so numeric needs its text */
    arena mem;
    dbont_error *err;
} merger;

static dbont_status out_of_memory(merger *m)
{
    return dbont_error_set(m->err, "53200", "%s: out of memory merging the shards' rows", m->what);
}

static dbont_type col_type(const merger *m, size_t col)
{
    return m->q->columns[col].type;
}

static const char *col_name(const merger *m, size_t col)
{
    return m->q->columns[col].name;
}

/* ---- the spec --------------------------------------------------------------- */

static const char *query_name(const dbont_query *q)
{
    return q->name != NULL ? q->name : "query";
}

static dbont_status check_keys(const dbont_query *q, const dbont_fanout_spec *spec,
                               dbont_error *err)
{
    const char *what = query_name(q);
    size_t i;

    if (spec->norder > 0 && spec->order == NULL)
        return dbont_error_set(err, "22023", "fan-out spec of %s: %zu sort keys but no array",
                               what, spec->norder);
    for (i = 0; i < spec->norder; i++) {
        size_t col = spec->order[i].column;
        if (col >= q->ncolumns)
            return dbont_error_set(err, "22023",
                                   "fan-out spec of %s: sort key %zu is column %zu, but the "
                                   "query has %zu columns",
                                   what, i + 1, col, q->ncolumns);
        if (!dbont_mval_comparable(q->columns[col].type))
            return dbont_error_set(err, "22023",
                                   "fan-out spec of %s: column %s is %s, which the merge "
                                   "cannot sort by",
                                   what, q->columns[col].name, dbont_type_name(q->columns[col].type));
    }
    return DBONT_OK;
}

static dbont_status check_aggs(const dbont_query *q, const dbont_fanout_spec *spec,
                               dbont_error *err)
{
    const char *what = query_name(q);
    size_t i;

    if (spec->aggs == NULL) {
        if (spec->naggs != 0)
            return dbont_error_set(err, "22023",
                                   "fan-out spec of %s: %zu aggregates but no array", what,
                                   spec->naggs);
        return DBONT_OK;
    }
    if (spec->naggs != q->ncolumns)
        return dbont_error_set(err, "22023",
                               "fan-out spec of %s: %zu aggregate entries for %zu columns", what,
                               spec->naggs, q->ncolumns);
    for (i = 0; i < spec->naggs; i++) {
        dbont_type type = q->columns[i].type;
        const char *name = q->columns[i].name, *problem = NULL;
        switch (spec->aggs[i]) {
        case DBONT_FANOUT_COUNT:
            if (type != DBONT_BIGINT)
                problem = "COUNT gives bigint";
            break;
        case DBONT_FANOUT_SUM:
            if (!dbont_mval_summable(type))
                problem = "SUM cannot add it";
            break;
        case DBONT_FANOUT_GROUP:
        case DBONT_FANOUT_MIN:
        case DBONT_FANOUT_MAX:
            if (!dbont_mval_comparable(type))
                problem = "the merge cannot compare it";
            break;
        default:
            return dbont_error_set(err, "22023",
                                   "fan-out spec of %s: column %s has unknown aggregate %d",
                                   what, name, (int)spec->aggs[i]);
        }
        if (problem != NULL)
            return dbont_error_set(err, "22023", "fan-out spec of %s: column %s is %s: %s",
                                   what, name, dbont_type_name(type), problem);
    }
    return DBONT_OK;
}

dbont_status dbont_merge_check(const dbont_query *q, const dbont_fanout_spec *spec,
                               dbont_error *err)
{
    if (q == NULL)
        return dbont_error_set(err, "22023", "dbont_merge_check: q must not be NULL");
    if (spec == NULL)
        return DBONT_OK;
    if (spec->limit < DBONT_FANOUT_NO_LIMIT || spec->offset < 0)
        return dbont_error_set(err, "22023",
                               "fan-out spec of %s: limit %lld and offset %lld (limit -1 for "
                               "none, offset 0 or more)",
                               query_name(q), (long long)spec->limit, (long long)spec->offset);
    if (check_keys(q, spec, err) != DBONT_OK || check_aggs(q, spec, err) != DBONT_OK)
        return DBONT_ERROR;
    return DBONT_OK;
}

/* ---- the shards' rows -------------------------------------------------------- */

/* A shard's result must have the query's columns, in binary. */
static dbont_status check_part(merger *m, const PGresult *res, size_t shard)
{
    size_t i;

    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return dbont_error_set(m->err, "22023", "%s: shard %zu's result has no rows to merge",
                               m->what, shard);
    if (PQnfields(res) < 0 || (size_t)PQnfields(res) != m->ncols)
        return dbont_error_set(m->err, "42804",
                               "%s: shard %zu's result has %d columns, the generated code "
                               "expects %zu",
                               m->what, shard, PQnfields(res), m->ncols);
    for (i = 0; i < m->ncols; i++) {
        if (PQftype(res, (int)i) != dbont_type_oid(col_type(m, i)))
            return dbont_error_set(m->err, "42804",
                                   "%s.%s: shard %zu's value has type oid %u, the generated "
                                   "code expects %s",
                                   m->what, col_name(m, i), shard, (unsigned)PQftype(res, (int)i),
                                   dbont_type_name(col_type(m, i)));
        if (PQfformat(res, (int)i) != 1)
            return dbont_error_set(m->err, "42804",
                                   "%s.%s: shard %zu's value came in text format; dbont reads "
                                   "results in binary",
                                   m->what, col_name(m, i), shard);
    }
    return DBONT_OK;
}

/* The decimal text of a binary numeric, in the arena. */
static dbont_status numeric_text(merger *m, mcell *c, size_t shard, size_t col)
{
    size_t n;
    char *text;

    if (dbont_numeric_to_text((const uint8_t *)c->v, c->len, NULL, &n) != DBONT_CODEC_OK)
        return dbont_error_set(m->err, "22P03", "%s.%s: shard %zu sent a malformed numeric",
                               m->what, col_name(m, col), shard);
    if ((text = arena_alloc(&m->mem, n + 1)) == NULL)
        return out_of_memory(m);
    dbont_numeric_to_text((const uint8_t *)c->v, c->len, text, &n);
    c->key = text;
    c->keylen = n;
    return DBONT_OK;
}

/* The views of a shard's rows, into cells (nrows * ncols). */
static dbont_status load_part(merger *m, const PGresult *res, size_t shard, mcell *cells)
{
    int row, nrows = PQntuples(res);
    size_t col;

    for (row = 0; row < nrows; row++) {
        for (col = 0; col < m->ncols; col++) {
            mcell *c = &cells[(size_t)row * m->ncols + col];
            dbont_type type = col_type(m, col);
            if (PQgetisnull(res, row, (int)col)) {
                memset(c, 0, sizeof *c);
                continue;
            }
            c->v = PQgetvalue(res, row, (int)col);
            c->len = (size_t)PQgetlength(res, row, (int)col);
            c->key = c->v;
            c->keylen = c->len;
            if (!dbont_mval_size_ok(type, c->len))
                return dbont_error_set(m->err, "22P03",
                                       "%s.%s: shard %zu sent a binary %s value of %zu bytes",
                                       m->what, col_name(m, col), shard, dbont_type_name(type),
                                       c->len);
            if (type == DBONT_NUMERIC && m->keyed[col] &&
                numeric_text(m, c, shard, col) != DBONT_OK)
                return DBONT_ERROR;
        }
    }
    return DBONT_OK;
}

/* ---- comparisons ---------------------------------------------------------------- */

/* By the spec's sort keys. */
static int cmp_order(const merger *m, mrow a, mrow b)
{
    size_t k;

    for (k = 0; k < m->norder; k++) {
        const dbont_fanout_key *key = &m->order[k];
        const mcell *x = &a[key->column], *y = &b[key->column];
        int c;
        if (x->v == NULL || y->v == NULL) {
            if (x->v == NULL && y->v == NULL)
                continue;
            /* The NULL one goes first exactly when NULLs go first. */
            return (x->v == NULL) == key->nulls_first ? -1 : 1;
        }
        c = dbont_mval_cmp(col_type(m, key->column), x->key, x->keylen, y->key, y->keylen);
        if (key->descending)
            c = -c;
        if (c != 0)
            return c;
    }
    return 0;
}

/* By the group key columns, NULLs equal to each other (after the values):
 * equal exactly when GROUP BY puts the rows in one group. */
static int cmp_group(const merger *m, mrow a, mrow b)
{
    size_t col;

    for (col = 0; col < m->ncols; col++) {
        const mcell *x = &a[col], *y = &b[col];
        int c;
        if (m->aggs[col] != DBONT_FANOUT_GROUP)
            continue;
        if (x->v == NULL || y->v == NULL) {
            if (x->v == NULL && y->v == NULL)
                continue;
            return x->v == NULL ? 1 : -1;
        }
        c = dbont_mval_cmp(col_type(m, col), x->key, x->keylen, y->key, y->keylen);
        if (c != 0)
            return c;
    }
    return 0;
}

typedef int (*row_cmp)(const merger *m, mrow a, mrow b);

/* A stable merge sort of rows (bottom-up, with one scratch array): stable
 * so that among equal rows the lower shard comes first, which makes the
 * output the same from run to run. */
static dbont_status sort_rows(merger *m, mrow *rows, size_t n, row_cmp cmp)
{
    mrow *tmp, *src = rows, *dst;
    size_t width;

    if (n < 2)
        return DBONT_OK;
    if (n > SIZE_MAX / sizeof *tmp || (tmp = malloc(n * sizeof *tmp)) == NULL)
        return out_of_memory(m);
    dst = tmp;
    for (width = 1; width < n; width *= 2) {
        size_t lo;
        for (lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = mid + width < n ? mid + width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = cmp(m, src[j], src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        mrow *swap = src;
        src = dst;
        dst = swap;
        if (width > n / 2)
            break;
    }
    if (src != rows)
        memcpy(rows, src, n * sizeof *rows);
    free(tmp);
    return DBONT_OK;
}

/* ---- the k-way merge ---------------------------------------------------------------- */

/* A shard's rows and how far the merge has read them. */
typedef struct part {
    const mcell *cells;
    size_t nrows, next;
    size_t shard;
} part;

static mrow part_row(const merger *m, const part *p)
{
    return p->cells + p->next * m->ncols;
}

/* Whether heap entry a comes before b: the row first in the spec's order,
 * the lower shard on a tie (parts are in shard order). */
static bool heap_before(const merger *m, const part *parts, size_t a, size_t b)
{
    int c = cmp_order(m, part_row(m, &parts[a]), part_row(m, &parts[b]));
    return c < 0 || (c == 0 && a < b);
}

static void sift_down(const merger *m, const part *parts, size_t *heap, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < n && heap_before(m, parts, heap[l], heap[best]))
            best = l;
        if (r < n && heap_before(m, parts, heap[r], heap[best]))
            best = r;
        if (best == i)
            return;
        size_t t = heap[i];
        heap[i] = heap[best];
        heap[best] = t;
        i = best;
    }
}

/*
 * Rows kept: those after the first offset, up to limit of them, with
 * *skipped counting the skipped ones.  Returns whether the row is kept;
 * *full becomes true when no more rows are wanted.
 */
static bool keep_row(const merger *m, size_t kept, int64_t *skipped, bool *full)
{
    if (*skipped < m->offset) {
        ++*skipped;
        return false;
    }
    if (m->limit >= 0 && kept >= (uint64_t)m->limit) {
        *full = true;
        return false;
    }
    if (m->limit >= 0 && kept + 1 >= (uint64_t)m->limit)
        *full = true;
    return true;
}

/*
 * The k-way merge: a binary heap of the shards that have rows left,
 * keyed by their current row; the least is taken, its shard moves on and
 * sinks back into place.  A shard whose next row sorts before the row it
 * just gave did not sort by the spec's keys (a text key without COLLATE
 * "C", a missing ORDER BY): that is refused rather than merged wrongly.
 */
static dbont_status kway_merge(merger *m, part *parts, size_t nparts, mrow *out, size_t *nout)
{
    size_t *heap, n = 0, i, kept = 0;
    int64_t skipped = 0;
    bool full = m->limit == 0;

    if ((heap = malloc((nparts > 0 ? nparts : 1) * sizeof *heap)) == NULL)
        return out_of_memory(m);
    for (i = 0; i < nparts; i++)
        if (parts[i].nrows > 0)
            heap[n++] = i;
    for (i = n / 2; i-- > 0;)
        sift_down(m, parts, heap, n, i);
    while (n > 0 && !full) {
        part *p = &parts[heap[0]];
        mrow row = part_row(m, p);
        if (keep_row(m, kept, &skipped, &full))
            out[kept++] = row;
        if (++p->next == p->nrows) {
            heap[0] = heap[--n];
        } else if (cmp_order(m, row, part_row(m, p)) > 0) {
            free(heap);
            return dbont_error_set(m->err, "XX000",
                                   "%s: shard %zu's rows are not in the order the merge expects "
                                   "(row %zu sorts before row %zu); the shard statement must "
                                   "ORDER BY the spec's keys, text keys COLLATE \"C\"",
                                   m->what, p->shard, p->next + 1, p->next);
        }
        sift_down(m, parts, heap, n, 0);
    }
    free(heap);
    *nout = kept;
    return DBONT_OK;
}

/* Rows in shard order, offset and limit applied. */
static void concatenate(const merger *m, const part *parts, size_t nparts, mrow *out,
                        size_t *nout)
{
    size_t i, r, kept = 0;
    int64_t skipped = 0;
    bool full = m->limit == 0;

    for (i = 0; i < nparts && !full; i++)
        for (r = 0; r < parts[i].nrows && !full; r++)
            if (keep_row(m, kept, &skipped, &full))
                out[kept++] = parts[i].cells + r * m->ncols;
    *nout = kept;
}

/* ---- combining groups ------------------------------------------------------------------ */

/* An 8-byte big-endian zero (a bigint 0) in the arena. */
static char *arena_copy(merger *m, const void *bytes, size_t n)
{
    char *p = arena_alloc(&m->mem, n + 1);
    if (p != NULL) {
        memcpy(p, bytes, n);
        p[n] = '\0';
    }
    return p;
}

static dbont_status sum_overflow(merger *m, size_t col)
{
    return dbont_error_set(m->err, "22003",
                           "%s.%s: the sum over the shards is out of range for type %s",
                           m->what, col_name(m, col), dbont_type_name(col_type(m, col)));
}

/* COUNT: the counts added as bigints. */
static dbont_status combine_count(merger *m, mrow *rows, size_t n, size_t col, mcell *out)
{
    static const char zero[8] = {0};
    char *acc = arena_copy(m, zero, 8);
    size_t i;

    if (acc == NULL)
        return out_of_memory(m);
    for (i = 0; i < n; i++) {
        const mcell *c = &rows[i][col];
        if (c->v != NULL && !dbont_mval_add_int(DBONT_BIGINT, acc, c->v, acc))
            return sum_overflow(m, col);
    }
    out->v = out->key = acc;
    out->len = out->keylen = 8;
    return DBONT_OK;
}

/* The binary numeric of a decimal text (a sum), in the arena. */
static dbont_status numeric_binary(merger *m, size_t col, const char *text, mcell *out)
{
    dbont_numeric_text parsed;
    dbont_codec_status st = dbont_numeric_parse(text, &parsed);
    size_t len;
    char *bin;

    if (st == DBONT_CODEC_OVERFLOW)
        return dbont_error_set(m->err, "22003",
                               "%s.%s: the sum over the shards overflows numeric format",
                               m->what, col_name(m, col));
    if (st != DBONT_CODEC_OK)
        return dbont_error_set(m->err, "XX000", "%s.%s: cannot encode the sum %s", m->what,
                               col_name(m, col), text);
    len = dbont_numeric_binary_size(&parsed);
    if ((bin = arena_alloc(&m->mem, len + 1)) == NULL)
        return out_of_memory(m);
    dbont_numeric_from_text(text, (uint8_t *)bin, len, &len);
    bin[len] = '\0';
    out->v = bin;
    out->len = len;
    return DBONT_OK;
}

/* SUM: the non-NULL values added in the column's type; NULL if none. */
static dbont_status combine_sum(merger *m, mrow *rows, size_t n, size_t col, mcell *out)
{
    dbont_type type = col_type(m, col);
    const mcell *first = NULL;
    char *acc = NULL;
    size_t i, acclen = 0;

    for (i = 0; i < n; i++) {
        const mcell *c = &rows[i][col];
        if (c->v == NULL)
            continue;
        if (first == NULL) {
            first = c;
            acc = (char *)c->key;   /* only read until replaced */
            acclen = c->keylen;
            continue;
        }
        if (type == DBONT_NUMERIC) {
            char *sum = arena_alloc(&m->mem, dbont_decimal_add_room(acclen, c->keylen));
            if (sum == NULL)
                return out_of_memory(m);
            acclen = dbont_decimal_add(acc, acclen, c->key, c->keylen, sum);
            acc = sum;
            continue;
        }
        if (acc == first->key && (acc = arena_copy(m, first->v, first->len)) == NULL)
            return out_of_memory(m);
        if (!(type == DBONT_REAL || type == DBONT_DOUBLE ? dbont_mval_add_float(type, acc, c->v, acc)
                                                         : dbont_mval_add_int(type, acc, c->v, acc)))
            return sum_overflow(m, col);
    }
    if (first == NULL) {
        memset(out, 0, sizeof *out);    /* every value NULL: the sum is NULL */
        return DBONT_OK;
    }
    if (type == DBONT_NUMERIC) {
        if (acc == first->key) {
            *out = *first;              /* one value: itself */
            return DBONT_OK;
        }
        out->key = acc;
        out->keylen = acclen;
        return numeric_binary(m, col, acc, out);
    }
    out->v = out->key = acc;
    out->len = out->keylen = first->len;
    return DBONT_OK;
}

/* MIN and MAX: the least or greatest non-NULL value; NULL if none. */
static void combine_extreme(merger *m, mrow *rows, size_t n, size_t col, bool max, mcell *out)
{
    dbont_type type = col_type(m, col);
    const mcell *best = NULL;
    size_t i;

    for (i = 0; i < n; i++) {
        const mcell *c = &rows[i][col];
        int cmp;
        if (c->v == NULL)
            continue;
        if (best == NULL) {
            best = c;
            continue;
        }
        cmp = dbont_mval_cmp(type, c->key, c->keylen, best->key, best->keylen);
        if (max ? cmp > 0 : cmp < 0)
            best = c;
    }
    if (best != NULL)
        *out = *best;
    else
        memset(out, 0, sizeof *out);
}

/* One group: rows[0 .. n-1], whose group keys are equal, as one row. */
static dbont_status combine_group(merger *m, mrow *rows, size_t n, mrow *combined)
{
    mcell *out = arena_alloc(&m->mem, m->ncols * sizeof *out);
    size_t col;

    if (out == NULL)
        return out_of_memory(m);
    for (col = 0; col < m->ncols; col++) {
        dbont_status st = DBONT_OK;
        switch (m->aggs[col]) {
        case DBONT_FANOUT_GROUP:
            out[col] = rows[0][col];    /* the lowest shard's spelling of the key */
            break;
        case DBONT_FANOUT_COUNT:
            st = combine_count(m, rows, n, col, &out[col]);
            break;
        case DBONT_FANOUT_SUM:
            st = combine_sum(m, rows, n, col, &out[col]);
            break;
        case DBONT_FANOUT_MIN:
        case DBONT_FANOUT_MAX:
            combine_extreme(m, rows, n, col, m->aggs[col] == DBONT_FANOUT_MAX, &out[col]);
            break;
        }
        if (st != DBONT_OK)
            return st;
    }
    *combined = out;
    return DBONT_OK;
}

/*
 * Aggregation: every row sorted by its group keys, each run of equal keys
 * combined into one row (in place, at the front of rows), then the
 * combined rows sorted by the spec's order and cut by offset and limit.
 */
static dbont_status aggregate(merger *m, mrow *rows, size_t n, size_t *nout)
{
    size_t start = 0, end, ngroups = 0, kept = 0, i;
    int64_t skipped = 0;
    bool full = m->limit == 0;

    if (sort_rows(m, rows, n, cmp_group) != DBONT_OK)
        return DBONT_ERROR;
    while (start < n) {
        mrow combined = NULL;
        for (end = start + 1; end < n && cmp_group(m, rows[start], rows[end]) == 0; end++)
            ;
        if (combine_group(m, rows + start, end - start, &combined) != DBONT_OK)
            return DBONT_ERROR;
        rows[ngroups++] = combined;     /* ngroups <= start: nothing unread is overwritten */
        start = end;
    }
    if (m->norder > 0 && sort_rows(m, rows, ngroups, cmp_order) != DBONT_OK)
        return DBONT_ERROR;
    for (i = 0; i < ngroups && !full; i++)
        if (keep_row(m, kept, &skipped, &full))
            rows[kept++] = rows[i];
    *nout = kept;
    return DBONT_OK;
}

/* ---- the result ------------------------------------------------------------------------ */

/* The kept rows copied into one block that the result owns, and decoded. */
static dbont_status emit(merger *m, const mrow *rows, size_t n, dbont_result **out)
{
    size_t ncells, total = 0, pos = 0, i, col;
    dbont_cell *cells;
    dbont_cells view;
    Oid *types;
    int *formats;
    char *block;
    dbont_status st;

    if (n > INT_MAX || m->ncols > INT_MAX || __builtin_mul_overflow(n, m->ncols, &ncells))
        return dbont_error_set(m->err, "54000", "%s: %zu merged rows are too many", m->what, n);
    for (i = 0; i < n; i++)
        for (col = 0; col < m->ncols; col++)
            if (rows[i][col].v != NULL &&
                __builtin_add_overflow(total, rows[i][col].len + 1, &total))
                return out_of_memory(m);
    types = arena_alloc(&m->mem, m->ncols * sizeof *types);
    formats = arena_alloc(&m->mem, m->ncols * sizeof *formats);
    cells = malloc(ncells > 0 ? ncells * sizeof *cells : 1);
    block = malloc(total > 0 ? total : 1);
    if (types == NULL || formats == NULL || cells == NULL || block == NULL) {
        free(cells);
        free(block);
        return out_of_memory(m);
    }
    for (col = 0; col < m->ncols; col++) {
        types[col] = dbont_type_oid(col_type(m, col));
        formats[col] = 1;
    }
    for (i = 0; i < n; i++) {
        for (col = 0; col < m->ncols; col++) {
            const mcell *c = &rows[i][col];
            dbont_cell *d = &cells[i * m->ncols + col];
            if (c->v == NULL) {
                d->value = NULL;
                d->len = -1;
                continue;
            }
            /* Each value followed by a NUL, as libpq's are: text is read
             * in place as a C string. */
            memcpy(block + pos, c->v, c->len);
            block[pos + c->len] = '\0';
            d->value = block + pos;
            d->len = (int)c->len;
            pos += c->len + 1;
        }
    }
    view.ncols = (int)m->ncols;
    view.nrows = (int)n;
    view.types = types;
    view.formats = formats;
    view.cells = cells;
    st = dbont_result_decode_cells(&view, block, m->what, m->q->columns, m->ncols,
                                   m->q->row_size, out, m->err);
    free(cells);
    return st;
}

/* ---- the whole merge ------------------------------------------------------------------- */

/* Which columns comparisons read (their numeric values need text). */
static void mark_keyed(merger *m)
{
    size_t i;
    for (i = 0; i < m->norder; i++)
        m->keyed[m->order[i].column] = true;
    for (i = 0; m->aggs != NULL && i < m->ncols; i++)
        if (m->aggs[i] != DBONT_FANOUT_COUNT)
            m->keyed[i] = true;
}

/* Views of every part's rows: parts[] and all their cells. */
static dbont_status load_parts(merger *m, const PGresult *const *res, size_t nparts,
                               part *parts, size_t *total_rows)
{
    size_t i, total = 0, ncells;
    mcell *cells;

    for (i = 0; i < nparts; i++) {
        parts[i].nrows = 0;
        parts[i].next = 0;
        parts[i].shard = i;
        parts[i].cells = NULL;
        if (res[i] == NULL)
            continue;
        if (check_part(m, res[i], i) != DBONT_OK)
            return DBONT_ERROR;
        parts[i].nrows = (size_t)PQntuples(res[i]);
        if (__builtin_add_overflow(total, parts[i].nrows, &total))
            return out_of_memory(m);
    }
    if (__builtin_mul_overflow(total, m->ncols, &ncells) || ncells > SIZE_MAX / sizeof *cells ||
        (cells = arena_alloc(&m->mem, ncells * sizeof *cells)) == NULL)
        return out_of_memory(m);
    for (i = 0; i < nparts; i++) {
        parts[i].cells = cells;
        if (res[i] != NULL && load_part(m, res[i], i, cells) != DBONT_OK)
            return DBONT_ERROR;
        cells += parts[i].nrows * m->ncols;
    }
    *total_rows = total;
    return DBONT_OK;
}

static dbont_status run(merger *m, const PGresult *const *res, size_t nparts, dbont_result **out)
{
    part *parts = arena_alloc(&m->mem, (nparts > 0 ? nparts : 1) * sizeof *parts);
    mrow *rows;
    size_t total = 0, nout = 0, i, r, k = 0;
    dbont_status st;

    if (parts == NULL || (m->keyed = arena_alloc(&m->mem, m->ncols * sizeof *m->keyed)) == NULL)
        return out_of_memory(m);
    memset(m->keyed, 0, m->ncols * sizeof *m->keyed);
    mark_keyed(m);
    if (load_parts(m, res, nparts, parts, &total) != DBONT_OK)
        return DBONT_ERROR;
    if (total > SIZE_MAX / sizeof *rows ||
        (rows = arena_alloc(&m->mem, (total > 0 ? total : 1) * sizeof *rows)) == NULL)
        return out_of_memory(m);

    if (m->aggs != NULL) {
        for (i = 0; i < nparts; i++)
            for (r = 0; r < parts[i].nrows; r++)
                rows[k++] = parts[i].cells + r * m->ncols;
        st = aggregate(m, rows, total, &nout);
    } else if (m->norder > 0) {
        st = kway_merge(m, parts, nparts, rows, &nout);
    } else {
        concatenate(m, parts, nparts, rows, &nout);
        st = DBONT_OK;
    }
    if (st != DBONT_OK)
        return st;
    return emit(m, rows, nout, out);
}

dbont_status dbont_merge(const PGresult *const *parts, size_t nparts, const dbont_query *q,
                         const dbont_fanout_spec *spec, dbont_result **out, dbont_error *err)
{
    merger m;
    dbont_status st;

    if (out != NULL)
        *out = NULL;
    if (q == NULL || out == NULL || (nparts > 0 && parts == NULL) || q->ncolumns == 0 ||
        q->columns == NULL)
        return dbont_error_set(err, "22023",
                               "dbont_merge: q (with result columns), parts and out must not "
                               "be NULL");
    memset(&m, 0, sizeof m);
    m.q = q;
    m.what = query_name(q);
    m.ncols = q->ncolumns;
    m.limit = DBONT_FANOUT_NO_LIMIT;
    m.err = err;
    if (spec != NULL) {
        m.order = spec->order;
        m.norder = spec->norder;
        m.aggs = spec->aggs;
        m.limit = spec->limit;
        m.offset = spec->offset;
    }
    st = run(&m, parts, nparts, out);
    arena_free(&m.mem);
    return st;
}
