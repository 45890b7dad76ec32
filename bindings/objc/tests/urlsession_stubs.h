/*
 * For ctest's objc_urlsession_compile only: declarations of the NSURLSession
 * API that ATTURLSessionTransport.m uses, with Apple's signatures, so that it
 * is compiled (-fsyntax-only, -Werror) here. Debian's GNUstep base is built
 * without NSURLSession (GS_HAVE_NSURLSESSION 0), and the declarations its
 * NSURLSession.h would give lack +ephemeralSessionConfiguration,
 * -identifier and -dataTaskWithRequest:completionHandler:. Nothing compiled
 * this way is linked or run.
 */
#import <Foundation/Foundation.h>

#undef GS_HAVE_NSURLSESSION
#define GS_HAVE_NSURLSESSION 1

@class NSURLSession;

@interface NSURLSessionTask : NSObject
- (void)resume;
@end

@interface NSURLSessionDataTask : NSURLSessionTask
@end

@interface NSURLSessionConfiguration : NSObject <NSCopying>
+ (NSURLSessionConfiguration *)ephemeralSessionConfiguration;
@property (readonly, copy) NSString *identifier;
@property BOOL HTTPShouldSetCookies;
@property (retain) NSURLCache *URLCache;
@property NSURLRequestCachePolicy requestCachePolicy;
@end

@protocol NSURLSessionDelegate <NSObject>
@end

@protocol NSURLSessionTaskDelegate <NSURLSessionDelegate>
@optional
- (void)URLSession:(NSURLSession *)session
                          task:(NSURLSessionTask *)task
    willPerformHTTPRedirection:(NSHTTPURLResponse *)response
                    newRequest:(NSURLRequest *)request
             completionHandler:(void (^)(NSURLRequest *))completionHandler;
@end

@interface NSURLSession : NSObject
+ (NSURLSession *)sessionWithConfiguration:(NSURLSessionConfiguration *)configuration
                                  delegate:(id<NSURLSessionDelegate>)delegate
                             delegateQueue:(NSOperationQueue *)queue;
- (NSURLSessionDataTask *)dataTaskWithRequest:(NSURLRequest *)request
                            completionHandler:(void (^)(NSData *data, NSURLResponse *response, NSError *error))completionHandler;
- (void)finishTasksAndInvalidate;
@end
