/*
 * migsteps.c: cutting a migration file into steps (see migsteps.h).
 *
 * Markers are found line by line, as the generator writes them, and never
 * by lexing the SQL: the split must not depend on how well a client-side
 * lexer knows the server's grammar.  The lexer below only checks one rule
 * of the contract, that a no-transaction step holds exactly one statement,
 * and finds the line of each step's first statement for messages.
 */
#include "migsteps.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

/* ------------------------------------------------------------------ */
/* Positions                                                           */
/* ------------------------------------------------------------------ */

void dbont_migsteps_line_col(const char *text, size_t offset, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') {
            (*line)++;
            *col = 1;
        } else if ((c & 0xc0) != 0x80) {
            (*col)++;   /* continuation bytes belong to the character before */
        }
    }
}

/* ------------------------------------------------------------------ */
/* Counting statements                                                 */
/* ------------------------------------------------------------------ */

static bool is_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_ident_char(unsigned char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/* Skips a quoted token that starts at i (the opening quote) and ends with
 * quote; a doubled quote stands for one; with backslashes (E'...') a
 * backslash escapes the next byte.  Returns the offset after it. */
static size_t skip_quoted(const char *s, size_t len, size_t i, char quote, bool backslashes)
{
    for (i++; i < len; i++) {
        if (backslashes && s[i] == '\\') {
            i++;
        } else if (s[i] == quote) {
            if (i + 1 < len && s[i + 1] == quote)
                i++;
            else
                return i + 1;
        }
    }
    return len;   /* unterminated: the rest is the token */
}

/* The length of a dollar-quote delimiter ($$ or $tag$) at i, 0 if none. */
static size_t dollar_tag(const char *s, size_t len, size_t i)
{
    size_t j = i + 1;
    if (j < len && s[j] == '$')
        return 2;
    if (j >= len || !is_ident_start((unsigned char)s[j]))
        return 0;
    while (j < len && is_ident_char((unsigned char)s[j]) && s[j] != '$')
        j++;
    return j < len && s[j] == '$' ? j - i + 1 : 0;
}

/* Skips $tag$ ... $tag$ starting at i; returns the offset after it. */
static size_t skip_dollar_quoted(const char *s, size_t len, size_t i, size_t tag_len)
{
    for (size_t j = i + tag_len; j + tag_len <= len; j++)
        if (s[j] == '$' && memcmp(s + j, s + i, tag_len) == 0)
            return j + tag_len;
    return len;
}

/* psql's way of telling the BEGIN ... END body of a CREATE [OR REPLACE]
 * FUNCTION/PROCEDURE (whose semicolons do not end the statement) from a
 * statement's end: the first identifiers of the statement, then the depth
 * of BEGIN/CASE ... END outside parentheses. */
typedef struct statement_shape {
    int identifiers;   /* identifiers seen in this statement */
    char first[4];     /* first letters of the leading keywords we track */
    int paren_depth;
    int begin_depth;
} statement_shape;

/* Whether the n bytes at s are word (lower case), ignoring ASCII case:
 * keywords are matched without the locale's help. */
static bool word_is(const char *s, size_t n, const char *word)
{
    if (strlen(word) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

/* Marker words are matched exactly, as the contract spells them. */
static bool word_eq(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

static void note_identifier(statement_shape *sh, const char *s, size_t n)
{
    static const char *const tracked[] = { "create", "function", "procedure", "or",
                                           "replace" };
    if (sh->identifiers < 4) {
        for (size_t k = 0; k < sizeof tracked / sizeof tracked[0]; k++)
            if (word_is(s, n, tracked[k]))
                sh->first[sh->identifiers] = tracked[k][0];
    }
    sh->identifiers++;
    bool routine = sh->first[0] == 'c' &&
                   (sh->first[1] == 'f' || sh->first[1] == 'p' ||
                    (sh->first[1] == 'o' && sh->first[2] == 'r' &&
                     (sh->first[3] == 'f' || sh->first[3] == 'p')));
    if (!routine || sh->paren_depth != 0)
        return;
    if (word_is(s, n, "begin"))
        sh->begin_depth++;
    else if (word_is(s, n, "case") && sh->begin_depth >= 1)
        sh->begin_depth++;
    else if (word_is(s, n, "end") && sh->begin_depth > 0)
        sh->begin_depth--;
}

void dbont_migsteps_count_statements(const char *s, size_t len,
                                     dbont_migsteps_statements *out)
{
    memset(out, 0, sizeof *out);
    statement_shape shape = { 0 };
    bool in_statement = false;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            i++;
            continue;
        }
        if (c == '-' && i + 1 < len && s[i + 1] == '-') {
            while (i < len && s[i] != '\n')
                i++;
            continue;
        }
        if (c == '/' && i + 1 < len && s[i + 1] == '*') {
            /* Block comments nest in PostgreSQL. */
            int depth = 1;
            for (i += 2; i < len && depth > 0;) {
                if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
                    depth++;
                    i += 2;
                } else if (s[i] == '*' && i + 1 < len && s[i + 1] == '/') {
                    depth--;
                    i += 2;
                } else {
                    i++;
                }
            }
            continue;
        }
        if (c == ';') {
            i++;
            if (shape.begin_depth == 0) {
                in_statement = false;
                memset(&shape, 0, sizeof shape);
            }
            continue;
        }

        /* A token: it starts a statement unless one is under way. */
        if (!in_statement) {
            in_statement = true;
            if (out->count == 0)
                out->first = i;
            else if (out->count == 1)
                out->second = i;
            out->count++;
        }
        if (is_ident_start(c)) {
            size_t start = i;
            while (i < len && is_ident_char((unsigned char)s[i]))
                i++;
            /* E'...' (or e'...'): backslash escapes.  Other prefixes (U&,
             * B, X, N) leave a quote that is lexed as a plain string. */
            if (i - start == 1 && (c == 'E' || c == 'e') && i < len && s[i] == '\'')
                i = skip_quoted(s, len, i, '\'', true);
            else
                note_identifier(&shape, s + start, i - start);
        } else if (c == '\'') {
            i = skip_quoted(s, len, i, '\'', false);
        } else if (c == '"') {
            i = skip_quoted(s, len, i, '"', false);
        } else if (c == '$') {
            size_t tag = dollar_tag(s, len, i);
            i = tag ? skip_dollar_quoted(s, len, i, tag) : i + 1;   /* $1: a parameter */
        } else if (c == '(') {
            shape.paren_depth++;
            i++;
        } else if (c == ')') {
            if (shape.paren_depth > 0)
                shape.paren_depth--;
            i++;
        } else {
            i++;
        }
    }
}

/* ------------------------------------------------------------------ */
/* The index of a partition                                            */
/* ------------------------------------------------------------------ */

/* What is kept of a name that is too long, and the hash digits after it. */
#define KEPT_BYTES 54
#define HASH_DIGITS 8

void dbont_migrate_partition_index_name(const char *partition, const char *table,
                                        const char *parent_index,
                                        char out[DBONT_MIGRATE_NAME_SIZE])
{
    /* The parent index's name without "<table>_", unless that is all of it. */
    const char *suffix = parent_index;
    size_t t = strlen(table);
    if (t > 0 && strncmp(parent_index, table, t) == 0 && parent_index[t] == '_' &&
        parent_index[t + 1] != '\0')
        suffix = parent_index + t + 1;

    /* Names come from the catalog (at most 63 bytes each); the full name
     * is only hashed, never sent. */
    char full[2 * DBONT_MIGRATE_NAME_SIZE + 2];
    int n = snprintf(full, sizeof full, "%s_%s", partition, suffix);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof full ? (size_t)n : sizeof full - 1;
    if (len < DBONT_MIGRATE_NAME_SIZE) {
        memcpy(out, full, len + 1);
        return;
    }
    uint8_t digest[DBONT_SHA256_DIGEST_SIZE];
    char hex[DBONT_SHA256_HEX_SIZE];
    dbont_sha256 ctx;
    dbont_sha256_init(&ctx);
    dbont_sha256_update(&ctx, full, len);
    dbont_sha256_final(&ctx, digest);
    dbont_sha256_hex(digest, hex);
    /* Back to the start of a UTF-8 character, so the name stays valid. */
    size_t keep = KEPT_BYTES;
    while (keep > 0 && ((unsigned char)full[keep] & 0xc0) == 0x80)
        keep--;
    snprintf(out, DBONT_MIGRATE_NAME_SIZE, "%.*s_%.*s", (int)keep, full, HASH_DIGITS, hex);
}

/* ------------------------------------------------------------------ */
/* Markers                                                             */
/* ------------------------------------------------------------------ */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static dbont_migsteps_result problem_at(dbont_migsteps_problem *p, int line, int col,
                                        const char *fmt, ...)
{
    p->line = line;
    p->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
    return DBONT_MIGSTEPS_INVALID;
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Whether the line [start, end) is a marker candidate: the prefix at
 * column 1, then a blank or the end of the line. */
static bool is_marker_line(const char *s, size_t start, size_t end)
{
    size_t n = strlen(DBONT_MIGSTEPS_MARKER);
    return end - start >= n && memcmp(s + start, DBONT_MIGSTEPS_MARKER, n) == 0 &&
           (end - start == n || is_blank(s[start + n]));
}

/* An unquoted identifier as the generator writes index names. */
static bool valid_index_name(const char *s, size_t n)
{
    if (n == 0 || n >= DBONT_MIGRATE_NAME_SIZE)
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

#define MARKER_FORMS                                                               \
    "expected '-- dbont:step transaction', '-- dbont:step no-transaction', "       \
    "'-- dbont:step no-transaction index NAME' or '-- dbont:step no-transaction "  \
    "partition-indexes NAME' alone on the line"

/*
 * Reads the words of the marker line [start, end) into step.  The words
 * are separated by blanks; trailing blanks and a CR are allowed.
 */
static dbont_migsteps_result parse_marker(const char *s, size_t start, size_t end, int line,
                                          dbont_migration_step *step,
                                          dbont_migsteps_problem *problem)
{
    const char *word[4];
    size_t word_len[4], nwords = 0;
    size_t i = start + strlen(DBONT_MIGSTEPS_MARKER);
    while (i < end) {
        while (i < end && is_blank(s[i]))
            i++;
        if (i >= end)
            break;
        size_t w = i;
        while (i < end && !is_blank(s[i]))
            i++;
        if (nwords == 4)
            return problem_at(problem, line, (int)(w - start) + 1,
                              "malformed step marker: unexpected '%.*s'; " MARKER_FORMS,
                              (int)(i - w), s + w);
        word[nwords] = s + w;
        word_len[nwords++] = i - w;
    }
    memset(step, 0, sizeof *step);
    step->marker_line = line;
    if (nwords == 1 && word_eq(word[0], word_len[0], "transaction"))
        return DBONT_MIGSTEPS_OK;
    if (nwords >= 1 && word_eq(word[0], word_len[0], "no-transaction")) {
        step->no_transaction = true;
        if (nwords == 1)
            return DBONT_MIGSTEPS_OK;
        bool index = nwords == 3 && word_eq(word[1], word_len[1], "index");
        bool partitions = nwords == 3 && word_eq(word[1], word_len[1], "partition-indexes");
        if (index || partitions) {
            if (!valid_index_name(word[2], word_len[2]))
                return problem_at(problem, line, (int)(word[2] - (s + start)) + 1,
                                  "invalid index name '%.*s' in a step marker: expected an "
                                  "unquoted lower-case SQL identifier ([a-z_][a-z0-9_]*, at "
                                  "most 63 bytes)",
                                  (int)word_len[2], word[2]);
            char *name = index ? step->index_name : step->partition_index;
            memcpy(name, word[2], word_len[2]);
            name[word_len[2]] = '\0';
            return DBONT_MIGSTEPS_OK;
        }
    }
    size_t col = nwords ? (size_t)(word[0] - (s + start)) + 1 : 1;
    return problem_at(problem, line, (int)col, "malformed step marker; " MARKER_FORMS);
}

/* Fills statement_line and checks the one-statement rule of a step whose
 * text is [step->offset, step->offset + step->len) of s. */
static dbont_migsteps_result check_step(const char *s, dbont_migration_step *step,
                                        size_t number, dbont_migsteps_problem *problem)
{
    dbont_migsteps_statements st;
    dbont_migsteps_count_statements(s + step->offset, step->len, &st);
    int line, col;
    if (st.count == 0) {
        step->statement_line = step->marker_line > 0 ? step->marker_line : 1;
    } else {
        dbont_migsteps_line_col(s, step->offset + st.first, &line, &col);
        step->statement_line = line;
    }
    if (step->partition_index[0]) {
        /* The runner builds the partitions' indexes itself; a statement
         * here would be silently ignored, so it is refused. */
        if (st.count == 0)
            return DBONT_MIGSTEPS_OK;
        dbont_migsteps_line_col(s, step->offset + st.first, &line, &col);
        return problem_at(problem, line, col,
                          "an SQL statement in step %zu, a partition-indexes step (marker at "
                          "line %d); such a step holds only comments: dbont-migrate builds "
                          "index %s on each partition itself and attaches it, so put the "
                          "statement in a step of its own",
                          number, step->marker_line, step->partition_index);
    }
    if (!step->no_transaction || st.count == 1)
        return DBONT_MIGSTEPS_OK;
    if (st.count == 0)
        return problem_at(problem, step->marker_line, 1,
                          "step %zu is a no-transaction step without an SQL statement; a "
                          "no-transaction step must hold exactly one SQL statement",
                          number);
    dbont_migsteps_line_col(s, step->offset + st.second, &line, &col);
    return problem_at(problem, line, col,
                      "a second SQL statement in step %zu, a no-transaction step (marker "
                      "at line %d); a no-transaction step must hold exactly one SQL "
                      "statement, which is sent alone outside any transaction: put each "
                      "statement in a step of its own",
                      number, step->marker_line);
}

dbont_migsteps_result dbont_migsteps_parse(const char *s, size_t len,
                                           dbont_migration_step **steps_out,
                                           size_t *count_out,
                                           dbont_migsteps_problem *problem)
{
    *steps_out = NULL;
    *count_out = 0;
    dbont_migration_step *steps = NULL;
    size_t count = 0, cap = 0;
    dbont_migsteps_result result = DBONT_MIGSTEPS_OK;

    int line = 1;
    for (size_t start = 0; start <= len && result == DBONT_MIGSTEPS_OK; line++) {
        const char *nl = memchr(s + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - s) : len;
        size_t next = nl ? end + 1 : len + 1;
        bool marker = is_marker_line(s, start, end);
        /* Step 1 is the text before the first marker, unless the file
         * starts with a marker. */
        if (count == 0 && !(marker && start == 0)) {
            cap = 4;
            steps = calloc(cap, sizeof *steps);
            if (!steps)
                return DBONT_MIGSTEPS_NO_MEMORY;
            count = 1;   /* offset 0, transactional, no marker */
        }
        if (marker) {
            if (count == cap) {
                size_t grown_cap = cap ? cap * 2 : 4;
                dbont_migration_step *grown = realloc(steps, grown_cap * sizeof *grown);
                if (!grown) {
                    free(steps);
                    return DBONT_MIGSTEPS_NO_MEMORY;
                }
                steps = grown;
                cap = grown_cap;
            }
            if (count > 0)
                steps[count - 1].len = start - steps[count - 1].offset;
            result = parse_marker(s, start, end, line, &steps[count], problem);
            steps[count].offset = next <= len ? next : len;
            count++;
        }
        start = next;
    }
    if (result == DBONT_MIGSTEPS_OK) {
        steps[count - 1].len = len - steps[count - 1].offset;
        for (size_t k = 0; k < count && result == DBONT_MIGSTEPS_OK; k++)
            result = check_step(s, &steps[k], k + 1, problem);
    }
    if (result != DBONT_MIGSTEPS_OK) {
        free(steps);
        return result;
    }
    *steps_out = steps;
    *count_out = count;
    return DBONT_MIGSTEPS_OK;
}
