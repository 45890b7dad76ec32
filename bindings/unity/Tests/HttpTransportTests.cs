// Tests of TrackerConfig.HttpTransport: the path a UnityWebRequest transport
// takes in Unity (PolledHttpTransport: Begin inside Poll, ended by a later
// Poll), run here with HttpClientTransport against the HttpListener collector
// and with scripted exchanges for the answers a collector rarely gives.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using Attracker;

static partial class Program
{
    static void RunHttpTransportTests()
    {
        Run("http_transport_is_driven_by_poll", HttpTransportIsDrivenByPoll);
        Run("http_transport_answer_mapping", HttpTransportAnswerMapping);
        Run("http_transport_close_abandons_exchanges", HttpTransportCloseAbandonsExchanges);
        Run("http_transport_retry_after", HttpTransportRetryAfter);
        Run("http_transport_config_errors", HttpTransportConfigErrors);
    }

    static void HttpTransportIsDrivenByPoll()
    {
        using (var collector = new Collector())
        using (var dir = new TempDir())
        using (var http = new HttpClientTransport(10000))
        {
            TrackerConfig cfg = Config(dir, OfflineMode.Required, collector.BaseUrl);
            cfg.ApiKey = "pk_http";
            cfg.HttpTransport = http;
            using (Tracker t = Tracker.Create(cfg))
            {
                var ids = new List<string>();
                for (int i = 0; i < 3; i++)
                    t.TrackEvent("via_http_client", "{\"i\":" + i + "}");
                foreach (Hit h in t.Offline.Get())
                    ids.Add(h.MessageId);
                t.SendHit(collector.BaseUrl + "/hit?via=http_client", "screen");
                DispatchResult? result = null;
                t.Dispatch(r => result = r);

                // Nothing moves until the host polls: the requests wait in the
                // library, as UnityWebRequest waits for Update.
                Thread.Sleep(300);
                Equal(0, t.HttpExchangesInFlight, "no exchange starts before Poll");
                Equal(0, collector.Locked(() => collector.Batches.Count + collector.Gets.Count), "nothing sent before Poll");

                PollUntil(t, () => result.HasValue, "the dispatch through HttpClientTransport");
                Equal(Status.Ok, result.Value.Status, "dispatch status (" + result.Value + ")");
                Equal(4L, result.Value.Sent, "3 events and a URL hit sent");
                Equal(0L, t.Offline.Count(), "acknowledged and deleted");
                Equal(0, t.HttpExchangesInFlight, "every exchange ended");
                string bodies = string.Join("\n", collector.Locked(() => collector.Batches.ToArray()));
                foreach (string id in ids)
                    Check(bodies.Contains(id), "message " + id + " arrived through HttpClient");
                Equal("/hit?via=http_client", string.Join(",", collector.Locked(() => collector.Gets.ToArray())), "the URL hit");
                Equal("Bearer pk_http", collector.Locked(() => collector.Authorizations[0]), "Authorization at the collector");
                Equal("", string.Join("\n", collector.Locked(() => collector.Errors.ToArray())), "collector errors");
            }
        }
    }

    /// <summary>An exchange answered by the test: done when Answer is set.</summary>
    sealed class ScriptedExchange : IHttpExchange
    {
        public readonly HttpRequestData Request;
        public volatile bool Done;
        public int Status;
        public string Failure;
        public readonly Dictionary<string, string> Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        public int Disposed;

        public ScriptedExchange(HttpRequestData request)
        {
            Request = request;
        }

        public bool IsDone => Done;
        public int StatusCode => Status;
        public string Error => Failure;
        public string GetResponseHeader(string name) => Headers.TryGetValue(name, out string v) ? v : null;
        public void Dispose() => Disposed++;
    }

    sealed class ScriptedTransport : IHttpTransport
    {
        public readonly List<ScriptedExchange> Started = new List<ScriptedExchange>();
        public readonly List<int> Threads = new List<int>();

        public IHttpExchange Begin(HttpRequestData request)
        {
            Threads.Add(Thread.CurrentThread.ManagedThreadId);
            var e = new ScriptedExchange(request);
            Started.Add(e);
            return e;
        }
    }

    static DispatchResult DispatchThrough(Tracker t, ScriptedTransport transport, Action<ScriptedExchange> answer)
    {
        int before = transport.Started.Count;
        DispatchResult? result = null;
        t.Dispatch(r => result = r);
        PollUntil(t, () => transport.Started.Count > before, "the request handed to the transport");
        ScriptedExchange e = transport.Started[transport.Started.Count - 1];
        Equal(1, t.HttpExchangesInFlight, "the exchange is in flight until it is done");
        t.Poll();
        Equal(0, e.Disposed, "not disposed before it is done");
        answer(e);
        e.Done = true;
        PollUntil(t, () => result.HasValue, "the dispatch result");
        Equal(1, e.Disposed, "disposed once after it ended");
        Equal(0, t.HttpExchangesInFlight, "ended by Poll");
        return result.Value;
    }

    static void HttpTransportAnswerMapping()
    {
        using (var dir = new TempDir())
        {
            var transport = new ScriptedTransport();
            TrackerConfig cfg = Config(dir, OfflineMode.Always, "http://collector.invalid");
            cfg.HttpTransport = transport;
            using (Tracker t = Tracker.Create(cfg))
            {
                t.TrackEvent("mapped", "{}");

                // No answer: "not reached", the hit stays, no attempt counted.
                DispatchResult r = DispatchThrough(t, transport, e => e.Failure = "Cannot resolve destination host");
                Check(r.Status != Status.Ok, "a failure is not a success: " + r);
                Equal(1L, t.Offline.Count(), "kept after no answer");
                Equal(0u, t.Offline.Get()[0].RetryCount, "no attempt counted without an answer");
                Check(t.Stats().NotReached >= 1, "counted as not reached");
                Check((t.LastSendError ?? "").Contains("Cannot resolve destination host"), "the stack's error is the send error: " + t.LastSendError);

                ScriptedExchange sent = transport.Started[0];
                Equal("POST", sent.Request.Method, "a batch is a POST");
                Equal("http://collector.invalid/v1/batch", sent.Request.Url, "the batch URL");
                Check(sent.Request.Body.Length > 0, "the batch has a body");
                Equal(mainThread, transport.Threads[0], "Begin runs on the polling thread");

                // A 200 HTML page (a captive portal): no acknowledgement.
                long notReached = t.Stats().NotReached;
                r = DispatchThrough(t, transport, e =>
                {
                    e.Status = 200;
                    e.Headers["Content-Type"] = "text/html; charset=utf-8";
                });
                Check(r.Status != Status.Ok, "a portal's page is not an acknowledgement: " + r);
                Equal(1L, t.Offline.Count(), "kept after a portal's page");
                Equal(notReached + 1, t.Stats().NotReached, "the page counts as not reached");

                // 503: an attempt that failed, kept.
                r = DispatchThrough(t, transport, e => e.Status = 503);
                Check(r.Status != Status.Ok, "503 is a failure: " + r);
                Equal(1L, r.Failed, "503 counts the hit as failed");
                Equal(1L, t.Offline.Count(), "kept after 503");
                Equal(1u, t.Offline.Get()[0].RetryCount, "503 counts an attempt");

                // 429 with Retry-After: a wait, not an attempt.
                r = DispatchThrough(t, transport, e =>
                {
                    e.Status = 429;
                    e.Headers["retry-after"] = "1";
                });
                Check(r.Status != Status.Ok, "429 is a failure: " + r);
                Equal(1L, t.Offline.Count(), "kept after 429");
                Equal(1u, t.Offline.Get()[0].RetryCount, "Retry-After is a wait, not an attempt");
                Thread.Sleep(1100); // the wait it asked for

                // 200 JSON: delivered.
                r = DispatchThrough(t, transport, e =>
                {
                    e.Status = 200;
                    e.Headers["Content-Type"] = "application/json";
                });
                Equal(Status.Ok, r.Status, "200 JSON: " + r);
                Equal(1L, r.Sent, "sent");
                Equal(0L, t.Offline.Count(), "deleted once acknowledged");
            }
        }
    }

    static void HttpTransportCloseAbandonsExchanges()
    {
        using (var dir = new TempDir())
        {
            var transport = new ScriptedTransport();
            TrackerConfig cfg = Config(dir, OfflineMode.Always, "http://collector.invalid");
            cfg.HttpTransport = transport;
            Tracker t = Tracker.Create(cfg);
            t.TrackEvent("left_in_flight", "{}");
            DispatchResult? result = null;
            t.Dispatch(r => result = r);
            PollUntil(t, () => transport.Started.Count == 1, "the request handed to the transport");
            Equal(1, t.HttpExchangesInFlight, "one exchange in flight");
            Check(t.Close(200), "Close");
            Equal(0, t.HttpExchangesInFlight, "Close ended the exchange left in flight");
            Equal(1, transport.Started[0].Disposed, "and disposed it (a UnityWebRequest is aborted)");
            Check(transport.Started[0].Request.IsEnded, "the request is ended");
            Check(result.HasValue && result.Value.Status != Status.Ok, "the dispatch ended without success: " + result);
            t.Dispose();
            Equal(1, transport.Started[0].Disposed, "Dispose after Close disposes nothing twice");

            using (Tracker again = Tracker.Create(Config(dir, OfflineMode.Always)))
                Equal(1L, again.Offline.Count(), "the hit it carried is still stored");
        }
    }

    static void HttpTransportRetryAfter()
    {
        var now = new DateTime(2025, 3, 4, 10, 0, 0, DateTimeKind.Utc);
        Equal(120000L, PolledHttpTransport.RetryAfterMs("120", now), "delta-seconds");
        Equal(5000L, PolledHttpTransport.RetryAfterMs(" 5 ", now), "delta-seconds with spaces");
        Equal(0L, PolledHttpTransport.RetryAfterMs("0", now), "zero");
        Equal(90000L, PolledHttpTransport.RetryAfterMs(now.AddSeconds(90).ToString("r", CultureInfo.InvariantCulture), now), "IMF-fixdate");
        Equal(90000L, PolledHttpTransport.RetryAfterMs("Tuesday, 04-Mar-25 10:01:30 GMT", now), "RFC 850 date");
        Equal(90000L, PolledHttpTransport.RetryAfterMs("Tue Mar  4 10:01:30 2025", now), "asctime date");
        Equal(0L, PolledHttpTransport.RetryAfterMs(now.AddSeconds(-90).ToString("r", CultureInfo.InvariantCulture), now), "a date in the past");
        Equal(0L, PolledHttpTransport.RetryAfterMs("-5", now), "negative");
        Equal(0L, PolledHttpTransport.RetryAfterMs("soon", now), "unreadable");
        Equal(0L, PolledHttpTransport.RetryAfterMs(null, now), "absent");
    }

    static void HttpTransportConfigErrors()
    {
        using (var dir = new TempDir())
        {
            TrackerConfig both = Config(dir, OfflineMode.Always);
            both.HttpTransport = new ScriptedTransport();
            both.Transport = r => r.Fail("unused");
            ThrowsArgument(() => Tracker.Create(both).Dispose(), "Transport and HttpTransport");

            TrackerConfig threaded = Config(dir, OfflineMode.Always);
            threaded.HttpTransport = new ScriptedTransport();
            threaded.CallbackMode = CallbackMode.Thread;
            ThrowsArgument(() => Tracker.Create(threaded).Dispose(), "HttpTransport in thread mode");

            // A transport that throws fails the request as not reached.
            TrackerConfig throwing = Config(dir, OfflineMode.Always);
            throwing.HttpTransport = new ThrowingTransport();
            var caught = new List<Exception>();
            Action<Exception> handler = e => caught.Add(e);
            Tracker.CallbackException += handler;
            try
            {
                using (Tracker t = Tracker.Create(throwing))
                {
                    t.TrackEvent("thrown", "{}");
                    DispatchResult? result = null;
                    t.Dispatch(r => result = r);
                    PollUntil(t, () => result.HasValue, "the dispatch through a throwing transport");
                    Check(result.Value.Status != Status.Ok, "failed: " + result);
                    Equal(1L, t.Offline.Count(), "kept");
                    Equal(0, t.HttpExchangesInFlight, "nothing in flight");
                }
            }
            finally
            {
                Tracker.CallbackException -= handler;
            }
            Check(caught.Count >= 1 && caught[0].Message.Contains("no HTTP today"), "the exception was reported");
        }
    }

    sealed class ThrowingTransport : IHttpTransport
    {
        public IHttpExchange Begin(HttpRequestData request) => throw new InvalidOperationException("no HTTP today");
    }

    static void ThrowsArgument(Action call, string what)
    {
        try
        {
            call();
        }
        catch (ArgumentException e)
        {
            Check(e.Message.Contains("HttpTransport"), what + ": the message names HttpTransport: " + e.Message);
            return;
        }
        throw new CheckFailed(what + ": no ArgumentException");
    }
}
