/*
 * What both Objective-C test programs share: the failure check, and the test
 * collector run as a child process (started on a free loopback port, waited
 * for, killed at exit). Included once by each program; everything is static.
 */
#import <Foundation/Foundation.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The test running now, for failure messages. */
static const char *currentTest = "";
static pid_t collectorPid = -1;

/* The file name of a path (__FILE__ may be absolute). */
static const char *baseName(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

#define CHECK(condition, ...)                                                                                 \
    do {                                                                                                      \
        if (!(condition)) {                                                                                   \
            fprintf(stderr, "FAIL %s (%s:%d): %s\n  ", currentTest, baseName(__FILE__), __LINE__, #condition); \
            fprintf(stderr, __VA_ARGS__);                                                                     \
            fprintf(stderr, "\n");                                                                            \
            exit(1); /* atexit: the collector is stopped */                                                   \
        }                                                                                                     \
    } while (0)

static void stopCollector(void)
{
    if (collectorPid > 0) {
        kill(collectorPid, SIGKILL);
        waitpid(collectorPid, NULL, 0);
        collectorPid = -1;
    }
}

static void sleepMs(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Starts `collector 127.0.0.1:0 --exit-after hits` (with `--json` when `output`
 * is set: every event it receives is printed as one line of JSON, with a line
 * per way it differs from the Segment call shapes, and *output is the read end
 * of its stdout). Returns its base URL. */
static NSString *startCollectorReading(const char *path, int hits, int *output)
{
    int out[2];
    CHECK(pipe(out) == 0, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addclose(&actions, out[1]);
    char count[16];
    snprintf(count, sizeof count, "%d", hits);
    char *argv[] = { (char *)path, "127.0.0.1:0", "--exit-after", count, output ? "--json" : NULL, NULL };
    int rc = posix_spawn(&collectorPid, path, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    CHECK(rc == 0, "cannot start the collector %s: %s", path, strerror(rc));

    /* Its first line, within 10 s: "collector listening on http://127.0.0.1:PORT". */
    char line[256];
    size_t used = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (used + 1 < sizeof line) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = 10000 - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        struct pollfd pfd = { out[0], POLLIN, 0 };
        CHECK(left > 0 && poll(&pfd, 1, (int)left) == 1, "the collector printed no first line within 10 s");
        ssize_t n = read(out[0], line + used, 1);
        CHECK(n == 1, "the collector's output ended before its first line");
        if (line[used] == '\n')
            break;
        used++;
    }
    line[used] = '\0';
    const char *prefix = "collector listening on ";
    CHECK(strncmp(line, prefix, strlen(prefix)) == 0, "unexpected first line from the collector: %s", line);
    if (output)
        *output = out[0];
    /* Otherwise the rest of its output (a few lines per request) fits the
     * pipe's buffer; it is not read. */
    return [NSString stringWithUTF8String:line + strlen(prefix)];
}

/* Starts `collector 127.0.0.1:0 --exit-after hits`; returns its base URL. */
static NSString *startCollector(const char *path, int hits)
{
    return startCollectorReading(path, hits, NULL);
}

/* Waits up to `seconds` for the collector to exit by itself; its exit status,
 * or -1 when it had to be killed. */
static int waitCollector(int seconds)
{
    int status = 0;
    for (int i = 0; i < seconds * 20; i++) {
        if (waitpid(collectorPid, &status, WNOHANG) == collectorPid) {
            collectorPid = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        sleepMs(50);
    }
    stopCollector();
    return -1;
}
