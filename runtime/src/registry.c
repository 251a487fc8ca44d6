/*
 * registry.c: the set of statements prepared on a connection.
 *
 * The table is kept at most half full, so a probe sequence is short even
 * when the ids are poorly spread; ids are mixed before use anyway, since
 * nothing guarantees that an id is a good hash (tests use small ones).
 */
#include <stdlib.h>
#include <string.h>

#include "registry.h"

#define MIN_CAP 16

uint64_t dbont_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static size_t home_slot(const dbont_registry *r, uint64_t key)
{
    return (size_t)dbont_mix64(key) & (r->cap - 1);
}

void dbont_registry_init(dbont_registry *r)
{
    r->slots = NULL;
    r->cap = 0;
    r->count = 0;
    r->has_zero = false;
}

void dbont_registry_free(dbont_registry *r)
{
    free(r->slots);
    dbont_registry_init(r);
}

void dbont_registry_clear(dbont_registry *r)
{
    if (r->slots != NULL)
        memset(r->slots, 0, r->cap * sizeof *r->slots);
    r->count = 0;
    r->has_zero = false;
}

size_t dbont_registry_count(const dbont_registry *r)
{
    return r->count + (r->has_zero ? 1 : 0);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find_slot(const dbont_registry *r, uint64_t key)
{
    size_t i = home_slot(r, key);
    while (r->slots[i] != 0 && r->slots[i] != key)
        i = (i + 1) & (r->cap - 1);
    return i;
}

bool dbont_registry_contains(const dbont_registry *r, uint64_t key)
{
    if (key == 0)
        return r->has_zero;
    if (r->count == 0)
        return false;
    return r->slots[find_slot(r, key)] == key;
}

static int resize(dbont_registry *r, size_t cap)
{
    uint64_t *old = r->slots;
    size_t old_cap = r->cap, i;
    uint64_t *slots = calloc(cap, sizeof *slots);

    if (slots == NULL)
        return -1;
    r->slots = slots;
    r->cap = cap;
    for (i = 0; i < old_cap; i++) {
        if (old[i] != 0)
            r->slots[find_slot(r, old[i])] = old[i];
    }
    free(old);
    return 0;
}

int dbont_registry_reserve(dbont_registry *r)
{
    /* Keep count + 1 <= cap / 2. */
    if (r->cap != 0 && (r->count + 1) * 2 <= r->cap)
        return 0;
    if (r->cap > SIZE_MAX / 2 / sizeof *r->slots)
        return -1;
    return resize(r, r->cap == 0 ? MIN_CAP : r->cap * 2);
}

int dbont_registry_add(dbont_registry *r, uint64_t key)
{
    size_t i;

    if (key == 0) {
        r->has_zero = true;
        return 0;
    }
    if (dbont_registry_contains(r, key))
        return 0;
    if (dbont_registry_reserve(r) != 0)
        return -1;
    i = find_slot(r, key);
    r->slots[i] = key;
    r->count++;
    return 0;
}

/*
 * Removes by shifting back: after emptying slot i, each later entry of the
 * same run moves into the hole unless its home slot lies cyclically in
 * (hole, entry], in which case moving it would put it before its home.
 */
void dbont_registry_remove(dbont_registry *r, uint64_t key)
{
    size_t hole, j, mask;

    if (key == 0) {
        r->has_zero = false;
        return;
    }
    if (r->count == 0)
        return;
    hole = find_slot(r, key);
    if (r->slots[hole] != key)
        return;
    mask = r->cap - 1;
    r->slots[hole] = 0;
    r->count--;
    for (j = (hole + 1) & mask; r->slots[j] != 0; j = (j + 1) & mask) {
        size_t home = home_slot(r, r->slots[j]);
        /* Distance from home to j and from home to the hole, cyclically:
         * the entry may move into the hole only if the hole is on its
         * probe path, i.e. not farther from home than j. */
        if (((j - home) & mask) >= ((hole - home) & mask)) {
            r->slots[hole] = r->slots[j];
            r->slots[j] = 0;
            hole = j;
        }
    }
}
