/*
 * attracker quick start: track hits offline, look at them, send them, tidy up.
 *
 *   quickstart [DIR [ENDPOINT]]
 *
 * DIR holds the store (default ./attracker-demo); ENDPOINT is the collector's
 * base URL (default http://127.0.0.1:8080; `cargo run --example collector`
 * starts one there). In AT_OFFLINE_ALWAYS mode nothing is sent by itself: hits
 * wait in the store until the app dispatches them.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "at_tracker.h"

/* Prints the failing call and the library's message, then leaves main. */
#define TRY(call)                                                             \
    do {                                                                      \
        at_status status_ = (call);                                           \
        if (status_ != AT_OK) {                                               \
            fprintf(stderr, "quickstart: %s failed: %s: %s\n", #call,         \
                    at_status_str(status_), at_last_error());                 \
            goto fail;                                                        \
        }                                                                     \
    } while (0)

/* Log lines arrive on the tracker's callback thread. */
static void log_to_stderr(at_log_level level, const char *message, void *user_data)
{
    static const char *const names[] = { "ERROR", "WARN", "INFO", "DEBUG" };
    (void)user_data;
    fprintf(stderr, "[attracker %s] %s\n", level <= AT_LOG_DEBUG ? names[level] : "?", message);
}

/* at_offline_dispatch completes on the callback thread; main waits for it. */
struct dispatch_wait {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    int done;
    at_dispatch_result result;
};

static void on_dispatched(const at_dispatch_result *result, void *user_data)
{
    struct dispatch_wait *w = user_data;
    pthread_mutex_lock(&w->lock);
    w->result = *result;
    w->done = 1;
    pthread_cond_signal(&w->done_cond);
    pthread_mutex_unlock(&w->lock);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_hit(const at_hit *hit)
{
    time_t seconds = (time_t)(at_hit_creation_date_ms(hit) / 1000);
    struct tm utc;
    char created[32];
    gmtime_r(&seconds, &utc);
    strftime(created, sizeof created, "%Y-%m-%d %H:%M:%S", &utc);

    printf("  #%" PRIu64 " %-12s %s.%03d UTC  %s  offline=%s\n", at_hit_id(hit), at_hit_type(hit), created,
           (int)(at_hit_creation_date_ms(hit) % 1000), at_hit_message_id(hit),
           at_hit_is_offline(hit) ? "yes" : "no");
    if (at_hit_body(hit) != NULL)
        printf("      POST %s  %s\n", at_hit_url(hit), at_hit_body(hit)); /* an event */
    else
        printf("      GET  %s\n", at_hit_url(hit)); /* a URL hit */
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "./attracker-demo";
    const char *endpoint = argc > 2 ? argv[2] : "http://127.0.0.1:8080";
    char storage_path[1024];
    at_config *config = NULL;
    at_tracker *tracker = NULL;
    at_hit_list *hits = NULL;
    uint64_t count = 0, deleted = 0;

    if (snprintf(storage_path, sizeof storage_path, "%s/attracker.db", dir) >= (int)sizeof storage_path) {
        fprintf(stderr, "quickstart: directory name too long\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* interleave cleanly with the log lines on stderr */
    printf("attracker %s, store %s\n", at_version(), storage_path);

    /* 1. Configure: where to store hits, where they go, and when to send. */
    config = at_config_new();
    if (config == NULL) {
        fprintf(stderr, "quickstart: out of memory\n");
        return 1;
    }
    TRY(at_config_set_storage_path(config, storage_path));
    TRY(at_config_set_endpoint(config, endpoint));
    TRY(at_config_set_offline_mode(config, AT_OFFLINE_ALWAYS));
    TRY(at_config_set_log_callback(config, log_to_stderr, NULL, AT_LOG_INFO));
    /* What every event's context says about the app (the library adds its own,
     * the OS, locale and time zone). */
    TRY(at_config_set_context(config, "{\"app\":{\"name\":\"quickstart\",\"version\":\"1.0\"}}"));

    /* 2. Open the tracker; the config is copied and can go. */
    TRY(at_tracker_new(config, &tracker));
    at_config_free(config);
    config = NULL;

    /* 3. Track. AT_OK means the hit is on disk. Who the user is goes with every
     *    later event (and is kept in the store); a screen is a Segment call. */
    TRY(at_identify(tracker, "user-42", "{\"plan\":\"pro\"}", NULL, NULL));
    TRY(at_screen(tracker, "Home", "{\"referrer\":\"push\"}", NULL, NULL));
    TRY(at_track_event(tracker, "purchase", "{\"sku\":\"A-113\",\"price\":9.99,\"currency\":\"EUR\"}", NULL,
                       NULL));
    char hit_url[1200];
    snprintf(hit_url, sizeof hit_url, "%s/hit.xiti?s=123&p=checkout", endpoint);
    TRY(at_send_hit(tracker, hit_url, "screen", NULL, NULL));

    /* 4. Inspect the stored hits, oldest first. */
    TRY(at_offline_get(tracker, &hits));
    printf("stored hits:\n");
    for (size_t i = 0; i < at_hit_list_len(hits); i++)
        print_hit(at_hit_list_get(hits, i));
    at_hit_list_free(hits);
    hits = NULL;
    TRY(at_offline_count(tracker, &count));
    printf("%" PRIu64 " stored hit(s)\n", count);

    /* 5. Send them: events in one JSON batch, the URL hit by GET. Each batch is
     *    deleted once the collector acknowledges it. */
    struct dispatch_wait wait = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, { 0 } };
    TRY(at_offline_dispatch(tracker, on_dispatched, &wait));
    pthread_mutex_lock(&wait.lock);
    while (!wait.done)
        pthread_cond_wait(&wait.done_cond, &wait.lock);
    pthread_mutex_unlock(&wait.lock);
    printf("dispatch: %s, sent %" PRIu64 ", failed %" PRIu64 ", dropped %" PRIu64 "\n",
           at_status_str(wait.result.status), wait.result.sent, wait.result.failed, wait.result.dropped);
    if (wait.result.status == AT_ERR_NETWORK)
        printf("  (no collector at %s: the hits stay stored for the next dispatch)\n", endpoint);
    TRY(at_offline_count(tracker, &count));
    printf("%" PRIu64 " stored hit(s) left\n", count);

    /* 6. Housekeeping: drop stale hits, then every hit created up to now (the
     *    cutoff is exclusive). at_offline_delete() would clear the store at once. */
    TRY(at_offline_delete_older_than_days(tracker, 30, &deleted));
    printf("deleted %" PRIu64 " hit(s) older than 30 days\n", deleted);
    TRY(at_offline_delete_older_than(tracker, now_ms() + 1, &deleted));
    printf("deleted %" PRIu64 " hit(s) created up to now\n", deleted);

    /* 7. Free: commits anything pending and stops the tracker's threads. */
    at_tracker_free(tracker);
    return 0;

fail:
    at_hit_list_free(hits);
    at_tracker_free(tracker);
    at_config_free(config);
    return 1;
}
