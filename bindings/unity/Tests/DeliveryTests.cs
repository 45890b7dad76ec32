// Tests of the binding's delivery policy surface: a refused api key
// (Status.KeyRejected, Stats().KeyRejected, LastSendError, SetApiKey), a
// captive portal's page (TransportRequest.Complete's contentType,
// Stats().NotReached) and hit expiry (TrackerConfig.MaxHitAgeMs,
// DropReason.Expired, Stats().DroppedExpired). Every answer comes from a C#
// host transport completed on the polling thread: no network at all.

using System;
using System.Collections.Generic;
using System.Threading;
using Attracker;

static partial class Program
{
    const string Json = "application/json";

    /// <summary>Starts a dispatch or flush and polls until its result arrives.</summary>
    static DispatchResult RunAndWait(Tracker t, Action<Action<DispatchResult>> start, string what)
    {
        DispatchResult? result = null;
        start(r => result = r);
        PollUntil(t, () => result.HasValue, what);
        return result.Value;
    }

    static DispatchResult DispatchAndWait(Tracker t, string what) => RunAndWait(t, t.Dispatch, what);

    static DispatchResult FlushAndWait(Tracker t, string what) => RunAndWait(t, t.Flush, what);

    /// <summary>The tests' config (Config) whose every request is answered by `transport`.</summary>
    static TrackerConfig TransportConfig(TempDir dir, OfflineMode mode, Action<TransportRequest> transport)
    {
        TrackerConfig cfg = Config(dir, mode);
        cfg.Transport = transport;
        return cfg;
    }

    /// <summary>A transport answering every request with `status` at once.</summary>
    static Action<TransportRequest> Answer(int status) => req => req.Complete(status, 0, Json);

    /// <summary>Records each dropped hit's reason, one entry per message id.</summary>
    static List<DropReason> RecordDrops(TrackerConfig cfg)
    {
        var reasons = new List<DropReason>();
        cfg.OnDrop = (reason, ids) =>
        {
            foreach (string id in ids)
                reasons.Add(reason);
        };
        return reasons;
    }

    static void KeyRejectedPausesUntilSetApiKey()
    {
        using (var dir = new TempDir())
        {
            var auths = new List<string>();
            // Required: the new key resumes automatic sending (no timer, no
            // threshold here, so nothing else sends by itself).
            TrackerConfig cfg = TransportConfig(dir, OfflineMode.Required, req =>
            {
                string auth = req.Header("Authorization");
                auths.Add(auth);
                req.Complete(auth == "Bearer pk_right" ? 200 : 401, 0, Json);
            });
            cfg.ApiKey = "pk_wrong";
            using (Tracker t = Tracker.Create(cfg))
            {
                Equal(null, t.LastSendError, "LastSendError before any send");
                t.TrackEvent("k1");
                t.TrackEvent("k2");

                DispatchResult r = DispatchAndWait(t, "the dispatch with a refused key");
                Equal(Status.KeyRejected, r.Status, "dispatch status (" + r + ")");
                Equal(0L, r.Sent + r.Failed + r.Dropped, "nothing sent, failed or dropped (" + r + ")");
                Equal(2L, t.Offline.Count(), "the hits are kept");
                Equal(0u, t.Offline.Oldest().RetryCount, "a refused key is no attempt");
                TrackerStats s = t.Stats();
                Equal(401L, s.KeyRejected, "Stats().KeyRejected while paused");
                Equal(0L, s.Failed, "Stats().Failed");
                string why = t.LastSendError;
                Check(why != null && why.Contains("401"), "LastSendError names the status: " + why);
                Equal("Bearer pk_wrong", auths[0], "the configured key was sent");

                // Paused: a flush asks nothing of the transport and says why.
                DispatchResult flushed = FlushAndWait(t, "the flush while paused");
                Equal(Status.KeyRejected, flushed.Status, "flush status while paused (" + flushed + ")");
                Equal(1, auths.Count, "no request while paused");

                // A refused new key changes nothing.
                Throws(Status.InvalidArgument, () => t.SetApiKey("has space"), "SetApiKey(\"has space\")");
                Throws(Status.NullArgument, () => t.SetApiKey(null), "SetApiKey(null)");
                Equal(401L, t.Stats().KeyRejected, "still paused after a refused key");

                // The new key resumes sending by itself: the kept hits go with it.
                t.SetApiKey("pk_right");
                PollUntil(t, () => t.Offline.Count() == 0, "the kept hits to be sent with the new key");
                Equal(0L, t.Stats().KeyRejected, "Stats().KeyRejected after SetApiKey");
                Equal(2L, t.Stats().Sent, "Stats().Sent");
                Equal("Bearer pk_right", auths[auths.Count - 1], "the new key was sent");
                Equal(null, t.LastSendError, "LastSendError after a delivered send");

                Check(t.Close(1000), "Close");
                Throws(Status.Closed, () => t.SetApiKey("pk_late"), "SetApiKey after Close");
                Throws(Status.Closed, () => { _ = t.LastSendError; }, "LastSendError after Close");
            }
        }
    }

    static void PortalPageIsNotAnAcknowledgement()
    {
        using (var dir = new TempDir())
        {
            string answerType = "text/html; charset=utf-8";
            TrackerConfig cfg = TransportConfig(dir, OfflineMode.Always, req => req.Complete(200, 0, answerType));
            cfg.MaxAttempts = 1; // a counted attempt would drop the hits at once
            List<DropReason> dropped = RecordDrops(cfg);
            using (Tracker t = Tracker.Create(cfg))
            {
                t.TrackEvent("p1");
                t.TrackEvent("p2");

                DispatchResult r = DispatchAndWait(t, "the dispatch answered by a portal");
                Equal(Status.Network, r.Status, "a 200 HTML page is not reached (" + r + ")");
                Equal(0L, r.Sent + r.Failed + r.Dropped, "nothing sent, failed or dropped (" + r + ")");
                Equal(2L, t.Offline.Count(), "the hits are kept");
                Equal(0u, t.Offline.Oldest().RetryCount, "not reached: no attempt counted");
                TrackerStats s = t.Stats();
                Check(s.NotReached >= 1, "Stats().NotReached: " + s.NotReached);
                Equal(0L, s.Sent, "Stats().Sent");
                Check(t.LastSendError != null, "LastSendError after the portal's page");

                answerType = Json;
                r = DispatchAndWait(t, "the dispatch answered by the collector");
                Equal(Status.Ok, r.Status, "a 200 JSON answer is an acknowledgement (" + r + ")");
                Equal(2L, r.Sent, "sent");
                Equal(0L, t.Offline.Count(), "deleted once acknowledged");
                Equal(null, t.LastSendError, "LastSendError after a delivered send");
                t.Poll();
                Equal(0, dropped.Count, "nothing dropped");
            }
        }
    }

    static void MaxHitAgeExpiresFailedHits()
    {
        using (var dir = new TempDir())
        {
            // The defaults: unlimited attempts, 30 days. Failures keep the hit.
            TrackerConfig cfg = TransportConfig(dir, OfflineMode.Always, Answer(503));
            using (Tracker t = Tracker.Create(cfg))
            {
                t.TrackEvent("old");
                for (int i = 1; i <= 4; i++)
                {
                    DispatchResult r = DispatchAndWait(t, "failing dispatch " + i);
                    Equal(Status.Network, r.Status, "dispatch " + i + " status (" + r + ")");
                    Equal(1L, r.Failed, "dispatch " + i + " failed");
                    Equal(0L, r.Dropped, "dispatch " + i + ": default MaxAttempts is unlimited");
                }
                Equal(1L, t.Offline.Count(), "the hit is kept after 4 failures");
                Equal(4u, t.Offline.Oldest().RetryCount, "4 attempts counted");
                Equal(0L, t.Stats().DroppedExpired, "nothing expired under the 30-day default");
            }

            // The same store with a 1 ms limit: the next failure drops it as expired.
            cfg.MaxHitAgeMs = 1;
            List<DropReason> reasons = RecordDrops(cfg);
            using (Tracker t = Tracker.Create(cfg))
            {
                Thread.Sleep(5); // older than 1 ms, whatever the clock's resolution
                t.TrackEvent("young");
                Thread.Sleep(5);
                DispatchResult r = DispatchAndWait(t, "the dispatch after the limit");
                Equal(2L, r.Failed, "both failed (" + r + ")");
                Equal(2L, r.Dropped, "both dropped as expired (" + r + ")");
                // What is left is the report of the drop (ReportDrops, default true).
                Equal(1L, t.Offline.Count(), "expired hits leave the store, their drop report stays");
                Equal("Attracker Hits Dropped", t.Offline.Latest().Type, "the drop report");
                TrackerStats s = t.Stats();
                Equal(2L, s.DroppedExpired, "Stats().DroppedExpired");
                PollUntil(t, () => reasons.Count >= 2, "the drop notices");
                foreach (DropReason reason in reasons)
                    Equal(DropReason.Expired, reason, "drop reason");
            }
        }

        // ReportDrops = false: an expired hit leaves nothing behind.
        using (var dir = new TempDir())
        {
            TrackerConfig cfg = TransportConfig(dir, OfflineMode.Always, Answer(503));
            cfg.MaxHitAgeMs = 1;
            cfg.ReportDrops = false;
            using (Tracker t = Tracker.Create(cfg))
            {
                t.TrackEvent("expiring");
                Thread.Sleep(5);
                DispatchResult r = DispatchAndWait(t, "the dispatch without drop reports");
                Equal(1L, r.Dropped, "dropped as expired (" + r + ")");
                Equal(0L, t.Offline.Count(), "no drop report is stored");
            }
        }
    }
}
