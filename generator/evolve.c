#include "evolve.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "util.h"

bool evolve_is_migration_name(const char *name)
{
    size_t digits = 0;
    while (name[digits] >= '0' && name[digits] <= '9')
        digits++;
    if (digits < 4 || name[digits] != '_')
        return false;
    const char *rest = name + digits + 1;
    size_t n = strlen(rest);
    if (n <= 4 || strcmp(rest + n - 4, ".sql") != 0)
        return false;
    for (size_t i = 0; i < n - 4; i++) {
        char c = rest[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf b;
    buf_init(&b);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&b, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

/* By version number (the leading digits), so 10000_x sorts after 9999_y. */
static int by_version(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    unsigned long long vx = strtoull(x, NULL, 10), vy = strtoull(y, NULL, 10);
    if (vx != vy)
        return vx < vy ? -1 : 1;
    return strcmp(x, y);
}

/* Reports, as notes, the schema lines that differ (old: -, new: +). */
static void note_differences(diag *d, dpos where, const char *old_body, const char *new_body)
{
    unsigned shown = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *from = pass ? new_body : old_body, *other = pass ? old_body : new_body;
        for (const char *l = from; *l && shown < 20;) {
            const char *eol = strchr(l, '\n');
            size_t n = eol ? (size_t)(eol - l) : strlen(l);
            bool found = false;
            for (const char *o = other; *o && !found;) {
                const char *oeol = strchr(o, '\n');
                size_t on = oeol ? (size_t)(oeol - o) : strlen(o);
                found = on == n && memcmp(o, l, n) == 0;
                o += on + (oeol ? 1 : 0);
            }
            if (!found && n) {
                diag_note(d, where, "%s %.*s", pass ? "ontology has:" : "snapshot has:", (int)n, l);
                shown++;
            }
            l += n + (eol ? 1 : 0);
        }
    }
}

bool evolve_plan(const char *mdir, const model *m, const char *prefix, const char *version,
                 const char *sources, migration_plan *plan, diag *d)
{
    plan->migration_file = NULL;
    plan->snapshot = NULL;
    char **migrations = NULL;
    size_t nmig = 0, cap = 0;
    bool has_snapshot = false;
    DIR *dir = opendir(mdir);
    dpos where = {mdir, 0, 0};
    if (!dir && errno != ENOENT) {
        diag_error(d, where, "cannot read the migrations folder: %s", strerror(errno));
        return false;
    }
    for (struct dirent *e; dir && (e = readdir(dir));) {
        if (strcmp(e->d_name, SNAPSHOT_FILE) == 0)
            has_snapshot = true;
        else if (evolve_is_migration_name(e->d_name)) {
            GROW(migrations, cap, nmig);
            migrations[nmig++] = xstrdup(e->d_name);
        }
    }
    if (dir)
        closedir(dir);
    if (nmig)
        qsort(migrations, nmig, sizeof *migrations, by_version);

    char *body = snapshot_body(m);
    bool ok = true;
    char *snap_path = xasprintf("%s/%s", mdir, SNAPSHOT_FILE);
    dpos snap_pos = {snap_path, 0, 0};
    if (!has_snapshot && nmig == 0) {
        plan->migration_file = xasprintf("0001_%s.sql", prefix);
        plan->snapshot = snapshot_file(body, version, sources, plan->migration_file);
    } else if (!has_snapshot) {
        diag_error(d, where, "the folder holds migrations but no %s, so dbont-gen cannot tell which "
                             "schema they produce; restore the snapshot from version control",
                   SNAPSHOT_FILE);
        ok = false;
    } else if (nmig == 0) {
        diag_error(d, snap_pos, "there is a snapshot but no migration next to it; restore the "
                                "migrations from version control or remove the snapshot");
        ok = false;
    } else {
        char *text = read_text(snap_path);
        char *old_body = text ? snapshot_body_of(text) : NULL;
        if (!text) {
            diag_error(d, snap_pos, "cannot read: %s", strerror(errno));
            ok = false;
        } else if (strcmp(old_body, body) != 0) {
            diag_error(d, snap_pos, "the ontology's schema differs from the schema of the migrations "
                                    "(last: %s); turning a change into a new migration is not "
                                    "supported yet, so nothing was written",
                       migrations[nmig - 1]);
            note_differences(d, snap_pos, old_body, body);
            ok = false;
        }
        free(text);
        free(old_body);
    }
    free(snap_path);
    free(body);
    for (size_t i = 0; i < nmig; i++)
        free(migrations[i]);
    free(migrations);
    return ok;
}

void migration_plan_free(migration_plan *p)
{
    free(p->migration_file);
    free(p->snapshot);
    p->migration_file = p->snapshot = NULL;
}
