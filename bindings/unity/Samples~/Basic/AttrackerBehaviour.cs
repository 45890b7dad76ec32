// Put this on one GameObject in the first scene. It owns the tracker for the
// whole session: AttrackerBehaviour.Instance.TrackEvent(...) from anywhere on
// the main thread (or any thread: the tracker is thread-safe).
//
// Callbacks (completions, dispatch results, logs, drops) run inside Poll, on
// the main thread, so they may use Unity's API.
//
// HTTP: on iOS and Android the native library has no libcurl, so the tracker
// sends with UnityWebRequest (UnityWebRequestTransport), started and finished
// by the Poll in Update; elsewhere useHostTransport chooses. The package's Mono
// test runs this behaviour with HttpClientTransport standing in for
// UnityWebRequest (Tests/SampleTests.cs).

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
    [Tooltip("Send with Unity's HTTP stack (UnityWebRequest, from Update) instead of the library's libcurl. Always on for iOS and Android.")]
    public bool useHostTransport = HostTransportByDefault;

#if UNITY_IOS || UNITY_ANDROID
    // The mobile libraries are built without libcurl: a host transport is required.
    const bool HostTransportByDefault = true;
#else
    const bool HostTransportByDefault = false;
#endif

    public static Tracker Instance { get; private set; }

    static AttrackerBehaviour owner;

    IHttpTransport transport;

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
        bool hostTransport = useHostTransport;
#if UNITY_IOS || UNITY_ANDROID
        hostTransport = true; // the mobile libraries have no libcurl
#endif
        transport = hostTransport ? CreateHostTransport() : null;
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
            HttpTransport = transport,
        });
        reachability = Application.internetReachability;
        Instance.SetNetworkReachable(reachability != NetworkReachability.NotReachable);
    }

    static IHttpTransport CreateHostTransport()
    {
#if UNITY_5_3_OR_NEWER
        return new UnityWebRequestTransport();
#else
        // Outside Unity (the package's Mono test), the HttpClient twin, driven
        // by Poll through the same code path.
        return new HttpClientTransport();
#endif
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
        (transport as System.IDisposable)?.Dispose();
        transport = null;
    }
}
