/*
 * The inspection API: listing, paging, oldest/latest, counting and deleting
 * stored hits, the hit accessors, persistence across trackers, and the stats
 * counters that deletes and commits move.
 */
#include "check.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>

#define BATCH_URL "http://127.0.0.1:9/v1/batch"
#define HOUR_MS (3600 * 1000)

/* open_tracker without automatic triggers: no delivery trigger may touch
 * the store while we inspect it. */
static at_tracker *open_untriggered_tracker(const char *db_path)
{
    at_config *cfg = storage_config(db_path);
    CHECK_OK(at_config_set_flush_interval_ms(cfg, 0));
    CHECK_OK(at_config_set_flush_threshold(cfg, 0));
    return tracker_from(cfg);
}

static void track_numbered(at_tracker *t, int n)
{
    char props[64];
    snprintf(props, sizeof props, "{\"n\":%d}", n);
    CHECK_OK(at_track_event(t, "numbered", props, NULL, NULL));
}

static int body_n(const at_hit *h)
{
    int n = -1;
    CHECK(at_hit_body(h) != NULL);
    CHECK(sscanf(at_hit_body(h), "{\"n\":%d}", &n) == 1);
    return n;
}

/* Lower-case hyphenated UUID, version 4, RFC 4122 variant. */
static void check_uuid_v4(const char *id)
{
    CHECK(id != NULL);
    CHECK(strlen(id) == 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            CHECK(id[i] == '-');
        else
            CHECK(isxdigit((unsigned char)id[i]) && !isupper((unsigned char)id[i]));
    }
    CHECK(id[14] == '4');
    CHECK(strchr("89ab", id[19]) != NULL);
}

static void check_empty(at_tracker *t)
{
    CHECK(count(t) == 0);

    at_hit *hit = (at_hit *)&hit; /* must be overwritten with NULL */
    CHECK_OK(at_offline_oldest(t, &hit));
    CHECK(hit == NULL);
    hit = (at_hit *)&hit;
    CHECK_OK(at_offline_latest(t, &hit));
    CHECK(hit == NULL);

    at_hit_list *list = NULL;
    CHECK_OK(at_offline_get(t, &list));
    CHECK(list != NULL);
    CHECK(at_hit_list_len(list) == 0);
    CHECK(at_hit_list_get(list, 0) == NULL);
    at_hit_list_free(list);

    list = NULL;
    CHECK_OK(at_offline_get_page(t, 0, 10, &list));
    CHECK(list != NULL);
    CHECK(at_hit_list_len(list) == 0);
    at_hit_list_free(list);
}

static void check_null_accessors(void)
{
    CHECK(at_hit_list_len(NULL) == 0);
    CHECK(at_hit_list_get(NULL, 0) == NULL);
    CHECK(at_hit_url(NULL) == NULL);
    CHECK(at_hit_type(NULL) == NULL);
    CHECK(at_hit_message_id(NULL) == NULL);
    CHECK(at_hit_body(NULL) == NULL);
    CHECK(at_hit_id(NULL) == 0);
    CHECK(at_hit_creation_date_ms(NULL) == 0);
    CHECK(at_hit_retry_count(NULL) == 0);
    CHECK(!at_hit_is_offline(NULL));
}

/* Events and URL hits come back oldest first, with every field as tracked. */
static void check_listing(at_tracker *t)
{
    static const char *const purchase =
        "{ \"sku\": \"A-1\",\n  \"price\": 9.99, \"name\": \"caf\xc3\xa9 \\u2615\", \"tags\": [] }";
    static const char *const hit_url = "https://logs.example.com/hit.xiti?s=1&p=home&x=%20";

    int64_t before = now_ms();
    CHECK_OK(at_track_event(t, "screen_view", "{\"screen\":\"home\"}", NULL, NULL));
    CHECK_OK(at_track_event(t, "purchase", purchase, NULL, NULL));
    CHECK_OK(at_send_hit(t, hit_url, "screen", NULL, NULL));
    CHECK_OK(at_track_event(t, "app_open", NULL, NULL, NULL));
    CHECK_OK(at_send_hit(t, "http://127.0.0.1:9/untyped", NULL, NULL, NULL));
    int64_t after = now_ms();
    CHECK(count(t) == 5);

    at_hit_list *list = NULL;
    CHECK_OK(at_offline_get(t, &list));
    CHECK(at_hit_list_len(list) == 5);

    static const char *const types[] = { "screen_view", "purchase", "screen", "app_open", "" };
    const char *bodies[] = { "{\"screen\":\"home\"}", purchase, NULL, "{}", NULL };
    const char *urls[] = { BATCH_URL, BATCH_URL, hit_url, BATCH_URL, "http://127.0.0.1:9/untyped" };
    uint64_t last_id = 0;
    for (size_t i = 0; i < 5; i++) {
        const at_hit *h = at_hit_list_get(list, i);
        CHECK(h != NULL);
        CHECK_STR(at_hit_type(h), types[i]);
        if (bodies[i] == NULL)
            CHECK(at_hit_body(h) == NULL);
        else
            CHECK_STR(at_hit_body(h), bodies[i]);
        CHECK_STR(at_hit_url(h), urls[i]);
        check_uuid_v4(at_hit_message_id(h));
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(at_hit_message_id(h), at_hit_message_id(at_hit_list_get(list, j))) != 0);
        CHECK(at_hit_id(h) > last_id);
        last_id = at_hit_id(h);
        CHECK(at_hit_creation_date_ms(h) >= before - 1);
        CHECK(at_hit_creation_date_ms(h) <= after + 1);
        if (i > 0)
            CHECK(at_hit_creation_date_ms(h) >= at_hit_creation_date_ms(at_hit_list_get(list, i - 1)));
        CHECK(at_hit_retry_count(h) == 0);
        CHECK(at_hit_is_offline(h));
    }
    CHECK(at_hit_list_get(list, 5) == NULL);
    CHECK(at_hit_list_get(list, SIZE_MAX) == NULL);

    /* Oldest and latest are snapshots of the first and last rows. */
    at_hit *oldest = NULL, *latest = NULL;
    CHECK_OK(at_offline_oldest(t, &oldest));
    CHECK_OK(at_offline_latest(t, &latest));
    CHECK(oldest != NULL && latest != NULL);
    CHECK(at_hit_id(oldest) == at_hit_id(at_hit_list_get(list, 0)));
    CHECK_STR(at_hit_message_id(oldest), at_hit_message_id(at_hit_list_get(list, 0)));
    CHECK_STR(at_hit_type(oldest), "screen_view");
    CHECK(at_hit_id(latest) == at_hit_id(at_hit_list_get(list, 4)));
    CHECK_STR(at_hit_message_id(latest), at_hit_message_id(at_hit_list_get(list, 4)));
    CHECK_STR(at_hit_url(latest), "http://127.0.0.1:9/untyped");
    at_hit_list_free(list);

    /* A snapshot outlives a delete. */
    CHECK_OK(at_offline_delete(t, NULL));
    CHECK_STR(at_hit_type(oldest), "screen_view");
    CHECK_STR(at_hit_body(oldest), "{\"screen\":\"home\"}");
    at_hit_free(oldest);
    at_hit_free(latest);
    CHECK(count(t) == 0);
}

/* is_offline follows the mode and the reachability report. */
static void check_is_offline(at_tracker *t)
{
    CHECK_OK(at_set_offline_mode(t, AT_OFFLINE_REQUIRED, NULL, NULL));
    at_offline_mode mode = 99;
    CHECK_OK(at_get_offline_mode(t, &mode));
    CHECK(mode == AT_OFFLINE_REQUIRED);
    CHECK_OK(at_track_event(t, "online", NULL, NULL, NULL));
    CHECK_OK(at_set_network_reachable(t, false));
    CHECK_OK(at_track_event(t, "unreachable", NULL, NULL, NULL));
    /* ALWAYS first: the network coming back in REQUIRED mode starts a send. */
    CHECK_OK(at_set_offline_mode(t, AT_OFFLINE_ALWAYS, NULL, NULL));
    CHECK_OK(at_set_network_reachable(t, true));

    at_hit_list *list = NULL;
    CHECK_OK(at_offline_get(t, &list));
    CHECK(at_hit_list_len(list) == 2);
    CHECK_STR(at_hit_type(at_hit_list_get(list, 0)), "online");
    CHECK(!at_hit_is_offline(at_hit_list_get(list, 0)));
    CHECK_STR(at_hit_type(at_hit_list_get(list, 1)), "unreachable");
    CHECK(at_hit_is_offline(at_hit_list_get(list, 1)));
    at_hit_list_free(list);

    uint64_t deleted = 0;
    CHECK_OK(at_offline_delete(t, &deleted));
    CHECK(deleted == 2);
}

/* 25 hits in pages of 10: 10, 10, 5, then an empty page. */
static void check_paging(at_tracker *t)
{
    for (int i = 0; i < 25; i++)
        track_numbered(t, i);
    CHECK(count(t) == 25);

    static const size_t expected[] = { 10, 10, 5, 0 };
    uint64_t after = 0;
    int next_n = 0;
    for (size_t page = 0; page < 4; page++) {
        at_hit_list *list = NULL;
        CHECK_OK(at_offline_get_page(t, after, 10, &list));
        CHECK(list != NULL);
        CHECK(at_hit_list_len(list) == expected[page]);
        for (size_t i = 0; i < at_hit_list_len(list); i++) {
            const at_hit *h = at_hit_list_get(list, i);
            CHECK(at_hit_id(h) > after);
            after = at_hit_id(h);
            CHECK(body_n(h) == next_n);
            next_n++;
        }
        at_hit_list_free(list);
    }
    CHECK(next_n == 25);

    /* A cursor in the middle of a page: ids are a cursor, not an index. */
    at_hit_list *all = NULL, *rest = NULL;
    CHECK_OK(at_offline_get(t, &all));
    CHECK(at_hit_list_len(all) == 25);
    CHECK_OK(at_offline_get_page(t, at_hit_id(at_hit_list_get(all, 16)), 100, &rest));
    CHECK(at_hit_list_len(rest) == 8);
    CHECK(body_n(at_hit_list_get(rest, 0)) == 17);
    at_hit_list_free(rest);
    at_hit_list_free(all);

    /* A cursor past every id is the end, even one that does not fit in int64_t. */
    at_hit_list *none = NULL;
    CHECK_OK(at_offline_get_page(t, UINT64_MAX, 10, &none));
    CHECK(at_hit_list_len(none) == 0);
    at_hit_list_free(none);
}

int main(void)
{
    char *dir = tmpdir_new();
    char db[512];
    path_join(db, sizeof db, dir, "store/attracker.db"); /* parent is created */

    check_null_accessors();

    at_tracker *t = open_untriggered_tracker(db);
    check_empty(t);
    check_listing(t); /* 5 committed, 5 deleted */
    check_empty(t);
    check_is_offline(t); /* 7 committed, 7 deleted */

    /* Deleting by age: nothing is older than an hour ago or 30 days. */
    for (int i = 0; i < 3; i++)
        track_numbered(t, i);
    uint64_t deleted = UINT64_MAX;
    CHECK_OK(at_offline_delete_older_than(t, now_ms() - HOUR_MS, &deleted));
    CHECK(deleted == 0);
    deleted = UINT64_MAX;
    CHECK_OK(at_offline_delete_older_than_days(t, 30, &deleted));
    CHECK(deleted == 0);
    CHECK(count(t) == 3);
    /* Everything is older than an hour from now. */
    CHECK_OK(at_offline_delete_older_than(t, now_ms() + HOUR_MS, &deleted));
    CHECK(deleted == 3); /* 10 committed, 10 deleted */
    check_empty(t);

    check_paging(t); /* 35 committed */
    /* 0 days: every hit created before now. */
    sleep_ms(5);
    CHECK_OK(at_offline_delete_older_than_days(t, 0, &deleted));
    CHECK(deleted == 25); /* 35 deleted */
    CHECK(count(t) == 0);

    /* A hit created after the cutoff stays. */
    track_numbered(t, 0);
    sleep_ms(5);
    int64_t cutoff = now_ms();
    sleep_ms(5);
    track_numbered(t, 1);
    CHECK_OK(at_offline_delete_older_than(t, cutoff, &deleted));
    CHECK(deleted == 1); /* 37 committed, 36 deleted */
    at_hit *left = NULL;
    CHECK_OK(at_offline_oldest(t, &left));
    CHECK(body_n(left) == 1);
    int64_t created = at_hit_creation_date_ms(left);
    at_hit_free(left);
    /* The cutoff is exclusive: created_ms itself keeps the hit, +1 deletes it. */
    CHECK_OK(at_offline_delete_older_than(t, created, &deleted));
    CHECK(deleted == 0);
    CHECK_OK(at_offline_delete_older_than(t, created + 1, &deleted));
    CHECK(deleted == 1); /* 37 deleted */
    CHECK(count(t) == 0);

    /* Three hits to carry over to the next tracker. */
    for (int i = 100; i < 103; i++)
        track_numbered(t, i);
    at_stats s = stats(t);
    CHECK(s.committed == 40);
    CHECK(s.deleted == 37);
    CHECK(s.queued == 3);
    CHECK(s.dropped_overflow == 0);
    CHECK(s.dropped_corrupt == 0);
    CHECK(s.sent == 0);
    CHECK(s.bytes_on_disk > 0);

    /* A caller with an older, shorter at_stats gets only what it has room for. */
    at_stats partial;
    memset(&partial, 0xAB, sizeof partial);
    CHECK_OK(at_tracker_stats(t, &partial, offsetof(at_stats, sent)));
    CHECK(partial.queued == 3);
    CHECK(partial.sent == UINT64_C(0xABABABABABABABAB));
    CHECK(partial.committed == UINT64_C(0xABABABABABABABAB));
    memset(&partial, 0xAB, sizeof partial);
    CHECK_OK(at_tracker_stats(t, &partial, 0));
    CHECK(partial.queued == UINT64_C(0xABABABABABABABAB));

    at_hit_list *before = NULL;
    CHECK_OK(at_offline_get(t, &before));
    at_tracker_free(t);

    /* Persistence: a new tracker on the same file sees the same hits. */
    t = open_untriggered_tracker(db);
    CHECK(count(t) == 3);
    at_hit_list *after = NULL;
    CHECK_OK(at_offline_get(t, &after));
    CHECK(at_hit_list_len(after) == 3);
    for (size_t i = 0; i < 3; i++) {
        const at_hit *a = at_hit_list_get(before, i), *b = at_hit_list_get(after, i);
        CHECK(at_hit_id(a) == at_hit_id(b));
        CHECK_STR(at_hit_message_id(a), at_hit_message_id(b));
        CHECK_STR(at_hit_body(a), at_hit_body(b));
        CHECK_STR(at_hit_url(b), BATCH_URL);
        CHECK(at_hit_creation_date_ms(a) == at_hit_creation_date_ms(b));
        CHECK(at_hit_is_offline(b));
        CHECK(body_n(b) == 100 + (int)i);
    }
    at_hit_list_free(before);

    /* Ids keep growing across trackers. */
    track_numbered(t, 103);
    at_hit *latest = NULL;
    CHECK_OK(at_offline_latest(t, &latest));
    CHECK(at_hit_id(latest) > at_hit_id(at_hit_list_get(after, 2)));
    CHECK(body_n(latest) == 103);
    at_hit_free(latest);
    at_hit_list_free(after);

    /* Counters start again with each tracker. */
    s = stats(t);
    CHECK(s.committed == 1);
    CHECK(s.deleted == 0);
    CHECK(s.queued == 4);
    CHECK_OK(at_offline_delete(t, &deleted));
    CHECK(deleted == 4);
    s = stats(t);
    CHECK(s.deleted == 4);
    CHECK(s.queued == 0);
    check_empty(t);
    at_tracker_free(t);

    tmpdir_remove(dir);
    printf("test_inspection: all checks passed\n");
    return 0;
}
