using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Tests.Engine;
using Xunit;

namespace CharRnn.Fast.Tests.Kernels;

/// <summary>Preparing x and running a compact product allocate nothing per call, on every policy and format.</summary>
[Collection(AllocationCollection.Name)]
public class CompactGemvAllocationTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Products_allocate_nothing_per_call(bool int8) => PolicySweep.ForEachPolicy(policy =>
    {
        var format = int8 ? WeightFormat.Int8 : WeightFormat.Bf16;
        // N = 203 leaves a partial vector on every width; M = 1 (the GEMV) and M = 6 (a 4-row block and a 2-row one)
        const int k = 77, n = 203;
        var rng = new Random(1);
        var b = new CompactMatrix(format, k, n);
        b.PackTransposeOf(PolicySweep.Random(rng, n * k));
        var xs = PolicySweep.Random(rng, 6 * k);
        var x = new CompactActivations(format, 6, k);
        var c = new float[6 * n];
        var init = PolicySweep.Random(rng, 6 * n);
        void Step(int m)
        {
            x.Prepare(policy, xs, m);
            CompactGemv.Run<TanhEpilogue>(policy, c, init, x, b);
            CompactGemv.RunColumns<NoEpilogue>(policy, c, c, x, b, 128, n);
        }
        Step(1);
        Step(6);
        Assert.Equal(0, AllocationProbe.Steady(() =>
        {
            for (int i = 0; i < 200; i++) Step(i % 2 == 0 ? 1 : 6);
        }));
    });
}
