/*
 * cached.h: what a db:cacheable query needs beyond its plan
 * (dbont/cache.h): its TTL, whether its key carries the tenant, its
 * events and the identity of its stored form; and the checks of its
 * cache terms.
 *
 * Ownership: a cache_plan owns its strings; cache_plans_free releases them.
 */
#ifndef DBONT_GEN_CACHED_H
#define DBONT_GEN_CACHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "model.h"
#include "query_plan.h"

typedef struct cache_plan {
    bool cached;           /* db:cacheable true */
    unsigned ttl_s;        /* db:cacheTTL, else cache:ttl, else 300 */
    bool tenant_scoped;    /* reads a multi-tenant table */
    uint64_t schema_hash;  /* dbont-gen's version, the SQL and the result
                            * columns: a stored entry of another is a miss */
} cache_plan;

/* One cache_plan per plan (*out, n of them).  Checks each cacheable
 * query's db:cacheKeyTemplate (every {{name}} a parameter of the query)
 * and cache:invalidateOn ("entity:action"); reports at their places and
 * returns false. */
bool cache_plans_build(const model *m, const qplan *plans, size_t n, const char *version, cache_plan **out,
                       diag *d);

/* The C name part of a warm-up for trigger event e ("app:startup" ->
 * "app_startup"; caller frees). */
char *cache_warm_name(const char *event);

/* The example value of parameter i of p (db:params, then db:havingParams),
 * or NULL. */
const mvalue *cache_example(const qplan *p, size_t i);

/* Checks the cache:Patterns: a cache:triggerEvent, distinct warm-up names,
 * queries that are db:cacheable with an example value of a type a C
 * literal can give for every parameter. */
bool cache_check_warmups(const model *m, const qplan *plans, size_t n, const cache_plan *cp, diag *d);

/* The TTL of the model's cache strategy (cache:ttl), or 300. */
unsigned cache_default_ttl(const model *m);

#endif
