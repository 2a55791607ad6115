using BenchmarkDotNet.Attributes;
using CharRnn.Fast.Kernels;

namespace CharRnn.Fast.Benchmarks;

/// <summary>A benchmark class measured once per kernel policy this CPU runs (avx512, avx2, sse, scalar …).</summary>
public abstract class PerPolicy
{
    /// <summary>The policy's name, one of <see cref="Policies"/>.</summary>
    [ParamsSource(nameof(Policies))]
    public string Policy { get; set; } = "";

    public static IEnumerable<string> Policies => KernelPolicy.Available.Select(p => p.Name);

    /// <summary>The policy <see cref="Policy"/> names.</summary>
    internal KernelPolicy SelectedPolicy => KernelPolicy.Available.Single(p => p.Name == Policy);

    /// <summary><paramref name="count"/> floats drawn uniformly from [−scale, scale).</summary>
    protected static float[] Uniform(Random rng, int count, double scale = 0.5)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return x;
    }
}
