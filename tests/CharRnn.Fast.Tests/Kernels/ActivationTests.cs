using CharRnn.Fast.Kernels;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Kernels;

public class ActivationTests
{
    /// <summary>The documented bound of <see cref="TanhApproximation"/>: |tanh̃(x) − tanh(x)| &lt; 1e-6 everywhere.</summary>
    [Fact]
    public void Fast_tanh_is_within_its_documented_bound_on_every_path() => ForEachPolicy(policy =>
    {
        const int n = 200_001;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -10f + 20f * i / (n - 1);
        var h = (float[])x.Clone();
        // identity GEMM with K = 0 applies the epilogue alone
        Gemm.Run<TanhEpilogue>(policy, h, h, StridedMatrix.RowMajor(default, 1, 0), PanelView.RowMajor(default, 0, n), default);
        double worst = 0;
        for (int i = 0; i < n; i++) worst = Math.Max(worst, Math.Abs(h[i] - Math.Tanh(x[i])));
        Assert.True(worst < 1e-6, $"max |error| {worst:E3}");
    });

    [Fact]
    public void Fast_tanh_saturates_and_propagates_nan() => ForEachPolicy(policy =>
    {
        float[] x = [float.PositiveInfinity, float.NegativeInfinity, 50f, -50f, float.NaN, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f];
        Gemm.Run<TanhEpilogue>(policy, x, x, StridedMatrix.RowMajor(default, 1, 0), PanelView.RowMajor(default, 0, x.Length), default);
        Assert.Equal(1f, x[0], 1e-6f); Assert.Equal(-1f, x[1], 1e-6f); Assert.Equal(1f, x[2], 1e-6f); Assert.Equal(-1f, x[3], 1e-6f);
        Assert.True(float.IsNaN(x[4]));
        Assert.Equal(0f, x[5]);
    });

    [Fact]
    public void Relu_zeroes_negatives_and_propagates_nan() => ForEachPolicy(policy =>
    {
        float[] x = [-1f, 2f, float.NaN, -0f, float.NegativeInfinity, float.PositiveInfinity, 0.5f, -3f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, float.NaN];
        Gemm.Run<ReluEpilogue>(policy, x, x, StridedMatrix.RowMajor(default, 1, 0), PanelView.RowMajor(default, 0, x.Length), default);
        Assert.Equal(0f, x[0]); Assert.Equal(2f, x[1]); Assert.True(float.IsNaN(x[2])); Assert.Equal(0f, x[3]);
        Assert.Equal(0f, x[4]); Assert.Equal(float.PositiveInfinity, x[5]); Assert.Equal(0.5f, x[6]); Assert.Equal(0f, x[7]);
        Assert.True(float.IsNaN(x[16])); // the scalar tail
    });

    private static double ExpWorstRelativeError<TS, TV>(float[] x) where TS : ISimd<TV> where TV : struct
    {
        var y = new float[x.Length];
        for (int i = 0; i + TS.Count <= x.Length; i += TS.Count) TS.Store(ExpApproximation.Exp<TS, TV>(TS.Load(in x[i])), ref y[i]);
        double worst = 0;
        for (int i = 0; i < x.Length - x.Length % TS.Count; i++) worst = Math.Max(worst, Math.Abs(y[i] - Math.Exp(x[i])) / Math.Exp(x[i]));
        return worst;
    }

    /// <summary>The documented bound of <see cref="ExpApproximation"/>: relative error below 2e-7 on [−87.3, 88.37], every width.</summary>
    [Fact]
    public void Fast_exp_is_within_its_documented_bound_on_every_width()
    {
        const int n = 400_000;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = MathF.Min(88.37f, -87.3f + (88.37f + 87.3f) * i / (n - 1));
        var errors = new List<(string, double)> { ("scalar", ExpWorstRelativeError<SimdScalar, float>(x)) };
        if (KernelPolicy.Available.Any(p => p.Path == VectorPath.V128)) errors.Add(("128", ExpWorstRelativeError<Simd128, System.Runtime.Intrinsics.Vector128<float>>(x)));
        if (KernelPolicy.Available.Any(p => p.Path == VectorPath.V256)) errors.Add(("256", ExpWorstRelativeError<Simd256, System.Runtime.Intrinsics.Vector256<float>>(x)));
        if (KernelPolicy.Available.Any(p => p.Path == VectorPath.V512)) errors.Add(("512", ExpWorstRelativeError<Simd512, System.Runtime.Intrinsics.Vector512<float>>(x)));
        foreach (var (path, worst) in errors) Assert.True(worst < 2e-7, $"{path}: max relative error {worst:E3}");
        // below the clamp the result is tiny, never negative, NaN or infinite (softmax of very unlikely tokens)
        var tiny = ExpApproximation.Exp<SimdScalar, float>(-1000f);
        Assert.InRange(tiny, 0f, 2e-38f);
    }

    private static void ClampAndExpKeepNaN<TS, TV>(string path) where TS : ISimd<TV> where TV : struct
    {
        var x = new float[TS.Count];
        for (int lane = 0; lane < TS.Count; lane++)
        {
            Array.Fill(x, 2f);
            x[lane] = float.NaN;
            var clamped = new float[TS.Count];
            TS.Store(TS.Clamp(TS.Load(in x[0]), TS.Create(-1f), TS.Create(1f)), ref clamped[0]);
            var e = new float[TS.Count];
            TS.Store(ExpApproximation.Exp<TS, TV>(TS.Load(in x[0])), ref e[0]);
            for (int i = 0; i < TS.Count; i++)
            {
                Assert.True(i == lane ? float.IsNaN(clamped[i]) : clamped[i] == 1f, $"{path}: clamp lane {i} gave {clamped[i]}");
                Assert.True(i == lane ? float.IsNaN(e[i]) : Math.Abs(e[i] - Math.Exp(2)) < 1e-5, $"{path}: exp lane {i} gave {e[i]}");
            }
        }
        var limits = new float[TS.Count];
        Array.Fill(limits, float.NegativeInfinity);
        TS.Store(TS.Clamp(TS.Load(in limits[0]), TS.Create(-1f), TS.Create(1f)), ref limits[0]);
        Assert.All(limits, v => Assert.Equal(-1f, v));
    }

    /// <summary>Clamp (tanh, exp, clipping) passes NaN through on every width, so a NaN never turns into a finite value.</summary>
    [Fact]
    public void Clamp_and_exp_pass_nan_through_on_every_width()
    {
        ClampAndExpKeepNaN<SimdScalar, float>("scalar");
        if (KernelPolicy.Available.Any(p => p.Path == VectorPath.V128)) ClampAndExpKeepNaN<Simd128, System.Runtime.Intrinsics.Vector128<float>>("128");
        if (KernelPolicy.Available.Any(p => p.Path == VectorPath.V256)) ClampAndExpKeepNaN<Simd256, System.Runtime.Intrinsics.Vector256<float>>("256");
        if (KernelPolicy.Available.Any(p => p.Path == VectorPath.V512)) ClampAndExpKeepNaN<Simd512, System.Runtime.Intrinsics.Vector512<float>>("512");
    }
}
