#include "graph.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static uint64_t hash_str(uint64_t h, const char *s)
{
    if (!s)
        return h * 31 + 7;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h ^ 0xff;
}

static uint64_t node_hash(node_kind kind, const char *value, const char *datatype, const char *lang)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325) ^ (uint64_t)kind;
    h = hash_str(h, value);
    h = hash_str(h, datatype);
    return hash_str(h, lang);
}

static bool str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

void graph_init(graph *g)
{
    memset(g, 0, sizeof *g);
    g->rdf_type = graph_iri(g, RDF_NS "type");
    g->rdf_first = graph_iri(g, RDF_NS "first");
    g->rdf_rest = graph_iri(g, RDF_NS "rest");
    g->rdf_nil = graph_iri(g, RDF_NS "nil");
}

void graph_free(graph *g)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        free(g->nodes[i].value);
        free(g->nodes[i].datatype);
        free(g->nodes[i].lang);
    }
    free(g->nodes);
    free(g->slots);
    free(g->triples);
    for (size_t i = 0; i < g->nfiles; i++)
        free(g->files[i]);
    free(g->files);
    free(g->by_subject);
    free(g->subject_start);
    free(g->subject_count);
    memset(g, 0, sizeof *g);
}

static void rehash(graph *g)
{
    size_t n = g->nslots ? g->nslots * 2 : 256;
    uint32_t *slots = xmalloc(n * sizeof *slots);
    for (size_t i = 0; i < n; i++)
        slots[i] = NO_NODE;
    for (size_t id = 0; id < g->nnodes; id++) {
        const gnode *nd = &g->nodes[id];
        size_t i = node_hash(nd->kind, nd->value, nd->datatype, nd->lang) & (n - 1);
        while (slots[i] != NO_NODE)
            i = (i + 1) & (n - 1);
        slots[i] = (uint32_t)id;
    }
    free(g->slots);
    g->slots = slots;
    g->nslots = n;
}

node_id graph_intern(graph *g, node_kind kind, const char *value, const char *datatype,
                     const char *lang)
{
    if ((g->nnodes + 1) * 2 > g->nslots)
        rehash(g);
    size_t i = node_hash(kind, value, datatype, lang) & (g->nslots - 1);
    while (g->slots[i] != NO_NODE) {
        const gnode *nd = &g->nodes[g->slots[i]];
        if (nd->kind == kind && str_eq(nd->value, value) && str_eq(nd->datatype, datatype) &&
            str_eq(nd->lang, lang))
            return g->slots[i];
        i = (i + 1) & (g->nslots - 1);
    }
    GROW(g->nodes, g->nodes_cap, g->nnodes);
    gnode *nd = &g->nodes[g->nnodes];
    nd->kind = kind;
    nd->value = xstrdup(value);
    nd->datatype = datatype ? xstrdup(datatype) : NULL;
    nd->lang = lang ? xstrdup(lang) : NULL;
    g->slots[i] = (uint32_t)g->nnodes;
    return (node_id)g->nnodes++;
}

node_id graph_iri(graph *g, const char *iri)
{
    return graph_intern(g, NODE_IRI, iri, NULL, NULL);
}

node_id graph_find_iri(const graph *g, const char *iri)
{
    if (!g->nslots)
        return NO_NODE;
    size_t i = node_hash(NODE_IRI, iri, NULL, NULL) & (g->nslots - 1);
    while (g->slots[i] != NO_NODE) {
        const gnode *nd = &g->nodes[g->slots[i]];
        if (nd->kind == NODE_IRI && strcmp(nd->value, iri) == 0 && !nd->datatype && !nd->lang)
            return g->slots[i];
        i = (i + 1) & (g->nslots - 1);
    }
    return NO_NODE;
}

const char *graph_add_file(graph *g, const char *name)
{
    GROW(g->files, g->files_cap, g->nfiles);
    g->files[g->nfiles] = xstrdup(name);
    return g->files[g->nfiles++];
}

size_t graph_add_triple(graph *g, node_id s, node_id p, node_id o)
{
    GROW(g->triples, g->triples_cap, g->ntriples);
    triple *t = &g->triples[g->ntriples];
    memset(t, 0, sizeof *t);
    t->s = s;
    t->p = p;
    t->o = o;
    return g->ntriples++;
}

const gnode *graph_node(const graph *g, node_id id)
{
    return &g->nodes[id];
}

void graph_index(graph *g)
{
    free(g->by_subject);
    free(g->subject_start);
    free(g->subject_count);
    g->subject_count = xcalloc(g->nnodes, sizeof *g->subject_count);
    g->subject_start = xcalloc(g->nnodes, sizeof *g->subject_start);
    g->by_subject = xmalloc(g->ntriples * sizeof *g->by_subject);
    for (size_t i = 0; i < g->ntriples; i++)
        g->subject_count[g->triples[i].s]++;
    size_t at = 0;
    for (size_t id = 0; id < g->nnodes; id++) {
        g->subject_start[id] = at;
        at += g->subject_count[id];
    }
    size_t *fill = xcalloc(g->nnodes, sizeof *fill);
    for (size_t i = 0; i < g->ntriples; i++) {
        node_id s = g->triples[i].s;
        g->by_subject[g->subject_start[s] + fill[s]++] = (uint32_t)i;
    }
    free(fill);
}

size_t graph_subject(const graph *g, node_id s, const uint32_t **idx)
{
    if (s >= g->nnodes || !g->subject_count) {
        *idx = NULL;
        return 0;
    }
    *idx = g->by_subject + g->subject_start[s];
    return g->subject_count[s];
}

/* The single object of (s, p); NO_NODE when missing, and *count says how
 * many there were. */
static node_id only_object(const graph *g, node_id s, node_id p, size_t *count, dpos *pos)
{
    const uint32_t *idx;
    size_t n = graph_subject(g, s, &idx);
    node_id o = NO_NODE;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        const triple *t = &g->triples[idx[i]];
        if (t->p == p) {
            if (*count == 0) {
                o = t->o;
                *pos = t->opos;
            }
            (*count)++;
        }
    }
    return o;
}

bool graph_list(const graph *g, node_id head, dpos where, diag *d, node_id **items, dpos **pos,
                size_t *n)
{
    size_t cap = 0;
    *items = NULL;
    *pos = NULL;
    *n = 0;
    size_t steps = 0;
    for (node_id cur = head; cur != g->rdf_nil;) {
        size_t nfirst, nrest;
        dpos ipos = where, rpos = where;
        node_id first = only_object(g, cur, g->rdf_first, &nfirst, &ipos);
        node_id rest = only_object(g, cur, g->rdf_rest, &nrest, &rpos);
        if (nfirst != 1 || nrest != 1 || steps > g->ntriples) {
            diag_error(d, where, "malformed RDF collection (a list node needs exactly one "
                                 "rdf:first and one rdf:rest, and the list must end in rdf:nil)");
            free(*items);
            free(*pos);
            *items = NULL;
            *pos = NULL;
            *n = 0;
            return false;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *items = xrealloc(*items, cap * sizeof **items);
            *pos = xrealloc(*pos, cap * sizeof **pos);
        }
        (*items)[*n] = first;
        (*pos)[*n] = ipos;
        (*n)++;
        cur = rest;
        steps++;
    }
    return true;
}

bool graph_is_xsd(const graph *g, node_id id, const char *xsd_local)
{
    const gnode *nd = graph_node(g, id);
    if (nd->kind != NODE_LITERAL || !nd->datatype)
        return false;
    size_t n = strlen(XSD_NS);
    return strncmp(nd->datatype, XSD_NS, n) == 0 && strcmp(nd->datatype + n, xsd_local) == 0;
}
