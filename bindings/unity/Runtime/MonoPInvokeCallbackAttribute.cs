// Ahead-of-time compilers (IL2CPP, Mono full AOT on iOS/consoles) cannot make a
// native entry point for a managed method at run time: every method handed to C
// as a function pointer must be static and marked with this attribute, naming
// its delegate type, so the compiler emits the native-to-managed wrapper ahead
// of time. Unity ships the attribute (AOT.MonoPInvokeCallbackAttribute in
// UnityEngine); elsewhere (plain Mono, this repository's tests) we define it.
// Mono matches it by name, so this definition works with `mono --full-aot`.

#if !UNITY_5_3_OR_NEWER
namespace AOT
{
    [System.AttributeUsage(System.AttributeTargets.Method)]
    internal sealed class MonoPInvokeCallbackAttribute : System.Attribute
    {
        public MonoPInvokeCallbackAttribute(System.Type delegateType) { DelegateType = delegateType; }
        public System.Type DelegateType { get; }
    }
}
#endif
