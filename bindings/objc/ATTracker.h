/*
 * ATTracker.h: an Objective-C face for attracker, in the style of the AT
 * Internet SDK ("Offline hits"): a tracker, its `offline` object with
 * dispatch / get / oldest / latest / count / delete, and hits with url,
 * creationDate, retryCount, isOffline and type.
 *
 *   ATTConfiguration *cfg = [[[ATTConfiguration alloc] init] autorelease];
 *   cfg.storagePath = [appSupportDir stringByAppendingPathComponent:@"attracker.db"];
 *   cfg.endpoint = @"https://collect.example.com";
 *   cfg.offlineMode = ATTOfflineModeAlways;
 *
 *   NSError *error = nil;
 *   ATTTracker *tracker = [[ATTTracker alloc] initWithConfiguration:cfg error:&error];
 *   [tracker trackEvent:@"screen_view" properties:@{@"screen": @"home"} error:&error];
 *   NSArray<ATTHit *> *hits = [tracker.offline get];
 *   [tracker.offline dispatchWithCompletion:^(ATTDispatchResult *r) { ... }];
 *   NSString *visitor = tracker.visitorId;           // kept in the store
 *   [tracker optOutWithPolicy:ATTOptOutPolicyPurge purged:NULL error:&error];
 *
 * Class names carry the ATT prefix so they never clash with the clang module
 * `ATTracker` (include/module.modulemap), which this header imports for the C
 * constants: error codes are `at_status` values (AT_ERR_NETWORK, ...).
 *
 * Errors: every method that can fail has a variant taking `NSError **`. The
 * error's domain is ATTErrorDomain, its code the `at_status` of the failing C
 * call, its localizedDescription that call's at_last_error() message, and its
 * userInfo[ATTStatusNameKey] the status name ("AT_ERR_INVALID_ARGUMENT").
 * Checks made here before any C call (properties that are not JSON, a nil
 * date) use the status the library would give (AT_ERR_INVALID_ARGUMENT,
 * AT_ERR_NULL_ARGUMENT) with a message of their own. The AT-named shorthands
 * (`get`, `count`, `delete`, ...) drop the error.
 *
 * Threads: every method of ATTTracker and ATTOffline may be called from any
 * thread (the C tracker is thread-safe; ATTTracker, ATTOffline, ATTHit and
 * ATTDispatchResult are immutable; configure an ATTConfiguration on one
 * thread). A tracker's last release must come after every other call on it
 * has returned (at_tracker_free's rule). Completion blocks run
 * on the tracker's callback thread, one at a time, never inside the call that
 * started the work, and exactly once when that call returned YES. They do not
 * run on the main thread: an app that touches UI from one hops to the main
 * queue itself, e.g. dispatch_async(dispatch_get_main_queue(), ^{ ... }).
 *
 * Memory: the implementation (ATTracker.m) is manual retain/release; compile
 * it with -fno-objc-arc in an ARC project. This header works under both.
 * Completion blocks are copied with Block_copy and released after they ran;
 * the configuration's remoteConfigHandler is copied by each tracker and
 * released when the tracker is freed. On GNUstep
 * with the GCC runtime Block_copy does not retain the objects a block
 * captures (Debian's libBlocksRuntime has no hook through which the runtime
 * could retain them), so keep what a completion block uses alive until it has
 * run; on Apple platforms they are retained as usual.
 */
#import <Foundation/Foundation.h>

#if __has_feature(modules)
@import ATTracker;
#else
#include "at_tracker.h"
#endif

NS_ASSUME_NONNULL_BEGIN

/** The domain of every NSError made by these classes. */
extern NSString *const ATTErrorDomain;
/** userInfo key: the at_status name of the error code, e.g. "AT_ERR_CLOSED". */
extern NSString *const ATTStatusNameKey;

/** The AT storage modes ("never", "required", "always"). */
typedef NS_ENUM(NSUInteger, ATTOfflineMode) {
    /** Never written to disk: sent from memory, dropped when unreachable. */
    ATTOfflineModeNever = AT_OFFLINE_NEVER,
    /** The default: stored before any send, deleted once acknowledged. */
    ATTOfflineModeRequired = AT_OFFLINE_REQUIRED,
    /** Stored and only sent by -[ATTOffline dispatch]. */
    ATTOfflineModeAlways = AT_OFFLINE_ALWAYS,
};

/** What opting out does with the hits already queued. */
typedef NS_ENUM(NSUInteger, ATTOptOutPolicy) {
    /** The default: they stay and are sent as usual. */
    ATTOptOutPolicyKeep = AT_OPT_OUT_KEEP,
    /** Every one is deleted (stored, being committed, or memory-only). */
    ATTOptOutPolicyPurge = AT_OPT_OUT_PURGE,
};

/** A newly applied remote configuration document (JSON, as fetched). */
typedef void (^ATTRemoteConfigHandler)(NSString *json);

/** What a tracker is made from. Read once by -[ATTTracker initWithConfiguration:error:]. */
@interface ATTConfiguration : NSObject {
@private /* In the @interface: the GCC runtime's fragile ABI allows ivars nowhere else. */
    NSString *_storagePath;
    NSString *_endpoint;
    NSString *_apiKey;
    ATTOfflineMode _offlineMode;
    uint64_t _maxHitAgeMs;
    BOOL _reportDrops;
    NSString *_remoteConfigURL;
    NSTimeInterval _remoteConfigInterval;
    NSArray *_allowedEndpointHosts;
    ATTOptOutPolicy _optOutPolicy;
    ATTRemoteConfigHandler _remoteConfigHandler;
}
/** Required: the SQLite file, in an app-private directory (created if missing). */
@property (nonatomic, copy, nullable) NSString *storagePath;
/** Required: the collector's base URL; events go to {endpoint}/v1/batch. */
@property (nonatomic, copy, nullable) NSString *endpoint;
/** Optional: sent as "Authorization: Bearer <key>". */
@property (nonatomic, copy, nullable) NSString *apiKey;
/** Default ATTOfflineModeRequired. */
@property (nonatomic, assign) ATTOfflineMode offlineMode;
/**
 * Age in milliseconds past which a hit that fails to send is dropped instead
 * of retried (at_config_set_max_hit_age_ms). Default 2592000000, the library's
 * 30 days; 0 = no limit. Until then a failing hit is retried on the backoff
 * schedule: the number of attempts is not limited.
 */
@property (nonatomic, assign) uint64_t maxHitAgeMs;
/**
 * Whether drops of stored hits are reported to the collector as events named
 * "Attracker Hits Dropped", stored like any hit, so it can account for every
 * hit the store accepted (at_config_set_report_drops). Default YES.
 */
@property (nonatomic, assign) BOOL reportDrops;
/**
 * Optional: fetch a remote configuration from this http(s) URL at start and
 * every remoteConfigInterval (nil, the default: none). The last good document
 * is kept in the store and applies from the next start, even offline.
 */
@property (nonatomic, copy, nullable) NSString *remoteConfigURL;
/** Seconds between fetches of the remote configuration: default 3600, at least 0.1. */
@property (nonatomic, assign) NSTimeInterval remoteConfigInterval;
/**
 * Host names ("collect.example.com": no scheme, port or path) a remote
 * configuration may move the endpoint to (https only). Default: none.
 */
@property (nonatomic, copy) NSArray<NSString *> *allowedEndpointHosts;
/** What opting out with trackingEnabled = NO does with queued hits. Default ATTOptOutPolicyKeep. */
@property (nonatomic, assign) ATTOptOutPolicy optOutPolicy;
/**
 * Called with each newly applied remote configuration document, on the
 * tracker's callback thread (not for the cached one applied at start, nor when
 * the document did not change). Each tracker keeps its own copy until freed.
 */
@property (nonatomic, copy, nullable) ATTRemoteConfigHandler remoteConfigHandler;
@end

/** One stored hit: a snapshot, unaffected by later changes to the store. */
@interface ATTHit : NSObject {
@private
    uint64_t _identifier;
    NSString *_url;
    NSDate *_creationDate;
    NSUInteger _retryCount;
    BOOL _isOffline;
    NSString *_type;
    NSString *_messageId;
    NSString *_body;
}
/** Store order: grows, never reused. */
@property (nonatomic, readonly) uint64_t identifier;
/** A URL hit's URL; for an event, the batch URL it is posted to. */
@property (nonatomic, readonly, copy) NSString *url;
@property (nonatomic, readonly, retain) NSDate *creationDate;
/** Failed send attempts that reached the server. */
@property (nonatomic, readonly) NSUInteger retryCount;
/** YES when the hit was stored because it could not be sent (or in "always" mode). */
@property (nonatomic, readonly) BOOL isOffline;
/** The event name or hit type ("screen", "touch"); "" for a URL hit sent without one. */
@property (nonatomic, readonly, copy) NSString *type;
/** UUID v4, the collector's deduplication key. */
@property (nonatomic, readonly, copy) NSString *messageId;
/** An event's JSON properties as tracked; nil for a URL hit. */
@property (nonatomic, readonly, copy, nullable) NSString *body;
@end

/** The tally of a dispatch, given to its completion block. */
@interface ATTDispatchResult : NSObject {
@private
    at_status _status;
    uint64_t _sent;
    uint64_t _failed;
    uint64_t _dropped;
    NSError *_error;
}
/**
 * AT_OK when nothing failed; AT_ERR_NETWORK, AT_ERR_KEY_REJECTED (the
 * collector refused the api key: the hits are kept and sending is paused until
 * -[ATTTracker setApiKey:error:]), AT_ERR_STORAGE or AT_ERR_CANCELLED otherwise.
 */
@property (nonatomic, readonly) at_status status;
/** Hits acknowledged by the collector (and deleted). */
@property (nonatomic, readonly) uint64_t sent;
/** Hits whose attempt reached the server and failed; they stay stored. */
@property (nonatomic, readonly) uint64_t failed;
/** Hits dropped by policy during the run (refused, out of attempts, too large). */
@property (nonatomic, readonly) uint64_t dropped;
/** nil when status is AT_OK; else an ATTErrorDomain error with that code. */
@property (nonatomic, readonly, retain, nullable) NSError *error;
@end

typedef void (^ATTDispatchCompletion)(ATTDispatchResult *result);
/** `error` is nil on success (AT's `isSet` is `error == nil`). */
typedef void (^ATTCompletionHandler)(NSError *_Nullable error);

@class ATTTracker;

/**
 * The stored hits of a tracker (AT's `tracker.offline`). It keeps its tracker
 * alive while it exists. Counts are NSInteger; -1 means the call failed.
 */
@interface ATTOffline : NSObject {
@private
    ATTTracker *_tracker;
}
@property (nonatomic, readonly, retain) ATTTracker *tracker;

/** Sends every hit stored before the call, in any mode; acknowledged hits are deleted. */
- (void)dispatch;
/**
 * As -dispatch; `completion` runs once on the callback thread with the tally.
 * Returns NO (and never calls `completion`) when the dispatch could not start.
 */
- (BOOL)dispatchWithCompletion:(nullable ATTDispatchCompletion)completion;
- (BOOL)dispatchWithCompletion:(nullable ATTDispatchCompletion)completion
                         error:(NSError *_Nullable *_Nullable)error;

/** Every stored hit, oldest first; nil on failure. */
- (nullable NSArray<ATTHit *> *)get;
- (nullable NSArray<ATTHit *> *)getWithError:(NSError *_Nullable *_Nullable)error;

/** The first hit stored; nil when the store is empty (then *error is set to nil) or on failure. */
- (nullable ATTHit *)oldest;
- (nullable ATTHit *)oldestWithError:(NSError *_Nullable *_Nullable)error;

/** The last hit stored; nil when the store is empty (then *error is set to nil) or on failure. */
- (nullable ATTHit *)latest;
- (nullable ATTHit *)latestWithError:(NSError *_Nullable *_Nullable)error;

/** Number of stored hits, or -1. */
- (NSInteger)count;
- (NSInteger)countWithError:(NSError *_Nullable *_Nullable)error;

/** Deletes every stored hit; returns how many, or -1. */
- (NSInteger)delete;
- (NSInteger)deleteWithError:(NSError *_Nullable *_Nullable)error;

/** Deletes hits created more than `days` × 24 h ago (0: every hit created before now). */
- (NSInteger)deleteOlderThanDays:(NSUInteger)days;
- (NSInteger)deleteOlderThanDays:(NSUInteger)days error:(NSError *_Nullable *_Nullable)error;

/** Deletes hits created before `date`. */
- (NSInteger)deleteOlderThanDate:(NSDate *)date;
- (NSInteger)deleteOlderThanDate:(NSDate *)date error:(NSError *_Nullable *_Nullable)error;
@end

/**
 * A tracker: one store, its threads and callbacks. Releasing the last
 * reference frees it (at_tracker_free: hits accepted so far are committed,
 * what can be sent in 2 s is sent, pending completions run or are cancelled).
 */
@interface ATTTracker : NSObject {
@private
    at_tracker *_tracker; /* owned: at_tracker_free in -dealloc */
    ATTRemoteConfigHandler _remoteConfigHandler; /* the configuration's, copied; released in -dealloc */
}

- (nullable instancetype)initWithConfiguration:(ATTConfiguration *)configuration
                                         error:(NSError *_Nullable *_Nullable)error NS_DESIGNATED_INITIALIZER;
- (instancetype)init NS_UNAVAILABLE;

/** The stored hits: a new ATTOffline each time, cheap to make. */
@property (nonatomic, readonly) ATTOffline *offline;

/** The current mode (the configured one until changed). */
@property (nonatomic, readonly) ATTOfflineMode offlineMode;

/**
 * Tracks an event. `properties` must be valid JSON (NSString keys; NSString,
 * NSNumber, NSNull, NSArray, NSDictionary values; finite numbers); anything
 * else is AT_ERR_INVALID_ARGUMENT and nothing is stored. YES: the hit is
 * accepted (in the storing modes, committed to disk).
 */
- (BOOL)trackEvent:(NSString *)type properties:(nullable NSDictionary<NSString *, id> *)properties;
- (BOOL)trackEvent:(NSString *)type
        properties:(nullable NSDictionary<NSString *, id> *)properties
             error:(NSError *_Nullable *_Nullable)error;

/** Tracks a URL hit: an absolute http(s) URL sent as-is with one GET; `type` labels it. */
- (BOOL)sendHit:(NSString *)url type:(nullable NSString *)type;
- (BOOL)sendHit:(NSString *)url type:(nullable NSString *)type error:(NSError *_Nullable *_Nullable)error;

/**
 * Changes the mode for hits tracked from now on (asynchronous, like AT's
 * setOfflineMode:completionHandler:). `handler` runs on the callback thread
 * once every hit accepted before the change is committed. Returns NO (and
 * never calls `handler`) when the change is refused.
 */
- (BOOL)setOfflineMode:(ATTOfflineMode)mode completionHandler:(nullable ATTCompletionHandler)handler;
- (BOOL)setOfflineMode:(ATTOfflineMode)mode
     completionHandler:(nullable ATTCompletionHandler)handler
                 error:(NSError *_Nullable *_Nullable)error;

/**
 * The visitor id sent as anonymousId with hits tracked from now on: a UUID v4
 * made at the store's first start and kept in it, or the app's own
 * (-setVisitorId:error:). nil only on failure.
 */
@property (nonatomic, readonly, copy, nullable) NSString *visitorId;
- (nullable NSString *)visitorIdWithError:(NSError *_Nullable *_Nullable)error;

/** Replaces the visitor id with a new random UUID v4, kept in the store (e.g. at logout). */
- (BOOL)resetVisitorId;
- (BOOL)resetVisitorIdWithError:(NSError *_Nullable *_Nullable)error;

/**
 * Uses the app's own visitor id (1 to 128 bytes of UTF-8, no control
 * characters), kept in the store. Hits tracked before keep theirs. A refused
 * id (AT_ERR_INVALID_ARGUMENT) changes nothing.
 */
- (BOOL)setVisitorId:(NSString *)visitorId error:(NSError *_Nullable *_Nullable)error;

/**
 * Stops collection (later track calls fail with AT_ERR_SUPPRESSED) with
 * `policy` for the hits already queued: Keep leaves them to be sent, Purge
 * deletes them and sets *purged (may be NULL) to how many.
 * -setTrackingEnabled:YES error: opts back in.
 */
- (BOOL)optOutWithPolicy:(ATTOptOutPolicy)policy;
- (BOOL)optOutWithPolicy:(ATTOptOutPolicy)policy
                  purged:(nullable NSUInteger *)purged
                   error:(NSError *_Nullable *_Nullable)error;

/**
 * The tracking gate (default enabled). NO opts out with the configuration's
 * optOutPolicy; YES opts back in.
 */
- (BOOL)setTrackingEnabled:(BOOL)enabled error:(NSError *_Nullable *_Nullable)error;

/**
 * The remote configuration document in force (JSON, with the app's own keys);
 * nil when there is none (no remoteConfigURL, or nothing fetched or cached
 * yet; then *error is set to nil) or on failure.
 */
@property (nonatomic, readonly, copy, nullable) NSString *remoteConfigJSON;
- (nullable NSString *)remoteConfigJSONWithError:(NSError *_Nullable *_Nullable)error;

/**
 * Replaces the api key for every request from now on (@"" removes it; the
 * configuration's apiKey is used again at the next start). After the collector
 * refused the key (HTTP 401/403: a dispatch fails with AT_ERR_KEY_REJECTED and
 * sending pauses), sending resumes with the new key at once and the hits kept
 * meanwhile are sent. A refused key (spaces, control characters:
 * AT_ERR_INVALID_ARGUMENT) changes nothing.
 */
- (BOOL)setApiKey:(NSString *)apiKey;
- (BOOL)setApiKey:(NSString *)apiKey error:(NSError *_Nullable *_Nullable)error;

/**
 * Why the last send failed, e.g. "the collector rejected the api key (HTTP
 * 401); sending is paused"; nil when the last send succeeded or none has
 * failed (then *error is set to nil), or on failure.
 */
@property (nonatomic, readonly, copy, nullable) NSString *lastSendError;
- (nullable NSString *)lastSendErrorWithError:(NSError *_Nullable *_Nullable)error;
@end

NS_ASSUME_NONNULL_END
