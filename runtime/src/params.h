/*
 * params.h: gathering statement parameters from the caller's structs.
 *
 * Table operations (table.c), filters (filter.c) and queries (query.c)
 * all turn fields of a generated struct into the arrays PQexecPrepared
 * takes: binary for fixed-size values, uuid and bytea, the caller's own
 * text for text, varchar, numeric and jsonb (dbont_encode_value).  Up to
 * DBONT_STACK_PARAMS parameters live inside the dbont_params value (on
 * the caller's stack); more take one malloc.  Nothing is copied: text and
 * bytea values point at the caller's memory, which must stay alive until
 * the statement has been sent.
 *
 * Internal to libdbont.
 */
#ifndef DBONT_PARAMS_H
#define DBONT_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "codec.h"
#include "dbont/error.h"
#include "dbont/table.h"

/* Up to this many parameters live on the stack; more take one malloc. */
#define DBONT_STACK_PARAMS 32

/* The protocol counts parameters in 16 bits. */
#define DBONT_MAX_PARAMS 65535

typedef struct dbont_params {
    int n;                      /* parameters added so far */
    const char **values;
    int *lengths;
    int *formats;
    Oid *types;
    uint8_t (*scratch)[8];      /* big-endian bytes of fixed-size values */
    void *heap;                 /* the arrays above when not on the stack */
    const char *values_buf[DBONT_STACK_PARAMS];
    int lengths_buf[DBONT_STACK_PARAMS];
    int formats_buf[DBONT_STACK_PARAMS];
    Oid types_buf[DBONT_STACK_PARAMS];
    uint8_t scratch_buf[DBONT_STACK_PARAMS][8];
} dbont_params;

/* Makes room for n parameters; what names the statement in messages
 * (54000 above DBONT_MAX_PARAMS, 53200 out of memory). */
dbont_status dbont_params_init(dbont_params *p, size_t n, const char *what,
                               dbont_error *err);

/* Empties p for the next set of values, keeping its room. */
void dbont_params_reset(dbont_params *p);

void dbont_params_free(dbont_params *p);

/* Whether a field is SQL NULL: its NULL flag at null_off (unless
 * DBONT_NO_FIELD) is set, or it is a text-like field holding NULL. */
bool dbont_field_is_null(dbont_type type, const char *base, size_t value_off,
                         size_t null_off);

/* Adds an SQL NULL of type as the next parameter. */
void dbont_params_add_null(dbont_params *p, dbont_type type);

/*
 * Adds the non-NULL value of type at field as the next parameter.  On an
 * encoding failure fills err naming "what.name", or "what.$n" when name is
 * NULL (see dbont_encode_error), and returns DBONT_ERROR; the parameter is
 * counted anyway.
 */
dbont_status dbont_params_add_value(dbont_params *p, dbont_type type,
                                    const void *field, const char *what,
                                    const char *name, dbont_error *err);

/*
 * Adds a column's value read from base (a row or new-row struct) at
 * value_off with its NULL flag at null_off.  A NULL for a NOT NULL column
 * is refused here (23502), before anything is sent; what names the table.
 */
dbont_status dbont_params_add_column(dbont_params *p, const char *what,
                                     const dbont_column *col, const char *base,
                                     size_t value_off, size_t null_off,
                                     dbont_error *err);

/* A bigint parameter that is not a column (limit, offset). */
void dbont_params_add_bigint(dbont_params *p, int64_t v);

/* Fills err for a value that could not be encoded (22008 date/time out of
 * range, 22003 numeric out of range, 22P02 malformed numeric text, 54000
 * too long, 22023 otherwise).  Returns DBONT_ERROR. */
dbont_status dbont_encode_error(dbont_codec_status st, const char *what,
                                const char *name, dbont_type type,
                                dbont_error *err);

#endif
