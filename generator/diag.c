#include "diag.h"

#include <stdarg.h>

void diag_init(diag *d, FILE *out)
{
    d->out = out;
    d->errors = 0;
    d->warnings = 0;
}

static void report(diag *d, dpos pos, const char *kind, const char *fmt, va_list ap)
{
    if (pos.file && pos.line)
        fprintf(d->out, "%s:%u:%u: %s: ", pos.file, pos.line, pos.col ? pos.col : 1, kind);
    else if (pos.file)
        fprintf(d->out, "%s: %s: ", pos.file, kind);
    else
        fprintf(d->out, "dbont-gen: %s: ", kind);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
}

void diag_error(diag *d, dpos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, pos, "error", fmt, ap);
    va_end(ap);
    d->errors++;
}

void diag_warning(diag *d, dpos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, pos, "warning", fmt, ap);
    va_end(ap);
    d->warnings++;
}

void diag_note(diag *d, dpos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, pos, "note", fmt, ap);
    va_end(ap);
}

unsigned diag_errors(const diag *d)
{
    return d->errors;
}
