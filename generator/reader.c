#include "reader.h"

#include <errno.h>
#include <limits.h>
#include <serd/serd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turtle_tokens.h"
#include "util.h"

/* A node as serd delivered it, kept until the file's tokens are known. */
typedef struct written {
    SerdType type;
    char *text;
} written;

/* A statement waiting for its source position. */
typedef struct pending {
    size_t triple;
    size_t end; /* bytes serd had consumed when it delivered the statement */
    SerdStatementFlags flags;
    written s, p, o;
} pending;

typedef struct file_reader {
    graph *g;
    diag *d;
    const char *name; /* display name, owned by the graph */
    FILE *f;
    buf text;         /* every byte serd has read so far */
    SerdEnv *env;
    pending *pend;
    size_t npend, pend_cap;
    unsigned errors;
    char blank_prefix[32];
} file_reader;

/* The set of files read so far (by real path) and those still to read. */
typedef struct file_queue {
    char **real; /* real paths, to read each file once */
    char **display;
    size_t n, cap;
} file_queue;

static size_t source_read(void *out, size_t size, size_t nmemb, void *stream)
{
    file_reader *fr = stream;
    size_t got = fread(out, size, nmemb, fr->f);
    buf_add(&fr->text, out, got * size);
    return got;
}

static int source_error(void *stream)
{
    file_reader *fr = stream;
    return ferror(fr->f);
}

static SerdStatus on_error(void *handle, const SerdError *e)
{
    file_reader *fr = handle;
    char msg[512];
    vsnprintf(msg, sizeof msg, e->fmt, *e->args);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    /* serd does not recover from a syntax error: what it reports after the
     * first one in a file follows from it, so only the first is shown. */
    dpos pos = {fr->name, e->line ? e->line : 1, e->col + 1};
    if (fr->errors++ == 0)
        diag_error(fr->d, pos, "syntax error: %s", msg);
    return SERD_SUCCESS;
}

static SerdStatus on_base(void *handle, const SerdNode *uri)
{
    file_reader *fr = handle;
    return serd_env_set_base_uri(fr->env, uri);
}

static SerdStatus on_prefix(void *handle, const SerdNode *name, const SerdNode *uri)
{
    file_reader *fr = handle;
    return serd_env_set_prefix(fr->env, name, uri);
}

/* Expands a CURIE or (possibly relative) URI node; NULL when a prefix is
 * undefined. */
static char *expand_iri(file_reader *fr, const SerdNode *n)
{
    SerdNode e = serd_env_expand_node(fr->env, n);
    if (!e.buf)
        return NULL;
    char *s = xstrdup((const char *)e.buf);
    serd_node_free(&e);
    return s;
}

/* Interns n; on an undefined prefix interns the CURIE text as is and sets
 * *bad so the caller can report it once positions are known. */
static node_id intern(file_reader *fr, const SerdNode *n, const SerdNode *dt, const SerdNode *lang,
                      bool *bad)
{
    const char *text = (const char *)n->buf;
    switch (n->type) {
    case SERD_BLANK:
        return graph_intern(fr->g, NODE_BLANK, text, NULL, NULL);
    case SERD_LITERAL: {
        char *dts = NULL;
        if (dt && dt->buf) {
            dts = expand_iri(fr, dt);
            if (!dts) {
                *bad = true;
                dts = xstrdup((const char *)dt->buf);
            }
        }
        node_id id = graph_intern(fr->g, NODE_LITERAL, text, dts,
                                  lang && lang->buf ? (const char *)lang->buf : NULL);
        free(dts);
        return id;
    }
    default: {
        char *iri = expand_iri(fr, n);
        if (!iri) {
            *bad = true;
            return graph_intern(fr->g, NODE_IRI, text, NULL, NULL);
        }
        node_id id = graph_iri(fr->g, iri);
        free(iri);
        return id;
    }
    }
}

static written keep(const SerdNode *n)
{
    written w = {n->type, xstrdup(n->buf ? (const char *)n->buf : "")};
    return w;
}

static SerdStatus on_statement(void *handle, SerdStatementFlags flags, const SerdNode *graph_node_,
                               const SerdNode *s, const SerdNode *p, const SerdNode *o,
                               const SerdNode *dt, const SerdNode *lang)
{
    file_reader *fr = handle;
    (void)graph_node_;
    bool bad_s = false, bad_p = false, bad_o = false;
    node_id si = intern(fr, s, NULL, NULL, &bad_s);
    node_id pi = intern(fr, p, NULL, NULL, &bad_p);
    node_id oi = intern(fr, o, dt, lang, &bad_o);
    GROW(fr->pend, fr->pend_cap, fr->npend);
    pending *pd = &fr->pend[fr->npend++];
    pd->triple = graph_add_triple(fr->g, si, pi, oi);
    pd->end = fr->text.len;
    pd->flags = flags;
    pd->s = keep(s);
    pd->p = keep(p);
    pd->o = keep(o);
    /* Undefined prefixes are flagged in the written type and reported once
     * the positions are known. */
    if (bad_s)
        pd->s.type = SERD_NOTHING;
    if (bad_p)
        pd->p.type = SERD_NOTHING;
    if (bad_o)
        pd->o.type = SERD_NOTHING;
    return SERD_SUCCESS;
}

/* ---- positions ---------------------------------------------------------- */

static bool tok_is(const file_reader *fr, const tok *t, tok_kind kind, const char *text)
{
    size_t n = strlen(text);
    return t->kind == kind && t->len == n && memcmp(fr->text.data + t->off, text, n) == 0;
}

static bool tok_is_punct(const file_reader *fr, const tok *t, char c)
{
    return t->kind == TOK_PUNCT && fr->text.data[t->off] == c;
}

/* Does token t spell node w as written? */
static bool tok_spells(const file_reader *fr, const tok *t, const written *w, SerdStatementFlags begin)
{
    const char *src = fr->text.data + t->off;
    switch (w->type) {
    case SERD_LITERAL:
        return t->kind == TOK_STRING || t->kind == TOK_NUMBER ||
               tok_is(fr, t, TOK_NAME, "true") || tok_is(fr, t, TOK_NAME, "false");
    case SERD_BLANK:
        if (begin & (SERD_LIST_O_BEGIN | SERD_LIST_S_BEGIN))
            return tok_is_punct(fr, t, '(');
        if (begin & (SERD_ANON_O_BEGIN | SERD_ANON_S_BEGIN | SERD_EMPTY_O | SERD_EMPTY_S))
            return tok_is_punct(fr, t, '[');
        {
            /* _:label; serd added our per-file prefix to the label */
            size_t plen = strlen(fr->blank_prefix);
            const char *label = w->text;
            if (strncmp(label, fr->blank_prefix, plen) == 0)
                label += plen;
            return t->kind == TOK_NAME && t->len == strlen(label) + 2 && memcmp(src, "_:", 2) == 0 &&
                   memcmp(src + 2, label, t->len - 2) == 0;
        }
    case SERD_URI:
        if (strcmp(w->text, RDF_NS "type") == 0 && tok_is(fr, t, TOK_NAME, "a"))
            return true;
        if (strcmp(w->text, RDF_NS "nil") == 0 && tok_is_punct(fr, t, '('))
            return true;
        return t->kind == TOK_IRI && t->len == strlen(w->text) + 2 &&
               memcmp(src + 1, w->text, t->len - 2) == 0;
    default: /* CURIE, or one whose prefix is undefined */
        return tok_is(fr, t, TOK_NAME, w->text);
    }
}

static dpos tok_pos(const file_reader *fr, const toklist *toks, size_t i)
{
    dpos p = {fr->name, toks->v[i].line, toks->v[i].col};
    return p;
}

/* Searches backwards from token `from` for a token spelling w, within the
 * current Turtle statement (a '.' ends the search, except at `from`).
 * Returns the index or (size_t)-1. */
static size_t find_back(const file_reader *fr, const toklist *toks, size_t from, size_t limit_end,
                        const written *w, SerdStatementFlags begin, size_t max_steps)
{
    size_t steps = 0;
    for (size_t j = from; j != (size_t)-1 && steps < max_steps; j--, steps++) {
        const tok *t = &toks->v[j];
        if (j != from && tok_is_punct(fr, t, '.'))
            return (size_t)-1;
        if (t->off + t->len <= limit_end && tok_spells(fr, t, w, begin))
            return j;
    }
    return (size_t)-1;
}

static dpos offset_pos(const file_reader *fr, size_t off)
{
    dpos p = {fr->name, 1, 1};
    for (size_t i = 0; i < off && i < fr->text.len; i++) {
        if (fr->text.data[i] == '\n') {
            p.line++;
            p.col = 1;
        } else {
            p.col++;
        }
    }
    return p;
}

/* Gives every statement of the file its positions, and reports undefined
 * prefixes at them. */
static void resolve_positions(file_reader *fr, dpos *blank_pos, size_t nblank)
{
    toklist toks = {0};
    turtle_tokenize(fr->text.data ? fr->text.data : "", fr->text.len, &toks);
    for (size_t i = 0; i < fr->npend; i++) {
        pending *pd = &fr->pend[i];
        triple *t = &fr->g->triples[pd->triple];
        size_t k = toklist_before(&toks, pd->end);
        dpos fallback = offset_pos(fr, pd->end);
        SerdStatementFlags obegin = pd->flags & (SERD_LIST_O_BEGIN | SERD_ANON_O_BEGIN | SERD_EMPTY_O);
        SerdStatementFlags sbegin = pd->flags & (SERD_LIST_S_BEGIN | SERD_ANON_S_BEGIN | SERD_EMPTY_S);
        size_t oi = k == (size_t)-1 ? k : find_back(fr, &toks, k, pd->end, &pd->o, obegin, 64);
        t->opos = oi == (size_t)-1 ? fallback : tok_pos(fr, &toks, oi);
        size_t from = oi == (size_t)-1 ? k : oi - 1;
        size_t pi = from == (size_t)-1 ? from : find_back(fr, &toks, from, pd->end, &pd->p, 0, 100000);
        t->ppos = pi == (size_t)-1 ? t->opos : tok_pos(fr, &toks, pi);
        /* Blank subjects have no token of their own: use where they were
         * opened (recorded when they appeared as an object). */
        const gnode *sn = graph_node(fr->g, t->s);
        if (sn->kind == NODE_BLANK && t->s < nblank && blank_pos[t->s].file && !sbegin) {
            t->spos = blank_pos[t->s];
        } else {
            size_t sfrom = pi == (size_t)-1 ? from : pi - 1;
            size_t si = sfrom == (size_t)-1 ? sfrom
                                             : find_back(fr, &toks, sfrom, pd->end, &pd->s, sbegin, 100000);
            t->spos = si == (size_t)-1 ? t->ppos : tok_pos(fr, &toks, si);
        }
        const gnode *on = graph_node(fr->g, t->o);
        if (on->kind == NODE_BLANK && t->o < nblank && !blank_pos[t->o].file)
            blank_pos[t->o] = t->opos;

        if (pd->s.type == SERD_NOTHING)
            diag_error(fr->d, t->spos, "undefined prefix in '%s' (add an @prefix line)", pd->s.text);
        if (pd->p.type == SERD_NOTHING)
            diag_error(fr->d, t->ppos, "undefined prefix in '%s' (add an @prefix line)", pd->p.text);
        if (pd->o.type == SERD_NOTHING)
            diag_error(fr->d, t->opos, "undefined prefix in '%s' (add an @prefix line)",
                       on->kind == NODE_LITERAL ? on->datatype : pd->o.text);
        if (pd->s.type == SERD_NOTHING || pd->p.type == SERD_NOTHING || pd->o.type == SERD_NOTHING)
            fr->errors++;
    }
    toklist_free(&toks);
}

static void free_pending(file_reader *fr)
{
    for (size_t i = 0; i < fr->npend; i++) {
        free(fr->pend[i].s.text);
        free(fr->pend[i].p.text);
        free(fr->pend[i].o.text);
    }
    free(fr->pend);
    fr->pend = NULL;
    fr->npend = fr->pend_cap = 0;
}

/* ---- files and imports -------------------------------------------------- */

static bool queue_add(file_queue *q, const char *real, const char *display)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->real[i], real) == 0)
            return false;
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 8;
        q->real = xrealloc(q->real, q->cap * sizeof *q->real);
        q->display = xrealloc(q->display, q->cap * sizeof *q->display);
    }
    q->real[q->n] = xstrdup(real);
    q->display[q->n] = xstrdup(display);
    q->n++;
    return true;
}

/* A short name for an imported file: relative to the working directory
 * when it is below it. */
static char *display_name(const char *real)
{
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd)) {
        size_t n = strlen(cwd);
        if (strncmp(real, cwd, n) == 0 && real[n] == '/')
            return xstrdup(real + n + 1);
    }
    return xstrdup(real);
}

/* Queues the local files that the file's owl:imports triples name. */
static void queue_imports(graph *g, diag *d, file_queue *q, size_t first_triple)
{
    node_id imports = graph_iri(g, OWL_NS "imports");
    for (size_t i = first_triple; i < g->ntriples; i++) {
        const triple *t = &g->triples[i];
        if (t->p != imports)
            continue;
        const gnode *o = graph_node(g, t->o);
        if (o->kind != NODE_IRI || strncmp(o->value, "file:", 5) != 0) {
            diag_error(d, t->opos, "owl:imports of '%s': only local files can be imported", o->value);
            continue;
        }
        uint8_t *path = serd_file_uri_parse((const uint8_t *)o->value, NULL);
        char real[PATH_MAX];
        if (!path || !realpath((const char *)path, real)) {
            int e = errno;
            char *shown = path ? display_name((const char *)path) : xstrdup(o->value);
            diag_error(d, t->opos, "owl:imports: cannot open '%s': %s", shown, strerror(e));
            free(shown);
        } else {
            char *shown = display_name(real);
            queue_add(q, real, shown);
            free(shown);
        }
        serd_free(path);
    }
}

static bool read_one(graph *g, diag *d, file_queue *q, size_t index, dpos *(*blank_pos), size_t *nblank)
{
    file_reader fr;
    memset(&fr, 0, sizeof fr);
    fr.g = g;
    fr.d = d;
    fr.name = graph_add_file(g, q->display[index]);
    buf_init(&fr.text);
    fr.f = fopen(q->real[index], "rb");
    if (!fr.f) {
        dpos p = {fr.name, 0, 0};
        diag_error(d, p, "cannot open: %s", strerror(errno));
        return false;
    }
    SerdNode base = serd_node_new_file_uri((const uint8_t *)q->real[index], NULL, NULL, true);
    fr.env = serd_env_new(&base);
    SerdReader *r = serd_reader_new(SERD_TURTLE, &fr, NULL, on_base, on_prefix, on_statement, NULL);
    serd_reader_set_strict(r, true);
    serd_reader_set_error_sink(r, on_error, &fr);
    snprintf(fr.blank_prefix, sizeof fr.blank_prefix, "f%zu_", index + 1);
    serd_reader_add_blank_prefix(r, (const uint8_t *)fr.blank_prefix);

    size_t first_triple = g->ntriples;
    /* One byte per read: the byte count at each statement locates it. */
    SerdStatus st = serd_reader_read_source(r, source_read, source_error, &fr,
                                            (const uint8_t *)fr.name, 1);
    /* An empty file is not a syntax error (serd calls it a failure); the
     * model checks report an ontology without tables. */
    if (st == SERD_FAILURE && fr.npend == 0)
        st = SERD_SUCCESS;
    if (st != SERD_SUCCESS && fr.errors == 0) {
        dpos p = offset_pos(&fr, fr.text.len);
        diag_error(d, p, "syntax error: %s", serd_strerror(st));
        fr.errors++;
    }
    if (ferror(fr.f)) {
        dpos p = {fr.name, 0, 0};
        diag_error(d, p, "read error: %s", strerror(errno));
        fr.errors++;
    }
    if (g->nnodes > *nblank) {
        *blank_pos = xrealloc(*blank_pos, g->nnodes * sizeof **blank_pos);
        memset(*blank_pos + *nblank, 0, (g->nnodes - *nblank) * sizeof **blank_pos);
        *nblank = g->nnodes;
    }
    resolve_positions(&fr, *blank_pos, *nblank);
    if (fr.errors == 0)
        queue_imports(g, d, q, first_triple);

    free_pending(&fr);
    serd_reader_free(r);
    serd_env_free(fr.env);
    serd_node_free(&base);
    fclose(fr.f);
    buf_free(&fr.text);
    return fr.errors == 0;
}

bool reader_read(graph *g, diag *d, char *const *files, size_t nfiles)
{
    file_queue q = {0};
    bool ok = true;
    for (size_t i = 0; i < nfiles; i++) {
        char real[PATH_MAX];
        if (!realpath(files[i], real)) {
            dpos p = {files[i], 0, 0};
            diag_error(d, p, "cannot open: %s", strerror(errno));
            ok = false;
            continue;
        }
        queue_add(&q, real, files[i]);
    }
    dpos *blank_pos = NULL;
    size_t nblank = 0;
    unsigned before = diag_errors(d);
    for (size_t i = 0; i < q.n; i++)
        if (!read_one(g, d, &q, i, &blank_pos, &nblank))
            ok = false;
    if (diag_errors(d) != before)
        ok = false;
    for (size_t i = 0; i < q.n; i++) {
        free(q.real[i]);
        free(q.display[i]);
    }
    free(q.real);
    free(q.display);
    free(blank_pos);
    graph_index(g);
    return ok;
}
