/*
 * outfiles.h: writing the generated files.
 *
 * All content is computed before anything is written.  A file whose
 * content is unchanged is left alone (its mtime stays, so builds don't
 * recompile); a changed file is replaced atomically (written beside it,
 * then renamed).  A file marked history (a migration) is never replaced:
 * if it exists with other content, nothing at all is written.
 */
#ifndef DBONT_GEN_OUTFILES_H
#define DBONT_GEN_OUTFILES_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

typedef struct outfile {
    char *path;
    const char *text;
    bool history;
} outfile;

/* Writes the files, creating their folders.  Returns false (reported)
 * on any failure. */
bool outfiles_write(const outfile *files, size_t n, diag *d);

#endif
