using CharRnn.Fast.Kernels;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Kernels;

public class SoftmaxTests
{
    [Fact]
    public void Softmax_with_temperature_matches_naive() => Property(
        from v in Size from seed in Gen.Choose(0, int.MaxValue) from t in Gen.Elements(0.25, 0.7, 1.0, 2.0) select (v, seed, t), (policy, s) =>
    {
        var x = Random(new Random(s.seed), s.v, 20);
        var expected = NaiveKernels.Softmax(x, 1 / s.t, out double logZ);
        float got = Softmax.InPlace(policy, x, (float)(1 / s.t));
        Close.Assert(x, expected, 1e-5, 1e-7, "p");
        Assert.True(Math.Abs(got - logZ) <= 1e-5 * (1 + Math.Abs(logZ)), $"log Z {got} vs {logZ}");
    });

    [Fact]
    public void Cross_entropy_and_its_gradient_match_naive() => Property(
        from v in Size from rows in Gen.Choose(1, 6) from seed in Gen.Choose(0, int.MaxValue) select (v, rows, seed), (policy, s) =>
    {
        var rng = new Random(s.seed);
        var logits = Random(rng, s.rows * s.v, 10);
        var targets = Enumerable.Range(0, s.rows).Select(_ => rng.Next(s.v)).ToArray();
        const float scale = 0.5f;
        var expected = new double[logits.Length];
        double expectedLoss = 0;
        for (int r = 0; r < s.rows; r++)
        {
            var p = NaiveKernels.Softmax(logits[(r * s.v)..((r + 1) * s.v)], 1, out _);
            expectedLoss += -Math.Log(p[targets[r]]);
            for (int j = 0; j < s.v; j++) expected[r * s.v + j] = scale * (p[j] - (j == targets[r] ? 1 : 0));
        }
        var copy = (float[])logits.Clone();
        double loss = Softmax.CrossEntropyWithGradient(policy, logits, targets, s.v, scale);
        Close.Assert(logits, expected, 1e-5, 1e-7, "dlogits");
        Assert.True(Math.Abs(loss - expectedLoss) <= 1e-5 * (1 + expectedLoss), $"loss {loss} vs {expectedLoss}");
        Assert.Equal(loss, Softmax.CrossEntropy(policy, copy, targets, s.v), 1e-9);
    });

    [Fact]
    public void Huge_logits_do_not_overflow_and_nan_is_reported() => ForEachPolicy(policy =>
    {
        var x = new float[37];
        x[3] = 1e30f; x[5] = -1e30f;
        Softmax.InPlace(policy, x);
        Assert.Equal(1f, x[3]);
        Assert.InRange(x[5], 0f, 1e-37f); // e^−87.3 at the exp clamp: negligible, never negative
        // a NaN in any lane of the vector body or in the tail
        for (int at = 0; at < 37; at++)
        {
            var y = new float[37];
            y[at] = float.NaN;
            Assert.True(float.IsNaN(Softmax.InPlace(policy, y)), $"NaN at {at}");
        }
    });

    [Fact]
    public void A_temperature_whose_scaled_logits_overflow_gives_the_argmax_not_nan() => Property(
        from v in Size from seed in Gen.Choose(0, int.MaxValue) select (v, seed), (policy, s) =>
    {
        var rng = new Random(s.seed);
        var x = Random(rng, s.v, 20);
        x[rng.Next(s.v)] = 50f; // the largest, and large enough that 50·float.MaxValue overflows
        if (s.v > 1) x[rng.Next(s.v)] = 50f; // maybe a tie: the first one takes the mass, as a greedy draw
        int first = Array.IndexOf(x, 50f);
        var expected = new double[s.v];
        expected[first] = 0.5;
        Assert.Equal(float.PositiveInfinity, Softmax.InPlace(policy, x, float.MaxValue, 0.5f));
        Close.Assert(x, expected, 0, 0, "p");
    });
}
