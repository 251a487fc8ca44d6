/*
 * migrate.c: the migration runner behind dbont/migrate.h and dbont-migrate.
 *
 * The work is split in three layers, each usable on its own:
 *   1. the folder: file names, up files paired with their down files,
 *      text and checksums (no database);
 *   2. the history table: read it and merge it into the folder's list;
 *   3. up and down: take the advisory lock, refuse on changed or missing
 *      files (and, for up, on pending files older than the history), and on
 *      partial runs that cannot be resumed, then apply each pending file,
 *      or revert the newest applied versions with their down files, step
 *      by step (a file without markers is one step: one transaction).
 * The steps of a file are found by migsteps.c; the progress of a file of
 * several steps is kept in dbont_migration_progress, so that a run that
 * stopped half-way is resumed where it stopped.  What is particular to
 * indexes built concurrently (dropping an INVALID index a failed build
 * left, partition-indexes steps, the invalid indexes verify lists) is in
 * migindex.c; this file decides when it runs.  Messages are made the way
 * migmsg.c makes them.
 */
#define _POSIX_C_SOURCE 200809L

#include "dbont/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "migindex.h"
#include "migmsg.h"
#include "migsteps.h"
#include "monotime.h"
#include "sha256.h"

#define STATE_INVALID_FOLDER "22023"
#define STATE_IO "58030"
#define STATE_LOCK "55P03"
#define STATE_NO_MEMORY "53200"
#define STATE_IN_TRANSACTION "25001"

/* How often a waiting migrator asks for the lock again. */
#define LOCK_POLL_MS 100

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------ */
/* File names and checksums                                            */
/* ------------------------------------------------------------------ */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_name_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

#define UP_SUFFIX ".sql"
#define DOWN_SUFFIX ".down.sql"

/* Whether file_name is NNNN_name followed by exactly suffix (which it is
 * known to end with); stores the version when it is. */
static bool parse_stem(const char *file_name, const char *suffix, int32_t *version)
{
    /* The version: four or more digits that fit the history's integer. */
    int64_t number = 0;
    size_t digits = 0;
    for (; is_digit(file_name[digits]); digits++) {
        number = number * 10 + (file_name[digits] - '0');
        if (number > INT32_MAX)
            return false;
    }
    if (digits < 4 || file_name[digits] != '_')
        return false;

    /* The name: at least one of [A-Za-z0-9_], then the suffix. */
    const char *name = file_name + digits + 1;
    size_t name_len = strlen(name);
    if (name_len <= strlen(suffix))
        return false;
    name_len -= strlen(suffix);
    for (size_t i = 0; i < name_len; i++)
        if (!is_name_char(name[i]))
            return false;

    *version = (int32_t)number;
    return true;
}

dbont_migration_name_kind dbont_migration_parse_name(const char *file_name,
                                                     int32_t *version)
{
    if (!ends_with(file_name, UP_SUFFIX))
        return DBONT_MIGRATION_NAME_OTHER;
    /* A name cannot hold '.', so NNNN_name.down.sql is never an up file. */
    int32_t number;
    dbont_migration_name_kind kind;
    if (ends_with(file_name, DOWN_SUFFIX) && parse_stem(file_name, DOWN_SUFFIX, &number))
        kind = DBONT_MIGRATION_NAME_DOWN;
    else if (parse_stem(file_name, UP_SUFFIX, &number))
        kind = DBONT_MIGRATION_NAME_OK;
    else
        return DBONT_MIGRATION_NAME_INVALID;
    if (version)
        *version = number;
    return kind;
}

static bool is_crlf(const char *p, size_t i, size_t len)
{
    return p[i] == '\r' && i + 1 < len && p[i + 1] == '\n';
}

void dbont_migration_checksum(const void *data, size_t len,
                              char out[DBONT_MIGRATE_CHECKSUM_SIZE])
{
    /* Hash the runs between CRs that start a CR LF pair, which is the
     * same as hashing the normalised text without copying it. */
    const char *p = data;
    dbont_sha256 ctx;
    dbont_sha256_init(&ctx);
    size_t run_start = 0;
    for (size_t i = 0; i < len; i++) {
        if (is_crlf(p, i, len)) {
            dbont_sha256_update(&ctx, p + run_start, i - run_start);
            run_start = i + 1;
        }
    }
    dbont_sha256_update(&ctx, p + run_start, len - run_start);

    uint8_t digest[DBONT_SHA256_DIGEST_SIZE];
    dbont_sha256_final(&ctx, digest);
    dbont_sha256_hex(digest, out);
}

/* Replaces each CR LF pair by LF in place; returns the new length.  The
 * same rule as dbont_migration_checksum, applied to the text we send. */
static size_t normalise_line_ends(char *text, size_t len)
{
    size_t out = 0;
    for (size_t i = 0; i < len; i++)
        if (!is_crlf(text, i, len))
            text[out++] = text[i];
    text[out] = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* The report                                                           */
/* ------------------------------------------------------------------ */

static void free_migration(dbont_migration *m)
{
    free(m->name);
    free(m->file_name);
    free(m->path);
    free(m->sql);
    free(m->applied_at);
    free(m->down_file_name);
    free(m->down_path);
    free(m->down_sql);
    free(m->steps);
    free(m->down_steps);
}

void dbont_migrate_report_free(dbont_migrate_report *report)
{
    if (!report)
        return;
    for (size_t i = 0; i < report->count; i++)
        free_migration(&report->migrations[i]);
    free(report->migrations);
    for (size_t i = 0; i < report->repair_count; i++)
        free(report->repairs[i].path);
    free(report->repairs);
    for (size_t i = 0; i < report->invalid_index_count; i++) {
        dbont_migrate_invalid_index *x = &report->invalid_indexes[i];
        free(x->name);
        free(x->table);
        free(x->unattached);
        free(x->rebuilt_by);
    }
    free(report->invalid_indexes);
    memset(report, 0, sizeof *report);
}

/* Adds a zeroed entry at the end; NULL when out of memory. */
static dbont_migration *report_add(dbont_migrate_report *report)
{
    dbont_migration *grown =
        realloc(report->migrations, (report->count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    report->migrations = grown;
    dbont_migration *m = &grown[report->count++];
    memset(m, 0, sizeof *m);
    return m;
}

/* Whether the database's history has a row for m: merge_row and up set
 * the stored checksum, down clears it. */
static bool in_history(const dbont_migration *m)
{
    return m->stored_checksum[0] != '\0';
}

/* The entry with the highest version in the history, or NULL. */
static const dbont_migration *newest_in_history(const dbont_migrate_report *report)
{
    for (size_t i = report->count; i-- > 0;)
        if (in_history(&report->migrations[i]))
            return &report->migrations[i];
    return NULL;
}

/* Counts the states, and marks the pending files that are older than the
 * newest version in the history (the report is sorted). */
static void count_states(dbont_migrate_report *report)
{
    report->applied = report->applied_now = report->pending = 0;
    report->changed = report->missing = report->failed = 0;
    report->reverted = report->out_of_order = report->partial = 0;
    const dbont_migration *newest = newest_in_history(report);
    for (size_t i = 0; i < report->count; i++) {
        dbont_migration *m = &report->migrations[i];
        m->out_of_order = m->state == DBONT_MIGRATION_PENDING && newest != NULL &&
                          m->version < newest->version;
        if (m->out_of_order)
            report->out_of_order++;
        if (m->partial != DBONT_MIGRATION_NOT_PARTIAL)
            report->partial++;
        switch (m->state) {
        case DBONT_MIGRATION_PENDING: report->pending++; break;
        case DBONT_MIGRATION_APPLIED: report->applied++; break;
        case DBONT_MIGRATION_APPLIED_NOW: report->applied_now++; break;
        case DBONT_MIGRATION_CHANGED: report->changed++; break;
        case DBONT_MIGRATION_MISSING: report->missing++; break;
        case DBONT_MIGRATION_FAILED: report->failed++; break;
        case DBONT_MIGRATION_REVERTED: report->reverted++; break;
        }
    }
}

/* Ascending version; equal versions (only possible while checking for
 * duplicates) by file name, so messages come out in a stable order. */
static int compare_migrations(const void *a, const void *b)
{
    const dbont_migration *x = a, *y = b;
    if (x->version != y->version)
        return x->version < y->version ? -1 : 1;
    if (x->file_name && y->file_name)
        return strcmp(x->file_name, y->file_name);
    return 0;
}

static void sort_report(dbont_migrate_report *report)
{
    if (report->count > 1)
        qsort(report->migrations, report->count, sizeof *report->migrations,
              compare_migrations);
}

/* ------------------------------------------------------------------ */
/* Reading the folder                                                  */
/* ------------------------------------------------------------------ */

/* What goes between dir and a file name: nothing when dir ends in '/'. */
static const char *path_separator(const char *dir)
{
    size_t d = strlen(dir);
    return d > 0 && dir[d - 1] == '/' ? "" : "/";
}

static char *join_path(const char *dir, const char *file)
{
    const char *sep = path_separator(dir);
    size_t n = strlen(dir) + strlen(sep) + strlen(file) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", dir, sep, file);
    return p;
}

/* Fills the entry for a well-named up file (name and paths only). */
static bool init_from_name(dbont_migration *m, const char *dir,
                           const char *file_name, int32_t version)
{
    const char *name = strchr(file_name, '_') + 1;
    size_t name_len = strlen(name) - strlen(UP_SUFFIX);
    m->version = version;
    m->state = DBONT_MIGRATION_PENDING;
    m->file_name = copy_string(file_name);
    m->path = join_path(dir, file_name);
    m->name = malloc(name_len + 1);
    if (m->name) {
        memcpy(m->name, name, name_len);
        m->name[name_len] = '\0';
    }
    return m->file_name && m->path && m->name;
}

/* The down files of a folder, before they are paired with up files. */
typedef struct down_list {
    struct down_file {
        int32_t version;
        char *file_name;   /* NULL once it is given to its up file's entry */
    } *files;
    size_t count;
} down_list;

static bool down_list_add(down_list *list, int32_t version, const char *file_name)
{
    struct down_file *grown = realloc(list->files, (list->count + 1) * sizeof *grown);
    if (!grown)
        return false;
    list->files = grown;
    struct down_file *d = &grown[list->count];
    d->version = version;
    d->file_name = copy_string(file_name);
    if (!d->file_name)
        return false;
    list->count++;
    return true;
}

static int compare_down_files(const void *a, const void *b)
{
    const struct down_file *x = a, *y = b;
    return strcmp(x->file_name, y->file_name);
}

static void down_list_free(down_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->files[i].file_name);
    free(list->files);
}

/* Lists the up files of dir into report (unsorted) and the down files
 * into downs; bad names go to problems.  Returns false only when the
 * folder cannot be read or memory runs out (problems then says why). */
static bool list_folder(const char *dir, dbont_migrate_report *report, down_list *downs,
                        dbont_msgbuf *problems)
{
    DIR *d = opendir(dir);
    if (!d) {
        dbont_msg_line(problems, "%s: error: cannot open the migrations folder: %s", dir,
                       strerror(errno));
        return false;
    }
    bool ok = true;
    struct dirent *e;
    while (ok && (e = readdir(d)) != NULL) {
        int32_t version;
        switch (dbont_migration_parse_name(e->d_name, &version)) {
        case DBONT_MIGRATION_NAME_OTHER:
            break;
        case DBONT_MIGRATION_NAME_INVALID:
            dbont_msg_line(problems,
                           "%s%s%s: error: not a valid migration file name: expected "
                           "NNNN_name.sql or NNNN_name.down.sql (4 or more digits up to "
                           "2147483647, then a name of letters, digits and '_')",
                           dir, path_separator(dir), e->d_name);
            break;
        case DBONT_MIGRATION_NAME_OK: {
            dbont_migration *m = report_add(report);
            ok = m && init_from_name(m, dir, e->d_name, version);
            break;
        }
        case DBONT_MIGRATION_NAME_DOWN:
            ok = down_list_add(downs, version, e->d_name);
            break;
        }
    }
    closedir(d);
    if (!ok)
        dbont_msg_line(problems, "%s: error: out of memory", dir);
    return ok;
}

/* After sorting, equal versions are neighbours. */
static void find_duplicates(const dbont_migrate_report *report, const char *dir,
                            dbont_msgbuf *problems)
{
    for (size_t i = 1; i < report->count; i++) {
        const dbont_migration *a = &report->migrations[i - 1];
        const dbont_migration *b = &report->migrations[i];
        if (a->version == b->version)
            dbont_msg_line(problems,
                           "%s: error: version %" PRId32 " is used by both %s and %s", dir,
                           a->version, a->file_name, b->file_name);
    }
}

/* The first entry with version among the first count entries of the
 * sorted report, or NULL. */
static dbont_migration *find_version(dbont_migrate_report *report, size_t count,
                                     int32_t version)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (report->migrations[mid].version < version)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < count && report->migrations[lo].version == version
               ? &report->migrations[lo] : NULL;
}

/* Length of NNNN_name in a file name ending in suffix. */
static int stem_length(const char *file_name, const char *suffix)
{
    return (int)(strlen(file_name) - strlen(suffix));
}

/* Whether the down file is NNNN_name.down.sql for the up file NNNN_name.sql. */
static bool is_down_file_of(const char *up, const char *down)
{
    int n = stem_length(up, UP_SUFFIX);
    return stem_length(down, DOWN_SUFFIX) == n && strncmp(up, down, (size_t)n) == 0;
}

/*
 * Gives each down file to the entry of its up file (same NNNN_name); a
 * down file without one goes to problems.  Runs on the sorted report,
 * whose entries are all files.  Returns false when memory runs out.
 */
static bool pair_down_files(dbont_migrate_report *report, down_list *downs, const char *dir,
                            dbont_msgbuf *problems)
{
    const char *sep = path_separator(dir);
    size_t files = report->count;
    /* Messages in a stable order, whatever readdir's. */
    if (downs->count > 1)
        qsort(downs->files, downs->count, sizeof *downs->files, compare_down_files);
    for (size_t i = 0; i < downs->count; i++) {
        struct down_file *d = &downs->files[i];
        dbont_migration *first = find_version(report, files, d->version);
        dbont_migration *up = NULL;
        for (dbont_migration *m = first;
             m && m < report->migrations + files && m->version == d->version; m++) {
            if (is_down_file_of(m->file_name, d->file_name)) {
                up = m;
                break;
            }
        }
        if (up) {
            up->down_file_name = d->file_name;
            d->file_name = NULL;
            up->down_path = join_path(dir, up->down_file_name);
            if (!up->down_path)
                return false;
        } else if (first) {
            dbont_msg_line(problems,
                           "%s%s%s: error: down file without its up file: version %" PRId32
                           " is %s, whose down file must be named %.*s" DOWN_SUFFIX,
                           dir, sep, d->file_name, d->version, first->file_name,
                           stem_length(first->file_name, UP_SUFFIX), first->file_name);
        } else {
            dbont_msg_line(problems,
                           "%s%s%s: error: down file without its up file: there is no "
                           "%.*s" UP_SUFFIX " (no up file has version %" PRId32 ")",
                           dir, sep, d->file_name, stem_length(d->file_name, DOWN_SUFFIX),
                           d->file_name, d->version);
        }
    }
    return true;
}

/* Reads a whole file; NULL with errno set on failure. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (ferror(f) || feof(f))
            break;
        char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            errno = ENOMEM;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    int read_error = ferror(f);
    int saved = errno;
    fclose(f);
    if (buf && read_error) {
        free(buf);
        errno = saved ? saved : EIO;
        return NULL;
    }
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* Cuts a file's text into steps; a malformed marker or step is a problem
 * at its LINE:COL. */
static bool load_steps(const char *path, const char *sql, size_t sql_len,
                       dbont_migration_step **steps, size_t *count, dbont_msgbuf *problems)
{
    dbont_migsteps_problem problem;
    switch (dbont_migsteps_parse(sql, sql_len, steps, count, &problem)) {
    case DBONT_MIGSTEPS_OK:
        return true;
    case DBONT_MIGSTEPS_INVALID:
        dbont_msg_line(problems, "%s:%d:%d: error: %s", path, problem.line, problem.col,
                       problem.message);
        return false;
    case DBONT_MIGSTEPS_NO_MEMORY:
        break;
    }
    dbont_msg_line(problems, "%s: error: out of memory", path);
    return false;
}

/* Reads the file at path: checksum of the bytes as on disk, text
 * normalised for sending.  A NUL byte would silently end the text libpq
 * sends, so it is refused. */
static bool load_text(const char *path, char **sql, size_t *sql_len,
                      char checksum[DBONT_MIGRATE_CHECKSUM_SIZE], dbont_msgbuf *problems)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text) {
        dbont_msg_line(problems, "%s: error: cannot read: %s", path, strerror(errno));
        return false;
    }
    if (memchr(text, '\0', len)) {
        dbont_msg_line(problems, "%s: error: the file contains a NUL byte", path);
        free(text);
        return false;
    }
    dbont_migration_checksum(text, len, checksum);
    *sql_len = normalise_line_ends(text, len);
    *sql = text;
    return true;
}

/* Reads m's up file and its down file, if any, and cuts them into steps.
 * *io_failed is set when a file could not be read (as opposed to a file
 * whose steps are malformed). */
static void load_texts(dbont_migration *m, dbont_msgbuf *problems, bool *io_failed)
{
    if (!load_text(m->path, &m->sql, &m->sql_len, m->checksum, problems))
        *io_failed = true;
    else
        load_steps(m->path, m->sql, m->sql_len, &m->steps, &m->step_count, problems);
    if (!m->down_path)
        return;
    if (!load_text(m->down_path, &m->down_sql, &m->down_sql_len, m->down_checksum, problems))
        *io_failed = true;
    else
        load_steps(m->down_path, m->down_sql, m->down_sql_len, &m->down_steps,
                   &m->down_step_count, problems);
}

dbont_status dbont_migrate_scan(const char *dir, dbont_migrate_report *report,
                                dbont_error *err)
{
    memset(report, 0, sizeof *report);
    dbont_msgbuf problems = { .len = 0 };
    down_list downs = { NULL, 0 };
    bool io_failed = !list_folder(dir, report, &downs, &problems);
    if (!io_failed) {
        sort_report(report);
        find_duplicates(report, dir, &problems);
        if (!pair_down_files(report, &downs, dir, &problems)) {
            dbont_msg_line(&problems, "%s: error: out of memory", dir);
            io_failed = true;
        }
    }
    down_list_free(&downs);
    /* Read the texts only for a folder that makes sense: a naming error
     * is the thing to fix first. */
    if (problems.lines == 0) {
        for (size_t i = 0; i < report->count; i++)
            load_texts(&report->migrations[i], &problems, &io_failed);
    }
    if (problems.lines > 0) {
        dbont_migrate_report_free(report);
        return dbont_error_set(err, io_failed ? STATE_IO : STATE_INVALID_FOLDER, "%s",
                               problems.text);
    }
    count_states(report);
    return DBONT_OK;
}

/* ------------------------------------------------------------------ */
/* The history table                                                   */
/* ------------------------------------------------------------------ */

/* The history table's name, schema-qualified and quoted, so that a file
 * which changes search_path cannot send its history row elsewhere; and
 * the progress table's, in the same schema. */
typedef struct history_table {
    char sql_name[2 * 64 * 2 + 8];
    bool exists;
    char progress_name[2 * 64 * 2 + 8];
    bool progress_exists;
} history_table;

#define PROGRESS_TABLE "dbont_migration_progress"

static dbont_status find_history(PGconn *pg, const char *dir, history_table *table,
                                 dbont_error *err)
{
    PGresult *res =
        dbont_msg_query(pg,
                        "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),"
                        " pg_catalog.format('%I.%I', n.nspname, '" PROGRESS_TABLE "'),"
                        " EXISTS (SELECT FROM pg_catalog.pg_class p"
                        "         WHERE p.relnamespace = n.oid"
                        "         AND p.relname = '" PROGRESS_TABLE "')"
                        " FROM pg_catalog.pg_class c"
                        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE c.oid = pg_catalog.to_regclass('dbont_migrations')",
                        0, NULL, dir, "cannot look for the dbont_migrations table", err);
    if (!res)
        return DBONT_ERROR;
    table->exists = PQntuples(res) == 1;
    table->progress_exists = false;
    if (table->exists) {
        snprintf(table->sql_name, sizeof table->sql_name, "%s", PQgetvalue(res, 0, 0));
        snprintf(table->progress_name, sizeof table->progress_name, "%s",
                 PQgetvalue(res, 0, 1));
        table->progress_exists = PQgetvalue(res, 0, 2)[0] == 't';
    }
    PQclear(res);
    return DBONT_OK;
}

/* Created only when a file of several steps is about to run, so that a
 * folder without step markers leaves the database as it always did (one
 * table of ours).  Under the lock, like the history table. */
static dbont_status ensure_progress(PGconn *pg, const char *dir, history_table *table,
                                    dbont_error *err)
{
    if (table->progress_exists)
        return DBONT_OK;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "CREATE TABLE %s ("
             " version integer PRIMARY KEY,"
             " direction text NOT NULL,"
             " checksum text NOT NULL,"
             " steps_done integer NOT NULL,"
             " steps integer NOT NULL,"
             " updated_at timestamptz NOT NULL DEFAULT now())",
             table->progress_name);
    PGresult *res = dbont_msg_query(pg, sql, 0, NULL, dir,
                                    "cannot create the " PROGRESS_TABLE " table", err);
    if (!res)
        return DBONT_ERROR;
    PQclear(res);
    table->progress_exists = true;
    return DBONT_OK;
}

/* Checks first rather than using IF NOT EXISTS: that form sends a NOTICE
 * each time, and the lock already keeps two migrators from racing here. */
static dbont_status ensure_history(PGconn *pg, const char *dir, history_table *table,
                                   dbont_error *err)
{
    if (find_history(pg, dir, table, err) != DBONT_OK)
        return DBONT_ERROR;
    if (table->exists)
        return DBONT_OK;
    PGresult *res =
        dbont_msg_query(pg,
                        "CREATE TABLE dbont_migrations ("
                        " version integer PRIMARY KEY,"
                        " name text NOT NULL,"
                        " checksum text NOT NULL,"
                        " applied_at timestamptz NOT NULL DEFAULT now(),"
                        " duration_ms double precision NOT NULL)",
                        0, NULL, dir, "cannot create the dbont_migrations table", err);
    if (!res)
        return DBONT_ERROR;
    PQclear(res);
    return find_history(pg, dir, table, err);
}

#define APPLIED_AT_SQL \
    "pg_catalog.to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US\"Z\"')"

/* Records one history row in report: on the file's entry, or as a new
 * MISSING entry when no file has that version. */
static bool merge_row(dbont_migrate_report *report, size_t files, PGresult *res, int row)
{
    int32_t version = (int32_t)strtol(PQgetvalue(res, row, 0), NULL, 10);
    dbont_migration key = { .version = version };
    dbont_migration *m = files == 0 ? NULL
                         : bsearch(&key, report->migrations, files,
                                   sizeof *report->migrations, compare_migrations);
    if (!m) {
        m = report_add(report);
        if (!m)
            return false;
        m->version = version;
        m->name = copy_string(PQgetvalue(res, row, 1));
        if (!m->name)
            return false;
    }
    snprintf(m->stored_checksum, sizeof m->stored_checksum, "%s", PQgetvalue(res, row, 2));
    m->applied_at = copy_string(PQgetvalue(res, row, 3));
    m->duration_ms = strtod(PQgetvalue(res, row, 4), NULL);
    if (!m->file_name)
        m->state = DBONT_MIGRATION_MISSING;
    else if (strcmp(m->checksum, m->stored_checksum) == 0)
        m->state = DBONT_MIGRATION_APPLIED;
    else
        m->state = DBONT_MIGRATION_CHANGED;
    return m->applied_at != NULL;
}

static dbont_status merge_history(PGconn *pg, const char *dir, const history_table *table,
                                  dbont_migrate_report *report, dbont_error *err)
{
    if (!table->exists)
        return DBONT_OK;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT version, name, checksum, " APPLIED_AT_SQL ", duration_ms"
             " FROM %s ORDER BY version",
             table->sql_name);
    PGresult *res =
        dbont_msg_query(pg, sql, 0, NULL, dir, "cannot read the dbont_migrations table", err);
    if (!res)
        return DBONT_ERROR;

    /* Entries from the folder are sorted; missing ones are appended after
     * them and only searched for among the files. */
    size_t files = report->count;
    bool ok = true;
    for (int row = 0; ok && row < PQntuples(res); row++)
        ok = merge_row(report, files, res, row);
    PQclear(res);
    sort_report(report);
    count_states(report);
    if (!ok)
        return dbont_error_set(err, STATE_NO_MEMORY, "%s: error: out of memory", dir);
    return DBONT_OK;
}

/* Records one progress row on its version's entry; a version with
 * neither a file nor a history row gets a MISSING entry of its own. */
static bool merge_progress_row(dbont_migrate_report *report, PGresult *res, int row)
{
    int32_t version = (int32_t)strtol(PQgetvalue(res, row, 0), NULL, 10);
    dbont_migration key = { .version = version };
    size_t known = report->count;
    dbont_migration *m = known == 0 ? NULL
                         : bsearch(&key, report->migrations, known,
                                   sizeof *report->migrations, compare_migrations);
    if (!m) {
        m = report_add(report);
        if (!m)
            return false;
        m->version = version;
        m->state = DBONT_MIGRATION_MISSING;
        m->name = copy_string("");
        if (!m->name)
            return false;
    }
    m->partial = strcmp(PQgetvalue(res, row, 1), "down") == 0 ? DBONT_MIGRATION_PARTIAL_DOWN
                                                               : DBONT_MIGRATION_PARTIAL_UP;
    snprintf(m->progress_checksum, sizeof m->progress_checksum, "%s",
             PQgetvalue(res, row, 2));
    long done = strtol(PQgetvalue(res, row, 3), NULL, 10);
    long steps = strtol(PQgetvalue(res, row, 4), NULL, 10);
    m->steps_done = done > 0 ? (size_t)done : 0;
    m->progress_steps = steps > 0 ? (size_t)steps : 0;
    return true;
}

/* Reads dbont_migration_progress (when it exists) into the report, after
 * merge_history.  A direction other than 'up' or 'down' is not ours to
 * guess about. */
static dbont_status merge_progress(PGconn *pg, const char *dir, const history_table *table,
                                   dbont_migrate_report *report, dbont_error *err)
{
    if (!table->progress_exists)
        return DBONT_OK;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT version, direction, checksum, steps_done, steps FROM %s"
             " ORDER BY version",
             table->progress_name);
    PGresult *res = dbont_msg_query(pg, sql, 0, NULL, dir,
                                    "cannot read the " PROGRESS_TABLE " table", err);
    if (!res)
        return DBONT_ERROR;
    for (int row = 0; row < PQntuples(res); row++) {
        const char *direction = PQgetvalue(res, row, 1);
        if (strcmp(direction, "up") != 0 && strcmp(direction, "down") != 0) {
            dbont_status st = dbont_error_set(
                err, STATE_INVALID_FOLDER,
                "%s: error: the " PROGRESS_TABLE " row of version %s has direction '%s', "
                "neither 'up' nor 'down'",
                dir, PQgetvalue(res, row, 0), direction);
            PQclear(res);
            return st;
        }
    }
    bool ok = true;
    for (int row = 0; ok && row < PQntuples(res); row++)
        ok = merge_progress_row(report, res, row);
    PQclear(res);
    sort_report(report);
    count_states(report);
    if (!ok)
        return dbont_error_set(err, STATE_NO_MEMORY, "%s: error: out of memory", dir);
    return DBONT_OK;
}

/* Number of leading digits of a file name (its version's width). */
static int version_width(const char *file_name)
{
    int n = 0;
    while (is_digit(file_name[n]))
        n++;
    return n;
}

/* How the newest version in the history is named in messages. */
static void describe(const dbont_migration *m, char *out, size_t size)
{
    if (m->file_name)
        snprintf(out, size, "%s (version %" PRId32 ")", m->file_name, m->version);
    else
        snprintf(out, size, "version %" PRId32 " '%s'", m->version, m->name);
}

/* One line per pending file older than the newest version in the history,
 * each with a number it could have instead: above every version the
 * folder and the history know, one apart for each such file. */
static void list_out_of_order(const dbont_migrate_report *report, dbont_msgbuf *m)
{
    const dbont_migration *newest = newest_in_history(report);
    if (!newest || report->out_of_order == 0)
        return;
    char newest_text[300];
    describe(newest, newest_text, sizeof newest_text);
    /* The report is sorted, so its last entry has the highest version. */
    int64_t next = (int64_t)report->migrations[report->count - 1].version + 1;
    for (size_t i = 0; i < report->count; i++) {
        const dbont_migration *e = &report->migrations[i];
        if (!e->out_of_order)
            continue;
        /* "0005_name" for "0002_name.sql", keeping the digits' width. */
        char suggestion[700] = "";
        if (next <= INT32_MAX) {
            int width = version_width(e->file_name);
            const char *rest = e->file_name + width;   /* "_name.sql" */
            char stem[300];
            int n = snprintf(stem, sizeof stem, "%0*" PRId64 "%.*s", width, next,
                             stem_length(rest, UP_SUFFIX), rest);
            if (n > 0 && (size_t)n < sizeof stem)
                n = snprintf(suggestion, sizeof suggestion, ", e.g. to %s" UP_SUFFIX "%s%s%s",
                             stem, e->down_file_name ? " and its down file to " : "",
                             e->down_file_name ? stem : "",
                             e->down_file_name ? DOWN_SUFFIX : "");
            if (n <= 0 || (size_t)n >= sizeof suggestion)
                suggestion[0] = '\0';   /* a name too long to suggest */
            next++;
        }
        dbont_msg_line(m,
                       "%s: error: this migration is not applied, but it is older than the "
                       "newest applied migration, %s; probably merged from another branch: "
                       "renumber it above %" PRId32 "%s",
                       e->path, newest_text, newest->version, suggestion);
    }
}

/* "0003_x.sql", or "version 3" for a partial run without a file. */
static void run_name(const dbont_migration *e, char *out, size_t size)
{
    if (e->file_name)
        snprintf(out, size, "%s", e->file_name);
    else
        snprintf(out, size, "version %" PRId32, e->version);
}

/* Whether a progress row fits the file it is about: the same number of
 * steps, and at least one but not all of them done. */
static bool progress_fits(const dbont_migration *e, size_t file_steps)
{
    return e->progress_steps == file_steps && e->steps_done >= 1 &&
           e->steps_done < file_steps;
}

/* The problem, if any, with resuming e's partial run in the direction
 * of the call (up or down), as one line of m. */
static void check_partial(const dbont_migrate_report *report, const dbont_migration *e,
                          const char *dir, bool up, dbont_msgbuf *m)
{
    char name[300];
    run_name(e, name, sizeof name);
    size_t k = e->steps_done, n = e->progress_steps;
    bool partial_up = e->partial == DBONT_MIGRATION_PARTIAL_UP;
    const char *where = e->path ? e->path : dir;
    if (!partial_up && e->down_path)
        where = e->down_path;

    if (up != partial_up) {
        /* The documented refusals: finish the other direction first. */
        if (partial_up)
            dbont_msg_line(m,
                           "%s: error: applying %s stopped after step %zu of %zu: run "
                           "`dbont-migrate up` to finish applying it",
                           where, name, k, n);
        else
            dbont_msg_line(m,
                           "%s: error: reverting %s stopped after step %zu of %zu: run "
                           "`dbont-migrate down` to finish reverting it",
                           where, name, k, n);
        return;
    }
    const char *verb = up ? "applying" : "reverting";
    if (up ? in_history(e) : !in_history(e)) {
        dbont_msg_line(m,
                       "%s: error: " PROGRESS_TABLE " says %s %s stopped after step %zu of "
                       "%zu, but dbont_migrations lists it as %s: the progress row is stale; "
                       "delete it",
                       where, verb, name, k, n, up ? "applied" : "not applied");
        return;
    }
    if (up && !e->file_name) {
        dbont_msg_line(m,
                       "%s: error: applying version %" PRId32 " stopped after step %zu of "
                       "%zu, but no file in the folder has version %" PRId32 "; put the "
                       "file back to finish applying it",
                       dir, e->version, k, n, e->version);
        return;
    }
    if (!up) {
        if (!e->file_name)
            return;   /* MISSING: check_history has said so */
        const dbont_migration *newest = newest_in_history(report);
        if (newest != e) {
            char newest_name[300];
            describe(newest, newest_name, sizeof newest_name);
            dbont_msg_line(m,
                           "%s: error: reverting %s stopped after step %zu of %zu, but it is "
                           "not the newest applied migration (%s is): versions are reverted "
                           "newest first",
                           where, name, k, n, newest_name);
            return;
        }
        if (!e->down_path) {
            dbont_msg_line(m,
                           "%s: error: reverting this migration stopped after step %zu of "
                           "%zu of its down file, which is gone (no %.*s" DOWN_SUFFIX
                           " in the folder); put it back to finish reverting it",
                           where, k, n, stem_length(e->file_name, UP_SUFFIX), e->file_name);
            return;
        }
    }
    const char *checksum = up ? e->checksum : e->down_checksum;
    if (strcmp(checksum, e->progress_checksum) != 0) {
        dbont_msg_line(m,
                       "%s: error: %s this file stopped after step %zu of %zu, and the file "
                       "has changed since: progress checksum %s, file checksum %s (put back "
                       "the text it started with to finish %s it; or undo what its first %zu "
                       "step%s did and delete its row from " PROGRESS_TABLE ")",
                       where, verb, k, n, e->progress_checksum, checksum, verb, k,
                       k == 1 ? "" : "s");
        return;
    }
    size_t file_steps = up ? e->step_count : e->down_step_count;
    if (!progress_fits(e, file_steps))
        dbont_msg_line(m,
                       "%s: error: " PROGRESS_TABLE " says step %zu of %zu of this file is "
                       "done, but the file has %zu steps: the progress row does not fit it",
                       where, k, n, file_steps);
}

/* For up: pending files older than a partly applied one, which would be
 * out of order as soon as it is finished. */
static void list_older_than_partial(const dbont_migrate_report *report, dbont_msgbuf *m)
{
    const dbont_migration *partial = NULL;
    for (size_t i = report->count; i-- > 0;)
        if (report->migrations[i].partial == DBONT_MIGRATION_PARTIAL_UP &&
            report->migrations[i].file_name)
            partial = &report->migrations[i];
    if (!partial)
        return;
    for (size_t i = 0; i < report->count; i++) {
        const dbont_migration *e = &report->migrations[i];
        if (e->version < partial->version && e->state == DBONT_MIGRATION_PENDING &&
            !e->out_of_order)
            dbont_msg_line(m,
                           "%s: error: this migration is not applied, but it is older than "
                           "%s, which an earlier up stopped in the middle of (after step %zu "
                           "of %zu); renumber it above %" PRId32,
                           e->path, partial->file_name, partial->steps_done,
                           partial->progress_steps, partial->version);
    }
}

/* Refuses to go on when the history and the folder disagree (for up,
 * also when a pending file is older than the history), or when a partial
 * run cannot be resumed by this call (up, or down when up is false). */
static dbont_status check_history(const dbont_migrate_report *report, const char *dir,
                                  bool up, dbont_error *err)
{
    dbont_msgbuf m = { .len = 0 };
    for (size_t i = 0; i < report->count; i++) {
        const dbont_migration *e = &report->migrations[i];
        if (e->state == DBONT_MIGRATION_CHANGED)
            dbont_msg_line(&m,
                           "%s: error: this migration was applied and has changed since: "
                           "stored checksum %s, file checksum %s (put the applied text "
                           "back and make the change in a new migration)",
                           e->path, e->stored_checksum, e->checksum);
        else if (e->state == DBONT_MIGRATION_MISSING && e->applied_at)
            dbont_msg_line(&m,
                           "%s: error: migration %" PRId32 " '%s' was applied (%s) but no "
                           "file in the folder has version %" PRId32,
                           dir, e->version, e->name, e->applied_at, e->version);
    }
    if (up && report->out_of_order > 0)
        list_out_of_order(report, &m);
    for (size_t i = 0; i < report->count; i++)
        if (report->migrations[i].partial != DBONT_MIGRATION_NOT_PARTIAL)
            check_partial(report, &report->migrations[i], dir, up, &m);
    if (up)
        list_older_than_partial(report, &m);
    if (m.lines == 0)
        return DBONT_OK;
    dbont_msg_line(&m, "%s: error: nothing was %s", dir, up ? "applied" : "reverted");
    return dbont_error_set(err, STATE_INVALID_FOLDER, "%s", m.text);
}

/* ------------------------------------------------------------------ */
/* The advisory lock                                                   */
/* ------------------------------------------------------------------ */

static void lock_sql(char *out, size_t size, const char *function)
{
    snprintf(out, size, "SELECT pg_catalog.%s(%" PRId64 ")", function,
             (int64_t)DBONT_MIGRATE_LOCK_KEY);
}

/* The server process holding the lock, for the message; 0 if unknown.
 * A bigint advisory key shows in pg_locks as classid (high half),
 * objid (low half) and objsubid 1.  Advisory locks belong to one database,
 * but pg_locks lists every database's. */
static long lock_holder(PGconn *pg)
{
    char sql[512];
    uint64_t key = (uint64_t)DBONT_MIGRATE_LOCK_KEY;
    snprintf(sql, sizeof sql,
             "SELECT pid FROM pg_catalog.pg_locks WHERE locktype = 'advisory'"
             " AND classid = %" PRIu64 " AND objid = %" PRIu64
             " AND objsubid = 1 AND granted"
             " AND database = (SELECT oid FROM pg_catalog.pg_database"
             "                 WHERE datname = pg_catalog.current_database())"
             " LIMIT 1",
             key >> 32, key & 0xffffffffu);
    PGresult *res = PQexec(pg, sql);
    long pid = 0;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        pid = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return pid;
}

/*
 * Polls pg_try_advisory_lock rather than waiting in pg_advisory_lock, so
 * the wait has a timeout and a clear message instead of hanging.  Each
 * poll is one autocommit statement and the connection is idle between
 * polls (run_locked checked that no transaction is open), so a waiting
 * migrator holds no snapshot: a CREATE INDEX CONCURRENTLY run by the
 * lock's holder, which waits for every transaction whose snapshot is
 * older than its own, never waits for the waiter.  (Waiting inside
 * pg_advisory_lock would keep one statement's snapshot for the whole wait:
 * the build and the waiter would wait for each other, and the server would
 * break the deadlock by cancelling one of them.)
 */
static dbont_status take_lock(PGconn *pg, const char *dir, double timeout_s, dbont_error *err)
{
    char sql[128];
    lock_sql(sql, sizeof sql, "pg_try_advisory_lock");
    if (!(timeout_s >= 0))
        timeout_s = 0;   /* negative or NaN: try once */
    double deadline = now_ms() + timeout_s * 1000.0;
    for (;;) {
        PGresult *res =
            dbont_msg_query(pg, sql, 0, NULL, dir, "cannot take the migration lock", err);
        if (!res)
            return DBONT_ERROR;
        bool locked = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
        if (locked)
            return DBONT_OK;
        double left = deadline - now_ms();
        if (left <= 0)
            break;
        dbont_sleep((left < LOCK_POLL_MS ? left : LOCK_POLL_MS) / 1000.0);
    }
    long pid = lock_holder(pg);
    char holder[64] = "";
    if (pid > 0)
        snprintf(holder, sizeof holder, ", held by server process %ld", pid);
    return dbont_error_set(err, STATE_LOCK,
                           "%s: error: another dbont-migrate holds the lock (advisory "
                           "lock %" PRId64 "%s); gave up waiting after %g s",
                           dir, (int64_t)DBONT_MIGRATE_LOCK_KEY, holder, timeout_s);
}

/* Best effort: when the connection is gone, so is the lock. */
static void release_lock(PGconn *pg)
{
    char sql[128];
    lock_sql(sql, sizeof sql, "pg_advisory_unlock");
    PQclear(PQexec(pg, sql));
}

/* ------------------------------------------------------------------ */
/* Applying one file                                                   */
/* ------------------------------------------------------------------ */

/*
 * Turns the server's statement position (1-based, in characters) into a
 * line and column of the text, both 1-based, the column in characters.
 * Characters are UTF-8 code points: continuation bytes don't count.
 */
static void position_to_line_col(const char *text, size_t len, long position,
                                 long *line, long *col)
{
    long seen = 0;
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c & 0xc0) == 0x80)
            continue;
        if (seen == position - 1)
            break;
        seen++;
        if (c == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* The file being run (an entry's up file, or its down file), its steps,
 * and the checksum its progress rows record. */
typedef struct sql_file {
    const char *path;
    const char *sql;
    size_t len;
    const char *checksum;
    const dbont_migration_step *steps;
    size_t step_count;
} sql_file;

static sql_file up_file(const dbont_migration *m)
{
    return (sql_file){ m->path, m->sql, m->sql_len, m->checksum, m->steps, m->step_count };
}

static sql_file down_file(const dbont_migration *m)
{
    return (sql_file){ m->down_path, m->down_sql, m->down_sql_len, m->down_checksum,
                       m->down_steps, m->down_step_count };
}

/* What running a file needs besides the file: up or down, and where the
 * history, the progress and the repairs go. */
typedef struct run_ctx {
    PGconn *pg;
    const char *dir;
    history_table *table;
    const dbont_migrate_options *options;
    dbont_migrate_report *report;
    bool down;
} run_ctx;

/* The line of a step's statement, as messages give it. */
static void step_where(const sql_file *f, const dbont_migration_step *step, char *out,
                       size_t size)
{
    snprintf(out, size, "%s:%d", f->path, step->statement_line);
}

/*
 * Fills err for an SQL error in a step of f: FILE:LINE:COL when the server
 * gave a position (LINE counted in the whole file), otherwise FILE:LINE of
 * the step's statement in a file of several steps, and FILE alone in a file
 * of one step (as before steps existed).  note, when not NULL, is one more
 * line after the server's details.
 */
static dbont_status file_failed(dbont_error *err, const sql_file *f,
                                const dbont_migration_step *step, PGresult *res,
                                PGconn *pg, const char *note)
{
    char where[4096];
    const char *position = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
    if (position) {
        long line, col;
        position_to_line_col(f->sql + step->offset, step->len, strtol(position, NULL, 10),
                             &line, &col);
        /* A step's text starts on the line after its marker. */
        snprintf(where, sizeof where, "%s:%ld:%ld", f->path, line + step->marker_line, col);
    } else if (f->step_count > 1) {
        step_where(f, step, where, sizeof where);
    } else {
        snprintf(where, sizeof where, "%s", f->path);
    }
    char text[DBONT_ERROR_MESSAGE_MAX];
    dbont_msg_failure_text(res, pg, text, sizeof text);
    dbont_msgbuf msg = { .len = 0 };
    dbont_msg_line(&msg, "%s: error: %s %s", where, dbont_msg_failure_state(res), text);
    dbont_msg_server_details(&msg, res);
    if (note)
        dbont_msg_line(&msg, "%s", note);
    dbont_status st = dbont_error_set(err, dbont_msg_failure_state(res), "%s", msg.text);
    PQclear(res);
    return st;
}

/*
 * Leaves COPY mode, which a file enters with COPY ... FROM STDIN or TO
 * STDOUT: there is no data stream to give it, so the copy is failed (in)
 * or drained (out), and the remaining results are discarded.  The caller
 * rolls the transaction back.
 */
static void abandon_copy(PGconn *pg, PGresult *res)
{
    bool copy_in = PQresultStatus(res) == PGRES_COPY_IN;
    PQclear(res);
    if (copy_in) {
        PQputCopyEnd(pg, "COPY FROM STDIN is not supported in migration files");
    } else {
        char *row;
        while (PQgetCopyData(pg, &row, 0) > 0)
            PQfreemem(row);
    }
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
}

/* The step's text as a string for PQexec: the file's own text for a step
 * that is the whole file (a file without markers is sent exactly as it
 * always was), otherwise a copy that the caller frees. */
static char *step_text(const sql_file *f, const dbont_migration_step *step, bool *copied)
{
    *copied = !(step->offset == 0 && step->len == f->len);
    if (!*copied)
        return (char *)f->sql;
    char *text = malloc(step->len + 1);
    if (text) {
        memcpy(text, f->sql + step->offset, step->len);
        text[step->len] = '\0';
    }
    return text;
}

/* Runs a step's text in one PQexec, as psql -c would: the server splits it
 * into statements, and stops at the first error.  *duration_ms is how long
 * it took. */
static dbont_status run_text(const run_ctx *ctx, const sql_file *f,
                             const dbont_migration_step *step, double *duration_ms,
                             dbont_error *err)
{
    bool copied;
    char *text = step_text(f, step, &copied);
    if (!text)
        return dbont_error_set(err, STATE_NO_MEMORY, "%s: error: out of memory", f->path);
    double start = now_ms();
    PGresult *res = PQexec(ctx->pg, text);
    *duration_ms = now_ms() - start;
    if (copied)
        free(text);
    switch (PQresultStatus(res)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
        PQclear(res);
        return DBONT_OK;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
        abandon_copy(ctx->pg, res);
        return dbont_error_set(err, "0A000",
                               "%s: error: COPY FROM STDIN and COPY TO STDOUT cannot be "
                               "used in a migration file",
                               f->path);
    default:
        break;
    }
    /* A no-transaction step that the server ran in a transaction block
     * held more than the one statement the lexer saw; one whose index
     * build failed may have left the index INVALID for the next run. */
    char note[1200] = "";
    if (step->no_transaction) {
        char where[4096];
        step_where(f, step, where, sizeof where);
        if (strcmp(dbont_msg_failure_state(res), STATE_IN_TRANSACTION) == 0)
            snprintf(note, sizeof note,
                     "%.900s: note: a no-transaction step must hold exactly one SQL "
                     "statement, which is sent alone outside any transaction",
                     where);
        else if (step->index_name[0] && dbont_migindex_left_invalid(ctx->pg, step->index_name))
            snprintf(note, sizeof note,
                     "%.900s: note: the failed build left index %s INVALID; the next %s "
                     "drops and rebuilds it",
                     where, step->index_name, ctx->down ? "down" : "up");
    }
    return file_failed(err, f, step, res, ctx->pg, note[0] ? note : NULL);
}

/* The history row goes in the transaction of the file's last step, so
 * the two commit together.  Errors here are not in the file's text: no
 * position. */
static dbont_status record_applied(PGconn *pg, const history_table *table,
                                   dbont_migration *m, dbont_error *err)
{
    char sql[512], version[16], duration[64];
    snprintf(sql, sizeof sql,
             "INSERT INTO %s (version, name, checksum, duration_ms)"
             " VALUES ($1, $2, $3, $4) RETURNING " APPLIED_AT_SQL,
             table->sql_name);
    snprintf(version, sizeof version, "%" PRId32, m->version);
    snprintf(duration, sizeof duration, "%.3f", m->duration_ms);
    const char *params[] = { version, m->name, m->checksum, duration };
    PGresult *res = dbont_msg_query(pg, sql, 4, params, m->path,
                                    "cannot record it in the dbont_migrations table", err);
    if (!res)
        return DBONT_ERROR;
    m->applied_at = copy_string(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!m->applied_at)
        return dbont_error_set(err, STATE_NO_MEMORY, "%s: error: out of memory", m->path);
    return DBONT_OK;
}

/* The history row of a reverted version goes in the transaction of its
 * down file's last step.  Under the lock the row is there; if it is not,
 * something else edits the history, and the revert is not committed. */
static dbont_status record_reverted(PGconn *pg, const history_table *table,
                                    const dbont_migration *m, dbont_error *err)
{
    char sql[512], version[16];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE version = $1", table->sql_name);
    snprintf(version, sizeof version, "%" PRId32, m->version);
    const char *params[] = { version };
    PGresult *res =
        dbont_msg_query(pg, sql, 1, params, m->down_path,
                        "cannot delete its row from the dbont_migrations table", err);
    if (!res)
        return DBONT_ERROR;
    bool deleted = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!deleted)
        return dbont_error_set(err, STATE_INVALID_FOLDER,
                               "%s: error: version %" PRId32 " is no longer in the "
                               "dbont_migrations table; the revert was rolled back",
                               m->down_path, m->version);
    return DBONT_OK;
}

/* Records that steps 1..k of f are done: inside a transactional step's
 * transaction, or alone (autocommit) after a no-transaction step. */
static dbont_status record_progress(const run_ctx *ctx, const dbont_migration *m,
                                    const sql_file *f, size_t k, dbont_error *err)
{
    char sql[1024], version[16], done[32], steps[32];
    snprintf(sql, sizeof sql,
             "INSERT INTO %s (version, direction, checksum, steps_done, steps)"
             " VALUES ($1, $2, $3, $4, $5)"
             " ON CONFLICT (version) DO UPDATE SET direction = EXCLUDED.direction,"
             " checksum = EXCLUDED.checksum, steps_done = EXCLUDED.steps_done,"
             " steps = EXCLUDED.steps, updated_at = now()",
             ctx->table->progress_name);
    snprintf(version, sizeof version, "%" PRId32, m->version);
    snprintf(done, sizeof done, "%zu", k);
    snprintf(steps, sizeof steps, "%zu", f->step_count);
    const char *params[] = { version, ctx->down ? "down" : "up", f->checksum, done, steps };
    PGresult *res =
        dbont_msg_query(ctx->pg, sql, 5, params, f->path,
                        "cannot record its progress in the " PROGRESS_TABLE " table", err);
    if (!res)
        return DBONT_ERROR;
    PQclear(res);
    return DBONT_OK;
}

/* The file's last step: the history change, and for a file of several
 * steps the end of its progress row, in the step's transaction. */
static dbont_status record_done(const run_ctx *ctx, dbont_migration *m, const sql_file *f,
                                double elapsed_ms, dbont_error *err)
{
    dbont_status st;
    if (ctx->down) {
        st = record_reverted(ctx->pg, ctx->table, m, err);
    } else {
        m->duration_ms = elapsed_ms;
        st = record_applied(ctx->pg, ctx->table, m, err);
    }
    if (st != DBONT_OK || f->step_count == 1)
        return st;
    char sql[512], version[16];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE version = $1", ctx->table->progress_name);
    snprintf(version, sizeof version, "%" PRId32, m->version);
    const char *params[] = { version };
    PGresult *res =
        dbont_msg_query(ctx->pg, sql, 1, params, f->path,
                        "cannot delete its row from the " PROGRESS_TABLE " table", err);
    if (!res)
        return DBONT_ERROR;
    PQclear(res);
    return DBONT_OK;
}

/* BEGIN or COMMIT for a step's transaction.  A COMMIT can fail on the
 * file's account (a deferred constraint), so the message names the file. */
static dbont_status transaction_command(PGconn *pg, const sql_file *f, const char *command,
                                        dbont_error *err)
{
    char doing[32];
    snprintf(doing, sizeof doing, "%s failed", command);
    PGresult *res = dbont_msg_query(pg, command, 0, NULL, f->path, doing, err);
    if (!res)
        return DBONT_ERROR;
    PQclear(res);
    return DBONT_OK;
}

/* A file that runs COMMIT or ROLLBACK itself ends our transaction: what
 * it ran after that cannot be undone here, so say so plainly. */
static dbont_status check_still_in_transaction(PGconn *pg, const sql_file *f,
                                               const char *not_done, dbont_error *err)
{
    if (PQtransactionStatus(pg) == PQTRANS_INTRANS)
        return DBONT_OK;
    return dbont_error_set(err, STATE_INVALID_FOLDER,
                           "%s: error: the file ends the transaction itself (COMMIT or "
                           "ROLLBACK); part of it may have been committed, and %s",
                           f->path, not_done);
}

static void rollback_if_needed(PGconn *pg)
{
    if (PQtransactionStatus(pg) != PQTRANS_IDLE)
        PQclear(PQexec(pg, "ROLLBACK"));
}

/*
 * A transactional step k of f: BEGIN; its text; its progress row, or on
 * the last step the history change (and the end of the progress row);
 * COMMIT.  Rolled back on any error.  *elapsed_ms grows by how long the
 * step's text took.
 */
static dbont_status run_in_transaction(const run_ctx *ctx, dbont_migration *m,
                                       const sql_file *f, size_t k, double *elapsed_ms,
                                       dbont_error *err)
{
    const dbont_migration_step *step = &f->steps[k - 1];
    bool last = k == f->step_count;
    if (transaction_command(ctx->pg, f, "BEGIN", err) != DBONT_OK)
        return DBONT_ERROR;

    double duration = 0;
    dbont_status st = run_text(ctx, f, step, &duration, err);
    *elapsed_ms += duration;
    if (st == DBONT_OK)
        st = check_still_in_transaction(ctx->pg, f,
                                        !last ? "the step was not recorded as done"
                                        : ctx->down ? "the version was not removed from the history"
                                                    : "it was not recorded as applied",
                                        err);
    if (st == DBONT_OK)
        st = last ? record_done(ctx, m, f, *elapsed_ms, err)
                  : record_progress(ctx, m, f, k, err);
    if (st == DBONT_OK)
        st = transaction_command(ctx->pg, f, "COMMIT", err);

    if (st != DBONT_OK)
        rollback_if_needed(ctx->pg);
    return st;
}

/*
 * A no-transaction step k of f: its one statement alone (autocommit),
 * then its progress row (autocommit), or on the last step the history
 * change in a small transaction of its own.  Dying between the statement
 * and the row means the step runs again next time, which its idempotent
 * statement allows.
 */
static dbont_status run_alone(const run_ctx *ctx, dbont_migration *m, const sql_file *f,
                              size_t k, double *elapsed_ms, dbont_error *err)
{
    const dbont_migration_step *step = &f->steps[k - 1];
    char where[4096];
    step_where(f, step, where, sizeof where);
    const dbont_migindex_step index_step = {
        .pg = ctx->pg,
        .path = f->path,
        .version = m->version,
        .step = step,
        .where = where,
        .down = ctx->down,
        .report = ctx->report,
        .options = ctx->options,
    };
    if (step->index_name[0] && dbont_migindex_repair(&index_step, err) != DBONT_OK)
        return DBONT_ERROR;

    double duration = 0;
    dbont_status st;
    if (step->partition_index[0]) {
        double start = now_ms();
        st = dbont_migindex_partitions(&index_step, err);
        duration = now_ms() - start;
    } else {
        st = run_text(ctx, f, step, &duration, err);
    }
    *elapsed_ms += duration;
    if (st == DBONT_OK && PQtransactionStatus(ctx->pg) != PQTRANS_IDLE) {
        st = dbont_error_set(err, STATE_INVALID_FOLDER,
                             "%s: error: step %zu is a no-transaction step, but its "
                             "statement left a transaction open (BEGIN); it was rolled back",
                             where, k);
    }
    if (st != DBONT_OK) {
        rollback_if_needed(ctx->pg);
        return st;
    }
    if (k < f->step_count)
        return record_progress(ctx, m, f, k, err);

    if (transaction_command(ctx->pg, f, "BEGIN", err) != DBONT_OK)
        return DBONT_ERROR;
    st = record_done(ctx, m, f, *elapsed_ms, err);
    if (st == DBONT_OK)
        st = transaction_command(ctx->pg, f, "COMMIT", err);
    if (st != DBONT_OK)
        rollback_if_needed(ctx->pg);
    return st;
}

/*
 * Runs m's up file (or its down file), step by step, from step 1 or, for
 * a partial run of the same direction (check_history made sure it can be
 * resumed), from the step after the last one done.  The entry's progress
 * fields follow what the database records.  *elapsed_ms is how long the
 * steps' texts took.
 */
static dbont_status run_file(const run_ctx *ctx, dbont_migration *m, double *elapsed_ms,
                             dbont_error *err)
{
    sql_file f = ctx->down ? down_file(m) : up_file(m);
    dbont_migration_partial mine =
        ctx->down ? DBONT_MIGRATION_PARTIAL_DOWN : DBONT_MIGRATION_PARTIAL_UP;
    size_t first = m->partial == mine ? m->steps_done + 1 : 1;
    m->first_step = first;
    *elapsed_ms = 0;
    if (f.step_count > 1 && ensure_progress(ctx->pg, ctx->dir, ctx->table, err) != DBONT_OK)
        return DBONT_ERROR;

    for (size_t k = first; k <= f.step_count; k++) {
        dbont_status st = f.steps[k - 1].no_transaction
                              ? run_alone(ctx, m, &f, k, elapsed_ms, err)
                              : run_in_transaction(ctx, m, &f, k, elapsed_ms, err);
        if (st != DBONT_OK)
            return st;
        if (k < f.step_count) {
            m->partial = mine;
            m->steps_done = k;
            m->progress_steps = f.step_count;
            snprintf(m->progress_checksum, sizeof m->progress_checksum, "%s", f.checksum);
        }
    }
    m->partial = DBONT_MIGRATION_NOT_PARTIAL;
    m->steps_done = m->progress_steps = 0;
    m->progress_checksum[0] = '\0';
    return DBONT_OK;
}

/* ------------------------------------------------------------------ */
/* status, up and down                                                 */
/* ------------------------------------------------------------------ */

dbont_status dbont_migrate_status(dbont_conn *conn, const char *dir,
                                  dbont_migrate_report *report, dbont_error *err)
{
    if (dbont_migrate_scan(dir, report, err) != DBONT_OK)
        return DBONT_ERROR;
    PGconn *pg = dbont_conn_pg(conn);
    history_table table;
    if (find_history(pg, dir, &table, err) != DBONT_OK ||
        merge_history(pg, dir, &table, report, err) != DBONT_OK ||
        merge_progress(pg, dir, &table, report, err) != DBONT_OK)
        return DBONT_ERROR;
    return DBONT_OK;
}

dbont_status dbont_migrate_verify(dbont_conn *conn, const char *dir,
                                  dbont_migrate_report *report, dbont_error *err)
{
    if (dbont_migrate_status(conn, dir, report, err) != DBONT_OK)
        return DBONT_ERROR;
    if (dbont_migindex_list_invalid(dbont_conn_pg(conn), dir, report, err) != DBONT_OK)
        return DBONT_ERROR;

    /* One problem per entry that is not simply applied, or has a partial
     * run, and one per invalid index. */
    report->problems = report->invalid_index_count;
    for (size_t i = 0; i < report->count; i++) {
        const dbont_migration *m = &report->migrations[i];
        if (m->state != DBONT_MIGRATION_APPLIED || m->partial != DBONT_MIGRATION_NOT_PARTIAL)
            report->problems++;
    }
    return DBONT_OK;
}

/* The part of up that runs under the lock. */
static dbont_status up_locked(PGconn *pg, const char *dir,
                              const dbont_migrate_options *options,
                              dbont_migrate_report *report, dbont_error *err)
{
    history_table table;
    if (ensure_history(pg, dir, &table, err) != DBONT_OK ||
        merge_history(pg, dir, &table, report, err) != DBONT_OK ||
        merge_progress(pg, dir, &table, report, err) != DBONT_OK ||
        check_history(report, dir, true, err) != DBONT_OK)
        return DBONT_ERROR;

    run_ctx ctx = { pg, dir, &table, options, report, false };
    dbont_status st = DBONT_OK;
    for (size_t i = 0; i < report->count && st == DBONT_OK; i++) {
        dbont_migration *m = &report->migrations[i];
        if (m->state != DBONT_MIGRATION_PENDING)
            continue;
        double elapsed_ms;
        st = run_file(&ctx, m, &elapsed_ms, err);
        m->duration_ms = elapsed_ms;
        if (st == DBONT_OK) {
            m->state = DBONT_MIGRATION_APPLIED_NOW;
            snprintf(m->stored_checksum, sizeof m->stored_checksum, "%s", m->checksum);
            if (options->on_applied)
                options->on_applied(m, options->user);
        } else {
            /* A failed COMMIT comes after the history row's INSERT. */
            m->state = DBONT_MIGRATION_FAILED;
            free(m->applied_at);
            m->applied_at = NULL;
        }
    }
    count_states(report);
    return st;
}

/* Refuses a down of n versions when fewer are applied. */
static dbont_status too_few_applied(const dbont_migrate_report *report, const char *dir,
                                    size_t n, dbont_error *err)
{
    char applied[64];
    if (report->applied == 0)
        snprintf(applied, sizeof applied, "no migration is applied");
    else
        snprintf(applied, sizeof applied, "only %zu %s applied", report->applied,
                 report->applied == 1 ? "is" : "are");
    return dbont_error_set(err, STATE_INVALID_FOLDER,
                           "%s: error: cannot revert %zu migration%s: %s; nothing was "
                           "reverted",
                           dir, n, n == 1 ? "" : "s", applied);
}

/*
 * Finds the n newest applied versions (the report is sorted, so they are
 * the last n APPLIED entries; pending files between them are skipped) and
 * refuses, naming each, when one of them has no down file.  On success
 * *oldest is the index of the oldest of them.
 */
static dbont_status choose_reverts(const dbont_migrate_report *report, const char *dir,
                                   size_t n, size_t *oldest, dbont_error *err)
{
    if (report->applied < n)
        return too_few_applied(report, dir, n, err);
    dbont_msgbuf m = { .len = 0 };
    size_t taken = 0;
    for (size_t i = report->count; i-- > 0 && taken < n;) {
        const dbont_migration *e = &report->migrations[i];
        if (e->state != DBONT_MIGRATION_APPLIED)
            continue;
        taken++;
        *oldest = i;
        if (!e->down_file_name)
            dbont_msg_line(&m,
                           "%s: error: this migration has no down migration (no %.*s"
                           DOWN_SUFFIX " in the folder), so it cannot be reverted",
                           e->path, stem_length(e->file_name, UP_SUFFIX), e->file_name);
    }
    if (m.lines == 0)
        return DBONT_OK;
    dbont_msg_line(&m, "%s: error: nothing was reverted", dir);
    return dbont_error_set(err, STATE_INVALID_FOLDER, "%s", m.text);
}

/* The part of down that runs under the lock. */
static dbont_status down_locked(PGconn *pg, const char *dir, size_t n,
                                const dbont_migrate_options *options,
                                dbont_migrate_report *report, dbont_error *err)
{
    /* No history table: nothing is applied, and down creates nothing (but
     * the progress table, next to the history, for a down file of several
     * steps). */
    history_table table;
    size_t oldest = 0;
    if (find_history(pg, dir, &table, err) != DBONT_OK ||
        merge_history(pg, dir, &table, report, err) != DBONT_OK ||
        merge_progress(pg, dir, &table, report, err) != DBONT_OK ||
        check_history(report, dir, false, err) != DBONT_OK ||
        choose_reverts(report, dir, n, &oldest, err) != DBONT_OK)
        return DBONT_ERROR;

    run_ctx ctx = { pg, dir, &table, options, report, true };
    dbont_status st = DBONT_OK;
    for (size_t i = report->count; i-- > oldest && st == DBONT_OK;) {
        dbont_migration *m = &report->migrations[i];
        if (m->state != DBONT_MIGRATION_APPLIED)
            continue;
        double duration_ms;
        st = run_file(&ctx, m, &duration_ms, err);
        if (st == DBONT_OK) {
            m->state = DBONT_MIGRATION_REVERTED;
            m->duration_ms = duration_ms;
            m->stored_checksum[0] = '\0';
            free(m->applied_at);
            m->applied_at = NULL;
            if (options->on_reverted)
                options->on_reverted(m, options->user);
        } else {
            m->state = DBONT_MIGRATION_FAILED;
        }
    }
    count_states(report);
    return st;
}

/*
 * Files are UTF-8 and the server's error positions count characters of
 * the text as it understands it, so the text is sent as UTF-8; the
 * caller's client_encoding is put back afterwards.
 */
static int use_utf8(PGconn *pg)
{
    int previous = PQclientEncoding(pg);
    if (strcmp(pg_encoding_to_char(previous), "UTF8") != 0)
        PQsetClientEncoding(pg, "UTF8");
    return previous;
}

static void restore_encoding(PGconn *pg, int previous)
{
    if (PQclientEncoding(pg) != previous && PQstatus(pg) == CONNECTION_OK)
        PQsetClientEncoding(pg, pg_encoding_to_char(previous));
}

/*
 * What up and down share: read the folder, check the connection, take
 * the lock, do the work (up when n is 0, otherwise down n), and put the
 * lock and the client encoding back on every path.
 */
static dbont_status run_locked(dbont_conn *conn, const char *dir, size_t n,
                               const dbont_migrate_options *options,
                               dbont_migrate_report *report, dbont_error *err)
{
    static const dbont_migrate_options defaults = DBONT_MIGRATE_OPTIONS_INIT;
    if (!options)
        options = &defaults;
    if (dbont_migrate_scan(dir, report, err) != DBONT_OK)
        return DBONT_ERROR;

    PGconn *pg = dbont_conn_pg(conn);
    if (PQtransactionStatus(pg) != PQTRANS_IDLE)
        return dbont_error_set(err, STATE_IN_TRANSACTION,
                               "%s: error: cannot %s migrations: the connection is "
                               "inside a transaction or not ready",
                               dir, n == 0 ? "apply" : "revert");

    int encoding = use_utf8(pg);
    dbont_status st = take_lock(pg, dir, options->lock_timeout_s, err);
    if (st == DBONT_OK) {
        st = n == 0 ? up_locked(pg, dir, options, report, err)
                    : down_locked(pg, dir, n, options, report, err);
        release_lock(pg);
    }
    restore_encoding(pg, encoding);
    return st;
}

dbont_status dbont_migrate_up(dbont_conn *conn, const char *dir,
                              const dbont_migrate_options *options,
                              dbont_migrate_report *report, dbont_error *err)
{
    return run_locked(conn, dir, 0, options, report, err);
}

dbont_status dbont_migrate_down(dbont_conn *conn, const char *dir, size_t n,
                                const dbont_migrate_options *options,
                                dbont_migrate_report *report, dbont_error *err)
{
    if (n == 0) {
        memset(report, 0, sizeof *report);
        return dbont_error_set(err, STATE_INVALID_FOLDER,
                               "%s: error: the number of migrations to revert must be at "
                               "least 1",
                               dir);
    }
    return run_locked(conn, dir, n, options, report, err);
}
