using System.Runtime.InteropServices;
using CharRnn.Fast.Kernels;

namespace CharRnn.Native;

/// <summary>charrnn_build_variant: the instruction set this build of the library was compiled for.</summary>
internal static unsafe class BuildExports
{
    // Unmanaged and never freed: the string stays where it is for the life of the process, as charrnn.h promises.
    private static readonly nint Variant = Marshal.StringToCoTaskMemUTF8(BuildVariant.Name);

    [UnmanagedCallersOnly(EntryPoint = "charrnn_build_variant")]
    public static byte* GetBuildVariant()
    {
        try { return (byte*)Variant; } // the first call runs the type's initializer: guarded like every entry point
        catch { return null; }
    }
}
