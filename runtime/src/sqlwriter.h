/*
 * sqlwriter.h: composing statement text in two passes without a growing
 * buffer.  The first pass runs with buf NULL and only counts; the caller
 * allocates n + 1 bytes and runs the same code again to fill them.  Used
 * for the statements libdbont composes from generator-made fragments
 * (insert variants, filters).
 */
#ifndef DBONT_SQLWRITER_H
#define DBONT_SQLWRITER_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct sqlwriter {
    char *buf; /* NULL: count only */
    size_t n;  /* bytes written (or counted) so far */
} sqlwriter;

static inline void sqlw_put(sqlwriter *w, const char *s)
{
    size_t len = strlen(s);
    if (w->buf != NULL)
        memcpy(w->buf + w->n, s, len);
    w->n += len;
}

/* "$number" */
static inline void sqlw_placeholder(sqlwriter *w, size_t number)
{
    char tmp[24];
    snprintf(tmp, sizeof tmp, "$%zu", number);
    sqlw_put(w, tmp);
}

#endif
