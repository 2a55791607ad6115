using System.Diagnostics;

namespace CharRnn.Fast.Kernels;

/// <summary>The timing loop of the measured bounds (<see cref="FmaPeak"/>, <see cref="ReadRate"/>): the best rate of a few rounds.</summary>
internal static class BestRound
{
    /// <summary>
    /// Runs <paramref name="round"/> (after one untimed run: JIT, caches) until about <paramref name="seconds"/> have
    /// passed, at least once, and returns the best <paramref name="unitsPerRound"/> per second; NaN if the rounds' results
    /// summed to NaN. Consuming what each round returns keeps its work from being optimized away.
    /// </summary>
    public static double PerSecond(Func<float> round, double unitsPerRound, double seconds)
    {
        float sink = round();
        double best = 0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || best == 0)
        {
            long start = Stopwatch.GetTimestamp();
            sink += round();
            best = Math.Max(best, unitsPerRound / Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return float.IsNaN(sink) ? double.NaN : best;
    }
}
