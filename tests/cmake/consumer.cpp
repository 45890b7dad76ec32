// The C++17 counterpart of consumer.c: the C header included as-is (it has
// extern "C" guards), handles owned by unique_ptr, the store in a temporary
// directory. It also includes the C++ wrapper by the name users write
// (`#include "at_tracker.hpp"`, found through the same include path as the C
// header, in the source tree and installed). Exits 0 on success.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <string>

#include "at_tracker.h"
#include "at_tracker.hpp"

namespace {

struct ConfigDeleter {
    void operator()(at_config *config) const { at_config_free(config); }
};
struct TrackerDeleter {
    void operator()(at_tracker *tracker) const { at_tracker_free(tracker); }
};

bool ok(at_status status, const char *call)
{
    if (status == AT_OK)
        return true;
    std::cerr << "consumer.cpp: " << call << ": " << at_status_str(status) << ": " << at_last_error() << '\n';
    return false;
}

int run(const std::filesystem::path &dir)
{
    std::cout << "attracker " << at_version() << '\n';
    if (attracker::version() != at_version()) {
        std::cerr << "consumer.cpp: the C++ wrapper reports version " << attracker::version() << '\n';
        return 1;
    }
#ifdef ATTRACKER_EXPECTED_VERSION
    if (std::string(at_version()) != ATTRACKER_EXPECTED_VERSION) {
        std::cerr << "consumer.cpp: at_version() " << at_version() << ", package version "
                  << ATTRACKER_EXPECTED_VERSION << '\n';
        return 1;
    }
#endif
    const std::string path = (dir / "store.db").string();

    std::unique_ptr<at_config, ConfigDeleter> config(at_config_new());
    if (!config)
        return 1;
    if (!ok(at_config_set_storage_path(config.get(), path.c_str()), "at_config_set_storage_path") ||
        !ok(at_config_set_endpoint(config.get(), "http://127.0.0.1:9"), "at_config_set_endpoint") ||
        !ok(at_config_set_offline_mode(config.get(), AT_OFFLINE_ALWAYS), "at_config_set_offline_mode"))
        return 1;

    at_tracker *raw = nullptr;
    if (!ok(at_tracker_new(config.get(), &raw), "at_tracker_new"))
        return 1;
    std::unique_ptr<at_tracker, TrackerDeleter> tracker(raw);

    if (!ok(at_track_event(tracker.get(), "consumer_cpp", R"({"lang":"c++"})", nullptr, nullptr),
            "at_track_event"))
        return 1;
    std::uint64_t count = 0;
    if (!ok(at_offline_count(tracker.get(), &count), "at_offline_count"))
        return 1;
    if (count != 1) {
        std::cerr << "consumer.cpp: " << count << " hits stored, expected 1\n";
        return 1;
    }
    std::cout << "stored " << count << " hit in " << path << '\n';
    return 0;
}

} // namespace

int main()
{
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() /
                         ("attracker-consumer-cpp-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir);
    const int status = run(dir); // the tracker is freed before the directory goes
    fs::remove_all(dir);
    return status;
}
