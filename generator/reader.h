/*
 * reader.h: ontology files (Turtle) into the graph, with serd.
 *
 * serd runs in strict mode on each file (lax mode returns success after
 * syntax errors) and every error its error sink reports is counted.
 * Prefixed names are expanded through a SerdEnv (an undefined prefix is an
 * error: serd itself does not report it), relative IRIs are resolved
 * against the file, and `owl:imports` of a local file reads that file too.
 * Every triple gets the file, line and column of its subject, predicate and
 * object (see turtle_tokens.h for how).
 */
#ifndef DBONT_GEN_READER_H
#define DBONT_GEN_READER_H

#include "diag.h"
#include "graph.h"

/* Reads the files (and what they import) into g.  Returns false when any
 * file could not be read or had a syntax error; all such errors are
 * reported through d. */
bool reader_read(graph *g, diag *d, char *const *files, size_t nfiles);

#endif
