/*
 * testutil.h: helpers shared by the generator's unit tests.
 *
 *  - temporary folders (mkdtemp under $TMPDIR or /tmp) with files written
 *    into them, removed again with everything inside;
 *  - diagnostics captured into memory (open_memstream), so tests compare
 *    the exact text dbont-gen would print;
 *  - the front end run end to end on ontology files, as dbont-gen's main
 *    does: reader_read, then build_model and check_model.
 */
#ifndef DBONT_GEN_TESTUTIL_H
#define DBONT_GEN_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "diag.h"
#include "graph.h"
#include "model.h"

/* A new empty folder (caller frees the returned path after tu_rmtree). */
char *tu_mkdtemp(void);
/* cmocka fixtures: *state is a fresh temporary folder, removed afterwards. */
int tu_setup_tmpdir(void **state);
int tu_teardown_tmpdir(void **state);
/* Writes text to dir/name, creating dir and the folders on the way;
 * returns the full path (caller frees). */
char *tu_write(const char *dir, const char *name, const char *text);
/* Removes dir and everything in it. */
void tu_rmtree(const char *dir);
/* The contents of a file (caller frees), or NULL. */
char *tu_read(const char *path);

/* Diagnostics printed into memory. */
typedef struct tu_diag {
    diag d;
    FILE *f;
    char *text;
    size_t len;
} tu_diag;

void tu_diag_open(tu_diag *t);
/* Flushes d and returns everything printed so far (owned by t). */
const char *tu_diag_text(tu_diag *t);
void tu_diag_close(tu_diag *t);

/* An ontology read, built and checked. */
typedef struct tu_loaded {
    graph g;
    model m;
    tu_diag out;
    bool read_ok;  /* reader_read */
    bool build_ok; /* build_model (false when not run) */
    bool check_ok; /* check_model (false when not run) */
    const char *text; /* the flushed diagnostics */
} tu_loaded;

/* Reads files, then (when reading succeeded) builds and checks the model
 * with C prefix "t", and flushes the diagnostics into l->text. */
void tu_load(tu_loaded *l, char *const *files, size_t nfiles);
/* Writes text to a file "name" in dir and loads it alone. */
void tu_load_text(tu_loaded *l, const char *dir, const char *name, const char *text);
void tu_unload(tu_loaded *l);

/* "file:line:col" of a position, in a static buffer (4 rotating). */
const char *tu_pos(dpos p);
/* As tu_pos, with only the base name of the file. */
const char *tu_bpos(dpos p);

/* Lookups that fail the test when the thing is missing. */
table *tu_table(const model *m, const char *sql_name);
column *tu_column(const table *t, const char *name);

#endif
