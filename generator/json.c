#include "json.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void json_free(json_value *v)
{
    for (size_t i = 0; i < v->n; i++) {
        json_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->text);
    memset(v, 0, sizeof *v);
}

/* JSON's whitespace, and only that (no '\f' or '\v', which isspace takes). */
static void skip_ws(const char **s)
{
    while (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')
        (*s)++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The four hex digits at s; false at the first that is not one (the
 * text's NUL included, so a truncated escape is never read past). */
static bool read_hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return false;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return true;
}

static void add_utf8(buf *b, unsigned cp)
{
    if (cp < 0x80) {
        buf_addc(b, (char)cp);
    } else if (cp < 0x800) {
        buf_addc(b, (char)(0xC0 | (cp >> 6)));
        buf_addc(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        buf_addc(b, (char)(0xE0 | (cp >> 12)));
        buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        buf_addc(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        buf_addc(b, (char)(0xF0 | (cp >> 18)));
        buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
        buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        buf_addc(b, (char)(0x80 | (cp & 0x3F)));
    }
}

/* A string at *s (on its opening quote), decoded (caller frees); *s is
 * moved past its closing quote.  NULL when it is not a valid string. */
static char *parse_string(const char **s)
{
    const char *p = *s + 1;
    buf b;
    buf_init(&b);
    for (;;) {
        char c = *p;
        if (c == '"')
            break;
        if (c == '\0' || (unsigned char)c < 0x20)
            goto bad;
        if (c != '\\') {
            buf_addc(&b, c);
            p++;
            continue;
        }
        /* a backslash at the very end leaves e the text's NUL, which the
         * default case rejects before p (past it now) is read again */
        char e = p[1];
        p += 2;
        switch (e) {
        case '"': buf_addc(&b, '"'); break;
        case '\\': buf_addc(&b, '\\'); break;
        case '/': buf_addc(&b, '/'); break;
        case 'b': buf_addc(&b, '\b'); break;
        case 'f': buf_addc(&b, '\f'); break;
        case 'n': buf_addc(&b, '\n'); break;
        case 'r': buf_addc(&b, '\r'); break;
        case 't': buf_addc(&b, '\t'); break;
        case 'u': {
            unsigned cp, lo;
            if (!read_hex4(p, &cp))
                goto bad;
            p += 4;
            /* a character beyond the BMP comes as a surrogate pair */
            if (cp >= 0xD800 && cp < 0xDC00 && p[0] == '\\' && p[1] == 'u' && read_hex4(p + 2, &lo) &&
                lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            add_utf8(&b, cp);
            break;
        }
        default: goto bad;
        }
    }
    *s = p + 1;
    return buf_take(&b);
bad:
    buf_free(&b);
    return NULL;
}

static bool parse_value(const char **s, json_value *out, unsigned depth);

/* The elements of an array or the members of an object, at *s (on '['
 * or '{').  On false, out may hold what was read so far: the caller
 * frees it. */
static bool parse_container(const char **s, json_value *out, unsigned depth)
{
    bool object = **s == '{';
    char close = object ? '}' : ']';
    out->kind = object ? JSON_OBJECT : JSON_ARRAY;
    (*s)++;
    skip_ws(s);
    if (**s == close) {
        (*s)++;
        return true;
    }
    for (;;) {
        char *key = NULL;
        if (object) {
            skip_ws(s);
            if (**s != '"' || !(key = parse_string(s)))
                return false;
            skip_ws(s);
            if (**s != ':') {
                free(key);
                return false;
            }
            (*s)++;
        }
        json_value item;
        memset(&item, 0, sizeof item);
        if (!parse_value(s, &item, depth + 1)) {
            json_free(&item);
            free(key);
            return false;
        }
        GROW(out->items, out->cap, out->n);
        if (object) {
            /* keys and items grow together: keys[i] names items[i] */
            out->keys = xrealloc(out->keys, out->cap * sizeof *out->keys);
            out->keys[out->n] = key;
        }
        out->items[out->n++] = item;
        skip_ws(s);
        if (**s == ',') {
            (*s)++;
            continue;
        }
        if (**s == close) {
            (*s)++;
            return true;
        }
        return false;
    }
}

/* One value at *s (after whitespace), into out (zeroed by the caller);
 * *s is moved past it. */
static bool parse_value(const char **s, json_value *out, unsigned depth)
{
    if (depth > JSON_MAX_DEPTH)
        return false;
    skip_ws(s);
    const char *p = *s;
    if (*p == '{' || *p == '[')
        return parse_container(s, out, depth);
    if (*p == '"') {
        out->kind = JSON_STRING;
        out->text = parse_string(s);
        return out->text != NULL;
    }
    static const struct {
        const char *word;
        json_kind kind;
    } words[] = {{"null", JSON_NULL}, {"false", JSON_FALSE}, {"true", JSON_TRUE}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        if (!strncmp(p, words[i].word, n)) {
            out->kind = words[i].kind;
            *s = p + n;
            return true;
        }
    }
    /* a number: kept as text, its form checked no further than needed to
     * tell where it ends (json.h) */
    const char *q = p;
    if (*q == '-')
        q++;
    if (!isdigit((unsigned char)*q))
        return false;
    while (isdigit((unsigned char)*q) || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-')
        q++;
    out->kind = JSON_NUMBER;
    out->text = xstrndup(p, (size_t)(q - p));
    *s = q;
    return true;
}

bool json_parse(const char *text, json_value *out)
{
    memset(out, 0, sizeof *out);
    const char *s = text;
    bool ok = parse_value(&s, out, 0);
    skip_ws(&s);
    if (ok && *s == '\0')
        return true;
    json_free(out);
    return false;
}

const json_value *json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->kind != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (!strcmp(obj->keys[i], key))
            return &obj->items[i];
    return NULL;
}

const char *json_get_string(const json_value *obj, const char *key)
{
    const json_value *v = json_get(obj, key);
    return v && v->kind == JSON_STRING ? v->text : NULL;
}
