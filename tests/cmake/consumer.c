/*
 * A C program as a user of the packaged library writes it: include the header,
 * link attracker, track one event into a temporary store and count it.
 * Built by every consumer project in tests/cmake (add_subdirectory,
 * find_package, pkg-config). Exits 0 on success.
 *
 * ATTRACKER_EXPECTED_VERSION, when defined, must equal at_version(): the
 * package version CMake read from Cargo.toml and the library's own agree.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "at_tracker.h"

#define FAIL(...)                                                             \
    do {                                                                      \
        fprintf(stderr, "consumer.c: " __VA_ARGS__);                          \
        fprintf(stderr, " (at_last_error: %s)\n", at_last_error());           \
        goto done;                                                            \
    } while (0)

int main(void)
{
    int ok = 0;
    char dir[] = "/tmp/attracker-consumer-c-XXXXXX";
    char path[sizeof dir + 16];
    at_config *config = NULL;
    at_tracker *tracker = NULL;
    uint64_t count = 0;

    printf("attracker %s\n", at_version());
#ifdef ATTRACKER_EXPECTED_VERSION
    if (strcmp(at_version(), ATTRACKER_EXPECTED_VERSION) != 0) {
        fprintf(stderr, "consumer.c: at_version() %s, package version %s\n", at_version(),
                ATTRACKER_EXPECTED_VERSION);
        return 1;
    }
#endif
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/store.db", dir);

    config = at_config_new();
    if (config == NULL)
        FAIL("at_config_new");
    if (at_config_set_storage_path(config, path) != AT_OK)
        FAIL("at_config_set_storage_path");
    /* Never contacted: AT_OFFLINE_ALWAYS only stores. */
    if (at_config_set_endpoint(config, "http://127.0.0.1:9") != AT_OK)
        FAIL("at_config_set_endpoint");
    if (at_config_set_offline_mode(config, AT_OFFLINE_ALWAYS) != AT_OK)
        FAIL("at_config_set_offline_mode");
    if (at_tracker_new(config, &tracker) != AT_OK)
        FAIL("at_tracker_new");
    if (at_track_event(tracker, "consumer_c", "{\"lang\":\"c\"}", NULL, NULL) != AT_OK)
        FAIL("at_track_event");
    if (at_offline_count(tracker, &count) != AT_OK)
        FAIL("at_offline_count");
    if (count != 1)
        FAIL("at_offline_count: %llu hits stored, expected 1", (unsigned long long)count);
    printf("stored %llu hit in %s\n", (unsigned long long)count, path);
    ok = 1;

done:
    at_tracker_free(tracker);
    at_config_free(config);
    {
        static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
        char file[sizeof path + 16];
        for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
            snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
            unlink(file);
        }
        rmdir(dir);
    }
    return ok ? 0 : 1;
}
