using CharRnn.Fast.Kernels;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Kernels;

public class ReadRateTests
{
    [Fact]
    public void The_read_kernel_sums_every_float_on_every_path() => Property(
        from vectors in Gen.Choose(1, 40) from seed in Gen.Choose(0, int.MaxValue) select (vectors, seed), (policy, s) =>
    {
        // whole groups of eight vectors of the policy's width; every float counts once
        var rng = new Random(s.seed);
        var x = Random(rng, 8 * policy.Width * s.vectors);
        double expected = x.Sum(v => (double)v), scale = x.Sum(v => Math.Abs((double)v));
        Assert.InRange(ReadRate.Sum(policy, x), expected - 1e-5 * scale - 1e-6, expected + 1e-5 * scale + 1e-6);
        Assert.Throws<ArgumentException>(() => ReadRate.Sum(policy, x.AsSpan(1)));
    }, tests: 30);

    [Fact]
    public void A_read_rate_is_measured_for_a_working_set_of_any_size()
    {
        foreach (var policy in KernelPolicy.Available)
        {
            double rate = ReadRate.Measure(policy, 100_003, 0.02);
            Assert.True(double.IsFinite(rate) && rate > 0, $"{policy.Name}: {rate} GB/s");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => ReadRate.Measure(KernelPolicy.Scalar, 0));
    }
}
