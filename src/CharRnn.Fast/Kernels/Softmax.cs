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

    [SkipLocalsInit]
    private static float Row<TS, TV>(ref float x, int n, float inverseTemperature, float scale) where TS : ISimd<TV> where TV : struct
    {
        int w = TS.Count, vecEnd = n - n % w;
        TV s = TS.Create(inverseTemperature);

        // max of x·s  (s > 0, so max(x)·s); Max is IEEE maximum on every path, so a NaN anywhere makes max NaN
        TV mv = TS.Create(float.NegativeInfinity);
        for (int i = 0; i < vecEnd; i += w) mv = TS.Max(mv, TS.Load(in Unsafe.Add(ref x, i)));
        float max = vecEnd > 0 ? TS.MaxAcross(mv) : float.NegativeInfinity;
        for (int i = vecEnd; i < n; i++) max = MathF.Max(max, Unsafe.Add(ref x, i));
        if (float.IsNaN(max)) return float.NaN;
        max *= inverseTemperature;

        // e_i = exp(x_i·s − max), Σ e_i
        TV maxv = TS.Create(max), sum = TS.Zero;
        for (int i = 0; i < vecEnd; i += w)
        {
            TV e = ExpApproximation.Exp<TS, TV>(TS.Subtract(TS.Multiply(TS.Load(in Unsafe.Add(ref x, i)), s), maxv));
            TS.Store(e, ref Unsafe.Add(ref x, i));
            sum = TS.Add(sum, e);
        }
        float total = TS.Sum(sum);
        for (int i = vecEnd; i < n; i++)
        {
            float e = ExpApproximation.Exp<SimdScalar, float>(Unsafe.Add(ref x, i) * inverseTemperature - max);
            Unsafe.Add(ref x, i) = e;
            total += e;
        }

        // p_i = e_i / Σ e, times scale
        if (scale != 0f)
        {
            TV factor = TS.Create(scale / total);
            for (int i = 0; i < vecEnd; i += w) TS.Store(TS.Multiply(TS.Load(in Unsafe.Add(ref x, i)), factor), ref Unsafe.Add(ref x, i));
            float f = scale / total;
            for (int i = vecEnd; i < n; i++) Unsafe.Add(ref x, i) *= f;
        }
        return MathF.Log(total) + max;
    }
}
