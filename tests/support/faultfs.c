/*
 * faultfs: an LD_PRELOAD shim that makes file I/O on one path prefix fail on
 * demand, the way a locked iOS device (data protection) or a read-only remount
 * fails the files an app already has open. Used by tests/storage_faults.rs.
 *
 *   FAULTFS_TARGET  path prefix of the files to fail (the store and its -wal/-shm)
 *   FAULTFS_MODE    "locked": reads, writes, syncs and opens fail with EACCES
 *                   "readonly": writes, syncs, truncates and opens for writing
 *                   fail with EROFS; reads work
 *   SIGUSR1 turns the fault on, SIGUSR2 off (off at start).
 *
 * Memory-mapped I/O (SQLite's -shm index) cannot be intercepted and is left alone.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static volatile sig_atomic_t fault_on;
static int readonly_mode;
static char target[4096];
static size_t target_len;

static void on_usr1(int sig) { (void)sig; fault_on = 1; }
static void on_usr2(int sig) { (void)sig; fault_on = 0; }

__attribute__((constructor)) static void faultfs_init(void)
{
    const char *t = getenv("FAULTFS_TARGET");
    const char *m = getenv("FAULTFS_MODE");
    if (t == NULL)
        return;
    snprintf(target, sizeof target, "%s", t);
    target_len = strlen(target);
    readonly_mode = m != NULL && strcmp(m, "readonly") == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
}

static int path_matches(const char *path)
{
    return target_len > 0 && path != NULL && strncmp(path, target, target_len) == 0;
}

static int fd_matches(int fd)
{
    if (target_len == 0 || !fault_on)
        return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    return path_matches(path);
}

/* Fails the call when the fault is on for this fd; `write` says whether it writes. */
static int fail_fd(int fd, int write)
{
    if (!fd_matches(fd))
        return 0;
    if (readonly_mode && !write)
        return 0;
    errno = readonly_mode ? EROFS : EACCES;
    return 1;
}

#define REAL(name) static __typeof__(name) *real_##name; if (!real_##name) real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t pread(int fd, void *buf, size_t n, off_t off) { REAL(pread); if (fail_fd(fd, 0)) return -1; return real_pread(fd, buf, n, off); }
ssize_t pread64(int fd, void *buf, size_t n, off64_t off) { REAL(pread64); if (fail_fd(fd, 0)) return -1; return real_pread64(fd, buf, n, off); }
ssize_t read(int fd, void *buf, size_t n) { REAL(read); if (fail_fd(fd, 0)) return -1; return real_read(fd, buf, n); }
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { REAL(pwrite); if (fail_fd(fd, 1)) return -1; return real_pwrite(fd, buf, n, off); }
ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) { REAL(pwrite64); if (fail_fd(fd, 1)) return -1; return real_pwrite64(fd, buf, n, off); }
ssize_t write(int fd, const void *buf, size_t n) { REAL(write); if (fail_fd(fd, 1)) return -1; return real_write(fd, buf, n); }
int fsync(int fd) { REAL(fsync); if (fail_fd(fd, 1)) return -1; return real_fsync(fd); }
int fdatasync(int fd) { REAL(fdatasync); if (fail_fd(fd, 1)) return -1; return real_fdatasync(fd); }
int ftruncate(int fd, off_t len) { REAL(ftruncate); if (fail_fd(fd, 1)) return -1; return real_ftruncate(fd, len); }
int ftruncate64(int fd, off64_t len) { REAL(ftruncate64); if (fail_fd(fd, 1)) return -1; return real_ftruncate64(fd, len); }

static int fail_open(const char *path, int flags)
{
    if (!fault_on || !path_matches(path))
        return 0;
    if (readonly_mode && (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) == 0)
        return 0;
    errno = readonly_mode ? EROFS : EACCES;
    return 1;
}

int open(const char *path, int flags, ...)
{
    REAL(open);
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
    if (fail_open(path, flags)) return -1;
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    REAL(open64);
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
    if (fail_open(path, flags)) return -1;
    return real_open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    REAL(openat);
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
    if (fail_open(path, flags)) return -1;
    return real_openat(dirfd, path, flags, mode);
}
