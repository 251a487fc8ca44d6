/*
 * Unit tests: the statement a tenant session starts with (tenant.c).
 *
 * Its id must be what dbont-gen would compute for the same text and
 * parameter types (FNV-1a 64 of the SQL, then each type OID as 4
 * big-endian bytes; computed again here independently), its name
 * "dbont_" + 16 hex digits of the id, and its SQL a transaction-local
 * set_config with both values bound.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dbont/tenant.h"
#include "tenant_internal.h"

static uint64_t fnv1a64(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    size_t i;
    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static void test_id_matches_text(void **state)
{
    const dbont_stmt *s = &dbont_tenant_set_config;
    uint64_t h = fnv1a64(s->sql, strlen(s->sql), UINT64_C(0xcbf29ce484222325));
    char name[32];
    int i;
    (void)state;
    for (i = 0; i < s->nparams; i++) {
        unsigned char be[4] = {(unsigned char)(s->param_types[i] >> 24),
                               (unsigned char)(s->param_types[i] >> 16),
                               (unsigned char)(s->param_types[i] >> 8),
                               (unsigned char)s->param_types[i]};
        h = fnv1a64(be, 4, h);
    }
    assert_true(s->id == h);
    snprintf(name, sizeof name, "dbont_%016" PRIx64, h);
    assert_string_equal(s->name, name);
}

static void test_sql_binds_both_and_is_local(void **state)
{
    const dbont_stmt *s = &dbont_tenant_set_config;
    (void)state;
    assert_string_equal(s->sql, "SELECT set_config($1, $2, true)");
    assert_int_equal(s->nparams, 2);
    assert_int_equal(s->param_types[0], 25);   /* text */
    assert_int_equal(s->param_types[1], 25);
}

static void test_null_conn(void **state)
{
    dbont_error err;
    (void)state;
    assert_int_equal(dbont_tenant_begin(NULL, "app.tenant", "t", &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    assert_int_equal(dbont_tenant_end(NULL, true, &err), DBONT_ERROR);
    assert_string_equal(err.sqlstate, "22023");
    /* err may be NULL. */
    assert_int_equal(dbont_tenant_begin(NULL, "app.tenant", "t", NULL), DBONT_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_matches_text),
        cmocka_unit_test(test_sql_binds_both_and_is_local),
        cmocka_unit_test(test_null_conn),
    };
    return cmocka_run_group_tests_name("unit_runtime_tenant", tests, NULL, NULL);
}
