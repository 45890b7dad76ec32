/*
 * ATTURLSessionTransport.m: see ATTURLSessionTransport.h. Manual
 * retain/release; compile with -fno-objc-arc in an ARC target.
 */
#if __has_feature(objc_arc)
#error "ATTURLSessionTransport.m uses manual retain/release: compile it with -fno-objc-arc"
#endif

#import "ATTURLSessionTransport.h"

#if !defined(GNUSTEP) || GS_HAVE_NSURLSESSION

/* The session's delegate: refuses redirects, so that the 3xx is the answer. */
@interface ATTURLSessionDelegate : NSObject <NSURLSessionTaskDelegate>
@end

@implementation ATTURLSessionDelegate

- (void)URLSession:(NSURLSession *)session
                          task:(NSURLSessionTask *)task
    willPerformHTTPRedirection:(NSHTTPURLResponse *)response
                    newRequest:(NSURLRequest *)request
             completionHandler:(void (^)(NSURLRequest *))completionHandler
{
    (void)session;
    (void)task;
    (void)response;
    (void)request;
    completionHandler(nil);
}

@end

@implementation ATTURLSessionTransport

@synthesize session = _session;

+ (instancetype)sharedTransport
{
    static ATTURLSessionTransport *shared = nil;
    @synchronized([ATTURLSessionTransport class]) {
        if (shared == nil) {
            NSURLSessionConfiguration *configuration = [NSURLSessionConfiguration ephemeralSessionConfiguration];
            configuration.HTTPShouldSetCookies = NO;
            configuration.URLCache = nil;
            configuration.requestCachePolicy = NSURLRequestReloadIgnoringLocalCacheData;
            shared = [[ATTURLSessionTransport alloc] initWithSessionConfiguration:configuration];
        }
    }
    return shared;
}

- (instancetype)initWithSessionConfiguration:(NSURLSessionConfiguration *)configuration
{
    if ((self = [super init]) == nil)
        return nil;
    if (configuration == nil || configuration.identifier != nil) {
        /* nil, or a background configuration: no completion handlers there. */
        [self release];
        return nil;
    }
    _delegate = [[ATTURLSessionDelegate alloc] init];
    /* The session retains its delegate until it is invalidated (-dealloc). */
    _session = [[NSURLSession sessionWithConfiguration:configuration delegate:_delegate delegateQueue:nil] retain];
    return self;
}

- (instancetype)init
{
    return [self initWithSessionConfiguration:[NSURLSessionConfiguration ephemeralSessionConfiguration]];
}

- (void)dealloc
{
    [_session finishTasksAndInvalidate];
    [_session release];
    [_delegate release];
    [super dealloc];
}

- (void)sendRequest:(NSURLRequest *)request completion:(ATTHTTPCompletion)completion
{
    ATTHTTPCompletion done = Block_copy(completion);
    NSURLSessionDataTask *task = [_session dataTaskWithRequest:request
                                             completionHandler:^(NSData *data, NSURLResponse *response, NSError *error) {
                                                 (void)data; /* the library needs the status and headers only */
                                                 done(response, error);
                                                 Block_release(done);
                                             }];
    if (task == nil) {
        done(nil, [NSError errorWithDomain:NSURLErrorDomain
                                      code:NSURLErrorUnknown
                                  userInfo:@{NSLocalizedDescriptionKey : @"NSURLSession made no task for the request"}]);
        Block_release(done);
        return;
    }
    [task resume];
}

@end

#endif
