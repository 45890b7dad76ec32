/* The smallest host of the benchmark's footprint section (footprint.rs).
 *
 * Built with -DWITH_ATTRACKER it opens a tracker, stores events and closes
 * it; built without, it only prints its argument. Both are stripped: the
 * difference in size is what linking libattracker's static archive adds to a
 * program. Linked against a shared build instead, it times the library of
 * that build (the mobile profile against the release one).
 *
 * Usage: footprint_app <store path> [events]
 * Tracks `events` (default 1) 300-byte events with AT_DURABILITY_BATCHED and
 * prints "events_per_s <rate> refused <calls retried>" once all are
 * committed; exits 0 on success. */
#include <stdio.h>
#include <stdlib.h>

#ifdef WITH_ATTRACKER
#include <string.h>
#include <time.h>

#include "at_tracker.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *path, long events) {
    char props[301];
    const char *head = "{\"screen\":\"checkout\",\"step\":3,\"pad\":\"";
    size_t fill = 300 - strlen(head) - 2;
    strcpy(props, head);
    memset(props + strlen(head), 'x', fill);
    strcpy(props + strlen(head) + fill, "\"}");

    at_config *config = at_config_new();
    if (config == NULL)
        return 1;
    at_config_set_storage_path(config, path);
    at_config_set_endpoint(config, "http://127.0.0.1:9");
    at_config_set_offline_mode(config, AT_OFFLINE_ALWAYS);
    at_config_set_durability(config, AT_DURABILITY_BATCHED);
    at_tracker *tracker = NULL;
    at_status status = at_tracker_new(config, &tracker);
    at_config_free(config);
    double start = now_s();
    long refused = 0;
    for (long i = 0; status == AT_OK && i < events; i++) {
        status = at_track_event(tracker, "Checkout Step Viewed", props, NULL, NULL);
        /* "Not accepted": the store took nothing for a commit window (README,
         * "Bounded memory"); the hit was not taken, so a host retries it. */
        while (status == AT_ERR_STORAGE && refused < 10000) {
            refused++;
            status = at_track_event(tracker, "Checkout Step Viewed", props, NULL, NULL);
        }
    }
    if (status == AT_OK)
        status = at_tracker_sync(tracker);
    double secs = now_s() - start;
    if (status == AT_OK)
        printf("events_per_s %.0f refused %ld\n", (double)events / secs, refused);
    else
        fprintf(stderr, "footprint_app: %s\n", at_last_error());
    at_tracker_free(tracker);
    return status == AT_OK ? 0 : 1;
}
#endif

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s <store path> [events]\n", argv[0]);
        return 2;
    }
    long events = argc == 3 ? strtol(argv[2], NULL, 10) : 1;
    if (events < 1)
        return 2;
#ifdef WITH_ATTRACKER
    return run(argv[1], events);
#else
    printf("%s %ld\n", argv[1], events);
    return 0;
#endif
}
