/*
 * emit.h: model -> m4 definitions for the skeletons.
 *
 * Each emitter computes every name, type and (escaped) string its skeleton
 * lays out and appends them to the definitions; see the comment at the top
 * of each skeleton for the macros and their arguments.
 */
#ifndef DBONT_GEN_EMIT_H
#define DBONT_GEN_EMIT_H

#include "diag.h"
#include "diff.h"
#include "model.h"
#include "query_plan.h"
#include "util.h"

typedef struct emit_info {
    const model *m;
    const char *prefix;      /* C prefix of every symbol */
    const char *version;     /* dbont-gen's version */
    const char *sources;     /* the ontology files' base names, ", "-separated */
    const char *header_name; /* e.g. "blog.h" */
    const qplan *plans;      /* the queries, typed */
    size_t nplans;
    const struct cache_plan *cache; /* per plan: its caching (cached.h) */
    const struct qshard *shards;    /* per plan: how it runs over shards (query_shard.h) */
} emit_info;

/* The C header and source (c-header.m4, c-source.m4). */
void emit_c(const emit_info *e, buf *defs);

/* Defines macro (d4_up_migration, d4_down_migration) as a migration of
 * the changes c, for migration.m4; as empty when file_name is NULL.
 * intro is comment text ("-- ...\n" lines) that opens the file. */
void emit_migration(const char *macro, const char *file_name, const char *intro, const changes *c, buf *defs);

/* A C string literal (with its quotes) for s (caller frees). */
char *c_string_literal(const char *s);

#endif
