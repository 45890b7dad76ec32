// The P/Invoke layer over include/at_tracker.h: one declaration per C function,
// named exactly as in the header (the test program checks that every function
// of the header is declared here with the same number of parameters), and the
// SafeHandle owners of the library's handles.
//
// Marshalling rules used throughout (they hold for Mono, IL2CPP and .NET):
//  - at_status and every other enumeration is uint32_t: `uint` here.
//  - C `bool` is one byte: always [MarshalAs(UnmanagedType.U1)] (the default
//    for bool is a 4-byte Win32 BOOL, which reads garbage from a C bool return).
//  - size_t is UIntPtr; uint64_t/int64_t are ulong/long.
//  - Strings in are NUL-terminated UTF-8 byte[] made by Native.Utf8 (a byte[]
//    is blittable, so it is pinned for the call, never copied); null is NULL.
//  - Strings out are IntPtr, decoded by Native.FromUtf8 while their owner lives.
//  - Callbacks are the static readonly delegates of Callbacks (Attracker.cs),
//    whose targets are static methods marked [AOT.MonoPInvokeCallback].

using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Attracker
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void CompletionFn(uint status, IntPtr userData);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void DispatchFn(IntPtr result, IntPtr userData);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void LogFn(uint level, IntPtr message, IntPtr userData);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void DropFn(uint reason, IntPtr messageIds, UIntPtr count, IntPtr userData);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void TransportFn(IntPtr request, IntPtr userData);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void RemoteConfigFn(IntPtr json, IntPtr userData);

    /// <summary>at_dispatch_result: the C layout (uint32_t, then three uint64_t).</summary>
    // Its fields are written by native code only: [Preserve] keeps the linker
    // from removing them (the layout must match the C struct).
    [Preserve]
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeDispatchResult
    {
        public uint Status;
        public ulong Sent;
        public ulong Failed;
        public ulong Dropped;
    }

    /// <summary>at_stats, fields in header order. at_tracker_stats is given its size.</summary>
    [Preserve]
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeStats
    {
        public ulong Queued;
        public ulong Sent;
        public ulong Failed;
        public ulong DroppedOverflow;
        public ulong DroppedCorrupt;
        public ulong Deleted;
        public ulong DroppedStorage;
        public ulong DroppedUnsent;
        public ulong Committed;
        public ulong BytesOnDisk;
        public ulong DroppedRejected;
        public ulong DroppedAttempts;
        public ulong DroppedUnreachable;
        public ulong DroppedTooLarge;
        public ulong Requests;
        public ulong DroppedExpired;
        public ulong KeyRejected;
        public ulong NotReached;
        public ulong DroppedConsent;
        public ulong LongestWaitUs;
        public ulong WalPeakBytes;
    }

    [Preserve]
    internal static class Native
    {
#if UNITY_IOS && !UNITY_EDITOR
        // iOS links libattracker_native.a into the app binary: no dynamic library to load.
        internal const string Lib = "__Internal";
#else
        // libattracker_native.so (Android, Linux), attracker_native.dll (Windows),
        // attracker_native.bundle / libattracker_native.dylib (macOS). Never
        // "attracker": on a case-insensitive file system (Windows, macOS) a
        // native attracker.dll beside the managed Attracker.dll is the same name,
        // and Mono then never loads the native one (Tests/PackageTests.cs checks
        // that no managed assembly of the package has this name).
        internal const string Lib = NativeLibraryName;
#endif

        /// <summary>The native plugin's name without prefix or extension (Plugins/*/).</summary>
        internal const string NativeLibraryName = "attracker_native";

        // ---- strings ---------------------------------------------------------

        /// <summary>NUL-terminated UTF-8 for a C string parameter; null gives NULL.</summary>
        internal static byte[] Utf8(string s)
        {
            if (s == null)
                return null;
            int n = Encoding.UTF8.GetByteCount(s);
            var bytes = new byte[n + 1]; // the last byte stays 0
            Encoding.UTF8.GetBytes(s, 0, s.Length, bytes, 0);
            return bytes;
        }

        /// <summary>Decodes a NUL-terminated UTF-8 C string; NULL gives null.</summary>
        internal static string FromUtf8(IntPtr p)
        {
            if (p == IntPtr.Zero)
                return null;
            int len = 0;
            while (Marshal.ReadByte(p, len) != 0)
                len++;
            if (len == 0)
                return string.Empty;
            var bytes = new byte[len];
            Marshal.Copy(p, bytes, 0, len);
            return Encoding.UTF8.GetString(bytes);
        }

        internal static string LastError() => FromUtf8(at_last_error());

        internal static string StatusName(uint status) => FromUtf8(at_status_str(status));

        // ---- basics ----------------------------------------------------------

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_status_str(uint status);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_last_error();

        // ---- config ----------------------------------------------------------

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ConfigHandle at_config_new();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void at_config_free(IntPtr config);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_storage_path(ConfigHandle config, byte[] path);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_endpoint(ConfigHandle config, byte[] baseUrl);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_api_key(ConfigHandle config, byte[] key);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_offline_mode(ConfigHandle config, uint mode);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_durability(ConfigHandle config, uint durability);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_synchronous(ConfigHandle config, uint mode);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_flush_interval_ms(ConfigHandle config, uint ms);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_flush_threshold(ConfigHandle config, uint hits);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_max_queue_size(ConfigHandle config, uint hits);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_max_store_bytes(ConfigHandle config, ulong bytes);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_max_event_bytes(ConfigHandle config, uint bytes);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_max_attempts(ConfigHandle config, uint attempts);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_max_hit_age_ms(ConfigHandle config, ulong maxAgeMs);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_report_drops(ConfigHandle config, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_max_batch_events(ConfigHandle config, uint events);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_max_batch_bytes(ConfigHandle config, uint bytes);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_gzip(ConfigHandle config, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_auth_scheme(ConfigHandle config, uint scheme);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_timeouts_ms(ConfigHandle config, uint connectMs, uint requestMs);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_commit_window_ms(ConfigHandle config, uint ms);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_busy_timeout_ms(ConfigHandle config, uint ms);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_callback_mode(ConfigHandle config, uint mode);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_track_lifecycle_events(ConfigHandle config, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_flush_on_background(ConfigHandle config, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_transport(ConfigHandle config, TransportFn sendFn, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_remote_config_url(ConfigHandle config, byte[] url);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_remote_config_interval_ms(ConfigHandle config, uint ms);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_add_allowed_endpoint_host(ConfigHandle config, byte[] host);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_remote_config_callback(ConfigHandle config, RemoteConfigFn remoteConfigFn, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_opt_out_policy(ConfigHandle config, uint policy);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_require_https(ConfigHandle config, [MarshalAs(UnmanagedType.U1)] bool required);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_allow_world_writable_directory(ConfigHandle config, [MarshalAs(UnmanagedType.U1)] bool allowed);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_insecure_tls_for_development(ConfigHandle config, [MarshalAs(UnmanagedType.U1)] bool insecure);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_log_callback(ConfigHandle config, LogFn logFn, IntPtr userData, uint min);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_drop_callback(ConfigHandle config, DropFn dropFn, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_ca_bundle_path(ConfigHandle config, byte[] path);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_ca_bundle_pem(ConfigHandle config, byte[] pem);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_pinned_public_key(ConfigHandle config, byte[] pins);

        // ---- lifecycle -------------------------------------------------------

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_tracker_new(ConfigHandle config, out TrackerHandle tracker);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_tracker_close(TrackerHandle tracker, uint timeoutMs);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void at_tracker_free(IntPtr tracker);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_tracker_poll(TrackerHandle tracker, uint max);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_tracker_sync(TrackerHandle tracker);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_tracker_stats(TrackerHandle tracker, out NativeStats stats, UIntPtr size);

        // ---- tracking --------------------------------------------------------

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_track_event(TrackerHandle tracker, byte[] type, byte[] propertiesJson,
                                                   CompletionFn done, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_send_hit(TrackerHandle tracker, byte[] url, byte[] type,
                                                CompletionFn done, IntPtr userData);

        // ---- run time --------------------------------------------------------

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_flush(TrackerHandle tracker, DispatchFn done, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_offline_dispatch(TrackerHandle tracker, DispatchFn done, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_app_did_enter_background(TrackerHandle tracker, uint deadlineMs, DispatchFn done, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_app_will_enter_foreground(TrackerHandle tracker);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_set_offline_mode(TrackerHandle tracker, uint mode, CompletionFn done, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_get_offline_mode(TrackerHandle tracker, out uint mode);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_set_tracking_enabled(TrackerHandle tracker, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void at_string_free(IntPtr s);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_visitor_id(TrackerHandle tracker, out IntPtr id);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_visitor_id_reset(TrackerHandle tracker);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_set_visitor_id(TrackerHandle tracker, byte[] visitorId);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_opt_out(TrackerHandle tracker, uint policy, out ulong purged);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_remote_config_json(TrackerHandle tracker, out IntPtr json);

        /// <summary>Takes a string the library handed over (at_string_free after decoding).</summary>
        internal static string TakeString(IntPtr p)
        {
            try { return FromUtf8(p); }
            finally { if (p != IntPtr.Zero) at_string_free(p); }
        }

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_set_network_reachable(TrackerHandle tracker, [MarshalAs(UnmanagedType.U1)] bool reachable);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_set_api_key(TrackerHandle tracker, byte[] key);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_last_send_error(TrackerHandle tracker, out IntPtr message);

        // ---- inspection ------------------------------------------------------

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_offline_get(TrackerHandle tracker, out HitListHandle list);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_offline_get_page(TrackerHandle tracker, ulong afterId, uint limit, out HitListHandle list);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_offline_oldest(TrackerHandle tracker, out HitHandle hit);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_offline_latest(TrackerHandle tracker, out HitHandle hit);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_offline_count(TrackerHandle tracker, out ulong count);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_offline_delete(TrackerHandle tracker, out ulong deleted);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_offline_delete_older_than_days(TrackerHandle tracker, uint days, out ulong deleted);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_offline_delete_older_than(TrackerHandle tracker, long unixMs, out ulong deleted);

        // ---- hits (borrowed pointers: read them while their owner is referenced) --

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern UIntPtr at_hit_list_len(HitListHandle list);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_hit_list_get(HitListHandle list, UIntPtr index);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void at_hit_list_free(IntPtr list);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void at_hit_free(IntPtr hit);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_hit_url(IntPtr hit);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_hit_type(IntPtr hit);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_hit_message_id(IntPtr hit);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_hit_body(IntPtr hit);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern ulong at_hit_id(IntPtr hit);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern long at_hit_creation_date_ms(IntPtr hit);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_hit_retry_count(IntPtr hit);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        [return: MarshalAs(UnmanagedType.U1)]
        internal static extern bool at_hit_is_offline(IntPtr hit);

        // ---- requests: the host transport and exported batches ------------------
        //
        // An at_request* is owned by the host until it ends it exactly once
        // (at_transport_complete / at_offline_ack_batch), which frees it: not a
        // SafeHandle, since its "free" is the answer. TransportRequest and
        // ExportedBatch (Attracker.cs) own them.

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_request_method(IntPtr request);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_request_url(IntPtr request);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern UIntPtr at_request_header_count(IntPtr request);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_request_header_name(IntPtr request, UIntPtr index);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_request_header_value(IntPtr request, UIntPtr index);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr at_request_body(IntPtr request, out UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_request_set_response_content_type(IntPtr request, byte[] contentType);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_transport_complete(IntPtr request, int httpStatus, long retryAfterMs, byte[] error);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_offline_export_batch(TrackerHandle tracker, out IntPtr batch);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_offline_ack_batch(TrackerHandle tracker, IntPtr batch, [MarshalAs(UnmanagedType.U1)] bool delivered);

        // ---- the analytics client: configuration -----------------------------

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_context(ConfigHandle config, byte[] contextJson);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_session_timeouts_ms(ConfigHandle config, uint foregroundMs, uint backgroundMs);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_track_session_events(ConfigHandle config, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_config_set_initial_consent(ConfigHandle config, uint consent);

        // ---- the analytics client: identify, alias, group, screen, reset ------

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_identify(TrackerHandle tracker, byte[] userId, byte[] traitsJson,
                                                CompletionFn done, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_user_id(TrackerHandle tracker, out IntPtr userId);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_alias(TrackerHandle tracker, byte[] newUserId, CompletionFn done, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_group(TrackerHandle tracker, byte[] groupId, byte[] traitsJson,
                                             CompletionFn done, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_screen(TrackerHandle tracker, byte[] name, byte[] propertiesJson,
                                              CompletionFn done, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_reset(TrackerHandle tracker, uint what);

        // ---- the analytics client: context, super properties, sessions, consent --

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_set_context(TrackerHandle tracker, byte[] contextJson);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_register_super_properties(TrackerHandle tracker, byte[] propertiesJson);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_unregister_super_property(TrackerHandle tracker, byte[] key);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_session_start(TrackerHandle tracker);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_session_id(TrackerHandle tracker, out long sessionId);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_set_consent(TrackerHandle tracker, uint consent, out ulong purged);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint at_get_consent(TrackerHandle tracker, out uint consent);
    }

    // ---- SafeHandle owners -----------------------------------------------------
    //
    // A SafeHandle passed to a P/Invoke is reference-counted for the duration of
    // the call, so Dispose on one thread never frees a handle another thread is
    // using: the *_free runs when the last call in progress returns. That is what
    // makes `at_tracker_free must be the last call on its tracker` hold.

    /// <summary>Owns an at_config*; ReleaseHandle calls at_config_free.</summary>
    internal sealed class ConfigHandle : SafeHandle
    {
        public ConfigHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid => handle == IntPtr.Zero;
        protected override bool ReleaseHandle()
        {
            Native.at_config_free(handle);
            return true;
        }
    }

    /// <summary>
    /// Owns an at_tracker*; ReleaseHandle calls at_tracker_free (close with
    /// 2000 ms, then free), then frees the GCHandle of the tracker's log/drop
    /// sink, which the library may use until the free returns. In polled mode
    /// the callbacks still pending run inside the free, on the releasing thread
    /// (the finalizer thread if the Tracker was never disposed).
    /// </summary>
    internal sealed class TrackerHandle : SafeHandle
    {
        internal IntPtr SinkUserData; // GCHandle.ToIntPtr of the Sink, or zero

        public TrackerHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid => handle == IntPtr.Zero;
        protected override bool ReleaseHandle()
        {
            Native.at_tracker_free(handle);
            if (SinkUserData != IntPtr.Zero)
            {
                GCHandle.FromIntPtr(SinkUserData).Free();
                SinkUserData = IntPtr.Zero;
            }
            return true;
        }
    }

    /// <summary>Owns an at_hit_list* and its hits; ReleaseHandle calls at_hit_list_free.</summary>
    internal sealed class HitListHandle : SafeHandle
    {
        public HitListHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid => handle == IntPtr.Zero;
        protected override bool ReleaseHandle()
        {
            Native.at_hit_list_free(handle);
            return true;
        }
    }

    /// <summary>Owns an at_hit* from at_offline_oldest/latest; ReleaseHandle calls at_hit_free.</summary>
    internal sealed class HitHandle : SafeHandle
    {
        public HitHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid => handle == IntPtr.Zero;
        protected override bool ReleaseHandle()
        {
            Native.at_hit_free(handle);
            return true;
        }
    }
}
