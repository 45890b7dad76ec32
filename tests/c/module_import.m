/* The module map works: the whole API is visible through `@import ATTracker;`
 * from Objective-C. Checked by ctest with clang -fmodules -fsyntax-only (plain
 * C inside, so no Objective-C runtime is needed to check it). */
@import ATTracker;

int main(void)
{
    at_config *config = at_config_new();
    at_status status = at_config_set_offline_mode(config, AT_OFFLINE_ALWAYS);
    at_config_free(config);
    return status == AT_OK && at_version() != NULL ? 0 : 1;
}
