/*
 * tenant_internal.h: the statement a tenant session starts with.  Internal
 * to libdbont; exposed so a unit test can check its id against its text.
 */
#ifndef DBONT_TENANT_INTERNAL_H
#define DBONT_TENANT_INTERNAL_H

#include "dbont/stmt.h"

/* SELECT set_config($1, $2, true), both parameters text.  Its id is
 * computed as dbont-gen computes generated statements' ids (FNV-1a 64 of
 * the SQL text, then each parameter type OID as 4 big-endian bytes), so a
 * generated statement with the same text shares its preparation. */
extern const dbont_stmt dbont_tenant_set_config;

#endif
