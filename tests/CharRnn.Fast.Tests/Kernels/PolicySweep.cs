using CharRnn.Fast.Kernels;
using FsCheck;
using FsCheck.Fluent;

namespace CharRnn.Fast.Tests.Kernels;

/// <summary>
/// Runs a check once per kernel policy this CPU can run (e.g. avx512, avx2, sse, scalar). The policy is an argument, not
/// a process-wide switch, so tests run in parallel.
/// </summary>
internal static class PolicySweep
{
    public static void ForEachPolicy(Action<KernelPolicy> check)
    {
        foreach (var policy in KernelPolicy.Available)
        {
            try { check(policy); }
            catch (Exception e) when (e is not PolicyFailure)
            {
                throw new PolicyFailure(policy, e);
            }
        }
    }

    /// <summary>An FsCheck property over <paramref name="gen"/>, checked on every policy (<paramref name="tests"/> cases each).</summary>
    public static void Property<T>(Gen<T> gen, Action<KernelPolicy, T> check, int tests = 100)
        => ForEachPolicy(policy => Prop.ForAll(gen.ToArbitrary(), value => check(policy, value))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(tests).WithQuietOnSuccess(true)));

    /// <summary>Sizes 1..70 (every SIMD remainder of 4, 8 and 16 lanes, several whole vectors) plus one large size.</summary>
    public static Gen<int> Size => Gen.Frequency((9, Gen.Choose(1, 70)), (1, Gen.Choose(71, 300)));

    public static float[] Random(Random rng, int n, double scale = 1)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return x;
    }
}

/// <summary>A check failed on one policy: the message names it.</summary>
internal sealed class PolicyFailure(KernelPolicy policy, Exception inner) : Exception($"on kernel policy {policy}: {inner.Message}", inner);

/// <summary>Tolerance scaled by magnitude: |actual − expected| ≤ abs + rel·scale, where scale is the size of the terms summed.</summary>
internal static class Close
{
    public static void Assert(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, ReadOnlySpan<double> scale, double rel, double abs, string what)
    {
        Xunit.Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            double tolerance = abs + rel * scale[i];
            if (!(Math.Abs(actual[i] - expected[i]) <= tolerance))
                throw new Xunit.Sdk.XunitException($"{what}[{i}] = {actual[i]:R}, expected {expected[i]:R} ± {tolerance:E2}");
        }
    }

    public static void Assert(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double rel, double abs, string what)
    {
        var scale = new double[expected.Length];
        for (int i = 0; i < scale.Length; i++) scale[i] = Math.Abs(expected[i]);
        Assert(actual, expected, scale, rel, abs, what);
    }
}
