/*
 * test_reshard.c: resharding 4 -> 5 shards (dbont/reshard.h, dbont-shard)
 * against five PostgreSQL primaries of its own (dbont_add_shard_test
 * ... SHARDS 5): the data is spread over the first four with
 * dbont_shard_of_*(key, 4), and dbont-shard moves it to where
 * dbont_shard_of_*(key, 5) routes it.
 *
 *   usage: test_reshard PATH_TO_DBONT_SHARD
 *
 * Tables (the same on every server): accounts (bigint key) and its
 * co-located child orders (sharded by account_id, a foreign key to
 * accounts), tags (text key, with quotes, backslashes, commas, braces
 * and non-ASCII in its values), devices (uuid key).
 *
 *   plan        about 1/5 of the rows move (17% .. 23%), all to shard 4; a
 *               row put on the wrong old shard is reported and left alone
 *   writes      (in process, dbont_reshard_move) a row of the batch in
 *               flight written between its copy and its delete: on the
 *               old shard, the batch is copied again; on the new shard,
 *               the copy is kept; on both, the move stops (XX001) naming
 *               shard and batch, each side keeping its version
 *   killed      dbont-shard move killed (SIGKILL) just after its 3rd
 *               batch was copied, then killed again at a moment picked by
 *               the clock (after its 3rd batch line): each time, every row
 *               is on its old shard or its new one, nothing is lost or
 *               added, and only one batch's rows are on both (identical)
 *   precheck    a copy changed on the new shard while its original is on
 *               the old one: the next move refuses to replace it, naming
 *               the key, and changes nothing
 *   complete    move runs to the end while two readers look accounts up by
 *               the read rule (new shard, old shard, new shard again):
 *               every lookup finds its row; then every row is exactly on
 *               its shard for 5 shards, the tables hold what they held
 *               (same rows, same counts), orders with their accounts
 *   again       a third move moves nothing; plan shows nothing left
 *   errors      usage (exit 2), a configuration without moving-from, a
 *               snapshot at the old count (exit 1, file:line)
 *
 * Each check prints "ok   ..." or "FAIL file:line: ..."; the last line is
 * "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L  /* setenv, mkstemp, kill, waitpid, getline */

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dbont/dbont.h"

#define OLD 4
#define NEW 5
#define NACCOUNTS 20000
#define NTAGS 1500
#define NDEVICES 1500

/* ---- checks that print what they check ------------------------------------ */

static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static long check_passed, check_failed;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static bool check_at(bool ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&check_lock);
    if (ok) {
        check_passed++;
        printf("ok   ");
    } else {
        check_failed++;
        printf("FAIL %s:%d: ", file, line);
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    pthread_mutex_unlock(&check_lock);
    return ok;
}

#define CHECK(ok, ...) check_at((ok), __FILE__, __LINE__, __VA_ARGS__)

static void section(const char *name)
{
    printf("# %s\n", name);
    fflush(stdout);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static _Noreturn void die(const char *what)
{
    printf("FAIL %s\n%ld passed, %ld failed\n", what, check_passed, check_failed + 1);
    exit(1);
}

/* ---- the servers ------------------------------------------------------------- */

static char *dsn[NEW];
static PGconn *pg[NEW];
static const char *tool;
static char conf_path[64], snapshot_path[64], old_snapshot_path[64], no_move_conf[64];

static bool exec_ok(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    bool ok = res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
                              PQresultStatus(res) == PGRES_TUPLES_OK);
    if (!ok)
        printf("# %s: %s", sql, PQerrorMessage(c));
    PQclear(res);
    return ok;
}

static bool exec1(PGconn *c, const char *sql, const char *param)
{
    const char *v[1] = {param};
    PGresult *res = PQexecParams(c, sql, 1, NULL, v, NULL, NULL, 0);
    bool ok = res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
                              PQresultStatus(res) == PGRES_TUPLES_OK);
    if (!ok)
        printf("# %s: %s", sql, PQerrorMessage(c));
    PQclear(res);
    return ok;
}

static long long count_of(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    long long n = -1;
    if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    else
        printf("# %s: %s", sql, PQerrorMessage(c));
    PQclear(res);
    return n;
}

static void write_file(char path[64], const char *text)
{
    int fd;
    FILE *f;
    snprintf(path, 64, "/tmp/test_reshard.XXXXXX");
    fd = mkstemp(path);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
        die("cannot write a temporary file");
    fputs(text, f);
    fclose(f);
}

/* ---- the data ------------------------------------------------------------------ */

static int64_t account_id(int i)
{
    /* Spread over the int64 range, negatives included. */
    return ((int64_t)i - NACCOUNTS / 2) * INT64_C(1000003) + 17;
}

static const char *const tag_flavours[] = {"plain", "a \"quoted\" one", "back\\slash",
                                           "comma, {brace}", "\xc3\xa9t\xc3\xa9 \xe6\xbc\xa2"};

static void tag_name(int i, char *out, size_t size)
{
    snprintf(out, size, "tag %d %s", i, tag_flavours[i % 5]);
}

static dbont_uuid device_ids[NDEVICES];

static void create_tables(void)
{
    int s;
    for (s = 0; s < NEW; s++) {
        if (!exec_ok(pg[s], "DROP TABLE IF EXISTS orders, accounts, tags, devices;"
                            "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL,"
                            "  balance bigint);"
                            "CREATE TABLE orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
                            "  account_id bigint NOT NULL REFERENCES accounts (id),"
                            "  amount bigint NOT NULL, note text);"
                            "CREATE INDEX ON orders (account_id);"
                            "CREATE TABLE tags (name text PRIMARY KEY, uses integer NOT NULL);"
                            "CREATE TABLE devices (id uuid PRIMARY KEY, label text NOT NULL)"))
            die("creating the tables");
    }
}

/* Accounts and their orders (0 to 3 each, notes with a newline and a
 * quote), routed over the first four shards, one statement per shard. */
static void insert_accounts(void)
{
    char *ids[OLD];
    size_t len[OLD] = {0}, cap = (size_t)NACCOUNTS * 24 + 16;
    int i, s;

    for (s = 0; s < OLD; s++) {
        ids[s] = malloc(cap);
        if (ids[s] == NULL)
            die("out of memory");
        ids[s][0] = '{';
        len[s] = 1;
    }
    for (i = 0; i < NACCOUNTS; i++) {
        int64_t id = account_id(i);
        s = dbont_shard_of_int(id, OLD);
        len[s] += (size_t)snprintf(ids[s] + len[s], cap - len[s], "%s%" PRId64,
                                   len[s] > 1 ? "," : "", id);
    }
    for (s = 0; s < OLD; s++) {
        snprintf(ids[s] + len[s], cap - len[s], "}");
        if (!exec1(pg[s],
                   "INSERT INTO accounts SELECT id, 'user' || id || '@example.com', "
                   "(id * 37) % 100000 FROM unnest($1::bigint[]) AS id",
                   ids[s]) ||
            !exec1(pg[s],
                   "INSERT INTO orders (account_id, amount, note) SELECT id, g * 100 + id % 97, "
                   "'order ' || g || E' of\\n\"' || id FROM unnest($1::bigint[]) AS id, "
                   "generate_series(1, (abs(id) % 4)::int) AS g",
                   ids[s]))
            die("inserting accounts");
        free(ids[s]);
    }
}

static void insert_tags_and_devices(void)
{
    char name[96], uses[16], id[DBONT_UUID_TEXT_SIZE], label[32];
    int i;
    for (i = 0; i < NTAGS; i++) {
        const char *v[2] = {name, uses};
        PGresult *res;
        tag_name(i, name, sizeof name);
        snprintf(uses, sizeof uses, "%d", i * 3);
        res = PQexecParams(pg[dbont_shard_of_text(name, strlen(name), OLD)],
                           "INSERT INTO tags VALUES ($1, $2::integer)", 2, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            die("inserting tags");
        PQclear(res);
    }
    for (i = 0; i < NDEVICES; i++) {
        const char *v[2] = {id, label};
        PGresult *res;
        if (dbont_uuid_random(&device_ids[i]) != 0)
            die("no random uuid");
        dbont_uuid_format(&device_ids[i], id);
        snprintf(label, sizeof label, "device %d", i);
        res = PQexecParams(pg[dbont_shard_of_uuid(&device_ids[i], OLD)],
                           "INSERT INTO devices VALUES ($1::uuid, $2)", 2, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            die("inserting devices");
        PQclear(res);
    }
}

/* ---- every row, where it is ------------------------------------------------------- */

typedef enum kind { K_INT, K_TEXT, K_UUID } kind;

typedef struct table_def {
    const char *name;
    const char *key;
    kind k;
} table_def;

static const table_def tables[] = {
    {"accounts", "id", K_INT},
    {"orders", "account_id", K_INT},
    {"tags", "name", K_TEXT},
    {"devices", "id", K_UUID},
};
#define NTABLES (sizeof tables / sizeof tables[0])

typedef struct row {
    char *text;       /* the row's text: its identity (the primary key is in it) */
    uint64_t hash;    /* its key's routing hash */
    unsigned mask;    /* the shards it was found on, by the last census */
} row;

/* The rows each table held before the move, sorted by text. */
static row *original[NTABLES];
static size_t noriginal[NTABLES];

static int by_text(const void *a, const void *b)
{
    return strcmp(((const row *)a)->text, ((const row *)b)->text);
}

static uint64_t key_hash(kind k, const char *text)
{
    dbont_uuid u;
    switch (k) {
    case K_INT:
        return dbont_shard_hash_int(strtoll(text, NULL, 10));
    case K_TEXT:
        return dbont_shard_hash_text(text, strlen(text));
    case K_UUID:
        if (dbont_uuid_parse(text, &u) != 0)
            die("a uuid key that does not parse");
        return dbont_shard_hash_uuid(&u);
    }
    return 0;
}

static PGresult *all_rows(int shard, size_t t)
{
    char sql[256];
    PGresult *res;
    snprintf(sql, sizeof sql, "SELECT %s::text, t::text FROM %s AS t", tables[t].key,
             tables[t].name);
    res = PQexec(pg[shard], sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        die(PQerrorMessage(pg[shard]));
    return res;
}

/* Reads every row of the first four shards: what the move must keep. */
static void take_original(void)
{
    size_t t;
    int s, r;
    for (t = 0; t < NTABLES; t++) {
        size_t n = 0;
        for (s = 0; s < NEW; s++) {
            PGresult *res = all_rows(s, t);
            row *more = realloc(original[t], (n + (size_t)PQntuples(res) + 1) * sizeof *more);
            if (more == NULL)
                die("out of memory");
            original[t] = more;
            for (r = 0; r < PQntuples(res); r++) {
                original[t][n].text = strdup(PQgetvalue(res, r, 1));
                original[t][n].hash = key_hash(tables[t].k, PQgetvalue(res, r, 0));
                original[t][n].mask = 0;
                n++;
            }
            PQclear(res);
        }
        qsort(original[t], n, sizeof *original[t], by_text);
        noriginal[t] = n;
    }
}

static int64_t misplaced_id;   /* an account put on shard 0 whose old shard is not 0 */

/* Whether an accounts row is the misplaced account's. */
static bool is_misplaced(const char *text)
{
    char prefix[32];
    int n = snprintf(prefix, sizeof prefix, "(%" PRId64 ",", misplaced_id);
    return misplaced_id != 0 && strncmp(text, prefix, (size_t)n) == 0;
}

/* What a census found. */
typedef struct census {
    size_t lost;        /* original rows on no shard */
    size_t extra;       /* rows on a shard that were not there before */
    size_t astray;      /* rows on a shard that is neither their old nor new one */
    size_t both;        /* rows on two shards (their old and new) */
    uint64_t *both_keys; /* their keys' hashes (both of them), for the caller */
    size_t on_new;      /* rows only on their shard for 5 (moved, or staying) */
    size_t rows;        /* rows seen, copies counted */
} census;

/* Finds every row on every shard, against the original rows.  A row is
 * its text, so a copy that differed from its original would count as an
 * extra row (and the original as lost, if it were gone). */
static census take_census(size_t t)
{
    census c = {0, 0, 0, 0, NULL, 0, 0};
    size_t i;
    int s, r;
    for (i = 0; i < noriginal[t]; i++)
        original[t][i].mask = 0;
    for (s = 0; s < NEW; s++) {
        PGresult *res = all_rows(s, t);
        for (r = 0; r < PQntuples(res); r++) {
            row key = {PQgetvalue(res, r, 1), 0, 0};
            row *found = bsearch(&key, original[t], noriginal[t], sizeof key, by_text);
            c.rows++;
            if (found == NULL && t == 0 && is_misplaced(key.text))
                continue;   /* put there on purpose (test_plan); checked there */
            if (found == NULL)
                c.extra++;
            else
                found->mask |= 1u << s;
        }
        PQclear(res);
    }
    for (i = 0; i < noriginal[t]; i++) {
        const row *o = &original[t][i];
        unsigned home_old = 1u << dbont_jump_hash(o->hash, OLD);
        unsigned home_new = 1u << dbont_jump_hash(o->hash, NEW);
        if (o->mask == 0)
            c.lost++;
        else if ((o->mask & ~(home_old | home_new)) != 0)
            c.astray++;
        else if (o->mask == (home_old | home_new) && home_old != home_new) {
            uint64_t *more = realloc(c.both_keys, (c.both + 1) * sizeof *more);
            if (more == NULL)
                die("out of memory");
            c.both_keys = more;
            c.both_keys[c.both++] = o->hash;
        }
        else if (o->mask == home_new)
            c.on_new++;
    }
    return c;
}

static int by_hash(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Every row of every table on its old or new shard, none lost or extra,
 * and the rows on two shards those of at most max_keys keys (one batch
 * in flight): identical, since a row is its text. */
static void check_between(const char *when, size_t max_keys, bool some_on_both)
{
    uint64_t *keys = NULL;
    size_t t, rows = 0, nkeys = 0, i;
    for (t = 0; t < NTABLES; t++) {
        census c = take_census(t);
        uint64_t *more;
        CHECK(c.lost == 0 && c.extra == 0 && c.astray == 0,
              "%s: %s: each of its %zu rows is on its old or its new shard (lost %zu, extra %zu, "
              "elsewhere %zu; %zu where 5 shards route them, %zu on both)",
              when, tables[t].name, noriginal[t], c.lost, c.extra, c.astray, c.on_new, c.both);
        more = realloc(keys, (rows + c.both + 1) * sizeof *keys);
        if (more == NULL)
            die("out of memory");
        keys = more;
        if (c.both > 0)
            memcpy(keys + rows, c.both_keys, c.both * sizeof *keys);
        rows += c.both;
        free(c.both_keys);
    }
    qsort(keys, rows, sizeof *keys, by_hash);
    for (i = 0; i < rows; i++)
        nkeys += i == 0 || keys[i] != keys[i - 1];
    free(keys);
    CHECK(nkeys <= max_keys && (!some_on_both || nkeys > 0),
          "%s: %zu rows of %zu keys are on two shards, identical; at most one batch's keys "
          "(%zu)%s",
          when, rows, nkeys, max_keys,
          some_on_both ? ", and some (stopped between a copy and its delete)" : "");
}

/* ---- running dbont-shard ------------------------------------------------------------ */

typedef struct run_result {
    int status;         /* exit status, or -signal */
    char *out, *err;    /* what it printed */
    int batch_lines;
} run_result;

static void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

static char *slurp(FILE *f)
{
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);
    size_t got;
    if (text == NULL)
        die("out of memory");
    rewind(f);
    while ((got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            char *more = realloc(text, cap *= 2);
            if (more == NULL)
                die("out of memory");
            text = more;
        }
    }
    text[len] = '\0';
    return text;
}

/*
 * Runs dbont-shard with args (NULL-terminated), with DBONT_SHARD_TEST_KILL_AT
 * = kill_hook when not NULL; kill_after_lines > 0: SIGKILL it once it has
 * printed that many "batch " lines.
 */
static run_result run_tool(const char *const *args, const char *kill_hook, int kill_after_lines)
{
    run_result r = {0, NULL, NULL, 0};
    char *argv[16];
    int out_pipe[2], i = 0;
    FILE *err_file = tmpfile(), *out;
    size_t out_len = 0, out_cap = 4096;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    pid_t pid;
    int wst;

    argv[i++] = (char *)tool;
    for (; *args != NULL && i < 15; args++)
        argv[i++] = (char *)*args;
    argv[i] = NULL;
    if (err_file == NULL || pipe(out_pipe) != 0)
        die("cannot make a pipe");
    fflush(stdout);
    pid = fork();
    if (pid < 0)
        die("cannot fork");
    if (pid == 0) {
        dup2(out_pipe[1], 1);
        dup2(fileno(err_file), 2);
        close(out_pipe[0]);
        close(out_pipe[1]);
        if (kill_hook != NULL)
            setenv("DBONT_SHARD_TEST_KILL_AT", kill_hook, 1);
        else
            unsetenv("DBONT_SHARD_TEST_KILL_AT");
        execv(tool, argv);
        _exit(127);
    }
    close(out_pipe[1]);
    out = fdopen(out_pipe[0], "r");
    r.out = malloc(out_cap);
    if (out == NULL || r.out == NULL)
        die("cannot read the tool's output");
    r.out[0] = '\0';
    while ((got = getline(&line, &line_cap, out)) > 0) {
        if (out_len + (size_t)got + 1 > out_cap) {
            char *more;
            while (out_len + (size_t)got + 1 > out_cap)
                out_cap *= 2;
            if ((more = realloc(r.out, out_cap)) == NULL)
                die("out of memory");
            r.out = more;
        }
        memcpy(r.out + out_len, line, (size_t)got + 1);
        out_len += (size_t)got;
        if (strncmp(line, "batch ", 6) == 0 && ++r.batch_lines == kill_after_lines) {
            /* Into the next batch (they take 10 to 30 ms here), so that the
             * kill lands inside its work rather than between batches. */
            struct timespec delay = {0, 6 * 1000 * 1000};
            nanosleep(&delay, NULL);
            kill(pid, SIGKILL);
        }
    }
    free(line);
    fclose(out);
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
        ;
    r.status = WIFEXITED(wst) ? WEXITSTATUS(wst) : WIFSIGNALED(wst) ? -WTERMSIG(wst) : -1000;
    r.err = slurp(err_file);
    fclose(err_file);
    return r;
}

/* Prints a run's output as comments (for whoever reads the test log). */
static void show(const char *what, const run_result *r)
{
    const char *p;
    printf("# %s: exit %d\n", what, r->status);
    for (p = r->out; *p != '\0';) {
        const char *eol = strchr(p, '\n');
        int n = eol != NULL ? (int)(eol - p) : (int)strlen(p);
        printf("#   %.*s\n", n, p);
        p += n + (eol != NULL ? 1 : 0);
    }
    for (p = r->err; *p != '\0';) {
        const char *eol = strchr(p, '\n');
        int n = eol != NULL ? (int)(eol - p) : (int)strlen(p);
        printf("#   (stderr) %.*s\n", n, p);
        p += n + (eol != NULL ? 1 : 0);
    }
    fflush(stdout);
}

/* ---- plan ----------------------------------------------------------------------------- */

static void test_plan(void)
{
    const char *args[] = {"--conf", conf_path, "--snapshot", snapshot_path, "plan", NULL};
    run_result r;
    const char *total, *p;
    long long moving = -1, rows = -1;
    double pct = -1;
    bool all_to_4 = true;
    int flows = 0;
    char sql[256];
    int i;

    section("plan");
    /* An account on shard 0 that its key does not route to with 4 shards. */
    for (i = 1; dbont_shard_of_int(INT64_C(900000000000) + i, OLD) == 0; i++)
        ;
    misplaced_id = INT64_C(900000000000) + i;
    snprintf(sql, sizeof sql, "INSERT INTO accounts VALUES (%" PRId64 ", 'misplaced', 0)",
             misplaced_id);
    CHECK(exec_ok(pg[0], sql), "an account with key %" PRId64 " (shard %d of 4) put on shard 0",
          misplaced_id, dbont_shard_of_int(misplaced_id, OLD));

    r = run_tool(args, NULL, 0);
    show("dbont-shard plan", &r);
    CHECK(r.status == 0, "plan exits 0 (%d)", r.status);
    total = strstr(r.out, "\ntotal: ");
    if (total != NULL)
        sscanf(total, "\ntotal: %lld of %lld rows move (%lf%%)", &moving, &rows, &pct);
    CHECK(pct >= 17.0 && pct <= 23.0,
          "plan: %lld of %lld rows move, %.2f%%, within 17%% .. 23%% (ideal 20%%)", moving, rows,
          pct);
    CHECK(strstr(r.out, "ideal 1 - 4/5 = 20.00%") != NULL, "plan prints the ideal, 1 - 4/5");
    for (p = r.out; (p = strstr(p, "  shard ")) != NULL; p++) {
        int from = -1, to = -1;
        if (sscanf(p, "  shard %d -> shard %d:", &from, &to) == 2) {
            flows++;
            if (to != 4)
                all_to_4 = false;
        }
    }
    CHECK(flows == 4 * (int)NTABLES && all_to_4,
          "plan: every moving row goes to shard 4 (%d flows, one per old shard and table)", flows);
    CHECK(strstr(r.out, "warning: 1 row on shard 0 belongs to another of the 4 old shards") != NULL,
          "plan: the misplaced account is reported on shard 0");
    run_free(&r);

    /* --keys names every moving key: as many as the plan counts, each
     * routed from its old shard to shard 4 */
    const char *keys[] = {"--conf", conf_path, "--snapshot", snapshot_path, "plan", "--table", "accounts", "--keys",
                          NULL};
    r = run_tool(keys, NULL, 0);
    long long counted = -1, listed = 0, wrong = 0;
    const char *m = strstr(r.out, "  moving: ");
    if (m != NULL)
        sscanf(m, "  moving: %lld", &counted);
    for (p = r.out; (p = strstr(p, "key accounts ")) != NULL; p++) {
        long long id;
        unsigned long long hash;
        int from, to;
        if (sscanf(p, "key accounts %lld 0x%llx %d -> %d", &id, &hash, &from, &to) != 4)
            continue;
        listed++;
        wrong += dbont_shard_of_int(id, OLD) != from || dbont_shard_of_int(id, OLD + 1) != to || to != OLD ||
                 dbont_shard_hash_int(id) != hash;
    }
    CHECK(r.status == 0 && counted > 0 && listed == counted && wrong == 0,
          "plan --keys names each of the %lld moving accounts with its hash, old and new shard (%lld listed, "
          "%lld wrong)",
          counted, listed, wrong);
    run_free(&r);
}

/* ---- verify: writes between a batch's copy and its delete ------------------------ */

typedef enum side { ON_OLD = 1, ON_NEW = 2, ON_BOTH = 3 } side;

typedef struct tamper {
    side where;        /* which copies to change */
    int copies;        /* COPIED reports seen */
    int from, to;
    char id[32];       /* the account changed */
} tamper;

/* At the first batch's first COPIED: changes an account of the batch in
 * flight (the largest id on the new shard: batches go in key order) on
 * its old shard, its new one, or both, as a write during the move would;
 * stops the move once the batch is moved. */
static bool tamper_batch(const dbont_reshard_batch *b, void *user)
{
    tamper *tp = user;
    PGresult *res;
    char sql[256];
    if (b->phase == DBONT_RESHARD_MOVED)
        return false;
    if (tp->copies++ > 0)
        return true;
    tp->from = b->from;
    tp->to = b->to;
    /* (ORDER BY the column, not the text the select list makes of it) */
    res = PQexec(pg[b->to], "SELECT id::text FROM accounts ORDER BY accounts.id DESC LIMIT 1");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        snprintf(tp->id, sizeof tp->id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (tp->where & ON_OLD) {
        snprintf(sql, sizeof sql, "UPDATE accounts SET balance = balance + 1 WHERE id = %s",
                 tp->id);
        exec_ok(pg[b->from], sql);
    }
    if (tp->where & ON_NEW) {
        snprintf(sql, sizeof sql, "UPDATE accounts SET email = 'new@example.com' WHERE id = %s",
                 tp->id);
        exec_ok(pg[b->to], sql);
    }
    return true;
}

/* The account's row on a shard: "balance|email", or "" when absent. */
static void account_on(int shard, const char *id, char *out, size_t size)
{
    const char *v[1] = {id};
    PGresult *res = PQexecParams(pg[shard],
                                 "SELECT balance || '|' || email FROM accounts WHERE id = $1::bigint",
                                 1, NULL, v, NULL, NULL, 0);
    snprintf(out, size, "%s",
             PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 ? PQgetvalue(res, 0, 0)
                                                                            : "");
    PQclear(res);
}

/* One in-process move of the accounts group, batches of 20, with a write
 * to the batch in flight; stops after the first batch is moved. */
static dbont_status move_with_write(dbont_shardset *set, const dbont_reshard_table *tabs,
                                    size_t n, tamper *tp, dbont_reshard_move_report *report,
                                    dbont_error *err)
{
    dbont_reshard_move_options mo = DBONT_RESHARD_MOVE_OPTIONS_INIT;
    mo.batch_keys = 20;
    mo.on_batch = tamper_batch;
    mo.user = tp;
    return dbont_reshard_move(set, tabs, n, &mo, report, err);
}

static void test_verify(void)
{
    dbont_shardset_options so = DBONT_SHARDSET_OPTIONS_INIT;
    dbont_reshard_schema schema;
    dbont_reshard_table *tabs = NULL;
    dbont_reshard_move_report report;
    dbont_shardset *set;
    dbont_error err;
    dbont_status st;
    char sql[256], want[64], old_row[128], new_row[128], expected[128];
    size_t n = 0;

    section("writes during a batch's move (in process: dbont_reshard_move)");
    so.conf_path = conf_path;
    so.pool.max_size = 2;
    set = dbont_shardset_open(&so, &err);
    CHECK(set != NULL, "the shard set opens from the configuration (%s)",
          set != NULL ? "ok" : err.message);
    if (set == NULL)
        return;
    CHECK(dbont_shardset_count(set) == NEW && dbont_shardset_moving_from(set) == OLD,
          "dbont_shardset_count 5, dbont_shardset_moving_from 4 (%d, %d)",
          dbont_shardset_count(set), dbont_shardset_moving_from(set));
    st = dbont_reshard_schema_read(snapshot_path, &schema, &err);
    CHECK(st == DBONT_OK, "the snapshot reads (%s)", st == DBONT_OK ? "ok" : err.message);
    if (st != DBONT_OK) {
        dbont_shardset_close(set);
        return;
    }
    dbont_reshard_schema_select(&schema, "accounts", true, &tabs, &n, &err);
    CHECK(n == 2 && strcmp(tabs[0].name, "accounts") == 0 && strcmp(tabs[1].name, "orders") == 0,
          "accounts selects accounts and orders, parents first");

    {   /* On the old shard, after the copy: copied again, and the write kept. */
        tamper tp = {ON_OLD, 0, -1, -1, ""};
        st = move_with_write(set, tabs, n, &tp, &report, &err);
        CHECK(st == DBONT_OK && report.batches == 1 && report.stopped && tp.copies == 2,
              "a write to the old shard after the copy: the batch is copied again and moved (%s; "
              "%d copies, %" PRIu64 " batch)",
              st == DBONT_OK ? "ok" : err.message, tp.copies, report.batches);
        account_on(tp.from, tp.id, old_row, sizeof old_row);
        account_on(tp.to, tp.id, new_row, sizeof new_row);
        snprintf(expected, sizeof expected, "%lld|user%s@example.com",
                 (strtoll(tp.id, NULL, 10) * 37) % 100000 + 1, tp.id);
        CHECK(old_row[0] == '\0' && strcmp(new_row, expected) == 0,
              "account %s is on shard %d only, with the write (%s)", tp.id, tp.to, new_row);
        snprintf(sql, sizeof sql, "UPDATE accounts SET balance = balance - 1 WHERE id = %s", tp.id);
        exec_ok(pg[tp.to], sql);
        dbont_reshard_move_report_free(&report);
    }
    {   /* On the new shard, after the copy: the copy kept, the original deleted. */
        tamper tp = {ON_NEW, 0, -1, -1, ""};
        st = move_with_write(set, tabs, n, &tp, &report, &err);
        CHECK(st == DBONT_OK && report.batches == 1 && tp.copies == 1,
              "a write to the new shard after the copy: the batch is moved once (%s)",
              st == DBONT_OK ? "ok" : err.message);
        account_on(tp.from, tp.id, old_row, sizeof old_row);
        account_on(tp.to, tp.id, new_row, sizeof new_row);
        CHECK(old_row[0] == '\0' && strstr(new_row, "|new@example.com") != NULL,
              "account %s is on shard %d only, with the write (%s)", tp.id, tp.to, new_row);
        snprintf(sql, sizeof sql,
                 "UPDATE accounts SET email = 'user' || id || '@example.com' WHERE id = %s", tp.id);
        exec_ok(pg[tp.to], sql);
        dbont_reshard_move_report_free(&report);
    }
    {   /* On both: stop, each side keeping its version. */
        tamper tp = {ON_BOTH, 0, -1, -1, ""};
        dbont_error_clear(&err);
        st = move_with_write(set, tabs, n, &tp, &report, &err);
        printf("# dbont_reshard_move: %s %s\n", err.sqlstate, st == DBONT_OK ? "" : err.message);
        CHECK(st == DBONT_ERROR && strcmp(err.sqlstate, "XX001") == 0 && report.batches == 0,
              "writes to both copies: the move fails with XX001 (%s), no batch moved",
              err.sqlstate);
        snprintf(want, sizeof want, "shard %d (primary ", tp.from);
        CHECK(strstr(err.message, want) != NULL &&
                  strstr(err.message, "batch 1 (20 keys from shard") != NULL &&
                  strstr(err.message, "each keeps its version") != NULL,
              "the error names the old shard and the batch, and says each side keeps its rows");
        account_on(tp.from, tp.id, old_row, sizeof old_row);
        account_on(tp.to, tp.id, new_row, sizeof new_row);
        CHECK(old_row[0] != '\0' && strstr(new_row, "|new@example.com") != NULL,
              "account %s: shard %d keeps %s, shard %d keeps %s", tp.id, tp.from, old_row, tp.to,
              new_row);
        /* Reconciled by hand: both back to the original. */
        snprintf(sql, sizeof sql, "UPDATE accounts SET balance = balance - 1 WHERE id = %s", tp.id);
        exec_ok(pg[tp.from], sql);
        snprintf(sql, sizeof sql,
                 "UPDATE accounts SET email = 'user' || id || '@example.com' WHERE id = %s", tp.id);
        exec_ok(pg[tp.to], sql);
        dbont_reshard_move_report_free(&report);
    }
    check_between("after the writes (reconciled)", 20, true);
    free(tabs);
    dbont_reshard_schema_free(&schema);
    dbont_shardset_close(set);
}

/* ---- killed, twice ---------------------------------------------------------------------- */

static void test_killed(void)
{
    const char *args[] = {"--conf", conf_path, "--snapshot", snapshot_path, "move", "--batch",
                          "200", NULL};
    run_result r;
    PGresult *res;
    char sql[256], id[32] = "";
    int i;

    section("killed just after a batch was copied (test hook)");
    r = run_tool(args, "copied:3", 0);
    show("dbont-shard move --batch 200 (DBONT_SHARD_TEST_KILL_AT=copied:3)", &r);
    CHECK(r.status == -SIGKILL, "move killed itself with SIGKILL at batch 3 (%d)", r.status);
    CHECK(r.batch_lines == 2, "two batches were moved before (%d batch lines)", r.batch_lines);
    /* The earlier run (test_verify) left its batch on both shards: this
     * one began with it (keys go in order), so batch 3 is the only one
     * in flight now. */
    check_between("after the kill at batch 3's copy", 200, true);
    run_free(&r);

    section("precheck: a copy that differs from its original");
    /* An account of the batch in flight: on shard 4 and on its old shard
     * (the largest keys of shard 0 moved so far: batches go in key order). */
    res = PQexec(pg[4], "SELECT id::text FROM accounts ORDER BY accounts.id DESC");
    for (i = 0; i < PQntuples(res) && id[0] == '\0'; i++) {
        int64_t v = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM accounts WHERE id = %" PRId64, v);
        if (count_of(pg[dbont_shard_of_int(v, OLD)], sql) == 1)
            snprintf(id, sizeof id, "%" PRId64, v);
    }
    PQclear(res);
    CHECK(id[0] != '\0', "account %s is on both shards (the batch in flight)", id);
    snprintf(sql, sizeof sql, "UPDATE accounts SET email = 'changed on the new shard' WHERE id = %s",
             id);
    exec_ok(pg[4], sql);
    {
        const char *args1[] = {"--conf", conf_path, "--snapshot", snapshot_path, "move", NULL};
        r = run_tool(args1, NULL, 0);
    }
    show("dbont-shard move (a copy differs)", &r);
    CHECK(r.status == 1, "move refuses: exit 1 (%d)", r.status);
    CHECK(strstr(r.err, "XX001") != NULL && strstr(r.err, "shard 4 (primary ") != NULL &&
              strstr(r.err, "table accounts") != NULL && strstr(r.err, id) != NULL &&
              strstr(r.err, "nothing was changed") != NULL,
          "the error names shard 4, the table and key %s, and says nothing was changed", id);
    CHECK(r.batch_lines == 0, "no batch was moved");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM accounts WHERE id = %s AND email = 'changed on the new shard'",
             id);
    CHECK(count_of(pg[4], sql) == 1, "shard 4 keeps its changed copy");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM accounts WHERE id = %s", id);
    CHECK(count_of(pg[dbont_shard_of_int(strtoll(id, NULL, 10), OLD)], sql) == 1,
          "the old shard keeps the original");
    run_free(&r);
    /* Reconciled: the copy is made equal to the original again. */
    snprintf(sql, sizeof sql, "UPDATE accounts SET email = 'user' || id || '@example.com' WHERE id = %s",
             id);
    exec_ok(pg[4], sql);

    section("killed at a moment picked by the clock (SIGKILL from outside)");
    r = run_tool(args, NULL, 3);
    show("dbont-shard move --batch 200 (SIGKILL after its 3rd batch line)", &r);
    CHECK(r.status == -SIGKILL || r.status == 0, "move was killed (%d)", r.status);
    check_between("after the outside kill", 200, false);
    run_free(&r);
}

/* ---- readers during the last move --------------------------------------------------------- */

typedef struct reader {
    pthread_t thread;
    unsigned seed;
    volatile bool *stop;
    long lookups, found, missed, third_looks;
    char first_miss[64];
} reader;

/* The account's row on shard s: 1 found, 0 not, -1 error. */
static int lookup(PGconn *c, const char *id)
{
    const char *v[1] = {id};
    PGresult *res = PQexecParams(c, "SELECT 1 FROM accounts WHERE id = $1::bigint", 1, NULL, v,
                                 NULL, NULL, 0);
    int out = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : -1;
    PQclear(res);
    return out;
}

/* Looks accounts up by the read rule of dbont/shardset.h: the new
 * shard, then the old one, then the new one again. */
static void *read_rule(void *arg)
{
    reader *rd = arg;
    PGconn *c[NEW];
    int s;
    for (s = 0; s < NEW; s++) {
        c[s] = PQconnectdb(dsn[s]);
        if (PQstatus(c[s]) != CONNECTION_OK) {
            snprintf(rd->first_miss, sizeof rd->first_miss, "cannot connect to shard %d", s);
            rd->missed++;
        }
    }
    while (!*rd->stop && rd->first_miss[0] == '\0') {
        int64_t v = account_id((int)(rand_r(&rd->seed) % NACCOUNTS));
        int old = dbont_shard_of_int(v, OLD), now = dbont_shard_of_int(v, NEW);
        char id[32];
        int got;
        snprintf(id, sizeof id, "%" PRId64, v);
        got = lookup(c[now], id);
        if (got == 0 && old != now)
            got = lookup(c[old], id);
        if (got == 0 && old != now) {
            rd->third_looks++;
            got = lookup(c[now], id);
        }
        rd->lookups++;
        if (got == 1) {
            rd->found++;
        } else {
            rd->missed++;
            if (rd->first_miss[0] == '\0')
                snprintf(rd->first_miss, sizeof rd->first_miss, "account %s (%d)", id, got);
        }
    }
    for (s = 0; s < NEW; s++)
        PQfinish(c[s]);
    return NULL;
}

static void test_complete(void)
{
    const char *args[] = {"--conf", conf_path, "--snapshot", snapshot_path, "move", "--batch",
                          "50", NULL};
    volatile bool stop = false;
    reader rd[2];
    run_result r;
    char sql[256];
    double t0;
    size_t t;
    int i, s;

    section("complete, with readers");
    /* The misplaced account goes: the final census wants every row home. */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM accounts WHERE id = %" PRId64, misplaced_id);
    CHECK(count_of(pg[0], sql) == 1, "the misplaced account was left alone on shard 0");
    snprintf(sql, sizeof sql, "DELETE FROM accounts WHERE id = %" PRId64, misplaced_id);
    exec_ok(pg[0], sql);

    for (i = 0; i < 2; i++) {
        memset(&rd[i], 0, sizeof rd[i]);
        rd[i].seed = 12345u + (unsigned)i;
        rd[i].stop = &stop;
        pthread_create(&rd[i].thread, NULL, read_rule, &rd[i]);
    }
    t0 = now_s();
    r = run_tool(args, NULL, 0);
    stop = true;
    for (i = 0; i < 2; i++)
        pthread_join(rd[i].thread, NULL);
    show("dbont-shard move --batch 50", &r);
    printf("# move: %.2f s\n", now_s() - t0);
    CHECK(r.status == 0, "move runs to the end: exit 0 (%d)", r.status);
    CHECK(r.batch_lines > 10, "in many batches (%d)", r.batch_lines);
    CHECK(strstr(r.out, "the move from 4 to 5 shards is complete") != NULL,
          "move says the move is complete");
    for (i = 0; i < 2; i++)
        CHECK(rd[i].lookups > 100 && rd[i].missed == 0,
              "reader %d: %ld lookups during the move (new, old, new: %ld needed the third "
              "look), every account found (%ld missed%s%s)",
              i, rd[i].lookups, rd[i].third_looks, rd[i].missed,
              rd[i].first_miss[0] != '\0' ? ": " : "", rd[i].first_miss);
    run_free(&r);

    section("every row at home");
    for (t = 0; t < NTABLES; t++) {
        census c = take_census(t);
        free(c.both_keys);
        CHECK(c.lost == 0 && c.extra == 0 && c.astray == 0 && c.both == 0 &&
                  c.on_new == noriginal[t] && c.rows == noriginal[t],
              "%s: all %zu rows are exactly on their shard for 5 shards, the same rows as before "
              "(lost %zu, extra %zu, elsewhere %zu, on two shards %zu)",
              tables[t].name, noriginal[t], c.lost, c.extra, c.astray, c.both);
    }
    {
        long long orphans = 0, on4 = 0;
        for (s = 0; s < NEW; s++) {
            orphans += count_of(pg[s], "SELECT count(*) FROM orders o WHERE NOT EXISTS "
                                       "(SELECT 1 FROM accounts a WHERE a.id = o.account_id)");
            if (s == 4)
                on4 = count_of(pg[s], "SELECT count(*) FROM orders");
        }
        CHECK(orphans == 0 && on4 > 0,
              "orders moved with their accounts (%lld on shard 4; %lld without their account)",
              on4, orphans);
    }
}

static void test_again(void)
{
    const char *move[] = {"--conf", conf_path, "--snapshot", snapshot_path, "move", NULL};
    const char *plan[] = {"--conf", conf_path, "--snapshot", snapshot_path, "plan", NULL};
    const char *one[] = {"--conf", conf_path, "--snapshot", snapshot_path, "move", "--table",
                         "orders", NULL};
    run_result r;

    section("again");
    r = run_tool(move, NULL, 0);
    show("dbont-shard move (third run)", &r);
    CHECK(r.status == 0 && r.batch_lines == 0 && strstr(r.out, "nothing to move") != NULL,
          "a third move moves nothing (exit %d, %d batches)", r.status, r.batch_lines);
    run_free(&r);
    r = run_tool(plan, NULL, 0);
    show("dbont-shard plan (after)", &r);
    CHECK(r.status == 0 && strstr(r.out, "\ntotal: 0 of ") != NULL &&
              strstr(r.out, "already moved: ") != NULL,
          "plan: nothing left to move, rows already on the new shard");
    run_free(&r);
    r = run_tool(one, NULL, 0);
    show("dbont-shard move --table orders", &r);
    CHECK(r.status == 0 &&
              strstr(r.out, "move: 4 -> 5 shards; accounts, orders\nnote: orders moves with the "
                            "tables joined to it by foreign keys") != NULL,
          "move --table orders takes accounts along, parents first");
    run_free(&r);
}

static void test_errors(void)
{
    const char *no_command[] = {"--conf", conf_path, "--snapshot", snapshot_path, NULL};
    const char *bad_batch[] = {"--snapshot", snapshot_path, "move", "--batch", "0", NULL};
    const char *no_move[] = {"--conf", no_move_conf, "--snapshot", snapshot_path, "plan", NULL};
    const char *old_count[] = {"--conf", conf_path, "--snapshot", old_snapshot_path, "plan", NULL};
    const char *bad_table[] = {"--conf", conf_path, "--snapshot", snapshot_path, "plan",
                               "--table", "nosuch", NULL};
    run_result r;
    char want[128];

    section("errors");
    r = run_tool(no_command, NULL, 0);
    CHECK(r.status == 2 && strstr(r.err, "no command") != NULL, "no command: exit 2 (%d)",
          r.status);
    run_free(&r);
    r = run_tool(bad_batch, NULL, 0);
    CHECK(r.status == 2 && strstr(r.err, "--batch needs a whole number") != NULL,
          "--batch 0: exit 2 (%d)", r.status);
    run_free(&r);
    r = run_tool(no_move, NULL, 0);
    CHECK(r.status == 1 && strstr(r.err, "no 'moving-from N'") != NULL,
          "a configuration without moving-from: exit 1, saying so (%d: %s)", r.status, r.err);
    run_free(&r);
    r = run_tool(old_count, NULL, 0);
    snprintf(want, sizeof want, "%s:6: error: table 'accounts' is spread over 4 shards",
             old_snapshot_path);
    CHECK(r.status == 1 && strstr(r.err, want) != NULL,
          "a snapshot at the old count: exit 1, at its shard-by line (%d: %s)", r.status, r.err);
    run_free(&r);
    r = run_tool(bad_table, NULL, 0);
    CHECK(r.status == 1 && strstr(r.err, "table 'nosuch' is not a sharded table") != NULL,
          "--table nosuch: exit 1 (%d)", r.status);
    run_free(&r);
}

/* ---- main ---------------------------------------------------------------------------------- */

static const char snapshot_text[] =
    "# dbont schema snapshot, format 1 (written by test_reshard.c)\n"
    "migration 0001_reshard.sql\n"
    "\n"
    "table accounts\n"
    "  column id bigint not-null\n"
    "  shard-by hash id %d\n"
    "  column email text not-null\n"
    "  column balance bigint\n"
    "  primary-key accounts_pkey (id)\n"
    "\n"
    "table devices\n"
    "  column id uuid not-null default gen_random_uuid()\n"
    "  column label text not-null\n"
    "  primary-key devices_pkey (id)\n"
    "  shard-by hash id %d\n"
    "\n"
    "table orders\n"
    "  column id uuid not-null default gen_random_uuid()\n"
    "  column account_id bigint not-null\n"
    "  column amount bigint not-null\n"
    "  column note text\n"
    "  primary-key orders_pkey (id)\n"
    "  foreign-key orders_account_id_fkey (account_id) references accounts (id)\n"
    "  index orders_account_id_idx btree (account_id)\n"
    "  shard-by hash account_id %d\n"
    "\n"
    "table tags\n"
    "  column name text not-null\n"
    "  column uses integer not-null\n"
    "  primary-key tags_pkey (name)\n"
    "  shard-by hash name %d\n";

int main(int argc, char **argv)
{
    char text[4096], var[64];
    int s, len;
    double t0 = now_s();

    if (argc != 2)
        die("usage: test_reshard PATH_TO_DBONT_SHARD");
    tool = argv[1];
    for (s = 0; s < NEW; s++) {
        snprintf(var, sizeof var, "DBONT_SHARD_%d_PRIMARY", s);
        dsn[s] = getenv(var);
        if (dsn[s] == NULL)
            die("DBONT_SHARD_<i>_PRIMARY are not set for 5 shards (run through "
                "dbont_add_shard_test ... SHARDS 5)");
        pg[s] = PQconnectdb(dsn[s]);
        if (PQstatus(pg[s]) != CONNECTION_OK)
            die(PQerrorMessage(pg[s]));
    }
    /* The set's configuration during the move, and without the move. */
    len = snprintf(text, sizeof text, "# resharding 4 -> 5\nshards %d\nmoving-from %d\n", NEW, OLD);
    for (s = 0; s < NEW; s++)
        len += snprintf(text + len, sizeof text - (size_t)len, "shard %d primary %s\n", s, dsn[s]);
    write_file(conf_path, text);
    len = snprintf(text, sizeof text, "shards %d\n", NEW);
    for (s = 0; s < NEW; s++)
        len += snprintf(text + len, sizeof text - (size_t)len, "shard %d primary %s\n", s, dsn[s]);
    write_file(no_move_conf, text);
    snprintf(text, sizeof text, snapshot_text, NEW, NEW, NEW, NEW);
    write_file(snapshot_path, text);
    snprintf(text, sizeof text, snapshot_text, OLD, NEW, NEW, NEW);
    write_file(old_snapshot_path, text);

    section("setup");
    create_tables();
    insert_accounts();
    insert_tags_and_devices();
    take_original();
    CHECK(noriginal[0] == NACCOUNTS && noriginal[1] > NACCOUNTS && noriginal[2] == NTAGS &&
              noriginal[3] == NDEVICES,
          "%zu accounts, %zu orders, %zu tags, %zu devices on the first 4 shards (%.1f s)",
          noriginal[0], noriginal[1], noriginal[2], noriginal[3], now_s() - t0);
    check_between("before the move", 0, false);

    test_errors();
    test_plan();
    test_verify();
    test_killed();
    test_complete();
    test_again();

    for (s = 0; s < NEW; s++)
        PQfinish(pg[s]);
    for (size_t t = 0; t < NTABLES; t++) {
        for (size_t i = 0; i < noriginal[t]; i++)
            free(original[t][i].text);
        free(original[t]);
    }
    unlink(conf_path);
    unlink(no_move_conf);
    unlink(snapshot_path);
    unlink(old_snapshot_path);
    printf("# total %.1f s\n", now_s() - t0);
    printf("%ld passed, %ld failed\n", check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}
