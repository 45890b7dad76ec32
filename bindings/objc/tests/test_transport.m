/*
 * Tests of the wrapper's host transport (ATTConfiguration.transport, the
 * ATTHTTPTransport protocol): the library's requests become NSURLRequests,
 * and what a stack reports becomes at_transport_complete's answer.
 *
 *   objc_transport_test COLLECTOR
 *
 * ATTURLSessionTransport needs NSURLSession, which Debian's GNUstep base is
 * built without (GS_HAVE_NSURLSESSION 0: it needs libdispatch). The same
 * protocol is therefore driven here by a transport on NSURLConnection (its
 * synchronous request, on an NSThread per request) against the test collector,
 * and by a scripted transport for the answers a collector does not give. The
 * first failed check prints where and why and exits with status 1.
 */
@import ATTracker;

#import <Foundation/Foundation.h>

#import "ATTracker.h"

#include <Block.h>

#import "test_support.h"

static NSString *makeStoreDirectory(void)
{
    char path[] = "/tmp/attracker-objc-transport-XXXXXX";
    CHECK(mkdtemp(path) != NULL, "mkdtemp: %s", strerror(errno));
    return [NSString stringWithUTF8String:path];
}

/* A dispatch's tally, written by the completion block (callback thread). */
@interface Tally : NSObject {
@public
    volatile int done;
    at_status status;
    uint64_t sent;
    uint64_t failed;
}
@end
@implementation Tally
@end

static void dispatchAndWait(ATTTracker *tracker, Tally *tally)
{
    tally->done = 0;
    BOOL started = [tracker.offline dispatchWithCompletion:^(ATTDispatchResult *r) {
        tally->status = r.status;
        tally->sent = r.sent;
        tally->failed = r.failed;
        __atomic_store_n(&tally->done, 1, __ATOMIC_SEQ_CST);
    }];
    CHECK(started, "the dispatch started");
    for (int i = 0; i < 600 && !__atomic_load_n(&tally->done, __ATOMIC_SEQ_CST); i++)
        sleepMs(50);
    CHECK(tally->done, "the dispatch completed within 30 s");
}

#pragma mark - A transport on NSURLConnection

/* A request and its completion, for the thread that performs it. The block is
 * held with Block_copy/Block_release: with the GCC runtime blocks are not
 * objects (no -retain, no NSArray). */
@interface Job : NSObject {
@public
    NSURLRequest *request;
    ATTHTTPCompletion completion;
}
@end

@implementation Job
- (void)dealloc
{
    [request release];
    if (completion != nil)
        Block_release(completion);
    [super dealloc];
}
@end

/* Performs each request with +[NSURLConnection sendSynchronousRequest:...] on
 * a thread of its own, the way a URLSession task runs off the caller's thread. */
@interface ConnectionTransport : NSObject <ATTHTTPTransport> {
@public
    NSMutableArray *requests; /* every NSURLRequest it was given */
    int callerThreadIsMain;   /* a request arrived on the main thread */
}
@end

@implementation ConnectionTransport

- (instancetype)init
{
    if ((self = [super init]) != nil)
        requests = [[NSMutableArray alloc] init];
    return self;
}

- (void)dealloc
{
    [requests release];
    [super dealloc];
}

- (void)sendRequest:(NSURLRequest *)request completion:(ATTHTTPCompletion)completion
{
    @synchronized(self) {
        [requests addObject:request];
        if ([NSThread isMainThread])
            callerThreadIsMain = 1;
    }
    Job *job = [[[Job alloc] init] autorelease];
    job->request = [request retain];
    job->completion = Block_copy(completion);
    [NSThread detachNewThreadSelector:@selector(perform:) toTarget:self withObject:job];
}

- (void)perform:(Job *)job
{
    @autoreleasepool {
        NSURLResponse *response = nil;
        NSError *error = nil;
        [NSURLConnection sendSynchronousRequest:job->request returningResponse:&response error:&error];
        job->completion(response, error);
    }
}

@end

#pragma mark - A scripted transport

/* Answers every request at once with the response or error set beforehand. */
@interface ScriptedTransport : NSObject <ATTHTTPTransport> {
@public
    NSURLResponse *response;
    NSError *error;
    BOOL raise;
    NSURLRequest *lastRequest;
    int calls;
}
@end

@implementation ScriptedTransport

- (void)dealloc
{
    [response release];
    [error release];
    [lastRequest release];
    [super dealloc];
}

- (void)sendRequest:(NSURLRequest *)request completion:(ATTHTTPCompletion)completion
{
    calls++;
    [lastRequest release];
    lastRequest = [request retain];
    if (raise)
        [NSException raise:NSInternalInconsistencyException format:@"no HTTP today"];
    completion(response, error);
}

@end

static NSHTTPURLResponse *answer(NSInteger status, NSDictionary *headers)
{
    return [[[NSHTTPURLResponse alloc] initWithURL:[NSURL URLWithString:@"http://collector.invalid/v1/batch"]
                                        statusCode:status
                                       HTTPVersion:@"HTTP/1.1"
                                      headerFields:headers] autorelease];
}

static ATTTracker *openWith(NSString *directory, NSString *endpoint, id<ATTHTTPTransport> transport)
{
    ATTConfiguration *cfg = [[[ATTConfiguration alloc] init] autorelease];
    cfg.storagePath = [directory stringByAppendingPathComponent:@"attracker.db"];
    cfg.endpoint = endpoint;
    cfg.offlineMode = ATTOfflineModeAlways;
    cfg.apiKey = @"pk_objc_transport";
    cfg.transport = transport;
    CHECK(cfg.transport == transport, "the configuration keeps the transport");
    NSError *error = nil;
    ATTTracker *tracker = [[ATTTracker alloc] initWithConfiguration:cfg error:&error];
    CHECK(tracker != nil, "initWithConfiguration: %s", [[error description] UTF8String]);
    return tracker;
}

#pragma mark - Tests

static void test_default_is_the_library_transport_here(void)
{
    currentTest = "default_is_the_library_transport_here";
    ATTConfiguration *cfg = [[[ATTConfiguration alloc] init] autorelease];
    /* Not iOS: the library's libcurl unless a transport is set. */
    CHECK(cfg.transport == nil, "no transport by default outside iOS, tvOS and watchOS");
}

static void test_requests_reach_the_collector_through_the_transport(const char *collector)
{
    currentTest = "requests_reach_the_collector_through_the_transport";
    /* 3 events in one batch and a URL hit. */
    NSString *url = startCollector(collector, 4);
    NSString *directory = makeStoreDirectory();
    ConnectionTransport *transport = [[ConnectionTransport alloc] init];
    ATTTracker *tracker = openWith(directory, url, transport);
    for (int i = 0; i < 3; i++)
        CHECK([tracker trackEvent:@"via_nsurl" properties:@{@"i" : @(i)} error:NULL], "track");
    NSString *hit = [url stringByAppendingString:@"/pixel.gif?p=transport"];
    CHECK([tracker sendHit:hit type:@"screen" error:NULL], "sendHit");
    NSArray *stored = [tracker.offline get];
    CHECK([stored count] == 4, "4 stored, got %lu", (unsigned long)[stored count]);

    Tally *tally = [[[Tally alloc] init] autorelease];
    dispatchAndWait(tracker, tally);
    CHECK(tally->status == AT_OK, "dispatch status %s (%s)", at_status_str(tally->status),
          [tracker.lastSendError UTF8String]);
    CHECK(tally->sent == 4, "sent %llu", (unsigned long long)tally->sent);
    CHECK([tracker.offline count] == 0, "acknowledged and deleted");

    @synchronized(transport) {
        CHECK([transport->requests count] == 2, "one batch and one GET, got %lu", (unsigned long)[transport->requests count]);
        CHECK(!transport->callerThreadIsMain, "the transport is called on the callback thread, not the main thread");
        NSURLRequest *post = nil, *get = nil;
        for (NSURLRequest *r in transport->requests) {
            if ([[r HTTPMethod] isEqualToString:@"POST"])
                post = r;
            else if ([[r HTTPMethod] isEqualToString:@"GET"])
                get = r;
        }
        CHECK(post != nil && get != nil, "a POST and a GET");
        CHECK([[[post URL] absoluteString] isEqualToString:[url stringByAppendingString:@"/v1/batch"]], "batch URL %s",
              [[[post URL] absoluteString] UTF8String]);
        CHECK([[post valueForHTTPHeaderField:@"Authorization"] isEqualToString:@"Bearer pk_objc_transport"],
              "Authorization: %s", [[post valueForHTTPHeaderField:@"Authorization"] UTF8String]);
        CHECK([[post valueForHTTPHeaderField:@"Content-Type"] hasPrefix:@"application/json"], "Content-Type: %s",
              [[post valueForHTTPHeaderField:@"Content-Type"] UTF8String]);
        NSString *body = [[[NSString alloc] initWithData:[post HTTPBody] encoding:NSUTF8StringEncoding] autorelease];
        for (ATTHit *h in stored)
            if (![h.type isEqualToString:@"screen"])
                CHECK([body rangeOfString:h.messageId].location != NSNotFound, "message %s is in the batch body",
                      [h.messageId UTF8String]);
        CHECK([[[get URL] absoluteString] isEqualToString:hit], "the URL hit is sent as-is: %s",
              [[[get URL] absoluteString] UTF8String]);
        CHECK([[get HTTPBody] length] == 0, "a GET has no body");
        CHECK(![post HTTPShouldHandleCookies], "no cookies");
    }
    [tracker release];
    [transport release]; /* the tracker retained it until freed */
    CHECK(waitCollector(10) == 0, "the collector received the 3 events and the hit, and exited 0");
    [[NSFileManager defaultManager] removeItemAtPath:directory error:NULL];
}

static void test_answers_map_to_the_library(void)
{
    currentTest = "answers_map_to_the_library";
    NSString *directory = makeStoreDirectory();
    ScriptedTransport *transport = [[ScriptedTransport alloc] init];
    ATTTracker *tracker = openWith(directory, @"http://collector.invalid", transport);
    CHECK([tracker trackEvent:@"mapped" properties:nil error:NULL], "track");
    Tally *tally = [[[Tally alloc] init] autorelease];

    /* No connection: not reached, kept, no attempt counted. */
    transport->error = [[NSError errorWithDomain:NSURLErrorDomain
                                            code:NSURLErrorCannotConnectToHost
                                        userInfo:@{NSLocalizedDescriptionKey : @"Could not connect to the server."}] retain];
    dispatchAndWait(tracker, tally);
    CHECK(tally->status != AT_OK, "no connection is a failure");
    CHECK([tracker.offline count] == 1, "kept");
    CHECK([tracker.offline oldest].retryCount == 0, "no attempt counted when the server was not reached");
    CHECK([tracker.lastSendError rangeOfString:@"Could not connect to the server."].location != NSNotFound,
          "the stack's message is the send error: %s", [tracker.lastSendError UTF8String]);
    CHECK([[transport->lastRequest HTTPMethod] isEqualToString:@"POST"], "a batch is a POST");
    CHECK([[[transport->lastRequest URL] absoluteString] isEqualToString:@"http://collector.invalid/v1/batch"], "the batch URL");

    /* The connection was lost after reaching the server: an attempt. */
    [transport->error release];
    transport->error = [[NSError errorWithDomain:NSURLErrorDomain code:NSURLErrorNetworkConnectionLost userInfo:nil] retain];
    dispatchAndWait(tracker, tally);
    CHECK(tally->status != AT_OK && tally->failed == 1, "a lost connection counts the hit as failed");
    CHECK([tracker.offline oldest].retryCount == 1, "and counts an attempt");
    [transport->error release];
    transport->error = nil;

    /* A captive portal's 200 HTML page: no acknowledgement. */
    transport->response = [answer(200, @{@"content-type" : @"text/html; charset=utf-8"}) retain];
    dispatchAndWait(tracker, tally);
    CHECK(tally->status != AT_OK, "a portal's page is not an acknowledgement");
    CHECK([tracker.offline count] == 1, "kept after a portal's page");
    CHECK([tracker.offline oldest].retryCount == 1, "no attempt counted for a portal's page");

    /* 503: an attempt, kept. */
    [transport->response release];
    transport->response = [answer(503, @{}) retain];
    dispatchAndWait(tracker, tally);
    CHECK(tally->status != AT_OK && tally->failed == 1, "503 is a failure");
    CHECK([tracker.offline oldest].retryCount == 2, "503 counts an attempt");

    /* 429 with Retry-After: a wait, not an attempt; kept. */
    [transport->response release];
    transport->response = [answer(429, @{@"retry-after" : @"1"}) retain];
    dispatchAndWait(tracker, tally);
    CHECK(tally->status != AT_OK, "429 is a failure");
    CHECK([tracker.offline count] == 1, "kept after 429");
    CHECK([tracker.offline oldest].retryCount == 2, "Retry-After is a wait, not an attempt");
    sleepMs(1100); /* the wait it asked for */

    /* A transport that raises: not reached, kept. */
    transport->raise = YES;
    dispatchAndWait(tracker, tally);
    CHECK(tally->status != AT_OK, "a raising transport fails the request");
    CHECK([tracker.offline oldest].retryCount == 2, "no attempt counted");
    transport->raise = NO;

    /* 200 JSON: delivered. */
    [transport->response release];
    transport->response = [answer(200, @{@"Content-Type" : @"application/json"}) retain];
    dispatchAndWait(tracker, tally);
    CHECK(tally->status == AT_OK && tally->sent == 1, "200 JSON delivers: %s sent %llu", at_status_str(tally->status),
          (unsigned long long)tally->sent);
    CHECK([tracker.offline count] == 0, "deleted once acknowledged");
    CHECK(transport->calls == 7, "one request per dispatch, got %d", transport->calls);

    [tracker release];
    [transport release];
    [[NSFileManager defaultManager] removeItemAtPath:directory error:NULL];
}

static void test_retry_after_and_reached_server(void)
{
    currentTest = "retry_after_and_reached_server";
    NSDate *now = [NSDate dateWithTimeIntervalSince1970:1741082400]; /* Tue, 04 Mar 2025 10:00:00 GMT */
    CHECK(ATTRetryAfterMilliseconds(@"120", now) == 120000, "delta-seconds");
    CHECK(ATTRetryAfterMilliseconds(@" 5 ", now) == 5000, "delta-seconds with spaces");
    CHECK(ATTRetryAfterMilliseconds(@"Tue, 04 Mar 2025 10:01:30 GMT", now) == 90000, "IMF-fixdate: %lld",
          (long long)ATTRetryAfterMilliseconds(@"Tue, 04 Mar 2025 10:01:30 GMT", now));
    CHECK(ATTRetryAfterMilliseconds(@"Tue, 04 Mar 2025 09:58:30 GMT", now) == 0, "a date in the past");
    CHECK(ATTRetryAfterMilliseconds(@"Tue, 04 Foo 2025 10:01:30 GMT", now) == 0, "an unknown month");
    CHECK(ATTRetryAfterMilliseconds(@"Tue, 04 Mar 2025 10:01:30 CET", now) == 0, "not GMT");
    CHECK(ATTRetryAfterMilliseconds(@"-5", now) == 0, "negative");
    CHECK(ATTRetryAfterMilliseconds(@"12s", now) == 0, "trailing garbage");
    CHECK(ATTRetryAfterMilliseconds(@"soon", now) == 0, "unreadable");
    CHECK(ATTRetryAfterMilliseconds(nil, now) == 0, "absent");

    CHECK(!ATTErrorReachedServer(nil), "nil");
    CHECK(!ATTErrorReachedServer([NSError errorWithDomain:NSURLErrorDomain code:NSURLErrorTimedOut userInfo:nil]),
          "a timeout may be a connect timeout: not reached");
    CHECK(!ATTErrorReachedServer([NSError errorWithDomain:NSURLErrorDomain code:NSURLErrorNotConnectedToInternet userInfo:nil]),
          "offline");
    CHECK(!ATTErrorReachedServer([NSError errorWithDomain:NSURLErrorDomain code:NSURLErrorCancelled userInfo:nil]),
          "cancelled (a refused certificate)");
    CHECK(ATTErrorReachedServer([NSError errorWithDomain:NSURLErrorDomain code:NSURLErrorBadServerResponse userInfo:nil]),
          "a bad answer reached the server");
    CHECK(!ATTErrorReachedServer([NSError errorWithDomain:@"Other" code:NSURLErrorBadServerResponse userInfo:nil]),
          "another domain");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s COLLECTOR\n", argv[0]);
        return 2;
    }
    atexit(stopCollector);
    signal(SIGPIPE, SIG_IGN);
    @autoreleasepool {
        test_default_is_the_library_transport_here();
        test_requests_reach_the_collector_through_the_transport(argv[1]);
        test_answers_map_to_the_library();
        test_retry_after_and_reached_server();
    }
    printf("objc transport: all tests passed (ATTURLSessionTransport itself: not run here, "
           "GNUstep base has no NSURLSession)\n");
    return 0;
}
