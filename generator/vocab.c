#include "vocab.h"

#include <stdio.h>
#include <string.h>

#define T(ns, local, kind, ctx) {ns local, kind, ctx}
#define P(ns, local, ctx) T(ns, local, TERM_PROPERTY, ctx)

static const vocab_term terms[] = {
    /* Classes and individuals */
    T(DB_NS, "Table", TERM_CLASS, 0),
    T(DB_NS, "Query", TERM_CLASS, 0),
    T(MT_NS, "Pattern", TERM_CLASS, 0),
    T(MT_NS, "TenantKey", TERM_INDIVIDUAL, 0),
    T(CACHE_NS, "CacheStrategy", TERM_CLASS, 0),
    T(CACHE_NS, "Pattern", TERM_CLASS, 0),
    T(SHARD_NS, "Strategy", TERM_CLASS, 0),
    T(IDX_NS, "Index", TERM_CLASS, 0),

    /* Tables and columns */
    P(DB_NS, "tableName", CTX_TABLE),
    P(DB_NS, "columns", CTX_TABLE),
    P(DB_NS, "entityName", CTX_TABLE),
    P(DB_NS, "formerName", CTX_TABLE | CTX_COLUMN),
    P(DB_NS, "name", CTX_COLUMN),
    P(DB_NS, "type", CTX_COLUMN | CTX_JOIN),
    P(DB_NS, "nullable", CTX_COLUMN),
    P(DB_NS, "primaryKey", CTX_COLUMN | CTX_TABLE),
    P(DB_NS, "unique", CTX_COLUMN | CTX_TABLE),
    P(DB_NS, "default", CTX_COLUMN),
    P(DB_NS, "references", CTX_COLUMN),
    P(DB_NS, "referencesColumn", CTX_COLUMN),
    P(DB_NS, "onDelete", CTX_COLUMN),
    P(DB_NS, "partOf", CTX_COLUMN),

    /* Multi-tenancy */
    P(DB_NS, "multiTenant", CTX_TABLE),
    P(DB_NS, "tenantIdColumn", CTX_TABLE),
    P(DB_NS, "rls", CTX_TABLE),
    P(DB_NS, "rlsPolicies", CTX_TABLE),
    P(DB_NS, "policyName", CTX_POLICY),
    P(DB_NS, "command", CTX_POLICY),
    P(DB_NS, "using", CTX_POLICY),
    P(DB_NS, "withCheck", CTX_POLICY),
    P(MT_NS, "isolationLevel", CTX_MT_PATTERN),
    P(MT_NS, "storageStrategy", CTX_MT_PATTERN),
    P(MT_NS, "tenantSetting", CTX_MT_PATTERN),
    P(MT_NS, "appRole", CTX_MT_PATTERN),

    /* Queries */
    P(DB_NS, "from", CTX_QUERY),
    P(DB_NS, "where", CTX_QUERY),
    P(DB_NS, "condition", CTX_WHERE),
    P(DB_NS, "params", CTX_WHERE),
    P(DB_NS, "select", CTX_QUERY),
    P(DB_NS, "join", CTX_QUERY),
    P(DB_NS, "table", CTX_JOIN),
    P(DB_NS, "on", CTX_JOIN),
    P(DB_NS, "groupBy", CTX_QUERY),
    P(DB_NS, "having", CTX_QUERY),
    P(DB_NS, "havingParams", CTX_QUERY),
    P(DB_NS, "orderBy", CTX_QUERY),
    P(DB_NS, "limit", CTX_QUERY),
    P(DB_NS, "returns", CTX_QUERY),
    P(DB_NS, "paramNames", CTX_QUERY),
    P(DB_NS, "resultNotNull", CTX_QUERY),
    P(DB_NS, "resultNullable", CTX_QUERY),
    P(DB_NS, "cacheable", CTX_QUERY),
    P(DB_NS, "cacheKeyTemplate", CTX_QUERY),
    P(DB_NS, "cacheTTL", CTX_QUERY),

    /* Caching */
    P(CACHE_NS, "backend", CTX_CACHE_STRATEGY),
    P(CACHE_NS, "ttl", CTX_CACHE_STRATEGY),
    P(CACHE_NS, "invalidationStrategy", CTX_CACHE_STRATEGY),
    P(CACHE_NS, "invalidateOn", CTX_QUERY),
    P(CACHE_NS, "triggerEvent", CTX_CACHE_PATTERN),
    P(CACHE_NS, "queries", CTX_CACHE_PATTERN),

    /* Sharding and partitioning */
    P(SHARD_NS, "table", CTX_SHARD),
    P(SHARD_NS, "algorithm", CTX_SHARD),
    P(SHARD_NS, "key", CTX_SHARD),
    P(SHARD_NS, "shardCount", CTX_SHARD),
    P(SHARD_NS, "replicationFactor", CTX_SHARD),
    P(SHARD_NS, "rangeSize", CTX_SHARD),
    P(SHARD_NS, "hotDataWindow", CTX_SHARD),
    P(SHARD_NS, "periodsAhead", CTX_SHARD),

    /* Indexes */
    P(IDX_NS, "table", CTX_INDEX),
    P(IDX_NS, "columns", CTX_INDEX),
    P(IDX_NS, "unique", CTX_INDEX),
    P(IDX_NS, "type", CTX_INDEX),
    P(IDX_NS, "partialPredicate", CTX_INDEX),
    P(IDX_NS, "language", CTX_INDEX),
};

static const struct {
    const char *prefix;
    const char *iri;
} prefixes[] = {
    {"db", DB_NS},
    {"mt", MT_NS},
    {"cache", CACHE_NS},
    {"shard", SHARD_NS},
    {"idx", IDX_NS},
    {"rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"},
    {"xsd", "http://www.w3.org/2001/XMLSchema#"},
    {"owl", "http://www.w3.org/2002/07/owl#"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define OUR_NAMESPACES 5

static const char *namespace_of(const char *iri)
{
    for (unsigned i = 0; i < OUR_NAMESPACES; i++)
        if (strncmp(iri, prefixes[i].iri, strlen(prefixes[i].iri)) == 0)
            return prefixes[i].iri;
    return NULL;
}

bool vocab_is_ours(const char *iri)
{
    return namespace_of(iri) != NULL;
}

const vocab_term *vocab_lookup(const char *iri)
{
    for (unsigned i = 0; i < COUNT(terms); i++)
        if (strcmp(terms[i].iri, iri) == 0)
            return &terms[i];
    return NULL;
}

/* Edit distance, capped: we only care whether it is small. */
static unsigned distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return 99;
    unsigned row[64], prev[64];
    for (size_t j = 0; j <= m; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= n; i++) {
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= m; j++) {
            unsigned sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            unsigned del = prev[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, row, (m + 1) * sizeof row[0]);
    }
    return prev[m];
}

const char *vocab_suggest(const char *iri)
{
    const char *ns = namespace_of(iri);
    if (!ns)
        return NULL;
    const char *best = NULL;
    unsigned best_d = 3; /* suggest only within distance 2 */
    for (unsigned i = 0; i < COUNT(terms); i++) {
        if (strncmp(terms[i].iri, ns, strlen(ns)) != 0)
            continue;
        unsigned d = distance(iri + strlen(ns), terms[i].iri + strlen(ns));
        if (d < best_d) {
            best_d = d;
            best = terms[i].iri;
        }
    }
    return best;
}

static const char *const ctx_names[] = {
    "a db:Table",
    "a column (an item of db:columns)",
    "an RLS policy (an item of db:rlsPolicies)",
    "a db:Query",
    "a db:where node",
    "a db:join node",
    "an mt:Pattern",
    "a cache:CacheStrategy",
    "a cache:Pattern",
    "a shard:Strategy",
    "an idx:Index",
};

const char *vocab_ctx_name(vocab_ctx ctx)
{
    for (unsigned i = 0; i < COUNT(ctx_names); i++)
        if (ctx == (1u << i))
            return ctx_names[i];
    return "this node";
}

void vocab_describe_contexts(unsigned contexts, char *out, unsigned size)
{
    size_t used = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < COUNT(ctx_names); i++) {
        if (!(contexts & (1u << i)))
            continue;
        int n = snprintf(out + used, size - used, "%s%s", used ? " or " : "", ctx_names[i]);
        if (n < 0 || (size_t)n >= size - used)
            return;
        used += (size_t)n;
    }
}

const char *vocab_short(const char *iri, char *scratch, unsigned size)
{
    for (unsigned i = 0; i < COUNT(prefixes); i++) {
        size_t n = strlen(prefixes[i].iri);
        if (strncmp(iri, prefixes[i].iri, n) == 0 && iri[n]) {
            snprintf(scratch, size, "%s:%s", prefixes[i].prefix, iri + n);
            return scratch;
        }
    }
    return iri;
}
