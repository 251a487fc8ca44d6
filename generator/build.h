/*
 * build.h: graph -> model.
 *
 * Walks the subjects typed with a dbont class and reads their properties
 * into the model, checking the shape of each value (a string where a
 * string is expected, a list where a list is).  Every triple whose
 * predicate is in a dbont namespace must be read by some class: one that
 * is not is an unknown term (a typo), a term in the wrong place, or a
 * description without its `a db:Table` (or other class); all are errors.
 */
#ifndef DBONT_GEN_BUILD_H
#define DBONT_GEN_BUILD_H

#include "diag.h"
#include "graph.h"
#include "model.h"

/* Fills m from g; reports problems through d (returns false when any). */
bool build_model(const graph *g, diag *d, model *m);

#endif
