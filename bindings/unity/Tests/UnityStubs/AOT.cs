// Unity's AOT.MonoPInvokeCallbackAttribute, for unity_defines_compile only:
// outside Unity (the Mono test program) Runtime/MonoPInvokeCallbackAttribute.cs
// defines it. Never shipped (see UnityEngine.cs).

namespace AOT
{
    [System.AttributeUsage(System.AttributeTargets.Method)]
    public class MonoPInvokeCallbackAttribute : System.Attribute
    {
        public MonoPInvokeCallbackAttribute(System.Type type) { }
    }
}
