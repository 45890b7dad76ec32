// Put this on one GameObject in the first scene. It owns the tracker for the
// whole session: AttrackerBehaviour.Instance.TrackEvent(...) from anywhere on
// the main thread (or any thread: the tracker is thread-safe).
//
// Callbacks (completions, dispatch results, logs, drops) run inside Poll, on
// the main thread, so they may use Unity's API.

using System.IO;
using Attracker;
using UnityEngine;

public sealed class AttrackerBehaviour : MonoBehaviour
{
    public string endpoint = "https://collect.example.com";
    public string apiKey = "";
    [Tooltip("Callbacks run per frame at most (0 = all pending).")]
    public int maxCallbacksPerFrame = 64;
    [Tooltip("Time granted to the background flush when the app pauses, in ms.")]
    public int backgroundDeadlineMs = 5000;

    public static Tracker Instance { get; private set; }

    static AttrackerBehaviour owner;

    NetworkReachability reachability;

    void Awake()
    {
        if (Instance != null)
        {
            Destroy(gameObject);
            return;
        }
        DontDestroyOnLoad(gameObject);
        owner = this;
        Instance = Tracker.Create(new TrackerConfig
        {
            StoragePath = Path.Combine(Application.persistentDataPath, "attracker", "attracker.db"),
            Endpoint = endpoint,
            ApiKey = apiKey,
            // CallbackMode = CallbackMode.Polled is the default here.
            Log = (level, message) =>
            {
                if (level <= LogLevel.Warn)
                    Debug.LogWarning("[attracker] " + message);
                else
                    Debug.Log("[attracker] " + message);
            },
            LogLevel = LogLevel.Info,
        });
        reachability = Application.internetReachability;
        Instance.SetNetworkReachable(reachability != NetworkReachability.NotReachable);
    }

    void Update()
    {
        if (Instance == null || owner != this)
            return;
        Instance.Poll(maxCallbacksPerFrame);
        // Reachability report: hits tracked while offline are stored and
        // flagged; coming back online triggers a send.
        NetworkReachability now = Application.internetReachability;
        if (now != reachability)
        {
            reachability = now;
            Instance.SetNetworkReachable(now != NetworkReachability.NotReachable);
        }
    }

    void OnApplicationPause(bool paused)
    {
        if (Instance == null || owner != this)
            return;
        if (paused)
            // Records "Application Backgrounded" and sends what it can within the
            // deadline from the library's own thread (no Update runs while paused);
            // what is not sent stays on disk. The result arrives with a later Poll.
            Instance.AppDidEnterBackground(backgroundDeadlineMs,
                result => Debug.Log("[attracker] background flush: " + result));
        else
            Instance.AppWillEnterForeground();
    }

    // Quitting (and leaving play mode in the Editor, before the domain reload
    // that would leave the library's threads with dangling callbacks): close
    // with a bounded send window, then free. Hits are already on disk: Close
    // only sends what it can and runs the pending callbacks here.
    void OnApplicationQuit() => Shutdown();

    void OnDestroy() => Shutdown();

    void Shutdown()
    {
        if (Instance == null || owner != this)
            return;
        owner = null;
        Instance.Close(2000);
        Instance.Dispose();
        Instance = null;
    }
}
