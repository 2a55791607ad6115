using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// An element-wise update over up to four spans of equal length, applied at one vector position: the operator
/// loads the operands it reads and stores the ones it changes (all at the same offset).
/// </summary>
internal interface IElementwiseOperator
{
    void Invoke<TS, TV>(ref float x0, ref float x1, ref float x2, ref float x3) where TS : ISimd<TV> where TV : struct;
}

/// <summary>Runs an <see cref="IElementwiseOperator"/> over whole vectors of the policy's width, then the tail at width 1.</summary>
internal static class Elementwise
{
    public static void Apply<TOp>(KernelPolicy policy, in TOp op, Span<float> x0, Span<float> x1 = default, Span<float> x2 = default, Span<float> x3 = default)
        where TOp : struct, IElementwiseOperator
    {
        int n = x0.Length;
        if ((!x1.IsEmpty && x1.Length != n) || (!x2.IsEmpty && x2.Length != n) || (!x3.IsEmpty && x3.Length != n))
            throw new ArgumentException("element-wise operands must have equal lengths");
        ref float r0 = ref MemoryMarshal.GetReference(x0);
        ref float r1 = ref MemoryMarshal.GetReference(x1);
        ref float r2 = ref MemoryMarshal.GetReference(x2);
        ref float r3 = ref MemoryMarshal.GetReference(x3);
        // A local copy: the operator's constants cannot alias the stores, so they stay in registers across the loop.
        TOp local = op;
        int vecEnd = 0;
        switch (policy.Path)
        {
            case VectorPath.V512: vecEnd = Loop<TOp, Simd512, Vector512<float>>(local, ref r0, ref r1, ref r2, ref r3, 0, n); break;
            case VectorPath.V256: vecEnd = Loop<TOp, Simd256, Vector256<float>>(local, ref r0, ref r1, ref r2, ref r3, 0, n); break;
            case VectorPath.V128: vecEnd = Loop<TOp, Simd128, Vector128<float>>(local, ref r0, ref r1, ref r2, ref r3, 0, n); break;
        }
        Loop<TOp, SimdScalar, float>(local, ref r0, ref r1, ref r2, ref r3, vecEnd, n);
    }

    /// <summary>Processes whole vectors from <paramref name="start"/>; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Loop<TOp, TS, TV>(TOp op, ref float r0, ref float r1, ref float r2, ref float r3, int start, int n)
        where TOp : struct, IElementwiseOperator where TS : ISimd<TV> where TV : struct
    {
        int i = start;
        for (; i <= n - TS.Count; i += TS.Count)
            op.Invoke<TS, TV>(ref Unsafe.Add(ref r0, i), ref Unsafe.Add(ref r1, i), ref Unsafe.Add(ref r2, i), ref Unsafe.Add(ref r3, i));
        return i;
    }
}
