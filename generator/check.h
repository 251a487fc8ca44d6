/*
 * check.h: the semantic checks, and the names and orders derived from a
 * valid model.
 *
 * After check_model succeeds, every table and column has its SQL name, its
 * quoted SQL spelling and its C name; types are parsed; primary keys,
 * unique sets and references are resolved to column indexes; and the
 * constraints have their names.  Every problem is
 * reported at the ontology place that caused it.
 */
#ifndef DBONT_GEN_CHECK_H
#define DBONT_GEN_CHECK_H

#include "diag.h"
#include "model.h"

/* prefix is the C prefix of the generated symbols (to check for clashes).
 * first_file names the place of whole-ontology errors. */
bool check_model(model *m, diag *d, const char *prefix, const char *first_file);

#endif
