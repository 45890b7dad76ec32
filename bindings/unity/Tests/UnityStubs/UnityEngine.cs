// The few UnityEngine members the binding and its sample use, so ctest's
// unity_defines_compile can compile them with UNITY_5_3_OR_NEWER defined
// without Unity. Signatures follow Unity's; bodies do nothing. Never shipped:
// Tests/ is excluded from Unity by its asmdef's define constraint.

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
        public static string persistentDataPath => "";
        public static NetworkReachability internetReachability => NetworkReachability.NotReachable;
    }
}

namespace AOT
{
    [System.AttributeUsage(System.AttributeTargets.Method)]
    public class MonoPInvokeCallbackAttribute : System.Attribute
    {
        public MonoPInvokeCallbackAttribute(System.Type type) { }
    }
}
