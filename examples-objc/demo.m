/*
 * The AT "Offline hits" flow with the Objective-C wrapper:
 *
 *   demo DIR ENDPOINT
 *
 * Stores hits in DIR/attracker.db in "always" mode (nothing leaves by itself),
 * lists them, dispatches them to ENDPOINT (a collector's base URL; `cargo run
 * --example collector` starts one) and waits for the result, then deletes
 * whatever is left. Exit status 0 when every hit was delivered.
 */
@import ATTracker;

#import <Foundation/Foundation.h>

#import "ATTracker.h"

#include <stdio.h>

static void printHit(ATTHit *hit)
{
    printf("  #%llu %-12s %s  %s  retry %lu%s\n", (unsigned long long)hit.identifier, [hit.type UTF8String],
           [[hit.creationDate description] UTF8String], [hit.messageId UTF8String], (unsigned long)hit.retryCount,
           hit.isOffline ? "  offline" : "");
    if (hit.body != nil)
        printf("      POST %s  %s\n", [hit.url UTF8String], [hit.body UTF8String]); /* an event */
    else
        printf("      GET  %s\n", [hit.url UTF8String]); /* a URL hit */
}

static int fail(NSString *what, NSError *error)
{
    fprintf(stderr, "demo: %s failed: %s (%s)\n", [what UTF8String], [[error localizedDescription] UTF8String],
            [[[error userInfo] objectForKey:ATTStatusNameKey] UTF8String]);
    return 1;
}

/* Everything with the tracker, in main's autorelease pool: when the pool is
 * drained, the last reference is gone and the tracker is freed. */
static int run(NSString *directory, NSString *endpoint, NSCondition *finished, ATTDispatchResult **outcome)
{
    NSError *error = nil;

    /* 1. Configure: the store lives in the app's private directory; "always"
     *    keeps every hit on the device until the app dispatches. */
    ATTConfiguration *configuration = [[[ATTConfiguration alloc] init] autorelease];
    configuration.storagePath = [directory stringByAppendingPathComponent:@"attracker.db"];
    configuration.endpoint = endpoint;
    configuration.offlineMode = ATTOfflineModeAlways;
    ATTTracker *tracker = [[[ATTTracker alloc] initWithConfiguration:configuration error:&error] autorelease];
    if (tracker == nil)
        return fail(@"initWithConfiguration:", error);
    printf("attracker %s, store %s\n", at_version(), [configuration.storagePath UTF8String]);
    printf("visitor id %s (kept in the store)\n", [tracker.visitorId UTF8String]);

    /* 2. Track: each call returns once the hit is committed to disk. */
    NSDictionary *home = [NSDictionary dictionaryWithObject:@"home" forKey:@"screen"];
    NSDictionary *cart = [NSDictionary dictionaryWithObjectsAndKeys:@"A-42", @"sku", [NSNumber numberWithInt:2],
                                                                    @"quantity", nil];
    NSString *hitURL = [endpoint stringByAppendingString:@"/hit.xiti?s=1&p=home"];
    if (![tracker trackEvent:@"screen_view" properties:home error:&error])
        return fail(@"trackEvent:", error);
    if (![tracker trackEvent:@"add_to_cart" properties:cart error:&error])
        return fail(@"trackEvent:", error);
    if (![tracker sendHit:hitURL type:@"screen" error:&error])
        return fail(@"sendHit:type:", error);

    /* 3. Look at what waits on the device. */
    NSArray *hits = [tracker.offline getWithError:&error];
    if (hits == nil)
        return fail(@"offline get", error);
    NSInteger stored = [tracker.offline count];
    printf("\n%ld hit(s) stored (tracker.offline.count), oldest first (tracker.offline.get):\n", (long)stored);
    for (ATTHit *hit in hits)
        printHit(hit);
    printf("oldest: %s\nlatest: %s\n", [tracker.offline.oldest.type UTF8String],
           [tracker.offline.latest.type UTF8String]);

    /* 4. Dispatch them all, and wait for the tally. The block runs on the
     *    tracker's callback thread; an iOS app would hop to the main queue. */
    printf("\ndispatching to %s ...\n", [endpoint UTF8String]);
    BOOL started = [tracker.offline dispatchWithCompletion:^(ATTDispatchResult *result) {
        [finished lock];
        *outcome = [result retain];
        [finished signal];
        [finished unlock];
    } error:&error];
    if (!started)
        return fail(@"offline dispatch", error);
    [finished lock];
    NSDate *deadline = [NSDate dateWithTimeIntervalSinceNow:30];
    while (*outcome == nil && [finished waitUntilDate:deadline]) {
    }
    [finished unlock];
    if (*outcome == nil) {
        fprintf(stderr, "demo: no dispatch result within 30 s\n");
        return 1;
    }
    printf("dispatch: %s, sent %llu, failed %llu, dropped %llu\n", at_status_str((*outcome).status),
           (unsigned long long)(*outcome).sent, (unsigned long long)(*outcome).failed,
           (unsigned long long)(*outcome).dropped);

    /* 5. Tidy up: whatever was not delivered goes (AT's offline.delete). */
    NSInteger deleted = [tracker.offline deleteWithError:&error];
    if (deleted < 0)
        return fail(@"offline delete", error);
    printf("deleted %ld undelivered hit(s); %ld left\n", (long)deleted, (long)[tracker.offline count]);

    return (*outcome).status == AT_OK && (*outcome).sent == (uint64_t)stored ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DIR ENDPOINT\n", argv[0]);
        return 2;
    }
    int status;
    /* The completion block uses these; this runtime's Block_copy does not
     * retain them, so they outlive the tracker (freed with the pool below,
     * which runs or cancels any pending completion). */
    NSCondition *finished = [[NSCondition alloc] init];
    ATTDispatchResult *outcome = nil;
    @autoreleasepool {
        status = run([NSString stringWithUTF8String:argv[1]], [NSString stringWithUTF8String:argv[2]], finished,
                     &outcome);
    }
    [outcome release];
    [finished release];
    return status;
}
