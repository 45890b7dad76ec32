/*
 * A host transport written in C: the host's own HTTP stack (here libcurl on a
 * thread of the host's, standing in for URLSession or UnityWebRequest) carries
 * the library's requests to the test collector, and an exported batch is
 * uploaded by the host and acknowledged.
 *
 *   test_host_transport <path to the collector binary>
 */
#include "check.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static char g_url[256];
/* The collector's pid until it is reaped, then 0. */
static pid_t g_collector;

/* Run at exit, whatever the exit path (a failed CHECK, on any thread, or the
 * end of main): a collector not yet reaped is killed and reaped, so it never
 * outlives the test. */
static void stop_collector(void)
{
    if (g_collector <= 0)
        return;
    kill(g_collector, SIGKILL);
    while (waitpid(g_collector, NULL, 0) < 0 && errno == EINTR) {
    }
    g_collector = 0;
}

static void *drain_output(void *p)
{
    FILE *out = p;
    char line[512];
    while (fgets(line, sizeof line, out) != NULL) {
    }
    fclose(out);
    return NULL;
}

/* Starts the collector on a free port; it exits once `expected` events and
 * hits arrived. Reads its URL from the first line it prints.
 *
 * The collector never outlives the test: stop_collector runs at exit, and on
 * Linux the kernel kills the collector when the test's process dies without
 * running its exit handlers (an abort, a sanitizer's report, a signal). */
static void start_collector(const char *binary, int expected)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    char count[16];
    snprintf(count, sizeof count, "%d", expected);
    char *argv[] = { (char *)binary, "127.0.0.1:0", "--exit-after", count, NULL };
    CHECK(atexit(stop_collector) == 0);
#ifdef __linux__
    pid_t parent = getpid();
#endif
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* The child: async-signal-safe calls only, up to exec. */
#ifdef __linux__
        /* SIGKILL when the thread that forked (this main thread, alive as
         * long as the process) ends; kept across exec. A parent that died
         * before this call is no longer getppid(). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
#endif
        if (dup2(fds[1], STDOUT_FILENO) < 0)
            _exit(127);
        close(fds[0]);
        close(fds[1]);
        execv(binary, argv);
        _exit(127);
    }
    g_collector = pid;
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    char line[512];
    CHECK(fgets(line, sizeof line, out) != NULL);
    CHECK(sscanf(line, "collector listening on %255s", g_url) == 1);
    /* Keep draining its output so it never blocks on a full pipe. */
    pthread_t drain;
    CHECK(pthread_create(&drain, NULL, drain_output, out) == 0);
    CHECK(pthread_detach(drain) == 0);
}

static size_t discard(char *data, size_t size, size_t n, void *user_data)
{
    (void)data;
    (void)user_data;
    return size * n;
}

/* One HTTP exchange on the host's stack. Returns the status, or 0 with `err`.
 * The answer's Content-Type goes to `content_type` ("" when it had none). */
static long perform(const at_request *r, char *err, size_t errlen, char *content_type, size_t typelen)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i < at_request_header_count(r); i++) {
        char line[1024];
        snprintf(line, sizeof line, "%s: %s", at_request_header_name(r, i), at_request_header_value(r, i));
        headers = curl_slist_append(headers, line);
    }
    size_t len = 0;
    const uint8_t *body = at_request_body(r, &len);
    curl_easy_setopt(curl, CURLOPT_URL, at_request_url(r));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    if (strcmp(at_request_method(r), "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    long status = 0;
    CURLcode rc = curl_easy_perform(curl);
    content_type[0] = '\0';
    if (rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        const char *type = NULL;
        if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != NULL)
            snprintf(content_type, typelen, "%s", type);
    } else
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

static int g_sends;

static void *host_thread(void *p)
{
    at_request *request = p;
    char err[256] = "", type[256];
    long status = perform(request, err, sizeof err, type, sizeof type);
    if (status > 0) {
        /* The answer's Content-Type, so that a captive portal's HTML page is
         * not taken for the collector's acknowledgement. */
        CHECK_STATUS(at_request_set_response_content_type(request, NULL), AT_ERR_NULL_ARGUMENT);
        CHECK_STATUS(at_request_set_response_content_type(request, "text/\xff"), AT_ERR_INVALID_ARGUMENT);
        if (type[0] != '\0')
            CHECK_OK(at_request_set_response_content_type(request, type));
        CHECK_OK(at_transport_complete(request, (int32_t)status, 0, NULL));
    }
    else
        CHECK_OK(at_transport_complete(request, AT_TRANSPORT_UNREACHABLE, 0, err));
    return NULL;
}

/* The transport function: start the request on a host thread, return at once. */
static void host_send(at_request *request, void *user_data)
{
    (void)user_data;
    __atomic_add_fetch(&g_sends, 1, __ATOMIC_SEQ_CST);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, host_thread, request) == 0);
    CHECK(pthread_detach(t) == 0);
}

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_done;
static at_dispatch_result g_result;

static void on_dispatched(const at_dispatch_result *r, void *user_data)
{
    (void)user_data;
    pthread_mutex_lock(&g_mu);
    g_result = *r;
    g_done = 1;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* 3 events + 1 URL hit through the transport, then 2 exported events. */
    start_collector(argv[1], 6);
    char *dir = tmpdir_new();
    char db[512], pixel[512];
    snprintf(db, sizeof db, "%s/host.db", dir);
    snprintf(pixel, sizeof pixel, "%s/pixel.gif?p=home", g_url);

    at_config *cfg = storage_config(db);
    CHECK_OK(at_config_set_endpoint(cfg, g_url));
    CHECK_OK(at_config_set_transport(cfg, host_send, NULL));
    CHECK_STATUS(at_config_set_transport(NULL, host_send, NULL), AT_ERR_NULL_ARGUMENT);
    at_tracker *t = tracker_from(cfg);

    for (int i = 0; i < 3; i++)
        CHECK_OK(at_track_event(t, "screen_view", "{\"n\":1}", NULL, NULL));
    CHECK_OK(at_send_hit(t, pixel, "screen", NULL, NULL));
    CHECK_OK(at_offline_dispatch(t, on_dispatched, NULL));
    pthread_mutex_lock(&g_mu);
    while (!g_done)
        pthread_cond_wait(&g_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
    CHECK(g_result.status == AT_OK);
    CHECK(g_result.sent == 4);
    CHECK(__atomic_load_n(&g_sends, __ATOMIC_SEQ_CST) == 2); /* one batch, one GET */
    CHECK(count(t) == 0);

    /* Exported batch: the host uploads it itself (a background session). */
    CHECK_OK(at_track_event(t, "purchase", "{\"sku\":\"A\"}", NULL, NULL));
    CHECK_OK(at_track_event(t, "purchase", "{\"sku\":\"B\"}", NULL, NULL));
    at_request *batch = NULL;
    CHECK_OK(at_offline_export_batch(t, &batch));
    CHECK(batch != NULL);
    CHECK_STR(at_request_method(batch), "POST");
    at_request *none = (at_request *)1;
    CHECK_OK(at_offline_export_batch(t, &none));
    CHECK(none == NULL); /* the two events are leased to the first batch */
    CHECK_STATUS(at_transport_complete(batch, 200, 0, NULL), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_transport_complete(NULL, 200, 0, NULL), AT_ERR_NULL_ARGUMENT);
    /* An exported batch is acknowledged with at_offline_ack_batch: no answer to report. */
    CHECK_STATUS(at_request_set_response_content_type(batch, "application/json"), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_request_set_response_content_type(NULL, "application/json"), AT_ERR_NULL_ARGUMENT);
    char err[256] = "", type[256];
    long uploaded = perform(batch, err, sizeof err, type, sizeof type);
    if (uploaded != 200)
        fprintf(stderr, "upload: status %ld, error \"%s\"\n", uploaded, err);
    CHECK(uploaded == 200);
    CHECK(count(t) == 2); /* stored until acknowledged */
    CHECK_OK(at_offline_ack_batch(t, batch, true));
    CHECK(count(t) == 0);

    at_tracker_free(t);
    /* The collector exits 0 once all 6 arrived. */
    int status = -1;
    struct timespec tick = { 0, 50 * 1000 * 1000 };
    for (int i = 0; i < 100 && g_collector != 0; i++) {
        if (waitpid(g_collector, &status, WNOHANG) == g_collector)
            g_collector = 0;
        else
            nanosleep(&tick, NULL);
    }
    /* One still running is killed at exit (stop_collector). */
    if (!(g_collector == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0))
        CHECK(!"the collector did not receive all 6 events and hits");
    tmpdir_remove(dir);
    curl_global_cleanup();
    printf("test_host_transport: ok\n");
    return 0;
}
