// The few UnityEngine members the binding and its sample use, so that they
// compile without Unity: ctest's unity_defines_compile compiles Runtime/*.cs
// (UnityWebRequestTransport included) and the sample with UNITY_5_3_OR_NEWER
// defined, and the Mono test program compiles the sample with these to run it
// (Tests/SampleTests.cs). Signatures follow Unity's. Never shipped: Tests/ is
// excluded from Unity by its asmdef's define constraint.
//
// Behaviour: Application's properties are set by the test that runs the
// sample; Debug writes nothing; the Networking types only compile (nothing
// here sends: UnityWebRequestTransport is not run outside Unity).

namespace UnityEngine
{
    public class Object
    {
        public static void Destroy(Object obj) { }
        public static void DontDestroyOnLoad(Object target) { }
    }

    public class GameObject : Object { }

    [System.AttributeUsage(System.AttributeTargets.Field)]
    public class TooltipAttribute : System.Attribute
    {
        public TooltipAttribute(string tooltip) { }
    }

    public class Component : Object
    {
        public GameObject gameObject => null;
    }

    public class Behaviour : Component { }

    public class MonoBehaviour : Behaviour { }

    public static class Debug
    {
        public static void Log(object message) { }
        public static void LogWarning(object message) { }
        public static void LogError(object message) { }
        public static void LogException(System.Exception exception) { }
    }

    public enum NetworkReachability
    {
        NotReachable,
        ReachableViaCarrierDataNetwork,
        ReachableViaLocalAreaNetwork,
    }

    public static class Application
    {
        // Settable here so that the Mono test can run the sample (Unity's are get-only).
        public static string persistentDataPath { get; set; } = "";
        public static NetworkReachability internetReachability { get; set; } = NetworkReachability.NotReachable;
    }

    public class AsyncOperation
    {
        public bool isDone => false;
    }
}

namespace UnityEngine.Networking
{
    public class UploadHandler : System.IDisposable
    {
        public string contentType { get; set; }
        public void Dispose() { }
    }

    public sealed class UploadHandlerRaw : UploadHandler
    {
        public UploadHandlerRaw(byte[] data) { }
    }

    public class DownloadHandler : System.IDisposable
    {
        public void Dispose() { }
    }

    public sealed class DownloadHandlerBuffer : DownloadHandler { }

    public class UnityWebRequestAsyncOperation : AsyncOperation { }

    public class UnityWebRequest : System.IDisposable
    {
        public UnityWebRequest(string url, string method) { }
        public UploadHandler uploadHandler { get; set; }
        public DownloadHandler downloadHandler { get; set; }
        public int timeout { get; set; }
        public int redirectLimit { get; set; }
        public bool isDone => false;
        public long responseCode => 0;
        public string error => null;
        public void SetRequestHeader(string name, string value) { }
        public string GetResponseHeader(string name) => null;
        public UnityWebRequestAsyncOperation SendWebRequest() => new UnityWebRequestAsyncOperation();
        public void Abort() { }
        public void Dispose() { }
    }
}
