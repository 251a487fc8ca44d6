/*
 * diag.h: diagnostics in GCC form, "FILE:LINE:COL: error: MESSAGE".
 *
 * Errors are collected, not fatal: every stage reports all it finds and the
 * caller checks diag_errors() before writing anything.  LINE and COL start
 * at 1; COL counts bytes, as serd and GCC (-fdiagnostics-column-unit=byte)
 * do.
 */
#ifndef DBONT_GEN_DIAG_H
#define DBONT_GEN_DIAG_H

#include <stdio.h>

/* A place in an ontology file.  file is owned by the reader's file table
 * and lives as long as the graph; NULL means "no place" (whole run). */
typedef struct dpos {
    const char *file;
    unsigned line;
    unsigned col;
} dpos;

typedef struct diag {
    FILE *out;
    unsigned errors;
    unsigned warnings;
} diag;

void diag_init(diag *d, FILE *out);
void diag_error(diag *d, dpos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(diag *d, dpos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A note explains the diagnostic before it (e.g. "first defined here"). */
void diag_note(diag *d, dpos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
unsigned diag_errors(const diag *d);

#endif
