/*
 * Tests of the Objective-C wrapper (ATTracker.h) against the real library and
 * the test collector:
 *
 *   objc_test COLLECTOR
 *
 * COLLECTOR is the path of the collector example (examples/collector.rs); the
 * dispatch test starts it on a free loopback port. Each test has its own store
 * in a fresh directory under /tmp. The first failed check prints where and why
 * and exits with status 1.
 */
@import ATTracker;

#import <Foundation/Foundation.h>

#import "ATTracker.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#import "test_support.h"

static pthread_t mainThread;

static const char *describe(NSError *error)
{
    if (error == nil)
        return "no error";
    return [[NSString stringWithFormat:@"%@ %ld %@: %@", [error domain], (long)[error code],
                                       [[error userInfo] objectForKey:ATTStatusNameKey],
                                       [error localizedDescription]] UTF8String];
}

/* An error from these classes for the given status. */
static void checkError(NSError *error, at_status status, int line)
{
    if (error == nil || ![[error domain] isEqualToString:ATTErrorDomain] || [error code] != (NSInteger)status
        || ![[[error userInfo] objectForKey:ATTStatusNameKey] isEqualToString:[NSString stringWithUTF8String:at_status_str(status)]]) {
        fprintf(stderr, "FAIL %s (test_objc.m:%d): expected an ATTErrorDomain error with code %s, got %s\n",
                currentTest, line, at_status_str(status), describe(error));
        exit(1);
    }
}
#define CHECK_ERROR(error, status) checkError((error), (status), __LINE__)

/* Kept when a test fails, for a look at the store; removed when all pass. */
static NSMutableArray *storeDirectories;

static NSString *makeStoreDirectory(void)
{
    char path[] = "/tmp/attracker-objc-XXXXXX";
    CHECK(mkdtemp(path) != NULL, "mkdtemp: %s", strerror(errno));
    NSString *directory = [NSString stringWithUTF8String:path];
    [storeDirectories addObject:directory];
    return directory;
}

static ATTConfiguration *configuration(NSString *directory, NSString *endpoint, ATTOfflineMode mode)
{
    ATTConfiguration *cfg = [[[ATTConfiguration alloc] init] autorelease];
    cfg.storagePath = [directory stringByAppendingPathComponent:@"attracker.db"];
    cfg.endpoint = endpoint;
    cfg.offlineMode = mode;
    return cfg;
}

/* A tracker opened with `cfg`, which the caller owns (+1). */
static ATTTracker *openConfigured(ATTConfiguration *cfg)
{
    NSError *error = nil;
    ATTTracker *tracker = [[ATTTracker alloc] initWithConfiguration:cfg error:&error];
    CHECK(tracker != nil, "initWithConfiguration: %s", describe(error));
    return tracker;
}

/* A tracker the caller owns (+1), in "always" mode: nothing leaves by itself. */
static ATTTracker *openTracker(NSString *directory, NSString *endpoint)
{
    return openConfigured(configuration(directory, endpoint, ATTOfflineModeAlways));
}

static NSDictionary *dict(id value, NSString *key)
{
    return [NSDictionary dictionaryWithObject:value forKey:key];
}

static long threadCount(void)
{
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL)
        return -1;
    long n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

/*
 * Counts the calls of a completion block and keeps what the first one got.
 * This runtime's Block_copy does not retain captured objects, so a test keeps
 * its Calls alive until its tracker is freed (which runs or cancels every
 * pending completion).
 */
@interface Calls : NSObject {
    NSCondition *_condition;
    NSUInteger _count;
    id _value;
    BOOL _onMainThread;
}
- (void)record:(id)value;
- (BOOL)waitFor:(NSUInteger)count seconds:(NSTimeInterval)seconds;
- (NSUInteger)count;
- (id)value;
- (BOOL)ranOnMainThread;
@end

@implementation Calls
- (instancetype)init
{
    if ((self = [super init]) != nil)
        _condition = [[NSCondition alloc] init];
    return self;
}
- (void)dealloc
{
    [_condition release];
    [_value release];
    [super dealloc];
}
- (void)record:(id)value
{
    [_condition lock];
    if (_count++ == 0)
        _value = [value retain];
    if (pthread_equal(pthread_self(), mainThread))
        _onMainThread = YES;
    [_condition broadcast];
    [_condition unlock];
}
- (BOOL)waitFor:(NSUInteger)count seconds:(NSTimeInterval)seconds
{
    NSDate *deadline = [NSDate dateWithTimeIntervalSinceNow:seconds];
    [_condition lock];
    while (_count < count && [_condition waitUntilDate:deadline]) {
    }
    BOOL reached = _count >= count;
    [_condition unlock];
    return reached;
}
- (NSUInteger)count
{
    [_condition lock];
    NSUInteger count = _count;
    [_condition unlock];
    return count;
}
- (id)value
{
    [_condition lock];
    id value = [[_value retain] autorelease];
    [_condition unlock];
    return value;
}
- (BOOL)ranOnMainThread
{
    [_condition lock];
    BOOL onMain = _onMainThread;
    [_condition unlock];
    return onMain;
}
@end

#pragma mark - The test collector

/* Starts `collector 127.0.0.1:0 --exit-after hits`; returns its base URL. */
#pragma mark - A remote configuration server

/*
 * A minimal HTTP server on a free loopback port: a GET of /config gets
 * `document` with ETag "v1", or 304 when it carries If-None-Match: "v1".
 */
typedef struct {
    int listener;
    const char *document;
    char url[64];
    /* Read and written with __atomic builtins: with -idirafter <gcc's include
     * dir>, clang's <stdatomic.h> defers to gcc's, whose macros clang refuses. */
    int stop;
    int answered200;
    int answered304;
    pthread_t thread;
} ConfigServer;

static void *configServerMain(void *arg)
{
    ConfigServer *server = arg;
    while (!__atomic_load_n(&server->stop, __ATOMIC_SEQ_CST)) {
        struct pollfd pfd = { server->listener, POLLIN, 0 };
        if (poll(&pfd, 1, 20) != 1)
            continue;
        int conn = accept(server->listener, NULL, NULL);
        if (conn < 0)
            continue;
        char request[4096];
        size_t used = 0;
        for (int waited = 0; waited < 100 && used + 1 < sizeof request; waited++) {
            struct pollfd in = { conn, POLLIN, 0 };
            if (poll(&in, 1, 50) != 1)
                continue;
            ssize_t n = read(conn, request + used, sizeof request - 1 - used);
            if (n <= 0)
                break;
            used += (size_t)n;
            request[used] = '\0';
            if (strstr(request, "\r\n\r\n") != NULL)
                break;
        }
        request[used] = '\0';
        for (size_t i = 0; i < used; i++)
            request[i] = (char)tolower((unsigned char)request[i]);
        char response[4096];
        if (strncmp(request, "get /config ", 12) != 0) {
            snprintf(response, sizeof response,
                     "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        } else if (strstr(request, "if-none-match: \"v1\"") != NULL) {
            snprintf(response, sizeof response,
                     "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n");
            __atomic_fetch_add(&server->answered304, 1, __ATOMIC_SEQ_CST);
        } else {
            snprintf(response, sizeof response,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"v1\"\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     strlen(server->document), server->document);
            __atomic_fetch_add(&server->answered200, 1, __ATOMIC_SEQ_CST);
        }
        size_t sent = 0, length = strlen(response);
        while (sent < length) {
            ssize_t n = write(conn, response + sent, length - sent);
            if (n <= 0)
                break;
            sent += (size_t)n;
        }
        close(conn);
    }
    return NULL;
}

static void startConfigServer(ConfigServer *server, const char *document)
{
    memset(server, 0, sizeof *server);
    server->document = document;
    server->listener = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(server->listener >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    CHECK(bind(server->listener, (struct sockaddr *)&addr, sizeof addr) == 0, "bind: %s", strerror(errno));
    CHECK(listen(server->listener, 16) == 0, "listen: %s", strerror(errno));
    CHECK(getsockname(server->listener, (struct sockaddr *)&addr, &length) == 0, "getsockname: %s", strerror(errno));
    snprintf(server->url, sizeof server->url, "http://127.0.0.1:%d/config", ntohs(addr.sin_port));
    CHECK(pthread_create(&server->thread, NULL, configServerMain, server) == 0, "pthread_create");
}

static void stopConfigServer(ConfigServer *server)
{
    if (server->listener < 0)
        return;
    __atomic_store_n(&server->stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(server->thread, NULL);
    close(server->listener);
    server->listener = -1;
}

/* Waits up to `seconds` for `counter` to reach `value`. */
static BOOL waitAtLeast(int *counter, int value, int seconds)
{
    for (int i = 0; i < seconds * 100; i++) {
        if (__atomic_load_n(counter, __ATOMIC_SEQ_CST) >= value)
            return YES;
        sleepMs(10);
    }
    return __atomic_load_n(counter, __ATOMIC_SEQ_CST) >= value;
}

#pragma mark - Tests

/* An unreachable endpoint for the tests that never send. */
static NSString *const offlineEndpoint = @"http://127.0.0.1:9";

static void test_empty_store_has_no_hits(void)
{
    currentTest = __func__;
    ATTTracker *tracker = openTracker(makeStoreDirectory(), offlineEndpoint);
    @autoreleasepool {
        NSError *error = [NSError errorWithDomain:@"sentinel" code:1 userInfo:nil];
        CHECK([tracker.offline count] == 0, "count = %ld", (long)[tracker.offline count]);
        NSArray *hits = [tracker.offline getWithError:&error];
        CHECK(hits != nil && [hits count] == 0, "get: %s", describe(error));
        error = [NSError errorWithDomain:@"sentinel" code:1 userInfo:nil];
        CHECK([tracker.offline oldestWithError:&error] == nil && error == nil, "oldest of nothing: %s", describe(error));
        error = [NSError errorWithDomain:@"sentinel" code:1 userInfo:nil];
        CHECK([tracker.offline latestWithError:&error] == nil && error == nil, "latest of nothing: %s", describe(error));
        CHECK([tracker.offline delete] == 0, "delete of nothing");
        CHECK([tracker.offline deleteOlderThanDays:0] == 0, "deleteOlderThanDays:0 of nothing");
        CHECK([tracker.offline deleteOlderThanDate:[NSDate distantFuture]] == 0, "deleteOlderThanDate: of nothing");
    }
    [tracker release];
}

/* AT: get returns the stored hits with url, creationDate, retryCount,
 * isOffline and type; oldest and latest are the first and last. */
static void test_get_lists_hits_oldest_first_with_AT_fields(void)
{
    currentTest = __func__;
    NSString *endpoint = @"http://127.0.0.1:9/base";
    ATTTracker *tracker = openTracker(makeStoreDirectory(), endpoint);
    @autoreleasepool {
        NSError *error = nil;
        NSDictionary *home = dict(@"home", @"screen");
        NSDictionary *cart = [NSDictionary dictionaryWithObjectsAndKeys:@"A-42", @"sku", [NSNumber numberWithInt:2],
                                                                        @"quantity", [NSNull null], @"coupon",
                                                                        [NSArray arrayWithObjects:@"x", @"y", nil],
                                                                        @"tags", nil];
        NSDate *before = [NSDate date];
        CHECK([tracker trackEvent:@"screen_view" properties:home error:&error], "trackEvent: %s", describe(error));
        CHECK([tracker trackEvent:@"add_to_cart" properties:cart error:&error], "trackEvent: %s", describe(error));
        CHECK([tracker trackEvent:@"app_open" properties:nil error:&error], "trackEvent (nil properties): %s",
              describe(error));
        CHECK([tracker sendHit:@"http://127.0.0.1:9/hit.xiti?s=1&p=home" type:@"screen" error:&error],
              "sendHit: %s", describe(error));
        CHECK([tracker sendHit:@"http://127.0.0.1:9/hit.xiti?s=1&p=untyped" type:nil error:&error],
              "sendHit (nil type): %s", describe(error));
        NSDate *after = [NSDate date];

        CHECK([tracker.offline count] == 5, "count = %ld", (long)[tracker.offline count]);
        NSArray *hits = [tracker.offline getWithError:&error];
        CHECK([hits count] == 5, "get: %lu hits, %s", (unsigned long)[hits count], describe(error));

        NSArray *types = [NSArray arrayWithObjects:@"screen_view", @"add_to_cart", @"app_open", @"screen", @"", nil];
        NSMutableSet *messageIds = [NSMutableSet set];
        uint64_t previousId = 0;
        for (NSUInteger i = 0; i < [hits count]; i++) {
            ATTHit *hit = [hits objectAtIndex:i];
            CHECK([hit.type isEqualToString:[types objectAtIndex:i]], "hit %lu type %s", (unsigned long)i,
                  [hit.type UTF8String]);
            CHECK(hit.identifier > previousId, "hit %lu not in store order", (unsigned long)i);
            previousId = hit.identifier;
            CHECK(hit.retryCount == 0, "hit %lu retryCount %lu", (unsigned long)i, (unsigned long)hit.retryCount);
            CHECK(hit.isOffline, "hit %lu tracked in always mode is not isOffline", (unsigned long)i);
            /* Stored in whole milliseconds. */
            CHECK([hit.creationDate timeIntervalSinceDate:before] > -0.002
                      && [after timeIntervalSinceDate:hit.creationDate] > -0.002,
                  "hit %lu creationDate %s outside the tracking calls", (unsigned long)i,
                  [[hit.creationDate description] UTF8String]);
            CHECK([hit.messageId length] == 36, "messageId %s", [hit.messageId UTF8String]);
            [messageIds addObject:hit.messageId];
        }
        CHECK([messageIds count] == 5, "message ids are not unique");

        /* Events: posted to {endpoint}/v1/batch with their properties verbatim. */
        NSArray *bodies = [NSArray arrayWithObjects:home, cart, [NSDictionary dictionary], nil];
        for (NSUInteger i = 0; i < 3; i++) {
            ATTHit *hit = [hits objectAtIndex:i];
            CHECK([hit.url isEqualToString:@"http://127.0.0.1:9/base/v1/batch"], "event url %s", [hit.url UTF8String]);
            id body = [NSJSONSerialization JSONObjectWithData:[hit.body dataUsingEncoding:NSUTF8StringEncoding]
                                                      options:0
                                                        error:NULL];
            CHECK([body isEqual:[bodies objectAtIndex:i]], "event %lu body %s", (unsigned long)i,
                  [hit.body UTF8String]);
        }
        /* URL hits: the URL as given, no body. */
        ATTHit *urlHit = [hits objectAtIndex:3];
        CHECK([urlHit.url isEqualToString:@"http://127.0.0.1:9/hit.xiti?s=1&p=home"] && urlHit.body == nil,
              "URL hit %s", [[urlHit description] UTF8String]);

        ATTHit *oldest = [tracker.offline oldestWithError:&error];
        ATTHit *latest = [tracker.offline latestWithError:&error];
        CHECK([oldest.messageId isEqualToString:[[hits objectAtIndex:0] messageId]], "oldest is %s",
              [[oldest description] UTF8String]);
        CHECK([latest.messageId isEqualToString:[[hits lastObject] messageId]], "latest is %s",
              [[latest description] UTF8String]);
        CHECK([latest.creationDate isEqual:[[hits lastObject] creationDate]], "latest creationDate differs from get's");
    }
    [tracker release];
}

/* AT: delete removes every stored hit and returns how many. */
static void test_delete_removes_every_hit_and_counts_them(void)
{
    currentTest = __func__;
    ATTTracker *tracker = openTracker(makeStoreDirectory(), offlineEndpoint);
    @autoreleasepool {
        for (int i = 0; i < 3; i++)
            CHECK([tracker trackEvent:@"e" properties:nil], "trackEvent");
        NSError *error = nil;
        CHECK([tracker.offline deleteWithError:&error] == 3, "delete: %s", describe(error));
        CHECK([tracker.offline count] == 0, "count after delete = %ld", (long)[tracker.offline count]);
        CHECK([tracker.offline oldest] == nil, "oldest after delete");
        CHECK([[tracker.offline get] count] == 0, "get after delete");
    }
    [tracker release];
}

/* AT: delete(olderThan: days) removes hits older than that many days. */
static void test_delete_older_than_days_keeps_younger_hits(void)
{
    currentTest = __func__;
    ATTTracker *tracker = openTracker(makeStoreDirectory(), offlineEndpoint);
    @autoreleasepool {
        CHECK([tracker trackEvent:@"a" properties:nil], "trackEvent");
        CHECK([tracker trackEvent:@"b" properties:nil], "trackEvent");
        NSError *error = nil;
        CHECK([tracker.offline deleteOlderThanDays:1 error:&error] == 0, "1 day: %s", describe(error));
        CHECK([tracker.offline deleteOlderThanDays:NSUIntegerMax error:&error] == 0, "NSUIntegerMax days: %s",
              describe(error));
        CHECK([tracker.offline count] == 2, "count = %ld", (long)[tracker.offline count]);
        /* 0 days: every hit created before now. */
        sleepMs(5);
        CHECK([tracker.offline deleteOlderThanDays:0 error:&error] == 2, "0 days: %s", describe(error));
        CHECK([tracker.offline count] == 0, "count = %ld", (long)[tracker.offline count]);
    }
    [tracker release];
}

/* AT: delete(olderThan: NSDate) removes the hits created before the date. */
static void test_delete_older_than_date_removes_only_older_hits(void)
{
    currentTest = __func__;
    ATTTracker *tracker = openTracker(makeStoreDirectory(), offlineEndpoint);
    @autoreleasepool {
        CHECK([tracker trackEvent:@"old1" properties:nil], "trackEvent");
        CHECK([tracker trackEvent:@"old2" properties:nil], "trackEvent");
        sleepMs(30);
        NSDate *cut = [NSDate date];
        sleepMs(30);
        CHECK([tracker trackEvent:@"new1" properties:nil], "trackEvent");
        CHECK([tracker trackEvent:@"new2" properties:nil], "trackEvent");

        NSError *error = nil;
        CHECK([tracker.offline deleteOlderThanDate:[NSDate distantPast] error:&error] == 0, "distantPast: %s",
              describe(error));
        CHECK([tracker.offline deleteOlderThanDate:cut error:&error] == 2, "cut: %s", describe(error));
        NSArray *left = [tracker.offline get];
        CHECK([left count] == 2 && [[[left objectAtIndex:0] type] isEqualToString:@"new1"]
                  && [[[left objectAtIndex:1] type] isEqualToString:@"new2"],
              "left after the cut: %s", [[left description] UTF8String]);
        CHECK([[tracker.offline oldest].type isEqualToString:@"new1"], "oldest after the cut");

        error = nil;
        NSDate *noDate = nil; /* a variable: a nil literal is a compile-time warning */
        CHECK([tracker.offline deleteOlderThanDate:noDate error:&error] == -1, "nil date");
        CHECK_ERROR(error, AT_ERR_NULL_ARGUMENT);
        CHECK([tracker.offline deleteOlderThanDate:[NSDate distantFuture]] == 2, "distantFuture");
    }
    [tracker release];
}

/* Properties that are not JSON: an NSError, and the store is unchanged. */
static void test_invalid_properties_are_an_error_and_change_nothing(void)
{
    currentTest = __func__;
    ATTTracker *tracker = openTracker(makeStoreDirectory(), offlineEndpoint);
    @autoreleasepool {
        CHECK([tracker trackEvent:@"kept" properties:dict(@"v", @"k")], "trackEvent");
        NSString *keptId = [tracker.offline latest].messageId;

        NSDictionary *nested = dict([NSArray arrayWithObjects:@"ok", [NSDate date], nil], @"list");
        NSDictionary *numberKey = [NSDictionary dictionaryWithObject:@"v" forKey:[NSNumber numberWithInt:1]];
        NSArray *invalid = [NSArray arrayWithObjects:dict([NSDate date], @"when"), nested, numberKey,
                                                     dict([NSNumber numberWithDouble:NAN], @"nan"),
                                                     dict([NSNumber numberWithDouble:INFINITY], @"inf"),
                                                     dict([NSData data], @"data"), nil];
        for (NSDictionary *properties in invalid) {
            NSError *error = nil;
            CHECK(![tracker trackEvent:@"bad" properties:properties error:&error], "accepted %s",
                  [[properties description] UTF8String]);
            CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
            CHECK([[error localizedDescription] rangeOfString:@"not valid JSON"].location != NSNotFound,
                  "description: %s", describe(error));
        }
        NSError *error = nil;
        [tracker trackEvent:@"bad" properties:dict([NSDate date], @"when") error:&error];
        CHECK([[error localizedDescription] rangeOfString:@"properties[\"when\"] is a"].location != NSNotFound,
              "the description names the bad value: %s", describe(error));

        CHECK([tracker.offline count] == 1, "count = %ld after invalid properties", (long)[tracker.offline count]);
        CHECK([[tracker.offline latest].messageId isEqualToString:keptId], "the store changed");
    }
    [tracker release];
}

/* Properties nest as deep as at_track_event allows (128 levels), no deeper. */
static void test_properties_nest_128_levels_deep(void)
{
    currentTest = __func__;
    ATTTracker *tracker = openTracker(makeStoreDirectory(), offlineEndpoint);
    @autoreleasepool {
        id nested = @"leaf";
        for (int level = 0; level < 128; level++)
            nested = dict(nested, @"k");
        NSError *error = nil;
        CHECK([tracker trackEvent:@"deep" properties:nested error:&error], "128 levels: %s", describe(error));
        CHECK(![tracker trackEvent:@"deeper" properties:dict(nested, @"k") error:&error], "129 levels were accepted");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        CHECK([[error localizedDescription] rangeOfString:@"nests deeper than 128"].location != NSNotFound,
              "description: %s", describe(error));
        CHECK([tracker.offline count] == 1, "count = %ld", (long)[tracker.offline count]);
    }
    [tracker release];
}

/* A failing C call: code = its at_status, description = its at_last_error(). */
static void test_errors_carry_the_status_and_last_error(void)
{
    currentTest = __func__;
    NSString *directory = makeStoreDirectory();
    ATTTracker *tracker = openTracker(directory, offlineEndpoint);
    @autoreleasepool {
        NSError *error = nil;

        CHECK(![tracker trackEvent:@"" properties:nil error:&error], "an empty type was accepted");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        /* Nothing attracker ran on this thread since: the message is still there. */
        CHECK([[error localizedDescription] isEqualToString:[NSString stringWithUTF8String:at_last_error()]],
              "description %s vs at_last_error() %s", describe(error), at_last_error());
        CHECK([[error localizedDescription] length] > 0, "empty description");

        error = nil;
        CHECK(![tracker sendHit:@"not a url" type:@"screen" error:&error], "a bad URL was accepted");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        CHECK([[error localizedDescription] isEqualToString:[NSString stringWithUTF8String:at_last_error()]],
              "description %s vs at_last_error() %s", describe(error), at_last_error());

        error = nil;
        NSString *noType = nil;
        CHECK(![tracker trackEvent:noType properties:nil error:&error], "a nil type was accepted");
        CHECK_ERROR(error, AT_ERR_NULL_ARGUMENT);

        CHECK([tracker.offline count] == 0, "failed calls stored %ld hit(s)", (long)[tracker.offline count]);

        /* The configuration's errors come from the C setters and at_tracker_new. */
        ATTConfiguration *noEndpoint = configuration(directory, nil, ATTOfflineModeAlways);
        error = nil;
        CHECK([[ATTTracker alloc] initWithConfiguration:noEndpoint error:&error] == nil, "opened without an endpoint");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        CHECK([[error localizedDescription] rangeOfString:@"endpoint"].location != NSNotFound,
              "the missing endpoint is not named: %s", describe(error));
        CHECK([[error localizedDescription] isEqualToString:[NSString stringWithUTF8String:at_last_error()]],
              "description %s vs at_last_error() %s", describe(error), at_last_error());

        ATTConfiguration *ftp = configuration(directory, @"ftp://example.com", ATTOfflineModeAlways);
        error = nil;
        CHECK([[ATTTracker alloc] initWithConfiguration:ftp error:&error] == nil, "opened with an ftp endpoint");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        CHECK([[error localizedDescription] isEqualToString:[NSString stringWithUTF8String:at_last_error()]],
              "description %s vs at_last_error() %s", describe(error), at_last_error());
    }
    [tracker release];
}

/* AT's setOfflineMode:completionHandler: is asynchronous: the handler runs
 * once, on the callback thread; a refused mode never calls it. */
static void test_set_offline_mode_completes_once_off_the_main_thread(void)
{
    currentTest = __func__;
    Calls *calls = [[Calls alloc] init];
    Calls *refused = [[Calls alloc] init];
    ATTTracker *tracker = openTracker(makeStoreDirectory(), offlineEndpoint);
    @autoreleasepool {
        CHECK(tracker.offlineMode == ATTOfflineModeAlways, "configured mode %lu", (unsigned long)tracker.offlineMode);
        CHECK([tracker trackEvent:@"before" properties:nil], "trackEvent");
        NSError *error = nil;
        BOOL started = [tracker setOfflineMode:ATTOfflineModeRequired
                             completionHandler:^(NSError *e) { [calls record:(e != nil ? (id)e : (id)[NSNull null])]; }
                                         error:&error];
        CHECK(started, "setOfflineMode: %s", describe(error));
        CHECK(tracker.offlineMode == ATTOfflineModeRequired, "mode after the change %lu",
              (unsigned long)tracker.offlineMode);
        CHECK([calls waitFor:1 seconds:10], "the completion handler did not run within 10 s");
        CHECK([[calls value] isKindOfClass:[NSNull class]], "completed with %s", [[[calls value] description] UTF8String]);
        CHECK(![calls ranOnMainThread], "the completion handler ran on the main thread");

        error = nil;
        started = [tracker setOfflineMode:(ATTOfflineMode)99
                        completionHandler:^(NSError *e) { [refused record:e]; }
                                    error:&error];
        CHECK(!started, "mode 99 was accepted");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        CHECK(tracker.offlineMode == ATTOfflineModeRequired, "a refused mode changed it");
    }
    [tracker release];
    CHECK([calls count] == 1, "the completion handler ran %lu times", (unsigned long)[calls count]);
    CHECK([refused count] == 0, "a refused change called its handler");
    [calls release];
    [refused release];
}

/* AT: offline.dispatch sends every stored hit and deletes them once sent. The
 * completion block runs exactly once, with sent = the number of hits. */
static void test_dispatch_sends_every_hit_and_completes_once(const char *collectorPath)
{
    currentTest = __func__;
    const int events = 3, urlHits = 2;
    NSString *url = startCollector(collectorPath, events + urlHits);
    Calls *calls = [[Calls alloc] init];
    ATTTracker *tracker = openTracker(makeStoreDirectory(), url);
    @autoreleasepool {
        for (int i = 0; i < events; i++)
            CHECK([tracker trackEvent:@"level_up" properties:dict([NSNumber numberWithInt:i], @"level")],
                  "trackEvent");
        for (int i = 0; i < urlHits; i++) {
            NSString *hitURL = [NSString stringWithFormat:@"%@/hit.xiti?s=1&n=%d", url, i];
            CHECK([tracker sendHit:hitURL type:@"screen"], "sendHit");
        }
        /* "always": nothing has left by itself. */
        sleepMs(200);
        CHECK([tracker.offline count] == events + urlHits, "count before dispatch = %ld",
              (long)[tracker.offline count]);

        NSError *error = nil;
        BOOL started = [tracker.offline dispatchWithCompletion:^(ATTDispatchResult *result) { [calls record:result]; }
                                                         error:&error];
        CHECK(started, "dispatch: %s", describe(error));
        CHECK([calls waitFor:1 seconds:30], "the dispatch completion did not run within 30 s");
        ATTDispatchResult *result = [calls value];
        CHECK(result.status == AT_OK && result.error == nil, "dispatch status %s, %s", at_status_str(result.status),
              describe(result.error));
        CHECK(result.sent == (uint64_t)(events + urlHits) && result.failed == 0 && result.dropped == 0,
              "dispatch %s", [[result description] UTF8String]);
        CHECK(![calls ranOnMainThread], "the completion ran on the main thread");
        CHECK([tracker.offline count] == 0, "count after dispatch = %ld", (long)[tracker.offline count]);

        /* Exactly once: no second call, not even later. */
        CHECK(![calls waitFor:2 seconds:0.5], "the completion ran twice");
        int collectorStatus = waitCollector(10);
        CHECK(collectorStatus == 0, "the collector did not exit after seeing the %d hits (status %d)",
              events + urlHits, collectorStatus);
    }
    [tracker release];
    CHECK([calls count] == 1, "the completion ran %lu times", (unsigned long)[calls count]);
    [calls release];
}

/* A dispatch that cannot reach the collector: its result carries
 * AT_ERR_NETWORK as an NSError, and the hits stay stored. */
static void test_dispatch_to_an_unreachable_collector_reports_a_network_error(void)
{
    currentTest = __func__;
    Calls *calls = [[Calls alloc] init];
    ATTTracker *tracker = openTracker(makeStoreDirectory(), offlineEndpoint);
    @autoreleasepool {
        CHECK([tracker trackEvent:@"stays" properties:nil], "trackEvent");
        CHECK([tracker.offline dispatchWithCompletion:^(ATTDispatchResult *result) { [calls record:result]; }],
              "dispatch");
        CHECK([calls waitFor:1 seconds:30], "the dispatch completion did not run within 30 s");
        ATTDispatchResult *result = [calls value];
        CHECK(result.status == AT_ERR_NETWORK && result.sent == 0, "dispatch %s", [[result description] UTF8String]);
        CHECK_ERROR(result.error, AT_ERR_NETWORK);
        CHECK([tracker.offline count] == 1, "count after a failed dispatch = %ld", (long)[tracker.offline count]);
    }
    [tracker release];
    CHECK([calls count] == 1, "the completion ran %lu times", (unsigned long)[calls count]);
    [calls release];
}

/* Releasing a tracker frees it: its threads are gone when the release returns,
 * a pending completion has run (once), and the store opens again with every
 * hit accepted before. */
static void test_dealloc_frees_the_tracker(void)
{
    currentTest = __func__;
    NSString *directory = makeStoreDirectory();
    Calls *calls = [[Calls alloc] init];
    long baseline = threadCount();
    ATTTracker *tracker = openTracker(directory, offlineEndpoint);
    @autoreleasepool {
        CHECK(threadCount() > baseline, "a tracker started no thread (%ld)", baseline);
        CHECK([tracker trackEvent:@"survivor" properties:nil], "trackEvent");
        CHECK([tracker setOfflineMode:ATTOfflineModeAlways
                    completionHandler:^(NSError *e) { [calls record:(e != nil ? (id)e : (id)[NSNull null])]; }],
              "setOfflineMode");
    } /* the ATTOffline objects, which retain the tracker, are gone */
    [tracker release];
    CHECK([calls count] == 1, "a completion pending at release ran %lu times", (unsigned long)[calls count]);
    CHECK(threadCount() == baseline, "%ld threads after release, %ld before the tracker", threadCount(), baseline);

    tracker = openTracker(directory, offlineEndpoint);
    @autoreleasepool {
        NSArray *hits = [tracker.offline get];
        CHECK([hits count] == 1 && [[[hits objectAtIndex:0] type] isEqualToString:@"survivor"],
              "reopened store holds %s", [[hits description] UTF8String]);
    }
    [tracker release];
    CHECK(threadCount() == baseline, "%ld threads after the second release, %ld before", threadCount(), baseline);
    [calls release];
}

/* An ATTOffline keeps its tracker alive (AT code holds `tracker.offline`). */
static void test_offline_keeps_its_tracker_alive(void)
{
    currentTest = __func__;
    long baseline = threadCount();
    ATTOffline *offline = nil;
    @autoreleasepool {
        ATTTracker *tracker = openTracker(makeStoreDirectory(), offlineEndpoint);
        offline = [tracker.offline retain];
        [tracker release];
    }
    CHECK([offline.tracker trackEvent:@"still here" properties:nil], "the tracker went with its last reference");
    CHECK([offline count] == 1, "count = %ld", (long)[offline count]);
    [offline release]; /* and the tracker with it */
    CHECK(threadCount() == baseline, "%ld threads after the release, %ld before", threadCount(), baseline);
}

/* The visitor id: a UUID v4 kept in the store, reset to a new one, replaced by
 * the app's own; a refused id is an error and changes nothing. */
static void test_visitor_id_is_kept_in_the_store(void)
{
    currentTest = __func__;
    NSString *directory = makeStoreDirectory();
    ATTTracker *tracker = openTracker(directory, offlineEndpoint);
    NSString *first = nil, *second = nil;
    @autoreleasepool {
        NSError *error = nil;
        first = [[tracker visitorIdWithError:&error] retain];
        CHECK(first != nil && [first length] == 36 && [first characterAtIndex:14] == '4', "visitorId %s: %s",
              [first UTF8String], describe(error));
        CHECK([tracker.visitorId isEqualToString:first], "the visitor id is not stable");

        CHECK([tracker resetVisitorIdWithError:&error], "resetVisitorId: %s", describe(error));
        second = [tracker.visitorId retain];
        CHECK([second length] == 36 && ![second isEqualToString:first], "reset: %s then %s", [first UTF8String],
              [second UTF8String]);

        NSArray *refused = [NSArray arrayWithObjects:@"", @"tab\there", @"line\nbreak",
                                                     [@"" stringByPaddingToLength:129 withString:@"x" startingAtIndex:0],
                                                     nil];
        for (NSString *bad in refused) {
            error = nil;
            CHECK(![tracker setVisitorId:bad error:&error], "accepted the visitor id \"%s\"", [bad UTF8String]);
            CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
            CHECK([[error localizedDescription] isEqualToString:[NSString stringWithUTF8String:at_last_error()]],
                  "description %s vs at_last_error() %s", describe(error), at_last_error());
        }
        error = nil;
        NSString *noId = nil;
        CHECK(![tracker setVisitorId:noId error:&error], "accepted a nil visitor id");
        CHECK_ERROR(error, AT_ERR_NULL_ARGUMENT);
        CHECK([tracker.visitorId isEqualToString:second], "a refused id changed it to %s",
              [tracker.visitorId UTF8String]);

        NSString *longest = [@"" stringByPaddingToLength:128 withString:@"y" startingAtIndex:0];
        CHECK([tracker setVisitorId:longest error:&error], "128 bytes: %s", describe(error));
        CHECK([tracker.visitorId isEqualToString:longest], "visitorId %s", [tracker.visitorId UTF8String]);
        NSString *accented = [NSString stringWithUTF8String:"visiteur-\xc3\xa9"];
        CHECK([tracker setVisitorId:accented error:&error], "UTF-8: %s", describe(error));
        CHECK([tracker.visitorId isEqualToString:accented], "visitorId %s", [tracker.visitorId UTF8String]);
        CHECK([tracker setVisitorId:@"user-42" error:&error], "setVisitorId: %s", describe(error));
    }
    [tracker release];

    /* The next tracker on the store has the same id. */
    tracker = openTracker(directory, offlineEndpoint);
    @autoreleasepool {
        CHECK([tracker.visitorId isEqualToString:@"user-42"], "after reopening: %s", [tracker.visitorId UTF8String]);
        CHECK([tracker resetVisitorId], "resetVisitorId");
        NSString *fresh = tracker.visitorId;
        CHECK([fresh length] == 36 && ![fresh isEqualToString:first] && ![fresh isEqualToString:second],
              "reset after reopening: %s", [fresh UTF8String]);
    }
    [tracker release];
    [first release];
    [second release];
}

/* Opting out: Keep leaves the queue, Purge deletes it and says how many; the
 * configured policy applies to setTrackingEnabled:NO. */
static void test_opt_out_keeps_or_purges_the_queue(void)
{
    currentTest = __func__;
    ATTConfiguration *cfg = configuration(makeStoreDirectory(), offlineEndpoint, ATTOfflineModeAlways);
    CHECK(cfg.optOutPolicy == ATTOptOutPolicyKeep, "default optOutPolicy %lu", (unsigned long)cfg.optOutPolicy);
    cfg.optOutPolicy = ATTOptOutPolicyPurge;
    NSError *error = nil;
    ATTTracker *tracker = openConfigured(cfg);
    @autoreleasepool {
        for (int i = 0; i < 4; i++)
            CHECK([tracker trackEvent:@"queued" properties:nil], "trackEvent");

        NSUInteger purged = 99;
        CHECK(![tracker optOutWithPolicy:(ATTOptOutPolicy)9 purged:&purged error:&error], "policy 9 was accepted");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
#if __LP64__
        error = nil; /* would wrap to AT_OPT_OUT_PURGE in an at_opt_out_policy */
        CHECK(![tracker optOutWithPolicy:(ATTOptOutPolicy)(((NSUInteger)1 << 32) | 1) purged:&purged error:&error],
              "a policy that wraps was accepted");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
#endif
        CHECK(purged == 99, "a refused opt-out set purged to %lu", (unsigned long)purged);
        CHECK([tracker trackEvent:@"still_collecting" properties:nil], "a refused opt-out stopped collection");
        CHECK([tracker.offline count] == 5, "count = %ld", (long)[tracker.offline count]);

        CHECK([tracker optOutWithPolicy:ATTOptOutPolicyKeep purged:&purged error:&error], "Keep: %s", describe(error));
        CHECK(purged == 0, "Keep purged %lu", (unsigned long)purged);
        CHECK([tracker.offline count] == 5, "count after Keep = %ld", (long)[tracker.offline count]);
        error = nil;
        CHECK(![tracker trackEvent:@"after_opt_out" properties:nil error:&error], "tracked after opting out");
        CHECK_ERROR(error, AT_ERR_SUPPRESSED);

        CHECK([tracker optOutWithPolicy:ATTOptOutPolicyPurge purged:&purged error:&error], "Purge: %s",
              describe(error));
        CHECK(purged == 5, "Purge purged %lu", (unsigned long)purged);
        CHECK([tracker.offline count] == 0, "count after Purge = %ld", (long)[tracker.offline count]);
        CHECK([tracker optOutWithPolicy:ATTOptOutPolicyPurge], "Purge without purged:");

        /* Back in; then the configured policy (Purge) on setTrackingEnabled:NO. */
        CHECK([tracker setTrackingEnabled:YES error:&error], "setTrackingEnabled:YES: %s", describe(error));
        CHECK([tracker trackEvent:@"back_in" properties:nil error:&error], "trackEvent: %s", describe(error));
        CHECK([tracker trackEvent:@"back_in_2" properties:nil error:&error], "trackEvent: %s", describe(error));
        CHECK([tracker.offline count] == 2, "count = %ld", (long)[tracker.offline count]);
        CHECK([tracker setTrackingEnabled:NO error:&error], "setTrackingEnabled:NO: %s", describe(error));
        CHECK([tracker.offline count] == 0, "the configured Purge left %ld hit(s)", (long)[tracker.offline count]);
    }
    [tracker release];
}

/* A configuration that cannot open: the error of the refused setting. */
static void checkRefusedConfiguration(ATTConfiguration *cfg, const char *what, NSString *named, int line)
{
    NSError *error = nil;
    ATTTracker *tracker = [[ATTTracker alloc] initWithConfiguration:cfg error:&error];
    if (tracker != nil) {
        fprintf(stderr, "FAIL %s (test_objc.m:%d): opened with %s\n", currentTest, line, what);
        exit(1);
    }
    checkError(error, AT_ERR_INVALID_ARGUMENT, line);
    if (named != nil && [[error localizedDescription] rangeOfString:named].location == NSNotFound) {
        fprintf(stderr, "FAIL %s (test_objc.m:%d): %s: the description does not name %s: %s\n", currentTest, line,
                what, [named UTF8String], describe(error));
        exit(1);
    }
}
#define CHECK_REFUSED(cfg, what, named) checkRefusedConfiguration((cfg), (what), (named), __LINE__)

/* Remote configuration: the settings' checks; no document without a URL; a
 * served document reaches the handler once, is returned by remoteConfigJSON,
 * and is cached for the next tracker on the store. */
static void test_remote_configuration(void)
{
    currentTest = __func__;
    NSString *directory = makeStoreDirectory();
    @autoreleasepool {
        ATTConfiguration *defaults = [[[ATTConfiguration alloc] init] autorelease];
        CHECK(defaults.remoteConfigURL == nil && defaults.remoteConfigInterval == 3600
                  && [defaults.allowedEndpointHosts count] == 0 && defaults.remoteConfigHandler == nil,
              "defaults: url %s interval %g hosts %lu", [defaults.remoteConfigURL UTF8String],
              defaults.remoteConfigInterval, (unsigned long)[defaults.allowedEndpointHosts count]);

        ATTConfiguration *cfg = configuration(directory, offlineEndpoint, ATTOfflineModeAlways);
        cfg.remoteConfigURL = @"ftp://x";
        CHECK_REFUSED(cfg, "an ftp remote config URL", @"remote config URL");
        cfg.remoteConfigURL = nil;
        cfg.remoteConfigInterval = 0.099;
        CHECK_REFUSED(cfg, "a 99 ms interval", nil);
        cfg.remoteConfigInterval = NAN;
        CHECK_REFUSED(cfg, "a NaN interval", @"remoteConfigInterval");
        cfg.remoteConfigInterval = -1;
        CHECK_REFUSED(cfg, "a negative interval", @"remoteConfigInterval");
        cfg.remoteConfigInterval = 60;
        cfg.allowedEndpointHosts = [NSArray arrayWithObject:@"https://x"];
        CHECK_REFUSED(cfg, "a host with a scheme", nil);
        cfg.allowedEndpointHosts = [NSArray arrayWithObject:[NSNumber numberWithInt:1]];
        CHECK_REFUSED(cfg, "a host that is an NSNumber", @"allowedEndpointHosts");
        cfg.allowedEndpointHosts = [NSArray arrayWithObjects:@"collect.example.com", @"eu.example.com", nil];
        cfg.optOutPolicy = (ATTOptOutPolicy)7;
        CHECK_REFUSED(cfg, "opt-out policy 7", nil);
        cfg.optOutPolicy = ATTOptOutPolicyKeep;

        /* Valid settings but no URL: no document. */
        ATTTracker *tracker = openConfigured(cfg);
        NSError *error = [NSError errorWithDomain:@"sentinel" code:1 userInfo:nil];
        CHECK([tracker remoteConfigJSONWithError:&error] == nil && error == nil, "a document without a URL: %s",
              describe(error));
        CHECK(tracker.remoteConfigJSON == nil, "remoteConfigJSON without a URL");
        [tracker release];
    }

    /* A served document; the host's own keys come back verbatim. */
    static const char document[] = "{\"schema_version\":1,\"flush_threshold\":5,\"app\":{\"theme\":\"dark\"}}";
    NSString *expected = [NSString stringWithUTF8String:document];
    ConfigServer server;
    startConfigServer(&server, document);
    Calls *calls = [[Calls alloc] init];
    ATTConfiguration *cfg = [configuration(directory, offlineEndpoint, ATTOfflineModeAlways) retain];
    cfg.remoteConfigURL = [NSString stringWithUTF8String:server.url];
    cfg.remoteConfigInterval = 0.1;
    cfg.remoteConfigHandler = ^(NSString *json) { [calls record:json]; };
    ATTTracker *tracker = openConfigured(cfg);
    /* The tracker has its own copy of the handler. */
    cfg.remoteConfigHandler = nil;
    @autoreleasepool {
        CHECK([calls waitFor:1 seconds:15], "the remote config handler did not run within 15 s");
        CHECK([[calls value] isEqualToString:expected], "the handler got %s", [[[calls value] description] UTF8String]);
        CHECK(![calls ranOnMainThread], "the remote config handler ran on the main thread");
        CHECK([tracker.remoteConfigJSON isEqualToString:expected], "remoteConfigJSON %s",
              [tracker.remoteConfigJSON UTF8String]);
        /* Fetched again every 100 ms: 304, and no second call. */
        CHECK(waitAtLeast(&server.answered304, 2, 15), "%d 304 answers",
              __atomic_load_n(&server.answered304, __ATOMIC_SEQ_CST));
        CHECK([calls count] == 1, "the handler ran %lu times", (unsigned long)[calls count]);
    }
    [tracker release];

    /* The server is gone: the cached document is in force from the start, and
     * the handler is not called for it. */
    stopConfigServer(&server);
    CHECK(__atomic_load_n(&server.answered200, __ATOMIC_SEQ_CST) == 1, "%d documents served",
          __atomic_load_n(&server.answered200, __ATOMIC_SEQ_CST));
    cfg.remoteConfigHandler = ^(NSString *json) { [calls record:json]; };
    tracker = openConfigured(cfg);
    @autoreleasepool {
        CHECK([tracker.remoteConfigJSON isEqualToString:expected], "cached remoteConfigJSON %s",
              [tracker.remoteConfigJSON UTF8String]);
        sleepMs(200);
        CHECK([calls count] == 1, "the handler ran %lu times", (unsigned long)[calls count]);
    }
    [tracker release];
    [cfg release];
    [calls release];
}

#pragma mark - A collector that checks the api key

/*
 * A minimal collector on a free loopback port: a POST to /v1/batch whose
 * Authorization is "Bearer <goodKey>" gets 200 {} (application/json), any
 * other request 401. Counts both.
 */
typedef struct {
    int listener;
    const char *goodKey;
    char url[64];
    int stop;       /* __atomic, as in ConfigServer */
    int accepted;
    int refused;
    pthread_t thread;
} KeyServer;

/* Reads one request (head and Content-Length body) from `conn` into `request`
 * (lowercased head); NO when it did not arrive within 5 s. */
static BOOL readRequest(int conn, char *request, size_t size)
{
    size_t used = 0, want = 0;
    char *body = NULL;
    for (int waited = 0; waited < 100 && used + 1 < size; waited++) {
        if (body != NULL && used >= (size_t)(body - request) + want)
            return YES;
        struct pollfd in = { conn, POLLIN, 0 };
        if (poll(&in, 1, 50) != 1)
            continue;
        ssize_t n = read(conn, request + used, size - 1 - used);
        if (n <= 0)
            return NO;
        used += (size_t)n;
        request[used] = '\0';
        char *end = strstr(request, "\r\n\r\n");
        if (body == NULL && end != NULL) {
            for (char *c = request; c < end; c++)
                *c = (char)tolower((unsigned char)*c);
            body = end + 4;
            const char *length = strstr(request, "\r\ncontent-length:");
            want = length != NULL && length < end ? strtoul(length + 17, NULL, 10) : 0;
            if (strstr(request, "\r\nexpect: 100-continue") != NULL) {
                const char *go = "HTTP/1.1 100 Continue\r\n\r\n";
                if (write(conn, go, strlen(go)) < 0)
                    return NO;
            }
        }
        waited = 0;
    }
    return body != NULL && used >= (size_t)(body - request) + want;
}

static void *keyServerMain(void *arg)
{
    KeyServer *server = arg;
    static char request[1 << 20];
    while (!__atomic_load_n(&server->stop, __ATOMIC_SEQ_CST)) {
        struct pollfd pfd = { server->listener, POLLIN, 0 };
        if (poll(&pfd, 1, 20) != 1)
            continue;
        int conn = accept(server->listener, NULL, NULL);
        if (conn < 0)
            continue;
        if (readRequest(conn, request, sizeof request)) {
            char expected[128];
            snprintf(expected, sizeof expected, "\r\nauthorization: bearer %s\r\n", server->goodKey);
            const char *response;
            if (strncmp(request, "post /v1/batch ", 15) == 0 && strstr(request, expected) != NULL) {
                response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                           "Connection: close\r\n\r\n{}";
                __atomic_fetch_add(&server->accepted, 1, __ATOMIC_SEQ_CST);
            } else {
                response = "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                           "Connection: close\r\n\r\n{}";
                __atomic_fetch_add(&server->refused, 1, __ATOMIC_SEQ_CST);
            }
            size_t sent = 0, length = strlen(response);
            while (sent < length) {
                ssize_t n = write(conn, response + sent, length - sent);
                if (n <= 0)
                    break;
                sent += (size_t)n;
            }
        }
        close(conn);
    }
    return NULL;
}

static void startKeyServer(KeyServer *server, const char *goodKey)
{
    memset(server, 0, sizeof *server);
    server->goodKey = goodKey;
    server->listener = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(server->listener >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    CHECK(bind(server->listener, (struct sockaddr *)&addr, sizeof addr) == 0, "bind: %s", strerror(errno));
    CHECK(listen(server->listener, 16) == 0, "listen: %s", strerror(errno));
    CHECK(getsockname(server->listener, (struct sockaddr *)&addr, &length) == 0, "getsockname: %s", strerror(errno));
    snprintf(server->url, sizeof server->url, "http://127.0.0.1:%d", ntohs(addr.sin_port));
    CHECK(pthread_create(&server->thread, NULL, keyServerMain, server) == 0, "pthread_create");
}

static void stopKeyServer(KeyServer *server)
{
    if (server->listener < 0)
        return;
    __atomic_store_n(&server->stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(server->thread, NULL);
    close(server->listener);
    server->listener = -1;
}

/* A refused key (401): the dispatch fails with AT_ERR_KEY_REJECTED, the hits
 * stay, lastSendError says why; a refused new key changes nothing; a good one
 * resumes sending by itself ("required" mode: no dispatch needed) and the
 * kept hits arrive with it. */
static void test_a_refused_key_keeps_the_hits_until_setApiKey(void)
{
    currentTest = __func__;
    KeyServer server;
    startKeyServer(&server, "pk_right");
    Calls *calls = [[Calls alloc] init];
    NSError *error = nil;
    ATTConfiguration *cfg = configuration(makeStoreDirectory(), [NSString stringWithUTF8String:server.url],
                                          ATTOfflineModeRequired);
    cfg.apiKey = @"pk_wrong";
    CHECK(cfg.maxHitAgeMs == 2592000000ULL, "default maxHitAgeMs %llu", (unsigned long long)cfg.maxHitAgeMs);
    ATTTracker *tracker = openConfigured(cfg);
    @autoreleasepool {
        error = [NSError errorWithDomain:@"sentinel" code:1 userInfo:nil];
        CHECK([tracker lastSendErrorWithError:&error] == nil && error == nil, "lastSendError before any send: %s",
              describe(error));
        CHECK([tracker trackEvent:@"k1" properties:nil], "trackEvent");
        CHECK([tracker trackEvent:@"k2" properties:nil], "trackEvent");
        CHECK([tracker.offline dispatchWithCompletion:^(ATTDispatchResult *result) { [calls record:result]; }],
              "dispatch");
        CHECK([calls waitFor:1 seconds:30], "the dispatch completion did not run within 30 s");
        ATTDispatchResult *result = [calls value];
        CHECK(result.status == AT_ERR_KEY_REJECTED && result.sent == 0 && result.failed == 0 && result.dropped == 0,
              "dispatch %s", [[result description] UTF8String]);
        CHECK_ERROR(result.error, AT_ERR_KEY_REJECTED);
        CHECK([tracker.offline count] == 2, "count after a refused key = %ld", (long)[tracker.offline count]);
        CHECK([tracker.offline oldest].retryCount == 0, "a refused key counted an attempt");
        NSString *why = tracker.lastSendError;
        CHECK(why != nil && [why rangeOfString:@"401"].location != NSNotFound, "lastSendError: %s",
              why != nil ? [why UTF8String] : "nil");
        CHECK(__atomic_load_n(&server.accepted, __ATOMIC_SEQ_CST) == 0, "a request was accepted");

        error = nil;
        CHECK(![tracker setApiKey:@"has space" error:&error], "a key with a space was accepted");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        NSString *noKey = nil;
        error = nil;
        CHECK(![tracker setApiKey:noKey error:&error], "a nil key was accepted");
        CHECK_ERROR(error, AT_ERR_NULL_ARGUMENT);
        sleepMs(200);
        CHECK([tracker.offline count] == 2, "a refused key resumed sending");

        error = nil;
        CHECK([tracker setApiKey:@"pk_right" error:&error], "setApiKey: %s", describe(error));
        CHECK(waitAtLeast(&server.accepted, 1, 30), "the kept hits were not sent with the new key within 30 s");
        for (int i = 0; i < 3000 && [tracker.offline count] != 0; i++)
            sleepMs(10);
        CHECK([tracker.offline count] == 0, "count after the new key = %ld", (long)[tracker.offline count]);
        CHECK(tracker.lastSendError == nil, "lastSendError after a delivered send: %s",
              [tracker.lastSendError UTF8String]);
    }
    [tracker release];
    stopKeyServer(&server);
    [calls release];
}

/* maxHitAgeMs reaches the library: a hit older than it is dropped when a send
 * fails, instead of being kept for the next one; reportDrops decides whether
 * the drop is reported to the collector. */
static void test_max_hit_age_drops_a_failing_hit(void)
{
    currentTest = __func__;
    NSString *directory = makeStoreDirectory();
    Calls *kept = [[Calls alloc] init];
    Calls *expired = [[Calls alloc] init];
    ATTTracker *tracker = openTracker(directory, offlineEndpoint); /* the default: 30 days */
    @autoreleasepool {
        CHECK([tracker trackEvent:@"old" properties:nil], "trackEvent");
        sleepMs(5);
        CHECK([tracker.offline dispatchWithCompletion:^(ATTDispatchResult *result) { [kept record:result]; }],
              "dispatch");
        CHECK([kept waitFor:1 seconds:30], "the dispatch completion did not run within 30 s");
        ATTDispatchResult *result = [kept value];
        CHECK(result.status == AT_ERR_NETWORK && result.dropped == 0, "dispatch %s", [[result description] UTF8String]);
        CHECK([tracker.offline count] == 1, "the default dropped a 5 ms old hit");
    }
    [tracker release];

    ATTConfiguration *cfg = configuration(directory, offlineEndpoint, ATTOfflineModeAlways);
    cfg.maxHitAgeMs = 1;
    tracker = openConfigured(cfg);
    @autoreleasepool {
        CHECK([tracker.offline dispatchWithCompletion:^(ATTDispatchResult *result) { [expired record:result]; }],
              "dispatch");
        CHECK([expired waitFor:1 seconds:30], "the dispatch completion did not run within 30 s");
        ATTDispatchResult *result = [expired value];
        CHECK(result.dropped == 1, "dispatch %s", [[result description] UTF8String]);
        /* What is left is the report of the drop (reportDrops, default YES). */
        CHECK([tracker.offline count] == 1, "the expired hit is still stored, or its drop was not reported");
        CHECK([[tracker.offline latest].type isEqualToString:@"Attracker Hits Dropped"], "the drop report is %s",
              [[[tracker.offline latest] description] UTF8String]);
    }
    [tracker release];

    /* reportDrops = NO: the expired hit leaves nothing behind. */
    Calls *unreported = [[Calls alloc] init];
    cfg = configuration(makeStoreDirectory(), offlineEndpoint, ATTOfflineModeAlways);
    cfg.maxHitAgeMs = 1;
    cfg.reportDrops = NO;
    tracker = openConfigured(cfg);
    @autoreleasepool {
        CHECK([tracker trackEvent:@"expiring" properties:nil], "trackEvent");
        sleepMs(5);
        CHECK([tracker.offline dispatchWithCompletion:^(ATTDispatchResult *result) { [unreported record:result]; }],
              "dispatch");
        CHECK([unreported waitFor:1 seconds:30], "the dispatch completion did not run within 30 s");
        ATTDispatchResult *result = [unreported value];
        CHECK(result.dropped == 1, "dispatch %s", [[result description] UTF8String]);
        CHECK([tracker.offline count] == 0, "the expired hit, or a drop report, is still stored");
    }
    [tracker release];
    [kept release];
    [expired release];
    [unreported release];
}

#pragma mark - The analytics client

/* A JSON object parsed from a stored hit's body (nil when it is not one). */
static NSDictionary *parsedBody(ATTHit *hit)
{
    if (hit.body == nil)
        return nil;
    id value = [NSJSONSerialization JSONObjectWithData:[hit.body dataUsingEncoding:NSUTF8StringEncoding]
                                               options:0
                                                 error:NULL];
    return [value isKindOfClass:[NSDictionary class]] ? value : nil;
}

static NSDictionary *dict2(id value1, NSString *key1, id value2, NSString *key2)
{
    return [NSDictionary dictionaryWithObjectsAndKeys:value1, key1, value2, key2, nil];
}

static NSNumber *num(long long n)
{
    return [NSNumber numberWithLongLong:n];
}

static long long nowMs(void)
{
    return (long long)floor([[NSDate date] timeIntervalSince1970] * 1000.0);
}

/* Reads the JSON collector's output until it exits by itself (within
 * `seconds`, else the test fails); returns the events it printed, in order of
 * arrival. Every event must have the Segment shape. Closes `output`. */
static NSArray *collectJSONEvents(int output, int seconds)
{
    NSMutableData *text = [NSMutableData data];
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = seconds * 1000L - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        CHECK(left > 0, "the collector did not exit within %d s; it printed:\n%.*s", seconds, (int)[text length],
              (const char *)[text bytes]);
        struct pollfd pfd = { output, POLLIN, 0 };
        if (poll(&pfd, 1, (int)(left < 100 ? left : 100)) != 1)
            continue;
        char buffer[4096];
        ssize_t n = read(output, buffer, sizeof buffer);
        if (n <= 0)
            break; /* EOF: it exited */
        [text appendBytes:buffer length:(NSUInteger)n];
    }
    close(output);
    int status = waitCollector(10);
    NSString *all = [[[NSString alloc] initWithData:text encoding:NSUTF8StringEncoding] autorelease];
    CHECK(status == 0, "the collector exited with status %d; it printed:\n%s", status, [all UTF8String]);
    NSMutableArray *events = [NSMutableArray array];
    for (NSString *line in [all componentsSeparatedByString:@"\n"]) {
        NSString *trimmed = [line stringByTrimmingCharactersInSet:[NSCharacterSet whitespaceCharacterSet]];
        CHECK(![trimmed hasPrefix:@"SPEC VIOLATION"], "an event is not Segment-shaped: %s\n%s", [trimmed UTF8String],
              [all UTF8String]);
        if (![trimmed hasPrefix:@"json "])
            continue;
        NSData *json = [[trimmed substringFromIndex:5] dataUsingEncoding:NSUTF8StringEncoding];
        id event = [NSJSONSerialization JSONObjectWithData:json options:0 error:NULL];
        CHECK([event isKindOfClass:[NSDictionary class]], "not a JSON object: %s", [trimmed UTF8String]);
        [events addObject:event];
    }
    return events;
}

/* The last event of Segment call `type` whose `key` is `value`. */
static NSDictionary *findEvent(NSArray *events, NSString *type, NSString *key, NSString *value)
{
    for (NSDictionary *event in [events reverseObjectEnumerator])
        if ([[event objectForKey:@"type"] isEqual:type] && [[event objectForKey:key] isEqual:value])
            return event;
    CHECK(NO, "no %s event with %s = %s in %s", [type UTF8String], [key UTF8String], [value UTF8String],
          [[events description] UTF8String]);
    return nil;
}

static const char *json(id value)
{
    if (value == nil)
        return "nil";
    NSData *data = [NSJSONSerialization dataWithJSONObject:value options:0 error:NULL];
    return data != nil ? [[[[NSString alloc] initWithData:data encoding:NSUTF8StringEncoding] autorelease] UTF8String]
                       : [[value description] UTF8String];
}

/* The configuration's analytics settings: defaults, and each refused value. */
static void test_analytics_configuration(void)
{
    currentTest = __func__;
    @autoreleasepool {
        ATTConfiguration *defaults = [[[ATTConfiguration alloc] init] autorelease];
        CHECK(defaults.context == nil && defaults.sessionTimeout == 1800 && defaults.backgroundSessionTimeout == 300
                  && !defaults.trackSessionEvents && defaults.initialConsent == ATTConsentGranted,
              "defaults: context %s timeouts %g/%g trackSessionEvents %d initialConsent %lu", json(defaults.context),
              defaults.sessionTimeout, defaults.backgroundSessionTimeout, (int)defaults.trackSessionEvents,
              (unsigned long)defaults.initialConsent);

        NSString *directory = makeStoreDirectory();
        ATTConfiguration *cfg = configuration(directory, offlineEndpoint, ATTOfflineModeAlways);
        cfg.context = dict(dict(@"mine", @"name"), @"library");
        CHECK_REFUSED(cfg, "a context with the library's key", @"library");
        cfg.context = dict([NSDate date], @"when");
        CHECK_REFUSED(cfg, "a context that is not JSON", @"context");
        cfg.context = dict(dict(@"Game", @"name"), @"app");
        cfg.sessionTimeout = 0.5;
        CHECK_REFUSED(cfg, "a 500 ms session timeout", nil);
        cfg.sessionTimeout = NAN;
        CHECK_REFUSED(cfg, "a NaN session timeout", @"sessionTimeout");
        cfg.sessionTimeout = 604800;
        cfg.backgroundSessionTimeout = 604801;
        CHECK_REFUSED(cfg, "a background session timeout over 7 days", nil);
        cfg.backgroundSessionTimeout = -1;
        CHECK_REFUSED(cfg, "a negative background session timeout", @"backgroundSessionTimeout");
        cfg.backgroundSessionTimeout = 1;
        cfg.initialConsent = (ATTConsent)9;
        CHECK_REFUSED(cfg, "initial consent 9", nil);
#if __LP64__
        cfg.initialConsent = (ATTConsent)(((NSUInteger)1 << 32) | 1); /* would wrap to AT_CONSENT_PENDING */
        CHECK_REFUSED(cfg, "an initial consent that wraps", @"initialConsent");
#endif
        cfg.initialConsent = ATTConsentPending;
        cfg.trackSessionEvents = YES;
        NSError *error = nil;
        ATTTracker *tracker = [[ATTTracker alloc] initWithConfiguration:cfg error:&error];
        CHECK(tracker != nil, "the extreme valid settings: %s", describe(error));
        CHECK(tracker.consent == ATTConsentPending, "consent %lu", (unsigned long)tracker.consent);
        [tracker release];
    }
}

/* Refused analytics calls: an NSError, their completion never runs, the store
 * is unchanged. */
static void test_analytics_calls_refuse_bad_arguments(void)
{
    currentTest = __func__;
    Calls *never = [[Calls alloc] init];
    ATTTracker *tracker = openTracker(makeStoreDirectory(), offlineEndpoint);
    @autoreleasepool {
        ATTCompletionHandler handler = ^(NSError *e) { [never record:(e != nil ? (id)e : (id)[NSNull null])]; };
        NSError *error = nil;
        NSString *none = nil;
        NSDictionary *notJSON = dict([NSDate date], @"when");
        CHECK(![tracker identify:@"" traits:nil completion:handler error:&error], "an empty user id");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        CHECK([[error localizedDescription] isEqualToString:[NSString stringWithUTF8String:at_last_error()]],
              "description %s vs at_last_error() %s", describe(error), at_last_error());
        error = nil;
        CHECK(![tracker identify:@"tab\tuser" traits:nil completion:handler error:&error], "a control character");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        error = nil;
        CHECK(![tracker identify:@"u" traits:notJSON completion:handler error:&error], "traits that are not JSON");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        CHECK([[error localizedDescription] rangeOfString:@"identify:traits: traits are not valid JSON"].location
                  != NSNotFound,
              "description: %s", describe(error));
        error = nil;
        CHECK(![tracker alias:none completion:handler error:&error], "a nil alias");
        CHECK_ERROR(error, AT_ERR_NULL_ARGUMENT);
        error = nil;
        CHECK(![tracker alias:@"" completion:handler error:&error], "an empty alias");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        error = nil;
        CHECK(![tracker group:@"" traits:nil completion:handler error:&error], "an empty group id");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        error = nil;
        CHECK(![tracker group:@"g" traits:notJSON completion:handler error:&error], "group traits that are not JSON");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        error = nil;
        CHECK(![tracker screen:@"" properties:nil completion:handler error:&error], "an empty screen name");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        error = nil;
        CHECK(![tracker screen:@"s" properties:notJSON completion:handler error:&error], "screen properties");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        error = nil;
        CHECK(![tracker mergeContext:notJSON error:&error], "a context that is not JSON");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        error = nil;
        CHECK(![tracker mergeContext:dict(@"x", @"attracker") error:&error], "the library's context key");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        error = nil;
        NSDictionary *noDictionary = nil;
        CHECK(![tracker mergeContext:noDictionary error:&error], "a nil context");
        CHECK_ERROR(error, AT_ERR_NULL_ARGUMENT);
        error = nil;
        CHECK(![tracker registerSuperProperties:(NSDictionary *)[NSArray array] error:&error], "an NSArray");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        CHECK([[error localizedDescription] rangeOfString:@"not an NSDictionary"].location != NSNotFound,
              "description: %s", describe(error));
        error = nil;
        CHECK(![tracker registerSuperProperties:noDictionary error:&error], "nil super properties");
        CHECK_ERROR(error, AT_ERR_NULL_ARGUMENT);
        error = nil;
        CHECK(![tracker unregisterSuperProperty:none error:&error], "a nil super property key");
        CHECK_ERROR(error, AT_ERR_NULL_ARGUMENT);
        error = nil;
        CHECK(![tracker reset:0 error:&error], "reset of nothing");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
        error = nil;
        CHECK(![tracker reset:(ATTReset)16 error:&error], "an unknown reset flag");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
#if __LP64__
        error = nil; /* would wrap to AT_RESET_USER in a uint32_t */
        CHECK(![tracker reset:(ATTReset)(((NSUInteger)1 << 32) | 1) error:&error], "reset flags that wrap");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
#endif
        NSUInteger purged = 99;
        error = nil;
        CHECK(![tracker setConsent:(ATTConsent)3 purged:&purged error:&error], "consent 3");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
#if __LP64__
        error = nil; /* would wrap to AT_CONSENT_DENIED in an at_consent */
        CHECK(![tracker setConsent:(ATTConsent)(((NSUInteger)1 << 32) | 2) purged:&purged error:&error],
              "a consent that wraps");
        CHECK_ERROR(error, AT_ERR_INVALID_ARGUMENT);
#endif
        CHECK(purged == 99, "a refused consent set purged to %lu", (unsigned long)purged);
        CHECK(tracker.consent == ATTConsentGranted, "a refused consent changed it");
        CHECK(tracker.userId == nil, "a refused call set the user id %s", [tracker.userId UTF8String]);
        CHECK([tracker.offline count] == 0, "refused calls stored %ld hit(s)", (long)[tracker.offline count]);
    }
    [tracker release];
    CHECK([never count] == 0, "the completion of a refused call ran");
    [never release];
}

/* identify: the user id is kept in the store across a reopen, the traits are
 * merged and kept; the completion runs once off the main thread. */
static void test_identify_keeps_the_user_id_across_reopen(void)
{
    currentTest = __func__;
    NSString *directory = makeStoreDirectory();
    Calls *calls = [[Calls alloc] init];
    ATTTracker *tracker = openTracker(directory, offlineEndpoint);
    @autoreleasepool {
        NSError *error = [NSError errorWithDomain:@"sentinel" code:1 userInfo:nil];
        CHECK([tracker userIdWithError:&error] == nil && error == nil, "a user id before identify: %s",
              describe(error));
        CHECK([tracker identify:@"user-1"
                          traits:dict2(@"Ada", @"name", @"free", @"plan")
                      completion:^(NSError *e) { [calls record:(e != nil ? (id)e : (id)[NSNull null])]; }
                           error:&error],
              "identify: %s", describe(error));
        CHECK([calls waitFor:1 seconds:10], "the identify completion did not run within 10 s");
        CHECK([[calls value] isKindOfClass:[NSNull class]], "identify completed with %s",
              [[[calls value] description] UTF8String]);
        CHECK(![calls ranOnMainThread], "the completion ran on the main thread");
        CHECK([tracker.userId isEqualToString:@"user-1"], "userId %s", [tracker.userId UTF8String]);
        /* nil keeps the user id; the traits merge. */
        CHECK([tracker identify:nil traits:dict(@"pro", @"plan") completion:nil error:&error], "identify: %s",
              describe(error));
        CHECK([tracker.userId isEqualToString:@"user-1"], "identify:nil changed userId to %s",
              [tracker.userId UTF8String]);
        ATTHit *latest = [tracker.offline latest];
        CHECK([latest.type isEqualToString:@""] && [parsedBody(latest) isEqual:dict2(@"Ada", @"name", @"pro", @"plan")],
              "the second identify call: %s", [[latest description] UTF8String]);
    }
    [tracker release];

    tracker = openTracker(directory, offlineEndpoint);
    @autoreleasepool {
        CHECK([tracker.userId isEqualToString:@"user-1"], "userId after reopening: %s", [tracker.userId UTF8String]);
        CHECK([tracker identify:nil traits:dict(num(36), @"age") completion:nil], "identify");
        NSDictionary *traits = parsedBody([tracker.offline latest]);
        NSDictionary *expected = [NSDictionary dictionaryWithObjectsAndKeys:@"Ada", @"name", @"pro", @"plan", num(36),
                                                                            @"age", nil];
        CHECK([traits isEqual:expected], "traits kept across the reopen, then merged: %s", json(traits));
        CHECK([tracker.offline count] == 3, "count %ld", (long)[tracker.offline count]);
    }
    [tracker release];
    CHECK([calls count] == 1, "the completion ran %lu times", (unsigned long)[calls count]);
    [calls release];
}

/* Every call, delivered by a dispatch to the collector, with its Segment
 * fields: the identity each hit was tracked with, merged super properties and
 * traits, the context (configured, then merged), the session id, and what a
 * reset leaves. */
static void test_analytics_calls_arrive_with_their_segment_fields(const char *collectorPath)
{
    currentTest = __func__;
    const int expected = 8;
    int output = -1;
    NSString *url = startCollectorReading(collectorPath, expected, &output);
    Calls *screened = [[Calls alloc] init];
    Calls *dispatched = [[Calls alloc] init];
    ATTConfiguration *cfg = configuration(makeStoreDirectory(), url, ATTOfflineModeAlways);
    cfg.context = dict(dict2(@"Game", @"name", @"1.0", @"version"), @"app");
    NSError *error = nil;
    ATTTracker *tracker = [[ATTTracker alloc] initWithConfiguration:cfg error:&error];
    CHECK(tracker != nil, "initWithConfiguration: %s", describe(error));
    NSString *anonymous = nil;
    int64_t session = 0;
    @autoreleasepool {
        anonymous = [tracker.visitorId retain];
        CHECK([tracker trackEvent:@"Before" properties:nil error:&error], "trackEvent: %s", describe(error));
        CHECK([tracker identify:@"user-1" traits:dict2(@"Ada", @"name", @"free", @"plan") completion:nil error:&error],
              "identify: %s", describe(error));
        CHECK([tracker identify:nil traits:dict(@"pro", @"plan") completion:nil error:&error], "identify: %s",
              describe(error));
        CHECK([tracker registerSuperProperties:dict2(num(42), @"build", num(1), @"level") error:&error],
              "registerSuperProperties: %s", describe(error));
        CHECK([tracker screen:@"Home"
                   properties:dict(@"feed", @"tab")
                   completion:^(NSError *e) { [screened record:(e != nil ? (id)e : (id)[NSNull null])]; }
                        error:&error],
              "screen: %s", describe(error));
        CHECK([tracker group:@"team-3" traits:dict(num(5), @"seats") completion:nil error:&error], "group: %s",
              describe(error));
        CHECK([tracker mergeContext:dict2(dict2(@"Game", @"name", @"1.1", @"version"), @"app",
                                          dict([NSNumber numberWithBool:YES], @"wifi"), @"network")
                              error:&error],
              "mergeContext: %s", describe(error));
        CHECK([tracker alias:@"user-2" completion:nil error:&error], "alias: %s", describe(error));
        CHECK([tracker.userId isEqualToString:@"user-2"], "userId after alias: %s", [tracker.userId UTF8String]);
        CHECK([tracker unregisterSuperProperty:@"level" error:&error], "unregisterSuperProperty: %s", describe(error));
        CHECK([tracker unregisterSuperProperty:@"never-set" error:&error], "unregisterSuperProperty: %s",
              describe(error));
        CHECK([tracker trackEvent:@"After" properties:dict(num(7), @"level") error:&error], "trackEvent: %s",
              describe(error));
        session = [tracker sessionIdWithError:&error];
        CHECK(session > 0, "sessionId: %s", describe(error));
        /* A logout: the next hit is anonymous under a new id, without super properties. */
        CHECK([tracker reset:ATTResetAll error:&error], "reset: %s", describe(error));
        CHECK(tracker.userId == nil, "userId after reset: %s", [tracker.userId UTF8String]);
        CHECK(![tracker.visitorId isEqualToString:anonymous], "the anonymous id survived reset");
        CHECK([tracker trackEvent:@"Fresh" properties:nil error:&error], "trackEvent: %s", describe(error));
        CHECK([screened waitFor:1 seconds:10], "the screen completion did not run within 10 s");
        CHECK([[screened value] isKindOfClass:[NSNull class]], "screen completed with %s",
              [[[screened value] description] UTF8String]);
        CHECK([tracker.offline count] == expected, "count before dispatch %ld", (long)[tracker.offline count]);

        CHECK([tracker.offline dispatchWithCompletion:^(ATTDispatchResult *result) { [dispatched record:result]; }],
              "dispatch");
        CHECK([dispatched waitFor:1 seconds:30], "the dispatch completion did not run within 30 s");
        ATTDispatchResult *result = [dispatched value];
        CHECK(result.status == AT_OK && result.sent == (uint64_t)expected, "dispatch %s",
              [[result description] UTF8String]);
    }
    [tracker release];

    @autoreleasepool {
        NSArray *events = collectJSONEvents(output, 15);
        CHECK([events count] == (NSUInteger)expected, "%lu events arrived: %s", (unsigned long)[events count],
              json(events));

        NSDictionary *before = findEvent(events, @"track", @"event", @"Before");
        CHECK([before objectForKey:@"userId"] == nil && [[before objectForKey:@"anonymousId"] isEqual:anonymous],
              "tracked before identify: %s", json(before));
        NSDictionary *context = [before objectForKey:@"context"];
        CHECK([[context valueForKeyPath:@"app.version"] isEqual:@"1.0"]
                  && [[context valueForKeyPath:@"library.name"] isEqual:@"attracker"],
              "the configured context: %s", json(context));

        NSMutableArray *identifies = [NSMutableArray array];
        for (NSDictionary *event in events)
            if ([[event objectForKey:@"type"] isEqual:@"identify"])
                [identifies addObject:event];
        CHECK([identifies count] == 2, "%lu identify calls", (unsigned long)[identifies count]);
        CHECK([[[identifies objectAtIndex:0] objectForKey:@"traits"] isEqual:dict2(@"Ada", @"name", @"free", @"plan")]
                  && [[[identifies objectAtIndex:1] objectForKey:@"traits"]
                         isEqual:dict2(@"Ada", @"name", @"pro", @"plan")],
              "identify traits, then merged: %s", json(identifies));
        for (NSDictionary *identify in identifies)
            CHECK([[identify objectForKey:@"userId"] isEqual:@"user-1"], "identify userId: %s", json(identify));

        NSDictionary *screen = findEvent(events, @"screen", @"name", @"Home");
        NSDictionary *screenProperties = [NSDictionary dictionaryWithObjectsAndKeys:@"feed", @"tab", num(42), @"build",
                                                                                    num(1), @"level", nil];
        CHECK([[screen objectForKey:@"properties"] isEqual:screenProperties]
                  && [[screen objectForKey:@"userId"] isEqual:@"user-1"] && [screen objectForKey:@"event"] == nil,
              "screen with the super properties: %s", json(screen));

        NSDictionary *group = findEvent(events, @"group", @"groupId", @"team-3");
        CHECK([[group objectForKey:@"traits"] isEqual:dict(num(5), @"seats")]
                  && [[group objectForKey:@"userId"] isEqual:@"user-1"],
              "group: %s", json(group));

        NSDictionary *alias = findEvent(events, @"alias", @"previousId", @"user-1");
        CHECK([[alias objectForKey:@"userId"] isEqual:@"user-2"] && [alias objectForKey:@"traits"] == nil
                  && [alias objectForKey:@"properties"] == nil,
              "alias: %s", json(alias));

        NSDictionary *after = findEvent(events, @"track", @"event", @"After");
        CHECK([[after objectForKey:@"userId"] isEqual:@"user-2"]
                  && [[after objectForKey:@"properties"] isEqual:dict2(num(7), @"level", num(42), @"build")],
              "after alias, with a super property removed and one overridden: %s", json(after));
        context = [after objectForKey:@"context"];
        CHECK([[context valueForKeyPath:@"app.version"] isEqual:@"1.1"]
                  && [[context valueForKeyPath:@"network.wifi"] boolValue]
                  && [[context objectForKey:@"sessionId"] longLongValue] == session,
              "the merged context and session %lld: %s", (long long)session, json(context));
        CHECK([[before valueForKeyPath:@"context.sessionId"] longLongValue] == session, "one session: %s",
              json(before));

        NSDictionary *fresh = findEvent(events, @"track", @"event", @"Fresh");
        CHECK([fresh objectForKey:@"userId"] == nil && ![[fresh objectForKey:@"anonymousId"] isEqual:anonymous]
                  && [[fresh objectForKey:@"properties"] count] == 0
                  && [[fresh valueForKeyPath:@"context.sessionId"] longLongValue] != session,
              "after reset (all): %s", json(fresh));
    }
    [anonymous release];
    [screened release];
    [dispatched release];
}

/* Each reset flag alone forgets what it names and nothing else. */
static void test_reset_forgets_only_what_it_names(void)
{
    currentTest = __func__;
    ATTTracker *tracker = openTracker(makeStoreDirectory(), offlineEndpoint);
    @autoreleasepool {
        NSError *error = nil;
        CHECK([tracker identify:@"u" traits:dict(num(1), @"a") completion:nil error:&error], "identify: %s",
              describe(error));
        CHECK([tracker registerSuperProperties:dict(@"pro", @"plan") error:&error], "registerSuperProperties: %s",
              describe(error));
        NSString *anonymous = tracker.visitorId;
        int64_t session = tracker.sessionId;
        CHECK(session > 0, "sessionId %lld", (long long)session);

        CHECK([tracker reset:ATTResetAnonymousId error:&error], "reset: %s", describe(error));
        CHECK([tracker.userId isEqualToString:@"u"], "the user id went with the anonymous id");
        CHECK(![tracker.visitorId isEqualToString:anonymous], "the anonymous id stayed");
        CHECK(tracker.sessionId == session, "the session changed");

        CHECK([tracker trackEvent:@"with_super" properties:nil error:&error], "trackEvent: %s", describe(error));
        CHECK([parsedBody([tracker.offline latest]) isEqual:dict(@"pro", @"plan")], "super properties: %s",
              [[tracker.offline latest].body UTF8String]);

        CHECK([tracker reset:ATTResetUser error:&error], "reset: %s", describe(error));
        CHECK(tracker.userId == nil, "userId after reset: %s", [tracker.userId UTF8String]);
        CHECK([tracker identify:nil traits:nil completion:nil error:&error], "identify: %s", describe(error));
        CHECK([parsedBody([tracker.offline latest]) count] == 0, "the traits went with the user: %s",
              [[tracker.offline latest].body UTF8String]);

        sleepMs(5);
        CHECK([tracker reset:ATTResetSession], "reset:ATTResetSession");
        CHECK(tracker.sessionId > session, "a new session: %lld then %lld", (long long)session,
              (long long)tracker.sessionId);

        CHECK([tracker reset:ATTResetSuperProperties error:&error], "reset: %s", describe(error));
        CHECK([tracker trackEvent:@"without_super" properties:nil error:&error], "trackEvent: %s", describe(error));
        CHECK([parsedBody([tracker.offline latest]) count] == 0, "super properties after reset: %s",
              [[tracker.offline latest].body UTF8String]);
    }
    [tracker release];
}

/* Sessions: the id is the Unix ms of the session's start, a new one on
 * startSession (with "Session Ended" and "Session Started" events when
 * asked), and it goes on across a quick reopen. */
static void test_sessions_start_and_go_on_across_a_reopen(void)
{
    currentTest = __func__;
    NSString *directory = makeStoreDirectory();
    ATTConfiguration *cfg = configuration(directory, offlineEndpoint, ATTOfflineModeAlways);
    cfg.trackSessionEvents = YES;
    cfg.sessionTimeout = 600;
    cfg.backgroundSessionTimeout = 60;
    NSError *error = nil;
    long long before = nowMs();
    ATTTracker *tracker = [[ATTTracker alloc] initWithConfiguration:cfg error:&error];
    CHECK(tracker != nil, "initWithConfiguration: %s", describe(error));
    int64_t second = 0;
    @autoreleasepool {
        int64_t first = [tracker sessionIdWithError:&error];
        CHECK(first >= before && first <= nowMs(), "sessionId %lld, opened at %lld: %s", (long long)first, before,
              describe(error));
        CHECK([tracker trackEvent:@"a" properties:nil], "trackEvent");
        CHECK(tracker.sessionId == first, "activity changed the session");
        sleepMs(5);
        CHECK([tracker startSessionWithError:&error], "startSession: %s", describe(error));
        second = tracker.sessionId;
        CHECK(second > first, "startSession: %lld then %lld", (long long)first, (long long)second);
        NSUInteger started = 0, ended = 0;
        for (ATTHit *hit in [tracker.offline get]) {
            if ([hit.type isEqualToString:@"Session Started"])
                started++;
            if ([hit.type isEqualToString:@"Session Ended"])
                ended++;
        }
        CHECK(started >= 2 && ended >= 1, "%lu Session Started, %lu Session Ended", (unsigned long)started,
              (unsigned long)ended);
    }
    [tracker release];

    tracker = [[ATTTracker alloc] initWithConfiguration:cfg error:&error];
    CHECK(tracker != nil, "initWithConfiguration: %s", describe(error));
    CHECK(tracker.sessionId == second, "a quick reopen: %lld, before %lld", (long long)tracker.sessionId,
          (long long)second);
    CHECK([tracker startSession], "startSession");
    CHECK(tracker.sessionId > second, "startSession after the reopen");
    [tracker release];
}

/* Consent: pending stores and sends nothing; granted sends; denied purges
 * the queue (purged: how many) and refuses later calls; the answer is kept in
 * the store over the configuration's initialConsent. */
static void test_consent_pending_granted_denied(void)
{
    currentTest = __func__;
    NSString *directory = makeStoreDirectory();
    Calls *pending = [[Calls alloc] init];
    Calls *granted = [[Calls alloc] init];
    ATTConfiguration *cfg = configuration(directory, offlineEndpoint, ATTOfflineModeAlways);
    cfg.initialConsent = ATTConsentPending;
    NSError *error = nil;
    ATTTracker *tracker = [[ATTTracker alloc] initWithConfiguration:cfg error:&error];
    CHECK(tracker != nil, "initWithConfiguration: %s", describe(error));
    @autoreleasepool {
        CHECK(tracker.consent == ATTConsentPending, "consent %lu", (unsigned long)tracker.consent);
        CHECK([tracker trackEvent:@"waiting" properties:nil error:&error], "trackEvent while pending: %s",
              describe(error));
        CHECK([tracker identify:@"u" traits:nil completion:nil error:&error], "identify while pending: %s",
              describe(error));
        CHECK([tracker screen:@"s" properties:nil completion:nil error:&error], "screen while pending: %s",
              describe(error));
        CHECK([tracker.offline count] == 3, "stored while pending: %ld", (long)[tracker.offline count]);
        /* Pending: no send is even tried (an unreachable endpoint would say AT_ERR_NETWORK). */
        CHECK([tracker.offline dispatchWithCompletion:^(ATTDispatchResult *result) { [pending record:result]; }],
              "dispatch");
        CHECK([pending waitFor:1 seconds:30], "the dispatch completion did not run within 30 s");
        ATTDispatchResult *result = [pending value];
        CHECK(result.status == AT_ERR_SUPPRESSED && result.sent == 0, "dispatch while pending %s",
              [[result description] UTF8String]);
        CHECK_ERROR(result.error, AT_ERR_SUPPRESSED);

        NSUInteger purged = 99;
        CHECK([tracker setConsent:ATTConsentGranted purged:&purged error:&error], "Granted: %s", describe(error));
        CHECK(purged == 0 && tracker.consent == ATTConsentGranted, "Granted purged %lu, consent %lu",
              (unsigned long)purged, (unsigned long)tracker.consent);
        CHECK([tracker.offline dispatchWithCompletion:^(ATTDispatchResult *r) { [granted record:r]; }], "dispatch");
        CHECK([granted waitFor:1 seconds:30], "the dispatch completion did not run within 30 s");
        result = [granted value];
        CHECK(result.status == AT_ERR_NETWORK, "dispatch once granted %s", [[result description] UTF8String]);

        CHECK([tracker trackEvent:@"more" properties:nil], "trackEvent");
        CHECK([tracker setConsent:ATTConsentDenied purged:&purged error:&error], "Denied: %s", describe(error));
        CHECK(purged == 4, "Denied purged %lu of 4", (unsigned long)purged);
        CHECK([tracker.offline count] == 0, "count after Denied: %ld", (long)[tracker.offline count]);
        CHECK(tracker.consent == ATTConsentDenied, "consent %lu", (unsigned long)tracker.consent);

        error = nil;
        CHECK(![tracker trackEvent:@"refused" properties:nil error:&error], "trackEvent while denied");
        CHECK_ERROR(error, AT_ERR_SUPPRESSED);
        error = nil;
        CHECK(![tracker identify:@"u" traits:nil completion:nil error:&error], "identify while denied");
        CHECK_ERROR(error, AT_ERR_SUPPRESSED);
        error = nil;
        CHECK(![tracker screen:@"s" properties:nil completion:nil error:&error], "screen while denied");
        CHECK_ERROR(error, AT_ERR_SUPPRESSED);
        error = nil;
        CHECK(![tracker group:@"g" traits:nil completion:nil error:&error], "group while denied");
        CHECK_ERROR(error, AT_ERR_SUPPRESSED);
        error = nil;
        CHECK(![tracker alias:@"v" completion:nil error:&error], "alias while denied");
        CHECK_ERROR(error, AT_ERR_SUPPRESSED);
        CHECK([tracker setConsent:ATTConsentDenied purged:NULL error:&error], "Denied again, purged NULL: %s",
              describe(error));
        CHECK([tracker.offline count] == 0, "count %ld", (long)[tracker.offline count]);
    }
    [tracker release];

    /* The answer is kept in the store: the configured Pending no longer applies. */
    tracker = [[ATTTracker alloc] initWithConfiguration:cfg error:&error];
    CHECK(tracker != nil, "initWithConfiguration: %s", describe(error));
    @autoreleasepool {
        CHECK(tracker.consent == ATTConsentDenied, "consent after reopening %lu", (unsigned long)tracker.consent);
        error = nil;
        CHECK(![tracker trackEvent:@"refused" properties:nil error:&error], "trackEvent while denied");
        CHECK_ERROR(error, AT_ERR_SUPPRESSED);
        CHECK([tracker setConsent:ATTConsentGranted purged:NULL error:&error], "Granted: %s", describe(error));
        CHECK([tracker trackEvent:@"again" properties:nil error:&error], "trackEvent once granted: %s",
              describe(error));
        CHECK([tracker.offline count] == 1, "count %ld", (long)[tracker.offline count]);
    }
    [tracker release];
    [pending release];
    [granted release];
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s COLLECTOR\n", argv[0]);
        return 2;
    }
    mainThread = pthread_self();
    atexit(stopCollector);
    signal(SIGPIPE, SIG_IGN);
    printf("attracker %s\n", at_version());

    @autoreleasepool {
        storeDirectories = [[NSMutableArray alloc] init];
        test_empty_store_has_no_hits();
        test_get_lists_hits_oldest_first_with_AT_fields();
        test_delete_removes_every_hit_and_counts_them();
        test_delete_older_than_days_keeps_younger_hits();
        test_delete_older_than_date_removes_only_older_hits();
        test_invalid_properties_are_an_error_and_change_nothing();
        test_properties_nest_128_levels_deep();
        test_errors_carry_the_status_and_last_error();
        test_set_offline_mode_completes_once_off_the_main_thread();
        test_dispatch_sends_every_hit_and_completes_once(argv[1]);
        test_dispatch_to_an_unreachable_collector_reports_a_network_error();
        test_dealloc_frees_the_tracker();
        test_offline_keeps_its_tracker_alive();
        test_visitor_id_is_kept_in_the_store();
        test_opt_out_keeps_or_purges_the_queue();
        test_remote_configuration();
        test_a_refused_key_keeps_the_hits_until_setApiKey();
        test_max_hit_age_drops_a_failing_hit();
        test_analytics_configuration();
        test_analytics_calls_refuse_bad_arguments();
        test_identify_keeps_the_user_id_across_reopen();
        test_analytics_calls_arrive_with_their_segment_fields(argv[1]);
        test_reset_forgets_only_what_it_names();
        test_sessions_start_and_go_on_across_a_reopen();
        test_consent_pending_granted_denied();

        for (NSString *directory in storeDirectories)
            [[NSFileManager defaultManager] removeItemAtPath:directory error:NULL];
        [storeDirectories release];
    }
    printf("all Objective-C wrapper tests passed\n");
    return 0;
}
