/*
 * Tiny test helpers shared by the C tests. Include it first: it selects the
 * POSIX level the helpers need (mkdtemp, nftw) before any system header.
 *
 *   CHECK(expr)                 expr is true
 *   CHECK_OK(call)              call returns AT_OK
 *   CHECK_STATUS(call, status)  call returns status
 *   CHECK_STR(a, b)             two non-NULL strings are equal
 *
 * and the helpers below them: count, stats, now_ms, sleep_ms, tmpdir_new,
 * tmpdir_remove, path_join, and storage_config / tracker_from / open_tracker
 * for a tracker on a store that sends nothing by itself.
 *
 * A failure prints file:line, the expression, the values involved and
 * at_last_error() of the failing thread, then exits with status 1. The macros
 * may be used from any thread, including attracker callbacks.
 */
#ifndef ATTRACKER_TESTS_CHECK_H
#define ATTRACKER_TESTS_CHECK_H

#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "at_tracker.h"

static void check_fail_(const char *file, int line, const char *expr, const char *detail)
{
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
    if (detail != NULL && detail[0] != '\0')
        fprintf(stderr, "    %s\n", detail);
    fprintf(stderr, "    at_last_error(): \"%s\"\n", at_last_error());
    fflush(stderr);
    exit(1);
}

#define CHECK(expr)                                                      \
    do {                                                                 \
        if (!(expr))                                                     \
            check_fail_(__FILE__, __LINE__, #expr, NULL);                \
    } while (0)

#define CHECK_STATUS(call, expected)                                     \
    do {                                                                 \
        at_status check_got_ = (call);                                   \
        at_status check_want_ = (expected);                              \
        if (check_got_ != check_want_) {                                 \
            char check_msg_[160];                                        \
            snprintf(check_msg_, sizeof check_msg_,                      \
                     "returned %s (%u), expected %s (%u)",               \
                     at_status_str(check_got_), (unsigned)check_got_,    \
                     at_status_str(check_want_), (unsigned)check_want_); \
            check_fail_(__FILE__, __LINE__, #call, check_msg_);          \
        }                                                                \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, AT_OK)

#define CHECK_STR(a, b)                                                  \
    do {                                                                 \
        const char *check_a_ = (a);                                      \
        const char *check_b_ = (b);                                      \
        if (check_a_ == NULL || check_b_ == NULL                         \
            || strcmp(check_a_, check_b_) != 0) {                        \
            char check_msg_[512];                                        \
            snprintf(check_msg_, sizeof check_msg_,                      \
                     "\"%.200s\" != \"%.200s\"",                         \
                     check_a_ ? check_a_ : "(NULL)",                     \
                     check_b_ ? check_b_ : "(NULL)");                    \
            check_fail_(__FILE__, __LINE__, #a " == " #b, check_msg_);   \
        }                                                                \
    } while (0)

/* The number of stored hits. */
static inline uint64_t count(at_tracker *t)
{
    uint64_t n = UINT64_MAX;
    CHECK_OK(at_offline_count(t, &n));
    return n;
}

/* The tracker's counters; `queued` is exact the moment a call returns. */
static inline at_stats stats(at_tracker *t)
{
    at_stats s;
    memset(&s, 0xAB, sizeof s);
    CHECK_OK(at_tracker_stats(t, &s, sizeof s));
    return s;
}

/* Wall-clock time in Unix milliseconds, as the library stamps hits. */
static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A fresh private directory under /tmp; free with tmpdir_remove. */
static inline char *tmpdir_new(void)
{
    char *dir = strdup("/tmp/attracker-test-XXXXXX");
    CHECK(dir != NULL);
    CHECK(mkdtemp(dir) != NULL);
    return dir;
}

static int tmpdir_remove_entry_(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* Removes `dir` and everything in it, then frees the string. */
static inline void tmpdir_remove(char *dir)
{
    CHECK(nftw(dir, tmpdir_remove_entry_, 16, FTW_DEPTH | FTW_PHYS) == 0);
    free(dir);
}

/* Writes "<dir>/<name>" to out. */
static inline void path_join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    CHECK(n > 0 && (size_t)n < size);
}

/* An endpoint nothing listens on (the discard port on loopback). */
#define UNREACHABLE_ENDPOINT "http://127.0.0.1:9/"

/* A config for storage tests: the store at `db`, UNREACHABLE_ENDPOINT, and
 * ALWAYS mode, so nothing is sent unless the test dispatches. The caller
 * changes what its suite needs, then passes it to tracker_from. */
static inline at_config *storage_config(const char *db)
{
    at_config *cfg = at_config_new();
    CHECK(cfg != NULL);
    CHECK_OK(at_config_set_storage_path(cfg, db));
    CHECK_OK(at_config_set_endpoint(cfg, UNREACHABLE_ENDPOINT));
    CHECK_OK(at_config_set_offline_mode(cfg, AT_OFFLINE_ALWAYS));
    return cfg;
}

/* A tracker made from `cfg`, which is freed. Free the tracker with
 * at_tracker_free. */
static inline at_tracker *tracker_from(at_config *cfg)
{
    at_tracker *t = NULL;
    CHECK_OK(at_tracker_new(cfg, &t));
    CHECK(t != NULL);
    at_config_free(cfg);
    return t;
}

/* A tracker on the store at `db` with storage_config's settings. */
static inline at_tracker *open_tracker(const char *db)
{
    return tracker_from(storage_config(db));
}

#endif /* ATTRACKER_TESTS_CHECK_H */
