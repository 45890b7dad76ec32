/*
 * Visitor identity, opting out and the remote-config settings through the C
 * API: owned strings and at_string_free, argument checks, purge counts.
 */
#include "check.h"

/* open_tracker, with opt-out `policy`. */
static at_tracker *open_tracker_with_policy(const char *db, at_opt_out_policy policy)
{
    at_config *cfg = storage_config(db);
    CHECK_OK(at_config_set_opt_out_policy(cfg, policy));
    return tracker_from(cfg);
}

static void check_config_settings(void)
{
    at_config *cfg = at_config_new();
    CHECK_STATUS(at_config_set_remote_config_url(cfg, "ftp://x/config"), AT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(at_last_error(), "remote config URL") != NULL);
    CHECK_OK(at_config_set_remote_config_url(cfg, "https://config.example.com/app.json"));
    CHECK_OK(at_config_set_remote_config_url(cfg, NULL)); /* off again */
    CHECK_STATUS(at_config_set_remote_config_interval_ms(cfg, 99), AT_ERR_INVALID_ARGUMENT);
    CHECK_OK(at_config_set_remote_config_interval_ms(cfg, 60000));
    CHECK_STATUS(at_config_add_allowed_endpoint_host(cfg, "https://collect.example.com"), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_config_add_allowed_endpoint_host(cfg, NULL), AT_ERR_NULL_ARGUMENT);
    CHECK_OK(at_config_add_allowed_endpoint_host(cfg, "collect.example.com"));
    CHECK_STATUS(at_config_set_opt_out_policy(cfg, 7), AT_ERR_INVALID_ARGUMENT);
    CHECK_OK(at_config_set_remote_config_callback(cfg, NULL, NULL));
    CHECK_STATUS(at_config_set_remote_config_url(NULL, "https://x"), AT_ERR_NULL_ARGUMENT);
    at_config_free(cfg);
}

static void check_visitor(const char *db)
{
    at_tracker *t = open_tracker_with_policy(db, AT_OPT_OUT_KEEP);
    char *first = NULL;
    CHECK_OK(at_visitor_id(t, &first));
    CHECK(first != NULL && strlen(first) == 36 && first[14] == '4');
    CHECK_STATUS(at_visitor_id(t, NULL), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(at_visitor_id(NULL, &first), AT_ERR_NULL_ARGUMENT);

    CHECK_OK(at_visitor_id_reset(t));
    char *second = NULL;
    CHECK_OK(at_visitor_id(t, &second));
    CHECK(strcmp(first, second) != 0);

    CHECK_STATUS(at_set_visitor_id(t, ""), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_set_visitor_id(t, "tab\there"), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_set_visitor_id(t, "\xff\xfe"), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(at_set_visitor_id(t, NULL), AT_ERR_NULL_ARGUMENT);
    char *still = NULL;
    CHECK_OK(at_visitor_id(t, &still));
    CHECK_STR(still, second); /* refused ids change nothing */
    CHECK_OK(at_set_visitor_id(t, "user-42"));
    at_tracker_free(t);

    t = open_tracker_with_policy(db, AT_OPT_OUT_KEEP);
    char *kept = NULL;
    CHECK_OK(at_visitor_id(t, &kept));
    CHECK_STR(kept, "user-42");

    char *doc = (char *)"sentinel";
    CHECK_OK(at_remote_config_json(t, &doc));
    CHECK(doc == NULL); /* no remote configuration */
    at_tracker_free(t);

    at_string_free(first);
    at_string_free(second);
    at_string_free(still);
    at_string_free(kept);
    at_string_free(NULL);
}

static void check_opt_out(const char *db)
{
    at_tracker *t = open_tracker_with_policy(db, AT_OPT_OUT_PURGE);
    for (int i = 0; i < 4; i++)
        CHECK_OK(at_track_event(t, "e", NULL, NULL, NULL));
    CHECK_STATUS(at_opt_out(t, 9, NULL), AT_ERR_INVALID_ARGUMENT);
    CHECK(count(t) == 4); /* a refused call changes nothing */

    uint64_t purged = 0;
    CHECK_OK(at_opt_out(t, AT_OPT_OUT_KEEP, &purged));
    CHECK(purged == 0 && count(t) == 4);
    CHECK_STATUS(at_track_event(t, "e", NULL, NULL, NULL), AT_ERR_SUPPRESSED);

    CHECK_OK(at_set_tracking_enabled(t, true));
    CHECK_OK(at_track_event(t, "e", NULL, NULL, NULL));
    /* The configured policy (purge) is what at_set_tracking_enabled(false) uses. */
    CHECK_OK(at_set_tracking_enabled(t, false));
    CHECK(count(t) == 0);
    CHECK(stats(t).deleted == 5);
    CHECK_OK(at_tracker_close(t, 1000));
    CHECK_STATUS(at_opt_out(t, AT_OPT_OUT_PURGE, &purged), AT_ERR_CLOSED);
    at_tracker_free(t);
}

int main(void)
{
    char *dir = tmpdir_new();
    char db[512];
    snprintf(db, sizeof db, "%s/identity.db", dir);
    check_config_settings();
    check_visitor(db);
    snprintf(db, sizeof db, "%s/optout.db", dir);
    check_opt_out(db);
    tmpdir_remove(dir);
    printf("test_identity: all checks passed\n");
    return 0;
}
