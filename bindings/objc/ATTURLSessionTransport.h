/*
 * ATTURLSessionTransport.h: the Apple-platform host transport for ATTracker,
 * an NSURLSession that carries the library's requests (ATTHTTPTransport).
 *
 *   ATTConfiguration *cfg = ...;
 *   cfg.transport = [ATTURLSessionTransport sharedTransport]; // the default on iOS, tvOS, watchOS
 *
 * Needs NSURLSession: Apple's Foundation, or GNUstep base built with it
 * (GS_HAVE_NSURLSESSION, which needs libdispatch; Debian's is built without,
 * so this class is not available there, and the file compiles to nothing).
 *
 * Threads: -sendRequest:completion: may be called from any thread; the
 * completion runs on the session's delegate queue (a serial queue of its own).
 * Memory: manual retain/release, like ATTracker.m (-fno-objc-arc under ARC).
 * The session is invalidated (after its tasks finish) when the transport is
 * freed. Redirects are never followed: the 3xx itself is the answer, which the
 * library treats as a captive portal's ("not reached", hits kept).
 * Errors: an NSURLSession error becomes "not reached" (no attempt counted)
 * unless ATTErrorReachedServer says the server answered something unreadable.
 */
#import "ATTracker.h"

#if !defined(GNUSTEP) || GS_HAVE_NSURLSESSION

NS_ASSUME_NONNULL_BEGIN

@interface ATTURLSessionTransport : NSObject <ATTHTTPTransport> {
@private
    NSURLSession *_session;
    id _delegate;
}

/**
 * One transport for the process: an ephemeral session (no cookies, no cache,
 * no credentials kept), shared by every tracker that uses it. Thread-safe.
 */
+ (instancetype)sharedTransport;

/**
 * A transport with a session of its own made from `configuration` (copied by
 * NSURLSession), e.g. with a proxy or different timeouts. A background
 * configuration is refused (nil): a background session takes no completion
 * handlers; for uploads that outlive the app use at_offline_export_batch.
 */
- (nullable instancetype)initWithSessionConfiguration:(NSURLSessionConfiguration *)configuration
    NS_DESIGNATED_INITIALIZER;
- (instancetype)init;

/** The session every request goes through. */
@property (nonatomic, readonly, retain) NSURLSession *session;

@end

NS_ASSUME_NONNULL_END

#endif
