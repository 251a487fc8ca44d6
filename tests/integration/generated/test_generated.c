/*
 * test_generated.c: the round trip through code generated from
 * tests/ontologies/alltypes.ttl, against a real PostgreSQL.
 *
 * Every row goes in and comes back through the generated functions only
 * (alltypes_<table>_insert/get/update/delete/list).  Plain SQL on
 * dbont_conn_pg() is used only to look at what the server stored
 * (col::text and friends) and to plant the few values the generated code
 * cannot write (a timestamp beyond dbont's range).
 *
 * Usage: integration_generated [MIGRATIONS_DIR], with DATABASE_URL naming
 * a database to which the migrations have been applied (the ctest command
 * applies them first).  Prints one line per check and a summary; exits 1
 * when any check failed.
 */
#include "alltypes.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- checks ----------------------------------------------------------- */

static int g_pass, g_fail;
static const char *g_section = "";
static dbont_conn *g_conn;

static void section(const char *name)
{
    g_section = name;
    printf("\n# %s\n", name);
}

static bool check_v(bool ok, int line, const char *fmt, va_list ap)
{
    if (ok)
        g_pass++;
    else
        g_fail++;
    printf("%s %d [%s] ", ok ? "ok  " : "FAIL", g_pass + g_fail, g_section);
    vprintf(fmt, ap);
    if (!ok)
        printf("   <-- test_generated.c:%d", line);
    printf("\n");
    fflush(stdout);
    return ok;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bool check(bool ok, int line, const char *fmt, ...)
{
    va_list ap;
    bool r;
    va_start(ap, fmt);
    r = check_v(ok, line, fmt, ap);
    va_end(ap);
    return r;
}

#define CHECK(cond, ...) check((cond), __LINE__, __VA_ARGS__)

static const char *status_name(dbont_status st)
{
    switch (st) {
    case DBONT_OK: return "DBONT_OK";
    case DBONT_NOT_FOUND: return "DBONT_NOT_FOUND";
    case DBONT_ERROR: return "DBONT_ERROR";
    }
    return "(bad status)";
}

/* s with newlines, tabs and CRs written as \n, \t, \r, so that a check
 * stays on one line. */
static const char *one_line(const char *s, char *buf, size_t size)
{
    size_t o = 0;
    if (s == NULL)
        return "(NULL)";
    for (; *s != '\0' && o + 3 < size; s++) {
        char c = *s;
        if (c == '\n' || c == '\t' || c == '\r') {
            buf[o++] = '\\';
            buf[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
        } else {
            buf[o++] = c;
        }
    }
    buf[o] = '\0';
    return buf;
}

/* The status is want; on a mismatch the error is printed too. */
static bool check_status(int line, const char *what, dbont_status got,
                         dbont_status want, const dbont_error *err)
{
    char buf[2 * DBONT_ERROR_MESSAGE_MAX];
    if (got == want)
        return check(true, line, "%s -> %s", what, status_name(want));
    return check(false, line, "%s -> %s, expected %s (error %s: %s)", what,
                 status_name(got), status_name(want), err->sqlstate,
                 got == DBONT_ERROR ? one_line(err->message, buf, sizeof buf) : "-");
}
#define CHECK_STATUS(what, got, want, err) check_status(__LINE__, what, got, want, err)
#define CHECK_OK(what, got, err) check_status(__LINE__, what, got, DBONT_OK, err)

/* DBONT_ERROR with this SQLSTATE and, unless message is NULL, exactly this
 * message. */
static bool check_error(int line, const char *what, dbont_status got,
                        const dbont_error *err, const char *sqlstate,
                        const char *message)
{
    char b1[2 * DBONT_ERROR_MESSAGE_MAX], b2[2 * DBONT_ERROR_MESSAGE_MAX];
    bool ok = got == DBONT_ERROR && strcmp(err->sqlstate, sqlstate) == 0 &&
              (message == NULL || strcmp(err->message, message) == 0);
    if (ok)
        return check(true, line, "%s -> DBONT_ERROR %s \"%s\"", what, sqlstate,
                     one_line(err->message, b1, sizeof b1));
    return check(false, line, "%s -> %s %s \"%s\", expected DBONT_ERROR %s \"%s\"",
                 what, status_name(got), got == DBONT_ERROR ? err->sqlstate : "-",
                 got == DBONT_ERROR ? one_line(err->message, b1, sizeof b1) : "",
                 sqlstate, message ? one_line(message, b2, sizeof b2) : "(any message)");
}
#define CHECK_ERROR(what, got, err, sqlstate, message) \
    check_error(__LINE__, what, got, err, sqlstate, message)

static bool check_int(int line, const char *what, intmax_t got, intmax_t want)
{
    return check(got == want, line, "%s = %jd%s%jd", what, got,
                 got == want ? " == " : ", expected ", want);
}
#define CHECK_INT(what, got, want) check_int(__LINE__, what, (intmax_t)(got), (intmax_t)(want))

static bool check_bool(int line, const char *what, bool got, bool want)
{
    return check(got == want, line, "%s = %s%s", what, got ? "true" : "false",
                 got == want ? "" : (want ? ", expected true" : ", expected false"));
}
#define CHECK_TRUE(what, got) check_bool(__LINE__, what, (got), true)
#define CHECK_FALSE(what, got) check_bool(__LINE__, what, (got), false)

/* A short, printable view of a string for messages. */
static const char *shown(const char *s, char buf[96])
{
    size_t len, i, o = 0;
    if (s == NULL)
        return "(NULL)";
    len = strlen(s);
    buf[o++] = '"';
    for (i = 0; i < len && o < 80; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (c == '\t') {
            buf[o++] = '\\';
            buf[o++] = 't';
        } else if (c == '\r') {
            buf[o++] = '\\';
            buf[o++] = 'r';
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    if (i < len)
        snprintf(buf + o, 96 - o, "...(%zu bytes)", len);
    return buf;
}

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool check_str(int line, const char *what, const char *got, const char *want)
{
    char b1[96], b2[96];
    bool ok = same_str(got, want);
    if (ok)
        return check(true, line, "%s = %s", what, shown(got, b1));
    return check(false, line, "%s = %s, expected %s", what, shown(got, b1), shown(want, b2));
}
#define CHECK_STR(what, got, want) check_str(__LINE__, what, got, want)

/* Floats compare by their bits (so -0 differs from 0), NaN by being NaN. */
static bool same_f32(float a, float b)
{
    uint32_t x, y;
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x == y;
}

static bool same_f64(double a, double b)
{
    uint64_t x, y;
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x == y;
}

static bool check_f32(int line, const char *what, float got, float want)
{
    return check(same_f32(got, want), line, "%s = %.9g (%a)%s%.9g (%a)", what,
                 (double)got, (double)got, same_f32(got, want) ? " == " : ", expected ",
                 (double)want, (double)want);
}
#define CHECK_F32(what, got, want) check_f32(__LINE__, what, got, want)

static bool check_f64(int line, const char *what, double got, double want)
{
    return check(same_f64(got, want), line, "%s = %.17g (%a)%s%.17g (%a)", what,
                 got, got, same_f64(got, want) ? " == " : ", expected ", want, want);
}
#define CHECK_F64(what, got, want) check_f64(__LINE__, what, got, want)

static bool same_bytes(dbont_bytes a, const void *data, size_t len)
{
    if (a.len != len)
        return false;
    if (len == 0)
        return true;
    return a.data != NULL && memcmp(a.data, data, len) == 0;
}

static bool check_bytes(int line, const char *what, dbont_bytes got,
                        const void *data, size_t len)
{
    bool ok = same_bytes(got, data, len);
    return check(ok, line, "%s: %zu bytes%s%zu bytes%s", what, got.len,
                 ok ? ", equal to the " : ", expected ", len, ok ? " sent" : " (content differs)");
}
#define CHECK_BYTES(what, got, data, len) check_bytes(__LINE__, what, got, data, len)

static bool check_uuid(int line, const char *what, dbont_uuid got, dbont_uuid want)
{
    char a[DBONT_UUID_TEXT_SIZE], b[DBONT_UUID_TEXT_SIZE];
    bool ok = memcmp(got.bytes, want.bytes, 16) == 0;
    dbont_uuid_format(&got, a);
    dbont_uuid_format(&want, b);
    return check(ok, line, "%s = %s%s%s", what, a, ok ? "" : ", expected ", ok ? "" : b);
}
#define CHECK_UUID(what, got, want) check_uuid(__LINE__, what, got, want)

/* ---- plain SQL, for looking at what the server stored ------------------ */

/* Runs sql (with one optional text parameter) and returns its only value as
 * a malloc'd string, NULL for SQL NULL; *ok is false when the query failed
 * or did not return exactly one value. */
static char *sql_value(const char *sql, const char *param, bool *ok)
{
    const char *params[1];
    PGresult *res;
    char *value = NULL;

    params[0] = param;
    res = PQexecParams(dbont_conn_pg(g_conn), sql, param ? 1 : 0, NULL,
                       params, NULL, NULL, 0);
    *ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
          PQnfields(res) == 1;
    if (!*ok) {
        printf("      (query failed: %s: %s)\n", sql, PQresultErrorMessage(res));
    } else if (!PQgetisnull(res, 0, 0)) {
        const char *v = PQgetvalue(res, 0, 0);
        size_t n = strlen(v);
        value = malloc(n + 1);
        if (value != NULL)
            memcpy(value, v, n + 1);
    }
    PQclear(res);
    return value;
}

/* The server's answer to sql (one value) is want (NULL: SQL NULL). */
static bool check_sql(int line, const char *what, const char *sql,
                      const char *param, const char *want)
{
    char b1[96], b2[96];
    bool ok;
    char *got = sql_value(sql, param, &ok);
    ok = ok && same_str(got, want);
    check(ok, line, "server: %s = %s%s%s", what, shown(got, b1),
          ok ? "" : ", expected ", ok ? "" : shown(want, b2));
    free(got);
    return ok;
}
#define CHECK_SQL(what, sql, param, want) check_sql(__LINE__, what, sql, param, want)

/* The server's text of expr in the samples row with this id. */
static bool check_col(int line, int64_t id, const char *expr, const char *want)
{
    char sql[256], idtext[32];
    snprintf(sql, sizeof sql, "SELECT %s FROM samples WHERE id = $1", expr);
    snprintf(idtext, sizeof idtext, "%" PRId64, id);
    return check_sql(line, expr, sql, idtext, want);
}
#define CHECK_COL(id, expr, want) check_col(__LINE__, id, expr, want)

/* A count (or other integer) from the server; -1 on failure. */
static int64_t sql_int(const char *sql, const char *param)
{
    bool ok;
    char *v = sql_value(sql, param, &ok);
    int64_t n = (ok && v != NULL) ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

static int64_t count_rows(const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return sql_int(sql, NULL);
}

/* The server's clock, in microseconds since 1970 (dbont_timestamp). */
static dbont_timestamp server_clock(void)
{
    return sql_int("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint", NULL);
}

static void sql_exec(const char *sql)
{
    PGresult *res = PQexec(dbont_conn_pg(g_conn), sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        printf("      (statement failed: %s: %s)\n", sql, PQresultErrorMessage(res));
    PQclear(res);
}

/* ---- values ---------------------------------------------------------- */

#define USECS_PER_DAY INT64_C(86400000000)
#define USECS_PER_SEC INT64_C(1000000)

/* Days since 1970-01-01 of a proleptic Gregorian date (year > 0). */
static int32_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int64_t)doe - 719468);
}

static dbont_timestamp ts_of(int64_t y, unsigned mo, unsigned d, unsigned h,
                             unsigned mi, unsigned s, unsigned usec)
{
    return days_from_civil(y, mo, d) * USECS_PER_DAY +
           (int64_t)(h * 3600 + mi * 60 + s) * USECS_PER_SEC + usec;
}

static dbont_uuid uuid_fill(uint8_t byte)
{
    dbont_uuid u;
    memset(u.bytes, byte, sizeof u.bytes);
    return u;
}

static dbont_uuid uuid_random(void)
{
    dbont_uuid u;
    FILE *f = fopen("/dev/urandom", "rb");
    size_t i, n = 0;
    if (f != NULL) {
        n = fread(u.bytes, 1, sizeof u.bytes, f);
        fclose(f);
    }
    if (n != sizeof u.bytes) {
        srand((unsigned)time(NULL));
        for (i = 0; i < sizeof u.bytes; i++)
            u.bytes[i] = (uint8_t)(rand() & 0xFF);
    }
    u.bytes[6] = (uint8_t)((u.bytes[6] & 0x0F) | 0x40);   /* version 4 */
    u.bytes[8] = (uint8_t)((u.bytes[8] & 0x3F) | 0x80);   /* variant */
    return u;
}

static char *hex_of(const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = malloc(2 * len + 1);
    size_t i;
    if (out == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0x0F];
    }
    out[2 * len] = '\0';
    return out;
}

/* ---- samples: one row in, the same row out ---------------------------- */

/* A valid row: plain values in the NOT NULL columns, NULL in the nullable
 * ones, defaults (id, note, created_at) left unset. */
static void sample_base(alltypes_samples_new *n)
{
    static const uint8_t blob[] = {'b', 'l', 'o', 'b'};
    memset(n, 0, sizeof *n);
    n->small = 1;
    n->small_n_is_null = true;
    n->int4 = 2;
    n->int4_n_is_null = true;
    n->big = 3;
    n->big_n_is_null = true;
    n->flag = true;
    n->flag_n_is_null = true;
    n->r4 = 1.5f;
    n->r4_n_is_null = true;
    n->r8 = 2.25;
    n->r8_n_is_null = true;
    n->amount = "1.0000";
    n->amount_n_is_null = true;
    n->body = "body";
    n->body_n_is_null = true;
    n->code = "code";
    n->code_n_is_null = true;
    n->ref = uuid_fill(0x11);
    n->ref_n_is_null = true;
    n->day = 10;
    n->day_n_is_null = true;
    n->at = 20 * USECS_PER_SEC;
    n->at_n_is_null = true;
    n->at_tz = 30 * USECS_PER_SEC;
    n->at_tz_n_is_null = true;
    n->doc = "{}";
    n->doc_n_is_null = true;
    n->blob.data = blob;
    n->blob.len = sizeof blob;
    n->blob_n_is_null = true;
}

/* The row the server should hand back for n (id and created_at aside):
 * numeric and jsonb texts are what was sent; callers override them where
 * the server normalises. */
static void sample_expect(const alltypes_samples_new *n, alltypes_samples *w)
{
    memset(w, 0, sizeof *w);
    w->id = n->id;
#define COPY(f) w->f = n->f
#define COPY_N(f)                                 \
    do {                                          \
        w->f##_is_null = n->f##_is_null;          \
        if (!w->f##_is_null)                      \
            w->f = n->f;                          \
    } while (0)
#define COPY_TN(f)                                         \
    do {                                                   \
        w->f##_is_null = n->f##_is_null || n->f == NULL;   \
        if (!w->f##_is_null)                               \
            w->f = n->f;                                   \
    } while (0)
    COPY(small); COPY_N(small_n);
    COPY(int4); COPY_N(int4_n);
    COPY(big); COPY_N(big_n);
    COPY(flag); COPY_N(flag_n);
    COPY(r4); COPY_N(r4_n);
    COPY(r8); COPY_N(r8_n);
    COPY(amount); COPY_TN(amount_n);
    COPY(body); COPY_TN(body_n);
    COPY(code); COPY_TN(code_n);
    COPY(ref); COPY_N(ref_n);
    COPY(day); COPY_N(day_n);
    COPY(at); COPY_N(at_n);
    COPY(at_tz); COPY_N(at_tz_n);
    COPY(doc); COPY_TN(doc_n);
    COPY(blob); COPY_N(blob_n);
    if (!n->note_set)
        w->note = "none";
    else
        COPY_TN(note);
    w->created_at = n->created_at;
#undef COPY
#undef COPY_N
#undef COPY_TN
}

static bool is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

typedef struct cmp {
    int mismatches;
} cmp;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void mismatch(cmp *c, const char *fmt, ...)
{
    va_list ap;
    c->mismatches++;
    printf("      mismatch: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void cmp_nullflag(cmp *c, const char *name, bool got, bool want,
                         const void *value, size_t size)
{
    if (got != want)
        mismatch(c, "%s_is_null = %d, expected %d", name, got, want);
    else if (got && !is_zero(value, size))
        mismatch(c, "%s is NULL but its field is not zeroed", name);
}

/* Compares every field of got with want; created_at only when asked. */
static int sample_compare(const alltypes_samples *w, const alltypes_samples *g,
                          bool with_created_at)
{
    cmp c = {0};
    char b1[96], b2[96];
#define CMP_INT(f)                                                        \
    if ((intmax_t)g->f != (intmax_t)w->f)                                 \
        mismatch(&c, #f " = %jd, expected %jd", (intmax_t)g->f, (intmax_t)w->f)
#define CMP_F32(f)                                                            \
    if (!same_f32(g->f, w->f))                                                \
        mismatch(&c, #f " = %a, expected %a", (double)g->f, (double)w->f)
#define CMP_F64(f)                                            \
    if (!same_f64(g->f, w->f))                                \
        mismatch(&c, #f " = %a, expected %a", g->f, w->f)
#define CMP_STR(f)                                                        \
    if (!same_str(g->f, w->f))                                            \
        mismatch(&c, #f " = %s, expected %s", shown(g->f, b1), shown(w->f, b2))
#define CMP_UUID(f)                                           \
    if (memcmp(g->f.bytes, w->f.bytes, 16) != 0)              \
        mismatch(&c, #f " differs")
#define CMP_BYTES(f)                                                              \
    if (!same_bytes(g->f, w->f.data, w->f.len))                                   \
        mismatch(&c, #f " = %zu bytes, expected %zu (or content differs)", g->f.len, w->f.len)
#define CMP_N(f, CMPF)                                                              \
    do {                                                                            \
        cmp_nullflag(&c, #f, g->f##_is_null, w->f##_is_null, &g->f, sizeof g->f);   \
        if (!g->f##_is_null && !w->f##_is_null) {                                   \
            CMPF(f);                                                                \
        }                                                                           \
    } while (0)
    CMP_INT(id);
    CMP_INT(small); CMP_N(small_n, CMP_INT);
    CMP_INT(int4); CMP_N(int4_n, CMP_INT);
    CMP_INT(big); CMP_N(big_n, CMP_INT);
    CMP_INT(flag); CMP_N(flag_n, CMP_INT);
    CMP_F32(r4); CMP_N(r4_n, CMP_F32);
    CMP_F64(r8); CMP_N(r8_n, CMP_F64);
    CMP_STR(amount); CMP_N(amount_n, CMP_STR);
    CMP_STR(body); CMP_N(body_n, CMP_STR);
    CMP_STR(code); CMP_N(code_n, CMP_STR);
    CMP_UUID(ref); CMP_N(ref_n, CMP_UUID);
    CMP_INT(day); CMP_N(day_n, CMP_INT);
    CMP_INT(at); CMP_N(at_n, CMP_INT);
    CMP_INT(at_tz); CMP_N(at_tz_n, CMP_INT);
    CMP_STR(doc); CMP_N(doc_n, CMP_STR);
    CMP_BYTES(blob); CMP_N(blob_n, CMP_BYTES);
    CMP_N(note, CMP_STR);
    if (with_created_at) {
        CMP_INT(created_at);
    }
#undef CMP_INT
#undef CMP_F32
#undef CMP_F64
#undef CMP_STR
#undef CMP_UUID
#undef CMP_BYTES
#undef CMP_N
    return c.mismatches;
}

/*
 * Inserts n, compares the RETURNING row with want (whose id is filled in
 * from it), reads the row back with get and compares again.  On success
 * *out holds the row read back (the caller frees it) and true is returned.
 */
static bool sample_roundtrip(int line, const char *label, const alltypes_samples_new *n,
                             alltypes_samples *want, alltypes_samples_rows *out)
{
    alltypes_samples_rows ins;
    dbont_error err;
    dbont_status st;
    char what[160];
    int bad;
    bool with_created_at = n->created_at_set;

    memset(out, 0, sizeof *out);
    snprintf(what, sizeof what, "%s: insert", label);
    st = alltypes_samples_insert(g_conn, n, &ins, &err);
    if (!check_status(line, what, st, DBONT_OK, &err))
        return false;
    if (!check(ins.count == 1 && ins.rows != NULL, line,
               "%s: insert returns %zu row", label, ins.count)) {
        alltypes_samples_rows_free(&ins);
        return false;
    }
    if (n->id_set)
        check(ins.rows[0].id == n->id, line, "%s: insert keeps the explicit id %" PRId64,
              label, n->id);
    else
        want->id = ins.rows[0].id;
    bad = sample_compare(want, &ins.rows[0], with_created_at);
    check(bad == 0, line, "%s: the row insert returns equals the row sent (%d fields differ)",
          label, bad);
    if (!with_created_at)
        want->created_at = ins.rows[0].created_at;
    alltypes_samples_rows_free(&ins);

    snprintf(what, sizeof what, "%s: get id %" PRId64, label, want->id);
    st = alltypes_samples_get(g_conn, want->id, out, &err);
    if (!check_status(line, what, st, DBONT_OK, &err))
        return false;
    if (!check(out->count == 1, line, "%s: get returns %zu row", label, out->count)) {
        alltypes_samples_rows_free(out);
        return false;
    }
    bad = sample_compare(want, &out->rows[0], true);
    check(bad == 0, line, "%s: the row get returns equals the row sent, field by field "
          "(%d of 33 fields differ)", label, bad);
    return true;
}
#define ROUNDTRIP(label, n, want, out) sample_roundtrip(__LINE__, label, n, want, out)

/* ---- migrations --------------------------------------------------------- */

static void test_migrations(const char *dir)
{
    dbont_migrate_report report = {0};
    dbont_error err;
    dbont_status st;

    section("migrations");
    st = dbont_migrate_status(g_conn, dir, &report, &err);
    CHECK_OK("dbont_migrate_status", st, &err);
    CHECK_INT("migrations in the folder", report.count, 1);
    CHECK_INT("applied", report.applied, 1);
    CHECK_INT("pending", report.pending, 0);
    CHECK_INT("changed", report.changed, 0);
    CHECK_INT("missing", report.missing, 0);
    if (report.count == 1)
        CHECK_STR("the migration", report.migrations[0].file_name, "0001_alltypes.sql");
    dbont_migrate_report_free(&report);

    st = dbont_migrate_up(g_conn, dir, NULL, &report, &err);
    CHECK_OK("dbont_migrate_up once more", st, &err);
    CHECK_INT("applied now (idempotent)", report.applied_now, 0);
    CHECK_INT("already applied", report.applied, 1);
    dbont_migrate_report_free(&report);
    CHECK_SQL("history rows", "SELECT count(*) FROM dbont_migrations", NULL, "1");
    CHECK_SQL("tables created",
              "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class "
              "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
              "AND relname <> 'dbont_migrations'",
              NULL, "authors,books,events,group,memberships,samples");
}

/* ---- integers and booleans ---------------------------------------------- */

static void test_integers(void)
{
    alltypes_samples_new n;
    alltypes_samples w;
    alltypes_samples_rows r;
    const alltypes_samples *g;

    section("integers and booleans");
    sample_base(&n);
    n.small = INT16_MIN;
    n.small_n = INT16_MAX;
    n.small_n_is_null = false;
    n.int4 = INT32_MIN;
    n.int4_n = INT32_MAX;
    n.int4_n_is_null = false;
    n.big = INT64_MIN;
    n.big_n = INT64_MAX;
    n.big_n_is_null = false;
    n.flag = false;
    n.flag_n = true;
    n.flag_n_is_null = false;
    sample_expect(&n, &w);
    if (ROUNDTRIP("minimums", &n, &w, &r)) {
        g = &r.rows[0];
        CHECK_INT("small", g->small, INT16_MIN);
        CHECK_INT("small_n", g->small_n, INT16_MAX);
        CHECK_INT("int4", g->int4, INT32_MIN);
        CHECK_INT("int4_n", g->int4_n, INT32_MAX);
        CHECK_INT("big", g->big, INT64_MIN);
        CHECK_INT("big_n", g->big_n, INT64_MAX);
        CHECK_FALSE("flag", g->flag);
        CHECK_TRUE("flag_n", g->flag_n);
        CHECK_FALSE("flag_n_is_null", g->flag_n_is_null);
        CHECK_COL(g->id, "small::text", "-32768");
        CHECK_COL(g->id, "small_n::text", "32767");
        CHECK_COL(g->id, "int4::text", "-2147483648");
        CHECK_COL(g->id, "int4_n::text", "2147483647");
        CHECK_COL(g->id, "big::text", "-9223372036854775808");
        CHECK_COL(g->id, "big_n::text", "9223372036854775807");
        CHECK_COL(g->id, "flag::text", "false");
        CHECK_COL(g->id, "flag_n::text", "true");
        alltypes_samples_rows_free(&r);
    }

    sample_base(&n);
    n.small = INT16_MAX;
    n.small_n = INT16_MIN;
    n.small_n_is_null = false;
    n.int4 = INT32_MAX;
    n.int4_n = INT32_MIN;
    n.int4_n_is_null = false;
    n.big = INT64_MAX;
    n.big_n = INT64_MIN;
    n.big_n_is_null = false;
    n.flag = true;
    n.flag_n = false;
    n.flag_n_is_null = false;
    sample_expect(&n, &w);
    if (ROUNDTRIP("maximums", &n, &w, &r)) {
        g = &r.rows[0];
        CHECK_INT("small", g->small, INT16_MAX);
        CHECK_INT("small_n", g->small_n, INT16_MIN);
        CHECK_INT("int4", g->int4, INT32_MAX);
        CHECK_INT("int4_n", g->int4_n, INT32_MIN);
        CHECK_INT("big", g->big, INT64_MAX);
        CHECK_INT("big_n", g->big_n, INT64_MIN);
        CHECK_TRUE("flag", g->flag);
        CHECK_FALSE("flag_n (false, not NULL)", g->flag_n);
        CHECK_FALSE("flag_n_is_null", g->flag_n_is_null);
        CHECK_COL(g->id, "flag_n::text", "false");
        alltypes_samples_rows_free(&r);
    }

    sample_base(&n);
    n.small = 0;
    n.small_n = -1;
    n.small_n_is_null = false;
    n.int4 = 0;
    n.int4_n = -1;
    n.int4_n_is_null = false;
    n.big = 0;
    n.big_n = -1;
    n.big_n_is_null = false;
    sample_expect(&n, &w);
    if (ROUNDTRIP("zero and -1", &n, &w, &r)) {
        g = &r.rows[0];
        CHECK_INT("small", g->small, 0);
        CHECK_INT("small_n", g->small_n, -1);
        CHECK_INT("int4", g->int4, 0);
        CHECK_INT("int4_n", g->int4_n, -1);
        CHECK_INT("big", g->big, 0);
        CHECK_INT("big_n", g->big_n, -1);
        CHECK_FALSE("small_n_is_null (0 is not NULL)", g->small_n_is_null);
        alltypes_samples_rows_free(&r);
    }
}

/* ---- real and double precision -------------------------------------------- */

typedef struct float_case {
    const char *label;
    float r4, r4_n;
    double r8, r8_n;
    const char *r4_text, *r4_n_text, *r8_text, *r8_n_text;
} float_case;

static void test_floats(void)
{
    const float_case cases[] = {
        {"negative zero and the smallest subnormals", -0.0f, FLT_TRUE_MIN, -0.0, DBL_TRUE_MIN,
         "-0", "1e-45", "-0", "5e-324"},
        {"largest finite", FLT_MAX, -FLT_MAX, DBL_MAX, -DBL_MAX,
         "3.4028235e+38", "-3.4028235e+38", "1.7976931348623157e+308",
         "-1.7976931348623157e+308"},
        {"NaN and infinities", NAN, INFINITY, NAN, -INFINITY,
         "NaN", "Infinity", "NaN", "-Infinity"},
        {"infinities and smallest normals", -INFINITY, FLT_MIN, INFINITY, DBL_MIN,
         "-Infinity", "1.1754944e-38", "Infinity", "2.2250738585072014e-308"},
        {"ordinary values", 0.1f, -1e-30f, 0.1, 3.141592653589793,
         "0.1", "-1e-30", "0.1", "3.141592653589793"},
        {"zero", 0.0f, -0.0f, 0.0, -0.0, "0", "-0", "0", "-0"},
    };
    size_t i;

    section("real and double precision");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const float_case *c = &cases[i];
        alltypes_samples_new n;
        alltypes_samples w;
        alltypes_samples_rows r;

        sample_base(&n);
        n.r4 = c->r4;
        n.r4_n = c->r4_n;
        n.r4_n_is_null = false;
        n.r8 = c->r8;
        n.r8_n = c->r8_n;
        n.r8_n_is_null = false;
        sample_expect(&n, &w);
        if (!ROUNDTRIP(c->label, &n, &w, &r))
            continue;
        CHECK_F32("r4", r.rows[0].r4, c->r4);
        CHECK_F32("r4_n", r.rows[0].r4_n, c->r4_n);
        CHECK_F64("r8", r.rows[0].r8, c->r8);
        CHECK_F64("r8_n", r.rows[0].r8_n, c->r8_n);
        CHECK_TRUE("r4 sign bit kept", signbit(r.rows[0].r4) == signbit(c->r4));
        CHECK_TRUE("r8 sign bit kept", signbit(r.rows[0].r8) == signbit(c->r8));
        CHECK_COL(r.rows[0].id, "r4::text", c->r4_text);
        CHECK_COL(r.rows[0].id, "r4_n::text", c->r4_n_text);
        CHECK_COL(r.rows[0].id, "r8::text", c->r8_text);
        CHECK_COL(r.rows[0].id, "r8_n::text", c->r8_n_text);
        alltypes_samples_rows_free(&r);
    }
}

/* ---- numeric -------------------------------------------------------------- */

typedef struct numeric_case {
    const char *amount, *amount_want;       /* numeric(40,4) */
    const char *amount_n, *amount_n_want;   /* numeric */
} numeric_case;

static void test_numerics(void)
{
    static char e100[110];
    const numeric_case cases[] = {
        {"123456789012345678901234567890.1234", "123456789012345678901234567890.1234",
         "NaN", "NaN"},
        {"-0.0001", "-0.0001", "Infinity", "Infinity"},
        {"0.0000", "0.0000", "-Infinity", "-Infinity"},
        {"-0.00001", "0.0000", "1e100", e100},
        {"1.23456", "1.2346", "0.000000000000000000001", "0.000000000000000000001"},
        {"-99999999999999999999999999999999999.9999", "-99999999999999999999999999999999999.9999",
         "-1234567890.0987654321", "-1234567890.0987654321"},
        {"1.5", "1.5000", "1.500", "1.500"},
        {"0", "0.0000", "-0.000", "0.000"},
        {"-123456789012345678901234567890.1234", "-123456789012345678901234567890.1234",
         "98765432109876543210987654321098765432109876543210.0123456789",
         "98765432109876543210987654321098765432109876543210.0123456789"},
        {"  42  ", "42.0000", "1E-3", "0.001"},
        {"NaN", "NaN", "-0", "0"},
        /* Around the base-10000 digit groups of the binary format. */
        {"10000", "10000.0000", "9999.9999", "9999.9999"},
        {"-10000.0001", "-10000.0001", "0.00010000", "0.00010000"},
        {"0.5", "0.5000", "100000000.00000001", "100000000.00000001"},
        {"99999999.99995", "100000000.0000", "-0.000000001", "-0.000000001"},
    };
    size_t i;
    alltypes_samples_new n;
    alltypes_samples_rows r;
    dbont_error err;
    dbont_status st;
    int64_t before;

    section("numeric");
    e100[0] = '1';
    memset(e100 + 1, '0', 100);
    e100[101] = '\0';
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const numeric_case *c = &cases[i];
        alltypes_samples w;
        char label[128];

        sample_base(&n);
        n.amount = c->amount;
        n.amount_n = c->amount_n;
        n.amount_n_is_null = false;
        sample_expect(&n, &w);
        w.amount = c->amount_want;
        w.amount_n = c->amount_n_want;
        snprintf(label, sizeof label, "numeric %s / %.40s", c->amount, c->amount_n);
        if (!ROUNDTRIP(label, &n, &w, &r))
            continue;
        CHECK_STR("amount", r.rows[0].amount, c->amount_want);
        CHECK_STR("amount_n", r.rows[0].amount_n, c->amount_n_want);
        CHECK_COL(r.rows[0].id, "amount::text", c->amount_want);
        CHECK_COL(r.rows[0].id, "amount_n::text", c->amount_n_want);
        alltypes_samples_rows_free(&r);
    }

    before = count_rows("samples");
    sample_base(&n);
    n.amount = "1234567890123456789012345678901234567";  /* 37 digits > 36 */
    st = alltypes_samples_insert(g_conn, &n, &r, &err);
    CHECK_ERROR("numeric(40,4) with 37 integer digits", st, &err, "22003",
                "numeric field overflow\nDETAIL: A field with precision 40, scale 4 must "
                "round to an absolute value less than 10^36.");
    CHECK_INT("out rows after the failed insert", r.count, 0);
    CHECK_TRUE("out result after the failed insert is NULL", r.result == NULL);
    alltypes_samples_rows_free(&r);
    sample_base(&n);
    n.amount = "Infinity";
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("Infinity in numeric(40,4)", st, &err, "22003",
                "numeric field overflow\nDETAIL: A field with precision 40, scale 4 "
                "cannot hold an infinite value.");
    sample_base(&n);
    n.amount = "12abc";
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("numeric \"12abc\"", st, &err, "22P02",
                "invalid input syntax for type numeric: \"12abc\"");
    CHECK_INT("rows inserted by the failed inserts", count_rows("samples") - before, 0);
}

/* ---- text and varchar ---------------------------------------------------- */

#define LONG_TEXT_BYTES 102400

static char *long_text(size_t *chars)
{
    static const char unit[] = "abcdefghijklmnopqrstuvwxyz01234\xE2\x9C\x93"; /* 31 + ✓ */
    const size_t unit_len = sizeof unit - 1, unit_chars = 32;
    char *s = malloc(LONG_TEXT_BYTES + 1);
    size_t len = 0;
    *chars = 0;
    if (s == NULL)
        return NULL;
    while (len + unit_len <= LONG_TEXT_BYTES) {
        memcpy(s + len, unit, unit_len);
        len += unit_len;
        *chars += unit_chars;
    }
    while (len < LONG_TEXT_BYTES) {
        s[len++] = 'z';
        (*chars)++;
    }
    s[len] = '\0';
    return s;
}

static void test_text(void)
{
    static const char utf8[] = "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC";
    static const char ten_multibyte[] = "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                                        "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xE2\x9C\x93";
    static const char ten_cjk[] = "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE6\x97\xA5\xE6\x9C\xAC"
                                  "\xE8\xAA\x9E\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE6\x97\xA5";
    static const char specials[] = "it's \"quoted\" \\ back\\slash\nnew line\ttab\rcr $1 %s ; --";
    alltypes_samples_new n;
    alltypes_samples w;
    alltypes_samples_rows r;
    dbont_error err;
    dbont_status st;
    size_t long_chars = 0;
    char *big = long_text(&long_chars);
    char expect[32];
    int64_t before;

    section("text and varchar(10)");
    /* Empty text (not NULL), UTF-8, varchar at its limit in characters. */
    sample_base(&n);
    n.body = "";
    n.body_n = utf8;
    n.body_n_is_null = false;
    n.code = "0123456789";
    n.code_n = ten_multibyte;
    n.code_n_is_null = false;
    sample_expect(&n, &w);
    if (ROUNDTRIP("empty, UTF-8, 10 characters", &n, &w, &r)) {
        const alltypes_samples *g = &r.rows[0];
        CHECK_STR("body (empty)", g->body, "");
        CHECK_FALSE("body is a string, not NULL", g->body == NULL);
        CHECK_STR("body_n (UTF-8)", g->body_n, utf8);
        CHECK_STR("code (10 ASCII characters)", g->code, "0123456789");
        CHECK_STR("code_n (10 characters, 19 bytes)", g->code_n, ten_multibyte);
        CHECK_COL(g->id, "body IS NOT NULL AND body = ''", "t");
        CHECK_COL(g->id, "body_n", utf8);
        CHECK_COL(g->id, "length(body_n)", "16");
        CHECK_COL(g->id, "octet_length(body_n)", "24");
        CHECK_COL(g->id, "length(code_n) || '/' || octet_length(code_n)", "10/21");
        alltypes_samples_rows_free(&r);
    }

    /* A 100 KB string; an empty string in a nullable column. */
    if (big != NULL) {
        sample_base(&n);
        n.body = big;
        n.body_n = "";
        n.body_n_is_null = false;
        n.code = "";
        n.code_n = ten_cjk;
        n.code_n_is_null = false;
        sample_expect(&n, &w);
        if (ROUNDTRIP("100 KB text, empty strings, 10 CJK characters", &n, &w, &r)) {
            const alltypes_samples *g = &r.rows[0];
            CHECK_INT("strlen(body)", strlen(g->body), LONG_TEXT_BYTES);
            CHECK_TRUE("body equals the 100 KB sent", strcmp(g->body, big) == 0);
            CHECK_STR("body_n (empty, not NULL)", g->body_n, "");
            CHECK_FALSE("body_n_is_null", g->body_n_is_null);
            CHECK_STR("code (empty)", g->code, "");
            CHECK_STR("code_n", g->code_n, ten_cjk);
            snprintf(expect, sizeof expect, "%d", LONG_TEXT_BYTES);
            CHECK_COL(g->id, "octet_length(body)", expect);
            snprintf(expect, sizeof expect, "%zu", long_chars);
            CHECK_COL(g->id, "length(body)", expect);
            CHECK_COL(g->id, "body_n IS NOT NULL AND body_n = ''", "t");
            alltypes_samples_rows_free(&r);
        }
    } else {
        CHECK(false, "could not allocate the 100 KB text");
    }

    /* Quotes, backslashes, control characters: sent out of band. */
    sample_base(&n);
    n.body = specials;
    n.code_n = "x";
    n.code_n_is_null = false;
    sample_expect(&n, &w);
    if (ROUNDTRIP("quotes, backslashes, control characters", &n, &w, &r)) {
        CHECK_STR("body", r.rows[0].body, specials);
        CHECK_COL(r.rows[0].id, "body", specials);
        alltypes_samples_rows_free(&r);
    }

    /* 11 characters: refused by the server, never truncated. */
    before = count_rows("samples");
    sample_base(&n);
    n.body = "bad \xC3\x28 UTF-8";
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("invalid UTF-8 in text", st, &err, "22021",
                "invalid byte sequence for encoding \"UTF8\": 0xc3 0x28");
    sample_base(&n);
    n.code = "0123456789A";
    st = alltypes_samples_insert(g_conn, &n, &r, &err);
    CHECK_ERROR("varchar(10) code with 11 characters", st, &err, "22001",
                "value too long for type character varying(10)");
    CHECK_INT("rows after the refused insert", r.count, 0);
    alltypes_samples_rows_free(&r);
    sample_base(&n);
    n.code_n = "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9";
    n.code_n_is_null = false;
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("varchar(10) code_n with 11 two-byte characters", st, &err, "22001",
                "value too long for type character varying(10)");
    CHECK_INT("rows inserted (no silent truncation)", count_rows("samples") - before, 0);
    CHECK_SQL("rows with an 11-character prefix stored",
              "SELECT count(*) FROM samples WHERE code = '0123456789'", NULL, "1");
    free(big);
}

/* ---- uuid ------------------------------------------------------------------ */

static void test_uuid(void)
{
    struct {
        const char *label;
        dbont_uuid ref, ref_n;
    } cases[3];
    dbont_uuid parsed;
    size_t i;

    section("uuid");
    CHECK_INT("dbont_uuid_parse", dbont_uuid_parse("550E8400-e29b-41d4-a716-446655440000", &parsed), 0);
    cases[0].label = "all zero / all 0xff";
    cases[0].ref = uuid_fill(0x00);
    cases[0].ref_n = uuid_fill(0xFF);
    cases[1].label = "all 0xff / all zero";
    cases[1].ref = uuid_fill(0xFF);
    cases[1].ref_n = uuid_fill(0x00);
    cases[2].label = "random / parsed";
    cases[2].ref = uuid_random();
    cases[2].ref_n = parsed;
    for (i = 0; i < 3; i++) {
        alltypes_samples_new n;
        alltypes_samples w;
        alltypes_samples_rows r;
        char text[DBONT_UUID_TEXT_SIZE];

        sample_base(&n);
        n.ref = cases[i].ref;
        n.ref_n = cases[i].ref_n;
        n.ref_n_is_null = false;
        sample_expect(&n, &w);
        if (!ROUNDTRIP(cases[i].label, &n, &w, &r))
            continue;
        CHECK_UUID("ref", r.rows[0].ref, cases[i].ref);
        CHECK_UUID("ref_n", r.rows[0].ref_n, cases[i].ref_n);
        dbont_uuid_format(&cases[i].ref, text);
        CHECK_COL(r.rows[0].id, "ref::text", text);
        dbont_uuid_format(&cases[i].ref_n, text);
        CHECK_COL(r.rows[0].id, "ref_n::text", text);
        alltypes_samples_rows_free(&r);
    }
    CHECK_SQL("the parsed uuid, as the server reads it",
              "SELECT ref_n::text FROM samples WHERE ref_n = '550e8400-e29b-41d4-a716-446655440000'",
              NULL, "550e8400-e29b-41d4-a716-446655440000");
}

/* ---- date, timestamp, timestamptz ------------------------------------------ */

/* The last finite values PostgreSQL and dbont both hold. */
#define PG_DATE_MIN (-2440588)                 /* 4714-11-24 BC */
#define PG_DATE_MAX 2145042905                 /* 5874897-12-31 */
#define PG_TS_MIN (INT64_C(-2440588) * USECS_PER_DAY)  /* 4714-11-24 00:00:00 BC */

typedef struct date_case {
    const char *label;
    dbont_date day, day_n;
    const char *day_text, *day_n_text;
} date_case;

typedef struct ts_case {
    const char *label;
    dbont_timestamp at, at_n, at_tz, at_tz_n;
    const char *at_text, *at_n_text, *at_tz_text, *at_tz_n_text;
} ts_case;

static void test_dates(void)
{
    date_case dates[7];
    ts_case stamps[5];
    size_t i;
    alltypes_samples_new n;
    alltypes_samples_rows r;
    dbont_error err;
    dbont_status st;
    int64_t before;
    char idtext[32];

    section("date, timestamp, timestamptz");
    CHECK_INT("days_from_civil(1900-01-01)", days_from_civil(1900, 1, 1), -25567);
    CHECK_INT("days_from_civil(1970-01-01)", days_from_civil(1970, 1, 1), 0);

    dates[0] = (date_case){"1900-01-01 / 2100-06-15", days_from_civil(1900, 1, 1),
                           days_from_civil(2100, 6, 15), "1900-01-01", "2100-06-15"};
    dates[1] = (date_case){"infinity / -infinity", DBONT_DATE_INFINITY, DBONT_DATE_NEG_INFINITY,
                           "infinity", "-infinity"};
    dates[2] = (date_case){"-infinity / infinity", DBONT_DATE_NEG_INFINITY, DBONT_DATE_INFINITY,
                           "-infinity", "infinity"};
    dates[3] = (date_case){"1969-12-31 / 1970-01-01", -1, 0, "1969-12-31", "1970-01-01"};
    dates[4] = (date_case){"PostgreSQL's first and last date", PG_DATE_MIN, PG_DATE_MAX,
                           "4714-11-24 BC", "5874897-12-31"};
    dates[5] = (date_case){"2038-01-20 / 2000-02-29", days_from_civil(2038, 1, 20),
                           days_from_civil(2000, 2, 29), "2038-01-20", "2000-02-29"};
    dates[6] = (date_case){"0001-01-01 / 0001-12-31 BC (no year 0)", days_from_civil(1, 1, 1),
                           days_from_civil(1, 1, 1) - 1, "0001-01-01", "0001-12-31 BC"};
    for (i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        alltypes_samples w;
        sample_base(&n);
        n.day = dates[i].day;
        n.day_n = dates[i].day_n;
        n.day_n_is_null = false;
        sample_expect(&n, &w);
        if (!ROUNDTRIP(dates[i].label, &n, &w, &r))
            continue;
        CHECK_INT("day", r.rows[0].day, dates[i].day);
        CHECK_INT("day_n", r.rows[0].day_n, dates[i].day_n);
        CHECK_COL(r.rows[0].id, "day::text", dates[i].day_text);
        CHECK_COL(r.rows[0].id, "day_n::text", dates[i].day_n_text);
        alltypes_samples_rows_free(&r);
    }

    stamps[0] = (ts_case){"1900-01-01 / 2100-06-15 12:34:56.789012",
                          ts_of(1900, 1, 1, 0, 0, 0, 0), ts_of(2100, 6, 15, 12, 34, 56, 789012),
                          ts_of(1900, 1, 1, 0, 0, 0, 0), ts_of(2100, 6, 15, 12, 34, 56, 789012),
                          "1900-01-01 00:00:00", "2100-06-15 12:34:56.789012",
                          "1900-01-01 00:00:00", "2100-06-15 12:34:56.789012"};
    stamps[1] = (ts_case){"infinities", DBONT_TIMESTAMP_INFINITY, DBONT_TIMESTAMP_NEG_INFINITY,
                          DBONT_TIMESTAMP_NEG_INFINITY, DBONT_TIMESTAMP_INFINITY,
                          "infinity", "-infinity", "-infinity", "infinity"};
    stamps[2] = (ts_case){"one microsecond either side of the epoch", -1, 1, -1, 1,
                          "1969-12-31 23:59:59.999999", "1970-01-01 00:00:00.000001",
                          "1969-12-31 23:59:59.999999", "1970-01-01 00:00:00.000001"};
    stamps[3] = (ts_case){"2038-01-19 03:14:08 (2^31 s) / 1899-12-31 23:59:59.5",
                          INT64_C(2147483648) * USECS_PER_SEC, ts_of(1899, 12, 31, 23, 59, 59, 500000),
                          INT64_C(2147483648) * USECS_PER_SEC, ts_of(1899, 12, 31, 23, 59, 59, 500000),
                          "2038-01-19 03:14:08", "1899-12-31 23:59:59.5",
                          "2038-01-19 03:14:08", "1899-12-31 23:59:59.5"};
    stamps[4] = (ts_case){"first timestamp / last one dbont holds", PG_TS_MIN, INT64_MAX - 1,
                          PG_TS_MIN, INT64_MAX - 1,
                          "4714-11-24 00:00:00 BC", "294247-01-10 04:00:54.775806",
                          "4714-11-24 00:00:00 BC", "294247-01-10 04:00:54.775806"};
    for (i = 0; i < sizeof stamps / sizeof stamps[0]; i++) {
        alltypes_samples w;
        const ts_case *c = &stamps[i];
        sample_base(&n);
        n.at = c->at;
        n.at_n = c->at_n;
        n.at_n_is_null = false;
        n.at_tz = c->at_tz;
        n.at_tz_n = c->at_tz_n;
        n.at_tz_n_is_null = false;
        sample_expect(&n, &w);
        if (!ROUNDTRIP(c->label, &n, &w, &r))
            continue;
        CHECK_INT("at", r.rows[0].at, c->at);
        CHECK_INT("at_n", r.rows[0].at_n, c->at_n);
        CHECK_INT("at_tz", r.rows[0].at_tz, c->at_tz);
        CHECK_INT("at_tz_n", r.rows[0].at_tz_n, c->at_tz_n);
        CHECK_COL(r.rows[0].id, "at::text", c->at_text);
        CHECK_COL(r.rows[0].id, "at_n::text", c->at_n_text);
        /* The session's time zone is Pacific/Chatham: compare in UTC. */
        CHECK_COL(r.rows[0].id, "(at_tz AT TIME ZONE 'UTC')::text", c->at_tz_text);
        CHECK_COL(r.rows[0].id, "(at_tz_n AT TIME ZONE 'UTC')::text", c->at_tz_n_text);
        alltypes_samples_rows_free(&r);
    }

    /* Values neither side can hold are refused, never wrapped. */
    before = count_rows("samples");
    sample_base(&n);
    n.day = INT32_MIN + 1;
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("date INT32_MIN + 1 (client side)", st, &err, "22008", NULL);
    sample_base(&n);
    n.day = INT32_MAX - 1;
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("date INT32_MAX - 1 (beyond PostgreSQL's last date)", st, &err, "22008", NULL);
    sample_base(&n);
    n.at_tz = INT64_MIN + 1;
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("timestamptz INT64_MIN + 1 (client side)", st, &err, "22008", NULL);
    sample_base(&n);
    n.at = PG_TS_MIN - 1;
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("timestamp before 4714-11-24 BC", st, &err, "22008", "timestamp out of range");
    CHECK_INT("rows inserted by the refused inserts", count_rows("samples") - before, 0);

    /* A timestamp PostgreSQL holds but dbont cannot: the read fails with
     * 22008 instead of wrapping or turning into infinity. */
    sample_base(&n);
    n.body = "beyond dbont's range";
    st = alltypes_samples_insert(g_conn, &n, &r, &err);
    if (CHECK_OK("insert a row to push out of range", st, &err) && r.count == 1) {
        int64_t id = r.rows[0].id;
        alltypes_samples_rows got;
        snprintf(idtext, sizeof idtext, "%" PRId64, id);
        alltypes_samples_rows_free(&r);
        CHECK_SQL("plant at = 2^63-1 us after 1970 (PostgreSQL holds it)",
                  "UPDATE samples SET at = '294247-01-10 04:00:54.775807' WHERE id = $1 "
                  "RETURNING at::text", idtext, "294247-01-10 04:00:54.775807");
        st = alltypes_samples_get(g_conn, id, &got, &err);
        CHECK_ERROR("get it (it would read as infinity)", st, &err, "22008",
                    "samples.at: timestamp without time zone value out of the range dbont can hold");
        CHECK_TRUE("out is empty after the failed get", got.count == 0 && got.result == NULL);
        alltypes_samples_rows_free(&got);
        CHECK_SQL("plant at_tz = 294270-06-01 (at back in range)",
                  "UPDATE samples SET at = '294247-01-10 04:00:54.775806', "
                  "at_tz = '294270-06-01 00:00:00+00' WHERE id = $1 RETURNING at::text",
                  idtext, "294247-01-10 04:00:54.775806");
        st = alltypes_samples_get(g_conn, id, &got, &err);
        CHECK_ERROR("get it", st, &err, "22008",
                    "samples.at_tz: timestamp with time zone value out of the range dbont can hold");
        alltypes_samples_rows_free(&got);
        CHECK_SQL("put at_tz back in range", "UPDATE samples SET at_tz = 'epoch' WHERE id = $1 "
                  "RETURNING at_tz = 'epoch'", idtext, "t");
        st = alltypes_samples_get(g_conn, id, &got, &err);
        if (CHECK_OK("get it again", st, &err) && CHECK_INT("rows", got.count, 1)) {
            CHECK_INT("at (the last microsecond dbont holds)", got.rows[0].at, INT64_MAX - 1);
            CHECK_INT("at_tz", got.rows[0].at_tz, 0);
        }
        alltypes_samples_rows_free(&got);
        st = alltypes_samples_delete(g_conn, id, &err);
        CHECK_OK("delete the out-of-range row", st, &err);
    } else {
        alltypes_samples_rows_free(&r);
    }
}

/* ---- jsonb ------------------------------------------------------------------ */

typedef struct json_case {
    const char *doc, *doc_want;
    const char *doc_n, *doc_n_want;
} json_case;

static void test_jsonb(void)
{
    const json_case cases[] = {
        /* Keys sorted (shorter first, then bytewise), the last duplicate
         * wins, whitespace normalised. */
        {"{\"b\":1,   \"a\" : [1,2,{\"c\":null}], \"aa\":\"x\", \"k\":1, \"k\":2}",
         "{\"a\": [1, 2, {\"c\": null}], \"b\": 1, \"k\": 2, \"aa\": \"x\"}",
         "[ 1,\"two\" , null,true,false, 1e2, 1.50, -0 ]",
         "[1, \"two\", null, true, false, 100, 1.50, 0]"},
        {"{\"l1\":{\"l2\":{\"l3\":{\"l4\":[[],{}, [[[]]]]}}}}",
         "{\"l1\": {\"l2\": {\"l3\": {\"l4\": [[], {}, [[[]]]]}}}}",
         "{\"emoji\":\"\xF0\x9F\x98\x80\",\"esc\":\"\\ud83d\\ude00\",\"\xC3\xA9\":\"\\u00e9\\u65e5\"}",
         "{\"\xC3\xA9\": \"\xC3\xA9\xE6\x97\xA5\", \"esc\": \"\xF0\x9F\x98\x80\", \"emoji\": \"\xF0\x9F\x98\x80\"}"},
        /* JSON null is a value, not SQL NULL. */
        {"null", "null", "\"a\\\"b\\\\c\\n\\t\"", "\"a\\\"b\\\\c\\n\\t\""},
        {"[]", "[]", "12345678901234567890.5", "12345678901234567890.5"},
    };
    size_t i;
    alltypes_samples_new n;
    alltypes_samples_rows r;
    dbont_error err;
    dbont_status st;
    int64_t before;

    section("jsonb");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const json_case *c = &cases[i];
        alltypes_samples w;
        char label[64];
        sample_base(&n);
        n.doc = c->doc;
        n.doc_n = c->doc_n;
        n.doc_n_is_null = false;
        sample_expect(&n, &w);
        w.doc = c->doc_want;
        w.doc_n = c->doc_n_want;
        snprintf(label, sizeof label, "jsonb case %zu", i + 1);
        if (!ROUNDTRIP(label, &n, &w, &r))
            continue;
        CHECK_STR("doc (normalised)", r.rows[0].doc, c->doc_want);
        CHECK_STR("doc_n (normalised)", r.rows[0].doc_n, c->doc_n_want);
        CHECK_FALSE("doc_n_is_null", r.rows[0].doc_n_is_null);
        CHECK_COL(r.rows[0].id, "doc::text", c->doc_want);
        CHECK_COL(r.rows[0].id, "doc_n::text", c->doc_n_want);
        alltypes_samples_rows_free(&r);
    }
    CHECK_SQL("JSON null is not SQL NULL",
              "SELECT count(*) FROM samples WHERE doc = 'null'::jsonb AND doc IS NOT NULL",
              NULL, "1");

    before = count_rows("samples");
    sample_base(&n);
    n.doc = "{\"a\":";
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("invalid JSON", st, &err, "22P02", NULL);
    CHECK_TRUE("the message names the type",
               strncmp(err.message, "invalid input syntax for type json", 34) == 0);
    sample_base(&n);
    n.doc = "\"\\u0000\"";
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("\\u0000 in jsonb", st, &err, "22P05", NULL);
    CHECK_INT("rows inserted by the refused inserts", count_rows("samples") - before, 0);
}

/* ---- bytea ------------------------------------------------------------------- */

#define BIG_BLOB (256 * 1024)

static void test_bytea(void)
{
    static const uint8_t nuls[] = {0, 'a', 0, 0, 'b', 0};
    static const uint8_t one_nul[] = {0};
    uint8_t all[256];
    uint8_t *big = malloc(BIG_BLOB);
    uint32_t x = 12345;
    size_t i;
    alltypes_samples_new n;
    alltypes_samples w;
    alltypes_samples_rows r;
    dbont_error err;
    dbont_status st;
    char *hex;

    section("bytea");
    for (i = 0; i < 256; i++)
        all[i] = (uint8_t)i;

    sample_base(&n);
    n.blob.data = nuls;
    n.blob.len = sizeof nuls;
    n.blob_n.data = all;
    n.blob_n.len = sizeof all;
    n.blob_n_is_null = false;
    sample_expect(&n, &w);
    if (ROUNDTRIP("NUL bytes / all 256 byte values", &n, &w, &r)) {
        CHECK_BYTES("blob", r.rows[0].blob, nuls, sizeof nuls);
        CHECK_BYTES("blob_n", r.rows[0].blob_n, all, sizeof all);
        CHECK_COL(r.rows[0].id, "encode(blob, 'hex')", "006100006200");
        hex = hex_of(all, sizeof all);
        CHECK_COL(r.rows[0].id, "encode(blob_n, 'hex')", hex);
        free(hex);
        alltypes_samples_rows_free(&r);
    }

    /* Empty: with a NULL data pointer and with a real one; neither is NULL. */
    sample_base(&n);
    n.blob.data = NULL;
    n.blob.len = 0;
    n.blob_n.data = all;
    n.blob_n.len = 0;
    n.blob_n_is_null = false;
    sample_expect(&n, &w);
    if (ROUNDTRIP("empty bytea (NULL data) / empty bytea", &n, &w, &r)) {
        CHECK_INT("blob.len", r.rows[0].blob.len, 0);
        CHECK_INT("blob_n.len", r.rows[0].blob_n.len, 0);
        CHECK_FALSE("blob_n_is_null", r.rows[0].blob_n_is_null);
        CHECK_COL(r.rows[0].id, "blob IS NOT NULL AND octet_length(blob) = 0", "t");
        CHECK_COL(r.rows[0].id, "blob_n IS NOT NULL AND octet_length(blob_n) = 0", "t");
        alltypes_samples_rows_free(&r);
    }

    if (big != NULL) {
        for (i = 0; i < BIG_BLOB; i++) {
            x = x * 1103515245u + 12345u;
            big[i] = (uint8_t)(x >> 16);
        }
        sample_base(&n);
        n.blob.data = big;
        n.blob.len = BIG_BLOB;
        n.blob_n.data = one_nul;
        n.blob_n.len = 1;
        n.blob_n_is_null = false;
        sample_expect(&n, &w);
        if (ROUNDTRIP("256 KiB pseudo-random / one NUL", &n, &w, &r)) {
            CHECK_BYTES("blob", r.rows[0].blob, big, BIG_BLOB);
            CHECK_BYTES("blob_n", r.rows[0].blob_n, one_nul, 1);
            CHECK_COL(r.rows[0].id, "octet_length(blob)", "262144");
            CHECK_COL(r.rows[0].id, "encode(blob_n, 'hex')", "00");
            alltypes_samples_rows_free(&r);
        }
        free(big);
    }

    sample_base(&n);
    n.blob.data = NULL;
    n.blob.len = 5;
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("bytea with NULL data and length 5", st, &err, "22023", NULL);
}

/* ---- NULLs ------------------------------------------------------------------------ */

static void test_nulls(void)
{
    alltypes_samples_new n;
    alltypes_samples w;
    alltypes_samples_rows r;
    dbont_error err;
    dbont_status st;
    int64_t before;

    section("NULLs");
    /* Every nullable column NULL: the flags set, and NULL pointers. */
    sample_base(&n);
    n.note_set = true;
    n.note_is_null = true;
    n.note = NULL;
    sample_expect(&n, &w);
    if (ROUNDTRIP("every nullable column NULL", &n, &w, &r)) {
        const alltypes_samples *g = &r.rows[0];
        int64_t id = g->id;
        CHECK_TRUE("small_n_is_null", g->small_n_is_null);
        CHECK_TRUE("int4_n_is_null", g->int4_n_is_null);
        CHECK_TRUE("big_n_is_null", g->big_n_is_null);
        CHECK_TRUE("flag_n_is_null", g->flag_n_is_null);
        CHECK_TRUE("r4_n_is_null", g->r4_n_is_null);
        CHECK_TRUE("r8_n_is_null", g->r8_n_is_null);
        CHECK_TRUE("amount_n_is_null", g->amount_n_is_null);
        CHECK_TRUE("amount_n == NULL", g->amount_n == NULL);
        CHECK_TRUE("body_n_is_null", g->body_n_is_null);
        CHECK_TRUE("body_n == NULL", g->body_n == NULL);
        CHECK_TRUE("code_n_is_null", g->code_n_is_null);
        CHECK_TRUE("code_n == NULL", g->code_n == NULL);
        CHECK_TRUE("ref_n_is_null", g->ref_n_is_null);
        CHECK_TRUE("day_n_is_null", g->day_n_is_null);
        CHECK_TRUE("at_n_is_null", g->at_n_is_null);
        CHECK_TRUE("at_tz_n_is_null", g->at_tz_n_is_null);
        CHECK_TRUE("doc_n_is_null", g->doc_n_is_null);
        CHECK_TRUE("doc_n == NULL", g->doc_n == NULL);
        CHECK_TRUE("blob_n_is_null", g->blob_n_is_null);
        CHECK_TRUE("blob_n.data == NULL", g->blob_n.data == NULL && g->blob_n.len == 0);
        CHECK_TRUE("note_is_null", g->note_is_null);
        CHECK_TRUE("note == NULL", g->note == NULL);
        CHECK_COL(id, "num_nulls(small_n, int4_n, big_n, flag_n, r4_n, r8_n, amount_n, body_n, "
                  "code_n, ref_n, day_n, at_n, at_tz_n, doc_n, blob_n, note)", "16");
        CHECK_COL(id, "num_nulls(small, int4, big, flag, r4, r8, amount, body, code, ref, day, "
                  "at, at_tz, doc, blob, created_at)", "0");
        alltypes_samples_rows_free(&r);
    }

    /* A NULL pointer alone means NULL for text, numeric and jsonb; so does
     * the flag alone (the pointer is then not read). */
    sample_base(&n);
    n.amount_n_is_null = false;
    n.amount_n = NULL;
    n.body_n_is_null = false;
    n.body_n = NULL;
    n.code_n_is_null = true;
    n.code_n = "ignored";
    n.doc_n_is_null = false;
    n.doc_n = NULL;
    sample_expect(&n, &w);
    if (ROUNDTRIP("NULL pointers without the flag, the flag with a pointer", &n, &w, &r)) {
        CHECK_TRUE("amount_n_is_null", r.rows[0].amount_n_is_null);
        CHECK_TRUE("body_n_is_null", r.rows[0].body_n_is_null);
        CHECK_TRUE("code_n_is_null", r.rows[0].code_n_is_null);
        CHECK_TRUE("doc_n_is_null", r.rows[0].doc_n_is_null);
        CHECK_COL(r.rows[0].id, "num_nulls(amount_n, body_n, code_n, doc_n)", "4");
        alltypes_samples_rows_free(&r);
    }

    /* NULL pointers in NOT NULL columns: refused before anything is sent. */
    before = count_rows("samples");
    sample_base(&n);
    n.body = NULL;
    st = alltypes_samples_insert(g_conn, &n, &r, &err);
    CHECK_ERROR("NULL body (text NOT NULL)", st, &err, "23502",
                "samples.body is NOT NULL but the value given is NULL");
    CHECK_INT("rows returned", r.count, 0);
    CHECK_TRUE("no result", r.result == NULL && r.rows == NULL);
    alltypes_samples_rows_free(&r);
    sample_base(&n);
    n.amount = NULL;
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("NULL amount (numeric NOT NULL)", st, &err, "23502",
                "samples.amount is NOT NULL but the value given is NULL");
    sample_base(&n);
    n.code = NULL;
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("NULL code (varchar NOT NULL)", st, &err, "23502",
                "samples.code is NOT NULL but the value given is NULL");
    sample_base(&n);
    n.doc = NULL;
    st = alltypes_samples_insert(g_conn, &n, NULL, &err);
    CHECK_ERROR("NULL doc (jsonb NOT NULL)", st, &err, "23502",
                "samples.doc is NOT NULL but the value given is NULL");
    CHECK_INT("rows inserted by the refused inserts", count_rows("samples") - before, 0);
}

/* ---- defaults -------------------------------------------------------------------- */

static void test_defaults(void)
{
    alltypes_samples_new n;
    alltypes_samples w;
    alltypes_samples_rows r;
    dbont_timestamp t0, t1;
    time_t client_now;

    section("defaults");
    sample_base(&n);
    n.note = "ignored: note_set is false";
    n.created_at = 12345;
    n.id = 777;
    t0 = server_clock();
    client_now = time(NULL);
    sample_expect(&n, &w);
    w.note = "none";
    w.created_at = 0;
    if (ROUNDTRIP("defaults left unset", &n, &w, &r)) {
        const alltypes_samples *g = &r.rows[0];
        char idtext[32];
        t1 = server_clock();
        CHECK_STR("note (default 'none')", g->note, "none");
        CHECK_FALSE("note_is_null", g->note_is_null);
        CHECK(g->created_at >= t0 && g->created_at <= t1,
              "created_at = %" PRId64 " is now(): between the server clock before (%" PRId64
              ") and after (%" PRId64 ") the insert", g->created_at, t0, t1);
        CHECK(llabs((long long)(g->created_at / USECS_PER_SEC - (int64_t)client_now)) <= 5,
              "created_at is within 5 s of the client's clock (%lld s apart)",
              llabs((long long)(g->created_at / USECS_PER_SEC - (int64_t)client_now)));
        CHECK(g->id != 777, "id %" PRId64 " comes from the sequence, not the unset field", g->id);
        snprintf(idtext, sizeof idtext, "%" PRId64, g->id);
        CHECK_SQL("currval of the id sequence", "SELECT currval(pg_get_serial_sequence('samples', 'id'))::text",
                  NULL, idtext);
        alltypes_samples_rows_free(&r);
    }

    /* A second unset insert takes the next number. */
    {
        alltypes_samples_rows r1, r2;
        dbont_error err;
        dbont_status s1, s2;
        sample_base(&n);
        s1 = alltypes_samples_insert(g_conn, &n, &r1, &err);
        s2 = alltypes_samples_insert(g_conn, &n, &r2, &err);
        if (CHECK_TRUE("two inserts with the id unset succeed", s1 == DBONT_OK && s2 == DBONT_OK &&
                       r1.count == 1 && r2.count == 1))
            CHECK_INT("the second id is the next number", r2.rows[0].id - r1.rows[0].id, 1);
        alltypes_samples_rows_free(&r1);
        alltypes_samples_rows_free(&r2);
    }

    /* Set explicitly: the given values, including NULL for note. */
    sample_base(&n);
    n.id_set = true;
    n.id = 5000000001;
    n.note_set = true;
    n.note = "explicit note";
    n.created_at_set = true;
    n.created_at = ts_of(1900, 1, 1, 0, 0, 0, 0);
    sample_expect(&n, &w);
    if (ROUNDTRIP("defaults set explicitly", &n, &w, &r)) {
        CHECK_INT("id (explicit)", r.rows[0].id, INT64_C(5000000001));
        CHECK_STR("note (explicit)", r.rows[0].note, "explicit note");
        CHECK_INT("created_at (explicit 1900-01-01)", r.rows[0].created_at,
                  INT64_C(-2208988800000000));
        CHECK_COL(r.rows[0].id, "(created_at AT TIME ZONE 'UTC')::text", "1900-01-01 00:00:00");
        alltypes_samples_rows_free(&r);
    }

    sample_base(&n);
    n.note_set = true;
    n.note_is_null = true;
    n.note = "ignored: note_is_null";
    sample_expect(&n, &w);
    if (ROUNDTRIP("note set to NULL (flag)", &n, &w, &r)) {
        CHECK_TRUE("note_is_null", r.rows[0].note_is_null);
        CHECK_TRUE("note == NULL", r.rows[0].note == NULL);
        CHECK_COL(r.rows[0].id, "note IS NULL", "t");
        alltypes_samples_rows_free(&r);
    }

    sample_base(&n);
    n.note_set = true;
    n.note = NULL;
    sample_expect(&n, &w);
    if (ROUNDTRIP("note set to NULL (pointer)", &n, &w, &r)) {
        CHECK_TRUE("note_is_null", r.rows[0].note_is_null);
        CHECK_COL(r.rows[0].id, "note IS NULL", "t");
        alltypes_samples_rows_free(&r);
    }

    sample_base(&n);
    n.note_set = true;
    n.note = "";
    sample_expect(&n, &w);
    if (ROUNDTRIP("note set to ''", &n, &w, &r)) {
        CHECK_STR("note", r.rows[0].note, "");
        CHECK_FALSE("note_is_null", r.rows[0].note_is_null);
        alltypes_samples_rows_free(&r);
    }

    sample_base(&n);
    n.created_at_set = true;
    n.created_at = DBONT_TIMESTAMP_NEG_INFINITY;
    sample_expect(&n, &w);
    if (ROUNDTRIP("created_at set to -infinity", &n, &w, &r)) {
        CHECK_INT("created_at", r.rows[0].created_at, DBONT_TIMESTAMP_NEG_INFINITY);
        alltypes_samples_rows_free(&r);
    }
}

/* ---- update, delete, get of missing keys -------------------------------------- */

static void test_update_delete(void)
{
    static const uint8_t blob2[] = {0xFF, 0x00, 0xFE};
    alltypes_samples_new n;
    alltypes_samples w;
    alltypes_samples_rows r, r2;
    dbont_error err;
    dbont_status st;
    int64_t id;

    section("update, delete, get");
    sample_base(&n);
    n.small_n = 5;
    n.small_n_is_null = false;
    n.body_n = "will become NULL";
    n.body_n_is_null = false;
    n.note_set = true;
    n.note = "before";
    sample_expect(&n, &w);
    if (!ROUNDTRIP("row to update", &n, &w, &r))
        return;
    id = r.rows[0].id;

    /* Change every non-key column, NULL to value and value to NULL, using
     * the row read back (its strings still live in r). */
    {
        alltypes_samples u = r.rows[0];
        u.small = -7;
        u.small_n_is_null = true;
        u.int4 = 70000;
        u.int4_n = -70000;
        u.int4_n_is_null = false;
        u.big = INT64_C(1) << 40;
        u.big_n_is_null = false;
        u.big_n = -(INT64_C(1) << 40);
        u.flag = !u.flag;
        u.flag_n = true;
        u.flag_n_is_null = false;
        u.r4 = -0.0f;
        u.r4_n = NAN;
        u.r4_n_is_null = false;
        u.r8 = -INFINITY;
        u.r8_n = 1e-300;
        u.r8_n_is_null = false;
        u.amount = "-5.5";
        u.amount_n = "NaN";
        u.amount_n_is_null = false;
        u.body = "updated body \xE2\x9C\x93";
        u.body_n = NULL;
        u.body_n_is_null = true;
        u.code = "upd";
        u.code_n = "upd_n";
        u.code_n_is_null = false;
        u.ref = uuid_fill(0xAB);
        u.ref_n = uuid_fill(0xCD);
        u.ref_n_is_null = false;
        u.day = DBONT_DATE_INFINITY;
        u.day_n = days_from_civil(1800, 3, 1);
        u.day_n_is_null = false;
        u.at = ts_of(2100, 6, 15, 12, 34, 56, 789012);
        u.at_n = DBONT_TIMESTAMP_NEG_INFINITY;
        u.at_n_is_null = false;
        u.at_tz = ts_of(1900, 1, 1, 0, 0, 0, 1);
        u.at_tz_n = 0;
        u.at_tz_n_is_null = false;
        u.doc = "{\"updated\": true}";
        u.doc_n = "[1]";
        u.doc_n_is_null = false;
        u.blob.data = blob2;
        u.blob.len = sizeof blob2;
        u.blob_n.data = NULL;
        u.blob_n.len = 0;
        u.blob_n_is_null = false;
        u.note = NULL;
        u.note_is_null = true;
        u.created_at = DBONT_TIMESTAMP_INFINITY;
        st = alltypes_samples_update(g_conn, &u, &err);
        CHECK_OK("update every column by primary key", st, &err);

        w = u;
        w.small_n = 0;
        w.body_n = NULL;
        w.amount = "-5.5000";
        w.doc = "{\"updated\": true}";
        st = alltypes_samples_get(g_conn, id, &r2, &err);
        if (CHECK_OK("get the updated row", st, &err) && CHECK_INT("rows", r2.count, 1)) {
            int bad = sample_compare(&w, &r2.rows[0], true);
            CHECK_INT("fields that differ from the update (of 33)", bad, 0);
            CHECK_INT("small", r2.rows[0].small, -7);
            CHECK_TRUE("small_n_is_null (value -> NULL)", r2.rows[0].small_n_is_null);
            CHECK_FALSE("int4_n_is_null (NULL -> value)", r2.rows[0].int4_n_is_null);
            CHECK_INT("int4_n", r2.rows[0].int4_n, -70000);
            CHECK_STR("amount", r2.rows[0].amount, "-5.5000");
            CHECK_STR("body", r2.rows[0].body, "updated body \xE2\x9C\x93");
            CHECK_TRUE("body_n_is_null (value -> NULL)", r2.rows[0].body_n_is_null);
            CHECK_TRUE("note_is_null", r2.rows[0].note_is_null);
            CHECK_INT("created_at", r2.rows[0].created_at, DBONT_TIMESTAMP_INFINITY);
            CHECK_TRUE("r4_n is NaN", isnan(r2.rows[0].r4_n));
            CHECK_COL(id, "day_n::text", "1800-03-01");
            CHECK_COL(id, "r8::text", "-Infinity");
            CHECK_COL(id, "encode(blob, 'hex')", "ff00fe");
            CHECK_COL(id, "created_at::text", "infinity");
        }
        alltypes_samples_rows_free(&r2);

        /* NOT NULL is enforced on update as on insert. */
        u.body = NULL;
        st = alltypes_samples_update(g_conn, &u, &err);
        CHECK_ERROR("update with a NULL body", st, &err, "23502",
                    "samples.body is NOT NULL but the value given is NULL");
        CHECK_COL(id, "body", "updated body \xE2\x9C\x93");
        u.body = "x";
        u.code = "01234567890";
        st = alltypes_samples_update(g_conn, &u, &err);
        CHECK_ERROR("update with 11 characters in varchar(10)", st, &err, "22001",
                    "value too long for type character varying(10)");
        CHECK_COL(id, "body", "updated body \xE2\x9C\x93");

        u.code = "x";
        u.id = -12345;
        st = alltypes_samples_update(g_conn, &u, &err);
        CHECK_STATUS("update of a missing key", st, DBONT_NOT_FOUND, &err);
        CHECK_SQL("no row with the missing key", "SELECT count(*) FROM samples WHERE id = -12345",
                  NULL, "0");
    }
    alltypes_samples_rows_free(&r);

    st = alltypes_samples_get(g_conn, id, NULL, &err);
    CHECK_OK("get with out NULL (existence test)", st, &err);
    st = alltypes_samples_delete(g_conn, id, &err);
    CHECK_OK("delete", st, &err);
    st = alltypes_samples_delete(g_conn, id, &err);
    CHECK_STATUS("delete again", st, DBONT_NOT_FOUND, &err);
    memset(&r, 0xA5, sizeof r);
    st = alltypes_samples_get(g_conn, id, &r, &err);
    CHECK_STATUS("get the deleted row", st, DBONT_NOT_FOUND, &err);
    CHECK_TRUE("out is emptied (count 0, rows NULL, result NULL)",
               r.count == 0 && r.rows == NULL && r.result == NULL);
    alltypes_samples_rows_free(&r);
    st = alltypes_samples_get(g_conn, id, NULL, &err);
    CHECK_STATUS("get with out NULL of the deleted row", st, DBONT_NOT_FOUND, &err);
    st = alltypes_samples_get(g_conn, INT64_MIN, &r, &err);
    CHECK_STATUS("get of INT64_MIN (never inserted)", st, DBONT_NOT_FOUND, &err);
    alltypes_samples_rows_free(&r);
}

/* ---- list ------------------------------------------------------------------------ */

static void test_list_samples(void)
{
    alltypes_samples_new n;
    alltypes_samples_rows page;
    dbont_error err;
    dbont_status st;
    const int64_t shuffled[] = {9000003, 9000001, 9000005, 9000002, 9000004};
    size_t i, total_seen = 0, pages = 0;
    bool ordered = true, ok = true;
    int64_t last = INT64_MIN, total;
    char *ids = NULL, *want = NULL;
    size_t ids_len = 0;

    section("list samples (limit/offset, primary key order)");
    /* Ids inserted out of order: list must sort them. */
    for (i = 0; i < sizeof shuffled / sizeof shuffled[0]; i++) {
        sample_base(&n);
        n.id_set = true;
        n.id = shuffled[i];
        st = alltypes_samples_insert(g_conn, &n, NULL, &err);
        if (st != DBONT_OK)
            CHECK_OK("insert with an explicit id", st, &err);
    }
    total = count_rows("samples");
    CHECK(total >= 25, "samples holds %" PRId64 " rows (at least 25)", total);
    ids = malloc((size_t)total * 24 + 1);
    if (ids == NULL)
        return;
    ids[0] = '\0';
    for (;;) {
        st = alltypes_samples_list(g_conn, 7, (int64_t)total_seen, &page, &err);
        if (st != DBONT_OK) {
            CHECK_OK("list page", st, &err);
            ok = false;
            break;
        }
        pages++;
        for (i = 0; i < page.count; i++) {
            if (page.rows[i].id <= last)
                ordered = false;
            last = page.rows[i].id;
            ids_len += (size_t)sprintf(ids + ids_len, "%s%" PRId64, ids_len ? "," : "",
                                       page.rows[i].id);
        }
        total_seen += page.count;
        if (page.count < 7) {
            CHECK_INT("size of the last page", page.count, total % 7);
            alltypes_samples_rows_free(&page);
            break;
        }
        alltypes_samples_rows_free(&page);
        if (pages > 100)
            break;
    }
    if (ok) {
        CHECK_INT("pages of 7", pages, total / 7 + 1);
        CHECK_INT("rows seen over all pages", total_seen, total);
        CHECK_TRUE("ids strictly increasing across pages (no duplicates)", ordered);
        want = sql_value("SELECT string_agg(id::text, ',' ORDER BY id) FROM samples", NULL, &ok);
        CHECK_TRUE("the pages, joined, are every id in order (no gaps)", ok && same_str(ids, want));
        free(want);
    }
    free(ids);

    st = alltypes_samples_list(g_conn, 3, 0, &page, &err);
    if (CHECK_OK("list 3 from the start", st, &err) && CHECK_INT("rows", page.count, 3)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRId64, page.rows[0].id);
        CHECK_SQL("first row is min(id)", "SELECT min(id)::text FROM samples", NULL, buf);
    }
    alltypes_samples_rows_free(&page);
    st = alltypes_samples_list(g_conn, 2, total - 2, &page, &err);
    if (CHECK_OK("list the last 2", st, &err) && CHECK_INT("rows", page.count, 2)) {
        CHECK_INT("row 1", page.rows[0].id, 9000005);
        CHECK_INT("row 2 (the explicit id of the defaults section)", page.rows[1].id,
                  INT64_C(5000000001));
    }
    alltypes_samples_rows_free(&page);
    st = alltypes_samples_list(g_conn, 0, 0, &page, &err);
    CHECK_OK("list with limit 0", st, &err);
    CHECK_INT("rows with limit 0", page.count, 0);
    alltypes_samples_rows_free(&page);
    st = alltypes_samples_list(g_conn, 10, total, &page, &err);
    CHECK_OK("list past the end", st, &err);
    CHECK_INT("rows past the end", page.count, 0);
    alltypes_samples_rows_free(&page);
    st = alltypes_samples_list(g_conn, -1, 0, &page, &err);
    CHECK_ERROR("list with limit -1", st, &err, "22023", NULL);
    CHECK_INT("rows with limit -1", page.count, 0);
    alltypes_samples_rows_free(&page);
}

/* ---- the keyword table ------------------------------------------------------------- */

static void test_group_paging(void)
{
    alltypes_group_rows page;
    dbont_error err;
    dbont_status st;
    char users[25][16];
    char joined[25 * 16] = "";
    size_t i, seen = 0, len = 0, pages = 0;
    bool ordered = true;

    section("list group: 25 rows in pages");
    for (i = 0; i < 25; i++) {
        alltypes_group_new g;
        /* Inserted in the order 0, 7, 14, 21, 3, ...: not key order. */
        size_t k = (i * 7) % 25;
        snprintf(users[k], sizeof users[k], "page-%02zu", k);
        memset(&g, 0, sizeof g);
        g.user = users[k];
        g.order = (int32_t)(1000 + k);
        g.class_is_null = true;
        g.CamelCase_is_null = true;
        st = alltypes_group_insert(g_conn, &g, NULL, &err);
        if (st != DBONT_OK)
            CHECK_OK("insert a group", st, &err);
    }
    CHECK_INT("groups", count_rows("\"group\""), 25);
    for (;;) {
        st = alltypes_group_list(g_conn, 10, (int64_t)seen, &page, &err);
        if (!CHECK_OK("list 10", st, &err))
            break;
        pages++;
        for (i = 0; i < page.count; i++) {
            if (seen + i >= 25 || strcmp(page.rows[i].user, users[seen + i]) != 0)
                ordered = false;
            len += (size_t)sprintf(joined + len, "%s%s", len ? "," : "", page.rows[i].user);
        }
        seen += page.count;
        if (page.count < 10) {
            alltypes_group_rows_free(&page);
            break;
        }
        alltypes_group_rows_free(&page);
        if (pages > 10)
            break;
    }
    CHECK_INT("pages (10, 10, 5)", pages, 3);
    CHECK_INT("rows seen", seen, 25);
    CHECK_TRUE("page-00 .. page-24 in key order, each once", ordered);
    CHECK_SQL("the pages joined", "SELECT string_agg(\"user\", ',' ORDER BY \"user\") FROM \"group\"",
              NULL, joined);
    st = alltypes_group_list(g_conn, 0, 5, &page, &err);
    CHECK_OK("list limit 0", st, &err);
    CHECK_INT("rows", page.count, 0);
    alltypes_group_rows_free(&page);
    for (i = 0; i < 25; i++) {
        st = alltypes_group_delete(g_conn, users[i], &err);
        if (st != DBONT_OK)
            CHECK_OK("delete a group", st, &err);
    }
    CHECK_INT("groups after deleting them", count_rows("\"group\""), 0);
}

static void test_group(void)
{
    alltypes_group_new g;
    alltypes_group_rows r;
    dbont_error err;
    dbont_status st;

    section("keyword table \"group\"");
    memset(&g, 0, sizeof g);
    g.user = "alice";
    g.order = 1;
    g.class_ = "first class";
    g.CamelCase = 7;
    st = alltypes_group_insert(g_conn, &g, &r, &err);
    if (CHECK_OK("insert user 'alice' (\"default\" left unset)", st, &err) &&
        CHECK_INT("rows", r.count, 1)) {
        CHECK_STR("user", r.rows[0].user, "alice");
        CHECK_INT("order", r.rows[0].order, 1);
        CHECK_FALSE("default_ (default false)", r.rows[0].default_);
        CHECK_FALSE("default_is_null", r.rows[0].default_is_null);
        CHECK_STR("class_", r.rows[0].class_, "first class");
        CHECK_INT("CamelCase", r.rows[0].CamelCase, 7);
    }
    alltypes_group_rows_free(&r);
    CHECK_SQL("the row as stored",
              "SELECT \"user\" || '|' || \"order\" || '|' || \"default\" || '|' || class || '|' || "
              "\"CamelCase\" FROM \"group\" WHERE \"user\" = 'alice'",
              NULL, "alice|1|false|first class|7");

    memset(&g, 0, sizeof g);
    g.user = "\xE3\x83\xA6\xE3\x83\xBC\xE3\x82\xB6\xE3\x83\xBC";   /* ユーザー */
    g.order = 2;
    g.default_set = true;
    g.default_ = true;
    g.class_is_null = true;
    g.CamelCase_is_null = true;
    st = alltypes_group_insert(g_conn, &g, NULL, &err);
    CHECK_OK("insert a UTF-8 user, \"default\" set to true", st, &err);
    st = alltypes_group_get(g_conn, g.user, &r, &err);
    if (CHECK_OK("get it", st, &err) && CHECK_INT("rows", r.count, 1)) {
        CHECK_STR("user", r.rows[0].user, g.user);
        CHECK_TRUE("default_", r.rows[0].default_);
        CHECK_TRUE("class_is_null", r.rows[0].class_is_null);
        CHECK_TRUE("class_ == NULL", r.rows[0].class_ == NULL);
        CHECK_TRUE("CamelCase_is_null", r.rows[0].CamelCase_is_null);
    }
    alltypes_group_rows_free(&r);

    memset(&g, 0, sizeof g);
    g.user = "carol";
    g.order = 3;
    g.default_set = true;
    g.default_is_null = true;
    g.class_ = NULL;
    g.CamelCase = -1;
    st = alltypes_group_insert(g_conn, &g, &r, &err);
    if (CHECK_OK("insert 'carol' with \"default\" set to NULL", st, &err) &&
        CHECK_INT("rows", r.count, 1)) {
        CHECK_TRUE("default_is_null", r.rows[0].default_is_null);
        CHECK_TRUE("class_is_null (NULL pointer)", r.rows[0].class_is_null);
        CHECK_INT("CamelCase", r.rows[0].CamelCase, -1);
    }
    alltypes_group_rows_free(&r);
    CHECK_SQL("\"default\" stored as NULL",
              "SELECT \"default\" IS NULL FROM \"group\" WHERE \"user\" = 'carol'", NULL, "t");

    /* Update every non-key column of alice. */
    {
        alltypes_group u;
        memset(&u, 0, sizeof u);
        u.user = "alice";
        u.order = 10;
        u.default_ = true;
        u.class_is_null = true;
        u.CamelCase_is_null = true;
        st = alltypes_group_update(g_conn, &u, &err);
        CHECK_OK("update alice", st, &err);
        st = alltypes_group_get(g_conn, "alice", &r, &err);
        if (CHECK_OK("get alice", st, &err) && CHECK_INT("rows", r.count, 1)) {
            CHECK_INT("order", r.rows[0].order, 10);
            CHECK_TRUE("default_", r.rows[0].default_);
            CHECK_FALSE("default_is_null", r.rows[0].default_is_null);
            CHECK_TRUE("class_is_null", r.rows[0].class_is_null);
            CHECK_TRUE("CamelCase_is_null", r.rows[0].CamelCase_is_null);
        }
        alltypes_group_rows_free(&r);

        u.order = 2;    /* the UTF-8 user's */
        st = alltypes_group_update(g_conn, &u, &err);
        CHECK_ERROR("update alice to an \"order\" already used", st, &err, "23505",
                    "duplicate key value violates unique constraint \"group_order_key\"\n"
                    "DETAIL: Key (\"order\")=(2) already exists.");
        u.user = "nobody";
        u.order = 99;
        st = alltypes_group_update(g_conn, &u, &err);
        CHECK_STATUS("update of a missing user", st, DBONT_NOT_FOUND, &err);
    }

    memset(&g, 0, sizeof g);
    g.user = "dave";
    g.order = 10;
    st = alltypes_group_insert(g_conn, &g, &r, &err);
    CHECK_ERROR("insert with alice's \"order\"", st, &err, "23505",
                "duplicate key value violates unique constraint \"group_order_key\"\n"
                "DETAIL: Key (\"order\")=(10) already exists.");
    CHECK_INT("rows", r.count, 0);
    alltypes_group_rows_free(&r);
    g.user = "alice";
    g.order = 11;
    st = alltypes_group_insert(g_conn, &g, NULL, &err);
    CHECK_ERROR("insert a second 'alice'", st, &err, "23505",
                "duplicate key value violates unique constraint \"group_pkey\"\n"
                "DETAIL: Key (\"user\")=(alice) already exists.");
    g.user = NULL;
    st = alltypes_group_insert(g_conn, &g, NULL, &err);
    CHECK_ERROR("insert with a NULL user (the key)", st, &err, "23502",
                "group.user is NOT NULL but the value given is NULL");
    CHECK_SQL("dave was not inserted", "SELECT count(*) FROM \"group\" WHERE \"user\" = 'dave'",
              NULL, "0");

    st = alltypes_group_get(g_conn, "Alice", &r, &err);
    CHECK_STATUS("get 'Alice' (keys are case-sensitive)", st, DBONT_NOT_FOUND, &err);
    alltypes_group_rows_free(&r);
    st = alltypes_group_list(g_conn, 10, 0, &r, &err);
    if (CHECK_OK("list", st, &err) && CHECK_INT("rows", r.count, 3)) {
        CHECK_STR("row 1", r.rows[0].user, "alice");
        CHECK_STR("row 2", r.rows[1].user, "carol");
        CHECK_STR("row 3", r.rows[2].user, "\xE3\x83\xA6\xE3\x83\xBC\xE3\x82\xB6\xE3\x83\xBC");
    }
    alltypes_group_rows_free(&r);
    st = alltypes_group_delete(g_conn, "carol", &err);
    CHECK_OK("delete carol", st, &err);
    st = alltypes_group_delete(g_conn, "carol", &err);
    CHECK_STATUS("delete carol again", st, DBONT_NOT_FOUND, &err);
    st = alltypes_group_get(g_conn, "carol", &r, &err);
    CHECK_STATUS("get carol", st, DBONT_NOT_FOUND, &err);
    alltypes_group_rows_free(&r);
}

/* ---- composite primary key, cascade --------------------------------------------------- */

static void test_memberships(void)
{
    alltypes_group_new g;
    alltypes_memberships_new m;
    alltypes_memberships_rows r;
    dbont_error err;
    dbont_status st;

    section("memberships: composite key, ON DELETE CASCADE");
    memset(&g, 0, sizeof g);
    g.user = "club";
    g.order = 500;
    st = alltypes_group_insert(g_conn, &g, NULL, &err);
    CHECK_OK("insert group 'club'", st, &err);
    g.user = "guild";
    g.order = 501;
    st = alltypes_group_insert(g_conn, &g, NULL, &err);
    CHECK_OK("insert group 'guild'", st, &err);

    memset(&m, 0, sizeof m);
    m.group_user = "club";
    m.member = 2;
    st = alltypes_memberships_insert(g_conn, &m, &r, &err);
    if (CHECK_OK("insert (club, 2), role left unset", st, &err) && CHECK_INT("rows", r.count, 1)) {
        CHECK_STR("group_user", r.rows[0].group_user, "club");
        CHECK_INT("member", r.rows[0].member, 2);
        CHECK_STR("role (default 'member')", r.rows[0].role, "member");
    }
    alltypes_memberships_rows_free(&r);
    m.member = 1;
    m.role_set = true;
    m.role = "admin";
    st = alltypes_memberships_insert(g_conn, &m, NULL, &err);
    CHECK_OK("insert (club, 1) as admin", st, &err);
    m.group_user = "guild";
    m.member = 1;
    m.role = "owner";
    st = alltypes_memberships_insert(g_conn, &m, NULL, &err);
    CHECK_OK("insert (guild, 1) as owner", st, &err);

    st = alltypes_memberships_get(g_conn, "club", 1, &r, &err);
    if (CHECK_OK("get (club, 1)", st, &err) && CHECK_INT("rows", r.count, 1)) {
        CHECK_STR("group_user", r.rows[0].group_user, "club");
        CHECK_INT("member", r.rows[0].member, 1);
        CHECK_STR("role", r.rows[0].role, "admin");
    }
    alltypes_memberships_rows_free(&r);
    st = alltypes_memberships_get(g_conn, "guild", 1, &r, &err);
    if (CHECK_OK("get (guild, 1): same member, other group", st, &err) &&
        CHECK_INT("rows", r.count, 1))
        CHECK_STR("role", r.rows[0].role, "owner");
    alltypes_memberships_rows_free(&r);
    st = alltypes_memberships_get(g_conn, "club", 3, &r, &err);
    CHECK_STATUS("get (club, 3)", st, DBONT_NOT_FOUND, &err);
    alltypes_memberships_rows_free(&r);
    st = alltypes_memberships_get(g_conn, "guild", 2, &r, &err);
    CHECK_STATUS("get (guild, 2): both parts of the key count", st, DBONT_NOT_FOUND, &err);
    alltypes_memberships_rows_free(&r);

    st = alltypes_memberships_list(g_conn, 10, 0, &r, &err);
    if (CHECK_OK("list", st, &err) && CHECK_INT("rows", r.count, 3)) {
        CHECK_TRUE("order (club,1), (club,2), (guild,1)",
                   strcmp(r.rows[0].group_user, "club") == 0 && r.rows[0].member == 1 &&
                   strcmp(r.rows[1].group_user, "club") == 0 && r.rows[1].member == 2 &&
                   strcmp(r.rows[2].group_user, "guild") == 0 && r.rows[2].member == 1);
    }
    alltypes_memberships_rows_free(&r);

    {
        alltypes_memberships u;
        u.group_user = "club";
        u.member = 2;
        u.role = "treasurer";
        st = alltypes_memberships_update(g_conn, &u, &err);
        CHECK_OK("update role of (club, 2)", st, &err);
        st = alltypes_memberships_get(g_conn, "club", 2, &r, &err);
        if (CHECK_OK("get (club, 2)", st, &err) && CHECK_INT("rows", r.count, 1))
            CHECK_STR("role", r.rows[0].role, "treasurer");
        alltypes_memberships_rows_free(&r);
        u.member = 9;
        st = alltypes_memberships_update(g_conn, &u, &err);
        CHECK_STATUS("update (club, 9)", st, DBONT_NOT_FOUND, &err);
        u.member = 2;
        u.role = "a role name too long";   /* 20 characters: fits */
        st = alltypes_memberships_update(g_conn, &u, &err);
        CHECK_OK("update role to 20 characters", st, &err);
        u.role = "a role name too long!";  /* 21 */
        st = alltypes_memberships_update(g_conn, &u, &err);
        CHECK_ERROR("update role to 21 characters", st, &err, "22001",
                    "value too long for type character varying(20)");
    }

    /* The composite unique constraint and the foreign key. */
    memset(&m, 0, sizeof m);
    m.group_user = "guild";
    m.member = 2;
    m.role_set = true;
    m.role = "a role name too long";
    st = alltypes_memberships_insert(g_conn, &m, NULL, &err);
    CHECK_ERROR("insert a second member 2 with the same role", st, &err, "23505",
                "duplicate key value violates unique constraint \"memberships_member_role_key\"\n"
                "DETAIL: Key (member, role)=(2, a role name too long) already exists.");
    m.group_user = "nosuch";
    m.role = "x";
    st = alltypes_memberships_insert(g_conn, &m, NULL, &err);
    CHECK_ERROR("insert into a missing group", st, &err, "23503",
                "insert or update on table \"memberships\" violates foreign key constraint "
                "\"memberships_group_user_fkey\"\n"
                "DETAIL: Key (group_user)=(nosuch) is not present in table \"group\".");
    m.group_user = "club";
    m.member = 1;
    st = alltypes_memberships_insert(g_conn, &m, NULL, &err);
    CHECK_ERROR("insert (club, 1) twice", st, &err, "23505",
                "duplicate key value violates unique constraint \"memberships_pkey\"\n"
                "DETAIL: Key (group_user, member)=(club, 1) already exists.");

    st = alltypes_memberships_delete(g_conn, "club", 1, &err);
    CHECK_OK("delete (club, 1)", st, &err);
    st = alltypes_memberships_delete(g_conn, "club", 1, &err);
    CHECK_STATUS("delete (club, 1) again", st, DBONT_NOT_FOUND, &err);
    st = alltypes_memberships_get(g_conn, "club", 2, NULL, &err);
    CHECK_OK("(club, 2) is still there", st, &err);
    st = alltypes_memberships_get(g_conn, "guild", 1, NULL, &err);
    CHECK_OK("(guild, 1) is still there", st, &err);

    st = alltypes_group_delete(g_conn, "club", &err);
    CHECK_OK("delete group 'club'", st, &err);
    st = alltypes_memberships_get(g_conn, "club", 2, NULL, &err);
    CHECK_STATUS("(club, 2) went with its group (cascade)", st, DBONT_NOT_FOUND, &err);
    CHECK_SQL("memberships of club", "SELECT count(*) FROM memberships WHERE group_user = 'club'",
              NULL, "0");
    st = alltypes_memberships_get(g_conn, "guild", 1, NULL, &err);
    CHECK_OK("(guild, 1) is untouched", st, &err);
    st = alltypes_group_delete(g_conn, "guild", &err);
    CHECK_OK("delete group 'guild'", st, &err);
    CHECK_INT("memberships left", count_rows("memberships"), 0);
}

/* ---- a table without a primary key ---------------------------------------------- */

static void test_events(void)
{
    alltypes_events_new e;
    alltypes_events_rows r;
    dbont_error err;
    dbont_status st;
    dbont_timestamp t0, t1, defaulted = 0;
    bool seen[3] = {false, false, false};
    size_t i;

    section("events: no primary key");
    memset(&e, 0, sizeof e);
    e.what = "started";
    t0 = server_clock();
    st = alltypes_events_insert(g_conn, &e, &r, &err);
    t1 = server_clock();
    if (CHECK_OK("insert, happened_at left unset", st, &err) && CHECK_INT("rows", r.count, 1)) {
        defaulted = r.rows[0].happened_at;
        CHECK(defaulted >= t0 && defaulted <= t1,
              "happened_at = %" PRId64 " is now() (between %" PRId64 " and %" PRId64 ")",
              defaulted, t0, t1);
        CHECK_STR("what", r.rows[0].what, "started");
    }
    alltypes_events_rows_free(&r);
    e.happened_at_set = true;
    e.happened_at = ts_of(1999, 12, 31, 23, 59, 59, 999999);
    e.what = "party";
    st = alltypes_events_insert(g_conn, &e, NULL, &err);
    CHECK_OK("insert with happened_at set", st, &err);
    e.happened_at = DBONT_TIMESTAMP_NEG_INFINITY;
    e.what = "party";   /* duplicates are fine without a key */
    st = alltypes_events_insert(g_conn, &e, NULL, &err);
    CHECK_OK("insert a row differing only in happened_at", st, &err);
    e.what = NULL;
    st = alltypes_events_insert(g_conn, &e, NULL, &err);
    CHECK_ERROR("insert with what NULL", st, &err, "23502",
                "events.what is NOT NULL but the value given is NULL");

    st = alltypes_events_list(g_conn, 100, 0, &r, &err);
    if (CHECK_OK("list", st, &err) && CHECK_INT("rows", r.count, 3)) {
        for (i = 0; i < r.count; i++) {
            const alltypes_events *ev = &r.rows[i];
            if (strcmp(ev->what, "started") == 0 && ev->happened_at == defaulted)
                seen[0] = true;
            else if (strcmp(ev->what, "party") == 0 &&
                     ev->happened_at == ts_of(1999, 12, 31, 23, 59, 59, 999999))
                seen[1] = true;
            else if (strcmp(ev->what, "party") == 0 &&
                     ev->happened_at == DBONT_TIMESTAMP_NEG_INFINITY)
                seen[2] = true;
        }
        CHECK_TRUE("each inserted event listed once", seen[0] && seen[1] && seen[2]);
    }
    alltypes_events_rows_free(&r);
    st = alltypes_events_list(g_conn, 1, 2, &r, &err);
    CHECK_OK("list limit 1 offset 2", st, &err);
    CHECK_INT("rows", r.count, 1);
    alltypes_events_rows_free(&r);
    st = alltypes_events_list(g_conn, 0, 0, &r, &err);
    CHECK_OK("list limit 0", st, &err);
    CHECK_INT("rows", r.count, 0);
    alltypes_events_rows_free(&r);
    CHECK_SQL("events as stored",
              "SELECT string_agg(what || '@' || (happened_at AT TIME ZONE 'UTC')::text, ';' "
              "ORDER BY happened_at) FROM events WHERE what = 'party'",
              NULL, "party@-infinity;party@1999-12-31 23:59:59.999999");
}

/* ---- the foreign key cycle -------------------------------------------------------- */

static void test_authors_books(void)
{
    alltypes_authors_new an;
    alltypes_books_new bn;
    alltypes_authors_rows ar;
    alltypes_books_rows br;
    dbont_error err;
    dbont_status st;
    int32_t author = 0, book = 0, book2 = 0;
    char msg[512];

    section("authors <-> books: a cycle of foreign keys");
    memset(&an, 0, sizeof an);
    an.name = "Ursula";
    an.featured_book_is_null = true;
    st = alltypes_authors_insert(g_conn, &an, &ar, &err);
    if (CHECK_OK("insert an author", st, &err) && CHECK_INT("rows", ar.count, 1)) {
        author = ar.rows[0].id;
        CHECK_TRUE("featured_book_is_null", ar.rows[0].featured_book_is_null);
        CHECK(author > 0, "author id %d from the serial", (int)author);
    }
    alltypes_authors_rows_free(&ar);

    memset(&bn, 0, sizeof bn);
    bn.author_id = author;
    bn.title = "The Dispossessed";
    st = alltypes_books_insert(g_conn, &bn, &br, &err);
    if (CHECK_OK("insert a book", st, &err) && CHECK_INT("rows", br.count, 1)) {
        book = br.rows[0].id;
        CHECK_INT("author_id", br.rows[0].author_id, author);
        CHECK_STR("title", br.rows[0].title, "The Dispossessed");
    }
    alltypes_books_rows_free(&br);

    {
        alltypes_authors u;
        u.id = author;
        u.name = "Ursula K. Le Guin";
        u.featured_book = book;
        u.featured_book_is_null = false;
        st = alltypes_authors_update(g_conn, &u, &err);
        CHECK_OK("set the author's featured book", st, &err);
        st = alltypes_authors_get(g_conn, author, &ar, &err);
        if (CHECK_OK("get the author", st, &err) && CHECK_INT("rows", ar.count, 1)) {
            CHECK_STR("name", ar.rows[0].name, "Ursula K. Le Guin");
            CHECK_FALSE("featured_book_is_null", ar.rows[0].featured_book_is_null);
            CHECK_INT("featured_book", ar.rows[0].featured_book, book);
        }
        alltypes_authors_rows_free(&ar);
        u.featured_book = 999999;
        st = alltypes_authors_update(g_conn, &u, &err);
        snprintf(msg, sizeof msg,
                 "insert or update on table \"authors\" violates foreign key constraint "
                 "\"authors_featured_book_fkey\"\n"
                 "DETAIL: Key (featured_book)=(999999) is not present in table \"books\".");
        CHECK_ERROR("feature a missing book", st, &err, "23503", msg);
    }

    memset(&bn, 0, sizeof bn);
    bn.author_id = 999999;
    bn.title = "Nobody's";
    st = alltypes_books_insert(g_conn, &bn, NULL, &err);
    CHECK_ERROR("insert a book by a missing author", st, &err, "23503",
                "insert or update on table \"books\" violates foreign key constraint "
                "\"books_author_id_fkey\"\n"
                "DETAIL: Key (author_id)=(999999) is not present in table \"authors\".");

    st = alltypes_books_delete(g_conn, book, &err);
    CHECK_OK("delete the featured book", st, &err);
    st = alltypes_authors_get(g_conn, author, &ar, &err);
    if (CHECK_OK("get the author", st, &err) && CHECK_INT("rows", ar.count, 1)) {
        CHECK_TRUE("featured_book_is_null (ON DELETE SET NULL)", ar.rows[0].featured_book_is_null);
        CHECK_INT("featured_book field zeroed", ar.rows[0].featured_book, 0);
    }
    alltypes_authors_rows_free(&ar);

    memset(&bn, 0, sizeof bn);
    bn.author_id = author;
    bn.title = "The Left Hand of Darkness";
    st = alltypes_books_insert(g_conn, &bn, &br, &err);
    if (CHECK_OK("insert another book", st, &err) && CHECK_INT("rows", br.count, 1))
        book2 = br.rows[0].id;
    alltypes_books_rows_free(&br);
    st = alltypes_authors_delete(g_conn, author, &err);
    snprintf(msg, sizeof msg,
             "update or delete on table \"authors\" violates foreign key constraint "
             "\"books_author_id_fkey\" on table \"books\"\n"
             "DETAIL: Key (id)=(%d) is still referenced from table \"books\".", (int)author);
    CHECK_ERROR("delete an author who has a book (RESTRICT)", st, &err, "23503", msg);
    st = alltypes_authors_get(g_conn, author, NULL, &err);
    CHECK_OK("the author is still there", st, &err);
    {
        alltypes_books b;
        b.id = book2;
        b.author_id = author;
        b.title = "The Left Hand of Darkness (2nd ed.)";
        st = alltypes_books_update(g_conn, &b, &err);
        CHECK_OK("update the book", st, &err);
        st = alltypes_books_get(g_conn, book2, &br, &err);
        if (CHECK_OK("get the book", st, &err) && CHECK_INT("rows", br.count, 1))
            CHECK_STR("title", br.rows[0].title, "The Left Hand of Darkness (2nd ed.)");
        alltypes_books_rows_free(&br);
    }
    st = alltypes_books_list(g_conn, 10, 0, &br, &err);
    if (CHECK_OK("list books", st, &err) && CHECK_INT("rows", br.count, 1))
        CHECK_INT("id", br.rows[0].id, book2);
    alltypes_books_rows_free(&br);
    st = alltypes_books_delete(g_conn, book2, &err);
    CHECK_OK("delete the book", st, &err);
    st = alltypes_authors_delete(g_conn, author, &err);
    CHECK_OK("now delete the author", st, &err);
    st = alltypes_authors_get(g_conn, author, &ar, &err);
    CHECK_STATUS("get the deleted author", st, DBONT_NOT_FOUND, &err);
    alltypes_authors_rows_free(&ar);
    st = alltypes_authors_list(g_conn, 10, 0, &ar, &err);
    CHECK_OK("list authors", st, &err);
    CHECK_INT("authors left", ar.count, 0);
    alltypes_authors_rows_free(&ar);
}

/* ---- transactions and prepared statements ------------------------------------- */

static void test_transactions(void)
{
    alltypes_group_new g;
    alltypes_group_rows r;
    dbont_error err;
    dbont_status st;

    section("transactions and prepared statements");
    memset(&g, 0, sizeof g);
    g.user = "tx-rolled-back";
    g.order = 7000;
    st = dbont_begin(g_conn, &err);
    CHECK_OK("BEGIN", st, &err);
    st = alltypes_group_insert(g_conn, &g, NULL, &err);
    CHECK_OK("insert inside the transaction", st, &err);
    st = alltypes_group_get(g_conn, g.user, NULL, &err);
    CHECK_OK("visible inside the transaction", st, &err);
    st = dbont_rollback(g_conn, &err);
    CHECK_OK("ROLLBACK", st, &err);
    st = alltypes_group_get(g_conn, g.user, NULL, &err);
    CHECK_STATUS("gone after the rollback", st, DBONT_NOT_FOUND, &err);

    /* A failed statement aborts the block: later calls fail, COMMIT
     * reports the rollback, nothing stays, and the connection recovers. */
    st = dbont_begin(g_conn, &err);
    CHECK_OK("BEGIN", st, &err);
    g.user = "tx-first";
    st = alltypes_group_insert(g_conn, &g, NULL, &err);
    CHECK_OK("insert tx-first", st, &err);
    g.user = "tx-second";
    st = alltypes_group_insert(g_conn, &g, NULL, &err);
    CHECK_ERROR("insert tx-second with the same \"order\"", st, &err, "23505", NULL);
    st = alltypes_group_get(g_conn, "tx-first", &r, &err);
    CHECK_ERROR("get in the aborted transaction", st, &err, "25P02", NULL);
    CHECK_INT("rows", r.count, 0);
    alltypes_group_rows_free(&r);
    st = dbont_commit(g_conn, &err);
    CHECK_ERROR("COMMIT of the aborted transaction", st, &err, "40000", NULL);
    st = alltypes_group_get(g_conn, "tx-first", NULL, &err);
    CHECK_STATUS("tx-first was rolled back", st, DBONT_NOT_FOUND, &err);

    st = dbont_begin(g_conn, &err);
    CHECK_OK("BEGIN", st, &err);
    g.user = "tx-committed";
    st = alltypes_group_insert(g_conn, &g, NULL, &err);
    CHECK_OK("insert tx-committed", st, &err);
    st = dbont_commit(g_conn, &err);
    CHECK_OK("COMMIT", st, &err);
    st = alltypes_group_get(g_conn, "tx-committed", &r, &err);
    if (CHECK_OK("tx-committed is there", st, &err) && CHECK_INT("rows", r.count, 1))
        CHECK_INT("order", r.rows[0].order, 7000);
    alltypes_group_rows_free(&r);

    /* The server forgets every prepared statement: the generated calls
     * prepare them again. */
    sql_exec("DEALLOCATE ALL");
    st = alltypes_group_get(g_conn, "tx-committed", &r, &err);
    if (CHECK_OK("get after DEALLOCATE ALL", st, &err) && CHECK_INT("rows", r.count, 1))
        CHECK_STR("user", r.rows[0].user, "tx-committed");
    alltypes_group_rows_free(&r);
    g.user = "after-deallocate";
    g.order = 7001;
    st = alltypes_group_insert(g_conn, &g, NULL, &err);
    CHECK_OK("insert after DEALLOCATE ALL", st, &err);
    st = alltypes_group_delete(g_conn, "after-deallocate", &err);
    CHECK_OK("delete after-deallocate", st, &err);
    st = alltypes_group_delete(g_conn, "tx-committed", &err);
    CHECK_OK("delete tx-committed", st, &err);

    /* NULL keys are refused on the client. */
    st = alltypes_group_get(g_conn, NULL, &r, &err);
    CHECK_ERROR("group get with a NULL key", st, &err, "23502",
                "group.user is NOT NULL but the value given is NULL");
    alltypes_group_rows_free(&r);
    st = alltypes_group_delete(g_conn, NULL, &err);
    CHECK_ERROR("group delete with a NULL key", st, &err, "23502",
                "group.user is NOT NULL but the value given is NULL");
    st = alltypes_memberships_get(g_conn, NULL, 1, NULL, &err);
    CHECK_ERROR("memberships get with a NULL key part", st, &err, "23502",
                "memberships.group_user is NOT NULL but the value given is NULL");
}

/* ---- the generated header --------------------------------------------------------- */

/* events has no primary key: the header declares insert and list only.
 * (The program compiling without them shows they are not needed; this
 * shows they are not there.) */
static void test_header(void)
{
#ifdef ALLTYPES_HEADER
    FILE *f = fopen(ALLTYPES_HEADER, "rb");
    char *text = NULL;
    long size = 0;

    section("generated header");
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1)) != NULL &&
        fread(text, 1, (size_t)size, f) == (size_t)size) {
        text[size] = '\0';
        CHECK_TRUE("declares alltypes_events_insert(", strstr(text, "alltypes_events_insert(") != NULL);
        CHECK_TRUE("declares alltypes_events_list(", strstr(text, "alltypes_events_list(") != NULL);
        CHECK_TRUE("no alltypes_events_get", strstr(text, "alltypes_events_get") == NULL);
        CHECK_TRUE("no alltypes_events_update", strstr(text, "alltypes_events_update") == NULL);
        CHECK_TRUE("no alltypes_events_delete", strstr(text, "alltypes_events_delete") == NULL);
        CHECK_TRUE("declares alltypes_memberships_get(conn, group_user, member, ...)",
                   strstr(text, "alltypes_memberships_get(dbont_conn *conn, const char *group_user, "
                                "int32_t member,") != NULL);
    } else {
        CHECK(false, "cannot read the generated header %s", ALLTYPES_HEADER);
    }
    free(text);
    if (f != NULL)
        fclose(f);
#endif
}

/* ---- freeing results ------------------------------------------------------------ */

static void test_rows_free(void)
{
    alltypes_samples_rows s;
    alltypes_group_rows g;
    alltypes_memberships_rows m;
    alltypes_events_rows e;
    alltypes_authors_rows a;
    alltypes_books_rows b;
    dbont_error err;
    dbont_status st;

    section("_rows_free");
    memset(&s, 0, sizeof s);
    alltypes_samples_rows_free(&s);
    alltypes_samples_rows_free(&s);
    alltypes_samples_rows_free(NULL);
    memset(&g, 0, sizeof g);
    alltypes_group_rows_free(&g);
    memset(&m, 0, sizeof m);
    alltypes_memberships_rows_free(&m);
    memset(&e, 0, sizeof e);
    alltypes_events_rows_free(&e);
    memset(&a, 0, sizeof a);
    alltypes_authors_rows_free(&a);
    memset(&b, 0, sizeof b);
    alltypes_books_rows_free(&b);
    alltypes_group_rows_free(NULL);
    alltypes_memberships_rows_free(NULL);
    alltypes_events_rows_free(NULL);
    alltypes_authors_rows_free(NULL);
    alltypes_books_rows_free(NULL);
    CHECK_TRUE("freeing zeroed rows (twice) and NULL is safe", true);

    st = alltypes_samples_list(g_conn, 1000, 0, &s, &err);
    if (CHECK_OK("list every sample (numeric, text, jsonb, bytea in one result)", st, &err)) {
        CHECK(s.count >= 25 && s.result != NULL, "%zu rows in one result", s.count);
        alltypes_samples_rows_free(&s);
        CHECK_TRUE("after _rows_free: count 0, rows NULL, result NULL",
                   s.count == 0 && s.rows == NULL && s.result == NULL);
        alltypes_samples_rows_free(&s);
        CHECK_TRUE("freeing the emptied rows again is safe", true);
    }
}

/* ---------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    dbont_error err;

    setvbuf(stdout, NULL, _IOLBF, 0);
    g_conn = dbont_connect(NULL, &err);
    if (g_conn == NULL) {
        printf("FAIL cannot connect (DATABASE_URL): %s %s\n", err.sqlstate, err.message);
        printf("\n0 passed, 1 failed\n");
        return 1;
    }
    /* An odd time zone: binary timestamps must not depend on it. */
    if (dbont_exec(g_conn, "SET TimeZone = 'Pacific/Chatham'", &err) != DBONT_OK)
        printf("      (SET TimeZone failed: %s)\n", err.message);

    if (argc > 1)
        test_migrations(argv[1]);
    /* Start from empty tables, so that a rerun against the same database
     * gives the same answers. */
    sql_exec("TRUNCATE samples, \"group\", memberships, events, authors, books RESTART IDENTITY");

    test_integers();
    test_floats();
    test_numerics();
    test_text();
    test_uuid();
    test_dates();
    test_jsonb();
    test_bytea();
    test_nulls();
    test_defaults();
    test_update_delete();
    test_list_samples();
    test_group_paging();
    test_group();
    test_memberships();
    test_events();
    test_authors_books();
    test_transactions();
    test_header();
    test_rows_free();

    dbont_close(g_conn);
    printf("\n%d passed, %d failed\n", g_pass, g_fail);
    return g_fail == 0 ? 0 : 1;
}
