/*
 * readfile.h: a whole (small) text file into memory, for the readers of
 * configuration and snapshot files (shardconf.c, reshard_schema.c).
 *
 * Internal to libdbont.
 */
#ifndef DBONT_READFILE_H
#define DBONT_READFILE_H

#include <stddef.h>

#include "dbont/error.h"

/* The bytes of the file at path in *text (malloc'd, the caller frees it;
 * not NUL-terminated) and *len.  SQLSTATE 58030 with the path and the
 * system's reason when it cannot be read, 53200 out of memory. */
dbont_status dbont_read_file(const char *path, char **text, size_t *len, dbont_error *err);

#endif
