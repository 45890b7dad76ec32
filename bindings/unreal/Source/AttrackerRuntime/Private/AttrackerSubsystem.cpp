// Not compiled in the attracker repository: see bindings/unreal/README.md.
// The C calls follow examples-c/quickstart.c (configure, track, inspect,
// dispatch, delete) and tests/polled.rs (AT_CALLBACKS_POLLED + at_tracker_poll).

#include "AttrackerSubsystem.h"

#include "AttrackerHttpTransport.h"

#include "Misc/CoreDelegates.h"
#include "Misc/Paths.h"

#include "at_tracker.h"

DEFINE_LOG_CATEGORY_STATIC(LogAttracker, Log, All);

static_assert((uint8)EAttrackerOfflineMode::Never == AT_OFFLINE_NEVER, "EAttrackerOfflineMode::Never");
static_assert((uint8)EAttrackerOfflineMode::Required == AT_OFFLINE_REQUIRED, "EAttrackerOfflineMode::Required");
static_assert((uint8)EAttrackerOfflineMode::Always == AT_OFFLINE_ALWAYS, "EAttrackerOfflineMode::Always");
static_assert((uint8)EAttrackerConsent::Granted == AT_CONSENT_GRANTED, "EAttrackerConsent::Granted");
static_assert((uint8)EAttrackerConsent::Pending == AT_CONSENT_PENDING, "EAttrackerConsent::Pending");
static_assert((uint8)EAttrackerConsent::Denied == AT_CONSENT_DENIED, "EAttrackerConsent::Denied");
static_assert((uint8)EAttrackerReset::User == AT_RESET_USER, "EAttrackerReset::User");
static_assert((uint8)EAttrackerReset::AnonymousId == AT_RESET_ANONYMOUS_ID, "EAttrackerReset::AnonymousId");
static_assert((uint8)EAttrackerReset::Session == AT_RESET_SESSION, "EAttrackerReset::Session");
static_assert((uint8)EAttrackerReset::SuperProperties == AT_RESET_SUPER_PROPERTIES, "EAttrackerReset::SuperProperties");
static_assert((uint8)EAttrackerReset::All == AT_RESET_ALL, "EAttrackerReset::All");

namespace
{
	const FDateTime UnixEpoch(1970, 1, 1);

	FDateTime FromUnixMs(int64 Ms) { return UnixEpoch + FTimespan::FromMilliseconds((double)Ms); }

	int64 ToUnixMs(const FDateTime& Utc) { return (int64)(Utc - UnixEpoch).GetTotalMilliseconds(); }

	// Strings from a hit are owned by it: copy them before it is freed.
	FAttrackerHit CopyHit(const at_hit* Hit)
	{
		FAttrackerHit Out;
		Out.Id = (int64)at_hit_id(Hit);
		Out.Url = UTF8_TO_TCHAR(at_hit_url(Hit));
		Out.Type = UTF8_TO_TCHAR(at_hit_type(Hit));
		Out.MessageId = UTF8_TO_TCHAR(at_hit_message_id(Hit));
		const char* Body = at_hit_body(Hit); // NULL for a URL hit
		Out.bIsEvent = Body != nullptr;
		Out.Body = Body != nullptr ? FString(UTF8_TO_TCHAR(Body)) : FString();
		Out.CreationDate = FromUnixMs(at_hit_creation_date_ms(Hit));
		Out.RetryCount = (int32)at_hit_retry_count(Hit);
		Out.bIsOffline = at_hit_is_offline(Hit);
		return Out;
	}

	// Takes ownership of List.
	TArray<FAttrackerHit> CopyList(at_hit_list* List)
	{
		TArray<FAttrackerHit> Out;
		const size_t Count = at_hit_list_len(List);
		Out.Reserve((int32)Count);
		for (size_t Index = 0; Index < Count; ++Index)
		{
			Out.Add(CopyHit(at_hit_list_get(List, Index)));
		}
		at_hit_list_free(List);
		return Out;
	}

	// Polled mode: every callback below runs on the game thread, inside
	// at_tracker_poll (Tick) or at_tracker_close (Deinitialize).
	void LogLine(at_log_level Level, const char* Message, void* /*UserData*/)
	{
		const FString Line = UTF8_TO_TCHAR(Message);
		switch (Level)
		{
		case AT_LOG_ERROR: UE_LOG(LogAttracker, Error, TEXT("%s"), *Line); break;
		case AT_LOG_WARN: UE_LOG(LogAttracker, Warning, TEXT("%s"), *Line); break;
		case AT_LOG_INFO: UE_LOG(LogAttracker, Log, TEXT("%s"), *Line); break;
		default: UE_LOG(LogAttracker, Verbose, TEXT("%s"), *Line); break;
		}
	}

	// UserData is the subsystem: it outlives every callback, since callbacks
	// run only from its Tick or from the close in its Deinitialize.
	void Dispatched(const at_dispatch_result* Result, void* UserData)
	{
		FAttrackerDispatchResult Out;
		Out.Status = (int32)Result->status;
		Out.Sent = (int64)Result->sent;
		Out.Failed = (int64)Result->failed;
		Out.Dropped = (int64)Result->dropped;
		static_cast<UAttrackerSubsystem*>(UserData)->OnDispatched.Broadcast(Out);
	}
}

bool UAttrackerSubsystem::Check(uint32 Status, const TCHAR* What) const
{
	if (Status == AT_OK)
	{
		return true;
	}
	// at_last_error() is per thread: read it right after the failing call.
	UE_LOG(LogAttracker, Warning, TEXT("%s: %s: %s"), What, UTF8_TO_TCHAR(at_status_str(Status)),
		UTF8_TO_TCHAR(at_last_error()));
	return false;
}

void UAttrackerSubsystem::Initialize(FSubsystemCollectionBase& Collection)
{
	Super::Initialize(Collection);

	const FString Db = FPaths::ConvertRelativePathToFull(FPaths::ProjectSavedDir() / TEXT("Attracker") / TEXT("attracker.db"));
	at_config* Config = at_config_new();
	if (Config == nullptr)
	{
		return;
	}
	// Strings are borrowed for the call only: the converters live long enough.
	const bool bConfigured =
		Check(at_config_set_storage_path(Config, TCHAR_TO_UTF8(*Db)), TEXT("at_config_set_storage_path"))
		&& Check(at_config_set_endpoint(Config, TCHAR_TO_UTF8(*Endpoint)), TEXT("at_config_set_endpoint"))
		&& Check(at_config_set_api_key(Config, TCHAR_TO_UTF8(*ApiKey)), TEXT("at_config_set_api_key"))
		&& Check(at_config_set_offline_mode(Config, (at_offline_mode)OfflineMode), TEXT("at_config_set_offline_mode"))
		&& Check(at_config_set_max_hit_age_ms(Config, (uint64_t)FMath::Max<int64>(0, MaxHitAgeMs)), TEXT("at_config_set_max_hit_age_ms"))
		&& Check(at_config_set_callback_mode(Config, AT_CALLBACKS_POLLED), TEXT("at_config_set_callback_mode"))
		&& Check(at_config_set_log_callback(Config, &LogLine, nullptr, AT_LOG_INFO), TEXT("at_config_set_log_callback"))
		// Unreal's HTTP module instead of libcurl: always on iOS and Android,
		// whose library builds have no libcurl; bUseHostTransport elsewhere.
		// Started in Tick (polled mode), so on the game thread.
		&& (!(bUseHostTransport || PLATFORM_IOS || PLATFORM_ANDROID)
			|| Check(at_config_set_transport(Config, &AttrackerHttp::Send, nullptr), TEXT("at_config_set_transport")))
		&& ConfigureAnalytics(Config)
		&& Check(at_tracker_new(Config, &Tracker), TEXT("at_tracker_new"));
	at_config_free(Config); // the tracker keeps a copy
	if (!bConfigured)
	{
		Tracker = nullptr; // at_tracker_new writes it only on success
		return;
	}

	TickHandle = FTSTicker::GetCoreTicker().AddTicker(FTickerDelegate::CreateUObject(this, &UAttrackerSubsystem::Tick));
	BackgroundHandle = FCoreDelegates::ApplicationWillEnterBackgroundDelegate.AddUObject(this, &UAttrackerSubsystem::OnEnterBackground);
	ForegroundHandle = FCoreDelegates::ApplicationHasEnteredForegroundDelegate.AddUObject(this, &UAttrackerSubsystem::OnEnterForeground);
}

void UAttrackerSubsystem::Deinitialize()
{
	FCoreDelegates::ApplicationWillEnterBackgroundDelegate.Remove(BackgroundHandle);
	FCoreDelegates::ApplicationHasEnteredForegroundDelegate.Remove(ForegroundHandle);
	if (TickHandle.IsValid())
	{
		FTSTicker::GetCoreTicker().RemoveTicker(TickHandle);
		TickHandle.Reset();
	}
	if (Tracker != nullptr)
	{
		// Stops accepting hits, sends what it can within the timeout, runs the
		// callbacks still pending here (OnDispatched may fire), joins the
		// library's threads. Every accepted hit is already on disk.
		at_tracker_close(Tracker, (uint32)FMath::Max(0, CloseTimeoutMs));
		at_tracker_free(Tracker);
		Tracker = nullptr;
	}
	Super::Deinitialize();
}

bool UAttrackerSubsystem::Tick(float /*DeltaTime*/)
{
	if (Tracker != nullptr)
	{
		at_tracker_poll(Tracker, (uint32)FMath::Max(0, MaxCallbacksPerTick)); // callbacks run here
	}
	return true; // keep ticking
}

void UAttrackerSubsystem::OnEnterBackground()
{
	if (Tracker != nullptr)
	{
		Check(at_app_did_enter_background(Tracker, (uint32)FMath::Max(0, BackgroundDeadlineMs), &Dispatched, this),
			TEXT("at_app_did_enter_background"));
	}
}

void UAttrackerSubsystem::OnEnterForeground()
{
	if (Tracker != nullptr)
	{
		Check(at_app_will_enter_foreground(Tracker), TEXT("at_app_will_enter_foreground"));
	}
}

// ---- tracking ------------------------------------------------------------------

bool UAttrackerSubsystem::TrackEvent(const FString& Type, const FString& PropertiesJson)
{
	if (Tracker == nullptr)
	{
		return false;
	}
	const FTCHARToUTF8 TypeUtf8(*Type);
	const FTCHARToUTF8 PropertiesUtf8(*PropertiesJson);
	// On AT_OK the hit is committed to disk (default durability).
	return Check(at_track_event(Tracker, TypeUtf8.Get(), PropertiesJson.IsEmpty() ? nullptr : PropertiesUtf8.Get(), nullptr, nullptr),
		TEXT("at_track_event"));
}

bool UAttrackerSubsystem::SendHit(const FString& Url, const FString& Type)
{
	if (Tracker == nullptr)
	{
		return false;
	}
	const FTCHARToUTF8 UrlUtf8(*Url);
	const FTCHARToUTF8 TypeUtf8(*Type);
	return Check(at_send_hit(Tracker, UrlUtf8.Get(), Type.IsEmpty() ? nullptr : TypeUtf8.Get(), nullptr, nullptr),
		TEXT("at_send_hit"));
}

bool UAttrackerSubsystem::Dispatch()
{
	return Tracker != nullptr && Check(at_offline_dispatch(Tracker, &Dispatched, this), TEXT("at_offline_dispatch"));
}

bool UAttrackerSubsystem::Flush()
{
	return Tracker != nullptr && Check(at_flush(Tracker, &Dispatched, this), TEXT("at_flush"));
}

bool UAttrackerSubsystem::SetOfflineMode(EAttrackerOfflineMode Mode)
{
	return Tracker != nullptr
		&& Check(at_set_offline_mode(Tracker, (at_offline_mode)Mode, nullptr, nullptr), TEXT("at_set_offline_mode"));
}

bool UAttrackerSubsystem::SetNetworkReachable(bool bReachable)
{
	return Tracker != nullptr && Check(at_set_network_reachable(Tracker, bReachable), TEXT("at_set_network_reachable"));
}

bool UAttrackerSubsystem::SetApiKey(const FString& Key)
{
	if (Tracker == nullptr)
	{
		return false;
	}
	const FTCHARToUTF8 KeyUtf8(*Key);
	return Check(at_set_api_key(Tracker, KeyUtf8.Get()), TEXT("at_set_api_key"));
}

FString UAttrackerSubsystem::LastSendError()
{
	char* Message = nullptr; // owned: at_string_free
	if (Tracker == nullptr || !Check(at_last_send_error(Tracker, &Message), TEXT("at_last_send_error")) || Message == nullptr)
	{
		return FString();
	}
	FString Out = UTF8_TO_TCHAR(Message);
	at_string_free(Message);
	return Out;
}

// ---- the stored hits -------------------------------------------------------------

TArray<FAttrackerHit> UAttrackerSubsystem::OfflineGet()
{
	at_hit_list* List = nullptr;
	if (Tracker == nullptr || !Check(at_offline_get(Tracker, &List), TEXT("at_offline_get")))
	{
		return {};
	}
	return CopyList(List);
}

TArray<FAttrackerHit> UAttrackerSubsystem::OfflineGetPage(int64 AfterId, int32 Limit)
{
	at_hit_list* List = nullptr;
	if (Tracker == nullptr
		|| !Check(at_offline_get_page(Tracker, (uint64)FMath::Max<int64>(0, AfterId), (uint32)FMath::Max(0, Limit), &List),
			TEXT("at_offline_get_page")))
	{
		return {};
	}
	return CopyList(List); // empty: the end
}

bool UAttrackerSubsystem::OfflineOldest(FAttrackerHit& OutHit)
{
	at_hit* Hit = nullptr;
	if (Tracker == nullptr || !Check(at_offline_oldest(Tracker, &Hit), TEXT("at_offline_oldest")) || Hit == nullptr)
	{
		return false;
	}
	OutHit = CopyHit(Hit);
	at_hit_free(Hit);
	return true;
}

bool UAttrackerSubsystem::OfflineLatest(FAttrackerHit& OutHit)
{
	at_hit* Hit = nullptr;
	if (Tracker == nullptr || !Check(at_offline_latest(Tracker, &Hit), TEXT("at_offline_latest")) || Hit == nullptr)
	{
		return false;
	}
	OutHit = CopyHit(Hit);
	at_hit_free(Hit);
	return true;
}

int64 UAttrackerSubsystem::OfflineCount()
{
	uint64_t Count = 0;
	return Tracker != nullptr && Check(at_offline_count(Tracker, &Count), TEXT("at_offline_count")) ? (int64)Count : -1;
}

int64 UAttrackerSubsystem::OfflineDelete()
{
	uint64_t Deleted = 0;
	return Tracker != nullptr && Check(at_offline_delete(Tracker, &Deleted), TEXT("at_offline_delete")) ? (int64)Deleted : -1;
}

int64 UAttrackerSubsystem::OfflineDeleteOlderThanDays(int32 Days)
{
	uint64_t Deleted = 0;
	return Tracker != nullptr && Days >= 0
			&& Check(at_offline_delete_older_than_days(Tracker, (uint32)Days, &Deleted), TEXT("at_offline_delete_older_than_days"))
		? (int64)Deleted
		: -1;
}

int64 UAttrackerSubsystem::OfflineDeleteOlderThan(FDateTime Cutoff)
{
	uint64_t Deleted = 0;
	return Tracker != nullptr
			&& Check(at_offline_delete_older_than(Tracker, ToUnixMs(Cutoff), &Deleted), TEXT("at_offline_delete_older_than"))
		? (int64)Deleted
		: -1;
}

// ---- the analytics client ---------------------------------------------------------
// The C calls follow tests/analytics.rs; the C++ wrapper's analytics_* tests
// (bindings/cpp/tests/test_wrapper.cpp) make the same calls against the test
// collector. Strings: "" means NULL where the C function takes an optional one.

bool UAttrackerSubsystem::ConfigureAnalytics(at_config* Config) const
{
	const FTCHARToUTF8 ContextUtf8(*ContextJson);
	return (ContextJson.IsEmpty() || Check(at_config_set_context(Config, ContextUtf8.Get()), TEXT("at_config_set_context")))
		&& Check(at_config_set_session_timeouts_ms(Config, (uint32)FMath::Max(0, SessionForegroundTimeoutMs),
				(uint32)FMath::Max(0, SessionBackgroundTimeoutMs)),
			TEXT("at_config_set_session_timeouts_ms"))
		&& Check(at_config_set_track_session_events(Config, bTrackSessionEvents), TEXT("at_config_set_track_session_events"))
		&& Check(at_config_set_initial_consent(Config, (at_consent)InitialConsent), TEXT("at_config_set_initial_consent"));
}

bool UAttrackerSubsystem::Identify(const FString& InUserId, const FString& TraitsJson)
{
	if (Tracker == nullptr)
	{
		return false;
	}
	const FTCHARToUTF8 UserUtf8(*InUserId);
	const FTCHARToUTF8 TraitsUtf8(*TraitsJson);
	// On AT_OK the user id and traits are stored and the identify call committed.
	return Check(at_identify(Tracker, InUserId.IsEmpty() ? nullptr : UserUtf8.Get(),
					 TraitsJson.IsEmpty() ? nullptr : TraitsUtf8.Get(), nullptr, nullptr),
		TEXT("at_identify"));
}

FString UAttrackerSubsystem::UserId()
{
	char* Id = nullptr; // owned: at_string_free; NULL when no user id is set
	if (Tracker == nullptr || !Check(at_user_id(Tracker, &Id), TEXT("at_user_id")) || Id == nullptr)
	{
		return FString();
	}
	FString Out = UTF8_TO_TCHAR(Id);
	at_string_free(Id);
	return Out;
}

bool UAttrackerSubsystem::Alias(const FString& NewUserId)
{
	if (Tracker == nullptr)
	{
		return false;
	}
	const FTCHARToUTF8 UserUtf8(*NewUserId);
	return Check(at_alias(Tracker, UserUtf8.Get(), nullptr, nullptr), TEXT("at_alias"));
}

bool UAttrackerSubsystem::Group(const FString& GroupId, const FString& TraitsJson)
{
	if (Tracker == nullptr)
	{
		return false;
	}
	const FTCHARToUTF8 GroupUtf8(*GroupId);
	const FTCHARToUTF8 TraitsUtf8(*TraitsJson);
	return Check(at_group(Tracker, GroupUtf8.Get(), TraitsJson.IsEmpty() ? nullptr : TraitsUtf8.Get(), nullptr, nullptr),
		TEXT("at_group"));
}

bool UAttrackerSubsystem::Screen(const FString& Name, const FString& PropertiesJson)
{
	if (Tracker == nullptr)
	{
		return false;
	}
	const FTCHARToUTF8 NameUtf8(*Name);
	const FTCHARToUTF8 PropertiesUtf8(*PropertiesJson);
	return Check(at_screen(Tracker, NameUtf8.Get(), PropertiesJson.IsEmpty() ? nullptr : PropertiesUtf8.Get(), nullptr, nullptr),
		TEXT("at_screen"));
}

bool UAttrackerSubsystem::ResetAnalytics(int32 Flags)
{
	// No flag, or one outside AT_RESET_ALL, is AT_ERR_INVALID_ARGUMENT (logged).
	return Tracker != nullptr && Check(at_reset(Tracker, (uint32_t)Flags), TEXT("at_reset"));
}

bool UAttrackerSubsystem::SetContext(const FString& InContextJson)
{
	if (Tracker == nullptr)
	{
		return false;
	}
	const FTCHARToUTF8 ContextUtf8(*InContextJson);
	return Check(at_set_context(Tracker, ContextUtf8.Get()), TEXT("at_set_context"));
}

bool UAttrackerSubsystem::RegisterSuperProperties(const FString& PropertiesJson)
{
	if (Tracker == nullptr)
	{
		return false;
	}
	const FTCHARToUTF8 PropertiesUtf8(*PropertiesJson);
	return Check(at_register_super_properties(Tracker, PropertiesUtf8.Get()), TEXT("at_register_super_properties"));
}

bool UAttrackerSubsystem::UnregisterSuperProperty(const FString& Key)
{
	if (Tracker == nullptr)
	{
		return false;
	}
	const FTCHARToUTF8 KeyUtf8(*Key);
	return Check(at_unregister_super_property(Tracker, KeyUtf8.Get()), TEXT("at_unregister_super_property"));
}

bool UAttrackerSubsystem::StartSession()
{
	return Tracker != nullptr && Check(at_session_start(Tracker), TEXT("at_session_start"));
}

int64 UAttrackerSubsystem::SessionId()
{
	int64_t Id = 0;
	return Tracker != nullptr && Check(at_session_id(Tracker, &Id), TEXT("at_session_id")) ? (int64)Id : -1;
}

int64 UAttrackerSubsystem::SetConsent(EAttrackerConsent NewConsent)
{
	uint64_t Purged = 0;
	return Tracker != nullptr && Check(at_set_consent(Tracker, (at_consent)NewConsent, &Purged), TEXT("at_set_consent"))
		? (int64)Purged
		: -1;
}

bool UAttrackerSubsystem::GetConsent(EAttrackerConsent& OutConsent)
{
	at_consent Consent = AT_CONSENT_GRANTED;
	if (Tracker == nullptr || !Check(at_get_consent(Tracker, &Consent), TEXT("at_get_consent")))
	{
		return false;
	}
	OutConsent = (EAttrackerConsent)Consent;
	return true;
}
