/*
 * Callbacks and threads: completions (exactly once, AT_OK, on the callback
 * thread), at_set_offline_mode's completion, log lines and their level
 * filter, batched durability with at_tracker_sync, concurrent tracking from
 * eight threads, queue overflow with the drop callback, and a completion that
 * closes or frees its own tracker.
 */
#include "check.h"

#include <pthread.h>
#include <stdbool.h>

#define WAIT_SECONDS 30 /* generous: valgrind is slow; a pass takes milliseconds */

static pthread_t g_main_thread;

/* One lock and condition for everything the callbacks record. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;

static void lock(void) { CHECK(pthread_mutex_lock(&g_mu) == 0); }
static void unlock(void) { CHECK(pthread_mutex_unlock(&g_mu) == 0); }
static void unlock_and_notify(void)
{
    CHECK(pthread_cond_broadcast(&g_cv) == 0);
    CHECK(pthread_mutex_unlock(&g_mu) == 0);
}

/* Waits until *value >= target; false after WAIT_SECONDS. */
static bool wait_for(const int *value, int target)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_SECONDS;
    lock();
    int rc = 0;
    while (*value < target && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&g_cv, &g_mu, &deadline);
    bool reached = *value >= target;
    CHECK(pthread_mutex_unlock(&g_mu) == 0);
    return reached;
}

static int read_locked(const int *value)
{
    lock();
    int v = *value;
    CHECK(pthread_mutex_unlock(&g_mu) == 0);
    return v;
}

/* storage_config for the store `name` in `dir`. */
static at_config *base_config(const char *dir, const char *name)
{
    char db[512];
    path_join(db, sizeof db, dir, name);
    return storage_config(db);
}


/* ---- completions -------------------------------------------------------- */

typedef struct {
    int calls;
    at_status status;
    pthread_t thread;
} completion;

static int g_completions; /* total calls of on_done */

static void on_done(at_status status, void *user_data)
{
    completion *c = user_data;
    lock();
    c->calls++;
    c->status = status;
    c->thread = pthread_self();
    g_completions++;
    unlock_and_notify();
}

static void test_completions(const char *dir, at_durability durability)
{
    enum { EVENTS = 40, URL_HITS = 10, N = EVENTS + URL_HITS };
    at_config *cfg = base_config(dir, durability == AT_DURABILITY_BATCHED ? "done-batched.db" : "done.db");
    CHECK_OK(at_config_set_durability(cfg, durability));
    at_tracker *t = tracker_from(cfg);

    completion c[N], rejected;
    memset(c, 0, sizeof c);
    memset(&rejected, 0, sizeof rejected);
    lock();
    g_completions = 0;
    unlock_and_notify();

    for (int i = 0; i < N; i++) {
        if (i < EVENTS)
            CHECK_OK(at_track_event(t, "tapped", "{\"button\":\"ok\"}", on_done, &c[i]));
        else
            CHECK_OK(at_send_hit(t, "http://127.0.0.1:9/hit?p=1", "screen", on_done, &c[i]));
    }
    /* Refused calls never call their completion. */
    CHECK_STATUS(at_track_event(t, "", "{}", on_done, &rejected), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_track_event(t, "e", "[]", on_done, &rejected), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_send_hit(t, "ftp://x/y", NULL, on_done, &rejected), AT_ERR_INVALID_ARGUMENT);
    CHECK_OK(at_set_tracking_enabled(t, false));
    CHECK_STATUS(at_track_event(t, "e", "{}", on_done, &rejected), AT_ERR_SUPPRESSED);
    CHECK_OK(at_set_tracking_enabled(t, true));

    CHECK(wait_for(&g_completions, N));
    CHECK(count(t) == N);
    CHECK_OK(at_tracker_close(t, 1000));
    CHECK_STATUS(at_track_event(t, "e", "{}", on_done, &rejected), AT_ERR_CLOSED);
    at_tracker_free(t); /* every pending callback has run when it returns */

    CHECK(read_locked(&g_completions) == N);
    for (int i = 0; i < N; i++) {
        CHECK(c[i].calls == 1);
        CHECK_STATUS(c[i].status, AT_OK);
        CHECK(!pthread_equal(c[i].thread, g_main_thread));
        CHECK(pthread_equal(c[i].thread, c[0].thread)); /* the tracker's one callback thread */
    }
    CHECK(rejected.calls == 0);
}

/* ---- at_set_offline_mode and log lines ----------------------------------- */

typedef struct {
    int lines[4]; /* per level */
    int total;
    int on_main_thread; /* lines delivered on the main thread: must stay 0 */
    bool mode_line; /* an INFO line mentioning the offline mode */
} log_record;

static void on_log(at_log_level level, const char *message, void *user_data)
{
    log_record *r = user_data;
    CHECK(message != NULL && message[0] != '\0');
    CHECK(level <= AT_LOG_DEBUG);
    lock();
    r->lines[level]++;
    r->total++;
    if (pthread_equal(pthread_self(), g_main_thread))
        r->on_main_thread++;
    if (level == AT_LOG_INFO && strstr(message, "offline mode") != NULL)
        r->mode_line = true;
    unlock_and_notify();
}

typedef struct {
    completion done;
    at_tracker *tracker;
    uint64_t committed_at_done; /* stats.committed, read inside the callback */
} mode_change;

static void on_mode_changed(at_status status, void *user_data)
{
    mode_change *m = user_data;
    /* Fields the main thread filled in are read under g_mu, which orders them
     * for ThreadSanitizer too (it cannot see the library's own hand-offs). */
    lock();
    at_tracker *t = m->tracker;
    unlock();
    at_stats s;
    CHECK_OK(at_tracker_stats(t, &s, sizeof s)); /* calling back in is allowed */
    m->committed_at_done = s.committed;
    on_done(status, &m->done);
}

static void test_offline_mode_and_log(const char *dir)
{
    /* DEBUG: the mode change logs an INFO line. Batched durability, so the
     * completion must wait for the commit of the hits tracked before it. */
    log_record verbose;
    memset(&verbose, 0, sizeof verbose);
    at_config *cfg = base_config(dir, "log.db");
    CHECK_OK(at_config_set_log_callback(cfg, on_log, &verbose, AT_LOG_DEBUG));
    CHECK_OK(at_config_set_durability(cfg, AT_DURABILITY_BATCHED));
    CHECK_OK(at_config_set_commit_window_ms(cfg, 200));
    at_tracker *t = tracker_from(cfg);

    for (int i = 0; i < 30; i++)
        CHECK_OK(at_track_event(t, "before_change", NULL, NULL, NULL));
    mode_change m;
    lock();
    memset(&m, 0, sizeof m);
    m.tracker = t;
    unlock();
    /* NEVER, not REQUIRED: stored hits are not sent in NEVER mode, so the
     * test stays off the network. */
    CHECK_OK(at_set_offline_mode(t, AT_OFFLINE_NEVER, on_mode_changed, &m));
    at_offline_mode mode = 99;
    CHECK_OK(at_get_offline_mode(t, &mode));
    CHECK(mode == AT_OFFLINE_NEVER);
    CHECK(wait_for(&m.done.calls, 1));
    CHECK(m.committed_at_done == 30);
    at_tracker_free(t);

    CHECK(m.done.calls == 1);
    CHECK_STATUS(m.done.status, AT_OK);
    CHECK(!pthread_equal(m.done.thread, g_main_thread));
    CHECK(verbose.lines[AT_LOG_INFO] >= 1);
    CHECK(verbose.mode_line);
    CHECK(verbose.on_main_thread == 0);

    /* WARN: the same INFO line is filtered out. */
    log_record quiet;
    memset(&quiet, 0, sizeof quiet);
    cfg = base_config(dir, "log-quiet.db");
    CHECK_OK(at_config_set_log_callback(cfg, on_log, &quiet, AT_LOG_WARN));
    t = tracker_from(cfg);
    completion done;
    memset(&done, 0, sizeof done);
    CHECK_OK(at_set_offline_mode(t, AT_OFFLINE_NEVER, on_done, &done));
    CHECK_OK(at_set_offline_mode(t, AT_OFFLINE_ALWAYS, NULL, NULL));
    at_tracker_free(t);
    CHECK(done.calls == 1);
    CHECK(quiet.lines[AT_LOG_INFO] == 0);
    CHECK(quiet.lines[AT_LOG_DEBUG] == 0);
    CHECK(!quiet.mode_line);

    /* NULL removes a callback set earlier. */
    log_record removed;
    memset(&removed, 0, sizeof removed);
    cfg = base_config(dir, "log-removed.db");
    CHECK_OK(at_config_set_log_callback(cfg, on_log, &removed, AT_LOG_DEBUG));
    CHECK_OK(at_config_set_log_callback(cfg, NULL, NULL, AT_LOG_DEBUG));
    t = tracker_from(cfg);
    CHECK_OK(at_set_offline_mode(t, AT_OFFLINE_NEVER, NULL, NULL));
    at_tracker_free(t);
    CHECK(removed.total == 0);
}

/* ---- batched durability and at_tracker_sync ------------------------------ */

static void test_batched_sync(const char *dir)
{
    at_config *cfg = base_config(dir, "batched.db");
    CHECK_OK(at_config_set_durability(cfg, AT_DURABILITY_BATCHED));
    CHECK_OK(at_config_set_commit_window_ms(cfg, 1000));
    at_tracker *t = tracker_from(cfg);

    int64_t start = now_ms();
    for (int i = 0; i < 100; i++)
        CHECK_OK(at_track_event(t, "batched", "{\"i\":1}", NULL, NULL));
    at_stats s = stats(t);
    if (now_ms() - start < 500) { /* well inside the 1 s window: nothing committed yet */
        CHECK(s.committed == 0);
        CHECK(s.queued == 100); /* all of them accepted, not committed */
    }

    CHECK_OK(at_tracker_sync(t));
    s = stats(t);
    CHECK(s.committed == 100);
    CHECK(count(t) == 100);
    CHECK_OK(at_tracker_sync(t)); /* a second sync: nothing pending, returns at once */
    s = stats(t);
    CHECK(s.committed == 100);
    CHECK(s.queued == 100);
    at_tracker_free(t);

    /* Without sync, at_tracker_free still commits everything accepted. */
    cfg = base_config(dir, "batched.db");
    CHECK_OK(at_config_set_durability(cfg, AT_DURABILITY_BATCHED));
    CHECK_OK(at_config_set_commit_window_ms(cfg, 1000));
    t = tracker_from(cfg);
    for (int i = 0; i < 50; i++)
        CHECK_OK(at_track_event(t, "batched", NULL, NULL, NULL));
    at_tracker_free(t);
    t = tracker_from(base_config(dir, "batched.db"));
    CHECK(count(t) == 150);
    at_tracker_free(t);
}

/* ---- concurrency --------------------------------------------------------- */

enum { THREADS = 8, PER_THREAD = 500 };

typedef struct {
    at_tracker *tracker;
    int index;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    char props[64];
    for (int n = 0; n < PER_THREAD; n++) {
        snprintf(props, sizeof props, "{\"t\":%d,\"n\":%d}", a->index, n);
        CHECK_OK(at_track_event(a->tracker, "concurrent", props, NULL, NULL));
        if (n % 100 == 0) {
            uint64_t c;
            CHECK_OK(at_offline_count(a->tracker, &c)); /* readers interleave with writers */
        }
    }
    return NULL;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_concurrent(const char *dir, at_durability durability)
{
    at_config *cfg = base_config(dir, durability == AT_DURABILITY_BATCHED ? "mt-batched.db" : "mt.db");
    CHECK_OK(at_config_set_durability(cfg, durability));
    CHECK_OK(at_config_set_max_queue_size(cfg, THREADS * PER_THREAD));
    at_tracker *t = tracker_from(cfg);

    pthread_t threads[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){ t, i };
        CHECK(pthread_create(&threads[i], NULL, worker, &args[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(threads[i], NULL) == 0);

    CHECK(count(t) == THREADS * PER_THREAD);
    at_hit_list *list = NULL;
    CHECK_OK(at_offline_get(t, &list));
    size_t len = at_hit_list_len(list);
    CHECK(len == THREADS * PER_THREAD);

    const char **ids = calloc(len, sizeof *ids);
    CHECK(ids != NULL);
    int next_n[THREADS] = { 0 };
    uint64_t last_id = 0;
    for (size_t i = 0; i < len; i++) {
        const at_hit *h = at_hit_list_get(list, i);
        CHECK(at_hit_id(h) > last_id);
        last_id = at_hit_id(h);
        ids[i] = at_hit_message_id(h);
        CHECK(ids[i] != NULL && strlen(ids[i]) == 36);
        /* Each thread's hits are stored in the order it tracked them. */
        int th = -1, n = -1;
        CHECK(sscanf(at_hit_body(h), "{\"t\":%d,\"n\":%d}", &th, &n) == 2);
        CHECK(th >= 0 && th < THREADS);
        CHECK(n == next_n[th]);
        next_n[th]++;
    }
    for (int i = 0; i < THREADS; i++)
        CHECK(next_n[i] == PER_THREAD);
    qsort(ids, len, sizeof *ids, compare_strings);
    for (size_t i = 1; i < len; i++)
        CHECK(strcmp(ids[i - 1], ids[i]) != 0);
    free(ids);
    at_hit_list_free(list);

    at_stats s = stats(t);
    CHECK(s.committed == THREADS * PER_THREAD);
    CHECK(s.dropped_overflow == 0);
    at_tracker_free(t);
}

/* ---- overflow and the drop callback -------------------------------------- */

enum { MAX_DROPS = 64 };

typedef struct {
    int n; /* ids received */
    char ids[MAX_DROPS][37];
    at_drop_reason reasons[MAX_DROPS];
    int on_main_thread; /* calls on the main thread: must stay 0 */
} drop_record;

static void on_drop(at_drop_reason reason, const char *const *ids, size_t n, void *user_data)
{
    drop_record *r = user_data;
    CHECK(ids != NULL || n == 0);
    lock();
    if (pthread_equal(pthread_self(), g_main_thread))
        r->on_main_thread++;
    for (size_t i = 0; i < n; i++) {
        CHECK(r->n < MAX_DROPS);
        CHECK(ids[i] != NULL && strlen(ids[i]) == 36);
        memcpy(r->ids[r->n], ids[i], 37);
        r->reasons[r->n] = reason;
        r->n++;
    }
    unlock_and_notify();
}

static void test_overflow(const char *dir)
{
    enum { LIMIT = 10, TRACKED = 15 };
    drop_record drops;
    memset(&drops, 0, sizeof drops);
    log_record log;
    memset(&log, 0, sizeof log);
    at_config *cfg = base_config(dir, "overflow.db");
    CHECK_OK(at_config_set_max_queue_size(cfg, LIMIT));
    /* The store holds only what the test tracked: no drop report is queued. */
    CHECK_OK(at_config_set_report_drops(cfg, false));
    CHECK_OK(at_config_set_drop_callback(cfg, on_drop, &drops));
    CHECK_OK(at_config_set_log_callback(cfg, on_log, &log, AT_LOG_WARN));
    at_tracker *t = tracker_from(cfg);

    char tracked_ids[TRACKED][37];
    for (int i = 0; i < TRACKED; i++) {
        char props[32];
        snprintf(props, sizeof props, "{\"n\":%d}", i);
        CHECK_OK(at_track_event(t, "overflow", props, NULL, NULL));
        at_hit *latest = NULL;
        CHECK_OK(at_offline_latest(t, &latest));
        CHECK(latest != NULL);
        CHECK_STR(at_hit_body(latest), props);
        memcpy(tracked_ids[i], at_hit_message_id(latest), 37);
        at_hit_free(latest);
    }

    CHECK(count(t) == LIMIT);
    at_hit_list *list = NULL;
    CHECK_OK(at_offline_get(t, &list));
    CHECK(at_hit_list_len(list) == LIMIT);
    for (int i = 0; i < LIMIT; i++) {
        int n = -1;
        CHECK(sscanf(at_hit_body(at_hit_list_get(list, (size_t)i)), "{\"n\":%d}", &n) == 1);
        CHECK(n == TRACKED - LIMIT + i); /* the oldest five went */
    }
    at_hit_list_free(list);
    at_stats s = stats(t);
    CHECK(s.dropped_overflow == TRACKED - LIMIT);
    CHECK(s.committed == TRACKED);
    CHECK(s.queued == LIMIT);

    /* The drop callback got exactly the five oldest ids, oldest first. */
    CHECK(wait_for(&drops.n, TRACKED - LIMIT));
    lock();
    CHECK(drops.n == TRACKED - LIMIT);
    for (int i = 0; i < TRACKED - LIMIT; i++) {
        CHECK(drops.reasons[i] == AT_DROP_OVERFLOW);
        CHECK_STR(drops.ids[i], tracked_ids[i]);
    }
    CHECK(drops.on_main_thread == 0);
    CHECK(pthread_mutex_unlock(&g_mu) == 0);

    /* Host deletes are reported too, as AT_DROP_DELETED. */
    uint64_t deleted = 0;
    CHECK_OK(at_offline_delete(t, &deleted));
    CHECK(deleted == LIMIT);
    at_tracker_free(t);
    CHECK(drops.n == TRACKED);
    for (int i = TRACKED - LIMIT; i < TRACKED; i++) {
        CHECK(drops.reasons[i] == AT_DROP_DELETED);
        bool found = false;
        for (int j = TRACKED - LIMIT; j < TRACKED; j++)
            found |= strcmp(drops.ids[i], tracked_ids[j]) == 0;
        CHECK(found);
    }
    CHECK(log.lines[AT_LOG_WARN] >= 1); /* overflow is logged */
    CHECK(log.lines[AT_LOG_INFO] == 0);
}

/* ---- a completion that ends its own tracker ------------------------------ */

typedef struct {
    at_tracker *tracker;
    bool close_only; /* at_tracker_close instead of at_tracker_free */
    at_status close_status;
    at_status done_status;
    int finished;
} self_end;

static void on_done_end_tracker(at_status status, void *user_data)
{
    self_end *e = user_data;
    lock(); /* orders the main thread's writes for ThreadSanitizer, as above */
    e->done_status = status;
    bool close_only = e->close_only;
    at_tracker *t = e->tracker;
    unlock();
    at_status closed = close_only ? at_tracker_close(t, 1000) : AT_OK;
    if (!close_only)
        at_tracker_free(t);
    lock();
    if (close_only)
        e->close_status = closed;
    e->finished = 1;
    unlock_and_notify();
}

static void test_end_from_callback(const char *dir, at_durability durability, bool close_only)
{
    char name[64];
    snprintf(name, sizeof name, "self-%d-%d.db", (int)durability, (int)close_only);
    at_config *cfg = base_config(dir, name);
    CHECK_OK(at_config_set_durability(cfg, durability));
    at_tracker *t = tracker_from(cfg);

    completion before[5];
    memset(before, 0, sizeof before);
    for (int i = 0; i < 5; i++)
        CHECK_OK(at_track_event(t, "before", NULL, on_done, &before[i]));
    self_end e;
    lock();
    e = (self_end){ .tracker = t, .close_only = close_only, .close_status = 99, .done_status = 99 };
    unlock();
    CHECK_OK(at_track_event(t, "last", NULL, on_done_end_tracker, &e));
    /* No call on t from here: the callback may have freed it already. */
    CHECK(wait_for(&e.finished, 1));
    CHECK_STATUS(e.done_status, AT_OK);
    if (close_only) {
        CHECK_STATUS(e.close_status, AT_OK);
        CHECK_STATUS(at_track_event(t, "after", NULL, NULL, NULL), AT_ERR_CLOSED);
        at_tracker_free(t);
    }
    for (int i = 0; i < 5; i++) {
        CHECK(read_locked(&before[i].calls) == 1);
        CHECK_STATUS(before[i].status, AT_OK);
    }

    /* Every hit accepted before the free was committed. */
    t = tracker_from(base_config(dir, name));
    CHECK(count(t) == 6);
    at_tracker_free(t);
}

int main(void)
{
    g_main_thread = pthread_self();
    char *dir = tmpdir_new();

    test_completions(dir, AT_DURABILITY_ON_RETURN);
    test_completions(dir, AT_DURABILITY_BATCHED);
    test_offline_mode_and_log(dir);
    test_batched_sync(dir);
    test_concurrent(dir, AT_DURABILITY_ON_RETURN);
    test_concurrent(dir, AT_DURABILITY_BATCHED);
    test_overflow(dir);
    test_end_from_callback(dir, AT_DURABILITY_ON_RETURN, false);
    test_end_from_callback(dir, AT_DURABILITY_BATCHED, false);
    test_end_from_callback(dir, AT_DURABILITY_ON_RETURN, true);
    test_end_from_callback(dir, AT_DURABILITY_BATCHED, true);

    tmpdir_remove(dir);
    printf("test_callbacks: all checks passed\n");
    return 0;
}
