/*
 * m4.h: the m4 back end (the bison skeleton technique).
 *
 * dbont-gen computes every name, type and escaped string and writes them
 * as m4 definitions; m4 (GNU m4, run with -P so its builtins are m4_*)
 * expands the skeletons in the skeleton folder with them, and a small
 * post-pass decodes the escapes and splits the output into files.
 *
 * Quoting: the skeletons and definitions use « and » as m4 quotes, so C
 * and SQL text ([], '', ``) can be written in skeletons as is.  Values are
 * passed doubly quoted and escaped, so no text from the ontology can ever
 * be expanded as a macro or change the quoting:
 *     @ -> @a    « -> @l    » -> @r    $ -> @d    d4_ -> d4@u    m4_ -> m4@u
 * The post-pass turns these back and rejects any other '@' sequence, and
 * any "d4_"/"m4_" left in the output (an unexpanded macro in a skeleton).
 * A line "@output NAME@" starts the output file NAME.
 */
#ifndef DBONT_GEN_M4_H
#define DBONT_GEN_M4_H

#include <stdbool.h>

#include "diag.h"
#include "util.h"

/* Appends a value as a macro argument or definition body («« ... »»). */
void m4_leaf(buf *out, const char *value);

/* Appends a call `name(args)`: each of the nargs strings in args is either
 * a value (kinds[i] == 'v', written with m4_leaf) or already formed m4
 * text such as a sequence of calls (kinds[i] == 's', quoted once). */
void m4_call(buf *out, const char *name, const char *kinds, const char *const *args);

/* Appends `m4_define(«name», ««value»»)`. */
void m4_define_value(buf *defs, const char *name, const char *value);
/* Appends `m4_define(«name», «text»)` for m4 text (a sequence of calls). */
void m4_define_text(buf *defs, const char *name, const char *text);

typedef struct m4_output {
    char *name;
    char *text;
} m4_output;

typedef struct m4_outputs {
    m4_output *v;
    size_t n, cap;
} m4_outputs;

/*
 * Runs m4 on defs (definitions, without the leading quote setup) followed
 * by skeleton_dir/entry, and splits the output.  m4 is the program to run
 * (path or name).  Reports failures through d.
 */
bool m4_expand(const char *m4, const char *skeleton_dir, const char *entry, const char *defs,
               m4_outputs *out, diag *d);

/* The text of the output named name, or NULL. */
const char *m4_output_text(const m4_outputs *o, const char *name);
void m4_outputs_free(m4_outputs *o);

#endif
