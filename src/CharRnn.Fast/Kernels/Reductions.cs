using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CharRnn.Fast.Kernels;

/// <summary>Reductions over a span: Σx² (for global-norm clipping and the non-finite check).</summary>
internal static class Reductions
{
    /// <summary>
    /// Σ x², accumulated in float vectors (4 independent chains), returned as double. NaN or ∞ in gives NaN or ∞ out;
    /// finite values whose squares overflow float (|x| above about 1.8e19) are summed again in double, so they give a
    /// finite sum.
    /// </summary>
    public static double SumOfSquares(KernelPolicy policy, ReadOnlySpan<float> x)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        double sum = policy.Path switch
        {
            VectorPath.V512 => SumOfSquares<Simd512, Vector512<float>>(ref r, x.Length),
            VectorPath.V256 => SumOfSquares<Simd256, Vector256<float>>(ref r, x.Length),
            VectorPath.V128 => SumOfSquares<Simd128, Vector128<float>>(ref r, x.Length),
            _ => SumOfSquares<SimdScalar, float>(ref r, x.Length),
        };
        if (double.IsFinite(sum)) return sum;
        sum = 0;
        foreach (float v in x) sum += (double)v * v;
        return sum;
    }

    private static double SumOfSquares<TS, TV>(ref float x, int n) where TS : ISimd<TV> where TV : struct
    {
        int w = TS.Count, i = 0;
        TV s0 = TS.Zero, s1 = TS.Zero, s2 = TS.Zero, s3 = TS.Zero;
        for (; i <= n - 4 * w; i += 4 * w)
        {
            TV a = TS.Load(in Unsafe.Add(ref x, i)), b = TS.Load(in Unsafe.Add(ref x, i + w));
            TV c = TS.Load(in Unsafe.Add(ref x, i + 2 * w)), d = TS.Load(in Unsafe.Add(ref x, i + 3 * w));
            s0 = TS.MultiplyAdd(a, a, s0); s1 = TS.MultiplyAdd(b, b, s1); s2 = TS.MultiplyAdd(c, c, s2); s3 = TS.MultiplyAdd(d, d, s3);
        }
        for (; i <= n - w; i += w)
        {
            TV a = TS.Load(in Unsafe.Add(ref x, i));
            s0 = TS.MultiplyAdd(a, a, s0);
        }
        double sum = TS.Sum(TS.Add(TS.Add(s0, s1), TS.Add(s2, s3)));
        for (; i < n; i++) sum += (double)Unsafe.Add(ref x, i) * Unsafe.Add(ref x, i);
        return sum;
    }
}
