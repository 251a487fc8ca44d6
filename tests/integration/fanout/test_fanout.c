/*
 * test_fanout.c: dbont_fanout_run (dbont/fanout.h) against four real
 * PostgreSQL shards, started for this test by tests/pg/with-shards.sh
 * --private (dbont_add_shard_test), and an oracle: a database on shard
 * 0's server holding every row, which answers each query as one server
 * would.  The descriptors are written by hand the way dbont-gen will
 * write them: the shard statement (text sort keys COLLATE "C", LIMIT
 * limit + offset, no LIMIT with aggregates) and its merge spec.
 *
 *   data        3000 rows, each on the shard dbont_shard_of_int(id, 4)
 *               routes it to, and all of them in the oracle
 *   ordered     ORDER BY ... LIMIT/OFFSET on integers (NULLS FIRST and
 *               LAST), text COLLATE "C" both ways, numeric + double (NaN)
 *               + id, uuid, timestamptz: the fan-out equals the oracle
 *               row for row
 *   aggregates  COUNT/SUM/MIN/MAX without GROUP BY, and GROUP BY g (NULL
 *               group included), also ordered by an aggregate and cut
 *   parallel    a statement sleeping 0.3 s on every shard takes about
 *               0.3 s, not 1.2 s
 *   sql_errors  a relation missing on shard 3 (fails preparing) and a
 *               division by zero on one shard (fails executing): the
 *               error names the shard with its SQLSTATE; the other
 *               connections are idle and usable; PARTIAL merges the rest
 *   forgotten   DEALLOCATE ALL on one shard's connection: prepared again
 *               and retried, unnoticed by the caller
 *   shard_down  shard 2 stopped: the fan-out fails naming shard 2 with
 *               08xxx; PARTIAL returns the other shards' rows (equal to
 *               the oracle's without shard 2's) and reports shard 2;
 *               shards 0, 1, 3 still usable; shard 2 started again and
 *               its connection replaced by a new one (dbont has no
 *               public reconnect; the pool reopens broken connections):
 *               equal to the oracle again
 *   latency     median over 200 runs of a fan-out over 4 shards against
 *               the same query on the oracle (printed, not checked)
 *
 * Each check prints "ok   ..." or "FAIL file:line: ..."; the last line is
 * "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "dbont/dbont.h"

#define NSHARDS 4
#define NROWS 3000

/* ---- checks ------------------------------------------------------------------- */

static long passed, failed;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static bool check_at(bool ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    if (ok) {
        passed++;
        printf("ok   ");
    } else {
        failed++;
        printf("FAIL %s:%d: ", file, line);
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    return ok;
}

#define CHECK(ok, ...) check_at((ok), __FILE__, __LINE__, __VA_ARGS__)

static void section(const char *name)
{
    printf("# %s\n", name);
}

static void die(const char *what, const dbont_error *err)
{
    printf("FAIL %s: %s %s\n", what, err != NULL ? err->sqlstate : "", err != NULL ? err->message : "");
    printf("%ld passed, %ld failed\n", passed, failed + 1);
    exit(1);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- the servers --------------------------------------------------------------- */

static char *shard_dsn[NSHARDS];
static dbont_conn *conns[NSHARDS];
static dbont_conn *oracle;
static const char *shards_ctl;

static dbont_conn *connect_or_die(const char *dsn)
{
    dbont_error err;
    dbont_conn *c = dbont_connect(dsn, &err);
    if (c == NULL)
        die(dsn, &err);
    return c;
}

static void exec_or_die(dbont_conn *c, const char *sql)
{
    dbont_error err;
    if (dbont_exec(c, sql, &err) != DBONT_OK)
        die(sql, &err);
}

static bool ctl(const char *verb)
{
    char cmd[1024];
    int rc;
    snprintf(cmd, sizeof cmd, "%s %s >/dev/null", shards_ctl, verb);
    rc = system(cmd);
    if (rc != 0)
        printf("# '%s' failed (%d)\n", cmd, rc);
    return rc == 0;
}

/* ---- the data --------------------------------------------------------------------- */

/* Every column is a function of id, so that shards and oracle hold the
 * same rows whichever way they were inserted.  home is the shard the
 * row lives on (the oracle uses it to leave a shard out). */
static const char create_sql[] =
    "SET client_min_messages = warning;"
    "DROP TABLE IF EXISTS items;"
    "CREATE TABLE items (id bigint PRIMARY KEY, g integer, x integer, score numeric(12,3),"
    " name text, f double precision, ts timestamptz NOT NULL, u uuid NOT NULL,"
    " home integer NOT NULL)";

static const char insert_sql[] =
    "INSERT INTO items SELECT id,"
    " CASE WHEN id % 11 = 0 THEN NULL ELSE (id % 7)::int END,"
    " CASE WHEN id % 13 = 0 THEN NULL ELSE ((id * 7919) % 10007 - 5000)::int END,"
    " CASE WHEN id % 17 = 0 THEN NULL ELSE ((id * 37) % 1000 - 500) * 0.125 END,"
    " CASE WHEN id % 19 = 0 THEN NULL ELSE (ARRAY['alpha', 'Beta', 'gamma', 'Zeta',"
    "   '\xc3\xa9mile', '\xce\xa9mega', 'zeta', '_x'])[1 + id % 8] || '-' || id END,"
    " CASE WHEN id = 1777 THEN 'NaN'::float8 ELSE ((id % 400) * 0.25)::float8 END,"
    " timestamptz '2020-01-01 00:00:00+00' + id * interval '1 minute',"
    " md5(id::text)::uuid,"
    " $2::int"
    " FROM unnest($1::bigint[]) AS id";

/* Inserts the ids of shard `home` (as an array literal) into c. */
static void insert_rows(dbont_conn *c, const char *ids, int home)
{
    char home_text[16];
    const char *values[2] = {ids, home_text};
    PGresult *res;

    snprintf(home_text, sizeof home_text, "%d", home);
    res = PQexecParams(dbont_conn_pg(c), insert_sql, 2, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        printf("FAIL insert: %s\n", PQresultErrorMessage(res));
        exit(1);
    }
    PQclear(res);
}

static void load_data(void)
{
    static char ids[NSHARDS][NROWS * 6 + 8];
    size_t len[NSHARDS];
    int64_t id;
    int s, count[NSHARDS] = {0};

    for (s = 0; s < NSHARDS; s++) {
        ids[s][0] = '{';
        len[s] = 1;
    }
    for (id = 1; id <= NROWS; id++) {
        s = dbont_shard_of_int(id, NSHARDS);
        len[s] += (size_t)snprintf(ids[s] + len[s], sizeof ids[s] - len[s], "%s%lld",
                                   count[s] > 0 ? "," : "", (long long)id);
        count[s]++;
    }
    for (s = 0; s < NSHARDS; s++) {
        snprintf(ids[s] + len[s], sizeof ids[s] - len[s], "}");
        exec_or_die(conns[s], create_sql);
        insert_rows(conns[s], ids[s], s);
        insert_rows(oracle, ids[s], s);
        exec_or_die(conns[s], "ANALYZE items");
    }
    exec_or_die(oracle, "ANALYZE items");
    printf("# rows per shard: %d %d %d %d\n", count[0], count[1], count[2], count[3]);
}

/* ---- descriptors, as dbont-gen writes them ---------------------------------------------- */

/* One parameter struct for every query: the shard statements read p1 (or
 * nothing), the oracle's p1 and the shard to leave out (-1: none). */
typedef struct qparams {
    int64_t p1;
    int32_t exclude;
} qparams;

static const dbont_type p1_types[] = {DBONT_BIGINT, DBONT_INTEGER};
static const size_t p1_offsets[] = {offsetof(qparams, p1), offsetof(qparams, exclude)};
static const dbont_type ex_types[] = {DBONT_INTEGER};
static const size_t ex_offsets[] = {offsetof(qparams, exclude)};
static const Oid oid_int8[] = {20};
static const Oid oid_int8_int4[] = {20, 23};
static const Oid oid_int4[] = {23};

#define COL(cname, ctype, nn, row, f, nf) \
    {cname, cname, ctype, nn, offsetof(row, f), nf, DBONT_NO_FIELD, DBONT_NO_FIELD, DBONT_NO_FIELD}
#define NULLABLE(cname, ctype, row, f) COL(cname, ctype, false, row, f, offsetof(row, f##_is_null))
#define NOT_NULL(cname, ctype, row, f) COL(cname, ctype, true, row, f, DBONT_NO_FIELD)

#define STMT(id, sql, n, types) {UINT64_C(0x##id), "dbont_" #id, sql, n, types}

/* A shard statement with one bigint parameter, its oracle twin with the
 * shard to leave out as $2; or both without p1. */
#define QUERY_P1(name, stmt, oracle_stmt, cols, row)                                         \
    static const dbont_query name##_q = {#name, &stmt, 1, p1_types, p1_offsets,              \
                                         sizeof(qparams), sizeof cols / sizeof cols[0], cols, \
                                         sizeof(row)};                                        \
    static const dbont_query name##_oracle = {#name "_oracle", &oracle_stmt, 2, p1_types,    \
                                              p1_offsets, sizeof(qparams),                   \
                                              sizeof cols / sizeof cols[0], cols, sizeof(row)}
#define QUERY_P0(name, stmt, oracle_stmt, cols, row)                                          \
    static const dbont_query name##_q = {#name, &stmt, 0, NULL, NULL, sizeof(qparams),        \
                                         sizeof cols / sizeof cols[0], cols, sizeof(row)};    \
    static const dbont_query name##_oracle = {#name "_oracle", &oracle_stmt, 1, ex_types,     \
                                              ex_offsets, sizeof(qparams),                    \
                                              sizeof cols / sizeof cols[0], cols, sizeof(row)}

/* -- id, x ordered -- */
typedef struct idx_row {
    int64_t id;
    int32_t x;
    bool x_is_null;
} idx_row;
static const dbont_column idx_cols[] = {NOT_NULL("id", DBONT_BIGINT, idx_row, id),
                                        NULLABLE("x", DBONT_INTEGER, idx_row, x)};

/* ORDER BY x DESC NULLS LAST, id LIMIT 10 OFFSET 5: each shard LIMIT 15. */
static const dbont_stmt top_stmt = STMT(fa00000000000001,
    "SELECT id, x FROM items WHERE id >= $1 ORDER BY x DESC NULLS LAST, id LIMIT 15", 1, oid_int8);
static const dbont_stmt top_oracle_stmt = STMT(fa00000000000101,
    "SELECT id, x FROM items WHERE id >= $1 AND home <> $2"
    " ORDER BY x DESC NULLS LAST, id LIMIT 10 OFFSET 5", 2, oid_int8_int4);
QUERY_P1(top, top_stmt, top_oracle_stmt, idx_cols, idx_row);
static const dbont_fanout_key top_order[] = {{1, true, false}, {0, false, false}};
static const dbont_fanout_spec top_spec = {top_order, 2, 10, 5, NULL, 0};

/* ORDER BY x DESC (NULLS FIRST, PostgreSQL's default for DESC), id LIMIT 10
 * over ids 1..60, whose x is NULL for 13, 26, 39 and 52. */
static const dbont_stmt nulls_stmt = STMT(fa00000000000002,
    "SELECT id, x FROM items WHERE id <= $1 ORDER BY x DESC, id LIMIT 10", 1, oid_int8);
static const dbont_stmt nulls_oracle_stmt = STMT(fa00000000000102,
    "SELECT id, x FROM items WHERE id <= $1 AND home <> $2 ORDER BY x DESC, id LIMIT 10", 2,
    oid_int8_int4);
QUERY_P1(nulls, nulls_stmt, nulls_oracle_stmt, idx_cols, idx_row);
static const dbont_fanout_key nulls_order[] = {{1, true, true}, {0, false, false}};
static const dbont_fanout_spec nulls_spec = {nulls_order, 2, 10, 0, NULL, 0};

/* -- id, name ordered bytewise -- */
typedef struct name_row {
    int64_t id;
    const char *name;
    bool name_is_null;
} name_row;
static const dbont_column name_cols[] = {NOT_NULL("id", DBONT_BIGINT, name_row, id),
                                         NULLABLE("name", DBONT_TEXT, name_row, name)};

static const dbont_stmt name_desc_stmt = STMT(fa00000000000003,
    "SELECT id, name FROM items ORDER BY name COLLATE \"C\" DESC NULLS LAST, id LIMIT 10", 0, NULL);
static const dbont_stmt name_desc_oracle_stmt = STMT(fa00000000000103,
    "SELECT id, name FROM items WHERE home <> $1"
    " ORDER BY name COLLATE \"C\" DESC NULLS LAST, id LIMIT 10", 1, oid_int4);
QUERY_P0(name_desc, name_desc_stmt, name_desc_oracle_stmt, name_cols, name_row);
static const dbont_fanout_key name_desc_order[] = {{1, true, false}, {0, false, false}};
static const dbont_fanout_spec name_desc_spec = {name_desc_order, 2, 10, 0, NULL, 0};

static const dbont_stmt name_asc_stmt = STMT(fa00000000000004,
    "SELECT id, name FROM items ORDER BY name COLLATE \"C\", id LIMIT 10", 0, NULL);
static const dbont_stmt name_asc_oracle_stmt = STMT(fa00000000000104,
    "SELECT id, name FROM items WHERE home <> $1 ORDER BY name COLLATE \"C\", id LIMIT 10", 1,
    oid_int4);
QUERY_P0(name_asc, name_asc_stmt, name_asc_oracle_stmt, name_cols, name_row);
static const dbont_fanout_key name_asc_order[] = {{1, false, false}, {0, false, false}};
static const dbont_fanout_spec name_asc_spec = {name_asc_order, 2, 10, 0, NULL, 0};

/* -- numeric, double, uuid, timestamptz -- */
typedef struct mix_row {
    int64_t id;
    const char *score;
    bool score_is_null;
    double f;
    bool f_is_null;
    dbont_uuid u;
    dbont_timestamp ts;
} mix_row;
static const dbont_column mix_cols[] = {
    NOT_NULL("id", DBONT_BIGINT, mix_row, id), NULLABLE("score", DBONT_NUMERIC, mix_row, score),
    NULLABLE("f", DBONT_DOUBLE, mix_row, f), NOT_NULL("u", DBONT_UUID, mix_row, u),
    NOT_NULL("ts", DBONT_TIMESTAMPTZ, mix_row, ts)};

/* score ASC NULLS FIRST, f DESC (NaN first), id: 17 NULL scores, then the
 * lowest score's rows by f. */
static const dbont_stmt mix_stmt = STMT(fa00000000000005,
    "SELECT id, score, f, u, ts FROM items ORDER BY score NULLS FIRST, f DESC, id LIMIT 200", 0,
    NULL);
static const dbont_stmt mix_oracle_stmt = STMT(fa00000000000105,
    "SELECT id, score, f, u, ts FROM items WHERE home <> $1"
    " ORDER BY score NULLS FIRST, f DESC, id LIMIT 180 OFFSET 20", 1, oid_int4);
QUERY_P0(mix, mix_stmt, mix_oracle_stmt, mix_cols, mix_row);
static const dbont_fanout_key mix_order[] = {{1, false, true}, {2, true, true}, {0, false, false}};
static const dbont_fanout_spec mix_spec = {mix_order, 3, 180, 20, NULL, 0};

static const dbont_stmt uuid_stmt = STMT(fa00000000000006,
    "SELECT id, score, f, u, ts FROM items ORDER BY u DESC LIMIT 7", 0, NULL);
static const dbont_stmt uuid_oracle_stmt = STMT(fa00000000000106,
    "SELECT id, score, f, u, ts FROM items WHERE home <> $1 ORDER BY u DESC LIMIT 7", 1, oid_int4);
QUERY_P0(uuids, uuid_stmt, uuid_oracle_stmt, mix_cols, mix_row);
static const dbont_fanout_key uuid_order[] = {{3, true, true}};
static const dbont_fanout_spec uuid_spec = {uuid_order, 1, 7, 0, NULL, 0};

static const dbont_stmt ts_stmt = STMT(fa00000000000007,
    "SELECT id, score, f, u, ts FROM items WHERE id >= $1 ORDER BY ts LIMIT 9", 1, oid_int8);
static const dbont_stmt ts_oracle_stmt = STMT(fa00000000000107,
    "SELECT id, score, f, u, ts FROM items WHERE id >= $1 AND home <> $2 ORDER BY ts LIMIT 5"
    " OFFSET 4", 2, oid_int8_int4);
QUERY_P1(stamps, ts_stmt, ts_oracle_stmt, mix_cols, mix_row);
static const dbont_fanout_key ts_order[] = {{4, false, false}};
static const dbont_fanout_spec ts_spec = {ts_order, 1, 5, 4, NULL, 0};

/* -- aggregates without GROUP BY -- */
typedef struct totals_row {
    int64_t n;
    int64_t sum_x;
    bool sum_x_is_null;
    const char *sum_score;
    bool sum_score_is_null;
    const char *sum_id;
    bool sum_id_is_null;
    const char *min_name;
    bool min_name_is_null;
    const char *max_name;
    bool max_name_is_null;
    double min_f;
    bool min_f_is_null;
    double max_f;
    bool max_f_is_null;
    dbont_timestamp min_ts;
    bool min_ts_is_null;
    dbont_timestamp max_ts;
    bool max_ts_is_null;
    int64_t n_x;
} totals_row;
static const dbont_column totals_cols[] = {
    NOT_NULL("n", DBONT_BIGINT, totals_row, n),
    NULLABLE("sum_x", DBONT_BIGINT, totals_row, sum_x),
    NULLABLE("sum_score", DBONT_NUMERIC, totals_row, sum_score),
    NULLABLE("sum_id", DBONT_NUMERIC, totals_row, sum_id),
    NULLABLE("min_name", DBONT_TEXT, totals_row, min_name),
    NULLABLE("max_name", DBONT_TEXT, totals_row, max_name),
    NULLABLE("min_f", DBONT_DOUBLE, totals_row, min_f),
    NULLABLE("max_f", DBONT_DOUBLE, totals_row, max_f),
    NULLABLE("min_ts", DBONT_TIMESTAMPTZ, totals_row, min_ts),
    NULLABLE("max_ts", DBONT_TIMESTAMPTZ, totals_row, max_ts),
    NOT_NULL("n_x", DBONT_BIGINT, totals_row, n_x)};
#define TOTALS_SELECT                                                                        \
    "SELECT count(*), sum(x), sum(score), sum(id), min(name COLLATE \"C\"),"                \
    " max(name COLLATE \"C\"), min(f), max(f), min(ts), max(ts), count(x) FROM items"
static const dbont_stmt totals_stmt = STMT(fa00000000000008, TOTALS_SELECT, 0, NULL);
static const dbont_stmt totals_oracle_stmt = STMT(fa00000000000108,
    TOTALS_SELECT " WHERE home <> $1", 1, oid_int4);
QUERY_P0(totals, totals_stmt, totals_oracle_stmt, totals_cols, totals_row);
static const dbont_fanout_agg totals_aggs[] = {
    DBONT_FANOUT_COUNT, DBONT_FANOUT_SUM, DBONT_FANOUT_SUM, DBONT_FANOUT_SUM,
    DBONT_FANOUT_MIN,   DBONT_FANOUT_MAX, DBONT_FANOUT_MIN, DBONT_FANOUT_MAX,
    DBONT_FANOUT_MIN,   DBONT_FANOUT_MAX, DBONT_FANOUT_COUNT};
static const dbont_fanout_spec totals_spec = {NULL, 0, DBONT_FANOUT_NO_LIMIT, 0, totals_aggs, 11};

/* -- GROUP BY g -- */
typedef struct group_row {
    int32_t g;
    bool g_is_null;
    int64_t n;
    int64_t sum_x;
    bool sum_x_is_null;
    const char *sum_score;
    bool sum_score_is_null;
    int32_t min_x;
    bool min_x_is_null;
    const char *max_name;
    bool max_name_is_null;
} group_row;
static const dbont_column group_cols[] = {
    NULLABLE("g", DBONT_INTEGER, group_row, g), NOT_NULL("n", DBONT_BIGINT, group_row, n),
    NULLABLE("sum_x", DBONT_BIGINT, group_row, sum_x),
    NULLABLE("sum_score", DBONT_NUMERIC, group_row, sum_score),
    NULLABLE("min_x", DBONT_INTEGER, group_row, min_x),
    NULLABLE("max_name", DBONT_TEXT, group_row, max_name)};
#define GROUP_SELECT \
    "SELECT g, count(*), sum(x), sum(score), min(x), max(name COLLATE \"C\") FROM items"
/* With aggregates each shard returns all its groups: no LIMIT, no ORDER BY. */
static const dbont_stmt groups_stmt = STMT(fa00000000000009, GROUP_SELECT " GROUP BY g", 0, NULL);
static const dbont_stmt groups_oracle_stmt = STMT(fa00000000000109,
    GROUP_SELECT " WHERE home <> $1 GROUP BY g ORDER BY g", 1, oid_int4);
QUERY_P0(groups, groups_stmt, groups_oracle_stmt, group_cols, group_row);
static const dbont_fanout_agg group_aggs[] = {DBONT_FANOUT_GROUP, DBONT_FANOUT_COUNT,
                                              DBONT_FANOUT_SUM,   DBONT_FANOUT_SUM,
                                              DBONT_FANOUT_MIN,   DBONT_FANOUT_MAX};
static const dbont_fanout_spec groups_spec = {NULL, 0, DBONT_FANOUT_NO_LIMIT, 0, group_aggs, 6};

/* The same groups ordered by sum(x) DESC, g, LIMIT 3 OFFSET 1. */
static const dbont_stmt groups_top_oracle_stmt = STMT(fa0000000000010a,
    GROUP_SELECT " WHERE home <> $1 GROUP BY g ORDER BY 3 DESC NULLS LAST, 1 LIMIT 3 OFFSET 1", 1,
    oid_int4);
QUERY_P0(groups_top, groups_stmt, groups_top_oracle_stmt, group_cols, group_row);
static const dbont_fanout_key groups_top_order[] = {{2, true, false}, {0, false, false}};
static const dbont_fanout_spec groups_top_spec = {groups_top_order, 2, 3, 1, group_aggs, 6};

/* -- one integer: sleeping, failing -- */
typedef struct one_row {
    int32_t v;
    bool v_is_null;
} one_row;
static const dbont_column one_cols[] = {NULLABLE("v", DBONT_INTEGER, one_row, v)};

static const dbont_stmt sleep_stmt = STMT(fa0000000000000a,
    "SELECT 1::int4 FROM pg_sleep(0.3)", 0, NULL);
static const dbont_query sleep_q = {"sleepy", &sleep_stmt, 0, NULL, NULL, 0, 1, one_cols,
                                    sizeof(one_row)};

/* Divides by zero on the shard holding id $1, returns 1 elsewhere. */
static const dbont_stmt divide_stmt = STMT(fa0000000000000b,
    "SELECT (1 / (1 - (SELECT count(*) FROM items WHERE id = $1)))::int4", 1, oid_int8);
static const dbont_query divide_q = {"divide", &divide_stmt, 1, p1_types, p1_offsets,
                                     sizeof(qparams), 1, one_cols, sizeof(one_row)};

/* A relation that only some shards have. */
static const dbont_stmt partial_table_stmt = STMT(fa0000000000000c,
    "SELECT v FROM only_some", 0, NULL);
static const dbont_query partial_table_q = {"only_some", &partial_table_stmt, 0, NULL, NULL, 0, 1,
                                            one_cols, sizeof(one_row)};

/* ---- comparing results --------------------------------------------------------------------- */

/* A field as text, the same for equal values (-0 as 0, every NaN "NaN"). */
static void field_text(const dbont_column *c, const char *row, char *out, size_t n)
{
    const char *p = row + c->row_offset;
    bool is_null = false;

    if (c->row_null_offset != DBONT_NO_FIELD)
        memcpy(&is_null, row + c->row_null_offset, sizeof is_null);
    if (is_null) {
        snprintf(out, n, "NULL");
        return;
    }
    switch (c->type) {
    case DBONT_INTEGER: {
        int32_t v;
        memcpy(&v, p, sizeof v);
        snprintf(out, n, "%d", (int)v);
        break;
    }
    case DBONT_BIGINT:
    case DBONT_TIMESTAMPTZ: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        snprintf(out, n, "%lld", (long long)v);
        break;
    }
    case DBONT_DOUBLE: {
        double v;
        memcpy(&v, p, sizeof v);
        if (isnan(v))
            snprintf(out, n, "NaN");
        else
            snprintf(out, n, "%.17g", v == 0 ? 0.0 : v);
        break;
    }
    case DBONT_UUID: {
        dbont_uuid u;
        char text[DBONT_UUID_TEXT_SIZE];
        memcpy(&u, p, sizeof u);
        dbont_uuid_format(&u, text);
        snprintf(out, n, "%s", text);
        break;
    }
    default: { /* text, numeric */
        const char *s;
        memcpy(&s, p, sizeof s);
        snprintf(out, n, "\"%s\"", s);
        break;
    }
    }
}

/* Whether a and b hold the same rows in the same order; says where not. */
static bool same_rows(const dbont_query *q, dbont_result *a, dbont_result *b, char *why, size_t n)
{
    size_t i, col, count = dbont_result_count(a);
    const char *ra = dbont_result_rows(a), *rb = dbont_result_rows(b);

    if (count != dbont_result_count(b)) {
        snprintf(why, n, "%zu rows, the oracle %zu", count, dbont_result_count(b));
        return false;
    }
    for (i = 0; i < count; i++) {
        for (col = 0; col < q->ncolumns; col++) {
            char x[256], y[256];
            field_text(&q->columns[col], ra + i * q->row_size, x, sizeof x);
            field_text(&q->columns[col], rb + i * q->row_size, y, sizeof y);
            if (strcmp(x, y) != 0) {
                snprintf(why, n, "row %zu, %s: %s, the oracle %s", i, q->columns[col].name, x, y);
                return false;
            }
        }
    }
    snprintf(why, n, "%zu rows", count);
    return true;
}

static dbont_result *oracle_rows(const dbont_query *oq, const qparams *p)
{
    dbont_result *res = NULL;
    dbont_error err;
    if (dbont_query_run(oracle, oq, p, &res, &err) != DBONT_OK)
        die(oq->name, &err);
    return res;
}

/* The fan-out of q equals the oracle's oq (leaving out p->exclude). */
static void expect_oracle(const dbont_query *q, const dbont_query *oq, const dbont_fanout_spec *spec,
                          const qparams *p, unsigned flags)
{
    dbont_fanout_shard shards[NSHARDS];
    dbont_fanout_report report = {shards, NSHARDS, 0};
    dbont_result *got = NULL, *want;
    dbont_error err;
    char why[1024];
    dbont_status st = dbont_fanout_run(conns, NSHARDS, q, p, spec, flags, &got, &report, &err);

    if (st != DBONT_OK) {
        CHECK(false, "%s: the fan-out failed: %s %s", q->name, err.sqlstate, err.message);
        return;
    }
    want = oracle_rows(oq, p);
    CHECK(same_rows(q, got, want, why, sizeof why), "%s%s equals the oracle: %s", q->name,
          p->exclude >= 0 ? " (partial)" : "", why);
    dbont_result_free(got);
    dbont_result_free(want);
}

/* ---- sections ---------------------------------------------------------------------------- */

static void ordered(int32_t exclude, unsigned flags)
{
    qparams p = {0, exclude};
    p.p1 = 1;
    expect_oracle(&top_q, &top_oracle, &top_spec, &p, flags);
    p.p1 = 2000;
    expect_oracle(&top_q, &top_oracle, &top_spec, &p, flags);
    p.p1 = 60;
    expect_oracle(&nulls_q, &nulls_oracle, &nulls_spec, &p, flags);
    expect_oracle(&name_desc_q, &name_desc_oracle, &name_desc_spec, &p, flags);
    expect_oracle(&name_asc_q, &name_asc_oracle, &name_asc_spec, &p, flags);
    expect_oracle(&mix_q, &mix_oracle, &mix_spec, &p, flags);
    expect_oracle(&uuids_q, &uuids_oracle, &uuid_spec, &p, flags);
    p.p1 = 1500;
    expect_oracle(&stamps_q, &stamps_oracle, &ts_spec, &p, flags);
}

static void aggregates(int32_t exclude, unsigned flags)
{
    qparams p = {0, exclude};
    expect_oracle(&totals_q, &totals_oracle, &totals_spec, &p, flags);
    expect_oracle(&groups_q, &groups_oracle, &groups_spec, &p, flags);
    expect_oracle(&groups_top_q, &groups_top_oracle, &groups_top_spec, &p, flags);
}

/* Shows the values that matter, so that a reader sees what was compared. */
static void show_samples(void)
{
    qparams p = {60, -1};
    dbont_result *res = NULL;
    dbont_error err;

    if (dbont_fanout_run(conns, NSHARDS, &nulls_q, &p, &nulls_spec, 0, &res, NULL, &err) == DBONT_OK) {
        idx_row *rows = dbont_result_rows(res);
        size_t nulls = 0, i;
        for (i = 0; i < dbont_result_count(res); i++)
            nulls += rows[i].x_is_null;
        CHECK(nulls == 4 && dbont_result_count(res) == 10 && !rows[4].x_is_null,
              "x DESC puts the 4 NULLs of ids 1..60 first, then values");
        dbont_result_free(res);
    }
    res = NULL;
    if (dbont_fanout_run(conns, NSHARDS, &totals_q, &p, &totals_spec, 0, &res, NULL, &err) == DBONT_OK) {
        totals_row *t = dbont_result_rows(res);
        CHECK(dbont_result_count(res) == 1 && t->n == NROWS && isnan(t->max_f),
              "totals: one row, count %lld, sum(score) %s, sum(id) %s, max(f) NaN", (long long)t->n,
              t->sum_score, t->sum_id);
        dbont_result_free(res);
    }
}

static int idle_count(void)
{
    int i, idle = 0;
    for (i = 0; i < NSHARDS; i++)
        idle += PQtransactionStatus(dbont_conn_pg(conns[i])) == PQTRANS_IDLE;
    return idle;
}

/* Each connection answers a plain query. */
static bool usable(int i)
{
    dbont_error err;
    return dbont_exec(conns[i], "SELECT 1", &err) == DBONT_OK;
}

static void parallel(void)
{
    dbont_result *res = NULL;
    dbont_error err;
    double t0 = now_s(), dt;
    dbont_status st = dbont_fanout_run(conns, NSHARDS, &sleep_q, NULL, NULL, 0, &res, NULL, &err);

    dt = now_s() - t0;
    CHECK(st == DBONT_OK && dbont_result_count(res) == NSHARDS,
          "pg_sleep(0.3) on 4 shards: one row each");
    CHECK(dt < 0.6, "and it took %.3f s (sequentially it would take 1.2 s)", dt);
    dbont_result_free(res);
}

static void sql_errors(void)
{
    dbont_fanout_shard shards[NSHARDS];
    dbont_fanout_report report = {shards, NSHARDS, 0};
    dbont_result *res = NULL;
    dbont_error err;
    qparams p = {0, -1};
    int64_t id;
    dbont_status st;
    int i, ok = 0;

    /* Prepared on 0..2, refused by 3 while preparing. */
    for (i = 0; i < NSHARDS - 1; i++)
        exec_or_die(conns[i], "DROP TABLE IF EXISTS only_some; CREATE TABLE only_some (v int4);"
                              "INSERT INTO only_some VALUES (1)");
    exec_or_die(conns[3], "DROP TABLE IF EXISTS only_some");
    st = dbont_fanout_run(conns, NSHARDS, &partial_table_q, NULL, NULL, 0, &res, &report, &err);
    CHECK(st == DBONT_ERROR && strcmp(err.sqlstate, "42P01") == 0 &&
              strncmp(err.message, "shard 3: 42P01 ", 15) == 0 && res == NULL,
          "a relation missing on shard 3: %s %s", err.sqlstate, err.message);
    CHECK(report.nfailed == 1 && shards[3].status == DBONT_ERROR && shards[0].status == DBONT_OK &&
              shards[0].rows == 1 && strcmp(shards[3].error.sqlstate, "42P01") == 0,
          "the report: shard 3 failed (%s), the others answered", shards[3].error.message);
    CHECK(idle_count() == NSHARDS && usable(0) && usable(3), "every connection idle and usable");
    st = dbont_fanout_run(conns, NSHARDS, &partial_table_q, NULL, NULL, DBONT_FANOUT_PARTIAL, &res,
                          &report, &err);
    CHECK(st == DBONT_OK && dbont_result_count(res) == 3 && report.nfailed == 1,
          "PARTIAL: the 3 rows of shards 0..2, shard 3 reported");
    dbont_result_free(res);
    res = NULL;
    exec_or_die(conns[3], "CREATE TABLE only_some (v int4); INSERT INTO only_some VALUES (1)");
    st = dbont_fanout_run(conns, NSHARDS, &partial_table_q, NULL, NULL, 0, &res, &report, &err);
    CHECK(st == DBONT_OK && dbont_result_count(res) == 4 && report.nfailed == 0,
          "created on shard 3 too: prepared there now, 4 rows");
    dbont_result_free(res);
    res = NULL;

    /* A division by zero on the shard holding id 1000, while executing. */
    for (id = 1000; dbont_shard_of_int(id, NSHARDS) != 1; id++)
        ;
    p.p1 = id;
    st = dbont_fanout_run(conns, NSHARDS, &divide_q, &p, NULL, 0, &res, &report, &err);
    CHECK(st == DBONT_ERROR && strcmp(err.sqlstate, "22012") == 0 &&
              strncmp(err.message, "shard 1: 22012 division by zero", 31) == 0,
          "division by zero on shard 1: %s %s", err.sqlstate, err.message);
    for (i = 0; i < NSHARDS; i++)
        ok += usable(i);
    CHECK(ok == NSHARDS && idle_count() == NSHARDS, "every connection idle and usable after it");
    st = dbont_fanout_run(conns, NSHARDS, &divide_q, &p, NULL, DBONT_FANOUT_PARTIAL, &res, &report,
                          &err);
    CHECK(st == DBONT_OK && dbont_result_count(res) == 3 && report.nfailed == 1 &&
              shards[1].status == DBONT_ERROR && strcmp(shards[1].error.sqlstate, "22012") == 0,
          "PARTIAL: the other three shards' rows; shard 1's error in the report");
    dbont_result_free(res);
    res = NULL;

    /* Without a report, PARTIAL is refused: the caller could not tell. */
    st = dbont_fanout_run(conns, NSHARDS, &divide_q, &p, NULL, DBONT_FANOUT_PARTIAL, &res, NULL, &err);
    CHECK(st == DBONT_ERROR && strcmp(err.sqlstate, "22023") == 0, "PARTIAL without a report: %s",
          err.message);
    /* Inside a transaction block: the failed shard's block is aborted, the
     * others' are not; the caller rolls them all back. */
    for (i = 0; i < NSHARDS; i++)
        exec_or_die(conns[i], "BEGIN");
    st = dbont_fanout_run(conns, NSHARDS, &divide_q, &p, NULL, 0, &res, NULL, &err);
    CHECK(st == DBONT_ERROR &&
              PQtransactionStatus(dbont_conn_pg(conns[1])) == PQTRANS_INERROR &&
              PQtransactionStatus(dbont_conn_pg(conns[0])) == PQTRANS_INTRANS,
          "in transaction blocks: shard 1's aborted, shard 0's still open");
    for (i = 0; i < NSHARDS; i++)
        exec_or_die(conns[i], "ROLLBACK");
}

/* Whether the server has shard i's connection's statement of q prepared. */
static bool prepared_on(int i, const dbont_query *q)
{
    char sql[256];
    PGresult *res;
    bool found;

    snprintf(sql, sizeof sql, "SELECT 1 FROM pg_prepared_statements WHERE name = '%s'",
             q->stmt->name);
    res = PQexec(dbont_conn_pg(conns[i]), sql);
    found = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    PQclear(res);
    return found;
}

static void forgotten(void)
{
    qparams p = {1, -1};
    exec_or_die(conns[1], "DEALLOCATE ALL");
    exec_or_die(conns[2], "DEALLOCATE ALL");
    CHECK(!prepared_on(1, &top_q) && !prepared_on(2, &top_q) && prepared_on(0, &top_q),
          "DEALLOCATE ALL on shards 1 and 2: the statement is gone there");
    expect_oracle(&top_q, &top_oracle, &top_spec, &p, 0);
    CHECK(prepared_on(1, &top_q) && prepared_on(2, &top_q),
          "the fan-out prepared it again on shards 1 and 2 (26000, retried once)");
}

static void shard_down(void)
{
    dbont_fanout_shard shards[NSHARDS];
    dbont_fanout_report report = {shards, NSHARDS, 0};
    dbont_result *res = NULL;
    dbont_error err;
    qparams p = {1, -1};
    dbont_status st;
    double t0;
    int i, ok = 0;

    if (!CHECK(ctl("stop-shard 2"), "shard 2 stopped"))
        return;
    t0 = now_s();
    st = dbont_fanout_run(conns, NSHARDS, &top_q, &p, &top_spec, 0, &res, &report, &err);
    CHECK(st == DBONT_ERROR && res == NULL && strncmp(err.sqlstate, "08", 2) == 0 &&
              strncmp(err.message, "shard 2: 08", 11) == 0,
          "the fan-out fails naming shard 2 (%.3f s): %s %s", now_s() - t0, err.sqlstate,
          err.message);
    CHECK(report.nfailed == 1 && shards[2].status == DBONT_ERROR &&
              strncmp(shards[2].error.sqlstate, "08", 2) == 0 && shards[0].status == DBONT_OK &&
              shards[1].status == DBONT_OK && shards[3].status == DBONT_OK,
          "the report marks shard 2 failed (%s), the others answered (%zu, %zu, %zu rows)",
          shards[2].error.sqlstate, shards[0].rows, shards[1].rows, shards[3].rows);
    for (i = 0; i < NSHARDS; i++)
        ok += i != 2 && usable(i);
    CHECK(ok == 3, "shards 0, 1 and 3 still usable");

    /* PARTIAL: the other shards' rows, as the oracle has them without 2. */
    section("shard_down: partial results");
    ordered(2, DBONT_FANOUT_PARTIAL);
    aggregates(2, DBONT_FANOUT_PARTIAL);
    st = dbont_fanout_run(conns, NSHARDS, &totals_q, &p, &totals_spec, DBONT_FANOUT_PARTIAL, &res,
                          &report, &err);
    CHECK(st == DBONT_OK && report.nfailed == 1 && shards[2].status == DBONT_ERROR &&
              strcmp(shards[2].error.sqlstate, "08006") == 0 && shards[2].rows == 0,
          "PARTIAL: shard 2 in the report: %s %s", shards[2].error.sqlstate, shards[2].error.message);
    dbont_result_free(res);
    res = NULL;

    section("shard_down: started again");
    if (!CHECK(ctl("start-shard 2"), "shard 2 started"))
        return;
    /* dbont has no public reconnect (the pool reopens a broken connection
     * with its internal dbont_conn_reset): a new connection here. */
    dbont_close(conns[2]);
    conns[2] = connect_or_die(shard_dsn[2]);
    ordered(-1, 0);
    aggregates(-1, 0);
}

/* ---- latency ----------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define RUNS 200

static double median(double *t)
{
    qsort(t, RUNS, sizeof *t, cmp_double);
    return (t[RUNS / 2 - 1] + t[RUNS / 2]) / 2;
}

/* Median microseconds of RUNS fan-outs of q and of RUNS runs of the
 * plain statement on the oracle, printed. */
static void measure(const char *what, const dbont_query *q, const dbont_fanout_spec *spec,
                    const dbont_query *plain, const qparams *p)
{
    static double fan[RUNS], one[RUNS];
    dbont_result *res;
    dbont_error err;
    int i;

    for (i = -10; i < RUNS; i++) {      /* 10 to warm up */
        double t0 = now_s();
        res = NULL;
        if (dbont_fanout_run(conns, NSHARDS, q, p, spec, 0, &res, NULL, &err) != DBONT_OK)
            die(what, &err);
        if (i >= 0)
            fan[i] = (now_s() - t0) * 1e6;
        dbont_result_free(res);
        t0 = now_s();
        res = NULL;
        if (dbont_query_run(oracle, plain, p, &res, &err) != DBONT_OK)
            die(what, &err);
        if (i >= 0)
            one[i] = (now_s() - t0) * 1e6;
        dbont_result_free(res);
    }
    double f = median(fan), o = median(one);
    printf("# latency %s: fan-out over %d shards %.0f us, oracle (one server, all rows) %.0f us,"
           " ratio %.2f (median of %d)\n",
           what, NSHARDS, f, o, f / o, RUNS);
}

/* The plain statements on the oracle, as a single server would run them. */
static const dbont_stmt top_plain_stmt = STMT(fa00000000000201,
    "SELECT id, x FROM items WHERE id >= $1 ORDER BY x DESC NULLS LAST, id LIMIT 10 OFFSET 5", 1,
    oid_int8);
static const dbont_query top_plain = {"top_plain", &top_plain_stmt, 1, p1_types, p1_offsets,
                                      sizeof(qparams), 2, idx_cols, sizeof(idx_row)};
static const dbont_stmt groups_plain_stmt = STMT(fa00000000000202, GROUP_SELECT " GROUP BY g", 0,
                                                 NULL);
static const dbont_query groups_plain = {"groups_plain", &groups_plain_stmt, 0, NULL, NULL,
                                         sizeof(qparams), 6, group_cols, sizeof(group_row)};

static void latency(void)
{
    qparams p = {1, -1};
    measure("ORDER BY x DESC LIMIT 10 OFFSET 5", &top_q, &top_spec, &top_plain, &p);
    measure("GROUP BY g with COUNT/SUM/MIN/MAX", &groups_q, &groups_spec, &groups_plain, &p);
}

/* ---- main --------------------------------------------------------------------------------- */

int main(void)
{
    const char *count = getenv("DBONT_SHARD_COUNT");
    char oracle_dsn[512];
    size_t len;
    int i;

    shards_ctl = getenv("SHARDS_CTL");
    if (count == NULL || atoi(count) != NSHARDS || shards_ctl == NULL) {
        printf("FAIL: run through dbont_add_shard_test with 4 shards (DBONT_SHARD_COUNT, SHARDS_CTL)\n");
        return 1;
    }
    for (i = 0; i < NSHARDS; i++) {
        char name[64];
        snprintf(name, sizeof name, "DBONT_SHARD_%d_PRIMARY", i);
        shard_dsn[i] = getenv(name);
        if (shard_dsn[i] == NULL) {
            printf("FAIL: %s is not set\n", name);
            return 1;
        }
        conns[i] = connect_or_die(shard_dsn[i]);
    }
    /* The oracle: database "oracle" on shard 0's server (the URIs end in
     * "/postgres"). */
    len = strlen(shard_dsn[0]);
    if (len < 9 || strcmp(shard_dsn[0] + len - 9, "/postgres") != 0 ||
        len - 9 + sizeof "/oracle" > sizeof oracle_dsn) {
        printf("FAIL: unexpected DSN %s\n", shard_dsn[0]);
        return 1;
    }
    memcpy(oracle_dsn, shard_dsn[0], len - 9);
    strcpy(oracle_dsn + len - 9, "/oracle");
    for (i = 0; i < NSHARDS; i++)
        exec_or_die(conns[i], "SET client_min_messages = warning");
    exec_or_die(conns[0], "DROP DATABASE IF EXISTS oracle");
    exec_or_die(conns[0], "CREATE DATABASE oracle");
    oracle = connect_or_die(oracle_dsn);
    exec_or_die(oracle, create_sql);

    section("data");
    load_data();
    section("ordered");
    ordered(-1, 0);
    section("aggregates");
    aggregates(-1, 0);
    show_samples();
    section("parallel");
    parallel();
    section("sql_errors");
    sql_errors();
    section("forgotten");
    forgotten();
    section("latency");
    latency();
    section("shard_down");
    shard_down();

    for (i = 0; i < NSHARDS; i++)
        dbont_close(conns[i]);
    dbont_close(oracle);
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
