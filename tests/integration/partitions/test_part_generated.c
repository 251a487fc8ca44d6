/*
 * test_part_generated.c: the code dbont-gen writes for partitions.ttl
 * (range-partitioned tables) compiles, links and works on a real
 * PostgreSQL.
 *
 * The migrations are applied by the owner ($DATABASE_URL) before this
 * program runs.  It then goes through the parents with the generated
 * functions: a reading of today (readings, partitioned by day of a date
 * column) inserted and read back by its key; a tenant and an event of now
 * (events, multi-tenant, partitioned by month of a timestamptz) inserted
 * in a tenant session and read back by its key (id, occurred_at); and
 * checks that each row landed in a partition other than the default one.
 * Last line: "N passed, N failed"; exit status 1 when a check failed.
 */
#define _POSIX_C_SOURCE 200809L

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "part.h"

static int passed, failed;

static void check(bool ok, const char *what)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr, "FAILED: %s\n", what);
}

static bool expect_ok(dbont_status st, const char *what, const dbont_error *err)
{
    if (st == DBONT_OK) {
        passed++;
        return true;
    }
    failed++;
    fprintf(stderr, "FAILED: %s: %s %s\n", what, err->sqlstate, err->message);
    return false;
}

/* The partition that holds the rows of table matching condition. */
static void partition_of(dbont_conn *conn, const char *sql, char *out, size_t size)
{
    out[0] = '\0';
    PGresult *res = PQexec(dbont_conn_pg(conn), sql);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    else
        fprintf(stderr, "query failed: %s", PQerrorMessage(dbont_conn_pg(conn)));
    PQclear(res);
}

int main(void)
{
    dbont_error err;
    dbont_conn *conn = dbont_connect(getenv("DATABASE_URL"), &err);
    if (!conn) {
        fprintf(stderr, "cannot connect: %s\n", err.message);
        return 1;
    }
    char where[128];

    /* readings: a dbont_date counts days since 1970-01-01 (UTC, like the
     * partitions' bounds). */
    dbont_date today = (dbont_date)(time(NULL) / 86400);
    part_readings_new reading = { .sensor = "s1", .day = today, .value = 21.5 };
    expect_ok(part_readings_insert(conn, &reading, NULL, &err), "insert a reading", &err);
    part_readings_rows readings = { 0 };
    if (expect_ok(part_readings_get(conn, "s1", today, &readings, &err),
                  "get the reading by its key", &err)) {
        check(readings.count == 1 && readings.rows[0].value == 21.5 &&
                  readings.rows[0].day == today,
              "the reading read back is the one inserted");
    }
    part_readings_rows_free(&readings);
    partition_of(conn, "SELECT tableoid::regclass FROM readings WHERE sensor = 's1'", where,
                 sizeof where);
    check(strncmp(where, "readings_", 9) == 0 && strcmp(where, "readings_default") != 0,
          "the reading is in a day's partition");

    /* events: in a tenant session. */
    dbont_uuid tenant;
    dbont_uuid_parse("00000000-0000-0000-0000-0000000000c1", &tenant);
    if (expect_ok(part_tenant_begin(conn, tenant, &err), "begin a tenant session", &err)) {
        part_tenants_new t = { .id = tenant, .id_set = true, .name = "c1" };
        expect_ok(part_tenants_insert(conn, &t, NULL, &err), "insert the tenant", &err);
        part_events_new e = { .kind = "generated" };
        part_events_rows inserted = { 0 };
        if (expect_ok(part_events_insert(conn, &e, &inserted, &err), "insert an event", &err) &&
            inserted.count == 1) {
            part_events_rows got = { 0 };
            if (expect_ok(part_events_get(conn, inserted.rows[0].id, inserted.rows[0].occurred_at,
                                          &got, &err),
                          "get the event by (id, occurred_at)", &err))
                check(got.count == 1 && strcmp(got.rows[0].kind, "generated") == 0 &&
                          memcmp(&got.rows[0].tenant_id, &tenant, sizeof tenant) == 0,
                      "the event read back is the one inserted, with its tenant");
            part_events_rows_free(&got);
        }
        part_events_rows_free(&inserted);
        partition_of(conn, "SELECT tableoid::regclass FROM events WHERE kind = 'generated'",
                     where, sizeof where);
        check(strncmp(where, "events_", 7) == 0 && strcmp(where, "events_default") != 0,
              "the event is in a month's partition");
        expect_ok(part_tenant_end(conn, true, &err), "commit the tenant session", &err);
    }

    dbont_close(conn);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
