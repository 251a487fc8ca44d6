/*
 * report.c: the ratio table, from the result files of dbont-bench run, of
 * the Node peers (bench/node/bench.mjs) and of bench/bench.sh (machine and
 * versions).  Each file holds lines
 *
 *   meta KEY VALUE...
 *   result WORKLOAD IMPLEMENTATION UNIT MEDIAN MIN MAX ROUNDS
 *   rates WORKLOAD IMPLEMENTATION FIGURE...   (each round's, C only)
 *   cpu WORKLOAD IMPLEMENTATION CLIENT_US SERVER_US   (C only)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm.h"

#define MAX_ITEMS 128

typedef struct result {
    char workload[16], impl[48], unit[16];
    double median, min, max;
    int rounds;
    size_t nrates;      /* each round's figure, in round order (C only) */
    double rates[64];
    double client_us, server_us; /* CPU per unit, medians (C only; < 0: unknown) */
    bool have_cpu;
} result;

typedef struct meta {
    char key[48];
    char value[400];
} meta;

static result results[MAX_ITEMS];
static size_t nresults;
static meta metas[MAX_ITEMS];
static size_t nmetas;

static int read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "dbont-bench: cannot read %s\n", path);
        return 1;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "meta ", 5) && nmetas < MAX_ITEMS) {
            meta *m = &metas[nmetas];
            const char *k = line + 5, *sp = strchr(k, ' ');
            if (!sp)
                continue;
            snprintf(m->key, sizeof m->key, "%.*s", (int)(sp - k), k);
            snprintf(m->value, sizeof m->value, "%s", sp + 1);
            nmetas++;
        } else if (!strncmp(line, "result ", 7) && nresults < MAX_ITEMS) {
            result *r = &results[nresults];
            if (sscanf(line + 7, "%15s %47s %15s %lf %lf %lf %d", r->workload, r->impl, r->unit, &r->median, &r->min,
                       &r->max, &r->rounds) == 7)
                nresults++;
        } else if (!strncmp(line, "cpu ", 4)) {
            char w[16], im[48];
            double c, sv;
            if (sscanf(line + 4, "%15s %47s %lf %lf", w, im, &c, &sv) != 4)
                continue;
            for (size_t i = 0; i < nresults; i++)
                if (!strcmp(results[i].workload, w) && !strcmp(results[i].impl, im)) {
                    results[i].client_us = c;
                    results[i].server_us = sv;
                    results[i].have_cpu = true;
                }
        } else if (!strncmp(line, "rates ", 6)) {
            char w[16], im[48];
            int used;
            if (sscanf(line + 6, "%15s %47s%n", w, im, &used) != 2)
                continue;
            for (size_t i = 0; i < nresults; i++) {
                result *r = &results[i];
                if (strcmp(r->workload, w) || strcmp(r->impl, im))
                    continue;
                const char *p = line + 6 + used;
                int step;
                double v;
                r->nrates = 0;
                while (r->nrates < 64 && sscanf(p, "%lf%n", &v, &step) == 1) {
                    r->rates[r->nrates++] = v;
                    p += step;
                }
            }
        }
    }
    fclose(f);
    return 0;
}

static const char *meta_get(const char *key)
{
    for (size_t i = nmetas; i-- > 0;)
        if (!strcmp(metas[i].key, key))
            return metas[i].value;
    return NULL;
}

static const result *find(const char *workload, const char *impl)
{
    for (size_t i = 0; i < nresults; i++)
        if (!strcmp(results[i].workload, workload) && !strcmp(results[i].impl, impl))
            return &results[i];
    return NULL;
}

/* The hand-written figure of a workload: for W4 the faster COPY format. */
static const result *hand_of(const char *workload)
{
    if (strcmp(workload, "W4"))
        return find(workload, "hand");
    const result *b = find("W4", "hand-binary"), *t = find("W4", "hand-text");
    if (!b || !t)
        return b ? b : t;
    return b->median >= t->median ? b : t;
}

typedef struct row {
    const char *workload, *label, *unit;
    double target; /* generated/hand at least this */
} row;

static const row rows[] = {
    {"W1", "W1 lookup by email", "ops/s", 0.97},
    {"W2", "W2 join+group+having, 100 users", "ops/s", 0.97},
    {"W3", "W3 insert returning id", "ops/s", 0.97},
    {"W4", "W4 bulk insert (COPY)", "rows/s", 0.95},
    {"W1B", "W1 pipelined, window 64", "ops/s", 0},
};
#define NROWS (sizeof rows / sizeof rows[0])

static const char *const peers[] = {"knex", "drizzle", "pg"};
#define NPEERS 3

/* "12,345" into buf. */
static const char *num(char *buf, size_t size, double v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.0f", v);
    size_t len = strlen(tmp), o = 0;
    for (size_t i = 0; i < len && o + 2 < size; i++) {
        if (i && (len - i) % 3 == 0 && tmp[i - 1] != '-')
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

static const char *ratio(char *buf, size_t size, const result *a, const result *b)
{
    if (!a || !b || b->median <= 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.2fx", a->median / b->median);
    return buf;
}

/* The median, min and max over the rounds of a's figure / b's figure in
 * the same round ("-" without per-round figures). */
static const char *paired(char *buf, size_t size, const result *a, const result *b)
{
    if (!a || !b || !a->nrates || a->nrates != b->nrates) {
        snprintf(buf, size, "-");
        return buf;
    }
    double v[64];
    for (size_t i = 0; i < a->nrates; i++)
        v[i] = a->rates[i] / b->rates[i];
    double med = bm_median(v, a->nrates);
    snprintf(buf, size, "%.2fx (%.2f-%.2f)", med, v[0], v[a->nrates - 1]);
    return buf;
}

/* "7.40 + 16.0 / 7.14 + 16.0": client + server CPU per unit, generated
 * then hand-written, in microseconds. */
static const char *cpu_pair(char *buf, size_t size, const result *g, const result *h)
{
    if (!g || !h || !g->have_cpu || !h->have_cpu || g->server_us < 0 || h->server_us < 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.2f + %.1f / %.2f + %.1f", g->client_us, g->server_us, h->client_us, h->server_us);
    return buf;
}

/* (hand client + server) / (generated client + server): the throughput
 * ratio to expect when one CPU does all the work. */
static const char *cpu_ratio(char *buf, size_t size, const result *g, const result *h)
{
    if (!g || !h || !g->have_cpu || !h->have_cpu || g->server_us < 0 || h->server_us < 0 ||
        g->client_us + g->server_us <= 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.3fx", (h->client_us + h->server_us) / (g->client_us + g->server_us));
    return buf;
}

static const char *verdict(const result *g, const result *h, double target)
{
    if (!g || !h || target <= 0)
        return "";
    return g->median / h->median >= target ? "met" : "MISSED";
}

int bm_report(const char *const *files, size_t nfiles, const char *md, bool with_meta)
{
    for (size_t i = 0; i < nfiles; i++)
        if (read_file(files[i]))
            return 1;
    bool have_node = false;
    for (size_t i = 0; i < nresults; i++)
        for (size_t p = 0; p < NPEERS; p++)
            have_node |= !strcmp(results[i].impl, peers[p]);

    char a[32], b[32], c[32], d[32];
    const result *g1 = find("W1", "generated"), *h1 = find("W1", "hand");
    const result *g1b = find("W1B", "generated"), *h1b = find("W1B", "hand");
    const result *w4h = hand_of("W4");

    /* ---- text ---- */
    printf("\n%-32s %6s %10s %10s %8s %-20s %9s %-13s", "workload", "unit", "generated", "hand", "gen/hand",
           "per round", "CPU ratio", "target");
    if (have_node)
        printf(" %9s %9s %9s %9s %11s %7s", "knex", "drizzle", "pg", "gen/knex", "gen/drizzle", "gen/pg");
    printf("\n");
    for (size_t i = 0; i < NROWS; i++) {
        const result *g = find(rows[i].workload, "generated"), *h = hand_of(rows[i].workload);
        char t[24] = "";
        if (rows[i].target > 0)
            snprintf(t, sizeof t, ">=%.2f %s", rows[i].target, verdict(g, h, rows[i].target));
        char pr[64], cr[32];
        printf("%-32s %6s %10s %10s %8s %-20s %9s %-13s", rows[i].label, rows[i].unit,
               g ? num(a, sizeof a, g->median) : "-", h ? num(b, sizeof b, h->median) : "-", ratio(c, sizeof c, g, h),
               paired(pr, sizeof pr, g, h), cpu_ratio(cr, sizeof cr, g, h), t);
        if (have_node) {
            for (size_t p = 0; p < NPEERS; p++) {
                const result *n = find(rows[i].workload, peers[p]);
                printf(" %9s", n ? num(d, sizeof d, n->median) : "-");
            }
            for (size_t p = 0; p < NPEERS; p++)
                printf(" %*s", p == 1 ? 11 : p == 0 ? 9 : 7,
                       ratio(d, sizeof d, g, find(rows[i].workload, peers[p])));
        }
        printf("\n");
    }
    if (w4h)
        printf("W4 hand-written = the faster COPY format: %s\n", !strcmp(w4h->impl, "hand-binary") ? "binary" : "text");
    if (g1 && g1b && h1 && h1b)
        printf("pipelined W1 / single W1: generated %.2fx (target >= 3: %s), hand-written %.2fx\n",
               g1b->median / g1->median, g1b->median / g1->median >= 3 ? "met" : "MISSED", h1b->median / h1->median);
    if (!have_node && with_meta)
        printf("(no Node.js results: %s)\n", meta_get("node") ? meta_get("node") : "node not run");

    /* ---- Markdown ---- */
    if (!md)
        return 0;
    FILE *f = fopen(md, "w");
    if (!f) {
        fprintf(stderr, "dbont-bench: cannot write %s\n", md);
        return 1;
    }
    static const char *const shown[][2] = {
        {"date", "Date"},
        {"command", "Command"},
        {"machine", "Machine"},
        {"kernel", "Kernel"},
        {"server_version", "PostgreSQL server"},
        {"libpq_version", "libpq"},
        {"compiler", "C compiler"},
        {"cflags", "C flags (bench, runtime, generated code)"},
        {"server_settings", "Server settings"},
        {"cpus", "CPU placement (BENCH_PIN)"},
        {"dataset", "Dataset"},
        {"c_rounds", "C rounds (medians of)"},
        {"c_sizes", "C workload sizes per round"},
        {"c_other_load", "Other activity on the machine during the C runs (CPU time outside the client and its backend)"},
        {"node", "Node.js"},
        {"node_packages", "Node packages"},
        {"node_rounds", "Node rounds (medians of)"},
        {"node_sizes", "Node workload sizes per round"},
    };
    for (size_t i = 0; with_meta && i < sizeof shown / sizeof shown[0]; i++) {
        const char *v = meta_get(shown[i][0]);
        if (v)
            fprintf(f, "- %s: %s%s%s\n", shown[i][1], !strcmp(shown[i][0], "command") ? "`" : "", v,
                    !strcmp(shown[i][0], "command") ? "`" : "");
    }
    if (with_meta)
        fprintf(f, "\n");
    fprintf(f, "| workload | unit | generated | hand-written libpq | generated/hand | per round (median, min-max) | "
               "CPU µs per unit, client + server: generated / hand | CPU ratio | target |");
    if (have_node)
        fprintf(f, " knex | drizzle | pg | gen/knex | gen/drizzle | gen/pg |");
    fprintf(f, "\n|---|---|---:|---:|---:|---:|---:|---:|---|");
    if (have_node)
        fprintf(f, "---:|---:|---:|---:|---:|---:|");
    fprintf(f, "\n");
    for (size_t i = 0; i < NROWS; i++) {
        const result *g = find(rows[i].workload, "generated"), *h = hand_of(rows[i].workload);
        char t[40] = "";
        if (rows[i].target > 0)
            snprintf(t, sizeof t, "≥ %.2f: %s", rows[i].target, verdict(g, h, rows[i].target));
        char pr[64], cp[96], cr[32];
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |", rows[i].label, rows[i].unit,
                g ? num(a, sizeof a, g->median) : "-", h ? num(b, sizeof b, h->median) : "-",
                ratio(c, sizeof c, g, h), paired(pr, sizeof pr, g, h), cpu_pair(cp, sizeof cp, g, h),
                cpu_ratio(cr, sizeof cr, g, h), t);
        if (have_node) {
            for (size_t p = 0; p < NPEERS; p++) {
                const result *n = find(rows[i].workload, peers[p]);
                fprintf(f, " %s |", n ? num(d, sizeof d, n->median) : "-");
            }
            for (size_t p = 0; p < NPEERS; p++)
                fprintf(f, " %s |", ratio(d, sizeof d, g, find(rows[i].workload, peers[p])));
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\n");
    if (w4h)
        fprintf(f, "W4's hand-written figure is the faster of binary and text COPY: %s.\n",
                !strcmp(w4h->impl, "hand-binary") ? "binary" : "text");
    if (g1 && g1b && h1 && h1b)
        fprintf(f, "Pipelined W1 / single W1: generated %.2fx (target ≥ 3: %s), hand-written %.2fx.\n",
                g1b->median / g1->median, g1b->median / g1->median >= 3 ? "met" : "MISSED",
                h1b->median / h1->median);
    if (!have_node && with_meta)
        fprintf(f, "No Node.js figures: %s.\n", meta_get("node") ? meta_get("node") : "node not run");
    fprintf(f, "\nEvery implementation's median, min and max over the rounds:\n\n");
    fprintf(f, "| workload | implementation | unit | median | min | max | rounds | client CPU µs/unit | "
               "server CPU µs/unit |\n");
    fprintf(f, "|---|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < nresults; i++) {
        const result *r = &results[i];
        char e[32], cc[32] = "", sc[32] = "";
        if (r->have_cpu) {
            snprintf(cc, sizeof cc, "%.2f", r->client_us);
            if (r->server_us >= 0)
                snprintf(sc, sizeof sc, "%.2f", r->server_us);
        }
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %d | %s | %s |\n", r->workload, r->impl, r->unit,
                num(a, sizeof a, r->median), num(b, sizeof b, r->min), num(e, sizeof e, r->max), r->rounds, cc, sc);
    }
    fclose(f);
    return 0;
}
