/*
 * test_search.c: indexes and full-text search on a real PostgreSQL.
 *
 * search.ttl's two migrations are applied by the owner ($DATABASE_URL, a
 * superuser) before this program runs; the second one built every index
 * CONCURRENTLY on tables that existed.  Then:
 *
 *   1. catalog  every index of the ontology exists, is valid, and has its
 *               method, uniqueness and predicate
 *   2. seed     two tenants' documents through the generated bulk insert
 *               as the application role (search_app, $APP_DATABASE_URL),
 *               a third of them with a NULL body; notes as the owner
 *   3. search   the generated search functions as the application role:
 *               only the session's tenant's rows, every match (also those
 *               whose body is NULL), best rank first, the row limit, and
 *               nothing without a tenant
 *   4. plans    the plan of the search as the application role under
 *               row-level security uses the full-text index (auto_explain
 *               shows the statement inside the function), while the same
 *               condition written directly is not allowed to (the "before")
 *   5. kinds    each other index serves the query it is for (EXPLAIN with
 *               sequential scans and sorts off), and the unique one refuses
 *               a duplicate
 *
 * Both plans of step 4 are printed (docs/full-text-search.md quotes them).
 * Last line: "N passed, N failed"; exit status 1 when a check failed.
 */
#define _POSIX_C_SOURCE 200809L

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srch.h"

static int passed, failed;

static void check(bool ok, const char *fmt, const char *detail)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr, "FAILED: ");
    fprintf(stderr, fmt, detail ? detail : "");
    fprintf(stderr, "\n");
}

static void expect_ok(dbont_status st, const char *what, const dbont_error *err)
{
    if (st == DBONT_OK) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr, "FAILED: %s: %s %s\n", what, err->sqlstate, err->message);
}

static PGconn *owner;

/* One value of the owner's query (or NULL on error, reported). */
static char *owner_value(const char *sql)
{
    PGresult *r = PQexec(owner, sql);
    char *v = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) >= 1)
        v = strdup(PQgetvalue(r, 0, 0));
    else
        fprintf(stderr, "owner query failed: %s: %s", sql, PQerrorMessage(owner));
    PQclear(r);
    return v;
}

static bool owner_exec(const char *sql)
{
    PGresult *r = PQexec(owner, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "owner statement failed: %s: %s", sql, PQerrorMessage(owner));
    PQclear(r);
    return ok;
}

/* The text plan of EXPLAIN sql (caller frees), lines joined by '\n'. */
static char *owner_explain(const char *sql)
{
    char q[1024];
    snprintf(q, sizeof q, "EXPLAIN (COSTS OFF) %s", sql);
    PGresult *r = PQexec(owner, q);
    size_t len = 1;
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++)
        len += strlen(PQgetvalue(r, i, 0)) + 1;
    char *plan = calloc(1, len);
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
        strcat(plan, PQgetvalue(r, i, 0));
        strcat(plan, "\n");
    }
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "EXPLAIN failed: %s", PQerrorMessage(owner));
    PQclear(r);
    return plan;
}

/* ---- 1. catalog ----------------------------------------------------------- */

static void check_catalog(void)
{
    static const struct {
        const char *name, *method;
        bool unique, partial;
    } want[] = {
        {"docs_title_body_fts_idx", "gin", false, false},
        {"notes_code_idx", "btree", true, false},
        {"notes_author_written_at_idx", "btree", false, true},
        {"notes_author_idx", "hash", false, false},
        {"notes_written_at_idx", "brin", false, false},
        {"notes_text_summary_fts_idx", "gist", false, false},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *params[1] = {want[i].name};
        PGresult *r = PQexecParams(owner,
                                   "SELECT a.amname, x.indisunique, x.indisvalid, x.indpred IS NOT NULL "
                                   "FROM pg_class c JOIN pg_index x ON x.indexrelid = c.oid "
                                   "JOIN pg_am a ON a.oid = c.relam WHERE c.relname = $1",
                                   1, NULL, params, NULL, NULL, 0);
        bool found = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        check(found, "index %s exists", want[i].name);
        if (found) {
            check(!strcmp(PQgetvalue(r, 0, 0), want[i].method), "index %s has its method", want[i].name);
            check((PQgetvalue(r, 0, 1)[0] == 't') == want[i].unique, "index %s: uniqueness", want[i].name);
            check(PQgetvalue(r, 0, 2)[0] == 't', "index %s is valid", want[i].name);
            check((PQgetvalue(r, 0, 3)[0] == 't') == want[i].partial, "index %s: predicate", want[i].name);
        }
        PQclear(r);
    }
}

/* ---- 2. seed -------------------------------------------------------------- */

#define NDOCS 3000 /* per tenant */

static dbont_conn *app;
static dbont_uuid tenant[2];

/* Every 50th document mentions "needle"; every third has no body, and
 * then its title carries the word, so only the title can find it. */
static void seed_tenant(int t)
{
    dbont_error err = {0};
    check(dbont_uuid_random(&tenant[t]) == 0, "a random tenant id%s", NULL);
    expect_ok(srch_tenant_begin(app, tenant[t], &err), "begin tenant session", &err);
    srch_tenants_new org = {0};
    org.name = t ? "Beta" : "Alpha";
    expect_ok(srch_tenants_insert(app, &org, NULL, &err), "insert tenant", &err);
    static srch_docs_new docs[NDOCS];
    static char titles[NDOCS][64], bodies[NDOCS][96];
    memset(docs, 0, sizeof docs);
    for (int i = 0; i < NDOCS; i++) {
        bool needle = i % 50 == 0, no_body = i % 3 == 0;
        snprintf(titles[i], sizeof titles[i], "%s %d of tenant %s%s", t ? "report" : "memo", i, t ? "beta" : "alpha",
                 needle && no_body ? " needle" : "");
        snprintf(bodies[i], sizeof bodies[i], "plain words about item %d%s", i, needle ? " and a needle here" : "");
        docs[i].title = titles[i];
        docs[i].body = no_body ? NULL : bodies[i];
    }
    expect_ok(srch_docs_copy(app, docs, NDOCS, NULL, &err), "bulk insert documents", &err);
    expect_ok(srch_tenant_end(app, true, &err), "commit tenant session", &err);
}

/* ---- 3. search ------------------------------------------------------------ */

static void check_search(int t)
{
    dbont_error err = {0};
    expect_ok(srch_tenant_begin(app, tenant[t], &err), "begin tenant session", &err);
    srch_docs_title_body_search_rows hits;
    expect_ok(srch_docs_title_body_search(app, "needle", 1000, &hits, &err), "search needle", &err);
    check(hits.count == NDOCS / 50, "every needle of the tenant is found (%s)", NULL);
    size_t own = 0, bodyless = 0;
    bool ordered = true;
    for (size_t i = 0; i < hits.count; i++) {
        own += !memcmp(hits.rows[i].tenant_id.bytes, tenant[t].bytes, 16);
        bodyless += hits.rows[i].body_is_null;
        if (i && hits.rows[i].rank > hits.rows[i - 1].rank)
            ordered = false;
    }
    check(own == hits.count, "every row found is the tenant's own%s", NULL);
    check(bodyless == (NDOCS / 50 + 2) / 3, "rows with a NULL body are found by their title%s", NULL);
    check(ordered, "best rank first%s", NULL);
    srch_docs_title_body_search_rows_free(&hits);

    expect_ok(srch_docs_title_body_search(app, "needle", 5, &hits, &err), "search with a limit", &err);
    check(hits.count == 5, "the row limit holds%s", NULL);
    srch_docs_title_body_search_rows_free(&hits);

    /* websearch syntax: a phrase, and a word left out */
    expect_ok(srch_docs_title_body_search(app, "\"item 100\" -alpha", 10, &hits, &err), "search a phrase", &err);
    check(hits.count == (t ? 1u : 0u), "a phrase and an excluded word%s", NULL);
    srch_docs_title_body_search_rows_free(&hits);

    expect_ok(srch_docs_title_body_search(app, t ? "alpha" : "beta", 10, &hits, &err), "search the other's word",
              &err);
    check(hits.count == 0, "the other tenant's words find nothing%s", NULL);
    srch_docs_title_body_search_rows_free(&hits);
    expect_ok(srch_tenant_end(app, true, &err), "end tenant session", &err);

    /* no tenant session: the function's own filter finds nothing */
    expect_ok(srch_docs_title_body_search(app, "needle", 1000, &hits, &err), "search without a tenant", &err);
    check(hits.count == 0, "no tenant, no rows%s", NULL);
    srch_docs_title_body_search_rows_free(&hits);
}

/* ---- 4. plans ------------------------------------------------------------- */

static char notices[1 << 16];

static void on_notice(void *arg, const PGresult *r)
{
    (void)arg;
    const char *msg = PQresultErrorMessage(r);
    if (strlen(notices) + strlen(msg) + 1 < sizeof notices)
        strcat(notices, msg);
}

static void check_plans(void)
{
    char tid[DBONT_UUID_TEXT_SIZE], sql[128];
    dbont_uuid_format(&tenant[0], tid);
    /* The owner's connection becomes the application role (SET ROLE:
     * row-level security applies to it as to search_app's own logins);
     * auto_explain, loaded first (that takes a superuser), shows the plan
     * of the statement inside the search function as a NOTICE.  Its
     * settings are a superuser's, so they are made before SET ROLE. */
    owner_exec("SET client_min_messages = notice");
    owner_exec("LOAD 'auto_explain'");
    owner_exec("SET auto_explain.log_min_duration = 0");
    owner_exec("SET auto_explain.log_nested_statements = on");
    owner_exec("SET auto_explain.log_level = notice");
    owner_exec("SET auto_explain.log_format = text");
    owner_exec("SET ROLE search_app");
    snprintf(sql, sizeof sql, "SELECT set_config('app.current_org_id', '%s', false)", tid);
    owner_exec(sql);

    const char *direct = "SELECT id FROM docs WHERE to_tsvector('english'::regconfig, coalesce(title, '') || ' ' || "
                         "coalesce(body, '')) @@ websearch_to_tsquery('english'::regconfig, 'needle')";
    char *before = owner_explain(direct);
    printf("-- before: the condition written directly, as search_app under row-level security:\n%s", before);
    check(!strstr(before, "docs_title_body_fts_idx"), "without the function the index is not used%s", NULL);

    notices[0] = '\0';
    char *count = owner_value("SELECT count(*) FROM docs_title_body_search('needle', 1000)");
    const char *inner = strstr(notices, "FROM docs t");
    printf("-- after: srch_docs_title_body_search, as search_app under row-level security "
           "(auto_explain of the statement inside):\n%s\n",
           inner ? inner : notices);
    check(inner != NULL, "auto_explain showed the statement inside the function%s", NULL);
    check(inner && strstr(inner, "Index Scan on docs_title_body_fts_idx"), "the search uses the full-text index%s",
          NULL);
    check(count && atoi(count) == NDOCS / 50, "and finds the tenant's needles only (%s)", count);
    free(count);
    free(before);
    owner_exec("RESET ROLE");
    owner_exec("RESET app.current_org_id");
    owner_exec("SET auto_explain.log_min_duration = -1");
    owner_exec("SET client_min_messages = warning");

    /* as the owner (no row-level security for a superuser) the direct
     * condition can use the index: the index itself is not the problem */
    owner_exec("SET enable_seqscan = off");
    char *owner_plan = owner_explain(direct);
    check(strstr(owner_plan, "docs_title_body_fts_idx") != NULL, "the direct condition uses the index without RLS%s",
          NULL);
    free(owner_plan);
}

/* ---- 5. the other kinds --------------------------------------------------- */

static void seed_notes(void)
{
    owner_exec("INSERT INTO notes (code, author, pinned, written_at, text, summary) "
               "SELECT 'n' || g, 'author' || (g % 40), g % 7 = 0, now() - g * interval '1 minute', "
               "'alpha bravo ' || g, CASE WHEN g % 2 = 0 THEN NULL ELSE 'charlie' END "
               "FROM generate_series(1, 4000) g");
    owner_exec("ANALYZE notes");
    owner_exec("ANALYZE docs");
}

static void uses(const char *sql, const char *index)
{
    char *plan = owner_explain(sql);
    bool ok = strstr(plan, index) != NULL;
    check(ok, "the plan uses %s", index);
    if (!ok)
        fprintf(stderr, "%s\n%s", sql, plan);
    free(plan);
}

static void check_kinds(void)
{
    owner_exec("SET enable_seqscan = off");
    owner_exec("SET enable_sort = off");
    uses("SELECT * FROM notes WHERE code = 'n17'", "notes_code_idx");
    uses("SELECT * FROM notes WHERE author = 'author3'", "notes_author_idx");
    uses("SELECT author, written_at FROM notes WHERE pinned = true ORDER BY author, written_at LIMIT 5",
         "notes_author_written_at_idx");
    uses("SELECT count(*) FROM notes WHERE written_at < now() - interval '3000 minutes'", "notes_written_at_idx");
    owner_exec("RESET enable_sort");

    /* the plain search (notes has no row-level security): a statement
     * over the gist index, NULL summaries found by their text */
    dbont_error err = {0};
    srch_notes_text_summary_search_rows hits;
    expect_ok(srch_notes_text_summary_search(app, "bravo", 3000, &hits, &err), "search notes", &err);
    size_t nulls = 0;
    for (size_t i = 0; i < hits.count; i++)
        nulls += hits.rows[i].summary_is_null;
    check(hits.count == 3000 && nulls == 1500, "the plain search finds rows with a NULL column%s", NULL);
    srch_notes_text_summary_search_rows_free(&hits);
    uses("SELECT id FROM notes WHERE to_tsvector('simple'::regconfig, coalesce(text, '') || ' ' || "
         "coalesce(summary, '')) @@ websearch_to_tsquery('simple'::regconfig, 'charlie')",
         "notes_text_summary_fts_idx");
    owner_exec("RESET enable_seqscan");

    PGresult *r = PQexec(owner, "INSERT INTO notes (code, author) VALUES ('n17', 'someone')");
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *constraint = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    check(state && !strcmp(state, "23505") && constraint && !strcmp(constraint, "notes_code_idx"),
          "the unique index refuses a duplicate code%s", NULL);
    PQclear(r);
}

int main(void)
{
    const char *owner_dsn = getenv("DATABASE_URL"), *app_dsn = getenv("APP_DATABASE_URL");
    if (!owner_dsn || !app_dsn) {
        fprintf(stderr, "test_search: set DATABASE_URL (the owner) and APP_DATABASE_URL (search_app)\n");
        return 2;
    }
    owner = PQconnectdb(owner_dsn);
    dbont_error err = {0};
    app = dbont_connect(app_dsn, &err);
    if (PQstatus(owner) != CONNECTION_OK || !app) {
        fprintf(stderr, "test_search: cannot connect: %s %s\n", PQerrorMessage(owner), err.message);
        return 1;
    }
    /* notices (auto_explain's plans among them) are collected, not printed */
    PQsetNoticeReceiver(owner, on_notice, NULL);
    owner_exec("SET client_min_messages = warning");
    check_catalog();
    seed_tenant(0);
    seed_tenant(1);
    seed_notes();
    check_search(0);
    check_search(1);
    check_plans();
    check_kinds();
    dbont_close(app);
    PQfinish(owner);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
