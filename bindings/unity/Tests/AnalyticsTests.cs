// Tests of the analytics client through the binding: Identify, UserId, Alias,
// Group, Screen, Reset, MergeContext, super properties, sessions and consent,
// their TrackerConfig settings, DropReason.ConsentDenied and
// Stats().DroppedConsent. What arrives is read from the HttpListener collector
// of Program.cs, parsed, and checked against the Segment call shapes.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using Attracker;

static partial class Program
{
    // ---- a small JSON reader for what the collector received -------------------

    /// <summary>
    /// JSON text as Dictionary&lt;string, object&gt;, List&lt;object&gt;, string,
    /// double, bool or null. Strict enough for the library's output.
    /// </summary>
    sealed class JsonReader
    {
        readonly string s;
        int i;

        JsonReader(string s) { this.s = s; }

        public static object Parse(string text)
        {
            var r = new JsonReader(text);
            object value = r.Value();
            r.Space();
            Check(r.i == text.Length, "trailing text after JSON at " + r.i + ": " + text);
            return value;
        }

        void Space()
        {
            while (i < s.Length && char.IsWhiteSpace(s[i]))
                i++;
        }

        char Next()
        {
            Space();
            Check(i < s.Length, "JSON ended early: " + s);
            return s[i];
        }

        void Expect(char c)
        {
            Check(Next() == c, $"expected '{c}' at {i} in JSON: {s}");
            i++;
        }

        object Value()
        {
            char c = Next();
            if (c == '{')
            {
                var o = new Dictionary<string, object>();
                i++;
                if (Next() == '}')
                {
                    i++;
                    return o;
                }
                for (;;)
                {
                    Check(Next() == '"', "a key at " + i + ": " + s);
                    string key = Str();
                    Expect(':');
                    o[key] = Value();
                    if (Next() == ',')
                    {
                        i++;
                        continue;
                    }
                    Expect('}');
                    return o;
                }
            }
            if (c == '[')
            {
                var a = new List<object>();
                i++;
                if (Next() == ']')
                {
                    i++;
                    return a;
                }
                for (;;)
                {
                    a.Add(Value());
                    if (Next() == ',')
                    {
                        i++;
                        continue;
                    }
                    Expect(']');
                    return a;
                }
            }
            if (c == '"')
                return Str();
            foreach (var literal in new[] { "true", "false", "null" })
                if (string.CompareOrdinal(s, i, literal, 0, literal.Length) == 0)
                {
                    i += literal.Length;
                    return literal == "null" ? null : (object)(literal == "true");
                }
            int start = i;
            while (i < s.Length && "+-0123456789.eE".IndexOf(s[i]) >= 0)
                i++;
            Check(i > start, $"unexpected '{c}' at {start} in JSON: {s}");
            return double.Parse(s.Substring(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        string Str()
        {
            var b = new StringBuilder();
            i++; // the opening quote
            for (;;)
            {
                Check(i < s.Length, "unterminated string in JSON: " + s);
                char c = s[i++];
                if (c == '"')
                    return b.ToString();
                if (c != '\\')
                {
                    b.Append(c);
                    continue;
                }
                char e = s[i++];
                switch (e)
                {
                    case 'n': b.Append('\n'); break;
                    case 't': b.Append('\t'); break;
                    case 'r': b.Append('\r'); break;
                    case 'b': b.Append('\b'); break;
                    case 'f': b.Append('\f'); break;
                    case 'u':
                        b.Append((char)int.Parse(s.Substring(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                        i += 4;
                        break;
                    default: b.Append(e); break;
                }
            }
        }
    }

    static Dictionary<string, object> Obj(object value, string what)
    {
        var o = value as Dictionary<string, object>;
        Check(o != null, what + " is not a JSON object: " + Show(value));
        return o;
    }

    static object Get(Dictionary<string, object> o, string path)
    {
        object value = o;
        foreach (string key in path.Split('.'))
        {
            var d = value as Dictionary<string, object>;
            if (d == null || !d.TryGetValue(key, out value))
                return null;
        }
        return value;
    }

    static string Show(object value)
    {
        if (value == null)
            return "null";
        if (value is string str)
            return "\"" + str + "\"";
        if (value is bool b)
            return b ? "true" : "false";
        if (value is double d)
            return d.ToString("R", CultureInfo.InvariantCulture);
        if (value is List<object> list)
        {
            var parts = new List<string>();
            foreach (object v in list)
                parts.Add(Show(v));
            return "[" + string.Join(",", parts) + "]";
        }
        var keys = new List<string>(((Dictionary<string, object>)value).Keys);
        keys.Sort(StringComparer.Ordinal); // a canonical form: compare objects by their Show
        var members = new List<string>();
        foreach (string k in keys)
            members.Add("\"" + k + "\":" + Show(((Dictionary<string, object>)value)[k]));
        return "{" + string.Join(",", members) + "}";
    }

    /// <summary>JSON text in the canonical form of Show (keys sorted), to compare objects.</summary>
    static string Canon(string json) => Show(JsonReader.Parse(json));

    /// <summary>The Segment call shapes (as tests/support/collector/segment.rs checks them).</summary>
    static void CheckSegmentShape(Dictionary<string, object> e)
    {
        string type = Get(e, "type") as string;
        string[] own;
        switch (type)
        {
            case "track": own = new[] { "event", "properties" }; break;
            case "screen": own = new[] { "name", "properties" }; break;
            case "identify": own = new[] { "traits" }; break;
            case "group": own = new[] { "groupId", "traits" }; break;
            case "alias": own = new[] { "previousId" }; break;
            default: throw new CheckFailed("not a Segment call: " + Show(e));
        }
        var common = new[] { "type", "messageId", "anonymousId", "userId", "timestamp", "context", "integrations", "retryCount" };
        foreach (string key in e.Keys)
            Check(Array.IndexOf(common, key) >= 0 || Array.IndexOf(own, key) >= 0, $"{type}: unknown top-level key {key}: {Show(e)}");
        Func<string, bool> nonEmpty = k => Get(e, k) is string v && v.Length > 0;
        Check(nonEmpty("messageId"), "messageId: " + Show(e));
        Check(nonEmpty("anonymousId") || nonEmpty("userId"), "anonymousId or userId: " + Show(e));
        foreach (string k in new[] { "anonymousId", "userId" })
            Check(!e.ContainsKey(k) || nonEmpty(k), k + " is a non-empty string when present: " + Show(e));
        Check(Get(e, "timestamp") is string ts && Regex.IsMatch(ts, @"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"),
              "timestamp: " + Show(e));
        Check(Get(e, "context") is Dictionary<string, object>, "context: " + Show(e));
        foreach (string k in new[] { "properties", "traits", "integrations" })
            Check(!e.ContainsKey(k) || e[k] is Dictionary<string, object>, k + " is an object: " + Show(e));
        if (type == "track")
            Check(nonEmpty("event"), "track: event: " + Show(e));
        if (type == "group")
            Check(nonEmpty("groupId"), "group: groupId: " + Show(e));
        if (type == "alias")
            Check(nonEmpty("previousId") && nonEmpty("userId"), "alias: previousId and userId: " + Show(e));
    }

    /// <summary>Every event the collector received, in order, each checked for its Segment shape.</summary>
    static List<Dictionary<string, object>> ReceivedEvents(Collector c)
    {
        var events = new List<Dictionary<string, object>>();
        foreach (string body in c.Locked(() => c.Batches.ToArray()))
            foreach (object e in (List<object>)Get(Obj(JsonReader.Parse(body), "a batch"), "batch"))
            {
                Dictionary<string, object> ev = Obj(e, "an event");
                CheckSegmentShape(ev);
                events.Add(ev);
            }
        return events;
    }

    /// <summary>The last event of call `type` whose `key` is `value`.</summary>
    static Dictionary<string, object> FindEvent(List<Dictionary<string, object>> events, string type, string key, string value)
    {
        for (int i = events.Count - 1; i >= 0; i--)
            if (Get(events[i], "type") as string == type && Get(events[i], key) as string == value)
                return events[i];
        throw new CheckFailed($"no {type} event with {key} = {value} among {events.Count} events");
    }

    static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    // ---- the tests --------------------------------------------------------------

    static void AnalyticsConfigAndRefusedCalls()
    {
        using (var dir = new TempDir())
        {
            TrackerConfig cfg = Config(dir, OfflineMode.Always);
            cfg.Context = "{\"library\":{\"name\":\"mine\"}}";
            AttrackerException e = Throws(Status.InvalidArgument, () => Tracker.Create(cfg), "the library's context key");
            Check(e.NativeMessage.Contains("library"), "names the key: " + e.NativeMessage);
            cfg.Context = "[1]";
            Throws(Status.InvalidArgument, () => Tracker.Create(cfg), "a context that is not an object");
            cfg.Context = "{\"app\":{\"name\":\"Game\"}}";
            cfg.SessionTimeoutMs = 999;
            Throws(Status.InvalidArgument, () => Tracker.Create(cfg), "a 999 ms session timeout");
            cfg.SessionTimeoutMs = null;
            cfg.BackgroundSessionTimeoutMs = 604800001;
            Throws(Status.InvalidArgument, () => Tracker.Create(cfg), "a background timeout over 7 days");
            cfg.BackgroundSessionTimeoutMs = 1000;
            cfg.InitialConsent = (Consent)9;
            Throws(Status.InvalidArgument, () => Tracker.Create(cfg), "initial consent 9");
            cfg.InitialConsent = Consent.Granted;
            cfg.TrackSessionEvents = false;

            using (Tracker t = Tracker.Create(cfg))
            {
                int called = 0;
                Action<Status> done = s => called++;
                Throws(Status.InvalidArgument, () => t.Identify("", null, done), "an empty user id");
                Throws(Status.InvalidArgument, () => t.Identify("a\u0007", null, done), "a control character");
                Throws(Status.InvalidArgument, () => t.Identify("u", "[1]", done), "traits that are not an object");
                Throws(Status.NullArgument, () => t.Alias(null, done), "a null alias");
                Throws(Status.InvalidArgument, () => t.Group("", null, done), "an empty group id");
                Throws(Status.InvalidArgument, () => t.Screen("", null, done), "an empty screen name");
                Throws(Status.InvalidArgument, () => t.Screen("s", "{", done), "bad screen properties");
                Equal(Status.InvalidArgument, t.TryIdentify(null, "{", done), "TryIdentify returns the status");
                Equal(Status.InvalidArgument, t.TryAlias("", done), "TryAlias returns the status");
                Equal(Status.InvalidArgument, t.TryGroup("g", "1", done), "TryGroup returns the status");
                Equal(Status.InvalidArgument, t.TryScreen("s", "[]", done), "TryScreen returns the status");
                Equal(0, Tracker.PendingCallbackCount, "refused calls free their GCHandles at once");
                Throws(Status.InvalidArgument, () => t.MergeContext("[]"), "a context that is not an object");
                Throws(Status.InvalidArgument, () => t.MergeContext("{\"attracker\":1}"), "the library's context key");
                Throws(Status.NullArgument, () => t.MergeContext(null), "a null context");
                Throws(Status.InvalidArgument, () => t.RegisterSuperProperties("1"), "super properties that are not an object");
                Throws(Status.NullArgument, () => t.UnregisterSuperProperty(null), "a null super property key");
                Throws(Status.InvalidArgument, () => t.Reset(0), "reset of nothing");
                Throws(Status.InvalidArgument, () => t.Reset((ResetFlags)16), "an unknown reset flag");
                Throws(Status.InvalidArgument, () => t.SetConsent((Consent)3), "consent 3");
                Equal(Consent.Granted, t.Consent, "a refused consent changes nothing");
                Equal(null, t.UserId, "no user id");
                Equal(0L, t.Offline.Count(), "refused calls stored nothing");
                t.Poll();
                Equal(0, called, "the completion of a refused call never runs");
            }
        }
    }

    static void IdentifyKeepsTheUserIdAcrossReopen()
    {
        using (var dir = new TempDir())
        {
            using (Tracker t = Tracker.Create(Config(dir, OfflineMode.Always)))
            {
                Equal(null, t.UserId, "UserId before Identify");
                Status? status = null;
                int thread = 0;
                t.Identify("user-1", "{\"name\":\"Ada\",\"plan\":\"free\"}", s =>
                {
                    status = s;
                    thread = Thread.CurrentThread.ManagedThreadId;
                });
                PollUntil(t, () => status.HasValue, "the Identify completion");
                Equal(Status.Ok, status.Value, "Identify completion status");
                Equal(mainThread, thread, "the completion ran on the polling thread");
                Equal("user-1", t.UserId, "UserId");
                t.Identify(null, "{\"plan\":\"pro\"}"); // keeps the user id, merges the traits
                Equal("user-1", t.UserId, "Identify(null) keeps the user id");
                Hit latest = t.Offline.Latest();
                Equal("", latest.Type, "an identify call's stored type");
                Equal(Canon("{\"name\":\"Ada\",\"plan\":\"pro\"}"), Canon(latest.Body), "merged traits");
            }
            using (Tracker t = Tracker.Create(Config(dir, OfflineMode.Always)))
            {
                Equal("user-1", t.UserId, "UserId after reopening");
                t.Identify(null, "{\"age\":36}");
                Equal(Canon("{\"name\":\"Ada\",\"plan\":\"pro\",\"age\":36}"), Canon(t.Offline.Latest().Body),
                      "traits kept across the reopen, then merged");
                Equal(3L, t.Offline.Count(), "three identify calls stored");
            }
        }
    }

    static void AnalyticsCallsArriveWithTheirSegmentFields()
    {
        using (var collector = new Collector())
        using (var dir = new TempDir())
        {
            TrackerConfig cfg = Config(dir, OfflineMode.Always, collector.BaseUrl);
            cfg.Context = "{\"app\":{\"name\":\"Game\",\"version\":\"1.0\"}}";
            string anonymous;
            long session;
            const int expected = 8;
            using (Tracker t = Tracker.Create(cfg))
            {
                anonymous = t.VisitorId;
                t.TrackEvent("Before");
                t.Identify("user-1", "{\"name\":\"Ada\",\"plan\":\"free\"}");
                t.Identify(null, "{\"plan\":\"pro\"}");
                t.RegisterSuperProperties("{\"build\":42,\"level\":1}");
                Status? screened = null;
                t.Screen("Home", "{\"tab\":\"feed\"}", s => screened = s);
                t.Group("team-3", "{\"seats\":5}");
                t.MergeContext("{\"app\":{\"name\":\"Game\",\"version\":\"1.1\"},\"network\":{\"wifi\":true}}");
                t.Alias("user-2");
                Equal("user-2", t.UserId, "UserId after Alias");
                t.UnregisterSuperProperty("level");
                t.UnregisterSuperProperty("never-set");
                t.TrackEvent("After", "{\"level\":7}");
                session = t.SessionId;
                Thread.Sleep(5);
                t.Reset(); // All: a logout
                Equal(null, t.UserId, "UserId after Reset");
                Check(t.VisitorId != anonymous, "Reset made a new anonymous id");
                t.TrackEvent("Fresh");
                PollUntil(t, () => screened.HasValue, "the Screen completion");
                Equal(Status.Ok, screened.Value, "Screen completion status");
                Equal((long)expected, t.Offline.Count(), "stored before the dispatch");

                DispatchResult r = DispatchAndWait(t, "the dispatch");
                Equal(Status.Ok, r.Status, "dispatch status (" + r + ")");
                Equal((long)expected, r.Sent, "dispatch sent");
            }

            List<Dictionary<string, object>> events = ReceivedEvents(collector);
            Equal(expected, events.Count, "events at the collector");

            Dictionary<string, object> before = FindEvent(events, "track", "event", "Before");
            Check(!before.ContainsKey("userId"), "tracked before Identify: anonymous");
            Equal(anonymous, Get(before, "anonymousId"), "anonymousId");
            Equal("1.0", Get(before, "context.app.version"), "the configured context");
            Equal("attracker", Get(before, "context.library.name"), "the library's context");
            Equal((double)session, Get(before, "context.sessionId"), "one session until the reset");

            var identifies = events.FindAll(e => Get(e, "type") as string == "identify");
            Equal(2, identifies.Count, "identify calls");
            Equal(Canon("{\"name\":\"Ada\",\"plan\":\"free\"}"), Show(Get(identifies[0], "traits")), "first traits");
            Equal(Canon("{\"name\":\"Ada\",\"plan\":\"pro\"}"), Show(Get(identifies[1], "traits")), "merged traits");
            foreach (var identify in identifies)
                Equal("user-1", Get(identify, "userId"), "identify userId");

            Dictionary<string, object> screen = FindEvent(events, "screen", "name", "Home");
            Equal(Canon("{\"tab\":\"feed\",\"build\":42,\"level\":1}"), Show(Get(screen, "properties")),
                  "screen properties with the super properties");
            Equal("user-1", Get(screen, "userId"), "screen userId");
            Check(!screen.ContainsKey("event"), "a screen has no event key");

            Dictionary<string, object> group = FindEvent(events, "group", "groupId", "team-3");
            Equal(Canon("{\"seats\":5}"), Show(Get(group, "traits")), "group traits");
            Equal("user-1", Get(group, "userId"), "group userId");

            Dictionary<string, object> alias = FindEvent(events, "alias", "previousId", "user-1");
            Equal("user-2", Get(alias, "userId"), "alias userId");
            Check(!alias.ContainsKey("traits") && !alias.ContainsKey("properties"), "an alias carries no traits or properties");

            Dictionary<string, object> after = FindEvent(events, "track", "event", "After");
            Equal("user-2", Get(after, "userId"), "userId after the alias");
            Equal(Canon("{\"level\":7,\"build\":42}"), Show(Get(after, "properties")),
                  "explicit properties win, an unregistered one is gone");
            Equal("1.1", Get(after, "context.app.version"), "the merged context");
            Equal(true, Get(after, "context.network.wifi"), "a context key added");
            Equal((double)session, Get(after, "context.sessionId"), "the session id");

            Dictionary<string, object> fresh = FindEvent(events, "track", "event", "Fresh");
            Check(!fresh.ContainsKey("userId"), "anonymous after the reset");
            Check(Get(fresh, "anonymousId") as string != anonymous, "a new anonymous id after the reset");
            Equal("{}", Show(Get(fresh, "properties")), "no super properties after the reset");
            Check(!Equals((double)session, Get(fresh, "context.sessionId")), "a new session after the reset");
        }
    }

    static void ResetForgetsOnlyWhatItNames()
    {
        using (var dir = new TempDir())
        using (Tracker t = Tracker.Create(Config(dir, OfflineMode.Always)))
        {
            t.Identify("u", "{\"a\":1}");
            t.RegisterSuperProperties("{\"plan\":\"pro\"}");
            string anonymous = t.VisitorId;
            long session = t.SessionId;

            t.Reset(ResetFlags.AnonymousId);
            Equal("u", t.UserId, "AnonymousId keeps the user id");
            Check(t.VisitorId != anonymous, "AnonymousId: a new anonymous id");
            Equal(session, t.SessionId, "AnonymousId keeps the session");
            t.TrackEvent("with_super");
            Equal("{\"plan\":\"pro\"}", t.Offline.Latest().Body, "the super properties are merged in");

            t.Reset(ResetFlags.User);
            Equal(null, t.UserId, "User: no user id");
            t.Identify(null);
            Equal("{}", t.Offline.Latest().Body, "User: the traits are gone");

            Thread.Sleep(5);
            t.Reset(ResetFlags.Session);
            Check(t.SessionId > session, $"Session: a new session ({session}, then {t.SessionId})");

            t.Reset(ResetFlags.SuperProperties | ResetFlags.User);
            t.TrackEvent("without_super");
            Equal("{}", t.Offline.Latest().Body, "SuperProperties: none merged in");
        }
    }

    static void SessionsStartAndGoOnAcrossAReopen()
    {
        using (var dir = new TempDir())
        {
            TrackerConfig cfg = Config(dir, OfflineMode.Always);
            cfg.TrackSessionEvents = true;
            cfg.SessionTimeoutMs = 600000;
            cfg.BackgroundSessionTimeoutMs = 60000;
            long second;
            long opened = NowMs();
            using (Tracker t = Tracker.Create(cfg))
            {
                long first = t.SessionId;
                Check(first >= opened && first <= NowMs(), $"SessionId {first} is the Unix ms of its start ({opened})");
                t.TrackEvent("a");
                Equal(first, t.SessionId, "activity keeps the session");
                Thread.Sleep(5);
                t.StartSession();
                second = t.SessionId;
                Check(second > first, $"StartSession: {first}, then {second}");
                int started = 0, ended = 0;
                foreach (Hit h in t.Offline.Get())
                {
                    if (h.Type == "Session Started")
                        started++;
                    if (h.Type == "Session Ended")
                        ended++;
                }
                Equal(2, started, "Session Started events");
                Equal(1, ended, "Session Ended events");
            }
            using (Tracker t = Tracker.Create(cfg))
            {
                Equal(second, t.SessionId, "a quick reopen goes on with the session");
                t.StartSession();
                Check(t.SessionId > second, "StartSession after the reopen");
            }
        }
    }

    static void ConsentPendingGrantedDenied()
    {
        using (var collector = new Collector())
        using (var dir = new TempDir())
        {
            var purgedIds = new List<string>();
            TrackerConfig cfg = Config(dir, OfflineMode.Always, collector.BaseUrl);
            cfg.InitialConsent = Consent.Pending;
            cfg.OnDrop = (reason, ids) =>
            {
                Equal(DropReason.ConsentDenied, reason, "drop reason");
                purgedIds.AddRange(ids);
            };
            using (Tracker t = Tracker.Create(cfg))
            {
                Equal(Consent.Pending, t.Consent, "the initial consent");
                t.TrackEvent("waiting");
                t.Identify("u");
                Equal(2L, t.Offline.Count(), "stored while pending");
                DispatchResult r = DispatchAndWait(t, "the dispatch while pending");
                Equal(Status.Suppressed, r.Status, "a dispatch while pending (" + r + ")");
                Thread.Sleep(100);
                Equal(0, collector.Locked(() => collector.Batches.Count + collector.Gets.Count + collector.Errors.Count),
                      "no request while pending");

                Equal(0UL, t.SetConsent(Consent.Granted), "Granted purges nothing");
                Equal(Consent.Granted, t.Consent, "Consent");
                r = DispatchAndWait(t, "the dispatch once granted");
                Equal(Status.Ok, r.Status, "dispatch once granted (" + r + ")");
                Equal(2L, r.Sent, "both stored hits sent");
                Equal(2, ReceivedEvents(collector).Count, "events at the collector");

                var queued = new List<string>();
                for (int i = 0; i < 3; i++)
                    t.TrackEvent("queued", "{\"i\":" + i + "}");
                t.Screen("queued_screen");
                foreach (Hit h in t.Offline.Get())
                    queued.Add(h.MessageId);
                Equal(4, queued.Count, "queued");
                Equal(4UL, t.SetConsent(Consent.Denied), "Denied purges every queued hit");
                Equal(0L, t.Offline.Count(), "nothing left");
                Equal(4L, t.Stats().DroppedConsent, "Stats().DroppedConsent");
                Equal(Consent.Denied, t.Consent, "Consent");
                PollUntil(t, () => purgedIds.Count >= 4, "the drop notices");
                queued.Sort(StringComparer.Ordinal);
                purgedIds.Sort(StringComparer.Ordinal);
                Equal(string.Join(",", queued), string.Join(",", purgedIds), "every purged hit is reported by message id");

                Equal(Status.Suppressed, t.TryTrackEvent("refused"), "TrackEvent while denied");
                Equal(Status.Suppressed, t.TryScreen("refused"), "Screen while denied");
                Equal(Status.Suppressed, t.TryIdentify("v"), "Identify while denied");
                Equal(Status.Suppressed, t.TryAlias("v"), "Alias while denied");
                Equal(Status.Suppressed, t.TryGroup("g"), "Group while denied");
                Equal(0L, t.Offline.Count(), "nothing stored while denied");
            }
            using (Tracker t = Tracker.Create(cfg))
            {
                Equal(Consent.Denied, t.Consent, "the answer is kept in the store over InitialConsent");
                Equal(Status.Suppressed, t.TryTrackEvent("refused"), "TrackEvent while denied after reopening");
                t.SetConsent(Consent.Granted);
                t.TrackEvent("again");
                DispatchResult r = DispatchAndWait(t, "the last dispatch");
                Equal(Status.Ok, r.Status, "the last dispatch (" + r + ")");
            }
            List<Dictionary<string, object>> events = ReceivedEvents(collector);
            Equal(3, events.Count, "the purged hits never reach the collector, nor a drop report of them");
            FindEvent(events, "track", "event", "again");
        }
    }
}
