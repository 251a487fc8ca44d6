/* readfile.c: a whole file into memory (readfile.h). */
#include "readfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dbont_status dbont_read_file(const char *path, char **text, size_t *len, dbont_error *err)
{
    size_t cap = 0;
    *text = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return dbont_error_set(err, "58030", "%s: cannot read: %s", path, strerror(errno));
    for (;;) {
        if (*len == cap) {
            size_t grown = cap == 0 ? 8192 : cap * 2;
            char *more = realloc(*text, grown);
            if (more == NULL) {
                free(*text);
                *text = NULL;
                fclose(f);
                return dbont_error_set(err, "53200", "%s: out of memory reading it", path);
            }
            *text = more;
            cap = grown;
        }
        size_t got = fread(*text + *len, 1, cap - *len, f);
        *len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(*text);
        *text = NULL;
        *len = 0;
        fclose(f);
        return dbont_error_set(err, "58030", "%s: cannot read: %s", path, strerror(e));
    }
    fclose(f);
    return DBONT_OK;
}
