using CharRnn.Fast.Data;
using CharRnn.Fast.Inference;
using CharRnn.Fast.Model;
using CharRnn.Fast.Tests.Reference;
using CharRnn.Fast.Text;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>Evaluation on the generation path, in the training data order, against the reference and against generators fed by hand.</summary>
public sealed class GenerationEvaluatorTests
{
    private sealed record Case(NaiveCell Cell, int Layers, int V, int H, int B, int Extra, int Threads, bool Resets, int Seed)
    {
        // token 0 is '\n', the boundary of a sequence model
        public CharRnnModel Model(NaiveStackedRnn reference)
            => new(Vocabulary.FromSymbols(Enumerable.Range(0, V).Select(i => new System.Text.Rune(i == 0 ? '\n' : 'a' + i))), ReferenceMapping.ToEngine(reference), sequenceMode: Resets);
    }

    private static Gen<Case> Cases =>
        from cell in Gen.Elements(NaiveCell.Rnn, NaiveCell.Lstm, NaiveCell.Gru) from layers in Gen.Choose(1, 2)
        from v in Gen.Choose(2, 20) from h in Gen.Choose(1, 40) from b in Gen.Choose(1, 5) from extra in Gen.Choose(0, 60)
        from threads in Gen.Choose(1, 3) from resets in Gen.Elements(false, true) from seed in Gen.Choose(0, int.MaxValue)
        select new Case(cell, layers, v, h, b, extra, threads, resets, seed);

    /// <summary>f32 and bf16 against the reference on the (dequantized) weights: B shards, each from zero, reset at boundaries.</summary>
    [Theory]
    [InlineData(WeightFormat.F32)]
    [InlineData(WeightFormat.Bf16)]
    public void The_mean_over_the_shards_is_the_references(WeightFormat weights) => Property(Cases, (policy, c) =>
    {
        var rng = new Random(c.Seed);
        var reference = StackedEngineVsReferenceTests.RandomReference(c.Cell, c.Layers, c.V, c.H, Nonlinearity.Tanh, rng);
        var tokens = Enumerable.Range(0, c.B + 1 + c.Extra).Select(_ => rng.Next(c.V)).ToArray();
        using var evaluator = new GenerationEvaluator(new InferenceModel(c.Model(reference), policy, weights), c.B, c.Threads);
        var e = evaluator.Evaluate(new ArrayTokenSource(tokens, c.V));

        int shard = (tokens.Length - 1) / c.B;
        var inputs = new int[shard * c.B];
        var targets = new int[shard * c.B];
        for (int t = 0; t < shard; t++)
            for (int s = 0; s < c.B; s++) (inputs[t * c.B + s], targets[t * c.B + s]) = (tokens[s * shard + t], tokens[s * shard + t + 1]);
        var exact = weights == WeightFormat.F32 ? reference : CompactReference.Dequantized(reference, weights);
        double expected = exact.ForwardBackward(inputs, targets, shard, c.B, NaiveState.Zero(c.Cell, c.Layers, c.B, c.H), resetToken: c.Resets ? 0 : -1).LossSum;
        Assert.Equal((long)shard * c.B, e.Predictions);
        Assert.True(Math.Abs(e.NatsPerChar * e.Predictions - expected) <= 1e-4 * (1 + expected), $"{e.NatsPerChar * e.Predictions} vs {expected} ({c})");
    }, tests: 20);

    /// <summary>int8 (whose rounding of h a double reference cannot follow over many steps): what generators fed by hand give.</summary>
    [Fact]
    public void Int8_gives_the_mean_of_what_its_generators_predict() => Property(Cases, (policy, c) =>
    {
        var rng = new Random(c.Seed);
        var model = new InferenceModel(c.Model(StackedEngineVsReferenceTests.RandomReference(c.Cell, c.Layers, c.V, c.H, Nonlinearity.Tanh, rng)), policy, WeightFormat.Int8);
        var tokens = Enumerable.Range(0, c.B + 1 + c.Extra).Select(_ => rng.Next(c.V)).ToArray();
        using var evaluator = new GenerationEvaluator(model, c.B, c.Threads);
        long reported = 0;
        var e = evaluator.Evaluate(new ArrayTokenSource(tokens, c.V), done => reported = done);

        int shard = (tokens.Length - 1) / c.B;
        double expected = 0;
        using var generator = new Generator(model);
        for (int s = 0; s < c.B; s++)
        {
            generator.Reset();
            for (int t = 0; t < shard; t++)
            {
                int input = tokens[s * shard + t], target = tokens[s * shard + t + 1];
                if (c.Resets && input == 0) generator.Reset();
                generator.Feed(input);
                var logits = generator.Logits.ToArray();
                double max = logits.Max();
                expected += Math.Log(logits.Sum(x => Math.Exp(x - max))) + max - logits[target];
            }
        }
        Assert.Equal((long)shard * c.B, e.Predictions);
        Assert.True(Math.Abs(e.NatsPerChar * e.Predictions - expected) <= 1e-5 * (1 + expected), $"{e.NatsPerChar * e.Predictions} vs {expected} ({c})");
        if (c.Threads == 1 || c.B == 1) Assert.Equal(e.Predictions, reported); // one worker reports every prediction
    }, tests: 20);
}
