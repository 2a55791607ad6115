using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// One core's measured rate of reading a working set of a given size again and again (a plain vector sum over it, eight
/// independent chains, through the policy's vector width): the bound for work that streams the same memory every time,
/// as generation streams the weight matrices once per character. A set that fits in L2 reads at L2's rate, a larger
/// one at L3's or memory's.
/// </summary>
public static class ReadRate
{
    /// <summary>GB/s reading <paramref name="bytes"/> (rounded up to whole vectors), best of timed rounds lasting about <paramref name="seconds"/> in all.</summary>
    public static double Measure(KernelPolicy policy, long bytes, double seconds = 0.3)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1L);
        int lanes = 8 * policy.Width, floats = (int)Math.Min(int.MaxValue / 2, (bytes / sizeof(float) + lanes - 1) / lanes * lanes);
        var buffer = new AlignedBuffer(floats);
        buffer.Span.Fill(1f);
        int passes = (int)Math.Clamp(4_000_000 / Math.Max(1, floats), 1, 100_000); // a round reads about 16 MB
        return BestRound.PerSecond(() =>
        {
            float sum = 0;
            for (int i = 0; i < passes; i++) sum += Sum(policy, buffer.Span);
            return sum;
        }, (double)passes * floats * sizeof(float) / 1e9, seconds);
    }

    /// <summary>Σ x (x's length a multiple of eight vectors), summed in eight chains of <paramref name="policy"/>'s width.</summary>
    internal static float Sum(KernelPolicy policy, ReadOnlySpan<float> x) => policy.Path switch
    {
        VectorPath.V512 => Chains<Simd512, Vector512<float>>(x),
        VectorPath.V256 => Chains<Simd256, Vector256<float>>(x),
        VectorPath.V128 => Chains<Simd128, Vector128<float>>(x),
        _ => Chains<SimdScalar, float>(x),
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains<TS, TV>(ReadOnlySpan<float> x) where TS : ISimd<TV> where TV : struct
    {
        nint w = TS.Count;
        if (x.Length % (8 * w) != 0) throw new ArgumentException($"the length {x.Length} is not a multiple of {8 * w}", nameof(x));
        TV s0 = TS.Zero, s1 = TS.Zero, s2 = TS.Zero, s3 = TS.Zero, s4 = TS.Zero, s5 = TS.Zero, s6 = TS.Zero, s7 = TS.Zero;
        ref float p = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        for (nint i = 0; i < x.Length; i += 8 * w)
        {
            ref float q = ref Unsafe.Add(ref p, i);
            s0 = TS.Add(s0, TS.Load(in q));
            s1 = TS.Add(s1, TS.Load(in Unsafe.Add(ref q, w)));
            s2 = TS.Add(s2, TS.Load(in Unsafe.Add(ref q, 2 * w)));
            s3 = TS.Add(s3, TS.Load(in Unsafe.Add(ref q, 3 * w)));
            s4 = TS.Add(s4, TS.Load(in Unsafe.Add(ref q, 4 * w)));
            s5 = TS.Add(s5, TS.Load(in Unsafe.Add(ref q, 5 * w)));
            s6 = TS.Add(s6, TS.Load(in Unsafe.Add(ref q, 6 * w)));
            s7 = TS.Add(s7, TS.Load(in Unsafe.Add(ref q, 7 * w)));
        }
        return TS.Sum(TS.Add(TS.Add(TS.Add(s0, s1), TS.Add(s2, s3)), TS.Add(TS.Add(s4, s5), TS.Add(s6, s7))));
    }
}
