// Not compiled in the attracker repository: see bindings/unreal/README.md.
// The request/response mapping follows the wrapper transports that are tested
// (bindings/objc/ATTracker.m, bindings/unity/Runtime/HttpTransport.cs) and
// tests/c/test_host_transport.c.

#include "AttrackerHttpTransport.h"

#include "HttpModule.h"
#include "Interfaces/IHttpRequest.h"
#include "Interfaces/IHttpResponse.h"

#include "at_tracker.h"

namespace AttrackerHttp
{
	int64 RetryAfterMs(const FString& Value, const FDateTime& NowUtc)
	{
		const FString Trimmed = Value.TrimStartAndEnd();
		if (Trimmed.IsEmpty())
		{
			return 0;
		}
		if (Trimmed.IsNumeric() && !Trimmed.Contains(TEXT(".")) && !Trimmed.StartsWith(TEXT("-")))
		{
			const int64 Seconds = FCString::Atoi64(*Trimmed);
			return Seconds > MAX_int64 / 1000 ? MAX_int64 : Seconds * 1000;
		}
		FDateTime When;
		if (FDateTime::ParseHttpDate(Trimmed, When))
		{
			const double Ms = (When - NowUtc).GetTotalMilliseconds();
			return Ms > 0 ? (int64)FMath::CeilToDouble(Ms) : 0;
		}
		return 0;
	}

	namespace
	{
		// Ends Request with what the HTTP module reported, exactly once.
		void Finish(at_request* Request, FHttpResponsePtr Response, bool bConnectedSuccessfully)
		{
			const int32 Code = Response.IsValid() ? Response->GetResponseCode() : 0;
			if (Code >= 100 && Code <= 599)
			{
				// An HTML 2xx page answering a batch is a captive portal's.
				const FString ContentType = Response->GetHeader(TEXT("Content-Type"));
				if (!ContentType.IsEmpty())
				{
					at_request_set_response_content_type(Request, TCHAR_TO_UTF8(*ContentType));
				}
				const int64 RetryAfter = RetryAfterMs(Response->GetHeader(TEXT("Retry-After")), FDateTime::UtcNow());
				at_transport_complete(Request, Code, RetryAfter, nullptr);
				return;
			}
			// No answer. bConnectedSuccessfully: the server was reached and the
			// exchange failed afterwards (counts an attempt); otherwise it was
			// not reached (DNS, no connection, TLS): the hits are kept uncounted.
			at_transport_complete(Request, bConnectedSuccessfully ? AT_TRANSPORT_FAILED : AT_TRANSPORT_UNREACHABLE, 0,
				bConnectedSuccessfully ? "the exchange failed after connecting" : "the server was not reached");
		}
	}

	void Send(at_request* Request, void* /*UserData*/)
	{
		TSharedRef<IHttpRequest, ESPMode::ThreadSafe> Http = FHttpModule::Get().CreateRequest();
		Http->SetURL(UTF8_TO_TCHAR(at_request_url(Request)));
		Http->SetVerb(UTF8_TO_TCHAR(at_request_method(Request)));
		for (size_t Index = 0; Index < at_request_header_count(Request); ++Index)
		{
			Http->SetHeader(UTF8_TO_TCHAR(at_request_header_name(Request, Index)),
				UTF8_TO_TCHAR(at_request_header_value(Request, Index)));
		}
		size_t Length = 0;
		const uint8_t* Body = at_request_body(Request, &Length);
		if (Length > 0)
		{
			// Copied: the request's body lives until it is completed, but the
			// module may read it on its own thread.
			Http->SetContent(TArray<uint8>(Body, (int32)Length));
		}
		Http->SetTimeout(30.0f);
		// Request is ended once: by the delegate (game thread, the module's
		// default) or, when the module refuses to start, here. Some module
		// versions also run the delegate for a refused request; the flag,
		// touched on the game thread only, keeps the second end away from the
		// freed request.
		TSharedRef<bool> bEnded = MakeShared<bool>(false);
		Http->OnProcessRequestComplete().BindLambda(
			[Request, bEnded](FHttpRequestPtr /*Sent*/, FHttpResponsePtr Response, bool bConnectedSuccessfully)
			{
				if (!*bEnded)
				{
					*bEnded = true;
					Finish(Request, Response, bConnectedSuccessfully);
				}
			});
		if (!Http->ProcessRequest() && !*bEnded)
		{
			*bEnded = true;
			at_transport_complete(Request, AT_TRANSPORT_UNREACHABLE, 0, "FHttpModule refused to start the request");
		}
	}
}
