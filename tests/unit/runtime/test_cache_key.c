/*
 * The parameters' part of a cache key (runtime/src/cache_key.c): the text
 * form of every parameter type, escaping, the hash of long parts, the
 * rendered template and where it is cut.  What matters most is that two
 * different parameter sets never give the same bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache_key.h"
#include "dbont/types.h"

/* One parameter of each kind, at known offsets. */
typedef struct params {
    int16_t s;
    int32_t i;
    int64_t b;
    bool t;
    float r;
    double d;
    const char *txt;
    dbont_uuid u;
    dbont_date dt;
    dbont_timestamp ts;
    dbont_timestamp tz;
    dbont_bytes by;
    const char *txt2;
} params;

static const dbont_type all_types[] = {DBONT_SMALLINT,  DBONT_INTEGER, DBONT_BIGINT, DBONT_BOOLEAN,
                                       DBONT_REAL,      DBONT_DOUBLE,  DBONT_TEXT,   DBONT_UUID,
                                       DBONT_DATE,      DBONT_TIMESTAMP, DBONT_TIMESTAMPTZ, DBONT_BYTEA,
                                       DBONT_VARCHAR};
static const size_t all_offsets[] = {offsetof(params, s),  offsetof(params, i),  offsetof(params, b),
                                     offsetof(params, t),  offsetof(params, r),  offsetof(params, d),
                                     offsetof(params, txt), offsetof(params, u), offsetof(params, dt),
                                     offsetof(params, ts), offsetof(params, tz), offsetof(params, by),
                                     offsetof(params, txt2)};
static const char *const all_names[] = {"s", "i", "b", "t", "r", "d", "txt", "u", "dt", "ts", "tz", "by", "txt2"};

/* The part for parameter k alone (a one-parameter query), with template
 * tmpl (or none); a malloc'd string. */
static char *part_of(const params *p, size_t k, const char *tmpl)
{
    dbont_query q = {0};
    q.name = "q";
    q.nparams = 1;
    q.param_types = &all_types[k];
    q.param_offsets = &all_offsets[k];
    dbont_cached_query cq = {0};
    cq.query = &q;
    cq.key_template = tmpl;
    cq.param_names = &all_names[k];
    dbont_keybuf b = {0};
    dbont_cache_key_params(&b, &cq, p);
    assert_false(b.failed);
    return b.s;
}

/* The part of a query over the given parameters (indexes into all_*). */
static char *part_of_many(const params *p, const size_t *which, size_t n, const char *tmpl)
{
    static dbont_type types[16];
    static size_t offsets[16];
    static const char *names[16];
    for (size_t i = 0; i < n; i++) {
        types[i] = all_types[which[i]];
        offsets[i] = all_offsets[which[i]];
        names[i] = all_names[which[i]];
    }
    dbont_query q = {0};
    q.name = "q";
    q.nparams = n;
    q.param_types = types;
    q.param_offsets = offsets;
    dbont_cached_query cq = {0};
    cq.query = &q;
    cq.key_template = tmpl;
    cq.param_names = names;
    dbont_keybuf b = {0};
    dbont_cache_key_params(&b, &cq, p);
    assert_false(b.failed);
    return b.s;
}

#define EXPECT_PART(p, k, want)                                                                                        \
    do {                                                                                                               \
        char *got_ = part_of(p, k, NULL);                                                                              \
        assert_string_equal(got_, want);                                                                               \
        free(got_);                                                                                                    \
    } while (0)

enum { S, I, B, T, R, D, TXT, U, DT, TS, TZ, BY, TXT2 };

static void text_forms(void **state)
{
    (void)state;
    params p = {0};
    p.s = -3;
    EXPECT_PART(&p, S, "=-3");
    p.i = 70000;
    EXPECT_PART(&p, I, "=70000");
    p.b = INT64_MIN;
    EXPECT_PART(&p, B, "=-9223372036854775808");
    p.b = INT64_MAX;
    EXPECT_PART(&p, B, "=9223372036854775807");
    p.b = 0;
    EXPECT_PART(&p, B, "=0");
    p.t = true;
    EXPECT_PART(&p, T, "=true");
    p.t = false;
    EXPECT_PART(&p, T, "=false");
    p.r = 1.5f;
    EXPECT_PART(&p, R, "=1.5");
    p.d = 0.1;
    EXPECT_PART(&p, D, "=0.10000000000000001");
    p.txt = "alice@example.com";
    EXPECT_PART(&p, TXT, "=alice@example.com");
    p.txt = "a:b,c~=#%";
    EXPECT_PART(&p, TXT, "=a%3Ab%2Cc%7E%3D%23%25");
    p.txt = NULL;
    EXPECT_PART(&p, TXT, "=~");
    p.txt = "~";
    EXPECT_PART(&p, TXT, "=%7E");
    p.txt = "";
    EXPECT_PART(&p, TXT, "=");
    assert_int_equal(dbont_uuid_parse("0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0", &p.u), 0);
    EXPECT_PART(&p, U, "=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
    p.dt = 0;
    EXPECT_PART(&p, DT, "=1970-01-01");
    p.dt = 19782;
    EXPECT_PART(&p, DT, "=2024-02-29");
    p.dt = -1;
    EXPECT_PART(&p, DT, "=1969-12-31");
    p.dt = -719162;
    EXPECT_PART(&p, DT, "=0001-01-01");
    p.dt = DBONT_DATE_INFINITY;
    EXPECT_PART(&p, DT, "=infinity");
    p.dt = DBONT_DATE_NEG_INFINITY;
    EXPECT_PART(&p, DT, "=-infinity");
    p.ts = -1;
    EXPECT_PART(&p, TS, "=1969-12-31T23%3A59%3A59.999999");
    p.ts = 1795618220000000;
    EXPECT_PART(&p, TS, "=2026-11-25T14%3A50%3A20");
    p.tz = 1795618220000001;
    EXPECT_PART(&p, TZ, "=2026-11-25T14%3A50%3A20.000001Z");
    p.tz = DBONT_TIMESTAMP_NEG_INFINITY;
    EXPECT_PART(&p, TZ, "=-infinity");
    static const uint8_t bytes[] = {0x00, 0xff, 0x7a};
    p.by.data = bytes;
    p.by.len = sizeof bytes;
    EXPECT_PART(&p, BY, "=00ff7a");
    p.by.len = 0;
    EXPECT_PART(&p, BY, "=");
}

/* Values that contain what separates values stay apart. */
static void values_stay_apart(void **state)
{
    (void)state;
    static const size_t two_texts[] = {TXT, TXT2};
    params a = {0}, b = {0}, c = {0}, d = {0};
    a.txt = "x,y";
    a.txt2 = "z";
    b.txt = "x";
    b.txt2 = "y,z";
    c.txt = NULL;
    c.txt2 = "z";
    d.txt = "~";
    d.txt2 = "z";
    char *ka = part_of_many(&a, two_texts, 2, NULL), *kb = part_of_many(&b, two_texts, 2, NULL);
    char *kc = part_of_many(&c, two_texts, 2, NULL), *kd = part_of_many(&d, two_texts, 2, NULL);
    assert_string_equal(ka, "=x%2Cy,z");
    assert_string_equal(kb, "=x,y%2Cz");
    assert_string_equal(kc, "=~,z");
    assert_string_equal(kd, "=%7E,z");
    /* even where a template renders both the same */
    free(ka);
    free(kb);
    a.txt = "a";
    a.txt2 = "bc";
    b.txt = "ab";
    b.txt2 = "c";
    ka = part_of_many(&a, two_texts, 2, "{{txt}}{{txt2}}");
    kb = part_of_many(&b, two_texts, 2, "{{txt}}{{txt2}}");
    assert_string_equal(ka, "=a,bc:abc");
    assert_string_equal(kb, "=ab,c:abc");
    free(ka);
    free(kb);
    free(kc);
    free(kd);
}

/* A part longer than DBONT_KEY_PARAMS_MAX bytes becomes a hash. */
static void long_parts_hashed(void **state)
{
    (void)state;
    char longer[DBONT_KEY_PARAMS_MAX + 2];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    params p = {0};
    p.txt = longer + 1; /* exactly the limit: kept */
    char *k = part_of(&p, TXT, NULL);
    assert_int_equal(strlen(k), 1 + DBONT_KEY_PARAMS_MAX);
    assert_int_equal(k[0], '=');
    free(k);
    p.txt = longer; /* one more: hashed */
    char *h1 = part_of(&p, TXT, NULL);
    assert_int_equal(strlen(h1), 1 + 32);
    assert_int_equal(h1[0], '#');
    assert_int_equal(strspn(h1 + 1, "0123456789abcdef"), 32);
    char *h2 = part_of(&p, TXT, NULL);
    assert_string_equal(h1, h2); /* the same values, the same key */
    longer[5] = 'y';
    char *h3 = part_of(&p, TXT, NULL);
    assert_string_not_equal(h1, h3);
    /* a text that escapes to more than the limit is hashed too */
    p.txt = "::::::::::::::::::::::"; /* 22 bytes, 66 escaped */
    char *h4 = part_of(&p, TXT, NULL);
    assert_int_equal(h4[0], '#');
    free(h1);
    free(h2);
    free(h3);
    free(h4);
}

static void templates(void **state)
{
    (void)state;
    static const size_t which[] = {TXT, B};
    params p = {0};
    p.txt = "Alice Smith";
    p.b = 42;
    char *k = part_of_many(&p, which, 2, "user:{{txt}}/{{b}} 100%");
    assert_string_equal(k, "=Alice%20Smith,42:user:Alice%20Smith/42%20100%25");
    free(k);
    /* a template naming no parameter, and a parameter named twice */
    k = part_of_many(&p, which, 2, "all");
    assert_string_equal(k, "=Alice%20Smith,42:all");
    free(k);
    k = part_of_many(&p, which, 2, "{{b}}-{{b}}");
    assert_string_equal(k, "=Alice%20Smith,42:42-42");
    free(k);
    /* no parameters */
    k = part_of_many(&p, which, 0, NULL);
    assert_string_equal(k, "=");
    free(k);
    k = part_of_many(&p, which, 0, "everything");
    assert_string_equal(k, "=:everything");
    free(k);
}

/* A rendered template longer than DBONT_KEY_TEMPLATE_MAX is cut there, or
 * just before a %XX it would cut. */
static void template_cut(void **state)
{
    (void)state;
    char text[300];
    params p = {0};
    for (int pad = 0; pad < 3; pad++) {
        /* 'a' * pad, then spaces (3 bytes each escaped) */
        memset(text, ' ', 200);
        memset(text, 'a', (size_t)pad);
        text[200] = '\0';
        p.txt = text;
        char *k = part_of(&p, TXT, "{{txt}}");
        const char *t = strchr(k, ':');
        assert_non_null(t);
        t++;
        size_t n = strlen(t);
        assert_true(n <= DBONT_KEY_TEMPLATE_MAX && n >= DBONT_KEY_TEMPLATE_MAX - 2);
        assert_int_equal(n % 3, (size_t)pad % 3); /* whole %20s after the pad */
        assert_true(n < 3 || t[n - 3] == '%' || t[n - 1] == 'a');
        free(k);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_forms),        cmocka_unit_test(values_stay_apart), cmocka_unit_test(long_parts_hashed),
        cmocka_unit_test(templates),         cmocka_unit_test(template_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
