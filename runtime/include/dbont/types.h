/*
 * dbont/types.h: the C representation of PostgreSQL values that have no
 * natural C type.  docs/types.md has the full mapping table.
 *
 *   uuid                     dbont_uuid      16 bytes, network order
 *   bytea                    dbont_bytes     pointer + length (may hold NULs)
 *   date                     dbont_date      days since 1970-01-01
 *   timestamp, timestamptz   dbont_timestamp microseconds since
 *                                            1970-01-01 00:00:00 (UTC for
 *                                            timestamptz; wall-clock time
 *                                            read as if UTC for timestamp)
 *
 * PostgreSQL's 'infinity' and '-infinity' map to the _INFINITY constants
 * below, in both directions.  A timestamp beyond what 64-bit microseconds
 * since 1970 can hold (after 294246-12-31, inside PostgreSQL's range) is
 * reported as an error (SQLSTATE 22008), never wrapped.
 */
#ifndef DBONT_TYPES_H
#define DBONT_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dbont_uuid {
    uint8_t bytes[16];
} dbont_uuid;

/* Borrowed bytes: the owner is whoever filled the struct (a result object
 * for values read, the caller for values written). */
typedef struct dbont_bytes {
    const uint8_t *data;
    size_t len;
} dbont_bytes;

typedef int32_t dbont_date;
typedef int64_t dbont_timestamp;

#define DBONT_DATE_INFINITY INT32_MAX
#define DBONT_DATE_NEG_INFINITY INT32_MIN
#define DBONT_TIMESTAMP_INFINITY INT64_MAX
#define DBONT_TIMESTAMP_NEG_INFINITY INT64_MIN

/* Text form of a uuid: 36 characters plus NUL. */
#define DBONT_UUID_TEXT_SIZE 37

/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (either case).
 * Returns 0 on success, -1 when text is not a uuid (out is then unchanged). */
int dbont_uuid_parse(const char *text, dbont_uuid *out);

/* Writes the lower-case text form into out (DBONT_UUID_TEXT_SIZE bytes). */
void dbont_uuid_format(const dbont_uuid *uuid, char out[DBONT_UUID_TEXT_SIZE]);

/* A new random (version 4) uuid from the kernel's random source, for ids
 * the application picks before inserting, such as a new tenant's, which
 * must be set as the session's tenant before its row can be written.
 * Returns 0, or -1 (errno set) when no random bytes could be read. */
int dbont_uuid_random(dbont_uuid *out);

#ifdef __cplusplus
}
#endif

#endif
