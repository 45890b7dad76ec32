/*
 * attracker C++17 wrapper: header-only RAII types over the C API of
 * at_tracker.h, in namespace attracker. Link the library as for C
 * (attracker::static / attracker::shared with CMake).
 *
 *   #include "at_tracker.hpp"
 *
 *   attracker::Config config;
 *   config.storage_path(dir + "/attracker.db")
 *       .endpoint("https://collect.example.com")
 *       .offline_mode(attracker::OfflineMode::Always)
 *       .log_callback([](attracker::LogLevel, std::string_view line) { std::clog << line << '\n'; });
 *   attracker::Tracker tracker = attracker::Tracker::open(config).value();  // throws on error
 *
 *   tracker.track_event("screen_view", R"({"screen":"home"})").throw_if_error();
 *   if (attracker::Status s = tracker.send_hit(url, "screen"); !s)          // or test a Status
 *       std::cerr << s.to_string() << '\n';
 *   for (attracker::HitView hit : tracker.offline_get().value())
 *       std::cout << hit.id() << ' ' << hit.type() << '\n';
 *   tracker.offline_dispatch([](const attracker::DispatchResult &r) { ... }).throw_if_error();
 *
 *   // The analytics client (Segment calls; see the README's C++ section):
 *   tracker.identify("user-42", R"({"plan":"pro"})").throw_if_error();
 *   tracker.screen("Home", R"({"tab":"feed"})").throw_if_error();
 *   tracker.set_consent(attracker::Consent::Denied).value();   // how many queued hits were purged
 *
 * ERRORS: one API, consumed in either of two styles.
 *   Every fallible operation returns a [[nodiscard]] `Status` (the at_status
 *   code and, on failure, at_last_error()'s message, captured on the calling
 *   thread before anything else can overwrite it) or a `Result<T>` (a Status
 *   and, when ok, a value). The wrapper never throws for a library error by
 *   itself.
 *   - Status style: test `ok()` / `explicit operator bool`, read `code()`,
 *     `name()`, `message()`; for a Result, `status()` then `*r` / `r->`.
 *   - Exception style: `status.throw_if_error()` and `result.value()` throw
 *     `attracker::Error`, a std::runtime_error whose code() is the at_status
 *     and whose what() is "AT_ERR_NAME: message".
 *   Config setters are fluent (they return Config&): the first failing
 *   setter's Status is kept in Config::status() and Tracker::open returns it.
 *   Strings are taken as std::string_view and copied into a NUL-terminated
 *   std::string for the C call; one with an embedded NUL byte is refused with
 *   AT_ERR_INVALID_ARGUMENT (C would silently cut it there). Durations are
 *   std::chrono::milliseconds; out of uint32_t range is AT_ERR_INVALID_ARGUMENT
 *   (close() clamps instead).
 *   C++ exceptions otherwise: std::bad_alloc, and whatever copying a user's
 *   callback throws. Everything that cannot fail or allocate is noexcept.
 *
 * OWNERSHIP
 *   Config owns an at_config*, Tracker an at_tracker*, HitList an at_hit_list*,
 *   Hit an at_hit* (offline_oldest / offline_latest), TransportRequest and
 *   ExportedBatch an at_request*. All are move-only; a moved-from object is
 *   empty (a moved-from Tracker's calls return AT_ERR_NULL_ARGUMENT).
 *   Strings the library returns owned (visitor_id, user_id,
 *   remote_config_json, last_send_error) are copied into a std::string and freed with
 *   at_string_free, also when the copy throws.
 *   Destructors free: ~Tracker calls at_tracker_free (closes with 2 s, commits
 *   everything accepted, runs or cancels every pending callback, joins the
 *   threads), ~TransportRequest ends an unanswered request as unreachable,
 *   ~ExportedBatch gives its events back (it must not outlive its Tracker).
 *   HitView / RequestView are non-owning views: they, and the string_views they
 *   return, are valid while the list / hit / request they come from lives.
 *   Result<T>::value() and operator* on an rvalue Result return T by value, so
 *   `for (HitView h : tracker.offline_get().value())` does not dangle.
 *
 * CALLBACKS
 *   - Completions (`Completion` = std::function<void(Status)>, and
 *     `DispatchCompletion` = std::function<void(const DispatchResult &)>): the
 *     std::function is moved to the heap and its address is the C user_data; the
 *     C trampoline calls it and deletes it. The library calls a completion
 *     exactly once, and only when the registering call returned AT_OK (work
 *     abandoned at close gets AT_ERR_CANCELLED), so when the call fails
 *     synchronously the wrapper deletes the std::function before returning.
 *   - Log, drop, remote-config and transport callbacks are stored in the
 *     Config; Tracker::open gives the new tracker its own copy of each
 *     (std::function is copyable), which the Tracker frees only after
 *     at_tracker_free has returned. The Config keeps its copies for further
 *     trackers.
 *   - Callbacks run on the tracker's callback thread (CallbackMode::Thread) or
 *     inside Tracker::poll (CallbackMode::Polled), one at a time. An exception
 *     thrown by a user callback is caught and discarded in the trampoline: it
 *     must not unwind into the library (or out of the noexcept poll()).
 *   - A completion may destroy its own Tracker (at_tracker_free is allowed in a
 *     callback). A Tracker destroyed inside any attracker callback (detected
 *     with a thread_local depth counter), and only then, deliberately leaks its
 *     log/drop/remote-config/transport std::functions: called on the callback
 *     thread, at_tracker_free returns before that thread has run the log lines
 *     and drop reports still queued, which use them. A log, drop,
 *     remote-config or transport callback must not destroy its own Tracker.
 *
 * THREADS
 *   Tracker operations may be called concurrently from any thread (the C
 *   tracker is thread-safe), except destruction, move assignment and reset(),
 *   which must be the last operation on it. Config (including Tracker::open on
 *   it), HitList, Hit and the requests are not synchronised; their read-only
 *   views may be shared.
 */
#ifndef AT_TRACKER_HPP
#define AT_TRACKER_HPP

#include "at_tracker.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace attracker {

/* ---- enumerations (same values as the C constants) ------------------------ */

enum class OfflineMode : at_offline_mode {
    Never = AT_OFFLINE_NEVER,
    Required = AT_OFFLINE_REQUIRED,
    Always = AT_OFFLINE_ALWAYS,
};

enum class Durability : at_durability {
    OnReturn = AT_DURABILITY_ON_RETURN,
    Batched = AT_DURABILITY_BATCHED,
};

enum class Synchronous : at_synchronous {
    Normal = AT_SYNCHRONOUS_NORMAL,
    Full = AT_SYNCHRONOUS_FULL,
};

enum class AuthScheme : at_auth_scheme {
    Bearer = AT_AUTH_BEARER,
    Basic = AT_AUTH_BASIC,
};

enum class CallbackMode : at_callback_mode {
    Thread = AT_CALLBACKS_THREAD,
    Polled = AT_CALLBACKS_POLLED,
};

/** What opting out (Tracker::opt_out, Config::opt_out_policy) does with the
 *  hits already queued. */
enum class OptOutPolicy : at_opt_out_policy {
    Keep = AT_OPT_OUT_KEEP,   /**< the default: they stay and are sent as usual */
    Purge = AT_OPT_OUT_PURGE, /**< every one is deleted, reported as DropReason::Deleted */
};

enum class LogLevel : at_log_level {
    Error = AT_LOG_ERROR,
    Warn = AT_LOG_WARN,
    Info = AT_LOG_INFO,
    Debug = AT_LOG_DEBUG,
};

enum class DropReason : at_drop_reason {
    Overflow = AT_DROP_OVERFLOW,
    Corrupt = AT_DROP_CORRUPT,
    Deleted = AT_DROP_DELETED,
    StorageFailed = AT_DROP_STORAGE_FAILED,
    Unsent = AT_DROP_UNSENT,
    Rejected = AT_DROP_REJECTED,
    AttemptsExhausted = AT_DROP_ATTEMPTS_EXHAUSTED,
    Unreachable = AT_DROP_UNREACHABLE,
    TooLarge = AT_DROP_TOO_LARGE,
    Expired = AT_DROP_EXPIRED,
    ConsentDenied = AT_DROP_CONSENT_DENIED, /**< purged by Tracker::set_consent(Consent::Denied) */
};

inline const char *to_string(LogLevel level) noexcept
{
    switch (level) {
    case LogLevel::Error: return "ERROR";
    case LogLevel::Warn: return "WARN";
    case LogLevel::Info: return "INFO";
    case LogLevel::Debug: return "DEBUG";
    }
    return "?";
}

inline const char *to_string(DropReason reason) noexcept
{
    switch (reason) {
    case DropReason::Overflow: return "overflow";
    case DropReason::Corrupt: return "corrupt";
    case DropReason::Deleted: return "deleted";
    case DropReason::StorageFailed: return "storage_failed";
    case DropReason::Unsent: return "unsent";
    case DropReason::Rejected: return "rejected";
    case DropReason::AttemptsExhausted: return "attempts_exhausted";
    case DropReason::Unreachable: return "unreachable";
    case DropReason::TooLarge: return "too_large";
    case DropReason::Expired: return "expired";
    case DropReason::ConsentDenied: return "consent_denied";
    }
    return "?";
}

/* ---- enumerations of the analytics client -------------------------------- */

/** The user's consent to collection (Tracker::set_consent,
 *  Config::initial_consent). */
enum class Consent : at_consent {
    Granted = AT_CONSENT_GRANTED, /**< the default: collected and sent */
    Pending = AT_CONSENT_PENDING, /**< collected and stored; nothing sent, no network at all */
    Denied = AT_CONSENT_DENIED,   /**< everything queued purged; later calls AT_ERR_SUPPRESSED */
};

inline const char *to_string(Consent consent) noexcept
{
    switch (consent) {
    case Consent::Granted: return "granted";
    case Consent::Pending: return "pending";
    case Consent::Denied: return "denied";
    }
    return "?";
}

/** What Tracker::reset_analytics forgets: flags, combined with `|`. */
enum class ResetFlags : std::uint32_t {
    User = AT_RESET_USER,                        /**< the user id and traits */
    AnonymousId = AT_RESET_ANONYMOUS_ID,         /**< the anonymous id (a new one is made) */
    Session = AT_RESET_SESSION,                  /**< the session (a new one starts now) */
    SuperProperties = AT_RESET_SUPER_PROPERTIES, /**< the super properties */
    All = AT_RESET_ALL,                          /**< all four: a logout */
};

constexpr ResetFlags operator|(ResetFlags a, ResetFlags b) noexcept
{
    return static_cast<ResetFlags>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}
constexpr ResetFlags operator&(ResetFlags a, ResetFlags b) noexcept
{
    return static_cast<ResetFlags>(static_cast<std::uint32_t>(a) & static_cast<std::uint32_t>(b));
}
constexpr ResetFlags &operator|=(ResetFlags &a, ResetFlags b) noexcept { return a = a | b; }

/** The library version, "MAJOR.MINOR.PATCH". */
inline std::string_view version() noexcept { return at_version(); }

/** Counters since the tracker started, plus the live queue (see at_stats). */
using Stats = at_stats;

/* ---- errors --------------------------------------------------------------- */

class Error;

/** The outcome of a call: an at_status code and, for a failed call, the
 *  library's message (at_last_error() captured on the calling thread). */
class [[nodiscard]] Status {
public:
    /** AT_OK. */
    Status() noexcept = default;
    explicit Status(at_status code, std::string message = {}) noexcept
        : code_(code), message_(std::move(message))
    {
    }

    /** The Status of a C call that returned `code` on this thread: on failure
     *  it carries at_last_error(). Call it before any other attracker call. */
    static Status from_call(at_status code)
    {
        if (code == AT_OK)
            return Status();
        return Status(code, at_last_error());
    }

    at_status code() const noexcept { return code_; }
    bool ok() const noexcept { return code_ == AT_OK; }
    explicit operator bool() const noexcept { return ok(); }
    /** "AT_OK", "AT_ERR_CLOSED", ... (static storage). */
    const char *name() const noexcept { return at_status_str(code_); }
    /** The library's description of the failure; may be empty (e.g. a status a
     *  completion received). */
    const std::string &message() const noexcept { return message_; }
    /** "AT_ERR_NAME: message", or just the name when there is no message. */
    std::string to_string() const
    {
        std::string s = name();
        if (!message_.empty())
            s.append(": ").append(message_);
        return s;
    }

    /** Throws attracker::Error when not ok. */
    inline void throw_if_error() const;

    friend bool operator==(const Status &a, at_status code) noexcept { return a.code_ == code; }
    friend bool operator!=(const Status &a, at_status code) noexcept { return a.code_ != code; }

private:
    at_status code_ = AT_OK;
    std::string message_;
};

/** The exception of the exception style: code() is the at_status, what() is
 *  Status::to_string(). */
class Error : public std::runtime_error {
public:
    explicit Error(const Status &status) : std::runtime_error(status.to_string()), code_(status.code()) {}
    at_status code() const noexcept { return code_; }
    const char *name() const noexcept { return at_status_str(code_); }

private:
    at_status code_;
};

inline void Status::throw_if_error() const
{
    if (!ok())
        throw Error(*this);
}

/** A value or the Status saying why there is none. `value()` throws
 *  attracker::Error when not ok; `*` and `->` do not check (like std::optional).
 *  Both move the value out of an rvalue Result. */
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) noexcept(std::is_nothrow_move_constructible_v<T>) : value_(std::move(value)) {}
    /** `status` must be an error. */
    Result(Status status) noexcept : status_(std::move(status)) {}

    bool ok() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }
    const Status &status() const noexcept { return status_; }

    T &value() &
    {
        check();
        return *value_;
    }
    const T &value() const &
    {
        check();
        return *value_;
    }
    /** On an rvalue, the value is moved out (returned by value, so
     *  `for (auto h : tracker.offline_get().value())` is safe). */
    T value() &&
    {
        check();
        return std::move(*value_);
    }

    template <class U>
    T value_or(U &&fallback) const &
    {
        return value_ ? *value_ : static_cast<T>(std::forward<U>(fallback));
    }
    template <class U>
    T value_or(U &&fallback) &&
    {
        return value_ ? std::move(*value_) : static_cast<T>(std::forward<U>(fallback));
    }

    T &operator*() & noexcept { return *value_; }
    const T &operator*() const & noexcept { return *value_; }
    T operator*() && noexcept(std::is_nothrow_move_constructible_v<T>) { return std::move(*value_); }
    T *operator->() noexcept { return &*value_; }
    const T *operator->() const noexcept { return &*value_; }

private:
    void check() const
    {
        if (!value_)
            throw Error(status_.ok() ? Status(AT_ERR_INTERNAL, "attracker::Result holds no value") : status_);
    }

    Status status_;
    std::optional<T> value_;
};

/* ---- callbacks ------------------------------------------------------------ */

/** Outcome of flush / offline_dispatch. Counts are hits. */
struct DispatchResult {
    Status status;             /**< AT_OK, AT_ERR_NETWORK, AT_ERR_KEY_REJECTED, AT_ERR_CANCELLED, AT_ERR_STORAGE */
    std::uint64_t sent = 0;    /**< acknowledged by the collector (and deleted) */
    std::uint64_t failed = 0;  /**< reached the server and failed; still queued */
    std::uint64_t dropped = 0; /**< dropped by policy during the run */

    bool ok() const noexcept { return status.ok(); }
};

/** Completion of track_event / send_hit / set_offline_mode and of identify /
 *  alias / group / screen: called exactly once. */
using Completion = std::function<void(Status)>;
/** Completion of flush / offline_dispatch: called exactly once. */
using DispatchCompletion = std::function<void(const DispatchResult &)>;
/** A log line; the string_view is valid only during the call. */
using LogCallback = std::function<void(LogLevel, std::string_view)>;
/** Hits dropped without an acknowledgement: their message ids, valid only
 *  during the call. */
using DropCallback = std::function<void(DropReason, const std::vector<std::string_view> &)>;
/** A newly applied remote configuration document (JSON, as fetched). */
using RemoteConfigCallback = std::function<void(const std::string &)>;

namespace detail {

/** How deep this thread is inside attracker callbacks (see Tracker::reset). */
inline thread_local int callback_depth = 0;

struct CallbackScope {
    CallbackScope() noexcept { ++callback_depth; }
    ~CallbackScope() { --callback_depth; }
    CallbackScope(const CallbackScope &) = delete;
    CallbackScope &operator=(const CallbackScope &) = delete;
};

// The trampolines own nothing but what user_data says; they never throw.

inline void completion_trampoline(at_status status, void *user_data) noexcept
{
    CallbackScope scope; // outlives `fn`: destroying the captures is still "inside"
    std::unique_ptr<Completion> fn(static_cast<Completion *>(user_data));
    try {
        (*fn)(Status(status));
    } catch (...) {
        // A user exception must not unwind into the library's thread.
    }
}

inline void dispatch_trampoline(const at_dispatch_result *result, void *user_data) noexcept
{
    CallbackScope scope;
    std::unique_ptr<DispatchCompletion> fn(static_cast<DispatchCompletion *>(user_data));
    try {
        DispatchResult r;
        if (result != nullptr) {
            r.status = Status(result->status);
            r.sent = result->sent;
            r.failed = result->failed;
            r.dropped = result->dropped;
        } else {
            r.status = Status(AT_ERR_INTERNAL, "no dispatch result");
        }
        (*fn)(r);
    } catch (...) {
    }
}

inline void log_trampoline(at_log_level level, const char *message, void *user_data) noexcept
{
    CallbackScope scope;
    try {
        (*static_cast<LogCallback *>(user_data))(static_cast<LogLevel>(level),
                                                  message != nullptr ? std::string_view(message) : std::string_view());
    } catch (...) {
    }
}

inline void drop_trampoline(at_drop_reason reason, const char *const *message_ids, std::size_t count,
                            void *user_data) noexcept
{
    CallbackScope scope;
    try {
        std::vector<std::string_view> ids;
        ids.reserve(count);
        for (std::size_t i = 0; i < count; i++)
            ids.emplace_back(message_ids != nullptr && message_ids[i] != nullptr ? message_ids[i] : "");
        (*static_cast<DropCallback *>(user_data))(static_cast<DropReason>(reason), ids);
    } catch (...) {
    }
}

inline void remote_config_trampoline(const char *json, void *user_data) noexcept
{
    CallbackScope scope;
    try {
        const std::string document = json != nullptr ? std::string(json) : std::string();
        (*static_cast<RemoteConfigCallback *>(user_data))(document);
    } catch (...) {
    }
}

/** A string the library returned owned (at_visitor_id, at_user_id,
 *  at_remote_config_json, at_last_send_error). */
struct StringFree {
    void operator()(char *s) const noexcept { at_string_free(s); }
};
using OwnedString = std::unique_ptr<char, StringFree>;

/** Copies `in` into `out` (NUL-terminated); refuses an embedded NUL. */
inline Status c_string(std::string_view in, std::string &out, const char *function, const char *argument)
{
    if (in.find('\0') != std::string_view::npos)
        return Status(AT_ERR_INVALID_ARGUMENT,
                      std::string(function) + ": " + argument + " contains a NUL byte");
    out.assign(in.data(), in.size());
    return Status();
}

/** A duration in whole ms as uint32_t; false when negative or too large. */
inline bool to_u32_ms(std::chrono::milliseconds d, std::uint32_t &out) noexcept
{
    if (d.count() < 0 || d.count() > static_cast<std::chrono::milliseconds::rep>(UINT32_MAX))
        return false;
    out = static_cast<std::uint32_t>(d.count());
    return true;
}

/** Runs `call(fn, user_data)` with `done` handed to the trampoline: on AT_OK
 *  the trampoline owns it (it may already have run), otherwise it is freed here. */
template <class Fn, class Trampoline, class Call>
Status call_with_completion(Fn done, Trampoline trampoline, Call &&call)
{
    std::unique_ptr<Fn> holder;
    if (done)
        holder = std::make_unique<Fn>(std::move(done));
    const at_status code = call(holder ? trampoline : nullptr, static_cast<void *>(holder.get()));
    Status status = Status::from_call(code); // before anything else touches at_last_error
    if (code == AT_OK)
        (void)holder.release();
    return status;
}

} // namespace detail

/* ---- hits ----------------------------------------------------------------- */

/** A non-owning view of one stored hit (an immutable snapshot). Valid while the
 *  HitList or Hit it comes from lives; so are the string_views it returns. */
class HitView {
public:
    HitView() noexcept = default;
    explicit HitView(const at_hit *hit) noexcept : hit_(hit) {}

    const at_hit *get() const noexcept { return hit_; }
    explicit operator bool() const noexcept { return hit_ != nullptr; }

    /** Store order, the cursor of Tracker::offline_get_page. */
    std::uint64_t id() const noexcept { return at_hit_id(hit_); }
    /** A URL hit's URL; for an event the batch URL it is posted to. */
    std::string_view url() const noexcept { return to_view(at_hit_url(hit_)); }
    /** The event name or hit type ("" for a URL hit sent without one). */
    std::string_view type() const noexcept { return to_view(at_hit_type(hit_)); }
    /** UUID v4, the collector's deduplication key. */
    std::string_view message_id() const noexcept { return to_view(at_hit_message_id(hit_)); }
    /** An event's JSON properties as given; nullopt for a URL hit. */
    std::optional<std::string_view> body() const noexcept
    {
        const char *b = at_hit_body(hit_);
        if (b == nullptr)
            return std::nullopt;
        return std::string_view(b);
    }
    bool is_event() const noexcept { return at_hit_body(hit_) != nullptr; }
    /** Creation time, Unix milliseconds. */
    std::int64_t created_ms() const noexcept { return at_hit_creation_date_ms(hit_); }
    std::chrono::system_clock::time_point created() const noexcept
    {
        return std::chrono::system_clock::time_point(std::chrono::milliseconds(created_ms()));
    }
    std::uint32_t retry_count() const noexcept { return at_hit_retry_count(hit_); }
    bool is_offline() const noexcept { return at_hit_is_offline(hit_); }

protected:
    static std::string_view to_view(const char *s) noexcept { return s != nullptr ? std::string_view(s) : std::string_view(); }

    const at_hit *hit_ = nullptr;
};

/** A hit owned on its own (Tracker::offline_oldest / offline_latest); has every
 *  HitView reader. */
class Hit : public HitView {
public:
    Hit() noexcept = default;
    /** Adopts a hit from at_offline_oldest / at_offline_latest. */
    explicit Hit(at_hit *hit) noexcept : HitView(hit) {}
    ~Hit() { at_hit_free(const_cast<at_hit *>(hit_)); }

    Hit(Hit &&other) noexcept : HitView(std::exchange(other.hit_, nullptr)) {}
    Hit &operator=(Hit &&other) noexcept
    {
        if (this != &other) {
            at_hit_free(const_cast<at_hit *>(hit_));
            hit_ = std::exchange(other.hit_, nullptr);
        }
        return *this;
    }
    Hit(const Hit &) = delete;
    Hit &operator=(const Hit &) = delete;

    HitView view() const noexcept { return HitView(hit_); }
    /** Gives up ownership: free the result with at_hit_free. */
    at_hit *release() noexcept { return const_cast<at_hit *>(std::exchange(hit_, nullptr)); }
};

/** Stored hits, oldest first; iterable (yields HitView). */
class HitList {
public:
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = HitView;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = HitView;

        iterator() noexcept = default;
        iterator(const at_hit_list *list, std::size_t index) noexcept : list_(list), index_(index) {}

        HitView operator*() const noexcept { return HitView(at_hit_list_get(list_, index_)); }
        iterator &operator++() noexcept
        {
            ++index_;
            return *this;
        }
        iterator operator++(int) noexcept
        {
            iterator old = *this;
            ++index_;
            return old;
        }
        friend bool operator==(const iterator &a, const iterator &b) noexcept
        {
            return a.list_ == b.list_ && a.index_ == b.index_;
        }
        friend bool operator!=(const iterator &a, const iterator &b) noexcept { return !(a == b); }

    private:
        const at_hit_list *list_ = nullptr;
        std::size_t index_ = 0;
    };
    using const_iterator = iterator;

    HitList() noexcept = default;
    /** Adopts a list from at_offline_get / at_offline_get_page. */
    explicit HitList(at_hit_list *list) noexcept : list_(list) {}
    ~HitList() { at_hit_list_free(list_); }

    HitList(HitList &&other) noexcept : list_(std::exchange(other.list_, nullptr)) {}
    HitList &operator=(HitList &&other) noexcept
    {
        if (this != &other) {
            at_hit_list_free(list_);
            list_ = std::exchange(other.list_, nullptr);
        }
        return *this;
    }
    HitList(const HitList &) = delete;
    HitList &operator=(const HitList &) = delete;

    std::size_t size() const noexcept { return at_hit_list_len(list_); }
    bool empty() const noexcept { return size() == 0; }
    /** An empty view when `index` is out of range. */
    HitView operator[](std::size_t index) const noexcept { return HitView(at_hit_list_get(list_, index)); }
    HitView front() const noexcept { return (*this)[0]; }
    /** The newest hit of the list: its id() is the next page's cursor. */
    HitView back() const noexcept { return empty() ? HitView() : (*this)[size() - 1]; }
    iterator begin() const noexcept { return iterator(list_, 0); }
    iterator end() const noexcept { return iterator(list_, size()); }

    const at_hit_list *get() const noexcept { return list_; }
    /** Gives up ownership: free the result with at_hit_list_free. */
    at_hit_list *release() noexcept { return std::exchange(list_, nullptr); }

private:
    at_hit_list *list_ = nullptr;
};

/* ---- requests: the host transport and exported batches -------------------- */

/** A non-owning view of an HTTP request the host performs. */
class RequestView {
public:
    RequestView() noexcept = default;
    explicit RequestView(const at_request *request) noexcept : request_(request) {}

    const at_request *get() const noexcept { return request_; }
    explicit operator bool() const noexcept { return request_ != nullptr; }

    /** "GET" or "POST". */
    std::string_view method() const noexcept { return to_view(at_request_method(request_)); }
    std::string_view url() const noexcept { return to_view(at_request_url(request_)); }
    std::size_t header_count() const noexcept { return at_request_header_count(request_); }
    std::string_view header_name(std::size_t index) const noexcept
    {
        return to_view(at_request_header_name(request_, index));
    }
    std::string_view header_value(std::size_t index) const noexcept
    {
        return to_view(at_request_header_value(request_, index));
    }
    /** Every header as (name, value). */
    std::vector<std::pair<std::string_view, std::string_view>> headers() const
    {
        std::vector<std::pair<std::string_view, std::string_view>> out;
        out.reserve(header_count());
        for (std::size_t i = 0; i < header_count(); i++)
            out.emplace_back(header_name(i), header_value(i));
        return out;
    }
    /** The body bytes (empty for GET). */
    std::string_view body() const noexcept
    {
        std::size_t len = 0;
        const std::uint8_t *bytes = at_request_body(request_, &len);
        if (bytes == nullptr)
            return std::string_view();
        return std::string_view(reinterpret_cast<const char *>(bytes), len);
    }

protected:
    static std::string_view to_view(const char *s) noexcept { return s != nullptr ? std::string_view(s) : std::string_view(); }

    const at_request *request_ = nullptr;
};

/** How a host transport request failed without an HTTP answer. */
enum class TransportError : std::int32_t {
    Unreachable = AT_TRANSPORT_UNREACHABLE, /**< the server was not reached: no attempt counted */
    Failed = AT_TRANSPORT_FAILED,           /**< reached, then the exchange failed: an attempt */
};

/** A request given to the host transport (Config::transport). Move it to where
 *  the HTTP exchange ends, then call complete() or fail() exactly once, from any
 *  thread (also after its Tracker is gone). Destroyed without either, it ends as
 *  TransportError::Unreachable (so the library neither waits for its timeout
 *  nor counts an attempt). */
class TransportRequest : public RequestView {
public:
    TransportRequest() noexcept = default;
    /** Adopts a request given to an at_transport_fn. */
    explicit TransportRequest(at_request *request) noexcept : RequestView(request) {}
    ~TransportRequest()
    {
        if (request_ != nullptr)
            (void)at_transport_complete(owned(), AT_TRANSPORT_UNREACHABLE, 0,
                                        "the host transport dropped the request without completing it");
    }

    TransportRequest(TransportRequest &&other) noexcept : RequestView(std::exchange(other.request_, nullptr)) {}
    TransportRequest &operator=(TransportRequest &&other) noexcept
    {
        if (this != &other) {
            TransportRequest old(std::move(*this));
            request_ = std::exchange(other.request_, nullptr);
        }
        return *this;
    }
    TransportRequest(const TransportRequest &) = delete;
    TransportRequest &operator=(const TransportRequest &) = delete;

    /** The server answered `http_status` (100..599), with Retry-After when
     *  `retry_after` > 0. On success the request is freed and this is empty. */
    Status complete(int http_status, std::chrono::milliseconds retry_after = std::chrono::milliseconds(0))
    {
        return end(at_transport_complete(owned(), static_cast<std::int32_t>(http_status),
                                         static_cast<std::int64_t>(retry_after.count()), nullptr));
    }
    /** Reports the answer's Content-Type header; call it before complete()
     *  (optional, recommended): a 2xx HTML page answering a batch is a captive
     *  portal's, not the collector's acknowledgement, and the hits are kept.
     *  The request stays open. */
    Status set_response_content_type(std::string_view content_type)
    {
        std::string t;
        Status s = detail::c_string(content_type, t, "at_request_set_response_content_type", "content_type");
        if (!s.ok())
            return s;
        return Status::from_call(at_request_set_response_content_type(owned(), t.c_str()));
    }
    /** The exchange failed: `error` describes it. */
    Status fail(TransportError kind, std::string_view error)
    {
        std::string e;
        Status s = detail::c_string(error, e, "at_transport_complete", "error");
        if (!s.ok())
            return s;
        return end(at_transport_complete(owned(), static_cast<std::int32_t>(kind), 0, e.c_str()));
    }

    /** Gives up ownership: end the result with at_transport_complete. */
    at_request *release() noexcept { return const_cast<at_request *>(std::exchange(request_, nullptr)); }

private:
    at_request *owned() const noexcept { return const_cast<at_request *>(request_); }
    Status end(at_status code)
    {
        Status s = Status::from_call(code);
        if (s.ok())
            request_ = nullptr; // freed by the library
        return s;
    }
};

/** A batch of stored events leased by Tracker::offline_export_batch for the host
 *  to upload itself (a POST). End it with ack(true) once uploaded, ack(false) to
 *  give the events back; destroyed without ack it gives them back. It must not
 *  outlive its Tracker (like a HitView its HitList). */
class ExportedBatch : public RequestView {
public:
    ExportedBatch() noexcept = default;
    /** Adopts a batch from at_offline_export_batch on `tracker`. */
    ExportedBatch(at_tracker *tracker, at_request *batch) noexcept : RequestView(batch), tracker_(tracker) {}
    ~ExportedBatch()
    {
        if (request_ != nullptr)
            (void)at_offline_ack_batch(tracker_, const_cast<at_request *>(request_), false);
    }

    ExportedBatch(ExportedBatch &&other) noexcept
        : RequestView(std::exchange(other.request_, nullptr)), tracker_(std::exchange(other.tracker_, nullptr))
    {
    }
    ExportedBatch &operator=(ExportedBatch &&other) noexcept
    {
        if (this != &other) {
            ExportedBatch old(std::move(*this));
            request_ = std::exchange(other.request_, nullptr);
            tracker_ = std::exchange(other.tracker_, nullptr);
        }
        return *this;
    }
    ExportedBatch(const ExportedBatch &) = delete;
    ExportedBatch &operator=(const ExportedBatch &) = delete;

    /** at_offline_ack_batch: `delivered` deletes the events, false returns them
     *  to the queue. On success, and on AT_ERR_CLOSED (the events return at the
     *  next open), the batch is freed and this is empty; after another error it
     *  is kept, to be acked again. */
    Status ack(bool delivered)
    {
        Status s = Status::from_call(at_offline_ack_batch(tracker_, const_cast<at_request *>(request_), delivered));
        if (s.ok() || s.code() == AT_ERR_CLOSED)
            request_ = nullptr;
        return s;
    }

private:
    at_tracker *tracker_ = nullptr;
};

/** The host's HTTP stack (Config::transport): start the request and return
 *  without waiting; complete it later from any thread. */
using Transport = std::function<void(TransportRequest)>;

namespace detail {

inline void transport_trampoline(at_request *request, void *user_data) noexcept
{
    CallbackScope scope;
    TransportRequest owned(request); // ends the request if the host did not take it
    try {
        (*static_cast<Transport *>(user_data))(std::move(owned));
    } catch (...) {
    }
}

/** The log, drop, remote-config and transport callbacks of a Config or a Tracker. */
struct Callbacks {
    std::unique_ptr<LogCallback> log;
    LogLevel log_min = LogLevel::Info;
    std::unique_ptr<DropCallback> drop;
    std::unique_ptr<RemoteConfigCallback> remote_config;
    std::unique_ptr<Transport> transport;

    /** Copies of every callback (for a new tracker). */
    Callbacks copy() const
    {
        Callbacks c;
        if (log)
            c.log = std::make_unique<LogCallback>(*log);
        c.log_min = log_min;
        if (drop)
            c.drop = std::make_unique<DropCallback>(*drop);
        if (remote_config)
            c.remote_config = std::make_unique<RemoteConfigCallback>(*remote_config);
        if (transport)
            c.transport = std::make_unique<Transport>(*transport);
        return c;
    }

    /** Points `config` at these callbacks (only those that are set). */
    at_status install(at_config *config) const noexcept
    {
        at_status code = AT_OK;
        if (log)
            code = at_config_set_log_callback(config, log_trampoline, log.get(), static_cast<at_log_level>(log_min));
        if (code == AT_OK && drop)
            code = at_config_set_drop_callback(config, drop_trampoline, drop.get());
        if (code == AT_OK && remote_config)
            code = at_config_set_remote_config_callback(config, remote_config_trampoline, remote_config.get());
        if (code == AT_OK && transport)
            code = at_config_set_transport(config, transport_trampoline, transport.get());
        return code;
    }

    /** Gives the callbacks up without destroying them (see Tracker::reset). */
    void leak() noexcept
    {
        (void)log.release();
        (void)drop.release();
        (void)remote_config.release();
        (void)transport.release();
    }
};

} // namespace detail

/* ---- configuration -------------------------------------------------------- */

class Tracker;

/** Owns an at_config. Fluent setters; the first failure is kept in status()
 *  (later setters still apply) and Tracker::open reports it. Not thread-safe. */
class Config {
public:
    /** Every default (see the README). Throws std::bad_alloc if at_config_new fails. */
    Config() : config_(at_config_new())
    {
        if (config_ == nullptr)
            throw std::bad_alloc();
    }
    ~Config() { at_config_free(config_); }

    Config(Config &&other) noexcept
        : config_(std::exchange(other.config_, nullptr)),
          status_(std::move(other.status_)),
          callbacks_(std::move(other.callbacks_))
    {
    }
    Config &operator=(Config &&other) noexcept
    {
        if (this != &other) {
            at_config_free(config_);
            config_ = std::exchange(other.config_, nullptr);
            status_ = std::move(other.status_);
            callbacks_ = std::move(other.callbacks_);
        }
        return *this;
    }
    Config(const Config &) = delete;
    Config &operator=(const Config &) = delete;

    /** AT_OK, or the first setter failure. */
    const Status &status() const noexcept { return status_; }
    bool ok() const noexcept { return status_.ok(); }
    at_config *get() const noexcept { return config_; }

    /** Required: the SQLite file ("<app-private dir>/attracker.db"). */
    Config &storage_path(std::string_view path)
    {
        return set_string("at_config_set_storage_path", "path", path, at_config_set_storage_path);
    }
    /** Required: the collector's base URL (events go to {url}/v1/batch). */
    Config &endpoint(std::string_view base_url)
    {
        return set_string("at_config_set_endpoint", "base_url", base_url, at_config_set_endpoint);
    }
    /** "" removes it. Never logged. */
    Config &api_key(std::string_view key) { return set_string("at_config_set_api_key", "key", key, at_config_set_api_key); }
    Config &auth_scheme(AuthScheme scheme)
    {
        return record(at_config_set_auth_scheme(config_, static_cast<at_auth_scheme>(scheme)));
    }
    Config &offline_mode(OfflineMode mode)
    {
        return record(at_config_set_offline_mode(config_, static_cast<at_offline_mode>(mode)));
    }
    Config &durability(Durability durability)
    {
        return record(at_config_set_durability(config_, static_cast<at_durability>(durability)));
    }
    Config &synchronous(Synchronous mode)
    {
        return record(at_config_set_synchronous(config_, static_cast<at_synchronous>(mode)));
    }
    /** 0 disables the timer trigger. */
    Config &flush_interval(std::chrono::milliseconds interval)
    {
        return set_ms("at_config_set_flush_interval_ms", interval, at_config_set_flush_interval_ms);
    }
    /** 0 disables the threshold trigger. */
    Config &flush_threshold(std::uint32_t hits) { return record(at_config_set_flush_threshold(config_, hits)); }
    Config &max_queue_size(std::uint32_t hits) { return record(at_config_set_max_queue_size(config_, hits)); }
    Config &max_store_bytes(std::uint64_t bytes) { return record(at_config_set_max_store_bytes(config_, bytes)); }
    Config &max_event_bytes(std::uint32_t bytes) { return record(at_config_set_max_event_bytes(config_, bytes)); }
    /** Failed attempts that reached the collector before a hit is dropped
     *  (DropReason::AttemptsExhausted). Default 0: unlimited, a hit is retried
     *  until delivered or older than max_hit_age. */
    Config &max_attempts(std::uint32_t attempts) { return record(at_config_set_max_attempts(config_, attempts)); }
    /** Age past which a hit that fails to send is dropped (DropReason::Expired).
     *  Default 30 days; 0 = no limit. Negative is AT_ERR_INVALID_ARGUMENT. */
    Config &max_hit_age(std::chrono::milliseconds age)
    {
        if (age.count() < 0)
            return record(Status(AT_ERR_INVALID_ARGUMENT, "at_config_set_max_hit_age_ms: negative age"));
        return record(at_config_set_max_hit_age_ms(config_, static_cast<std::uint64_t>(age.count())));
    }
    Config &max_batch_events(std::uint32_t events) { return record(at_config_set_max_batch_events(config_, events)); }
    Config &max_batch_bytes(std::uint32_t bytes) { return record(at_config_set_max_batch_bytes(config_, bytes)); }
    Config &gzip(bool enabled) { return record(at_config_set_gzip(config_, enabled)); }
    Config &timeouts(std::chrono::milliseconds connect, std::chrono::milliseconds request)
    {
        std::uint32_t c = 0, r = 0;
        if (!detail::to_u32_ms(connect, c) || !detail::to_u32_ms(request, r))
            return record(Status(AT_ERR_INVALID_ARGUMENT, "at_config_set_timeouts_ms: timeout out of range"));
        return record(at_config_set_timeouts_ms(config_, c, r));
    }
    Config &commit_window(std::chrono::milliseconds window)
    {
        return set_ms("at_config_set_commit_window_ms", window, at_config_set_commit_window_ms);
    }
    Config &busy_timeout(std::chrono::milliseconds timeout)
    {
        return set_ms("at_config_set_busy_timeout_ms", timeout, at_config_set_busy_timeout_ms);
    }
    /** Thread (default) or Polled: callbacks then run inside Tracker::poll. */
    Config &callback_mode(CallbackMode mode)
    {
        return record(at_config_set_callback_mode(config_, static_cast<at_callback_mode>(mode)));
    }
    /** Record "Application Backgrounded" / "Application Opened" (default true). */
    Config &track_lifecycle_events(bool enabled)
    {
        return record(at_config_set_track_lifecycle_events(config_, enabled));
    }
    /** Flush on Tracker::app_did_enter_background (default true). */
    Config &flush_on_background(bool enabled) { return record(at_config_set_flush_on_background(config_, enabled)); }
    /** Report drops of stored hits to the collector as events named "Attracker
     *  Hits Dropped" (properties.dropped counts them by reason), stored like
     *  any hit, so it can account for every hit the store accepted (default
     *  true). */
    Config &report_drops(bool enabled) { return record(at_config_set_report_drops(config_, enabled)); }
    /** The endpoint, the remote configuration URL and every hit URL must be
     *  https: Tracker::open refuses an http one, send_hit an http URL
     *  (AT_ERR_INVALID_ARGUMENT). Default false. */
    Config &require_https(bool required) { return record(at_config_set_require_https(config_, required)); }
    /** Accept a store directory writable by every user, e.g. /tmp (default
     *  false: Tracker::open refuses it with AT_ERR_INVALID_ARGUMENT). */
    Config &allow_world_writable_directory(bool allowed)
    {
        return record(at_config_set_allow_world_writable_directory(config_, allowed));
    }
    /** DEVELOPMENT ONLY: TLS certificates and host names are not verified; every
     *  Tracker::open with it logs a WARN. Default false. */
    Config &insecure_tls_for_development(bool insecure)
    {
        return record(at_config_set_insecure_tls_for_development(config_, insecure));
    }
    /** Fetch a remote configuration from `url` (http or https) at start and
     *  every remote_config_interval; nullopt turns it off (the default). The
     *  last good document is kept in the store and applies from the next start. */
    Config &remote_config_url(std::optional<std::string_view> url)
    {
        return set_optional_string("at_config_set_remote_config_url", "url", url, at_config_set_remote_config_url);
    }
    /** How often the remote configuration is fetched again (default 1 h; at least 100 ms). */
    Config &remote_config_interval(std::chrono::milliseconds interval)
    {
        return set_ms("at_config_set_remote_config_interval_ms", interval, at_config_set_remote_config_interval_ms);
    }
    /** Lets a remote configuration move the endpoint to `host` (a host name:
     *  no scheme, port or path). None is allowed by default. */
    Config &add_allowed_endpoint_host(std::string_view host)
    {
        return set_string("at_config_add_allowed_endpoint_host", "host", host, at_config_add_allowed_endpoint_host);
    }
    /** What Tracker::set_tracking_enabled(false) does with queued hits (default Keep). */
    Config &opt_out_policy(OptOutPolicy policy)
    {
        return record(at_config_set_opt_out_policy(config_, static_cast<at_opt_out_policy>(policy)));
    }
    /** Log lines at `min` or more severe; an empty function removes it. Each
     *  tracker opened from this config gets its own copy. */
    Config &log_callback(LogCallback fn, LogLevel min = LogLevel::Info)
    {
        return set_callback(callbacks_.log, std::move(fn), detail::log_trampoline,
                            [this, min](at_config *config, at_log_fn trampoline, void *user_data) {
                                const at_status code = at_config_set_log_callback(
                                    config, trampoline, user_data, static_cast<at_log_level>(min));
                                if (code == AT_OK)
                                    callbacks_.log_min = min;
                                return code;
                            });
    }
    /** Every hit dropped without an acknowledgement; an empty function removes
     *  it. Each tracker opened from this config gets its own copy. */
    Config &drop_callback(DropCallback fn)
    {
        return set_callback(callbacks_.drop, std::move(fn), detail::drop_trampoline, at_config_set_drop_callback);
    }
    /** Each newly applied remote configuration document, on the callback
     *  thread (or in Tracker::poll); not for the cached document applied at
     *  start, nor for 304 Not Modified. An empty function removes it. Each
     *  tracker opened from this config gets its own copy. */
    Config &remote_config_callback(RemoteConfigCallback fn)
    {
        return set_callback(callbacks_.remote_config, std::move(fn), detail::remote_config_trampoline,
                            at_config_set_remote_config_callback);
    }
    /** Replaces libcurl with the host's HTTP stack: `fn` gets each request on
     *  the callback thread (or in Tracker::poll), starts it and returns; the
     *  request is completed later (TransportRequest::complete / fail). An empty
     *  function restores libcurl. Each tracker gets its own copy. */
    Config &transport(Transport fn)
    {
        return set_callback(callbacks_.transport, std::move(fn), detail::transport_trampoline, at_config_set_transport);
    }
    /** Trusts only the CAs in the PEM file at `path` (a private CA), instead of
     *  the system's; checked now (readable, with a certificate), read by
     *  libcurl at each handshake. nullopt removes it (the default). Replaces a
     *  ca_bundle_pem. libcurl transport only. The config copies the string. */
    Config &ca_bundle_path(std::optional<std::string_view> path)
    {
        return set_optional_string("at_config_set_ca_bundle_path", "path", path, at_config_set_ca_bundle_path);
    }
    /** Trusts only the CAs in `pem` (PEM text with at least one certificate),
     *  instead of the system's. nullopt removes it (the default). Replaces a
     *  ca_bundle_path. libcurl transport only. The config copies the text. */
    Config &ca_bundle_pem(std::optional<std::string_view> pem)
    {
        return set_optional_string("at_config_set_ca_bundle_pem", "pem", pem, at_config_set_ca_bundle_pem);
    }
    /** Pins the collector's public key: "sha256//<base64>[;sha256//<base64>]",
     *  the SHA-256 of the key's DER SubjectPublicKeyInfo. A mismatch sends
     *  nothing, keeps the hits uncounted and logs an ERROR. nullopt removes the
     *  pins (the default). libcurl transport only. The config copies the string. */
    Config &pinned_public_key(std::optional<std::string_view> pins)
    {
        return set_optional_string("at_config_set_pinned_public_key", "pins", pins, at_config_set_pinned_public_key);
    }

    /* -- the analytics client: context, sessions, consent -- */

    /** The host's part of every event's `context` from the first event on: a
     *  JSON object of top-level keys such as "app", "device", "screen",
     *  "network" (at most 8192 bytes; the config copies it). The library adds
     *  "library", "os", "locale" and "timezone"; a key set here replaces the
     *  library's. "library", "attracker" and "sessionId" are refused. Replaces
     *  an earlier call's. Tracker::set_context changes it at run time. */
    Config &context(std::string_view context_json)
    {
        return set_string("at_config_set_context", "context_json", context_json, at_config_set_context);
    }
    /** A hit after more than `foreground` without activity, or after more than
     *  `background` in the background, starts a new session (defaults 30 min
     *  and 5 min; each from 1 s to 7 days, else AT_ERR_INVALID_ARGUMENT). */
    Config &session_timeouts(std::chrono::milliseconds foreground, std::chrono::milliseconds background)
    {
        std::uint32_t f = 0, b = 0;
        if (!detail::to_u32_ms(foreground, f) || !detail::to_u32_ms(background, b))
            return record(Status(AT_ERR_INVALID_ARGUMENT, "at_config_set_session_timeouts_ms: timeout out of range"));
        return record(at_config_set_session_timeouts_ms(config_, f, b));
    }
    /** Record "Session Started" when a session starts and "Session Ended"
     *  (timestamped at its last activity) when the next one starts (default false). */
    Config &track_session_events(bool enabled) { return record(at_config_set_track_session_events(config_, enabled)); }
    /** The consent a new store starts with until Tracker::set_consent, which is
     *  kept in the store from then on (default Consent::Granted). */
    Config &initial_consent(Consent consent)
    {
        return record(at_config_set_initial_consent(config_, static_cast<at_consent>(consent)));
    }

private:
    friend class Tracker;

    Config &record(at_status code) { return record(Status::from_call(code)); }
    Config &record(Status status)
    {
        if (!status.ok() && status_.ok())
            status_ = std::move(status);
        return *this;
    }
    template <class Setter>
    Config &set_string(const char *function, const char *argument, std::string_view value, Setter setter)
    {
        std::string s;
        Status checked = detail::c_string(value, s, function, argument);
        if (!checked.ok())
            return record(std::move(checked));
        return record(setter(config_, s.c_str()));
    }
    /** nullopt is NULL (the setting's default); a string goes as set_string. */
    template <class Setter>
    Config &set_optional_string(const char *function, const char *argument,
                                std::optional<std::string_view> value, Setter setter)
    {
        if (!value)
            return record(setter(config_, nullptr));
        return set_string(function, argument, *value, setter);
    }
    /** One of the config's callbacks: `setter(config, trampoline, fn)` with a
     *  copy of `fn` the config owns from then on, or (an empty `fn`) with NULL
     *  and NULL, which removes it. `slot` changes only if the C setter accepts. */
    template <class Fn, class Trampoline, class Setter>
    Config &set_callback(std::unique_ptr<Fn> &slot, Fn fn, Trampoline trampoline, Setter setter)
    {
        std::unique_ptr<Fn> holder;
        if (fn)
            holder = std::make_unique<Fn>(std::move(fn));
        const Status s = Status::from_call(setter(config_, holder ? trampoline : nullptr, holder.get()));
        if (s.ok())
            slot = std::move(holder);
        return record(s);
    }
    template <class Setter>
    Config &set_ms(const char *function, std::chrono::milliseconds value, Setter setter)
    {
        std::uint32_t ms = 0;
        if (!detail::to_u32_ms(value, ms))
            return record(Status(AT_ERR_INVALID_ARGUMENT, std::string(function) + ": out of range"));
        return record(setter(config_, ms));
    }

    at_config *config_ = nullptr;
    Status status_;
    // The config's own callbacks; the C config points at them between opens.
    detail::Callbacks callbacks_;
};

/* ---- the tracker ---------------------------------------------------------- */

/** Owns an at_tracker and the log/drop callbacks it calls. Move-only. */
class Tracker {
public:
    /** An empty tracker (every call returns AT_ERR_NULL_ARGUMENT). */
    Tracker() noexcept = default;

    /** Opens (or creates) the store and starts the tracker. Returns the config's
     *  first setter failure, or at_tracker_new's error. The config may be
     *  destroyed afterwards. Not safe concurrently with other use of `config`. */
    static Result<Tracker> open(const Config &config)
    {
        if (!config.status().ok())
            return config.status();
        // This tracker's own copies of the callbacks: the C config points at
        // them for at_tracker_new (which copies it), then back at the config's.
        detail::Callbacks callbacks = config.callbacks_.copy();
        at_config *c = config.config_;
        const at_status installed = callbacks.install(c);
        if (installed != AT_OK) {
            Status failed = Status::from_call(installed);
            (void)config.callbacks_.install(c);
            return failed;
        }
        at_tracker *handle = nullptr;
        Status status = Status::from_call(at_tracker_new(c, &handle));
        (void)config.callbacks_.install(c);
        if (!status.ok())
            return status;
        return Tracker(handle, std::move(callbacks));
    }

    /** at_tracker_free: closes if needed (2 s), commits, runs or cancels pending
     *  callbacks, then frees the log/drop callbacks. */
    ~Tracker() { reset(); }

    Tracker(Tracker &&other) noexcept
        : handle_(std::exchange(other.handle_, nullptr)), callbacks_(std::move(other.callbacks_))
    {
    }
    Tracker &operator=(Tracker &&other) noexcept
    {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, nullptr);
            callbacks_ = std::move(other.callbacks_);
        }
        return *this;
    }
    Tracker(const Tracker &) = delete;
    Tracker &operator=(const Tracker &) = delete;

    at_tracker *get() const noexcept { return handle_; }
    explicit operator bool() const noexcept { return handle_ != nullptr; }

    /** Frees the tracker now (as the destructor); the object becomes empty. */
    void reset() noexcept
    {
        at_tracker *handle = std::exchange(handle_, nullptr);
        detail::Callbacks callbacks = std::move(callbacks_);
        at_tracker_free(handle);
        if (detail::callback_depth > 0) {
            // Freed from inside a callback: on the library's callback thread,
            // at_tracker_free returns before the thread has run the log lines,
            // drop reports and transport sends still queued, which use these.
            // Leak them instead.
            callbacks.leak();
        }
    }

    /** at_tracker_close: stops accepting work (later calls: AT_ERR_CLOSED),
     *  sends what it can within `timeout`, runs or cancels pending callbacks and
     *  joins the threads. The object stays valid until destroyed. */
    Status close(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000))
    {
        std::uint32_t ms = 0;
        if (!detail::to_u32_ms(timeout, ms))
            ms = timeout.count() < 0 ? 0 : UINT32_MAX;
        return Status::from_call(at_tracker_close(handle_, ms));
    }

    /** CallbackMode::Polled: runs up to `max` pending callbacks (0 = all) on this
     *  thread and returns how many ran; 0 in thread mode. */
    std::uint32_t poll(std::uint32_t max = 0) noexcept { return at_tracker_poll(handle_, max); }

    /** Waits until every hit accepted before the call is committed. */
    Status sync() { return Status::from_call(at_tracker_sync(handle_)); }

    Result<Stats> stats()
    {
        Stats s{};
        const at_status code = at_tracker_stats(handle_, &s, sizeof s);
        if (code != AT_OK)
            return Status::from_call(code);
        return s;
    }

    /** An event: `type` and a JSON object (nullopt means {}). `done` runs once
     *  the hit is committed (only if this returns ok). */
    Status track_event(std::string_view type, std::optional<std::string_view> properties_json = std::nullopt,
                       Completion done = nullptr)
    {
        std::string t, p;
        Status s = detail::c_string(type, t, "at_track_event", "type");
        if (s.ok() && properties_json)
            s = detail::c_string(*properties_json, p, "at_track_event", "properties_json");
        if (!s.ok())
            return s;
        const char *props = properties_json ? p.c_str() : nullptr;
        return detail::call_with_completion(std::move(done), detail::completion_trampoline,
                                            [&](at_completion_fn fn, void *user_data) {
                                                return at_track_event(handle_, t.c_str(), props, fn, user_data);
                                            });
    }

    /** A URL hit sent as-is with one GET; `type` labels it (may be nullopt). */
    Status send_hit(std::string_view url, std::optional<std::string_view> type = std::nullopt, Completion done = nullptr)
    {
        std::string u, t;
        Status s = detail::c_string(url, u, "at_send_hit", "url");
        if (s.ok() && type)
            s = detail::c_string(*type, t, "at_send_hit", "type");
        if (!s.ok())
            return s;
        const char *label = type ? t.c_str() : nullptr;
        return detail::call_with_completion(std::move(done), detail::completion_trampoline,
                                            [&](at_completion_fn fn, void *user_data) {
                                                return at_send_hit(handle_, u.c_str(), label, fn, user_data);
                                            });
    }

    /** Sends what is due now (honours backoff); returns at once. */
    Status flush(DispatchCompletion done = nullptr)
    {
        return detail::call_with_completion(std::move(done), detail::dispatch_trampoline,
                                            [&](at_dispatch_fn fn, void *user_data) {
                                                return at_flush(handle_, fn, user_data);
                                            });
    }

    /** Sends every hit stored before the call, in any mode; returns at once. */
    Status offline_dispatch(DispatchCompletion done = nullptr)
    {
        return detail::call_with_completion(std::move(done), detail::dispatch_trampoline,
                                            [&](at_dispatch_fn fn, void *user_data) {
                                                return at_offline_dispatch(handle_, fn, user_data);
                                            });
    }

    /** For hits tracked after this returns; `done` runs once every hit accepted
     *  before the change is committed. */
    Status set_offline_mode(OfflineMode mode, Completion done = nullptr)
    {
        return detail::call_with_completion(std::move(done), detail::completion_trampoline,
                                            [&](at_completion_fn fn, void *user_data) {
                                                return at_set_offline_mode(
                                                    handle_, static_cast<at_offline_mode>(mode), fn, user_data);
                                            });
    }

    Result<OfflineMode> offline_mode()
    {
        at_offline_mode mode = 0;
        const at_status code = at_get_offline_mode(handle_, &mode);
        if (code != AT_OK)
            return Status::from_call(code);
        return static_cast<OfflineMode>(mode);
    }

    Status set_tracking_enabled(bool enabled) { return Status::from_call(at_set_tracking_enabled(handle_, enabled)); }
    Status set_network_reachable(bool reachable)
    {
        return Status::from_call(at_set_network_reachable(handle_, reachable));
    }

    /** Replaces the api key for every request from now on ("" removes it; the
     *  config's key is used again at the next start). After the collector
     *  refused the key (AT_ERR_KEY_REJECTED, Stats::key_rejected set), sending
     *  resumes with the new one. A refused key (spaces, control characters)
     *  is AT_ERR_INVALID_ARGUMENT and changes nothing. */
    Status set_api_key(std::string_view key)
    {
        std::string k;
        Status checked = detail::c_string(key, k, "at_set_api_key", "key");
        if (!checked.ok())
            return checked;
        return Status::from_call(at_set_api_key(handle_, k.c_str()));
    }

    /** Why the last send failed (e.g. "the collector rejected the api key (HTTP
     *  401); sending is paused"); nullopt when the last send succeeded or none
     *  has failed. */
    Result<std::optional<std::string>> last_send_error()
    {
        char *raw = nullptr;
        const at_status code = at_last_send_error(handle_, &raw);
        if (code != AT_OK)
            return Status::from_call(code);
        const detail::OwnedString owned(raw);
        if (!owned)
            return std::optional<std::string>();
        return std::optional<std::string>(std::string(owned.get()));
    }

    /** The app went to the background: records "Application Backgrounded" and
     *  (flush_on_background) sends what it can within `deadline`; `done` gets
     *  the tally once, before the deadline. Returns at once. */
    Status app_did_enter_background(std::chrono::milliseconds deadline, DispatchCompletion done = nullptr)
    {
        std::uint32_t ms = 0;
        if (!detail::to_u32_ms(deadline, ms))
            return Status(AT_ERR_INVALID_ARGUMENT, "at_app_did_enter_background: deadline out of range");
        return detail::call_with_completion(std::move(done), detail::dispatch_trampoline,
                                            [&](at_dispatch_fn fn, void *user_data) {
                                                return at_app_did_enter_background(handle_, ms, fn, user_data);
                                            });
    }

    /** The app is in the foreground again: records "Application Opened",
     *  resumes the flush timers and sends what is due. */
    Status app_will_enter_foreground() { return Status::from_call(at_app_will_enter_foreground(handle_)); }

    /* -- identity, opt-out, remote configuration -- */

    /** The visitor id sent as anonymousId with hits tracked from now on: a UUID
     *  v4 kept in the store, or the host's own (set_visitor_id). */
    Result<std::string> visitor_id()
    {
        char *raw = nullptr;
        const at_status code = at_visitor_id(handle_, &raw);
        if (code != AT_OK)
            return Status::from_call(code);
        const detail::OwnedString owned(raw); // freed even if the copy throws
        return std::string(owned ? owned.get() : "");
    }

    /** A new random visitor id, kept in the store (e.g. at logout); hits
     *  tracked before keep theirs. */
    Status reset_visitor_id() { return Status::from_call(at_visitor_id_reset(handle_)); }

    /** The host's own visitor id (UTF-8, 1 to 128 bytes, no control
     *  characters), kept in the store. On error the id is unchanged. */
    Status set_visitor_id(std::string_view id)
    {
        std::string s;
        Status checked = detail::c_string(id, s, "at_set_visitor_id", "visitor_id");
        if (!checked.ok())
            return checked;
        return Status::from_call(at_set_visitor_id(handle_, s.c_str()));
    }

    /** Stops collection (as set_tracking_enabled(false)) with `policy` for the
     *  hits already queued; how many were purged (0 with Keep).
     *  set_tracking_enabled(true) opts back in. */
    Result<std::uint64_t> opt_out(OptOutPolicy policy)
    {
        std::uint64_t purged = 0;
        const at_status code = at_opt_out(handle_, static_cast<at_opt_out_policy>(policy), &purged);
        if (code != AT_OK)
            return Status::from_call(code);
        return purged;
    }

    /** The remote configuration document in force (with the host's own keys);
     *  nullopt when there is none (no URL, or nothing fetched or cached yet). */
    Result<std::optional<std::string>> remote_config_json()
    {
        char *raw = nullptr;
        const at_status code = at_remote_config_json(handle_, &raw);
        if (code != AT_OK)
            return Status::from_call(code);
        const detail::OwnedString owned(raw);
        if (!owned)
            return std::optional<std::string>();
        return std::optional<std::string>(std::string(owned.get()));
    }

    /** Leases the next batch of stored events for the host to upload itself;
     *  nullopt when none waits. The batch must not outlive this tracker. */
    Result<std::optional<ExportedBatch>> offline_export_batch()
    {
        at_request *batch = nullptr;
        const at_status code = at_offline_export_batch(handle_, &batch);
        if (code != AT_OK)
            return Status::from_call(code);
        if (batch == nullptr)
            return std::optional<ExportedBatch>();
        return std::optional<ExportedBatch>(ExportedBatch(handle_, batch));
    }

    /* -- inspection of the store -- */

    /** Every stored hit, oldest first (prefer offline_get_page for big queues). */
    Result<HitList> offline_get()
    {
        at_hit_list *list = nullptr;
        const at_status code = at_offline_get(handle_, &list);
        if (code != AT_OK)
            return Status::from_call(code);
        return HitList(list);
    }

    /** At most `limit` hits with an id greater than `after_id` (0 for the first
     *  page, then the previous page's back().id()); empty at the end. */
    Result<HitList> offline_get_page(std::uint64_t after_id, std::uint32_t limit)
    {
        at_hit_list *list = nullptr;
        const at_status code = at_offline_get_page(handle_, after_id, limit, &list);
        if (code != AT_OK)
            return Status::from_call(code);
        return HitList(list);
    }

    /** The oldest stored hit; nullopt when the store is empty. */
    Result<std::optional<Hit>> offline_oldest() { return one_hit(at_offline_oldest); }
    /** The most recently stored hit; nullopt when the store is empty. */
    Result<std::optional<Hit>> offline_latest() { return one_hit(at_offline_latest); }

    Result<std::uint64_t> offline_count()
    {
        std::uint64_t n = 0;
        const at_status code = at_offline_count(handle_, &n);
        if (code != AT_OK)
            return Status::from_call(code);
        return n;
    }

    /** Deletes every stored hit (reported as DropReason::Deleted); how many. */
    Result<std::uint64_t> offline_delete()
    {
        std::uint64_t n = 0;
        const at_status code = at_offline_delete(handle_, &n);
        if (code != AT_OK)
            return Status::from_call(code);
        return n;
    }

    /** Deletes hits created more than `days` x 24 h ago; how many. */
    Result<std::uint64_t> offline_delete_older_than_days(std::uint32_t days)
    {
        std::uint64_t n = 0;
        const at_status code = at_offline_delete_older_than_days(handle_, days, &n);
        if (code != AT_OK)
            return Status::from_call(code);
        return n;
    }

    /** Deletes hits created before `cutoff` (whole ms); how many. */
    Result<std::uint64_t> offline_delete_older_than(std::chrono::system_clock::time_point cutoff)
    {
        const auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(cutoff.time_since_epoch()).count();
        std::uint64_t n = 0;
        const at_status code = at_offline_delete_older_than(handle_, static_cast<std::int64_t>(unix_ms), &n);
        if (code != AT_OK)
            return Status::from_call(code);
        return n;
    }

    /* -- the analytics client: identify, alias, group, screen, reset -- */

    /** Identifies the user (a Segment identify call): `user_id` (UTF-8, 1 to 256
     *  bytes, no control characters; nullopt keeps the current one) becomes
     *  the userId of every hit tracked from now on; `traits_json` (a JSON
     *  object, or nullopt) is merged over the traits kept so far. Both are
     *  stored before this returns and kept across restarts. `done` as for
     *  track_event. */
    Status identify(std::optional<std::string_view> user_id, std::optional<std::string_view> traits_json = std::nullopt,
                    Completion done = nullptr)
    {
        std::string u, tr;
        Status s;
        if (user_id)
            s = detail::c_string(*user_id, u, "at_identify", "user_id");
        if (s.ok() && traits_json)
            s = detail::c_string(*traits_json, tr, "at_identify", "traits_json");
        if (!s.ok())
            return s;
        const char *user = user_id ? u.c_str() : nullptr;
        const char *traits = traits_json ? tr.c_str() : nullptr;
        return detail::call_with_completion(std::move(done), detail::completion_trampoline,
                                            [&](at_completion_fn fn, void *user_data) {
                                                return at_identify(handle_, user, traits, fn, user_data);
                                            });
    }

    /** The user id in force (identify, alias); nullopt when none is set. */
    Result<std::optional<std::string>> user_id()
    {
        char *raw = nullptr;
        const at_status code = at_user_id(handle_, &raw);
        if (code != AT_OK)
            return Status::from_call(code);
        const detail::OwnedString owned(raw);
        if (!owned)
            return std::optional<std::string>();
        return std::optional<std::string>(std::string(owned.get()));
    }

    /** Links the current identity to `new_user_id` (a Segment alias call whose
     *  previousId is the current user id, or the anonymous id when none is
     *  set), then makes `new_user_id` the user id (stored before this returns). */
    Status alias(std::string_view new_user_id, Completion done = nullptr)
    {
        std::string u;
        Status s = detail::c_string(new_user_id, u, "at_alias", "new_user_id");
        if (!s.ok())
            return s;
        return detail::call_with_completion(std::move(done), detail::completion_trampoline,
                                            [&](at_completion_fn fn, void *user_data) {
                                                return at_alias(handle_, u.c_str(), fn, user_data);
                                            });
    }

    /** Associates the user with a group (a Segment group call): `group_id`
     *  (UTF-8, 1 to 256 bytes) and the group's traits (a JSON object, or nullopt). */
    Status group(std::string_view group_id, std::optional<std::string_view> traits_json = std::nullopt,
                 Completion done = nullptr)
    {
        std::string g, tr;
        Status s = detail::c_string(group_id, g, "at_group", "group_id");
        if (s.ok() && traits_json)
            s = detail::c_string(*traits_json, tr, "at_group", "traits_json");
        if (!s.ok())
            return s;
        const char *traits = traits_json ? tr.c_str() : nullptr;
        return detail::call_with_completion(std::move(done), detail::completion_trampoline,
                                            [&](at_completion_fn fn, void *user_data) {
                                                return at_group(handle_, g.c_str(), traits, fn, user_data);
                                            });
    }

    /** The user saw a screen (a Segment screen call): its `name` and
     *  properties (a JSON object, or nullopt), with the super properties
     *  merged in. Otherwise as track_event. */
    Status screen(std::string_view name, std::optional<std::string_view> properties_json = std::nullopt,
                  Completion done = nullptr)
    {
        std::string n, p;
        Status s = detail::c_string(name, n, "at_screen", "name");
        if (s.ok() && properties_json)
            s = detail::c_string(*properties_json, p, "at_screen", "properties_json");
        if (!s.ok())
            return s;
        const char *props = properties_json ? p.c_str() : nullptr;
        return detail::call_with_completion(std::move(done), detail::completion_trampoline,
                                            [&](at_completion_fn fn, void *user_data) {
                                                return at_screen(handle_, n.c_str(), props, fn, user_data);
                                            });
    }

    /** at_reset: forgets what `what` names, in one store transaction
     *  (ResetFlags::All at a logout). Hits queued before keep the identity
     *  they were tracked with. No flag, or an unknown one, is
     *  AT_ERR_INVALID_ARGUMENT. (Not named reset(): that frees the tracker.) */
    Status reset_analytics(ResetFlags what)
    {
        return Status::from_call(at_reset(handle_, static_cast<std::uint32_t>(what)));
    }

    /* -- the analytics client: context and super properties -- */

    /** Merges `context_json` (a JSON object, at most 8192 bytes) into the
     *  host's part of the event context: top-level keys replace, a key set to
     *  null is removed. For hits tracked from now on; not kept across
     *  restarts (Config::context is the start context). */
    Status set_context(std::string_view context_json)
    {
        std::string c;
        Status s = detail::c_string(context_json, c, "at_set_context", "context_json");
        if (!s.ok())
            return s;
        return Status::from_call(at_set_context(handle_, c.c_str()));
    }

    /** Merges `properties_json` (a JSON object) into the super properties,
     *  merged into the properties of every later track_event and screen
     *  (explicit properties win). Kept in the store across restarts. */
    Status register_super_properties(std::string_view properties_json)
    {
        std::string p;
        Status s = detail::c_string(properties_json, p, "at_register_super_properties", "properties_json");
        if (!s.ok())
            return s;
        return Status::from_call(at_register_super_properties(handle_, p.c_str()));
    }

    /** Removes the super property `key` (one that is not set is no error). */
    Status unregister_super_property(std::string_view key)
    {
        std::string k;
        Status s = detail::c_string(key, k, "at_unregister_super_property", "key");
        if (!s.ok())
            return s;
        return Status::from_call(at_unregister_super_property(handle_, k.c_str()));
    }

    /* -- the analytics client: sessions and consent -- */

    /** Starts a new session now (a match, a new visit); with
     *  Config::track_session_events, records "Session Ended" and "Session
     *  Started". */
    Status start_session() { return Status::from_call(at_session_start(handle_)); }

    /** The session id the next hit gets (context.sessionId): the Unix ms of the
     *  session's start. The first call after start decides, as a hit would,
     *  whether the session kept from the last run goes on. */
    Result<std::int64_t> session_id()
    {
        std::int64_t id = 0;
        const at_status code = at_session_id(handle_, &id);
        if (code != AT_OK)
            return Status::from_call(code);
        return id;
    }

    /** Sets the user's consent, kept in the store; returns how many queued hits
     *  were purged (only Denied purges: DropReason::ConsentDenied, counted in
     *  Stats::dropped_consent, never reported to the collector). Pending
     *  stores and sends nothing (flushes and dispatches complete with
     *  AT_ERR_SUPPRESSED); Denied makes later track, screen, identify, alias
     *  and group calls return AT_ERR_SUPPRESSED; Granted sends what is stored. */
    Result<std::uint64_t> set_consent(Consent consent)
    {
        std::uint64_t purged = 0;
        const at_status code = at_set_consent(handle_, static_cast<at_consent>(consent), &purged);
        if (code != AT_OK)
            return Status::from_call(code);
        return purged;
    }

    /** The consent in force. */
    Result<Consent> consent()
    {
        at_consent c = 0;
        const at_status code = at_get_consent(handle_, &c);
        if (code != AT_OK)
            return Status::from_call(code);
        return static_cast<Consent>(c);
    }

private:
    Tracker(at_tracker *handle, detail::Callbacks callbacks) noexcept
        : handle_(handle), callbacks_(std::move(callbacks))
    {
    }

    template <class Getter>
    Result<std::optional<Hit>> one_hit(Getter getter)
    {
        at_hit *hit = nullptr;
        const at_status code = getter(handle_, &hit);
        if (code != AT_OK)
            return Status::from_call(code);
        if (hit == nullptr)
            return std::optional<Hit>();
        return std::optional<Hit>(Hit(hit));
    }

    at_tracker *handle_ = nullptr;
    // Freed in reset(), only after at_tracker_free has returned.
    detail::Callbacks callbacks_;
};

} // namespace attracker

#endif /* AT_TRACKER_HPP */
