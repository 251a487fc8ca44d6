/*
 * dbont-migrate: applies a folder of numbered SQL migrations, and reverts
 * them with their down files.
 *
 *   dbont-migrate [--dsn DSN] --dir DIR [--lock-timeout SECONDS]
 *                 up | down [N] | status
 *
 * A thin front end over dbont/migrate.h: it parses the command line,
 * connects, calls dbont_migrate_up, dbont_migrate_down or
 * dbont_migrate_status and prints the report.  Exit status: 0 success,
 * 1 failure, 2 usage error.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbont/dbont.h"

enum { EXIT_USAGE = 2 };

typedef struct options {
    const char *dsn;    /* NULL: DATABASE_URL, then libpq's defaults */
    const char *dir;
    const char *command;
    size_t count;       /* down N: how many versions to revert */
    double lock_timeout_s;
} options;

static void print_usage(FILE *out)
{
    fputs("usage: dbont-migrate [--dsn DSN] --dir DIR [--lock-timeout SECONDS]\n"
          "                     up | down [N] | status\n"
          "\n"
          "  up       apply every pending migration of DIR, in version order, each in\n"
          "           its own transaction; refuses pending files older than the newest\n"
          "           applied version (renumber them above it)\n"
          "  down [N] revert the N (default 1) newest applied migrations, newest first,\n"
          "           each with its NNNN_name.down.sql in its own transaction\n"
          "  status   show which migrations are applied (and whether each has a down\n"
          "           file), pending, out of order, changed or missing\n"
          "\n"
          "  --dsn DSN               libpq connection string or URI (default: $DATABASE_URL)\n"
          "  --dir DIR               folder of NNNN_name.sql files and their\n"
          "                          NNNN_name.down.sql reverses\n"
          "  --lock-timeout SECONDS  how long up and down wait for another migrator\n"
          "                          (default 60)\n"
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
        return usage_error("no command: give up, down or status");
    if (strcmp(opt->command, "up") != 0 && strcmp(opt->command, "down") != 0 &&
        strcmp(opt->command, "status") != 0)
        return usage_error("unknown command '%s' (expected up, down or status)", opt->command);
    if (!opt->dir)
        return usage_error("--dir DIR is required");
    return -1;
}

static void print_applied(const dbont_migration *m, void *user)
{
    (void)user;
    printf("applied %s (%.1f ms)\n", m->file_name, m->duration_ms);
    fflush(stdout);
}

static int run_up(dbont_conn *conn, const options *opt)
{
    dbont_migrate_options mo = DBONT_MIGRATE_OPTIONS_INIT;
    mo.lock_timeout_s = opt->lock_timeout_s;
    mo.on_applied = print_applied;
    dbont_migrate_report report = { 0 };
    dbont_error err;
    dbont_status st = dbont_migrate_up(conn, opt->dir, &mo, &report, &err);
    if (st != DBONT_OK)
        fprintf(stderr, "%s\n", err.message);
    else if (report.applied_now == 0)
        printf("nothing to apply\n");
    else
        printf("%zu applied, %zu pending\n", report.applied_now, report.pending);
    dbont_migrate_report_free(&report);
    return st == DBONT_OK ? 0 : 1;
}

static void print_reverted(const dbont_migration *m, void *user)
{
    (void)user;
    printf("reverted %s with %s (%.1f ms)\n", m->file_name, m->down_file_name,
           m->duration_ms);
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
    fprintf(stderr, "dbont-migrate: note: %s was rolled back; %s is still applied\n",
            failed->down_file_name, failed->file_name);
    if (report->reverted == 0)
        fputs("dbont-migrate: note: nothing was reverted\n", stderr);
    else
        fprintf(stderr,
                "dbont-migrate: note: the %zu migration%s reverted before the error stay%s "
                "reverted: %s\n",
                report->reverted, report->reverted == 1 ? "" : "s",
                report->reverted == 1 ? "s" : "", reverted);
}

static int run_down(dbont_conn *conn, const options *opt)
{
    dbont_migrate_options mo = DBONT_MIGRATE_OPTIONS_INIT;
    mo.lock_timeout_s = opt->lock_timeout_s;
    mo.on_reverted = print_reverted;
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

/* The entry with the highest version in the history (applied, changed
 * or missing), or NULL. */
static const dbont_migration *newest_applied(const dbont_migrate_report *report)
{
    for (size_t i = report->count; i-- > 0;) {
        dbont_migration_state s = report->migrations[i].state;
        if (s == DBONT_MIGRATION_APPLIED || s == DBONT_MIGRATION_CHANGED ||
            s == DBONT_MIGRATION_MISSING)
            return &report->migrations[i];
    }
    return NULL;
}

static void print_status_line(const dbont_migration *m, const dbont_migration *newest,
                              int width)
{
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
    printf("%zu applied, %zu pending, %zu changed, %zu missing", report.applied,
           report.pending, report.changed, report.missing);
    if (report.out_of_order > 0)
        printf(", %zu out of order", report.out_of_order);
    printf("\n");
    int status = report.changed > 0 || report.missing > 0 || report.out_of_order > 0 ? 1 : 0;
    dbont_migrate_report_free(&report);
    return status;
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
    else
        status = run_status(conn, &opt);
    dbont_close(conn);
    return status;
}
