/*
 * powercut: an LD_PRELOAD shim that simulates a power cut under the store.
 * Used by tests/power_loss.rs.
 *
 * It keeps, for each file whose path starts with POWERCUT_TARGET (the database,
 * its -wal and a rollback -journal; not the -shm, see below), the file as of its
 * last fsync/fdatasync ("durable"), and records every write and truncate since.
 * The process keeps reading and writing the real files meanwhile, as through a
 * page cache.
 *
 * At the cut, each file is rewritten as its durable image plus a random subset
 * of the writes since its last sync, and the process ends at once
 * (_exit(POWERCUT_EXIT_CODE)) without closing anything. The disk model:
 *
 *   - Data written but not synced may or may not have reached the disk, in any
 *     order, piece by piece: each recorded write is cut into 512-byte sectors
 *     (aligned to file offsets) and each sector independently persisted or not.
 *     A sector is atomic (never half old, half new). A later write to the same
 *     sector may persist while an earlier one does not, or both, or neither;
 *     never the earlier one over the later one (the page cache holds only the
 *     newest bytes). A truncate since the last sync persists or not.
 *   - fsync/fdatasync returning means every write to that file before it is on
 *     disk, whichever descriptor wrote it.
 *   - Directory entries (a file created or unlinked) are durable at once: SQLite
 *     syncs the directory when it creates the -wal or -journal file, and it
 *     deletes a journal only after syncing the database.
 *   - The -shm index is memory-mapped (the shim cannot see its writes) and is
 *     not needed after a cut: the first connection to open the store afterwards
 *     truncates and rebuilds it from the -wal. It is left as the process left it.
 *
 * The cut comes at I/O event POWERCUT_AT (1-based; events are writes, truncates
 * and syncs of the target files), just before the event runs: a write or sync in
 * progress when the power goes is not done. POWERCUT_SEED (decimal) seeds the
 * choice of the persisted subset, so a round can be replayed.
 *
 * POWERCUT_MARK_FD (optional): a descriptor (e.g. 1, a pipe to the parent) that
 * receives "sync" after every completed sync of the -wal file, and "cut" just
 * before the cut, each as one write(2) of one line.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define POWERCUT_EXIT_CODE 99
#define SECTOR 512
#define MAX_FILES 16
#define MAX_FDS 4096

struct op {
    off_t off;
    size_t len;          /* bytes written, or the new length for a truncate */
    unsigned char *data; /* NULL for a truncate */
};

struct file {
    int live;
    int is_wal;
    char path[4096];
    unsigned char *durable;
    size_t durable_len;
    struct op *ops;
    size_t n_ops, cap_ops;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct file files[MAX_FILES];
static int fd_file[MAX_FDS]; /* index + 1 into files, 0 when untracked */
static char target[4096];
static size_t target_len;
static long long cut_at, events;
static uint64_t rng;
static int mark_fd = -1;

#define REAL(name) static __typeof__(name) *real_##name; if (!real_##name) real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

__attribute__((constructor)) static void powercut_init(void)
{
    const char *t = getenv("POWERCUT_TARGET");
    if (t == NULL)
        return;
    snprintf(target, sizeof target, "%s", t);
    target_len = strlen(target);
    const char *at = getenv("POWERCUT_AT");
    cut_at = at ? atoll(at) : 0;
    const char *seed = getenv("POWERCUT_SEED");
    rng = seed ? strtoull(seed, NULL, 10) : 1;
    rng = rng * 0x9E3779B97F4A7C15ull + 1;
    const char *m = getenv("POWERCUT_MARK_FD");
    mark_fd = m ? atoi(m) : -1;
}

static uint64_t next_random(void)
{
    /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static void mark(const char *line)
{
    REAL(write);
    if (mark_fd >= 0)
        (void)real_write(mark_fd, line, strlen(line));
}

static void die(const char *what)
{
    REAL(write);
    char msg[256];
    snprintf(msg, sizeof msg, "powercut: %s: %s\n", what, strerror(errno));
    (void)real_write(2, msg, strlen(msg));
    abort();
}

static void *grow(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        die("out of memory");
    return q;
}

/* Whether a path belongs to the store, and is not the -shm. */
static int wanted(const char *path)
{
    size_t n = strlen(path);
    if (target_len == 0 || strncmp(path, target, target_len) != 0)
        return 0;
    return !(n >= 4 && strcmp(path + n - 4, "-shm") == 0);
}

static struct file *by_path(const char *path)
{
    for (int i = 0; i < MAX_FILES; i++)
        if (files[i].live && strcmp(files[i].path, path) == 0)
            return &files[i];
    return NULL;
}

/* The file's contents now; what a file held before this process touched it
 * (or when it was created) counts as durable. */
static struct file *track_path(const char *path)
{
    struct file *f = by_path(path);
    if (f != NULL)
        return f;
    for (int i = 0; i < MAX_FILES; i++) {
        if (files[i].live)
            continue;
        f = &files[i];
        memset(f, 0, sizeof *f);
        f->live = 1;
        snprintf(f->path, sizeof f->path, "%s", path);
        size_t n = strlen(path);
        f->is_wal = n >= 4 && strcmp(path + n - 4, "-wal") == 0;
        REAL(open);
        REAL(pread);
        REAL(close);
        int fd = real_open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            struct stat st;
            if (fstat(fd, &st) == 0 && st.st_size > 0) {
                f->durable = grow(NULL, (size_t)st.st_size);
                size_t got = 0;
                while (got < (size_t)st.st_size) {
                    ssize_t r = real_pread(fd, f->durable + got, (size_t)st.st_size - got, (off_t)got);
                    if (r <= 0)
                        break;
                    got += (size_t)r;
                }
                f->durable_len = got;
            }
            real_close(fd);
        }
        return f;
    }
    errno = EMFILE;
    die("too many store files");
    return NULL;
}

static void add_op(struct file *f, off_t off, const void *data, size_t len)
{
    if (f->n_ops == f->cap_ops) {
        f->cap_ops = f->cap_ops ? f->cap_ops * 2 : 64;
        f->ops = grow(f->ops, f->cap_ops * sizeof *f->ops);
    }
    struct op *o = &f->ops[f->n_ops++];
    o->off = off;
    o->len = len;
    o->data = NULL;
    if (data != NULL) {
        o->data = grow(NULL, len);
        memcpy(o->data, data, len);
    }
}

static void set_len(unsigned char **buf, size_t *len, size_t want)
{
    if (want > *len) {
        *buf = grow(*buf, want);
        memset(*buf + *len, 0, want - *len);
    }
    *len = want;
}

/* Applies `o` to an image: all of it (`all`), or a random subset of its sectors. */
static void apply(unsigned char **buf, size_t *len, const struct op *o, int all)
{
    if (o->data == NULL) {
        if (all || (next_random() & 1))
            set_len(buf, len, o->len);
        return;
    }
    size_t pos = (size_t)o->off, end = (size_t)o->off + o->len;
    while (pos < end) {
        size_t piece_end = (pos / SECTOR + 1) * SECTOR;
        if (piece_end > end)
            piece_end = end;
        if (all || (next_random() & 1)) {
            if (*len < piece_end)
                set_len(buf, len, piece_end);
            memcpy(*buf + pos, o->data + (pos - (size_t)o->off), piece_end - pos);
        }
        pos = piece_end;
    }
}

static void forget_ops(struct file *f)
{
    for (size_t i = 0; i < f->n_ops; i++)
        free(f->ops[i].data);
    f->n_ops = 0;
}

/* The power goes: each file becomes its durable image plus a random subset of
 * the writes since; the process ends without another instruction of its own. */
static void cut(void)
{
    REAL(open);
    REAL(write);
    REAL(close);
    mark("cut\n");
    for (int i = 0; i < MAX_FILES; i++) {
        struct file *f = &files[i];
        if (!f->live)
            continue;
        unsigned char *img = NULL;
        size_t len = 0;
        set_len(&img, &len, f->durable_len);
        if (f->durable_len)
            memcpy(img, f->durable, f->durable_len);
        for (size_t k = 0; k < f->n_ops; k++)
            apply(&img, &len, &f->ops[k], 0);
        int fd = real_open(f->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
            continue; /* unlinked meanwhile by another path: nothing to persist */
        size_t done = 0;
        while (done < len) {
            ssize_t w = real_write(fd, img + done, len - done);
            if (w <= 0)
                die("writing the image after the cut");
            done += (size_t)w;
        }
        real_close(fd);
    }
    _exit(POWERCUT_EXIT_CODE);
}

/* Counts an I/O event on a store file; cuts when its number has come. Called
 * with `mu` held. */
static void event(void)
{
    events++;
    if (cut_at > 0 && events == cut_at)
        cut(); /* never returns; `mu` stays held, so every other writer stops */
}

static struct file *file_of(int fd)
{
    if (fd < 0 || fd >= MAX_FDS || fd_file[fd] == 0)
        return NULL;
    return &files[fd_file[fd] - 1];
}

static void opened(int fd, int flags)
{
    if (fd < 0 || fd >= MAX_FDS || target_len == 0)
        return;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return;
    path[n] = '\0';
    pthread_mutex_lock(&mu);
    fd_file[fd] = 0;
    if (wanted(path)) {
        struct file *f = track_path(path);
        fd_file[fd] = (int)(f - files) + 1;
        if (flags & O_TRUNC) {
            event();
            add_op(f, 0, NULL, 0);
        }
    }
    pthread_mutex_unlock(&mu);
}

#define OPEN_BODY(call)                                                                 \
    mode_t mode = 0;                                                                    \
    if (flags & (O_CREAT | O_TMPFILE)) {                                                \
        va_list ap;                                                                     \
        va_start(ap, flags);                                                            \
        mode = va_arg(ap, mode_t);                                                      \
        va_end(ap);                                                                     \
    }                                                                                   \
    int fd = call;                                                                      \
    if (fd >= 0) {                                                                      \
        int saved = errno;                                                              \
        opened(fd, flags);                                                              \
        errno = saved;                                                                  \
    }                                                                                   \
    return fd;

int open(const char *path, int flags, ...) { REAL(open); OPEN_BODY(real_open(path, flags, mode)) }
int open64(const char *path, int flags, ...) { REAL(open64); OPEN_BODY(real_open64(path, flags, mode)) }
int openat(int dirfd, const char *path, int flags, ...) { REAL(openat); OPEN_BODY(real_openat(dirfd, path, flags, mode)) }
int openat64(int dirfd, const char *path, int flags, ...) { REAL(openat64); OPEN_BODY(real_openat64(dirfd, path, flags, mode)) }

int close(int fd)
{
    REAL(close);
    if (fd >= 0 && fd < MAX_FDS) {
        pthread_mutex_lock(&mu);
        fd_file[fd] = 0;
        pthread_mutex_unlock(&mu);
    }
    return real_close(fd);
}

static void forget_path(const char *path)
{
    if (target_len == 0 || path == NULL)
        return;
    char full[4096];
    if (path[0] != '/') {
        if (getcwd(full, sizeof full) == NULL)
            return;
        size_t n = strlen(full);
        snprintf(full + n, sizeof full - n, "/%s", path);
        path = full;
    }
    pthread_mutex_lock(&mu);
    struct file *f = by_path(path);
    if (f != NULL) {
        forget_ops(f);
        free(f->ops);
        free(f->durable);
        memset(f, 0, sizeof *f);
        for (int i = 0; i < MAX_FDS; i++)
            if (fd_file[i] == (int)(f - files) + 1)
                fd_file[i] = 0;
    }
    pthread_mutex_unlock(&mu);
}

int unlink(const char *path)
{
    REAL(unlink);
    int r = real_unlink(path);
    if (r == 0)
        forget_path(path);
    return r;
}

int unlinkat(int dirfd, const char *path, int flags)
{
    REAL(unlinkat);
    int r = real_unlinkat(dirfd, path, flags);
    if (r == 0 && (dirfd == AT_FDCWD || path[0] == '/'))
        forget_path(path);
    return r;
}

/* A write at `off` (or at the current offset when off < 0) on a store file. */
#define WRITE_BODY(call, off_expr)                                                      \
    pthread_mutex_lock(&mu);                                                            \
    struct file *f = file_of(fd);                                                       \
    if (f == NULL) {                                                                    \
        pthread_mutex_unlock(&mu);                                                      \
        return call;                                                                    \
    }                                                                                   \
    event();                                                                            \
    off_t at = off_expr;                                                                \
    ssize_t r = call;                                                                   \
    if (r > 0)                                                                          \
        add_op(f, at, buf, (size_t)r);                                                  \
    pthread_mutex_unlock(&mu);                                                          \
    return r;

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { REAL(pwrite); WRITE_BODY(real_pwrite(fd, buf, n, off), off) }
ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) { REAL(pwrite64); WRITE_BODY(real_pwrite64(fd, buf, n, off), off) }
ssize_t write(int fd, const void *buf, size_t n) { REAL(write); WRITE_BODY(real_write(fd, buf, n), lseek(fd, 0, SEEK_CUR)) }

#define TRUNCATE_BODY(call)                                                             \
    pthread_mutex_lock(&mu);                                                            \
    struct file *f = file_of(fd);                                                       \
    if (f != NULL)                                                                      \
        event();                                                                        \
    int r = call;                                                                       \
    if (f != NULL && r == 0)                                                            \
        add_op(f, 0, NULL, (size_t)len);                                                \
    pthread_mutex_unlock(&mu);                                                          \
    return r;

int ftruncate(int fd, off_t len) { REAL(ftruncate); TRUNCATE_BODY(real_ftruncate(fd, len)) }
int ftruncate64(int fd, off64_t len) { REAL(ftruncate64); TRUNCATE_BODY(real_ftruncate64(fd, len)) }

/* After a sync, the writes before it are durable. */
#define SYNC_BODY(call)                                                                 \
    pthread_mutex_lock(&mu);                                                            \
    struct file *f = file_of(fd);                                                       \
    if (f == NULL) {                                                                    \
        pthread_mutex_unlock(&mu);                                                      \
        return call;                                                                    \
    }                                                                                   \
    event();                                                                            \
    int r = call;                                                                       \
    if (r == 0) {                                                                       \
        for (size_t k = 0; k < f->n_ops; k++)                                           \
            apply(&f->durable, &f->durable_len, &f->ops[k], 1);                         \
        forget_ops(f);                                                                  \
        if (f->is_wal)                                                                  \
            mark("sync\n");                                                             \
    }                                                                                   \
    pthread_mutex_unlock(&mu);                                                          \
    return r;

int fsync(int fd) { REAL(fsync); SYNC_BODY(real_fsync(fd)) }
int fdatasync(int fd) { REAL(fdatasync); SYNC_BODY(real_fdatasync(fd)) }
