// attracker for Unity (and any Mono / IL2CPP / .NET host): the friendly API over
// the C ABI in include/at_tracker.h. The P/Invoke declarations and the
// SafeHandle owners are in Native.cs.
//
//   var tracker = Tracker.Create(new TrackerConfig {
//       StoragePath = Path.Combine(Application.persistentDataPath, "attracker.db"),
//       Endpoint = "https://collect.example.com",
//   });
//   tracker.TrackEvent("screen_view", "{\"screen\":\"home\"}", status => Debug.Log(status));
//   void Update() { tracker.Poll(); }          // completions run here, on the main thread
//   void OnApplicationQuit() { tracker.Close(2000); tracker.Dispose(); }
//
// Callbacks: a tracker made here defaults to CallbackMode.Polled, so every
// completion, dispatch result, log line and drop notice waits until the host
// calls Poll() and then runs on the thread that polls (Unity's main thread when
// Poll is called from Update), where Unity's API may be used. With
// CallbackMode.Thread they run on the library's callback thread instead.

using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;

namespace Attracker
{
    /// <summary>at_status: the result of every fallible call (values from the header).</summary>
    public enum Status : uint
    {
        Ok = 0,
        NullArgument = 1,
        InvalidArgument = 2,
        TooLarge = 3,
        Suppressed = 4,
        Storage = 5,
        Network = 6,
        Cancelled = 7,
        Closed = 8,
        Internal = 9,
        /// <summary>
        /// The collector refused the api key (HTTP 401 or 403): the hits are kept
        /// and automatic sending is paused until Tracker.SetApiKey or the next start.
        /// </summary>
        KeyRejected = 10,
    }

    /// <summary>at_offline_mode: when hits are written to disk.</summary>
    public enum OfflineMode : uint
    {
        /// <summary>Never stored: sent from memory, dropped (and reported) when unreachable.</summary>
        Never = 0,
        /// <summary>The default: committed to disk before any send, deleted once acknowledged.</summary>
        Required = 1,
        /// <summary>Stored and never sent automatically; only Dispatch sends them.</summary>
        Always = 2,
    }

    /// <summary>at_durability: when a track call returns relative to the commit of its hit.</summary>
    public enum Durability : uint
    {
        OnReturn = 0,
        Batched = 1,
    }

    /// <summary>at_synchronous: SQLite's synchronous setting.</summary>
    public enum Synchronous : uint
    {
        Normal = 0,
        Full = 1,
    }

    /// <summary>at_opt_out_policy: what opting out does with hits already queued.</summary>
    public enum OptOutPolicy : uint
    {
        /// <summary>They stay queued and are sent as usual.</summary>
        Keep = 0,
        /// <summary>Every queued hit is deleted (reported as Deleted).</summary>
        Purge = 1,
    }

    /// <summary>at_callback_mode: where callbacks run.</summary>
    public enum CallbackMode : uint
    {
        /// <summary>On the library's callback thread (no Unity API there).</summary>
        Thread = 0,
        /// <summary>Queued until Tracker.Poll, then run on the polling thread. The default here.</summary>
        Polled = 1,
    }

    /// <summary>at_log_level, most severe first.</summary>
    public enum LogLevel : uint
    {
        Error = 0,
        Warn = 1,
        Info = 2,
        Debug = 3,
    }

    /// <summary>at_drop_reason: why hits left the store without an acknowledgement.</summary>
    public enum DropReason : uint
    {
        Overflow = 0,
        Corrupt = 1,
        Deleted = 2,
        StorageFailed = 3,
        Unsent = 4,
        Rejected = 5,
        AttemptsExhausted = 6,
        Unreachable = 7,
        TooLarge = 8,
        /// <summary>It failed to send and was older than TrackerConfig.MaxHitAgeMs (default 30 days).</summary>
        Expired = 9,
        /// <summary>Purged when the user denied consent (Tracker.SetConsent(Consent.Denied)); never reported to the collector.</summary>
        ConsentDenied = 10,
    }

    /// <summary>at_auth_scheme: how the api key is presented to the collector.</summary>
    public enum AuthScheme : uint
    {
        Bearer = 0,
        Basic = 1,
    }

    /// <summary>at_consent: the user's consent to collection (Tracker.SetConsent).</summary>
    public enum Consent : uint
    {
        /// <summary>The default: collected and sent.</summary>
        Granted = 0,
        /// <summary>Not answered yet: collected and stored, nothing sent (no network at all).</summary>
        Pending = 1,
        /// <summary>Refused: everything queued is purged, later calls fail with Suppressed.</summary>
        Denied = 2,
    }

    /// <summary>AT_RESET_* flags: what Tracker.Reset forgets, combined with |.</summary>
    [Flags]
    public enum ResetFlags : uint
    {
        /// <summary>The user id and traits.</summary>
        User = 1,
        /// <summary>The anonymous id (the visitor id): a new one is made.</summary>
        AnonymousId = 2,
        /// <summary>The session: a new one starts now.</summary>
        Session = 4,
        /// <summary>The super properties.</summary>
        SuperProperties = 8,
        /// <summary>All of the above (a logout).</summary>
        All = 15,
    }

    /// <summary>
    /// TransportRequest.Fail's http_status: AT_TRANSPORT_UNREACHABLE (the server
    /// was not reached: no attempt counted) and AT_TRANSPORT_FAILED (reached, then
    /// the exchange failed: counts as an attempt).
    /// </summary>
    public static class TransportStatus
    {
        public const int Unreachable = 0;
        public const int Failed = -1;
    }

    /// <summary>
    /// Limits the library enforces on tracked events: AT_MAX_JSON_DEPTH (nesting
    /// of objects and arrays in properties) and AT_MAX_TYPE_BYTES (event type).
    /// </summary>
    public static class Limits
    {
        public const int MaxJsonDepth = 128;
        public const int MaxTypeBytes = 256;
    }

    /// <summary>
    /// A failed call of the friendly API: the status and at_last_error() of the
    /// thread that made the call (which names the C function and the cause).
    /// </summary>
    public sealed class AttrackerException : Exception
    {
        public Status Code { get; }
        public string NativeMessage { get; }

        public AttrackerException(Status code, string nativeMessage)
            : base(Native.StatusName((uint)code) + ": " + (string.IsNullOrEmpty(nativeMessage) ? "(no message)" : nativeMessage))
        {
            Code = code;
            NativeMessage = nativeMessage;
        }

        /// <summary>Throws for anything but Ok; call right after the failing call, on its thread.</summary>
        internal static void Check(uint status)
        {
            if (status != 0)
                throw new AttrackerException((Status)status, Native.LastError());
        }
    }

    /// <summary>Outcome of Flush / Dispatch (at_dispatch_result). Counts are hits.</summary>
    public struct DispatchResult
    {
        /// <summary>
        /// Ok when nothing failed; Network when a failure stopped the run (also a
        /// collector not reached, e.g. a captive portal's page); KeyRejected when
        /// the collector refused the api key (sending paused until
        /// Tracker.SetApiKey); Cancelled; Storage.
        /// </summary>
        public Status Status;
        /// <summary>Acknowledged by the collector (and deleted).</summary>
        public long Sent;
        /// <summary>Attempts that reached the server and failed; they stay queued.</summary>
        public long Failed;
        /// <summary>Dropped by policy during the run.</summary>
        public long Dropped;

        public override string ToString() =>
            $"{Status}: sent {Sent}, failed {Failed}, dropped {Dropped}";
    }

    /// <summary>A stored hit, copied out of the library (no native memory is kept).</summary>
    public sealed class Hit
    {
        internal static readonly long UnixEpochTicks = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

        /// <summary>Store order; the cursor of Offline.GetPage.</summary>
        public ulong Id { get; private set; }
        /// <summary>A URL hit's URL; for an event, the batch URL it is posted to.</summary>
        public string Url { get; private set; }
        /// <summary>The event name or hit type ("" for a URL hit sent without one).</summary>
        public string Type { get; private set; }
        /// <summary>UUID v4: the collector's deduplication key.</summary>
        public string MessageId { get; private set; }
        /// <summary>An event's JSON properties as given; null for URL hits.</summary>
        public string Body { get; private set; }
        public long CreationDateMs { get; private set; }
        /// <summary>Creation time, UTC.</summary>
        public DateTime CreationDate => new DateTime(UnixEpochTicks + CreationDateMs * TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
        /// <summary>Failed send attempts that reached the server.</summary>
        public uint RetryCount { get; private set; }
        /// <summary>Stored because it could not be sent (ALWAYS mode, unreachable, network down).</summary>
        public bool IsOffline { get; private set; }
        public bool IsEvent => Body != null;

        /// <summary>Copies a borrowed at_hit*; its owner must stay alive during the call.</summary>
        internal static Hit Read(IntPtr hit)
        {
            if (hit == IntPtr.Zero)
                return null;
            return new Hit
            {
                Id = Native.at_hit_id(hit),
                Url = Native.FromUtf8(Native.at_hit_url(hit)),
                Type = Native.FromUtf8(Native.at_hit_type(hit)),
                MessageId = Native.FromUtf8(Native.at_hit_message_id(hit)),
                Body = Native.FromUtf8(Native.at_hit_body(hit)),
                CreationDateMs = Native.at_hit_creation_date_ms(hit),
                RetryCount = Native.at_hit_retry_count(hit),
                IsOffline = Native.at_hit_is_offline(hit),
            };
        }

        public override string ToString() =>
            $"#{Id} {Type} {MessageId} {(IsEvent ? "POST " + Url + " " + Body : "GET " + Url)}";
    }

    /// <summary>Counters since the tracker started (at_stats).</summary>
    public sealed class TrackerStats
    {
        public long Queued, Sent, Failed, DroppedOverflow, DroppedCorrupt, Deleted, DroppedStorage,
            DroppedUnsent, Committed, BytesOnDisk, DroppedRejected, DroppedAttempts,
            DroppedUnreachable, DroppedTooLarge, Requests;
        /// <summary>Hits that failed to send when older than MaxHitAgeMs (DropReason.Expired).</summary>
        public long DroppedExpired;
        /// <summary>
        /// 401 or 403 while automatic sending is paused because the collector
        /// refused the api key (until Tracker.SetApiKey); 0 otherwise.
        /// </summary>
        public long KeyRejected;
        /// <summary>
        /// Requests that did not reach the collector (no network, TLS, proxy,
        /// captive portal); none counts as an attempt.
        /// </summary>
        public long NotReached;
        /// <summary>Hits purged because the user denied consent (DropReason.ConsentDenied).</summary>
        public long DroppedConsent;
        /// <summary>
        /// The longest any tracking call waited for room in the in-memory
        /// queue (batched durability), in microseconds.
        /// </summary>
        public long LongestWaitUs;
        /// <summary>The largest the store's write-ahead log grew since start, in bytes.</summary>
        public long WalPeakBytes;
    }

    /// <summary>
    /// Tracker settings. StoragePath and Endpoint are required; every setting left
    /// null keeps the library's default (README "Configuration defaults").
    /// </summary>
    public sealed class TrackerConfig
    {
        /// <summary>Required: the SQLite file, e.g. Path.Combine(Application.persistentDataPath, "attracker.db").</summary>
        public string StoragePath;
        /// <summary>Required: the collector's base URL; events go to {Endpoint}/v1/batch.</summary>
        public string Endpoint;
        public string ApiKey;
        public AuthScheme? AuthScheme;
        public OfflineMode? OfflineMode;
        public Durability? Durability;
        public Synchronous? Synchronous;
        public uint? FlushIntervalMs;
        public uint? FlushThreshold;
        public uint? MaxQueueSize;
        public ulong? MaxStoreBytes;
        public uint? MaxEventBytes;
        /// <summary>
        /// Failed attempts that reached the collector before a hit is dropped
        /// (DropReason.AttemptsExhausted). Library default 0: unlimited, a hit is
        /// retried until delivered or older than MaxHitAgeMs.
        /// </summary>
        public uint? MaxAttempts;
        /// <summary>
        /// Age in ms past which a hit that fails to send is dropped
        /// (DropReason.Expired). Library default 2592000000 (30 days); 0 = no limit.
        /// </summary>
        public ulong? MaxHitAgeMs;
        /// <summary>
        /// Whether drops of stored hits are reported to the collector as events named
        /// "Attracker Hits Dropped", stored like any hit, so it can account for every
        /// hit the store accepted. Library default true.
        /// </summary>
        public bool? ReportDrops;
        public uint? MaxBatchEvents;
        public uint? MaxBatchBytes;
        public bool? Gzip;
        public uint? ConnectTimeoutMs;
        public uint? RequestTimeoutMs;
        public uint? CommitWindowMs;
        public uint? BusyTimeoutMs;
        /// <summary>Record "Application Backgrounded" / "Application Opened" (default true).</summary>
        public bool? TrackLifecycleEvents;
        /// <summary>AppDidEnterBackground flushes within its deadline (default true).</summary>
        public bool? FlushOnBackground;
        /// <summary>
        /// A private CA: the collector's certificate must chain to a certificate in
        /// this PEM file, and the system's CAs are no longer trusted. Checked when
        /// the tracker is created (readable, with a certificate); libcurl only.
        /// Set this or CaBundlePem, not both.
        /// </summary>
        public string CaBundlePath;
        /// <summary>A private CA as PEM text (e.g. a TextAsset's text); as CaBundlePath.</summary>
        public string CaBundlePem;
        /// <summary>
        /// Pinned keys, "sha256//&lt;base64&gt;[;sha256//&lt;base64&gt;]" (SHA-256 of the
        /// key's SubjectPublicKeyInfo). A mismatch sends nothing, keeps the hits
        /// uncounted and logs an Error. libcurl only.
        /// </summary>
        public string PinnedPublicKeys;

        /// <summary>
        /// The host's HTTP stack instead of libcurl (e.g. UnityWebRequest): called
        /// for each request like any callback (from Poll in polled mode, so on
        /// Unity's main thread); it must start the request, return at once, and
        /// later end it with Complete or Fail, from any thread, exactly once.
        /// If it throws, the request is failed as unreachable (nothing counted).
        /// </summary>
        public Action<TransportRequest> Transport;

        /// <summary>
        /// An HTTP stack driven from Poll, instead of libcurl: UnityWebRequestTransport
        /// in Unity (required on iOS and Android, where the native library has no
        /// libcurl), HttpClientTransport outside Unity. Begin runs inside Poll;
        /// each later Poll ends the exchanges that finished. Needs
        /// CallbackMode.Polled; excludes Transport. Nothing is sent while nobody
        /// polls: a Close or AppDidEnterBackground cannot finish a send that
        /// needs a Poll, and the hits it carried stay stored for the next start.
        /// </summary>
        public IHttpTransport HttpTransport;

        /// <summary>Polled by default: callbacks run inside Tracker.Poll, on the polling thread.</summary>
        public CallbackMode CallbackMode = CallbackMode.Polled;

        /// <summary>Log lines at LogLevel or more severe (delivered like any callback).</summary>
        public Action<LogLevel, string> Log;
        public LogLevel LogLevel = LogLevel.Info;

        /// <summary>Hits dropped without an acknowledgement, with their message ids.</summary>
        public Action<DropReason, string[]> OnDrop;

        // ---- the analytics client ----------------------------------------------

        /// <summary>
        /// The app's part of every event's context from the first event on: a JSON
        /// object of top-level keys such as "app", "device", "screen", "network"
        /// (at most 8192 bytes). The library adds "library", "os", "locale" and
        /// "timezone"; a key set here replaces the library's. "library",
        /// "attracker" and "sessionId" are refused. Default: none.
        /// </summary>
        public string Context;
        /// <summary>
        /// Foreground inactivity after which the next hit starts a new session, in
        /// ms. Library default 1800000 (30 min); 1000 to 604800000 (7 days).
        /// </summary>
        public uint? SessionTimeoutMs;
        /// <summary>
        /// Time in the background (AppDidEnterBackground to the next hit) after
        /// which the next hit starts a new session, in ms. Library default 300000
        /// (5 min); 1000 to 604800000.
        /// </summary>
        public uint? BackgroundSessionTimeoutMs;
        /// <summary>Record "Session Started" and "Session Ended" events (library default false).</summary>
        public bool? TrackSessionEvents;
        /// <summary>
        /// The consent a store starts with until the user answers
        /// (Tracker.SetConsent, kept in the store from then on). Library default Granted.
        /// </summary>
        public Consent? InitialConsent;

        internal void Apply(ConfigHandle c)
        {
            var check = new Action<uint>(AttrackerException.Check);
            if (StoragePath != null) check(Native.at_config_set_storage_path(c, Native.Utf8(StoragePath)));
            if (Endpoint != null) check(Native.at_config_set_endpoint(c, Native.Utf8(Endpoint)));
            if (ApiKey != null) check(Native.at_config_set_api_key(c, Native.Utf8(ApiKey)));
            if (AuthScheme.HasValue) check(Native.at_config_set_auth_scheme(c, (uint)AuthScheme.Value));
            if (OfflineMode.HasValue) check(Native.at_config_set_offline_mode(c, (uint)OfflineMode.Value));
            if (Durability.HasValue) check(Native.at_config_set_durability(c, (uint)Durability.Value));
            if (Synchronous.HasValue) check(Native.at_config_set_synchronous(c, (uint)Synchronous.Value));
            if (FlushIntervalMs.HasValue) check(Native.at_config_set_flush_interval_ms(c, FlushIntervalMs.Value));
            if (FlushThreshold.HasValue) check(Native.at_config_set_flush_threshold(c, FlushThreshold.Value));
            if (MaxQueueSize.HasValue) check(Native.at_config_set_max_queue_size(c, MaxQueueSize.Value));
            if (MaxStoreBytes.HasValue) check(Native.at_config_set_max_store_bytes(c, MaxStoreBytes.Value));
            if (MaxEventBytes.HasValue) check(Native.at_config_set_max_event_bytes(c, MaxEventBytes.Value));
            if (MaxAttempts.HasValue) check(Native.at_config_set_max_attempts(c, MaxAttempts.Value));
            if (MaxHitAgeMs.HasValue) check(Native.at_config_set_max_hit_age_ms(c, MaxHitAgeMs.Value));
            if (ReportDrops.HasValue) check(Native.at_config_set_report_drops(c, ReportDrops.Value));
            if (MaxBatchEvents.HasValue) check(Native.at_config_set_max_batch_events(c, MaxBatchEvents.Value));
            if (MaxBatchBytes.HasValue) check(Native.at_config_set_max_batch_bytes(c, MaxBatchBytes.Value));
            if (Gzip.HasValue) check(Native.at_config_set_gzip(c, Gzip.Value));
            if (ConnectTimeoutMs.HasValue || RequestTimeoutMs.HasValue)
                check(Native.at_config_set_timeouts_ms(c, ConnectTimeoutMs ?? 10000, RequestTimeoutMs ?? 30000));
            if (CommitWindowMs.HasValue) check(Native.at_config_set_commit_window_ms(c, CommitWindowMs.Value));
            if (BusyTimeoutMs.HasValue) check(Native.at_config_set_busy_timeout_ms(c, BusyTimeoutMs.Value));
            if (TrackLifecycleEvents.HasValue) check(Native.at_config_set_track_lifecycle_events(c, TrackLifecycleEvents.Value));
            if (FlushOnBackground.HasValue) check(Native.at_config_set_flush_on_background(c, FlushOnBackground.Value));
            if (CaBundlePath != null && CaBundlePem != null)
                throw new AttrackerException(Status.InvalidArgument, "set CaBundlePath or CaBundlePem, not both");
            if (CaBundlePath != null) check(Native.at_config_set_ca_bundle_path(c, Native.Utf8(CaBundlePath)));
            if (CaBundlePem != null) check(Native.at_config_set_ca_bundle_pem(c, Native.Utf8(CaBundlePem)));
            if (PinnedPublicKeys != null) check(Native.at_config_set_pinned_public_key(c, Native.Utf8(PinnedPublicKeys)));
            check(Native.at_config_set_callback_mode(c, (uint)CallbackMode));

            // The analytics client.
            if (Context != null) check(Native.at_config_set_context(c, Native.Utf8(Context)));
            if (SessionTimeoutMs.HasValue || BackgroundSessionTimeoutMs.HasValue)
                check(Native.at_config_set_session_timeouts_ms(c, SessionTimeoutMs ?? 1800000, BackgroundSessionTimeoutMs ?? 300000));
            if (TrackSessionEvents.HasValue) check(Native.at_config_set_track_session_events(c, TrackSessionEvents.Value));
            if (InitialConsent.HasValue) check(Native.at_config_set_initial_consent(c, (uint)InitialConsent.Value));
        }
    }

    /// <summary>
    /// A tracker: one store, its threads and callbacks. Thread-safe. Dispose it
    /// (or Close then Dispose) when done; Dispose closes with a 2000 ms send window.
    /// Every method throws AttrackerException on failure and
    /// ObjectDisposedException after Dispose (except Poll and Close: 0 / false).
    /// </summary>
    public sealed class Tracker : IDisposable
    {
        readonly TrackerHandle handle;
        // TrackerConfig.HttpTransport's exchanges, ended by Poll; null without one.
        readonly PolledHttpTransport httpTransport;

        /// <summary>The stored hits: list, page, count, delete.</summary>
        public OfflineHits Offline { get; }

        /// <summary>Where this tracker's callbacks run.</summary>
        public CallbackMode CallbackMode { get; }

        /// <summary>
        /// A callback (completion, dispatch, log, drop) threw. Exceptions never
        /// cross into the library; they come here, or to Debug.LogException in
        /// Unity / stderr elsewhere when nobody subscribed.
        /// </summary>
        public static event Action<Exception> CallbackException;

        /// <summary>The library version, "MAJOR.MINOR.PATCH".</summary>
        public static string Version => Native.FromUtf8(Native.at_version());

        /// <summary>Completion and dispatch callbacks registered and not yet run (one GCHandle each).</summary>
        public static int PendingCallbackCount => Callbacks.Pending;

        Tracker(TrackerHandle handle, CallbackMode mode, PolledHttpTransport httpTransport)
        {
            this.handle = handle;
            this.httpTransport = httpTransport;
            CallbackMode = mode;
            Offline = new OfflineHits(this);
        }

        /// <summary>Opens (or creates) the store and starts the tracker.</summary>
        public static Tracker Create(TrackerConfig config)
        {
            if (config == null)
                throw new ArgumentNullException(nameof(config));
            using (ConfigHandle c = Native.at_config_new())
            {
                if (c.IsInvalid)
                    throw new OutOfMemoryException("at_config_new returned NULL");
                config.Apply(c);

                PolledHttpTransport pump = null;
                Action<TransportRequest> transport = config.Transport;
                if (config.HttpTransport != null)
                {
                    if (config.Transport != null)
                        throw new ArgumentException("attracker: set TrackerConfig.Transport or HttpTransport, not both", nameof(config));
                    if (config.CallbackMode != CallbackMode.Polled)
                        throw new ArgumentException("attracker: TrackerConfig.HttpTransport is driven by Poll: it needs CallbackMode.Polled", nameof(config));
                    pump = new PolledHttpTransport(config.HttpTransport);
                    transport = pump.Begin;
                }

                IntPtr sink = IntPtr.Zero;
                TrackerHandle t = null;
                try
                {
                    if (config.Log != null || config.OnDrop != null || transport != null)
                    {
                        sink = GCHandle.ToIntPtr(GCHandle.Alloc(new Sink(config.Log, config.OnDrop, transport)));
                        if (config.Log != null)
                            AttrackerException.Check(Native.at_config_set_log_callback(c, Callbacks.Log, sink, (uint)config.LogLevel));
                        if (config.OnDrop != null)
                            AttrackerException.Check(Native.at_config_set_drop_callback(c, Callbacks.Drop, sink));
                        if (transport != null)
                            AttrackerException.Check(Native.at_config_set_transport(c, Callbacks.Transport, sink));
                    }
                    AttrackerException.Check(Native.at_tracker_new(c, out t));
                    t.SinkUserData = sink; // freed by TrackerHandle.ReleaseHandle, after at_tracker_free
                    sink = IntPtr.Zero;
                    return new Tracker(t, config.CallbackMode, pump);
                }
                finally
                {
                    if (sink != IntPtr.Zero) // no tracker uses it
                        GCHandle.FromIntPtr(sink).Free();
                }
            }
        }

        // ---- tracking --------------------------------------------------------

        /// <summary>
        /// Tracks an event; propertiesJson is a JSON object kept verbatim (null
        /// means {}). On return the hit is committed (default durability).
        /// done runs once, with Ok, an error or Cancelled, only if this returns.
        /// </summary>
        public void TrackEvent(string type, string propertiesJson = null, Action<Status> done = null) =>
            AttrackerException.Check((uint)TryTrackEvent(type, propertiesJson, done));

        /// <summary>TrackEvent returning the status instead of throwing; done runs only on Ok.</summary>
        public Status TryTrackEvent(string type, string propertiesJson = null, Action<Status> done = null)
        {
            byte[] t = Native.Utf8(type), p = Native.Utf8(propertiesJson);
            IntPtr ud = Callbacks.Hold(done);
            return (Status)Callbacks.Settle(ud, () =>
                Native.at_track_event(handle, t, p, done == null ? null : Callbacks.Completion, ud));
        }

        /// <summary>Tracks a URL hit (absolute http(s) URL, sent as-is with one GET); type may be null.</summary>
        public void SendHit(string url, string type = null, Action<Status> done = null) =>
            AttrackerException.Check((uint)TrySendHit(url, type, done));

        /// <summary>SendHit returning the status instead of throwing; done runs only on Ok.</summary>
        public Status TrySendHit(string url, string type = null, Action<Status> done = null)
        {
            byte[] u = Native.Utf8(url), t = Native.Utf8(type);
            IntPtr ud = Callbacks.Hold(done);
            return (Status)Callbacks.Settle(ud, () =>
                Native.at_send_hit(handle, u, t, done == null ? null : Callbacks.Completion, ud));
        }

        // ---- sending ---------------------------------------------------------

        /// <summary>Sends what is due now (honours backoff; nothing in Always mode). Returns at once.</summary>
        public void Flush(Action<DispatchResult> done = null)
        {
            IntPtr ud = Callbacks.Hold(done);
            AttrackerException.Check(Callbacks.Settle(ud, () =>
                Native.at_flush(handle, done == null ? null : Callbacks.Dispatch, ud)));
        }

        /// <summary>Sends every hit stored before the call, in any mode, ignoring backoff. Returns at once.</summary>
        public void Dispatch(Action<DispatchResult> done = null)
        {
            IntPtr ud = Callbacks.Hold(done);
            AttrackerException.Check(Callbacks.Settle(ud, () =>
                Native.at_offline_dispatch(handle, done == null ? null : Callbacks.Dispatch, ud)));
        }

        // ---- application lifecycle ------------------------------------------

        /// <summary>
        /// The app went to the background: call it from OnApplicationPause(true)
        /// (or OnApplicationFocus(false) on platforms without pause) with the
        /// time the platform grants, in ms. Records "Application Backgrounded",
        /// sends what it can before the deadline (FlushOnBackground) and calls
        /// done once with the tally (Cancelled when the deadline cut it short;
        /// unsent hits stay stored). Automatic sends pause until
        /// AppWillEnterForeground. Returns at once.
        /// </summary>
        public void AppDidEnterBackground(int deadlineMs, Action<DispatchResult> done = null)
        {
            if (deadlineMs < 0)
                throw new ArgumentOutOfRangeException(nameof(deadlineMs));
            IntPtr ud = Callbacks.Hold(done);
            AttrackerException.Check(Callbacks.Settle(ud, () =>
                Native.at_app_did_enter_background(handle, (uint)deadlineMs, done == null ? null : Callbacks.Dispatch, ud)));
        }

        /// <summary>
        /// The app is in the foreground again (OnApplicationPause(false)):
        /// records "Application Opened", resumes the flush timers, sends what is due.
        /// </summary>
        public void AppWillEnterForeground() =>
            AttrackerException.Check(Native.at_app_will_enter_foreground(handle));

        // ---- run time --------------------------------------------------------

        /// <summary>Changes the mode for hits tracked after this returns; done runs once earlier hits are committed.</summary>
        public void SetOfflineMode(OfflineMode mode, Action<Status> done = null)
        {
            IntPtr ud = Callbacks.Hold(done);
            AttrackerException.Check(Callbacks.Settle(ud, () =>
                Native.at_set_offline_mode(handle, (uint)mode, done == null ? null : Callbacks.Completion, ud)));
        }

        /// <summary>The current offline mode.</summary>
        public OfflineMode OfflineMode
        {
            get
            {
                AttrackerException.Check(Native.at_get_offline_mode(handle, out uint mode));
                return (OfflineMode)mode;
            }
        }

        /// <summary>The tracking gate: while disabled, track calls fail with Suppressed and nothing is kept.</summary>
        public void SetTrackingEnabled(bool enabled) =>
            AttrackerException.Check(Native.at_set_tracking_enabled(handle, enabled));

        /// <summary>Stops collection; Purge deletes every queued hit. Returns how many were purged.</summary>
        public ulong OptOut(OptOutPolicy policy)
        {
            AttrackerException.Check(Native.at_opt_out(handle, (uint)policy, out ulong purged));
            return purged;
        }

        /// <summary>The visitor id sent as anonymousId with hits tracked from now on.</summary>
        public string VisitorId
        {
            get
            {
                AttrackerException.Check(Native.at_visitor_id(handle, out IntPtr id));
                return Native.TakeString(id);
            }
            set => AttrackerException.Check(Native.at_set_visitor_id(handle, Native.Utf8(value)));
        }

        /// <summary>A new random visitor id (e.g. at logout); earlier hits keep theirs.</summary>
        public void ResetVisitorId() => AttrackerException.Check(Native.at_visitor_id_reset(handle));

        /// <summary>The remote configuration document in force, or null.</summary>
        public string RemoteConfigJson()
        {
            AttrackerException.Check(Native.at_remote_config_json(handle, out IntPtr json));
            return Native.TakeString(json);
        }

        /// <summary>The host's reachability report (Application.internetReachability).</summary>
        public void SetNetworkReachable(bool reachable) =>
            AttrackerException.Check(Native.at_set_network_reachable(handle, reachable));

        /// <summary>
        /// Replaces the api key for every request from now on ("" removes it;
        /// the configured key is used again at the next start). After the
        /// collector refused the key (Status.KeyRejected, Stats().KeyRejected
        /// set), automatic sending resumes with the new one; the hits kept
        /// meanwhile are sent. A refused key (spaces, control characters)
        /// throws InvalidArgument and changes nothing.
        /// </summary>
        public void SetApiKey(string key) =>
            AttrackerException.Check(Native.at_set_api_key(handle, Native.Utf8(key)));

        /// <summary>
        /// Why the last send failed (e.g. "the collector rejected the api key
        /// (HTTP 401); sending is paused"), or null when the last send
        /// succeeded or none has failed.
        /// </summary>
        public string LastSendError
        {
            get
            {
                AttrackerException.Check(Native.at_last_send_error(handle, out IntPtr message));
                return Native.TakeString(message);
            }
        }

        /// <summary>Blocks until every hit accepted before the call is committed (Batched durability).</summary>
        public void Sync() => AttrackerException.Check(Native.at_tracker_sync(handle));

        public TrackerStats Stats()
        {
            AttrackerException.Check(Native.at_tracker_stats(handle, out NativeStats s,
                (UIntPtr)(uint)Marshal.SizeOf(typeof(NativeStats))));
            return new TrackerStats
            {
                Queued = (long)s.Queued, Sent = (long)s.Sent, Failed = (long)s.Failed,
                DroppedOverflow = (long)s.DroppedOverflow, DroppedCorrupt = (long)s.DroppedCorrupt,
                Deleted = (long)s.Deleted, DroppedStorage = (long)s.DroppedStorage,
                DroppedUnsent = (long)s.DroppedUnsent, Committed = (long)s.Committed,
                BytesOnDisk = (long)s.BytesOnDisk, DroppedRejected = (long)s.DroppedRejected,
                DroppedAttempts = (long)s.DroppedAttempts, DroppedUnreachable = (long)s.DroppedUnreachable,
                DroppedTooLarge = (long)s.DroppedTooLarge, Requests = (long)s.Requests,
                DroppedExpired = (long)s.DroppedExpired, KeyRejected = (long)s.KeyRejected,
                NotReached = (long)s.NotReached, DroppedConsent = (long)s.DroppedConsent,
                LongestWaitUs = (long)s.LongestWaitUs, WalPeakBytes = (long)s.WalPeakBytes,
            };
        }

        // ---- the analytics client --------------------------------------------
        //
        // Segment's identify, alias, group and screen calls, reset, the event
        // context, super properties, sessions and consent. JSON arguments are
        // JSON objects (null: none); done runs once (Ok, an error or Cancelled)
        // only when the call returned, like TrackEvent's.

        /// <summary>
        /// Identifies the user (a Segment identify call). userId (1 to 256 bytes
        /// of UTF-8, no control characters; null keeps the current one) becomes
        /// the userId of every hit tracked from now on; traitsJson is merged over
        /// the traits kept so far (top-level keys replace). Both are stored before
        /// the call returns and kept across restarts; hits tracked before keep
        /// their identity. Suppressed when consent is denied or tracking disabled.
        /// </summary>
        public void Identify(string userId, string traitsJson = null, Action<Status> done = null) =>
            AttrackerException.Check((uint)TryIdentify(userId, traitsJson, done));

        /// <summary>Identify returning the status instead of throwing; done runs only on Ok.</summary>
        public Status TryIdentify(string userId, string traitsJson = null, Action<Status> done = null)
        {
            byte[] u = Native.Utf8(userId), t = Native.Utf8(traitsJson);
            IntPtr ud = Callbacks.Hold(done);
            return (Status)Callbacks.Settle(ud, () =>
                Native.at_identify(handle, u, t, done == null ? null : Callbacks.Completion, ud));
        }

        /// <summary>The user id in force (Identify, Alias), or null; kept across restarts.</summary>
        public string UserId
        {
            get
            {
                AttrackerException.Check(Native.at_user_id(handle, out IntPtr id));
                return Native.TakeString(id);
            }
        }

        /// <summary>
        /// Links the current identity to newUserId (a Segment alias call whose
        /// previousId is the current user id, or the anonymous id when none is
        /// set), then makes newUserId the user id.
        /// </summary>
        public void Alias(string newUserId, Action<Status> done = null) =>
            AttrackerException.Check((uint)TryAlias(newUserId, done));

        /// <summary>Alias returning the status instead of throwing; done runs only on Ok.</summary>
        public Status TryAlias(string newUserId, Action<Status> done = null)
        {
            byte[] u = Native.Utf8(newUserId);
            IntPtr ud = Callbacks.Hold(done);
            return (Status)Callbacks.Settle(ud, () =>
                Native.at_alias(handle, u, done == null ? null : Callbacks.Completion, ud));
        }

        /// <summary>Associates the user with a group (a Segment group call): groupId (1 to 256 bytes) and the group's traits.</summary>
        public void Group(string groupId, string traitsJson = null, Action<Status> done = null) =>
            AttrackerException.Check((uint)TryGroup(groupId, traitsJson, done));

        /// <summary>Group returning the status instead of throwing; done runs only on Ok.</summary>
        public Status TryGroup(string groupId, string traitsJson = null, Action<Status> done = null)
        {
            byte[] g = Native.Utf8(groupId), t = Native.Utf8(traitsJson);
            IntPtr ud = Callbacks.Hold(done);
            return (Status)Callbacks.Settle(ud, () =>
                Native.at_group(handle, g, t, done == null ? null : Callbacks.Completion, ud));
        }

        /// <summary>Records that the user saw a screen (a Segment screen call), with the super properties merged in.</summary>
        public void Screen(string name, string propertiesJson = null, Action<Status> done = null) =>
            AttrackerException.Check((uint)TryScreen(name, propertiesJson, done));

        /// <summary>Screen returning the status instead of throwing; done runs only on Ok.</summary>
        public Status TryScreen(string name, string propertiesJson = null, Action<Status> done = null)
        {
            byte[] n = Native.Utf8(name), p = Native.Utf8(propertiesJson);
            IntPtr ud = Callbacks.Hold(done);
            return (Status)Callbacks.Settle(ud, () =>
                Native.at_screen(handle, n, p, done == null ? null : Callbacks.Completion, ud));
        }

        /// <summary>
        /// Forgets what `what` names, in one store transaction (All: a logout).
        /// Hits queued before keep the identity they were tracked with. No flag,
        /// or an unknown one, throws InvalidArgument.
        /// </summary>
        public void Reset(ResetFlags what = ResetFlags.All) =>
            AttrackerException.Check(Native.at_reset(handle, (uint)what));

        /// <summary>
        /// Merges contextJson into the app's part of the event context (see
        /// TrackerConfig.Context): top-level keys replace, a key set to null is
        /// removed. Hits tracked from now on carry it; queued hits keep theirs.
        /// Not kept across restarts.
        /// </summary>
        public void MergeContext(string contextJson) =>
            AttrackerException.Check(Native.at_set_context(handle, Native.Utf8(contextJson)));

        /// <summary>
        /// Merges propertiesJson into the super properties, merged into the
        /// properties of every later TrackEvent and Screen (explicit properties
        /// win). Kept in the store across restarts.
        /// </summary>
        public void RegisterSuperProperties(string propertiesJson) =>
            AttrackerException.Check(Native.at_register_super_properties(handle, Native.Utf8(propertiesJson)));

        /// <summary>Removes the super property key (one that is not set is no error).</summary>
        public void UnregisterSuperProperty(string key) =>
            AttrackerException.Check(Native.at_unregister_super_property(handle, Native.Utf8(key)));

        /// <summary>
        /// Starts a new session now (a match, a new visit); with
        /// TrackSessionEvents, records "Session Ended" and "Session Started".
        /// </summary>
        public void StartSession() => AttrackerException.Check(Native.at_session_start(handle));

        /// <summary>
        /// The session id the next hit gets: the Unix ms of the session's start,
        /// sent as context.sessionId. The first read after start decides, as a hit
        /// would, whether the session kept from the last run goes on.
        /// </summary>
        public long SessionId
        {
            get
            {
                AttrackerException.Check(Native.at_session_id(handle, out long id));
                return id;
            }
        }

        /// <summary>The consent in force (TrackerConfig.InitialConsent until SetConsent).</summary>
        public Consent Consent
        {
            get
            {
                AttrackerException.Check(Native.at_get_consent(handle, out uint consent));
                return (Consent)consent;
            }
        }

        /// <summary>
        /// Sets the user's consent, kept in the store. Pending: calls are stored,
        /// nothing is sent (Flush and Dispatch complete with Suppressed). Granted:
        /// everything stored goes out. Denied: every queued hit is purged
        /// (DropReason.ConsentDenied, never reported to the collector) and later
        /// TrackEvent, Screen, Identify, Alias and Group calls fail with
        /// Suppressed. Returns how many hits were purged.
        /// </summary>
        public ulong SetConsent(Consent consent)
        {
            AttrackerException.Check(Native.at_set_consent(handle, (uint)consent, out ulong purged));
            return purged;
        }

        // ---- callbacks and lifecycle -----------------------------------------

        /// <summary>
        /// Polled mode: runs up to max pending callbacks (0 = all) on this
        /// thread, then ends the TrackerConfig.HttpTransport exchanges that
        /// finished, and returns how many of both. Call it from Update(). Returns
        /// 0 in Thread mode, after Close, and after Dispose.
        /// </summary>
        public int Poll(int max = 0)
        {
            if (max < 0)
                throw new ArgumentOutOfRangeException(nameof(max));
            if (handle.IsClosed)
                return 0;
            int ran = (int)Native.at_tracker_poll(handle, (uint)max);
            // The HTTP exchanges started by this or earlier polls that finished.
            return httpTransport == null ? ran : ran + httpTransport.Pump();
        }

        /// <summary>TrackerConfig.HttpTransport's exchanges started and not yet ended (0 without one).</summary>
        public int HttpExchangesInFlight => httpTransport?.InFlight ?? 0;

        /// <summary>
        /// Stops accepting work, commits, sends what it can within timeoutMs,
        /// then runs (or cancels) every pending callback, in polled mode on this
        /// thread, and joins the tracker's threads. Later calls throw Closed.
        /// Returns false when already closed or disposed. Dispose still frees.
        /// </summary>
        public bool Close(int timeoutMs = 2000)
        {
            if (timeoutMs < 0)
                throw new ArgumentOutOfRangeException(nameof(timeoutMs));
            if (handle.IsClosed)
                return false;
            uint st = Native.at_tracker_close(handle, (uint)timeoutMs);
            httpTransport?.Abandon(ClosedWhileSending);
            if (st == (uint)Status.Closed)
                return false;
            AttrackerException.Check(st);
            return true;
        }

        /// <summary>Closes (2000 ms) if needed and frees the tracker. Safe to call twice.</summary>
        public void Dispose()
        {
            handle.Dispose();
            httpTransport?.Abandon(ClosedWhileSending);
        }

        const string ClosedWhileSending = "the tracker closed while the host's HTTP stack was sending";

        public bool IsDisposed => handle.IsClosed;

        internal TrackerHandle Handle => handle;

        internal static void ReportCallbackException(Exception e)
        {
            Action<Exception> h = CallbackException;
            if (h != null)
            {
                try
                {
                    h(e);
                    return;
                }
                catch (Exception inner)
                {
                    e = new AggregateException(e, inner);
                }
            }
#if UNITY_5_3_OR_NEWER
            UnityEngine.Debug.LogException(e);
#else
            Console.Error.WriteLine("attracker: a callback threw: " + e);
#endif
        }
    }

    /// <summary>The stored hits of a tracker (tracker.Offline).</summary>
    public sealed class OfflineHits
    {
        readonly Tracker tracker;

        internal OfflineHits(Tracker tracker) { this.tracker = tracker; }

        /// <summary>Every stored hit, oldest first (loads the whole queue: prefer GetPage for large ones).</summary>
        public Hit[] Get()
        {
            AttrackerException.Check(Native.at_offline_get(tracker.Handle, out HitListHandle list));
            return ReadList(list);
        }

        /// <summary>At most limit (at least 1) hits with an id greater than afterId (0 first); empty at the end.</summary>
        public Hit[] GetPage(ulong afterId, int limit)
        {
            if (limit < 0)
                throw new ArgumentOutOfRangeException(nameof(limit));
            AttrackerException.Check(Native.at_offline_get_page(tracker.Handle, afterId, (uint)limit, out HitListHandle list));
            return ReadList(list);
        }

        /// <summary>The oldest stored hit, or null when the store is empty.</summary>
        public Hit Oldest()
        {
            AttrackerException.Check(Native.at_offline_oldest(tracker.Handle, out HitHandle hit));
            return ReadHit(hit);
        }

        /// <summary>The most recently stored hit, or null when the store is empty.</summary>
        public Hit Latest()
        {
            AttrackerException.Check(Native.at_offline_latest(tracker.Handle, out HitHandle hit));
            return ReadHit(hit);
        }

        public long Count()
        {
            AttrackerException.Check(Native.at_offline_count(tracker.Handle, out ulong n));
            return (long)n;
        }

        /// <summary>Deletes every stored hit (reported as DropReason.Deleted); returns how many.</summary>
        public long Delete()
        {
            AttrackerException.Check(Native.at_offline_delete(tracker.Handle, out ulong n));
            return (long)n;
        }

        /// <summary>Deletes hits created more than days × 24 h ago (0: every hit created before now).</summary>
        public long DeleteOlderThanDays(int days)
        {
            if (days < 0)
                throw new ArgumentOutOfRangeException(nameof(days));
            AttrackerException.Check(Native.at_offline_delete_older_than_days(tracker.Handle, (uint)days, out ulong n));
            return (long)n;
        }

        /// <summary>
        /// Deletes hits created before cutoff (exclusive). A Local or
        /// Unspecified DateTime is converted with ToUniversalTime().
        /// </summary>
        public long DeleteOlderThan(DateTime cutoff)
        {
            DateTime utc = cutoff.Kind == DateTimeKind.Utc ? cutoff : cutoff.ToUniversalTime();
            long unixMs = (utc.Ticks - Hit.UnixEpochTicks) / TimeSpan.TicksPerMillisecond;
            AttrackerException.Check(Native.at_offline_delete_older_than(tracker.Handle, unixMs, out ulong n));
            return (long)n;
        }

        /// <summary>
        /// For hosts that upload batches themselves: leases the next batch of
        /// stored events as a POST to perform (null when none waits). Nobody else
        /// sends its events meanwhile. End it with Ack(true) once uploaded (its
        /// events are deleted) or Ack(false) (they return to the queue). URL
        /// hits are never exported.
        /// </summary>
        public ExportedBatch ExportBatch()
        {
            AttrackerException.Check(Native.at_offline_export_batch(tracker.Handle, out IntPtr batch));
            return batch == IntPtr.Zero ? null : new ExportedBatch(tracker.Handle, batch);
        }

        static Hit[] ReadList(HitListHandle list)
        {
            using (list) // the hits are borrowed from the list: read them before it is freed
            {
                int n = checked((int)(ulong)Native.at_hit_list_len(list));
                var hits = new Hit[n];
                for (int i = 0; i < n; i++)
                    hits[i] = Hit.Read(Native.at_hit_list_get(list, (UIntPtr)(uint)i));
                return hits;
            }
        }

        static Hit ReadHit(HitHandle hit)
        {
            using (hit)
                return hit.IsInvalid ? null : Hit.Read(hit.DangerousGetHandle());
        }
    }

    /// <summary>An HTTP request the library hands to the host, copied out (headers in order).</summary>
    public abstract class HttpRequestData
    {
        /// <summary>"GET" or "POST".</summary>
        public string Method { get; }
        public string Url { get; }
        /// <summary>Content-Type, Content-Encoding and Authorization for a batch; none for a URL hit.</summary>
        public KeyValuePair<string, string>[] Headers { get; }
        /// <summary>The body (empty for GET).</summary>
        public byte[] Body { get; }

        // The at_request*, owned until it is ended (which frees it). state: 0
        // open, 1 ending, 2 ended.
        internal readonly IntPtr Request;
        int state;

        internal HttpRequestData(IntPtr request)
        {
            Request = request;
            Method = Native.FromUtf8(Native.at_request_method(request));
            Url = Native.FromUtf8(Native.at_request_url(request));
            int n = checked((int)(ulong)Native.at_request_header_count(request));
            Headers = new KeyValuePair<string, string>[n];
            for (int i = 0; i < n; i++)
                Headers[i] = new KeyValuePair<string, string>(
                    Native.FromUtf8(Native.at_request_header_name(request, (UIntPtr)(uint)i)),
                    Native.FromUtf8(Native.at_request_header_value(request, (UIntPtr)(uint)i)));
            IntPtr body = Native.at_request_body(request, out UIntPtr len);
            Body = new byte[checked((int)(ulong)len)];
            if (Body.Length > 0)
                Marshal.Copy(body, Body, 0, Body.Length);
        }

        public bool IsEnded => Volatile.Read(ref state) == 2;

        /// <summary>Ends the request once: end() returns the status of the C call.</summary>
        internal void End(Func<uint> end)
        {
            if (Interlocked.CompareExchange(ref state, 1, 0) != 0)
                throw new InvalidOperationException("attracker: this request was already ended");
            uint st;
            try
            {
                st = end();
            }
            catch
            {
                Volatile.Write(ref state, 0);
                throw;
            }
            if (st != 0)
            {
                var e = new AttrackerException((Status)st, Native.LastError());
                Volatile.Write(ref state, 0); // not freed by the library: may be ended again
                throw e;
            }
            Volatile.Write(ref state, 2);
            GC.SuppressFinalize(this);
        }

        /// <summary>For finalizers and error paths: ends it if nobody did, never throws.</summary>
        internal void EndQuietly(Func<uint> end)
        {
            try
            {
                if (Volatile.Read(ref state) == 0)
                    End(end);
            }
            catch (Exception)
            {
            }
        }

        /// <summary>A header's value by name (case-insensitive), or null.</summary>
        public string Header(string name)
        {
            foreach (var h in Headers)
                if (string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase))
                    return h.Value;
            return null;
        }
    }

    /// <summary>A request for TrackerConfig.Transport: perform it, then Complete or Fail it once.</summary>
    public sealed class TransportRequest : HttpRequestData
    {
        internal TransportRequest(IntPtr request) : base(request) { }

        /// <summary>
        /// The server answered httpStatus (100..599); retryAfterMs from its
        /// Retry-After header, else 0. contentType: the answer's Content-Type
        /// header (recommended): a 2xx HTML page answering a batch is a captive
        /// portal's, not the collector's acknowledgement, and the hits are kept.
        /// </summary>
        public void Complete(int httpStatus, long retryAfterMs = 0, string contentType = null) =>
            End(() =>
            {
                if (contentType != null)
                {
                    uint st = Native.at_request_set_response_content_type(Request, Native.Utf8(contentType));
                    if (st != 0)
                        return st; // the request stays open
                }
                return Native.at_transport_complete(Request, httpStatus, retryAfterMs, null);
            });

        /// <summary>
        /// The exchange failed: serverReached false when it never reached the
        /// server (DNS, no connection: no attempt counted), true for a timeout or
        /// reset after connecting (counts as an attempt).
        /// </summary>
        public void Fail(string error, bool serverReached = false) =>
            End(() => Native.at_transport_complete(Request,
                serverReached ? TransportStatus.Failed : TransportStatus.Unreachable, 0,
                Native.Utf8(string.IsNullOrEmpty(error) ? "transport failed" : error)));

        /// <summary>A request dropped without an answer is failed as unreachable.</summary>
        ~TransportRequest()
        {
            EndQuietly(() => Native.at_transport_complete(Request, TransportStatus.Unreachable, 0,
                Native.Utf8("the host transport dropped the request without ending it")));
        }
    }

    /// <summary>A batch from Offline.ExportBatch: upload it, then Ack it once.</summary>
    public sealed class ExportedBatch : HttpRequestData
    {
        readonly TrackerHandle tracker;

        internal ExportedBatch(TrackerHandle tracker, IntPtr batch) : base(batch) { this.tracker = tracker; }

        /// <summary>true: uploaded, its events are deleted; false: they return to the queue.</summary>
        public void Ack(bool delivered) =>
            End(() => Native.at_offline_ack_batch(tracker, Request, delivered));

        /// <summary>A batch dropped without an Ack returns to the queue (while its tracker lives).</summary>
        ~ExportedBatch()
        {
            if (!tracker.IsClosed)
                EndQuietly(() => Native.at_offline_ack_batch(tracker, Request, false));
        }
    }

    /// <summary>
    /// The delegates of a tracker's log, drop and transport callbacks (user
    /// data: a GCHandle to it, freed after at_tracker_free).
    /// </summary>
    internal sealed class Sink
    {
        internal readonly Action<LogLevel, string> Log;
        internal readonly Action<DropReason, string[]> Drop;
        internal readonly Action<TransportRequest> Transport;

        internal Sink(Action<LogLevel, string> log, Action<DropReason, string[]> drop, Action<TransportRequest> transport)
        {
            Log = log;
            Drop = drop;
            Transport = transport;
        }
    }

    /// <summary>
    /// The native-to-managed entry points. Each is a static method marked
    /// [MonoPInvokeCallback] (required by IL2CPP and full AOT), reached through a
    /// delegate kept in a static readonly field so the GC never collects it
    /// while C holds its function pointer. A completion's user data is
    /// GCHandle.ToIntPtr(GCHandle.Alloc(action)): the library calls it exactly
    /// once when the registering call returned AT_OK, and the handle is freed
    /// there; when the call fails, the caller frees it (Settle).
    /// </summary>
    // Entered from native code only: kept whole against code stripping.
    [Preserve]
    internal static class Callbacks
    {
        internal static readonly CompletionFn Completion = OnCompletion;
        internal static readonly DispatchFn Dispatch = OnDispatch;
        internal static readonly LogFn Log = OnLog;
        internal static readonly DropFn Drop = OnDrop;
        internal static readonly TransportFn Transport = OnTransport;

        static int pending;

        internal static int Pending => Volatile.Read(ref pending);

        /// <summary>A GCHandle for a one-shot action, as user data; zero for null.</summary>
        internal static IntPtr Hold(Delegate action)
        {
            if (action == null)
                return IntPtr.Zero;
            IntPtr p = GCHandle.ToIntPtr(GCHandle.Alloc(action));
            Interlocked.Increment(ref pending);
            return p;
        }

        /// <summary>Frees a Hold handle and returns its action (null for zero).</summary>
        internal static T Take<T>(IntPtr userData) where T : class
        {
            if (userData == IntPtr.Zero)
                return null;
            GCHandle h = GCHandle.FromIntPtr(userData);
            var action = h.Target as T;
            h.Free();
            Interlocked.Decrement(ref pending);
            return action;
        }

        /// <summary>
        /// Makes the registering call; unless it returned AT_OK (and so will
        /// call back), frees the handle now. Also when the call threw (e.g.
        /// ObjectDisposedException from the SafeHandle marshaller).
        /// </summary>
        internal static uint Settle(IntPtr userData, Func<uint> call)
        {
            uint status;
            try
            {
                status = call();
            }
            catch
            {
                Take<Delegate>(userData);
                throw;
            }
            if (status != 0)
                Take<Delegate>(userData);
            return status;
        }

        [AOT.MonoPInvokeCallback(typeof(CompletionFn))]
        static void OnCompletion(uint status, IntPtr userData)
        {
            try
            {
                Take<Action<Status>>(userData)?.Invoke((Status)status);
            }
            catch (Exception e)
            {
                Tracker.ReportCallbackException(e);
            }
        }

        [AOT.MonoPInvokeCallback(typeof(DispatchFn))]
        static void OnDispatch(IntPtr result, IntPtr userData)
        {
            try
            {
                var done = Take<Action<DispatchResult>>(userData);
                if (done == null)
                    return;
                var r = (NativeDispatchResult)Marshal.PtrToStructure(result, typeof(NativeDispatchResult));
                done(new DispatchResult
                {
                    Status = (Status)r.Status,
                    Sent = (long)r.Sent,
                    Failed = (long)r.Failed,
                    Dropped = (long)r.Dropped,
                });
            }
            catch (Exception e)
            {
                Tracker.ReportCallbackException(e);
            }
        }

        [AOT.MonoPInvokeCallback(typeof(LogFn))]
        static void OnLog(uint level, IntPtr message, IntPtr userData)
        {
            try
            {
                var sink = (Sink)GCHandle.FromIntPtr(userData).Target;
                sink.Log?.Invoke((LogLevel)level, Native.FromUtf8(message));
            }
            catch (Exception e)
            {
                Tracker.ReportCallbackException(e);
            }
        }

        [AOT.MonoPInvokeCallback(typeof(TransportFn))]
        static void OnTransport(IntPtr request, IntPtr userData)
        {
            TransportRequest r = null;
            try
            {
                r = new TransportRequest(request);
                ((Sink)GCHandle.FromIntPtr(userData).Target).Transport(r);
            }
            catch (Exception e)
            {
                Tracker.ReportCallbackException(e);
                string why = "the host transport threw: " + e.Message;
                if (r != null)
                    r.EndQuietly(() => Native.at_transport_complete(request, TransportStatus.Unreachable, 0, Native.Utf8(why)));
                else
                    Native.at_transport_complete(request, TransportStatus.Unreachable, 0, Native.Utf8(why));
            }
        }

        [AOT.MonoPInvokeCallback(typeof(DropFn))]
        static void OnDrop(uint reason, IntPtr messageIds, UIntPtr count, IntPtr userData)
        {
            try
            {
                var sink = (Sink)GCHandle.FromIntPtr(userData).Target;
                if (sink.Drop == null)
                    return;
                int n = checked((int)(ulong)count);
                var ids = new string[n];
                for (int i = 0; i < n; i++)
                    ids[i] = Native.FromUtf8(Marshal.ReadIntPtr(messageIds, i * IntPtr.Size));
                sink.Drop((DropReason)reason, ids);
            }
            catch (Exception e)
            {
                Tracker.ReportCallbackException(e);
            }
        }
    }
}
