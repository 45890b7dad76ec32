/*
 * Every entry point refuses bad input with the documented status and a
 * message, changes nothing when it does, and the lifecycle edges (disabled
 * tracking, closed tracker, *_free(NULL)) behave as the header says.
 */
#include "check.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>

#define BAD_UTF8 "\xff\xfe"

static at_tracker *g_tracker;   /* the tracker whose count must not move */
static uint64_t g_count;        /* its number of stored hits */

/*
 * `call` returns `status`, at_last_error() names the function and contains
 * `needle`, and the store of g_tracker (when open) kept its hits.
 */
static void expect_fail_(const char *file, int line, const char *expr, at_status got,
                         at_status status, const char *func, const char *needle)
{
    char msg[512];
    const char *err = at_last_error();
    if (got != status) {
        snprintf(msg, sizeof msg, "returned %s, expected %s", at_status_str(got), at_status_str(status));
        check_fail_(file, line, expr, msg);
    }
    size_t len = strlen(func);
    if (strncmp(err, func, len) != 0 || err[len] != ':') {
        snprintf(msg, sizeof msg, "at_last_error() does not start with \"%s:\"", func);
        check_fail_(file, line, expr, msg);
    }
    if (needle != NULL && strstr(err, needle) == NULL) {
        snprintf(msg, sizeof msg, "at_last_error() does not mention \"%s\"", needle);
        check_fail_(file, line, expr, msg);
    }
    if (g_tracker != NULL && count(g_tracker) != g_count) {
        snprintf(msg, sizeof msg, "the store count changed from %" PRIu64, g_count);
        check_fail_(file, line, expr, msg);
    }
}

#define EXPECT_FAIL(status, func, needle, call) \
    expect_fail_(__FILE__, __LINE__, #call, (call), (status), (func), (needle))
#define EXPECT_NULL_ARG(func, arg, call) EXPECT_FAIL(AT_ERR_NULL_ARGUMENT, func, arg " is NULL", call)
#define EXPECT_INVALID(func, call) EXPECT_FAIL(AT_ERR_INVALID_ARGUMENT, func, NULL, call)

static void log_sink(at_log_level level, const char *message, void *user_data)
{
    (void)level;
    (void)message;
    (void)user_data;
}

static void drop_sink(at_drop_reason reason, const char *const *ids, size_t n, void *user_data)
{
    (void)reason;
    (void)ids;
    (void)n;
    (void)user_data;
}

static void *fresh_thread_last_error(void *arg)
{
    (void)arg;
    return (void *)(at_last_error()[0] == '\0' ? "empty" : NULL);
}

static void check_last_error_basics(void)
{
    CHECK(at_last_error() != NULL);
    CHECK(at_version() != NULL);
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", AT_VERSION_MAJOR, AT_VERSION_MINOR, AT_VERSION_PATCH);
    CHECK_STR(at_version(), version);

    /* Thread-local: a new thread starts with "", whatever failed here. */
    CHECK_STATUS(at_config_set_endpoint(NULL, UNREACHABLE_ENDPOINT), AT_ERR_NULL_ARGUMENT);
    pthread_t th;
    void *result = NULL;
    CHECK(pthread_create(&th, NULL, fresh_thread_last_error, NULL) == 0);
    CHECK(pthread_join(th, &result) == 0);
    CHECK(result != NULL);

    /* A successful call leaves the message as it was. */
    char before[256];
    snprintf(before, sizeof before, "%s", at_last_error());
    CHECK(before[0] != '\0');
    at_config *cfg = at_config_new();
    CHECK_OK(at_config_set_endpoint(cfg, UNREACHABLE_ENDPOINT));
    CHECK_STR(at_last_error(), before);
    at_config_free(cfg);
}

static void check_status_names(void)
{
    static const struct {
        at_status status;
        const char *name;
    } names[] = {
        { AT_OK, "AT_OK" },
        { AT_ERR_NULL_ARGUMENT, "AT_ERR_NULL_ARGUMENT" },
        { AT_ERR_INVALID_ARGUMENT, "AT_ERR_INVALID_ARGUMENT" },
        { AT_ERR_TOO_LARGE, "AT_ERR_TOO_LARGE" },
        { AT_ERR_SUPPRESSED, "AT_ERR_SUPPRESSED" },
        { AT_ERR_STORAGE, "AT_ERR_STORAGE" },
        { AT_ERR_NETWORK, "AT_ERR_NETWORK" },
        { AT_ERR_CANCELLED, "AT_ERR_CANCELLED" },
        { AT_ERR_CLOSED, "AT_ERR_CLOSED" },
        { AT_ERR_INTERNAL, "AT_ERR_INTERNAL" },
        { AT_ERR_KEY_REJECTED, "AT_ERR_KEY_REJECTED" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        CHECK(names[i].status == (at_status)i); /* values are fixed */
        CHECK_STR(at_status_str(names[i].status), names[i].name);
    }
    CHECK_STR(at_status_str(11), "AT_UNKNOWN_STATUS");
    CHECK_STR(at_status_str(0xFFFFFFFFu), "AT_UNKNOWN_STATUS");
}

static void check_free_null(void)
{
    at_config_free(NULL);
    at_tracker_free(NULL);
    at_hit_list_free(NULL);
    at_hit_free(NULL);
}

static void check_config_rejects(void)
{
    /* NULL handle for every setter. */
    EXPECT_NULL_ARG("at_config_set_storage_path", "config", at_config_set_storage_path(NULL, "/tmp/x.db"));
    EXPECT_NULL_ARG("at_config_set_endpoint", "config", at_config_set_endpoint(NULL, UNREACHABLE_ENDPOINT));
    EXPECT_NULL_ARG("at_config_set_api_key", "config", at_config_set_api_key(NULL, "k"));
    EXPECT_NULL_ARG("at_config_set_offline_mode", "config", at_config_set_offline_mode(NULL, AT_OFFLINE_ALWAYS));
    EXPECT_NULL_ARG("at_config_set_durability", "config", at_config_set_durability(NULL, AT_DURABILITY_BATCHED));
    EXPECT_NULL_ARG("at_config_set_synchronous", "config", at_config_set_synchronous(NULL, AT_SYNCHRONOUS_FULL));
    EXPECT_NULL_ARG("at_config_set_flush_interval_ms", "config", at_config_set_flush_interval_ms(NULL, 1));
    EXPECT_NULL_ARG("at_config_set_flush_threshold", "config", at_config_set_flush_threshold(NULL, 1));
    EXPECT_NULL_ARG("at_config_set_max_queue_size", "config", at_config_set_max_queue_size(NULL, 1));
    EXPECT_NULL_ARG("at_config_set_max_store_bytes", "config", at_config_set_max_store_bytes(NULL, 1 << 20));
    EXPECT_NULL_ARG("at_config_set_max_event_bytes", "config", at_config_set_max_event_bytes(NULL, 1024));
    EXPECT_NULL_ARG("at_config_set_max_attempts", "config", at_config_set_max_attempts(NULL, 1));
    EXPECT_NULL_ARG("at_config_set_max_hit_age_ms", "config", at_config_set_max_hit_age_ms(NULL, 1000));
    EXPECT_NULL_ARG("at_config_set_max_batch_events", "config", at_config_set_max_batch_events(NULL, 10));
    EXPECT_NULL_ARG("at_config_set_max_batch_bytes", "config", at_config_set_max_batch_bytes(NULL, 4096));
    EXPECT_NULL_ARG("at_config_set_gzip", "config", at_config_set_gzip(NULL, true));
    EXPECT_NULL_ARG("at_config_set_auth_scheme", "config", at_config_set_auth_scheme(NULL, AT_AUTH_BASIC));
    EXPECT_NULL_ARG("at_config_set_timeouts_ms", "config", at_config_set_timeouts_ms(NULL, 100, 100));
    EXPECT_NULL_ARG("at_config_set_commit_window_ms", "config", at_config_set_commit_window_ms(NULL, 1));
    EXPECT_NULL_ARG("at_config_set_busy_timeout_ms", "config", at_config_set_busy_timeout_ms(NULL, 1));
    EXPECT_NULL_ARG("at_config_set_log_callback", "config",
                    at_config_set_log_callback(NULL, log_sink, NULL, AT_LOG_INFO));
    EXPECT_NULL_ARG("at_config_set_drop_callback", "config", at_config_set_drop_callback(NULL, drop_sink, NULL));

    at_config *cfg = at_config_new();
    CHECK(cfg != NULL);

    /* NULL required strings. */
    EXPECT_NULL_ARG("at_config_set_storage_path", "path", at_config_set_storage_path(cfg, NULL));
    EXPECT_NULL_ARG("at_config_set_endpoint", "base_url", at_config_set_endpoint(cfg, NULL));
    EXPECT_NULL_ARG("at_config_set_api_key", "key", at_config_set_api_key(cfg, NULL));

    /* Malformed strings. */
    EXPECT_INVALID("at_config_set_storage_path", at_config_set_storage_path(cfg, BAD_UTF8));
    EXPECT_INVALID("at_config_set_storage_path", at_config_set_storage_path(cfg, "/tmp/" BAD_UTF8 ".db"));
    EXPECT_INVALID("at_config_set_storage_path", at_config_set_storage_path(cfg, ""));
    EXPECT_INVALID("at_config_set_storage_path", at_config_set_storage_path(cfg, "/tmp/dir/"));
    EXPECT_INVALID("at_config_set_endpoint", at_config_set_endpoint(cfg, "http://127.0.0.1/" BAD_UTF8));
    EXPECT_INVALID("at_config_set_endpoint", at_config_set_endpoint(cfg, "ftp://collect.example.com"));
    EXPECT_INVALID("at_config_set_endpoint", at_config_set_endpoint(cfg, "collect.example.com/v1"));
    EXPECT_INVALID("at_config_set_endpoint", at_config_set_endpoint(cfg, "/relative/path"));
    EXPECT_INVALID("at_config_set_endpoint", at_config_set_endpoint(cfg, "https://collect example.com"));
    EXPECT_INVALID("at_config_set_endpoint", at_config_set_endpoint(cfg, "https://"));
    EXPECT_INVALID("at_config_set_endpoint", at_config_set_endpoint(cfg, "https://c.example.com/?q=1"));
    EXPECT_INVALID("at_config_set_endpoint", at_config_set_endpoint(cfg, "https://c.example.com/#top"));
    EXPECT_INVALID("at_config_set_endpoint", at_config_set_endpoint(cfg, "https://c.example.com:99999"));
    EXPECT_INVALID("at_config_set_api_key", at_config_set_api_key(cfg, "has space"));
    EXPECT_INVALID("at_config_set_api_key", at_config_set_api_key(cfg, "tab\there"));
    EXPECT_INVALID("at_config_set_api_key", at_config_set_api_key(cfg, BAD_UTF8));
    EXPECT_NULL_ARG("at_config_set_ca_bundle_path", "config", at_config_set_ca_bundle_path(NULL, NULL));
    EXPECT_NULL_ARG("at_config_set_ca_bundle_pem", "config", at_config_set_ca_bundle_pem(NULL, NULL));
    EXPECT_NULL_ARG("at_config_set_pinned_public_key", "config", at_config_set_pinned_public_key(NULL, NULL));
    EXPECT_INVALID("at_config_set_ca_bundle_path", at_config_set_ca_bundle_path(cfg, ""));
    EXPECT_INVALID("at_config_set_ca_bundle_path", at_config_set_ca_bundle_path(cfg, BAD_UTF8));
    EXPECT_INVALID("at_config_set_ca_bundle_path", at_config_set_ca_bundle_path(cfg, "/nonexistent/ca.pem"));
    EXPECT_INVALID("at_config_set_ca_bundle_path", at_config_set_ca_bundle_path(cfg, "/"));
    EXPECT_INVALID("at_config_set_ca_bundle_pem", at_config_set_ca_bundle_pem(cfg, "not PEM"));
    EXPECT_INVALID("at_config_set_ca_bundle_pem", at_config_set_ca_bundle_pem(cfg, BAD_UTF8));
    EXPECT_INVALID("at_config_set_ca_bundle_pem",
                   at_config_set_ca_bundle_pem(cfg, "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"));
    EXPECT_INVALID("at_config_set_pinned_public_key", at_config_set_pinned_public_key(cfg, ""));
    EXPECT_INVALID("at_config_set_pinned_public_key", at_config_set_pinned_public_key(cfg, "sha256//AAAA"));
    EXPECT_INVALID("at_config_set_pinned_public_key", at_config_set_pinned_public_key(cfg, BAD_UTF8));
    CHECK_OK(at_config_set_ca_bundle_path(cfg, NULL));
    CHECK_OK(at_config_set_ca_bundle_pem(cfg, NULL));
    CHECK_OK(at_config_set_pinned_public_key(cfg, NULL));

    /* Out-of-range enums and numbers. */
    EXPECT_INVALID("at_config_set_offline_mode", at_config_set_offline_mode(cfg, 7));
    EXPECT_INVALID("at_config_set_offline_mode", at_config_set_offline_mode(cfg, 3));
    EXPECT_INVALID("at_config_set_durability", at_config_set_durability(cfg, 9));
    EXPECT_INVALID("at_config_set_synchronous", at_config_set_synchronous(cfg, 2));
    EXPECT_INVALID("at_config_set_log_callback", at_config_set_log_callback(cfg, log_sink, NULL, 42));
    EXPECT_INVALID("at_config_set_max_queue_size", at_config_set_max_queue_size(cfg, 0));
    EXPECT_INVALID("at_config_set_max_store_bytes", at_config_set_max_store_bytes(cfg, 65535));
    EXPECT_INVALID("at_config_set_max_event_bytes", at_config_set_max_event_bytes(cfg, 255));
    EXPECT_INVALID("at_config_set_max_event_bytes", at_config_set_max_event_bytes(cfg, 524289));
    EXPECT_INVALID("at_config_set_commit_window_ms", at_config_set_commit_window_ms(cfg, 1001));
    EXPECT_INVALID("at_config_set_busy_timeout_ms", at_config_set_busy_timeout_ms(cfg, 60001));
    EXPECT_INVALID("at_config_set_max_batch_events", at_config_set_max_batch_events(cfg, 0));
    EXPECT_INVALID("at_config_set_max_batch_events", at_config_set_max_batch_events(cfg, 10001));
    EXPECT_INVALID("at_config_set_max_batch_bytes", at_config_set_max_batch_bytes(cfg, 1023));
    EXPECT_INVALID("at_config_set_max_batch_bytes", at_config_set_max_batch_bytes(cfg, 16777217));
    EXPECT_INVALID("at_config_set_auth_scheme", at_config_set_auth_scheme(cfg, 2));
    EXPECT_INVALID("at_config_set_timeouts_ms", at_config_set_timeouts_ms(cfg, 0, 1000));
    EXPECT_INVALID("at_config_set_timeouts_ms", at_config_set_timeouts_ms(cfg, 1000, 0));
    EXPECT_INVALID("at_config_set_timeouts_ms", at_config_set_timeouts_ms(cfg, 300001, 1000));
    EXPECT_INVALID("at_config_set_timeouts_ms", at_config_set_timeouts_ms(cfg, 1000, 300001));

    /* The limits themselves are accepted, and so is removing the key. */
    CHECK_OK(at_config_set_max_queue_size(cfg, 1));
    CHECK_OK(at_config_set_max_store_bytes(cfg, 65536));
    CHECK_OK(at_config_set_max_event_bytes(cfg, 256));
    CHECK_OK(at_config_set_max_event_bytes(cfg, 524288));
    CHECK_OK(at_config_set_commit_window_ms(cfg, 1000));
    CHECK_OK(at_config_set_busy_timeout_ms(cfg, 60000));
    CHECK_OK(at_config_set_max_batch_events(cfg, 1));
    CHECK_OK(at_config_set_max_batch_events(cfg, 10000));
    CHECK_OK(at_config_set_max_batch_bytes(cfg, 1024));
    CHECK_OK(at_config_set_max_batch_bytes(cfg, 16777216));
    CHECK_OK(at_config_set_timeouts_ms(cfg, 1, 300000));
    CHECK_OK(at_config_set_max_hit_age_ms(cfg, 0)); /* no limit */
    CHECK_OK(at_config_set_max_hit_age_ms(cfg, UINT64_MAX));
    CHECK_OK(at_config_set_api_key(cfg, "sk_test_123"));
    CHECK_OK(at_config_set_api_key(cfg, ""));
    CHECK_OK(at_config_set_log_callback(cfg, NULL, NULL, AT_LOG_DEBUG));
    CHECK_OK(at_config_set_drop_callback(cfg, NULL, NULL));
    at_config_free(cfg);
}

static void check_tracker_new_rejects(const char *dir)
{
    char db[512];
    path_join(db, sizeof db, dir, "new/x.db");
    at_tracker *t = NULL;
    at_config *cfg = at_config_new();

    EXPECT_NULL_ARG("at_tracker_new", "config", at_tracker_new(NULL, &t));
    EXPECT_NULL_ARG("at_tracker_new", "out", at_tracker_new(cfg, NULL));

    /* Missing required settings are named. */
    EXPECT_FAIL(AT_ERR_INVALID_ARGUMENT, "at_tracker_new", "storage path", at_tracker_new(cfg, &t));
    CHECK(strstr(at_last_error(), "endpoint") != NULL); /* both are missing */
    CHECK_OK(at_config_set_storage_path(cfg, db));
    EXPECT_FAIL(AT_ERR_INVALID_ARGUMENT, "at_tracker_new", "endpoint", at_tracker_new(cfg, &t));
    CHECK(strstr(at_last_error(), "storage path") == NULL);
    CHECK(t == NULL);
    at_config_free(cfg);

    cfg = at_config_new();
    CHECK_OK(at_config_set_endpoint(cfg, UNREACHABLE_ENDPOINT));
    EXPECT_FAIL(AT_ERR_INVALID_ARGUMENT, "at_tracker_new", "storage path", at_tracker_new(cfg, &t));
    CHECK(strstr(at_last_error(), "endpoint") == NULL);
    CHECK(t == NULL);

    /* Rejected setters leave the earlier value in place. */
    CHECK_OK(at_config_set_storage_path(cfg, db));
    EXPECT_INVALID("at_config_set_storage_path", at_config_set_storage_path(cfg, ""));
    EXPECT_INVALID("at_config_set_endpoint", at_config_set_endpoint(cfg, "ftp://x"));
    CHECK_OK(at_tracker_new(cfg, &t));
    CHECK(t != NULL);
    at_tracker_free(t);
    t = NULL;

    /* A store that cannot be created: its parent "directory" is a file. */
    char file[512], under_file[600];
    path_join(file, sizeof file, dir, "file");
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    fputs("not a directory\n", f);
    CHECK(fclose(f) == 0);
    path_join(under_file, sizeof under_file, file, "sub/x.db");
    CHECK_OK(at_config_set_storage_path(cfg, under_file));
    at_tracker *sentinel = (at_tracker *)&sentinel;
    t = sentinel;
    EXPECT_FAIL(AT_ERR_STORAGE, "at_tracker_new", NULL, at_tracker_new(cfg, &t));
    CHECK(t == sentinel); /* out-parameters are written only on success */

    /* A store file that is a directory cannot be opened either. */
    path_join(under_file, sizeof under_file, dir, "adir");
    CHECK(mkdir(under_file, 0700) == 0);
    CHECK_OK(at_config_set_storage_path(cfg, under_file));
    EXPECT_FAIL(AT_ERR_STORAGE, "at_tracker_new", NULL, at_tracker_new(cfg, &t));
    CHECK(t == sentinel);
    at_config_free(cfg);
}

static void check_tracker_null_args(at_tracker *t)
{
    uint64_t n = 0;
    at_offline_mode mode;
    at_stats s;
    at_hit_list *list = NULL;
    at_hit *hit = NULL;

    /* NULL tracker everywhere. */
    EXPECT_NULL_ARG("at_tracker_close", "tracker", at_tracker_close(NULL, 100));
    EXPECT_NULL_ARG("at_tracker_sync", "tracker", at_tracker_sync(NULL));
    EXPECT_NULL_ARG("at_track_event", "tracker", at_track_event(NULL, "e", "{}", NULL, NULL));
    EXPECT_NULL_ARG("at_send_hit", "tracker", at_send_hit(NULL, "http://127.0.0.1:9/h", "t", NULL, NULL));
    EXPECT_NULL_ARG("at_flush", "tracker", at_flush(NULL, NULL, NULL));
    EXPECT_NULL_ARG("at_offline_dispatch", "tracker", at_offline_dispatch(NULL, NULL, NULL));
    EXPECT_NULL_ARG("at_set_offline_mode", "tracker", at_set_offline_mode(NULL, AT_OFFLINE_ALWAYS, NULL, NULL));
    EXPECT_NULL_ARG("at_get_offline_mode", "tracker", at_get_offline_mode(NULL, &mode));
    EXPECT_NULL_ARG("at_set_tracking_enabled", "tracker", at_set_tracking_enabled(NULL, true));
    EXPECT_NULL_ARG("at_set_network_reachable", "tracker", at_set_network_reachable(NULL, true));
    EXPECT_NULL_ARG("at_tracker_stats", "tracker", at_tracker_stats(NULL, &s, sizeof s));
    EXPECT_NULL_ARG("at_offline_get", "tracker", at_offline_get(NULL, &list));
    EXPECT_NULL_ARG("at_offline_get_page", "tracker", at_offline_get_page(NULL, 0, 10, &list));
    EXPECT_NULL_ARG("at_offline_oldest", "tracker", at_offline_oldest(NULL, &hit));
    EXPECT_NULL_ARG("at_offline_latest", "tracker", at_offline_latest(NULL, &hit));
    EXPECT_NULL_ARG("at_offline_count", "tracker", at_offline_count(NULL, &n));
    EXPECT_NULL_ARG("at_offline_delete", "tracker", at_offline_delete(NULL, &n));
    EXPECT_NULL_ARG("at_offline_delete_older_than_days", "tracker", at_offline_delete_older_than_days(NULL, 1, &n));
    EXPECT_NULL_ARG("at_offline_delete_older_than", "tracker", at_offline_delete_older_than(NULL, 0, &n));
    EXPECT_NULL_ARG("at_set_api_key", "tracker", at_set_api_key(NULL, "k"));
    char *send_error = (char *)&send_error;
    EXPECT_NULL_ARG("at_last_send_error", "tracker", at_last_send_error(NULL, &send_error));
    CHECK(send_error == (char *)&send_error); /* not written on failure */
    CHECK(list == NULL && hit == NULL);

    /* NULL required strings and out-parameters. */
    EXPECT_NULL_ARG("at_track_event", "type", at_track_event(t, NULL, "{}", NULL, NULL));
    EXPECT_NULL_ARG("at_send_hit", "url", at_send_hit(t, NULL, "screen", NULL, NULL));
    EXPECT_NULL_ARG("at_get_offline_mode", "out", at_get_offline_mode(t, NULL));
    EXPECT_NULL_ARG("at_tracker_stats", "out", at_tracker_stats(t, NULL, sizeof s));
    EXPECT_NULL_ARG("at_offline_get", "out", at_offline_get(t, NULL));
    EXPECT_NULL_ARG("at_offline_get_page", "out", at_offline_get_page(t, 0, 10, NULL));
    EXPECT_NULL_ARG("at_offline_oldest", "out", at_offline_oldest(t, NULL));
    EXPECT_NULL_ARG("at_offline_latest", "out", at_offline_latest(t, NULL));
    EXPECT_NULL_ARG("at_offline_count", "out", at_offline_count(t, NULL));
    EXPECT_NULL_ARG("at_set_api_key", "key", at_set_api_key(t, NULL));
    EXPECT_NULL_ARG("at_last_send_error", "out", at_last_send_error(t, NULL));

    /* A request handle: NULL (a real one is checked in test_host_transport.c). */
    EXPECT_NULL_ARG("at_request_set_response_content_type", "request",
                    at_request_set_response_content_type(NULL, "text/html"));

    /* A run-time api key is checked as the configuration's. */
    EXPECT_INVALID("at_set_api_key", at_set_api_key(t, "has space"));
    EXPECT_INVALID("at_set_api_key", at_set_api_key(t, "tab\there"));
    EXPECT_INVALID("at_set_api_key", at_set_api_key(t, BAD_UTF8));
    CHECK_OK(at_set_api_key(t, "sk_test_456"));
    CHECK_OK(at_set_api_key(t, "")); /* removes it */

    /* Nothing was sent: no send error. */
    send_error = (char *)&send_error;
    CHECK_OK(at_last_send_error(t, &send_error));
    CHECK(send_error == NULL);
}

static char *big_properties(size_t size)
{
    char *p = malloc(size + 1);
    CHECK(p != NULL);
    memset(p, 'a', size);
    memcpy(p, "{\"x\":\"", 6);
    memcpy(p + size - 2, "\"}", 2);
    p[size] = '\0';
    return p;
}

static void check_track_rejects(at_tracker *t)
{
    /* Invalid UTF-8 in every string. */
    EXPECT_INVALID("at_track_event", at_track_event(t, BAD_UTF8, "{}", NULL, NULL));
    EXPECT_INVALID("at_track_event", at_track_event(t, "e", "{\"k\":\"" BAD_UTF8 "\"}", NULL, NULL));
    EXPECT_INVALID("at_send_hit", at_send_hit(t, "http://127.0.0.1:9/" BAD_UTF8, "t", NULL, NULL));
    EXPECT_INVALID("at_send_hit", at_send_hit(t, "http://127.0.0.1:9/h", BAD_UTF8, NULL, NULL));

    /* Types: empty, control characters, longer than 256 bytes. */
    char long_type[258];
    memset(long_type, 't', 257);
    long_type[257] = '\0';
    EXPECT_INVALID("at_track_event", at_track_event(t, "", "{}", NULL, NULL));
    EXPECT_INVALID("at_track_event", at_track_event(t, "a\nb", "{}", NULL, NULL));
    EXPECT_INVALID("at_track_event", at_track_event(t, long_type, "{}", NULL, NULL));
    EXPECT_INVALID("at_send_hit", at_send_hit(t, "http://127.0.0.1:9/h", "a\tb", NULL, NULL));
    long_type[256] = '\0';
    CHECK_OK(at_track_event(t, long_type, "{}", NULL, NULL)); /* exactly 256 */
    g_count++;

    /* Properties that are not one JSON object. */
    static const char *const bad_json[] = {
        "", "{", "{\"a\":}", "{\"a\":1,}", "{'a':1}", "not json", "{\"a\":1} trailing",
        "{\"a\":1}{\"b\":2}", "[1,2]", "[{\"a\":1}]", "42", "\"str\"", "null", "true",
    };
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++)
        EXPECT_INVALID("at_track_event", at_track_event(t, "e", bad_json[i], NULL, NULL));

    /* Nesting: 128 levels are accepted, 129 are not. */
    char deep[400];
    size_t k = 0;
    for (int i = 0; i < 127; i++) /* 127 arrays inside the object: depth 128 */
        deep[k++] = '[';
    for (int i = 0; i < 127; i++)
        deep[k++] = ']';
    deep[k] = '\0';
    char props[420];
    snprintf(props, sizeof props, "{\"a\":%s}", deep);
    CHECK_OK(at_track_event(t, "deep", props, NULL, NULL));
    g_count++;
    snprintf(props, sizeof props, "{\"a\":[%s]}", deep);
    EXPECT_INVALID("at_track_event", at_track_event(t, "deep", props, NULL, NULL));

    /* Size: type + properties above 32 KiB (the default max_event_bytes) is too large. */
    char *big = big_properties(32 * 1024 - 1); /* + 1-byte type = the limit */
    CHECK_OK(at_track_event(t, "e", big, NULL, NULL));
    g_count++;
    EXPECT_FAIL(AT_ERR_TOO_LARGE, "at_track_event", NULL, at_track_event(t, "ee", big, NULL, NULL));
    free(big);
    big = big_properties(100 * 1024);
    EXPECT_FAIL(AT_ERR_TOO_LARGE, "at_track_event", NULL, at_track_event(t, "e", big, NULL, NULL));
    free(big);
    char *big_url = malloc(70 * 1024);
    CHECK(big_url != NULL);
    strcpy(big_url, "http://127.0.0.1:9/");
    memset(big_url + 19, 'p', 70 * 1024 - 20);
    big_url[70 * 1024 - 1] = '\0';
    EXPECT_FAIL(AT_ERR_TOO_LARGE, "at_send_hit", NULL, at_send_hit(t, big_url, "t", NULL, NULL));
    free(big_url);

    /* URLs: absolute http(s) with a host, no whitespace. */
    static const char *const bad_urls[] = {
        "ftp://127.0.0.1/x", "file:///etc/passwd", "/relative/path", "relative/path",
        "//127.0.0.1/x", "http://", "https:///path", "http://host with space/x",
        "http://127.0.0.1/with space", "http://127.0.0.1/tab\t", "http://127.0.0.1:99999/",
        "http://127.0.0.1:/", "",
    };
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++)
        EXPECT_INVALID("at_send_hit", at_send_hit(t, bad_urls[i], "t", NULL, NULL));

    /* Out-of-range modes and page limits. */
    EXPECT_INVALID("at_set_offline_mode", at_set_offline_mode(t, 7, NULL, NULL));
    at_offline_mode mode = 99;
    CHECK_OK(at_get_offline_mode(t, &mode));
    CHECK(mode == AT_OFFLINE_ALWAYS);
    at_hit_list *list = NULL;
    EXPECT_INVALID("at_offline_get_page", at_offline_get_page(t, 0, 0, &list));
    CHECK(list == NULL);

    CHECK(count(t) == g_count);
}

static void check_suppressed(at_tracker *t)
{
    CHECK_OK(at_set_tracking_enabled(t, false));
    EXPECT_FAIL(AT_ERR_SUPPRESSED, "at_track_event", NULL, at_track_event(t, "e", "{}", NULL, NULL));
    EXPECT_FAIL(AT_ERR_SUPPRESSED, "at_send_hit", NULL, at_send_hit(t, "http://127.0.0.1:9/h", "t", NULL, NULL));
    /* Stored hits stay, and the inspection API keeps working. */
    CHECK(count(t) == g_count);
    at_hit_list *list = NULL;
    CHECK_OK(at_offline_get(t, &list));
    CHECK(at_hit_list_len(list) == g_count);
    at_hit_list_free(list);

    CHECK_OK(at_set_tracking_enabled(t, true));
    CHECK_OK(at_track_event(t, "e", "{}", NULL, NULL));
    CHECK_OK(at_send_hit(t, "http://127.0.0.1:9/h", "t", NULL, NULL));
    g_count += 2;
    CHECK(count(t) == g_count);
}

static void check_closed(at_tracker *t)
{
    CHECK_OK(at_tracker_close(t, 1000));
    g_tracker = NULL; /* count() itself now fails */

    uint64_t n = 0;
    at_offline_mode mode;
    at_stats s;
    at_hit_list *list = NULL;
    at_hit *hit = NULL;
    EXPECT_FAIL(AT_ERR_CLOSED, "at_track_event", NULL, at_track_event(t, "e", "{}", NULL, NULL));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_send_hit", NULL, at_send_hit(t, "http://127.0.0.1:9/h", NULL, NULL, NULL));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_tracker_sync", NULL, at_tracker_sync(t));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_flush", NULL, at_flush(t, NULL, NULL));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_offline_dispatch", NULL, at_offline_dispatch(t, NULL, NULL));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_set_offline_mode", NULL, at_set_offline_mode(t, AT_OFFLINE_NEVER, NULL, NULL));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_set_tracking_enabled", NULL, at_set_tracking_enabled(t, false));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_set_network_reachable", NULL, at_set_network_reachable(t, false));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_offline_count", NULL, at_offline_count(t, &n));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_offline_get", NULL, at_offline_get(t, &list));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_offline_get_page", NULL, at_offline_get_page(t, 0, 5, &list));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_offline_oldest", NULL, at_offline_oldest(t, &hit));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_offline_latest", NULL, at_offline_latest(t, &hit));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_offline_delete", NULL, at_offline_delete(t, &n));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_offline_delete_older_than_days", NULL,
                at_offline_delete_older_than_days(t, 0, &n));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_offline_delete_older_than", NULL, at_offline_delete_older_than(t, 0, &n));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_tracker_stats", NULL, at_tracker_stats(t, &s, sizeof s));
    EXPECT_FAIL(AT_ERR_CLOSED, "at_set_api_key", NULL, at_set_api_key(t, "k"));
    char *send_error = (char *)&send_error;
    EXPECT_FAIL(AT_ERR_CLOSED, "at_last_send_error", NULL, at_last_send_error(t, &send_error));
    CHECK(send_error == (char *)&send_error);
    EXPECT_FAIL(AT_ERR_CLOSED, "at_tracker_close", NULL, at_tracker_close(t, 1000));
    CHECK(list == NULL && hit == NULL);
    EXPECT_FAIL(AT_ERR_CLOSED, "at_get_offline_mode", NULL, at_get_offline_mode(t, &mode));
    at_tracker_free(t);
}

int main(void)
{
    char *dir = tmpdir_new();
    char db[512];
    path_join(db, sizeof db, dir, "bad.db");

    check_last_error_basics();
    check_status_names();
    check_free_null();
    check_config_rejects();
    check_tracker_new_rejects(dir);

    at_tracker *t = open_tracker(db);
    CHECK_OK(at_track_event(t, "seed", "{\"n\":1}", NULL, NULL));
    g_tracker = t;
    g_count = 1;
    check_tracker_null_args(t);
    check_track_rejects(t);
    check_suppressed(t);
    check_closed(t);

    /* Everything accepted was kept; nothing rejected was. */
    t = open_tracker(db);
    CHECK(count(t) == g_count);
    at_tracker_free(t);

    tmpdir_remove(dir);
    printf("test_bad_input: all checks passed\n");
    return 0;
}
