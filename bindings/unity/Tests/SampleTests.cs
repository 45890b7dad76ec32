// The sample MonoBehaviour (Samples~/Basic/AttrackerBehaviour.cs) run as Unity
// would run it, its messages called by reflection against Tests/UnityStubs:
// Awake makes the tracker with the host transport (HttpClientTransport here,
// UnityWebRequestTransport in Unity: the same Poll-driven path), Update polls
// and delivers, OnApplicationPause flushes and resumes, OnApplicationQuit
// closes. Nothing is sent while Update does not run.

using System;
using System.Diagnostics;
using System.Reflection;
using System.Threading;
using Attracker;
using UnityEngine;

static partial class Program
{
    static void RunSampleTests()
    {
        Run("sample_behaviour_runs_with_the_host_transport", SampleBehaviourRunsWithTheHostTransport);
    }

    static void UnityMessage(MonoBehaviour behaviour, string message, params object[] args)
    {
        MethodInfo m = behaviour.GetType().GetMethod(message, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
        Check(m != null, "the sample has " + message);
        m.Invoke(behaviour, args);
    }

    static void SampleBehaviourRunsWithTheHostTransport()
    {
        using (var collector = new Collector())
        using (var dir = new TempDir())
        {
            Application.persistentDataPath = dir.Path;
            Application.internetReachability = NetworkReachability.ReachableViaLocalAreaNetwork;
            var sample = new AttrackerBehaviour { endpoint = collector.BaseUrl, apiKey = "pk_sample", useHostTransport = true };
            Check(AttrackerBehaviour.Instance == null, "no tracker before Awake");
            UnityMessage(sample, "Awake");
            Tracker t = AttrackerBehaviour.Instance;
            Check(t != null, "Awake made the tracker");
            try
            {
                Equal(CallbackMode.Polled, t.CallbackMode, "the sample polls");
                t.TrackEvent("sample_event", "{\"from\":\"sample\"}");
                string id = t.Offline.Latest().MessageId;
                DispatchResult? result = null;
                t.Dispatch(r => result = r);
                Thread.Sleep(300);
                Equal(0, collector.Locked(() => collector.Batches.Count), "nothing sent while no Update runs (a host transport)");

                var sw = Stopwatch.StartNew();
                while (!result.HasValue)
                {
                    Check(sw.ElapsedMilliseconds < WaitMs, "timed out waiting for the sample's Update to deliver");
                    UnityMessage(sample, "Update");
                    Thread.Sleep(2);
                }
                Equal(Status.Ok, result.Value.Status, "dispatch from the sample (" + result.Value + ")");
                Check(collector.Locked(() => string.Join("\n", collector.Batches)).Contains(id), "the event arrived");
                Equal("Bearer pk_sample", collector.Locked(() => collector.Authorizations[0]), "the sample's api key");

                // Reachability changes are reported from Update.
                Application.internetReachability = NetworkReachability.NotReachable;
                UnityMessage(sample, "Update");
                Application.internetReachability = NetworkReachability.ReachableViaCarrierDataNetwork;
                UnityMessage(sample, "Update");

                // Pause: "Application Backgrounded"; resume: "Application Opened".
                UnityMessage(sample, "OnApplicationPause", true);
                UnityMessage(sample, "OnApplicationPause", false);
                for (int i = 0; i < 50; i++)
                {
                    UnityMessage(sample, "Update");
                    Thread.Sleep(2);
                }

                UnityMessage(sample, "OnApplicationQuit");
                Check(AttrackerBehaviour.Instance == null, "OnApplicationQuit closed and released the tracker");
                Check(t.IsDisposed, "the tracker is disposed");
                UnityMessage(sample, "OnDestroy"); // after quit: nothing left to do
            }
            finally
            {
                if (AttrackerBehaviour.Instance != null)
                    UnityMessage(sample, "OnDestroy");
            }
            Equal("", string.Join("\n", collector.Locked(() => collector.Errors.ToArray())), "collector errors");
        }
    }
}
