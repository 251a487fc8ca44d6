/*
 * copyfmt.h: PostgreSQL's binary COPY format, written into a buffer.
 *
 * The stream is: the 11-byte signature "PGCOPY\n\377\r\n\0", an int32
 * flags field (0), an int32 header extension length (0); then per tuple
 * an int16 field count and per field an int32 length (-1 for NULL)
 * followed by that many bytes of the type's binary form (what its
 * typreceive function reads); then an int16 -1 trailer.  All integers are
 * big-endian.
 *
 * The writer fills a caller-provided buffer and hands it to a flush
 * callback whenever it is full (copy.c sends it with PQputCopyData), so a
 * value may span flushes and memory use stays at one buffer.  Pure code:
 * no libpq calls, no allocation; the unit tests drive it with a callback
 * that collects the bytes.
 *
 * Internal to libdbont.
 */
#ifndef DBONT_COPYFMT_H
#define DBONT_COPYFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "dbont/table.h"

/* Signature + flags + header extension length. */
#define DBONT_COPY_HEADER_SIZE 19

/* Hands len bytes on; returns 0, or -1 to stop the stream. */
typedef int (*dbont_copy_flush_fn)(void *ctx, const char *data, size_t len);

typedef struct dbont_copybuf {
    char *buf;
    size_t cap;         /* at least 16 */
    size_t len;
    dbont_copy_flush_fn flush;
    void *ctx;
    bool failed;        /* a flush returned -1: later output is dropped */
} dbont_copybuf;

void dbont_copybuf_init(dbont_copybuf *b, char *buf, size_t cap,
                        dbont_copy_flush_fn flush, void *ctx);

/* Appends len bytes of any length, flushing as the buffer fills. */
void dbont_copybuf_put(dbont_copybuf *b, const void *data, size_t len);

void dbont_copybuf_header(dbont_copybuf *b);
void dbont_copybuf_tuple(dbont_copybuf *b, uint16_t nfields);
void dbont_copybuf_null(dbont_copybuf *b);
void dbont_copybuf_trailer(dbont_copybuf *b);

/*
 * Checks that the non-NULL value of type at field can be written (a
 * numeric's text parses, a date fits, a bytea's length fits an int32, a
 * text is not longer than an int32 allows) without writing anything.
 */
dbont_codec_status dbont_copy_check_value(dbont_type type, const void *field);

/*
 * Writes the non-NULL value of type at field as one field: its length,
 * then its binary form (numeric from its text, jsonb as version 1 plus
 * the text, text and varchar as their bytes, the rest as codec.c encodes
 * parameters).  Writes nothing when the value cannot be encoded.
 */
dbont_codec_status dbont_copybuf_value(dbont_copybuf *b, dbont_type type,
                                       const void *field);

/* Hands what is buffered to the flush callback.  Returns 0, or -1 when
 * some flush failed. */
int dbont_copybuf_flush(dbont_copybuf *b);

/* No row: (size_t)-1. */
#define DBONT_COPY_NO_ROW ((size_t)-1)

/*
 * The 0-based index of the row a COPY error's context (PG_DIAG_CONTEXT)
 * names, for a COPY of n rows; DBONT_COPY_NO_ROW when it names none of
 * them.  The server writes "COPY <table>, line <N>[, column <c>...]" (N
 * 1-based, a tuple number in binary COPY), possibly among other context
 * lines and translated; this reads "COPY ", then after a ", " a word, a
 * space and the number, so the English words are not needed.
 */
size_t dbont_copy_row_from_context(const char *context, size_t n);

#endif
