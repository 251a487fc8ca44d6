/*
 * params.c: statement parameters from the caller's structs (see params.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

dbont_status dbont_params_init(dbont_params *p, size_t n, const char *what,
                               dbont_error *err)
{
    char *block;

    p->n = 0;
    p->heap = NULL;
    if (n <= DBONT_STACK_PARAMS) {
        p->values = p->values_buf;
        p->lengths = p->lengths_buf;
        p->formats = p->formats_buf;
        p->types = p->types_buf;
        p->scratch = p->scratch_buf;
        return DBONT_OK;
    }
    if (n > DBONT_MAX_PARAMS)
        return dbont_error_set(err, "54000", "%s: %zu parameters, more than %d",
                               what, n, DBONT_MAX_PARAMS);
    /* Pointers first, then ints, then bytes: each part stays aligned. */
    block = malloc(n * (sizeof(const char *) + 2 * sizeof(int) + sizeof(Oid) + 8));
    if (block == NULL)
        return dbont_error_set(err, "53200", "%s: out of memory for parameters", what);
    p->heap = block;
    p->values = (const char **)(void *)block;
    p->lengths = (int *)(void *)(block + n * sizeof(const char *));
    p->formats = p->lengths + n;
    p->types = (Oid *)(void *)(p->formats + n);
    p->scratch = (uint8_t (*)[8])(void *)(p->types + n);
    return DBONT_OK;
}

void dbont_params_reset(dbont_params *p)
{
    p->n = 0;
}

void dbont_params_free(dbont_params *p)
{
    free(p->heap);
    p->heap = NULL;
}

static bool read_flag(const char *base, size_t offset)
{
    bool flag;
    memcpy(&flag, base + offset, sizeof flag);
    return flag;
}

bool dbont_field_is_null(dbont_type type, const char *base, size_t value_off,
                         size_t null_off)
{
    if (null_off != DBONT_NO_FIELD && read_flag(base, null_off))
        return true;
    if (dbont_type_is_text(type)) {
        const char *text;
        memcpy(&text, base + value_off, sizeof text);
        return text == NULL;
    }
    return false;
}

dbont_status dbont_encode_error(dbont_codec_status st, const char *what,
                                const char *name, dbont_type type,
                                dbont_error *err)
{
    switch (st) {
    case DBONT_CODEC_OVERFLOW:
        if (type == DBONT_NUMERIC)
            return dbont_error_set(err, "22003",
                                   "%s.%s: numeric value overflows numeric format",
                                   what, name);
        return dbont_error_set(err, "22008", "%s.%s: %s value out of PostgreSQL's range",
                               what, name, dbont_type_name(type));
    case DBONT_CODEC_TOO_LONG:
        return dbont_error_set(err, "54000", "%s.%s: %s value longer than %d bytes",
                               what, name, dbont_type_name(type), INT_MAX);
    case DBONT_CODEC_BAD_VALUE:
        if (type == DBONT_NUMERIC)
            return dbont_error_set(err, "22P02",
                                   "%s.%s: invalid input syntax for type numeric",
                                   what, name);
        /* fall through */
    default:
        return dbont_error_set(err, "22023",
                               "%s.%s: invalid %s value (NULL data with a nonzero length?)",
                               what, name, dbont_type_name(type));
    }
}

void dbont_params_add_null(dbont_params *p, dbont_type type)
{
    int i = p->n++;
    p->types[i] = dbont_type_oid(type);
    p->values[i] = NULL;
    p->lengths[i] = 0;
    p->formats[i] = 0;
}

dbont_status dbont_params_add_value(dbont_params *p, dbont_type type,
                                    const void *field, const char *what,
                                    const char *name, dbont_error *err)
{
    int i = p->n++;
    char number[16];
    dbont_codec_status st;

    p->types[i] = dbont_type_oid(type);
    st = dbont_encode_value(type, field, p->scratch[i], &p->values[i],
                            &p->lengths[i], &p->formats[i]);
    if (st == DBONT_CODEC_OK)
        return DBONT_OK;
    if (name == NULL) {
        snprintf(number, sizeof number, "$%d", i + 1);
        name = number;
    }
    return dbont_encode_error(st, what, name, type, err);
}

dbont_status dbont_params_add_column(dbont_params *p, const char *what,
                                     const dbont_column *col, const char *base,
                                     size_t value_off, size_t null_off,
                                     dbont_error *err)
{
    if (dbont_field_is_null(col->type, base, value_off, null_off)) {
        if (col->not_null) {
            p->n++;     /* counted, as a failed value is */
            return dbont_error_set(err, "23502",
                                   "%s.%s is NOT NULL but the value given is NULL",
                                   what, col->name);
        }
        dbont_params_add_null(p, col->type);
        return DBONT_OK;
    }
    return dbont_params_add_value(p, col->type, base + value_off, what, col->name, err);
}

void dbont_params_add_bigint(dbont_params *p, int64_t v)
{
    int i = p->n++;
    p->types[i] = dbont_type_oid(DBONT_BIGINT);
    /* Cannot fail: a bigint has no invalid values. */
    (void)dbont_encode_value(DBONT_BIGINT, &v, p->scratch[i], &p->values[i],
                             &p->lengths[i], &p->formats[i]);
}
