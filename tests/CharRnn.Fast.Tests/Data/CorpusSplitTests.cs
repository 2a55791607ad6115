using CharRnn.Fast.Data;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace CharRnn.Fast.Tests.Data;

public sealed class CorpusSplitTests
{
    private static Gen<(long N, double Validation, double Test, int Every)> Cases =>
        from n in Gen.Frequency((8, Gen.Choose(1, 300)), (2, Gen.Choose(301, 1_000_000)))
        from v in Gen.Elements(0.0, 0.01, 0.05, 0.1, 0.3, 0.5)
        from t in Gen.Elements(0.0, 0.01, 0.05, 0.2, 0.4)
        from every in Gen.Elements(0, 1, 3, 17, 1000) // boundary every k positions; 0 = no boundary finder
        select ((long)n, v, t, every);

    private static Func<long, long>? EveryK(long n, int k) => k == 0 ? null : p => Math.Min(n - 1, (p + k - 1) / k * k);

    [Fact]
    public void Splits_share_one_token_at_each_cut_so_every_transition_is_in_exactly_one_range() => TempCorpus.Property(Cases, c =>
    {
        var s = CorpusSplit.Compute(c.N, c.Validation, c.Test, EveryK(c.N, c.Every));
        var ranges = new[] { s.Train, s.Validation, s.Test }.Where(r => !r.IsEmpty).ToArray();
        Assert.Equal(0, s.Train.Start);
        Assert.Equal(c.N, ranges[^1].End);
        for (int i = 1; i < ranges.Length; i++) Assert.Equal(ranges[i - 1].End - 1, ranges[i].Start);
        Assert.Equal(c.N - 1, ranges.Sum(r => r.Length - 1)); // transitions
        Assert.All(ranges.Skip(1), r => Assert.True(r.Length >= 2));
        if (c.Every > 0)
            Assert.All(ranges.Skip(1), r => Assert.True(r.Start % c.Every == 0 || r.Start == c.N - 1, $"cut {r.Start} is not a boundary"));
        if (c.Every == 0 && c.N >= 1000)
        {
            // Without a boundary finder the held-out sizes are the fractions (to a token).
            Assert.InRange(s.Test.Length, c.Test * c.N - 1, c.Test * c.N + 2);
            Assert.InRange(s.Validation.Length, c.Validation * c.N - 1, c.Validation * c.N + 2);
        }
    });

    [Fact]
    public void Without_a_test_fraction_it_is_the_trainers_split() => TempCorpus.Property(Cases, c =>
    {
        // The split `charrnn train` makes on an int[] (TrainCommand.Split): cut, move to the next boundary, share it.
        var tokens = Enumerable.Range(0, (int)Math.Min(c.N, 5000)).Select(i => c.Every > 0 && i % c.Every == 0 ? 1 : 0).ToArray();
        var source = new ArrayTokenSource(tokens, 2);
        int cut = (int)(tokens.Length * (1 - c.Validation));
        if (c.Every > 0) while (cut < tokens.Length - 1 && tokens[cut] != 1) cut++;
        bool held = c.Validation > 0 && tokens.Length - cut >= 2;

        var s = CorpusSplit.Compute(tokens.Length, c.Validation, 0, c.Every > 0 ? CorpusSplit.NextBoundaryIn(source, 1) : null);
        Assert.Equal(held ? new TokenRange(0, cut + 1) : new TokenRange(0, tokens.Length), s.Train);
        Assert.Equal(held ? new TokenRange(cut, tokens.Length - cut) : default, s.Validation with { Start = held ? s.Validation.Start : 0 });
        Assert.True(s.Test.IsEmpty);
    });

    [Fact]
    public void Fractions_must_leave_text_for_training()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CorpusSplit.Compute(100, 0.6, 0.4));
        Assert.Throws<ArgumentOutOfRangeException>(() => CorpusSplit.Compute(100, -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => CorpusSplit.Compute(100, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => CorpusSplit.Compute(0, 0.1));
        Assert.Throws<InvalidOperationException>(() => CorpusSplit.Compute(100, 0.1, 0, p => p - 1));
    }
}
