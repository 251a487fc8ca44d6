/*
 * decimal.h: exact comparison and addition of numeric values in their
 * decimal text form.
 *
 * The fan-out merge (merge.c) orders and sums numeric values that come
 * from several servers.  It reads them as text (dbont_numeric_to_text,
 * codec.h) and works on the digits, so nothing is ever rounded: a float
 * or a fixed-width integer would lose digits that PostgreSQL keeps (up
 * to 131072 before the point, 16383 after it).
 *
 * The texts are those dbont_numeric_to_text writes: an optional '-', the
 * integer digits (at least one), then optionally '.' and the fractional
 * digits; or "NaN", "Infinity", "-Infinity".  Leading zeros in the
 * integer part are tolerated.  Texts are given with their length and need
 * no NUL.
 *
 * Pure functions: no allocation, no state.  Internal to libdbont.
 */
#ifndef DBONT_DECIMAL_H
#define DBONT_DECIMAL_H

#include <stddef.h>

/*
 * <0, 0, >0 as a is below, equal to or above b in PostgreSQL's numeric
 * order: -Infinity < every number < Infinity < NaN, NaN equal to NaN (as
 * numeric_cmp has it, so that NaNs sort and group together).  Values are
 * compared, not texts: 12.0 equals 12, 0 equals -0.000.
 */
int dbont_decimal_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Room dbont_decimal_add needs for a sum of texts of these lengths,
 * its NUL included. */
size_t dbont_decimal_add_room(size_t alen, size_t blen);

/*
 * Writes the exact sum a + b, NUL-terminated, into out (at least
 * dbont_decimal_add_room(alen, blen) bytes) and returns its length.  As
 * numeric_add does: the sum has as many fractional digits as the longer
 * fraction of the two (0.10 + 0.2 = 0.30), zero is never negative, and
 * NaN + x = NaN, Infinity + -Infinity = NaN, Infinity + x = Infinity.
 * Whether the sum still fits PostgreSQL's numeric is for the encoder to
 * say (dbont_numeric_from_text).
 */
size_t dbont_decimal_add(const char *a, size_t alen, const char *b, size_t blen,
                         char *out);

#endif
