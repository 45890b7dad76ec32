/*
 * The analytics client through the C API: identify and the owned user id,
 * alias, group, screen, reset flags, the context, super properties, sessions
 * and consent, each with its argument checks (NULL, bad UTF-8, bad JSON,
 * unknown enum values) changing nothing.
 */
#include "check.h"

static void check_config_settings(void)
{
    at_config *cfg = at_config_new();
    CHECK_STATUS(at_config_set_context(cfg, "[1]"), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_config_set_context(cfg, "{\"library\":{}}"), AT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(at_last_error(), "library") != NULL);
    CHECK_STATUS(at_config_set_context(cfg, NULL), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(at_config_set_context(NULL, "{}"), AT_ERR_NULL_ARGUMENT);
    CHECK_OK(at_config_set_context(cfg, "{\"app\":{\"name\":\"C test\"}}"));
    CHECK_STATUS(at_config_set_session_timeouts_ms(cfg, 10, 300000), AT_ERR_INVALID_ARGUMENT);
    CHECK_OK(at_config_set_session_timeouts_ms(cfg, 60000, 30000));
    CHECK_OK(at_config_set_track_session_events(cfg, true));
    CHECK_STATUS(at_config_set_initial_consent(cfg, 3), AT_ERR_INVALID_ARGUMENT);
    CHECK_OK(at_config_set_initial_consent(cfg, AT_CONSENT_PENDING));
    at_config_free(cfg);
}

static void check_identity(const char *db)
{
    at_tracker *t = open_tracker(db);
    char *user = (char *)"sentinel";
    CHECK_OK(at_user_id(t, &user));
    CHECK(user == NULL); /* none yet */
    CHECK_STATUS(at_user_id(t, NULL), AT_ERR_NULL_ARGUMENT);

    CHECK_STATUS(at_identify(t, "", NULL, NULL, NULL), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_identify(t, "\xff\xfe", NULL, NULL, NULL), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_identify(t, "u", "{\"a\":", NULL, NULL), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_identify(NULL, "u", NULL, NULL, NULL), AT_ERR_NULL_ARGUMENT);
    CHECK(count(t) == 0); /* refused calls store nothing */
    CHECK_OK(at_identify(t, "user-1", "{\"plan\":\"pro\"}", NULL, NULL));
    CHECK_OK(at_identify(t, NULL, NULL, NULL, NULL)); /* keeps the user id */
    CHECK_OK(at_user_id(t, &user));
    CHECK_STR(user, "user-1");
    at_string_free(user);

    CHECK_STATUS(at_alias(t, NULL, NULL, NULL), AT_ERR_NULL_ARGUMENT);
    CHECK_OK(at_alias(t, "user-2", NULL, NULL));
    CHECK_STATUS(at_group(t, "", NULL, NULL, NULL), AT_ERR_INVALID_ARGUMENT);
    CHECK_OK(at_group(t, "team", "{\"seats\":3}", NULL, NULL));
    CHECK_STATUS(at_screen(t, NULL, NULL, NULL, NULL), AT_ERR_NULL_ARGUMENT);
    CHECK_OK(at_screen(t, "Home", NULL, NULL, NULL));
    CHECK(count(t) == 5);
    at_tracker_free(t);

    /* Kept across a restart. */
    t = open_tracker(db);
    CHECK_OK(at_user_id(t, &user));
    CHECK_STR(user, "user-2");
    at_string_free(user);
    CHECK_STATUS(at_reset(t, 0), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_reset(t, 16), AT_ERR_INVALID_ARGUMENT);
    char *before = NULL, *after = NULL;
    CHECK_OK(at_visitor_id(t, &before));
    CHECK_OK(at_reset(t, AT_RESET_USER | AT_RESET_ANONYMOUS_ID));
    CHECK_OK(at_user_id(t, &user));
    CHECK(user == NULL);
    CHECK_OK(at_visitor_id(t, &after));
    CHECK(strcmp(before, after) != 0);
    at_string_free(before);
    at_string_free(after);
    CHECK(count(t) == 5); /* queued hits stay, with the identity they had */
    at_tracker_free(t);
}

static void check_context_supers_sessions(const char *db)
{
    at_tracker *t = open_tracker(db);
    CHECK_STATUS(at_set_context(t, "{\"sessionId\":1}"), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_set_context(t, NULL), AT_ERR_NULL_ARGUMENT);
    CHECK_OK(at_set_context(t, "{\"network\":{\"wifi\":true}}"));
    CHECK_STATUS(at_register_super_properties(t, "[]"), AT_ERR_INVALID_ARGUMENT);
    CHECK_OK(at_register_super_properties(t, "{\"build\":7}"));
    CHECK_OK(at_unregister_super_property(t, "nothing"));
    CHECK_STATUS(at_unregister_super_property(t, NULL), AT_ERR_NULL_ARGUMENT);

    int64_t first = 0, second = 0;
    CHECK_STATUS(at_session_id(t, NULL), AT_ERR_NULL_ARGUMENT);
    CHECK_OK(at_session_id(t, &first));
    CHECK(first > 1700000000000LL); /* Unix ms */
    sleep_ms(2);
    CHECK_OK(at_session_start(t));
    CHECK_OK(at_session_id(t, &second));
    CHECK(second > first);
    CHECK_OK(at_track_event(t, "e", "{\"x\":1}", NULL, NULL));
    at_hit *h = NULL;
    CHECK_OK(at_offline_latest(t, &h));
    CHECK(strstr(at_hit_body(h), "\"build\":7") != NULL); /* merged at the call */
    at_hit_free(h);
    at_tracker_free(t);
}

static void check_consent(const char *db)
{
    at_tracker *t = open_tracker(db);
    at_consent c = 99;
    CHECK_OK(at_get_consent(t, &c));
    CHECK(c == AT_CONSENT_GRANTED);
    CHECK_STATUS(at_get_consent(t, NULL), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(at_set_consent(t, 7, NULL), AT_ERR_INVALID_ARGUMENT);
    for (int i = 0; i < 3; i++)
        CHECK_OK(at_track_event(t, "e", NULL, NULL, NULL));
    CHECK_OK(at_set_consent(t, AT_CONSENT_PENDING, NULL));
    CHECK_OK(at_track_event(t, "kept while pending", NULL, NULL, NULL));
    uint64_t purged = 0;
    CHECK_OK(at_set_consent(t, AT_CONSENT_DENIED, &purged));
    CHECK(purged == 4 && count(t) == 0);
    CHECK(stats(t).dropped_consent == 4);
    CHECK_STATUS(at_track_event(t, "e", NULL, NULL, NULL), AT_ERR_SUPPRESSED);
    CHECK_STATUS(at_screen(t, "s", NULL, NULL, NULL), AT_ERR_SUPPRESSED);
    at_tracker_free(t);

    t = open_tracker(db);
    CHECK_OK(at_get_consent(t, &c));
    CHECK(c == AT_CONSENT_DENIED); /* kept */
    CHECK_OK(at_set_consent(t, AT_CONSENT_GRANTED, NULL));
    CHECK_OK(at_track_event(t, "e", NULL, NULL, NULL));
    CHECK_OK(at_tracker_close(t, 1000));
    CHECK_STATUS(at_set_consent(t, AT_CONSENT_GRANTED, NULL), AT_ERR_CLOSED);
    CHECK_STATUS(at_identify(t, "u", NULL, NULL, NULL), AT_ERR_CLOSED);
    at_tracker_free(t);
}

int main(void)
{
    char *dir = tmpdir_new();
    char db[512];
    check_config_settings();
    snprintf(db, sizeof db, "%s/identity.db", dir);
    check_identity(db);
    snprintf(db, sizeof db, "%s/context.db", dir);
    check_context_supers_sessions(db);
    snprintf(db, sizeof db, "%s/consent.db", dir);
    check_consent(db);
    tmpdir_remove(dir);
    printf("test_analytics: all checks passed\n");
    return 0;
}
