using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// One core's measured multiply-add throughput on a policy's vector width, through the kernels' own
/// <see cref="ISimd{TVec}.MultiplyAdd"/> (FMA, or multiply then add on x86's 128-bit and scalar paths): twelve independent chains in
/// registers (enough to cover a 4–6 cycle latency on two FMA ports; twelve accumulators and two operands fit a
/// 16-register file), no memory traffic. The bound that training and generation figures are quoted against.
/// </summary>
public static class FmaPeak
{
    /// <summary>GFLOP/s (2 flops per lane per FMA) on <paramref name="policy"/>'s width, best of a few timed rounds lasting about <paramref name="seconds"/> in all.</summary>
    public static double Measure(KernelPolicy policy, double seconds = 0.5)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Func<long, float> run = policy.Path switch
        {
            VectorPath.V512 => Chains<Simd512, Vector512<float>>,
            VectorPath.V256 => Chains<Simd256, Vector256<float>>,
            VectorPath.V128 => Chains<Simd128, Vector128<float>>,
            _ => Chains<SimdScalar, float>,
        };
        const long Iterations = 1 << 16;
        return BestRound.PerSecond(() =>
        {
            float sum = 0;
            for (int i = 0; i < 16; i++) sum += run(Iterations);
            return sum;
        }, 16 * 2.0 * policy.Width * 12 * Iterations / 1e9, seconds);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains<TS, TV>(long iterations) where TS : ISimd<TV> where TV : struct
    {
        TV a = TS.Create(0.999999f), b = TS.Create(1e-7f);
        TV c0 = TS.Create(1), c1 = TS.Create(2), c2 = TS.Create(3), c3 = TS.Create(4), c4 = TS.Create(5), c5 = TS.Create(6);
        TV c6 = TS.Create(7), c7 = TS.Create(8), c8 = TS.Create(9), c9 = TS.Create(10), c10 = TS.Create(11), c11 = TS.Create(12);
        for (long i = 0; i < iterations; i++)
        {
            c0 = TS.MultiplyAdd(c0, a, b); c1 = TS.MultiplyAdd(c1, a, b); c2 = TS.MultiplyAdd(c2, a, b); c3 = TS.MultiplyAdd(c3, a, b);
            c4 = TS.MultiplyAdd(c4, a, b); c5 = TS.MultiplyAdd(c5, a, b); c6 = TS.MultiplyAdd(c6, a, b); c7 = TS.MultiplyAdd(c7, a, b);
            c8 = TS.MultiplyAdd(c8, a, b); c9 = TS.MultiplyAdd(c9, a, b); c10 = TS.MultiplyAdd(c10, a, b); c11 = TS.MultiplyAdd(c11, a, b);
        }
        TV s = TS.Add(TS.Add(TS.Add(c0, c1), TS.Add(c2, c3)), TS.Add(TS.Add(c4, c5), TS.Add(c6, c7)));
        return TS.Sum(TS.Add(s, TS.Add(TS.Add(c8, c9), TS.Add(c10, c11))));
    }
}
