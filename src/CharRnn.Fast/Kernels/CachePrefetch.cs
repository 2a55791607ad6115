using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// Software prefetch of the cache line holding a float, into L2 (x86's <c>prefetcht1</c>; a no-op elsewhere). The GEMM
/// uses it to fetch the next column panel of B while the current one is computed: a packed panel block is 32 KB, which
/// the hardware prefetchers do not run ahead of across its 4 KB pages, so without it the first row tile of every panel
/// waits on L3 (the LSTM's 4 MB W_hh is re-read from L3 at every time step).
/// </summary>
internal static class CachePrefetch
{
    /// <summary>Floats per 64-byte cache line.</summary>
    public const int LineFloats = 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void ToL2(ref float line)
    {
        if (Sse.IsSupported) Sse.Prefetch1(Unsafe.AsPointer(ref line));
    }
}
