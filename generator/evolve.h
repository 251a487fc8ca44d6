/*
 * evolve.h: what the migrations folder needs for the current ontology.
 *
 * Migrations are history, not derived output: dbont-gen never rewrites a
 * migration that exists.  It reads the folder's snapshot (the schema its
 * migrations produce), compares it with the ontology's schema, and when
 * they differ plans one new numbered migration with exactly the
 * statements that take the old schema to the new one, its reverse (the
 * .down.sql file) and the new snapshot.  An empty or missing folder gets
 * its first migration the same way (from an empty schema).
 *
 * Changes that destroy data are refused unless allowed; the folder must be
 * consistent (a snapshot that names the newest migration, no two
 * migrations with one number).
 */
#ifndef DBONT_GEN_EVOLVE_H
#define DBONT_GEN_EVOLVE_H

#include <stdbool.h>

#include "diag.h"
#include "diff.h"
#include "model.h"
#include "schema.h"

typedef struct migration_plan {
    char *migration_file; /* base name of the new migration, or NULL: up to date */
    char *down_file;      /* its reverse */
    char *up_intro;       /* the comment lines that open each file */
    char *down_intro;
    changes up, down;
    char *snapshot;       /* the new snapshot file's content */
    schema from, to, result; /* the changes point into these */
} migration_plan;

/*
 * Plans the migrations folder mdir for model m.  With allow_destructive
 * false, changes that destroy data are reported (one error each, at the
 * ontology place when there is one) and nothing is planned.
 */
bool evolve_plan(const char *mdir, const model *m, const char *prefix, const char *version,
                 const char *sources, bool allow_destructive, migration_plan *plan, diag *d);
void migration_plan_free(migration_plan *p);

/* The text of mdir's migrations (not their reverses) in version order,
 * one after the other: what creates the schema they describe (caller
 * frees).  NULL, reported, when the folder or a file cannot be read. */
char *evolve_migrations_sql(const char *mdir, diag *d);

/* True for names like 0001_blog.sql: 4 or more digits, '_', a name of
 * letters, digits and '_', ".sql". */
bool evolve_is_migration_name(const char *name);

#endif
