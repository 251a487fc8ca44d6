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
 * pg_try_advisory_lock every 100 ms, with no transaction open between two
 * polls, so that it holds no snapshot a CREATE INDEX CONCURRENTLY of the
 * first one would wait for) and then works on what the first one left.
 *
 * Steps.  A file (up or down) is a sequence of steps.  A step starts at a
 * marker line and runs to the next marker line or the end of the file;
 * the text before the first marker is step 1, a transactional step (when
 * the very first line is a marker there is no such text, and that marker
 * starts step 1).  Marker lines are whole lines starting at column 1,
 * with nothing after them but spaces, tabs or a CR:
 *
 *   -- dbont:step transaction
 *   -- dbont:step no-transaction
 *   -- dbont:step no-transaction index NAME
 *   -- dbont:step no-transaction partition-indexes NAME
 *
 * Markers are found line by line, without regard to SQL quoting.  A line
 * that starts with "-- dbont:step" followed by a blank or the end of the
 * line and is none of the four is an error, and so is a NAME that is not
 * an unquoted lower-case identifier ([a-z_][a-z0-9_]*, at most 63 bytes).
 *   - A transactional step is sent with one PQexec inside a transaction of
 *     its own (several statements are fine), together with its progress
 *     bookkeeping; it must not run BEGIN, COMMIT or ROLLBACK itself.  A
 *     file without markers is one transactional step: it is applied in one
 *     transaction together with its history row, and writes no progress
 *     row; a file or step is thus applied completely or not at all.
 *   - A no-transaction step must hold exactly one SQL statement (plus
 *     comments; the file is refused otherwise), sent alone outside any
 *     transaction: this is how CREATE INDEX CONCURRENTLY and DROP INDEX
 *     CONCURRENTLY run.  It must be idempotent (IF NOT EXISTS, IF EXISTS):
 *     after a crash between the step and its progress update it runs again.
 *   - A "no-transaction index NAME" step builds the index NAME.  Before it
 *     runs, an index NAME in current_schema() with pg_index.indisvalid
 *     false (left by an interrupted or failed concurrent build) is reported
 *     (report->repairs, options->on_repair) and dropped with DROP INDEX
 *     CONCURRENTLY IF EXISTS, so that the step's IF NOT EXISTS does not keep
 *     the broken index.
 *   - A "no-transaction partition-indexes NAME" step holds only comments
 *     (a statement in it makes the file invalid).  NAME is a partitioned
 *     index of current_schema() (made ON ONLY its table by an earlier
 *     step; missing: 42704, not partitioned: 42809, at the step's line).
 *     For each direct partition P of its table, by name, that has no
 *     index attached to NAME yet, the runner builds the child index C:
 *     P's name, '_', and NAME without a leading "<table>_"; when that is
 *     longer than 63 bytes, its first 54 bytes (fewer rather than cut a
 *     UTF-8 character), '_' and the first 8 hex digits of the SHA-256 of
 *     the full name (dbont_migrate_partition_index_name).  An INVALID C
 *     on P is reported and dropped like an "index NAME" step's index;
 *     then "CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS C ON P
 *     USING ..." (the rest of pg_get_indexdef(NAME)) and "ALTER INDEX
 *     NAME ATTACH PARTITION C" are sent, each alone outside any
 *     transaction.  Once every partition's index is attached, PostgreSQL
 *     marks NAME valid (the step fails if it is not).  Partitions already
 *     attached are skipped, so the step may run again.
 *
 * Progress.  A file of several steps can stop half-way (a step fails, or
 * the process dies).  Its progress is kept in
 *
 *   dbont_migration_progress (version integer PRIMARY KEY,
 *                             direction text NOT NULL,  -- 'up' or 'down'
 *                             checksum text NOT NULL,   -- of the file run
 *                             steps_done integer NOT NULL,
 *                             steps integer NOT NULL,
 *                             updated_at timestamptz NOT NULL DEFAULT now())
 *
 * created next to dbont_migrations when missing, by the first up (or down)
 * that runs a file of more than one step; a folder without markers never
 * creates it.  A transactional step updates the row in its own
 * transaction; a no-transaction step runs, then the row is updated (one
 * autocommit statement).  The step that completes the file also writes the
 * history change (up: the INSERT, down: the DELETE) and deletes the row in
 * one transaction (after a last no-transaction step, a small transaction
 * of its own).  up resumes a partial up of a file at step steps_done + 1
 * when the file's checksum equals the row's, and refuses when the file has
 * changed; down does the same for a partial down, whose version must be
 * the newest applied one.  up refuses while a partial down exists ("reverting
 * FILE stopped after step K of N: run `dbont-migrate down` to finish
 * reverting it"), and down while a partial up exists ("applying FILE stopped
 * after step K of N: run `dbont-migrate up` to finish applying it").
 *
 * Errors: every error message names where it was found, in GCC form:
 * "DIR/FILE:LINE:COL: error: ..." for an SQL error with a position (LINE
 * counted in the whole file, also for a later step),
 * "DIR/FILE:LINE: error: ..." for an SQL error without a position in a
 * file of several steps (LINE is the line of the failing step's first
 * statement), "DIR/FILE: error: ..." for other problems with one file (and
 * for SQL errors without a position in a file of one step), and
 * "DIR: error: ..." for problems with the folder or the database as a whole.
 * SQLSTATE is the server's for SQL errors, 55P03 when the lock could not be
 * taken in time, 22023 for an invalid folder or request (bad name,
 * duplicate version, down file without its up file, malformed step marker
 * or index name, a no-transaction step without exactly one statement,
 * a statement in a partition-indexes step, changed or missing applied
 * file, pending file older than the newest applied one, a file that runs
 * COMMIT itself or a no-transaction step that leaves a transaction open,
 * a version to revert without a down file, more versions to revert than
 * are applied, a partial run of the other direction, a partial run whose file has changed or is gone, a stale
 * progress row), 58030 when a file cannot be read, 0A000 for COPY FROM
 * STDIN / TO STDOUT in a file, and 25001 when the connection is already
 * inside a transaction.  A partition-indexes step fails at its line with
 * the server's SQLSTATE, or 42704 when its index is missing, 42809 when
 * that index is not partitioned, 42P07 when the name of a partition's
 * index is taken by another relation, 0A000 for a partition that is
 * itself partitioned, and 55000 when the index is still invalid after
 * every partition's index was attached.
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

/* The longest index name PostgreSQL keeps (NAMEDATALEN - 1), plus NUL. */
#define DBONT_MIGRATE_NAME_SIZE 64

/*
 * The name of the index a "partition-indexes" step builds on a partition
 * (see "Steps" above): partition, '_', and parent_index without a leading
 * "<table>_" (kept whole when it has no such prefix, or is nothing more);
 * a name longer than 63 bytes becomes its first 54 bytes (fewer when the
 * 54th byte is inside a UTF-8 character), '_', and the first 8 lower-case
 * hex digits of the SHA-256 of the full name.  For example
 * events_tenant_id_kind_idx of events on events_2026_11 is
 * events_2026_11_tenant_id_kind_idx.  Writes out, NUL-terminated.
 */
void dbont_migrate_partition_index_name(const char *partition, const char *table,
                                        const char *parent_index,
                                        char out[DBONT_MIGRATE_NAME_SIZE]);

/* One step of a file (see "Steps" above). */
typedef struct dbont_migration_step {
    /* true for "-- dbont:step no-transaction [index NAME]"; false for
     * "-- dbont:step transaction" and for the text before the first marker. */
    bool no_transaction;
    /* NAME of "no-transaction index NAME"; "" otherwise. */
    char index_name[DBONT_MIGRATE_NAME_SIZE];
    /* PARENT_INDEX of "no-transaction partition-indexes PARENT_INDEX"
     * (such a step holds only comments: dbont-migrate builds the index on
     * each partition and attaches it, see "Steps" above); "" otherwise. */
    char partition_index[DBONT_MIGRATE_NAME_SIZE];
    /* The step's text: len bytes at offset in the file's text (sql or
     * down_sql), from the line after its marker up to the next marker. */
    size_t offset;
    size_t len;
    /* Lines, counted from 1 in the whole file: the marker (0 for a step 1
     * without one), and the step's first statement (the marker's line when
     * the step holds only comments; 1 for an empty step 1). */
    int marker_line;
    int statement_line;
} dbont_migration_step;

/* Which kind of run a dbont_migration_progress row records. */
typedef enum dbont_migration_partial {
    DBONT_MIGRATION_NOT_PARTIAL = 0,   /* no row for this version */
    DBONT_MIGRATION_PARTIAL_UP,        /* an up stopped inside the up file */
    DBONT_MIGRATION_PARTIAL_DOWN       /* a down stopped inside the down file */
} dbont_migration_partial;

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
    /* The steps of the up file and of the down file (at least one for a
     * file that exists; NULL and 0 when there is no such file). */
    dbont_migration_step *steps;
    size_t step_count;
    dbont_migration_step *down_steps;
    size_t down_step_count;
    /* The down file's checksum, computed like checksum ("" when there is no
     * down file); a partial down records it. */
    char down_checksum[DBONT_MIGRATE_CHECKSUM_SIZE];
    /* This version's row in dbont_migration_progress, as last known by the
     * call (a call that stops inside a file updates it): the direction, the
     * steps done and the number of steps it records, and the checksum of the
     * file it was running.  A partial up leaves the entry PENDING (or
     * FAILED), a partial down APPLIED (or FAILED); a row whose version has
     * neither a file nor a history row makes a MISSING entry with
     * applied_at NULL and name "". */
    dbont_migration_partial partial;
    size_t steps_done;
    size_t progress_steps;
    char progress_checksum[DBONT_MIGRATE_CHECKSUM_SIZE];
    /* For an entry this call applied, reverted or failed on: the first step
     * it ran (1, or steps_done + 1 of the row it resumed); 0 otherwise. */
    size_t first_step;
} dbont_migration;

/* An INVALID index that dbont_migrate_up (or _down, for a down file's
 * index step) dropped before the step that builds it ran (see
 * "no-transaction index NAME" above). */
typedef struct dbont_migrate_repair {
    char index_name[DBONT_MIGRATE_NAME_SIZE];
    int32_t version;
    /* The file of the step ("DIR/FILE.sql", or the down file's path), owned
     * by the report, and the line of the step's statement. */
    char *path;
    int line;
} dbont_migrate_repair;

/* An index of current_schema() whose pg_index.indisvalid is false, as
 * found by dbont_migrate_verify.  The strings are owned by the report. */
typedef struct dbont_migrate_invalid_index {
    char *name;     /* the index, as pg_class.relname */
    char *table;    /* its table, likewise */
    /* A partitioned index (relkind 'I'): it stays invalid until every
     * partition has an index attached to it.  unattached lists the
     * partitions without one (", "-separated, as regclass text), "" when
     * each has one (then an attached index is itself invalid); NULL for an
     * ordinary index. */
    bool partitioned;
    char *unattached;
    /* The step of a pending or partly applied up file that builds this
     * index ("no-transaction index NAME"), so that the next up drops and
     * rebuilds it, or, for a partitioned index, the "partition-indexes
     * NAME" step that builds and attaches its partitions' indexes, and
     * for an index of a partition, the one that drops and rebuilds it
     * under its name (dbont_migrate_partition_index_name): its file's path
     * (owned by the report) and its statement's line; NULL and 0 when no
     * such step will run. */
    char *rebuilt_by;
    int rebuilt_by_line;
} dbont_migrate_invalid_index;

typedef struct dbont_migrate_report {
    /* Every version in the folder or in the history, ascending. */
    dbont_migration *migrations;
    size_t count;
    /* How many entries are in each state. */
    size_t applied, applied_now, pending, changed, missing, failed;
    size_t reverted;
    /* How many PENDING entries are out_of_order. */
    size_t out_of_order;
    /* How many entries have a progress row (partial is not NOT_PARTIAL). */
    size_t partial;
    /* The INVALID indexes dbont_migrate_up (or _down) dropped and rebuilt,
     * in the order it did so. */
    dbont_migrate_repair *repairs;
    size_t repair_count;
    /* Filled by dbont_migrate_verify only: the INVALID indexes of
     * current_schema(), by name, and the number of problems found (one per
     * entry that is not APPLIED or has a progress row, plus one per
     * invalid index); 0 means verified. */
    dbont_migrate_invalid_index *invalid_indexes;
    size_t invalid_index_count;
    size_t problems;
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
    /* Called (when not NULL) when an INVALID index has been found and is
     * about to be dropped and rebuilt, before the (possibly long) work
     * starts; r belongs to the report (report->repairs); also given user. */
    void (*on_repair)(const dbont_migrate_repair *r, void *user);
} dbont_migrate_options;

/* The defaults: wait up to 60 s for the lock, no callbacks. */
#define DBONT_MIGRATE_OPTIONS_INIT { 60.0, NULL, NULL, NULL, NULL }

/*
 * Reads the folder dir without touching any database: every up file
 * becomes a PENDING entry with its text, checksum and steps, and its down
 * file (if any) is read into the same entry.  Fails (and leaves the report
 * empty) when a .sql file has a bad name, when two up files share a
 * version, when a down file has no up file with its NNNN_name, when a file
 * cannot be read (58030), or when a file's steps are malformed (a bad
 * marker or index name, a no-transaction step without exactly one
 * statement, a statement in a partition-indexes step:
 * "DIR/FILE:LINE:COL: error: ..."); the message lists every
 * such problem (up to the message size).  report is overwritten, not
 * freed.
 */
dbont_status dbont_migrate_scan(const char *dir, dbont_migrate_report *report,
                                dbont_error *err);

/*
 * Compares the folder with the database's history, read-only: takes no
 * lock and creates nothing.  Each entry ends up APPLIED, PENDING, CHANGED
 * or MISSING, and PENDING entries older than the newest applied version
 * are marked out_of_order; the rows of dbont_migration_progress fill the
 * entries' partial, steps_done, progress_steps and progress_checksum.
 * Returns DBONT_OK when the comparison could be made, even if some entries
 * are CHANGED, MISSING, out of order or partial (check report->changed,
 * report->missing, report->out_of_order and report->partial); DBONT_ERROR
 * when the folder is invalid or a query fails.
 */
dbont_status dbont_migrate_status(dbont_conn *conn, const char *dir,
                                  dbont_migrate_report *report,
                                  dbont_error *err);

/*
 * Applies every pending file in dir, in version order, each in its own
 * transaction (a file of several steps step by step, see "Steps" and
 * "Progress" above), under the advisory lock (released again on every
 * path).  A file an earlier up stopped in is resumed first, at the step
 * after the last one done (the entry's first_step says where).  Before
 * applying anything it refuses (22023), naming the files, when an applied
 * file has changed or is missing, when a pending file is older than the
 * newest version in the history (the message names that version and
 * suggests a new number) or than a partly applied file, when a partial run
 * cannot be resumed (its file changed or is gone, its progress row is
 * stale) and while a down is partial.  On an SQL error the step's
 * transaction is rolled back, the entry is FAILED (its partial and
 * steps_done say which steps stay done), later files stay PENDING, and err
 * gives FILE:LINE:COL (the position in the file's text, LINE and COL
 * counted from 1, COL in characters), the SQLSTATE, the message and any
 * DETAIL and HINT, and for a failed no-transaction step a note line (the
 * one-statement rule after a 25001; an index the failed build left
 * INVALID).  options may be NULL for the defaults.  conn must not be
 * inside a transaction.
 */
dbont_status dbont_migrate_up(dbont_conn *conn, const char *dir,
                              const dbont_migrate_options *options,
                              dbont_migrate_report *report, dbont_error *err);

/*
 * Reverts the n (at least 1) highest applied versions of dir, newest
 * first, under the same advisory lock as dbont_migrate_up: each one's
 * down file runs in one transaction together with the deletion of its
 * history row (a down file of several steps step by step, the deletion
 * going with its last step), and the entry becomes REVERTED.  A partial
 * down (of the newest applied version) is resumed at the step after the
 * last one done, and counts as one of the n.  Before reverting anything
 * it refuses (22023, report filled in, nothing changed) when an applied
 * file has changed or is missing, when n is 0 or more than the number of
 * applied versions, when one of the n versions has no down file (the
 * message names each such up file), when a partial down cannot be resumed
 * (its down file changed or is gone, it is not the newest applied version)
 * and while an up is partial.  On an SQL error (or a failed COMMIT) the
 * step's transaction is rolled back, its entry is FAILED (still applied;
 * partial says whether some steps of the down file stay done), the older
 * versions stay APPLIED, and the versions reverted before it stay
 * REVERTED (report->reverted counts them); err gives
 * DIR/FILE.down.sql:LINE:COL as for dbont_migrate_up.  Pending files are
 * left alone, out of order or not.  Creates nothing (but the progress
 * table, for a down file of several steps): without a history table
 * nothing is applied, so any n is refused.  options may be NULL for the
 * defaults.  conn must not be inside a transaction (25001).
 */
dbont_status dbont_migrate_down(dbont_conn *conn, const char *dir, size_t n,
                                const dbont_migrate_options *options,
                                dbont_migrate_report *report, dbont_error *err);

/*
 * Checks, read-only (no lock, creates nothing), that the database is what
 * the folder describes: fills report as dbont_migrate_status does, and
 * report->invalid_indexes with the INVALID indexes of current_schema().
 * report->problems counts what is wrong: an applied file that changed or
 * is missing, a pending file (out of order or not), a partial run (a
 * progress row), an invalid index.  Returns DBONT_OK when the check could
 * be made, whatever it found (0 problems means verified); DBONT_ERROR when
 * the folder is invalid or a query fails.
 */
dbont_status dbont_migrate_verify(dbont_conn *conn, const char *dir,
                                  dbont_migrate_report *report, dbont_error *err);

/* Frees what the calls above put in report and empties it.  A report
 * that is all zeros (or already freed) is fine; NULL is allowed. */
void dbont_migrate_report_free(dbont_migrate_report *report);

#ifdef __cplusplus
}
#endif

#endif
