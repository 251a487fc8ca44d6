/*
 * util.h: memory helpers and a growable byte buffer for dbont-gen.
 *
 * dbont-gen is a short-lived command: running out of memory is reported and
 * ends the process (x* functions), which keeps every other file free of
 * allocation-failure paths.
 */
#ifndef DBONT_GEN_UTIL_H
#define DBONT_GEN_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows *items (element size elem) so that index n fits; *cap is updated. */
void grow(void **items, size_t *cap, size_t n, size_t elem);
#define GROW(arr, cap, n) grow((void **)&(arr), &(cap), (n), sizeof *(arr))

/* A growable, always NUL-terminated byte buffer. */
typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
void buf_reset(buf *b);
void buf_add(buf *b, const void *data, size_t len);
void buf_adds(buf *b, const char *s);
void buf_addc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Takes the contents (caller frees) and leaves b empty. */
char *buf_take(buf *b);

bool str_ends_with(const char *s, const char *suffix);

/* 64-bit FNV-1a, continued from h (start with FNV64_OFFSET).  It names
 * prepared statements and shortens long constraint names; its output is
 * part of the generated code, so it must never change. */
#define FNV64_OFFSET 0xcbf29ce484222325ULL
unsigned long long fnv1a64(const void *data, size_t len, unsigned long long h);

#endif
