/*
 * dbont-shard: resharding a shard set that grows (dbont/reshard.h).
 *
 *   dbont-shard [--conf FILE] --snapshot FILE plan [--table T]
 *   dbont-shard [--conf FILE] --snapshot FILE move [--table T] [--batch N]
 *
 * A thin front end over dbont/reshard.h: it reads the sharded tables
 * from the snapshot (dbont_reshard_schema_read), opens the shard set
 * (the configuration says "shards M" and "moving-from N"), checks that
 * the snapshot's tables are sharded over M, and calls
 * dbont_reshard_make_plan or dbont_reshard_move, printing the plan or
 * each batch as it is moved.
 *
 * Test-only hook: with DBONT_SHARD_TEST_KILL_AT=copied:K (or moved:K) in
 * the environment, move kills itself with SIGKILL when its K-th batch
 * reaches that phase (copied: on its new shard, not yet deleted from its
 * old one), so that tests can stop a move at its most delicate point.
 * It is not part of the interface: never set it otherwise.
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbont/dbont.h"
#include "dbont/reshard.h"

enum { EXIT_USAGE = 2 };

typedef struct options {
    const char *conf;       /* NULL: $DBONT_SHARDS_CONF, else DBONT_SHARD_* */
    const char *snapshot;
    const char *command;    /* "plan" or "move" */
    const char *table;      /* --table, or NULL: every sharded table */
    size_t batch;           /* --batch: keys per batch */
    bool keys;              /* --keys: plan names every moving key */
} options;

static void print_usage(FILE *out)
{
    fputs("usage: dbont-shard [--conf FILE] --snapshot FILE plan [--table T] [--keys]\n"
          "       dbont-shard [--conf FILE] --snapshot FILE move [--table T] [--batch N]\n"
          "\n"
          "Moves rows when a shard set grows from N shards to M.  The set's\n"
          "configuration says 'shards M' and 'moving-from N' (or DBONT_SHARD_COUNT=M\n"
          "and DBONT_SHARD_MOVING_FROM=N); the snapshot's sharded tables must be\n"
          "spread over M shards.\n"
          "\n"
          "  plan     count, per table, the rows each old shard would send to each\n"
          "           new one, and the fraction that moves (ideal: 1 - N/M); reads\n"
          "           every key, writes nothing\n"
          "  move     move those rows in batches of keys: copy each batch to its new\n"
          "           shard (COPY, binary), verify counts and checksums, and only then\n"
          "           delete it from its old shard; safe to kill and run again.  Tables\n"
          "           joined by foreign keys move together, parents first\n"
          "\n"
          "  --conf FILE      the shard set's configuration (default: $DBONT_SHARDS_CONF,\n"
          "                   else the DBONT_SHARD_* environment variables)\n"
          "  --snapshot FILE  the migrations' schema.snapshot (which tables are sharded,\n"
          "                   by which key)\n"
          "  --table T        only table T (move: with the tables joined to it by\n"
          "                   foreign keys)\n"
          "  --batch N        move: keys per batch (default 1000)\n"
          "  --keys           plan: also name every key that would move, one line\n"
          "                   per row: 'key TABLE KEY HASH FROM -> TO'\n"
          "  --help, --version\n"
          "\n"
          "Exit status: 0 success, 1 failure, 2 usage error.\n",
          out);
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dbont-shard: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
    print_usage(stderr);
    return EXIT_USAGE;
}

/* "--opt VALUE" or "--opt=VALUE" (as dbont-migrate takes them). */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static bool parse_batch(const char *text, size_t *out)
{
    char *end;
    unsigned long long v;
    if (text[0] < '0' || text[0] > '9')
        return false;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (*end != '\0' || errno == ERANGE || v < 1 || v > 1000000)
        return false;
    *out = (size_t)v;
    return true;
}

/* -1 when the arguments are fine, otherwise the exit status. */
static int parse_args(int argc, char **argv, options *opt)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *value;
        bool missing = false;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_usage(stdout);
            return 0;
        } else if (strcmp(arg, "--version") == 0) {
            printf("dbont-shard %s\n", DBONT_VERSION);
            return 0;
        } else if ((value = option_value(argc, argv, &i, "--conf", &missing))) {
            opt->conf = value;
        } else if ((value = option_value(argc, argv, &i, "--snapshot", &missing))) {
            opt->snapshot = value;
        } else if ((value = option_value(argc, argv, &i, "--table", &missing))) {
            opt->table = value;
        } else if ((value = option_value(argc, argv, &i, "--batch", &missing))) {
            if (!parse_batch(value, &opt->batch))
                return usage_error("--batch needs a whole number of keys from 1 to 1000000, "
                                   "not '%s'",
                                   value);
        } else if (strcmp(arg, "--keys") == 0) {
            opt->keys = true;
        } else if (missing) {
            return usage_error("%s needs a value", arg);
        } else if (arg[0] == '-') {
            return usage_error("unknown option '%s'", arg);
        } else if (opt->command == NULL) {
            opt->command = arg;
        } else {
            return usage_error("unexpected argument '%s'", arg);
        }
    }
    if (opt->command == NULL)
        return usage_error("no command: give plan or move");
    if (strcmp(opt->command, "plan") != 0 && strcmp(opt->command, "move") != 0)
        return usage_error("unknown command '%s' (expected plan or move)", opt->command);
    if (opt->batch != 0 && strcmp(opt->command, "move") != 0)
        return usage_error("--batch is for move only");
    if (opt->keys && strcmp(opt->command, "plan") != 0)
        return usage_error("--keys is for plan only");
    if (opt->snapshot == NULL)
        return usage_error("--snapshot FILE is required (the migrations' schema.snapshot)");
    if (opt->conf != NULL && opt->conf[0] == '\0')
        return usage_error("--conf needs a file name");
    return -1;
}

static const char *plural(int64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static double percent(int64_t part, int64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * The snapshot must describe the tables as they are after the move:
 * spread over the set's M shards.  A table still at the old count (or
 * another) would be routed by code generated for another count.
 */
static bool counts_match(const dbont_reshard_schema *schema, const dbont_reshard_table *tables,
                         size_t n, const options *opt, int m, int from)
{
    bool ok = true;
    size_t i, k;
    for (i = 0; i < n; i++) {
        for (k = 0; k < schema->ntables; k++) {
            const dbont_reshard_schema_table *t = &schema->tables[k];
            if (strcmp(t->table.name, tables[i].name) != 0 || t->shard_count == m)
                continue;
            fprintf(stderr,
                    "%s:%d: error: table '%s' is spread over %lld shards, but the shard set "
                    "has %d (moving from %d): the snapshot must describe the tables after the "
                    "move (shard:shardCount %d)\n",
                    opt->snapshot, t->line, t->table.name, t->shard_count, m, from, m);
            ok = false;
        }
    }
    return ok;
}

static const char *table_list(const dbont_reshard_table *tables, size_t n, char *out, size_t size)
{
    size_t i, used = 0;
    out[0] = '\0';
    for (i = 0; i < n && used < size; i++) {
        int w = snprintf(out + used, size - used, "%s%s", i > 0 ? ", " : "", tables[i].name);
        used += w > 0 ? (size_t)w : 0;
    }
    return out;
}

/* plan --keys: one line per row that would move */
static void print_moving_key(const char *table, const char *key, uint64_t hash, int from, int to, void *user)
{
    (void)user;
    printf("key %s %s 0x%016" PRIx64 " %d -> %d\n", table, key, hash, from, to);
}

static int run_plan(dbont_shardset *set, const dbont_reshard_table *tables, size_t n, bool keys)
{
    dbont_reshard_plan plan;
    dbont_error err;
    size_t i, f;
    int s;

    if (dbont_reshard_make_plan(set, tables, n, keys ? print_moving_key : NULL, NULL, &plan, &err) != DBONT_OK) {
        fprintf(stderr, "dbont-shard: error: %s %s\n", err.sqlstate, err.message);
        return 1;
    }
    for (i = 0; i < plan.ntables; i++) {
        const dbont_reshard_table_plan *t = &plan.tables[i];
        printf("%s (shard key %s, %s): %" PRId64 " %s on the old shards\n", t->name,
               tables[i].key, dbont_reshard_key_type_name(tables[i].key_type), t->rows,
               plural(t->rows, "row", "rows"));
        for (f = 0; f < t->nflows; f++)
            printf("  shard %d -> shard %d: %" PRId64 " %s\n", t->flows[f].from, t->flows[f].to,
                   t->flows[f].rows, plural(t->flows[f].rows, "row", "rows"));
        printf("  moving: %" PRId64 " of %" PRId64 " %s (%.2f%%)\n", t->moving, t->rows,
               plural(t->rows, "row", "rows"), percent(t->moving, t->rows));
        for (s = 0; s < plan.from_count; s++) {
            if (t->misplaced_on[s] > 0)
                printf("  warning: %" PRId64 " %s on shard %d belong%s to another of the %d old "
                       "shards (misplaced before this move; left alone)\n",
                       t->misplaced_on[s], plural(t->misplaced_on[s], "row", "rows"), s,
                       t->misplaced_on[s] == 1 ? "s" : "", plan.from_count);
        }
        if (t->on_new > 0)
            printf("  already on the new shards: %" PRId64 " %s\n", t->on_new,
                   plural(t->on_new, "row", "rows"));
    }
    printf("total: %" PRId64 " of %" PRId64 " %s move (%.2f%%); ideal 1 - %d/%d = %.2f%%\n",
           plan.moving, plan.rows, plural(plan.rows, "row", "rows"),
           percent(plan.moving, plan.rows), plan.from_count, plan.to_count,
           100.0 * (1.0 - (double)plan.from_count / (double)plan.to_count));
    if (plan.on_new > 0)
        printf("already moved: %" PRId64 " %s on the new shards\n", plan.on_new,
               plural(plan.on_new, "row", "rows"));
    dbont_reshard_plan_free(&plan);
    return 0;
}

/* What move prints and the test hook needs. */
typedef struct progress {
    const dbont_reshard_table *tables;
    uint64_t before;    /* batches of the groups moved before this one */
    dbont_reshard_phase kill_phase;
    uint64_t kill_at;   /* 0: no hook */
} progress;

static bool on_batch(const dbont_reshard_batch *b, void *user)
{
    const progress *p = user;
    uint64_t number = p->before + b->number;
    size_t i;
    if (b->phase == DBONT_RESHARD_MOVED) {
        printf("batch %" PRIu64 ": shard %d -> shard %d: %zu %s;", number, b->from, b->to,
               b->keys, b->keys == 1 ? "key" : "keys");
        for (i = 0; i < b->ntables; i++)
            printf("%s %s %" PRId64 " %s", i > 0 ? "," : "", p->tables[i].name, b->rows[i],
                   plural(b->rows[i], "row", "rows"));
        printf("; %.1f ms\n", b->ms);
        fflush(stdout);
    }
    if (p->kill_at != 0 && number == p->kill_at && b->phase == p->kill_phase) {
        printf("test hook (DBONT_SHARD_TEST_KILL_AT): killing this process at batch %" PRIu64
               ", %s\n",
               number, b->phase == DBONT_RESHARD_COPIED ? "copied" : "moved");
        fflush(stdout);
        fflush(stderr);
        raise(SIGKILL);
    }
    return true;
}

/* DBONT_SHARD_TEST_KILL_AT=copied:K | moved:K (test-only, above). */
static bool read_kill_hook(progress *p)
{
    const char *v = getenv("DBONT_SHARD_TEST_KILL_AT");
    const char *colon;
    char *end;
    if (v == NULL || v[0] == '\0')
        return true;
    colon = strchr(v, ':');
    if (colon == NULL)
        return false;
    if ((size_t)(colon - v) == 6 && strncmp(v, "copied", 6) == 0)
        p->kill_phase = DBONT_RESHARD_COPIED;
    else if ((size_t)(colon - v) == 5 && strncmp(v, "moved", 5) == 0)
        p->kill_phase = DBONT_RESHARD_MOVED;
    else
        return false;
    p->kill_at = strtoull(colon + 1, &end, 10);
    return *end == '\0' && p->kill_at > 0;
}

/* A co-located group of tables: moved together (dbont_reshard_move). */
typedef struct group {
    dbont_reshard_table *tables;
    size_t n;
} group;

/* Moves each group in turn; stops at the first that fails. */
static int run_move(dbont_shardset *set, const group *groups, size_t ngroups, const options *opt)
{
    dbont_reshard_move_options mo = DBONT_RESHARD_MOVE_OPTIONS_INIT;
    progress p = {NULL, 0, DBONT_RESHARD_COPIED, 0};
    int64_t misplaced = 0;
    char names[1024];
    size_t g, i;

    if (!read_kill_hook(&p)) {
        fputs("dbont-shard: error: DBONT_SHARD_TEST_KILL_AT must be copied:K or moved:K (a "
              "test-only hook)\n",
              stderr);
        return 1;
    }
    mo.batch_keys = opt->batch;
    mo.on_batch = on_batch;
    mo.user = &p;
    for (g = 0; g < ngroups; g++) {
        dbont_reshard_move_report report;
        double began = now_s();
        dbont_error err;
        dbont_status st;

        printf("moving %s%s\n", table_list(groups[g].tables, groups[g].n, names, sizeof names),
               groups[g].n > 1 ? " (joined by foreign keys: together, parents first)" : "");
        fflush(stdout);
        p.tables = groups[g].tables;
        st = dbont_reshard_move(set, groups[g].tables, groups[g].n, &mo, &report, &err);
        if (report.batches > 0 || st == DBONT_OK) {
            printf("  moved %" PRId64 " %s in %" PRIu64 " %s:", report.keys,
                   plural(report.keys, "key", "keys"), report.batches,
                   report.batches == 1 ? "batch" : "batches");
            for (i = 0; i < report.ntables; i++)
                printf("%s %s %" PRId64 " %s", i > 0 ? "," : "", groups[g].tables[i].name,
                       report.rows[i], plural(report.rows[i], "row", "rows"));
            printf(" (%.2f s)\n", now_s() - began);
        }
        p.before += report.batches;
        misplaced += report.misplaced;
        dbont_reshard_move_report_free(&report);
        if (st != DBONT_OK) {
            fprintf(stderr, "dbont-shard: error: %s %s\n", err.sqlstate, err.message);
            /* 22023: refused before anything was written; XX001: the
             * message says what is where. */
            if (strcmp(err.sqlstate, "22023") != 0 && strcmp(err.sqlstate, "XX001") != 0)
                fputs("dbont-shard: note: every batch moved before the error stays moved; the "
                      "rows of the others are on their old shards (the batch that failed may "
                      "also have an identical copy on its new shard, which reads by key "
                      "tolerate); fix the cause and run move again: it goes on from there\n",
                      stderr);
            return 1;
        }
    }
    if (misplaced > 0)
        printf("warning: %" PRId64 " %s on an old shard that %s key does not route to (with "
               "the old count) were left alone; dbont-shard plan says where\n",
               misplaced, plural(misplaced, "key", "keys"), misplaced == 1 ? "its" : "their");
    if (p.before == 0)
        printf("nothing to move: every key is on its shard for %d shards; remove "
               "'moving-from %d' from the configuration\n",
               dbont_shardset_count(set), dbont_shardset_moving_from(set));
    else
        printf("the move from %d to %d shards is complete; remove 'moving-from %d' from the "
               "configuration\n",
               dbont_shardset_moving_from(set), dbont_shardset_count(set),
               dbont_shardset_moving_from(set));
    return 0;
}

/*
 * The groups to move: only's (with the tables joined to it), or every
 * sharded table's, each table in the first group that has it.
 */
static bool make_groups(const dbont_reshard_schema *schema, const char *only, group **out,
                        size_t *ngroups, dbont_error *err)
{
    bool *covered = calloc(schema->ntables + 1, sizeof *covered);
    size_t i, k, j;

    *out = calloc(schema->ntables + 1, sizeof **out);
    *ngroups = 0;
    if (covered == NULL || *out == NULL) {
        free(covered);
        dbont_error_set(err, "53200", "out of memory");
        return false;
    }
    for (i = 0; i < schema->ntables; i++) {
        group *g = &(*out)[*ngroups];
        const char *name = only != NULL ? only : schema->tables[i].table.name;
        if (covered[i] && only == NULL)
            continue;
        if (dbont_reshard_schema_select(schema, name, true, &g->tables, &g->n, err) != DBONT_OK) {
            free(covered);
            return false;
        }
        (*ngroups)++;
        for (k = 0; k < g->n; k++) {
            for (j = 0; j < schema->ntables; j++) {
                if (strcmp(schema->tables[j].table.name, g->tables[k].name) == 0)
                    covered[j] = true;
            }
        }
        if (only != NULL)
            break;
    }
    free(covered);
    return true;
}

static void free_groups(group *groups, size_t n)
{
    size_t i;
    for (i = 0; groups != NULL && i < n; i++)
        free(groups[i].tables);
    free(groups);
}

int main(int argc, char **argv)
{
    options opt = {NULL, NULL, NULL, NULL, 0, false};
    dbont_shardset_options so = DBONT_SHARDSET_OPTIONS_INIT;
    dbont_reshard_schema schema;
    dbont_reshard_table *tables = NULL;
    group *groups = NULL;
    dbont_shardset *set = NULL;
    dbont_error err;
    size_t n = 0, ngroups = 0, g;
    char names[1024];
    int status = parse_args(argc, argv, &opt);
    bool move;

    if (status >= 0)
        return status;
    move = strcmp(opt.command, "move") == 0;
    if (dbont_reshard_schema_read(opt.snapshot, &schema, &err) != DBONT_OK) {
        fprintf(stderr, "dbont-shard: error: %s\n", err.message);
        return 1;
    }
    status = 1;
    if (schema.ntables == 0) {
        fprintf(stderr, "dbont-shard: error: %s has no sharded table (no 'shard-by' line)\n",
                opt.snapshot);
        goto end;
    }
    /* plan: the tables asked for, each on its own; move: their groups. */
    if (dbont_reshard_schema_select(&schema, opt.table, false, &tables, &n, &err) != DBONT_OK ||
        (move && !make_groups(&schema, opt.table, &groups, &ngroups, &err))) {
        fprintf(stderr, "dbont-shard: error: %s: %s\n", opt.snapshot, err.message);
        goto end;
    }
    so.conf_path = opt.conf;
    /* Two connections to the old shard being moved (its key cursor, and
     * the work), one to each new shard. */
    so.pool.max_size = 2;
    so.pool.acquire_timeout = 30.0;
    set = dbont_shardset_open(&so, &err);
    if (set == NULL) {
        fprintf(stderr, "dbont-shard: error: %s %s\n", err.sqlstate, err.message);
        goto end;
    }
    if (dbont_shardset_moving_from(set) == 0) {
        fprintf(stderr,
                "dbont-shard: error: the shard set has %d shards and no 'moving-from N' (nor "
                "DBONT_SHARD_MOVING_FROM): add 'moving-from' with the old shard count to its "
                "configuration\n",
                dbont_shardset_count(set));
        goto end;
    }
    for (g = 0; g < ngroups; g++) {
        if (!counts_match(&schema, groups[g].tables, groups[g].n, &opt, dbont_shardset_count(set),
                          dbont_shardset_moving_from(set)))
            goto end;
    }
    if (!counts_match(&schema, tables, n, &opt, dbont_shardset_count(set),
                      dbont_shardset_moving_from(set)))
        goto end;
    if (move && opt.table != NULL) {
        printf("move: %d -> %d shards; %s\n", dbont_shardset_moving_from(set),
               dbont_shardset_count(set),
               table_list(groups[0].tables, groups[0].n, names, sizeof names));
        if (groups[0].n > n)
            printf("note: %s moves with the tables joined to it by foreign keys, parents first\n",
                   opt.table);
    } else {
        printf("%s: %d -> %d shards; %s\n", move ? "move" : "plan",
               dbont_shardset_moving_from(set), dbont_shardset_count(set),
               table_list(tables, n, names, sizeof names));
    }
    fflush(stdout);
    status = move ? run_move(set, groups, ngroups, &opt) : run_plan(set, tables, n, opt.keys);
end:
    dbont_shardset_close(set);
    free(tables);
    free_groups(groups, ngroups);
    dbont_reshard_schema_free(&schema);
    return status;
}
