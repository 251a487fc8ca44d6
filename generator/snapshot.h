/*
 * snapshot.h: the schema snapshot kept in the migrations folder.
 *
 * The snapshot records, as diff-friendly text, the schema that the
 * migrations in its folder produce: one line per column and constraint,
 * tables sorted by name.  dbont-gen compares the ontology's schema with it
 * to know whether a new migration is needed (docs/migrations.md has the
 * format).
 */
#ifndef DBONT_GEN_SNAPSHOT_H
#define DBONT_GEN_SNAPSHOT_H

#include "model.h"

#define SNAPSHOT_FILE "schema.snapshot"

/* The schema lines for m (caller frees). */
char *snapshot_body(const model *m);

/* The whole file: a header naming the last migration, then the body
 * (caller frees). */
char *snapshot_file(const char *body, const char *version, const char *sources,
                    const char *last_migration);

/* The body of an existing snapshot file's text: everything but comment
 * lines and the "migration" line (caller frees). */
char *snapshot_body_of(const char *file_text);

#endif
