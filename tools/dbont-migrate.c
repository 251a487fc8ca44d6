/*
 * dbont-migrate: applies a folder of numbered SQL migrations, and reverts
 * them with their down files.
 *
 *   dbont-migrate [--dsn DSN] --dir DIR [--lock-timeout SECONDS]
 *                 up | down [N] | status | verify
 *   dbont-migrate [--dsn DSN] [--dir DIR] partitions [--at TIMESTAMPTZ]
 *
 * A thin front end over dbont/migrate.h and dbont/partitions.h: it parses
 * the command line, connects, calls dbont_migrate_up, dbont_migrate_down,
 * dbont_migrate_status, dbont_migrate_verify or dbont_partitions_maintain
 * and prints the report.
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbont/dbont.h"
#include "dbont/partitions.h"

enum { EXIT_USAGE = 2 };

typedef struct options {
    const char *dsn;    /* NULL: DATABASE_URL, then libpq's defaults */
    const char *dir;
    const char *command;
    size_t count;       /* down N: how many versions to revert */
    double lock_timeout_s;
    const char *at;     /* partitions --at: "now" for the maintenance; NULL: now() */
} options;

static void print_usage(FILE *out)
{
    fputs("usage: dbont-migrate [--dsn DSN] --dir DIR [--lock-timeout SECONDS]\n"
          "                     up | down [N] | status | verify\n"
          "       dbont-migrate [--dsn DSN] [--dir DIR] partitions [--at TIMESTAMPTZ]\n"
          "\n"
          "  up       apply every pending migration of DIR, in version order, each in\n"
          "           its own transaction (or step by step, for a file with\n"
          "           '-- dbont:step' markers); resumes a file an earlier up stopped in;\n"
          "           refuses pending files older than the newest applied version\n"
          "           (renumber them above it)\n"
          "  down [N] revert the N (default 1) newest applied migrations, newest first,\n"
          "           each with its NNNN_name.down.sql in its own transaction (or step\n"
          "           by step)\n"
          "  status   show which migrations are applied (and whether each has a down\n"
          "           file), pending, out of order, changed, missing or PARTIAL\n"
          "  verify   check, read-only, that every file is applied unchanged, nothing\n"
          "           is pending or partial and no index is INVALID\n"
          "  partitions\n"
          "           make the range partitions each partitioned table needs now (see\n"
          "           docs/partitions.md; run it regularly, as the tables' owner), move\n"
          "           rows waiting in a default partition into their new partition, and\n"
          "           report per table what was made and what is left in the default\n"
          "           partition; DIR is not read\n"
          "\n"
          "  --dsn DSN               libpq connection string or URI (default: $DATABASE_URL)\n"
          "  --dir DIR               folder of NNNN_name.sql files and their\n"
          "                          NNNN_name.down.sql reverses\n"
          "  --lock-timeout SECONDS  how long up and down wait for another migrator\n"
          "                          (default 60)\n"
          "  --at TIMESTAMPTZ        partitions: maintain as if it were that time\n"
          "                          (default: the server's now())\n"
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
    fputs("dbont-migrate: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
    print_usage(stderr);
    return EXIT_USAGE;
}

/* A count of versions for down: a plain decimal number >= 1. */
static bool parse_count(const char *text, size_t *out)
{
    if (text[0] < '0' || text[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0' || errno == ERANGE || v < 1 || v > INT32_MAX)
        return false;
    *out = (size_t)v;
    return true;
}

static bool parse_seconds(const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v) || v < 0)
        return false;
    *out = v;
    return true;
}

/*
 * Takes "--opt VALUE" or "--opt=VALUE".  Returns the value (advancing *i
 * past it) when argv[*i] is that option, NULL otherwise; *missing is set
 * when the option is there without a value.
 */
static const char *option_value(int argc, char **argv, int *i, const char *name,
                                bool *missing)
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

/* Returns -1 when the arguments are fine, otherwise the exit status. */
static int parse_args(int argc, char **argv, options *opt)
{
    bool have_count = false;
    opt->count = 1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool missing = false;
        const char *value;
        /* After "down", one number may follow ("-1" is a bad N, not an option). */
        bool wants_count = opt->command && strcmp(opt->command, "down") == 0 && !have_count;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_usage(stdout);
            return 0;
        } else if (strcmp(arg, "--version") == 0) {
            printf("dbont-migrate %s\n", DBONT_VERSION);
            return 0;
        } else if ((value = option_value(argc, argv, &i, "--dsn", &missing))) {
            opt->dsn = value;
        } else if ((value = option_value(argc, argv, &i, "--dir", &missing))) {
            opt->dir = value;
        } else if ((value = option_value(argc, argv, &i, "--at", &missing))) {
            opt->at = value;
        } else if ((value = option_value(argc, argv, &i, "--lock-timeout", &missing))) {
            if (!parse_seconds(value, &opt->lock_timeout_s))
                return usage_error("--lock-timeout needs a number of seconds >= 0, not '%s'",
                                   value);
        } else if (missing) {
            return usage_error("%s needs a value", arg);
        } else if (arg[0] == '-' && !(wants_count && arg[1] >= '0' && arg[1] <= '9')) {
            return usage_error("unknown option '%s'", arg);
        } else if (!opt->command) {
            opt->command = arg;
        } else if (wants_count) {
            if (!parse_count(arg, &opt->count))
                return usage_error("down N needs a whole number of migrations >= 1, not '%s'",
                                   arg);
            have_count = true;
        } else {
            return usage_error("unexpected argument '%s'", arg);
        }
    }
    if (!opt->command)
        return usage_error("no command: give up, down, status, verify or partitions");
    bool partitions = strcmp(opt->command, "partitions") == 0;
    if (strcmp(opt->command, "up") != 0 && strcmp(opt->command, "down") != 0 &&
        strcmp(opt->command, "status") != 0 && strcmp(opt->command, "verify") != 0 &&
        !partitions)
        return usage_error("unknown command '%s' (expected up, down, status, verify or "
                           "partitions)",
                           opt->command);
    if (opt->at && !partitions)
        return usage_error("--at is for partitions only, not for %s", opt->command);
    if (!opt->dir && !partitions)
        return usage_error("--dir DIR is required");
    return -1;
}

/* " (resumed at step 3 of 4; " for a file an earlier run stopped in,
 * otherwise " (". */
static const char *resumed(const dbont_migration *m, size_t steps, char *out, size_t size)
{
    if (m->first_step > 1)
        snprintf(out, size, " (resumed at step %zu of %zu; ", m->first_step, steps);
    else
        snprintf(out, size, " (");
    return out;
}

static void print_applied(const dbont_migration *m, void *user)
{
    (void)user;
    char how[64];
    printf("applied %s%s%.1f ms)\n", m->file_name, resumed(m, m->step_count, how, sizeof how),
           m->duration_ms);
    fflush(stdout);
}

/* Before the (possibly long) rebuild starts, so the wait is explained. */
static void print_repair(const dbont_migrate_repair *r, void *user)
{
    (void)user;
    fflush(stdout);
    fprintf(stderr,
            "%s:%d: note: index %s was left INVALID by an interrupted build; dropping and "
            "rebuilding it\n",
            r->path, r->line, r->index_name);
}

/* The line of step k (from 1) of a file's steps, for "resumes at step k". */
static int step_line(const dbont_migration_step *steps, size_t count, size_t k)
{
    return k >= 1 && k <= count ? steps[k - 1].statement_line : 0;
}

/* After a failed up or down: a file of several steps that stopped after
 * some of them keeps them; say where the next run goes on. */
static void print_stopped(const dbont_migrate_report *report, bool down)
{
    for (size_t i = 0; i < report->count; i++) {
        const dbont_migration *m = &report->migrations[i];
        if (m->state != DBONT_MIGRATION_FAILED || m->partial == DBONT_MIGRATION_NOT_PARTIAL)
            continue;
        const dbont_migration_step *steps = down ? m->down_steps : m->steps;
        size_t count = down ? m->down_step_count : m->step_count;
        fprintf(stderr,
                "dbont-migrate: note: %s %s stopped after step %zu of %zu: %s; fix the "
                "cause and run %s again: it resumes at step %zu (line %d of %s)\n",
                down ? "reverting" : "applying", m->file_name, m->steps_done, count,
                down ? "it is still applied" : "it is not applied yet",
                down ? "down" : "up", m->steps_done + 1,
                step_line(steps, count, m->steps_done + 1),
                down ? m->down_file_name : m->file_name);
    }
}

static int run_up(dbont_conn *conn, const options *opt)
{
    dbont_migrate_options mo = DBONT_MIGRATE_OPTIONS_INIT;
    mo.lock_timeout_s = opt->lock_timeout_s;
    mo.on_applied = print_applied;
    mo.on_repair = print_repair;
    dbont_migrate_report report = { 0 };
    dbont_error err;
    dbont_status st = dbont_migrate_up(conn, opt->dir, &mo, &report, &err);
    if (st != DBONT_OK) {
        fprintf(stderr, "%s\n", err.message);
        print_stopped(&report, false);
    } else if (report.applied_now == 0)
        printf("nothing to apply\n");
    else
        printf("%zu applied, %zu pending\n", report.applied_now, report.pending);
    dbont_migrate_report_free(&report);
    return st == DBONT_OK ? 0 : 1;
}

static void print_reverted(const dbont_migration *m, void *user)
{
    (void)user;
    char how[64];
    printf("reverted %s with %s%s%.1f ms)\n", m->file_name, m->down_file_name,
           resumed(m, m->down_step_count, how, sizeof how), m->duration_ms);
    fflush(stdout);
}

/* After a failed down: which reverts stay, and what is still applied. */
static void print_down_failure(const dbont_migrate_report *report)
{
    const dbont_migration *failed = NULL;
    char reverted[512] = "";
    size_t used = 0;
    for (size_t i = report->count; i-- > 0;) {
        const dbont_migration *m = &report->migrations[i];
        if (m->state == DBONT_MIGRATION_FAILED)
            failed = m;
        if (m->state == DBONT_MIGRATION_REVERTED && used < sizeof reverted) {
            int n = snprintf(reverted + used, sizeof reverted - used, "%s%s",
                             used ? ", " : "", m->file_name);
            if (n > 0)
                used += (size_t)n;
        }
    }
    if (!failed)
        return;   /* refused before reverting anything: the error says so */
    if (failed->partial == DBONT_MIGRATION_NOT_PARTIAL)
        fprintf(stderr, "dbont-migrate: note: %s was rolled back; %s is still applied\n",
                failed->down_file_name, failed->file_name);
    else
        print_stopped(report, true);
    if (report->reverted == 0) {
        /* A partial down did revert some steps: the note above says so. */
        if (failed->partial == DBONT_MIGRATION_NOT_PARTIAL)
            fputs("dbont-migrate: note: nothing was reverted\n", stderr);
    } else {
        fprintf(stderr,
                "dbont-migrate: note: the %zu migration%s reverted before the error stay%s "
                "reverted: %s\n",
                report->reverted, report->reverted == 1 ? "" : "s",
                report->reverted == 1 ? "s" : "", reverted);
    }
}

static int run_down(dbont_conn *conn, const options *opt)
{
    dbont_migrate_options mo = DBONT_MIGRATE_OPTIONS_INIT;
    mo.lock_timeout_s = opt->lock_timeout_s;
    mo.on_reverted = print_reverted;
    mo.on_repair = print_repair;
    dbont_migrate_report report = { 0 };
    dbont_error err;
    dbont_status st = dbont_migrate_down(conn, opt->dir, opt->count, &mo, &report, &err);
    if (st != DBONT_OK) {
        fprintf(stderr, "%s\n", err.message);
        print_down_failure(&report);
    } else {
        printf("%zu reverted; now %zu applied, %zu pending\n", report.reverted,
               report.applied, report.pending + report.reverted);
    }
    dbont_migrate_report_free(&report);
    return st == DBONT_OK ? 0 : 1;
}

/* Whether the entry's version is in the history table. */
static bool in_history(const dbont_migration *m)
{
    return m->stored_checksum[0] != '\0';
}

/* The entry with the highest version in the history (applied, changed
 * or missing), or NULL. */
static const dbont_migration *newest_applied(const dbont_migrate_report *report)
{
    for (size_t i = report->count; i-- > 0;) {
        dbont_migration_state s = report->migrations[i].state;
        if ((s == DBONT_MIGRATION_APPLIED || s == DBONT_MIGRATION_CHANGED ||
             s == DBONT_MIGRATION_MISSING) &&
            in_history(&report->migrations[i]))
            return &report->migrations[i];
    }
    return NULL;
}

/*
 * A partial run, as "2 of 4 steps done (up); the next up resumes at step 3
 * (line 27)", or with the reason the next run refuses to resume it; *file
 * is the file it runs (the up or the down file; NULL when it is gone).
 */
static void describe_partial(const dbont_migration *m, char *out, size_t size,
                             const char **file, const char **path)
{
    bool up = m->partial == DBONT_MIGRATION_PARTIAL_UP;
    const char *dir_name = up ? "up" : "down";
    *file = up ? m->file_name : m->down_file_name;
    *path = up ? m->path : m->down_path;
    const char *checksum = up ? m->checksum : m->down_checksum;
    const dbont_migration_step *steps = up ? m->steps : m->down_steps;
    size_t count = up ? m->step_count : m->down_step_count;
    int n = snprintf(out, size, "%zu of %zu steps done (%s)", m->steps_done,
                     m->progress_steps, dir_name);
    if (n < 0 || (size_t)n >= size)
        return;
    out += n;
    size -= (size_t)n;
    if (up ? in_history(m) : !in_history(m))
        snprintf(out, size, ", but the version is %s in dbont_migrations: a stale progress "
                 "row; %s refuses to go on until it is deleted",
                 up ? "applied" : "not applied", dir_name);
    else if (!*file)
        snprintf(out, size, ", but %s; %s refuses to resume it",
                 up || !m->file_name ? "no file has this version" : "its down file is gone",
                 dir_name);
    else if (strcmp(checksum, m->progress_checksum) != 0)
        snprintf(out, size, ", but %s has changed since (progress checksum %s, file %s); %s "
                 "refuses to resume it",
                 *file, m->progress_checksum, checksum, dir_name);
    else if (m->progress_steps != count || m->steps_done < 1 || m->steps_done >= count)
        snprintf(out, size, ", but %s has %zu steps; %s refuses to resume it", *file, count,
                 dir_name);
    else
        snprintf(out, size, "; the next %s resumes at step %zu (line %d)", dir_name,
                 m->steps_done + 1, step_line(steps, count, m->steps_done + 1));
}

static void print_status_line(const dbont_migration *m, const dbont_migration *newest,
                              int width)
{
    if (m->partial != DBONT_MIGRATION_NOT_PARTIAL) {
        char text[1024];
        const char *file, *path;
        describe_partial(m, text, sizeof text, &file, &path);
        if (file)
            printf("PARTIAL %s: %s\n", file, text);
        else
            printf("PARTIAL (version %ld): %s\n", (long)m->version, text);
        /* A changed or missing up file under a partial down is a second
         * problem. */
        if (m->state != DBONT_MIGRATION_CHANGED && !(m->state == DBONT_MIGRATION_MISSING &&
                                                     in_history(m)))
            return;
    }
    switch (m->state) {
    case DBONT_MIGRATION_APPLIED:
    case DBONT_MIGRATION_APPLIED_NOW:
        printf("%-*s  applied %s  down: %s\n", width, m->file_name, m->applied_at,
               m->down_file_name ? m->down_file_name : "none");
        break;
    case DBONT_MIGRATION_PENDING:
    case DBONT_MIGRATION_FAILED:
    case DBONT_MIGRATION_REVERTED:
        if (m->out_of_order && newest)
            printf("%-*s  pending, OUT OF ORDER: older than the newest applied version, "
                   "%ld; up refuses it (renumber it above %ld)\n",
                   width, m->file_name, (long)newest->version, (long)newest->version);
        else
            printf("%-*s  pending\n", width, m->file_name);
        break;
    case DBONT_MIGRATION_CHANGED:
        printf("%-*s  CHANGED since it was applied %s (stored checksum %s, file %s)\n",
               width, m->file_name, m->applied_at, m->stored_checksum, m->checksum);
        break;
    case DBONT_MIGRATION_MISSING: {
        char label[128];
        snprintf(label, sizeof label, "(version %ld '%s')", (long)m->version, m->name);
        printf("%-*s  MISSING: applied %s, but no file has this version\n", width, label,
               m->applied_at);
        break;
    }
    }
}

static int run_status(dbont_conn *conn, const options *opt)
{
    dbont_migrate_report report = { 0 };
    dbont_error err;
    if (dbont_migrate_status(conn, opt->dir, &report, &err) != DBONT_OK) {
        fprintf(stderr, "%s\n", err.message);
        dbont_migrate_report_free(&report);
        return 1;
    }
    int width = 0;
    for (size_t i = 0; i < report.count; i++) {
        const char *f = report.migrations[i].file_name;
        if (f && (int)strlen(f) > width)
            width = (int)strlen(f);
    }
    const dbont_migration *newest = newest_applied(&report);
    for (size_t i = 0; i < report.count; i++)
        print_status_line(&report.migrations[i], newest, width);
    if (report.count == 0)
        printf("no migrations in %s\n", opt->dir);
    /* A partial run without a file is counted as partial, not missing. */
    size_t missing = report.missing;
    for (size_t i = 0; i < report.count; i++)
        if (report.migrations[i].state == DBONT_MIGRATION_MISSING &&
            !report.migrations[i].applied_at)
            missing--;
    printf("%zu applied, %zu pending, %zu changed, %zu missing", report.applied,
           report.pending, report.changed, missing);
    if (report.out_of_order > 0)
        printf(", %zu out of order", report.out_of_order);
    if (report.partial > 0)
        printf(", %zu partial", report.partial);
    printf("\n");
    int status = report.changed > 0 || report.missing > 0 || report.out_of_order > 0 ||
                         report.partial > 0
                     ? 1
                     : 0;
    dbont_migrate_report_free(&report);
    return status;
}

/* One line per problem with an entry (none when it is simply applied). */
static void print_entry_problem(const dbont_migration *m, const dbont_migration *newest,
                                const char *dir)
{
    /* A partial run of a changed or missing applied file: the change or
     * the loss is the problem to name. */
    if (m->partial != DBONT_MIGRATION_NOT_PARTIAL && m->state != DBONT_MIGRATION_CHANGED &&
        !(m->state == DBONT_MIGRATION_MISSING && in_history(m))) {
        char text[1024];
        const char *file, *path;
        describe_partial(m, text, sizeof text, &file, &path);
        if (path)
            printf("%s: error: PARTIAL: %s\n", path, text);
        else
            printf("%s: error: PARTIAL (version %ld): %s\n", dir, (long)m->version, text);
        return;
    }
    switch (m->state) {
    case DBONT_MIGRATION_APPLIED:
    case DBONT_MIGRATION_APPLIED_NOW:
    case DBONT_MIGRATION_FAILED:
    case DBONT_MIGRATION_REVERTED:
        break;
    case DBONT_MIGRATION_PENDING:
        if (m->out_of_order && newest)
            printf("%s: error: pending, OUT OF ORDER: older than the newest applied version, "
                   "%ld; up refuses it (renumber it above %ld)\n",
                   m->path, (long)newest->version, (long)newest->version);
        else
            printf("%s: error: pending: not applied yet\n", m->path);
        break;
    case DBONT_MIGRATION_CHANGED:
        printf("%s: error: CHANGED since it was applied %s (stored checksum %s, file %s)\n",
               m->path, m->applied_at, m->stored_checksum, m->checksum);
        break;
    case DBONT_MIGRATION_MISSING:
        printf("%s: error: MISSING: version %ld '%s' was applied %s, but no file has this "
               "version\n",
               dir, (long)m->version, m->name, m->applied_at);
        break;
    }
}

static void print_invalid_index(const dbont_migrate_invalid_index *x, const char *dir)
{
    if (x->partitioned && x->unattached[0] && x->rebuilt_by)
        printf("%s:%d: error: index %s on table %s is INVALID: it is a partitioned index, "
               "and no index of partition%s %s is attached to it yet; the next up builds "
               "and attaches %s\n",
               x->rebuilt_by, x->rebuilt_by_line, x->name, x->table,
               strchr(x->unattached, ',') ? "s" : "", x->unattached,
               strchr(x->unattached, ',') ? "them" : "it");
    else if (x->partitioned && x->unattached[0])
        printf("%s: error: index %s on table %s is INVALID: it is a partitioned index, and "
               "no index of partition%s %s is attached to it yet (ALTER INDEX %s ATTACH "
               "PARTITION ...)\n",
               dir, x->name, x->table, strchr(x->unattached, ',') ? "s" : "", x->unattached,
               x->name);
    else if (x->partitioned)
        printf("%s: error: index %s on table %s is INVALID: it is a partitioned index, and "
               "although each partition has an index attached to it, one of those is itself "
               "invalid, or a partition without one was dropped or detached (PostgreSQL "
               "marks it valid only when an index is attached to it): drop it and make it "
               "again\n",
               dir, x->name, x->table);
    else if (x->rebuilt_by)
        printf("%s:%d: error: index %s on table %s is INVALID (left by an interrupted or "
               "failed concurrent build); the next up drops and rebuilds it\n",
               x->rebuilt_by, x->rebuilt_by_line, x->name, x->table);
    else
        printf("%s: error: index %s on table %s is INVALID (left by an interrupted or "
               "failed concurrent build); drop it (DROP INDEX CONCURRENTLY %s) and build it "
               "again\n",
               dir, x->name, x->table, x->name);
}

static int run_verify(dbont_conn *conn, const options *opt)
{
    dbont_migrate_report report = { 0 };
    dbont_error err;
    if (dbont_migrate_verify(conn, opt->dir, &report, &err) != DBONT_OK) {
        fprintf(stderr, "%s\n", err.message);
        dbont_migrate_report_free(&report);
        return 1;
    }
    const dbont_migration *newest = newest_applied(&report);
    for (size_t i = 0; i < report.count; i++)
        print_entry_problem(&report.migrations[i], newest, opt->dir);
    for (size_t i = 0; i < report.invalid_index_count; i++)
        print_invalid_index(&report.invalid_indexes[i], opt->dir);
    if (report.problems == 0)
        printf("verified: %zu applied, checksums match, no invalid indexes, nothing "
               "pending\n",
               report.applied);
    int status = report.problems == 0 ? 0 : 1;
    dbont_migrate_report_free(&report);
    return status;
}

/* "1 row", "2 rows". */
static const char *plural(long long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* partitions: one block of lines per table, then a summary line. */
static int run_partitions(dbont_conn *conn, const options *opt)
{
    dbont_partition_report report = { 0 };
    dbont_error err;
    if (dbont_partitions_maintain(conn, opt->at, &report, &err) != DBONT_OK) {
        fprintf(stderr, "dbont-migrate: error: %s %s\n", err.sqlstate, err.message);
        dbont_partition_report_free(&report);
        return 1;
    }
    long long created = 0, moved = 0, in_default = 0;
    for (size_t i = 0; i < report.count; i++) {
        const dbont_partition_table *t = &report.tables[i];
        printf("%s: created", t->table_name);
        if (t->ncreated == 0)
            printf(" nothing");
        for (size_t k = 0; k < t->ncreated; k++)
            printf(" %s", t->created[k]);
        printf("\n");
        if (t->moved_rows > 0)
            printf("%s: moved %lld %s from %s_default into %s\n", t->table_name,
                   t->moved_rows, plural(t->moved_rows, "row", "rows"), t->table_name,
                   plural(t->moved_rows, "its new partition", "their new partitions"));
        printf("%s: %lld %s in %s_default\n", t->table_name, t->default_rows,
               plural(t->default_rows, "row", "rows"), t->table_name);
        if (t->default_rows > 0)
            printf("  (rows there found no partition: a date outside the window, or "
                   "maintenance ran too rarely; docs/partitions.md)\n");
        created += (long long)t->ncreated;
        moved += t->moved_rows;
        in_default += t->default_rows;
    }
    printf("partitions: %zu %s, %lld %s created, %lld %s moved, %lld %s in default "
           "partitions\n",
           report.count, report.count == 1 ? "table" : "tables", created,
           plural(created, "partition", "partitions"), moved, plural(moved, "row", "rows"),
           in_default, plural(in_default, "row", "rows"));
    dbont_partition_report_free(&report);
    return 0;
}

int main(int argc, char **argv)
{
    options opt = { .lock_timeout_s = 60.0 };
    int status = parse_args(argc, argv, &opt);
    if (status >= 0)
        return status;

    dbont_error err;
    dbont_conn *conn = dbont_connect(opt.dsn, &err);
    if (!conn) {
        fprintf(stderr, "dbont-migrate: error: cannot connect: %s\n", err.message);
        if (!opt.dsn && !getenv("DATABASE_URL"))
            fputs("dbont-migrate: note: give --dsn DSN or set DATABASE_URL\n", stderr);
        return 1;
    }
    if (strcmp(opt.command, "up") == 0)
        status = run_up(conn, &opt);
    else if (strcmp(opt.command, "down") == 0)
        status = run_down(conn, &opt);
    else if (strcmp(opt.command, "verify") == 0)
        status = run_verify(conn, &opt);
    else if (strcmp(opt.command, "partitions") == 0)
        status = run_partitions(conn, &opt);
    else
        status = run_status(conn, &opt);
    dbont_close(conn);
    return status;
}
