#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void diag_init(diag *d, FILE *out)
{
    memset(d, 0, sizeof *d);
    d->out = out;
}

static void add(diag *d, dpos pos, const char *kind, const char *fmt, va_list ap)
{
    buf b;
    buf_init(&b);
    buf_vprintf(&b, fmt, ap);
    if (strcmp(kind, "note") != 0 || d->groups == 0)
        d->groups++;
    GROW(d->v, d->cap, d->n);
    /* The entry keeps its own copy of the file name: places are often
     * built for one message (a path in the migrations folder) and freed
     * before the list is printed. */
    if (pos.file)
        pos.file = xstrdup(pos.file);
    d->v[d->n].pos = pos;
    d->v[d->n].kind = kind;
    d->v[d->n].message = buf_take(&b);
    d->v[d->n].group = d->groups - 1;
    d->n++;
}

void diag_error(diag *d, dpos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, pos, "error", fmt, ap);
    va_end(ap);
    d->errors++;
}

void diag_warning(diag *d, dpos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, pos, "warning", fmt, ap);
    va_end(ap);
    d->warnings++;
}

void diag_note(diag *d, dpos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, pos, "note", fmt, ap);
    va_end(ap);
}

unsigned diag_errors(const diag *d)
{
    return d->errors;
}

/* Sorting key of a group: its first entry's place, with files ranked by
 * first appearance. */
typedef struct group_key {
    size_t group;
    size_t file_rank;
    unsigned line, col;
} group_key;

static int by_place(const void *a, const void *b)
{
    const group_key *x = a, *y = b;
    if (x->file_rank != y->file_rank)
        return x->file_rank < y->file_rank ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->group < y->group ? -1 : x->group > y->group;
}

static void print(const diag *d, const diag_entry *e)
{
    if (e->pos.file && e->pos.line)
        fprintf(d->out, "%s:%u:%u: %s: %s\n", e->pos.file, e->pos.line, e->pos.col ? e->pos.col : 1,
                e->kind, e->message);
    else if (e->pos.file)
        fprintf(d->out, "%s: %s: %s\n", e->pos.file, e->kind, e->message);
    else
        fprintf(d->out, "dbont-gen: %s: %s\n", e->kind, e->message);
}

void diag_flush(diag *d)
{
    size_t ngroups = d->groups;
    group_key *keys = xcalloc(ngroups ? ngroups : 1, sizeof *keys);
    const char **files = xcalloc(d->n ? d->n : 1, sizeof *files);
    size_t nfiles = 0;
    for (size_t g = 0; g < ngroups; g++)
        keys[g].group = g;
    for (size_t i = 0; i < d->n; i++) {
        const diag_entry *e = &d->v[i];
        size_t rank = 0;
        if (e->pos.file) {
            while (rank < nfiles && strcmp(files[rank], e->pos.file) != 0)
                rank++;
            if (rank == nfiles)
                files[nfiles++] = e->pos.file;
            rank++; /* rank 0: no file, printed first */
        }
        if (i == 0 || d->v[i - 1].group != e->group) {
            keys[e->group].file_rank = rank;
            keys[e->group].line = e->pos.line;
            keys[e->group].col = e->pos.col;
        }
    }
    qsort(keys, ngroups, sizeof *keys, by_place);
    /* Entries of a group are consecutive: print each group in sorted order. */
    size_t *first = xcalloc(ngroups ? ngroups : 1, sizeof *first);
    for (size_t i = d->n; i-- > 0;)
        first[d->v[i].group] = i;
    for (size_t k = 0; k < ngroups; k++)
        for (size_t i = first[keys[k].group]; i < d->n && d->v[i].group == keys[k].group; i++)
            print(d, &d->v[i]);
    fflush(d->out);
    free(first);
    free(files);
    free(keys);
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].message);
        free((char *)d->v[i].pos.file);
    }
    d->n = 0;
    d->groups = 0;
}

void diag_free(diag *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].message);
        free((char *)d->v[i].pos.file);
    }
    free(d->v);
    d->v = NULL;
    d->n = d->cap = d->groups = 0;
}
