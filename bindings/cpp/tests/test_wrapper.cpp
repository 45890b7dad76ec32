// Tests of the C++ wrapper (bindings/cpp/include/at_tracker.hpp), run by ctest
// as cpp_wrapper:
//
//   test_wrapper COLLECTOR
//
// COLLECTOR is the test collector binary (cargo's `collector` example). Each
// check that fails prints what was expected and exits with status 1. Stores
// live in mkdtemp directories under /tmp, removed at the end (also on failure).
#include "at_tracker.hpp"
#include "collector_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstddef>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;
using attracker::CallbackMode;
using attracker::Config;
using attracker::DispatchResult;
using attracker::DropReason;
using attracker::HitList;
using attracker::HitView;
using attracker::LogLevel;
using attracker::OfflineMode;
using attracker::OptOutPolicy;
using attracker::Status;
using attracker::Tracker;

namespace {

// Nothing listens on port 9 (discard): sends fail at once.
const char *const kNoCollector = "http://127.0.0.1:9";

/* ---- checks --------------------------------------------------------------- */

std::mutex g_cleanup_mu;
std::vector<std::string> g_dirs;
CollectorProcess *g_collector = nullptr;
const char *g_test = "?";

[[noreturn]] void fail(const char *file, int line, const std::string &what)
{
    std::cerr << file << ':' << line << ": FAILED in " << g_test << ": " << what << std::endl;
    std::lock_guard<std::mutex> lock(g_cleanup_mu);
    if (g_collector != nullptr)
        g_collector->stop();
    for (const std::string &d : g_dirs) {
        std::error_code ignored;
        std::filesystem::remove_all(d, ignored);
    }
    std::_Exit(1);
}

#define CHECK(cond)                                                                                    \
    do {                                                                                               \
        if (!(cond))                                                                                   \
            fail(__FILE__, __LINE__, "CHECK(" #cond ")");                                              \
    } while (0)

#define CHECK_MSG(cond, message)                                                                       \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            std::ostringstream check_msg_;                                                             \
            check_msg_ << "CHECK(" #cond "): " << message;                                             \
            fail(__FILE__, __LINE__, check_msg_.str());                                                \
        }                                                                                              \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                                   \
    do {                                                                                               \
        const Status check_s_ = (expr);                                                                \
        const at_status check_want_ = (expected);                                                      \
        if (check_s_.code() != check_want_)                                                           \
            fail(__FILE__, __LINE__,                                                                   \
                 std::string(#expr " returned ") + check_s_.to_string() + ", expected " +             \
                     at_status_str(check_want_));                                                      \
    } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, AT_OK)

// `expr` must throw attracker::Error with `expected` as its code.
#define CHECK_THROWS(expr, expected)                                                                   \
    do {                                                                                               \
        bool check_threw_ = false;                                                                     \
        try {                                                                                          \
            (void)(expr);                                                                              \
        } catch (const attracker::Error &check_e_) {                                                   \
            check_threw_ = true;                                                                       \
            CHECK_MSG(check_e_.code() == (expected),                                                   \
                      "threw " << check_e_.what() << ", expected " << at_status_str(expected));        \
            CHECK_MSG(std::string(check_e_.what()).rfind(std::string(at_status_str(expected)) + ":", 0) \
                          == 0,                                                                        \
                      "what() = " << check_e_.what());                                                 \
        }                                                                                              \
        CHECK_MSG(check_threw_, #expr " did not throw");                                               \
    } while (0)

bool contains(std::string_view haystack, std::string_view needle)
{
    return haystack.find(needle) != std::string_view::npos;
}

// Polls `pred` every 2 ms until it holds or `timeout` passes.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = 15s)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return pred();
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

// Threads of this process (Linux), to see a tracker's threads come and go.
int thread_count()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("Threads:", 0) == 0)
            return std::stoi(line.substr(8));
    return -1;
}

// A mkdtemp directory under /tmp, removed on destruction (or by fail()).
struct TempDir {
    std::string path;
    TempDir()
    {
        char name[] = "/tmp/attracker-cpp-test-XXXXXX";
        if (mkdtemp(name) == nullptr)
            fail(__FILE__, __LINE__, "mkdtemp failed");
        path = name;
        std::lock_guard<std::mutex> lock(g_cleanup_mu);
        g_dirs.push_back(path);
    }
    ~TempDir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
        std::lock_guard<std::mutex> lock(g_cleanup_mu);
        g_dirs.erase(std::remove(g_dirs.begin(), g_dirs.end(), path), g_dirs.end());
    }
    std::string db(const std::string &name = "attracker.db") const { return path + "/" + name; }
};

Config base_config(const TempDir &dir, const std::string &endpoint = kNoCollector,
                   OfflineMode mode = OfflineMode::Always)
{
    Config c;
    c.storage_path(dir.db()).endpoint(endpoint).offline_mode(mode);
    CHECK_MSG(c.ok(), c.status().to_string());
    return c;
}

Tracker open_tracker(const Config &config)
{
    attracker::Result<Tracker> r = Tracker::open(config);
    CHECK_MSG(r.ok(), r.status().to_string());
    return std::move(r).value();
}

// Waits for a future, failing the test after 30 s.
template <class T>
T get_within(std::future<T> &f, const char *what)
{
    CHECK_MSG(f.wait_for(30s) == std::future_status::ready, what << " did not complete within 30 s");
    return f.get();
}

// A minimal HTTP server on a free loopback port serving one remote
// configuration document at /config, with an ETag: a GET carrying
// `If-None-Match` with that ETag gets 304. Counts the requests it answered.
class ConfigServer {
public:
    explicit ConfigServer(std::string document) : document_(std::move(document))
    {
        listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(listener_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        CHECK(bind(listener_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
        CHECK(listen(listener_, 16) == 0);
        CHECK(getsockname(listener_, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
        url_ = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/config";
        thread_ = std::thread([this] { serve(); });
    }
    ~ConfigServer() { stop(); }
    ConfigServer(const ConfigServer &) = delete;
    ConfigServer &operator=(const ConfigServer &) = delete;

    const std::string &url() const { return url_; }
    int answered_200() const { return ok_; }
    int answered_304() const { return not_modified_; }
    void stop()
    {
        stop_ = true;
        if (thread_.joinable())
            thread_.join();
        if (listener_ >= 0)
            close(listener_);
        listener_ = -1;
    }

private:
    void serve()
    {
        while (!stop_) {
            pollfd pfd{listener_, POLLIN, 0};
            if (poll(&pfd, 1, 20) != 1)
                continue;
            const int conn = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (conn < 0)
                continue;
            std::string request;
            char buf[1024];
            const auto deadline = std::chrono::steady_clock::now() + 5s;
            while (request.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
                pollfd in{conn, POLLIN, 0};
                if (poll(&in, 1, 50) != 1)
                    continue;
                const ssize_t n = read(conn, buf, sizeof buf);
                if (n <= 0)
                    break;
                request.append(buf, static_cast<std::size_t>(n));
            }
            std::string lower = request;
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            std::string response;
            if (lower.rfind("get /config ", 0) != 0) {
                response = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            } else if (contains(lower, "if-none-match: \"v1\"")) {
                response = "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n";
                ++not_modified_;
            } else {
                response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"v1\"\r\nContent-Length: " +
                           std::to_string(document_.size()) + "\r\nConnection: close\r\n\r\n" + document_;
                ++ok_;
            }
            std::size_t sent = 0;
            while (sent < response.size()) {
                const ssize_t n = write(conn, response.data() + sent, response.size() - sent);
                if (n <= 0)
                    break;
                sent += static_cast<std::size_t>(n);
            }
            close(conn);
        }
    }

    std::string document_;
    std::string url_;
    int listener_ = -1;
    std::atomic<bool> stop_{false};
    std::atomic<int> ok_{0}, not_modified_{0};
    std::thread thread_;
};

/* ---- the API at compile time ---------------------------------------------- */

static_assert(!std::is_copy_constructible_v<Tracker> && !std::is_copy_assignable_v<Tracker>);
static_assert(std::is_nothrow_move_constructible_v<Tracker> && std::is_nothrow_move_assignable_v<Tracker>);
static_assert(std::is_nothrow_destructible_v<Tracker>);
static_assert(!std::is_copy_constructible_v<Config> && std::is_nothrow_move_constructible_v<Config>);
static_assert(!std::is_copy_constructible_v<HitList> && std::is_nothrow_move_constructible_v<HitList>);
static_assert(!std::is_copy_constructible_v<attracker::Hit> &&
              std::is_nothrow_move_constructible_v<attracker::Hit>);
static_assert(!std::is_copy_constructible_v<attracker::TransportRequest>);
static_assert(!std::is_copy_constructible_v<attracker::ExportedBatch>);
static_assert(std::is_base_of_v<std::runtime_error, attracker::Error>);
static_assert(std::is_same_v<attracker::Completion, std::function<void(Status)>>);
static_assert(std::is_same_v<attracker::DispatchCompletion, std::function<void(const DispatchResult &)>>);
static_assert(std::is_same_v<attracker::RemoteConfigCallback, std::function<void(const std::string &)>>);
static_assert(std::is_same_v<decltype(std::declval<Tracker &>().visitor_id()), attracker::Result<std::string>>);
static_assert(std::is_same_v<decltype(std::declval<Tracker &>().opt_out(OptOutPolicy::Keep)),
                             attracker::Result<std::uint64_t>>);
static_assert(std::is_same_v<decltype(std::declval<Tracker &>().remote_config_json()),
                             attracker::Result<std::optional<std::string>>>);
static_assert(static_cast<at_opt_out_policy>(OptOutPolicy::Keep) == AT_OPT_OUT_KEEP &&
              static_cast<at_opt_out_policy>(OptOutPolicy::Purge) == AT_OPT_OUT_PURGE);
static_assert(noexcept(std::declval<Tracker &>().poll()));
static_assert(noexcept(std::declval<HitView &>().message_id()));
static_assert(std::is_constructible_v<bool, Status> && !std::is_convertible_v<Status, bool>,
              "Status converts to bool explicitly only");

/* ---- tests ---------------------------------------------------------------- */

// Status style: every failure comes back as a Status / Result with the
// library's code and message; nothing throws.
void test_status_mode()
{
    TempDir dir;
    Tracker t = open_tracker(base_config(dir));

    const Status bad_json = t.track_event("evt", "{not json");
    CHECK(!bad_json && !bad_json.ok());
    CHECK(bad_json.code() == AT_ERR_INVALID_ARGUMENT && bad_json == AT_ERR_INVALID_ARGUMENT);
    CHECK_MSG(contains(bad_json.message(), "JSON"), "message: " << bad_json.message());
    CHECK(bad_json.to_string().rfind("AT_ERR_INVALID_ARGUMENT: ", 0) == 0);
    CHECK_STATUS(t.track_event("evt", "[1, 2]"), AT_ERR_INVALID_ARGUMENT); // not an object
    CHECK_STATUS(t.track_event(""), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(t.send_hit("not a url"), AT_ERR_INVALID_ARGUMENT);
    const Status nul = t.track_event(std::string_view("a\0b", 3));
    CHECK(nul.code() == AT_ERR_INVALID_ARGUMENT);
    CHECK_MSG(contains(nul.message(), "NUL"), "message: " << nul.message());
    CHECK_STATUS(t.offline_get_page(0, 0).status(), AT_ERR_INVALID_ARGUMENT);

    CHECK_OK(t.track_event("no_properties")); // nullopt: {}
    CHECK_OK(t.track_event("with_properties", std::string(R"({"a":1})")));
    CHECK_OK(t.send_hit("http://127.0.0.1:9/hit?x=1")); // no type
    attracker::Result<std::uint64_t> count = t.offline_count();
    CHECK(count.ok() && static_cast<bool>(count) && *count == 3);
    CHECK(t.offline_mode().ok() && *t.offline_mode() == OfflineMode::Always);
    {
        HitList all = t.offline_get().value();
        CHECK(all.size() == 3);
        CHECK(all[0].type() == "no_properties" && all[0].is_event());
        CHECK(all[1].body() == std::optional<std::string_view>(R"({"a":1})"));
        CHECK(all[2].type().empty() && !all[2].body() && all[2].url() == "http://127.0.0.1:9/hit?x=1");
        CHECK(!all[3]); // out of range: an empty view
    }

    CHECK_OK(t.set_tracking_enabled(false));
    CHECK_STATUS(t.track_event("suppressed"), AT_ERR_SUPPRESSED);
    CHECK_OK(t.set_tracking_enabled(true));
    CHECK_OK(t.set_network_reachable(false));
    CHECK_OK(t.set_network_reachable(true));
    CHECK_OK(t.sync());
    attracker::Result<attracker::Stats> stats = t.stats();
    CHECK(stats.ok() && stats->committed == 3 && stats->queued == 3);

    // Config: the first failing setter is kept, later ones still apply, and
    // Tracker::open reports it.
    Config bad;
    bad.storage_path("").endpoint("ftp://example.com").gzip(true);
    CHECK(!bad.ok() && bad.status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK_MSG(contains(bad.status().message(), "storage_path"), "message: " << bad.status().message());
    attracker::Result<Tracker> refused = Tracker::open(bad);
    CHECK(!refused.ok() && !refused && refused.status().code() == AT_ERR_INVALID_ARGUMENT);
    Config no_endpoint;
    no_endpoint.storage_path(dir.db("other.db"));
    attracker::Result<Tracker> missing = Tracker::open(no_endpoint);
    CHECK(missing.status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK_MSG(contains(missing.status().message(), "endpoint"), "message: " << missing.status().message());
    CHECK(Config().flush_interval(-1ms).status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().max_event_bytes(1).status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().api_key("has space").status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().offline_mode(static_cast<OfflineMode>(7)).status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().pinned_public_key("sha256//tooshort=").status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().ca_bundle_pem("no certificate").status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().ca_bundle_path(dir.db("missing.pem")).status().code() == AT_ERR_INVALID_ARGUMENT);
    {
        // Every setter, with valid values.
        Config all;
        all.storage_path(dir.db("all.db"))
            .endpoint("https://collect.example.com")
            .api_key("pk_live_123")
            .auth_scheme(attracker::AuthScheme::Basic)
            .offline_mode(OfflineMode::Required)
            .durability(attracker::Durability::Batched)
            .synchronous(attracker::Synchronous::Full)
            .flush_interval(0ms)
            .flush_threshold(0)
            .max_queue_size(100)
            .max_store_bytes(1 << 20)
            .max_event_bytes(4096)
            .max_attempts(5)
            .max_batch_events(50)
            .max_batch_bytes(100000)
            .gzip(true)
            .timeouts(1s, 5s)
            .commit_window(20ms)
            .busy_timeout(1s)
            .callback_mode(CallbackMode::Thread)
            .track_lifecycle_events(false)
            .flush_on_background(false)
            .remote_config_url("https://config.example.com/app.json")
            .remote_config_url(std::nullopt) // off again
            .remote_config_interval(60s)
            .add_allowed_endpoint_host("collect.example.com")
            .opt_out_policy(OptOutPolicy::Purge)
            .log_callback([](LogLevel, std::string_view) {}, LogLevel::Warn)
            .drop_callback([](DropReason, const std::vector<std::string_view> &) {})
            .remote_config_callback([](const std::string &) {})
            .log_callback(nullptr)
            .drop_callback(nullptr)
            .remote_config_callback(nullptr)
            .transport(nullptr)
            .ca_bundle_pem(std::nullopt)
            .ca_bundle_path(std::nullopt)
            .pinned_public_key(std::nullopt)
            .pinned_public_key("sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        CHECK_MSG(all.ok(), all.status().to_string());
        Tracker opened = open_tracker(all);
        CHECK(*opened.offline_mode() == OfflineMode::Required);
    }

    // A closed tracker: AT_ERR_CLOSED everywhere.
    CHECK_OK(t.close(1s));
    CHECK(t); // still a handle until destroyed
    CHECK_STATUS(t.track_event("late"), AT_ERR_CLOSED);
    CHECK_STATUS(t.close(), AT_ERR_CLOSED);
    CHECK_STATUS(t.offline_count().status(), AT_ERR_CLOSED);
    CHECK_STATUS(t.offline_mode().status(), AT_ERR_CLOSED);
    CHECK_STATUS(t.offline_dispatch(), AT_ERR_CLOSED);

    // An empty tracker: AT_ERR_NULL_ARGUMENT everywhere.
    Tracker empty;
    CHECK(!empty && empty.get() == nullptr);
    CHECK_STATUS(empty.track_event("x"), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(empty.offline_get().status(), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(empty.close(), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(empty.visitor_id().status(), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(empty.reset_visitor_id(), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(empty.set_visitor_id("x"), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(empty.opt_out(OptOutPolicy::Keep).status(), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(empty.remote_config_json().status(), AT_ERR_NULL_ARGUMENT);
    CHECK(empty.poll() == 0);
}

// Exception style: throw_if_error() and Result::value() throw attracker::Error
// with the code; on success they do not throw.
void test_exception_mode()
{
    TempDir dir;
    Tracker t = open_tracker(base_config(dir));

    CHECK_THROWS(t.track_event("evt", "{not json").throw_if_error(), AT_ERR_INVALID_ARGUMENT);
    CHECK_THROWS(t.offline_get_page(0, 0).value(), AT_ERR_INVALID_ARGUMENT);
    try {
        t.track_event("evt", "{").throw_if_error();
        fail(__FILE__, __LINE__, "no exception");
    } catch (const std::runtime_error &e) { // Error is a std::runtime_error
        CHECK(contains(e.what(), "JSON"));
    }

    Config bad;
    bad.storage_path(dir.db("x.db")).endpoint("not a url");
    CHECK_THROWS(Tracker::open(bad).value(), AT_ERR_INVALID_ARGUMENT);
    CHECK_THROWS(bad.status().throw_if_error(), AT_ERR_INVALID_ARGUMENT);

    t.track_event("fine", R"({"ok":true})").throw_if_error(); // no throw
    CHECK(t.offline_count().value() == 1);
    CHECK(t.offline_latest().value()->type() == "fine");

    t.close(500ms).throw_if_error();
    CHECK_THROWS(t.offline_count().value(), AT_ERR_CLOSED);
    CHECK_THROWS(t.track_event("late").throw_if_error(), AT_ERR_CLOSED);
    CHECK_THROWS(t.offline_dispatch().throw_if_error(), AT_ERR_CLOSED);
    CHECK(t.offline_count().value_or(42) == 42);

    Tracker empty;
    CHECK_THROWS(empty.sync().throw_if_error(), AT_ERR_NULL_ARGUMENT);
}

// RAII: the tracker's threads end and its callbacks are freed when it is
// destroyed; a completion pending then still runs exactly once; the config
// frees its own copies.
void test_raii()
{
    TempDir dir;
    const int threads_before = thread_count();
    auto token = std::make_shared<int>(0); // counts the live std::function copies
    std::atomic<int> pending_calls{0};
    {
        Config config = base_config(dir);
        config.log_callback([token](LogLevel, std::string_view) {}, LogLevel::Debug)
            .drop_callback([token](DropReason, const std::vector<std::string_view> &) {});
        CHECK_MSG(token.use_count() == 3, "use_count " << token.use_count()); // the config's two copies
        {
            Tracker t = open_tracker(config);
            CHECK_MSG(token.use_count() == 5, "use_count " << token.use_count()); // + the tracker's copies
            CHECK_MSG(thread_count() > threads_before, "threads " << thread_count() << " vs " << threads_before);
            CHECK_OK(t.track_event("a"));
            CHECK_OK(t.track_event("b"));
            HitList list = t.offline_get().value();
            std::optional<attracker::Hit> oldest = t.offline_oldest().value();
            CHECK(list.size() == 2 && oldest && oldest->type() == "a");
            CHECK_OK(t.set_offline_mode(OfflineMode::Always, [token, &pending_calls](Status) { ++pending_calls; }));
            // ~HitList, ~Hit, then ~Tracker (at_tracker_free) here.
        }
        CHECK_MSG(pending_calls == 1, "the pending completion ran " << pending_calls << " times");
        CHECK_MSG(token.use_count() == 3, "after ~Tracker, use_count " << token.use_count());
        CHECK_MSG(thread_count() == threads_before,
                  "after ~Tracker " << thread_count() << " threads, before " << threads_before);

        // reset() frees at once.
        Tracker t = open_tracker(config);
        CHECK(token.use_count() == 5);
        t.reset();
        CHECK(!t && token.use_count() == 3 && thread_count() == threads_before);
    }
    CHECK_MSG(token.use_count() == 1, "after ~Config, use_count " << token.use_count());
    CHECK(pending_calls == 1);
}

// Moves transfer ownership; the moved-from object is empty; move assignment
// frees what the target held.
void test_move_semantics()
{
    TempDir dir;
    const int threads_before = thread_count();
    auto token_a = std::make_shared<int>(0);
    auto token_b = std::make_shared<int>(0);

    Config config_a = base_config(dir);
    config_a.log_callback([token_a](LogLevel, std::string_view) {});
    Config moved_config(std::move(config_a));
    CHECK(config_a.get() == nullptr && moved_config.get() != nullptr);
    CHECK(token_a.use_count() == 2); // moved, not copied
    CHECK_STATUS(Tracker::open(config_a).status(), AT_ERR_NULL_ARGUMENT);
    CHECK(config_a.storage_path("x").status().code() == AT_ERR_NULL_ARGUMENT);

    Tracker a = open_tracker(moved_config);
    at_tracker *raw = a.get();
    CHECK(raw != nullptr && token_a.use_count() == 3);
    Tracker b(std::move(a));
    CHECK(!a && a.get() == nullptr && b.get() == raw);
    CHECK(token_a.use_count() == 3);
    CHECK_STATUS(a.track_event("x"), AT_ERR_NULL_ARGUMENT);
    CHECK_OK(b.track_event("x"));

    TempDir dir_b;
    Config config_b = base_config(dir_b);
    config_b.log_callback([token_b](LogLevel, std::string_view) {});
    Tracker c = open_tracker(config_b);
    CHECK(token_b.use_count() == 3);
    c = std::move(b); // frees c's tracker first
    CHECK(c.get() == raw && !b);
    CHECK_MSG(token_b.use_count() == 2, "c's old callbacks: use_count " << token_b.use_count());
    CHECK(token_a.use_count() == 3);
    Tracker &alias = c;
    c = std::move(alias); // self-move: no effect
    CHECK(c.get() == raw);
    CHECK(c.offline_count().value() == 1);

    // Result<Tracker> moves its tracker out.
    attracker::Result<Tracker> r = Tracker::open(config_b);
    CHECK(r.ok());
    Tracker d = std::move(r).value();
    CHECK(d && token_b.use_count() == 3);

    // HitList, Hit.
    CHECK_OK(c.track_event("y"));
    HitList list = c.offline_get().value();
    CHECK(list.size() == 2);
    HitList other(std::move(list));
    CHECK(list.size() == 0 && list.empty() && list.begin() == list.end() && other.size() == 2);
    list = std::move(other);
    CHECK(list.size() == 2 && other.empty());
    std::vector<std::string> types;
    for (HitView h : list)
        types.emplace_back(h.type());
    CHECK((types == std::vector<std::string>{"x", "y"}));
    std::optional<attracker::Hit> latest = c.offline_latest().value();
    CHECK(latest && latest->type() == "y");
    attracker::Hit hit(std::move(*latest));
    CHECK(!*latest && hit && hit.type() == "y");
    HitView view = hit; // a view of an owned hit
    CHECK(view.id() == hit.id() && view.message_id().size() == 36);

    c.reset();
    d.reset();
    CHECK(token_a.use_count() == 2 && token_b.use_count() == 2);
    CHECK(thread_count() == threads_before);
}

// Completions: called exactly once, with AT_OK, on the callback thread; the
// std::function is freed after its call, and at once when the call fails
// synchronously; a throwing completion is contained.
void test_completions()
{
    TempDir dir;
    Tracker t = open_tracker(base_config(dir));
    const std::thread::id main_thread = std::this_thread::get_id();
    auto token = std::make_shared<int>(0);

    struct Record {
        std::mutex mu;
        int calls = 0;
        int not_ok = 0;
        int on_main_thread = 0;
        DispatchResult flush_result;
    };
    auto rec = std::make_shared<Record>();
    auto completion = [token, rec, main_thread](Status s) {
        std::lock_guard<std::mutex> lock(rec->mu);
        rec->calls++;
        rec->not_ok += s.ok() ? 0 : 1;
        rec->on_main_thread += std::this_thread::get_id() == main_thread ? 1 : 0;
    };

    const int events = 20;
    for (int i = 0; i < events; i++)
        CHECK_OK(t.track_event("evt", R"({"i":)" + std::to_string(i) + "}", completion));
    CHECK_OK(t.send_hit("http://127.0.0.1:9/h", "screen", completion));
    CHECK_OK(t.set_offline_mode(OfflineMode::Always, completion));
    std::promise<DispatchResult> flushed;
    std::future<DispatchResult> flushed_future = flushed.get_future();
    CHECK_OK(t.flush([token, &flushed](const DispatchResult &r) { flushed.set_value(r); }));
    const DispatchResult fr = get_within(flushed_future, "flush");
    CHECK_MSG(fr.ok() && fr.sent == 0, "ALWAYS mode: flush sends nothing: " << fr.status.to_string());

    // A throwing completion does not stop the others.
    CHECK_OK(t.track_event("throws", std::nullopt, [](Status) { throw std::runtime_error("user bug"); }));
    CHECK_OK(t.track_event("after", std::nullopt, completion));

    const int expected = events + 3;
    CHECK(wait_until([&] {
        std::lock_guard<std::mutex> lock(rec->mu);
        return rec->calls >= expected;
    }));

    // Synchronous failures: never called, freed before the call returns.
    const long live = token.use_count();
    CHECK_STATUS(t.track_event("evt", "{bad", completion), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(t.track_event(std::string("nul\0", 4), std::nullopt, completion), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(t.send_hit("ftp://x", std::nullopt, completion), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(t.set_offline_mode(static_cast<OfflineMode>(9), completion), AT_ERR_INVALID_ARGUMENT);
    CHECK_MSG(token.use_count() <= live, "a failed call kept its std::function: " << token.use_count());

    CHECK_OK(t.close(2s)); // joins the callback thread: every trampoline has returned
    CHECK_STATUS(t.offline_dispatch([token](const DispatchResult &) {}), AT_ERR_CLOSED);
    CHECK_STATUS(t.track_event("late", std::nullopt, completion), AT_ERR_CLOSED);
    {
        std::lock_guard<std::mutex> lock(rec->mu);
        CHECK_MSG(rec->calls == expected, "calls " << rec->calls << ", expected " << expected);
        CHECK(rec->not_ok == 0);
        CHECK_MSG(rec->on_main_thread == 0, "thread mode: completions run on the callback thread");
    }
    // Only our local `completion` lambda still holds the token: every
    // std::function given to the library was freed after its single call.
    CHECK_MSG(token.use_count() == 2, "use_count " << token.use_count());
    t.reset();
    CHECK(rec->calls == expected);
    CHECK(t.poll() == 0);
}

// Polled mode: callbacks wait for poll() and run on the polling thread; those
// still pending run inside the destructor, on the destroying thread.
void test_polled_mode()
{
    TempDir dir;
    const std::thread::id main_thread = std::this_thread::get_id();
    std::atomic<int> calls{0}, off_thread{0}, log_lines{0}, threw{0};

    Config config = base_config(dir);
    config.callback_mode(CallbackMode::Polled)
        .log_callback(
            [&](LogLevel, std::string_view) {
                ++log_lines;
                off_thread += std::this_thread::get_id() == main_thread ? 0 : 1;
            },
            LogLevel::Debug);
    {
        Tracker t = open_tracker(config);
        auto completion = [&](Status s) {
            CHECK(s.ok());
            ++calls;
            off_thread += std::this_thread::get_id() == main_thread ? 0 : 1;
        };
        for (int i = 0; i < 3; i++)
            CHECK_OK(t.track_event("polled", std::nullopt, completion));
        CHECK_OK(t.set_offline_mode(OfflineMode::Always, completion)); // logs "offline mode set to"
        CHECK_OK(t.track_event("throws", std::nullopt, [&](Status) {
            ++threw;
            throw std::logic_error("user bug"); // contained: poll() is noexcept
        }));
        CHECK_OK(t.sync());
        std::this_thread::sleep_for(100ms);
        CHECK_MSG(calls == 0 && log_lines == 0 && threw == 0, "nothing may run before poll(): " << calls << " calls");

        std::uint32_t ran = 0;
        CHECK(wait_until([&] {
            const std::uint32_t one = t.poll(1); // at most one at a time
            CHECK(one <= 1);
            ran += one;
            return calls == 4 && threw == 1 && log_lines >= 1;
        }));
        ran += t.poll();
        CHECK_MSG(ran >= 6, "poll ran " << ran); // 4 completions, the throwing one, a log line
        CHECK(t.poll() == 0);
        CHECK_MSG(off_thread == 0, off_thread << " callbacks ran off the polling thread");

        CHECK_OK(t.track_event("pending", std::nullopt, completion));
        CHECK_OK(t.sync());
        // ~Tracker: the pending completion runs inside at_tracker_free.
    }
    CHECK_MSG(calls == 5, "calls " << calls);
    CHECK(off_thread == 0);
}

// A completion may destroy its own Tracker. The log/drop callbacks stay valid
// for whatever the library still runs after at_tracker_free returns.
void test_destroy_from_completion()
{
    // A listener that never accepts: NEVER-mode sends hang until close.
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(listener >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    CHECK(bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
    CHECK(listen(listener, 16) == 0);
    CHECK(getsockname(listener, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
    const std::string endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

    struct Shared {
        std::mutex mu;
        std::size_t dropped = 0;
        int after_destroy = 0;
        bool destroyed = false;
    };
    auto shared = std::make_shared<Shared>();
    TempDir dir;
    Config config = base_config(dir, endpoint, OfflineMode::Never);
    config.timeouts(5s, 30s)
        .drop_callback([shared](DropReason, const std::vector<std::string_view> &ids) {
            std::lock_guard<std::mutex> lock(shared->mu);
            shared->dropped += ids.size();
            shared->after_destroy += shared->destroyed ? 1 : 0;
        })
        .log_callback(
            [shared](LogLevel, std::string_view) {
                std::lock_guard<std::mutex> lock(shared->mu);
                shared->after_destroy += shared->destroyed ? 1 : 0;
            },
            LogLevel::Debug);

    auto holder = std::make_shared<std::optional<Tracker>>(open_tracker(config));
    for (int i = 0; i < 5; i++)
        CHECK_OK((*holder)->track_event("never"));
    std::this_thread::sleep_for(100ms); // the send is in flight
    std::promise<void> destroyed;
    std::future<void> destroyed_future = destroyed.get_future();
    CHECK_OK((*holder)->set_offline_mode(OfflineMode::Never, [holder, shared, &destroyed](Status) {
        holder->reset(); // ~Tracker on the callback thread
        {
            std::lock_guard<std::mutex> lock(shared->mu);
            shared->destroyed = true;
        }
        destroyed.set_value();
    }));
    get_within(destroyed_future, "the destroying completion");
    CHECK(wait_until([&] {
        std::lock_guard<std::mutex> lock(shared->mu);
        return shared->dropped == 5;
    }));
    std::this_thread::sleep_for(50ms);
    close(listener);
    std::lock_guard<std::mutex> lock(shared->mu);
    std::cout << "    (" << shared->after_destroy
              << " log/drop callback(s) ran after at_tracker_free had returned)\n";
}

// The collector: paging, oldest/latest, a dispatch that sends every hit,
// deletes with their drop reports, and log lines.
void test_collector_dispatch(const std::string &collector_binary)
{
    const int events = 3, url_hits = 2, total = events + url_hits;
    CollectorProcess collector(collector_binary, total);
    {
        std::lock_guard<std::mutex> lock(g_cleanup_mu);
        g_collector = &collector;
    }
    struct Record {
        std::mutex mu;
        std::vector<std::string> lines;
        std::vector<std::string> deleted_ids;
        int other_drops = 0;
    };
    auto rec = std::make_shared<Record>();
    TempDir dir;
    Config config = base_config(dir, collector.url(), OfflineMode::Required);
    config.flush_threshold(0)
        .flush_interval(0ms)
        .log_callback(
            [rec](LogLevel level, std::string_view line) {
                std::lock_guard<std::mutex> lock(rec->mu);
                rec->lines.push_back(std::string(attracker::to_string(level)) + " " + std::string(line));
            },
            LogLevel::Debug)
        .drop_callback([rec](DropReason reason, const std::vector<std::string_view> &ids) {
            std::lock_guard<std::mutex> lock(rec->mu);
            if (reason == DropReason::Deleted)
                rec->deleted_ids.insert(rec->deleted_ids.end(), ids.begin(), ids.end());
            else
                rec->other_drops++;
        });
    Tracker t = open_tracker(config);
    CHECK_OK(t.set_offline_mode(OfflineMode::Always)); // logs a line

    const auto before = std::chrono::system_clock::now() - 1s;
    for (int i = 0; i < events; i++)
        CHECK_OK(t.track_event("cpp_event", R"({"n":)" + std::to_string(i) + "}"));
    for (int i = 0; i < url_hits; i++)
        CHECK_OK(t.send_hit(collector.url() + "/hit?n=" + std::to_string(i), "screen"));
    const auto after = std::chrono::system_clock::now() + 1s;
    CHECK(t.offline_count().value() == static_cast<std::uint64_t>(total));

    // Paging: 2 + 2 + 1, then an empty page.
    std::vector<std::uint64_t> ids;
    std::vector<std::size_t> page_sizes;
    std::set<std::string> message_ids;
    std::uint64_t cursor = 0;
    for (;;) {
        HitList page = t.offline_get_page(cursor, 2).value();
        if (page.empty())
            break;
        page_sizes.push_back(page.size());
        for (HitView h : page) {
            CHECK(ids.empty() || h.id() > ids.back());
            ids.push_back(h.id());
            message_ids.emplace(h.message_id());
            CHECK(h.is_offline() && h.retry_count() == 0);
            CHECK(h.created() >= before && h.created() <= after);
            if (h.is_event()) {
                CHECK(h.type() == "cpp_event" && contains(*h.body(), "\"n\":"));
                CHECK(h.url() == collector.url() + "/v1/batch");
            } else {
                CHECK(h.type() == "screen" && !h.body() && contains(h.url(), "/hit?n="));
            }
        }
        cursor = page.back().id();
    }
    CHECK((page_sizes == std::vector<std::size_t>{2, 2, 1}));
    CHECK(message_ids.size() == static_cast<std::size_t>(total));
    CHECK(t.offline_oldest().value()->id() == ids.front());
    CHECK(t.offline_latest().value()->id() == ids.back());

    // Dispatch: the completion signals a promise.
    std::promise<DispatchResult> done;
    std::future<DispatchResult> result = done.get_future();
    CHECK_OK(t.offline_dispatch([&done](const DispatchResult &r) { done.set_value(r); }));
    const DispatchResult r = get_within(result, "offline_dispatch");
    CHECK_MSG(r.ok(), "dispatch status " << r.status.to_string());
    CHECK_MSG(r.sent == static_cast<std::uint64_t>(total) && r.failed == 0 && r.dropped == 0,
              "sent " << r.sent << " failed " << r.failed << " dropped " << r.dropped);
    CHECK(t.offline_count().value() == 0);
    CHECK(!t.offline_oldest().value().has_value() && !t.offline_latest().value().has_value());
    const attracker::Stats stats = t.stats().value();
    CHECK(stats.sent == static_cast<std::uint64_t>(total) && stats.requests >= 3);
    CHECK_MSG(collector.wait_exit(15s), "the collector did not see " << total << " hits:\n" << collector.output());
    CHECK(contains(collector.output(), "cpp_event"));

    // Deletes, reported to the drop callback.
    CHECK_OK(t.track_event("old"));
    CHECK_OK(t.track_event("older"));
    CHECK(t.offline_delete_older_than_days(30).value() == 0);
    CHECK(t.offline_delete_older_than(std::chrono::system_clock::now() + 1s).value() == 2);
    CHECK_OK(t.track_event("last"));
    CHECK(t.offline_delete().value() == 1);
    CHECK(t.offline_count().value() == 0);
    CHECK(wait_until([&] {
        std::lock_guard<std::mutex> lock(rec->mu);
        return rec->deleted_ids.size() == 3;
    }));

    t.reset();
    std::lock_guard<std::mutex> lock(rec->mu);
    CHECK(rec->other_drops == 0);
    for (const std::string &id : rec->deleted_ids)
        CHECK(id.size() == 36 && message_ids.count(id) == 0);
    CHECK_MSG(!rec->lines.empty(), "the log callback received no line");
    const bool mode_line = std::any_of(rec->lines.begin(), rec->lines.end(),
                                       [](const std::string &l) { return contains(l, "offline mode set to"); });
    CHECK_MSG(mode_line, "no \"offline mode set to\" line among " << rec->lines.size());
    std::lock_guard<std::mutex> cleanup(g_cleanup_mu);
    g_collector = nullptr;
}

// The host transport: requests reach a C++ lambda as TransportRequest; a
// request dropped without an answer ends as unreachable at once.
void test_host_transport()
{
    struct Seen {
        std::mutex mu;
        std::vector<std::string> methods, urls, bodies;
        bool content_type = false;
    };
    auto seen = std::make_shared<Seen>();
    TempDir dir;
    Config config = base_config(dir, "https://collect.example.com");
    config.transport([seen](attracker::TransportRequest request) {
        {
            std::lock_guard<std::mutex> lock(seen->mu);
            seen->methods.emplace_back(request.method());
            seen->urls.emplace_back(request.url());
            seen->bodies.emplace_back(request.body());
            for (auto [name, value] : request.headers())
                if (name == "Content-Type" && contains(value, "json"))
                    seen->content_type = true;
        }
        // Answered from another thread, as a real HTTP stack would.
        std::thread([r = std::move(request)]() mutable { (void)r.complete(200); }).detach();
    });
    Tracker t = open_tracker(config);
    CHECK_OK(t.track_event("via_host", R"({"k":"v"})"));
    CHECK_OK(t.send_hit("https://logs.example.com/hit?p=1", "screen"));
    std::promise<DispatchResult> done;
    std::future<DispatchResult> result = done.get_future();
    CHECK_OK(t.offline_dispatch([&done](const DispatchResult &r) { done.set_value(r); }));
    const DispatchResult r = get_within(result, "dispatch through the host transport");
    CHECK_MSG(r.ok() && r.sent == 2, r.status.to_string() << " sent " << r.sent);
    {
        std::lock_guard<std::mutex> lock(seen->mu);
        CHECK(seen->methods.size() == 2);
        for (std::size_t i = 0; i < seen->methods.size(); i++) {
            if (seen->methods[i] == "POST")
                CHECK(seen->urls[i] == "https://collect.example.com/v1/batch" && contains(seen->bodies[i], "via_host"));
            else
                CHECK(seen->methods[i] == "GET" && seen->urls[i] == "https://logs.example.com/hit?p=1");
        }
        CHECK(seen->content_type);
    }
    t.reset();

    // A transport that drops its request: ~TransportRequest ends it as
    // unreachable, well before the 30 s request timeout.
    TempDir dir2;
    Config dropping = base_config(dir2, "https://collect.example.com");
    dropping.transport([](attracker::TransportRequest) {});
    Tracker t2 = open_tracker(dropping);
    CHECK_OK(t2.track_event("dropped_by_host"));
    std::promise<DispatchResult> done2;
    std::future<DispatchResult> result2 = done2.get_future();
    const auto start = std::chrono::steady_clock::now();
    CHECK_OK(t2.offline_dispatch([&done2](const DispatchResult &res) { done2.set_value(res); }));
    CHECK_MSG(result2.wait_for(10s) == std::future_status::ready, "the dropped request was not ended");
    const DispatchResult r2 = result2.get();
    CHECK_MSG(r2.status.code() == AT_ERR_NETWORK && r2.sent == 0 && r2.failed == 0,
              r2.status.to_string() << " failed " << r2.failed);
    CHECK(std::chrono::steady_clock::now() - start < 10s);
    CHECK(t2.offline_count().value() == 1); // still stored
}

// Exported batches: leased, acknowledged, given back when dropped.
void test_exported_batches()
{
    TempDir dir;
    Tracker t = open_tracker(base_config(dir, "https://collect.example.com"));
    CHECK(!t.offline_export_batch().value().has_value()); // nothing stored
    CHECK_OK(t.track_event("exported_1"));
    CHECK_OK(t.track_event("exported_2"));
    {
        std::optional<attracker::ExportedBatch> batch = t.offline_export_batch().value();
        CHECK(batch && batch->method() == "POST" && contains(batch->body(), "exported_2"));
        CHECK(!t.offline_export_batch().value().has_value()); // leased: not exported twice
        // ~ExportedBatch without ack: the events go back to the queue.
    }
    std::optional<attracker::ExportedBatch> again = t.offline_export_batch().value();
    CHECK(again.has_value());
    attracker::ExportedBatch moved(std::move(*again));
    CHECK(!*again && moved);
    CHECK_OK(moved.ack(true));
    CHECK(!moved);
    CHECK(t.offline_count().value() == 0);

    // Acked after close: AT_ERR_CLOSED, and the batch is freed all the same.
    CHECK_OK(t.track_event("exported_3"));
    std::optional<attracker::ExportedBatch> late = t.offline_export_batch().value();
    CHECK(late.has_value());
    CHECK_OK(t.close(1s));
    CHECK_STATUS(late->ack(true), AT_ERR_CLOSED);
    CHECK(!*late);
}

// Lifecycle notifications: background (with its completion) and foreground
// record their events.
void test_lifecycle()
{
    TempDir dir;
    Tracker t = open_tracker(base_config(dir));
    std::promise<DispatchResult> done;
    std::future<DispatchResult> result = done.get_future();
    CHECK_OK(t.app_did_enter_background(2s, [&done](const DispatchResult &r) { done.set_value(r); }));
    const DispatchResult r = get_within(result, "app_did_enter_background");
    CHECK_MSG(r.status.code() == AT_OK || r.status.code() == AT_ERR_CANCELLED, r.status.to_string());
    CHECK_OK(t.app_will_enter_foreground());
    CHECK_OK(t.sync());
    std::vector<std::string> types;
    for (HitView h : t.offline_get().value())
        types.emplace_back(h.type());
    CHECK_MSG((types == std::vector<std::string>{"Application Backgrounded", "Application Opened"}),
              types.size() << " hit(s)");
    CHECK_STATUS(t.app_did_enter_background(-1ms), AT_ERR_INVALID_ARGUMENT);
}

// Visitor identity: a UUID v4 kept in the store, reset to a new one, replaced
// by the host's own; a refused id changes nothing; the id survives reopening.
void test_visitor_id()
{
    TempDir dir;
    std::string first, second;
    {
        Tracker t = open_tracker(base_config(dir));
        attracker::Result<std::string> id = t.visitor_id();
        CHECK_MSG(id.ok(), id.status().to_string());
        first = *id;
        CHECK_MSG(first.size() == 36 && first[8] == '-' && first[14] == '4', "visitor id " << first);
        CHECK(t.visitor_id().value() == first); // stable

        CHECK_OK(t.reset_visitor_id());
        second = t.visitor_id().value();
        CHECK_MSG(second.size() == 36 && second != first, first << " then " << second);

        // Refused: empty, control characters, an embedded NUL, more than 128
        // bytes, not UTF-8. The id stays what it was.
        const Status empty = t.set_visitor_id("");
        CHECK(empty.code() == AT_ERR_INVALID_ARGUMENT && !empty.message().empty());
        CHECK_STATUS(t.set_visitor_id("tab\there"), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.set_visitor_id(std::string_view("a\0b", 3)), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.set_visitor_id(std::string(129, 'x')), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.set_visitor_id("\xff\xfe"), AT_ERR_INVALID_ARGUMENT);
        CHECK_THROWS(t.set_visitor_id("").throw_if_error(), AT_ERR_INVALID_ARGUMENT);
        CHECK_MSG(t.visitor_id().value() == second, "a refused id changed it to " << t.visitor_id().value());

        CHECK_OK(t.set_visitor_id(std::string(128, 'y'))); // the longest accepted
        CHECK(t.visitor_id().value() == std::string(128, 'y'));
        const std::string user = "user-42";
        CHECK_OK(t.set_visitor_id(user)); // a std::string
        CHECK(t.visitor_id().value() == user);
        CHECK_OK(t.track_event("as_user_42"));
    }
    {
        // Kept in the store: the next tracker on it has the same id.
        Tracker t = open_tracker(base_config(dir));
        CHECK_MSG(t.visitor_id().value() == "user-42", "after reopening: " << t.visitor_id().value());
        CHECK_OK(t.reset_visitor_id());
        second = t.visitor_id().value();
        CHECK(second.size() == 36 && second != first);
    }
    {
        Tracker t = open_tracker(base_config(dir));
        CHECK(t.visitor_id().value() == second); // a reset id is kept too
        CHECK_OK(t.close(1s));
        CHECK_STATUS(t.visitor_id().status(), AT_ERR_CLOSED);
        CHECK_THROWS(t.visitor_id().value(), AT_ERR_CLOSED);
        CHECK_STATUS(t.reset_visitor_id(), AT_ERR_CLOSED);
        CHECK_STATUS(t.set_visitor_id("late"), AT_ERR_CLOSED);
    }
}

// Opting out: Keep leaves the queue, Purge deletes it (reported as Deleted)
// and returns how many; the configured policy applies to
// set_tracking_enabled(false).
void test_opt_out()
{
    struct Record {
        std::mutex mu;
        std::size_t deleted = 0;
        int other = 0;
    };
    auto rec = std::make_shared<Record>();
    TempDir dir;
    Config config = base_config(dir);
    config.opt_out_policy(OptOutPolicy::Purge).drop_callback(
        [rec](DropReason reason, const std::vector<std::string_view> &ids) {
            std::lock_guard<std::mutex> lock(rec->mu);
            if (reason == DropReason::Deleted)
                rec->deleted += ids.size();
            else
                rec->other++;
        });
    CHECK_MSG(config.ok(), config.status().to_string());
    Tracker t = open_tracker(config);
    for (int i = 0; i < 4; i++)
        CHECK_OK(t.track_event("queued"));

    CHECK_STATUS(t.opt_out(static_cast<OptOutPolicy>(9)).status(), AT_ERR_INVALID_ARGUMENT);
    CHECK_OK(t.track_event("still_collecting")); // a refused opt-out changes nothing
    CHECK(t.offline_count().value() == 5);

    attracker::Result<std::uint64_t> kept = t.opt_out(OptOutPolicy::Keep);
    CHECK_MSG(kept.ok() && *kept == 0, kept.status().to_string());
    CHECK(t.offline_count().value() == 5);
    CHECK_STATUS(t.track_event("after_opt_out"), AT_ERR_SUPPRESSED);

    // Already opted out: Purge now deletes what Keep left.
    CHECK(t.opt_out(OptOutPolicy::Purge).value() == 5);
    CHECK(t.offline_count().value() == 0);
    CHECK(t.opt_out(OptOutPolicy::Purge).value() == 0); // nothing left
    CHECK_STATUS(t.track_event("after_purge"), AT_ERR_SUPPRESSED);

    // Opting back in; then the configured policy (Purge) on set_tracking_enabled(false).
    CHECK_OK(t.set_tracking_enabled(true));
    CHECK_OK(t.track_event("back_in"));
    CHECK_OK(t.track_event("back_in_2"));
    CHECK(t.offline_count().value() == 2);
    CHECK_OK(t.set_tracking_enabled(false));
    CHECK(t.offline_count().value() == 0);
    CHECK(wait_until([&] {
        std::lock_guard<std::mutex> lock(rec->mu);
        return rec->deleted == 7;
    }));
    CHECK(t.stats().value().deleted == 7);

    CHECK_OK(t.close(1s));
    CHECK_STATUS(t.opt_out(OptOutPolicy::Purge).status(), AT_ERR_CLOSED);
    CHECK_THROWS(t.opt_out(OptOutPolicy::Keep).value(), AT_ERR_CLOSED);
    std::lock_guard<std::mutex> lock(rec->mu);
    CHECK(rec->deleted == 7 && rec->other == 0);
}

// Remote configuration: the setters' checks, no document without a URL, and a
// document fetched from a server: given to the callback once, returned by
// remote_config_json, and cached for the next tracker on the store.
void test_remote_config()
{
    // The setters refuse bad values (the first failure is kept).
    CHECK(Config().remote_config_url("ftp://x").status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK_MSG(contains(Config().remote_config_url("ftp://x").status().message(), "remote config URL"),
              Config().remote_config_url("ftp://x").status().message());
    CHECK(Config().remote_config_url("not a url").status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().remote_config_url(std::string_view("https://x/\0", 11)).status().code() ==
          AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().remote_config_interval(99ms).status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().remote_config_interval(-1ms).status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().add_allowed_endpoint_host("https://x").status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().add_allowed_endpoint_host("x.example.com/path").status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().opt_out_policy(static_cast<OptOutPolicy>(7)).status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK_THROWS(Config().remote_config_interval(99ms).status().throw_if_error(), AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().remote_config_url(std::nullopt).remote_config_interval(100ms).add_allowed_endpoint_host("x").ok());

    // No URL: no document.
    {
        TempDir dir;
        Tracker t = open_tracker(base_config(dir));
        attracker::Result<std::optional<std::string>> none = t.remote_config_json();
        CHECK_MSG(none.ok() && !none->has_value(), none.status().to_string());
        CHECK_OK(t.close(1s));
        CHECK_STATUS(t.remote_config_json().status(), AT_ERR_CLOSED);
    }

    // A served document: the host's own keys come back verbatim.
    const std::string document = R"({"schema_version":1,"flush_threshold":5,"host":{"theme":"dark","n":[1,2]}})";
    ConfigServer server(document);
    TempDir dir;
    struct Record {
        std::mutex mu;
        std::vector<std::string> documents;
        int on_main_thread = 0;
    };
    auto rec = std::make_shared<Record>();
    auto token = std::make_shared<int>(0);
    const std::thread::id main_thread = std::this_thread::get_id();
    {
        Config config = base_config(dir);
        config.remote_config_url(server.url())
            .remote_config_interval(100ms)
            .remote_config_callback([rec, token, main_thread](const std::string &json) {
                std::lock_guard<std::mutex> lock(rec->mu);
                rec->documents.push_back(json);
                rec->on_main_thread += std::this_thread::get_id() == main_thread ? 1 : 0;
            });
        CHECK_MSG(config.ok(), config.status().to_string());
        CHECK(token.use_count() == 2); // the config's copy
        {
            Tracker t = open_tracker(config);
            CHECK(token.use_count() == 3); // + the tracker's
            CHECK(wait_until([&] {
                std::lock_guard<std::mutex> lock(rec->mu);
                return !rec->documents.empty();
            }));
            CHECK(t.remote_config_json().value() == std::optional<std::string>(document));
            // Fetched again every 100 ms: 304 Not Modified, no further call.
            CHECK_MSG(wait_until([&] { return server.answered_304() >= 2; }), server.answered_304() << " 304s");
            std::lock_guard<std::mutex> lock(rec->mu);
            CHECK_MSG(rec->documents.size() == 1, rec->documents.size() << " callback calls");
            CHECK(rec->documents[0] == document);
            CHECK(rec->on_main_thread == 0);
        }
        CHECK_MSG(token.use_count() == 2, "after ~Tracker, use_count " << token.use_count());

        // The cached document is in force from the start of the next tracker,
        // with the server gone; the callback does not hear of it.
        server.stop();
        Tracker t = open_tracker(config);
        CHECK(t.remote_config_json().value() == std::optional<std::string>(document));
        std::this_thread::sleep_for(200ms);
        std::lock_guard<std::mutex> lock(rec->mu);
        CHECK_MSG(rec->documents.size() == 1, rec->documents.size() << " callback calls");
    }
    CHECK_MSG(token.use_count() == 1, "after ~Config, use_count " << token.use_count());
    CHECK(server.answered_200() == 1);
}

/* ---- delivery policy, answered by a host transport (no network) ---------- */

// Dispatches and waits (30 s at most) for the tally.
DispatchResult dispatch_and_wait(Tracker &t, const char *what)
{
    std::promise<DispatchResult> done;
    std::future<DispatchResult> result = done.get_future();
    CHECK_OK(t.offline_dispatch([&done](const DispatchResult &r) { done.set_value(r); }));
    return get_within(result, what);
}

// A refused key (401): the hits are kept, sending pauses (flush says
// AT_ERR_KEY_REJECTED, no request), Stats::key_rejected and last_send_error
// say why; set_api_key resumes automatic sending and the kept hits are
// delivered with the new key.
void test_key_rejected()
{
    struct Seen {
        std::mutex mu;
        std::vector<std::string> auths;
    };
    auto seen = std::make_shared<Seen>();
    TempDir dir;
    // Required, without timer or threshold: only the new key sends by itself.
    Config config = base_config(dir, "https://collect.example.com", OfflineMode::Required);
    config.api_key("pk_wrong").flush_interval(0ms).flush_threshold(0);
    config.transport([seen](attracker::TransportRequest request) {
        std::string auth;
        for (auto [name, value] : request.headers())
            if (name == "Authorization")
                auth = std::string(value);
        {
            std::lock_guard<std::mutex> lock(seen->mu);
            seen->auths.push_back(auth);
        }
        (void)request.set_response_content_type("application/json");
        (void)request.complete(auth == "Bearer pk_right" ? 200 : 401);
    });
    Tracker t = open_tracker(config);
    CHECK(!t.last_send_error().value().has_value());
    CHECK_OK(t.track_event("k1"));
    CHECK_OK(t.track_event("k2"));

    DispatchResult r = dispatch_and_wait(t, "dispatch with a refused key");
    CHECK_MSG(r.status.code() == AT_ERR_KEY_REJECTED, r.status.to_string());
    CHECK(r.sent == 0 && r.failed == 0 && r.dropped == 0);
    CHECK(t.offline_count().value() == 2);
    CHECK(t.offline_oldest().value()->retry_count() == 0); // a refused key is no attempt
    CHECK_MSG(t.stats().value().key_rejected == 401, t.stats().value().key_rejected);
    const std::optional<std::string> why = t.last_send_error().value();
    CHECK_MSG(why && contains(*why, "401"), (why ? *why : std::string("(none)")));

    std::promise<DispatchResult> flushed;
    std::future<DispatchResult> flush_result = flushed.get_future();
    CHECK_OK(t.flush([&flushed](const DispatchResult &f) { flushed.set_value(f); }));
    const DispatchResult f = get_within(flush_result, "flush while paused");
    CHECK_MSG(f.status.code() == AT_ERR_KEY_REJECTED, f.status.to_string());
    {
        std::lock_guard<std::mutex> lock(seen->mu);
        CHECK_MSG(seen->auths.size() == 1, seen->auths.size() << " requests");
        CHECK(seen->auths[0] == "Bearer pk_wrong");
    }

    CHECK_STATUS(t.set_api_key("has space"), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(t.set_api_key(std::string_view("nul\0key", 7)), AT_ERR_INVALID_ARGUMENT);
    CHECK(t.stats().value().key_rejected == 401); // refused keys change nothing
    CHECK_OK(t.set_api_key("pk_right"));
    CHECK_MSG(wait_until([&] { return t.offline_count().value() == 0; }), "the kept hits were not sent");
    const attracker::Stats after = t.stats().value();
    CHECK_MSG(after.key_rejected == 0 && after.sent == 2, "key_rejected " << after.key_rejected << " sent " << after.sent);
    CHECK(!t.last_send_error().value().has_value());
    {
        std::lock_guard<std::mutex> lock(seen->mu);
        CHECK(seen->auths.back() == "Bearer pk_right");
    }

    CHECK_OK(t.close(1s));
    CHECK_STATUS(t.set_api_key("pk_late"), AT_ERR_CLOSED);
    CHECK_STATUS(t.last_send_error().status(), AT_ERR_CLOSED);
    Tracker empty;
    CHECK_STATUS(empty.set_api_key("k"), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(empty.last_send_error().status(), AT_ERR_NULL_ARGUMENT);
}

// A captive portal's page (200, text/html) is no acknowledgement: the hits
// stay, no attempt is counted, Stats::not_reached grows; the same 200 as
// JSON delivers them.
void test_portal_page()
{
    auto answer_type = std::make_shared<std::string>("text/html; charset=utf-8");
    auto type_mu = std::make_shared<std::mutex>();
    TempDir dir;
    Config config = base_config(dir, "https://collect.example.com");
    config.max_attempts(1); // a counted attempt would drop the hits at once
    config.transport([answer_type, type_mu](attracker::TransportRequest request) {
        std::string type;
        {
            std::lock_guard<std::mutex> lock(*type_mu);
            type = *answer_type;
        }
        (void)request.set_response_content_type(type);
        (void)request.complete(200);
    });
    Tracker t = open_tracker(config);
    CHECK_OK(t.track_event("p1"));
    CHECK_OK(t.track_event("p2"));

    DispatchResult r = dispatch_and_wait(t, "dispatch answered by a portal");
    CHECK_MSG(r.status.code() == AT_ERR_NETWORK, r.status.to_string());
    CHECK(r.sent == 0 && r.failed == 0 && r.dropped == 0);
    CHECK(t.offline_count().value() == 2);
    CHECK(t.offline_oldest().value()->retry_count() == 0);
    const attracker::Stats s = t.stats().value();
    CHECK_MSG(s.not_reached >= 1 && s.sent == 0, "not_reached " << s.not_reached << " sent " << s.sent);
    CHECK(t.last_send_error().value().has_value());

    {
        std::lock_guard<std::mutex> lock(*type_mu);
        *answer_type = "application/json";
    }
    r = dispatch_and_wait(t, "dispatch answered by the collector");
    CHECK_MSG(r.ok() && r.sent == 2, r.status.to_string() << " sent " << r.sent);
    CHECK(t.offline_count().value() == 0);
    CHECK(!t.last_send_error().value().has_value());

    // A moved-from request has nothing to report on.
    attracker::TransportRequest none;
    CHECK_STATUS(none.set_response_content_type("text/html"), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(none.set_response_content_type(std::string_view("a\0b", 3)), AT_ERR_INVALID_ARGUMENT);
}

// The defaults keep a failing hit (unlimited attempts, 30 days); max_hit_age
// drops it as DropReason::Expired once it fails past the limit.
void test_max_hit_age()
{
    TempDir dir;
    Config config = base_config(dir, "https://collect.example.com");
    config.transport([](attracker::TransportRequest request) {
        (void)request.set_response_content_type("application/json");
        (void)request.complete(503);
    });
    {
        Tracker t = open_tracker(config);
        CHECK_OK(t.track_event("old"));
        for (int i = 1; i <= 4; i++) {
            const DispatchResult r = dispatch_and_wait(t, "failing dispatch");
            CHECK_MSG(r.status.code() == AT_ERR_NETWORK && r.failed == 1 && r.dropped == 0,
                      "dispatch " << i << ": " << r.status.to_string() << " failed " << r.failed << " dropped "
                                  << r.dropped);
        }
        CHECK(t.offline_count().value() == 1);
        CHECK(t.offline_oldest().value()->retry_count() == 4);
        CHECK(t.stats().value().dropped_expired == 0);
    }

    struct Drops {
        std::mutex mu;
        std::vector<DropReason> reasons;
    };
    auto drops = std::make_shared<Drops>();
    config.drop_callback([drops](DropReason reason, const std::vector<std::string_view> &ids) {
        std::lock_guard<std::mutex> lock(drops->mu);
        drops->reasons.insert(drops->reasons.end(), ids.size(), reason);
    });
    CHECK_STATUS(Config().max_hit_age(-1ms).status(), AT_ERR_INVALID_ARGUMENT);
    config.max_hit_age(1ms);
    CHECK_MSG(config.ok(), config.status().to_string());
    Tracker t = open_tracker(config);
    std::this_thread::sleep_for(5ms);
    CHECK_OK(t.track_event("young"));
    std::this_thread::sleep_for(5ms);
    const DispatchResult r = dispatch_and_wait(t, "dispatch past the age limit");
    CHECK_MSG(r.failed == 2 && r.dropped == 2, r.status.to_string() << " failed " << r.failed << " dropped " << r.dropped);
    // The expired hits left the store; what is left is the report of their
    // drop (report_drops, on by default), waiting for the collector.
    CHECK(t.offline_count().value() == 1);
    CHECK(t.offline_latest().value()->type() == "Attracker Hits Dropped");
    CHECK(t.stats().value().dropped_expired == 2);
    CHECK(wait_until([&] {
        std::lock_guard<std::mutex> lock(drops->mu);
        return drops->reasons.size() == 2;
    }));
    std::lock_guard<std::mutex> lock(drops->mu);
    for (DropReason reason : drops->reasons)
        CHECK_MSG(reason == DropReason::Expired, attracker::to_string(reason));
    CHECK(std::string_view(attracker::to_string(DropReason::Expired)) == "expired");
}

// The boolean switches: report_drops, require_https, a world-writable store
// directory, unverified TLS for development.
void test_switches()
{
    {
        TempDir dir;
        Config config = base_config(dir, "https://collect.example.com");
        config.transport([](attracker::TransportRequest request) { (void)request.complete(503); })
            .max_hit_age(1ms)
            .report_drops(false);
        CHECK_MSG(config.ok(), config.status().to_string());
        Tracker t = open_tracker(config);
        CHECK_OK(t.track_event("expiring"));
        std::this_thread::sleep_for(5ms);
        const DispatchResult r = dispatch_and_wait(t, "dispatch without drop reports");
        CHECK_MSG(r.dropped == 1, r.status.to_string() << " dropped " << r.dropped);
        CHECK(t.offline_count().value() == 0);
    }
    {
        TempDir dir;
        Config config = base_config(dir, "http://collect.example.com");
        config.require_https(true);
        CHECK_STATUS(Tracker::open(config).status(), AT_ERR_INVALID_ARGUMENT);
        config.endpoint("https://collect.example.com");
        Tracker t = open_tracker(config);
        CHECK_STATUS(t.send_hit("http://logs.example.com/hit?p=1", "screen"), AT_ERR_INVALID_ARGUMENT);
        CHECK_OK(t.send_hit("https://logs.example.com/hit?p=1", "screen"));
    }
    {
        TempDir dir;
        const std::string open_dir = dir.path + "/shared";
        CHECK(mkdir(open_dir.c_str(), 0700) == 0 && chmod(open_dir.c_str(), 0777) == 0);
        Config config;
        config.storage_path(open_dir + "/attracker.db").endpoint(kNoCollector).offline_mode(OfflineMode::Always);
        const Status refused = Tracker::open(config).status();
        CHECK_STATUS(refused, AT_ERR_INVALID_ARGUMENT);
        CHECK_MSG(refused.message().find("world-writable") != std::string::npos, refused.to_string());
        config.allow_world_writable_directory(true);
        Tracker t = open_tracker(config);
        CHECK_OK(t.track_event("in a shared directory"));
    }
    {
        TempDir dir;
        auto warnings = std::make_shared<std::vector<std::string>>();
        auto mu = std::make_shared<std::mutex>();
        Config config = base_config(dir, "https://collect.example.com");
        config.insecure_tls_for_development(true).log_callback(
            [warnings, mu](LogLevel, std::string_view line) {
                std::lock_guard<std::mutex> lock(*mu);
                warnings->emplace_back(line);
            },
            LogLevel::Warn);
        Tracker t = open_tracker(config);
        CHECK(wait_until([&] {
            std::lock_guard<std::mutex> lock(*mu);
            return std::any_of(warnings->begin(), warnings->end(), [](const std::string &w) {
                return w.find("NOT verified") != std::string::npos;
            });
        }));
    }
}

/* ---- the analytics client ------------------------------------------------- */

using attracker::Consent;
using attracker::ResetFlags;

static_assert(static_cast<at_consent>(Consent::Granted) == AT_CONSENT_GRANTED &&
              static_cast<at_consent>(Consent::Pending) == AT_CONSENT_PENDING &&
              static_cast<at_consent>(Consent::Denied) == AT_CONSENT_DENIED);
static_assert(static_cast<std::uint32_t>(ResetFlags::User) == AT_RESET_USER &&
              static_cast<std::uint32_t>(ResetFlags::AnonymousId) == AT_RESET_ANONYMOUS_ID &&
              static_cast<std::uint32_t>(ResetFlags::Session) == AT_RESET_SESSION &&
              static_cast<std::uint32_t>(ResetFlags::SuperProperties) == AT_RESET_SUPER_PROPERTIES &&
              static_cast<std::uint32_t>(ResetFlags::All) == AT_RESET_ALL);
static_assert((ResetFlags::User | ResetFlags::AnonymousId | ResetFlags::Session | ResetFlags::SuperProperties) ==
              ResetFlags::All);
static_assert((ResetFlags::All & ResetFlags::Session) == ResetFlags::Session);
static_assert(static_cast<at_drop_reason>(DropReason::ConsentDenied) == AT_DROP_CONSENT_DENIED);
// Stats is at_stats itself: the newest fields are its last, so
// at_tracker_stats(…, sizeof(Stats)) fills them.
static_assert(offsetof(attracker::Stats, wal_peak_bytes) + sizeof(std::uint64_t) == sizeof(attracker::Stats));
static_assert(offsetof(attracker::Stats, longest_wait_us) + sizeof(std::uint64_t) ==
              offsetof(attracker::Stats, wal_peak_bytes));
static_assert(std::is_same_v<decltype(std::declval<Tracker &>().user_id()),
                             attracker::Result<std::optional<std::string>>>);
static_assert(std::is_same_v<decltype(std::declval<Tracker &>().session_id()), attracker::Result<std::int64_t>>);
static_assert(std::is_same_v<decltype(std::declval<Tracker &>().set_consent(Consent::Granted)),
                             attracker::Result<std::uint64_t>>);
static_assert(std::is_same_v<decltype(std::declval<Tracker &>().consent()), attracker::Result<Consent>>);

// The raw value of `key` in the compact JSON object `json` (as the
// collector's --json prints it: no whitespace); nullopt when absent.
std::optional<std::string_view> json_member(std::string_view json, std::string_view key)
{
    const auto skip_string = [&](std::size_t i) { // json[i] == '"'
        for (++i; i < json.size(); ++i) {
            if (json[i] == '\\')
                ++i;
            else if (json[i] == '"')
                return i + 1;
        }
        return json.size();
    };
    const auto skip_value = [&](std::size_t i) { // the index just past the value at i
        int depth = 0;
        for (; i < json.size(); ++i) {
            const char c = json[i];
            if (c == '"') {
                i = skip_string(i);
                if (depth == 0)
                    return i;
                --i;
            } else if (c == '{' || c == '[') {
                ++depth;
            } else if (c == '}' || c == ']') {
                if (depth == 0)
                    return i;
                if (--depth == 0)
                    return i + 1;
            } else if (c == ',' && depth == 0) {
                return i;
            }
        }
        return i;
    };
    if (json.empty() || json[0] != '{')
        return std::nullopt;
    std::size_t i = 1;
    while (i < json.size() && json[i] == '"') {
        const std::size_t key_end = skip_string(i);
        const std::string_view k = json.substr(i + 1, key_end - i - 2);
        const std::size_t value = key_end + 1; // past ':'
        const std::size_t end = skip_value(value);
        if (k == key)
            return json.substr(value, end - value);
        i = end + 1; // past ','
    }
    return std::nullopt;
}

// The value at `path` (object keys) in `json`; nullopt when absent.
std::optional<std::string_view> json_at(std::string_view json, std::initializer_list<std::string_view> path)
{
    std::optional<std::string_view> at = json;
    for (std::string_view key : path) {
        at = json_member(*at, key);
        if (!at)
            break;
    }
    return at;
}

std::string json_string(std::string_view s) { return "\"" + std::string(s) + "\""; }

// The events the collector printed with --json, in arrival order.
std::vector<std::string> collector_events(const std::string &output)
{
    std::vector<std::string> events;
    std::istringstream lines(output);
    std::string line;
    const std::string prefix = "      json ";
    while (std::getline(lines, line))
        if (line.rfind(prefix, 0) == 0)
            events.push_back(line.substr(prefix.size()));
    return events;
}

// The event of call `type` whose `key` is `value` (a JSON string), or fails.
std::string collector_event(const std::vector<std::string> &events, std::string_view type, std::string_view key,
                            std::string_view value)
{
    for (const std::string &e : events)
        if (json_member(e, "type") == json_string(type) && json_member(e, key) == json_string(value))
            return e;
    std::ostringstream all;
    for (const std::string &e : events)
        all << "\n  " << e;
    fail(__FILE__, __LINE__,
         "no " + std::string(type) + " event with " + std::string(key) + " " + std::string(value) +
             " at the collector among:" + all.str());
}

// Starts the test collector with --json, registered for cleanup on failure.
struct JsonCollector {
    CollectorProcess process;
    explicit JsonCollector(const std::string &binary) : process(binary, 0, {"--json"})
    {
        std::lock_guard<std::mutex> lock(g_cleanup_mu);
        g_collector = &process;
    }
    ~JsonCollector()
    {
        std::lock_guard<std::mutex> lock(g_cleanup_mu);
        g_collector = nullptr;
    }
    // Waits until `n` events have arrived; returns them. No event may differ
    // from the Segment HTTP API's shapes.
    std::vector<std::string> events(std::size_t n)
    {
        CHECK_MSG(wait_until([&] { return collector_events(process.output()).size() >= n; }),
                  "the collector did not print " << n << " events:\n" << process.output());
        const std::string output = process.output();
        CHECK_MSG(!contains(output, "SPEC VIOLATION"), "not Segment-shaped:\n" << output);
        return collector_events(output);
    }
};

// identify and user_id: the user id and traits are kept in the store across a
// reopen; alias makes the new id the user id; refused calls change nothing;
// completions run (also in polled mode) and are freed when the call fails.
void test_analytics_identity()
{
    TempDir dir;
    {
        Tracker t = open_tracker(base_config(dir));
        CHECK(!t.user_id().value().has_value());
        std::promise<Status> identified;
        std::future<Status> identify_done = identified.get_future();
        CHECK_OK(t.identify("user-1", R"({"name":"Ada","plan":"free"})",
                            [&identified](Status s) { identified.set_value(std::move(s)); }));
        CHECK_OK(get_within(identify_done, "identify's completion"));
        CHECK(t.user_id().value() == std::optional<std::string>("user-1"));
        CHECK_OK(t.identify(std::nullopt, std::string(R"({"plan":"pro"})"))); // traits only: the id stays
        CHECK(t.user_id().value() == std::optional<std::string>("user-1"));

        // Refused: an empty id, a control character, an embedded NUL, more than
        // 256 bytes, not UTF-8, traits that are not a JSON object. The
        // completion of a refused call never runs (and is freed: memcheck).
        std::atomic<int> ran{0};
        const Status empty = t.identify("", std::nullopt, [&ran](Status) { ++ran; });
        CHECK(empty.code() == AT_ERR_INVALID_ARGUMENT && !empty.message().empty());
        CHECK_STATUS(t.identify("a\x07"), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.identify(std::string_view("a\0b", 3)), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.identify(std::string(257, 'u')), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.identify("\xff\xfe"), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.identify(std::nullopt, "[1]"), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.identify(std::nullopt, "{"), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.identify("ok", std::string_view("{}\0", 3)), AT_ERR_INVALID_ARGUMENT);
        CHECK_THROWS(t.identify("").throw_if_error(), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.alias(""), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.alias(std::string_view("x\0y", 3)), AT_ERR_INVALID_ARGUMENT);
        CHECK_MSG(t.user_id().value() == std::optional<std::string>("user-1"),
                  "a refused call changed it to " << t.user_id().value().value_or("(none)"));
        CHECK_OK(t.identify(std::string(256, 'u'))); // the longest accepted
        CHECK(t.user_id().value() == std::string(256, 'u'));
        CHECK_OK(t.identify("user-1"));
        CHECK_OK(t.sync());
        CHECK(ran == 0);
        // Stored like any hit: the 4 accepted identify calls.
        CHECK(t.offline_count().value() == 4);
    }
    {
        // Kept in the store; alias (its completion run by poll()) replaces it.
        Config config = base_config(dir);
        config.callback_mode(CallbackMode::Polled);
        Tracker t = open_tracker(config);
        CHECK_MSG(t.user_id().value() == std::optional<std::string>("user-1"),
                  "after reopening: " << t.user_id().value().value_or("(none)"));
        const std::thread::id main_thread = std::this_thread::get_id();
        std::atomic<int> aliased{0}, off_thread{0};
        CHECK_OK(t.alias("user-2", [&](Status s) {
            CHECK(s.ok());
            ++aliased;
            off_thread += std::this_thread::get_id() == main_thread ? 0 : 1;
        }));
        CHECK(t.user_id().value() == std::optional<std::string>("user-2")); // stored before alias returns
        CHECK(wait_until([&] {
            (void)t.poll();
            return aliased == 1;
        }));
        CHECK(off_thread == 0);
    }
    {
        Tracker t = open_tracker(base_config(dir));
        CHECK(t.user_id().value() == std::optional<std::string>("user-2"));
        CHECK_OK(t.close(1s));
        CHECK_STATUS(t.identify("late"), AT_ERR_CLOSED);
        CHECK_STATUS(t.user_id().status(), AT_ERR_CLOSED);
        CHECK_THROWS(t.user_id().value(), AT_ERR_CLOSED);
        CHECK_STATUS(t.alias("late"), AT_ERR_CLOSED);
    }
    Tracker empty;
    CHECK_STATUS(empty.identify("u"), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(empty.user_id().status(), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(empty.alias("u"), AT_ERR_NULL_ARGUMENT);
}

// Every Segment call delivered to the test collector with its fields: track,
// identify (traits), screen (name, properties with the super properties),
// group (groupId, traits), alias (previousId, userId); the configured and the
// run-time context; the user id and super properties kept across a reopen.
void test_analytics_delivery(const std::string &collector_binary)
{
    // Config::context refuses the library's own keys and anything but an object.
    CHECK(Config().context(R"({"library":{"name":"mine"}})").status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().context(R"({"sessionId":1})").status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().context("[]").status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().context(std::string_view("{}\0", 3)).status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().context(std::string(8200, ' ') + "{}").status().code() == AT_ERR_INVALID_ARGUMENT);

    JsonCollector collector(collector_binary);
    TempDir dir;
    Config config = base_config(dir, collector.process.url(), OfflineMode::Always);
    config.context(R"({"app":{"name":"Game","build":"7"},"device":{"model":"X1"}})");
    CHECK_MSG(config.ok(), config.status().to_string());
    std::string anonymous;
    std::vector<std::int64_t> sessions;
    {
        Tracker t = open_tracker(config);
        anonymous = t.visitor_id().value();
        sessions.push_back(t.session_id().value());
        CHECK_OK(t.track_event("Before"));
        CHECK_OK(t.register_super_properties(R"({"plan":"pro","level":1})"));
        CHECK_OK(t.identify("user-1", R"({"name":"Ada"})"));
        std::promise<Status> screened, grouped;
        std::future<Status> screen_done = screened.get_future(), group_done = grouped.get_future();
        CHECK_OK(t.screen("Home", R"({"tab":"feed"})", [&](Status s) { screened.set_value(std::move(s)); }));
        CHECK_OK(t.group("team-3", R"({"seats":5})", [&](Status s) { grouped.set_value(std::move(s)); }));
        CHECK_OK(get_within(screen_done, "screen's completion"));
        CHECK_OK(get_within(group_done, "group's completion"));
        CHECK_OK(t.set_context(R"({"network":{"wifi":true},"device":null})"));
        CHECK_OK(t.unregister_super_property("plan"));
        CHECK_OK(t.unregister_super_property("not-there")); // no error
        CHECK_OK(t.track_event("After", R"({"level":7})"));

        // Refused, changing nothing.
        CHECK_STATUS(t.set_context("[]"), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.set_context(R"({"attracker":{}})"), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.set_context(std::string_view("{\0}", 3)), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.register_super_properties("1"), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.register_super_properties(std::string_view("{}\0", 3)), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.unregister_super_property("\xff"), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.unregister_super_property(std::string_view("k\0", 2)), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.screen(""), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.screen("S", "[]"), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.group(""), AT_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(t.group("g", "1"), AT_ERR_INVALID_ARGUMENT);
        CHECK(t.offline_count().value() == 5);
        sessions.push_back(t.session_id().value());
    }
    {
        // Reopened at once: the user id, the super properties and the session
        // are kept; the context set at run time is not.
        Tracker t = open_tracker(config);
        CHECK(t.user_id().value() == std::optional<std::string>("user-1"));
        CHECK_OK(t.alias("user-2"));
        CHECK_OK(t.track_event("Reopened"));
        sessions.push_back(t.session_id().value());
        const DispatchResult r = dispatch_and_wait(t, "dispatch to the collector");
        CHECK_MSG(r.ok() && r.sent == 7, r.status.to_string() << " sent " << r.sent);
        CHECK(t.offline_count().value() == 0);
    }
    CHECK_MSG(sessions[0] == sessions[1] && sessions[1] == sessions[2], "sessions " << sessions[0] << ' '
              << sessions[1] << ' ' << sessions[2]);

    const std::vector<std::string> events = collector.events(7);
    CHECK_MSG(events.size() == 7, events.size() << " events");
    const std::string session = std::to_string(sessions[0]);
    for (const std::string &e : events) {
        CHECK_MSG(json_at(e, {"anonymousId"}) == json_string(anonymous), e);
        CHECK_MSG(json_at(e, {"context", "library", "name"}) == json_string("attracker"), e);
        CHECK_MSG(json_at(e, {"context", "sessionId"}) == session, e);
        CHECK_MSG(json_at(e, {"context", "app", "build"}) == json_string("7"), e);
        CHECK_MSG(json_at(e, {"context", "app", "name"}) == json_string("Game"), e);
    }

    const std::string before = collector_event(events, "track", "event", "Before");
    CHECK_MSG(!json_member(before, "userId"), "tracked before identify: anonymous: " << before);
    CHECK_MSG(json_at(before, {"context", "device", "model"}) == json_string("X1"), before);
    CHECK_MSG(!json_at(before, {"properties", "plan"}), before);

    const std::string identify = collector_event(events, "identify", "userId", "user-1");
    CHECK_MSG(json_at(identify, {"traits", "name"}) == json_string("Ada"), identify);
    CHECK_MSG(!json_at(identify, {"traits", "plan"}), "super properties are not traits: " << identify);

    const std::string screen = collector_event(events, "screen", "name", "Home");
    CHECK_MSG(json_member(screen, "userId") == json_string("user-1") && !json_member(screen, "event"), screen);
    CHECK_MSG(json_at(screen, {"properties", "tab"}) == json_string("feed"), screen);
    CHECK_MSG(json_at(screen, {"properties", "plan"}) == json_string("pro"), "super properties merged: " << screen);
    CHECK_MSG(json_at(screen, {"properties", "level"}) == "1", screen);

    const std::string group = collector_event(events, "group", "groupId", "team-3");
    CHECK_MSG(json_member(group, "userId") == json_string("user-1"), group);
    CHECK_MSG(json_at(group, {"traits", "seats"}) == "5", group);
    CHECK_MSG(!json_member(group, "properties"), group);

    const std::string after = collector_event(events, "track", "event", "After");
    CHECK_MSG(json_member(after, "userId") == json_string("user-1"), after);
    CHECK_MSG(json_at(after, {"properties", "level"}) == "7", "explicit properties win: " << after);
    CHECK_MSG(!json_at(after, {"properties", "plan"}), "unregistered: " << after);
    CHECK_MSG(json_at(after, {"context", "network", "wifi"}) == "true", after);
    CHECK_MSG(!json_at(after, {"context", "device"}), "null removed it: " << after);

    const std::string alias = collector_event(events, "alias", "previousId", "user-1");
    CHECK_MSG(json_member(alias, "userId") == json_string("user-2"), alias);
    CHECK_MSG(!json_member(alias, "traits") && !json_member(alias, "properties"), alias);

    const std::string reopened = collector_event(events, "track", "event", "Reopened");
    CHECK_MSG(json_member(reopened, "userId") == json_string("user-2"), reopened);
    CHECK_MSG(json_at(reopened, {"properties", "level"}) == "1", "super properties kept: " << reopened);
    CHECK_MSG(json_at(reopened, {"context", "device", "model"}) == json_string("X1"), "the config's context: " << reopened);
    CHECK_MSG(!json_at(reopened, {"context", "network"}), "the run-time context is not kept: " << reopened);
}

// reset_analytics: each flag forgets what it names and nothing else; flags
// combine; no flag or an unknown one is refused.
void test_analytics_reset()
{
    TempDir dir;
    Tracker t = open_tracker(base_config(dir));
    CHECK_OK(t.identify("u", R"({"a":1})"));
    CHECK_OK(t.register_super_properties(R"({"plan":"pro"})"));
    std::string anonymous = t.visitor_id().value();
    const std::int64_t session = t.session_id().value();
    const auto latest_body = [&t](std::string_view type) {
        CHECK_OK(t.track_event(type));
        const std::optional<attracker::Hit> hit = t.offline_latest().value();
        CHECK(hit && hit->type() == type && hit->body());
        return std::string(*hit->body());
    };
    CHECK_MSG(contains(latest_body("with_supers"), "\"plan\":\"pro\""), latest_body("with_supers"));

    CHECK_STATUS(t.reset_analytics(ResetFlags{}), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(t.reset_analytics(static_cast<ResetFlags>(16)), AT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(t.reset_analytics(ResetFlags::User | static_cast<ResetFlags>(32)), AT_ERR_INVALID_ARGUMENT);
    CHECK(t.user_id().value() == std::optional<std::string>("u") && t.visitor_id().value() == anonymous);

    CHECK_OK(t.reset_analytics(ResetFlags::AnonymousId));
    CHECK(t.visitor_id().value() != anonymous);
    anonymous = t.visitor_id().value();
    CHECK(t.user_id().value() == std::optional<std::string>("u"));
    CHECK(t.session_id().value() == session);

    CHECK_OK(t.reset_analytics(ResetFlags::User));
    CHECK(!t.user_id().value().has_value());
    CHECK(t.visitor_id().value() == anonymous && t.session_id().value() == session);
    CHECK(contains(latest_body("still_supers"), "\"plan\":\"pro\""));

    std::this_thread::sleep_for(5ms); // session ids are Unix ms
    CHECK_OK(t.reset_analytics(ResetFlags::Session));
    const std::int64_t second = t.session_id().value();
    CHECK_MSG(second > session, session << " then " << second);

    CHECK_OK(t.reset_analytics(ResetFlags::SuperProperties));
    CHECK_MSG(!contains(latest_body("no_supers"), "plan"), latest_body("no_supers"));
    CHECK(t.visitor_id().value() == anonymous);

    // Combined, and All (a logout).
    CHECK_OK(t.identify("v"));
    CHECK_OK(t.reset_analytics(ResetFlags::User | ResetFlags::AnonymousId));
    CHECK(!t.user_id().value().has_value() && t.visitor_id().value() != anonymous);
    anonymous = t.visitor_id().value();
    CHECK_OK(t.identify("w"));
    CHECK_OK(t.register_super_properties(R"({"plan":"max"})"));
    std::this_thread::sleep_for(5ms);
    CHECK_OK(t.reset_analytics(ResetFlags::All));
    CHECK(!t.user_id().value().has_value() && t.visitor_id().value() != anonymous);
    CHECK(t.session_id().value() > second);
    CHECK(!contains(latest_body("logged_out"), "plan"));

    CHECK_OK(t.close(1s));
    CHECK_STATUS(t.reset_analytics(ResetFlags::All), AT_ERR_CLOSED);
    CHECK_STATUS(Tracker().reset_analytics(ResetFlags::All), AT_ERR_NULL_ARGUMENT);
}

// Sessions: the timeouts' range, the session id (Unix ms of its start, kept
// across a quick restart), start_session, and the session events.
void test_analytics_sessions()
{
    CHECK(Config().session_timeouts(999ms, 5min).status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().session_timeouts(30min, std::chrono::milliseconds(604800001)).status().code() ==
          AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().session_timeouts(-1ms, 5min).status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().session_timeouts(30min, std::chrono::milliseconds(1LL << 33)).status().code() ==
          AT_ERR_INVALID_ARGUMENT);
    CHECK(Config().session_timeouts(1s, std::chrono::hours(24 * 7)).ok());
    CHECK(Config().track_session_events(true).ok());

    TempDir dir;
    Config config = base_config(dir);
    config.session_timeouts(30min, 5min).track_session_events(true);
    CHECK_MSG(config.ok(), config.status().to_string());
    std::int64_t first = 0, second = 0;
    {
        Tracker t = open_tracker(config);
        const auto now_ms = [] {
            return std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                .count();
        };
        const std::int64_t before = now_ms();
        first = t.session_id().value();
        CHECK_MSG(first >= before - 1000 && first <= now_ms() + 1000, "session id " << first << " at " << before);
        CHECK_OK(t.track_event("in_first"));
        CHECK(t.session_id().value() == first); // activity keeps it
        std::this_thread::sleep_for(5ms);
        CHECK_OK(t.start_session());
        second = t.session_id().value();
        CHECK_MSG(second > first, first << " then " << second);
        CHECK_OK(t.track_event("in_second"));

        std::vector<std::string> types;
        for (HitView h : t.offline_get().value())
            types.emplace_back(h.type());
        const auto count = [&](const char *type) { return std::count(types.begin(), types.end(), type); };
        std::ostringstream listed;
        for (const std::string &type : types)
            listed << type << ", ";
        CHECK_MSG(count("Session Started") == 2 && count("Session Ended") == 1, listed.str());
        const auto at = [&](const char *type) { return std::find(types.begin(), types.end(), type) - types.begin(); };
        CHECK_MSG(at("in_first") < at("Session Ended") && at("Session Ended") < at("in_second"), listed.str());
    }
    {
        // A quick restart goes on with the session.
        Tracker t = open_tracker(config);
        CHECK(t.session_id().value() == second);
        CHECK_OK(t.close(1s));
        CHECK_STATUS(t.start_session(), AT_ERR_CLOSED);
        CHECK_STATUS(t.session_id().status(), AT_ERR_CLOSED);
    }
    Tracker empty;
    CHECK_STATUS(empty.start_session(), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(empty.session_id().status(), AT_ERR_NULL_ARGUMENT);
}

// Consent: pending stores and sends nothing (no network at all) until
// granted; denied purges the queue (DropReason::ConsentDenied, counted in
// Stats::dropped_consent, never reported to the collector) and refuses the
// calls; both kept in the store.
void test_analytics_consent(const std::string &collector_binary)
{
    CHECK(Config().initial_consent(static_cast<Consent>(3)).status().code() == AT_ERR_INVALID_ARGUMENT);
    CHECK(std::string_view(attracker::to_string(Consent::Pending)) == "pending");
    CHECK(std::string_view(attracker::to_string(DropReason::ConsentDenied)) == "consent_denied");

    struct Record {
        std::mutex mu;
        std::vector<std::string> purged_ids;
        std::vector<DropReason> other;
    };
    auto rec = std::make_shared<Record>();
    JsonCollector collector(collector_binary);
    TempDir dir;
    Config config = base_config(dir, collector.process.url(), OfflineMode::Always);
    config.initial_consent(Consent::Pending).drop_callback([rec](DropReason reason, const std::vector<std::string_view> &ids) {
        std::lock_guard<std::mutex> lock(rec->mu);
        if (reason == DropReason::ConsentDenied)
            rec->purged_ids.insert(rec->purged_ids.end(), ids.begin(), ids.end());
        else
            rec->other.push_back(reason);
    });
    CHECK_MSG(config.ok(), config.status().to_string());
    {
        Tracker t = open_tracker(config);
        CHECK(t.consent().value() == Consent::Pending);
        CHECK_OK(t.track_event("Waiting"));
        CHECK_OK(t.identify("u-pending"));
        const DispatchResult r = dispatch_and_wait(t, "dispatch while pending");
        CHECK_MSG(r.status.code() == AT_ERR_SUPPRESSED && r.sent == 0, r.status.to_string());
        CHECK(t.offline_count().value() == 2);
    }
    std::this_thread::sleep_for(200ms);
    {
        // Its banner (2 lines), and no request: nothing sent while pending.
        const std::string output = collector.process.output();
        CHECK_MSG(std::count(output.begin(), output.end(), '\n') == 2, "no network while pending:\n" << output);
    }
    {
        Tracker t = open_tracker(config);
        CHECK_MSG(t.consent().value() == Consent::Pending, "pending until answered");
        CHECK_STATUS(t.set_consent(static_cast<Consent>(9)).status(), AT_ERR_INVALID_ARGUMENT);
        CHECK(t.consent().value() == Consent::Pending);
        CHECK(t.set_consent(Consent::Granted).value() == 0);
        CHECK(t.consent().value() == Consent::Granted);
        const DispatchResult r = dispatch_and_wait(t, "dispatch once granted");
        CHECK_MSG(r.ok() && r.sent == 2, r.status.to_string() << " sent " << r.sent);
        const std::vector<std::string> events = collector.events(2);
        CHECK(!json_member(collector_event(events, "track", "event", "Waiting"), "userId"));
        (void)collector_event(events, "identify", "userId", "u-pending");

        // Denied: what is queued is purged and reported to the drop callback only.
        for (int i = 0; i < 3; i++)
            CHECK_OK(t.track_event("purged", R"({"i":)" + std::to_string(i) + "}"));
        CHECK(t.set_consent(Consent::Denied).value() == 3);
        CHECK(t.consent().value() == Consent::Denied);
        CHECK(t.offline_count().value() == 0);
        CHECK_STATUS(t.track_event("refused"), AT_ERR_SUPPRESSED);
        CHECK_STATUS(t.screen("Refused"), AT_ERR_SUPPRESSED);
        CHECK_STATUS(t.identify("refused"), AT_ERR_SUPPRESSED);
        CHECK_STATUS(t.alias("refused"), AT_ERR_SUPPRESSED);
        CHECK_STATUS(t.group("refused"), AT_ERR_SUPPRESSED);
        CHECK(t.set_consent(Consent::Denied).value() == 0); // nothing left
        const attracker::Stats stats = t.stats().value();
        CHECK_MSG(stats.dropped_consent == 3 && stats.deleted == 0,
                  "dropped_consent " << stats.dropped_consent << " deleted " << stats.deleted);
        CHECK(wait_until([&] {
            std::lock_guard<std::mutex> lock(rec->mu);
            return rec->purged_ids.size() == 3;
        }));
    }
    {
        // Denied is kept; granting again accepts new calls (the purged are gone).
        Tracker t = open_tracker(config);
        CHECK(t.consent().value() == Consent::Denied);
        CHECK_STATUS(t.track_event("still_refused"), AT_ERR_SUPPRESSED);
        CHECK(t.set_consent(Consent::Granted).value() == 0);
        CHECK_OK(t.track_event("again"));
        const DispatchResult r = dispatch_and_wait(t, "dispatch after denying");
        CHECK_MSG(r.ok() && r.sent == 1, r.status.to_string() << " sent " << r.sent);
        const std::vector<std::string> events = collector.events(3);
        CHECK_MSG(events.size() == 3, "the purged hits, or a drop report, reached the collector");
        (void)collector_event(events, "track", "event", "again");
        CHECK(t.stats().value().dropped_consent == 0); // counters since this start

        CHECK_OK(t.close(1s));
        CHECK_STATUS(t.set_consent(Consent::Granted).status(), AT_ERR_CLOSED);
        CHECK_STATUS(t.consent().status(), AT_ERR_CLOSED);
        CHECK_THROWS(t.consent().value(), AT_ERR_CLOSED);
    }
    CHECK_STATUS(Tracker().set_consent(Consent::Denied).status(), AT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(Tracker().consent().status(), AT_ERR_NULL_ARGUMENT);
    std::lock_guard<std::mutex> lock(rec->mu);
    CHECK(rec->other.empty());
    for (const std::string &id : rec->purged_ids)
        CHECK(id.size() == 36);
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::cerr << "usage: test_wrapper COLLECTOR\n";
        return 2;
    }
    const std::string collector = argv[1];
    std::cout << "attracker " << attracker::version() << '\n';

    struct Test {
        const char *name;
        std::function<void()> run;
    };
    const std::vector<Test> tests = {
        {"status_mode", test_status_mode},
        {"exception_mode", test_exception_mode},
        {"raii", test_raii},
        {"move_semantics", test_move_semantics},
        {"completions", test_completions},
        {"polled_mode", test_polled_mode},
        {"destroy_from_completion", test_destroy_from_completion},
        {"collector_dispatch", [&] { test_collector_dispatch(collector); }},
        {"host_transport", test_host_transport},
        {"exported_batches", test_exported_batches},
        {"lifecycle", test_lifecycle},
        {"visitor_id", test_visitor_id},
        {"opt_out", test_opt_out},
        {"remote_config", test_remote_config},
        {"key_rejected", test_key_rejected},
        {"portal_page", test_portal_page},
        {"max_hit_age", test_max_hit_age},
        {"switches", test_switches},
        {"analytics_identity", test_analytics_identity},
        {"analytics_delivery", [&] { test_analytics_delivery(collector); }},
        {"analytics_reset", test_analytics_reset},
        {"analytics_sessions", test_analytics_sessions},
        {"analytics_consent", [&] { test_analytics_consent(collector); }},
    };
    for (const Test &t : tests) {
        g_test = t.name;
        const auto start = std::chrono::steady_clock::now();
        try {
            t.run();
        } catch (const std::exception &e) {
            fail(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
        }
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        std::cout << "ok   " << t.name << " (" << ms.count() << " ms)" << std::endl;
    }
    std::cout << "all " << tests.size() << " C++ wrapper tests passed\n";
    return 0;
}
