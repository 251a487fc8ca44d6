#include "outfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Is the file at path exactly text?  *exists tells whether it exists. */
static bool same_content(const char *path, const char *text, bool *exists)
{
    FILE *f = fopen(path, "rb");
    *exists = f != NULL;
    if (!f)
        return false;
    size_t len = strlen(text), at = 0;
    char chunk[8192];
    bool same = true;
    size_t n;
    while (same && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        same = at + n <= len && memcmp(chunk, text + at, n) == 0;
        at += n;
    }
    same = same && !ferror(f) && at == len;
    fclose(f);
    return same;
}

static bool make_dirs(const char *path, diag *d)
{
    char *p = xstrdup(path);
    bool ok = true;
    for (char *s = p + 1; *s && ok; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            dpos pos = {p, 0, 0};
            diag_error(d, pos, "cannot create folder: %s", strerror(errno));
            ok = false;
        }
        *s = '/';
    }
    free(p);
    return ok;
}

static bool write_atomically(const char *path, const char *text, diag *d)
{
    dpos pos = {path, 0, 0};
    char *tmp = xasprintf("%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        diag_error(d, pos, "cannot write: %s", strerror(errno));
        free(tmp);
        return false;
    }
    size_t len = strlen(text);
    bool ok = true;
    for (size_t at = 0; at < len && ok;) {
        ssize_t n = write(fd, text + at, len - at);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        at += ok ? (size_t)n : 0;
    }
    /* mkstemp creates 0600; generated files are ordinary files */
    mode_t mask = umask(0);
    umask(mask);
    ok = ok && fchmod(fd, 0666 & ~mask) == 0;
    ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        diag_error(d, pos, "cannot write: %s", strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok;
}

bool outfiles_write(const outfile *files, size_t n, diag *d)
{
    bool *skip = xcalloc(n ? n : 1, sizeof *skip);
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        bool exists;
        skip[i] = same_content(files[i].path, files[i].text, &exists);
        if (exists && !skip[i] && files[i].history) {
            dpos pos = {files[i].path, 0, 0};
            diag_error(d, pos, "a different migration with this name exists; migrations are never "
                               "rewritten, so nothing was written");
            ok = false;
        }
    }
    for (size_t i = 0; i < n && ok; i++)
        if (!skip[i])
            ok = make_dirs(files[i].path, d) && write_atomically(files[i].path, files[i].text, d);
    free(skip);
    return ok;
}
