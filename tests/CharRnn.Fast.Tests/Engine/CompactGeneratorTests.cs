using CharRnn.Fast.Inference;
using CharRnn.Fast.Model;
using CharRnn.Fast.Tests.Reference;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>
/// Generation with bf16 and int8 weights against the naive double-precision reference computed on the dequantized
/// weights, for every cell, 1–3 layers and sizes 1..70 (every remainder of 4, 8 and 16 lanes, and of int8's groups of 4
/// and bf16's pairs along K), on every kernel policy; threaded generators against one thread.
/// </summary>
public class CompactGeneratorTests
{
    public sealed record Case(NaiveCell Cell, int Layers, int V, int H, int Seed, Nonlinearity Act)
    {
        public CharRnnModel Model(NaiveStackedRnn reference)
            => new(Vocabulary.FromSymbols(Enumerable.Range(0, V).Select(i => new System.Text.Rune(0x4E00 + i))), ReferenceMapping.ToEngine(reference), Act);
    }

    private static Gen<Case> Cases =>
        from cell in Gen.Elements(NaiveCell.Rnn, NaiveCell.Lstm, NaiveCell.Gru) from layers in Gen.Choose(1, 3)
        from v in Gen.Choose(2, 30) from h in Gen.Choose(1, 70) from seed in Gen.Choose(0, int.MaxValue) from relu in Gen.Elements(false, false, true)
        select new Case(cell, layers, v, h, seed, relu && cell == NaiveCell.Rnn ? Nonlinearity.Relu : Nonlinearity.Tanh);

    /// <summary>
    /// bf16 multiplies the exact bf16 values of the weights by float activations with float FMAs, as f32 does: the engine
    /// differs from the double reference on those values by float rounding alone, so f32's tolerance applies (its test:
    /// 1e-4 of the largest logit, 1e-5 absolute, over 12 steps).
    /// </summary>
    [Fact]
    public void Bf16_logits_follow_the_reference_on_the_rounded_weights() => Property(Cases, (policy, c) =>
    {
        var rng = new Random(c.Seed);
        var reference = StackedEngineVsReferenceTests.RandomReference(c.Cell, c.Layers, c.V, c.H, c.Act, rng);
        using var generator = new Generator(new InferenceModel(c.Model(reference), policy, WeightFormat.Bf16));
        var tokens = Enumerable.Range(0, 12).Select(_ => rng.Next(c.V)).ToArray();
        var expected = CompactReference.Dequantized(reference, WeightFormat.Bf16).Forward(tokens, tokens.Length, 1, NaiveState.Zero(c.Cell, c.Layers, 1, c.H)).Outputs;
        for (int t = 0; t < tokens.Length; t++)
        {
            generator.Feed(tokens[t]);
            ReferenceMapping.Assert(generator.Logits, expected.AsSpan(t * c.V, c.V).ToArray(), 1e-4, 1e-5, $"logits at {t} {c}");
        }
    }, tests: 40);

    /// <summary>
    /// int8 also rounds each product's input vector (h) to int8 with its own scale, a step function: from the same floats
    /// the engine and the reference round alike, but a trajectory of the reference in double would drift from the float one
    /// by rounding and, sooner or later, round some h the other way. So each step is checked from the engine's own state,
    /// as the reference defines it: every layer's h_t from h_{t−1} and the new h of the layer below (the engine's), rounded
    /// to int8 (<see cref="CompactReference.Int8"/>), times the dequantized weights in double; the logits from the
    /// engine's top h_t. The int8 sums are exact in the engine, so what is left is float rounding (the product of the two
    /// scales, the float input term and bias, the fast activations within 1e-6): f32's tolerance. An LSTM's c is the
    /// reference's own, carried in double (it is never rounded to int8, so it follows the engine's to float rounding).
    /// </summary>
    [Fact]
    public void Int8_steps_follow_the_reference_from_the_engines_state()
    {
        int cases = 0, movedCases = 0;
        Property(Cases, (policy, c) =>
        {
            var rng = new Random(c.Seed);
            var reference = StackedEngineVsReferenceTests.RandomReference(c.Cell, c.Layers, c.V, c.H, c.Act, rng);
            using var generator = new Generator(new InferenceModel(c.Model(reference), policy, WeightFormat.Int8));
            var rounded = CompactReference.Dequantized(reference, WeightFormat.Int8);
            var cells = Enumerable.Range(0, c.Layers).Select(_ => c.Cell == NaiveCell.Lstm ? new double[c.H] : null).ToArray();
            int h = c.H;
            bool moved = false;
            for (int t = 0; t < 12; t++)
            {
                var before = generator.HiddenState.ToArray();
                int token = rng.Next(c.V);
                generator.Feed(token);
                var after = generator.HiddenState.ToArray();
                for (int l = 0; l < c.Layers; l++)
                {
                    double[] x = l == 0 ? OneHot(token, c.V) : CompactReference.Int8(after.AsSpan((l - 1) * h, h));
                    var previous = before.AsSpan(l * h, h);
                    var step = NaiveCellStep.Forward(rounded.Cell, c.Act, rounded.P.Layers[l], x, CompactReference.Int8(previous), cells[l]);
                    var expected = step.H;
                    if (c.Cell == NaiveCell.Gru) // h = (1 − z)·n + z·h_prev: h_prev itself, not its int8 rounding, outside the product
                        for (int j = 0; j < h; j++) expected[j] = (1 - step.Gates[h + j]) * step.Gates[2 * h + j] + step.Gates[h + j] * previous[j];
                    cells[l] = step.C;
                    ReferenceMapping.Assert(after.AsSpan(l * h, h), expected, 1e-4, 1e-5, $"h of layer {l} at {t} {c}");
                }
                var top = CompactReference.Int8(after.AsSpan((c.Layers - 1) * h, h));
                var logits = new double[c.V];
                for (int o = 0; o < c.V; o++)
                {
                    double sum = rounded.P.FcBias[o];
                    for (int j = 0; j < h; j++) sum += rounded.P.FcWeight[o * h + j] * top[j];
                    logits[o] = sum;
                }
                ReferenceMapping.Assert(generator.Logits, logits, 1e-4, 1e-5, $"logits at {t} {c}");
                moved |= after.Any(v => v != 0);
            }
            Interlocked.Increment(ref cases);
            if (moved) Interlocked.Increment(ref movedCases);
        }, tests: 40);
        // a relu state of a few units can stay at zero for a whole case; most cases must have checked rounded inputs
        Assert.True(movedCases * 2 > cases, $"the state left zero in only {movedCases} of {cases} cases: the checks saw few rounded inputs");
    }

    private static double[] OneHot(int token, int v)
    {
        var x = new double[v];
        x[token] = 1;
        return x;
    }

    /// <summary>A state saved half-way through a compact sample continues in a new generator and in a batch stream as the uninterrupted one.</summary>
    [Theory]
    [InlineData(WeightFormat.Bf16, CellKind.Lstm)]
    [InlineData(WeightFormat.Int8, CellKind.Gru)]
    [InlineData(WeightFormat.Int8, CellKind.Rnn)]
    public void A_saved_compact_state_continues_exactly(WeightFormat weights, CellKind cell)
    {
        var options = new TrainingOptions { Seed = 5, WeightInit = new InitScheme(InitKind.Uniform, 0.3) };
        var model = new InferenceModel(Trainer.NewModel(Vocabulary.FromText("saved states of compact weights"), 40, options, cell: cell, layers: 2), weights: weights);
        var sampling = new SamplingOptions(0.9);
        using var uninterrupted = new Generator(model);
        uninterrupted.Start(7, "sa");
        for (int i = 0; i < 20; i++) uninterrupted.Next(sampling);
        var state = new byte[GeneratorState.Size(model)];
        uninterrupted.SaveState(state);
        using var restored = new Generator(model, seed: 99);
        restored.LoadState(state);
        var batch = new BatchGenerator(model, 3);
        for (int i = 0; i < 3; i++) batch.Start(i, (ulong)i, "co");
        batch.LoadState(1, state);
        var tokens = new int[3];
        for (int i = 0; i < 30; i++)
        {
            int expected = uninterrupted.Next(sampling);
            Assert.Equal(expected, restored.Next(sampling));
            batch.Next([sampling], tokens);
            Assert.Equal(expected, tokens[1]);
            Assert.True(uninterrupted.Logits.SequenceEqual(restored.Logits), $"logits differ at {i}");
            Assert.True(uninterrupted.Logits.SequenceEqual(batch.Logits(1)), $"batch logits differ at {i}");
        }
    }

    public static TheoryData<WeightFormat, CellKind, int, int> Threaded => new()
    {
        { WeightFormat.Int8, CellKind.Rnn, 256, 2 }, { WeightFormat.Int8, CellKind.Lstm, 300, 3 }, { WeightFormat.Int8, CellKind.Gru, 384, 2 },
        { WeightFormat.Bf16, CellKind.Rnn, 300, 3 }, { WeightFormat.Bf16, CellKind.Lstm, 384, 2 }, { WeightFormat.Bf16, CellKind.Gru, 256, 2 },
    };

    /// <summary>Split by 128-unit slices over a team (the first calls always split), each member preparing its own inputs: bit for bit one thread's.</summary>
    [Theory]
    [MemberData(nameof(Threaded))]
    public void A_threaded_compact_generator_matches_one_thread_bit_for_bit(WeightFormat weights, CellKind cell, int hidden, int threads) => ForEachPolicy(policy =>
    {
        const string text = "the cell split by columns over a team gives the same numbers. ";
        var options = new TrainingOptions { Seed = 3, WeightInit = new InitScheme(InitKind.Normal, 0.1) };
        var model = new InferenceModel(Trainer.NewModel(Vocabulary.FromText(text), hidden, options, cell: cell, layers: 2), policy, weights);
        using var one = new Generator(model, seed: 9);
        using var team = new Generator(model, seed: 9, threads: threads);
        Assert.Equal(threads, team.Threads);
        one.Prime("the "); team.Prime("the ");
        var sampling = new SamplingOptions(1.0);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(one.Next(sampling), team.Next(sampling));
            Assert.True(one.Logits.SequenceEqual(team.Logits), $"logits differ at step {i}");
            Assert.True(one.HiddenState.SequenceEqual(team.HiddenState), $"h differs at step {i}");
        }
        Assert.Contains(one.HiddenState.ToArray(), x => Math.Abs(x) > 1e-3);
    });
}
