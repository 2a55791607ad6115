using CharRnn.Fast.Kernels;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.VectorPathSweep;

namespace CharRnn.Fast.Tests.Kernels;

public class ActivationTests
{
    /// <summary>The documented bound of <see cref="TanhApproximation"/>: |tanh̃(x) − tanh(x)| &lt; 1e-6 everywhere.</summary>
    [Fact]
    public void Fast_tanh_is_within_its_documented_bound_on_every_path() => ForEachPath(_ =>
    {
        const int n = 200_001;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -10f + 20f * i / (n - 1);
        var h = (float[])x.Clone();
        // identity GEMM with K = 0 applies the epilogue alone
        Gemm.Run<TanhEpilogue>(h, h, default, 0, 1, default, default, 1, 0, n);
        double worst = 0;
        for (int i = 0; i < n; i++) worst = Math.Max(worst, Math.Abs(h[i] - Math.Tanh(x[i])));
        Assert.True(worst < 1e-6, $"max |error| {worst:E3} on {VectorPaths.Active}");
    });

    [Fact]
    public void Fast_tanh_saturates_and_propagates_nan() => ForEachPath(_ =>
    {
        float[] x = [float.PositiveInfinity, float.NegativeInfinity, 50f, -50f, float.NaN, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f];
        Gemm.Run<TanhEpilogue>(x, x, default, 0, 1, default, default, 1, 0, x.Length);
        Assert.Equal(1f, x[0], 1e-6f); Assert.Equal(-1f, x[1], 1e-6f); Assert.Equal(1f, x[2], 1e-6f); Assert.Equal(-1f, x[3], 1e-6f);
        Assert.True(float.IsNaN(x[4]));
        Assert.Equal(0f, x[5]);
    });
}
