#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "build.h"
#include "check.h"
#include "reader.h"

char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    size_t n = strlen(base) + 32;
    char *path = malloc(n);
    assert_non_null(path);
    snprintf(path, n, "%s/dbont-genunit-XXXXXX", base);
    assert_non_null(mkdtemp(path));
    return path;
}

char *tu_write(const char *dir, const char *name, const char *text)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    assert_non_null(path);
    snprintf(path, n, "%s/%s", dir, name);
    /* dir itself and the folders on the way */
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", dir, strerror(errno));
    for (char *p = path + strlen(dir) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST)
                fail_msg("mkdir %s: %s", path, strerror(errno));
            *p = '/';
        }
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return path;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t got;
    while ((got = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            cap *= 2;
            s = realloc(s, cap);
            assert_non_null(s);
        }
    }
    fclose(f);
    s[len] = '\0';
    return s;
}

void tu_diag_open(tu_diag *t)
{
    t->text = NULL;
    t->len = 0;
    t->f = open_memstream(&t->text, &t->len);
    assert_non_null(t->f);
    diag_init(&t->d, t->f);
}

const char *tu_diag_text(tu_diag *t)
{
    diag_flush(&t->d);
    fflush(t->f);
    return t->text ? t->text : "";
}

void tu_diag_close(tu_diag *t)
{
    diag_free(&t->d);
    fclose(t->f);
    free(t->text);
    t->text = NULL;
    t->f = NULL;
}

void tu_load(tu_loaded *l, char *const *files, size_t nfiles)
{
    graph_init(&l->g);
    model_init(&l->m);
    tu_diag_open(&l->out);
    l->build_ok = l->check_ok = false;
    l->read_ok = reader_read(&l->g, &l->out.d, files, nfiles);
    if (l->read_ok) {
        l->build_ok = build_model(&l->g, &l->out.d, &l->m);
        l->check_ok = check_model(&l->m, &l->out.d, "t", files[0]);
    }
    l->text = tu_diag_text(&l->out);
}

void tu_load_text(tu_loaded *l, const char *dir, const char *name, const char *text)
{
    char *path = tu_write(dir, name, text);
    tu_load(l, &path, 1);
    free(path);
}

void tu_unload(tu_loaded *l)
{
    model_free(&l->m);
    graph_free(&l->g);
    tu_diag_close(&l->out);
}

static char *next_scratch(void)
{
    static char scratch[4][512];
    static unsigned next;
    return scratch[next++ % 4];
}

const char *tu_pos(dpos p)
{
    char *s = next_scratch();
    snprintf(s, 512, "%s:%u:%u", p.file ? p.file : "(none)", p.line, p.col);
    return s;
}

const char *tu_bpos(dpos p)
{
    const char *base = p.file ? strrchr(p.file, '/') : NULL;
    char *s = next_scratch();
    snprintf(s, 512, "%s:%u:%u", base ? base + 1 : p.file ? p.file : "(none)", p.line, p.col);
    return s;
}

table *tu_table(const model *m, const char *sql_name)
{
    for (size_t i = 0; i < m->ntables; i++)
        if (m->tables[i]->name && strcmp(m->tables[i]->name, sql_name) == 0)
            return m->tables[i];
    fail_msg("no table '%s' in the model", sql_name);
    return NULL;
}

column *tu_column(const table *t, const char *name)
{
    size_t i = table_find_column(t, name);
    if (i == (size_t)-1)
        fail_msg("no column '%s' in table '%s'", name, t->name ? t->name : t->iri);
    return &t->cols[i];
}

int tu_setup_tmpdir(void **state)
{
    *state = tu_mkdtemp();
    return 0;
}

int tu_teardown_tmpdir(void **state)
{
    tu_rmtree(*state);
    free(*state);
    return 0;
}
