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

static unsigned long long version_of(const char *name)
{
    return strtoull(name, NULL, 10);
}

/* By version number (the leading digits), so 10000_x sorts after 9999_y. */
static int by_version(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    unsigned long long vx = version_of(x), vy = version_of(y);
    if (vx != vy)
        return vx < vy ? -1 : 1;
    return strcmp(x, y);
}

/* The migration's name: what its main change does ("add_users_bio"),
 * "_and_more" when it does more. */
static char *slug_of(const changes *c)
{
    static const change_phase preferred[] = {PH_CREATE_TABLE, PH_DROP_TABLE,    PH_ADD_COLUMN,
                                             PH_DROP_COLUMN,  PH_RENAME_TABLE,  PH_RENAME_COLUMN,
                                             PH_ALTER_COLUMN, PH_RENAME_CONSTRAINT, PH_ADD_KEY,
                                             PH_ADD_FK,       PH_DROP_KEY,      PH_DROP_FK,
                                             PH_CREATE_INDEX_CONCURRENTLY, PH_DROP_INDEX};
    const change *main = &c->v[0];
    for (size_t p = 0, found = 0; p < sizeof preferred / sizeof preferred[0] && !found; p++)
        for (size_t i = 0; i < c->n && !found; i++)
            if (c->v[i].phase == preferred[p]) {
                main = &c->v[i];
                found = 1;
            }
    bool more = false;
    for (size_t i = 0; i < c->n; i++)
        more |= strcmp(c->v[i].slug, main->slug) != 0;
    char *s = xasprintf("%.*s%s", 40, main->slug, more ? "_and_more" : "");
    return s;
}

static bool has_outside_steps(const changes *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].no_transaction)
            return true;
    return false;
}

static const char steps_note[] =
    "-- Each step after a \"-- dbont:step no-transaction\" line runs alone, outside\n"
    "-- any transaction (CREATE INDEX CONCURRENTLY must); the rest is one\n"
    "-- transaction.  dbont-migrate keeps track of the steps, so a run that stops\n"
    "-- half-way resumes where it stopped.\n";

/* Reports each destructive change; true when there was none. */
static bool refuse_destructive(const changes *c, const char *snap_path, diag *d)
{
    bool none = true;
    for (size_t i = 0; i < c->n; i++) {
        const change *ch = &c->v[i];
        if (!ch->destructive)
            continue;
        dpos where = ch->pos.file ? ch->pos : (dpos){snap_path, 0, 0};
        diag_error(d, where, "this change destroys data: %s (%s); dbont-gen writes it only with "
                             "--allow-destructive",
                   ch->summary, ch->note ? ch->note + strlen("DESTRUCTIVE: ") : "see the migration");
        none = false;
    }
    return none;
}

/* Scans mdir: its migrations (sorted by version) and whether it has a
 * snapshot.  Two migrations with one version are an error. */
static bool scan(const char *mdir, char ***out, size_t *nout, bool *has_snapshot, diag *d)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    *has_snapshot = false;
    DIR *dir = opendir(mdir);
    dpos where = {mdir, 0, 0};
    if (!dir && errno != ENOENT) {
        diag_error(d, where, "cannot read the migrations folder: %s", strerror(errno));
        return false;
    }
    for (struct dirent *e; dir && (e = readdir(dir));) {
        if (strcmp(e->d_name, SNAPSHOT_FILE) == 0)
            *has_snapshot = true;
        else if (evolve_is_migration_name(e->d_name)) {
            GROW(names, cap, n);
            names[n++] = xstrdup(e->d_name);
        }
    }
    if (dir)
        closedir(dir);
    if (n)
        qsort(names, n, sizeof *names, by_version);
    bool ok = true;
    for (size_t i = 1; i < n; i++) {
        if (version_of(names[i]) == version_of(names[i - 1])) {
            dpos p = {mdir, 0, 0};
            diag_error(d, p, "two migrations have the number %llu: %s and %s (two branches each added one?); "
                             "renumber one, and regenerate the snapshot from the ontology of the merged branch",
                       version_of(names[i]), names[i - 1], names[i]);
            ok = false;
        }
    }
    *out = names;
    *nout = n;
    return ok;
}

bool evolve_plan(const char *mdir, const model *m, const char *prefix, const char *version,
                 const char *sources, bool allow_destructive, migration_plan *plan, diag *d)
{
    memset(plan, 0, sizeof *plan);
    schema_init(&plan->from);
    schema_init(&plan->to);
    schema_init(&plan->result);
    char **migrations = NULL;
    size_t nmig = 0;
    bool has_snapshot;
    bool ok = scan(mdir, &migrations, &nmig, &has_snapshot, d);
    char *snap_path = xasprintf("%s/%s", mdir, SNAPSHOT_FILE);
    dpos snap_pos = {snap_path, 0, 0};
    dpos dir_pos = {mdir, 0, 0};

    if (ok && !has_snapshot && nmig) {
        diag_error(d, dir_pos, "the folder holds migrations but no %s, so dbont-gen cannot tell which "
                               "schema they produce; restore the snapshot from version control",
                   SNAPSHOT_FILE);
        ok = false;
    } else if (ok && has_snapshot && !nmig) {
        diag_error(d, snap_pos, "there is a snapshot but no migration next to it; restore the "
                                "migrations from version control or remove the snapshot");
        ok = false;
    } else if (ok && has_snapshot) {
        char *text = read_text(snap_path);
        char *last = NULL;
        if (!text) {
            diag_error(d, snap_pos, "cannot read: %s", strerror(errno));
            ok = false;
        } else if (!snapshot_parse(text, snap_path, &plan->from, &last, d)) {
            ok = false;
        } else if (!last || strcmp(last, migrations[nmig - 1]) != 0) {
            diag_error(d, snap_pos, "the snapshot records the schema after %s, but the newest migration is %s "
                                    "(was a migration added without dbont-gen, or were two branches "
                                    "merged?); regenerate the newest migration and the snapshot from "
                                    "the ontology",
                       last ? last : "no migration", migrations[nmig - 1]);
            ok = false;
        }
        free(text);
        free(last);
    }

    if (ok) {
        schema_from_model(m, &plan->to);
        name_changes rn;
        diff_renames(&plan->from, &plan->to, &rn);
        ok = diff_schemas(&plan->from, &plan->to, &rn, &plan->up, &plan->result, d);
        if (ok && plan->up.n && !allow_destructive)
            ok = refuse_destructive(&plan->up, snap_path, d);
        if (ok && plan->up.n) {
            unsigned long long next = nmig ? version_of(migrations[nmig - 1]) + 1 : 1;
            char *slug = nmig ? slug_of(&plan->up) : xstrdup(prefix);
            plan->migration_file = xasprintf("%04llu_%s.sql", next, slug);
            plan->down_file = xasprintf("%04llu_%s.down.sql", next, slug);
            free(slug);
            name_changes back;
            renames_reverse(&rn, &plan->from, &back);
            diff_schemas(&plan->result, &plan->from, &back, &plan->down, NULL, d);
            renames_free(&back);
            plan->up_intro = xasprintf("-- A migration is history: once it is applied anywhere, change the ontology\n"
                                       "-- instead of this file; dbont-gen never rewrites it.  `dbont-migrate down`\n"
                                       "-- reverses it with %s.\n%s",
                                       plan->down_file, has_outside_steps(&plan->up) ? steps_note : "");
            plan->down_intro = xasprintf("-- The reverse of %s, run by `dbont-migrate down`.  It restores the\n"
                                         "-- schema; rows and values that %s dropped are not restored.\n%s",
                                         plan->migration_file, plan->migration_file,
                                         has_outside_steps(&plan->down) ? steps_note : "");
            char *body = snapshot_body(&plan->result);
            plan->snapshot = snapshot_file(body, version, sources, plan->migration_file);
            free(body);
        }
        renames_free(&rn);
    }
    free(snap_path);
    for (size_t i = 0; i < nmig; i++)
        free(migrations[i]);
    free(migrations);
    return ok;
}

/* Appends a migration's text so that all of it can run in the check's one
 * transaction: in the steps dbont-migrate runs outside a transaction, the
 * CONCURRENTLY of CREATE/DROP INDEX is dropped (the result is the same
 * schema, and the check tables are empty anyway). */
static void add_in_transaction(buf *b, const char *text)
{
    bool outside = false;
    for (const char *l = text; *l;) {
        const char *eol = strchr(l, '\n');
        size_t n = eol ? (size_t)(eol - l + 1) : strlen(l);
        if (!strncmp(l, "-- dbont:step ", 14))
            outside = !strncmp(l + 14, "no-transaction", 14);
        const char *conc = NULL;
        if (outside)
            for (const char *p = l; p + 13 <= l + n && !conc; p++)
                if (!strncmp(p, " CONCURRENTLY", 13) && p >= l + 6 && !strncmp(p - 6, " INDEX", 6))
                    conc = p;
        if (conc) {
            buf_add(b, l, (size_t)(conc - l));
            buf_add(b, conc + 13, n - (size_t)(conc + 13 - l));
        } else {
            buf_add(b, l, n);
        }
        l += n;
    }
}

char *evolve_migrations_sql(const char *mdir, diag *d)
{
    char **names;
    size_t n;
    bool has_snapshot;
    if (!scan(mdir, &names, &n, &has_snapshot, d))
        return NULL;
    buf b;
    buf_init(&b);
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        char *path = xasprintf("%s/%s", mdir, names[i]);
        char *text = ok ? read_text(path) : NULL;
        if (ok && !text) {
            dpos where = {path, 0, 0};
            diag_error(d, where, "cannot read: %s", strerror(errno));
            ok = false;
        }
        if (text) {
            add_in_transaction(&b, text);
            buf_adds(&b, "\n;\n");
        }
        free(text);
        free(path);
        free(names[i]);
    }
    free(names);
    if (!ok) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

void migration_plan_free(migration_plan *p)
{
    free(p->migration_file);
    free(p->down_file);
    free(p->up_intro);
    free(p->down_intro);
    changes_free(&p->up);
    changes_free(&p->down);
    free(p->snapshot);
    schema_free(&p->from);
    schema_free(&p->to);
    schema_free(&p->result);
    memset(p, 0, sizeof *p);
}
