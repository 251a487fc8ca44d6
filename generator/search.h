/*
 * search.h: full-text search over a full-text index (idx:Index with
 * idx:language).
 *
 * The index holds the document
 *
 *   to_tsvector('english'::regconfig, coalesce(title, '') || ' ' || coalesce(content, ''))
 *
 * (coalesce: without it a NULL column makes the whole document NULL, and
 * the row unsearchable by its other columns).  PostgreSQL uses the index
 * only for a condition on that very expression, so the search is built
 * here from the same pieces as the index: `document @@ query`, ranked by
 * ts_rank, the query text read with websearch_to_tsquery (quoted phrases,
 * `or`, `-word`; it never fails on syntax).
 *
 * Under row-level security, as the application role, PostgreSQL will not
 * use the index for @@: the text search functions are not leakproof, so
 * the planner may not evaluate them before the policy, and an index scan
 * would do exactly that.  On a multi-tenant table whose only policy is
 * the tenant policy, the search is therefore a SECURITY DEFINER function
 * owned by a NOLOGIN role with BYPASSRLS (search_role_name) that applies
 * the tenant policy's condition itself, with a pinned search_path; the
 * application role may only execute it.  Elsewhere it is an ordinary
 * statement.  docs/full-text-search.md explains the trade-off.
 *
 * Ownership: every char * returned is the caller's to free.
 */
#ifndef DBONT_GEN_SEARCH_H
#define DBONT_GEN_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "model.h"
#include "query_plan.h"
#include "schema.h"

/* The document: to_tsvector('LANG'::regconfig, coalesce(a, '') || ...),
 * columns prefixed with "ALIAS." when alias is not NULL. */
char *search_document_sql(const char *language, char *const *cols, size_t ncols, const char *alias);

/* The role that owns the search functions: "<app_role>_search". */
char *search_role_name(const char *app_role);

/* The statements that create the search function of index x on table t
 * (whose schema has app_role), in order; *n of them. */
char **search_function_create(const stable *t, const sindex *x, const char *app_role, size_t *n);

/* "DROP FUNCTION IF EXISTS name(text, bigint)". */
char *search_function_drop(const sindex *x);

/* The statement that creates the search role (when missing) and checks
 * that it is what it must be: NOLOGIN, BYPASSRLS, and not a role the
 * application role belongs to. */
char *search_role_create(const char *app_role);

/* Appends a plan per full-text index of m to *plans (*n of them): the
 * typed C search function, (query text, row limit) -> rows and rank. */
void search_plans_add(model *m, qplan **plans, size_t *n);

#endif
