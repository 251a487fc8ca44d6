/*
 * migsteps.h: a migration file cut into steps, internal to libdbont.
 *
 * A file is a sequence of steps separated by marker lines
 * ("-- dbont:step transaction", "-- dbont:step no-transaction",
 * "-- dbont:step no-transaction index NAME", "-- dbont:step no-transaction
 * partition-indexes NAME"); the text before the first
 * marker is step 1, a transactional step.  The contract is described in
 * dbont/migrate.h; this file only does the text work (no database), so
 * that it can be tested on its own: finding the markers, checking them,
 * and counting the SQL statements of a step with a small lexer that knows
 * PostgreSQL's comments, quotes and dollar quotes.
 *
 * Ownership: dbont_migsteps_parse allocates *steps with malloc; the caller
 * frees it with free().  Nothing here prints.
 */
#ifndef DBONT_MIGSTEPS_H
#define DBONT_MIGSTEPS_H

#include <stddef.h>

#include "dbont/migrate.h"

/* The marker prefix; a line that starts with it (at column 1) followed by
 * a space, a tab, a CR or the end of the line must be a valid marker. */
#define DBONT_MIGSTEPS_MARKER "-- dbont:step"

typedef enum dbont_migsteps_result {
    DBONT_MIGSTEPS_OK,
    DBONT_MIGSTEPS_INVALID,    /* problem says where and why */
    DBONT_MIGSTEPS_NO_MEMORY
} dbont_migsteps_result;

/* The first problem found in a file: LINE:COL (both from 1, COL in
 * characters) and a message without the "FILE:LINE:COL: error: " prefix. */
typedef struct dbont_migsteps_problem {
    int line;
    int col;
    char message[400];
} dbont_migsteps_problem;

/*
 * Cuts text (len bytes, line ends already normalised to LF) into steps.
 * On DBONT_MIGSTEPS_OK, *steps holds *count >= 1 steps in file order
 * (free it with free()); on any other result *steps is NULL and *count 0.
 * A file is refused (DBONT_MIGSTEPS_INVALID) when a marker line is
 * malformed, when an index name is not a lower-case unquoted identifier of
 * at most 63 bytes, when a no-transaction step does not hold exactly one
 * SQL statement, or when a partition-indexes step holds any (it holds only
 * comments: the runner builds the partitions' indexes).
 */
dbont_migsteps_result dbont_migsteps_parse(const char *text, size_t len,
                                           dbont_migration_step **steps, size_t *count,
                                           dbont_migsteps_problem *problem);

/* What dbont_migsteps_count_statements found in a piece of SQL. */
typedef struct dbont_migsteps_statements {
    size_t count;    /* statements holding at least one token */
    size_t first;    /* offset of the first token of the first statement */
    size_t second;   /* ... and of the second one; valid for count >= 2 */
} dbont_migsteps_statements;

/*
 * Counts the statements of len bytes of SQL the way the server splits a
 * simple query: at semicolons outside comments (-- and nested slash-star),
 * quotes ('...', E'...', "..."), dollar quotes ($tag$...$tag$) and the
 * BEGIN ... END body of CREATE [OR REPLACE] FUNCTION/PROCEDURE (psql's
 * heuristic).  Comments and whitespace alone are no statement.
 */
void dbont_migsteps_count_statements(const char *sql, size_t len,
                                     dbont_migsteps_statements *out);

/* Line and column (both from 1, the column in UTF-8 characters) of byte
 * offset in text. */
void dbont_migsteps_line_col(const char *text, size_t offset, int *line, int *col);

#endif
