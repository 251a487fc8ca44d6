/*
 * migindex.c: the indexes that migration steps build (see migindex.h).
 *
 * Every name that came from the catalog is quoted (format('%I.%I') in
 * the queries, PQescapeIdentifier here) before it goes into a statement,
 * whatever it holds.  Statements that the runner composes are not the
 * file's text: their failures are reported at the step's line, and any
 * position the server gives is not used.
 */
#define _POSIX_C_SOURCE 200809L   /* strdup */

#include "migindex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migmsg.h"

#define STATE_NO_MEMORY "53200"

/* ------------------------------------------------------------------ */
/* INVALID indexes of "index NAME" steps                               */
/* ------------------------------------------------------------------ */

/* An ordinary index NAME of current_schema() that is INVALID: one row
 * with its schema-qualified, quoted name, or none.  A partitioned index
 * (relkind 'I') cannot be built or dropped concurrently, so it is never a
 * concurrent build's leftover. */
#define INVALID_INDEX_SQL                                                          \
    "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)"                     \
    " FROM pg_catalog.pg_class c"                                                 \
    " JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid"                         \
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                   \
    " WHERE c.relname = $1 AND n.nspname = pg_catalog.current_schema()"           \
    " AND c.relkind = 'i' AND NOT x.indisvalid"

bool dbont_migindex_left_invalid(PGconn *pg, const char *index_name)
{
    if (PQtransactionStatus(pg) != PQTRANS_IDLE)
        return false;
    const char *params[] = { index_name };
    PGresult *res = PQexecParams(pg, INVALID_INDEX_SQL, 1, NULL, params, NULL, NULL, 0);
    bool invalid = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    PQclear(res);
    return invalid;
}

/*
 * Adds a repair of index_name at s's step to the report, and tells the
 * caller (on_repair) before the index is dropped and the possibly long
 * build starts.
 */
static dbont_status add_repair(const dbont_migindex_step *s, const char *index_name,
                               dbont_error *err)
{
    dbont_migrate_report *report = s->report;
    dbont_migrate_repair *grown =
        realloc(report->repairs, (report->repair_count + 1) * sizeof *grown);
    if (!grown)
        return dbont_error_set(err, STATE_NO_MEMORY, "%s: error: out of memory", s->path);
    report->repairs = grown;
    dbont_migrate_repair *r = &grown[report->repair_count];
    memset(r, 0, sizeof *r);
    snprintf(r->index_name, sizeof r->index_name, "%s", index_name);
    r->version = s->version;
    r->line = s->step->statement_line;
    r->path = strdup(s->path);
    if (!r->path)
        return dbont_error_set(err, STATE_NO_MEMORY, "%s: error: out of memory", s->path);
    report->repair_count++;
    if (s->options->on_repair)
        s->options->on_repair(r, s->options->user);
    return DBONT_OK;
}

/*
 * Before a "no-transaction index NAME" step: an INVALID index NAME, left
 * by an interrupted or failed concurrent build, would make the step's
 * CREATE INDEX CONCURRENTLY IF NOT EXISTS keep it as it is; it is reported
 * and dropped (concurrently, outside any transaction) so that the step
 * builds it again.
 */
dbont_status dbont_migindex_repair(const dbont_migindex_step *s, dbont_error *err)
{
    const dbont_migration_step *step = s->step;
    const char *params[] = { step->index_name };
    PGresult *res = dbont_msg_query(s->pg, INVALID_INDEX_SQL, 1, params, s->where,
                                    "cannot look for an invalid index", err);
    if (!res)
        return DBONT_ERROR;
    char qualified[2 * 64 * 2 + 8] = "";
    if (PQntuples(res) == 1)
        snprintf(qualified, sizeof qualified, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!qualified[0])
        return DBONT_OK;
    if (add_repair(s, step->index_name, err) != DBONT_OK)
        return DBONT_ERROR;

    char sql[512];
    snprintf(sql, sizeof sql, "DROP INDEX CONCURRENTLY IF EXISTS %s", qualified);
    char doing[160];
    snprintf(doing, sizeof doing, "cannot drop the invalid index %s", step->index_name);
    res = dbont_msg_query(s->pg, sql, 0, NULL, s->where, doing, err);
    if (!res)
        return DBONT_ERROR;
    PQclear(res);
    return DBONT_OK;
}

/* ------------------------------------------------------------------ */
/* partition-indexes steps                                             */
/* ------------------------------------------------------------------ */

/* The partitioned index of a partition-indexes step, in current_schema():
 * its oid and relkind, its table's oid and name, its quoted name, its
 * definition, the start of the definition up to "USING " as
 * pg_get_indexdef writes it, and whether it is unique. */
#define PARENT_INDEX_SQL                                                           \
    "SELECT c.oid, c.relkind, t.oid, t.relname,"                                  \
    " pg_catalog.format('%I.%I', n.nspname, c.relname),"                          \
    " pg_catalog.pg_get_indexdef(c.oid),"                                         \
    " pg_catalog.format('CREATE %sINDEX %I ON ONLY %I.%I ',"                      \
    "   CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END,"                      \
    "   c.relname, tn.nspname, t.relname),"                                       \
    " x.indisunique"                                                              \
    " FROM pg_catalog.pg_class c"                                                 \
    " JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid"                         \
    " JOIN pg_catalog.pg_class t ON t.oid = x.indrelid"                           \
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                   \
    " JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace"                 \
    " WHERE c.relname = $1 AND n.nspname = pg_catalog.current_schema()"

/* The direct partitions of table $1 that have no index attached to the
 * partitioned index $2, by name: name, quoted qualified name, schema,
 * relkind, oid. */
#define UNATTACHED_PARTITIONS_SQL                                                  \
    "SELECT p.relname, pg_catalog.format('%I.%I', pn.nspname, p.relname),"        \
    " pn.nspname, p.relkind, p.oid"                                               \
    " FROM pg_catalog.pg_inherits i"                                              \
    " JOIN pg_catalog.pg_class p ON p.oid = i.inhrelid"                           \
    " JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace"                 \
    " WHERE i.inhparent = $1::pg_catalog.oid"                                     \
    " AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits ii"                      \
    "   JOIN pg_catalog.pg_index px ON px.indexrelid = ii.inhrelid"               \
    "   WHERE ii.inhparent = $2::pg_catalog.oid AND px.indrelid = p.oid)"         \
    " ORDER BY p.relname"

/* A relation named $1 in schema $2: whether it is an index of the table
 * $3, whether that index is valid, and its quoted qualified name. */
#define CHILD_INDEX_SQL                                                            \
    "SELECT x.indrelid IS NOT DISTINCT FROM $3::pg_catalog.oid,"                  \
    " COALESCE(x.indisvalid, false),"                                             \
    " pg_catalog.format('%I.%I', n.nspname, c.relname)"                           \
    " FROM pg_catalog.pg_class c"                                                 \
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                   \
    " LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid"                    \
    " WHERE c.relname = $1 AND n.nspname = $2"

/* What a partition-indexes step knows about its partitioned index. */
typedef struct parent_index {
    char oid[16];
    char table_oid[16];
    char table[DBONT_MIGRATE_NAME_SIZE];
    char qualified[2 * 64 * 2 + 8];
    /* "CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS " goes before the
     * child's name; "USING ..." (the rest of the definition) after
     * " ON partition ". */
    bool unique;
    char *using_clause;   /* owned: free it */
} parent_index;

/* How a child index's name is taken in a partition's schema. */
typedef enum child_state {
    CHILD_NONE,      /* no relation of that name */
    CHILD_VALID,     /* a valid index of the partition */
    CHILD_INVALID,   /* an INVALID index of the partition */
    CHILD_OTHER      /* another relation: an index of another table, a table */
} child_state;

/* One partition that needs its index, from UNATTACHED_PARTITIONS_SQL. */
typedef struct partition_child {
    const char *name;        /* the partition, as pg_class.relname */
    const char *qualified;   /* quoted schema.name */
    const char *schema;
    const char *oid;
    char index[DBONT_MIGRATE_NAME_SIZE];   /* the child index's name */
} partition_child;

/* Fills err for a failed query of a step that the runner composed (not
 * the file's text): at FILE:LINE of the step, the server's SQLSTATE,
 * message and details, then note when not NULL.  Any position the server
 * gives is in the composed statement, not in the file, so it is not used. */
static dbont_status step_failed(const dbont_migindex_step *s, PGresult *res,
                                const char *note, dbont_error *err)
{
    char text[DBONT_ERROR_MESSAGE_MAX];
    dbont_msg_failure_text(res, s->pg, text, sizeof text);
    const char *state = dbont_msg_failure_state(res);
    dbont_msgbuf msg = { .len = 0 };
    dbont_msg_line(&msg, "%s: error: %s %s", s->where, state, text);
    dbont_msg_server_details(&msg, res);
    if (note)
        dbont_msg_line(&msg, "%s: note: %s", s->where, note);
    dbont_status st = dbont_error_set(err, state, "%s", msg.text);
    PQclear(res);
    return st;
}

/* Runs a composed statement with text parameters; NULL (err filled, at
 * the step's line, with note) on failure. */
static PGresult *step_query(const dbont_migindex_step *s, const char *sql, int nparams,
                            const char *const *params, const char *note, dbont_error *err)
{
    PGresult *res = PQexecParams(s->pg, sql, nparams, NULL, params, NULL, NULL, 0);
    if (dbont_msg_result_ok(res))
        return res;
    step_failed(s, res, note, err);
    return NULL;
}

/* Step 1 of a partition-indexes step: find its partitioned index. */
static dbont_status find_parent_index(const dbont_migindex_step *s, parent_index *pi,
                                      dbont_error *err)
{
    const char *name = s->step->partition_index;
    memset(pi, 0, sizeof *pi);
    const char *params[] = { name };
    PGresult *res = step_query(s, PARENT_INDEX_SQL, 1, params,
                               "while looking for the partitioned index", err);
    if (!res)
        return DBONT_ERROR;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return dbont_error_set(err, "42704",
                               "%s: error: 42704 index %s does not exist in the current "
                               "schema; a partition-indexes step builds the partitions' "
                               "indexes of an index that an earlier step made ON ONLY the "
                               "partitioned table (CREATE INDEX IF NOT EXISTS %s ON ONLY ...)",
                               s->where, name, name);
    }
    if (PQgetvalue(res, 0, 1)[0] != 'I') {
        dbont_status st =
            dbont_error_set(err, "42809",
                            "%s: error: 42809 index %s on table %s is not a partitioned "
                            "index: a partition-indexes step needs an index made ON ONLY a "
                            "partitioned table",
                            s->where, name, PQgetvalue(res, 0, 3));
        PQclear(res);
        return st;
    }
    snprintf(pi->oid, sizeof pi->oid, "%s", PQgetvalue(res, 0, 0));
    snprintf(pi->table_oid, sizeof pi->table_oid, "%s", PQgetvalue(res, 0, 2));
    snprintf(pi->table, sizeof pi->table, "%s", PQgetvalue(res, 0, 3));
    snprintf(pi->qualified, sizeof pi->qualified, "%s", PQgetvalue(res, 0, 4));
    pi->unique = PQgetvalue(res, 0, 7)[0] == 't';

    /* The definition reads "CREATE [UNIQUE] INDEX name ON ONLY
     * schema.table USING method (...) ...": what follows the known start
     * is taken verbatim.  Should a server write the start differently,
     * the first " USING " is the way in. */
    const char *def = PQgetvalue(res, 0, 5);
    const char *start = PQgetvalue(res, 0, 6);
    const char *rest = NULL;
    if (strncmp(def, start, strlen(start)) == 0 &&
        strncmp(def + strlen(start), "USING ", 6) == 0)
        rest = def + strlen(start);
    else if ((rest = strstr(def, " USING ")) != NULL)
        rest++;
    if (!rest) {
        dbont_status st = dbont_error_set(err, "XX000",
                                          "%s: error: XX000 cannot read the definition of "
                                          "index %s: '%s'",
                                          s->where, name, def);
        PQclear(res);
        return st;
    }
    pi->using_clause = strdup(rest);
    PQclear(res);
    if (!pi->using_clause)
        return dbont_error_set(err, STATE_NO_MEMORY, "%s: error: out of memory", s->path);
    return DBONT_OK;
}

/* What the name of a partition's index stands for in its schema. */
static dbont_status child_index_state(const dbont_migindex_step *s, const partition_child *p,
                                      child_state *state, char *qualified, size_t size,
                                      dbont_error *err)
{
    const char *params[] = { p->index, p->schema, p->oid };
    PGresult *res = step_query(s, CHILD_INDEX_SQL, 3, params,
                               "while looking for a partition's index", err);
    if (!res)
        return DBONT_ERROR;
    *state = CHILD_NONE;
    if (PQntuples(res) == 1) {
        snprintf(qualified, size, "%s", PQgetvalue(res, 0, 2));
        if (PQgetvalue(res, 0, 0)[0] != 't')
            *state = CHILD_OTHER;
        else
            *state = PQgetvalue(res, 0, 1)[0] == 't' ? CHILD_VALID : CHILD_INVALID;
    }
    PQclear(res);
    return DBONT_OK;
}

/* Steps 2b-2d for one partition: drop an INVALID leftover (reported as a
 * repair), build the index concurrently, attach it. */
static dbont_status build_partition_index(const dbont_migindex_step *s,
                                          const parent_index *pi, const partition_child *p,
                                          dbont_error *err)
{
    char note[1200];
    child_state state;
    char qualified[2 * 64 * 2 + 8] = "";
    if (child_index_state(s, p, &state, qualified, sizeof qualified, err) != DBONT_OK)
        return DBONT_ERROR;
    if (state == CHILD_OTHER)
        return dbont_error_set(err, "42P07",
                               "%s: error: 42P07 relation %s already exists and is not an "
                               "index of partition %s; it is the name of that partition's "
                               "index of %s: rename or drop it",
                               s->where, qualified, p->name, s->step->partition_index);
    if (state == CHILD_INVALID) {
        if (add_repair(s, p->index, err) != DBONT_OK)
            return DBONT_ERROR;
        char sql[512];
        snprintf(sql, sizeof sql, "DROP INDEX CONCURRENTLY IF EXISTS %s", qualified);
        snprintf(note, sizeof note, "while dropping the invalid index %s of partition %s",
                 p->index, p->name);
        PGresult *res = step_query(s, sql, 0, NULL, note, err);
        if (!res)
            return DBONT_ERROR;
        PQclear(res);
    }

    /* Identifiers the catalog gave are quoted here, whatever they hold. */
    char *index = PQescapeIdentifier(s->pg, p->index, strlen(p->index));
    if (!index)
        return dbont_error_set(err, STATE_NO_MEMORY, "%s: error: out of memory", s->path);
    size_t size = strlen(index) + strlen(p->qualified) + strlen(pi->using_clause) + 128;
    char *sql = malloc(size);
    if (!sql) {
        PQfreemem(index);
        return dbont_error_set(err, STATE_NO_MEMORY, "%s: error: out of memory", s->path);
    }
    snprintf(sql, size, "CREATE %sINDEX CONCURRENTLY IF NOT EXISTS %s ON %s %s",
             pi->unique ? "UNIQUE " : "", index, p->qualified, pi->using_clause);
    /* A valid index left by a run that stopped before attaching it is
     * attached as it is (IF NOT EXISTS would only add a NOTICE). */
    PGresult *res = state == CHILD_VALID ? NULL : PQexec(s->pg, sql);
    if (state != CHILD_VALID && !dbont_msg_result_ok(res)) {
        /* A failed concurrent build leaves its index behind, INVALID. */
        child_state after = CHILD_NONE;
        char ignored[sizeof qualified];
        dbont_error lookup_err;
        if (PQtransactionStatus(s->pg) == PQTRANS_IDLE)
            child_index_state(s, p, &after, ignored, sizeof ignored, &lookup_err);
        if (after == CHILD_INVALID)
            snprintf(note, sizeof note,
                     "the failed build left index %s of partition %s INVALID; the next %s "
                     "drops and rebuilds it",
                     p->index, p->name, s->down ? "down" : "up");
        else
            snprintf(note, sizeof note, "while building index %s of partition %s: %.900s",
                     p->index, p->name, sql);
        free(sql);
        PQfreemem(index);
        return step_failed(s, res, note, err);
    }
    PQclear(res);
    free(sql);

    /* The index is in its partition's schema. */
    char *schema = PQescapeIdentifier(s->pg, p->schema, strlen(p->schema));
    if (!schema) {
        PQfreemem(index);
        return dbont_error_set(err, STATE_NO_MEMORY, "%s: error: out of memory", s->path);
    }
    char attach[1024];
    snprintf(attach, sizeof attach, "ALTER INDEX %s ATTACH PARTITION %s.%s", pi->qualified,
             schema, index);
    PQfreemem(schema);
    PQfreemem(index);
    snprintf(note, sizeof note, "while attaching index %s of partition %s to %s", p->index,
             p->name, s->step->partition_index);
    res = step_query(s, attach, 0, NULL, note, err);
    if (!res)
        return DBONT_ERROR;
    PQclear(res);
    return DBONT_OK;
}

/* The partitioned index's validity, and its attached indexes that are
 * INVALID (", "-separated). */
#define PARENT_VALID_SQL                                                           \
    "SELECT x.indisvalid, (SELECT pg_catalog.string_agg(c.relname::text, ', '"    \
    "                      ORDER BY c.relname)"                                   \
    "   FROM pg_catalog.pg_inherits i"                                            \
    "   JOIN pg_catalog.pg_index cx ON cx.indexrelid = i.inhrelid"                \
    "   JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid"                         \
    "   WHERE i.inhparent = x.indexrelid AND NOT cx.indisvalid)"                  \
    " FROM pg_catalog.pg_index x WHERE x.indexrelid = $1::pg_catalog.oid"

/* After every partition has its index attached: the partitioned index
 * must be valid.  It is not when an attached index is itself INVALID, or
 * when a partition that had no index attached was dropped or detached
 * after an earlier run: PostgreSQL checks a partitioned index only when an
 * index is attached to it, so nothing the step can do makes it valid. */
static dbont_status check_parent_valid(const dbont_migindex_step *s, const parent_index *pi,
                                       dbont_error *err)
{
    const char *oid[] = { pi->oid };
    PGresult *res = step_query(s, PARENT_VALID_SQL, 1, oid,
                               "while checking the partitioned index", err);
    if (!res)
        return DBONT_ERROR;
    if (PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't') {
        PQclear(res);
        return DBONT_OK;
    }
    char why[600];
    const char *invalid = PQntuples(res) == 1 ? PQgetvalue(res, 0, 1) : "";
    if (invalid[0])
        snprintf(why, sizeof why, "the index%s %.400s attached to it %s INVALID",
                 strchr(invalid, ',') ? "es" : "", invalid, strchr(invalid, ',') ? "are" : "is");
    else
        snprintf(why, sizeof why,
                 "a partition that had no index attached to it was dropped or detached since "
                 "an earlier run");
    PQclear(res);
    return dbont_error_set(err, "55000",
                           "%s: error: 55000 index %s is still INVALID, although every "
                           "partition of %s has an index attached to it: %s; PostgreSQL marks "
                           "a partitioned index valid only when an index is attached to it, so "
                           "drop it (DROP INDEX %s, which drops the partitions' indexes too), "
                           "make it again as the earlier step of this file does (CREATE INDEX "
                           "... ON ONLY %s ...) and run the step again",
                           s->where, s->step->partition_index, pi->table, why,
                           s->step->partition_index, pi->table);
}

/*
 * A "no-transaction partition-indexes NAME" step: for each partition of
 * NAME's table without an index attached to NAME, build one concurrently
 * and attach it, each statement alone (autocommit); then NAME must be
 * valid.  Partitions already done are skipped, so the step can run again.
 */
dbont_status dbont_migindex_partitions(const dbont_migindex_step *s, dbont_error *err)
{
    parent_index pi;
    dbont_status st = find_parent_index(s, &pi, err);
    if (st != DBONT_OK)
        return st;
    const char *params[] = { pi.table_oid, pi.oid };
    PGresult *parts = step_query(s, UNATTACHED_PARTITIONS_SQL, 2, params,
                                 "while listing the partitions", err);
    if (!parts)
        st = DBONT_ERROR;
    for (int row = 0; parts && row < PQntuples(parts) && st == DBONT_OK; row++) {
        partition_child p = {
            .name = PQgetvalue(parts, row, 0),
            .qualified = PQgetvalue(parts, row, 1),
            .schema = PQgetvalue(parts, row, 2),
            .oid = PQgetvalue(parts, row, 4),
        };
        if (PQgetvalue(parts, row, 3)[0] == 'p') {
            st = dbont_error_set(err, "0A000",
                                 "%s: error: 0A000 partition %s of %s is itself partitioned; "
                                 "a partition-indexes step builds the indexes of one level of "
                                 "partitions only",
                                 s->where, p.name, pi.table);
            break;
        }
        dbont_migrate_partition_index_name(p.name, pi.table, s->step->partition_index,
                                           p.index);
        st = build_partition_index(s, &pi, &p, err);
    }
    PQclear(parts);
    free(pi.using_clause);

    /* PostgreSQL marks the partitioned index valid when the last
     * partition's index is attached, and only then. */
    if (st == DBONT_OK)
        st = check_parent_valid(s, &pi, err);
    return st;
}

/* ------------------------------------------------------------------ */
/* verify: the INVALID indexes of the current schema                   */
/* ------------------------------------------------------------------ */

/* The INVALID indexes of current_schema(); for a partitioned one, the
 * partitions that have no index attached to it; for an index of a
 * partition, the partitioned table (NULL otherwise). */
#define INVALID_INDEXES_SQL                                                        \
    "SELECT c.relname, t.relname, c.relkind = 'I',"                               \
    " CASE WHEN c.relkind = 'I' THEN COALESCE(("                       \
    "   SELECT pg_catalog.string_agg(p.inhrelid::pg_catalog.regclass::text, ', '" \
    "          ORDER BY p.inhrelid::pg_catalog.regclass::text)"                   \
    "   FROM pg_catalog.pg_inherits p WHERE p.inhparent = t.oid"                  \
    "   AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits ip"                    \
    "     JOIN pg_catalog.pg_index px ON px.indexrelid = ip.inhrelid"             \
    "     WHERE ip.inhparent = c.oid AND px.indrelid = p.inhrelid)), '') END,"    \
    " (SELECT pt.relname FROM pg_catalog.pg_inherits i"                           \
    "  JOIN pg_catalog.pg_class pt ON pt.oid = i.inhparent"                       \
    "  WHERE i.inhrelid = t.oid AND pt.relkind = 'p')"                            \
    " FROM pg_catalog.pg_index x"                                                 \
    " JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid"                         \
    " JOIN pg_catalog.pg_class t ON t.oid = x.indrelid"                           \
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                   \
    " WHERE NOT x.indisvalid AND n.nspname = pg_catalog.current_schema()"         \
    " ORDER BY c.relname"

/* Whether step builds the index x: an "index NAME" step names it; a
 * "partition-indexes NAME" step builds a partitioned index NAME, and
 * drops and rebuilds the index of each of its table's partitions that has
 * the name dbont_migrate_partition_index_name gives it (parent_table is
 * the table x's table is a partition of, "" when none). */
static bool step_builds(const dbont_migration_step *step, const dbont_migrate_invalid_index *x,
                        const char *parent_table)
{
    if (!step->partition_index[0])
        return !x->partitioned && strcmp(step->index_name, x->name) == 0;
    if (x->partitioned)
        return strcmp(step->partition_index, x->name) == 0;
    if (!parent_table[0])
        return false;
    char child[DBONT_MIGRATE_NAME_SIZE];
    dbont_migrate_partition_index_name(x->table, parent_table, step->partition_index, child);
    return strcmp(child, x->name) == 0;
}

/* The step that the next up runs to build index x, if any: in a pending
 * file (from its first step) or a partly applied one (from the step it
 * resumes at). */
static void find_rebuilder(const dbont_migrate_report *report, const char *parent_table,
                           dbont_migrate_invalid_index *x)
{
    for (size_t i = 0; i < report->count; i++) {
        const dbont_migration *m = &report->migrations[i];
        if (m->state != DBONT_MIGRATION_PENDING || m->out_of_order)
            continue;
        size_t first = m->partial == DBONT_MIGRATION_PARTIAL_UP ? m->steps_done : 0;
        for (size_t k = first; k < m->step_count; k++) {
            if (step_builds(&m->steps[k], x, parent_table)) {
                x->rebuilt_by = strdup(m->path);
                x->rebuilt_by_line = m->steps[k].statement_line;
                return;
            }
        }
    }
}

/* Adds row of INVALID_INDEXES_SQL to report->invalid_indexes, which has
 * room for it; false when out of memory (the entry stays, for
 * dbont_migrate_report_free). */
static bool add_invalid_index(dbont_migrate_report *report, PGresult *res, int row)
{
    dbont_migrate_invalid_index *x = &report->invalid_indexes[report->invalid_index_count++];
    memset(x, 0, sizeof *x);
    x->name = strdup(PQgetvalue(res, row, 0));
    x->table = strdup(PQgetvalue(res, row, 1));
    x->partitioned = PQgetvalue(res, row, 2)[0] == 't';
    if (x->partitioned)
        x->unattached = strdup(PQgetvalue(res, row, 3));
    if (x->name && x->table)
        find_rebuilder(report, PQgetvalue(res, row, 4), x);
    return x->name && x->table && (!x->partitioned || x->unattached);
}

dbont_status dbont_migindex_list_invalid(PGconn *pg, const char *dir,
                                         dbont_migrate_report *report, dbont_error *err)
{
    PGresult *res = dbont_msg_query(pg, INVALID_INDEXES_SQL, 0, NULL, dir,
                                    "cannot look for invalid indexes", err);
    if (!res)
        return DBONT_ERROR;
    bool ok = true;
    int rows = PQntuples(res);
    if (rows > 0) {
        report->invalid_indexes = calloc((size_t)rows, sizeof *report->invalid_indexes);
        ok = report->invalid_indexes != NULL;
    }
    for (int row = 0; ok && row < rows; row++)
        ok = add_invalid_index(report, res, row);
    PQclear(res);
    if (!ok)
        return dbont_error_set(err, STATE_NO_MEMORY, "%s: error: out of memory", dir);
    return DBONT_OK;
}
