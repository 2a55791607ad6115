using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// Softmax with the max subtracted (exp never overflows), fused with the cross-entropy loss and its gradient.
/// Exp is <see cref="ExpApproximation"/> (relative error below 2e-7).
/// </summary>
internal static class Softmax
{
    /// <summary>
    /// x ← scale · softmax(x · inverseTemperature), in place. Returns log Σ exp(x·s) (the log-partition), so
    /// −log p[t] = result − x[t]·s. A NaN anywhere makes the result NaN.
    /// </summary>
    /// <param name="x">[V] logits in, scaled probabilities out</param>
    public static float InPlace(KernelPolicy policy, Span<float> x, float inverseTemperature = 1f, float scale = 1f)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        return policy.Path switch
        {
            VectorPath.V512 => Row<Simd512, Vector512<float>>(ref r, x.Length, inverseTemperature, scale),
            VectorPath.V256 => Row<Simd256, Vector256<float>>(ref r, x.Length, inverseTemperature, scale),
            VectorPath.V128 => Row<Simd128, Vector128<float>>(ref r, x.Length, inverseTemperature, scale),
            _ => Row<SimdScalar, float>(ref r, x.Length, inverseTemperature, scale),
        };
    }

    /// <summary>
    /// For each row r: loss_r = −log softmax(logits_r)[targets_r]; then logits_r ← scale·(p_r − onehot(targets_r)),
    /// the gradient of scale·Σ loss. Returns Σ_r loss_r in double.
    /// </summary>
    /// <param name="logits">[R,V] row-major, overwritten by the gradient</param>
    /// <param name="targets">[R] ids in [0,V)</param>
    public static double CrossEntropyWithGradient(KernelPolicy policy, Span<float> logits, ReadOnlySpan<int> targets, int v, float scale)
    {
        double loss = 0;
        for (int r = 0; r < targets.Length; r++)
        {
            var row = logits.Slice(r * v, v);
            int t = targets[r];
            float target = row[t];
            float logPartition = InPlace(policy, row, 1f, scale);
            loss += (double)logPartition - target;
            row[t] -= scale;
        }
        return loss;
    }

    /// <summary>Σ_r −log softmax(logits_r)[targets_r] without a gradient (evaluation); logits are overwritten.</summary>
    /// <param name="logits">[R,V] row-major</param>
    public static double CrossEntropy(KernelPolicy policy, Span<float> logits, ReadOnlySpan<int> targets, int v)
    {
        double loss = 0;
        for (int r = 0; r < targets.Length; r++)
        {
            var row = logits.Slice(r * v, v);
            float target = row[targets[r]];
            loss += (double)LogSumExp(policy, row) - target;
        }
        return loss;
    }

    /// <summary>log Σ exp(x), stable; x is overwritten with exp(x − max).</summary>
    public static float LogSumExp(KernelPolicy policy, Span<float> x) => InPlace(policy, x, 1f, 0f);

    // [0, n) is swept in spans of decreasing width: whole vectors of the policy's width, then at most one 256-bit and one
    // 128-bit vector, then single floats (a narrower exp costs about what a wide one does; V = 136 at 512 bits would
    // otherwise end in eight scalar ones).
    private static float Row<TS, TV>(ref float x, int n, float inverseTemperature, float scale) where TS : ISimd<TV> where TV : struct
    {
        int w = TS.Count, e0 = n - n % w;
        int e1 = w > 8 && n - e0 >= 8 ? e0 + 8 : e0;
        int e2 = w > 4 && n - e1 >= 4 ? e1 + 4 : e1;

        // max of x·s  (s > 0, so max(x)·s); Max is IEEE maximum on every path, so a NaN anywhere makes max NaN
        float max = MathF.Max(MathF.Max(Max<TS, TV>(ref x, 0, e0), Max<Simd256, Vector256<float>>(ref x, e0, e1)),
            MathF.Max(Max<Simd128, Vector128<float>>(ref x, e1, e2), Max<SimdScalar, float>(ref x, e2, n)));
        if (float.IsNaN(max)) return float.NaN;
        if (float.IsInfinity(max * inverseTemperature) && float.IsFinite(max)) return ArgMax(ref x, n, max, scale);
        max *= inverseTemperature;

        // e_i = exp(x_i·s − max), Σ e_i
        float total = Exp<TS, TV>(ref x, 0, e0, inverseTemperature, max) + Exp<Simd256, Vector256<float>>(ref x, e0, e1, inverseTemperature, max)
            + Exp<Simd128, Vector128<float>>(ref x, e1, e2, inverseTemperature, max) + Exp<SimdScalar, float>(ref x, e2, n, inverseTemperature, max);

        // p_i = e_i / Σ e, times scale
        if (scale != 0f)
        {
            float f = scale / total;
            Scale<TS, TV>(ref x, 0, e0, f);
            Scale<Simd256, Vector256<float>>(ref x, e0, e1, f);
            Scale<Simd128, Vector128<float>>(ref x, e1, e2, f);
            Scale<SimdScalar, float>(ref x, e2, n, f);
        }
        return MathF.Log(total) + max;
    }

    // x·s overflows (a temperature near 0): x·s − max would be ∞ − ∞. The limit as s grows is all the mass on the
    // largest x (the first of equal ones, as a greedy draw takes); the log-partition's limit is ±∞.
    private static float ArgMax(ref float x, int n, float max, float scale)
    {
        int at = 0;
        while (Unsafe.Add(ref x, at) != max) at++;
        for (int i = 0; i < n; i++) Unsafe.Add(ref x, i) = 0f;
        Unsafe.Add(ref x, at) = scale;
        return max > 0 ? float.PositiveInfinity : float.NegativeInfinity;
    }

    // max of x[from, to), a whole number of TS's vectors; −∞ when empty
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Max<TS, TV>(ref float x, int from, int to) where TS : ISimd<TV> where TV : struct
    {
        if (from == to) return float.NegativeInfinity;
        TV mv = TS.Create(float.NegativeInfinity);
        for (int i = from; i < to; i += TS.Count) mv = TS.Max(mv, TS.Load(in Unsafe.Add(ref x, i)));
        return TS.MaxAcross(mv);
    }

    // x_i ← exp(x_i·s − max) over [from, to); returns their sum
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Exp<TS, TV>(ref float x, int from, int to, float inverseTemperature, float max) where TS : ISimd<TV> where TV : struct
    {
        if (from == to) return 0f;
        TV s = TS.Create(inverseTemperature), maxv = TS.Create(max), sum = TS.Zero;
        for (int i = from; i < to; i += TS.Count)
        {
            TV e = ExpApproximation.Exp<TS, TV>(TS.Subtract(TS.Multiply(TS.Load(in Unsafe.Add(ref x, i)), s), maxv));
            TS.Store(e, ref Unsafe.Add(ref x, i));
            sum = TS.Add(sum, e);
        }
        return TS.Sum(sum);
    }

    // x_i ← x_i·f over [from, to)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale<TS, TV>(ref float x, int from, int to, float f) where TS : ISimd<TV> where TV : struct
    {
        if (from == to) return;
        TV factor = TS.Create(f);
        for (int i = from; i < to; i += TS.Count) TS.Store(TS.Multiply(TS.Load(in Unsafe.Add(ref x, i)), factor), ref Unsafe.Add(ref x, i));
    }
}
