/*
 * evolve.h: what the migrations folder needs for the current ontology.
 *
 * Migrations are history, not derived output: dbont-gen never rewrites a
 * migration that exists.  For an empty (or missing) folder it plans the
 * initial migration and the snapshot; for a folder whose snapshot matches
 * the ontology it plans nothing.  A folder whose snapshot differs from
 * the ontology is an error for now (turning a change into a new migration
 * is the schema evolution work), and nothing is touched.
 */
#ifndef DBONT_GEN_EVOLVE_H
#define DBONT_GEN_EVOLVE_H

#include <stdbool.h>

#include "diag.h"
#include "model.h"

typedef struct migration_plan {
    char *migration_file; /* base name of the migration to write, or NULL */
    char *snapshot;       /* snapshot file content to write, or NULL */
} migration_plan;

bool evolve_plan(const char *mdir, const model *m, const char *prefix, const char *version,
                 const char *sources, migration_plan *plan, diag *d);
void migration_plan_free(migration_plan *p);

/* True for names like 0001_blog.sql: 4 or more digits, '_', a name of
 * letters, digits and '_', ".sql". */
bool evolve_is_migration_name(const char *name);

#endif
