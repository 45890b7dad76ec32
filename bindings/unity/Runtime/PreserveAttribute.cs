// [Preserve] against managed code stripping (Unity's "Managed Stripping
// Level", IL2CPP): UnityLinker keeps any type or member carrying an attribute
// named PreserveAttribute, whatever its namespace, so the binding needs no
// reference to UnityEngine.Scripting for it. Put on what is reached only from
// native code or by reflection; Runtime/link.xml keeps the whole assembly too.

using System;

namespace Attracker
{
    [AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Method
                    | AttributeTargets.Constructor | AttributeTargets.Field | AttributeTargets.Property
                    | AttributeTargets.Interface | AttributeTargets.Delegate | AttributeTargets.Enum, Inherited = false)]
    internal sealed class PreserveAttribute : Attribute
    {
    }
}
