/*
 * naming.h: SQL and C names.
 *
 * Rules (docs/vocabulary.md, "Names"):
 *  - A table's SQL name is db:tableName, else the IRI's local name without
 *    a trailing "Table", in snake_case (UsersInOrgTable -> users_in_org).
 *  - A valid name is 1 to 63 bytes of ASCII letters, digits and '_',
 *    not starting with a digit.  Anything else (quotes, ';', spaces,
 *    comments, non-ASCII) is an error, never spliced into SQL.
 *  - In SQL, a name is double-quoted when it is a PostgreSQL keyword that
 *    is not "unreserved" (user, order, group, ...) or has upper-case
 *    letters (quoting keeps its case).
 *  - In C, a name that is a C or C++ keyword, or a macro of the C library
 *    (errno, stdin, NULL, EOF, assert, offsetof, linux, ...), gets a
 *    trailing '_' (default -> default_, class -> class_); a name
 *    that starts with '_' gets a leading 'x' (_tmp -> x_tmp), since such
 *    names are reserved to the C implementation.  The flags generated
 *    beside a field use the name without the keyword suffix
 *    (default_is_null, not default__is_null).
 */
#ifndef DBONT_GEN_NAMING_H
#define DBONT_GEN_NAMING_H

#include <stdbool.h>
#include <stddef.h>

#define NAMING_MAX_IDENT 63

/* Local name of an IRI: the part after the last '/' or '#'. */
const char *naming_local_name(const char *iri);

/* snake_case of a CamelCase name (caller frees). */
char *naming_snake_case(const char *name);

/* The default SQL name of a table from its IRI (caller frees). */
char *naming_table_name(const char *iri);

/* Checks the identifier rules; on failure writes the reason into why. */
bool naming_check_identifier(const char *name, char *why, size_t whysize);

bool naming_is_sql_keyword(const char *name);
bool naming_is_c_keyword(const char *name);

/* SQL spelling of a valid identifier, quoted when needed (caller frees). */
char *naming_sql_ident(const char *name);

/* C spelling of a valid identifier (caller frees). */
char *naming_c_ident(const char *name);

/* The C prefix derived from a file name: its base name without extension,
 * with characters other than letters, digits and '_' turned into '_'.
 * NULL when the result would not be a valid C identifier. */
char *naming_prefix_from_path(const char *path);

/* The name of a multi-tenant table's tenant policy, <table>_tenant_isolation,
 * shortened with a hash when longer than NAMING_MAX_IDENT (caller frees). */
char *naming_tenant_policy(const char *table_name);

#endif
