// UAttrackerSubsystem: one attracker tracker per game instance.
//
// Not compiled in the attracker repository (no Unreal Engine there): it mirrors
// the C usage tested there (examples-c/quickstart.c, tests/polled.rs) and the
// Unity binding's tested flow. See bindings/unreal/README.md.
//
// Callbacks run on the game thread: the tracker is created with
// AT_CALLBACKS_POLLED and an FTSTicker calls at_tracker_poll every frame.
// Configure in DefaultGame.ini:
//
//   [/Script/AttrackerRuntime.AttrackerSubsystem]
//   Endpoint=https://collect.example.com
//   ApiKey=pk_live_123
//   ContextJson={"app":{"name":"MyGame","version":"1.2"}}
//   InitialConsent=Pending

#pragma once

#include "CoreMinimal.h"
#include "Containers/Ticker.h"
#include "Subsystems/GameInstanceSubsystem.h"

#include "AttrackerSubsystem.generated.h"

struct at_tracker; // include/at_tracker.h, private to this module
struct at_config;

/** at_offline_mode (values checked against the header in the .cpp). */
UENUM(BlueprintType)
enum class EAttrackerOfflineMode : uint8
{
	Never = 0,    // AT_OFFLINE_NEVER: sent from memory, never stored
	Required = 1, // AT_OFFLINE_REQUIRED: stored before any send (default)
	Always = 2,   // AT_OFFLINE_ALWAYS: stored, sent only by Dispatch
};

/** A stored hit, copied out of an at_hit. */
USTRUCT(BlueprintType)
struct ATTRACKERRUNTIME_API FAttrackerHit
{
	GENERATED_BODY()

	/** Store order, the cursor of OfflineGetPage (at_hit_id). */
	UPROPERTY(BlueprintReadOnly, Category = "Attracker") int64 Id = 0;
	UPROPERTY(BlueprintReadOnly, Category = "Attracker") FString Url;
	UPROPERTY(BlueprintReadOnly, Category = "Attracker") FString Type;
	UPROPERTY(BlueprintReadOnly, Category = "Attracker") FString MessageId;
	/** An event's JSON properties; empty for a URL hit (bIsEvent false). */
	UPROPERTY(BlueprintReadOnly, Category = "Attracker") FString Body;
	UPROPERTY(BlueprintReadOnly, Category = "Attracker") bool bIsEvent = false;
	/** UTC. */
	UPROPERTY(BlueprintReadOnly, Category = "Attracker") FDateTime CreationDate;
	UPROPERTY(BlueprintReadOnly, Category = "Attracker") int32 RetryCount = 0;
	UPROPERTY(BlueprintReadOnly, Category = "Attracker") bool bIsOffline = false;
};

/**
 * at_dispatch_result. Status is an at_status: 0 = AT_OK, 6 = AT_ERR_NETWORK,
 * 10 = AT_ERR_KEY_REJECTED (the collector refused the api key: the hits are
 * kept and sending is paused until SetApiKey), 4 = AT_ERR_SUPPRESSED (the
 * consent is pending: nothing is sent until SetConsent(Granted)), ...
 */
USTRUCT(BlueprintType)
struct ATTRACKERRUNTIME_API FAttrackerDispatchResult
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Attracker") int32 Status = 0;
	UPROPERTY(BlueprintReadOnly, Category = "Attracker") int64 Sent = 0;
	UPROPERTY(BlueprintReadOnly, Category = "Attracker") int64 Failed = 0;
	UPROPERTY(BlueprintReadOnly, Category = "Attracker") int64 Dropped = 0;
};

DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FAttrackerDispatched, const FAttrackerDispatchResult&, Result);

// ---- the analytics client's enumerations (values checked in the .cpp) ----

/** at_consent: the user's consent to collection. */
UENUM(BlueprintType)
enum class EAttrackerConsent : uint8
{
	Granted = 0, // AT_CONSENT_GRANTED: collected and sent (the default)
	Pending = 1, // AT_CONSENT_PENDING: collected and stored; nothing sent, no network at all
	Denied = 2,  // AT_CONSENT_DENIED: everything queued purged; later calls refused
};

/** The AT_RESET_* flags of at_reset (ResetAnalytics), combined with |. */
UENUM(BlueprintType, meta = (Bitflags, UseEnumValuesAsMaskValuesInEditor = "true"))
enum class EAttrackerReset : uint8
{
	None = 0 UMETA(Hidden),
	User = 1,            // AT_RESET_USER: the user id and traits
	AnonymousId = 2,     // AT_RESET_ANONYMOUS_ID: a new anonymous id is made
	Session = 4,         // AT_RESET_SESSION: a new session starts now
	SuperProperties = 8, // AT_RESET_SUPER_PROPERTIES
	All = 15 UMETA(Hidden), // AT_RESET_ALL: all four (a logout)
};
ENUM_CLASS_FLAGS(EAttrackerReset);

UCLASS(Config = Game)
class ATTRACKERRUNTIME_API UAttrackerSubsystem : public UGameInstanceSubsystem
{
	GENERATED_BODY()

public:
	/** Opens <Saved>/Attracker/attracker.db and starts the tracker and its tick. */
	virtual void Initialize(FSubsystemCollectionBase& Collection) override;
	/** Closes with CloseTimeoutMs (pending callbacks run here), then frees. */
	virtual void Deinitialize() override;

	// ---- tracking (false on failure; the reason is logged to LogAttracker) ----

	/** at_track_event: PropertiesJson is a JSON object kept verbatim ("" means {}). */
	UFUNCTION(BlueprintCallable, Category = "Attracker")
	bool TrackEvent(const FString& Type, const FString& PropertiesJson);

	/** at_send_hit: an absolute http(s) URL sent as-is with one GET. */
	UFUNCTION(BlueprintCallable, Category = "Attracker")
	bool SendHit(const FString& Url, const FString& Type);

	/** at_offline_dispatch: every stored hit, now; the tally goes to OnDispatched. */
	UFUNCTION(BlueprintCallable, Category = "Attracker")
	bool Dispatch();

	/** at_flush: what is due now; the tally goes to OnDispatched. */
	UFUNCTION(BlueprintCallable, Category = "Attracker")
	bool Flush();

	UFUNCTION(BlueprintCallable, Category = "Attracker")
	bool SetOfflineMode(EAttrackerOfflineMode Mode);

	UFUNCTION(BlueprintCallable, Category = "Attracker")
	bool SetNetworkReachable(bool bReachable);

	/** at_set_api_key: the key for every request from now on ("" removes it).
	 *  After a refused key (OnDispatched with Status 10) sending resumes with it. */
	UFUNCTION(BlueprintCallable, Category = "Attracker")
	bool SetApiKey(const FString& Key);

	/** at_last_send_error: why the last send failed; empty when it succeeded
	 *  or none failed (or on failure). */
	UFUNCTION(BlueprintCallable, Category = "Attracker")
	FString LastSendError();

	/** Results of Dispatch, Flush and the background flush, on the game thread. */
	UPROPERTY(BlueprintAssignable, Category = "Attracker")
	FAttrackerDispatched OnDispatched;

	// ---- the stored hits: at_offline_* (-1 / empty on failure) ----

	UFUNCTION(BlueprintCallable, Category = "Attracker|Offline")
	TArray<FAttrackerHit> OfflineGet();

	UFUNCTION(BlueprintCallable, Category = "Attracker|Offline")
	TArray<FAttrackerHit> OfflineGetPage(int64 AfterId, int32 Limit);

	/** False when the store is empty (or on failure). */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Offline")
	bool OfflineOldest(FAttrackerHit& OutHit);

	UFUNCTION(BlueprintCallable, Category = "Attracker|Offline")
	bool OfflineLatest(FAttrackerHit& OutHit);

	UFUNCTION(BlueprintCallable, Category = "Attracker|Offline")
	int64 OfflineCount();

	UFUNCTION(BlueprintCallable, Category = "Attracker|Offline")
	int64 OfflineDelete();

	UFUNCTION(BlueprintCallable, Category = "Attracker|Offline")
	int64 OfflineDeleteOlderThanDays(int32 Days);

	/** Deletes hits created before Cutoff (UTC, exclusive). */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Offline")
	int64 OfflineDeleteOlderThan(FDateTime Cutoff);

	// ---- the analytics client: Segment calls, identity, context, sessions,
	// consent (false / -1 / empty on failure, logged to LogAttracker) ----

	/** at_identify: InUserId ("" keeps the current one) becomes the userId of
	 *  every hit from now on; TraitsJson (a JSON object, "" for none) is merged
	 *  over the kept traits. Both kept in the store across restarts. */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	bool Identify(const FString& InUserId, const FString& TraitsJson);

	/** at_user_id: the user id in force; empty when none is set. */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	FString UserId();

	/** at_alias: links the current identity (user id, else anonymous id) to
	 *  NewUserId, which becomes the user id. */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	bool Alias(const FString& NewUserId);

	/** at_group: the user belongs to GroupId; TraitsJson "" for none. */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	bool Group(const FString& GroupId, const FString& TraitsJson);

	/** at_screen: the user saw the screen Name (a level, a menu); PropertiesJson
	 *  "" for none; the super properties are merged in. */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	bool Screen(const FString& Name, const FString& PropertiesJson);

	/** at_reset: forgets what Flags names (EAttrackerReset bits; 15 = all, a
	 *  logout). Hits queued before keep the identity they were tracked with.
	 *  From C++: (int32)(EAttrackerReset::User | EAttrackerReset::AnonymousId). */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	bool ResetAnalytics(UPARAM(meta = (Bitmask, BitmaskEnum = "/Script/AttrackerRuntime.EAttrackerReset")) int32 Flags);

	/** at_set_context: merges a JSON object into the event context (a key set
	 *  to null is removed) for hits from now on; not kept across restarts
	 *  (ContextJson in DefaultGame.ini is the start context). */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	bool SetContext(const FString& InContextJson);

	/** at_register_super_properties: merged into every later TrackEvent and
	 *  Screen (explicit properties win); kept across restarts. */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	bool RegisterSuperProperties(const FString& PropertiesJson);

	/** at_unregister_super_property (one not set is no error). */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	bool UnregisterSuperProperty(const FString& Key);

	/** at_session_start: a new session now (a match, a new visit). */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	bool StartSession();

	/** at_session_id: the Unix ms of the current session's start (sent as
	 *  context.sessionId); -1 on failure. */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	int64 SessionId();

	/** at_set_consent, kept in the store. Returns how many queued hits were
	 *  purged (Denied only; never reported to the collector), -1 on failure.
	 *  Pending: nothing is sent (OnDispatched gets Status 4); Denied: later
	 *  TrackEvent, Screen, Identify, Alias and Group return false. */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	int64 SetConsent(EAttrackerConsent NewConsent);

	/** at_get_consent: false on failure. */
	UFUNCTION(BlueprintCallable, Category = "Attracker|Analytics")
	bool GetConsent(EAttrackerConsent& OutConsent);

	// ---- settings (DefaultGame.ini) ----

	UPROPERTY(Config) FString Endpoint;
	UPROPERTY(Config) FString ApiKey;
	UPROPERTY(Config) EAttrackerOfflineMode OfflineMode = EAttrackerOfflineMode::Required;
	/** at_config_set_max_hit_age_ms: a hit that fails to send when older is
	 *  dropped (default 30 days, the library's; 0 = no limit). */
	UPROPERTY(Config) int64 MaxHitAgeMs = 2592000000LL;
	/** Send window of Deinitialize's at_tracker_close. */
	UPROPERTY(Config) int32 CloseTimeoutMs = 2000;
	/** Time granted to the flush when the app goes to the background. */
	UPROPERTY(Config) int32 BackgroundDeadlineMs = 5000;
	/** Callbacks run per frame at most (0 = all pending). */
	UPROPERTY(Config) int32 MaxCallbacksPerTick = 64;
	/** Send with Unreal's HTTP module (FHttpModule, started in Tick) instead
	 *  of the library's libcurl (default false). Always on for iOS and Android, whose library
	 *  builds have no libcurl. A send that needs the game thread cannot finish
	 *  while Deinitialize's close blocks it: its hits stay stored for the next
	 *  start. */
	UPROPERTY(Config) bool bUseHostTransport = false;

	// ---- the analytics client's settings (DefaultGame.ini) ----

	/** at_config_set_context: the host's part of every event's context, a JSON
	 *  object such as {"app":{"name":"MyGame","version":"1.2"}} ("" for none). */
	UPROPERTY(Config) FString ContextJson;
	/** at_config_set_session_timeouts_ms: inactivity in the foreground, and
	 *  time in the background, after which a hit starts a new session (each
	 *  1000 to 604800000). */
	UPROPERTY(Config) int32 SessionForegroundTimeoutMs = 1800000;
	UPROPERTY(Config) int32 SessionBackgroundTimeoutMs = 300000;
	/** at_config_set_track_session_events: "Session Started" / "Session Ended". */
	UPROPERTY(Config) bool bTrackSessionEvents = false;
	/** at_config_set_initial_consent: the consent of a new store until
	 *  SetConsent (e.g. Pending until the player answers the prompt). */
	UPROPERTY(Config) EAttrackerConsent InitialConsent = EAttrackerConsent::Granted;

private:
	bool Tick(float DeltaTime);
	bool Check(uint32 Status, const TCHAR* What) const;
	void OnEnterBackground();
	void OnEnterForeground();
	bool ConfigureAnalytics(at_config* Config) const;

	at_tracker* Tracker = nullptr;
	FTSTicker::FDelegateHandle TickHandle;
	FDelegateHandle BackgroundHandle;
	FDelegateHandle ForegroundHandle;
};
