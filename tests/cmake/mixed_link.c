/*
 * One program, three users of SQLite and Rust: the app itself calls the
 * system SQLite (-lsqlite3), attracker uses its bundled SQLite, and another
 * Rust staticlib (other_rust/) brings its own copy of Rust's std. Linked by
 * run_mixed_link.cmake in several orders, including --whole-archive.
 *
 * Passes only if each part gets its own code: sqlite3_libversion() must be the
 * system library's (the header's SQLITE_VERSION), not attracker's bundled
 * copy, which an archive exporting sqlite3_* would silently substitute.
 */
#define _POSIX_C_SOURCE 200809L

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "at_tracker.h"

int32_t other_rust_answer(void); /* tests/cmake/other_rust */

static int check_system_sqlite(void)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int ok = 0;

    printf("system SQLite: header %s, library %s\n", SQLITE_VERSION, sqlite3_libversion());
    if (strcmp(sqlite3_libversion(), SQLITE_VERSION) != 0 ||
        sqlite3_libversion_number() != SQLITE_VERSION_NUMBER) {
        fprintf(stderr, "mixed_link: sqlite3_libversion() is %s, not the system's %s\n",
                sqlite3_libversion(), SQLITE_VERSION);
        return 0;
    }
    if (sqlite3_open(":memory:", &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT 6 * 7", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 42)
        ok = 1;
    else
        fprintf(stderr, "mixed_link: in-memory database: %s\n", db ? sqlite3_errmsg(db) : "no handle");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return ok;
}

static int check_attracker(void)
{
    char dir[] = "/tmp/attracker-mixed-link-XXXXXX";
    char path[sizeof dir + 16], file[sizeof path + 16];
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    at_config *config = at_config_new();
    at_tracker *tracker = NULL;
    uint64_t count = 0;
    int ok = 0;

    printf("attracker %s\n", at_version());
    if (config == NULL || mkdtemp(dir) == NULL)
        return 0;
    snprintf(path, sizeof path, "%s/store.db", dir);
    if (at_config_set_storage_path(config, path) == AT_OK &&
        at_config_set_endpoint(config, "http://127.0.0.1:9") == AT_OK &&
        at_config_set_offline_mode(config, AT_OFFLINE_ALWAYS) == AT_OK &&
        at_tracker_new(config, &tracker) == AT_OK &&
        at_track_event(tracker, "mixed_link", NULL, NULL, NULL) == AT_OK &&
        at_offline_count(tracker, &count) == AT_OK && count == 1)
        ok = 1;
    else
        fprintf(stderr, "mixed_link: attracker: %s (count %llu)\n", at_last_error(),
                (unsigned long long)count);
    at_tracker_free(tracker);
    at_config_free(config);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
        unlink(file);
    }
    rmdir(dir);
    return ok;
}

int main(void)
{
    int32_t answer = other_rust_answer();
    printf("other_rust_answer() = %d\n", (int)answer);
    if (answer != 42) {
        fprintf(stderr, "mixed_link: other_rust_answer() returned %d, expected 42\n", (int)answer);
        return 1;
    }
    return check_system_sqlite() && check_attracker() ? 0 : 1;
}
