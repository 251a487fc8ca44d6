/*
 * decimal.c: exact comparison and addition of numeric decimal texts
 * (decimal.h).
 *
 * Digits are compared and added as characters, the way one does it on
 * paper: the integer parts are aligned on their last digit, the
 * fractional parts on their first, and a missing digit is a zero.
 */
#include <stdbool.h>
#include <string.h>

#include "decimal.h"

/* The kinds of numeric value, in PostgreSQL's sort order. */
enum kind { NEG_INF, FINITE, POS_INF, NOT_A_NUMBER };

typedef struct dec {
    enum kind kind;
    bool neg;
    const char *ip;   /* integer digits, leading zeros skipped (ni may be 0) */
    size_t ni;
    const char *fp;   /* fractional digits, as written (trailing zeros kept) */
    size_t nf;
} dec;

static bool is_text(const char *s, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(s, word, len) == 0;
}

static void parse(const char *s, size_t len, dec *d)
{
    size_t i = 0;

    memset(d, 0, sizeof *d);
    if (is_text(s, len, "NaN")) {
        d->kind = NOT_A_NUMBER;
        return;
    }
    if (is_text(s, len, "Infinity")) {
        d->kind = POS_INF;
        return;
    }
    if (is_text(s, len, "-Infinity")) {
        d->kind = NEG_INF;
        return;
    }
    d->kind = FINITE;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        d->neg = s[i++] == '-';
    while (i < len && s[i] == '0')
        i++;
    d->ip = s + i;
    while (i < len && s[i] != '.')
        i++;
    d->ni = (size_t)(s + i - d->ip);
    if (i < len) {          /* the point */
        d->fp = s + i + 1;
        d->nf = len - i - 1;
    } else {
        d->fp = s + len;
    }
}

static bool is_zero(const dec *d)
{
    size_t i;
    if (d->ni > 0)
        return false;
    for (i = 0; i < d->nf; i++)
        if (d->fp[i] != '0')
            return false;
    return true;
}

/* Fractional digit i, 0 beyond the written ones. */
static char frac_digit(const dec *d, size_t i)
{
    return i < d->nf ? d->fp[i] : '0';
}

/* Compares the absolute values of two finite numbers. */
static int cmp_magnitude(const dec *a, const dec *b)
{
    size_t i, nf;
    int c;

    /* Without leading zeros, more integer digits is a larger number. */
    if (a->ni != b->ni)
        return a->ni < b->ni ? -1 : 1;
    c = memcmp(a->ip, b->ip, a->ni);
    if (c != 0)
        return c < 0 ? -1 : 1;
    nf = a->nf > b->nf ? a->nf : b->nf;
    for (i = 0; i < nf; i++) {
        char x = frac_digit(a, i), y = frac_digit(b, i);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

/* -1, 0 or 1: the sign of a finite number (zero has none). */
static int sign_of(const dec *d)
{
    if (is_zero(d))
        return 0;
    return d->neg ? -1 : 1;
}

int dbont_decimal_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    dec x, y;
    int sx, sy, c;

    parse(a, alen, &x);
    parse(b, blen, &y);
    if (x.kind != y.kind)
        return x.kind < y.kind ? -1 : 1;
    if (x.kind != FINITE)
        return 0;   /* two NaNs, or two infinities of the same sign */
    sx = sign_of(&x);
    sy = sign_of(&y);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    if (sx == 0)
        return 0;
    c = cmp_magnitude(&x, &y);
    return sx < 0 ? -c : c;
}

size_t dbont_decimal_add_room(size_t alen, size_t blen)
{
    /* At most one integer digit more than the longer integer part, the
     * longer fraction, a sign, a point, a NUL; and one byte of slack that
     * dbont_decimal_add works in.  Each part is shorter than its text. */
    size_t longer = alen > blen ? alen : blen;
    return 2 * longer + 4;
}

/* Aligned digit number p (0 .. nint + nfrac - 1) of d, as a value. */
static int digit_at(const dec *d, size_t p, size_t nint)
{
    if (p < nint) {
        size_t lead = nint - d->ni;     /* zeros before d's first digit */
        return p < lead ? 0 : d->ip[p - lead] - '0';
    }
    return frac_digit(d, p - nint) - '0';
}

static size_t put_special(char *out, const char *text)
{
    size_t n = strlen(text);
    memcpy(out, text, n + 1);
    return n;
}

/* The special cases of numeric_add. */
static size_t add_special(const dec *a, const dec *b, char *out)
{
    if (a->kind == NOT_A_NUMBER || b->kind == NOT_A_NUMBER)
        return put_special(out, "NaN");
    if ((a->kind == POS_INF && b->kind == NEG_INF) || (a->kind == NEG_INF && b->kind == POS_INF))
        return put_special(out, "NaN");
    if (a->kind == POS_INF || b->kind == POS_INF)
        return put_special(out, "Infinity");
    return put_special(out, "-Infinity");
}

size_t dbont_decimal_add(const char *a, size_t alen, const char *b, size_t blen, char *out)
{
    dec x, y;
    const dec *big, *small;
    size_t nint, nfrac, ndig, p, first, len;
    char *r, *dest;
    bool neg, nonzero = false;
    int carry = 0;

    parse(a, alen, &x);
    parse(b, blen, &y);
    if (x.kind != FINITE || y.kind != FINITE)
        return add_special(&x, &y, out);

    /* One more integer digit than either, for the carry. */
    nint = (x.ni > y.ni ? x.ni : y.ni) + 1;
    nfrac = x.nf > y.nf ? x.nf : y.nf;
    ndig = nint + nfrac;
    /* The digits are computed at out + 2, then moved left into place:
     * the two bytes before them are room for the sign and for the point
     * that goes between the integer and the fractional digits. */
    r = out + 2;

    if (x.neg == y.neg) {
        neg = x.neg;
        for (p = ndig; p-- > 0;) {
            int s = digit_at(&x, p, nint) + digit_at(&y, p, nint) + carry;
            carry = s >= 10;
            r[p] = (char)('0' + s % 10);
        }
    } else {
        /* The larger magnitude minus the smaller, with the larger's sign. */
        if (cmp_magnitude(&x, &y) >= 0) {
            big = &x;
            small = &y;
        } else {
            big = &y;
            small = &x;
        }
        neg = big->neg;
        for (p = ndig; p-- > 0;) {
            int s = digit_at(big, p, nint) - digit_at(small, p, nint) - carry;
            carry = s < 0;
            r[p] = (char)('0' + (s + 10) % 10);
        }
    }
    for (p = 0; p < ndig; p++)
        nonzero = nonzero || r[p] != '0';

    /* Integer digits without leading zeros, but at least one. */
    first = 0;
    while (first + 1 < nint && r[first] == '0')
        first++;
    dest = out;
    if (neg && nonzero)
        *dest++ = '-';
    memmove(dest, r + first, nint - first);
    dest += nint - first;
    if (nfrac > 0) {
        /* dest is at most out + 1 + nint: the fraction moves left (or
         * stays), and the point goes before it. */
        memmove(dest + 1, r + nint, nfrac);
        *dest = '.';
        dest += 1 + nfrac;
    }
    *dest = '\0';
    len = (size_t)(dest - out);
    return len;
}
