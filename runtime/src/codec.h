/*
 * codec.h: PostgreSQL's binary wire formats <-> dbont's C representations.
 *
 * Pure functions with no libpq calls and no allocation, so they can be
 * tested on their own.  They report what went wrong as a dbont_codec_status;
 * the callers (result.c, table.c) turn it into a dbont_error that names the
 * table and column.
 *
 * Internal to libdbont.
 */
#ifndef DBONT_CODEC_H
#define DBONT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "dbont/table.h"
#include "dbont/types.h"

typedef enum dbont_codec_status {
    DBONT_CODEC_OK = 0,
    DBONT_CODEC_BAD_LENGTH,   /* the value's size does not fit its type */
    DBONT_CODEC_BAD_VALUE,    /* malformed: numeric sign, digit or text, jsonb version */
    DBONT_CODEC_OVERFLOW,     /* a date, time or numeric the other side cannot hold */
    DBONT_CODEC_TOO_LONG      /* a bytea longer than one parameter can be */
} dbont_codec_status;

/* Days from 1970-01-01 (dbont) to 2000-01-01 (PostgreSQL), and the same
 * distance in microseconds. */
#define DBONT_PG_EPOCH_DAYS 10957
#define DBONT_PG_EPOCH_USECS INT64_C(946684800000000)

/* PostgreSQL type OID of a dbont type. */
Oid dbont_type_oid(dbont_type type);

/* PostgreSQL type OID of an array of a dbont type (int4 -> int4[]). */
Oid dbont_type_array_oid(dbont_type type);

/* SQL name of a dbont type ("integer", "timestamp with time zone", ...). */
const char *dbont_type_name(dbont_type type);

/* SQL name of one of the type OIDs dbont knows, or NULL. */
const char *dbont_oid_name(Oid oid);

/* Whether the C field is a `const char *` (numeric, text, varchar, jsonb). */
bool dbont_type_is_text(dbont_type type);

/*
 * Date and timestamp conversions between PostgreSQL's epoch (2000-01-01)
 * and dbont's (1970-01-01).  Infinities map to infinities.  Return false,
 * leaving *out unchanged, when the finite value would not fit or would
 * land on a value that means infinity on the other side.
 */
bool dbont_date_from_pg(int32_t pg, dbont_date *out);
bool dbont_date_to_pg(dbont_date date, int32_t *out);
bool dbont_timestamp_from_pg(int64_t pg, dbont_timestamp *out);
bool dbont_timestamp_to_pg(dbont_timestamp ts, int64_t *out);

/*
 * Writes the exact decimal text of a binary numeric into out (when out is
 * not NULL) and its length, without the NUL, into *textlen (always).
 * Calling it first with out NULL gives the size to reserve.  The text has
 * exactly dscale fractional digits; the specials are "NaN", "Infinity" and
 * "-Infinity"; zero is never negative.
 */
dbont_codec_status dbont_numeric_to_text(const uint8_t *bin, size_t len,
                                         char *out, size_t *textlen);

/*
 * Decimal text to binary numeric, accepting exactly what PostgreSQL 15's
 * numeric_in accepts: optional surrounding white space; NaN, Infinity,
 * +Infinity, -Infinity, inf, +inf, -inf (any case); or an optional sign,
 * digits with at most one point (".5" and "5." too) and an optional
 * exponent ("1.5e3", "1E-7"; as with strtol, white space may follow the
 * 'e').  The result is what the server would store for an unconstrained
 * numeric: leading and trailing zero digits stripped, dscale the number of
 * fractional digits written minus the exponent (at least 0), zero always
 * positive.
 *
 * dbont_numeric_parse returns DBONT_CODEC_BAD_VALUE for text the server
 * refuses as syntax (22P02), DBONT_CODEC_OVERFLOW for a value it refuses
 * as "value overflows numeric format" (22003: weight beyond int16, more
 * than 16383 fractional digits, an exponent of absolute value INT_MAX / 2
 * or more).  The parsed value points into text, which must stay alive
 * while it is used.
 */
typedef struct dbont_numeric_text {
    uint16_t sign;          /* binary sign word: plus, minus, NaN, +/-inf */
    int weight;             /* power of 10000 of the first digit */
    int dscale;             /* decimal digits after the point */
    size_t ndigits;         /* base-10000 digits */
    /* Where the decimal digits are: */
    const char *body;       /* the text after the sign (a digit or '.') */
    size_t intdigits;       /* decimal digits before the point */
    bool has_dot;
    size_t first;           /* index of the first nonzero decimal digit */
    size_t nsig;            /* decimal digits from it to the last nonzero one */
    unsigned offset;        /* zeros before the first digit in its group */
} dbont_numeric_text;

dbont_codec_status dbont_numeric_parse(const char *text, dbont_numeric_text *out);

/* Size of the binary value: 8 + 2 * ndigits. */
size_t dbont_numeric_binary_size(const dbont_numeric_text *n);

/* The 8-byte header: ndigits, weight, sign, dscale (big-endian). */
void dbont_numeric_write_header(const dbont_numeric_text *n, uint8_t out[8]);

/* The base-10000 digit number k (0 <= k < ndigits). */
uint16_t dbont_numeric_digit(const dbont_numeric_text *n, size_t k);

/*
 * The whole binary value of text into out (cap bytes); *len gets its size
 * (also when it does not fit, which is DBONT_CODEC_TOO_LONG).
 */
dbont_codec_status dbont_numeric_from_text(const char *text, uint8_t *out,
                                           size_t cap, size_t *len);

/*
 * Decodes one non-NULL binary value of type into the C field at field.
 * Text-like values are not copied: the field points into val, which must
 * stay alive (and be NUL-terminated, as libpq guarantees).  A numeric is
 * written as text at *arena, which then moves past the text and its NUL.
 */
dbont_codec_status dbont_decode_value(dbont_type type, const char *val,
                                      size_t len, void *field, char **arena);

/*
 * Encodes the C field at field as one statement parameter.  Fixed-size
 * values are written big-endian into scratch; uuid and bytea point at the
 * caller's bytes; numeric, text, varchar and jsonb go as the caller's text
 * (format 0).  The caller has already handled SQL NULLs and refused NULL
 * text pointers.
 */
dbont_codec_status dbont_encode_value(dbont_type type, const void *field,
                                      uint8_t scratch[8], const char **value,
                                      int *length, int *format);

#endif
