/*
 * graph.h: the RDF graph read from the ontology files, with the source
 * place of every triple.
 *
 * Nodes are interned: equal nodes have equal ids, so the model builder
 * compares ids, not strings.  IRIs are stored expanded (prefixes applied,
 * relative IRIs resolved against their file).  Ownership: the graph owns
 * every node string, triple and file name; graph_free releases them all.
 */
#ifndef DBONT_GEN_GRAPH_H
#define DBONT_GEN_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define RDF_NS "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define XSD_NS "http://www.w3.org/2001/XMLSchema#"
#define OWL_NS "http://www.w3.org/2002/07/owl#"

typedef uint32_t node_id;
#define NO_NODE UINT32_MAX

typedef enum node_kind { NODE_IRI, NODE_BLANK, NODE_LITERAL } node_kind;

typedef struct gnode {
    node_kind kind;
    char *value;    /* IRI, blank label, or literal lexical form */
    char *datatype; /* literals: expanded datatype IRI, or NULL */
    char *lang;     /* literals: language tag, or NULL */
} gnode;

typedef struct triple {
    node_id s, p, o;
    dpos spos; /* the subject token (for blank nodes: where it was opened) */
    dpos ppos; /* the predicate token */
    dpos opos; /* the object token */
} triple;

typedef struct graph {
    gnode *nodes;
    size_t nnodes, nodes_cap;
    uint32_t *slots; /* intern hash table of node ids, open addressing */
    size_t nslots;

    triple *triples;
    size_t ntriples, triples_cap;

    char **files; /* file names as given, in reading order */
    size_t nfiles, files_cap;

    /* Subject index, built by graph_index(): triple indexes sorted by
     * subject (stable, so source order is kept within a subject). */
    uint32_t *by_subject;
    size_t *subject_start; /* per node id: first position in by_subject */
    size_t *subject_count;

    node_id rdf_type, rdf_first, rdf_rest, rdf_nil;
} graph;

void graph_init(graph *g);
void graph_free(graph *g);

node_id graph_intern(graph *g, node_kind kind, const char *value, const char *datatype,
                     const char *lang);
node_id graph_iri(graph *g, const char *iri);
/* The id of an existing IRI node, or NO_NODE. */
node_id graph_find_iri(const graph *g, const char *iri);
/* Returns the file name stored in the graph (the copy positions point at). */
const char *graph_add_file(graph *g, const char *name);
size_t graph_add_triple(graph *g, node_id s, node_id p, node_id o);

const gnode *graph_node(const graph *g, node_id id);

/* Builds the subject index; call once after all triples are added. */
void graph_index(graph *g);

/* The triples of subject s, as indexes into g->triples. */
size_t graph_subject(const graph *g, node_id s, const uint32_t **idx);

/*
 * Reads the RDF collection that starts at head (rdf:first/rdf:rest) into
 * *items and *pos (positions of the items; caller frees both).  Reports a
 * malformed collection (a node without exactly one rdf:first and rdf:rest,
 * or a cycle) at where and returns false.
 */
bool graph_list(const graph *g, node_id head, dpos where, diag *d, node_id **items, dpos **pos,
                size_t *n);

/* True when node is a literal of the given XSD datatype ("boolean", ...). */
bool graph_is_xsd(const graph *g, node_id id, const char *xsd_local);

#endif
