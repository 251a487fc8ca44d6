/*
 * dbont/migrate.h: applying numbered SQL migrations, and reverting them.
 *
 * A migrations folder holds files named NNNN_name.sql: four or more digits
 * (the version, at most 2147483647), an underscore, a name of ASCII letters,
 * digits and underscores.  Beside each one may lie its reverse, the down
 * file NNNN_name.down.sql (the same NNNN_name, then ".down.sql").  Files
 * that do not end in ".sql" (such as the generator's schema.snapshot) are
 * ignored.  The folder is invalid, and nothing is done, when a ".sql" file
 * has any other name, when two up files share a version, or when a down
 * file has no up file of the same NNNN_name (none with its version, or one
 * whose name differs).
 *
 * The database remembers what it has applied in the table
 *
 *   dbont_migrations (version integer PRIMARY KEY, name text NOT NULL,
 *                     checksum text NOT NULL,
 *                     applied_at timestamptz NOT NULL DEFAULT now(),
 *                     duration_ms double precision NOT NULL)
 *
 * created by dbont_migrate_up in the first schema of the search_path when
 * it is missing.  The checksum is the lower-case hex SHA-256 of the up
 * file's bytes after every CR LF pair has been replaced by LF, so a
 * checkout with Windows line endings does not look changed.  Down files
 * are not in the history: they can be added or fixed after their up file
 * was applied.
 *
 * Versions are applied in ascending order and reverted in descending
 * order.  A database whose history says version N was applied only takes
 * files newer than N: a pending file with a lower version (typically
 * merged from another branch after a newer one was applied) is refused,
 * and has to be renumbered above the newest applied version.
 *
 * dbont_migrate_up and dbont_migrate_down hold a session-level advisory
 * lock with the key DBONT_MIGRATE_LOCK_KEY while they work, so two
 * migrators never interleave; the second one waits (polling
 * pg_try_advisory_lock every 100 ms) and then works on what the first one
 * left.  Each file runs in its own transaction together with its change
 * to the history (the row inserted by up, deleted by down): a file is
 * applied or reverted completely or not at all.  A file must therefore not
 * contain BEGIN/COMMIT or statements PostgreSQL refuses inside a
 * transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ...).
 *
 * Errors: every error message names where it was found, in GCC form:
 * "DIR/FILE:LINE:COL: error: ..." for an SQL error with a position,
 * "DIR/FILE: error: ..." for other problems with one file, and
 * "DIR: error: ..." for problems with the folder or the database as a whole.
 * SQLSTATE is the server's for SQL errors, 55P03 when the lock could not be
 * taken in time, 22023 for an invalid folder or request (bad name,
 * duplicate version, down file without its up file, changed or missing
 * applied file, pending file older than the newest applied one, a file
 * that runs COMMIT itself, a version to revert without a down file, more
 * versions to revert than are applied), 58030 when a file cannot be read,
 * 0A000 for COPY FROM STDIN / TO STDOUT in a file, and 25001 when the
 * connection is already inside a transaction.
 *
 * Ownership: a dbont_migrate_report is a caller-owned value (usually on
 * the stack) whose contents the functions below allocate; release them with
 * dbont_migrate_report_free, also after a failed call.  Nothing here prints.
 */
#ifndef DBONT_MIGRATE_H
#define DBONT_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbont/conn.h"
#include "dbont/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The advisory lock key: the bytes of "dbontmig" read as a big-endian
 * 64-bit number, 0x64626f6e746d6967 = 7233466471700851047.  It is part of
 * the tool's contract (other tools may take it to keep migrations out), so
 * it never changes.
 */
#define DBONT_MIGRATE_LOCK_KEY INT64_C(7233466471700851047)

/* Lower-case hex SHA-256: 64 characters plus NUL. */
#define DBONT_MIGRATE_CHECKSUM_SIZE 65

/* How dbont_migration_parse_name classifies a file name. */
typedef enum dbont_migration_name_kind {
    DBONT_MIGRATION_NAME_OK,      /* NNNN_name.sql: an up file */
    DBONT_MIGRATION_NAME_OTHER,   /* not a .sql file: not a migration */
    DBONT_MIGRATION_NAME_INVALID, /* a .sql file whose name does not fit */
    DBONT_MIGRATION_NAME_DOWN     /* NNNN_name.down.sql: a down file */
} dbont_migration_name_kind;

/*
 * Classifies file_name (a name without a folder).  For DBONT_MIGRATION_NAME_OK
 * and DBONT_MIGRATION_NAME_DOWN stores the version in *version (which may be
 * NULL); otherwise leaves *version alone.  Whether a down file has its up
 * file is a question about the folder, answered by dbont_migrate_scan.
 */
dbont_migration_name_kind dbont_migration_parse_name(const char *file_name,
                                                     int32_t *version);

/*
 * Writes the checksum of a file's contents (len bytes at data, as read from
 * disk: CR LF pairs are replaced by LF before hashing) into out.
 */
void dbont_migration_checksum(const void *data, size_t len,
                              char out[DBONT_MIGRATE_CHECKSUM_SIZE]);

typedef enum dbont_migration_state {
    DBONT_MIGRATION_PENDING,     /* a file not applied yet */
    DBONT_MIGRATION_APPLIED,     /* applied before this call, file unchanged */
    DBONT_MIGRATION_APPLIED_NOW, /* applied by this call */
    DBONT_MIGRATION_CHANGED,     /* applied, but the file's checksum differs */
    DBONT_MIGRATION_MISSING,     /* applied, but there is no file for it */
    DBONT_MIGRATION_FAILED,      /* this call tried to apply it (up) or to
                                    revert it (down) and failed: it is still
                                    not applied, resp. still applied */
    DBONT_MIGRATION_REVERTED     /* applied before this call, reverted by it
                                    (dbont_migrate_down): not applied now */
} dbont_migration_state;

/* One version, as found in the folder and/or in the history table.
 * Every pointer is owned by the report that holds the entry. */
typedef struct dbont_migration {
    int32_t version;
    dbont_migration_state state;
    /* "blog" for 0001_blog.sql; from the history when the file is missing. */
    char *name;
    /* "0001_blog.sql" and "DIR/0001_blog.sql"; NULL when MISSING. */
    char *file_name;
    char *path;
    /* The file's text with CR LF replaced by LF (what is sent to the
     * server), NUL-terminated; NULL when MISSING. */
    char *sql;
    size_t sql_len;
    /* The file's checksum, and the one stored when it was applied ("" when
     * MISSING, resp. when never applied). */
    char checksum[DBONT_MIGRATE_CHECKSUM_SIZE];
    char stored_checksum[DBONT_MIGRATE_CHECKSUM_SIZE];
    /* When it was applied, in UTC as "YYYY-MM-DD HH:MM:SS.ssssssZ"; NULL
     * when not applied (also after it was REVERTED). */
    char *applied_at;
    /* How long applying it took (from the history, or measured now), or
     * for a REVERTED entry how long reverting it took; 0 when not
     * applied. */
    double duration_ms;
    /* The down file, "0001_blog.down.sql" and "DIR/0001_blog.down.sql",
     * and its text (CR LF replaced by LF, NUL-terminated); all NULL when
     * the folder has no down file for this version. */
    char *down_file_name;
    char *down_path;
    char *down_sql;
    size_t down_sql_len;
    /* PENDING, but older than the newest version in the history:
     * dbont_migrate_up refuses to apply it (the file must be renumbered). */
    bool out_of_order;
} dbont_migration;

typedef struct dbont_migrate_report {
    /* Every version in the folder or in the history, ascending. */
    dbont_migration *migrations;
    size_t count;
    /* How many entries are in each state. */
    size_t applied, applied_now, pending, changed, missing, failed;
    size_t reverted;
    /* How many PENDING entries are out_of_order. */
    size_t out_of_order;
} dbont_migrate_report;

typedef struct dbont_migrate_options {
    /* How long dbont_migrate_up and dbont_migrate_down wait for the
     * advisory lock, in seconds.  0 tries once. */
    double lock_timeout_s;
    /* Called (when not NULL) right after each file applied by
     * dbont_migrate_up is committed, so a caller can show progress; m
     * belongs to the report. */
    void (*on_applied)(const dbont_migration *m, void *user);
    void *user;
    /* The same for each version reverted by dbont_migrate_down (m->state
     * is DBONT_MIGRATION_REVERTED); also given user. */
    void (*on_reverted)(const dbont_migration *m, void *user);
} dbont_migrate_options;

/* The defaults: wait up to 60 s for the lock, no callbacks. */
#define DBONT_MIGRATE_OPTIONS_INIT { 60.0, NULL, NULL, NULL }

/*
 * Reads the folder dir without touching any database: every up file
 * becomes a PENDING entry with its text and checksum, and its down file
 * (if any) is read into the same entry.  Fails (and leaves the report
 * empty) when a .sql file has a bad name, when two up files share a
 * version, when a down file has no up file with its NNNN_name, or when a
 * file cannot be read; the message lists every such problem (up to the
 * message size).  report is overwritten, not freed.
 */
dbont_status dbont_migrate_scan(const char *dir, dbont_migrate_report *report,
                                dbont_error *err);

/*
 * Compares the folder with the database's history, read-only: takes no
 * lock and creates nothing.  Each entry ends up APPLIED, PENDING, CHANGED
 * or MISSING, and PENDING entries older than the newest applied version
 * are marked out_of_order.  Returns DBONT_OK when the comparison could be
 * made, even if some entries are CHANGED, MISSING or out of order (check
 * report->changed, report->missing and report->out_of_order); DBONT_ERROR
 * when the folder is invalid or a query fails.
 */
dbont_status dbont_migrate_status(dbont_conn *conn, const char *dir,
                                  dbont_migrate_report *report,
                                  dbont_error *err);

/*
 * Applies every pending file in dir, in version order, each in its own
 * transaction, under the advisory lock (released again on every path).
 * Before applying anything it refuses (22023), naming the files, when an
 * applied file has changed or is missing, or when a pending file is older
 * than the newest version in the history (the message names that version
 * and suggests a new number).  On an SQL error the file's transaction
 * is rolled back, the entry is FAILED, later files stay PENDING, and err
 * gives FILE:LINE:COL (the position in the file's text, LINE and COL
 * counted from 1, COL in characters), the SQLSTATE, the message and any
 * DETAIL and HINT.  options may be NULL for the defaults.  conn must not be
 * inside a transaction.
 */
dbont_status dbont_migrate_up(dbont_conn *conn, const char *dir,
                              const dbont_migrate_options *options,
                              dbont_migrate_report *report, dbont_error *err);

/*
 * Reverts the n (at least 1) highest applied versions of dir, newest
 * first, under the same advisory lock as dbont_migrate_up: each one's
 * down file runs in one transaction together with the deletion of its
 * history row, and the entry becomes REVERTED.  Before reverting anything
 * it refuses (22023, report filled in, nothing changed) when an applied
 * file has changed or is missing, when n is 0 or more than the number of
 * applied versions, or when one of the n versions has no down file (the
 * message names each such up file).  On an SQL error (or a failed COMMIT)
 * the down file's transaction is rolled back, its entry is FAILED (still
 * applied), the older versions stay APPLIED, and the versions reverted
 * before it stay REVERTED (report->reverted counts them); err gives
 * DIR/FILE.down.sql:LINE:COL as for dbont_migrate_up.  Pending files are
 * left alone, out of order or not.  Creates nothing: without a history
 * table nothing is applied, so any n is refused.  options may be NULL for
 * the defaults.  conn must not be inside a transaction (25001).
 */
dbont_status dbont_migrate_down(dbont_conn *conn, const char *dir, size_t n,
                                const dbont_migrate_options *options,
                                dbont_migrate_report *report, dbont_error *err);

/* Frees what the calls above put in report and empties it.  A report
 * that is all zeros (or already freed) is fine; NULL is allowed. */
void dbont_migrate_report_free(dbont_migrate_report *report);

#ifdef __cplusplus
}
#endif

#endif
