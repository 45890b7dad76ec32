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
 *   [tracker identify:@"user-42" traits:@{@"plan": @"pro"} completion:nil];
 *   [tracker screen:@"Home" properties:nil completion:nil];
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

/** The user's consent to collection (at_consent). */
typedef NS_ENUM(NSUInteger, ATTConsent) {
    /** The default: collected and sent. */
    ATTConsentGranted = AT_CONSENT_GRANTED,
    /** Not answered yet: collected and stored, nothing sent (no network at all). */
    ATTConsentPending = AT_CONSENT_PENDING,
    /** Refused: everything queued is purged, later calls fail with AT_ERR_SUPPRESSED. */
    ATTConsentDenied = AT_CONSENT_DENIED,
};

/** What -[ATTTracker reset:error:] forgets (AT_RESET_* flags), combined with |. */
typedef NS_OPTIONS(NSUInteger, ATTReset) {
    /** The user id and traits. */
    ATTResetUser = AT_RESET_USER,
    /** The anonymous id (the visitor id): a new one is made. */
    ATTResetAnonymousId = AT_RESET_ANONYMOUS_ID,
    /** The session: a new one starts now. */
    ATTResetSession = AT_RESET_SESSION,
    /** The super properties. */
    ATTResetSuperProperties = AT_RESET_SUPER_PROPERTIES,
    /** All of the above (a logout). */
    ATTResetAll = AT_RESET_ALL,
};

/** A newly applied remote configuration document (JSON, as fetched). */
typedef void (^ATTRemoteConfigHandler)(NSString *json);

/**
 * How an HTTP stack reports the end of one exchange: the answer (an
 * NSHTTPURLResponse; its body is not needed) or, without one, the error.
 * Call it exactly once, from any thread.
 */
typedef void (^ATTHTTPCompletion)(NSURLResponse *_Nullable response, NSError *_Nullable error);

/**
 * The host's HTTP stack, used instead of the library's libcurl (required on
 * iOS, whose SDK has no libcurl): ATTURLSessionTransport
 * (ATTURLSessionTransport.h) on Apple platforms, or your own. The library
 * keeps batching, retries, backoff and leases; the transport only moves bytes.
 */
@protocol ATTHTTPTransport <NSObject>
/**
 * Starts sending `request` (method, URL, headers, body and a timeout made from
 * the library's at_request) and returns at once; copy `completion` and call it
 * once when the exchange ends. Called on the tracker's callback thread, one
 * request at a time per tracker. Do not follow redirects: a 3xx answer is a
 * captive portal's, and the library keeps the hits ("not reached"). An
 * exception raised here fails the request as not reached.
 */
- (void)sendRequest:(NSURLRequest *)request completion:(ATTHTTPCompletion)completion;
@end

/**
 * The Retry-After header `value` as milliseconds from `now`: delta-seconds or
 * an HTTP date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"); 0 when nil,
 * unreadable or past. For transports of your own; the wrapper applies it to
 * every answer. Any thread.
 */
FOUNDATION_EXPORT int64_t ATTRetryAfterMilliseconds(NSString *_Nullable value, NSDate *now);

/**
 * Whether a failed exchange reached the server (NSURLErrorDomain: the
 * connection was lost, the answer was unreadable), which counts an attempt;
 * every other error (no connection, DNS, TLS, timeout, cancelled) did not, and
 * the hits are kept without counting one. Any thread.
 */
FOUNDATION_EXPORT BOOL ATTErrorReachedServer(NSError *_Nullable error);

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
    /* The analytics client (see the ATTAnalytics category below). */
    NSDictionary *_context;
    NSTimeInterval _sessionTimeout;
    NSTimeInterval _backgroundSessionTimeout;
    BOOL _trackSessionEvents;
    ATTConsent _initialConsent;
    id<ATTHTTPTransport> _transport;
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
/**
 * The host HTTP stack every request of the tracker goes through
 * (at_config_set_transport), retained by each tracker made from this
 * configuration until it is freed. nil: the library's libcurl. The default is
 * nil, except on iOS, tvOS and watchOS (no libcurl in their SDKs), where it is
 * [ATTURLSessionTransport sharedTransport] (add ATTURLSessionTransport.m to
 * the target there). TLS options of the library (CA bundle, pinning) do not
 * apply to a host transport: its stack evaluates trust itself.
 */
@property (nonatomic, retain, nullable) id<ATTHTTPTransport> transport;
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
    id<ATTHTTPTransport> _transport; /* the configuration's, retained; released in -dealloc after at_tracker_free */
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

#pragma mark - The analytics client

/**
 * The analytics client's settings (at_config_set_context,
 * at_config_set_session_timeouts_ms, at_config_set_track_session_events,
 * at_config_set_initial_consent). A refused value makes
 * -[ATTTracker initWithConfiguration:error:] fail with AT_ERR_INVALID_ARGUMENT.
 */
@interface ATTConfiguration (ATTAnalytics)
/**
 * The app's part of every event's `context` from the first event on: top-level
 * keys such as "app", "device", "screen", "network" (JSON values, as for
 * trackEvent:properties:; at most 8192 bytes as JSON). The library adds
 * "library", "os", "locale" and "timezone"; a key set here replaces the
 * library's ("os" on iOS). "library", "attracker" and "sessionId" are refused.
 * Default nil: none.
 */
@property (nonatomic, copy, nullable) NSDictionary<NSString *, id> *context;
/**
 * Seconds without activity in the foreground after which the next hit starts
 * a new session. Default 1800 (30 min); 1 to 604800 (7 days), whole ms.
 */
@property (nonatomic, assign) NSTimeInterval sessionTimeout;
/**
 * Seconds in the background (from at_app_did_enter_background to the next hit)
 * after which the next hit starts a new session. Default 300 (5 min); 1 to 604800.
 */
@property (nonatomic, assign) NSTimeInterval backgroundSessionTimeout;
/**
 * Record a "Session Started" event when a session starts and a "Session Ended"
 * event (timestamped at its last activity) when the next one starts. Default NO.
 */
@property (nonatomic, assign) BOOL trackSessionEvents;
/**
 * The consent a store starts with until the user answers
 * (-[ATTTracker setConsent:purged:error:], kept in the store from then on).
 * Default ATTConsentGranted; ATTConsentPending stores and sends nothing.
 */
@property (nonatomic, assign) ATTConsent initialConsent;
@end

/**
 * The analytics client: Segment's identify, alias, group and screen calls,
 * reset, the event context, super properties, sessions and consent. Errors,
 * threads and completion blocks as for the rest of ATTTracker: a block runs
 * once on the callback thread when the call returned YES (error nil once the
 * hit is committed), never when it returned NO. Dictionaries must be valid
 * JSON objects, as for -trackEvent:properties:error:.
 */
@interface ATTTracker (ATTAnalytics)

/**
 * Identifies the user (a Segment `identify` call). `userId` (1 to 256 bytes of
 * UTF-8, no control characters; nil keeps the current one) becomes the userId
 * of every hit tracked from now on; `traits` (nil: none) are merged over the
 * traits kept so far (top-level keys replace). Both are stored before the call
 * returns and kept across restarts; the queued identify call carries the
 * merged traits. Hits tracked before keep the identity they were tracked with.
 * AT_ERR_SUPPRESSED when consent is denied or tracking is disabled.
 */
- (BOOL)identify:(nullable NSString *)userId
          traits:(nullable NSDictionary<NSString *, id> *)traits
      completion:(nullable ATTCompletionHandler)completion;
- (BOOL)identify:(nullable NSString *)userId
          traits:(nullable NSDictionary<NSString *, id> *)traits
      completion:(nullable ATTCompletionHandler)completion
           error:(NSError *_Nullable *_Nullable)error;

/**
 * The user id in force (identify, alias); nil when none is set (then *error
 * is set to nil) or on failure. Kept in the store across restarts.
 */
@property (nonatomic, readonly, copy, nullable) NSString *userId;
- (nullable NSString *)userIdWithError:(NSError *_Nullable *_Nullable)error;

/**
 * Links the current identity to `newUserId` (a Segment `alias` call whose
 * previousId is the current user id, or the anonymous id when none is set),
 * then makes `newUserId` the user id (stored before the call returns).
 */
- (BOOL)alias:(NSString *)newUserId completion:(nullable ATTCompletionHandler)completion;
- (BOOL)alias:(NSString *)newUserId
   completion:(nullable ATTCompletionHandler)completion
        error:(NSError *_Nullable *_Nullable)error;

/** Associates the user with a group (a Segment `group` call): `groupId` (1 to 256 bytes) and the group's traits. */
- (BOOL)group:(NSString *)groupId
       traits:(nullable NSDictionary<NSString *, id> *)traits
   completion:(nullable ATTCompletionHandler)completion;
- (BOOL)group:(NSString *)groupId
       traits:(nullable NSDictionary<NSString *, id> *)traits
   completion:(nullable ATTCompletionHandler)completion
        error:(NSError *_Nullable *_Nullable)error;

/** Records that the user saw a screen (a Segment `screen` call), with the super properties merged in. */
- (BOOL)screen:(NSString *)name
    properties:(nullable NSDictionary<NSString *, id> *)properties
    completion:(nullable ATTCompletionHandler)completion;
- (BOOL)screen:(NSString *)name
    properties:(nullable NSDictionary<NSString *, id> *)properties
    completion:(nullable ATTCompletionHandler)completion
         error:(NSError *_Nullable *_Nullable)error;

/**
 * Forgets what `what` names, in one store transaction (ATTResetAll: a
 * logout). Hits queued before keep the identity they were tracked with. No
 * flag, or an unknown one, is AT_ERR_INVALID_ARGUMENT.
 */
- (BOOL)reset:(ATTReset)what;
- (BOOL)reset:(ATTReset)what error:(NSError *_Nullable *_Nullable)error;

/**
 * Merges `context` into the app's part of the event context (see
 * ATTConfiguration.context; at_set_context): top-level keys replace, a key
 * set to NSNull is removed. Hits tracked from now on carry the new context;
 * queued hits keep theirs. Not kept across restarts.
 */
- (BOOL)mergeContext:(NSDictionary<NSString *, id> *)context error:(NSError *_Nullable *_Nullable)error;

/**
 * Merges `properties` into the super properties, which are merged into the
 * properties of every later trackEvent and screen call (explicit properties
 * win). Kept in the store across restarts.
 */
- (BOOL)registerSuperProperties:(NSDictionary<NSString *, id> *)properties
                          error:(NSError *_Nullable *_Nullable)error;
/** Removes the super property `key` (one that is not set is no error). */
- (BOOL)unregisterSuperProperty:(NSString *)key error:(NSError *_Nullable *_Nullable)error;

/**
 * Starts a new session now (a game's match, a new visit); with
 * trackSessionEvents, records "Session Ended" and "Session Started".
 */
- (BOOL)startSession;
- (BOOL)startSessionWithError:(NSError *_Nullable *_Nullable)error;

/**
 * The session id the next hit gets (Unix milliseconds of the session's start,
 * sent as context.sessionId); 0 on failure. The first call after start
 * decides, as a hit would, whether the session kept from the last run goes on.
 */
@property (nonatomic, readonly) int64_t sessionId;
- (int64_t)sessionIdWithError:(NSError *_Nullable *_Nullable)error;

/** The consent in force (the configuration's initialConsent until setConsent:purged:error:). */
@property (nonatomic, readonly) ATTConsent consent;

/**
 * Sets the user's consent, kept in the store. Pending: calls are stored,
 * nothing is sent (a dispatch completes with AT_ERR_SUPPRESSED). Granted:
 * everything stored goes out. Denied: every queued hit is purged (never
 * reported to the collector) and *purged (may be NULL) is set to how many;
 * later trackEvent, screen, identify, alias and group calls fail with
 * AT_ERR_SUPPRESSED.
 */
- (BOOL)setConsent:(ATTConsent)consent
            purged:(nullable NSUInteger *)purged
             error:(NSError *_Nullable *_Nullable)error;
@end

NS_ASSUME_NONNULL_END
