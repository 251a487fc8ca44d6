#include "naming.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

const char *naming_local_name(const char *iri)
{
    const char *slash = strrchr(iri, '/');
    const char *hash = strrchr(iri, '#');
    const char *cut = slash > hash ? slash : hash;
    return cut ? cut + 1 : iri;
}

char *naming_snake_case(const char *name)
{
    buf b;
    buf_init(&b);
    size_t n = strlen(name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (is_upper(c) && i > 0) {
            char prev = name[i - 1];
            bool next_lower = i + 1 < n && is_lower(name[i + 1]);
            /* usersTable -> users_table; HTTPServer -> http_server */
            if (is_lower(prev) || is_digit(prev) || (is_upper(prev) && next_lower))
                buf_addc(&b, '_');
        }
        buf_addc(&b, is_upper(c) ? (char)(c - 'A' + 'a') : c);
    }
    return buf_take(&b);
}

char *naming_table_name(const char *iri)
{
    const char *local = naming_local_name(iri);
    size_t n = strlen(local);
    /* "UsersTable" -> "Users"; a name that is just "Table" stays. */
    if (n > 5 && strcmp(local + n - 5, "Table") == 0)
        n -= 5;
    char *base = xstrndup(local, n);
    char *snake = naming_snake_case(base);
    free(base);
    return snake;
}

bool naming_check_identifier(const char *name, char *why, size_t whysize)
{
    size_t n = strlen(name);
    if (n == 0) {
        snprintf(why, whysize, "the name is empty");
        return false;
    }
    if (n > NAMING_MAX_IDENT) {
        snprintf(why, whysize, "'%s' is %zu bytes long; PostgreSQL names are at most %d bytes", name,
                 n, NAMING_MAX_IDENT);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (is_upper((char)c) || is_lower((char)c) || c == '_' || (is_digit((char)c) && i > 0))
            continue;
        const char *what;
        if (is_digit((char)c))
            what = "starts with a digit";
        else if (c == '"' || c == '\'' || c == '`')
            what = "contains a quote character";
        else if (c == ';')
            what = "contains ';'";
        else if (c == '-' && i + 1 < n && name[i + 1] == '-')
            what = "contains a comment marker '--'";
        else if (c == '/' && i + 1 < n && name[i + 1] == '*')
            what = "contains a comment marker '/*'";
        else if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            what = "contains white space";
        else if (c >= 0x80)
            what = "contains a non-ASCII character";
        else
            what = NULL;
        if (what)
            snprintf(why, whysize, "invalid name '%s': it %s (use letters, digits and '_')", name,
                     what);
        else
            snprintf(why, whysize, "invalid name '%s': character '%c' is not allowed (use letters, "
                                   "digits and '_')",
                     name, c);
        return false;
    }
    return true;
}

static bool has_upper(const char *s)
{
    for (; *s; s++)
        if (is_upper(*s))
            return true;
    return false;
}

char *naming_sql_ident(const char *name)
{
    if (naming_is_sql_keyword(name) || has_upper(name))
        return xasprintf("\"%s\"", name); /* valid names hold no '"' */
    return xstrdup(name);
}

/* C11 keywords, C++ keywords (the header is also C++), the macros of
 * <stdbool.h>, and object-like or function-like macros of the C library
 * (and predefined by gcc in its GNU modes) that a struct field name would
 * collide with: a column "errno" or "stdin" must not become `row.errno`.
 * Sorted (strcmp order), for binary search. */
static const char *const c_keywords[] = {
    "BUFSIZ", "EOF", "NULL", "_Alignas", "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic",
    "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local", "alignas", "alignof", "and",
    "and_eq", "asm", "assert", "auto", "bitand", "bitor", "bool", "break", "case", "catch", "char",
    "char16_t", "char32_t", "char8_t", "class", "co_await", "co_return", "co_yield", "compl",
    "concept", "const", "const_cast", "consteval", "constexpr", "constinit", "continue", "decltype",
    "default", "delete", "do", "double", "dynamic_cast", "else", "enum", "errno", "explicit",
    "export", "extern", "false", "float", "for", "friend", "goto", "i386", "if", "inline", "int",
    "linux", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr",
    "offsetof", "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "requires", "restrict", "return", "setjmp", "short", "signed", "sizeof",
    "static", "static_assert", "static_cast", "stderr", "stdin", "stdout", "struct", "switch",
    "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid", "typename",
    "union", "unix", "unsigned", "using", "va_arg", "va_copy", "va_end", "va_start", "virtual",
    "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
};

bool naming_is_c_keyword(const char *name)
{
    size_t lo = 0, hi = sizeof c_keywords / sizeof c_keywords[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, c_keywords[mid]);
        if (c == 0)
            return true;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

char *naming_c_ident(const char *name)
{
    if (naming_is_c_keyword(name))
        return xasprintf("%s_", name);
    if (name[0] == '_')
        return xasprintf("x%s", name);
    return xstrdup(name);
}

char *naming_prefix_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *p = xstrndup(base, n);
    for (char *c = p; *c; c++)
        if (!is_upper(*c) && !is_lower(*c) && !is_digit(*c) && *c != '_')
            *c = '_';
    char why[160];
    if (!naming_check_identifier(p, why, sizeof why) || naming_is_c_keyword(p) || p[0] == '_') {
        free(p);
        return NULL;
    }
    return p;
}

char *naming_tenant_policy(const char *table_name)
{
    char *name = xasprintf("%s_tenant_isolation", table_name);
    if (strlen(name) > NAMING_MAX_IDENT) {
        unsigned long long h = fnv1a64(name, strlen(name), FNV64_OFFSET);
        char *shorter = xasprintf("%.*s_%08llx", NAMING_MAX_IDENT - 9, name, h & 0xffffffffULL);
        free(name);
        name = shorter;
    }
    return name;
}
