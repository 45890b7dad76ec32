/*
 * ATTracker.m: the Objective-C wrapper over the C API (see ATTracker.h).
 *
 * Manual retain/release. In an ARC project, compile this file with
 * -fno-objc-arc (Xcode: Build Phases > Compile Sources > Compiler Flags).
 */
#if __has_feature(objc_arc)
#error "ATTracker.m uses manual retain/release: compile it with -fno-objc-arc"
#endif

#import "ATTracker.h"

@import ATTracker;

#include <Block.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__APPLE__)
#include <TargetConditionals.h>
#endif
/* iOS, tvOS and watchOS have no libcurl: a configuration sends with URLSession by default. */
#if defined(TARGET_OS_IPHONE) && TARGET_OS_IPHONE
#define ATT_HOST_TRANSPORT_BY_DEFAULT 1
#import "ATTURLSessionTransport.h"
#else
#define ATT_HOST_TRANSPORT_BY_DEFAULT 0
#endif

NSString *const ATTErrorDomain = @"ATTErrorDomain";
NSString *const ATTStatusNameKey = @"ATTStatusName";

/* ATTOfflineMode is the C enumeration under Objective-C names. */
_Static_assert(ATTOfflineModeNever == AT_OFFLINE_NEVER, "ATTOfflineModeNever");
_Static_assert(ATTOfflineModeRequired == AT_OFFLINE_REQUIRED, "ATTOfflineModeRequired");
_Static_assert(ATTOfflineModeAlways == AT_OFFLINE_ALWAYS, "ATTOfflineModeAlways");
_Static_assert(ATTOptOutPolicyKeep == AT_OPT_OUT_KEEP, "ATTOptOutPolicyKeep");
_Static_assert(ATTOptOutPolicyPurge == AT_OPT_OUT_PURGE, "ATTOptOutPolicyPurge");

#pragma mark - Errors

static NSError *ATTErrorMake(at_status status, NSString *description)
{
    NSDictionary *info = [NSDictionary dictionaryWithObjectsAndKeys:
        description, NSLocalizedDescriptionKey,
        [NSString stringWithUTF8String:at_status_str(status)], ATTStatusNameKey,
        nil];
    return [NSError errorWithDomain:ATTErrorDomain code:(NSInteger)status userInfo:info];
}

/* The error of the C call that just failed on this thread: at_last_error() is
 * thread-local, so this must run on the calling thread, before any other
 * attracker call. */
static NSError *ATTErrorFromLastCall(at_status status)
{
    const char *message = at_last_error();
    NSString *description = message[0] != '\0' ? [NSString stringWithUTF8String:message] : nil;
    if (description == nil) /* empty, or (never expected) not UTF-8 */
        description = [NSString stringWithUTF8String:at_status_str(status)];
    return ATTErrorMake(status, description);
}

static BOOL ATTFail(NSError **error, NSError *failure)
{
    if (error != NULL)
        *error = failure;
    return NO;
}

/* YES for AT_OK; else NO, with the error of the call that just failed (see
 * ATTErrorFromLastCall) in *error. */
static BOOL ATTSucceeded(at_status status, NSError **error)
{
    return status == AT_OK ? YES : ATTFail(error, ATTErrorFromLastCall(status));
}

static NSString *ATTString(const char *s)
{
    if (s == NULL)
        return nil;
    NSString *string = [NSString stringWithUTF8String:s];
    return string != nil ? string : @"";
}

#pragma mark - The callback thread

/*
 * Completions run on the library's callback thread, which Foundation did not
 * create. GNUstep asks such threads to register (GSRegisterCurrentThread)
 * before they use Foundation and to unregister before they exit; Apple's
 * Foundation needs neither. Each trampoline registers the thread for its own
 * duration and leaves it as it found it.
 *
 * They also count how deep this thread is inside attracker callbacks: a
 * tracker released from one of its own completions must not release its
 * remote-config handler (see -[ATTTracker dealloc]).
 */
static __thread int ATTCallbackDepth = 0;

static BOOL ATTCallbackBegin(void)
{
    ATTCallbackDepth++;
#ifdef GNUSTEP
    return GSRegisterCurrentThread();
#else
    return NO;
#endif
}

static void ATTCallbackEnd(BOOL registered)
{
#ifdef GNUSTEP
    if (registered)
        GSUnregisterCurrentThread();
#else
    (void)registered;
#endif
    ATTCallbackDepth--;
}

@interface ATTDispatchResult ()
- (instancetype)initWithCResult:(const at_dispatch_result *)result;
@end

/* An exception must not unwind into the library's (Rust) frames: the
 * trampolines catch and log what a block throws. */
static void ATTDispatchTrampoline(const at_dispatch_result *result, void *user_data)
{
    ATTDispatchCompletion completion = (ATTDispatchCompletion)user_data;
    BOOL registered = ATTCallbackBegin();
    @autoreleasepool {
        ATTDispatchResult *tally = [[ATTDispatchResult alloc] initWithCResult:result];
        @try {
            completion(tally);
        } @catch (id exception) {
            NSLog(@"ATTracker: a dispatch completion block raised %@", exception);
        }
        [tally release];
    }
    Block_release(completion); /* copied in -dispatchWithCompletion:error: */
    ATTCallbackEnd(registered);
}

static void ATTCompletionTrampoline(at_status status, void *user_data)
{
    ATTCompletionHandler handler = (ATTCompletionHandler)user_data;
    BOOL registered = ATTCallbackBegin();
    @autoreleasepool {
        NSError *error = nil;
        if (status != AT_OK)
            error = ATTErrorMake(status, [NSString stringWithFormat:@"setOfflineMode: %s",
                                                   at_status_str(status)]);
        @try {
            handler(error);
        } @catch (id exception) {
            NSLog(@"ATTracker: a completion handler raised %@", exception);
        }
    }
    Block_release(handler); /* copied in -setOfflineMode:completionHandler:error: */
    ATTCallbackEnd(registered);
}

/* Called for each newly applied document; the handler belongs to the tracker
 * (released in -[ATTTracker dealloc]), not to this call. */
static void ATTRemoteConfigTrampoline(const char *json, void *user_data)
{
    ATTRemoteConfigHandler handler = (ATTRemoteConfigHandler)user_data;
    BOOL registered = ATTCallbackBegin();
    @autoreleasepool {
        NSString *document = ATTString(json);
        @try {
            handler(document != nil ? document : @"");
        } @catch (id exception) {
            NSLog(@"ATTracker: a remote config handler raised %@", exception);
        }
    }
    ATTCallbackEnd(registered);
}

#pragma mark - The host transport

/* The header's value, whatever the case of its name; nil when absent. */
static NSString *ATTResponseHeader(NSHTTPURLResponse *response, NSString *name)
{
    NSDictionary *fields = [response allHeaderFields];
    for (id key in fields)
        if ([key isKindOfClass:[NSString class]] && [(NSString *)key caseInsensitiveCompare:name] == NSOrderedSame)
            return [[fields objectForKey:key] description];
    return nil;
}

int64_t ATTRetryAfterMilliseconds(NSString *value, NSDate *now)
{
    if (value == nil)
        return 0;
    const char *text = [[value stringByTrimmingCharactersInSet:[NSCharacterSet whitespaceCharacterSet]] UTF8String];
    if (text == NULL || *text == '\0')
        return 0;
    if (isdigit((unsigned char)*text)) {
        char *end = NULL;
        errno = 0;
        unsigned long long seconds = strtoull(text, &end, 10);
        if (*end != '\0' || errno == ERANGE || seconds > INT64_MAX / 1000)
            return *end == '\0' ? INT64_MAX : 0;
        return (int64_t)seconds * 1000;
    }
    /* IMF-fixdate, parsed by hand: strptime's %a/%b follow the C locale the app
     * may have changed. */
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    char weekday[4], month[4], zone[4];
    int day, year, hour, minute, second, used = 0;
    if (sscanf(text, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n", weekday, &day, month, &year, &hour,
               &minute, &second, zone, &used) != 8 || text[used] != '\0' || strcmp(zone, "GMT") != 0)
        return 0;
    int mon = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(month, months[i]) == 0)
            mon = i;
    if (mon < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return 0;
    struct tm tm = { 0 };
    tm.tm_year = year - 1900;
    tm.tm_mon = mon;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    time_t when = timegm(&tm);
    double ms = ((double)when - [now timeIntervalSince1970]) * 1000.0;
    return ms > 0 ? (int64_t)ceil(ms) : 0;
}

BOOL ATTErrorReachedServer(NSError *error)
{
    if (error == nil || ![[error domain] isEqualToString:NSURLErrorDomain])
        return NO;
    switch ([error code]) {
    case NSURLErrorNetworkConnectionLost:
    case NSURLErrorBadServerResponse:
    case NSURLErrorZeroByteResource:
    case -1015: /* NSURLErrorCannotDecodeRawData */
    case -1016: /* NSURLErrorCannotDecodeContentData */
    case -1017: /* NSURLErrorCannotParseResponse */
    case NSURLErrorDataLengthExceedsMaximum:
        return YES;
    default:
        return NO;
    }
}

/* The library's request as an NSURLRequest; nil when its URL is not one. */
static NSURLRequest *ATTURLRequestFromRequest(const at_request *request)
{
    NSURL *url = [NSURL URLWithString:ATTString(at_request_url(request))];
    if (url == nil)
        return nil;
    NSMutableURLRequest *result = [NSMutableURLRequest requestWithURL:url
                                                          cachePolicy:NSURLRequestReloadIgnoringLocalCacheData
                                                      timeoutInterval:30];
    [result setHTTPMethod:ATTString(at_request_method(request))];
    [result setHTTPShouldHandleCookies:NO];
    for (size_t i = 0; i < at_request_header_count(request); i++)
        [result setValue:ATTString(at_request_header_value(request, i))
            forHTTPHeaderField:ATTString(at_request_header_name(request, i))];
    size_t length = 0;
    const uint8_t *body = at_request_body(request, &length);
    if (length > 0)
        [result setHTTPBody:[NSData dataWithBytes:body length:length]];
    return result;
}

/* Ends the library's request with what the stack reported; frees it. */
static void ATTTransportFinish(at_request *request, NSURLResponse *response, NSError *error)
{
    if ([response isKindOfClass:[NSHTTPURLResponse class]]) {
        NSHTTPURLResponse *http = (NSHTTPURLResponse *)response;
        NSInteger status = [http statusCode];
        if (status >= 100 && status <= 599) {
            NSString *type = ATTResponseHeader(http, @"Content-Type");
            if (type != nil)
                at_request_set_response_content_type(request, [type UTF8String]);
            int64_t retryAfter = ATTRetryAfterMilliseconds(ATTResponseHeader(http, @"Retry-After"), [NSDate date]);
            at_transport_complete(request, (int32_t)status, retryAfter, NULL);
            return;
        }
    }
    NSString *why = error != nil ? [error localizedDescription] : @"the HTTP stack ended without an answer";
    const char *message = [why UTF8String];
    at_transport_complete(request, ATTErrorReachedServer(error) ? AT_TRANSPORT_FAILED : AT_TRANSPORT_UNREACHABLE,
                          0, message != NULL && *message != '\0' ? message : "no answer");
}

/* at_transport_fn: hands the request to the configuration's transport, which
 * the tracker retains (user_data) until after at_tracker_free. */
static void ATTTransportTrampoline(at_request *request, void *user_data)
{
    id<ATTHTTPTransport> transport = (id<ATTHTTPTransport>)user_data;
    BOOL registered = ATTCallbackBegin();
    @autoreleasepool {
        NSURLRequest *urlRequest = ATTURLRequestFromRequest(request);
        if (urlRequest == nil) {
            at_transport_complete(request, AT_TRANSPORT_UNREACHABLE, 0, "the request's URL is not a valid NSURL");
        } else {
            BOOL started = NO;
            @try {
                [transport sendRequest:urlRequest
                            completion:^(NSURLResponse *response, NSError *error) {
#ifdef GNUSTEP
                                BOOL threadRegistered = GSRegisterCurrentThread();
#endif
                                @autoreleasepool {
                                    ATTTransportFinish(request, response, error);
                                }
#ifdef GNUSTEP
                                if (threadRegistered)
                                    GSUnregisterCurrentThread();
#endif
                            }];
                started = YES;
            } @catch (id exception) {
                NSLog(@"ATTracker: the transport raised %@", exception);
            }
            if (!started)
                at_transport_complete(request, AT_TRANSPORT_UNREACHABLE, 0, "the host transport raised an exception");
        }
    }
    ATTCallbackEnd(registered);
}

#pragma mark - Properties as JSON

/* at_track_event refuses properties nested deeper than this. */
enum { ATTMaxJSONDepth = 128 };

/* Apple's rules for a JSON object (isValidJSONObject:), checked here because
 * GNUstep's NSJSONSerialization accepts an NSDate and writes `{"a": }`.
 * Returns nil when `value` is valid, else what is wrong with it. */
static NSString *ATTJSONProblem(id value, NSString *path, NSUInteger depth)
{
    if ([value isKindOfClass:[NSString class]] || [value isKindOfClass:[NSNull class]])
        return nil;
    if ([value isKindOfClass:[NSNumber class]])
        return isfinite([value doubleValue]) ? nil
                                              : [NSString stringWithFormat:@"%@ is not a finite number", path];
    if ([value isKindOfClass:[NSArray class]] || [value isKindOfClass:[NSDictionary class]]) {
        if (depth >= ATTMaxJSONDepth)
            return [NSString stringWithFormat:@"%@ nests deeper than %d levels", path, ATTMaxJSONDepth];
    }
    if ([value isKindOfClass:[NSArray class]]) {
        NSUInteger index = 0;
        for (id element in (NSArray *)value) {
            NSString *problem =
                ATTJSONProblem(element, [NSString stringWithFormat:@"%@[%lu]", path, (unsigned long)index], depth + 1);
            if (problem != nil)
                return problem;
            index++;
        }
        return nil;
    }
    if ([value isKindOfClass:[NSDictionary class]]) {
        for (id key in (NSDictionary *)value) {
            if (![key isKindOfClass:[NSString class]])
                return [NSString stringWithFormat:@"%@ has a key that is a %@, not an NSString", path,
                                                  NSStringFromClass([key class])];
            NSString *problem = ATTJSONProblem([(NSDictionary *)value objectForKey:key],
                                               [NSString stringWithFormat:@"%@[\"%@\"]", path, key], depth + 1);
            if (problem != nil)
                return problem;
        }
        return nil;
    }
    return [NSString stringWithFormat:@"%@ is a %@ (JSON takes NSString, NSNumber, NSNull, NSArray and NSDictionary)",
                                      path, NSStringFromClass([value class])];
}

/* `properties` as NUL-terminated UTF-8 JSON, or nil with *failure set. */
static NSData *ATTPropertiesJSON(NSDictionary *properties, NSError **failure)
{
    NSString *problem = [properties isKindOfClass:[NSDictionary class]]
                            ? ATTJSONProblem(properties, @"properties", 0)
                            : @"properties is not an NSDictionary";
    NSData *json = nil;
    NSError *jsonError = nil;
    if (problem == nil) {
        json = [NSJSONSerialization dataWithJSONObject:properties options:0 error:&jsonError];
        if (json == nil)
            problem = [jsonError localizedDescription];
    }
    if (problem != nil) {
        *failure = ATTErrorMake(AT_ERR_INVALID_ARGUMENT,
                                [NSString stringWithFormat:@"trackEvent:properties: properties are not valid JSON: %@",
                                                           problem]);
        return nil;
    }
    NSMutableData *cString = [NSMutableData dataWithData:json];
    [cString appendBytes:"" length:1];
    return cString;
}

#pragma mark - ATTConfiguration

@implementation ATTConfiguration

@synthesize storagePath = _storagePath;
@synthesize endpoint = _endpoint;
@synthesize apiKey = _apiKey;
@synthesize offlineMode = _offlineMode;
@synthesize maxHitAgeMs = _maxHitAgeMs;
@synthesize reportDrops = _reportDrops;
@synthesize remoteConfigURL = _remoteConfigURL;
@synthesize remoteConfigInterval = _remoteConfigInterval;
@synthesize allowedEndpointHosts = _allowedEndpointHosts;
@synthesize optOutPolicy = _optOutPolicy;
@synthesize transport = _transport;

- (instancetype)init
{
    if ((self = [super init]) != nil) {
        _offlineMode = ATTOfflineModeRequired;
        _maxHitAgeMs = 2592000000ULL; /* 30 days, the library's default */
        _reportDrops = YES;
        _remoteConfigInterval = 3600;
        _allowedEndpointHosts = [[NSArray alloc] init];
        _optOutPolicy = ATTOptOutPolicyKeep;
        _sessionTimeout = 1800;          /* the library's 30 min */
        _backgroundSessionTimeout = 300; /* and 5 min */
        _initialConsent = ATTConsentGranted;
#if ATT_HOST_TRANSPORT_BY_DEFAULT
        /* No libcurl in these SDKs: URLSession carries every request. */
        _transport = [[ATTURLSessionTransport sharedTransport] retain];
#endif
    }
    return self;
}

- (void)dealloc
{
    [_storagePath release];
    [_endpoint release];
    [_apiKey release];
    [_remoteConfigURL release];
    [_allowedEndpointHosts release];
    [_context release];
    [_transport release];
    if (_remoteConfigHandler != nil)
        Block_release(_remoteConfigHandler);
    [super dealloc];
}

/* By hand, with Block_copy: with the GCC runtime a block is not an object that
 * answers -copy. */
- (ATTRemoteConfigHandler)remoteConfigHandler
{
    return _remoteConfigHandler;
}

- (void)setRemoteConfigHandler:(ATTRemoteConfigHandler)handler
{
    ATTRemoteConfigHandler copied = nil;
    if (handler != nil)
        copied = Block_copy(handler);
    if (_remoteConfigHandler != nil)
        Block_release(_remoteConfigHandler);
    _remoteConfigHandler = copied;
}

@end

#pragma mark - ATTHit

@interface ATTHit ()
- (instancetype)initWithCHit:(const at_hit *)hit;
@end

@implementation ATTHit

@synthesize identifier = _identifier;
@synthesize url = _url;
@synthesize creationDate = _creationDate;
@synthesize retryCount = _retryCount;
@synthesize isOffline = _isOffline;
@synthesize type = _type;
@synthesize messageId = _messageId;
@synthesize body = _body;

/* Copies everything out of `hit`, which the caller still owns and frees. */
- (instancetype)initWithCHit:(const at_hit *)hit
{
    if ((self = [super init]) != nil) {
        _identifier = at_hit_id(hit);
        _url = [ATTString(at_hit_url(hit)) copy];
        _creationDate = [[NSDate alloc] initWithTimeIntervalSince1970:(double)at_hit_creation_date_ms(hit) / 1000.0];
        _retryCount = at_hit_retry_count(hit);
        _isOffline = at_hit_is_offline(hit) ? YES : NO;
        _type = [ATTString(at_hit_type(hit)) copy];
        _messageId = [ATTString(at_hit_message_id(hit)) copy];
        _body = [ATTString(at_hit_body(hit)) copy]; /* nil for a URL hit */
    }
    return self;
}

- (void)dealloc
{
    [_url release];
    [_creationDate release];
    [_type release];
    [_messageId release];
    [_body release];
    [super dealloc];
}

- (NSString *)description
{
    return [NSString stringWithFormat:@"<ATTHit #%llu %@ %@ created %@ retry %lu%@ %@%@%@>",
                                      (unsigned long long)_identifier, _type, _messageId, _creationDate,
                                      (unsigned long)_retryCount, _isOffline ? @" offline" : @"", _url,
                                      _body != nil ? @" " : @"", _body != nil ? _body : @""];
}

@end

#pragma mark - ATTDispatchResult

@implementation ATTDispatchResult

@synthesize status = _status;
@synthesize sent = _sent;
@synthesize failed = _failed;
@synthesize dropped = _dropped;
@synthesize error = _error;

- (instancetype)initWithCResult:(const at_dispatch_result *)result
{
    if ((self = [super init]) != nil) {
        _status = result->status;
        _sent = result->sent;
        _failed = result->failed;
        _dropped = result->dropped;
        if (_status != AT_OK)
            _error = [ATTErrorMake(_status, [NSString stringWithFormat:@"dispatch: %s (sent %llu, failed %llu, dropped %llu)",
                                                                       at_status_str(_status),
                                                                       (unsigned long long)_sent,
                                                                       (unsigned long long)_failed,
                                                                       (unsigned long long)_dropped]) retain];
    }
    return self;
}

- (void)dealloc
{
    [_error release];
    [super dealloc];
}

- (NSString *)description
{
    return [NSString stringWithFormat:@"<ATTDispatchResult %s sent %llu failed %llu dropped %llu>",
                                      at_status_str(_status), (unsigned long long)_sent,
                                      (unsigned long long)_failed, (unsigned long long)_dropped];
}

@end

#pragma mark - ATTTracker

@interface ATTTracker ()
- (at_tracker *)handle;
@end

@interface ATTOffline ()
- (instancetype)initWithTracker:(ATTTracker *)tracker;
@end

typedef at_status (*ATTStringSetter)(at_config *config, const char *value);

/* `setter` with `value`, unless `value` is nil (the library's default stays)
 * or an earlier setting already failed (`status`, returned as it is). */
static at_status ATTSetString(at_status status, at_config *config, ATTStringSetter setter, NSString *value)
{
    if (status != AT_OK || value == nil)
        return status;
    return setter(config, [value UTF8String]);
}

/* Copies `configuration` (but not its remote-config handler) into `config`:
 * nil, or the error of the first setting refused (a C setter's with its
 * at_last_error() message, or one of the checks made here). A missing path or
 * endpoint is left for at_tracker_new, which names it. */
static NSError *ATTApplyConfiguration(ATTConfiguration *configuration, at_config *config)
{
    at_status status = ATTSetString(AT_OK, config, at_config_set_storage_path, configuration.storagePath);
    status = ATTSetString(status, config, at_config_set_endpoint, configuration.endpoint);
    status = ATTSetString(status, config, at_config_set_api_key, configuration.apiKey);
    if (status == AT_OK)
        status = at_config_set_offline_mode(config, (at_offline_mode)configuration.offlineMode);
    if (status == AT_OK)
        status = at_config_set_max_hit_age_ms(config, configuration.maxHitAgeMs);
    if (status == AT_OK)
        status = at_config_set_report_drops(config, configuration.reportDrops ? true : false);
    status = ATTSetString(status, config, at_config_set_remote_config_url, configuration.remoteConfigURL);
    if (status != AT_OK)
        return ATTErrorFromLastCall(status);

    /* Whole milliseconds; NaN, negative and too large are refused here. */
    double ms = round(configuration.remoteConfigInterval * 1000.0);
    if (!(ms >= 0.0 && ms <= (double)UINT32_MAX))
        return ATTErrorMake(AT_ERR_INVALID_ARGUMENT,
                            [NSString stringWithFormat:@"remoteConfigInterval: %g s is out of range",
                                                       configuration.remoteConfigInterval]);
    status = at_config_set_remote_config_interval_ms(config, (uint32_t)ms);
    for (id host in configuration.allowedEndpointHosts) {
        if (status != AT_OK)
            break;
        if (![host isKindOfClass:[NSString class]])
            return ATTErrorMake(AT_ERR_INVALID_ARGUMENT,
                                [NSString stringWithFormat:@"allowedEndpointHosts: a %@ is not an NSString",
                                                           NSStringFromClass([host class])]);
        status = at_config_add_allowed_endpoint_host(config, [(NSString *)host UTF8String]);
    }
    if (status == AT_OK) {
        if ((NSUInteger)(at_opt_out_policy)configuration.optOutPolicy != (NSUInteger)configuration.optOutPolicy)
            return ATTErrorMake(AT_ERR_INVALID_ARGUMENT, @"optOutPolicy: not an ATTOptOutPolicy");
        status = at_config_set_opt_out_policy(config, (at_opt_out_policy)configuration.optOutPolicy);
    }
    return status == AT_OK ? nil : ATTErrorFromLastCall(status);
}

/* The analytics client's settings (in "The analytics client" below). */
static NSError *ATTApplyAnalyticsConfiguration(ATTConfiguration *configuration, at_config *config);

@implementation ATTTracker

- (instancetype)initWithConfiguration:(ATTConfiguration *)configuration error:(NSError **)error
{
    if ((self = [super init]) == nil)
        return nil;
    at_config *config = at_config_new();
    if (config == NULL) {
        [self release];
        ATTFail(error, ATTErrorMake(AT_ERR_INTERNAL, @"at_config_new: out of memory"));
        return nil;
    }
    NSError *failure = ATTApplyConfiguration(configuration, config);
    if (failure == nil)
        failure = ATTApplyAnalyticsConfiguration(configuration, config);
    if (failure == nil && configuration.remoteConfigHandler != nil) {
        /* The tracker's own copy: the configuration may change or go. */
        _remoteConfigHandler = Block_copy(configuration.remoteConfigHandler);
        at_status status = at_config_set_remote_config_callback(config, ATTRemoteConfigTrampoline,
                                                                (void *)_remoteConfigHandler);
        if (status != AT_OK)
            failure = ATTErrorFromLastCall(status);
    }
    if (failure == nil && configuration.transport != nil) {
        _transport = [configuration.transport retain];
        at_status status = at_config_set_transport(config, ATTTransportTrampoline, (void *)_transport);
        if (status != AT_OK)
            failure = ATTErrorFromLastCall(status);
    }
    if (failure == nil) {
        at_status status = at_tracker_new(config, &_tracker);
        if (status != AT_OK)
            failure = ATTErrorFromLastCall(status);
    }
    at_config_free(config); /* the tracker keeps a copy */
    if (failure != nil) {
        [self release];
        ATTFail(error, failure);
        return nil;
    }
    return self;
}

/* Unavailable: a tracker needs a storage path and an endpoint. */
- (instancetype)init
{
    return [self initWithConfiguration:[[[ATTConfiguration alloc] init] autorelease] error:NULL];
}

- (void)dealloc
{
    /* Commits what was accepted, sends what it can in 2 s, runs or cancels the
     * pending completions (whose blocks are released by their trampolines), and
     * joins the tracker's threads. Allowed on the callback thread too. */
    at_tracker_free(_tracker);
    if (_remoteConfigHandler != nil) {
        /* Freed from inside one of its callbacks, at_tracker_free returns
         * before the callback thread has run what is still queued, which may
         * include a remote config document for this handler: leak it then. */
        if (ATTCallbackDepth == 0)
            Block_release(_remoteConfigHandler);
    }
    /* Requests still with the transport are ended by it later; the library
     * ignores their answers once the tracker is freed. The transport itself
     * stays alive while its exchanges run (a URLSession task retains its
     * completion, which does not use the transport). */
    if (ATTCallbackDepth == 0) /* else a queued request may still reach it: leak it, as the handler */
        [_transport release];
    [super dealloc];
}

- (at_tracker *)handle
{
    return _tracker;
}

- (ATTOffline *)offline
{
    return [[[ATTOffline alloc] initWithTracker:self] autorelease];
}

- (ATTOfflineMode)offlineMode
{
    at_offline_mode mode = AT_OFFLINE_REQUIRED;
    at_get_offline_mode(_tracker, &mode); /* fails only once closed, i.e. never before -dealloc */
    return (ATTOfflineMode)mode;
}

- (BOOL)trackEvent:(NSString *)type properties:(NSDictionary *)properties
{
    return [self trackEvent:type properties:properties error:NULL];
}

- (BOOL)trackEvent:(NSString *)type properties:(NSDictionary *)properties error:(NSError **)error
{
    NSData *json = nil;
    if (properties != nil) {
        NSError *failure = nil;
        json = ATTPropertiesJSON(properties, &failure);
        if (json == nil)
            return ATTFail(error, failure);
    }
    const char *body = json != nil ? (const char *)[json bytes] : NULL;
    return ATTSucceeded(at_track_event(_tracker, [type UTF8String], body, NULL, NULL), error);
}

- (BOOL)sendHit:(NSString *)url type:(NSString *)type
{
    return [self sendHit:url type:type error:NULL];
}

- (BOOL)sendHit:(NSString *)url type:(NSString *)type error:(NSError **)error
{
    return ATTSucceeded(at_send_hit(_tracker, [url UTF8String], [type UTF8String], NULL, NULL), error);
}

- (BOOL)setOfflineMode:(ATTOfflineMode)mode completionHandler:(ATTCompletionHandler)handler
{
    return [self setOfflineMode:mode completionHandler:handler error:NULL];
}

- (BOOL)setOfflineMode:(ATTOfflineMode)mode completionHandler:(ATTCompletionHandler)handler error:(NSError **)error
{
    if ((NSUInteger)(at_offline_mode)mode != (NSUInteger)mode) /* would wrap into a valid value */
        return ATTFail(error, ATTErrorMake(AT_ERR_INVALID_ARGUMENT, @"setOfflineMode: not an ATTOfflineMode"));
    ATTCompletionHandler copied = nil;
    if (handler != nil)
        copied = Block_copy(handler); /* released by the trampoline, or below */
    at_status status = at_set_offline_mode(_tracker, (at_offline_mode)mode,
                                           copied != nil ? ATTCompletionTrampoline : NULL, (void *)copied);
    if (status != AT_OK) {
        NSError *failure = ATTErrorFromLastCall(status);
        if (copied != nil)
            Block_release(copied); /* the library will never call it */
        return ATTFail(error, failure);
    }
    return YES;
}

/* An owned string from at_visitor_id / at_remote_config_json / at_last_send_error as an NSString
 * (nil for NULL), freed with at_string_free. */
static NSString *ATTTakeString(char *s)
{
    NSString *string = ATTString(s);
    at_string_free(s);
    return string;
}

- (NSString *)visitorId
{
    return [self visitorIdWithError:NULL];
}

- (NSString *)visitorIdWithError:(NSError **)error
{
    char *visitor = NULL;
    at_status status = at_visitor_id(_tracker, &visitor);
    if (status != AT_OK) {
        ATTFail(error, ATTErrorFromLastCall(status));
        return nil;
    }
    return ATTTakeString(visitor);
}

- (BOOL)resetVisitorId
{
    return [self resetVisitorIdWithError:NULL];
}

- (BOOL)resetVisitorIdWithError:(NSError **)error
{
    return ATTSucceeded(at_visitor_id_reset(_tracker), error);
}

- (BOOL)setVisitorId:(NSString *)visitorId error:(NSError **)error
{
    return ATTSucceeded(at_set_visitor_id(_tracker, [visitorId UTF8String]), error);
}

- (BOOL)optOutWithPolicy:(ATTOptOutPolicy)policy
{
    return [self optOutWithPolicy:policy purged:NULL error:NULL];
}

- (BOOL)optOutWithPolicy:(ATTOptOutPolicy)policy purged:(NSUInteger *)purged error:(NSError **)error
{
    if ((NSUInteger)(at_opt_out_policy)policy != (NSUInteger)policy) /* would wrap into a valid value */
        return ATTFail(error, ATTErrorMake(AT_ERR_INVALID_ARGUMENT, @"optOutWithPolicy: not an ATTOptOutPolicy"));
    uint64_t count = 0;
    at_status status = at_opt_out(_tracker, (at_opt_out_policy)policy, &count);
    if (status != AT_OK)
        return ATTFail(error, ATTErrorFromLastCall(status));
    if (purged != NULL)
        *purged = count > NSUIntegerMax ? NSUIntegerMax : (NSUInteger)count;
    return YES;
}

- (BOOL)setTrackingEnabled:(BOOL)enabled error:(NSError **)error
{
    return ATTSucceeded(at_set_tracking_enabled(_tracker, enabled ? true : false), error);
}

- (NSString *)remoteConfigJSON
{
    return [self remoteConfigJSONWithError:NULL];
}

- (NSString *)remoteConfigJSONWithError:(NSError **)error
{
    char *document = NULL;
    at_status status = at_remote_config_json(_tracker, &document);
    if (status != AT_OK) {
        ATTFail(error, ATTErrorFromLastCall(status));
        return nil;
    }
    if (error != NULL)
        *error = nil; /* nil below means no document */
    return ATTTakeString(document);
}

- (BOOL)setApiKey:(NSString *)apiKey
{
    return [self setApiKey:apiKey error:NULL];
}

- (BOOL)setApiKey:(NSString *)apiKey error:(NSError **)error
{
    return ATTSucceeded(at_set_api_key(_tracker, [apiKey UTF8String]), error);
}

- (NSString *)lastSendError
{
    return [self lastSendErrorWithError:NULL];
}

- (NSString *)lastSendErrorWithError:(NSError **)error
{
    char *message = NULL;
    at_status status = at_last_send_error(_tracker, &message);
    if (status != AT_OK) {
        ATTFail(error, ATTErrorFromLastCall(status));
        return nil;
    }
    if (error != NULL)
        *error = nil; /* nil below means no failed send */
    return ATTTakeString(message);
}

@end

#pragma mark - ATTOffline

/* at_offline_oldest or at_offline_latest. */
typedef at_status (*ATTOneHitFn)(at_tracker *tracker, at_hit **out);

@implementation ATTOffline

@synthesize tracker = _tracker;

- (instancetype)initWithTracker:(ATTTracker *)tracker
{
    if ((self = [super init]) != nil)
        _tracker = [tracker retain];
    return self;
}

- (void)dealloc
{
    [_tracker release];
    [super dealloc];
}

- (void)dispatch
{
    [self dispatchWithCompletion:nil error:NULL];
}

- (BOOL)dispatchWithCompletion:(ATTDispatchCompletion)completion
{
    return [self dispatchWithCompletion:completion error:NULL];
}

- (BOOL)dispatchWithCompletion:(ATTDispatchCompletion)completion error:(NSError **)error
{
    ATTDispatchCompletion copied = nil;
    if (completion != nil)
        copied = Block_copy(completion); /* released by the trampoline, or below */
    at_status status = at_offline_dispatch([_tracker handle], copied != nil ? ATTDispatchTrampoline : NULL,
                                           (void *)copied);
    if (status != AT_OK) {
        NSError *failure = ATTErrorFromLastCall(status);
        if (copied != nil)
            Block_release(copied); /* the library will never call it */
        return ATTFail(error, failure);
    }
    return YES;
}

- (NSArray *)get
{
    return [self getWithError:NULL];
}

- (NSArray *)getWithError:(NSError **)error
{
    at_hit_list *list = NULL;
    at_status status = at_offline_get([_tracker handle], &list);
    if (status != AT_OK) {
        ATTFail(error, ATTErrorFromLastCall(status));
        return nil;
    }
    size_t length = at_hit_list_len(list);
    NSMutableArray *hits = [NSMutableArray arrayWithCapacity:length];
    for (size_t i = 0; i < length; i++) {
        ATTHit *hit = [[ATTHit alloc] initWithCHit:at_hit_list_get(list, i)];
        [hits addObject:hit];
        [hit release];
    }
    at_hit_list_free(list);
    return hits;
}

- (ATTHit *)oneHit:(ATTOneHitFn)fn error:(NSError **)error
{
    at_hit *hit = NULL;
    at_status status = fn([_tracker handle], &hit);
    if (status != AT_OK) {
        ATTFail(error, ATTErrorFromLastCall(status));
        return nil;
    }
    if (error != NULL)
        *error = nil; /* nil below means an empty store */
    if (hit == NULL)
        return nil;
    ATTHit *result = [[[ATTHit alloc] initWithCHit:hit] autorelease];
    at_hit_free(hit);
    return result;
}

- (ATTHit *)oldest
{
    return [self oldestWithError:NULL];
}

- (ATTHit *)oldestWithError:(NSError **)error
{
    return [self oneHit:at_offline_oldest error:error];
}

- (ATTHit *)latest
{
    return [self latestWithError:NULL];
}

- (ATTHit *)latestWithError:(NSError **)error
{
    return [self oneHit:at_offline_latest error:error];
}

- (NSInteger)count
{
    return [self countWithError:NULL];
}

- (NSInteger)countWithError:(NSError **)error
{
    uint64_t count = 0;
    at_status status = at_offline_count([_tracker handle], &count);
    if (status != AT_OK) {
        ATTFail(error, ATTErrorFromLastCall(status));
        return -1;
    }
    return (NSInteger)count;
}

/* A delete's result: how many, or -1 with *error set. */
static NSInteger ATTDeleted(at_status status, uint64_t deleted, NSError **error)
{
    if (status != AT_OK) {
        ATTFail(error, ATTErrorFromLastCall(status));
        return -1;
    }
    return (NSInteger)deleted;
}

- (NSInteger)delete
{
    return [self deleteWithError:NULL];
}

- (NSInteger)deleteWithError:(NSError **)error
{
    uint64_t deleted = 0;
    at_status status = at_offline_delete([_tracker handle], &deleted);
    return ATTDeleted(status, deleted, error);
}

- (NSInteger)deleteOlderThanDays:(NSUInteger)days
{
    return [self deleteOlderThanDays:days error:NULL];
}

- (NSInteger)deleteOlderThanDays:(NSUInteger)days error:(NSError **)error
{
    /* More days than uint32_t holds (11 million years) deletes what UINT32_MAX does: nothing. */
    uint32_t capped = days > UINT32_MAX ? UINT32_MAX : (uint32_t)days;
    uint64_t deleted = 0;
    at_status status = at_offline_delete_older_than_days([_tracker handle], capped, &deleted);
    return ATTDeleted(status, deleted, error);
}

- (NSInteger)deleteOlderThanDate:(NSDate *)date
{
    return [self deleteOlderThanDate:date error:NULL];
}

- (NSInteger)deleteOlderThanDate:(NSDate *)date error:(NSError **)error
{
    if (date == nil) {
        ATTFail(error, ATTErrorMake(AT_ERR_NULL_ARGUMENT, @"deleteOlderThanDate: date is nil"));
        return -1;
    }
    /* Stored times are whole milliseconds: round down, so a hit stored in the
     * same millisecond as `date` is kept. */
    double ms = floor([date timeIntervalSince1970] * 1000.0);
    int64_t unixMs = ms <= (double)INT64_MIN ? INT64_MIN : ms >= (double)INT64_MAX ? INT64_MAX : (int64_t)ms;
    uint64_t deleted = 0;
    at_status status = at_offline_delete_older_than([_tracker handle], unixMs, &deleted);
    return ATTDeleted(status, deleted, error);
}

@end

#pragma mark - The analytics client

_Static_assert(ATTConsentGranted == AT_CONSENT_GRANTED, "ATTConsentGranted");
_Static_assert(ATTConsentPending == AT_CONSENT_PENDING, "ATTConsentPending");
_Static_assert(ATTConsentDenied == AT_CONSENT_DENIED, "ATTConsentDenied");
_Static_assert(ATTResetUser == AT_RESET_USER, "ATTResetUser");
_Static_assert(ATTResetAnonymousId == AT_RESET_ANONYMOUS_ID, "ATTResetAnonymousId");
_Static_assert(ATTResetSession == AT_RESET_SESSION, "ATTResetSession");
_Static_assert(ATTResetSuperProperties == AT_RESET_SUPER_PROPERTIES, "ATTResetSuperProperties");
_Static_assert(ATTResetAll == AT_RESET_ALL, "ATTResetAll");

/* `value` (a dictionary that must be a JSON object) as NUL-terminated UTF-8
 * JSON; nil for nil (the C call gets NULL). On failure nil with *failure set to
 * an AT_ERR_INVALID_ARGUMENT: "<subject> not valid JSON: <problem>", the
 * problem's path starting at `what`. */
static NSData *ATTJSONObject(NSDictionary *value, NSString *subject, NSString *what, NSError **failure)
{
    *failure = nil;
    if (value == nil)
        return nil;
    NSString *problem = [value isKindOfClass:[NSDictionary class]]
                            ? ATTJSONProblem(value, what, 0)
                            : [NSString stringWithFormat:@"%@ is not an NSDictionary", what];
    NSData *json = nil;
    if (problem == nil) {
        NSError *jsonError = nil;
        json = [NSJSONSerialization dataWithJSONObject:value options:0 error:&jsonError];
        if (json == nil)
            problem = [jsonError localizedDescription];
    }
    if (problem != nil) {
        *failure = ATTErrorMake(AT_ERR_INVALID_ARGUMENT,
                                [NSString stringWithFormat:@"%@ not valid JSON: %@", subject, problem]);
        return nil;
    }
    NSMutableData *cString = [NSMutableData dataWithData:json];
    [cString appendBytes:"" length:1];
    return cString;
}

static const char *ATTJSONBytes(NSData *json)
{
    return json != nil ? (const char *)[json bytes] : NULL;
}

/* Seconds as whole milliseconds for a uint32_t setting; NO with *failure set when out of range. */
static BOOL ATTMilliseconds(NSTimeInterval seconds, NSString *what, uint32_t *ms, NSError **failure)
{
    double rounded = round(seconds * 1000.0);
    if (!(rounded >= 0.0 && rounded <= (double)UINT32_MAX)) {
        *failure = ATTErrorMake(AT_ERR_INVALID_ARGUMENT,
                                [NSString stringWithFormat:@"%@: %g s is out of range", what, seconds]);
        return NO;
    }
    *ms = (uint32_t)rounded;
    return YES;
}

static NSError *ATTApplyAnalyticsConfiguration(ATTConfiguration *configuration, at_config *config)
{
    NSError *failure = nil;
    NSData *context = ATTJSONObject(configuration.context, @"ATTConfiguration: context is", @"context", &failure);
    if (failure != nil)
        return failure;
    uint32_t foregroundMs = 0, backgroundMs = 0;
    if (!ATTMilliseconds(configuration.sessionTimeout, @"sessionTimeout", &foregroundMs, &failure)
        || !ATTMilliseconds(configuration.backgroundSessionTimeout, @"backgroundSessionTimeout", &backgroundMs,
                            &failure))
        return failure;
    if ((NSUInteger)(at_consent)configuration.initialConsent != (NSUInteger)configuration.initialConsent)
        return ATTErrorMake(AT_ERR_INVALID_ARGUMENT, @"initialConsent: not an ATTConsent");

    at_status status = AT_OK;
    if (context != nil)
        status = at_config_set_context(config, ATTJSONBytes(context));
    if (status == AT_OK)
        status = at_config_set_session_timeouts_ms(config, foregroundMs, backgroundMs);
    if (status == AT_OK)
        status = at_config_set_track_session_events(config, configuration.trackSessionEvents ? true : false);
    if (status == AT_OK)
        status = at_config_set_initial_consent(config, (at_consent)configuration.initialConsent);
    return status == AT_OK ? nil : ATTErrorFromLastCall(status);
}

@implementation ATTConfiguration (ATTAnalytics)

- (NSDictionary *)context
{
    return _context;
}

- (void)setContext:(NSDictionary *)context
{
    NSDictionary *copied = [context copy];
    [_context release];
    _context = copied;
}

- (NSTimeInterval)sessionTimeout
{
    return _sessionTimeout;
}

- (void)setSessionTimeout:(NSTimeInterval)seconds
{
    _sessionTimeout = seconds;
}

- (NSTimeInterval)backgroundSessionTimeout
{
    return _backgroundSessionTimeout;
}

- (void)setBackgroundSessionTimeout:(NSTimeInterval)seconds
{
    _backgroundSessionTimeout = seconds;
}

- (BOOL)trackSessionEvents
{
    return _trackSessionEvents;
}

- (void)setTrackSessionEvents:(BOOL)enabled
{
    _trackSessionEvents = enabled;
}

- (ATTConsent)initialConsent
{
    return _initialConsent;
}

- (void)setInitialConsent:(ATTConsent)consent
{
    _initialConsent = consent;
}

@end

/* A completion block and the name of the call it completes, as user data of
 * the C call; freed by the trampoline, or by the caller when the call failed. */
typedef struct {
    ATTCompletionHandler handler; /* Block_copy'd */
    const char *call;             /* a string literal */
} ATTCallCompletion;

/* *out: NULL for a nil handler; NO (with *error set) when out of memory. */
static BOOL ATTCallCompletionMake(ATTCompletionHandler handler, const char *call, ATTCallCompletion **out,
                                  NSError **error)
{
    *out = NULL;
    if (handler == nil)
        return YES;
    ATTCallCompletion *completion = malloc(sizeof *completion);
    if (completion == NULL)
        return ATTFail(error, ATTErrorMake(AT_ERR_INTERNAL, [NSString stringWithFormat:@"%s: out of memory", call]));
    completion->handler = Block_copy(handler);
    completion->call = call;
    *out = completion;
    return YES;
}

static void ATTCallCompletionFree(ATTCallCompletion *completion)
{
    if (completion == NULL)
        return;
    Block_release(completion->handler);
    free(completion);
}

/* A failed completion finds its message in at_last_error() on this thread. */
static void ATTCallCompletionTrampoline(at_status status, void *user_data)
{
    ATTCallCompletion *completion = user_data;
    BOOL registered = ATTCallbackBegin();
    @autoreleasepool {
        NSError *error = nil;
        if (status != AT_OK) {
            const char *message = at_last_error();
            error = ATTErrorMake(status, [NSString stringWithFormat:@"%s: %s", completion->call,
                                                   message[0] != '\0' ? message : at_status_str(status)]);
        }
        @try {
            completion->handler(error);
        } @catch (id exception) {
            NSLog(@"ATTracker: a %s completion block raised %@", completion->call, exception);
        }
    }
    ATTCallCompletionFree(completion);
    ATTCallbackEnd(registered);
}

/* The status of a C call that took `completion`: YES, or NO with *error set
 * and the completion freed (the library will never call it). */
static BOOL ATTCallStarted(at_status status, ATTCallCompletion *completion, NSError **error)
{
    if (status == AT_OK)
        return YES;
    NSError *failure = ATTErrorFromLastCall(status);
    ATTCallCompletionFree(completion);
    return ATTFail(error, failure);
}

@implementation ATTTracker (ATTAnalytics)

- (BOOL)identify:(NSString *)userId traits:(NSDictionary *)traits completion:(ATTCompletionHandler)completion
{
    return [self identify:userId traits:traits completion:completion error:NULL];
}

- (BOOL)identify:(NSString *)userId
          traits:(NSDictionary *)traits
      completion:(ATTCompletionHandler)completion
           error:(NSError **)error
{
    NSError *failure = nil;
    NSData *json = ATTJSONObject(traits, @"identify:traits: traits are", @"traits", &failure);
    if (failure != nil)
        return ATTFail(error, failure);
    ATTCallCompletion *done = NULL;
    if (!ATTCallCompletionMake(completion, "identify", &done, error))
        return NO;
    at_status status = at_identify([self handle], [userId UTF8String], ATTJSONBytes(json),
                                   done != NULL ? ATTCallCompletionTrampoline : NULL, done);
    return ATTCallStarted(status, done, error);
}

- (NSString *)userId
{
    return [self userIdWithError:NULL];
}

- (NSString *)userIdWithError:(NSError **)error
{
    char *user = NULL;
    at_status status = at_user_id([self handle], &user);
    if (status != AT_OK) {
        ATTFail(error, ATTErrorFromLastCall(status));
        return nil;
    }
    if (error != NULL)
        *error = nil; /* nil below means no user id */
    return ATTTakeString(user);
}

- (BOOL)alias:(NSString *)newUserId completion:(ATTCompletionHandler)completion
{
    return [self alias:newUserId completion:completion error:NULL];
}

- (BOOL)alias:(NSString *)newUserId completion:(ATTCompletionHandler)completion error:(NSError **)error
{
    ATTCallCompletion *done = NULL;
    if (!ATTCallCompletionMake(completion, "alias", &done, error))
        return NO;
    at_status status =
        at_alias([self handle], [newUserId UTF8String], done != NULL ? ATTCallCompletionTrampoline : NULL, done);
    return ATTCallStarted(status, done, error);
}

- (BOOL)group:(NSString *)groupId traits:(NSDictionary *)traits completion:(ATTCompletionHandler)completion
{
    return [self group:groupId traits:traits completion:completion error:NULL];
}

- (BOOL)group:(NSString *)groupId
       traits:(NSDictionary *)traits
   completion:(ATTCompletionHandler)completion
        error:(NSError **)error
{
    NSError *failure = nil;
    NSData *json = ATTJSONObject(traits, @"group:traits: traits are", @"traits", &failure);
    if (failure != nil)
        return ATTFail(error, failure);
    ATTCallCompletion *done = NULL;
    if (!ATTCallCompletionMake(completion, "group", &done, error))
        return NO;
    at_status status = at_group([self handle], [groupId UTF8String], ATTJSONBytes(json),
                                done != NULL ? ATTCallCompletionTrampoline : NULL, done);
    return ATTCallStarted(status, done, error);
}

- (BOOL)screen:(NSString *)name properties:(NSDictionary *)properties completion:(ATTCompletionHandler)completion
{
    return [self screen:name properties:properties completion:completion error:NULL];
}

- (BOOL)screen:(NSString *)name
    properties:(NSDictionary *)properties
    completion:(ATTCompletionHandler)completion
         error:(NSError **)error
{
    NSError *failure = nil;
    NSData *json = ATTJSONObject(properties, @"screen:properties: properties are", @"properties", &failure);
    if (failure != nil)
        return ATTFail(error, failure);
    ATTCallCompletion *done = NULL;
    if (!ATTCallCompletionMake(completion, "screen", &done, error))
        return NO;
    at_status status = at_screen([self handle], [name UTF8String], ATTJSONBytes(json),
                                 done != NULL ? ATTCallCompletionTrampoline : NULL, done);
    return ATTCallStarted(status, done, error);
}

- (BOOL)reset:(ATTReset)what
{
    return [self reset:what error:NULL];
}

- (BOOL)reset:(ATTReset)what error:(NSError **)error
{
    if ((NSUInteger)(uint32_t)what != (NSUInteger)what) /* would wrap into valid flags */
        return ATTFail(error, ATTErrorMake(AT_ERR_INVALID_ARGUMENT, @"reset: not ATTReset flags"));
    at_status status = at_reset([self handle], (uint32_t)what);
    return status == AT_OK ? YES : ATTFail(error, ATTErrorFromLastCall(status));
}

- (BOOL)mergeContext:(NSDictionary *)context error:(NSError **)error
{
    NSError *failure = nil;
    NSData *json = ATTJSONObject(context, @"mergeContext: context is", @"context", &failure);
    if (failure != nil)
        return ATTFail(error, failure);
    at_status status = at_set_context([self handle], ATTJSONBytes(json));
    return status == AT_OK ? YES : ATTFail(error, ATTErrorFromLastCall(status));
}

- (BOOL)registerSuperProperties:(NSDictionary *)properties error:(NSError **)error
{
    NSError *failure = nil;
    NSData *json = ATTJSONObject(properties, @"registerSuperProperties: properties are", @"properties", &failure);
    if (failure != nil)
        return ATTFail(error, failure);
    at_status status = at_register_super_properties([self handle], ATTJSONBytes(json));
    return status == AT_OK ? YES : ATTFail(error, ATTErrorFromLastCall(status));
}

- (BOOL)unregisterSuperProperty:(NSString *)key error:(NSError **)error
{
    at_status status = at_unregister_super_property([self handle], [key UTF8String]);
    return status == AT_OK ? YES : ATTFail(error, ATTErrorFromLastCall(status));
}

- (BOOL)startSession
{
    return [self startSessionWithError:NULL];
}

- (BOOL)startSessionWithError:(NSError **)error
{
    at_status status = at_session_start([self handle]);
    return status == AT_OK ? YES : ATTFail(error, ATTErrorFromLastCall(status));
}

- (int64_t)sessionId
{
    return [self sessionIdWithError:NULL];
}

- (int64_t)sessionIdWithError:(NSError **)error
{
    int64_t session = 0;
    at_status status = at_session_id([self handle], &session);
    if (status != AT_OK) {
        ATTFail(error, ATTErrorFromLastCall(status));
        return 0;
    }
    return session;
}

- (ATTConsent)consent
{
    at_consent consent = AT_CONSENT_GRANTED;
    at_get_consent([self handle], &consent); /* fails only once closed, i.e. never before -dealloc */
    return (ATTConsent)consent;
}

- (BOOL)setConsent:(ATTConsent)consent purged:(NSUInteger *)purged error:(NSError **)error
{
    if ((NSUInteger)(at_consent)consent != (NSUInteger)consent) /* would wrap into a valid value */
        return ATTFail(error, ATTErrorMake(AT_ERR_INVALID_ARGUMENT, @"setConsent: not an ATTConsent"));
    uint64_t count = 0;
    at_status status = at_set_consent([self handle], (at_consent)consent, &count);
    if (status != AT_OK)
        return ATTFail(error, ATTErrorFromLastCall(status));
    if (purged != NULL)
        *purged = count > NSUIntegerMax ? NSUIntegerMax : (NSUInteger)count;
    return YES;
}

@end
