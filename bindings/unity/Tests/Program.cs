// Tests of the Unity binding (Runtime/*.cs) against the built native library (libattracker_native.so),
// run under Mono by ctest twice: JIT (`unity_binding`) and full AOT
// (`unity_full_aot`, the IL2CPP-like check that every callback is AOT-safe).
//
//   mono AttrackerTests.exe [--expect-full-aot] [--package=path/to/package.json] [path/to/at_tracker.h]
//
// Prints PASS/FAIL per test and exits non-zero when any test failed. Stores go
// to fresh directories under the system temp directory, removed afterwards.
// The collector is an HttpListener on 127.0.0.1 only.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using Attracker;

static partial class Program
{
    const string Unreachable = "http://127.0.0.1:9"; // discard port: nothing listens
    const int WaitMs = 30000;                        // generous; a pass takes milliseconds

    static int failures;
    static bool expectFullAot;
    static string headerPath;
    static string packagePath;
    static int mainThread;

    static int Main(string[] args)
    {
        foreach (string a in args)
            if (a == "--expect-full-aot")
                expectFullAot = true;
            else if (a.StartsWith("--package="))
                packagePath = a.Substring("--package=".Length);
            else
                headerPath = a;
        mainThread = Thread.CurrentThread.ManagedThreadId;
        Console.WriteLine($"attracker {Tracker.Version}; {RuntimeDescription()}");

        Run("header_and_bindings_agree", HeaderAndBindingsAgree);
        Run("aot_control_unattributed_callback", AotControlUnattributedCallback);
        Run("offline_always_track_and_inspect", OfflineAlwaysTrackAndInspect);
        Run("delete_and_delete_older_than", DeleteAndDeleteOlderThan);
        Run("dispatch_to_local_collector", DispatchToLocalCollector);
        Run("host_transport_in_csharp", HostTransportInCSharp);
        Run("host_transport_failures", HostTransportFailures);
        RunHttpTransportTests();
        RunSampleTests();
        RunPackageTests();
        Run("export_batch_and_ack", ExportBatchAndAck);
        Run("lifecycle_background_and_foreground", LifecycleBackgroundAndForeground);
        Run("polled_callbacks_wait_for_poll_and_run_on_polling_thread", PolledCallbacksWaitForPoll);
        Run("close_runs_pending_callbacks_on_closing_thread", CloseRunsPendingCallbacks);
        Run("callback_may_dispose_its_tracker", CallbackMayDisposeItsTracker);
        Run("failed_calls_free_their_gchandle", FailedCallsFreeTheirGCHandle);
        Run("bad_json_is_invalid_argument", BadJsonIsInvalidArgument);
        Run("config_errors", ConfigErrors);
        Run("gate_and_reachability", GateAndReachability);
        Run("thread_mode_callbacks_run_on_library_thread", ThreadModeCallbacks);
        Run("callback_exceptions_go_to_handler", CallbackExceptionsGoToHandler);
        Run("dispose_twice_is_safe", DisposeTwiceIsSafe);
        Run("key_rejected_pauses_until_set_api_key", KeyRejectedPausesUntilSetApiKey);
        Run("portal_page_is_not_an_acknowledgement", PortalPageIsNotAnAcknowledgement);
        Run("max_hit_age_expires_failed_hits", MaxHitAgeExpiresFailedHits);
        Run("analytics_config_and_refused_calls", AnalyticsConfigAndRefusedCalls);
        Run("identify_keeps_the_user_id_across_reopen", IdentifyKeepsTheUserIdAcrossReopen);
        Run("analytics_calls_arrive_with_their_segment_fields", AnalyticsCallsArriveWithTheirSegmentFields);
        Run("reset_forgets_only_what_it_names", ResetForgetsOnlyWhatItNames);
        Run("sessions_start_and_go_on_across_a_reopen", SessionsStartAndGoOnAcrossAReopen);
        Run("consent_pending_granted_denied", ConsentPendingGrantedDenied);

        Console.WriteLine(failures == 0 ? "unity binding: all tests passed" : $"unity binding: {failures} test(s) FAILED");
        return failures == 0 ? 0 : 1;
    }

    static string RuntimeDescription()
    {
        Type mono = Type.GetType("Mono.Runtime");
        MethodInfo name = mono?.GetMethod("GetDisplayName", BindingFlags.NonPublic | BindingFlags.Static);
        return "mono " + (name != null ? (string)name.Invoke(null, null) : Environment.Version.ToString());
    }

    // ---- harness ---------------------------------------------------------------

    sealed class CheckFailed : Exception
    {
        public CheckFailed(string message) : base(message) { }
    }

    static void Run(string name, Action test)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            test();
            // Every test closes its trackers: every completion ran, every GCHandle is freed.
            Equal(0, Tracker.PendingCallbackCount, "GCHandles of callbacks still alive after the test");
            Console.WriteLine($"PASS {name} ({sw.ElapsedMilliseconds} ms)");
        }
        catch (Exception e)
        {
            failures++;
            Console.WriteLine($"FAIL {name}: {(e is CheckFailed ? e.Message + "\n" + e.StackTrace : e.ToString())}");
        }
    }

    static void Check(bool condition, string what)
    {
        if (!condition)
            throw new CheckFailed(what);
    }

    static void Equal(object expected, object actual, string what)
    {
        if (!Equals(expected, actual))
            throw new CheckFailed($"{what}: expected <{expected}>, got <{actual}>");
    }

    static AttrackerException Throws(Status code, Action call, string what)
    {
        try
        {
            call();
        }
        catch (AttrackerException e)
        {
            Equal(code, e.Code, what + ": exception code");
            Check(!string.IsNullOrEmpty(e.NativeMessage), what + ": the exception carries at_last_error()");
            return e;
        }
        throw new CheckFailed(what + ": no AttrackerException");
    }

    static void PollUntil(Tracker t, Func<bool> done, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!done())
        {
            if (sw.ElapsedMilliseconds > WaitMs)
                throw new CheckFailed("timed out waiting for " + what);
            t.Poll();
            Thread.Sleep(2);
        }
    }

    sealed class TempDir : IDisposable
    {
        public readonly string Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(),
            "attracker-unity-" + Guid.NewGuid().ToString("N"));

        public string Db(string name = "attracker.db") => System.IO.Path.Combine(Path, name);

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }

    static TrackerConfig Config(TempDir dir, OfflineMode mode, string endpoint = Unreachable) =>
        new TrackerConfig
        {
            StoragePath = dir.Db(),
            Endpoint = endpoint,
            OfflineMode = mode,
            FlushIntervalMs = 0, // nothing is sent unless the test asks
            FlushThreshold = 0,
        };

    // ---- the header and the bindings agree ----------------------------------

    static string CamelToUpperSnake(string s) => Regex.Replace(s, "(?<=[a-z0-9])([A-Z])", "_$1").ToUpperInvariant();

    static void HeaderAndBindingsAgree()
    {
        // Status names from the library itself.
        foreach (Status s in Enum.GetValues(typeof(Status)))
            Equal(s == Status.Ok ? "AT_OK" : "AT_ERR_" + CamelToUpperSnake(s.ToString()),
                  Native.StatusName((uint)s), "at_status_str((uint)Status." + s + ")");

        if (headerPath == null)
        {
            Console.WriteLine("  (no header path given: header checks skipped)");
            return;
        }
        string header = File.ReadAllText(headerPath);

        // 1. Every AT_* enumeration constant has a C# enum member with its value, and back.
        var prefixes = new[]
        {
            new KeyValuePair<string, Type>("AT_ERR_", typeof(Status)),
            new KeyValuePair<string, Type>("AT_OFFLINE_", typeof(OfflineMode)),
            new KeyValuePair<string, Type>("AT_DURABILITY_", typeof(Durability)),
            new KeyValuePair<string, Type>("AT_SYNCHRONOUS_", typeof(Synchronous)),
            new KeyValuePair<string, Type>("AT_CALLBACKS_", typeof(CallbackMode)),
            new KeyValuePair<string, Type>("AT_LOG_", typeof(LogLevel)),
            new KeyValuePair<string, Type>("AT_DROP_", typeof(DropReason)),
            new KeyValuePair<string, Type>("AT_AUTH_", typeof(AuthScheme)),
            new KeyValuePair<string, Type>("AT_OPT_OUT_", typeof(OptOutPolicy)),
            new KeyValuePair<string, Type>("AT_CONSENT_", typeof(Consent)),
            new KeyValuePair<string, Type>("AT_RESET_", typeof(ResetFlags)),
        };
        var seen = new Dictionary<string, bool>();
        int constants = 0;
        foreach (Match m in Regex.Matches(header, @"^#define (AT_[A-Z0-9_]+) (-?\d+)\s*$", RegexOptions.Multiline))
        {
            string name = m.Groups[1].Value;
            long value = long.Parse(m.Groups[2].Value);
            if (name.StartsWith("AT_VERSION_"))
                continue;
            if (name.StartsWith("AT_MAX_")) // limits, not an enumeration
            {
                string limit = null;
                foreach (FieldInfo f in typeof(Limits).GetFields())
                    if (CamelToUpperSnake(f.Name) == name.Substring("AT_".Length))
                        limit = f.Name;
                Check(limit != null, $"header constant {name} has no Limits constant");
                Equal(value, Convert.ToInt64(typeof(Limits).GetField(limit).GetValue(null)), "Limits." + limit);
                constants++;
                continue;
            }
            if (name.StartsWith("AT_TRANSPORT_")) // int32 http_status values, not an enumeration
            {
                string field = null;
                foreach (FieldInfo f in typeof(TransportStatus).GetFields())
                    if (CamelToUpperSnake(f.Name) == name.Substring("AT_TRANSPORT_".Length))
                        field = f.Name;
                Check(field != null, $"header constant {name} has no TransportStatus constant");
                Equal(value, Convert.ToInt64(typeof(TransportStatus).GetField(field).GetValue(null)), "TransportStatus." + field);
                constants++;
                continue;
            }
            Type type = name == "AT_OK" ? typeof(Status) : null;
            string member = name == "AT_OK" ? "OK" : null;
            foreach (var p in prefixes)
                if (type == null && name.StartsWith(p.Key))
                {
                    type = p.Value;
                    member = name.Substring(p.Key.Length);
                }
            Check(type != null, $"header constant {name} has no C# enum (add one to Runtime/Attracker.cs)");
            string found = null;
            foreach (string n in Enum.GetNames(type))
                if (CamelToUpperSnake(n) == member)
                    found = n;
            Check(found != null, $"header constant {name} has no member in enum {type.Name}");
            Equal(value, Convert.ToInt64(Enum.Parse(type, found)), $"{type.Name}.{found} vs {name}");
            seen[type.Name + "." + found] = true;
            constants++;
        }
        foreach (var p in prefixes)
            foreach (string n in Enum.GetNames(p.Value))
                Check(seen.ContainsKey(p.Value.Name + "." + n), $"{p.Value.Name}.{n} is not in the header");

        // 2. Every function of the header has a P/Invoke with the same name and
        //    parameter count, and nothing else is imported.
        string code = Regex.Replace(header, @"/\*.*?\*/|//[^\n]*", " ", RegexOptions.Singleline);
        code = Regex.Replace(code, @"\s+", " ");
        var functions = new Dictionary<string, int>();
        foreach (Match m in Regex.Matches(code, @"\b(at_[a-z0-9_]+) ?\(([^()]*)\) ?;"))
        {
            string ps = m.Groups[2].Value.Trim();
            functions[m.Groups[1].Value] = ps == "void" || ps == "" ? 0 : ps.Split(',').Length;
        }
        Check(functions.Count > 60, $"found only {functions.Count} functions in the header");
        var imported = new Dictionary<string, MethodInfo>();
        foreach (MethodInfo m in typeof(Native).GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
            if ((m.Attributes & MethodAttributes.PinvokeImpl) != 0)
                imported[m.Name] = m;
        foreach (var f in functions)
        {
            Check(imported.ContainsKey(f.Key), $"{f.Key} is in the header but has no [DllImport] in Native");
            Equal(f.Value, imported[f.Key].GetParameters().Length, f.Key + ": parameter count");
        }
        foreach (var name in imported.Keys)
            Check(functions.ContainsKey(name), $"Native.{name} is not in the header");

        // 3. Imports: the "attracker_native" library, cdecl; every C bool is one byte.
        foreach (MethodInfo m in imported.Values)
        {
            var dll = (DllImportAttribute)Attribute.GetCustomAttribute(m, typeof(DllImportAttribute));
            if (dll != null)
            {
                Equal("attracker_native", dll.Value, m.Name + ": library name");
                Equal(CallingConvention.Cdecl, dll.CallingConvention, m.Name + ": calling convention");
            }
            var ps = new List<ParameterInfo>(m.GetParameters()) { m.ReturnParameter };
            foreach (ParameterInfo p in ps)
                if (p.ParameterType == typeof(bool))
                {
                    var ma = (MarshalAsAttribute)Attribute.GetCustomAttribute(p, typeof(MarshalAsAttribute));
                    Check(ma != null && ma.Value == UnmanagedType.U1, $"{m.Name}: a bool needs [MarshalAs(UnmanagedType.U1)]");
                }
        }

        // 4. Structs: as many 64-bit counters as the header declares.
        Equal(CountStructFields(code, "at_stats"), typeof(NativeStats).GetFields().Length, "NativeStats fields vs at_stats");
        Equal(4, CountStructFields(code, "at_dispatch_result"), "at_dispatch_result fields");
        Equal(32, Marshal.SizeOf(typeof(NativeDispatchResult)), "sizeof(at_dispatch_result)");
        // Every at_stats field is a uint64_t: 8 bytes each, no padding.
        Equal(CountStructFields(code, "at_stats") * 8, Marshal.SizeOf(typeof(NativeStats)), "sizeof(at_stats)");
        //    ... and the same names in the same order (by offset, not by reflection order).
        var statsFields = new List<FieldInfo>(typeof(NativeStats).GetFields());
        statsFields.Sort((a, b) => Marshal.OffsetOf(typeof(NativeStats), a.Name).ToInt64()
            .CompareTo(Marshal.OffsetOf(typeof(NativeStats), b.Name).ToInt64()));
        string[] cStats = StructFieldNames(code, "at_stats");
        for (int i = 0; i < cStats.Length && i < statsFields.Count; i++)
            Equal(cStats[i], CamelToUpperSnake(statsFields[i].Name).ToLowerInvariant(), $"at_stats field {i}");

        // 5. The version.
        string version = string.Join(".", new[] { "MAJOR", "MINOR", "PATCH" }.Select_(
            k => Regex.Match(header, @"#define AT_VERSION_" + k + @" (\d+)").Groups[1].Value));
        Equal(version, Tracker.Version, "at_version() vs AT_VERSION_*");
        if (packagePath != null)
            Equal(version, Regex.Match(File.ReadAllText(packagePath), "\"version\"\\s*:\\s*\"([^\"]*)\"").Groups[1].Value,
                  "package.json version vs the library's");
        Console.WriteLine($"  {constants} constants, {functions.Count} functions checked");
    }

    static string[] Select_(this string[] xs, Func<string, string> f)
    {
        var r = new string[xs.Length];
        for (int i = 0; i < xs.Length; i++)
            r[i] = f(xs[i]);
        return r;
    }

    static string[] StructFieldNames(string code, string name)
    {
        Match m = Regex.Match(code, @"typedef struct \{([^}]*)\} " + name + ";");
        Check(m.Success, "struct " + name + " not found in the header");
        var names = new List<string>();
        foreach (Match f in Regex.Matches(m.Groups[1].Value, @"(\w+)\s*;"))
            names.Add(f.Groups[1].Value);
        return names.ToArray();
    }

    static int CountStructFields(string code, string name)
    {
        Match m = Regex.Match(code, @"typedef struct \{([^}]*)\} " + name + ";");
        Check(m.Success, "struct " + name + " not found in the header");
        return m.Groups[1].Value.Split(';').Length - 1;
    }

    // ---- the AOT check has teeth ------------------------------------------------

    // Deliberately NOT marked [AOT.MonoPInvokeCallback].
    static void Unattributed(uint status, IntPtr userData) { }

    /// <summary>
    /// Under full AOT (like IL2CPP) a callback without the attribute cannot get
    /// a native entry point: Mono throws ExecutionEngineException. Under the JIT
    /// it works. So the unity_full_aot run proves the attribute is what makes
    /// the binding's own callbacks work there.
    /// </summary>
    static void AotControlUnattributedCallback()
    {
        Exception error = null;
        try
        {
            Marshal.GetFunctionPointerForDelegate(new CompletionFn(Unattributed));
        }
        catch (Exception e)
        {
            error = e;
        }
#pragma warning disable 618 // ExecutionEngineException is obsolete, and what Mono throws here
        if (expectFullAot)
        {
            Check(error is ExecutionEngineException,
                  "full AOT: an unattributed callback must fail to marshal (got " + (error?.GetType().Name ?? "no exception") + ")");
            Console.WriteLine("  full AOT: an unattributed callback throws " + error.GetType().Name + " (expected)");
        }
        else
            Check(error == null, "JIT: an unattributed callback marshals: " + error);
#pragma warning restore 618
    }

    // ---- offline inspection -----------------------------------------------

    static void OfflineAlwaysTrackAndInspect()
    {
        using (var dir = new TempDir())
        using (Tracker t = Tracker.Create(Config(dir, OfflineMode.Always)))
        {
            Equal(CallbackMode.Polled, t.CallbackMode, "the default callback mode");
            Equal(OfflineMode.Always, t.OfflineMode, "OfflineMode");
            Equal(0L, t.Offline.Count(), "empty store count");
            Check(t.Offline.Oldest() == null && t.Offline.Latest() == null, "empty store: Oldest/Latest are null");
            Equal(0, t.Offline.Get().Length, "empty store Get()");

            long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            const string unicode = "{\"screen\":\"caf\u00e9 \u2615 \ud83c\udfae\",\"n\":1}";
            t.TrackEvent("screen_view", unicode);
            t.TrackEvent("purchase", "{\"sku\":\"A-113\",\"price\":9.99}");
            t.TrackEvent("no_properties");
            t.SendHit("https://logs.example.com/hit.xiti?s=1&p=home", "screen");
            t.SendHit("https://logs.example.com/hit.xiti?s=1&p=untyped");
            long after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

            Equal(5L, t.Offline.Count(), "Count()");
            Hit[] hits = t.Offline.Get();
            Equal(5, hits.Length, "Get().Length");
            string[] types = { "screen_view", "purchase", "no_properties", "screen", "" };
            var ids = new Dictionary<string, bool>();
            for (int i = 0; i < hits.Length; i++)
            {
                Hit h = hits[i];
                Equal(types[i], h.Type, $"hits[{i}].Type");
                Check(i == 0 || h.Id > hits[i - 1].Id, "ids grow in store order");
                Check(Regex.IsMatch(h.MessageId, "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
                      $"hits[{i}].MessageId is a UUID v4: {h.MessageId}");
                Check(!ids.ContainsKey(h.MessageId), "message ids are unique");
                ids[h.MessageId] = true;
                Check(h.IsOffline, $"hits[{i}] tracked in ALWAYS mode is offline");
                Equal(0u, h.RetryCount, $"hits[{i}].RetryCount");
                Check(h.CreationDateMs >= before - 1000 && h.CreationDateMs <= after + 1000,
                      $"hits[{i}] created between {before} and {after}: {h.CreationDateMs}");
                Equal(DateTimeKind.Utc, h.CreationDate.Kind, "CreationDate is UTC");
                Check(Math.Abs((h.CreationDate - DateTime.UtcNow).TotalMinutes) < 5, "CreationDate is now");
            }
            Equal(unicode, hits[0].Body, "UTF-8 round trip of the properties");
            Equal(Unreachable + "/v1/batch", hits[0].Url, "an event's Url is the batch URL");
            Equal("{}", hits[2].Body, "an event tracked without properties");
            Check(hits[2].IsEvent, "an event without properties is an event");
            Equal(null, hits[3].Body, "a URL hit has no body");
            Check(!hits[3].IsEvent, "a URL hit is not an event");
            Equal("https://logs.example.com/hit.xiti?s=1&p=home", hits[3].Url, "URL hit Url");

            Equal(hits[0].MessageId, t.Offline.Oldest().MessageId, "Oldest()");
            Equal(hits[4].MessageId, t.Offline.Latest().MessageId, "Latest()");

            // Pages of two: 2 + 2 + 1, then empty.
            var paged = new List<Hit>();
            ulong cursor = 0;
            for (int pages = 0; ; pages++)
            {
                Check(pages < 10, "paging ends");
                Hit[] page = t.Offline.GetPage(cursor, 2);
                if (page.Length == 0)
                    break;
                Check(page.Length <= 2, "a page holds at most its limit");
                paged.AddRange(page);
                cursor = page[page.Length - 1].Id;
            }
            Equal(5, paged.Count, "hits over all pages");
            for (int i = 0; i < 5; i++)
                Equal(hits[i].MessageId, paged[i].MessageId, $"paged[{i}]");
            Throws(Status.InvalidArgument, () => t.Offline.GetPage(0, 0), "GetPage(limit 0)");

            Equal(0, t.Poll(), "nothing to poll: no callbacks were registered");
        }
    }

    static void DeleteAndDeleteOlderThan()
    {
        using (var dir = new TempDir())
        {
            var dropped = new List<string>();
            var dropThreads = new List<int>();
            TrackerConfig cfg = Config(dir, OfflineMode.Always);
            cfg.OnDrop = (reason, messageIds) =>
            {
                Equal(DropReason.Deleted, reason, "drop reason");
                dropped.AddRange(messageIds);
                dropThreads.Add(Thread.CurrentThread.ManagedThreadId);
            };
            using (Tracker t = Tracker.Create(cfg))
            {
                t.TrackEvent("old1");
                t.TrackEvent("old2");
                Thread.Sleep(30);
                DateTime cutoff = DateTime.UtcNow;
                Thread.Sleep(30);
                t.TrackEvent("new1");
                t.SendHit("https://logs.example.com/new2", "screen");
                t.TrackEvent("new3");
                var all = new List<string>();
                foreach (Hit h in t.Offline.Get())
                    all.Add(h.MessageId);
                Equal(5, all.Count, "stored");

                Equal(0L, t.Offline.DeleteOlderThanDays(30), "DeleteOlderThanDays(30)");
                Equal(0L, t.Offline.DeleteOlderThan(cutoff.AddHours(-1)), "DeleteOlderThan(an hour before the cutoff)");
                Equal(2L, t.Offline.DeleteOlderThan(cutoff), "DeleteOlderThan(cutoff, UTC)");
                Equal(3L, t.Offline.Count(), "count after DeleteOlderThan");
                Equal("new1", t.Offline.Oldest().Type, "oldest after DeleteOlderThan");
                // A local DateTime is the same instant.
                Equal(0L, t.Offline.DeleteOlderThan(cutoff.ToLocalTime()), "DeleteOlderThan(cutoff, local)");

                Thread.Sleep(5);
                Equal(3L, t.Offline.DeleteOlderThanDays(0), "DeleteOlderThanDays(0): every hit created before now");
                t.TrackEvent("last");
                all.Add(t.Offline.Latest().MessageId);
                Equal(1L, t.Offline.Delete(), "Delete()");
                Equal(0L, t.Offline.Count(), "count after Delete()");
                Check(t.Offline.Oldest() == null, "Oldest() after Delete()");
                Equal(0L, t.Offline.Delete(), "Delete() on an empty store");

                // Polled: the drop notices wait for Poll, then arrive on this thread.
                Equal(0, dropped.Count, "drop notices before Poll");
                PollUntil(t, () => dropped.Count >= all.Count, "the drop notices of the deleted hits");
                all.Sort(StringComparer.Ordinal);
                dropped.Sort(StringComparer.Ordinal);
                Equal(string.Join(",", all), string.Join(",", dropped), "every deleted hit is reported once by message id");
                foreach (int id in dropThreads)
                    Equal(mainThread, id, "drop callback thread");
                Equal(6L, t.Stats().Deleted, "Stats().Deleted");
            }
        }
    }

    // ---- delivery to a local collector ---------------------------------------

    /// <summary>
    /// A tiny collector: POST /v1/batch bodies and GET hits, on 127.0.0.1 only,
    /// answering 200 to everything it records.
    /// </summary>
    sealed class Collector : IDisposable
    {
        readonly HttpListener listener;
        readonly Thread thread;
        readonly object mu = new object();
        public readonly string BaseUrl;
        public readonly List<string> Batches = new List<string>();
        public readonly List<string> Authorizations = new List<string>();
        public readonly List<string> Gets = new List<string>();
        public readonly List<string> Errors = new List<string>();

        public Collector()
        {
            for (int attempt = 0; listener == null; attempt++)
            {
                var probe = new TcpListener(IPAddress.Loopback, 0);
                probe.Start();
                int port = ((IPEndPoint)probe.LocalEndpoint).Port;
                probe.Stop();
                var l = new HttpListener();
                l.Prefixes.Add($"http://127.0.0.1:{port}/");
                try
                {
                    l.Start();
                    listener = l;
                    BaseUrl = $"http://127.0.0.1:{port}";
                }
                catch (Exception) when (attempt < 10) // the port was taken meanwhile
                {
                    l.Close();
                }
            }
            thread = new Thread(Serve) { IsBackground = true, Name = "collector" };
            thread.Start();
        }

        void Serve()
        {
            for (;;)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = listener.GetContext();
                }
                catch (Exception) // stopped
                {
                    return;
                }
                try
                {
                    Handle(ctx);
                }
                catch (Exception e)
                {
                    lock (mu)
                        Errors.Add(e.ToString());
                }
            }
        }

        void Handle(HttpListenerContext ctx)
        {
            HttpListenerRequest req = ctx.Request;
            string body;
            using (var reader = new StreamReader(req.InputStream, new UTF8Encoding(false)))
                body = reader.ReadToEnd();
            int status = 200;
            lock (mu)
            {
                if (req.HttpMethod == "POST" && req.Url.AbsolutePath == "/v1/batch")
                {
                    Batches.Add(body);
                    Authorizations.Add(req.Headers["Authorization"]);
                }
                else if (req.HttpMethod == "GET")
                    Gets.Add(req.RawUrl);
                else
                {
                    status = 404;
                    Errors.Add($"unexpected {req.HttpMethod} {req.RawUrl}");
                }
            }
            byte[] reply = Encoding.ASCII.GetBytes("{}");
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            ctx.Response.ContentLength64 = reply.Length;
            ctx.Response.OutputStream.Write(reply, 0, reply.Length);
            ctx.Response.Close();
        }

        public T Locked<T>(Func<T> f)
        {
            lock (mu)
                return f();
        }

        public void Dispose()
        {
            listener.Stop();
            listener.Close();
            thread.Join(5000);
        }
    }

    static void DispatchToLocalCollector()
    {
        using (var collector = new Collector())
        using (var dir = new TempDir())
        {
            TrackerConfig cfg = Config(dir, OfflineMode.Always, collector.BaseUrl);
            cfg.ApiKey = "pk_test_unity";
            using (Tracker t = Tracker.Create(cfg))
            {
                const int events = 25;
                for (int i = 0; i < events; i++)
                {
                    string props = "{\"level\":" + i + ",\"name\":\"nível " + i + "\"}";
                    t.TrackEvent(i % 2 == 0 ? "level_start" : "level_end", props);
                }
                t.SendHit(collector.BaseUrl + "/hit.xiti?s=1&p=home", "screen");
                t.SendHit(collector.BaseUrl + "/hit.xiti?s=1&p=shop&x=%C3%A9", "screen");

                var eventIds = new Dictionary<string, string>(); // message id -> properties
                foreach (Hit h in t.Offline.Get())
                    if (h.IsEvent)
                        eventIds[h.MessageId] = h.Body;
                Equal(events, eventIds.Count, "stored events");
                Equal(0, collector.Locked(() => collector.Batches.Count + collector.Gets.Count),
                      "ALWAYS mode sends nothing by itself");

                DispatchResult? result = null;
                int thread = 0;
                t.Dispatch(r =>
                {
                    result = r;
                    thread = Thread.CurrentThread.ManagedThreadId;
                });
                PollUntil(t, () => result.HasValue, "the dispatch result");
                Equal(mainThread, thread, "dispatch callback thread");
                Equal(Status.Ok, result.Value.Status, "dispatch status (" + result.Value + ")");
                Equal((long)events + 2, result.Value.Sent, "dispatch sent");
                Equal(0L, result.Value.Failed, "dispatch failed");
                Equal(0L, result.Value.Dropped, "dispatch dropped");
                Equal(0L, t.Offline.Count(), "acknowledged hits are deleted");

                string[] batches = collector.Locked(() => collector.Batches.ToArray());
                string[] gets = collector.Locked(() => collector.Gets.ToArray());
                Equal("", string.Join("\n", collector.Locked(() => collector.Errors.ToArray())), "collector errors");
                Check(batches.Length >= 1, "at least one batch arrived");
                var arrived = new Dictionary<string, int>();
                foreach (string body in batches)
                {
                    Check(body.Contains("\"sentAt\"") && body.Contains("\"batch\""), "a batch body: " + body);
                    foreach (Match m in Regex.Matches(body, "\"messageId\"\\s*:\\s*\"([0-9a-f-]{36})\""))
                        arrived[m.Groups[1].Value] = arrived.TryGetValue(m.Groups[1].Value, out int n) ? n + 1 : 1;
                }
                foreach (var e in eventIds)
                {
                    Check(arrived.ContainsKey(e.Key), "message " + e.Key + " arrived at the collector");
                    Check(string.Join("", batches).Contains(e.Value), "properties arrive verbatim: " + e.Value);
                }
                Equal(events, arrived.Count, "distinct message ids at the collector");
                foreach (string auth in collector.Locked(() => collector.Authorizations.ToArray()))
                    Equal("Bearer pk_test_unity", auth, "Authorization header");
                Array.Sort(gets, StringComparer.Ordinal);
                Equal("/hit.xiti?s=1&p=home,/hit.xiti?s=1&p=shop&x=%C3%A9", string.Join(",", gets), "URL hits by GET");

                Stats_(t, events + 2);
            }
        }
    }

    static void Stats_(Tracker t, int sent)
    {
        TrackerStats s = t.Stats();
        Equal((long)sent, s.Sent, "Stats().Sent");
        Equal((long)sent, s.Committed, "Stats().Committed");
        Equal(0L, s.Queued, "Stats().Queued");
        Check(s.Requests >= 3, "Stats().Requests: a batch and two GETs at least");
        Check(s.BytesOnDisk > 0, "Stats().BytesOnDisk");
    }

    /// <summary>
    /// A host transport for the tests: performs the request with a minimal
    /// HTTP/1.1 client on its own thread (as a UnityWebRequest would run), then
    /// completes it from there. (HttpWebRequest needs machine.config's prefix
    /// registrations, which the private full-AOT runtime does not have.)
    /// </summary>
    static void SendOnAThread(TransportRequest req, List<Exception> errors)
    {
        var th = new Thread(() =>
        {
            try
            {
                var uri = new Uri(req.Url);
                int status;
                try
                {
                    status = HttpExchange(uri, req.Method, req.Headers, req.Body);
                }
                catch (SocketException e)
                {
                    req.Fail(e.Message, serverReached: false);
                    return;
                }
                catch (IOException e)
                {
                    req.Fail(e.Message, serverReached: true);
                    return;
                }
                req.Complete(status);
            }
            catch (Exception e) // a bug in the test: fail the request, report it
            {
                lock (errors)
                    errors.Add(e);
                if (!req.IsEnded)
                    req.Fail(e.Message);
            }
        });
        th.IsBackground = true;
        th.Start();
    }

    /// <summary>One request on its own connection; returns the response's status code.</summary>
    static int HttpExchange(Uri uri, string method, KeyValuePair<string, string>[] headers, byte[] body)
    {
        using (var client = new TcpClient())
        {
            client.Connect(uri.Host, uri.Port);
            NetworkStream stream = client.GetStream();
            var head = new StringBuilder();
            head.Append(method).Append(' ').Append(uri.PathAndQuery).Append(" HTTP/1.1\r\n");
            head.Append("Host: ").Append(uri.Authority).Append("\r\n");
            head.Append("Connection: close\r\n");
            foreach (var h in headers)
                head.Append(h.Key).Append(": ").Append(h.Value).Append("\r\n");
            if (method == "POST")
                head.Append("Content-Length: ").Append(body.Length).Append("\r\n");
            head.Append("\r\n");
            byte[] h8 = Encoding.UTF8.GetBytes(head.ToString());
            stream.Write(h8, 0, h8.Length);
            stream.Write(body, 0, body.Length);
            var reader = new StreamReader(stream, Encoding.ASCII);
            string statusLine = reader.ReadLine() ?? throw new IOException("no response");
            Match m = Regex.Match(statusLine, @"^HTTP/1\.[01] (\d{3})");
            if (!m.Success)
                throw new IOException("bad status line: " + statusLine);
            reader.ReadToEnd();
            return int.Parse(m.Groups[1].Value);
        }
    }

    static void HostTransportInCSharp()
    {
        using (var collector = new Collector())
        using (var dir = new TempDir())
        {
            var transportThreads = new List<int>();
            var methods = new List<string>();
            var errors = new List<Exception>();
            TrackerConfig cfg = Config(dir, OfflineMode.Required, collector.BaseUrl);
            cfg.ApiKey = "pk_transport";
            cfg.Transport = req =>
            {
                transportThreads.Add(Thread.CurrentThread.ManagedThreadId);
                methods.Add(req.Method);
                if (req.Method == "POST")
                    Equal("Bearer pk_transport", req.Header("authorization"), "the batch's Authorization header");
                SendOnAThread(req, errors); // returns at once; completes from its thread
            };
            using (Tracker t = Tracker.Create(cfg))
            {
                var ids = new List<string>();
                for (int i = 0; i < 5; i++)
                    t.TrackEvent("via_transport", "{\"i\":" + i + "}");
                foreach (Hit h in t.Offline.Get())
                    ids.Add(h.MessageId);
                t.SendHit(collector.BaseUrl + "/hit?via=transport", "screen");

                DispatchResult? result = null;
                t.Dispatch(r => result = r);
                PollUntil(t, () => result.HasValue, "the dispatch through the C# transport");
                lock (errors)
                    Equal("", string.Join("\n", errors), "transport errors");
                Equal(Status.Ok, result.Value.Status, "dispatch status (" + result.Value + ")");
                Equal(6L, result.Value.Sent, "sent through the transport");
                Equal(0L, t.Offline.Count(), "acknowledged and deleted");
                Check(transportThreads.Count >= 2, "the transport ran for the batch and the URL hit");
                foreach (int id in transportThreads)
                    Equal(mainThread, id, "polled mode: the transport is called on the polling thread");
                Check(methods.Contains("POST") && methods.Contains("GET"), "a POST and a GET: " + string.Join(",", methods));

                string bodies = string.Join("\n", collector.Locked(() => collector.Batches.ToArray()));
                foreach (string id in ids)
                    Check(bodies.Contains(id), "message " + id + " arrived through the C# transport");
                Equal("/hit?via=transport", string.Join(",", collector.Locked(() => collector.Gets.ToArray())), "the URL hit");
                Equal("Bearer pk_transport", collector.Locked(() => collector.Authorizations[0]), "Authorization at the collector");
            }
        }
    }

    static void HostTransportFailures()
    {
        using (var dir = new TempDir())
        {
            string mode = "unreachable";
            TransportRequest kept = null;
            var caught = new List<Exception>();
            Action<Exception> handler = e => caught.Add(e);
            TrackerConfig cfg = Config(dir, OfflineMode.Always);
            cfg.Transport = req =>
            {
                switch (mode)
                {
                    case "unreachable":
                        req.Fail("no route (test)");
                        try
                        {
                            req.Fail("twice");
                            throw new CheckFailed("a second Fail did not throw");
                        }
                        catch (InvalidOperationException)
                        {
                        }
                        break;
                    case "throw":
                        throw new InvalidOperationException("transport bug (test)");
                    case "bad status then 503":
                        try
                        {
                            req.Complete(42);
                            throw new CheckFailed("Complete(42) did not throw");
                        }
                        catch (AttrackerException e)
                        {
                            Equal(Status.InvalidArgument, e.Code, "Complete(42)");
                        }
                        Check(!req.IsEnded, "a refused Complete leaves the request open");
                        kept = req;
                        req.Complete(503);
                        Check(req.IsEnded, "ended");
                        break;
                }
            };
            Tracker.CallbackException += handler;
            try
            {
                using (Tracker t = Tracker.Create(cfg))
                {
                    t.TrackEvent("e1");
                    t.TrackEvent("e2");
                    foreach (string m in new[] { "unreachable", "throw", "bad status then 503" })
                    {
                        mode = m;
                        DispatchResult? result = null;
                        t.Dispatch(r => result = r);
                        PollUntil(t, () => result.HasValue, "the dispatch (" + m + ")");
                        Equal(Status.Network, result.Value.Status, m + ": dispatch status (" + result.Value + ")");
                        Equal(0L, result.Value.Sent, m + ": nothing sent");
                        Equal(2L, t.Offline.Count(), m + ": the hits stay stored");
                    }
                    Equal(1, caught.Count, "the throwing transport was reported");
                    Check(kept != null && kept.IsEnded, "the 503 request was ended");
                    Equal(1u, t.Offline.Oldest().RetryCount, "the 503 counted one attempt; unreachable and the throw none");
                }
            }
            finally
            {
                Tracker.CallbackException -= handler;
            }
        }
    }

    static void ExportBatchAndAck()
    {
        using (var dir = new TempDir())
        {
            TrackerConfig cfg = Config(dir, OfflineMode.Always);
            cfg.ApiKey = "pk_export";
            using (Tracker t = Tracker.Create(cfg))
            {
                Check(t.Offline.ExportBatch() == null, "nothing to export in an empty store");
                t.TrackEvent("x1", "{\"n\":1}");
                t.TrackEvent("x2", "{\"n\":2}");
                t.SendHit("https://logs.example.com/never-exported", "screen");
                t.TrackEvent("x3", "{\"n\":3}");
                var ids = new List<string>();
                foreach (Hit h in t.Offline.Get())
                    if (h.IsEvent)
                        ids.Add(h.MessageId);

                ExportedBatch b = t.Offline.ExportBatch();
                Check(b != null, "a batch");
                Equal("POST", b.Method, "Method");
                Equal(Unreachable + "/v1/batch", b.Url, "Url");
                Check((b.Header("Content-Type") ?? "").StartsWith("application/json"), "Content-Type: " + b.Header("Content-Type"));
                Equal("Bearer pk_export", b.Header("Authorization"), "Authorization");
                string body = Encoding.UTF8.GetString(b.Body);
                foreach (string id in ids)
                    Check(body.Contains(id), "the batch holds " + id);
                Check(!body.Contains("never-exported"), "URL hits are never exported");
                Check(t.Offline.ExportBatch() == null, "the leased events are not exported twice");

                b.Ack(false);
                Check(b.IsEnded, "ended");
                try
                {
                    b.Ack(true);
                    throw new CheckFailed("a second Ack did not throw");
                }
                catch (InvalidOperationException)
                {
                }
                Equal(4L, t.Offline.Count(), "Ack(false): back in the queue");

                ExportedBatch again = t.Offline.ExportBatch();
                string body2 = Encoding.UTF8.GetString(again.Body);
                foreach (string id in ids)
                    Check(body2.Contains(id), "re-exported " + id);
                again.Ack(true);
                Equal(1L, t.Offline.Count(), "Ack(true) deleted the events; the URL hit stays");
                Check(t.Offline.ExportBatch() == null, "nothing left to export");
            }
        }
    }

    static void LifecycleBackgroundAndForeground()
    {
        using (var collector = new Collector())
        using (var dir = new TempDir())
        {
            using (Tracker t = Tracker.Create(Config(dir, OfflineMode.Required, collector.BaseUrl)))
            {
                t.TrackEvent("before_pause");
                DispatchResult? result = null;
                t.AppDidEnterBackground(10000, r => result = r);
                PollUntil(t, () => result.HasValue, "the background flush");
                Equal(Status.Ok, result.Value.Status, "background flush status (" + result.Value + ")");
                Equal(2L, result.Value.Sent, "the event and \"Application Backgrounded\" were sent");
                string bodies = string.Join("\n", collector.Locked(() => collector.Batches.ToArray()));
                Check(bodies.Contains("\"Application Backgrounded\""), "Application Backgrounded arrived");
                Check(bodies.Contains("\"before_pause\""), "the tracked event arrived");

                t.AppWillEnterForeground();
                var sw = Stopwatch.StartNew();
                while (!string.Join("", collector.Locked(() => collector.Batches.ToArray())).Contains("Application Opened"))
                {
                    Hit latest = t.Offline.Latest();
                    if (latest != null && latest.Type == "Application Opened")
                        break; // stored, waiting for a trigger: also fine
                    Check(sw.ElapsedMilliseconds < WaitMs, "Application Opened recorded");
                    Thread.Sleep(5);
                }
            }
        }
        using (var dir = new TempDir())
        {
            TrackerConfig cfg = Config(dir, OfflineMode.Always);
            cfg.TrackLifecycleEvents = false;
            cfg.FlushOnBackground = false;
            using (Tracker t = Tracker.Create(cfg))
            {
                DispatchResult? result = null;
                t.AppDidEnterBackground(1000, r => result = r);
                PollUntil(t, () => result.HasValue, "the background notification");
                Equal(Status.Ok, result.Value.Status, "no flush on background: Ok at once");
                Equal(0L, result.Value.Sent, "no flush on background: nothing sent");
                t.AppWillEnterForeground();
                Equal(0L, t.Offline.Count(), "no lifecycle events recorded");
            }
        }
    }

    // ---- callbacks -------------------------------------------------------------

    static void PolledCallbacksWaitForPoll()
    {
        using (var dir = new TempDir())
        using (Tracker t = Tracker.Create(Config(dir, OfflineMode.Always)))
        {
            var ran = new List<string>();
            var threads = new List<int>();
            Action<string> record = what =>
            {
                lock (ran)
                {
                    ran.Add(what);
                    threads.Add(Thread.CurrentThread.ManagedThreadId);
                }
            };
            t.TrackEvent("a", null, s => record("a " + s));
            t.TrackEvent("b", "{}", s => record("b " + s));
            t.SendHit("https://logs.example.com/c", "screen", s => record("c " + s));
            t.SetOfflineMode(OfflineMode.Always, s => record("mode " + s));
            t.Dispatch(r => record("dispatch " + r.Status)); // to a closed port: Network
            Equal(5, Tracker.PendingCallbackCount, "one GCHandle per registered callback");

            Thread.Sleep(300);
            Equal(0, ran.Count, "nothing runs until Poll");
            Equal(5, Tracker.PendingCallbackCount, "still pending before Poll");

            Equal(1, t.Poll(1), "Poll(1) runs one callback");
            Equal("a Ok", ran[0], "callbacks run in order");
            Equal(mainThread, threads[0], "Poll(1) ran it on the calling thread");

            // Another thread polls: the rest run there.
            int poller = 0;
            var th = new Thread(() =>
            {
                poller = Thread.CurrentThread.ManagedThreadId;
                var sw = Stopwatch.StartNew();
                while (Volatile.Read(ref poller) != 0 && sw.ElapsedMilliseconds < WaitMs)
                {
                    t.Poll();
                    lock (ran)
                        if (ran.Count == 5)
                            break;
                    Thread.Sleep(2);
                }
            });
            th.Start();
            th.Join();
            lock (ran)
            {
                Equal("a Ok,b Ok,c Ok", string.Join(",", ran.GetRange(0, 3)), "completions run in order");
                var sorted = new List<string>(ran);
                sorted.Sort(StringComparer.Ordinal);
                Equal("a Ok,b Ok,c Ok,dispatch Network,mode Ok", string.Join(",", sorted), "every callback ran once");
                for (int i = 1; i < threads.Count; i++)
                    Equal(poller, threads[i], $"callback {ran[i]} ran on the polling thread");
            }
            Check(poller != mainThread, "the poller is another thread");
            Equal(0, Tracker.PendingCallbackCount, "every GCHandle freed after its call");
            Equal(0, t.Poll(), "nothing left");
        }
    }

    static void CloseRunsPendingCallbacks()
    {
        using (var dir = new TempDir())
        {
            Tracker t = Tracker.Create(Config(dir, OfflineMode.Always));
            var ran = new List<string>();
            var threads = new List<int>();
            t.TrackEvent("a", null, s => { ran.Add("a " + s); threads.Add(Thread.CurrentThread.ManagedThreadId); });
            t.Dispatch(r => { ran.Add("dispatch"); threads.Add(Thread.CurrentThread.ManagedThreadId); });
            Thread.Sleep(100);
            Equal(0, ran.Count, "nothing ran before Close");

            int closer = 0;
            var th = new Thread(() =>
            {
                closer = Thread.CurrentThread.ManagedThreadId;
                Check(t.Close(1000), "Close() closes");
            });
            th.Start();
            th.Join();
            Equal(2, ran.Count, "Close ran the pending callbacks: " + string.Join(",", ran));
            Equal("a Ok", ran[0], "the completion");
            foreach (int id in threads)
                Equal(closer, id, "pending callbacks run on the closing thread");
            Equal(0, Tracker.PendingCallbackCount, "GCHandles freed by Close");
            Check(!t.Close(1000), "a second Close returns false");
            Equal(0, t.Poll(), "Poll after Close");
            Throws(Status.Closed, () => t.TrackEvent("late"), "TrackEvent after Close");
            Throws(Status.Closed, () => t.Dispatch(r => { }), "Dispatch after Close");
            Equal(0, Tracker.PendingCallbackCount, "a refused Dispatch frees its GCHandle");
            t.Dispose();
            Check(t.IsDisposed, "IsDisposed");
        }
    }

    static void CallbackMayDisposeItsTracker()
    {
        using (var dir = new TempDir())
        {
            Tracker t = Tracker.Create(Config(dir, OfflineMode.Always));
            var ran = new List<string>();
            t.TrackEvent("a", null, s => { ran.Add("a " + s); t.Dispose(); });
            t.TrackEvent("b", null, s => ran.Add("b " + s));
            PollUntil(t, () => ran.Count == 2 || t.IsDisposed, "the callbacks");
            Check(t.IsDisposed, "disposed from its own callback");
            Equal("a Ok,b Ok", string.Join(",", ran), "both callbacks ran once");
            Equal(0, t.Poll(), "Poll after Dispose");
            t.Dispose();
        }
        using (var dir = new TempDir())
        using (Tracker t = Tracker.Create(Config(dir, OfflineMode.Always)))
        {
            // ... and a callback may call back in.
            bool done = false;
            t.TrackEvent("outer", null, s => t.TrackEvent("inner", null, s2 => done = true));
            PollUntil(t, () => done, "the nested completion");
            Equal(2L, t.Offline.Count(), "both hits stored");
        }
    }

    static void FailedCallsFreeTheirGCHandle()
    {
        using (var dir = new TempDir())
        using (Tracker t = Tracker.Create(Config(dir, OfflineMode.Always)))
        {
            int called = 0;
            Action<Status> done = s => called++;
            Equal(0, Tracker.PendingCallbackCount, "baseline");
            Throws(Status.InvalidArgument, () => t.TrackEvent("", "{}", done), "empty event type");
            Throws(Status.InvalidArgument, () => t.TrackEvent("e", "[1,2]", done), "properties not an object");
            Throws(Status.NullArgument, () => t.TrackEvent(null, "{}", done), "null event type");
            Throws(Status.InvalidArgument, () => t.SendHit("not a url", "screen", done), "bad URL");
            Throws(Status.InvalidArgument, () => t.SetOfflineMode((OfflineMode)7, done), "bad offline mode");
            Equal(Status.InvalidArgument, t.TryTrackEvent("e", "{", done), "TryTrackEvent returns the status");
            Equal(Status.InvalidArgument, t.TrySendHit("ftp://x/y", null, done), "TrySendHit returns the status");
            Equal(0, Tracker.PendingCallbackCount, "a failed call frees its GCHandle at once");

            t.SetTrackingEnabled(false);
            Throws(Status.Suppressed, () => t.TrackEvent("e", "{}", done), "tracking disabled");
            t.SetTrackingEnabled(true);
            Equal(0, Tracker.PendingCallbackCount, "after Suppressed");

            Thread.Sleep(50);
            t.Poll();
            Equal(0, called, "a completion of a failed call never runs");

            t.TrackEvent("ok", "{}", done);
            Equal(1, Tracker.PendingCallbackCount, "a successful call holds one GCHandle");
            PollUntil(t, () => called == 1, "the completion");
            Equal(0, Tracker.PendingCallbackCount, "freed after the call");

            t.Dispose();
            try
            {
                t.TrackEvent("disposed", "{}", done);
                throw new CheckFailed("TrackEvent after Dispose did not throw");
            }
            catch (ObjectDisposedException)
            {
            }
            Equal(0, Tracker.PendingCallbackCount, "a call refused by the disposed handle frees its GCHandle");
        }
    }

    static void BadJsonIsInvalidArgument()
    {
        using (var dir = new TempDir())
        using (Tracker t = Tracker.Create(Config(dir, OfflineMode.Always)))
        {
            AttrackerException e = Throws(Status.InvalidArgument, () => t.TrackEvent("e", "{\"a\":"), "bad JSON");
            Check(e.NativeMessage.Contains("JSON"), "the message names the problem: " + e.NativeMessage);
            Check(e.Message.StartsWith("AT_ERR_INVALID_ARGUMENT: "), "Message: " + e.Message);
            Throws(Status.InvalidArgument, () => t.TrackEvent("e", "{\"a\":1} trailing"), "trailing garbage");
            Throws(Status.InvalidArgument, () => t.TrackEvent("e", new string('[', 200) + new string(']', 200)), "deep nesting");
            Equal(0L, t.Offline.Count(), "nothing stored");
        }
    }

    static void ConfigErrors()
    {
        using (var dir = new TempDir())
        {
            AttrackerException e = Throws(Status.InvalidArgument,
                () => Tracker.Create(new TrackerConfig { StoragePath = dir.Db() }), "no endpoint");
            Check(e.NativeMessage.Contains("endpoint"), "names the missing endpoint: " + e.NativeMessage);
            Throws(Status.InvalidArgument,
                () => Tracker.Create(new TrackerConfig { StoragePath = dir.Db(), Endpoint = "ftp://example.com" }), "ftp endpoint");
            Throws(Status.InvalidArgument,
                () => Tracker.Create(new TrackerConfig { StoragePath = dir.Db(), Endpoint = Unreachable, ApiKey = "has space" }), "api key");
            Throws(Status.InvalidArgument, () => Tracker.Create(new TrackerConfig
            {
                StoragePath = dir.Db(),
                Endpoint = Unreachable,
                Log = (l, m) => { },
                OnDrop = (r, ids) => { },
                MaxEventBytes = 1, // out of range (256..524288)
            }), "max event bytes");
            e = Throws(Status.InvalidArgument, () => Tracker.Create(new TrackerConfig
            {
                StoragePath = dir.Db(),
                Endpoint = Unreachable,
                PinnedPublicKeys = "sha256//not-a-digest",
            }), "bad pin");
            Check(e.NativeMessage.Contains("pinned key 1"), "names the bad pin: " + e.NativeMessage);
            e = Throws(Status.InvalidArgument, () => Tracker.Create(new TrackerConfig
            {
                StoragePath = dir.Db(),
                Endpoint = Unreachable,
                CaBundlePath = dir.Db("missing.pem"),
            }), "unreadable CA bundle");
            Check(e.NativeMessage.Contains("missing.pem"), "names the file: " + e.NativeMessage);
            Throws(Status.InvalidArgument, () => Tracker.Create(new TrackerConfig
            {
                StoragePath = dir.Db(),
                Endpoint = Unreachable,
                CaBundlePem = "no certificate here",
            }), "CA PEM without a certificate");
            Throws(Status.InvalidArgument, () => Tracker.Create(new TrackerConfig
            {
                StoragePath = dir.Db(),
                Endpoint = Unreachable,
                CaBundlePath = dir.Db("ca.pem"),
                CaBundlePem = "-----BEGIN CERTIFICATE-----",
            }), "both CA settings");
            Check(!File.Exists(dir.Db()), "no store created by a failed config");
            using (Tracker pinned = Tracker.Create(new TrackerConfig
            {
                StoragePath = dir.Db(),
                Endpoint = Unreachable,
                PinnedPublicKeys = "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            }))
                Equal(0L, pinned.Offline.Count(), "a well-formed pin is taken");
        }
    }

    static void GateAndReachability()
    {
        using (var dir = new TempDir())
        using (Tracker t = Tracker.Create(Config(dir, OfflineMode.Required)))
        {
            t.SetNetworkReachable(false);
            t.TrackEvent("while_unreachable");
            t.SetNetworkReachable(true);
            Check(t.Offline.Latest().IsOffline, "a hit tracked while unreachable is offline");

            bool modeDone = false;
            t.SetOfflineMode(OfflineMode.Always, s => modeDone = s == Status.Ok);
            Equal(OfflineMode.Always, t.OfflineMode, "the mode after SetOfflineMode");
            PollUntil(t, () => modeDone, "SetOfflineMode's completion");

            t.SetTrackingEnabled(false);
            Equal(Status.Suppressed, t.TryTrackEvent("gated"), "tracking disabled");
            t.SetTrackingEnabled(true);
            t.TrackEvent("open_again");
            Equal(2L, t.Offline.Count(), "the gated hit was not kept");
            t.Sync();
        }
    }

    static void ThreadModeCallbacks()
    {
        using (var dir = new TempDir())
        {
            TrackerConfig cfg = Config(dir, OfflineMode.Always);
            cfg.CallbackMode = CallbackMode.Thread;
            var logs = new List<string>();
            cfg.Log = (level, message) => { lock (logs) logs.Add(level + " " + message); };
            cfg.LogLevel = LogLevel.Debug;
            using (Tracker t = Tracker.Create(cfg))
            using (var ran = new ManualResetEvent(false))
            {
                int thread = 0;
                Status status = Status.Internal;
                t.TrackEvent("e", "{}", s =>
                {
                    status = s;
                    thread = Thread.CurrentThread.ManagedThreadId;
                    ran.Set();
                });
                Check(ran.WaitOne(WaitMs), "the completion ran without Poll");
                Equal(Status.Ok, status, "completion status");
                Check(thread != mainThread, "it ran on the library's callback thread");
                Equal(0, t.Poll(), "nothing to poll in thread mode");
                t.SetOfflineMode(OfflineMode.Required);
                t.Close(1000);
                lock (logs)
                    Check(logs.Count > 0, "log lines arrived through the log callback");
            }
        }
    }

    static void CallbackExceptionsGoToHandler()
    {
        using (var dir = new TempDir())
        using (Tracker t = Tracker.Create(Config(dir, OfflineMode.Always)))
        {
            var caught = new List<Exception>();
            Action<Exception> handler = e => caught.Add(e);
            Tracker.CallbackException += handler;
            try
            {
                bool second = false, dispatched = false;
                t.TrackEvent("a", null, s => throw new InvalidOperationException("from a callback"));
                t.Dispatch(r =>
                {
                    dispatched = true;
                    throw new InvalidOperationException("from a dispatch callback");
                });
                t.TrackEvent("b", null, s => second = true);
                PollUntil(t, () => second && dispatched, "the callbacks after the throwing ones");
                Equal(2, caught.Count, "both exceptions reached the handler");
                Equal("from a callback", caught[0].Message, "the exception");
                Equal(0, Tracker.PendingCallbackCount, "a throwing callback still frees its GCHandle");
            }
            finally
            {
                Tracker.CallbackException -= handler;
            }
        }
    }

    static void DisposeTwiceIsSafe()
    {
        using (var dir = new TempDir())
        {
            Tracker t = Tracker.Create(Config(dir, OfflineMode.Always));
            t.TrackEvent("e");
            t.Dispose();
            t.Dispose();
            Check(t.IsDisposed, "IsDisposed");
            Check(!t.Close(100), "Close after Dispose");
            Equal(0, t.Poll(), "Poll after Dispose");
            try
            {
                t.Offline.Count();
                throw new CheckFailed("Offline.Count after Dispose did not throw");
            }
            catch (ObjectDisposedException)
            {
            }
            // The store kept the hit: a new tracker on it finds it.
            using (Tracker again = Tracker.Create(Config(dir, OfflineMode.Always)))
                Equal(1L, again.Offline.Count(), "the hit survived Dispose");
        }
    }
}
