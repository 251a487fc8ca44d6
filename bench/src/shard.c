/*
 * shard.c: `dbont-bench shard`, the cost and the movement of shard
 * routing (docs/performance.md, "Scale-out"; docs/scale-out.md).
 *
 *   ROUTE  dbont_shard_of_int/text/uuid(key, 16) per key, against the same
 *          hash taken modulo 16 (dbont_shard_hash_*(key) % 16): the price
 *          of jump consistent hash over plain hashing, on the same keys,
 *          the two sides cut into slices run in turn (A B, B A, ...),
 *          medians over the rounds.  Keys: 1,000,000 bigints (W1's user
 *          ids), their e-mails as text, and random uuids.
 *   MOVE   how many of those uuid keys change shard from 16 to 17 shards,
 *          under jump and under hash % n, against the ideal 1/17; and
 *          where the moved ones go (jump: all to the new shard 16), and
 *          the balance over 16 shards (largest and smallest shard against
 *          the mean).
 *
 * No server: routing is pure computation.  With --md, the tables are
 * appended to FILE.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dbont/dbont.h>

#include "bm.h"

#define MAX_ROUNDS BM_MAX_ROUNDS
#define NSHARDS 16

typedef struct keys {
    size_t n;
    int64_t *ints;
    char **texts;
    size_t *text_lens;
    dbont_uuid *uuids;
} keys;

static keys make_keys(size_t n)
{
    keys k = {n, malloc(n * sizeof(int64_t)), malloc(n * sizeof(char *)), malloc(n * sizeof(size_t)),
              malloc(n * sizeof(dbont_uuid))};
    if (!k.ints || !k.texts || !k.text_lens || !k.uuids)
        bm_die("shard: out of memory");
    for (size_t i = 0; i < n; i++) {
        char email[64];
        k.ints[i] = (int64_t)i + 1;
        int len = bm_email(email, sizeof email, k.ints[i]);
        if ((k.texts[i] = malloc((size_t)len + 1)) == NULL)
            bm_die("shard: out of memory");
        memcpy(k.texts[i], email, (size_t)len + 1);
        k.text_lens[i] = (size_t)len;
        if (dbont_uuid_random(&k.uuids[i]) != 0)
            bm_die("shard: no random bytes for the uuids");
    }
    return k;
}

static void free_keys(keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->texts[i]);
    free(k->ints);
    free(k->texts);
    free(k->text_lens);
    free(k->uuids);
}

enum kind { K_INT, K_TEXT, K_UUID };
static const char *const kind_name[] = {"bigint", "text (an e-mail)", "uuid"};

/* Routes keys [lo, hi) with jump (or the modulo when !jump); a sum of the
 * shards, so that nothing is optimized away. */
static uint64_t route(const keys *k, enum kind kind, bool jump, size_t lo, size_t hi)
{
    uint64_t sum = 0;
    for (size_t i = lo; i < hi; i++) {
        uint64_t h;
        switch (kind) {
        case K_INT:
            if (jump)
                sum += (uint64_t)dbont_shard_of_int(k->ints[i], NSHARDS);
            else
                h = dbont_shard_hash_int(k->ints[i]), sum += h % NSHARDS;
            break;
        case K_TEXT:
            if (jump)
                sum += (uint64_t)dbont_shard_of_text(k->texts[i], k->text_lens[i], NSHARDS);
            else
                h = dbont_shard_hash_text(k->texts[i], k->text_lens[i]), sum += h % NSHARDS;
            break;
        default:
            if (jump)
                sum += (uint64_t)dbont_shard_of_uuid(&k->uuids[i], NSHARDS);
            else
                h = dbont_shard_hash_uuid(&k->uuids[i]), sum += h % NSHARDS;
            break;
        }
    }
    return sum;
}

static void part_route(const keys *k, size_t rounds, size_t slices, FILE *md)
{
    printf("ROUTE: %zu keys per type, %d shards; %zu rounds of %zu slices\n", k->n, NSHARDS, rounds, slices);
    if (md)
        fprintf(md, "| key | `dbont_shard_of_*(key, %d)`: jump over xxHash64 | baseline: `dbont_shard_hash_*(key) %% %d` "
                    "| baseline time / dbont time | per round (median, min-max) | target |\n|---|---:|---:|---:|---:|---|\n",
                NSHARDS, NSHARDS);
    for (int kind = K_INT; kind <= K_UUID; kind++) {
        double ns[2][MAX_ROUNDS], ratio[MAX_ROUNDS];
        uint64_t check[2] = {0, 0};
        /* untimed: the keys into the CPU's caches, its clock up */
        check[0] += route(k, (enum kind)kind, true, 0, k->n);
        check[1] += route(k, (enum kind)kind, false, 0, k->n);
        for (size_t r = 0; r < rounds; r++) {
            double t[2] = {0, 0};
            for (size_t s = 0; s < slices; s++)
                for (size_t j = 0; j < 2; j++) {
                    size_t side = (j + s + r) % 2; /* 0: jump, 1: modulo */
                    size_t lo = k->n * s / slices, hi = k->n * (s + 1) / slices;
                    double t0 = bm_now();
                    check[side] += route(k, (enum kind)kind, side == 0, lo, hi);
                    t[side] += bm_now() - t0;
                }
            ns[0][r] = t[0] / (double)k->n * 1e9;
            ns[1][r] = t[1] / (double)k->n * 1e9;
            ratio[r] = t[1] / t[0];
        }
        bm_summary s0 = bm_summarize(ns[0], rounds), s1 = bm_summarize(ns[1], rounds);
        bm_summary sr = bm_summarize(ratio, rounds);
        double m0 = s0.med, m1 = s1.med, lo0 = s0.min, hi0 = s0.max, mr = sr.med, rlo = sr.min, rhi = sr.max;
        char target[64] = "";
        if (kind == K_UUID)
            snprintf(target, sizeof target, "≤ 50 ns: %s", m0 <= 50 ? "met" : "MISSED");
        printf("  %-18s %7.1f ns/key (%.1f-%.1f)   modulo %7.1f ns/key   %.2fx  %s   [%llu %llu]\n", kind_name[kind],
               m0, lo0, hi0, m1, m1 / m0, target, (unsigned long long)check[0], (unsigned long long)check[1]);
        if (md)
            fprintf(md, "| %s | %.1f ns | %.1f ns | %.2fx | %.2fx (%.2f-%.2f) | %s |\n", kind_name[kind], m0, m1, m1 / m0,
                    mr, rlo, rhi, target);
    }
}

static void part_move(const keys *k, FILE *md)
{
    size_t moved_jump = 0, moved_mod = 0, to_new = 0, mod_to_new = 0, count[NSHARDS] = {0};
    for (size_t i = 0; i < k->n; i++) {
        int32_t a = dbont_shard_of_uuid(&k->uuids[i], NSHARDS), b = dbont_shard_of_uuid(&k->uuids[i], NSHARDS + 1);
        uint64_t h = dbont_shard_hash_uuid(&k->uuids[i]);
        count[a]++;
        if (a != b) {
            moved_jump++;
            to_new += b == NSHARDS;
        }
        if (h % NSHARDS != h % (NSHARDS + 1)) {
            moved_mod++;
            mod_to_new += h % (NSHARDS + 1) == NSHARDS;
        }
    }
    size_t lo = count[0], hi = count[0];
    for (int s = 1; s < NSHARDS; s++) {
        lo = count[s] < lo ? count[s] : lo;
        hi = count[s] > hi ? count[s] : hi;
    }
    double mean = (double)k->n / NSHARDS, ideal = 100.0 / (NSHARDS + 1);
    double pj = 100.0 * (double)moved_jump / (double)k->n, pm = 100.0 * (double)moved_mod / (double)k->n;
    printf("MOVE: %zu uuid keys, %d -> %d shards: jump moves %.2f%% (all to the new shard: %s), hash %% n %.2f%%, "
           "ideal %.2f%%; over %d shards the largest is %+.2f%%, the smallest %+.2f%% of the mean\n",
           k->n, NSHARDS, NSHARDS + 1, pj, to_new == moved_jump ? "yes" : "NO", pm, ideal, NSHARDS,
           100.0 * ((double)hi / mean - 1), 100.0 * ((double)lo / mean - 1));
    if (to_new != moved_jump)
        bm_die("shard: %zu of the %zu keys jump moved went to an old shard", moved_jump - to_new, moved_jump);
    if (md)
        fprintf(md,
                "\n| %s uuid keys, %d → %d shards | keys moved | of which to the new shard | against the ideal 1/%d "
                "(%.2f%%) |\n|---|---:|---:|---:|\n"
                "| jump consistent hash (dbont) | %.2f%% | %.2f%% | %.2fx |\n"
                "| xxHash64 %% n | %.2f%% | %.2f%% | %.2fx |\n\n"
                "Balance over %d shards with jump: the largest shard %+.2f%%, the smallest %+.2f%% of the mean.\n",
                k->n == 1000000 ? "1,000,000" : "these", NSHARDS, NSHARDS + 1, NSHARDS + 1, ideal, pj,
                100.0 * (double)to_new / (double)k->n, pj / ideal, pm, 100.0 * (double)mod_to_new / (double)k->n,
                pm / ideal, NSHARDS,
                100.0 * ((double)hi / mean - 1), 100.0 * ((double)lo / mean - 1));
}

int bm_shard_main(int argc, char **argv)
{
    size_t rounds = 9, slices = 4, n = 1000000;
    const char *md_path = NULL;
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--rounds") && v)
            rounds = (size_t)strtoul(v, NULL, 10), i++;
        else if (!strcmp(o, "--keys") && v)
            n = (size_t)strtoul(v, NULL, 10), i++;
        else if (!strcmp(o, "--md") && v)
            md_path = v, i++;
        else
            bm_die("usage: dbont-bench shard [--rounds N] [--keys N] [--md FILE]");
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || n < slices)
        bm_die("shard: --rounds 1..%d, --keys at least %zu", MAX_ROUNDS, slices);
    FILE *md = md_path ? fopen(md_path, "a") : NULL;
    if (md_path && !md)
        bm_die("shard: cannot write %s", md_path);
    keys k = make_keys(n);
    part_route(&k, rounds, slices, md);
    part_move(&k, md);
    free_keys(&k);
    if (md)
        fclose(md);
    return 0;
}
