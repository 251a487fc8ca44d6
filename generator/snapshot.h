/*
 * snapshot.h: the schema snapshot kept in the migrations folder.
 *
 * The snapshot records, as diff-friendly text, the schema that the
 * migrations in its folder produce, so that dbont-gen can tell offline
 * what a new migration must change.  Format (docs/migrations.md):
 *
 *   # comments
 *   migration 0002_add_users_bio.sql
 *
 *   table users
 *     column id serial not-null
 *     column bio text default 'none'
 *     primary-key users_pkey (id)
 *     unique users_email_key (email)
 *     foreign-key posts_user_id_fkey (user_id) references users (id) on-delete cascade
 *
 * Tables are sorted by name; columns are in the table's physical order
 * (the order the migrations created them in); constraints come primary
 * key, unique, foreign keys, each sorted by name.  A default is the rest
 * of its line, with newlines written \n and backslashes \\.
 */
#ifndef DBONT_GEN_SNAPSHOT_H
#define DBONT_GEN_SNAPSHOT_H

#include "diag.h"
#include "schema.h"

#define SNAPSHOT_FILE "schema.snapshot"

/* The schema lines of s (caller frees). */
char *snapshot_body(const schema *s);

/* The whole file: a header naming the last migration, then the body
 * (caller frees). */
char *snapshot_file(const char *body, const char *version, const char *sources,
                    const char *last_migration);

/* Reads a snapshot file's text into out.  Reports malformed lines at
 * file:line through d and returns false.  *last_migration (when not NULL)
 * receives the migration line's file name, or NULL (caller frees). */
bool snapshot_parse(const char *text, const char *file, schema *out, char **last_migration, diag *d);

#endif
