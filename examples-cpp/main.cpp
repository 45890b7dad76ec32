// attracker from C++ (the wrapper of bindings/cpp, `#include "at_tracker.hpp"`):
// track hits offline, look at them, send them to a collector, tidy up.
//
//   attracker_cpp_demo ENDPOINT [DIR]
//
// ENDPOINT is the collector's base URL (`cargo run --example collector` prints
// one). DIR holds the store; by default a fresh directory under /tmp, removed
// at the end. In OfflineMode::Always nothing is sent by itself: hits wait in
// the store until the app dispatches them.
//
// This demo uses the exception style (`.value()`, `.throw_if_error()`); every
// call also returns a Status / Result that can be checked without exceptions.
#include "at_tracker.hpp"

#include <stdlib.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <future>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

namespace {

std::string format_time(std::chrono::system_clock::time_point t)
{
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    std::ostringstream text;
    text << std::put_time(&utc, "%Y-%m-%d %H:%M:%S") << '.' << std::setw(3) << std::setfill('0') << ms << " UTC";
    return text.str();
}

void print_hit(const attracker::HitView &hit)
{
    std::cout << "  #" << hit.id() << "  " << hit.type() << "  " << format_time(hit.created()) << "  "
              << hit.message_id() << (hit.is_offline() ? "  offline" : "") << '\n';
    if (auto body = hit.body())
        std::cout << "      POST " << hit.url() << "  " << *body << '\n'; // an event
    else
        std::cout << "      GET  " << hit.url() << '\n'; // a URL hit
}

// A directory of our own under /tmp, removed when the demo ends.
struct TempDir {
    std::string path;
    TempDir()
    {
        char name[] = "/tmp/attracker-cpp-demo-XXXXXX";
        if (mkdtemp(name) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        path = name;
    }
    ~TempDir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
};

} // namespace

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::cerr << "usage: attracker_cpp_demo ENDPOINT [DIR]\n";
        return 2;
    }
    const std::string endpoint = argv[1];
    try {
        std::unique_ptr<TempDir> temp;
        std::string dir;
        if (argc > 2) {
            dir = argv[2];
        } else {
            temp = std::make_unique<TempDir>();
            dir = temp->path;
        }
        const std::string store = dir + "/attracker.db";
        std::cout << "attracker " << attracker::version() << ", store " << store << '\n';

        // 1. Configure: where hits are stored, where they go, when they are sent.
        //    Log lines arrive on the tracker's callback thread.
        attracker::Config config;
        config.storage_path(store)
            .endpoint(endpoint)
            .offline_mode(attracker::OfflineMode::Always)
            .log_callback(
                [](attracker::LogLevel level, std::string_view line) {
                    std::clog << "[attracker " << attracker::to_string(level) << "] " << line << '\n';
                },
                attracker::LogLevel::Info);

        // 2. Open the tracker (throws attracker::Error if the config is wrong).
        attracker::Tracker tracker = attracker::Tracker::open(config).value();
        std::cout << "visitor id " << tracker.visitor_id().value() << '\n'; // kept in the store

        // 3. Track. Ok means the hit is on disk.
        tracker.track_event("screen_view", R"({"screen":"home","referrer":"push"})").throw_if_error();
        tracker.track_event("purchase", R"({"sku":"A-113","price":9.99,"currency":"EUR"})").throw_if_error();
        tracker.send_hit(endpoint + "/hit.xiti?s=123&p=checkout", "screen").throw_if_error();

        // A bad call, Status style: nothing is stored and nothing is thrown.
        if (attracker::Status s = tracker.track_event("broken", "{not json"); !s)
            std::cout << "refused as expected: " << s.to_string() << '\n';

        // 4. Inspect the store, oldest first, two hits a page.
        std::cout << "stored hits:\n";
        std::uint64_t cursor = 0;
        for (;;) {
            attracker::HitList page = tracker.offline_get_page(cursor, 2).value();
            if (page.empty())
                break;
            for (attracker::HitView hit : page)
                print_hit(hit);
            cursor = page.back().id();
        }
        std::cout << tracker.offline_count().value() << " stored hit(s)\n";

        // 5. Send them: events in one JSON batch, the URL hit with a GET. The
        //    completion runs once on the callback thread; main waits for it.
        auto done = std::make_shared<std::promise<attracker::DispatchResult>>();
        std::future<attracker::DispatchResult> result = done->get_future();
        tracker.offline_dispatch([done](const attracker::DispatchResult &r) { done->set_value(r); })
            .throw_if_error();
        if (result.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
            throw std::runtime_error("the dispatch did not complete within 60 s");
        const attracker::DispatchResult r = result.get();
        std::cout << "dispatch: " << r.status.name() << ", sent " << r.sent << ", failed " << r.failed
                  << ", dropped " << r.dropped << '\n';
        if (!r.ok())
            std::cout << "  (the collector at " << endpoint << " was not reached: the hits stay stored)\n";
        std::cout << tracker.offline_count().value() << " stored hit(s) left\n";

        // 6. Housekeeping: drop stale hits, then every hit created up to now
        //    (the drop callback, if any, hears of each as DropReason::Deleted).
        tracker.track_event("app_close").throw_if_error();
        std::cout << "deleted " << tracker.offline_delete_older_than_days(30).value()
                  << " hit(s) older than 30 days\n";
        const auto now = std::chrono::system_clock::now() + std::chrono::milliseconds(1);
        std::cout << "deleted " << tracker.offline_delete_older_than(now).value() << " hit(s) created up to now\n";

        // 7. The Tracker's destructor commits anything pending and stops its
        //    threads; the TempDir's removes the store.
        return 0;
    } catch (const attracker::Error &e) {
        std::cerr << "attracker_cpp_demo: " << e.what() << '\n';
        return 1;
    } catch (const std::exception &e) {
        std::cerr << "attracker_cpp_demo: " << e.what() << '\n';
        return 1;
    }
}
