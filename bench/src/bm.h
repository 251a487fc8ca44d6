/*
 * bm.h: what the parts of dbont-bench share.
 *
 * dbont-bench times the code dbont-gen made from bench/bench.ttl (gen.c)
 * against the same workloads written directly over libpq (hand.c), on one
 * connection (the dbont_conn's own PGconn).  dataset.c loads the data,
 * main.c runs the rounds, report.c prints and records the figures;
 * cache.c is the caching benchmark (`dbont-bench cache`); shard.c and
 * fanout.c the scale-out ones (`dbont-bench shard`, `dbont-bench fanout`).
 *
 * Every workload draws its inputs from the formulas below, which
 * bench/node/bench.mjs repeats, so the C sides and the Node peers look up
 * the same emails, windows and rows.
 */
#ifndef BM_H
#define BM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* ---- dataset ------------------------------------------------------------ */

#define BM_ORGS 100
#define BM_W2_WINDOW 100   /* users per W2 window */
#define BM_W2_MIN_POSTS 5  /* HAVING COUNT(posts.id) > 5, as the reference */
#define BM_PIPELINE_WINDOW 64

/* The organization of user u (ids from 1). */
static inline int64_t bm_user_org(int64_t user) { return (user - 1) % BM_ORGS + 1; }

/* The i-th user looked up by W1 (a permutation of 1..nusers: 48271 is
 * prime to 2 and 5, hence to any power of ten of users). */
static inline int64_t bm_w1_user(uint64_t i, int64_t nusers)
{
    return 1 + (int64_t)((i * 48271u + 12345u) % (uint64_t)nusers);
}

/* First user id of the i-th W2 window [first, first + BM_W2_WINDOW - 1]. */
static inline int64_t bm_w2_first(uint64_t i, int64_t nusers)
{
    return 1 + (int64_t)((i * 7919u) % (uint64_t)(nusers - BM_W2_WINDOW + 1));
}

/* The author of the i-th inserted post (W3 with salt 777, W4 with 99). */
static inline int64_t bm_insert_user(uint64_t i, uint64_t salt, int64_t nusers)
{
    return 1 + (int64_t)((i * 48271u + salt) % (uint64_t)nusers);
}

/* The email of user u: "user<u>@example.com". */
int bm_email(char *buf, size_t size, int64_t user);

/* ---- posts to insert (W3, W4) ------------------------------------------- */

/* A new post as the hand-written code holds it; content NULL is SQL NULL. */
typedef struct bm_post {
    int64_t organization_id;
    int64_t user_id;
    const char *title;
    const char *content;
} bm_post;

/* n posts (W3: salt 777, prefix "insert"; W4: salt 99, prefix "bulk"):
 * every tenth content is NULL; strings live in one block freed with the
 * array (bm_posts_free). */
bm_post *bm_posts_make(size_t n, uint64_t salt, const char *prefix, int64_t nusers);
void bm_posts_free(bm_post *posts);

/* ---- timing and statistics ---------------------------------------------- */

double bm_now(void); /* seconds, monotonic */

/* The median of v[0..n) (sorts v). */
double bm_median(double *v, size_t n);

/* The most rounds a benchmark keeps figures for. */
#define BM_MAX_ROUNDS 64

/* The median, least and greatest of v[0..n) (n at most BM_MAX_ROUNDS); v
 * is not changed. */
typedef struct bm_summary {
    double med, min, max;
} bm_summary;
bm_summary bm_summarize(const double *v, size_t n);

/* v with thousands separators ("1,234,567"), in buf. */
const char *bm_num(char *buf, size_t size, double v);

/* A duration in seconds, in the unit that suits it ("1.57 µs"), in buf. */
const char *bm_dur(char *buf, size_t size, double seconds);

/* CPU seconds the whole machine has been busy (every CPU, all but idle and
 * iowait; /proc/stat); < 0 when unreadable.  Its difference over a run,
 * less this process's own CPU, is what other programs took. */
double bm_machine_busy(void);

/* ---- small helpers ------------------------------------------------------ */

static inline int64_t bm_get_i64(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | u[i];
    return (int64_t)v;
}

static inline void bm_put_i64(char *p, int64_t value)
{
    uint64_t v = (uint64_t)value;
    for (int i = 7; i >= 0; i--) {
        p[i] = (char)(v & 0xff);
        v >>= 8;
    }
}

static inline void bm_put_i32(char *p, int32_t value)
{
    uint32_t v = (uint32_t)value;
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

static inline void bm_put_i16(char *p, int16_t value)
{
    uint16_t v = (uint16_t)value;
    p[0] = (char)(v >> 8);
    p[1] = (char)v;
}

/* Prints "dbont-bench: " and the message, and exits with status 1. */
void bm_die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

/* Runs sql (no parameters, rows discarded); dies on failure. */
void bm_exec(PGconn *pg, const char *sql);

/* The single value of a one-row, one-column query, as int64; dies on failure. */
int64_t bm_query_i64(PGconn *pg, const char *sql);

/* Folds a row into a checksum (both sides of a workload must agree). */
static inline uint64_t bm_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15u + (h << 6) + (h >> 2);
    return h;
}
static inline uint64_t bm_mix_str(uint64_t h, const char *s)
{
    /* first and last characters and the length: enough to tell rows apart
     * without timing a full hash */
    size_t n = 0;
    while (s[n])
        n++;
    return bm_mix(h, (uint64_t)n << 16 | (uint64_t)(unsigned char)s[0] << 8 |
                         (uint64_t)(unsigned char)(n ? s[n - 1] : 0));
}

/* ---- the workloads, one implementation per side ------------------------- */

/* Inputs prepared before timing, shared by both sides. */
typedef struct bm_inputs {
    int64_t nusers;
    size_t w1_n;
    char **w1_emails;       /* w1_n emails */
    size_t w2_n;
    int64_t *w2_first;      /* w2_n window starts */
    size_t w3_n;
    bm_post *w3_posts;
    size_t w4_n;
    bm_post *w4_posts;
    size_t w1b_n;           /* pipelined lookups: w1b_n emails, */
    char **w1b_emails;      /* in batches of w1b_batch */
    size_t w1b_batch;
    size_t offset;          /* a slice's first input in the whole arrays */
} bm_inputs;

/* Each workload function returns a checksum of what it read (W3: of the
 * ids returned; W4: the number of rows) and dies on any failure.
 * The generated code's side needs the dbont_conn, hand.c only its PGconn. */
struct dbont_conn;
void *bm_gen_setup(struct dbont_conn *conn, const bm_inputs *in);
uint64_t bm_gen_w1(void *ctx, const bm_inputs *in);
uint64_t bm_gen_w2(void *ctx, const bm_inputs *in);
uint64_t bm_gen_w3(void *ctx, const bm_inputs *in);
uint64_t bm_gen_w4(void *ctx, const bm_inputs *in);
uint64_t bm_gen_w1b(void *ctx, const bm_inputs *in);
void bm_gen_teardown(void *ctx);

void *bm_hand_setup(PGconn *pg, const bm_inputs *in);
uint64_t bm_hand_w1(void *ctx, const bm_inputs *in);
uint64_t bm_hand_w2(void *ctx, const bm_inputs *in);
uint64_t bm_hand_w3(void *ctx, const bm_inputs *in);
uint64_t bm_hand_w3_all(void *ctx, const bm_inputs *in);  /* RETURNING every column */
uint64_t bm_hand_w4_binary(void *ctx, const bm_inputs *in);
uint64_t bm_hand_w4_text(void *ctx, const bm_inputs *in);
uint64_t bm_hand_w1b(void *ctx, const bm_inputs *in);     /* a Sync per lookup */
uint64_t bm_hand_w1b_shared(void *ctx, const bm_inputs *in); /* a Sync per window */
void bm_hand_teardown(void *ctx);

/* ---- loading ------------------------------------------------------------ */

/* Fills organizations, users and posts (nusers, nposts) with COPY, then
 * creates the indexes and analyzes.  Prints what it did. */
void bm_load(PGconn *pg, int64_t nusers, int64_t nposts);

/* ---- results ------------------------------------------------------------ */

/* report.c: reads result files ("meta KEY VALUE", "result WORKLOAD IMPL
 * UNIT MEDIAN MIN MAX N", "rates ..." and "cpu ..." lines), prints the
 * ratio table and, when md is not NULL, writes it as Markdown, preceded by
 * the machine and versions when with_meta.  Returns 0, or 1 when a file is
 * unreadable. */
int bm_report(const char *const *files, size_t nfiles, const char *md, bool with_meta);

/* ---- caching ------------------------------------------------------------ */

/* cache.c: `dbont-bench cache ARGS` (the caching benchmark); the exit status. */
int bm_cache_main(int argc, char **argv);

/* dbont-bench shard (shard.c) */
int bm_shard_main(int argc, char **argv);

/* dbont-bench fanout (fanout.c): a query over 4 shards against the same
 * query on one server; run under tests/pg/with-shards.sh */
int bm_fanout_main(int argc, char **argv);

#endif
