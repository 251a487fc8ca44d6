/*
 * dbont-gen: Turtle ontology -> C header, C source and SQL migrations.
 *
 * The flow is one-way (docs/design.md):
 *   files --reader--> graph --build--> model --check--> emitters --m4--> files
 * Errors are collected along the way; when there is any, nothing is written
 * and the exit status is 1.  Usage errors exit with 2.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "cached.h"
#include "check.h"
#include "diag.h"
#include "emit.h"
#include "evolve.h"
#include "explain.h"
#include "graph.h"
#include "m4.h"
#include "model.h"
#include "naming.h"
#include "outfiles.h"
#include "query_plan.h"
#include "query_shard.h"
#include "query_types.h"
#include "reader.h"
#include "search.h"
#include "util.h"

#ifndef DBONT_VERSION
#define DBONT_VERSION "0.0.0"
#endif
#ifndef DBONT_M4
#define DBONT_M4 "m4"
#endif
#ifndef DBONT_SOURCE_SKELETONS
#define DBONT_SOURCE_SKELETONS ""
#endif

enum { EXIT_INPUT = 1, EXIT_USAGE = 2 };

/* What to do with the migrations folder. */
typedef enum migrations_mode {
    MIGRATIONS_WRITE,  /* write the migration the ontology needs (default) */
    MIGRATIONS_VERIFY, /* write the C files only when no migration is needed */
    MIGRATIONS_CHECK   /* write nothing; fail when a migration is needed */
} migrations_mode;

typedef struct options {
    const char *out_dir;
    const char *migrations_dir;
    const char *prefix;
    const char *skeleton_dir;
    migrations_mode mode;
    bool allow_destructive;
    const char *check_dsn;   /* ask this server for the queries' types */
    bool check_types;        /* with check_dsn: fail when the cache is stale */
    const char *query_cache; /* the offline cache of the queries' types */
    const char *explain_dsn; /* index advice from this server; write nothing */
    char **files;
    size_t nfiles;
} options;

static void usage(FILE *to)
{
    fputs("Usage: dbont-gen [-o DIR] [--migrations-dir MDIR] [--prefix NAME]\n"
          "                 [--skeleton-dir DIR] [--allow-destructive]\n"
          "                 [--check-migrations | --verify-migrations] FILE.ttl...\n"
          "\n"
          "Reads the Turtle ontology FILE.ttl (several files form one ontology) and writes\n"
          "DIR/NAME.h and DIR/NAME.c (typed structs and functions over libdbont).  When the\n"
          "ontology's schema differs from the one the migrations in MDIR produce (recorded\n"
          "in MDIR/schema.snapshot), it also writes the next migration MDIR/NNNN_what.sql,\n"
          "its reverse NNNN_what.down.sql and the new snapshot.  Files whose content is\n"
          "unchanged are not rewritten, and an existing migration never is.\n"
          "\n"
          "  -o, --output-dir DIR       where the C files go (default: .)\n"
          "      --migrations-dir MDIR  where migrations go (default: DIR/migrations)\n"
          "      --prefix NAME          prefix of the files and C symbols (default: the\n"
          "                             first file's base name)\n"
          "      --skeleton-dir DIR     m4 skeletons to use instead of the installed ones\n"
          "      --allow-destructive    write a migration that drops tables or columns,\n"
          "                             narrows a type or makes a column NOT NULL\n"
          "      --check-migrations     write nothing; exit 1, naming the changes, when\n"
          "                             MDIR lacks a migration the ontology needs (for CI)\n"
          "      --verify-migrations    write the C files only; fail like --check-migrations\n"
          "                             when a migration is needed (for builds)\n"
          "      --check-dsn DSN        type the queries with this PostgreSQL server (in a\n"
          "                             scratch schema, rolled back) and record its answer\n"
          "                             in the query types cache\n"
          "      --check                with --check-dsn: write nothing; exit 1 when the\n"
          "                             query types cache is stale\n"
          "      --query-cache FILE     the query types cache (default: NAME.querytypes\n"
          "                             beside the first ontology file)\n"
          "      --explain DSN          write nothing; EXPLAIN every query on this server (in\n"
          "                             a scratch schema, rolled back) and warn about tables\n"
          "                             read in full, sorts and foreign keys no index serves\n"
          "  -h, --help                 show this help\n"
          "  -V, --version              show the version\n"
          "\n"
          "Exit status: 0 success, 1 errors in the input (reported as FILE:LINE:COL),\n"
          "2 usage errors.  The environment variable M4 names the m4 program to run.\n",
          to);
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("dbont-gen: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'dbont-gen --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

static bool dir_exists(const char *path)
{
    return access(path, R_OK | X_OK) == 0;
}

/* The installed skeletons (../share/dbont/skeletons beside the program),
 * else the ones in the source tree this program was built from. */
static char *default_skeleton_dir(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char *installed = xasprintf("%s/../share/dbont/skeletons", exe);
            if (dir_exists(installed))
                return installed;
            free(installed);
        }
    }
    return xstrdup(DBONT_SOURCE_SKELETONS);
}

/* "a.ttl, b.ttl": base names only, so output does not depend on where the
 * build happens; safe inside C and SQL comments. */
static char *source_names(const graph *g)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < g->nfiles; i++) {
        const char *base = strrchr(g->files[i], '/');
        base = base ? base + 1 : g->files[i];
        if (i)
            buf_adds(&b, ", ");
        for (const char *p = base; *p; p++) {
            if (*p == '*' && p[1] == '/')
                buf_adds(&b, "* ");
            else if ((unsigned char)*p < 0x20)
                buf_addc(&b, '?');
            else
                buf_addc(&b, *p);
        }
    }
    return buf_take(&b);
}

/* --check-migrations and --verify-migrations: the folder lacks the
 * migration the plan has; name its changes. */
static bool report_missing_migration(diag *d, const char *mdir, const migration_plan *plan)
{
    dpos where = {mdir, 0, 0};
    diag_error(d, where, "the ontology has changes that no migration holds yet; write them as %s with "
                         "dbont-gen (without --check-migrations / --verify-migrations; in CMake, the "
                         "<target>_migrations target), review the file and commit it",
               plan->migration_file);
    for (size_t i = 0; i < plan->up.n; i++)
        diag_note(d, where, "missing: %s", plan->up.v[i].summary);
    return false;
}

/* NAME.querytypes beside the first ontology file. */
static char *default_cache_path(const char *first_file, const char *prefix)
{
    const char *slash = strrchr(first_file, '/');
    if (!slash)
        return xasprintf("%s.querytypes", prefix);
    return xasprintf("%.*s/%s.querytypes", (int)(slash - first_file), first_file, prefix);
}

/* What a check server runs to create the schema (--check-dsn, --explain):
 * the migration files themselves, so that what a developer added by hand
 * to one (a function a query calls) is there too, and the migration this
 * run plans, when there is one.  NULL (reported) when the folder cannot
 * be read. */
static char *check_schema_sql(const char *mdir, const migration_plan *plan, diag *d)
{
    char *sql = evolve_migrations_sql(mdir, d);
    if (!sql || !plan->migration_file)
        return sql;
    char *next = changes_sql(&plan->up);
    char *all = xasprintf("%s%s", sql, next);
    free(next);
    free(sql);
    return all;
}

/* Applies the migrations on the check server and describes every query
 * there. */
static bool type_with_server(const options *o, const char *mdir, const migration_plan *plan, qplan *plans,
                             size_t n, diag *d)
{
    char *sql = check_schema_sql(mdir, plan, d);
    bool ok = sql && qtypes_from_server(o->check_dsn, sql, plans, n, d);
    free(sql);
    return ok;
}

/* --explain: the same schema on the explain server; the advice. */
static bool explain_with_server(const options *o, const char *mdir, const migration_plan *plan, const model *m,
                                qplan *plans, size_t n, diag *d)
{
    char *sql = check_schema_sql(mdir, plan, d);
    bool ok = sql && explain_run(o->explain_dsn, sql, m, plans, n, d, stdout);
    free(sql);
    return ok;
}

/* --check: the cache must hold exactly the server's answer. */
static bool cache_is_current(const char *path, const char *text, diag *d)
{
    FILE *f = fopen(path, "rb");
    buf b;
    buf_init(&b);
    if (f) {
        char chunk[8192];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
            buf_add(&b, chunk, got);
        fclose(f);
    }
    /* the header names the generator's version: compare from the entries on */
    const char *old = b.data ? strstr(b.data, "\nquery ") : NULL, *now = strstr(text, "\nquery ");
    bool same = f && ((!old && !now) || (old && now && strcmp(old, now) == 0));
    buf_free(&b);
    if (!same) {
        dpos where = {path, 0, 0};
        diag_error(d, where, "%s: the server's answer differs from this file; run dbont-gen --check-dsn "
                             "without --check to update it, and commit it",
                   f ? "stale" : "missing");
    }
    return same;
}

static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longs[] = {
        {"output-dir", required_argument, NULL, 'o'},
        {"migrations-dir", required_argument, NULL, 'm'},
        {"prefix", required_argument, NULL, 'p'},
        {"skeleton-dir", required_argument, NULL, 's'},
        {"allow-destructive", no_argument, NULL, 'A'},
        {"check-migrations", no_argument, NULL, 'C'},
        {"verify-migrations", no_argument, NULL, 'Y'},
        {"check-dsn", required_argument, NULL, 'D'},
        {"check", no_argument, NULL, 'K'},
        {"query-cache", required_argument, NULL, 'Q'},
        {"explain", required_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->out_dir = ".";
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:hV", longs, NULL)) != -1) {
        switch (c) {
        case 'o': o->out_dir = optarg; break;
        case 'm': o->migrations_dir = optarg; break;
        case 'p': o->prefix = optarg; break;
        case 's': o->skeleton_dir = optarg; break;
        case 'A': o->allow_destructive = true; break;
        case 'D': o->check_dsn = optarg; break;
        case 'K': o->check_types = true; break;
        case 'Q': o->query_cache = optarg; break;
        case 'E': o->explain_dsn = optarg; break;
        case 'C':
        case 'Y':
            if (o->mode != MIGRATIONS_WRITE)
                return usage_error("%s", "--check-migrations and --verify-migrations exclude each other");
            o->mode = c == 'C' ? MIGRATIONS_CHECK : MIGRATIONS_VERIFY;
            break;
        case 'h': usage(stdout); return -1;
        case 'V': printf("dbont-gen %s\n", DBONT_VERSION); return -1;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (o->check_types && !o->check_dsn)
        return usage_error("%s", "--check needs --check-dsn (it compares the cache with the server's answer)");
    if (o->explain_dsn && (o->check_dsn || o->mode == MIGRATIONS_VERIFY))
        return usage_error("%s", "--explain writes nothing: run --check-dsn and --verify-migrations on their own");
    o->files = argv + optind;
    o->nfiles = (size_t)(argc - optind);
    if (o->nfiles == 0)
        return usage_error("%s", "no ontology file given");
    if (o->prefix) {
        char why[200];
        if (!naming_check_identifier(o->prefix, why, sizeof why) || naming_is_c_keyword(o->prefix) ||
            o->prefix[0] == '_')
            return usage_error("--prefix '%s' is not a usable C identifier", o->prefix);
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    char *prefix = o.prefix ? xstrdup(o.prefix) : naming_prefix_from_path(o.files[0]);
    if (!prefix)
        return usage_error("the file name '%s' does not give a valid C prefix; use --prefix", o.files[0]);
    char *mdir = o.migrations_dir ? xstrdup(o.migrations_dir) : xasprintf("%s/migrations", o.out_dir);
    char *skeletons = o.skeleton_dir ? xstrdup(o.skeleton_dir) : default_skeleton_dir();
    const char *m4 = getenv("M4") && *getenv("M4") ? getenv("M4") : DBONT_M4;

    diag d;
    diag_init(&d, stderr);
    graph g;
    graph_init(&g);
    model m;
    model_init(&m);
    migration_plan plan = {0};
    m4_outputs outs = {0};
    buf defs;
    buf_init(&defs);
    char *sources = NULL;

    /* Checks run even after the builder found errors, so that every error of
     * the ontology is reported at once; the builder keeps parts it could not
     * read out of the model rather than guess them. */
    bool ok = reader_read(&g, &d, o.files, o.nfiles);
    if (ok) {
        bool built = build_model(&g, &d, &m);
        sources = source_names(&g);
        /* Checking modes report the changes, destructive or not; --explain
         * applies them only in its scratch schema. */
        bool allow = o.allow_destructive || o.mode != MIGRATIONS_WRITE || o.explain_dsn;
        ok = check_model(&m, &d, prefix, o.files[0]) && built &&
             evolve_plan(mdir, &m, prefix, DBONT_VERSION, sources, allow, &plan, &d);
    }
    if (ok && o.mode != MIGRATIONS_WRITE && plan.migration_file)
        ok = report_missing_migration(&d, mdir, &plan);
    if (ok && o.mode == MIGRATIONS_CHECK)
        printf("dbont-gen: %s holds every change of the ontology\n", mdir);

    /* The queries: typed by the model, the server, or the cache. */
    qplan *plans = NULL;
    size_t nplans = 0;
    cache_plan *cache = NULL;
    qshard *shards = NULL;
    char *cache_path = o.query_cache ? xstrdup(o.query_cache) : default_cache_path(o.files[0], prefix);
    char *cache_text = NULL;
    bool write_cache = false;
    if (ok) {
        ok = qplans_build(&m, &d, &plans, &nplans);
        if (ok)
            search_plans_add(&m, &plans, &nplans);
        if (ok && nplans && o.check_dsn) {
            ok = type_with_server(&o, mdir, &plan, plans, nplans, &d);
            if (ok) {
                cache_text = qtypes_render(plans, nplans, DBONT_VERSION, sources);
                ok = !o.check_types || cache_is_current(cache_path, cache_text, &d);
                write_cache = !o.check_types;
            }
        } else if (ok && nplans) {
            ok = qtypes_load(cache_path, plans, nplans, &d);
        }
        if (ok && o.explain_dsn)
            ok = explain_with_server(&o, mdir, &plan, &m, plans, nplans, &d);
        /* before qtypes_require: a query that cannot run over its shards
         * is refused whether or not its types are known yet */
        if (ok)
            ok = qshards_build(&m, plans, nplans, &d, &shards);
        if (ok)
            ok = qtypes_require(plans, nplans, cache_path, &d);
        if (ok)
            ok = cache_plans_build(&m, plans, nplans, DBONT_VERSION, &cache, &d);
        if (ok)
            ok = cache_check_warmups(&m, plans, nplans, cache, &d);
    }
    /* --check-migrations, --check and --explain only check: they write nothing. */
    bool write_nothing = o.mode == MIGRATIONS_CHECK || o.check_types || o.explain_dsn;
    if (ok && !write_nothing) {
        char *header_name = xasprintf("%s.h", prefix);
        emit_info e = {&m, prefix, DBONT_VERSION, sources, header_name, plans, nplans, cache, shards};
        emit_c(&e, &defs);
        emit_migration("d4_up_migration", plan.migration_file, plan.up_intro, &plan.up, &defs);
        emit_migration("d4_down_migration", plan.down_file, plan.down_intro, &plan.down, &defs);
        ok = m4_expand(m4, skeletons, "dbont.m4", defs.data, &outs, &d);
        free(header_name);
    }
    if (ok && !write_nothing) {
        const char *header = m4_output_text(&outs, "header");
        const char *source = m4_output_text(&outs, "source");
        const char *migration = m4_output_text(&outs, "migration");
        const char *down = m4_output_text(&outs, "down");
        dpos none = {skeletons, 0, 0};
        if (!header || !source || (plan.migration_file && (!migration || !down))) {
            diag_error(&d, none, "the skeletons must produce the outputs header, source, migration and down");
            ok = false;
        } else {
            outfile files[6];
            size_t n = 0;
            if (write_cache)
                files[n++] = (outfile){xstrdup(cache_path), cache_text, false};
            if (plan.migration_file) {
                files[n++] = (outfile){xasprintf("%s/%s", mdir, plan.migration_file), migration, true};
                files[n++] = (outfile){xasprintf("%s/%s", mdir, plan.down_file), down, true};
                files[n++] = (outfile){xasprintf("%s/schema.snapshot", mdir), plan.snapshot, false};
            }
            files[n++] = (outfile){xasprintf("%s/%s.h", o.out_dir, prefix), header, false};
            files[n++] = (outfile){xasprintf("%s/%s.c", o.out_dir, prefix), source, false};
            ok = outfiles_write(files, n, &d);
            for (size_t i = 0; i < n; i++)
                free(files[i].path);
        }
    }

    diag_flush(&d);
    diag_free(&d);
    unsigned errors = diag_errors(&d);
    if (errors)
        fprintf(stderr, "dbont-gen: %u error%s; no file was written\n", errors, errors == 1 ? "" : "s");
    buf_free(&defs);
    qshards_free(shards, nplans);
    qplans_free(plans, nplans);
    free(cache);
    free(cache_path);
    free(cache_text);
    m4_outputs_free(&outs);
    migration_plan_free(&plan);
    model_free(&m);
    graph_free(&g);
    free(sources);
    free(prefix);
    free(mdir);
    free(skeletons);
    return ok && !errors ? 0 : EXIT_INPUT;
}
