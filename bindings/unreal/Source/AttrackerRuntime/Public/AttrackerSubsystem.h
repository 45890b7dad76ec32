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

#pragma once

#include "CoreMinimal.h"
#include "Containers/Ticker.h"
#include "Subsystems/GameInstanceSubsystem.h"

#include "AttrackerSubsystem.generated.h"

struct at_tracker; // include/at_tracker.h, private to this module

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
 * kept and sending is paused until SetApiKey), ...
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

private:
	bool Tick(float DeltaTime);
	bool Check(uint32 Status, const TCHAR* What) const;
	void OnEnterBackground();
	void OnEnterForeground();

	at_tracker* Tracker = nullptr;
	FTSTicker::FDelegateHandle TickHandle;
	FDelegateHandle BackgroundHandle;
	FDelegateHandle ForegroundHandle;
};
