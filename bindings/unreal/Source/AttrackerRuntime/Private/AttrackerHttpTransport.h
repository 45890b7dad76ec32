// The subsystem's host transport: the library's requests carried by Unreal's
// HTTP module (FHttpModule) instead of libcurl, which the iOS and Android
// builds of the library do not have. Not compiled in the attracker repository
// (no Unreal Engine there): reviewed against the UE 5 IHttpRequest API.

#pragma once

#include "CoreMinimal.h"

struct at_request;

namespace AttrackerHttp
{
	// at_transport_fn. Called on the game thread, inside at_tracker_poll (the
	// subsystem's Tick) or at_tracker_close (Deinitialize). Starts the request
	// with FHttpModule and returns; the completion delegate (game thread)
	// ends it with at_transport_complete exactly once. UserData is unused.
	// A request the module refuses to start is ended at once as not reached.
	void Send(at_request* Request, void* UserData);

	// The Retry-After header Value as milliseconds from NowUtc: delta-seconds
	// or an HTTP date (FDateTime::ParseHttpDate); 0 when empty, unreadable or past.
	int64 RetryAfterMs(const FString& Value, const FDateTime& NowUtc);
}
