/*
 * diag.h: diagnostics in GCC form, "FILE:LINE:COL: error: MESSAGE".
 *
 * Errors are collected, not fatal: every stage reports all it finds and the
 * caller checks diag_errors() before writing anything.  diag_flush prints
 * them sorted by place (files in the order they first appear, then line and
 * column), each error followed by its notes, so a listing reads top to
 * bottom like the ontology.  LINE and COL start at 1; COL counts bytes, as
 * serd and GCC (-fdiagnostics-column-unit=byte) do.
 */
#ifndef DBONT_GEN_DIAG_H
#define DBONT_GEN_DIAG_H

#include <stddef.h>
#include <stdio.h>

/* A place in an ontology file (or any file a message is about).  The diag
 * copies file when it records a message.  NULL means no place (the whole
 * run); line 0 means the whole file. */
typedef struct dpos {
    const char *file;
    unsigned line;
    unsigned col;
} dpos;

typedef struct diag_entry {
    dpos pos;
    const char *kind; /* "error", "warning" or "note" */
    char *message;
    size_t group;     /* an error or warning and its notes share a group */
} diag_entry;

typedef struct diag {
    FILE *out;
    unsigned errors;
    unsigned warnings;
    diag_entry *v;
    size_t n, cap;
    size_t groups;
} diag;

void diag_init(diag *d, FILE *out);
void diag_error(diag *d, dpos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(diag *d, dpos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A note explains the error or warning before it ("first defined here"). */
void diag_note(diag *d, dpos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
unsigned diag_errors(const diag *d);

/* Prints everything collected (sorted) and empties the list. */
void diag_flush(diag *d);
/* Frees the list without printing. */
void diag_free(diag *d);

#endif
