#include "m4.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define LQ "\xc2\xab" /* « */
#define RQ "\xc2\xbb" /* » */

static void escape(buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '@') {
            buf_adds(out, "@a");
        } else if (*s == '$') {
            buf_adds(out, "@d");
        } else if (strncmp(s, LQ, 2) == 0) {
            buf_adds(out, "@l");
            s++;
        } else if (strncmp(s, RQ, 2) == 0) {
            buf_adds(out, "@r");
            s++;
        } else if ((strncmp(s, "d4_", 3) == 0 || strncmp(s, "m4_", 3) == 0)) {
            buf_addc(out, s[0]);
            buf_adds(out, "4@u");
            s += 2;
        } else {
            buf_addc(out, *s);
        }
    }
}

void m4_leaf(buf *out, const char *value)
{
    buf_adds(out, LQ LQ);
    escape(out, value);
    buf_adds(out, RQ RQ);
}

void m4_call(buf *out, const char *name, const char *kinds, const char *const *args)
{
    buf_adds(out, name);
    buf_addc(out, '(');
    for (size_t i = 0; kinds[i]; i++) {
        if (i)
            buf_adds(out, ", ");
        if (kinds[i] == 'v') {
            m4_leaf(out, args[i]);
        } else {
            buf_adds(out, LQ);
            buf_adds(out, args[i]);
            buf_adds(out, RQ);
        }
    }
    buf_addc(out, ')');
}

void m4_define_value(buf *defs, const char *name, const char *value)
{
    buf_printf(defs, "m4_define(" LQ "%s" RQ ", ", name);
    m4_leaf(defs, value);
    buf_adds(defs, ")\n");
}

void m4_define_text(buf *defs, const char *name, const char *text)
{
    buf_printf(defs, "m4_define(" LQ "%s" RQ ", " LQ "%s" RQ ")\n", name, text);
}

/* ---- running m4 ------------------------------------------------------------ */

static bool write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* Runs argv with stdout captured into out; returns the exit status, or -1
 * when it could not run (reported). */
static int run_capture(char *const argv[], buf *out, diag *d)
{
    int pipefd[2];
    dpos none = {0};
    if (pipe(pipefd) != 0) {
        diag_error(d, none, "cannot run %s: %s", argv[0], strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        diag_error(d, none, "cannot run %s: %s", argv[0], strerror(errno));
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "dbont-gen: error: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(pipefd[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        buf_add(out, chunk, (size_t)n);
    }
    close(pipefd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            diag_error(d, none, "waiting for %s: %s", argv[0], strerror(errno));
            return -1;
        }
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* ---- post-pass ---------------------------------------------------------------- */

static void add_output(m4_outputs *o, const char *name, size_t nlen)
{
    GROW(o->v, o->cap, o->n);
    o->v[o->n].name = xstrndup(name, nlen);
    o->v[o->n].text = NULL;
    o->n++;
}

static bool split_and_decode(const char *raw, size_t len, m4_outputs *o, diag *d)
{
    dpos none = {0};
    buf cur;
    buf_init(&cur);
    unsigned line = 1;
    bool ok = true;
    for (size_t i = 0; i < len && ok;) {
        const char *eol = memchr(raw + i, '\n', len - i);
        size_t end = eol ? (size_t)(eol - raw) + 1 : len;
        const char *l = raw + i;
        size_t ll = end - i;
        if (ll >= 10 && strncmp(l, "@output ", 8) == 0) {
            const char *close = memchr(l + 8, '@', ll - 8);
            if (!close) {
                diag_error(d, none, "skeleton output line %u: malformed @output directive", line);
                ok = false;
                break;
            }
            if (o->n)
                o->v[o->n - 1].text = buf_take(&cur);
            else {
                for (size_t k = 0; k < cur.len; k++)
                    if (cur.data[k] != ' ' && cur.data[k] != '\n' && cur.data[k] != '\t') {
                        diag_error(d, none, "the skeletons produced text before their first @output "
                                            "directive");
                        ok = false;
                        break;
                    }
                buf_reset(&cur);
            }
            add_output(o, l + 8, (size_t)(close - (l + 8)));
        } else {
            for (size_t k = 0; k < ll; k++) {
                char c = l[k];
                if ((c == 'd' || c == 'm') && k + 2 < ll && l[k + 1] == '4' && l[k + 2] == '_') {
                    size_t w = 3;
                    while (k + w < ll && (isalnum((unsigned char)l[k + w]) || l[k + w] == '_'))
                        w++;
                    diag_error(d, none, "skeleton output line %u: unexpanded macro '%.*s' (a skeleton "
                                        "uses a macro that is not defined)",
                               line, (int)w, l + k);
                    ok = false;
                    break;
                }
                if (c != '@') {
                    buf_addc(&cur, c);
                    continue;
                }
                char e = k + 1 < ll ? l[k + 1] : '\0';
                const char *rep = e == 'a' ? "@" : e == 'l' ? LQ : e == 'r' ? RQ : e == 'd' ? "$" : e == 'u' ? "_" : NULL;
                if (!rep) {
                    diag_error(d, none, "skeleton output line %u: stray '@' (write @a for a literal @)",
                               line);
                    ok = false;
                    break;
                }
                buf_adds(&cur, rep);
                k++;
            }
        }
        i = end;
        line++;
    }
    if (ok && o->n)
        o->v[o->n - 1].text = buf_take(&cur);
    buf_free(&cur);
    if (ok && o->n == 0) {
        diag_error(d, none, "the skeletons produced no @output directive");
        ok = false;
    }
    return ok;
}

bool m4_expand(const char *m4, const char *skeleton_dir, const char *entry, const char *defs,
               m4_outputs *out, diag *d)
{
    dpos none = {0};
    char path[] = "/tmp/dbont-gen-defs-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        diag_error(d, none, "cannot create a temporary file: %s", strerror(errno));
        return false;
    }
    static const char prologue[] = "m4_changequote(" LQ "," RQ ")m4_changecom()m4_divert(-1)\n";
    static const char epilogue[] = "m4_divert(0)";
    bool wrote = write_all(fd, prologue, sizeof prologue - 1) && write_all(fd, defs, strlen(defs)) &&
                 write_all(fd, epilogue, sizeof epilogue - 1);
    close(fd);
    if (!wrote) {
        diag_error(d, none, "cannot write %s: %s", path, strerror(errno));
        unlink(path);
        return false;
    }
    char *entry_path = xasprintf("%s/%s", skeleton_dir, entry);
    if (access(entry_path, R_OK) != 0) {
        diag_error(d, none, "cannot read skeleton %s: %s", entry_path, strerror(errno));
        free(entry_path);
        unlink(path);
        return false;
    }
    char *argv[] = {(char *)m4, "-P", "--fatal-warnings", "-I", (char *)skeleton_dir, path, entry_path, NULL};
    buf raw;
    buf_init(&raw);
    int status = run_capture(argv, &raw, d);
    unlink(path);
    free(entry_path);
    bool ok = status == 0;
    if (status > 0)
        diag_error(d, none, "m4 failed (exit status %d) on the skeletons in %s", status, skeleton_dir);
    if (ok)
        ok = split_and_decode(raw.data ? raw.data : "", raw.len, out, d);
    buf_free(&raw);
    return ok;
}

const char *m4_output_text(const m4_outputs *o, const char *name)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->v[i].name, name) == 0)
            return o->v[i].text ? o->v[i].text : "";
    return NULL;
}

void m4_outputs_free(m4_outputs *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->v[i].name);
        free(o->v[i].text);
    }
    free(o->v);
    o->v = NULL;
    o->n = o->cap = 0;
}
