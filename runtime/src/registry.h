/*
 * registry.h: a set of 64-bit statement ids, one per connection.
 *
 * It remembers which statements are already prepared on a connection so
 * each is prepared once.  Open addressing with linear probing over a
 * power-of-two table of uint64_t; 0 marks an empty slot, so the key 0 is
 * kept in a flag of its own.  Removal shifts later entries back instead of
 * leaving tombstones, so lookups never slow down after many removals.
 *
 * Internal to libdbont.
 */
#ifndef DBONT_REGISTRY_H
#define DBONT_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dbont_registry {
    uint64_t *slots;    /* cap slots, or NULL before the first add */
    size_t cap;         /* 0 or a power of two */
    size_t count;       /* keys in slots (the zero key not included) */
    bool has_zero;      /* whether the key 0 is in the set */
} dbont_registry;

/* An empty set; allocates nothing. */
void dbont_registry_init(dbont_registry *r);

/* Frees the table; r is empty (and reusable) afterwards. */
void dbont_registry_free(dbont_registry *r);

/* Forgets every key, keeping the table's memory. */
void dbont_registry_clear(dbont_registry *r);

/* Number of keys in the set. */
size_t dbont_registry_count(const dbont_registry *r);

bool dbont_registry_contains(const dbont_registry *r, uint64_t key);

/*
 * Makes sure one more key can be added without allocating, so that a
 * caller can reserve before an action it cannot undo (preparing a
 * statement on the server) and add after it without a failure in between.
 * Returns 0, or -1 when out of memory.
 */
int dbont_registry_reserve(dbont_registry *r);

/* Adds key (no effect if present).  Returns 0, or -1 when out of memory. */
int dbont_registry_add(dbont_registry *r, uint64_t key);

/* Removes key (no effect if absent). */
void dbont_registry_remove(dbont_registry *r, uint64_t key);

/* A strong 64-bit mix (splitmix64's finalizer), also used to combine ids. */
uint64_t dbont_mix64(uint64_t x);

#endif
